/*-------------------------------------------------------------------------
 *
 * ha_worker.h
 *	  The HA worker's state between rounds, shared by the files of its
 *	  round: ha_loop.c (the loop), lease.c (session and lease),
 *	  node_state.c (the node as seen), actions.c, promotion.c and
 *	  restart.c.
 *
 * Only the worker's process has one.  Not for the backends or the REST
 * server: they read the worker's state in shared memory (state.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_WORKER_H
#define PG_HA_WORKER_H

#include "cluster.h"
#include "ha_decide.h"
#include "phase.h"

#define HA_KEY_LEN			(PGHA_NAME_LEN * 2 + 32)
#define MEMBER_TTL_FACTOR	2	/* check and session TTL, in ttls */

typedef struct HaWorker
{
	/* keys */
	char		prefix[HA_KEY_LEN];
	char		leader_key[HA_KEY_LEN];
	char		member_key[HA_KEY_LEN];
	char		initialize_key[HA_KEY_LEN];
	char		config_key[HA_KEY_LEN];
	char		status_key[HA_KEY_LEN];
	char		failover_key[HA_KEY_LEN];
	char		check_id[HA_KEY_LEN + 16];

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
	 * once per loop_wait, see ha_position_write_due().
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
	char		logged_restart_wait[PGHA_ERR_LEN * 2];

	/* the first Consul error of a round: the one pg_ha_node shows */
	char		round_error[PGHA_ERR_LEN];
	bool		rerun;			/* start the next round at once */
	bool		recheck_soon;	/* the decision waits for something near */

	/* what the worker has under way on its server (phase.h) */
	HaPhaseState phase;
} HaWorker;

/* The HA worker's entry point (ha_loop.c), registered by name in _PG_init. */
extern PGDLLEXPORT void pg_ha_worker_main(Datum main_arg);

/* A Consul error of this round; the first one is published. */
static inline void
pgha_round_error(HaWorker *w, const char *err)
{
	if (w->round_error[0] == '\0')
		strlcpy(w->round_error, err, sizeof(w->round_error));
}

#endif							/* PG_HA_WORKER_H */
