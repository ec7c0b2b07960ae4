/*-------------------------------------------------------------------------
 *
 * api_body.c
 *	  The REST API's JSON documents, as Patroni 3.0.2 writes them.
 *
 * The status document (/patroni, and the body of every health check),
 * /cluster and GET /config: Patroni's JSON, built with jansson in Patroni's
 * key order.  Strings from the snapshot (application names come from
 * clients) are bounded by their arrays and made valid UTF-8 before they
 * reach JSON.
 *
 * Not json_object(): inside the backend that name resolves to PostgreSQL's
 * own SQL function, which the postgres binary exports (see json_util.h);
 * empty objects come from json_pack("{}").
 *
 * Pure: libc and jansson, no PostgreSQL, no I/O.  What this file is not
 * for: status codes of the health checks (api_health.c), /metrics
 * (api_metrics.c).
 *
 *-------------------------------------------------------------------------
 */
#include "api_body.h"

#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "api_health.h"
#include "cluster.h"
#include "iso_time.h"
#include "member.h"
#include "sync_key.h"

#define JSON_FLAGS		(JSON_ENSURE_ASCII | JSON_PRESERVE_ORDER)

/* ----- JSON helpers */

static json_t *
new_object(void)
{
	return json_pack("{}");
}

/*
 * A JSON string from a fixed array of maxlen bytes.  Bytes that jansson
 * refuses (invalid UTF-8: application names are whatever clients sent, in
 * the server's encoding) become '?'.  NULL only when out of memory.
 */
static json_t *
json_str(const char *s, size_t maxlen)
{
	size_t		n = pgha_api_strnlen(s, maxlen);
	json_t	   *j = json_stringn(s, n);
	char	   *copy;

	if (j != NULL)
		return j;
	copy = malloc(n + 1);
	if (copy == NULL)
		return NULL;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char c = (unsigned char) s[i];

		copy[i] = (c < 0x20 || c >= 0x7f) ? '?' : (char) c;
	}
	copy[n] = '\0';
	j = json_stringn(copy, n);
	free(copy);
	return j;
}

#define JSON_STR(field) json_str((field), sizeof(field))

/* Add value to obj under key; false (value released) on failure. */
static bool
put(json_t *obj, const char *key, json_t *value)
{
	if (value == NULL)
		return false;
	return json_object_set_new(obj, key, value) == 0;
}

static bool
append(json_t *arr, json_t *value)
{
	if (value == NULL)
		return false;
	return json_array_append_new(arr, value) == 0;
}

/*
 * Serialize root (released) into resp's body.  False when out of memory,
 * resp untouched: the caller chooses between its status without a body
 * (health checks) and a 500 (documents).
 */
static bool
json_body(PgHaApiResponse *resp, json_t *root)
{
	char	   *text;

	if (root == NULL)
		return false;
	text = json_dumps(root, JSON_FLAGS);
	json_decref(root);
	if (text == NULL)
		return false;
	resp->body = text;
	resp->body_len = strlen(text);
	resp->content_type = PGHA_API_CT_JSON;
	return true;
}

/* ----- the status document */

static json_t *
xlog_json(const PgHaApiSnapshot *s)
{
	json_t	   *x = new_object();
	bool		ok;

	if (x == NULL)
		return NULL;
	if (!s->in_recovery)
		ok = put(x, "location", json_integer(s->location));
	else
	{
		/* as Patroni: the received position, or the replayed one */
		int64_t		received = s->received_location > 0 ?
			s->received_location : s->replayed_location;

		ok = put(x, "received_location", json_integer(received)) &&
			put(x, "replayed_location", json_integer(s->replayed_location)) &&
			put(x, "replayed_timestamp",
				s->has_replayed_timestamp ? JSON_STR(s->replayed_timestamp) :
				json_null()) &&
			put(x, "paused", json_boolean(s->replay_paused));
	}
	if (!ok)
	{
		json_decref(x);
		return NULL;
	}
	return x;
}

static json_t *
replication_json(const PgHaApiSnapshot *s)
{
	json_t	   *arr = json_array();
	int			n = s->nreplication;

	if (arr == NULL)
		return NULL;
	if (n < 0)
		n = 0;
	if (n > PGHA_API_MAX_REPLICATION)
		n = PGHA_API_MAX_REPLICATION;
	for (int i = 0; i < n; i++)
	{
		const PgHaApiReplication *r = &s->replication[i];
		json_t	   *o = new_object();
		bool		ok;

		ok = o != NULL &&
			put(o, "usename", r->has_usename ? JSON_STR(r->usename) : json_null()) &&
			put(o, "application_name", JSON_STR(r->application_name)) &&
			put(o, "client_addr",
				r->has_client_addr ? JSON_STR(r->client_addr) : json_null()) &&
			put(o, "state", JSON_STR(r->state)) &&
			put(o, "sync_state", JSON_STR(r->sync_state)) &&
			put(o, "sync_priority", json_integer(r->sync_priority));
		if (!ok || !append(arr, o))
		{
			if (!ok)
				json_decref(o);
			json_decref(arr);
			return NULL;
		}
	}
	return arr;
}

/*
 * Patroni's scheduled_restart: {"schedule": <iso>, "restart_pending": true
 * (only when set), "postmaster_start_time": <iso> (start_ms > 0 only)}.
 * NULL when out of memory or the schedule cannot be written.
 */
static json_t *
scheduled_restart_json(int64_t schedule_ms, bool pending, int64_t start_ms)
{
	char		iso[PGHA_ISO_TIME_LEN];
	json_t	   *o;
	bool		ok;

	if (!pgha_format_iso_time(schedule_ms, iso, sizeof(iso)) ||
		(o = new_object()) == NULL)
		return NULL;
	ok = put(o, "schedule", json_string(iso));
	if (ok && pending)
		ok = put(o, "restart_pending", json_true());
	if (ok && start_ms > 0 && pgha_format_iso_time(start_ms, iso, sizeof(iso)))
		ok = put(o, "postmaster_start_time", json_string(iso));
	if (!ok)
	{
		json_decref(o);
		return NULL;
	}
	return o;
}

/* This node's restart request while it waits for its time, or NULL. */
static const PgHaRestartRequest *
own_scheduled_restart(const PgHaApiSnapshot *s)
{
	int			n;

	if (!s->cluster_valid)
		return NULL;
	n = s->cluster.nrestarts < 0 ? 0 :
		s->cluster.nrestarts > PGHA_MAX_MEMBERS ? PGHA_MAX_MEMBERS : s->cluster.nrestarts;
	for (int i = 0; i < n; i++)
	{
		const PgHaRestartRequest *r = &s->cluster.restarts[i];

		if (strncmp(r->member, s->name, sizeof(r->member)) == 0 &&
			r->scheduled && r->restarting == 0)
			return r;
	}
	return NULL;
}

/*
 * The status document of /patroni, also the body of every health check:
 * Patroni's get_postgresql_status() and _write_status_response(), keys in
 * their order.
 */
static json_t *
status_json(const PgHaApiSnapshot *s)
{
	json_t	   *root = new_object();
	const char *role = s->in_recovery ? "replica" : "master";
	bool		ok;

	if (root == NULL)
		return NULL;
	if (s->pg_running)
	{
		ok = put(root, "state", json_string("running")) &&
			put(root, "postmaster_start_time", JSON_STR(s->postmaster_start_time)) &&
			put(root, "role", json_string(role)) &&
			put(root, "server_version", json_integer(s->server_version)) &&
			put(root, "xlog", xlog_json(s)) &&
			put(root, "timeline", s->timeline > 0 ?
				json_integer(s->timeline) : json_null());
		if (ok && s->nreplication > 0)
			ok = put(root, "replication", replication_json(s));
	}
	else
		ok = put(root, "state", json_string("starting")) &&
			put(root, "role", json_string(role));

	if (ok && (!s->cluster_valid || !s->cluster.has_leader))
		ok = put(root, "cluster_unlocked", json_true());
	if (ok)
		ok = put(root, "dcs_last_seen", json_integer(s->dcs_last_seen));
	if (ok)
	{
		/* Patroni's get_effective_tags(), when there are any */
		json_t	   *tags = pgha_api_node_tags(s);

		if (tags == NULL)
			ok = false;
		else if (json_object_size(tags) == 0)
			json_decref(tags);
		else
			ok = put(root, "tags", tags);
	}
	if (ok && pgha_api_strnlen(s->sysid, sizeof(s->sysid)) > 0)
		ok = put(root, "database_system_identifier", JSON_STR(s->sysid));
	if (ok && s->pending_restart)
		ok = put(root, "pending_restart", json_true());
	if (ok && pgha_api_sync_standby(s))
		ok = put(root, "sync_standby", json_true());
	if (ok)
	{
		json_t	   *p = new_object();

		ok = p != NULL &&
			put(p, "version", JSON_STR(s->version)) &&
			put(p, "scope", JSON_STR(s->scope));
		if (ok)
			ok = put(root, "patroni", p);
		else if (p != NULL)
			json_decref(p);
	}
	if (ok)
	{
		/* as Patroni: the request as scheduled, without the start time */
		const PgHaRestartRequest *r = own_scheduled_restart(s);
		json_t	   *sr = r != NULL ?
			scheduled_restart_json(r->scheduled_ms, r->pending_only, 0) : NULL;

		if (sr != NULL)
			ok = put(root, "scheduled_restart", sr);
	}
	if (ok && pgha_api_is_paused(s))
		ok = put(root, "pause", json_true());
	if (!ok)
	{
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ----- /cluster */

/*
 * host and port of a member's conn_url (postgres://[user@]host[:port]/db),
 * as Patroni's conn_kwargs() reads them.  host empty when unknown, port 0
 * when absent or invalid.
 */
static void
conn_url_host_port(const char *url, size_t urllen, char *host, size_t hostlen,
				   int *port)
{
	size_t		n = pgha_api_strnlen(url, urllen);
	const char *p;
	const char *end;
	const char *at;
	const char *h;
	const char *hend;
	const char *portstr = NULL;
	size_t		hl;

	host[0] = '\0';
	*port = 0;
	if (n >= 11 && pgha_api_prefix_nocase(url, "postgres://"))
		p = url + 11;
	else if (n >= 13 && pgha_api_prefix_nocase(url, "postgresql://"))
		p = url + 13;
	else
		return;
	end = p;
	while (end < url + n && *end != '/' && *end != '?' && *end != '#')
		end++;
	/* userinfo ends at the last "@" of the authority */
	at = NULL;
	for (const char *q = p; q < end; q++)
		if (*q == '@')
			at = q;
	h = at ? at + 1 : p;
	if (h < end && *h == '[')
	{
		const char *close = memchr(h, ']', (size_t) (end - h));

		if (close == NULL)
			return;
		hend = close;
		h++;
		if (close + 1 < end && close[1] == ':')
			portstr = close + 2;
	}
	else
	{
		const char *colon = memchr(h, ':', (size_t) (end - h));

		hend = colon ? colon : end;
		if (colon)
			portstr = colon + 1;
	}
	hl = (size_t) (hend - h);
	if (hl == 0 || hl >= hostlen)
		return;
	for (size_t i = 0; i < hl; i++)
		host[i] = (h[i] >= 'A' && h[i] <= 'Z') ? (char) (h[i] - 'A' + 'a') : h[i];
	host[hl] = '\0';
	if (portstr != NULL)
	{
		long		v = 0;
		const char *q = portstr;

		while (q < end && *q >= '0' && *q <= '9' && v <= 65535)
			v = v * 10 + (*q++ - '0');
		if (q == end && q > portstr && v >= 1 && v <= 65535)
			*port = (int) v;
	}
}

/* a member of /cluster: live, or stopped (a record no session holds) */
typedef struct ListedMember
{
	const PgHaMember *m;
	bool		stopped;
} ListedMember;

static int
member_name_cmp(const void *a, const void *b)
{
	const PgHaMember *ma = ((const ListedMember *) a)->m;
	const PgHaMember *mb = ((const ListedMember *) b)->m;

	return strncmp(ma->name, mb->name, sizeof(ma->name));
}

/*
 * Patroni's cluster_as_json(), 3.0.2.  Stopped members come with them, as
 * Patroni lists its own stopped members: state "stopped", lag "unknown",
 * and pg_ha's "last_seen".
 */
static json_t *
cluster_json(const PgHaApiSnapshot *s)
{
	const PgHaCluster *c = &s->cluster;
	ListedMember sorted[PGHA_MAX_MEMBERS * 2];
	json_t	   *root = new_object();
	json_t	   *members = json_array();
	int64_t		cluster_lsn = (c->has_optime && c->optime > 0) ? c->optime : 0;
	int			nlive = c->nmembers;
	int			nstopped = c->nstopped;
	int			n = 0;
	bool		ok = root != NULL && members != NULL;

	/* do not trust the counts beyond the arrays */
	nlive = nlive < 0 ? 0 : nlive > PGHA_MAX_MEMBERS ? PGHA_MAX_MEMBERS : nlive;
	nstopped = nstopped < 0 ? 0 : nstopped > PGHA_MAX_MEMBERS ? PGHA_MAX_MEMBERS : nstopped;
	for (int i = 0; i < nlive; i++)
		sorted[n++] = (ListedMember) {&c->members[i], false};
	for (int i = 0; i < nstopped; i++)
		sorted[n++] = (ListedMember) {&c->stopped[i], true};
	qsort(sorted, (size_t) n, sizeof(sorted[0]), member_name_cmp);

	for (int i = 0; ok && i < n; i++)
	{
		const PgHaMember *m = sorted[i].m;
		bool		stopped = sorted[i].stopped;
		bool		leader = !stopped && c->has_leader &&
			strncmp(m->name, c->leader, sizeof(m->name)) == 0;
		char		host[PGHA_URL_LEN];
		char		iso[PGHA_ISO_TIME_LEN];
		int			port;
		json_t	   *o = new_object();

		ok = o != NULL &&
			put(o, "name", JSON_STR(m->name)) &&
			put(o, "role", json_string(leader ? "leader" : stopped ?
									   pgha_stopped_role_label(c, m, true) :
									   pgha_member_role_label(c, m, true))) &&
			put(o, "state", JSON_STR(m->state)) &&
			put(o, "api_url", JSON_STR(m->api_url));
		conn_url_host_port(m->conn_url, sizeof(m->conn_url), host, sizeof(host), &port);
		if (ok && host[0] != '\0')
		{
			ok = put(o, "host", json_str(host, sizeof(host)));
			if (ok && port > 0)
				ok = put(o, "port", json_integer(port));
		}
		if (ok && m->timeline > 0)
			ok = put(o, "timeline", json_integer(m->timeline));
		if (ok && m->pending_restart)
			ok = put(o, "pending_restart", json_true());
		if (ok && !stopped && m->has_scheduled_restart)
		{
			/* as the member's record has it (Patroni copies the field) */
			json_t	   *sr = scheduled_restart_json(m->scheduled_restart_ms,
													m->scheduled_restart_pending,
													m->start_ms);

			if (sr != NULL)
				ok = put(o, "scheduled_restart", sr);
		}
		if (ok)
		{
			char		tags[PGHA_TAGS_JSON_LEN];

			/* every tag of its record, as Patroni copies them */
			json_t	   *t = pgha_member_tags_json(m, tags, sizeof(tags)) > 2 ?
				json_loads(tags, JSON_REJECT_DUPLICATES, NULL) : NULL;

			if (t != NULL)
				ok = put(o, "tags", t);
		}
		if (ok && !leader)
		{
			if (!m->has_xlog)
				ok = put(o, "lag", json_string("unknown"));
			else
				ok = put(o, "lag", json_integer(cluster_lsn >= m->xlog_location ?
												cluster_lsn - m->xlog_location : 0));
		}
		if (ok && stopped && m->last_seen_ms > 0 &&
			pgha_format_iso_time(m->last_seen_ms, iso, sizeof(iso)))
			ok = put(o, "last_seen", json_string(iso));
		if (!ok)
		{
			if (o != NULL)
				json_decref(o);
			break;
		}
		ok = append(members, o);
	}
	if (ok)
	{
		ok = put(root, "members", members);
		members = NULL;
	}
	if (ok && c->paused)
		ok = put(root, "pause", json_true());
	if (!ok)
	{
		if (members != NULL)
			json_decref(members);
		if (root != NULL)
			json_decref(root);
		return NULL;
	}
	return root;
}

/* ----- the documents */

bool
pgha_api_status_body(const PgHaApiSnapshot *s, PgHaApiResponse *resp)
{
	return json_body(resp, status_json(s));
}

void
pgha_api_cluster_document(const PgHaApiSnapshot *s, bool body,
						  PgHaApiResponse *resp)
{
	if (!s->cluster_valid)
	{
		if (body)
			pgha_api_error_response(resp, 503, "the cluster has not been read from Consul yet");
		resp->status = 503;
		return;
	}
	resp->status = 200;
	if (body && !json_body(resp, cluster_json(s)))
		pgha_api_error_response(resp, 500, "out of memory");
}

void
pgha_api_config_document(const PgHaApiSnapshot *s, bool body,
						 PgHaApiResponse *resp)
{
	size_t		len = pgha_api_strnlen(s->cluster.config_json,
									   sizeof(s->cluster.config_json));
	json_t	   *cfg;

	/* the config key as last read from Consul, as Patroni has it */
	if (!s->cluster_valid || !s->cluster.has_config ||
		!s->cluster.config_valid || len == 0 ||
		len == sizeof(s->cluster.config_json))
	{
		if (body)
			pgha_api_error_response(resp, 503, !s->cluster_valid ?
									"the cluster has not been read from Consul yet" :
									"the cluster has no usable configuration key");
		resp->status = 503;
		return;
	}
	resp->status = 200;
	if (!body)
		return;
	/* through jansson: what leaves is valid JSON, ASCII */
	cfg = json_loadb(s->cluster.config_json, len, 0, NULL);
	if (cfg == NULL || !json_is_object(cfg))
	{
		if (cfg != NULL)
			json_decref(cfg);
		pgha_api_error_response(resp, 503, "the cluster has no usable configuration key");
	}
	else if (!json_body(resp, cfg))
		pgha_api_error_response(resp, 500, "out of memory");
}
