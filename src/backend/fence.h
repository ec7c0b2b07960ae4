/*-------------------------------------------------------------------------
 *
 * fence.h
 *	  Fencing (fence.c): the guards that keep a primary without the leader
 *	  lease from taking writes, and the HA worker's means of ending the
 *	  client sessions already open.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_FENCE_H
#define PG_HA_FENCE_H

/* Install the guards (_PG_init, in the postmaster). */
extern void pgha_fence_init(void);

/* End the client sessions open now; returns how many were signalled. */
extern int	pgha_terminate_client_backends(void);

/* Is the backend with this pid running a statement (not idle, not gone)? */
extern bool pgha_backend_running(pid_t pid);

/*
 * A dead postmaster's orphans: kill every client backend and wait until
 * each has ended; false when one survived timeout_ms.
 */
extern bool pgha_kill_client_backends(int timeout_ms);

#endif							/* PG_HA_FENCE_H */
