/*-------------------------------------------------------------------------
 *
 * member.c
 *	  Member records and tags, both ways (member.h).
 *
 * A member record is Patroni's members/<name> JSON, so that pg_ha and
 * Patroni nodes read each other's.  Reading it is reading outside data: a
 * record that says something we cannot use about a field pg_ha acts on
 * (a position, a timeline, nofailover) is refused whole; fields that only
 * inform the listings (other tags, last_seen, scheduled_restart) are left
 * out when unusable.  Writing never produces what reading would refuse.
 *
 * What this file is not for: where records come from (the KV listing,
 * cluster.c), what a member's record says about the cluster (its role
 * label, sync_key.c), or when the leader writes a stopped member's record
 * (member_tracker.c, member_record.c).
 *
 * src/common/member.c
 *
 *-------------------------------------------------------------------------
 */
#include "member.h"
#include "iso_time.h"
#include "json_util.h"
#include "names.h"

#include <errno.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const pgha_hs_param_names[PGHA_HS_NPARAMS] = {
	"max_connections", "max_worker_processes", "max_wal_senders",
	"max_prepared_transactions", "max_locks_per_transaction"
};

/* the text fields of a record, read and written in Patroni's order */
#define MEMBER_TEXT(f) \
	{#f, offsetof(PgHaMember, f), sizeof(((PgHaMember *) 0)->f)}
static const struct
{
	const char *key;
	size_t		offset;
	size_t		size;
}			member_text[] = {
	MEMBER_TEXT(conn_url), MEMBER_TEXT(api_url), MEMBER_TEXT(state),
	MEMBER_TEXT(role), MEMBER_TEXT(version)
};
#undef MEMBER_TEXT
#define NTEXT		(sizeof(member_text) / sizeof(member_text[0]))

/* strnlen() is POSIX, not C99 */
static size_t
bounded_strlen(const char *s, size_t maxlen)
{
	const char *end = memchr(s, '\0', maxlen);

	return end != NULL ? (size_t) (end - s) : maxlen;
}

/* ----- tags */

/* the tags pg_ha reads itself, in the order it writes them */
static const char *const builtin_tags[] = {
	"nofailover", "failover_priority", "clonefrom", "noloadbalance", "nosync"
};

bool
pgha_is_builtin_tag(const char *name)
{
	for (size_t i = 0; i < sizeof(builtin_tags) / sizeof(builtin_tags[0]); i++)
		if (name != NULL && strcmp(name, builtin_tags[i]) == 0)
			return true;
	return false;
}

/*
 * Python's truth of a JSON value: Patroni reads nosync, noloadbalance and
 * clonefrom as tags.get(name, False), so "yes" or 1 count as set too.
 */
static bool
json_truthy(const json_t *v)
{
	switch (json_typeof(v))
	{
		case JSON_TRUE:
			return true;
		case JSON_STRING:
			return json_string_length(v) > 0;
		case JSON_INTEGER:
			return json_integer_value(v) != 0;
		case JSON_REAL:
			return json_real_value(v) != 0.0;
		case JSON_ARRAY:
			return json_array_size(v) > 0;
		case JSON_OBJECT:
			return json_object_size(v) > 0;
		default:
			return false;
	}
}

/* d rounded half to even, as Python's round(), clamped to an int; no libm */
static int
round_to_int(double d)
{
	long long	i;
	double		frac;

	if (d >= (double) INT_MAX)
		return INT_MAX;
	if (d <= (double) INT_MIN)
		return INT_MIN;
	i = (long long) d;			/* toward zero */
	frac = d - (double) i;
	if (frac > 0.5 || (frac == 0.5 && (i & 1)))
		i++;
	else if (frac < -0.5 || (frac == -0.5 && (i & 1)))
		i--;
	return i > INT_MAX ? INT_MAX : i < INT_MIN ? INT_MIN : (int) i;
}

/*
 * failover_priority as Patroni's parse_int() reads it: an integer, a real
 * (rounded half to even), or text holding one (strtol's base 0: "0x10" is
 * 16, "010" is 8), blanks around allowed.  False for anything else, which
 * Patroni then counts as 1.  Values beyond an int are clamped: only their
 * order matters.
 */
static bool
parse_priority(const json_t *v, int *priority)
{
	if (json_is_integer(v))
	{
		json_int_t	i = json_integer_value(v);

		*priority = i > INT_MAX ? INT_MAX : i < INT_MIN ? INT_MIN : (int) i;
		return true;
	}
	if (json_is_real(v))
	{
		double		d = json_real_value(v);

		if (d != d)
			return false;
		*priority = round_to_int(d);
		return true;
	}
	if (json_is_string(v))
	{
		char		text[64];
		size_t		n = json_string_length(v);
		const char *start;
		char	   *end;
		size_t		len;

		if (n >= sizeof(text) || memchr(json_string_value(v), '\0', n) != NULL)
			return false;
		memcpy(text, json_string_value(v), n);
		text[n] = '\0';
		start = text;
		while (*start == ' ' || *start == '\t' || *start == '\n' || *start == '\r')
			start++;
		len = strlen(start);
		while (len > 0 && (start[len - 1] == ' ' || start[len - 1] == '\t' ||
						   start[len - 1] == '\n' || start[len - 1] == '\r'))
			len--;
		if (len == 0)
			return false;
		text[(start - text) + len] = '\0';
		errno = 0;
		{
			long long	ll = strtoll(start, &end, 0);

			if (*end == '\0' && end != start)
			{
				if (errno == ERANGE)
					*priority = ll > 0 ? INT_MAX : INT_MIN;
				else
					*priority = ll > INT_MAX ? INT_MAX : ll < INT_MIN ? INT_MIN : (int) ll;
				return true;
			}
		}
		/* a real only where an integer stops at its point or exponent */
		if (*end != '.' && *end != 'e' && *end != 'E')
			return false;
		{
			double		d = strtod(start, &end);

			/* digits only: no "inf", "nan" or hex floats */
			if (*end != '\0' || end == start || strpbrk(start, "iInNxX") != NULL)
				return false;
			*priority = round_to_int(d);
			return true;
		}
	}
	return false;
}

/*
 * A member's tags object into *m.  nofailover must be a boolean, as ever:
 * a record that says something else about it is refused whole.  The other
 * tags are read as Patroni reads them, never refusing the record; tags
 * pg_ha does not read are kept as text for the listings, or dropped when
 * they do not fit.
 */
static bool
parse_tags(const json_t *tags, PgHaMember *m, char *errbuf, size_t errlen)
{
	const json_t *v;
	json_t	   *others;
	const char *key;
	json_t	   *value;
	bool		explicit_nofailover = false;

	if ((v = json_object_get(tags, "nofailover")) != NULL)
	{
		if (!json_is_boolean(v))
		{
			pgha_set_error(errbuf, errlen, "tags.nofailover is not a boolean");
			return false;
		}
		m->nofailover = json_is_true(v);
		explicit_nofailover = true;
	}
	if ((v = json_object_get(tags, "failover_priority")) != NULL &&
		parse_priority(v, &m->failover_priority))
		m->has_failover_priority = true;
	else
		m->failover_priority = 0;
	/* Patroni 3.2: no nofailover tag, a priority of 0 or less means it */
	if (!explicit_nofailover && m->has_failover_priority &&
		m->failover_priority <= 0)
		m->nofailover = true;
	m->nosync = (v = json_object_get(tags, "nosync")) != NULL && json_truthy(v);
	m->noloadbalance = (v = json_object_get(tags, "noloadbalance")) != NULL &&
		json_truthy(v);
	m->clonefrom = (v = json_object_get(tags, "clonefrom")) != NULL &&
		json_truthy(v);

	/* the others, for the listings and the REST API's filters */
	m->tags_json[0] = '\0';
	others = pgha_json_new_object();
	if (others == NULL)
		return true;			/* out of memory: the listings lose them */
	json_object_foreach((json_t *) tags, key, value)
	{
		if (!pgha_is_builtin_tag(key) &&
			json_object_set(others, key, value) != 0)
		{
			json_decref(others);
			return true;
		}
	}
	if (json_object_size(others) > 0 &&
		pgha_json_dump(others, m->tags_json, sizeof(m->tags_json)) < 0)
		m->tags_json[0] = '\0';
	json_decref(others);
	return true;
}

int
pgha_member_failover_priority(const PgHaMember *m)
{
	if (m == NULL || m->nofailover)
		return 0;
	return m->has_failover_priority ? m->failover_priority : 1;
}

/*
 * The tags object of a member's record (pgha_member_tags_json()): a new
 * reference, or NULL when out of memory or tags_json is no JSON object.
 */
static json_t *
member_tags(const PgHaMember *m)
{
	json_t	   *tags = pgha_json_new_object();
	bool		ok = tags != NULL;

	if (ok && m->nofailover)
		ok = json_object_set_new(tags, "nofailover", json_true()) == 0;
	else if (ok && m->has_failover_priority && m->failover_priority <= 0)
	{
		/* said so explicitly, or the priority would mean nofailover */
		ok = json_object_set_new(tags, "nofailover", json_false()) == 0;
	}
	if (ok && m->has_failover_priority)
		ok = json_object_set_new(tags, "failover_priority",
								 json_integer(m->failover_priority)) == 0;
	if (ok && m->clonefrom)
		ok = json_object_set_new(tags, "clonefrom", json_true()) == 0;
	if (ok && m->noloadbalance)
		ok = json_object_set_new(tags, "noloadbalance", json_true()) == 0;
	if (ok && m->nosync)
		ok = json_object_set_new(tags, "nosync", json_true()) == 0;
	if (ok && bounded_strlen(m->tags_json, sizeof(m->tags_json)) == sizeof(m->tags_json))
		ok = false;				/* not terminated */
	if (ok && m->tags_json[0] != '\0')
	{
		json_t	   *others = json_loads(m->tags_json, JSON_REJECT_DUPLICATES, NULL);
		const char *key;
		json_t	   *value;

		ok = others != NULL && json_is_object(others);
		if (ok)
		{
			json_object_foreach(others, key, value)
			{
				/* a tag pg_ha reads says only what the fields say */
				if (!pgha_is_builtin_tag(key) &&
					json_object_set(tags, key, value) != 0)
				{
					ok = false;
					break;
				}
			}
		}
		if (others != NULL)
			json_decref(others);
	}
	if (!ok)
	{
		if (tags != NULL)
			json_decref(tags);
		return NULL;
	}
	return tags;
}

int
pgha_member_tags_json(const PgHaMember *m, char *buf, size_t buflen)
{
	json_t	   *tags;
	int			n;

	if (m == NULL || buf == NULL || buflen == 0)
		return -1;
	buf[0] = '\0';
	tags = member_tags(m);
	if (tags == NULL)
		return -1;
	n = pgha_json_dump(tags, buf, buflen);
	json_decref(tags);
	if (n < 0)
		buf[0] = '\0';
	return n;
}

bool
pgha_parse_user_tags(const char *text, char *canon, size_t canonlen,
					 char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_error_t jerr;
	const char *key;
	json_t	   *value;
	char		quoted[PGHA_QUOTE_LEN];
	const char *p;
	bool		ok = false;
	int			n;

	if (canon == NULL || canonlen == 0)
	{
		pgha_set_error(errbuf, errlen, "invalid arguments to pgha_parse_user_tags");
		return false;
	}
	canon[0] = '\0';
	if (text == NULL)
		return true;
	for (p = text; *p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'; p++)
		;
	if (*p == '\0')
		return true;			/* no tags */
	root = json_loads(text, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
	{
		pgha_set_error(errbuf, errlen, "pg_ha.tags is not valid JSON: %s",
					   pgha_quote_text(jerr.text, strlen(jerr.text), quoted, sizeof(quoted)));
		return false;
	}
	if (!json_is_object(root))
	{
		pgha_set_error(errbuf, errlen,
					   "pg_ha.tags must be a JSON object, as in {\"dc\": \"eu-1\", \"rack\": 3}");
		goto done;
	}
	json_object_foreach(root, key, value)
	{
		if (pgha_is_builtin_tag(key))
		{
			pgha_set_error(errbuf, errlen,
						   "tag \"%s\" has a setting of its own: use pg_ha.%s instead",
						   key, key);
			goto done;
		}
		/* Patroni's cascading: pg_ha streams from the leader only */
		if (strcmp(key, "replicatefrom") == 0 || strcmp(key, "nostream") == 0)
		{
			pgha_set_error(errbuf, errlen,
						   "tag \"%s\" is not supported: pg_ha replicas stream from the leader",
						   key);
			goto done;
		}
		if (!pgha_valid_name(key))
		{
			pgha_set_error(errbuf, errlen,
						   "tag name \"%s\" is not valid: letters, digits, \"_\", \".\" and \"-\", at most %d of them",
						   pgha_quote_text(key, strlen(key), quoted, sizeof(quoted)),
						   PGHA_NAME_LEN - 1);
			goto done;
		}
		if (!json_is_string(value) && !json_is_number(value) &&
			!json_is_boolean(value))
		{
			pgha_set_error(errbuf, errlen,
						   "tag \"%s\" must be a string, a number or a boolean", key);
			goto done;
		}
	}
	n = json_object_size(root) > 0 ? pgha_json_dump(root, canon, canonlen) : 0;
	if (n < 0)
	{
		canon[0] = '\0';
		pgha_set_error(errbuf, errlen,
					   "pg_ha.tags is too long: at most %zu bytes of JSON in compact form",
					   canonlen - 1);
		goto done;
	}
	ok = true;

done:
	json_decref(root);
	return ok;
}

/*
 * A time of a member record (an ISO 8601 string) as epoch ms, 0 when it is
 * absent or unusable: only a time that writes back the same, so that
 * records round-trip.
 */
static int64_t
record_time_ms(const json_t *v)
{
	int64_t		ms;
	char		iso[PGHA_ISO_TIME_LEN];

	if (v == NULL || !json_is_string(v) ||
		json_string_length(v) >= PGHA_ISO_TIME_LEN * 2 ||
		strlen(json_string_value(v)) != json_string_length(v))
		return 0;
	if (pgha_parse_iso_time(json_string_value(v), &ms) && ms > 0 &&
		pgha_format_iso_time(ms, iso, sizeof(iso)))
		return ms;
	return 0;
}

bool
pgha_parse_member(const char *json, size_t len, PgHaMember *m,
				  char *errbuf, size_t errlen)
{
	PgHaMember	tmp;
	json_t	   *root;
	const json_t *v;
	long long	i;
	bool		ok = false;

	if (m == NULL)
	{
		pgha_set_error(errbuf, errlen, "invalid arguments to pgha_parse_member");
		return false;
	}
	root = pgha_json_load_as(json, len, "member record", JSON_OBJECT,
							 errbuf, errlen);
	if (root == NULL)
		return false;

	/* absent fields stay empty; *m changes only on success */
	memset(&tmp, 0, sizeof(tmp));

	for (size_t k = 0; k < NTEXT; k++)
	{
		if ((v = json_object_get(root, member_text[k].key)) != NULL &&
			!pgha_json_copy_string(v, member_text[k].key,
								   (char *) &tmp + member_text[k].offset,
								   member_text[k].size, errbuf, errlen))
			goto done;
	}

	if ((v = json_object_get(root, "xlog_location")) != NULL)
	{
		if (!pgha_json_get_integer(v, "xlog_location", 0, INT64_MAX, &i,
								   errbuf, errlen))
			goto done;
		tmp.has_xlog = true;
		tmp.xlog_location = (int64_t) i;
	}
	if ((v = json_object_get(root, "timeline")) != NULL)
	{
		if (!pgha_json_get_integer(v, "timeline", 0, UINT32_MAX, &i,
								   errbuf, errlen))
			goto done;
		tmp.timeline = (uint32_t) i;
	}
	if ((v = json_object_get(root, "pending_restart")) != NULL)
	{
		if (!json_is_boolean(v))
		{
			pgha_set_error(errbuf, errlen, "pending_restart is not a boolean");
			goto done;
		}
		tmp.pending_restart = json_is_true(v);
	}
	if ((v = json_object_get(root, "pause")) != NULL)
		tmp.pause = json_is_true(v);
	if ((v = json_object_get(root, "hot_standby_parameters")) != NULL)
	{
		int			found = 0;

		if (!json_is_object(v))
		{
			pgha_set_error(errbuf, errlen, "hot_standby_parameters is not a JSON object");
			goto done;
		}
		for (int k = 0; k < PGHA_HS_NPARAMS; k++)
		{
			const json_t *pv = json_object_get(v, pgha_hs_param_names[k]);
			char		field[PGHA_NAME_LEN + 32];

			if (pv == NULL)
				continue;
			snprintf(field, sizeof(field), "hot_standby_parameters.%s",
					 pgha_hs_param_names[k]);
			if (!pgha_json_get_integer(pv, field, 0, INT32_MAX, &i, errbuf, errlen))
				goto done;
			tmp.hs_values[k] = (int64_t) i;
			found++;
		}
		/* only a complete set can be judged */
		tmp.has_hs_values = found == PGHA_HS_NPARAMS;
	}
	if ((v = json_object_get(root, "tags")) != NULL)
	{
		if (!json_is_object(v))
		{
			pgha_set_error(errbuf, errlen, "tags is not a JSON object");
			goto done;
		}
		if (!parse_tags(v, &tmp, errbuf, errlen))
			goto done;
	}

	/*
	 * last_seen (pg_ha's stopped records) only informs the listings: a bad
	 * one is left out rather than making the record unreadable.
	 */
	tmp.last_seen_ms = record_time_ms(json_object_get(root, "last_seen"));

	/*
	 * So are pg_ha's postmaster_start_time and Patroni's scheduled_restart
	 * (whose other fields, Patroni's restart filters, pg_ha does not use).
	 */
	tmp.start_ms = record_time_ms(json_object_get(root, "postmaster_start_time"));
	if ((v = json_object_get(root, "scheduled_restart")) != NULL && json_is_object(v))
	{
		tmp.scheduled_restart_ms = record_time_ms(json_object_get(v, "schedule"));
		tmp.has_scheduled_restart = tmp.scheduled_restart_ms > 0;
		tmp.scheduled_restart_pending = tmp.has_scheduled_restart &&
			json_is_true(json_object_get(v, "restart_pending"));
	}

	memcpy(tmp.name, m->name, sizeof(tmp.name));
	memcpy(tmp.session, m->session, sizeof(tmp.session));
	tmp.modify_index = m->modify_index;
	*m = tmp;
	ok = true;

done:
	json_decref(root);
	return ok;
}

/*
 * Add a string member from a fixed buffer of maxlen bytes.  Fails on an
 * unterminated buffer (it would not fit when read back), on invalid UTF-8
 * and on allocation errors.
 */
static bool
set_string(json_t *obj, const char *key, const char *s, size_t maxlen)
{
	size_t		n = bounded_strlen(s, maxlen);

	if (n == maxlen)
		return false;
	return json_object_set_new(obj, key, json_stringn(s, n)) == 0;
}

/*
 * A time of a member record, ms > 0 only; a time we cannot write is left
 * out, as the reader would.  False on allocation errors.
 */
static bool
set_record_time(json_t *root, const char *key, int64_t ms)
{
	char		iso[PGHA_ISO_TIME_LEN];

	if (ms <= 0 || !pgha_format_iso_time(ms, iso, sizeof(iso)))
		return true;
	return json_object_set_new(root, key, json_string(iso)) == 0;
}

int
pgha_member_to_json(const PgHaMember *m, char *buf, size_t buflen)
{
	json_t	   *root;
	json_t	   *tags;
	size_t		n;
	bool		ok;

	if (m == NULL || buf == NULL || buflen == 0)
		return -1;
	buf[0] = '\0';

	/* never write what pgha_parse_member would refuse to read */
	if (m->has_xlog && m->xlog_location < 0)
		return -1;

	root = pgha_json_new_object();
	if (root == NULL)
		return -1;

	/* Patroni's key order, so records look alike in Consul's UI */
	ok = true;
	for (size_t k = 0; ok && k < NTEXT; k++)
		ok = set_string(root, member_text[k].key,
						(const char *) m + member_text[k].offset,
						member_text[k].size);
	if (ok && m->has_xlog)
	{
		json_int_t	xlog = (json_int_t) m->xlog_location;

		ok = json_object_set_new(root, "xlog_location",
								 json_integer(xlog)) == 0;
	}
	if (ok && m->timeline > 0)
		ok = json_object_set_new(root, "timeline",
								 json_integer((json_int_t) m->timeline)) == 0;
	if (ok && m->pending_restart)
		ok = json_object_set_new(root, "pending_restart", json_true()) == 0;
	if (ok && m->pause)
		ok = json_object_set_new(root, "pause", json_true()) == 0;
	if (ok && m->has_hs_values)
	{
		json_t	   *hs = pgha_json_new_object();

		ok = json_object_set_new(root, "hot_standby_parameters", hs) == 0;
		for (int k = 0; ok && k < PGHA_HS_NPARAMS; k++)
			ok = m->hs_values[k] >= 0 &&
				json_object_set_new(hs, pgha_hs_param_names[k],
									json_integer((json_int_t) m->hs_values[k])) == 0;
	}
	if (ok)
	{
		tags = member_tags(m);
		if (tags == NULL)
			ok = false;
		else if (json_object_size(tags) == 0)
			json_decref(tags);
		else
			/* json_object_set_new() takes the reference even when it fails */
			ok = json_object_set_new(root, "tags", tags) == 0;
	}
	if (ok && m->has_scheduled_restart)
	{
		char		iso[PGHA_ISO_TIME_LEN];
		json_t	   *sr = pgha_json_new_object();

		/* Patroni's fields; a time we cannot write is left out, as the reader would */
		ok = sr != NULL;
		if (ok && pgha_format_iso_time(m->scheduled_restart_ms, iso, sizeof(iso)))
		{
			ok = json_object_set_new(sr, "schedule", json_string(iso)) == 0;
			if (ok && m->scheduled_restart_pending)
				ok = json_object_set_new(sr, "restart_pending", json_true()) == 0;
			if (ok && m->start_ms > 0 &&
				pgha_format_iso_time(m->start_ms, iso, sizeof(iso)))
				ok = json_object_set_new(sr, "postmaster_start_time",
										 json_string(iso)) == 0;
			if (ok)
			{
				ok = json_object_set_new(root, "scheduled_restart", sr) == 0;
				sr = NULL;
			}
		}
		if (sr != NULL)
			json_decref(sr);
	}
	ok = ok && set_record_time(root, "last_seen", m->last_seen_ms) &&
		set_record_time(root, "postmaster_start_time", m->start_ms);
	if (!ok)
	{
		json_decref(root);
		return -1;
	}

	n = json_dumpb(root, buf, buflen, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	/* json_dumpb returns the size needed; we also need a NUL */
	if (n == 0 || n >= buflen || n > INT_MAX)
	{
		buf[0] = '\0';
		return -1;
	}
	buf[n] = '\0';
	return (int) n;
}

int
pgha_stopped_member_json(const PgHaMember *last, int64_t last_seen_ms,
						 char *buf, size_t buflen)
{
	PgHaMember	m;

	if (last == NULL)
		return -1;
	/* what identifies and reaches the member; nothing about its data */
	memset(&m, 0, sizeof(m));
	memcpy(m.name, last->name, sizeof(m.name));
	memcpy(m.conn_url, last->conn_url, sizeof(m.conn_url));
	memcpy(m.api_url, last->api_url, sizeof(m.api_url));
	memcpy(m.role, last->role, sizeof(m.role));
	memcpy(m.version, last->version, sizeof(m.version));
	snprintf(m.state, sizeof(m.state), "stopped");
	/* its tags: what it was (nofailover, clonefrom...) stays listed */
	m.nofailover = last->nofailover;
	m.nosync = last->nosync;
	m.noloadbalance = last->noloadbalance;
	m.clonefrom = last->clonefrom;
	m.has_failover_priority = last->has_failover_priority;
	m.failover_priority = last->failover_priority;
	memcpy(m.tags_json, last->tags_json, sizeof(m.tags_json));
	m.last_seen_ms = last_seen_ms;
	return pgha_member_to_json(&m, buf, buflen);
}
