/*-------------------------------------------------------------------------
 *
 * api_health.h
 *	  Which health check answers 200 and which 503, for which node.
 *
 * The status codes HAProxy routes by (Patroni 3.0.2's, with pg_ha's
 * stricter primary), the liveness and readiness probes, and the judgments
 * of the node's state that the bodies and /metrics report too.
 *
 * Pure: libc and jansson, no PostgreSQL, no I/O.  What this file is not
 * for: building bodies (api_body.c, api_metrics.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_HEALTH_H
#define PG_HA_API_HEALTH_H

#include <stdbool.h>

#include "api_request.h"
#include "api_snapshot.h"

struct json_t;					/* jansson's; its header stays out of api.c */

/*
 * The status code of a health check (PGHA_EP_PRIMARY up to
 * PGHA_EP_HEALTH): 200 or 503, the request's filters applied.
 */
extern int	pgha_api_health_status(const PgHaApiRequest *req,
								   const PgHaApiSnapshot *s);

/* /liveness: has the HA loop run lately (Patroni's rule)? */
extern bool pgha_api_liveness_ok(const PgHaApiSnapshot *s);

/* /readiness: the leader, or a streaming replica within ?lag=. */
extern bool pgha_api_readiness_ok(const PgHaApiRequest *req,
								  const PgHaApiSnapshot *s);

/* Would a client be sent here for writes? */
extern bool pgha_api_primary_ok(const PgHaApiSnapshot *s);

/*
 * A replica named synchronous standby in the sync key of the current
 * leader, synchronous mode on (Patroni's "sync_standby": true).
 */
extern bool pgha_api_sync_standby(const PgHaApiSnapshot *s);

/* Is the cluster in maintenance mode, as last read? */
extern bool pgha_api_is_paused(const PgHaApiSnapshot *s);

/*
 * The node's own tags (Patroni's patroni.tags): from the snapshot when the
 * caller put them there, else from the node's member record as last read
 * (at most a round old); nofailover from the setting either way.  A new
 * JSON object, or NULL when out of memory.
 */
extern struct json_t *pgha_api_node_tags(const PgHaApiSnapshot *s);

#endif							/* PG_HA_API_HEALTH_H */
