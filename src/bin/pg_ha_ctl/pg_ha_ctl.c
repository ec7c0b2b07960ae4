/*-------------------------------------------------------------------------
 *
 * pg_ha_ctl.c
 *	  Command-line tool of pg_ha: the command line, "list" and "version".
 *
 * pg_ha_ctl does what must happen while PostgreSQL is not running and
 * what an operator runs from any host that reaches Consul:
 *
 *	list	the patronictl-style table of the members (this file);
 *	init	bootstrap the first node of a cluster, or clone a new node from
 *			the leader, or start an existing node (init.c);
 *	rejoin	restart an old primary as a standby, rewound when needed; the
 *			HA worker runs it, detached (rejoin.c).
 *
 * The option names are those of the GUCs (--node-name for pg_ha.node_name
 * and so on), each also read from an environment variable, so that
 * scripts need not change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "getopt_long.h"
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
	OPT_POSTMASTER_PID,
	OPT_SESSION,
	OPT_CHECK_ID,
	OPT_TTL_MS,
	OPT_CLUSTER,
	OPT_NAMESPACE,
	OPT_CONSUL_URL,
	OPT_FORMAT
};

static void
usage(void)
{
	printf("pg_ha_ctl controls a pg_ha cluster and creates its nodes.\n\n"
		   "Usage:\n"
		   "  pg_ha_ctl list [OPTION]...\n"
		   "  pg_ha_ctl init -D DATADIR --cluster=NAME --node-name=NAME --consul-url=URL\n"
		   "                 --connect-address=HOST:PORT [OPTION]...\n"
		   "  pg_ha_ctl rejoin -D DATADIR [--source-conninfo=CONNINFO] [--timeout=SECS]\n"
		   "  pg_ha_ctl version\n\n"
		   "Commands:\n"
		   "  list      show the members of the cluster\n"
		   "  init      create this node in an empty DATADIR: bootstrap the cluster when\n"
		   "            Consul has never seen it (initdb), else clone the leader\n"
		   "            (pg_basebackup); an existing DATADIR of the cluster is started\n"
		   "  rejoin    restart a primary as a standby: stop it, rewind it from\n"
		   "            CONNINFO if given (pg_rewind), start it with the options it had;\n"
		   "            the HA worker runs this when it demotes its node\n"
		   "  version   show the version of pg_ha_ctl\n\n"
		   "Cluster options (or environment variables):\n"
		   "  --cluster=NAME            cluster name (PG_HA_CLUSTER)\n"
		   "  --namespace=NAME          Consul key namespace, default \"service\" (PG_HA_NAMESPACE)\n"
		   "  --consul-url=URL          Consul HTTP API, default http://127.0.0.1:8500 (PG_HA_CONSUL_URL);\n"
		   "                            the ACL token is read from PG_HA_CONSUL_TOKEN only\n"
		   "  --format=table|json       output format of list, default table\n\n"
		   "Node options of init (or environment variables):\n"
		   "  -D, --pgdata=DATADIR      data directory (PGDATA)\n"
		   "  --node-name=NAME          name of this node in the cluster (PG_HA_NODE_NAME)\n"
		   "  --connect-address=HOST:PORT  where the other nodes reach this node\n"
		   "                            (PG_HA_CONNECT_ADDRESS)\n"
		   "  --port=PORT               server port, default the port of --connect-address\n"
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
		   "  -t, --timeout=SECS        for pg_ctl stop and start, default 60\n\n"
		   "Other options:\n"
		   "  -V, --version             show the version, then exit\n"
		   "  -?, --help                show this help, then exit\n");
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : fallback;
}

static bool
is_leader(const PgHaCluster *c, const PgHaMember *m)
{
	return c->has_leader && c->leader_session[0] != '\0' &&
		strcmp(c->leader, m->name) == 0;
}

static int
cmd_list(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	int64_t		leader_pos = -1;
	bool		found;

	if (!ctl_read_cluster(opt, c, &found))
		return 1;
	if (!found)
	{
		pg_log_error("cluster \"%s\" is not known to Consul at %s",
					 opt->cluster, opt->consul_url);
		pg_log_error_hint("Check --cluster and --namespace, or start the first node of the cluster (pg_ha_ctl init).");
		return 1;
	}
	for (int i = 0; i < c->nmembers; i++)
		if (is_leader(c, &c->members[i]) && c->members[i].has_xlog)
			leader_pos = c->members[i].xlog_location;

	if (strcmp(opt->format, "json") == 0)
	{
		printf("[");
		for (int i = 0; i < c->nmembers; i++)
		{
			const PgHaMember *m = &c->members[i];

			printf("%s{\"Cluster\": \"%s\", \"Member\": \"%s\", \"Host\": \"%s\", \"Role\": \"%s\", \"State\": \"%s\", \"TL\": %u",
				   i ? ", " : "", opt->cluster, m->name, m->conn_url,
				   is_leader(c, m) ? "Leader" : "Replica", m->state, m->timeline);
			if (!is_leader(c, m) && m->has_xlog && leader_pos >= 0)
				printf(", \"Lag in MB\": %lld",
					   (long long) ((leader_pos > m->xlog_location ? leader_pos - m->xlog_location : 0) / (1024 * 1024)));
			printf("}");
		}
		printf("]\n");
		return 0;
	}

	printf("+ Cluster: %s (%s) +\n", opt->cluster,
		   c->has_initialize ? c->initialize : "uninitialized");
	printf("| %-10s | %-21s | %-7s | %-8s | %3s | %9s |\n",
		   "Member", "Host", "Role", "State", "TL", "Lag in MB");
	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];
		const char *host = strstr(m->conn_url, "://");
		char		hostbuf[64];
		char		lag[32] = "";

		snprintf(hostbuf, sizeof(hostbuf), "%s", host ? host + 3 : m->conn_url);
		hostbuf[strcspn(hostbuf, "/")] = '\0';
		if (!is_leader(c, m))
		{
			if (m->has_xlog && leader_pos >= 0)
				snprintf(lag, sizeof(lag), "%lld",
						 (long long) ((leader_pos > m->xlog_location ? leader_pos - m->xlog_location : 0) / (1024 * 1024)));
			else
				snprintf(lag, sizeof(lag), "unknown");
		}
		printf("| %-10s | %-21s | %-7s | %-8s | %3u | %9s |\n",
			   m->name, hostbuf, is_leader(c, m) ? "Leader" : "Replica",
			   m->state, m->timeline, lag);
	}
	if (c->paused)
		printf(" Maintenance mode: on\n");
	return 0;
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
		pg_log_error_hint("Give --cluster or set PG_HA_CLUSTER.");
		exit(1);
	}
	if (!pgha_valid_name(opt->namespace))
		pg_fatal("invalid namespace \"%s\"", opt->namespace);
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"cluster", required_argument, NULL, OPT_CLUSTER},
		{"namespace", required_argument, NULL, OPT_NAMESPACE},
		{"consul-url", required_argument, NULL, OPT_CONSUL_URL},
		{"format", required_argument, NULL, OPT_FORMAT},
		{"pgdata", required_argument, NULL, 'D'},
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
	opt.timeout = 60;

	while ((c = getopt_long(argc, argv, "D:l:t:V?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case OPT_CLUSTER:
				opt.cluster = optarg;
				break;
			case OPT_NAMESPACE:
				opt.namespace = optarg;
				break;
			case OPT_CONSUL_URL:
				opt.consul_url = optarg;
				break;
			case OPT_FORMAT:
				opt.format = optarg;
				break;
			case 'D':
				opt.pgdata = optarg;
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
			case OPT_SOURCE_CONNINFO:
				opt.source_conninfo = optarg;
				break;
			case 't':
				{
					char	   *end;
					long		v;

					errno = 0;
					v = strtol(optarg, &end, 10);
					if (errno != 0 || end == optarg || *end != '\0' ||
						v < 1 || v > 86400)
						pg_fatal("invalid timeout \"%s\": give seconds, 1 to 86400",
								 optarg);
					opt.timeout = (int) v;
				}
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
	if (optind + 1 < argc)
	{
		pg_log_error("too many command-line arguments (first is \"%s\")",
					 argv[optind + 1]);
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(1);
	}

	if (strcmp(command, "version") == 0)
	{
		printf("pg_ha_ctl %s\n", PG_HA_CTL_VERSION);
		return 0;
	}
	if (strcmp(command, "list") == 0)
	{
		check_cluster_options(&opt);
		if (strcmp(opt.format, "table") != 0 && strcmp(opt.format, "json") != 0)
			pg_fatal("unknown format \"%s\": use table or json", opt.format);
		return cmd_list(&opt);
	}
	if (strcmp(command, "init") == 0)
	{
		check_cluster_options(&opt);
		return cmd_init(&opt);
	}
	if (strcmp(command, "rejoin") == 0)
		return cmd_rejoin(&opt);
	if (strcmp(command, "release") == 0)
	{
		check_cluster_options(&opt);
		return cmd_release(&opt);
	}

	pg_log_error("unknown command \"%s\"", command);
	pg_log_error_hint("Try \"%s --help\" for more information.", progname);
	exit(1);
}
