/*-------------------------------------------------------------------------
 *
 * node_ctl.h
 *	  What the HA worker does to its own server: promotion, demotion and
 *	  the other restarts through a detached helper, and the physical
 *	  replication slots of the members.  pg_ha.conf, which a standby
 *	  follows the leader through, is conf_file.h's.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_NODE_CTL_H
#define PG_HA_NODE_CTL_H

#include "cluster.h"

/* Ask the postmaster to promote this standby (as pg_promote() does). */
extern void pgha_request_promote(void);

/*
 * Turn this primary into a standby of leader: standby.signal, pg_ha.conf,
 * then a detached `pg_ha_ctl rejoin` that restarts the server (and rewinds
 * it when its timeline diverged).  False with err set when it could not.
 */
extern bool pgha_start_demotion(const PgHaMember *leader,
								const PgHaCluster *cluster, char *err,
								size_t errlen);

/*
 * Restart this standby through a detached `pg_ha_ctl rejoin` without a
 * source, which moves a partial segment of a newer timeline out of pg_wal
 * (wal_check.h) before the start.  False with err set when it could not.
 */
extern bool pgha_start_wal_repair(char *err, size_t errlen);

/*
 * A reinitialize asked of this node (POST /reinitialize, api_action.c): the
 * HA worker takes it at its next round (actions.c) and starts `pg_ha_ctl
 * rejoin --reinit`, detached like a demotion: the server stops, is cloned
 * again from leader beside its data directory (keeping its own files), and
 * starts as a standby.  Each is in the HA worker's process only.
 */
extern void pgha_request_reinit(void);
extern bool pgha_reinit_requested(void);	/* asked, not started yet */
extern bool pgha_reinit_started(void);	/* the rejoin is on its way */
extern void pgha_forget_reinit(void);	/* a request dropped */
extern bool pgha_start_reinit(const PgHaMember *leader,
							  const PgHaCluster *cluster, char *err,
							  size_t errlen);

/*
 * Hand the leader key over once the postmaster is down: a detached
 * `pg_ha_ctl release` keeps the session alive through the shutdown
 * checkpoint, then deletes the key and the session.
 */
extern bool pgha_start_release(const char *session, const char *check_id,
							   int ttl_ms, char *err, size_t errlen);

/* Restart the server with pg_ctl restart, detached; same options. */
extern bool pgha_start_restart(char *err, size_t errlen);

/*
 * Start argv (argv[0] a path) detached as the helpers above, for a command
 * of the operator's (pg_ha.on_*): its environment without the Consul token.
 * *session: the session it runs in, which is also its process group.
 */
extern bool pgha_spawn_operator_command(char *const argv[], pid_t *session,
										char *err, size_t errlen);

/* The leader keeps one physical slot per other member, and no others. */
extern void pgha_sync_slots(const PgHaCluster *cluster, const char *self);

#endif							/* PG_HA_NODE_CTL_H */
