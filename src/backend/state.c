/*-------------------------------------------------------------------------
 *
 * state.c
 *	  Shared memory of pg_ha (see state.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "storage/ipc.h"
#include "storage/shmem.h"

#include "state.h"

PgHaShared *pgha_shared = NULL;

void
pgha_shmem_request(void)
{
	RequestAddinShmemSpace(MAXALIGN(sizeof(PgHaShared)));
	RequestNamedLWLockTranche("pg_ha", 1);
}

void
pgha_shmem_startup(void)
{
	bool		found;

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	pgha_shared = ShmemInitStruct("pg_ha", sizeof(PgHaShared), &found);
	if (!found)
	{
		memset(pgha_shared, 0, sizeof(PgHaShared));
		pgha_shared->lock = &(GetNamedLWLockTranche("pg_ha"))->lock;
		pg_atomic_init_u64(&pgha_shared->lease_expiry_ms, 0);
		pg_atomic_init_u32(&pgha_shared->leader_confirmed, 0);
		strlcpy(pgha_shared->role, "starting", sizeof(pgha_shared->role));
		pgha_shared->fenced = true;
		strlcpy(pgha_shared->fence_reason,
				"the HA worker has not confirmed the leader key yet",
				sizeof(pgha_shared->fence_reason));
	}
	LWLockRelease(AddinShmemInitLock);
}

/*
 * The lease clock, in ms.  CLOCK_BOOTTIME, not CLOCK_MONOTONIC: the latter
 * stops while the machine is suspended (a VM paused, a laptop asleep), so a
 * node waking up would find its lease still running though the others,
 * whose clocks went on, may have taken the key meanwhile.  CLOCK_BOOTTIME
 * counts the suspension, and like CLOCK_MONOTONIC it never jumps with the
 * wall clock.  Where it does not exist (not Linux, or a kernel before
 * 2.6.39) every process of the server falls back alike, so all values
 * compared with each other still come from one clock.  pg_ha_ctl release
 * stamps the leader key on the same clock (its now_ms()).
 */
int64
pgha_monotonic_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
pgha_lease_held(void)
{
	uint64		expiry;

	if (pgha_shared == NULL)
		return false;
	if (pg_atomic_read_u32(&pgha_shared->leader_confirmed) == 0)
		return false;
	expiry = pg_atomic_read_u64(&pgha_shared->lease_expiry_ms);
	return expiry != 0 && (uint64) pgha_monotonic_ms() < expiry;
}
