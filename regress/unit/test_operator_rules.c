/*
 * Unit tests of the operator's rules (src/common/operator_rules.c): one table of
 * clusters and requests, each with the verdict that pg_ha_switchover(),
 * POST /switchover and pg_ha_ctl switchover (and their failover forms)
 * all give; and which restart request may be flushed (DELETE /restart and
 * pg_ha_ctl flush ... restart).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cluster.h"
#include "operator_rules.h"
#include "unit_check.h"

#define MB			INT64_C(1048576)
#define LEADER_POS	(10 * MB)

/* What each row changes in the base cluster. */
#define NO_LEADER		0x0001	/* the leader key is free */
#define PAUSED			0x0002
#define PENDING			0x0004	/* the failover key holds a request */
#define SYNC			0x0008	/* synchronous mode, sync key pg1 + pg2 */
#define SYNC_EMPTY		0x0010	/* synchronous mode, the key names nobody */
#define ONLY_LEADER		0x0020	/* pg1 alone */
#define NO_GOOD			0x0040	/* pg2 and pg3 gone: only unfit replicas */
#define OPTIME_ONLY		0x0080	/* the leader's record has no position */
#define PG3_AT_MAX		0x0100	/* pg3 exactly maximum_lag_on_failover behind */
#define PG3_AHEAD		0x0200	/* pg3 ahead of the leader's record */
#define PG2_LAGS		0x0400
#define PG3_NOFAILOVER	0x0800

static void
add_member(PgHaCluster *c, const char *name, const char *role,
		   const char *state, int64_t xlog)
{
	PgHaMember *m = &c->members[c->nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->role, role);
	strcpy(m->state, state);
	m->has_xlog = xlog >= 0;
	m->xlog_location = xlog >= 0 ? xlog : 0;
	m->timeline = 1;
	strcpy(m->session, "33333333-2222-3333-4444-555555555555");
}

static PgHaMember *
member(PgHaCluster *c, const char *name)
{
	return (PgHaMember *) pgha_find_member(c, name);
}

/*
 * pg1 leads; pg2 and pg3 are caught-up replicas; pg4 is tagged nofailover,
 * pg5 lags 2 MB, pg6 has published no position, pg7 is "stopped" in its
 * own record, pg8 has no role, and pg9 is a stopped record (no session).
 */
static void
build(PgHaCluster *c, int flags)
{
	memset(c, 0, sizeof(*c));
	c->has_initialize = true;
	c->has_config = c->config_valid = true;
	c->max_lag_on_failover = MB;
	c->has_leader = true;
	strcpy(c->leader, "pg1");
	strcpy(c->leader_session, "11111111-2222-3333-4444-555555555555");
	add_member(c, "pg1", "master", "running", LEADER_POS);
	if (!(flags & (ONLY_LEADER | NO_GOOD)))
	{
		add_member(c, "pg2", "replica", "running", LEADER_POS);
		add_member(c, "pg3", "replica", "running", LEADER_POS);
	}
	if (!(flags & ONLY_LEADER))
	{
		add_member(c, "pg4", "replica", "running", LEADER_POS);
		member(c, "pg4")->nofailover = true;
		add_member(c, "pg5", "replica", "running", LEADER_POS - 2 * MB);
		add_member(c, "pg6", "replica", "running", -1);
		add_member(c, "pg7", "replica", "stopped", -1);
		add_member(c, "pg8", "", "running", LEADER_POS);
		c->nstopped = 1;
		strcpy(c->stopped[0].name, "pg9");
		strcpy(c->stopped[0].state, "stopped");
		strcpy(c->stopped[0].role, "replica");
	}

	if (flags & NO_LEADER)
	{
		/* released: the value may stay, no session holds it */
		c->leader_session[0] = '\0';
	}
	c->paused = (flags & PAUSED) != 0;
	if (flags & PENDING)
	{
		c->has_failover = true;
		strcpy(c->failover_leader, "pg1");
		strcpy(c->failover_member, "pg2");
	}
	if (flags & (SYNC | SYNC_EMPTY))
	{
		c->sync_mode = true;
		c->sync_key_exists = c->has_sync = true;
		strcpy(c->sync_leader, "pg1");
		if (flags & SYNC)
		{
			c->nsync = 1;
			strcpy(c->sync_standby[0], "pg2");
		}
	}
	if (flags & OPTIME_ONLY)
	{
		member(c, "pg1")->has_xlog = false;
		c->has_optime = true;
		c->optime = LEADER_POS;
	}
	if (flags & PG3_AT_MAX)
		member(c, "pg3")->xlog_location = LEADER_POS - MB;
	if (flags & PG3_AHEAD)
		member(c, "pg3")->xlog_location = LEADER_POS + 5 * MB;
	if (flags & PG2_LAGS)
		member(c, "pg2")->xlog_location = LEADER_POS - 3 * MB;
	if (flags & PG3_NOFAILOVER)
		member(c, "pg3")->nofailover = true;
}

#define SW	PGHA_OP_SWITCHOVER
#define FO	PGHA_OP_FAILOVER

typedef struct Case
{
	const char *what;
	int			flags;
	PgHaOpAction action;
	const char *leader;
	const char *candidate;
	bool		force;
	bool		scheduled;
	const char *reason;			/* pgha_rule_reason_name() */
	const char *member;			/* v.member */
	int64_t		lag;
	bool		unsafe;
} Case;

static const Case cases[] = {
	/* accepted */
	{"switchover to a caught-up replica", 0, SW, NULL, "pg2", false, false, "ok", "pg2", 0, false},
	{"switchover naming the leader", 0, SW, "pg1", "pg2", false, false, "ok", "pg2", 0, false},
	{"switchover to the healthiest replica", 0, SW, NULL, NULL, false, false, "ok", "", 0, false},
	{"an empty candidate is none", 0, SW, "", "", false, false, "ok", "", 0, false},
	{"scheduled switchover", 0, SW, NULL, "pg3", false, true, "ok", "pg3", 0, false},
	{"failover with a leader", 0, FO, NULL, "pg2", false, false, "ok", "pg2", 0, false},
	{"failover naming the leader", 0, FO, "pg1", "pg3", false, false, "ok", "pg3", 0, false},
	{"paused: to a named candidate", PAUSED, SW, NULL, "pg2", false, false, "ok", "pg2", 0, false},
	{"paused: failover", PAUSED, FO, NULL, "pg2", false, false, "ok", "pg2", 0, false},
	{"lag exactly maximum_lag_on_failover", PG3_AT_MAX, SW, NULL, "pg3", false, false, "ok", "pg3", 0, false},
	{"a candidate ahead of the leader's record", PG3_AHEAD, SW, NULL, "pg3", false, false, "ok", "pg3", 0, false},

	/* the request as such */
	{"failover without a candidate", 0, FO, NULL, NULL, false, false, "failover_no_candidate", "", 0, false},
	{"failover with an empty candidate", NO_LEADER, FO, NULL, "", true, false, "failover_no_candidate", "", 0, false},
	{"scheduled while paused", PAUSED, SW, NULL, "pg2", false, true, "scheduled_paused", "pg2", 0, false},
	{"paused, no candidate", PAUSED, SW, NULL, NULL, false, false, "paused_no_candidate", "", 0, false},
	{"a pending request", PENDING, SW, NULL, "pg3", false, false, "pending", "pg2", 0, false},
	{"a pending request, failover", PENDING | NO_LEADER, FO, NULL, "pg3", true, false, "pending", "pg2", 0, false},

	/* the leader */
	{"switchover without a leader", NO_LEADER, SW, NULL, "pg2", false, false, "no_leader", "", 0, false},
	{"switchover without a leader, one named", NO_LEADER, SW, "pg1", "pg2", false, false, "no_leader", "pg1", 0, false},
	{"the wrong leader named", 0, SW, "pg2", "pg3", false, false, "leader_mismatch", "pg2", 0, false},
	{"failover naming a leader when none runs", NO_LEADER, FO, "pg1", "pg2", false, false, "leader_mismatch", "pg1", 0, false},
	{"the wrong leader before an unknown candidate", 0, SW, "pg3", "pgX", false, false, "leader_mismatch", "pg3", 0, false},

	/* a named candidate */
	{"the leader as candidate", 0, SW, NULL, "pg1", false, false, "candidate_is_leader", "pg1", 0, false},
	{"the leader as failover candidate", 0, FO, NULL, "pg1", true, false, "candidate_is_leader", "pg1", 0, false},
	{"an unknown candidate", 0, SW, NULL, "pgX", false, false, "candidate_unknown", "pgX", 0, false},
	{"an unknown failover candidate", NO_LEADER, FO, NULL, "pgX", true, false, "candidate_unknown", "pgX", 0, false},
	{"a candidate whose record says stopped", 0, SW, NULL, "pg7", false, false, "candidate_not_running", "pg7", 0, false},
	{"a stopped record", 0, SW, NULL, "pg9", false, false, "candidate_not_running", "pg9", 0, false},
	{"a stopped record, failover", NO_LEADER, FO, NULL, "pg9", true, false, "candidate_not_running", "pg9", 0, false},
	{"a candidate without a role", 0, SW, NULL, "pg8", false, false, "candidate_not_replica", "pg8", 0, false},
	{"the old primary as failover candidate", NO_LEADER, FO, NULL, "pg1", true, false, "candidate_not_replica", "pg1", 0, false},
	{"a candidate tagged nofailover", 0, SW, NULL, "pg4", false, false, "candidate_nofailover", "pg4", 0, false},
	{"nofailover, failover forced", NO_LEADER, FO, NULL, "pg4", true, false, "candidate_nofailover", "pg4", 0, false},
	{"no published position", 0, SW, NULL, "pg6", false, false, "candidate_no_position", "pg6", 0, false},
	{"no published position, failover with a leader", 0, FO, NULL, "pg6", false, false, "candidate_no_position", "pg6", 0, false},
	{"no published position, failover without a leader", NO_LEADER, FO, NULL, "pg6", false, false, "ok", "pg6", 0, false},
	{"a lagging candidate", 0, SW, NULL, "pg5", false, false, "candidate_lags", "pg5", 2 * MB, false},
	{"a lagging candidate, scheduled", 0, SW, NULL, "pg5", false, true, "candidate_lags", "pg5", 2 * MB, false},
	{"a lagging failover candidate with a leader", 0, FO, NULL, "pg5", true, false, "candidate_lags", "pg5", 2 * MB, false},
	{"a lagging failover candidate without a leader", NO_LEADER, FO, NULL, "pg5", false, false, "ok", "pg5", 0, false},
	{"the lag against the status key's optime", OPTIME_ONLY, SW, NULL, "pg5", false, false, "candidate_lags", "pg5", 2 * MB, false},

	/* synchronous mode */
	{"sync: switchover to the sync standby", SYNC, SW, NULL, "pg2", false, false, "ok", "pg2", 0, false},
	{"sync: switchover to an async replica", SYNC, SW, NULL, "pg3", false, false, "candidate_not_sync", "pg3", 0, false},
	{"sync: failover to it while the leader runs, forced", SYNC, FO, NULL, "pg3", true, false, "candidate_not_sync", "pg3", 0, false},
	{"sync: nofailover goes first", SYNC | PG3_NOFAILOVER, SW, NULL, "pg3", false, false, "candidate_nofailover", "pg3", 0, false},
	{"sync: not sync goes before the lag", SYNC, SW, NULL, "pg5", false, false, "candidate_not_sync", "pg5", 0, false},
	{"sync, no leader: failover to an async replica", SYNC | NO_LEADER, FO, NULL, "pg3", false, false, "candidate_not_sync_unforced", "pg3", 0, false},
	{"sync, no leader: ... forced", SYNC | NO_LEADER, FO, NULL, "pg3", true, false, "ok", "pg3", 0, true},
	{"sync, no leader: failover to the sync standby", SYNC | NO_LEADER, FO, NULL, "pg2", false, false, "ok", "pg2", 0, false},
	{"sync, no leader: forced to the sync standby is safe", SYNC | NO_LEADER, FO, NULL, "pg2", true, false, "ok", "pg2", 0, false},
	{"sync: switchover to the healthiest", SYNC, SW, NULL, NULL, false, false, "ok", "", 0, false},
	{"sync: the key names no standby", SYNC_EMPTY, SW, NULL, NULL, false, false, "no_sync_standby", "", 0, false},
	{"sync: the key names no standby, a candidate", SYNC_EMPTY, SW, NULL, "pg2", false, false, "candidate_not_sync", "pg2", 0, false},
	{"sync: the only sync standby lags", SYNC | PG2_LAGS, SW, NULL, NULL, false, false, "no_good_candidate", "", 0, false},
	{"async: one lagging replica of several", PG2_LAGS, SW, NULL, NULL, false, false, "ok", "", 0, false},

	/* no candidate */
	{"no member but the leader", ONLY_LEADER, SW, NULL, NULL, false, false, "only_leader", "", 0, false},
	{"only unfit replicas", NO_GOOD, SW, NULL, NULL, false, false, "no_good_candidate", "", 0, false},
	{"only unfit replicas, a scheduled request", NO_GOOD, SW, "pg1", NULL, false, true, "no_good_candidate", "", 0, false},
};

static void
test_table(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
	{
		const Case *t = &cases[i];
		PgHaOpRequest r = {t->action, t->leader, t->candidate, t->force, t->scheduled};
		PgHaOpVerdict v;
		bool		ok;

		build(c, t->flags);
		memset(&v, 0x7f, sizeof(v));	/* every field must be set */
		ok = pgha_rule_request(c, &r, &v);
		if (strcmp(pgha_rule_reason_name(v.reason), t->reason) != 0 ||
			strcmp(v.member, t->member) != 0 || v.lag != t->lag ||
			v.unsafe != t->unsafe || ok != (v.reason == PGHA_OP_OK))
			printf("case \"%s\": %s \"%s\" lag %lld unsafe %d, expected %s \"%s\" lag %lld unsafe %d\n",
				   t->what, pgha_rule_reason_name(v.reason), v.member,
				   (long long) v.lag, v.unsafe, t->reason, t->member,
				   (long long) t->lag, t->unsafe);
		CHECK_STR(pgha_rule_reason_name(v.reason), t->reason);
		CHECK_STR(v.member, t->member);
		CHECK(v.lag == t->lag);
		CHECK(v.unsafe == t->unsafe);
		CHECK(ok == (v.reason == PGHA_OP_OK));
	}
	free(c);
}

/* The pieces pg_ha_ctl uses alone: the leader before its prompts, each member's fitness. */
static void
test_pieces(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	PgHaOpRequest r = {SW, NULL, NULL, false, false};
	PgHaOpVerdict v;
	int64_t		lag;
	int64_t		pos;

	build(c, 0);
	CHECK(pgha_rule_leader(c, &r, &v) == PGHA_OP_OK);
	r.leader = "pg2";
	CHECK(pgha_rule_leader(c, &r, &v) == PGHA_OP_LEADER_MISMATCH);
	CHECK_STR(v.member, "pg2");
	r.leader = "pg1";
	CHECK(pgha_rule_leader(c, &r, &v) == PGHA_OP_OK);
	/* no candidate yet: the leader rules do not mind */
	r.action = FO;
	CHECK(pgha_rule_leader(c, &r, &v) == PGHA_OP_OK);

	CHECK(pgha_rule_member_fit(c, member(c, "pg2"), &lag) == PGHA_OP_OK && lag == 0);
	CHECK(pgha_rule_member_fit(c, member(c, "pg4"), &lag) == PGHA_OP_CANDIDATE_NOFAILOVER);
	CHECK(pgha_rule_member_fit(c, member(c, "pg5"), &lag) == PGHA_OP_CANDIDATE_LAGS && lag == 2 * MB);
	CHECK(pgha_rule_member_fit(c, member(c, "pg6"), &lag) == PGHA_OP_CANDIDATE_NO_POSITION);
	CHECK(pgha_rule_member_fit(c, member(c, "pg7"), &lag) == PGHA_OP_CANDIDATE_NOT_RUNNING);
	CHECK(pgha_rule_member_fit(c, member(c, "pg8"), &lag) == PGHA_OP_CANDIDATE_NOT_REPLICA);
	/* Patroni's "streaming" is no state of a record */
	strcpy(member(c, "pg2")->state, "streaming");
	CHECK(pgha_rule_member_fit(c, member(c, "pg2"), &lag) == PGHA_OP_CANDIDATE_NOT_RUNNING);

	/* the leader's position: its record, else the status key, else none */
	CHECK(pgha_rule_leader_position(c, &pos) && pos == LEADER_POS);
	build(c, OPTIME_ONLY);
	c->optime = 3 * MB;
	CHECK(pgha_rule_leader_position(c, &pos) && pos == 3 * MB);
	c->has_optime = false;
	CHECK(!pgha_rule_leader_position(c, &pos));
	/* ... and then no lag check, but a position is still needed */
	CHECK(pgha_rule_member_fit(c, member(c, "pg5"), &lag) == PGHA_OP_OK);
	CHECK(pgha_rule_member_fit(c, member(c, "pg6"), &lag) == PGHA_OP_CANDIDATE_NO_POSITION);
	/* a leader that released its key measures nothing */
	build(c, NO_LEADER);
	CHECK(!pgha_rule_leader_position(c, &pos));
	CHECK(pgha_rule_member_fit(c, member(c, "pg6"), &lag) == PGHA_OP_OK);

	/* nmembers is not trusted beyond the array */
	build(c, ONLY_LEADER);
	c->nmembers = PGHA_MAX_MEMBERS + 5;
	for (int i = 1; i < PGHA_MAX_MEMBERS; i++)
		strcpy(c->members[i].name, "pg1");
	r.action = SW;
	r.leader = NULL;
	CHECK(!pgha_rule_request(c, &r, &v) && v.reason == PGHA_OP_ONLY_LEADER);
	free(c);
}

static PgHaRestartRequest *
add_restart(PgHaCluster *c, const char *name, bool scheduled, uint64_t index)
{
	PgHaRestartRequest *r = &c->restarts[c->nrestarts++];

	memset(r, 0, sizeof(*r));
	strcpy(r->member, name);
	r->scheduled = scheduled;
	r->scheduled_ms = scheduled ? INT64_C(1800000000000) : 0;
	r->modify_index = index;
	return r;
}

/* A scheduled restart that has not started is the only one to flush. */
static void
test_scheduled_restart(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	PgHaRestartRequest *started;
	PgHaRestartRequest *bad;

	build(c, 0);
	CHECK(pgha_rule_scheduled_restart(c, "pg2") == NULL);
	add_restart(c, "pg3", true, 41);
	add_restart(c, "pg2", false, 42);	/* immediate */
	add_restart(c, "pg5", true, 43);
	started = add_restart(c, "pg4", true, 44);
	started->restarting = INT64_C(1800000000000);
	bad = add_restart(c, "pg6", true, 0);	/* no index to delete it by */
	CHECK(pgha_rule_scheduled_restart(c, "pg3") == &c->restarts[0]);
	CHECK(pgha_rule_scheduled_restart(c, "pg3")->modify_index == 41);
	CHECK(pgha_rule_scheduled_restart(c, "pg5") == &c->restarts[2]);
	CHECK(pgha_rule_scheduled_restart(c, "pg2") == NULL);
	CHECK(pgha_rule_scheduled_restart(c, "pg4") == NULL);
	CHECK(pgha_rule_scheduled_restart(c, bad->member) == NULL);
	CHECK(pgha_rule_scheduled_restart(c, "pg1") == NULL);
	CHECK(pgha_rule_scheduled_restart(c, "pg") == NULL);
	CHECK(pgha_rule_scheduled_restart(c, "pg33") == NULL);
	/* the count is not trusted beyond the array */
	c->nrestarts = PGHA_MAX_MEMBERS + 5;
	CHECK(pgha_rule_scheduled_restart(c, "pg5") == &c->restarts[2]);
	free(c);
}

/* Every reason has a name of its own. */
static void
test_names(void)
{
	for (int i = PGHA_OP_OK; i <= PGHA_OP_NO_GOOD_CANDIDATE; i++)
	{
		CHECK(strcmp(pgha_rule_reason_name((PgHaOpReason) i), "unknown") != 0);
		for (int j = PGHA_OP_OK; j < i; j++)
			CHECK(strcmp(pgha_rule_reason_name((PgHaOpReason) i),
						 pgha_rule_reason_name((PgHaOpReason) j)) != 0);
	}
}

int
main(void)
{
	test_table();
	test_pieces();
	test_names();
	test_scheduled_restart();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
