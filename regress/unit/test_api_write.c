/*-------------------------------------------------------------------------
 *
 * test_api_write.c
 *	  Unit tests of the REST API's write requests: their bodies and checks
 *	  (src/backend/api/api_write.c), the outcome of a waiting switchover,
 *	  failover or restart (outcome.h) with its texts, and the merge patch
 *	  of PATCH /config (src/common/config_patch.c).
 *
 * A standalone program, no framework and no PostgreSQL: three-node
 * clusters as read from Consul, and the bodies Patroni's clients send.
 * Output: one line per failed check (file:line), then "N passed, M
 * failed"; the exit status is 1 when any check failed.
 *
 * regress/unit/test_api_write.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_route.h"
#include "cluster.h"
#include "config_key.h"
#include "unit_check.h"

/* ----- a cluster of three nodes, as read from Consul */

static void
wadd_member(PgHaCluster *c, const char *name, const char *role,
		   const char *state, int64_t xlog)
{
	PgHaMember *m = &c->members[c->nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->role, role);
	strcpy(m->state, state);
	m->has_xlog = true;
	m->xlog_location = xlog;
}

static void
three_nodes(PgHaCluster *c)
{
	memset(c, 0, sizeof(*c));
	c->has_leader = true;
	strcpy(c->leader, "pg1");
	strcpy(c->leader_session, "11111111-2222-3333-4444-555555555555");
	c->max_lag_on_failover = 1048576;
	wadd_member(c, "pg1", "primary", "running", 5000000);
	wadd_member(c, "pg2", "replica", "running", 5000000);
	wadd_member(c, "pg3", "replica", "running", 5000000);
}

#define WNOW_MS INT64_C(1764000000000)	/* 2025-11-24T16:00:00Z */

static int
failover(const PgHaCluster *c, const char *body, bool switchover,
		 PgHaApiFailover *f, char *msg)
{
	int			st = pgha_api_parse_failover(body, strlen(body), f, msg, 256);

	if (st != 0)
		return st;
	return pgha_api_check_failover(c, f, switchover, WNOW_MS, msg, 256);
}

static void
test_write_failover(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	PgHaApiFailover f;
	char		msg[256];

	three_nodes(c);
	/* bodies */
	CHECK_INT(pgha_api_parse_failover("", 0, &f, msg, sizeof(msg)), 400);
	CHECK_INT(failover(c, "{}", true, &f, msg), 400);
	CHECK_INT(failover(c, "[1]", true, &f, msg), 400);
	CHECK_INT(failover(c, "{\"leader\": 1}", true, &f, msg), 400);
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"leader\": \"pg1\"}", true, &f, msg), 400);
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"", true, &f, msg), 400);
	CHECK_INT(failover(c, "{\"leader\": \"a\\u0000b\"}", true, &f, msg), 400);
	{
		char		big[200];

		snprintf(big, sizeof(big), "{\"candidate\": \"%070d\"}", 0);
		CHECK_INT(failover(c, big, false, &f, msg), 400);
	}
	/* Patroni's order and texts */
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\"}", true, &f, msg), 400);
	CHECK_STR(msg, "Switchover could be performed only from a specific leader");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"}", false, &f, msg), 400);
	CHECK_STR(msg, "Failover could be performed only to a specific candidate");
	CHECK_INT(failover(c, "{\"leader\": \"pg2\", \"candidate\": \"pg3\"}", true, &f, msg), 412);
	CHECK_STR(msg, "leader name does not match");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg9\"}", true, &f, msg), 412);
	CHECK_STR(msg, "candidate does not exists");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg1\"}", true, &f, msg), 412);
	CHECK_STR(msg, "candidate \"pg1\" is already the leader");
	/* patronictl sends nulls */
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\", \"scheduled_at\": null}", true, &f, msg), 0);
	CHECK_STR(f.candidate, "pg2");
	CHECK_STR(f.scheduled_iso, "");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": null}", true, &f, msg), 0);
	CHECK_INT(failover(c, "{\"member\": \"pg3\"}", false, &f, msg), 0);
	CHECK_STR(f.candidate, "pg3");
	/* schedules */
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"scheduled_at\": \"2030-01-01T10:00:00+02:00\"}", true, &f, msg), 0);
	CHECK_STR(f.scheduled_iso, "2030-01-01T08:00:00+00:00");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"scheduled_at\": \"2030-01-01T10:00:00\"}", true, &f, msg), 400);
	CHECK_STR(msg, "Timezone information is mandatory for the scheduled switchover");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"scheduled_at\": \"2020-01-01T10:00:00Z\"}", true, &f, msg), 422);
	CHECK_STR(msg, "Cannot schedule switchover in the past");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"scheduled_at\": \"tomorrow\"}", true, &f, msg), 422);
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\", \"scheduled_at\": \"2030-01-01T10:00:00Z\"}", false, &f, msg), 400);
	CHECK_STR(msg, "Scheduled failover is possible only from a specific leader");
	/* paused */
	c->paused = true;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"}", true, &f, msg), 400);
	CHECK_STR(msg, "Switchover is possible only to a specific candidate in a paused state");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\", \"scheduled_at\": \"2030-01-01T10:00:00Z\"}", true, &f, msg), 400);
	CHECK_STR(msg, "Can't schedule switchover in the paused state");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 0);
	/* paused and a time in the past: the pause is said first, as Patroni */
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\", \"scheduled_at\": \"2020-01-01T10:00:00Z\"}", true, &f, msg), 400);
	CHECK_STR(msg, "Can't schedule switchover in the paused state");
	c->paused = false;
	/* pg_ha's own checks */
	c->has_failover = true;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 412);
	CHECK_STR(msg, "a switchover or failover is already pending");
	c->has_failover = false;
	strcpy(c->members[1].state, "stopped");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 412);
	strcpy(c->members[1].state, "running");
	c->members[1].nofailover = true;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 412);
	c->members[2].nofailover = true;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"}", true, &f, msg), 412);
	CHECK_STR(msg, "switchover is not possible: no good candidates have been found");
	c->members[1].nofailover = c->members[2].nofailover = false;
	c->members[1].xlog_location = 0;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 412);
	CHECK_STR(msg, "candidate \"pg2\" lags 5000000 bytes behind the leader (maximum_lag_on_failover is 1048576)");
	/* the running leader waits for a lagging candidate: a failover too */
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\"}", false, &f, msg), 412);
	c->members[1].has_xlog = false;
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\"}", false, &f, msg), 412);
	CHECK_STR(msg, "candidate \"pg2\" has not published its WAL position");
	/* without a leader the candidate takes over as it is */
	c->has_leader = false;
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\"}", false, &f, msg), 0);
	c->members[1].has_xlog = true;
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\"}", false, &f, msg), 0);
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 412);
	CHECK_STR(msg, "leader name does not match");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", false, &f, msg), 412);
	CHECK_STR(msg, "leader name does not match");
	CHECK_INT(failover(c, "{\"candidate\": \"pg1\"}", false, &f, msg), 412);
	CHECK_STR(msg, "candidate \"pg1\" is not a running replica");
	c->nmembers = 1;
	c->has_leader = true;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"}", true, &f, msg), 412);
	CHECK_STR(msg, "switchover is not possible: cluster does not have members except leader");
	free(c);
}

/* Patroni's poll_failover_result: the outcome and its answer */
static void
test_failover_outcome(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	char		text[256];

	three_nodes(c);
	c->has_failover = true;
	strcpy(c->failover_leader, "pg1");
	strcpy(c->failover_member, "pg2");

	/* the old leader still holds the key, the request stands */
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_PENDING);
	CHECK_INT(pgha_failover_outcome(c, "pg1", NULL), PGHA_OUTCOME_PENDING);
	/* the key released for the candidate (no session) is nobody's yet */
	c->leader_session[0] = '\0';
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_PENDING);
	c->has_leader = false;
	c->leader[0] = '\0';
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_PENDING);

	/* the candidate takes the key: done, before it removes the request */
	c->has_leader = true;
	strcpy(c->leader, "pg2");
	strcpy(c->leader_session, "22222222-2222-3333-4444-555555555555");
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_DONE);
	c->has_failover = false;
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_DONE);
	/* without a candidate any other member will do; "" is none */
	CHECK_INT(pgha_failover_outcome(c, "pg1", NULL), PGHA_OUTCOME_DONE);
	CHECK_INT(pgha_failover_outcome(c, "pg1", ""), PGHA_OUTCOME_DONE);
	/* another member than the one asked for */
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg3"), PGHA_OUTCOME_OTHER);
	/* without a leader before, whoever holds the key now is new */
	CHECK_INT(pgha_failover_outcome(c, NULL, "pg2"), PGHA_OUTCOME_DONE);
	CHECK_INT(pgha_failover_outcome(c, "", "pg3"), PGHA_OUTCOME_OTHER);

	/* the request gone while the old leader keeps the key: failed */
	strcpy(c->leader, "pg1");
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_FAILED);
	CHECK_INT(pgha_failover_outcome(c, "pg1", NULL), PGHA_OUTCOME_FAILED);
	/* ... or while nobody holds it (flushed during the handover) */
	c->has_leader = false;
	CHECK_INT(pgha_failover_outcome(c, "pg1", "pg2"), PGHA_OUTCOME_FAILED);
	CHECK_INT(pgha_failover_outcome(c, NULL, "pg2"), PGHA_OUTCOME_FAILED);

	/* Patroni's texts and status codes */
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_DONE, true, "pg2", "pg2", text, sizeof(text)), 200);
	CHECK_STR(text, "Successfully switched over to \"pg2\"");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_DONE, false, "pg3", NULL, text, sizeof(text)), 200);
	CHECK_STR(text, "Successfully failed over to \"pg3\"");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_OTHER, true, "pg3", "pg2", text, sizeof(text)), 200);
	CHECK_STR(text, "Switched over to \"pg3\" instead of \"pg2\"");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_OTHER, false, "pg3", "pg2", text, sizeof(text)), 200);
	CHECK_STR(text, "Failed over to \"pg3\" instead of \"pg2\"");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_FAILED, true, "", "pg2", text, sizeof(text)), 503);
	CHECK_STR(text, "Switchover failed");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_FAILED, false, "", "pg2", text, sizeof(text)), 503);
	CHECK_STR(text, "Failover failed");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_UNKNOWN, true, "", NULL, text, sizeof(text)), 503);
	CHECK_STR(text, "Switchover status unknown");
	CHECK_INT(pgha_failover_outcome_text(PGHA_OUTCOME_PENDING, false, "", NULL, text, sizeof(text)), 503);
	CHECK_STR(text, "Failover status unknown");

	/* Patroni's bound: twice max(10 s, loop_wait) */
	CHECK_INT(pgha_failover_wait_ms(1000), 20000);
	CHECK_INT(pgha_failover_wait_ms(10000), 20000);
	CHECK_INT(pgha_failover_wait_ms(30000), 60000);
	free(c);
}

static void
test_write_restart(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	PgHaApiRestart r;
	char		msg[256];
	char		buf[256];

	three_nodes(c);
	CHECK_INT(pgha_api_parse_restart(NULL, 0, &r, msg, sizeof(msg)), 0);
	CHECK(!r.pending_only);
	CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 0);
	CHECK_STR(buf, "{\"pending_only\":false}");
	CHECK_INT(pgha_api_parse_restart("{}", 2, &r, msg, sizeof(msg)), 0);
	CHECK_INT(pgha_api_parse_restart("[]", 2, &r, msg, sizeof(msg)), 400);
	CHECK_INT(pgha_api_parse_restart("{\"x\": 1}", 8, &r, msg, sizeof(msg)), 400);
	CHECK_STR(msg, "Unknown filter for the scheduled restart: x");
	CHECK_INT(pgha_api_parse_restart("{\"role\": \"replica\"}", 18, &r, msg, sizeof(msg)), 400);
	CHECK_INT(pgha_api_parse_restart("{\"restart_pending\": 1}", 22, &r, msg, sizeof(msg)), 400);
	CHECK_INT(pgha_api_parse_restart("{\"restart_pending\": true}", 25, &r, msg, sizeof(msg)), 0);
	CHECK(r.pending_only);
	CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 503);
	CHECK_STR(msg, "restart conditions are not satisfied");
	c->members[1].pending_restart = true;
	CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 0);
	CHECK_STR(buf, "{\"pending_only\":true}");
	CHECK_INT(pgha_api_check_restart(c, "pg9", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 503);
	{
		const char *b = "{\"schedule\": \"2030-01-01T10:00:00.5Z\"}";

		CHECK_INT(pgha_api_parse_restart(b, strlen(b), &r, msg, sizeof(msg)), 0);
		CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 0);
		CHECK_STR(buf, "{\"pending_only\":false,\"scheduled_at\":\"2030-01-01T10:00:00.500000+00:00\"}");
		c->paused = true;
		CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 400);
		c->paused = false;
		b = "{\"schedule\": \"2000-01-01T10:00:00Z\"}";
		CHECK_INT(pgha_api_parse_restart(b, strlen(b), &r, msg, sizeof(msg)), 0);
		CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 422);
	}
	CHECK_INT(pgha_api_parse_restart("{}", 2, &r, msg, sizeof(msg)), 0);
	c->nrestarts = 1;
	strcpy(c->restarts[0].member, "pg2");
	CHECK_INT(pgha_api_check_restart(c, "pg2", &r, WNOW_MS, buf, sizeof(buf), msg, sizeof(msg)), 409);
	free(c);
}

/*
 * POST /restart answered with its outcome (issue 13): the rule on the
 * cluster as read from Consul, Patroni's texts, and the bound of the wait.
 */
static void
test_restart_outcome(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	const int64_t old_start = INT64_C(1764000000123);
	char		text[512];

	three_nodes(c);
	c->members[1].start_ms = old_start;

	/* the request there: written, waiting for its order, or restarting */
	c->nrestarts = 1;
	strcpy(c->restarts[0].member, "pg2");
	CHECK_INT(pgha_restart_outcome(c, "pg2", old_start), PGHA_OUTCOME_PENDING);
	c->restarts[0].restarting = old_start;
	CHECK_INT(pgha_restart_outcome(c, "pg2", old_start), PGHA_OUTCOME_PENDING);
	/* another member's request is not this one */
	CHECK_INT(pgha_restart_outcome(c, "pg3", 0), PGHA_OUTCOME_DONE);

	/* gone while the record is the old server's: not restarted */
	c->nrestarts = 0;
	CHECK_INT(pgha_restart_outcome(c, "pg2", old_start), PGHA_OUTCOME_FAILED);
	/* gone, the new server's record: done; still starting: pending */
	c->members[1].start_ms = old_start + 2500;
	CHECK_INT(pgha_restart_outcome(c, "pg2", old_start), PGHA_OUTCOME_DONE);
	strcpy(c->members[1].state, "starting");
	CHECK_INT(pgha_restart_outcome(c, "pg2", old_start), PGHA_OUTCOME_PENDING);
	strcpy(c->members[1].state, "running");
	/* a record without a start time, or no start known: the key decides */
	c->members[1].start_ms = 0;
	CHECK_INT(pgha_restart_outcome(c, "pg2", old_start), PGHA_OUTCOME_DONE);
	c->members[1].start_ms = old_start;
	CHECK_INT(pgha_restart_outcome(c, "pg2", 0), PGHA_OUTCOME_DONE);
	/* no record (its session lapsed, not back yet): pending */
	CHECK_INT(pgha_restart_outcome(c, "pg9", old_start), PGHA_OUTCOME_PENDING);
	/* counts beyond the arrays are not trusted */
	c->nrestarts = 1000;
	c->nmembers = 1000;
	(void) pgha_restart_outcome(c, "pg9", old_start);
	c->nrestarts = 0;
	c->nmembers = 3;

	/* Patroni's texts and status codes, with pg_ha's reason */
	CHECK_INT(pgha_restart_outcome_text(PGHA_OUTCOME_DONE, "pg2", 200, text, sizeof(text)), 200);
	CHECK_STR(text, "restarted successfully");
	CHECK_INT(pgha_restart_outcome_text(PGHA_OUTCOME_FAILED, "pg2", 200, text, sizeof(text)), 503);
	CHECK_STR(text, "restart failed: the server of member \"pg2\" was not restarted; see its server log");
	CHECK_INT(pgha_restart_outcome_text(PGHA_OUTCOME_UNKNOWN, "pg2", 200, text, sizeof(text)), 503);
	CHECK_STR(text, "restart status unknown: member \"pg2\" was not back from its restart within 200 s; the request stays in Consul and may still be carried out");
	CHECK_INT(pgha_restart_outcome_text(PGHA_OUTCOME_PENDING, "pg2", 200, text, sizeof(text)), 503);

	/* past the worker's own give-up (180 s), so a failure is answered as one */
	CHECK_INT(pgha_restart_wait_ms(1000), 200000);
	CHECK_INT(pgha_restart_wait_ms(30000), 240000);
	CHECK(pgha_restart_wait_ms(1000) > PGHA_RESTART_GIVE_UP_MS);
	free(c);
}

/*
 * DELETE /restart and /switchover (Patroni's do_DELETE_restart and
 * do_DELETE_switchover).
 */
static void
test_delete_scheduled(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	uint64_t	index;
	char		msg[256];

	three_nodes(c);
	CHECK_INT(pgha_api_check_delete_restart(c, "pg2", &index, msg, sizeof(msg)), 404);
	CHECK_STR(msg, "no restarts are scheduled");
	c->nrestarts = 2;
	strcpy(c->restarts[0].member, "pg3");
	c->restarts[0].scheduled = true;
	c->restarts[0].modify_index = 41;
	strcpy(c->restarts[1].member, "pg2");
	c->restarts[1].modify_index = 42;
	/* immediate: not Patroni's future restart */
	CHECK_INT(pgha_api_check_delete_restart(c, "pg2", &index, msg, sizeof(msg)), 404);
	c->restarts[1].scheduled = true;
	c->restarts[1].scheduled_ms = WNOW_MS + 3600000;
	CHECK_INT(pgha_api_check_delete_restart(c, "pg2", &index, msg, sizeof(msg)), 0);
	CHECK_INT(index, 42);
	CHECK_INT(pgha_api_check_delete_restart(c, "pg3", &index, msg, sizeof(msg)), 0);
	CHECK_INT(index, 41);
	CHECK_INT(pgha_api_check_delete_restart(c, "pg1", &index, msg, sizeof(msg)), 404);
	/* started: too late */
	c->restarts[1].restarting = WNOW_MS;
	CHECK_INT(pgha_api_check_delete_restart(c, "pg2", &index, msg, sizeof(msg)), 404);
	CHECK_INT(index, 0);

	CHECK_INT(pgha_api_check_delete_switchover(c, &index, msg, sizeof(msg)), 404);
	CHECK_STR(msg, "no switchover is scheduled");
	c->has_failover = true;
	c->failover_modify_index = 77;
	strcpy(c->failover_leader, "pg1");
	CHECK_INT(pgha_api_check_delete_switchover(c, &index, msg, sizeof(msg)), 404);
	c->failover_scheduled = true;
	CHECK_INT(pgha_api_check_delete_switchover(c, &index, msg, sizeof(msg)), 0);
	CHECK_INT(index, 77);
	free(c);
}

/* POST /reinitialize: Patroni's parse_bool() of force, its two refusals */
static void
test_write_reinitialize(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	const PgHaMember *leader;
	char		msg[256];
	bool		force = true;
	static const struct
	{
		const char *body;
		int			status;
		bool		force;
	}			bodies[] = {
		{"", 0, false},
		{"{}", 0, false},
		{"{\"force\": true}", 0, true},
		{"{\"force\": false}", 0, false},
		{"{\"force\": null}", 0, false},
		{"{\"force\": 1}", 0, true},
		{"{\"force\": 2}", 0, false},
		{"{\"force\": 1.0}", 0, false},
		{"{\"force\": \"Yes\"}", 0, true},
		{"{\"force\": \"ON\"}", 0, true},
		{"{\"force\": \"1\"}", 0, true},
		{"{\"force\": \"off\"}", 0, false},
		{"{\"force\": \"truex\"}", 0, false},
		/* jansson refuses a NUL in a string (Python reads it: false) */
		{"{\"force\": \"tr\\u0000ue\"}", 400, false},
		{"{\"force\": [true]}", 0, false},
		{"{\"other\": 1}", 0, false},
		{"[]", 400, false},
		{"true", 400, false},
		{"{\"force\": true", 400, false},
		{"{\"force\": true, \"force\": false}", 400, false},
	};

	CHECK_INT(pgha_api_parse_reinitialize(NULL, 0, &force, msg, sizeof(msg)), 0);
	CHECK(!force);
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
	{
		force = !bodies[i].force;
		CHECK_INT(pgha_api_parse_reinitialize(bodies[i].body, strlen(bodies[i].body),
											  &force, msg, sizeof(msg)), bodies[i].status);
		if (bodies[i].status == 0 && force != bodies[i].force)
			printf("force of %s: %d\n", bodies[i].body, force);
		CHECK(bodies[i].status != 0 || force == bodies[i].force);
	}

	three_nodes(c);
	strcpy(c->members[0].conn_url, "postgres://127.0.0.1:5441/postgres");
	CHECK_INT(pgha_api_check_reinitialize(c, "pg2", &leader, msg, sizeof(msg)), 0);
	CHECK(leader == &c->members[0]);
	CHECK_INT(pgha_api_check_reinitialize(c, "pg1", &leader, msg, sizeof(msg)), 503);
	CHECK_STR(msg, "I am the leader, can not reinitialize");
	CHECK(leader == NULL);
	/* a key no session holds is no leader */
	c->leader_session[0] = '\0';
	CHECK_INT(pgha_api_check_reinitialize(c, "pg2", &leader, msg, sizeof(msg)), 503);
	CHECK_STR(msg, "Cluster has no leader, can not reinitialize");
	c->has_leader = false;
	CHECK_INT(pgha_api_check_reinitialize(c, "pg2", &leader, msg, sizeof(msg)), 503);
	CHECK_STR(msg, "Cluster has no leader, can not reinitialize");
	/* a leader without a record: nowhere to clone from */
	three_nodes(c);
	strcpy(c->leader, "pg9");
	CHECK_INT(pgha_api_check_reinitialize(c, "pg2", &leader, msg, sizeof(msg)), 503);
	CHECK_STR(msg, "Leader \"pg9\" has no member record to clone from, can not reinitialize");
	CHECK(leader == NULL);
	free(c);
}

static int
patch(const char *config, const char *p, char **out, bool *changed,
	  PgHaParam *params, int *n, char *msg)
{
	return pgha_api_patch_config(config, p, strlen(p), out, changed, params,
								 8, n, msg, 256);
}

static void
test_write_config(void)
{
	PgHaParam	params[8];
	int			n;
	bool		changed;
	char	   *out;
	char		msg[256];
	const char *cfg = "{\"ttl\":30,\"postgresql\":{\"parameters\":{\"work_mem\":\"4MB\",\"max_connections\":100}}}";

	CHECK_INT(patch(cfg, "{\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\",\"max_connections\":null,\"jit\":false,\"random_page_cost\":1.5,\"x.y\":3}}}",
					&out, &changed, params, &n, msg), 0);
	CHECK(changed);
	CHECK_STR(out, "{\"ttl\":30,\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\",\"jit\":false,\"random_page_cost\":1.5,\"x.y\":3}}}");
	free(out);
	CHECK_INT(n, 4);
	CHECK_STR(params[0].name, "work_mem");
	CHECK_STR(params[0].value, "8MB");
	CHECK_STR(params[1].value, "off");
	CHECK_STR(params[2].value, "1.5");
	CHECK_STR(params[3].value, "3");
	/* no change */
	CHECK_INT(patch(cfg, "{\"ttl\":30,\"nothing\":null}", &out, &changed, params, &n, msg), 0);
	CHECK(!changed);
	free(out);
	/* pause, as patronictl pause sends it; a whole subtree removed */
	CHECK_INT(patch(cfg, "{\"pause\":true,\"postgresql\":null}", &out, &changed, params, &n, msg), 0);
	CHECK_STR(out, "{\"ttl\":30,\"pause\":true}");
	free(out);
	/* no key yet */
	CHECK_INT(patch(NULL, "{\"ttl\":20}", &out, &changed, params, &n, msg), 0);
	CHECK_STR(out, "{\"ttl\":20}");
	free(out);
	/* synchronous mode switches: what the nodes can read */
	CHECK_INT(patch(cfg, "{\"synchronous_mode\":true,\"synchronous_mode_strict\":\"off\",\"synchronous_node_count\":2}",
					&out, &changed, params, &n, msg), 0);
	free(out);
	CHECK_INT(patch(cfg, "{\"synchronous_mode\":null}", &out, &changed, params, &n, msg), 0);
	free(out);
	CHECK_INT(patch(cfg, "{\"synchronous_mode\":\"maybe\"}", &out, &changed, params, &n, msg), 400);
	CHECK_STR(msg, "synchronous_mode must be a boolean (on or off)");
	CHECK_INT(patch(cfg, "{\"synchronous_mode_strict\":1}", &out, &changed, params, &n, msg), 400);
	CHECK_INT(patch(cfg, "{\"synchronous_node_count\":0}", &out, &changed, params, &n, msg), 400);
	CHECK_STR(msg, "synchronous_node_count must be an integer from 1 to 8");
	CHECK_INT(patch(cfg, "{\"synchronous_node_count\":\"2\"}", &out, &changed, params, &n, msg), 400);
	CHECK_INT(patch(cfg, "{\"synchronous_node_count\":true}", &out, &changed, params, &n, msg), 400);
	/* bad patches */
	CHECK_INT(patch(cfg, "{}", &out, &changed, params, &n, msg), 400);
	CHECK_INT(patch(cfg, "nope", &out, &changed, params, &n, msg), 400);
	CHECK_INT(patch(cfg, "{\"postgresql\":1}", &out, &changed, params, &n, msg), 400);
	CHECK_INT(patch(cfg, "{\"postgresql\":{\"parameters\":[]}}", &out, &changed, params, &n, msg), 400);
	CHECK_INT(patch(cfg, "{\"postgresql\":{\"parameters\":{\"a\":{}}}}", &out, &changed, params, &n, msg), 400);
	CHECK(out == NULL);
	CHECK_INT(patch("[1]", "{\"ttl\":1}", &out, &changed, params, &n, msg), 500);
	CHECK_INT(patch(cfg, "{\"postgresql\":{\"parameters\":{\"a\":1,\"b\":1,\"c\":1,\"d\":1,\"e\":1,\"f\":1,\"g\":1,\"h\":1,\"i\":1}}}",
					&out, &changed, params, &n, msg), 400);
	/* names ignore case (the fuzzer found two spellings, two values) */
	CHECK_INT(patch(cfg, "{\"postgresql\":{\"parameters\":{\"work_mem\":\"1MB\",\"WORK_MEM\":\"2MB\"}}}",
					&out, &changed, params, &n, msg), 400);
	CHECK(strstr(msg, "names are case-insensitive") != NULL);
	CHECK_INT(patch("{\"postgresql\":{\"parameters\":{\"max_connections\":50,\"jit\":\"off\"}}}",
					"{\"postgresql\":{\"parameters\":{\"MAX_Connections\":100}}}",
					&out, &changed, params, &n, msg), 0);
	CHECK(out != NULL && strstr(out, "\"max_connections\"") == NULL &&
		  strstr(out, "\"MAX_Connections\":100") != NULL && strstr(out, "\"jit\"") != NULL);
	free(out);
}

/* switchover and failover requests in synchronous mode */
static void
test_sync_mode_requests(void)
{
	PgHaCluster *c = malloc(sizeof(PgHaCluster));
	PgHaApiFailover f;
	char		msg[256];

	three_nodes(c);
	c->sync_mode = true;
	c->sync_key_exists = c->has_sync = true;
	strcpy(c->sync_leader, "pg1");
	c->nsync = 1;
	strcpy(c->sync_standby[0], "pg2");
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg3\"}", true, &f, msg), 412);
	CHECK_STR(msg, "candidate name does not match with sync_standby");
	CHECK_INT(failover(c, "{\"candidate\": \"pg3\"}", false, &f, msg), 412);
	CHECK_INT(failover(c, "{\"leader\": \"pg1\", \"candidate\": \"pg2\"}", true, &f, msg), 0);
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"}", true, &f, msg), 0);
	c->nsync = 0;
	CHECK_INT(failover(c, "{\"leader\": \"pg1\"}", true, &f, msg), 412);
	CHECK_STR(msg, "switchover is not possible: synchronous mode is on and there is no synchronous standby");
	/*
	 * No leader: pg3 may lack acknowledged commits.  As pg_ha_failover()
	 * and pg_ha_ctl failover, only with force (pg_ha's field; Patroni's
	 * REST API has no check, patronictl 4 asks the operator first).
	 */
	c->has_leader = false;
	c->leader_session[0] = '\0';
	c->nsync = 1;
	CHECK_INT(failover(c, "{\"candidate\": \"pg3\"}", false, &f, msg), 412);
	CHECK_STR(msg, "candidate name does not match with sync_standby");
	CHECK_INT(failover(c, "{\"candidate\": \"pg3\", \"force\": true}", false, &f, msg), 0);
	CHECK(f.force && f.unsafe);
	CHECK_INT(failover(c, "{\"candidate\": \"pg3\", \"force\": \"Yes\"}", false, &f, msg), 0);
	CHECK_INT(failover(c, "{\"candidate\": \"pg3\", \"force\": false}", false, &f, msg), 412);
	CHECK_INT(failover(c, "{\"candidate\": \"pg3\", \"force\": 2}", false, &f, msg), 412);
	CHECK_INT(failover(c, "{\"candidate\": \"pg2\"}", false, &f, msg), 0);
	CHECK(!f.force && !f.unsafe);

	free(c);
}

int
main(void)
{
	test_write_failover();
	test_failover_outcome();
	test_write_restart();
	test_restart_outcome();
	test_delete_scheduled();
	test_write_reinitialize();
	test_write_config();
	test_sync_mode_requests();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
