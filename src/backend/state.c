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
