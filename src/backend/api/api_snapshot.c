/*-------------------------------------------------------------------------
 *
 * api_snapshot.c
 *	  The values api_collect.c computes while it fills in a PgHaApiSnapshot.
 *
 * A replica's lag behind its leader and PostgreSQL timestamps in Patroni's
 * spelling.  The calendar arithmetic is iso_time.c's (pgha_format_iso_time):
 * this file only respells its answer.
 *
 * Pure: libc only.  What this file is not for: reading the node's state
 * (api_collect.c).
 *
 *-------------------------------------------------------------------------
 */
#include "api_snapshot.h"
#include "iso_time.h"

#include <stdio.h>
#include <stdlib.h>

/* The Gregorian calendar repeats itself every 400 years: 146097 days. */
#define GREGORIAN_CYCLE_SECS	(INT64_C(146097) * 86400)

bool
pgha_api_replica_lag(bool has_optime, int64_t optime, int64_t latest_end,
					 int64_t replayed, int64_t *lag)
{
	int64_t		leader = 0;

	if (has_optime && optime > 0)
		leader = optime;
	if (latest_end > leader)
		leader = latest_end;
	if (leader <= 0)
		return false;
	*lag = (replayed >= leader) ? 0 : leader - (replayed > 0 ? replayed : 0);
	return true;
}

bool
pgha_api_format_time(int64_t epoch_us, char *buf, size_t len)
{
	int64_t		secs;
	int64_t		usec;
	int64_t		cycles = 0;
	int64_t		year;
	char		iso[PGHA_ISO_TIME_LEN];
	char		frac[16] = "";
	int			n;

	if (buf == NULL || len == 0)
		return false;
	buf[0] = '\0';
	/* floor division, for times before 1970 too */
	secs = epoch_us / 1000000;
	usec = epoch_us % 1000000;
	if (usec < 0)
	{
		usec += 1000000;
		secs -= 1;
	}

	/*
	 * pgha_format_iso_time() starts in 1970: an earlier time is formatted
	 * whole 400-year cycles later, on the same day of the calendar, and its
	 * year set back.
	 */
	if (secs < 0)
	{
		cycles = (-secs + GREGORIAN_CYCLE_SECS - 1) / GREGORIAN_CYCLE_SECS;
		secs += cycles * GREGORIAN_CYCLE_SECS;
	}
	/* "YYYY-MM-DDTHH:MM:SS.mmm+00:00", the year from 1970 to 9999 */
	if (!pgha_format_iso_time(secs * 1000, iso, sizeof(iso)))
		return false;
	year = strtol(iso, NULL, 10) - 400 * cycles;
	if (year < 1)
		return false;
	if (usec != 0)
		snprintf(frac, sizeof(frac), ".%06d", (int) usec);
	n = snprintf(buf, len, "%04d-%.5s %.8s%s+00:00",
				 (int) year, iso + 5, iso + 11, frac);
	if (n < 0 || (size_t) n >= len)
	{
		buf[0] = '\0';
		return false;
	}
	return true;
}
