/*-------------------------------------------------------------------------
 *
 * actions.c
 *	  What the HA worker does for the action ha_decide() chose: initialize
 *	  the cluster, take the leader key, lead (with the leader's
 *	  housekeeping), fence, promote (promotion.c), follow, demote, step
 *	  down for a switchover, reinitialize; and give up a key it holds but
 *	  cannot lead with.
 *
 * Each action is carried out here, not chosen: a branch that chooses
 * between two behaviours belongs in ha_decide.c or phase.c, where it is
 * unit-tested.  What a demotion, switchover or reinitialize leaves under
 * way is told to the phase (phase.h).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgwriter.h"
#include "replication/slot.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "utils/timestamp.h"

#include "actions.h"
#include "cluster.h"
#include "conf_file.h"
#include "config_key.h"
#include "dcs.h"
#include "fence.h"
#include "ha_worker.h"
#include "leader_key.h"
#include "lease.h"
#include "node_ctl.h"
#include "pg_ha_files.h"
#include "promotion.h"
#include "settings.h"
#include "state.h"
#include "sync.h"
#include "worker_wait.h"

#define DEMOTE_AFTER_START_MS	2000
/* the session that asked for a step-down or restart: its answer first */
#define CALLER_WAIT_MS			1000
#define CALLER_POLL_MS			5

/* ----- a new cluster, a free key */

static void
write_default_config(HaWorker *w)
{
	char		cfg[PGHA_CONFIG_LEN];
	char		tmp[PGHA_CONFIG_LEN];
	char		err[PGHA_ERR_LEN];
	bool		done;
	const char *last = pgha_last_good_config();

	/*
	 * A store that lost its data (a rebuilt Consul): the config this node
	 * last used, not defaults that would turn synchronous mode off and
	 * drop every parameter.
	 */
	if (last != NULL)
	{
		if (!dcs_kv_put(w->config_key, last, "cas=0", &done, err, sizeof(err)))
			ereport(WARNING,
					(errmsg("pg_ha: could not write the cluster configuration: %s", err)));
		else if (done)
			ereport(LOG,
					(errmsg("pg_ha: wrote the last cluster configuration this node used (%s) into the new config key",
							PGHA_LAST_CONFIG_FILE)));
		return;
	}

	/*
	 * Patroni's dynamic configuration, with this node's timings, which then
	 * are every node's (exact: seconds with a fraction when not whole).
	 */
	snprintf(cfg, sizeof(cfg),
			 "{\"maximum_lag_on_failover\":1048576,"
			 "\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,\"parameters\":{}}}");
	if (pgha_config_with_timing(cfg, "retry_timeout", w->retry_timeout_ms, tmp, sizeof(tmp), err, sizeof(err)) < 0 ||
		pgha_config_with_timing(tmp, "loop_wait", w->loop_wait_ms, cfg, sizeof(cfg), err, sizeof(err)) < 0 ||
		pgha_config_with_timing(cfg, "ttl", w->ttl_ms, tmp, sizeof(tmp), err, sizeof(err)) < 0)
	{
		ereport(WARNING,
				(errmsg("pg_ha: could not format the cluster configuration: %s", err)));
		return;
	}
	if (!dcs_kv_put(w->config_key, tmp, "cas=0", &done, err, sizeof(err)))
		ereport(WARNING,
				(errmsg("pg_ha: could not write the cluster configuration: %s", err)));
}

static void
do_initialize(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];
	bool		done = false;

	if (!dcs_kv_put(w->initialize_key, w->sysid, "cas=0", &done, err, sizeof(err)))
	{
		pgha_round_error(w, err);
		return;
	}
	if (done)
	{
		ereport(LOG,
				(errmsg("pg_ha: initialized cluster \"%s\" in Consul with system identifier %s",
						pg_ha_cluster, w->sysid)));
		/* a new cluster: no leader key was ever there to wait for */
		w->initialized_here = true;
		write_default_config(w);
	}
	else if (w->cluster->has_initialize == false)
		ereport(WARNING,
				(errmsg("pg_ha: the initialize key of cluster \"%s\" exists but holds no system identifier",
						pg_ha_cluster),
				 errhint("Check the value of key \"%s\" in Consul.", w->initialize_key)));
	/* someone won or lost the race: look again now */
	w->rerun = true;
}

static void
do_acquire(HaWorker *w, const HaLocalState *local)
{
	char		err[PGHA_ERR_LEN];
	bool		done = false;
	bool		stale = w->cluster->has_leader && w->cluster->leader_session[0] != '\0';
	int64		sent = pgha_monotonic_ms();
	uint64		index = 0;

	/* a stale key is replaced only as the very version that aged */
	w->lk_stamp = Max((uint64) sent, w->lk_stamp + 1);
	if (!dcs_leader_txn(w->prefix, stale ? PGHA_LEADER_STEAL : PGHA_LEADER_TAKE,
						pg_ha_node_name, w->session,
						stale ? w->cluster->leader_modify_index : 0,
						PGHA_LEADER_FLAGS(w->lk_stamp, w->ttl_ms),
						&done, &index, err, sizeof(err)))
	{
		pgha_round_error(w, err);
		if (local->is_primary)
			pgha_set_fenced(w, err, !local->in_recovery);
		return;
	}
	if (!done)
	{
		if (local->is_primary)
			pgha_set_fenced(w, "another member took the leader key first",
					   !local->in_recovery);
		w->rerun = true;
		return;
	}
	pgha_key_written(w, sent, index);
	if (stale)
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" took over the leader key of cluster \"%s\" from \"%s\", not renewed for %d ms",
						pg_ha_node_name, pg_ha_cluster, w->cluster->leader, w->ttl_ms)));
	else
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" acquired the leader key of cluster \"%s\"",
						pg_ha_node_name, pg_ha_cluster)));
	pgha_set_leader(w);
	w->rerun = true;			/* read the key back as ours */
}

/* ----- the leader's round */

/* The leader's position, for the replicas to judge their lag by. */
static void
publish_optime(HaWorker *w)
{
	int64		pos = (int64) GetXLogInsertRecPtr();
	char		json[64];
	char		err[PGHA_ERR_LEN];
	bool		done;

	if (w->cluster->has_optime && w->cluster->optime == pos)
		return;
	if (w->cluster->has_optime &&
		!ha_position_write_due(w->optime_written_ms, pgha_monotonic_ms(),
							   w->loop_wait_ms))
		return;
	snprintf(json, sizeof(json), "{\"optime\":" INT64_FORMAT "}", pos);
	if (!dcs_kv_put(w->status_key, json, NULL, &done, err, sizeof(err)))
		pgha_round_error(w, err);
	else
		w->optime_written_ms = pgha_monotonic_ms();
}

/* Work of a leader that may fail without costing it the lead. */
static void
step_managed_conf(HaWorker *w)
{
	(void) pgha_write_managed_conf(NULL, w->cluster);
}

static void
step_slots(HaWorker *w)
{
	pgha_sync_slots(w->cluster, pg_ha_node_name);
}

static void
step_sync(HaWorker *w)
{
	pgha_sync_leader_round(w->cluster);
}

/*
 * One step of the leader's housekeeping; its error is reported and ends
 * that step only.  Each step is guarded alone: a slot that cannot be made
 * (slots exhausted, a logical slot named like a member) must not stop the
 * synchronous standby's management, or commits would hang once that
 * standby dies.
 */
static void
housekeeping_step(HaWorker *w, void (*step) (HaWorker *))
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		step(w);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		/* no transaction to abort: free what an error left held */
		LWLockReleaseAll();
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
	}
	PG_END_TRY();
}

static void
leader_housekeeping(HaWorker *w)
{
	/* a dead server's walsenders are gone: nothing here may read that */
	if (!PostmasterIsAlive())
		return;
	housekeeping_step(w, step_managed_conf);
	housekeeping_step(w, publish_optime);
	housekeeping_step(w, pgha_step_promotion_key);
	housekeeping_step(w, step_slots);
	housekeeping_step(w, step_sync);
}

static void
clear_failover(HaWorker *w, const HaDecision *d)
{
	char		err[PGHA_ERR_LEN];
	char		query[64];
	bool		done;

	snprintf(query, sizeof(query), "cas=" UINT64_FORMAT,
			 (uint64) w->cluster->failover_modify_index);
	if (!dcs_kv_delete(w->failover_key, query, &done, err, sizeof(err)))
		pgha_round_error(w, err);
	else if (strstr(d->reason, "is done") == NULL)
		ereport(WARNING,
				(errmsg("pg_ha: dropped the switchover request: %s", d->reason)));
}

static void
do_keep_leader(HaWorker *w)
{
	bool		checkpoint;

	/* each renewal writes our name back, should someone overwrite it */
	pgha_set_leader(w);

	/*
	 * The new timeline reaches the control file only with the first
	 * checkpoint after promotion, which is spread otherwise: pg_rewind of
	 * the old leader compares control files, so take it now.
	 */
	checkpoint = ha_phase_checkpoint_due(&w->phase);
	w->phase = ha_phase_next(w->phase, HA_EV_LED, 0);
	if (checkpoint)
	{
		RequestCheckpoint(CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE);
		pgha_append_history(w);
	}
	leader_housekeeping(w);
}

/* ----- following, stepping down */

static void
do_follow(HaWorker *w)
{
	const PgHaMember *leader = pgha_find_member(w->cluster, w->cluster->leader);

	/* without the leader's record we do not know where it is: keep on */
	if (leader != NULL)
		(void) pgha_write_managed_conf(leader, w->cluster);
}

static void
do_demote(HaWorker *w, const HaDecision *d)
{
	const PgHaMember *leader = pgha_find_member(w->cluster, w->cluster->leader);
	char		err[PGHA_ERR_LEN];

	pgha_set_fenced(w, d->reason, true);
	if (!ha_phase_may_demote(&w->phase) || leader == NULL)
		return;

	/*
	 * A server just started (pg_ctl start -w, systemd) is restarted only
	 * once its starter has seen it ready, or the start is reported failed.
	 * It is fenced meanwhile.
	 */
	{
		long		up_ms = (long) ((GetCurrentTimestamp() - PgStartTime) / 1000);

		if (up_ms >= 0 && up_ms < DEMOTE_AFTER_START_MS)
			(void) pgha_worker_wait(WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
									DEMOTE_AFTER_START_MS - up_ms, PG_WAIT_EXTENSION);
	}
	if (!pgha_start_demotion(leader, w->cluster, err, sizeof(err)))
	{
		ereport(WARNING,
				(errmsg("pg_ha: cannot demote node \"%s\": %s", pg_ha_node_name, err),
				 errhint("The node stays fenced; restart it as a standby of \"%s\" by hand.",
						 leader->name)));
		return;
	}
	w->phase = ha_phase_next(w->phase, HA_EV_DEMOTION_STARTED, 0);
}

/*
 * The session that asked this node to step down or restart (pg_ha_switchover
 * or pg_ha_restart called here) gets its answer before it is ended: wait
 * until it no longer runs a statement, at most CALLER_WAIT_MS.
 */
void
pgha_let_caller_finish(void)
{
	pid_t		pid;
	int64		deadline = pgha_monotonic_ms() + CALLER_WAIT_MS;

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pid = pgha_shared->action_caller;
	pgha_shared->action_caller = 0;
	LWLockRelease(pgha_shared->lock);
	while (pid != 0 && pgha_backend_running(pid) &&
		   pgha_monotonic_ms() < deadline && PostmasterIsAlive())
		(void) pgha_worker_wait(WL_TIMEOUT | WL_POSTMASTER_DEATH, CALLER_POLL_MS,
								PG_WAIT_EXTENSION);
}

/*
 * Step down for the candidate: fence, then the same detached restart as a
 * demotion, pointed at the candidate.  The shutdown hands the key over
 * (pg_ha_ctl release) once every replica has the last WAL; the candidate,
 * named in the failover key, is the only one to take it.
 */
static void
do_switchover(HaWorker *w, const HaDecision *d)
{
	const PgHaMember *target = pgha_find_member(w->cluster, d->target);
	char		err[PGHA_ERR_LEN];

	if (!ha_phase_may_demote(&w->phase) || target == NULL)
		return;
	pgha_let_caller_finish();
	pgha_set_fenced(w, d->reason, true);
	if (!pgha_start_demotion(target, w->cluster, err, sizeof(err)))
	{
		ereport(WARNING,
				(errmsg("pg_ha: switchover to \"%s\" failed: %s", target->name, err),
				 errhint("This node stays fenced; the leader key expires and a replica takes over.")));
		return;
	}
	w->phase = ha_phase_next(w->phase, HA_EV_DEMOTION_STARTED, 0);
}

/*
 * A reinitialize the REST API took (POST /reinitialize, pg_ha_reinit()):
 * once a session here that asked has its answer, `pg_ha_ctl rejoin
 * --reinit` clones this node again from the leader, detached as a
 * demotion is.  Until the server stops, it neither takes the leader key
 * nor restarts for another reason.
 */
void
pgha_do_reinit(HaWorker *w, HaDecision *d)
{
	char		err[PGHA_ERR_LEN];

	if (pgha_reinit_requested() && w->cluster_ok)
	{
		const PgHaCluster *c = w->cluster;
		const PgHaMember *leader = c->has_leader && c->leader_session[0] &&
			strcmp(c->leader, pg_ha_node_name) != 0 ? pgha_find_member(c, c->leader) : NULL;

		HaReinitVerdict v = ha_phase_reinit(&w->phase, leader != NULL);

		if (v == HA_REINIT_NO_LEADER)
			snprintf(err, sizeof(err), "the cluster has no other leader to clone from");
		else if (v != HA_REINIT_START)
			snprintf(err, sizeof(err), "a %s of this node is on its way",
					 v == HA_REINIT_DEMOTING ? "demotion" : "restart");
		else
		{
			pgha_let_caller_finish();
			if (pgha_start_reinit(leader, c, err, sizeof(err)))
				w->phase = ha_phase_next(w->phase, HA_EV_DEMOTION_STARTED, 0);
		}
		if (!pgha_reinit_started())
		{
			ereport(WARNING,
					(errmsg("pg_ha: cannot reinitialize node \"%s\": %s", pg_ha_node_name, err)));
			pgha_forget_reinit();
		}
	}
	if (pgha_reinit_started())
		(void) ha_reinit_holds(d);
}

/* ----- the round's action */

/*
 * Carry out the decision d of this round (ha_decide(), as pgha_do_reinit()
 * left it).
 */
void
pgha_act(HaWorker *w, const HaDecision *d, const HaLocalState *local)
{
	switch (d->action)
	{
		case HA_INITIALIZE:
			/* the leader restoring a lost key goes on taking writes */
			if (!pgha_key_is_ours(w))
				pgha_set_fenced(w, d->reason, false);
			do_initialize(w);
			break;
		case HA_ACQUIRE:
			do_acquire(w, local);
			break;
		case HA_KEEP_LEADER:
			do_keep_leader(w);
			break;
		case HA_REFUSE_JOIN:
			/* a twin must not stream under the name it does not own */
			if (local->name_taken && local->in_recovery)
				(void) pgha_write_managed_conf(NULL, w->cluster);
			pgha_set_fenced(w, d->reason, local->is_primary && !local->in_recovery);
			break;
		case HA_FENCE:
			pgha_set_fenced(w, d->reason, local->is_primary && !local->in_recovery);
			break;
		case HA_PROMOTE:
			pgha_promote(w);
			break;
		case HA_FOLLOW:
			do_follow(w);
			break;
		case HA_DEMOTE:
			do_demote(w, d);
			break;
		case HA_SWITCHOVER:
			do_switchover(w, d);
			break;
		case HA_CLEAR_FAILOVER:
			do_keep_leader(w);
			clear_failover(w, d);
			break;
		case HA_NOTHING:
			if (local->is_primary && !pgha_lease_held())
				pgha_set_fenced(w, d->reason[0] ? d->reason : "no leader lease", false);
			break;
	}
}

/*
 * A key holder that cannot lead (a demotion that failed once standby.signal
 * was written, a promotion or a recovery that does not end, another
 * system identifier) would keep the key, and the cluster without a leader,
 * for as long as it renews it.  After a ttl of that it gives the key up:
 * it takes no writes meanwhile (fenced), so the release is safe, and a
 * replica takes over at once.
 */
void
pgha_give_up_key_if_unfit(HaWorker *w, const HaDecision *d)
{
	int64		now = pgha_monotonic_ms();

	switch (ha_unfit_holder(pgha_key_is_ours(w), d->action, w->unfit_since_ms,
							now, w->ttl_ms))
	{
		case HA_UNFIT_NONE:
			w->unfit_since_ms = 0;
			return;
		case HA_UNFIT_SINCE_NOW:
			w->unfit_since_ms = now;
			return;
		case HA_UNFIT_WAIT:
			return;
		case HA_UNFIT_GIVE_UP:
			break;
	}
	pgha_set_fenced(w, d->reason, false);
	if (pgha_release_leader_key(w))
		ereport(WARNING,
				(errmsg("pg_ha: gave up the leader key of cluster \"%s\": this node could not lead for %d ms (%s)",
						pg_ha_cluster, (int) (now - w->unfit_since_ms), d->reason)));
	w->unfit_since_ms = 0;
	w->rerun = true;
}
