/*-------------------------------------------------------------------------
 *
 * local_state.c
 *	  The server's walsenders and WAL positions (see local_state.h).
 *
 * Read from PostgreSQL's shared memory, never through SQL: the HA worker
 * has no database connection.  The role name of a walsender needs the
 * catalogs, so it is not read (the REST API shows usename as null).
 *
 * What this file is not for: deciding anything from what it reads
 * (sync_plan.c, ha_decide.c), or formatting it for a client (api_body.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netdb.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "common/ip.h"
#include "pgstat.h"
#include "replication/syncrep.h"
#include "replication/walreceiver.h"
#include "replication/walsender.h"
#include "storage/spin.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"

#include "local_state.h"
#include "settings.h"

static const char *
walsnd_state_name(WalSndState state)
{
	switch (state)
	{
		case WALSNDSTATE_STARTUP:
			return "startup";
		case WALSNDSTATE_BACKUP:
			return "backup";
		case WALSNDSTATE_CATCHUP:
			return "catchup";
		case WALSNDSTATE_STREAMING:
			return "streaming";
		case WALSNDSTATE_STOPPING:
			return "stopping";
	}
	return "unknown";
}

/* pg_stat_replication's sync_state; is_sync: among the standbys waited for */
static const char *
sync_state_name(int priority, bool is_sync)
{
	if (priority == 0)
		return "async";
	if (is_sync)
		return SyncRepConfig != NULL &&
			SyncRepConfig->syncrep_method == SYNC_REP_PRIORITY ? "sync" : "quorum";
	return "potential";
}

static void
read_client_addr(const PgBackendStatus *be, PgHaWalSender *s)
{
	char		host[NI_MAXHOST];

	if (be->st_clientaddr.salen <= 0 ||
		(be->st_clientaddr.addr.ss_family != AF_INET &&
		 be->st_clientaddr.addr.ss_family != AF_INET6))
		return;
	host[0] = '\0';
	if (pg_getnameinfo_all(&be->st_clientaddr.addr, be->st_clientaddr.salen,
						   host, sizeof(host), NULL, 0,
						   NI_NUMERICHOST | NI_NUMERICSERV) == 0)
	{
		clean_ipv6_addr(be->st_clientaddr.addr.ss_family, host);
		strlcpy(s->client_addr, host, sizeof(s->client_addr));
		s->has_client_addr = true;
	}
}

/* The walsender's backend entry: its application_name, its client. */
static void
read_backend(pid_t pid, int nbackends, bool detail, PgHaWalSender *s)
{
	for (int b = 1; b <= nbackends; b++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(b);

		if (local == NULL || local->backendStatus.st_procpid != pid)
			continue;
		if (local->backendStatus.st_appname != NULL)
			strlcpy(s->application_name, local->backendStatus.st_appname,
					sizeof(s->application_name));
		if (detail)
			read_client_addr(&local->backendStatus, s);
		return;
	}
}

int
pgha_read_walsenders(PgHaWalSender *out, int max, bool detail)
{
	SyncRepStandbyData *sync = NULL;
	int			nsync = 0;
	int			nbackends;
	int			n = 0;

	if (WalSndCtl == NULL || max_wal_senders <= 0)
		return 0;
	if (detail)
		nsync = SyncRepGetCandidateStandbys(&sync);
	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();

	for (int i = 0; i < max_wal_senders && n < max; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		PgHaWalSender *s = &out[n];
		pid_t		pid;
		bool		is_sync = false;

		memset(s, 0, sizeof(*s));
		SpinLockAcquire(&walsnd->mutex);
		pid = walsnd->pid;
		s->state = walsnd->state;
		s->sync_priority = walsnd->sync_standby_priority;
		s->flush = walsnd->flush;
		SpinLockRelease(&walsnd->mutex);
		if (pid == 0)
			continue;
		s->state_name = walsnd_state_name(s->state);
		for (int j = 0; j < nsync; j++)
			if (sync[j].walsnd_index == i)
				is_sync = true;
		if (detail)
			s->sync_state = sync_state_name(s->sync_priority, is_sync);
		read_backend(pid, nbackends, detail, s);
		n++;
	}
	pgstat_clear_backend_activity_snapshot();
	if (sync != NULL)
		pfree(sync);
	return n;
}

bool
pgha_walsenders_exist(void)
{
	return WalSndCtl != NULL;
}

bool
pgha_sync_standbys_defined(void)
{
#ifdef SYNC_STANDBY_DEFINED
	return (((volatile WalSndCtlData *) WalSndCtl)->sync_standbys_status &
			SYNC_STANDBY_DEFINED) != 0;
#else
	return ((volatile WalSndCtlData *) WalSndCtl)->sync_standbys_defined;
#endif
}

int
pgha_read_standbys(HaSyncCandidate *out, int max)
{
	PgHaWalSender *senders = palloc(sizeof(PgHaWalSender) * max_wal_senders);
	int			nsenders = pgha_read_walsenders(senders, max_wal_senders, false);
	int			n = 0;

	for (int i = 0; i < nsenders && n < max; i++)
	{
		if (senders[i].application_name[0] == '\0')
			continue;
		strlcpy(out[n].name, senders[i].application_name, sizeof(out[n].name));
		out[n].streaming = senders[i].state == WALSNDSTATE_STREAMING;
		out[n].flush = (int64_t) senders[i].flush;
		n++;
	}
	pfree(senders);
	return n;
}

void
pgha_apply_live_positions(PgHaCluster *cluster)
{
	HaSyncCandidate *standbys;
	int			n;

	if (RecoveryInProgress())
		return;
	standbys = palloc(sizeof(HaSyncCandidate) * PGHA_MAX_MEMBERS);
	n = pgha_read_standbys(standbys, PGHA_MAX_MEMBERS);
	ha_apply_live_positions(cluster, pg_ha_node_name,
							(int64_t) GetXLogInsertRecPtr(), standbys, n);
	pfree(standbys);
}

void
pgha_read_local_wal(PgHaLocalWal *wal)
{
	memset(wal, 0, sizeof(*wal));
	wal->in_recovery = RecoveryInProgress();
	if (!wal->in_recovery)
	{
		wal->timeline = GetWALInsertionTimeLine();
		wal->written = GetXLogWriteRecPtr();
		return;
	}
	wal->replayed = GetXLogReplayRecPtr(&wal->timeline);
	wal->received = GetWalRcvFlushRecPtr(NULL, NULL);
	wal->latest_replayed = GetLatestXTime();
	wal->hot_standby = HotStandbyActive();
	wal->replay_paused = GetRecoveryPauseState() != RECOVERY_NOT_PAUSED;
	if (WalRcv != NULL)
	{
		SpinLockAcquire(&WalRcv->mutex);
		wal->streaming = WalRcv->walRcvState == WALRCV_STREAMING;
		wal->latest_end = WalRcv->latestWalEnd;
		SpinLockRelease(&WalRcv->mutex);
	}
}

void
pgha_read_wal_position(bool in_recovery, PgHaWalPosition *pos)
{
	if (in_recovery)
	{
		XLogRecPtr	received;

		pos->replayed = GetXLogReplayRecPtr(&pos->timeline);
		received = GetWalRcvFlushRecPtr(NULL, NULL);
		pos->position = Max(pos->replayed, received);
	}
	else
	{
		pos->position = GetXLogInsertRecPtr();
		pos->replayed = pos->position;
		pos->timeline = GetWALInsertionTimeLine();
	}
}

XLogRecPtr
pgha_local_flush_position(void)
{
	return GetFlushRecPtr(NULL);
}
