/*-------------------------------------------------------------------------
 *
 * ha_decide.h
 *	  The HA decision: what one node must do next, as a pure function.
 *
 * Inputs are plain values (the node's own state, the cluster as last read
 * from Consul, the configuration, the clock); the output is one action and
 * a human-readable reason.  No I/O and no PostgreSQL calls, so that every
 * branch can be unit-tested alone (regress/unit/test_ha_decide.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_DECIDE_H
#define PG_HA_DECIDE_H

#include "cluster.h"
#include "consul_parse.h"

typedef enum HaAction
{
	HA_NOTHING,					/* nothing to change: wait */
	HA_INITIALIZE,				/* race for the initialize key with our sysid */
	HA_REFUSE_JOIN,				/* our sysid is not the cluster's */
	HA_ACQUIRE,					/* try to take the free leader key */
	HA_KEEP_LEADER,				/* we hold the key: stay leader, unfenced */
	HA_FENCE,					/* primary that must not take writes */
	HA_PROMOTE,					/* we hold the key but still in recovery */
	HA_FOLLOW,					/* replica: follow the current leader */
	HA_DEMOTE,					/* primary while another member leads */
	HA_SWITCHOVER,				/* leader: step down for target */
	HA_CLEAR_FAILOVER			/* leader: drop a done or impossible request */
} HaAction;

/* A standby streaming from the leader, as the leader's walsenders see it. */
typedef struct HaSyncCandidate
{
	char		name[PGHA_NAME_LEN];	/* its application_name */
	bool		streaming;		/* the walsender streams (caught up once) */
	int64_t		flush;			/* flushed by the standby, bytes */
} HaSyncCandidate;

/* The node itself, as the HA worker saw it this round. */
typedef struct HaLocalState
{
	bool		is_primary;		/* no standby.signal: runs or will run as
								 * primary */
	bool		in_recovery;	/* crash recovery or standby replay running */
	char		sysid[PGHA_SHORT_LEN];	/* our system identifier, decimal */
	bool		has_session;	/* we hold a live Consul session */
	char		session[PGHA_SESSION_LEN];
	bool		nofailover;
	/*
	 * pg_ha.failover_priority (Patroni 3.2's tag); without it (a zeroed
	 * struct) the priority is 1.  0 or less: never takes over, as
	 * nofailover.  Among replicas equally far ahead, one with a higher
	 * priority takes over; the priority never lets a replica take over
	 * that the other rules keep back.
	 */
	bool		has_failover_priority;
	int			failover_priority;
	bool		has_xlog;
	int64_t		xlog_position;	/* insert (primary), received or replayed
								 * (replica), bytes */
	int64_t		replayed_position;	/* replayed (replica), insert (primary):
									 * what a timeline switch is judged by */
	uint32_t	timeline;		/* 0 when unknown */
	int64_t		timeline_begin; /* where this node's timeline began, from
								 * its own history file; 0 when unknown or
								 * timeline 1 */
	int64_t		now_ms;			/* monotonic clock */
	int64_t		wall_ms;		/* epoch ms, for scheduled switchovers */
	int64_t		lease_expiry_ms;	/* monotonic; 0 when we never renewed */

	/*
	 * The leader key as this node watched it (leader_key.h): how long it has
	 * been in its present state, the same version or absent (-1: not seen
	 * yet); and whether this node created the initialize key and has seen
	 * no leader since, so that nobody can have a lease to wait for.
	 */
	int64_t		leader_unchanged_ms;
	bool		initialized_here;
	/* the longest ttl the key's holders counted with, as this node saw */
	int			leader_ttl_seen_ms;
	/* our member key is held by another session: our name is used twice */
	bool		name_taken;
	/* a primary: its walsenders, fresher than the positions in Consul */
	int			nstandbys;
	HaSyncCandidate standbys[PGHA_MAX_MEMBERS];
} HaLocalState;

typedef struct HaConfig
{
	const char *node_name;
	int			ttl_ms;			/* how long a leader key version lives */
} HaConfig;

typedef struct HaDecision
{
	HaAction	action;
	bool		recheck_soon;	/* waiting for something that comes soon */
	int64_t		wake_in_ms;		/* > 0: look again then (the leader key may be
								 * taken) */
	char		target[PGHA_NAME_LEN];	/* HA_SWITCHOVER: the candidate */
	char		reason[PGHA_ERR_LEN];
} HaDecision;

/*
 * dcs_ok is false when this round could not read the cluster from Consul;
 * cluster is then the last good view (or empty) and only the lease decides.
 */
extern void ha_decide(const HaLocalState *local, const PgHaCluster *cluster,
					  bool dcs_ok, const HaConfig *config, HaDecision *out);

extern const char *ha_action_name(HaAction action);

/*
 * The leader (self) picks its synchronous standbys, Patroni's way: among the
 * standbys that stream and are running replicas of the cluster tagged
 * neither nofailover nor nosync, keep those the sync key names already (no
 * needless changes), then the furthest ahead.  At most cluster->sync_node_count names go into
 * out, in order of preference.  Returns how many.
 */
extern int	ha_pick_sync_standbys(const HaSyncCandidate *cands, int ncands,
								  const PgHaCluster *cluster, const char *self,
								  char (*out)[PGHA_NAME_LEN]);

/*
 * On the leader (self), the positions of a cluster read from Consul brought
 * up to date with what it sees itself: its own position, and each standby's
 * as its walsender saw it flush.  Published positions are refreshed once per
 * loop_wait, so a switchover checked on them right after a burst of WAL would
 * be refused as lagging when the candidate has caught up.  Positions only
 * move forward; nothing changes unless self holds the leader key.
 */
extern void ha_apply_live_positions(PgHaCluster *cluster, const char *self,
									int64_t self_position,
									const HaSyncCandidate *standbys, int nstandbys);

/*
 * Patroni's timing rule, loop_wait + 2 * retry_timeout <= ttl (all in ms):
 * a leader gets two full Consul attempts between rounds before its lease
 * runs out.  False with a message in err when violated.
 */
extern bool ha_timing_valid(int ttl_ms, int loop_wait_ms, int retry_timeout_ms,
							char *err, size_t errlen);

/* The safety margin taken off the lease, in ms. */
extern int	ha_lease_margin_ms(int ttl_ms);

/*
 * How often the leader writes a new version of its key (its lease), in ms:
 * a third of the ttl, kept between loop_wait and twice loop_wait.  Every
 * node's round follows that rhythm when nothing changes.
 */
extern int	ha_renew_interval_ms(int ttl_ms, int loop_wait_ms);

/*
 * The leader's renewal of its key (its lease) is due: every
 * ha_renew_interval_ms() after the last good one (last_sent_ms), and at
 * once when there was none (lease_expiry_ms 0) or the last attempt failed,
 * and when the key does not say what we would write: our name
 * (key_names_us false: someone overwrote it) and the ttl in force
 * (key_ttl_ms: the others must time our lease with a changed one).
 */
extern bool ha_lease_renewal_due(int64_t now_ms, int64_t lease_expiry_ms,
								 bool last_failed, int64_t last_sent_ms,
								 int ttl_ms, int loop_wait_ms,
								 bool key_names_us, int key_ttl_ms);

#define HA_RENEW_RETRY_MS	100 /* after a failed renewal of the lease */
#define HA_RECHECK_SOON_MS	250 /* the decision waits for something near */

/* What the wait between two rounds is timed by (ha_round_wait_ms). */
typedef struct HaWaitInput
{
	int64_t		now_ms;			/* monotonic */
	int			ttl_ms;
	int			loop_wait_ms;
	bool		leading;		/* our session holds the key, the lease runs */
	int64_t		lk_sent_ms;		/* our last good renewal of the key */
	bool		lk_renew_failed;	/* the last attempt got no answer */
	bool		check_registered;
	int64_t		check_passed_ms;	/* 0: not passed yet */
	int			check_ttl_ms;	/* the check's TTL, as registered */
	bool		has_session;
	int64_t		session_renewed_ms; /* 0: not renewed yet */
	int			session_ttl_ms;
	bool		recheck_soon;	/* HaDecision.recheck_soon */
	int64_t		wake_in_ms;		/* HaDecision.wake_in_ms */
} HaWaitInput;

/*
 * How long to wait before the next round, in ms: the leader's renewal
 * interval (ha_renew_interval_ms), twice that on the others (they wake
 * with each renewal anyway).  Shorter when the lease's renewal comes
 * sooner, when the check or the session would otherwise go half their TTL
 * unrenewed, and while the decision waits for something that comes soon;
 * never 0 for a failing renewal (HA_RENEW_RETRY_MS).
 */
extern int	ha_round_wait_ms(const HaWaitInput *in);

/*
 * Before a replica takes over by itself, the positions the others
 * published may be a loop_wait old: it asks the other running replicas
 * for theirs (their REST API, as Patroni does) and decides again.  Not
 * when the operator named self as the candidate (its lag was checked).
 */
extern bool ha_fresh_positions_wanted(const PgHaCluster *cluster,
									  const char *self);

/* Is m one of the replicas asked (running, not self, not nofailover)? */
extern bool ha_fresh_position_wanted(const PgHaMember *m, const char *self);

/*
 * m's published position brought up to the one it gave now: a later
 * timeline, or further on the same (an unknown timeline, 0, counts as the
 * same).  True when m changed.
 */
extern bool ha_apply_fresh_position(PgHaMember *m, const PgHaFreshPosition *p);

/*
 * Does this decision change anything beyond the steady state (staying the
 * leader, or following the leader the last round followed)?  Such a
 * decision is taken again on a fresh read before it is carried out.
 */
extern bool ha_decision_acts(HaAction action, bool leader_changed);

/*
 * The timeline IDs a promotion may skip at most: a promotion key or member
 * record further ahead is taken as garbage, not as used IDs to step over.
 */
#define HA_MAX_TIMELINE_SKIP	64

/*
 * The timeline ID a promotion must take, when PostgreSQL would take next_tli
 * (one past the newest history file it has): above every ID the cluster
 * knows as used, by the promotion key (a promotion was started on it),
 * any member's timeline, stopped members' included, and the history key
 * (each timeline that ended, and the one after the last).  IDs more than
 * HA_MAX_TIMELINE_SKIP past next_tli are left out, and *ignored (when not
 * NULL) tells the highest one left out, 0 when none.
 */
extern uint32_t ha_promotion_timeline(const PgHaCluster *cluster,
									  uint32_t next_tli, uint32_t *ignored);

/*
 * Is a write due that only moves a WAL position forward (the leader's
 * optime, a member record)?  Once per loop_wait, as Patroni does: each
 * write to Consul ends the leader's blocking read (a missing key's index
 * is the store's), so writing the position at every round would make the
 * loop spin while the server takes writes: measured, 174 Consul writes a
 * second at the default loop_wait, and a fifth of pgbench's throughput on
 * 2 cores with the fast profile.  last_written_ms 0: never written.
 */
extern bool ha_position_write_due(int64_t last_written_ms, int64_t now_ms,
								  int loop_wait_ms);

/* How often a check or session with this TTL is renewed, in ms. */
extern int	ha_member_renew_interval_ms(int ttl_ms);

#endif							/* PG_HA_DECIDE_H */
