/*-------------------------------------------------------------------------
 *
 * leader_key.c
 *	  The leader key's protocol in Consul (see leader_key.h).
 *
 * Each operation is one Consul transaction, so that no other writer can
 * slip between its check and its write: a renewal is applied only while
 * our session still locks the key, a steal only while the key is the
 * very version found stale, a release only while the key is ours.  Taking
 * or stealing the key deletes the release marker in the same transaction,
 * so a marker seen beside an absent key was left by the last holder.
 *
 * What this file is not for: talking HTTP (dcs_consul.c, pg_ha_ctl's
 * consul.c) or deciding when to take the key (ha_decide.c).
 *
 * src/common/leader_key.c
 *
 *-------------------------------------------------------------------------
 */
#include "leader_key.h"
#include "base64.h"
#include "json_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* Append {"KV": {...}} to ops; false when out of memory. */
static bool
add_op(json_t *ops, json_t *kv)
{
	json_t	   *op;

	if (kv == NULL)
		return false;
	op = json_pack("{s:o}", "KV", kv);
	return op != NULL && json_array_append_new(ops, op) == 0;
}

static json_t *
kv_op(const char *verb, const char *key)
{
	return json_pack("{s:s, s:s}", "Verb", verb, "Key", key);
}

static json_t *
kv_with_value(const char *verb, const char *key, const char *value)
{
	char	   *b64 = pgha_base64_encode(value, strlen(value));
	json_t	   *kv;

	if (b64 == NULL)
		return NULL;
	kv = json_pack("{s:s, s:s, s:s}", "Verb", verb, "Key", key, "Value", b64);
	free(b64);
	return kv;
}

char *
pgha_leader_txn(PgHaLeaderOp op, const char *prefix, const char *name,
				const char *session, uint64_t index, uint64_t flags)
{
	char		leader[512];
	char		released[512];
	json_t	   *ops;
	json_t	   *kv;
	bool		ok = true;
	char	   *body = NULL;

	if (prefix == NULL || name == NULL || session == NULL || name[0] == '\0' ||
		session[0] == '\0')
		return NULL;
	if (snprintf(leader, sizeof(leader), "%sleader", prefix) >= (int) sizeof(leader) ||
		snprintf(released, sizeof(released), "%s%s", prefix,
				 PGHA_RELEASED_KEY) >= (int) sizeof(released))
		return NULL;
	ops = json_array();
	if (ops == NULL)
		return NULL;

	switch (op)
	{
		case PGHA_LEADER_RENEW:
			kv = kv_op("check-session", leader);
			ok = kv != NULL && json_object_set_new(kv, "Session", json_string(session)) == 0 &&
				add_op(ops, kv);
			/* a new Flags stamp makes a new version even with the same name */
			kv = ok ? kv_with_value("set", leader, name) : NULL;
			ok = ok && kv != NULL &&
				json_object_set_new(kv, "Flags", json_integer((json_int_t) (flags & INT64_MAX))) == 0 &&
				add_op(ops, kv);
			break;
		case PGHA_LEADER_STEAL:
			if (index == 0)
			{
				ok = false;
				break;
			}
			kv = kv_op("delete-cas", leader);
			ok = kv != NULL &&
				json_object_set_new(kv, "Index", json_integer((json_int_t) index)) == 0 &&
				add_op(ops, kv);
			/* FALLTHROUGH */
		case PGHA_LEADER_TAKE:
			kv = ok ? kv_with_value("lock", leader, name) : NULL;
			ok = ok && kv != NULL &&
				json_object_set_new(kv, "Session", json_string(session)) == 0 &&
				json_object_set_new(kv, "Flags", json_integer((json_int_t) (flags & INT64_MAX))) == 0 &&
				add_op(ops, kv);
			ok = ok && add_op(ops, kv_op("delete", released));
			break;
		case PGHA_LEADER_RELEASE:
			kv = kv_op("check-session", leader);
			ok = kv != NULL && json_object_set_new(kv, "Session", json_string(session)) == 0 &&
				add_op(ops, kv);
			ok = ok && add_op(ops, kv_op("delete", leader));
			ok = ok && add_op(ops, kv_with_value("set", released, name));
			break;
		default:
			ok = false;
	}
	if (ok)
		body = json_dumps(ops, JSON_COMPACT);
	json_decref(ops);
	return body;
}

bool
pgha_parse_leader_txn(long status, const char *body, size_t len,
					  const char *prefix, bool *done, uint64_t *index,
					  char *err, size_t errlen)
{
	json_t	   *root;
	json_error_t jerr;
	const json_t *list;
	char		leader[512];
	bool		ok = false;

	*done = false;
	*index = 0;
	if (status != 200 && status != 409)
	{
		pgha_set_error(err, errlen, "Consul answered the leader key transaction with HTTP %ld",
				  status);
		return false;
	}
	if (prefix == NULL ||
		snprintf(leader, sizeof(leader), "%sleader", prefix) >= (int) sizeof(leader))
	{
		pgha_set_error(err, errlen, "leader key prefix too long");
		return false;
	}
	if (body == NULL || len == 0)
	{
		pgha_set_error(err, errlen, "empty answer to the leader key transaction");
		return false;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL || !json_is_object(root))
	{
		pgha_set_error(err, errlen, "the answer to the leader key transaction is not a JSON object");
		json_decref(root);
		return false;
	}

	if (status == 409)
	{
		const json_t *first;
		const json_t *what;

		list = json_object_get(root, "Errors");
		first = json_is_array(list) ? json_array_get(list, 0) : NULL;
		what = json_is_object(first) ? json_object_get(first, "What") : NULL;
		pgha_set_error(err, errlen, "%s",
				  json_is_string(what) ? json_string_value(what) :
				  "the leader key is not as expected");
		/* Consul's words go into the server log: printable ASCII only */
		for (char *p = err; err != NULL && errlen > 0 && *p != '\0'; p++)
			if ((unsigned char) *p < 0x20 || (unsigned char) *p > 0x7e)
				*p = '?';
		ok = true;
		goto done;
	}

	list = json_object_get(root, "Results");
	if (list != NULL && !json_is_null(list) && !json_is_array(list))
	{
		pgha_set_error(err, errlen, "Results of the leader key transaction is not an array");
		goto done;
	}
	for (size_t i = 0; json_is_array(list) && i < json_array_size(list); i++)
	{
		const json_t *kv = json_object_get(json_array_get(list, i), "KV");
		const json_t *key = json_is_object(kv) ? json_object_get(kv, "Key") : NULL;
		const json_t *mi = json_is_object(kv) ? json_object_get(kv, "ModifyIndex") : NULL;

		if (!json_is_string(key) || strcmp(json_string_value(key), leader) != 0)
			continue;
		if (!json_is_integer(mi) || json_integer_value(mi) < 0)
		{
			pgha_set_error(err, errlen, "the leader key's ModifyIndex is not a non-negative integer");
			goto done;
		}
		if ((uint64_t) json_integer_value(mi) > *index)
			*index = (uint64_t) json_integer_value(mi);
	}
	*done = true;
	ok = true;
done:
	json_decref(root);
	return ok;
}

int64_t
pgha_leader_free_in_ms(bool present, bool released, int64_t unchanged_ms,
					   int ttl_ms)
{
	/* a holder that let go on purpose has no lease left */
	if (!present && released)
		return 0;
	/* not seen yet: a whole ttl from the first sight */
	if (unchanged_ms < 0)
		return ttl_ms;
	return unchanged_ms >= ttl_ms ? 0 : ttl_ms - unchanged_ms;
}
