/*-------------------------------------------------------------------------
 *
 * pg_ha_ctl.h
 *	  Declarations shared by the files of pg_ha_ctl.
 *
 * pg_ha_ctl.c parses the command line and dispatches; consul.c reads the
 * cluster from Consul; util.c runs the server's tools and handles files,
 * quoting and the password file; init.c and rejoin.c are the node
 * lifecycle commands.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CTL_H
#define PG_HA_CTL_H

#include "cluster.h"
#include "pqexpbuffer.h"

#define PG_HA_CTL_VERSION "0.1.0"

/* files of a data directory that pg_ha_ctl knows about */
#define PGHA_MANAGED_CONF_FILE	"pg_ha.conf"
#define PGHA_SESSION_FILE		"pg_ha.session"
#define PGHA_INCLUDE_LINE		"include_if_exists = 'pg_ha.conf'"

/* Every option of every command; NULL when not given. */
typedef struct CtlOptions
{
	/* cluster */
	const char *cluster;
	const char *namespace;
	const char *consul_url;
	const char *consul_token;	/* PG_HA_CONSUL_TOKEN only */
	const char *format;

	/* node */
	const char *pgdata;
	const char *node_name;
	const char *connect_address;
	const char *api_listen;
	const char *port;
	const char *listen_addresses;
	const char *replication_user;
	const char *passfile;
	const char *log_file;
	const char **settings;		/* --set name=value, in order */
	int			nsettings;

	/* rejoin */
	const char *source_conninfo;
	int			timeout;		/* seconds */

	/* release (run by the HA worker) */
	long		postmaster_pid;
	const char *session;
	const char *check_id;
	int			ttl_ms;
} CtlOptions;

/* pg_ha_ctl.c */
extern const char *progname;

/* consul.c */

/*
 * Read everything under <namespace>/<cluster>/ into *c.  Returns false,
 * with the error logged, when Consul cannot be read; *found tells whether
 * Consul holds any key of the cluster (false: a cluster never seen).
 */
typedef struct CtlBody
{
	char	   *data;
	size_t		len;
} CtlBody;

extern bool ctl_read_cluster(const CtlOptions *opt, PgHaCluster *c,
							 bool *found);
extern long ctl_http(const CtlOptions *opt, const char *method,
					 const char *path, const char *request, CtlBody *body);

/* util.c */
extern void ctl_set_tool_dir(const char *argv0);
extern const char *ctl_tool(const char *name);
extern int	ctl_run(const char *const *argv, PQExpBuffer capture);
extern const char *ctl_exit_text(int rc);
extern void ctl_print_command(FILE *out, const char *prefix,
							  const char *const *argv);

extern bool ctl_file_exists(const char *path);
extern char *ctl_read_file(const char *path, size_t *len);
extern bool ctl_write_file(const char *path, const char *content, int mode,
						   bool append);
extern bool ctl_copy_file(const char *src, const char *dst);

extern void ctl_append_conf_value(PQExpBuffer buf, const char *name,
								  const char *value);
extern void ctl_append_conninfo_value(PQExpBuffer buf, const char *keyword,
									  const char *value);
extern void ctl_slot_name(const char *node, char *slot, size_t len);
extern bool ctl_split_host_port(const char *s, bool host_required,
								char *host, size_t hostlen, int *port);
extern bool ctl_split_conn_url(const char *url, char *host, size_t hostlen,
							   int *port);
extern bool ctl_valid_role_name(const char *s);
extern bool ctl_valid_setting(const char *s, char *name, size_t namelen,
							  const char **value);

extern int	ctl_passfile_lookup(const char *path, const char *user,
								char **password);
extern bool ctl_passfile_add(const char *path, const char *user,
							 const char *password);
extern bool ctl_random_password(char *buf, size_t len);

extern bool ctl_server_running(const char *pgdata);
extern bool ctl_read_sysid(const char *pgdata, char *sysid, size_t len);

/* init.c and rejoin.c */
extern int	cmd_init(CtlOptions *opt);
extern int	cmd_rejoin(CtlOptions *opt);
extern int	cmd_release(CtlOptions *opt);

#endif							/* PG_HA_CTL_H */
