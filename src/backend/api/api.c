/*-------------------------------------------------------------------------
 *
 * api.c
 *	  The REST API: Patroni-compatible health checks for HAProxy.
 *
 * The HA worker (ha_loop.c) serves pg_ha.api_listen with libmicrohttpd,
 * single-threaded: MHD runs without threads of its own (MHD_USE_EPOLL)
 * and exposes one epoll descriptor.  Every wait of the HA worker watches
 * it: pgha_api_wait() between rounds and in the round's short pauses, and
 * the wait for each Consul answer (dcs_serve_while_waiting), so a health
 * check is answered within milliseconds even while Consul is slow.  One
 * process instead of a worker of its own saves the ~1 MiB that any
 * PostgreSQL process costs (docs/architecture.md, "One worker").
 *
 * Every GET answer comes from memory: the HA worker's shared state (role,
 * lease, the cluster as last read from Consul) and the server's own
 * (recovery, WAL positions, walsenders).  Health checks never talk to
 * Consul or run SQL, so they answer in microseconds when Consul is slow or
 * gone, and need no database connection: the worker starts with the
 * postmaster and reports "starting" during crash recovery.
 *
 * The write requests (POST /switchover /failover /restart /reload
 * /reinitialize, PATCH /config, DELETE /restart /switchover) are the
 * exception: like the SQL actions, they read the cluster from Consul and
 * write or delete one key with check-and-set (a reinitialize is left to
 * the HA worker instead).  They cannot run inside
 * MHD's callback (their Consul requests serve MHD meanwhile, and MHD_run
 * is not reentrant), so the callback suspends the connection and queues
 * it; the HA worker carries the queue out between rounds
 * (pgha_api_run_writes) and resumes each connection with its answer.  Who
 * may write: pg_ha.api_auth (api_route.c, pgha_api_check_auth).
 *
 * An immediate switchover, failover or restart is answered with its
 * outcome, as Patroni does: the connection stays suspended, in the list of
 * waits (ApiWait, one kind per request), while the worker looks at the
 * cluster in Consul once a second, between rounds and beside its blocking
 * reads (poll_waits), health checks answered meanwhile; the rules are pure
 * (pgha_failover_outcome, pgha_restart_outcome).  When the worker exits
 * first (the old leader's server stops in a switchover, this server in a
 * restart, and the REST API with it), each waiting connection is left to a
 * process of its own that outlives the server, looks at Consul until the
 * new leader or the restarted server is there, answers and exits
 * (hand_over_waits).  Since a restart is answered once it is over,
 * patronictl restarts a cluster one member after the other, as Patroni.
 *
 * The requests are outside data from anyone who can reach the port.  MHD
 * bounds them (connection limits, timeouts, a memory limit per
 * connection); api_route.c parses what remains defensively.  Nothing here
 * may raise an ERROR through MHD's stack: the snapshot is taken under
 * PG_TRY, and a failure becomes a 500 for that request alone.
 *
 * What this file is not for: the status codes, bodies and checks
 * (api_route.c, unit-tested).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "common/ip.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "replication/syncrep.h"
#include "replication/walreceiver.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pg_shmem.h"
#include "storage/spin.h"
#include "tcop/tcopprot.h"
#include "utils/backend_status.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "api.h"
#include "api_route.h"
#include "api_tls.h"
#include "dcs.h"
#include "node_ctl.h"
#include "pg_ha.h"
#include "state.h"
#include "sync.h"

/* pg_ha.api_auth, defined in pg_ha.c */
extern char *pg_ha_api_auth;

/* Limits: HAProxy makes one short connection per check. */
#define API_CONNECTION_LIMIT		128
#define API_PER_IP_LIMIT			32
#define API_CONNECTION_TIMEOUT_S	10
#define API_CONNECTION_MEMORY		(16 * 1024)
/* the longest MHD goes without a call, for its own timeouts */
#define API_MAX_WAIT_MS				1000
/* MHD_run calls in a row while it has work ready (see serve) */
#define SERVE_MAX_RUNS				16
#define API_RETRY_START_MS			10000
/* the largest cluster listing a waiter reads, as dcs_consul.c's limit */
#define WAITER_MAX_BODY				(4 * 1024 * 1024)
/* a waiter's answer goes out within this, or the client is given up */
#define WAITER_SEND_TIMEOUT_S		10

/* What a suspended write request waits for, before it is answered. */
typedef enum ApiWaitKind
{
	WAIT_NONE = 0,				/* nothing: answered at once */
	WAIT_SWITCHOVER,			/* POST /switchover: a new leader */
	WAIT_FAILOVER,				/* POST /failover: a new leader */
	WAIT_RESTART				/* POST /restart: this node's server restarted */
} ApiWaitKind;

/*
 * An immediate request whose client waits for its outcome, judged on the
 * cluster in Consul once a second (wait_outcome): for a switchover or
 * failover who led when it was written and who was asked for
 * (pgha_failover_outcome), for a restart the member and the start of the
 * server it restarts (pgha_restart_outcome).
 */
typedef struct ApiWait
{
	ApiWaitKind kind;			/* set by the write_* functions */
	char		old_leader[PGHA_NAME_LEN];	/* "" when none */
	char		candidate[PGHA_NAME_LEN];	/* "" when none */
	char		member[PGHA_NAME_LEN];	/* restart: this node */
	int64		old_start_ms;	/* restart: epoch ms of this server's start */
	int			wait_s;			/* the whole wait, for the answer's text */
	int64		deadline;		/* pgha_monotonic_ms() */
	int64		next_poll;
} ApiWait;

/*
 * The raw URI of a request, kept from MHD's URI callback to its end; and
 * for a write request, its parsed form and its body as it arrives.
 */
typedef struct ApiRequestCtx
{
	bool		started;		/* the first call of api_access is done */
	bool		write;			/* a write request, authorized: collect */
	bool		too_large;		/* body over PGHA_API_MAX_WRITE_BODY */
	bool		queued;			/* suspended, in the queue of writes */
	bool		waiting;		/* suspended, in the list of waits */
	bool		answered;		/* resumed: resp is the answer to send */
	struct MHD_Connection *con; /* while queued or waiting */
	struct ApiRequestCtx *next; /* the queue, or the list of waits */
	ApiWait		wait;
	PgHaApiResponse resp;
	PgHaApiRequest req;
	char	   *body;			/* malloc'ed */
	size_t		body_len;
	size_t		len;
	char		uri[FLEXIBLE_ARRAY_MEMBER];
} ApiRequestCtx;

static MemoryContext request_cxt = NULL;	/* one read request */
static MemoryContext write_cxt = NULL;	/* one write request, outlives reads */
static struct MHD_Daemon *api_daemon = NULL;
static int	daemon_fd = -1;
static int64 next_start = 0;
static char logged_error[PGHA_ERR_LEN] = "";
static bool serving = false;	/* inside MHD_run */
/* authorized write requests waiting for the HA worker, oldest first */
static ApiRequestCtx *queue_head = NULL;
static ApiRequestCtx *queue_tail = NULL;
/* switchovers, failovers and restarts whose outcome their clients wait for */
static ApiRequestCtx *wait_head = NULL;
/* the PEM texts while the daemon runs with TLS */
static PgHaApiTls daemon_tls;
static PgHaApiSnapshot *snapshot = NULL;

/* MHD's messages while starting are the reason a start failed */
static bool mhd_starting = false;
static char mhd_start_error[256];

/* ----- time */

static int64
timestamptz_to_epoch_us(TimestampTz t)
{
	return (int64) t +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * USECS_PER_DAY;
}

/* ----- the snapshot */

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

/*
 * The walsenders, as pg_stat_replication shows them (Patroni's
 * "replication" list).  The role name needs the catalogs, which a worker
 * without a database connection cannot read: usename stays null.
 */
static void
collect_walsenders(PgHaApiSnapshot *s)
{
	SyncRepStandbyData *sync = NULL;
	int			nsync;
	int			nbackends;

	s->nreplication = 0;
	if (WalSndCtl == NULL || max_wal_senders <= 0)
		return;

	nsync = SyncRepGetCandidateStandbys(&sync);
	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();

	for (int i = 0; i < max_wal_senders &&
		 s->nreplication < PGHA_API_MAX_REPLICATION; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		PgHaApiReplication *r = &s->replication[s->nreplication];
		pid_t		pid;
		WalSndState state;
		int			priority;
		bool		is_sync = false;

		SpinLockAcquire(&walsnd->mutex);
		pid = walsnd->pid;
		state = walsnd->state;
		priority = walsnd->sync_standby_priority;
		SpinLockRelease(&walsnd->mutex);
		if (pid == 0)
			continue;

		memset(r, 0, sizeof(*r));
		strlcpy(r->state, walsnd_state_name(state), sizeof(r->state));
		r->sync_priority = priority;
		for (int j = 0; j < nsync; j++)
			if (sync[j].walsnd_index == i)
				is_sync = true;
		if (priority == 0)
			strlcpy(r->sync_state, "async", sizeof(r->sync_state));
		else if (is_sync)
			strlcpy(r->sync_state,
					SyncRepConfig != NULL &&
					SyncRepConfig->syncrep_method == SYNC_REP_PRIORITY ?
					"sync" : "quorum", sizeof(r->sync_state));
		else
			strlcpy(r->sync_state, "potential", sizeof(r->sync_state));

		for (int b = 1; b <= nbackends; b++)
		{
			LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(b);
			PgBackendStatus *be;

			if (local == NULL)
				continue;
			be = &local->backendStatus;
			if (be->st_procpid != pid)
				continue;
			if (be->st_appname != NULL)
				strlcpy(r->application_name, be->st_appname,
						sizeof(r->application_name));
			if (be->st_clientaddr.salen > 0 &&
				(be->st_clientaddr.addr.ss_family == AF_INET ||
				 be->st_clientaddr.addr.ss_family == AF_INET6))
			{
				char		host[NI_MAXHOST];

				host[0] = '\0';
				if (pg_getnameinfo_all(&be->st_clientaddr.addr,
									   be->st_clientaddr.salen,
									   host, sizeof(host), NULL, 0,
									   NI_NUMERICHOST | NI_NUMERICSERV) == 0)
				{
					clean_ipv6_addr(be->st_clientaddr.addr.ss_family, host);
					strlcpy(r->client_addr, host, sizeof(r->client_addr));
					r->has_client_addr = true;
				}
			}
			break;
		}
		s->nreplication++;
	}
	pgstat_clear_backend_activity_snapshot();
	if (sync != NULL)
		pfree(sync);
}

/* Is a changed setting waiting for a restart (pg_settings.pending_restart)? */
static bool
any_pending_restart(void)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (vars[i] != NULL && (vars[i]->status & GUC_PENDING_RESTART))
			return true;
	return false;
}

static void
build_snapshot(PgHaApiSnapshot *s, bool with_replication)
{
	TimestampTz now = GetCurrentTimestamp();
	int64		mono_now = pgha_monotonic_ms();
	bool		in_recovery = RecoveryInProgress();
	bool		lease = pgha_lease_held();
	uint64		expiry;
	char		shared_role[PGHA_SHORT_LEN];
	TimestampTz last_contact;
	TimestampTz last_round;
	const char *version_num;

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
		s->timeline = GetWALInsertionTimeLine();
		s->location = (int64) GetXLogWriteRecPtr();
	}
	else
	{
		TimeLineID	tli = 0;
		XLogRecPtr	replayed = GetXLogReplayRecPtr(&tli);
		XLogRecPtr	received = GetWalRcvFlushRecPtr(NULL, NULL);
		TimestampTz latest = GetLatestXTime();
		XLogRecPtr	latest_end = InvalidXLogRecPtr;
		bool		streaming = false;

		/* a standby runs once it takes connections; crash recovery starts */
		s->pg_running = HotStandbyActive();
		s->timeline = tli;
		s->replayed_location = (int64) replayed;
		s->received_location = (int64) received;
		if (latest != 0)
		{
			int64		us = timestamptz_to_epoch_us(latest);

			s->has_replayed_timestamp =
				pgha_api_format_time(us, s->replayed_timestamp,
									 sizeof(s->replayed_timestamp));
			s->replayed_timestamp_ms = us / 1000;
		}
		s->replay_paused = GetRecoveryPauseState() != RECOVERY_NOT_PAUSED;

		if (WalRcv != NULL)
		{
			SpinLockAcquire(&WalRcv->mutex);
			streaming = WalRcv->walRcvState == WALRCV_STREAMING;
			latest_end = WalRcv->latestWalEnd;
			SpinLockRelease(&WalRcv->mutex);
		}
		s->streaming = streaming;
		s->has_lag = pgha_api_replica_lag(s->cluster_valid && s->cluster.has_optime,
										  s->cluster.optime,
										  streaming ? (int64) latest_end : 0,
										  (int64) replayed, &s->lag_bytes);
	}

	{
		int64		us = timestamptz_to_epoch_us(PgStartTime);

		(void) pgha_api_format_time(us, s->postmaster_start_time,
									sizeof(s->postmaster_start_time));
		s->postmaster_start_ms = us / 1000;
	}
	version_num = GetConfigOption("server_version_num", true, false);
	s->server_version = version_num ? atoi(version_num) : PG_VERSION_NUM;
	snprintf(s->sysid, sizeof(s->sysid), UINT64_FORMAT, GetSystemIdentifier());
	s->pending_restart = any_pending_restart();
	s->nofailover = pg_ha_nofailover;

	strlcpy(s->scope, pg_ha_cluster, sizeof(s->scope));
	strlcpy(s->name, pg_ha_node_name, sizeof(s->name));
	strlcpy(s->version, PG_HA_VERSION, sizeof(s->version));
	s->now_ms = timestamptz_to_epoch_us(now) / 1000;
	if (last_contact != 0)
	{
		int64		ms = timestamptz_to_epoch_us(last_contact) / 1000;

		s->dcs_last_seen = ms / 1000;
	}
	/* liveness: the HA worker goes round, whether Consul answers or not */
	if (last_round != 0)
		s->last_round_ms = timestamptz_to_epoch_us(last_round) / 1000;

	if (with_replication)
		collect_walsenders(s);
}

/* ----- write requests */

static bool
client_is_loopback(struct MHD_Connection *con)
{
	const union MHD_ConnectionInfo *info =
		MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa;

	if (info == NULL || info->client_addr == NULL)
		return false;
	sa = info->client_addr;
	if (sa->sa_family == AF_INET)
		return pgha_api_is_loopback(4, (const unsigned char *)
									&((const struct sockaddr_in *) sa)->sin_addr);
	if (sa->sa_family == AF_INET6)
		return pgha_api_is_loopback(6, (const unsigned char *)
									&((const struct sockaddr_in6 *) sa)->sin6_addr);
	return false;
}

static int64
now_epoch_ms(void)
{
	return timestamptz_to_epoch_us(GetCurrentTimestamp()) / 1000;
}

static void
wake_ha_worker(void)
{
	if (pgha_shared->worker_latch != NULL)
		SetLatch(pgha_shared->worker_latch);
}

/* loop_wait as the HA worker applies it (the config key's, else ours) */
static int
current_loop_wait_ms(void)
{
	int			ms;

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	ms = pgha_shared->loop_wait_ms > 0 ? pgha_shared->loop_wait_ms : pg_ha_loop_wait;
	LWLockRelease(pgha_shared->lock);
	return ms;
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
 * outcome (poll_waits).
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
	wait->wait_s = pgha_failover_wait_ms(current_loop_wait_ms()) / 1000;
	wait->next_poll = pgha_monotonic_ms() + PGHA_OUTCOME_POLL_MS;
	wait->deadline = pgha_monotonic_ms() + wait->wait_s * (int64) 1000;
}

/*
 * POST /restart: this node.  A scheduled restart is answered at once (202);
 * an immediate one sets wait instead of resp, as Patroni's handler blocks
 * until its restart is over: the answer is its outcome (poll_waits), so
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
	wait->old_start_ms = timestamptz_to_epoch_us(PgStartTime) / 1000;
	wait->wait_s = pgha_restart_wait_ms(current_loop_wait_ms()) / 1000;
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
 * worker starts the clone at its next round (ha_loop.c), once a session
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
static void
handle_write(const PgHaApiRequest *req, const char *body, size_t len,
			 PgHaApiResponse *resp, ApiWait *wait)
{
	MemoryContext old = MemoryContextSwitchTo(write_cxt);
	bool		ok = false;

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

/* ----- the queue of write requests */

static bool
writes_pending(void)
{
	return queue_head != NULL;
}

static void
enqueue(ApiRequestCtx *ctx, struct MHD_Connection *con)
{
	ctx->con = con;
	ctx->queued = true;
	ctx->next = NULL;
	if (queue_tail != NULL)
		queue_tail->next = ctx;
	else
		queue_head = ctx;
	queue_tail = ctx;
}

static void
unqueue(ApiRequestCtx *ctx)
{
	ApiRequestCtx *prev = NULL;

	for (ApiRequestCtx *c = queue_head; c != NULL; prev = c, c = c->next)
	{
		if (c != ctx)
			continue;
		if (prev != NULL)
			prev->next = c->next;
		else
			queue_head = c->next;
		if (queue_tail == c)
			queue_tail = prev;
		break;
	}
	ctx->queued = false;
	ctx->next = NULL;
}

/* The answer goes out at MHD's next call of api_access for it. */
static void
resume_with(ApiRequestCtx *ctx)
{
	struct MHD_Connection *con = ctx->con;

	unqueue(ctx);
	ctx->answered = true;
	ctx->con = NULL;
	MHD_resume_connection(con);
}

/* ----- waits for the outcome of a switchover, failover or restart */

/*
 * The wait's rules, libc only: the waiter (waiter_main) uses them too,
 * with no PostgreSQL around it.
 */
static const char *
wait_name(ApiWaitKind kind)
{
	switch (kind)
	{
		case WAIT_SWITCHOVER:
			return "switchover";
		case WAIT_FAILOVER:
			return "failover";
		case WAIT_RESTART:
			return "restart";
		case WAIT_NONE:
			break;
	}
	return "write";
}

/* The outcome so far, on the cluster as read (NULL: not read). */
static PgHaOutcome
wait_outcome(const ApiWait *w, const PgHaCluster *c)
{
	if (c == NULL)
		return PGHA_OUTCOME_PENDING;
	if (w->kind == WAIT_RESTART)
		return pgha_restart_outcome(c, w->member, w->old_start_ms);
	return pgha_failover_outcome(c, w->old_leader, w->candidate);
}

/*
 * Patroni's answer to an outcome: the status code, the text in buf.
 * new_leader: as for pgha_failover_outcome_text ("" when not read).
 */
static int
wait_answer(const ApiWait *w, PgHaOutcome outcome, const char *new_leader,
			char *buf, size_t len)
{
	if (w->kind == WAIT_RESTART)
		return pgha_restart_outcome_text(outcome, w->member, w->wait_s, buf, len);
	return pgha_failover_outcome_text(outcome, w->kind == WAIT_SWITCHOVER,
									  new_leader, w->candidate, buf, len);
}

static void
start_wait(ApiRequestCtx *ctx)
{
	ctx->waiting = true;
	ctx->next = wait_head;
	wait_head = ctx;
}

static void
unwait(ApiRequestCtx *ctx)
{
	ApiRequestCtx **p = &wait_head;

	while (*p != NULL && *p != ctx)
		p = &(*p)->next;
	if (*p == ctx)
		*p = ctx->next;
	ctx->waiting = false;
	ctx->next = NULL;
}

/* Is a look at the cluster due for some wait? */
static bool
polls_due(void)
{
	int64		now;

	if (wait_head == NULL)
		return false;
	now = pgha_monotonic_ms();
	for (ApiRequestCtx *ctx = wait_head; ctx != NULL; ctx = ctx->next)
		if (now >= ctx->wait.next_poll)
			return true;
	return false;
}

/* Work for pgha_api_run_writes beside the HA worker's blocking read. */
static bool
aside_work_pending(void)
{
	return writes_pending() || polls_due();
}

/* Answer a wait with Patroni's text for outcome; new_leader as in api_route.h. */
static void
answer_wait(ApiRequestCtx *ctx, PgHaOutcome outcome, const char *new_leader)
{
	struct MHD_Connection *con = ctx->con;
	char		text[PGHA_ERR_LEN];
	int			status;

	status = wait_answer(&ctx->wait, outcome, new_leader, text, sizeof(text));
	unwait(ctx);
	pgha_api_text_response(&ctx->resp, status, text);
	ereport(LOG,
			(errmsg("pg_ha: %s requested through the REST API: answered %d %s",
					wait_name(ctx->wait.kind), status, text)));
	ctx->answered = true;
	ctx->con = NULL;
	MHD_resume_connection(con);
}

/*
 * The waits past their time (a second more than Patroni's bound, so that
 * the last look can be made), answered without asking Consul: this runs
 * wherever the REST API is served, also while the HA worker waits for a
 * Consul that does not answer.  True when one was answered.
 */
static bool
expire_waits(void)
{
	int64		now = pgha_monotonic_ms();
	ApiRequestCtx *next;
	bool		answered = false;

	for (ApiRequestCtx *ctx = wait_head; ctx != NULL; ctx = next)
	{
		next = ctx->next;
		if (now >= ctx->wait.deadline + PGHA_OUTCOME_POLL_MS)
		{
			answer_wait(ctx, PGHA_OUTCOME_UNKNOWN, "");
			answered = true;
		}
	}
	return answered;
}

/*
 * Look at the cluster once for the waits whose second has come, as
 * Patroni's poll_failover_result does, and answer those that have an
 * outcome (or no time left).  A failed read is no outcome: the next second
 * looks again.  Outside any MHD callback.  True when one was answered.
 */
static bool
poll_waits(void)
{
	MemoryContext old;
	PgHaCluster *c = NULL;
	bool		read_ok = false;
	bool		answered = false;
	int64		now;
	ApiRequestCtx *next;

	if (!polls_due())
		return false;
	old = MemoryContextSwitchTo(write_cxt);
	PG_TRY();
	{
		char		err[PGHA_ERR_LEN];

		c = palloc(sizeof(PgHaCluster));
		read_ok = dcs_read_cluster(psprintf("%s/%s/", pg_ha_namespace, pg_ha_cluster),
								   c, err, sizeof(err));
		if (!read_ok)
			elog(DEBUG1, "pg_ha: REST API: could not read the cluster for a waiting request: %s", err);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(write_cxt);
		EmitErrorReport();
		FlushErrorState();
		LWLockReleaseAll();
		read_ok = false;
	}
	PG_END_TRY();

	now = pgha_monotonic_ms();
	for (ApiRequestCtx *ctx = wait_head; ctx != NULL; ctx = next)
	{
		PgHaOutcome outcome;

		next = ctx->next;
		if (now < ctx->wait.next_poll)
			continue;
		ctx->wait.next_poll = now + PGHA_OUTCOME_POLL_MS;
		outcome = wait_outcome(&ctx->wait, read_ok ? c : NULL);
		if (outcome == PGHA_OUTCOME_PENDING && now >= ctx->wait.deadline)
			outcome = PGHA_OUTCOME_UNKNOWN;
		if (outcome != PGHA_OUTCOME_PENDING)
		{
			answer_wait(ctx, outcome, read_ok ? c->leader : "");
			answered = true;
		}
	}
	MemoryContextSwitchTo(old);
	MemoryContextReset(write_cxt);
	return answered;
}

/* ----- the waiter: a wait that outlives the HA worker */

/* What a waiter needs, read while the worker still has shared memory. */
typedef struct WaiterArgs
{
	ApiWait		wait;
	int			fd;				/* the client's socket */
	void	   *tls;			/* its gnutls_session_t, NULL without TLS */
	int			timeout_ms;		/* per Consul request: retry_timeout */
} WaiterArgs;

typedef struct WaiterBody
{
	char	   *data;
	size_t		len;
} WaiterBody;

static void waiter_main(WaiterArgs *a) pg_attribute_noreturn();

static size_t
waiter_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	WaiterBody *b = (WaiterBody *) userdata;
	size_t		n = size * nmemb;
	char	   *p;

	if (b->len + n > WAITER_MAX_BODY || (p = realloc(b->data, b->len + n + 1)) == NULL)
		return 0;				/* makes libcurl fail the transfer */
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

/*
 * The cluster's keys from Consul, as dcs_read_cluster() reads them, with
 * libcurl and cluster.c alone: the waiter has no PostgreSQL left around it
 * (no shared memory, latch, log or error handling).
 */
static bool
waiter_read_cluster(const char *prefix, int timeout_ms, PgHaCluster *c)
{
	CURL	   *easy = curl_easy_init();
	struct curl_slist *headers = NULL;
	WaiterBody	body = {NULL, 0};
	char		url[2048];
	char		err[PGHA_ERR_LEN];
	long		status = 0;
	bool		ok = false;

	if (easy == NULL)
		return false;
	snprintf(url, sizeof(url), "%s/v1/kv/%s?recurse", pg_ha_consul_url, prefix);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pg_ha/" PG_HA_VERSION);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, waiter_collect);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &body);
	if (pg_ha_consul_token != NULL && pg_ha_consul_token[0] != '\0')
	{
		char		h[600];

		snprintf(h, sizeof(h), "X-Consul-Token: %s", pg_ha_consul_token);
		headers = curl_slist_append(headers, h);
		explicit_bzero(h, sizeof(h));
		curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);
	}
	if (curl_easy_perform(easy) == CURLE_OK &&
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status) == CURLE_OK)
	{
		if (status == 404)
		{
			/* no key at all: no leader, no request */
			memset(c, 0, sizeof(*c));
			ok = true;
		}
		else if (status == 200 && body.data != NULL)
			ok = pgha_parse_kv_listing(body.data, body.len, prefix, c,
									   err, sizeof(err));
	}
	curl_easy_cleanup(easy);
	curl_slist_free_all(headers);
	free(body.data);
	return ok;
}

/* Send all of buf on the client's connection; false when it is gone. */
static bool
waiter_send(const WaiterArgs *a, const char *buf, size_t len)
{
	while (len > 0)
	{
		ssize_t		n;

		if (a->tls != NULL)
			n = gnutls_record_send((gnutls_session_t) a->tls, buf, len);
		else
			n = send(a->fd, buf, len, MSG_NOSIGNAL);
		/* a timeout (SO_SNDTIMEO) ends it, as a gone client does */
		if (n < 0 && (a->tls != NULL ? n == GNUTLS_E_INTERRUPTED : errno == EINTR))
			continue;
		if (n <= 0)
			return false;
		buf += n;
		len -= (size_t) n;
	}
	return true;
}

/*
 * The waiter's life, in a child forked by the exiting HA worker: keep the
 * client's connection and nothing else of the server, look at the cluster
 * once a second until the outcome is known (the new leader, the restarted
 * server) or the wait's deadline, answer as the REST API would have, exit.
 */
static void
waiter_main(WaiterArgs *a)
{
	static const int signals[] = {SIGHUP, SIGINT, SIGTERM, SIGQUIT, SIGALRM,
	SIGUSR1, SIGUSR2, SIGCHLD};
	char		prefix[2 * PGHA_NAME_LEN + 2];
	PgHaCluster *c = calloc(1, sizeof(PgHaCluster));
	PgHaOutcome outcome = PGHA_OUTCOME_UNKNOWN;
	char		text[PGHA_ERR_LEN];
	char		answer[PGHA_ERR_LEN + 256];
	sigset_t	none;
	struct timeval send_timeout = {WAITER_SEND_TIMEOUT_S, 0};
	int			null_fd;
	int			status;
	int			n;

	/*
	 * Out of the worker's process group, which the postmaster signals;
	 * default handlers, for the worker's own touch shared memory.
	 */
	(void) setsid();
	for (int i = 0; i < lengthof(signals); i++)
		pqsignal(signals[i], SIG_DFL);
	pqsignal(SIGPIPE, SIG_IGN);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);

	/*
	 * Let go of the server's shared memory: a postmaster refuses to start
	 * while an old process still has it attached (the syslogger detaches
	 * likewise).  Of the descriptors, keep the client's alone, as fd 3.
	 */
	PGSharedMemoryDetach();
	null_fd = open("/dev/null", O_RDWR);
	if (null_fd >= 0)
	{
		(void) dup2(null_fd, STDIN_FILENO);
		(void) dup2(null_fd, STDOUT_FILENO);
		(void) dup2(null_fd, STDERR_FILENO);
	}
	if (a->fd != 3 && dup2(a->fd, 3) < 0)
		_exit(1);
	a->fd = 3;
	closefrom(4);
	if (a->tls != NULL)
		gnutls_transport_set_int((gnutls_session_t) a->tls, a->fd);
	(void) fcntl(a->fd, F_SETFL, fcntl(a->fd, F_GETFL) & ~O_NONBLOCK);
	(void) setsockopt(a->fd, SOL_SOCKET, SO_SNDTIMEO, &send_timeout,
					  sizeof(send_timeout));

	snprintf(prefix, sizeof(prefix), "%s/%s/", pg_ha_namespace, pg_ha_cluster);
	while (c != NULL)
	{
		int64		now = pgha_monotonic_ms();

		if (now < a->wait.next_poll)
		{
			(void) poll(NULL, 0, (int) (a->wait.next_poll - now));
			continue;
		}
		a->wait.next_poll = now + PGHA_OUTCOME_POLL_MS;
		if (waiter_read_cluster(prefix, a->timeout_ms, c))
		{
			outcome = wait_outcome(&a->wait, c);
			if (outcome != PGHA_OUTCOME_PENDING)
				break;
		}
		if (pgha_monotonic_ms() >= a->wait.deadline)
		{
			outcome = PGHA_OUTCOME_UNKNOWN;
			break;
		}
	}

	status = wait_answer(&a->wait, outcome, c != NULL ? c->leader : "",
						 text, sizeof(text));
	n = snprintf(answer, sizeof(answer),
				 "HTTP/1.1 %d %s\r\n"
				 "Connection: close\r\n"
				 "Content-Type: text/plain; charset=utf-8\r\n"
				 "Content-Length: %zu\r\n\r\n%s",
				 status, status == 200 ? "OK" : "Service Unavailable",
				 strlen(text), text);
	if (n > 0 && n < (int) sizeof(answer) && waiter_send(a, answer, n))
	{
		if (a->tls != NULL)
			(void) gnutls_bye((gnutls_session_t) a->tls, GNUTLS_SHUT_WR);
		else
			(void) shutdown(a->fd, SHUT_WR);
	}
	_exit(0);
}

/*
 * The HA worker exits while clients wait for an outcome: a switchover
 * stops the old leader's server, and the REST API with it, before the new
 * leader takes the key; a restart stops this server before the new one
 * runs.  Each waiting connection is left to a waiter
 * (waiter_main) forked here.  True when one was: the daemon must then
 * never close its connections, as MHD_stop_daemon would (its shutdown()
 * would end the waiter's too); the process exits instead, which closes
 * only its own descriptors.  The others stay in the list.
 */
static bool
hand_over_waits(void)
{
	bool		any = false;
	int			timeout_ms;
	ApiRequestCtx *next;

	if (wait_head == NULL)
		return false;
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	timeout_ms = pgha_shared->retry_timeout_ms > 0 ?
		pgha_shared->retry_timeout_ms : pg_ha_retry_timeout;
	LWLockRelease(pgha_shared->lock);

	for (ApiRequestCtx *ctx = wait_head; ctx != NULL; ctx = next)
	{
		const union MHD_ConnectionInfo *info;
		WaiterArgs	a;
		pid_t		pid;

		next = ctx->next;
		memset(&a, 0, sizeof(a));
		a.wait = ctx->wait;
		a.timeout_ms = timeout_ms;
		info = MHD_get_connection_info(ctx->con, MHD_CONNECTION_INFO_CONNECTION_FD);
		if (info == NULL)
			continue;
		a.fd = info->connect_fd;
		/* the TLS session goes along: the waiter goes on with it */
		info = MHD_get_connection_info(ctx->con, MHD_CONNECTION_INFO_GNUTLS_SESSION);
		if (info != NULL)
			a.tls = info->tls_session;
		pid = fork();
		if (pid == 0)
			waiter_main(&a);
		if (pid < 0)
		{
			ereport(LOG,
					(errmsg("pg_ha: could not fork a process to answer a %s request: %m",
							wait_name(a.wait.kind))));
			continue;
		}
		ereport(LOG,
				(errmsg("pg_ha: the REST API stops; process %d answers the %s request once %s",
						(int) pid, wait_name(a.wait.kind),
						a.wait.kind == WAIT_RESTART ? "the restarted server runs" :
						"the new leader is known")));
		unwait(ctx);
		any = true;
	}
	return any;
}

/* ----- MHD callbacks: no ERROR may escape them */

static void *
api_uri_log(void *cls, const char *uri, struct MHD_Connection *con)
{
	size_t		len = uri ? strnlen(uri, PGHA_API_MAX_URI + 1) : 0;
	ApiRequestCtx *ctx;

	/* one byte more than the limit is enough to answer 414 */
	ctx = malloc(offsetof(ApiRequestCtx, uri) + len + 1);
	if (ctx == NULL)
		return NULL;
	memset(ctx, 0, offsetof(ApiRequestCtx, uri));
	ctx->len = len;
	if (len > 0)
		memcpy(ctx->uri, uri, len);
	ctx->uri[len] = '\0';
	return ctx;
}

static void
api_completed(void *cls, struct MHD_Connection *con, void **req_cls,
			  enum MHD_RequestTerminationCode toe)
{
	if (req_cls != NULL && *req_cls != NULL)
	{
		ApiRequestCtx *ctx = (ApiRequestCtx *) *req_cls;

		if (ctx->queued)
			unqueue(ctx);
		if (ctx->waiting)
			unwait(ctx);
		pgha_api_response_free(&ctx->resp);
		free(ctx->body);
		free(ctx);
		*req_cls = NULL;
	}
}

static void
api_mhd_log(void *cls, const char *fmt, va_list ap)
{
	char		buf[256];
	size_t		n;

	vsnprintf(buf, sizeof(buf), fmt, ap);
	n = strlen(buf);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	if (mhd_starting)
	{
		strlcpy(mhd_start_error, buf, sizeof(mhd_start_error));
		return;
	}
	/* bad clients must not flood the server log */
	elog(DEBUG1, "pg_ha: REST API: %s", buf);
}

static enum MHD_Result
send_response(struct MHD_Connection *con, PgHaApiResponse *resp)
{
	struct MHD_Response *r;
	enum MHD_Result ret;
	bool		has_body = resp->body != NULL && resp->body_len > 0;

	if (has_body)
	{
		r = MHD_create_response_from_buffer_with_free_callback(resp->body_len,
															   resp->body,
															   free);
		if (r != NULL)
			resp->body = NULL;	/* MHD frees it now */
	}
	else
		r = MHD_create_response_from_buffer(0, (void *) "",
											MHD_RESPMEM_PERSISTENT);
	if (r == NULL)
	{
		pgha_api_response_free(resp);
		return MHD_NO;			/* MHD closes the connection */
	}
	if (has_body && resp->content_type != NULL)
		(void) MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE,
									   resp->content_type);
	if (resp->allow)
		(void) MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW,
									   resp->allow_methods ? resp->allow_methods :
									   PGHA_API_ALLOW);
	if (resp->status == MHD_HTTP_UNAUTHORIZED)
		(void) MHD_add_response_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE,
									   "Basic realm=\"pg_ha\"");
	ret = MHD_queue_response(con, (unsigned int) resp->status, r);
	MHD_destroy_response(r);
	pgha_api_response_free(resp);
	return ret;
}

/* A fixed answer when nothing else can be built. */
static enum MHD_Result
send_plain_error(struct MHD_Connection *con, int status)
{
	PgHaApiResponse resp;

	memset(&resp, 0, sizeof(resp));
	resp.status = status;
	return send_response(con, &resp);
}

static enum MHD_Result
api_access(void *cls, struct MHD_Connection *con, const char *url,
		   const char *method, const char *version, const char *upload_data,
		   size_t *upload_data_size, void **req_cls)
{
	ApiRequestCtx *ctx = *req_cls;
	PgHaApiRequest req;
	PgHaApiResponse resp;
	MemoryContext old;
	bool		ok = false;

	/* out of memory in api_uri_log: the query string is lost, say so */
	if (ctx == NULL)
	{
		if (*upload_data_size != 0)
		{
			*upload_data_size = 0;
			return MHD_YES;
		}
		return send_plain_error(con, MHD_HTTP_SERVICE_UNAVAILABLE);
	}

	/* a write request: collect its body, queue it, answer once carried out */
	if (ctx->write)
	{
		if (ctx->answered)
		{
			resp = ctx->resp;
			memset(&ctx->resp, 0, sizeof(ctx->resp));
			return send_response(con, &resp);
		}
		if (*upload_data_size != 0)
		{
			if (!ctx->too_large &&
				ctx->body_len + *upload_data_size <= PGHA_API_MAX_WRITE_BODY)
			{
				char	   *p = realloc(ctx->body, ctx->body_len + *upload_data_size + 1);

				if (p == NULL)
					ctx->too_large = true;
				else
				{
					ctx->body = p;
					memcpy(p + ctx->body_len, upload_data, *upload_data_size);
					ctx->body_len += *upload_data_size;
					p[ctx->body_len] = '\0';
				}
			}
			else
				ctx->too_large = true;
			*upload_data_size = 0;
			return MHD_YES;
		}
		if (ctx->too_large)
		{
			pgha_api_text_response(&resp, MHD_HTTP_CONTENT_TOO_LARGE,
								   "request body too large");
			return send_response(con, &resp);
		}
		/*
		 * Carried out by pgha_api_run_writes: during a blocking read at
		 * once (dcs_run_aside), else when the current wait or round ends.
		 */
		if (!ctx->queued)
		{
			enqueue(ctx, con);
			MHD_suspend_connection(con);
		}
		return MHD_YES;
	}

	/* called again with a request body: the answer is already queued */
	if (ctx->started)
	{
		*upload_data_size = 0;
		return MHD_YES;
	}
	ctx->started = true;

	if (!pgha_api_parse_request(method, ctx->uri, &req, &resp))
		return send_response(con, &resp);

	if (pgha_api_is_write(&req))
	{
		char		msg[PGHA_ERR_LEN];
		int			status;

		/* with pg_ha.api_cafile: a client certificate first (api_tls.c) */
		if (pgha_api_tls_verify_client())
		{
			const union MHD_ConnectionInfo *info =
				MHD_get_connection_info(con, MHD_CONNECTION_INFO_GNUTLS_SESSION);

			if (info == NULL ||
				!pgha_api_tls_client_verified(info->tls_session))
			{
				pgha_api_text_response(&resp, MHD_HTTP_FORBIDDEN,
									   "Access is denied: write requests need a client certificate signed by the CA of pg_ha.api_cafile");
				return send_response(con, &resp);
			}
		}
		status = pgha_api_check_auth(pg_ha_api_auth,
									 MHD_lookup_connection_value(con, MHD_HEADER_KIND,
																 MHD_HTTP_HEADER_AUTHORIZATION),
									 client_is_loopback(con), msg, sizeof(msg));
		if (status != 0)
		{
			pgha_api_text_response(&resp, status, msg);
			return send_response(con, &resp);
		}
		/* the body follows; answered at the last call */
		ctx->req = req;
		ctx->write = true;
		return MHD_YES;
	}

	old = MemoryContextSwitchTo(request_cxt);
	PG_TRY();
	{
		build_snapshot(snapshot, pgha_api_needs_replication(&req));
		ok = true;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(request_cxt);
		EmitErrorReport();
		FlushErrorState();
		LWLockReleaseAll();
		pgstat_clear_backend_activity_snapshot();
	}
	PG_END_TRY();
	MemoryContextSwitchTo(old);
	MemoryContextReset(request_cxt);

	if (!ok)
		return send_plain_error(con, MHD_HTTP_INTERNAL_SERVER_ERROR);
	pgha_api_respond(&req, snapshot, &resp);
	return send_response(con, &resp);
}

/* ----- the daemon */

/*
 * Start MHD on pg_ha.api_listen ("[host]:port"; an empty host or "*": all
 * addresses, IPv6 and IPv4).  NULL with err set on failure.
 */
static struct MHD_Daemon *
start_daemon(char *err, size_t errlen)
{
	const char *listen = pg_ha_api_listen;
	const char *colon = strrchr(listen, ':');
	char		host[256];
	int			port;
	unsigned int flags = MHD_USE_EPOLL | MHD_USE_ERROR_LOG | MHD_ALLOW_SUSPEND_RESUME;
	struct sockaddr_storage addr;
	bool		have_addr = false;
	bool		any = false;
	struct MHD_OptionItem opts[16];
	int			n = 0;
	struct MHD_Daemon *d;

	err[0] = '\0';
	if (colon == NULL)
	{
		snprintf(err, errlen, "pg_ha.api_listen \"%s\" has no port", listen);
		return NULL;
	}
	port = atoi(colon + 1);
	snprintf(host, sizeof(host), "%.*s", (int) (colon - listen), listen);
	/* [v6]:port */
	if (host[0] == '[' && host[strlen(host) - 1] == ']')
	{
		memmove(host, host + 1, strlen(host));
		host[strlen(host) - 1] = '\0';
	}

	memset(&addr, 0, sizeof(addr));
	if (host[0] == '\0' || strcmp(host, "*") == 0)
		any = true;
	else
	{
		struct addrinfo hints;
		struct addrinfo *res = NULL;
		int			rc;

		memset(&hints, 0, sizeof(hints));
		hints.ai_family = AF_UNSPEC;
		hints.ai_socktype = SOCK_STREAM;
		hints.ai_flags = AI_PASSIVE;
		rc = getaddrinfo(host, NULL, &hints, &res);
		if (rc != 0 || res == NULL)
		{
			snprintf(err, errlen, "could not resolve \"%s\": %s", host,
					 gai_strerror(rc));
			if (res)
				freeaddrinfo(res);
			return NULL;
		}
		memcpy(&addr, res->ai_addr, Min(res->ai_addrlen, sizeof(addr)));
		freeaddrinfo(res);
		if (addr.ss_family == AF_INET6)
		{
			((struct sockaddr_in6 *) &addr)->sin6_port = htons((uint16) port);
			flags |= MHD_USE_IPv6;
		}
		else
			((struct sockaddr_in *) &addr)->sin_port = htons((uint16) port);
		have_addr = true;
	}

#define OPT(o, v, p) \
	do { opts[n].option = (o); opts[n].value = (intptr_t) (v); \
		 opts[n].ptr_value = (p); n++; } while (0)
	OPT(MHD_OPTION_CONNECTION_LIMIT, API_CONNECTION_LIMIT, NULL);
	OPT(MHD_OPTION_PER_IP_CONNECTION_LIMIT, API_PER_IP_LIMIT, NULL);
	OPT(MHD_OPTION_CONNECTION_TIMEOUT, API_CONNECTION_TIMEOUT_S, NULL);
	OPT(MHD_OPTION_CONNECTION_MEMORY_LIMIT, API_CONNECTION_MEMORY, NULL);
	OPT(MHD_OPTION_URI_LOG_CALLBACK, api_uri_log, NULL);
	OPT(MHD_OPTION_NOTIFY_COMPLETED, api_completed, NULL);
	OPT(MHD_OPTION_EXTERNAL_LOGGER, api_mhd_log, NULL);
	/* background workers ignore SIGPIPE */
	OPT(MHD_OPTION_SIGPIPE_HANDLED_BY_APP, 1, NULL);
	if (have_addr)
		OPT(MHD_OPTION_SOCK_ADDR, 0, &addr);
	if (pgha_api_tls_enabled())
	{
		/* read again at each start: a replaced file is taken */
		pgha_api_tls_free(&daemon_tls);
		if (!pgha_api_tls_load(&daemon_tls, err, errlen))
			return NULL;
		flags |= MHD_USE_TLS;
		OPT(MHD_OPTION_HTTPS_MEM_CERT, 0, daemon_tls.cert);
		OPT(MHD_OPTION_HTTPS_MEM_KEY, 0, daemon_tls.key);
		if (daemon_tls.ca != NULL)
			OPT(MHD_OPTION_HTTPS_MEM_TRUST, 0, daemon_tls.ca);
	}
	OPT(MHD_OPTION_END, 0, NULL);
#undef OPT

	mhd_starting = true;
	mhd_start_error[0] = '\0';
	d = MHD_start_daemon(flags | (any ? MHD_USE_DUAL_STACK : 0),
						 (uint16_t) port, NULL, NULL, api_access, NULL,
						 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	if (d == NULL && any)
	{
		/* no IPv6 on this host: all IPv4 addresses */
		mhd_start_error[0] = '\0';
		d = MHD_start_daemon(flags, (uint16_t) port, NULL, NULL,
							 api_access, NULL,
							 MHD_OPTION_ARRAY, opts, MHD_OPTION_END);
	}
	mhd_starting = false;
	if (d == NULL)
		pgha_api_tls_free(&daemon_tls);
	if (d == NULL)
		snprintf(err, errlen, "could not listen on \"%s\": %s", listen,
				 mhd_start_error[0] ? mhd_start_error : "libmicrohttpd failed to start");
	return d;
}

/* ----- the HA worker's side (api.h) */

/* MHD's turn: accept, read, answer, time out, whatever is ready. */
static void
serve(void)
{
	MHD_UNSIGNED_LONG_LONG timeout;

	if (api_daemon == NULL || serving)
		return;
	serving = true;

	/* a wait past its time is answered, whatever Consul does */
	if (wait_head != NULL)
		(void) expire_waits();

	/*
	 * Again while MHD has work ready that no descriptor announces (timeout
	 * 0): a resumed connection, then the next request a kept-alive client
	 * sends on it.  Bounded, so that the HA loop always gets its turn.
	 */
	for (int i = 0; i < SERVE_MAX_RUNS; i++)
	{
		(void) MHD_run(api_daemon);
		if (MHD_get_timeout(api_daemon, &timeout) != MHD_YES || timeout > 0)
			break;
	}
	serving = false;
}

void
pgha_api_init(void)
{
	request_cxt = AllocSetContextCreate(TopMemoryContext, "pg_ha API request",
										ALLOCSET_SMALL_SIZES);
	write_cxt = AllocSetContextCreate(TopMemoryContext, "pg_ha API write",
									  ALLOCSET_SMALL_SIZES);
	snapshot = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaApiSnapshot));
}

void
pgha_api_start(void)
{
	char		err[PGHA_ERR_LEN];
	const union MHD_DaemonInfo *info;
	int64		now = pgha_monotonic_ms();

	if (api_daemon != NULL || now < next_start)
		return;
	api_daemon = start_daemon(err, sizeof(err));
	if (api_daemon != NULL)
	{
		info = MHD_get_daemon_info(api_daemon, MHD_DAEMON_INFO_EPOLL_FD);
		if (info == NULL || info->epoll_fd < 0)
		{
			MHD_stop_daemon(api_daemon);
			api_daemon = NULL;
			pgha_api_tls_free(&daemon_tls);
			strlcpy(err, "libmicrohttpd has no epoll descriptor", sizeof(err));
		}
		else
			daemon_fd = info->epoll_fd;
	}
	if (api_daemon == NULL)
	{
		/* keep trying (the port may be freed), complain once */
		if (strcmp(err, logged_error) != 0)
			ereport(WARNING,
					(errmsg("pg_ha: REST API not started: %s", err),
					 errhint("Check pg_ha.api_listen; the HA worker retries every %d seconds.",
							 API_RETRY_START_MS / 1000)));
		strlcpy(logged_error, err, sizeof(logged_error));
		next_start = now + API_RETRY_START_MS;
		return;
	}
	dcs_serve_while_waiting(daemon_fd, serve);
	dcs_run_aside(aside_work_pending, pgha_api_run_writes);
	ereport(LOG,
			(errmsg("pg_ha: REST API listening on \"%s\" (pid %d)%s",
					pg_ha_api_listen, MyProcPid,
					pgha_api_tls_enabled() ? ", HTTPS" : "")));
	logged_error[0] = '\0';
}

/*
 * Answer what is queued and stop listening.  exiting: the HA worker exits
 * next, so waits are handed over to waiters (hand_over_waits); else (a
 * restart of the daemon) they are answered as unknown.
 */
static void
stop_daemon(bool exiting)
{
	bool		handed_over = false;

	if (api_daemon == NULL)
		return;
	/* MHD must not stop with a suspended connection: answer them first */
	while (queue_head != NULL)
	{
		ApiRequestCtx *ctx = queue_head;

		pgha_api_text_response(&ctx->resp, MHD_HTTP_SERVICE_UNAVAILABLE,
							   "the REST API is stopping; nothing was done");
		resume_with(ctx);
	}
	if (exiting)
		handed_over = hand_over_waits();
	while (wait_head != NULL)
		answer_wait(wait_head, PGHA_OUTCOME_UNKNOWN, "");
	serve();
	dcs_serve_while_waiting(-1, NULL);
	dcs_run_aside(NULL, NULL);
	if (handed_over)
	{
		/* no new connections at once; the rest ends with the process */
		MHD_socket listen_fd = MHD_quiesce_daemon(api_daemon);

		if (listen_fd != MHD_INVALID_SOCKET)
			close(listen_fd);
	}
	else
		MHD_stop_daemon(api_daemon);
	api_daemon = NULL;
	daemon_fd = -1;
	pgha_api_tls_free(&daemon_tls);
}

void
pgha_api_stop(void)
{
	stop_daemon(true);
}

/*
 * After a reload: new certificate or key files are taken by starting the
 * daemon again; files that cannot be read leave the running daemon as it
 * is, with a warning, rather than a node without health checks.
 */
void
pgha_api_reload(void)
{
	PgHaApiTls	tls;
	char		err[PGHA_ERR_LEN];
	bool		same;

	if (api_daemon == NULL || !pgha_api_tls_enabled())
		return;
	memset(&tls, 0, sizeof(tls));
	if (!pgha_api_tls_load(&tls, err, sizeof(err)))
	{
		ereport(WARNING,
				(errmsg("pg_ha: REST API keeps serving its certificate: %s", err),
				 errhint("Fix the file and reload again; HTTPS goes on with the files read before.")));
		return;
	}
	same = pgha_api_tls_equal(&tls, &daemon_tls);
	pgha_api_tls_free(&tls);
	if (same)
		return;
	stop_daemon(false);
	next_start = 0;
	pgha_api_start();
	if (api_daemon != NULL)
		ereport(LOG,
				(errmsg("pg_ha: REST API restarted with the new certificate files")));
}

/*
 * The queued write requests, carried out one after the other, then the
 * looks at the cluster that waits for an outcome are due (poll_waits).
 * Called by the HA worker outside MHD_run, between rounds and beside its
 * blocking reads: each talks to Consul, serving health checks meanwhile.
 * Stops once a loop_wait has gone by; the rest waits for the next round,
 * so that the lease is renewed on time.
 */
void
pgha_api_run_writes(void)
{
	int64		start = pgha_monotonic_ms();
	int			budget = current_loop_wait_ms();
	bool		resumed = false;

	while (queue_head != NULL && pgha_monotonic_ms() - start < budget)
	{
		ApiRequestCtx *ctx = queue_head;
		struct MHD_Connection *con = ctx->con;

		/* off the queue first: a request queued meanwhile waits its turn */
		unqueue(ctx);
		handle_write(&ctx->req, ctx->body, ctx->body_len, &ctx->resp, &ctx->wait);
		if (ctx->wait.kind != WAIT_NONE)
		{
			/* stays suspended until its outcome is known */
			start_wait(ctx);
			continue;
		}
		ctx->answered = true;
		ctx->con = NULL;
		MHD_resume_connection(con);
		resumed = true;
	}
	if (poll_waits())
		resumed = true;
	/* a resumed connection wakes no descriptor: send the answers now */
	if (resumed)
		serve();
}

/*
 * WaitLatch(), serving the REST API meanwhile.  events: WL_LATCH_SET (on
 * MyLatch), WL_TIMEOUT, WL_EXIT_ON_PM_DEATH or WL_POSTMASTER_DEATH.
 * Returns the event that ended the wait, as WaitLatch() does.
 */
int
pgha_api_wait(int events, long timeout_ms, uint32 wait_event_info)
{
	WaitEventSet *set;
	int64		deadline = pgha_monotonic_ms() + Max(timeout_ms, 0);
	int			rc = 0;

	if (api_daemon == NULL)
		return WaitLatch((events & WL_LATCH_SET) ? MyLatch : NULL, events,
						 timeout_ms, wait_event_info);

	set = CreateWaitEventSet(CurrentMemoryContext, 3);
	if (events & WL_LATCH_SET)
		AddWaitEventToSet(set, WL_LATCH_SET, PGINVALID_SOCKET, MyLatch, NULL);
	if (events & WL_EXIT_ON_PM_DEATH)
		AddWaitEventToSet(set, WL_EXIT_ON_PM_DEATH, PGINVALID_SOCKET, NULL, NULL);
	else if (events & WL_POSTMASTER_DEATH)
		AddWaitEventToSet(set, WL_POSTMASTER_DEATH, PGINVALID_SOCKET, NULL, NULL);
	AddWaitEventToSet(set, WL_SOCKET_READABLE, daemon_fd, NULL, NULL);

	while (rc == 0)
	{
		long		wait = API_MAX_WAIT_MS;
		MHD_UNSIGNED_LONG_LONG mhd_timeout;
		WaitEvent	event;

		if (events & WL_TIMEOUT)
		{
			int64		left = deadline - pgha_monotonic_ms();

			if (left <= 0)
			{
				rc = WL_TIMEOUT;
				break;
			}
			wait = Min(wait, (long) left);
		}
		if (api_daemon != NULL && MHD_get_timeout(api_daemon, &mhd_timeout) == MHD_YES &&
			mhd_timeout < (MHD_UNSIGNED_LONG_LONG) wait)
			wait = (long) mhd_timeout;

		if (WaitEventSetWait(set, wait, &event, 1, wait_event_info) == 1 &&
			!(event.events & WL_SOCKET_READABLE))
			rc = event.events;
		else
		{
			serve();
			/* a write request queued: the caller's wait ends, as by the latch */
			if ((events & WL_LATCH_SET) && writes_pending())
				rc = WL_LATCH_SET;
		}
	}
	FreeWaitEventSet(set);
	return rc;
}
