/*-------------------------------------------------------------------------
 *
 * lease.c
 *	  The node's Consul session and health check, the lease on the leader
 *	  key, and the fencing that follows the lease in shared memory.
 *
 * The session (with the check it is bound to) says that the member lives;
 * the lease says whether it may take writes, timed on its own writes of
 * the leader key (docs/architecture.md, "The lease").  Each round renews
 * what is due; at shutdown, and when the postmaster dies, the key and the
 * session are given up here.  The session is kept in $PGDATA/pg_ha.session
 * across a quick restart.
 *
 * Not here: when the key may be taken (leader_key.c, ha_decide.c) or
 * taken (actions.c); what the round does with the lease (ha_loop.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"

#include "api.h"
#include "cluster.h"
#include "dcs.h"
#include "fence.h"
#include "ha_worker.h"
#include "leader_key.h"
#include "lease.h"
#include "node_ctl.h"
#include "node_state.h"
#include "pg_ha_files.h"
#include "settings.h"
#include "state.h"

#define MIN_SESSION_TTL_MS	10000	/* Consul's minimum */

/* ----- the session file: a quick restart keeps the session and its lock */

/*
 * The file holds "<session id> <cluster> <node name>".  A copy of the data
 * directory (a base backup) carries it along: the names keep a clone that
 * was given another name from ever using the original's session.
 */
static void
session_file_read(char *id, size_t idlen)
{
	FILE	   *f = AllocateFile(PGHA_SESSION_FILE, "r");
	char		buf[PGHA_SESSION_LEN + 2 * PGHA_NAME_LEN + 8];
	char		sid[PGHA_SESSION_LEN];
	char		cluster[PGHA_NAME_LEN];
	char		node[PGHA_NAME_LEN];

	id[0] = '\0';
	if (f == NULL)
		return;
	if (fgets(buf, sizeof(buf), f) != NULL &&
		sscanf(buf, "%39s %63s %63s", sid, cluster, node) == 3 &&
		strlen(sid) == 36 && strspn(sid, "0123456789abcdef-") == 36 &&
		strcmp(cluster, pg_ha_cluster) == 0 &&
		strcmp(node, pg_ha_node_name) == 0)
		strlcpy(id, sid, idlen);
	FreeFile(f);
}

static void
session_file_write(const char *id)
{
	FILE	   *f = AllocateFile(PGHA_SESSION_FILE ".tmp", "w");

	if (f == NULL)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write \"%s\": %m", PGHA_SESSION_FILE ".tmp")));
		return;
	}
	fprintf(f, "%s %s %s\n", id, pg_ha_cluster, pg_ha_node_name);
	if (FreeFile(f) != 0 || rename(PGHA_SESSION_FILE ".tmp", PGHA_SESSION_FILE) != 0)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write \"%s\": %m", PGHA_SESSION_FILE)));
}

/* ----- fencing */

void
pgha_set_fenced(HaWorker *w, const char *reason, bool terminate)
{
	bool		was_fenced;

	pg_atomic_write_u32(&pgha_shared->leader_confirmed, 0);
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	was_fenced = pgha_shared->fenced;
	pgha_shared->fenced = true;
	strlcpy(pgha_shared->fence_reason, reason, sizeof(pgha_shared->fence_reason));
	LWLockRelease(pgha_shared->lock);

	if (!was_fenced)
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" fenced: %s", pg_ha_node_name, reason)));
	if (terminate)
	{
		int			n = pgha_terminate_client_backends();

		if (n > 0)
			ereport(LOG,
					(errmsg("pg_ha: terminated %d client connection(s) of the fenced node", n)));
	}
}

void
pgha_set_leader(HaWorker *w)
{
	bool		was_fenced;

	pg_atomic_write_u64(&pgha_shared->lease_expiry_ms, (uint64) w->lease_expiry_ms);
	pg_atomic_write_u32(&pgha_shared->leader_confirmed, 1);
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	was_fenced = pgha_shared->fenced;
	pgha_shared->fenced = false;
	pgha_shared->fence_reason[0] = '\0';
	LWLockRelease(pgha_shared->lock);
	if (was_fenced)
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" is the leader of cluster \"%s\" and takes writes",
						pg_ha_node_name, pg_ha_cluster)));
}

/* ----- the Consul session and its health check */

/*
 * A session named in the session file is ours only if our member record,
 * held by it, has our address: a copy of this data directory started
 * elsewhere under the same name must not take over the original's session
 * (and with it the leader key) while the original runs.
 */
static bool
session_is_ours(HaWorker *w, char *err, size_t errlen)
{
	const PgHaMember *me;
	char		addr[256];
	char		url[PGHA_URL_LEN];

	if (!dcs_read_cluster(w->prefix, w->cluster, err, errlen))
		return false;
	me = pgha_find_member(w->cluster, pg_ha_node_name);
	pgha_connect_address(addr, sizeof(addr));
	snprintf(url, sizeof(url), "postgres://%s/postgres", addr);
	if (me != NULL && strcmp(me->session, w->session) == 0 &&
		strcmp(me->conn_url, url) == 0)
		return true;
	ereport(LOG,
			(errmsg("pg_ha: not reusing Consul session %s: its member record is not this node's",
					w->session)));
	return false;
}

bool
pgha_ensure_session(HaWorker *w, char *err, size_t errlen)
{
	char		name[HA_KEY_LEN + 16];

	if (!w->check_registered)
	{
		snprintf(name, sizeof(name), "pg_ha %s/%s", pg_ha_cluster, pg_ha_node_name);
		/*
		 * Twice the ttl: the check and the session only say that the member
		 * lives.  The leader key's lease is timed on the key itself, and a
		 * dead leader's key must turn stale (ttl) before Consul ends its
		 * session and deletes the key without a release marker, which would
		 * make the others wait a ttl more.
		 */
		if (!dcs_check_register(w->check_id, name, MEMBER_TTL_FACTOR * w->ttl_ms,
								err, errlen))
			return false;
		/* re-registering keeps a critical check critical: pass it now */
		if (!dcs_check_pass(w->check_id, err, errlen))
			return false;
		w->check_registered = true;
		w->check_ttl_ms = w->ttl_ms;
		w->check_passed_ms = pgha_monotonic_ms();
	}
	if (w->session[0] != '\0')
		return true;

	/* a session left by this data directory survives a quick restart */
	session_file_read(w->session, sizeof(w->session));
	if (w->session[0] != '\0')
	{
		bool		exists;
		int			ttl_ms = 0;

		if (!dcs_session_exists(w->session, &exists, &ttl_ms, err, errlen))
		{
			w->session[0] = '\0';
			return false;
		}
		if (exists && session_is_ours(w, err, errlen))
		{
			ereport(LOG,
					(errmsg("pg_ha: reusing Consul session %s", w->session)));
			/*
			 * The TTL it was created with, which a ttl change since left;
			 * unknown: Consul's minimum, the least it can be.
			 */
			w->session_ttl_ms = ttl_ms > 0 ? ttl_ms : MIN_SESSION_TTL_MS;
			w->session_renewed_ms = 0;	/* renewed in this round */
			return true;
		}
		w->session[0] = '\0';
	}

	/*
	 * Consul refuses a session bound to a critical check: one whose TTL ran
	 * out while an earlier creation failed (the agent had lost its node
	 * after a leave, say) would keep every later one from being made.
	 */
	if (!dcs_check_pass(w->check_id, err, errlen))
	{
		w->check_registered = false;
		return false;
	}

	snprintf(name, sizeof(name), "pg_ha-%s-%s", pg_ha_cluster, pg_ha_node_name);
	w->session_ttl_ms = Max(MEMBER_TTL_FACTOR * w->ttl_ms, MIN_SESSION_TTL_MS);
	if (!dcs_session_create(name, w->check_id, (w->session_ttl_ms + 999) / 1000,
							w->lock_delay_ms, w->session, sizeof(w->session),
							err, errlen))
	{
		w->session[0] = '\0';
		return false;
	}
	w->session_renewed_ms = pgha_monotonic_ms();
	session_file_write(w->session);
	ereport(LOG,
			(errmsg("pg_ha: created Consul session %s bound to check \"%s\"",
					w->session, w->check_id)));
	return true;
}

/*
 * The check and the session are renewed in the first round past a third of
 * their TTL (pgha_renew_member), and a round comes by half their TTL at the
 * latest (round_wait_ms): rounds come with the lease's rhythm anyway, and
 * a wait cut short for a renewal alone would cost a blocking read more.
 */
int
pgha_session_ttl_ms(const HaWorker *w)
{
	return w->session_ttl_ms > 0 ? w->session_ttl_ms :
		MEMBER_TTL_FACTOR * w->check_ttl_ms;
}

static int64
check_due_ms(const HaWorker *w)
{
	return w->check_passed_ms +
		ha_member_renew_interval_ms(MEMBER_TTL_FACTOR * w->check_ttl_ms);
}

static int64
session_due_ms(const HaWorker *w)
{
	return w->session_renewed_ms + ha_member_renew_interval_ms(pgha_session_ttl_ms(w));
}

/*
 * Keep the member alive: pass the check, renew the session, each only as
 * its TTL needs it.  The lease is not theirs to give (see
 * pgha_renew_leader_key), and each request less per node and round counts: an
 * idle cluster's traffic to Consul is mostly these renewals and the lease.
 */
bool
pgha_renew_member(HaWorker *w, char *err, size_t errlen)
{
	bool		exists = true;
	int64		sent = pgha_monotonic_ms();

	if (w->check_passed_ms == 0 || sent >= check_due_ms(w))
	{
		if (!dcs_check_pass(w->check_id, err, errlen))
		{
			/* the agent forgot the check (agent restarted): register again */
			w->check_registered = false;
			return false;
		}
		w->check_passed_ms = sent;
	}
	if (w->session_renewed_ms != 0 && sent < session_due_ms(w))
		return true;
	if (!dcs_session_renew(w->session, &exists, err, errlen))
		return false;
	if (!exists)
	{
		snprintf(err, errlen, "Consul session %s was invalidated", w->session);
		w->session[0] = '\0';
		w->lease_expiry_ms = 0;
		pg_atomic_write_u64(&pgha_shared->lease_expiry_ms, 0);
		return false;
	}
	w->session_renewed_ms = sent;
	return true;
}

/* ----- the lease: the leader key */

/* Does the last read show our session on the leader key? */
bool
pgha_key_is_ours(const HaWorker *w)
{
	return w->session[0] != '\0' && w->cluster->has_leader &&
		strcmp(w->cluster->leader_session, w->session) == 0;
}

/* A new version of the leader key was written by us at sent. */
void
pgha_key_written(HaWorker *w, int64 sent, uint64 index)
{
	/*
	 * The blocking read between rounds waits past our own write: a read
	 * with the index from before it would return at once, and the loop
	 * would spin (measured: a round every 6 ms instead of each loop_wait).
	 */
	if (index > w->leader_index)
		w->leader_index = index;
	w->lease_expiry_ms = sent + w->ttl_ms - ha_lease_margin_ms(w->ttl_ms);
	w->lk_sent_ms = sent;
	w->lk_renew_failed = false;
	w->lk_seen = true;
	w->lk_present = true;
	w->lk_index = index;
	w->lk_since_ms = pgha_monotonic_ms();
	w->initialized_here = false;
}

/*
 * The lease: a new version of the leader key, written only while our
 * session holds it.  The others time each version on their own clock from
 * when they first see it, which is after Consul wrote it, hence after we
 * sent it: counted from the send, our lease ends before any of them may
 * take the key.  Rolled back: the key is gone or another's, and the lease
 * ends now.  No answer: the lease runs on to its end, and the next attempt
 * comes soon (round_wait_ms).
 */
void
pgha_renew_leader_key(HaWorker *w, char *err, size_t errlen)
{
	int64		sent;
	bool		done;
	uint64		index;

	if (!pgha_key_is_ours(w))
	{
		w->lease_expiry_ms = 0;
		return;
	}
	sent = pgha_monotonic_ms();

	/* every renewal interval, at once when the key is not as we wrote it */
	if (!ha_lease_renewal_due(sent, w->lease_expiry_ms, w->lk_renew_failed,
							  w->lk_sent_ms, w->ttl_ms, w->loop_wait_ms,
							  strcmp(w->cluster->leader, pg_ha_node_name) == 0,
							  w->cluster->leader_ttl_ms))
		return;
	w->lk_stamp = Max((uint64) sent, w->lk_stamp + 1);
	if (!dcs_leader_txn(w->prefix, PGHA_LEADER_RENEW, pg_ha_node_name,
						w->session, 0, PGHA_LEADER_FLAGS(w->lk_stamp, w->ttl_ms),
						&done, &index, err, errlen))
	{
		w->lk_renew_failed = true;
		return;					/* said by the round, once */
	}
	if (!done)
	{
		w->lease_expiry_ms = 0;
		pg_atomic_write_u64(&pgha_shared->lease_expiry_ms, 0);
		ereport(LOG,
				(errmsg("pg_ha: the leader key of cluster \"%s\" is no longer ours: %s",
						pg_ha_cluster, err)));
		w->cluster->has_leader = false;
		w->cluster->leader_session[0] = '\0';
		err[0] = '\0';			/* said: no Consul failure */
		return;
	}
	pgha_key_written(w, sent, index);
}

/* Time each state of the leader key from its first sight. */
void
pgha_watch_leader_key(HaWorker *w)
{
	bool		present = w->cluster->has_leader &&
		w->cluster->leader_session[0] != '\0';
	uint64		index = present ? w->cluster->leader_modify_index : 0;

	if (present)
		w->initialized_here = false;
	if (w->lk_seen && w->lk_present == present && w->lk_index == index)
		return;
	/*
	 * A new version lives at least the ttl its holder says it counted with;
	 * a key gone, as long as the longest its last holders had.
	 */
	if (present)
		w->lk_ttl_seen_ms = Max(w->ttl_ms, w->cluster->leader_ttl_ms);
	else
		w->lk_ttl_seen_ms = Max(w->lk_ttl_seen_ms, w->ttl_ms);
	w->lk_seen = true;
	w->lk_present = present;
	w->lk_index = index;
	w->lk_since_ms = pgha_monotonic_ms();
}

/*
 * Give the leader key up on purpose, only while our session holds it, and
 * leave the marker that tells the others no lease of ours runs any more.
 */
bool
pgha_release_leader_key(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];
	bool		done = false;
	uint64		index;

	pg_atomic_write_u64(&pgha_shared->lease_expiry_ms, 0);
	w->lease_expiry_ms = 0;
	if (!dcs_leader_txn(w->prefix, PGHA_LEADER_RELEASE, pg_ha_node_name,
						w->session, 0, 0, &done, &index, err, sizeof(err)))
		ereport(WARNING,
				(errmsg("pg_ha: could not release the leader key: %s", err)));
	return done;
}

/* ----- shutdown */

void
pgha_release_on_shutdown(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];

	/* the key holder, fenced or not (a switchover fences first) */
	bool		was_leader = w->session[0] != '\0' && w->cluster->has_leader &&
		strcmp(w->cluster->leader_session, w->session) == 0;

	pg_atomic_write_u32(&pgha_shared->leader_confirmed, 0);
	if (w->session[0] == '\0')
		return;

	/* a requested restart keeps the session: the node is back within ttl */
	if (ha_phase_keeps_session(&w->phase))
	{
		ereport(LOG,
				(errmsg("pg_ha: keeping Consul session %s across the restart", w->session)));
		return;
	}

	/*
	 * A leader keeps the key until the server is down, so that the replicas
	 * have its shutdown checkpoint before one of them takes over.
	 */
	if (was_leader && PostmasterIsAlive())
	{
		if (pgha_start_release(w->session, w->check_id, w->check_ttl_ms, err, sizeof(err)))
		{
			ereport(LOG,
					(errmsg("pg_ha: the leader key of cluster \"%s\" is released once the server has shut down",
							pg_ha_cluster)));
			return;
		}
		ereport(WARNING,
				(errmsg("pg_ha: releasing the leader key now: %s", err)));
	}

	/* only if still ours, with the marker that lets the others take it now */
	if (pgha_release_leader_key(w))
		ereport(LOG,
				(errmsg("pg_ha: released the leader key of cluster \"%s\"",
						pg_ha_cluster)));
	if (dcs_session_destroy(w->session, err, sizeof(err)))
		(void) unlink(PGHA_SESSION_FILE);
	else
		ereport(WARNING,
				(errmsg("pg_ha: could not remove Consul session %s: %s",
						w->session, err)));
}

/*
 * The postmaster is gone (killed, crashed): the server can no longer serve,
 * so let the cluster know now instead of a ttl later.  First make sure
 * nothing here can commit any more: the lease is given up (the commit-time
 * check refuses), and the orphaned client backends, which could be inside
 * a commit, are killed and waited for.  Only then is the check failed,
 * which makes Consul invalidate the session and free the leader key.
 */
void
pgha_exit_on_postmaster_death(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];
	bool		was_leader = pg_atomic_read_u32(&pgha_shared->leader_confirmed) != 0;

	pg_atomic_write_u32(&pgha_shared->leader_confirmed, 0);
	/* refused at once, HAProxy's checks mark this node down the soonest */
	pgha_api_stop();
	if (!was_leader || w->session[0] == '\0')
		proc_exit(1);

	/* unsure whether they are gone: let the key age on its own */
	if (!pgha_kill_client_backends(2000))
		proc_exit(1);
	if (pgha_release_leader_key(w))
		ereport(LOG,
				(errmsg("pg_ha: the postmaster died; released the leader key of cluster \"%s\"",
						pg_ha_cluster)));
	if (dcs_check_fail(w->check_id, err, sizeof(err)))
		ereport(LOG,
				(errmsg("pg_ha: the postmaster died; failed check \"%s\" so that the leader key is freed now",
						w->check_id)));
	proc_exit(1);
}
