/*-------------------------------------------------------------------------
 *
 * fence.c
 *	  Fencing: a primary without the leader lease takes no writes.
 *
 * Three guards, each cheap enough to run on every connection or commit:
 *
 *	- a ClientAuthentication_hook refuses client connections to a primary
 *	  until the HA worker has confirmed the leader key (invariant 2);
 *	- a pre-commit callback refuses to commit (or prepare) a transaction
 *	  that wrote once the lease has run out, so that even a frozen HA worker
 *	  cannot let a write through (invariant 3); a ProcessUtility_hook does
 *	  the same for COMMIT PREPARED and ROLLBACK PREPARED, which the callback
 *	  cannot stop;
 *	- pgha_terminate_client_backends(), called by the HA worker when it
 *	  fences, ends the sessions already open.
 *
 * Standbys are never fenced: they cannot write.  Replication connections
 * always pass, so that replicas keep streaming from a fenced node.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "access/xlog.h"
#include "libpq/auth.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "replication/walsender.h"
#include "storage/lwlock.h"
#include "storage/pmsignal.h"
#include "tcop/utility.h"
#include "utils/backend_status.h"

#include "fence.h"
#include "settings.h"
#include "state.h"

static ClientAuthentication_hook_type prev_client_auth_hook = NULL;
static ProcessUtility_hook_type prev_process_utility_hook = NULL;

static void
fence_reason(char *buf, size_t len)
{
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	/* the last Consul error says what to fix when Consul is the cause */
	snprintf(buf, len, "%s%s%s",
			 pgha_shared->fence_reason[0] ? pgha_shared->fence_reason :
			 "the leader lease has expired",
			 pgha_shared->last_error[0] ? "; last Consul error: " : "",
			 pgha_shared->last_error);
	LWLockRelease(pgha_shared->lock);
}

static void
pgha_client_auth(Port *port, int status)
{
	char		reason[PGHA_ERR_LEN];

	if (prev_client_auth_hook)
		prev_client_auth_hook(port, status);

	if (status != STATUS_OK || am_walsender || !pg_ha_active())
		return;
	if (RecoveryInProgress() || pgha_lease_held())
		return;

	fence_reason(reason, sizeof(reason));
	ereport(FATAL,
			(errcode(ERRCODE_CANNOT_CONNECT_NOW),
			 errmsg("pg_ha: node \"%s\" is fenced and accepts no connections",
					pg_ha_node_name),
			 errdetail("%s.", reason),
			 errhint("Connect to the leader of cluster \"%s\" (SELECT * FROM pg_ha_status on any node, or HAProxy's primary port).",
					 pg_ha_cluster)));
}

static void
pgha_xact_callback(XactEvent event, void *arg)
{
	char		reason[PGHA_ERR_LEN];

	if (event != XACT_EVENT_PRE_COMMIT &&
		event != XACT_EVENT_PARALLEL_PRE_COMMIT &&
		event != XACT_EVENT_PRE_PREPARE)
		return;
	if (!pg_ha_active() || !TransactionIdIsValid(GetTopTransactionIdIfAny()))
		return;
	if (RecoveryInProgress())
		return;

	/*
	 * An orphan of a dead postmaster commits nothing: no walsender is left
	 * to send it, and a new leader may be on its way.  (A flag read on
	 * Linux, where the postmaster's death is signalled.)
	 */
	if (!PostmasterIsAlive())
		ereport(ERROR,
				(errcode(ERRCODE_ADMIN_SHUTDOWN),
				 errmsg("pg_ha: cannot commit, the postmaster of node \"%s\" is gone",
						pg_ha_node_name),
				 errhint("The transaction was rolled back; retry it on the cluster's leader.")));
	if (pgha_lease_held())
		return;

	fence_reason(reason, sizeof(reason));
	ereport(ERROR,
			(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
			 errmsg("pg_ha: cannot commit, node \"%s\" does not hold the leader lease",
					pg_ha_node_name),
			 errdetail("%s.", reason),
			 errhint("The transaction was rolled back; retry it on the cluster's leader.")));
}

/*
 * COMMIT PREPARED and ROLLBACK PREPARED, checked before they run.
 *
 * The commit callback cannot guard them: the statement runs in a
 * transaction of its own that has no xid, and FinishPreparedTransaction()
 * writes the prepared transaction's commit record while the statement
 * executes, so by XACT_EVENT_PRE_COMMIT the commit is already durable (and
 * on its way to the replicas).  The only point before that record is the
 * statement itself, hence this hook.  Between its check and the commit
 * record it leaves the same short window as an ordinary commit has between
 * the callback and its own.
 *
 * ROLLBACK PREPARED is refused too: a prepared transaction outlives a
 * failover (its PREPARE record went to the replicas), so the outcome must
 * be decided on the leader.  Rolled back here, on a node that is about to
 * be demoted and rewound, it would stay prepared on the leader, holding
 * its locks, while the transaction manager believes it resolved.
 *
 * Standbys are left to PostgreSQL, which refuses both during recovery.
 * PREPARE TRANSACTION goes through the commit callback
 * (XACT_EVENT_PRE_PREPARE), before its PREPARE record.  Not guarded: a
 * subscription with two_phase, whose apply worker finishes prepared
 * transactions without this statement.
 */
static void
pgha_process_utility(PlannedStmt *pstmt, const char *queryString,
					 bool readOnlyTree, ProcessUtilityContext context,
					 ParamListInfo params, QueryEnvironment *queryEnv,
					 DestReceiver *dest, QueryCompletion *qc)
{
	Node	   *parsetree = pstmt->utilityStmt;
	TransactionStmt *stmt = IsA(parsetree, TransactionStmt) ?
		(TransactionStmt *) parsetree : NULL;

	if (stmt != NULL &&
		(stmt->kind == TRANS_STMT_COMMIT_PREPARED ||
		 stmt->kind == TRANS_STMT_ROLLBACK_PREPARED) &&
		pg_ha_active() && !RecoveryInProgress() &&
		!(PostmasterIsAlive() && pgha_lease_held()))
	{
		char		reason[PGHA_ERR_LEN];

		if (!PostmasterIsAlive())
			strlcpy(reason, "the postmaster is gone", sizeof(reason));
		else
			fence_reason(reason, sizeof(reason));
		if (stmt->kind == TRANS_STMT_COMMIT_PREPARED)
			ereport(ERROR,
					(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
					 errmsg("pg_ha: cannot commit, node \"%s\" does not hold the leader lease",
							pg_ha_node_name),
					 errdetail("%s.", reason),
					 errhint("Prepared transaction \"%s\" is left as it is; commit it on the cluster's leader.",
							 stmt->gid)));
		ereport(ERROR,
				(errcode(ERRCODE_READ_ONLY_SQL_TRANSACTION),
				 errmsg("pg_ha: cannot roll back prepared transaction \"%s\", node \"%s\" does not hold the leader lease",
						stmt->gid, pg_ha_node_name),
				 errdetail("%s.", reason),
				 errhint("Prepared transaction \"%s\" is left as it is; roll it back on the cluster's leader.",
						 stmt->gid)));
	}

	if (prev_process_utility_hook)
		prev_process_utility_hook(pstmt, queryString, readOnlyTree, context,
								  params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

void
pgha_fence_init(void)
{
	prev_client_auth_hook = ClientAuthentication_hook;
	ClientAuthentication_hook = pgha_client_auth;
	RegisterXactCallback(pgha_xact_callback, NULL);
	prev_process_utility_hook = ProcessUtility_hook;
	ProcessUtility_hook = pgha_process_utility;
}

/*
 * SIGTERM to every client backend, as pg_terminate_backend() would send:
 * the client sees "terminating connection due to administrator command".
 * Returns how many were signalled.
 */
int
pgha_terminate_client_backends(void)
{
	int			n = 0;
	int			nbackends;

	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);
		PgBackendStatus *be;

		if (local == NULL)
			continue;
		be = &local->backendStatus;
		if (be->st_backendType != B_BACKEND || be->st_procpid <= 0 ||
			be->st_procpid == MyProcPid)
			continue;
		if (kill(be->st_procpid, SIGTERM) == 0)
			n++;
	}
	pgstat_clear_backend_activity_snapshot();
	return n;
}

bool
pgha_backend_running(pid_t pid)
{
	bool		running = false;
	int			nbackends;

	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= nbackends; i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);

		if (local != NULL && local->backendStatus.st_procpid == pid)
		{
			running = local->backendStatus.st_state == STATE_RUNNING ||
				local->backendStatus.st_state == STATE_FASTPATH;
			break;
		}
	}
	pgstat_clear_backend_activity_snapshot();
	return running;
}

/* gone or a zombie: either way it runs no more code */
static bool
process_ended(pid_t pid)
{
	char		path[64];
	char		buf[512];
	FILE	   *f;
	char	   *paren;

	if (kill(pid, 0) != 0 && errno == ESRCH)
		return true;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int) pid);
	f = fopen(path, "r");
	if (f == NULL)
		return false;
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	paren = strrchr(buf, ')');
	return paren != NULL && paren[1] == ' ' && paren[2] == 'Z';
}

/*
 * SIGKILL to every client backend, then wait until each has ended.  Only
 * for a server whose postmaster is dead: its orphans must not commit once
 * the cluster is told that this node is gone.  False when one survived
 * timeout_ms.
 */
bool
pgha_kill_client_backends(int timeout_ms)
{
	pid_t		pids[1024];
	int			npids = 0;
	int			nbackends;
	long		waited = 0;

	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();
	for (int i = 1; i <= nbackends && npids < lengthof(pids); i++)
	{
		LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(i);

		if (local == NULL || local->backendStatus.st_backendType != B_BACKEND ||
			local->backendStatus.st_procpid <= 0)
			continue;
		pids[npids++] = local->backendStatus.st_procpid;
	}
	pgstat_clear_backend_activity_snapshot();

	for (int i = 0; i < npids; i++)
		(void) kill(pids[i], SIGKILL);
	for (int i = 0; i < npids; i++)
	{
		while (!process_ended(pids[i]))
		{
			if (waited >= timeout_ms)
				return false;
			pg_usleep(5000);
			waited += 5;
		}
	}
	return true;
}
