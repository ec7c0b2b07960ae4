/*-------------------------------------------------------------------------
 *
 * cluster.c
 *	  Build the cluster model from Consul's recursive KV listing of a
 *	  cluster (cluster.h).
 *
 * One GET /v1/kv/<namespace>/<cluster>/?recurse gives every key pg_ha and
 * Patroni keep for a cluster; this file turns it into the fixed-size
 * PgHaCluster that the HA decision, the REST API, the SQL views and
 * pg_ha_ctl read, and looks members up in it.  Each key is read by its
 * handler below; the formats of the keys' values, both ways, live in the
 * files of their concerns (member.c, config_key.c, sync_key.c,
 * history.c), Consul's own answers in consul_parse.c.
 *
 * Everything parsed here is outside data: a buggy or hostile Consul, or a
 * Patroni of another version, may send anything.  So every handler checks
 * types, lengths and ranges, rejects values that do not fit the buffers
 * instead of truncating them, never reads past the length it was given
 * (NUL bytes included) and frees whatever it allocated on every path.  A
 * bad key is skipped with a warning (quoted after replacing unprintable
 * bytes, so safe to log); only a body that is no listing fails the read.
 *
 * What this file is not for: talking HTTP, deciding anything about
 * failover, or knowing about PostgreSQL.  It uses libc and jansson only,
 * so that the backend, the CLI, the unit tests and fuzzers can all link it.
 *
 * src/common/cluster.c
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "config_key.h"
#include "consul_parse.h"
#include "iso_time.h"
#include "json_util.h"
#include "leader_key.h"
#include "member.h"
#include "names.h"

#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MEMBERS_DIR			"members/"

/* Why a value from the listing could not be used. */
typedef enum
{
	VALUE_OK,
	VALUE_BAD,					/* bad record, a warning has been added */
	VALUE_OOM					/* out of memory: give up on the listing */
} ValueResult;

static void add_warning(PgHaCluster *c, const char *fmt,...)
			PGHA_PRINTF(2, 3);

/*
 * Record a skipped record.  Only the first message is kept: it is usually
 * the cause of the others and the buffer is small.
 */
static void
add_warning(PgHaCluster *c, const char *fmt,...)
{
	va_list		ap;

	if (c->nwarnings == 0)
	{
		va_start(ap, fmt);
		vsnprintf(c->warning, sizeof(c->warning), fmt, ap);
		va_end(ap);
	}
	if (c->nwarnings < INT_MAX)
		c->nwarnings++;
}

/*
 * The JSON object stored in a key: NULL, with a warning and nothing else
 * changed, when the value is not one.
 */
static json_t *
load_object(PgHaCluster *c, const char *value, size_t len, const char *what)
{
	char		err[PGHA_ERR_LEN];
	json_t	   *root = pgha_json_load_as(value, len, what, JSON_OBJECT,
										 err, sizeof(err));

	if (root == NULL)
		add_warning(c, "%s", err);
	return root;
}

/*
 * Decode the base64 "Value" of a KV entry into a malloc'd, NUL-terminated
 * buffer.  A missing or null Value (Consul's empty value) gives "".  what
 * names the key in warnings.
 */
static ValueResult
entry_value(PgHaCluster *c, const json_t *entry, const char *what,
			char **value, size_t *valuelen)
{
	switch (pgha_kv_entry_value(entry, value, valuelen))
	{
		case PGHA_KV_VALUE_OK:
			break;
		case PGHA_KV_VALUE_NOT_STRING:
			add_warning(c, "%s: Value is not a string", what);
			return VALUE_BAD;
		case PGHA_KV_VALUE_NOT_BASE64:
			add_warning(c, "%s: Value is not valid base64", what);
			return VALUE_BAD;
		case PGHA_KV_VALUE_OOM:
			return VALUE_OOM;
	}
	return VALUE_OK;
}

/*
 * The JSON object stored in a KV entry into *root (the caller's to
 * decref): NULL, with a warning, when the value is not one.  An empty
 * value is no object either; with empty_ok it is not worth a warning.
 */
static ValueResult
entry_object(PgHaCluster *c, const json_t *entry, const char *what,
			 bool empty_ok, json_t **root)
{
	char	   *value;
	size_t		len;
	ValueResult r;

	*root = NULL;
	if ((r = entry_value(c, entry, what, &value, &len)) != VALUE_OK)
		return r;
	if (len > 0 || !empty_ok)
		*root = load_object(c, value, len, what);
	free(value);
	return VALUE_OK;
}

/* A warning that key what holds value (len bytes), which is not not_a. */
static void
warn_value(PgHaCluster *c, const char *what, const char *value, size_t len,
		   const char *not_a)
{
	char		quoted[PGHA_QUOTE_LEN];

	add_warning(c, "%s: \"%s\" is not %s", what,
				pgha_quote_text(value, len, quoted, sizeof(quoted)), not_a);
}

/*
 * Read the optional "Session" of a KV entry into dst (empty when the key is
 * not locked).  False, with a warning, when it is malformed.
 */
static bool
entry_session(PgHaCluster *c, const json_t *entry, const char *what,
			  char *dst, size_t dstlen)
{
	const json_t *jsession = json_object_get(entry, "Session");
	const char *s;
	size_t		n;

	dst[0] = '\0';
	if (jsession == NULL || json_is_null(jsession))
		return true;
	if (!json_is_string(jsession))
	{
		add_warning(c, "%s: Session is not a string", what);
		return false;
	}
	s = json_string_value(jsession);
	n = json_string_length(jsession);
	if (!pgha_valid_session_id(s, n, dstlen))
	{
		char		quoted[PGHA_QUOTE_LEN];

		add_warning(c, "%s: Session \"%s\" is not a valid session ID", what,
					pgha_quote_text(s, n, quoted, sizeof(quoted)));
		return false;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* initialize: the system identifier as decimal text */
static ValueResult
handle_initialize(PgHaCluster *c, const json_t *entry)
{
	char	   *value;
	size_t		len;
	uint64_t	sysid;
	ValueResult r;

	if ((r = entry_value(c, entry, "initialize", &value, &len)) != VALUE_OK)
		return r;

	/*
	 * Patroni writes an empty value to take the initialization lock before
	 * bootstrapping, then the system identifier.  The key existing is what
	 * matters then: somebody is initializing, nobody else may.
	 */
	if (len == 0)
	{
		c->has_initialize = true;
		c->initialize[0] = '\0';
	}
	else if (len >= sizeof(c->initialize) ||
			 !pgha_parse_decimal(value, len, UINT64_MAX, &sysid))
		warn_value(c, "initialize", value, len, "a system identifier");
	else
	{
		c->has_initialize = true;
		memcpy(c->initialize, value, len + 1);
	}
	free(value);
	return VALUE_OK;
}

/* leader: the leader's member name, locked by its session */
static ValueResult
handle_leader(PgHaCluster *c, const json_t *entry)
{
	const json_t *jindex = json_object_get(entry, "ModifyIndex");
	char	   *value;
	size_t		len;
	ValueResult r;

	/* the index and session serve for check-and-set even without a name */
	if (jindex != NULL)
	{
		if (!json_is_integer(jindex) || json_integer_value(jindex) < 0)
		{
			add_warning(c, "leader: ModifyIndex is not a non-negative integer");
			return VALUE_BAD;
		}
		c->leader_modify_index = (uint64_t) json_integer_value(jindex);
	}
	entry_session(c, entry, "leader", c->leader_session,
				  sizeof(c->leader_session));
	{
		const json_t *jflags = json_object_get(entry, "Flags");

		/* json_int_t is signed: flags past INT64_MAX are none of ours */
		if (json_is_integer(jflags) && json_integer_value(jflags) > 0)
			c->leader_ttl_ms = PGHA_LEADER_FLAGS_TTL((uint64_t) json_integer_value(jflags));
		/* no ttl is longer than pg_ha.ttl's maximum, an hour */
		if (c->leader_ttl_ms > 3600 * 1000)
			c->leader_ttl_ms = 3600 * 1000;
	}

	if ((r = entry_value(c, entry, "leader", &value, &len)) != VALUE_OK)
		return r;
	/* an empty leader key means no leader, and is no error */
	if (len > 0)
	{
		if (len >= sizeof(c->leader) || strlen(value) != len ||
			!pgha_valid_name(value))
			warn_value(c, "leader", value, len, "a valid member name");
		else
		{
			c->has_leader = true;
			memcpy(c->leader, value, len + 1);
		}
	}
	free(value);
	return VALUE_OK;
}

/*
 * A switch of the config key: JSON true/false, or what PostgreSQL reads as
 * a boolean ("on", "off", "true"...), as an operator may have typed it.
 * Anything else is false, with a warning: a switch we cannot read must not
 * turn on behaviour nobody asked for.
 */
static bool
config_switch(PgHaCluster *c, const json_t *root, const char *name)
{
	const json_t *v = json_object_get(root, name);

	if (v == NULL || json_is_null(v) || json_is_false(v))
		return false;
	if (json_is_true(v))
		return true;
	if (json_is_integer(v))
		return json_integer_value(v) != 0;
	if (json_is_string(v))
	{
		bool		on;

		if (pgha_switch_word(json_string_value(v), &on))
			return on;
	}
	add_warning(c, "config: %s is not a boolean", name);
	return false;
}

static void
config_sync_switches(PgHaCluster *c, const json_t *root)
{
	const json_t *count = json_object_get(root, "synchronous_node_count");

	int			before = c->nwarnings;

	c->sync_mode = config_switch(c, root, "synchronous_mode");
	/* a switch that is there but unreadable: not the same as off */
	c->sync_mode_unreadable = c->nwarnings > before;
	c->sync_mode_strict = config_switch(c, root, "synchronous_mode_strict");
	c->sync_node_count = 1;
	if (count != NULL && !json_is_null(count))
	{
		if (json_is_integer(count) && json_integer_value(count) >= 1 &&
			json_integer_value(count) <= PGHA_MAX_SYNC)
			c->sync_node_count = (int) json_integer_value(count);
		else
			add_warning(c, "config: synchronous_node_count is not an integer from 1 to %d",
						PGHA_MAX_SYNC);
	}
}

/*
 * sync: {"leader": <name>, "sync_standby": "<name>[,<name>...]" or null}.
 * A key that exists but cannot be read is remembered as such: in
 * synchronous mode nobody may then take over automatically.
 */
static ValueResult
handle_sync(PgHaCluster *c, const json_t *entry)
{
	const json_t *jindex = json_object_get(entry, "ModifyIndex");
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	const json_t *leader;
	const json_t *standby;
	bool		ok = true;

	c->sync_key_exists = true;
	if (jindex != NULL && json_is_integer(jindex) && json_integer_value(jindex) >= 0)
		c->sync_modify_index = (uint64_t) json_integer_value(jindex);
	if ((r = entry_object(c, entry, "sync", false, &root)) != VALUE_OK ||
		root == NULL)
		return r;
	leader = json_object_get(root, "leader");
	standby = json_object_get(root, "sync_standby");
	if (leader != NULL && !json_is_null(leader))
		ok = pgha_json_copy_string(leader, "sync leader", c->sync_leader,
								   sizeof(c->sync_leader), err, sizeof(err)) &&
			pgha_valid_name(c->sync_leader);
	if (ok && standby != NULL && !json_is_null(standby))
	{
		const char *s;
		size_t		n;

		if (!json_is_string(standby))
			ok = false;
		else
		{
			s = json_string_value(standby);
			n = json_string_length(standby);
			while (ok && n > 0)
			{
				const char *comma = memchr(s, ',', n);
				size_t		part = comma ? (size_t) (comma - s) : n;

				if (part == 0 || part >= PGHA_NAME_LEN || c->nsync >= PGHA_MAX_SYNC)
					ok = false;
				else
				{
					memcpy(c->sync_standby[c->nsync], s, part);
					c->sync_standby[c->nsync][part] = '\0';
					ok = pgha_valid_name(c->sync_standby[c->nsync]);
					c->nsync++;
				}
				s += comma ? part + 1 : part;
				n -= comma ? part + 1 : part;
				if (comma && n == 0)
					ok = false;		/* a trailing comma */
			}
		}
	}
	if (ok)
		c->has_sync = true;
	else
	{
		c->sync_leader[0] = '\0';
		c->nsync = 0;
		add_warning(c, "sync: not a valid synchronous state (leader, sync_standby)");
	}
	json_decref(root);
	return VALUE_OK;
}

/* config: the dynamic configuration, a JSON object */
static ValueResult
handle_config(PgHaCluster *c, const json_t *entry)
{
	char	   *value;
	size_t		len;
	json_t	   *root;
	const json_t *lag;
	ValueResult r;

	c->has_config = true;
	if ((r = entry_value(c, entry, "config", &value, &len)) != VALUE_OK)
		return r;
	root = load_object(c, value, len, "config");
	if (root == NULL)
	{
		free(value);
		return VALUE_OK;
	}
	lag = json_object_get(root, "maximum_lag_on_failover");
	c->config_valid = true;
	c->paused = json_is_true(json_object_get(root, "pause"));
	config_sync_switches(c, root);
	if (len < sizeof(c->config_json))
	{
		memcpy(c->config_json, value, len);
		c->config_json[len] = '\0';
	}
	else
		add_warning(c, "config is larger than %d bytes", PGHA_CONFIG_LEN - 1);
	if (lag != NULL && json_is_integer(lag) && json_integer_value(lag) >= 0)
		c->max_lag_on_failover = (int64_t) json_integer_value(lag);
	else if (lag != NULL)
		add_warning(c, "config: maximum_lag_on_failover is not a non-negative integer");
	json_decref(root);
	free(value);
	return VALUE_OK;
}

/* status: {"optime": <bytes>, ...} as written by Patroni 2.1 and later */
static ValueResult
handle_status(PgHaCluster *c, const json_t *entry,
			  bool *has_optime, int64_t *optime)
{
	json_t	   *root;
	const json_t *jopt;
	char		err[PGHA_ERR_LEN];
	long long	v;
	ValueResult r;

	if ((r = entry_object(c, entry, "status", false, &root)) != VALUE_OK ||
		root == NULL)
		return r;
	if ((jopt = json_object_get(root, "optime")) != NULL)
	{
		if (pgha_json_get_integer(jopt, "status: optime", 0, INT64_MAX, &v,
								  err, sizeof(err)))
		{
			*has_optime = true;
			*optime = (int64_t) v;
		}
		else
			add_warning(c, "%s", err);
	}
	json_decref(root);
	return VALUE_OK;
}

/* optime/leader: the leader's last LSN as decimal text (older Patroni) */
static ValueResult
handle_optime_leader(PgHaCluster *c, const json_t *entry,
					 bool *has_optime, int64_t *optime)
{
	char	   *value;
	size_t		len;
	uint64_t	v;
	ValueResult r;

	if ((r = entry_value(c, entry, "optime/leader", &value, &len)) != VALUE_OK)
		return r;
	if (pgha_parse_decimal(value, len, INT64_MAX, &v))
	{
		*has_optime = true;
		*optime = (int64_t) v;
	}
	else
		warn_value(c, "optime/leader", value, len, "a WAL position");
	free(value);
	return VALUE_OK;
}

/* failover: a pending manual switchover or failover when non-empty */
static ValueResult
handle_failover(PgHaCluster *c, const json_t *entry)
{
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	const json_t *jkey_index = json_object_get(entry, "ModifyIndex");

	if (jkey_index != NULL && json_is_integer(jkey_index) &&
		json_integer_value(jkey_index) > 0)
		c->failover_key_index = (uint64_t) json_integer_value(jkey_index);
	/* an empty value is no request, as {} is */
	if ((r = entry_object(c, entry, "failover", true, &root)) != VALUE_OK ||
		root == NULL)
		return r;
	if (json_object_size(root) > 0)
	{
		const json_t *leader = json_object_get(root, "leader");
		const json_t *member = json_object_get(root, "member");
		const json_t *at = json_object_get(root, "scheduled_at");
		const json_t *jindex = json_object_get(entry, "ModifyIndex");
		bool		ok = true;

		if (leader != NULL && !json_is_null(leader))
			ok = pgha_json_copy_string(leader, "failover leader", c->failover_leader,
									   sizeof(c->failover_leader), err, sizeof(err)) &&
				(c->failover_leader[0] == '\0' || pgha_valid_name(c->failover_leader));
		if (ok && member != NULL && !json_is_null(member))
			ok = pgha_json_copy_string(member, "failover member", c->failover_member,
									   sizeof(c->failover_member), err, sizeof(err)) &&
				(c->failover_member[0] == '\0' || pgha_valid_name(c->failover_member));
		if (ok && at != NULL && !json_is_null(at))
			ok = json_is_string(at) &&
				pgha_parse_iso_time(json_string_value(at), &c->failover_scheduled_ms) &&
				(c->failover_scheduled = true);
		if (jindex != NULL && json_is_integer(jindex) && json_integer_value(jindex) >= 0)
			c->failover_modify_index = (uint64_t) json_integer_value(jindex);
		if (ok)
			c->has_failover = true;
		else
		{
			/* a request we cannot read is no request, but it is reported */
			c->failover_leader[0] = c->failover_member[0] = '\0';
			c->failover_scheduled = false;
			add_warning(c, "failover: not a valid request (leader, member, scheduled_at)");
		}
	}
	json_decref(root);
	return VALUE_OK;
}

/*
 * The promotion key.  A value that cannot be read is reported and counts
 * as no key; its index is kept, so that the next promotion replaces it.
 */
static ValueResult
handle_promotion(PgHaCluster *c, const json_t *entry)
{
	const json_t *jindex = json_object_get(entry, "ModifyIndex");
	const json_t *tli;
	const json_t *member;
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	bool		ok;

	if (jindex != NULL && json_is_integer(jindex) && json_integer_value(jindex) > 0)
		c->promotion_index = (uint64_t) json_integer_value(jindex);
	if ((r = entry_object(c, entry, "promotion", false, &root)) != VALUE_OK ||
		root == NULL)
		return r;
	tli = json_object_get(root, "timeline");
	member = json_object_get(root, "member");
	ok = tli != NULL && json_is_integer(tli) &&
		json_integer_value(tli) >= 1 && json_integer_value(tli) <= UINT32_MAX;
	if (ok && member != NULL && !json_is_null(member))
		ok = pgha_json_copy_string(member, "promotion member", c->promotion_member,
								   sizeof(c->promotion_member), err, sizeof(err)) &&
			pgha_valid_name(c->promotion_member);
	if (ok)
	{
		c->has_promotion = true;
		c->promotion_timeline = (uint32_t) json_integer_value(tli);
	}
	else
	{
		c->promotion_member[0] = '\0';
		add_warning(c, "promotion: not a valid record (timeline, member)");
	}
	json_decref(root);
	return VALUE_OK;
}

/* restart/<name>: a request to restart that member */
static ValueResult
handle_restart(PgHaCluster *c, const json_t *entry, const char *name,
			   size_t namelen)
{
	char	   *value;
	size_t		len;
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	const json_t *jindex = json_object_get(entry, "ModifyIndex");
	int			i = c->nrestarts;

	if (i >= PGHA_MAX_MEMBERS || namelen >= PGHA_NAME_LEN ||
		memchr(name, '/', namelen) != NULL)
		return VALUE_OK;
	memcpy(c->restarts[i].member, name, namelen);
	c->restarts[i].member[namelen] = '\0';
	if (!pgha_valid_name(c->restarts[i].member))
		return VALUE_OK;
	if ((r = entry_value(c, entry, "restart", &value, &len)) != VALUE_OK)
		return r;
	root = len > 0 ? pgha_json_load(value, len, "restart", err, sizeof(err)) : pgha_json_new_object();
	free(value);
	if (root == NULL || !json_is_object(root))
	{
		add_warning(c, "restart/%s: not a JSON object", c->restarts[i].member);
		if (root)
			json_decref(root);
		return VALUE_OK;
	}
	c->restarts[i].pending_only = json_is_true(json_object_get(root, "pending_only"));
	c->restarts[i].scheduled = false;
	if (json_is_string(json_object_get(root, "scheduled_at")))
		c->restarts[i].scheduled =
			pgha_parse_iso_time(json_string_value(json_object_get(root, "scheduled_at")),
								&c->restarts[i].scheduled_ms);
	c->restarts[i].modify_index =
		(jindex && json_is_integer(jindex) && json_integer_value(jindex) >= 0) ?
		(uint64_t) json_integer_value(jindex) : 0;
	c->restarts[i].wait_for[0] = '\0';
	{
		const json_t *wf = json_object_get(root, "wait_for");
		const json_t *rs = json_object_get(root, "restarting");

		/* a name we cannot use is no order: the worker then judges alone */
		if (json_is_string(wf) && json_string_length(wf) < PGHA_NAME_LEN &&
			pgha_valid_name(json_string_value(wf)))
			strcpy(c->restarts[i].wait_for, json_string_value(wf));
		c->restarts[i].any_order = json_is_true(json_object_get(root, "any_order"));
		c->restarts[i].restarting = (json_is_integer(rs) && json_integer_value(rs) > 0) ?
			(int64_t) json_integer_value(rs) : 0;
	}
	json_decref(root);
	c->nrestarts++;
	return VALUE_OK;
}

/*
 * members/<name>: one member record.  A record locked by a session is a
 * live member; one that no session holds is a stopped member's (the
 * leader's record of it, member_record.c), kept apart in stopped[] so that
 * nothing but the listings ever sees it.
 */
static ValueResult
handle_member(PgHaCluster *c, const json_t *entry,
			  const char *name, size_t namelen)
{
	PgHaMember	m;
	char		what[PGHA_NAME_LEN + 16];
	char		quoted[PGHA_QUOTE_LEN];
	char		err[PGHA_ERR_LEN];
	const json_t *jindex;
	char	   *value;
	size_t		len;
	bool		live;
	ValueResult r;

	/* the name goes into URLs and keys: same rules as our own names */
	memset(&m, 0, sizeof(m));
	if (namelen >= sizeof(m.name))
	{
		add_warning(c, "member \"%s\": name is too long (%zu bytes, at most %zu)",
					pgha_quote_text(name, namelen, quoted, sizeof(quoted)),
					namelen, sizeof(m.name) - 1);
		return VALUE_BAD;
	}
	memcpy(m.name, name, namelen);
	m.name[namelen] = '\0';
	if (strlen(m.name) != namelen || !pgha_valid_name(m.name))
	{
		add_warning(c, "member \"%s\": not a valid member name",
					pgha_quote_text(name, namelen, quoted, sizeof(quoted)));
		return VALUE_BAD;
	}
	snprintf(what, sizeof(what), "member \"%s\"", m.name);

	if (pgha_find_member(c, m.name) != NULL ||
		pgha_find_stopped_member(c, m.name) != NULL)
	{
		add_warning(c, "%s: listed twice", what);
		return VALUE_BAD;
	}
	if (!entry_session(c, entry, what, m.session, sizeof(m.session)))
		return VALUE_BAD;
	live = m.session[0] != '\0';
	/* stopped records have room of their own: they never crowd out a live one */
	if (live ? c->nmembers >= PGHA_MAX_MEMBERS : c->nstopped >= PGHA_MAX_MEMBERS)
	{
		add_warning(c, live ? "%s: too many members, only %d are used" :
					"%s: too many stopped members, only %d are listed",
					what, PGHA_MAX_MEMBERS);
		return VALUE_BAD;
	}
	/* for a check-and-set delete of a stopped record (remove-member) */
	jindex = json_object_get(entry, "ModifyIndex");
	if (json_is_integer(jindex) && json_integer_value(jindex) >= 0)
		m.modify_index = (uint64_t) json_integer_value(jindex);

	if ((r = entry_value(c, entry, what, &value, &len)) != VALUE_OK)
		return r;
	if (!pgha_parse_member(value, len, &m, err, sizeof(err)))
	{
		free(value);
		add_warning(c, "%s: %s", what, err);
		return VALUE_BAD;
	}
	free(value);
	if (live)
		c->members[c->nmembers++] = m;
	else
		c->stopped[c->nstopped++] = m;
	return VALUE_OK;
}

/* does key (of keylen bytes) equal the NUL-terminated name? */
static bool
key_is(const char *key, size_t keylen, const char *name)
{
	return keylen == strlen(name) && memcmp(key, name, keylen) == 0;
}

bool
pgha_parse_kv_listing(const char *body, size_t len, const char *prefix,
					  PgHaCluster *out, char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *entry;
	PgHaCluster *c = NULL;
	size_t		plen;
	size_t		i;
	bool		ok = false;
	bool		has_status_optime = false;
	int64_t		status_optime = 0;
	bool		has_leader_optime = false;
	int64_t		leader_optime = 0;

	if (prefix == NULL || out == NULL)
	{
		pgha_set_error(errbuf, errlen, "invalid arguments to pgha_parse_kv_listing");
		return false;
	}
	plen = strlen(prefix);

	root = pgha_json_load(body, len, "KV listing", errbuf, errlen);
	if (root == NULL)
		return false;
	if (!json_is_array(root))
	{
		pgha_set_error(errbuf, errlen, "KV listing is not a JSON array");
		goto done;
	}

	/* fill a scratch copy so that *out stays intact when we fail */
	c = malloc(sizeof(PgHaCluster));
	if (c == NULL)
	{
		pgha_set_error(errbuf, errlen, "out of memory");
		goto done;
	}
	memset(c, 0, sizeof(PgHaCluster));
	c->max_lag_on_failover = PGHA_DEFAULT_MAX_LAG;
	c->sync_node_count = 1;

	json_array_foreach(root, i, entry)
	{
		const json_t *jkey;
		const char *key;
		const char *rel;
		size_t		keylen;
		size_t		rellen;
		ValueResult r = VALUE_OK;

		if (!json_is_object(entry))
		{
			pgha_set_error(errbuf, errlen, "KV entry %zu is not a JSON object", i);
			goto done;
		}
		jkey = json_object_get(entry, "Key");
		if (!json_is_string(jkey))
		{
			pgha_set_error(errbuf, errlen, "KV entry %zu has no string Key", i);
			goto done;
		}
		key = json_string_value(jkey);
		keylen = json_string_length(jkey);

		/* keys of other clusters, and our own folder entry, are not ours */
		if (keylen <= plen || memcmp(key, prefix, plen) != 0)
			continue;
		rel = key + plen;
		rellen = keylen - plen;

		if (key_is(rel, rellen, "initialize"))
			r = handle_initialize(c, entry);
		else if (key_is(rel, rellen, "leader"))
			r = handle_leader(c, entry);
		else if (key_is(rel, rellen, "config"))
			r = handle_config(c, entry);
		else if (key_is(rel, rellen, "status"))
			r = handle_status(c, entry, &has_status_optime, &status_optime);
		else if (key_is(rel, rellen, "optime/leader"))
			r = handle_optime_leader(c, entry, &has_leader_optime,
									 &leader_optime);
		else if (key_is(rel, rellen, "failover"))
			r = handle_failover(c, entry);
		else if (key_is(rel, rellen, "sync"))
			r = handle_sync(c, entry);
		else if (key_is(rel, rellen, "promotion"))
			r = handle_promotion(c, entry);
		else if (rellen > strlen(MEMBERS_DIR) &&
				 memcmp(rel, MEMBERS_DIR, strlen(MEMBERS_DIR)) == 0)
		{
			const char *name = rel + strlen(MEMBERS_DIR);
			size_t		namelen = rellen - strlen(MEMBERS_DIR);

			/* deeper keys are not member records */
			if (memchr(name, '/', namelen) == NULL)
				r = handle_member(c, entry, name, namelen);
		}
		else if (rellen > strlen("restart/") &&
				 memcmp(rel, "restart/", strlen("restart/")) == 0)
			r = handle_restart(c, entry, rel + strlen("restart/"),
							   rellen - strlen("restart/"));
		else if (key_is(rel, rellen, "history"))
		{
			char	   *value;
			size_t		len;

			r = entry_value(c, entry, "history", &value, &len);
			if (r == VALUE_OK)
			{
				if (len < sizeof(c->history_json))
				{
					memcpy(c->history_json, value, len);
					c->history_json[len] = '\0';
				}
				free(value);
			}
		}
		else if (key_is(rel, rellen, PGHA_RELEASED_KEY))
			c->leader_released = true;	/* its presence is what counts */
		/* anything else (folders...) is not used */

		if (r == VALUE_OOM)
		{
			pgha_set_error(errbuf, errlen, "out of memory");
			goto done;
		}
	}

	/*
	 * Unreadable is not "off" (invariant 7): a sync key means synchronous
	 * mode was on, and a config key that cannot be read (or vanished with
	 * a store that lost its data) must not switch that protection off.
	 */
	if (c->sync_key_exists && (!c->config_valid || c->sync_mode_unreadable))
		c->sync_mode = true;

	/* like Patroni, prefer status over the older optime/leader key */
	if (has_status_optime)
	{
		c->has_optime = true;
		c->optime = status_optime;
	}
	else if (has_leader_optime)
	{
		c->has_optime = true;
		c->optime = leader_optime;
	}

	/* the index comes from an HTTP header: the caller's business */
	c->index = out->index;
	memcpy(out, c, sizeof(PgHaCluster));
	ok = true;

done:
	free(c);
	json_decref(root);
	return ok;
}

/* ----- lookups */

/* the member named name among the first n of members[], or NULL */
static const PgHaMember *
find_in(const PgHaMember *members, int n, const char *name)
{
	/* do not trust a count beyond the array */
	if (n > PGHA_MAX_MEMBERS)
		n = PGHA_MAX_MEMBERS;
	for (int i = 0; i < n; i++)
		if (strncmp(members[i].name, name, PGHA_NAME_LEN) == 0)
			return &members[i];
	return NULL;
}

const PgHaMember *
pgha_find_member(const PgHaCluster *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	return find_in(c->members, c->nmembers, name);
}

const PgHaMember *
pgha_find_stopped_member(const PgHaCluster *c, const char *name)
{
	if (c == NULL || name == NULL)
		return NULL;
	return find_in(c->stopped, c->nstopped, name);
}

/* ----- the failover key: read above, written by the operator's requests */

int
pgha_failover_request_json(const char *leader, const char *member,
						   const char *scheduled_at, char *buf, size_t buflen)
{
	json_t	   *req = pgha_json_new_object();
	int			n;

	if (req == NULL)
		return -1;
	if ((leader && json_object_set_new(req, "leader", json_string(leader)) != 0) ||
		(member && json_object_set_new(req, "member", json_string(member)) != 0) ||
		(scheduled_at &&
		 json_object_set_new(req, "scheduled_at", json_string(scheduled_at)) != 0))
	{
		json_decref(req);
		return -1;
	}
	n = pgha_json_dump(req, buf, buflen);
	json_decref(req);
	return n;
}
