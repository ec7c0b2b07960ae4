/*-------------------------------------------------------------------------
 *
 * dcs_consul.c
 *	  Consul's HTTP API, as used by the HA worker (see dcs.h).
 *
 * One libcurl easy handle per process, driven by one multi handle, so the
 * TCP connection to the local agent is reused between rounds.  Requests
 * are bounded by timeouts, and a progress callback ends a blocking query
 * as soon as the worker is asked to shut down, reload or look again (its
 * latch is set).  Parsing of the answers lives in consul_parse.c and cluster.c; this file
 * only moves bytes.
 *
 * The multi interface is there for the REST API, which the HA worker
 * serves from the same process (api.c): while a request to Consul is in
 * flight, the wait also watches the API's descriptor and lets it answer
 * health checks, so that a slow or silent Consul never delays them.
 *
 * Backends use the same code for the SQL actions (sql_actions.c).  There a
 * cancel or terminate request (pg_cancel_backend, statement_timeout,
 * pg_terminate_backend) ends the transfer at once, and the request raises
 * the usual error through CHECK_FOR_INTERRUPTS(): the one exception to
 * "never throws" in dcs.h, never taken in pg_ha's own worker.
 *
 * Only stable endpoints are used (/v1/kv, /v1/session, /v1/agent/check),
 * so that newer Consul versions behave the same.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <curl/curl.h>
#include <jansson.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"

#include "cluster.h"
#include "consul_parse.h"
#include "dcs.h"
#include "leader_key.h"
#include "settings.h"

/* Consul answers are small; anything larger is not Consul talking. */
#define DCS_MAX_BODY	(4 * 1024 * 1024)

typedef struct DcsResponse
{
	long		status;
	StringInfoData body;
	bool		has_index;
	uint64_t	index;
	bool		too_large;
} DcsResponse;

static CURL *dcs_curl = NULL;
static CURLM *dcs_multi = NULL;

/*
 * Requests made while a blocking read is in flight (REST write requests
 * carried out meanwhile, see perform) go through a handle of their own.
 */
static CURL *aside_curl = NULL;
static CURLM *aside_multi = NULL;
static bool in_aside = false;
static bool aside_unavailable = false;	/* its handle could not be made */
static bool (*aside_pending) (void) = NULL;
static void (*aside_run) (void) = NULL;
static char dcs_url[1024];
static char dcs_token[512];
static int	dcs_timeout_ms = 5000;
static bool dcs_interruptible = false;

/* served while a request is in flight (dcs_serve_while_waiting) */
static int	dcs_serve_fd = -1;
static void (*dcs_serve_cb) (void) = NULL;

/* how often the wait looks at the API at least, for its own timeouts */
#define DCS_POLL_MS		1000

/*
 * How often a backend's wait looks for a cancel at least.  A signal ends
 * the wait at once (poll() fails with EINTR); this bounds the case of one
 * that came just before the wait began.
 */
#define DCS_SESSION_POLL_MS	100

/* the transfer was ended for a cancel or terminate request (backends) */
static bool dcs_cancelled = false;

/*
 * In the postmaster (_PG_init): libcurl's and OpenSSL's global set-up,
 * a few hundred KB of heap, is then inherited by every child and shared
 * copy-on-write, instead of allocated anew in the HA worker.
 */
void
dcs_global_init(void)
{
	if (curl_global_init(CURL_GLOBAL_ALL) != CURLE_OK)
		ereport(FATAL,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not initialize libcurl")));
}

void
dcs_init(void)
{
	if (dcs_curl == NULL)
	{
		curl_global_init(CURL_GLOBAL_ALL);
		dcs_curl = curl_easy_init();
		dcs_multi = curl_multi_init();
		if (dcs_curl == NULL || dcs_multi == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("could not initialize libcurl")));
	}
}

static void
free_handle(CURL **easy, CURLM **multi)
{
	if (*multi != NULL)
	{
		if (*easy != NULL)
			curl_multi_remove_handle(*multi, *easy);
		curl_multi_cleanup(*multi);
		*multi = NULL;
	}
	if (*easy != NULL)
	{
		curl_easy_cleanup(*easy);
		*easy = NULL;
	}
}

void
dcs_shutdown(void)
{
	free_handle(&dcs_curl, &dcs_multi);
	free_handle(&aside_curl, &aside_multi);
}

void
dcs_serve_while_waiting(int fd, void (*serve) (void))
{
	dcs_serve_fd = fd;
	dcs_serve_cb = serve;
}

void
dcs_run_aside(bool (*pending) (void), void (*run) (void))
{
	aside_pending = pending;
	aside_run = run;
}

/*
 * Aside work queued during a blocking read (the last answers sent may have
 * let the next requests of kept-alive clients in: no descriptor tells).
 */
static bool
aside_due(void)
{
	return dcs_interruptible && !in_aside && !aside_unavailable &&
		aside_pending != NULL && aside_pending();
}

/* The aside work, on the aside handle; never raises an ERROR. */
static void
run_aside(void)
{
	if (aside_curl == NULL)
	{
		aside_curl = curl_easy_init();
		aside_multi = curl_multi_init();
		if (aside_curl == NULL || aside_multi == NULL)
		{
			/* out of memory: the requests wait for the end of the read */
			free_handle(&aside_curl, &aside_multi);
			aside_unavailable = true;
			return;
		}
	}
	in_aside = true;
	PG_TRY();
	{
		aside_run();
	}
	PG_FINALLY();
	{
		in_aside = false;
	}
	PG_END_TRY();
}

void
dcs_configure(const DcsSettings *settings)
{
	strlcpy(dcs_url, settings->url, sizeof(dcs_url));
	strlcpy(dcs_token, settings->token ? settings->token : "", sizeof(dcs_token));
	dcs_timeout_ms = settings->timeout_ms;
}

void
dcs_connect(void)
{
	DcsSettings s;

	dcs_init();
	s.url = pg_ha_consul_url;
	s.token = pg_ha_consul_token;
	s.timeout_ms = pg_ha_retry_timeout;
	dcs_configure(&s);
}

char *
dcs_cluster_key(const char *name)
{
	return psprintf("%s/%s/%s", pg_ha_namespace, pg_ha_cluster, name);
}

static size_t
write_body(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	DcsResponse *resp = (DcsResponse *) userdata;
	size_t		n = size * nmemb;

	if (resp->body.len + n > DCS_MAX_BODY)
	{
		resp->too_large = true;
		return 0;				/* makes libcurl fail the transfer */
	}
	appendBinaryStringInfo(&resp->body, ptr, (int) n);
	return n;
}

static size_t
read_header(char *buffer, size_t size, size_t nitems, void *userdata)
{
	DcsResponse *resp = (DcsResponse *) userdata;
	size_t		n = size * nitems;
	uint64_t	index;

	/* parsed in consul_parse.c, where it is unit-tested and fuzzed */
	if (pgha_parse_consul_index(buffer, n, &index))
	{
		resp->index = index;
		resp->has_index = true;
	}
	return n;
}

static bool
in_pg_ha_worker(void)
{
	return MyBgworkerEntry != NULL &&
		strcmp(MyBgworkerEntry->bgw_library_name, "pg_ha") == 0;
}

/*
 * An SQL session (a backend, or another extension's worker running SQL)
 * that was asked to cancel its statement or to end: the request in flight
 * must end, and CHECK_FOR_INTERRUPTS() will report why.  Only flags are
 * read, as a signal handler sets them: libcurl's callbacks must not raise
 * errors.  Never pg_ha's own worker: it has handlers of its own
 * (ShutdownRequestPending, its latch: progress_cb) and must finish some
 * requests whatever comes, such as a release at shutdown.
 */
static bool
session_interrupted(void)
{
	return InterruptPending && (QueryCancelPending || ProcDiePending) &&
		INTERRUPTS_CAN_BE_PROCESSED() && !in_pg_ha_worker();
}

/*
 * Ends a transfer early: in a backend, on a cancel; in the HA worker, a
 * blocking query when the worker has something else to do.
 */
static int
progress_cb(void *clientp, curl_off_t dltotal, curl_off_t dlnow,
			curl_off_t ultotal, curl_off_t ulnow)
{
	if (session_interrupted())
	{
		dcs_cancelled = true;
		return 1;
	}
	/* only blocking reads: a release at shutdown must still go through */
	if (!dcs_interruptible || in_aside)
		return 0;
	if (ShutdownRequestPending || ConfigReloadPending || MyLatch->is_set ||
		!PostmasterIsAlive())
		return 1;
	return 0;
}

/*
 * curl_easy_perform(), but waiting in curl_multi_poll() so that the REST
 * API (dcs_serve_while_waiting) is served while Consul takes its time.
 * The serve callback never raises an ERROR (api.c catches its own).
 */
static CURLcode
perform(CURL *easy, CURLM *multi)
{
	CURLcode	rc = CURLE_OK;
	bool		finished = false;
	CURLMsg    *msg;
	int			left;
	bool		watch_postmaster = IsUnderPostmaster && PostmasterIsAlive();

	/* a transfer an ERROR interrupted may still be attached */
	curl_multi_remove_handle(multi, easy);
	if (curl_multi_add_handle(multi, easy) != CURLM_OK)
		return CURLE_FAILED_INIT;

	for (;;)
	{
		int			running = 0;
		int			nfds = 0;
		int			nextra = 0;
		struct curl_waitfd extra[2];

		if (curl_multi_perform(multi, &running) != CURLM_OK)
		{
			rc = CURLE_FAILED_INIT;
			break;
		}
		if (running == 0)
			break;
		/*
		 * The postmaster's death ends the wait at once: the progress
		 * callback then ends a blocking query, and the leader's worker
		 * frees its key without waiting for the next second.
		 */
		if (watch_postmaster)
		{
			extra[nextra].fd = postmaster_alive_fds[POSTMASTER_FD_WATCH];
			extra[nextra].events = CURL_WAIT_POLLIN;
			extra[nextra].revents = 0;
			nextra++;
		}
		if (dcs_serve_cb != NULL)
		{
			extra[nextra].fd = dcs_serve_fd;
			extra[nextra].events = CURL_WAIT_POLLIN;
			extra[nextra].revents = 0;
			nextra++;
		}
		if (curl_multi_poll(multi, extra, nextra,
							aside_due() ? 0 :
							in_pg_ha_worker() ? DCS_POLL_MS : DCS_SESSION_POLL_MS,
							&nfds) != CURLM_OK)
		{
			rc = CURLE_FAILED_INIT;
			break;
		}
		/* a cancel that ended the wait: no need to wait for libcurl's call */
		if (session_interrupted())
		{
			dcs_cancelled = true;
			rc = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		/* once seen dead, the descriptor stays readable: stop watching */
		if (watch_postmaster && (extra[0].revents & CURL_WAIT_POLLIN))
			watch_postmaster = false;
		/* readable, or a quiet second: MHD's own timeouts need a call too */
		if (dcs_serve_cb != NULL &&
			((extra[nextra - 1].revents & CURL_WAIT_POLLIN) || nfds == 0))
			dcs_serve_cb();

		/*
		 * REST write requests queued while a blocking read waits are
		 * carried out now, through the aside handle.  Ending the read
		 * instead would leave its query on Consul's side until its wait is
		 * over (Consul 1.8 does not notice the client left), and a burst of
		 * requests would use up the connections Consul allows one client
		 * (http_max_conns_per_client), the HA worker's own included.
		 */
		if (aside_due())
			run_aside();
	}

	while ((msg = curl_multi_info_read(multi, &left)) != NULL)
		if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
		{
			rc = msg->data.result;
			finished = true;
		}
	curl_multi_remove_handle(multi, easy);
	if (rc == CURLE_OK && !finished)
		rc = CURLE_FAILED_INIT;
	return rc;
}

/*
 * One HTTP request to the Consul agent.  Returns false with err set when no
 * HTTP answer came back; an HTTP error status is returned in resp->status.
 */
static bool http_request(const char *url, const char *method,
						 const char *body, int timeout_ms, bool consul,
						 DcsResponse *resp, char *err, size_t errlen);

static bool
dcs_request(const char *method, const char *path, const char *body,
			int timeout_ms, DcsResponse *resp, char *err, size_t errlen)
{
	char		url[2048];

	snprintf(url, sizeof(url), "%s%s", dcs_url, path);
	return http_request(url, method, body, timeout_ms, true, resp, err, errlen);
}

/*
 * One HTTP request; consul: to the Consul agent (its token goes along),
 * else to another member's REST API (no token, ever).
 */
static bool
http_request(const char *url, const char *method, const char *body,
			 int timeout_ms, bool consul, DcsResponse *resp,
			 char *err, size_t errlen)
{
	char		curl_err[CURL_ERROR_SIZE];
	struct curl_slist *headers = NULL;
	CURLcode	rc;
	CURL	   *easy = in_aside ? aside_curl : dcs_curl;
	CURLM	   *multi = in_aside ? aside_multi : dcs_multi;

	Assert(easy != NULL);
	dcs_cancelled = false;
	memset(resp, 0, sizeof(*resp));
	initStringInfo(&resp->body);
	curl_err[0] = '\0';

	curl_easy_reset(easy);
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long) timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS,
					 (long) Min(timeout_ms, dcs_timeout_ms));
	curl_easy_setopt(easy, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, write_body);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, resp);
	curl_easy_setopt(easy, CURLOPT_HEADERFUNCTION, read_header);
	curl_easy_setopt(easy, CURLOPT_HEADERDATA, resp);
	curl_easy_setopt(easy, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(easy, CURLOPT_XFERINFOFUNCTION, progress_cb);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(easy, CURLOPT_USERAGENT, "pg_ha/" PG_HA_VERSION);

	headers = curl_slist_append(headers, "Content-Type: application/json");
	if (consul && dcs_token[0] != '\0')
	{
		char		h[600];

		snprintf(h, sizeof(h), "X-Consul-Token: %s", dcs_token);
		headers = curl_slist_append(headers, h);
		explicit_bzero(h, sizeof(h));
	}
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, headers);

	if (body != NULL)
	{
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long) strlen(body));
	}
	else if (strcmp(method, "PUT") == 0)
	{
		curl_easy_setopt(easy, CURLOPT_POSTFIELDS, "");
		curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, 0L);
	}

	rc = perform(easy, multi);
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &resp->status);
	/* don't keep the request (and a token header) referenced */
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, NULL);
	curl_slist_free_all(headers);

	/* the transfer is detached: now the cancel may be reported as usual */
	if (dcs_cancelled)
	{
		dcs_cancelled = false;
		CHECK_FOR_INTERRUPTS();
	}

	if (rc != CURLE_OK)
	{
		if (resp->too_large)
			snprintf(err, errlen, "Consul answer from %s is larger than %d bytes",
					 dcs_url, DCS_MAX_BODY);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			snprintf(err, errlen, "request to Consul interrupted");
		else
			snprintf(err, errlen, "cannot reach %s at %s: %s",
					 consul ? "Consul" : "the member", consul ? dcs_url : url,
					 curl_err[0] ? curl_err : curl_easy_strerror(rc));
		return false;
	}
	return true;
}

/* An answer that is not 2xx, as a message naming what Consul said. */
static bool
dcs_expect_ok(const char *what, DcsResponse *resp, char *err, size_t errlen)
{
	if (resp->status >= 200 && resp->status < 300)
		return true;
	/* the body goes into the server log: consul_parse.c makes it printable */
	pgha_consul_refusal(what, resp->status, resp->body.data, resp->body.len,
						err, errlen);
	return false;
}

/* A JSON body built with jansson, as a palloc'd string. */
static char *
json_body(json_t *obj)
{
	char	   *s = json_dumps(obj, JSON_COMPACT);
	char	   *result;

	json_decref(obj);
	if (s == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("could not format a JSON request body")));
	result = pstrdup(s);
	free(s);
	return result;
}

static void
format_duration(char *buf, size_t len, int ms)
{
	snprintf(buf, len, "%dms", ms);
}

bool
dcs_check_register(const char *check_id, const char *name, int ttl_ms,
				   char *err, size_t errlen)
{
	DcsResponse resp;
	char		ttl[32];
	json_t	   *obj;

	format_duration(ttl, sizeof(ttl), ttl_ms);
	obj = json_pack("{s:s, s:s, s:s, s:s}",
					"ID", check_id, "Name", name, "TTL", ttl,
					"Status", "passing");
	if (obj == NULL)
	{
		snprintf(err, errlen, "could not build the check registration");
		return false;
	}
	if (!dcs_request("PUT", "/v1/agent/check/register", json_body(obj),
					 dcs_timeout_ms, &resp, err, errlen))
		return false;
	return dcs_expect_ok("the check registration", &resp, err, errlen);
}

bool
dcs_check_pass(const char *check_id, char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/agent/check/pass/%s", check_id);
	if (!dcs_request("PUT", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	return dcs_expect_ok("the check update", &resp, err, errlen);
}

/* Mark the check critical: Consul invalidates the sessions bound to it. */
bool
dcs_check_fail(const char *check_id, char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/agent/check/fail/%s", check_id);
	if (!dcs_request("PUT", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	return dcs_expect_ok("the check update", &resp, err, errlen);
}

bool
dcs_session_create(const char *name, const char *check_id, int ttl_s,
				   int lock_delay_ms, char *id, size_t idlen,
				   char *err, size_t errlen)
{
	DcsResponse resp;
	char		ttl[32];
	char		delay[32];
	json_t	   *obj;

	snprintf(ttl, sizeof(ttl), "%ds", ttl_s);
	format_duration(delay, sizeof(delay), lock_delay_ms);
	/*
	 * NodeChecks replaces Consul's default (serfHealth): a gossip blip must
	 * not end the session while the node's lease still runs.
	 */
	obj = json_pack("{s:s, s:s, s:s, s:s, s:[s]}",
					"Name", name, "TTL", ttl, "Behavior", "delete",
					"LockDelay", delay, "NodeChecks", check_id);
	if (obj == NULL)
	{
		snprintf(err, errlen, "could not build the session request");
		return false;
	}
	if (!dcs_request("PUT", "/v1/session/create", json_body(obj),
					 dcs_timeout_ms, &resp, err, errlen))
		return false;
	if (!dcs_expect_ok("the session creation", &resp, err, errlen))
		return false;
	return pgha_parse_session_create(resp.body.data, resp.body.len, id, idlen,
									 err, errlen);
}

bool
dcs_session_exists(const char *id, bool *exists, int *ttl_ms,
				   char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/session/info/%s", id);
	if (!dcs_request("GET", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	if (!dcs_expect_ok("the session lookup", &resp, err, errlen))
		return false;
	if (!pgha_parse_session_info(resp.body.data, resp.body.len, exists,
								 err, errlen))
		return false;
	/* 0: Consul did not say; the caller assumes the least it can be */
	if (*exists && ttl_ms != NULL &&
		!pgha_parse_session_ttl(resp.body.data, resp.body.len, ttl_ms))
		*ttl_ms = 0;
	return true;
}

bool
dcs_session_renew(const char *id, bool *exists, char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/session/renew/%s", id);
	if (!dcs_request("PUT", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	if (resp.status == 404)
	{
		*exists = false;
		return true;
	}
	if (!dcs_expect_ok("the session renewal", &resp, err, errlen))
		return false;
	return pgha_parse_session_info(resp.body.data, resp.body.len, exists,
								   err, errlen);
}

bool
dcs_session_destroy(const char *id, char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[256];

	snprintf(path, sizeof(path), "/v1/session/destroy/%s", id);
	if (!dcs_request("PUT", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	return dcs_expect_ok("the session removal", &resp, err, errlen);
}

bool
dcs_read_cluster(const char *prefix, PgHaCluster *out, char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[512];

	snprintf(path, sizeof(path), "/v1/kv/%s?recurse", prefix);
	if (!dcs_request("GET", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	if (resp.status == 404)
	{
		/* no key at all: a cluster Consul has never seen */
		memset(out, 0, sizeof(*out));
		out->max_lag_on_failover = PGHA_DEFAULT_MAX_LAG;
		out->index = resp.index;
		return true;
	}
	if (!dcs_expect_ok("the cluster read", &resp, err, errlen))
		return false;
	if (!pgha_parse_kv_listing(resp.body.data, resp.body.len, prefix, out,
							   err, errlen))
		return false;
	out->index = resp.index;
	return true;
}

bool
dcs_kv_get_raw(const char *key, char **value, uint64_t *index, bool *found,
			   char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[512];

	snprintf(path, sizeof(path), "/v1/kv/%s?raw", key);
	if (!dcs_request("GET", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	*found = resp.status != 404;
	*index = resp.index;
	*value = NULL;
	if (!*found)
		return true;
	if (!dcs_expect_ok("a key read", &resp, err, errlen))
		return false;
	*value = resp.body.data;
	return true;
}

bool
dcs_kv_put(const char *key, const char *value, const char *query, bool *done,
		   char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[512];

	snprintf(path, sizeof(path), "/v1/kv/%s%s%s", key,
			 query && query[0] ? "?" : "", query ? query : "");
	/* an empty body must still be sent as such, not as "no body" */
	if (!dcs_request("PUT", path, value ? value : "", dcs_timeout_ms, &resp,
					 err, errlen))
		return false;
	if (!dcs_expect_ok("a key update", &resp, err, errlen))
		return false;
	return pgha_parse_bool_body(resp.body.data, resp.body.len, done, err, errlen);
}

bool
dcs_member_status(const char *api_url, int timeout_ms, PgHaFreshPosition *out,
				  char *err, size_t errlen)
{
	DcsResponse resp;

	if (strncmp(api_url, "http://", 7) != 0 && strncmp(api_url, "https://", 8) != 0)
	{
		snprintf(err, errlen, "not an http(s) URL");
		return false;
	}
	if (!http_request(api_url, "GET", NULL, timeout_ms, false, &resp, err, errlen))
		return false;
	if (resp.status != 200 && resp.status != 503)
	{
		snprintf(err, errlen, "the member answered HTTP %ld", resp.status);
		return false;
	}
	return pgha_parse_patroni_status(resp.body.data, resp.body.len, out, err, errlen);
}

bool
dcs_leader_txn(const char *prefix, int op, const char *name,
			   const char *session, uint64_t index, uint64_t stamp,
			   bool *done, uint64_t *new_index, char *err, size_t errlen)
{
	DcsResponse resp;
	char	   *body = pgha_leader_txn((PgHaLeaderOp) op, prefix, name, session,
									   index, stamp);
	bool		ok;

	*done = false;
	if (body == NULL)
	{
		snprintf(err, errlen, "could not build the leader key transaction");
		return false;
	}
	ok = dcs_request("PUT", "/v1/txn", body, dcs_timeout_ms, &resp, err, errlen);
	free(body);
	if (!ok)
		return false;
	if (resp.status != 200 && resp.status != 409)
		return dcs_expect_ok("the leader key transaction", &resp, err, errlen);
	return pgha_parse_leader_txn(resp.status, resp.body.data, resp.body.len,
								 prefix, done, new_index, err, errlen);
}

bool
dcs_kv_delete(const char *key, const char *query, bool *done,
			  char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[512];

	snprintf(path, sizeof(path), "/v1/kv/%s%s%s", key,
			 query && query[0] ? "?" : "", query ? query : "");
	if (!dcs_request("DELETE", path, NULL, dcs_timeout_ms, &resp, err, errlen))
		return false;
	if (!dcs_expect_ok("a key removal", &resp, err, errlen))
		return false;
	return pgha_parse_bool_body(resp.body.data, resp.body.len, done, err, errlen);
}

/*
 * A blocking query (path ends in '?' or '&'): false on failure, true with
 * *answered false when a signal or the latch cut it short.
 */
static bool
blocking_get(const char *path_start, uint64_t *index, int wait_ms,
			 DcsResponse *resp, bool *answered, char *err, size_t errlen)
{
	char		path[600];
	bool		ok;

	*answered = false;
	/* Consul adds up to wait/16 of jitter to a blocking query */
	snprintf(path, sizeof(path), "%sindex=" UINT64_FORMAT "&wait=%dms",
			 path_start, (uint64) *index, wait_ms);
	dcs_interruptible = true;
	aside_unavailable = false;
	ok = dcs_request("GET", path, NULL, wait_ms + wait_ms / 16 + dcs_timeout_ms,
					 resp, err, errlen);
	dcs_interruptible = false;
	if (!ok)
	{
		/* being asked to look again is no failure */
		if (ShutdownRequestPending || ConfigReloadPending || MyLatch->is_set ||
			!PostmasterIsAlive())
			return true;
		return false;
	}
	if (resp->status != 404 && !dcs_expect_ok("a blocking read", resp, err, errlen))
		return false;
	if (resp->has_index)
	{
		/* an index going backwards (Consul restored) restarts the watch */
		*index = resp->index < *index ? 0 : resp->index;
	}
	*answered = true;
	return true;
}

bool
dcs_wait_cluster(const char *prefix, uint64_t *index, int wait_ms,
				 PgHaCluster *out, bool *delivered, char *err, size_t errlen)
{
	DcsResponse resp;
	char		path[512];
	bool		answered;

	*delivered = false;
	snprintf(path, sizeof(path), "/v1/kv/%s?recurse&", prefix);
	if (!blocking_get(path, index, wait_ms, &resp, &answered, err, errlen))
		return false;
	if (!answered)
		return true;
	if (resp.status == 404)
	{
		/* as dcs_read_cluster: a cluster Consul has never seen */
		memset(out, 0, sizeof(*out));
		out->max_lag_on_failover = PGHA_DEFAULT_MAX_LAG;
	}
	else if (!pgha_parse_kv_listing(resp.body.data, resp.body.len, prefix, out,
									err, errlen))
		return false;
	out->index = resp.index;
	*delivered = true;
	return true;
}
