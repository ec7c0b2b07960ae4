/*-------------------------------------------------------------------------
 *
 * phase.h
 *	  The HA worker's phase: what it has set going on its own server and
 *	  waits to see through (a promotion, a WAL repair, a demotion, a
 *	  restart), as a state and its transitions, pure.
 *
 * The HA worker (ha_loop.c and the files of its round) tells each event
 * to ha_phase_next() and asks the phase what a round may do; it keeps no
 * flag of its own about work under way.  No I/O and no PostgreSQL calls:
 * regress/unit/test_phase.c tests each transition alone.
 *
 * Not here: what to do next (ha_decide.h) and whether a requested
 * restart may start (restart_decide.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_PHASE_H
#define PG_HA_PHASE_H

#include "cluster.h"
#include "ha_decide.h"

/*
 * A promotion has two things to see through once asked: the wait after
 * the round looks for the end of recovery (writes start when it ends, not
 * a loop_wait later), and the first round as leader takes an immediate
 * checkpoint and records the promotion in the history key.  Either may
 * come first: a round that gives the key up starts the next one at once.
 *
 * A demotion, a switchover and a reinitialize run the same detached
 * `pg_ha_ctl rejoin`, once per worker: the server stops as a standby and
 * the worker with it, so nothing leaves HA_PHASE_DEMOTING, and what a
 * promotion still owed is dropped.
 */
typedef enum HaPhase
{
	HA_PHASE_IDLE,				/* nothing of the worker's under way */
	HA_PHASE_PROMOTING,			/* promotion asked: neither seen through */
	HA_PHASE_PROMOTED,			/* waited for: the first round as leader
								 * checkpoints */
	HA_PHASE_PROMOTED_LEADING,	/* led before any wait: the wait that comes
								 * still looks for the end of recovery */
	HA_PHASE_REPAIRING_WAL,		/* `pg_ha_ctl rejoin` restarts this standby
								 * without a partial segment (wal_check.h) */
	HA_PHASE_DEMOTING			/* `pg_ha_ctl rejoin` restarts this server as
								 * a standby (demotion, switchover, reinit) */
} HaPhase;

typedef struct HaPhaseState
{
	HaPhase		phase;

	/*
	 * A requested restart of this server (restart/<member>) on its way
	 * since then (monotonic ms), 0 when none.  It runs beside any phase: a
	 * request is served in whatever round its order allows, a promotion or
	 * a WAL repair asked in that round goes on, and a demotion may follow
	 * it (the session is then kept, as for the restart).
	 */
	int64_t		restart_since_ms;

	/*
	 * The ID this node recorded in the promotion key for its promotion, 0
	 * when none; forgotten when the leader keeps the key itself.
	 */
	uint32_t	claimed_timeline;
} HaPhaseState;

typedef enum HaPhaseEvent
{
	HA_EV_PROMOTE_ASKED,		/* the postmaster was asked to promote */
	HA_EV_PROMOTE_WAITED,		/* a wait looked for the end of recovery */
	HA_EV_LED,					/* a round kept the leader key */
	HA_EV_WAL_REPAIR_STARTED,
	HA_EV_DEMOTION_STARTED,		/* demotion, switchover or reinitialize */
	HA_EV_RESTART_STARTED,		/* arg: now, monotonic ms */
	HA_EV_RESTART_ENDED,		/* could not start, or given up */
	HA_EV_TIMELINE_CLAIMED,		/* arg: the ID written to the promotion key */
	HA_EV_PROMOTION_KEY_KEPT	/* the leader keeps the promotion key */
} HaPhaseEvent;

/* A worker's phase at start: nothing under way. */
extern HaPhaseState ha_phase_initial(void);

/* The phase after event ev (arg as the event says, else ignored). */
extern HaPhaseState ha_phase_next(HaPhaseState s, HaPhaseEvent ev,
								  int64_t arg);

extern const char *ha_phase_name(HaPhase phase);

/* What a round that must promote (HA_PROMOTE) does, by the phase. */
typedef enum HaPromoteStep
{
	HA_PROMOTE_CHECK,			/* look at pg_wal, claim a timeline, ask */
	HA_PROMOTE_ASK_AGAIN,		/* asked already, the claim made for it */
	HA_PROMOTE_HOLD				/* the server is on its way down: no */
} HaPromoteStep;

extern HaPromoteStep ha_phase_promote_step(const HaPhaseState *s);

/* Does the first round as leader still owe its checkpoint (HA_EV_LED)? */
extern bool ha_phase_checkpoint_due(const HaPhaseState *s);

/* Does the next wait look for the end of recovery (HA_EV_PROMOTE_WAITED)? */
extern bool ha_phase_polls_promotion(const HaPhaseState *s);

/* May a demotion or switchover start (once per worker)? */
extern bool ha_phase_may_demote(const HaPhaseState *s);

/* Is a requested restart on its way? */
extern bool ha_phase_restarting(const HaPhaseState *s);

/*
 * The timeline this node claimed for a promotion in an earlier round, when
 * the promotion key c read still records it for self and PostgreSQL would
 * not go past it (next_tli): it is taken again without a new claim.  0: a
 * new claim is needed.
 */
extern uint32_t ha_phase_claim_reuse(const HaPhaseState *s,
									 const PgHaCluster *c, const char *self,
									 uint32_t next_tli);

/* How the stop of this server is told to the callbacks. */
typedef enum HaPhaseEnd
{
	HA_END_STOP,				/* a plain stop */
	HA_END_RESTART,				/* the requested restart */
	HA_END_DEMOTION				/* the rejoin as a standby */
} HaPhaseEnd;

extern HaPhaseEnd ha_phase_end(const HaPhaseState *s);

/*
 * At shutdown: a requested restart keeps the Consul session (the node is
 * back within ttl, still holding what it held).
 */
extern bool ha_phase_keeps_session(const HaPhaseState *s);

/* A reinitialize asked of this node (POST /reinitialize, pg_ha_reinit()). */
typedef enum HaReinitVerdict
{
	HA_REINIT_START,
	HA_REINIT_NO_LEADER,		/* no other leader to clone from */
	HA_REINIT_DEMOTING,			/* a demotion is on its way */
	HA_REINIT_RESTARTING		/* a restart is on its way */
} HaReinitVerdict;

extern HaReinitVerdict ha_phase_reinit(const HaPhaseState *s,
									   bool other_leader);

/*
 * While a reinitialize is on its way, the decisions that would make this
 * node lead (initialize, acquire, promote) become HA_NOTHING.  True when
 * d was changed.
 */
extern bool ha_reinit_holds(HaDecision *d);

/*
 * A key holder that cannot lead (actions.c, in the round after the
 * action): the time it has been so (since_ms, 0: not) goes on or ends, and
 * after a ttl it gives the key up.
 */
typedef enum HaUnfitVerdict
{
	HA_UNFIT_NONE,				/* fit, or no key: forget the time */
	HA_UNFIT_SINCE_NOW,			/* unfit from now on */
	HA_UNFIT_WAIT,				/* unfit for less than a ttl */
	HA_UNFIT_GIVE_UP			/* release the key, forget the time */
} HaUnfitVerdict;

extern HaUnfitVerdict ha_unfit_holder(bool key_ours, HaAction action,
									  int64_t since_ms, int64_t now_ms,
									  int ttl_ms);

#endif							/* PG_HA_PHASE_H */
