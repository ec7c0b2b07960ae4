/*-------------------------------------------------------------------------
 *
 * node_state.h
 *	  The node as the HA worker's round sees it: its local state and its
 *	  member record (node_state.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_NODE_STATE_H
#define PG_HA_NODE_STATE_H

#include "ha_worker.h"

/* host:port that the others reach this server at (pg_ha.connect_address) */
extern void pgha_connect_address(char *buf, size_t len);

/* The node's state for ha_decide(), read now. */
extern void pgha_read_local_state(HaWorker *w, HaLocalState *local);

/* Epoch ms of this server's start: tells a restarted server from the old. */
extern int64 pgha_server_start_ms(void);

/* This node's member record, as it would be published now. */
extern void pgha_build_member(HaWorker *w, const HaLocalState *local,
							  PgHaMember *m);

#endif							/* PG_HA_NODE_STATE_H */
