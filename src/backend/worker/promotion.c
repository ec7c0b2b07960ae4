/*-------------------------------------------------------------------------
 *
 * promotion.c
 *	  This node's promotion as the HA worker carries it out around
 *	  PostgreSQL's: pg_wal fit to promote, a timeline ID claimed in the
 *	  promotion key, the request to the postmaster, and after it the
 *	  history key's entry; the leader's upkeep of the promotion key, and
 *	  where a timeline began (this node's history files).
 *
 * When to promote is ha_decide()'s; what is under way is the phase's
 * (phase.h).  The timeline IDs a promotion takes and steps over are
 * timeline.c's and ha_promotion_timeline()'s.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <time.h>

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "nodes/pg_list.h"
#include "pgtime.h"

#include "cluster.h"
#include "dcs.h"
#include "ha_worker.h"
#include "history.h"
#include "node_ctl.h"
#include "promotion.h"
#include "settings.h"
#include "sync.h"
#include "timeline.h"
#include "wal_check.h"

/* ----- where a timeline began */

/*
 * Where timeline tli began, and (into *parent) the timeline it branched
 * from, by tli's history file.  The parent is not always tli - 1: a
 * promotion steps over IDs other nodes took (timeline.c).  ERROR when the
 * file cannot be read.
 */
static XLogRecPtr
timeline_parent(TimeLineID tli, TimeLineID *parent)
{
	List	   *history = readTimeLineHistory(tli);
	TimeLineHistoryEntry *prev;

	/* newest first: tli itself, then the one it branched from */
	if (list_length(history) < 2)
		ereport(ERROR,
				(errmsg("pg_ha: the history file of timeline %u names no parent timeline", tli)));
	prev = (TimeLineHistoryEntry *) list_nth(history, 1);
	if (parent != NULL)
		*parent = prev->tli;
	return prev->end;
}

/*
 * Where timeline tli began, from this node's own history file: read again
 * only when the timeline changes.  0 for timeline 1, or when the file
 * cannot be read (an ERROR here must not cost the round).
 */
int64_t
pgha_timeline_begin(uint32_t tli)
{
	static uint32_t cached_tli = 0;
	static int64_t cached_begin = 0;
	MemoryContext oldcxt = CurrentMemoryContext;

	if (tli == cached_tli)
		return cached_begin;
	cached_tli = tli;
	cached_begin = 0;
	if (tli < 2)
		return 0;
	PG_TRY();
	{
		cached_begin = (int64_t) timeline_parent(tli, NULL);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		cached_begin = 0;
		cached_tli = 0;			/* try again next round */
	}
	PG_END_TRY();
	return cached_begin;
}

/* ----- before the promotion */

/*
 * Before a promotion: no unfinished segment of a newer timeline in pg_wal
 * (wal_check.c), which PostgreSQL would read its last record from and
 * abort.  With one, the server restarts as a standby without it (the key
 * is kept across a quick restart: the session file), and promotes after.
 */
static bool
wal_fit_to_promote(HaWorker *w)
{
	TimeLineID	tli = 0;
	XLogRecPtr	pos;
	char		names[PGHA_MAX_PARTIAL_SEGMENTS][64];
	char		err[PGHA_ERR_LEN];
	int			n;

	pos = GetXLogReplayRecPtr(&tli);
	n = pgha_partial_newer_segments(".", tli, pos, wal_segment_size, names);
	if (n == 0)
		return true;
	ereport(WARNING,
			(errmsg("pg_ha: node \"%s\" does not promote yet: pg_wal holds %s, a segment of a newer timeline that its walreceiver began and never finished, without the WAL replayed up to %X/%X",
					pg_ha_node_name, names[0], LSN_FORMAT_ARGS(pos)),
			 errdetail("PostgreSQL would read its last record from that file at the promotion, and abort."),
			 errhint("The server restarts as a standby without it, then promotes.")));
	if (!pgha_start_wal_repair(err, sizeof(err)))
		ereport(WARNING,
				(errmsg("pg_ha: cannot restart node \"%s\": %s", pg_ha_node_name, err),
				 errhint("Stop the server, move %s out of pg_wal, and start it again.", names[0])));
	else
		w->phase = ha_phase_next(w->phase, HA_EV_WAL_REPAIR_STARTED, 0);
	return false;
}

/*
 * Before a promotion: a timeline ID nobody took (see timeline.c), recorded
 * in the promotion key with check-and-set before PostgreSQL may take it,
 * and placeholders for the IDs to step over.  False: not this round.
 */
static bool
claim_timeline(HaWorker *w)
{
	uint32		next;
	uint32		target;
	uint32		ignored;
	char		key[HA_KEY_LEN];
	char		json[2 * PGHA_NAME_LEN];
	char		err[PGHA_ERR_LEN];
	bool		done;
	const PgHaCluster *c = w->cluster;

	next = pgha_next_timeline();
	/* ours, from an earlier round, or a new claim */
	target = ha_phase_claim_reuse(&w->phase, c, pg_ha_node_name, next);
	if (target == 0)
	{
		target = ha_promotion_timeline(c, next, &ignored);
		if (ignored != 0)
			ereport(WARNING,
					(errmsg("pg_ha: timeline %u, recorded in the cluster, is more than %d IDs past this node's next one (%u): taken as garbage, not stepped over",
							ignored, HA_MAX_TIMELINE_SKIP, next)));
		snprintf(key, sizeof(key), "%spromotion", w->prefix);
		if (pgha_promotion_json(target, pg_ha_node_name, json, sizeof(json)) < 0)
			return false;
		if (!dcs_kv_put(key, json, psprintf("cas=" UINT64_FORMAT, (uint64) c->promotion_index),
						&done, err, sizeof(err)))
		{
			ereport(WARNING,
					(errmsg("pg_ha: not promoting this round: could not record timeline %u in the promotion key: %s",
							target, err)));
			w->rerun = true;
			return false;
		}
		if (!done)
		{
			/* somebody wrote it since our read: look again */
			w->rerun = true;
			return false;
		}
		w->phase = ha_phase_next(w->phase, HA_EV_TIMELINE_CLAIMED, target);
	}
	if (target > next)
		pgha_reserve_timelines(next, target);
	return true;
}

/*
 * A standby that holds the leader key promotes: in synchronous mode once
 * the sync key names it first, with pg_wal fit for it and a timeline ID
 * claimed, then asks the postmaster (as pg_promote() does).  A promotion
 * asked already is asked again, on the claim made for it; none while the
 * server is on its way down (phase.h).
 */
void
pgha_promote(HaWorker *w)
{
	HaPromoteStep step;

	/* synchronous mode: the sync key names us first */
	if (!pgha_sync_before_promote(w->cluster))
		return;
	step = ha_phase_promote_step(&w->phase);
	if (step == HA_PROMOTE_HOLD)
		return;
	if (step == HA_PROMOTE_CHECK &&
		(!wal_fit_to_promote(w) || !claim_timeline(w)))
		return;
	pgha_request_promote();
	w->phase = ha_phase_next(w->phase, HA_EV_PROMOTE_ASKED, 0);
}

/* ----- the leader's upkeep of the promotion key */

/*
 * The leader keeps the promotion key at least at its own timeline: a
 * promotion that took a higher ID than recorded (from an archive's history
 * files), and clusters from before the key.
 */
void
pgha_step_promotion_key(HaWorker *w)
{
	TimeLineID	tli = GetWALInsertionTimeLine();
	const PgHaCluster *c = w->cluster;
	char		key[HA_KEY_LEN];
	char		json[2 * PGHA_NAME_LEN];
	char		err[PGHA_ERR_LEN];
	bool		done;

	w->phase = ha_phase_next(w->phase, HA_EV_PROMOTION_KEY_KEPT, 0);
	if (c->has_promotion && c->promotion_timeline >= tli)
		return;
	snprintf(key, sizeof(key), "%spromotion", w->prefix);
	if (pgha_promotion_json(tli, pg_ha_node_name, json, sizeof(json)) < 0)
		return;
	if (!dcs_kv_put(key, json, psprintf("cas=" UINT64_FORMAT, (uint64) c->promotion_index),
					&done, err, sizeof(err)))
		pgha_round_error(w, err);
}

/* ----- after the promotion */

/*
 * After a promotion: one entry in the history key, as Patroni keeps it
 * (the timeline left, where, why, when, the new leader).
 */
void
pgha_append_history(HaWorker *w)
{
	char		key[HA_KEY_LEN];
	char	   *current;
	uint64_t	index;
	bool		found;
	bool		done;
	char		err[PGHA_ERR_LEN];
	char		body[PGHA_CONFIG_LEN];
	char		when[64];
	TimeLineID	tli = GetWALInsertionTimeLine();
	TimeLineID	parent;
	XLogRecPtr	switch_point;
	pg_time_t	now = (pg_time_t) time(NULL);

	pg_strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", pg_gmtime(&now));
	snprintf(key, sizeof(key), "%shistory", w->prefix);
	if (tli < 2)
		return;
	switch_point = timeline_parent(tli, &parent);
	for (int attempt = 0; attempt < 3; attempt++)
	{
		if (!dcs_kv_get_raw(key, &current, &index, &found, err, sizeof(err)) ||
			pgha_history_append(found ? current : NULL, parent,
								(int64_t) switch_point,
								"no recovery target specified",
								when, pg_ha_node_name, body, sizeof(body),
								err, sizeof(err)) < 0 ||
			!dcs_kv_put(key, body, psprintf("cas=" UINT64_FORMAT, found ? (uint64) index : (uint64) 0),
						&done, err, sizeof(err)))
		{
			ereport(WARNING, (errmsg("pg_ha: could not record the promotion in the history key: %s", err)));
			return;
		}
		if (done)
			return;
	}
}
