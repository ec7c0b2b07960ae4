/*-------------------------------------------------------------------------
 *
 * settings.c
 *	  The variables of the pg_ha.* settings, with their boot values (see
 *	  settings.h).
 *
 * Definitions only: defining the settings, checking and assigning their
 * values is pg_ha.c's (_PG_init), using them the modules'.  Nothing here
 * includes a module of the extension.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "settings.h"

char	   *pg_ha_cluster = NULL;
char	   *pg_ha_node_name = NULL;
char	   *pg_ha_namespace = NULL;
char	   *pg_ha_consul_url = NULL;
char	   *pg_ha_consul_token = NULL;
char	   *pg_ha_connect_address = NULL;
char	   *pg_ha_api_listen = NULL;
char	   *pg_ha_replication_user = NULL;
char	   *pg_ha_passfile = NULL;
int			pg_ha_ttl = 10000;
int			pg_ha_loop_wait = 2000;
int			pg_ha_retry_timeout = 3000;
int			pg_ha_lock_delay = 0;
int			pg_ha_member_slots_ttl = 30 * 60 * 1000;
char	   *pg_ha_restart_command = NULL;
bool		pg_ha_nofailover = false;
/* Patroni's other tags, published in the member record (pgha_local_tags) */
bool		pg_ha_nosync = false;
bool		pg_ha_noloadbalance = false;
bool		pg_ha_clonefrom = false;
int			pg_ha_failover_priority = 1;
char	   *pg_ha_tags = NULL;
/* REST API credentials "user:password"; never logged */
char	   *pg_ha_api_auth = NULL;
/* REST API TLS (api_tls.c) */
char	   *pg_ha_api_certfile = NULL;
char	   *pg_ha_api_keyfile = NULL;
char	   *pg_ha_api_cafile = NULL;
/* commands run on events, Patroni's callbacks (callbacks.c) */
char	   *pg_ha_callback_command[PGHA_CB_NCALLBACKS];
