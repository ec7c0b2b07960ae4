/*-------------------------------------------------------------------------
 *
 * api_health.c
 *	  The status codes of the REST API's health checks and probes.
 *
 * HAProxy decides where clients go from the status codes given here, so
 * they follow Patroni 3.0.2's rules (patroni/api.py, do_GET and friends)
 * with pg_ha's stricter notion of a primary: 200 on /primary only while
 * the node holds the leader key with a live lease, is not fenced and is
 * out of recovery, the same condition under which fence.c lets writes
 * through.  The filters of a request (?lag=, ?replication_state=,
 * ?tag_<name>=) are applied here too.
 *
 * Pure: libc and jansson (for the node's tags), no PostgreSQL, no I/O.
 * What this file is not for: the bodies sent with the codes (api_body.c),
 * or deciding anything about failover (ha_decide.c).
 *
 *-------------------------------------------------------------------------
 */
#include "api_health.h"
#include "cluster.h"
#include "member.h"
#include "sync_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ----- the node's state */

bool
pgha_api_is_paused(const PgHaApiSnapshot *s)
{
	return s->cluster_valid && s->cluster.paused;
}

bool
pgha_api_primary_ok(const PgHaApiSnapshot *s)
{
	return s->role == PGHA_API_ROLE_LEADER && !s->fenced &&
		!s->in_recovery && s->pg_running;
}

static bool
lag_ok(const PgHaApiRequest *req, const PgHaApiSnapshot *s)
{
	if (!req->has_max_lag)
		return true;
	/* an unknown lag is not a small one */
	return s->has_lag && s->lag_bytes >= 0 && s->lag_bytes <= req->max_lag;
}

bool
pgha_api_sync_standby(const PgHaApiSnapshot *s)
{
	const PgHaMember *me;

	if (!s->in_recovery || !s->cluster_valid || !s->cluster.sync_mode)
		return false;
	me = pgha_find_member(&s->cluster, s->name);
	return me != NULL &&
		strcmp(pgha_member_role_label(&s->cluster, me, true), "sync_standby") == 0;
}

json_t *
pgha_api_node_tags(const PgHaApiSnapshot *s)
{
	json_t	   *tags = NULL;

	if (s->has_tags)
	{
		size_t		n = pgha_api_strnlen(s->tags_json, sizeof(s->tags_json));

		if (n < sizeof(s->tags_json))
			tags = json_loadb(s->tags_json, n, JSON_REJECT_DUPLICATES, NULL);
	}
	else if (s->cluster_valid)
	{
		const PgHaMember *me = pgha_find_member(&s->cluster, s->name);
		char		buf[PGHA_TAGS_JSON_LEN];

		if (me != NULL && pgha_member_tags_json(me, buf, sizeof(buf)) > 0)
			tags = json_loads(buf, JSON_REJECT_DUPLICATES, NULL);
	}
	if (tags != NULL && !json_is_object(tags))
	{
		json_decref(tags);
		tags = NULL;
	}
	/* not json_object(): in the backend, PostgreSQL's SQL function */
	if (tags == NULL)
		tags = json_pack("{}");
	if (tags != NULL && s->nofailover &&
		json_object_set_new(tags, "nofailover", json_true()) != 0)
	{
		json_decref(tags);
		tags = NULL;
	}
	return tags;
}

/* noloadbalance: Patroni's replica_status_code is 503 on such a node */
static bool
tagged_noloadbalance(const json_t *tags)
{
	return json_is_true(json_object_get(tags, "noloadbalance"));
}

/* Patroni's replica_status_code, plus "streaming". */
static bool
replica_ok(const PgHaApiRequest *req, const PgHaApiSnapshot *s,
		   const json_t *tags)
{
	if (!s->in_recovery || !s->pg_running || s->fenced || !s->streaming)
		return false;
	if (tags == NULL || tagged_noloadbalance(tags))
		return false;
	if (!lag_ok(req, s))
		return false;
	if (req->has_replication_state &&
		strcmp(req->replication_state, "streaming") != 0)
		return false;
	return true;
}

/* ----- ?tag_<name>= filters */

/*
 * A real as Python's repr() prints it: the shortest digits that read back
 * the same, in fixed notation with at least one decimal ("2.0") for a
 * decimal exponent from -4 to 15, else as "1.5e+16".  False when it does
 * not fit.
 */
static bool
python_real(double d, char *buf, size_t len)
{
	char		e_form[48];
	int			p;
	int			exp10;
	const char *e;

	for (p = 1; p <= 17; p++)
	{
		snprintf(e_form, sizeof(e_form), "%.*e", p - 1, d);
		if (strtod(e_form, NULL) == d)
			break;
	}
	if (p > 17)
		p = 17;
	snprintf(e_form, sizeof(e_form), "%.*e", p - 1, d);
	e = strchr(e_form, 'e');
	if (e == NULL)
		return false;
	exp10 = atoi(e + 1);
	if (exp10 < -4 || exp10 >= 16)
		return (size_t) snprintf(buf, len, "%s", e_form) < len;
	if (p - 1 - exp10 > 0)
		return (size_t) snprintf(buf, len, "%.*f", p - 1 - exp10, d) < len;
	return (size_t) snprintf(buf, len, "%.0f.0", d) < len;
}

/*
 * Does the node's tag value match a filter's value?  Patroni compares
 * strings as they are and other values as str(value).lower(): true is
 * "true", 3 is "3", 1.5 is "1.5".  A tag set to null counts as absent;
 * lists and objects (not something pg_ha.tags takes) never match.
 */
static bool
tag_value_matches(const json_t *v, const char *want)
{
	char		text[64];

	switch (json_typeof(v))
	{
		case JSON_STRING:
			return json_string_length(v) == strlen(want) &&
				memcmp(json_string_value(v), want, json_string_length(v)) == 0;
		case JSON_TRUE:
			return strcmp(want, "true") == 0;
		case JSON_FALSE:
			return strcmp(want, "false") == 0;
		case JSON_INTEGER:
			snprintf(text, sizeof(text), "%lld", (long long) json_integer_value(v));
			return strcmp(want, text) == 0;
		case JSON_REAL:
			return python_real(json_real_value(v), text, sizeof(text)) &&
				strcmp(want, text) == 0;
		default:
			return false;
	}
}

/*
 * ?tag_<name>=<value>: every filter must match a tag of the node (Patroni's
 * do_GET): a tag it does not have, or another value, is a 503.  tags NULL
 * (out of memory) matches no filter.
 */
static bool
tags_match(const PgHaApiRequest *req, const json_t *tags)
{
	for (int i = 0; i < req->ntag_filters; i++)
	{
		const PgHaApiTagFilter *f = &req->tag_filters[i];
		const json_t *v = tags != NULL ? json_object_get(tags, f->name) : NULL;

		if (v == NULL || !tag_value_matches(v, f->value))
			return false;
	}
	return true;
}

/* ----- the codes */

int
pgha_api_health_status(const PgHaApiRequest *req, const PgHaApiSnapshot *s)
{
	bool		ok;
	json_t	   *tags;

	/* the leader's paths ignore tags, as Patroni's */
	switch (req->endpoint)
	{
		case PGHA_EP_PRIMARY:
		case PGHA_EP_LEADER:
			return pgha_api_primary_ok(s) ? 200 : 503;
		case PGHA_EP_STANDBY_LEADER:
			return 503;			/* no standby clusters (yet) */
		default:
			break;
	}
	tags = pgha_api_node_tags(s);
	switch (req->endpoint)
	{
		case PGHA_EP_REPLICA:
			ok = replica_ok(req, s, tags);
			break;
		case PGHA_EP_READ_ONLY:
			ok = pgha_api_primary_ok(s) || replica_ok(req, s, tags);
			break;
		case PGHA_EP_HEALTH:
			ok = s->pg_running;
			break;
		case PGHA_EP_SYNC:
			ok = s->cluster_valid && pgha_api_sync_standby(s) && replica_ok(req, s, tags);
			break;
		case PGHA_EP_ASYNC:
			ok = s->cluster_valid && !pgha_api_sync_standby(s) && replica_ok(req, s, tags);
			break;
		case PGHA_EP_READ_ONLY_SYNC:
			ok = s->cluster_valid &&
				(pgha_api_primary_ok(s) || (pgha_api_sync_standby(s) && replica_ok(req, s, tags)));
			break;
		default:
			ok = false;
			break;
	}
	if (ok && !tags_match(req, tags))
		ok = false;
	if (tags != NULL)
		json_decref(tags);
	return ok ? 200 : 503;
}

bool
pgha_api_liveness_ok(const PgHaApiSnapshot *s)
{
	bool		primary = !s->in_recovery && s->pg_running;
	int64_t		ref = s->last_round_ms > 0 ? s->last_round_ms : s->postmaster_start_ms;
	int64_t		limit;

	/* in maintenance mode a stuck loop is fine, as in Patroni */
	if (pgha_api_is_paused(s))
		return true;
	if (ref <= 0)
		return false;
	/* Patroni: next run + ttl on a primary, twice the ttl on a replica */
	limit = (int64_t) (s->loop_wait_ms > 0 ? s->loop_wait_ms : 0) +
		(int64_t) (s->ttl_ms > 0 ? s->ttl_ms : 0) * (primary ? 1 : 2);
	return s->now_ms - ref <= limit;
}

bool
pgha_api_readiness_ok(const PgHaApiRequest *req, const PgHaApiSnapshot *s)
{
	if (s->role == PGHA_API_ROLE_LEADER)
		return true;
	return s->in_recovery && s->pg_running && !s->fenced && s->streaming &&
		lag_ok(req, s);
}
