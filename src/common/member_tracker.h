/*-------------------------------------------------------------------------
 *
 * member_tracker.h
 *	  Which members stopped: a node's memory of the live members it read,
 *	  kept from one read of the cluster to the next, so that the leader
 *	  writes a stopped record in place of one that vanished.
 *
 * Pure C (libc only): the HA worker keeps a tracker (member_record.c),
 * the unit tests and fuzzers drive it with listings.  Writing the stopped
 * record is the worker's; its JSON is member.h's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_MEMBER_TRACKER_H
#define PG_HA_MEMBER_TRACKER_H

#include <stdbool.h>
#include <stdint.h>

#include "cluster_limits.h"
#include "member.h"

struct PgHaCluster;

/*
 * A member whose record vanished is "gone" until a stopped record for it
 * appears, it comes back, or forget_after_ms (monotonic) have passed.
 */
typedef struct PgHaSeenMember
{
	PgHaMember	last;			/* its last live record */
	int64_t		last_seen_ms;	/* epoch ms of the last read listing it */
	bool		gone;			/* absent, and no stopped record yet */
	int64_t		gone_since_ms;	/* monotonic ms: first read without it */
} PgHaSeenMember;

typedef struct PgHaMemberTracker
{
	int			n;
	PgHaSeenMember seen[PGHA_MAX_MEMBERS * 2];
} PgHaMemberTracker;

/*
 * Take one read of the cluster: remember every live member but self (at
 * wall time now_epoch_ms), and mark those that vanished.  Returns how
 * many members are gone without a stopped record, their indexes into
 * t->seen in due[] (room for PGHA_MAX_MEMBERS * 2).
 */
extern int	pgha_track_members(PgHaMemberTracker *t,
							   const struct PgHaCluster *c,
							   const char *self, int64_t now_ms,
							   int64_t now_epoch_ms, int64_t forget_after_ms,
							   int *due);

/* Forget the member name (its stopped record was written, or refused). */
extern void pgha_track_forget(PgHaMemberTracker *t, const char *name);

#endif							/* PG_HA_MEMBER_TRACKER_H */
