/*-------------------------------------------------------------------------
 *
 * api_snapshot.h
 *	  The node's state as the REST API's answers read it, at one moment.
 *
 * The HA worker's REST server (api_collect.c) reads shared memory, the
 * walsenders and the cluster as last read from Consul into a
 * PgHaApiSnapshot; every read answer (health codes, documents, /metrics)
 * is a pure function of it and of the request.  The two helpers below are
 * how api_collect.c fills in the times and the lag, kept here so that they
 * are unit-tested.
 *
 * Pure: libc only, no PostgreSQL, no I/O.  What this file is not for:
 * reading that state (api_collect.c) or judging it (api_health.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_SNAPSHOT_H
#define PG_HA_API_SNAPSHOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster.h"

#define PGHA_API_MAX_REPLICATION	32
#define PGHA_API_TIME_LEN		48	/* "2026-11-25 17:19:32.229033+00:00" */
#define PGHA_API_ADDR_LEN		64	/* numeric IPv6 address and more */

/* The node's place in the cluster, as the API judges it. */
typedef enum PgHaApiRole
{
	PGHA_API_ROLE_STARTING,		/* the HA worker has not decided yet */
	PGHA_API_ROLE_LEADER,		/* holds the leader key and its lease */
	PGHA_API_ROLE_REPLICA,		/* a standby */
	PGHA_API_ROLE_PRIMARY_FENCED	/* a primary without the lease */
} PgHaApiRole;

/* One walsender, as in pg_stat_replication. */
typedef struct PgHaApiReplication
{
	bool		has_usename;	/* false: JSON null (unknown role name) */
	char		usename[PGHA_NAME_LEN];
	char		application_name[PGHA_NAME_LEN];
	bool		has_client_addr;	/* false: JSON null (Unix socket) */
	char		client_addr[PGHA_API_ADDR_LEN];
	char		state[PGHA_SHORT_LEN];	/* streaming, catchup, backup... */
	char		sync_state[PGHA_SHORT_LEN]; /* async, sync, potential,
											 * quorum */
	int			sync_priority;
} PgHaApiReplication;

/*
 * Everything the answers depend on, read at one moment.  Strings are
 * NUL-terminated within their arrays (the answers also stop at the end of
 * the array if one is not).  Times are Unix epoch based.
 */
typedef struct PgHaApiSnapshot
{
	/* the node */
	PgHaApiRole role;
	bool		fenced;			/* a primary refusing writes */
	bool		pg_running;		/* accepts connections ("running"), else
								 * "starting" */
	bool		in_recovery;
	uint32_t	timeline;		/* 0: unknown */
	int64_t		location;		/* primary: WAL write position, bytes */
	int64_t		received_location;	/* replica: flushed by the walreceiver */
	int64_t		replayed_location;	/* replica: replayed */
	bool		has_replayed_timestamp; /* last replayed commit's time */
	char		replayed_timestamp[PGHA_API_TIME_LEN];
	int64_t		replayed_timestamp_ms;	/* the same, epoch ms */
	bool		replay_paused;
	bool		streaming;		/* the walreceiver streams */
	bool		has_lag;		/* lag behind the leader is known */
	int64_t		lag_bytes;
	char		postmaster_start_time[PGHA_API_TIME_LEN];
	int64_t		postmaster_start_ms;	/* epoch ms */
	int			server_version; /* e.g. 150002 */
	char		sysid[PGHA_SHORT_LEN];	/* empty: unknown */
	bool		pending_restart;
	bool		nofailover;		/* the nofailover tag */

	/*
	 * The node's own tags object, as its member record carries it
	 * (pgha_local_tags_json), when has_tags; else the answers take it from
	 * the node's member record as last read from Consul.  Either way
	 * nofailover above counts too.
	 */
	bool		has_tags;
	char		tags_json[PGHA_TAGS_JSON_LEN];

	/* the HA worker */
	char		scope[PGHA_NAME_LEN];	/* cluster name */
	char		name[PGHA_NAME_LEN];	/* node name */
	char		version[PGHA_SHORT_LEN];	/* pg_ha's version */
	int64_t		now_ms;			/* epoch ms, the snapshot's time */
	int64_t		dcs_last_seen;	/* epoch s of the last Consul read, 0 never */
	int64_t		last_round_ms;	/* epoch ms of the worker's last round, 0
								 * never */
	int			ttl_ms;
	int			loop_wait_ms;
	int64_t		lease_remaining_ms; /* 0 when no lease */

	/* the cluster as last read from Consul */
	bool		cluster_valid;
	PgHaCluster cluster;

	/* walsenders (on any node that has some) */
	int			nreplication;
	PgHaApiReplication replication[PGHA_API_MAX_REPLICATION];
} PgHaApiSnapshot;

/*
 * A replica's lag behind the leader: the leader's position is the newer of
 * the optime it published (has_optime) and the end of WAL its walsender
 * reported (latest_end, 0 when unknown).  False when neither is known.
 * Never negative.
 */
extern bool pgha_api_replica_lag(bool has_optime, int64_t optime,
								 int64_t latest_end, int64_t replayed,
								 int64_t *lag);

/*
 * Format a time (Unix epoch, microseconds) as Patroni prints PostgreSQL
 * timestamps: "2026-11-25 17:19:32.229033+00:00", in UTC, without the
 * fraction when it is zero.  Returns false when buf is too small.
 */
extern bool pgha_api_format_time(int64_t epoch_us, char *buf, size_t len);

#endif							/* PG_HA_API_SNAPSHOT_H */
