/*-------------------------------------------------------------------------
 *
 * fuzz_consul_response.c
 *	  libFuzzer target: whatever a (buggy, hostile, other-version) Consul
 *	  agent may answer.
 *
 * The input is one HTTP answer body of Consul's API, fed to every parser
 * that reads one: the recursive KV listing (GET /v1/kv/<prefix>?recurse,
 * the HA worker's and pg_ha_ctl's view of the cluster), a single KV entry
 * (pg_ha_ctl's GET /v1/kv/<key>), the session answers (create, info,
 * renew), the true/false of a KV PUT or DELETE, the message quoting a
 * refusal; and, line by line, to the X-Consul-Index header parser.
 *
 * A listing that parses then goes where the backend sends it: into the
 * HA decision for a leader and a replica, the REST API's documents
 * (/cluster, /config, /patroni, /metrics...), the checks of a switchover,
 * failover and restart, and the config and history readers.  Every member
 * record read must format and read back unchanged.
 *
 * Corpus: fuzz/corpus/consul_response/ (real Consul 1.8.7 answers for the
 * reference's Patroni cluster and pg_ha's own keys).
 *
 * fuzz/fuzz_consul_response.c
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "config_key.h"
#include "consul_parse.h"
#include "fuzz_common.h"
#include "history.h"
#include "leader_key.h"

static PgHaCluster cluster;
static PgHaApiSnapshot snapshot;

/*
 * What the REST API builds from the cluster.  The walsender's
 * application_name is outside data too (any replication client sets it, in
 * any encoding): it gets the input's first bytes.
 */
static void
answer_from_cluster(const uint8_t *data, size_t size)
{
	static const char *const uris[] = {
		"/cluster", "/config", "/patroni", "/metrics", "/history",
		"/replica?lag=1MB", "/read-only", "/async", "/liveness",
		"/health?tag_nofailover=true",
	};

	fuzz_leader_snapshot(&snapshot);
	snapshot.cluster_valid = true;
	snapshot.cluster = cluster;
	memcpy(snapshot.replication[0].application_name, data,
		   size < sizeof(snapshot.replication[0].application_name) ?
		   size : sizeof(snapshot.replication[0].application_name));
	for (size_t i = 0; i < sizeof(uris) / sizeof(uris[0]); i++)
		fuzz_answer("GET", uris[i], &snapshot);
	fuzz_replica_snapshot(&snapshot);
	snapshot.cluster_valid = true;
	snapshot.cluster = cluster;
	fuzz_answer("GET", "/replica", &snapshot);
	fuzz_answer("GET", "/cluster", &snapshot);
}

/* The write endpoints' checks against the cluster. */
static void
check_writes(void)
{
	PgHaApiFailover f;
	PgHaApiRestart r;
	char		msg[PGHA_ERR_LEN];
	char		buf[512];
	int			status;

	memset(&f, 0, sizeof(f));
	memcpy(f.leader, cluster.leader, sizeof(f.leader));
	if (f.leader[0] == '\0')
		strcpy(f.leader, "pg3");
	strcpy(f.candidate, "pg2");
	status = pgha_api_check_failover(&cluster, &f, true, FUZZ_NOW_MS, msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400 || status == 412 || status == 422);
	FUZZ_CHECK(status != 0 || f.scheduled_iso[0] == '\0');

	memset(&f, 0, sizeof(f));
	strcpy(f.candidate, "pg1");
	strcpy(f.scheduled_at, "2030-01-01T00:00:00+00:00");
	status = pgha_api_check_failover(&cluster, &f, false, FUZZ_NOW_MS, msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400 || status == 412 || status == 422);

	memset(&f, 0, sizeof(f));
	status = pgha_api_check_failover(&cluster, &f, true, FUZZ_NOW_MS, msg, sizeof(msg));
	FUZZ_CHECK(status == 400);

	memset(&r, 0, sizeof(r));
	r.pending_only = true;
	status = pgha_api_check_restart(&cluster, "pg3", &r, FUZZ_NOW_MS, buf,
									sizeof(buf), msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400 || status == 409 ||
			   status == 422 || status == 503);
	if (status == 0)
	{
		json_t	   *j = json_loads(buf, 0, NULL);

		FUZZ_CHECK(json_is_object(j));
		json_decref(j);
	}
}

/* The readers of the config and history keys the listing kept. */
static void
read_kept_keys(void)
{
	PgHaParam  *params = malloc(sizeof(PgHaParam) * PGHA_MAX_PARAMS);
	PgHaHistoryEntry entries[8];
	char		err[PGHA_ERR_LEN];
	char	   *buf = malloc(PGHA_CONFIG_LEN * 2);
	int			n;

	FUZZ_CHECK(params != NULL && buf != NULL);
	n = pgha_config_parameters(cluster.config_json, params, PGHA_MAX_PARAMS,
							   err, sizeof(err));
	FUZZ_CHECK(n >= -1 && n <= PGHA_MAX_PARAMS);
	for (int i = 0; i < n; i++)
	{
		FUZZ_CHECK(FUZZ_TERMINATED(params[i].name) && FUZZ_TERMINATED(params[i].value));
		/* a value goes into pg_ha.conf: one line */
		FUZZ_CHECK(strchr(params[i].value, '\n') == NULL);
	}
	if (cluster.config_valid)
	{
		n = pgha_config_with_pause(cluster.config_json, strlen(cluster.config_json),
								   !cluster.paused, buf, PGHA_CONFIG_LEN * 2,
								   err, sizeof(err));
		/* -2 (already so) only for a listing with two config keys */
		FUZZ_CHECK(n >= 0 || n == -2 || strstr(err, "too large") != NULL);
	}
	n = pgha_parse_history(cluster.history_json, entries, 8, err, sizeof(err));
	FUZZ_CHECK(n >= -1 && n <= 8);
	free(params);
	free(buf);
}

static void
parse_listing(const uint8_t *data, size_t size)
{
	char		err[PGHA_ERR_LEN];

	memset(&cluster, 0, sizeof(cluster));
	cluster.index = 42;
	if (!pgha_parse_kv_listing((const char *) data, size, FUZZ_PREFIX,
							   &cluster, err, sizeof(err)))
	{
		FUZZ_CHECK(FUZZ_TERMINATED(err) && err[0] != '\0');
		/* *out is left untouched on failure */
		FUZZ_CHECK(cluster.index == 42 && cluster.nmembers == 0);
		return;
	}
	FUZZ_CHECK(cluster.index == 42);
	fuzz_check_cluster(&cluster);
	for (int i = 0; i < cluster.nmembers; i++)
		fuzz_check_member_roundtrip(&cluster.members[i]);
	fuzz_decide(&cluster);
	answer_from_cluster(data, size);
	check_writes();
	read_kept_keys();
}

static void
parse_other_answers(const uint8_t *data, size_t size)
{
	const char *body = (const char *) data;
	char		err[PGHA_ERR_LEN];
	char		id[PGHA_SESSION_LEN];
	bool		b;
	uint64_t	index;
	char	   *value;
	size_t		len;

	if (pgha_parse_session_create(body, size, id, sizeof(id), err, sizeof(err)))
	{
		/* it goes into URLs: /v1/session/renew/<id> */
		FUZZ_CHECK(FUZZ_TERMINATED(id) && id[0] != '\0');
		FUZZ_CHECK(strspn(id, "0123456789abcdefABCDEF-") == strlen(id));
	}
	(void) pgha_parse_session_info(body, size, &b, err, sizeof(err));
	(void) pgha_parse_bool_body(body, size, &b, err, sizeof(err));

	if (pgha_parse_kv_entry(body, size, &index, &value, &len, err, sizeof(err)))
	{
		FUZZ_CHECK(value != NULL && strlen(value) == len);
		free(value);
	}
	else
		FUZZ_CHECK(value == NULL);

	/* another member's /patroni, asked before a takeover */
	{
		PgHaFreshPosition p;

		if (pgha_parse_patroni_status(body, size, &p, err, sizeof(err)))
		{
			FUZZ_CHECK(!p.has_xlog || p.xlog >= 0);
			FUZZ_CHECK(FUZZ_TERMINATED(p.role));
		}
	}

	/* the leader key transactions' answers (leader_key.h) */
	for (long status = 200; status <= 409; status += 209)
	{
		bool		done = true;

		err[0] = '\0';
		if (pgha_parse_leader_txn(status, body, size, "service/c/", &done, &index,
								  err, sizeof(err)))
			FUZZ_CHECK(status == 200 || !done);
		else
			FUZZ_CHECK(!done);
		FUZZ_CHECK(FUZZ_TERMINATED(err));
		for (const char *p = err; *p != '\0'; p++)
			FUZZ_CHECK(*p >= 0x20 && *p <= 0x7e);
	}

	/* the message of a refusal goes into the server log: printable ASCII */
	pgha_consul_refusal("the cluster read", 500, body, size, err, sizeof(err));
	FUZZ_CHECK(FUZZ_TERMINATED(err));
	for (const char *p = err; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);

	/* the same bytes as response headers, one line at a time */
	for (size_t start = 0; start < size;)
	{
		const uint8_t *nl = memchr(data + start, '\n', size - start);
		size_t		end = nl ? (size_t) (nl - data) + 1 : size;

		(void) pgha_parse_consul_index(body + start, end - start, &index);
		start = end;
	}
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	parse_listing(data, size);
	parse_other_answers(data, size);
	return 0;
}
