/*-------------------------------------------------------------------------
 *
 * json_util.c
 *	  The helpers src/common's parsers and formatters share (json_util.h).
 *
 * Everything read through these is outside data: lengths are checked
 * before copying, nothing is cut silently, and text quoted into a message
 * is made printable first.
 *
 * What this file is not for: knowing any key of the cluster or any
 * Consul answer (consul_parse.c, cluster.c and the files of each key).
 *
 * src/common/json_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "json_util.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void
pgha_set_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

const char *
pgha_quote_text(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t		i;
	size_t		room = buflen - 4;	/* keep space for "..." and NUL */

	for (i = 0; i < len && i < room; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			ch = '?';
		buf[i] = (char) ch;
	}
	if (i < len)
	{
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

json_t *
pgha_json_load(const char *body, size_t len, const char *what,
			   char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	char		quoted[PGHA_QUOTE_LEN];

	if (body == NULL)
	{
		pgha_set_error(errbuf, errlen, "%s is missing", what);
		return NULL;
	}
	root = json_loadb(body, len, PGHA_JSON_FLAGS, &jerr);
	if (root == NULL)
		pgha_set_error(errbuf, errlen, "%s is not valid JSON: %s", what,
					   pgha_quote_text(jerr.text, strlen(jerr.text),
									   quoted, sizeof(quoted)));
	return root;
}

json_t *
pgha_json_load_as(const char *body, size_t len, const char *what,
				  json_type type, char *errbuf, size_t errlen)
{
	json_t	   *root = pgha_json_load(body, len, what, errbuf, errlen);

	if (root != NULL && json_typeof(root) != type)
	{
		pgha_set_error(errbuf, errlen, "%s is not a JSON %s", what,
					   type == JSON_ARRAY ? "array" : "object");
		json_decref(root);
		root = NULL;
	}
	return root;
}

bool
pgha_json_copy_string(const json_t *value, const char *field,
					  char *dst, size_t dstlen, char *errbuf, size_t errlen)
{
	const char *s;
	size_t		n;

	if (!json_is_string(value))
	{
		pgha_set_error(errbuf, errlen, "%s is not a string", field);
		return false;
	}
	s = json_string_value(value);
	n = json_string_length(value);
	/* jansson refuses \u0000 without JSON_ALLOW_NUL; stay safe anyway */
	if (memchr(s, '\0', n) != NULL)
	{
		pgha_set_error(errbuf, errlen, "%s contains a NUL byte", field);
		return false;
	}
	if (n >= dstlen)
	{
		pgha_set_error(errbuf, errlen, "%s is too long (%zu bytes, at most %zu)",
					   field, n, dstlen - 1);
		return false;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

bool
pgha_json_get_integer(const json_t *value, const char *field,
					  long long min, long long max, long long *result,
					  char *errbuf, size_t errlen)
{
	long long	i;

	/* a real such as 1.0 or 1e3 is not an integer for us either */
	if (!json_is_integer(value))
	{
		pgha_set_error(errbuf, errlen, "%s is not an integer", field);
		return false;
	}
	i = (long long) json_integer_value(value);
	if (i < min || i > max)
	{
		pgha_set_error(errbuf, errlen, "%s is out of range: %lld", field, i);
		return false;
	}
	*result = i;
	return true;
}

/*
 * jansson's internal calls (json_pack, the parser) bind inside libjansson,
 * so json_pack("{}") is safe where json_object() is not.
 */
json_t *
pgha_json_new_object(void)
{
	return json_pack("{}");
}

int
pgha_json_dump(json_t *v, char *buf, size_t buflen)
{
	char	   *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t		n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n + 1 > buflen)
	{
		free(s);
		return -1;
	}
	memcpy(buf, s, n + 1);
	free(s);
	return (int) n;
}

bool
pgha_parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *result)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned int) (s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*result = v;
	return true;
}

bool
pgha_valid_session_id(const char *s, size_t len, size_t maxlen)
{
	size_t		i;

	if (len == 0 || len >= maxlen)
		return false;
	for (i = 0; i < len; i++)
	{
		char		ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			  (ch >= 'A' && ch <= 'F') || ch == '-'))
			return false;
	}
	return true;
}
