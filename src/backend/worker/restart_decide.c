/*-------------------------------------------------------------------------
 *
 * restart_decide.c
 *	  This node's restart request as a pure decision (see
 *	  restart_decide.h).
 *
 * This file decides; restart.c acts.  Keep it free of I/O, globals and
 * PostgreSQL calls: the unit tests link it alone.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "restart_decide.h"
#include "restart_order.h"

#if defined(__GNUC__)
static void wait_for_order(HaRestartDecision *out, const char *hint,
						   const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
#endif

static void
wait_for_order(HaRestartDecision *out, const char *hint, const char *fmt,...)
{
	va_list		ap;

	out->action = HA_RESTART_WAIT;
	va_start(ap, fmt);
	vsnprintf(out->why, sizeof(out->why), fmt, ap);
	va_end(ap);
	snprintf(out->hint, sizeof(out->hint), "%s", hint);
}

/*
 * May this node restart now without stopping a hot standby?  Its own order
 * (wait_for: the member before it in a restart of the whole cluster), the
 * cluster's order of hot standby values, and on a standby the values its
 * control file has from the primary (the last parameter change replayed),
 * which a standby must not go below.  Leaves out->action HA_RESTART_START
 * when it may.
 */
static void
check_order(const HaRestartInput *in, const PgHaCluster *c,
			const char *wait_for, HaRestartDecision *out)
{
	const char *self[1] = {in->self};
	const PgHaMember *me = pgha_find_member(c, in->self);

	if (wait_for[0] != '\0')
	{
		const PgHaMember *p = pgha_find_member(c, wait_for);
		bool		p_restarting = false;

		for (int i = 0; i < c->nrestarts; i++)
			p_restarting |= strcmp(c->restarts[i].member, wait_for) == 0;
		/* a member gone for good does not hold the others back */
		if (p != NULL && (p_restarting || strcmp(p->state, "running") != 0))
		{
			wait_for_order(out, "", "member \"%s\" restarts first", wait_for);
			return;
		}
	}
	if (!pgha_restart_order(c, self, 1, NULL, out->why, sizeof(out->why),
							out->hint, sizeof(out->hint)))
	{
		out->action = HA_RESTART_WAIT;
		return;
	}
	if (in->in_recovery && me != NULL && me->has_hs_values)
	{
		int64_t		target[PGHA_HS_NPARAMS];

		if (!in->primary_hs_read)
		{
			out->action = HA_RESTART_READ_CONTROL_FILE;
			return;
		}
		pgha_hs_targets(c, me->hs_values, target);
		for (int k = 0; in->primary_hs_valid && k < PGHA_HS_NPARAMS; k++)
			if (target[k] < in->primary_hs[k])
			{
				wait_for_order(out, "The leader restarts with the lower value first; this node follows once it has replayed that.",
							   "its %s would become %lld, below the %lld of the primary it has replayed so far",
							   pgha_hs_param_names[k], (long long) target[k],
							   (long long) in->primary_hs[k]);
				return;
			}
	}
	out->order_ok = true;
	out->action = HA_RESTART_START;
}

/*
 * A restart request for this node: started (marked with this server's
 * start time), then removed once the restarted server's worker sees it,
 * so that until then the others see this member restarting.
 */
void
ha_restart_decide(const HaRestartInput *in, const PgHaCluster *c,
				  const HaPhaseState *phase, HaRestartDecision *out)
{
	HaPhaseState after = *phase;

	memset(out, 0, sizeof(*out));
	out->action = HA_RESTART_NONE;

	if (ha_phase_restarting(phase) && phase->phase != HA_PHASE_DEMOTING &&
		in->now_ms - phase->restart_since_ms > PGHA_RESTART_GIVE_UP_MS)
	{
		out->give_up = true;
		after = ha_phase_next(after, HA_EV_RESTART_ENDED, 0);
	}
	if (ha_phase_restarting(&after) || after.phase == HA_PHASE_DEMOTING)
		return;

	for (int i = 0; i < c->nrestarts; i++)
	{
		const PgHaRestartRequest *r = &c->restarts[i];

		if (strcmp(r->member, in->self) != 0)
			continue;
		out->request = r;
		if (r->restarting != 0)
		{
			const PgHaMember *me = pgha_find_member(c, in->self);

			/*
			 * A restart was started: done when this is a newer server, once
			 * Consul has its record (a REST client waiting for the outcome
			 * judges by it, pgha_restart_outcome).
			 */
			if (r->restarting != in->server_start_ms && me != NULL &&
				me->start_ms != in->server_start_ms)
				return;
			out->action = r->restarting != in->server_start_ms ?
				HA_RESTART_REMOVE_DONE : HA_RESTART_REMOVE_MISSED;
			return;
		}
		if (r->scheduled && in->wall_ms < r->scheduled_ms)
			return;
		if (r->pending_only && !in->pending_restart)
		{
			out->action = HA_RESTART_REMOVE_NOT_PENDING;
			return;
		}
		if (r->any_order)
			out->action = HA_RESTART_START;
		else
			check_order(in, c, r->wait_for, out);
		return;
	}
}
