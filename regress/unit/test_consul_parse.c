/*-------------------------------------------------------------------------
 *
 * test_consul_parse.c
 *	  Unit tests for src/common/consul_parse.c: the answers the DCS clients
 *	  read over HTTP (sessions, single KV entries, PUT and DELETE results,
 *	  X-Consul-Index, refusals, another member's GET /patroni).
 *
 * A standalone program, no framework and no PostgreSQL, like
 * test_cluster.c (which tests the recursive listing and base64): Consul
 * 1.8.7's real answers and malformed ones, each passed with its exact
 * length, so that it runs under valgrind and sanitizers too.
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_consul_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "consul_parse.h"
#include "unit_check.h"

/* string literal with its length, NUL bytes included */
#define LIT(s) (s), (sizeof(s) - 1)

#define SESSION1 "4ca8e74b-6350-7587-addf-a18084928f3c"
#define SESSION2 "b5a4b4e4-1d6c-6b0c-7c2e-6f2d1a3e1b11"

static void
test_session_create(void)
{
	char		id[PGHA_SESSION_LEN];
	char		err[PGHA_ERR_LEN];

	CHECK(pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\"}"), id, sizeof(id),
									err, sizeof(err)));
	CHECK_STR(id, SESSION1);
	CHECK(pgha_parse_session_create(LIT("{\n  \"ID\": \"" SESSION2 "\"\n}\n"), id,
									sizeof(id), err, sizeof(err)));
	CHECK_STR(id, SESSION2);
	/* exactly fitting idlen */
	CHECK(pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\"}"), id, 37,
									err, sizeof(err)));
	CHECK_STR(id, SESSION1);

	strcpy(id, "untouched");
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\"}"), id, 36,
									 err, sizeof(err)));
	CHECK_STR(err, "session ID is too long (36 bytes, at most 35)");
	CHECK_STR(id, "untouched");
	CHECK(!pgha_parse_session_create(LIT("{}"), id, sizeof(id), err, sizeof(err)));
	CHECK_STR(err, "session create answer has no ID");
	CHECK(!pgha_parse_session_create(LIT("{\"id\":\"" SESSION1 "\"}"), id, sizeof(id),
									 err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":42}"), id, sizeof(id), err, sizeof(err)));
	CHECK_STR(err, "session ID is not a string");
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":null}"), id, sizeof(id), err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"\"}"), id, sizeof(id), err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"../../kv/x\"}"), id, sizeof(id),
									 err, sizeof(err)));
	CHECK_STR(err, "session ID \"../../kv/x\" is not a valid session ID");
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 SESSION1 "\"}"), id,
									 sizeof(id), err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("[\"" SESSION1 "\"]"), id, sizeof(id),
									 err, sizeof(err)));
	CHECK_STR(err, "session create answer is not a JSON object");
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\""), id, sizeof(id),
									 err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\"}\0"), id, sizeof(id),
									 err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT(""), id, sizeof(id), err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("rpc error: No cluster leader"), id, sizeof(id),
									 err, sizeof(err)));
	CHECK(!pgha_parse_session_create(NULL, 0, id, sizeof(id), err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\"}"), NULL, 40,
									 err, sizeof(err)));
	CHECK(!pgha_parse_session_create(LIT("{\"ID\":\"" SESSION1 "\"}"), id, 0,
									 err, sizeof(err)));
	CHECK_STR(id, "untouched");
}

static void
test_session_info(void)
{
	char		err[PGHA_ERR_LEN];
	bool		exists;

	exists = false;
	CHECK(pgha_parse_session_info(LIT("[{\"ID\":\"" SESSION1 "\",\"Name\":\"pg1\",\"TTL\":\"15s\"}]"),
								  &exists, err, sizeof(err)));
	CHECK(exists);
	exists = true;
	CHECK(pgha_parse_session_info(LIT("[]"), &exists, err, sizeof(err)));
	CHECK(!exists);
	exists = true;
	CHECK(pgha_parse_session_info(LIT("null"), &exists, err, sizeof(err)));
	CHECK(!exists);
	exists = true;
	CHECK(pgha_parse_session_info(LIT("null\n"), &exists, err, sizeof(err)));
	CHECK(!exists);
	exists = false;
	CHECK(pgha_parse_session_info(LIT("[\n  {}\n]\n"), &exists, err, sizeof(err)));
	CHECK(exists);

	exists = true;
	CHECK(!pgha_parse_session_info(LIT("{}"), &exists, err, sizeof(err)));
	CHECK_STR(err, "session info answer is not a JSON array");
	CHECK(exists);
	CHECK(!pgha_parse_session_info(LIT("\"[]\""), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("false"), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("0"), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT(""), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("nul"), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("[{}"), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("[]\0"), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("[] []"), &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(NULL, 0, &exists, err, sizeof(err)));
	CHECK(!pgha_parse_session_info(LIT("[]"), NULL, err, sizeof(err)));
	CHECK(exists);
}

static void
test_bool_body(void)
{
	char		err[PGHA_ERR_LEN];
	bool		result;

	result = false;
	CHECK(pgha_parse_bool_body(LIT("true"), &result, err, sizeof(err)) && result);
	CHECK(pgha_parse_bool_body(LIT("false"), &result, err, sizeof(err)) && !result);
	CHECK(pgha_parse_bool_body(LIT("true\n"), &result, err, sizeof(err)) && result);
	CHECK(pgha_parse_bool_body(LIT("false \r\n\t"), &result, err, sizeof(err)) && !result);
	/* only len bytes count */
	CHECK(pgha_parse_bool_body("truefalse", 4, &result, err, sizeof(err)) && result);

	result = true;
	CHECK(!pgha_parse_bool_body(LIT("truex"), &result, err, sizeof(err)));
	CHECK_STR(err, "unexpected data after true in body");
	CHECK(!pgha_parse_bool_body(LIT("false\nfalse"), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("tru"), &result, err, sizeof(err)));
	CHECK_STR(err, "body is neither true nor false");
	CHECK(!pgha_parse_bool_body(LIT(""), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("TRUE"), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT(" true"), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("1"), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("\"true\""), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("true\0"), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("\0true"), &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body("true", 3, &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(NULL, 0, &result, err, sizeof(err)));
	CHECK(!pgha_parse_bool_body(LIT("true"), NULL, err, sizeof(err)));
	CHECK(result);				/* untouched by the failures */
}

/* X-Consul-Index, as libcurl hands header lines to dcs_consul.c */
static void
test_consul_index(void)
{
	uint64_t	index;

	index = 0;
	CHECK(pgha_parse_consul_index(LIT("X-Consul-Index: 4711\r\n"), &index) && index == 4711);
	CHECK(pgha_parse_consul_index(LIT("x-consul-index:7"), &index) && index == 7);
	CHECK(pgha_parse_consul_index(LIT("X-CONSUL-INDEX: \t 0 \r\n"), &index) && index == 0);
	CHECK(pgha_parse_consul_index(LIT("X-Consul-Index: 18446744073709551615\r\n"), &index) &&
		  index == UINT64_MAX);
	/* longer than the 31 bytes the old parser copied: still read whole */
	CHECK(pgha_parse_consul_index(LIT("X-Consul-Index: 0000000000000000000000000000000000000042\r\n"),
								  &index) && index == 42);
	/* only len bytes count */
	CHECK(pgha_parse_consul_index("X-Consul-Index: 123", 17, &index) && index == 1);

	index = 99;
	/* strtoull() took "-1" as 2^64 - 1: an index from nowhere */
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: -1\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: +5\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: 18446744073709551616\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: 12abc\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: 1 2\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: 0x10\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index:\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index:"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Index: 5\0"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-Indexes: 5\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("X-Consul-KnownLeader: true\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT("HTTP/1.1 200 OK\r\n"), &index));
	CHECK(!pgha_parse_consul_index(LIT(""), &index));
	CHECK(!pgha_parse_consul_index(NULL, 20, &index));
	CHECK(index == 99);			/* untouched by the failures */
}

/* the message for a non-2xx answer goes into the server log */
static void
test_consul_refusal(void)
{
	char		err[PGHA_ERR_LEN];
	char		big[400];

	pgha_consul_refusal("the session renewal", 404, LIT("invalid session \"x\"\n"),
						err, sizeof(err));
	CHECK_STR(err, "Consul refused the session renewal: HTTP 404: invalid session \"x\"");
	pgha_consul_refusal("a key read", 403, LIT(""), err, sizeof(err));
	CHECK_STR(err, "Consul refused a key read: HTTP 403");
	pgha_consul_refusal("a key read", 500, NULL, 10, err, sizeof(err));
	CHECK_STR(err, "Consul refused a key read: HTTP 500");
	/* NUL, control and non-ASCII bytes do not reach the log */
	pgha_consul_refusal("a key read", 500, LIT("a\0b\x1b[31m\xff\r\n"), err, sizeof(err));
	CHECK_STR(err, "Consul refused a key read: HTTP 500: a?b?[31m?");
	/* at most 160 bytes of it */
	memset(big, 'x', sizeof(big));
	pgha_consul_refusal("a key read", 500, big, sizeof(big), err, sizeof(err));
	CHECK(strlen(err) == strlen("Consul refused a key read: HTTP 500: ") + 160);
}

/* GET /v1/kv/<key> without ?raw: the CLI reads single keys this way */
static void
test_kv_entry(void)
{
	char		err[PGHA_ERR_LEN];
	uint64_t	index = 0;
	char	   *value = NULL;
	size_t		len = 99;

	/* Patroni's failover key "{}", as Consul 1.8.7 answers it */
	CHECK(pgha_parse_kv_entry(LIT("[{\"LockIndex\":0,\"Key\":\"service/otus/failover\",\"Flags\":0,\"Value\":\"e30=\",\"CreateIndex\":12,\"ModifyIndex\":345}]"),
							  &index, &value, &len, err, sizeof(err)));
	CHECK(index == 345 && len == 2 && value != NULL);
	CHECK_STR(value, "{}");
	free(value);
	/* an empty value: Consul omits it or sends null */
	CHECK(pgha_parse_kv_entry(LIT("[{\"Key\":\"k\",\"ModifyIndex\":7,\"Value\":null}]"),
							  &index, &value, &len, err, sizeof(err)));
	CHECK(index == 7 && len == 0 && value != NULL && value[0] == '\0');
	free(value);
	CHECK(pgha_parse_kv_entry(LIT("[{\"Key\":\"k\",\"ModifyIndex\":0}]"),
							  &index, &value, &len, err, sizeof(err)));
	CHECK(index == 0 && len == 0 && value != NULL && value[0] == '\0');
	free(value);

	index = 5;
	CHECK(!pgha_parse_kv_entry(LIT("[]"), &index, &value, &len, err, sizeof(err)));
	CHECK_STR(err, "not a KV entry");
	CHECK(value == NULL && len == 0);
	CHECK(!pgha_parse_kv_entry(LIT("{\"ModifyIndex\":1}"), &index, &value, &len, err, sizeof(err)));
	CHECK_STR(err, "not a KV entry");
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":-1}]"), &index, &value, &len, err, sizeof(err)));
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":\"1\"}]"), &index, &value, &len, err, sizeof(err)));
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":1.5}]"), &index, &value, &len, err, sizeof(err)));
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":1,\"Value\":5}]"), &index, &value, &len, err, sizeof(err)));
	CHECK_STR(err, "Value is not a string");
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":1,\"Value\":\"e30\"}]"), &index, &value, &len, err, sizeof(err)));
	CHECK_STR(err, "Value is not valid base64");
	/* "a\0b" */
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":1,\"Value\":\"YQBi\"}]"), &index, &value, &len, err, sizeof(err)));
	CHECK_STR(err, "Value is not text (it contains a NUL byte)");
	CHECK(!pgha_parse_kv_entry(LIT("[{\"ModifyIndex\":1,\"ModifyIndex\":2}]"), &index, &value, &len, err, sizeof(err)));
	CHECK(!pgha_parse_kv_entry(LIT("not json"), &index, &value, &len, err, sizeof(err)));
	CHECK(!pgha_parse_kv_entry(NULL, 0, &index, &value, &len, err, sizeof(err)));
	CHECK(!pgha_parse_kv_entry(LIT("[]"), NULL, &value, &len, err, sizeof(err)));
	CHECK(index == 5 && value == NULL);
}

static void
test_session_ttl(void)
{
	int			ttl = 0;

	CHECK(pgha_parse_session_ttl(LIT("[{\"ID\":\"x\",\"TTL\":\"15s\"}]"), &ttl));
	CHECK(ttl == 15000);
	CHECK(pgha_parse_session_ttl(LIT("[{\"TTL\":\"1m30s\"}]"), &ttl));
	CHECK(ttl == 90000);
	CHECK(pgha_parse_session_ttl(LIT("[{\"TTL\":\"500ms\"}]"), &ttl));
	CHECK(ttl == 500);
	CHECK(!pgha_parse_session_ttl(LIT("[{\"TTL\":\"\"}]"), &ttl));
	CHECK(!pgha_parse_session_ttl(LIT("[{\"TTL\":\"15x\"}]"), &ttl));
	CHECK(!pgha_parse_session_ttl(LIT("[{\"TTL\":15}]"), &ttl));
	CHECK(!pgha_parse_session_ttl(LIT("[]"), &ttl));
	CHECK(!pgha_parse_session_ttl(LIT("null"), &ttl));
	CHECK(!pgha_parse_session_ttl(LIT("[{}"), &ttl));
	CHECK(ttl == 500);
}

/* a member's /patroni answer, as pg_ha and Patroni give it */
static void
test_patroni_status(void)
{
	PgHaFreshPosition p;
	char		err[PGHA_ERR_LEN];
	const char *replica = "{\"state\":\"running\",\"role\":\"replica\",\"timeline\":3,"
		"\"xlog\":{\"received_location\":5000,\"replayed_location\":4000}}";
	const char *primary = "{\"role\":\"master\",\"timeline\":4,\"xlog\":{\"location\":9000}}";

	CHECK(pgha_parse_patroni_status(replica, strlen(replica), &p, err, sizeof(err)));
	CHECK(p.has_xlog && p.xlog == 5000 && p.timeline == 3 && strcmp(p.role, "replica") == 0);
	CHECK(pgha_parse_patroni_status(primary, strlen(primary), &p, err, sizeof(err)));
	CHECK(p.has_xlog && p.xlog == 9000 && p.timeline == 4);
	CHECK(pgha_parse_patroni_status(LIT("{}"), &p, err, sizeof(err)));
	CHECK(!p.has_xlog && p.timeline == 0 && p.role[0] == '\0');
	CHECK(pgha_parse_patroni_status(LIT("{\"timeline\":-1,\"xlog\":{\"location\":-5}}"), &p, err, sizeof(err)));
	CHECK(!p.has_xlog && p.timeline == 0);
	CHECK(!pgha_parse_patroni_status(LIT("[1]"), &p, err, sizeof(err)));
	CHECK(!pgha_parse_patroni_status(LIT("{nope"), &p, err, sizeof(err)));
}

int
main(void)
{
	test_patroni_status();
	test_session_create();
	test_session_info();
	test_bool_body();
	test_consul_index();
	test_consul_refusal();
	test_kv_entry();
	test_session_ttl();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
