/*
 * Unit tests of the HA worker's restart decision
 * (src/backend/worker/restart_decide.c): what a round does with this
 * node's restart/<member> request, branch by branch, with plain values in
 * and one action out.
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "restart_decide.h"
#include "unit_check.h"

#define STARTED		INT64_C(1764100000000)	/* this server's start, epoch ms */
#define NOW			INT64_C(500000)		/* monotonic */
#define WALL		INT64_C(1764100600000)

static PgHaCluster c;
static HaRestartInput in;
static HaRestartDecision d;

/* hot standby values, in pgha_hs_param_names order */
static const int64_t hs_base[PGHA_HS_NPARAMS] = {100, 8, 10, 0, 64};

/* a running member with hot standby values, started at STARTED */
static void
add_member(const char *name, const char *role)
{
	PgHaMember *m = &c.members[c.nmembers++];

	memset(m, 0, sizeof(*m));
	snprintf(m->name, sizeof(m->name), "%s", name);
	snprintf(m->role, sizeof(m->role), "%s", role);
	snprintf(m->state, sizeof(m->state), "running");
	m->has_hs_values = true;
	memcpy(m->hs_values, hs_base, sizeof(hs_base));
	m->start_ms = STARTED;
}

/* pg1 leads pg2 and pg3, all at 100 connections; we are pg2, a standby */
static void
setup(const char *config)
{
	memset(&c, 0, sizeof(c));
	c.has_leader = true;
	strcpy(c.leader, "pg1");
	strcpy(c.leader_session, "11111111-2222-3333-4444-555555555555");
	c.config_valid = true;
	strcpy(c.config_json, config);
	add_member("pg1", "master");
	add_member("pg2", "replica");
	add_member("pg3", "replica");

	memset(&in, 0, sizeof(in));
	in.self = "pg2";
	in.now_ms = NOW;
	in.wall_ms = WALL;
	in.server_start_ms = STARTED;
	in.in_recovery = true;
}

static PgHaRestartRequest *
request(const char *member)
{
	PgHaRestartRequest *r = &c.restarts[c.nrestarts++];

	memset(r, 0, sizeof(*r));
	strcpy(r->member, member);
	r->modify_index = 40 + c.nrestarts;
	return r;
}

static void
decide(const HaPhaseState *phase)
{
	ha_restart_decide(&in, &c, phase, &d);
}

static void
decide_idle(void)
{
	HaPhaseState s = ha_phase_initial();

	decide(&s);
}

/* the control file read when asked: the primary's values */
static void
read_control_file(long long conns, bool valid)
{
	in.primary_hs_read = true;
	in.primary_hs_valid = valid;
	memcpy(in.primary_hs, hs_base, sizeof(hs_base));
	in.primary_hs[0] = conns;
}

static void
test_no_request(void)
{
	setup("{}");
	decide_idle();
	CHECK(d.action == HA_RESTART_NONE && !d.give_up && d.request == NULL);
	/* another member's request is not ours */
	request("pg3");
	decide_idle();
	CHECK(d.action == HA_RESTART_NONE && d.request == NULL);
}

static void
test_start(void)
{
	PgHaRestartRequest *r;

	/* any order: no check, no control file */
	setup("{}");
	r = request("pg2");
	r->any_order = true;
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.request == r && !d.order_ok);

	/* the order checked on a standby: asks for the control file first */
	r->any_order = false;
	decide_idle();
	CHECK(d.action == HA_RESTART_READ_CONTROL_FILE);
	read_control_file(100, true);
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.order_ok && d.request == r);

	/* a primary, or a record without values: no control file */
	setup("{}");
	request("pg2");
	in.in_recovery = false;
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.order_ok);
	setup("{}");
	request("pg2");
	c.members[1].has_hs_values = false;
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.order_ok);
}

static void
test_order(void)
{
	PgHaRestartRequest *r;

	/* the member before it still restarts, or is not running */
	setup("{}");
	r = request("pg2");
	strcpy(r->wait_for, "pg3");
	request("pg3");
	decide_idle();
	CHECK(d.action == HA_RESTART_WAIT && !d.order_ok);
	CHECK_STR(d.why, "member \"pg3\" restarts first");
	CHECK_STR(d.hint, "");
	c.nrestarts = 1;
	strcpy(c.members[2].state, "stopped");
	decide_idle();
	CHECK(d.action == HA_RESTART_WAIT);
	CHECK_STR(d.why, "member \"pg3\" restarts first");
	/* ... back and done: this one's turn */
	strcpy(c.members[2].state, "running");
	read_control_file(100, true);
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.order_ok);
	/* a member gone for good holds nobody back */
	strcpy(r->wait_for, "pg9");
	decide_idle();
	CHECK(d.action == HA_RESTART_START);

	/* the cluster's order: lowering, a replica waits for the leader */
	setup("{\"postgresql\":{\"parameters\":{\"max_connections\":50}}}");
	request("pg2");
	decide_idle();
	CHECK(d.action == HA_RESTART_WAIT);
	CHECK(strstr(d.why, "restarting replica \"pg2\" now would stop it") != NULL);
	CHECK(strstr(d.hint, "restart the leader \"pg1\" first") != NULL);

	/* the leader restarted with 50; this standby has not replayed it yet */
	c.members[0].hs_values[0] = 50;
	decide_idle();
	CHECK(d.action == HA_RESTART_READ_CONTROL_FILE);
	read_control_file(100, true);
	decide_idle();
	CHECK(d.action == HA_RESTART_WAIT && !d.order_ok);
	CHECK_STR(d.why, "its max_connections would become 50, below the 100 of the primary it has replayed so far");
	CHECK_STR(d.hint, "The leader restarts with the lower value first; this node follows once it has replayed that.");
	/* a control file with a bad CRC is not judged by */
	read_control_file(100, false);
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.order_ok);
	/* replayed */
	read_control_file(50, true);
	decide_idle();
	CHECK(d.action == HA_RESTART_START && d.order_ok);
}

static void
test_scheduled_and_pending(void)
{
	PgHaRestartRequest *r;

	setup("{}");
	r = request("pg2");
	r->any_order = true;
	r->scheduled = true;
	r->scheduled_ms = WALL + 1;
	decide_idle();
	CHECK(d.action == HA_RESTART_NONE && d.request == r);
	r->scheduled_ms = WALL;
	decide_idle();
	CHECK(d.action == HA_RESTART_START);

	/* pending only: removed when nothing is pending */
	r->pending_only = true;
	decide_idle();
	CHECK(d.action == HA_RESTART_REMOVE_NOT_PENDING);
	in.pending_restart = true;
	decide_idle();
	CHECK(d.action == HA_RESTART_START);
	/* the schedule comes first */
	in.pending_restart = false;
	r->scheduled_ms = WALL + 1;
	decide_idle();
	CHECK(d.action == HA_RESTART_NONE);
}

static void
test_restarting(void)
{
	PgHaRestartRequest *r;

	/* started by this very server: the restart did not happen */
	setup("{}");
	r = request("pg2");
	r->restarting = STARTED;
	decide_idle();
	CHECK(d.action == HA_RESTART_REMOVE_MISSED && d.request == r);

	/* started by an older server: done once Consul has our record */
	r->restarting = STARTED - 60000;
	c.members[1].start_ms = STARTED - 60000;
	decide_idle();
	CHECK(d.action == HA_RESTART_NONE);
	c.members[1].start_ms = STARTED;
	decide_idle();
	CHECK(d.action == HA_RESTART_REMOVE_DONE);
	/* no record at all: done too */
	c.members[1] = c.members[2];
	c.nmembers = 2;
	decide_idle();
	CHECK(d.action == HA_RESTART_REMOVE_DONE);
}

/* the phase: a restart or a demotion on its way, a restart given up */
static void
test_phase(void)
{
	HaPhaseState s = ha_phase_initial();
	PgHaRestartRequest *r;

	setup("{}");
	r = request("pg2");
	r->any_order = true;

	s = ha_phase_next(s, HA_EV_RESTART_STARTED, NOW - 1000);
	decide(&s);
	CHECK(d.action == HA_RESTART_NONE && !d.give_up);
	s.restart_since_ms = NOW - PGHA_RESTART_GIVE_UP_MS;
	decide(&s);
	CHECK(d.action == HA_RESTART_NONE && !d.give_up);
	/* long past: given up, and the request looked at again at once */
	s.restart_since_ms = NOW - PGHA_RESTART_GIVE_UP_MS - 1;
	decide(&s);
	CHECK(d.give_up && d.action == HA_RESTART_START);
	/* the decision changes no phase: the worker applies the give-up */
	CHECK(ha_phase_restarting(&s));

	/* a demotion: nothing, never given up */
	s = ha_phase_next(s, HA_EV_DEMOTION_STARTED, 0);
	decide(&s);
	CHECK(d.action == HA_RESTART_NONE && !d.give_up);
	s = ha_phase_next(ha_phase_initial(), HA_EV_DEMOTION_STARTED, 0);
	decide(&s);
	CHECK(d.action == HA_RESTART_NONE && !d.give_up);

	/* the other phases do not hold a restart back */
	s = ha_phase_next(ha_phase_initial(), HA_EV_PROMOTE_ASKED, 0);
	decide(&s);
	CHECK(d.action == HA_RESTART_START);
	s = ha_phase_next(ha_phase_initial(), HA_EV_WAL_REPAIR_STARTED, 0);
	decide(&s);
	CHECK(d.action == HA_RESTART_START);
}

int
main(void)
{
	test_no_request();
	test_start();
	test_order();
	test_scheduled_and_pending();
	test_restarting();
	test_phase();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
