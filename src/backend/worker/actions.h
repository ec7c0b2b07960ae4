/*-------------------------------------------------------------------------
 *
 * actions.h
 *	  What the HA worker does for the action of its round (actions.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_ACTIONS_H
#define PG_HA_ACTIONS_H

#include "ha_worker.h"

/*
 * A reinitialize asked of this node started when it may, before the
 * action; while one runs, d no longer makes this node lead.
 */
extern void pgha_do_reinit(HaWorker *w, HaDecision *d);

/* Carry out the round's decision. */
extern void pgha_act(HaWorker *w, const HaDecision *d,
					 const HaLocalState *local);

/* After the action: a key holder that could not lead for a ttl lets go. */
extern void pgha_give_up_key_if_unfit(HaWorker *w, const HaDecision *d);

/*
 * The session that asked this node to step down or restart gets its
 * answer first: wait until it runs no statement, for at most a second.
 */
extern void pgha_let_caller_finish(void);

#endif							/* PG_HA_ACTIONS_H */
