/*-------------------------------------------------------------------------
 *
 * fuzz_api_request.c
 *	  libFuzzer target: requests to the REST API.
 *
 * The input reads like an HTTP/1.1 request, so that corpus files are
 * real requests:
 *
 *	  METHOD SP request-target [SP HTTP/1.1] CRLF
 *	  *(header CRLF)
 *	  CRLF
 *	  body
 *
 * (LF alone is fine too.)  libmicrohttpd parses the HTTP framing in the
 * HA worker's REST API; what reaches pg_ha's code is the method, the raw
 * request target, the Authorization header and the body, and that is what this
 * target hands to src/backend/api/api_route.c, as api.c does: the request line's
 * parsing and routing, the answers of the read endpoints from a leader's,
 * a replica's and a starting node's snapshot, the basic-auth check, and
 * the write endpoints' bodies (POST /switchover, /failover, /restart,
 * PATCH /config) with their checks against the reference cluster, and
 * DELETE /restart and /switchover.
 *
 * Oracles: every answer is well-formed (see fuzz_check_response); what a
 * write endpoint would put into Consul reads back through the KV listing
 * parser as the same request (failover, restart) or the same config, with
 * every parameter the patch set.
 *
 * Corpus: fuzz/corpus/api_request/ (the requests of HAProxy, patronictl
 * and the TAP tests, and hostile ones).
 *
 * fuzz/fuzz_api_request.c
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "config_key.h"
#include "fuzz_common.h"

static const char reference_config[] =
"{\"ttl\": 30, \"loop_wait\": 10, \"retry_timeout\": 10, \"maximum_lag_on_failover\": 1048576, \"postgresql\": {\"use_pg_rewind\": true, \"use_slots\": true, \"parameters\": {\"max_wal_senders\": 10, \"max_replication_slots\": 10, \"wal_keep_size\": \"128MB\", \"shared_buffers\": \"32MB\", \"max_connections\": 50}}}";

static bool initialized = false;
static PgHaCluster reference;	/* the reference cluster, parsed once */
static PgHaCluster back;		/* what a write reads back as */
static PgHaApiSnapshot snapshot;

/* The request as libmicrohttpd would hand it over. */
typedef struct FuzzRequest
{
	char	   *method;
	char	   *uri;
	char	   *authorization;	/* NULL when absent */
	const char *body;
	size_t		body_len;
} FuzzRequest;

/* One line [*pos, end) without its CR LF; false at the end of the input. */
static bool
next_line(const char *data, size_t size, size_t *pos, size_t *start,
		  size_t *len)
{
	const char *nl;

	if (*pos >= size)
		return false;
	*start = *pos;
	nl = memchr(data + *pos, '\n', size - *pos);
	*len = nl ? (size_t) (nl - (data + *pos)) : size - *pos;
	*pos += *len + (nl ? 1 : 0);
	if (*len > 0 && data[*start + *len - 1] == '\r')
		(*len)--;
	return true;
}

static char *
copy_text(const char *s, size_t len)
{
	return fuzz_cstring((const uint8_t *) s, len);
}

static void
split_request(const uint8_t *data, size_t size, FuzzRequest *req)
{
	const char *text = (const char *) data;
	size_t		pos = 0;
	size_t		start;
	size_t		len;

	memset(req, 0, sizeof(*req));
	if (!next_line(text, size, &pos, &start, &len))
	{
		req->method = copy_text("", 0);
		req->uri = copy_text("", 0);
		return;
	}
	/* request line: method SP target [SP version] */
	{
		const char *line = text + start;
		const char *sp = memchr(line, ' ', len);
		size_t		mlen = sp ? (size_t) (sp - line) : len;
		const char *target = sp ? sp + 1 : line + len;
		size_t		rest = len - mlen - (sp ? 1 : 0);
		const char *sp2 = memchr(target, ' ', rest);

		req->method = copy_text(line, mlen);
		req->uri = copy_text(target, sp2 ? (size_t) (sp2 - target) : rest);
	}
	/* headers up to an empty line; the body is the rest */
	while (next_line(text, size, &pos, &start, &len) && len > 0)
	{
		const char *line = text + start;
		static const char name[] = "authorization:";
		size_t		nlen = sizeof(name) - 1;
		bool		match = len >= nlen;

		for (size_t i = 0; match && i < nlen; i++)
		{
			char		c = line[i];

			if (c >= 'A' && c <= 'Z')
				c = (char) (c - 'A' + 'a');
			match = c == name[i];
		}
		if (match && req->authorization == NULL)
		{
			size_t		v = nlen;

			/* libmicrohttpd strips the blanks around a header's value */
			while (v < len && (line[v] == ' ' || line[v] == '\t'))
				v++;
			while (len > v && (line[len - 1] == ' ' || line[len - 1] == '\t'))
				len--;
			req->authorization = copy_text(line + v, len - v);
		}
	}
	req->body = text + pos;
	req->body_len = size - pos;
}

static void
init_reference(void)
{
	json_t	   *l;

	if (initialized)
		return;
	l = fuzz_reference_listing();
	FUZZ_CHECK(fuzz_parse_listing(l, &reference));
	json_decref(l);
	FUZZ_CHECK(reference.nmembers == 3 && reference.has_leader);
	initialized = true;
}

/* The reference listing with one more key, parsed into back. */
static void
read_back(const char *key, const char *value)
{
	json_t	   *l = fuzz_reference_listing();

	/* the failover key of the reference ("{}") comes first: replace it */
	if (strcmp(key, FUZZ_PREFIX "failover") == 0)
		FUZZ_CHECK(json_array_remove(l, 1) == 0);
	if (strcmp(key, FUZZ_PREFIX "config") == 0)
		FUZZ_CHECK(json_array_remove(l, 0) == 0);
	fuzz_listing_add_str(l, key, value, NULL, 99);
	FUZZ_CHECK(fuzz_parse_listing(l, &back));
	json_decref(l);
	fuzz_check_cluster(&back);
}

static void
auth_checks(const FuzzRequest *req)
{
	char		msg[PGHA_ERR_LEN];
	int			status;

	status = pgha_api_check_auth("", req->authorization, true, msg, sizeof(msg));
	FUZZ_CHECK(status == 0);
	status = pgha_api_check_auth("", req->authorization, false, msg, sizeof(msg));
	FUZZ_CHECK(status == 403);
	status = pgha_api_check_auth("admin:secret", req->authorization, false,
								 msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 401);
	/* "admin:secret" is YWRtaW46c2VjcmV0; nothing else gets in */
	if (status == 0)
		FUZZ_CHECK(req->authorization != NULL &&
				   strstr(req->authorization, "YWRtaW46c2VjcmV0") != NULL);
}

static void
write_failover(const FuzzRequest *req, bool switchover)
{
	PgHaApiFailover r;
	char		msg[PGHA_ERR_LEN];
	char		value[1024];
	int			status;
	int			n;

	status = pgha_api_parse_failover(req->body, req->body_len, &r, msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400);
	if (status != 0)
		return;
	FUZZ_CHECK(FUZZ_TERMINATED(r.leader) && FUZZ_TERMINATED(r.candidate) &&
			   FUZZ_TERMINATED(r.scheduled_at));
	status = pgha_api_check_failover(&reference, &r, switchover, FUZZ_NOW_MS,
									 msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400 || status == 412 || status == 422);
	if (status != 0)
		return;
	/* what api_action.c writes into the failover key, and how nodes read it */
	n = pgha_failover_request_json(r.leader[0] ? r.leader : reference.leader,
								   r.candidate[0] ? r.candidate : NULL,
								   r.scheduled_iso[0] ? r.scheduled_iso : NULL,
								   value, sizeof(value));
	FUZZ_CHECK(n > 0);
	read_back(FUZZ_PREFIX "failover", value);
	FUZZ_CHECK(back.has_failover);
	FUZZ_CHECK(strcmp(back.failover_leader, r.leader[0] ? r.leader : reference.leader) == 0);
	FUZZ_CHECK(strcmp(back.failover_member, r.candidate) == 0);
	FUZZ_CHECK(back.failover_scheduled == (r.scheduled_iso[0] != '\0'));
	FUZZ_CHECK(!back.failover_scheduled || back.failover_scheduled_ms >= FUZZ_NOW_MS);
	/* DELETE /switchover takes what was scheduled, nothing else */
	{
		uint64_t	index;

		status = pgha_api_check_delete_switchover(&back, &index, msg, sizeof(msg));
		FUZZ_CHECK((status == 0) == back.failover_scheduled);
		FUZZ_CHECK(status == 0 ? index == back.failover_modify_index : status == 404);
	}
	fuzz_decide(&back);
}

static void
write_restart(const FuzzRequest *req)
{
	PgHaApiRestart r;
	char		msg[PGHA_ERR_LEN];
	char		value[256];
	int			status;

	status = pgha_api_parse_restart(req->body, req->body_len, &r, msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400);
	if (status != 0)
		return;
	status = pgha_api_check_restart(&reference, "pg3", &r, FUZZ_NOW_MS,
									value, sizeof(value), msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400 || status == 409 ||
			   status == 422 || status == 503);
	if (status != 0)
		return;
	read_back(FUZZ_PREFIX "restart/pg3", value);
	FUZZ_CHECK(back.nrestarts == 1);
	FUZZ_CHECK(strcmp(back.restarts[0].member, "pg3") == 0);
	FUZZ_CHECK(back.restarts[0].pending_only == r.pending_only);
	FUZZ_CHECK(back.restarts[0].scheduled == (r.scheduled_iso[0] != '\0'));
	/* DELETE /restart takes a scheduled one; an immediate one is waited for */
	{
		uint64_t	index;

		status = pgha_api_check_delete_restart(&back, "pg3", &index, msg, sizeof(msg));
		FUZZ_CHECK((status == 0) == back.restarts[0].scheduled);
		FUZZ_CHECK(status == 0 || status == 404);
		FUZZ_CHECK(pgha_restart_outcome(&back, "pg3", FUZZ_NOW_MS) == PGHA_OUTCOME_PENDING);
	}
	fuzz_decide(&back);
}

/* DELETE /restart and /switchover against the reference: nothing scheduled */
static void
delete_scheduled(const PgHaApiRequest *parsed)
{
	char		msg[PGHA_ERR_LEN];
	uint64_t	index;
	int			status;

	if (parsed->endpoint == PGHA_EP_RESTART)
		status = pgha_api_check_delete_restart(&reference, "pg3", &index, msg, sizeof(msg));
	else
		status = pgha_api_check_delete_switchover(&reference, &index, msg, sizeof(msg));
	FUZZ_CHECK(status == 404 && index == 0);
}

static void
write_config(const FuzzRequest *req, const char *config)
{
	PgHaParam  *params = malloc(sizeof(PgHaParam) * PGHA_MAX_PARAMS);
	PgHaParam  *read = malloc(sizeof(PgHaParam) * PGHA_MAX_PARAMS);
	char		msg[PGHA_ERR_LEN];
	char	   *result = NULL;
	bool		changed;
	int			nparams = -1;
	int			status;
	int			nread;

	FUZZ_CHECK(params != NULL && read != NULL);
	status = pgha_api_patch_config(config, req->body, req->body_len, &result,
								   &changed, params, PGHA_MAX_PARAMS, &nparams,
								   msg, sizeof(msg));
	FUZZ_CHECK(status == 0 || status == 400);
	FUZZ_CHECK((status == 0) == (result != NULL));
	if (status != 0)
		goto done;
	FUZZ_CHECK(nparams >= 0 && nparams <= PGHA_MAX_PARAMS);
	FUZZ_CHECK(strlen(result) < PGHA_CONFIG_LEN);

	/* what the nodes read from the config key */
	read_back(FUZZ_PREFIX "config", result);
	FUZZ_CHECK(back.has_config && back.config_valid);
	FUZZ_CHECK(strcmp(back.config_json, result) == 0);
	nread = pgha_config_parameters(result, read, PGHA_MAX_PARAMS, msg, sizeof(msg));
	for (int i = 0; i < nparams && nread >= 0; i++)
	{
		bool		found = false;

		FUZZ_CHECK(FUZZ_TERMINATED(params[i].name) && FUZZ_TERMINATED(params[i].value));
		for (int k = 0; k < nread; k++)
			if (strcasecmp(read[k].name, params[i].name) == 0)
			{
				/* the value PostgreSQL checked is the value the nodes apply */
				FUZZ_CHECK(strcmp(read[k].value, params[i].value) == 0);
				found = true;
			}
		/* only an entry the reader skipped, and said so, may be missing */
		FUZZ_CHECK(found || msg[0] != '\0');
	}
	fuzz_decide(&back);

done:
	free(result);
	free(params);
	free(read);
}

static void
answer_read(const FuzzRequest *req, const PgHaApiRequest *parsed)
{
	PgHaApiResponse r;

	/* a leader, a replica, and a node that has not read Consul yet */
	fuzz_leader_snapshot(&snapshot);
	snapshot.cluster_valid = true;
	snapshot.cluster = reference;
	pgha_api_respond(parsed, &snapshot, &r);
	fuzz_check_response(req->method, true, &r);
	pgha_api_response_free(&r);

	fuzz_replica_snapshot(&snapshot);
	snapshot.cluster_valid = true;
	snapshot.cluster = reference;
	snapshot.cluster.paused = true;
	pgha_api_respond(parsed, &snapshot, &r);
	fuzz_check_response(req->method, true, &r);
	pgha_api_response_free(&r);

	/* a replica with tags of every kind, for the tag_ filters */
	fuzz_replica_snapshot(&snapshot);
	snapshot.cluster_valid = true;
	snapshot.cluster = reference;
	snapshot.has_tags = true;
	strcpy(snapshot.tags_json,
		   "{\"nofailover\":true,\"failover_priority\":0,\"noloadbalance\":true,"
		   "\"dc\":\"eu-1\",\"rack\":3,\"ssd\":false,\"w\":1.5,\"n\":null}");
	pgha_api_respond(parsed, &snapshot, &r);
	fuzz_check_response(req->method, true, &r);
	pgha_api_response_free(&r);

	fuzz_base_snapshot(&snapshot);
	snapshot.pg_running = false;
	pgha_api_respond(parsed, &snapshot, &r);
	fuzz_check_response(req->method, true, &r);
	pgha_api_response_free(&r);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	FuzzRequest req;
	PgHaApiRequest parsed;
	PgHaApiResponse resp;

	init_reference();
	split_request(data, size, &req);
	auth_checks(&req);

	if (!pgha_api_parse_request(req.method, req.uri, &parsed, &resp))
	{
		FUZZ_CHECK(resp.status >= 400);
		fuzz_check_response(req.method, false, &resp);
		pgha_api_response_free(&resp);
	}
	else if (!pgha_api_is_write(&parsed))
		answer_read(&req, &parsed);
	else
	{
		/* never answered from a snapshot */
		fuzz_leader_snapshot(&snapshot);
		pgha_api_respond(&parsed, &snapshot, &resp);
		FUZZ_CHECK(resp.status == 500);
		pgha_api_response_free(&resp);

		switch (parsed.method == PGHA_API_DELETE ? PGHA_EP_NONE : parsed.endpoint)
		{
			case PGHA_EP_NONE:
				FUZZ_CHECK(parsed.endpoint == PGHA_EP_RESTART ||
						   parsed.endpoint == PGHA_EP_SWITCHOVER);
				delete_scheduled(&parsed);
				break;
			case PGHA_EP_SWITCHOVER:
				write_failover(&req, true);
				break;
			case PGHA_EP_FAILOVER:
				write_failover(&req, false);
				break;
			case PGHA_EP_RESTART:
				write_restart(&req);
				break;
			case PGHA_EP_CONFIG:
				write_config(&req, reference_config);
				write_config(&req, NULL);
				break;
			case PGHA_EP_RELOAD:
			case PGHA_EP_REINITIALIZE:
				break;
			default:
				FUZZ_CHECK(!"a write request to a read endpoint");
		}
	}

	free(req.method);
	free(req.uri);
	free(req.authorization);
	return 0;
}
