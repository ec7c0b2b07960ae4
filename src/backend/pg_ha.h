/*-------------------------------------------------------------------------
 *
 * pg_ha.h
 *	  Settings and entry points shared by the files of the extension.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_H
#define PG_HA_H

#define PG_HA_VERSION "0.2.0"

/* GUCs (pg_ha.c) */
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

/* HA is active when the node belongs to a cluster. */
static inline bool
pg_ha_active(void)
{
	return pg_ha_cluster != NULL && pg_ha_cluster[0] != '\0';
}

/* pg_ha.c */
extern void pgha_register_worker(const char *function, const char *name);

/* Tagged nofailover: pg_ha.nofailover, or pg_ha.failover_priority 0. */
extern bool pgha_local_nofailover(void);

/* This node's tags into its member record (cluster.h's PgHaMember). */
struct PgHaMember;
extern void pgha_local_tags(struct PgHaMember *m);

/*
 * This node's tags object as its member record carries it, into buf (for
 * the REST API: PgHaApiSnapshot.tags_json).  Length, or -1.
 */
extern int	pgha_local_tags_json(char *buf, size_t len);

/* ha_loop.c */
extern PGDLLEXPORT void pg_ha_worker_main(Datum main_arg);

/* fence.c */
extern void pgha_fence_init(void);
extern int	pgha_terminate_client_backends(void);

/* Is the backend with this pid running a statement (not idle, not gone)? */
extern bool pgha_backend_running(pid_t pid);
extern bool pgha_kill_client_backends(int timeout_ms);

#endif							/* PG_HA_H */
