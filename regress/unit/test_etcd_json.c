/*-------------------------------------------------------------------------
 *
 * test_etcd_json.c
 *	  Unit tests for src/common/etcd_json.c: etcd v3's JSON gateway, its
 *	  answers and pg_ha's request bodies.
 *
 * A standalone program, no framework and no PostgreSQL, like
 * test_consul_parse.c.  The fixtures are real answers of Debian's etcd
 * 3.4.23 (one member, and three of which two were killed for the no-leader
 * errors), recorded with curl on 127.0.0.1, byte for byte the files of
 * fuzz/corpus/etcd_json/ (a check compares them); beside them, malformed
 * variants, each passed with its exact length, so that it runs under
 * valgrind and sanitizers too.  The request bodies expected here are the
 * ones that etcd 3.4.23 took and acted on as meant (create if absent,
 * rewrite at a mod_revision or a value, delete if the value is ours).
 *
 * Output: one line per failed check (file:line), then "N passed, M failed".
 * The exit status is 1 when any check failed.
 *
 * regress/unit/test_etcd_json.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base64.h"
#include "etcd_json.h"
#include "unit_check.h"

/* string literal with its length, NUL bytes included */
#define LIT(s) (s), (sizeof(s) - 1)

static char arena[65536];
static char err[PGHA_ERR_LEN];

/* the two clusters that answered (one member; three) */
#define CLUSTER_ID	UINT64_C(7454121793089189139)
#define MEMBER_ID	UINT64_C(14460721136984150397)
#define LEASE		INT64_C(5872027968403284742)

/* ----- the recorded answers (fuzz/corpus/etcd_json/) */

static const char fx_deleterange[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"12\","
"\"raft_term\":\"2\"},\"deleted\":\"1\"}";
static const char fx_deleterange_none[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"12\","
"\"raft_term\":\"2\"}}";
static const char fx_error_bad_base64[] =
"{\"error\":\"illegal base64 data at input byte 0\","
"\"message\":\"illegal base64 data at input byte 0\","
"\"code\":3}";
static const char fx_error_compacted[] =
"{\"error\":\"etcdserver: mvcc: required revision has been compacted\","
"\"message\":\"etcdserver: mvcc: required revision has been compacted\""
",\"code\":11}";
static const char fx_error_lease_not_found[] =
"{\"error\":\"etcdserver: requested lease not found\","
"\"message\":\"etcdserver: requested lease not found\","
"\"code\":5}";
static const char fx_error_no_key[] =
"{\"error\":\"etcdserver: key is not provided\","
"\"message\":\"etcdserver: key is not provided\","
"\"code\":3}";
static const char fx_error_no_quorum_keepalive[] =
"{\"error\":{\"grpc_code\":14,\"http_code\":503,"
"\"message\":\"etcdserver: no leader\",\"http_status\":\"Service Unavai"
"lable\"}}";
static const char fx_error_no_quorum_put[] =
"{\"error\":\"context deadline exceeded\","
"\"message\":\"context deadline exceeded\","
"\"code\":2}";
static const char fx_error_no_quorum_range[] =
"{\"error\":\"etcdserver: request timed out\","
"\"message\":\"etcdserver: request timed out\","
"\"code\":14}";
static const char fx_error_put_lease_not_found[] =
"{\"error\":\"etcdserver: requested lease not found\","
"\"message\":\"etcdserver: requested lease not found\","
"\"code\":5}";
static const char fx_lease_grant[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"1\","
"\"raft_term\":\"2\"},\"ID\":\"5872027968403284742\","
"\"TTL\":\"30\"}";
static const char fx_lease_grant_cluster[] =
"{\"header\":{\"cluster_id\":\"15339985036274005409\","
"\"member_id\":\"17863819065962513340\",\"revision\":\"1\","
"\"raft_term\":\"2\"},\"ID\":\"4880954575407307781\","
"\"TTL\":\"10\"}";
static const char fx_lease_keepalive[] =
"{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"10\","
"\"raft_term\":\"2\"},\"ID\":\"5872027968403284742\","
"\"TTL\":\"30\"}}\n";
static const char fx_lease_keepalive_gone[] =
"{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"11\","
"\"raft_term\":\"2\"},\"ID\":\"5872027968403284742\"}}\n";
static const char fx_lease_revoke[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"11\","
"\"raft_term\":\"2\"}}";
static const char fx_lease_timetolive[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"10\","
"\"raft_term\":\"2\"},\"ID\":\"5872027968403284742\","
"\"TTL\":\"29\",\"grantedTTL\":\"30\"}";
static const char fx_put[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"2\","
"\"raft_term\":\"2\"}}";
static const char fx_range_key[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"7\","
"\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\""
",\"create_revision\":\"4\",\"mod_revision\":\"4\","
"\"version\":\"1\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\""
"}],\"count\":\"1\"}";
static const char fx_range_limit_more[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"7\","
"\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9jb25maWc=\""
",\"create_revision\":\"2\",\"mod_revision\":\"2\","
"\"version\":\"1\",\"value\":\"eyJ0dGwiOjMwLCJsb29wX3dhaXQiOjEwLCJyZXRy"
"eV90aW1lb3V0IjoxMCwibWF4aW11bV9sYWdfb25fZmFpbG92ZXIiOjEwNDg1NzYsInBvc3"
"RncmVzcWwiOnsidXNlX3BnX3Jld2luZCI6dHJ1ZSwicGFyYW1ldGVycyI6eyJtYXhfY29u"
"bmVjdGlvbnMiOjEwMH19fQ==\"},{\"key\":\"L3NlcnZpY2Uvb3R1cy9mYWlsb3Zlcg="
"=\",\"create_revision\":\"7\",\"mod_revision\":\"7\","
"\"version\":\"1\"}],\"more\":true,\"count\":\"6\"}";
static const char fx_range_none[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"7\","
"\"raft_term\":\"2\"}}";
static const char fx_range_prefix[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"7\","
"\"raft_term\":\"2\"},\"kvs\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9jb25maWc=\""
",\"create_revision\":\"2\",\"mod_revision\":\"2\","
"\"version\":\"1\",\"value\":\"eyJ0dGwiOjMwLCJsb29wX3dhaXQiOjEwLCJyZXRy"
"eV90aW1lb3V0IjoxMCwibWF4aW11bV9sYWdfb25fZmFpbG92ZXIiOjEwNDg1NzYsInBvc3"
"RncmVzcWwiOnsidXNlX3BnX3Jld2luZCI6dHJ1ZSwicGFyYW1ldGVycyI6eyJtYXhfY29u"
"bmVjdGlvbnMiOjEwMH19fQ==\"},{\"key\":\"L3NlcnZpY2Uvb3R1cy9mYWlsb3Zlcg="
"=\",\"create_revision\":\"7\",\"mod_revision\":\"7\","
"\"version\":\"1\"},{\"key\":\"L3NlcnZpY2Uvb3R1cy9pbml0aWFsaXpl\","
"\"create_revision\":\"3\",\"mod_revision\":\"3\","
"\"version\":\"1\",\"value\":\"NzcxMjE1OTc3MTI5NzQ1MjIyNQ==\"},"
"{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\","
"\"create_revision\":\"4\",\"mod_revision\":\"4\","
"\"version\":\"1\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\""
"},{\"key\":\"L3NlcnZpY2Uvb3R1cy9tZW1iZXJzL3BnMQ==\","
"\"create_revision\":\"5\",\"mod_revision\":\"5\","
"\"version\":\"1\",\"value\":\"eyJjb25uX3VybCI6InBvc3RncmVzOi8vMTI3LjAu"
"MC4xOjU0MzIvcG9zdGdyZXMiLCJhcGlfdXJsIjoiaHR0cDovLzEyNy4wLjAuMTo4MDA4L3"
"BhdHJvbmkiLCJzdGF0ZSI6InJ1bm5pbmciLCJyb2xlIjoibWFzdGVyIiwidmVyc2lvbiI6"
"IjMuMC4yIiwieGxvZ19sb2NhdGlvbiI6NjcxMDkwMjQsInRpbWVsaW5lIjoxfQ==\","
"\"lease\":\"5872027968403284742\"},{\"key\":\"L3NlcnZpY2Uvb3R1cy9tZW1i"
"ZXJzL3BnMg==\",\"create_revision\":\"6\","
"\"mod_revision\":\"6\",\"version\":\"1\","
"\"value\":\"eyJjb25uX3VybCI6InBvc3RncmVzOi8vMTI3LjAuMC4xOjU0MzMvcG9zdG"
"dyZXMiLCJhcGlfdXJsIjoiaHR0cDovLzEyNy4wLjAuMTo4MDA5L3BhdHJvbmkiLCJzdGF0"
"ZSI6InJ1bm5pbmciLCJyb2xlIjoicmVwbGljYSIsInZlcnNpb24iOiIzLjAuMiIsInhsb2"
"dfbG9jYXRpb24iOjY3MTA5MDI0LCJ0aW1lbGluZSI6MX0=\"}],"
"\"count\":\"6\"}";
static const char fx_txn_cas_failed[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"8\","
"\"raft_term\":\"2\"},\"responses\":[{\"response_range\":{\"header\":{\""
"revision\":\"8\"},\"kvs\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\","
"\"create_revision\":\"4\",\"mod_revision\":\"8\","
"\"version\":\"2\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\""
"}],\"count\":\"1\"}}]}";
static const char fx_txn_cas_ok[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"8\","
"\"raft_term\":\"2\"},\"succeeded\":true,"
"\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"8\"}}}]}";
static const char fx_txn_create_failed[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"4\","
"\"raft_term\":\"2\"},\"responses\":[{\"response_range\":{\"header\":{\""
"revision\":\"4\"},\"kvs\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\","
"\"create_revision\":\"4\",\"mod_revision\":\"4\","
"\"version\":\"1\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\""
"}],\"count\":\"1\"}}]}";
static const char fx_txn_create_ok[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"4\","
"\"raft_term\":\"2\"},\"succeeded\":true,"
"\"responses\":[{\"response_put\":{\"header\":{\"revision\":\"4\"}}}]}";
static const char fx_txn_delete_failed[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"9\","
"\"raft_term\":\"2\"},\"responses\":[{\"response_range\":{\"header\":{\""
"revision\":\"9\"}}}]}";
static const char fx_txn_delete_ok[] =
"{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"9\","
"\"raft_term\":\"2\"},\"succeeded\":true,"
"\"responses\":[{\"response_delete_range\":{\"header\":{\"revision\":\""
"9\"},\"deleted\":\"1\"}}]}";
static const char fx_watch_compacted[] =
"{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"13\","
"\"raft_term\":\"2\"},\"created\":true}}\n"
"{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"raft_term\":\"2\"},"
"\"canceled\":true,\"compact_revision\":\"13\"}}\n";
static const char fx_watch_four_events[] =
"{\"result\":{\"header\":{\"cluster_id\":\"12321021320180648511\","
"\"member_id\":\"7589103694183254073\",\"revision\":\"5\","
"\"raft_term\":\"2\"},\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2Uvb3R1cy"
"9sZWFkZXI=\",\"create_revision\":\"2\",\"mod_revision\":\"2\","
"\"version\":\"1\",\"value\":\"cGcx\",\"lease\":\"5204369323709667592\""
"}},{\"kv\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9tZW1iZXJzL3BnMQ==\","
"\"create_revision\":\"3\",\"mod_revision\":\"3\","
"\"version\":\"1\",\"value\":\"e30=\"}},{\"kv\":{\"key\":\"L3NlcnZpY2Uv"
"b3R1cy9sZWFkZXI=\",\"create_revision\":\"2\","
"\"mod_revision\":\"4\",\"version\":\"2\","
"\"value\":\"cGcx\"}},{\"kv\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\""
",\"create_revision\":\"2\",\"mod_revision\":\"5\","
"\"version\":\"3\",\"value\":\"cGcy\"}}]}}\n";
static const char fx_watch_prev_kv[] =
"{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\","
"\"member_id\":\"13668033151171901709\",\"revision\":\"11\","
"\"raft_term\":\"2\"},\"events\":[{\"type\":\"DELETE\","
"\"kv\":{\"key\":\"L3NlcnZpY2UvcGdoYS9sZWFkZXI=\","
"\"mod_revision\":\"10\"},\"prev_kv\":{\"key\":\"L3NlcnZpY2UvcGdoYS9sZW"
"FkZXI=\",\"create_revision\":\"8\",\"mod_revision\":\"8\","
"\"version\":\"1\",\"value\":\"cGcx\",\"lease\":\"2000\"}},"
"{\"kv\":{\"key\":\"L3NlcnZpY2UvcGdoYS9sZWFkZXI=\","
"\"create_revision\":\"11\",\"mod_revision\":\"11\","
"\"version\":\"1\",\"value\":\"cGcy\"}}]}}\n";
static const char fx_watch_stream[] =
"{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"8\","
"\"raft_term\":\"2\"},\"created\":true}}\n"
"{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\","
"\"member_id\":\"14460721136984150397\",\"revision\":\"9\","
"\"raft_term\":\"2\"},\"events\":[{\"type\":\"DELETE\","
"\"kv\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\","
"\"mod_revision\":\"9\"}}]}}\n{\"result\":{\"header\":{\"cluster_id\":\""
"7454121793089189139\",\"member_id\":\"14460721136984150397\","
"\"revision\":\"10\",\"raft_term\":\"2\"},"
"\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\","
"\"create_revision\":\"10\",\"mod_revision\":\"10\","
"\"version\":\"1\",\"value\":\"cGcy\",\"lease\":\"5872027968403284742\""
"}}]}}\n{\"result\":{\"header\":{\"cluster_id\":\"7454121793089189139\""
",\"member_id\":\"14460721136984150397\","
"\"revision\":\"11\",\"raft_term\":\"2\"},"
"\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9"
"sZWFkZXI=\",\"mod_revision\":\"11\"}}]}}\n";
static const char fx_watch_two_events[] =
"{\"result\":{\"header\":{\"cluster_id\":\"15118495548433857066\","
"\"member_id\":\"13668033151171901709\",\"revision\":\"11\","
"\"raft_term\":\"2\"},\"events\":[{\"kv\":{\"key\":\"L3NlcnZpY2UvcGdoYS"
"9sZWFkZXI=\",\"create_revision\":\"11\","
"\"mod_revision\":\"11\",\"version\":\"1\","
"\"value\":\"cGcy\"}},{\"kv\":{\"key\":\"L3NlcnZpY2UvcGdoYS9zdGF0dXM=\""
",\"create_revision\":\"11\",\"mod_revision\":\"11\","
"\"version\":\"1\",\"value\":\"eyJvcHRpbWUiOjF9\"}}]}}\n";

static const struct
{
	const char *file;
	const char *text;
	size_t		len;
}			fixtures[] =
{
	{"deleterange.json", LIT(fx_deleterange)},
	{"deleterange_none.json", LIT(fx_deleterange_none)},
	{"error_bad_base64.json", LIT(fx_error_bad_base64)},
	{"error_compacted.json", LIT(fx_error_compacted)},
	{"error_lease_not_found.json", LIT(fx_error_lease_not_found)},
	{"error_no_key.json", LIT(fx_error_no_key)},
	{"error_no_quorum_keepalive.json", LIT(fx_error_no_quorum_keepalive)},
	{"error_no_quorum_put.json", LIT(fx_error_no_quorum_put)},
	{"error_no_quorum_range.json", LIT(fx_error_no_quorum_range)},
	{"error_put_lease_not_found.json", LIT(fx_error_put_lease_not_found)},
	{"lease_grant.json", LIT(fx_lease_grant)},
	{"lease_grant_cluster.json", LIT(fx_lease_grant_cluster)},
	{"lease_keepalive.json", LIT(fx_lease_keepalive)},
	{"lease_keepalive_gone.json", LIT(fx_lease_keepalive_gone)},
	{"lease_revoke.json", LIT(fx_lease_revoke)},
	{"lease_timetolive.json", LIT(fx_lease_timetolive)},
	{"put.json", LIT(fx_put)},
	{"range_key.json", LIT(fx_range_key)},
	{"range_limit_more.json", LIT(fx_range_limit_more)},
	{"range_none.json", LIT(fx_range_none)},
	{"range_prefix.json", LIT(fx_range_prefix)},
	{"txn_cas_failed.json", LIT(fx_txn_cas_failed)},
	{"txn_cas_ok.json", LIT(fx_txn_cas_ok)},
	{"txn_create_failed.json", LIT(fx_txn_create_failed)},
	{"txn_create_ok.json", LIT(fx_txn_create_ok)},
	{"txn_delete_failed.json", LIT(fx_txn_delete_failed)},
	{"txn_delete_ok.json", LIT(fx_txn_delete_ok)},
	{"watch_compacted.txt", LIT(fx_watch_compacted)},
	{"watch_four_events.json", LIT(fx_watch_four_events)},
	{"watch_prev_kv.json", LIT(fx_watch_prev_kv)},
	{"watch_stream.txt", LIT(fx_watch_stream)},
	{"watch_two_events.json", LIT(fx_watch_two_events)},
};

/* ----- helpers */

/* Is kv this entry?  value NULL: the empty value. */
static bool
kv_is(const PgHaEtcdKv *kv, const char *key, const char *value,
	  int64_t create, int64_t mod, int64_t version, int64_t lease)
{
	if (value == NULL)
		value = "";
	return kv->key != NULL && kv->value != NULL &&
		kv->key_len == strlen(key) && memcmp(kv->key, key, kv->key_len) == 0 &&
		kv->key[kv->key_len] == '\0' &&
		kv->value_len == strlen(value) && memcmp(kv->value, value, kv->value_len) == 0 &&
		kv->value[kv->value_len] == '\0' &&
		kv->create_revision == create && kv->mod_revision == mod &&
		kv->version == version && kv->lease == lease;
}

static bool
header_is(const PgHaEtcdHeader *h, uint64_t cluster, uint64_t member,
		  int64_t revision, uint64_t term)
{
	return h->cluster_id == cluster && h->member_id == member &&
		h->revision == revision && h->raft_term == term;
}


/*
 * err is want; a want ending in "..." is a prefix (what follows is
 * jansson's own message, which its versions word differently).
 */
#define CHECK_ERR(got, want) \
	do { \
		size_t		wl_ = strlen(want); \
		if (wl_ > 3 && strcmp((want) + wl_ - 3, "...") == 0) \
			CHECK(strncmp((got), (want), wl_ - 3) == 0); \
		else \
			CHECK_STR((got), (want)); \
	} while (0)

/* Is the whole struct zero (what a failed parse leaves)? */
static const char zeros[sizeof(PgHaEtcdWatch) + sizeof(PgHaEtcdTxn)];
#define ALL_ZERO(p) (sizeof(*(p)) <= sizeof(zeros) && memcmp((p), zeros, sizeof(*(p))) == 0)

/* A malformed answer and the reason its parser gives. */
typedef struct Bad
{
	const char *body;
	const char *err;
} Bad;

/* A parser with the arena and err of this file, into out. */
typedef bool (*Parser) (const char *body, size_t len, void *out);

static bool
parse_range(const char *body, size_t len, void *out)
{
	return pgha_etcd_parse_range(body, len, out, arena, sizeof(arena), err, sizeof(err));
}

static bool
parse_txn(const char *body, size_t len, void *out)
{
	return pgha_etcd_parse_txn(body, len, out, arena, sizeof(arena), err, sizeof(err));
}

static bool
parse_grant(const char *body, size_t len, void *out)
{
	return pgha_etcd_parse_lease_grant(body, len, out, err, sizeof(err));
}

static bool
parse_keepalive(const char *body, size_t len, void *out)
{
	return pgha_etcd_parse_lease_keepalive(body, len, out, err, sizeof(err));
}

static bool
parse_watch(const char *body, size_t len, void *out)
{
	return pgha_etcd_parse_watch(body, len, out, arena, sizeof(arena), err, sizeof(err));
}

/* Each body fails with its reason, and leaves out (outlen bytes) zeroed. */
static void
check_bad(const Bad *cases, size_t ncases, Parser parse, void *out, size_t outlen)
{
	for (size_t i = 0; i < ncases; i++)
	{
		memset(out, 0x5a, outlen);
		err[0] = '\0';
		CHECK(!parse(cases[i].body, strlen(cases[i].body), out));
		CHECK_ERR(err, cases[i].err);
		CHECK(outlen <= sizeof(zeros) && memcmp(out, zeros, outlen) == 0);
	}
}

#define CHECK_BAD(cases, parse, out) \
	check_bad((cases), sizeof(cases) / sizeof((cases)[0]), (parse), (out), sizeof(*(out)))

/* head, then n times item (comma-separated), then tail: malloc'd */
static char *
repeated(const char *head, const char *item, int n, const char *tail)
{
	size_t		room = strlen(head) + (strlen(item) + 1) * (size_t) n + strlen(tail) + 1;
	char	   *s = malloc(room);
	size_t		len;

	if (s == NULL)
		return NULL;
	len = (size_t) snprintf(s, room, "%s", head);
	for (int i = 0; i < n; i++)
		len += (size_t) snprintf(s + len, room - len, "%s%s", i > 0 ? "," : "", item);
	snprintf(s + len, room - len, "%s", tail);
	return s;
}

/*
 * PGHA_ETCD_MAX_KVS items between head and tail parse (*count tells how
 * many were read); one more fails with want_err.
 */
static void
check_at_most(const char *head, const char *item, const char *tail,
			  Parser parse, void *out, const int *count, const char *want_err)
{
	for (int n = PGHA_ETCD_MAX_KVS; n <= PGHA_ETCD_MAX_KVS + 1; n++)
	{
		char	   *body = repeated(head, item, n, tail);

		CHECK(body != NULL);
		if (body == NULL)
			continue;
		CHECK(parse(body, strlen(body), out) == (n == PGHA_ETCD_MAX_KVS));
		if (n == PGHA_ETCD_MAX_KVS)
			CHECK(*count == PGHA_ETCD_MAX_KVS);
		else
			CHECK_STR(err, want_err);
		free(body);
	}
}

/* The n-th line of a recorded stream (newline included), in buf. */
static size_t
stream_line(const char *text, int n, const char **line)
{
	const char *p = text;

	for (int i = 0; i < n && p != NULL; i++)
	{
		p = strchr(p, '\n');
		if (p != NULL)
			p++;
	}
	if (p == NULL || *p == '\0')
	{
		*line = "";
		return 0;
	}
	*line = p;
	return (size_t) (strchr(p, '\n') != NULL ? strchr(p, '\n') - p + 1 : (ptrdiff_t) strlen(p));
}

/* ----- the fixtures are the corpus's files */

static void
test_fixture_files(void)
{
	for (size_t i = 0; i < sizeof(fixtures) / sizeof(fixtures[0]); i++)
	{
		char		path[256];
		char		buf[4096];
		FILE	   *f;
		size_t		n = 0;

		snprintf(path, sizeof(path), "fuzz/corpus/etcd_json/%s", fixtures[i].file);
		f = fopen(path, "rb");
		CHECK(f != NULL);
		if (f == NULL)
		{
			printf("cannot open %s (run from the top of the tree)\n", path);
			continue;
		}
		n = fread(buf, 1, sizeof(buf), f);
		fclose(f);
		CHECK(n == fixtures[i].len && memcmp(buf, fixtures[i].text, n) == 0);
	}
}

/* ----- range */

static void
test_range(void)
{
	static PgHaEtcdRange r;

	CHECK(pgha_etcd_parse_range(LIT(fx_range_prefix), &r, arena, sizeof(arena), err, sizeof(err)));
	CHECK(header_is(&r.header, CLUSTER_ID, MEMBER_ID, 7, 2));
	CHECK(r.count == 6 && !r.more && r.nkvs == 6);
	CHECK(kv_is(&r.kvs[0], "/service/otus/config",
				"{\"ttl\":30,\"loop_wait\":10,\"retry_timeout\":10,\"maximum_lag_on_failover\":1048576,\"postgresql\":{\"use_pg_rewind\":true,\"parameters\":{\"max_connections\":100}}}",
				2, 2, 1, 0));
	CHECK(kv_is(&r.kvs[1], "/service/otus/failover", NULL, 7, 7, 1, 0));
	CHECK(kv_is(&r.kvs[2], "/service/otus/initialize", "7712159771297452225", 3, 3, 1, 0));
	CHECK(kv_is(&r.kvs[3], "/service/otus/leader", "pg1", 4, 4, 1, LEASE));
	CHECK(kv_is(&r.kvs[4], "/service/otus/members/pg1",
				"{\"conn_url\":\"postgres://127.0.0.1:5432/postgres\",\"api_url\":\"http://127.0.0.1:8008/patroni\",\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":67109024,\"timeline\":1}",
				5, 5, 1, LEASE));
	CHECK(kv_is(&r.kvs[5], "/service/otus/members/pg2",
				"{\"conn_url\":\"postgres://127.0.0.1:5433/postgres\",\"api_url\":\"http://127.0.0.1:8009/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":67109024,\"timeline\":1}",
				6, 6, 1, 0));
	/* every key and value lies in the arena */
	for (int i = 0; i < r.nkvs; i++)
		CHECK(r.kvs[i].key >= arena && r.kvs[i].value + r.kvs[i].value_len < arena + sizeof(arena));

	CHECK(pgha_etcd_parse_range(LIT(fx_range_limit_more), &r, arena, sizeof(arena), err, sizeof(err)));
	CHECK(r.more && r.count == 6 && r.nkvs == 2);
	CHECK(kv_is(&r.kvs[1], "/service/otus/failover", NULL, 7, 7, 1, 0));

	CHECK(pgha_etcd_parse_range(LIT(fx_range_key), &r, arena, sizeof(arena), err, sizeof(err)));
	CHECK(r.count == 1 && r.nkvs == 1 && kv_is(&r.kvs[0], "/service/otus/leader", "pg1", 4, 4, 1, LEASE));

	/* nothing found: no kvs, no count; no arena needed */
	CHECK(pgha_etcd_parse_range(LIT(fx_range_none), &r, NULL, 0, err, sizeof(err)));
	CHECK(header_is(&r.header, CLUSTER_ID, MEMBER_ID, 7, 2) && r.count == 0 && r.nkvs == 0);

	/* an arena too small: a failure, and nothing left behind */
	CHECK(!pgha_etcd_parse_range(LIT(fx_range_prefix), &r, arena, 100, err, sizeof(err)));
	CHECK_STR(err, "the keys and values take more than 100 bytes");
	CHECK(ALL_ZERO(&r));
	CHECK(!pgha_etcd_parse_range(LIT(fx_range_key), &r, NULL, 0, err, sizeof(err)));
	/*
	 * the leader key takes 20 + 1 bytes, its value 3 + 1, and 4 free to be
	 * decoded (n / 4 * 3 + 1 for n base64 characters): 25 is enough
	 */
	CHECK(pgha_etcd_parse_range(LIT(fx_range_key), &r, arena, 25, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_range(LIT(fx_range_key), &r, arena, 24, err, sizeof(err)));

	/* error answers */
	CHECK(!pgha_etcd_parse_range(LIT(fx_error_compacted), &r, arena, sizeof(arena), err, sizeof(err)));
	CHECK_STR(err, "etcd error 11: etcdserver: mvcc: required revision has been compacted");
	CHECK(!pgha_etcd_parse_range(LIT(fx_error_no_quorum_range), &r, arena, sizeof(arena), err, sizeof(err)));
	CHECK_STR(err, "etcd error 14: etcdserver: request timed out");
	CHECK(!pgha_etcd_parse_range(LIT(fx_error_no_key), &r, arena, sizeof(arena), err, sizeof(err)));
	CHECK_STR(err, "etcd error 3: etcdserver: key is not provided");
	CHECK(ALL_ZERO(&r));
}

/* Malformed range answers: each fails with its message. */
static void
test_range_malformed(void)
{
	static const Bad cases[] =
	{
		{"", "the range answer is not valid JSON: ..."},
		{"{", "the range answer is not valid JSON: ..."},
		{"[]", "the range answer is not a JSON object"},
		{"null", "the range answer is not a JSON object"},
		{"{\"kvs\":[]}", "header is missing"},
		{"{\"header\":3}", "header is not an object"},
		{"{\"header\":{\"revision\":\"12a\"}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":{}}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\"\"}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\"+1\"}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\" 1\"}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\"-1\"}}", "header.revision is out of range (-1)"},
		{"{\"header\":{\"revision\":-1}}", "header.revision is out of range (-1)"},
		{"{\"header\":{\"revision\":1.5}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\"9223372036854775808\"}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\"-9223372036854775809\"}}", "header.revision is not an int64"},
		{"{\"header\":{\"revision\":\"-9223372036854775808\"}}", "header.revision is out of range (-9223372036854775808)"},
		{"{\"header\":{\"cluster_id\":\"18446744073709551616\"}}", "header.cluster_id is not a uint64"},
		{"{\"header\":{\"member_id\":-1}}", "header.member_id is not a uint64"},
		{"{\"header\":{\"raft_term\":true}}", "header.raft_term is not a uint64"},
		{"{\"header\":{},\"header\":{}}", "the range answer is not valid JSON: ..."},
		{"{\"header\":{\"member_id\":18446744073709551615}}", "the range answer is not valid JSON: ..."},
		{"{\"header\":{},\"count\":\"x\"}", "count is not an int64"},
		{"{\"header\":{},\"more\":\"true\"}", "more is not a boolean"},
		{"{\"header\":{},\"kvs\":{}}", "kvs is not an array"},
		{"{\"header\":{},\"kvs\":[3]}", "kvs[0] is not an object"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{}]}", "kvs[0].key is missing"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"\"}]}", "kvs[0].key is missing"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":12}]}", "kvs[0].key is not a string"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"###=\"}]}", "kvs[0].key is not valid base64"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eA==\",\"value\":\"cGc\"}]}", "kvs[0].value is not valid base64"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eA==\",\"value\":true}]}", "kvs[0].value is not a string"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eA==\",\"lease\":\"-3\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}]}",
		"kvs[0].lease is out of range (-3)"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eA==\",\"mod_revision\":\"2\",\"version\":\"1\"}]}",
		"kvs[0] has impossible revisions (create 0, mod 2, version 1)"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eA==\",\"create_revision\":\"3\",\"mod_revision\":\"2\",\"version\":\"1\"}]}",
		"kvs[0] has impossible revisions (create 3, mod 2, version 1)"},
		{"{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eA==\",\"create_revision\":\"2\",\"mod_revision\":\"2\"}]}",
		"kvs[0] has impossible revisions (create 2, mod 2, version 0)"},
		{"{\"header\":{},\"kvs\":[{\"key\":\"eA==\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}]}",
		"count 0 is less than the 1 key-values listed"},
		{"{\"error\":{\"grpc_code\":14,\"message\":\"a \\\"quoted\\\"\\nmessage\"}}", "etcd error 14: a ?quoted??message"},
		{"{\"error\":\"boom\"}", "etcd error 0: boom"},
		{"{\"error\":{}}", "etcd error 0: (no message)"},
	};
	static PgHaEtcdRange r;

	CHECK_BAD(cases, parse_range, &r);

	/* what the gateway may also send: integers as JSON numbers, nulls */
	CHECK(pgha_etcd_parse_range(LIT("{\"header\":{\"revision\":12,\"cluster_id\":9223372036854775807},\"count\":1,"
									"\"kvs\":[{\"key\":\"eA==\",\"value\":null,\"create_revision\":2,\"mod_revision\":9,\"version\":3,\"lease\":null}]}"),
								&r, arena, sizeof(arena), err, sizeof(err)));
	CHECK(r.header.revision == 12 && r.nkvs == 1 && kv_is(&r.kvs[0], "x", NULL, 2, 9, 3, 0));
	CHECK(pgha_etcd_parse_range(LIT("{\"header\":{\"revision\":\"9223372036854775807\","
									"\"cluster_id\":\"18446744073709551615\"}}"),
								&r, arena, sizeof(arena), err, sizeof(err)));
	CHECK(r.header.revision == INT64_MAX && r.header.cluster_id == UINT64_MAX);
	/* a key holding a NUL byte: its length says so */
	CHECK(pgha_etcd_parse_range(LIT("{\"header\":{},\"count\":\"1\",\"kvs\":[{\"key\":\"eABi\",\"value\":\"AA==\","
									"\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}]}"),
								&r, arena, sizeof(arena), err, sizeof(err)));
	CHECK(r.kvs[0].key_len == 3 && memcmp(r.kvs[0].key, "x\0b", 3) == 0 && r.kvs[0].value_len == 1);

	/* a NUL in the body, bodies too large, no struct */
	CHECK(!pgha_etcd_parse_range(LIT("{\"header\":{}}\0"), &r, arena, sizeof(arena), err, sizeof(err)));
	{
		size_t		big = PGHA_ETCD_MAX_BODY + 1;
		char	   *body = malloc(big);

		CHECK(body != NULL);
		if (body != NULL)
		{
			memset(body, ' ', big);
			body[0] = '{';
			body[big - 1] = '}';
			CHECK(!pgha_etcd_parse_range(body, big, &r, arena, sizeof(arena), err, sizeof(err)));
			CHECK_STR(err, "the range answer is too large (16777217 bytes)");
			CHECK(pgha_etcd_parse_range(body, big - 1, &r, arena, sizeof(arena), err, sizeof(err)) == false);
			CHECK_ERR(err, "the range answer is not valid JSON: ...");
			free(body);
		}
	}
	CHECK(!pgha_etcd_parse_range(LIT(fx_range_key), NULL, arena, sizeof(arena), err, sizeof(err)));
	CHECK(!pgha_etcd_parse_range(NULL, 0, &r, arena, sizeof(arena), err, sizeof(err)));

	/* PGHA_ETCD_MAX_KVS entries parse; one more does not */
	check_at_most("{\"header\":{},\"count\":\"999\",\"kvs\":[",
				  "{\"key\":\"eA==\",\"create_revision\":\"1\",\"mod_revision\":\"1\",\"version\":\"1\"}",
				  "]}", parse_range, &r, &r.nkvs, "kvs has more than 128 elements");
}

/* ----- txn */

static void
test_txn(void)
{
	static PgHaEtcdTxn t;

	CHECK(pgha_etcd_parse_txn(LIT(fx_txn_create_ok), &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(header_is(&t.header, CLUSTER_ID, MEMBER_ID, 4, 2) && t.succeeded);
	CHECK(t.nresults == 1 && t.results[0].op == PGHA_ETCD_OP_PUT && t.results[0].revision == 4);
	CHECK(t.nkvs == 0);

	CHECK(pgha_etcd_parse_txn(LIT(fx_txn_create_failed), &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(!t.succeeded && t.nresults == 1 && t.results[0].op == PGHA_ETCD_OP_RANGE);
	CHECK(t.results[0].count == 1 && t.results[0].first_kv == 0 && t.results[0].nkvs == 1);
	CHECK(t.nkvs == 1 && kv_is(&t.kvs[0], "/service/otus/leader", "pg1", 4, 4, 1, LEASE));

	CHECK(pgha_etcd_parse_txn(LIT(fx_txn_cas_ok), &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(t.succeeded && t.nresults == 1 && t.results[0].op == PGHA_ETCD_OP_PUT &&
		  t.results[0].revision == 8);
	CHECK(pgha_etcd_parse_txn(LIT(fx_txn_cas_failed), &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(!t.succeeded && t.nkvs == 1 &&
		  kv_is(&t.kvs[0], "/service/otus/leader", "pg1", 4, 8, 2, LEASE));

	CHECK(pgha_etcd_parse_txn(LIT(fx_txn_delete_ok), &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(t.succeeded && t.nresults == 1 && t.results[0].op == PGHA_ETCD_OP_DELETE &&
		  t.results[0].deleted == 1 && t.results[0].revision == 9);
	CHECK(pgha_etcd_parse_txn(LIT(fx_txn_delete_failed), &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(!t.succeeded && t.nresults == 1 && t.results[0].op == PGHA_ETCD_OP_RANGE &&
		  t.results[0].count == 0 && t.results[0].nkvs == 0 && t.nkvs == 0);

	/* two ranges: each result knows its own entries */
	CHECK(pgha_etcd_parse_txn(LIT("{\"header\":{\"revision\":\"5\"},\"responses\":["
								  "{\"response_range\":{\"count\":\"2\",\"kvs\":["
								  "{\"key\":\"YQ==\",\"create_revision\":\"1\",\"mod_revision\":\"1\",\"version\":\"1\"},"
								  "{\"key\":\"Yg==\",\"create_revision\":\"2\",\"mod_revision\":\"2\",\"version\":\"1\"}]}},"
								  "{\"response_put\":{}},"
								  "{\"response_range\":{\"count\":\"1\",\"kvs\":["
								  "{\"key\":\"Yw==\",\"value\":\"eA==\",\"create_revision\":\"3\",\"mod_revision\":\"4\",\"version\":\"2\"}]}}]}"),
							  &t, arena, sizeof(arena), err, sizeof(err)));
	CHECK(t.nresults == 3 && t.nkvs == 3);
	CHECK(t.results[0].first_kv == 0 && t.results[0].nkvs == 2);
	CHECK(t.results[1].op == PGHA_ETCD_OP_PUT && t.results[1].nkvs == 0);
	CHECK(t.results[2].first_kv == 2 && t.results[2].nkvs == 1);
	CHECK(kv_is(&t.kvs[2], "c", "x", 3, 4, 2, 0));

	/* malformed */
	{
		static const Bad cases[] =
		{
			{"{\"responses\":[]}", "header is missing"},
			{"{\"header\":{},\"succeeded\":1}", "succeeded is not a boolean"},
			{"{\"header\":{},\"responses\":{}}", "responses is not an array"},
			{"{\"header\":{},\"responses\":[1]}", "responses[0] is not one put, range or delete_range"},
			{"{\"header\":{},\"responses\":[{}]}", "responses[0] is not one put, range or delete_range"},
			{"{\"header\":{},\"responses\":[{\"response_txn\":{}}]}", "responses[0] is not one put, range or delete_range"},
			{"{\"header\":{},\"responses\":[{\"response_put\":{},\"response_range\":{}}]}", "responses[0] is not one put, range or delete_range"},
			{"{\"header\":{},\"responses\":[{\"response_put\":[]}]}", "responses[0] is not one put, range or delete_range"},
			{"{\"header\":{},\"responses\":[{\"response_put\":{\"header\":[]}}]}", "responses[0].header is not an object"},
			{"{\"header\":{},\"responses\":[{\"response_delete_range\":{\"deleted\":\"-1\"}}]}", "responses[0].deleted is out of range (-1)"},
			{"{\"header\":{},\"responses\":[{\"response_range\":{\"kvs\":[{\"key\":\"x\"}]}}]}", "responses[0].kvs[0].key is not valid base64"},
			{"{\"header\":{},\"responses\":[{},{},{},{},{},{},{},{},{}]}", "responses has more than 8 elements"},
			{"{\"error\":\"etcdserver: too many operations in txn request\",\"code\":3}", "etcd error 3: etcdserver: too many operations in txn request"},
		};

		CHECK_BAD(cases, parse_txn, &t);
	}
	CHECK(!pgha_etcd_parse_txn(LIT(fx_txn_create_failed), &t, arena, 10, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_txn(LIT(fx_txn_create_ok), NULL, arena, sizeof(arena), err, sizeof(err)));
}

/* ----- put, deleterange, revoke: the header */

static void
test_header(void)
{
	PgHaEtcdHeader h;
	int64_t		deleted = -1;

	CHECK(pgha_etcd_parse_header(LIT(fx_put), &h, NULL, err, sizeof(err)));
	CHECK(header_is(&h, CLUSTER_ID, MEMBER_ID, 2, 2));
	CHECK(pgha_etcd_parse_header(LIT(fx_deleterange), &h, &deleted, err, sizeof(err)));
	CHECK(h.revision == 12 && deleted == 1);
	CHECK(pgha_etcd_parse_header(LIT(fx_deleterange_none), &h, &deleted, err, sizeof(err)));
	CHECK(h.revision == 12 && deleted == 0);
	CHECK(pgha_etcd_parse_header(LIT(fx_lease_revoke), &h, NULL, err, sizeof(err)));
	CHECK(h.revision == 11);

	deleted = 7;
	CHECK(!pgha_etcd_parse_header(LIT(fx_error_lease_not_found), &h, &deleted, err, sizeof(err)));
	CHECK_STR(err, "etcd error 5: etcdserver: requested lease not found");
	CHECK(deleted == 0 && ALL_ZERO(&h));
	CHECK(!pgha_etcd_parse_header(LIT(fx_error_put_lease_not_found), &h, NULL, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_header(LIT(fx_error_bad_base64), &h, NULL, err, sizeof(err)));
	CHECK_STR(err, "etcd error 3: illegal base64 data at input byte 0");
	CHECK(!pgha_etcd_parse_header(LIT(fx_error_no_quorum_put), &h, NULL, err, sizeof(err)));
	CHECK_STR(err, "etcd error 2: context deadline exceeded");
	CHECK(!pgha_etcd_parse_header(LIT("{}"), &h, NULL, err, sizeof(err)));
	CHECK_STR(err, "header is missing");
	CHECK(!pgha_etcd_parse_header(LIT("{\"header\":{},\"deleted\":\"x\"}"), &h, &deleted, err, sizeof(err)));
	CHECK_STR(err, "deleted is not an int64");
	CHECK(deleted == 0);
	CHECK(!pgha_etcd_parse_header(LIT(fx_put), NULL, NULL, err, sizeof(err)));
}

/* ----- leases */

static void
test_lease(void)
{
	PgHaEtcdLease l;

	CHECK(pgha_etcd_parse_lease_grant(LIT(fx_lease_grant), &l, err, sizeof(err)));
	CHECK(header_is(&l.header, CLUSTER_ID, MEMBER_ID, 1, 2) && l.id == LEASE && l.ttl == 30);
	CHECK(pgha_etcd_parse_lease_grant(LIT(fx_lease_grant_cluster), &l, err, sizeof(err)));
	CHECK(header_is(&l.header, UINT64_C(15339985036274005409), UINT64_C(17863819065962513340), 1, 2));
	CHECK(l.id == INT64_C(4880954575407307781) && l.ttl == 10);

	CHECK(pgha_etcd_parse_lease_keepalive(LIT(fx_lease_keepalive), &l, err, sizeof(err)));
	CHECK(l.header.revision == 10 && l.id == LEASE && l.ttl == 30);
	/* the lease is gone: a TTL left out, which is no failure */
	CHECK(pgha_etcd_parse_lease_keepalive(LIT(fx_lease_keepalive_gone), &l, err, sizeof(err)));
	CHECK(l.header.revision == 11 && l.id == LEASE && l.ttl == 0);
	/* no leader: the streaming error form */
	CHECK(!pgha_etcd_parse_lease_keepalive(LIT(fx_error_no_quorum_keepalive), &l, err, sizeof(err)));
	CHECK_STR(err, "etcd error 14: etcdserver: no leader");
	CHECK(ALL_ZERO(&l));

	{
		static const Bad grants[] =
		{
			{"{\"header\":{},\"TTL\":\"5\"}", "the lease answer has no ID"},
			{"{\"header\":{},\"ID\":\"0\",\"TTL\":\"5\"}", "the lease answer has no ID"},
			{"{\"header\":{},\"ID\":\"-5\",\"TTL\":\"5\"}", "ID is out of range (-5)"},
			{"{\"header\":{},\"ID\":\"5\"}", "the lease grant has no TTL"},
			{"{\"header\":{},\"ID\":\"5\",\"TTL\":\"-1\"}", "TTL is out of range (-1)"},
			{"{\"ID\":\"5\",\"TTL\":\"5\"}", "header is missing"},
			{"{\"header\":{},\"ID\":\"5\",\"TTL\":\"5\",\"error\":\"etcdserver: too many leases\"}",
			"etcd error 0: etcdserver: too many leases"},
			{"{\"error\":\"etcdserver: too large lease TTL\",\"code\":11}", "etcd error 11: etcdserver: too large lease TTL"},
		};
		static const Bad keepalives[] =
		{
			{"{\"header\":{},\"ID\":\"5\",\"TTL\":\"5\"}", "the keep-alive answer has no result"},
			{"{\"result\":[]}", "the keep-alive answer has no result"},
			{"{\"result\":{\"ID\":\"5\"}}", "header is missing"},
			{"{\"result\":{\"header\":{}}}", "the lease answer has no ID"},
			{"{\"result\":{\"header\":{},\"ID\":\"5\",\"TTL\":\"x\"}}", "TTL is not an int64"},
		};

		CHECK_BAD(grants, parse_grant, &l);
		CHECK_BAD(keepalives, parse_keepalive, &l);
	}
	/* a keep-alive answer is no grant, and the other way round */
	CHECK(!pgha_etcd_parse_lease_grant(LIT(fx_lease_keepalive), &l, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_lease_keepalive(LIT(fx_lease_grant), &l, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_lease_grant(LIT(fx_lease_grant), NULL, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_lease_keepalive(LIT(fx_lease_keepalive), NULL, err, sizeof(err)));
}

/* ----- watch */

static void
test_watch(void)
{
	static PgHaEtcdWatch w;
	const char *line;
	size_t		len;

	/* the stream of the leader key: created, deleted, put, deleted */
	len = stream_line(fx_watch_stream, 0, &line);
	CHECK(pgha_etcd_parse_watch(line, len, &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(header_is(&w.header, CLUSTER_ID, MEMBER_ID, 8, 2));
	CHECK(w.created && !w.canceled && w.nevents == 0 && w.watch_id == 0);
	len = stream_line(fx_watch_stream, 1, &line);
	CHECK(pgha_etcd_parse_watch(line, len, &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(!w.created && w.nevents == 1 && w.events[0].type == PGHA_ETCD_EVENT_DELETE);
	CHECK(kv_is(&w.events[0].kv, "/service/otus/leader", NULL, 0, 9, 0, 0));
	len = stream_line(fx_watch_stream, 2, &line);
	CHECK(pgha_etcd_parse_watch(line, len, &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.header.revision == 10 && w.nevents == 1 && w.events[0].type == PGHA_ETCD_EVENT_PUT);
	CHECK(kv_is(&w.events[0].kv, "/service/otus/leader", "pg2", 10, 10, 1, LEASE));
	len = stream_line(fx_watch_stream, 3, &line);
	CHECK(pgha_etcd_parse_watch(line, len, &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.nevents == 1 && w.events[0].type == PGHA_ETCD_EVENT_DELETE &&
		  w.events[0].kv.mod_revision == 11);
	CHECK(stream_line(fx_watch_stream, 4, &line) == 0);

	/* from a compacted revision: created, then canceled */
	len = stream_line(fx_watch_compacted, 0, &line);
	CHECK(pgha_etcd_parse_watch(line, len, &w, arena, sizeof(arena), err, sizeof(err)) && w.created);
	len = stream_line(fx_watch_compacted, 1, &line);
	CHECK(pgha_etcd_parse_watch(line, len, &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.canceled && !w.created && w.compact_revision == 13 && w.header.revision == 0);
	CHECK(w.cancel_reason[0] == '\0');

	/* several events in one message, a prev_kv (ignored) */
	CHECK(pgha_etcd_parse_watch(LIT(fx_watch_four_events), &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.nevents == 4);
	CHECK(kv_is(&w.events[0].kv, "/service/otus/leader", "pg1", 2, 2, 1, INT64_C(5204369323709667592)));
	CHECK(kv_is(&w.events[1].kv, "/service/otus/members/pg1", "{}", 3, 3, 1, 0));
	CHECK(kv_is(&w.events[2].kv, "/service/otus/leader", "pg1", 2, 4, 2, 0));
	CHECK(kv_is(&w.events[3].kv, "/service/otus/leader", "pg2", 2, 5, 3, 0));
	CHECK(pgha_etcd_parse_watch(LIT(fx_watch_prev_kv), &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.nevents == 2 && w.events[0].type == PGHA_ETCD_EVENT_DELETE &&
		  kv_is(&w.events[0].kv, "/service/pgha/leader", NULL, 0, 10, 0, 0) &&
		  w.events[1].type == PGHA_ETCD_EVENT_PUT &&
		  kv_is(&w.events[1].kv, "/service/pgha/leader", "pg2", 11, 11, 1, 0));
	CHECK(pgha_etcd_parse_watch(LIT(fx_watch_two_events), &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.nevents == 2 && kv_is(&w.events[1].kv, "/service/pgha/status", "{\"optime\":1}", 11, 11, 1, 0));

	/* a cancel with a reason, and a watch ID */
	CHECK(pgha_etcd_parse_watch(LIT("{\"result\":{\"header\":{},\"watch_id\":\"3\",\"canceled\":true,"
									"\"cancel_reason\":\"mvcc: \\\"gone\\\"\\n\"}}"),
								&w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(w.watch_id == 3 && w.canceled);
	CHECK_STR(w.cancel_reason, "mvcc: ?gone??");

	{
		static const Bad cases[] =
		{
			{"{\"header\":{}}", "the watch message has no result"},
			{"{\"result\":1}", "the watch message has no result"},
			{"{\"result\":{}}", "header is missing"},
			{"{\"result\":{\"header\":{},\"created\":\"yes\"}}", "created is not a boolean"},
			{"{\"result\":{\"header\":{},\"compact_revision\":\"-2\"}}", "compact_revision is out of range (-2)"},
			{"{\"result\":{\"header\":{},\"events\":{}}}", "events is not an array"},
			{"{\"result\":{\"header\":{},\"events\":[[]]}}", "events[0] is not an object"},
			{"{\"result\":{\"header\":{},\"events\":[{\"type\":\"EXPIRE\",\"kv\":{}}]}}", "events[0].type is neither PUT nor DELETE"},
			{"{\"result\":{\"header\":{},\"events\":[{\"type\":1,\"kv\":{}}]}}", "events[0].type is neither PUT nor DELETE"},
			{"{\"result\":{\"header\":{},\"events\":[{}]}}", "events[0].kv is not an object"},
			{"{\"result\":{\"header\":{},\"events\":[{\"type\":\"DELETE\",\"kv\":{\"key\":\"eA==\"}}]}}",
			"events[0].kv has impossible revisions (create 0, mod 0, version 0)"},
			{"{\"result\":{\"header\":{},\"events\":[{\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"4\"}}]}}",
			"events[0].kv has impossible revisions (create 0, mod 4, version 0)"},
			{"{\"error\":{\"grpc_code\":14,\"http_code\":503,\"message\":\"etcdserver: no leader\"}}",
			"etcd error 14: etcdserver: no leader"},
		};

		CHECK_BAD(cases, parse_watch, &w);
	}
	/* PGHA_ETCD_MAX_KVS events in one message, not one more */
	check_at_most("{\"result\":{\"header\":{},\"events\":[",
				  "{\"type\":\"DELETE\",\"kv\":{\"key\":\"eA==\",\"mod_revision\":\"3\"}}",
				  "]}}", parse_watch, &w, &w.nevents, "events has more than 128 elements");
	/* two messages at once are the caller's to split */
	CHECK(!pgha_etcd_parse_watch(LIT(fx_watch_stream), &w, arena, sizeof(arena), err, sizeof(err)));
	CHECK(!pgha_etcd_parse_watch(LIT(fx_watch_four_events), &w, arena, 40, err, sizeof(err)));
	CHECK(!pgha_etcd_parse_watch(LIT(fx_watch_four_events), NULL, arena, sizeof(arena), err, sizeof(err)));
}

/* ----- errors */

static void
test_error(void)
{
	PgHaEtcdError e;

	CHECK(pgha_etcd_parse_error(LIT(fx_error_lease_not_found), &e));
	CHECK(e.code == PGHA_ETCD_NOT_FOUND && e.http_code == 0);
	CHECK_STR(e.message, "etcdserver: requested lease not found");
	CHECK(pgha_etcd_parse_error(LIT(fx_error_compacted), &e) && e.code == PGHA_ETCD_OUT_OF_RANGE);
	CHECK(pgha_etcd_parse_error(LIT(fx_error_no_quorum_range), &e) && e.code == PGHA_ETCD_UNAVAILABLE);
	CHECK(pgha_etcd_parse_error(LIT(fx_error_bad_base64), &e) && e.code == PGHA_ETCD_INVALID_ARGUMENT);
	CHECK(pgha_etcd_parse_error(LIT(fx_error_no_quorum_keepalive), &e));
	CHECK(e.code == PGHA_ETCD_UNAVAILABLE && e.http_code == 503);
	CHECK_STR(e.message, "etcdserver: no leader");
	/* the code as text; a message only in "error" */
	CHECK(pgha_etcd_parse_error(LIT("{\"error\":\"x\",\"code\":\"5\"}"), &e) && e.code == 5);
	CHECK_STR(e.message, "x");
	/* a code out of range is unknown, not a crash */
	CHECK(pgha_etcd_parse_error(LIT("{\"error\":\"x\",\"code\":99999999999}"), &e) && e.code == 0);
	CHECK(pgha_etcd_parse_error(LIT("{\"error\":\"x\",\"code\":-1}"), &e) && e.code == 0);

	/* answers that are no error */
	CHECK(!pgha_etcd_parse_error(LIT(fx_put), &e) && ALL_ZERO(&e));
	CHECK(!pgha_etcd_parse_error(LIT(fx_lease_keepalive_gone), &e));
	CHECK(!pgha_etcd_parse_error(LIT("{\"error\":\"\"}"), &e));
	CHECK(!pgha_etcd_parse_error(LIT("{\"error\":3}"), &e));
	CHECK(!pgha_etcd_parse_error(LIT("not json"), &e));
	CHECK(!pgha_etcd_parse_error(LIT("[\"error\"]"), &e));
	CHECK(!pgha_etcd_parse_error(NULL, 0, &e));
	CHECK(!pgha_etcd_parse_error(LIT(fx_error_compacted), NULL));
}

/* ----- prefixes */

static void
test_prefix_end(void)
{
	char		end[16];

	CHECK(pgha_etcd_prefix_end(LIT("/service/otus/"), end, sizeof(end)) == 14);
	CHECK_STR(end, "/service/otus0");
	CHECK(pgha_etcd_prefix_end(LIT("a\xff\xff"), end, sizeof(end)) == 1);
	CHECK_STR(end, "b");
	CHECK(pgha_etcd_prefix_end(LIT("\x01\xfe"), end, sizeof(end)) == 2);
	CHECK(memcmp(end, "\x01\xff", 3) == 0);
	/* nothing after every key of the prefix: a NUL byte, no end */
	CHECK(pgha_etcd_prefix_end(LIT("\xff\xff"), end, sizeof(end)) == 1 && end[0] == '\0');
	CHECK(pgha_etcd_prefix_end(LIT(""), end, sizeof(end)) == 1 && end[0] == '\0');
	CHECK(pgha_etcd_prefix_end(LIT("\xff"), end, 1) == -1);
	CHECK(pgha_etcd_prefix_end(LIT("abc"), end, 4) == 3);
	CHECK(pgha_etcd_prefix_end(LIT("abc"), end, 3) == -1);
	CHECK(pgha_etcd_prefix_end(LIT("abc"), NULL, 4) == -1);
	CHECK(pgha_etcd_prefix_end(NULL, 1, end, sizeof(end)) == -1);
}

/* ----- the request bodies */

/*
 * The body built by call (which writes into buf, of len bytes) is want,
 * and no shorter buffer takes it: each of those fails, and is left empty.
 */
#define CHECK_BODY(want, call) \
	do { \
		size_t		need_ = strlen(want) + 1; \
		bool		short_ok_ = true; \
		for (len = 0; len < need_; len++) \
		{ \
			memset(buf, 'x', sizeof(buf)); \
			if ((call) != -1 || (len > 0 && buf[0] != '\0')) \
				short_ok_ = false; \
		} \
		CHECK(short_ok_); \
		len = need_; \
		CHECK((call) == (int) need_ - 1); \
		CHECK_STR(buf, want); \
	} while (0)

static void
test_builders(void)
{
	char		buf[1024];
	size_t		len;
	PgHaEtcdCondWrite w;

	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy8=\",\"range_end\":\"L3NlcnZpY2Uvb3R1czA=\"}",
			   pgha_etcd_range_request(buf, len, "/service/otus/", true, 0));
	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy8=\",\"range_end\":\"L3NlcnZpY2Uvb3R1czA=\",\"limit\":\"129\"}",
			   pgha_etcd_range_request(buf, len, "/service/otus/", true, 129));
	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}",
			   pgha_etcd_range_request(buf, len, "/service/otus/leader", false, 0));
	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\"}",
			   pgha_etcd_put_request(buf, len, "/service/otus/leader", "pg1", 3, LEASE));
	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy9mYWlsb3Zlcg==\",\"value\":\"\"}",
			   pgha_etcd_put_request(buf, len, "/service/otus/failover", NULL, 0, 0));
	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy9tZW1iZXJzLw==\",\"range_end\":\"L3NlcnZpY2Uvb3R1cy9tZW1iZXJzMA==\"}",
			   pgha_etcd_delete_request(buf, len, "/service/otus/members/", true));
	CHECK_BODY("{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}",
			   pgha_etcd_delete_request(buf, len, "/service/otus/leader", false));
	CHECK_BODY("{\"TTL\":\"30\"}", pgha_etcd_lease_grant_request(buf, len, 30));
	CHECK_BODY("{\"ID\":\"5872027968403284742\"}", pgha_etcd_lease_request(buf, len, LEASE));
	CHECK_BODY("{\"create_request\":{\"key\":\"L3NlcnZpY2Uvb3R1cy8=\",\"range_end\":\"L3NlcnZpY2Uvb3R1czA=\",\"start_revision\":\"8\"}}",
			   pgha_etcd_watch_request(buf, len, "/service/otus/", true, 8));
	CHECK_BODY("{\"create_request\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}}",
			   pgha_etcd_watch_request(buf, len, "/service/otus/leader", false, 0));

	/* the transactions */
	memset(&w, 0, sizeof(w));
	w.key = "/service/otus/leader";
	w.cond = PGHA_ETCD_IF_ABSENT;
	w.value = "pg1";
	w.value_len = 3;
	w.lease = LEASE;
	CHECK_BODY("{\"compare\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"}],"
			   "\"success\":[{\"request_put\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\"}}],"
			   "\"failure\":[{\"request_range\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}}]}",
			   pgha_etcd_txn_request(buf, len, &w));
	w.cond = PGHA_ETCD_IF_MOD_REVISION;
	w.mod_revision = 4;
	CHECK_BODY("{\"compare\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":\"4\"}],"
			   "\"success\":[{\"request_put\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"value\":\"cGcx\",\"lease\":\"5872027968403284742\"}}],"
			   "\"failure\":[{\"request_range\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}}]}",
			   pgha_etcd_txn_request(buf, len, &w));
	w.cond = PGHA_ETCD_IF_VALUE;
	w.expect = "pg1";
	w.expect_len = 3;
	w.value = "pg2";
	w.lease = 0;
	CHECK_BODY("{\"compare\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"cGcx\"}],"
			   "\"success\":[{\"request_put\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"value\":\"cGcy\"}}],"
			   "\"failure\":[{\"request_range\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}}]}",
			   pgha_etcd_txn_request(buf, len, &w));
	w.delete_key = true;
	CHECK_BODY("{\"compare\":[{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":\"cGcx\"}],"
			   "\"success\":[{\"request_delete_range\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}}],"
			   "\"failure\":[{\"request_range\":{\"key\":\"L3NlcnZpY2Uvb3R1cy9sZWFkZXI=\"}}]}",
			   pgha_etcd_txn_request(buf, len, &w));

	/* bad arguments */
	{
		char		longkey[PGHA_ETCD_KEY_LEN + 1];

		char		big[2048];

		memset(longkey, 'k', sizeof(longkey));
		longkey[PGHA_ETCD_KEY_LEN] = '\0';
		CHECK(pgha_etcd_range_request(big, sizeof(big), longkey, false, 0) == -1);
		longkey[PGHA_ETCD_KEY_LEN - 1] = '\0';
		CHECK(pgha_etcd_range_request(big, sizeof(big), longkey, true, 0) > 0);
	}
	CHECK(pgha_etcd_range_request(buf, sizeof(buf), NULL, false, 0) == -1 && buf[0] == '\0');
	CHECK(pgha_etcd_range_request(buf, sizeof(buf), "", false, 0) == -1);
	CHECK(pgha_etcd_range_request(buf, sizeof(buf), "k", false, -1) == -1);
	CHECK(pgha_etcd_range_request(NULL, 10, "k", false, 0) == -1);
	CHECK(pgha_etcd_put_request(buf, sizeof(buf), "k", NULL, 1, 0) == -1);
	CHECK(pgha_etcd_put_request(buf, sizeof(buf), "k", "v", 1, -1) == -1);
	CHECK(pgha_etcd_delete_request(buf, sizeof(buf), "", true) == -1);
	CHECK(pgha_etcd_lease_grant_request(buf, sizeof(buf), 0) == -1);
	CHECK(pgha_etcd_lease_request(buf, sizeof(buf), 0) == -1);
	CHECK(pgha_etcd_lease_request(buf, sizeof(buf), -7) == -1);
	CHECK(pgha_etcd_watch_request(buf, sizeof(buf), "k", false, -1) == -1);
	CHECK(pgha_etcd_txn_request(buf, sizeof(buf), NULL) == -1);
	memset(&w, 0, sizeof(w));
	w.key = "k";
	w.cond = PGHA_ETCD_IF_MOD_REVISION;
	CHECK(pgha_etcd_txn_request(buf, sizeof(buf), &w) == -1);	/* mod_revision 0 */
	w.cond = (PgHaEtcdCond) 7;
	CHECK(pgha_etcd_txn_request(buf, sizeof(buf), &w) == -1);
	w.cond = PGHA_ETCD_IF_VALUE;
	w.expect_len = 2;
	CHECK(pgha_etcd_txn_request(buf, sizeof(buf), &w) == -1);	/* expect NULL */
	w.expect_len = 0;
	CHECK(pgha_etcd_txn_request(buf, sizeof(buf), &w) > 0);	/* "equal to empty" */

	/* any bytes as a value come back from the body */
	{
		const char	value[] = "\0\x01\xff\"\\\n{}";
		json_t	   *j;
		int			n = pgha_etcd_put_request(buf, sizeof(buf), "/k", value, sizeof(value) - 1, 0);
		char		back[32];
		const char *b64;

		CHECK(n > 0);
		j = json_loadb(buf, (size_t) n, 0, NULL);
		b64 = json_string_value(json_object_get(j, "value"));
		CHECK(b64 != NULL &&
			  pgha_base64_decode(b64, strlen(b64), back, sizeof(back)) == (int) sizeof(value) - 1 &&
			  memcmp(back, value, sizeof(value) - 1) == 0);
		json_decref(j);
	}
}

int
main(void)
{
	test_fixture_files();
	test_range();
	test_range_malformed();
	test_txn();
	test_header();
	test_lease();
	test_watch();
	test_error();
	test_prefix_end();
	test_builders();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
