/*-------------------------------------------------------------------------
 *
 * config_patch.h
 *	  An edit of the config key: Patroni's patch_config (a JSON merge
 *	  patch).
 *
 * Pure and frontend-safe (libc and jansson): linked into the extension,
 * the unit tests and the fuzzers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CONFIG_PATCH_H
#define PG_HA_CONFIG_PATCH_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster.h"
#include "config_key.h"

/* longer patches: 400 (the REST API refuses longer bodies before, 413) */
#define PGHA_CONFIG_PATCH_MAX	(64 * 1024)

/*
 * PATCH /config: apply the JSON merge patch (Patroni's patch_config: null
 * removes a key, objects merge, anything else replaces) to config (the
 * config key's value, NULL when absent).  On success returns 0 with
 * *result (malloc'ed, compact JSON, free()) and *changed, and the
 * postgresql.parameters the patch sets in params (values as text: numbers
 * as written, booleans on/off; at most maxparams, *nparams of them) for
 * the caller to validate.  Else 400 (bad patch) or 500 (config unusable)
 * with msg.
 */
extern int	pgha_api_patch_config(const char *config, const char *patch,
								  size_t patchlen, char **result,
								  bool *changed, PgHaParam *params,
								  int maxparams, int *nparams,
								  char *msg, size_t msglen);

#endif							/* PG_HA_CONFIG_PATCH_H */
