/*-------------------------------------------------------------------------
 *
 * api_route.c
 *	  The REST API's routing table and dispatch, Patroni-compatible.
 *
 * A request goes through here: its method and URI parsed (api_request.c),
 * its path looked up in the routing table below, the methods its endpoint
 * takes checked, then a read request answered from a snapshot of the
 * node: the health checks' codes (api_health.c), the JSON documents
 * (api_body.c), /metrics (api_metrics.c).  Write requests are parsed and
 * checked by api_write.c and carried out by api_action.c, which needs
 * Consul.
 *
 * The table is the list of the API's paths: docs/api.md documents each
 * (regress/t/110_docs.pl reads it from this file).
 *
 * Pure: libc and jansson, no PostgreSQL, no I/O.  What this file is not
 * for: reading shared memory or sockets (api_collect.c, api.c), deciding
 * anything about failover (ha_decide.c).
 *
 *-------------------------------------------------------------------------
 */
#include "api_route.h"

#include <string.h>

/* ----- the routing table */

static const struct
{
	const char *path;
	PgHaApiEndpoint endpoint;
}			routes[] = {
	{"/", PGHA_EP_PRIMARY},
	{"/primary", PGHA_EP_PRIMARY},
	{"/master", PGHA_EP_PRIMARY},
	{"/read-write", PGHA_EP_PRIMARY},
	{"/leader", PGHA_EP_LEADER},
	{"/standby-leader", PGHA_EP_STANDBY_LEADER},
	{"/standby_leader", PGHA_EP_STANDBY_LEADER},
	{"/replica", PGHA_EP_REPLICA},
	{"/read-only", PGHA_EP_READ_ONLY},
	{"/sync", PGHA_EP_SYNC},
	{"/synchronous", PGHA_EP_SYNC},
	{"/async", PGHA_EP_ASYNC},
	{"/asynchronous", PGHA_EP_ASYNC},
	{"/read-only-sync", PGHA_EP_READ_ONLY_SYNC},
	{"/read-only-synchronous", PGHA_EP_READ_ONLY_SYNC},
	{"/health", PGHA_EP_HEALTH},
	{"/liveness", PGHA_EP_LIVENESS},
	{"/readiness", PGHA_EP_READINESS},
	{"/patroni", PGHA_EP_PATRONI},
	{"/cluster", PGHA_EP_CLUSTER},
	{"/history", PGHA_EP_HISTORY},
	{"/config", PGHA_EP_CONFIG},
	{"/metrics", PGHA_EP_METRICS},
	{"/switchover", PGHA_EP_SWITCHOVER},
	{"/failover", PGHA_EP_FAILOVER},
	{"/restart", PGHA_EP_RESTART},
	{"/reload", PGHA_EP_RELOAD},
	{"/reinitialize", PGHA_EP_REINITIALIZE},
};

#define ALLOW_POST		"POST"
#define ALLOW_POST_DELETE	"POST, DELETE"
#define ALLOW_CONFIG	"GET, HEAD, OPTIONS, PATCH"

static bool
is_post_endpoint(PgHaApiEndpoint ep)
{
	return ep == PGHA_EP_SWITCHOVER || ep == PGHA_EP_FAILOVER ||
		ep == PGHA_EP_RESTART || ep == PGHA_EP_RELOAD ||
		ep == PGHA_EP_REINITIALIZE;
}

/* Patroni's do_DELETE_restart and do_DELETE_switchover: nothing else */
static bool
is_delete_endpoint(PgHaApiEndpoint ep)
{
	return ep == PGHA_EP_SWITCHOVER || ep == PGHA_EP_RESTART;
}

/* Does the endpoint take the method? */
static bool
method_allowed(PgHaApiMethod method, PgHaApiEndpoint ep)
{
	switch (method)
	{
		case PGHA_API_GET:
		case PGHA_API_HEAD:
		case PGHA_API_OPTIONS:
			return !is_post_endpoint(ep);
		case PGHA_API_POST:
			return is_post_endpoint(ep);
		case PGHA_API_PATCH:
			return ep == PGHA_EP_CONFIG;
		case PGHA_API_DELETE:
			return is_delete_endpoint(ep);
	}
	return false;
}

/* ----- requests */

bool
pgha_api_parse_request(const char *method, const char *uri,
					   PgHaApiRequest *req, PgHaApiResponse *resp)
{
	char		path[PGHA_API_MAX_PATH];
	const char *query;
	size_t		query_len;
	bool		found = false;

	pgha_api_response_reset(resp);
	memset(req, 0, sizeof(*req));
	if (method == NULL || uri == NULL)
	{
		pgha_api_error_response(resp, 400, "bad request");
		return false;
	}
	if (!pgha_api_parse_method(method, &req->method, resp))
		return false;
	req->wants_body = (req->method == PGHA_API_GET);
	if (!pgha_api_parse_target(uri, path, sizeof(path), &query, &query_len, resp))
		return false;

	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
	{
		if (strcmp(path, routes[i].path) == 0)
		{
			req->endpoint = routes[i].endpoint;
			found = true;
			break;
		}
	}
	if (!found)
	{
		pgha_api_error_response(resp, 404, "not found");
		return false;
	}

	/* which methods each endpoint takes */
	if (!method_allowed(req->method, req->endpoint))
	{
		if (is_delete_endpoint(req->endpoint))
		{
			pgha_api_error_response(resp, 405, "method not allowed: this endpoint takes POST and DELETE");
			resp->allow_methods = ALLOW_POST_DELETE;
		}
		else if (is_post_endpoint(req->endpoint))
		{
			pgha_api_error_response(resp, 405, "method not allowed: this endpoint takes POST");
			resp->allow_methods = ALLOW_POST;
		}
		else if (req->endpoint == PGHA_EP_CONFIG)
		{
			pgha_api_error_response(resp, 405, "method not allowed: this endpoint takes GET, HEAD, OPTIONS and PATCH");
			resp->allow_methods = ALLOW_CONFIG;
		}
		else
			pgha_api_error_response(resp, 405, "method not allowed: this endpoint takes GET, HEAD and OPTIONS");
		resp->allow = true;
		return false;
	}

	if (!pgha_api_parse_query(query, query_len, req, resp))
		return false;

	/* success: the caller answers */
	resp->status = 0;
	return true;
}

bool
pgha_api_needs_replication(const PgHaApiRequest *req)
{
	if (req == NULL || !req->wants_body)
		return false;
	switch (req->endpoint)
	{
		case PGHA_EP_LIVENESS:
		case PGHA_EP_READINESS:
		case PGHA_EP_CLUSTER:
		case PGHA_EP_HISTORY:
		case PGHA_EP_CONFIG:
		case PGHA_EP_METRICS:
		case PGHA_EP_NONE:
			return false;
		default:
			return true;
	}
}

/* ----- answers */

void
pgha_api_respond(const PgHaApiRequest *req, const PgHaApiSnapshot *s,
				 PgHaApiResponse *resp)
{
	bool		body = req != NULL && req->wants_body;

	pgha_api_response_reset(resp);
	if (req == NULL || s == NULL)
	{
		pgha_api_error_response(resp, 500, "no state to answer from");
		return;
	}
	resp->allow = (req->method == PGHA_API_OPTIONS);
	if (req->endpoint == PGHA_EP_CONFIG)
		resp->allow_methods = ALLOW_CONFIG;
	if (pgha_api_is_write(req))
	{
		/* api_action.c answers these: they need Consul */
		pgha_api_error_response(resp, 500, "write requests are not answered from a snapshot");
		return;
	}

	switch (req->endpoint)
	{
		case PGHA_EP_PRIMARY:
		case PGHA_EP_LEADER:
		case PGHA_EP_STANDBY_LEADER:
		case PGHA_EP_REPLICA:
		case PGHA_EP_READ_ONLY:
		case PGHA_EP_SYNC:
		case PGHA_EP_ASYNC:
		case PGHA_EP_READ_ONLY_SYNC:
		case PGHA_EP_HEALTH:
			/* the status code matters most: without memory, send it alone */
			resp->status = pgha_api_health_status(req, s);
			if (body)
				(void) pgha_api_status_body(s, resp);
			return;

		case PGHA_EP_LIVENESS:
			resp->status = pgha_api_liveness_ok(s) ? 200 : 503;
			return;

		case PGHA_EP_READINESS:
			resp->status = pgha_api_readiness_ok(req, s) ? 200 : 503;
			return;

		case PGHA_EP_PATRONI:
			resp->status = 200;
			if (body && !pgha_api_status_body(s, resp))
				pgha_api_error_response(resp, 500, "out of memory");
			return;

		case PGHA_EP_CLUSTER:
			pgha_api_cluster_document(s, body, resp);
			return;

		case PGHA_EP_HISTORY:
			resp->status = 200;
			if (body)
				pgha_api_set_body(resp, PGHA_API_CT_JSON, "[]");
			return;

		case PGHA_EP_CONFIG:
			pgha_api_config_document(s, body, resp);
			return;

		case PGHA_EP_SWITCHOVER:
		case PGHA_EP_FAILOVER:
		case PGHA_EP_RESTART:
		case PGHA_EP_RELOAD:
		case PGHA_EP_REINITIALIZE:
			break;

		case PGHA_EP_METRICS:
			resp->status = 200;
			if (body)
				pgha_api_metrics_body(s, resp);
			return;

		case PGHA_EP_NONE:
			break;
	}
	pgha_api_error_response(resp, 404, "not found");
}

void
pgha_api_handle(const char *method, const char *uri,
				const PgHaApiSnapshot *snap, PgHaApiResponse *resp)
{
	PgHaApiRequest req;

	if (!pgha_api_parse_request(method, uri, &req, resp))
		return;
	pgha_api_respond(&req, snap, resp);
}
