/*-------------------------------------------------------------------------
 *
 * operator_rules.c
 *	  The operator's rules for a switchover or failover, and for flushing a
 *	  scheduled restart, as pure functions.
 *
 * See operator_rules.h for who calls it and why the rules are these.  No
 * I/O, no allocation, no PostgreSQL headers: the cluster in, a reason code
 * out.  Names from Consul are compared within PGHA_NAME_LEN, and nmembers
 * is not trusted beyond the array, as everywhere in src/common.
 *
 *-------------------------------------------------------------------------
 */
#include <stdio.h>
#include <string.h>

#include "operator_rules.h"
#include "sync_key.h"

static bool
given(const char *s)
{
	return s != NULL && s[0] != '\0';
}

static bool
same_name(const char *a, const char *b)
{
	return strncmp(a, b, PGHA_NAME_LEN) == 0;
}

/* A session holds the leader key: the leader runs. */
static bool
leader_runs(const PgHaCluster *c)
{
	return c->has_leader && c->leader_session[0] != '\0';
}

/* Set the verdict; true when it lets the request through. */
static bool
verdict(PgHaOpVerdict *v, PgHaOpReason reason, const char *member)
{
	v->reason = reason;
	if (member != NULL)
		snprintf(v->member, sizeof(v->member), "%.*s", PGHA_NAME_LEN - 1, member);
	return reason == PGHA_OP_OK;
}

bool
pgha_rule_leader_position(const PgHaCluster *c, int64_t *pos)
{
	const PgHaMember *leader = leader_runs(c) ? pgha_find_member(c, c->leader) : NULL;

	if (leader != NULL && leader->has_xlog)
	{
		*pos = leader->xlog_location;
		return true;
	}
	if (c->has_optime)
	{
		*pos = c->optime;
		return true;
	}
	return false;
}

/* What the HA workers require of any member that takes over (eligible_replica). */
static PgHaOpReason
basic_fit(const PgHaMember *m)
{
	/* Patroni's "streaming" is replication_state, never the record's state */
	if (strncmp(m->state, "running", sizeof(m->state)) != 0)
		return PGHA_OP_CANDIDATE_NOT_RUNNING;
	if (strncmp(m->role, "replica", sizeof(m->role)) != 0)
		return PGHA_OP_CANDIDATE_NOT_REPLICA;
	if (m->nofailover)
		return PGHA_OP_CANDIDATE_NOFAILOVER;
	return PGHA_OP_OK;
}

/*
 * A running leader hands over only to a caught-up replica (caught_up() in
 * ha_decide.c): one without a published position, or too far behind,
 * would leave the request pending until someone flushes it.  Without a
 * leader the candidate takes over as it is.
 */
static PgHaOpReason
position_fit(const PgHaCluster *c, const PgHaMember *m, int64_t *lag)
{
	int64_t		pos;

	*lag = 0;
	if (!leader_runs(c))
		return PGHA_OP_OK;
	if (!m->has_xlog)
		return PGHA_OP_CANDIDATE_NO_POSITION;
	/* positions are never negative (member.c, cluster.c): no overflow */
	if (pgha_rule_leader_position(c, &pos) && pos > m->xlog_location &&
		pos - m->xlog_location > c->max_lag_on_failover)
	{
		*lag = pos - m->xlog_location;
		return PGHA_OP_CANDIDATE_LAGS;
	}
	return PGHA_OP_OK;
}

PgHaOpReason
pgha_rule_member_fit(const PgHaCluster *c, const PgHaMember *m, int64_t *lag)
{
	PgHaOpReason reason = basic_fit(m);

	*lag = 0;
	if (reason != PGHA_OP_OK)
		return reason;
	return position_fit(c, m, lag);
}

PgHaOpReason
pgha_rule_leader(const PgHaCluster *c, const PgHaOpRequest *r, PgHaOpVerdict *v)
{
	memset(v, 0, sizeof(*v));
	/* a switchover needs a leader first, whoever is named (patronictl's order) */
	if (r->action == PGHA_OP_SWITCHOVER && !leader_runs(c))
		verdict(v, PGHA_OP_NO_LEADER, r->leader);
	else if (given(r->leader) && (!leader_runs(c) || !same_name(c->leader, r->leader)))
		verdict(v, PGHA_OP_LEADER_MISMATCH, r->leader);
	return v->reason;
}

/* A named candidate: the order is Patroni's, then pg_ha's stricter rules. */
static bool
candidate_rules(const PgHaCluster *c, const PgHaOpRequest *r,
				const char *name, PgHaOpVerdict *v)
{
	const PgHaMember *m;
	PgHaOpReason reason;
	bool		leads = leader_runs(c);

	if (leads && same_name(c->leader, name))
		return verdict(v, PGHA_OP_CANDIDATE_IS_LEADER, name);
	m = pgha_find_member(c, name);
	if (m == NULL)
		/* a stopped record is a member that does not run (member_record.c) */
		return verdict(v, pgha_find_stopped_member(c, name) != NULL ?
					  PGHA_OP_CANDIDATE_NOT_RUNNING : PGHA_OP_CANDIDATE_UNKNOWN,
					  name);
	if ((reason = basic_fit(m)) != PGHA_OP_OK)
		return verdict(v, reason, name);
	/* the rule lives in sync_key.c, shared with the listings' wording */
	if (pgha_sync_candidate_refusal(c, name, leads, r->force) != NULL)
		return verdict(v, leads ? PGHA_OP_CANDIDATE_NOT_SYNC :
					  PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED, name);
	if ((reason = position_fit(c, m, &v->lag)) != PGHA_OP_OK)
		return verdict(v, reason, name);
	v->unsafe = !leads && pgha_sync_active(c) && !pgha_sync_matches(c, name);
	return verdict(v, PGHA_OP_OK, name);
}

/*
 * No candidate: the leader chooses the most advanced member that may take
 * over (decide_switchover() in ha_decide.c), in synchronous mode among the
 * synchronous standbys only.  Some member must pass the rules now.
 */
static bool
any_candidate(const PgHaCluster *c, PgHaOpVerdict *v)
{
	int			n = c->nmembers < PGHA_MAX_MEMBERS ? c->nmembers : PGHA_MAX_MEMBERS;
	bool		others = false;
	bool		sync = pgha_sync_active(c);

	if (pgha_sync_candidate_refusal(c, NULL, leader_runs(c), false) != NULL)
		return verdict(v, PGHA_OP_NO_SYNC_STANDBY, NULL);
	for (int i = 0; i < n; i++)
	{
		const PgHaMember *m = &c->members[i];
		int64_t		lag;

		if (leader_runs(c) && same_name(m->name, c->leader))
			continue;
		others = true;
		if (sync && !pgha_sync_is_standby(c, m->name))
			continue;
		if (pgha_rule_member_fit(c, m, &lag) == PGHA_OP_OK)
			return verdict(v, PGHA_OP_OK, NULL);
	}
	return verdict(v, others ? PGHA_OP_NO_GOOD_CANDIDATE : PGHA_OP_ONLY_LEADER, NULL);
}

bool
pgha_rule_request(const PgHaCluster *c, const PgHaOpRequest *r, PgHaOpVerdict *v)
{
	const char *candidate = given(r->candidate) ? r->candidate : NULL;

	memset(v, 0, sizeof(*v));
	if (r->action == PGHA_OP_FAILOVER && candidate == NULL)
		return verdict(v, PGHA_OP_FAILOVER_NO_CANDIDATE, NULL);
	/* paused: Patroni's leader acts on a named candidate only, and now */
	if (r->scheduled && c->paused)
		return verdict(v, PGHA_OP_SCHEDULED_PAUSED, candidate);
	if (c->paused && candidate == NULL)
		return verdict(v, PGHA_OP_PAUSED_NO_CANDIDATE, NULL);
	/* one request at a time: the key is written with cas=0 */
	if (c->has_failover)
		return verdict(v, PGHA_OP_PENDING, c->failover_member);
	if (pgha_rule_leader(c, r, v) != PGHA_OP_OK)
		return false;
	if (candidate != NULL)
		return candidate_rules(c, r, candidate, v);
	return any_candidate(c, v);
}

const PgHaRestartRequest *
pgha_rule_scheduled_restart(const PgHaCluster *c, const char *member)
{
	int			n = c->nrestarts < PGHA_MAX_MEMBERS ? c->nrestarts : PGHA_MAX_MEMBERS;

	for (int i = 0; i < n; i++)
	{
		const PgHaRestartRequest *r = &c->restarts[i];

		/* an immediate or started restart is no scheduled one (Patroni's too) */
		if (same_name(r->member, member) &&
			r->scheduled && r->restarting == 0 && r->modify_index > 0)
			return r;
	}
	return NULL;
}

const char *
pgha_rule_reason_name(PgHaOpReason reason)
{
	switch (reason)
	{
		case PGHA_OP_OK:
			return "ok";
		case PGHA_OP_FAILOVER_NO_CANDIDATE:
			return "failover_no_candidate";
		case PGHA_OP_SCHEDULED_PAUSED:
			return "scheduled_paused";
		case PGHA_OP_PAUSED_NO_CANDIDATE:
			return "paused_no_candidate";
		case PGHA_OP_PENDING:
			return "pending";
		case PGHA_OP_NO_LEADER:
			return "no_leader";
		case PGHA_OP_LEADER_MISMATCH:
			return "leader_mismatch";
		case PGHA_OP_CANDIDATE_IS_LEADER:
			return "candidate_is_leader";
		case PGHA_OP_CANDIDATE_UNKNOWN:
			return "candidate_unknown";
		case PGHA_OP_CANDIDATE_NOT_RUNNING:
			return "candidate_not_running";
		case PGHA_OP_CANDIDATE_NOT_REPLICA:
			return "candidate_not_replica";
		case PGHA_OP_CANDIDATE_NOFAILOVER:
			return "candidate_nofailover";
		case PGHA_OP_CANDIDATE_NOT_SYNC:
			return "candidate_not_sync";
		case PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED:
			return "candidate_not_sync_unforced";
		case PGHA_OP_CANDIDATE_NO_POSITION:
			return "candidate_no_position";
		case PGHA_OP_CANDIDATE_LAGS:
			return "candidate_lags";
		case PGHA_OP_NO_SYNC_STANDBY:
			return "no_sync_standby";
		case PGHA_OP_ONLY_LEADER:
			return "only_leader";
		case PGHA_OP_NO_GOOD_CANDIDATE:
			return "no_good_candidate";
	}
	return "unknown";
}
