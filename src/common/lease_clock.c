/*-------------------------------------------------------------------------
 *
 * lease_clock.c
 *	  The lease clock: the one clock every deadline of the lease is read on,
 *	  by the HA worker, the backends' fencing checks and pg_ha_ctl release.
 *
 * CLOCK_BOOTTIME, not CLOCK_MONOTONIC: the latter stops while the machine
 * is suspended (a VM paused, a laptop asleep), so a node waking up would
 * find its lease still running though the others, whose clocks went on,
 * may have taken the key meanwhile.  CLOCK_BOOTTIME counts the suspension,
 * and like CLOCK_MONOTONIC it never jumps with the wall clock.  Where it
 * does not exist (not Linux, or a kernel before 2.6.39) every process
 * falls back alike, so all values compared with each other still come
 * from one clock.  Its values are never compared with another clock's.
 *
 * src/common/lease_clock.c
 *
 *-------------------------------------------------------------------------
 */
/* clock_gettime() and the POSIX clocks under -std=c99 (the unit tests) */
#if !defined(_POSIX_C_SOURCE) && !defined(_GNU_SOURCE)
#define _POSIX_C_SOURCE 200809L
#endif

#include "lease_clock.h"

#include <time.h>

int64_t
pgha_monotonic_ms(void)
{
	struct timespec ts;

#ifdef CLOCK_BOOTTIME
	if (clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
#endif
		clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}
