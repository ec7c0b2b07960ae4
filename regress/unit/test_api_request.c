/*-------------------------------------------------------------------------
 *
 * test_api_request.c
 *	  Unit tests of a REST API request as it arrives: sizes, method, URI,
 *	  query string (src/backend/api/api_request.c, with the routing table
 *	  of api_route.c), and the credentials of a write request.
 *
 * A standalone program, no framework and no PostgreSQL.  Output: one line
 * per failed check (file:line), then "N passed, M failed"; the exit status
 * is 1 when any check failed.
 *
 * regress/unit/test_api_request.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_route.h"
#include "unit_check.h"

static void
test_parse_size(void)
{
	int64_t		v;

	CHECK(pgha_api_parse_size("0", &v) && v == 0);
	CHECK(pgha_api_parse_size("1048576", &v) && v == 1048576);
	CHECK(pgha_api_parse_size("10MB", &v) && v == 10485760);
	CHECK(pgha_api_parse_size(" 10 MB ", &v) && v == 10485760);
	CHECK(pgha_api_parse_size("1kB", &v) && v == 1024);
	CHECK(pgha_api_parse_size("1B", &v) && v == 1);
	CHECK(pgha_api_parse_size("2GB", &v) && v == INT64_C(2147483648));
	CHECK(pgha_api_parse_size("1TB", &v) && v == INT64_C(1099511627776));
	CHECK(pgha_api_parse_size("1.5kB", &v) && v == 1536);
	CHECK(pgha_api_parse_size(".5kB", &v) && v == 512);
	CHECK(pgha_api_parse_size("1.kB", &v) && v == 1024);
	CHECK(pgha_api_parse_size("1.5", &v) && v == 2);
	CHECK(pgha_api_parse_size("0.4", &v) && v == 0);
	CHECK(pgha_api_parse_size("+5", &v) && v == 5);
	CHECK(pgha_api_parse_size("1.0000000009MB", &v) && v == 1048576);
	CHECK(pgha_api_parse_size("9223372036854775807", &v) && v == INT64_MAX);
	CHECK(pgha_api_parse_size("8388607TB", &v) && v == INT64_C(8388607) << 40);

	v = 42;
	CHECK(!pgha_api_parse_size("", &v));
	CHECK(!pgha_api_parse_size("   ", &v));
	CHECK(!pgha_api_parse_size(".", &v));
	CHECK(!pgha_api_parse_size("abc", &v));
	CHECK(!pgha_api_parse_size("MB", &v));
	CHECK(!pgha_api_parse_size("10mb", &v));
	CHECK(!pgha_api_parse_size("10 M B", &v));
	CHECK(!pgha_api_parse_size("10PB", &v));
	CHECK(!pgha_api_parse_size("-1", &v));
	CHECK(!pgha_api_parse_size("1 2", &v));
	CHECK(!pgha_api_parse_size("1e3", &v));
	CHECK(!pgha_api_parse_size("0x400", &v));
	CHECK(!pgha_api_parse_size("9223372036854775808", &v));
	CHECK(!pgha_api_parse_size("99999999999999999999999", &v));
	CHECK(!pgha_api_parse_size("8388608TB", &v));
	CHECK(!pgha_api_parse_size("1\n", &v));
	CHECK(!pgha_api_parse_size(NULL, &v));
	CHECK(v == 42);
}

static void
test_parse_request(void)
{
	PgHaApiRequest req;
	PgHaApiResponse r;
	char		big[PGHA_API_MAX_URI + 64];

#define PARSE(m, u) pgha_api_parse_request((m), (u), &req, &r)
#define PARSE_FAILS(m, u, code) \
	do { \
		bool ok_ = PARSE((m), (u)); \
		CHECK(!ok_); \
		CHECK_INT(r.status, (code)); \
		CHECK(r.body == NULL || (r.content_type != NULL && \
			  strcmp(r.content_type, "application/json") == 0)); \
		pgha_api_response_free(&r); \
	} while (0)

	CHECK(PARSE("GET", "/primary") && req.endpoint == PGHA_EP_PRIMARY &&
		  req.method == PGHA_API_GET && req.wants_body);
	CHECK(PARSE("HEAD", "/replica") && req.endpoint == PGHA_EP_REPLICA &&
		  req.method == PGHA_API_HEAD && !req.wants_body);
	CHECK(PARSE("OPTIONS", "/master") && req.endpoint == PGHA_EP_PRIMARY &&
		  req.method == PGHA_API_OPTIONS && !req.wants_body);
	CHECK(PARSE("GET", "/") && req.endpoint == PGHA_EP_PRIMARY);
	CHECK(PARSE("GET", "/read-write") && req.endpoint == PGHA_EP_PRIMARY);
	CHECK(PARSE("GET", "/leader") && req.endpoint == PGHA_EP_LEADER);
	CHECK(PARSE("GET", "/standby-leader") && req.endpoint == PGHA_EP_STANDBY_LEADER);
	CHECK(PARSE("GET", "/standby_leader") && req.endpoint == PGHA_EP_STANDBY_LEADER);
	CHECK(PARSE("GET", "/read-only") && req.endpoint == PGHA_EP_READ_ONLY);
	CHECK(PARSE("GET", "/synchronous") && req.endpoint == PGHA_EP_SYNC);
	CHECK(PARSE("GET", "/asynchronous") && req.endpoint == PGHA_EP_ASYNC);
	CHECK(PARSE("GET", "/read-only-sync") && req.endpoint == PGHA_EP_READ_ONLY_SYNC);
	CHECK(PARSE("GET", "/health") && req.endpoint == PGHA_EP_HEALTH);
	CHECK(PARSE("GET", "/liveness") && req.endpoint == PGHA_EP_LIVENESS);
	CHECK(PARSE("GET", "/readiness") && req.endpoint == PGHA_EP_READINESS);
	CHECK(PARSE("GET", "/patroni") && req.endpoint == PGHA_EP_PATRONI);
	CHECK(PARSE("GET", "/cluster") && req.endpoint == PGHA_EP_CLUSTER);
	CHECK(PARSE("GET", "/history") && req.endpoint == PGHA_EP_HISTORY);
	CHECK(PARSE("GET", "/config") && req.endpoint == PGHA_EP_CONFIG);
	CHECK(PARSE("GET", "/metrics") && req.endpoint == PGHA_EP_METRICS);
	CHECK(PARSE("GET", "/patroni/") && req.endpoint == PGHA_EP_PATRONI);
	CHECK(PARSE("GET", "/prim%61ry") && req.endpoint == PGHA_EP_PRIMARY);
	CHECK(PARSE("GET", "/primary#fragment") && req.endpoint == PGHA_EP_PRIMARY);
	CHECK(PARSE("GET", "/primary?") && req.endpoint == PGHA_EP_PRIMARY);
	/* absolute-form */
	CHECK(PARSE("GET", "http://127.0.0.1:8008/replica?lag=1kB") &&
		  req.endpoint == PGHA_EP_REPLICA && req.has_max_lag && req.max_lag == 1024);
	CHECK(PARSE("GET", "HTTP://host") && req.endpoint == PGHA_EP_PRIMARY);
	CHECK(PARSE("GET", "https://host?lag=5") && req.endpoint == PGHA_EP_PRIMARY &&
		  req.has_max_lag && req.max_lag == 5);

	/* query parameters */
	CHECK(PARSE("GET", "/replica?lag=10MB") && req.has_max_lag &&
		  req.max_lag == 10485760);
	CHECK(PARSE("GET", "/replica?lag=1%20MB") && req.max_lag == 1048576);
	CHECK(PARSE("GET", "/replica?lag=1+MB") && req.max_lag == 1048576);
	CHECK(PARSE("GET", "/replica?lag=") && !req.has_max_lag);
	CHECK(PARSE("GET", "/replica?lag") && !req.has_max_lag);
	CHECK(PARSE("GET", "/replica?&&&=&x&") && !req.has_max_lag);
	CHECK(PARSE("GET", "/replica?lag=1&lag=abc") && req.max_lag == 1);
	CHECK(PARSE("GET", "/replica?foo=bar&lag=7") && req.max_lag == 7);
	CHECK(PARSE("GET", "/replica?replication_state=streaming") &&
		  req.has_replication_state &&
		  strcmp(req.replication_state, "streaming") == 0);
	CHECK(PARSE("GET", "/replica?tag_nofailover=true&tag_x=1&tag_nofailover=false") &&
		  req.ntag_filters == 2 &&
		  strcmp(req.tag_filters[0].name, "nofailover") == 0 &&
		  strcmp(req.tag_filters[0].value, "true") == 0 &&
		  strcmp(req.tag_filters[1].name, "x") == 0);
	PARSE_FAILS("GET", "/replica?lag=abc", 400);
	PARSE_FAILS("GET", "/replica?lag=-1", 400);
	PARSE_FAILS("GET", "/replica?lag=10mb", 400);
	PARSE_FAILS("GET", "/replica?lag=%", 400);
	PARSE_FAILS("GET", "/replica?x=%zz", 400);
	PARSE_FAILS("GET", "/replica?x=%4", 400);
	PARSE_FAILS("GET", "/replica?x%00=1", 400);
	PARSE_FAILS("GET", "/replica?replication_state=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", 400);
	PARSE_FAILS("GET", "/replica?tag_a=1&tag_b=1&tag_c=1&tag_d=1&tag_e=1&tag_f=1&tag_g=1&tag_h=1&tag_i=1", 400);
	{
		/* 65 parameters */
		char		q[1024] = "/replica?";

		for (int i = 0; i < 65; i++)
			strcat(q, "a=1&");
		PARSE_FAILS("GET", q, 400);
		q[strlen("/replica?") + 64 * 4] = '\0';
		CHECK(PARSE("GET", q));
	}
	{
		/* a value longer than a parameter may be */
		char		q[700] = "/replica?x=";

		memset(q + strlen(q), 'v', 300);
		q[11 + 300] = '\0';
		PARSE_FAILS("GET", q, 400);
	}

	/* methods */
	PARSE_FAILS("POST", "/primary", 405);
	CHECK(!PARSE("PUT", "/nothing") && r.status == 405 && r.allow);
	pgha_api_response_free(&r);
	PARSE_FAILS("DELETE", "/nothing", 404);
	PARSE_FAILS("get", "/primary", 405);
	PARSE_FAILS("POST", "/config", 405);
	CHECK(PARSE("PATCH", "/config") && req.endpoint == PGHA_EP_CONFIG &&
		  req.method == PGHA_API_PATCH && pgha_api_is_write(&req));
	CHECK(PARSE("POST", "/switchover") && req.endpoint == PGHA_EP_SWITCHOVER &&
		  pgha_api_is_write(&req));
	CHECK(PARSE("POST", "/failover") && req.endpoint == PGHA_EP_FAILOVER);
	CHECK(PARSE("POST", "/restart") && req.endpoint == PGHA_EP_RESTART);
	CHECK(PARSE("POST", "/reload/") && req.endpoint == PGHA_EP_RELOAD);
	CHECK(PARSE("POST", "/reinitialize") && req.endpoint == PGHA_EP_REINITIALIZE &&
		  pgha_api_is_write(&req));
	CHECK(!PARSE("GET", "/reinitialize") && r.status == 405 && r.allow &&
		  strcmp(r.allow_methods, "POST") == 0);
	pgha_api_response_free(&r);
	CHECK(PARSE("GET", "/config") && !pgha_api_is_write(&req));
	CHECK(!PARSE("GET", "/switchover") && r.status == 405 && r.allow &&
		  strcmp(r.allow_methods, "POST, DELETE") == 0);
	pgha_api_response_free(&r);
	CHECK(!PARSE("PATCH", "/patroni") && r.status == 405 && r.allow &&
		  r.allow_methods == NULL);
	pgha_api_response_free(&r);
	CHECK(!PARSE("POST", "/config") && r.status == 405 &&
		  strcmp(r.allow_methods, "GET, HEAD, OPTIONS, PATCH") == 0);
	pgha_api_response_free(&r);
	PARSE_FAILS("PUT", "/config", 405);
	/* DELETE: Patroni's scheduled restart and switchover, nothing else */
	CHECK(PARSE("DELETE", "/switchover") && req.endpoint == PGHA_EP_SWITCHOVER &&
		  req.method == PGHA_API_DELETE && pgha_api_is_write(&req) && !req.wants_body);
	CHECK(PARSE("DELETE", "/restart") && req.endpoint == PGHA_EP_RESTART &&
		  pgha_api_is_write(&req));
	CHECK(!PARSE("DELETE", "/failover") && r.status == 405 && r.allow &&
		  strcmp(r.allow_methods, "POST") == 0);
	pgha_api_response_free(&r);
	CHECK(!PARSE("DELETE", "/config") && r.status == 405 &&
		  strcmp(r.allow_methods, "GET, HEAD, OPTIONS, PATCH") == 0);
	pgha_api_response_free(&r);
	CHECK(!PARSE("DELETE", "/patroni") && r.status == 405 && r.allow_methods == NULL);
	pgha_api_response_free(&r);
	CHECK(!PARSE("GET", "/restart") && r.status == 405 &&
		  strcmp(r.allow_methods, "POST, DELETE") == 0);
	pgha_api_response_free(&r);
	PARSE_FAILS("PATCH", "/restart", 405);
	PARSE_FAILS("delete", "/restart", 405);
	PARSE_FAILS("", "/primary", 400);
	PARSE_FAILS("G ET", "/primary", 400);
	PARSE_FAILS("GET\r\n", "/primary", 400);
	PARSE_FAILS("\xff\xfe", "/primary", 400);
	PARSE_FAILS("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "/primary", 400);
	PARSE_FAILS(NULL, "/primary", 400);
	PARSE_FAILS("GET", NULL, 400);

	/* paths */
	PARSE_FAILS("GET", "", 400);
	PARSE_FAILS("GET", "primary", 400);
	PARSE_FAILS("GET", "*", 400);
	PARSE_FAILS("GET", "?lag=1", 400);
	PARSE_FAILS("GET", "/pri mary", 400);
	PARSE_FAILS("GET", "/primary\x01", 400);
	PARSE_FAILS("GET", "/primary\x7f", 400);
	PARSE_FAILS("GET", "/\xc3\xa9", 400);
	PARSE_FAILS("GET", "/primary%", 400);
	PARSE_FAILS("GET", "/primary%2", 400);
	PARSE_FAILS("GET", "/primary%zz", 400);
	PARSE_FAILS("GET", "/primary%00", 400);
	PARSE_FAILS("GET", "/nope", 404);
	PARSE_FAILS("GET", "/patroni/x", 404);
	PARSE_FAILS("GET", "//primary", 404);
	PARSE_FAILS("GET", "/primary//", 404);
	PARSE_FAILS("GET", "/PRIMARY", 404);
	PARSE_FAILS("GET", "/switchover/x", 404);
	/* an escaped slash is a slash: the trailing one is forgiven */
	CHECK(PARSE("GET", "/primary%2F") && req.endpoint == PGHA_EP_PRIMARY);
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[PGHA_API_MAX_PATH + 10] = '\0';
	PARSE_FAILS("GET", big, 404);
	memset(big, 'a', sizeof(big));
	big[0] = '/';
	big[PGHA_API_MAX_URI + 1] = '\0';
	PARSE_FAILS("GET", big, 414);
	big[PGHA_API_MAX_URI] = '\0';
	PARSE_FAILS("GET", big, 404);
	/* a long query string on a good path is fine */
	strcpy(big, "/replica?");
	for (size_t i = strlen(big); i + 4 < PGHA_API_MAX_URI; i += 4)
		memcpy(big + i, "&&&&", 4);
	big[PGHA_API_MAX_URI - 1] = '\0';
	CHECK(PARSE("GET", big));
	pgha_api_response_free(&r);

	CHECK(!pgha_api_needs_replication(NULL));
	CHECK(PARSE("GET", "/patroni") && pgha_api_needs_replication(&req));
	CHECK(PARSE("GET", "/primary") && pgha_api_needs_replication(&req));
	CHECK(PARSE("OPTIONS", "/primary") && !pgha_api_needs_replication(&req));
	CHECK(PARSE("GET", "/metrics") && !pgha_api_needs_replication(&req));
#undef PARSE
#undef PARSE_FAILS
}

static void
test_write_auth(void)
{
	char		msg[256];
	static const unsigned char v4[] = {127, 0, 0, 1};
	static const unsigned char v4o[] = {10, 0, 0, 1};
	static const unsigned char v6[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};
	static const unsigned char v6m[16] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 127, 0, 0, 9};
	static const unsigned char v6o[16] = {0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1};

	CHECK(pgha_api_is_loopback(4, v4));
	CHECK(!pgha_api_is_loopback(4, v4o));
	CHECK(pgha_api_is_loopback(6, v6));
	CHECK(pgha_api_is_loopback(6, v6m));
	CHECK(!pgha_api_is_loopback(6, v6o));
	CHECK(!pgha_api_is_loopback(5, v6));
	CHECK(!pgha_api_is_loopback(4, NULL));

	/* unset: loopback only */
	CHECK_INT(pgha_api_check_auth("", NULL, true, msg, sizeof(msg)), 0);
	CHECK_INT(pgha_api_check_auth(NULL, "Basic eDp5", true, msg, sizeof(msg)), 0);
	CHECK_INT(pgha_api_check_auth("", NULL, false, msg, sizeof(msg)), 403);
	/* set: basic auth everywhere; "admin:s3cret" */
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic YWRtaW46czNjcmV0", false, msg, sizeof(msg)), 0);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "basic  YWRtaW46czNjcmV0 ", true, msg, sizeof(msg)), 0);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", NULL, true, msg, sizeof(msg)), 401);
	CHECK_STR(msg, "no auth header received");
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Bearer YWRtaW46czNjcmV0", true, msg, sizeof(msg)), 401);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic YWRtaW46czNjcmV", true, msg, sizeof(msg)), 401);
	/* "admin:s3cre", "admin:s3cret!", "admin:wrong!" */
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic YWRtaW46czNjcmU=", true, msg, sizeof(msg)), 401);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic YWRtaW46czNjcmV0IQ==", true, msg, sizeof(msg)), 401);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic YWRtaW46d3Jvbmch", true, msg, sizeof(msg)), 401);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic !!!!", true, msg, sizeof(msg)), 401);
	CHECK_INT(pgha_api_check_auth("admin:s3cret", "Basic ", true, msg, sizeof(msg)), 401);
	/* malformed setting: nobody writes */
	CHECK_INT(pgha_api_check_auth("nocolon", "Basic bm9jb2xvbg==", true, msg, sizeof(msg)), 403);
}

int
main(void)
{
	test_parse_size();
	test_parse_request();
	test_write_auth();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
