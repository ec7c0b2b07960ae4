/*-------------------------------------------------------------------------
 *
 * api.h
 *	  The REST API worker: Patroni's health checks and status for HAProxy.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_H
#define PG_HA_API_H

#include "fmgr.h"

/* Register the API worker; from _PG_init, when pg_ha is active. */
extern void pgha_api_register(void);

extern PGDLLEXPORT void pg_ha_api_main(Datum main_arg);

#endif							/* PG_HA_API_H */
