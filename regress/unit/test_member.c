/*-------------------------------------------------------------------------
 *
 * test_member.c
 *	  Unit tests for src/common/member.c and names.c: a member record's
 *	  tags, hot standby values and restart fields both ways, pg_ha.tags,
 *	  and the names that go into keys.
 *
 * A standalone program, no framework and no PostgreSQL, like
 * test_cluster.c (which reads Patroni's own records through listings):
 * every input is passed with its exact length, so that it runs under
 * valgrind and sanitizers too.
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_member.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "member.h"
#include "names.h"
#include "unit_check.h"

/* string literal with its length, NUL bytes included */
#define LIT(s) (s), (sizeof(s) - 1)

static void
test_valid_name(void)
{
	char		name[80];

	CHECK(pgha_valid_name("pg1"));
	CHECK(pgha_valid_name("a"));
	CHECK(pgha_valid_name("otus"));
	CHECK(pgha_valid_name("service"));
	CHECK(pgha_valid_name("Node-1_b.example.com"));
	CHECK(pgha_valid_name("..."));
	CHECK(pgha_valid_name(".hidden"));
	CHECK(pgha_valid_name("-"));

	CHECK(!pgha_valid_name(NULL));
	CHECK(!pgha_valid_name(""));
	CHECK(!pgha_valid_name("."));
	CHECK(!pgha_valid_name(".."));
	CHECK(!pgha_valid_name("a/b"));
	CHECK(!pgha_valid_name("/"));
	CHECK(!pgha_valid_name("pg 1"));
	CHECK(!pgha_valid_name("pg1\n"));
	CHECK(!pgha_valid_name("pg\"1"));
	CHECK(!pgha_valid_name("pg%2F1"));
	CHECK(!pgha_valid_name("pg?1"));
	CHECK(!pgha_valid_name("r\xc3\xa9plica"));

	memset(name, 'x', sizeof(name));
	name[PGHA_NAME_LEN - 1] = '\0';
	CHECK(pgha_valid_name(name));
	name[PGHA_NAME_LEN - 1] = 'x';
	name[PGHA_NAME_LEN] = '\0';
	CHECK(!pgha_valid_name(name));
	name[sizeof(name) - 1] = '\0';
	CHECK(!pgha_valid_name(name));
}

static void
test_member_hs_values(void)
{
	PgHaMember	m;
	char		err[PGHA_ERR_LEN];
	char		json[1024];

	memset(&m, 0, sizeof(m));
	CHECK(pgha_parse_member(LIT("{\"state\":\"running\",\"hot_standby_parameters\":{\"max_connections\":100,\"max_worker_processes\":8,\"max_wal_senders\":10,\"max_prepared_transactions\":0,\"max_locks_per_transaction\":64}}"),
							&m, err, sizeof(err)));
	CHECK(m.has_hs_values);
	CHECK(m.hs_values[0] == 100 && m.hs_values[2] == 10 && m.hs_values[4] == 64);
	CHECK(pgha_member_to_json(&m, json, sizeof(json)) > 0);
	CHECK(strstr(json, "\"hot_standby_parameters\":{\"max_connections\":100,\"max_worker_processes\":8,\"max_wal_senders\":10,\"max_prepared_transactions\":0,\"max_locks_per_transaction\":64}") != NULL);
	/* partial: not judged */
	CHECK(pgha_parse_member(LIT("{\"hot_standby_parameters\":{\"max_connections\":100}}"),
							&m, err, sizeof(err)));
	CHECK(!m.has_hs_values);
	CHECK(!pgha_parse_member(LIT("{\"hot_standby_parameters\":[]}"), &m, err, sizeof(err)));
	CHECK_STR(err, "hot_standby_parameters is not a JSON object");
	CHECK(!pgha_parse_member(LIT("{\"hot_standby_parameters\":{\"max_connections\":\"100\"}}"), &m, err, sizeof(err)));
	CHECK_STR(err, "hot_standby_parameters.max_connections is not an integer");
	CHECK(!pgha_parse_member(LIT("{\"hot_standby_parameters\":{\"max_connections\":-1}}"), &m, err, sizeof(err)));
	/* without them, nothing is written */
	memset(&m, 0, sizeof(m));
	CHECK(pgha_member_to_json(&m, json, sizeof(json)) > 0);
	CHECK(strstr(json, "hot_standby") == NULL);
}


/*
 * Tags (issue 13): Patroni's nofailover, failover_priority (3.2),
 * clonefrom, noloadbalance and nosync read as Patroni reads them, every
 * other tag kept for the listings, and pg_ha.tags checked.
 */
static void
test_tags(void)
{
	PgHaMember	m;
	PgHaMember	back;
	char		err[PGHA_ERR_LEN];
	char		buf[2048];
	char		canon[PGHA_TAGS_LEN];
	char		big[2048];
	int			n;

	/* the built-in tags as Patroni writes them, and two of the user's */
	memset(&m, 0, sizeof(m));
	CHECK(pgha_parse_member(LIT("{\"state\":\"running\",\"role\":\"replica\","
								"\"tags\":{\"dc\":\"eu-1\",\"nosync\":true,\"noloadbalance\":true,"
								"\"clonefrom\":true,\"failover_priority\":3,\"rack\":7}}"),
							&m, err, sizeof(err)));
	CHECK(m.nosync && m.noloadbalance && m.clonefrom && !m.nofailover);
	CHECK(m.has_failover_priority && m.failover_priority == 3);
	CHECK(pgha_member_failover_priority(&m) == 3);
	CHECK_STR(m.tags_json, "{\"dc\":\"eu-1\",\"rack\":7}");
	CHECK(pgha_member_tags_json(&m, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "{\"failover_priority\":3,\"clonefrom\":true,\"noloadbalance\":true,"
			  "\"nosync\":true,\"dc\":\"eu-1\",\"rack\":7}");
	/* written back as read, and read back the same */
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_STR(buf, "{\"conn_url\":\"\",\"api_url\":\"\",\"state\":\"running\",\"role\":\"replica\","
			  "\"version\":\"\",\"tags\":{\"failover_priority\":3,\"clonefrom\":true,"
			  "\"noloadbalance\":true,\"nosync\":true,\"dc\":\"eu-1\",\"rack\":7}}");
	memset(&back, 0, sizeof(back));
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(back.nosync && back.noloadbalance && back.clonefrom && !back.nofailover &&
		  back.has_failover_priority && back.failover_priority == 3);
	CHECK_STR(back.tags_json, m.tags_json);

	/* Patroni reads these three as Python truth: "yes", 1, [1] are set */
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"nosync\":\"yes\",\"noloadbalance\":1,\"clonefrom\":[1]}}"),
							&m, err, sizeof(err)));
	CHECK(m.nosync && m.noloadbalance && m.clonefrom);
	CHECK(m.tags_json[0] == '\0');	/* nothing else */
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"nosync\":\"\",\"noloadbalance\":0,\"clonefrom\":null}}"),
							&m, err, sizeof(err)));
	CHECK(!m.nosync && !m.noloadbalance && !m.clonefrom);
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"nosync\":false,\"noloadbalance\":0.0,\"clonefrom\":{}}}"),
							&m, err, sizeof(err)));
	CHECK(!m.nosync && !m.noloadbalance && !m.clonefrom);
	/* false ones are not written (Patroni leaves them out too) */
	CHECK(pgha_member_tags_json(&m, buf, sizeof(buf)) == 2);
	CHECK_STR(buf, "{}");
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "tags") == NULL);

	/* failover_priority as Patroni's parse_int() reads it; else 1 */
#define PRIORITY(json, has, value) \
	do { \
		CHECK(pgha_parse_member(LIT("{\"tags\":{\"failover_priority\":" json "}}"), \
								&m, err, sizeof(err))); \
		CHECK(m.has_failover_priority == (has)); \
		CHECK(pgha_member_failover_priority(&m) == (value)); \
	} while (0)
	PRIORITY("2", true, 2);
	PRIORITY("\"5\"", true, 5);
	PRIORITY("\" 0x10 \"", true, 16);
	PRIORITY("\"010\"", true, 8);
	PRIORITY("\"-3\"", true, 0);	/* nofailover: priority 0 */
	PRIORITY("2.5", true, 2);		/* half to even, as Python */
	PRIORITY("3.5", true, 4);
	PRIORITY("\"1e1\"", true, 10);
	PRIORITY("99999999999", true, INT32_MAX);
	PRIORITY("\"99999999999999999999999\"", true, INT32_MAX);
	PRIORITY("\"two\"", false, 1);
	PRIORITY("\"\"", false, 1);
	PRIORITY("\"09\"", false, 1);
	PRIORITY("\"inf\"", false, 1);
	PRIORITY("\"nan\"", false, 1);
	PRIORITY("\"0x1p3\"", false, 1);
	PRIORITY("true", false, 1);
	PRIORITY("null", false, 1);
	PRIORITY("[2]", false, 1);
#undef PRIORITY

	/*
	 * Patroni 3.2: without a nofailover tag, a priority of 0 or less means
	 * nofailover; an explicit nofailover wins over the priority both ways.
	 */
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"failover_priority\":0}}"), &m, err, sizeof(err)));
	CHECK(m.nofailover && pgha_member_failover_priority(&m) == 0);
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "\"tags\":{\"nofailover\":true,\"failover_priority\":0}") != NULL);
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"nofailover\":false,\"failover_priority\":0}}"),
							&m, err, sizeof(err)));
	CHECK(!m.nofailover && pgha_member_failover_priority(&m) == 0);
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "\"tags\":{\"nofailover\":false,\"failover_priority\":0}") != NULL);
	memset(&back, 0, sizeof(back));
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(!back.nofailover && back.has_failover_priority && back.failover_priority == 0);
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"nofailover\":true,\"failover_priority\":9}}"),
							&m, err, sizeof(err)));
	CHECK(m.nofailover && pgha_member_failover_priority(&m) == 0);
	/* nofailover itself must still be a boolean: the record is refused */
	CHECK(!pgha_parse_member(LIT("{\"tags\":{\"nofailover\":\"false\",\"failover_priority\":3}}"),
							 &m, err, sizeof(err)));
	CHECK_STR(err, "tags.nofailover is not a boolean");

	/* other tags of any kind are kept, in order; too many are dropped */
	CHECK(pgha_parse_member(LIT("{\"tags\":{\"replicatefrom\":\"pg2\",\"x\":null,\"l\":[1,{\"a\":2}],\"r\":1.5}}"),
							&m, err, sizeof(err)));
	CHECK_STR(m.tags_json, "{\"replicatefrom\":\"pg2\",\"x\":null,\"l\":[1,{\"a\":2}],\"r\":1.5}");
	n = snprintf(big, sizeof(big), "{\"tags\":{\"nosync\":true,\"long\":\"%0600d\"}}", 7);
	CHECK(pgha_parse_member(big, (size_t) n, &m, err, sizeof(err)));
	CHECK(m.nosync && m.tags_json[0] == '\0');
	n = snprintf(big, sizeof(big), "{\"tags\":{\"long\":\"%0500d\"}}", 7);	/* 511 bytes */
	CHECK(pgha_parse_member(big, (size_t) n, &m, err, sizeof(err)));
	CHECK(strlen(m.tags_json) == PGHA_TAGS_LEN - 1);
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK_STR(back.tags_json, m.tags_json);

	/* a hand-filled tags_json that is not an object is never written */
	memset(&m, 0, sizeof(m));
	strcpy(m.tags_json, "[1]");
	CHECK(pgha_member_to_json(&m, buf, sizeof(buf)) == -1);
	CHECK(pgha_member_tags_json(&m, buf, sizeof(buf)) == -1);
	strcpy(m.tags_json, "{\"nosync\":true,\"a\":1}");	/* the fields say */
	CHECK(pgha_member_tags_json(&m, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, "{\"a\":1}");
	memset(m.tags_json, 'x', sizeof(m.tags_json));	/* unterminated */
	CHECK(pgha_member_tags_json(&m, buf, sizeof(buf)) == -1);
	CHECK(pgha_member_tags_json(NULL, buf, sizeof(buf)) == -1);
	CHECK(pgha_member_failover_priority(NULL) == 0);
	memset(&m, 0, sizeof(m));
	CHECK(pgha_member_failover_priority(&m) == 1);
	CHECK(pgha_member_tags_json(&m, buf, 2) == -1);

	/* a stopped member's record keeps its tags */
	CHECK(pgha_parse_member(LIT("{\"state\":\"running\",\"role\":\"replica\","
								"\"tags\":{\"clonefrom\":true,\"failover_priority\":2,\"dc\":\"eu-1\"}}"),
							&m, err, sizeof(err)));
	n = pgha_stopped_member_json(&m, 1795627282394, buf, sizeof(buf));
	CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK_STR(back.state, "stopped");
	CHECK(back.clonefrom && back.failover_priority == 2 && !back.nosync);
	CHECK_STR(back.tags_json, "{\"dc\":\"eu-1\"}");

	/* pg_ha.tags */
	CHECK(pgha_is_builtin_tag("nosync") && pgha_is_builtin_tag("failover_priority") &&
		  !pgha_is_builtin_tag("dc") && !pgha_is_builtin_tag(NULL));
	CHECK(pgha_parse_user_tags("", canon, sizeof(canon), err, sizeof(err)) && canon[0] == '\0');
	CHECK(pgha_parse_user_tags(" \n", canon, sizeof(canon), err, sizeof(err)) && canon[0] == '\0');
	CHECK(pgha_parse_user_tags(NULL, canon, sizeof(canon), err, sizeof(err)) && canon[0] == '\0');
	CHECK(pgha_parse_user_tags("{}", canon, sizeof(canon), err, sizeof(err)) && canon[0] == '\0');
	CHECK(pgha_parse_user_tags("{ \"dc\" : \"eu-1\", \"rack\": 3, \"ssd\": true, \"w\": 0.5 }",
							   canon, sizeof(canon), err, sizeof(err)));
	CHECK_STR(canon, "{\"dc\":\"eu-1\",\"rack\":3,\"ssd\":true,\"w\":0.5}");
#define TAGS_REJECT(text, msg) \
	do { \
		strcpy(canon, "junk"); \
		CHECK(!pgha_parse_user_tags((text), canon, sizeof(canon), err, sizeof(err))); \
		CHECK(canon[0] == '\0'); \
		if (msg) CHECK_STR(err, (const char *) (msg)); \
	} while (0)
	TAGS_REJECT("dc=eu-1", NULL);
	CHECK(strncmp(err, "pg_ha.tags is not valid JSON: ", 30) == 0);
	TAGS_REJECT("{\"dc\": \"eu-1\"", NULL);
	TAGS_REJECT("{\"a\": 1} {}", NULL);
	TAGS_REJECT("{\"a\": 1, \"a\": 2}", NULL);
	TAGS_REJECT("[\"dc\"]", "pg_ha.tags must be a JSON object, as in {\"dc\": \"eu-1\", \"rack\": 3}");
	TAGS_REJECT("\"dc\"", NULL);
	TAGS_REJECT("{\"dc\": null}", "tag \"dc\" must be a string, a number or a boolean");
	TAGS_REJECT("{\"dc\": [1]}", "tag \"dc\" must be a string, a number or a boolean");
	TAGS_REJECT("{\"dc\": {\"a\": 1}}", "tag \"dc\" must be a string, a number or a boolean");
	TAGS_REJECT("{\"nosync\": true}", "tag \"nosync\" has a setting of its own: use pg_ha.nosync instead");
	TAGS_REJECT("{\"failover_priority\": 2}", "tag \"failover_priority\" has a setting of its own: use pg_ha.failover_priority instead");
	TAGS_REJECT("{\"replicatefrom\": \"pg1\"}", "tag \"replicatefrom\" is not supported: pg_ha replicas stream from the leader");
	TAGS_REJECT("{\"d c\": 1}", "tag name \"d c\" is not valid: letters, digits, \"_\", \".\" and \"-\", at most 63 of them");
	TAGS_REJECT("{\"\": 1}", NULL);
	TAGS_REJECT("{\"a\\\"b\": 1}", NULL);
	CHECK(strstr(err, "a?b") != NULL);	/* quoted safely */
	TAGS_REJECT("{\"dc\": \"a\\u0000b\"}", NULL);
	n = snprintf(big, sizeof(big), "{\"long\": \"%0510d\"}", 7);
	TAGS_REJECT(big, "pg_ha.tags is too long: at most 511 bytes of JSON in compact form");
	n = snprintf(big, sizeof(big), "{\"long\": \"%0500d\"}", 7);
	CHECK(pgha_parse_user_tags(big, canon, sizeof(canon), err, sizeof(err)));
	CHECK(strlen(canon) == 511);
	CHECK(!pgha_parse_user_tags("{}", NULL, 0, err, sizeof(err)));
#undef TAGS_REJECT
}


/*
 * pg_ha's postmaster_start_time and Patroni's scheduled_restart in a member
 * record (issue 13): read, written back the same, bad ones left out and
 * the record kept, a record without them read as before.
 */
static void
test_member_restart_fields(void)
{
	PgHaMember	m;
	PgHaMember	back;
	char		err[PGHA_ERR_LEN];
	char		buf[2048];
	int			n;
	static const char patroni_scheduled[] =
	"{\"conn_url\":\"postgres://127.0.0.1:15432/postgres\",\"api_url\":\"http://127.0.0.1:18009/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\","
	"\"scheduled_restart\":{\"schedule\":\"2030-01-01T10:00:00+00:00\",\"restart_pending\":true,\"postgres_version\":\"16.0\",\"postmaster_start_time\":\"2026-11-25 17:19:28.197861+00:00\"}}";

	/* Patroni's record: its schedule and filter read, its other fields ignored */
	memset(&m, 0, sizeof(m));
	CHECK(pgha_parse_member(LIT(patroni_scheduled), &m, err, sizeof(err)));
	CHECK(m.has_scheduled_restart && m.scheduled_restart_pending);
	CHECK(m.scheduled_restart_ms == INT64_C(1893492000000));
	CHECK(m.start_ms == 0);

	/* an old record: none of them */
	memset(&m, 0, sizeof(m));
	CHECK(pgha_parse_member(LIT("{\"state\":\"running\",\"role\":\"replica\"}"), &m, err, sizeof(err)));
	CHECK(!m.has_scheduled_restart && m.start_ms == 0);
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "scheduled_restart") == NULL &&
		  strstr(buf, "postmaster_start_time") == NULL);

	/* pg_ha's own record, written and read back */
	m.start_ms = INT64_C(1795627168197);
	m.has_scheduled_restart = true;
	m.scheduled_restart_ms = INT64_C(1893492000000);
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK_STR(buf, "{\"conn_url\":\"\",\"api_url\":\"\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"\","
			  "\"scheduled_restart\":{\"schedule\":\"2030-01-01T10:00:00.000+00:00\",\"postmaster_start_time\":\"2026-11-25T17:19:28.197+00:00\"},"
			  "\"postmaster_start_time\":\"2026-11-25T17:19:28.197+00:00\"}");
	memset(&back, 0, sizeof(back));
	CHECK(n > 0 && pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(back.start_ms == m.start_ms && back.has_scheduled_restart &&
		  back.scheduled_restart_ms == m.scheduled_restart_ms &&
		  !back.scheduled_restart_pending);
	m.scheduled_restart_pending = true;
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "\"restart_pending\":true") != NULL);
	memset(&back, 0, sizeof(back));
	CHECK(n > 0 && pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(back.scheduled_restart_pending);

	/* bad ones: left out, the record kept */
	memset(&m, 0, sizeof(m));
	CHECK(pgha_parse_member(LIT("{\"state\":\"running\",\"postmaster_start_time\":12,\"scheduled_restart\":\"soon\"}"),
							&m, err, sizeof(err)));
	CHECK(m.start_ms == 0 && !m.has_scheduled_restart);
	CHECK(pgha_parse_member(LIT("{\"state\":\"running\",\"postmaster_start_time\":\"yesterday\",\"scheduled_restart\":{\"schedule\":3,\"restart_pending\":true}}"),
							&m, err, sizeof(err)));
	CHECK(m.start_ms == 0 && !m.has_scheduled_restart && !m.scheduled_restart_pending);
	CHECK(pgha_parse_member(LIT("{\"scheduled_restart\":{\"schedule\":\"2030-01-01T10:00:00\"}}"),
							&m, err, sizeof(err)));
	CHECK(!m.has_scheduled_restart);	/* a time without zone is ambiguous */
	CHECK(pgha_parse_member(LIT("{\"scheduled_restart\":{}}"), &m, err, sizeof(err)));
	CHECK(!m.has_scheduled_restart);

	/* the stopped record carries neither: no server runs */
	m.start_ms = INT64_C(1795627168197);
	m.has_scheduled_restart = true;
	m.scheduled_restart_ms = INT64_C(1893492000000);
	strcpy(m.name, "pg2");
	n = pgha_stopped_member_json(&m, INT64_C(1795627282394), buf, sizeof(buf));
	CHECK(n > 0 && strstr(buf, "scheduled_restart") == NULL &&
		  strstr(buf, "postmaster_start_time") == NULL);
}

int
main(void)
{
	test_tags();
	test_valid_name();
	test_member_hs_values();
	test_member_restart_fields();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
