/*-------------------------------------------------------------------------
 *
 * api.c
 *	  The REST API: Patroni-compatible health checks for HAProxy.
 *
 * The HA worker (ha_loop.c) serves pg_ha.api_listen with libmicrohttpd,
 * single-threaded: MHD runs without threads of its own (MHD_USE_EPOLL)
 * and exposes one epoll descriptor.  Every wait of the HA worker watches
 * it: the worker's own waits (worker_wait.c, which calls
 * pgha_api_serve_pending() when it is readable) and the wait for each
 * Consul answer (dcs_serve_while_waiting), so a health check is answered
 * within milliseconds even while Consul is slow.  One process instead of a
 * worker of its own saves the ~1 MiB that any PostgreSQL process costs
 * (docs/architecture.md, "One worker").
 *
 * A GET is answered at once, inside MHD's callback, from a snapshot of
 * memory (api_collect.c).  The write requests (POST /switchover
 * /failover /restart /reload /reinitialize, PATCH /config, DELETE /restart
 * /switchover) cannot run inside MHD's callback (their Consul requests
 * serve MHD meanwhile, and MHD_run is not reentrant), so the callback
 * suspends the connection and queues it; the HA worker carries the queue
 * out between rounds (pgha_api_run_writes(), with api_action.c) and
 * resumes each connection with its answer, or leaves it waiting for the
 * outcome of a switchover, failover or restart (api_wait.c).  Who may write:
 * pg_ha.api_auth (api_request.c, pgha_api_check_auth).
 *
 * The requests are outside data from anyone who can reach the port.  MHD
 * bounds them (connection limits, timeouts, a memory limit per
 * connection); api_request.c parses what remains defensively.  Nothing here
 * may raise an ERROR through MHD's stack: the snapshot is taken under
 * PG_TRY, and a failure becomes a 500 for that request alone.
 *
 * What this file is not for: the status codes, bodies and checks
 * (api_route.c and the files it dispatches to, api_write.c, unit-tested),
 * the snapshot they read (api_collect.c), the write requests
 * (api_action.c) and the waits for their outcome (api_wait.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/socket.h>
#include <netdb.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <unistd.h>

#include <microhttpd.h>

#include "miscadmin.h"
#include "pgstat.h"
#include "storage/lwlock.h"
#include "utils/memutils.h"

#include "api.h"
#include "api_action.h"
#include "api_collect.h"
#include "api_conn.h"
#include "api_route.h"
#include "api_tls.h"
#include "api_wait.h"
#include "dcs.h"
#include "settings.h"
#include "state.h"

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

static MemoryContext request_cxt = NULL;	/* one read request */
static struct MHD_Daemon *api_daemon = NULL;
static int	daemon_fd = -1;
static int64 next_start = 0;
static char logged_error[PGHA_ERR_LEN] = "";
static bool serving = false;	/* inside MHD_run */
/* authorized write requests waiting for the HA worker, oldest first */
static ApiRequestCtx *queue_head = NULL;
static ApiRequestCtx *queue_tail = NULL;
/* the PEM texts while the daemon runs with TLS */
static PgHaApiTls daemon_tls;
static PgHaApiSnapshot *snapshot = NULL;

/* MHD's messages while starting are the reason a start failed */
static bool mhd_starting = false;
static char mhd_start_error[256];


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

/* Work for pgha_api_run_writes beside the HA worker's blocking read. */
static bool
aside_work_pending(void)
{
	return writes_pending() || pgha_api_waits_due();
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
			pgha_api_waits_remove(ctx);
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
		pgha_api_build_snapshot(snapshot, pgha_api_needs_replication(&req));
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
	(void) pgha_api_waits_expire();

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
 * next, so waits are handed over to waiters (pgha_api_waits_hand_over); else (a
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
		handed_over = pgha_api_waits_hand_over();
	pgha_api_waits_end();
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
 * looks at the cluster that waits for an outcome are due (pgha_api_waits_poll).
 * Called by the HA worker outside MHD_run, between rounds and beside its
 * blocking reads: each talks to Consul, serving health checks meanwhile.
 * Stops once a loop_wait has gone by; the rest waits for the next round,
 * so that the lease is renewed on time.
 */
void
pgha_api_run_writes(void)
{
	int64		start = pgha_monotonic_ms();
	int			budget = pgha_api_loop_wait_ms();
	bool		resumed = false;

	while (queue_head != NULL && pgha_monotonic_ms() - start < budget)
	{
		ApiRequestCtx *ctx = queue_head;
		struct MHD_Connection *con = ctx->con;

		/* off the queue first: a request queued meanwhile waits its turn */
		unqueue(ctx);
		pgha_api_handle_write(&ctx->req, ctx->body, ctx->body_len, &ctx->resp, &ctx->wait);
		if (ctx->wait.kind != WAIT_NONE)
		{
			/* stays suspended until its outcome is known */
			pgha_api_waits_add(ctx);
			continue;
		}
		ctx->answered = true;
		ctx->con = NULL;
		MHD_resume_connection(con);
		resumed = true;
	}
	if (pgha_api_waits_poll())
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

/* ----- for the HA worker's waits (worker_wait.c) */

int
pgha_api_socket(void)
{
	return api_daemon != NULL ? daemon_fd : -1;
}

long
pgha_api_timeout_ms(void)
{
	MHD_UNSIGNED_LONG_LONG mhd_timeout;

	if (api_daemon != NULL && MHD_get_timeout(api_daemon, &mhd_timeout) == MHD_YES &&
		mhd_timeout < (MHD_UNSIGNED_LONG_LONG) API_MAX_WAIT_MS)
		return (long) mhd_timeout;
	return API_MAX_WAIT_MS;
}

bool
pgha_api_serve_pending(void)
{
	serve();
	return writes_pending();
}
