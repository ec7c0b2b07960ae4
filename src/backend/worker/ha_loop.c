/*-------------------------------------------------------------------------
 *
 * ha_loop.c
 *	  The HA worker: the I/O around the decision of ha_decide.c.
 *
 * Each round: pass the node's Consul check and renew its session when
 * their TTLs need it, read the cluster's keys, renew the leader key (the
 * lease) when due, ask ha_decide() what to do, do it, publish the member
 * record and the state in shared memory.  Between rounds the worker waits
 * in a blocking query on the cluster's keys, which returns them: a change
 * (a new leader, a switchover request) is seen at once, and the read
 * serves as the next round's.
 *
 * This file is not where decisions are taken: a branch that chooses
 * between two behaviours belongs in ha_decide.c, where it is unit-tested.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include "access/timeline.h"
#include "access/xlog.h"
#include "access/xlogrecovery.h"
#include "access/twophase.h"
#include "common/controldata_utils.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/bgwriter.h"
#include "postmaster/interrupt.h"
#include "postmaster/postmaster.h"
#include "replication/slot.h"
#include "replication/walreceiver.h"
#include "replication/walsender.h"
#include "storage/lock.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/pidfile.h"
#include "utils/timestamp.h"

#include "api_tls.h"
#include "api.h"
#include "callbacks.h"
#include "cluster.h"
#include "dcs.h"
#include "leader_key.h"
#include "ha_decide.h"
#include "member_record.h"
#include "node_ctl.h"
#include "pg_ha.h"
#include "state.h"
#include "sync.h"
#include "timeline.h"
#include "wal_check.h"

#define DEMOTE_AFTER_START_MS	2000
#define PROMOTE_POLL_MS			10
#define RECHECK_SOON_MS			250
#define RENEW_RETRY_MS			100 /* after a failed renewal of the lease */
/* the session that asked for a step-down or restart: its answer first */
#define CALLER_WAIT_MS			1000
#define CALLER_POLL_MS			5
#define MIN_SESSION_TTL_MS	10000	/* Consul's minimum */
#define MEMBER_TTL_FACTOR	2	/* check and session TTL, in ttls */
#define FRESH_POSITION_TIMEOUT_MS	1000	/* asking a member its position */
#define KEY_LEN			(PGHA_NAME_LEN * 2 + 32)
#define RESTART_GIVE_UP_MS	PGHA_RESTART_GIVE_UP_MS

typedef struct HaWorker
{
	/* keys */
	char		prefix[KEY_LEN];
	char		leader_key[KEY_LEN];
	char		member_key[KEY_LEN];
	char		initialize_key[KEY_LEN];
	char		config_key[KEY_LEN];
	char		status_key[KEY_LEN];
	char		failover_key[KEY_LEN];
	char		check_id[KEY_LEN + 16];

	/*
	 * Timings in force: the config key's where it sets them, else the local
	 * settings (a combination that breaks the rule is refused).
	 */
	int			ttl_ms;
	int			loop_wait_ms;
	int			retry_timeout_ms;
	int			lock_delay_ms;
	int			local_ttl_ms;	/* last good pg_ha.ttl, loop_wait, retry */
	int			local_loop_wait_ms;
	int			local_retry_timeout_ms;
	char		logged_timing[PGHA_ERR_LEN];	/* last refusal logged */

	/* Consul state */
	bool		check_registered;
	int			check_ttl_ms;
	char		session[PGHA_SESSION_LEN];
	int			session_ttl_ms;
	int64		lease_expiry_ms;
	uint64		leader_index;	/* for the blocking wait */
	PgHaCluster *prefetched;	/* the blocking wait's answer */
	bool		prefetched_ok;	/* ... for the next round to use */

	/* the leader key as watched (leader_key.h) */
	bool		lk_seen;		/* lk_present and lk_index are set */
	bool		lk_present;
	uint64		lk_index;		/* its ModifyIndex, 0 when absent */
	int			lk_ttl_seen_ms; /* longest ttl its holders counted with */
	int64		lk_since_ms;	/* monotonic: first sight of that state */
	uint64		lk_stamp;		/* Flags of our last renewal */
	int64		lk_sent_ms;		/* when our last good renewal was sent */
	bool		lk_renew_failed;	/* the last attempt got no answer */
	bool		initialized_here;	/* we created the initialize key and
									 * have seen no leader since */
	int64		wake_in_ms;		/* the decision's: look again then */
	int64		unfit_since_ms; /* holds the key but may not lead, since */
	int64		check_passed_ms;	/* monotonic, 0: at the next round */
	int64		session_renewed_ms;

	/*
	 * When a WAL position alone was last written (monotonic ms): at most
	 * once per loop_wait, see position_write_due().
	 */
	int64		optime_written_ms;
	int64		member_written_ms;

	char		sysid[PGHA_SHORT_LEN];
	PgHaCluster *cluster;		/* last good read */
	bool		cluster_ok;		/* ... in this round */

	/* what was last logged, to log changes only */
	HaAction	logged_action;
	char		logged_reason[PGHA_ERR_LEN];
	char		logged_error[PGHA_ERR_LEN];
	char		logged_warning[PGHA_ERR_LEN];
	bool		rerun;			/* start the next round at once */
	bool		demotion_started;	/* pg_ha_ctl rejoin is on its way */
	bool		checkpoint_after_promote;
	bool		promote_requested;	/* waiting for our promotion to end */
	uint32		claimed_timeline;	/* the promotion key we wrote for the
									 * promotion under way, 0: none */
	bool		wal_repair_started; /* a restart without a partial segment */
	bool		recheck_soon;	/* the decision waits for something near */
	bool		restart_started;	/* pg_ctl restart is on its way */
	int64		restart_started_ms; /* ... since (monotonic) */
	char		logged_restart_wait[PGHA_ERR_LEN * 2];
} HaWorker;

static void
log_error_change(HaWorker *w, const char *err)
{
	if (strcmp(w->logged_error, err) == 0)
		return;
	if (err[0] != '\0')
		ereport(WARNING,
				(errmsg("pg_ha: %s", err)));
	else
		ereport(LOG,
				(errmsg("pg_ha: Consul at %s answers again", pg_ha_consul_url)));
	strlcpy(w->logged_error, err, sizeof(w->logged_error));
}

/* The first Consul error of a round is the one pg_ha_node shows. */
static char round_error[PGHA_ERR_LEN];

static void
publish_error(const char *err)
{
	if (round_error[0] == '\0')
		strlcpy(round_error, err, sizeof(round_error));
}

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

/* ----- timings */

static void configure_dcs(HaWorker *w);

/*
 * After a reload: the local pg_ha.ttl, loop_wait and retry_timeout, if
 * they keep the timing rule.  They are the defaults that the config key
 * overrides (apply_timings).
 */
static void
adopt_local_timings(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];

	if (!ha_timing_valid(pg_ha_ttl, pg_ha_loop_wait, pg_ha_retry_timeout,
						 err, sizeof(err)))
	{
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_ha: new timings refused, keeping ttl %d ms, loop_wait %d ms, retry_timeout %d ms",
						w->ttl_ms, w->loop_wait_ms, w->retry_timeout_ms),
				 errdetail("%s.", err),
				 errhint("Keep pg_ha.loop_wait + 2 * pg_ha.retry_timeout <= pg_ha.ttl.")));
		return;
	}
	w->local_ttl_ms = pg_ha_ttl;
	w->local_loop_wait_ms = pg_ha_loop_wait;
	w->local_retry_timeout_ms = pg_ha_retry_timeout;
	w->lock_delay_ms = pg_ha_lock_delay;
}

/* a refusal of the config key's timings, logged once until it changes */
static void
timing_complaint(HaWorker *w, const char *detail)
{
	if (strcmp(w->logged_timing, detail) == 0)
		return;
	strlcpy(w->logged_timing, detail, sizeof(w->logged_timing));
	if (detail[0] != '\0')
		ereport(WARNING,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_ha: timings of the config key refused, keeping ttl %d ms, loop_wait %d ms, retry_timeout %d ms",
						w->ttl_ms, w->loop_wait_ms, w->retry_timeout_ms),
				 errdetail("%s.", detail),
				 errhint("Keep loop_wait + 2 * retry_timeout <= ttl in key \"%s\".",
						 w->config_key)));
}

/*
 * The timings in force: the local ones, overridden by those the config key
 * sets (Patroni's dynamic configuration wins).  The lease follows the new
 * ttl at the next renewal of the leader key; the check is registered again
 * with it, the session keeps the TTL it was created with.
 */
static void
apply_timings(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];
	int			ttl = w->local_ttl_ms;
	int			loop_wait = w->local_loop_wait_ms;
	int			retry = w->local_retry_timeout_ms;
	bool		from_config = false;

	if (w->cluster->config_valid && w->cluster->config_json[0] != '\0')
	{
		if (!pgha_config_timings(w->cluster->config_json, &ttl, &loop_wait,
								 &retry, err, sizeof(err)))
		{
			timing_complaint(w, err);
			return;
		}
		from_config = ttl != w->local_ttl_ms || loop_wait != w->local_loop_wait_ms ||
			retry != w->local_retry_timeout_ms;
	}
	if (!ha_timing_valid(ttl, loop_wait, retry, err, sizeof(err)))
	{
		timing_complaint(w, err);
		return;
	}
	timing_complaint(w, "");
	if (ttl == w->ttl_ms && loop_wait == w->loop_wait_ms &&
		retry == w->retry_timeout_ms)
		return;
	if (w->ttl_ms != 0)
		ereport(LOG,
				(errmsg("pg_ha: timings now ttl %d ms, loop_wait %d ms, retry_timeout %d ms%s",
						ttl, loop_wait, retry,
						from_config ? ", from the config key" : "")));
	w->ttl_ms = ttl;
	w->loop_wait_ms = loop_wait;
	w->retry_timeout_ms = retry;
	/* the check's TTL follows at the next round; the session's never */
	if (w->check_ttl_ms != w->ttl_ms)
		w->check_registered = false;
	configure_dcs(w);

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->ttl_ms = w->ttl_ms;
	pgha_shared->loop_wait_ms = w->loop_wait_ms;
	pgha_shared->retry_timeout_ms = w->retry_timeout_ms;
	LWLockRelease(pgha_shared->lock);
}

static void
configure_dcs(HaWorker *w)
{
	DcsSettings s;

	s.url = pg_ha_consul_url;
	s.token = pg_ha_consul_token;
	s.timeout_ms = w->retry_timeout_ms;
	dcs_configure(&s);
}

/* ----- fencing */

static void
set_fenced(HaWorker *w, const char *reason, bool terminate)
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

static void
set_leader(HaWorker *w)
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

/* ----- Consul session and lease */

static void connect_address(char *buf, size_t len);
static void give_up_key_if_unfit(HaWorker *w, const HaDecision *d);
static void decide_on_fresh_positions(HaWorker *w, const HaLocalState *local,
									  const HaConfig *config, HaDecision *d);
static bool release_leader_key(HaWorker *w);
static int64 server_start_ms(void);
static int64_t timeline_begin(uint32_t tli);

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
	connect_address(addr, sizeof(addr));
	snprintf(url, sizeof(url), "postgres://%s/postgres", addr);
	if (me != NULL && strcmp(me->session, w->session) == 0 &&
		strcmp(me->conn_url, url) == 0)
		return true;
	ereport(LOG,
			(errmsg("pg_ha: not reusing Consul session %s: its member record is not this node's",
					w->session)));
	return false;
}

static bool
ensure_session(HaWorker *w, char *err, size_t errlen)
{
	char		name[KEY_LEN + 16];

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
 * their TTL (renew_member), and a round comes by half their TTL at the
 * latest (round_wait_ms): rounds come with the lease's rhythm anyway, and
 * a wait cut short for a renewal alone would cost a blocking read more.
 */
static int
session_ttl(const HaWorker *w)
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
	return w->session_renewed_ms + ha_member_renew_interval_ms(session_ttl(w));
}

/*
 * Keep the member alive: pass the check, renew the session, each only as
 * its TTL needs it.  The lease is not theirs to give (see
 * renew_leader_key), and each request less per node and round counts: an
 * idle cluster's traffic to Consul is mostly these renewals and the lease.
 */
static bool
renew_member(HaWorker *w, char *err, size_t errlen)
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

/* Does the last read show our session on the leader key? */
static bool
key_is_ours(const HaWorker *w)
{
	return w->session[0] != '\0' && w->cluster->has_leader &&
		strcmp(w->cluster->leader_session, w->session) == 0;
}

/* A new version of the leader key was written by us at sent. */
static void
key_written(HaWorker *w, int64 sent, uint64 index)
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
static void
renew_leader_key(HaWorker *w, char *err, size_t errlen)
{
	int64		sent;
	bool		done;
	uint64		index;

	if (!key_is_ours(w))
	{
		w->lease_expiry_ms = 0;
		return;
	}
	sent = pgha_monotonic_ms();

	/*
	 * Every ha_renew_interval_ms(), and at once when the key does not say
	 * what we would write: our name (someone overwrote it) and the ttl in
	 * force (the others must time our lease with a changed one).
	 */
	if (w->lease_expiry_ms != 0 && !w->lk_renew_failed &&
		sent - w->lk_sent_ms < ha_renew_interval_ms(w->ttl_ms, w->loop_wait_ms) &&
		strcmp(w->cluster->leader, pg_ha_node_name) == 0 &&
		w->cluster->leader_ttl_ms == w->ttl_ms)
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
	key_written(w, sent, index);
}

/* Time each state of the leader key from its first sight. */
static void
watch_leader_key(HaWorker *w)
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

/* ----- local state */

static void
read_local_state(HaWorker *w, HaLocalState *local)
{
	struct stat st;

	memset(local, 0, sizeof(*local));
	local->is_primary = stat(STANDBY_SIGNAL_FILE, &st) != 0 &&
		stat(RECOVERY_SIGNAL_FILE, &st) != 0;
	local->in_recovery = RecoveryInProgress();
	strlcpy(local->sysid, w->sysid, sizeof(local->sysid));
	local->has_session = w->session[0] != '\0';
	strlcpy(local->session, w->session, sizeof(local->session));
	local->nofailover = pg_ha_nofailover;
	local->has_failover_priority = true;
	local->failover_priority = pg_ha_failover_priority;
	if (local->in_recovery)
	{
		TimeLineID	tli;
		XLogRecPtr	replay = GetXLogReplayRecPtr(&tli);
		XLogRecPtr	received = GetWalRcvFlushRecPtr(NULL, NULL);
		XLogRecPtr	pos = Max(replay, received);

		local->has_xlog = pos != InvalidXLogRecPtr;
		local->xlog_position = (int64_t) pos;
		local->replayed_position = (int64_t) replay;
		local->timeline = tli;
	}
	else
	{
		local->has_xlog = true;
		local->xlog_position = (int64_t) GetXLogInsertRecPtr();
		local->replayed_position = local->xlog_position;
		local->timeline = GetWALInsertionTimeLine();
		local->nstandbys = pgha_read_standbys(local->standbys, PGHA_MAX_MEMBERS);
	}
	local->timeline_begin = timeline_begin(local->timeline);
	local->now_ms = pgha_monotonic_ms();
	local->wall_ms = (int64_t) (GetCurrentTimestamp() / 1000) +
		(int64_t) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
	local->lease_expiry_ms = w->lease_expiry_ms;
	local->leader_unchanged_ms = w->cluster_ok && w->lk_seen ?
		local->now_ms - w->lk_since_ms : -1;
	local->initialized_here = w->initialized_here;
	local->leader_ttl_seen_ms = w->lk_ttl_seen_ms;
	if (w->cluster_ok && w->session[0] != '\0')
	{
		const PgHaMember *me = pgha_find_member(w->cluster, pg_ha_node_name);

		local->name_taken = me != NULL && me->session[0] != '\0' &&
			strcmp(me->session, w->session) != 0;
	}
}

static void
connect_address(char *buf, size_t len)
{
	if (pg_ha_connect_address[0] != '\0')
		strlcpy(buf, pg_ha_connect_address, len);
	else
		snprintf(buf, len, "127.0.0.1:%d", PostPortNumber);
}

static void
build_member(HaWorker *w, const HaLocalState *local, PgHaMember *m)
{
	char		addr[256];
	char		host[256];
	const char *colon;
	const char *api_port;

	memset(m, 0, sizeof(*m));
	strlcpy(m->name, pg_ha_node_name, sizeof(m->name));
	connect_address(addr, sizeof(addr));
	snprintf(m->conn_url, sizeof(m->conn_url), "postgres://%s/postgres", addr);

	/* the API is reached on the node's address unless it listens on one */
	colon = strrchr(pg_ha_api_listen, ':');
	api_port = colon ? colon + 1 : "8008";
	if (colon != NULL && colon != pg_ha_api_listen &&
		strncmp(pg_ha_api_listen, "0.0.0.0:", 8) != 0 &&
		strncmp(pg_ha_api_listen, "*:", 2) != 0)
		snprintf(host, sizeof(host), "%.*s",
				 (int) (colon - pg_ha_api_listen), pg_ha_api_listen);
	else
	{
		strlcpy(host, addr, sizeof(host));
		host[strcspn(host, ":")] = '\0';
		if (host[0] == '[')		/* [v6]:port */
		{
			char	   *end = strrchr(addr, ']');

			if (end)
				snprintf(host, sizeof(host), "%.*s", (int) (end - addr + 1), addr);
		}
	}
	snprintf(m->api_url, sizeof(m->api_url), "%s://%s:%s/patroni",
			 pgha_api_tls_enabled() ? "https" : "http", host, api_port);

	strlcpy(m->state, local->in_recovery && local->is_primary ? "starting" : "running",
			sizeof(m->state));
	strlcpy(m->role, local->is_primary ? "master" : "replica", sizeof(m->role));
	strlcpy(m->version, PG_HA_VERSION, sizeof(m->version));
	if (!local->in_recovery)
	{
		m->timeline = GetWALInsertionTimeLine();
		m->xlog_location = (int64_t) GetXLogInsertRecPtr();
		m->has_xlog = true;
	}
	else
	{
		TimeLineID	tli = 0;
		XLogRecPtr	replay = GetXLogReplayRecPtr(&tli);

		m->timeline = tli;
		if (local->has_xlog)
		{
			m->xlog_location = local->xlog_position;
			m->has_xlog = true;
		}
		(void) replay;
	}
	pgha_local_tags(m);
	m->pending_restart = pgha_pending_restart();
	m->pause = w->cluster->paused;
	/* what the others need to order restarts safely for hot standby */
	m->has_hs_values = true;
	m->hs_values[0] = MaxConnections;
	m->hs_values[1] = max_worker_processes;
	m->hs_values[2] = max_wal_senders;
	m->hs_values[3] = max_prepared_xacts;
	m->hs_values[4] = max_locks_per_xact;

	/*
	 * When this server started (a restart is over once the new one is
	 * published), and Patroni's scheduled_restart while this node's restart
	 * request waits for its time (patronictl list -e and flush read it).
	 */
	m->start_ms = server_start_ms();
	for (int i = 0; i < w->cluster->nrestarts; i++)
	{
		const PgHaRestartRequest *r = &w->cluster->restarts[i];

		if (strcmp(r->member, pg_ha_node_name) == 0 && r->scheduled &&
			r->restarting == 0)
		{
			m->has_scheduled_restart = true;
			m->scheduled_restart_ms = r->scheduled_ms;
			m->scheduled_restart_pending = r->pending_only;
		}
	}
}

/* ----- actions */

static void
write_default_config(HaWorker *w)
{
	char		cfg[PGHA_CONFIG_LEN];
	char		tmp[PGHA_CONFIG_LEN];
	char		err[PGHA_ERR_LEN];
	bool		done;
	const char *last = pgha_last_good_config();

	/*
	 * A store that lost its data (a rebuilt Consul): the config this node
	 * last used, not defaults that would turn synchronous mode off and
	 * drop every parameter.
	 */
	if (last != NULL)
	{
		if (!dcs_kv_put(w->config_key, last, "cas=0", &done, err, sizeof(err)))
			ereport(WARNING,
					(errmsg("pg_ha: could not write the cluster configuration: %s", err)));
		else if (done)
			ereport(LOG,
					(errmsg("pg_ha: wrote the last cluster configuration this node used (%s) into the new config key",
							PGHA_LAST_CONFIG_FILE)));
		return;
	}

	/*
	 * Patroni's dynamic configuration, with this node's timings, which then
	 * are every node's (exact: seconds with a fraction when not whole).
	 */
	snprintf(cfg, sizeof(cfg),
			 "{\"maximum_lag_on_failover\":1048576,"
			 "\"postgresql\":{\"use_pg_rewind\":true,\"use_slots\":true,\"parameters\":{}}}");
	if (pgha_config_with_timing(cfg, "retry_timeout", w->retry_timeout_ms, tmp, sizeof(tmp), err, sizeof(err)) < 0 ||
		pgha_config_with_timing(tmp, "loop_wait", w->loop_wait_ms, cfg, sizeof(cfg), err, sizeof(err)) < 0 ||
		pgha_config_with_timing(cfg, "ttl", w->ttl_ms, tmp, sizeof(tmp), err, sizeof(err)) < 0)
	{
		ereport(WARNING,
				(errmsg("pg_ha: could not format the cluster configuration: %s", err)));
		return;
	}
	if (!dcs_kv_put(w->config_key, tmp, "cas=0", &done, err, sizeof(err)))
		ereport(WARNING,
				(errmsg("pg_ha: could not write the cluster configuration: %s", err)));
}

static void
do_initialize(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];
	bool		done = false;

	if (!dcs_kv_put(w->initialize_key, w->sysid, "cas=0", &done, err, sizeof(err)))
	{
		publish_error(err);
		return;
	}
	if (done)
	{
		ereport(LOG,
				(errmsg("pg_ha: initialized cluster \"%s\" in Consul with system identifier %s",
						pg_ha_cluster, w->sysid)));
		/* a new cluster: no leader key was ever there to wait for */
		w->initialized_here = true;
		write_default_config(w);
	}
	else if (w->cluster->has_initialize == false)
		ereport(WARNING,
				(errmsg("pg_ha: the initialize key of cluster \"%s\" exists but holds no system identifier",
						pg_ha_cluster),
				 errhint("Check the value of key \"%s\" in Consul.", w->initialize_key)));
	/* someone won or lost the race: look again now */
	w->rerun = true;
}

static void
do_acquire(HaWorker *w, const HaLocalState *local)
{
	char		err[PGHA_ERR_LEN];
	bool		done = false;
	bool		stale = w->cluster->has_leader && w->cluster->leader_session[0] != '\0';
	int64		sent = pgha_monotonic_ms();
	uint64		index = 0;

	/* a stale key is replaced only as the very version that aged */
	w->lk_stamp = Max((uint64) sent, w->lk_stamp + 1);
	if (!dcs_leader_txn(w->prefix, stale ? PGHA_LEADER_STEAL : PGHA_LEADER_TAKE,
						pg_ha_node_name, w->session,
						stale ? w->cluster->leader_modify_index : 0,
						PGHA_LEADER_FLAGS(w->lk_stamp, w->ttl_ms),
						&done, &index, err, sizeof(err)))
	{
		publish_error(err);
		if (local->is_primary)
			set_fenced(w, err, !local->in_recovery);
		return;
	}
	if (!done)
	{
		if (local->is_primary)
			set_fenced(w, "another member took the leader key first",
					   !local->in_recovery);
		w->rerun = true;
		return;
	}
	key_written(w, sent, index);
	if (stale)
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" took over the leader key of cluster \"%s\" from \"%s\", not renewed for %d ms",
						pg_ha_node_name, pg_ha_cluster, w->cluster->leader, w->ttl_ms)));
	else
		ereport(LOG,
				(errmsg("pg_ha: node \"%s\" acquired the leader key of cluster \"%s\"",
						pg_ha_node_name, pg_ha_cluster)));
	set_leader(w);
	w->rerun = true;			/* read the key back as ours */
}

/*
 * A write that only moves a WAL position forward is made once per
 * loop_wait, as Patroni does.  Each write to Consul ends the leader's
 * blocking read (a missing key's index is the store's), so writing the
 * position at every round would make the loop spin while the server takes
 * writes: measured, 174 Consul writes a second at the default loop_wait,
 * and a fifth of pgbench's throughput on 2 cores with the fast profile.
 */
static bool
position_write_due(const HaWorker *w, int64 last_written_ms)
{
	return last_written_ms == 0 ||
		pgha_monotonic_ms() - last_written_ms >= w->loop_wait_ms;
}

/* The leader's position, for the replicas to judge their lag by. */
static void
publish_optime(HaWorker *w)
{
	int64		pos = (int64) GetXLogInsertRecPtr();
	char		json[64];
	char		err[PGHA_ERR_LEN];
	bool		done;

	if (w->cluster->has_optime && w->cluster->optime == pos)
		return;
	if (w->cluster->has_optime && !position_write_due(w, w->optime_written_ms))
		return;
	snprintf(json, sizeof(json), "{\"optime\":" INT64_FORMAT "}", pos);
	if (!dcs_kv_put(w->status_key, json, NULL, &done, err, sizeof(err)))
		publish_error(err);
	else
		w->optime_written_ms = pgha_monotonic_ms();
}

/*
 * Where timeline tli began, and (into *parent) the timeline it branched
 * from, by tli's history file.  The parent is not always tli - 1: a
 * promotion steps over IDs other nodes took (timeline.c).  ERROR when the
 * file cannot be read.
 */
static XLogRecPtr
timeline_parent(TimeLineID tli, TimeLineID *parent)
{
	List	   *history = readTimeLineHistory(tli);
	TimeLineHistoryEntry *prev;

	/* newest first: tli itself, then the one it branched from */
	if (list_length(history) < 2)
		ereport(ERROR,
				(errmsg("pg_ha: the history file of timeline %u names no parent timeline", tli)));
	prev = (TimeLineHistoryEntry *) list_nth(history, 1);
	if (parent != NULL)
		*parent = prev->tli;
	return prev->end;
}

/*
 * Where timeline tli began, from this node's own history file: read again
 * only when the timeline changes.  0 for timeline 1, or when the file
 * cannot be read (an ERROR here must not cost the round).
 */
static int64_t
timeline_begin(uint32_t tli)
{
	static uint32_t cached_tli = 0;
	static int64_t cached_begin = 0;
	MemoryContext oldcxt = CurrentMemoryContext;

	if (tli == cached_tli)
		return cached_begin;
	cached_tli = tli;
	cached_begin = 0;
	if (tli < 2)
		return 0;
	PG_TRY();
	{
		cached_begin = (int64_t) timeline_parent(tli, NULL);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(oldcxt);
		FlushErrorState();
		cached_begin = 0;
		cached_tli = 0;			/* try again next round */
	}
	PG_END_TRY();
	return cached_begin;
}

/*
 * After a promotion: one entry in the history key, as Patroni keeps it
 * (the timeline left, where, why, when, the new leader).
 */
static void
append_history(HaWorker *w)
{
	char		key[KEY_LEN];
	char	   *current;
	uint64_t	index;
	bool		found;
	bool		done;
	char		err[PGHA_ERR_LEN];
	char		body[PGHA_CONFIG_LEN];
	char		when[64];
	TimeLineID	tli = GetWALInsertionTimeLine();
	TimeLineID	parent;
	XLogRecPtr	switch_point;
	pg_time_t	now = (pg_time_t) time(NULL);

	pg_strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%S+00:00", pg_gmtime(&now));
	snprintf(key, sizeof(key), "%shistory", w->prefix);
	if (tli < 2)
		return;
	switch_point = timeline_parent(tli, &parent);
	for (int attempt = 0; attempt < 3; attempt++)
	{
		if (!dcs_kv_get_raw(key, &current, &index, &found, err, sizeof(err)) ||
			pgha_history_append(found ? current : NULL, parent,
								(int64_t) switch_point,
								"no recovery target specified",
								when, pg_ha_node_name, body, sizeof(body),
								err, sizeof(err)) < 0 ||
			!dcs_kv_put(key, body, psprintf("cas=" UINT64_FORMAT, found ? (uint64) index : (uint64) 0),
						&done, err, sizeof(err)))
		{
			ereport(WARNING, (errmsg("pg_ha: could not record the promotion in the history key: %s", err)));
			return;
		}
		if (done)
			return;
	}
}

/*
 * Before a promotion: no unfinished segment of a newer timeline in pg_wal
 * (wal_check.c), which PostgreSQL would read its last record from and
 * abort.  With one, the server restarts as a standby without it (the key
 * is kept across a quick restart: the session file), and promotes after.
 */
static bool
wal_fit_to_promote(HaWorker *w)
{
	TimeLineID	tli = 0;
	XLogRecPtr	pos;
	char		names[PGHA_MAX_PARTIAL_SEGMENTS][64];
	char		err[PGHA_ERR_LEN];
	int			n;

	if (w->promote_requested || w->checkpoint_after_promote)
		return true;
	if (w->wal_repair_started)
		return false;
	pos = GetXLogReplayRecPtr(&tli);
	n = pgha_partial_newer_segments(".", tli, pos, wal_segment_size, names);
	if (n == 0)
		return true;
	ereport(WARNING,
			(errmsg("pg_ha: node \"%s\" does not promote yet: pg_wal holds %s, a segment of a newer timeline that its walreceiver began and never finished, without the WAL replayed up to %X/%X",
					pg_ha_node_name, names[0], LSN_FORMAT_ARGS(pos)),
			 errdetail("PostgreSQL would read its last record from that file at the promotion, and abort."),
			 errhint("The server restarts as a standby without it, then promotes.")));
	if (!pgha_start_wal_repair(err, sizeof(err)))
		ereport(WARNING,
				(errmsg("pg_ha: cannot restart node \"%s\": %s", pg_ha_node_name, err),
				 errhint("Stop the server, move %s out of pg_wal, and start it again.", names[0])));
	else
		w->wal_repair_started = true;
	return false;
}

/*
 * Before a promotion: a timeline ID nobody took (see timeline.c), recorded
 * in the promotion key with check-and-set before PostgreSQL may take it,
 * and placeholders for the IDs to step over.  False: not this round.
 */
static bool
claim_timeline(HaWorker *w)
{
	uint32		next;
	uint32		target;
	uint32		ignored;
	char		key[KEY_LEN];
	char		json[2 * PGHA_NAME_LEN];
	char		err[PGHA_ERR_LEN];
	bool		done;
	const PgHaCluster *c = w->cluster;

	/* asked already: the claim was made for it */
	if (w->promote_requested || w->checkpoint_after_promote)
		return true;
	next = pgha_next_timeline();
	if (w->claimed_timeline != 0 && c->has_promotion &&
		c->promotion_timeline == w->claimed_timeline &&
		strcmp(c->promotion_member, pg_ha_node_name) == 0 &&
		w->claimed_timeline >= next)
		target = w->claimed_timeline;	/* ours, from an earlier round */
	else
	{
		target = ha_promotion_timeline(c, next, &ignored);
		if (ignored != 0)
			ereport(WARNING,
					(errmsg("pg_ha: timeline %u, recorded in the cluster, is more than %d IDs past this node's next one (%u): taken as garbage, not stepped over",
							ignored, HA_MAX_TIMELINE_SKIP, next)));
		snprintf(key, sizeof(key), "%spromotion", w->prefix);
		if (pgha_promotion_json(target, pg_ha_node_name, json, sizeof(json)) < 0)
			return false;
		if (!dcs_kv_put(key, json, psprintf("cas=" UINT64_FORMAT, (uint64) c->promotion_index),
						&done, err, sizeof(err)))
		{
			ereport(WARNING,
					(errmsg("pg_ha: not promoting this round: could not record timeline %u in the promotion key: %s",
							target, err)));
			w->rerun = true;
			return false;
		}
		if (!done)
		{
			/* somebody wrote it since our read: look again */
			w->rerun = true;
			return false;
		}
		w->claimed_timeline = target;
	}
	if (target > next)
		pgha_reserve_timelines(next, target);
	return true;
}

/*
 * The leader keeps the promotion key at least at its own timeline: a
 * promotion that took a higher ID than recorded (from an archive's history
 * files), and clusters from before the key.
 */
static void
step_promotion_key(HaWorker *w)
{
	TimeLineID	tli = GetWALInsertionTimeLine();
	const PgHaCluster *c = w->cluster;
	char		key[KEY_LEN];
	char		json[2 * PGHA_NAME_LEN];
	char		err[PGHA_ERR_LEN];
	bool		done;

	w->claimed_timeline = 0;
	if (c->has_promotion && c->promotion_timeline >= tli)
		return;
	snprintf(key, sizeof(key), "%spromotion", w->prefix);
	if (pgha_promotion_json(tli, pg_ha_node_name, json, sizeof(json)) < 0)
		return;
	if (!dcs_kv_put(key, json, psprintf("cas=" UINT64_FORMAT, (uint64) c->promotion_index),
					&done, err, sizeof(err)))
		publish_error(err);
}

/* Work of a leader that may fail without costing it the lead. */
static void
step_managed_conf(HaWorker *w)
{
	(void) pgha_write_managed_conf(NULL, w->cluster);
}

static void
step_slots(HaWorker *w)
{
	pgha_sync_slots(w->cluster, pg_ha_node_name);
}

static void
step_sync(HaWorker *w)
{
	pgha_sync_leader_round(w->cluster);
}

/*
 * One step of the leader's housekeeping; its error is reported and ends
 * that step only.  Each step is guarded alone: a slot that cannot be made
 * (slots exhausted, a logical slot named like a member) must not stop the
 * synchronous standby's management, or commits would hang once that
 * standby dies.
 */
static void
housekeeping_step(HaWorker *w, void (*step) (HaWorker *))
{
	MemoryContext cxt = CurrentMemoryContext;

	PG_TRY();
	{
		step(w);
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(cxt);
		EmitErrorReport();
		FlushErrorState();
		/* no transaction to abort: free what an error left held */
		LWLockReleaseAll();
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
	}
	PG_END_TRY();
}

static void
leader_housekeeping(HaWorker *w)
{
	/* a dead server's walsenders are gone: nothing here may read that */
	if (!PostmasterIsAlive())
		return;
	housekeeping_step(w, step_managed_conf);
	housekeeping_step(w, publish_optime);
	housekeeping_step(w, step_promotion_key);
	housekeeping_step(w, step_slots);
	housekeeping_step(w, step_sync);
}

static void
do_follow(HaWorker *w)
{
	const PgHaMember *leader = pgha_find_member(w->cluster, w->cluster->leader);

	/* without the leader's record we do not know where it is: keep on */
	if (leader != NULL)
		(void) pgha_write_managed_conf(leader, w->cluster);
}

static void
do_demote(HaWorker *w, const HaDecision *d)
{
	const PgHaMember *leader = pgha_find_member(w->cluster, w->cluster->leader);
	char		err[PGHA_ERR_LEN];

	set_fenced(w, d->reason, true);
	if (w->demotion_started || leader == NULL)
		return;

	/*
	 * A server just started (pg_ctl start -w, systemd) is restarted only
	 * once its starter has seen it ready, or the start is reported failed.
	 * It is fenced meanwhile.
	 */
	{
		long		up_ms = (long) ((GetCurrentTimestamp() - PgStartTime) / 1000);

		if (up_ms >= 0 && up_ms < DEMOTE_AFTER_START_MS)
			(void) pgha_api_wait(WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
								 DEMOTE_AFTER_START_MS - up_ms, PG_WAIT_EXTENSION);
	}
	if (!pgha_start_demotion(leader, w->cluster, err, sizeof(err)))
	{
		ereport(WARNING,
				(errmsg("pg_ha: cannot demote node \"%s\": %s", pg_ha_node_name, err),
				 errhint("The node stays fenced; restart it as a standby of \"%s\" by hand.",
						 leader->name)));
		return;
	}
	w->demotion_started = true;
}

/*
 * The session that asked this node to step down or restart (pg_ha_switchover
 * or pg_ha_restart called here) gets its answer before it is ended: wait
 * until it no longer runs a statement, at most CALLER_WAIT_MS.
 */
static void
let_caller_finish(void)
{
	pid_t		pid;
	int64		deadline = pgha_monotonic_ms() + CALLER_WAIT_MS;

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pid = pgha_shared->action_caller;
	pgha_shared->action_caller = 0;
	LWLockRelease(pgha_shared->lock);
	while (pid != 0 && pgha_backend_running(pid) &&
		   pgha_monotonic_ms() < deadline && PostmasterIsAlive())
		(void) pgha_api_wait(WL_TIMEOUT | WL_POSTMASTER_DEATH, CALLER_POLL_MS,
							 PG_WAIT_EXTENSION);
}

/*
 * Step down for the candidate: fence, then the same detached restart as a
 * demotion, pointed at the candidate.  The shutdown hands the key over
 * (pg_ha_ctl release) once every replica has the last WAL; the candidate,
 * named in the failover key, is the only one to take it.
 */
static void
do_switchover(HaWorker *w, const HaDecision *d)
{
	const PgHaMember *target = pgha_find_member(w->cluster, d->target);
	char		err[PGHA_ERR_LEN];

	if (w->demotion_started || target == NULL)
		return;
	let_caller_finish();
	set_fenced(w, d->reason, true);
	if (!pgha_start_demotion(target, w->cluster, err, sizeof(err)))
	{
		ereport(WARNING,
				(errmsg("pg_ha: switchover to \"%s\" failed: %s", target->name, err),
				 errhint("This node stays fenced; the leader key expires and a replica takes over.")));
		return;
	}
	w->demotion_started = true;
}

/*
 * A reinitialize the REST API took (POST /reinitialize, pg_ha_reinit()):
 * once a session here that asked has its answer, `pg_ha_ctl rejoin
 * --reinit` clones this node again from the leader, detached as a
 * demotion is.  Until the server stops, it neither takes the leader key
 * nor restarts for another reason.
 */
static void
do_reinit(HaWorker *w, HaDecision *d)
{
	char		err[PGHA_ERR_LEN];

	if (pgha_reinit_requested() && w->cluster_ok)
	{
		const PgHaCluster *c = w->cluster;
		const PgHaMember *leader = c->has_leader && c->leader_session[0] &&
			strcmp(c->leader, pg_ha_node_name) != 0 ? pgha_find_member(c, c->leader) : NULL;

		if (leader == NULL)
			snprintf(err, sizeof(err), "the cluster has no other leader to clone from");
		else if (w->demotion_started || w->restart_started)
			snprintf(err, sizeof(err), "a %s of this node is on its way",
					 w->demotion_started ? "demotion" : "restart");
		else
		{
			let_caller_finish();
			if (pgha_start_reinit(leader, c, err, sizeof(err)))
				w->demotion_started = true;
		}
		if (!pgha_reinit_started())
		{
			ereport(WARNING,
					(errmsg("pg_ha: cannot reinitialize node \"%s\": %s", pg_ha_node_name, err)));
			pgha_forget_reinit();
		}
	}
	if (pgha_reinit_started() &&
		(d->action == HA_ACQUIRE || d->action == HA_PROMOTE || d->action == HA_INITIALIZE))
	{
		d->action = HA_NOTHING;
		strlcpy(d->reason, "this node is being reinitialized", sizeof(d->reason));
	}
}

static void
clear_failover(HaWorker *w, const HaDecision *d)
{
	char		err[PGHA_ERR_LEN];
	char		query[64];
	bool		done;

	snprintf(query, sizeof(query), "cas=" UINT64_FORMAT,
			 (uint64) w->cluster->failover_modify_index);
	if (!dcs_kv_delete(w->failover_key, query, &done, err, sizeof(err)))
		publish_error(err);
	else if (strstr(d->reason, "is done") == NULL)
		ereport(WARNING,
				(errmsg("pg_ha: dropped the switchover request: %s", d->reason)));
}

static void
do_keep_leader(HaWorker *w)
{
	/* each renewal writes our name back, should someone overwrite it */
	set_leader(w);

	/*
	 * The new timeline reaches the control file only with the first
	 * checkpoint after promotion, which is spread otherwise: pg_rewind of
	 * the old leader compares control files, so take it now.
	 */
	if (w->checkpoint_after_promote)
	{
		RequestCheckpoint(CHECKPOINT_IMMEDIATE | CHECKPOINT_FORCE);
		w->checkpoint_after_promote = false;
		append_history(w);
	}
	leader_housekeeping(w);
}

static void
publish_member(HaWorker *w, const HaLocalState *local)
{
	PgHaMember	m;
	char		json[2048];
	char		err[PGHA_ERR_LEN];
	char		query[PGHA_SESSION_LEN + 16];
	bool		done = false;

	if (w->session[0] == '\0')
		return;
	build_member(w, local, &m);
	if (pgha_member_to_json(&m, json, sizeof(json)) < 0)
		return;

	/*
	 * Consul already has this record, held by this session (as read this
	 * round): nothing to write.  An idle cluster then costs one request
	 * less per node and round, as Patroni skips an unchanged member too.
	 */
	{
		const PgHaMember *current = pgha_find_member(w->cluster, pg_ha_node_name);
		PgHaMember	moved;
		char		current_json[2048];

		if (current != NULL && strcmp(current->session, w->session) == 0)
		{
			if (pgha_member_to_json(current, current_json, sizeof(current_json)) >= 0 &&
				strcmp(current_json, json) == 0)
				return;
			/* only the WAL position moved: once per loop_wait */
			moved = *current;
			moved.has_xlog = m.has_xlog;
			moved.xlog_location = m.xlog_location;
			if (!position_write_due(w, w->member_written_ms) &&
				pgha_member_to_json(&moved, current_json, sizeof(current_json)) >= 0 &&
				strcmp(current_json, json) == 0)
				return;
		}
	}
	snprintf(query, sizeof(query), "acquire=%s", w->session);
	if (!dcs_kv_put(w->member_key, json, query, &done, err, sizeof(err)))
		publish_error(err);
	else if (done)
		w->member_written_ms = pgha_monotonic_ms();
	else
	{
		snprintf(err, sizeof(err),
				 "member key \"%s\" is held by another session: is node name \"%s\" used twice?",
				 w->member_key, pg_ha_node_name);
		log_error_change(w, err);
		publish_error(err);
	}
}

/* epoch ms of this server's start: tells a restarted server from the old */
static int64
server_start_ms(void)
{
	return (int64) (PgStartTime / 1000) +
		(int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * 1000;
}

/* log a reason for waiting once, until it changes */
static void
log_restart_wait(HaWorker *w, const char *why, const char *hint)
{
	if (strcmp(w->logged_restart_wait, why) == 0)
		return;
	strlcpy(w->logged_restart_wait, why, sizeof(w->logged_restart_wait));
	ereport(LOG,
			(errmsg("pg_ha: restart of node \"%s\" waits: %s", pg_ha_node_name, why),
			 hint && hint[0] ? errhint("%s", hint) : 0));
}

/*
 * May this node restart now without stopping a hot standby?  Its own order
 * (wait_for: the member before it in a restart of the whole cluster), the
 * cluster's order of hot standby values, and on a standby the values its
 * control file has from the primary (the last parameter change replayed),
 * which a standby must not go below.
 */
static bool
restart_may_start(HaWorker *w, const char *wait_for)
{
	const PgHaCluster *c = w->cluster;
	const char *self[1] = {pg_ha_node_name};
	char		msg[PGHA_ERR_LEN * 2];
	char		hint[PGHA_ERR_LEN * 2];
	const PgHaMember *me = pgha_find_member(c, pg_ha_node_name);

	if (wait_for[0] != '\0')
	{
		const PgHaMember *p = pgha_find_member(c, wait_for);
		bool		p_restarting = false;

		for (int i = 0; i < c->nrestarts; i++)
			p_restarting |= strcmp(c->restarts[i].member, wait_for) == 0;
		/* a member gone for good does not hold the others back */
		if (p != NULL && (p_restarting || strcmp(p->state, "running") != 0))
		{
			snprintf(msg, sizeof(msg), "member \"%s\" restarts first", wait_for);
			log_restart_wait(w, msg, NULL);
			return false;
		}
	}
	if (!pgha_restart_order(c, self, 1, NULL, msg, sizeof(msg), hint, sizeof(hint)))
	{
		log_restart_wait(w, msg, hint);
		return false;
	}
	if (RecoveryInProgress() && me != NULL && me->has_hs_values)
	{
		bool		crc_ok = false;
		ControlFileData *cf = get_controlfile(DataDir, &crc_ok);
		int64_t		target[PGHA_HS_NPARAMS];
		int64_t		primary[PGHA_HS_NPARAMS];

		pgha_hs_targets(c, me->hs_values, target);
		primary[0] = cf->MaxConnections;
		primary[1] = cf->max_worker_processes;
		primary[2] = cf->max_wal_senders;
		primary[3] = cf->max_prepared_xacts;
		primary[4] = cf->max_locks_per_xact;
		pfree(cf);
		for (int k = 0; crc_ok && k < PGHA_HS_NPARAMS; k++)
			if (target[k] < primary[k])
			{
				snprintf(msg, sizeof(msg),
						 "its %s would become " INT64_FORMAT ", below the " INT64_FORMAT " of the primary it has replayed so far",
						 pgha_hs_param_names[k], (int64) target[k], (int64) primary[k]);
				log_restart_wait(w, msg, "The leader restarts with the lower value first; this node follows once it has replayed that.");
				return false;
			}
	}
	w->logged_restart_wait[0] = '\0';
	return true;
}

/*
 * A restart request for this node (restart/<name>): mark it as started
 * (with this server's start time), let pg_ctl (or pg_ha.restart_command)
 * restart the server, and remove it once the restarted server's worker
 * sees it: until then the others see this member restarting.  The session
 * is kept across the restart, so a leader back within ttl still holds its
 * key: no failover.
 */
static void
handle_restart_request(HaWorker *w, const HaLocalState *local)
{
	char		err[PGHA_ERR_LEN];
	char		key[KEY_LEN + 16];
	char		query[64];
	char		body[512];
	bool		done;
	int64		started = server_start_ms();

	/*
	 * A restart that has not happened long after it was started (a
	 * restart_command that failed, pg_ctl that gave up): give the request
	 * up, so that the members waiting for this one are not held forever.
	 */
	if (w->restart_started && !w->demotion_started &&
		pgha_monotonic_ms() - w->restart_started_ms > RESTART_GIVE_UP_MS)
	{
		ereport(WARNING,
				(errmsg("pg_ha: the server of node \"%s\" was not restarted within %d s; giving the restart request up",
						pg_ha_node_name, RESTART_GIVE_UP_MS / 1000),
				 errhint("See the server log for the output of pg_ctl or pg_ha.restart_command.")));
		w->restart_started = false;
	}
	if (w->restart_started || w->demotion_started)
		return;
	for (int i = 0; i < w->cluster->nrestarts; i++)
	{
		const PgHaRestartRequest *r = &w->cluster->restarts[i];

		if (strcmp(r->member, pg_ha_node_name) != 0)
			continue;
		snprintf(key, sizeof(key), "%srestart/%s", w->prefix, pg_ha_node_name);
		snprintf(query, sizeof(query), "cas=" UINT64_FORMAT, (uint64) r->modify_index);
		if (r->restarting != 0)
		{
			const PgHaMember *me = pgha_find_member(w->cluster, pg_ha_node_name);

			/*
			 * A restart was started: done when this is a newer server, once
			 * Consul has its record (a REST client waiting for the outcome
			 * judges by it, pgha_restart_outcome).
			 */
			if (r->restarting != started && me != NULL && me->start_ms != started)
				return;
			if (dcs_kv_delete(key, query, &done, err, sizeof(err)) && done)
			{
				if (r->restarting != started)
					ereport(LOG,
							(errmsg("pg_ha: node \"%s\" is back from its requested restart",
									pg_ha_node_name)));
				else
					ereport(WARNING,
							(errmsg("pg_ha: the requested restart of node \"%s\" did not happen; request removed",
									pg_ha_node_name)));
			}
			return;
		}
		if (r->scheduled && local->wall_ms < r->scheduled_ms)
			return;
		if (r->pending_only && !pgha_pending_restart())
		{
			if (dcs_kv_delete(key, query, &done, err, sizeof(err)) && done)
				ereport(LOG,
						(errmsg("pg_ha: restart request ignored: no setting is pending a restart")));
			return;
		}
		if (!r->any_order && !restart_may_start(w, r->wait_for))
			return;
		snprintf(body, sizeof(body),
				 "{\"pending_only\":%s,\"any_order\":%s,\"restarting\":" INT64_FORMAT "}",
				 r->pending_only ? "true" : "false", r->any_order ? "true" : "false",
				 started);
		if (!dcs_kv_put(key, body, query, &done, err, sizeof(err)) || !done)
			return;				/* changed meanwhile: look again next round */
		w->restart_started = true;
		w->restart_started_ms = pgha_monotonic_ms();
		let_caller_finish();
		if (!pgha_start_restart(err, sizeof(err)))
		{
			w->restart_started = false;
			ereport(WARNING, (errmsg("pg_ha: could not restart: %s", err)));
			return;
		}
		ereport(LOG,
				(errmsg("pg_ha: restarting node \"%s\" as requested%s; its Consul session is kept",
						pg_ha_node_name,
						pg_ha_restart_command[0] ? " with pg_ha.restart_command" : "")));
		return;
	}
}

/* ----- one round */

static void
publish_state(HaWorker *w, const HaLocalState *local, const HaDecision *d,
			  const char *err)
{
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	if (pg_atomic_read_u32(&pgha_shared->leader_confirmed))
		strlcpy(pgha_shared->role, "leader", sizeof(pgha_shared->role));
	else if (local->is_primary)
		strlcpy(pgha_shared->role, "primary", sizeof(pgha_shared->role));
	else
		strlcpy(pgha_shared->role, "replica", sizeof(pgha_shared->role));
	strlcpy(pgha_shared->last_action, ha_action_name(d->action),
			sizeof(pgha_shared->last_action));
	strlcpy(pgha_shared->last_reason, d->reason, sizeof(pgha_shared->last_reason));
	strlcpy(pgha_shared->last_error, err[0] ? err : round_error,
			sizeof(pgha_shared->last_error));
	/*
	 * A standby cannot take writes: fencing is a primary's state.  A primary
	 * still in its start-up recovery keeps its reason (refusing to join,
	 * say): the connection gate gives it once the recovery is over.
	 */
	if (!local->is_primary && local->in_recovery)
	{
		pgha_shared->fenced = false;
		pgha_shared->fence_reason[0] = '\0';
	}
	strlcpy(pgha_shared->session, w->session, sizeof(pgha_shared->session));
	pgha_shared->last_round = GetCurrentTimestamp();
	if (w->cluster_ok)
	{
		pgha_shared->last_contact = GetCurrentTimestamp();
		pgha_shared->cluster_as_of = pgha_shared->last_contact;
		pgha_shared->cluster_valid = true;
		memcpy(&pgha_shared->cluster, w->cluster, sizeof(PgHaCluster));
	}
	LWLockRelease(pgha_shared->lock);
}

static void
ha_round(HaWorker *w, PgHaCluster *scratch)
{
	HaLocalState local;
	HaDecision	d;
	HaConfig	config;
	char		err[PGHA_ERR_LEN];
	bool		ok;
	bool		prefetched = false;
	char		last_leader[PGHA_NAME_LEN];

	err[0] = '\0';
	round_error[0] = '\0';
	w->rerun = false;
	w->cluster_ok = false;
	strlcpy(last_leader, w->cluster->leader, sizeof(last_leader));

	ok = ensure_session(w, err, sizeof(err));
	if (ok)
		ok = renew_member(w, err, sizeof(err));
	/* the blocking wait's answer, just received, is this round's read */
	if (ok && w->prefetched_ok)
	{
		memcpy(scratch, w->prefetched, sizeof(PgHaCluster));
		prefetched = true;
	}
	else if (ok)
		ok = dcs_read_cluster(w->prefix, scratch, err, sizeof(err));
	w->prefetched_ok = false;
	if (ok)
	{
		memcpy(w->cluster, scratch, sizeof(PgHaCluster));
		w->cluster_ok = true;
		/* once per new complaint, not every round */
		if (w->cluster->nwarnings > 0 &&
			strcmp(w->cluster->warning, w->logged_warning) != 0)
			ereport(WARNING,
					(errmsg("pg_ha: skipped %d bad record(s) in Consul under \"%s\": %s",
							w->cluster->nwarnings, w->prefix, w->cluster->warning)));
		strlcpy(w->logged_warning, w->cluster->nwarnings > 0 ? w->cluster->warning : "",
				sizeof(w->logged_warning));
		apply_timings(w);
		renew_leader_key(w, err, sizeof(err));
		watch_leader_key(w);
	}
	log_error_change(w, err);

	read_local_state(w, &local);
	config.node_name = pg_ha_node_name;
	config.ttl_ms = w->ttl_ms;
	ha_decide(&local, w->cluster, w->cluster_ok, &config, &d);

	/*
	 * The blocking read's answer may have waited in the socket while this
	 * process was stopped or starved: good to see that nothing changed, not
	 * to act on (a withdrawn switchover request, a leader since replaced).
	 * A round about to act reads again first.
	 */
	if (prefetched &&
		ha_decision_acts(d.action, strcmp(last_leader, w->cluster->leader) != 0))
	{
		w->rerun = true;
		return;
	}
	if (d.action == HA_ACQUIRE && !local.is_primary)
		decide_on_fresh_positions(w, &local, &config, &d);
	do_reinit(w, &d);
	w->recheck_soon = d.recheck_soon;
	w->wake_in_ms = d.wake_in_ms;

	if (d.action != w->logged_action || strcmp(d.reason, w->logged_reason) != 0)
	{
		if (d.action == HA_REFUSE_JOIN)
			ereport(WARNING,
					(errmsg("pg_ha: node \"%s\" refuses to join cluster \"%s\": %s",
							pg_ha_node_name, pg_ha_cluster, d.reason),
					 errdetail("This data directory belongs to another database cluster."),
					 errhint("Use another pg_ha.cluster name, or re-create this node from the cluster's leader.")));
		else
			ereport(LOG,
					(errmsg("pg_ha: %s: %s", ha_action_name(d.action), d.reason)));
		w->logged_action = d.action;
		strlcpy(w->logged_reason, d.reason, sizeof(w->logged_reason));
	}

	switch (d.action)
	{
		case HA_INITIALIZE:
			/* the leader restoring a lost key goes on taking writes */
			if (!key_is_ours(w))
				set_fenced(w, d.reason, false);
			do_initialize(w);
			break;
		case HA_ACQUIRE:
			do_acquire(w, &local);
			break;
		case HA_KEEP_LEADER:
			do_keep_leader(w);
			break;
		case HA_REFUSE_JOIN:
			/* a twin must not stream under the name it does not own */
			if (local.name_taken && local.in_recovery)
				(void) pgha_write_managed_conf(NULL, w->cluster);
			set_fenced(w, d.reason, local.is_primary && !local.in_recovery);
			break;
		case HA_FENCE:
			set_fenced(w, d.reason, local.is_primary && !local.in_recovery);
			break;
		case HA_PROMOTE:
			/* synchronous mode: the sync key names us first */
			if (!pgha_sync_before_promote(w->cluster))
				break;
			if (!wal_fit_to_promote(w))
				break;
			if (!claim_timeline(w))
				break;
			pgha_request_promote();
			w->checkpoint_after_promote = true;
			w->promote_requested = true;
			break;
		case HA_FOLLOW:
			do_follow(w);
			break;
		case HA_DEMOTE:
			do_demote(w, &d);
			break;
		case HA_SWITCHOVER:
			do_switchover(w, &d);
			break;
		case HA_CLEAR_FAILOVER:
			do_keep_leader(w);
			clear_failover(w, &d);
			break;
		case HA_NOTHING:
			if (local.is_primary && !pgha_lease_held())
				set_fenced(w, d.reason[0] ? d.reason : "no leader lease", false);
			break;
	}

	if (w->cluster_ok)
		give_up_key_if_unfit(w, &d);

	if (w->cluster_ok && d.action != HA_REFUSE_JOIN)
	{
		publish_member(w, &local);
		handle_restart_request(w, &local);
		/* listing only: a member that stopped stays listed as stopped */
		pgha_note_members(w->prefix, w->cluster, pg_ha_node_name,
						  key_is_ours(w), w->ttl_ms);
	}
	publish_state(w, &local, &d, err);
	pgha_callbacks_round(w->rerun);
}

/*
 * Before a replica takes over by itself: the positions the others published
 * may be a loop_wait old, and one of them may have received more since.
 * Ask each other running replica for its position now (its REST API, as
 * Patroni does) and decide again on those; one that does not answer within
 * the timeout keeps the position it published.
 */
static void
decide_on_fresh_positions(HaWorker *w, const HaLocalState *local,
						  const HaConfig *config, HaDecision *d)
{
	PgHaCluster *fresh;
	int			timeout = Min(w->retry_timeout_ms, FRESH_POSITION_TIMEOUT_MS);
	int			updated = 0;

	/* a named candidate was chosen by the operator, with its lag checked */
	if (w->cluster->has_failover &&
		strcmp(w->cluster->failover_member, pg_ha_node_name) == 0)
		return;
	fresh = palloc(sizeof(PgHaCluster));
	memcpy(fresh, w->cluster, sizeof(PgHaCluster));
	for (int i = 0; i < fresh->nmembers; i++)
	{
		PgHaMember *m = &fresh->members[i];
		PgHaFreshPosition p;
		char		err[PGHA_ERR_LEN];

		if (strcmp(m->name, pg_ha_node_name) == 0 ||
			strcmp(m->state, "running") != 0 || strcmp(m->role, "replica") != 0 ||
			m->nofailover || m->api_url[0] == '\0')
			continue;
		if (!dcs_member_status(m->api_url, timeout, &p, err, sizeof(err)) ||
			!p.has_xlog)
			continue;
		if (p.timeline != 0 && (m->timeline == 0 || p.timeline > m->timeline))
		{
			m->timeline = p.timeline;
			m->has_xlog = true;
			m->xlog_location = p.xlog;
			updated++;
		}
		else if ((p.timeline == 0 || p.timeline == m->timeline) &&
				 (!m->has_xlog || p.xlog > m->xlog_location))
		{
			m->has_xlog = true;
			m->xlog_location = p.xlog;
			updated++;
		}
	}
	if (updated > 0)
		ha_decide(local, fresh, true, config, d);
	pfree(fresh);
}

/*
 * A key holder that cannot lead (a demotion that failed once standby.signal
 * was written, a promotion or a recovery that does not end, another
 * system identifier) would keep the key, and the cluster without a leader,
 * for as long as it renews it.  After a ttl of that it gives the key up:
 * it takes no writes meanwhile (fenced), so the release is safe, and a
 * replica takes over at once.
 */
static void
give_up_key_if_unfit(HaWorker *w, const HaDecision *d)
{
	int64		now = pgha_monotonic_ms();

	if (!key_is_ours(w) || d->action == HA_KEEP_LEADER ||
		d->action == HA_CLEAR_FAILOVER || d->action == HA_INITIALIZE)
	{
		w->unfit_since_ms = 0;
		return;
	}
	if (w->unfit_since_ms == 0)
	{
		w->unfit_since_ms = now;
		return;
	}
	if (now - w->unfit_since_ms < w->ttl_ms)
		return;
	set_fenced(w, d->reason, false);
	if (release_leader_key(w))
		ereport(WARNING,
				(errmsg("pg_ha: gave up the leader key of cluster \"%s\": this node could not lead for %d ms (%s)",
						pg_ha_cluster, (int) (now - w->unfit_since_ms), d->reason)));
	w->unfit_since_ms = 0;
	w->rerun = true;
}

/* ----- waiting between rounds */

/*
 * The leader's renewal interval (ha_renew_interval_ms): the leader renews
 * its key then, and the others wake with each renewal anyway.  Shorter
 * when the lease's renewal comes sooner, when the check or the session
 * would otherwise go half their TTL unrenewed, and while the decision
 * waits for something that comes soon; never 0 for a failing renewal.
 */
static int
round_wait_ms(const HaWorker *w)
{
	int64		now = pgha_monotonic_ms();
	int			interval = ha_renew_interval_ms(w->ttl_ms, w->loop_wait_ms);
	bool		leading = key_is_ours(w) && w->lease_expiry_ms > now;
	int64		wait;
	int64		left;

	/*
	 * The others wake with each renewal of the leader key: their own limit
	 * is longer, so that it does not race the renewal and cost a blocking
	 * read more.  A dead leader is noticed by wake_in, not by this.
	 */
	wait = leading ? interval : 2 * (int64) interval;

	/* a renewal that failed is tried again with the rounds, not sooner */
	left = w->check_passed_ms + MEMBER_TTL_FACTOR * w->check_ttl_ms / 2 - now;
	if (w->check_registered && w->check_passed_ms != 0 && left > 0)
		wait = Min(wait, left);
	left = w->session_renewed_ms + session_ttl(w) / 2 - now;
	if (w->session[0] != '\0' && w->session_renewed_ms != 0 && left > 0)
		wait = Min(wait, left);
	if (leading)
	{
		/*
		 * The lease: its next renewal; after a failed attempt, or a round
		 * that could not read the cluster, soon, while the lease runs.
		 */
		left = w->lk_sent_ms + interval - now;
		wait = Min(wait, w->lk_renew_failed || left <= 0 ? RENEW_RETRY_MS : left);
	}
	/* e.g. a switchover candidate catching up: look again shortly */
	if (w->recheck_soon)
		wait = Min(wait, RECHECK_SOON_MS);
	/* the leader key may be taken then */
	if (w->wake_in_ms > 0)
		wait = Min(wait, w->wake_in_ms + 1);
	return (int) Max(wait, 0);
}

static void
wait_between_rounds(HaWorker *w)
{
	int64		start = pgha_monotonic_ms();
	int64		left;
	char		err[PGHA_ERR_LEN];

	if (w->rerun)
		return;

	/*
	 * A promotion takes milliseconds: writes must start when it ends, not a
	 * loop_wait later, so look at the end of recovery often until then.
	 */
	if (w->promote_requested)
	{
		w->promote_requested = false;
		while (RecoveryInProgress() &&
			   pgha_monotonic_ms() - start < round_wait_ms(w) &&
			   !ShutdownRequestPending && !ConfigReloadPending &&
			   PostmasterIsAlive())
		{
			(void) pgha_api_wait(WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
								 PROMOTE_POLL_MS, PG_WAIT_EXTENSION);
			ResetLatch(MyLatch);
		}
		return;
	}

	/*
	 * The REST API's write requests, right after the round's renewal: their
	 * Consul calls are taken out of this wait, so that the next renewal
	 * comes on time however many there are (up to a loop_wait of them).
	 */
	pgha_api_run_writes();

	if (w->cluster_ok)
	{
		uint64		index = w->leader_index > w->cluster->index ?
			w->leader_index : w->cluster->index;
		bool		delivered;

		err[0] = '\0';
		left = round_wait_ms(w) - (pgha_monotonic_ms() - start);
		if (left <= 0)
			return;
		if (dcs_wait_cluster(w->prefix, &index, (int) left, w->prefetched,
							 &delivered, err, sizeof(err)))
		{
			w->leader_index = index;
			w->prefetched_ok = delivered;
			return;
		}
		log_error_change(w, err);
	}

	/*
	 * Consul is not answering: plain wait for the rest of the loop.  The
	 * postmaster's death ends it; the loop's top then exits the right way
	 * (exit_on_postmaster_death), never a bare exit here.
	 */
	left = round_wait_ms(w) - (pgha_monotonic_ms() - start);
	if (left > 0)
	{
		(void) pgha_api_wait(WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
							 (long) left, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}

/* ----- shutdown */

/*
 * Give the leader key up on purpose, only while our session holds it, and
 * leave the marker that tells the others no lease of ours runs any more.
 */
static bool
release_leader_key(HaWorker *w)
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

static void
release_on_shutdown(HaWorker *w)
{
	char		err[PGHA_ERR_LEN];

	/* the key holder, fenced or not (a switchover fences first) */
	bool		was_leader = w->session[0] != '\0' && w->cluster->has_leader &&
		strcmp(w->cluster->leader_session, w->session) == 0;

	pg_atomic_write_u32(&pgha_shared->leader_confirmed, 0);
	if (w->session[0] == '\0')
		return;

	/* a requested restart keeps the session: the node is back within ttl */
	if (w->restart_started)
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
	if (release_leader_key(w))
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
static void
exit_on_postmaster_death(HaWorker *w)
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
	if (release_leader_key(w))
		ereport(LOG,
				(errmsg("pg_ha: the postmaster died; released the leader key of cluster \"%s\"",
						pg_ha_cluster)));
	if (dcs_check_fail(w->check_id, err, sizeof(err)))
		ereport(LOG,
				(errmsg("pg_ha: the postmaster died; failed check \"%s\" so that the leader key is freed now",
						w->check_id)));
	proc_exit(1);
}

/* Has the postmaster begun to shut down?  It says so in postmaster.pid. */
static bool
postmaster_stopping(void)
{
	FILE	   *f = AllocateFile("postmaster.pid", "r");
	char		line[MAXPGPATH];
	int			n = 0;
	bool		stopping = false;

	if (f == NULL)
		return true;			/* gone: as good as stopping */
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (++n == LOCK_FILE_LINE_PM_STATUS)
		{
			stopping = strncmp(line, PM_STATUS_STOPPING, strlen(PM_STATUS_STOPPING)) == 0;
			break;
		}
	}
	FreeFile(f);
	return stopping;
}

/* ----- main */

static void
init_worker(HaWorker *w)
{
	memset(w, 0, sizeof(*w));
	snprintf(w->prefix, sizeof(w->prefix), "%s/%s/", pg_ha_namespace, pg_ha_cluster);
	snprintf(w->leader_key, sizeof(w->leader_key), "%sleader", w->prefix);
	snprintf(w->member_key, sizeof(w->member_key), "%smembers/%s", w->prefix,
			 pg_ha_node_name);
	snprintf(w->initialize_key, sizeof(w->initialize_key), "%sinitialize", w->prefix);
	snprintf(w->config_key, sizeof(w->config_key), "%sconfig", w->prefix);
	snprintf(w->status_key, sizeof(w->status_key), "%sstatus", w->prefix);
	snprintf(w->failover_key, sizeof(w->failover_key), "%sfailover", w->prefix);
	snprintf(w->check_id, sizeof(w->check_id), "pg_ha:%s:%s:%s",
			 pg_ha_namespace, pg_ha_cluster, pg_ha_node_name);
	snprintf(w->sysid, sizeof(w->sysid), UINT64_FORMAT, GetSystemIdentifier());
	w->cluster = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaCluster));
	w->prefetched = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaCluster));
	w->logged_action = (HaAction) -1;
	/* a restarted worker keeps the timings in force, not refused ones */
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	w->ttl_ms = pgha_shared->ttl_ms ? pgha_shared->ttl_ms : pg_ha_ttl;
	w->loop_wait_ms = pgha_shared->loop_wait_ms ? pgha_shared->loop_wait_ms : pg_ha_loop_wait;
	w->retry_timeout_ms = pgha_shared->retry_timeout_ms ?
		pgha_shared->retry_timeout_ms : pg_ha_retry_timeout;
	LWLockRelease(pgha_shared->lock);
	w->local_ttl_ms = w->ttl_ms;
	w->local_loop_wait_ms = w->loop_wait_ms;
	w->local_retry_timeout_ms = w->retry_timeout_ms;
	w->lock_delay_ms = pg_ha_lock_delay;
	adopt_local_timings(w);
	/* the timings in force stay until the config key has been read */
	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->ttl_ms = w->ttl_ms;
	pgha_shared->loop_wait_ms = w->loop_wait_ms;
	pgha_shared->retry_timeout_ms = w->retry_timeout_ms;
	LWLockRelease(pgha_shared->lock);
}

void
pg_ha_worker_main(Datum main_arg)
{
	HaWorker	w;
	PgHaCluster *scratch;
	MemoryContext round_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	BackgroundWorkerUnblockSignals();

	LWLockAcquire(pgha_shared->lock, LW_EXCLUSIVE);
	pgha_shared->worker_pid = MyProcPid;
	pgha_shared->worker_latch = MyLatch;
	LWLockRelease(pgha_shared->lock);

	init_worker(&w);
	scratch = MemoryContextAllocZero(TopMemoryContext, sizeof(PgHaCluster));
	round_cxt = AllocSetContextCreate(TopMemoryContext, "pg_ha round",
									  ALLOCSET_DEFAULT_SIZES);
	dcs_init();
	configure_dcs(&w);
	pgha_api_init();
	pgha_api_start();

	ereport(LOG,
			(errmsg("pg_ha: HA worker started for node \"%s\" of cluster \"%s\" (Consul %s, ttl %d ms, loop_wait %d ms)",
					pg_ha_node_name, pg_ha_cluster, pg_ha_consul_url,
					w.ttl_ms, w.loop_wait_ms)));

	while (!ShutdownRequestPending)
	{
		MemoryContext old;

		/*
		 * Never outlive the postmaster: a worker that kept renewing the
		 * session of a dead server would keep its lock alive.
		 */
		if (!PostmasterIsAlive())
			exit_on_postmaster_death(&w);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
			adopt_local_timings(&w);
			apply_timings(&w);
			configure_dcs(&w);
			pgha_api_reload();
			pgha_callbacks_reload();
		}
		ResetLatch(MyLatch);
		/* the REST API: listen (again) when it could not */
		pgha_api_start();

		old = MemoryContextSwitchTo(round_cxt);
		PG_TRY();
		{
			ha_round(&w, scratch);
			wait_between_rounds(&w);
		}
		PG_CATCH();
		{
			/* a bad round must not kill the worker: log it, try again */
			MemoryContextSwitchTo(round_cxt);
			EmitErrorReport();
			FlushErrorState();
			LWLockReleaseAll();
			(void) pgha_api_wait(WL_LATCH_SET | WL_TIMEOUT | WL_POSTMASTER_DEATH,
								 (long) w.loop_wait_ms, PG_WAIT_EXTENSION);
		}
		PG_END_TRY();
		MemoryContextSwitchTo(old);
		MemoryContextReset(round_cxt);
	}

	/*
	 * Ended alone (pg_terminate_backend) while the server goes on: keep the
	 * session and the key, and exit 1 so that the postmaster starts the
	 * worker again in a second; exit 0 would leave the node without one.
	 */
	if (!postmaster_stopping())
	{
		pg_atomic_write_u32(&pgha_shared->leader_confirmed, 0);
		ereport(LOG,
				(errmsg("pg_ha: HA worker terminated while the server runs; it is started again")));
		pgha_api_stop();
		dcs_shutdown();
		proc_exit(1);
	}

	pgha_callbacks_stop(w.demotion_started ? PGHA_CB_STOP_FOR_DEMOTION :
						w.restart_started ? PGHA_CB_STOP_FOR_RESTART : PGHA_CB_STOP);
	/* health checks answered until the key is released */
	release_on_shutdown(&w);
	pgha_api_stop();
	dcs_shutdown();
	proc_exit(0);
}
