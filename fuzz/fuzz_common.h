/*-------------------------------------------------------------------------
 *
 * fuzz_common.h
 *	  Helpers shared by the libFuzzer targets in fuzz/.
 *
 * Each target is one translation unit linked with the pure C parts of
 * pg_ha (src/common, the REST API's pure files, src/backend/worker/ha_decide.c) and jansson,
 * built with -fsanitize=fuzzer,address,undefined: the same files the
 * backend and pg_ha_ctl link, with no shim at all, since they use libc and
 * jansson only.  A crash, a sanitizer report, a leak (LeakSanitizer
 * watches jansson's mallocs too) or a failed FUZZ_CHECK is a finding.
 *
 * FUZZ_CHECK states what must hold for every input (a parsed member
 * record formats and reads back the same, every JSON body we send parses,
 * ...): such oracles find wrong answers, not only crashes.
 *
 * fuzz/fuzz_common.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_FUZZ_COMMON_H
#define PG_HA_FUZZ_COMMON_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "api_route.h"
#include "cluster.h"
#include "ha_decide.h"
#include "member.h"
#include "names.h"
#include "../regress/unit/metrics_text.h"

#define FUZZ_CHECK(cond) \
	do { \
		if (!(cond)) \
		{ \
			fprintf(stderr, "%s:%d: FUZZ_CHECK failed: %s\n", \
					__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* The prefix of the reference cluster (Patroni 3.0.2, scope otus). */
#define FUZZ_PREFIX		"service/otus/"
#define FUZZ_NOW_MS		INT64_C(1795627180000)

/* A NUL-terminated copy of the input (malloc'ed; embedded NULs kept). */
static inline char *
fuzz_cstring(const uint8_t *data, size_t size)
{
	char	   *s = malloc(size + 1);

	FUZZ_CHECK(s != NULL);
	if (size > 0)
		memcpy(s, data, size);
	s[size] = '\0';
	return s;
}

/* Is a fixed-size char array NUL-terminated? */
#define FUZZ_TERMINATED(field) (memchr((field), '\0', sizeof(field)) != NULL)

/* Standard base64 with padding, as Consul sends KV values (malloc'ed). */
static inline char *
fuzz_base64(const uint8_t *src, size_t len)
{
	static const char alphabet[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	   *dst = malloc((len + 2) / 3 * 4 + 1);
	char	   *p = dst;
	size_t		i;

	FUZZ_CHECK(dst != NULL);
	for (i = 0; i + 2 < len; i += 3)
	{
		unsigned long v = ((unsigned long) src[i] << 16) |
		((unsigned long) src[i + 1] << 8) | (unsigned long) src[i + 2];

		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = alphabet[v & 63];
	}
	if (len - i == 1)
	{
		unsigned long v = (unsigned long) src[i] << 16;

		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = '=';
		*p++ = '=';
	}
	else if (len - i == 2)
	{
		unsigned long v = ((unsigned long) src[i] << 16) |
		((unsigned long) src[i + 1] << 8);

		*p++ = alphabet[(v >> 18) & 63];
		*p++ = alphabet[(v >> 12) & 63];
		*p++ = alphabet[(v >> 6) & 63];
		*p++ = '=';
	}
	*p = '\0';
	return dst;
}

/*
 * Append a KV entry as Consul 1.8.7 lists it to the JSON array listing;
 * session may be NULL (key not locked).
 */
static inline void
fuzz_listing_add(json_t *listing, const char *key, const uint8_t *value,
				 size_t len, const char *session, json_int_t modify_index)
{
	char	   *b64 = fuzz_base64(value, len);
	json_t	   *entry;

	entry = json_pack("{s:i, s:s, s:i, s:s, s:I, s:I}",
					  "LockIndex", session ? 1 : 0,
					  "Key", key,
					  "Flags", 0,
					  "Value", b64,
					  "CreateIndex", (json_int_t) 5,
					  "ModifyIndex", modify_index);
	FUZZ_CHECK(entry != NULL);
	if (session != NULL)
		FUZZ_CHECK(json_object_set_new(entry, "Session", json_string(session)) == 0);
	FUZZ_CHECK(json_array_append_new(listing, entry) == 0);
	free(b64);
}

static inline void
fuzz_listing_add_str(json_t *listing, const char *key, const char *value,
					 const char *session, json_int_t modify_index)
{
	fuzz_listing_add(listing, key, (const uint8_t *) value, strlen(value),
					 session, modify_index);
}

/*
 * The cluster of the reference: leader pg3 (session-bound), replicas pg1
 * (stopped) and pg2, its config, history and status keys.
 */
static inline json_t *
fuzz_reference_listing(void)
{
	json_t	   *l = json_array();

	FUZZ_CHECK(l != NULL);
	fuzz_listing_add_str(l, FUZZ_PREFIX "config",
						 "{\"ttl\": 30, \"loop_wait\": 10, \"retry_timeout\": 10, \"maximum_lag_on_failover\": 1048576, \"postgresql\": {\"use_pg_rewind\": true, \"use_slots\": true, \"parameters\": {\"max_wal_senders\": 10, \"max_replication_slots\": 10, \"wal_keep_size\": \"128MB\", \"shared_buffers\": \"32MB\", \"max_connections\": 50}}}",
						 NULL, 10);
	fuzz_listing_add_str(l, FUZZ_PREFIX "failover", "{}", NULL, 11);
	fuzz_listing_add_str(l, FUZZ_PREFIX "history",
						 "[[1,71968280,\"no recovery target specified\",\"2026-11-25T17:21:22.394218+00:00\",\"pg2\"]]",
						 NULL, 12);
	fuzz_listing_add_str(l, FUZZ_PREFIX "initialize", "7712159771297452225", NULL, 13);
	fuzz_listing_add_str(l, FUZZ_PREFIX "leader", "pg3",
						 "4ca8e74b-6350-7587-addf-a18084928f3c", 14);
	fuzz_listing_add_str(l, FUZZ_PREFIX "members/pg1",
						 "{\"conn_url\":\"postgres://127.0.0.1:15431/postgres\",\"api_url\":\"http://127.0.0.1:18008/patroni\",\"state\":\"stopped\",\"role\":\"master\",\"version\":\"3.0.2\"}",
						 "b5a4b4e4-1d6c-6b0c-7c2e-6f2d1a3e1b11", 15);
	fuzz_listing_add_str(l, FUZZ_PREFIX "members/pg2",
						 "{\"conn_url\":\"postgres://127.0.0.1:15432/postgres\",\"api_url\":\"http://127.0.0.1:18009/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":72501936,\"timeline\":5}",
						 "0e3c5b63-5f0e-4f0b-9a53-8d1b0c3d3a6f", 16);
	fuzz_listing_add_str(l, FUZZ_PREFIX "members/pg3",
						 "{\"conn_url\":\"postgres://127.0.0.1:15433/postgres\",\"api_url\":\"http://127.0.0.1:18010/patroni\",\"state\":\"running\",\"role\":\"master\",\"version\":\"3.0.2\",\"xlog_location\":72516120,\"timeline\":6}",
						 "4ca8e74b-6350-7587-addf-a18084928f3c", 17);
	fuzz_listing_add_str(l, FUZZ_PREFIX "status", "{\"optime\":72516120}", NULL, 18);
	return l;
}

/* Parse a listing built with the helpers above; false when it fails. */
static inline bool
fuzz_parse_listing(json_t *listing, PgHaCluster *c)
{
	char	   *text = json_dumps(listing, JSON_COMPACT);
	char		err[PGHA_ERR_LEN];
	bool		ok;

	FUZZ_CHECK(text != NULL);
	memset(c, 0, sizeof(*c));
	ok = pgha_parse_kv_listing(text, strlen(text), FUZZ_PREFIX, c, err, sizeof(err));
	free(text);
	return ok;
}

/* Whatever parsed must be within its bounds and terminated. */
static inline void
fuzz_check_cluster(const PgHaCluster *c)
{
	FUZZ_CHECK(c->nmembers >= 0 && c->nmembers <= PGHA_MAX_MEMBERS);
	FUZZ_CHECK(c->nrestarts >= 0 && c->nrestarts <= PGHA_MAX_MEMBERS);
	FUZZ_CHECK(c->nwarnings >= 0);
	FUZZ_CHECK(FUZZ_TERMINATED(c->initialize));
	FUZZ_CHECK(FUZZ_TERMINATED(c->leader));
	FUZZ_CHECK(FUZZ_TERMINATED(c->leader_session));
	FUZZ_CHECK(FUZZ_TERMINATED(c->config_json));
	FUZZ_CHECK(FUZZ_TERMINATED(c->history_json));
	FUZZ_CHECK(FUZZ_TERMINATED(c->failover_leader));
	FUZZ_CHECK(FUZZ_TERMINATED(c->failover_member));
	FUZZ_CHECK(FUZZ_TERMINATED(c->warning));
	FUZZ_CHECK(c->max_lag_on_failover >= 0);
	FUZZ_CHECK(!c->has_optime || c->optime >= 0);
	FUZZ_CHECK(!c->has_leader || pgha_valid_name(c->leader));
	FUZZ_CHECK(c->failover_leader[0] == '\0' || pgha_valid_name(c->failover_leader));
	FUZZ_CHECK(c->failover_member[0] == '\0' || pgha_valid_name(c->failover_member));
	/* a config that is kept is one that parsed as an object */
	FUZZ_CHECK(c->config_json[0] == '\0' || c->config_valid);
	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];

		FUZZ_CHECK(FUZZ_TERMINATED(m->name) && pgha_valid_name(m->name));
		FUZZ_CHECK(FUZZ_TERMINATED(m->conn_url) && FUZZ_TERMINATED(m->api_url));
		FUZZ_CHECK(FUZZ_TERMINATED(m->state) && FUZZ_TERMINATED(m->role));
		FUZZ_CHECK(FUZZ_TERMINATED(m->version) && FUZZ_TERMINATED(m->session));
		FUZZ_CHECK(!m->has_xlog || m->xlog_location >= 0);
		/* names are unique: pgha_find_member() finds this one */
		FUZZ_CHECK(pgha_find_member(c, m->name) == m);
	}
	for (int i = 0; i < c->nrestarts; i++)
	{
		FUZZ_CHECK(FUZZ_TERMINATED(c->restarts[i].member));
		FUZZ_CHECK(pgha_valid_name(c->restarts[i].member));
	}
}

/*
 * A member record formats as Patroni writes it and reads back the same:
 * pg_ha and Patroni nodes read each other's records.
 */
static inline void
fuzz_check_member_roundtrip(const PgHaMember *m)
{
	char		buf[8192];
	char		err[PGHA_ERR_LEN];
	PgHaMember	back;
	int			n;

	n = pgha_member_to_json(m, buf, sizeof(buf));
	FUZZ_CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	memcpy(back.name, m->name, sizeof(back.name));
	memcpy(back.session, m->session, sizeof(back.session));
	FUZZ_CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	FUZZ_CHECK(strcmp(back.conn_url, m->conn_url) == 0);
	FUZZ_CHECK(strcmp(back.api_url, m->api_url) == 0);
	FUZZ_CHECK(strcmp(back.state, m->state) == 0);
	FUZZ_CHECK(strcmp(back.role, m->role) == 0);
	FUZZ_CHECK(strcmp(back.version, m->version) == 0);
	FUZZ_CHECK(back.has_xlog == m->has_xlog);
	FUZZ_CHECK(!m->has_xlog || back.xlog_location == m->xlog_location);
	FUZZ_CHECK(back.timeline == m->timeline);
	FUZZ_CHECK(back.pending_restart == m->pending_restart);
	FUZZ_CHECK(back.pause == m->pause);
	FUZZ_CHECK(back.nofailover == m->nofailover);
	/* the tags: every one read back the same, the others in their order */
	FUZZ_CHECK(back.nosync == m->nosync);
	FUZZ_CHECK(back.noloadbalance == m->noloadbalance);
	FUZZ_CHECK(back.clonefrom == m->clonefrom);
	FUZZ_CHECK(back.has_failover_priority == m->has_failover_priority);
	FUZZ_CHECK(!m->has_failover_priority ||
			   back.failover_priority == m->failover_priority);
	FUZZ_CHECK(pgha_member_failover_priority(&back) ==
			   pgha_member_failover_priority(m));
	FUZZ_CHECK(FUZZ_TERMINATED(back.tags_json));
	FUZZ_CHECK(strcmp(back.tags_json, m->tags_json) == 0);
	/* restarts: the server's start and a scheduled restart */
	FUZZ_CHECK(back.start_ms == m->start_ms);
	FUZZ_CHECK(back.has_scheduled_restart == m->has_scheduled_restart);
	FUZZ_CHECK(!m->has_scheduled_restart ||
			   (back.scheduled_restart_ms == m->scheduled_restart_ms &&
				back.scheduled_restart_pending == m->scheduled_restart_pending));
	{
		char		tags[PGHA_TAGS_JSON_LEN];

		/* the listings can always show them */
		FUZZ_CHECK(pgha_member_tags_json(m, tags, sizeof(tags)) >= 2);
	}
}

/* ----- the HA decision */

/* The HA decision must be one of its actions, with a terminated reason. */
static inline void
fuzz_check_decision(const HaLocalState *local, const PgHaCluster *c,
					const char *name, bool dcs_ok)
{
	HaConfig	config = {name, 30000};
	HaDecision	d;

	memset(&d, 0x7f, sizeof(d));
	ha_decide(local, c, dcs_ok, &config, &d);
	FUZZ_CHECK(d.action >= HA_NOTHING && d.action <= HA_CLEAR_FAILOVER);
	/* the leader key's lease: no wait longer than a ttl */
	FUZZ_CHECK(d.wake_in_ms >= 0 &&
			   (d.wake_in_ms <= config.ttl_ms || d.wake_in_ms <= c->leader_ttl_ms ||
				d.wake_in_ms <= local->leader_ttl_seen_ms));
	FUZZ_CHECK(c->leader_ttl_ms >= 0 && c->leader_ttl_ms <= 3600 * 1000);
	FUZZ_CHECK(FUZZ_TERMINATED(d.reason));
	FUZZ_CHECK(ha_action_name(d.action) != NULL);
	if (d.action == HA_SWITCHOVER)
	{
		/* the HA worker names it in a key and a URL */
		FUZZ_CHECK(FUZZ_TERMINATED(d.target) && pgha_valid_name(d.target));
		FUZZ_CHECK(pgha_find_member(c, d.target) != NULL);
	}
}

/* Decide as the primary holding the leader key and as a replica. */
static inline void
fuzz_decide(const PgHaCluster *c)
{
	HaLocalState l;

	memset(&l, 0, sizeof(l));
	l.is_primary = true;
	strcpy(l.sysid, "7712159771297452225");
	l.has_session = true;
	memcpy(l.session, c->leader_session, sizeof(l.session));
	if (l.session[0] == '\0')
		strcpy(l.session, "4ca8e74b-6350-7587-addf-a18084928f3c");
	l.has_xlog = true;
	l.xlog_position = 72516120;
	l.timeline = 6;
	l.now_ms = 100000;
	l.wall_ms = FUZZ_NOW_MS;
	l.lease_expiry_ms = 105000;
	fuzz_check_decision(&l, c, c->has_leader ? c->leader : "pg3", true);
	fuzz_check_decision(&l, c, "pg3", false);

	/* a replica, named like the failover's candidate when there is one */
	l.is_primary = false;
	l.in_recovery = true;
	strcpy(l.session, "0e3c5b63-5f0e-4f0b-9a53-8d1b0c3d3a6f");
	l.xlog_position = 72501936;
	l.timeline = 5;
	fuzz_check_decision(&l, c, c->failover_member[0] ? c->failover_member : "pg2", true);
	/* ... that has seen the leader key unchanged for longer than the ttl */
	l.leader_unchanged_ms = 40000;
	fuzz_check_decision(&l, c, "pg2", true);

	/* a promotion steps over at most HA_MAX_TIMELINE_SKIP IDs */
	{
		uint32_t	ignored;
		uint32_t	t = ha_promotion_timeline(c, 3, &ignored);

		FUZZ_CHECK(t >= 3 && t <= 3 + HA_MAX_TIMELINE_SKIP);
		t = ha_promotion_timeline(c, UINT32_MAX - 2, &ignored);
		FUZZ_CHECK(t >= UINT32_MAX - 2);
	}
}

/* ----- REST API answers */


/*
 * What any answer of the REST API must look like: a known status, a body
 * exactly when it has a length and a content type, JSON that parses (and
 * is ASCII: JSON_ENSURE_ASCII), Prometheus text that is well-formed, no
 * body on a HEAD or OPTIONS that parsed.
 */
static inline void
fuzz_check_response(const char *method, bool parsed, const PgHaApiResponse *r)
{
	static const int known[] = {200, 202, 400, 401, 403, 404, 405, 409, 412,
	413, 414, 422, 500, 503};
	bool		status_ok = false;

	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
		if (r->status == known[i])
			status_ok = true;
	FUZZ_CHECK(status_ok);
	FUZZ_CHECK((r->body == NULL) == (r->body_len == 0));
	FUZZ_CHECK(r->body == NULL || r->content_type != NULL);
	FUZZ_CHECK(r->status != 405 || r->allow);
	/* errors of requests that did not parse have one (MHD drops it on HEAD) */
	if (parsed && (strcmp(method, "HEAD") == 0 || strcmp(method, "OPTIONS") == 0))
		FUZZ_CHECK(r->body == NULL);
	if (r->body != NULL && strcmp(r->content_type, "application/json") == 0)
	{
		json_t	   *j = json_loadb(r->body, r->body_len, 0, NULL);

		FUZZ_CHECK(j != NULL);
		json_decref(j);
		for (size_t i = 0; i < r->body_len; i++)
			FUZZ_CHECK((unsigned char) r->body[i] < 0x80);
	}
	if (r->body != NULL && strncmp(r->content_type, "text/plain; version=0.0.4", 25) == 0)
		FUZZ_CHECK(metrics_text_well_formed(r->body, r->body_len));
}

/* Node snapshots like the reference's leader and replica. */
static inline void
fuzz_base_snapshot(PgHaApiSnapshot *s)
{
	memset(s, 0, sizeof(*s));
	s->pg_running = true;
	strcpy(s->postmaster_start_time, "2026-11-25 17:19:32.229033+00:00");
	s->postmaster_start_ms = INT64_C(1795627172229);
	s->server_version = 150002;
	strcpy(s->sysid, "7712159771297452225");
	strcpy(s->scope, "otus");
	strcpy(s->name, "pg3");
	strcpy(s->version, "0.1.0");
	s->now_ms = FUZZ_NOW_MS;
	s->dcs_last_seen = FUZZ_NOW_MS / 1000 - 1;
	s->last_round_ms = FUZZ_NOW_MS - 1000;
	s->ttl_ms = 30000;
	s->loop_wait_ms = 10000;
	s->timeline = 6;
}

static inline void
fuzz_leader_snapshot(PgHaApiSnapshot *s)
{
	PgHaApiReplication *r;

	fuzz_base_snapshot(s);
	s->role = PGHA_API_ROLE_LEADER;
	s->location = 72516120;
	s->lease_remaining_ms = 12345;
	r = &s->replication[s->nreplication++];
	r->has_usename = true;
	strcpy(r->usename, "replicator");
	strcpy(r->application_name, "pg2");
	r->has_client_addr = true;
	strcpy(r->client_addr, "127.0.0.1");
	strcpy(r->state, "streaming");
	strcpy(r->sync_state, "async");
}

static inline void
fuzz_replica_snapshot(PgHaApiSnapshot *s)
{
	fuzz_base_snapshot(s);
	strcpy(s->name, "pg2");
	s->role = PGHA_API_ROLE_REPLICA;
	s->in_recovery = true;
	s->timeline = 5;
	s->received_location = 72501936;
	s->replayed_location = 72501936;
	s->has_replayed_timestamp = true;
	strcpy(s->replayed_timestamp, "2026-11-25 17:19:03.325150+00:00");
	s->replayed_timestamp_ms = INT64_C(1795627143325);
	s->streaming = true;
	s->has_lag = true;
	s->lag_bytes = 14184;
}

/* Answer method uri from snapshot s and check the answer. */
static inline void
fuzz_answer(const char *method, const char *uri, const PgHaApiSnapshot *s)
{
	PgHaApiResponse r;

	pgha_api_handle(method, uri, s, &r);
	fuzz_check_response(method, true, &r);
	pgha_api_response_free(&r);
}

#endif							/* PG_HA_FUZZ_COMMON_H */
