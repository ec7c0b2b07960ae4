/*-------------------------------------------------------------------------
 *
 * fuzz_etcd_json.c
 *	  libFuzzer target: whatever a (buggy, hostile, other-version) etcd, or
 *	  a proxy in front of it, may answer on the v3 JSON gateway.
 *
 * The input is one answer body, fed to every parser of etcd_json.h:
 * range, txn, the header of a put, deleterange or revoke, lease grant and
 * keep-alive, the error forms; and, line by line as a stream arrives, to
 * the watch parser.  Each parser runs twice, with room for every key and
 * value and with an arena the input's first byte sizes, so that running
 * out of room is taken too.  The bytes are also the key and value of
 * request bodies, and of a range answer built around them (a fuzzer
 * rarely finds its way through base64 on its own).
 *
 * Oracles: a failed parse leaves its struct all zeros and says why in
 * printable ASCII; a parse that succeeds keeps its counts within bounds,
 * every key and value inside the arena and NUL-terminated at its length,
 * a live entry's revisions in order, a transaction's entries split among
 * its range results; every request body is JSON whose base64 gives the
 * bytes back; a prefix's range end sorts after every key of the prefix.
 *
 * Corpus: fuzz/corpus/etcd_json/ (etcd 3.4.23's real answers, recorded
 * for regress/unit/test_etcd_json.c).
 *
 * fuzz/fuzz_etcd_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "fuzz_common.h"
#include "base64.h"
#include "etcd_json.h"

static char arena[131072];
static PgHaEtcdRange range;
static PgHaEtcdTxn txn;
static PgHaEtcdWatch watch;

/* what a failed parse leaves: its struct all zeros */
static const char zeros[sizeof(PgHaEtcdWatch) + sizeof(PgHaEtcdTxn)];

/* A message for the server log: terminated, printable ASCII. */
static void
check_message(const char *msg, size_t size, bool nonempty)
{
	FUZZ_CHECK(memchr(msg, '\0', size) != NULL);
	FUZZ_CHECK(!nonempty || msg[0] != '\0');
	for (const char *p = msg; *p != '\0'; p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
}

/* What a failed parse leaves: a zeroed struct, a reason. */
static void
check_failed(const void *out, size_t len, const char *err)
{
	FUZZ_CHECK(len <= sizeof(zeros) && memcmp(out, zeros, len) == 0);
	check_message(err, PGHA_ERR_LEN, true);
}

static bool
in_arena(const char *p, size_t len, size_t arenalen)
{
	return p >= arena && p + len < arena + arenalen && p[len] == '\0';
}

static void
check_kv(const PgHaEtcdKv *kv, size_t arenalen, bool deleted)
{
	FUZZ_CHECK(kv->key_len > 0 && in_arena(kv->key, kv->key_len, arenalen));
	FUZZ_CHECK(in_arena(kv->value, kv->value_len, arenalen));
	FUZZ_CHECK(kv->lease >= 0 && kv->version >= 0 && kv->create_revision >= 0);
	if (deleted)
		FUZZ_CHECK(kv->mod_revision >= 1);
	else
		FUZZ_CHECK(kv->create_revision >= 1 && kv->mod_revision >= kv->create_revision &&
				   kv->version >= 1);
}

static void
parse_all(const char *body, size_t size, size_t arenalen)
{
	char		err[PGHA_ERR_LEN];

	if (pgha_etcd_parse_range(body, size, &range, arena, arenalen, err, sizeof(err)))
	{
		FUZZ_CHECK(range.nkvs >= 0 && range.nkvs <= PGHA_ETCD_MAX_KVS);
		FUZZ_CHECK(range.count >= range.nkvs && range.header.revision >= 0);
		for (int i = 0; i < range.nkvs; i++)
			check_kv(&range.kvs[i], arenalen, false);
	}
	else
		check_failed(&range, sizeof(range), err);

	if (pgha_etcd_parse_txn(body, size, &txn, arena, arenalen, err, sizeof(err)))
	{
		int			next = 0;

		FUZZ_CHECK(txn.nresults >= 0 && txn.nresults <= PGHA_ETCD_MAX_TXN_OPS);
		FUZZ_CHECK(txn.nkvs >= 0 && txn.nkvs <= PGHA_ETCD_MAX_KVS);
		for (int i = 0; i < txn.nresults; i++)
		{
			const PgHaEtcdTxnResult *r = &txn.results[i];

			FUZZ_CHECK(r->op == PGHA_ETCD_OP_PUT || r->op == PGHA_ETCD_OP_RANGE ||
					   r->op == PGHA_ETCD_OP_DELETE);
			FUZZ_CHECK(r->revision >= 0 && r->deleted >= 0 && r->count >= 0);
			FUZZ_CHECK(r->op == PGHA_ETCD_OP_RANGE || r->nkvs == 0);
			if (r->op == PGHA_ETCD_OP_RANGE)
			{
				FUZZ_CHECK(r->first_kv == next && r->nkvs >= 0);
				next += r->nkvs;
			}
		}
		FUZZ_CHECK(next == txn.nkvs);
		for (int i = 0; i < txn.nkvs; i++)
			check_kv(&txn.kvs[i], arenalen, false);
	}
	else
		check_failed(&txn, sizeof(txn), err);

	/* the same bytes as a stream of watch messages */
	for (size_t start = 0; start < size;)
	{
		const char *nl = memchr(body + start, '\n', size - start);
		size_t		end = nl ? (size_t) (nl - body) + 1 : size;

		if (pgha_etcd_parse_watch(body + start, end - start, &watch, arena, arenalen,
								  err, sizeof(err)))
		{
			FUZZ_CHECK(watch.nevents >= 0 && watch.nevents <= PGHA_ETCD_MAX_KVS);
			FUZZ_CHECK(watch.compact_revision >= 0 && watch.watch_id >= 0);
			check_message(watch.cancel_reason, sizeof(watch.cancel_reason), false);
			for (int i = 0; i < watch.nevents; i++)
			{
				FUZZ_CHECK(watch.events[i].type == PGHA_ETCD_EVENT_PUT ||
						   watch.events[i].type == PGHA_ETCD_EVENT_DELETE);
				check_kv(&watch.events[i].kv, arenalen,
						 watch.events[i].type == PGHA_ETCD_EVENT_DELETE);
			}
		}
		else
			check_failed(&watch, sizeof(watch), err);
		start = end;
	}
}

static void
parse_small(const char *body, size_t size)
{
	char		err[PGHA_ERR_LEN];
	PgHaEtcdHeader h;
	PgHaEtcdLease l;
	PgHaEtcdError e;
	int64_t		deleted = -1;

	if (pgha_etcd_parse_header(body, size, &h, &deleted, err, sizeof(err)))
		FUZZ_CHECK(h.revision >= 0 && deleted >= 0);
	else
	{
		FUZZ_CHECK(deleted == 0);
		check_failed(&h, sizeof(h), err);
	}
	if (pgha_etcd_parse_lease_grant(body, size, &l, err, sizeof(err)))
		FUZZ_CHECK(l.id > 0 && l.ttl > 0);
	else
		check_failed(&l, sizeof(l), err);
	if (pgha_etcd_parse_lease_keepalive(body, size, &l, err, sizeof(err)))
		FUZZ_CHECK(l.id > 0 && l.ttl >= 0);
	else
		check_failed(&l, sizeof(l), err);
	if (pgha_etcd_parse_error(body, size, &e))
		check_message(e.message, sizeof(e.message), false);
	else
		FUZZ_CHECK(memcmp(&e, zeros, sizeof(e)) == 0);
}

/* The base64 string field name of obj decodes to want (len bytes). */
static void
check_field(const json_t *obj, const char *name, const char *want, size_t len)
{
	const json_t *j = json_object_get(obj, name);
	char	   *back = malloc(len + 1);

	FUZZ_CHECK(json_is_string(j) && back != NULL);
	FUZZ_CHECK(pgha_base64_decode(json_string_value(j), json_string_length(j),
								  back, len + 1) == (int) len);
	FUZZ_CHECK(memcmp(back, want, len) == 0);
	free(back);
}

/* The bytes as a key (up to a NUL, cut to fit) and as a value. */
static void
build_requests(const uint8_t *data, size_t size)
{
	static char buf[PGHA_ETCD_KEY_LEN * 4 + 65536];
	char		key[PGHA_ETCD_KEY_LEN];
	char		end[PGHA_ETCD_KEY_LEN];
	const char *value = (const char *) data;
	size_t		kmax = size < sizeof(key) - 1 ? size : sizeof(key) - 1;
	const char *nul = memchr(value, '\0', kmax);
	size_t		klen = nul != NULL ? (size_t) (nul - value) : kmax;
	int64_t		n64 = 0;
	int			n;
	int			endlen;
	json_t	   *j;

	memcpy(key, data, klen);
	key[klen] = '\0';
	memcpy(&n64, data, size < sizeof(n64) ? size : sizeof(n64));

	n = pgha_etcd_put_request(buf, sizeof(buf), key, value, size, n64);
	FUZZ_CHECK((n > 0) == (klen > 0 && n64 >= 0));
	if (n > 0)
	{
		j = json_loadb(buf, (size_t) n, 0, NULL);
		FUZZ_CHECK(json_is_object(j));
		check_field(j, "key", key, klen);
		check_field(j, "value", value, size);
		FUZZ_CHECK((json_object_get(j, "lease") != NULL) == (n64 > 0));
		json_decref(j);
	}

	/*
	 * The range end sorts after every key of the prefix: it differs from
	 * the prefix within its own length, upwards ("\0" alone: no end).
	 */
	endlen = pgha_etcd_prefix_end(key, klen, end, sizeof(end));
	FUZZ_CHECK(endlen >= 1 && (size_t) endlen <= (klen > 0 ? klen : 1));
	if (!(endlen == 1 && end[0] == '\0'))
		FUZZ_CHECK(memcmp(key, end, (size_t) endlen) < 0);
	n = pgha_etcd_range_request(buf, sizeof(buf), key, true, n64);
	FUZZ_CHECK((n > 0) == (klen > 0 && n64 >= 0));
	if (n > 0)
	{
		j = json_loadb(buf, (size_t) n, 0, NULL);
		FUZZ_CHECK(json_is_object(j));
		check_field(j, "key", key, klen);
		check_field(j, "range_end", end, (size_t) endlen);
		json_decref(j);
	}

	for (int cond = PGHA_ETCD_IF_ABSENT; cond <= PGHA_ETCD_IF_VALUE; cond++)
	{
		PgHaEtcdCondWrite w;

		memset(&w, 0, sizeof(w));
		w.key = key;
		w.cond = (PgHaEtcdCond) cond;
		w.mod_revision = n64;
		w.expect = value;
		w.expect_len = size < 64 ? size : 64;
		w.delete_key = size % 2 == 1;
		w.value = value;
		w.value_len = size;
		w.lease = n64 > 0 ? n64 : 0;
		n = pgha_etcd_txn_request(buf, sizeof(buf), &w);
		FUZZ_CHECK((n > 0) == (klen > 0 && (cond != PGHA_ETCD_IF_MOD_REVISION || n64 > 0)));
		if (n > 0)
		{
			j = json_loadb(buf, (size_t) n, 0, NULL);
			FUZZ_CHECK(json_is_array(json_object_get(j, "compare")) &&
					   json_is_array(json_object_get(j, "success")) &&
					   json_is_array(json_object_get(j, "failure")));
			check_field(json_array_get(json_object_get(j, "compare"), 0), "key", key, klen);
			json_decref(j);
		}
	}

	FUZZ_CHECK((pgha_etcd_lease_request(buf, sizeof(buf), n64) > 0) == (n64 > 0));
	FUZZ_CHECK((pgha_etcd_lease_grant_request(buf, sizeof(buf), n64) > 0) == (n64 > 0));
	FUZZ_CHECK((pgha_etcd_watch_request(buf, sizeof(buf), key, size % 2 == 0, n64) > 0) ==
			   (klen > 0 && n64 >= 0));
}

/* A range answer whose one entry holds the bytes: they come back. */
static void
range_around(const uint8_t *data, size_t size)
{
	char	   *b64 = pgha_base64_encode((const char *) data, size);
	size_t		room;
	char	   *body;
	char		err[PGHA_ERR_LEN];
	int			len;

	FUZZ_CHECK(b64 != NULL);
	room = 2 * strlen(b64) + 256;
	body = malloc(room);
	FUZZ_CHECK(body != NULL);
	len = snprintf(body, room,
				   "{\"header\":{\"revision\":\"9\"},\"count\":\"1\",\"kvs\":[{\"key\":\"%s\","
				   "\"value\":\"%s\",\"create_revision\":\"2\",\"mod_revision\":\"9\",\"version\":\"3\"}]}",
				   size > 0 ? b64 : "eA==", b64);
	FUZZ_CHECK(len > 0 && (size_t) len < room);
	FUZZ_CHECK(pgha_etcd_parse_range(body, (size_t) len, &range, arena, sizeof(arena),
									 err, sizeof(err)));
	FUZZ_CHECK(range.nkvs == 1 && range.kvs[0].value_len == size &&
			   memcmp(range.kvs[0].value, data, size) == 0);
	FUZZ_CHECK(size == 0 || (range.kvs[0].key_len == size &&
							 memcmp(range.kvs[0].key, data, size) == 0));
	free(body);
	free(b64);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *body = (const char *) data;

	parse_all(body, size, sizeof(arena));
	parse_all(body, size, size > 0 ? data[0] : 0);
	parse_small(body, size);
	/* the request buffer and the arena hold any input of run.sh's max_len */
	if (size <= 32768)
	{
		build_requests(data, size);
		range_around(data, size);
	}
	return 0;
}
