/*-------------------------------------------------------------------------
 *
 * api_route.h
 *	  The REST API's answers as pure functions: request in, response out.
 *
 * The HA worker's REST API (api_collect.c) reads the node's state into a
 * PgHaApiSnapshot and hands it here with the method and the raw request
 * URI; api_route.c parses the request, looks its path up in the routing
 * table and dispatches it to the file of its concern:
 *
 *	api_request.h	method, URI, query string, basic auth
 *	api_snapshot.h	the node's state the answers read
 *	api_health.h	the health checks' status codes (200 or 503)
 *	api_body.h		Patroni's JSON documents
 *	api_metrics.h	/metrics
 *	api_write.h		the write requests' bodies and checks
 *	config_patch.h	the merge patch of PATCH /config (src/common)
 *	api_response.h	the answer handed back to the HTTP server
 *
 * All of them do no I/O and know nothing of PostgreSQL or of the HTTP
 * library: libc and jansson only, like src/common, so that every branch is
 * unit-tested alone (regress/unit/test_api_*.c) and fuzzed with hostile
 * requests.  This header includes them all: api_action.c does the I/O of the
 * write requests (Consul, the postmaster's SIGHUP, PostgreSQL's own check
 * of parameter values) with their functions.
 *
 * What these files are not for: reading shared memory, talking HTTP, or
 * changing anything.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_ROUTE_H
#define PG_HA_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "api_body.h"
#include "api_health.h"
#include "api_metrics.h"
#include "api_request.h"
#include "api_response.h"
#include "api_snapshot.h"
#include "api_write.h"
#include "cluster.h"
#include "config_patch.h"
#include "outcome.h"

/*
 * Parse method and raw request URI (origin-form "/path?query" or
 * absolute-form "http://host/path?query", not yet percent-decoded).
 * Returns true with *req filled, or false with *resp holding the error
 * answer (400, 404, 405, 414; or 500 when out of memory).
 */
extern bool pgha_api_parse_request(const char *method, const char *uri,
								   PgHaApiRequest *req, PgHaApiResponse *resp);

/* Does the answer to req need the walsenders in the snapshot? */
extern bool pgha_api_needs_replication(const PgHaApiRequest *req);

/* The answer to a parsed read request. */
extern void pgha_api_respond(const PgHaApiRequest *req,
							 const PgHaApiSnapshot *snap,
							 PgHaApiResponse *resp);

/* Both of the above.  snap may be NULL only for requests that fail to parse. */
extern void pgha_api_handle(const char *method, const char *uri,
							const PgHaApiSnapshot *snap,
							PgHaApiResponse *resp);

#endif							/* PG_HA_API_ROUTE_H */
