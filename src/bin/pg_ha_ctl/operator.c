/*-------------------------------------------------------------------------
 *
 * operator.c
 *	  pg_ha_ctl switchover, failover, flush, pause and resume.
 *
 * These commands change the cluster only through Consul, with Patroni's
 * protocol, so that they work the same from any host that reaches Consul
 * and against Patroni nodes too:
 *
 *	switchover, failover
 *		write the failover key, {"leader": <current leader>, "member":
 *		<candidate>, "scheduled_at": <ISO 8601>}, each field only when it
 *		applies, with check-and-set so that a pending request is never
 *		overwritten.  The leader's HA worker hands over to the candidate
 *		(any healthy replica when there is none); without a leader only
 *		"member" is written and only that member may take over.  Every
 *		check an operator would otherwise learn about from a server log
 *		(unknown candidate, not running, nofailover, lagging, no leader, a
 *		time in the past...) is made before anything is written: the
 *		rules of operator_rules.c, which SQL and the REST API apply too,
 *		in this tool's words.  Then the command waits for the new leader
 *		and prints the outcome as patronictl prints Patroni's answer
 *		(pgha_failover_outcome in outcome.h, the rule pg_ha's REST API
 *		answers by).
 *	flush
 *		delete a pending request: the failover key (switchover), or
 *		members' scheduled restarts, restart/<member>, with check-and-set
 *		on its ModifyIndex (restart), whether the member runs or not; which
 *		restart may go is the rule DELETE /restart follows too
 *		(pgha_rule_scheduled_restart in operator_rules.h).
 *	pause, resume
 *		set or remove "pause": true in the config key, with check-and-set
 *		on its ModifyIndex, keeping every other setting as it was.
 *
 * Prompts and confirmation follow patronictl's wording; they read standard
 * input (a terminal or not), and --force skips them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>

#include <jansson.h>

#include "common/logging.h"
#include "base64.h"
#include "cluster.h"
#include "names.h"
#include "operator_rules.h"
#include "outcome.h"
#include "pg_ha_ctl.h"
#include "sync_key.h"

/* attempts at a check-and-set write that others keep changing */
#define CAS_ATTEMPTS		5

/* how often the new leader is looked for, microseconds */
#define POLL_US				500000L

double
ctl_now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* ----- prompts, as click's */

/*
 * Print "text [default]: " and read one line; the default on an empty
 * answer or at the end of input.  Returns a palloc'd answer.
 */
char *
ctl_prompt(const char *text, const char *def)
{
	char		line[1024];
	size_t		n;
	char	   *start;

	printf("%s [%s]: ", text, def);
	fflush(stdout);
	if (fgets(line, sizeof(line), stdin) == NULL)
	{
		printf("\n");
		return pg_strdup(def);
	}
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r' ||
					 line[n - 1] == ' ' || line[n - 1] == '\t'))
		line[--n] = '\0';
	start = line + strspn(line, " \t");
	return pg_strdup(start[0] ? start : def);
}

/* "text [y/N]: "; false on "n", an empty answer or the end of input */
bool
ctl_confirm(const char *text)
{
	for (;;)
	{
		char		line[256];
		char	   *a;

		printf("%s [y/N]: ", text);
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL)
		{
			printf("\n");
			return false;
		}
		a = line + strspn(line, " \t");
		a[strcspn(a, " \t\r\n")] = '\0';
		if (pg_strcasecmp(a, "y") == 0 || pg_strcasecmp(a, "yes") == 0)
			return true;
		if (a[0] == '\0' || pg_strcasecmp(a, "n") == 0 || pg_strcasecmp(a, "no") == 0)
			return false;
		printf("Error: invalid input\n");
	}
}

/* ----- scheduled times */

static bool
parse_digits(const char **p, int n, int *value)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value = v;
	return true;
}

/*
 * Parse an ISO 8601 time, YYYY-MM-DD[T ]HH:MM[:SS[.frac]][Z|+HH[:MM]],
 * local time when it has no offset, into *when.
 */
bool
ctl_parse_time(const char *s, time_t *when)
{
	const char *p = s + strspn(s, " ");
	struct tm	tm;
	int			year,
				mon,
				day,
				hour,
				min,
				sec = 0;
	bool		has_offset = false;
	int			offset = 0;
	struct tm	check;
	time_t		t;

	memset(&tm, 0, sizeof(tm));
	if (!parse_digits(&p, 4, &year) || *p++ != '-' ||
		!parse_digits(&p, 2, &mon) || *p++ != '-' ||
		!parse_digits(&p, 2, &day))
		return false;
	if (*p != 'T' && *p != 't' && *p != ' ')
		return false;
	p++;
	if (!parse_digits(&p, 2, &hour) || *p++ != ':' || !parse_digits(&p, 2, &min))
		return false;
	if (*p == ':')
	{
		p++;
		if (!parse_digits(&p, 2, &sec))
			return false;
		if (*p == '.' || *p == ',')
		{
			p++;
			if (*p < '0' || *p > '9')
				return false;
			p += strspn(p, "0123456789");	/* seconds are enough */
		}
	}
	if (*p == 'Z' || *p == 'z')
	{
		has_offset = true;
		p++;
	}
	else if (*p == '+' || *p == '-')
	{
		int			sign = *p == '-' ? -1 : 1;
		int			oh,
					om = 0;

		p++;
		if (!parse_digits(&p, 2, &oh))
			return false;
		if (*p == ':')
			p++;
		if (*p >= '0' && *p <= '9' && !parse_digits(&p, 2, &om))
			return false;
		if (oh > 23 || om > 59)
			return false;
		has_offset = true;
		offset = sign * (oh * 3600 + om * 60);
	}
	p += strspn(p, " ");
	if (*p != '\0')
		return false;
	if (year < 1970 || mon < 1 || mon > 12 || day < 1 || day > 31 ||
		hour > 23 || min > 59 || sec > 60)
		return false;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	if (has_offset)
	{
		t = timegm(&tm);
		gmtime_r(&t, &check);
		t -= offset;
	}
	else
	{
		tm.tm_isdst = -1;
		t = mktime(&tm);
		localtime_r(&t, &check);
	}
	/* 2026-02-30 is no date: it would come back as March */
	if (t == (time_t) -1 || check.tm_mday != day || check.tm_mon != mon - 1)
		return false;
	*when = t;
	return true;
}

/* "2026-11-25T20:00:00+00:00" */
void
ctl_format_iso_utc(time_t t, char *buf, size_t len)
{
	struct tm	tm;

	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%S+00:00", &tm);
}

/* ----- the failover key */

/*
 * Is a request pending in the failover key?  Empty, null and {} are no
 * request (Patroni writes {} when it is done); anything else is one,
 * even text that Patroni's older "leader:member" form would read.
 */
static bool
failover_pending(const CtlKv *kv)
{
	json_t	   *root;
	bool		pending;
	const char *p;

	if (!kv->exists)
		return false;
	p = kv->value + strspn(kv->value, " \t\r\n");
	if (*p == '\0')
		return false;
	root = json_loadb(kv->value, kv->len, JSON_DECODE_ANY, NULL);
	if (root == NULL)
		return true;
	pending = !(json_is_null(root) ||
				(json_is_object(root) && json_object_size(root) == 0));
	json_decref(root);
	return pending;
}

static void
report_pending(const CtlOptions *opt, const CtlKv *kv)
{
	pg_log_error("a switchover is already pending in cluster \"%s\"", opt->cluster);
	pg_log_error_detail("Key \"%s/%s/failover\" holds: %.200s",
						opt->namespace, opt->cluster, kv->value);
	pg_log_error_hint("Wait for it to complete, or cancel it with: pg_ha_ctl flush %s switchover",
					  opt->cluster);
}

/* ----- the operator's rules (operator_rules.h), in pg_ha_ctl's words */

/* comma-separated names of the members other than skip */
static char *
member_names(const PgHaCluster *c, const char *skip)
{
	PQExpBufferData buf;
	char	   *ret;

	initPQExpBuffer(&buf);
	for (int i = 0; i < c->nmembers; i++)
	{
		if (skip != NULL && strcmp(c->members[i].name, skip) == 0)
			continue;
		appendPQExpBuffer(&buf, "%s%s", buf.len ? ", " : "", c->members[i].name);
	}
	ret = pg_strdup(buf.len ? buf.data : "(none)");
	termPQExpBuffer(&buf);
	return ret;
}

/*
 * Why member name may not take over, as a phrase after its name ("is not
 * running ..."), with advice for the operator in hint.
 */
static char *
unfit_phrase(const PgHaCluster *c, const char *name, PgHaOpReason reason,
			 int64 lag, const char **hint)
{
	const PgHaMember *m = pgha_find_member(c, name);

	if (m == NULL)
		m = pgha_find_stopped_member(c, name);
	switch (reason)
	{
		case PGHA_OP_CANDIDATE_NOT_RUNNING:
			*hint = "Only a running replica can take over; start it, or choose another candidate.";
			return psprintf("is not running (state \"%s\")",
							m != NULL && m->state[0] ? m->state : "unknown");
		case PGHA_OP_CANDIDATE_NOT_REPLICA:
			*hint = "Only a replica can take over; choose another candidate.";
			return psprintf("is not a replica (role \"%s\")",
							m != NULL && m->role[0] ? m->role : "unknown");
		case PGHA_OP_CANDIDATE_NOFAILOVER:
			*hint = "A member tagged nofailover never becomes the leader; choose another candidate, or remove the tag (pg_ha.nofailover) first.";
			return pg_strdup("is tagged nofailover");
		case PGHA_OP_CANDIDATE_NOT_SYNC:
			*hint = "Name the synchronous standby, or turn synchronous_mode off first.";
			return pg_strdup("is not the synchronous standby: in synchronous mode only the synchronous standby may take over from a running leader");
		case PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED:
			*hint = "To promote it all the same, accepting the loss, add --force.";
			return pg_strdup("is not the synchronous standby: it may lack commits the last leader acknowledged");
		case PGHA_OP_CANDIDATE_NO_POSITION:
			*hint = "Its lag cannot be checked; wait until it reports its position, or choose another candidate.";
			return pg_strdup("has not published its WAL position");
		case PGHA_OP_CANDIDATE_LAGS:
			*hint = "Wait until it has caught up, or choose another candidate.";
			return psprintf("lags " INT64_FORMAT " bytes behind the leader, more than maximum_lag_on_failover (" INT64_FORMAT ")",
							lag, (int64) c->max_lag_on_failover);
		default:
			*hint = "";
			return pg_strdup(pgha_rule_reason_name(reason));
	}
}

/* No candidate, none fit: each member's reason, for the detail line. */
static void
report_no_candidate(const CtlOptions *opt, const PgHaCluster *c,
					const char *leader, const char *action)
{
	PQExpBufferData why;
	bool		sync = pgha_sync_active(c);

	initPQExpBuffer(&why);
	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];
		PgHaOpReason reason;
		int64_t		lag = 0;
		const char *hint;
		char	   *phrase;

		if (leader != NULL && strcmp(m->name, leader) == 0)
			continue;
		reason = pgha_rule_member_fit(c, m, &lag);
		if (reason == PGHA_OP_OK && sync && !pgha_sync_is_standby(c, m->name))
			reason = PGHA_OP_CANDIDATE_NOT_SYNC;
		if (reason == PGHA_OP_OK)
			continue;
		phrase = unfit_phrase(c, m->name, reason, lag, &hint);
		appendPQExpBuffer(&why, "%s\"%s\" %s", why.len ? "; " : "", m->name, phrase);
		pg_free(phrase);
	}
	pg_log_error("no replica of cluster \"%s\" can take over: the %s has no candidate",
				 opt->cluster, action);
	if (why.len > 0)
		pg_log_error_detail("%s.", why.data);
	else
		pg_log_error_detail("The cluster has no replica.");
	termPQExpBuffer(&why);
}

/* Log why the rules refuse the request. */
static void
report_refusal(const CtlOptions *opt, const PgHaCluster *c,
			   const PgHaOpRequest *r, const PgHaOpVerdict *v)
{
	const char *action = r->action == PGHA_OP_FAILOVER ? "failover" : "switchover";
	const char *leader = (c->has_leader && c->leader_session[0] != '\0') ? c->leader : NULL;
	const char *hint = NULL;
	char	   *phrase;

	switch (v->reason)
	{
		case PGHA_OP_OK:
			return;
		case PGHA_OP_FAILOVER_NO_CANDIDATE:
			pg_log_error("a failover needs a candidate");
			if (leader != NULL)
				pg_log_error_hint("Give --candidate NAME, or let pg_ha choose a replica with: pg_ha_ctl switchover %s",
								  opt->cluster);
			else
				pg_log_error_hint("Give --candidate NAME, one of: %s.", member_names(c, NULL));
			return;
		case PGHA_OP_SCHEDULED_PAUSED:
			pg_log_error("cannot schedule a switchover while cluster \"%s\" is paused",
						 opt->cluster);
			pg_log_error_hint("Resume it first (pg_ha_ctl resume %s), or switch over now.",
							  opt->cluster);
			return;
		case PGHA_OP_PAUSED_NO_CANDIDATE:
			pg_log_error("cluster \"%s\" is paused: a %s goes only to a named candidate",
						 opt->cluster, action);
			pg_log_error_hint("Give --candidate NAME, or resume the cluster first (pg_ha_ctl resume %s).",
							  opt->cluster);
			return;
		case PGHA_OP_PENDING:
			pg_log_error("a switchover is already pending in cluster \"%s\"", opt->cluster);
			pg_log_error_hint("Wait for it to complete, or cancel it with: pg_ha_ctl flush %s switchover",
							  opt->cluster);
			return;
		case PGHA_OP_NO_LEADER:
			pg_log_error("cluster \"%s\" has no leader", opt->cluster);
			pg_log_error_hint("A switchover needs a running leader; use failover to promote a replica: pg_ha_ctl failover %s --candidate NAME",
							  opt->cluster);
			return;
		case PGHA_OP_LEADER_MISMATCH:
			pg_log_error("\"%s\" is not the leader of cluster \"%s\"", v->member, opt->cluster);
			if (leader != NULL)
				pg_log_error_hint("The leader is \"%s\".", leader);
			else
				pg_log_error_hint("The cluster has no leader; give no --leader.");
			return;
		case PGHA_OP_CANDIDATE_IS_LEADER:
			pg_log_error("\"%s\" is already the leader of cluster \"%s\"",
						 v->member, opt->cluster);
			pg_log_error_hint("Choose one of the replicas as candidate: %s.",
							  member_names(c, v->member));
			return;
		case PGHA_OP_CANDIDATE_UNKNOWN:
			pg_log_error("member \"%s\" does not exist in cluster \"%s\"",
						 v->member, opt->cluster);
			pg_log_error_hint("The members are: %s.", member_names(c, NULL));
			return;
		case PGHA_OP_NO_SYNC_STANDBY:
			pg_log_error("cluster \"%s\": synchronous mode is on and the cluster has no synchronous standby",
						 opt->cluster);
			pg_log_error_hint("Wait until the leader has named a synchronous standby (\"Sync Standby\" in pg_ha_ctl list).");
			return;
		case PGHA_OP_ONLY_LEADER:
		case PGHA_OP_NO_GOOD_CANDIDATE:
			report_no_candidate(opt, c, leader, action);
			return;
		default:
			phrase = unfit_phrase(c, v->member, v->reason, v->lag, &hint);
			pg_log_error("candidate \"%s\" %s", v->member, phrase);
			if (v->reason == PGHA_OP_CANDIDATE_NOT_SYNC && c->nsync > 0)
				pg_log_error_hint("Name the synchronous standby (%s), or turn synchronous_mode off first.",
								  c->sync_standby[0]);
			else if (hint[0] != '\0')
				pg_log_error_hint("%s", hint);
			pg_free(phrase);
			return;
	}
}

/*
 * May the request be written?  Logs the error and returns false otherwise;
 * warn: say so when it is accepted only by force.
 */
static bool
check_request(const CtlOptions *opt, const PgHaCluster *c, bool failover,
			  const char *leader, const char *candidate, bool scheduled, bool warn)
{
	PgHaOpRequest req;
	PgHaOpVerdict v;

	memset(&req, 0, sizeof(req));
	req.action = failover ? PGHA_OP_FAILOVER : PGHA_OP_SWITCHOVER;
	req.leader = leader;
	req.candidate = candidate;
	/* --force skips the prompts, and is the operator's word for the loss */
	req.force = failover && opt->force;
	req.scheduled = scheduled;
	if (!pgha_rule_request(c, &req, &v))
	{
		report_refusal(opt, c, &req, &v);
		return false;
	}
	if (warn && v.unsafe)
		pg_log_warning("candidate \"%s\" is not the synchronous standby: commits the last leader acknowledged may be lost",
					   candidate);
	return true;
}

/* The leader rules alone, before the prompts: no answer can change them. */
static bool
check_leader(const CtlOptions *opt, const PgHaCluster *c, bool failover,
			 const char *named)
{
	PgHaOpRequest req;
	PgHaOpVerdict v;

	memset(&req, 0, sizeof(req));
	req.action = failover ? PGHA_OP_FAILOVER : PGHA_OP_SWITCHOVER;
	req.leader = named;
	if (pgha_rule_leader(c, &req, &v) == PGHA_OP_OK)
		return true;
	report_refusal(opt, c, &req, &v);
	return false;
}

/* the name of the member holding the leader key, or NULL */
static const char *
current_leader(const PgHaCluster *c)
{
	return (c->has_leader && c->leader_session[0] != '\0') ? c->leader : NULL;
}

/* ----- switchover and failover */

/*
 * Wait for the new leader and print the outcome on stdout in patronictl's
 * words: "<time> <answer>" and the table when a new leader holds the key,
 * else "<Action> failed, details: 503, <answer>", patronictl's line for
 * Patroni's 503 (with pg_ha_ctl's explanation on stderr).  0 when the
 * candidate (or, without one, any other member) took over, else 1: also
 * when another member than the candidate did, which Patroni answers 200.
 */
static int
wait_for_leader(const CtlOptions *opt, bool failover, const char *old_leader,
				const char *candidate)
{
	const char *action = failover ? "failover" : "switchover";
	double		deadline = ctl_now_s() + opt->wait_timeout;
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	PgHaOutcome outcome = PGHA_OUTCOME_UNKNOWN;
	char		answer[256];
	const char *leader;

	for (;;)
	{
		bool		found;

		pg_usleep(POLL_US);
		if (ctl_read_cluster(opt, c, &found) && found)
		{
			outcome = pgha_failover_outcome(c, old_leader, candidate);
			if (outcome != PGHA_OUTCOME_PENDING)
				break;
		}
		if (ctl_now_s() > deadline)
		{
			outcome = PGHA_OUTCOME_UNKNOWN;
			break;
		}
	}

	(void) pgha_failover_outcome_text(outcome, !failover, c->leader, candidate,
									  answer, sizeof(answer));
	if (outcome == PGHA_OUTCOME_DONE || outcome == PGHA_OUTCOME_OTHER)
	{
		char	   *ts = ctl_timestamp(5);

		printf("%s %s\n", ts, answer);
		ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
		pg_free(ts);
		pg_free(c);
		return outcome == PGHA_OUTCOME_DONE ? 0 : 1;
	}

	printf("%c%s failed, details: 503, %s\n", pg_toupper((unsigned char) action[0]),
		   action + 1, answer);
	fflush(stdout);
	leader = current_leader(c);
	if (outcome == PGHA_OUTCOME_FAILED)
	{
		if (leader != NULL)
			pg_log_error("the %s request was withdrawn and \"%s\" is still the leader",
						 action, leader);
		else
			pg_log_error("the %s request was withdrawn and cluster \"%s\" has no leader",
						 action, opt->cluster);
		pg_log_error_hint("The failover key was deleted without a new leader: a member refused the request, or it was flushed. See the servers' logs.");
	}
	else
	{
		pg_log_error("no new leader in cluster \"%s\" after %d s; the %s request stays in Consul",
					 opt->cluster, opt->wait_timeout, action);
		pg_log_error_hint("See the servers' logs; cancel the request with: pg_ha_ctl flush %s switchover",
						  opt->cluster);
	}
	pg_free(c);
	return 1;
}

int
cmd_switchover(const CtlOptions *opt, bool failover)
{
	const char *action = failover ? "failover" : "switchover";
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	CtlKv		kv;
	char	   *leader = NULL;
	char	   *candidate = opt->candidate ? pg_strdup(opt->candidate) : NULL;
	char	   *scheduled = opt->scheduled ? pg_strdup(opt->scheduled) : NULL;
	bool		has_when = false;
	time_t		when = 0;
	char		when_iso[64] = "";
	char	   *value;
	bool		done = false;
	json_t	   *req;

	if (failover && opt->scheduled != NULL)
	{
		pg_log_error("a failover cannot be scheduled");
		pg_log_error_hint("Use pg_ha_ctl switchover %s --scheduled TIME.", opt->cluster);
		return 1;
	}
	if (candidate != NULL && !pgha_valid_name(candidate))
	{
		pg_log_error("invalid member name \"%s\"", candidate);
		return 1;
	}
	if (!ctl_read_known_cluster(opt, c))
		return 1;
	if (!ctl_kv_get(opt, "failover", &kv))
		return 1;
	if (failover_pending(&kv))
	{
		report_pending(opt, &kv);
		return 1;
	}
	ctl_kv_free(&kv);

	if (current_leader(c) != NULL)
		leader = pg_strdup(current_leader(c));
	if (!check_leader(opt, c, failover, opt->leader))
		return 1;

	if (!opt->force)
	{
		PQExpBufferData names;
		int			ncand = 0;
		const PgHaMember *sorted[PGHA_MAX_MEMBERS];

		if (!failover && opt->leader == NULL)
		{
			char	   *answer = ctl_prompt("Primary", leader);

			if (!check_leader(opt, c, failover, answer))
				return 1;
		}

		/* patronictl offers every member but the leader and nofailover ones */
		for (int i = 0; i < c->nmembers; i++)
		{
			const PgHaMember *m = &c->members[i];
			int			j;

			if ((leader != NULL && strcmp(m->name, leader) == 0) || m->nofailover)
				continue;
			for (j = ncand; j > 0 && strcmp(sorted[j - 1]->name, m->name) > 0; j--)
				sorted[j] = sorted[j - 1];
			sorted[j] = m;
			ncand++;
		}
		if (ncand == 0)
		{
			pg_log_error("no candidate to %s to in cluster \"%s\"", action, opt->cluster);
			pg_log_error_hint("Every member is the leader or tagged nofailover.");
			return 1;
		}
		if (candidate == NULL)
		{
			char	   *answer;

			initPQExpBuffer(&names);
			appendPQExpBufferStr(&names, "Candidate [");
			for (int i = 0; i < ncand; i++)
				appendPQExpBuffer(&names, "%s'%s'", i ? ", " : "", sorted[i]->name);
			appendPQExpBufferChar(&names, ']');
			answer = ctl_prompt(names.data, "");
			termPQExpBuffer(&names);
			if (answer[0] != '\0')
			{
				if (!pgha_valid_name(answer))
				{
					pg_log_error("invalid member name \"%s\"", answer);
					return 1;
				}
				candidate = answer;
			}
		}
		if (!failover && scheduled == NULL)
		{
			time_t		t = time(NULL) + 3600;
			struct tm	tm;
			char		example[32];
			char	   *text;

			localtime_r(&t, &tm);
			strftime(example, sizeof(example), "%Y-%m-%dT%H:%M", &tm);
			text = psprintf("When should the switchover take place (e.g. %s ) ", example);
			scheduled = ctl_prompt(text, "now");
			pg_free(text);
		}
	}

	if (scheduled != NULL && scheduled[0] != '\0' && pg_strcasecmp(scheduled, "now") != 0)
	{
		if (!ctl_parse_time(scheduled, &when))
		{
			pg_log_error("could not parse the scheduled time \"%s\"", scheduled);
			pg_log_error_hint("Give an ISO 8601 time, e.g. 2026-11-25T21:00 (local time) or 2026-11-25T21:00:00+00:00, or now.");
			return 1;
		}
		if (when <= time(NULL))
		{
			pg_log_error("the scheduled time \"%s\" is in the past", scheduled);
			pg_log_error_hint("Give a time in the future, or now.");
			return 1;
		}
		has_when = true;
		ctl_format_iso_utc(when, when_iso, sizeof(when_iso));
	}
	if (!check_request(opt, c, failover, leader, candidate, has_when, true))
		return 1;

	printf("Current cluster topology\n");
	ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
	if (!opt->force)
	{
		char	   *demote = leader ? psprintf(", demoting current leader %s", leader) : pg_strdup("");
		char	   *question;

		if (has_when)
			question = psprintf("Are you sure you want to schedule %s of cluster %s at %s%s?",
								action, opt->cluster, when_iso, demote);
		else
			question = psprintf("Are you sure you want to %s cluster %s%s?",
								action, opt->cluster, demote);
		if (!ctl_confirm(question))
		{
			pg_log_error("aborting %s%s", has_when ? "scheduled " : "", action);
			return 1;
		}
	}

	/* the request, as Patroni's manual_failover() writes it */
	req = json_pack("{}");		/* not json_object(): see json_util.h */
	if (leader != NULL)
		json_object_set_new(req, "leader", json_string(leader));
	if (candidate != NULL)
		json_object_set_new(req, "member", json_string(candidate));
	if (has_when)
		json_object_set_new(req, "scheduled_at", json_string(when_iso));
	value = json_dumps(req, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(req);
	if (value == NULL)
		pg_fatal("out of memory");

	/*
	 * Look again right before writing (the prompts may have taken a while),
	 * then write only if the key is still what was read: absent (cas=0) or
	 * the same empty request.
	 */
	for (int attempt = 0; attempt < CAS_ATTEMPTS && !done; attempt++)
	{
		const char *now_leader;

		if (!ctl_read_known_cluster(opt, c) || !ctl_kv_get(opt, "failover", &kv))
			return 1;
		if (failover_pending(&kv))
		{
			report_pending(opt, &kv);
			return 1;
		}
		now_leader = current_leader(c);
		if ((leader == NULL) != (now_leader == NULL) ||
			(leader != NULL && strcmp(leader, now_leader) != 0))
		{
			pg_log_error("the leader of cluster \"%s\" changed meanwhile (now %s); nothing was written",
						 opt->cluster, now_leader ? now_leader : "none");
			pg_log_error_hint("Run the command again.");
			return 1;
		}
		if (!check_request(opt, c, failover, leader, candidate, has_when, false))
			return 1;
		if (!ctl_kv_put(opt, "failover", value,
						kv.exists ? (int64) kv.modify_index : 0, &done))
			return 1;
		ctl_kv_free(&kv);
	}
	if (!done)
	{
		pg_log_error("could not write the %s request: the failover key of cluster \"%s\" keeps changing",
					 action, opt->cluster);
		return 1;
	}

	if (has_when)
	{
		char	   *ts = ctl_timestamp(5);

		printf("%s Switchover scheduled at %s\n", ts, when_iso);
		if (ctl_read_known_cluster(opt, c))
			ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
		return 0;
	}
	return wait_for_leader(opt, failover, leader, candidate);
}

/* ----- flush */

/* The failover key deleted, whatever it holds. */
static int
flush_switchover(const CtlOptions *opt)
{
	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++)
	{
		CtlKv		kv;
		bool		done;

		if (!ctl_kv_get(opt, "failover", &kv))
			return 1;
		if (!kv.exists)
		{
			printf("No pending switchover\n");
			return 0;
		}
		/* the key goes whatever it holds: {} left by patronictl flush too */
		if (!ctl_kv_delete(opt, "failover", (int64) kv.modify_index, &done))
			return 1;
		if (done && !failover_pending(&kv))
		{
			printf("No pending switchover (removed the failover key, which held none: %.200s)\n",
				   kv.value);
			return 0;
		}
		if (done)
		{
			printf("Success: pending switchover deleted (%.200s)\n", kv.value);
			return 0;
		}
		ctl_kv_free(&kv);
	}
	pg_log_error("could not delete the failover key of cluster \"%s\": it keeps changing",
				 opt->cluster);
	return 1;
}

/*
 * Does member name have the role of patronictl's --role?  pg_ha has no
 * standby cluster, so no standby leader.  *valid false: no such role.
 */
static bool
has_role(const PgHaCluster *c, const char *name, const char *role, bool *valid)
{
	bool		leads = c->has_leader && c->leader_session[0] != '\0' &&
		strcmp(c->leader, name) == 0;

	*valid = true;
	if (strcmp(role, "any") == 0)
		return true;
	if (strcmp(role, "leader") == 0 || strcmp(role, "primary") == 0 ||
		strcmp(role, "master") == 0)
		return leads;
	if (strcmp(role, "replica") == 0 || strcmp(role, "standby") == 0)
		return !leads;
	*valid = strcmp(role, "standby-leader") == 0;
	return false;
}

/*
 * Delete member name's scheduled restart, if it has one (the rule of
 * DELETE /restart), with check-and-set; a request that changes meanwhile
 * is judged again.  patronictl's lines; false when it could not be done.
 */
static bool
flush_member_restart(const CtlOptions *opt, PgHaCluster *c, const char *name)
{
	char	   *key = psprintf("restart/%s", name);

	for (int attempt = 0; attempt < CAS_ATTEMPTS; attempt++)
	{
		const PgHaRestartRequest *r;
		bool		done;

		if (attempt > 0 && !ctl_read_known_cluster(opt, c))
			return false;
		r = pgha_rule_scheduled_restart(c, name);
		if (r == NULL)
		{
			printf("No scheduled restart for member %s\n", name);
			return true;
		}
		if (!ctl_kv_delete(opt, key, (int64) r->modify_index, &done))
			return false;
		if (done)
		{
			printf("Success: flush scheduled restart for member %s\n", name);
			return true;
		}
	}
	printf("Failed: flush scheduled restart for member %s: restart/%s keeps changing\n",
		   name, name);
	return false;
}

/*
 * patronictl flush CLUSTER [MEMBER...] restart: the members named (all when
 * none, stopped ones too: a request outlives its server), those with the
 * role of --role (any), each scheduled restart deleted from Consul.
 */
static int
flush_restart(const CtlOptions *opt, PgHaCluster *c)
{
	const char *role = opt->role != NULL ? opt->role : "any";
	char	  **names;
	int			n;
	int			k = 0;
	int			failed = 0;
	bool		valid;

	(void) has_role(c, "", role, &valid);
	if (!valid)
	{
		pg_log_error("invalid role \"%s\"", role);
		pg_log_error_hint("Use leader, primary, master, replica, standby, standby-leader or any.");
		return 1;
	}
	/* patronictl's words for a name that is no member, running or stopped */
	for (int i = 0; i < opt->nmembers; i++)
		if (pgha_valid_name(opt->members[i]) &&
			pgha_find_member(c, opt->members[i]) == NULL &&
			pgha_find_stopped_member(c, opt->members[i]) == NULL)
		{
			pg_log_error("%s is not a member of cluster", opt->members[i]);
			pg_log_error_detail("Cluster \"%s\" has no member \"%s\", running or stopped.",
								opt->cluster, opt->members[i]);
			return 1;
		}
	if (opt->nmembers == 0 && c->nmembers + c->nstopped == 0)
	{
		pg_log_error("%s cluster doesn't have any members", opt->cluster);
		return 1;
	}
	if ((names = ctl_target_members(opt, c, &n, CTL_TARGET_STOPPED)) == NULL)
		return 1;
	for (int i = 0; i < n; i++)
		if (has_role(c, names[i], role, &valid))
			names[k++] = names[i];
	ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
	if (k == 0)
	{
		pg_log_error("No %s among provided members", role);
		return 1;
	}
	if (!opt->force &&
		!ctl_confirm(psprintf("Are you sure you want to flush members %s?",
							  ctl_join_names(names, k))))
	{
		pg_log_error("aborting flush");
		return 1;
	}
	for (int i = 0; i < k; i++)
		if (!flush_member_restart(opt, c, names[i]))
			failed++;
	return failed ? 1 : 0;
}

int
cmd_flush(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	bool		restart = opt->target != NULL && strcmp(opt->target, "restart") == 0;

	if (opt->target == NULL)
	{
		pg_log_error("flush needs a target: restart or switchover");
		pg_log_error_hint("Run: pg_ha_ctl flush %s switchover, or pg_ha_ctl flush %s [MEMBER...] restart",
						  opt->cluster, opt->cluster);
		return 1;
	}
	if (!restart && strcmp(opt->target, "switchover") != 0)
	{
		pg_log_error("cannot flush \"%s\": only a pending switchover or scheduled restarts can be flushed",
					 opt->target);
		pg_log_error_hint("Run: pg_ha_ctl flush %s switchover, or pg_ha_ctl flush %s [MEMBER...] restart",
						  opt->cluster, opt->cluster);
		return 1;
	}
	if (!ctl_read_known_cluster(opt, c))
		return 1;
	return restart ? flush_restart(opt, c) : flush_switchover(opt);
}

/* ----- pause and resume */

/*
 * Dump the config as compact JSON (Patroni's form) with the fewest digits
 * that give every real number back unchanged: jansson's default of 17
 * would turn 0.9 into 0.90000000000000002.
 */
char *
ctl_dump_config(const json_t *root)
{
	for (int p = 1; p <= 17; p++)
	{
		char	   *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER |
								   JSON_REAL_PRECISION(p));
		json_t	   *back;

		if (s == NULL)
			break;
		back = json_loads(s, 0, NULL);
		if (back != NULL && json_equal(back, (json_t *) root))
		{
			json_decref(back);
			return s;
		}
		json_decref(back);
		free(s);
	}
	return json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
}

/*
 * Have all the members named in names (those still in the cluster)
 * published "pause" as wanted in their records?  remaining gets the others.
 */
static bool
members_recognize_pause(const CtlOptions *opt, char **names, int nnames,
						bool pause, PQExpBuffer remaining)
{
	size_t		len;
	bool		found;
	char	   *body = ctl_kv_get_tree(opt, "members/", &len, &found);
	json_t	   *root;
	json_t	   *entry;
	size_t		i;
	char	   *prefix = psprintf("%s/%s/members/", opt->namespace, opt->cluster);

	resetPQExpBuffer(remaining);
	if (body == NULL)
		return false;
	root = json_loadb(body, len, 0, NULL);
	json_array_foreach(root, i, entry)
	{
		const char *key = json_string_value(json_object_get(entry, "Key"));
		json_t	   *jvalue = json_object_get(entry, "Value");
		const char *name;
		bool		wanted = false;
		bool		member_paused = false;

		if (key == NULL || strncmp(key, prefix, strlen(prefix)) != 0)
			continue;
		name = key + strlen(prefix);
		for (int k = 0; k < nnames; k++)
			if (strcmp(names[k], name) == 0)
				wanted = true;
		if (!wanted)
			continue;
		if (json_is_string(jvalue))
		{
			size_t		srclen = json_string_length(jvalue);
			size_t		room = srclen / 4 * 3 + 1;
			char	   *value = pg_malloc(room);
			int			n = pgha_base64_decode(json_string_value(jvalue), srclen,
											   value, room);
			json_t	   *record = n > 0 ? json_loadb(value, n, 0, NULL) : NULL;

			member_paused = json_is_true(json_object_get(record, "pause"));
			json_decref(record);
			pg_free(value);
		}
		if (member_paused != pause)
			appendPQExpBuffer(remaining, "%s%s", remaining->len ? ", " : "", name);
	}
	json_decref(root);
	pg_free(body);
	pg_free(prefix);
	return remaining->len == 0;
}

int
cmd_pause(const CtlOptions *opt, bool pause)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	bool		done = false;
	int			loop_wait = 2;	/* pg_ha.loop_wait's default */
	char	  **names;
	int			nnames = 0;

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	names = pg_malloc0(sizeof(char *) * (c->nmembers + 1));
	for (int i = 0; i < c->nmembers; i++)
		if (c->members[i].api_url[0] != '\0')
			names[nnames++] = pg_strdup(c->members[i].name);

	for (int attempt = 0; attempt < CAS_ATTEMPTS && !done; attempt++)
	{
		CtlKv		kv;
		json_t	   *root;
		json_t	   *jlw;
		json_error_t jerr;
		char	   *value;

		if (!ctl_kv_get(opt, "config", &kv))
			return 1;
		if (!kv.exists || kv.value[strspn(kv.value, " \t\r\n")] == '\0')
			root = json_pack("{}");		/* not json_object(): see json_util.h */
		else
			root = json_loadb(kv.value, kv.len, 0, &jerr);
		if (!json_is_object(root))
		{
			pg_log_error("the config key of cluster \"%s\" is not a JSON object%s%s",
						 opt->cluster, root ? "" : ": ", root ? "" : jerr.text);
			pg_log_error_hint("Fix key \"%s/%s/config\" in Consul first.",
							  opt->namespace, opt->cluster);
			return 1;
		}
		if (json_is_true(json_object_get(root, "pause")) == pause)
		{
			pg_log_error(pause ? "cluster \"%s\" is already paused" : "cluster \"%s\" is not paused",
						 opt->cluster);
			return 1;
		}
		jlw = json_object_get(root, "loop_wait");
		if (json_is_integer(jlw) && json_integer_value(jlw) > 0 &&
			json_integer_value(jlw) < 3600)
			loop_wait = (int) json_integer_value(jlw);

		/* as Patroni's PATCH {"pause": true} or {"pause": null} */
		if (pause)
			json_object_set_new(root, "pause", json_true());
		else
			json_object_del(root, "pause");
		value = ctl_dump_config(root);
		json_decref(root);
		if (value == NULL)
			pg_fatal("out of memory");
		if (!ctl_kv_put(opt, "config", value,
						kv.exists ? (int64) kv.modify_index : 0, &done))
			return 1;
		free(value);
		ctl_kv_free(&kv);
	}
	if (!done)
	{
		pg_log_error("could not write the config key of cluster \"%s\": it keeps changing",
					 opt->cluster);
		return 1;
	}

	if (opt->wait)
	{
		PQExpBufferData remaining;
		int			limit = 2 * loop_wait + 2;
		double		deadline = ctl_now_s() + limit;
		bool		ok;

		printf("'%s' request sent, waiting until it is recognized by all nodes\n",
			   pause ? "pause" : "resume");
		fflush(stdout);
		initPQExpBuffer(&remaining);
		while (!(ok = members_recognize_pause(opt, names, nnames, pause, &remaining)) &&
			   ctl_now_s() < deadline)
			pg_usleep(POLL_US);
		if (!ok)
		{
			pg_log_error("%s did not recognize the %s state after %d seconds",
						 remaining.len ? remaining.data : "the members",
						 pause ? "pause" : "resume", limit);
			pg_log_error_hint("The config key is written; see those members' logs.");
			return 1;
		}
		termPQExpBuffer(&remaining);
	}
	printf("Success: cluster management is %s\n", pause ? "paused" : "resumed");
	return 0;
}
