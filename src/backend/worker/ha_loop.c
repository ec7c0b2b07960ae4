/*-------------------------------------------------------------------------
 *
 * ha_loop.c
 *	  The HA worker: its main loop and the order of a round.
 *
 * Each round: pass the node's Consul check and renew its session when
 * their TTLs need it, read the cluster's keys, renew the leader key (the
 * lease) when due (lease.c), ask ha_decide() what to do, do it
 * (actions.c), publish the member record, serve this node's restart
 * request (restart.c) and publish the state in shared memory.  Between
 * rounds the worker waits in a blocking query on the cluster's keys, which
 * returns them: a change (a new leader, a switchover request) is seen at
 * once, and the read serves as the next round's.
 *
 * This file is not where decisions are taken: a branch that chooses
 * between two behaviours belongs in ha_decide.c, phase.c or
 * restart_decide.c, where it is unit-tested.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pidfile.h"
#include "utils/timestamp.h"

#include "actions.h"
#include "api.h"
#include "callbacks.h"
#include "cluster.h"
#include "config_key.h"
#include "consul_parse.h"
#include "dcs.h"
#include "ha_worker.h"
#include "lease.h"
#include "member.h"
#include "member_record.h"
#include "node_state.h"
#include "restart.h"
#include "settings.h"
#include "state.h"
#include "worker_wait.h"

#define PROMOTE_POLL_MS			10
#define FRESH_POSITION_TIMEOUT_MS	1000	/* asking a member its position */

/* A Consul error is logged when it changes, and its end once. */
static void
log_error_change(HaWorker *w, const char *err)
{
	if (strcmp(w->logged_error, err) == 0)
		return;
	if (err[0] != '\0')
		ereport(WARNING,
				(errmsg("pg_ha: %s", err)));
	else
		ereport(LOG,
				(errmsg("pg_ha: Consul at %s answers again", pg_ha_consul_url)));
	strlcpy(w->logged_error, err, sizeof(w->logged_error));
}

/* ----- timings */

static void configure_dcs(HaWorker *w);

/* The timings in force, for the views, the REST API and a restarted worker. */
static void
publish_timings(const HaWorker *w)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->ttl_ms = w->ttl_ms;
	pgha_shared->loop_wait_ms = w->loop_wait_ms;
	pgha_shared->retry_timeout_ms = w->retry_timeout_ms;
	LWLockRelease(pgha_shared->lock);
}

/*
 * After a reload: the local pg_ha.ttl, loop_wait and retry_timeout, if
 * they keep the timing rule.  They are the defaults that the config key
 * overrides (apply_timings).
 */
static void
adopt_local_timings(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];

	if (!ha_timing_valid(pg_ha_ttl, pg_ha_loop_wait, pg_ha_retry_timeout,
						 err, sizeof(err)))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_ha: new timings refused, keeping ttl %d ms, loop_wait %d ms, retry_timeout %d ms",
						w->ttl_ms, w->loop_wait_ms, w->retry_timeout_ms),
				 errdetail("%s.", err),
				 errhint("Keep pg_ha.loop_wait + 2 * pg_ha.retry_timeout <= pg_ha.ttl.")));
		return;
	}
	w->local_ttl_ms = pg_ha_ttl;
	w->local_loop_wait_ms = pg_ha_loop_wait;
	w->local_retry_timeout_ms = pg_ha_retry_timeout;
	w->lock_delay_ms = pg_ha_lock_delay;
}

/* a refusal of the config key's timings, logged once until it changes */
static void
timing_complaint(HaWorker *w, const char *detail)
{
	if (strcmp(w->logged_timing, detail) == 0)
		return;
	strlcpy(w->logged_timing, detail, sizeof(w->logged_timing));
	if (detail[0] != '\0')
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_ha: timings of the config key refused, keeping ttl %d ms, loop_wait %d ms, retry_timeout %d ms",
						w->ttl_ms, w->loop_wait_ms, w->retry_timeout_ms),
				 errdetail("%s.", detail),
				 errhint("Keep loop_wait + 2 * retry_timeout <= ttl in key \"%s\".",
						 w->config_key)));
}

/*
 * The timings in force: the local ones, overridden by those the config key
 * sets (Patroni's dynamic configuration wins).  The lease follows the new
 * ttl at the next renewal of the leader key; the check is registered again
 * with it, the session keeps the TTL it was created with.
 */
static void
apply_timings(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];
	int			ttl = w->local_ttl_ms;
	int			loop_wait = w->local_loop_wait_ms;
	int			retry = w->local_retry_timeout_ms;
	bool		from_config = false;

	if (w->cluster->config_valid && w->cluster->config_json[0] != '\0')
	{
		if (!pgha_config_timings(w->cluster->config_json, &ttl, &loop_wait,
								 &retry, err, sizeof(err)))
		{
			timing_complaint(w, err);
			return;
		}
		from_config = ttl != w->local_ttl_ms || loop_wait != w->local_loop_wait_ms ||
			retry != w->local_retry_timeout_ms;
	}
	if (!ha_timing_valid(ttl, loop_wait, retry, err, sizeof(err)))
	{
		timing_complaint(w, err);
		return;
	}
	timing_complaint(w, "");
	if (ttl == w->ttl_ms && loop_wait == w->loop_wait_ms &&
		retry == w->retry_timeout_ms)
		return;
	if (w->ttl_ms != 0)
		ereport(LOG,
				(errmsg("pg_ha: timings now ttl %d ms, loop_wait %d ms, retry_timeout %d ms%s",
						ttl, loop_wait, retry,
						from_config ? ", from the config key" : "")));
	w->ttl_ms = ttl;
	w->loop_wait_ms = loop_wait;
	w->retry_timeout_ms = retry;
	/* the check's TTL follows at the next round; the session's never */
	if (w->check_ttl_ms != w->ttl_ms)
		w->check_registered = false;
	configure_dcs(w);
	publish_timings(w);
}

static void
configure_dcs(HaWorker *w)
{
	DcsSettings s;

	s.url = pg_ha_consul_url;
	s.token = pg_ha_consul_token;
	s.timeout_ms = w->retry_timeout_ms;
	dcs_configure(&s);
}

/* ----- one round */

static void
publish_member(HaWorker *w, const HaLocalState *local)
{
	PgHaMember	m;
	char		json[2048];
	char		err[PGHA_ERR_LEN];
	char		query[PGHA_SESSION_LEN + 16];
	bool		done = false;

	if (w->session[0] == '\0')
		return;
	pgha_build_member(w, local, &m);
	if (pgha_member_to_json(&m, json, sizeof(json)) < 0)
		return;

	/*
	 * Consul already has this record, held by this session (as read this
	 * round): nothing to write.  An idle cluster then costs one request
	 * less per node and round, as Patroni skips an unchanged member too.
	 */
	{
		const PgHaMember *current = pgha_find_member(w->cluster, pg_ha_node_name);
		PgHaMember	moved;
		char		current_json[2048];

		if (current != NULL && strcmp(current->session, w->session) == 0)
		{
			if (pgha_member_to_json(current, current_json, sizeof(current_json)) >= 0 &&
				strcmp(current_json, json) == 0)
				return;
			/* only the WAL position moved: once per loop_wait */
			moved = *current;
			moved.has_xlog = m.has_xlog;
			moved.xlog_location = m.xlog_location;
			if (!ha_position_write_due(w->member_written_ms, pgha_monotonic_ms(),
									   w->loop_wait_ms) &&
				pgha_member_to_json(&moved, current_json, sizeof(current_json)) >= 0 &&
				strcmp(current_json, json) == 0)
				return;
		}
	}
	snprintf(query, sizeof(query), "acquire=%s", w->session);
	if (!dcs_kv_put(w->member_key, json, query, &done, err, sizeof(err)))
		pgha_round_error(w, err);
	else if (done)
		w->member_written_ms = pgha_monotonic_ms();
	else
	{
		snprintf(err, sizeof(err),
				 "member key \"%s\" is held by another session: is node name \"%s\" used twice?",
				 w->member_key, pg_ha_node_name);
		log_error_change(w, err);
		pgha_round_error(w, err);
	}
}

static void
publish_state(HaWorker *w, const HaLocalState *local, const HaDecision *d,
			  const char *err)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	if (pg_atomic_read_u32(&pgha_shared->leader_confirmed))
		strlcpy(pgha_shared->role, "leader", sizeof(pgha_shared->role));
	else if (local->is_primary)
		strlcpy(pgha_shared->role, "primary", sizeof(pgha_shared->role));
	else
		strlcpy(pgha_shared->role, "replica", sizeof(pgha_shared->role));
	strlcpy(pgha_shared->last_action, ha_action_name(d->action),
			sizeof(pgha_shared->last_action));
	strlcpy(pgha_shared->last_reason, d->reason, sizeof(pgha_shared->last_reason));
	strlcpy(pgha_shared->last_error, err[0] ? err : w->round_error,
			sizeof(pgha_shared->last_error));
	/*
	 * A standby cannot take writes: fencing is a primary's state.  A primary
	 * still in its start-up recovery keeps its reason (refusing to join,
	 * say): the connection gate gives it once the recovery is over.
	 */
	if (!local->is_primary && local->in_recovery)
	{
		pgha_shared->fenced = false;
		pgha_shared->fence_reason[0] = '\0';
	}
	strlcpy(pgha_shared->session, w->session, sizeof(pgha_shared->session));
	pgha_shared->last_round = GetCurrentTimestamp();
	if (w->cluster_ok)
	{
		pgha_shared->last_contact = GetCurrentTimestamp();
		pgha_shared->cluster_as_of = pgha_shared->last_contact;
		pgha_shared->cluster_valid = true;
		memcpy(&pgha_shared->cluster, w->cluster, sizeof(PgHaCluster));
	}
	LWLockRelease(pgha_shared->lock);
}

/*
 * Before a replica takes over by itself: the positions the others published
 * may be a loop_wait old, and one of them may have received more since.
 * Ask each other running replica for its position now (its REST API, as
 * Patroni does) and decide again on those; one that does not answer within
 * the timeout keeps the position it published.
 */
static void
decide_on_fresh_positions(HaWorker *w, const HaLocalState *local,
						  const HaConfig *config, HaDecision *d)
{
	PgHaCluster *fresh;
	int			timeout = Min(w->retry_timeout_ms, FRESH_POSITION_TIMEOUT_MS);
	int			updated = 0;

	if (!ha_fresh_positions_wanted(w->cluster, pg_ha_node_name))
		return;
	fresh = palloc(sizeof(PgHaCluster));
	memcpy(fresh, w->cluster, sizeof(PgHaCluster));
	for (int i = 0; i < fresh->nmembers; i++)
	{
		PgHaMember *m = &fresh->members[i];
		PgHaFreshPosition p;
		char		err[PGHA_ERR_LEN];

		if (!ha_fresh_position_wanted(m, pg_ha_node_name))
			continue;
		if (dcs_member_status(m->api_url, timeout, &p, err, sizeof(err)) &&
			ha_apply_fresh_position(m, &p))
			updated++;
	}
	if (updated > 0)
		ha_decide(local, fresh, true, config, d);
	pfree(fresh);
}

static void
ha_round(HaWorker *w, PgHaCluster *scratch)
{
	HaLocalState local;
	HaDecision	d;
	HaConfig	config;
	char		err[PGHA_ERR_LEN];
	bool		ok;
	bool		prefetched = false;
	char		last_leader[PGHA_NAME_LEN];

	err[0] = '\0';
	w->round_error[0] = '\0';
	w->rerun = false;
	w->cluster_ok = false;
	strlcpy(last_leader, w->cluster->leader, sizeof(last_leader));

	ok = pgha_ensure_session(w, err, sizeof(err));
	if (ok)
		ok = pgha_renew_member(w, err, sizeof(err));
	/* the blocking wait's answer, just received, is this round's read */
	if (ok && w->prefetched_ok)
	{
		memcpy(scratch, w->prefetched, sizeof(PgHaCluster));
		prefetched = true;
	}
	else if (ok)
		ok = dcs_read_cluster(w->prefix, scratch, err, sizeof(err));
	w->prefetched_ok = false;
	if (ok)
	{
		memcpy(w->cluster, scratch, sizeof(PgHaCluster));
		w->cluster_ok = true;
		/* once per new complaint, not every round */
		if (w->cluster->nwarnings > 0 &&
			strcmp(w->cluster->warning, w->logged_warning) != 0)
			ereport(WARNING,
					(errmsg("pg_ha: skipped %d bad record(s) in Consul under \"%s\": %s",
							w->cluster->nwarnings, w->prefix, w->cluster->warning)));
		strlcpy(w->logged_warning, w->cluster->nwarnings > 0 ? w->cluster->warning : "",
				sizeof(w->logged_warning));
		apply_timings(w);
		pgha_renew_leader_key(w, err, sizeof(err));
		pgha_watch_leader_key(w);
	}
	log_error_change(w, err);

	pgha_read_local_state(w, &local);
	config.node_name = pg_ha_node_name;
	config.ttl_ms = w->ttl_ms;
	ha_decide(&local, w->cluster, w->cluster_ok, &config, &d);

	/*
	 * The blocking read's answer may have waited in the socket while this
	 * process was stopped or starved: good to see that nothing changed, not
	 * to act on (a withdrawn switchover request, a leader since replaced).
	 * A round about to act reads again first.
	 */
	if (prefetched &&
		ha_decision_acts(d.action, strcmp(last_leader, w->cluster->leader) != 0))
	{
		w->rerun = true;
		return;
	}
	if (d.action == HA_ACQUIRE && !local.is_primary)
		decide_on_fresh_positions(w, &local, &config, &d);
	pgha_do_reinit(w, &d);
	w->recheck_soon = d.recheck_soon;
	w->wake_in_ms = d.wake_in_ms;

	if (d.action != w->logged_action || strcmp(d.reason, w->logged_reason) != 0)
	{
		if (d.action == HA_REFUSE_JOIN)
			ereport(WARNING,
					(errmsg("pg_ha: node \"%s\" refuses to join cluster \"%s\": %s",
							pg_ha_node_name, pg_ha_cluster, d.reason),
					 errdetail("This data directory belongs to another database cluster."),
					 errhint("Use another pg_ha.cluster name, or re-create this node from the cluster's leader.")));
		else
			ereport(LOG,
					(errmsg("pg_ha: %s: %s", ha_action_name(d.action), d.reason)));
		w->logged_action = d.action;
		strlcpy(w->logged_reason, d.reason, sizeof(w->logged_reason));
	}

	pgha_act(w, &d, &local);

	if (w->cluster_ok)
		pgha_give_up_key_if_unfit(w, &d);

	if (w->cluster_ok && d.action != HA_REFUSE_JOIN)
	{
		publish_member(w, &local);
		pgha_serve_restart_request(w, &local);
		/* listing only: a member that stopped stays listed as stopped */
		pgha_note_members(w->prefix, w->cluster, pg_ha_node_name,
						  pgha_key_is_ours(w), w->ttl_ms);
	}
	publish_state(w, &local, &d, err);
	pgha_callbacks_round(w->rerun);
}

/* ----- waiting between rounds */

/* How long to wait before the next round (ha_round_wait_ms), now. */
static int
round_wait_ms(const HaWorker *w)
{
	HaWaitInput in;

	in.now_ms = pgha_monotonic_ms();
	in.ttl_ms = w->ttl_ms;
	in.loop_wait_ms = w->loop_wait_ms;
	in.leading = pgha_key_is_ours(w) && w->lease_expiry_ms > in.now_ms;
	in.lk_sent_ms = w->lk_sent_ms;
	in.lk_renew_failed = w->lk_renew_failed;
	in.check_registered = w->check_registered;
	in.check_passed_ms = w->check_passed_ms;
	in.check_ttl_ms = MEMBER_TTL_FACTOR * w->check_ttl_ms;
	in.has_session = w->session[0] != '\0';
	in.session_renewed_ms = w->session_renewed_ms;
	in.session_ttl_ms = pgha_session_ttl_ms(w);
	in.recheck_soon = w->recheck_soon;
	in.wake_in_ms = w->wake_in_ms;
	return ha_round_wait_ms(&in);
}

static void
wait_between_rounds(HaWorker *w)
{
	int64		start = pgha_monotonic_ms();
	int64		left;
	char		err[PGHA_ERR_LEN];

	if (w->rerun)
		return;

	/*
	 * A promotion takes milliseconds: writes must start when it ends, not a
	 * loop_wait later, so look at the end of recovery often until then.
	 */
	if (ha_phase_polls_promotion(&w->phase))
	{
		w->phase = ha_phase_next(w->phase, HA_EV_PROMOTE_WAITED, 0);
		while (RecoveryInProgress() &&
			   pgha_monotonic_ms() - start < round_wait_ms(w) &&
			   !ShutdownRequestPending && !ConfigReloadPending &&
			   PostmasterIsAlive())
		{
			(void) pgha_worker_wait(WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
									PROMOTE_POLL_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		return;
	}

	/*
	 * The REST API's write requests, right after the round's renewal: their
	 * Consul calls are taken out of this wait, so that the next renewal
	 * comes on time however many there are (up to a loop_wait of them).
	 */
	pgha_api_run_writes();

	if (w->cluster_ok)
	{
		uint64		index = w->leader_index > w->cluster->index ?
			w->leader_index : w->cluster->index;
		bool		delivered;

		err[0] = '\0';
		left = round_wait_ms(w) - (pgha_monotonic_ms() - start);
		if (left <= 0)
			return;
		if (dcs_wait_cluster(w->prefix, &index, (int) left, w->prefetched,
							 &delivered, err, sizeof(err)))
		{
			w->leader_index = index;
			w->prefetched_ok = delivered;
			return;
		}
		log_error_change(w, err);
	}

	/*
	 * Consul is not answering: plain wait for the rest of the loop.  The
	 * postmaster's death ends it; the loop's top then exits the right way
	 * (pgha_exit_on_postmaster_death), never a bare exit here.
	 */
	left = round_wait_ms(w) - (pgha_monotonic_ms() - start);
	if (left > 0)
	{
		(void) pgha_worker_wait(WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
								(long) left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ----- main */

/* Has the postmaster begun to shut down?  It says so in postmaster.pid. */
static bool
postmaster_stopping(void)
{
	FILE	   *f = AllocateFile("postmaster.pid", "r");
	char		line[MAXPGPATH];
	int			n = 0;
	bool		stopping = false;

	if (f == NULL)
		return true;			/* gone: as good as stopping */
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (++n == LOCK_FILE_LINE_PM_STATUS)
		{
			stopping = strncmp(line, PM_STATUS_STOPPING, strlen(PM_STATUS_STOPPING)) == 0;
			break;
		}
	}
	FreeFile(f);
	return stopping;
}

static void
init_worker(HaWorker *w)
{
	memset(w, 0, sizeof(*w));
	w->phase = ha_phase_initial();
	snprintf(w->prefix, sizeof(w->prefix), "%s/%s/", pg_ha_namespace, pg_ha_cluster);
	snprintf(w->leader_key, sizeof(w->leader_key), "%sleader", w->prefix);
	snprintf(w->member_key, sizeof(w->member_key), "%smembers/%s", w->prefix,
			 pg_ha_node_name);
	snprintf(w->initialize_key, sizeof(w->initialize_key), "%sinitialize", w->prefix);
	snprintf(w->config_key, sizeof(w->config_key), "%sconfig", w->prefix);
	snprintf(w->status_key, sizeof(w->status_key), "%sstatus", w->prefix);
	snprintf(w->failover_key, sizeof(w->failover_key), "%sfailover", w->prefix);
	snprintf(w->check_id, sizeof(w->check_id), "pg_ha:%s:%s:%s",
			 pg_ha_namespace, pg_ha_cluster, pg_ha_node_name);
	snprintf(w->sysid, sizeof(w->sysid), UINT64_FORMAT, GetSystemIdentifier());
	w->cluster = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaCluster));
	w->prefetched = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaCluster));
	w->logged_action = (HaAction) -1;
	/* a restarted worker keeps the timings in force, not refused ones */
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	w->ttl_ms = pgha_shared->ttl_ms ? pgha_shared->ttl_ms : pg_ha_ttl;
	w->loop_wait_ms = pgha_shared->loop_wait_ms ? pgha_shared->loop_wait_ms : pg_ha_loop_wait;
	w->retry_timeout_ms = pgha_shared->retry_timeout_ms ?
		pgha_shared->retry_timeout_ms : pg_ha_retry_timeout;
	LWLockRelease(pgha_shared->lock);
	w->local_ttl_ms = w->ttl_ms;
	w->local_loop_wait_ms = w->loop_wait_ms;
	w->local_retry_timeout_ms = w->retry_timeout_ms;
	w->lock_delay_ms = pg_ha_lock_delay;
	adopt_local_timings(w);
	/* the timings in force stay until the config key has been read */
	publish_timings(w);
}

void
pg_ha_worker_main(Datum main_arg)
{
	HaWorker	w;
	PgHaCluster *scratch;
	MemoryContext round_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->worker_pid = MyProcPid;
	pgha_shared->worker_latch = MyLatch;
	LWLockRelease(pgha_shared->lock);

	init_worker(&w);
	scratch = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaCluster));
	round_cxt = AllocSetContextCreate(TopMemoryContext, "pg_ha round",
									  ALLOCSET_DEFAULT_SIZES);
	dcs_init();
	configure_dcs(&w);
	pgha_api_init();
	pgha_api_start();

	ereport(LOG,
			(errmsg("pg_ha: HA worker started for node \"%s\" of cluster \"%s\" (Consul %s, ttl %d ms, loop_wait %d ms)",
					pg_ha_node_name, pg_ha_cluster, pg_ha_consul_url,
					w.ttl_ms, w.loop_wait_ms)));

	while (!ShutdownRequestPending)
	{
		MemoryContext old;

		/*
		 * Never outlive the postmaster: a worker that kept renewing the
		 * session of a dead server would keep its lock alive.
		 */
		if (!PostmasterIsAlive())
			pgha_exit_on_postmaster_death(&w);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			adopt_local_timings(&w);
			apply_timings(&w);
			configure_dcs(&w);
			pgha_api_reload();
			pgha_callbacks_reload();
		}
		ResetLatch(MyLatch);
		/* the REST API: listen (again) when it could not */
		pgha_api_start();

		old = MemoryContextSwitchTo(round_cxt);
		PG_TRY();
		{
			ha_round(&w, scratch);
			wait_between_rounds(&w);
		}
		PG_CATCH();
		{
			/* a bad round must not kill the worker: log it, try again */
			MemoryContextSwitchTo(round_cxt);
			EmitErrorReport();
			FlushErrorState();
			LWLockReleaseAll();
			(void) pgha_worker_wait(WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
									(long) w.loop_wait_ms, PG_WAIT_EXTENSION);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextReset(round_cxt);
	}

	/*
	 * Ended alone (pg_terminate_backend) while the server goes on: keep the
	 * session and the key, and exit 1 so that the postmaster starts the
	 * worker again in a second; exit 0 would leave the node without one.
	 */
	if (!postmaster_stopping())
	{
		pg_atomic_write_u32(&pgha_shared->leader_confirmed, 0);
		ereport(LOG,
				(errmsg("pg_ha: HA worker terminated while the server runs; it is started again")));
		pgha_api_stop();
		dcs_shutdown();
		proc_exit(1);
	}

	switch (ha_phase_end(&w.phase))
	{
		case HA_END_DEMOTION:
			pgha_callbacks_stop(PGHA_CB_STOP_FOR_DEMOTION);
			break;
		case HA_END_RESTART:
			pgha_callbacks_stop(PGHA_CB_STOP_FOR_RESTART);
			break;
		case HA_END_STOP:
			pgha_callbacks_stop(PGHA_CB_STOP);
			break;
	}
	/* health checks answered until the key is released */
	pgha_release_on_shutdown(&w);
	pgha_api_stop();
	dcs_shutdown();
	proc_exit(0);
}
