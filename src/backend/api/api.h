/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The REST API (api.c): Patroni's health checks and status for HAProxy,
 *	  served by the HA worker, which starts and stops it and serves it from
 *	  its own waits (worker_wait.c).
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

/*
 * For the HA worker's waits (worker_wait.c): the descriptor that becomes
 * readable when there is something to serve (-1 while not listening), the
 * longest the server may go unserved, and its turn: accept, read, answer
 * what is pending.  pgha_api_serve_pending() returns true when a write
 * request waits for pgha_api_run_writes().
 */
extern int	pgha_api_socket(void);
extern long pgha_api_timeout_ms(void);
extern bool pgha_api_serve_pending(void);

#endif							/* PG_HA_API_H */
