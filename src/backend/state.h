/*-------------------------------------------------------------------------
 *
 * state.h
 *	  Shared memory of pg_ha: what the HA worker knows, for everyone else.
 *
 * The HA worker writes; backends (fencing checks, views) and the API
 * worker read.  The lease and the leader flag are atomics so that the
 * commit-time check takes no lock; the rest is under one LWLock.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_STATE_H
#define PG_HA_STATE_H

#include "port/atomics.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/timestamp.h"

#include "cluster.h"
#include "lease_clock.h"

typedef struct PgHaShared
{
	LWLock	   *lock;

	/* lock-free: read on every connection and every writing commit */
	pg_atomic_uint64 lease_expiry_ms;	/* pgha_monotonic_ms(), 0: no
										 * lease */
	pg_atomic_uint32 leader_confirmed;	/* worker saw the key as ours */

	/* under lock */
	pid_t		worker_pid;
	Latch	   *worker_latch;	/* set it to make the HA worker look now */
	pid_t		action_caller;	/* backend that asked this node to step
								 * down or restart: answered first */
	char		role[PGHA_SHORT_LEN];	/* leader, primary, replica,
										 * starting */
	bool		fenced;
	char		fence_reason[PGHA_ERR_LEN];
	char		last_action[PGHA_SHORT_LEN];
	char		last_reason[PGHA_ERR_LEN];
	char		last_error[PGHA_ERR_LEN];
	char		session[PGHA_SESSION_LEN];
	TimestampTz last_contact;	/* last complete round with Consul */
	TimestampTz last_round;		/* last round of the HA worker, Consul or not */
	int			ttl_ms;			/* timings in force in the worker */
	int			loop_wait_ms;
	int			retry_timeout_ms;

	bool		cluster_valid;
	TimestampTz cluster_as_of;
	PgHaCluster cluster;		/* last good read of the cluster's keys */
} PgHaShared;

extern PgHaShared *pgha_shared;

extern void pgha_shmem_request(void);
extern void pgha_shmem_startup(void);

/*
 * The clock of the lease and of every deadline compared with it: ms of
 * CLOCK_BOOTTIME (which counts a suspension), else CLOCK_MONOTONIC.  Never
 * compare its values with another clock's.
 */

/* May this node take writes right now?  No lock, safe anywhere. */
extern bool pgha_lease_held(void);

#endif							/* PG_HA_STATE_H */
