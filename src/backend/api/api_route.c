/*-------------------------------------------------------------------------
 *
 * api_route.c
 *	  The REST API's answers, Patroni-compatible, as pure functions.
 *
 * HAProxy decides where clients go from the status codes given here, so
 * they follow Patroni 3.0.2's rules (patroni/api.py, do_GET and friends)
 * with pg_ha's stricter notion of a primary: 200 on /primary only while
 * the node holds the leader key with a live lease, is not fenced and is
 * out of recovery, the same condition under which fence.c lets writes
 * through.  Bodies are Patroni's JSON, built with jansson in Patroni's key
 * order, and Prometheus text for /metrics.
 *
 * Every request is outside data: the method and URI are checked for
 * length and characters before anything else, percent-escapes are decoded
 * into bounded buffers, and anything that does not parse gets a 4xx, never
 * a guess.  Strings from the snapshot (application names come from
 * clients) are bounded by their arrays and made valid UTF-8 before they
 * reach JSON.
 *
 * Not json_object(): inside the backend that name resolves to PostgreSQL's
 * own SQL function, which the postgres binary exports (see cluster.c);
 * empty objects come from json_pack("{}").
 *
 * What this file is not for: reading shared memory or sockets (api.c),
 * deciding anything about failover (ha_decide.c).
 *
 *-------------------------------------------------------------------------
 */
#include "api_route.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "operator_rules.h"

#define JSON_FLAGS		(JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)
#define CT_JSON			"application/json"
#define CT_METRICS		"text/plain; version=0.0.4; charset=utf-8"
#define MAX_METHOD_LEN	32
#define MAX_BODY_LEN	(1024 * 1024)

/* ----- small helpers */

static size_t
bounded_strlen(const char *s, size_t maxlen)
{
	size_t		n = 0;

	while (n < maxlen && s[n] != '\0')
		n++;
	return n;
}

static char
ascii_lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char) (c - 'A' + 'a') : c;
}

static bool
prefix_nocase(const char *s, const char *prefix)
{
	for (; *prefix != '\0'; s++, prefix++)
		if (ascii_lower(*s) != *prefix)
			return false;
	return true;
}

static void
set_static_body(PgHaApiResponse *resp, const char *content_type,
				const char *text)
{
	size_t		n = strlen(text);

	resp->body = malloc(n + 1);
	if (resp->body == NULL)
	{
		resp->body_len = 0;
		resp->content_type = NULL;
		return;
	}
	memcpy(resp->body, text, n + 1);
	resp->body_len = n;
	resp->content_type = content_type;
}

static void
reset_response(PgHaApiResponse *resp)
{
	resp->status = 500;
	resp->content_type = NULL;
	resp->body = NULL;
	resp->body_len = 0;
	resp->allow = false;
	resp->allow_methods = NULL;
}

/* An error answer: {"error": "<message>"}; message is ours, plain ASCII. */
static void
error_response(PgHaApiResponse *resp, int status, const char *message)
{
	char		buf[512];

	reset_response(resp);
	resp->status = status;
	/* messages are constants without quotes or backslashes */
	snprintf(buf, sizeof(buf), "{\"error\": \"%s\"}", message);
	set_static_body(resp, CT_JSON, buf);
}

/* ----- JSON helpers */

static json_t *
new_object(void)
{
	return json_pack("{}");
}

/*
 * A JSON string from a fixed array of maxlen bytes.  Bytes that jansson
 * refuses (invalid UTF-8: application names are whatever clients sent, in
 * the server's encoding) become '?'.  NULL only when out of memory.
 */
static json_t *
json_str(const char *s, size_t maxlen)
{
	size_t		n = bounded_strlen(s, maxlen);
	json_t	   *j = json_stringn(s, n);
	char	   *copy;

	if (j != NULL)
		return j;
	copy = malloc(n + 1);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		copy[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char) c;
	}
	copy[n] = '\0';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

#define JSON_STR(field) json_str((field), sizeof(field))

/* Add value to obj under key; false (value released) on failure. */
static bool
put(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL)
		return false;
	return json_object_set_new(obj, key, value) == 0;
}

static bool
append(json_t *arr, json_t *value)
{
	if (value == NULL)
		return false;
	return json_array_append_new(arr, value) == 0;
}

/*
 * Serialize root (released) into resp's body.  False when out of memory,
 * resp untouched: the caller chooses between its status without a body
 * (health checks) and a 500 (documents).
 */
static bool
json_body(PgHaApiResponse *resp, json_t *root)
{
	char	   *text;

	if (root == NULL)
		return false;
	text = json_dumps(root, JSON_FLAGS);
	json_decref(root);
	if (text == NULL)
		return false;
	resp->body = text;
	resp->body_len = strlen(text);
	resp->content_type = CT_JSON;
	return true;
}

/* ----- a growing text buffer for /metrics */

typedef struct TextBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} TextBuf;

#if defined(__GNUC__) || defined(__clang__)
static void text_printf(TextBuf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
#endif

static void
text_printf(TextBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (b->failed)
		return;
	for (;;)
	{
		size_t		room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
		{
			b->failed = true;
			return;
		}
		if ((size_t) n < room)
		{
			b->len += (size_t) n;
			return;
		}
		/* grow and retry */
		{
			size_t		need = b->len + (size_t) n + 1;
			size_t		cap = b->cap ? b->cap : 4096;
			char	   *p;

			while (cap < need)
				cap *= 2;
			if (cap > MAX_BODY_LEN)
			{
				b->failed = true;
				return;
			}
			p = realloc(b->data, cap);
			if (p == NULL)
			{
				b->failed = true;
				return;
			}
			b->data = p;
			b->cap = cap;
		}
	}
}

/* ----- public helpers */

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

bool
pgha_api_replica_lag(bool has_optime, int64_t optime, int64_t latest_end,
					 int64_t replayed, int64_t *lag)
{
	int64_t		leader = 0;

	if (has_optime && optime > 0)
		leader = optime;
	if (latest_end > leader)
		leader = latest_end;
	if (leader <= 0)
		return false;
	*lag = (replayed >= leader) ? 0 : leader - (replayed > 0 ? replayed : 0);
	return true;
}

/* Days since 1970-01-01 to a civil date (proleptic Gregorian). */
static void
civil_from_days(int64_t z, int64_t *year, int *month, int *day)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*day = (int) (doy - (153 * mp + 2) / 5 + 1);
	*month = (int) (mp < 10 ? mp + 3 : mp - 9);
	*year = yoe + era * 400 + (*month <= 2 ? 1 : 0);
}

bool
pgha_api_format_time(int64_t epoch_us, char *buf, size_t len)
{
	int64_t		secs;
	int64_t		usec;
	int64_t		days;
	int64_t		sod;
	int64_t		year;
	int			month;
	int			day;
	int			n;

	if (buf == NULL || len == 0)
		return false;
	buf[0] = '\0';
	/* floor division, for times before 1970 too */
	secs = epoch_us / 1000000;
	usec = epoch_us % 1000000;
	if (usec < 0)
	{
		usec += 1000000;
		secs -= 1;
	}
	days = secs / 86400;
	sod = secs % 86400;
	if (sod < 0)
	{
		sod += 86400;
		days -= 1;
	}
	civil_from_days(days, &year, &month, &day);
	if (year < 1 || year > 9999)
		return false;
	if (usec != 0)
		n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d.%06d+00:00",
					 (int) year, month, day, (int) (sod / 3600),
					 (int) (sod / 60 % 60), (int) (sod % 60), (int) usec);
	else
		n = snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d+00:00",
					 (int) year, month, day, (int) (sod / 3600),
					 (int) (sod / 60 % 60), (int) (sod % 60));
	if (n < 0 || (size_t) n >= len)
	{
		buf[0] = '\0';
		return false;
	}
	return true;
}

/* ----- request parsing */

static const struct
{
	const char *path;
	PgHaApiEndpoint endpoint;
}			routes[] = {
	{"/", PGHA_EP_PRIMARY},
	{"/primary", PGHA_EP_PRIMARY},
	{"/master", PGHA_EP_PRIMARY},
	{"/read-write", PGHA_EP_PRIMARY},
	{"/leader", PGHA_EP_LEADER},
	{"/standby-leader", PGHA_EP_STANDBY_LEADER},
	{"/standby_leader", PGHA_EP_STANDBY_LEADER},
	{"/replica", PGHA_EP_REPLICA},
	{"/read-only", PGHA_EP_READ_ONLY},
	{"/sync", PGHA_EP_SYNC},
	{"/synchronous", PGHA_EP_SYNC},
	{"/async", PGHA_EP_ASYNC},
	{"/asynchronous", PGHA_EP_ASYNC},
	{"/read-only-sync", PGHA_EP_READ_ONLY_SYNC},
	{"/read-only-synchronous", PGHA_EP_READ_ONLY_SYNC},
	{"/health", PGHA_EP_HEALTH},
	{"/liveness", PGHA_EP_LIVENESS},
	{"/readiness", PGHA_EP_READINESS},
	{"/patroni", PGHA_EP_PATRONI},
	{"/cluster", PGHA_EP_CLUSTER},
	{"/history", PGHA_EP_HISTORY},
	{"/config", PGHA_EP_CONFIG},
	{"/metrics", PGHA_EP_METRICS},
	{"/switchover", PGHA_EP_SWITCHOVER},
	{"/failover", PGHA_EP_FAILOVER},
	{"/restart", PGHA_EP_RESTART},
	{"/reload", PGHA_EP_RELOAD},
	{"/reinitialize", PGHA_EP_REINITIALIZE},
};

#define ALLOW_POST		"POST"
#define ALLOW_POST_DELETE	"POST, DELETE"
#define ALLOW_CONFIG	"GET, HEAD, OPTIONS, PATCH"

static bool
is_post_endpoint(PgHaApiEndpoint ep)
{
	return ep == PGHA_EP_SWITCHOVER || ep == PGHA_EP_FAILOVER ||
		ep == PGHA_EP_RESTART || ep == PGHA_EP_RELOAD ||
		ep == PGHA_EP_REINITIALIZE;
}

/* Patroni's do_DELETE_restart and do_DELETE_switchover: nothing else */
static bool
is_delete_endpoint(PgHaApiEndpoint ep)
{
	return ep == PGHA_EP_SWITCHOVER || ep == PGHA_EP_RESTART;
}

/* Does the endpoint take the method? */
static bool
method_allowed(PgHaApiMethod method, PgHaApiEndpoint ep)
{
	switch (method)
	{
		case PGHA_API_GET:
		case PGHA_API_HEAD:
		case PGHA_API_OPTIONS:
			return !is_post_endpoint(ep);
		case PGHA_API_POST:
			return is_post_endpoint(ep);
		case PGHA_API_PATCH:
			return ep == PGHA_EP_CONFIG;
		case PGHA_API_DELETE:
			return is_delete_endpoint(ep);
	}
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

/* RFC 9110 token characters, for the method. */
static bool
is_tchar(char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		(c >= '0' && c <= '9'))
		return true;
	return c != '\0' && strchr("!#$%&'*+-.^_`|~", c) != NULL;
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
		error_response(resp, 400, "bad percent-encoding in the query string");
		return false;
	}
	if (r == DECODE_TOO_LONG)
	{
		error_response(resp, 400, "query parameter too long");
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
			error_response(resp, 400, "bad lag: expected bytes, or a number with a unit B, kB, MB, GB or TB");
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
			error_response(resp, 400, "bad replication_state");
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
			error_response(resp, 400, "too many tag filters");
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

	if (prefix_nocase(uri, "http://") || prefix_nocase(uri, "https://"))
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
pgha_api_parse_request(const char *method, const char *uri,
					   PgHaApiRequest *req, PgHaApiResponse *resp)
{
	size_t		mlen;
	size_t		ulen;
	const char *path;
	const char *end;
	const char *query = NULL;
	size_t		path_len;
	size_t		query_len = 0;
	char		decoded[PGHA_API_MAX_PATH];
	DecodeResult r;
	bool		found = false;
	bool		seen_lag = false;
	int			nparams = 0;

	reset_response(resp);
	memset(req, 0, sizeof(*req));

	/* the method: a token, one of those served */
	if (method == NULL || uri == NULL)
	{
		error_response(resp, 400, "bad request");
		return false;
	}
	mlen = bounded_strlen(method, MAX_METHOD_LEN + 1);
	if (mlen == 0 || mlen > MAX_METHOD_LEN)
	{
		error_response(resp, 400, "bad method");
		return false;
	}
	for (size_t i = 0; i < mlen; i++)
	{
		if (!is_tchar(method[i]))
		{
			error_response(resp, 400, "bad method");
			return false;
		}
	}
	if (strcmp(method, "GET") == 0)
		req->method = PGHA_API_GET;
	else if (strcmp(method, "HEAD") == 0)
		req->method = PGHA_API_HEAD;
	else if (strcmp(method, "OPTIONS") == 0)
		req->method = PGHA_API_OPTIONS;
	else if (strcmp(method, "POST") == 0)
		req->method = PGHA_API_POST;
	else if (strcmp(method, "PATCH") == 0)
		req->method = PGHA_API_PATCH;
	else if (strcmp(method, "DELETE") == 0)
		req->method = PGHA_API_DELETE;
	else
	{
		error_response(resp, 405, "method not allowed: this API serves GET, HEAD, OPTIONS, POST, PATCH and DELETE");
		resp->allow = true;
		return false;
	}
	req->wants_body = (req->method == PGHA_API_GET);

	/* the URI: bounded, printable ASCII */
	ulen = bounded_strlen(uri, PGHA_API_MAX_URI + 1);
	if (ulen > PGHA_API_MAX_URI)
	{
		error_response(resp, 414, "URI too long");
		return false;
	}
	for (size_t i = 0; i < ulen; i++)
	{
		unsigned char c = (unsigned char) uri[i];

		if (c <= 0x20 || c >= 0x7f)
		{
			error_response(resp, 400, "bad character in the URI");
			return false;
		}
	}
	end = uri + ulen;
	/* a fragment is not sent by clients; ignore one if it is */
	{
		const char *hash = memchr(uri, '#', ulen);

		if (hash != NULL)
			end = hash;
	}

	if (!split_target(uri, end, &path, &path_len, &query, &query_len))
	{
		error_response(resp, 400, "the request target must be an absolute path");
		return false;
	}
	r = percent_decode(path, path_len, decoded, sizeof(decoded), false);
	if (r == DECODE_BAD)
	{
		error_response(resp, 400, "bad percent-encoding in the path");
		return false;
	}
	if (r == DECODE_TOO_LONG)
	{
		error_response(resp, 404, "not found");
		return false;
	}
	/* one trailing slash is forgiven: /patroni/ is /patroni */
	{
		size_t		n = strlen(decoded);

		if (n > 1 && decoded[n - 1] == '/')
			decoded[n - 1] = '\0';
	}
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
	{
		if (strcmp(decoded, routes[i].path) == 0)
		{
			req->endpoint = routes[i].endpoint;
			found = true;
			break;
		}
	}
	if (!found)
	{
		error_response(resp, 404, "not found");
		return false;
	}

	/* which methods each endpoint takes */
	if (!method_allowed(req->method, req->endpoint))
	{
		if (is_delete_endpoint(req->endpoint))
		{
			error_response(resp, 405, "method not allowed: this endpoint takes POST and DELETE");
			resp->allow_methods = ALLOW_POST_DELETE;
		}
		else if (is_post_endpoint(req->endpoint))
		{
			error_response(resp, 405, "method not allowed: this endpoint takes POST");
			resp->allow_methods = ALLOW_POST;
		}
		else if (req->endpoint == PGHA_EP_CONFIG)
		{
			error_response(resp, 405, "method not allowed: this endpoint takes GET, HEAD, OPTIONS and PATCH");
			resp->allow_methods = ALLOW_CONFIG;
		}
		else
			error_response(resp, 405, "method not allowed: this endpoint takes GET, HEAD and OPTIONS");
		resp->allow = true;
		return false;
	}

	/* the query string: key=value pairs separated by "&" */
	while (query != NULL && query_len > 0)
	{
		const char *amp = memchr(query, '&', query_len);
		size_t		seg_len = amp ? (size_t) (amp - query) : query_len;

		if (seg_len > 0)
		{
			if (++nparams > PGHA_API_MAX_PARAMS)
			{
				error_response(resp, 400, "too many query parameters");
				return false;
			}
			if (!parse_param(query, seg_len, req, resp, &seen_lag))
				return false;
		}
		if (amp == NULL)
			break;
		query_len -= seg_len + 1;
		query = amp + 1;
	}

	/* success: the caller answers */
	resp->status = 0;
	return true;
}

bool
pgha_api_needs_replication(const PgHaApiRequest *req)
{
	if (req == NULL || !req->wants_body)
		return false;
	switch (req->endpoint)
	{
		case PGHA_EP_LIVENESS:
		case PGHA_EP_READINESS:
		case PGHA_EP_CLUSTER:
		case PGHA_EP_HISTORY:
		case PGHA_EP_CONFIG:
		case PGHA_EP_METRICS:
		case PGHA_EP_NONE:
			return false;
		default:
			return true;
	}
}

/* ----- the node's state as Patroni reports it */

static bool
is_paused(const PgHaApiSnapshot *s)
{
	return s->cluster_valid && s->cluster.paused;
}

/* Would a client be sent here for writes? */
static bool
primary_ok(const PgHaApiSnapshot *s)
{
	return s->role == PGHA_API_ROLE_LEADER && !s->fenced &&
		!s->in_recovery && s->pg_running;
}

static bool
lag_ok(const PgHaApiRequest *req, const PgHaApiSnapshot *s)
{
	if (!req->has_max_lag)
		return true;
	/* an unknown lag is not a small one */
	return s->has_lag && s->lag_bytes >= 0 && s->lag_bytes <= req->max_lag;
}

/*
 * A replica named synchronous standby in the sync key of the current
 * leader, synchronous mode on (Patroni's "sync_standby": true).
 */
static bool
sync_standby(const PgHaApiSnapshot *s)
{
	const PgHaMember *me;

	if (!s->in_recovery || !s->cluster_valid || !s->cluster.sync_mode)
		return false;
	me = pgha_find_member(&s->cluster, s->name);
	return me != NULL &&
		strcmp(pgha_member_role_label(&s->cluster, me, true), "sync_standby") == 0;
}

/*
 * The node's own tags (Patroni's patroni.tags): from the snapshot when the
 * caller put them there, else from the node's member record as last read
 * (at most a round old); nofailover from the setting either way.  A new
 * object, or NULL when out of memory.
 */
static json_t *
node_tags(const PgHaApiSnapshot *s)
{
	json_t	   *tags = NULL;

	if (s->has_tags)
	{
		size_t		n = bounded_strlen(s->tags_json, sizeof(s->tags_json));

		if (n < sizeof(s->tags_json))
			tags = json_loadb(s->tags_json, n, JSON_REJECT_DUPLICATES, NULL);
	}
	else if (s->cluster_valid)
	{
		const PgHaMember *me = pgha_find_member(&s->cluster, s->name);
		char		buf[PGHA_TAGS_JSON_LEN];

		if (me != NULL && pgha_member_tags_json(me, buf, sizeof(buf)) > 0)
			tags = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	}
	if (tags != NULL && !json_is_object(tags))
	{
		json_decref(tags);
		tags = NULL;
	}
	if (tags == NULL)
		tags = new_object();
	if (tags != NULL && s->nofailover &&
		json_object_set_new(tags, "nofailover", json_true()) != 0)
	{
		json_decref(tags);
		tags = NULL;
	}
	return tags;
}

/* noloadbalance: Patroni's replica_status_code is 503 on such a node */
static bool
tagged_noloadbalance(const json_t *tags)
{
	return json_is_true(json_object_get(tags, "noloadbalance"));
}

/* Patroni's replica_status_code, plus "streaming". */
static bool
replica_ok(const PgHaApiRequest *req, const PgHaApiSnapshot *s,
		   const json_t *tags)
{
	if (!s->in_recovery || !s->pg_running || s->fenced || !s->streaming)
		return false;
	if (tags == NULL || tagged_noloadbalance(tags))
		return false;
	if (!lag_ok(req, s))
		return false;
	if (req->has_replication_state &&
		strcmp(req->replication_state, "streaming") != 0)
		return false;
	return true;
}

/*
 * A real as Python's repr() prints it: the shortest digits that read back
 * the same, in fixed notation with at least one decimal ("2.0") for a
 * decimal exponent from -4 to 15, else as "1.5e+16".  False when it does
 * not fit.
 */
static bool
python_real(double d, char *buf, size_t len)
{
	char		e_form[48];
	int			p;
	int			exp10;
	const char *e;

	for (p = 1; p <= 17; p++)
	{
		snprintf(e_form, sizeof(e_form), "%.*e", p - 1, d);
		if (strtod(e_form, NULL) == d)
			break;
	}
	if (p > 17)
		p = 17;
	snprintf(e_form, sizeof(e_form), "%.*e", p - 1, d);
	e = strchr(e_form, 'e');
	if (e == NULL)
		return false;
	exp10 = atoi(e + 1);
	if (exp10 < -4 || exp10 >= 16)
		return (size_t) snprintf(buf, len, "%s", e_form) < len;
	if (p - 1 - exp10 > 0)
		return (size_t) snprintf(buf, len, "%.*f", p - 1 - exp10, d) < len;
	return (size_t) snprintf(buf, len, "%.0f.0", d) < len;
}

/*
 * Does the node's tag value match a filter's value?  Patroni compares
 * strings as they are and other values as str(value).lower(): true is
 * "true", 3 is "3", 1.5 is "1.5".  A tag set to null counts as absent;
 * lists and objects (not something pg_ha.tags takes) never match.
 */
static bool
tag_value_matches(const json_t *v, const char *want)
{
	char		text[64];

	switch (json_typeof(v))
	{
		case JSON_STRING:
			return json_string_length(v) == strlen(want) &&
				memcmp(json_string_value(v), want, json_string_length(v)) == 0;
		case JSON_TRUE:
			return strcmp(want, "true") == 0;
		case JSON_FALSE:
			return strcmp(want, "false") == 0;
		case JSON_INTEGER:
			snprintf(text, sizeof(text), "%lld", (long long) json_integer_value(v));
			return strcmp(want, text) == 0;
		case JSON_REAL:
			return python_real(json_real_value(v), text, sizeof(text)) &&
				strcmp(want, text) == 0;
		default:
			return false;
	}
}

/*
 * ?tag_<name>=<value>: every filter must match a tag of the node (Patroni's
 * do_GET): a tag it does not have, or another value, is a 503.  tags NULL
 * (out of memory) matches no filter.
 */
static bool
tags_match(const PgHaApiRequest *req, const json_t *tags)
{
	for (int i = 0; i < req->ntag_filters; i++)
	{
		const PgHaApiTagFilter *f = &req->tag_filters[i];
		const json_t *v = tags != NULL ? json_object_get(tags, f->name) : NULL;

		if (v == NULL || !tag_value_matches(v, f->value))
			return false;
	}
	return true;
}

static json_t *
xlog_json(const PgHaApiSnapshot *s)
{
	json_t	   *x = new_object();
	bool		ok;

	if (x == NULL)
		return NULL;
	if (!s->in_recovery)
		ok = put(x, "location", json_integer(s->location));
	else
	{
		/* as Patroni: the received position, or the replayed one */
		int64_t		received = s->received_location > 0 ?
			s->received_location : s->replayed_location;

		ok = put(x, "received_location", json_integer(received)) &&
			put(x, "replayed_location", json_integer(s->replayed_location)) &&
			put(x, "replayed_timestamp",
				s->has_replayed_timestamp ? JSON_STR(s->replayed_timestamp) :
				json_null()) &&
			put(x, "paused", json_boolean(s->replay_paused));
	}
	if (!ok)
	{
		json_decref(x);
		return NULL;
	}
	return x;
}

static json_t *
replication_json(const PgHaApiSnapshot *s)
{
	json_t	   *arr = json_array();
	int			n = s->nreplication;

	if (arr == NULL)
		return NULL;
	if (n < 0)
		n = 0;
	if (n > PGHA_API_MAX_REPLICATION)
		n = PGHA_API_MAX_REPLICATION;
	for (int i = 0; i < n; i++)
	{
		const PgHaApiReplication *r = &s->replication[i];
		json_t	   *o = new_object();
		bool		ok;

		ok = o != NULL &&
			put(o, "usename", r->has_usename ? JSON_STR(r->usename) : json_null()) &&
			put(o, "application_name", JSON_STR(r->application_name)) &&
			put(o, "client_addr",
				r->has_client_addr ? JSON_STR(r->client_addr) : json_null()) &&
			put(o, "state", JSON_STR(r->state)) &&
			put(o, "sync_state", JSON_STR(r->sync_state)) &&
			put(o, "sync_priority", json_integer(r->sync_priority));
		if (!ok || !append(arr, o))
		{
			if (!ok)
				json_decref(o);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/*
 * Patroni's scheduled_restart: {"schedule": <iso>, "restart_pending": true
 * (only when set), "postmaster_start_time": <iso> (start_ms > 0 only)}.
 * NULL when out of memory or the schedule cannot be written.
 */
static json_t *
scheduled_restart_json(int64_t schedule_ms, bool pending, int64_t start_ms)
{
	char		iso[PGHA_ISO_TIME_LEN];
	json_t	   *o;
	bool		ok;

	if (!pgha_format_iso_time(schedule_ms, iso, sizeof(iso)) ||
		(o = new_object()) == NULL)
		return NULL;
	ok = put(o, "schedule", json_string(iso));
	if (ok && pending)
		ok = put(o, "restart_pending", json_true());
	if (ok && start_ms > 0 && pgha_format_iso_time(start_ms, iso, sizeof(iso)))
		ok = put(o, "postmaster_start_time", json_string(iso));
	if (!ok)
	{
		json_decref(o);
		return NULL;
	}
	return o;
}

/* This node's restart request while it waits for its time, or NULL. */
static const PgHaRestartRequest *
own_scheduled_restart(const PgHaApiSnapshot *s)
{
	int			n;

	if (!s->cluster_valid)
		return NULL;
	n = s->cluster.nrestarts < 0 ? 0 :
		s->cluster.nrestarts > PGHA_MAX_MEMBERS ? PGHA_MAX_MEMBERS : s->cluster.nrestarts;
	for (int i = 0; i < n; i++)
	{
		const PgHaRestartRequest *r = &s->cluster.restarts[i];

		if (strncmp(r->member, s->name, sizeof(r->member)) == 0 &&
			r->scheduled && r->restarting == 0)
			return r;
	}
	return NULL;
}

/*
 * The status document of /patroni, also the body of every health check:
 * Patroni's get_postgresql_status() and _write_status_response(), keys in
 * their order.
 */
static json_t *
status_json(const PgHaApiSnapshot *s)
{
	json_t	   *root = new_object();
	const char *role = s->in_recovery ? "replica" : "master";
	bool		ok;

	if (root == NULL)
		return NULL;
	if (s->pg_running)
	{
		ok = put(root, "state", json_string("running")) &&
			put(root, "postmaster_start_time", JSON_STR(s->postmaster_start_time)) &&
			put(root, "role", json_string(role)) &&
			put(root, "server_version", json_integer(s->server_version)) &&
			put(root, "xlog", xlog_json(s)) &&
			put(root, "timeline", s->timeline > 0 ?
				json_integer(s->timeline) : json_null());
		if (ok && s->nreplication > 0)
			ok = put(root, "replication", replication_json(s));
	}
	else
		ok = put(root, "state", json_string("starting")) &&
			put(root, "role", json_string(role));

	if (ok && (!s->cluster_valid || !s->cluster.has_leader))
		ok = put(root, "cluster_unlocked", json_true());
	if (ok)
		ok = put(root, "dcs_last_seen", json_integer(s->dcs_last_seen));
	if (ok)
	{
		/* Patroni's get_effective_tags(), when there are any */
		json_t	   *tags = node_tags(s);

		if (tags == NULL)
			ok = false;
		else if (json_object_size(tags) == 0)
			json_decref(tags);
		else
			ok = put(root, "tags", tags);
	}
	if (ok && bounded_strlen(s->sysid, sizeof(s->sysid)) > 0)
		ok = put(root, "database_system_identifier", JSON_STR(s->sysid));
	if (ok && s->pending_restart)
		ok = put(root, "pending_restart", json_true());
	if (ok && sync_standby(s))
		ok = put(root, "sync_standby", json_true());
	if (ok)
	{
		json_t	   *p = new_object();

		ok = p != NULL &&
			put(p, "version", JSON_STR(s->version)) &&
			put(p, "scope", JSON_STR(s->scope));
		if (ok)
			ok = put(root, "patroni", p);
		else if (p != NULL)
			json_decref(p);
	}
	if (ok)
	{
		/* as Patroni: the request as scheduled, without the start time */
		const PgHaRestartRequest *r = own_scheduled_restart(s);
		json_t	   *sr = r != NULL ?
			scheduled_restart_json(r->scheduled_ms, r->pending_only, 0) : NULL;

		if (sr != NULL)
			ok = put(root, "scheduled_restart", sr);
	}
	if (ok && is_paused(s))
		ok = put(root, "pause", json_true());
	if (!ok)
	{
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ----- /cluster */

/*
 * host and port of a member's conn_url (postgres://[user@]host[:port]/db),
 * as Patroni's conn_kwargs() reads them.  host empty when unknown, port 0
 * when absent or invalid.
 */
static void
conn_url_host_port(const char *url, size_t urllen, char *host, size_t hostlen,
				   int *port)
{
	size_t		n = bounded_strlen(url, urllen);
	const char *p;
	const char *end;
	const char *at;
	const char *h;
	const char *hend;
	const char *portstr = NULL;
	size_t		hl;

	host[0] = '\0';
	*port = 0;
	if (n >= 11 && prefix_nocase(url, "postgres://"))
		p = url + 11;
	else if (n >= 13 && prefix_nocase(url, "postgresql://"))
		p = url + 13;
	else
		return;
	end = p;
	while (end < url + n && *end != '/' && *end != '?' && *end != '#')
		end++;
	/* userinfo ends at the last "@" of the authority */
	at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	h = at ? at + 1 : p;
	if (h < end && *h == '[')
	{
		const char *close = memchr(h, ']', (size_t) (end - h));

		if (close == NULL)
			return;
		hend = close;
		h++;
		if (close + 1 < end && close[1] == ':')
			portstr = close + 2;
	}
	else
	{
		const char *colon = memchr(h, ':', (size_t) (end - h));

		hend = colon ? colon : end;
		if (colon)
			portstr = colon + 1;
	}
	hl = (size_t) (hend - h);
	if (hl == 0 || hl >= hostlen)
		return;
	for (size_t i = 0; i < hl; i++)
		host[i] = ascii_lower(h[i]);
	host[hl] = '\0';
	if (portstr != NULL)
	{
		long		v = 0;
		const char *q = portstr;

		while (q < end && *q >= '0' && *q <= '9' && v <= 65535)
			v = v * 10 + (*q++ - '0');
		if (q == end && q > portstr && v >= 1 && v <= 65535)
			*port = (int) v;
	}
}

/* a member of /cluster: live, or stopped (a record no session holds) */
typedef struct ListedMember
{
	const PgHaMember *m;
	bool		stopped;
} ListedMember;

static int
member_name_cmp(const void *a, const void *b)
{
	const PgHaMember *ma = ((const ListedMember *) a)->m;
	const PgHaMember *mb = ((const ListedMember *) b)->m;

	return strncmp(ma->name, mb->name, sizeof(ma->name));
}

/*
 * Patroni's cluster_as_json(), 3.0.2.  Stopped members come with them, as
 * Patroni lists its own stopped members: state "stopped", lag "unknown",
 * and pg_ha's "last_seen".
 */
static json_t *
cluster_json(const PgHaApiSnapshot *s)
{
	const PgHaCluster *c = &s->cluster;
	ListedMember sorted[PGHA_MAX_MEMBERS * 2];
	json_t	   *root = new_object();
	json_t	   *members = json_array();
	int64_t		cluster_lsn = (c->has_optime && c->optime > 0) ? c->optime : 0;
	int			nlive = c->nmembers;
	int			nstopped = c->nstopped;
	int			n = 0;
	bool		ok = root != NULL && members != NULL;

	/* do not trust the counts beyond the arrays */
	nlive = nlive < 0 ? 0 : nlive > PGHA_MAX_MEMBERS ? PGHA_MAX_MEMBERS : nlive;
	nstopped = nstopped < 0 ? 0 : nstopped > PGHA_MAX_MEMBERS ? PGHA_MAX_MEMBERS : nstopped;
	for (int i = 0; i < nlive; i++)
		sorted[n++] = (ListedMember) {&c->members[i], false};
	for (int i = 0; i < nstopped; i++)
		sorted[n++] = (ListedMember) {&c->stopped[i], true};
	qsort(sorted, (size_t) n, sizeof(sorted[0]), member_name_cmp);

	for (int i = 0; ok && i < n; i++)
	{
		const PgHaMember *m = sorted[i].m;
		bool		stopped = sorted[i].stopped;
		bool		leader = !stopped && c->has_leader &&
			strncmp(m->name, c->leader, sizeof(m->name)) == 0;
		char		host[PGHA_URL_LEN];
		char		iso[PGHA_ISO_TIME_LEN];
		int			port;
		json_t	   *o = new_object();

		ok = o != NULL &&
			put(o, "name", JSON_STR(m->name)) &&
			put(o, "role", json_string(leader ? "leader" : stopped ?
									   pgha_stopped_role_label(c, m, true) :
									   pgha_member_role_label(c, m, true))) &&
			put(o, "state", JSON_STR(m->state)) &&
			put(o, "api_url", JSON_STR(m->api_url));
		conn_url_host_port(m->conn_url, sizeof(m->conn_url), host, sizeof(host), &port);
		if (ok && host[0] != '\0')
		{
			ok = put(o, "host", json_str(host, sizeof(host)));
			if (ok && port > 0)
				ok = put(o, "port", json_integer(port));
		}
		if (ok && m->timeline > 0)
			ok = put(o, "timeline", json_integer(m->timeline));
		if (ok && m->pending_restart)
			ok = put(o, "pending_restart", json_true());
		if (ok && !stopped && m->has_scheduled_restart)
		{
			/* as the member's record has it (Patroni copies the field) */
			json_t	   *sr = scheduled_restart_json(m->scheduled_restart_ms,
													m->scheduled_restart_pending,
													m->start_ms);

			if (sr != NULL)
				ok = put(o, "scheduled_restart", sr);
		}
		if (ok)
		{
			char		tags[PGHA_TAGS_JSON_LEN];

			/* every tag of its record, as Patroni copies them */
			json_t	   *t = pgha_member_tags_json(m, tags, sizeof(tags)) > 2 ?
				json_loads(tags, JSON_REJECT_DUPLICATES, NULL) : NULL;

			if (t != NULL)
				ok = put(o, "tags", t);
		}
		if (ok && !leader)
		{
			if (!m->has_xlog)
				ok = put(o, "lag", json_string("unknown"));
			else
				ok = put(o, "lag", json_integer(cluster_lsn >= m->xlog_location ?
												cluster_lsn - m->xlog_location : 0));
		}
		if (ok && stopped && m->last_seen_ms > 0 &&
			pgha_format_iso_time(m->last_seen_ms, iso, sizeof(iso)))
			ok = put(o, "last_seen", json_string(iso));
		if (!ok)
		{
			if (o != NULL)
				json_decref(o);
			break;
		}
		ok = append(members, o);
	}
	if (ok)
	{
		ok = put(root, "members", members);
		members = NULL;
	}
	if (ok && c->paused)
		ok = put(root, "pause", json_true());
	if (!ok)
	{
		if (members != NULL)
			json_decref(members);
		if (root != NULL)
			json_decref(root);
		return NULL;
	}
	return root;
}

/* ----- /metrics */

/*
 * Prometheus label value: backslash, quote and newline escaped, other
 * control and non-ASCII bytes as '?' (the format wants valid UTF-8).
 */
static void
label_value(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t		n = bounded_strlen(src, srclen);
	size_t		out = 0;

	for (size_t i = 0; i < n && out + 3 < dstlen; i++)
	{
		unsigned char c = (unsigned char) src[i];

		if (c == '\\' || c == '"')
		{
			dst[out++] = '\\';
			dst[out++] = (char) c;
		}
		else if (c == '\n')
		{
			dst[out++] = '\\';
			dst[out++] = 'n';
		}
		else if (c < 0x20 || c >= 0x7f)
			dst[out++] = '?';
		else
			dst[out++] = (char) c;
	}
	dst[out] = '\0';
}

/* "3.0.2" -> 30002 (Patroni prints 030002: the same number). */
static long
padded_semver(const char *v, size_t vlen)
{
	long		result = 0;
	int			parts = 0;
	size_t		n = bounded_strlen(v, vlen);
	size_t		i = 0;

	while (parts < 3)
	{
		long		part = 0;

		while (i < n && v[i] >= '0' && v[i] <= '9' && part < 100)
			part = part * 10 + (v[i++] - '0');
		if (part > 99)
			part = 99;
		result = result * 100 + part;
		parts++;
		while (i < n && v[i] != '.')
			i++;
		if (i < n)
			i++;
	}
	return result;
}

static void
metric(TextBuf *b, const char *name, const char *type, const char *help,
	   const char *labels, const char *value)
{
	text_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s%s %s\n",
				name, help, name, type, name, labels, value);
}

static void
metric_int(TextBuf *b, const char *name, const char *type, const char *help,
		   const char *labels, long long value)
{
	char		v[32];

	snprintf(v, sizeof(v), "%lld", value);
	metric(b, name, type, help, labels, v);
}

static void
metric_secs(TextBuf *b, const char *name, const char *type, const char *help,
			const char *labels, int64_t ms)
{
	char		v[48];

	if (ms <= 0)
		snprintf(v, sizeof(v), "0");
	else
		snprintf(v, sizeof(v), "%lld.%03d", (long long) (ms / 1000),
				 (int) (ms % 1000));
	metric(b, name, type, help, labels, v);
}

static void
metrics_body(const PgHaApiSnapshot *s, PgHaApiResponse *resp)
{
	TextBuf		b = {NULL, 0, 0, false};
	char		scope[2 * PGHA_NAME_LEN + 1];
	char		labels[2 * PGHA_NAME_LEN + 16];
	bool		primary = primary_ok(s);
	bool		replica = s->in_recovery && s->pg_running;
	bool		unlocked = !s->cluster_valid || !s->cluster.has_leader;

	label_value(scope, sizeof(scope), s->scope, sizeof(s->scope));
	snprintf(labels, sizeof(labels), "{scope=\"%s\"}", scope);

	metric_int(&b, "patroni_version", "gauge",
			   "Patroni semver without periods (here: pg_ha's version).",
			   labels, padded_semver(s->version, sizeof(s->version)));
	metric_int(&b, "patroni_postgres_running", "gauge",
			   "Value is 1 if Postgres is running, 0 otherwise.",
			   labels, s->pg_running);
	metric_secs(&b, "patroni_postmaster_start_time", "gauge",
				"Epoch seconds since Postgres started.",
				labels, s->postmaster_start_ms);
	metric_int(&b, "patroni_master", "gauge",
			   "Value is 1 if this node is the leader, 0 otherwise.",
			   labels, primary);
	metric_int(&b, "patroni_primary", "gauge",
			   "Value is 1 if this node is the leader, 0 otherwise.",
			   labels, primary);
	metric_int(&b, "patroni_xlog_location", "counter",
			   "Current location of the Postgres transaction log, 0 if this node is not the leader.",
			   labels, (!s->in_recovery && s->pg_running) ? (long long) s->location : 0);
	metric_int(&b, "patroni_standby_leader", "gauge",
			   "Value is 1 if this node is the standby_leader, 0 otherwise.",
			   labels, 0);
	metric_int(&b, "patroni_replica", "gauge",
			   "Value is 1 if this node is a replica, 0 otherwise.",
			   labels, replica);
	metric_int(&b, "patroni_sync_standby", "gauge",
			   "Value is 1 if this node is a sync standby replica, 0 otherwise.",
			   labels, sync_standby(s));
	metric_int(&b, "patroni_xlog_received_location", "counter",
			   "Current location of the received Postgres transaction log, 0 if this node is not a replica.",
			   labels, replica ? (long long) (s->received_location > 0 ?
											  s->received_location : s->replayed_location) : 0);
	metric_int(&b, "patroni_xlog_replayed_location", "counter",
			   "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.",
			   labels, replica ? (long long) s->replayed_location : 0);
	metric_secs(&b, "patroni_xlog_replayed_timestamp", "gauge",
				"Current timestamp of the replayed Postgres transaction log, 0 if null.",
				labels, (replica && s->has_replayed_timestamp) ? s->replayed_timestamp_ms : 0);
	metric_int(&b, "patroni_xlog_paused", "gauge",
			   "Value is 1 if the Postgres xlog is paused, 0 otherwise.",
			   labels, replica && s->replay_paused);
	metric_int(&b, "patroni_postgres_streaming", "gauge",
			   "Value is 1 if Postgres is streaming, 0 otherwise.",
			   labels, replica && s->streaming);
	metric_int(&b, "patroni_postgres_server_version", "gauge",
			   "Version of Postgres (if running), 0 otherwise.",
			   labels, s->pg_running ? s->server_version : 0);
	metric_int(&b, "patroni_cluster_unlocked", "gauge",
			   "Value is 1 if the cluster is unlocked, 0 if locked.",
			   labels, unlocked);
	metric_int(&b, "patroni_failsafe_mode_is_active", "gauge",
			   "Value is 1 if failsafe mode is active, 0 if inactive.",
			   labels, 0);
	metric_int(&b, "patroni_postgres_timeline", "counter",
			   "Postgres timeline of this node (if running), 0 otherwise.",
			   labels, s->pg_running ? (long long) s->timeline : 0);
	metric_int(&b, "patroni_timeline", "counter",
			   "Postgres timeline of this node (if running), 0 otherwise (same as patroni_postgres_timeline).",
			   labels, s->pg_running ? (long long) s->timeline : 0);
	metric_int(&b, "patroni_dcs_last_seen", "gauge",
			   "Epoch timestamp when DCS was last contacted successfully by Patroni.",
			   labels, (long long) s->dcs_last_seen);
	metric_int(&b, "patroni_pending_restart", "gauge",
			   "Value is 1 if the node needs a restart, 0 otherwise.",
			   labels, s->pending_restart);
	metric_int(&b, "patroni_is_paused", "gauge",
			   "Value is 1 if auto failover is disabled, 0 otherwise.",
			   labels, is_paused(s));
	metric_int(&b, "pg_ha_fenced", "gauge",
			   "Value is 1 if this node is a primary that refuses writes (no leader lease), 0 otherwise.",
			   labels, s->fenced);
	metric_secs(&b, "pg_ha_lease_remaining_seconds", "gauge",
				"Seconds left on this node's leader lease, 0 without a lease.",
				labels, s->lease_remaining_ms > 0 ? s->lease_remaining_ms : 0);

	if (b.failed || b.data == NULL)
	{
		free(b.data);
		error_response(resp, 500, "out of memory");
		return;
	}
	resp->body = b.data;
	resp->body_len = b.len;
	resp->content_type = CT_METRICS;
}

/* ----- answers */

static int
status_code_of(const PgHaApiRequest *req, const PgHaApiSnapshot *s)
{
	bool		ok;
	json_t	   *tags;

	/* the leader's paths ignore tags, as Patroni's */
	switch (req->endpoint)
	{
		case PGHA_EP_PRIMARY:
		case PGHA_EP_LEADER:
			return primary_ok(s) ? 200 : 503;
		case PGHA_EP_STANDBY_LEADER:
			return 503;			/* no standby clusters (yet) */
		default:
			break;
	}
	tags = node_tags(s);
	switch (req->endpoint)
	{
		case PGHA_EP_REPLICA:
			ok = replica_ok(req, s, tags);
			break;
		case PGHA_EP_READ_ONLY:
			ok = primary_ok(s) || replica_ok(req, s, tags);
			break;
		case PGHA_EP_HEALTH:
			ok = s->pg_running;
			break;
		case PGHA_EP_SYNC:
			ok = s->cluster_valid && sync_standby(s) && replica_ok(req, s, tags);
			break;
		case PGHA_EP_ASYNC:
			ok = s->cluster_valid && !sync_standby(s) && replica_ok(req, s, tags);
			break;
		case PGHA_EP_READ_ONLY_SYNC:
			ok = s->cluster_valid &&
				(primary_ok(s) || (sync_standby(s) && replica_ok(req, s, tags)));
			break;
		default:
			ok = false;
			break;
	}
	if (ok && !tags_match(req, tags))
		ok = false;
	if (tags != NULL)
		json_decref(tags);
	return ok ? 200 : 503;
}

static bool
liveness_ok(const PgHaApiSnapshot *s)
{
	bool		primary = !s->in_recovery && s->pg_running;
	int64_t		ref = s->last_round_ms > 0 ? s->last_round_ms : s->postmaster_start_ms;
	int64_t		limit;

	/* in maintenance mode a stuck loop is fine, as in Patroni */
	if (is_paused(s))
		return true;
	if (ref <= 0)
		return false;
	/* Patroni: next run + ttl on a primary, twice the ttl on a replica */
	limit = (int64_t) (s->loop_wait_ms > 0 ? s->loop_wait_ms : 0) +
		(int64_t) (s->ttl_ms > 0 ? s->ttl_ms : 0) * (primary ? 1 : 2);
	return s->now_ms - ref <= limit;
}

static bool
readiness_ok(const PgHaApiRequest *req, const PgHaApiSnapshot *s)
{
	if (s->role == PGHA_API_ROLE_LEADER)
		return true;
	return s->in_recovery && s->pg_running && !s->fenced && s->streaming &&
		lag_ok(req, s);
}

void
pgha_api_respond(const PgHaApiRequest *req, const PgHaApiSnapshot *s,
				 PgHaApiResponse *resp)
{
	bool		body = req != NULL && req->wants_body;

	reset_response(resp);
	if (req == NULL || s == NULL)
	{
		error_response(resp, 500, "no state to answer from");
		return;
	}
	resp->allow = (req->method == PGHA_API_OPTIONS);
	if (req->endpoint == PGHA_EP_CONFIG)
		resp->allow_methods = ALLOW_CONFIG;
	if (pgha_api_is_write(req))
	{
		/* api.c answers these: they need Consul */
		error_response(resp, 500, "write requests are not answered from a snapshot");
		return;
	}

	switch (req->endpoint)
	{
		case PGHA_EP_PRIMARY:
		case PGHA_EP_LEADER:
		case PGHA_EP_STANDBY_LEADER:
		case PGHA_EP_REPLICA:
		case PGHA_EP_READ_ONLY:
		case PGHA_EP_SYNC:
		case PGHA_EP_ASYNC:
		case PGHA_EP_READ_ONLY_SYNC:
		case PGHA_EP_HEALTH:
			/* the status code matters most: without memory, send it alone */
			resp->status = status_code_of(req, s);
			if (body)
				(void) json_body(resp, status_json(s));
			return;

		case PGHA_EP_LIVENESS:
			resp->status = liveness_ok(s) ? 200 : 503;
			return;

		case PGHA_EP_READINESS:
			resp->status = readiness_ok(req, s) ? 200 : 503;
			return;

		case PGHA_EP_PATRONI:
			resp->status = 200;
			if (body && !json_body(resp, status_json(s)))
				error_response(resp, 500, "out of memory");
			return;

		case PGHA_EP_CLUSTER:
			if (!s->cluster_valid)
			{
				if (body)
					error_response(resp, 503, "the cluster has not been read from Consul yet");
				resp->status = 503;
				return;
			}
			resp->status = 200;
			if (body && !json_body(resp, cluster_json(s)))
				error_response(resp, 500, "out of memory");
			return;

		case PGHA_EP_HISTORY:
			resp->status = 200;
			if (body)
				set_static_body(resp, CT_JSON, "[]");
			return;

		case PGHA_EP_CONFIG:
			/* the config key as last read from Consul, as Patroni has it */
			if (!s->cluster_valid || !s->cluster.has_config ||
				!s->cluster.config_valid ||
				bounded_strlen(s->cluster.config_json,
							   sizeof(s->cluster.config_json)) == 0 ||
				bounded_strlen(s->cluster.config_json,
							   sizeof(s->cluster.config_json)) ==
				sizeof(s->cluster.config_json))
			{
				if (body)
					error_response(resp, 503, !s->cluster_valid ?
								   "the cluster has not been read from Consul yet" :
								   "the cluster has no usable configuration key");
				resp->status = 503;
				return;
			}
			resp->status = 200;
			if (body)
			{
				/* through jansson: what leaves is valid JSON, ASCII */
				json_t	   *cfg = json_loadb(s->cluster.config_json,
											 bounded_strlen(s->cluster.config_json,
															sizeof(s->cluster.config_json)),
											 0, NULL);

				if (cfg == NULL || !json_is_object(cfg))
				{
					if (cfg != NULL)
						json_decref(cfg);
					error_response(resp, 503, "the cluster has no usable configuration key");
				}
				else if (!json_body(resp, cfg))
					error_response(resp, 500, "out of memory");
			}
			return;

		case PGHA_EP_SWITCHOVER:
		case PGHA_EP_FAILOVER:
		case PGHA_EP_RESTART:
		case PGHA_EP_RELOAD:
		case PGHA_EP_REINITIALIZE:
			break;

		case PGHA_EP_METRICS:
			resp->status = 200;
			if (body)
				metrics_body(s, resp);
			return;

		case PGHA_EP_NONE:
			break;
	}
	error_response(resp, 404, "not found");
}

void
pgha_api_handle(const char *method, const char *uri,
				const PgHaApiSnapshot *snap, PgHaApiResponse *resp)
{
	PgHaApiRequest req;

	if (!pgha_api_parse_request(method, uri, &req, resp))
		return;
	pgha_api_respond(&req, snap, resp);
}

void
pgha_api_response_free(PgHaApiResponse *resp)
{
	if (resp == NULL)
		return;
	free(resp->body);
	resp->body = NULL;
	resp->body_len = 0;
	resp->content_type = NULL;
}

/* ----- write endpoints */

bool
pgha_api_is_write(const PgHaApiRequest *req)
{
	return req != NULL &&
		(req->method == PGHA_API_POST || req->method == PGHA_API_PATCH ||
		 req->method == PGHA_API_DELETE);
}

void
pgha_api_text_response(PgHaApiResponse *resp, int status, const char *text)
{
	reset_response(resp);
	resp->status = status;
	set_static_body(resp, "text/plain; charset=utf-8", text);
}

void
pgha_api_json_response(PgHaApiResponse *resp, int status, const char *json)
{
	reset_response(resp);
	resp->status = status;
	set_static_body(resp, CT_JSON, json);
}

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
	if (!prefix_nocase(authorization, "basic "))
	{
		snprintf(msg, msglen, "not authenticated");
		return 401;
	}
	b64 = authorization + 6;
	while (*b64 == ' ')
		b64++;
	b64len = bounded_strlen(b64, 1024);
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

/* A JSON object body; NULL with msg (400) when it is not one. */
static json_t *
parse_object_body(const char *body, size_t len, bool optional, char *msg,
				  size_t msglen)
{
	json_t	   *root;

	if (body == NULL || len == 0)
	{
		if (optional)
			return json_pack("{}");
		snprintf(msg, msglen, "a JSON object is expected as the request body");
		return NULL;
	}
	if (len > PGHA_API_MAX_WRITE_BODY)
	{
		snprintf(msg, msglen, "the request body is too large");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root) ||
		(!optional && json_object_size(root) == 0))
	{
		if (root != NULL)
			json_decref(root);
		snprintf(msg, msglen, "a JSON object is expected as the request body");
		return NULL;
	}
	return root;
}

/* A string field (null or absent: ""); false with msg on a bad one. */
static bool
string_field(json_t *root, const char *key, char *dst, size_t dstlen,
			 char *msg, size_t msglen)
{
	json_t	   *v = json_object_get(root, key);

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) >= dstlen ||
		strlen(json_string_value(v)) != json_string_length(v))
	{
		snprintf(msg, msglen, "\"%s\" must be a string of fewer than %zu bytes",
				 key, dstlen);
		return false;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/*
 * Patroni's parse_bool(): str(value).lower() in ('on', 'true', 'yes', '1');
 * anything else (absent, null, 2, "x") is false.
 */
static bool
patroni_bool(const json_t *v)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	const char *s;
	char		lower[8];
	size_t		n;

	if (json_is_true(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) == 1;
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= sizeof(lower) || strlen(s) != n)
		return false;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char) (s[i] - 'A' + 'a') : s[i];
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcmp(lower, yes[i]) == 0)
			return true;
	return false;
}

int
pgha_api_parse_failover(const char *body, size_t len, PgHaApiFailover *out,
						char *msg, size_t msglen)
{
	json_t	   *root;
	bool		ok;

	memset(out, 0, sizeof(*out));
	root = parse_object_body(body, len, false, msg, msglen);
	if (root == NULL)
		return 400;
	ok = string_field(root, "leader", out->leader, sizeof(out->leader), msg, msglen) &&
		string_field(root, "candidate", out->candidate, sizeof(out->candidate), msg, msglen) &&
		string_field(root, "scheduled_at", out->scheduled_at, sizeof(out->scheduled_at), msg, msglen);
	/* Patroni: request.get('candidate') or request.get('member') */
	if (ok && out->candidate[0] == '\0')
		ok = string_field(root, "member", out->candidate, sizeof(out->candidate), msg, msglen);
	/* pg_ha's: what pg_ha_failover(force => true) and pg_ha_ctl --force say */
	out->force = patroni_bool(json_object_get(root, "force"));
	json_decref(root);
	return ok ? 0 : 400;
}

bool
pgha_api_iso_time(int64_t epoch_ms, char *buf, size_t len)
{
	char		tmp[PGHA_API_TIME_LEN];
	char	   *space;

	/* "2026-11-25 20:00:00.123+00:00" -> with a "T" */
	if (!pgha_api_format_time(epoch_ms * 1000, tmp, sizeof(tmp)))
		return false;
	space = strchr(tmp, ' ');
	if (space != NULL)
		*space = 'T';
	if (strlen(tmp) >= len)
		return false;
	strcpy(buf, tmp);
	return true;
}

/*
 * Patroni's parse_schedule(): 0 with the time normalized into iso, or 400
 * (no time zone) / 422 (unparsable, past) with msg.
 */
static int
parse_schedule(const char *schedule, const char *action, int64_t now_ms,
			   char *iso, size_t isolen, char *msg, size_t msglen)
{
	int64_t		ms;

	if (!pgha_parse_iso_time(schedule, &ms))
	{
		char		with_zone[PGHA_API_ISO_LEN * 2 + 8];

		snprintf(with_zone, sizeof(with_zone), "%s+00:00", schedule);
		if (pgha_parse_iso_time(with_zone, &ms))
		{
			snprintf(msg, msglen, "Timezone information is mandatory for the scheduled %s", action);
			return 400;
		}
		snprintf(msg, msglen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
		return 422;
	}
	if (ms < now_ms)
	{
		snprintf(msg, msglen, "Cannot schedule %s in the past", action);
		return 422;
	}
	if (!pgha_api_iso_time(ms, iso, isolen))
	{
		snprintf(msg, msglen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
		return 422;
	}
	return 0;
}

/* The REST API's words for the operator's rules (operator_rules.h). */
static int
failover_refusal(const PgHaOpVerdict *v, bool switchover, int64_t max_lag,
				 char *msg, size_t msglen)
{
	const char *action = switchover ? "switchover" : "failover";
	const char *Action = switchover ? "Switchover" : "Failover";

	switch (v->reason)
	{
		case PGHA_OP_OK:
			return 0;
		case PGHA_OP_FAILOVER_NO_CANDIDATE:
			snprintf(msg, msglen, "Failover could be performed only to a specific candidate");
			return 400;
		case PGHA_OP_SCHEDULED_PAUSED:
			snprintf(msg, msglen, "Can't schedule %s in the paused state", action);
			return 400;
		case PGHA_OP_PAUSED_NO_CANDIDATE:
			snprintf(msg, msglen, "%s is possible only to a specific candidate in a paused state", Action);
			return 400;
		case PGHA_OP_PENDING:
			snprintf(msg, msglen, "a switchover or failover is already pending");
			return 412;
			/* Patroni has one text for both: its switchover names a leader */
		case PGHA_OP_NO_LEADER:
		case PGHA_OP_LEADER_MISMATCH:
			snprintf(msg, msglen, "leader name does not match");
			return 412;
		case PGHA_OP_CANDIDATE_IS_LEADER:
			snprintf(msg, msglen, "candidate \"%s\" is already the leader", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_UNKNOWN:
			snprintf(msg, msglen, "candidate does not exists");
			return 412;
		case PGHA_OP_CANDIDATE_NOT_RUNNING:
		case PGHA_OP_CANDIDATE_NOT_REPLICA:
			snprintf(msg, msglen, "candidate \"%s\" is not a running replica", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_NOFAILOVER:
			snprintf(msg, msglen, "candidate \"%s\" is tagged nofailover", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_NOT_SYNC:
		case PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED:
			snprintf(msg, msglen, "candidate name does not match with sync_standby");
			return 412;
		case PGHA_OP_CANDIDATE_NO_POSITION:
			snprintf(msg, msglen, "candidate \"%s\" has not published its WAL position", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_LAGS:
			snprintf(msg, msglen,
					 "candidate \"%s\" lags %lld bytes behind the leader (maximum_lag_on_failover is %lld)",
					 v->member, (long long) v->lag, (long long) max_lag);
			return 412;
		case PGHA_OP_NO_SYNC_STANDBY:
			snprintf(msg, msglen, "%s is not possible: synchronous mode is on and there is no synchronous standby", action);
			return 412;
		case PGHA_OP_ONLY_LEADER:
			snprintf(msg, msglen, "%s is not possible: cluster does not have members except leader", action);
			return 412;
		case PGHA_OP_NO_GOOD_CANDIDATE:
			snprintf(msg, msglen, "%s is not possible: no good candidates have been found", action);
			return 412;
	}
	snprintf(msg, msglen, "%s refused", action);
	return 412;
}

int
pgha_api_check_failover(const PgHaCluster *c, PgHaApiFailover *r,
						bool switchover, int64_t now_ms, char *msg,
						size_t msglen)
{
	const char *action = switchover ? "switchover" : "failover";
	PgHaOpRequest req;
	PgHaOpVerdict v;
	int			status;

	r->scheduled_iso[0] = '\0';
	r->unsafe = false;
	/* Patroni's protocol: the body names what SQL and pg_ha_ctl fill in */
	if (!switchover && r->candidate[0] == '\0')
	{
		snprintf(msg, msglen, "Failover could be performed only to a specific candidate");
		return 400;
	}
	if (switchover && r->leader[0] == '\0')
	{
		snprintf(msg, msglen, "Switchover could be performed only from a specific leader");
		return 400;
	}
	if (r->scheduled_at[0] != '\0' && r->leader[0] == '\0')
	{
		snprintf(msg, msglen, "Scheduled %s is possible only from a specific leader", action);
		return 400;
	}

	/* the rules SQL and pg_ha_ctl apply too */
	memset(&req, 0, sizeof(req));
	req.action = switchover ? PGHA_OP_SWITCHOVER : PGHA_OP_FAILOVER;
	req.leader = r->leader;
	req.candidate = r->candidate;
	req.force = r->force;
	req.scheduled = r->scheduled_at[0] != '\0';
	if (!pgha_rule_request(c, &req, &v))
		return failover_refusal(&v, switchover, c->max_lag_on_failover, msg, msglen);
	r->unsafe = v.unsafe;

	if (req.scheduled)
	{
		status = parse_schedule(r->scheduled_at, action, now_ms, r->scheduled_iso,
								sizeof(r->scheduled_iso), msg, msglen);
		if (status != 0)
			return status;
	}
	return 0;
}

int
pgha_api_parse_restart(const char *body, size_t len, PgHaApiRestart *out,
					   char *msg, size_t msglen)
{
	json_t	   *root;
	const char *key;
	json_t	   *value;
	int			status = 0;

	memset(out, 0, sizeof(*out));
	root = parse_object_body(body, len, true, msg, msglen);
	if (root == NULL)
		return 400;
	json_object_foreach(root, key, value)
	{
		if (strcmp(key, "restart_pending") == 0)
		{
			/* Patroni tests it for truth */
			if (json_is_boolean(value))
				out->pending_only = json_is_true(value);
			else if (!json_is_null(value))
			{
				snprintf(msg, msglen, "restart_pending must be true or false");
				status = 400;
			}
		}
		else if (strcmp(key, "schedule") == 0)
		{
			if (!string_field(root, "schedule", out->schedule, sizeof(out->schedule), msg, msglen))
				status = 400;
		}
		else if (strcmp(key, "role") == 0 || strcmp(key, "postgres_version") == 0 ||
				 strcmp(key, "timeout") == 0)
		{
			snprintf(msg, msglen, "The restart filter %.64s is not supported by pg_ha", key);
			status = 400;
		}
		else
		{
			snprintf(msg, msglen, "Unknown filter for the scheduled restart: %.64s", key);
			status = 400;
		}
		if (status != 0)
			break;
	}
	json_decref(root);
	return status;
}

int
pgha_api_parse_reinitialize(const char *body, size_t len, bool *force,
							char *msg, size_t msglen)
{
	json_t	   *root;

	*force = false;
	root = parse_object_body(body, len, true, msg, msglen);
	if (root == NULL)
		return 400;

	*force = patroni_bool(json_object_get(root, "force"));
	json_decref(root);
	return 0;
}

int
pgha_api_check_reinitialize(const PgHaCluster *c, const char *member,
							const PgHaMember **leader, char *msg, size_t msglen)
{
	*leader = NULL;
	/* Patroni: cluster.is_unlocked(), then has_lock() */
	if (!c->has_leader || c->leader_session[0] == '\0' || c->leader[0] == '\0')
	{
		snprintf(msg, msglen, "Cluster has no leader, can not reinitialize");
		return 503;
	}
	if (strncmp(c->leader, member, PGHA_NAME_LEN) == 0)
	{
		snprintf(msg, msglen, "I am the leader, can not reinitialize");
		return 503;
	}
	*leader = pgha_find_member(c, c->leader);
	if (*leader == NULL || (*leader)->conn_url[0] == '\0')
	{
		*leader = NULL;
		snprintf(msg, msglen, "Leader \"%.64s\" has no member record to clone from, can not reinitialize",
				 c->leader);
		return 503;
	}
	return 0;
}

int
pgha_api_check_restart(const PgHaCluster *c, const char *member,
					   PgHaApiRestart *r, int64_t now_ms, char *buf,
					   size_t buflen, char *msg, size_t msglen)
{
	const PgHaMember *m;
	int			n;

	r->scheduled_iso[0] = '\0';
	if (c->paused && r->schedule[0] != '\0')
	{
		snprintf(msg, msglen, "Can't schedule restart in the paused state");
		return 400;
	}
	if (r->schedule[0] != '\0')
	{
		int			status = parse_schedule(r->schedule, "restart", now_ms,
											r->scheduled_iso,
											sizeof(r->scheduled_iso),
											msg, msglen);

		if (status != 0)
			return status;
	}
	m = pgha_find_member(c, member);
	if (m == NULL)
	{
		snprintf(msg, msglen, "restart failed: this node is not a member of the cluster in Consul");
		return 503;
	}
	for (int i = 0; i < c->nrestarts && i < PGHA_MAX_MEMBERS; i++)
	{
		if (strncmp(c->restarts[i].member, member, sizeof(c->restarts[i].member)) == 0)
		{
			snprintf(msg, msglen, "Another restart is already scheduled");
			return 409;
		}
	}
	if (r->pending_only && !m->pending_restart && r->schedule[0] == '\0')
	{
		snprintf(msg, msglen, "restart conditions are not satisfied");
		return 503;
	}
	n = snprintf(buf, buflen, "{\"pending_only\":%s%s%s%s}",
				 r->pending_only ? "true" : "false",
				 r->scheduled_iso[0] ? ",\"scheduled_at\":\"" : "",
				 r->scheduled_iso,
				 r->scheduled_iso[0] ? "\"" : "");
	if (n < 0 || (size_t) n >= buflen)
	{
		snprintf(msg, msglen, "restart failed: request too long");
		return 500;
	}
	return 0;
}

int
pgha_api_check_delete_restart(const PgHaCluster *c, const char *member,
							  uint64_t *index, char *msg, size_t msglen)
{
	int			n = c->nrestarts < PGHA_MAX_MEMBERS ? c->nrestarts : PGHA_MAX_MEMBERS;

	*index = 0;
	for (int i = 0; i < n; i++)
	{
		const PgHaRestartRequest *r = &c->restarts[i];

		/* an immediate or started restart is no scheduled one (Patroni's too) */
		if (strncmp(r->member, member, sizeof(r->member)) == 0 &&
			r->scheduled && r->restarting == 0 && r->modify_index > 0)
		{
			*index = r->modify_index;
			return 0;
		}
	}
	snprintf(msg, msglen, "no restarts are scheduled");
	return 404;
}

int
pgha_api_check_delete_switchover(const PgHaCluster *c, uint64_t *index,
								 char *msg, size_t msglen)
{
	*index = 0;
	if (c->has_failover && c->failover_scheduled && c->failover_modify_index > 0)
	{
		*index = c->failover_modify_index;
		return 0;
	}
	snprintf(msg, msglen, "no switchover is scheduled");
	return 404;
}

/* Patroni's patch_config(): true when config changed. */
static bool
merge_patch(json_t *config, json_t *patch, bool *oom)
{
	const char *key;
	json_t	   *value;
	bool		changed = false;

	json_object_foreach(patch, key, value)
	{
		json_t	   *cur = json_object_get(config, key);

		if (json_is_null(value))
		{
			if (cur != NULL)
			{
				bool		was_null = json_is_null(cur);

				json_object_del(config, key);
				if (!was_null)
					changed = true;
			}
		}
		else if (cur != NULL && json_is_object(value) && json_is_object(cur))
		{
			if (merge_patch(cur, value, oom))
				changed = true;
		}
		else if (cur == NULL || !json_equal(cur, value))
		{
			json_t	   *copy = json_deep_copy(value);

			if (copy == NULL || json_object_set_new(config, key, copy) != 0)
				*oom = true;
			changed = true;
		}
	}
	return changed;
}

/*
 * A parameter the patch names replaces the config's spellings of it in
 * another case too ("max_connections" for "MAX_Connections"): the nodes
 * read names case-insensitively, and two spellings would leave it to
 * chance which value they apply.
 */
static void
drop_case_variants(json_t *root, json_t *patch_params, bool *changed)
{
	json_t	   *pg = json_object_get(root, "postgresql");
	json_t	   *params = json_is_object(pg) ? json_object_get(pg, "parameters") : NULL;
	const char *name;
	json_t	   *v;

	if (!json_is_object(params) || !json_is_object(patch_params))
		return;
	json_object_foreach(patch_params, name, v)
	{
		const char *have;
		json_t	   *hv;
		void	   *tmp;

		json_object_foreach_safe(params, tmp, have, hv)
		{
			if (strcmp(have, name) != 0 && strcasecmp(have, name) == 0)
			{
				json_object_del(params, have);
				*changed = true;
			}
		}
	}
}

/* A parameter's value as text; false when it is not a scalar. */
static bool
param_text(json_t *v, char *buf, size_t len)
{
	int			n;

	if (json_is_string(v))
		n = snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		n = snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_true(v))
		n = snprintf(buf, len, "on");
	else if (json_is_false(v))
		n = snprintf(buf, len, "off");
	else
		return false;
	return n >= 0 && (size_t) n < len;
}

int
pgha_api_patch_config(const char *config, const char *patch, size_t patchlen,
					  char **result, bool *changed, PgHaParam *params,
					  int maxparams, int *nparams, char *msg, size_t msglen)
{
	json_t	   *root = NULL;
	json_t	   *p;
	json_t	   *pg;
	json_t	   *pp;
	bool		oom = false;
	int			status = 0;

	*result = NULL;
	*changed = false;
	*nparams = 0;
	p = parse_object_body(patch, patchlen, false, msg, msglen);
	if (p == NULL)
		return 400;

	/* the parameters the patch sets, for PostgreSQL's own check */
	pg = json_object_get(p, "postgresql");
	pp = json_is_object(pg) ? json_object_get(pg, "parameters") : NULL;
	if (pg != NULL && !json_is_object(pg) && !json_is_null(pg))
	{
		snprintf(msg, msglen, "\"postgresql\" must be an object");
		status = 400;
	}
	else if (pp != NULL && !json_is_object(pp) && !json_is_null(pp))
	{
		snprintf(msg, msglen, "\"postgresql.parameters\" must be an object");
		status = 400;
	}
	else if (json_is_object(pp))
	{
		const char *name;
		json_t	   *v;

		json_object_foreach(pp, name, v)
		{
			if (json_is_null(v))
				continue;
			if (strlen(name) == 0 || strlen(name) >= PGHA_NAME_LEN)
			{
				snprintf(msg, msglen, "bad parameter name \"%.64s\"", name);
				status = 400;
				break;
			}
			if (*nparams >= maxparams)
			{
				snprintf(msg, msglen, "too many parameters in one request");
				status = 400;
				break;
			}
			/* PostgreSQL's names ignore case: one setting, one value */
			for (int i = 0; i < *nparams && status == 0; i++)
				if (strcasecmp(params[i].name, name) == 0)
				{
					snprintf(msg, msglen, "parameter \"%s\" is given twice (as \"%s\"): names are case-insensitive",
							 name, params[i].name);
					status = 400;
				}
			if (status != 0)
				break;
			strcpy(params[*nparams].name, name);
			if (!param_text(v, params[*nparams].value, sizeof(params[*nparams].value)))
			{
				snprintf(msg, msglen, "parameter \"%s\": the value must be a string, a number or a boolean, of fewer than %d bytes",
						 name, PGHA_URL_LEN);
				status = 400;
				break;
			}
			(*nparams)++;
		}
	}
	/* the synchronous mode switches: what the nodes can read, or 400 */
	for (int i = 0; i < 3 && status == 0; i++)
	{
		static const char *const names[] = {
			"synchronous_mode", "synchronous_mode_strict", "synchronous_node_count"
		};
		json_t	   *v = json_object_get(p, names[i]);
		long long	n;
		char		err[PGHA_ERR_LEN];
		bool		good;

		if (v == NULL || json_is_null(v))
			continue;
		if (i == 2)
			good = json_is_integer(v) && json_integer_value(v) >= 1 &&
				json_integer_value(v) <= PGHA_MAX_SYNC;
		else
			good = json_is_boolean(v) ||
				(json_is_string(v) &&
				 pgha_sync_setting_value(names[i], json_string_value(v), &n, err, sizeof(err)));
		if (!good)
		{
			(void) pgha_sync_setting_value(names[i], "?", &n, err, sizeof(err));
			snprintf(msg, msglen, "%s", err);
			status = 400;
		}
	}
	if (status != 0)
	{
		json_decref(p);
		return status;
	}

	if (config != NULL)
	{
		root = json_loads(config, 0, NULL);
		if (root == NULL || !json_is_object(root))
		{
			if (root != NULL)
				json_decref(root);
			json_decref(p);
			snprintf(msg, msglen, "the config key in Consul is not a JSON object");
			return 500;
		}
	}
	else
		root = json_pack("{}");
	if (root == NULL)
	{
		json_decref(p);
		snprintf(msg, msglen, "out of memory");
		return 500;
	}
	drop_case_variants(root, pp, changed);
	*changed = merge_patch(root, p, &oom) || *changed;
	json_decref(p);
	if (!oom)
		*result = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (*result == NULL)
	{
		snprintf(msg, msglen, "out of memory");
		return 500;
	}
	if (strlen(*result) >= PGHA_CONFIG_LEN)
	{
		free(*result);
		*result = NULL;
		snprintf(msg, msglen, "the configuration would be larger than %d bytes", PGHA_CONFIG_LEN - 1);
		return 400;
	}
	return 0;
}
