/*-------------------------------------------------------------------------
 *
 * json_util.h
 *	  The helpers that src/common's parsers and formatters of outside data
 *	  share: error messages, quoting, loading and reading JSON, and the
 *	  small checks of Consul's decimal numbers and session IDs.
 *
 * Internal to src/common: included by its .c files only, never by a
 * header, so that <jansson.h> stays out of the extension's other files
 * (where PostgreSQL's json_object() would meet jansson's).  Not for
 * anything that knows a key of the cluster: that is each concern's file.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_JSON_UTIL_H
#define PG_HA_JSON_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#if defined(__GNUC__) || defined(__clang__)
#define PGHA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PGHA_PRINTF(f, a)
#endif

/* flags for every JSON document we read; the caller checks the type */
#define PGHA_JSON_FLAGS		(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

/* room for an outside string quoted in a message */
#define PGHA_QUOTE_LEN		72

/*
 * Format an error message into errbuf, which callers may pass as NULL when
 * they do not care.
 */
extern void pgha_set_error(char *errbuf, size_t errlen, const char *fmt,...)
			PGHA_PRINTF(3, 4);

/*
 * Copy outside bytes into buf for quoting in a message: unprintable and
 * non-ASCII bytes, quotes and backslashes become '?' (logs and client
 * encodings stay happy), and long strings are cut with "...".
 */
extern const char *pgha_quote_text(const char *s, size_t len, char *buf,
								   size_t buflen);

/*
 * Parse a JSON document of exactly len bytes.  what names the document in
 * the error message.  Returns NULL with errbuf set on failure.
 */
extern json_t *pgha_json_load(const char *body, size_t len, const char *what,
							  char *errbuf, size_t errlen);

/*
 * The same for a document that must be a JSON object or array (type):
 * NULL with "<what> is not a JSON object" (array) in errbuf when it is
 * another thing.
 */
extern json_t *pgha_json_load_as(const char *body, size_t len,
								 const char *what, json_type type,
								 char *errbuf, size_t errlen);

/*
 * Copy a JSON string into a fixed buffer.  A value that does not fit is an
 * error, never silently truncated: a cut URL or name would point elsewhere.
 */
extern bool pgha_json_copy_string(const json_t *value, const char *field,
								  char *dst, size_t dstlen,
								  char *errbuf, size_t errlen);

/* Read a JSON integer and check that it lies within [min, max]. */
extern bool pgha_json_get_integer(const json_t *value, const char *field,
								  long long min, long long max,
								  long long *result,
								  char *errbuf, size_t errlen);

/*
 * An empty JSON object.  Not json_object(): inside the backend that name
 * resolves to PostgreSQL's own SQL function json_object(), which the
 * postgres binary exports, and calling it crashes the process.
 */
extern json_t *pgha_json_new_object(void);

/* A jansson value dumped compact, in order, into buf; -1 if it does not fit */
extern int	pgha_json_dump(json_t *v, char *buf, size_t buflen);

/*
 * Parse non-empty decimal text (digits only, no sign, no spaces) into an
 * unsigned value no larger than max.
 */
extern bool pgha_parse_decimal(const char *s, size_t len, uint64_t max,
							   uint64_t *result);

/*
 * Is s (len bytes) a Consul session ID that fits in maxlen - 1 bytes?
 * Hex digits and dashes only: they end up in URLs and comparisons.
 */
extern bool pgha_valid_session_id(const char *s, size_t len, size_t maxlen);

#endif							/* PG_HA_JSON_UTIL_H */
