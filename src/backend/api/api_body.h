/*-------------------------------------------------------------------------
 *
 * api_body.h
 *	  The REST API's JSON documents: /patroni and the health checks' body,
 *	  /cluster, GET /config.
 *
 * Patroni 3.0.2's documents, key for key and in its order, built from a
 * snapshot of the node.
 *
 * Pure: libc and jansson, no PostgreSQL, no I/O.  What this file is not
 * for: status codes of the health checks (api_health.c), /metrics
 * (api_metrics.c), the write endpoints' answers (api_write.c,
 * api_action.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_BODY_H
#define PG_HA_API_BODY_H

#include <stdbool.h>

#include "api_response.h"
#include "api_snapshot.h"

/*
 * The status document (Patroni's get_postgresql_status()) as resp's body,
 * its status kept.  False when out of memory, resp untouched: a health
 * check then sends its status alone, /patroni a 500.
 */
extern bool pgha_api_status_body(const PgHaApiSnapshot *s,
								 PgHaApiResponse *resp);

/*
 * /cluster (Patroni's cluster_as_json()): status, and the body when body;
 * 503 while the cluster has not been read from Consul.
 */
extern void pgha_api_cluster_document(const PgHaApiSnapshot *s, bool body,
									  PgHaApiResponse *resp);

/*
 * GET /config: the config key as last read from Consul, status and (when
 * body) the body; 503 without a usable one.
 */
extern void pgha_api_config_document(const PgHaApiSnapshot *s, bool body,
									 PgHaApiResponse *resp);

#endif							/* PG_HA_API_BODY_H */
