/*
 * Unit tests of the HA decision (src/backend/worker/ha_decide.c): every branch, with
 * plain values in and one action out.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "consul_parse.h"
#include "ha_decide.h"
#include "leader_key.h"
#include "member.h"

static int	passed;
static int	failed;

#define CHECK(cond) \
	do { \
		if (cond) \
			passed++; \
		else \
		{ \
			failed++; \
			printf("%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); \
		} \
	} while (0)

#define SESSION_US		"11111111-1111-1111-1111-111111111111"
#define SESSION_OTHER	"22222222-2222-2222-2222-222222222222"
#define SYSID			"7712159771297452225"

#define TTL_MS			30000

static HaConfig config = {"pg1", TTL_MS};

static void
primary(HaLocalState *l)
{
	memset(l, 0, sizeof(*l));
	l->is_primary = true;
	strcpy(l->sysid, SYSID);
	l->has_session = true;
	strcpy(l->session, SESSION_US);
	l->now_ms = 100000;
	l->lease_expiry_ms = 105000;
}

static void
replica(HaLocalState *l)
{
	primary(l);
	l->is_primary = false;
	l->in_recovery = true;
}

static void
initialized(PgHaCluster *c)
{
	memset(c, 0, sizeof(*c));
	c->has_initialize = true;
	strcpy(c->initialize, SYSID);
	/* no leader key: its last holder released it (see test_leader_key) */
	c->leader_released = true;
}

static void
led_by(PgHaCluster *c, const char *name, const char *session)
{
	initialized(c);
	c->leader_released = false;
	c->has_leader = true;
	strcpy(c->leader, name);
	strcpy(c->leader_session, session);
}

static void
add_replica(PgHaCluster *c, const char *name, int64_t xlog)
{
	PgHaMember *m = &c->members[c->nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->state, "running");
	strcpy(m->role, "replica");
	m->has_xlog = true;
	m->xlog_location = xlog;
}

static void
sync_key(PgHaCluster *c, const char *leader, const char *standby)
{
	c->sync_mode = true;
	c->sync_key_exists = true;
	c->has_sync = true;
	strcpy(c->sync_leader, leader);
	c->nsync = 0;
	if (standby)
		strcpy(c->sync_standby[c->nsync++], standby);
}

static HaAction
decide(const HaLocalState *l, const PgHaCluster *c, bool dcs_ok, HaDecision *d)
{
	ha_decide(l, c, dcs_ok, &config, d);
	return d->action;
}

static void test_sync(void);
static void test_leader_key(void);
static void test_live_positions(void);
static void test_tags(void);
static void test_priority_property(void);
static void test_round_timing(void);
static void test_fresh_positions(void);

int
main(void)
{
	HaLocalState l;
	PgHaCluster c;
	HaDecision	d;
	char		err[256];

	/* a cluster Consul has never seen: a primary races, a replica waits */
	primary(&l);
	memset(&c, 0, sizeof(c));
	CHECK(decide(&l, &c, true, &d) == HA_INITIALIZE);
	l.in_recovery = true;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	replica(&l);
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);

	/* another database cluster's sysid: refuse, whatever the role */
	primary(&l);
	initialized(&c);
	strcpy(c.initialize, "1234");
	CHECK(decide(&l, &c, true, &d) == HA_REFUSE_JOIN);
	CHECK(strstr(d.reason, "1234") != NULL && strstr(d.reason, SYSID) != NULL);
	replica(&l);
	CHECK(decide(&l, &c, true, &d) == HA_REFUSE_JOIN);

	/* free key: a running primary acquires, a recovering one waits fenced */
	primary(&l);
	initialized(&c);
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	l.in_recovery = true;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(d.recheck_soon);		/* crash recovery ends soon: look again */
	/* ... unless a replica has more WAL: it takes over, not us */
	c.nmembers = 1;
	strcpy(c.members[0].name, "pg2");
	strcpy(c.members[0].state, "running");
	strcpy(c.members[0].role, "replica");
	c.members[0].has_xlog = true;
	c.members[0].xlog_location = 2000;
	l.in_recovery = false;
	l.has_xlog = true;
	l.xlog_position = 1000;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "pg2") != NULL);
	l.xlog_position = 2000;		/* as far: ours */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.nmembers = 0;
	/* a key left without a session is free too, once its lease is over */
	primary(&l);
	led_by(&c, "pg2", "");
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	l.leader_unchanged_ms = TTL_MS;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* a replica takes over when it is the healthiest */
	replica(&l);
	initialized(&c);
	c.max_lag_on_failover = 1048576;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);	/* no WAL received */
	l.has_xlog = true;
	l.xlog_position = 5000000;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* ... within maximum_lag_on_failover of the last leader position */
	c.has_optime = true;
	c.optime = 5000000 + 1048576;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.optime = 5000000 + 1048577;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "maximum_lag_on_failover") != NULL);
	c.has_optime = false;
	/* ... with no eligible replica ahead */
	c.nmembers = 2;
	strcpy(c.members[0].name, "pg1");	/* ourselves: ignored */
	strcpy(c.members[0].state, "running");
	strcpy(c.members[0].role, "replica");
	c.members[0].has_xlog = true;
	c.members[0].xlog_location = 9000000;
	strcpy(c.members[1].name, "pg3");
	strcpy(c.members[1].state, "running");
	strcpy(c.members[1].role, "replica");
	c.members[1].has_xlog = true;
	c.members[1].xlog_location = 5000000;	/* a tie: both may try */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.members[1].xlog_location = 5000001;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg3") != NULL);
	c.members[1].nofailover = true;		/* cannot take over: does not count */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.members[1].nofailover = false;
	strcpy(c.members[1].role, "master");	/* a fenced old primary */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	strcpy(c.members[1].role, "replica");
	strcpy(c.members[1].state, "stopped");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* nofailover and pause keep a replica where it is */
	l.nofailover = true;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "nofailover") != NULL);
	l.nofailover = false;
	c.paused = true;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "paused") != NULL);

	/* our key, valid lease: keep it */
	primary(&l);
	led_by(&c, "pg1", SESSION_US);
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);
	/* the session, not the value, says whose key it is */
	led_by(&c, "garbage", SESSION_US);
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);
	led_by(&c, "pg1", SESSION_OTHER);
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	/* our key but the lease ran out (e.g. a slow round): fence */
	led_by(&c, "pg1", SESSION_US);
	l.now_ms = l.lease_expiry_ms;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	l.lease_expiry_ms = 0;
	l.now_ms = 0;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	/* our key while still recovering: fenced until recovery ends */
	primary(&l);
	l.in_recovery = true;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	/* our key on a standby: promote */
	replica(&l);
	CHECK(decide(&l, &c, true, &d) == HA_PROMOTE);
	/* our key, standby.signal written but still a primary: stepping down */
	replica(&l);
	l.in_recovery = false;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "steps down") != NULL);

	/* switchover requests reaching the leader */
	primary(&l);
	l.wall_ms = 1000000;
	led_by(&c, "pg1", SESSION_US);
	c.nmembers = 3;
	strcpy(c.members[0].name, "pg1");
	strcpy(c.members[0].state, "running");
	strcpy(c.members[0].role, "master");
	strcpy(c.members[1].name, "pg2");
	strcpy(c.members[1].state, "running");
	strcpy(c.members[1].role, "replica");
	c.members[1].has_xlog = true;
	c.members[1].xlog_location = 100;
	strcpy(c.members[2].name, "pg3");
	strcpy(c.members[2].state, "running");
	strcpy(c.members[2].role, "replica");
	c.members[2].has_xlog = true;
	c.members[2].xlog_location = 200;
	c.has_failover = true;
	strcpy(c.failover_leader, "pg1");
	strcpy(c.failover_member, "pg2");
	c.max_lag_on_failover = 1000;
	l.has_xlog = true;
	l.xlog_position = 300;
	l.timeline = 2;
	c.members[1].timeline = 1;	/* still on the old timeline: wait */
	c.members[2].timeline = 2;
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);
	CHECK(strstr(d.reason, "not caught up") != NULL);
	c.members[1].timeline = 2;
	l.xlog_position = 100 + 1001;	/* too far behind: wait */
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);
	CHECK(d.recheck_soon);		/* ... and look again soon */
	/* our walsender saw it flush more than it published: caught up */
	l.nstandbys = 1;
	strcpy(l.standbys[0].name, "pg2");
	l.standbys[0].streaming = true;
	l.standbys[0].flush = 1000;
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && !d.recheck_soon);
	CHECK(strcmp(d.target, "pg2") == 0);
	l.standbys[0].streaming = false;	/* a walsender that does not stream */
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);
	/* a stale published timeline does not matter while it streams from us */
	l.standbys[0].streaming = true;
	c.members[1].timeline = 1;
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER);
	c.members[1].timeline = 2;
	l.nstandbys = 0;
	l.xlog_position = 300;
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER);
	CHECK(strcmp(d.target, "pg2") == 0);
	c.failover_member[0] = '\0';	/* any: the most advanced replica */
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER);
	CHECK(strcmp(d.target, "pg3") == 0);
	c.members[2].nofailover = true;
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER);
	CHECK(strcmp(d.target, "pg2") == 0);
	c.members[2].nofailover = false;
	c.failover_scheduled = true;	/* not yet */
	c.failover_scheduled_ms = 2000000;
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);
	CHECK(strstr(d.reason, "scheduled") != NULL);
	l.wall_ms = 2000000;			/* now */
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER);
	c.failover_scheduled = false;
	strcpy(c.failover_member, "pg9");	/* impossible: dropped */
	CHECK(decide(&l, &c, true, &d) == HA_CLEAR_FAILOVER);
	strcpy(c.members[1].state, "stopped");
	strcpy(c.failover_member, "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_CLEAR_FAILOVER);
	strcpy(c.members[1].state, "running");
	strcpy(c.failover_leader, "pg7");	/* for another leader: stale */
	CHECK(decide(&l, &c, true, &d) == HA_CLEAR_FAILOVER);
	c.failover_leader[0] = '\0';		/* a failover names no leader */
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER);
	/* the candidate, now leader, drops the request it carried out */
	strcpy(c.failover_member, "pg1");
	CHECK(decide(&l, &c, true, &d) == HA_CLEAR_FAILOVER);
	CHECK(strstr(d.reason, "done") != NULL);

	/* replicas while the key is free and a candidate is named */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 500;			/* ahead of everyone */
	c.has_leader = false;
	c.leader_session[0] = '\0';
	c.leader_released = true;	/* the old leader handed it over */
	strcpy(c.failover_member, "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg2") != NULL);
	strcpy(c.failover_member, "pg1");	/* us */
	c.paused = true;				/* a manual request works in pause too */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.paused = false;
	strcpy(c.failover_member, "pg2");
	strcpy(c.members[1].state, "stopped");	/* the candidate is gone */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.has_failover = false;
	c.nmembers = 0;

	/* someone else's key: a primary demotes, a replica follows */
	primary(&l);
	led_by(&c, "pg2", SESSION_OTHER);
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	CHECK(strstr(d.reason, "pg2") != NULL);
	CHECK(!d.recheck_soon);
	l.in_recovery = true;		/* crash recovery first, fenced */
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(d.recheck_soon);		/* ... and demoted once it ends */
	replica(&l);
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);
	CHECK(!d.recheck_soon);

	/* Consul unreachable: the lease alone decides for a primary */
	primary(&l);
	led_by(&c, "pg1", SESSION_US);
	CHECK(decide(&l, &c, false, &d) == HA_NOTHING);
	l.now_ms = l.lease_expiry_ms + 1;
	CHECK(decide(&l, &c, false, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "Consul") != NULL);
	/* no session at all: same */
	primary(&l);
	l.has_session = false;
	l.lease_expiry_ms = 0;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	replica(&l);
	CHECK(decide(&l, &c, false, &d) == HA_NOTHING);
	/* never acquire or initialize without Consul */
	primary(&l);
	memset(&c, 0, sizeof(c));
	CHECK(decide(&l, &c, false, &d) != HA_INITIALIZE);
	initialized(&c);
	CHECK(decide(&l, &c, false, &d) != HA_ACQUIRE);

	/* every action has a name */
	for (int a = HA_NOTHING; a <= HA_CLEAR_FAILOVER; a++)
		CHECK(strcmp(ha_action_name((HaAction) a), "unknown") != 0);

	/* timing rule: loop_wait + 2 * retry_timeout <= ttl */
	CHECK(ha_timing_valid(30000, 10000, 10000, err, sizeof(err)));
	CHECK(ha_timing_valid(10000, 1000, 2000, err, sizeof(err)));
	CHECK(!ha_timing_valid(30000, 10001, 10000, err, sizeof(err)));
	CHECK(strstr(err, "exceeds ttl") != NULL);
	CHECK(!ha_timing_valid(2000, 100, 1000, err, sizeof(err)));
	CHECK(ha_timing_valid(2000, 1000, 500, err, sizeof(err)));
	/* no overflow with the largest values */
	CHECK(!ha_timing_valid(3600000, 3600000, 3600000, err, sizeof(err)));

	/* margin: a tenth, at least 200 ms */
	CHECK(ha_lease_margin_ms(30000) == 3000);
	CHECK(ha_lease_margin_ms(2000) == 200);
	CHECK(ha_lease_margin_ms(1000) == 200);

	/* the lease's rhythm: ttl/3, between loop_wait and twice loop_wait */
	CHECK(ha_renew_interval_ms(3000, 500) == 1000);		/* fast profile */
	CHECK(ha_renew_interval_ms(10000, 2000) == 3333);	/* defaults */
	CHECK(ha_renew_interval_ms(30000, 10000) == 10000); /* Patroni's: loop_wait */
	CHECK(ha_renew_interval_ms(30000, 1000) == 2000);	/* twice loop_wait */
	CHECK(ha_renew_interval_ms(2000, 500) == 666);
	CHECK(ha_member_renew_interval_ms(6000) == 2000);
	CHECK(ha_member_renew_interval_ms(10000) == 3333);

	/* the steady state is not acted on; everything else is, on a fresh read */
	CHECK(!ha_decision_acts(HA_NOTHING, true));
	CHECK(!ha_decision_acts(HA_KEEP_LEADER, false));
	CHECK(!ha_decision_acts(HA_FOLLOW, false));
	CHECK(ha_decision_acts(HA_FOLLOW, true));
	CHECK(ha_decision_acts(HA_SWITCHOVER, false));
	CHECK(ha_decision_acts(HA_ACQUIRE, false));
	CHECK(ha_decision_acts(HA_PROMOTE, false));
	CHECK(ha_decision_acts(HA_DEMOTE, false));
	CHECK(ha_decision_acts(HA_FENCE, false));
	CHECK(ha_decision_acts(HA_CLEAR_FAILOVER, false));
	CHECK(ha_decision_acts(HA_INITIALIZE, false));

	test_sync();
	test_leader_key();
	test_live_positions();
	test_tags();
	test_priority_property();
	test_round_timing();
	test_fresh_positions();

	printf("%d passed, %d failed\n", passed, failed);
	return failed > 0;
}

/* synchronous mode: who may take over, and whom the leader picks */
static void
test_sync(void)
{
	HaLocalState l;
	PgHaCluster c;
	HaDecision	d;
	HaSyncCandidate cands[6];
	char		pick[PGHA_MAX_SYNC][PGHA_NAME_LEN];

	/* the leader pg9 is gone; the sync key names pg2: only pg2 may take over */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 5000;		/* even ahead of everyone */
	initialized(&c);
	add_replica(&c, "pg2", 1000);
	sync_key(&c, "pg9", "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "synchronous") != NULL && strstr(d.reason, "pg2") != NULL);
	/* off: the usual rules, we are the healthiest */
	c.sync_mode = false;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* on, no key yet: the usual rules too (Patroni: not active yet) */
	c.sync_mode = true;
	c.sync_key_exists = c.has_sync = false;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* a key nobody can read: nobody takes over */
	c.sync_key_exists = true;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "cannot be read") != NULL);
	/* no synchronous standby: only the last leader */
	sync_key(&c, "pg9", NULL);
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg9") != NULL);

	/* we are the sync standby: an async replica ahead does not stop us */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 1000;
	initialized(&c);
	add_replica(&c, "pg3", 3000);
	sync_key(&c, "pg9", "pg1");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* ... nor does the old leader, back as a replica with WAL it never acknowledged */
	add_replica(&c, "pg9", 4000);
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* another sync standby ahead does */
	sync_key(&c, "pg9", "pg1");
	strcpy(c.sync_standby[c.nsync++], "pg3");
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg3") != NULL);
	/* without synchronous mode pg3 would go first */
	c.nmembers = 1;
	c.sync_mode = false;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg3") != NULL);
	/* lag and nofailover still apply to the sync standby */
	c.sync_mode = true;
	l.nofailover = true;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	l.nofailover = false;
	c.has_optime = true;
	c.optime = 1000 + PGHA_DEFAULT_MAX_LAG + 1;
	c.max_lag_on_failover = PGHA_DEFAULT_MAX_LAG;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "lag") != NULL);

	/* a primary out of recovery with the key free: only if the key names it */
	primary(&l);
	l.has_xlog = true;
	l.xlog_position = 1000;
	initialized(&c);
	sync_key(&c, "pg9", "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "synchronous") != NULL);
	sync_key(&c, "pg1", "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* the sync standby ahead of us takes over; an async one does not count */
	add_replica(&c, "pg3", 9000);
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	add_replica(&c, "pg2", 2000);
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "pg2") != NULL);

	/* a failover without a leader to a named member: the operator's call */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 1000;
	initialized(&c);
	add_replica(&c, "pg2", 1000);
	sync_key(&c, "pg9", "pg2");
	c.has_failover = true;
	strcpy(c.failover_member, "pg1");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* a switchover (it names the old leader) goes to a sync member only */
	strcpy(c.failover_leader, "pg9");
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "synchronous") != NULL);
	/* ... and the others do not wait for a candidate that cannot take it */
	sync_key(&c, "pg9", "pg1");
	strcpy(c.failover_member, "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);

	/* the leader and a switchover request */
	primary(&l);
	l.has_xlog = true;
	l.xlog_position = 1000;
	l.timeline = 1;
	led_by(&c, "pg1", SESSION_US);
	add_replica(&c, "pg2", 1000);
	add_replica(&c, "pg3", 1000);
	c.members[0].timeline = c.members[1].timeline = 1;
	c.max_lag_on_failover = PGHA_DEFAULT_MAX_LAG;
	sync_key(&c, "pg1", "pg2");
	c.has_failover = true;
	strcpy(c.failover_leader, "pg1");
	strcpy(c.failover_member, "pg3");
	CHECK(decide(&l, &c, true, &d) == HA_CLEAR_FAILOVER);
	CHECK(strstr(d.reason, "not the synchronous standby") != NULL);
	strcpy(c.failover_member, "pg2");
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && strcmp(d.target, "pg2") == 0);
	/* no candidate named: the sync standby, even if another is ahead */
	c.failover_member[0] = '\0';
	c.members[1].xlog_location = 999999;
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && strcmp(d.target, "pg2") == 0);
	/* no sync standby at all: cancelled */
	sync_key(&c, "pg1", NULL);
	CHECK(decide(&l, &c, true, &d) == HA_CLEAR_FAILOVER);
	CHECK(strstr(d.reason, "synchronous") != NULL);

	/* picking: streaming replicas of the cluster, not nofailover, not us */
	initialized(&c);
	add_replica(&c, "pg2", 0);
	add_replica(&c, "pg3", 0);
	add_replica(&c, "pg5", 0);
	c.members[2].nofailover = true;
	add_replica(&c, "pg6", 0);
	strcpy(c.members[3].state, "starting");
	c.sync_mode = true;
	c.sync_node_count = 1;
	memset(cands, 0, sizeof(cands));
	strcpy(cands[0].name, "pg2");
	cands[0].streaming = true;
	cands[0].flush = 100;
	strcpy(cands[1].name, "pg3");
	cands[1].streaming = true;
	cands[1].flush = 200;
	strcpy(cands[2].name, "pg4");	/* not a member */
	cands[2].streaming = true;
	cands[2].flush = 900;
	strcpy(cands[3].name, "pg5");	/* nofailover */
	cands[3].streaming = true;
	cands[3].flush = 900;
	strcpy(cands[4].name, "pg6");	/* not running */
	cands[4].streaming = true;
	cands[4].flush = 900;
	strcpy(cands[5].name, "pg1");	/* ourselves (a loop) */
	cands[5].streaming = true;
	cands[5].flush = 900;
	/* the furthest ahead */
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg3") == 0);
	/* the current one is kept while it streams */
	sync_key(&c, "pg1", "pg2");
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg2") == 0);
	/* ... a key of another leader keeps nobody */
	sync_key(&c, "pg9", "pg2");
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg3") == 0);
	/* not streaming (catching up): not a candidate */
	cands[1].streaming = false;
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg2") == 0);
	cands[0].streaming = false;
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 0);
	/* two wanted: both, the current first; the same standby counts once */
	cands[0].streaming = cands[1].streaming = true;
	strcpy(cands[2].name, "pg3");
	sync_key(&c, "pg1", "pg2");
	c.sync_node_count = 2;
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 2 &&
		  strcmp(pick[0], "pg2") == 0 && strcmp(pick[1], "pg3") == 0);
	c.sync_node_count = 3;
	CHECK(ha_pick_sync_standbys(cands, 6, &c, "pg1", pick) == 2);
}

static void
test_live_positions(void)
{
	PgHaCluster c;
	HaSyncCandidate s[3];

	/* published a loop_wait ago: pg2 looked 5 MB behind */
	led_by(&c, "pg1", SESSION_US);
	add_replica(&c, "pg1", 1000);
	strcpy(c.members[0].role, "primary");
	add_replica(&c, "pg2", 1000 - 5000000);
	add_replica(&c, "pg3", 500);
	memset(s, 0, sizeof(s));
	strcpy(s[0].name, "pg2");	/* has caught up since */
	s[0].streaming = true;
	s[0].flush = 9000;
	strcpy(s[1].name, "pg3");	/* catching up, not yet streaming */
	s[1].streaming = false;
	s[1].flush = 800;
	strcpy(s[2].name, "pg4");	/* not a member: ignored */
	s[2].streaming = true;
	s[2].flush = 9000;
	ha_apply_live_positions(&c, "pg1", 9500, s, 3);
	CHECK(c.nmembers == 3);
	CHECK(c.members[0].xlog_location == 9500);
	CHECK(c.members[1].xlog_location == 9000);
	/* only a streaming walsender counts */
	CHECK(c.members[2].xlog_location == 500);

	/* positions never move back */
	s[0].flush = 10;
	ha_apply_live_positions(&c, "pg1", 20, s, 1);
	CHECK(c.members[0].xlog_location == 9500 && c.members[1].xlog_location == 9000);

	/* a member that had published none gets one */
	c.members[1].has_xlog = false;
	c.members[1].xlog_location = 0;
	s[0].flush = 9100;
	ha_apply_live_positions(&c, "pg1", 9600, s, 1);
	CHECK(c.members[1].has_xlog && c.members[1].xlog_location == 9100);

	/* only the leader's own view counts: nothing changes elsewhere */
	led_by(&c, "pg2", SESSION_OTHER);
	add_replica(&c, "pg1", 1000);
	add_replica(&c, "pg2", 2000);
	ha_apply_live_positions(&c, "pg1", 9500, s, 1);
	CHECK(c.members[0].xlog_location == 1000 && c.members[1].xlog_location == 2000);
	c.has_leader = false;
	ha_apply_live_positions(&c, "pg2", 9500, s, 1);
	CHECK(c.members[1].xlog_location == 2000);
}

/*
 * The leader key's lease (leader_key.h): a key that vanished without its
 * holder's release, or a version another node still renews, is not taken
 * before the last holder's lease has certainly ended.
 */
static void
test_leader_key(void)
{
	HaLocalState l;
	PgHaCluster c;
	HaDecision	d;
	char	   *body;
	bool		done;
	uint64_t	index;
	char		err[256];

	/* the arithmetic */
	CHECK(pgha_leader_free_in_ms(false, true, -1, TTL_MS) == 0);
	CHECK(pgha_leader_free_in_ms(false, false, -1, TTL_MS) == TTL_MS);
	CHECK(pgha_leader_free_in_ms(false, false, 1000, TTL_MS) == TTL_MS - 1000);
	CHECK(pgha_leader_free_in_ms(true, true, 1000, TTL_MS) == TTL_MS - 1000);
	CHECK(pgha_leader_free_in_ms(true, false, TTL_MS, TTL_MS) == 0);

	/* vanished without a release: a replica waits out the ttl, and says so */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 5000;
	initialized(&c);
	c.leader_released = false;
	l.leader_unchanged_ms = 1000;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "without a release") != NULL);
	CHECK(d.wake_in_ms == TTL_MS - 1000);
	/* never seen before (a worker that just started): a whole ttl */
	l.leader_unchanged_ms = -1;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING && d.wake_in_ms == TTL_MS);
	/* ttl later: the usual rules */
	l.leader_unchanged_ms = TTL_MS;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* a primary whose own key vanished (its session ended) fences at once */
	primary(&l);
	l.leader_unchanged_ms = 0;
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "without a release") != NULL);
	/* ... unless it just created the cluster: nobody can hold a lease */
	l.initialized_here = true;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* released on purpose: at once */
	l.initialized_here = false;
	c.leader_released = true;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);

	/* another member's key, renewed: follow, look again when it would age */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 5000;
	led_by(&c, "pg2", SESSION_OTHER);
	l.leader_unchanged_ms = 4000;
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);
	CHECK(d.wake_in_ms == TTL_MS - 4000);
	/* not renewed for ttl: its holder's lease is over, a replica takes over */
	l.leader_unchanged_ms = TTL_MS;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* ... but the usual rules still apply: one ahead of us takes it */
	add_replica(&c, "pg3", 6000);
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg3") != NULL);
	/* a primary never takes a stale key of another: its WAL may have forked */
	primary(&l);
	l.leader_unchanged_ms = TTL_MS * 2;
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	/* our own key: a session, not a clock, says so */
	led_by(&c, "pg1", SESSION_US);
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);

	/* a config key nobody can read: no automatic takeover, no guess */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 5000;
	initialized(&c);
	c.has_config = true;
	c.config_valid = false;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "config key cannot be read") != NULL);
	c.config_valid = true;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);

	/* the initialize key lost while pg2 leads: only pg2 writes it again */
	primary(&l);
	led_by(&c, "pg2", SESSION_OTHER);
	c.has_initialize = false;
	c.initialize[0] = '\0';
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "initialize key is gone") != NULL);
	replica(&l);
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	primary(&l);
	led_by(&c, "pg1", SESSION_US);
	c.has_initialize = false;
	CHECK(decide(&l, &c, true, &d) == HA_INITIALIZE);
	/* nobody leads: the usual race */
	memset(&c, 0, sizeof(c));
	CHECK(decide(&l, &c, true, &d) == HA_INITIALIZE);

	/* standby.signal written, but the server still runs as a primary */
	replica(&l);
	l.in_recovery = false;
	led_by(&c, "pg2", SESSION_OTHER);
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	/* ... and with no leader it takes nothing: it is no replica */
	initialized(&c);
	CHECK(decide(&l, &c, true, &d) == HA_FENCE);
	CHECK(strstr(d.reason, "standby.signal") != NULL);

	/*
	 * Timelines: pg2 on timeline 3 is ahead of us on timeline 2 whatever its
	 * LSN; and our WAL past the end of timeline 2 (history: timeline 3 began
	 * at 4000) was abandoned: we never take over, and follow only rewound.
	 */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 5000;
	l.timeline = 2;
	initialized(&c);
	add_replica(&c, "pg2", 4500);
	c.members[0].timeline = 3;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg2") != NULL);
	c.members[0].timeline = 2;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);	/* same timeline: LSN */
	c.nmembers = 0;
	strcpy(c.history_json, "[[1,1000,\"no recovery target specified\"],[2,4000,\"no recovery target specified\"]]");
	l.replayed_position = 4500;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "past the end of timeline 2") != NULL);
	l.replayed_position = 4000;	/* replayed up to the fork: a prefix, fine */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);	/* received beyond: dropped */
	l.replayed_position = 5000;
	led_by(&c, "pg2", SESSION_OTHER);
	strcpy(c.history_json, "[[1,1000,\"x\"],[2,4000,\"x\"]]");
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	CHECK(strstr(d.reason, "rewinding") != NULL);
	l.timeline = 3;				/* on the newest timeline: follows */
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);
	l.timeline_begin = 4000;	/* begun where the cluster's began: follows */
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);

	/*
	 * Timeline 3 by number, begun at 4200 by our own promotion while pg2's
	 * began at 4000 (a promotion frozen half-way while pg2 took over): two
	 * histories under one number.  We rejoin, and never take over.
	 */
	l.timeline_begin = 4200;
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	CHECK(strstr(d.reason, "past the end of timeline 3 at 0/FA0") != NULL);
	c.has_leader = false;
	c.leader[0] = c.leader_session[0] = '\0';
	c.leader_released = true;	/* free at once: only the history stops us */
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "must be rewound first") != NULL);
	l.timeline_begin = 0;		/* unknown: judged as before */
	CHECK(decide(&l, &c, true, &d) != HA_DEMOTE);

	/*
	 * Skipped timeline IDs (timeline.c): the cluster went 2 -> 4 at 4000,
	 * 3 was some dead node's.  On 3, begun at the very same point, we are
	 * no part of the cluster's history: rewind.  On 4 begun there, or on
	 * the leader's 5, we follow.
	 */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = l.replayed_position = 6500;
	led_by(&c, "pg2", SESSION_OTHER);
	strcpy(c.history_json, "[[1,1000,\"x\"],[2,4000,\"x\"],[4,6000,\"x\"]]");
	l.timeline = 3;
	l.timeline_begin = 4000;
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	CHECK(strstr(d.reason, "rewinding") != NULL);
	l.timeline = 4;
	l.replayed_position = 6000;
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);
	l.timeline = 5;
	l.timeline_begin = 6000;
	l.replayed_position = 6500;
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);

	/*
	 * The newest row, written by the leader itself, says its timeline 4
	 * began from 2: our 3 between is no timeline of the cluster's.  Written
	 * by somebody else (the leader's own row not there yet), nothing is
	 * proven, and we follow.
	 */
	led_by(&c, "pg2", SESSION_OTHER);
	add_replica(&c, "pg2", 6000);
	c.members[0].timeline = 4;
	strcpy(c.history_json, "[[1,1000,\"x\",\"t\",\"pg1\"],[2,4000,\"x\",\"t\",\"pg2\"]]");
	l.timeline = 3;
	l.timeline_begin = 4000;
	l.replayed_position = 4500;
	CHECK(decide(&l, &c, true, &d) == HA_DEMOTE);
	strcpy(c.history_json, "[[1,1000,\"x\",\"t\",\"pg1\"],[2,4000,\"x\",\"t\",\"pg3\"]]");
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);
	c.members[0].timeline = 3;	/* the leader on our timeline: ours */
	strcpy(c.history_json, "[[1,1000,\"x\",\"t\",\"pg1\"],[2,4000,\"x\",\"t\",\"pg2\"]]");
	CHECK(decide(&l, &c, true, &d) == HA_FOLLOW);

	/* the timeline ID a promotion takes: above every one the cluster used */
	{
		uint32_t	ignored = 99;

		memset(&c, 0, sizeof(c));
		CHECK(ha_promotion_timeline(&c, 3, &ignored) == 3);
		CHECK(ignored == 0);
		c.has_promotion = true;
		c.promotion_timeline = 2;	/* below: nothing to step over */
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 3);
		c.promotion_timeline = 3;	/* a promotion started on 3 */
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 4);
		c.promotion_timeline = 5;
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 6);
		add_replica(&c, "pg3", 1);
		c.members[0].timeline = 7;
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 8);
		c.nstopped = 1;
		strcpy(c.stopped[0].name, "pg4");
		c.stopped[0].timeline = 9;	/* a stopped member's last timeline */
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 10);
		/* history: 12 ended, so its successor (13 or more) was used */
		strcpy(c.history_json, "[[1,10,\"x\"],[12,20,\"x\"]]");
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 14);
		/* garbage far ahead is reported, not stepped over */
		c.promotion_timeline = 4000000000u;
		CHECK(ha_promotion_timeline(&c, 3, &ignored) == 14);
		CHECK(ignored == 4000000000u);
		c.members[0].timeline = UINT32_MAX;
		CHECK(ha_promotion_timeline(&c, 3, &ignored) == 14);
		CHECK(ignored == UINT32_MAX);
		/* a history that is no JSON array: the other sources alone */
		strcpy(c.history_json, "{garbage");
		c.members[0].timeline = 7;
		CHECK(ha_promotion_timeline(&c, 3, NULL) == 10);
	}

	/* our name held by another node's session: no part in anything */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = 5000;
	initialized(&c);
	l.name_taken = true;
	CHECK(decide(&l, &c, true, &d) == HA_REFUSE_JOIN);
	CHECK(strstr(d.reason, "used twice") != NULL);
	/* ... unless we hold the leader key: the other one is the twin */
	primary(&l);
	l.name_taken = true;
	led_by(&c, "pg1", SESSION_US);
	CHECK(decide(&l, &c, true, &d) == HA_KEEP_LEADER);

	/*
	 * ttl lowered (30 s -> 10 s here) while the holder froze right after a
	 * renewal counted with the old one: its Flags say 30 s, and nobody
	 * takes the key before those have passed.
	 */
	{
		HaConfig	low = {"pg1", 10000};

		replica(&l);
		l.has_xlog = true;
		l.xlog_position = 5000;
		led_by(&c, "pg2", SESSION_OTHER);
		c.leader_ttl_ms = PGHA_LEADER_FLAGS_TTL(PGHA_LEADER_FLAGS(12345, 30000));
		CHECK(c.leader_ttl_ms == 30000);
		l.leader_unchanged_ms = 15000;
		ha_decide(&l, &c, true, &low, &d);
		CHECK(d.action == HA_FOLLOW && d.wake_in_ms == 15000);
		l.leader_unchanged_ms = 30000;
		ha_decide(&l, &c, true, &low, &d);
		CHECK(d.action == HA_ACQUIRE);
		/* gone without a release: the longest ttl seen still counts */
		initialized(&c);
		c.leader_released = false;
		l.leader_ttl_seen_ms = 30000;
		l.leader_unchanged_ms = 15000;
		ha_decide(&l, &c, true, &low, &d);
		CHECK(d.action == HA_NOTHING && d.wake_in_ms == 15000);
		l.leader_ttl_seen_ms = 0;
	}

	/* the transactions: each checks before it writes */
	body = pgha_leader_txn(PGHA_LEADER_RENEW, "service/c/", "pg1", SESSION_US, 0, 42);
	CHECK(body != NULL && strstr(body, "\"check-session\"") != NULL &&
		  strstr(body, "\"Flags\":42") != NULL &&
		  strstr(body, "\"service/c/leader\"") != NULL &&
		  strstr(body, "cGcx") != NULL);	/* base64 of pg1 */
	free(body);
	body = pgha_leader_txn(PGHA_LEADER_STEAL, "service/c/", "pg1", SESSION_US, 77, 0);
	CHECK(body != NULL && strstr(body, "\"delete-cas\"") != NULL &&
		  strstr(body, "\"Index\":77") != NULL && strstr(body, "\"lock\"") != NULL &&
		  strstr(body, "\"service/c/released\"") != NULL);
	free(body);
	CHECK(pgha_leader_txn(PGHA_LEADER_STEAL, "service/c/", "pg1", SESSION_US, 0, 0) == NULL);
	body = pgha_leader_txn(PGHA_LEADER_TAKE, "service/c/", "pg1", SESSION_US, 0, 0);
	CHECK(body != NULL && strstr(body, "delete-cas") == NULL && strstr(body, "\"lock\"") != NULL);
	free(body);
	body = pgha_leader_txn(PGHA_LEADER_RELEASE, "service/c/", "pg1", SESSION_US, 0, 0);
	CHECK(body != NULL && strstr(body, "\"check-session\"") != NULL &&
		  strstr(body, "\"delete\"") != NULL && strstr(body, "\"set\"") != NULL);
	free(body);
	CHECK(pgha_leader_txn(PGHA_LEADER_RENEW, "service/c/", "", SESSION_US, 0, 1) == NULL);
	CHECK(pgha_leader_txn(PGHA_LEADER_RENEW, "service/c/", "pg1", "", 0, 1) == NULL);

	/* Consul's answers */
	{
		const char *ok = "{\"Results\":[{\"KV\":{\"Key\":\"service/c/leader\",\"ModifyIndex\":12}},"
			"{\"KV\":{\"Key\":\"service/c/leader\",\"ModifyIndex\":13}}],\"Errors\":null}";
		const char *rolled = "{\"Results\":null,\"Errors\":[{\"OpIndex\":0,\"What\":\"failed session check\"}]}";

		CHECK(pgha_parse_leader_txn(200, ok, strlen(ok), "service/c/", &done, &index, err, sizeof(err)));
		CHECK(done && index == 13);
		CHECK(pgha_parse_leader_txn(409, rolled, strlen(rolled), "service/c/", &done, &index, err, sizeof(err)));
		CHECK(!done && strstr(err, "failed session check") != NULL);
		CHECK(!pgha_parse_leader_txn(500, ok, strlen(ok), "service/c/", &done, &index, err, sizeof(err)));
		CHECK(!pgha_parse_leader_txn(200, "[1]", 3, "service/c/", &done, &index, err, sizeof(err)));
		CHECK(!pgha_parse_leader_txn(200, "{\"Results\":[{\"KV\":{\"Key\":\"service/c/leader\",\"ModifyIndex\":-1}}]}",
									 strlen("{\"Results\":[{\"KV\":{\"Key\":\"service/c/leader\",\"ModifyIndex\":-1}}]}"),
									 "service/c/", &done, &index, err, sizeof(err)));
		CHECK(!pgha_parse_leader_txn(200, "", 0, "service/c/", &done, &index, err, sizeof(err)));
	}
}

static void
set_priority(PgHaMember *m, int priority)
{
	m->has_failover_priority = true;
	m->failover_priority = priority;
	/* as the parser reads a record without a nofailover tag */
	m->nofailover = priority <= 0;
}

/*
 * Tags in the decisions (issue 13): failover_priority only breaks ties
 * among replicas the other rules already let race, and only ever holds a
 * replica back; nosync keeps a standby out of the sync key.
 */
static void
test_tags(void)
{
	HaLocalState l;
	PgHaCluster c;
	HaDecision	d;
	HaSyncCandidate cands[3];
	char		pick[PGHA_MAX_SYNC][PGHA_NAME_LEN];

	/* the leader is gone; pg1 (us) and pg3 are equally far */
	replica(&l);
	l.has_xlog = true;
	l.xlog_position = l.replayed_position = 5000;
	l.timeline = 2;
	initialized(&c);
	c.max_lag_on_failover = 1048576;
	add_replica(&c, "pg3", 5000);
	c.members[0].timeline = 2;
	/* no priorities: both race, Consul's lock decides */
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* pg3 has a higher priority: it goes, we wait */
	set_priority(&c.members[0], 2);
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "pg3") != NULL && strstr(d.reason, "failover_priority") != NULL &&
		  strstr(d.reason, "2 > 1") != NULL);
	/* ... as with the same priority given explicitly on our side */
	l.has_failover_priority = true;
	l.failover_priority = 1;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	/* ours is higher: we go */
	l.failover_priority = 3;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* the same: both race */
	l.failover_priority = 2;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* a lower priority counts only on a tie: pg3 one byte behind */
	set_priority(&c.members[0], 100);
	c.members[0].xlog_location = 4999;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* ... or on an older timeline, whatever its LSN */
	c.members[0].xlog_location = 9000;
	c.members[0].timeline = 1;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.members[0].timeline = 2;
	c.members[0].xlog_location = 5000;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	/* a timeline unknown on one side: compared by LSN, equal is a tie */
	c.members[0].timeline = 0;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	c.members[0].timeline = 2;
	/* only members that could take over hold us back */
	strcpy(c.members[0].state, "stopped");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	strcpy(c.members[0].state, "running");
	strcpy(c.members[0].role, "master");
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	strcpy(c.members[0].role, "replica");
	c.members[0].has_xlog = false;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.members[0].has_xlog = true;
	/* its priority 0 (nofailover by the parser's reading): it does not race */
	set_priority(&c.members[0], 0);
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* an explicit nofailover: false beside a priority 0 (Patroni 3.2) races, lowest */
	c.members[0].nofailover = false;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	l.failover_priority = 1;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	set_priority(&c.members[0], 1);

	/* our priority 0: never, like nofailover, even as the only replica */
	l.failover_priority = 0;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "failover_priority 0") != NULL);
	c.nmembers = 0;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	l.failover_priority = -5;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);

	/*
	 * The highest priority never overrides the other rules: lag, a member
	 * ahead, a later timeline, divergence, pause, synchronous mode.
	 */
	l.failover_priority = 1000;
	add_replica(&c, "pg3", 5000);
	c.members[0].timeline = 2;
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	c.members[0].xlog_location = 5001;	/* ahead by a byte */
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "is ahead") != NULL);
	c.members[0].xlog_location = 10;
	c.members[0].timeline = 3;			/* a later timeline */
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "is ahead") != NULL);
	c.members[0].timeline = 2;
	c.members[0].xlog_location = 5000;
	c.has_optime = true;				/* too far behind the last leader */
	c.optime = 5000 + 1048577;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "maximum_lag_on_failover") != NULL);
	c.has_optime = false;
	c.paused = true;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "paused") != NULL);
	c.paused = false;
	snprintf(c.history_json, sizeof(c.history_json), "[[2,4000,\"no recovery target specified\"]]");
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "rewound") != NULL);
	c.history_json[0] = '\0';
	sync_key(&c, "pg9", "pg3");			/* pg3 is the sync standby, not us */
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	CHECK(strstr(d.reason, "synchronous") != NULL);
	c.has_config = true;				/* an unreadable config key */
	c.config_valid = false;
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	c.has_config = false;
	/* we are the sync standby: an async replica's priority does not count */
	sync_key(&c, "pg9", "pg1");
	l.failover_priority = 1;
	set_priority(&c.members[0], 50);
	CHECK(decide(&l, &c, true, &d) == HA_ACQUIRE);
	/* a second sync standby as far, with a higher priority, does */
	strcpy(c.sync_standby[c.nsync++], "pg3");
	CHECK(decide(&l, &c, true, &d) == HA_NOTHING);
	c.sync_mode = false;
	c.sync_key_exists = c.has_sync = false;

	/* a switchover to any replica: as far, the higher priority */
	primary(&l);
	l.has_xlog = true;
	l.xlog_position = 300;
	led_by(&c, "pg1", SESSION_US);
	c.max_lag_on_failover = 1000;
	add_replica(&c, "pg1", 300);
	strcpy(c.members[0].role, "master");
	add_replica(&c, "pg2", 200);
	add_replica(&c, "pg4", 200);
	c.has_failover = true;
	strcpy(c.failover_leader, "pg1");
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && strcmp(d.target, "pg2") == 0);
	set_priority(&c.members[2], 7);
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && strcmp(d.target, "pg4") == 0);
	c.members[1].xlog_location = 201;	/* further ahead wins over priority */
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && strcmp(d.target, "pg2") == 0);
	c.members[1].xlog_location = 200;
	set_priority(&c.members[2], 0);		/* priority 0: never a candidate */
	CHECK(decide(&l, &c, true, &d) == HA_SWITCHOVER && strcmp(d.target, "pg2") == 0);
	c.has_failover = false;

	/* nosync: never picked as synchronous standby, even the furthest ahead */
	initialized(&c);
	add_replica(&c, "pg2", 0);
	add_replica(&c, "pg3", 0);
	c.sync_mode = true;
	c.sync_node_count = 1;
	memset(cands, 0, sizeof(cands));
	strcpy(cands[0].name, "pg2");
	cands[0].streaming = true;
	cands[0].flush = 100;
	strcpy(cands[1].name, "pg3");
	cands[1].streaming = true;
	cands[1].flush = 900;
	CHECK(ha_pick_sync_standbys(cands, 2, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg3") == 0);
	c.members[1].nosync = true;
	CHECK(ha_pick_sync_standbys(cands, 2, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg2") == 0);
	/* ... not kept either when the key names it already */
	sync_key(&c, "pg1", "pg3");
	CHECK(ha_pick_sync_standbys(cands, 2, &c, "pg1", pick) == 1 &&
		  strcmp(pick[0], "pg2") == 0);
	c.sync_node_count = 2;
	CHECK(ha_pick_sync_standbys(cands, 2, &c, "pg1", pick) == 1);
	/* every standby nosync: none */
	c.members[0].nosync = true;
	CHECK(ha_pick_sync_standbys(cands, 2, &c, "pg1", pick) == 0);
}

/* a small deterministic generator (the test must replay the same way) */
static uint32_t rnd_state = 12345;

static uint32_t
rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return (rnd_state >> 8) & 0xffffff;
}

/*
 * A property over many random clusters: with failover priorities a replica
 * takes over only where it would without them (priorities only ever hold
 * back), and among the replicas that would, those of the highest priority
 * still do (a tie-break never leaves the cluster without a candidate).
 */
static void
test_priority_property(void)
{
	static PgHaCluster c;
	static PgHaCluster plain;
	HaLocalState l;
	HaDecision	d;
	int			violations = 0;
	int			stuck = 0;
	int			held_back = 0;

	for (int round = 0; round < 20000; round++)
	{
		int			n = 2 + (int) (rnd() % 4);
		bool		would[8];
		int			prio[8];
		int			best = -1000;
		bool		any_would = false;
		bool		best_does = false;

		initialized(&c);
		c.max_lag_on_failover = (rnd() % 3) ? 1048576 : 10;
		c.has_optime = rnd() % 2;
		c.optime = 5000 + (int64_t) (rnd() % 20);
		c.paused = (rnd() % 20) == 0;
		if (rnd() % 4 == 0)
		{
			sync_key(&c, "pg9", NULL);
			for (int i = 0; i < n; i++)
				if (rnd() % 2)
					snprintf(c.sync_standby[c.nsync++], PGHA_NAME_LEN, "pg%d", i + 1);
		}
		for (int i = 0; i < n; i++)
		{
			char		name[16];
			PgHaMember *m;

			snprintf(name, sizeof(name), "pg%d", i + 1);
			add_replica(&c, name, 5000 + (int64_t) (rnd() % 4));
			m = &c.members[c.nmembers - 1];
			m->timeline = 1 + rnd() % 2;
			if (rnd() % 8 == 0)
				strcpy(m->state, "stopped");
			if (rnd() % 8 == 0)
				m->nofailover = true;
			if (rnd() % 2)
			{
				m->has_failover_priority = true;
				m->failover_priority = (int) (rnd() % 4);
				/* as pg_ha publishes a priority 0 (pgha_local_tags) */
				if (m->failover_priority == 0)
					m->nofailover = true;
			}
		}
		memcpy(&plain, &c, sizeof(c));
		for (int i = 0; i < n; i++)
			plain.members[i].has_failover_priority = false;

		/* decide as each member, with and without the priorities */
		for (int i = 0; i < n; i++)
		{
			const PgHaMember *m = &c.members[i];
			HaConfig	cfg;
			bool		with;

			if (strcmp(m->state, "running") != 0)
				continue;		/* a stopped server decides nothing */
			replica(&l);
			l.has_xlog = true;
			l.xlog_position = l.replayed_position = m->xlog_location;
			l.timeline = m->timeline;
			l.nofailover = m->nofailover;
			l.has_failover_priority = m->has_failover_priority;
			l.failover_priority = m->failover_priority;
			cfg.node_name = m->name;
			cfg.ttl_ms = TTL_MS;
			prio[i] = pgha_member_failover_priority(m);
			ha_decide(&l, &c, true, &cfg, &d);
			with = d.action == HA_ACQUIRE;
			l.has_failover_priority = false;
			l.nofailover = plain.members[i].nofailover;
			ha_decide(&l, &plain, true, &cfg, &d);
			would[i] = d.action == HA_ACQUIRE;
			if (with && !would[i])
			{
				if (violations++ == 0)
					printf("violation: round %d member %s: %s\n", round, m->name, d.reason);
			}
			if (would[i] && !with)
				held_back++;
			if (with && would[i] && prio[i] > best)
				best = prio[i];
			if (would[i])
				any_would = true;
			if (with)
				best_does = true;
		}
		/* someone the plain rules let go still goes */
		if (any_would && !best_does)
		{
			if (stuck++ == 0)
			{
				printf("stuck: round %d\n", round);
				for (int i = 0; i < n; i++)
					printf("  %s %s tl %u xlog %lld nofailover %d prio %d/%d would %d\n",
						   c.members[i].name, c.members[i].state, c.members[i].timeline,
						   (long long) c.members[i].xlog_location, c.members[i].nofailover,
						   c.members[i].has_failover_priority, c.members[i].failover_priority, would[i]);
				printf("  sync %d nsync %d optime %d %lld maxlag %lld\n", c.sync_mode, c.nsync, c.has_optime, (long long) c.optime, (long long) c.max_lag_on_failover);
			}
		}
	}
	CHECK(violations == 0);
	CHECK(stuck == 0);
	CHECK(held_back > 0);		/* the tie-break did happen */
}

/* the wait between rounds, the lease's renewal and the pace of positions */
static void
test_round_timing(void)
{
	HaWaitInput in;
	int64_t		now = 100000;

	/* a WAL position alone: at most once per loop_wait */
	CHECK(ha_position_write_due(0, now, 2000));
	CHECK(!ha_position_write_due(now - 1999, now, 2000));
	CHECK(ha_position_write_due(now - 2000, now, 2000));

	/* the lease: every renewal interval (3333 ms with the defaults) */
	CHECK(!ha_lease_renewal_due(now, now + 9000, false, now - 3332, 10000, 2000, true, 10000));
	CHECK(ha_lease_renewal_due(now, now + 9000, false, now - 3333, 10000, 2000, true, 10000));
	/* at once: never renewed, the last attempt failed, the key not ours as written */
	CHECK(ha_lease_renewal_due(now, 0, false, now, 10000, 2000, true, 10000));
	CHECK(ha_lease_renewal_due(now, now + 9000, true, now, 10000, 2000, true, 10000));
	CHECK(ha_lease_renewal_due(now, now + 9000, false, now, 10000, 2000, false, 10000));
	CHECK(ha_lease_renewal_due(now, now + 9000, false, now, 10000, 2000, true, 30000));

	/* a replica with nothing near: twice the renewal interval */
	memset(&in, 0, sizeof(in));
	in.now_ms = now;
	in.ttl_ms = 10000;
	in.loop_wait_ms = 2000;
	CHECK(ha_round_wait_ms(&in) == 6666);
	/* the leader: its next renewal */
	in.leading = true;
	in.lk_sent_ms = now - 1000;
	CHECK(ha_round_wait_ms(&in) == 2333);
	/* ... due or failed: soon, never at once */
	in.lk_sent_ms = now - 5000;
	CHECK(ha_round_wait_ms(&in) == HA_RENEW_RETRY_MS);
	in.lk_sent_ms = now;
	in.lk_renew_failed = true;
	CHECK(ha_round_wait_ms(&in) == HA_RENEW_RETRY_MS);
	in.lk_renew_failed = false;
	CHECK(ha_round_wait_ms(&in) == 3333);
	/* the check and the session: by half their TTL */
	in.check_registered = true;
	in.check_passed_ms = now - 9000;
	in.check_ttl_ms = 20000;
	CHECK(ha_round_wait_ms(&in) == 1000);
	in.check_passed_ms = 0;		/* not passed yet: not by it */
	CHECK(ha_round_wait_ms(&in) == 3333);
	in.check_passed_ms = now - 12000;	/* overdue: with the rounds */
	CHECK(ha_round_wait_ms(&in) == 3333);
	in.has_session = true;
	in.session_renewed_ms = now - 9500;
	in.session_ttl_ms = 20000;
	CHECK(ha_round_wait_ms(&in) == 500);
	in.has_session = false;
	CHECK(ha_round_wait_ms(&in) == 3333);
	/* something near, the key free then */
	in.recheck_soon = true;
	CHECK(ha_round_wait_ms(&in) == HA_RECHECK_SOON_MS);
	in.wake_in_ms = 99;
	CHECK(ha_round_wait_ms(&in) == 100);
	in.recheck_soon = false;
	in.wake_in_ms = 4000;
	CHECK(ha_round_wait_ms(&in) == 3333);
	in.leading = false;
	CHECK(ha_round_wait_ms(&in) == 4001);
}

/* before a takeover: whom to ask again, and what their answer changes */
static void
test_fresh_positions(void)
{
	PgHaCluster c;
	PgHaMember	m;
	PgHaFreshPosition p;

	initialized(&c);
	CHECK(ha_fresh_positions_wanted(&c, "pg1"));
	c.has_failover = true;
	strcpy(c.failover_member, "pg2");
	CHECK(ha_fresh_positions_wanted(&c, "pg1"));
	CHECK(!ha_fresh_positions_wanted(&c, "pg2"));

	memset(&m, 0, sizeof(m));
	strcpy(m.name, "pg2");
	strcpy(m.state, "running");
	strcpy(m.role, "replica");
	strcpy(m.api_url, "http://127.0.0.1:8009/patroni");
	CHECK(ha_fresh_position_wanted(&m, "pg1"));
	CHECK(!ha_fresh_position_wanted(&m, "pg2"));
	m.nofailover = true;
	CHECK(!ha_fresh_position_wanted(&m, "pg1"));
	m.nofailover = false;
	strcpy(m.role, "master");
	CHECK(!ha_fresh_position_wanted(&m, "pg1"));
	strcpy(m.role, "replica");
	strcpy(m.state, "stopped");
	CHECK(!ha_fresh_position_wanted(&m, "pg1"));
	strcpy(m.state, "running");
	m.api_url[0] = '\0';
	CHECK(!ha_fresh_position_wanted(&m, "pg1"));

	/* on the same timeline, only forward */
	m.timeline = 2;
	m.has_xlog = true;
	m.xlog_location = 5000;
	memset(&p, 0, sizeof(p));
	p.has_xlog = true;
	p.timeline = 2;
	p.xlog = 4000;
	CHECK(!ha_apply_fresh_position(&m, &p) && m.xlog_location == 5000);
	p.xlog = 6000;
	CHECK(ha_apply_fresh_position(&m, &p) && m.xlog_location == 6000);
	/* an unknown timeline counts as the same */
	p.timeline = 0;
	p.xlog = 7000;
	CHECK(ha_apply_fresh_position(&m, &p) && m.xlog_location == 7000 && m.timeline == 2);
	/* a later timeline wins whatever its LSN; an earlier one never */
	p.timeline = 3;
	p.xlog = 100;
	CHECK(ha_apply_fresh_position(&m, &p) && m.timeline == 3 && m.xlog_location == 100);
	p.timeline = 2;
	p.xlog = 90000;
	CHECK(!ha_apply_fresh_position(&m, &p) && m.timeline == 3);
	/* no position given: nothing */
	p.has_xlog = false;
	p.timeline = 4;
	CHECK(!ha_apply_fresh_position(&m, &p) && m.timeline == 3);
	/* a record without a position takes the one given */
	memset(&m, 0, sizeof(m));
	p.has_xlog = true;
	p.timeline = 0;
	p.xlog = 10;
	CHECK(ha_apply_fresh_position(&m, &p) && m.has_xlog && m.xlog_location == 10);
}
