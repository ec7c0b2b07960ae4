/*-------------------------------------------------------------------------
 *
 * member_record.h
 *	  The leader's record of a member whose server stopped.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_MEMBER_RECORD_H
#define PG_HA_MEMBER_RECORD_H

#include "cluster.h"

/*
 * Once per round of the HA worker, after a good read of the cluster c:
 * remember the live members, and when this node holds the leader key
 * (leader), write a stopped record for each member whose record vanished
 * since an earlier read.  prefix is "<namespace>/<cluster>/", self this
 * node's name, ttl_ms the ttl in force.
 */
extern void pgha_note_members(const char *prefix, const PgHaCluster *c,
							  const char *self, bool leader, int ttl_ms);

#endif							/* PG_HA_MEMBER_RECORD_H */
