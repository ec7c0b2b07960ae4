/*-------------------------------------------------------------------------
 *
 * outcome.h
 *	  How an operator's request ended, judged on the cluster as read from
 *	  Consul: a switchover, a failover, a restart.  The REST API, the SQL
 *	  functions that wait and pg_ha_ctl answer by these rules, each in its
 *	  own words where it has them, Patroni's where Patroni has them.
 *
 *	  Pure and frontend-safe (libc only), inline: the CLI includes it too.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_OUTCOME_H
#define PG_HA_OUTCOME_H

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cluster.h"

/*
 * The outcome of an immediate switchover or failover, judged on the
 * cluster as read from Consul the way Patroni 3.0.2's REST API judges it
 * (poll_failover_result in patroni/api.py): a member other than the old
 * leader holding the leader key ends the wait; so does the request's
 * disappearance while nobody else holds the key.  Used by the REST API,
 * pg_ha_switchover()/pg_ha_failover() with wait, and pg_ha_ctl: inline,
 * pure, libc only.
 */
typedef enum PgHaOutcome
{
	PGHA_OUTCOME_PENDING,		/* no new leader, the request stands */
	PGHA_OUTCOME_DONE,			/* the candidate leads (without one: any
								 * member but the old leader) */
	PGHA_OUTCOME_OTHER,			/* a member other than the candidate leads */
	PGHA_OUTCOME_FAILED,		/* the request is gone, no new leader */
	PGHA_OUTCOME_UNKNOWN		/* still pending when the wait ended */
} PgHaOutcome;

/* Patroni looks once a second, for twice max(10 s, loop_wait) */
#define PGHA_OUTCOME_POLL_MS	1000

static inline int
pgha_failover_wait_ms(int loop_wait_ms)
{
	return 2 * (loop_wait_ms > 10000 ? loop_wait_ms : 10000);
}

/*
 * The outcome so far.  old_leader: who held the leader key when the request
 * was written (NULL or "": nobody); candidate: NULL or "" when none was
 * named.  Only a key locked by a session counts as held, as everywhere in
 * pg_ha: a key released for the candidate is nobody's yet.  The new leader
 * is c->leader for DONE and OTHER.
 */
static inline PgHaOutcome
pgha_failover_outcome(const PgHaCluster *c, const char *old_leader,
					  const char *candidate)
{
	const char *holder = (c->has_leader && c->leader_session[0] != '\0' &&
						  c->leader[0] != '\0') ? c->leader : NULL;

	if (holder != NULL &&
		(old_leader == NULL || strncmp(holder, old_leader, PGHA_NAME_LEN) != 0))
	{
		if (candidate == NULL || candidate[0] == '\0' ||
			strncmp(holder, candidate, PGHA_NAME_LEN) == 0)
			return PGHA_OUTCOME_DONE;
		return PGHA_OUTCOME_OTHER;
	}
	/* the new leader removes the request only once it holds the key */
	if (!c->has_failover)
		return PGHA_OUTCOME_FAILED;
	return PGHA_OUTCOME_PENDING;
}

/*
 * Patroni's answer to an outcome: its status code (200 or 503), its text in
 * buf.  switchover: POST /switchover (else /failover); new_leader as above,
 * candidate as named.  PENDING is answered as UNKNOWN: the wait is over.
 */
static inline int
pgha_failover_outcome_text(PgHaOutcome outcome, bool switchover,
						   const char *new_leader, const char *candidate,
						   char *buf, size_t len)
{
	switch (outcome)
	{
		case PGHA_OUTCOME_DONE:
			snprintf(buf, len, "Successfully %s over to \"%s\"",
					 switchover ? "switched" : "failed", new_leader);
			return 200;
		case PGHA_OUTCOME_OTHER:
			snprintf(buf, len, "%s over to \"%s\" instead of \"%s\"",
					 switchover ? "Switched" : "Failed", new_leader, candidate);
			return 200;
		case PGHA_OUTCOME_FAILED:
			snprintf(buf, len, "%s failed", switchover ? "Switchover" : "Failover");
			return 503;
		case PGHA_OUTCOME_PENDING:
		case PGHA_OUTCOME_UNKNOWN:
			break;
	}
	snprintf(buf, len, "%s status unknown", switchover ? "Switchover" : "Failover");
	return 503;
}

/*
 * The outcome of an immediate restart of member (POST /restart), judged on
 * the cluster as read from Consul.  Patroni's handler blocks until its own
 * restart is over; pg_ha's REST API wrote restart/<member>, which the
 * member's HA worker rewrites when it starts the restart and deletes once
 * Consul has the record of the restarted server (restart.c), or at once
 * when the restart did not happen.  old_start_ms: epoch ms of the start of
 * the server the request was sent to (0: unknown).  The states:
 *
 *	 request there							PENDING (waits, or restarts)
 *	 gone, member's record absent			PENDING (not back yet)
 *	 gone, record of the same server		FAILED (not restarted)
 *	 gone, newer server, not running		PENDING (still starting)
 *	 gone, newer server running				DONE
 *
 * A record without a start time (written by another version) counts as
 * newer.  Only DONE, FAILED and PENDING are returned; UNKNOWN is the
 * caller's, when the wait ends while still pending.
 */
static inline PgHaOutcome
pgha_restart_outcome(const PgHaCluster *c, const char *member,
					 int64_t old_start_ms)
{
	const PgHaMember *m = NULL;
	int			n = c->nmembers < PGHA_MAX_MEMBERS ? c->nmembers : PGHA_MAX_MEMBERS;
	int			nr = c->nrestarts < PGHA_MAX_MEMBERS ? c->nrestarts : PGHA_MAX_MEMBERS;

	for (int i = 0; i < nr; i++)
		if (strncmp(c->restarts[i].member, member, PGHA_NAME_LEN) == 0)
			return PGHA_OUTCOME_PENDING;
	for (int i = 0; i < n && m == NULL; i++)
		if (strncmp(c->members[i].name, member, PGHA_NAME_LEN) == 0)
			m = &c->members[i];
	if (m == NULL)
		return PGHA_OUTCOME_PENDING;
	if (old_start_ms > 0 && m->start_ms == old_start_ms)
		return PGHA_OUTCOME_FAILED;
	if (strncmp(m->state, "running", sizeof(m->state)) != 0)
		return PGHA_OUTCOME_PENDING;
	return PGHA_OUTCOME_DONE;
}

/*
 * The answer to a restart's outcome: Patroni's status codes and texts
 * ("restarted successfully", "restart failed"), with pg_ha's reason; wait_s
 * is the length of the wait, for UNKNOWN (and PENDING: the wait is over).
 */
static inline int
pgha_restart_outcome_text(PgHaOutcome outcome, const char *member, int wait_s,
						  char *buf, size_t len)
{
	switch (outcome)
	{
		case PGHA_OUTCOME_DONE:
		case PGHA_OUTCOME_OTHER:
			snprintf(buf, len, "restarted successfully");
			return 200;
		case PGHA_OUTCOME_FAILED:
			snprintf(buf, len, "restart failed: the server of member \"%s\" was not restarted; see its server log",
					 member);
			return 503;
		case PGHA_OUTCOME_PENDING:
		case PGHA_OUTCOME_UNKNOWN:
			break;
	}
	snprintf(buf, len, "restart status unknown: member \"%s\" was not back from its restart within %d s; the request stays in Consul and may still be carried out",
			 member, wait_s);
	return 503;
}

/*
 * How long a REST client waits for a restart: until the member's worker
 * would have given it up (PGHA_RESTART_GIVE_UP_MS after it started) and
 * removed the request, plus a switchover's bound for the start and the
 * looks at Consul, so that a restart that fails is answered as failed.
 * patronictl sets no read timeout; Patroni's own bound is the restart's
 * stop plus primary_start_timeout (300 s).
 */
static inline int
pgha_restart_wait_ms(int loop_wait_ms)
{
	return PGHA_RESTART_GIVE_UP_MS + pgha_failover_wait_ms(loop_wait_ms);
}

#endif							/* PG_HA_OUTCOME_H */
