/*-------------------------------------------------------------------------
 *
 * init_debian.c
 *	  pg_ha_ctl init --debian VERSION/NAME: a Debian cluster as the node.
 *
 * Where the cluster that pg_createcluster made keeps its data,
 * configuration and log, as pg_lsclusters says (postgresql-common, which
 * pg_ctlcluster reads too), and the checks that init can work there: the
 * version, the owner, a writable conf.d that postgresql.conf reads.  And
 * whether a clone may replace the contents of its data directory: only
 * when they are what initdb made.
 *
 * Not for writing its settings (init_conf.c) or starting it with
 * pg_ctlcluster (init_server.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <jansson.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include "common/logging.h"
#include "init.h"
#include "pg_ha_ctl.h"

/* a Debian cluster's file of pg_ha settings, in its conf.d */
#define DEBIAN_CONF_FILE	"99-pg_ha.conf"

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
void
init_plan_debian(const CtlOptions *opt, InitNode *n)
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

	n->pgdata = init_absolute_path(pgdata);
	n->log_file = logfile ? init_absolute_path(logfile) :
		pg_strdup("the log that pg_lsclusters names");
	n->deb_hba_file = hba ? init_absolute_path(hba) : psprintf("%s/pg_hba.conf", confdir);
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

/*
 * May a clone replace the data directory of this Debian cluster?  Only
 * when it holds what initdb made: no database but template1, template0
 * and postgres (OIDs 1, 4 and 5), no tablespace, and its WAL inside.
 * Anything else may be somebody's data: refused, with the reason logged.
 */
bool
init_debian_datadir_replaceable(const InitNode *n, const char *sysid)
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
