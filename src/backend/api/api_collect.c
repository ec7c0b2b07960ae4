/*-------------------------------------------------------------------------
 *
 * api_collect.c
 *	  The snapshot the REST API's GET answers are made of (see
 *	  api_collect.h).
 *
 * Every GET answer comes from memory: the HA worker's shared state (role,
 * lease, the cluster as last read from Consul) and the server's own
 * (recovery, WAL positions, walsenders: local_state.c).  Health checks
 * never talk to Consul or run SQL, so they answer in microseconds when
 * Consul is slow or gone, and need no database connection: the worker
 * starts with the postmaster and reports "starting" during crash recovery.
 *
 * What this file is not for: the status codes and bodies made of it
 * (api_route.c and the files it dispatches to, unit-tested).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/lwlock.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "api_collect.h"
#include "cluster.h"
#include "conf_file.h"
#include "local_state.h"
#include "pg_ha.h"
#include "settings.h"
#include "state.h"

int64
pgha_api_epoch_us(TimestampTz t)
{
	return (int64) t +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

int
pgha_api_loop_wait_ms(void)
{
	int			ms;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	ms = pgha_shared->loop_wait_ms > 0 ? pgha_shared->loop_wait_ms : pg_ha_loop_wait;
	LWLockRelease(pgha_shared->lock);
	return ms;
}

/*
 * The walsenders, as pg_stat_replication shows them (Patroni's
 * "replication" list).  The role name needs the catalogs, which a worker
 * without a database connection cannot read: usename stays null.
 */
static void
collect_walsenders(PgHaApiSnapshot *s)
{
	PgHaWalSender *senders = palloc(sizeof(PgHaWalSender) * PGHA_API_MAX_REPLICATION);

	s->nreplication = pgha_read_walsenders(senders, PGHA_API_MAX_REPLICATION, true);
	for (int i = 0; i < s->nreplication; i++)
	{
		PgHaApiReplication *r = &s->replication[i];

		memset(r, 0, sizeof(*r));
		strlcpy(r->state, senders[i].state_name, sizeof(r->state));
		strlcpy(r->sync_state, senders[i].sync_state, sizeof(r->sync_state));
		r->sync_priority = senders[i].sync_priority;
		strlcpy(r->application_name, senders[i].application_name,
				sizeof(r->application_name));
		r->has_client_addr = senders[i].has_client_addr;
		strlcpy(r->client_addr, senders[i].client_addr, sizeof(r->client_addr));
	}
	pfree(senders);
}

void
pgha_api_build_snapshot(PgHaApiSnapshot *s, bool with_replication)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		mono_now = pgha_monotonic_ms();
	PgHaLocalWal wal;
	bool		in_recovery;
	bool		lease;
	uint64		expiry;
	char		shared_role[PGHA_SHORT_LEN];
	TimestampTz last_contact;
	TimestampTz last_round;
	const char *version_num;

	pgha_read_local_wal(&wal);
	in_recovery = wal.in_recovery;
	lease = pgha_lease_held();
	memset(s, 0, sizeof(*s));

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	strlcpy(shared_role, pgha_shared->role, sizeof(shared_role));
	last_contact = pgha_shared->last_contact;
	last_round = pgha_shared->last_round;
	s->ttl_ms = pgha_shared->ttl_ms > 0 ? pgha_shared->ttl_ms : pg_ha_ttl;
	s->loop_wait_ms = pgha_shared->loop_wait_ms > 0 ?
		pgha_shared->loop_wait_ms : pg_ha_loop_wait;
	s->cluster_valid = pgha_shared->cluster_valid;
	if (s->cluster_valid)
		memcpy(&s->cluster, &pgha_shared->cluster, sizeof(PgHaCluster));
	/* this node's own tags from its settings, not its last published record */
	s->has_tags = pgha_local_tags_json(s->tags_json, sizeof(s->tags_json)) > 0;
	LWLockRelease(pgha_shared->lock);

	expiry = pg_atomic_read_u64(&pgha_shared->lease_expiry_ms);
	if (lease && expiry > (uint64) mono_now)
		s->lease_remaining_ms = (int64) (expiry - (uint64) mono_now);

	/*
	 * The leader is who holds the lease now, not who held it at the HA
	 * worker's last round; and a primary without it is fenced, exactly when
	 * fence.c refuses its connections and commits.
	 */
	s->in_recovery = in_recovery;
	if (lease)
		s->role = PGHA_API_ROLE_LEADER;
	else if (strcmp(shared_role, "starting") == 0)
		s->role = PGHA_API_ROLE_STARTING;
	else if (in_recovery)
		s->role = PGHA_API_ROLE_REPLICA;
	else
		s->role = PGHA_API_ROLE_PRIMARY_FENCED;
	s->fenced = !in_recovery && !lease;

	if (!in_recovery)
	{
		s->pg_running = true;
		s->timeline = wal.timeline;
		s->location = (int64) wal.written;
	}
	else
	{
		/* a standby runs once it takes connections; crash recovery starts */
		s->pg_running = wal.hot_standby;
		s->timeline = wal.timeline;
		s->replayed_location = (int64) wal.replayed;
		s->received_location = (int64) wal.received;
		if (wal.latest_replayed != 0)
		{
			int64		us = pgha_api_epoch_us(wal.latest_replayed);

			s->has_replayed_timestamp =
				pgha_api_format_time(us, s->replayed_timestamp,
									 sizeof(s->replayed_timestamp));
			s->replayed_timestamp_ms = us / 1000;
		}
		s->replay_paused = wal.replay_paused;
		s->streaming = wal.streaming;
		s->has_lag = pgha_api_replica_lag(s->cluster_valid && s->cluster.has_optime,
										  s->cluster.optime,
										  wal.streaming ? (int64) wal.latest_end : 0,
										  (int64) wal.replayed, &s->lag_bytes);
	}

	{
		int64		us = pgha_api_epoch_us(PgStartTime);

		(void) pgha_api_format_time(us, s->postmaster_start_time,
									sizeof(s->postmaster_start_time));
		s->postmaster_start_ms = us / 1000;
	}
	version_num = GetConfigOption("server_version_num", true, false);
	s->server_version = version_num ? atoi(version_num) : PG_VERSION_NUM;
	snprintf(s->sysid, sizeof(s->sysid), UINT64_FORMAT, GetSystemIdentifier());
	s->pending_restart = pgha_pending_restart();
	s->nofailover = pg_ha_nofailover;

	strlcpy(s->scope, pg_ha_cluster, sizeof(s->scope));
	strlcpy(s->name, pg_ha_node_name, sizeof(s->name));
	strlcpy(s->version, PG_HA_VERSION, sizeof(s->version));
	s->now_ms = pgha_api_epoch_us(now) / 1000;
	if (last_contact != 0)
	{
		int64		ms = pgha_api_epoch_us(last_contact) / 1000;

		s->dcs_last_seen = ms / 1000;
	}
	/* liveness: the HA worker goes round, whether Consul answers or not */
	if (last_round != 0)
		s->last_round_ms = pgha_api_epoch_us(last_round) / 1000;

	if (with_replication)
		collect_walsenders(s);
}

