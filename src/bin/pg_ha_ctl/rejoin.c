/*-------------------------------------------------------------------------
 *
 * rejoin.c
 *	  pg_ha_ctl rejoin: restart a primary as a standby, rewound if needed.
 *
 * PostgreSQL cannot turn a running primary into a standby: it must be
 * stopped and started again, and if its timeline diverged from the new
 * leader's it must be rewound first.  A process inside the postmaster
 * cannot do that to its own server, so the HA worker writes standby.signal
 * and pg_ha.conf, then starts `pg_ha_ctl rejoin` detached, with the
 * server's own stderr.  Its steps:
 *
 *	1. read postmaster.opts, to start the server again with its options;
 *	2. stop the server (fast; immediate if that does not finish in time);
 *	3. with --source-conninfo, pg_rewind from that server, keeping this
 *	   node's configuration files: pg_rewind copies the source's, which
 *	   would give this node the leader's name.  A server that crashed as a
 *	   primary is brought to a clean shutdown by pg_rewind itself (single
 *	   user crash recovery, which the signal files must not turn into
 *	   standby mode); one that crashed as a standby is started once as a
 *	   standby and stopped cleanly, since single user mode cannot run a
 *	   standby;
 *	4. make sure standby.signal exists;
 *	5. start the server with pg_ctl, without -l: the server inherits the
 *	   stderr of this process, so its log goes on in the same file.
 *
 * Each step is logged to stderr as "pg_ha_ctl rejoin: ...".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "common/logging.h"
#include "libpq-fe.h"
#include "pg_ha_ctl.h"

/*
 * Files of the data directory that belong to this node and that pg_rewind
 * would overwrite with the source's, or delete when the source has none.
 */
static const char *const node_files[] = {
	"postgresql.conf",
	"postgresql.auto.conf",
	"pg_hba.conf",
	"pg_ident.conf",
	PGHA_MANAGED_CONF_FILE,
	"standby.signal",
	"recovery.signal",
	PGHA_SESSION_FILE,
	NULL
};

/* a shell word for pg_ctl -o: pg_ctl hands that string to /bin/sh */
static void
append_shell_word(PQExpBuffer buf, const char *word)
{
	if (buf->len > 0)
		appendPQExpBufferChar(buf, ' ');
	appendPQExpBufferChar(buf, '\'');
	for (; *word; word++)
	{
		if (*word == '\'')
			appendPQExpBufferStr(buf, "'\\''");
		else
			appendPQExpBufferChar(buf, *word);
	}
	appendPQExpBufferChar(buf, '\'');
}

/*
 * The options the server was started with, from postmaster.opts
 * ("/path/postgres" "-D" "/data" "-c" "x=y"...), without the program and
 * -D, as one string for pg_ctl -o.  NULL when there is no such file.
 */
static char *
read_postmaster_opts(const char *pgdata)
{
	char	   *path = psprintf("%s/postmaster.opts", pgdata);
	char	   *content = ctl_read_file(path, NULL);
	PQExpBufferData opts;
	const char *p;
	bool		skip_next = false;
	char	   *result;

	pg_free(path);
	if (content == NULL)
		return NULL;
	content[strcspn(content, "\n")] = '\0';
	initPQExpBuffer(&opts);
	p = strstr(content, " \"");
	while (p != NULL)
	{
		const char *start;
		const char *end;
		char	   *arg;

		p = strchr(p, '"');
		if (p == NULL)
			break;
		start = p + 1;
		/* an argument ends at a quote followed by a blank or the end */
		end = start;
		while ((end = strchr(end, '"')) != NULL && end[1] != '\0' && end[1] != ' ')
			end++;
		if (end == NULL)
			break;
		arg = pnstrdup(start, end - start);
		p = end + 1;

		if (skip_next)
			skip_next = false;
		else if (strcmp(arg, "-D") == 0)
			skip_next = true;
		else if (strncmp(arg, "-D", 2) != 0)
			append_shell_word(&opts, arg);
		pg_free(arg);
	}
	pg_free(content);
	result = pg_strdup(opts.data);
	termPQExpBuffer(&opts);
	return result;
}

static bool
stop_server(const char *pgdata, int timeout)
{
	char		t[16];
	const char *argv[] = {ctl_tool("pg_ctl"), "stop", "-D", pgdata, "-m", "fast",
	"-w", "-t", t, NULL};
	int			rc;

	snprintf(t, sizeof(t), "%d", timeout);
	pg_log_info("stopping the server (fast shutdown, up to %d s)", timeout);
	rc = ctl_run(argv, NULL);
	if (rc == 0)
		return true;
	if (!ctl_server_running(pgdata))
		return true;
	pg_log_warning("the fast shutdown did not finish (pg_ctl %s): stopping the server with an immediate shutdown",
				   ctl_exit_text(rc));
	argv[5] = "immediate";
	rc = ctl_run(argv, NULL);
	if (rc == 0 || !ctl_server_running(pgdata))
		return true;
	pg_log_error("could not stop the server in \"%s\": pg_ctl %s", pgdata,
				 ctl_exit_text(rc));
	return false;
}

static bool
rewind_from_source(const char *pgdata, const char *source)
{
	const char *tmpdir = getenv("TMPDIR");
	char	   *saved_dir;
	bool		saved[lengthof(node_files)];
	char	   *arg = psprintf("--source-server=%s", source);
	const char *argv[] = {ctl_tool("pg_rewind"), "-D", pgdata, arg, NULL};
	bool		ok = true;
	int			rc;

	saved_dir = psprintf("%s/pg_ha_ctl_rejoin.XXXXXX",
						 tmpdir && tmpdir[0] ? tmpdir : "/tmp");
	if (mkdtemp(saved_dir) == NULL)
	{
		pg_log_error("could not create a temporary directory \"%s\": %m", saved_dir);
		return false;
	}
	for (int i = 0; node_files[i] != NULL; i++)
	{
		char	   *from = psprintf("%s/%s", pgdata, node_files[i]);
		char	   *to = psprintf("%s/%s", saved_dir, node_files[i]);

		saved[i] = ctl_file_exists(from);
		if (saved[i] && !ctl_copy_file(from, to))
			ok = false;
		pg_free(from);
		pg_free(to);
	}
	if (!ok)
	{
		pg_log_error("could not save the configuration files to \"%s\": not rewinding",
					 saved_dir);
		return false;
	}
	pg_log_info("saved the configuration files of this node in \"%s\"", saved_dir);

	/*
	 * Should pg_rewind have to finish a crash recovery in single user mode,
	 * a signal file would ask for standby mode, which single user mode
	 * refuses.  They are restored below.
	 */
	for (int i = 0; node_files[i] != NULL; i++)
	{
		if (saved[i] && strstr(node_files[i], ".signal") != NULL)
		{
			char	   *path = psprintf("%s/%s", pgdata, node_files[i]);

			(void) unlink(path);
			pg_free(path);
		}
	}

	pg_log_info("running pg_rewind from %s", source);
	rc = ctl_run(argv, NULL);
	if (rc != 0)
		pg_log_error("pg_rewind %s", ctl_exit_text(rc));

	/* whatever pg_rewind did, this node keeps its own files */
	for (int i = 0; node_files[i] != NULL; i++)
	{
		char	   *path = psprintf("%s/%s", pgdata, node_files[i]);
		char	   *copy = psprintf("%s/%s", saved_dir, node_files[i]);

		if (saved[i])
		{
			if (!ctl_copy_file(copy, path))
			{
				pg_log_error("could not restore \"%s\": a copy is in \"%s\"",
							 path, saved_dir);
				pg_free(path);
				pg_free(copy);
				return false;
			}
			(void) unlink(copy);
		}
		else if (unlink(path) == 0)
			pg_log_info("removed %s that pg_rewind copied from the source",
						node_files[i]);
		pg_free(path);
		pg_free(copy);
	}
	(void) rmdir(saved_dir);
	pg_log_info("restored the configuration files of this node");
	pg_free(saved_dir);
	pg_free(arg);
	return rc == 0;
}

/*
 * pg_rewind compares the timelines of the control files.  A freshly
 * promoted source writes its new timeline there only at its first
 * checkpoint after the promotion, which PostgreSQL 15 spreads over
 * minutes: until then pg_rewind sees one timeline and answers "no rewind
 * required" for a server that did diverge.  So wait until the source's
 * last checkpoint is on its current timeline, asking it for a checkpoint
 * (the replication role of pg_ha_ctl init is in pg_checkpoint).  False
 * when the source did not get there in time; true too when it cannot be
 * asked (pg_rewind then says what is wrong with the connection).
 */
static bool
source_checkpointed(const char *conninfo, int timeout)
{
	const char *keywords[] = {"connect_timeout", "fallback_application_name",
	"dbname", NULL};
	const char *values[] = {"10", "pg_ha_ctl rejoin", conninfo, NULL};
	time_t		deadline = time(NULL) + timeout;
	bool		asked = false;
	PGconn	   *conn;

	conn = PQconnectdbParams(keywords, values, 1);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		pg_log_warning("could not connect to the source: %s", PQerrorMessage(conn));
		PQfinish(conn);
		return true;
	}
	for (;;)
	{
		PGresult   *res;
		int			current;
		int			checkpoint;

		res = PQexec(conn,
					 "SELECT pg_catalog.pg_is_in_recovery(), "
					 "CASE WHEN NOT pg_catalog.pg_is_in_recovery() THEN "
					 "('x' || substr(pg_catalog.pg_walfile_name(pg_catalog.pg_current_wal_lsn()), 1, 8))::bit(32)::int END, "
					 "(SELECT timeline_id FROM pg_catalog.pg_control_checkpoint())");
		if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		{
			pg_log_warning("could not read the timelines of the source: %s",
						   PQerrorMessage(conn));
			PQclear(res);
			break;
		}
		if (strcmp(PQgetvalue(res, 0, 0), "t") == 0)
		{
			/* a standby as source: its restartpoints follow its timeline */
			PQclear(res);
			break;
		}
		current = atoi(PQgetvalue(res, 0, 1));
		checkpoint = atoi(PQgetvalue(res, 0, 2));
		PQclear(res);
		if (checkpoint >= current)
		{
			if (asked)
				pg_log_info("the last checkpoint of the source is on its timeline %d now",
							current);
			break;
		}
		if (!asked)
		{
			pg_log_info("the last checkpoint of the source is on timeline %d, before its timeline %d: asking it for a checkpoint",
						checkpoint, current);
			res = PQexec(conn, "CHECKPOINT");
			if (PQresultStatus(res) != PGRES_COMMAND_OK)
				pg_log_info("the source refused (%s): waiting for its next checkpoint",
							PQresultErrorMessage(res));
			PQclear(res);
			asked = true;
			continue;
		}
		if (time(NULL) >= deadline)
		{
			pg_log_error("the source has not checkpointed on its timeline %d within %d s: pg_rewind would compare stale timelines",
						 current, timeout);
			pg_log_error_hint("Run CHECKPOINT on the leader, then pg_ha_ctl rejoin again.");
			PQfinish(conn);
			return false;
		}
		pg_usleep(1000 * 1000L);
	}
	PQfinish(conn);
	return true;
}

/* pg_ctl start, with the server's output on our stdout (made our stderr) */
static int
start_server(const char *pgdata, const char *opts, int timeout)
{
	char		t[16];
	const char *argv[12];
	int			i = 0;

	snprintf(t, sizeof(t), "%d", timeout);
	argv[i++] = ctl_tool("pg_ctl");
	argv[i++] = "start";
	argv[i++] = "-D";
	argv[i++] = pgdata;
	argv[i++] = "-w";
	argv[i++] = "-t";
	argv[i++] = t;
	if (opts != NULL && opts[0] != '\0')
	{
		argv[i++] = "-o";
		argv[i++] = opts;
	}
	argv[i] = NULL;
	return ctl_run(argv, NULL);
}

/* The state of the cluster in its control file. */
static DBState
control_state(const char *pgdata)
{
	bool		crc_ok;
	ControlFileData *control = get_controlfile(pgdata, &crc_ok);
	DBState		state = control->state;

	if (!crc_ok)
		pg_fatal("the control file of \"%s\" has a bad checksum", pgdata);
	pg_free(control);
	return state;
}

/*
 * A standby that did not shut down cleanly: pg_rewind cannot finish its
 * recovery (single user mode does no standby mode), so start it once as a
 * standby and stop it cleanly.
 */
static bool
clean_standby_shutdown(const char *pgdata, const char *opts, int timeout)
{
	int			rc;

	pg_log_info("the server did not shut down cleanly as a standby: starting it as a standby once, so that it shuts down cleanly for pg_rewind");
	rc = start_server(pgdata, opts, timeout);
	if (rc != 0)
		pg_log_error("could not start the server: pg_ctl %s", ctl_exit_text(rc));
	if (ctl_server_running(pgdata) && !stop_server(pgdata, timeout))
		return false;
	return rc == 0 && control_state(pgdata) == DB_SHUTDOWNED_IN_RECOVERY;
}

int
cmd_rejoin(CtlOptions *opt)
{
	char	   *pgdata;
	char	   *opts;
	int			rc;

	/* every message of this command says which command it comes from */
	pg_logging_init("pg_ha_ctl rejoin");

	/*
	 * pg_ctl without -l sends the server's output to its stdout: make ours
	 * our stderr, which is where the server's log goes on.
	 */
	fflush(stdout);
	if (dup2(STDERR_FILENO, STDOUT_FILENO) < 0)
		pg_log_warning("could not send standard output to standard error: %m");

	if (opt->pgdata == NULL)
	{
		pg_log_error("no data directory given");
		pg_log_error_hint("Give -D DATADIR or set PGDATA.");
		return 1;
	}
	pgdata = make_absolute_path(opt->pgdata);
	if (pgdata == NULL)
		pg_fatal("could not make \"%s\" an absolute path", opt->pgdata);
	canonicalize_path(pgdata);
	{
		char	   *version = psprintf("%s/PG_VERSION", pgdata);
		char	   *control = psprintf("%s/global/pg_control", pgdata);

		if (!ctl_file_exists(version) || !ctl_file_exists(control))
			pg_fatal("\"%s\" is not a PostgreSQL data directory", pgdata);
		pg_free(version);
		pg_free(control);
	}
	pg_log_info("restarting the server in \"%s\" as a standby%s", pgdata,
				opt->source_conninfo ? ", rewound from the leader if needed" : "");

	opts = read_postmaster_opts(pgdata);
	if (opts == NULL)
		pg_log_info("no postmaster.opts: the server starts without command-line options");
	else
		pg_log_info("the server will start with the options it had: %s",
					opts[0] ? opts : "(none)");

	if (ctl_server_running(pgdata))
	{
		if (!stop_server(pgdata, opt->timeout))
			return 1;
		pg_log_info("the server is stopped");
	}
	else
		pg_log_info("the server is not running");

	/* the server comes back as a standby, whatever happens below */
	{
		char	   *signal = psprintf("%s/standby.signal", pgdata);

		if (!ctl_file_exists(signal))
		{
			if (!ctl_write_file(signal, "", S_IRUSR | S_IWUSR, false))
				return 1;
			pg_log_info("created standby.signal");
		}
		pg_free(signal);
	}

	if (opt->source_conninfo != NULL)
	{
		bool		ok = true;

		if (control_state(pgdata) == DB_IN_ARCHIVE_RECOVERY)
			ok = clean_standby_shutdown(pgdata, opts, opt->timeout);
		if (ok)
			ok = source_checkpointed(opt->source_conninfo, opt->timeout);
		if (ok)
			ok = rewind_from_source(pgdata, opt->source_conninfo);
		if (!ok)
		{
			pg_log_error_hint("The server stays stopped.  Clone the node again (pg_ha_ctl init into an empty directory), or fix the cause and run pg_ha_ctl rejoin again.");
			return 1;
		}
	}

	pg_log_info("starting the server as a standby");
	rc = start_server(pgdata, opts, opt->timeout);
	if (rc != 0)
	{
		pg_log_error("could not start the server: pg_ctl %s", ctl_exit_text(rc));
		return 1;
	}
	pg_log_info("the server runs as a standby");
	return 0;
}
