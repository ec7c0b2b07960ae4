/*-------------------------------------------------------------------------
 *
 * init.h
 *	  The node that pg_ha_ctl init creates or starts, shared by its files.
 *
 * init.c is the command: its options, the caller's environment, the
 * choice between bootstrap, clone and start (see its header comment);
 * init_bootstrap.c makes a new cluster (initdb, the replication role);
 * init_clone.c a replica (pg_basebackup from the leader or a clonefrom
 * replica); init_conf.c writes the node's settings (postgresql.conf and
 * pg_hba.conf, or a Debian cluster's conf.d); init_debian.c finds and
 * checks a Debian cluster (--debian); init_server.c starts the server
 * and connects to it.
 *
 * For init's files only: the other commands do not see InitNode.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CTL_INIT_H
#define PG_HA_CTL_INIT_H

#include "cluster.h"
#include "libpq-fe.h"
#include "pg_ha_ctl.h"

/* The node to create, from the options with their defaults applied. */
typedef struct InitNode
{
	const CtlOptions *opt;
	char	   *pgdata;			/* absolute */
	char		connect_host[256];
	int			connect_port;
	int			port;			/* of the server */
	const char *listen_addresses;
	const char *api_listen;
	const char *user;			/* replication role */
	char	   *passfile;		/* absolute */
	char	   *log_file;		/* absolute */
	char		slot[NAMEDATALEN];
	bool		write_port;		/* port = in the node's settings */

	/* --debian VERSION/NAME */
	bool		debian;
	char		deb_version[16];
	char		deb_name[64];
	char	   *deb_conf_file;	/* conf.d/99-pg_ha.conf */
	char	   *deb_hba_file;
	char	   *deb_preload;	/* its shared_preload_libraries, or NULL */
	int			deb_port;
} InitNode;

/* init.c */
extern char *init_absolute_path(const char *path);
extern void init_print_node(const InitNode *n);

/* init_bootstrap.c */
extern int	init_bootstrap(const InitNode *n);

/* init_clone.c */
extern int	init_clone_from_leader(const InitNode *n, const PgHaCluster *c);

/* init_conf.c */
extern void init_append_cluster_block(PQExpBuffer buf, const InitNode *n,
									  bool bootstrap);
extern void init_append_node_block(PQExpBuffer buf, const InitNode *n);
extern void init_append_hba_lines(PQExpBuffer buf, const InitNode *n);
extern bool init_append_to_datadir_file(const InitNode *n, const char *file,
										const char *text);
extern bool init_configure_debian(const InitNode *n, bool bootstrap);

/* init_debian.c */
extern void init_plan_debian(const CtlOptions *opt, InitNode *n);
extern bool init_debian_datadir_replaceable(const InitNode *n,
											const char *sysid);

/* init_server.c */
extern bool init_start_server(const InitNode *n);
extern PGconn *init_connect_local(const InitNode *n);
extern PGconn *init_wait_for_connection(const InitNode *n, const char *why);

#endif							/* PG_HA_CTL_INIT_H */
