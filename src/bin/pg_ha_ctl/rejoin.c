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
 *	   would give this node the leader's name.  The directory is first
 *	   brought to a clean shutdown: one that crashed as a primary through
 *	   single user crash recovery (with the signal files set aside, since
 *	   single user mode refuses standby mode), one that crashed as a
 *	   standby by starting it once as a standby.  A dry run comes first,
 *	   so that a failure before pg_rewind writes anything (the source
 *	   unreachable: a second fault during the rejoin) is told from one
 *	   after.  The first kind is tried again for up to --timeout seconds,
 *	   then the server starts as a standby with its data as it was: its
 *	   HA worker asks for a rejoin again once it can reach the leader.
 *	   A failure after pg_rewind began to write leaves a directory that
 *	   PostgreSQL's documentation holds lost: the node is cloned again
 *	   (reclone.c), its former directory kept for the DBA.  With
 *	   --reinit, the node is cloned again without trying pg_rewind;
 *	4. make sure standby.signal exists;
 *	5. start the server with pg_ctl, without -l: the server inherits the
 *	   stderr of this process, so its log goes on in the same file.
 *
 * Each step is logged to stderr as "pg_ha_ctl rejoin: ...".
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog_internal.h"
#include "access/xlogrecord.h"
#include "catalog/pg_control.h"
#include "common/controldata_utils.h"
#include "common/file_perm.h"
#include "common/logging.h"
#include "libpq-fe.h"
#include "pg_ha_ctl.h"
#include "wal_check.h"

/*
 * Files of the data directory that belong to this node and that pg_rewind
 * or pg_basebackup would overwrite with the source's, or delete when the
 * source has none.
 */
const char *const ctl_node_files[] = {
	"postgresql.conf",
	"postgresql.auto.conf",
	"pg_hba.conf",
	"pg_ident.conf",
	PGHA_MANAGED_CONF,
	"standby.signal",
	"recovery.signal",
	PGHA_SESSION_FILE,
	"pg_ha.callbacks",
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

/*
 * The source's conninfo with bounds on every wait: pg_rewind and the
 * checkpoint query set none, and a leader that vanishes without a reset
 * (host lost, packets dropped) would hold them until TCP gives up, many
 * minutes.  Settings the conninfo gives are kept.
 */
static const char *const source_bounds[][2] = {
	{"connect_timeout", "10"},
	{"keepalives", "1"},
	{"keepalives_idle", "5"},
	{"keepalives_interval", "2"},
	{"keepalives_count", "3"},
	{"tcp_user_timeout", "10000"},
};

static char *
bounded_conninfo(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	PQExpBufferData buf;
	char	   *result;

	if (opts == NULL)
		return pg_strdup(conninfo);	/* pg_rewind says what is wrong */
	initPQExpBuffer(&buf);
	for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
	{
		const char *value = o->val;

		for (int i = 0; value == NULL && i < lengthof(source_bounds); i++)
			if (strcmp(o->keyword, source_bounds[i][0]) == 0)
				value = source_bounds[i][1];
		if (value != NULL)
			ctl_append_conninfo_value(&buf, o->keyword, value);
	}
	PQconninfoFree(opts);
	result = pg_strdup(buf.data);
	termPQExpBuffer(&buf);
	return result;
}

/*
 * Finish the crash recovery of a server that crashed as a primary, in
 * single user mode as pg_rewind would: its dry run skips that step and
 * would judge the directory as it is.  Single user mode refuses standby
 * mode, so the signal files are set aside meanwhile.  It gets the options
 * the server had: under Debian's layout, -c config_file names the
 * configuration, which the data directory does not hold.
 */
static bool
finish_crash_recovery(const char *pgdata, const char *opts)
{
	static const char *const signals[] = {"standby.signal", "recovery.signal"};
	bool		had[lengthof(signals)];
	/* opts is made of shell-quoted words (read_postmaster_opts) */
	char	   *script = psprintf("exec \"$0\" --single -F -D \"$1\" %s template1 < /dev/null",
								  opts ? opts : "");
	const char *argv[] = {"/bin/sh", "-c", script, ctl_tool("postgres"), pgdata, NULL};
	bool		ok = true;
	int			rc;

	for (int i = 0; i < lengthof(signals); i++)
	{
		char	   *path = psprintf("%s/%s", pgdata, signals[i]);

		had[i] = unlink(path) == 0;
		pg_free(path);
	}
	pg_log_info("the server crashed as a primary: finishing its crash recovery in single user mode");
	rc = ctl_run(argv, NULL);
	if (rc != 0)
	{
		pg_log_error("single user crash recovery %s", ctl_exit_text(rc));
		ok = false;
	}
	pg_free(script);
	for (int i = 0; i < lengthof(signals); i++)
	{
		char	   *path = psprintf("%s/%s", pgdata, signals[i]);

		if (had[i] && !ctl_write_file(path, "", S_IRUSR | S_IWUSR, false))
			ok = false;
		pg_free(path);
	}
	return ok;
}

/*
 * pg_rewind --dry-run: everything pg_rewind does (connect, find where the
 * timelines forked, list and read the files) except writing.  It fails for
 * the reasons the real run fails before its point of no return, and
 * leaves the data directory as it was.
 */
static bool
rewind_dry_run(const char *pgdata, const char *source)
{
	char	   *arg = psprintf("--source-server=%s", source);
	const char *argv[] = {ctl_tool("pg_rewind"), "--dry-run", "-D", pgdata, arg, NULL};
	int			rc;

	pg_log_info("checking the rewind with pg_rewind --dry-run");
	rc = ctl_run(argv, NULL);
	pg_free(arg);
	if (rc != 0)
		pg_log_warning("pg_rewind --dry-run %s: the data directory is untouched", ctl_exit_text(rc));
	return rc == 0;
}

static bool
rewind_from_source(const char *pgdata, const char *source)
{
	const char *tmpdir = getenv("TMPDIR");
	char	   *saved_dir;
	bool		saved[lengthof(ctl_node_files)];
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
	for (int i = 0; ctl_node_files[i] != NULL; i++)
	{
		char	   *from = psprintf("%s/%s", pgdata, ctl_node_files[i]);
		char	   *to = psprintf("%s/%s", saved_dir, ctl_node_files[i]);

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
	for (int i = 0; ctl_node_files[i] != NULL; i++)
	{
		if (saved[i] && strstr(ctl_node_files[i], ".signal") != NULL)
		{
			char	   *path = psprintf("%s/%s", pgdata, ctl_node_files[i]);

			(void) unlink(path);
			pg_free(path);
		}
	}

	pg_log_info("running pg_rewind from %s", source);
	rc = ctl_run(argv, NULL);
	if (rc != 0)
		pg_log_error("pg_rewind %s", ctl_exit_text(rc));

	/* whatever pg_rewind did, this node keeps its own files */
	for (int i = 0; ctl_node_files[i] != NULL; i++)
	{
		char	   *path = psprintf("%s/%s", pgdata, ctl_node_files[i]);
		char	   *copy = psprintf("%s/%s", saved_dir, ctl_node_files[i]);

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
						ctl_node_files[i]);
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

/*
 * Two nodes promoted from the same timeline at about the same time (one
 * frozen in the middle of its promotion while another took over: the
 * nemesis found it) both take the next timeline ID: the same number for two
 * different histories.  pg_rewind compares the numbers only and answers "no
 * rewind required", and the node can then never follow.  The history files
 * tell: the same current timeline, with different contents.  False when it
 * cannot be told (pg_rewind then judges as before).
 */
static bool
timeline_collides(const char *pgdata, PGconn *conn)
{
	bool		crc_ok;
	ControlFileData *control = get_controlfile(pgdata, &crc_ok);
	TimeLineID	tli = control->checkPointCopy.ThisTimeLineID;
	char		name[64];
	char	   *path;
	char	   *local;
	size_t		local_len = 0;
	PGresult   *res;
	bool		collides = false;

	pg_free(control);
	if (!crc_ok || tli <= 1)
		return false;
	snprintf(name, sizeof(name), "pg_wal/%08X.history", tli);
	path = psprintf("%s/%s", pgdata, name);
	local = ctl_read_file(path, &local_len);
	pg_free(path);
	if (local == NULL)
		return false;

	res = PQexec(conn, "SELECT timeline_id FROM pg_catalog.pg_control_checkpoint()");
	if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		strtoul(PQgetvalue(res, 0, 0), NULL, 10) == tli)
	{
		const char *params[1] = {name};

		PQclear(res);
		/* binary result: the file's bytes as they are */
		res = PQexecParams(conn, "SELECT pg_catalog.pg_read_binary_file($1)",
						   1, NULL, params, NULL, NULL, 1);
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			((size_t) PQgetlength(res, 0, 0) != local_len ||
			 memcmp(PQgetvalue(res, 0, 0), local, local_len) != 0))
		{
			collides = true;
			pg_log_warning("this node and the source are both on timeline %u, with different histories: two promotions took the same timeline ID",
						   tli);
		}
	}
	PQclear(res);
	pg_free(local);
	return collides;
}

/*
 * The same collision from the same fork point: two nodes promoted from one
 * point of timeline N both write an N+1 history file with the same fork
 * LSN, byte for byte, and timeline_collides() sees nothing.  Their WAL
 * past the fork differs, and a standby whose WAL is not a prefix of its
 * upstream's never streams ("invalid resource manager ID" forever).  So,
 * on the same timeline, check that the record at this node's latest
 * checkpoint (the end of its WAL after a clean shutdown) is in the
 * source's WAL, at the same place and with the same bytes.  False when it
 * is, and when it cannot be told (segment gone, query refused): pg_rewind
 * then judges as before.
 */
static bool
wal_diverges(const char *pgdata, PGconn *conn)
{
	bool		crc_ok;
	ControlFileData *control = get_controlfile(pgdata, &crc_ok);
	TimeLineID	tli = control->checkPointCopy.ThisTimeLineID;
	XLogRecPtr	checkpoint = control->checkPoint;
	XLogRecPtr	end;
	int			segsize = control->xlog_seg_size;
	XLogSegNo	segno;
	char		fname[MAXFNAMELEN];
	char	   *path;
	char		local[XLOG_BLCKSZ];
	uint32		offset;
	uint32		len;
	int			fd;
	char		end_text[32];
	char		offset_text[16];
	char		len_text[16];
	const char *params[3];
	PGresult   *res;
	bool		diverges = false;

	if (!crc_ok || !IsValidWalSegSize(segsize) || XLogRecPtrIsInvalid(checkpoint))
	{
		pg_free(control);
		return false;
	}

	/* the checkpoint record's bytes, from this node's own segment */
	XLByteToSeg(checkpoint, segno, segsize);
	XLogFileName(fname, tli, segno, segsize);
	offset = XLogSegmentOffset(checkpoint, segsize);
	path = psprintf("%s/pg_wal/%s", pgdata, fname);
	fd = open(path, O_RDONLY | PG_BINARY, 0);
	if (fd < 0 ||
		pread(fd, &len, sizeof(len), offset) != sizeof(len) ||
		len < SizeOfXLogRecord)
	{
		pg_log_info("could not read the checkpoint record at %X/%X in \"%s\": not comparing this node's WAL with the source's",
					LSN_FORMAT_ARGS(checkpoint), path);
		if (fd >= 0)
			close(fd);
		pg_free(path);
		pg_free(control);
		return false;
	}
	/* xl_tot_len, the first field: a page header may sit in between */
	len = Min(len, XLOG_BLCKSZ);
	len = Min(len, segsize - offset);
	if (pread(fd, local, len, offset) != (ssize_t) len)
	{
		pg_log_info("could not read the checkpoint record at %X/%X in \"%s\": not comparing this node's WAL with the source's",
					LSN_FORMAT_ARGS(checkpoint), path);
		close(fd);
		pg_free(path);
		pg_free(control);
		return false;
	}
	close(fd);
	pg_free(path);

	/* a standby's WAL goes at least to its minimum recovery point */
	end = checkpoint + len;
	if (control->minRecoveryPointTLI == tli && control->minRecoveryPoint > end)
		end = control->minRecoveryPoint;
	pg_free(control);

	snprintf(end_text, sizeof(end_text), "%X/%X", LSN_FORMAT_ARGS(end));
	params[0] = end_text;
	res = PQexecParams(conn,
					   "SELECT c.timeline_id, r.standby, r.lsn, r.lsn >= $1::pg_lsn "
					   "FROM pg_catalog.pg_control_checkpoint() c, "
					   "(SELECT pg_catalog.pg_is_in_recovery() AS standby, "
					   "CASE WHEN pg_catalog.pg_is_in_recovery() "
					   "THEN pg_catalog.pg_last_wal_receive_lsn() "
					   "ELSE pg_catalog.pg_current_wal_lsn() END AS lsn) r",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
	{
		pg_log_info("not comparing this node's WAL with the source's: could not read its WAL position: %s",
					PQerrorMessage(conn));
		goto done;
	}
	/* other timelines are pg_rewind's: it tells them apart */
	if (strtoul(PQgetvalue(res, 0, 0), NULL, 10) != tli)
		goto done;
	if (strcmp(PQgetvalue(res, 0, 3), "t") != 0)
	{
		/*
		 * A primary on this timeline has every byte of it that any node
		 * received; a standby may merely lag behind this node.
		 */
		if (strcmp(PQgetvalue(res, 0, 1), "f") == 0)
		{
			diverges = true;
			pg_log_warning("this node and the source are both on timeline %u, but this node's WAL goes to %X/%X and the source's ends at %s: two promotions took the same timeline ID from the same point",
						   tli, LSN_FORMAT_ARGS(end), PQgetvalue(res, 0, 2));
		}
		else
			pg_log_info("the source, a standby, has received WAL up to %s only, before this node's end at %X/%X: cannot tell whether their WAL differs",
						PQgetisnull(res, 0, 2) ? "nothing" : PQgetvalue(res, 0, 2),
						LSN_FORMAT_ARGS(end));
		goto done;
	}

	PQclear(res);
	path = psprintf("pg_wal/%s", fname);
	snprintf(offset_text, sizeof(offset_text), "%u", offset);
	snprintf(len_text, sizeof(len_text), "%u", len);
	params[0] = path;
	params[1] = offset_text;
	params[2] = len_text;
	/* binary result: the file's bytes as they are */
	res = PQexecParams(conn,
					   "SELECT pg_catalog.pg_read_binary_file($1, $2::bigint, $3::bigint, true)",
					   3, NULL, params, NULL, NULL, 1);
	pg_free(path);
	if (PQresultStatus(res) != PGRES_TUPLES_OK || PQntuples(res) != 1)
		pg_log_info("not comparing this node's WAL with the source's: could not read its segment %s: %s",
					fname, PQerrorMessage(conn));
	else if (PQgetisnull(res, 0, 0))
		pg_log_info("the source no longer has segment %s: cannot tell whether its WAL at %X/%X is this node's",
					fname, LSN_FORMAT_ARGS(checkpoint));
	else if ((uint32) PQgetlength(res, 0, 0) != len)
		pg_log_info("segment %s of the source is short: cannot tell whether its WAL at %X/%X is this node's",
					fname, LSN_FORMAT_ARGS(checkpoint));
	else if (memcmp(PQgetvalue(res, 0, 0), local, len) != 0)
	{
		diverges = true;
		pg_log_warning("this node and the source are both on timeline %u, but this node's WAL at %X/%X is not the source's: two promotions took the same timeline ID from the same point",
					   tli, LSN_FORMAT_ARGS(checkpoint));
	}
	else
		pg_log_info("this node's WAL at %X/%X is in the source's too (timeline %u)",
					LSN_FORMAT_ARGS(checkpoint), tli);

done:
	PQclear(res);
	return diverges;
}

typedef enum RewindResult
{
	REWIND_DONE,				/* rewound, or no rewind needed */
	REWIND_NOT_NOW,				/* failed without touching the data */
	REWIND_DAMAGED,				/* failed after its point of no return */
	REWIND_IMPOSSIBLE			/* pg_rewind cannot see the divergence */
} RewindResult;

/*
 * One attempt: bring the directory to a clean shutdown, make sure the
 * source's timelines are on disk, then rewind.  The dry run tells a
 * failure that changed nothing (source unreachable, password refused,
 * source not ready) from one that interrupted the writing: only the
 * first may be tried again, or left as it is.
 */
static RewindResult
try_rewind(const char *pgdata, const char *opts, const char *source, int timeout)
{
	const char *keywords[] = {"fallback_application_name", "dbname", NULL};
	const char *values[] = {"pg_ha_ctl rejoin", source, NULL};
	DBState		state = control_state(pgdata);
	PGconn	   *conn;
	bool		impossible;

	if (state == DB_IN_ARCHIVE_RECOVERY &&
		!clean_standby_shutdown(pgdata, opts, timeout))
		return REWIND_NOT_NOW;
	if ((state == DB_IN_PRODUCTION || state == DB_IN_CRASH_RECOVERY ||
		 state == DB_SHUTDOWNING) &&
		!finish_crash_recovery(pgdata, opts))
		return REWIND_NOT_NOW;
	if (!source_checkpointed(source, timeout))
		return REWIND_NOT_NOW;
	/* a failed connection fails the queries: pg_rewind then says why */
	conn = PQconnectdbParams(keywords, values, 1);
	impossible = timeline_collides(pgdata, conn) || wal_diverges(pgdata, conn);
	PQfinish(conn);
	if (impossible)
		return REWIND_IMPOSSIBLE;
	if (!rewind_dry_run(pgdata, source))
		return REWIND_NOT_NOW;
	return rewind_from_source(pgdata, source) ? REWIND_DONE : REWIND_DAMAGED;
}

/*
 * A second fault often lands during a rejoin (the leader restarts, the
 * network blinks): try again for up to timeout seconds, waiting a little
 * longer each time.
 */
static RewindResult
rewind_with_retries(const char *pgdata, const char *opts, const char *source,
					int timeout)
{
	time_t		deadline = time(NULL) + timeout;

	for (int attempt = 1;; attempt++)
	{
		RewindResult r = try_rewind(pgdata, opts, source, timeout);
		int			wait_s = Min(2 * attempt, 10);

		if (r != REWIND_NOT_NOW || time(NULL) + wait_s >= deadline)
			return r;
		pg_log_info("attempt %d failed: trying again in %d s", attempt, wait_s);
		pg_usleep(wait_s * 1000000L);
	}
}

/* ctl_reclone(), tried again like the rewind */
static bool
reclone_with_retries(const char *pgdata, const char *source, bool keep_old,
					 int timeout)
{
	time_t		deadline = time(NULL) + timeout;

	for (int attempt = 1;; attempt++)
	{
		int			wait_s = Min(2 * attempt, 10);

		if (ctl_reclone(pgdata, source, keep_old))
			return true;
		if (time(NULL) + wait_s >= deadline)
			return false;
		pg_log_info("attempt %d to clone failed: trying again in %d s", attempt, wait_s);
		pg_usleep(wait_s * 1000000L);
	}
}

/*
 * Placeholder history files (timeline.h) that this node wrote for a
 * promotion it prepared, or fetched from a leader that wrote them: the
 * IDs they stand for may have a real history on another node, which this
 * node must fetch to follow it, and a placeholder would stand in its way.
 * The walreceiver fetches again what it needs from its upstream.
 */
static void
remove_placeholders(const char *pgdata)
{
	char	   *dirpath = psprintf("%s/pg_wal", pgdata);
	DIR		   *dir = opendir(dirpath);
	struct dirent *de;
	size_t		marklen = strlen(PGHA_TIMELINE_PLACEHOLDER);

	if (dir == NULL)
	{
		pg_log_warning("could not open directory \"%s\": %m", dirpath);
		pg_free(dirpath);
		return;
	}
	while ((de = readdir(dir)) != NULL)
	{
		char	   *path;
		char	   *content;
		size_t		len = 0;

		if (strlen(de->d_name) != 16 || strspn(de->d_name, "0123456789ABCDEF") != 8 ||
			strcmp(de->d_name + 8, ".history") != 0)
			continue;
		path = psprintf("%s/%s", dirpath, de->d_name);
		content = ctl_read_file(path, &len);
		if (content != NULL && len == marklen &&
			memcmp(content, PGHA_TIMELINE_PLACEHOLDER, marklen) == 0)
		{
			if (unlink(path) != 0)
				pg_log_warning("could not remove \"%s\": %m", path);
			else
				pg_log_info("removed the placeholder history file %s", de->d_name);
		}
		pg_free(content);
		pg_free(path);
	}
	closedir(dir);
	pg_free(dirpath);
}

/*
 * A segment of a newer timeline that the walreceiver began and never
 * finished (wal_check.c) makes the server abort at a promotion and fail
 * at every start.  It holds nothing the older timeline's file does not:
 * moved out of pg_wal, into pg_ha_partial_wal/ beside it (kept for a
 * look), the server starts from the older file.  Judged at the furthest
 * point the node is known to have replayed: its minimum recovery point,
 * else its last checkpoint.
 */
static void
move_partial_segments(const char *pgdata)
{
	bool		crc_ok;
	ControlFileData *control = get_controlfile(pgdata, &crc_ok);
	XLogRecPtr	pos = control->checkPoint;
	TimeLineID	tli = control->checkPointCopy.ThisTimeLineID;
	char		names[PGHA_MAX_PARTIAL_SEGMENTS][64];
	int			n;

	if (control->minRecoveryPoint > pos)
	{
		pos = control->minRecoveryPoint;
		tli = control->minRecoveryPointTLI;
	}
	n = crc_ok ? pgha_partial_newer_segments(pgdata, tli, pos, control->xlog_seg_size, names) : 0;
	for (int i = 0; i < n; i++)
	{
		char	   *dir = psprintf("%s/pg_ha_partial_wal", pgdata);
		char	   *from = psprintf("%s/pg_wal/%s", pgdata, names[i]);
		char	   *to = psprintf("%s/%s", dir, names[i]);

		if (mkdir(dir, pg_dir_create_mode) != 0 && errno != EEXIST)
			pg_log_warning("could not create directory \"%s\": %m", dir);
		else if (rename(from, to) != 0)
			pg_log_warning("could not move \"%s\" to \"%s\": %m", from, to);
		else
			pg_log_info("moved %s out of pg_wal (to %s): a segment of a newer timeline that the walreceiver began and never finished, without the WAL this node replayed up to %X/%X; the server starts from timeline %u's file",
						names[i], dir, LSN_FORMAT_ARGS(pos), tli);
		pg_free(dir);
		pg_free(from);
		pg_free(to);
	}
	pg_free(control);
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
	if (opt->reinit && opt->source_conninfo == NULL)
	{
		pg_log_error("--reinit needs --source-conninfo: the server to clone from");
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
	remove_placeholders(pgdata);
	move_partial_segments(pgdata);

	if (opt->source_conninfo != NULL)
	{
		char	   *source = bounded_conninfo(opt->source_conninfo);
		RewindResult r = REWIND_DAMAGED;

		if (!opt->reinit)
			r = rewind_with_retries(pgdata, opts, source, opt->timeout);
		switch (r)
		{
			case REWIND_DONE:
				break;
			case REWIND_NOT_NOW:
				pg_log_warning("no rewind within %d s: the data directory is as it was, and the server starts as a standby without it",
							   opt->timeout);
				pg_log_warning_detail("A standby cannot take writes.  Once it can reach the leader, its HA worker sees whether it diverged and asks for a rejoin again.");
				break;
			case REWIND_IMPOSSIBLE:
			case REWIND_DAMAGED:
				if (r == REWIND_IMPOSSIBLE)
					pg_log_warning("pg_rewind cannot rewind across two histories of one timeline: the node is cloned again");
				else if (!opt->reinit)
					pg_log_warning("pg_rewind failed after it began to write: the data directory may be damaged, so the node is cloned again");
				if (!reclone_with_retries(pgdata, source, !opt->reinit, opt->timeout))
				{
					pg_log_error("the node could not be cloned again within %d s: the server stays stopped",
								 opt->timeout);
					pg_log_error_hint("Fix the cause (see above), then run pg_ha_ctl rejoin --reinit again, or clone the node with pg_ha_ctl init into an empty directory.");
					return 1;
				}
				break;
		}
		pg_free(source);
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
