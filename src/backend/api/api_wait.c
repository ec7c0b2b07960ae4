/*-------------------------------------------------------------------------
 *
 * api_wait.c
 *	  The REST requests that wait for their outcome (see api_wait.h).
 *
 * An immediate switchover, failover or restart is answered with its
 * outcome, as Patroni does: the connection stays suspended, in the list of
 * waits, while the HA worker looks at the cluster in Consul once a second,
 * between rounds and beside its blocking reads (pgha_api_waits_poll),
 * health checks answered meanwhile; the rules are pure
 * (pgha_failover_outcome, pgha_restart_outcome in outcome.h).  When the
 * worker exits first (the old leader's server stops in a switchover, this
 * server in a restart, and the REST API with it), each waiting connection
 * is left to a process of its own that outlives the server, looks at
 * Consul until the new leader or the restarted server is there, answers
 * and exits (pgha_api_waits_hand_over).  Since a restart is answered once
 * it is over, patronictl restarts a cluster one member after the other, as
 * Patroni.
 *
 * What this file is not for: carrying out the request that starts the
 * wait (api_action.c), or the daemon (api.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <poll.h>
#include <unistd.h>

#include <curl/curl.h>
#include <gnutls/gnutls.h>
#include <microhttpd.h>

#include "storage/lwlock.h"
#include "storage/pg_shmem.h"
#include "utils/memutils.h"

#include "api_route.h"
#include "api_wait.h"
#include "cluster.h"
#include "dcs.h"
#include "settings.h"
#include "state.h"

/* the largest cluster listing a waiter reads, as dcs_consul.c's limit */
#define WAITER_MAX_BODY				(4 * 1024 * 1024)
/* a waiter's answer goes out within this, or the client is given up */
#define WAITER_SEND_TIMEOUT_S		10

/* switchovers, failovers and restarts whose outcome their clients wait for */
static ApiRequestCtx *wait_head = NULL;
/* one look at the cluster for them */
static MemoryContext poll_cxt = NULL;

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

void
pgha_api_waits_add(ApiRequestCtx *ctx)
{
	ctx->waiting = true;
	ctx->next = wait_head;
	wait_head = ctx;
}

void
pgha_api_waits_remove(ApiRequestCtx *ctx)
{
	ApiRequestCtx **p = &wait_head;

	while (*p != NULL && *p != ctx)
		p = &(*p)->next;
	if (*p == ctx)
		*p = ctx->next;
	ctx->waiting = false;
	ctx->next = NULL;
}

bool
pgha_api_waits_due(void)
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

/* Answer a wait with Patroni's text for outcome; new_leader as in api_route.h. */
static void
answer_wait(ApiRequestCtx *ctx, PgHaOutcome outcome, const char *new_leader)
{
	struct MHD_Connection *con = ctx->con;
	char		text[PGHA_ERR_LEN];
	int			status;

	status = wait_answer(&ctx->wait, outcome, new_leader, text, sizeof(text));
	pgha_api_waits_remove(ctx);
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
bool
pgha_api_waits_expire(void)
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
bool
pgha_api_waits_poll(void)
{
	MemoryContext old;
	PgHaCluster *c = NULL;
	bool		read_ok = false;
	bool		answered = false;
	int64		now;
	ApiRequestCtx *next;

	if (!pgha_api_waits_due())
		return false;
	if (poll_cxt == NULL)
		poll_cxt = AllocSetContextCreate(TopMemoryContext, "pg_ha API wait",
										 ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(poll_cxt);
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
		MemoryContextSwitchTo(poll_cxt);
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
	MemoryContextReset(poll_cxt);
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
bool
pgha_api_waits_hand_over(void)
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
		pgha_api_waits_remove(ctx);
		any = true;
	}
	return any;
}

void
pgha_api_waits_end(void)
{
	while (wait_head != NULL)
		answer_wait(wait_head, PGHA_OUTCOME_UNKNOWN, "");
}
