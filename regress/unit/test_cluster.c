/*-------------------------------------------------------------------------
 *
 * test_cluster.c
 *	  Unit tests for the cluster model: src/common/cluster.c, which builds
 *	  it from Consul's recursive KV listing, and the key formats it reads
 *	  through (member records, the config, sync, failover, restart and
 *	  history keys, the stopped-member tracker).
 *
 * A standalone program, no framework and no PostgreSQL: it feeds the
 * parsers the values a Patroni 3.0.2 cluster really writes to Consul
 * (as observed in the patroni-wire-formats reference) and a collection of
 * malformed inputs, and checks the results field by field.  It is meant
 * to run under valgrind and sanitizers too, so every input is passed with
 * its exact length and no check relies on a crash.  Consul's other
 * answers, member tags and the restart order have programs of their own
 * (test_consul_parse.c, test_member.c, test_restart_order.c).
 *
 * Build and run (PURE_COMMON in the Makefile lists src/common's files):
 *	  make regress/unit/test_cluster && regress/unit/test_cluster
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_cluster.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base64.h"
#include "cluster.h"
#include "config_key.h"
#include "history.h"
#include "iso_time.h"
#include "member.h"
#include "member_tracker.h"
#include "sync_key.h"
#include "unit_check.h"

/* string literal with its length, NUL bytes included */
#define LIT(s) (s), (sizeof(s) - 1)

/* The Patroni 3.0.2 values from the reference, under service/otus/. */
#define PREFIX "service/otus/"
static const char patroni_config[] =
"{\"ttl\": 30, \"loop_wait\": 10, \"retry_timeout\": 10, \"maximum_lag_on_failover\": 1048576, \"postgresql\": {\"use_pg_rewind\": true, \"use_slots\": true, \"parameters\": {\"max_wal_senders\": 10, \"max_replication_slots\": 10, \"wal_keep_size\": \"128MB\", \"shared_buffers\": \"32MB\", \"max_connections\": 50}}}";
static const char patroni_history[] =
"[[1,71968280,\"no recovery target specified\",\"2026-11-25T17:21:22.394218+00:00\",\"pg2\"],[2,72064304,\"no recovery target specified\",\"2026-11-25T17:21:42.206218+00:00\",\"pg3\"],[3,72177168,\"no recovery target specified\",\"2026-11-25T17:21:56.378218+00:00\",\"pg2\"],[4,72306016,\"no recovery target specified\",\"2026-11-25T17:22:37.486219+00:00\",\"pg1\"],[5,72501936,\"no recovery target specified\",\"2026-11-25T17:23:00.242220+00:00\",\"pg3\"]]";
static const char patroni_pg1[] =
"{\"conn_url\":\"postgres://127.0.0.1:15431/postgres\",\"api_url\":\"http://127.0.0.1:18008/patroni\",\"state\":\"stopped\",\"role\":\"master\",\"version\":\"3.0.2\"}";
static const char patroni_pg2[] =
"{\"conn_url\":\"postgres://127.0.0.1:15432/postgres\",\"api_url\":\"http://127.0.0.1:18009/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":72501936,\"timeline\":5}";
static const char patroni_pg3[] =
"{\"conn_url\":\"postgres://127.0.0.1:15433/postgres\",\"api_url\":\"http://127.0.0.1:18010/patroni\",\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":72516120,\"timeline\":6}";

#define SESSION1 "4ca8e74b-6350-7587-addf-a18084928f3c"
#define SESSION2 "b5a4b4e4-1d6c-6b0c-7c2e-6f2d1a3e1b11"
#define SESSION3 "0e3c5b63-5f0e-4f0b-9a53-8d1b0c3d3a6f"

/*
 * A KV listing under construction: a JSON array written into a fixed
 * buffer, big enough for every test here.
 */
typedef struct Listing
{
	char		buf[262144];
	size_t		len;
	int			nentries;
} Listing;

static void
b64encode(const char *src, size_t len, char *dst)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t		i;
	char	   *p = dst;

	for (i = 0; i + 2 < len; i += 3)
	{
		unsigned long v = ((unsigned long) (unsigned char) src[i] << 16) |
		((unsigned long) (unsigned char) src[i + 1] << 8) |
		(unsigned long) (unsigned char) src[i + 2];

		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (len - i == 1)
	{
		unsigned long v = (unsigned long) (unsigned char) src[i] << 16;

		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = '=';
		*p++ = '=';
	}
	else if (len - i == 2)
	{
		unsigned long v = ((unsigned long) (unsigned char) src[i] << 16) |
		((unsigned long) (unsigned char) src[i + 1] << 8);

		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = '=';
	}
	*p = '\0';
}

static void
listing_init(Listing *l)
{
	strcpy(l->buf, "[");
	l->len = 1;
	l->nentries = 0;
}

static void
listing_append(Listing *l, const char *s)
{
	size_t		n = strlen(s);

	if (l->len + n + 2 > sizeof(l->buf))
	{
		printf("test listing buffer too small\n");
		exit(2);
	}
	memcpy(l->buf + l->len, s, n + 1);
	l->len += n;
}

/*
 * Add an entry as Consul lists it.  value may hold NUL bytes (vlen gives
 * its length); NULL stands for Consul's null Value.  session may be NULL.
 */
static void
listing_add_raw(Listing *l, const char *key, const char *value, size_t vlen,
				const char *session, long index)
{
	char		entry[8192];
	char		b64[4096];

	if (value != NULL)
	{
		if (vlen / 3 * 4 + 5 > sizeof(b64))
		{
			printf("test value too long\n");
			exit(2);
		}
		b64encode(value, vlen, b64);
	}
	snprintf(entry, sizeof(entry),
			 "%s{\"LockIndex\":%d,\"Key\":\"%s\",\"Flags\":0,\"Value\":%s%s%s,"
			 "%s%s%s\"CreateIndex\":%ld,\"ModifyIndex\":%ld}",
			 l->nentries > 0 ? "," : "",
			 session ? 1 : 0, key,
			 value ? "\"" : "", value ? b64 : "null", value ? "\"" : "",
			 session ? "\"Session\":\"" : "", session ? session : "",
			 session ? "\"," : "",
			 index, index);
	listing_append(l, entry);
	l->nentries++;
}

static void
listing_add(Listing *l, const char *key, const char *value,
			const char *session, long index)
{
	listing_add_raw(l, key, value, value ? strlen(value) : 0, session, index);
}

static void
listing_finish(Listing *l)
{
	listing_append(l, "]");
}

/* the whole Patroni cluster of the reference, as Consul lists it */
static void
patroni_listing(Listing *l)
{
	listing_init(l);
	listing_add(l, PREFIX "config", patroni_config, NULL, 20);
	listing_add(l, PREFIX "failover", "{}", NULL, 21);
	listing_add(l, PREFIX "history", patroni_history, NULL, 22);
	listing_add(l, PREFIX "initialize", "7712159771297452225", NULL, 5);
	listing_add(l, PREFIX "leader", "pg3", SESSION3, 1234);
	listing_add(l, PREFIX "members/pg1", patroni_pg1, SESSION1, 30);
	listing_add(l, PREFIX "members/pg2", patroni_pg2, SESSION2, 31);
	listing_add(l, PREFIX "members/pg3", patroni_pg3, SESSION3, 32);
	listing_add(l, PREFIX "status", "{\"optime\":72516120}", NULL, 33);
	listing_finish(l);
}

/* parse a listing into *c, which starts out all zero */
static bool
parse_listing(const Listing *l, PgHaCluster *c, char *err)
{
	memset(c, 0, sizeof(*c));
	err[0] = '\0';
	return pgha_parse_kv_listing(l->buf, l->len, PREFIX, c, err, PGHA_ERR_LEN);
}

/* a listing holding a single key under PREFIX */
static bool
parse_one(const char *relkey, const char *value, size_t vlen,
		  const char *session, PgHaCluster *c, char *err)
{
	static Listing l;
	char		key[512];

	snprintf(key, sizeof(key), "%s%s", PREFIX, relkey);
	listing_init(&l);
	listing_add_raw(&l, key, value, vlen, session, 7);
	listing_finish(&l);
	return parse_listing(&l, c, err);
}

static void
test_base64(void)
{
	char		buf[64];
	char		enc[128];
	char		raw[40];
	int			i;

	CHECK(pgha_base64_decode(LIT(""), buf, sizeof(buf)) == 0);
	CHECK_STR(buf, "");
	CHECK(pgha_base64_decode(LIT("Zg=="), buf, sizeof(buf)) == 1);
	CHECK_STR(buf, "f");
	CHECK(pgha_base64_decode(LIT("Zm8="), buf, sizeof(buf)) == 2);
	CHECK_STR(buf, "fo");
	CHECK(pgha_base64_decode(LIT("Zm9v"), buf, sizeof(buf)) == 3);
	CHECK_STR(buf, "foo");
	CHECK(pgha_base64_decode(LIT("Zm9vYmFy"), buf, sizeof(buf)) == 6);
	CHECK_STR(buf, "foobar");
	/* Consul's Value for the leader key "pg3" */
	CHECK(pgha_base64_decode(LIT("cGcz"), buf, sizeof(buf)) == 3);
	CHECK_STR(buf, "pg3");
	CHECK(pgha_base64_decode(LIT("+/+/"), buf, sizeof(buf)) == 3);
	CHECK(memcmp(buf, "\xfb\xff\xbf", 3) == 0);

	/* room for the NUL terminator is required */
	CHECK(pgha_base64_decode(LIT("Zm9v"), buf, 4) == 3);
	CHECK(pgha_base64_decode(LIT("Zm9v"), buf, 3) == -1);
	CHECK(pgha_base64_decode(LIT("Zg=="), buf, 2) == 1);
	CHECK(pgha_base64_decode(LIT("Zg=="), buf, 1) == -1);
	CHECK(pgha_base64_decode(LIT(""), buf, 1) == 0);
	CHECK(pgha_base64_decode(LIT(""), buf, 0) == -1);
	CHECK(pgha_base64_decode(LIT("Zg=="), NULL, 10) == -1);
	CHECK(pgha_base64_decode(NULL, 4, buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(NULL, 0, buf, sizeof(buf)) == 0);

	/* malformed input */
	CHECK(pgha_base64_decode(LIT("Zm9"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zg="), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zg"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm9v!A=="), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm 9v"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm9v\n"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm9\n"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zg=a"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Z==="), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("===="), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zg==Zm9v"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm=v"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("-_-_"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm\0v"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm9v\0\0\0\0"), buf, sizeof(buf)) == -1);
	CHECK(pgha_base64_decode(LIT("Zm9v\xc3\xa9=="), buf, sizeof(buf)) == -1);
	/* a failed decode leaves an empty string behind */
	CHECK(pgha_base64_decode(LIT("Zm9v!!!!"), buf, sizeof(buf)) == -1 &&
		  buf[0] == '\0');
	/* only the given length is read */
	CHECK(pgha_base64_decode("Zm9vYmFy", 4, buf, sizeof(buf)) == 3);
	CHECK_STR(buf, "foo");

	/* binary data with NUL bytes round-trips, every length 0..39 */
	for (i = 0; i < (int) sizeof(raw); i++)
		raw[i] = (char) (i * 37 + 11);
	raw[3] = '\0';
	for (i = 0; i <= (int) sizeof(raw); i++)
	{
		int			n;

		b64encode(raw, (size_t) i, enc);
		n = pgha_base64_decode(enc, strlen(enc), buf, sizeof(buf));
		if (n != i || memcmp(buf, raw, (size_t) i) != 0 || buf[i] != '\0')
		{
			printf("base64 round trip failed at length %d\n", i);
			break;
		}
	}
	CHECK(i == (int) sizeof(raw) + 1);
}

static void
test_listing_patroni(void)
{
	static Listing l;
	static PgHaCluster c;
	char		err[PGHA_ERR_LEN];
	const PgHaMember *m;

	patroni_listing(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK_STR(err, "");
	CHECK(c.nwarnings == 0);
	CHECK_STR(c.warning, "");
	CHECK(c.index == 0);

	CHECK(c.has_initialize);
	CHECK_STR(c.initialize, "7712159771297452225");
	CHECK(c.has_leader);
	CHECK_STR(c.leader, "pg3");
	CHECK_STR(c.leader_session, SESSION3);
	CHECK(c.leader_modify_index == 1234);
	CHECK(c.has_config);
	CHECK(c.config_valid);
	CHECK(!c.paused);
	CHECK(c.has_optime);
	CHECK(c.optime == 72516120);
	CHECK(!c.has_failover);		/* "{}" is no pending failover */
	CHECK(c.nmembers == 3);

	m = pgha_find_member(&c, "pg1");
	CHECK(m != NULL);
	if (m != NULL)
	{
		CHECK_STR(m->name, "pg1");
		CHECK_STR(m->conn_url, "postgres://127.0.0.1:15431/postgres");
		CHECK_STR(m->api_url, "http://127.0.0.1:18008/patroni");
		CHECK_STR(m->state, "stopped");
		CHECK_STR(m->role, "master");
		CHECK_STR(m->version, "3.0.2");
		CHECK(!m->has_xlog);
		CHECK(m->xlog_location == 0);
		CHECK(m->timeline == 0);
		CHECK(!m->pending_restart);
		CHECK(!m->nofailover);
		CHECK_STR(m->session, SESSION1);
	}
	m = pgha_find_member(&c, "pg2");
	CHECK(m != NULL);
	if (m != NULL)
	{
		CHECK_STR(m->name, "pg2");
		CHECK_STR(m->conn_url, "postgres://127.0.0.1:15432/postgres");
		CHECK_STR(m->api_url, "http://127.0.0.1:18009/patroni");
		CHECK_STR(m->state, "running");
		CHECK_STR(m->role, "replica");
		CHECK(m->has_xlog);
		CHECK(m->xlog_location == 72501936);
		CHECK(m->timeline == 5);
		CHECK_STR(m->session, SESSION2);
	}
	m = pgha_find_member(&c, "pg3");
	CHECK(m != NULL);
	if (m != NULL)
	{
		CHECK_STR(m->role, "master");
		CHECK(m->has_xlog);
		CHECK(m->xlog_location == 72516120);
		CHECK(m->timeline == 6);
		CHECK_STR(m->session, SESSION3);
	}
	CHECK(pgha_find_member(&c, "pg4") == NULL);
	/* the listing order is kept */
	CHECK_STR(c.members[0].name, "pg1");
	CHECK_STR(c.members[2].name, "pg3");

	/* the caller's index survives, everything else is overwritten */
	memset(&c, 0x5a, sizeof(c));
	c.index = 987654321;
	CHECK(pgha_parse_kv_listing(l.buf, l.len, PREFIX, &c, err, sizeof(err)));
	CHECK(c.index == 987654321);
	CHECK(c.nmembers == 3);
	CHECK(c.nwarnings == 0);
	CHECK_STR(c.warning, "");
	CHECK(c.members[3].name[0] == '\0');

	/* the same listing seen from another cluster's prefix is empty */
	memset(&c, 0, sizeof(c));
	CHECK(pgha_parse_kv_listing(l.buf, l.len, "service/otus2/", &c, err,
								sizeof(err)));
	CHECK(!c.has_initialize && !c.has_leader && !c.has_config &&
		  c.nmembers == 0 && c.nwarnings == 0);
	/* a prefix without the trailing slash does not match "service/otus/x" */
	memset(&c, 0, sizeof(c));
	CHECK(pgha_parse_kv_listing(l.buf, l.len, "service/otu", &c, err,
								sizeof(err)));
	CHECK(!c.has_leader && c.nmembers == 0);
}

static void
test_listing_keys(void)
{
	static Listing l;
	static PgHaCluster c;
	char		err[PGHA_ERR_LEN];
	char		big[200];

	/* an empty listing: nothing there, no warning */
	listing_init(&l);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.has_initialize && !c.has_leader && !c.has_config &&
		  !c.has_optime && !c.has_failover && c.nmembers == 0 &&
		  c.nwarnings == 0);

	/* whitespace around the array, as Consul pretty-prints with ?pretty */
	CHECK(pgha_parse_kv_listing(LIT(" [ ]\n"), PREFIX, &c, err, sizeof(err)));

	/* keys of other clusters, other prefixes and unknown keys are ignored */
	listing_init(&l);
	listing_add(&l, "service/other/leader", "pgx", SESSION1, 3);
	listing_add(&l, "service/otus2/leader", "pgy", SESSION1, 3);
	listing_add(&l, "service/otus", "", NULL, 3);
	listing_add(&l, "service/otus/", NULL, NULL, 3);
	listing_add(&l, PREFIX "history", "not json at all", NULL, 3);
	listing_add(&l, PREFIX "sync", "{}", NULL, 3);
	listing_add(&l, PREFIX "leaderx", "pgz", NULL, 3);
	listing_add(&l, PREFIX "lead", "pgz", NULL, 3);
	listing_add(&l, PREFIX "l", "pgz", NULL, 3);
	listing_add(&l, PREFIX "init", "123", NULL, 3);
	listing_add(&l, PREFIX "conf", "{}", NULL, 3);
	listing_add(&l, PREFIX "member", "{}", NULL, 3);
	listing_add(&l, PREFIX "membersx/pg1", patroni_pg1, NULL, 3);
	listing_add(&l, PREFIX "members/", NULL, NULL, 3);
	listing_add(&l, PREFIX "members/pg1/extra", "junk", NULL, 3);
	listing_add(&l, "other/" PREFIX "members/pg9", patroni_pg1, NULL, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.has_leader);
	CHECK(!c.has_initialize && !c.has_config);
	CHECK(c.nmembers == 0);
	CHECK(c.nwarnings == 0);

	/* initialize */
	CHECK(parse_one("initialize", LIT("7712159771297452225"), NULL, &c, err));
	CHECK(c.has_initialize && strcmp(c.initialize, "7712159771297452225") == 0);
	CHECK(parse_one("initialize", LIT("18446744073709551615"), NULL, &c, err));
	CHECK(c.has_initialize && c.nwarnings == 0);
	CHECK(parse_one("initialize", LIT("18446744073709551616"), NULL, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	CHECK(parse_one("initialize", LIT("77121597712974x"), NULL, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	CHECK_STR(c.warning, "initialize: \"77121597712974x\" is not a system identifier");
	CHECK(parse_one("initialize", LIT("-1"), NULL, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	CHECK(parse_one("initialize", LIT(" 42"), NULL, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	CHECK(parse_one("initialize", LIT("42\0"), NULL, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	CHECK_STR(c.warning, "initialize: \"42?\" is not a system identifier");
	memset(big, '7', 100);
	CHECK(parse_one("initialize", big, 100, NULL, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	/* Patroni's empty value: the initialization lock is taken */
	CHECK(parse_one("initialize", LIT(""), NULL, &c, err));
	CHECK(c.has_initialize && c.initialize[0] == '\0' && c.nwarnings == 0);
	CHECK(parse_one("initialize", NULL, 0, NULL, &c, err));
	CHECK(c.has_initialize && c.initialize[0] == '\0' && c.nwarnings == 0);

	/* leader */
	CHECK(parse_one("leader", LIT("pg1"), SESSION1, &c, err));
	CHECK(c.has_leader && strcmp(c.leader, "pg1") == 0);
	CHECK_STR(c.leader_session, SESSION1);
	CHECK(c.leader_modify_index == 7);
	CHECK(parse_one("leader", LIT(""), SESSION1, &c, err));
	CHECK(!c.has_leader && c.leader[0] == '\0' && c.nwarnings == 0);
	CHECK(c.leader_modify_index == 7);
	CHECK(parse_one("leader", NULL, 0, NULL, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 0 && c.leader_session[0] == '\0');
	CHECK(parse_one("leader", LIT("pg1"), NULL, &c, err));
	CHECK(c.has_leader && c.leader_session[0] == '\0');
	CHECK(parse_one("leader", LIT("pg/1"), SESSION1, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 1);
	CHECK_STR(c.warning, "leader: \"pg/1\" is not a valid member name");
	CHECK(parse_one("leader", LIT("pg1\0x"), SESSION1, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 1);
	memset(big, 'a', 64);
	CHECK(parse_one("leader", big, 64, SESSION1, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 1);
	CHECK(parse_one("leader", big, 63, SESSION1, &c, err));
	CHECK(c.has_leader && strlen(c.leader) == 63 && c.nwarnings == 0);
	CHECK(parse_one("leader", LIT("pg1"), "not-a-uuid!", &c, err));
	CHECK(c.has_leader && c.leader_session[0] == '\0' && c.nwarnings == 1);
	CHECK(parse_one("leader", LIT("pg1"), SESSION1 "0123456789", &c, err));
	CHECK(c.has_leader && c.leader_session[0] == '\0' && c.nwarnings == 1);

	/* config */
	CHECK(parse_one("config", LIT("{\"ttl\":30,\"pause\":true}"), NULL, &c, err));
	CHECK(c.has_config && c.config_valid && c.paused && c.nwarnings == 0);
	CHECK(parse_one("config", LIT("{\"pause\":false}"), NULL, &c, err));
	CHECK(c.has_config && c.config_valid && !c.paused);
	CHECK(parse_one("config", LIT("{\"pause\":\"true\"}"), NULL, &c, err));
	CHECK(c.config_valid && !c.paused);
	CHECK(parse_one("config", LIT("{}"), NULL, &c, err));
	CHECK(c.has_config && c.config_valid && !c.paused);
	CHECK(parse_one("config", LIT("[1,2]"), NULL, &c, err));
	CHECK(c.has_config && !c.config_valid && c.nwarnings == 1);
	CHECK_STR(c.warning, "config is not a JSON object");
	CHECK(parse_one("config", LIT("{\"ttl\": 30,"), NULL, &c, err));
	CHECK(c.has_config && !c.config_valid && c.nwarnings == 1);
	CHECK(strncmp(c.warning, "config is not valid JSON: ", 26) == 0);
	CHECK(parse_one("config", LIT("{\"pause\":true}\0"), NULL, &c, err));
	CHECK(c.has_config && !c.config_valid && !c.paused);
	CHECK(parse_one("config", NULL, 0, NULL, &c, err));
	CHECK(c.has_config && !c.config_valid);

	/* status and optime/leader */
	CHECK(parse_one("status", LIT("{\"optime\":72516120,\"slots\":{\"pg1\":1}}"), NULL, &c, err));
	CHECK(c.has_optime && c.optime == 72516120 && c.nwarnings == 0);
	CHECK(parse_one("status", LIT("{\"optime\":9223372036854775807}"), NULL, &c, err));
	CHECK(c.has_optime && c.optime == INT64_MAX);
	CHECK(parse_one("status", LIT("{\"slots\":{}}"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 0);
	CHECK(parse_one("status", LIT("{\"optime\":\"72516120\"}"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK_STR(c.warning, "status: optime is not an integer");
	CHECK(parse_one("status", LIT("{\"optime\":-1}"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("status", LIT("{\"optime\":1.5}"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("status", LIT("{\"optime\":99999999999999999999}"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("status", LIT("72516120"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("optime/leader", LIT("72516120"), NULL, &c, err));
	CHECK(c.has_optime && c.optime == 72516120 && c.nwarnings == 0);
	CHECK(parse_one("optime/leader", LIT("9223372036854775808"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("optime/leader", LIT("99999999999999999999999"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("optime/leader", LIT("12ab"), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);
	CHECK(parse_one("optime/leader", LIT(""), NULL, &c, err));
	CHECK(!c.has_optime && c.nwarnings == 1);

	/* status wins over optime/leader, whatever the order */
	listing_init(&l);
	listing_add(&l, PREFIX "status", "{\"optime\":200}", NULL, 3);
	listing_add(&l, PREFIX "optime/leader", "100", NULL, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.has_optime && c.optime == 200);
	listing_init(&l);
	listing_add(&l, PREFIX "optime/leader", "100", NULL, 3);
	listing_add(&l, PREFIX "status", "{\"optime\":200}", NULL, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.has_optime && c.optime == 200);
	/* ... unless status has no usable optime */
	listing_init(&l);
	listing_add(&l, PREFIX "optime/leader", "100", NULL, 3);
	listing_add(&l, PREFIX "status", "{}", NULL, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.has_optime && c.optime == 100);

	/* failover */
	CHECK(parse_one("failover", LIT("{}"), NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 0);
	CHECK(parse_one("failover", LIT("{\"leader\":\"pg3\",\"member\":\"pg2\"}"), NULL, &c, err));
	CHECK(c.has_failover && c.nwarnings == 0);
	CHECK(parse_one("failover", LIT(""), NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 0);
	CHECK(parse_one("failover", NULL, 0, NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 0);
	CHECK(parse_one("failover", LIT("[\"pg2\"]"), NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 1);
	CHECK(parse_one("failover", LIT("{\"leader\":"), NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 1);

	/* a Value that is not base64 or not a string skips the key */
	listing_init(&l);
	listing_append(&l, "{\"Key\":\"" PREFIX "leader\",\"Value\":\"cGcz!\",\"ModifyIndex\":5}");
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 1);
	CHECK_STR(c.warning, "leader: Value is not valid base64");
	listing_init(&l);
	listing_append(&l, "{\"Key\":\"" PREFIX "initialize\",\"Value\":42}");
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.has_initialize && c.nwarnings == 1);
	CHECK_STR(c.warning, "initialize: Value is not a string");
	listing_init(&l);
	listing_append(&l, "{\"Key\":\"" PREFIX "leader\",\"Value\":\"cGcz\",\"ModifyIndex\":\"5\"}");
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 1);
	listing_init(&l);
	listing_append(&l, "{\"Key\":\"" PREFIX "leader\",\"Value\":\"cGcz\",\"ModifyIndex\":-5}");
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.has_leader && c.nwarnings == 1);
	listing_init(&l);
	listing_append(&l, "{\"Key\":\"" PREFIX "leader\",\"Value\":\"cGcz\",\"Session\":7}");
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.has_leader && c.leader_session[0] == '\0' && c.nwarnings == 1);
	/* a minimal entry (no ModifyIndex, no Session) is fine */
	listing_init(&l);
	listing_append(&l, "{\"Key\":\"" PREFIX "leader\",\"Value\":\"cGcz\"}");
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.has_leader && c.leader_modify_index == 0 && c.nwarnings == 0);
}

static void
test_listing_members(void)
{
	static Listing l;
	static PgHaCluster c;
	char		err[PGHA_ERR_LEN];
	char		key[256];
	char		name[128];
	int			i;

	/* one bad member is skipped, the others are kept */
	listing_init(&l);
	listing_add(&l, PREFIX "members/pg1", patroni_pg1, SESSION1, 3);
	listing_add(&l, PREFIX "members/pg2",
				"{\"conn_url\":\"postgres://h/p\",\"xlog_location\":\"72501936\"}",
				SESSION2, 3);
	listing_add(&l, PREFIX "members/pg3", "{\"conn_url\":", SESSION3, 3);
	listing_add(&l, PREFIX "members/pg4", patroni_pg3, NULL, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == 1);
	CHECK(c.nwarnings == 2);
	CHECK_STR(c.warning, "member \"pg2\": xlog_location is not an integer");
	CHECK(pgha_find_member(&c, "pg1") != NULL);
	CHECK(pgha_find_member(&c, "pg2") == NULL);
	CHECK(pgha_find_member(&c, "pg3") == NULL);
	/* a record no session holds is no live member: a stopped one */
	CHECK(pgha_find_member(&c, "pg4") == NULL);
	CHECK(c.nstopped == 1 && pgha_find_stopped_member(&c, "pg4") != NULL &&
		  pgha_find_stopped_member(&c, "pg4")->session[0] == '\0');

	/* member records that are not usable */
	CHECK(parse_one("members/pg1", LIT("[]"), SESSION1, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK_STR(c.warning, "member \"pg1\": member record is not a JSON object");
	CHECK(parse_one("members/pg1", LIT(""), SESSION1, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK(parse_one("members/pg1", NULL, 0, SESSION1, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK(parse_one("members/pg1", LIT("{\"role\":\"master\"}\0garbage"), SESSION1, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK(parse_one("members/pg1", LIT("{\"role\":\"master\"}"), "zzzz", &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK_STR(c.warning, "member \"pg1\": Session \"zzzz\" is not a valid session ID");
	CHECK(parse_one("members/pg 1", LIT("{}"), NULL, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK_STR(c.warning, "member \"pg 1\": not a valid member name");
	CHECK(parse_one("members/..", LIT("{}"), NULL, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	/* a quote in the key (escaped in the JSON) is not echoed raw */
	CHECK(parse_one("members/pg\\\"1", LIT("{}"), NULL, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK_STR(c.warning, "member \"pg?1\": not a valid member name");

	/* member names: 63 bytes fit, 64 do not */
	memset(name, 'n', sizeof(name));
	name[63] = '\0';
	snprintf(key, sizeof(key), "members/%s", name);
	CHECK(parse_one(key, LIT("{}"), SESSION1, &c, err));
	CHECK(c.nmembers == 1 && strcmp(c.members[0].name, name) == 0);
	CHECK(pgha_find_member(&c, name) != NULL);
	name[63] = 'n';
	name[64] = '\0';
	snprintf(key, sizeof(key), "members/%s", name);
	CHECK(parse_one(key, LIT("{}"), NULL, &c, err));
	CHECK(c.nmembers == 0 && c.nwarnings == 1);
	CHECK(strstr(c.warning, "name is too long") != NULL);
	CHECK(pgha_find_member(&c, name) == NULL);

	/* the same member twice: the first one counts */
	listing_init(&l);
	listing_add(&l, PREFIX "members/pg1", patroni_pg1, SESSION1, 3);
	listing_add(&l, PREFIX "members/pg1", patroni_pg3, SESSION3, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == 1 && c.nwarnings == 1);
	CHECK_STR(c.members[0].state, "stopped");

	/* too many members: the first PGHA_MAX_MEMBERS are kept */
	listing_init(&l);
	for (i = 0; i < PGHA_MAX_MEMBERS + 8; i++)
	{
		snprintf(key, sizeof(key), PREFIX "members/node%02d", i);
		listing_add(&l, key, patroni_pg2, SESSION2, i);
	}
	listing_add(&l, PREFIX "leader", "node00", SESSION2, 99);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == PGHA_MAX_MEMBERS);
	CHECK(c.nwarnings == 8);
	CHECK(strstr(c.warning, "too many members") != NULL);
	CHECK(strncmp(c.warning, "member \"node32\"", 15) == 0);
	CHECK(pgha_find_member(&c, "node31") != NULL);
	CHECK(pgha_find_member(&c, "node32") == NULL);
	CHECK(c.has_leader);			/* keys after the excess still count */
}

/*
 * Check that a listing is rejected with a message and *c left untouched
 * (c must start as a copy of saved).
 */
static void
listing_rejects(int line, PgHaCluster *c, const PgHaCluster *saved, char *err,
				const char *body, size_t len)
{
	memcpy(c, saved, sizeof(*c));
	err[0] = '\0';
	check_at(!pgha_parse_kv_listing(body, len, PREFIX, c, err, PGHA_ERR_LEN),
			 "listing rejected", __FILE__, line);
	check_at(err[0] != '\0', "error message set", __FILE__, line);
	check_at(memcmp(c, saved, sizeof(*c)) == 0, "output untouched", __FILE__, line);
}

/*
 * Check that a member record is rejected with message msg (any message
 * when NULL) and *m left equal to *saved.
 */
static void
member_rejects(int line, PgHaMember *m, const PgHaMember *saved, char *err,
			   const char *body, size_t len, const char *msg)
{
	err[0] = '\0';
	check_at(!pgha_parse_member(body, len, m, err, PGHA_ERR_LEN),
			 "member record rejected", __FILE__, line);
	if (msg != NULL && strcmp(err, msg) != 0)
		printf("%s:%d: error is \"%s\", expected \"%s\"\n", __FILE__, line,
			   err, msg);
	check_at(msg != NULL ? strcmp(err, msg) == 0 : err[0] != '\0',
			 "error message", __FILE__, line);
	check_at(memcmp(m, saved, sizeof(*m)) == 0, "member untouched", __FILE__, line);
}

static void
test_listing_malformed(void)
{
	static Listing l;
	static PgHaCluster c;
	static PgHaCluster saved;
	char		err[PGHA_ERR_LEN];
	size_t		n;

	/* *out is left untouched when the body is rejected */
	memset(&saved, 0xa5, sizeof(saved));

#define REJECTS(...) \
	listing_rejects(__LINE__, &c, &saved, err, __VA_ARGS__)

	REJECTS(LIT(""));
	REJECTS(LIT("   "));
	REJECTS(LIT("null"));
	REJECTS(LIT("{}"));
	CHECK_STR(err, "KV listing is not a JSON array");
	REJECTS(LIT("\"[]\""));
	REJECTS(LIT("42"));
	REJECTS(LIT("[1]"));
	CHECK_STR(err, "KV entry 0 is not a JSON object");
	REJECTS(LIT("[{\"Key\":\"a\"},null]"));
	CHECK_STR(err, "KV entry 1 is not a JSON object");
	REJECTS(LIT("[{\"Value\":\"cGcz\"}]"));
	CHECK_STR(err, "KV entry 0 has no string Key");
	REJECTS(LIT("[{\"Key\":42}]"));
	REJECTS(LIT("[{\"Key\":null}]"));
	REJECTS(LIT("[{\"Key\":\"service/otus/leader\",\"Value\":\"cGcz\"}"));
	REJECTS(LIT("[{\"Key\":\"service/otus/leader\",\"Value\":\"cGcz\"}]]"));
	REJECTS(LIT("[{\"Key\":\"service/otus/leader\",\"Key\":\"x\"}]"));
	REJECTS(LIT("[{\"Key\":\"service/otus/leader\",\"ModifyIndex\":99999999999999999999}]"));
	REJECTS(LIT("[{\"Key\":\"service/otus/le\\u0000ader\"}]"));
	REJECTS(LIT("[{\"Key\":\"service/otus/\xff\"}]"));
	REJECTS(LIT("[]\0"));
	REJECTS(LIT("[\0]"));
	REJECTS(LIT("\0[]"));
	CHECK(strncmp(err, "KV listing is not valid JSON: ", 30) == 0);
	REJECTS(NULL, 0);
	REJECTS(NULL, 10);

	/* every truncation of a real listing is rejected, nothing leaks */
	patroni_listing(&l);
	for (n = 0; n < l.len; n++)
	{
		memcpy(&c, &saved, sizeof(c));
		if (pgha_parse_kv_listing(l.buf, n, PREFIX, &c, err, sizeof(err)) ||
			memcmp(&c, &saved, sizeof(c)) != 0)
			break;
	}
	CHECK(n == l.len);

	/* a NULL prefix or output is refused, a NULL errbuf is tolerated */
	CHECK(!pgha_parse_kv_listing(LIT("[]"), NULL, &c, err, sizeof(err)));
	CHECK(!pgha_parse_kv_listing(LIT("[]"), PREFIX, NULL, err, sizeof(err)));
	CHECK(!pgha_parse_kv_listing(LIT("{}"), PREFIX, &c, NULL, 0));
	CHECK(pgha_parse_kv_listing(LIT("[]"), PREFIX, &c, NULL, 0));
	/* a short errbuf gets a truncated, terminated message */
	CHECK(!pgha_parse_kv_listing(LIT("{}"), PREFIX, &c, err, 5));
	CHECK_STR(err, "KV l");

#undef REJECTS
}

static void
test_parse_member(void)
{
	PgHaMember	m;
	PgHaMember	saved;
	char		err[PGHA_ERR_LEN];
	char		json[1024];
	char		url[300];

	memset(&m, 0, sizeof(m));
	strcpy(m.name, "pg2");
	strcpy(m.session, SESSION2);
	CHECK(pgha_parse_member(LIT(patroni_pg2), &m, err, sizeof(err)));
	CHECK_STR(m.name, "pg2");
	CHECK_STR(m.session, SESSION2);
	CHECK_STR(m.conn_url, "postgres://127.0.0.1:15432/postgres");
	CHECK_STR(m.api_url, "http://127.0.0.1:18009/patroni");
	CHECK_STR(m.state, "running");
	CHECK_STR(m.role, "replica");
	CHECK_STR(m.version, "3.0.2");
	CHECK(m.has_xlog && m.xlog_location == 72501936);
	CHECK(m.timeline == 5);
	CHECK(!m.pending_restart && !m.nofailover);

	/* fields absent from the new record are cleared */
	CHECK(pgha_parse_member(LIT(patroni_pg1), &m, err, sizeof(err)));
	CHECK_STR(m.name, "pg2");
	CHECK_STR(m.state, "stopped");
	CHECK(!m.has_xlog && m.xlog_location == 0 && m.timeline == 0);
	CHECK(pgha_parse_member(LIT("{}"), &m, err, sizeof(err)));
	CHECK(m.conn_url[0] == '\0' && m.role[0] == '\0' && !m.has_xlog);
	CHECK_STR(m.session, SESSION2);

	/* newer Patroni fields and unknown fields are ignored */
	CHECK(pgha_parse_member(LIT("{\"role\":\"primary\",\"state\":\"running\","
								"\"xlog_location\":0,\"timeline\":4294967295,"
								"\"pending_restart\":true,\"pending_restart_reason\":{\"x\":1},"
								"\"tags\":{\"nofailover\":true,\"nosync\":\"yes\",\"clonefrom\":1},"
								"\"replication_state\":\"streaming\",\"proxy_url\":null}"),
							&m, err, sizeof(err)));
	CHECK_STR(m.role, "primary");
	CHECK(m.has_xlog && m.xlog_location == 0);
	CHECK(m.timeline == UINT32_MAX);
	CHECK(m.pending_restart && m.nofailover);
	CHECK(pgha_parse_member(LIT("{\"xlog_location\":9223372036854775807,"
								"\"tags\":{\"nofailover\":false},\"pending_restart\":false}"),
							&m, err, sizeof(err)));
	CHECK(m.xlog_location == INT64_MAX && !m.nofailover && !m.pending_restart);
	CHECK(pgha_parse_member(LIT("  {\"tags\":{}}\n"), &m, err, sizeof(err)));
	CHECK(pgha_parse_member(LIT("{\"state\":\"r\\u00e9\\\"\\n\"}"), &m, err, sizeof(err)));
	CHECK_STR(m.state, "r\xc3\xa9\"\n");

	/* rejected records leave *m untouched */
	strcpy(m.conn_url, "keep me");
	memcpy(&saved, &m, sizeof(m));

#define MEMBER_REJECTS(...) \
	member_rejects(__LINE__, &m, &saved, err, __VA_ARGS__)

	MEMBER_REJECTS(LIT("{\"xlog_location\":\"72501936\"}"), "xlog_location is not an integer");
	MEMBER_REJECTS(LIT("{\"xlog_location\":72501936.0}"), "xlog_location is not an integer");
	MEMBER_REJECTS(LIT("{\"xlog_location\":1e30}"), "xlog_location is not an integer");
	MEMBER_REJECTS(LIT("{\"xlog_location\":null}"), "xlog_location is not an integer");
	MEMBER_REJECTS(LIT("{\"xlog_location\":-1}"), "xlog_location is out of range: -1");
	MEMBER_REJECTS(LIT("{\"xlog_location\":-9223372036854775808}"), NULL);
	MEMBER_REJECTS(LIT("{\"xlog_location\":9223372036854775808}"), NULL);
	MEMBER_REJECTS(LIT("{\"xlog_location\":99999999999999999999999999}"), NULL);
	MEMBER_REJECTS(LIT("{\"timeline\":4294967296}"), "timeline is out of range: 4294967296");
	MEMBER_REJECTS(LIT("{\"timeline\":-1}"), "timeline is out of range: -1");
	MEMBER_REJECTS(LIT("{\"timeline\":\"5\"}"), "timeline is not an integer");
	MEMBER_REJECTS(LIT("{\"timeline\":true}"), "timeline is not an integer");
	MEMBER_REJECTS(LIT("{\"conn_url\":42}"), "conn_url is not a string");
	MEMBER_REJECTS(LIT("{\"api_url\":null}"), "api_url is not a string");
	MEMBER_REJECTS(LIT("{\"state\":[\"running\"]}"), "state is not a string");
	MEMBER_REJECTS(LIT("{\"role\":{}}"), "role is not a string");
	MEMBER_REJECTS(LIT("{\"version\":3.0}"), "version is not a string");
	MEMBER_REJECTS(LIT("{\"pending_restart\":1}"), "pending_restart is not a boolean");
	MEMBER_REJECTS(LIT("{\"pending_restart\":\"true\"}"), "pending_restart is not a boolean");
	MEMBER_REJECTS(LIT("{\"tags\":[]}"), "tags is not a JSON object");
	MEMBER_REJECTS(LIT("{\"tags\":\"nofailover\"}"), "tags is not a JSON object");
	MEMBER_REJECTS(LIT("{\"tags\":{\"nofailover\":\"true\"}}"), "tags.nofailover is not a boolean");
	MEMBER_REJECTS(LIT("{\"tags\":{\"nofailover\":1}}"), "tags.nofailover is not a boolean");
	MEMBER_REJECTS(LIT("[]"), "member record is not a JSON object");
	MEMBER_REJECTS(LIT("null"), "member record is not a JSON object");
	MEMBER_REJECTS(LIT("\"pg1\""), "member record is not a JSON object");
	MEMBER_REJECTS(LIT("72501936"), "member record is not a JSON object");
	MEMBER_REJECTS(LIT(""), NULL);
	MEMBER_REJECTS(LIT("{"), NULL);
	MEMBER_REJECTS(LIT("{\"conn_url\":\"postgres://"), NULL);
	MEMBER_REJECTS(LIT("{\"role\":\"master\"} {}"), NULL);
	MEMBER_REJECTS(LIT("{\"role\":\"master\",\"role\":\"replica\"}"), NULL);
	MEMBER_REJECTS(LIT("{\"role\":\"mas\\u0000ter\"}"), NULL);
	MEMBER_REJECTS(LIT("{\"role\":\"mas\0ter\"}"), NULL);
	MEMBER_REJECTS(LIT("{\"role\":\"master\"}\0"), NULL);
	MEMBER_REJECTS(LIT("\0{\"role\":\"master\"}"), NULL);
	MEMBER_REJECTS(LIT("{\"role\":\"\xc3\x28\"}"), NULL);
	MEMBER_REJECTS(NULL, 0, "member record is missing");
	/* the record is read only up to len */
	MEMBER_REJECTS(patroni_pg2, 40, NULL);
	CHECK(strncmp(err, "member record is not valid JSON: ", 33) == 0);

	/* values too long for the buffers are rejected, not truncated */
	memset(url, 'u', sizeof(url));
	url[PGHA_URL_LEN] = '\0';
	snprintf(json, sizeof(json), "{\"conn_url\":\"%s\"}", url);
	MEMBER_REJECTS(json, strlen(json), "conn_url is too long (256 bytes, at most 255)");
	snprintf(json, sizeof(json), "{\"api_url\":\"%s\"}", url);
	MEMBER_REJECTS(json, strlen(json), "api_url is too long (256 bytes, at most 255)");
	MEMBER_REJECTS(LIT("{\"state\":\"0123456789012345678901234567890123\"}"),
				   "state is too long (34 bytes, at most 31)");
	MEMBER_REJECTS(LIT("{\"role\":\"01234567890123456789012345678901\"}"),
				   "role is too long (32 bytes, at most 31)");
	/* an escape makes the value longer than its JSON text looks */
	MEMBER_REJECTS(LIT("{\"version\":\"\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\\u00e9\"}"),
				   "version is too long (32 bytes, at most 31)");
	/* ... and exactly 31 or 255 bytes fit */
	CHECK(pgha_parse_member(LIT("{\"role\":\"0123456789012345678901234567890\"}"),
							&m, err, sizeof(err)));
	CHECK(strlen(m.role) == 31);
	url[PGHA_URL_LEN - 1] = '\0';
	snprintf(json, sizeof(json), "{\"conn_url\":\"%s\"}", url);
	CHECK(pgha_parse_member(json, strlen(json), &m, err, sizeof(err)));
	CHECK(strlen(m.conn_url) == PGHA_URL_LEN - 1);

	/* NULL arguments */
	CHECK(!pgha_parse_member(LIT("{}"), NULL, err, sizeof(err)));
	CHECK(!pgha_parse_member(LIT("[]"), &m, NULL, 0));

#undef MEMBER_REJECTS
}

static void
test_member_to_json(void)
{
	PgHaMember	m;
	PgHaMember	back;
	char		buf[2048];
	char		err[PGHA_ERR_LEN];
	int			n;
	int			i;

	/* Patroni's own records come out byte for byte */
	memset(&m, 0, sizeof(m));
	CHECK(pgha_parse_member(LIT(patroni_pg1), &m, err, sizeof(err)));
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n == (int) strlen(patroni_pg1));
	CHECK_STR(buf, patroni_pg1);
	CHECK(pgha_parse_member(LIT(patroni_pg2), &m, err, sizeof(err)));
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n == (int) strlen(patroni_pg2));
	CHECK_STR(buf, patroni_pg2);
	CHECK(pgha_parse_member(LIT(patroni_pg3), &m, err, sizeof(err)));
	CHECK(pgha_member_to_json(&m, buf, sizeof(buf)) > 0);
	CHECK_STR(buf, patroni_pg3);

	/* the buffer must hold the text and its NUL */
	n = (int) strlen(patroni_pg3);
	CHECK(pgha_member_to_json(&m, buf, (size_t) n + 1) == n);
	CHECK_STR(buf, patroni_pg3);
	CHECK(pgha_member_to_json(&m, buf, (size_t) n) == -1);
	CHECK(pgha_member_to_json(&m, buf, 1) == -1);
	CHECK(pgha_member_to_json(&m, buf, 0) == -1);
	CHECK(pgha_member_to_json(&m, NULL, 100) == -1);
	CHECK(pgha_member_to_json(NULL, buf, sizeof(buf)) == -1);

	/* optional fields */
	memset(&m, 0, sizeof(m));
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK_STR(buf, "{\"conn_url\":\"\",\"api_url\":\"\",\"state\":\"\",\"role\":\"\",\"version\":\"\"}");
	CHECK(n == (int) strlen(buf));
	strcpy(m.conn_url, "postgres://10.0.0.1:5432/postgres");
	strcpy(m.api_url, "http://10.0.0.1:8008/patroni");
	strcpy(m.state, "running");
	strcpy(m.role, "replica");
	strcpy(m.version, "pg_ha 0.1");
	m.has_xlog = true;
	m.xlog_location = 0;
	m.pending_restart = true;
	m.nofailover = true;
	pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK_STR(buf, "{\"conn_url\":\"postgres://10.0.0.1:5432/postgres\","
			  "\"api_url\":\"http://10.0.0.1:8008/patroni\",\"state\":\"running\","
			  "\"role\":\"replica\",\"version\":\"pg_ha 0.1\",\"xlog_location\":0,"
			  "\"pending_restart\":true,\"tags\":{\"nofailover\":true}}");

	/* round trip, with extremes and characters needing escapes */
	strcpy(m.name, "pg1");
	strcpy(m.session, SESSION1);
	strcpy(m.conn_url, "postgres://u:p\"a\\s/s\x01@h:1/d?x=\xc3\xa9\t");
	m.xlog_location = INT64_MAX;
	m.timeline = UINT32_MAX;
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0);
	CHECK(strstr(buf, "\\\"a\\\\s/s\\u0001") != NULL);
	memset(&back, 0, sizeof(back));
	strcpy(back.name, "pg1");
	strcpy(back.session, SESSION1);
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(memcmp(&m, &back, sizeof(m)) == 0);

	/* round trip of every combination of the optional fields */
	for (i = 0; i < 16; i++)
	{
		memset(&m, 0, sizeof(m));
		strcpy(m.conn_url, "postgres://h:5432/postgres");
		strcpy(m.state, "running");
		m.has_xlog = (i & 1) != 0;
		m.xlog_location = m.has_xlog ? 123456789 : 0;
		m.timeline = (i & 2) ? 7 : 0;
		m.pending_restart = (i & 4) != 0;
		m.nofailover = (i & 8) != 0;
		n = pgha_member_to_json(&m, buf, sizeof(buf));
		memset(&back, 0, sizeof(back));
		if (n <= 0 || !pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)) ||
			memcmp(&m, &back, sizeof(m)) != 0)
			break;
	}
	CHECK(i == 16);

	/* fields filled to the last byte of their buffers */
	memset(&m, 0, sizeof(m));
	memset(m.conn_url, 'c', sizeof(m.conn_url) - 1);
	memset(m.api_url, 'a', sizeof(m.api_url) - 1);
	memset(m.state, 's', sizeof(m.state) - 1);
	memset(m.role, 'r', sizeof(m.role) - 1);
	memset(m.version, 'v', sizeof(m.version) - 1);
	n = pgha_member_to_json(&m, buf, sizeof(buf));
	CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(memcmp(&m, &back, sizeof(m)) == 0);
	/* ... but a field without its NUL terminator is refused */
	memset(m.state, 's', sizeof(m.state));
	CHECK(pgha_member_to_json(&m, buf, sizeof(buf)) == -1);

	/* what we could not read back is not written */
	memset(&m, 0, sizeof(m));
	m.has_xlog = true;
	m.xlog_location = -1;
	CHECK(pgha_member_to_json(&m, buf, sizeof(buf)) == -1);
	memset(&m, 0, sizeof(m));
	strcpy(m.role, "\xc3\x28");	/* invalid UTF-8 */
	CHECK(pgha_member_to_json(&m, buf, sizeof(buf)) == -1);
}

static void
test_find_member(void)
{
	static PgHaCluster c;
	char		name[100];

	memset(&c, 0, sizeof(c));
	CHECK(pgha_find_member(&c, "pg1") == NULL);
	strcpy(c.members[0].name, "pg1");
	strcpy(c.members[1].name, "pg10");
	strcpy(c.members[2].name, "pg2");
	c.nmembers = 2;
	CHECK(pgha_find_member(&c, "pg1") == &c.members[0]);
	CHECK(pgha_find_member(&c, "pg10") == &c.members[1]);
	CHECK(pgha_find_member(&c, "pg2") == NULL);		/* beyond nmembers */
	CHECK(pgha_find_member(&c, "pg") == NULL);
	CHECK(pgha_find_member(&c, "pg100") == NULL);
	CHECK(pgha_find_member(&c, "PG1") == NULL);
	CHECK(pgha_find_member(&c, "") == NULL);
	CHECK(pgha_find_member(&c, NULL) == NULL);
	CHECK(pgha_find_member(NULL, "pg1") == NULL);

	/* a name longer than any member name matches nothing */
	memset(name, 'x', sizeof(name));
	name[sizeof(name) - 1] = '\0';
	memset(c.members[0].name, 'x', PGHA_NAME_LEN - 1);
	c.members[0].name[PGHA_NAME_LEN - 1] = '\0';
	CHECK(pgha_find_member(&c, name) == NULL);
	name[PGHA_NAME_LEN - 1] = '\0';
	CHECK(pgha_find_member(&c, name) == &c.members[0]);

	/* a corrupt nmembers does not send the search past the array */
	c.nmembers = PGHA_MAX_MEMBERS + 1000;
	CHECK(pgha_find_member(&c, "nobody") == NULL);
}

static void
test_failover_and_time(void)
{
	PgHaCluster c;
	char		err[PGHA_ERR_LEN];
	int64_t		ms;
	const char *req = "{\"leader\": \"pg1\", \"member\": \"pg2\", \"scheduled_at\": \"2026-11-25T20:00:00+00:00\"}";

	CHECK(pgha_parse_iso_time("1970-01-01T00:00:00+00:00", &ms) && ms == 0);
	CHECK(pgha_parse_iso_time("1970-01-01T00:00:01Z", &ms) && ms == 1000);
	CHECK(pgha_parse_iso_time("1970-01-01 01:00:00.25+01:00", &ms) && ms == 250);
	CHECK(pgha_parse_iso_time("2000-03-01T00:00:00-00:30", &ms) && ms == 951870600000LL);
	CHECK(pgha_parse_iso_time("2026-11-25T20:00:00.123456+00:00", &ms) && ms == 1795636800123LL);
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00", &ms));	/* no zone */
	CHECK(!pgha_parse_iso_time("2026-13-25T20:00:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00+0000", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00Zjunk", &ms));
	CHECK(!pgha_parse_iso_time("soon", &ms));
	CHECK(!pgha_parse_iso_time("", &ms));
	/* fixed digits: sscanf()'s %2d took signs and blanks */
	ms = 42;
	CHECK(!pgha_parse_iso_time("2026-11-25T-1:00:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:-5:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:-9Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T 1:00:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T+1:00:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-1-25T20:00:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25TT20:00:00Z", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00+-1:00", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00+01:-1", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00+1:00", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00:00+01", &ms));
	CHECK(!pgha_parse_iso_time("2026-11-25T20:00", &ms));
	CHECK(ms == 42);
	CHECK(pgha_parse_iso_time("2026-11-25T20:00:00-01:30", &ms) && ms == 1795636800000LL + 5400000);

	CHECK(parse_one("failover", req, strlen(req), NULL, &c, err));
	CHECK(c.has_failover && c.failover_scheduled);
	CHECK_STR(c.failover_leader, "pg1");
	CHECK_STR(c.failover_member, "pg2");
	CHECK(c.failover_scheduled_ms == 1795636800000LL);
	CHECK(parse_one("failover", LIT("{\"member\": \"pg3\"}"), NULL, &c, err));
	CHECK(c.has_failover && !c.failover_scheduled && c.failover_leader[0] == '\0');
	CHECK_STR(c.failover_member, "pg3");
	CHECK(parse_one("failover", LIT("{}"), NULL, &c, err));
	CHECK(!c.has_failover);
	/* unreadable requests are no requests, and are reported */
	CHECK(parse_one("failover", LIT("{\"member\": \"a/b\"}"), NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 1);
	CHECK(parse_one("failover", LIT("{\"member\": 7}"), NULL, &c, err));
	CHECK(!c.has_failover && c.nwarnings == 1);
	CHECK(parse_one("failover", LIT("{\"leader\": \"pg1\", \"scheduled_at\": \"tomorrow\"}"), NULL, &c, err));
	CHECK(!c.has_failover && c.failover_leader[0] == '\0' && c.nwarnings == 1);
}

static void
test_restart_keys(void)
{
	static Listing l;
	static PgHaCluster c;
	char		err[PGHA_ERR_LEN];

	listing_init(&l);
	listing_add(&l, PREFIX "restart/pg1", "{\"pending_only\":true,\"wait_for\":\"pg3\"}", NULL, 7);
	listing_add(&l, PREFIX "restart/pg2", "{\"pending_only\":false,\"any_order\":true,\"restarting\":1764100000123}", NULL, 8);
	listing_add(&l, PREFIX "restart/pg3", "{\"wait_for\":\"../x\",\"restarting\":-5}", NULL, 9);
	listing_add(&l, PREFIX "restart/pg4", "{\"wait_for\":42,\"any_order\":\"yes\"}", NULL, 10);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nrestarts == 4);
	CHECK_STR(c.restarts[0].member, "pg1");
	CHECK(c.restarts[0].pending_only);
	CHECK_STR(c.restarts[0].wait_for, "pg3");
	CHECK(!c.restarts[0].any_order && c.restarts[0].restarting == 0);
	CHECK(c.restarts[0].modify_index == 7);
	CHECK(!c.restarts[1].pending_only && c.restarts[1].any_order);
	CHECK(c.restarts[1].restarting == 1764100000123LL);
	CHECK_STR(c.restarts[1].wait_for, "");
	/* what cannot be used is no order, no mark */
	CHECK_STR(c.restarts[2].wait_for, "");
	CHECK(c.restarts[2].restarting == 0);
	CHECK_STR(c.restarts[3].wait_for, "");
	CHECK(!c.restarts[3].any_order);
}

static void
test_config_timings(void)
{
	int			ttl = 30000, lw = 10000, rt = 10000;
	char		err[PGHA_ERR_LEN];
	char		buf[1024];

	CHECK(pgha_config_timings("{\"ttl\":20,\"loop_wait\":0.5}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(ttl == 20000 && lw == 500 && rt == 10000);
	CHECK(pgha_config_timings("{\"retry_timeout\":\"3\"}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(rt == 3000);
	CHECK(pgha_config_timings(NULL, &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(pgha_config_timings("{\"ttl\":null}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(ttl == 20000);
	/* bad ones change nothing */
	CHECK(!pgha_config_timings("{\"loop_wait\":2,\"ttl\":1}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK_STR(err, "config: ttl of 1000 ms is outside the valid range (2000 .. 3600000 ms)");
	CHECK(ttl == 20000 && lw == 500);
	CHECK(!pgha_config_timings("{\"ttl\":\"10s\"}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK_STR(err, "config: ttl is not a number of seconds");
	CHECK(!pgha_config_timings("{\"ttl\":true}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(!pgha_config_timings("{\"ttl\":-5}", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(!pgha_config_timings("[]", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(!pgha_config_timings("{", &ttl, &lw, &rt, err, sizeof(err)));
	CHECK(ttl == 20000 && lw == 500 && rt == 3000);

	CHECK(pgha_timing_valid(10000, 2000, 4000, err, sizeof(err)));
	CHECK(!pgha_timing_valid(10000, 3000, 4000, err, sizeof(err)));
	CHECK_STR(err, "loop_wait (3000 ms) + 2 * retry_timeout (4000 ms) = 11000 ms exceeds ttl (10000 ms)");

	CHECK(pgha_config_with_timing("{\"ttl\":30,\"x\":1}", "ttl", 20000, buf, sizeof(buf), err, sizeof(err)) > 0);
	CHECK_STR(buf, "{\"ttl\":20,\"x\":1}");
	CHECK(pgha_config_with_timing(NULL, "loop_wait", 1500, buf, sizeof(buf), err, sizeof(err)) > 0);
	CHECK_STR(buf, "{\"loop_wait\":1.5}");
	CHECK(pgha_config_with_timing("{\"ttl\":30,\"x\":1}", "ttl", -1, buf, sizeof(buf), err, sizeof(err)) > 0);
	CHECK_STR(buf, "{\"x\":1}");
	CHECK(pgha_config_with_timing("{}", "pause", 1000, buf, sizeof(buf), err, sizeof(err)) < 0);
	CHECK(pgha_config_with_timing("[]", "ttl", 1000, buf, sizeof(buf), err, sizeof(err)) < 0);
}

/*
 * The parameters the configuration may not set, one list for the SQL
 * functions, the REST API, pg_ha_ctl and pg_ha.conf's writer; the words of
 * a switch, one list for the listing and the SQL functions.
 */
static void
test_config_rules(void)
{
	char		err[PGHA_ERR_LEN];
	long long	v = -1;
	bool		on = false;

	CHECK_STR(pgha_owned_parameter("pg_ha.ttl"),
			  "pg_ha's own settings are per node, in postgresql.conf");
	CHECK_STR(pgha_owned_parameter("PG_HA.loop_wait"),
			  "pg_ha's own settings are per node, in postgresql.conf");
	CHECK_STR(pgha_owned_parameter("primary_conninfo"),
			  "pg_ha sets it itself, or it is per node");
	/* GUC names are case-insensitive: no way around the list */
	CHECK_STR(pgha_owned_parameter("Port"), "pg_ha sets it itself, or it is per node");
	CHECK_STR(pgha_owned_parameter("WAL_LEVEL"), "pg_ha sets it itself, or it is per node");
	CHECK(pgha_owned_parameter("work_mem") == NULL);
	CHECK(pgha_owned_parameter("pg_hax") == NULL);
	CHECK(pgha_owned_parameter("ports") == NULL);
	CHECK(pgha_owned_parameter("") == NULL);

	CHECK(pgha_switch_word("on", &on) && on);
	CHECK(pgha_switch_word("TRUE", &on) && on);
	CHECK(pgha_switch_word("Yes", &on) && on);
	CHECK(pgha_switch_word("1", &on) && on);
	CHECK(pgha_switch_word("OFF", &on) && !on);
	CHECK(pgha_switch_word("false", &on) && !on);
	CHECK(pgha_switch_word("no", &on) && !on);
	CHECK(pgha_switch_word("0", &on) && !on);
	on = true;
	CHECK(!pgha_switch_word("maybe", &on) && on);
	CHECK(!pgha_switch_word("", &on));
	CHECK(!pgha_switch_word("o", &on));

	CHECK(pgha_sync_setting_value("synchronous_mode", "Yes", &v, err, sizeof(err)) && v == 1);
	CHECK(pgha_sync_setting_value("synchronous_mode_strict", "off", &v, err, sizeof(err)) && v == 0);
	CHECK(!pgha_sync_setting_value("synchronous_mode", "2", &v, err, sizeof(err)));
	CHECK_STR(err, "synchronous_mode must be a boolean (on or off)");
}

/* synchronous mode: the config switches, the sync key, its JSON, roles */
static void
test_sync(void)
{
	static PgHaCluster c;
	static Listing l;
	char		err[PGHA_ERR_LEN];
	char		buf[512];
	char		names[3][PGHA_NAME_LEN] = {"pg3", "pg2", "pg10"};
	PgHaMember *m;

	/* defaults: off, strict off, one standby */
	CHECK(parse_one("config", LIT("{\"ttl\":30}"), NULL, &c, err));
	CHECK(!c.sync_mode && !c.sync_mode_strict && c.sync_node_count == 1 &&
		  c.nwarnings == 0);
	CHECK(parse_one("config", LIT("{\"synchronous_mode\":true,\"synchronous_mode_strict\":true,\"synchronous_node_count\":2}"),
					NULL, &c, err));
	CHECK(c.sync_mode && c.sync_mode_strict && c.sync_node_count == 2 && c.nwarnings == 0);
	/* as typed by hand: "on", "off" */
	CHECK(parse_one("config", LIT("{\"synchronous_mode\":\"on\",\"synchronous_mode_strict\":\"off\"}"),
					NULL, &c, err));
	CHECK(c.sync_mode && !c.sync_mode_strict && c.nwarnings == 0);
	/* unreadable switches are off, and said so; a bad count is 1 */
	CHECK(parse_one("config", LIT("{\"synchronous_mode\":\"maybe\",\"synchronous_node_count\":0}"),
					NULL, &c, err));
	CHECK(!c.sync_mode && c.sync_node_count == 1 && c.nwarnings == 2);
	CHECK(parse_one("config", LIT("{\"synchronous_mode\":[1],\"synchronous_node_count\":\"2\"}"),
					NULL, &c, err));
	CHECK(!c.sync_mode && c.sync_node_count == 1 && c.nwarnings == 2);

	/* the promotion key (timeline.c), as pgha_promotion_json writes it */
	{
		char		json[128];

		CHECK(pgha_promotion_json(7, "pg-2", json, sizeof(json)) > 0);
		CHECK(parse_one("promotion", json, strlen(json), NULL, &c, err));
		CHECK(c.has_promotion && c.promotion_timeline == 7 &&
			  strcmp(c.promotion_member, "pg-2") == 0 && c.promotion_index == 7 &&
			  c.nwarnings == 0);
		CHECK(pgha_promotion_json(7, "a/b", json, sizeof(json)) == -1);
		CHECK(pgha_promotion_json(7, "pg2", json, 10) == -1);
	}
	CHECK(parse_one("promotion", LIT("{\"timeline\":4294967295}"), NULL, &c, err));
	CHECK(c.has_promotion && c.promotion_timeline == 4294967295u && c.nwarnings == 0);
	/* unreadable: no record, but the index is kept for check-and-set */
	CHECK(parse_one("promotion", LIT("{\"timeline\":4294967296}"), NULL, &c, err));
	CHECK(!c.has_promotion && c.promotion_index == 7 && c.nwarnings == 1);
	CHECK(parse_one("promotion", LIT("{\"timeline\":0}"), NULL, &c, err));
	CHECK(!c.has_promotion && c.nwarnings == 1);
	CHECK(parse_one("promotion", LIT("{\"timeline\":\"3\"}"), NULL, &c, err));
	CHECK(!c.has_promotion && c.nwarnings == 1);
	CHECK(parse_one("promotion", LIT("{\"timeline\":3,\"member\":\"../x\"}"), NULL, &c, err));
	CHECK(!c.has_promotion && c.promotion_member[0] == '\0' && c.nwarnings == 1);
	CHECK(parse_one("promotion", LIT("[3]"), NULL, &c, err));
	CHECK(!c.has_promotion && c.promotion_index == 7 && c.nwarnings == 1);
	CHECK(parse_one("promotion", NULL, 0, NULL, &c, err));
	CHECK(!c.has_promotion && c.promotion_index == 7);

	/* the sync key as Patroni writes it */
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":\"pg2\"}"), NULL, &c, err));
	CHECK(c.sync_key_exists && c.has_sync && strcmp(c.sync_leader, "pg1") == 0 &&
		  c.nsync == 1 && strcmp(c.sync_standby[0], "pg2") == 0 &&
		  c.sync_modify_index == 7 && c.nwarnings == 0);
	CHECK(pgha_sync_is_standby(&c, "pg2") && !pgha_sync_is_standby(&c, "pg1") &&
		  !pgha_sync_is_standby(&c, "pg3"));
	CHECK(pgha_sync_matches(&c, "pg1") && pgha_sync_matches(&c, "pg2") &&
		  !pgha_sync_matches(&c, "pg3"));
	/* without a readable config, a sync key means on: unreadable is not off */
	CHECK(c.sync_mode && pgha_sync_active(&c));
	listing_init(&l);
	listing_add(&l, PREFIX "config", "{\"synchronous_mode\":false}", NULL, 3);
	listing_add(&l, PREFIX "sync", "{\"leader\":\"pg1\",\"sync_standby\":\"pg2\"}", NULL, 4);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(!c.sync_mode && !pgha_sync_active(&c));
	listing_init(&l);
	listing_add(&l, PREFIX "config", "{\"synchronous_mode\":\"maybe\"}", NULL, 3);
	listing_add(&l, PREFIX "sync", "{\"leader\":\"pg1\",\"sync_standby\":\"pg2\"}", NULL, 4);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.sync_mode && pgha_sync_active(&c));
	listing_init(&l);
	listing_add(&l, PREFIX "config", "{not json", NULL, 3);
	listing_add(&l, PREFIX "sync", "{\"leader\":\"pg1\",\"sync_standby\":\"pg2\"}", NULL, 4);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.sync_mode && pgha_sync_active(&c));
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":\"pg2\"}"), NULL, &c, err));
	c.sync_mode = true;
	CHECK(pgha_sync_active(&c));
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":null}"), NULL, &c, err));
	CHECK(c.has_sync && c.nsync == 0 && pgha_sync_matches(&c, "pg1") &&
		  !pgha_sync_matches(&c, "pg2"));
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":\"pg2,pg3\"}"), NULL, &c, err));
	CHECK(c.has_sync && c.nsync == 2 && pgha_sync_is_standby(&c, "pg3"));
	/* bad keys: remembered as existing but unreadable, with a warning */
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":\"pg2,\"}"), NULL, &c, err));
	CHECK(c.sync_key_exists && !c.has_sync && c.nsync == 0 && c.nwarnings == 1);
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":\",pg2\"}"), NULL, &c, err));
	CHECK(c.sync_key_exists && !c.has_sync && c.nwarnings == 1);
	CHECK(parse_one("sync", LIT("{\"leader\":\"a/b\"}"), NULL, &c, err));
	CHECK(c.sync_key_exists && !c.has_sync && c.nwarnings == 1);
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":[\"pg2\"]}"), NULL, &c, err));
	CHECK(!c.has_sync && c.nwarnings == 1);
	CHECK(parse_one("sync", LIT("[1]"), NULL, &c, err));
	CHECK(c.sync_key_exists && !c.has_sync && c.nwarnings == 1);
	CHECK(parse_one("sync", LIT("{\"leader\":\"pg1\",\"sync_standby\":\"a,b,c,d,e,f,g,h,i\"}"), NULL, &c, err));
	CHECK(!c.has_sync && c.nsync == 0 && c.nwarnings == 1);
	CHECK(parse_one("sync", NULL, 0, NULL, &c, err));
	CHECK(c.sync_key_exists && !c.has_sync);
	CHECK(parse_one("config", LIT("{}"), NULL, &c, err));
	CHECK(!c.sync_key_exists && !c.has_sync);

	/* our JSON: names sorted, null without standby */
	CHECK(pgha_sync_json("pg1", names, 1, buf, sizeof(buf)) > 0);
	CHECK(strcmp(buf, "{\"leader\":\"pg1\",\"sync_standby\":\"pg3\"}") == 0);
	CHECK(pgha_sync_json("pg1", names, 3, buf, sizeof(buf)) > 0);
	CHECK(strcmp(buf, "{\"leader\":\"pg1\",\"sync_standby\":\"pg10,pg2,pg3\"}") == 0);
	CHECK(pgha_sync_json("pg1", NULL, 0, buf, sizeof(buf)) > 0);
	CHECK(strcmp(buf, "{\"leader\":\"pg1\",\"sync_standby\":null}") == 0);
	CHECK(pgha_sync_json("pg1", names, 3, buf, 10) == -1);

	/* roles: the sync standby of the current leader, in synchronous mode */
	listing_init(&l);
	listing_add(&l, PREFIX "config", "{\"synchronous_mode\":true}", NULL, 20);
	listing_add(&l, PREFIX "leader", "pg1", SESSION1, 21);
	listing_add(&l, PREFIX "members/pg1", patroni_pg1, SESSION1, 30);
	listing_add(&l, PREFIX "members/pg2", patroni_pg2, SESSION2, 31);
	listing_add(&l, PREFIX "members/pg3", patroni_pg3, SESSION3, 32);
	listing_add(&l, PREFIX "sync", "{\"leader\":\"pg1\",\"sync_standby\":\"pg2\"}", NULL, 33);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	m = (PgHaMember *) pgha_find_member(&c, "pg1");
	CHECK(m && strcmp(pgha_member_role_label(&c, m, false), "Leader") == 0);
	m = (PgHaMember *) pgha_find_member(&c, "pg2");
	CHECK(m && strcmp(pgha_member_role_label(&c, m, false), "Sync Standby") == 0 &&
		  strcmp(pgha_member_role_label(&c, m, true), "sync_standby") == 0);
	m = (PgHaMember *) pgha_find_member(&c, "pg3");
	CHECK(m && strcmp(pgha_member_role_label(&c, m, false), "Replica") == 0);
	/* a key written by another leader, or mode off: nobody is synchronous */
	m = (PgHaMember *) pgha_find_member(&c, "pg2");
	strcpy(c.sync_leader, "pg3");
	CHECK(strcmp(pgha_member_role_label(&c, m, false), "Replica") == 0);
	strcpy(c.sync_leader, "pg1");
	c.sync_mode = false;
	CHECK(strcmp(pgha_member_role_label(&c, m, false), "Replica") == 0);
}

/*
 * Stopped members: records no session holds go to stopped[], never to
 * members[], so that no decision sees them; the listings read them.
 */
static void
test_stopped_members(void)
{
	static Listing l;
	static PgHaCluster c;
	char		err[PGHA_ERR_LEN];
	char		key[256];
	const PgHaMember *m;
	static const char stopped_pg2[] =
	"{\"conn_url\":\"postgres://127.0.0.1:15432/postgres\",\"api_url\":\"http://127.0.0.1:18009/patroni\",\"state\":\"stopped\",\"role\":\"replica\",\"version\":\"0.1.0\",\"last_seen\":\"2026-11-25T17:21:22.394+00:00\"}";

	/* the reference cluster with pg2's record left without a session */
	listing_init(&l);
	listing_add(&l, PREFIX "leader", "pg3", SESSION3, 1234);
	listing_add(&l, PREFIX "members/pg1", patroni_pg1, SESSION1, 30);
	listing_add(&l, PREFIX "members/pg2", stopped_pg2, NULL, 31);
	listing_add(&l, PREFIX "members/pg3", patroni_pg3, SESSION3, 32);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nwarnings == 0);
	CHECK(c.nmembers == 2 && c.nstopped == 1);
	CHECK(pgha_find_member(&c, "pg2") == NULL);
	CHECK(pgha_find_stopped_member(&c, "pg1") == NULL);
	m = pgha_find_stopped_member(&c, "pg2");
	CHECK(m != NULL);
	if (m != NULL)
	{
		CHECK_STR(m->state, "stopped");
		CHECK_STR(m->conn_url, "postgres://127.0.0.1:15432/postgres");
		CHECK(!m->has_xlog && m->timeline == 0);
		CHECK(m->session[0] == '\0');
		CHECK(m->modify_index == 31);
		/* 2026-11-25T17:21:22.394Z */
		CHECK(m->last_seen_ms == INT64_C(1795627282394));
		CHECK_STR(pgha_stopped_role_label(&c, m, false), "Replica");
		CHECK_STR(pgha_stopped_role_label(&c, m, true), "replica");
	}
	/* the live ones carry their index too */
	CHECK(pgha_find_member(&c, "pg3")->modify_index == 32);
	CHECK(pgha_find_member(&c, "pg3")->last_seen_ms == 0);

	/* a stopped record named by the leader key is still no leader */
	listing_init(&l);
	listing_add(&l, PREFIX "leader", "pg2", SESSION3, 1234);
	listing_add(&l, PREFIX "members/pg2", stopped_pg2, NULL, 31);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == 0 && c.nstopped == 1);
	CHECK_STR(pgha_member_role_label(&c, &c.stopped[0], false), "Leader");
	CHECK_STR(pgha_stopped_role_label(&c, &c.stopped[0], false), "Replica");

	/* a name listed as live and as stopped: the first one counts */
	listing_init(&l);
	listing_add(&l, PREFIX "members/pg2", patroni_pg2, SESSION2, 3);
	listing_add(&l, PREFIX "members/pg2", stopped_pg2, NULL, 4);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == 1 && c.nstopped == 0 && c.nwarnings == 1);
	CHECK_STR(c.warning, "member \"pg2\": listed twice");
	listing_init(&l);
	listing_add(&l, PREFIX "members/pg2", stopped_pg2, NULL, 4);
	listing_add(&l, PREFIX "members/pg2", patroni_pg2, SESSION2, 3);
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == 0 && c.nstopped == 1 && c.nwarnings == 1);

	/* a bad last_seen is left out, the record kept */
	CHECK(parse_one("members/pg2", LIT("{\"state\":\"stopped\",\"last_seen\":\"yesterday\"}"),
					NULL, &c, err));
	CHECK(c.nstopped == 1 && c.nwarnings == 0 && c.stopped[0].last_seen_ms == 0);
	CHECK(parse_one("members/pg2", LIT("{\"state\":\"stopped\",\"last_seen\":1795627282394}"),
					NULL, &c, err));
	CHECK(c.nstopped == 1 && c.nwarnings == 0 && c.stopped[0].last_seen_ms == 0);
	CHECK(parse_one("members/pg2", LIT("{\"state\":\"stopped\",\"last_seen\":\"2026-11-25T17:21:22+00:00 and then some more text after it, a lot\"}"),
					NULL, &c, err));
	CHECK(c.nstopped == 1 && c.nwarnings == 0 && c.stopped[0].last_seen_ms == 0);
	/* one that would not write back (past 9999 in UTC) is left out too */
	CHECK(parse_one("members/pg2", LIT("{\"last_seen\":\"9999-12-31T23:59:59-05:00\"}"),
					NULL, &c, err));
	CHECK(c.nstopped == 1 && c.stopped[0].last_seen_ms == 0);
	/* other bad fields make a stopped record unreadable, as a live one */
	CHECK(parse_one("members/pg2", LIT("{\"state\":7}"), NULL, &c, err));
	CHECK(c.nstopped == 0 && c.nwarnings == 1);

	/* stopped records have room of their own: live ones are never crowded out */
	listing_init(&l);
	for (int i = 0; i < PGHA_MAX_MEMBERS + 3; i++)
	{
		snprintf(key, sizeof(key), PREFIX "members/a%02d", i);
		listing_add(&l, key, stopped_pg2, NULL, i + 1);
	}
	for (int i = 0; i < PGHA_MAX_MEMBERS; i++)
	{
		snprintf(key, sizeof(key), PREFIX "members/b%02d", i);
		listing_add(&l, key, patroni_pg2, SESSION2, i + 100);
	}
	listing_finish(&l);
	CHECK(parse_listing(&l, &c, err));
	CHECK(c.nmembers == PGHA_MAX_MEMBERS && c.nstopped == PGHA_MAX_MEMBERS);
	CHECK(c.nwarnings == 3);
	CHECK(strstr(c.warning, "too many stopped members") != NULL);
	CHECK(pgha_find_member(&c, "b31") != NULL);
	CHECK(pgha_find_stopped_member(&c, "a32") == NULL);
}

static void
test_stopped_record(void)
{
	PgHaMember	live;
	PgHaMember	back;
	char		buf[2048];
	char		iso[PGHA_ISO_TIME_LEN];
	char		err[PGHA_ERR_LEN];
	int64_t		ms;
	int			n;

	/* ISO times as Patroni writes them, in UTC, to the millisecond */
	CHECK(pgha_format_iso_time(0, iso, sizeof(iso)));
	CHECK_STR(iso, "1970-01-01T00:00:00.000+00:00");
	CHECK(pgha_format_iso_time(INT64_C(1795627282394), iso, sizeof(iso)));
	CHECK_STR(iso, "2026-11-25T17:21:22.394+00:00");
	CHECK(pgha_parse_iso_time(iso, &ms) && ms == INT64_C(1795627282394));
	CHECK(pgha_format_iso_time(INT64_C(951782400000), iso, sizeof(iso)));
	CHECK_STR(iso, "2000-02-29T00:00:00.000+00:00");
	CHECK(pgha_format_iso_time(INT64_C(253402300799999), iso, sizeof(iso)));
	CHECK_STR(iso, "9999-12-31T23:59:59.999+00:00");
	CHECK(!pgha_format_iso_time(INT64_C(253402300800000), iso, sizeof(iso)));
	CHECK(!pgha_format_iso_time(-1, iso, sizeof(iso)));
	CHECK(!pgha_format_iso_time(0, iso, 29));
	CHECK(pgha_format_iso_time(0, iso, 30));
	for (ms = 0; ms < INT64_C(253402300800000); ms += INT64_C(86399999937))
	{
		int64_t		back_ms;

		CHECK(pgha_format_iso_time(ms, iso, sizeof(iso)) &&
			  pgha_parse_iso_time(iso, &back_ms) && back_ms == ms);
	}

	/* the record written in place of a vanished one */
	memset(&live, 0, sizeof(live));
	strcpy(live.name, "pg2");
	strcpy(live.conn_url, "postgres://127.0.0.1:15432/postgres");
	strcpy(live.api_url, "http://127.0.0.1:18009/patroni");
	strcpy(live.state, "running");
	strcpy(live.role, "replica");
	strcpy(live.version, "0.1.0");
	strcpy(live.session, SESSION2);
	live.has_xlog = true;
	live.xlog_location = 72501936;
	live.timeline = 5;
	live.pending_restart = true;
	live.nofailover = true;
	live.has_hs_values = true;
	n = pgha_stopped_member_json(&live, INT64_C(1795627282394), buf, sizeof(buf));
	CHECK(n > 0);
	CHECK_STR(buf, "{\"conn_url\":\"postgres://127.0.0.1:15432/postgres\",\"api_url\":\"http://127.0.0.1:18009/patroni\",\"state\":\"stopped\",\"role\":\"replica\",\"version\":\"0.1.0\",\"tags\":{\"nofailover\":true},\"last_seen\":\"2026-11-25T17:21:22.394+00:00\"}");
	memset(&back, 0, sizeof(back));
	CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	CHECK(!back.has_xlog && back.timeline == 0 && !back.pending_restart &&
		  !back.has_hs_values && back.nofailover);
	CHECK(back.last_seen_ms == INT64_C(1795627282394));
	CHECK(pgha_stopped_member_json(&live, INT64_C(1795627282394), buf, 40) == -1);
	CHECK(pgha_stopped_member_json(NULL, 0, buf, sizeof(buf)) == -1);
	/* an unknown time is left out */
	live.nofailover = false;
	CHECK(pgha_stopped_member_json(&live, 0, buf, sizeof(buf)) > 0);
	CHECK(strstr(buf, "last_seen") == NULL && strstr(buf, "\"state\":\"stopped\"") != NULL);
}

/* listing of live members with sessions, and of stopped ones */
static void
tracker_listing(PgHaCluster *c, const char *live, const char *stopped)
{
	static Listing l;
	char		err[PGHA_ERR_LEN];
	char		key[128];
	listing_init(&l);
	for (int pass = 0; pass < 2; pass++)
	{
		/* comma-separated names (strtok_r is not C99) */
		const char *p = pass == 0 ? live : stopped;

		while (*p != '\0')
		{
			size_t		len = strcspn(p, ",");

			snprintf(key, sizeof(key), PREFIX "members/%.*s", (int) len, p);
			listing_add(&l, key, patroni_pg2, pass == 0 ? SESSION2 : NULL, 5);
			p += len;
			if (*p == ',')
				p++;
		}
	}
	listing_finish(&l);
	if (!parse_listing(&l, c, err))
		printf("tracker listing: %s\n", err);
}

static void
test_member_tracker(void)
{
	static PgHaMemberTracker t;
	static PgHaCluster c;
	int			due[PGHA_MAX_MEMBERS * 2];
	int			n;
	const int64_t forget = 30000;

	memset(&t, 0, sizeof(t));

	/* the first read: nothing vanished yet; ourselves never tracked */
	tracker_listing(&c, "pg1,pg2,pg3", "");
	CHECK(pgha_track_members(&t, &c, "pg1", 1000, 5000000, forget, due) == 0);
	CHECK(t.n == 2);

	/* pg2 vanished: due, with its last record and when it was last seen */
	tracker_listing(&c, "pg1,pg3", "");
	n = pgha_track_members(&t, &c, "pg1", 2000, 5001000, forget, due);
	CHECK(n == 1);
	if (n == 1)
	{
		CHECK_STR(t.seen[due[0]].last.name, "pg2");
		CHECK_STR(t.seen[due[0]].last.state, "running");
		CHECK(t.seen[due[0]].last_seen_ms == 5000000);
		CHECK(t.seen[due[0]].gone && t.seen[due[0]].gone_since_ms == 2000);
	}
	/* still due in the next read (the write failed, say) */
	n = pgha_track_members(&t, &c, "pg1", 3000, 5002000, forget, due);
	CHECK(n == 1 && t.seen[due[0]].gone_since_ms == 2000 &&
		  t.seen[due[0]].last_seen_ms == 5000000);

	/* its stopped record appeared: nothing more to do, it is forgotten */
	tracker_listing(&c, "pg1,pg3", "pg2");
	CHECK(pgha_track_members(&t, &c, "pg1", 4000, 5003000, forget, due) == 0);
	CHECK(t.n == 1);

	/* back, and gone again: due again, last seen in its last live read */
	tracker_listing(&c, "pg1,pg2,pg3", "");
	CHECK(pgha_track_members(&t, &c, "pg1", 5000, 5004000, forget, due) == 0);
	tracker_listing(&c, "pg1,pg3", "");
	n = pgha_track_members(&t, &c, "pg1", 6000, 5005000, forget, due);
	CHECK(n == 1 && t.seen[due[0]].last_seen_ms == 5004000);

	/* written: forgotten, not written twice */
	pgha_track_forget(&t, "pg2");
	CHECK(pgha_track_members(&t, &c, "pg1", 7000, 5006000, forget, due) == 0);
	pgha_track_forget(&t, "nosuch");
	CHECK(t.n == 1);

	/* gone, never written (no leader meanwhile): forgotten after a while */
	tracker_listing(&c, "pg1", "");
	CHECK(pgha_track_members(&t, &c, "pg1", 8000, 5007000, forget, due) == 1);
	CHECK(pgha_track_members(&t, &c, "pg1", 8000 + forget, 5008000, forget, due) == 1);
	CHECK(pgha_track_members(&t, &c, "pg1", 8001 + forget, 5009000, forget, due) == 0);
	CHECK(t.n == 0);

	/* our own record vanishing is never due (we publish it again) */
	tracker_listing(&c, "pg1", "");
	CHECK(pgha_track_members(&t, &c, "pg1", 9000, 5010000, forget, due) == 0);
	tracker_listing(&c, "", "");
	CHECK(pgha_track_members(&t, &c, "pg1", 9100, 5010100, forget, due) == 0);

	/* many gone ones never crowd out a live one */
	memset(&t, 0, sizeof(t));
	{
		char		live[512] = "";
		char		more[512] = "";

		for (int i = 0; i < PGHA_MAX_MEMBERS; i++)
		{
			snprintf(live + strlen(live), sizeof(live) - strlen(live), "%sa%02d", i ? "," : "", i);
			snprintf(more + strlen(more), sizeof(more) - strlen(more), "%sb%02d", i ? "," : "", i);
		}
		tracker_listing(&c, live, "");
		CHECK(pgha_track_members(&t, &c, "me", 100, 1000, forget, due) == 0);
		tracker_listing(&c, more, "");
		CHECK(pgha_track_members(&t, &c, "me", 200, 2000, forget, due) == PGHA_MAX_MEMBERS);
		CHECK(t.n == PGHA_MAX_MEMBERS * 2);
		tracker_listing(&c, "c00", "");
		n = pgha_track_members(&t, &c, "me", 300, 3000, forget, due);
		CHECK(t.n == PGHA_MAX_MEMBERS * 2 && n == PGHA_MAX_MEMBERS * 2 - 1);
		CHECK(t.seen[t.n - 1].last_seen_ms == 3000 && !t.seen[t.n - 1].gone);
	}

	/* defensive: a count out of range is reset, NULL arguments do nothing */
	t.n = -5;
	CHECK(pgha_track_members(&t, &c, "me", 400, 4000, forget, due) == 0);
	CHECK(t.n == 1);
	CHECK(pgha_track_members(NULL, &c, "me", 400, 4000, forget, due) == 0);
	CHECK(pgha_track_members(&t, NULL, "me", 400, 4000, forget, due) == 0);
	pgha_track_forget(NULL, "x");
}

int
main(void)
{
	test_sync();
	test_failover_and_time();
	test_base64();
	test_listing_patroni();
	test_listing_keys();
	test_listing_members();
	test_listing_malformed();
	test_parse_member();
	test_member_to_json();
	test_find_member();
	test_restart_keys();
	test_config_timings();
	test_config_rules();
	test_stopped_members();
	test_stopped_record();
	test_member_tracker();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
