/*-------------------------------------------------------------------------
 *
 * api_write.h
 *	  The REST API's write requests: bodies and checks.
 *
 * POST /switchover /failover /restart /reinitialize, DELETE /switchover
 * and /restart: each body parsed into a struct, then checked against the
 * cluster as read from Consul.  The functions answer with a status code
 * and Patroni's text; api_action.c carries an accepted request out
 * (Consul, the postmaster).  The merge patch of PATCH /config is
 * config_patch.h's, the credentials api_request.h's.
 *
 * Pure: libc and jansson, no PostgreSQL, no I/O.  What this file is not
 * for: changing anything.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_WRITE_H
#define PG_HA_API_WRITE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "api_request.h"
#include "cluster.h"

#define PGHA_API_MAX_WRITE_BODY	(64 * 1024)	/* longer request bodies: 413 */
#define PGHA_API_ISO_LEN		40	/* "2026-11-25T20:00:00.123000+00:00" */

/* Is req one of the write requests (POST, DELETE, or PATCH /config)? */
extern bool pgha_api_is_write(const PgHaApiRequest *req);

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
 * request that has not started (pgha_rule_scheduled_restart(), the rule
 * pg_ha_ctl flush follows too); else 404 "no restarts are scheduled".
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
 * Format epoch ms as Patroni's ISO time: 2026-11-25T20:00:00.123000+00:00
 * (the schedule of a request, as written to Consul).
 */
extern bool pgha_api_iso_time(int64_t epoch_ms, char *buf, size_t len);

#endif							/* PG_HA_API_WRITE_H */
