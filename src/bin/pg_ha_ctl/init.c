/*-------------------------------------------------------------------------
 *
 * init.c
 *	  pg_ha_ctl init: create a node of a pg_ha cluster, or start one.
 *
 * What init does depends on the data directory and on what Consul holds
 * under <namespace>/<cluster>/:
 *
 *	- an empty (or new) directory, a cluster Consul has never seen:
 *	  bootstrap.  initdb, the settings of a pg_ha node, the replication
 *	  role with a random password kept in the libpq password file, then
 *	  start: the HA worker initializes the cluster in Consul and takes the
 *	  leader key;
 *	- an empty directory, a cluster with a leader: clone.  pg_basebackup
 *	  from the leader through this node's physical slot (or from a
 *	  streaming replica tagged clonefrom, the slot reserved on the leader
 *	  first, as Patroni's clonefrom tag asks), the node's own
 *	  settings, standby.signal and pg_ha.conf (primary_conninfo and
 *	  primary_slot_name; the HA worker rewrites it later), then start;
 *	- the data directory of a node of the cluster (same system identifier
 *	  as the initialize key): start it.
 *
 * Everything else is refused before anything is changed: a non-empty
 * directory that is not a data directory, a data directory of another
 * database cluster, a node name a live member uses, a cluster without a
 * leader to clone from.
 *
 * With --debian VERSION/NAME the node is a Debian cluster that
 * pg_createcluster made, stopped: its directories come from pg_lsclusters,
 * pg_ha's settings go into conf.d/99-pg_ha.conf of its configuration
 * directory (Debian keeps none in the data directory), and pg_ctlcluster
 * starts it.  A bootstrap keeps the data directory, without initdb; a clone
 * replaces its contents, which must be only what initdb made, keeping the
 * directory itself; the data directory of a node of the cluster is started.
 *
 * The password of the replication role is read from, or written to, the
 * password file only: it is never on a command line, in Consul, in a
 * server log or printed.  The role is created with the SCRAM secret that
 * libpq computes, so even the server never sees the password in clear.
 * The caller's PGPASSWORD, PGSERVICE and PGUSER are dropped first, so that
 * they reach neither init's connections nor its children (see
 * drop_libpq_overrides).
 *
 * The command, its options and the choice between the three ways are
 * here; each way and what they share live in the files init.h names.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <pwd.h>
#include <unistd.h>

#include "common/logging.h"
#include "cluster.h"
#include "init.h"
#include "libpq-fe.h"
#include "names.h"
#include "pg_ha_ctl.h"

static bool
valid_consul_url(const char *url)
{
	const char *host;

	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
		return false;
	return *host != '\0' && *host != '/' && *host != ':' &&
		strlen(url) <= 512 && strpbrk(url, " \t\r\n?#'\\") == NULL &&
		url[strlen(url) - 1] != '/';
}

char *
init_absolute_path(const char *path)
{
	char	   *abs = make_absolute_path(path);

	if (abs == NULL)
		pg_fatal("could not make \"%s\" an absolute path", path);
	canonicalize_path(abs);
	return abs;
}

static char *
default_passfile(void)
{
	const char *home = getenv("HOME");

	if (home == NULL || home[0] == '\0')
	{
		struct passwd *pw = getpwuid(geteuid());

		if (pw == NULL || pw->pw_dir == NULL)
			pg_fatal("cannot find the home directory for the default password file");
		home = pw->pw_dir;
	}
	return psprintf("%s/.pgpass", home);
}

/*
 * Remove from our environment, hence from every child's (pg_basebackup,
 * initdb, pg_ctl and the server it starts), the libpq variables that would
 * win over what init names: PGPASSWORD wins over passfile=, so a DBA
 * shell's password broke the clone and, inherited by the server, its
 * walreceiver; a PGSERVICE may bring a password, or name a service this
 * host lacks; PGUSER would replace the bootstrap superuser of our local
 * connections.  init's connections name host, port, user and passfile, so
 * libpq then takes the password from the password file itself: it never
 * travels in an environment or on a command line.
 */
static void
drop_libpq_overrides(void)
{
	static const char *const vars[] = {"PGPASSWORD", "PGSERVICE", "PGUSER", NULL};
	PQExpBufferData dropped;

	initPQExpBuffer(&dropped);
	for (int i = 0; vars[i] != NULL; i++)
	{
		if (getenv(vars[i]) == NULL)
			continue;
		if (unsetenv(vars[i]) != 0)
			pg_fatal("could not unset environment variable \"%s\": %m", vars[i]);
		appendPQExpBuffer(&dropped, "%s%s", dropped.len > 0 ? ", " : "", vars[i]);
	}
	if (dropped.len > 0)
		printf("Ignoring %s of the environment: init uses its own role and password file\n",
			   dropped.data);
	termPQExpBuffer(&dropped);
}

/* Apply defaults and check every option; exits on a bad one. */
static void
plan_node(const CtlOptions *opt, InitNode *n)
{
	memset(n, 0, sizeof(*n));
	n->opt = opt;

	if (opt->pgdata == NULL && opt->debian == NULL)
	{
		pg_log_error("no data directory given");
		pg_log_error_hint("Give -D DATADIR or set PGDATA, or --debian VERSION/NAME for a Debian cluster.");
		exit(1);
	}
	if (opt->node_name == NULL)
	{
		pg_log_error("no node name given");
		pg_log_error_hint("Give --node-name or set PG_HA_NODE_NAME.");
		exit(1);
	}
	if (!pgha_valid_name(opt->node_name))
	{
		pg_log_error("invalid node name \"%s\"", opt->node_name);
		pg_log_error_hint("A name may hold letters, digits, \"_\", \".\" and \"-\", at most %d of them.",
						  PGHA_NAME_LEN - 1);
		exit(1);
	}
	if (!valid_consul_url(opt->consul_url))
	{
		pg_log_error("invalid Consul URL \"%s\"", opt->consul_url);
		pg_log_error_hint("Give the agent's HTTP API as http(s)://host:port, as in http://127.0.0.1:8500.");
		exit(1);
	}
	if (opt->connect_address == NULL)
	{
		pg_log_error("no connect address given");
		pg_log_error_hint("Give --connect-address HOST:PORT (or set PG_HA_CONNECT_ADDRESS): where the other nodes reach this one.");
		exit(1);
	}
	if (!ctl_split_host_port(opt->connect_address, true, n->connect_host,
							 sizeof(n->connect_host), &n->connect_port))
	{
		pg_log_error("invalid connect address \"%s\"", opt->connect_address);
		pg_log_error_hint("Expected host:port, as in 10.0.0.11:5432.");
		exit(1);
	}
	n->port = n->connect_port;
	n->write_port = true;
	if (opt->port != NULL)
	{
		char	   *end;
		long		v;

		errno = 0;
		v = strtol(opt->port, &end, 10);
		if (errno != 0 || end == opt->port || *end != '\0' || v < 1 || v > 65535)
			pg_fatal("invalid port \"%s\"", opt->port);
		n->port = (int) v;
	}
	n->listen_addresses = opt->listen_addresses ? opt->listen_addresses :
		n->connect_host;
	if (n->listen_addresses[0] == '\0' || strpbrk(n->listen_addresses, "'\\\r\n") != NULL)
		pg_fatal("invalid listen addresses \"%s\"", n->listen_addresses);
	n->api_listen = opt->api_listen ? opt->api_listen : ":8008";
	{
		char		host[256];
		int			port;

		if (!ctl_split_host_port(n->api_listen, false, host, sizeof(host), &port))
		{
			pg_log_error("invalid API address \"%s\"", n->api_listen);
			pg_log_error_hint("Expected [host]:port, as in 0.0.0.0:8008 or :8008.");
			exit(1);
		}
	}
	n->user = opt->replication_user ? opt->replication_user : "replicator";
	if (!ctl_valid_role_name(n->user))
	{
		pg_log_error("invalid replication user \"%s\"", n->user);
		pg_log_error_hint("A role name without blanks, quotes, colons or backslashes is expected.");
		exit(1);
	}
	for (int i = 0; i < opt->nsettings; i++)
	{
		char		name[NAMEDATALEN];
		const char *value;

		if (!ctl_valid_setting(opt->settings[i], name, sizeof(name), &value))
		{
			pg_log_error("invalid setting \"%s\"", opt->settings[i]);
			pg_log_error_hint("Expected --set name=value, as in --set pg_ha.ttl=30s.");
			exit(1);
		}
	}

	n->passfile = init_absolute_path(opt->passfile ? opt->passfile : default_passfile());
	if (strpbrk(n->passfile, "'\\\r\n") != NULL)
		pg_fatal("the path of the password file must not hold quotes, backslashes or line breaks: \"%s\"",
				 n->passfile);
	pgha_slot_name(opt->node_name, n->slot, sizeof(n->slot));
	if (opt->debian != NULL)
	{
		init_plan_debian(opt, n);
		/* the port pg_createcluster chose stays, unless --port moves it */
		if (opt->port == NULL)
		{
			n->port = n->deb_port;
			n->write_port = false;
			if (n->port != n->connect_port)
			{
				pg_log_warning("Debian cluster %s listens on port %d, but --connect-address names port %d",
							   opt->debian, n->port, n->connect_port);
				pg_log_warning_hint("The other nodes reach this one at the connect address; give --port=%d to move the server there.",
									n->connect_port);
			}
		}
		return;
	}
	n->pgdata = init_absolute_path(opt->pgdata);
	if (opt->log_file != NULL)
		n->log_file = init_absolute_path(opt->log_file);
	else
	{
		char		parent[MAXPGPATH];

		strlcpy(parent, n->pgdata, sizeof(parent));
		get_parent_directory(parent);
		n->log_file = psprintf("%s/%s.log", parent[0] ? parent : ".",
							   opt->node_name);
	}
}

/*
 * The lines about the node that bootstrap and clone both print last, after
 * their first line and before their own.
 */
void
init_print_node(const InitNode *n)
{
	if (n->debian)
		printf("  Debian cluster:   %s/%s\n"
			   "  settings:         %s\n",
			   n->deb_version, n->deb_name, n->deb_conf_file);
	printf("  data directory:   %s\n"
		   "  server log:       %s\n"
		   "  connect address:  %s\n",
		   n->pgdata, n->log_file, n->opt->connect_address);
}

static const PgHaMember *
live_member(const PgHaCluster *c, const char *name)
{
	const PgHaMember *m = pgha_find_member(c, name);

	return (m != NULL && m->session[0] != '\0') ? m : NULL;
}

static void
refuse_used_name(const InitNode *n, const PgHaCluster *c)
{
	const CtlOptions *opt = n->opt;
	const PgHaMember *m = live_member(c, opt->node_name);
	bool		leads = c->has_leader && c->leader_session[0] != '\0' &&
		strcmp(c->leader, opt->node_name) == 0;

	if (m == NULL && !leads)
		return;
	pg_log_error("node name \"%s\" is already used in cluster \"%s\"",
				 opt->node_name, opt->cluster);
	if (m != NULL)
		pg_log_error_detail("Member \"%s\" is alive at %s (Consul session %s).",
							m->name, m->conn_url[0] ? m->conn_url : "an unknown address",
							m->session);
	pg_log_error_hint("Give this node another --node-name; a name is free again once its node has stopped.");
	exit(1);
}

/* Is the data directory of our major version?  False when not, logged. */
static bool
check_pg_version(const InitNode *n)
{
	char	   *path = psprintf("%s/PG_VERSION", n->pgdata);
	char	   *version = ctl_read_file(path, NULL);

	if (version == NULL)
		pg_fatal("could not read file \"%s\": %m", path);
	version[strcspn(version, "\r\n")] = '\0';
	if (strcmp(version, PG_MAJORVERSION) != 0)
	{
		pg_log_error("data directory \"%s\" is of PostgreSQL %s, not %s",
					 n->pgdata, version, PG_MAJORVERSION);
		return false;
	}
	pg_free(version);
	pg_free(path);
	return true;
}

/* An existing data directory: start it if it belongs to the cluster. */
static int
start_existing(const InitNode *n, const PgHaCluster *c, bool found)
{
	const CtlOptions *opt = n->opt;
	char		sysid[32];

	if (!check_pg_version(n))
		return 1;
	if (!ctl_read_sysid(n->pgdata, sysid, sizeof(sysid)))
		return 1;
	if (!found || !c->has_initialize)
	{
		pg_log_error("\"%s\" holds a database cluster (system identifier %s), but cluster \"%s\" has no initialize key in Consul at %s",
					 n->pgdata, sysid, opt->cluster, opt->consul_url);
		pg_log_error_hint("init bootstraps a cluster into an empty directory only. To make this database the cluster's first node, configure pg_ha in its postgresql.conf and start it.");
		return 1;
	}
	if (strcmp(sysid, c->initialize) != 0)
	{
		pg_log_error("data directory \"%s\" belongs to another database cluster: its system identifier is %s, cluster \"%s\" has system identifier %s",
					 n->pgdata, sysid, opt->cluster, c->initialize);
		pg_log_error_hint("Give an empty directory to clone a new node from the leader, or the data directory of a node of cluster \"%s\".",
						  opt->cluster);
		return 1;
	}
	if (ctl_server_running(n->pgdata))
	{
		printf("Data directory \"%s\" belongs to cluster \"%s\" (system identifier %s) and its server is running already: nothing to do\n",
			   n->pgdata, opt->cluster, sysid);
		return 0;
	}
	refuse_used_name(n, c);
	printf("Data directory \"%s\" belongs to cluster \"%s\" (system identifier %s): starting it\n",
		   n->pgdata, opt->cluster, sysid);
	if (!init_start_server(n))
		return 1;
	printf("Started the existing node in \"%s\" (log: %s)\n", n->pgdata, n->log_file);
	return 0;
}

int
cmd_init(CtlOptions *opt)
{
	InitNode	n;
	PgHaCluster *c;
	bool		found;
	bool		is_datadir = false;
	int			dir;
	char		sysid[32] = "";

	plan_node(opt, &n);
	drop_libpq_overrides();

	dir = pg_check_dir(n.pgdata);
	if (dir < 0)
		pg_fatal("could not access directory \"%s\": %m", n.pgdata);
	if (dir >= 2)
	{
		char	   *version = psprintf("%s/PG_VERSION", n.pgdata);

		is_datadir = ctl_file_exists(version);
		pg_free(version);
		if (!is_datadir)
		{
			pg_log_error("directory \"%s\" exists but is not empty, and it is not a PostgreSQL data directory",
						 n.pgdata);
			if (n.debian)
				pg_log_error_hint("Drop Debian cluster %s and create it again: pg_dropcluster %s %s; pg_createcluster %s %s -p PORT",
								  opt->debian, n.deb_version, n.deb_name,
								  n.deb_version, n.deb_name);
			else
				pg_log_error_hint("Give a new or empty directory to create a node, or the data directory of a node of cluster \"%s\" to start it.",
								  opt->cluster);
			return 1;
		}
	}

	c = pg_malloc0(sizeof(PgHaCluster));
	if (!ctl_read_cluster(opt, c, &found))
		return 1;

	/*
	 * A Debian cluster's data directory is a node of the cluster (started),
	 * or pg_createcluster's, which a bootstrap keeps and a clone replaces.
	 * It must be stopped for those: the settings take effect at a start.
	 */
	if (is_datadir && n.debian)
	{
		if (!check_pg_version(&n) || !ctl_read_sysid(n.pgdata, sysid, sizeof(sysid)))
			return 1;
		is_datadir = found && c->has_initialize && strcmp(sysid, c->initialize) == 0;
		if (!is_datadir && ctl_server_running(n.pgdata))
		{
			pg_log_error("Debian cluster %s is running", opt->debian);
			pg_log_error_detail("init configures it for pg_ha, which takes effect at a start, and a clone replaces its data directory.");
			pg_log_error_hint("Stop it first: pg_ctlcluster %s %s stop", n.deb_version,
							  n.deb_name);
			return 1;
		}
	}
	if (is_datadir)
		return start_existing(&n, c, found);

	refuse_used_name(&n, c);
	if (!found || !c->has_initialize)
	{
		if (c->has_leader && c->leader_session[0] != '\0')
		{
			pg_log_error("cluster \"%s\" has a leader (\"%s\") but no initialize key in Consul at %s",
						 opt->cluster, c->leader, opt->consul_url);
			pg_log_error_hint("Was the key deleted? The leader writes it again; retry in a few seconds.");
			return 1;
		}
		if (n.debian && dir <= 1)
		{
			pg_log_error("the data directory \"%s\" of Debian cluster %s is empty: nothing to bootstrap",
						 n.pgdata, opt->debian);
			pg_log_error_hint("Drop the cluster and create it again: pg_dropcluster %s %s; pg_createcluster %s %s -p PORT",
							  n.deb_version, n.deb_name, n.deb_version, n.deb_name);
			return 1;
		}
		return init_bootstrap(&n);
	}
	if (!c->has_leader || c->leader_session[0] == '\0')
	{
		pg_log_error("cluster \"%s\" has no leader to clone from", opt->cluster);
		pg_log_error_detail("Consul at %s knows the cluster (system identifier %s), but no node holds its leader key.",
							opt->consul_url, c->initialize);
		pg_log_error_hint("Retry once a leader exists (pg_ha_ctl list shows it).");
		return 1;
	}
	/* an empty one is left by a clone that failed: clone into it again */
	if (n.debian && dir >= 2 && !init_debian_datadir_replaceable(&n, sysid))
		return 1;
	return init_clone_from_leader(&n, c);
}
