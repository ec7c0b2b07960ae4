/*-------------------------------------------------------------------------
 *
 * operator_rules.h
 *	  The operator's rules: may a switchover or failover go ahead?  Which
 *	  restart request may be flushed?
 *
 * One verdict for pg_ha_switchover()/pg_ha_failover() (sql_actions.c),
 * POST /switchover and /failover (api_write.c) and pg_ha_ctl switchover and
 * failover (src/bin/pg_ha_ctl/operator.c).  Each interface checks its own
 * arguments (a time that parses, a body that is JSON, what Patroni's REST
 * protocol requires in the body), then asks these functions about the
 * cluster as read from Consul, and turns the reason code into its own
 * message and status.  No text here.
 *
 * Pure C (libc and the cluster model only): it links into the extension, into
 * pg_ha_ctl and into the unit tests (regress/unit/test_operator_rules.c).
 *
 * The rules follow what the HA workers do with a request (ha_decide.c),
 * so that nothing is accepted that the leader would drop or wait on
 * forever:
 *	- while a leader runs, it hands over only to a running replica, not
 *	  tagged nofailover, in synchronous mode a synchronous standby, whose
 *	  published position is within maximum_lag_on_failover of its own
 *	  (Patroni's leader checks the same in is_failover_possible());
 *	- without a leader, the named candidate takes over as it is: no lag
 *	  check (the operator's call, as in Patroni), but in synchronous mode a
 *	  member outside the sync key only with force.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_OPERATOR_RULES_H
#define PG_HA_OPERATOR_RULES_H

#include "cluster.h"

typedef enum PgHaOpAction
{
	PGHA_OP_SWITCHOVER,
	PGHA_OP_FAILOVER
} PgHaOpAction;

/* What the operator asks for. */
typedef struct PgHaOpRequest
{
	PgHaOpAction action;
	const char *leader;			/* the leader the caller names; NULL or "":
								 * none named (whoever leads) */
	const char *candidate;		/* NULL or "": the leader chooses */
	bool		force;			/* a failover without a leader to a member
								 * outside the sync key */
	bool		scheduled;		/* a time is given (checked by the caller) */
} PgHaOpRequest;

/* The verdict, in the order the rules are checked. */
typedef enum PgHaOpReason
{
	PGHA_OP_OK = 0,
	/* the request as such */
	PGHA_OP_FAILOVER_NO_CANDIDATE,	/* a failover names no candidate */
	PGHA_OP_SCHEDULED_PAUSED,	/* a scheduled request while paused */
	PGHA_OP_PAUSED_NO_CANDIDATE,	/* paused: only to a named candidate */
	PGHA_OP_PENDING,			/* the failover key holds a request */
	/* the leader */
	PGHA_OP_NO_LEADER,			/* a switchover, and nobody holds the key */
	PGHA_OP_LEADER_MISMATCH,	/* the named leader does not hold the key */
	/* a named candidate (member: the candidate) */
	PGHA_OP_CANDIDATE_IS_LEADER,
	PGHA_OP_CANDIDATE_UNKNOWN,	/* no such member */
	PGHA_OP_CANDIDATE_NOT_RUNNING,	/* state not "running" (or stopped) */
	PGHA_OP_CANDIDATE_NOT_REPLICA,	/* role not "replica" */
	PGHA_OP_CANDIDATE_NOFAILOVER,	/* tagged nofailover (or priority <= 0) */
	PGHA_OP_CANDIDATE_NOT_SYNC, /* synchronous mode, a leader runs: not a
								 * synchronous standby */
	PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED,	/* synchronous mode, no leader:
											 * not named in the sync key,
											 * without force */
	PGHA_OP_CANDIDATE_NO_POSITION,	/* a leader runs: no published position */
	PGHA_OP_CANDIDATE_LAGS,		/* a leader runs: beyond
								 * maximum_lag_on_failover */
	/* no candidate named: the leader chooses */
	PGHA_OP_NO_SYNC_STANDBY,	/* synchronous mode, the key names none */
	PGHA_OP_ONLY_LEADER,		/* no member but the leader */
	PGHA_OP_NO_GOOD_CANDIDATE	/* no member passes the candidate rules */
} PgHaOpReason;

typedef struct PgHaOpVerdict
{
	PgHaOpReason reason;
	char		member[PGHA_NAME_LEN];	/* the candidate, or the leader named
										 * (LEADER_MISMATCH); "" else */
	int64_t		lag;			/* CANDIDATE_LAGS: bytes behind the leader */
	/*
	 * Accepted with force: the candidate is outside the sync key, and
	 * commits the last leader acknowledged may be lost.
	 */
	bool		unsafe;
} PgHaOpVerdict;

/*
 * Every rule, in order: the request as such, a pending request, the leader,
 * then the candidate (or, without one, whether any member may take over).
 * Returns true when the request may be written; v is always filled.
 */
extern bool pgha_rule_request(const PgHaCluster *c, const PgHaOpRequest *r,
							  PgHaOpVerdict *v);

/*
 * The leader rules alone (NO_LEADER, LEADER_MISMATCH), for a caller that
 * checks them before asking for more (pg_ha_ctl's prompts).
 */
extern PgHaOpReason pgha_rule_leader(const PgHaCluster *c,
									 const PgHaOpRequest *r,
									 PgHaOpVerdict *v);

/*
 * May member m take over (synchronous mode aside)?  CANDIDATE_NOT_RUNNING,
 * _NOT_REPLICA, _NOFAILOVER, and, while a leader runs, _NO_POSITION and
 * _LAGS (*lag set), or OK.  pg_ha_ctl lists each member's reason with it.
 */
extern PgHaOpReason pgha_rule_member_fit(const PgHaCluster *c,
										 const PgHaMember *m, int64_t *lag);

/*
 * The position lags are measured against: the leader's record, else the
 * last one published in the status key.  False when neither is known (no
 * lag check then).
 */
extern bool pgha_rule_leader_position(const PgHaCluster *c, int64_t *pos);

/*
 * The scheduled restart of member that may be flushed: its restart/<member>
 * request when it has a time and has not started (an immediate or started
 * restart is not a scheduled one, as in Patroni's delete_future_restart()),
 * else NULL.  DELETE /restart (api_write.c) and pg_ha_ctl flush ... restart
 * (operator.c) delete the key with check-and-set on its modify_index.
 */
extern const PgHaRestartRequest *pgha_rule_scheduled_restart(const PgHaCluster *c,
															 const char *member);

/* The reason's name, "ok", "candidate_lags"...: for logs and tests. */
extern const char *pgha_rule_reason_name(PgHaOpReason reason);

#endif							/* PG_HA_OPERATOR_RULES_H */
