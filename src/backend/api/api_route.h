/*-------------------------------------------------------------------------
 *
 * api_route.h
 *	  The REST API's answers as pure functions: request in, response out.
 *
 * The HA worker's REST API (api.c) reads the node's state into a PgHaApiSnapshot
 * and hands it here with the method and the raw request URI; this file
 * parses the request, picks the status code Patroni 3.0.2 would give and
 * builds the body (Patroni's JSON, Prometheus text).  It does no I/O and
 * knows nothing of PostgreSQL or of the HTTP library: libc and jansson
 * only, like cluster.c, so that every branch is unit-tested alone
 * (regress/unit/test_api_route.c) and fuzzed with hostile requests.
 *
 * The write endpoints (POST /switchover /failover /restart /reload
 * /reinitialize, PATCH /config) are parsed and validated here too: their
 * JSON bodies, the checks against the cluster as read from Consul, the
 * merge patch of the config key and the basic-auth check.  api.c does
 * their I/O (Consul, the postmaster's SIGHUP, PostgreSQL's own check of
 * parameter values).
 *
 * What this file is not for: reading shared memory, talking HTTP, or
 * changing anything.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_ROUTE_H
#define PG_HA_API_ROUTE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"
#include "outcome.h"

#define PGHA_API_MAX_REPLICATION	32
#define PGHA_API_TIME_LEN		48	/* "2026-11-25 17:19:32.229033+00:00" */
#define PGHA_API_ADDR_LEN		64	/* numeric IPv6 address and more */
#define PGHA_API_MAX_URI		4096	/* longer: 414 */
#define PGHA_API_MAX_PATH		256 /* decoded path; longer: no such page */
#define PGHA_API_MAX_PARAMS		64	/* query parameters; more: 400 */
#define PGHA_API_MAX_PARAM_LEN	256 /* one decoded key or value; longer: 400 */
#define PGHA_API_MAX_TAG_FILTERS	8	/* tag_<name>= parameters; more: 400 */
#define PGHA_API_ALLOW			"GET, HEAD, OPTIONS"

/* The node's place in the cluster, as the API judges it. */
typedef enum PgHaApiRole
{
	PGHA_API_ROLE_STARTING,		/* the HA worker has not decided yet */
	PGHA_API_ROLE_LEADER,		/* holds the leader key and its lease */
	PGHA_API_ROLE_REPLICA,		/* a standby */
	PGHA_API_ROLE_PRIMARY_FENCED	/* a primary without the lease */
} PgHaApiRole;

/* One walsender, as in pg_stat_replication. */
typedef struct PgHaApiReplication
{
	bool		has_usename;	/* false: JSON null (unknown role name) */
	char		usename[PGHA_NAME_LEN];
	char		application_name[PGHA_NAME_LEN];
	bool		has_client_addr;	/* false: JSON null (Unix socket) */
	char		client_addr[PGHA_API_ADDR_LEN];
	char		state[PGHA_SHORT_LEN];	/* streaming, catchup, backup... */
	char		sync_state[PGHA_SHORT_LEN]; /* async, sync, potential,
											 * quorum */
	int			sync_priority;
} PgHaApiReplication;

/*
 * Everything the answers depend on, read at one moment.  Strings are
 * NUL-terminated within their arrays (the functions below also stop at the
 * end of the array if one is not).  Times are Unix epoch based.
 */
typedef struct PgHaApiSnapshot
{
	/* the node */
	PgHaApiRole role;
	bool		fenced;			/* a primary refusing writes */
	bool		pg_running;		/* accepts connections ("running"), else
								 * "starting" */
	bool		in_recovery;
	uint32_t	timeline;		/* 0: unknown */
	int64_t		location;		/* primary: WAL write position, bytes */
	int64_t		received_location;	/* replica: flushed by the walreceiver */
	int64_t		replayed_location;	/* replica: replayed */
	bool		has_replayed_timestamp; /* last replayed commit's time */
	char		replayed_timestamp[PGHA_API_TIME_LEN];
	int64_t		replayed_timestamp_ms;	/* the same, epoch ms */
	bool		replay_paused;
	bool		streaming;		/* the walreceiver streams */
	bool		has_lag;		/* lag behind the leader is known */
	int64_t		lag_bytes;
	char		postmaster_start_time[PGHA_API_TIME_LEN];
	int64_t		postmaster_start_ms;	/* epoch ms */
	int			server_version; /* e.g. 150002 */
	char		sysid[PGHA_SHORT_LEN];	/* empty: unknown */
	bool		pending_restart;
	bool		nofailover;		/* the nofailover tag */

	/*
	 * The node's own tags object, as its member record carries it
	 * (pgha_local_tags_json), when has_tags; else the answers take it from
	 * the node's member record as last read from Consul.  Either way
	 * nofailover above counts too.
	 */
	bool		has_tags;
	char		tags_json[PGHA_TAGS_JSON_LEN];

	/* the HA worker */
	char		scope[PGHA_NAME_LEN];	/* cluster name */
	char		name[PGHA_NAME_LEN];	/* node name */
	char		version[PGHA_SHORT_LEN];	/* pg_ha's version */
	int64_t		now_ms;			/* epoch ms, the snapshot's time */
	int64_t		dcs_last_seen;	/* epoch s of the last Consul read, 0 never */
	int64_t		last_round_ms;	/* epoch ms of the worker's last round, 0
								 * never */
	int			ttl_ms;
	int			loop_wait_ms;
	int64_t		lease_remaining_ms; /* 0 when no lease */

	/* the cluster as last read from Consul */
	bool		cluster_valid;
	PgHaCluster cluster;

	/* walsenders (on any node that has some) */
	int			nreplication;
	PgHaApiReplication replication[PGHA_API_MAX_REPLICATION];
} PgHaApiSnapshot;

typedef enum PgHaApiMethod
{
	PGHA_API_GET,
	PGHA_API_HEAD,
	PGHA_API_OPTIONS,
	PGHA_API_POST,
	PGHA_API_PATCH,
	PGHA_API_DELETE				/* /restart and /switchover: a scheduled one */
} PgHaApiMethod;

typedef enum PgHaApiEndpoint
{
	PGHA_EP_NONE = 0,
	/* health checks: Patroni's status JSON as body */
	PGHA_EP_PRIMARY,			/* / /primary /master /read-write */
	PGHA_EP_LEADER,				/* /leader */
	PGHA_EP_STANDBY_LEADER,		/* /standby-leader /standby_leader */
	PGHA_EP_REPLICA,			/* /replica */
	PGHA_EP_READ_ONLY,			/* /read-only */
	PGHA_EP_SYNC,				/* /sync /synchronous */
	PGHA_EP_ASYNC,				/* /async /asynchronous */
	PGHA_EP_READ_ONLY_SYNC,		/* /read-only-sync /read-only-synchronous */
	PGHA_EP_HEALTH,				/* /health */
	/* probes: status code only */
	PGHA_EP_LIVENESS,
	PGHA_EP_READINESS,
	/* documents */
	PGHA_EP_PATRONI,
	PGHA_EP_CLUSTER,
	PGHA_EP_HISTORY,
	PGHA_EP_CONFIG,
	PGHA_EP_METRICS,
	/* write endpoints (POST), plus PATCH on PGHA_EP_CONFIG */
	PGHA_EP_SWITCHOVER,
	PGHA_EP_FAILOVER,
	PGHA_EP_RESTART,
	PGHA_EP_RELOAD,
	PGHA_EP_REINITIALIZE
} PgHaApiEndpoint;

typedef struct PgHaApiTagFilter
{
	char		name[PGHA_API_MAX_PARAM_LEN];
	char		value[PGHA_API_MAX_PARAM_LEN];
} PgHaApiTagFilter;

/* A request that parsed. */
typedef struct PgHaApiRequest
{
	PgHaApiMethod method;
	PgHaApiEndpoint endpoint;
	bool		wants_body;		/* GET */
	bool		has_max_lag;	/* ?lag= */
	int64_t		max_lag;		/* bytes */
	bool		has_replication_state;	/* ?replication_state= */
	char		replication_state[PGHA_SHORT_LEN];
	int			ntag_filters;	/* ?tag_<name>=<value> */
	PgHaApiTagFilter tag_filters[PGHA_API_MAX_TAG_FILTERS];
} PgHaApiRequest;

/* An answer.  body is malloc'ed (free with pgha_api_response_free). */
typedef struct PgHaApiResponse
{
	int			status;
	const char *content_type;	/* static string; NULL when no body */
	char	   *body;
	size_t		body_len;
	bool		allow;			/* send an Allow header */
	const char *allow_methods;	/* its value; NULL: PGHA_API_ALLOW */
} PgHaApiResponse;

/*
 * Parse method and raw request URI (origin-form "/path?query" or
 * absolute-form "http://host/path?query", not yet percent-decoded).
 * Returns true with *req filled, or false with *resp holding the error
 * answer (400, 404, 405, 414; or 500 when out of memory).
 */
extern bool pgha_api_parse_request(const char *method, const char *uri,
								   PgHaApiRequest *req, PgHaApiResponse *resp);

/* Does the answer to req need the walsenders in the snapshot? */
extern bool pgha_api_needs_replication(const PgHaApiRequest *req);

/* The answer to a parsed request. */
extern void pgha_api_respond(const PgHaApiRequest *req,
							 const PgHaApiSnapshot *snap,
							 PgHaApiResponse *resp);

/* Both of the above.  snap may be NULL only for requests that fail to parse. */
extern void pgha_api_handle(const char *method, const char *uri,
							const PgHaApiSnapshot *snap,
							PgHaApiResponse *resp);

extern void pgha_api_response_free(PgHaApiResponse *resp);

/*
 * A size as Patroni's ?lag= takes it: bytes, or a number with a unit B,
 * kB, MB, GB, TB (1024-based, as PostgreSQL's memory units), blanks
 * allowed around.  False on anything else, negative values and overflow.
 */
extern bool pgha_api_parse_size(const char *s, int64_t *bytes);

/*
 * A replica's lag behind the leader: the leader's position is the newer of
 * the optime it published (has_optime) and the end of WAL its walsender
 * reported (latest_end, 0 when unknown).  False when neither is known.
 * Never negative.
 */
extern bool pgha_api_replica_lag(bool has_optime, int64_t optime,
								 int64_t latest_end, int64_t replayed,
								 int64_t *lag);

/*
 * Format a time (Unix epoch, microseconds) as Patroni prints PostgreSQL
 * timestamps: "2026-11-25 17:19:32.229033+00:00", in UTC, without the
 * fraction when it is zero.  Returns false when buf is too small.
 */
extern bool pgha_api_format_time(int64_t epoch_us, char *buf, size_t len);

/* ----- write endpoints */

#define PGHA_API_MAX_WRITE_BODY	(64 * 1024)	/* longer request bodies: 413 */
#define PGHA_API_ISO_LEN		40	/* "2026-11-25T20:00:00.123000+00:00" */

/* Is req one of the write requests (POST, DELETE, or PATCH /config)? */
extern bool pgha_api_is_write(const PgHaApiRequest *req);

/* A plain-text answer (Patroni answers its write endpoints in text). */
extern void pgha_api_text_response(PgHaApiResponse *resp, int status,
								   const char *text);

/* A JSON answer; json is copied. */
extern void pgha_api_json_response(PgHaApiResponse *resp, int status,
								   const char *json);

/*
 * May this request write?  configured is pg_ha.api_auth ("user:password",
 * "" when unset), authorization the request's Authorization header (NULL
 * when absent), loopback whether the client connects from 127.0.0.0/8 or
 * ::1.  Unset: loopback clients only (403 otherwise).  Set: HTTP basic
 * auth with exactly those credentials, compared in constant time (401
 * otherwise).  Returns 0 when allowed, else the status with a message.
 */
extern int	pgha_api_check_auth(const char *configured, const char *authorization,
								bool loopback, char *msg, size_t msglen);

/*
 * A loopback address: 127.0.0.0/8, ::1, ::ffff:127.0.0.0/104.  ipversion
 * 4 (addr: 4 bytes, network order) or 6 (16 bytes); anything else: false.
 */
extern bool pgha_api_is_loopback(int ipversion, const unsigned char *addr);

/* POST /switchover and /failover, as sent (empty strings: absent or null). */
typedef struct PgHaApiFailover
{
	char		leader[PGHA_NAME_LEN];
	char		candidate[PGHA_NAME_LEN];	/* "candidate", or "member" */
	char		scheduled_at[PGHA_API_ISO_LEN * 2];
	/*
	 * "force": pg_ha's own field (Patroni ignores it): a failover without a
	 * leader to a member outside the sync key, as pg_ha_failover(force).
	 */
	bool		force;
	/* filled by pgha_api_check_failover: scheduled_at normalized */
	char		scheduled_iso[PGHA_API_ISO_LEN];
	/* ... and true when accepted only by force (commits may be lost) */
	bool		unsafe;
} PgHaApiFailover;

/*
 * Parse the body of POST /switchover or /failover.  0, or 400 with msg:
 * not a JSON object, empty, a field not a string or null, too long.
 */
extern int	pgha_api_parse_failover(const char *body, size_t len,
									PgHaApiFailover *out, char *msg,
									size_t msglen);

/*
 * A switchover (switchover true) or failover against the cluster as read
 * from Consul: what Patroni's protocol requires of the body (a leader for
 * a switchover or a scheduled request, a candidate for a failover), then
 * the operator's rules that SQL and pg_ha_ctl apply too (operator_rules.h),
 * with Patroni's texts where Patroni has them, then the schedule.  now_ms:
 * epoch ms.  Returns 0 (r->scheduled_iso set when scheduled, r->unsafe
 * when accepted by force), else 400, 412 or 422 with msg.
 */
extern int	pgha_api_check_failover(const PgHaCluster *c, PgHaApiFailover *r,
									bool switchover, int64_t now_ms,
									char *msg, size_t msglen);

/* POST /restart */
typedef struct PgHaApiRestart
{
	bool		pending_only;	/* "restart_pending": true */
	char		schedule[PGHA_API_ISO_LEN * 2];	/* "" when not given */
	char		scheduled_iso[PGHA_API_ISO_LEN];	/* set by the check */
} PgHaApiRestart;

/* Parse the (optional) body of POST /restart.  0, or 400 with msg. */
extern int	pgha_api_parse_restart(const char *body, size_t len,
								   PgHaApiRestart *out, char *msg,
								   size_t msglen);

/*
 * Check a restart of member (this node) against the cluster.  0: write
 * the request (the restart/<member> value in buf); 200 with msg: nothing
 * to do (restart_pending and none pending); else 400, 409, 422 or 503
 * with msg.
 */
extern int	pgha_api_check_restart(const PgHaCluster *c, const char *member,
								   PgHaApiRestart *r, int64_t now_ms,
								   char *buf, size_t buflen,
								   char *msg, size_t msglen);

/*
 * DELETE /restart: this node's scheduled restart, as Patroni's
 * delete_future_restart() drops it.  0 with *index the ModifyIndex of
 * restart/<member> (to delete with check-and-set) when it holds a scheduled
 * request that has not started; else 404 "no restarts are scheduled".
 */
extern int	pgha_api_check_delete_restart(const PgHaCluster *c, const char *member,
										  uint64_t *index, char *msg,
										  size_t msglen);

/*
 * DELETE /switchover: Patroni's do_DELETE_switchover.  0 with *index the
 * failover key's ModifyIndex when it holds a scheduled request (a
 * switchover or failover); else 404 "no switchover is scheduled".
 */
extern int	pgha_api_check_delete_switchover(const PgHaCluster *c,
											 uint64_t *index, char *msg,
											 size_t msglen);

/*
 * POST /reinitialize: the optional body {"force": ...}, Patroni's
 * parse_bool() of it (true, "on", "yes", 1, ... ; anything else false).
 * 0, or 400 with msg when the body is not a JSON object.
 */
extern int	pgha_api_parse_reinitialize(const char *body, size_t len,
										bool *force, char *msg, size_t msglen);

/*
 * May member (this node) be cloned again from the leader?  0 with *leader
 * the leader's record to clone from; else 503 with Patroni's text ("Cluster
 * has no leader, can not reinitialize", "I am the leader, can not
 * reinitialize") or pg_ha's (the leader has no record to clone from).
 */
extern int	pgha_api_check_reinitialize(const PgHaCluster *c, const char *member,
										const PgHaMember **leader,
										char *msg, size_t msglen);

/*
 * PATCH /config: apply the JSON merge patch (Patroni's patch_config: null
 * removes a key, objects merge, anything else replaces) to config (the
 * config key's value, NULL when absent).  On success returns 0 with
 * *result (malloc'ed, compact JSON, free()) and *changed, and the
 * postgresql.parameters the patch sets in params (values as text: numbers
 * as written, booleans on/off; at most maxparams, *nparams of them) for
 * the caller to validate.  Else 400 (bad patch) or 500 (config unusable)
 * with msg.
 */
extern int	pgha_api_patch_config(const char *config, const char *patch,
								  size_t patchlen, char **result,
								  bool *changed, PgHaParam *params,
								  int maxparams, int *nparams,
								  char *msg, size_t msglen);

/* Format epoch ms as Patroni's ISO time: 2026-11-25T20:00:00.123000+00:00 */
extern bool pgha_api_iso_time(int64_t epoch_ms, char *buf, size_t len);

#endif							/* PG_HA_API_ROUTE_H */
