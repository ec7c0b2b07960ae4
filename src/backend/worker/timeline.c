/*-------------------------------------------------------------------------
 *
 * timeline.c
 *	  Timeline IDs at promotion (see timeline.h).
 *
 * PostgreSQL promotes a standby onto one past the newest timeline history
 * file it can find (findNewestTimeLine).  A node that promoted and died
 * before anyone fetched its history file leaves that ID looking free, and
 * the next promotion takes it too: two histories under one ID, which
 * pg_rewind tells apart by number alone ("no rewind required"), and the
 * old node never streams again.  The HA worker therefore records in the
 * promotion key the ID each promotion starts on, and before its own it
 * writes a placeholder history file for every ID the cluster used that
 * this node has no file for, so that PostgreSQL steps over them.
 *
 * A placeholder names no parent: a standby that finds one as its newest
 * timeline refuses it ("not a child of database system timeline") and
 * never follows it.  It stays in pg_wal, because a standby of the new
 * leader fetches every history file between its timeline and the
 * leader's (WalRcvFetchTimeLineHistoryFiles) and needs the chain without
 * gaps to find the newest (findNewestTimeLine stops at the first one).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlog_internal.h"
#include "access/xlogrecovery.h"
#include "storage/fd.h"

#include "timeline.h"
#include "pg_ha_files.h"

uint32_t
pgha_next_timeline(void)
{
	TimeLineID	replay_tli = 0;

	(void) GetXLogReplayRecPtr(&replay_tli);
	if (replay_tli == 0)
		replay_tli = 1;

	/*
	 * The worker never restores from the archive (ArchiveRecoveryRequested
	 * is the startup process's): pg_wal alone.  An archive holding newer
	 * files makes PostgreSQL take a higher ID still, never a lower one.
	 */
	return (uint32_t) findNewestTimeLine(replay_tli) + 1;
}

/* One placeholder, written whole or not at all. */
static void
write_placeholder(TimeLineID tli)
{
	char		path[MAXPGPATH];
	char		tmppath[MAXPGPATH];
	int			fd;
	size_t		len = strlen(PGHA_TIMELINE_PLACEHOLDER);

	TLHistoryFilePath(path, tli);
	snprintf(tmppath, sizeof(tmppath), XLOGDIR "/pg_ha_placeholder.tmp");
	fd = OpenTransientFile(tmppath, O_RDWR | O_CREAT | O_TRUNC | PG_BINARY);
	if (fd < 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not create file \"%s\": %m", tmppath)));
	errno = 0;
	if (write(fd, PGHA_TIMELINE_PLACEHOLDER, len) != (ssize_t) len)
	{
		if (errno == 0)
			errno = ENOSPC;
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write file \"%s\": %m", tmppath)));
	}
	if (pg_fsync(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not fsync file \"%s\": %m", tmppath)));
	if (CloseTransientFile(fd) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not close file \"%s\": %m", tmppath)));
	/* the rename is fsynced too: a crash must not lose the file */
	durable_rename(tmppath, path, ERROR);
}

void
pgha_reserve_timelines(uint32_t from, uint32_t to)
{
	for (uint32_t tli = from; tli < to; tli++)
	{
		char		path[MAXPGPATH];
		struct stat st;

		TLHistoryFilePath(path, tli);
		if (stat(path, &st) == 0)
			continue;
		write_placeholder(tli);
		ereport(LOG,
				(errmsg("pg_ha: timeline %u was taken by another node: wrote a placeholder history file so that this node's promotion skips it",
						tli)));
	}
}
