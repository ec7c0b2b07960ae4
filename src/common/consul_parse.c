/*-------------------------------------------------------------------------
 *
 * consul_parse.c
 *	  Parse the answers the DCS clients read over HTTP (consul_parse.h).
 *
 * Every answer is outside data: a buggy or hostile Consul, or a member of
 * another version, may send anything.  So every parser checks types,
 * lengths and ranges, never reads past the length it was given (NUL bytes
 * included), frees whatever it allocated on every path, and quotes
 * outside text in its messages only after making it printable.
 *
 * What this file is not for: talking HTTP (dcs_consul.c, pg_ha_ctl's
 * consul.c), or the recursive KV listing that builds the cluster model
 * (cluster.c), which reads its entries' values through
 * pgha_kv_entry_value() here.
 *
 * src/common/consul_parse.c
 *
 *-------------------------------------------------------------------------
 */
#include "consul_parse.h"
#include "json_util.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PgHaKvValue
pgha_kv_entry_value(const json_t *entry, char **value, size_t *valuelen)
{
	const json_t *jvalue = json_object_get(entry, "Value");
	const char *src = "";
	size_t		srclen = 0;
	size_t		room;
	char	   *buf;
	int			n;

	*value = NULL;
	*valuelen = 0;
	if (jvalue != NULL && !json_is_null(jvalue))
	{
		if (!json_is_string(jvalue))
			return PGHA_KV_VALUE_NOT_STRING;
		src = json_string_value(jvalue);
		srclen = json_string_length(jvalue);
	}
	room = srclen / 4 * 3 + 1;
	buf = malloc(room);
	if (buf == NULL)
		return PGHA_KV_VALUE_OOM;
	n = pgha_base64_decode(src, srclen, buf, room);
	if (n < 0)
	{
		free(buf);
		return PGHA_KV_VALUE_NOT_BASE64;
	}
	*value = buf;
	*valuelen = (size_t) n;
	return PGHA_KV_VALUE_OK;
}

bool
pgha_parse_session_create(const char *body, size_t len,
						  char *id, size_t idlen,
						  char *errbuf, size_t errlen)
{
	json_t	   *root;
	const json_t *jid;
	const char *s;
	size_t		n;
	bool		ok = false;

	if (id == NULL || idlen == 0)
	{
		pgha_set_error(errbuf, errlen,
					   "invalid arguments to pgha_parse_session_create");
		return false;
	}
	root = pgha_json_load_as(body, len, "session create answer", JSON_OBJECT,
							 errbuf, errlen);
	if (root == NULL)
		return false;
	jid = json_object_get(root, "ID");
	if (jid == NULL)
	{
		pgha_set_error(errbuf, errlen, "session create answer has no ID");
		goto done;
	}
	if (!json_is_string(jid))
	{
		pgha_set_error(errbuf, errlen, "session ID is not a string");
		goto done;
	}
	s = json_string_value(jid);
	n = json_string_length(jid);
	if (n >= idlen)
	{
		pgha_set_error(errbuf, errlen, "session ID is too long (%zu bytes, at most %zu)",
					   n, idlen - 1);
		goto done;
	}
	if (!pgha_valid_session_id(s, n, idlen))
	{
		char		quoted[PGHA_QUOTE_LEN];

		pgha_set_error(errbuf, errlen, "session ID \"%s\" is not a valid session ID",
					   pgha_quote_text(s, n, quoted, sizeof(quoted)));
		goto done;
	}
	memcpy(id, s, n);
	id[n] = '\0';
	ok = true;

done:
	json_decref(root);
	return ok;
}

bool
pgha_parse_session_info(const char *body, size_t len, bool *exists,
						char *errbuf, size_t errlen)
{
	json_t	   *root;
	bool		ok = true;

	if (exists == NULL)
	{
		pgha_set_error(errbuf, errlen, "invalid arguments to pgha_parse_session_info");
		return false;
	}
	root = pgha_json_load(body, len, "session info answer", errbuf, errlen);
	if (root == NULL)
		return false;

	/* older Consul answers null for an unknown session, newer [] */
	if (json_is_null(root))
		*exists = false;
	else if (json_is_array(root))
		*exists = json_array_size(root) > 0;
	else
	{
		pgha_set_error(errbuf, errlen, "session info answer is not a JSON array");
		ok = false;
	}
	json_decref(root);
	return ok;
}

bool
pgha_parse_bool_body(const char *body, size_t len, bool *result,
					 char *errbuf, size_t errlen)
{
	size_t		n;
	bool		value;

	if (body == NULL || result == NULL)
	{
		pgha_set_error(errbuf, errlen, "invalid arguments to pgha_parse_bool_body");
		return false;
	}
	if (len >= 4 && memcmp(body, "true", 4) == 0)
	{
		n = 4;
		value = true;
	}
	else if (len >= 5 && memcmp(body, "false", 5) == 0)
	{
		n = 5;
		value = false;
	}
	else
	{
		pgha_set_error(errbuf, errlen, "body is neither true nor false");
		return false;
	}
	for (; n < len; n++)
	{
		if (body[n] != ' ' && body[n] != '\t' && body[n] != '\r' &&
			body[n] != '\n')
		{
			pgha_set_error(errbuf, errlen, "unexpected data after %s in body",
						   value ? "true" : "false");
			return false;
		}
	}
	*result = value;
	return true;
}

bool
pgha_parse_consul_index(const char *line, size_t len, uint64_t *index)
{
	static const char name[] = "x-consul-index:";
	size_t		nlen = sizeof(name) - 1;
	size_t		start;
	size_t		end;

	if (line == NULL || index == NULL || len <= nlen)
		return false;
	for (size_t i = 0; i < nlen; i++)
	{
		char		ch = line[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char) (ch - 'A' + 'a');
		if (ch != name[i])
			return false;
	}
	start = nlen;
	while (start < len && (line[start] == ' ' || line[start] == '\t'))
		start++;
	end = len;
	while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t' ||
						   line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	/* a sign or junk would wrap around in strtoull(): digits only */
	return pgha_parse_decimal(line + start, end - start, UINT64_MAX, index);
}

void
pgha_consul_refusal(const char *what, long status, const char *body,
					size_t len, char *errbuf, size_t errlen)
{
	char		reason[161];
	size_t		n = body != NULL ? len : 0;

	/* Consul puts a one-line reason in the body; keep it short */
	if (n > sizeof(reason) - 1)
		n = sizeof(reason) - 1;
	while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char ch = (unsigned char) body[i];

		reason[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char) ch;
	}
	reason[n] = '\0';
	pgha_set_error(errbuf, errlen, "Consul refused %s: HTTP %ld%s%s", what, status,
				   n > 0 ? ": " : "", reason);
}

bool
pgha_parse_kv_entry(const char *body, size_t len, uint64_t *modify_index,
					char **value, size_t *valuelen, char *errbuf,
					size_t errlen)
{
	json_t	   *root;
	const json_t *entry;
	const json_t *jindex;
	bool		ok = false;

	if (modify_index == NULL || value == NULL || valuelen == NULL)
	{
		pgha_set_error(errbuf, errlen, "invalid arguments to pgha_parse_kv_entry");
		return false;
	}
	*value = NULL;
	*valuelen = 0;
	root = pgha_json_load(body, len, "KV entry", errbuf, errlen);
	if (root == NULL)
		return false;
	entry = json_is_array(root) ? json_array_get(root, 0) : NULL;
	jindex = json_is_object(entry) ? json_object_get(entry, "ModifyIndex") : NULL;
	if (!json_is_integer(jindex) || json_integer_value(jindex) < 0)
	{
		pgha_set_error(errbuf, errlen, "not a KV entry");
		goto done;
	}
	switch (pgha_kv_entry_value(entry, value, valuelen))
	{
		case PGHA_KV_VALUE_OK:
			break;
		case PGHA_KV_VALUE_NOT_STRING:
			pgha_set_error(errbuf, errlen, "Value is not a string");
			goto done;
		case PGHA_KV_VALUE_NOT_BASE64:
			pgha_set_error(errbuf, errlen, "Value is not valid base64");
			goto done;
		case PGHA_KV_VALUE_OOM:
			pgha_set_error(errbuf, errlen, "out of memory");
			goto done;
	}
	/* callers treat the value as a C string: a NUL would cut it short */
	if (memchr(*value, '\0', *valuelen) != NULL)
	{
		free(*value);
		*value = NULL;
		*valuelen = 0;
		pgha_set_error(errbuf, errlen, "Value is not text (it contains a NUL byte)");
		goto done;
	}
	*modify_index = (uint64_t) json_integer_value(jindex);
	ok = true;

done:
	json_decref(root);
	return ok;
}

bool
pgha_parse_session_ttl(const char *body, size_t len, int *ttl_ms)
{
	json_t	   *root = pgha_json_load(body, len, "session info answer", NULL, 0);
	const json_t *ttl;
	const char *p;
	double		total = 0;
	bool		ok = false;

	if (root == NULL || ttl_ms == NULL)
		goto done;
	if (!json_is_array(root) || json_array_size(root) == 0 ||
		!json_is_object(json_array_get(root, 0)))
		goto done;
	ttl = json_object_get(json_array_get(root, 0), "TTL");
	if (!json_is_string(ttl) || json_string_length(ttl) == 0 ||
		json_string_length(ttl) > 32)
		goto done;
	/* a Go duration: 15s, 1m30s, 500ms, 1h */
	p = json_string_value(ttl);
	while (*p != '\0')
	{
		char	   *end;
		double		v = strtod(p, &end);

		if (end == p || v < 0)
			goto done;
		p = end;
		if (strncmp(p, "ms", 2) == 0)
			total += v, p += 2;
		else if (*p == 's')
			total += v * 1000, p++;
		else if (*p == 'm')
			total += v * 60000, p++;
		else if (*p == 'h')
			total += v * 3600000, p++;
		else
			goto done;
	}
	if (total <= 0 || total > INT_MAX)
		goto done;
	*ttl_ms = (int) total;
	ok = true;
done:
	if (root)
		json_decref(root);
	return ok;
}

bool
pgha_parse_patroni_status(const char *body, size_t len, PgHaFreshPosition *out,
						  char *errbuf, size_t errlen)
{
	json_t	   *root = pgha_json_load_as(body, len, "member status", JSON_OBJECT,
										 errbuf, errlen);
	const json_t *xlog;
	const json_t *tl;
	const json_t *role;
	const char *names[] = {"location", "received_location", "replayed_location"};

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return false;
	tl = json_object_get(root, "timeline");
	if (json_is_integer(tl) && json_integer_value(tl) > 0 &&
		json_integer_value(tl) <= UINT32_MAX)
		out->timeline = (uint32_t) json_integer_value(tl);
	role = json_object_get(root, "role");
	if (json_is_string(role) && json_string_length(role) < sizeof(out->role) &&
		strlen(json_string_value(role)) == json_string_length(role))
		strcpy(out->role, json_string_value(role));
	xlog = json_object_get(root, "xlog");
	for (size_t i = 0; json_is_object(xlog) && i < sizeof(names) / sizeof(names[0]); i++)
	{
		const json_t *v = json_object_get(xlog, names[i]);

		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			(!out->has_xlog || json_integer_value(v) > out->xlog))
		{
			out->has_xlog = true;
			out->xlog = (int64_t) json_integer_value(v);
		}
	}
	json_decref(root);
	return true;
}
