/*-------------------------------------------------------------------------
 *
 * wal_check.h
 *	  A standby's pg_wal holding a segment of a newer timeline that its
 *	  walreceiver began to stream and never finished.
 *
 * Frontend-safe (plain POSIX reads): linked into the extension and into
 * pg_ha_ctl, so that the HA worker (before a promotion) and the rejoin
 * (before a start) judge by the same rule.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_WAL_CHECK_H
#define PG_HA_WAL_CHECK_H

#include "access/xlogdefs.h"

#define PGHA_MAX_PARTIAL_SEGMENTS	8

/*
 * The segment files in <pgdata>/pg_wal, of a timeline above tli (at most
 * 64 above), for the segment that holds the byte before pos, that lack
 * that byte's page: zeros where the walreceiver never wrote, or an old
 * segment's pages in a recycled file.  PostgreSQL prefers the newest
 * timeline's file for a segment, reads the standby's last record from it
 * at a promotion or a start, and aborts ("invalid magic number").  Their
 * names (not paths) go into names; returns how many, at most
 * PGHA_MAX_PARTIAL_SEGMENTS.
 */
extern int	pgha_partial_newer_segments(const char *pgdata, TimeLineID tli,
										XLogRecPtr pos, int segsize,
										char (*names)[64]);

#endif							/* PG_HA_WAL_CHECK_H */
