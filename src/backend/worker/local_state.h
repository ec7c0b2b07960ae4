/*-------------------------------------------------------------------------
 *
 * local_state.h
 *	  The server's own replication state, read from its shared memory: the
 *	  walsenders and the local WAL positions.  The one reader of both, for
 *	  the HA worker (sync.c, node_state.c), the REST API (api_collect.c,
 *	  api_action.c) and the SQL functions (sql_actions.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_LOCAL_STATE_H
#define PG_HA_LOCAL_STATE_H

#include "access/xlogdefs.h"
#include "datatype/timestamp.h"
#include "replication/walsender_private.h"

#include "cluster.h"
#include "ha_decide.h"

#define PGHA_CLIENT_ADDR_LEN	64	/* a numeric IPv6 address and more */

/* One walsender, as pg_stat_replication shows it. */
typedef struct PgHaWalSender
{
	WalSndState state;
	const char *state_name;		/* "streaming", "catchup", ... */
	int			sync_priority;
	XLogRecPtr	flush;
	char		application_name[PGHA_NAME_LEN];	/* "" when unknown */
	/* only when read with detail */
	const char *sync_state;		/* "async", "sync", "quorum", "potential" */
	bool		has_client_addr;	/* false: a Unix socket */
	char		client_addr[PGHA_CLIENT_ADDR_LEN];
} PgHaWalSender;

/*
 * The running walsenders, at most max of them.  detail: with their sync
 * state and client address too (the REST API's "replication" list).
 * Returns how many.
 */
extern int	pgha_read_walsenders(PgHaWalSender *out, int max, bool detail);

/*
 * Is there walsender shared memory, and does the checkpointer's view of
 * synchronous_standby_names name a standby (SYNC_STANDBY_DEFINED)?
 */
extern bool pgha_walsenders_exist(void);
extern bool pgha_sync_standbys_defined(void);

/* The leader's walsenders: who streams, flushed up to where.  Returns how many. */
extern int	pgha_read_standbys(HaSyncCandidate *out, int max);

/*
 * On the leader, cluster's positions brought up to date from our own WAL and
 * walsenders before a switchover is checked (ha_apply_live_positions).
 */
extern void pgha_apply_live_positions(PgHaCluster *cluster);

/* This server's WAL, as a primary or a standby sees it. */
typedef struct PgHaLocalWal
{
	bool		in_recovery;
	bool		hot_standby;	/* a standby that takes connections */
	TimeLineID	timeline;
	XLogRecPtr	written;		/* a primary: written up to */
	XLogRecPtr	replayed;		/* a standby: */
	XLogRecPtr	received;
	TimestampTz latest_replayed;	/* the last replayed commit, 0 none */
	bool		replay_paused;
	bool		streaming;		/* the walreceiver streams */
	XLogRecPtr	latest_end;		/* its last known end of the primary's WAL */
} PgHaLocalWal;

extern void pgha_read_local_wal(PgHaLocalWal *wal);

/*
 * This server's WAL position as the HA worker decides on it and publishes
 * it (HaLocalState, the member record): a primary's insert position, a
 * standby's replayed and received positions.  in_recovery: the caller's
 * reading of RecoveryInProgress(), so that one round sees one role.
 */
typedef struct PgHaWalPosition
{
	TimeLineID	timeline;		/* a primary's insert timeline, a standby's
								 * replay timeline */
	XLogRecPtr	position;		/* a primary: inserted up to; a standby: the
								 * later of replayed and received */
	XLogRecPtr	replayed;		/* a primary: the same as position */
} PgHaWalPosition;

extern void pgha_read_wal_position(bool in_recovery, PgHaWalPosition *pos);

/* A primary's WAL flushed up to now. */
extern XLogRecPtr pgha_local_flush_position(void);

#endif							/* PG_HA_LOCAL_STATE_H */
