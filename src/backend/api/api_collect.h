/*-------------------------------------------------------------------------
 *
 * api_collect.h
 *	  What the REST API's GET answers are made of (api_collect.c): the HA
 *	  worker's shared state and the server's own, taken at once.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_COLLECT_H
#define PG_HA_API_COLLECT_H

#include "datatype/timestamp.h"

#include "api_snapshot.h"

/* The snapshot; with_replication: the walsenders too (they cost more). */
extern void pgha_api_build_snapshot(PgHaApiSnapshot *s, bool with_replication);

/* loop_wait as the HA worker applies it (the config key's, else ours) */
extern int	pgha_api_loop_wait_ms(void);

/* A timestamp in microseconds since the Unix epoch. */
extern int64 pgha_api_epoch_us(TimestampTz t);

#endif							/* PG_HA_API_COLLECT_H */
