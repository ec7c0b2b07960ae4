/*-------------------------------------------------------------------------
 *
 * test_api_route.c
 *	  Unit tests of the REST API's answers to read requests, through its
 *	  router (src/backend/api/api_route.c): the status codes of the health
 *	  checks (api_health.c), the JSON documents (api_body.c), /metrics
 *	  (api_metrics.c), and the values a snapshot is filled with
 *	  (api_snapshot.c).
 *
 * A standalone program, no framework and no PostgreSQL: it builds node
 * snapshots like the leader and the replica of the patroni-wire-formats
 * reference, checks every endpoint's status code against Patroni 3.0.2's
 * (as HAProxy sees them), the JSON documents field by field and in
 * Patroni's key order, the Prometheus text line by line, and then throws
 * malformed and random requests and snapshots at the router: every answer
 * must be a well-formed response (a known status, JSON that parses, no
 * body on HEAD and OPTIONS) and nothing may crash.  It is meant to run
 * under valgrind and sanitizers too.  The requests' parsing is tested in
 * test_api_request.c, the write requests in test_api_write.c.
 *
 * Build and run:
 *	  make regress/unit/test_api_route && regress/unit/test_api_route
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_api_route.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_route.h"
#include "cluster.h"
#include "metrics_text.h"
#include "unit_check.h"

/* ----- snapshots like the reference's nodes (Patroni 3.0.2, scope otus) */

#define NOW_MS		INT64_C(1795627180000)

static void
base_snapshot(PgHaApiSnapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->pg_running = true;
	strcpy(s->postmaster_start_time, "2026-11-25 17:19:32.229033+00:00");
	s->postmaster_start_ms = INT64_C(1795627172229);
	s->server_version = 150002;
	strcpy(s->sysid, "7712159771297452225");
	strcpy(s->scope, "otus");
	strcpy(s->name, "pg1");
	strcpy(s->version, "0.1.0");
	s->now_ms = NOW_MS;
	s->dcs_last_seen = NOW_MS / 1000 - 1;
	s->last_round_ms = NOW_MS - 1000;
	s->ttl_ms = 30000;
	s->loop_wait_ms = 10000;
	s->timeline = 1;

	s->cluster_valid = true;
	s->cluster.has_initialize = true;
	strcpy(s->cluster.initialize, "7712159771297452225");
	s->cluster.has_leader = true;
	strcpy(s->cluster.leader, "pg1");
	s->cluster.has_optime = true;
	s->cluster.optime = 71673368;
}

static void
add_member(PgHaCluster *c, const char *name, const char *conn_url,
		   const char *api_url, const char *state, const char *role,
		   bool has_xlog, int64_t xlog, uint32_t timeline)
{
	PgHaMember *m = &c->members[c->nmembers++];

	memset(m, 0, sizeof(*m));
	strcpy(m->name, name);
	strcpy(m->conn_url, conn_url);
	strcpy(m->api_url, api_url);
	strcpy(m->state, state);
	strcpy(m->role, role);
	strcpy(m->version, "3.0.2");
	m->has_xlog = has_xlog;
	m->xlog_location = xlog;
	m->timeline = timeline;
}

static void
leader_snapshot(PgHaApiSnapshot *s)
{
	PgHaApiReplication *r;

	base_snapshot(s);
	s->role = PGHA_API_ROLE_LEADER;
	s->location = 71673368;
	s->lease_remaining_ms = 12345;
	r = &s->replication[s->nreplication++];
	r->has_usename = true;
	strcpy(r->usename, "replicator");
	strcpy(r->application_name, "pg3");
	r->has_client_addr = true;
	strcpy(r->client_addr, "127.0.0.1");
	strcpy(r->state, "streaming");
	strcpy(r->sync_state, "async");
	r = &s->replication[s->nreplication++];
	r->has_usename = true;
	strcpy(r->usename, "replicator");
	strcpy(r->application_name, "pg2");
	r->has_client_addr = true;
	strcpy(r->client_addr, "127.0.0.1");
	strcpy(r->state, "streaming");
	strcpy(r->sync_state, "async");

	/* deliberately out of order: /cluster sorts by name */
	add_member(&s->cluster, "pg3", "postgres://127.0.0.1:15433/postgres",
			   "http://127.0.0.1:18010/patroni", "running", "replica",
			   true, 71673368, 1);
	add_member(&s->cluster, "pg1", "postgres://127.0.0.1:15431/postgres",
			   "http://127.0.0.1:18008/patroni", "running", "master",
			   true, 71673368, 1);
	add_member(&s->cluster, "pg2", "postgres://127.0.0.1:15432/postgres",
			   "http://127.0.0.1:18009/patroni", "running", "replica",
			   true, 71673368, 1);
}

static void
replica_snapshot(PgHaApiSnapshot *s)
{
	base_snapshot(s);
	strcpy(s->name, "pg2");
	strcpy(s->postmaster_start_time, "2026-11-25 17:19:28.197861+00:00");
	s->role = PGHA_API_ROLE_REPLICA;
	s->in_recovery = true;
	s->received_location = 71673368;
	s->replayed_location = 71673368;
	s->has_replayed_timestamp = true;
	strcpy(s->replayed_timestamp, "2026-11-25 17:19:03.325150+00:00");
	s->replayed_timestamp_ms = INT64_C(1795627143325);
	s->streaming = true;
	s->has_lag = true;
	s->lag_bytes = 0;
}

/* ----- helpers */

static int
status_of(const char *method, const char *uri, const PgHaApiSnapshot *s)
{
	PgHaApiResponse r;
	int			status;

	pgha_api_handle(method, uri, s, &r);
	status = r.status;
	pgha_api_response_free(&r);
	return status;
}

#define GET(uri, s) status_of("GET", (uri), (s))

/* GET uri and parse the JSON body; NULL (and a failed check) otherwise. */
static json_t *
get_json_at(const char *uri, const PgHaApiSnapshot *s, int want_status,
			int line)
{
	PgHaApiResponse r;
	json_t	   *j = NULL;
	json_error_t err;

	pgha_api_handle("GET", uri, s, &r);
	check_at(r.status == want_status, "status of GET", __FILE__, line);
	if (r.status != want_status)
		printf("    GET %s: status %d, expected %d\n", uri, r.status, want_status);
	check_at(r.body != NULL && r.content_type != NULL &&
			 strcmp(r.content_type, "application/json") == 0,
			 "JSON body with its content type", __FILE__, line);
	if (r.body != NULL)
	{
		j = json_loadb(r.body, r.body_len, 0, &err);
		check_at(j != NULL, "body parses as JSON", __FILE__, line);
	}
	pgha_api_response_free(&r);
	return j;
}

#define GET_JSON(uri, s, status) get_json_at((uri), (s), (status), __LINE__)

/* GET uri and return the body as a NUL-terminated copy (free it). */
static char *
get_body(const char *method, const char *uri, const PgHaApiSnapshot *s,
		 PgHaApiResponse *out)
{
	char	   *copy = NULL;

	pgha_api_handle(method, uri, s, out);
	if (out->body != NULL)
	{
		copy = malloc(out->body_len + 1);
		memcpy(copy, out->body, out->body_len);
		copy[out->body_len] = '\0';
	}
	return copy;
}

static const char *
jstr(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static long long
jint(const json_t *o, const char *key)
{
	json_t	   *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long) json_integer_value(v) : -999999;
}

/* Are the keys of the JSON object text in this order (by first match)? */
static bool
keys_in_order(const char *text, const char *const *keys, int nkeys)
{
	const char *pos = text;

	for (int i = 0; i < nkeys; i++)
	{
		char		quoted[64];
		const char *p;

		snprintf(quoted, sizeof(quoted), "\"%s\":", keys[i]);
		p = strstr(pos, quoted);
		if (p == NULL)
		{
			printf("    key \"%s\" missing or out of order\n", keys[i]);
			return false;
		}
		pos = p + strlen(quoted);
	}
	return true;
}

/* ----- tests */

static void
test_replica_lag(void)
{
	int64_t		lag = -1;

	CHECK(!pgha_api_replica_lag(false, 0, 0, 100, &lag));
	CHECK(!pgha_api_replica_lag(true, 0, 0, 100, &lag));
	CHECK(lag == -1);
	CHECK(pgha_api_replica_lag(true, 1000, 0, 400, &lag) && lag == 600);
	CHECK(pgha_api_replica_lag(false, 999999, 1000, 400, &lag) && lag == 600);
	/* the newer of optime and the walsender's end of WAL */
	CHECK(pgha_api_replica_lag(true, 1000, 1500, 400, &lag) && lag == 1100);
	CHECK(pgha_api_replica_lag(true, 1500, 1000, 400, &lag) && lag == 1100);
	/* a replica ahead of a stale optime is not behind */
	CHECK(pgha_api_replica_lag(true, 1000, 0, 5000, &lag) && lag == 0);
	CHECK(pgha_api_replica_lag(true, 1000, 0, -5, &lag) && lag == 1000);
}

static void
test_format_time(void)
{
	char		buf[PGHA_API_TIME_LEN];
	char		small[20];

	CHECK(pgha_api_format_time(0, buf, sizeof(buf)));
	CHECK_STR(buf, "1970-01-01 00:00:00+00:00");
	CHECK(pgha_api_format_time(INT64_C(1795627172229033), buf, sizeof(buf)));
	CHECK_STR(buf, "2026-11-25 17:19:32.229033+00:00");
	CHECK(pgha_api_format_time(INT64_C(1795627143325150), buf, sizeof(buf)));
	CHECK_STR(buf, "2026-11-25 17:19:03.325150+00:00");
	/* Python's str(datetime) drops a zero fraction */
	CHECK(pgha_api_format_time(INT64_C(1795627143000000), buf, sizeof(buf)));
	CHECK_STR(buf, "2026-11-25 17:19:03+00:00");
	CHECK(pgha_api_format_time(-1, buf, sizeof(buf)));
	CHECK_STR(buf, "1969-12-31 23:59:59.999999+00:00");
	CHECK(pgha_api_format_time(INT64_C(951782400000000), buf, sizeof(buf)));
	CHECK_STR(buf, "2000-02-29 00:00:00+00:00");
	CHECK(pgha_api_format_time(INT64_C(253402300799999999), buf, sizeof(buf)));
	CHECK_STR(buf, "9999-12-31 23:59:59.999999+00:00");
	CHECK(!pgha_api_format_time(INT64_C(253402300800000000), buf, sizeof(buf)));
	CHECK(!pgha_api_format_time(INT64_MAX, buf, sizeof(buf)));
	CHECK(!pgha_api_format_time(INT64_MIN, buf, sizeof(buf)));
	CHECK(!pgha_api_format_time(0, small, sizeof(small)));
	CHECK(small[0] == '\0');
	CHECK(!pgha_api_format_time(0, NULL, 10));
}

/* The reference's table: status codes on the leader and on the replica. */
static void
test_status_codes(void)
{
	PgHaApiSnapshot *leader = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiSnapshot *replica = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));

	leader_snapshot(leader);
	replica_snapshot(replica);

	CHECK_INT(status_of("OPTIONS", "/master", leader), 200);
	CHECK_INT(GET("/master", leader), 200);
	CHECK_INT(GET("/primary", leader), 200);
	CHECK_INT(GET("/leader", leader), 200);
	CHECK_INT(GET("/", leader), 200);
	CHECK_INT(GET("/read-write", leader), 200);
	CHECK_INT(GET("/replica", leader), 503);
	CHECK_INT(GET("/read-only", leader), 200);
	CHECK_INT(GET("/health", leader), 200);
	CHECK_INT(GET("/liveness", leader), 200);
	CHECK_INT(GET("/readiness", leader), 200);
	CHECK_INT(GET("/standby-leader", leader), 503);
	CHECK_INT(GET("/sync", leader), 503);
	CHECK_INT(GET("/async", leader), 503);
	CHECK_INT(GET("/read-only-sync", leader), 200);
	CHECK_INT(GET("/patroni", leader), 200);
	CHECK_INT(GET("/cluster", leader), 200);
	CHECK_INT(GET("/history", leader), 200);
	CHECK_INT(GET("/config", leader), 503);
	CHECK_INT(GET("/metrics", leader), 200);

	CHECK_INT(status_of("OPTIONS", "/master", replica), 503);
	CHECK_INT(GET("/master", replica), 503);
	CHECK_INT(GET("/primary", replica), 503);
	CHECK_INT(GET("/leader", replica), 503);
	CHECK_INT(GET("/replica", replica), 200);
	CHECK_INT(GET("/read-only", replica), 200);
	CHECK_INT(GET("/health", replica), 200);
	CHECK_INT(GET("/liveness", replica), 200);
	CHECK_INT(GET("/readiness", replica), 200);
	CHECK_INT(GET("/async", replica), 200);
	CHECK_INT(GET("/sync", replica), 503);
	CHECK_INT(GET("/read-only-sync", replica), 503);
	CHECK_INT(GET("/patroni", replica), 200);

	/* HEAD and OPTIONS: the GET status, no body, Allow on OPTIONS */
	{
		const char *paths[] = {"/primary", "/replica", "/read-only", "/health",
			"/liveness", "/readiness", "/patroni", "/cluster", "/history",
		"/config", "/metrics"};

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		{
			for (int n = 0; n < 2; n++)
			{
				PgHaApiSnapshot *node = n ? replica : leader;
				PgHaApiResponse r;
				int			get = GET(paths[i], node);

				pgha_api_handle("HEAD", paths[i], node, &r);
				CHECK_INT(r.status, get);
				CHECK(r.body == NULL && r.body_len == 0 && !r.allow);
				pgha_api_response_free(&r);
				pgha_api_handle("OPTIONS", paths[i], node, &r);
				CHECK_INT(r.status, get);
				CHECK(r.body == NULL && r.body_len == 0 && r.allow);
				pgha_api_response_free(&r);
			}
		}
	}

	/* ?lag= against the replica's lag */
	CHECK_INT(GET("/replica?lag=1MB", replica), 200);
	memcpy(s, replica, sizeof(*s));
	s->lag_bytes = 2 * 1048576;
	CHECK_INT(GET("/replica?lag=1MB", s), 503);
	CHECK_INT(GET("/replica?lag=2MB", s), 200);
	CHECK_INT(GET("/replica?lag=2097151", s), 503);
	CHECK_INT(GET("/replica", s), 200);
	CHECK_INT(GET("/read-only?lag=1MB", s), 503);
	CHECK_INT(GET("/async?lag=1MB", s), 503);
	CHECK_INT(GET("/readiness?lag=1MB", s), 503);
	CHECK_INT(GET("/readiness", s), 200);
	CHECK_INT(GET("/health?lag=1MB", s), 200);
	s->has_lag = false;
	CHECK_INT(GET("/replica?lag=1TB", s), 503);
	CHECK_INT(GET("/replica", s), 200);
	/* the leader takes no lag */
	CHECK_INT(GET("/read-only?lag=0", leader), 200);
	CHECK_INT(GET("/primary?lag=0", leader), 200);
	CHECK_INT(GET("/replica?lag=junk", replica), 400);

	/* replication_state */
	CHECK_INT(GET("/replica?replication_state=streaming", replica), 200);
	CHECK_INT(GET("/replica?replication_state=in%20archive%20recovery", replica), 503);

	/* tags: ignored on the leader paths, checked on the others */
	CHECK_INT(GET("/replica?tag_nofailover=true", replica), 503);
	CHECK_INT(GET("/primary?tag_nofailover=true", leader), 200);
	CHECK_INT(GET("/leader?tag_whatever=1", leader), 200);
	CHECK_INT(GET("/read-only?tag_whatever=1", leader), 503);
	CHECK_INT(GET("/health?tag_whatever=1", leader), 503);
	memcpy(s, replica, sizeof(*s));
	s->nofailover = true;
	CHECK_INT(GET("/replica?tag_nofailover=true", s), 200);
	CHECK_INT(GET("/replica?tag_nofailover=True", s), 503);
	CHECK_INT(GET("/replica?tag_nofailover=false", s), 503);
	CHECK_INT(GET("/replica?tag_nofailover=true&tag_other=x", s), 503);
	CHECK_INT(GET("/replica", s), 200);

	/* a replica that does not stream */
	memcpy(s, replica, sizeof(*s));
	s->streaming = false;
	CHECK_INT(GET("/replica", s), 503);
	CHECK_INT(GET("/read-only", s), 503);
	CHECK_INT(GET("/readiness", s), 503);
	CHECK_INT(GET("/health", s), 200);
	CHECK_INT(GET("/liveness", s), 200);

	/* a fenced primary (lease lost, or not yet confirmed) */
	memcpy(s, leader, sizeof(*s));
	s->role = PGHA_API_ROLE_PRIMARY_FENCED;
	s->fenced = true;
	s->lease_remaining_ms = 0;
	CHECK_INT(GET("/primary", s), 503);
	CHECK_INT(GET("/master", s), 503);
	CHECK_INT(GET("/leader", s), 503);
	CHECK_INT(GET("/read-only", s), 503);
	CHECK_INT(GET("/replica", s), 503);
	CHECK_INT(GET("/readiness", s), 503);
	CHECK_INT(GET("/health", s), 200);
	CHECK_INT(status_of("OPTIONS", "/primary", s), 503);
	/* fenced wins even with the leader role */
	s->role = PGHA_API_ROLE_LEADER;
	CHECK_INT(GET("/primary", s), 503);
	/* the leader while it promotes: not yet a primary */
	memcpy(s, leader, sizeof(*s));
	s->in_recovery = true;
	CHECK_INT(GET("/primary", s), 503);
	CHECK_INT(GET("/readiness", s), 200);
	/* role starting */
	memcpy(s, leader, sizeof(*s));
	s->role = PGHA_API_ROLE_STARTING;
	s->fenced = true;
	CHECK_INT(GET("/primary", s), 503);
	CHECK_INT(GET("/health", s), 200);

	/* crash recovery: PostgreSQL is starting */
	memcpy(s, leader, sizeof(*s));
	s->role = PGHA_API_ROLE_STARTING;
	s->in_recovery = true;
	s->pg_running = false;
	s->fenced = false;
	CHECK_INT(GET("/health", s), 503);
	CHECK_INT(GET("/replica", s), 503);
	CHECK_INT(GET("/primary", s), 503);
	CHECK_INT(GET("/read-only", s), 503);
	CHECK_INT(GET("/readiness", s), 503);
	CHECK_INT(GET("/patroni", s), 200);

	/* liveness: the HA worker's last round, ttl (primary) or 2 ttl */
	memcpy(s, leader, sizeof(*s));
	s->last_round_ms = NOW_MS - 40000;
	CHECK_INT(GET("/liveness", s), 200);	/* loop_wait + ttl = 40 s */
	s->last_round_ms = NOW_MS - 40001;
	CHECK_INT(GET("/liveness", s), 503);
	s->cluster.paused = true;
	CHECK_INT(GET("/liveness", s), 200);
	memcpy(s, replica, sizeof(*s));
	s->last_round_ms = NOW_MS - 70000;
	CHECK_INT(GET("/liveness", s), 200);	/* loop_wait + 2 ttl = 70 s */
	s->last_round_ms = NOW_MS - 70001;
	CHECK_INT(GET("/liveness", s), 503);
	/* never a round: counted from the postmaster's start */
	s->last_round_ms = 0;
	s->postmaster_start_ms = NOW_MS - 5000;
	CHECK_INT(GET("/liveness", s), 200);
	s->postmaster_start_ms = NOW_MS - 100000;
	CHECK_INT(GET("/liveness", s), 503);
	s->postmaster_start_ms = 0;
	CHECK_INT(GET("/liveness", s), 503);

	/* async and read-only-sync need the cluster */
	memcpy(s, replica, sizeof(*s));
	s->cluster_valid = false;
	CHECK_INT(GET("/async", s), 503);
	CHECK_INT(GET("/replica", s), 200);
	CHECK_INT(GET("/cluster", s), 503);
	memcpy(s, leader, sizeof(*s));
	s->cluster_valid = false;
	CHECK_INT(GET("/read-only-sync", s), 503);
	CHECK_INT(GET("/primary", s), 200);

	/* no snapshot: a parsed request gets a 500, not a crash */
	CHECK_INT(status_of("GET", "/primary", NULL), 500);
	CHECK_INT(status_of("GET", "/nope", NULL), 404);

	free(leader);
	free(replica);
	free(s);
}

static void
test_patroni_json(void)
{
	PgHaApiSnapshot *leader = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiSnapshot *replica = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));
	json_t	   *j;
	json_t	   *x;
	json_t	   *rep;
	PgHaApiResponse r;
	char	   *text;
	char	   *text2;

	leader_snapshot(leader);
	replica_snapshot(replica);

	/* the leader, as in the reference */
	j = GET_JSON("/patroni", leader, 200);
	CHECK_STR(jstr(j, "state"), "running");
	CHECK_STR(jstr(j, "postmaster_start_time"), "2026-11-25 17:19:32.229033+00:00");
	CHECK_STR(jstr(j, "role"), "master");
	CHECK_INT(jint(j, "server_version"), 150002);
	x = json_object_get(j, "xlog");
	CHECK(json_is_object(x) && json_object_size(x) == 1);
	CHECK_INT(jint(x, "location"), 71673368);
	CHECK_INT(jint(j, "timeline"), 1);
	rep = json_object_get(j, "replication");
	CHECK(json_is_array(rep) && json_array_size(rep) == 2);
	if (json_array_size(rep) == 2)
	{
		json_t	   *r0 = json_array_get(rep, 0);

		CHECK_STR(jstr(r0, "usename"), "replicator");
		CHECK_STR(jstr(r0, "application_name"), "pg3");
		CHECK_STR(jstr(r0, "client_addr"), "127.0.0.1");
		CHECK_STR(jstr(r0, "state"), "streaming");
		CHECK_STR(jstr(r0, "sync_state"), "async");
		CHECK_INT(jint(r0, "sync_priority"), 0);
		CHECK(json_object_size(r0) == 6);
	}
	CHECK_INT(jint(j, "dcs_last_seen"), NOW_MS / 1000 - 1);
	CHECK_STR(jstr(j, "database_system_identifier"), "7712159771297452225");
	CHECK_STR(jstr(json_object_get(j, "patroni"), "version"), "0.1.0");
	CHECK_STR(jstr(json_object_get(j, "patroni"), "scope"), "otus");
	CHECK(json_object_get(j, "cluster_unlocked") == NULL);
	CHECK(json_object_get(j, "pending_restart") == NULL);
	CHECK(json_object_get(j, "tags") == NULL);
	CHECK(json_object_get(j, "pause") == NULL);
	CHECK(json_object_size(j) == 10);
	json_decref(j);

	/* Patroni's key order */
	text = get_body("GET", "/patroni", leader, &r);
	{
		const char *keys[] = {"state", "postmaster_start_time", "role",
			"server_version", "xlog", "location", "timeline", "replication",
			"usename", "application_name", "client_addr", "state",
			"sync_state", "sync_priority", "dcs_last_seen",
		"database_system_identifier", "patroni", "version", "scope"};

		CHECK(text != NULL && keys_in_order(text, keys, sizeof(keys) / sizeof(keys[0])));
		/* Python's json.dumps separators */
		CHECK(text != NULL && strncmp(text, "{\"state\": \"running\", ", 21) == 0);
	}
	pgha_api_response_free(&r);

	/* every health check returns the same document */
	{
		const char *paths[] = {"/primary", "/master", "/leader", "/replica",
			"/read-only", "/health", "/standby-leader", "/sync", "/async",
		"/read-only-sync", "/", "/replica?lag=1&tag_x=y"};

		for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++)
		{
			text2 = get_body("GET", paths[i], leader, &r);
			CHECK(text != NULL && text2 != NULL && strcmp(text, text2) == 0);
			CHECK(r.content_type != NULL && strcmp(r.content_type, "application/json") == 0);
			pgha_api_response_free(&r);
			free(text2);
		}
	}
	free(text);

	/* the replica */
	j = GET_JSON("/patroni", replica, 200);
	CHECK_STR(jstr(j, "state"), "running");
	CHECK_STR(jstr(j, "role"), "replica");
	x = json_object_get(j, "xlog");
	CHECK_INT(jint(x, "received_location"), 71673368);
	CHECK_INT(jint(x, "replayed_location"), 71673368);
	CHECK_STR(jstr(x, "replayed_timestamp"), "2026-11-25 17:19:03.325150+00:00");
	CHECK(json_is_false(json_object_get(x, "paused")));
	CHECK(json_object_size(x) == 4);
	CHECK(json_object_get(j, "replication") == NULL);
	CHECK_INT(jint(j, "timeline"), 1);
	json_decref(j);
	text = get_body("GET", "/replica", replica, &r);
	{
		const char *keys[] = {"state", "postmaster_start_time", "role",
			"server_version", "xlog", "received_location", "replayed_location",
			"replayed_timestamp", "paused", "timeline", "dcs_last_seen",
		"database_system_identifier", "patroni", "version", "scope"};

		CHECK(r.status == 200);
		CHECK(text != NULL && keys_in_order(text, keys, sizeof(keys) / sizeof(keys[0])));
	}
	pgha_api_response_free(&r);
	free(text);

	/* received falls back to replayed; no replayed timestamp: null */
	memcpy(s, replica, sizeof(*s));
	s->received_location = 0;
	s->replayed_location = 5000;
	s->has_replayed_timestamp = false;
	s->replay_paused = true;
	s->timeline = 0;
	j = GET_JSON("/patroni", s, 200);
	x = json_object_get(j, "xlog");
	CHECK_INT(jint(x, "received_location"), 5000);
	CHECK(json_is_null(json_object_get(x, "replayed_timestamp")));
	CHECK(json_is_true(json_object_get(x, "paused")));
	CHECK(json_is_null(json_object_get(j, "timeline")));
	json_decref(j);

	/* optional keys: cluster_unlocked, tags, pending_restart, pause */
	memcpy(s, leader, sizeof(*s));
	s->cluster.has_leader = false;
	s->nofailover = true;
	s->pending_restart = true;
	s->cluster.paused = true;
	s->sysid[0] = '\0';
	text = get_body("GET", "/patroni", s, &r);
	{
		const char *keys[] = {"state", "replication", "cluster_unlocked",
		"dcs_last_seen", "tags", "pending_restart", "patroni", "pause"};

		CHECK(text != NULL && keys_in_order(text, keys, sizeof(keys) / sizeof(keys[0])));
		CHECK(text != NULL && strstr(text, "\"tags\": {\"nofailover\": true}") != NULL);
		CHECK(text != NULL && strstr(text, "database_system_identifier") == NULL);
	}
	pgha_api_response_free(&r);
	free(text);
	s->cluster_valid = false;
	j = GET_JSON("/patroni", s, 200);
	CHECK(json_is_true(json_object_get(j, "cluster_unlocked")));
	CHECK(json_object_get(j, "pause") == NULL);
	json_decref(j);

	/* starting (crash recovery): state and role only, then the rest */
	memcpy(s, leader, sizeof(*s));
	s->pg_running = false;
	s->in_recovery = true;
	j = GET_JSON("/patroni", s, 200);
	CHECK_STR(jstr(j, "state"), "starting");
	CHECK_STR(jstr(j, "role"), "replica");
	CHECK(json_object_get(j, "xlog") == NULL);
	CHECK(json_object_get(j, "postmaster_start_time") == NULL);
	CHECK(json_object_get(j, "patroni") != NULL);
	json_decref(j);
	j = GET_JSON("/health", s, 503);
	CHECK_STR(jstr(j, "state"), "starting");
	json_decref(j);

	/* the body of a 503 health check is the status document too */
	j = GET_JSON("/primary", replica, 503);
	CHECK_STR(jstr(j, "role"), "replica");
	json_decref(j);

	/* outside strings: invalid UTF-8, quotes, control characters */
	memcpy(s, leader, sizeof(*s));
	strcpy(s->replication[0].application_name, "bad\xff\xfe\"name\\\x01");
	s->replication[1].has_usename = false;
	s->replication[1].has_client_addr = false;
	j = GET_JSON("/patroni", s, 200);
	rep = json_object_get(j, "replication");
	CHECK_STR(jstr(json_array_get(rep, 0), "application_name"), "bad??\"name\\?");
	CHECK(json_is_null(json_object_get(json_array_get(rep, 1), "usename")));
	CHECK(json_is_null(json_object_get(json_array_get(rep, 1), "client_addr")));
	json_decref(j);
	/* valid UTF-8 is kept (and escaped as ASCII, as Python does) */
	strcpy(s->replication[0].application_name, "caf\xc3\xa9");
	text = get_body("GET", "/patroni", s, &r);
	/* jansson writes \u00E9 where Python writes \u00e9: the same JSON */
	CHECK(text != NULL && (strstr(text, "\"caf\\u00E9\"") != NULL ||
						   strstr(text, "\"caf\\u00e9\"") != NULL));
	pgha_api_response_free(&r);
	free(text);

	/* unterminated arrays and silly counts: bounded, still JSON */
	memcpy(s, leader, sizeof(*s));
	memset(s->postmaster_start_time, 'T', sizeof(s->postmaster_start_time));
	memset(s->sysid, '7', sizeof(s->sysid));
	memset(s->scope, 'S', sizeof(s->scope));
	memset(s->version, 'V', sizeof(s->version));
	memset(s->replication[0].application_name, 'A',
		   sizeof(s->replication[0].application_name));
	memset(s->replication[0].state, 'X', sizeof(s->replication[0].state));
	s->nreplication = 100000;
	j = GET_JSON("/patroni", s, 200);
	CHECK(json_array_size(json_object_get(j, "replication")) == PGHA_API_MAX_REPLICATION);
	CHECK(jstr(j, "database_system_identifier") != NULL &&
		  strlen(jstr(j, "database_system_identifier")) == PGHA_SHORT_LEN);
	json_decref(j);
	s->nreplication = -3;
	j = GET_JSON("/patroni", s, 200);
	CHECK(json_object_get(j, "replication") == NULL);
	json_decref(j);

	free(leader);
	free(replica);
	free(s);
}

static void
test_cluster_json(void)
{
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiResponse r;
	json_t	   *j;
	json_t	   *members;
	json_t	   *m;
	char	   *text;

	leader_snapshot(s);
	/* pg3 is 1000 bytes behind the optime */
	s->cluster.members[0].xlog_location = 71673368 - 1000;
	j = GET_JSON("/cluster", s, 200);
	members = json_object_get(j, "members");
	CHECK(json_is_array(members) && json_array_size(members) == 3);
	CHECK(json_object_size(j) == 1);
	m = json_array_get(members, 0);
	CHECK_STR(jstr(m, "name"), "pg1");
	CHECK_STR(jstr(m, "role"), "leader");
	CHECK_STR(jstr(m, "state"), "running");
	CHECK_STR(jstr(m, "api_url"), "http://127.0.0.1:18008/patroni");
	CHECK_STR(jstr(m, "host"), "127.0.0.1");
	CHECK_INT(jint(m, "port"), 15431);
	CHECK_INT(jint(m, "timeline"), 1);
	CHECK(json_object_get(m, "lag") == NULL);
	CHECK(json_object_size(m) == 7);
	m = json_array_get(members, 1);
	CHECK_STR(jstr(m, "name"), "pg2");
	CHECK_STR(jstr(m, "role"), "replica");
	CHECK_INT(jint(m, "port"), 15432);
	CHECK_INT(jint(m, "lag"), 0);
	m = json_array_get(members, 2);
	CHECK_STR(jstr(m, "name"), "pg3");
	CHECK_INT(jint(m, "lag"), 1000);
	json_decref(j);

	/* the reference's document, key for key */
	s->cluster.members[0].xlog_location = 71673368;
	text = get_body("GET", "/cluster", s, &r);
	CHECK_STR(text,
			  "{\"members\": ["
			  "{\"name\": \"pg1\", \"role\": \"leader\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:18008/patroni\", \"host\": \"127.0.0.1\", \"port\": 15431, \"timeline\": 1}, "
			  "{\"name\": \"pg2\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:18009/patroni\", \"host\": \"127.0.0.1\", \"port\": 15432, \"timeline\": 1, \"lag\": 0}, "
			  "{\"name\": \"pg3\", \"role\": \"replica\", \"state\": \"running\", \"api_url\": \"http://127.0.0.1:18010/patroni\", \"host\": \"127.0.0.1\", \"port\": 15433, \"timeline\": 1, \"lag\": 0}]}");
	pgha_api_response_free(&r);
	free(text);

	/* optional member keys, unknown lag, odd conn_urls, pause */
	s->cluster.nmembers = 0;
	add_member(&s->cluster, "a", "postgres://u:p@DB.Example:5432/x",
			   "http://a/patroni", "running", "replica", false, 0, 0);
	add_member(&s->cluster, "b", "postgres://[::1]:6543/postgres",
			   "http://b/patroni", "stopped", "replica", true, 99999999999, 3);
	add_member(&s->cluster, "c", "postgres://host:99999/postgres",
			   "http://c/patroni", "running", "replica", true, 5, 2);
	add_member(&s->cluster, "d", "not a url", "", "", "", true, 5, 0);
	add_member(&s->cluster, "e", "postgres://[::1/x", "", "", "", true, 5, 0);
	add_member(&s->cluster, "f", "postgresql://h", "", "", "", true, 5, 0);
	s->cluster.members[0].pending_restart = true;
	s->cluster.members[0].nofailover = true;
	s->cluster.paused = true;
	strcpy(s->cluster.leader, "zz");	/* a leader without a record */
	text = get_body("GET", "/cluster", s, &r);
	CHECK(r.status == 200 && text != NULL);
	j = text ? json_loads(text, 0, NULL) : NULL;
	members = json_object_get(j, "members");
	CHECK(json_array_size(members) == 6);
	m = json_array_get(members, 0);
	CHECK_STR(jstr(m, "host"), "db.example");
	CHECK_INT(jint(m, "port"), 5432);
	CHECK(json_is_true(json_object_get(m, "pending_restart")));
	CHECK(json_is_true(json_object_get(json_object_get(m, "tags"), "nofailover")));
	CHECK_STR(jstr(m, "lag"), "unknown");
	CHECK(json_object_get(m, "timeline") == NULL);
	{
		const char *keys[] = {"name", "role", "state", "api_url", "host",
		"port", "pending_restart", "tags", "lag"};

		CHECK(keys_in_order(text, keys, sizeof(keys) / sizeof(keys[0])));
	}
	m = json_array_get(members, 1);
	CHECK_STR(jstr(m, "host"), "::1");
	CHECK_INT(jint(m, "port"), 6543);
	CHECK_INT(jint(m, "lag"), 0);	/* ahead of the optime */
	CHECK_INT(jint(m, "timeline"), 3);
	m = json_array_get(members, 2);
	CHECK_STR(jstr(m, "host"), "host");
	CHECK(json_object_get(m, "port") == NULL);
	CHECK_INT(jint(m, "lag"), 71673368 - 5);
	m = json_array_get(members, 3);
	CHECK(json_object_get(m, "host") == NULL);
	m = json_array_get(members, 4);
	CHECK(json_object_get(m, "host") == NULL);
	m = json_array_get(members, 5);
	CHECK_STR(jstr(m, "host"), "h");
	CHECK(json_object_get(m, "port") == NULL);
	CHECK(json_is_true(json_object_get(j, "pause")));
	json_decref(j);
	pgha_api_response_free(&r);
	free(text);

	/* no optime: lag counted from 0 */
	s->cluster.has_optime = false;
	j = GET_JSON("/cluster", s, 200);
	CHECK_INT(jint(json_array_get(json_object_get(j, "members"), 2), "lag"), 0);
	json_decref(j);

	/* bad counts and unterminated names */
	s->cluster.nmembers = 1000;
	for (int i = 0; i < PGHA_MAX_MEMBERS; i++)
		memset(s->cluster.members[i].name, 'n', sizeof(s->cluster.members[i].name));
	j = GET_JSON("/cluster", s, 200);
	CHECK(json_array_size(json_object_get(j, "members")) == PGHA_MAX_MEMBERS);
	json_decref(j);
	s->cluster.nmembers = -1;
	j = GET_JSON("/cluster", s, 200);
	CHECK(json_array_size(json_object_get(j, "members")) == 0);
	json_decref(j);

	/* not read yet */
	s->cluster_valid = false;
	j = GET_JSON("/cluster", s, 503);
	CHECK(jstr(j, "error") != NULL);
	json_decref(j);

	/* /history and /config for now */
	text = get_body("GET", "/history", s, &r);
	CHECK(r.status == 200);
	CHECK_STR(text, "[]");
	pgha_api_response_free(&r);
	free(text);
	j = GET_JSON("/config", s, 503);
	CHECK(jstr(j, "error") != NULL);
	json_decref(j);

	/* /config: the config key as last read */
	s->cluster_valid = true;
	s->cluster.has_config = true;
	s->cluster.config_valid = true;
	strcpy(s->cluster.config_json,
		   "{\"ttl\":30,\"postgresql\":{\"parameters\":{\"work_mem\":\"8MB\"}}}");
	text = get_body("GET", "/config", s, &r);
	CHECK(r.status == 200);
	CHECK_STR(text, "{\"ttl\": 30, \"postgresql\": {\"parameters\": {\"work_mem\": \"8MB\"}}}");
	pgha_api_response_free(&r);
	free(text);
	strcpy(s->cluster.config_json, "{broken");
	j = GET_JSON("/config", s, 503);
	CHECK(jstr(j, "error") != NULL);
	json_decref(j);
	s->cluster.has_config = false;
	j = GET_JSON("/config", s, 503);
	json_decref(j);

	free(s);
}

/*
 * Tags (issue 13): noloadbalance and the ?tag_<name>=<value> filters, as
 * Patroni 3.0.2's do_GET applies them, and the tags in /patroni and
 * /cluster.
 */
static void
test_tags(void)
{
	PgHaApiSnapshot *leader = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));
	PgHaMember *me;
	PgHaApiResponse r;
	json_t	   *j;
	json_t	   *tags;
	char	   *text;

	leader_snapshot(leader);
	/* a replica, pg2, whose own record carries its tags */
	leader_snapshot(s);
	strcpy(s->name, "pg2");
	s->role = PGHA_API_ROLE_REPLICA;
	s->in_recovery = true;
	s->streaming = true;
	s->has_lag = true;
	me = &s->cluster.members[2];
	CHECK_STR(me->name, "pg2");
	CHECK_INT(GET("/replica", s), 200);
	me->noloadbalance = true;
	/* noloadbalance: Patroni's replica_status_code is 503 */
	CHECK_INT(GET("/replica", s), 503);
	CHECK_INT(GET("/read-only", s), 503);
	CHECK_INT(GET("/async", s), 503);
	CHECK_INT(GET("/replica?tag_noloadbalance=true", s), 503);
	/* ... not the other checks */
	CHECK_INT(GET("/health", s), 200);
	CHECK_INT(GET("/readiness", s), 200);
	CHECK_INT(GET("/liveness", s), 200);
	/* on the leader it changes nothing */
	leader->cluster.members[1].noloadbalance = true;
	CHECK_STR(leader->cluster.members[1].name, "pg1");
	CHECK_INT(GET("/primary", leader), 200);
	CHECK_INT(GET("/read-only", leader), 200);
	CHECK_INT(GET("/read-only-sync", leader), 200);
	me->noloadbalance = false;

	/* user tags and the built-in ones, from the record */
	strcpy(me->tags_json, "{\"dc\":\"eu-1\",\"rack\":3,\"ssd\":true,\"off\":false,"
		   "\"w\":1.5,\"two\":2.0,\"big\":1e20,\"tiny\":0.00001,\"tenth\":0.1,"
		   "\"none\":null,\"list\":[1],\"obj\":{}}");
	me->nosync = true;
	me->has_failover_priority = true;
	me->failover_priority = 4;
	CHECK_INT(GET("/replica", s), 200);
	CHECK_INT(GET("/replica?tag_dc=eu-1", s), 200);
	CHECK_INT(GET("/replica?tag_dc=eu%2D1", s), 200);
	CHECK_INT(GET("/replica?tag_dc=EU-1", s), 503);
	CHECK_INT(GET("/replica?tag_dc=eu-1&tag_rack=3", s), 200);
	CHECK_INT(GET("/replica?tag_dc=eu-1&tag_rack=4", s), 503);
	CHECK_INT(GET("/replica?tag_rack=03", s), 503);
	CHECK_INT(GET("/replica?tag_ssd=true", s), 200);
	CHECK_INT(GET("/replica?tag_ssd=True", s), 503);
	CHECK_INT(GET("/replica?tag_off=false", s), 200);	/* a user's false stays */
	CHECK_INT(GET("/replica?tag_w=1.5", s), 200);
	CHECK_INT(GET("/replica?tag_two=2.0", s), 200);
	CHECK_INT(GET("/replica?tag_two=2", s), 503);
	CHECK_INT(GET("/replica?tag_big=1e%2B20", s), 200);
	CHECK_INT(GET("/replica?tag_tiny=1e-05", s), 200);
	CHECK_INT(GET("/replica?tag_tenth=0.1", s), 200);
	CHECK_INT(GET("/replica?tag_none=None", s), 503);	/* null: no such tag */
	CHECK_INT(GET("/replica?tag_list=%5B1%5D", s), 503);
	CHECK_INT(GET("/replica?tag_obj=%7B%7D", s), 503);
	CHECK_INT(GET("/replica?tag_missing=x", s), 503);
	CHECK_INT(GET("/replica?tag_nosync=true", s), 200);
	CHECK_INT(GET("/replica?tag_failover_priority=4", s), 200);
	CHECK_INT(GET("/replica?tag_nofailover=false", s), 503);	/* false ones are left out */
	CHECK_INT(GET("/replica?tag_dc=", s), 200);	/* empty values are ignored */
	/* the filters count on every check but the leader's */
	CHECK_INT(GET("/health?tag_dc=eu-1", s), 200);
	CHECK_INT(GET("/health?tag_dc=us-1", s), 503);
	CHECK_INT(GET("/read-only?tag_dc=us-1", s), 503);
	CHECK_INT(GET("/async?tag_dc=eu-1", s), 200);
	CHECK_INT(GET("/async?tag_dc=us-1", s), 503);
	CHECK_INT(GET("/sync?tag_dc=eu-1", s), 503);	/* not the sync standby */
	CHECK_INT(GET("/primary?tag_dc=us-1", leader), 200);
	CHECK_INT(GET("/leader?tag_dc=us-1", leader), 200);
	/* the setting's nofailover counts even before the record shows it */
	s->nofailover = true;
	CHECK_INT(GET("/replica?tag_nofailover=true&tag_dc=eu-1", s), 200);
	s->nofailover = false;

	/* the tags in /patroni: the node's, in the record's order */
	text = get_body("GET", "/patroni", s, &r);
	CHECK(r.status == 200 && text != NULL &&
		  strstr(text, "\"tags\": {\"failover_priority\": 4, \"nosync\": true, \"dc\": \"eu-1\", \"rack\": 3,") != NULL);
	pgha_api_response_free(&r);
	free(text);
	/* ... and of every member in /cluster */
	j = GET_JSON("/cluster", s, 200);
	tags = json_object_get(json_array_get(json_object_get(j, "members"), 1), "tags");
	CHECK_STR(jstr(json_array_get(json_object_get(j, "members"), 1), "name"), "pg2");
	CHECK(json_is_true(json_object_get(tags, "nosync")));
	CHECK_INT(jint(tags, "failover_priority"), 4);
	CHECK_STR(jstr(tags, "dc"), "eu-1");
	CHECK(json_is_null(json_object_get(tags, "none")));
	CHECK(json_object_get(json_array_get(json_object_get(j, "members"), 0), "tags") == NULL);
	json_decref(j);

	/* tags the caller put in the snapshot win over the record */
	s->has_tags = true;
	strcpy(s->tags_json, "{\"noloadbalance\":true,\"dc\":\"us-1\"}");
	CHECK_INT(GET("/replica", s), 503);
	CHECK_INT(GET("/health?tag_dc=us-1", s), 200);
	CHECK_INT(GET("/health?tag_dc=eu-1", s), 503);
	strcpy(s->tags_json, "{\"dc\":\"us-1\"}");
	CHECK_INT(GET("/replica?tag_dc=us-1", s), 200);
	strcpy(s->tags_json, "[1]");		/* not an object: no tags */
	CHECK_INT(GET("/replica", s), 200);
	CHECK_INT(GET("/replica?tag_dc=us-1", s), 503);
	memset(s->tags_json, 'x', sizeof(s->tags_json));	/* unterminated */
	CHECK_INT(GET("/replica", s), 200);
	CHECK_INT(GET("/patroni", s), 200);
	s->has_tags = false;

	/* no record of its own (not read yet): no tags, no noloadbalance */
	strcpy(me->name, "pg7");
	CHECK_INT(GET("/replica?tag_dc=eu-1", s), 503);
	CHECK_INT(GET("/replica", s), 200);
	s->cluster_valid = false;
	CHECK_INT(GET("/replica", s), 200);
	/* a record whose tags cannot be written: none, never a crash */
	s->cluster_valid = true;
	strcpy(me->name, "pg2");
	memset(me->tags_json, 'y', sizeof(me->tags_json));
	CHECK_INT(GET("/replica?tag_dc=eu-1", s), 503);
	CHECK_INT(GET("/cluster", s), 200);
	free(leader);
	free(s);
}

/* Every non-comment line is "name{labels} value"; HELP/TYPE precede it. */
static bool
metrics_well_formed(const char *text)
{
	return metrics_text_well_formed(text, strlen(text));
}

static void
test_metrics(void)
{
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiResponse r;
	char	   *text;

	leader_snapshot(s);
	text = get_body("GET", "/metrics", s, &r);
	CHECK(r.status == 200 && text != NULL);
	CHECK(r.content_type != NULL && strncmp(r.content_type, "text/plain", 10) == 0);
	CHECK(text != NULL && metrics_well_formed(text));
	if (text != NULL)
	{
		CHECK(strstr(text, "# HELP patroni_primary Value is 1 if this node is the leader, 0 otherwise.\n"
					 "# TYPE patroni_primary gauge\n"
					 "patroni_primary{scope=\"otus\"} 1\n") != NULL);
		CHECK(strstr(text, "\npatroni_replica{scope=\"otus\"} 0\n") != NULL);
		CHECK(strstr(text, "\npatroni_xlog_location{scope=\"otus\"} 71673368\n") != NULL);
		CHECK(strstr(text, "# TYPE patroni_xlog_location counter\n") != NULL);
		CHECK(strstr(text, "\npatroni_postgres_timeline{scope=\"otus\"} 1\n") != NULL);
		CHECK(strstr(text, "\npatroni_timeline{scope=\"otus\"} 1\n") != NULL);
		CHECK(strstr(text, "\npg_ha_fenced{scope=\"otus\"} 0\n") != NULL);
		CHECK(strstr(text, "\npg_ha_lease_remaining_seconds{scope=\"otus\"} 12.345\n") != NULL);
		CHECK(strstr(text, "\npatroni_version{scope=\"otus\"} 100\n") != NULL);
		CHECK(strstr(text, "\npatroni_postmaster_start_time{scope=\"otus\"} 1795627172.229\n") != NULL);
		CHECK(strstr(text, "\npatroni_postgres_server_version{scope=\"otus\"} 150002\n") != NULL);
		CHECK(strstr(text, "\npatroni_cluster_unlocked{scope=\"otus\"} 0\n") != NULL);
		CHECK(strstr(text, "\npatroni_dcs_last_seen{scope=\"otus\"} 1795627179\n") != NULL);
	}
	pgha_api_response_free(&r);
	free(text);

	replica_snapshot(s);
	s->received_location = 200;
	s->replayed_location = 100;
	text = get_body("GET", "/metrics", s, &r);
	CHECK(text != NULL && metrics_well_formed(text));
	if (text != NULL)
	{
		CHECK(strstr(text, "\npatroni_primary{scope=\"otus\"} 0\n") != NULL);
		CHECK(strstr(text, "\npatroni_replica{scope=\"otus\"} 1\n") != NULL);
		CHECK(strstr(text, "\npatroni_xlog_location{scope=\"otus\"} 0\n") != NULL);
		CHECK(strstr(text, "\npatroni_xlog_received_location{scope=\"otus\"} 200\n") != NULL);
		CHECK(strstr(text, "\npatroni_xlog_replayed_location{scope=\"otus\"} 100\n") != NULL);
		CHECK(strstr(text, "\npatroni_xlog_replayed_timestamp{scope=\"otus\"} 1795627143.325\n") != NULL);
		CHECK(strstr(text, "\npatroni_postgres_streaming{scope=\"otus\"} 1\n") != NULL);
		CHECK(strstr(text, "\npg_ha_lease_remaining_seconds{scope=\"otus\"} 0\n") != NULL);
	}
	pgha_api_response_free(&r);
	free(text);

	/* fenced primary, odd scope and version */
	leader_snapshot(s);
	s->role = PGHA_API_ROLE_PRIMARY_FENCED;
	s->fenced = true;
	s->lease_remaining_ms = 0;
	strcpy(s->scope, "a\"b\\c\nd");
	strcpy(s->version, "3.0.2");
	text = get_body("GET", "/metrics", s, &r);
	CHECK(text != NULL && metrics_well_formed(text));
	if (text != NULL)
	{
		CHECK(strstr(text, "\npg_ha_fenced{scope=\"a\\\"b\\\\c\\nd\"} 1\n") != NULL);
		CHECK(strstr(text, "\npatroni_primary{scope=\"a\\\"b\\\\c\\nd\"} 0\n") != NULL);
		CHECK(strstr(text, "\npatroni_version{scope=\"a\\\"b\\\\c\\nd\"} 30002\n") != NULL);
	}
	pgha_api_response_free(&r);
	free(text);

	/* unterminated scope: bounded */
	memset(s->scope, '"', sizeof(s->scope));
	memset(s->version, '9', sizeof(s->version));
	text = get_body("GET", "/metrics", s, &r);
	CHECK(r.status == 200 && text != NULL && metrics_well_formed(text));
	pgha_api_response_free(&r);
	free(text);

	free(s);
}

/* scheduled_restart in /patroni and /cluster (Patroni's copies of it) */
static void
test_scheduled_restart(void)
{
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));
	json_t	   *j;
	json_t	   *sr;
	json_t	   *members;
	char	   *text;
	PgHaApiResponse r;

	/* /patroni: this node's request while it waits for its time */
	leader_snapshot(s);
	s->cluster_valid = true;
	s->cluster.nrestarts = 1;
	strcpy(s->cluster.restarts[0].member, "pg1");
	s->cluster.restarts[0].pending_only = true;
	j = GET_JSON("/patroni", s, 200);
	CHECK(json_object_get(j, "scheduled_restart") == NULL);
	json_decref(j);
	s->cluster.restarts[0].scheduled = true;
	s->cluster.restarts[0].scheduled_ms = INT64_C(1893492000000);	/* 2030-01-01T10:00Z */
	j = GET_JSON("/patroni", s, 200);
	sr = json_object_get(j, "scheduled_restart");
	CHECK_STR(jstr(sr, "schedule"), "2030-01-01T10:00:00.000+00:00");
	CHECK(json_is_true(json_object_get(sr, "restart_pending")));
	CHECK(json_object_get(sr, "postmaster_start_time") == NULL);
	CHECK(json_object_size(sr) == 2);
	json_decref(j);
	text = get_body("GET", "/patroni", s, &r);
	{
		const char *keys[] = {"patroni", "version", "scope", "scheduled_restart", "schedule"};

		CHECK(text != NULL && keys_in_order(text, keys, sizeof(keys) / sizeof(keys[0])));
	}
	pgha_api_response_free(&r);
	free(text);
	/* another member's, or a started one: none of this node's */
	s->cluster.restarts[0].restarting = 1;
	j = GET_JSON("/patroni", s, 200);
	CHECK(json_object_get(j, "scheduled_restart") == NULL);
	json_decref(j);
	s->cluster.restarts[0].restarting = 0;
	strcpy(s->cluster.restarts[0].member, "pg3");
	j = GET_JSON("/patroni", s, 200);
	CHECK(json_object_get(j, "scheduled_restart") == NULL);
	json_decref(j);

	/* /cluster: as each member's record has it, as Patroni copies it */
	s->cluster.members[2].has_scheduled_restart = true;	/* pg2 */
	s->cluster.members[2].scheduled_restart_ms = INT64_C(1893492000000);
	s->cluster.members[2].start_ms = INT64_C(1795627168197);
	j = GET_JSON("/cluster", s, 200);
	members = json_object_get(j, "members");
	sr = json_object_get(json_array_get(members, 1), "scheduled_restart");
	CHECK_STR(jstr(json_array_get(members, 1), "name"), "pg2");
	CHECK_STR(jstr(sr, "schedule"), "2030-01-01T10:00:00.000+00:00");
	CHECK_STR(jstr(sr, "postmaster_start_time"), "2026-11-25T17:19:28.197+00:00");
	CHECK(json_object_get(sr, "restart_pending") == NULL);
	CHECK(json_object_get(json_array_get(members, 0), "scheduled_restart") == NULL);
	json_decref(j);
	free(s);
}

/* synchronous mode: /sync, /async, /read-only-sync, sync_standby, roles */
static void
test_sync_mode(void)
{
	PgHaApiSnapshot *leader = malloc(sizeof(PgHaApiSnapshot));
	PgHaApiSnapshot *replica = malloc(sizeof(PgHaApiSnapshot));
	json_t	   *j;

	leader_snapshot(leader);
	strcpy(leader->cluster.leader_session, "11111111-2222-3333-4444-555555555555");
	replica_snapshot(replica);
	memcpy(&replica->cluster, &leader->cluster, sizeof(PgHaCluster));
	replica->cluster.sync_mode = true;
	replica->cluster.sync_key_exists = replica->cluster.has_sync = true;
	strcpy(replica->cluster.sync_leader, "pg1");
	replica->cluster.nsync = 1;
	strcpy(replica->cluster.sync_standby[0], "pg2");
	leader->cluster = replica->cluster;

	/* pg2 is the synchronous standby */
	CHECK_INT(GET("/sync", replica), 200);
	CHECK_INT(GET("/synchronous", replica), 200);
	CHECK_INT(GET("/async", replica), 503);
	CHECK_INT(GET("/read-only-sync", replica), 200);
	CHECK_INT(GET("/replica", replica), 200);
	CHECK_INT(GET("/sync", leader), 503);
	CHECK_INT(GET("/read-only-sync", leader), 200);
	j = GET_JSON("/patroni", replica, 200);
	CHECK(j && json_is_true(json_object_get(j, "sync_standby")));
	json_decref(j);
	j = GET_JSON("/patroni", leader, 200);
	CHECK(j && json_object_get(j, "sync_standby") == NULL);
	json_decref(j);
	j = GET_JSON("/cluster", leader, 200);
	CHECK(j && strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "members"), 1), "role")),
					  "sync_standby") == 0);
	CHECK(j && strcmp(json_string_value(json_object_get(json_array_get(json_object_get(j, "members"), 2), "role")),
					  "replica") == 0);
	json_decref(j);
	/* a sync standby that does not stream is not one to send reads to */
	replica->streaming = false;
	CHECK_INT(GET("/sync", replica), 503);
	replica->streaming = true;
	/* another member is the sync standby: pg2 is asynchronous */
	strcpy(replica->cluster.sync_standby[0], "pg3");
	CHECK_INT(GET("/sync", replica), 503);
	CHECK_INT(GET("/async", replica), 200);
	CHECK_INT(GET("/read-only-sync", replica), 503);
	/* a key written by an earlier leader names nobody */
	strcpy(replica->cluster.sync_standby[0], "pg2");
	strcpy(replica->cluster.sync_leader, "pg3");
	CHECK_INT(GET("/sync", replica), 503);
	/* mode off */
	strcpy(replica->cluster.sync_leader, "pg1");
	replica->cluster.sync_mode = false;
	CHECK_INT(GET("/sync", replica), 503);
	CHECK_INT(GET("/async", replica), 200);

	free(leader);
	free(replica);
}

/* ----- fuzzing */

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t
rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t) (rng_state >> 11);
}

static void
random_bytes(char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char) (rnd() & 0xff);
}

/* A request that is usually almost right. */
static void
random_uri(char *buf, size_t len)
{
	static const char *const pieces[] = {
		"/", "/primary", "/replica", "/read-only", "/health", "/patroni",
		"/cluster", "/metrics", "/liveness", "/readiness", "/leader",
		"/history", "/config", "/async", "/sync", "/master", "?", "&", "=",
		"lag", "lag=", "10MB", "1.5kB", "-1", "%", "%2", "%41", "%00", "%zz",
		"+", "#", "tag_", "tag_nofailover=true", "replication_state=",
		"streaming", "http://", "https://h", "[", "]", ":", "@", "\xff",
		"\x01", " ", "\\", "\"", "9999999999999999999999", "..", "//"
	};
	size_t		out = 0;
	int			n = (int) (rnd() % 12);

	for (int i = 0; i < n; i++)
	{
		const char *p;
		size_t		pl;
		char		one[2];

		if (rnd() % 8 == 0)
		{
			one[0] = (char) (rnd() % 255 + 1);
			one[1] = '\0';
			p = one;
		}
		else
			p = pieces[rnd() % (sizeof(pieces) / sizeof(pieces[0]))];
		pl = strlen(p);
		if (out + pl + 1 >= len)
			break;
		memcpy(buf + out, p, pl);
		out += pl;
	}
	buf[out] = '\0';
}

static void
random_snapshot(PgHaApiSnapshot *s)
{
	leader_snapshot(s);
	s->role = (PgHaApiRole) (rnd() % 4);
	s->fenced = rnd() & 1;
	s->pg_running = rnd() & 1;
	s->in_recovery = rnd() & 1;
	s->streaming = rnd() & 1;
	s->has_lag = rnd() & 1;
	s->lag_bytes = (int64_t) rnd() * (rnd() % 3 ? 1 : -1);
	s->nofailover = rnd() & 1;
	s->has_tags = rnd() % 4 == 0;
	if (rnd() % 2)
		random_bytes(s->tags_json, sizeof(s->tags_json));
	else
		strcpy(s->tags_json, "{\"noloadbalance\":true,\"dc\":\"eu-1\"}");
	s->pending_restart = rnd() & 1;
	s->replay_paused = rnd() & 1;
	s->has_replayed_timestamp = rnd() & 1;
	s->cluster_valid = rnd() & 1;
	s->cluster.has_leader = rnd() & 1;
	s->cluster.paused = rnd() & 1;
	s->cluster.has_optime = rnd() & 1;
	s->cluster.optime = (int64_t) rnd() - 1000;
	s->timeline = rnd();
	s->location = (int64_t) rnd() << (rnd() % 32);
	s->now_ms = (int64_t) rnd() << (rnd() % 24);
	s->last_round_ms = (int64_t) rnd() << (rnd() % 24);
	s->postmaster_start_ms = (int64_t) rnd() - (int64_t) rnd();
	s->ttl_ms = (int) (rnd() % 100000) - 50;
	s->loop_wait_ms = (int) (rnd() % 100000) - 50;
	s->lease_remaining_ms = (int64_t) rnd() - (int64_t) rnd();
	s->nreplication = (int) (rnd() % 40) - 4;
	s->cluster.nmembers = (int) (rnd() % 40) - 4;
	if (rnd() % 2)
		random_bytes(s->scope, sizeof(s->scope));
	if (rnd() % 2)
		random_bytes(s->sysid, sizeof(s->sysid));
	if (rnd() % 2)
		random_bytes(s->postmaster_start_time, sizeof(s->postmaster_start_time));
	if (rnd() % 2)
		random_bytes(s->replayed_timestamp, sizeof(s->replayed_timestamp));
	for (int i = 0; i < PGHA_API_MAX_REPLICATION; i++)
	{
		PgHaApiReplication *r = &s->replication[i];

		if (rnd() % 3 == 0)
		{
			r->has_usename = rnd() & 1;
			r->has_client_addr = rnd() & 1;
			random_bytes(r->usename, sizeof(r->usename));
			random_bytes(r->application_name, sizeof(r->application_name));
			random_bytes(r->client_addr, sizeof(r->client_addr));
			random_bytes(r->state, sizeof(r->state));
			random_bytes(r->sync_state, sizeof(r->sync_state));
			r->sync_priority = (int) rnd();
		}
	}
	for (int i = 0; i < PGHA_MAX_MEMBERS; i++)
	{
		PgHaMember *m = &s->cluster.members[i];

		if (rnd() % 3 == 0)
		{
			random_bytes(m->name, sizeof(m->name));
			random_bytes(m->conn_url, sizeof(m->conn_url));
			random_bytes(m->api_url, sizeof(m->api_url));
			random_bytes(m->state, sizeof(m->state));
			m->has_xlog = rnd() & 1;
			m->xlog_location = (int64_t) rnd() - (int64_t) rnd();
			m->timeline = rnd();
			m->pending_restart = rnd() & 1;
			m->nofailover = rnd() & 1;
			m->noloadbalance = rnd() & 1;
			m->nosync = rnd() & 1;
			m->has_failover_priority = rnd() & 1;
			m->failover_priority = (int) rnd() - (int) rnd();
			if (rnd() % 2)
				random_bytes(m->tags_json, sizeof(m->tags_json));
			else if (rnd() % 2)
				strcpy(m->tags_json, "{\"dc\":\"eu-1\",\"r\":1.5,\"n\":null}");
		}
		else if (rnd() % 4 == 0)
		{
			/* a conn_url that is nearly right */
			snprintf(m->conn_url, sizeof(m->conn_url), "postgres://%s%s%s:%u/x",
					 rnd() & 1 ? "u@" : "", rnd() & 1 ? "[" : "",
					 rnd() & 1 ? "h]" : "::1", rnd() % 100000);
		}
	}
	if (rnd() % 2)
		random_bytes(s->cluster.leader, sizeof(s->cluster.leader));
}

static bool
response_sane(const char *method, const PgHaApiResponse *r)
{
	static const int known[] = {200, 400, 404, 405, 414, 500, 503};
	bool		status_ok = false;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (r->status == known[i])
			status_ok = true;
	if (!status_ok)
	{
		printf("    status %d\n", r->status);
		return false;
	}
	if ((r->body == NULL) != (r->body_len == 0))
		return false;
	if (r->body != NULL && r->content_type == NULL)
		return false;
	if (r->allow && r->status != 405 && strcmp(method, "OPTIONS") != 0)
		return false;
	if (r->status == 405 && !r->allow)
		return false;
	/* a parsed HEAD or OPTIONS never gets a body */
	if ((strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0) &&
		r->status != 400 && r->status != 404 && r->status != 414 &&
		r->body != NULL)
		return false;
	if (r->body != NULL && strcmp(r->content_type, "application/json") == 0)
	{
		json_t	   *j = json_loadb(r->body, r->body_len, 0, NULL);

		if (j == NULL)
		{
			printf("    bad JSON: %.*s\n", (int) (r->body_len > 200 ? 200 : r->body_len), r->body);
			return false;
		}
		json_decref(j);
	}
	if (r->body != NULL && strncmp(r->content_type, "text/plain", 10) == 0 &&
		!metrics_well_formed(r->body))
		return false;
	return true;
}

static void
test_fuzz(int iterations)
{
	static const char *const methods[] = {
		"GET", "HEAD", "OPTIONS", "POST", "PUT", "DELETE", "get", "", "G\x01T",
		"CONNECT", "TRACE", "PATCH", "OPTIONS ", "\xff"
	};
	PgHaApiSnapshot *s = malloc(sizeof(PgHaApiSnapshot));
	char		uri[512];
	int			bad = 0;

	for (int i = 0; i < iterations; i++)
	{
		const char *method = methods[rnd() % (sizeof(methods) / sizeof(methods[0]))];
		PgHaApiResponse r;

		if (i % 64 == 0)
			random_snapshot(s);
		random_uri(uri, sizeof(uri));
		/* sometimes entirely random bytes */
		if (rnd() % 16 == 0)
		{
			size_t		n = rnd() % (sizeof(uri) - 1);

			random_bytes(uri, n);
			uri[n] = '\0';
		}
		pgha_api_handle(method, uri, s, &r);
		if (!response_sane(method, &r))
		{
			if (bad++ < 5)
				printf("    fuzz: insane answer to %s \"%s\"\n", method, uri);
		}
		pgha_api_response_free(&r);
	}
	CHECK(bad == 0);
	free(s);
}

int
main(int argc, char **argv)
{
	int			iterations = 200000;

	if (argc > 1)
		iterations = atoi(argv[1]);

	test_replica_lag();
	test_format_time();
	test_status_codes();
	test_patroni_json();
	test_cluster_json();
	test_tags();
	test_metrics();
	test_scheduled_restart();
	test_sync_mode();
	test_fuzz(iterations);

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
