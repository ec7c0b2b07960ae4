/*-------------------------------------------------------------------------
 *
 * api_conn.h
 *	  One REST request in flight, as the files of the REST server pass it
 *	  to each other: api.c (the daemon and its queue of write requests),
 *	  api_action.c (carries a write request out) and api_wait.c (the
 *	  requests that wait for the outcome of a switchover or restart).
 *	  Private to src/backend/api.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_CONN_H
#define PG_HA_API_CONN_H

#include "api_request.h"
#include "api_response.h"

struct MHD_Connection;

/* What a suspended write request waits for, before it is answered. */
typedef enum ApiWaitKind
{
	WAIT_NONE = 0,				/* nothing: answered at once */
	WAIT_SWITCHOVER,			/* POST /switchover: a new leader */
	WAIT_FAILOVER,				/* POST /failover: a new leader */
	WAIT_RESTART				/* POST /restart: this node's server restarted */
} ApiWaitKind;

/*
 * An immediate request whose client waits for its outcome, judged on the
 * cluster in Consul once a second (api_wait.c): for a switchover or
 * failover who led when it was written and who was asked for
 * (pgha_failover_outcome), for a restart the member and the start of the
 * server it restarts (pgha_restart_outcome).
 */
typedef struct ApiWait
{
	ApiWaitKind kind;			/* set by api_action.c */
	char		old_leader[PGHA_NAME_LEN];	/* "" when none */
	char		candidate[PGHA_NAME_LEN];	/* "" when none */
	char		member[PGHA_NAME_LEN];	/* restart: this node */
	int64		old_start_ms;	/* restart: epoch ms of this server's start */
	int			wait_s;			/* the whole wait, for the answer's text */
	int64		deadline;		/* pgha_monotonic_ms() */
	int64		next_poll;
} ApiWait;

/*
 * The raw URI of a request, kept from MHD's URI callback to its end; and
 * for a write request, its parsed form and its body as it arrives.
 */
typedef struct ApiRequestCtx
{
	bool		started;		/* the first call of api_access is done */
	bool		write;			/* a write request, authorized: collect */
	bool		too_large;		/* body over PGHA_API_MAX_WRITE_BODY */
	bool		queued;			/* suspended, in the queue of writes */
	bool		waiting;		/* suspended, in the list of waits */
	bool		answered;		/* resumed: resp is the answer to send */
	struct MHD_Connection *con; /* while queued or waiting */
	struct ApiRequestCtx *next; /* the queue, or the list of waits */
	ApiWait		wait;
	PgHaApiResponse resp;
	PgHaApiRequest req;
	char	   *body;			/* malloc'ed */
	size_t		body_len;
	size_t		len;
	char		uri[FLEXIBLE_ARRAY_MEMBER];
} ApiRequestCtx;

#endif							/* PG_HA_API_CONN_H */
