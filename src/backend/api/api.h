/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The REST API (api.c): Patroni's health checks and status for HAProxy,
 *	  served by the HA worker from its own wait loop.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_H
#define PG_HA_API_H

/* Once, at the HA worker's start. */
extern void pgha_api_init(void);

/* Listen on pg_ha.api_listen, unless listening or a retry is not due. */
extern void pgha_api_start(void);

/*
 * Answer what is queued and stop listening (the HA worker exits next).
 * Clients waiting for the outcome of a switchover or failover are left to
 * processes that outlive the worker and answer them.
 */
extern void pgha_api_stop(void);

/* After a reload: take changed certificate files. */
extern void pgha_api_reload(void);

/*
 * Carry out the queued write requests and look for the outcomes clients
 * wait for; outside any MHD callback.
 */
extern void pgha_api_run_writes(void);

/* WaitLatch() that answers REST requests meanwhile. */
extern int	pgha_api_wait(int events, long timeout_ms, uint32 wait_event_info);

#endif							/* PG_HA_API_H */
