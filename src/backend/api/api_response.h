/*-------------------------------------------------------------------------
 *
 * api_response.h
 *	  An answer of the REST API: status, body, Allow header.
 *
 * Every part of the REST API (api_route.c and the files it dispatches to,
 * and api_action.c for the write requests) hands its answer to the HTTP
 * server in a PgHaApiResponse, built with the functions below.
 *
 * Pure: libc only, no PostgreSQL, no I/O, so that the unit tests and the
 * fuzzers link it.  What this file is not for: deciding which answer to
 * give (api_route.c and the files of each concern).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_RESPONSE_H
#define PG_HA_API_RESPONSE_H

#include <stdbool.h>
#include <stddef.h>

#define PGHA_API_ALLOW			"GET, HEAD, OPTIONS"
#define PGHA_API_CT_JSON		"application/json"

/* An answer.  body is malloc'ed (free with pgha_api_response_free). */
typedef struct PgHaApiResponse
{
	int			status;
	const char *content_type;	/* static string; NULL when no body */
	char	   *body;
	size_t		body_len;
	bool		allow;			/* send an Allow header */
	const char *allow_methods;	/* its value; NULL: PGHA_API_ALLOW */
} PgHaApiResponse;

/*
 * The length of a string in a fixed array that may lack its NUL: a
 * snapshot's strings and a request's raw bytes are read no further than
 * maxlen.
 */
static inline size_t
pgha_api_strnlen(const char *s, size_t maxlen)
{
	size_t		n = 0;

	while (n < maxlen && s[n] != '\0')
		n++;
	return n;
}

/* An empty answer: 500, no body, no Allow header. */
extern void pgha_api_response_reset(PgHaApiResponse *resp);

/*
 * Set resp's body to a copy of text (without a body when out of memory),
 * keeping its status.
 */
extern void pgha_api_set_body(PgHaApiResponse *resp, const char *content_type,
							  const char *text);

/*
 * An error answer: {"error": "<message>"}.  message is ours: plain ASCII
 * without quotes or backslashes.
 */
extern void pgha_api_error_response(PgHaApiResponse *resp, int status,
									const char *message);

/* A plain-text answer (Patroni answers its write endpoints in text). */
extern void pgha_api_text_response(PgHaApiResponse *resp, int status,
								   const char *text);

/* A JSON answer; json is copied. */
extern void pgha_api_json_response(PgHaApiResponse *resp, int status,
								   const char *json);

extern void pgha_api_response_free(PgHaApiResponse *resp);

#endif							/* PG_HA_API_RESPONSE_H */
