/*-------------------------------------------------------------------------
 *
 * pg_ha_ctl.h
 *	  Declarations shared by the files of pg_ha_ctl.
 *
 * pg_ha_ctl.c parses the command line and dispatches; consul.c reads and
 * writes the cluster's keys in Consul; util.c runs the server's tools and
 * handles files, quoting and the password file; init.c and rejoin.c are
 * the node lifecycle commands; show.c the read-only operator commands
 * (list, topology, history) and remove-member, which forgets a stopped
 * member, and table.c their output forms; operator.c
 * the commands that change the cluster (switchover, failover, flush,
 * pause, resume); config.c the cluster-wide configuration and the
 * members' servers (show-config, edit-config, restart, reload); reinit.c
 * reinit and remove, query.c query and dsn, as patronictl has them.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CTL_H
#define PG_HA_CTL_H

#include "cluster.h"
#include "pg_ha_files.h"
#include "pqexpbuffer.h"

#define PG_HA_CTL_VERSION "0.2.0"

/* output forms of list, topology, history and query */
typedef enum CtlFormat
{
	CTL_FORMAT_TABLE,
	CTL_FORMAT_JSON,
	CTL_FORMAT_YAML,
	CTL_FORMAT_TSV				/* query only */
} CtlFormat;

/* Every option of every command; NULL when not given. */
typedef struct CtlOptions
{
	/* cluster */
	const char *cluster;
	const char *namespace;
	const char *consul_url;
	const char *consul_token;	/* PG_HA_CONSUL_TOKEN only */
	const char *format;
	CtlFormat	fmt;

	bool		format_given;	/* --format on the command line */

	/* list, topology: redraw every watch seconds when > 0 */
	double		watch;
	bool		extended;		/* list -e: Pending restart, Scheduled
								 * restart and Tags always */

	/* query, dsn: which member; query: what to run, as whom */
	const char *member;			/* -m */
	const char *role;			/* -r leader|replica|any... */
	const char *command;		/* -c */
	const char *file;			/* -f */
	const char *dbname;			/* -d */
	const char *username;		/* -U */
	bool		password;		/* --password: ask for one */
	const char *delimiter;		/* --delimiter, tsv */

	/* switchover, failover, flush, pause, resume */
	const char *leader;
	const char *candidate;
	const char *scheduled;
	bool		force;
	bool		wait;			/* pause/resume --wait */
	int			wait_timeout;	/* seconds, switchover and failover */
	const char *target;			/* flush: "switchover" or "restart" */

	/* show-config, edit-config, restart, reload */
	const char **pg_settings;	/* edit-config -p name=value, in order */
	int			npg_settings;
	bool		quiet;			/* edit-config -q: no diff */
	bool		pending;		/* restart --pending */
	bool		any_order;		/* restart --any-order */
	const char **members;		/* restart, reload: MEMBER... */
	int			nmembers;

	/* node */
	const char *pgdata;
	bool		pgdata_given;	/* -D/--pgdata, not PGDATA */
	const char *debian;			/* init --debian VERSION/NAME */
	const char *node_name;
	const char *connect_address;
	const char *api_listen;
	const char *port;
	const char *listen_addresses;
	const char *replication_user;
	const char *passfile;
	const char *log_file;
	const char **settings;		/* --set name=value, in order (init,
								 * edit-config) */
	int			nsettings;

	/* rejoin */
	const char *source_conninfo;
	bool		reinit;			/* clone again instead of rewinding */
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
/* libcurl write callback into a CtlBody (at most 4 MB) */
extern size_t ctl_collect(char *ptr, size_t size, size_t nmemb, void *userdata);
extern long ctl_http(const CtlOptions *opt, const char *method,
					 const char *path, const char *request, CtlBody *body);

/* One key of the cluster (<namespace>/<cluster>/<relkey>) as read. */
typedef struct CtlKv
{
	bool		exists;
	uint64		modify_index;
	char	   *value;			/* NUL-terminated, "" when empty */
	size_t		len;
} CtlKv;

extern bool ctl_kv_get(const CtlOptions *opt, const char *relkey, CtlKv *kv);
extern void ctl_kv_free(CtlKv *kv);
extern bool ctl_kv_put(const CtlOptions *opt, const char *relkey,
					   const char *value, int64 cas, bool *done);
extern bool ctl_kv_delete(const CtlOptions *opt, const char *relkey,
						  int64 cas, bool *done);
extern char *ctl_kv_get_tree(const CtlOptions *opt, const char *relprefix,
							 size_t *len, bool *found);
extern bool ctl_kv_delete_tree(const CtlOptions *opt, bool *done);

/* table.c */
typedef struct CtlCell
{
	char	   *text;			/* NULL or "": empty */
	bool		is_int;			/* a number in JSON and YAML */
	char	   *json;			/* NULL, or the value in JSON and YAML */
	bool		multiline;		/* text drawn on several lines */
} CtlCell;

typedef struct CtlTable CtlTable;

extern CtlTable *ctl_table_new(int ncols, const char *const *names,
							   const char *align);
extern void ctl_table_hide_column(CtlTable *t, int col);
extern int	ctl_table_add_row(CtlTable *t);
extern void ctl_table_set(CtlTable *t, int row, int col, const char *text,
						  bool is_int);
extern void ctl_table_set_int(CtlTable *t, int row, int col, long long value);
extern void ctl_table_set_json(CtlTable *t, int row, int col, const char *text,
							   const char *json, bool multiline);
extern void ctl_table_free(CtlTable *t);
extern void ctl_table_print_text(const CtlTable *t, const char *title,
								 FILE *out);
extern void ctl_table_print_json(const CtlTable *t, bool drop_empty,
								 FILE *out);
extern void ctl_table_print_yaml(const CtlTable *t, bool drop_empty,
								 FILE *out);
extern void ctl_table_print_tsv(const CtlTable *t, const char *delimiter,
								FILE *out);
extern void ctl_table_print(const CtlTable *t, CtlFormat fmt,
							const char *title, bool drop_empty, FILE *out);
extern void ctl_yaml_scalar(PQExpBuffer buf, const CtlCell *cell);

/* show.c */
extern char *ctl_timestamp(int digits);
extern bool ctl_is_leader(const PgHaCluster *c, const PgHaMember *m);
extern const PgHaMember *ctl_leader_member(const PgHaCluster *c);
extern bool ctl_leader_position(const PgHaCluster *c, int64 *pos);
extern bool ctl_read_known_cluster(const CtlOptions *opt, PgHaCluster *c);
extern void ctl_print_members(const CtlOptions *opt, const PgHaCluster *c,
							  CtlFormat fmt, bool topology);
extern int	cmd_list(const CtlOptions *opt, bool topology);
extern int	cmd_history(const CtlOptions *opt);
extern int	cmd_remove_member(const CtlOptions *opt, const char *name);

/* operator.c */
extern int	cmd_switchover(const CtlOptions *opt, bool failover);
extern int	cmd_flush(const CtlOptions *opt);
extern int	cmd_pause(const CtlOptions *opt, bool pause);
extern double ctl_now_s(void);
extern char *ctl_prompt(const char *text, const char *def);
extern bool ctl_confirm(const char *text);
extern bool ctl_parse_time(const char *s, time_t *when);
extern void ctl_format_iso_utc(time_t t, char *buf, size_t len);
struct json_t;
extern char *ctl_dump_config(const struct json_t *root);

/* yaml.c: show-config's YAML */
extern char *ctl_render_yaml(struct json_t *root);
extern bool ctl_yaml_implicit_type(const char *s);

/* yaml_read.c: edit-config's YAML, read with libyaml */
extern struct json_t *ctl_parse_yaml(char *text, char *err, size_t errlen);
extern struct json_t *ctl_parse_yaml_value(const char *value, char *err,
										   size_t errlen);

/* config.c */
extern int	cmd_show_config(const CtlOptions *opt);
extern int	cmd_edit_config(const CtlOptions *opt);
extern int	cmd_restart(const CtlOptions *opt);
extern int	cmd_reload(const CtlOptions *opt);
extern long ctl_api_request(const char *url, const char *method,
							const char *post_body, CtlBody *body,
							char *err, size_t errlen);
extern char *ctl_api_endpoint(const PgHaMember *m, const char *path);
extern char *ctl_api_start_time(const PgHaMember *m);

/* ctl_target_members(): the leader last; stopped members too */
#define CTL_TARGET_LEADER_LAST	0x01
#define CTL_TARGET_STOPPED		0x02
extern char **ctl_target_members(const CtlOptions *opt, const PgHaCluster *c,
								 int *n, int flags);
extern char *ctl_join_names(char **names, int n);

/* reinit.c */
extern int	cmd_reinit(const CtlOptions *opt);
extern int	cmd_remove(const CtlOptions *opt);

/* query.c */
extern int	cmd_query(const CtlOptions *opt);
extern int	cmd_dsn(const CtlOptions *opt);

/* util.c */
extern void ctl_set_tool_dir(const char *argv0);
extern const char *ctl_tool(const char *name);
extern int	ctl_run(const char *const *argv, PQExpBuffer capture);
extern int	ctl_run_stdout(const char *const *argv, PQExpBuffer out);
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
extern bool ctl_split_host_port(const char *s, bool host_required,
								char *host, size_t hostlen, int *port);
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

/* init.c, rejoin.c and reclone.c */
extern const char *const ctl_node_files[];
extern bool ctl_reclone(const char *pgdata, const char *source, bool keep_old);
extern int	cmd_init(CtlOptions *opt);
extern int	cmd_rejoin(CtlOptions *opt);
extern int	cmd_release(CtlOptions *opt);

#endif							/* PG_HA_CTL_H */
