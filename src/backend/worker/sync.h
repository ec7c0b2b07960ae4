/*-------------------------------------------------------------------------
 *
 * sync.h
 *	  Synchronous mode on the leader: the synchronous standby it names in
 *	  synchronous_standby_names and in the sync key, changed in an order
 *	  that never loses an acknowledged commit.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_SYNC_H
#define PG_HA_SYNC_H

#include "cluster.h"
#include "ha_decide.h"

/*
 * The value pg_ha.conf gives synchronous_standby_names, or NULL when it
 * sets none (synchronous mode off: postgresql.conf's value applies).
 */
extern const char *pgha_sync_standby_names(const PgHaCluster *cluster);

/* One round of the leader: pick the standby, update the setting and key. */
extern void pgha_sync_leader_round(const PgHaCluster *cluster);

/*
 * Before a standby promotes in synchronous mode: the sync key names it as
 * the leader with no synchronous standby, and synchronous_standby_names is
 * '*' (strict) or empty, in force.  False: do not promote in this round.
 */
extern bool pgha_sync_before_promote(const PgHaCluster *cluster);

/* The leader's walsenders: who streams, flushed up to where.  Returns how many. */
extern int	pgha_read_standbys(HaSyncCandidate *out, int max);

/*
 * On the leader, cluster's positions brought up to date from our own WAL and
 * walsenders before a switchover is checked (ha_apply_live_positions).
 */
extern void pgha_apply_live_positions(PgHaCluster *cluster);

#endif							/* PG_HA_SYNC_H */
