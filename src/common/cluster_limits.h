/*-------------------------------------------------------------------------
 *
 * cluster_limits.h
 *	  The fixed sizes of the cluster model's fields: names, URLs, session
 *	  IDs, messages, and how many members and synchronous standbys a
 *	  cluster holds.
 *
 * Defines only.  Every struct that src/common fills from Consul's data is
 * fixed-size, so that it fits in shared memory and a parser never
 * allocates what outlives the call; these are the sizes its headers
 * share.  A size that one concern alone uses stays in that concern's
 * header (member.h, config_key.h, history.h...).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CLUSTER_LIMITS_H
#define PG_HA_CLUSTER_LIMITS_H

#define PGHA_NAME_LEN		64	/* member, cluster and namespace names */
#define PGHA_URL_LEN		256
#define PGHA_SESSION_LEN	40	/* Consul session UUID (36) + NUL */
#define PGHA_SHORT_LEN		32	/* state, role, version, sysid */
#define PGHA_ERR_LEN		256
#define PGHA_MAX_MEMBERS	32
#define PGHA_CONFIG_LEN		8192	/* the config key's JSON kept as text */
#define PGHA_MAX_SYNC		8		/* synchronous standbys named at once */

#endif							/* PG_HA_CLUSTER_LIMITS_H */
