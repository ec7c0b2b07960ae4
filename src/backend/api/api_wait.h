/*-------------------------------------------------------------------------
 *
 * api_wait.h
 *	  The REST requests that wait for their outcome (api_wait.c): an
 *	  immediate switchover, failover or restart, answered once the new
 *	  leader or the restarted server is there, as Patroni answers them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_WAIT_H
#define PG_HA_API_WAIT_H

#include "api_conn.h"

/* ctx, suspended, waits for the outcome its ctx->wait describes. */
extern void pgha_api_waits_add(ApiRequestCtx *ctx);

/* ctx no longer waits (its connection ended). */
extern void pgha_api_waits_remove(ApiRequestCtx *ctx);

/* Is a look at the cluster due for some wait? */
extern bool pgha_api_waits_due(void);

/*
 * The waits past their time, answered without asking Consul: wherever the
 * REST API is served.  True when one was answered.
 */
extern bool pgha_api_waits_expire(void);

/*
 * Look at the cluster once for the waits whose second has come and answer
 * those that have an outcome.  Outside any MHD callback.  True when one
 * was answered.
 */
extern bool pgha_api_waits_poll(void);

/*
 * The HA worker exits: each waiting connection is left to a process of its
 * own that outlives the server (a waiter).  True when one was: the daemon
 * must then not close its connections.
 */
extern bool pgha_api_waits_hand_over(void);

/* Answer every wait left as unknown. */
extern void pgha_api_waits_end(void);

#endif							/* PG_HA_API_WAIT_H */
