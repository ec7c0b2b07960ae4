/*-------------------------------------------------------------------------
 *
 * reclone.c
 *	  Replace a stopped node's data directory by a fresh clone of a source.
 *
 * Used by `pg_ha_ctl rejoin` when pg_rewind failed after it began to write
 * (PostgreSQL's documentation holds such a directory lost), and by
 * `pg_ha_ctl rejoin --reinit` (what patronictl reinit asks for).  The
 * clone goes into a sibling directory first, so that a failed or
 * interrupted pg_basebackup leaves the node's directory as it was:
 *
 *	1. pg_basebackup into "<pgdata>.pg_ha_clone" (removed first if a
 *	   previous attempt left it);
 *	2. the node's own files (its configuration, signal files, pg_ha's
 *	   files: ctl_node_files) are copied over the source's, and the
 *	   source's own copies of those the node lacks are removed, as after a
 *	   rewind; standby.signal is made sure of;
 *	3. the old directory is renamed "<pgdata>.pg_ha_old.<time>" and the
 *	   clone takes its name; the old one is then removed, or kept when
 *	   asked (after a failed rewind it holds an old primary's writes that
 *	   no other node has: they are the DBA's to look at).
 *
 * A directory with tablespaces is refused: their paths would have to be
 * mapped, which is a DBA's decision.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <dirent.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "common/logging.h"
#include "pg_ha_ctl.h"

/* true when pg_tblspc of pgdata holds anything */
static bool
has_tablespaces(const char *pgdata)
{
	char	   *path = psprintf("%s/pg_tblspc", pgdata);
	DIR		   *dir = opendir(path);
	struct dirent *de;
	bool		found = false;

	pg_free(path);
	if (dir == NULL)
		return false;
	while ((de = readdir(dir)) != NULL)
	{
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
		{
			found = true;
			break;
		}
	}
	closedir(dir);
	return found;
}

/* the node's own files of from, over to's */
static bool
keep_node_files(const char *from, const char *to)
{
	for (int i = 0; ctl_node_files[i] != NULL; i++)
	{
		char	   *src = psprintf("%s/%s", from, ctl_node_files[i]);
		char	   *dst = psprintf("%s/%s", to, ctl_node_files[i]);

		if (ctl_file_exists(src))
		{
			if (!ctl_copy_file(src, dst))
				return false;
		}
		else if (unlink(dst) == 0)
			pg_log_info("removed %s that pg_basebackup copied from the source",
						ctl_node_files[i]);
		pg_free(src);
		pg_free(dst);
	}
	{
		char	   *signal = psprintf("%s/standby.signal", to);

		if (!ctl_file_exists(signal) &&
			!ctl_write_file(signal, "", S_IRUSR | S_IWUSR, false))
			return false;
		pg_free(signal);
	}
	return true;
}

bool
ctl_reclone(const char *pgdata, const char *source, bool keep_old)
{
	char	   *clone = psprintf("%s.pg_ha_clone", pgdata);
	char		stamp[32];
	time_t		now = time(NULL);
	char	   *old;
	const char *argv[] = {ctl_tool("pg_basebackup"), "-D", clone, "-d", source,
	"-X", "stream", "-c", "fast", "-w", NULL};
	int			rc;

	if (has_tablespaces(pgdata))
	{
		pg_log_error("\"%s\" has tablespaces: not cloning it again automatically", pgdata);
		pg_log_error_hint("Clone the node by hand with pg_basebackup and --tablespace-mapping.");
		return false;
	}
	if (ctl_file_exists(clone))
	{
		pg_log_info("removing \"%s\" that an earlier attempt left", clone);
		if (!rmtree(clone, true))
			return false;
	}

	pg_log_info("cloning the source into \"%s\" with pg_basebackup", clone);
	rc = ctl_run(argv, NULL);
	if (rc != 0)
	{
		pg_log_error("pg_basebackup %s: \"%s\" is as it was", ctl_exit_text(rc), pgdata);
		(void) rmtree(clone, true);
		return false;
	}
	if (!keep_node_files(pgdata, clone))
	{
		pg_log_error("could not put the node's own files into the clone: \"%s\" is as it was",
					 pgdata);
		return false;
	}

	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%S", localtime(&now));
	old = psprintf("%s.pg_ha_old.%s", pgdata, stamp);
	if (rename(pgdata, old) != 0)
	{
		pg_log_error("could not rename \"%s\" to \"%s\": %m", pgdata, old);
		pg_log_error_hint("The clone is in \"%s\": move it in place by hand.", clone);
		return false;
	}
	if (rename(clone, pgdata) != 0)
	{
		pg_log_error("could not rename \"%s\" to \"%s\": %m", clone, pgdata);
		if (rename(old, pgdata) != 0)
			pg_log_error("could not put \"%s\" back as \"%s\" either: %m", old, pgdata);
		return false;
	}

	/*
	 * The HA worker starts the rejoin in the data directory, which is the
	 * old one now, and soon gone: pg_ctl refuses a working directory that
	 * is ("could not identify current directory").
	 */
	if (chdir(pgdata) != 0 && chdir("/") != 0)
		pg_log_warning("could not change directory to \"%s\": %m", pgdata);
	if (keep_old)
		pg_log_info("the node's former data directory is kept as \"%s\": remove it once you no longer need it",
					old);
	else if (!rmtree(old, true))
		pg_log_warning("could not remove the former data directory \"%s\"", old);
	else
		pg_log_info("removed the former data directory");
	pg_log_info("\"%s\" is a fresh clone of the source", pgdata);
	return true;
}
