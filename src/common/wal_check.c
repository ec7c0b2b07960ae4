/*-------------------------------------------------------------------------
 *
 * wal_check.c
 *	  A partial segment of a newer timeline in a standby's pg_wal
 *	  (see wal_check.h).
 *
 * How it happens: a standby follows a leader just promoted onto a new
 * timeline.  Its walreceiver streams the new timeline from the start of
 * the segment that holds the switch point, into a new file of that
 * timeline; the leader dies after a few pages.  The older timeline's file
 * holds everything the standby replayed, the newer one zeros past its
 * first pages.  At the promotion PostgreSQL 15 re-reads the last record
 * from the newer file and aborts (PANIC: invalid magic number), and every
 * start after that fails ("previous recovered WAL file came from timeline
 * N").  The fault campaign met it after two leaders died four seconds
 * apart.  Such a file holds nothing the older one does not: moved out of
 * pg_wal, the standby starts, replays the older file and follows.
 *
 *-------------------------------------------------------------------------
 */
#ifdef FRONTEND
#include "postgres_fe.h"
#else
#include "postgres.h"
#endif

#include <fcntl.h>
#include <unistd.h>

#include "access/xlog_internal.h"

#include "wal_check.h"

/* the furthest timeline above tli that is looked at */
#define MAX_TIMELINES_ABOVE 64

/*
 * Does the file at path hold the page of lsn?  False also when the file
 * cannot be read there (shorter than the page).
 */
static bool
has_page(const char *path, XLogRecPtr lsn, int segsize)
{
	XLogRecPtr	page = lsn - (lsn % XLOG_BLCKSZ);
	XLogPageHeaderData hdr;
	int			fd = open(path, O_RDONLY | PG_BINARY, 0);
	ssize_t		n;

	if (fd < 0)
		return false;
	n = pread(fd, &hdr, sizeof(hdr), (off_t) XLogSegmentOffset(page, segsize));
	close(fd);
	return n == (ssize_t) sizeof(hdr) && hdr.xlp_magic == XLOG_PAGE_MAGIC &&
		hdr.xlp_pageaddr == page;
}

int
pgha_partial_newer_segments(const char *pgdata, TimeLineID tli, XLogRecPtr pos,
							int segsize, char (*names)[64])
{
	XLogSegNo	segno;
	int			n = 0;

	if (pos == InvalidXLogRecPtr || tli == 0 || !IsValidWalSegSize(segsize))
		return 0;
	/* the byte before pos: the end of the last record lies in its page */
	pos--;
	XLByteToSeg(pos, segno, segsize);
	for (TimeLineID t = tli + 1; t <= tli + MAX_TIMELINES_ABOVE && t > tli; t++)
	{
		char		name[MAXFNAMELEN];
		char		path[MAXPGPATH];

		XLogFileName(name, t, segno, segsize);
		snprintf(path, sizeof(path), "%s/" XLOGDIR "/%s", pgdata, name);
		if (access(path, F_OK) != 0)
			continue;
		if (!has_page(path, pos, segsize) && n < PGHA_MAX_PARTIAL_SEGMENTS)
			strlcpy(names[n++], name, 64);
	}
	return n;
}
