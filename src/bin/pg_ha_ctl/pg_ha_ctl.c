/*-------------------------------------------------------------------------
 *
 * pg_ha_ctl.c
 *	  Command-line tool of pg_ha: the command line and its dispatch.
 *
 * pg_ha_ctl does what must happen while PostgreSQL is not running and
 * what an operator runs from any host that reaches Consul:
 *
 *	list, topology, history
 *			the cluster as patronictl shows it (show.c);
 *	remove-member
 *			forget a stopped member (show.c);
 *	switchover, failover, flush, pause, resume
 *			the operator's requests to the cluster, written to Consul with
 *			Patroni's protocol (operator.c);
 *	show-config, edit-config, restart, reload
 *			the cluster-wide configuration and the members' servers
 *			(config.c);
 *	reinit, remove
 *			clone a replica again from the leader (POST /reinitialize to
 *			its REST API); delete every key of a cluster (reinit.c);
 *	query, dsn
 *			run SQL on a member chosen by name or role; its connection
 *			string (query.c);
 *	init	bootstrap the first node of a cluster, or clone a new node from
 *			the leader, or start an existing node; in a data directory, or
 *			in a Debian cluster of pg_createcluster (init.c);
 *	rejoin	restart an old primary as a standby, rewound when needed; the
 *			HA worker runs it, detached (rejoin.c);
 *	release	hand the leader key over once the server is down; the HA
 *			worker runs it, detached (release.c).
 *
 * The operator commands take the cluster name as their first argument, as
 * patronictl does (pg_ha_ctl list otus), or from --cluster.  The option
 * names of the node commands are those of the GUCs (--node-name for
 * pg_ha.node_name and so on), each also read from an environment
 * variable, so that scripts need not change.  Exit status: 0 on success,
 * 1 on any failure.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "getopt_long.h"
#include "names.h"
#include "pg_ha_ctl.h"

const char *progname;

/* long options without a short form */
enum
{
	OPT_NODE_NAME = 1000,
	OPT_CONNECT_ADDRESS,
	OPT_API_LISTEN,
	OPT_PORT,
	OPT_LISTEN_ADDRESSES,
	OPT_REPLICATION_USER,
	OPT_PASSFILE,
	OPT_SET,
	OPT_SOURCE_CONNINFO,
	OPT_REINIT,
	OPT_POSTMASTER_PID,
	OPT_SESSION,
	OPT_CHECK_ID,
	OPT_TTL_MS,
	OPT_CLUSTER,
	OPT_NAMESPACE,
	OPT_CONSUL_URL,
	OPT_FORMAT,
	OPT_LEADER,
	OPT_CANDIDATE,
	OPT_SCHEDULED,
	OPT_FORCE,
	OPT_WAIT,
	OPT_WAIT_TIMEOUT,
	OPT_PENDING,
	OPT_ANY_ORDER,
	OPT_PASSWORD,
	OPT_DELIMITER,
	OPT_DEBIAN
};

static void
usage(void)
{
	printf("pg_ha_ctl controls a pg_ha cluster and creates its nodes.\n\n"
		   "Usage:\n"
		   "  pg_ha_ctl list [CLUSTER] [--format=table|json|yaml] [-e] [-W | -w SECONDS]\n"
		   "  pg_ha_ctl topology [CLUSTER] [-W | -w SECONDS]\n"
		   "  pg_ha_ctl history [CLUSTER] [--format=table|json|yaml]\n"
		   "  pg_ha_ctl remove-member [CLUSTER] MEMBER [--force]\n"
		   "  pg_ha_ctl switchover [CLUSTER] [--leader=NAME] [--candidate=NAME]\n"
		   "                       [--scheduled=TIME|now] [--force] [--wait-timeout=SECS]\n"
		   "  pg_ha_ctl failover [CLUSTER] [--candidate=NAME] [--force] [--wait-timeout=SECS]\n"
		   "  pg_ha_ctl flush [CLUSTER] switchover\n"
		   "  pg_ha_ctl flush [CLUSTER] [MEMBER...] restart [--role=ROLE] [--force]\n"
		   "  pg_ha_ctl pause [CLUSTER] [--wait]\n"
		   "  pg_ha_ctl resume [CLUSTER] [--wait]\n"
		   "  pg_ha_ctl show-config [CLUSTER]\n"
		   "  pg_ha_ctl edit-config [CLUSTER] [--set NAME=VALUE]... [-p PGPARAM=VALUE]...\n"
		   "                        [--force] [-q]\n"
		   "  pg_ha_ctl restart [CLUSTER] [MEMBER...] [--pending] [--scheduled=TIME|now]\n"
		   "                    [--force] [--any-order] [--wait-timeout=SECS]\n"
		   "  pg_ha_ctl reload [CLUSTER] [MEMBER...] [--force]\n"
		   "  pg_ha_ctl reinit [CLUSTER] MEMBER... [--force] [--wait] [--wait-timeout=SECS]\n"
		   "  pg_ha_ctl remove CLUSTER [--format=table|json|yaml]\n"
		   "  pg_ha_ctl query [CLUSTER] [-m MEMBER | -r ROLE] (-c SQL | -f FILE) [-d DBNAME]\n"
		   "                  [-U USER] [--password] [--format=tsv|table|json|yaml]\n"
		   "                  [--delimiter=STR] [-W | -w SECONDS]\n"
		   "  pg_ha_ctl dsn [CLUSTER] [-m MEMBER | -r ROLE]\n"
		   "  pg_ha_ctl init -D DATADIR --cluster=NAME --node-name=NAME --consul-url=URL\n"
		   "                 --connect-address=HOST:PORT [OPTION]...\n"
		   "  pg_ha_ctl init --debian=VERSION/NAME --cluster=NAME --node-name=NAME\n"
		   "                 --consul-url=URL --connect-address=HOST:PORT [OPTION]...\n"
		   "  pg_ha_ctl rejoin -D DATADIR [--source-conninfo=CONNINFO [--reinit]] [--timeout=SECS]\n"
		   "  pg_ha_ctl version\n\n"
		   "Commands of the operator (CLUSTER, or --cluster, or PG_HA_CLUSTER):\n"
		   "  list        show the members: role, state, timeline, lag, pending restart\n"
		   "              (-e, --extended: also scheduled restarts and tags)\n"
		   "  topology    the same, the leader first and its replicas below it\n"
		   "  history     the timeline history: each promotion, its LSN and reason\n"
		   "  remove-member\n"
		   "              forget a stopped member (listed as stopped since its server\n"
		   "              stopped): remove its record; a running member is refused\n"
		   "  switchover  hand the leader role over to a healthy replica (the\n"
		   "              candidate, or any), now or at a scheduled time; the leader\n"
		   "              stops, the candidate promotes, the old leader follows it\n"
		   "  failover    promote the candidate, also when the cluster has no leader\n"
		   "  flush       cancel a pending switchover or failover request, or\n"
		   "              members' scheduled restarts\n"
		   "  pause       stop automatic failover (maintenance mode)\n"
		   "  resume      resume automatic failover\n"
		   "  show-config show the cluster-wide configuration (YAML)\n"
		   "  edit-config change it: --set, -p, or in $EDITOR; shows the diff first\n"
		   "  restart     restart members (all by default), replicas first, the leader\n"
		   "              last, each waited for\n"
		   "  reload      reload members' configuration (POST /reload to their REST API)\n"
		   "  reinit      clone replicas again from the leader (POST /reinitialize to\n"
		   "              their REST API): stopped, cloned with pg_basebackup, started\n"
		   "  remove      delete every key of the cluster from Consul, after three\n"
		   "              confirmations (stop its nodes first)\n"
		   "  query       run SQL on the leader, a replica or a named member\n"
		   "  dsn         print the connection string of such a member\n\n"
		   "Node commands:\n"
		   "  init        create this node in an empty DATADIR: bootstrap the cluster when\n"
		   "              Consul has never seen it (initdb), else clone the leader\n"
		   "              (pg_basebackup); an existing DATADIR of the cluster is started;\n"
		   "              with --debian, the same in a stopped Debian cluster made by\n"
		   "              pg_createcluster (its data kept, or replaced by the clone),\n"
		   "              configured in its conf.d and started with pg_ctlcluster\n"
		   "  rejoin      restart a primary as a standby: stop it, rewind it from\n"
		   "              CONNINFO if given (pg_rewind), start it with the options it had;\n"
		   "              the HA worker runs this when it demotes its node\n"
		   "  version     show the version of pg_ha_ctl\n\n"
		   "Cluster options (or environment variables):\n"
		   "  --cluster=NAME            cluster name (PG_HA_CLUSTER); or give it first\n"
		   "  --namespace=NAME          Consul key namespace, default \"service\" (PG_HA_NAMESPACE)\n"
		   "  --consul-url=URL          Consul HTTP API, default http://127.0.0.1:8500 (PG_HA_CONSUL_URL);\n"
		   "                            the ACL token is read from PG_HA_CONSUL_TOKEN only\n\n"
		   "Options of list, topology and history:\n"
		   "  --format=FORMAT           table (default), json or yaml\n"
		   "  -e, --extended            list: the Pending restart, Scheduled restart and\n"
		   "                            Tags columns always\n"
		   "  -W                        redraw every 2 seconds until interrupted\n"
		   "  -w, --watch=SECONDS       redraw every SECONDS seconds until interrupted\n\n"
		   "Options of switchover and failover:\n"
		   "  --leader=NAME             the current leader (--primary too); checked\n"
		   "  --candidate=NAME          the member to promote; a switchover without one\n"
		   "                            lets the leader choose a healthy replica\n"
		   "  --scheduled=TIME          switch over at TIME (ISO 8601, local time unless\n"
		   "                            it has an offset, e.g. 2026-11-25T21:00), or now\n"
		   "  --force                   ask nothing; without it, ask as patronictl does\n"
		   "                            (answers are read from standard input)\n"
		   "  --wait-timeout=SECS       wait that long for the new leader, default 60\n\n"
		   "Options of pause and resume:\n"
		   "  --wait                    wait until every member has seen the change\n\n"
		   "Options of reinit:\n"
		   "  --force                   ask nothing\n"
		   "  --wait                    wait until each member runs again as a replica\n"
		   "  --wait-timeout=SECS       wait that long for each, default 600\n\n"
		   "Options of query and dsn:\n"
		   "  -m, --member=NAME         this member\n"
		   "  -r, --role=ROLE           a member with this role: leader (default), replica\n"
		   "                            or any (primary, master, standby too)\n"
		   "  -c, --command=SQL         the SQL to run (query)\n"
		   "  -f, --file=FILE           the SQL to run, from FILE, - for standard input\n"
		   "  -d, --dbname=NAME         the database, default the user's name\n"
		   "  -U, --username=NAME       the role to connect as\n"
		   "  --password                ask for the password\n"
		   "  --format=FORMAT           tsv (default), table, json or yaml\n"
		   "  --delimiter=STR           the column delimiter of tsv, default a tab\n"
		   "  -W, -w SECONDS            run it again every 2 (or SECONDS) seconds\n\n"
		   "Options of edit-config, restart and reload:\n"
		   "  --set=NAME=VALUE          set a configuration key (dotted: postgresql.use_pg_rewind);\n"
		   "                            VALUE is YAML, null removes the key (repeatable)\n"
		   "  -p, --pg=NAME=VALUE       set postgresql.parameters.NAME (repeatable)\n"
		   "  -q, --quiet               do not show the diff\n"
		   "  --force                   ask nothing (also of remove-member)\n"
		   "  --pending                 restart only members pending a restart\n"
		   "  --scheduled=TIME          restart at TIME, or now\n"
		   "  --any-order               skip the hot standby order check (max_connections & co.\n"
		   "                            never below the leader's): replicas first, leader last\n"
		   "  --wait-timeout=SECS       wait that long for each member's restart, default 120\n\n"
		   "Node options of init (or environment variables):\n"
		   "  -D, --pgdata=DATADIR      data directory (PGDATA)\n"
		   "  --debian=VERSION/NAME     the Debian cluster VERSION/NAME instead, as\n"
		   "                            pg_lsclusters shows it (not with -D or -l)\n"
		   "  --node-name=NAME          name of this node in the cluster (PG_HA_NODE_NAME)\n"
		   "  --connect-address=HOST:PORT  where the other nodes reach this node\n"
		   "                            (PG_HA_CONNECT_ADDRESS)\n"
		   "  --port=PORT               server port, default the port of --connect-address\n"
		   "                            (with --debian, the cluster's port)\n"
		   "  --listen-addresses=ADDRS  listen_addresses, default the host of --connect-address\n"
		   "  --api-listen=[HOST]:PORT  REST API address, default :8008 (PG_HA_API_LISTEN)\n"
		   "  --replication-user=ROLE   role of replication and pg_rewind, default replicator\n"
		   "  --passfile=FILE           libpq password file holding its password, default\n"
		   "                            ~/.pgpass; init of the first node adds a random one\n"
		   "  -l, --log=FILE            server log (pg_ctl -l), default DATADIR/../NODE.log\n"
		   "  --set=NAME=VALUE          another postgresql.conf setting, e.g. pg_ha.ttl=30s\n"
		   "                            (repeatable; VALUE is quoted unless it is already)\n\n"
		   "Options of rejoin:\n"
		   "  -D, --pgdata=DATADIR      data directory (PGDATA)\n"
		   "  --source-conninfo=CONNINFO  rewind from this server (pg_rewind --source-server)\n"
		   "  --reinit                  clone the node again from that server (pg_basebackup)\n"
		   "                            instead of rewinding it\n"
		   "  -t, --timeout=SECS        for pg_ctl stop and start, and how long to try\n"
		   "                            the rewind again, default 60\n\n"
		   "Other options:\n"
		   "  -V, --version             show the version, then exit\n"
		   "  -?, --help                show this help, then exit\n\n"
		   "Exit status: 0 on success, 1 on failure.\n");
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : fallback;
}

/* a number of seconds, 1 to 86400, or exit */
static int
parse_seconds(const char *arg, const char *what)
{
	char	   *end;
	long		v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (errno != 0 || end == arg || *end != '\0' || v < 1 || v > 86400)
		pg_fatal("invalid %s \"%s\": give seconds, 1 to 86400", what, arg);
	return (int) v;
}

static void
too_many_arguments(const char *first)
{
	pg_log_error("too many command-line arguments (first is \"%s\")", first);
	pg_log_error_hint("Try \"%s --help\" for more information.", progname);
	exit(1);
}

/*
 * The cluster named as the first argument, as patronictl takes it; it
 * must agree with --cluster when both are given.
 */
static void
take_cluster_argument(CtlOptions *opt, const char *name, bool cluster_option)
{
	if (cluster_option && strcmp(opt->cluster, name) != 0)
	{
		pg_log_error("two cluster names given: \"%s\" and --cluster=%s", name, opt->cluster);
		pg_log_error_hint("Give the cluster name once.");
		exit(1);
	}
	opt->cluster = name;
}

static CtlFormat
parse_format(const char *format, bool tsv)
{
	if (tsv && strcmp(format, "tsv") == 0)
		return CTL_FORMAT_TSV;
	if (strcmp(format, "table") == 0 || strcmp(format, "pretty") == 0)
		return CTL_FORMAT_TABLE;
	if (strcmp(format, "json") == 0)
		return CTL_FORMAT_JSON;
	if (strcmp(format, "yaml") == 0 || strcmp(format, "yml") == 0)
		return CTL_FORMAT_YAML;
	pg_log_error("unknown format \"%s\"", format);
	pg_log_error_hint(tsv ? "Use tsv, table, json or yaml." : "Use table, json or yaml.");
	exit(1);
}

static void
check_cluster_options(const CtlOptions *opt)
{
	if (opt->cluster == NULL || !pgha_valid_name(opt->cluster))
	{
		if (opt->cluster)
			pg_log_error("invalid cluster name \"%s\"", opt->cluster);
		else
			pg_log_error("no cluster name given");
		pg_log_error_hint("Give the cluster name (pg_ha_ctl COMMAND CLUSTER), --cluster, or set PG_HA_CLUSTER.");
		exit(1);
	}
	if (!pgha_valid_name(opt->namespace))
		pg_fatal("invalid namespace \"%s\"", opt->namespace);
}

/*
 * The commands.  Each takes its arguments after the options in one of a
 * few shapes, patronictl's where it has the command; the first argument
 * is the cluster unless --cluster or PG_HA_CLUSTER gives it.
 */
typedef enum CtlArgs
{
	CTL_ARGS_NONE,				/* options only */
	CTL_ARGS_CLUSTER,			/* [CLUSTER] */
	CTL_ARGS_MEMBERS,			/* [CLUSTER] [MEMBER...] */
	CTL_ARGS_MEMBER,			/* [CLUSTER] MEMBER */
	CTL_ARGS_FLUSH				/* [CLUSTER] [MEMBER...] TARGET */
} CtlArgs;

/* The output formats a command prints, chosen with --format. */
typedef enum CtlFormats
{
	CTL_FORMATS_NONE,			/* no --format */
	CTL_FORMATS_TABLE,			/* table (the default), json, yaml */
	CTL_FORMATS_TSV				/* tsv (the default), table, json, yaml */
} CtlFormats;

typedef struct CtlCommand
{
	const char *name;
	CtlArgs		args;
	bool		needs_cluster;	/* checked before run (init checks its own) */
	CtlFormats	formats;
	int			wait_timeout;	/* default of --wait-timeout, seconds */
	int			(*run) (CtlOptions *opt);
} CtlCommand;

static int
run_version(CtlOptions *opt)
{
	printf("pg_ha_ctl %s\n", PG_HA_CTL_VERSION);
	return 0;
}

static int
run_list(CtlOptions *opt)
{
	return cmd_list(opt, false);
}

static int
run_topology(CtlOptions *opt)
{
	return cmd_list(opt, true);
}

static int
run_history(CtlOptions *opt)
{
	return cmd_history(opt);
}

static int
run_switchover(CtlOptions *opt)
{
	return cmd_switchover(opt, false);
}

static int
run_failover(CtlOptions *opt)
{
	return cmd_switchover(opt, true);
}

static int
run_pause(CtlOptions *opt)
{
	return cmd_pause(opt, true);
}

static int
run_resume(CtlOptions *opt)
{
	return cmd_pause(opt, false);
}

static int
run_flush(CtlOptions *opt)
{
	return cmd_flush(opt);
}

static int
run_restart(CtlOptions *opt)
{
	return cmd_restart(opt);
}

static int
run_reload(CtlOptions *opt)
{
	return cmd_reload(opt);
}

static int
run_reinit(CtlOptions *opt)
{
	return cmd_reinit(opt);
}

static int
run_remove(CtlOptions *opt)
{
	return cmd_remove(opt);
}

static int
run_remove_member(CtlOptions *opt)
{
	return cmd_remove_member(opt, opt->members[0]);
}

static int
run_query(CtlOptions *opt)
{
	return cmd_query(opt);
}

static int
run_dsn(CtlOptions *opt)
{
	return cmd_dsn(opt);
}

static int
run_show_config(CtlOptions *opt)
{
	return cmd_show_config(opt);
}

static int
run_edit_config(CtlOptions *opt)
{
	return cmd_edit_config(opt);
}

static int
run_init(CtlOptions *opt)
{
	if (opt->debian != NULL && opt->pgdata_given)
	{
		pg_log_error("options %s and %s cannot be used together", "-D/--pgdata", "--debian");
		pg_log_error_hint("--debian VERSION/NAME takes the data directory of that Debian cluster, as pg_lsclusters shows it.");
		exit(1);
	}
	if (opt->debian != NULL && opt->log_file != NULL)
	{
		pg_log_error("options %s and %s cannot be used together", "-l/--log", "--debian");
		pg_log_error_hint("A Debian cluster logs where pg_ctlcluster puts its log, as pg_lsclusters shows it.");
		exit(1);
	}
	/* the Debian cluster names its data directory: PGDATA is not asked */
	if (opt->debian != NULL)
		opt->pgdata = NULL;
	check_cluster_options(opt);
	return cmd_init(opt);
}

static const CtlCommand commands[] = {
	/* the operator's commands */
	{"list", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_list},
	{"topology", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_topology},
	{"history", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_history},
	{"switchover", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_switchover},
	{"failover", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_failover},
	{"pause", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_pause},
	{"resume", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_resume},
	{"flush", CTL_ARGS_FLUSH, true, CTL_FORMATS_NONE, 60, run_flush},
	{"restart", CTL_ARGS_MEMBERS, true, CTL_FORMATS_TABLE, 120, run_restart},
	{"reload", CTL_ARGS_MEMBERS, true, CTL_FORMATS_TABLE, 60, run_reload},
	{"reinit", CTL_ARGS_MEMBERS, true, CTL_FORMATS_NONE, 600, run_reinit},
	{"remove", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TABLE, 60, run_remove},
	{"remove-member", CTL_ARGS_MEMBER, true, CTL_FORMATS_NONE, 60, run_remove_member},
	/* patronictl query prints tsv unless told otherwise */
	{"query", CTL_ARGS_CLUSTER, true, CTL_FORMATS_TSV, 60, run_query},
	{"dsn", CTL_ARGS_CLUSTER, true, CTL_FORMATS_NONE, 60, run_dsn},
	{"show-config", CTL_ARGS_CLUSTER, true, CTL_FORMATS_NONE, 60, run_show_config},
	{"edit-config", CTL_ARGS_CLUSTER, true, CTL_FORMATS_NONE, 60, run_edit_config},
	/* the node's commands, run on its host: options only */
	{"init", CTL_ARGS_NONE, false, CTL_FORMATS_NONE, 60, run_init},
	{"rejoin", CTL_ARGS_NONE, false, CTL_FORMATS_NONE, 60, cmd_rejoin},
	{"release", CTL_ARGS_NONE, true, CTL_FORMATS_NONE, 60, cmd_release},
	{"version", CTL_ARGS_NONE, false, CTL_FORMATS_NONE, 60, run_version},
};

static const CtlCommand *
find_command(const char *name)
{
	for (size_t i = 0; i < lengthof(commands); i++)
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	return NULL;
}

/*
 * [CLUSTER] [MEMBER...]: the first argument is the cluster only when none
 * is given, or it names that one.
 */
static void
take_members(CtlOptions *opt, char **args, int nargs)
{
	if (nargs > 0 && (opt->cluster == NULL || strcmp(args[0], opt->cluster) == 0))
	{
		opt->cluster = args[0];
		args++;
		nargs--;
	}
	opt->members = (const char **) args;
	opt->nmembers = nargs;
}

/* The arguments after the options, by the command's shape; exits on bad ones. */
static void
take_arguments(const CtlCommand *cmd, CtlOptions *opt, char **args, int nargs,
			   bool cluster_option)
{
	switch (cmd->args)
	{
		case CTL_ARGS_NONE:
			if (nargs > 0)
				too_many_arguments(args[0]);
			break;
		case CTL_ARGS_CLUSTER:
			if (nargs > 1)
				too_many_arguments(args[1]);
			if (nargs == 1)
				take_cluster_argument(opt, args[0], cluster_option);
			break;
		case CTL_ARGS_MEMBERS:
			take_members(opt, args, nargs);
			break;
		case CTL_ARGS_MEMBER:
			if (nargs > 2)
				too_many_arguments(args[2]);
			if (nargs == 0)
			{
				pg_log_error("%s needs the name of a stopped member", cmd->name);
				pg_log_error_hint("Run: pg_ha_ctl %s [CLUSTER] MEMBER", cmd->name);
				exit(1);
			}
			if (nargs == 2)
				take_cluster_argument(opt, args[0], cluster_option);
			opt->members = (const char **) args + nargs - 1;
			opt->nmembers = 1;
			break;
		case CTL_ARGS_FLUSH:
			/* the target last, as patronictl takes it; one argument alone may be either */
			if (nargs >= 2 || (nargs == 1 && (strcmp(args[0], "switchover") == 0 ||
											  strcmp(args[0], "restart") == 0)))
				opt->target = args[--nargs];
			if (opt->target != NULL && strcmp(opt->target, "restart") == 0)
			{
				take_members(opt, args, nargs);
				break;
			}
			if (nargs > 1)
				too_many_arguments(args[2]);	/* the third, as always */
			if (nargs == 1)
				take_cluster_argument(opt, args[0], cluster_option);
			break;
	}
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"cluster", required_argument, NULL, OPT_CLUSTER},
		{"namespace", required_argument, NULL, OPT_NAMESPACE},
		{"consul-url", required_argument, NULL, OPT_CONSUL_URL},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"leader", required_argument, NULL, OPT_LEADER},
		{"primary", required_argument, NULL, OPT_LEADER},
		{"candidate", required_argument, NULL, OPT_CANDIDATE},
		{"scheduled", required_argument, NULL, OPT_SCHEDULED},
		{"force", no_argument, NULL, OPT_FORCE},
		{"wait", no_argument, NULL, OPT_WAIT},
		{"wait-timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
		{"pg", required_argument, NULL, 'p'},
		{"quiet", no_argument, NULL, 'q'},
		{"pending", no_argument, NULL, OPT_PENDING},
		{"any-order", no_argument, NULL, OPT_ANY_ORDER},
		{"extended", no_argument, NULL, 'e'},
		{"member", required_argument, NULL, 'm'},
		{"role", required_argument, NULL, 'r'},
		{"command", required_argument, NULL, 'c'},
		{"file", required_argument, NULL, 'f'},
		{"dbname", required_argument, NULL, 'd'},
		{"username", required_argument, NULL, 'U'},
		{"password", no_argument, NULL, OPT_PASSWORD},
		{"delimiter", required_argument, NULL, OPT_DELIMITER},
		{"watch", required_argument, NULL, 'w'},
		{"pgdata", required_argument, NULL, 'D'},
		{"debian", required_argument, NULL, OPT_DEBIAN},
		{"node-name", required_argument, NULL, OPT_NODE_NAME},
		{"connect-address", required_argument, NULL, OPT_CONNECT_ADDRESS},
		{"api-listen", required_argument, NULL, OPT_API_LISTEN},
		{"port", required_argument, NULL, OPT_PORT},
		{"listen-addresses", required_argument, NULL, OPT_LISTEN_ADDRESSES},
		{"replication-user", required_argument, NULL, OPT_REPLICATION_USER},
		{"passfile", required_argument, NULL, OPT_PASSFILE},
		{"log", required_argument, NULL, 'l'},
		{"set", required_argument, NULL, OPT_SET},
		{"source-conninfo", required_argument, NULL, OPT_SOURCE_CONNINFO},
		{"reinit", no_argument, NULL, OPT_REINIT},
		{"timeout", required_argument, NULL, 't'},
		{"postmaster-pid", required_argument, NULL, OPT_POSTMASTER_PID},
		{"session", required_argument, NULL, OPT_SESSION},
		{"check-id", required_argument, NULL, OPT_CHECK_ID},
		{"ttl-ms", required_argument, NULL, OPT_TTL_MS},
		{"version", no_argument, NULL, 'V'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0}
	};
	CtlOptions	opt;
	int			c;
	const char *command;
	const CtlCommand *cmd;
	bool		cluster_option = false;
	bool		watch_option = false;
	char	  **args;
	int			nargs;

	pg_logging_init(argv[0]);
	progname = get_progname(argv[0]);
	ctl_set_tool_dir(argv[0]);

	memset(&opt, 0, sizeof(opt));
	opt.cluster = env_or("PG_HA_CLUSTER", NULL);
	opt.namespace = env_or("PG_HA_NAMESPACE", "service");
	opt.consul_url = env_or("PG_HA_CONSUL_URL", "http://127.0.0.1:8500");
	opt.consul_token = env_or("PG_HA_CONSUL_TOKEN", NULL);
	opt.format = "table";
	opt.pgdata = env_or("PGDATA", NULL);
	opt.node_name = env_or("PG_HA_NODE_NAME", NULL);
	opt.connect_address = env_or("PG_HA_CONNECT_ADDRESS", NULL);
	opt.api_listen = env_or("PG_HA_API_LISTEN", NULL);
	opt.settings = pg_malloc0(sizeof(char *) * argc);
	opt.pg_settings = pg_malloc0(sizeof(char *) * argc);
	opt.timeout = 60;
	opt.wait_timeout = 0;		/* the command's default, below */

	while ((c = getopt_long(argc, argv, "c:d:D:ef:l:m:p:qr:t:U:Ww:V?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case OPT_CLUSTER:
				opt.cluster = optarg;
				cluster_option = true;
				break;
			case OPT_NAMESPACE:
				opt.namespace = optarg;
				break;
			case OPT_CONSUL_URL:
				opt.consul_url = optarg;
				break;
			case OPT_FORMAT:
				opt.format = optarg;
				opt.format_given = true;
				break;
			case 'e':
				opt.extended = true;
				break;
			case 'm':
				opt.member = optarg;
				break;
			case 'r':
				opt.role = optarg;
				break;
			case 'c':
				opt.command = optarg;
				break;
			case 'f':
				opt.file = optarg;
				break;
			case 'd':
				opt.dbname = optarg;
				break;
			case 'U':
				opt.username = optarg;
				break;
			case OPT_PASSWORD:
				opt.password = true;
				break;
			case OPT_DELIMITER:
				opt.delimiter = optarg;
				break;
			case OPT_LEADER:
				opt.leader = optarg;
				break;
			case OPT_CANDIDATE:
				opt.candidate = optarg;
				break;
			case OPT_SCHEDULED:
				opt.scheduled = optarg;
				break;
			case OPT_FORCE:
				opt.force = true;
				break;
			case OPT_WAIT:
				opt.wait = true;
				break;
			case OPT_WAIT_TIMEOUT:
				opt.wait_timeout = parse_seconds(optarg, "wait timeout");
				break;
			case 'p':
				opt.pg_settings[opt.npg_settings++] = optarg;
				break;
			case 'q':
				opt.quiet = true;
				break;
			case OPT_PENDING:
				opt.pending = true;
				break;
			case OPT_ANY_ORDER:
				opt.any_order = true;
				break;
			case 'W':
				if (!watch_option)
					opt.watch = 2;
				break;
			case 'w':
				{
					char	   *end;
					double		v;

					errno = 0;
					v = strtod(optarg, &end);
					if (errno != 0 || end == optarg || *end != '\0' ||
						!(v >= 0.1 && v <= 3600))
						pg_fatal("invalid watch interval \"%s\": give seconds, 0.1 to 3600",
								 optarg);
					opt.watch = v;
					watch_option = true;
				}
				break;
			case 'D':
				opt.pgdata = optarg;
				opt.pgdata_given = true;
				break;
			case OPT_DEBIAN:
				opt.debian = optarg;
				break;
			case OPT_NODE_NAME:
				opt.node_name = optarg;
				break;
			case OPT_CONNECT_ADDRESS:
				opt.connect_address = optarg;
				break;
			case OPT_API_LISTEN:
				opt.api_listen = optarg;
				break;
			case OPT_PORT:
				opt.port = optarg;
				break;
			case OPT_LISTEN_ADDRESSES:
				opt.listen_addresses = optarg;
				break;
			case OPT_REPLICATION_USER:
				opt.replication_user = optarg;
				break;
			case OPT_PASSFILE:
				opt.passfile = optarg;
				break;
			case 'l':
				opt.log_file = optarg;
				break;
			case OPT_SET:
				opt.settings[opt.nsettings++] = optarg;
				break;
			case OPT_REINIT:
				opt.reinit = true;
				break;
			case OPT_SOURCE_CONNINFO:
				opt.source_conninfo = optarg;
				break;
			case 't':
				opt.timeout = parse_seconds(optarg, "timeout");
				break;
			case OPT_POSTMASTER_PID:
				opt.postmaster_pid = atol(optarg);
				break;
			case OPT_SESSION:
				opt.session = optarg;
				break;
			case OPT_CHECK_ID:
				opt.check_id = optarg;
				break;
			case OPT_TTL_MS:
				opt.ttl_ms = atoi(optarg);
				break;
			case 'V':
				printf("pg_ha_ctl %s\n", PG_HA_CTL_VERSION);
				exit(0);
			case '?':
				if (optopt == 0 || optopt == '?')
				{
					usage();
					exit(0);
				}
				/* FALLTHROUGH */
			default:
				pg_log_error_hint("Try \"%s --help\" for more information.", progname);
				exit(1);
		}
	}
	/* http://host:8500/ is meant as http://host:8500 */
	if (opt.consul_url[0] != '\0' && opt.consul_url[strlen(opt.consul_url) - 1] == '/')
	{
		char	   *url = pg_strdup(opt.consul_url);

		while (url[0] != '\0' && url[strlen(url) - 1] == '/')
			url[strlen(url) - 1] = '\0';
		opt.consul_url = url;
	}

	if (optind >= argc)
	{
		pg_log_error("no command given");
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(1);
	}
	command = argv[optind];
	args = argv + optind + 1;
	nargs = argc - optind - 1;
	cmd = find_command(command);
	if (cmd == NULL)
	{
		pg_log_error("unknown command \"%s\"", command);
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(1);
	}
	if (opt.wait_timeout == 0)
		opt.wait_timeout = cmd->wait_timeout;
	take_arguments(cmd, &opt, args, nargs, cluster_option);
	if (cmd->needs_cluster)
		check_cluster_options(&opt);
	if (cmd->formats != CTL_FORMATS_NONE)
		opt.fmt = cmd->formats == CTL_FORMATS_TSV && !opt.format_given ? CTL_FORMAT_TSV :
			parse_format(opt.format, cmd->formats == CTL_FORMATS_TSV);
	return cmd->run(&opt);
}
