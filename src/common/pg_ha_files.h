/*-------------------------------------------------------------------------
 *
 * pg_ha_files.h
 *	  The files pg_ha keeps in a data directory, and their formats where the
 *	  HA worker and pg_ha_ctl both read or write them.  One place for both,
 *	  so that they cannot drift apart.
 *
 * Defines only: included by the extension (backend) and by pg_ha_ctl
 * (frontend) alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_FILES_H
#define PG_HA_FILES_H

/*
 * The settings the HA worker manages (primary_conninfo, the cluster's
 * parameters...), read through this line in postgresql.conf or a
 * conf.d file that pg_ha_ctl init writes.
 */
#define PGHA_MANAGED_CONF		"pg_ha.conf"
#define PGHA_INCLUDE_LINE		"include_if_exists = 'pg_ha.conf'"

/*
 * "<session id> <cluster> <node name>": the Consul session a quick restart
 * takes up again; pg_ha_ctl release ends it, and a clone leaves it behind.
 */
#define PGHA_SESSION_FILE		"pg_ha.session"

/* the last config key this node could use */
#define PGHA_LAST_CONFIG_FILE	"pg_ha.config.json"

/*
 * The whole content of a placeholder history file (timeline.c): written by
 * the HA worker before a promotion, removed by pg_ha_ctl rejoin.
 */
#define PGHA_TIMELINE_PLACEHOLDER \
	"# pg_ha: a placeholder for a timeline ID that another node took; this node never ran on it\n"

#endif							/* PG_HA_FILES_H */
