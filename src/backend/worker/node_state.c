/*-------------------------------------------------------------------------
 *
 * node_state.c
 *	  The node as the HA worker's round sees it: its local state for
 *	  ha_decide() (role, recovery, WAL positions, timeline, clocks) and its
 *	  member record for Consul, in Patroni's format.
 *
 * Read from the server as it is now, the WAL positions and walsenders
 * through local_state.c (their one reader); nothing here writes.  Not
 * here: the decision (ha_decide.c) and the write of the record
 * (ha_loop.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>

#include "access/twophase.h"
#include "access/xlog.h"
#include "miscadmin.h"
#include "postmaster/postmaster.h"
#include "replication/walsender.h"
#include "storage/lock.h"
#include "utils/timestamp.h"

#include "api_tls.h"
#include "cluster.h"
#include "conf_file.h"
#include "ha_worker.h"
#include "local_state.h"
#include "node_state.h"
#include "pg_ha.h"
#include "promotion.h"
#include "settings.h"
#include "state.h"

void
pgha_connect_address(char *buf, size_t len)
{
	if (pg_ha_connect_address[0] != '\0')
		strlcpy(buf, pg_ha_connect_address, len);
	else
		snprintf(buf, len, "127.0.0.1:%d", PostPortNumber);
}

void
pgha_read_local_state(HaWorker *w, HaLocalState *local)
{
	struct stat st;
	PgHaWalPosition wal;

	memset(local, 0, sizeof(*local));
	local->is_primary = stat(STANDBY_SIGNAL_FILE, &st) != 0 &&
		stat(RECOVERY_SIGNAL_FILE, &st) != 0;
	local->in_recovery = RecoveryInProgress();
	strlcpy(local->sysid, w->sysid, sizeof(local->sysid));
	local->has_session = w->session[0] != '\0';
	strlcpy(local->session, w->session, sizeof(local->session));
	local->nofailover = pg_ha_nofailover;
	local->has_failover_priority = true;
	local->failover_priority = pg_ha_failover_priority;
	pgha_read_wal_position(local->in_recovery, &wal);
	local->has_xlog = !local->in_recovery || wal.position != InvalidXLogRecPtr;
	local->xlog_position = (int64_t) wal.position;
	local->replayed_position = (int64_t) wal.replayed;
	local->timeline = wal.timeline;
	if (!local->in_recovery)
		local->nstandbys = pgha_read_standbys(local->standbys, PGHA_MAX_MEMBERS);
	local->timeline_begin = pgha_timeline_begin(local->timeline);
	local->now_ms = pgha_monotonic_ms();
	local->wall_ms = (int64_t) (GetCurrentTimestamp() / 1000) +
		(int64_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	local->lease_expiry_ms = w->lease_expiry_ms;
	local->leader_unchanged_ms = w->cluster_ok && w->lk_seen ?
		local->now_ms - w->lk_since_ms : -1;
	local->initialized_here = w->initialized_here;
	local->leader_ttl_seen_ms = w->lk_ttl_seen_ms;
	if (w->cluster_ok && w->session[0] != '\0')
	{
		const PgHaMember *me = pgha_find_member(w->cluster, pg_ha_node_name);

		local->name_taken = me != NULL && me->session[0] != '\0' &&
			strcmp(me->session, w->session) != 0;
	}
}

/* epoch ms of this server's start: tells a restarted server from the old */
int64
pgha_server_start_ms(void)
{
	return (int64) (PgStartTime / 1000) +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
}

void
pgha_build_member(HaWorker *w, const HaLocalState *local, PgHaMember *m)
{
	char		addr[256];
	char		host[256];
	const char *colon;
	const char *api_port;
	PgHaWalPosition wal;

	memset(m, 0, sizeof(*m));
	strlcpy(m->name, pg_ha_node_name, sizeof(m->name));
	pgha_connect_address(addr, sizeof(addr));
	snprintf(m->conn_url, sizeof(m->conn_url), "postgres://%s/postgres", addr);

	/* the API is reached on the node's address unless it listens on one */
	colon = strrchr(pg_ha_api_listen, ':');
	api_port = colon ? colon + 1 : "8008";
	if (colon != NULL && colon != pg_ha_api_listen &&
		strncmp(pg_ha_api_listen, "0.0.0.0:", 8) != 0 &&
		strncmp(pg_ha_api_listen, "*:", 2) != 0)
		snprintf(host, sizeof(host), "%.*s",
				 (int) (colon - pg_ha_api_listen), pg_ha_api_listen);
	else
	{
		strlcpy(host, addr, sizeof(host));
		host[strcspn(host, ":")] = '\0';
		if (host[0] == '[')		/* [v6]:port */
		{
			char	   *end = strrchr(addr, ']');

			if (end)
				snprintf(host, sizeof(host), "%.*s", (int) (end - addr + 1), addr);
		}
	}
	snprintf(m->api_url, sizeof(m->api_url), "%s://%s:%s/patroni",
			 pgha_api_tls_enabled() ? "https" : "http", host, api_port);

	strlcpy(m->state, local->in_recovery && local->is_primary ? "starting" : "running",
			sizeof(m->state));
	strlcpy(m->role, local->is_primary ? "master" : "replica", sizeof(m->role));
	strlcpy(m->version, PG_HA_VERSION, sizeof(m->version));
	/* the timeline as of now, a primary's position too */
	pgha_read_wal_position(local->in_recovery, &wal);
	m->timeline = wal.timeline;
	if (!local->in_recovery)
	{
		m->xlog_location = (int64_t) wal.position;
		m->has_xlog = true;
	}
	else if (local->has_xlog)
	{
		m->xlog_location = local->xlog_position;
		m->has_xlog = true;
	}
	pgha_local_tags(m);
	m->pending_restart = pgha_pending_restart();
	m->pause = w->cluster->paused;
	/* what the others need to order restarts safely for hot standby */
	m->has_hs_values = true;
	m->hs_values[0] = MaxConnections;
	m->hs_values[1] = max_worker_processes;
	m->hs_values[2] = max_wal_senders;
	m->hs_values[3] = max_prepared_xacts;
	m->hs_values[4] = max_locks_per_xact;

	/*
	 * When this server started (a restart is over once the new one is
	 * published), and Patroni's scheduled_restart while this node's restart
	 * request waits for its time (patronictl list -e and flush read it).
	 */
	m->start_ms = pgha_server_start_ms();
	for (int i = 0; i < w->cluster->nrestarts; i++)
	{
		const PgHaRestartRequest *r = &w->cluster->restarts[i];

		if (strcmp(r->member, pg_ha_node_name) == 0 && r->scheduled &&
			r->restarting == 0)
		{
			m->has_scheduled_restart = true;
			m->scheduled_restart_ms = r->scheduled_ms;
			m->scheduled_restart_pending = r->pending_only;
		}
	}
}
