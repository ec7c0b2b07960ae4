/*-------------------------------------------------------------------------
 *
 * consul_parse.h
 *	  The answers the DCS clients read over HTTP: Consul's bodies and
 *	  headers (sessions, KV entries, PUT and DELETE results, refusals) and
 *	  another member's GET /patroni.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers): every function
 * parses outside data into the caller's buffers and reports bad input
 * through an error buffer.  The recursive KV listing, which builds the
 * cluster model, is cluster.h's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CONSUL_PARSE_H
#define PG_HA_CONSUL_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base64.h"
#include "cluster_limits.h"

/* What pgha_kv_entry_value() made of a KV entry's "Value". */
typedef enum PgHaKvValue
{
	PGHA_KV_VALUE_OK,
	PGHA_KV_VALUE_NOT_STRING,	/* "Value is not a string" */
	PGHA_KV_VALUE_NOT_BASE64,	/* "Value is not valid base64" */
	PGHA_KV_VALUE_OOM			/* out of memory */
} PgHaKvValue;

/*
 * The decoded "Value" of one KV entry (a JSON object of Consul's answer),
 * for the parsers of single entries and of listings: malloc'ed and
 * NUL-terminated, "" when absent or null (Consul's empty value); the
 * caller frees it.  *value is NULL unless the result is PGHA_KV_VALUE_OK.
 * The value may hold NUL bytes: valuelen says where it ends.
 */
struct json_t;
extern PgHaKvValue pgha_kv_entry_value(const struct json_t *entry,
									   char **value, size_t *valuelen);

/* Parse {"ID": "<uuid>"} from PUT /v1/session/create. */
extern bool pgha_parse_session_create(const char *body, size_t len,
									  char *id, size_t idlen,
									  char *errbuf, size_t errlen);

/*
 * Parse GET /v1/session/info/<id>: true with *exists set when the body is
 * a JSON array (empty or null: the session is gone).
 */
extern bool pgha_parse_session_info(const char *body, size_t len,
									bool *exists, char *errbuf, size_t errlen);

/*
 * The TTL of the session in a GET /v1/session/info/<id> answer, in ms
 * ("15s", "1m30s" ...).  False when absent or not a duration.
 */
extern bool pgha_parse_session_ttl(const char *body, size_t len, int *ttl_ms);

/* Parse the "true"/"false" body of a KV PUT or DELETE. */
extern bool pgha_parse_bool_body(const char *body, size_t len, bool *result,
								 char *errbuf, size_t errlen);

/*
 * Parse one HTTP response header line (len bytes, CRLF included or not) for
 * Consul's X-Consul-Index.  True with *index set when it is that header
 * (name in any case) with a decimal value; false for other headers and
 * malformed values (signs, junk, overflow), *index untouched.
 */
extern bool pgha_parse_consul_index(const char *line, size_t len,
									uint64_t *index);

/*
 * The message for a non-2xx answer of Consul: "Consul refused <what>: HTTP
 * <status>: <reason>", the reason being the start of Consul's one-line
 * body with unprintable and non-ASCII bytes as '?', safe to log.
 */
extern void pgha_consul_refusal(const char *what, long status,
								const char *body, size_t len,
								char *errbuf, size_t errlen);

/*
 * Parse the answer of GET /v1/kv/<key>: a JSON array whose first element is
 * the key's entry.  True with its ModifyIndex and its decoded Value as text
 * (malloc'ed, NUL-terminated, "" when empty or null; the caller frees it).
 * False with errbuf set when the body is not a KV entry or the value is not
 * text (not a string, bad base64, a NUL byte); *value is then NULL.
 */
extern bool pgha_parse_kv_entry(const char *body, size_t len,
								uint64_t *modify_index, char **value,
								size_t *valuelen, char *errbuf,
								size_t errlen);

/* A member's WAL position as its REST API gives it now (GET /patroni). */
typedef struct PgHaFreshPosition
{
	bool		has_xlog;
	int64_t		xlog;			/* received or replayed (replica), or
								 * written (primary), bytes */
	uint32_t	timeline;		/* 0 when not given */
	char		role[PGHA_SHORT_LEN];	/* "" when not given */
} PgHaFreshPosition;

/*
 * Parse a /patroni answer: {"role":..,"timeline":..,"xlog":{"location":..}
 * or {"received_location":..,"replayed_location":..}}.  False with errbuf
 * set when it is not such an object.
 */
extern bool pgha_parse_patroni_status(const char *body, size_t len,
									  PgHaFreshPosition *out,
									  char *errbuf, size_t errlen);

#endif							/* PG_HA_CONSUL_PARSE_H */
