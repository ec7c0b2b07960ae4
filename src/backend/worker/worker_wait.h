/*-------------------------------------------------------------------------
 *
 * worker_wait.h
 *	  The HA worker's wait: WaitLatch() that keeps answering the REST API
 *	  (health checks above all) while it waits.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_WORKER_WAIT_H
#define PG_HA_WORKER_WAIT_H

/*
 * WaitLatch(), serving the REST API meanwhile.  events: WL_LATCH_SET (on
 * MyLatch), WL_TIMEOUT, WL_EXIT_ON_PM_DEATH or WL_POSTMASTER_DEATH.
 * Returns the event that ended the wait, as WaitLatch() does; a write
 * request for the HA worker ends it as its latch would.
 */
extern int	pgha_worker_wait(int events, long timeout_ms, uint32 wait_event_info);

#endif							/* PG_HA_WORKER_WAIT_H */
