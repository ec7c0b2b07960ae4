/*-------------------------------------------------------------------------
 *
 * cluster.h
 *	  The cluster model as pg_ha sees it in Consul: everything under
 *	  <namespace>/<cluster>/, read from one recursive KV listing.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers): every function
 * here parses outside data into fixed-size structs, never allocates memory
 * that outlives the call, and reports bad input through an error buffer.
 * That keeps it usable from the backend, from the CLI, from unit tests and
 * from fuzzers alike.
 *
 * The model only: the formats of the keys' values, both ways, have headers
 * of their own, one per concern, which a file includes for what it uses:
 * member.h (member records and tags), config_key.h, sync_key.h, history.h
 * (history and promotion keys), restart_order.h, member_tracker.h,
 * consul_parse.h (Consul's other answers), names.h, iso_time.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CLUSTER_H
#define PG_HA_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_limits.h"
#include "member.h"

#define PGHA_DEFAULT_MAX_LAG	1048576 /* Patroni's default, bytes */

/* A restart request: restart/<member>, written by pg_ha_restart() & co. */
typedef struct PgHaRestartRequest
{
	char		member[PGHA_NAME_LEN];
	bool		pending_only;
	bool		scheduled;
	int64_t		scheduled_ms;
	uint64_t	modify_index;
	char		wait_for[PGHA_NAME_LEN];	/* restart after this member */
	bool		any_order;	/* skip the hot standby order check */
	int64_t		restarting;	/* start time (epoch ms) of the server
							 * being restarted; 0: not started */
} PgHaRestartRequest;

/*
 * A member's HA worker gives a restart it started up after this long (a
 * restart_command that failed, pg_ctl that gave up: pg_ctl restart -t 120,
 * and more), and removes the request.
 */
#define PGHA_RESTART_GIVE_UP_MS	180000

/* Everything under <namespace>/<cluster>/ that pg_ha uses. */
typedef struct PgHaCluster
{
	uint64_t	index;			/* X-Consul-Index of the listing */

	bool		has_initialize;
	char		initialize[PGHA_SHORT_LEN];	/* system identifier, decimal */

	bool		has_leader;
	char		leader[PGHA_NAME_LEN];
	char		leader_session[PGHA_SESSION_LEN];	/* empty: key not locked */
	uint64_t	leader_modify_index;
	int			leader_ttl_ms;	/* the holder's ttl, from the key's Flags
								 * (leader_key.h); 0 when not given */
	bool		leader_released;	/* the last holder's release marker is
									 * there (leader_key.h) */

	bool		has_config;		/* the config key exists */
	bool		config_valid;	/* ... and parsed as a JSON object */
	bool		paused;			/* config.pause */
	char		config_json[PGHA_CONFIG_LEN];	/* "" when absent or too large */
	char		history_json[PGHA_CONFIG_LEN];	/* the history key, or "" */
	int64_t		max_lag_on_failover;	/* config.maximum_lag_on_failover,
										 * bytes */

	/* synchronous mode: the config key's switches (Patroni's names) */
	bool		sync_mode;		/* config.synchronous_mode */
	bool		sync_mode_unreadable;	/* ... is there, but not a boolean */
	bool		sync_mode_strict;	/* config.synchronous_mode_strict */
	int			sync_node_count;	/* config.synchronous_node_count, 1.. */

	/*
	 * The sync key, {"leader": .., "sync_standby": "a,b" or null}: the
	 * members that have every commit the leader acknowledged.  has_sync is
	 * true when it exists and could be read (sync_leader may still be "").
	 */
	bool		sync_key_exists;
	uint64_t	sync_modify_index;	/* for cas; meaningful when it exists */
	bool		has_sync;
	char		sync_leader[PGHA_NAME_LEN];
	int			nsync;
	char		sync_standby[PGHA_MAX_SYNC][PGHA_NAME_LEN];

	bool		has_optime;
	int64_t		optime;			/* status.optime or optime/leader */

	/*
	 * The promotion key, {"timeline": N, "member": ".."}: the highest
	 * timeline ID a promotion in this cluster was started on, written
	 * before the promotion (timeline.c).  promotion_index is the key's
	 * ModifyIndex whatever it holds (0: no key), for check-and-set.
	 */
	bool		has_promotion;
	uint32_t	promotion_timeline;
	char		promotion_member[PGHA_NAME_LEN];
	uint64_t	promotion_index;

	bool		has_failover;	/* failover key with a non-empty object */
	char		failover_leader[PGHA_NAME_LEN];	/* "" when not given */
	char		failover_member[PGHA_NAME_LEN];	/* "" when not given */
	bool		failover_scheduled;
	int64_t		failover_scheduled_ms;	/* epoch ms of scheduled_at */
	uint64_t	failover_modify_index;
	/*
	 * The key's ModifyIndex whatever it holds, 0 when it does not exist: a
	 * new request replaces a key that holds none ({} is what patronictl
	 * flush writes) with a check-and-set on this index.
	 */
	uint64_t	failover_key_index;

	int			nmembers;
	PgHaMember	members[PGHA_MAX_MEMBERS];	/* live: held by a session */

	/*
	 * Stopped members: members/<name> records that no session holds (the
	 * leader writes one in place of a record that vanished, see
	 * member_record.c).  For the listings only (pg_ha_status, /cluster,
	 * pg_ha_ctl list): no decision ever reads them, so a stopped member is
	 * never a candidate, a slot owner or a synchronous standby.
	 */
	int			nstopped;
	PgHaMember	stopped[PGHA_MAX_MEMBERS];

	/* restart requests: restart/<member> = {"pending_only":, "scheduled_at":} */
	int			nrestarts;
	PgHaRestartRequest restarts[PGHA_MAX_MEMBERS];

	/* bad records skipped while parsing (e.g. a member with bad JSON) */
	int			nwarnings;
	char		warning[PGHA_ERR_LEN];	/* the first one */
} PgHaCluster;

/*
 * Parse the answer of GET /v1/kv/<prefix>?recurse (a JSON array of KV
 * entries).  prefix is "<namespace>/<cluster>/".  Keys outside the prefix
 * are ignored; a bad member record is skipped with a warning.  Returns
 * true and fills *out (zeroed first, index left to the caller) on success;
 * false with errbuf set when the body as a whole is not a KV listing, in
 * which case *out is left untouched.
 */
extern bool pgha_parse_kv_listing(const char *body, size_t len,
								  const char *prefix, PgHaCluster *out,
								  char *errbuf, size_t errlen);

/* The member named name, or NULL. */
extern const PgHaMember *pgha_find_member(const PgHaCluster *c,
										  const char *name);

/* The stopped member named name (a record no session holds), or NULL. */
extern const PgHaMember *pgha_find_stopped_member(const PgHaCluster *c,
												  const char *name);

/*
 * The failover key's value, Patroni's format: {"leader": .., "member": ..,
 * "scheduled_at": ..}, each only when not NULL.  Length, or -1.
 */
extern int	pgha_failover_request_json(const char *leader, const char *member,
									   const char *scheduled_at,
									   char *buf, size_t buflen);

#endif							/* PG_HA_CLUSTER_H */
