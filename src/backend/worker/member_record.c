/*-------------------------------------------------------------------------
 *
 * member_record.c
 *	  The leader's record of a member whose server stopped.
 *
 * A member's record, members/<name>, is held by its Consul session, which
 * ends with its server: Consul then deletes the record, and the member
 * would drop out of every listing.  An operator wants to see it listed as
 * stopped, as Patroni shows it, until it comes back or is removed.  So
 * every HA worker remembers the live members of each read of the cluster
 * (the pure part is pgha_track_members() in member_tracker.c), and the one that
 * holds the leader key writes, in place of a record that vanished, one
 * that no session holds: Patroni's member format with state "stopped", no
 * WAL position (its lag is "unknown"), and "last_seen".
 *
 * The write is a check-and-set on the key's absence (cas=0): a member
 * that came back first keeps its record, and a member that comes back
 * later takes the key over with its session as always (acquire works on a
 * key no session holds).  The parser keeps such records apart from the
 * live members (PgHaCluster.stopped), so no decision ever reads them.
 *
 * Replicas remember too, without writing: when the leader itself stops,
 * the replica that takes over writes the old leader's record.  A member
 * gone without a stopped record is forgotten after three ttls, so that a
 * replica that missed a record written and removed meanwhile does not
 * write it again much later.
 *
 * What this file is not for: anything a decision depends on.  A failure
 * here is logged and costs nothing else.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "utils/timestamp.h"

#include "dcs.h"
#include "iso_time.h"
#include "member.h"
#include "member_record.h"
#include "member_tracker.h"
#include "names.h"
#include "settings.h"
#include "state.h"

/* how long a vanished member waits for a leader to record it, in ttls */
#define FORGET_AFTER_TTLS	3

/* the live members as this worker last read them (one worker per server) */
static PgHaMemberTracker tracker;

/* the last complaint logged, to log changes only */
static char logged_error[PGHA_ERR_LEN];

static int64
now_epoch_ms(void)
{
	return GetCurrentTimestamp() / 1000 +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
}

/* Write the stopped record of tracker.seen[i]; true when it is settled. */
static bool
write_stopped_record(const char *prefix, const PgHaSeenMember *s)
{
	char		key[PGHA_URL_LEN];
	char		json[2048];
	char		err[PGHA_ERR_LEN];
	char		when[PGHA_ISO_TIME_LEN];
	bool		done = false;

	/* the parser took only valid names, so the key needs no escaping */
	if (!pgha_valid_name(s->last.name) ||
		snprintf(key, sizeof(key), "%smembers/%s", prefix, s->last.name) >= (int) sizeof(key) ||
		pgha_stopped_member_json(&s->last, s->last_seen_ms, json, sizeof(json)) < 0)
		return true;			/* nothing we could ever write: give up */

	/* cas=0: only while the key is absent, so a member back first wins */
	if (!dcs_kv_put(key, json, "cas=0", &done, err, sizeof(err)))
	{
		if (strcmp(err, logged_error) != 0)
			ereport(LOG,
					(errmsg("pg_ha: could not record member \"%s\" as stopped: %s",
							s->last.name, err)));
		strlcpy(logged_error, err, sizeof(logged_error));
		return false;
	}
	logged_error[0] = '\0';
	if (done)
	{
		if (!pgha_format_iso_time(s->last_seen_ms, when, sizeof(when)))
			strlcpy(when, "unknown", sizeof(when));
		ereport(LOG,
				(errmsg("pg_ha: member \"%s\" of cluster \"%s\" is gone: recorded it as stopped (last seen %s)",
						s->last.name, pg_ha_cluster, when)));
	}
	/* not done: the key is there again (the member came back): settled too */
	return true;
}

void
pgha_note_members(const char *prefix, const PgHaCluster *c, const char *self,
				  bool leader, int ttl_ms)
{
	int			due[lengthof(tracker.seen)];
	char		names[lengthof(tracker.seen)][PGHA_NAME_LEN];
	int			n;
	int			settled = 0;

	n = pgha_track_members(&tracker, c, self, pgha_monotonic_ms(),
						   now_epoch_ms(), (int64) FORGET_AFTER_TTLS * ttl_ms,
						   due);
	if (!leader)
		return;
	for (int i = 0; i < n; i++)
		if (write_stopped_record(prefix, &tracker.seen[due[i]]))
			strlcpy(names[settled++], tracker.seen[due[i]].last.name,
					PGHA_NAME_LEN);
	/* forgetting moves entries: by name, after the loop */
	for (int i = 0; i < settled; i++)
		pgha_track_forget(&tracker, names[i]);
}
