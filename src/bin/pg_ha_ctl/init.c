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
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <jansson.h>
#include <pwd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/logging.h"
#include "cluster.h"
#include "libpq-fe.h"
#include "names.h"
#include "pg_ha_ctl.h"

#define CONNECT_DEADLINE_S	60
#define STREAM_DEADLINE_S	30
#define PASSWORD_LEN		32

/* a Debian cluster's file of pg_ha settings, in its conf.d */
#define DEBIAN_CONF_FILE	"99-pg_ha.conf"

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

static double
now_seconds(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

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

static char *
absolute_path(const char *path)
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

/* ----- Debian clusters (--debian) */

static bool
is_directory(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* A string member of a JSON object, or NULL. */
static const char *
json_string_member(json_t *obj, const char *key)
{
	json_t	   *v = json_object_get(obj, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/*
 * Does the postgresql.conf at path read confdir/conf.d (Debian's last
 * line, include_dir = 'conf.d')?  Without it 99-pg_ha.conf would be
 * silently ignored, and the server would start without pg_ha.
 */
static bool
reads_conf_d(const char *path, const char *confdir)
{
	char	   *content = ctl_read_file(path, NULL);
	char	   *absolute = psprintf("%s/conf.d", confdir);
	char	   *line;
	char	   *next;
	bool		found = false;

	if (content == NULL)
		pg_fatal("could not read file \"%s\": %m", path);
	for (line = content; line != NULL && !found; line = next)
	{
		char	   *p = line;
		char	   *end;

		next = strchr(line, '\n');
		if (next != NULL)
			*next++ = '\0';
		p += strspn(p, " \t");
		if (strncmp(p, "include_dir", 11) != 0)
			continue;
		p += 11;
		p += strspn(p, " \t");
		if (*p == '=')
			p++;
		p += strspn(p, " \t");
		if (*p == '\'')
			end = strchr(++p, '\'');
		else
			end = p + strcspn(p, " \t#\r");
		if (end == NULL)
			continue;
		*end = '\0';
		while (end > p && end[-1] == '/')
			*--end = '\0';
		found = strcmp(p, "conf.d") == 0 || strcmp(p, absolute) == 0;
	}
	pg_free(absolute);
	pg_free(content);
	return found;
}

/*
 * --debian VERSION/NAME: where the cluster keeps its configuration, data
 * and log, as pg_lsclusters (postgresql-common, which pg_ctlcluster reads
 * too) says, rather than assumed under /etc/postgresql and
 * /var/lib/postgresql; then check that init can work there.  Exits on a
 * problem.
 */
static void
plan_debian(const CtlOptions *opt, InitNode *n)
{
	const char *slash = strchr(opt->debian, '/');
	const char *argv[5];
	PQExpBufferData out;
	json_t	   *root;
	json_t	   *info;
	json_t	   *config;
	json_error_t jerr;
	const char *pgdata;
	const char *confdir;
	const char *logfile;
	const char *hba;
	const char *preload;
	json_t	   *port;
	char	   *conf_d;
	char	   *conf;
	struct stat st;
	int			rc;

	n->debian = true;
	if (slash == NULL || slash == opt->debian ||
		slash - opt->debian >= (int) sizeof(n->deb_version) ||
		strlen(slash + 1) >= sizeof(n->deb_name) || slash[1] == '\0' ||
		slash[1] == '.' ||
		strspn(slash + 1, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != strlen(slash + 1))
	{
		pg_log_error("invalid Debian cluster \"%s\"", opt->debian);
		pg_log_error_hint("Expected VERSION/NAME, as in 15/main (pg_lsclusters shows them).");
		exit(1);
	}
	snprintf(n->deb_version, sizeof(n->deb_version), "%.*s",
			 (int) (slash - opt->debian), opt->debian);
	strlcpy(n->deb_name, slash + 1, sizeof(n->deb_name));
	if (strcmp(n->deb_version, PG_MAJORVERSION) != 0)
	{
		pg_log_error("Debian cluster %s is of PostgreSQL %s; pg_ha_ctl is built for PostgreSQL %s",
					 opt->debian, n->deb_version, PG_MAJORVERSION);
		exit(1);
	}

	argv[0] = "pg_lsclusters";
	argv[1] = "--json";
	argv[2] = n->deb_version;
	argv[3] = n->deb_name;
	argv[4] = NULL;
	initPQExpBuffer(&out);
	rc = ctl_run_stdout(argv, &out);
	if (rc != 0)
	{
		pg_log_error("pg_lsclusters --json %s %s %s", n->deb_version, n->deb_name,
					 ctl_exit_text(rc));
		if (rc < 0 || rc == 127)
			pg_log_error_hint("--debian needs postgresql-common's pg_lsclusters and pg_ctlcluster on PATH.");
		else
			pg_log_error_hint("Create the cluster first: pg_createcluster %s %s -p PORT",
							  n->deb_version, n->deb_name);
		exit(1);
	}
	root = json_loads(out.data, 0, &jerr);
	termPQExpBuffer(&out);
	info = json_is_array(root) && json_array_size(root) == 1 ?
		json_array_get(root, 0) : NULL;
	pgdata = json_string_member(info, "pgdata");
	confdir = json_string_member(info, "configdir");
	if (pgdata == NULL || confdir == NULL)
		pg_fatal("pg_lsclusters --json %s %s names no data directory or configuration directory",
				 n->deb_version, n->deb_name);
	logfile = json_string_member(info, "logfile");
	config = json_object_get(info, "config");
	hba = json_string_member(config, "hba_file");
	preload = json_string_member(config, "shared_preload_libraries");
	port = json_object_get(info, "port");

	n->pgdata = absolute_path(pgdata);
	n->log_file = logfile ? absolute_path(logfile) :
		pg_strdup("the log that pg_lsclusters names");
	n->deb_hba_file = hba ? absolute_path(hba) : psprintf("%s/pg_hba.conf", confdir);
	n->deb_preload = preload ? pg_strdup(preload) : NULL;
	if (json_is_integer(port))
		n->deb_port = (int) json_integer_value(port);
	else if (json_is_string(port))
		n->deb_port = atoi(json_string_value(port));
	if (n->deb_port < 1 || n->deb_port > 65535)
		pg_fatal("pg_lsclusters names no port for Debian cluster %s", opt->debian);
	conf_d = psprintf("%s/conf.d", confdir);
	conf = psprintf("%s/postgresql.conf", confdir);
	n->deb_conf_file = psprintf("%s/%s", conf_d, DEBIAN_CONF_FILE);

	/* quoted in an include and read by postgresql-common's parser too */
	if (strpbrk(n->pgdata, "'\\\r\n") != NULL)
		pg_fatal("the data directory of Debian cluster %s must not hold quotes, backslashes or line breaks: \"%s\"",
				 opt->debian, n->pgdata);
	if (stat(n->pgdata, &st) != 0 || !S_ISDIR(st.st_mode))
	{
		pg_log_error("the data directory \"%s\" of Debian cluster %s does not exist",
					 n->pgdata, opt->debian);
		pg_log_error_hint("Drop the cluster and create it again: pg_dropcluster %s %s; pg_createcluster %s %s -p PORT",
						  n->deb_version, n->deb_name, n->deb_version, n->deb_name);
		exit(1);
	}
	if (st.st_uid != geteuid())
	{
		struct passwd *pw = getpwuid(st.st_uid);
		char	   *owner_name = pg_strdup(pw ? pw->pw_name : "?");

		pw = getpwuid(geteuid());

		pg_log_error("Debian cluster %s belongs to user \"%s\" (the owner of \"%s\"), not to \"%s\"",
					 opt->debian, owner_name, n->pgdata, pw ? pw->pw_name : "?");
		pg_log_error_detail("init writes its files and starts its server as that user, as pg_ctlcluster does.");
		pg_log_error_hint("Run it as that user: runuser -u %s -- pg_ha_ctl init --debian %s ...",
						  owner_name, opt->debian);
		exit(1);
	}
	if (!is_directory(conf_d) || access(conf_d, W_OK) != 0)
	{
		pg_log_error("Debian cluster %s has no directory \"%s\" that init can write to",
					 opt->debian, conf_d);
		pg_log_error_hint("pg_createcluster makes it, owned by the cluster's owner, and its postgresql.conf reads it (include_dir = 'conf.d').");
		exit(1);
	}
	if (!reads_conf_d(conf, confdir))
	{
		pg_log_error("\"%s\" does not read \"%s\" (include_dir = 'conf.d')", conf, conf_d);
		pg_log_error_hint("init puts pg_ha's settings into %s; add include_dir = 'conf.d' as the last line of postgresql.conf, as pg_createcluster writes it.",
						  n->deb_conf_file);
		exit(1);
	}
	pg_free(conf);
	pg_free(conf_d);
	json_decref(root);
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

	n->passfile = absolute_path(opt->passfile ? opt->passfile : default_passfile());
	if (strpbrk(n->passfile, "'\\\r\n") != NULL)
		pg_fatal("the path of the password file must not hold quotes, backslashes or line breaks: \"%s\"",
				 n->passfile);
	pgha_slot_name(opt->node_name, n->slot, sizeof(n->slot));
	if (opt->debian != NULL)
	{
		plan_debian(opt, n);
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
	n->pgdata = absolute_path(opt->pgdata);
	if (opt->log_file != NULL)
		n->log_file = absolute_path(opt->log_file);
	else
	{
		char		parent[MAXPGPATH];

		strlcpy(parent, n->pgdata, sizeof(parent));
		get_parent_directory(parent);
		n->log_file = psprintf("%s/%s.log", parent[0] ? parent : ".",
							   opt->node_name);
	}
}

/* ----- postgresql.conf */

static void
append_setting_line(PQExpBuffer buf, const char *setting)
{
	char		name[NAMEDATALEN];
	const char *value;
	size_t		len;

	(void) ctl_valid_setting(setting, name, sizeof(name), &value);
	len = strlen(value);
	if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'')
		appendPQExpBuffer(buf, "%s = %s\n", name, value);
	else
		ctl_append_conf_value(buf, name, value);
}

/* The settings that differ from node to node, then --set, then include. */
static void
append_node_block(PQExpBuffer buf, const InitNode *n)
{
	const CtlOptions *opt = n->opt;

	appendPQExpBuffer(buf, "\n# pg_ha_ctl init: settings of node %s\n",
					  opt->node_name);
	if (n->write_port)
		appendPQExpBuffer(buf, "port = %d\n", n->port);
	ctl_append_conf_value(buf, "listen_addresses", n->listen_addresses);
	ctl_append_conf_value(buf, "pg_ha.cluster", opt->cluster);
	ctl_append_conf_value(buf, "pg_ha.namespace", opt->namespace);
	ctl_append_conf_value(buf, "pg_ha.consul_url", opt->consul_url);
	ctl_append_conf_value(buf, "pg_ha.node_name", opt->node_name);
	ctl_append_conf_value(buf, "pg_ha.connect_address", opt->connect_address);
	ctl_append_conf_value(buf, "pg_ha.api_listen", n->api_listen);
	ctl_append_conf_value(buf, "pg_ha.replication_user", n->user);
	ctl_append_conf_value(buf, "pg_ha.passfile", n->passfile);
	/* tags are a node's own: a clone keeps none of its source's */
	appendPQExpBufferStr(buf,
						 "pg_ha.nofailover = off\n"
						 "pg_ha.nosync = off\n"
						 "pg_ha.noloadbalance = off\n"
						 "pg_ha.clonefrom = off\n"
						 "pg_ha.failover_priority = 1\n"
						 "pg_ha.tags = ''\n");
	for (int i = 0; i < opt->nsettings; i++)
		append_setting_line(buf, opt->settings[i]);
	appendPQExpBufferStr(buf, "# last, so that pg_ha's managed settings win\n");
	if (n->debian)
	{
		char	   *path = psprintf("%s/%s", n->pgdata, PGHA_MANAGED_CONF);

		/* a relative include is read from conf.d, not the data directory */
		appendPQExpBufferStr(buf, "# (the full path: a relative one would be taken from conf.d)\n");
		ctl_append_conf_value(buf, "include_if_exists", path);
		pg_free(path);
	}
	else
		appendPQExpBufferStr(buf, PGHA_INCLUDE_LINE "\n");
}

/* Does the comma-separated list hold pg_ha? */
static bool
preloads_pg_ha(const char *list)
{
	const char *p = list;

	while (*p != '\0')
	{
		size_t		len;

		p += strspn(p, " \t,\"");
		len = strcspn(p, " \t,\"");
		if (len == 5 && strncmp(p, "pg_ha", 5) == 0)
			return true;
		p += len;
	}
	return false;
}

/*
 * The settings of the whole cluster: replication, pg_rewind and pg_ha
 * loaded.  A Debian cluster keeps the libraries it loads already.
 */
static void
append_cluster_block(PQExpBuffer buf, const InitNode *n, bool bootstrap)
{
	const CtlOptions *opt = n->opt;
	const char *preload = n->deb_preload;

	if (bootstrap)
		appendPQExpBuffer(buf,
						  "\n# pg_ha_ctl init: settings of cluster %s, bootstrapped by node %s\n",
						  opt->cluster, opt->node_name);
	else
		appendPQExpBuffer(buf, "\n# pg_ha_ctl init: settings of cluster %s\n",
						  opt->cluster);
	appendPQExpBufferStr(buf,
						 "wal_level = replica\n"
						 "hot_standby = on\n"
						 "# pg_rewind needs it\n"
						 "wal_log_hints = on\n"
						 "max_wal_senders = 10\n"
						 "max_replication_slots = 10\n"
						 "wal_keep_size = '128MB'\n");
	if (preload == NULL || preload[strspn(preload, " \t,\"")] == '\0')
		ctl_append_conf_value(buf, "shared_preload_libraries", "pg_ha");
	else if (preloads_pg_ha(preload))
		ctl_append_conf_value(buf, "shared_preload_libraries", preload);
	else
	{
		char	   *both = psprintf("%s, pg_ha", preload);

		ctl_append_conf_value(buf, "shared_preload_libraries", both);
		pg_free(both);
	}
}

/* The lines of pg_hba.conf for the other nodes' replication and pg_rewind. */
#define HBA_MARKER "# pg_ha_ctl init: replication and pg_rewind connections of the other nodes"

static void
append_hba_lines(PQExpBuffer buf, const InitNode *n)
{
	appendPQExpBuffer(buf,
					  "\n" HBA_MARKER "\n"
					  "host    replication     %-15s all    scram-sha-256\n"
					  "host    postgres        %-15s all    scram-sha-256\n",
					  n->user, n->user);
}

/* Does a --set carry a secret (the Consul token, the API's credentials)? */
static bool
sets_secret(const CtlOptions *opt)
{
	for (int i = 0; i < opt->nsettings; i++)
	{
		char		name[NAMEDATALEN];
		const char *value;

		if (ctl_valid_setting(opt->settings[i], name, sizeof(name), &value) &&
			(pg_strcasecmp(name, "pg_ha.consul_token") == 0 ||
			 pg_strcasecmp(name, "pg_ha.api_auth") == 0))
			return true;
	}
	return false;
}

static bool
append_to_datadir_file(const InitNode *n, const char *file, const char *text)
{
	char	   *path = psprintf("%s/%s", n->pgdata, file);
	bool		ok = ctl_write_file(path, text, S_IRUSR | S_IWUSR, true);

	pg_free(path);
	return ok;
}

/*
 * A Debian cluster's configuration: pg_ha's settings in
 * conf.d/99-pg_ha.conf, replaced (postgresql.conf reads conf.d last, so
 * they win over its own), and the lines of the other nodes in its
 * pg_hba.conf unless it has them: a clone brings neither file, as Debian
 * keeps them out of the data directory.  The file is readable by all, as
 * postgresql.conf is, unless --set puts a secret in it.
 */
static bool
configure_debian(const InitNode *n, bool bootstrap)
{
	PQExpBufferData text;
	char	   *hba;
	bool		ok;

	initPQExpBuffer(&text);
	appendPQExpBuffer(&text,
					  "# pg_ha's settings of Debian cluster %s/%s, written by pg_ha_ctl init.\n"
					  "# postgresql.conf reads conf.d last, in name order (include_dir): they win.\n",
					  n->deb_version, n->deb_name);
	append_cluster_block(&text, n, bootstrap);
	append_node_block(&text, n);
	if (unlink(n->deb_conf_file) != 0 && errno != ENOENT)
	{
		pg_log_error("could not remove file \"%s\": %m", n->deb_conf_file);
		return false;
	}
	ok = ctl_write_file(n->deb_conf_file, text.data,
						sets_secret(n->opt) ? S_IRUSR | S_IWUSR :
						S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH, false);
	termPQExpBuffer(&text);
	if (!ok)
		return false;

	hba = ctl_read_file(n->deb_hba_file, NULL);
	if (hba == NULL)
	{
		pg_log_error("could not read file \"%s\": %m", n->deb_hba_file);
		return false;
	}
	initPQExpBuffer(&text);
	append_hba_lines(&text, n);
	/* without its leading blank line: as an earlier init appended it */
	if (strstr(hba, text.data + 1) != NULL)
		printf("Wrote %s (pg_ha, replication); %s has the lines of role \"%s\" already\n",
			   n->deb_conf_file, n->deb_hba_file, n->user);
	else
	{
		ok = ctl_write_file(n->deb_hba_file, text.data, S_IRUSR | S_IWUSR, true);
		if (ok)
			printf("Wrote %s (pg_ha, replication) and added role \"%s\" to %s\n",
				   n->deb_conf_file, n->user, n->deb_hba_file);
	}
	termPQExpBuffer(&text);
	pg_free(hba);
	return ok;
}

/* ----- the server */

static void
print_log_tail(const char *log_file, int lines)
{
	size_t		len;
	char	   *content = ctl_read_file(log_file, &len);
	const char *start;
	int			seen = 0;

	if (content == NULL || len == 0)
	{
		pg_free(content);
		return;
	}
	start = content + len;
	if (start > content && start[-1] == '\n')
		start--;
	while (start > content && seen < lines)
	{
		start--;
		if (*start == '\n')
			seen++;
	}
	if (*start == '\n')
		start++;
	fprintf(stderr, "Last lines of the server log %s:\n%s%s", log_file, start,
			content[len - 1] == '\n' ? "" : "\n");
	pg_free(content);
}

/* A Debian cluster starts as pg_ctlcluster starts it, with its options. */
static bool
start_server(const InitNode *n)
{
	const char *argv[] = {ctl_tool("pg_ctl"), "start", "-D", n->pgdata, "-w",
	"-l", n->log_file, NULL};
	const char *deb_argv[] = {"pg_ctlcluster", n->deb_version, n->deb_name,
	"start", NULL};
	int			rc;

	printf("Starting the server (log: %s)\n", n->log_file);
	if (n->debian)
		ctl_print_command(stdout, "Running: ", deb_argv);
	rc = ctl_run(n->debian ? deb_argv : argv, NULL);
	if (rc != 0)
	{
		pg_log_error("could not start the server in \"%s\": %s %s",
					 n->pgdata, n->debian ? "pg_ctlcluster" : "pg_ctl",
					 ctl_exit_text(rc));
		print_log_tail(n->log_file, 10);
		pg_log_error_hint("See the server log \"%s\".", n->log_file);
		return false;
	}
	return true;
}

/* The server's first Unix socket directory, from postmaster.pid. */
static char *
socket_directory(const InitNode *n)
{
	char	   *path = psprintf("%s/postmaster.pid", n->pgdata);
	char	   *content = ctl_read_file(path, NULL);
	char	   *line;
	char	   *result = NULL;
	int			lineno = 1;

	pg_free(path);
	if (content == NULL)
		return NULL;
	for (line = content; line != NULL && lineno <= 5; lineno++)
	{
		char	   *next = strchr(line, '\n');

		if (next != NULL)
			*next++ = '\0';
		if (lineno == 5 && line[0] != '\0')	/* LOCK_FILE_LINE_SOCKET_DIR */
			result = pg_strdup(line);
		line = next;
	}
	pg_free(content);
	return result;
}

/* A connection to the local server as the bootstrap superuser. */
static PGconn *
connect_local(const InitNode *n)
{
	char	   *sockdir = socket_directory(n);
	char		port[16];
	const char *keywords[] = {"host", "port", "dbname", "connect_timeout",
	"fallback_application_name", NULL};
	const char *values[6];
	PGconn	   *conn;

	snprintf(port, sizeof(port), "%d", n->port);
	values[0] = sockdir ? sockdir : n->connect_host;
	values[1] = port;
	values[2] = "postgres";
	values[3] = "5";
	values[4] = "pg_ha_ctl";
	values[5] = NULL;
	conn = PQconnectdbParams(keywords, values, 0);
	pg_free(sockdir);
	return conn;
}

/*
 * Wait until the server accepts a connection: a new primary refuses them
 * until its HA worker holds the leader key.
 */
static PGconn *
wait_for_connection(const InitNode *n, const char *why)
{
	double		deadline = now_seconds() + CONNECT_DEADLINE_S;
	char	   *last_error = NULL;
	bool		said = false;

	for (;;)
	{
		PGconn	   *conn = connect_local(n);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			pg_free(last_error);
			return conn;
		}
		pg_free(last_error);
		last_error = pg_strdup(PQerrorMessage(conn));
		PQfinish(conn);
		if (!said)
		{
			printf("Waiting for %s (up to %d s)\n", why, CONNECT_DEADLINE_S);
			fflush(stdout);
			said = true;
		}
		if (now_seconds() >= deadline)
			break;
		pg_usleep(200 * 1000L);
	}
	pg_log_error("the server in \"%s\" accepted no connection within %d s", n->pgdata,
				 CONNECT_DEADLINE_S);
	pg_log_error_detail("Last error: %s", last_error);
	if (n->debian)
		pg_log_error_hint("The server is running (log: \"%s\"); stop it with \"pg_ctlcluster %s %s stop\" and fix the cause.",
						  n->log_file, n->deb_version, n->deb_name);
	else
		pg_log_error_hint("The server is running (log: \"%s\"); stop it with \"pg_ctl stop -D %s\", fix the cause, then remove the directory and run init again.",
						  n->log_file, n->pgdata);
	pg_free(last_error);
	return NULL;
}

static bool
exec_ok(PGconn *conn, const char *sql, const char *what)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		pg_log_error("could not %s: %s", what, PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/*
 * Create (or, should it exist, update) the replication role with the
 * password, and grant it what pg_rewind needs.  Nothing of it is logged:
 * the statements go with log_statement off, and carry the SCRAM secret
 * rather than the password.
 */
static bool
create_replication_role(PGconn *conn, const InitNode *n, const char *password)
{
	const char *params[1] = {n->user};
	PGresult   *res;
	bool		exists;
	char	   *secret;
	char	   *literal;
	char	   *ident;
	PQExpBufferData sql;
	bool		ok;

	if (!exec_ok(conn, "SET log_statement = 'none'", "turn statement logging off") ||
		!exec_ok(conn, "SET log_min_error_statement = 'panic'", "turn statement logging off") ||
		!exec_ok(conn, "SET log_min_duration_statement = -1", "turn statement logging off"))
		return false;

	res = PQexecParams(conn, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_error("could not look for role \"%s\": %s", n->user, PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	exists = PQntuples(res) > 0;
	PQclear(res);

	secret = PQencryptPasswordConn(conn, password, n->user, NULL);
	if (secret == NULL)
	{
		pg_log_error("could not encrypt the password: %s", PQerrorMessage(conn));
		return false;
	}
	literal = PQescapeLiteral(conn, secret, strlen(secret));
	ident = PQescapeIdentifier(conn, n->user, strlen(n->user));
	explicit_bzero(secret, strlen(secret));
	PQfreemem(secret);
	if (literal == NULL || ident == NULL)
	{
		pg_log_error("could not quote the role: %s", PQerrorMessage(conn));
		return false;
	}

	initPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "%s ROLE %s WITH REPLICATION LOGIN PASSWORD %s",
					  exists ? "ALTER" : "CREATE", ident, literal);
	ok = exec_ok(conn, sql.data, exists ? "alter the replication role" :
				 "create the replication role");
	explicit_bzero(sql.data, sql.len);
	explicit_bzero(literal, strlen(literal));
	PQfreemem(literal);

	if (ok)
	{
		resetPQExpBuffer(&sql);
		appendPQExpBuffer(&sql,
						  "GRANT EXECUTE ON FUNCTION "
						  "pg_catalog.pg_ls_dir(text, boolean, boolean), "
						  "pg_catalog.pg_stat_file(text, boolean), "
						  "pg_catalog.pg_read_binary_file(text), "
						  "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) "
						  "TO %s", ident);
		ok = exec_ok(conn, sql.data, "grant the functions of pg_rewind");
	}
	if (ok)
	{
		/* so that rejoin can make a new leader checkpoint before pg_rewind */
		resetPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "GRANT pg_checkpoint TO %s", ident);
		ok = exec_ok(conn, sql.data, "grant pg_checkpoint");
	}
	termPQExpBuffer(&sql);
	PQfreemem(ident);
	if (ok)
		printf("%s role \"%s\" (REPLICATION LOGIN, the functions pg_rewind needs, pg_checkpoint)\n",
			   exists ? "Updated" : "Created", n->user);
	return ok;
}

/* ----- the three ways */

static int
bootstrap(const InitNode *n)
{
	const CtlOptions *opt = n->opt;
	char	   *password = NULL;
	bool		new_password = false;
	bool		created = false;
	bool		started = false;
	PQExpBufferData conf;
	PGconn	   *conn;
	int			rc;
	const char *initdb_argv[] = {ctl_tool("initdb"), "-D", n->pgdata,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
	"--no-instructions", NULL};

	printf("Cluster \"%s\" is not known to Consul at %s: bootstrapping it with node \"%s\"\n",
		   opt->cluster, opt->consul_url, opt->node_name);

	/* the password first: a failure here changes nothing */
	rc = ctl_passfile_lookup(n->passfile, n->user, &password);
	if (rc < 0)
		return 1;
	if (rc == 0)
	{
		password = pg_malloc(PASSWORD_LEN + 1);
		if (!ctl_random_password(password, PASSWORD_LEN + 1) ||
			!ctl_passfile_add(n->passfile, n->user, password))
			return 1;
		new_password = true;
		printf("Added a random password for role \"%s\" to the password file %s\n",
			   n->user, n->passfile);
	}
	else
		printf("Using the password of role \"%s\" from the password file %s\n",
			   n->user, n->passfile);

	if (n->debian)
	{
		/* its initdb options (locale, checksums) are pg_createcluster's */
		printf("Keeping the data directory %s that pg_createcluster made\n", n->pgdata);
		if (!configure_debian(n, true))
			goto fail;
	}
	else
	{
		ctl_print_command(stdout, "Running: ", initdb_argv);
		rc = ctl_run(initdb_argv, NULL);
		if (rc != 0)
		{
			pg_log_error("initdb %s", ctl_exit_text(rc));
			goto fail;
		}
		created = true;

		initPQExpBuffer(&conf);
		append_cluster_block(&conf, n, true);
		append_node_block(&conf, n);
		if (!append_to_datadir_file(n, "postgresql.conf", conf.data))
			goto fail;
		resetPQExpBuffer(&conf);
		append_hba_lines(&conf, n);
		if (!append_to_datadir_file(n, "pg_hba.conf", conf.data))
			goto fail;
		termPQExpBuffer(&conf);
		printf("Configured %s/postgresql.conf (pg_ha, replication) and pg_hba.conf (role \"%s\")\n",
			   n->pgdata, n->user);
	}

	started = true;
	if (!start_server(n))
		goto fail;
	conn = wait_for_connection(n, "the HA worker to take the leader key");
	if (conn == NULL)
		goto fail;
	if (!create_replication_role(conn, n, password))
	{
		PQfinish(conn);
		goto fail;
	}
	PQfinish(conn);
	explicit_bzero(password, strlen(password));
	pg_free(password);

	printf("\nNode \"%s\" bootstrapped cluster \"%s\" and is its leader.\n",
		   opt->node_name, opt->cluster);
	if (n->debian)
		printf("  Debian cluster:   %s/%s\n"
			   "  settings:         %s\n",
			   n->deb_version, n->deb_name, n->deb_conf_file);
	printf("  data directory:   %s\n"
		   "  server log:       %s\n"
		   "  connect address:  %s\n"
		   "  replication role: %s (password in %s)\n"
		   "Copy the password file to the hosts of the other nodes (mode 0600), then run\n"
		   "\"pg_ha_ctl init\" there to clone them from this node.\n",
		   n->pgdata, n->log_file, opt->connect_address, n->user, n->passfile);
	return 0;

fail:
	if (password != NULL)
	{
		explicit_bzero(password, strlen(password));
		pg_free(password);
	}
	if (new_password)
		pg_log_info("the password of role \"%s\" stays in %s, for the next attempt",
					n->user, n->passfile);
	if (created)
		pg_log_info("remove the data directory \"%s\" (stop its server first, if it runs) before running init again",
					n->pgdata);
	if (n->debian && started)
		pg_log_info("stop Debian cluster %s/%s (pg_ctlcluster %s %s stop) and delete the keys its HA worker may have written (pg_ha_ctl remove %s) before running init again",
					n->deb_version, n->deb_name, n->deb_version, n->deb_name,
					opt->cluster);
	return 1;
}

/*
 * Run pg_basebackup; *slot_exists tells whether it failed on an existing
 * slot, *bad_password whether the leader refused the password, and
 * *no_password whether libpq found no line of the password file that
 * matches.  use_slot false: no slot on the source (a replica), -X stream
 * takes a temporary one.
 */
static int
run_basebackup(const InitNode *n, const char *conninfo, bool use_slot,
			   bool create_slot,
			   bool *slot_exists, bool *bad_password, bool *no_password)
{
	const char *argv[16];
	int			i = 0;
	PQExpBufferData out;
	int			rc;

	argv[i++] = ctl_tool("pg_basebackup");
	argv[i++] = "-D";
	argv[i++] = n->pgdata;
	argv[i++] = "-d";
	argv[i++] = conninfo;
	argv[i++] = "-X";
	argv[i++] = "stream";
	argv[i++] = "-c";
	argv[i++] = "fast";
	argv[i++] = "-w";
	if (use_slot && create_slot)
		argv[i++] = "-C";
	if (use_slot)
	{
		argv[i++] = "-S";
		argv[i++] = n->slot;
	}
	argv[i] = NULL;

	ctl_print_command(stdout, "Running: ", argv);
	initPQExpBuffer(&out);
	rc = ctl_run(argv, &out);
	if (out.len > 0)
		fputs(out.data, stderr);
	*slot_exists = rc != 0 && strstr(out.data, "already exists") != NULL &&
		strstr(out.data, "replication slot") != NULL;
	*bad_password = rc != 0 &&
		strstr(out.data, "password authentication failed") != NULL;
	*no_password = rc != 0 && strstr(out.data, "no password supplied") != NULL;
	termPQExpBuffer(&out);
	return rc;
}

static int
wait_for_streaming(const InitNode *n, const char *leader)
{
	double		deadline = now_seconds() + STREAM_DEADLINE_S;

	while (now_seconds() < deadline)
	{
		PGconn	   *conn = connect_local(n);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			PGresult   *res = PQexec(conn,
									 "SELECT status FROM pg_catalog.pg_stat_wal_receiver");
			bool		streaming = PQresultStatus(res) == PGRES_TUPLES_OK &&
				PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "streaming") == 0;

			PQclear(res);
			PQfinish(conn);
			if (streaming)
			{
				printf("Node \"%s\" streams from the leader \"%s\"\n", n->opt->node_name, leader);
				return 0;
			}
		}
		else
			PQfinish(conn);
		pg_usleep(200 * 1000L);
	}
	pg_log_warning("node \"%s\" does not stream from \"%s\" yet after %d s",
				   n->opt->node_name, leader, STREAM_DEADLINE_S);
	pg_log_warning_hint("See the server log \"%s\".", n->log_file);
	return 1;
}

/*
 * A physical replication connection to host:port as the replication role,
 * with the password file only; NULL (the error in *err, pg_strdup'ed) when
 * it fails.
 */
static PGconn *
connect_replication(const InitNode *n, const char *host, int port, char **err)
{
	const char *keywords[] = {"host", "port", "user", "passfile", "replication",
	"connect_timeout", "fallback_application_name", NULL};
	const char *values[8];
	char		portstr[16];
	PGconn	   *conn;

	snprintf(portstr, sizeof(portstr), "%d", port);
	values[0] = host;
	values[1] = portstr;
	values[2] = n->user;
	values[3] = n->passfile;
	values[4] = "true";
	values[5] = "5";
	values[6] = "pg_ha_ctl";
	values[7] = NULL;
	conn = PQconnectdbParams(keywords, values, 0);
	if (PQstatus(conn) == CONNECTION_OK)
		return conn;
	*err = pg_strdup(PQerrorMessage(conn));
	PQfinish(conn);
	return NULL;
}

/*
 * Does the server at host:port take our replication connection as a
 * server of this cluster (IDENTIFY_SYSTEM: the initialize key's system
 * identifier)?  False with the reason printed.
 */
static bool
clone_source_answers(const InitNode *n, const PgHaCluster *c,
					 const PgHaMember *m, const char *host, int port)
{
	char	   *err = NULL;
	PGconn	   *conn = connect_replication(n, host, port, &err);
	PGresult   *res;
	bool		ok;

	if (conn == NULL)
	{
		printf("Replica \"%s\" (tagged clonefrom) does not take a replication connection: %s",
			   m->name, err);
		pg_free(err);
		return false;
	}
	res = PQexec(conn, "IDENTIFY_SYSTEM");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		PQnfields(res) >= 2 && strcmp(PQgetvalue(res, 0, 0), c->initialize) == 0;
	if (!ok)
		printf("Replica \"%s\" (tagged clonefrom) is no server of cluster \"%s\" (system identifier %s)\n",
			   m->name, n->opt->cluster, c->initialize);
	PQclear(res);
	PQfinish(conn);
	return ok;
}

/*
 * Patroni's clonefrom (get_clone_member): a running replica tagged
 * clonefrom is the source of a new node's base backup, so that the leader
 * does not carry it; the leader otherwise.  A replica qualifies only when
 * it looks streaming: on the leader's timeline, within
 * maximum_lag_on_failover of the leader's position, and answering a
 * replication connection as a server of this cluster.  The first one by
 * name (Patroni picks one at random).  NULL: clone from the leader.
 */
static const PgHaMember *
clone_source(const InitNode *n, const PgHaCluster *c, const PgHaMember *leader,
			 char *host, size_t hostlen, int *port)
{
	int64		leader_pos = 0;
	bool		has_pos = ctl_leader_position(c, &leader_pos);

	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];

		if (!m->clonefrom || m == leader ||
			strcmp(m->name, n->opt->node_name) == 0)
			continue;
		if (strcmp(m->state, "running") != 0 || strcmp(m->role, "replica") != 0)
		{
			printf("Replica \"%s\" is tagged clonefrom but is not a running replica (%s, %s)\n",
				   m->name, m->state, m->role);
			continue;
		}
		if (!pgha_split_conn_url(m->conn_url, host, hostlen, port))
		{
			printf("Replica \"%s\" is tagged clonefrom but publishes an unusable conn_url\n",
				   m->name);
			continue;
		}
		if (!m->has_xlog ||
			(leader->timeline != 0 && m->timeline != leader->timeline) ||
			(has_pos && leader_pos - m->xlog_location > c->max_lag_on_failover))
		{
			printf("Replica \"%s\" is tagged clonefrom but does not stream from the leader, or lags behind it\n",
				   m->name);
			continue;
		}
		if (!clone_source_answers(n, c, m, host, *port))
			continue;
		return m;
	}
	return NULL;
}

/*
 * Before a clone from a replica: this node's slot on the leader, holding
 * the leader's WAL from now on, so that the new node finds there what it
 * needs once the backup is done (the slot a clone from the leader gets
 * with pg_basebackup -C).  A slot that exists already is used; a failure
 * is only a warning: the leader creates the slot when the node joins.
 */
static void
reserve_slot_on_leader(const InitNode *n, const char *host, int port)
{
	char	   *err = NULL;
	PGconn	   *conn = connect_replication(n, host, port, &err);
	PGresult   *res;
	char	   *sql;

	if (conn == NULL)
	{
		pg_log_warning("could not reserve slot \"%s\" on the leader: %s", n->slot, err);
		pg_free(err);
		return;
	}
	sql = psprintf("CREATE_REPLICATION_SLOT \"%s\" PHYSICAL RESERVE_WAL", n->slot);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		printf("Created slot \"%s\" on the leader at %s:%d\n", n->slot, host, port);
	else if (strstr(PQerrorMessage(conn), "already exists") != NULL)
		printf("Slot \"%s\" exists on the leader already: using it\n", n->slot);
	else
		pg_log_warning("could not reserve slot \"%s\" on the leader: %s",
					   n->slot, PQerrorMessage(conn));
	PQclear(res);
	pg_free(sql);
	PQfinish(conn);
}

static int
clone_from_leader(const InitNode *n, const PgHaCluster *c)
{
	const CtlOptions *opt = n->opt;
	const PgHaMember *leader = pgha_find_member(c, c->leader);
	char		host[256];
	int			port;
	char		portstr[16];
	char	   *password = NULL;
	int			rc;
	bool		slot_exists;
	bool		bad_password;
	bool		no_password;
	PQExpBufferData conninfo;
	PQExpBufferData text;
	const PgHaMember *source;
	char		src_host[256];
	int			src_port;
	static const char *const copied[] = {PGHA_SESSION_FILE, PGHA_MANAGED_CONF,
	"postmaster.opts", "recovery.signal", NULL};

	if (leader == NULL)
	{
		pg_log_error("the leader \"%s\" of cluster \"%s\" has published no member record",
					 c->leader, opt->cluster);
		pg_log_error_hint("Retry in a few seconds, once the leader's HA worker has published it.");
		return 1;
	}
	if (!pgha_split_conn_url(leader->conn_url, host, sizeof(host), &port))
	{
		pg_log_error("the leader \"%s\" of cluster \"%s\" publishes an unusable conn_url \"%s\"",
					 leader->name, opt->cluster, leader->conn_url);
		return 1;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);

	rc = ctl_passfile_lookup(n->passfile, n->user, &password);
	if (rc < 0)
		return 1;
	if (rc == 0)
	{
		if (ctl_file_exists(n->passfile))
			pg_log_error("the password file \"%s\" holds no password for role \"%s\"",
						 n->passfile, n->user);
		else
			pg_log_error("the password file \"%s\" does not exist: it must hold the password of role \"%s\"",
						 n->passfile, n->user);
		pg_log_error_detail("A clone connects to the leader with the password of this file only; PGPASSWORD is not used.");
		pg_log_error_hint("Copy the password file of the cluster's first node here (mode 0600), or give it with --passfile.");
		return 1;
	}
	explicit_bzero(password, strlen(password));
	pg_free(password);

	/* pg_basebackup needs it empty: the directory itself stays, as it is */
	if (n->debian && pg_check_dir(n->pgdata) >= 2)
	{
		printf("Removing the contents of %s, made by pg_createcluster, to clone into it\n",
			   n->pgdata);
		if (!rmtree(n->pgdata, false))
		{
			pg_log_error("could not remove the contents of \"%s\"", n->pgdata);
			return 1;
		}
	}

	initPQExpBuffer(&conninfo);
	ctl_append_conninfo_value(&conninfo, "host", host);
	ctl_append_conninfo_value(&conninfo, "port", portstr);
	ctl_append_conninfo_value(&conninfo, "user", n->user);
	ctl_append_conninfo_value(&conninfo, "passfile", n->passfile);

	rc = 1;
	source = clone_source(n, c, leader, src_host, sizeof(src_host), &src_port);
	if (source != NULL)
	{
		PQExpBufferData src;

		printf("Cloning node \"%s\" from replica \"%s\" (tagged clonefrom) of cluster \"%s\" at %s:%d\n",
			   opt->node_name, source->name, opt->cluster, src_host, src_port);
		reserve_slot_on_leader(n, host, port);
		snprintf(portstr, sizeof(portstr), "%d", src_port);
		initPQExpBuffer(&src);
		ctl_append_conninfo_value(&src, "host", src_host);
		ctl_append_conninfo_value(&src, "port", portstr);
		ctl_append_conninfo_value(&src, "user", n->user);
		ctl_append_conninfo_value(&src, "passfile", n->passfile);
		rc = run_basebackup(n, src.data, false, false, &slot_exists,
							&bad_password, &no_password);
		termPQExpBuffer(&src);
		snprintf(portstr, sizeof(portstr), "%d", port);
		if (rc != 0)
		{
			int			dir = pg_check_dir(n->pgdata);

			/* pg_basebackup cleans up after itself: the leader is left */
			if (dir != 0 && dir != 1)
			{
				pg_log_error("pg_basebackup from replica \"%s\" %s and left files in \"%s\"",
							 source->name, ctl_exit_text(rc), n->pgdata);
				return 1;
			}
			printf("pg_basebackup from replica \"%s\" %s: cloning from the leader instead\n",
				   source->name, ctl_exit_text(rc));
			source = NULL;
		}
	}
	if (source == NULL)
	{
		printf("Cloning node \"%s\" from the leader \"%s\" of cluster \"%s\" at %s:%d\n",
			   opt->node_name, leader->name, opt->cluster, host, port);
		rc = run_basebackup(n, conninfo.data, true, true, &slot_exists,
							&bad_password, &no_password);
	}
	if (rc != 0 && slot_exists)
	{
		int			dir = pg_check_dir(n->pgdata);

		if (dir != 0 && dir != 1)
		{
			pg_log_error("pg_basebackup left files in \"%s\"", n->pgdata);
			return 1;
		}
		printf("Slot \"%s\" exists on the leader already: using it\n", n->slot);
		rc = run_basebackup(n, conninfo.data, true, false, &slot_exists,
							&bad_password, &no_password);
	}
	if (rc != 0)
	{
		pg_log_error("pg_basebackup %s", ctl_exit_text(rc));
		if (bad_password)
			pg_log_error_hint("The leader at %s:%d refused the password of role \"%s\" in \"%s\": copy the password file of the cluster's first node here (mode 0600).",
							  host, port, n->user, n->passfile);
		else if (no_password)
			pg_log_error_hint("No line of \"%s\" for role \"%s\" matches host %s port %d; a line \"*:*:*:%s:PASSWORD\" matches every host.",
							  n->passfile, n->user, host, port, n->user);
		else
			pg_log_error_hint("Check that the leader at %s:%d accepts replication connections of role \"%s\" (pg_hba.conf) with the password in \"%s\".",
							  host, port, n->user, n->passfile);
		return 1;
	}

	/* what belongs to the source, not to this node */
	for (int i = 0; copied[i] != NULL; i++)
	{
		char	   *path = psprintf("%s/%s", n->pgdata, copied[i]);

		if (unlink(path) == 0)
			printf("Removed %s copied from %s\n", copied[i],
				   source != NULL ? "the replica" : "the leader");
		pg_free(path);
	}

	initPQExpBuffer(&text);
	if (n->debian)
	{
		if (!configure_debian(n, false))
			return 1;
	}
	else
	{
		append_node_block(&text, n);
		if (!append_to_datadir_file(n, "postgresql.conf", text.data))
			return 1;
		printf("Appended the settings of node \"%s\" to %s/postgresql.conf\n",
			   opt->node_name, n->pgdata);
	}

	if (!append_to_datadir_file(n, "standby.signal", ""))
		return 1;

	/* as the HA worker will write it (it rewrites the file when it runs) */
	resetPQExpBuffer(&text);
	appendPQExpBufferStr(&text,
						 "# Written by pg_ha_ctl init; the HA worker rewrites this file: do not edit.\n");
	ctl_append_conninfo_value(&conninfo, "application_name", opt->node_name);
	ctl_append_conf_value(&text, "primary_conninfo", conninfo.data);
	ctl_append_conf_value(&text, "primary_slot_name", n->slot);
	appendPQExpBufferStr(&text, "recovery_target_timeline = 'latest'\n");
	{
		char	   *path = psprintf("%s/%s", n->pgdata, PGHA_MANAGED_CONF);

		if (!ctl_write_file(path, text.data, S_IRUSR | S_IWUSR, false))
			return 1;
		pg_free(path);
	}
	printf("Wrote standby.signal and %s (primary_conninfo to %s:%d, slot \"%s\")\n",
		   PGHA_MANAGED_CONF, host, port, n->slot);
	termPQExpBuffer(&text);
	termPQExpBuffer(&conninfo);

	if (!start_server(n))
		return 1;
	(void) wait_for_streaming(n, leader->name);

	printf("\nNode \"%s\" joined cluster \"%s\" as a replica of \"%s\".\n",
		   opt->node_name, opt->cluster, leader->name);
	if (n->debian)
		printf("  Debian cluster:   %s/%s\n"
			   "  settings:         %s\n",
			   n->deb_version, n->deb_name, n->deb_conf_file);
	printf("  data directory:   %s\n"
		   "  server log:       %s\n"
		   "  connect address:  %s\n"
		   "  replication slot: %s (on the leader)\n",
		   n->pgdata, n->log_file, opt->connect_address, n->slot);
	return 0;
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
	if (!start_server(n))
		return 1;
	printf("Started the existing node in \"%s\" (log: %s)\n", n->pgdata, n->log_file);
	return 0;
}

/*
 * May a clone replace the data directory of this Debian cluster?  Only
 * when it holds what initdb made: no database but template1, template0
 * and postgres (OIDs 1, 4 and 5), no tablespace, and its WAL inside.
 * Anything else may be somebody's data: refused, with the reason logged.
 */
static bool
debian_datadir_replaceable(const InitNode *n, const char *sysid)
{
	static const char *const initdb_dbs[] = {"1", "4", "5", "pgsql_tmp", NULL};
	char	   *base = psprintf("%s/base", n->pgdata);
	char	   *tblspc = psprintf("%s/pg_tblspc", n->pgdata);
	char	   *wal = psprintf("%s/pg_wal", n->pgdata);
	char	   *found = NULL;
	struct stat st;
	DIR		   *dir;
	struct dirent *de;

	dir = opendir(base);
	if (dir == NULL)
		pg_fatal("could not open directory \"%s\": %m", base);
	while (found == NULL && (de = readdir(dir)) != NULL)
	{
		int			i;

		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		for (i = 0; initdb_dbs[i] != NULL; i++)
			if (strcmp(de->d_name, initdb_dbs[i]) == 0)
				break;
		if (initdb_dbs[i] == NULL)
			found = psprintf("the database of directory %s/%s", base, de->d_name);
	}
	closedir(dir);
	if (found == NULL && pg_check_dir(tblspc) >= 2)
		found = psprintf("a tablespace in %s", tblspc);
	if (found == NULL && lstat(wal, &st) == 0 && S_ISLNK(st.st_mode))
		found = psprintf("its WAL in another directory (%s is a symbolic link)", wal);
	if (found != NULL)
	{
		pg_log_error("Debian cluster %s/%s (system identifier %s) is not of cluster \"%s\", and it holds %s",
					 n->deb_version, n->deb_name, sysid, n->opt->cluster, found);
		pg_log_error_detail("init --debian replaces the contents of a data directory by a clone of the leader only when it holds no more than what initdb made.");
		pg_log_error_hint("Give a new cluster (pg_createcluster %s NAME -p PORT), or, if its data may go, drop this one and create it again.",
						  n->deb_version);
	}
	pg_free(base);
	pg_free(tblspc);
	pg_free(wal);
	return found == NULL;
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
		return bootstrap(&n);
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
	if (n.debian && dir >= 2 && !debian_datadir_replaceable(&n, sysid))
		return 1;
	return clone_from_leader(&n, c);
}
