/*-------------------------------------------------------------------------
 *
 * api_action.c
 *	  The REST API's write requests, carried out (see api_action.h).
 *
 * POST /switchover /failover /restart /reload /reinitialize, PATCH
 * /config, DELETE /restart /switchover: like the SQL actions, they read
 * the cluster from Consul and write or delete one key with check-and-set
 * (a reinitialize is left to the HA worker instead).  They run outside
 * MHD's callbacks, from the queue api.c keeps (their Consul requests serve
 * MHD meanwhile, and MHD_run is not reentrant).  An immediate switchover,
 * failover or restart leaves its answer to its outcome (api_wait.c).
 *
 * What this file is not for: parsing and checking the requests
 * (api_write.c, operator_rules.c, unit-tested), or who may send them
 * (pgha_api_check_auth, in api.c's callback).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/memutils.h"

#include "api_action.h"
#include "api_collect.h"
#include "api_route.h"
#include "cluster.h"
#include "config_key.h"
#include "dcs.h"
#include "local_state.h"
#include "node_ctl.h"
#include "restart_order.h"
#include "settings.h"
#include "state.h"

/* one write request, outlives the read requests served meanwhile */
static MemoryContext write_cxt = NULL;

static int64
now_epoch_ms(void)
{
	return pgha_api_epoch_us(GetCurrentTimestamp()) / 1000;
}

static void
wake_ha_worker(void)
{
	if (pgha_shared->worker_latch != NULL)
		SetLatch(pgha_shared->worker_latch);
}

/* The cluster from Consul, or false with a 503 in resp. */
static bool
read_cluster(PgHaCluster *c, const char *what, PgHaApiResponse *resp)
{
	char		err[PGHA_ERR_LEN];

	/* Consul as the HA worker set it up (its retry_timeout in force) */
	if (!dcs_read_cluster(psprintf("%s/%s/", pg_ha_namespace, pg_ha_cluster),
						  c, err, sizeof(err)))
	{
		pgha_api_text_response(resp, 503,
							   psprintf("%s failed: could not read the cluster from Consul: %s",
										what, err));
		return false;
	}
	return true;
}

/*
 * POST /switchover, /failover.  A scheduled request is answered at once
 * (202); an immediate one sets wait instead of resp: the answer is its
 * outcome (api_wait.c).
 */
static void
write_failover(bool switchover, const char *body, size_t len,
			   PgHaApiResponse *resp, ApiWait *wait)
{
	const char *action = switchover ? "switchover" : "failover";
	PgHaApiFailover r;
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	const char *holder;
	char		msg[PGHA_ERR_LEN];
	char		err[PGHA_ERR_LEN];
	char		value[1024];
	int			status;
	bool		done = false;

	status = pgha_api_parse_failover(body, len, &r, msg, sizeof(msg));
	if (status != 0)
	{
		pgha_api_text_response(resp, status, msg);
		return;
	}
	if (!read_cluster(c, action, resp))
		return;
	pgha_apply_live_positions(c);
	status = pgha_api_check_failover(c, &r, switchover, now_epoch_ms(),
									 msg, sizeof(msg));
	if (status != 0)
	{
		pgha_api_text_response(resp, status, msg);
		return;
	}
	/* "force": true, as pg_ha_failover(force => true) warns */
	if (r.unsafe)
		ereport(WARNING,
				(errmsg("member \"%s\" is not the synchronous standby: commits the last leader acknowledged may be lost",
						r.candidate)));
	holder = c->has_leader && c->leader_session[0] ? c->leader : NULL;
	if (pgha_failover_request_json(r.leader[0] ? r.leader : holder,
								   r.candidate[0] ? r.candidate : NULL,
								   r.scheduled_iso[0] ? r.scheduled_iso : NULL,
								   value, sizeof(value)) < 0)
	{
		pgha_api_text_response(resp, 500, "could not format the request");
		return;
	}
	/* a key that holds no request ({}) is replaced, a request is not */
	if (!dcs_kv_put(dcs_cluster_key("failover"), value,
					psprintf("cas=" UINT64_FORMAT, (uint64) c->failover_key_index),
					&done, err, sizeof(err)))
	{
		pgha_api_text_response(resp, 503,
							   psprintf("failed to write %s key into DCS: %s", action, err));
		return;
	}
	if (!done)
	{
		pgha_api_text_response(resp, 412, "a switchover or failover is already pending");
		return;
	}
	wake_ha_worker();
	ereport(LOG,
			(errmsg("pg_ha: %s requested through the REST API: leader \"%s\", candidate \"%s\"%s%s",
					action, r.leader, r.candidate,
					r.scheduled_iso[0] ? ", at " : "", r.scheduled_iso)));
	if (r.scheduled_iso[0])
	{
		pgha_api_text_response(resp, 202, switchover ? "Switchover scheduled" : "Failover scheduled");
		return;
	}
	/* Patroni's bound: twice max(10 s, loop_wait), a look every second */
	memset(wait, 0, sizeof(*wait));
	wait->kind = switchover ? WAIT_SWITCHOVER : WAIT_FAILOVER;
	strlcpy(wait->old_leader, holder ? holder : "", sizeof(wait->old_leader));
	strlcpy(wait->candidate, r.candidate, sizeof(wait->candidate));
	wait->wait_s = pgha_failover_wait_ms(pgha_api_loop_wait_ms()) / 1000;
	wait->next_poll = pgha_monotonic_ms() + PGHA_OUTCOME_POLL_MS;
	wait->deadline = pgha_monotonic_ms() + wait->wait_s * (int64) 1000;
}

/*
 * POST /restart: this node.  A scheduled restart is answered at once (202);
 * an immediate one sets wait instead of resp, as Patroni's handler blocks
 * until its restart is over: the answer is its outcome (api_wait.c), so
 * that patronictl restarts a cluster one member after the other.
 */
static void
write_restart(const char *body, size_t len, PgHaApiResponse *resp,
			  ApiWait *wait)
{
	PgHaApiRestart r;
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	char		msg[PGHA_ERR_LEN];
	char		err[PGHA_ERR_LEN];
	char		value[256];
	int			status;
	bool		done = false;

	status = pgha_api_parse_restart(body, len, &r, msg, sizeof(msg));
	if (status != 0)
	{
		pgha_api_text_response(resp, status, msg);
		return;
	}
	if (!read_cluster(c, "restart", resp))
		return;
	status = pgha_api_check_restart(c, pg_ha_node_name, &r, now_epoch_ms(),
									value, sizeof(value), msg, sizeof(msg));
	if (status != 0)
	{
		pgha_api_text_response(resp, status, msg);
		return;
	}
	{
		/* pg_ha_restart()'s check: no replica may end up below its leader */
		const char *self[1] = {pg_ha_node_name};
		char		why[PGHA_ERR_LEN * 2];
		char		hint[PGHA_ERR_LEN * 2];

		if (!pgha_restart_order(c, self, 1, NULL, why, sizeof(why), hint, sizeof(hint)))
		{
			pgha_api_text_response(resp, 412, psprintf("restart refused: %s. %s", why, hint));
			return;
		}
	}
	if (!dcs_kv_put(psprintf("%s/%s/restart/%s", pg_ha_namespace, pg_ha_cluster,
							 pg_ha_node_name),
					value, "cas=0", &done, err, sizeof(err)))
	{
		pgha_api_text_response(resp, 503,
							   psprintf("restart failed: could not write the request to Consul: %s", err));
		return;
	}
	if (!done)
	{
		pgha_api_text_response(resp, 409, "Another restart is already scheduled");
		return;
	}
	wake_ha_worker();
	ereport(LOG,
			(errmsg("pg_ha: restart of this node requested through the REST API%s%s",
					r.scheduled_iso[0] ? " for " : "", r.scheduled_iso)));
	if (r.scheduled_iso[0])
	{
		pgha_api_text_response(resp, 202, "Restart scheduled");
		return;
	}
	/* until this node's worker would have given the restart up */
	memset(wait, 0, sizeof(*wait));
	wait->kind = WAIT_RESTART;
	strlcpy(wait->member, pg_ha_node_name, sizeof(wait->member));
	wait->old_start_ms = pgha_api_epoch_us(PgStartTime) / 1000;
	wait->wait_s = pgha_restart_wait_ms(pgha_api_loop_wait_ms()) / 1000;
	wait->next_poll = pgha_monotonic_ms() + PGHA_OUTCOME_POLL_MS;
	wait->deadline = pgha_monotonic_ms() + wait->wait_s * (int64) 1000;
}

/*
 * DELETE /restart (restart: this node's scheduled restart, Patroni's
 * delete_future_restart) and DELETE /switchover (the scheduled request in
 * the failover key, Patroni's do_DELETE_switchover).  Deleted with
 * check-and-set on the index read; a request that changed meanwhile (the
 * restart started, a new request) is judged again.
 */
static void
delete_scheduled(bool restart, PgHaApiResponse *resp)
{
	const char *what = restart ? "restart" : "switchover";
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	char		msg[PGHA_ERR_LEN];
	char		err[PGHA_ERR_LEN];

	for (int attempt = 0; attempt < 3; attempt++)
	{
		uint64_t	index;
		bool		done = false;
		int			status;
		char	   *key;

		if (!read_cluster(c, psprintf("deleting the scheduled %s", what), resp))
			return;
		status = restart ?
			pgha_api_check_delete_restart(c, pg_ha_node_name, &index, msg, sizeof(msg)) :
			pgha_api_check_delete_switchover(c, &index, msg, sizeof(msg));
		if (status != 0)
		{
			pgha_api_text_response(resp, status, msg);
			return;
		}
		key = restart ?
			psprintf("%s/%s/restart/%s", pg_ha_namespace, pg_ha_cluster, pg_ha_node_name) :
			dcs_cluster_key("failover");
		if (!dcs_kv_delete(key, psprintf("cas=" UINT64_FORMAT, (uint64) index),
						   &done, err, sizeof(err)))
		{
			pgha_api_text_response(resp, 503,
								   psprintf("could not delete the scheduled %s in Consul: %s",
											what, err));
			return;
		}
		if (done)
		{
			wake_ha_worker();
			ereport(LOG,
					(errmsg("pg_ha: scheduled %s deleted through the REST API", what)));
			pgha_api_text_response(resp, 200, restart ? "scheduled restart deleted" :
								   "scheduled switchover deleted");
			return;
		}
	}
	pgha_api_text_response(resp, 409,
						   psprintf("the scheduled %s kept changing; nothing was deleted", what));
}

/*
 * POST /reinitialize: this node, cloned again from the leader.  Checked
 * here against the cluster as Consul has it now (Patroni's texts); the HA
 * worker starts the clone at its next round (actions.c), once a session
 * of this server that asked (pg_ha_reinit) has its answer.
 */
static void
write_reinitialize(const char *body, size_t len, PgHaApiResponse *resp)
{
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	const PgHaMember *leader;
	char		msg[PGHA_ERR_LEN];
	bool		force;
	int			status;

	status = pgha_api_parse_reinitialize(body, len, &force, msg, sizeof(msg));
	if (status != 0)
	{
		pgha_api_text_response(resp, status, msg);
		return;
	}
	if (!read_cluster(c, "reinitialize", resp))
		return;
	status = pgha_api_check_reinitialize(c, pg_ha_node_name, &leader, msg, sizeof(msg));
	if (status != 0)
	{
		pgha_api_text_response(resp, status, msg);
		return;
	}

	/*
	 * Patroni cancels a running action with force; a rejoin on its way
	 * cannot be: it may be stopping the server or renaming directories.
	 */
	if (pgha_reinit_requested() || pgha_reinit_started())
	{
		pgha_api_text_response(resp, 503, force ?
							   "reinitialize already in progress; pg_ha cannot cancel it: try again once the node runs as a replica" :
							   "reinitialize already in progress");
		return;
	}
	pgha_request_reinit();
	wake_ha_worker();
	ereport(LOG,
			(errmsg("pg_ha: reinitialize of this node requested through the REST API: it is cloned again from the leader \"%s\"",
					leader->name)));
	pgha_api_text_response(resp, 200, "reinitialize started");
}

/*
 * PostgreSQL's own check of one parameter, as pg_ha_set_config() does it:
 * NULL when fine, else the message.  Nothing is changed.
 */
static char *
check_parameter(const char *name, const char *value)
{
	const char *why = pgha_owned_parameter(name);
	MemoryContext cxt = CurrentMemoryContext;
	char	   *result = NULL;

	if (why != NULL)
		return psprintf("parameter \"%s\" cannot be set cluster-wide: %s", name, why);
	if (GetConfigOption(name, true, false) == NULL && strchr(name, '.') == NULL)
		return psprintf("unrecognized configuration parameter \"%s\"", name);
	PG_TRY();
	{
		(void) set_config_option(name, value, PGC_POSTMASTER, PGC_S_TEST,
								 GUC_ACTION_SET, false, ERROR, false);
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		result = edata->detail ?
			psprintf("%s: %s", edata->message, edata->detail) :
			pstrdup(edata->message);
	}
	PG_END_TRY();
	return result;
}

/* PATCH /config */
static void
write_config(const char *body, size_t len, PgHaApiResponse *resp)
{
	char	   *key = dcs_cluster_key("config");
	char		msg[PGHA_ERR_LEN];
	char		err[PGHA_ERR_LEN];
	PgHaParam  *params = palloc(sizeof(PgHaParam) * PGHA_MAX_PARAMS);

	for (int attempt = 0; attempt < 5; attempt++)
	{
		char	   *current;
		uint64_t	index;
		bool		found;
		bool		changed;
		bool		done = false;
		char	   *result = NULL;
		int			nparams;
		int			status;

		if (!dcs_kv_get_raw(key, &current, &index, &found, err, sizeof(err)))
		{
			pgha_api_text_response(resp, 503,
								   psprintf("could not read the configuration from Consul: %s", err));
			return;
		}
		/*
		 * Patroni answers 503 without a config key; pg_ha creates one (cas=0),
		 * as pg_ha_set_config() does: a new cluster has none.
		 */
		if (!found)
			index = 0;
		status = pgha_api_patch_config(found ? current : NULL, body, len, &result, &changed,
									   params, PGHA_MAX_PARAMS, &nparams,
									   msg, sizeof(msg));
		if (status != 0)
		{
			pgha_api_text_response(resp, status, msg);
			return;
		}
		for (int i = 0; i < nparams; i++)
		{
			char	   *why = check_parameter(params[i].name, params[i].value);

			if (why != NULL)
			{
				free(result);
				pgha_api_text_response(resp, 400, why);
				return;
			}
		}
		{
			/* the timings as every node would take them (this node's as defaults) */
			int			ttl = pg_ha_ttl;
			int			loop_wait = pg_ha_loop_wait;
			int			retry = pg_ha_retry_timeout;

			if (!pgha_config_timings(result, &ttl, &loop_wait, &retry, msg, sizeof(msg)) ||
				!pgha_timing_valid(ttl, loop_wait, retry, msg, sizeof(msg)))
			{
				free(result);
				pgha_api_text_response(resp, 400,
									   psprintf("invalid timings: %s; keep loop_wait + 2 * retry_timeout <= ttl", msg));
				return;
			}
		}
		if (!changed)
		{
			pgha_api_json_response(resp, 200, result);
			free(result);
			return;
		}
		if (!dcs_kv_put(key, result, psprintf("cas=" UINT64_FORMAT, (uint64) index),
						&done, err, sizeof(err)))
		{
			free(result);
			pgha_api_text_response(resp, 503,
								   psprintf("could not write the configuration to Consul: %s", err));
			return;
		}
		if (done)
		{
			wake_ha_worker();
			ereport(LOG,
					(errmsg("pg_ha: cluster configuration changed through the REST API")));
			pgha_api_json_response(resp, 200, result);
			free(result);
			return;
		}
		free(result);
		/* changed meanwhile: apply the patch to the new value */
	}
	pgha_api_text_response(resp, 409, "the configuration kept changing; nothing was written");
}

/*
 * Carry out an authorized write request.  Errors become a 500 for this
 * request alone.
 */
void
pgha_api_handle_write(const PgHaApiRequest *req, const char *body, size_t len,
					  PgHaApiResponse *resp, ApiWait *wait)
{
	MemoryContext old;
	bool		ok = false;

	if (write_cxt == NULL)
		write_cxt = AllocSetContextCreate(TopMemoryContext, "pg_ha API write",
										  ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(write_cxt);
	memset(resp, 0, sizeof(*resp));
	memset(wait, 0, sizeof(*wait));
	PG_TRY();
	{
		switch (req->endpoint)
		{
			case PGHA_EP_SWITCHOVER:
				if (req->method == PGHA_API_DELETE)
					delete_scheduled(false, resp);
				else
					write_failover(true, body, len, resp, wait);
				break;
			case PGHA_EP_FAILOVER:
				write_failover(false, body, len, resp, wait);
				break;
			case PGHA_EP_RESTART:
				if (req->method == PGHA_API_DELETE)
					delete_scheduled(true, resp);
				else
					write_restart(body, len, resp, wait);
				break;
			case PGHA_EP_RELOAD:
				if (kill(PostmasterPid, SIGHUP) != 0)
					pgha_api_text_response(resp, 500, "could not send a reload signal to the postmaster");
				else
					pgha_api_text_response(resp, 202, "reload scheduled");
				break;
			case PGHA_EP_CONFIG:
				write_config(body, len, resp);
				break;
			case PGHA_EP_REINITIALIZE:
				write_reinitialize(body, len, resp);
				break;
			default:
				pgha_api_text_response(resp, 404, "not found");
				break;
		}
		ok = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(write_cxt);
		EmitErrorReport();
		FlushErrorState();
		LWLockReleaseAll();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(write_cxt);
	if (!ok)
	{
		pgha_api_response_free(resp);
		pgha_api_text_response(resp, 500, "internal error; see the server log");
		wait->kind = WAIT_NONE;
	}
}

