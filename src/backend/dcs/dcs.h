/*-------------------------------------------------------------------------
 *
 * dcs.h
 *	  The distributed configuration store as the HA worker uses it.
 *
 * One implementation: Consul's HTTP API (dcs_consul.c).  Every call is
 * bounded by a timeout, returns false with a message in err on failure,
 * and never throws, except in a backend asked to cancel or terminate
 * (statement_timeout, pg_cancel_backend), which gets PostgreSQL's usual
 * error once the transfer is ended: the caller decides what a failure
 * means.  Messages never contain the ACL token.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_DCS_H
#define PG_HA_DCS_H

#include "cluster.h"
#include "consul_parse.h"

typedef struct DcsSettings
{
	const char *url;			/* http://host:port, no trailing slash */
	const char *token;			/* ACL token or "" */
	int			timeout_ms;		/* per request (blocking queries add their
								 * wait) */
} DcsSettings;

extern void dcs_global_init(void);
extern void dcs_init(void);
extern void dcs_shutdown(void);
extern void dcs_configure(const DcsSettings *settings);

/*
 * For a backend: libcurl ready, settings from the pg_ha.*
 * GUCs; and a key of this node's cluster, palloc'd.
 */
extern void dcs_connect(void);
extern char *dcs_cluster_key(const char *name);

/*
 * While a request waits for Consul, call serve() whenever fd is readable
 * (and at least once a second): the HA worker's REST API.  fd -1 and NULL:
 * nothing.
 */
extern void dcs_serve_while_waiting(int fd, void (*serve) (void));

/*
 * While a blocking read (dcs_wait_key) waits, call run() whenever pending()
 * says there is work: the REST API's write requests.  Their own requests to
 * Consul go through a second handle meanwhile.  NULL, NULL: nothing.
 */
extern void dcs_run_aside(bool (*pending) (void), void (*run) (void));

/* Agent TTL check that the node's session is bound to. */
extern bool dcs_check_register(const char *check_id, const char *name,
							   int ttl_ms, char *err, size_t errlen);
extern bool dcs_check_pass(const char *check_id, char *err, size_t errlen);
extern bool dcs_check_fail(const char *check_id, char *err, size_t errlen);

/* Sessions. */
extern bool dcs_session_create(const char *name, const char *check_id,
							   int ttl_s, int lock_delay_ms,
							   char *id, size_t idlen,
							   char *err, size_t errlen);
/* *ttl_ms (when not NULL): the TTL Consul has for an existing session, 0 unknown */
extern bool dcs_session_exists(const char *id, bool *exists, int *ttl_ms,
							   char *err, size_t errlen);
extern bool dcs_session_renew(const char *id, bool *exists,
							  char *err, size_t errlen);
extern bool dcs_session_destroy(const char *id, char *err, size_t errlen);

/* Keys.  query is appended after '?' (e.g. "cas=0", "acquire=<id>"). */
extern bool dcs_read_cluster(const char *prefix, PgHaCluster *out,
							 char *err, size_t errlen);
/* One key's raw value; *found false when it does not exist. */
extern bool dcs_kv_get_raw(const char *key, char **value, uint64_t *index,
						   bool *found, char *err, size_t errlen);
extern bool dcs_kv_put(const char *key, const char *value, const char *query,
					   bool *done, char *err, size_t errlen);
extern bool dcs_kv_delete(const char *key, const char *query, bool *done,
						  char *err, size_t errlen);

/*
 * One operation of leader_key.h (op: a PgHaLeaderOp) on "<prefix>leader",
 * as a Consul transaction.  *done false: Consul rolled it back (the key is
 * not as the operation expects; why in err).  *new_index: the key's
 * ModifyIndex after a write.
 */
extern bool dcs_leader_txn(const char *prefix, int op, const char *name,
						   const char *session, uint64_t index, uint64_t stamp,
						   bool *done, uint64_t *new_index,
						   char *err, size_t errlen);

/*
 * GET another member's api_url (its /patroni): the WAL position it has
 * now, fresher than the one it published.  Never sends the Consul token.
 */
extern bool dcs_member_status(const char *api_url, int timeout_ms,
							  PgHaFreshPosition *out, char *err, size_t errlen);

/*
 * Blocking query on every key of the cluster (prefix): returns when its
 * index moves past *index, when wait_ms passes, or early when a signal or
 * the latch asks the worker to look again.  *delivered true: Consul
 * answered, and out holds the cluster as dcs_read_cluster reads it.
 */
extern bool dcs_wait_cluster(const char *prefix, uint64_t *index, int wait_ms,
							 PgHaCluster *out, bool *delivered,
							 char *err, size_t errlen);

#endif							/* PG_HA_DCS_H */
