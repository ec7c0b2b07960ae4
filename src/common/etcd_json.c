/*-------------------------------------------------------------------------
 *
 * etcd_json.c
 *	  etcd v3's JSON gateway: request bodies and answer parsers
 *	  (etcd_json.h).
 *
 * Every answer is outside data: a buggy or hostile etcd, or a proxy in
 * front of it, may send anything.  So the parsers check every type and
 * range, take int64 fields as the gateway writes them (JSON strings) or as
 * plain JSON integers, never read past the length given, decode keys and
 * values only into the room the caller gave, and quote outside text in
 * messages only after making it printable.  The request bodies carry
 * nothing but base64 and decimal numbers, so they need no JSON escaping.
 *
 * What this file is not for: talking HTTP, or the meaning of any key
 * (the DCS client's).
 *
 * src/common/etcd_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "etcd_json.h"
#include "base64.h"
#include "json_util.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The caller's room for decoded keys and values. */
typedef struct Arena
{
	char	   *buf;
	size_t		size;
	size_t		used;
} Arena;

/* ----- reading fields */

/*
 * An int64 field: a JSON string of decimal digits (a leading '-' allowed),
 * as the gateway writes int64, or a JSON integer; absent or null is 0,
 * the gateway's way of writing 0.  Below min is an error.
 */
static bool
get_int64(const json_t *obj, const char *where, const char *name, int64_t min,
		  int64_t *out, char *errbuf, size_t errlen)
{
	const json_t *j = json_object_get(obj, name);
	int64_t		v = 0;

	if (j == NULL || json_is_null(j))
		v = 0;
	else if (json_is_integer(j))
		v = (int64_t) json_integer_value(j);
	else if (json_is_string(j))
	{
		const char *s = json_string_value(j);
		size_t		n = json_string_length(j);
		bool		neg = n > 0 && s[0] == '-';
		uint64_t	u;

		if (!pgha_parse_decimal(s + neg, n - neg,
								neg ? (uint64_t) INT64_MAX + 1 : (uint64_t) INT64_MAX, &u))
		{
			pgha_set_error(errbuf, errlen, "%s%s is not an int64", where, name);
			return false;
		}
		if (!neg)
			v = (int64_t) u;
		else if (u == (uint64_t) INT64_MAX + 1)
			v = INT64_MIN;
		else
			v = -(int64_t) u;
	}
	else
	{
		pgha_set_error(errbuf, errlen, "%s%s is not an int64", where, name);
		return false;
	}
	if (v < min)
	{
		pgha_set_error(errbuf, errlen, "%s%s is out of range (%" PRId64 ")",
					   where, name, v);
		return false;
	}
	*out = v;
	return true;
}

/* A uint64 field (cluster and member IDs, terms): digits or an integer. */
static bool
get_uint64(const json_t *obj, const char *where, const char *name,
		   uint64_t *out, char *errbuf, size_t errlen)
{
	const json_t *j = json_object_get(obj, name);

	*out = 0;
	if (j == NULL || json_is_null(j))
		return true;
	if (json_is_integer(j) && json_integer_value(j) >= 0)
	{
		*out = (uint64_t) json_integer_value(j);
		return true;
	}
	if (json_is_string(j) &&
		pgha_parse_decimal(json_string_value(j), json_string_length(j),
						   UINT64_MAX, out))
		return true;
	pgha_set_error(errbuf, errlen, "%s%s is not a uint64", where, name);
	return false;
}

/* A bool field; absent or null is false. */
static bool
get_bool(const json_t *obj, const char *where, const char *name, bool *out,
		 char *errbuf, size_t errlen)
{
	const json_t *j = json_object_get(obj, name);

	*out = false;
	if (j == NULL || json_is_null(j))
		return true;
	if (!json_is_boolean(j))
	{
		pgha_set_error(errbuf, errlen, "%s%s is not a boolean", where, name);
		return false;
	}
	*out = json_is_true(j);
	return true;
}

/*
 * A base64 field decoded into the arena, NUL-terminated.  Absent or null
 * is empty, which a required field may not be.
 */
static bool
get_bytes(Arena *a, const json_t *obj, const char *where, const char *name,
		  bool required, const char **out, size_t *outlen,
		  char *errbuf, size_t errlen)
{
	const json_t *j = json_object_get(obj, name);
	const char *src = "";
	size_t		srclen = 0;
	size_t		need;
	int			n;

	if (j != NULL && !json_is_null(j))
	{
		if (!json_is_string(j))
		{
			pgha_set_error(errbuf, errlen, "%s%s is not a string", where, name);
			return false;
		}
		src = json_string_value(j);
		srclen = json_string_length(j);
	}
	if (required && srclen == 0)
	{
		pgha_set_error(errbuf, errlen, "%s%s is missing", where, name);
		return false;
	}
	need = srclen / 4 * 3 + 1;
	if (a->buf == NULL || a->size - a->used < need)
	{
		pgha_set_error(errbuf, errlen,
					   "the keys and values take more than %zu bytes", a->size);
		return false;
	}
	n = pgha_base64_decode(src, srclen, a->buf + a->used, need);
	if (n < 0)
	{
		pgha_set_error(errbuf, errlen, "%s%s is not valid base64", where, name);
		return false;
	}
	*out = a->buf + a->used;
	*outlen = (size_t) n;
	a->used += (size_t) n + 1;
	return true;
}

/* The "header" of obj; absent is all zeros unless required. */
static bool
get_header(const json_t *obj, const char *where, bool required,
		   PgHaEtcdHeader *h, char *errbuf, size_t errlen)
{
	const json_t *j = json_object_get(obj, "header");
	char		w[64];

	memset(h, 0, sizeof(*h));
	if (j == NULL || json_is_null(j))
	{
		if (required)
			pgha_set_error(errbuf, errlen, "%sheader is missing", where);
		return !required;
	}
	if (!json_is_object(j))
	{
		pgha_set_error(errbuf, errlen, "%sheader is not an object", where);
		return false;
	}
	snprintf(w, sizeof(w), "%sheader.", where);
	return get_uint64(j, w, "cluster_id", &h->cluster_id, errbuf, errlen) &&
		get_uint64(j, w, "member_id", &h->member_id, errbuf, errlen) &&
		get_int64(j, w, "revision", 0, &h->revision, errbuf, errlen) &&
		get_uint64(j, w, "raft_term", &h->raft_term, errbuf, errlen);
}

/*
 * A key-value.  A live one (a range's, a PUT event's) has the revisions of
 * etcd's store: created at 1 or later, modified since, version 1 or more;
 * a DELETE event's has its key and the revision of the delete.
 */
static bool
get_kv(Arena *a, const json_t *j, const char *where, bool deleted,
	   PgHaEtcdKv *kv, char *errbuf, size_t errlen)
{
	if (!json_is_object(j))
	{
		pgha_set_error(errbuf, errlen, "%s is not an object", where);
		return false;
	}
	{
		char		w[64];

		snprintf(w, sizeof(w), "%s.", where);
		if (!get_bytes(a, j, w, "key", true, &kv->key, &kv->key_len, errbuf, errlen) ||
			!get_bytes(a, j, w, "value", false, &kv->value, &kv->value_len, errbuf, errlen) ||
			!get_int64(j, w, "create_revision", 0, &kv->create_revision, errbuf, errlen) ||
			!get_int64(j, w, "mod_revision", 0, &kv->mod_revision, errbuf, errlen) ||
			!get_int64(j, w, "version", 0, &kv->version, errbuf, errlen) ||
			!get_int64(j, w, "lease", 0, &kv->lease, errbuf, errlen))
			return false;
	}
	if (deleted ? kv->mod_revision < 1 :
		(kv->create_revision < 1 || kv->mod_revision < kv->create_revision ||
		 kv->version < 1))
	{
		pgha_set_error(errbuf, errlen,
					   "%s has impossible revisions (create %" PRId64 ", mod %" PRId64 ", version %" PRId64 ")",
					   where, kv->create_revision, kv->mod_revision, kv->version);
		return false;
	}
	return true;
}

/* The array name of obj (NULL when absent) of at most max elements. */
static bool
get_array(const json_t *obj, const char *where, const char *name, size_t max,
		  const json_t **arr, char *errbuf, size_t errlen)
{
	const json_t *j = json_object_get(obj, name);

	*arr = NULL;
	if (j == NULL || json_is_null(j))
		return true;
	if (!json_is_array(j))
	{
		pgha_set_error(errbuf, errlen, "%s%s is not an array", where, name);
		return false;
	}
	if (json_array_size(j) > max)
	{
		pgha_set_error(errbuf, errlen, "%s%s has more than %zu elements", where, name, max);
		return false;
	}
	*arr = j;
	return true;
}

/* The array "kvs" of obj appended to kvs[*n ..]; absent is none. */
static bool
get_kvs(Arena *a, const json_t *obj, const char *where, PgHaEtcdKv *kvs,
		int *n, char *errbuf, size_t errlen)
{
	const json_t *arr;

	if (!get_array(obj, where, "kvs", (size_t) (PGHA_ETCD_MAX_KVS - *n), &arr,
				   errbuf, errlen))
		return false;
	for (size_t i = 0; i < json_array_size(arr); i++)
	{
		char		w[64];

		snprintf(w, sizeof(w), "%skvs[%zu]", where, i);
		if (!get_kv(a, json_array_get(arr, i), w, false, &kvs[*n], errbuf, errlen))
			return false;
		(*n)++;
	}
	return true;
}

/* ----- errors */

/* A code, as an integer or decimal text; anything else is 0. */
static int
error_code(const json_t *j)
{
	uint64_t	v;

	if (json_is_integer(j) && json_integer_value(j) >= 0 &&
		json_integer_value(j) <= INT_MAX)
		return (int) json_integer_value(j);
	if (json_is_string(j) &&
		pgha_parse_decimal(json_string_value(j), json_string_length(j), INT_MAX, &v))
		return (int) v;
	return 0;
}

static void
error_message(const json_t *j, PgHaEtcdError *e)
{
	if (json_is_string(j))
		pgha_quote_text(json_string_value(j), json_string_length(j),
						e->message, sizeof(e->message));
}

/*
 * Is root an error answer?  {"error": "...", "message": "...", "code": N},
 * or a stream's {"error": {"grpc_code": N, "http_code": H, "message": ...}};
 * a lease grant refused has a non-empty "error" beside its header.
 */
static bool
answer_error(const json_t *root, PgHaEtcdError *e)
{
	const json_t *err = json_object_get(root, "error");

	memset(e, 0, sizeof(*e));
	if (json_is_string(err) && json_string_length(err) > 0)
	{
		e->code = error_code(json_object_get(root, "code"));
		error_message(err, e);
		error_message(json_object_get(root, "message"), e);
		return true;
	}
	if (json_is_object(err))
	{
		e->code = error_code(json_object_get(err, "grpc_code"));
		e->http_code = error_code(json_object_get(err, "http_code"));
		error_message(json_object_get(err, "message"), e);
		return true;
	}
	return false;
}

/* The answer as a JSON object that is no error answer, or NULL. */
static json_t *
load_answer(const char *body, size_t len, const char *what,
			char *errbuf, size_t errlen)
{
	json_t	   *root;
	PgHaEtcdError e;

	if (len > PGHA_ETCD_MAX_BODY)
	{
		pgha_set_error(errbuf, errlen, "%s is too large (%zu bytes)", what, len);
		return NULL;
	}
	root = pgha_json_load_as(body, len, what, JSON_OBJECT, errbuf, errlen);
	if (root != NULL && answer_error(root, &e))
	{
		pgha_set_error(errbuf, errlen, "etcd error %d: %s", e.code,
					   e.message[0] != '\0' ? e.message : "(no message)");
		json_decref(root);
		return NULL;
	}
	return root;
}

bool
pgha_etcd_parse_error(const char *body, size_t len, PgHaEtcdError *out)
{
	json_t	   *root;
	bool		is_error;

	if (out == NULL)
		return false;
	memset(out, 0, sizeof(*out));
	if (body == NULL || len > PGHA_ETCD_MAX_BODY)
		return false;
	root = json_loadb(body, len, PGHA_JSON_FLAGS, NULL);
	is_error = json_is_object(root) && answer_error(root, out);
	json_decref(root);
	return is_error;
}

/* ----- the parsers */

/* What reads one kind of answer into its struct. */
typedef bool (*AnswerReader) (const json_t *root, void *out, Arena *a,
							  char *errbuf, size_t errlen);

/*
 * Load the answer, refuse an error answer, and read it with read into
 * out (outlen bytes): zeroed first, and again when anything fails.
 */
static bool
parse_answer(const char *body, size_t len, const char *what,
			 AnswerReader read, void *out, size_t outlen,
			 char *arena, size_t arenalen, char *errbuf, size_t errlen)
{
	Arena		a = {arena, arena != NULL ? arenalen : 0, 0};
	json_t	   *root;
	bool		ok;

	if (out == NULL)
	{
		pgha_set_error(errbuf, errlen, "no struct to read %s into", what);
		return false;
	}
	memset(out, 0, outlen);
	root = load_answer(body, len, what, errbuf, errlen);
	if (root == NULL)
		return false;
	ok = read(root, out, &a, errbuf, errlen);
	json_decref(root);
	if (!ok)
		memset(out, 0, outlen);
	return ok;
}

/* The "result" object the streaming endpoints wrap their answers in. */
static const json_t *
get_result(const json_t *root, const char *what, char *errbuf, size_t errlen)
{
	const json_t *result = json_object_get(root, "result");

	if (!json_is_object(result))
	{
		pgha_set_error(errbuf, errlen, "%s has no result", what);
		return NULL;
	}
	return result;
}

static bool
read_range(const json_t *root, void *out, Arena *a, char *errbuf, size_t errlen)
{
	PgHaEtcdRange *r = out;

	if (!get_header(root, "", true, &r->header, errbuf, errlen) ||
		!get_int64(root, "", "count", 0, &r->count, errbuf, errlen) ||
		!get_bool(root, "", "more", &r->more, errbuf, errlen) ||
		!get_kvs(a, root, "", r->kvs, &r->nkvs, errbuf, errlen))
		return false;
	if (r->count < r->nkvs)
	{
		pgha_set_error(errbuf, errlen, "count %" PRId64 " is less than the %d key-values listed",
					   r->count, r->nkvs);
		return false;
	}
	return true;
}

bool
pgha_etcd_parse_range(const char *body, size_t len, PgHaEtcdRange *out,
					  char *arena, size_t arenalen, char *errbuf, size_t errlen)
{
	return parse_answer(body, len, "the range answer", read_range, out, sizeof(*out),
						arena, arenalen, errbuf, errlen);
}

/* One of a transaction's responses: a put's, a range's or a delete's. */
static bool
get_txn_result(Arena *a, const json_t *r, size_t i, PgHaEtcdTxn *t,
			   char *errbuf, size_t errlen)
{
	static const struct
	{
		const char *name;
		PgHaEtcdOp	op;
	}			kinds[] = {
		{"response_put", PGHA_ETCD_OP_PUT},
		{"response_range", PGHA_ETCD_OP_RANGE},
		{"response_delete_range", PGHA_ETCD_OP_DELETE},
	};
	PgHaEtcdTxnResult *res = &t->results[t->nresults];
	const json_t *sub = NULL;
	PgHaEtcdHeader h;
	char		w[64];
	int			found = 0;

	if (json_is_object(r))
		for (size_t k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
		{
			const json_t *j = json_object_get(r, kinds[k].name);

			if (j != NULL && !json_is_null(j))
			{
				sub = j;
				res->op = kinds[k].op;
				found++;
			}
		}
	if (found != 1 || !json_is_object(sub))
	{
		pgha_set_error(errbuf, errlen,
					   "responses[%zu] is not one put, range or delete_range", i);
		return false;
	}
	snprintf(w, sizeof(w), "responses[%zu].", i);
	if (!get_header(sub, w, false, &h, errbuf, errlen))
		return false;
	res->revision = h.revision;
	if (res->op == PGHA_ETCD_OP_DELETE &&
		!get_int64(sub, w, "deleted", 0, &res->deleted, errbuf, errlen))
		return false;
	if (res->op == PGHA_ETCD_OP_RANGE)
	{
		res->first_kv = t->nkvs;
		if (!get_int64(sub, w, "count", 0, &res->count, errbuf, errlen) ||
			!get_kvs(a, sub, w, t->kvs, &t->nkvs, errbuf, errlen))
			return false;
		res->nkvs = t->nkvs - res->first_kv;
	}
	t->nresults++;
	return true;
}

static bool
read_txn(const json_t *root, void *out, Arena *a, char *errbuf, size_t errlen)
{
	PgHaEtcdTxn *t = out;
	const json_t *responses;

	if (!get_header(root, "", true, &t->header, errbuf, errlen) ||
		!get_bool(root, "", "succeeded", &t->succeeded, errbuf, errlen) ||
		!get_array(root, "", "responses", PGHA_ETCD_MAX_TXN_OPS, &responses,
				   errbuf, errlen))
		return false;
	for (size_t i = 0; i < json_array_size(responses); i++)
		if (!get_txn_result(a, json_array_get(responses, i), i, t, errbuf, errlen))
			return false;
	return true;
}

bool
pgha_etcd_parse_txn(const char *body, size_t len, PgHaEtcdTxn *out,
					char *arena, size_t arenalen, char *errbuf, size_t errlen)
{
	return parse_answer(body, len, "the txn answer", read_txn, out, sizeof(*out),
						arena, arenalen, errbuf, errlen);
}

/* A header and a deleterange's count. */
typedef struct HeaderAnswer
{
	PgHaEtcdHeader header;
	int64_t		deleted;
} HeaderAnswer;

static bool
read_header(const json_t *root, void *out, Arena *a, char *errbuf, size_t errlen)
{
	HeaderAnswer *h = out;

	(void) a;
	return get_header(root, "", true, &h->header, errbuf, errlen) &&
		get_int64(root, "", "deleted", 0, &h->deleted, errbuf, errlen);
}

bool
pgha_etcd_parse_header(const char *body, size_t len, PgHaEtcdHeader *out,
					   int64_t *deleted, char *errbuf, size_t errlen)
{
	HeaderAnswer h;
	bool		ok = false;

	if (out != NULL)
		ok = parse_answer(body, len, "the answer", read_header, &h, sizeof(h),
						  NULL, 0, errbuf, errlen);
	else
		pgha_set_error(errbuf, errlen, "no struct to read the answer into");
	if (out != NULL)
		*out = ok ? h.header : (PgHaEtcdHeader) {0};
	if (deleted != NULL)
		*deleted = ok ? h.deleted : 0;
	return ok;
}

/* ID and TTL of a lease answer (obj: the answer or its "result") */
static bool
get_lease(const json_t *obj, PgHaEtcdLease *out, char *errbuf, size_t errlen)
{
	if (!get_header(obj, "", true, &out->header, errbuf, errlen) ||
		!get_int64(obj, "", "ID", 0, &out->id, errbuf, errlen) ||
		!get_int64(obj, "", "TTL", 0, &out->ttl, errbuf, errlen))
		return false;
	if (out->id == 0)
	{
		pgha_set_error(errbuf, errlen, "the lease answer has no ID");
		return false;
	}
	return true;
}

static bool
read_grant(const json_t *root, void *out, Arena *a, char *errbuf, size_t errlen)
{
	PgHaEtcdLease *l = out;

	(void) a;
	if (!get_lease(root, l, errbuf, errlen))
		return false;
	if (l->ttl == 0)
	{
		pgha_set_error(errbuf, errlen, "the lease grant has no TTL");
		return false;
	}
	return true;
}

bool
pgha_etcd_parse_lease_grant(const char *body, size_t len, PgHaEtcdLease *out,
							char *errbuf, size_t errlen)
{
	return parse_answer(body, len, "the lease grant", read_grant, out, sizeof(*out),
						NULL, 0, errbuf, errlen);
}

static bool
read_keepalive(const json_t *root, void *out, Arena *a, char *errbuf,
			   size_t errlen)
{
	const json_t *result = get_result(root, "the keep-alive answer", errbuf, errlen);

	(void) a;
	return result != NULL && get_lease(result, out, errbuf, errlen);
}

bool
pgha_etcd_parse_lease_keepalive(const char *body, size_t len,
								PgHaEtcdLease *out, char *errbuf, size_t errlen)
{
	return parse_answer(body, len, "the keep-alive answer", read_keepalive, out,
						sizeof(*out), NULL, 0, errbuf, errlen);
}

/* One event of a watch message. */
static bool
get_event(Arena *a, const json_t *j, size_t i, PgHaEtcdEvent *ev,
		  char *errbuf, size_t errlen)
{
	const json_t *type;
	char		w[64];

	if (!json_is_object(j))
	{
		pgha_set_error(errbuf, errlen, "events[%zu] is not an object", i);
		return false;
	}
	type = json_object_get(j, "type");
	if (type == NULL || json_is_null(type) ||
		(json_is_string(type) && strcmp(json_string_value(type), "PUT") == 0))
		ev->type = PGHA_ETCD_EVENT_PUT;
	else if (json_is_string(type) && strcmp(json_string_value(type), "DELETE") == 0)
		ev->type = PGHA_ETCD_EVENT_DELETE;
	else
	{
		pgha_set_error(errbuf, errlen, "events[%zu].type is neither PUT nor DELETE", i);
		return false;
	}
	snprintf(w, sizeof(w), "events[%zu].kv", i);
	return get_kv(a, json_object_get(j, "kv"), w,
				  ev->type == PGHA_ETCD_EVENT_DELETE, &ev->kv, errbuf, errlen);
}

static bool
read_watch(const json_t *root, void *out, Arena *a, char *errbuf, size_t errlen)
{
	PgHaEtcdWatch *w = out;
	const json_t *result = get_result(root, "the watch message", errbuf, errlen);
	const json_t *events;
	const json_t *reason;

	if (result == NULL ||
		!get_header(result, "", true, &w->header, errbuf, errlen) ||
		!get_int64(result, "", "watch_id", 0, &w->watch_id, errbuf, errlen) ||
		!get_bool(result, "", "created", &w->created, errbuf, errlen) ||
		!get_bool(result, "", "canceled", &w->canceled, errbuf, errlen) ||
		!get_int64(result, "", "compact_revision", 0, &w->compact_revision,
				   errbuf, errlen) ||
		!get_array(result, "", "events", PGHA_ETCD_MAX_KVS, &events, errbuf, errlen))
		return false;
	reason = json_object_get(result, "cancel_reason");
	if (json_is_string(reason))
		pgha_quote_text(json_string_value(reason), json_string_length(reason),
						w->cancel_reason, sizeof(w->cancel_reason));
	for (size_t i = 0; i < json_array_size(events); i++)
	{
		if (!get_event(a, json_array_get(events, i), i, &w->events[i], errbuf, errlen))
			return false;
		w->nevents++;
	}
	return true;
}

bool
pgha_etcd_parse_watch(const char *body, size_t len, PgHaEtcdWatch *out,
					  char *arena, size_t arenalen, char *errbuf, size_t errlen)
{
	return parse_answer(body, len, "the watch message", read_watch, out, sizeof(*out),
						arena, arenalen, errbuf, errlen);
}

/* ----- the request bodies */

int
pgha_etcd_prefix_end(const char *prefix, size_t len, char *dst, size_t dstlen)
{
	size_t		n = len;

	if (dst == NULL || (prefix == NULL && len > 0) || len > INT_MAX)
		return -1;
	while (n > 0 && (unsigned char) prefix[n - 1] == 0xff)
		n--;
	if (n == 0)
	{
		/* no key after every key with this prefix: "\0" means no end */
		if (dstlen < 2)
			return -1;
		dst[0] = dst[1] = '\0';
		return 1;
	}
	if (dstlen < n + 1)
		return -1;
	memcpy(dst, prefix, n);
	dst[n - 1] = (char) ((unsigned char) prefix[n - 1] + 1);
	dst[n] = '\0';
	return (int) n;
}

/* A body being written into the caller's buffer; ok turns false for good. */
typedef struct Body
{
	char	   *buf;
	size_t		size;
	size_t		len;
	bool		ok;
} Body;

static void
body_init(Body *b, char *buf, size_t size)
{
	b->buf = buf;
	b->size = size;
	b->len = 0;
	b->ok = buf != NULL && size > 0 && size <= INT_MAX;
	if (b->ok)
		buf[0] = '\0';
}

static void
body_text(Body *b, const char *s)
{
	size_t		n = strlen(s);

	if (!b->ok || n >= b->size - b->len)
	{
		b->ok = false;
		return;
	}
	memcpy(b->buf + b->len, s, n + 1);
	b->len += n;
}

/* "<bytes in base64>", quotes included */
static void
body_bytes(Body *b, const char *src, size_t len)
{
	char	   *b64;

	if (!b->ok)
		return;
	b64 = pgha_base64_encode(src, len);
	if (b64 == NULL)
	{
		b->ok = false;
		return;
	}
	body_text(b, "\"");
	body_text(b, b64);
	body_text(b, "\"");
	free(b64);
}

/* "<n>": int64 fields go as strings, as the gateway writes them */
static void
body_int(Body *b, int64_t v)
{
	char		num[32];

	snprintf(num, sizeof(num), "\"%" PRId64 "\"", v);
	body_text(b, num);
}

static int
body_end(Body *b)
{
	if (b->ok)
		return (int) b->len;
	if (b->buf != NULL && b->size > 0)
		b->buf[0] = '\0';
	return -1;
}

static bool
valid_key(const char *key)
{
	return key != NULL && key[0] != '\0' && strlen(key) < PGHA_ETCD_KEY_LEN;
}

/* "key": ..., and "range_end": ... for a prefix */
static void
body_key(Body *b, const char *key, bool prefix)
{
	size_t		len = strlen(key);

	body_text(b, "\"key\":");
	body_bytes(b, key, len);
	if (prefix)
	{
		char		end[PGHA_ETCD_KEY_LEN];
		int			n = pgha_etcd_prefix_end(key, len, end, sizeof(end));

		body_text(b, ",\"range_end\":");
		if (n < 0)
			b->ok = false;
		else
			body_bytes(b, end, (size_t) n);
	}
}

/*
 * open, the key (and its range end for a prefix), then field and n when n
 * is positive, and close: the shape of a range, delete and watch request.
 */
static int
key_request(char *buf, size_t buflen, const char *open, const char *key,
			bool prefix, const char *field, int64_t n, const char *close)
{
	Body		b;

	body_init(&b, buf, buflen);
	if (!valid_key(key) || n < 0)
		b.ok = false;
	body_text(&b, open);
	if (b.ok)
		body_key(&b, key, prefix);
	if (n > 0)
	{
		body_text(&b, field);
		body_int(&b, n);
	}
	body_text(&b, close);
	return body_end(&b);
}

int
pgha_etcd_range_request(char *buf, size_t buflen, const char *key, bool prefix,
						int64_t limit)
{
	return key_request(buf, buflen, "{", key, prefix, ",\"limit\":", limit, "}");
}

int
pgha_etcd_delete_request(char *buf, size_t buflen, const char *key, bool prefix)
{
	return key_request(buf, buflen, "{", key, prefix, NULL, 0, "}");
}

int
pgha_etcd_watch_request(char *buf, size_t buflen, const char *key, bool prefix,
						int64_t start_revision)
{
	return key_request(buf, buflen, "{\"create_request\":{", key, prefix,
					   ",\"start_revision\":", start_revision, "}}");
}

/* "key": ..., "value": ..., "lease": ... */
static void
body_put(Body *b, const char *key, const char *value, size_t value_len,
		 int64_t lease)
{
	body_key(b, key, false);
	body_text(b, ",\"value\":");
	body_bytes(b, value, value_len);
	if (lease > 0)
	{
		body_text(b, ",\"lease\":");
		body_int(b, lease);
	}
}

int
pgha_etcd_put_request(char *buf, size_t buflen, const char *key,
					  const char *value, size_t value_len, int64_t lease)
{
	Body		b;

	body_init(&b, buf, buflen);
	if (!valid_key(key) || (value == NULL && value_len > 0) || lease < 0)
		b.ok = false;
	body_text(&b, "{");
	if (b.ok)
		body_put(&b, key, value, value_len, lease);
	body_text(&b, "}");
	return body_end(&b);
}

int
pgha_etcd_txn_request(char *buf, size_t buflen, const PgHaEtcdCondWrite *w)
{
	Body		b;

	body_init(&b, buf, buflen);
	if (w == NULL || !valid_key(w->key) || w->lease < 0 ||
		(w->value == NULL && w->value_len > 0) ||
		(w->cond == PGHA_ETCD_IF_MOD_REVISION && w->mod_revision <= 0) ||
		(w->cond == PGHA_ETCD_IF_VALUE && w->expect == NULL && w->expect_len > 0) ||
		(w->cond != PGHA_ETCD_IF_ABSENT && w->cond != PGHA_ETCD_IF_MOD_REVISION &&
		 w->cond != PGHA_ETCD_IF_VALUE))
	{
		b.ok = false;
		return body_end(&b);
	}

	body_text(&b, "{\"compare\":[{");
	body_key(&b, w->key, false);
	switch (w->cond)
	{
		case PGHA_ETCD_IF_ABSENT:
			body_text(&b, ",\"target\":\"CREATE\",\"result\":\"EQUAL\",\"create_revision\":\"0\"");
			break;
		case PGHA_ETCD_IF_MOD_REVISION:
			body_text(&b, ",\"target\":\"MOD\",\"result\":\"EQUAL\",\"mod_revision\":");
			body_int(&b, w->mod_revision);
			break;
		case PGHA_ETCD_IF_VALUE:
			body_text(&b, ",\"target\":\"VALUE\",\"result\":\"EQUAL\",\"value\":");
			body_bytes(&b, w->expect, w->expect_len);
			break;
	}
	if (w->delete_key)
	{
		body_text(&b, "}],\"success\":[{\"request_delete_range\":{");
		body_key(&b, w->key, false);
	}
	else
	{
		body_text(&b, "}],\"success\":[{\"request_put\":{");
		body_put(&b, w->key, w->value, w->value_len, w->lease);
	}
	body_text(&b, "}}],\"failure\":[{\"request_range\":{");
	body_key(&b, w->key, false);
	body_text(&b, "}}]}");
	return body_end(&b);
}

/* {"<field>": "<n>"} for a positive n */
static int
number_request(char *buf, size_t buflen, const char *field, int64_t n)
{
	Body		b;

	body_init(&b, buf, buflen);
	if (n <= 0)
		b.ok = false;
	body_text(&b, "{\"");
	body_text(&b, field);
	body_text(&b, "\":");
	body_int(&b, n);
	body_text(&b, "}");
	return body_end(&b);
}

int
pgha_etcd_lease_grant_request(char *buf, size_t buflen, int64_t ttl)
{
	return number_request(buf, buflen, "TTL", ttl);
}

int
pgha_etcd_lease_request(char *buf, size_t buflen, int64_t id)
{
	return number_request(buf, buflen, "ID", id);
}
