/*-------------------------------------------------------------------------
 *
 * restart.h
 *	  This node's restart request, carried out by the HA worker
 *	  (restart.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_RESTART_H
#define PG_HA_RESTART_H

#include "ha_worker.h"

/*
 * Once per round that read the cluster: this node's restart/<member>
 * request started, waited for, given up or removed (restart_decide.h).
 */
extern void pgha_serve_restart_request(HaWorker *w, const HaLocalState *local);

#endif							/* PG_HA_RESTART_H */
