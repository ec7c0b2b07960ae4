/*-------------------------------------------------------------------------
 *
 * api_write.c
 *	  The REST API's write requests: their bodies parsed, their checks.
 *
 * POST /switchover, /failover, /restart, /reinitialize and DELETE
 * /switchover, /restart as Patroni 3.0.2 takes them: the JSON bodies
 * (Patroni's field names and its parse_bool()), the schedule, and the
 * checks against the cluster as read from Consul, with Patroni's texts
 * and status codes.  Whether a switchover or failover may go ahead is the
 * operator's rules' to say (operator_rules.c): this file turns their
 * reason codes into the REST API's words.
 *
 * Pure: libc and jansson, no PostgreSQL, no I/O.  What this file is not
 * for: carrying the requests out (api_action.c: Consul, the postmaster), the
 * merge patch of PATCH /config (config_patch.c), the credentials
 * (api_request.c).
 *
 *-------------------------------------------------------------------------
 */
#include "api_write.h"

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "api_snapshot.h"
#include "iso_time.h"
#include "operator_rules.h"

bool
pgha_api_is_write(const PgHaApiRequest *req)
{
	return req != NULL &&
		(req->method == PGHA_API_POST || req->method == PGHA_API_PATCH ||
		 req->method == PGHA_API_DELETE);
}

/* A JSON object body; NULL with msg (400) when it is not one. */
static json_t *
parse_object_body(const char *body, size_t len, bool optional, char *msg,
				  size_t msglen)
{
	json_t	   *root;

	if (body == NULL || len == 0)
	{
		if (optional)
			return json_pack("{}");
		snprintf(msg, msglen, "a JSON object is expected as the request body");
		return NULL;
	}
	if (len > PGHA_API_MAX_WRITE_BODY)
	{
		snprintf(msg, msglen, "the request body is too large");
		return NULL;
	}
	root = json_loadb(body, len, JSON_REJECT_DUPLICATES, NULL);
	if (root == NULL || !json_is_object(root) ||
		(!optional && json_object_size(root) == 0))
	{
		if (root != NULL)
			json_decref(root);
		snprintf(msg, msglen, "a JSON object is expected as the request body");
		return NULL;
	}
	return root;
}

/* A string field (null or absent: ""); false with msg on a bad one. */
static bool
string_field(json_t *root, const char *key, char *dst, size_t dstlen,
			 char *msg, size_t msglen)
{
	json_t	   *v = json_object_get(root, key);

	dst[0] = '\0';
	if (v == NULL || json_is_null(v))
		return true;
	if (!json_is_string(v) || json_string_length(v) >= dstlen ||
		strlen(json_string_value(v)) != json_string_length(v))
	{
		snprintf(msg, msglen, "\"%s\" must be a string of fewer than %zu bytes",
				 key, dstlen);
		return false;
	}
	memcpy(dst, json_string_value(v), json_string_length(v) + 1);
	return true;
}

/*
 * Patroni's parse_bool(): str(value).lower() in ('on', 'true', 'yes', '1');
 * anything else (absent, null, 2, "x") is false.
 */
static bool
patroni_bool(const json_t *v)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	const char *s;
	char		lower[8];
	size_t		n;

	if (json_is_true(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) == 1;
	if (!json_is_string(v))
		return false;
	s = json_string_value(v);
	n = json_string_length(v);
	if (n >= sizeof(lower) || strlen(s) != n)
		return false;
	for (size_t i = 0; i <= n; i++)
		lower[i] = (s[i] >= 'A' && s[i] <= 'Z') ? (char) (s[i] - 'A' + 'a') : s[i];
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		if (strcmp(lower, yes[i]) == 0)
			return true;
	return false;
}

int
pgha_api_parse_failover(const char *body, size_t len, PgHaApiFailover *out,
						char *msg, size_t msglen)
{
	json_t	   *root;
	bool		ok;

	memset(out, 0, sizeof(*out));
	root = parse_object_body(body, len, false, msg, msglen);
	if (root == NULL)
		return 400;
	ok = string_field(root, "leader", out->leader, sizeof(out->leader), msg, msglen) &&
		string_field(root, "candidate", out->candidate, sizeof(out->candidate), msg, msglen) &&
		string_field(root, "scheduled_at", out->scheduled_at, sizeof(out->scheduled_at), msg, msglen);
	/* Patroni: request.get('candidate') or request.get('member') */
	if (ok && out->candidate[0] == '\0')
		ok = string_field(root, "member", out->candidate, sizeof(out->candidate), msg, msglen);
	/* pg_ha's: what pg_ha_failover(force => true) and pg_ha_ctl --force say */
	out->force = patroni_bool(json_object_get(root, "force"));
	json_decref(root);
	return ok ? 0 : 400;
}

bool
pgha_api_iso_time(int64_t epoch_ms, char *buf, size_t len)
{
	char		tmp[PGHA_API_TIME_LEN];
	char	   *space;

	/* "2026-11-25 20:00:00.123+00:00" -> with a "T" */
	if (!pgha_api_format_time(epoch_ms * 1000, tmp, sizeof(tmp)))
		return false;
	space = strchr(tmp, ' ');
	if (space != NULL)
		*space = 'T';
	if (strlen(tmp) >= len)
		return false;
	strcpy(buf, tmp);
	return true;
}

/*
 * Patroni's parse_schedule(): 0 with the time normalized into iso, or 400
 * (no time zone) / 422 (unparsable, past) with msg.
 */
static int
parse_schedule(const char *schedule, const char *action, int64_t now_ms,
			   char *iso, size_t isolen, char *msg, size_t msglen)
{
	int64_t		ms;

	if (!pgha_parse_iso_time(schedule, &ms))
	{
		char		with_zone[PGHA_API_ISO_LEN * 2 + 8];

		snprintf(with_zone, sizeof(with_zone), "%s+00:00", schedule);
		if (pgha_parse_iso_time(with_zone, &ms))
		{
			snprintf(msg, msglen, "Timezone information is mandatory for the scheduled %s", action);
			return 400;
		}
		snprintf(msg, msglen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
		return 422;
	}
	if (ms < now_ms)
	{
		snprintf(msg, msglen, "Cannot schedule %s in the past", action);
		return 422;
	}
	if (!pgha_api_iso_time(ms, iso, isolen))
	{
		snprintf(msg, msglen, "Unable to parse scheduled timestamp. It should be in an unambiguous format, e.g. ISO 8601");
		return 422;
	}
	return 0;
}

/* The REST API's words for the operator's rules (operator_rules.h). */
static int
failover_refusal(const PgHaOpVerdict *v, bool switchover, int64_t max_lag,
				 char *msg, size_t msglen)
{
	const char *action = switchover ? "switchover" : "failover";
	const char *Action = switchover ? "Switchover" : "Failover";

	switch (v->reason)
	{
		case PGHA_OP_OK:
			return 0;
		case PGHA_OP_FAILOVER_NO_CANDIDATE:
			snprintf(msg, msglen, "Failover could be performed only to a specific candidate");
			return 400;
		case PGHA_OP_SCHEDULED_PAUSED:
			snprintf(msg, msglen, "Can't schedule %s in the paused state", action);
			return 400;
		case PGHA_OP_PAUSED_NO_CANDIDATE:
			snprintf(msg, msglen, "%s is possible only to a specific candidate in a paused state", Action);
			return 400;
		case PGHA_OP_PENDING:
			snprintf(msg, msglen, "a switchover or failover is already pending");
			return 412;
			/* Patroni has one text for both: its switchover names a leader */
		case PGHA_OP_NO_LEADER:
		case PGHA_OP_LEADER_MISMATCH:
			snprintf(msg, msglen, "leader name does not match");
			return 412;
		case PGHA_OP_CANDIDATE_IS_LEADER:
			snprintf(msg, msglen, "candidate \"%s\" is already the leader", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_UNKNOWN:
			snprintf(msg, msglen, "candidate does not exists");
			return 412;
		case PGHA_OP_CANDIDATE_NOT_RUNNING:
		case PGHA_OP_CANDIDATE_NOT_REPLICA:
			snprintf(msg, msglen, "candidate \"%s\" is not a running replica", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_NOFAILOVER:
			snprintf(msg, msglen, "candidate \"%s\" is tagged nofailover", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_NOT_SYNC:
		case PGHA_OP_CANDIDATE_NOT_SYNC_UNFORCED:
			snprintf(msg, msglen, "candidate name does not match with sync_standby");
			return 412;
		case PGHA_OP_CANDIDATE_NO_POSITION:
			snprintf(msg, msglen, "candidate \"%s\" has not published its WAL position", v->member);
			return 412;
		case PGHA_OP_CANDIDATE_LAGS:
			snprintf(msg, msglen,
					 "candidate \"%s\" lags %lld bytes behind the leader (maximum_lag_on_failover is %lld)",
					 v->member, (long long) v->lag, (long long) max_lag);
			return 412;
		case PGHA_OP_NO_SYNC_STANDBY:
			snprintf(msg, msglen, "%s is not possible: synchronous mode is on and there is no synchronous standby", action);
			return 412;
		case PGHA_OP_ONLY_LEADER:
			snprintf(msg, msglen, "%s is not possible: cluster does not have members except leader", action);
			return 412;
		case PGHA_OP_NO_GOOD_CANDIDATE:
			snprintf(msg, msglen, "%s is not possible: no good candidates have been found", action);
			return 412;
	}
	snprintf(msg, msglen, "%s refused", action);
	return 412;
}

int
pgha_api_check_failover(const PgHaCluster *c, PgHaApiFailover *r,
						bool switchover, int64_t now_ms, char *msg,
						size_t msglen)
{
	const char *action = switchover ? "switchover" : "failover";
	PgHaOpRequest req;
	PgHaOpVerdict v;
	int			status;

	r->scheduled_iso[0] = '\0';
	r->unsafe = false;
	/* Patroni's protocol: the body names what SQL and pg_ha_ctl fill in */
	if (!switchover && r->candidate[0] == '\0')
	{
		snprintf(msg, msglen, "Failover could be performed only to a specific candidate");
		return 400;
	}
	if (switchover && r->leader[0] == '\0')
	{
		snprintf(msg, msglen, "Switchover could be performed only from a specific leader");
		return 400;
	}
	if (r->scheduled_at[0] != '\0' && r->leader[0] == '\0')
	{
		snprintf(msg, msglen, "Scheduled %s is possible only from a specific leader", action);
		return 400;
	}

	/* the rules SQL and pg_ha_ctl apply too */
	memset(&req, 0, sizeof(req));
	req.action = switchover ? PGHA_OP_SWITCHOVER : PGHA_OP_FAILOVER;
	req.leader = r->leader;
	req.candidate = r->candidate;
	req.force = r->force;
	req.scheduled = r->scheduled_at[0] != '\0';
	if (!pgha_rule_request(c, &req, &v))
		return failover_refusal(&v, switchover, c->max_lag_on_failover, msg, msglen);
	r->unsafe = v.unsafe;

	if (req.scheduled)
	{
		status = parse_schedule(r->scheduled_at, action, now_ms, r->scheduled_iso,
								sizeof(r->scheduled_iso), msg, msglen);
		if (status != 0)
			return status;
	}
	return 0;
}

int
pgha_api_parse_restart(const char *body, size_t len, PgHaApiRestart *out,
					   char *msg, size_t msglen)
{
	json_t	   *root;
	const char *key;
	json_t	   *value;
	int			status = 0;

	memset(out, 0, sizeof(*out));
	root = parse_object_body(body, len, true, msg, msglen);
	if (root == NULL)
		return 400;
	json_object_foreach(root, key, value)
	{
		if (strcmp(key, "restart_pending") == 0)
		{
			/* Patroni tests it for truth */
			if (json_is_boolean(value))
				out->pending_only = json_is_true(value);
			else if (!json_is_null(value))
			{
				snprintf(msg, msglen, "restart_pending must be true or false");
				status = 400;
			}
		}
		else if (strcmp(key, "schedule") == 0)
		{
			if (!string_field(root, "schedule", out->schedule, sizeof(out->schedule), msg, msglen))
				status = 400;
		}
		else if (strcmp(key, "role") == 0 || strcmp(key, "postgres_version") == 0 ||
				 strcmp(key, "timeout") == 0)
		{
			snprintf(msg, msglen, "The restart filter %.64s is not supported by pg_ha", key);
			status = 400;
		}
		else
		{
			snprintf(msg, msglen, "Unknown filter for the scheduled restart: %.64s", key);
			status = 400;
		}
		if (status != 0)
			break;
	}
	json_decref(root);
	return status;
}

int
pgha_api_parse_reinitialize(const char *body, size_t len, bool *force,
							char *msg, size_t msglen)
{
	json_t	   *root;

	*force = false;
	root = parse_object_body(body, len, true, msg, msglen);
	if (root == NULL)
		return 400;

	*force = patroni_bool(json_object_get(root, "force"));
	json_decref(root);
	return 0;
}

int
pgha_api_check_reinitialize(const PgHaCluster *c, const char *member,
							const PgHaMember **leader, char *msg, size_t msglen)
{
	*leader = NULL;
	/* Patroni: cluster.is_unlocked(), then has_lock() */
	if (!c->has_leader || c->leader_session[0] == '\0' || c->leader[0] == '\0')
	{
		snprintf(msg, msglen, "Cluster has no leader, can not reinitialize");
		return 503;
	}
	if (strncmp(c->leader, member, PGHA_NAME_LEN) == 0)
	{
		snprintf(msg, msglen, "I am the leader, can not reinitialize");
		return 503;
	}
	*leader = pgha_find_member(c, c->leader);
	if (*leader == NULL || (*leader)->conn_url[0] == '\0')
	{
		*leader = NULL;
		snprintf(msg, msglen, "Leader \"%.64s\" has no member record to clone from, can not reinitialize",
				 c->leader);
		return 503;
	}
	return 0;
}

int
pgha_api_check_restart(const PgHaCluster *c, const char *member,
					   PgHaApiRestart *r, int64_t now_ms, char *buf,
					   size_t buflen, char *msg, size_t msglen)
{
	const PgHaMember *m;
	int			n;

	r->scheduled_iso[0] = '\0';
	if (c->paused && r->schedule[0] != '\0')
	{
		snprintf(msg, msglen, "Can't schedule restart in the paused state");
		return 400;
	}
	if (r->schedule[0] != '\0')
	{
		int			status = parse_schedule(r->schedule, "restart", now_ms,
											r->scheduled_iso,
											sizeof(r->scheduled_iso),
											msg, msglen);

		if (status != 0)
			return status;
	}
	m = pgha_find_member(c, member);
	if (m == NULL)
	{
		snprintf(msg, msglen, "restart failed: this node is not a member of the cluster in Consul");
		return 503;
	}
	for (int i = 0; i < c->nrestarts && i < PGHA_MAX_MEMBERS; i++)
	{
		if (strncmp(c->restarts[i].member, member, sizeof(c->restarts[i].member)) == 0)
		{
			snprintf(msg, msglen, "Another restart is already scheduled");
			return 409;
		}
	}
	if (r->pending_only && !m->pending_restart && r->schedule[0] == '\0')
	{
		snprintf(msg, msglen, "restart conditions are not satisfied");
		return 503;
	}
	n = snprintf(buf, buflen, "{\"pending_only\":%s%s%s%s}",
				 r->pending_only ? "true" : "false",
				 r->scheduled_iso[0] ? ",\"scheduled_at\":\"" : "",
				 r->scheduled_iso,
				 r->scheduled_iso[0] ? "\"" : "");
	if (n < 0 || (size_t) n >= buflen)
	{
		snprintf(msg, msglen, "restart failed: request too long");
		return 500;
	}
	return 0;
}

int
pgha_api_check_delete_restart(const PgHaCluster *c, const char *member,
							  uint64_t *index, char *msg, size_t msglen)
{
	/* the rule is the operator's, shared with pg_ha_ctl flush */
	const PgHaRestartRequest *r = pgha_rule_scheduled_restart(c, member);

	*index = r != NULL ? r->modify_index : 0;
	if (r != NULL)
		return 0;
	snprintf(msg, msglen, "no restarts are scheduled");
	return 404;
}

int
pgha_api_check_delete_switchover(const PgHaCluster *c, uint64_t *index,
								 char *msg, size_t msglen)
{
	*index = 0;
	if (c->has_failover && c->failover_scheduled && c->failover_modify_index > 0)
	{
		*index = c->failover_modify_index;
		return 0;
	}
	snprintf(msg, msglen, "no switchover is scheduled");
	return 404;
}
