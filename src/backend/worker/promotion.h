/*-------------------------------------------------------------------------
 *
 * promotion.h
 *	  This node's promotion around PostgreSQL's, the leader's upkeep of
 *	  the promotion key, and where a timeline began (promotion.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_PROMOTION_H
#define PG_HA_PROMOTION_H

#include "ha_worker.h"

/*
 * Where timeline tli began, from this node's history file; 0 for timeline
 * 1 or when the file cannot be read.
 */
extern int64_t pgha_timeline_begin(uint32_t tli);

/* HA_PROMOTE: check, claim a timeline and ask, as the phase allows. */
extern void pgha_promote(HaWorker *w);

/* The leader keeps the promotion key at least at its own timeline. */
extern void pgha_step_promotion_key(HaWorker *w);

/* After a promotion: its entry in the history key. */
extern void pgha_append_history(HaWorker *w);

#endif							/* PG_HA_PROMOTION_H */
