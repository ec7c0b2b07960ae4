/*-------------------------------------------------------------------------
 *
 * lease_clock.h
 *	  The lease clock, in ms (lease_clock.c): CLOCK_BOOTTIME, else
 *	  CLOCK_MONOTONIC.  Pure C, libc only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_LEASE_CLOCK_H
#define PG_HA_LEASE_CLOCK_H

#include <stdint.h>

extern int64_t pgha_monotonic_ms(void);

#endif							/* PG_HA_LEASE_CLOCK_H */
