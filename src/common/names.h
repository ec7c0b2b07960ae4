/*-------------------------------------------------------------------------
 *
 * names.h
 *	  The names pg_ha puts into Consul keys, URLs and replication slots,
 *	  and the host and port of a member's connection URL.
 *
 * Pure C (libc only).  A name that passes pgha_valid_name() may go into a
 * key path, a URL or a JSON string without escaping.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_NAMES_H
#define PG_HA_NAMES_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster_limits.h"

/*
 * Is s a valid cluster, namespace, member or tag name (used as a key
 * part): letters, digits, "_", "." and "-", at most PGHA_NAME_LEN - 1 of
 * them, not "." or ".."?
 */
extern bool pgha_valid_name(const char *s);

/* Physical slot name of a member: lower case, [a-z0-9_] only. */
extern void pgha_slot_name(const char *member, char *slot, size_t len);

/* host and port out of postgres://host:port/db; false when malformed */
extern bool pgha_split_conn_url(const char *url, char *host, size_t hostlen,
								int *port);

#endif							/* PG_HA_NAMES_H */
