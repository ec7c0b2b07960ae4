/*-------------------------------------------------------------------------
 *
 * test_restart_order.c
 *	  Unit tests for src/common/restart_order.c: the order of a rolling
 *	  restart that hot standby allows, on clusters built by hand.
 *
 * A standalone program, no framework and no PostgreSQL.
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_restart_order.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "restart_order.h"
#include "unit_check.h"

/* a member with running hot standby values (in pgha_hs_param_names order) */
static void
hs_member(PgHaCluster *c, const char *name, const char *role,
		  long long conns, long long senders)
{
	PgHaMember *m = &c->members[c->nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->role, role);
	strcpy(m->state, "running");
	m->has_hs_values = true;
	m->hs_values[0] = conns;
	m->hs_values[1] = 8;
	m->hs_values[2] = senders;
	m->hs_values[3] = 0;
	m->hs_values[4] = 64;
}

static void
hs_cluster(PgHaCluster *c, const char *config)
{
	memset(c, 0, sizeof(*c));
	c->has_leader = true;
	strcpy(c->leader, "pg1");
	strcpy(c->leader_session, "11111111-2222-3333-4444-555555555555");
	c->config_valid = true;
	strcpy(c->config_json, config);
	hs_member(c, "pg1", "master", 100, 10);
	hs_member(c, "pg3", "replica", 100, 10);
	hs_member(c, "pg2", "replica", 100, 10);
}

static void
test_restart_order(void)
{
	static PgHaCluster c;
	char		order[PGHA_MAX_MEMBERS][PGHA_NAME_LEN];
	char		msg[512];
	char		hint[512];
	const char *all[] = {"pg1", "pg2", "pg3"};
	const char *leader[] = {"pg1"};
	const char *pg2[] = {"pg2"};

	/* nothing changes: replicas by name, then the leader */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\"}}}");
	CHECK(pgha_restart_order(&c, all, 3, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK_STR(order[0], "pg2");
	CHECK_STR(order[1], "pg3");
	CHECK_STR(order[2], "pg1");

	/* raising: replicas first; the leader alone is refused */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":{\"max_connections\":200}}}");
	CHECK(pgha_restart_order(&c, all, 3, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK_STR(order[0], "pg2");
	CHECK_STR(order[1], "pg3");
	CHECK_STR(order[2], "pg1");
	CHECK(!pgha_restart_order(&c, leader, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK(strstr(msg, "restarting leader \"pg1\" now would stop replica \"pg3\": the leader's max_connections would become 200, and \"pg3\" runs with 100") != NULL);
	CHECK(strstr(hint, "restart the replicas first (pg3, pg2), then the leader \"pg1\"") != NULL);
	CHECK(pgha_restart_order(&c, pg2, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	/* ... the leader is fine once both replicas run with the new value */
	c.members[1].hs_values[0] = 200;
	CHECK(!pgha_restart_order(&c, leader, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK(strstr(hint, "(pg2)") != NULL);
	c.members[2].hs_values[0] = 300;
	CHECK(pgha_restart_order(&c, leader, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK_STR(order[0], "pg1");

	/* lowering: the leader first; a replica alone is refused */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":{\"max_wal_senders\":\"5\"}}}");
	CHECK(pgha_restart_order(&c, all, 3, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK_STR(order[0], "pg1");
	CHECK_STR(order[1], "pg2");
	CHECK_STR(order[2], "pg3");
	CHECK(!pgha_restart_order(&c, pg2, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK_STR(msg, "restarting replica \"pg2\" now would stop it: its max_wal_senders would become 5, below the 10 that leader \"pg1\" runs with");
	CHECK(strstr(hint, "restart the leader \"pg1\" first, then the replicas") != NULL);
	CHECK(pgha_restart_order(&c, leader, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	/* once the leader runs with 5, the replicas may follow */
	c.members[0].hs_values[2] = 5;
	CHECK(pgha_restart_order(&c, pg2, 1, order, msg, sizeof(msg), hint, sizeof(hint)));

	/* raising one and lowering another: no order works */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":{\"max_connections\":200,\"max_wal_senders\":5}}}");
	CHECK(!pgha_restart_order(&c, all, 3, order, msg, sizeof(msg), hint, sizeof(hint)));
	CHECK(strstr(msg, "no order of these restarts is safe") != NULL);
	CHECK(strstr(hint, "two steps") != NULL);

	/* a member without published values is not judged */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":{\"max_connections\":200}}}");
	c.members[1].has_hs_values = false;
	c.members[2].has_hs_values = false;
	CHECK(pgha_restart_order(&c, leader, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	/* no leader: nothing to judge against */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":{\"max_connections\":50}}}");
	c.leader_session[0] = '\0';
	CHECK(pgha_restart_order(&c, pg2, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
	/* unknown member, duplicates */
	hs_cluster(&c, "{}");
	{
		const char *bad[] = {"pg9"};
		const char *dup[] = {"pg1", "pg1", "pg2"};

		CHECK(!pgha_restart_order(&c, bad, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
		CHECK_STR(msg, "cluster has no member \"pg9\"");
		CHECK(pgha_restart_order(&c, dup, 3, order, msg, sizeof(msg), hint, sizeof(hint)));
		CHECK_STR(order[0], "pg2");
		CHECK_STR(order[1], "pg1");
	}
	/* a config that is not usable sets nothing */
	hs_cluster(&c, "{\"postgresql\":{\"parameters\":[1]}}");
	CHECK(pgha_restart_order(&c, leader, 1, order, msg, sizeof(msg), hint, sizeof(hint)));
}

int
main(void)
{
	test_restart_order();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
