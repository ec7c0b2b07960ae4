/*-------------------------------------------------------------------------
 *
 * api_metrics.h
 *	  GET /metrics: Prometheus text of the node's state.
 *
 * Pure: libc only, no PostgreSQL, no I/O.  What this file is not for: the
 * JSON documents (api_body.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_METRICS_H
#define PG_HA_API_METRICS_H

#include "api_response.h"
#include "api_snapshot.h"

/*
 * The metrics of s as resp's body (Patroni 3.0.2's names, then pg_ha's),
 * its status kept; a 500 when out of memory.
 */
extern void pgha_api_metrics_body(const PgHaApiSnapshot *s,
								  PgHaApiResponse *resp);

#endif							/* PG_HA_API_METRICS_H */
