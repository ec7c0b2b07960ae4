/*-------------------------------------------------------------------------
 *
 * api_request.h
 *	  A REST API request as it arrives: method, URI, query, credentials.
 *
 * The HTTP server (api.c) hands over the method and the raw request URI;
 * these functions check them as the outside data they are and turn them
 * into a PgHaApiRequest, or into the 4xx answer Patroni would give.  The
 * routing table that maps a path to its endpoint is api_route.c's.  The
 * Authorization header of a write request is checked here too.
 *
 * Pure: libc only, no PostgreSQL, no I/O (unit-tested and fuzzed).  What
 * this file is not for: answering a request that parsed.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_REQUEST_H
#define PG_HA_API_REQUEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_response.h"
#include "cluster.h"

#define PGHA_API_MAX_URI		4096	/* longer: 414 */
#define PGHA_API_MAX_PATH		256 /* decoded path; longer: no such page */
#define PGHA_API_MAX_PARAMS		64	/* query parameters; more: 400 */
#define PGHA_API_MAX_PARAM_LEN	256 /* one decoded key or value; longer: 400 */
#define PGHA_API_MAX_TAG_FILTERS	8	/* tag_<name>= parameters; more: 400 */

typedef enum PgHaApiMethod
{
	PGHA_API_GET,
	PGHA_API_HEAD,
	PGHA_API_OPTIONS,
	PGHA_API_POST,
	PGHA_API_PATCH,
	PGHA_API_DELETE				/* /restart and /switchover: a scheduled one */
} PgHaApiMethod;

typedef enum PgHaApiEndpoint
{
	PGHA_EP_NONE = 0,
	/* health checks: Patroni's status JSON as body */
	PGHA_EP_PRIMARY,			/* / /primary /master /read-write */
	PGHA_EP_LEADER,				/* /leader */
	PGHA_EP_STANDBY_LEADER,		/* /standby-leader /standby_leader */
	PGHA_EP_REPLICA,			/* /replica */
	PGHA_EP_READ_ONLY,			/* /read-only */
	PGHA_EP_SYNC,				/* /sync /synchronous */
	PGHA_EP_ASYNC,				/* /async /asynchronous */
	PGHA_EP_READ_ONLY_SYNC,		/* /read-only-sync /read-only-synchronous */
	PGHA_EP_HEALTH,				/* /health */
	/* probes: status code only */
	PGHA_EP_LIVENESS,
	PGHA_EP_READINESS,
	/* documents */
	PGHA_EP_PATRONI,
	PGHA_EP_CLUSTER,
	PGHA_EP_HISTORY,
	PGHA_EP_CONFIG,
	PGHA_EP_METRICS,
	/* write endpoints (POST), plus PATCH on PGHA_EP_CONFIG */
	PGHA_EP_SWITCHOVER,
	PGHA_EP_FAILOVER,
	PGHA_EP_RESTART,
	PGHA_EP_RELOAD,
	PGHA_EP_REINITIALIZE
} PgHaApiEndpoint;

typedef struct PgHaApiTagFilter
{
	char		name[PGHA_API_MAX_PARAM_LEN];
	char		value[PGHA_API_MAX_PARAM_LEN];
} PgHaApiTagFilter;

/* A request that parsed. */
typedef struct PgHaApiRequest
{
	PgHaApiMethod method;
	PgHaApiEndpoint endpoint;
	bool		wants_body;		/* GET */
	bool		has_max_lag;	/* ?lag= */
	int64_t		max_lag;		/* bytes */
	bool		has_replication_state;	/* ?replication_state= */
	char		replication_state[PGHA_SHORT_LEN];
	int			ntag_filters;	/* ?tag_<name>=<value> */
	PgHaApiTagFilter tag_filters[PGHA_API_MAX_TAG_FILTERS];
} PgHaApiRequest;

/*
 * The method: a token, one of those the API serves.  False with *resp
 * holding the answer (400, or 405 with an Allow header).
 */
extern bool pgha_api_parse_method(const char *method, PgHaApiMethod *out,
								  PgHaApiResponse *resp);

/*
 * The raw request URI (origin-form "/path?query" or absolute-form
 * "http://host/path?query", not yet percent-decoded): bounded, printable
 * ASCII, a fragment dropped.  Returns true with the decoded path in path
 * (pathlen bytes; one trailing slash dropped) and the raw query string in
 * *query and *query_len (NULL and 0 without one); false with *resp holding
 * the answer (400, 414; 404 for a path longer than any served).
 */
extern bool pgha_api_parse_target(const char *uri, char *path, size_t pathlen,
								  const char **query, size_t *query_len,
								  PgHaApiResponse *resp);

/*
 * The query string (key=value pairs separated by "&") into req's
 * parameters: ?lag=, ?replication_state=, ?tag_<name>=; the first
 * occurrence counts and others are ignored, as in Patroni.  False with
 * *resp holding the answer (400) on a bad one.
 */
extern bool pgha_api_parse_query(const char *query, size_t len,
								 PgHaApiRequest *req, PgHaApiResponse *resp);

/*
 * A size as Patroni's ?lag= takes it: bytes, or a number with a unit B,
 * kB, MB, GB, TB (1024-based, as PostgreSQL's memory units), blanks
 * allowed around.  False on anything else, negative values and overflow.
 */
extern bool pgha_api_parse_size(const char *s, int64_t *bytes);

/*
 * May this request write?  configured is pg_ha.api_auth ("user:password",
 * "" when unset), authorization the request's Authorization header (NULL
 * when absent), loopback whether the client connects from 127.0.0.0/8 or
 * ::1.  Unset: loopback clients only (403 otherwise).  Set: HTTP basic
 * auth with exactly those credentials, compared in constant time (401
 * otherwise).  Returns 0 when allowed, else the status with a message.
 */
extern int	pgha_api_check_auth(const char *configured, const char *authorization,
								bool loopback, char *msg, size_t msglen);

/*
 * A loopback address: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104.  ipversion
 * 4 (addr: 4 bytes, network order) or 6 (16 bytes); anything else: false.
 */
extern bool pgha_api_is_loopback(int ipversion, const unsigned char *addr);

/*
 * Does s start with prefix (given in lower case), ignoring the case of
 * ASCII letters only (the scheme of a URL, "Basic")?
 */
extern bool pgha_api_prefix_nocase(const char *s, const char *prefix);

#endif							/* PG_HA_API_REQUEST_H */
