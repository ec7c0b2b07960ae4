/*-------------------------------------------------------------------------
 *
 * sync.h
 *	  Synchronous mode on the leader: the synchronous standby it names in
 *	  synchronous_standby_names and in the sync key, changed in an order
 *	  that never loses an acknowledged commit (the sync plan, sync_plan.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_SYNC_H
#define PG_HA_SYNC_H

#include "cluster.h"

/* One round of the leader: pick the standby, update the setting and key. */
extern void pgha_sync_leader_round(const PgHaCluster *cluster);

/*
 * Before a standby promotes in synchronous mode: the sync key names it as
 * the leader with no synchronous standby, and synchronous_standby_names is
 * '*' (strict) or empty, in force.  False: do not promote in this round.
 */
extern bool pgha_sync_before_promote(const PgHaCluster *cluster);

#endif							/* PG_HA_SYNC_H */
