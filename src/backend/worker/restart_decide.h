/*-------------------------------------------------------------------------
 *
 * restart_decide.h
 *	  What the HA worker does with this node's restart request
 *	  (restart/<member>) in a round, as a pure function.
 *
 * Inputs are plain values (the cluster as read, the node's clocks and
 * server, the phase); the output is one action with the words for the
 * log.  No I/O and no PostgreSQL calls: regress/unit/test_restart_decide.c
 * tests each branch.  restart.c gathers the inputs and carries it out.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_RESTART_DECIDE_H
#define PG_HA_RESTART_DECIDE_H

#include "cluster.h"
#include "phase.h"

#define HA_RESTART_MSG_LEN	(PGHA_ERR_LEN * 2)

typedef struct HaRestartInput
{
	const char *self;			/* this node's name */
	int64_t		now_ms;			/* monotonic: a restart on its way */
	int64_t		wall_ms;		/* epoch ms: a scheduled restart's time */
	int64_t		server_start_ms;	/* epoch ms: this server's start */
	bool		pending_restart;	/* a setting waits for a restart */
	bool		in_recovery;	/* a standby, as the order is checked */

	/*
	 * A standby may not restart below the hot standby values of the primary
	 * it has replayed (its control file).  Reading them is I/O: the decision
	 * asks for them (HA_RESTART_READ_CONTROL_FILE) when it needs them, and is
	 * taken again with primary_hs_read set; primary_hs_valid says whether
	 * the file's CRC was right (not: not judged by them).
	 */
	bool		primary_hs_read;
	bool		primary_hs_valid;
	int64_t		primary_hs[PGHA_HS_NPARAMS];
} HaRestartInput;

typedef enum HaRestartAction
{
	HA_RESTART_NONE,			/* no request of ours to act on this round */
	HA_RESTART_READ_CONTROL_FILE,	/* decide again with primary_hs */
	HA_RESTART_WAIT,			/* the order holds it back: why, hint */
	HA_RESTART_REMOVE_DONE,		/* a newer server runs: delete the request */
	HA_RESTART_REMOVE_MISSED,	/* the restart did not happen: delete it */
	HA_RESTART_REMOVE_NOT_PENDING,	/* pending only, nothing pending: delete */
	HA_RESTART_START			/* mark it restarting, then restart */
} HaRestartAction;

typedef struct HaRestartDecision
{
	HaRestartAction action;

	/*
	 * The restart on its way has not happened long after it was started (a
	 * restart_command that failed, pg_ctl that gave up): give it up first
	 * (HA_EV_RESTART_ENDED), so that the members waiting for this one are
	 * not held forever.  The action is decided as after it.
	 */
	bool		give_up;

	/* the order was checked and lets the restart start: a wait is over */
	bool		order_ok;
	const PgHaRestartRequest *request;	/* this node's, in the cluster */
	char		why[HA_RESTART_MSG_LEN];	/* HA_RESTART_WAIT */
	char		hint[HA_RESTART_MSG_LEN];	/* HA_RESTART_WAIT, may be "" */
} HaRestartDecision;

extern void ha_restart_decide(const HaRestartInput *in, const PgHaCluster *c,
							  const HaPhaseState *phase,
							  HaRestartDecision *out);

#endif							/* PG_HA_RESTART_DECIDE_H */
