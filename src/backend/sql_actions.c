/*-------------------------------------------------------------------------
 *
 * sql_actions.c
 *	  The operator's actions in SQL: switchover, failover, pause, resume.
 *
 * Each validates against the cluster as Consul has it now, then writes one
 * Consul key (the failover request, Patroni's format, or the pause flag
 * of the config key), with check-and-set so that concurrent calls never
 * overwrite each other.  The HA workers carry the request out.  Nothing is
 * written when a check fails.  With wait, switchover and failover answer
 * with the outcome, as Patroni's REST API does (api_route.h).  A
 * reinitialize has no key: it is posted to the member's REST API, as
 * patronictl does.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <errno.h>

#include <curl/curl.h>

#include "fmgr.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include <signal.h>
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "api_route.h"
#include "cluster.h"
#include "config_key.h"
#include "dcs.h"
#include "local_state.h"
#include "names.h"
#include "operator_rules.h"
#include "restart_order.h"
#include "settings.h"
#include "state.h"

/* how often positions are read again before a refusal for lag stands */
#define POSITIONS_POLL_MS	200

PG_FUNCTION_INFO_V1(pg_ha_switchover);
PG_FUNCTION_INFO_V1(pg_ha_failover);
PG_FUNCTION_INFO_V1(pg_ha_pause);
PG_FUNCTION_INFO_V1(pg_ha_resume);
PG_FUNCTION_INFO_V1(pg_ha_config);
PG_FUNCTION_INFO_V1(pg_ha_set_config);
PG_FUNCTION_INFO_V1(pg_ha_reload);
PG_FUNCTION_INFO_V1(pg_ha_restart);
PG_FUNCTION_INFO_V1(pg_ha_reinit);

static void
require_active(void)
{
	if (!pg_ha_active())
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_ha is not active on this node"),
				 errhint("Set pg_ha.cluster and pg_ha.node_name in postgresql.conf and restart.")));
}

static void
read_cluster(PgHaCluster *c)
{
	char		err[PGHA_ERR_LEN];
	char	   *prefix = psprintf("%s/%s/", pg_ha_namespace, pg_ha_cluster);

	dcs_connect();
	if (!dcs_read_cluster(prefix, c, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not read cluster \"%s\" from Consul", pg_ha_cluster),
				 errdetail("%s.", err)));
}

static bool
has_leader(const PgHaCluster *c)
{
	return c->has_leader && c->leader_session[0] != '\0';
}

static void
no_pending_request(const PgHaCluster *c)
{
	if (c->has_failover)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a switchover or failover of cluster \"%s\" is already pending",
						pg_ha_cluster),
				 c->failover_member[0] ?
				 errdetail("The request names candidate \"%s\".", c->failover_member) : 0,
				 errhint("Wait for it to complete, or cancel it with: pg_ha_ctl flush %s switchover",
						 pg_ha_cluster)));
}

static bool
is_leader_here(const PgHaCluster *c)
{
	return has_leader(c) && strcmp(c->leader, pg_ha_node_name) == 0;
}

/* loop_wait in force: the HA worker's, else this node's setting */
static int
loop_wait_now(void)
{
	int			ms;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	ms = pgha_shared->loop_wait_ms > 0 ? pgha_shared->loop_wait_ms : pg_ha_loop_wait;
	LWLockRelease(pgha_shared->lock);
	return ms;
}

/* refusals that rest on the positions the members published */
static bool
position_refusal(PgHaOpReason reason)
{
	return reason == PGHA_OP_CANDIDATE_LAGS ||
		reason == PGHA_OP_CANDIDATE_NO_POSITION ||
		reason == PGHA_OP_NO_GOOD_CANDIDATE;
}

/*
 * A member writes a position that moved at most once per loop_wait, so
 * right after a burst of writes a caught-up replica can look behind for up
 * to two loop_waits.  Off the leader (which judges on its own walsenders),
 * such a refusal is judged again on the cluster read anew until then.
 * True when the request passes now; c and v hold the last read.
 */
static bool
judge_again(PgHaCluster *c, const PgHaOpRequest *req, PgHaOpVerdict *v)
{
	int64		deadline = pgha_monotonic_ms() + 2 * (int64) loop_wait_now();

	while (pgha_monotonic_ms() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 POSITIONS_POLL_MS, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		read_cluster(c);
		pgha_apply_live_positions(c);
		if (pgha_rule_request(c, req, v))
			return true;
		if (!position_refusal(v->reason) || is_leader_here(c))
			return false;
	}
	return false;
}

/*
 * The operator's rules (operator_rules.h), the same as the REST API's and
 * pg_ha_ctl's; a refusal becomes the error of pg_ha_switchover() or
 * pg_ha_failover().  Phrases without an errmsg of their own go through
 * the "member ... %s" and "cluster ...: %s" forms.
 */
static void
check_request(PgHaCluster *c, PgHaOpAction action, const char *candidate,
			  bool force, bool scheduled)
{
	PgHaOpRequest req = {action, NULL, candidate, force, scheduled};
	PgHaOpVerdict v;
	const PgHaMember *m;
	const char *fn = action == PGHA_OP_SWITCHOVER ? "pg_ha_switchover" : "pg_ha_failover";
	bool		ok = pgha_rule_request(c, &req, &v);

	if (!ok && position_refusal(v.reason) && !is_leader_here(c))
		ok = judge_again(c, &req, &v);
	if (ok)
	{
		if (v.unsafe)
			ereport(WARNING,
					(errmsg("member \"%s\" is not the synchronous standby: commits the last leader acknowledged may be lost",
							candidate)));
		return;
	}
	switch (v.reason)
	{
		case PGHA_OP_SCHEDULED_PAUSED:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cluster \"%s\": %s", pg_ha_cluster,
							"a switchover cannot be scheduled while the cluster is paused"),
					 errhint("Resume the cluster first (pg_ha_resume()), or switch over now.")));
			break;
		case PGHA_OP_PAUSED_NO_CANDIDATE:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cluster \"%s\": %s", pg_ha_cluster,
							"while the cluster is paused a switchover goes only to a named candidate"),
					 errhint("Name the candidate: SELECT %s('<member>').", fn)));
			break;
		case PGHA_OP_PENDING:
			no_pending_request(c);
			break;
		case PGHA_OP_NO_LEADER:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cluster \"%s\" has no leader to switch over from", pg_ha_cluster),
					 errhint("Use pg_ha_failover(candidate) to make a replica the leader.")));
			break;
		case PGHA_OP_CANDIDATE_IS_LEADER:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("member \"%s\" is already the leader", candidate),
					 errhint("Name a replica as the candidate.")));
			break;
		case PGHA_OP_CANDIDATE_UNKNOWN:
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cluster \"%s\" has no member \"%s\"", pg_ha_cluster, candidate),
					 errhint("SELECT member FROM pg_ha_status lists the members.")));
			break;
		case PGHA_OP_CANDIDATE_NOT_RUNNING:
		case PGHA_OP_CANDIDATE_NOT_REPLICA:
			m = pgha_find_member(c, candidate);
			if (m == NULL)
				m = pgha_find_stopped_member(c, candidate);
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("member \"%s\" is not a running replica", candidate),
					 m != NULL ? errdetail("Its state is \"%s\", its role \"%s\".", m->state, m->role) : 0));
			break;
		case PGHA_OP_CANDIDATE_NOFAILOVER:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("member \"%s\" is tagged nofailover", candidate),
					 errhint("Remove pg_ha.nofailover on that node, or choose another candidate.")));
			break;
		case PGHA_OP_CANDIDATE_NOT_SYNC:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("member \"%s\" %s", candidate,
							"is not the synchronous standby: in synchronous mode only the synchronous standby may take over from a running leader"),
					 c->nsync > 0 ? errdetail("The synchronous standby is \"%s\".", c->sync_standby[0]) : 0,
					 errhint("Name the synchronous standby, or turn synchronous_mode off first.")));
			break;
		case PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("member \"%s\" %s", candidate,
							"is not the synchronous standby: it may lack commits the last leader acknowledged"),
					 c->nsync > 0 ? errdetail("The synchronous standby is \"%s\".", c->sync_standby[0]) : 0,
					 errhint("To promote it all the same, accepting the loss: SELECT pg_ha_failover('%s', force => true)",
							 candidate)));
			break;
		case PGHA_OP_CANDIDATE_NO_POSITION:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("member \"%s\" %s", candidate, "has not published its WAL position"),
					 errhint("Its lag cannot be checked: wait until it reports its position, or choose another candidate.")));
			break;
		case PGHA_OP_CANDIDATE_LAGS:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("member \"%s\" lags %lld bytes behind the leader", candidate,
							(long long) v.lag),
					 errdetail("maximum_lag_on_failover is %lld bytes.",
							   (long long) c->max_lag_on_failover),
					 errhint("Wait until it has caught up, or choose another candidate.")));
			break;
		case PGHA_OP_NO_SYNC_STANDBY:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cluster \"%s\": %s", pg_ha_cluster,
							"synchronous mode is on and the cluster has no synchronous standby"),
					 errhint("Wait until the leader has named a synchronous standby (pg_ha_status shows it as Sync Standby).")));
			break;
		case PGHA_OP_ONLY_LEADER:
		case PGHA_OP_NO_GOOD_CANDIDATE:
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("cluster \"%s\" has no replica that may take over", pg_ha_cluster),
					 errhint("A candidate must be a running replica not tagged nofailover, within maximum_lag_on_failover of the leader; in synchronous mode, the synchronous standby.")));
			break;
		default:
			/* SQL names no leader, and pg_ha_failover() is STRICT */
			elog(ERROR, "%s refused: %s", fn, pgha_rule_reason_name(v.reason));
	}
}

/*
 * This session asks its own node to step down or restart, which ends it:
 * the HA worker lets it send its answer first (pgha_let_caller_finish(),
 * actions.c).
 */
static void
note_caller(void)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->action_caller = MyProcPid;
	LWLockRelease(pgha_shared->lock);
}

/*
 * Write the failover request, only if none exists (a key that holds no
 * request, {}, is replaced: key_index is its ModifyIndex, 0 when absent);
 * wake our worker.
 */
static void
write_request(const char *leader, const char *member, const char *scheduled_at,
			  uint64 key_index)
{
	char		body[1024];
	char		err[PGHA_ERR_LEN];
	bool		done = false;

	if (pgha_failover_request_json(leader, member, scheduled_at, body, sizeof(body)) < 0)
		elog(ERROR, "could not format the failover request");
	if (!dcs_kv_put(dcs_cluster_key("failover"), body,
					psprintf("cas=" UINT64_FORMAT, key_index), &done, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not write the request to Consul"),
				 errdetail("%s.", err)));
	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a switchover or failover of cluster \"%s\" is already pending",
						pg_ha_cluster),
				 errhint("Wait for it to complete, or cancel it with: pg_ha_ctl flush %s switchover",
						 pg_ha_cluster)));
	if (pgha_shared->worker_latch != NULL)
		SetLatch(pgha_shared->worker_latch);
}

/* Patroni's format: 2026-11-25T20:00:00.123456+00:00 */
static char *
iso_time(TimestampTz t)
{
	pg_time_t	secs = timestamptz_to_time_t(t);
	struct pg_tm *tm = pg_gmtime(&secs);
	char		buf[64];

	pg_strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", tm);
	return psprintf("%s.%06d+00:00", buf,
					(int) ((t % USECS_PER_SEC + USECS_PER_SEC) % USECS_PER_SEC));
}

/* A future time as Patroni writes it; a past one is refused. */
static char *
scheduled_time(TimestampTz at)
{
	if (at <= GetCurrentTimestamp())
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("scheduled time %s is in the past", timestamptz_to_str(at)),
				 errhint("Give a future time, or NULL for now.")));
	return iso_time(at);
}

/*
 * wait: the outcome is awaited here, so the leader's own step-down must not
 * end this session first.  Refused before anything is written.
 */
static void
no_wait_on_leader(const PgHaCluster *c, const char *function)
{
	if (is_leader_here(c))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s cannot wait on the leader \"%s\"", function, pg_ha_node_name),
				 errdetail("The leader's step-down terminates this session before the new leader is known."),
				 errhint("Call it with wait => true on a replica, or without wait here.")));
}

/*
 * Wait for the outcome of the request just written, as Patroni's REST API
 * does: a look at the cluster in Consul every second, for twice
 * max(10 s, loop_wait).  Returns Patroni's text for a new leader; a request
 * withdrawn without one, or no outcome in time, is an error.
 */
static text *
wait_for_outcome(bool switchover, const char *old_leader, const char *candidate)
{
	const char *action = switchover ? "switchover" : "failover";
	char	   *prefix = psprintf("%s/%s/", pg_ha_namespace, pg_ha_cluster);
	PgHaCluster *c = palloc0(sizeof(PgHaCluster));
	PgHaOutcome outcome = PGHA_OUTCOME_PENDING;
	int			loop_wait_ms;
	int			wait_ms;
	int64		deadline;
	int64		next_poll;
	char		msg[PGHA_ERR_LEN];

	loop_wait_ms = loop_wait_now();
	wait_ms = pgha_failover_wait_ms(loop_wait_ms);
	next_poll = pgha_monotonic_ms() + PGHA_OUTCOME_POLL_MS;
	deadline = pgha_monotonic_ms() + wait_ms;

	while (outcome == PGHA_OUTCOME_PENDING)
	{
		int64		now = pgha_monotonic_ms();
		char		err[PGHA_ERR_LEN];

		if (now < next_poll)
		{
			(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
							 (long) (next_poll - now), PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		next_poll = now + PGHA_OUTCOME_POLL_MS;
		/* a failed read is no outcome: look again, as Patroni does */
		if (dcs_read_cluster(prefix, c, err, sizeof(err)))
			outcome = pgha_failover_outcome(c, old_leader, candidate);
		if (outcome == PGHA_OUTCOME_PENDING && pgha_monotonic_ms() >= deadline)
			outcome = PGHA_OUTCOME_UNKNOWN;
	}

	if (outcome == PGHA_OUTCOME_FAILED)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s of cluster \"%s\" failed", action, pg_ha_cluster),
				 has_leader(c) ?
				 errdetail("The request was withdrawn and \"%s\" is still the leader: the leader refused it, or it was cancelled.",
						   c->leader) :
				 errdetail("The request was withdrawn and the cluster has no leader: it was cancelled."),
				 errhint("See the servers' logs (\"dropped the switchover request\").")));
	if (outcome == PGHA_OUTCOME_UNKNOWN)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s status unknown: cluster \"%s\" has no new leader after %d s",
						action, pg_ha_cluster, wait_ms / 1000),
				 errdetail("The request stays in Consul; the HA workers may still carry it out."),
				 errhint("Watch pg_ha_status, or cancel the request with: pg_ha_ctl flush %s switchover",
						 pg_ha_cluster)));
	(void) pgha_failover_outcome_text(outcome, switchover, c->leader, candidate,
									  msg, sizeof(msg));
	return cstring_to_text(msg);
}

static void
notice_if_stepping_down(const PgHaCluster *c)
{
	if (is_leader_here(c))
		ereport(NOTICE,
				(errmsg("this node, \"%s\", steps down: its client sessions, this one included, will be terminated",
						pg_ha_node_name),
				 errhint("Reconnect through HAProxy's primary port to reach the new leader.")));
}

Datum
pg_ha_switchover(PG_FUNCTION_ARGS)
{
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	const char *candidate = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	char	   *when = NULL;

	/* an older definition of the function has no wait */
	bool		wait = PG_NARGS() > 2 && !PG_ARGISNULL(2) && PG_GETARG_BOOL(2);

	require_active();
	if (!PG_ARGISNULL(1))
		when = scheduled_time(PG_GETARG_TIMESTAMPTZ(1));
	read_cluster(c);
	pgha_apply_live_positions(c);
	check_request(c, PGHA_OP_SWITCHOVER, candidate, false, when != NULL);

	/* a scheduled one has nothing to wait for yet (Patroni answers 202) */
	if (when != NULL)
		wait = false;
	if (wait)
		no_wait_on_leader(c, "pg_ha_switchover");

	if (when == NULL && is_leader_here(c))
		note_caller();
	write_request(c->leader, candidate, when, c->failover_key_index);
	if (wait)
		PG_RETURN_TEXT_P(wait_for_outcome(true, c->leader, candidate));
	if (when == NULL)
		notice_if_stepping_down(c);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("switchover from \"%s\" to %s requested%s%s",
											  c->leader,
											  candidate ? psprintf("\"%s\"", candidate) :
											  "the healthiest replica",
											  when ? " for " : "", when ? when : "")));
}

Datum
pg_ha_failover(PG_FUNCTION_ARGS)
{
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	const char *candidate = text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		force = PG_NARGS() > 1 && PG_GETARG_BOOL(1);
	bool		wait = PG_NARGS() > 2 && PG_GETARG_BOOL(2);

	require_active();
	read_cluster(c);
	pgha_apply_live_positions(c);
	check_request(c, PGHA_OP_FAILOVER, candidate, force, false);
	if (wait)
		no_wait_on_leader(c, "pg_ha_failover");
	if (is_leader_here(c))
		note_caller();
	write_request(has_leader(c) ? c->leader : NULL, candidate, NULL,
				  c->failover_key_index);
	if (wait)
		PG_RETURN_TEXT_P(wait_for_outcome(false, has_leader(c) ? c->leader : NULL,
										  candidate));
	notice_if_stepping_down(c);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("failover to \"%s\" requested", candidate)));
}

/*
 * Change the config key: edit() turns the current value (NULL: no key) into
 * the new one in buf and returns its length (< 0: error in err).  Written
 * with check-and-set, read again on a conflict.
 */
typedef int (*ConfigEdit) (const char *current, void *arg, char *buf,
						   size_t buflen, char *err, size_t errlen);

static void
update_config(ConfigEdit edit, void *arg)
{
	char	   *key;
	char		err[PGHA_ERR_LEN];

	dcs_connect();
	key = dcs_cluster_key("config");
	for (int attempt = 0; attempt < 5; attempt++)
	{
		char	   *current;
		uint64_t	index;
		bool		found;
		bool		done;
		char		body[PGHA_CONFIG_LEN];

		/* each request ends on a cancel (dcs_consul.c); so does the loop */
		CHECK_FOR_INTERRUPTS();
		if (!dcs_kv_get_raw(key, &current, &index, &found, err, sizeof(err)))
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not read the configuration of cluster \"%s\" from Consul",
							pg_ha_cluster),
					 errdetail("%s.", err)));
		if (edit(found ? current : NULL, arg, body, sizeof(body), err, sizeof(err)) < 0)
			ereport(ERROR,
					(errcode(ERRCODE_DATA_CORRUPTED),
					 errmsg("the configuration of cluster \"%s\" in Consul cannot be changed",
							pg_ha_cluster),
					 errdetail("%s.", err),
					 errhint("Repair key \"%s\".", key)));
		if (!dcs_kv_put(key, body,
						psprintf("cas=" UINT64_FORMAT, found ? (uint64) index : (uint64) 0),
						&done, err, sizeof(err)))
			ereport(ERROR,
					(errcode(ERRCODE_CONNECTION_FAILURE),
					 errmsg("could not write the configuration of cluster \"%s\" to Consul",
							pg_ha_cluster),
					 errdetail("%s.", err)));
		if (done)
		{
			if (pgha_shared->worker_latch != NULL)
				SetLatch(pgha_shared->worker_latch);
			return;
		}
		/* someone changed the config meanwhile: read it again */
	}
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("the configuration of cluster \"%s\" kept changing; nothing was written",
					pg_ha_cluster),
			 errhint("Try again.")));
}

static int
edit_pause(const char *current, void *arg, char *buf, size_t buflen,
		   char *err, size_t errlen)
{
	bool		pause = *(bool *) arg;
	int			n = pgha_config_with_pause(current, current ? strlen(current) : 0,
										   pause, buf, buflen, err, errlen);

	if (n == -2)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cluster \"%s\" is already %s", pg_ha_cluster,
						pause ? "paused" : "resumed")));
	return n;
}

static void
set_pause(bool pause)
{
	require_active();
	update_config(edit_pause, &pause);
}

Datum
pg_ha_pause(PG_FUNCTION_ARGS)
{
	set_pause(true);
	PG_RETURN_TEXT_P(cstring_to_text("cluster management is paused: no automatic failover"));
}

Datum
pg_ha_resume(PG_FUNCTION_ARGS)
{
	set_pause(false);
	PG_RETURN_TEXT_P(cstring_to_text("cluster management is resumed"));
}

/* The cluster-wide configuration (the config key), as jsonb. */
Datum
pg_ha_config(PG_FUNCTION_ARGS)
{
	char	   *value;
	uint64_t	index;
	bool		found;
	char		err[PGHA_ERR_LEN];

	require_active();
	dcs_connect();
	if (!dcs_kv_get_raw(dcs_cluster_key("config"), &value, &index, &found, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not read the configuration of cluster \"%s\" from Consul",
						pg_ha_cluster),
				 errdetail("%s.", err)));
	if (!found)
		PG_RETURN_NULL();
	PG_RETURN_DATUM(DirectFunctionCall1(jsonb_in, CStringGetDatum(value)));
}

static int
edit_parameter(const char *current, void *arg, char *buf, size_t buflen,
			   char *err, size_t errlen)
{
	const char **nv = (const char **) arg;

	return pgha_config_with_parameter(current, nv[0], nv[1], buf, buflen, err, errlen);
}

static bool
is_timing(const char *name)
{
	return strcmp(name, "ttl") == 0 || strcmp(name, "loop_wait") == 0 ||
		strcmp(name, "retry_timeout") == 0;
}

/*
 * A timing value: a bare number is seconds, as in Patroni's config key;
 * with a unit (500ms, 1min), PostgreSQL's reading of units.
 */
static int
timing_ms(const char *name, const char *value)
{
	double		sec;
	char	   *end;
	int			ms;
	const char *hint = NULL;

	errno = 0;
	sec = strtod(value, &end);
	if (end != value && *end == '\0' && errno == 0)
	{
		if (!(sec >= 0 && sec <= 3600))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("%s of %s s is out of range", name, value),
					 errhint("Give seconds, or a value with a unit such as 500ms.")));
		return (int) (sec * 1000.0 + 0.5);
	}
	if (!parse_int(value, &ms, GUC_UNIT_MS, &hint))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for %s: \"%s\"", name, value),
				 hint ? errhint("%s", hint) :
				 errhint("Give seconds, or a value with a unit such as 500ms.")));
	return ms;
}

/*
 * Set a timing of the config key, checked before anything is written: in
 * range, and the rule loop_wait + 2 * retry_timeout <= ttl kept with the
 * other two as they would be in force (the config key's, else this
 * node's settings).
 */
static int
edit_timing(const char *current, void *arg, char *buf, size_t buflen,
			char *err, size_t errlen)
{
	const char **nv = (const char **) arg;
	int			ms = nv[1] ? *(const int *) nv[1] : -1;
	int			n;
	int			ttl = pg_ha_ttl;
	int			loop_wait = pg_ha_loop_wait;
	int			retry = pg_ha_retry_timeout;
	char		why[PGHA_ERR_LEN];

	n = pgha_config_with_timing(current, nv[0], ms, buf, buflen, err, errlen);
	if (n < 0)
		return n;
	if (!pgha_config_timings(buf, &ttl, &loop_wait, &retry, why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid %s for cluster \"%s\"", nv[0], pg_ha_cluster),
				 errdetail("%s.", why),
				 errhint("ttl may be 2 s to 1 h, loop_wait and retry_timeout 100 ms to 1 h.")));
	if (!pgha_timing_valid(ttl, loop_wait, retry, why, sizeof(why)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid timings for cluster \"%s\"", pg_ha_cluster),
				 errdetail("With this change: %s.", why),
				 errhint("Keep loop_wait + 2 * retry_timeout <= ttl: raise ttl first, or lower loop_wait or retry_timeout first.")));
	return n;
}

static int
edit_sync_setting(const char *current, void *arg, char *buf, size_t buflen,
				  char *err, size_t errlen)
{
	const char **nv = (const char **) arg;

	return pgha_config_with_sync_setting(current, nv[0], nv[1], buf, buflen,
										 err, errlen);
}

/*
 * synchronous_mode, synchronous_mode_strict, synchronous_node_count: not
 * PostgreSQL parameters but top-level keys of the config key, as Patroni
 * has them.  The value is checked first; nothing is written when it is bad.
 */
static text *
set_sync_setting(const char *name, const char *value)
{
	char		err[PGHA_ERR_LEN];
	long long	v;
	const char *nv[2];

	if (value != NULL && !pgha_sync_setting_value(name, value, &v, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid value for \"%s\": \"%s\"", name, value),
				 errdetail("%s.", err)));
	nv[0] = name;
	nv[1] = value;
	update_config(edit_sync_setting, nv);
	return cstring_to_text(value ?
						   psprintf("%s = '%s' set for cluster \"%s\"", name, value, pg_ha_cluster) :
						   psprintf("%s removed from cluster \"%s\"", name, pg_ha_cluster));
}

/*
 * Set (value NULL: remove) one PostgreSQL parameter cluster-wide.  The
 * value is checked by PostgreSQL's own validation first; Consul is written
 * with check-and-set, so concurrent edits never overwrite each other.
 */
Datum
pg_ha_set_config(PG_FUNCTION_ARGS)
{
	char	   *name;
	char	   *value = PG_ARGISNULL(1) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(1));
	const char *why;
	const char *nv[2];

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("the parameter name must not be NULL")));
	name = text_to_cstring(PG_GETARG_TEXT_PP(0));
	require_active();
	if (is_timing(name))
	{
		int			ms = value ? timing_ms(name, value) : -1;

		nv[0] = name;
		nv[1] = value ? (const char *) &ms : NULL;
		update_config(edit_timing, nv);
		PG_RETURN_TEXT_P(cstring_to_text(value ?
										 psprintf("%s = %d ms set for cluster \"%s\"", name, ms, pg_ha_cluster) :
										 psprintf("%s removed from cluster \"%s\": each node's pg_ha.%s applies", name, pg_ha_cluster, name)));
	}
	if (pgha_is_sync_setting(name))
		PG_RETURN_TEXT_P(set_sync_setting(name, value));
	if ((why = pgha_owned_parameter(name)) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_CANT_CHANGE_RUNTIME_PARAM),
				 errmsg("parameter \"%s\" cannot be set cluster-wide", name),
				 errdetail("%s.", why)));
	if (GetConfigOption(name, true, false) == NULL && strchr(name, '.') == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("unrecognized configuration parameter \"%s\"", name)));
	/* PostgreSQL's own check of the value; nothing is changed here */
	if (value != NULL)
		(void) set_config_option(name, value, PGC_POSTMASTER, PGC_S_TEST,
								 GUC_ACTION_SET, false, ERROR, false);

	nv[0] = name;
	nv[1] = value;
	update_config(edit_parameter, nv);
	PG_RETURN_TEXT_P(cstring_to_text(value ?
									 psprintf("%s = '%s' set for cluster \"%s\"", name, value, pg_ha_cluster) :
									 psprintf("%s removed from cluster \"%s\"", name, pg_ha_cluster)));
}

/* Reload this node's configuration, as pg_reload_conf() does. */
Datum
pg_ha_reload(PG_FUNCTION_ARGS)
{
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(ERROR,
				(errmsg("could not send a reload signal to the postmaster: %m")));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("reload of node \"%s\" requested",
											  pg_ha_node_name ? pg_ha_node_name : "")));
}

/* Refuse a restart order that would stop a hot standby. */
static void
check_restart_order(const PgHaCluster *c, const char *const *names, int n,
					char (*order)[PGHA_NAME_LEN])
{
	char		msg[PGHA_ERR_LEN * 2];
	char		hint[PGHA_ERR_LEN * 2];

	if (!pgha_restart_order(c, names, n, order, msg, sizeof(msg), hint, sizeof(hint)))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("%s", msg),
				 errdetail("A hot standby stops when max_connections, max_worker_processes, max_wal_senders, max_prepared_transactions or max_locks_per_transaction is lower than on its primary."),
				 errhint("%s", hint)));
}

static void
no_restart_pending(const PgHaCluster *c, const char *member)
{
	for (int i = 0; i < c->nrestarts; i++)
		if (strcmp(c->restarts[i].member, member) == 0)
			ereport(ERROR,
					(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
					 errmsg("a restart of member \"%s\" is already pending", member)));
}

/* restart/<member>, only if none exists */
static void
write_restart_request(const char *member, bool pending_only, const char *when,
					  const char *wait_for)
{
	char		err[PGHA_ERR_LEN];
	bool		done;
	char	   *body;

	body = psprintf("{\"pending_only\":%s%s%s%s%s%s%s}", pending_only ? "true" : "false",
					when ? ",\"scheduled_at\":\"" : "", when ? when : "", when ? "\"" : "",
					wait_for ? ",\"wait_for\":\"" : "", wait_for ? wait_for : "",
					wait_for ? "\"" : "");
	if (!dcs_kv_put(psprintf("%s/%s/restart/%s", pg_ha_namespace, pg_ha_cluster, member),
					body, "cas=0", &done, err, sizeof(err)))
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not write the restart request to Consul"),
				 errdetail("%s.", err)));
	if (!done)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("a restart of member \"%s\" is already pending", member)));
}

/*
 * Ask a member to restart: a restart/<member> key that its HA worker
 * carries out, keeping its Consul session (a leader keeps its lock).
 * pending_only: only when a setting waits for a restart.  Without a
 * member, every member restarts, one after the other, in the order hot
 * standby needs (each key names the member to wait for).  A single restart
 * that would leave a replica below its leader's hot standby values is
 * refused.
 */
Datum
pg_ha_restart(PG_FUNCTION_ARGS)
{
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	const char *member = PG_ARGISNULL(0) ? NULL : text_to_cstring(PG_GETARG_TEXT_PP(0));
	bool		pending_only = !PG_ARGISNULL(1) && PG_GETARG_BOOL(1);
	char	   *when = NULL;
	const PgHaMember *m;
	const char *names[PGHA_MAX_MEMBERS];
	char		order[PGHA_MAX_MEMBERS][PGHA_NAME_LEN];
	int			n = 0;
	StringInfoData list;
	bool		self = false;

	require_active();
	if (!PG_ARGISNULL(2))
		when = scheduled_time(PG_GETARG_TIMESTAMPTZ(2));
	read_cluster(c);

	if (member != NULL)
	{
		m = pgha_find_member(c, member);
		if (m == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("cluster \"%s\" has no member \"%s\"", pg_ha_cluster, member),
					 errhint("SELECT member FROM pg_ha_status lists the members.")));
		if (pending_only && !m->pending_restart)
			PG_RETURN_TEXT_P(cstring_to_text(psprintf("member \"%s\" has no setting pending a restart: nothing to do",
													  member)));
		names[0] = member;
		check_restart_order(c, names, 1, order);
		if (when == NULL && strcmp(member, pg_ha_node_name) == 0)
			note_caller();
		write_restart_request(member, pending_only, when, NULL);
		self = strcmp(member, pg_ha_node_name) == 0;
	}
	else
	{
		for (int i = 0; i < c->nmembers; i++)
			if (!pending_only || c->members[i].pending_restart)
				names[n++] = c->members[i].name;
		if (n == 0)
			PG_RETURN_TEXT_P(cstring_to_text(psprintf(pending_only ?
													  "no member of cluster \"%s\" has a setting pending a restart: nothing to do" :
													  "cluster \"%s\" has no member: nothing to restart",
													  pg_ha_cluster)));
		check_restart_order(c, names, n, order);
		for (int i = 0; i < n; i++)
			no_restart_pending(c, order[i]);
		for (int i = 0; i < n && when == NULL; i++)
			if (strcmp(order[i], pg_ha_node_name) == 0)
				note_caller();
		/* each waits for the one before it: the workers keep the order */
		for (int i = 0; i < n; i++)
		{
			write_restart_request(order[i], pending_only, when, i > 0 ? order[i - 1] : NULL);
			self |= strcmp(order[i], pg_ha_node_name) == 0;
		}
	}
	if (self)
	{
		if (n <= 1)
			ereport(NOTICE,
					(errmsg("this node restarts: this session will be terminated")));
		if (pgha_shared->worker_latch != NULL)
			SetLatch(pgha_shared->worker_latch);
	}
	if (member != NULL)
		PG_RETURN_TEXT_P(cstring_to_text(psprintf("restart of member \"%s\" requested%s%s", member,
												  when ? " for " : "", when ? when : "")));
	initStringInfo(&list);
	for (int i = 0; i < n; i++)
		appendStringInfo(&list, "%s%s", i == 0 ? "" : (i == n - 1 ? ", then " : ", "), order[i]);
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("restart of cluster \"%s\" requested%s%s: %s, one after the other",
											  pg_ha_cluster, when ? " for " : "", when ? when : "",
											  list.data)));
}

/* ----- pg_ha_reinit */

/* the start of a member's answer; no palloc in libcurl's callback */
typedef struct ApiAnswer
{
	char		text[256];
	size_t		len;
} ApiAnswer;

static size_t
collect_answer(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	ApiAnswer  *a = (ApiAnswer *) userdata;
	size_t		n = size * nmemb;
	size_t		room = sizeof(a->text) - 1 - a->len;

	memcpy(a->text + a->len, ptr, Min(n, room));
	a->len += Min(n, room);
	a->text[a->len] = '\0';
	return n;
}

/* end the transfer when the session is asked to cancel or terminate */
static int
answer_progress(void *p, curl_off_t dltotal, curl_off_t dlnow,
				curl_off_t ultotal, curl_off_t ulnow)
{
	return InterruptPending ? 1 : 0;
}

/*
 * POST body to <member's REST API>/<path>, with the credentials this node's
 * own API asks for (pg_ha.api_auth; over HTTPS pg_ha.api_cafile as the CA,
 * and this node's certificate as the client's).  The HTTP status with the
 * start of the answer, or -1 with err.
 */
static long
post_to_member(const PgHaMember *m, const char *path, const char *body,
			   ApiAnswer *answer, char *url, size_t urllen,
			   char *err, size_t errlen)
{
	const char *scheme_end = strstr(m->api_url, "://");
	const char *slash;
	CURL	   *curl;
	struct curl_slist *headers = NULL;
	char		curl_err[CURL_ERROR_SIZE] = "";
	long		status = -1;
	CURLcode	rc;

	if (scheme_end == NULL || (strncmp(m->api_url, "http://", 7) != 0 &&
							   strncmp(m->api_url, "https://", 8) != 0))
	{
		snprintf(err, errlen, "its api_url \"%s\" is not an http(s) URL", m->api_url);
		return -1;
	}
	slash = strchr(scheme_end + 3, '/');
	snprintf(url, urllen, "%.*s/%s",
			 (int) (slash ? slash - m->api_url : strlen(m->api_url)), m->api_url, path);

	memset(answer, 0, sizeof(*answer));
	curl = curl_easy_init();
	if (curl == NULL)
	{
		snprintf(err, errlen, "could not initialize libcurl");
		return -1;
	}
	headers = curl_slist_append(headers, "Content-Type: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "pg_ha/" PG_HA_VERSION);
	if (pg_ha_api_auth != NULL && strchr(pg_ha_api_auth, ':') != NULL)
	{
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERPWD, pg_ha_api_auth);
	}
	if (pg_ha_api_cafile != NULL && pg_ha_api_cafile[0] != '\0')
	{
		curl_easy_setopt(curl, CURLOPT_CAINFO, pg_ha_api_cafile);
		if (pg_ha_api_certfile != NULL && pg_ha_api_certfile[0] != '\0')
			curl_easy_setopt(curl, CURLOPT_SSLCERT, pg_ha_api_certfile);
		if (pg_ha_api_keyfile != NULL && pg_ha_api_keyfile[0] != '\0')
			curl_easy_setopt(curl, CURLOPT_SSLKEY, pg_ha_api_keyfile);
	}
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	/* the member answers once it has read the cluster from Consul */
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long) (pg_ha_retry_timeout + 10000));
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect_answer);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, answer);
	curl_easy_setopt(curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(curl, CURLOPT_XFERINFOFUNCTION, answer_progress);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	else
		snprintf(err, errlen, "%s", curl_err[0] ? curl_err : curl_easy_strerror(rc));
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	CHECK_FOR_INTERRUPTS();
	return status;
}

/*
 * Clone a replica again from the leader, as patronictl reinit does: POST
 * /reinitialize to the member's REST API (this node's too), whose HA
 * worker stops its server and runs `pg_ha_ctl rejoin --reinit`.  Checked
 * here first against the cluster in Consul: a leader, and the member a
 * running replica.
 */
Datum
pg_ha_reinit(PG_FUNCTION_ARGS)
{
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	const char *member = text_to_cstring(PG_GETARG_TEXT_PP(0));
	const PgHaMember *m;
	ApiAnswer	answer;
	char		url[PGHA_URL_LEN + 32];
	char		err[PGHA_ERR_LEN];
	long		status;
	bool		self;

	require_active();
	if (!pgha_valid_name(member))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid member name \"%s\"", member),
				 errhint("SELECT member FROM pg_ha_status lists the members.")));
	read_cluster(c);
	m = pgha_find_member(c, member);
	if (m == NULL && pgha_find_stopped_member(c, member) != NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("member \"%s\" is stopped: its REST API cannot reinitialize it", member),
				 errhint("Start its server first, or clone it again on its host with pg_ha_ctl rejoin --reinit.")));
	if (m == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("cluster \"%s\" has no member \"%s\"", pg_ha_cluster, member),
				 errhint("SELECT member FROM pg_ha_status lists the members.")));
	if (!has_leader(c))
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("cluster \"%s\" has no leader to clone member \"%s\" from",
						pg_ha_cluster, member),
				 errhint("Wait for a leader (pg_ha_status), or promote one with pg_ha_failover().")));
	if (strcmp(c->leader, member) == 0)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("member \"%s\" is the leader: only a replica can be reinitialized", member),
				 errhint("Switch over to another member first (pg_ha_switchover), then reinitialize \"%s\".",
						 member)));

	/* our own worker stops this server: it lets this session answer first */
	self = strcmp(member, pg_ha_node_name) == 0;
	if (self)
		note_caller();
	status = post_to_member(m, "reinitialize", "{\"force\": false}", &answer,
							url, sizeof(url), err, sizeof(err));
	if (status < 0)
		ereport(ERROR,
				(errcode(ERRCODE_CONNECTION_FAILURE),
				 errmsg("could not ask member \"%s\" to reinitialize", member),
				 errdetail("POST %s: %s.", url, err)));
	/* outside text into a message: printable ASCII only */
	for (char *p = answer.text; *p; p++)
		if (*p < 0x20 || *p > 0x7e)
			*p = ' ';
	if (status != 200)
		ereport(ERROR,
				(errcode(status == 401 || status == 403 ?
						 ERRCODE_INSUFFICIENT_PRIVILEGE :
						 ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("member \"%s\" refused to reinitialize: %s", member,
						answer.text),
				 errdetail("POST %s answered HTTP %ld.", url, status),
				 (status == 401 || status == 403) ?
				 errhint("The members' REST API takes writes with pg_ha.api_auth (the same user:password on every node), or from loopback when it is empty.") : 0));
	if (self)
		ereport(NOTICE,
				(errmsg("this node, \"%s\", is cloned again from the leader: its server stops, and this session will be terminated",
						member)));
	PG_RETURN_TEXT_P(cstring_to_text(psprintf("reinitialize of member \"%s\" started: it is cloned again from the leader \"%s\"",
											  member, c->leader)));
}
