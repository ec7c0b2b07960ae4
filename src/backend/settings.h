/*-------------------------------------------------------------------------
 *
 * settings.h
 *	  The pg_ha.* settings, as the files of the extension read them, and
 *	  the constants they share.
 *
 * Declarations only: settings.c defines the variables with their boot
 * values, pg_ha.c defines the settings themselves (_PG_init), checks and
 * assigns them.  A file that reads a setting includes this header, not
 * pg_ha.h, so that what _PG_init calls (the DCS client, the REST API's TLS
 * check, fencing) never includes pg_ha.c's header back.  Plain C types
 * only: the unit tests see it through callbacks.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_SETTINGS_H
#define PG_HA_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#define PG_HA_VERSION "0.2.0"

/*
 * The operator's commands run on events, each the suffix of its setting:
 * pg_ha.on_start ... (Patroni's postgresql.callbacks, callbacks.h).
 */
typedef enum PgHaCallback
{
	PGHA_CB_NONE = -1,
	PGHA_CB_ON_START = 0,
	PGHA_CB_ON_STOP,
	PGHA_CB_ON_RESTART,
	PGHA_CB_ON_RELOAD,
	PGHA_CB_ON_ROLE_CHANGE
} PgHaCallback;

#define PGHA_CB_NCALLBACKS	5

extern char *pg_ha_cluster;
extern char *pg_ha_node_name;
extern char *pg_ha_namespace;
extern char *pg_ha_consul_url;
extern char *pg_ha_consul_token;
extern char *pg_ha_connect_address;
extern char *pg_ha_api_listen;
extern char *pg_ha_replication_user;
extern char *pg_ha_passfile;
extern int	pg_ha_ttl;			/* ms */
extern int	pg_ha_loop_wait;	/* ms */
extern int	pg_ha_retry_timeout;	/* ms */
extern int	pg_ha_lock_delay;	/* ms */
extern int	pg_ha_member_slots_ttl;	/* ms */
extern bool pg_ha_nofailover;
extern bool pg_ha_nosync;
extern bool pg_ha_noloadbalance;
extern bool pg_ha_clonefrom;
extern int	pg_ha_failover_priority;
extern char *pg_ha_tags;		/* JSON object text; checked */
extern char *pg_ha_restart_command;	/* "" : pg_ctl restart */

/* the REST API's credentials, "user:password"; never logged */
extern char *pg_ha_api_auth;

/* the REST API's TLS (api_tls.c) */
extern char *pg_ha_api_certfile;
extern char *pg_ha_api_keyfile;
extern char *pg_ha_api_cafile;

/* the callbacks' commands, indexed by PgHaCallback (callbacks.c) */
extern char *pg_ha_callback_command[PGHA_CB_NCALLBACKS];

/* HA is active when the node belongs to a cluster. */
static inline bool
pg_ha_active(void)
{
	return pg_ha_cluster != NULL && pg_ha_cluster[0] != '\0';
}

#endif							/* PG_HA_SETTINGS_H */
