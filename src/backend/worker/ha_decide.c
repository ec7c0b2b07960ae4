/*-------------------------------------------------------------------------
 *
 * ha_decide.c
 *	  The HA decision as a pure function (see ha_decide.h).
 *
 * This file decides; it does not act.  ha_loop.c gathers the inputs and
 * actions.c carries out the action.  Keep it free of I/O, globals and
 * PostgreSQL calls: the unit tests link it alone.
 *
 *-------------------------------------------------------------------------
 */
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "ha_decide.h"
#include "config_key.h"
#include "consul_parse.h"
#include "history.h"
#include "leader_key.h"
#include "member.h"
#include "sync_key.h"

#if defined(__GNUC__)
static void set_decision(HaDecision *out, HaAction action, const char *fmt,...)
			__attribute__((format(printf, 3, 4)));
#endif

static void
set_decision(HaDecision *out, HaAction action, const char *fmt,...)
{
	va_list		ap;

	out->action = action;
	out->recheck_soon = false;
	out->target[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(out->reason, sizeof(out->reason), fmt, ap);
	va_end(ap);
}

static bool
lease_valid(const HaLocalState *local)
{
	return local->lease_expiry_ms > 0 && local->now_ms < local->lease_expiry_ms;
}

/* Do we hold the leader key?  The session, not the value, says so. */
static bool
holds_leader_key(const HaLocalState *local, const PgHaCluster *cluster)
{
	return local->has_session && cluster->has_leader &&
		cluster->leader_session[0] != '\0' &&
		strcmp(cluster->leader_session, local->session) == 0;
}

/* A member that could take over: a running replica not tagged nofailover. */
static bool
eligible_replica(const PgHaMember *m)
{
	return strcmp(m->state, "running") == 0 && strcmp(m->role, "replica") == 0 &&
		!m->nofailover;
}

/* Our own failover priority: 1 unless set; 0 when tagged nofailover. */
static int
local_priority(const HaLocalState *local)
{
	if (local->nofailover)
		return 0;
	return local->has_failover_priority ? local->failover_priority : 1;
}

/*
 * Is WAL position (tl_a, a) past (tl_b, b)?  A later timeline is ahead
 * whatever its LSN: WAL of an older timeline past its end was abandoned at
 * a promotion.  An unknown timeline (0) compares by LSN alone.
 */
static bool
position_ahead(uint32_t tl_a, int64_t a, uint32_t tl_b, int64_t b)
{
	if (tl_a != 0 && tl_b != 0 && tl_a != tl_b)
		return tl_a > tl_b;
	return a > b;
}

/*
 * Has this node's WAL gone past the end of its timeline, as the cluster's
 * history records it?  Then it holds WAL no newer leader has (the tail an
 * old leader wrote after the promotion of another node), and it must be
 * rewound before it may follow or take over.
 */
static bool
diverged(const HaLocalState *local, const PgHaCluster *cluster, int64_t *end)
{
	PgHaHistoryEntry *h;
	int			n;
	int			below = -1;
	bool		result = false;

	if (!local->has_xlog || local->timeline == 0 || cluster->history_json[0] == '\0')
		return false;
	h = malloc(sizeof(PgHaHistoryEntry) * PGHA_MAX_HISTORY);
	if (h == NULL)
		return false;
	n = pgha_parse_history(cluster->history_json, h, PGHA_MAX_HISTORY, NULL, 0);
	for (int i = 0; i < n; i++)
	{
		/* Patroni's rows: [old timeline, LSN where the next one began, ...] */
		/*
		 * Replayed, not received: WAL received past the switch point but not
		 * replayed is dropped when the standby follows the new timeline.
		 */
		if (h[i].timeline == local->timeline && local->replayed_position > h[i].lsn)
		{
			*end = h[i].lsn;
			result = true;
			break;
		}
		if (h[i].timeline < local->timeline &&
			(below < 0 || h[i].timeline > h[below].timeline))
			below = i;
	}

	/*
	 * Our timeline by number, begun elsewhere.  The cluster's timeline
	 * after row "below" began at its LSN; ours began at timeline_begin.
	 * Two nodes promoted from the same timeline can take the same next ID
	 * (one frozen during its promotion while the other took over): same
	 * number, two histories.  And IDs may be skipped (timeline.c): an ID
	 * between two rows of the history is no timeline of the cluster's.
	 */
	if (!result && below >= 0 && local->timeline_begin > 0)
	{
		const PgHaMember *leader = cluster->has_leader ?
			pgha_find_member(cluster, cluster->leader) : NULL;
		bool		skipped = false;
		int			last = 0;

		for (int i = 0; i < n; i++)
		{
			if (h[i].timeline > local->timeline)
				skipped = true;
			if (h[i].timeline > h[last].timeline)
				last = i;
		}

		/*
		 * The newest row written by the leader itself records the timeline
		 * its own began from: every ID between is no timeline of the
		 * cluster's.  (A row not written yet proves nothing.)
		 */
		if (leader != NULL && h[last].timeline < local->timeline &&
			local->timeline < leader->timeline &&
			strcmp(h[last].leader, cluster->leader) == 0)
			skipped = true;
		for (int i = 0; i < n; i++)
			if (h[i].timeline == local->timeline)
				skipped = false;
		if (skipped || h[below].lsn != local->timeline_begin)
		{
			*end = h[below].lsn < local->timeline_begin ?
				h[below].lsn : local->timeline_begin;
			result = true;
		}
	}
	free(h);
	return result;
}

/*
 * How long a version of the leader key lives: never less than the ttl its
 * holder counted its lease with (in the key's Flags, or, for a key gone,
 * the longest this node saw), should ours have been lowered since.
 */
static int
leader_ttl(const HaLocalState *local, const PgHaCluster *cluster,
		   const HaConfig *config, bool present)
{
	int			ttl = config->ttl_ms;

	if (present && cluster->leader_ttl_ms > ttl)
		ttl = cluster->leader_ttl_ms;
	if (local->leader_ttl_seen_ms > ttl)
		ttl = local->leader_ttl_seen_ms;
	return ttl;
}

/*
 * A running replica that may take over and has more WAL than this node:
 * a stale primary (restarted while the key was free) must not take the
 * key from under it.
 */
static const PgHaMember *
replica_ahead(const HaLocalState *local, const PgHaCluster *cluster,
			  const HaConfig *config)
{
	if (!local->has_xlog)
		return NULL;
	for (int i = 0; i < cluster->nmembers; i++)
	{
		const PgHaMember *m = &cluster->members[i];

		if (strcmp(m->name, config->node_name) != 0 && eligible_replica(m) &&
			m->has_xlog &&
			position_ahead(m->timeline, m->xlog_location, local->timeline,
						   local->xlog_position) &&
			(!pgha_sync_active(cluster) || pgha_sync_is_standby(cluster, m->name)))
			return m;
	}
	return NULL;
}

/*
 * Is the replica close enough to the leader (us) to take over without
 * losing what we have: on our timeline, within maximum_lag_on_failover?
 * Its position is what our walsender saw it flush, when it streams from
 * us (on our timeline by definition), else the one it last published,
 * which can be a loop_wait old.
 */
static bool
caught_up(const HaLocalState *local, const PgHaCluster *cluster,
		  const PgHaMember *m)
{
	int64_t		pos = m->has_xlog ? m->xlog_location : -1;
	bool		streams = false;

	for (int i = 0; i < local->nstandbys; i++)
	{
		const HaSyncCandidate *s = &local->standbys[i];

		if (s->streaming && strcmp(s->name, m->name) == 0)
		{
			streams = true;
			if (s->flush > pos)
				pos = s->flush;
		}
	}
	if (pos < 0 || (!streams && local->timeline != 0 && m->timeline != local->timeline))
		return false;
	return !local->has_xlog ||
		local->xlog_position - pos <= cluster->max_lag_on_failover;
}

/*
 * For a switchover to any replica: is m a better candidate than best?
 * Further ahead; as far, a higher failover priority (as a failover would
 * choose).
 */
static bool
better_candidate(const PgHaMember *m, const PgHaMember *best)
{
	if (!m->has_xlog)
		return false;
	if (!best->has_xlog || m->xlog_location > best->xlog_location)
		return true;
	return m->xlog_location == best->xlog_location &&
		pgha_member_failover_priority(m) > pgha_member_failover_priority(best);
}

/*
 * The leader and a switchover/failover request (the failover key): step
 * down for the candidate, wait for its time, or drop a request that is
 * done or cannot be carried out.  False when the request is not for us.
 */
static bool
decide_switchover(const HaLocalState *local, const PgHaCluster *cluster,
				  const HaConfig *config, HaDecision *out)
{
	const PgHaMember *best = NULL;

	if (!cluster->has_failover)
		return false;
	if (cluster->failover_member[0] != '\0' &&
		strcmp(cluster->failover_member, config->node_name) == 0)
	{
		set_decision(out, HA_CLEAR_FAILOVER,
					 "switchover to this node is done");
		return true;
	}
	if (cluster->failover_leader[0] != '\0' &&
		strcmp(cluster->failover_leader, config->node_name) != 0)
	{
		set_decision(out, HA_CLEAR_FAILOVER,
					 "the request names leader \"%s\", not this node",
					 cluster->failover_leader);
		return true;
	}
	if (cluster->failover_scheduled && local->wall_ms < cluster->failover_scheduled_ms)
	{
		set_decision(out, HA_KEEP_LEADER,
					 "this node holds the leader key; a switchover is scheduled in %lld s",
					 (long long) ((cluster->failover_scheduled_ms - local->wall_ms + 999) / 1000));
		return true;
	}
	/* synchronous mode: only a synchronous standby has every commit */
	if (pgha_sync_active(cluster) && cluster->failover_member[0] != '\0' &&
		!pgha_sync_is_standby(cluster, cluster->failover_member))
	{
		set_decision(out, HA_CLEAR_FAILOVER,
					 "switchover candidate \"%s\" is not the synchronous standby",
					 cluster->failover_member);
		return true;
	}
	for (int i = 0; i < cluster->nmembers; i++)
	{
		const PgHaMember *m = &cluster->members[i];

		if (strcmp(m->name, config->node_name) == 0 || !eligible_replica(m))
			continue;
		if (pgha_sync_active(cluster) && !pgha_sync_is_standby(cluster, m->name))
			continue;
		if (cluster->failover_member[0] != '\0')
		{
			if (strcmp(m->name, cluster->failover_member) == 0)
				best = m;
		}
		else if (best == NULL || better_candidate(m, best))
			best = m;
	}
	if (best != NULL && !caught_up(local, cluster, best))
	{
		/* not an error: it will catch up (or the operator cancels) */
		set_decision(out, HA_KEEP_LEADER,
					 "this node holds the leader key; switchover candidate \"%s\" has not caught up yet",
					 best->name);
		out->recheck_soon = true;
		return true;
	}
	if (best == NULL)
	{
		if (cluster->failover_member[0] != '\0')
			set_decision(out, HA_CLEAR_FAILOVER,
						 "switchover candidate \"%s\" is not a running replica that may take over",
						 cluster->failover_member);
		else if (pgha_sync_active(cluster))
			set_decision(out, HA_CLEAR_FAILOVER,
						 "no synchronous standby may take over: switchover cancelled");
		else
			set_decision(out, HA_CLEAR_FAILOVER,
						 "no running replica may take over: switchover cancelled");
		return true;
	}
	if (cluster->failover_member[0] != '\0')
		set_decision(out, HA_SWITCHOVER, "switchover to \"%s\"", best->name);
	else
		set_decision(out, HA_SWITCHOVER,
					 "switchover to any replica; the most advanced is \"%s\"",
					 best->name);
	snprintf(out->target, sizeof(out->target), "%s", best->name);
	return true;
}

/*
 * Synchronous mode (Patroni's rule): only the members named in the sync key,
 * its synchronous standbys and the leader that wrote it, are sure to have
 * every acknowledged commit, so only they may take over automatically.  A
 * sync key that exists but cannot be read lets nobody take over.  True,
 * with the decision set, when this node may not.
 */
static bool
sync_mode_refuses(const PgHaCluster *cluster, const HaConfig *config,
				  HaDecision *out, const char *what, HaAction action)
{
	if (!cluster->sync_mode)
		return false;
	if (cluster->sync_key_exists && !cluster->has_sync)
	{
		set_decision(out, action,
					 "%s; synchronous mode: the sync key cannot be read, nobody takes over automatically",
					 what);
		return true;
	}
	if (!pgha_sync_active(cluster) || pgha_sync_matches(cluster, config->node_name))
		return false;
	if (cluster->nsync > 0)
		set_decision(out, action,
					 "%s; synchronous mode: only the synchronous standby \"%s\" or the last leader \"%s\" may take over",
					 what, cluster->sync_standby[0], cluster->sync_leader);
	else
		set_decision(out, action,
					 "%s; synchronous mode: no synchronous standby, only the last leader \"%s\" may take over",
					 what, cluster->sync_leader);
	return true;
}

/*
 * A replica sees no leader: may it take over?  Only the healthiest one
 * does (invariant 5): not tagged nofailover, not paused, its position
 * within maximum_lag_on_failover of the last known leader position, and
 * no other eligible member ahead of it.  Among members as far ahead, one
 * with a higher failover_priority goes first; other ties are broken by
 * Consul's lock.
 */
static void
decide_takeover(const HaLocalState *local, const PgHaCluster *cluster,
				const HaConfig *config, HaDecision *out)
{
	/*
	 * A switchover or failover request names who takes over.  In synchronous
	 * mode a switchover (the request names the old leader) goes only to a
	 * member of the sync key; a failover without a leader goes to whom the
	 * operator named, as Patroni does: that was their call.
	 */
	int64_t		end;
	bool		sync_refused = cluster->has_failover &&
		cluster->failover_leader[0] != '\0' && pgha_sync_active(cluster) &&
		!pgha_sync_matches(cluster, cluster->failover_member);

	if (cluster->has_failover && cluster->failover_member[0] != '\0' && !sync_refused)
	{
		const PgHaMember *cand = pgha_find_member(cluster, cluster->failover_member);

		if (strcmp(cluster->failover_member, config->node_name) == 0)
		{
			set_decision(out, HA_ACQUIRE,
						 "no leader; this node is the switchover candidate: taking over");
			return;
		}
		if (cand != NULL && strcmp(cand->state, "running") == 0)
		{
			set_decision(out, HA_NOTHING,
						 "no leader; waiting for switchover candidate \"%s\" to take over",
						 cand->name);
			return;
		}
		/* the candidate is gone: the usual rules apply */
	}
	if (local->nofailover)
	{
		set_decision(out, HA_NOTHING,
					 "no leader; this node is tagged nofailover");
		return;
	}
	/* Patroni 3.2: a priority of 0 (or less) is nofailover by another name */
	if (local->has_failover_priority && local->failover_priority <= 0)
	{
		set_decision(out, HA_NOTHING,
					 "no leader; this node has failover_priority %d: it never takes over",
					 local->failover_priority);
		return;
	}
	/* its lag limit and synchronous mode are unknown: no guess */
	if (cluster->has_config && !cluster->config_valid)
	{
		set_decision(out, HA_NOTHING,
					 "no leader; the config key cannot be read: nobody takes over automatically");
		return;
	}
	if (cluster->paused)
	{
		set_decision(out, HA_NOTHING,
					 "no leader; the cluster is paused: no automatic failover");
		return;
	}
	if (sync_mode_refuses(cluster, config, out, "no leader", HA_NOTHING))
		return;
	if (!local->has_xlog)
	{
		set_decision(out, HA_NOTHING,
					 "no leader; this node has received no WAL yet");
		return;
	}
	if (diverged(local, cluster, &end))
	{
		set_decision(out, HA_NOTHING,
					 "no leader; this node's WAL went past the end of timeline %u at %X/%X: it must be rewound first",
					 local->timeline, (unsigned) ((uint64_t) end >> 32), (unsigned) end);
		return;
	}
	if (cluster->has_optime &&
		cluster->optime - local->xlog_position > cluster->max_lag_on_failover)
	{
		set_decision(out, HA_NOTHING,
					 "no leader; lag %lld bytes behind the last leader position exceeds maximum_lag_on_failover (%lld)",
					 (long long) (cluster->optime - local->xlog_position),
					 (long long) cluster->max_lag_on_failover);
		return;
	}
	for (int i = 0; i < cluster->nmembers; i++)
	{
		const PgHaMember *m = &cluster->members[i];

		/* only replicas that could take over count; a fenced primary won't */
		if (strcmp(m->name, config->node_name) == 0 || !eligible_replica(m) ||
			!m->has_xlog)
			continue;
		/*
		 * In synchronous mode only the sync standbys race; the former
		 * leader may be ahead with what it never acknowledged (Patroni
		 * ignores it too).
		 */
		if (pgha_sync_active(cluster) && !pgha_sync_is_standby(cluster, m->name))
			continue;
		if (position_ahead(m->timeline, m->xlog_location, local->timeline,
						   local->xlog_position))
		{
			set_decision(out, HA_NOTHING,
						 "no leader; member \"%s\" is ahead (%lld > %lld bytes)",
						 m->name, (long long) m->xlog_location,
						 (long long) local->xlog_position);
			return;
		}

		/*
		 * Just as far (Patroni 3.2's tie-break): the higher failover
		 * priority takes over.  It only ever holds this node back, among
		 * members the rules above already let race.
		 */
		if (!position_ahead(local->timeline, local->xlog_position,
							m->timeline, m->xlog_location) &&
			pgha_member_failover_priority(m) > local_priority(local))
		{
			set_decision(out, HA_NOTHING,
						 "no leader; member \"%s\" is as far ahead (%lld bytes) and has a higher failover_priority (%d > %d)",
						 m->name, (long long) m->xlog_location,
						 pgha_member_failover_priority(m), local_priority(local));
			return;
		}
	}
	set_decision(out, HA_ACQUIRE,
				 "no leader; this replica is the healthiest: taking over");
}

void
ha_decide(const HaLocalState *local, const PgHaCluster *cluster, bool dcs_ok,
		  const HaConfig *config, HaDecision *out)
{
	bool		present;
	int64_t		free_in;
	int64_t		end;

	out->wake_in_ms = 0;
	if (!dcs_ok || !local->has_session)
	{
		/*
		 * Without Consul we cannot know who leads: a primary may go on only
		 * until its lease runs out, and nobody may take a lock.
		 */
		if (local->is_primary && !lease_valid(local))
			set_decision(out, HA_FENCE,
						 "no leader lease: Consul could not be reached");
		else if (local->is_primary)
			set_decision(out, HA_NOTHING,
						 "Consul could not be reached; the lease still runs");
		else
			set_decision(out, HA_NOTHING,
						 "Consul could not be reached; staying a replica");
		return;
	}

	if (!cluster->has_initialize)
	{
		/*
		 * Lost (deleted by hand, a store that lost its data) while a leader
		 * holds its key: only that leader writes it again, with its own
		 * system identifier; a stranger racing for it would make the real
		 * cluster refuse to join itself.
		 */
		if (holds_leader_key(local, cluster) && local->is_primary &&
			!local->in_recovery)
			set_decision(out, HA_INITIALIZE,
						 "the initialize key is gone: the leader writes it again");
		else if (cluster->has_leader && cluster->leader_session[0] != '\0' &&
				 !holds_leader_key(local, cluster))
			set_decision(out, local->is_primary ? HA_FENCE : HA_NOTHING,
						 "the initialize key is gone; leader \"%s\" writes it again",
						 cluster->leader);
		else if (local->is_primary && !local->in_recovery)
			set_decision(out, HA_INITIALIZE,
						 "the cluster is not initialized: racing for it");
		else if (local->is_primary)
			set_decision(out, HA_FENCE,
						 "the cluster is not initialized; waiting for recovery to end");
		else
			set_decision(out, HA_NOTHING,
						 "the cluster is not initialized; a replica waits for a primary");
		return;
	}

	if (strcmp(cluster->initialize, local->sysid) != 0)
	{
		set_decision(out, HA_REFUSE_JOIN,
					 "system identifier %s differs from the cluster's %s",
					 local->sysid, cluster->initialize);
		return;
	}

	if (holds_leader_key(local, cluster))
	{
		if (!local->is_primary && local->in_recovery)
			set_decision(out, HA_PROMOTE, "this node holds the leader key");
		else if (!local->is_primary)
			set_decision(out, HA_FENCE,
						 "this node steps down: its restart as a standby is under way");
		else if (!lease_valid(local))
			set_decision(out, HA_FENCE, "the leader lease ran out");
		else if (local->in_recovery)
			set_decision(out, HA_FENCE,
						 "this node holds the leader key; waiting for recovery to end");
		else if (!decide_switchover(local, cluster, config, out))
			set_decision(out, HA_KEEP_LEADER, "this node holds the leader key");
		return;
	}

	/*
	 * Another node runs under our name: it came first and keeps it.  This
	 * one takes no part: no takeover, no streaming under a name that makes
	 * two walsenders look like one synchronous standby.
	 */
	if (local->name_taken)
	{
		set_decision(out, HA_REFUSE_JOIN,
					 "node name \"%s\" is held by another node's session: is pg_ha.node_name used twice?",
					 config->node_name);
		return;
	}

	present = cluster->has_leader && cluster->leader_session[0] != '\0';
	free_in = (!present && local->initialized_here) ? 0 :
		pgha_leader_free_in_ms(present, cluster->leader_released,
							   local->leader_unchanged_ms,
							   leader_ttl(local, cluster, config, present));

	if (!present && free_in > 0)
	{
		/*
		 * Gone without its holder's release (a session Consul ended early, a
		 * key deleted by hand): the holder's lease may still run, for at
		 * most ttl from its last renewal, which came before this sight.
		 */
		set_decision(out, local->is_primary ? HA_FENCE : HA_NOTHING,
					 "the leader key vanished without a release: waiting %lld ms for the last holder's lease to end",
					 (long long) free_in);
		out->wake_in_ms = free_in;
		return;
	}
	if (!present && !local->is_primary && !local->in_recovery)
	{
		/* standby.signal under a running primary: no replica to promote */
		set_decision(out, HA_FENCE,
					 "no leader; this node still runs as a primary with standby.signal: it must restart as a standby first");
		return;
	}
	if (!present)
	{
		const PgHaMember *ahead = local->is_primary ? replica_ahead(local, cluster, config) : NULL;

		if (ahead != NULL)
			set_decision(out, HA_FENCE,
						 "the leader key is free but replica \"%s\" is ahead: it takes over",
						 ahead->name);
		else if (local->is_primary &&
				 sync_mode_refuses(cluster, config, out, "the leader key is free", HA_FENCE))
			;
		else if (local->is_primary && !local->in_recovery)
			set_decision(out, HA_ACQUIRE, "the leader key is free");
		else if (local->is_primary)
		{
			set_decision(out, HA_FENCE,
						 "the leader key is free; waiting for recovery to end");
			/* crash recovery ends in moments, not a loop_wait */
			out->recheck_soon = true;
		}
		else
			decide_takeover(local, cluster, config, out);
		return;
	}

	/*
	 * Not renewed for ttl: its holder's lease has ended (it is dead, frozen
	 * or cut off), and a replica may take the key over that very version.
	 * A primary never does: its WAL may have forked from the holder's.
	 */
	if (free_in == 0 && !local->is_primary)
	{
		decide_takeover(local, cluster, config, out);
		return;
	}

	if (local->is_primary && local->in_recovery)
	{
		set_decision(out, HA_FENCE, "member \"%s\" holds the leader key",
					 cluster->leader);
		/* demoted once its crash recovery ends, not a loop_wait later */
		out->recheck_soon = true;
	}
	else if (local->is_primary)
		set_decision(out, HA_DEMOTE, "member \"%s\" holds the leader key",
					 cluster->leader);
	else if (!local->in_recovery)
	{
		/* standby.signal under a server that still runs as a primary */
		set_decision(out, HA_DEMOTE,
					 "member \"%s\" holds the leader key; this node still runs as a primary",
					 cluster->leader);
	}
	else if (diverged(local, cluster, &end))
		set_decision(out, HA_DEMOTE,
					 "this node's WAL went past the end of timeline %u at %X/%X: rewinding it to follow leader \"%s\"",
					 local->timeline, (unsigned) ((uint64_t) end >> 32), (unsigned) end,
					 cluster->leader);
	else
		set_decision(out, HA_FOLLOW, "following leader \"%s\"",
					 cluster->leader);
	/* and look again when the key would turn stale */
	out->wake_in_ms = free_in;
}

/* Is the candidate allowed at all, and where does it rank? */
static bool
sync_eligible(const HaSyncCandidate *cand, const PgHaCluster *cluster,
			  const char *self)
{
	const PgHaMember *m = pgha_find_member(cluster, cand->name);

	/* nosync: Patroni never names it, whatever else it is */
	return cand->streaming && m != NULL && strcmp(m->name, self) != 0 &&
		eligible_replica(m) && !m->nosync;
}

static bool
sync_better(const HaSyncCandidate *a, const HaSyncCandidate *b,
			const PgHaCluster *cluster, const char *self)
{
	bool		a_kept = strcmp(cluster->sync_leader, self) == 0 &&
		pgha_sync_is_standby(cluster, a->name);
	bool		b_kept = strcmp(cluster->sync_leader, self) == 0 &&
		pgha_sync_is_standby(cluster, b->name);

	if (a_kept != b_kept)
		return a_kept;
	if (a->flush != b->flush)
		return a->flush > b->flush;
	return strcmp(a->name, b->name) < 0;
}

int
ha_pick_sync_standbys(const HaSyncCandidate *cands, int ncands,
					  const PgHaCluster *cluster, const char *self,
					  char (*out)[PGHA_NAME_LEN])
{
	int			want = cluster->sync_node_count < 1 ? 1 :
		cluster->sync_node_count > PGHA_MAX_SYNC ? PGHA_MAX_SYNC :
		cluster->sync_node_count;
	int			n = 0;
	bool		taken[64];

	if (ncands > 64)
		ncands = 64;
	memset(taken, 0, sizeof(taken));
	while (n < want)
	{
		int			best = -1;

		for (int i = 0; i < ncands; i++)
		{
			bool		dup = false;

			if (taken[i] || !sync_eligible(&cands[i], cluster, self))
				continue;
			/* two walsenders of one standby (a reconnect): count it once */
			for (int j = 0; j < n; j++)
				if (strcmp(out[j], cands[i].name) == 0)
					dup = true;
			if (dup)
			{
				taken[i] = true;
				continue;
			}
			if (best < 0 || sync_better(&cands[i], &cands[best], cluster, self))
				best = i;
		}
		if (best < 0)
			break;
		taken[best] = true;
		snprintf(out[n++], PGHA_NAME_LEN, "%s", cands[best].name);
	}
	return n;
}

const char *
ha_action_name(HaAction action)
{
	switch (action)
	{
		case HA_NOTHING:
			return "nothing";
		case HA_INITIALIZE:
			return "initialize";
		case HA_REFUSE_JOIN:
			return "refuse to join";
		case HA_ACQUIRE:
			return "acquire leader key";
		case HA_KEEP_LEADER:
			return "keep leader key";
		case HA_FENCE:
			return "fence";
		case HA_PROMOTE:
			return "promote";
		case HA_FOLLOW:
			return "follow";
		case HA_DEMOTE:
			return "demote";
		case HA_SWITCHOVER:
			return "switchover";
		case HA_CLEAR_FAILOVER:
			return "clear switchover request";
	}
	return "unknown";
}

static void
move_forward(PgHaMember *m, int64_t position)
{
	if (!m->has_xlog || m->xlog_location < position)
		m->xlog_location = position;
	m->has_xlog = true;
}

void
ha_apply_live_positions(PgHaCluster *cluster, const char *self,
						int64_t self_position,
						const HaSyncCandidate *standbys, int nstandbys)
{
	if (!cluster->has_leader || strcmp(cluster->leader, self) != 0)
		return;
	for (int i = 0; i < cluster->nmembers && i < PGHA_MAX_MEMBERS; i++)
	{
		PgHaMember *m = &cluster->members[i];

		if (strcmp(m->name, self) == 0)
		{
			move_forward(m, self_position);
			continue;
		}
		for (int j = 0; j < nstandbys; j++)
			if (standbys[j].streaming && strcmp(standbys[j].name, m->name) == 0)
				move_forward(m, standbys[j].flush);
	}
}

bool
ha_timing_valid(int ttl_ms, int loop_wait_ms, int retry_timeout_ms,
				char *err, size_t errlen)
{
	/* one rule for the settings and the config key: config_key.c has it */
	return pgha_timing_valid(ttl_ms, loop_wait_ms, retry_timeout_ms, err, errlen);
}

/*
 * A tenth of the ttl, at least 200 ms: covers the time between the agent
 * receiving a renewal and our having sent it, and scheduling delays.
 */
int
ha_lease_margin_ms(int ttl_ms)
{
	int			margin = ttl_ms / 10;

	return margin < 200 ? 200 : margin;
}

/*
 * Idle traffic to Consul is mostly the lease: every version of the leader
 * key is a write, and it wakes every other node's blocking read.  A third
 * of the ttl leaves room for two attempts before the lease ends.  At most
 * twice loop_wait: the leader tries again 0.1 s after a failed attempt
 * rather than a loop_wait later, so its second attempt starts about when
 * it did with a renewal every loop_wait, and the timing rule keeps its
 * meaning.  Never more often than loop_wait, as before.
 */
int
ha_renew_interval_ms(int ttl_ms, int loop_wait_ms)
{
	int			interval = ttl_ms / 3;

	if (interval > 2 * loop_wait_ms)
		interval = 2 * loop_wait_ms;
	if (interval < loop_wait_ms)
		interval = loop_wait_ms;
	return interval;
}

/*
 * A third of the TTL: a renewal may fail once and still come in time, with
 * retry_timeout to spare for the next one.
 */
int
ha_member_renew_interval_ms(int ttl_ms)
{
	return ttl_ms / 3;
}

bool
ha_position_write_due(int64_t last_written_ms, int64_t now_ms,
					  int loop_wait_ms)
{
	return last_written_ms == 0 || now_ms - last_written_ms >= loop_wait_ms;
}

bool
ha_lease_renewal_due(int64_t now_ms, int64_t lease_expiry_ms, bool last_failed,
					 int64_t last_sent_ms, int ttl_ms, int loop_wait_ms,
					 bool key_names_us, int key_ttl_ms)
{
	return !(lease_expiry_ms != 0 && !last_failed &&
			 now_ms - last_sent_ms < ha_renew_interval_ms(ttl_ms, loop_wait_ms) &&
			 key_names_us && key_ttl_ms == ttl_ms);
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

int
ha_round_wait_ms(const HaWaitInput *in)
{
	int			interval = ha_renew_interval_ms(in->ttl_ms, in->loop_wait_ms);
	int64_t		wait;
	int64_t		left;

	/*
	 * The others wake with each renewal of the leader key: their own limit
	 * is longer, so that it does not race the renewal and cost a blocking
	 * read more.  A dead leader is noticed by wake_in, not by this.
	 */
	wait = in->leading ? interval : 2 * (int64_t) interval;

	/* a renewal that failed is tried again with the rounds, not sooner */
	left = in->check_passed_ms + in->check_ttl_ms / 2 - in->now_ms;
	if (in->check_registered && in->check_passed_ms != 0 && left > 0)
		wait = min64(wait, left);
	left = in->session_renewed_ms + in->session_ttl_ms / 2 - in->now_ms;
	if (in->has_session && in->session_renewed_ms != 0 && left > 0)
		wait = min64(wait, left);
	if (in->leading)
	{
		/*
		 * The lease: its next renewal; after a failed attempt, or a round
		 * that could not read the cluster, soon, while the lease runs.
		 */
		left = in->lk_sent_ms + interval - in->now_ms;
		wait = min64(wait, in->lk_renew_failed || left <= 0 ? HA_RENEW_RETRY_MS : left);
	}
	/* e.g. a switchover candidate catching up: look again shortly */
	if (in->recheck_soon)
		wait = min64(wait, HA_RECHECK_SOON_MS);
	/* the leader key may be taken then */
	if (in->wake_in_ms > 0)
		wait = min64(wait, in->wake_in_ms + 1);
	return (int) (wait > 0 ? wait : 0);
}

bool
ha_fresh_positions_wanted(const PgHaCluster *cluster, const char *self)
{
	/* a named candidate was chosen by the operator, with its lag checked */
	return !(cluster->has_failover &&
			 strcmp(cluster->failover_member, self) == 0);
}

bool
ha_fresh_position_wanted(const PgHaMember *m, const char *self)
{
	return strcmp(m->name, self) != 0 && eligible_replica(m) &&
		m->api_url[0] != '\0';
}

bool
ha_apply_fresh_position(PgHaMember *m, const PgHaFreshPosition *p)
{
	if (!p->has_xlog)
		return false;
	if (p->timeline != 0 && (m->timeline == 0 || p->timeline > m->timeline))
	{
		m->timeline = p->timeline;
		m->has_xlog = true;
		m->xlog_location = p->xlog;
		return true;
	}
	if ((p->timeline == 0 || p->timeline == m->timeline) &&
		(!m->has_xlog || p->xlog > m->xlog_location))
	{
		m->has_xlog = true;
		m->xlog_location = p->xlog;
		return true;
	}
	return false;
}

bool
ha_decision_acts(HaAction action, bool leader_changed)
{
	switch (action)
	{
		case HA_NOTHING:
		case HA_KEEP_LEADER:
			return false;
		case HA_FOLLOW:
			return leader_changed;
		default:
			return true;
	}
}

/* one candidate of ha_promotion_timeline: an ID that must not be taken */
static void
promotion_avoid(uint32_t used, uint32_t next_tli, uint32_t *target,
				uint32_t *ignored)
{
	if (used < next_tli)
		return;
	if (used - next_tli >= HA_MAX_TIMELINE_SKIP || used == UINT32_MAX)
	{
		if (used > *ignored)
			*ignored = used;
		return;
	}
	if (used + 1 > *target)
		*target = used + 1;
}

uint32_t
ha_promotion_timeline(const PgHaCluster *cluster, uint32_t next_tli,
					  uint32_t *ignored)
{
	uint32_t	target = next_tli;
	uint32_t	dummy = 0;
	PgHaHistoryEntry *h;
	int			n;

	if (ignored == NULL)
		ignored = &dummy;
	*ignored = 0;
	if (cluster->has_promotion)
		promotion_avoid(cluster->promotion_timeline, next_tli, &target, ignored);
	for (int i = 0; i < cluster->nmembers; i++)
		promotion_avoid(cluster->members[i].timeline, next_tli, &target, ignored);
	for (int i = 0; i < cluster->nstopped; i++)
		promotion_avoid(cluster->stopped[i].timeline, next_tli, &target, ignored);
	if (cluster->history_json[0] != '\0' &&
		(h = malloc(sizeof(PgHaHistoryEntry) * PGHA_MAX_HISTORY)) != NULL)
	{
		uint32_t	last = 0;

		n = pgha_parse_history(cluster->history_json, h, PGHA_MAX_HISTORY, NULL, 0);
		for (int i = 0; i < n; i++)
		{
			promotion_avoid(h[i].timeline, next_tli, &target, ignored);
			if (h[i].timeline > last)
				last = h[i].timeline;
		}
		/* the leader after the last row ran on some ID above it */
		if (last > 0 && last < UINT32_MAX)
			promotion_avoid(last + 1, next_tli, &target, ignored);
		free(h);
	}
	return target;
}
