/*-------------------------------------------------------------------------
 *
 * phase.c
 *	  The HA worker's phase and its transitions, pure (see phase.h).
 *
 * This file says what a phase becomes and what it allows; it starts
 * nothing.  The worker's files carry out the work and report the events.
 * Keep it free of I/O, globals and PostgreSQL calls: the unit tests link
 * it alone.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "phase.h"

HaPhaseState
ha_phase_initial(void)
{
	HaPhaseState s;

	memset(&s, 0, sizeof(s));
	s.phase = HA_PHASE_IDLE;
	return s;
}

/* The promotion's part of a transition: the phase alone. */
static HaPhase
next_phase(HaPhase p, HaPhaseEvent ev)
{
	/* the server stops as a standby: nothing comes after */
	if (p == HA_PHASE_DEMOTING || ev == HA_EV_DEMOTION_STARTED)
		return HA_PHASE_DEMOTING;

	switch (ev)
	{
		case HA_EV_PROMOTE_ASKED:
			/* never asked while the WAL is repaired (HA_PROMOTE_HOLD) */
			return p == HA_PHASE_REPAIRING_WAL ? p : HA_PHASE_PROMOTING;
		case HA_EV_PROMOTE_WAITED:
			if (p == HA_PHASE_PROMOTING)
				return HA_PHASE_PROMOTED;
			if (p == HA_PHASE_PROMOTED_LEADING)
				return HA_PHASE_IDLE;
			return p;
		case HA_EV_LED:
			if (p == HA_PHASE_PROMOTING)
				return HA_PHASE_PROMOTED_LEADING;
			if (p == HA_PHASE_PROMOTED)
				return HA_PHASE_IDLE;
			return p;
		case HA_EV_WAL_REPAIR_STARTED:
			/* only a promotion not yet asked checks the WAL */
			return p == HA_PHASE_IDLE ? HA_PHASE_REPAIRING_WAL : p;
		default:
			return p;
	}
}

HaPhaseState
ha_phase_next(HaPhaseState s, HaPhaseEvent ev, int64_t arg)
{
	s.phase = next_phase(s.phase, ev);
	switch (ev)
	{
		case HA_EV_RESTART_STARTED:
			s.restart_since_ms = arg;
			break;
		case HA_EV_RESTART_ENDED:
			s.restart_since_ms = 0;
			break;
		case HA_EV_TIMELINE_CLAIMED:
			s.claimed_timeline = (uint32_t) arg;
			break;
		case HA_EV_PROMOTION_KEY_KEPT:
			s.claimed_timeline = 0;
			break;
		default:
			break;
	}
	return s;
}

const char *
ha_phase_name(HaPhase phase)
{
	switch (phase)
	{
		case HA_PHASE_IDLE:
			return "idle";
		case HA_PHASE_PROMOTING:
			return "promoting";
		case HA_PHASE_PROMOTED:
			return "promoted";
		case HA_PHASE_PROMOTED_LEADING:
			return "promoted, leading";
		case HA_PHASE_REPAIRING_WAL:
			return "repairing WAL";
		case HA_PHASE_DEMOTING:
			return "demoting";
	}
	return "unknown";
}

HaPromoteStep
ha_phase_promote_step(const HaPhaseState *s)
{
	switch (s->phase)
	{
		case HA_PHASE_IDLE:
			return HA_PROMOTE_CHECK;
		case HA_PHASE_PROMOTING:
		case HA_PHASE_PROMOTED:
		case HA_PHASE_PROMOTED_LEADING:
			return HA_PROMOTE_ASK_AGAIN;
		case HA_PHASE_REPAIRING_WAL:
		case HA_PHASE_DEMOTING:
			break;
	}
	return HA_PROMOTE_HOLD;
}

bool
ha_phase_checkpoint_due(const HaPhaseState *s)
{
	return s->phase == HA_PHASE_PROMOTING || s->phase == HA_PHASE_PROMOTED;
}

bool
ha_phase_polls_promotion(const HaPhaseState *s)
{
	return s->phase == HA_PHASE_PROMOTING ||
		s->phase == HA_PHASE_PROMOTED_LEADING;
}

bool
ha_phase_may_demote(const HaPhaseState *s)
{
	return s->phase != HA_PHASE_DEMOTING;
}

bool
ha_phase_restarting(const HaPhaseState *s)
{
	return s->restart_since_ms != 0;
}

uint32_t
ha_phase_claim_reuse(const HaPhaseState *s, const PgHaCluster *c,
					 const char *self, uint32_t next_tli)
{
	if (s->claimed_timeline != 0 && c->has_promotion &&
		c->promotion_timeline == s->claimed_timeline &&
		strcmp(c->promotion_member, self) == 0 &&
		s->claimed_timeline >= next_tli)
		return s->claimed_timeline;
	return 0;
}

HaPhaseEnd
ha_phase_end(const HaPhaseState *s)
{
	if (s->phase == HA_PHASE_DEMOTING)
		return HA_END_DEMOTION;
	if (ha_phase_restarting(s))
		return HA_END_RESTART;
	return HA_END_STOP;
}

bool
ha_phase_keeps_session(const HaPhaseState *s)
{
	return ha_phase_restarting(s);
}

HaReinitVerdict
ha_phase_reinit(const HaPhaseState *s, bool other_leader)
{
	if (!other_leader)
		return HA_REINIT_NO_LEADER;
	/* what stops the server already: named as its stop is told */
	switch (ha_phase_end(s))
	{
		case HA_END_DEMOTION:
			return HA_REINIT_DEMOTING;
		case HA_END_RESTART:
			return HA_REINIT_RESTARTING;
		case HA_END_STOP:
			break;
	}
	return HA_REINIT_START;
}

bool
ha_reinit_holds(HaDecision *d)
{
	if (d->action != HA_ACQUIRE && d->action != HA_PROMOTE &&
		d->action != HA_INITIALIZE)
		return false;
	d->action = HA_NOTHING;
	snprintf(d->reason, sizeof(d->reason), "this node is being reinitialized");
	return true;
}

HaUnfitVerdict
ha_unfit_holder(bool key_ours, HaAction action, int64_t since_ms,
				int64_t now_ms, int ttl_ms)
{
	/* leading, or about to write the initialize key again as the leader */
	if (!key_ours || action == HA_KEEP_LEADER ||
		action == HA_CLEAR_FAILOVER || action == HA_INITIALIZE)
		return HA_UNFIT_NONE;
	if (since_ms == 0)
		return HA_UNFIT_SINCE_NOW;
	if (now_ms - since_ms < ttl_ms)
		return HA_UNFIT_WAIT;
	return HA_UNFIT_GIVE_UP;
}
