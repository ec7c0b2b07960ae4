/*-------------------------------------------------------------------------
 *
 * sync_key.h
 *	  The sync key of synchronous mode, {"leader": .., "sync_standby":
 *	  "a,b" or null}: its value as Patroni writes it, and what it says of
 *	  the members (who may take over, how the listings label them).
 *
 * Pure C (libc and jansson only, no PostgreSQL headers).  The listing
 * reads the key into the cluster model (cluster.h); the settings of
 * synchronous mode live in the config key (config_key.h); when to change
 * the key is the HA worker's (sync.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_SYNC_KEY_H
#define PG_HA_SYNC_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster_limits.h"
#include "member.h"

struct PgHaCluster;

/*
 * The sync key's value as Patroni writes it: {"leader": leader,
 * "sync_standby": names sorted and joined by commas, or null when n is 0}.
 * Length, or -1 when buf is too small.
 */
extern int	pgha_sync_json(const char *leader,
						   const char (*standbys)[PGHA_NAME_LEN], int n,
						   char *buf, size_t buflen);

/*
 * Is synchronous mode in force with a readable sync key that names a
 * leader (Patroni's sync_mode_is_active)?  Then only the members the key
 * names may take over automatically.
 */
extern bool pgha_sync_active(const struct PgHaCluster *c);

/* Does the sync key name member as a synchronous standby? */
extern bool pgha_sync_is_standby(const struct PgHaCluster *c,
								 const char *member);

/* ... as a synchronous standby or as the leader (Patroni's matches())? */
extern bool pgha_sync_matches(const struct PgHaCluster *c,
							  const char *member);

/*
 * Synchronous mode and an operator's switchover or failover to candidate
 * (NULL: pg_ha chooses): NULL when allowed, else why not (a phrase).
 * While a leader runs only a synchronous standby may take over from it
 * (Patroni's rule; its leader would drop the request anyway).  Without a
 * leader, another member may lack acknowledged commits: refused unless
 * force.
 */
extern const char *pgha_sync_candidate_refusal(const struct PgHaCluster *c,
											   const char *candidate,
											   bool has_leader, bool force);

/*
 * The member's role as patronictl list shows it: "Leader", "Sync Standby"
 * (synchronous mode, named in the sync key of the current leader) or
 * "Replica".  api_style gives Patroni's /cluster spelling instead
 * ("leader", "sync_standby", "replica").
 */
extern const char *pgha_member_role_label(const struct PgHaCluster *c,
										  const PgHaMember *m, bool api_style);

/*
 * The role of a stopped member as the listings show it: as
 * pgha_member_role_label(), but never the leader (a record no session
 * holds is no running server).
 */
extern const char *pgha_stopped_role_label(const struct PgHaCluster *c,
										   const PgHaMember *m,
										   bool api_style);

#endif							/* PG_HA_SYNC_KEY_H */
