/*-------------------------------------------------------------------------
 *
 * restart.c
 *	  This node's restart request (restart/<member>, written by
 *	  pg_ha_restart(), pg_ha_ctl restart and POST /restart), carried out
 *	  by the HA worker: marked as started, the server restarted, the
 *	  request removed once the restarted server's worker sees it.
 *
 * Each round gathers the inputs of ha_restart_decide() (restart_decide.c,
 * where every branch is decided and unit-tested) and does what it says.
 * The session is kept across the restart (phase.h), so a leader back
 * within ttl still holds its key: no failover.
 *
 * Not here: the order of a restart of the whole cluster (restart_order.c's
 * pgha_restart_order) and the requests themselves (sql_actions.c, the
 * REST API, pg_ha_ctl).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"

#include "actions.h"
#include "cluster.h"
#include "conf_file.h"
#include "dcs.h"
#include "ha_worker.h"
#include "node_ctl.h"
#include "node_state.h"
#include "restart.h"
#include "restart_decide.h"
#include "settings.h"
#include "state.h"

/* log a reason for waiting once, until it changes */
static void
log_restart_wait(HaWorker *w, const char *why, const char *hint)
{
	if (strcmp(w->logged_restart_wait, why) == 0)
		return;
	strlcpy(w->logged_restart_wait, why, sizeof(w->logged_restart_wait));
	ereport(LOG,
			(errmsg("pg_ha: restart of node \"%s\" waits: %s", pg_ha_node_name, why),
			 hint && hint[0] ? errhint("%s", hint) : 0));
}

/*
 * The hot standby values of the primary this standby has replayed (the
 * last parameter change), from its control file: a standby must not
 * restart below them.
 */
static void
read_primary_hs(HaRestartInput *in)
{
	bool		crc_ok = false;
	ControlFileData *cf = get_controlfile(DataDir, &crc_ok);

	in->primary_hs_read = true;
	in->primary_hs_valid = crc_ok;
	in->primary_hs[0] = cf->MaxConnections;
	in->primary_hs[1] = cf->max_worker_processes;
	in->primary_hs[2] = cf->max_wal_senders;
	in->primary_hs[3] = cf->max_prepared_xacts;
	in->primary_hs[4] = cf->max_locks_per_xact;
	pfree(cf);
}

/* The request is gone: why. */
static void
log_removed(HaRestartAction action)
{
	if (action == HA_RESTART_REMOVE_DONE)
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" is back from its requested restart",
						pg_ha_node_name)));
	else if (action == HA_RESTART_REMOVE_MISSED)
		ereport(WARNING,
				(errmsg("pg_ha: the requested restart of node \"%s\" did not happen; request removed",
						pg_ha_node_name)));
	else
		ereport(LOG,
				(errmsg("pg_ha: restart request ignored: no setting is pending a restart")));
}

/* Mark the request as started by this server, then restart it. */
static void
start_restart(HaWorker *w, const PgHaRestartRequest *r, const char *key,
			  const char *query, int64 started)
{
	char		err[PGHA_ERR_LEN];
	char		body[512];
	bool		done;

	snprintf(body, sizeof(body),
			 "{\"pending_only\":%s,\"any_order\":%s,\"restarting\":" INT64_FORMAT "}",
			 r->pending_only ? "true" : "false", r->any_order ? "true" : "false",
			 started);
	if (!dcs_kv_put(key, body, query, &done, err, sizeof(err)) || !done)
		return;					/* changed meanwhile: look again next round */
	w->phase = ha_phase_next(w->phase, HA_EV_RESTART_STARTED, pgha_monotonic_ms());
	pgha_let_caller_finish();
	if (!pgha_start_restart(err, sizeof(err)))
	{
		w->phase = ha_phase_next(w->phase, HA_EV_RESTART_ENDED, 0);
		ereport(WARNING, (errmsg("pg_ha: could not restart: %s", err)));
		return;
	}
	ereport(LOG,
			(errmsg("pg_ha: restarting node \"%s\" as requested%s; its Consul session is kept",
					pg_ha_node_name,
					pg_ha_restart_command[0] ? " with pg_ha.restart_command" : "")));
}

/*
 * A restart request for this node: mark it as started (with this server's
 * start time), let pg_ctl (or pg_ha.restart_command) restart the server,
 * and remove it once the restarted server's worker sees it: until then the
 * others see this member restarting.
 */
void
pgha_serve_restart_request(HaWorker *w, const HaLocalState *local)
{
	HaRestartInput in;
	HaRestartDecision d;
	char		err[PGHA_ERR_LEN];
	char		key[HA_KEY_LEN + 16];
	char		query[64];
	bool		done;

	memset(&in, 0, sizeof(in));
	in.self = pg_ha_node_name;
	in.now_ms = pgha_monotonic_ms();
	in.wall_ms = local->wall_ms;
	in.server_start_ms = pgha_server_start_ms();
	in.pending_restart = pgha_pending_restart();
	in.in_recovery = RecoveryInProgress();
	ha_restart_decide(&in, w->cluster, &w->phase, &d);
	if (d.action == HA_RESTART_READ_CONTROL_FILE)
	{
		read_primary_hs(&in);
		ha_restart_decide(&in, w->cluster, &w->phase, &d);
	}

	if (d.give_up)
	{
		ereport(WARNING,
				(errmsg("pg_ha: the server of node \"%s\" was not restarted within %d s; giving the restart request up",
						pg_ha_node_name, PGHA_RESTART_GIVE_UP_MS / 1000),
				 errhint("See the server log for the output of pg_ctl or pg_ha.restart_command.")));
		w->phase = ha_phase_next(w->phase, HA_EV_RESTART_ENDED, 0);
	}
	if (d.order_ok)
		w->logged_restart_wait[0] = '\0';
	if (d.request == NULL)
		return;

	snprintf(key, sizeof(key), "%srestart/%s", w->prefix, pg_ha_node_name);
	snprintf(query, sizeof(query), "cas=" UINT64_FORMAT, (uint64) d.request->modify_index);
	switch (d.action)
	{
		case HA_RESTART_NONE:
		case HA_RESTART_READ_CONTROL_FILE:
			break;
		case HA_RESTART_WAIT:
			log_restart_wait(w, d.why, d.hint);
			break;
		case HA_RESTART_REMOVE_DONE:
		case HA_RESTART_REMOVE_MISSED:
		case HA_RESTART_REMOVE_NOT_PENDING:
			if (dcs_kv_delete(key, query, &done, err, sizeof(err)) && done)
				log_removed(d.action);
			break;
		case HA_RESTART_START:
			start_restart(w, d.request, key, query, in.server_start_ms);
			break;
	}
}
