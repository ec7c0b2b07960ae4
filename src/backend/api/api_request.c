/*-------------------------------------------------------------------------
 *
 * api_request.c
 *	  Parsing a REST API request: method, URI, query string, basic auth.
 *
 * Every request is outside data: the method and URI are checked for
 * length and characters before anything else, percent-escapes are decoded
 * into bounded buffers, and anything that does not parse gets a 4xx, never
 * a guess.  Query parameters are read as Patroni 3.0.2 reads them (Python's
 * parse_qs: the first occurrence counts, an empty value is no value).
 *
 * What this file is not for: which path is which endpoint and which
 * methods it takes (the routing table in api_route.c), or answering.
 *
 *-------------------------------------------------------------------------
 */
#include "api_request.h"
#include "base64.h"

#include <stdio.h>
#include <string.h>

#define MAX_METHOD_LEN	32

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

bool
pgha_api_prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (ascii_lower(*s) != *prefix)
			return false;
	return true;
}

/* ----- sizes */

bool
pgha_api_parse_size(const char *s, int64_t *bytes)
{
	static const struct
	{
		const char *name;
		int64_t		mult;
	}			units[] = {
		{"B", 1},
		{"kB", INT64_C(1) << 10},
		{"MB", INT64_C(1) << 20},
		{"GB", INT64_C(1) << 30},
		{"TB", INT64_C(1) << 40},
	};
	int64_t		ipart = 0;
	int64_t		frac = 0;
	int64_t		frac_den = 1;
	int64_t		mult = 1;
	bool		digits = false;
	const char *unit;
	size_t		unit_len;

	if (s == NULL || bytes == NULL)
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s == '+')
		s++;
	while (*s >= '0' && *s <= '9')
	{
		if (ipart > (INT64_MAX - (*s - '0')) / 10)
			return false;
		ipart = ipart * 10 + (*s - '0');
		digits = true;
		s++;
	}
	if (*s == '.')
	{
		s++;
		while (*s >= '0' && *s <= '9')
		{
			/* six digits are plenty for bytes; the rest must be digits */
			if (frac_den < 1000000)
			{
				frac = frac * 10 + (*s - '0');
				frac_den *= 10;
			}
			digits = true;
			s++;
		}
	}
	if (!digits)
		return false;
	while (*s == ' ' || *s == '\t')
		s++;
	unit = s;
	while (*s != '\0' && *s != ' ' && *s != '\t')
		s++;
	unit_len = (size_t) (s - unit);
	while (*s == ' ' || *s == '\t')
		s++;
	if (*s != '\0')
		return false;
	if (unit_len > 0)
	{
		bool		found = false;

		for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
		{
			if (strlen(units[i].name) == unit_len &&
				memcmp(units[i].name, unit, unit_len) == 0)
			{
				mult = units[i].mult;
				found = true;
				break;
			}
		}
		if (!found)
			return false;
	}
	if (ipart > INT64_MAX / mult)
		return false;
	ipart *= mult;
	/* frac < 10^6 and mult <= 2^40: the product fits in 64 bits */
	frac = (frac * mult + frac_den / 2) / frac_den;
	if (ipart > INT64_MAX - frac)
		return false;
	*bytes = ipart + frac;
	return true;
}

/* ----- method, URI and query string */

/* RFC 9110 token characters, for the method. */
static bool
is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
}

bool
pgha_api_parse_method(const char *method, PgHaApiMethod *out,
					  PgHaApiResponse *resp)
{
	static const struct
	{
		const char *name;
		PgHaApiMethod method;
	}			methods[] = {
		{"GET", PGHA_API_GET},
		{"HEAD", PGHA_API_HEAD},
		{"OPTIONS", PGHA_API_OPTIONS},
		{"POST", PGHA_API_POST},
		{"PATCH", PGHA_API_PATCH},
		{"DELETE", PGHA_API_DELETE},
	};
	size_t		mlen = pgha_api_strnlen(method, MAX_METHOD_LEN + 1);

	if (mlen == 0 || mlen > MAX_METHOD_LEN)
	{
		pgha_api_error_response(resp, 400, "bad method");
		return false;
	}
	for (size_t i = 0; i < mlen; i++)
	{
		if (!is_tchar(method[i]))
		{
			pgha_api_error_response(resp, 400, "bad method");
			return false;
		}
	}
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
	{
		if (strcmp(method, methods[i].name) == 0)
		{
			*out = methods[i].method;
			return true;
		}
	}
	pgha_api_error_response(resp, 405, "method not allowed: this API serves GET, HEAD, OPTIONS, POST, PATCH and DELETE");
	resp->allow = true;
	return false;
}

static int
hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

typedef enum
{
	DECODE_OK,
	DECODE_BAD,					/* bad escape or NUL */
	DECODE_TOO_LONG
} DecodeResult;

/*
 * Percent-decode src[0..len) into dst (dstlen bytes with the NUL); '+'
 * becomes a blank when plus_is_space (query strings).
 */
static DecodeResult
percent_decode(const char *src, size_t len, char *dst, size_t dstlen,
			   bool plus_is_space)
{
	size_t		out = 0;

	for (size_t i = 0; i < len; i++)
	{
		char		c = src[i];

		if (c == '%')
		{
			int			hi;
			int			lo;

			if (len - i < 3)
				return DECODE_BAD;	/* fewer than two hex digits left */
			hi = hex_value(src[i + 1]);
			lo = hex_value(src[i + 2]);
			if (hi < 0 || lo < 0)
				return DECODE_BAD;
			c = (char) (hi * 16 + lo);
			if (c == '\0')
				return DECODE_BAD;
			i += 2;
		}
		else if (c == '+' && plus_is_space)
			c = ' ';
		if (out + 1 >= dstlen)
			return DECODE_TOO_LONG;
		dst[out++] = c;
	}
	dst[out] = '\0';
	return DECODE_OK;
}

/* Parse one query parameter; false with resp set on a bad one. */
static bool
parse_param(const char *seg, size_t len, PgHaApiRequest *req,
			PgHaApiResponse *resp, bool *seen_lag)
{
	char		key[PGHA_API_MAX_PARAM_LEN];
	char		value[PGHA_API_MAX_PARAM_LEN];
	const char *eq = memchr(seg, '=', len);
	DecodeResult r;

	/* Python's parse_qs: no "=", or an empty value: ignored */
	if (eq == NULL || eq == seg + len - 1)
		return true;
	r = percent_decode(seg, (size_t) (eq - seg), key, sizeof(key), true);
	if (r == DECODE_OK)
		r = percent_decode(eq + 1, len - (size_t) (eq - seg) - 1,
						   value, sizeof(value), true);
	if (r == DECODE_BAD)
	{
		pgha_api_error_response(resp, 400, "bad percent-encoding in the query string");
		return false;
	}
	if (r == DECODE_TOO_LONG)
	{
		pgha_api_error_response(resp, 400, "query parameter too long");
		return false;
	}

	/* the first occurrence of a parameter counts, as in Patroni */
	if (strcmp(key, "lag") == 0)
	{
		if (*seen_lag)
			return true;
		*seen_lag = true;
		if (!pgha_api_parse_size(value, &req->max_lag))
		{
			pgha_api_error_response(resp, 400, "bad lag: expected bytes, or a number with a unit B, kB, MB, GB or TB");
			return false;
		}
		req->has_max_lag = true;
	}
	else if (strcmp(key, "replication_state") == 0)
	{
		if (req->has_replication_state)
			return true;
		if (strlen(value) >= sizeof(req->replication_state))
		{
			pgha_api_error_response(resp, 400, "bad replication_state");
			return false;
		}
		strcpy(req->replication_state, value);
		req->has_replication_state = true;
	}
	else if (strncmp(key, "tag_", 4) == 0)
	{
		const char *name = key + 4;

		for (int i = 0; i < req->ntag_filters; i++)
			if (strcmp(req->tag_filters[i].name, name) == 0)
				return true;
		if (req->ntag_filters >= PGHA_API_MAX_TAG_FILTERS)
		{
			pgha_api_error_response(resp, 400, "too many tag filters");
			return false;
		}
		/* both fit: same buffer sizes as key and value */
		strcpy(req->tag_filters[req->ntag_filters].name, name);
		strcpy(req->tag_filters[req->ntag_filters].value, value);
		req->ntag_filters++;
	}
	/* anything else: ignored, as Patroni does */
	return true;
}

/*
 * Split a request target [uri, end) into path and query.  Origin-form
 * "/path?query", or absolute-form "http://host/path?query" (RFC 9112
 * 3.2.2, whose empty path is "/").  False for anything else ("*" too).
 */
static bool
split_target(const char *uri, const char *end, const char **path,
			 size_t *path_len, const char **query, size_t *query_len)
{
	const char *p = uri;
	const char *q;

	if (pgha_api_prefix_nocase(uri, "http://") || pgha_api_prefix_nocase(uri, "https://"))
	{
		p = uri + (ascii_lower(uri[4]) == 's' ? 8 : 7);
		while (p < end && *p != '/' && *p != '?')
			p++;
		if (p == end || *p == '?')
		{
			*path = "/";
			*path_len = 1;
			*query = p < end ? p + 1 : NULL;
			*query_len = p < end ? (size_t) (end - p - 1) : 0;
			return true;
		}
	}
	if (p >= end || *p != '/')
		return false;
	q = memchr(p, '?', (size_t) (end - p));
	*path = p;
	*path_len = q ? (size_t) (q - p) : (size_t) (end - p);
	*query = q ? q + 1 : NULL;
	*query_len = q ? (size_t) (end - q - 1) : 0;
	return true;
}

bool
pgha_api_parse_target(const char *uri, char *path, size_t pathlen,
					  const char **query, size_t *query_len,
					  PgHaApiResponse *resp)
{
	size_t		ulen = pgha_api_strnlen(uri, PGHA_API_MAX_URI + 1);
	const char *end;
	const char *raw_path;
	size_t		raw_len;
	const char *hash;
	DecodeResult r;

	/* bounded, printable ASCII */
	if (ulen > PGHA_API_MAX_URI)
	{
		pgha_api_error_response(resp, 414, "URI too long");
		return false;
	}
	for (size_t i = 0; i < ulen; i++)
	{
		unsigned char c = (unsigned char) uri[i];

		if (c <= 0x20 || c >= 0x7f)
		{
			pgha_api_error_response(resp, 400, "bad character in the URI");
			return false;
		}
	}
	/* a fragment is not sent by clients; ignore one if it is */
	hash = memchr(uri, '#', ulen);
	end = hash != NULL ? hash : uri + ulen;

	if (!split_target(uri, end, &raw_path, &raw_len, query, query_len))
	{
		pgha_api_error_response(resp, 400, "the request target must be an absolute path");
		return false;
	}
	r = percent_decode(raw_path, raw_len, path, pathlen, false);
	if (r == DECODE_BAD)
	{
		pgha_api_error_response(resp, 400, "bad percent-encoding in the path");
		return false;
	}
	if (r == DECODE_TOO_LONG)
	{
		pgha_api_error_response(resp, 404, "not found");
		return false;
	}
	/* one trailing slash is forgiven: /patroni/ is /patroni */
	{
		size_t		n = strlen(path);

		if (n > 1 && path[n - 1] == '/')
			path[n - 1] = '\0';
	}
	return true;
}

bool
pgha_api_parse_query(const char *query, size_t len, PgHaApiRequest *req,
					 PgHaApiResponse *resp)
{
	bool		seen_lag = false;
	int			nparams = 0;

	while (query != NULL && len > 0)
	{
		const char *amp = memchr(query, '&', len);
		size_t		seg_len = amp ? (size_t) (amp - query) : len;

		if (seg_len > 0)
		{
			if (++nparams > PGHA_API_MAX_PARAMS)
			{
				pgha_api_error_response(resp, 400, "too many query parameters");
				return false;
			}
			if (!parse_param(query, seg_len, req, resp, &seen_lag))
				return false;
		}
		if (amp == NULL)
			break;
		len -= seg_len + 1;
		query = amp + 1;
	}
	return true;
}

/* ----- credentials of a write request */

bool
pgha_api_is_loopback(int ipversion, const unsigned char *addr)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	if (addr == NULL)
		return false;
	if (ipversion == 4)
		return addr[0] == 127;
	if (ipversion != 6)
		return false;
	if (memcmp(addr, v4mapped, 12) == 0)
		return addr[12] == 127;
	for (int i = 0; i < 15; i++)
		if (addr[i] != 0)
			return false;
	return addr[15] == 1;
}

int
pgha_api_check_auth(const char *configured, const char *authorization,
					bool loopback, char *msg, size_t msglen)
{
	char		decoded[512];
	const char *b64;
	size_t		b64len;
	int			dlen;
	size_t		clen;
	unsigned int diff;

	if (configured == NULL || configured[0] == '\0')
	{
		if (loopback)
			return 0;
		snprintf(msg, msglen, "Access is denied: without pg_ha.api_auth, write requests are taken from loopback only");
		return 403;
	}
	clen = strlen(configured);
	if (strchr(configured, ':') == NULL || clen >= sizeof(decoded))
	{
		snprintf(msg, msglen, "Access is denied: pg_ha.api_auth is not user:password");
		return 403;
	}
	if (authorization == NULL)
	{
		snprintf(msg, msglen, "no auth header received");
		return 401;
	}
	/* "Basic" is case-insensitive (RFC 7617); blanks before the token */
	if (!pgha_api_prefix_nocase(authorization, "basic "))
	{
		snprintf(msg, msglen, "not authenticated");
		return 401;
	}
	b64 = authorization + 6;
	while (*b64 == ' ')
		b64++;
	b64len = pgha_api_strnlen(b64, 1024);
	while (b64len > 0 && b64[b64len - 1] == ' ')
		b64len--;
	dlen = b64len < 1024 ? pgha_base64_decode(b64, b64len, decoded, sizeof(decoded)) : -1;
	if (dlen < 0)
	{
		/* compare anyway: the time depends on the input's length only */
		dlen = 0;
		diff = 1;
	}
	else
		diff = 0;
	/* constant time in the configured secret */
	diff |= (unsigned int) ((size_t) dlen ^ clen);
	for (int i = 0; i < dlen; i++)
		diff |= (unsigned char) decoded[i] ^
			(unsigned char) ((size_t) i < clen ? configured[i] : 0);
	memset(decoded, 0, sizeof(decoded));
	if (diff != 0)
	{
		snprintf(msg, msglen, "not authenticated");
		return 401;
	}
	return 0;
}
