/*-------------------------------------------------------------------------
 *
 * conf_file.h
 *	  pg_ha.conf, the configuration file the HA worker owns: the cluster's
 *	  parameters from the config key, synchronous_standby_names as the
 *	  leader sets it, and the upstream a standby follows.  Its one writer.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CONF_FILE_H
#define PG_HA_CONF_FILE_H

#include "cluster.h"
#include "sync_plan.h"

/*
 * Write pg_ha.conf so that the server follows leader (NULL: no upstream, as
 * on the leader); reloads the postmaster when the content changed.
 * Returns true when the file changed.
 */
extern bool pgha_write_managed_conf(const PgHaMember *leader,
									const PgHaCluster *cluster);

/*
 * The conninfo that reaches leader as a replication client (dbname NULL:
 * with this node's application_name instead); palloc'd, NULL when its
 * conn_url is bad.
 */
extern char *pgha_leader_conninfo(const PgHaMember *leader, const char *dbname);

/* Does a changed setting wait for a restart (pg_settings.pending_restart)? */
extern bool pgha_pending_restart(void);

/* The last good config key's JSON this node saw, or NULL. */
extern const char *pgha_last_good_config(void);

/*
 * synchronous_standby_names as pg_ha.conf sets it, the state of the sync
 * plan (sync_plan.h): read from the setting in force until pg_ha sets it.
 */
extern const PgHaSyncSetting *pgha_conf_sync_setting(void);

/* Set it to names, not in force yet, and write pg_ha.conf. */
extern void pgha_conf_set_sync_names(const PgHaSyncNames *names,
									 const PgHaCluster *cluster);

/* It is in force since the leader flushed up to lsn. */
extern void pgha_conf_sync_in_force(int64_t lsn);

/* Synchronous mode off: pg_ha.conf sets none; read again when it is on. */
extern void pgha_conf_forget_sync_names(void);

#endif							/* PG_HA_CONF_FILE_H */
