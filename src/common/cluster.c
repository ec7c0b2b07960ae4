/*-------------------------------------------------------------------------
 *
 * cluster.c
 *	  Parse and format the Consul and Patroni data that describe a cluster.
 *
 * This file turns bytes received from Consul (the recursive KV listing of
 * a cluster, session answers, PUT/DELETE results) into the fixed-size
 * structs of cluster.h, and formats our own member record the way Patroni
 * writes it, so that pg_ha and Patroni nodes can read each other's keys.
 *
 * Everything parsed here is outside data: a buggy or hostile Consul, or a
 * Patroni of another version, may send anything.  So every parser checks
 * types, lengths and ranges, rejects values that do not fit the buffers
 * instead of truncating them, never reads past the length it was given
 * (NUL bytes included) and frees whatever it allocated on every path.
 * Error and warning messages quote outside data only after replacing
 * unprintable bytes, so they are safe to log.
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
#include "leader_key.h"

#include <limits.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

static json_t *new_object(void);
static int	dump_into(json_t *v, char *buf, size_t buflen);

const char *const pgha_hs_param_names[PGHA_HS_NPARAMS] = {
	"max_connections", "max_worker_processes", "max_wal_senders",
	"max_prepared_transactions", "max_locks_per_transaction"
};

#if defined(__GNUC__) || defined(__clang__)
#define PGHA_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define PGHA_PRINTF(f, a)
#endif

/* flags for every JSON document we read; the caller checks the type */
#define PGHA_JSON_FLAGS		(JSON_DECODE_ANY | JSON_REJECT_DUPLICATES)

/* room for an outside string quoted in a message */
#define PGHA_QUOTE_LEN		72

#define MEMBERS_DIR			"members/"

/* Why a value from the listing could not be used. */
typedef enum
{
	VALUE_OK,
	VALUE_BAD,					/* bad record, a warning has been added */
	VALUE_OOM					/* out of memory: give up on the listing */
} ValueResult;

static void set_error(char *errbuf, size_t errlen, const char *fmt,...)
			PGHA_PRINTF(3, 4);
static void add_warning(PgHaCluster *c, const char *fmt,...)
			PGHA_PRINTF(2, 3);


/*
 * Format an error message into errbuf, which callers may pass as NULL when
 * they do not care.
 */
static void
set_error(char *errbuf, size_t errlen, const char *fmt,...)
{
	va_list		ap;

	if (errbuf == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(errbuf, errlen, fmt, ap);
	va_end(ap);
}

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
 * Copy outside bytes into buf for quoting in a message: unprintable and
 * non-ASCII bytes, quotes and backslashes become '?' (logs and client
 * encodings stay happy), and long strings are cut with "...".
 */
static const char *
quote_text(const char *s, size_t len, char *buf, size_t buflen)
{
	size_t		i;
	size_t		room = buflen - 4;	/* keep space for "..." and NUL */

	for (i = 0; i < len && i < room; i++)
	{
		unsigned char ch = (unsigned char) s[i];

		if (ch < 0x20 || ch >= 0x7f || ch == '"' || ch == '\\')
			ch = '?';
		buf[i] = (char) ch;
	}
	if (i < len)
	{
		memcpy(buf + i, "...", 3);
		i += 3;
	}
	buf[i] = '\0';
	return buf;
}

/* strnlen() is POSIX, not C99 */
static size_t
bounded_strlen(const char *s, size_t maxlen)
{
	const char *end = memchr(s, '\0', maxlen);

	return end != NULL ? (size_t) (end - s) : maxlen;
}

/*
 * Parse a JSON document of exactly len bytes.  what names the document in
 * the error message.  Returns NULL with errbuf set on failure.
 */
static json_t *
load_json(const char *body, size_t len, const char *what,
		  char *errbuf, size_t errlen)
{
	json_error_t jerr;
	json_t	   *root;
	char		quoted[PGHA_QUOTE_LEN];

	if (body == NULL)
	{
		set_error(errbuf, errlen, "%s is missing", what);
		return NULL;
	}
	root = json_loadb(body, len, PGHA_JSON_FLAGS, &jerr);
	if (root == NULL)
		set_error(errbuf, errlen, "%s is not valid JSON: %s", what,
				  quote_text(jerr.text, strlen(jerr.text),
							 quoted, sizeof(quoted)));
	return root;
}

/*
 * The JSON object stored in a key: NULL, with a warning and nothing else
 * changed, when the value is not one.
 */
static json_t *
load_object(PgHaCluster *c, const char *value, size_t len, const char *what)
{
	char		err[PGHA_ERR_LEN];
	json_t	   *root = load_json(value, len, what, err, sizeof(err));

	if (root == NULL)
		add_warning(c, "%s", err);
	else if (!json_is_object(root))
	{
		add_warning(c, "%s is not a JSON object", what);
		json_decref(root);
		root = NULL;
	}
	return root;
}

/*
 * Copy a JSON string into a fixed buffer.  A value that does not fit is an
 * error, never silently truncated: a cut URL or name would point elsewhere.
 */
static bool
copy_json_string(const json_t *value, const char *field,
				 char *dst, size_t dstlen, char *errbuf, size_t errlen)
{
	const char *s;
	size_t		n;

	if (!json_is_string(value))
	{
		set_error(errbuf, errlen, "%s is not a string", field);
		return false;
	}
	s = json_string_value(value);
	n = json_string_length(value);
	/* jansson refuses \u0000 without JSON_ALLOW_NUL; stay safe anyway */
	if (memchr(s, '\0', n) != NULL)
	{
		set_error(errbuf, errlen, "%s contains a NUL byte", field);
		return false;
	}
	if (n >= dstlen)
	{
		set_error(errbuf, errlen, "%s is too long (%zu bytes, at most %zu)",
				  field, n, dstlen - 1);
		return false;
	}
	memcpy(dst, s, n);
	dst[n] = '\0';
	return true;
}

/* Read a JSON integer and check that it lies within [min, max]. */
static bool
get_json_integer(const json_t *value, const char *field,
				 long long min, long long max, long long *result,
				 char *errbuf, size_t errlen)
{
	long long	i;

	/* a real such as 1.0 or 1e3 is not an integer for us either */
	if (!json_is_integer(value))
	{
		set_error(errbuf, errlen, "%s is not an integer", field);
		return false;
	}
	i = (long long) json_integer_value(value);
	if (i < min || i > max)
	{
		set_error(errbuf, errlen, "%s is out of range: %lld", field, i);
		return false;
	}
	*result = i;
	return true;
}

/*
 * Parse non-empty decimal text (digits only, no sign, no spaces) into an
 * unsigned value no larger than max.
 */
static bool
parse_decimal(const char *s, size_t len, uint64_t max, uint64_t *result)
{
	uint64_t	v = 0;
	size_t		i;

	if (len == 0)
		return false;
	for (i = 0; i < len; i++)
	{
		unsigned int d;

		if (s[i] < '0' || s[i] > '9')
			return false;
		d = (unsigned int) (s[i] - '0');
		if (v > (max - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*result = v;
	return true;
}

/*
 * Consul session IDs are UUIDs.  They end up in URLs and in comparisons,
 * so accept only hex digits and dashes, and only what fits in maxlen - 1.
 */
static bool
valid_session_id(const char *s, size_t len, size_t maxlen)
{
	size_t		i;

	if (len == 0 || len >= maxlen)
		return false;
	for (i = 0; i < len; i++)
	{
		char		ch = s[i];

		if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f') ||
			  (ch >= 'A' && ch <= 'F') || ch == '-'))
			return false;
	}
	return true;
}

static int
base64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int
pgha_base64_decode(const char *src, size_t srclen, char *dst, size_t dstlen)
{
	size_t		npad = 0;
	size_t		outlen;
	size_t		out = 0;
	size_t		i;

	if (dst == NULL || dstlen == 0)
		return -1;
	dst[0] = '\0';
	if (src == NULL && srclen > 0)
		return -1;

	/* Consul always pads, so an unpadded tail is malformed */
	if (srclen % 4 != 0)
		return -1;
	if (srclen > 0 && src[srclen - 1] == '=')
	{
		npad = 1;
		if (src[srclen - 2] == '=')
			npad = 2;
	}
	outlen = srclen / 4 * 3 - npad;
	if (outlen > INT_MAX || outlen >= dstlen)
		return -1;

	for (i = 0; i < srclen; i += 4)
	{
		bool		last = (i + 4 == srclen);
		unsigned long triple = 0;
		size_t		nbytes = last ? 3 - npad : 3;
		size_t		j;

		for (j = 0; j < 4; j++)
		{
			int			v;

			/* '=' only as the padding counted above */
			if (last && src[i + j] == '=' && j >= 4 - npad)
				v = 0;
			else if ((v = base64_value((unsigned char) src[i + j])) < 0)
			{
				dst[0] = '\0';
				return -1;
			}
			triple = (triple << 6) | (unsigned long) v;
		}
		dst[out++] = (char) ((triple >> 16) & 0xff);
		if (nbytes > 1)
			dst[out++] = (char) ((triple >> 8) & 0xff);
		if (nbytes > 2)
			dst[out++] = (char) (triple & 0xff);
	}
	dst[out] = '\0';
	return (int) out;
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
	const json_t *jvalue = json_object_get(entry, "Value");
	const char *src = "";
	size_t		srclen = 0;
	size_t		room;
	char	   *buf;
	int			n;

	*value = NULL;
	*valuelen = 0;
	if (jvalue != NULL && !json_is_null(jvalue))
	{
		if (!json_is_string(jvalue))
		{
			add_warning(c, "%s: Value is not a string", what);
			return VALUE_BAD;
		}
		src = json_string_value(jvalue);
		srclen = json_string_length(jvalue);
	}

	room = srclen / 4 * 3 + 1;
	buf = malloc(room);
	if (buf == NULL)
		return VALUE_OOM;
	n = pgha_base64_decode(src, srclen, buf, room);
	if (n < 0)
	{
		free(buf);
		add_warning(c, "%s: Value is not valid base64", what);
		return VALUE_BAD;
	}
	*value = buf;
	*valuelen = (size_t) n;
	return VALUE_OK;
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
	if (!valid_session_id(s, n, dstlen))
	{
		char		quoted[PGHA_QUOTE_LEN];

		add_warning(c, "%s: Session \"%s\" is not a valid session ID", what,
					quote_text(s, n, quoted, sizeof(quoted)));
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
			 !parse_decimal(value, len, UINT64_MAX, &sysid))
	{
		char		quoted[PGHA_QUOTE_LEN];

		add_warning(c, "initialize: \"%s\" is not a system identifier",
					quote_text(value, len, quoted, sizeof(quoted)));
	}
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
		{
			char		quoted[PGHA_QUOTE_LEN];

			add_warning(c, "leader: \"%s\" is not a valid member name",
						quote_text(value, len, quoted, sizeof(quoted)));
		}
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
		static const char *const yes[] = {"on", "true", "yes", "1"};
		static const char *const no[] = {"off", "false", "no", "0"};
		const char *s = json_string_value(v);

		for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
			if (strcasecmp(s, yes[i]) == 0)
				return true;
		for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
			if (strcasecmp(s, no[i]) == 0)
				return false;
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
	char	   *value;
	size_t		len;
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	const json_t *leader;
	const json_t *standby;
	bool		ok = true;

	c->sync_key_exists = true;
	if (jindex != NULL && json_is_integer(jindex) && json_integer_value(jindex) >= 0)
		c->sync_modify_index = (uint64_t) json_integer_value(jindex);
	if ((r = entry_value(c, entry, "sync", &value, &len)) != VALUE_OK)
		return r;
	root = load_object(c, value, len, "sync");
	free(value);
	if (root == NULL)
		return VALUE_OK;
	leader = json_object_get(root, "leader");
	standby = json_object_get(root, "sync_standby");
	if (leader != NULL && !json_is_null(leader))
		ok = copy_json_string(leader, "sync leader", c->sync_leader,
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
	char	   *value;
	size_t		len;
	json_t	   *root;
	const json_t *jopt;
	char		err[PGHA_ERR_LEN];
	long long	v;
	ValueResult r;

	if ((r = entry_value(c, entry, "status", &value, &len)) != VALUE_OK)
		return r;
	root = load_object(c, value, len, "status");
	free(value);
	if (root == NULL)
		return VALUE_OK;
	if ((jopt = json_object_get(root, "optime")) != NULL)
	{
		if (get_json_integer(jopt, "status: optime", 0, INT64_MAX, &v,
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
	if (parse_decimal(value, len, INT64_MAX, &v))
	{
		*has_optime = true;
		*optime = (int64_t) v;
	}
	else
	{
		char		quoted[PGHA_QUOTE_LEN];

		add_warning(c, "optime/leader: \"%s\" is not a WAL position",
					quote_text(value, len, quoted, sizeof(quoted)));
	}
	free(value);
	return VALUE_OK;
}

/* failover: a pending manual switchover or failover when non-empty */
static ValueResult
handle_failover(PgHaCluster *c, const json_t *entry)
{
	char	   *value;
	size_t		len;
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	const json_t *jkey_index = json_object_get(entry, "ModifyIndex");

	if (jkey_index != NULL && json_is_integer(jkey_index) &&
		json_integer_value(jkey_index) > 0)
		c->failover_key_index = (uint64_t) json_integer_value(jkey_index);
	if ((r = entry_value(c, entry, "failover", &value, &len)) != VALUE_OK)
		return r;
	if (len == 0)
	{
		free(value);
		return VALUE_OK;
	}
	root = load_object(c, value, len, "failover");
	free(value);
	if (root == NULL)
		return VALUE_OK;
	if (json_object_size(root) > 0)
	{
		const json_t *leader = json_object_get(root, "leader");
		const json_t *member = json_object_get(root, "member");
		const json_t *at = json_object_get(root, "scheduled_at");
		const json_t *jindex = json_object_get(entry, "ModifyIndex");
		bool		ok = true;

		if (leader != NULL && !json_is_null(leader))
			ok = copy_json_string(leader, "failover leader", c->failover_leader,
								  sizeof(c->failover_leader), err, sizeof(err)) &&
				(c->failover_leader[0] == '\0' || pgha_valid_name(c->failover_leader));
		if (ok && member != NULL && !json_is_null(member))
			ok = copy_json_string(member, "failover member", c->failover_member,
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
	char	   *value;
	size_t		len;
	json_t	   *root;
	char		err[PGHA_ERR_LEN];
	ValueResult r;
	bool		ok;

	if (jindex != NULL && json_is_integer(jindex) && json_integer_value(jindex) > 0)
		c->promotion_index = (uint64_t) json_integer_value(jindex);
	if ((r = entry_value(c, entry, "promotion", &value, &len)) != VALUE_OK)
		return r;
	root = load_object(c, value, len, "promotion");
	free(value);
	if (root == NULL)
		return VALUE_OK;
	tli = json_object_get(root, "timeline");
	member = json_object_get(root, "member");
	ok = tli != NULL && json_is_integer(tli) &&
		json_integer_value(tli) >= 1 && json_integer_value(tli) <= UINT32_MAX;
	if (ok && member != NULL && !json_is_null(member))
		ok = copy_json_string(member, "promotion member", c->promotion_member,
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

int
pgha_promotion_json(uint32_t timeline, const char *member, char *buf,
					size_t buflen)
{
	int			n;

	if (member == NULL || !pgha_valid_name(member))
		return -1;
	/* a valid name needs no JSON escaping */
	n = snprintf(buf, buflen, "{\"timeline\":%u,\"member\":\"%s\"}",
				 (unsigned) timeline, member);
	return n < 0 || (size_t) n >= buflen ? -1 : n;
}

/* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * The value of the n decimal digits at s, or -1 when they are not all
 * digits.  sscanf()'s %2d would take "-1", "+1" and " 1" too.
 */
static int
fixed_digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool
pgha_parse_iso_time(const char *s, int64_t *epoch_ms)
{
	int			y, mo, d, h, mi, sec;
	int64_t		ms = 0;
	int			offset_min = 0;
	const char *p;

	/* YYYY-MM-DD[T ]HH:MM:SS, then an optional fraction and the zone */
	if (s == NULL || strlen(s) > 64 || strlen(s) < 19 ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':')
		return false;
	y = fixed_digits(s, 4);
	mo = fixed_digits(s + 5, 2);
	d = fixed_digits(s + 8, 2);
	h = fixed_digits(s + 11, 2);
	mi = fixed_digits(s + 14, 2);
	sec = fixed_digits(s + 17, 2);
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return false;
	p = s + 19;
	if (*p == '.')
	{
		int			digits = 0;
		int64_t		frac = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return false;
		while (digits++ < 3)
			frac *= 10;
		ms = frac;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			oh = fixed_digits(p + 1, 2);
		int			om = oh < 0 || p[3] != ':' ? -1 : fixed_digits(p + 4, 2);

		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return false;
		offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	}
	else
		return false;			/* a time without zone is ambiguous */
	if (*p != '\0')
		return false;
	*epoch_ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec)
				 - (int64_t) offset_min * 60) * 1000 + ms;
	return true;
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
	root = len > 0 ? load_json(value, len, "restart", err, sizeof(err)) : new_object();
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
					quote_text(name, namelen, quoted, sizeof(quoted)),
					namelen, sizeof(m.name) - 1);
		return VALUE_BAD;
	}
	memcpy(m.name, name, namelen);
	m.name[namelen] = '\0';
	if (strlen(m.name) != namelen || !pgha_valid_name(m.name))
	{
		add_warning(c, "member \"%s\": not a valid member name",
					quote_text(name, namelen, quoted, sizeof(quoted)));
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
		set_error(errbuf, errlen, "invalid arguments to pgha_parse_kv_listing");
		return false;
	}
	plen = strlen(prefix);

	root = load_json(body, len, "KV listing", errbuf, errlen);
	if (root == NULL)
		return false;
	if (!json_is_array(root))
	{
		set_error(errbuf, errlen, "KV listing is not a JSON array");
		goto done;
	}

	/* fill a scratch copy so that *out stays intact when we fail */
	c = malloc(sizeof(PgHaCluster));
	if (c == NULL)
	{
		set_error(errbuf, errlen, "out of memory");
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
			set_error(errbuf, errlen, "KV entry %zu is not a JSON object", i);
			goto done;
		}
		jkey = json_object_get(entry, "Key");
		if (!json_is_string(jkey))
		{
			set_error(errbuf, errlen, "KV entry %zu has no string Key", i);
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
			set_error(errbuf, errlen, "out of memory");
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
			set_error(errbuf, errlen, "tags.nofailover is not a boolean");
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
	others = new_object();
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
		dump_into(others, m->tags_json, sizeof(m->tags_json)) < 0)
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
	json_t	   *tags = new_object();
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
	n = dump_into(tags, buf, buflen);
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
		set_error(errbuf, errlen, "invalid arguments to pgha_parse_user_tags");
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
		set_error(errbuf, errlen, "pg_ha.tags is not valid JSON: %s",
				  quote_text(jerr.text, strlen(jerr.text), quoted, sizeof(quoted)));
		return false;
	}
	if (!json_is_object(root))
	{
		set_error(errbuf, errlen,
				  "pg_ha.tags must be a JSON object, as in {\"dc\": \"eu-1\", \"rack\": 3}");
		goto done;
	}
	json_object_foreach(root, key, value)
	{
		if (pgha_is_builtin_tag(key))
		{
			set_error(errbuf, errlen,
					  "tag \"%s\" has a setting of its own: use pg_ha.%s instead",
					  key, key);
			goto done;
		}
		/* Patroni's cascading: pg_ha streams from the leader only */
		if (strcmp(key, "replicatefrom") == 0 || strcmp(key, "nostream") == 0)
		{
			set_error(errbuf, errlen,
					  "tag \"%s\" is not supported: pg_ha replicas stream from the leader",
					  key);
			goto done;
		}
		if (!pgha_valid_name(key))
		{
			set_error(errbuf, errlen,
					  "tag name \"%s\" is not valid: letters, digits, \"_\", \".\" and \"-\", at most %d of them",
					  quote_text(key, strlen(key), quoted, sizeof(quoted)),
					  PGHA_NAME_LEN - 1);
			goto done;
		}
		if (!json_is_string(value) && !json_is_number(value) &&
			!json_is_boolean(value))
		{
			set_error(errbuf, errlen,
					  "tag \"%s\" must be a string, a number or a boolean", key);
			goto done;
		}
	}
	n = json_object_size(root) > 0 ? dump_into(root, canon, canonlen) : 0;
	if (n < 0)
	{
		canon[0] = '\0';
		set_error(errbuf, errlen,
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
		set_error(errbuf, errlen, "invalid arguments to pgha_parse_member");
		return false;
	}
	root = load_json(json, len, "member record", errbuf, errlen);
	if (root == NULL)
		return false;
	if (!json_is_object(root))
	{
		set_error(errbuf, errlen, "member record is not a JSON object");
		goto done;
	}

	/* absent fields stay empty; *m changes only on success */
	memset(&tmp, 0, sizeof(tmp));

	if ((v = json_object_get(root, "conn_url")) != NULL &&
		!copy_json_string(v, "conn_url", tmp.conn_url, sizeof(tmp.conn_url),
						  errbuf, errlen))
		goto done;
	if ((v = json_object_get(root, "api_url")) != NULL &&
		!copy_json_string(v, "api_url", tmp.api_url, sizeof(tmp.api_url),
						  errbuf, errlen))
		goto done;
	if ((v = json_object_get(root, "state")) != NULL &&
		!copy_json_string(v, "state", tmp.state, sizeof(tmp.state),
						  errbuf, errlen))
		goto done;
	if ((v = json_object_get(root, "role")) != NULL &&
		!copy_json_string(v, "role", tmp.role, sizeof(tmp.role),
						  errbuf, errlen))
		goto done;
	if ((v = json_object_get(root, "version")) != NULL &&
		!copy_json_string(v, "version", tmp.version, sizeof(tmp.version),
						  errbuf, errlen))
		goto done;

	if ((v = json_object_get(root, "xlog_location")) != NULL)
	{
		if (!get_json_integer(v, "xlog_location", 0, INT64_MAX, &i,
							  errbuf, errlen))
			goto done;
		tmp.has_xlog = true;
		tmp.xlog_location = (int64_t) i;
	}
	if ((v = json_object_get(root, "timeline")) != NULL)
	{
		if (!get_json_integer(v, "timeline", 0, UINT32_MAX, &i,
							  errbuf, errlen))
			goto done;
		tmp.timeline = (uint32_t) i;
	}
	if ((v = json_object_get(root, "pending_restart")) != NULL)
	{
		if (!json_is_boolean(v))
		{
			set_error(errbuf, errlen, "pending_restart is not a boolean");
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
			set_error(errbuf, errlen, "hot_standby_parameters is not a JSON object");
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
			if (!get_json_integer(pv, field, 0, INT32_MAX, &i, errbuf, errlen))
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
			set_error(errbuf, errlen, "tags is not a JSON object");
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
 * An empty JSON object.  Not json_object(): inside the backend that name
 * resolves to PostgreSQL's own SQL function json_object(), which the
 * postgres binary exports, and calling it crashes the process.  jansson's
 * internal calls (json_pack, the parser) bind inside libjansson and are safe.
 */
static json_t *
new_object(void)
{
	return json_pack("{}");
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

	root = new_object();
	if (root == NULL)
		return -1;

	/* Patroni's key order, so records look alike in Consul's UI */
	ok = set_string(root, "conn_url", m->conn_url, sizeof(m->conn_url)) &&
		set_string(root, "api_url", m->api_url, sizeof(m->api_url)) &&
		set_string(root, "state", m->state, sizeof(m->state)) &&
		set_string(root, "role", m->role, sizeof(m->role)) &&
		set_string(root, "version", m->version, sizeof(m->version));
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
		json_t	   *hs = new_object();

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
		json_t	   *sr = new_object();

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

bool
pgha_parse_session_create(const char *body, size_t len,
						  char *id, size_t idlen,
						  char *errbuf, size_t errlen)
{
	json_t	   *root;
	const json_t *jid;
	const char *s;
	size_t		n;
	bool		ok = false;

	if (id == NULL || idlen == 0)
	{
		set_error(errbuf, errlen,
				  "invalid arguments to pgha_parse_session_create");
		return false;
	}
	root = load_json(body, len, "session create answer", errbuf, errlen);
	if (root == NULL)
		return false;
	if (!json_is_object(root))
	{
		set_error(errbuf, errlen, "session create answer is not a JSON object");
		goto done;
	}
	jid = json_object_get(root, "ID");
	if (jid == NULL)
	{
		set_error(errbuf, errlen, "session create answer has no ID");
		goto done;
	}
	if (!json_is_string(jid))
	{
		set_error(errbuf, errlen, "session ID is not a string");
		goto done;
	}
	s = json_string_value(jid);
	n = json_string_length(jid);
	if (n >= idlen)
	{
		set_error(errbuf, errlen, "session ID is too long (%zu bytes, at most %zu)",
				  n, idlen - 1);
		goto done;
	}
	if (!valid_session_id(s, n, idlen))
	{
		char		quoted[PGHA_QUOTE_LEN];

		set_error(errbuf, errlen, "session ID \"%s\" is not a valid session ID",
				  quote_text(s, n, quoted, sizeof(quoted)));
		goto done;
	}
	memcpy(id, s, n);
	id[n] = '\0';
	ok = true;

done:
	json_decref(root);
	return ok;
}

bool
pgha_parse_session_info(const char *body, size_t len, bool *exists,
						char *errbuf, size_t errlen)
{
	json_t	   *root;
	bool		ok = true;

	if (exists == NULL)
	{
		set_error(errbuf, errlen, "invalid arguments to pgha_parse_session_info");
		return false;
	}
	root = load_json(body, len, "session info answer", errbuf, errlen);
	if (root == NULL)
		return false;

	/* older Consul answers null for an unknown session, newer [] */
	if (json_is_null(root))
		*exists = false;
	else if (json_is_array(root))
		*exists = json_array_size(root) > 0;
	else
	{
		set_error(errbuf, errlen, "session info answer is not a JSON array");
		ok = false;
	}
	json_decref(root);
	return ok;
}

bool
pgha_parse_bool_body(const char *body, size_t len, bool *result,
					 char *errbuf, size_t errlen)
{
	size_t		n;
	bool		value;

	if (body == NULL || result == NULL)
	{
		set_error(errbuf, errlen, "invalid arguments to pgha_parse_bool_body");
		return false;
	}
	if (len >= 4 && memcmp(body, "true", 4) == 0)
	{
		n = 4;
		value = true;
	}
	else if (len >= 5 && memcmp(body, "false", 5) == 0)
	{
		n = 5;
		value = false;
	}
	else
	{
		set_error(errbuf, errlen, "body is neither true nor false");
		return false;
	}
	for (; n < len; n++)
	{
		if (body[n] != ' ' && body[n] != '\t' && body[n] != '\r' &&
			body[n] != '\n')
		{
			set_error(errbuf, errlen, "unexpected data after %s in body",
					  value ? "true" : "false");
			return false;
		}
	}
	*result = value;
	return true;
}

bool
pgha_parse_consul_index(const char *line, size_t len, uint64_t *index)
{
	static const char name[] = "x-consul-index:";
	size_t		nlen = sizeof(name) - 1;
	size_t		start;
	size_t		end;

	if (line == NULL || index == NULL || len <= nlen)
		return false;
	for (size_t i = 0; i < nlen; i++)
	{
		char		ch = line[i];

		if (ch >= 'A' && ch <= 'Z')
			ch = (char) (ch - 'A' + 'a');
		if (ch != name[i])
			return false;
	}
	start = nlen;
	while (start < len && (line[start] == ' ' || line[start] == '\t'))
		start++;
	end = len;
	while (end > start && (line[end - 1] == ' ' || line[end - 1] == '\t' ||
						   line[end - 1] == '\r' || line[end - 1] == '\n'))
		end--;
	/* a sign or junk would wrap around in strtoull(): digits only */
	return parse_decimal(line + start, end - start, UINT64_MAX, index);
}

void
pgha_consul_refusal(const char *what, long status, const char *body,
					size_t len, char *errbuf, size_t errlen)
{
	char		reason[161];
	size_t		n = body != NULL ? len : 0;

	/* Consul puts a one-line reason in the body; keep it short */
	if (n > sizeof(reason) - 1)
		n = sizeof(reason) - 1;
	while (n > 0 && (body[n - 1] == '\n' || body[n - 1] == '\r'))
		n--;
	for (size_t i = 0; i < n; i++)
	{
		unsigned char ch = (unsigned char) body[i];

		reason[i] = (ch < 0x20 || ch >= 0x7f) ? '?' : (char) ch;
	}
	reason[n] = '\0';
	set_error(errbuf, errlen, "Consul refused %s: HTTP %ld%s%s", what, status,
			  n > 0 ? ": " : "", reason);
}

bool
pgha_parse_kv_entry(const char *body, size_t len, uint64_t *modify_index,
					char **value, size_t *valuelen, char *errbuf,
					size_t errlen)
{
	json_t	   *root;
	const json_t *entry;
	const json_t *jindex;
	const json_t *jvalue;
	const char *src = "";
	size_t		srclen = 0;
	size_t		room;
	char	   *buf;
	int			n;
	bool		ok = false;

	if (modify_index == NULL || value == NULL || valuelen == NULL)
	{
		set_error(errbuf, errlen, "invalid arguments to pgha_parse_kv_entry");
		return false;
	}
	*value = NULL;
	*valuelen = 0;
	root = load_json(body, len, "KV entry", errbuf, errlen);
	if (root == NULL)
		return false;
	entry = json_is_array(root) ? json_array_get(root, 0) : NULL;
	jindex = json_is_object(entry) ? json_object_get(entry, "ModifyIndex") : NULL;
	if (!json_is_integer(jindex) || json_integer_value(jindex) < 0)
	{
		set_error(errbuf, errlen, "not a KV entry");
		goto done;
	}
	jvalue = json_object_get(entry, "Value");
	if (jvalue != NULL && !json_is_null(jvalue))
	{
		if (!json_is_string(jvalue))
		{
			set_error(errbuf, errlen, "Value is not a string");
			goto done;
		}
		src = json_string_value(jvalue);
		srclen = json_string_length(jvalue);
	}
	room = srclen / 4 * 3 + 1;
	buf = malloc(room);
	if (buf == NULL)
	{
		set_error(errbuf, errlen, "out of memory");
		goto done;
	}
	n = pgha_base64_decode(src, srclen, buf, room);
	if (n < 0)
	{
		free(buf);
		set_error(errbuf, errlen, "Value is not valid base64");
		goto done;
	}
	/* callers treat the value as a C string: a NUL would cut it short */
	if (memchr(buf, '\0', (size_t) n) != NULL)
	{
		free(buf);
		set_error(errbuf, errlen, "Value is not text (it contains a NUL byte)");
		goto done;
	}
	*modify_index = (uint64_t) json_integer_value(jindex);
	*value = buf;
	*valuelen = (size_t) n;
	ok = true;

done:
	json_decref(root);
	return ok;
}

bool
pgha_valid_name(const char *s)
{
	size_t		i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++)
	{
		char		ch = s[i];

		if (i >= PGHA_NAME_LEN - 1)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	/* "." and ".." would be path components in keys and URLs */
	if (i == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return true;
}

const PgHaMember *
pgha_find_member(const PgHaCluster *c, const char *name)
{
	int			i;
	int			n;

	if (c == NULL || name == NULL)
		return NULL;
	/* do not trust nmembers beyond the array */
	n = c->nmembers < PGHA_MAX_MEMBERS ? c->nmembers : PGHA_MAX_MEMBERS;
	for (i = 0; i < n; i++)
	{
		if (strncmp(c->members[i].name, name, PGHA_NAME_LEN) == 0)
			return &c->members[i];
	}
	return NULL;
}

const PgHaMember *
pgha_find_stopped_member(const PgHaCluster *c, const char *name)
{
	int			n;

	if (c == NULL || name == NULL)
		return NULL;
	n = c->nstopped < PGHA_MAX_MEMBERS ? c->nstopped : PGHA_MAX_MEMBERS;
	for (int i = 0; i < n; i++)
		if (strncmp(c->stopped[i].name, name, PGHA_NAME_LEN) == 0)
			return &c->stopped[i];
	return NULL;
}

const char *
pgha_stopped_role_label(const PgHaCluster *c, const PgHaMember *m,
						bool api_style)
{
	const char *label = pgha_member_role_label(c, m, api_style);

	if (strcmp(label, api_style ? "leader" : "Leader") == 0)
		return api_style ? "replica" : "Replica";
	return label;
}

/* y-m-d of a count of days since 1970-01-01 (inverse of days_from_civil) */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

bool
pgha_format_iso_time(int64_t epoch_ms, char *buf, size_t len)
{
	int64_t		days;
	int64_t		rest;
	int64_t		y;
	int			mo;
	int			d;
	int			n;

	if (buf == NULL || len == 0)
		return false;
	buf[0] = '\0';
	if (epoch_ms < 0)
		return false;
	days = epoch_ms / 86400000;
	rest = epoch_ms % 86400000;
	civil_from_days(days, &y, &mo, &d);
	if (y > 9999)
		return false;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00",
				 (int) y, mo, d, (int) (rest / 3600000),
				 (int) (rest / 60000 % 60), (int) (rest / 1000 % 60),
				 (int) (rest % 1000));
	if (n < 0 || (size_t) n >= len)
	{
		buf[0] = '\0';
		return false;
	}
	return true;
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

/* index of name in t->seen, or -1 */
static int
tracker_find(const PgHaMemberTracker *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strncmp(t->seen[i].last.name, name, PGHA_NAME_LEN) == 0)
			return i;
	return -1;
}

static void
tracker_remove(PgHaMemberTracker *t, int i)
{
	t->n--;
	if (i < t->n)
		memmove(&t->seen[i], &t->seen[i + 1], sizeof(t->seen[0]) * (t->n - i));
}

void
pgha_track_forget(PgHaMemberTracker *t, const char *name)
{
	int			i;

	if (t == NULL || name == NULL)
		return;
	if ((i = tracker_find(t, name)) >= 0)
		tracker_remove(t, i);
}

int
pgha_track_members(PgHaMemberTracker *t, const PgHaCluster *c,
				   const char *self, int64_t now_ms, int64_t now_epoch_ms,
				   int64_t forget_after_ms, int *due)
{
	int			nmembers;
	int			ndue = 0;
	const int	cap = (int) (sizeof(t->seen) / sizeof(t->seen[0]));

	if (t == NULL || c == NULL || due == NULL)
		return 0;
	if (t->n < 0 || t->n > cap)
		t->n = 0;
	nmembers = c->nmembers < PGHA_MAX_MEMBERS ? c->nmembers : PGHA_MAX_MEMBERS;

	/* the live ones: remember their last record */
	for (int k = 0; k < nmembers; k++)
	{
		const PgHaMember *m = &c->members[k];
		int			i;

		if (self != NULL && strncmp(m->name, self, PGHA_NAME_LEN) == 0)
			continue;
		if ((i = tracker_find(t, m->name)) < 0)
		{
			if (t->n == cap)
			{
				/* full of gone ones (live ones are at most 32): the oldest goes */
				int			oldest = -1;

				for (int j = 0; j < t->n; j++)
					if (t->seen[j].gone &&
						(oldest < 0 || t->seen[j].gone_since_ms < t->seen[oldest].gone_since_ms))
						oldest = j;
				if (oldest < 0)
					continue;
				tracker_remove(t, oldest);
			}
			i = t->n++;
		}
		t->seen[i].last = *m;
		t->seen[i].last_seen_ms = now_epoch_ms;
		t->seen[i].gone = false;
		t->seen[i].gone_since_ms = 0;
	}

	/* the others vanished: due until a stopped record says so, or forgotten */
	for (int i = 0; i < t->n;)
	{
		PgHaSeenMember *s = &t->seen[i];

		if (pgha_find_member(c, s->last.name) != NULL)
		{
			i++;
			continue;
		}
		if (pgha_find_stopped_member(c, s->last.name) != NULL)
		{
			tracker_remove(t, i);
			continue;
		}
		if (!s->gone)
		{
			s->gone = true;
			s->gone_since_ms = now_ms;
		}
		else if (now_ms - s->gone_since_ms > forget_after_ms)
		{
			tracker_remove(t, i);
			continue;
		}
		due[ndue++] = i;
		i++;
	}
	return ndue;
}


/* a jansson value dumped into buf; -1 when it does not fit */
static int
dump_into(json_t *v, char *buf, size_t buflen)
{
	char	   *s = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER);
	size_t		n;

	if (s == NULL)
		return -1;
	n = strlen(s);
	if (n + 1 > buflen)
	{
		free(s);
		return -1;
	}
	memcpy(buf, s, n + 1);
	free(s);
	return (int) n;
}

/*
 * The config key's value as an object to edit; a new one when there is no
 * value.  NULL, with errbuf set, when it is not a JSON object.
 */
static json_t *
config_for_edit(const char *config, size_t len, char *errbuf, size_t errlen)
{
	json_t	   *root;

	if (config == NULL)
	{
		if ((root = new_object()) == NULL)
			set_error(errbuf, errlen, "out of memory");
		return root;
	}
	root = load_json(config, len, "config", errbuf, errlen);
	if (root != NULL && !json_is_object(root))
	{
		json_decref(root);
		set_error(errbuf, errlen, "config is not a JSON object");
		return NULL;
	}
	return root;
}

/* The edited config into buf (length, or -1 with errbuf set); frees root. */
static int
config_edited(json_t *root, char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	int			n = dump_into(root, buf, buflen);

	json_decref(root);
	if (n < 0)
		set_error(errbuf, errlen, "config is too large");
	return n;
}

int
pgha_failover_request_json(const char *leader, const char *member,
						   const char *scheduled_at, char *buf, size_t buflen)
{
	json_t	   *req = new_object();
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
	n = dump_into(req, buf, buflen);
	json_decref(req);
	return n;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp((const char *) a, (const char *) b);
}

int
pgha_sync_json(const char *leader, const char (*standbys)[PGHA_NAME_LEN],
			   int n, char *buf, size_t buflen)
{
	char		sorted[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	char		joined[PGHA_MAX_SYNC * PGHA_NAME_LEN];
	json_t	   *v = new_object();
	size_t		off = 0;
	int			len;

	if (v == NULL || n < 0 || n > PGHA_MAX_SYNC)
	{
		if (v)
			json_decref(v);
		return -1;
	}
	/* Patroni sorts the names, so equal sets give equal values */
	memcpy(sorted, standbys, sizeof(sorted[0]) * n);
	qsort(sorted, n, sizeof(sorted[0]), name_cmp);
	joined[0] = '\0';
	for (int i = 0; i < n; i++)
		off += snprintf(joined + off, sizeof(joined) - off, "%s%s",
						i > 0 ? "," : "", sorted[i]);
	if (json_object_set_new(v, "leader", json_string(leader)) != 0 ||
		json_object_set_new(v, "sync_standby",
							n > 0 ? json_string(joined) : json_null()) != 0)
	{
		json_decref(v);
		return -1;
	}
	len = dump_into(v, buf, buflen);
	json_decref(v);
	return len;
}

bool
pgha_sync_active(const PgHaCluster *c)
{
	return c->sync_mode && c->sync_key_exists && c->has_sync &&
		c->sync_leader[0] != '\0';
}

bool
pgha_sync_is_standby(const PgHaCluster *c, const char *member)
{
	int			n = c->nsync < PGHA_MAX_SYNC ? c->nsync : PGHA_MAX_SYNC;

	if (!c->has_sync || member == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strncmp(c->sync_standby[i], member, PGHA_NAME_LEN) == 0)
			return true;
	return false;
}

bool
pgha_sync_matches(const PgHaCluster *c, const char *member)
{
	return pgha_sync_is_standby(c, member) ||
		(c->has_sync && member != NULL &&
		 strncmp(c->sync_leader, member, PGHA_NAME_LEN) == 0);
}

const char *
pgha_sync_candidate_refusal(const PgHaCluster *c, const char *candidate,
							bool has_leader, bool force)
{
	if (!pgha_sync_active(c))
		return NULL;
	if (candidate == NULL || candidate[0] == '\0')
		return has_leader && c->nsync == 0 ?
			"synchronous mode is on and the cluster has no synchronous standby" : NULL;
	if (pgha_sync_is_standby(c, candidate))
		return NULL;
	if (has_leader)
		return "is not the synchronous standby: in synchronous mode only the synchronous standby may take over from a running leader";
	if (strncmp(c->sync_leader, candidate, PGHA_NAME_LEN) == 0 || force)
		return NULL;
	return "is not the synchronous standby: it may lack commits the last leader acknowledged";
}

const char *
pgha_member_role_label(const PgHaCluster *c, const PgHaMember *m, bool api_style)
{
	bool		leads = c->has_leader && c->leader_session[0] != '\0';

	if (leads && strncmp(m->name, c->leader, PGHA_NAME_LEN) == 0)
		return api_style ? "leader" : "Leader";
	/* a key left by an earlier leader names nobody synchronous now */
	if (leads && c->sync_mode && c->has_sync &&
		strncmp(c->sync_leader, c->leader, PGHA_NAME_LEN) == 0 &&
		pgha_sync_is_standby(c, m->name))
		return api_style ? "sync_standby" : "Sync Standby";
	return api_style ? "replica" : "Replica";
}

int
pgha_config_with_pause(const char *config, size_t len, bool pause,
					   char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	json_t	   *root = config_for_edit(config, len, errbuf, errlen);

	if (root == NULL)
		return -1;
	if (json_is_true(json_object_get(root, "pause")) == pause)
	{
		json_decref(root);
		return -2;
	}
	if (pause)
		json_object_set_new(root, "pause", json_true());
	else
		json_object_del(root, "pause");
	return config_edited(root, buf, buflen, errbuf, errlen);
}

int
pgha_config_parameters(const char *config, PgHaParam *params, int maxparams,
					   char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *pg;
	json_t	   *parameters;
	const char *name;
	json_t	   *value;
	int			n = 0;
	bool		complained = false;

	if (errbuf != NULL && errlen > 0)
		errbuf[0] = '\0';
	if (config == NULL || config[0] == '\0')
		return 0;
	root = load_json(config, strlen(config), "config", errbuf, errlen);
	if (root == NULL)
		return -1;
	pg = json_object_get(root, "postgresql");
	parameters = pg ? json_object_get(pg, "parameters") : NULL;
	if (parameters == NULL || json_is_null(parameters))
	{
		json_decref(root);
		return 0;
	}
	if (!json_is_object(parameters))
	{
		json_decref(root);
		set_error(errbuf, errlen, "config: postgresql.parameters is not an object");
		return -1;
	}

	/*
	 * One bad entry is skipped alone (the first said in errbuf): dropping
	 * every parameter for it would reload each node without any of them.
	 */
#define SKIP(...) \
	{ \
		if (!complained) \
			set_error(errbuf, errlen, __VA_ARGS__); \
		complained = true; \
		continue; \
	}
	json_object_foreach(parameters, name, value)
	{
		PgHaParam  *p;
		int			len;
		char		quoted[PGHA_NAME_LEN];

		if (n >= maxparams)
			SKIP("config: more than %d parameters, the rest ignored", maxparams);
		p = &params[n];
		/* PostgreSQL's names are case-insensitive: TimeZone is timezone */
		if (strlen(name) >= sizeof(p->name) || name[0] == '\0' ||
			strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(name))
			SKIP("config: \"%s\" is not a parameter name, ignored",
				 quote_text(name, strlen(name), quoted, sizeof(quoted)));
		for (int i = 0; name[i] != '\0'; i++)
			p->name[i] = (char) ((name[i] >= 'A' && name[i] <= 'Z') ? name[i] - 'A' + 'a' : name[i]);
		p->name[strlen(name)] = '\0';
		if (json_is_string(value))
			len = snprintf(p->value, sizeof(p->value), "%s", json_string_value(value));
		else if (json_is_integer(value))
			len = snprintf(p->value, sizeof(p->value), "%lld", (long long) json_integer_value(value));
		else if (json_is_real(value))
			len = snprintf(p->value, sizeof(p->value), "%.17g", json_real_value(value));
		else if (json_is_boolean(value))
			len = snprintf(p->value, sizeof(p->value), "%s", json_is_true(value) ? "on" : "off");
		else
			SKIP("config: parameter %s is not a string, number or boolean, ignored", p->name);
		if (len < 0 || (size_t) len >= sizeof(p->value) ||
			(json_is_string(value) && strlen(p->value) != json_string_length(value)) ||
			strpbrk(p->value, "\r\n") != NULL)
			SKIP("config: the value of %s is longer than %d bytes or spans lines, ignored",
				 p->name, (int) sizeof(p->value) - 1);
		n++;
	}
#undef SKIP
	json_decref(root);
	return n;
}

int
pgha_config_with_parameter(const char *config, const char *name,
						   const char *value, char *buf, size_t buflen,
						   char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *pg;
	json_t	   *parameters;

	root = config_for_edit(config, config ? strlen(config) : 0, errbuf, errlen);
	if (root == NULL)
		return -1;
	pg = json_object_get(root, "postgresql");
	if (pg == NULL)
	{
		pg = new_object();
		json_object_set_new(root, "postgresql", pg);
	}
	parameters = json_is_object(pg) ? json_object_get(pg, "parameters") : NULL;
	if (json_is_object(pg) && parameters == NULL)
	{
		parameters = new_object();
		json_object_set_new(pg, "parameters", parameters);
	}
	if (!json_is_object(pg) || !json_is_object(parameters))
	{
		json_decref(root);
		set_error(errbuf, errlen, "config: postgresql.parameters is not an object");
		return -1;
	}
	if (value == NULL)
		json_object_del(parameters, name);
	else
	{
		long long	v;

		if (pgha_value_is_integer(value, &v))
			json_object_set_new(parameters, name, json_integer((json_int_t) v));
		else
			json_object_set_new(parameters, name, json_string(value));
	}
	return config_edited(root, buf, buflen, errbuf, errlen);
}

bool
pgha_is_sync_setting(const char *name)
{
	return name != NULL &&
		(strcmp(name, "synchronous_mode") == 0 ||
		 strcmp(name, "synchronous_mode_strict") == 0 ||
		 strcmp(name, "synchronous_node_count") == 0);
}

bool
pgha_sync_setting_value(const char *name, const char *value, long long *v,
						char *errbuf, size_t errlen)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};

	if (!pgha_is_sync_setting(name) || value == NULL)
	{
		set_error(errbuf, errlen, "not a synchronous mode setting");
		return false;
	}
	if (strcmp(name, "synchronous_node_count") == 0)
	{
		if (!pgha_value_is_integer(value, v) || *v < 1 || *v > PGHA_MAX_SYNC)
		{
			set_error(errbuf, errlen, "synchronous_node_count must be an integer from 1 to %d",
					  PGHA_MAX_SYNC);
			return false;
		}
		return true;
	}
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
	{
		if (strcasecmp(value, yes[i]) == 0)
		{
			*v = 1;
			return true;
		}
		if (strcasecmp(value, no[i]) == 0)
		{
			*v = 0;
			return true;
		}
	}
	set_error(errbuf, errlen, "%s must be a boolean (on or off)", name);
	return false;
}

int
pgha_config_with_sync_setting(const char *config, const char *name,
							  const char *value, char *buf, size_t buflen,
							  char *errbuf, size_t errlen)
{
	json_t	   *root;
	long long	v = 0;

	if (value != NULL && !pgha_sync_setting_value(name, value, &v, errbuf, errlen))
		return -1;
	if (!pgha_is_sync_setting(name))
	{
		set_error(errbuf, errlen, "not a synchronous mode setting");
		return -1;
	}
	root = config_for_edit(config, config ? strlen(config) : 0, errbuf, errlen);
	if (root == NULL)
		return -1;
	if (value == NULL)
		json_object_del(root, name);
	else if (strcmp(name, "synchronous_node_count") == 0)
		json_object_set_new(root, name, json_integer((json_int_t) v));
	else
		json_object_set_new(root, name, json_boolean(v != 0));
	return config_edited(root, buf, buflen, errbuf, errlen);
}

int
pgha_history_append(const char *history, uint32_t timeline, int64_t lsn,
					const char *reason, const char *when, const char *leader,
					char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *entry;
	int			n;

	root = (history && history[0]) ?
		load_json(history, strlen(history), "history", errbuf, errlen) : json_array();
	if (root == NULL)
		return -1;
	if (!json_is_array(root))
	{
		json_decref(root);
		set_error(errbuf, errlen, "history is not a JSON array");
		return -1;
	}
	entry = json_pack("[I, I, s, s, s]", (json_int_t) timeline, (json_int_t) lsn,
					  reason, when, leader);
	if (entry == NULL || json_array_append_new(root, entry) != 0)
	{
		json_decref(root);
		set_error(errbuf, errlen, "out of memory");
		return -1;
	}
	n = dump_into(root, buf, buflen);
	json_decref(root);
	if (n < 0)
		set_error(errbuf, errlen, "history is too large");
	return n;
}

void
pgha_slot_name(const char *member, char *slot, size_t len)
{
	size_t		i;

	for (i = 0; member[i] != '\0' && i < len - 1; i++)
	{
		char		c = member[i];

		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			c = '_';
		slot[i] = c;
	}
	slot[i] = '\0';
}

bool
pgha_split_conn_url(const char *url, char *host, size_t hostlen, int *port)
{
	const char *p = strstr(url, "://");
	const char *end;
	const char *colon;
	char	   *endptr;
	long		v;

	if (p == NULL)
		return false;
	p += 3;
	end = p + strcspn(p, "/?");
	if (*p == '[')
	{
		const char *close = memchr(p, ']', end - p);

		if (close == NULL || close[1] != ':')
			return false;
		snprintf(host, hostlen, "%.*s", (int) (close - p - 1), p + 1);
		colon = close + 1;
	}
	else
	{
		colon = memchr(p, ':', end - p);
		if (colon == NULL)
			return false;
		snprintf(host, hostlen, "%.*s", (int) (colon - p), p);
	}
	v = strtol(colon + 1, &endptr, 10);
	if (endptr != end || v < 1 || v > 65535 || host[0] == '\0')
		return false;
	*port = (int) v;
	return true;
}


bool
pgha_parse_patroni_status(const char *body, size_t len, PgHaFreshPosition *out,
						  char *errbuf, size_t errlen)
{
	json_t	   *root = load_json(body, len, "member status", errbuf, errlen);
	const json_t *xlog;
	const json_t *tl;
	const json_t *role;
	const char *names[] = {"location", "received_location", "replayed_location"};

	memset(out, 0, sizeof(*out));
	if (root == NULL)
		return false;
	if (!json_is_object(root))
	{
		set_error(errbuf, errlen, "member status is not a JSON object");
		json_decref(root);
		return false;
	}
	tl = json_object_get(root, "timeline");
	if (json_is_integer(tl) && json_integer_value(tl) > 0 &&
		json_integer_value(tl) <= UINT32_MAX)
		out->timeline = (uint32_t) json_integer_value(tl);
	role = json_object_get(root, "role");
	if (json_is_string(role) && json_string_length(role) < sizeof(out->role) &&
		strlen(json_string_value(role)) == json_string_length(role))
		strcpy(out->role, json_string_value(role));
	xlog = json_object_get(root, "xlog");
	for (size_t i = 0; json_is_object(xlog) && i < sizeof(names) / sizeof(names[0]); i++)
	{
		const json_t *v = json_object_get(xlog, names[i]);

		if (json_is_integer(v) && json_integer_value(v) >= 0 &&
			(!out->has_xlog || json_integer_value(v) > out->xlog))
		{
			out->has_xlog = true;
			out->xlog = (int64_t) json_integer_value(v);
		}
	}
	json_decref(root);
	return true;
}

int
pgha_parse_history(const char *history, PgHaHistoryEntry *entries, int max,
				   char *errbuf, size_t errlen)
{
	json_t	   *root;
	size_t		total;
	size_t		first;
	int			n = 0;

	if (history == NULL || history[0] == '\0')
		return 0;
	root = load_json(history, strlen(history), "history", errbuf, errlen);
	if (root == NULL)
		return -1;
	if (!json_is_array(root))
	{
		json_decref(root);
		set_error(errbuf, errlen, "history is not a JSON array");
		return -1;
	}
	total = json_array_size(root);
	first = total > (size_t) max ? total - (size_t) max : 0;
	for (size_t i = first; i < total; i++)
	{
		json_t	   *e = json_array_get(root, i);
		PgHaHistoryEntry *h = &entries[n];
		json_t	   *v;

		memset(h, 0, sizeof(*h));
		if (!json_is_array(e) || json_array_size(e) < 3 ||
			!json_is_integer(json_array_get(e, 0)) ||
			!json_is_integer(json_array_get(e, 1)) ||
			json_integer_value(json_array_get(e, 0)) < 0 ||
			json_integer_value(json_array_get(e, 0)) > UINT32_MAX ||
			json_integer_value(json_array_get(e, 1)) < 0)
		{
			json_decref(root);
			set_error(errbuf, errlen, "history entry %zu is not [timeline, lsn, reason, ...]", i);
			return -1;
		}
		h->timeline = (uint32_t) json_integer_value(json_array_get(e, 0));
		h->lsn = (int64_t) json_integer_value(json_array_get(e, 1));
		if (json_is_string(v = json_array_get(e, 2)))
			snprintf(h->reason, sizeof(h->reason), "%s", json_string_value(v));
		if (json_is_string(v = json_array_get(e, 3)))
			snprintf(h->when, sizeof(h->when), "%s", json_string_value(v));
		if (json_is_string(v = json_array_get(e, 4)))
			snprintf(h->leader, sizeof(h->leader), "%s", json_string_value(v));
		n++;
	}
	json_decref(root);
	return n;
}

bool
pgha_value_is_integer(const char *value, long long *result)
{
	char	   *end;
	long long	v;

	errno = 0;
	v = strtoll(value, &end, 10);
	if (value[0] == '\0' || *end != '\0' || errno != 0)
		return false;
	*result = v;
	return true;
}

/* ----- session TTL, HA timings of the config key */

bool
pgha_parse_session_ttl(const char *body, size_t len, int *ttl_ms)
{
	json_t	   *root = load_json(body, len, "session info answer", NULL, 0);
	const json_t *ttl;
	const char *p;
	double		total = 0;
	bool		ok = false;

	if (root == NULL || ttl_ms == NULL)
		goto done;
	if (!json_is_array(root) || json_array_size(root) == 0 ||
		!json_is_object(json_array_get(root, 0)))
		goto done;
	ttl = json_object_get(json_array_get(root, 0), "TTL");
	if (!json_is_string(ttl) || json_string_length(ttl) == 0 ||
		json_string_length(ttl) > 32)
		goto done;
	/* a Go duration: 15s, 1m30s, 500ms, 1h */
	p = json_string_value(ttl);
	while (*p != '\0')
	{
		char	   *end;
		double		v = strtod(p, &end);

		if (end == p || v < 0)
			goto done;
		p = end;
		if (strncmp(p, "ms", 2) == 0)
			total += v, p += 2;
		else if (*p == 's')
			total += v * 1000, p++;
		else if (*p == 'm')
			total += v * 60000, p++;
		else if (*p == 'h')
			total += v * 3600000, p++;
		else
			goto done;
	}
	if (total <= 0 || total > INT_MAX)
		goto done;
	*ttl_ms = (int) total;
	ok = true;
done:
	if (root)
		json_decref(root);
	return ok;
}

/* the timings pg_ha takes from the config key, with pg_ha.*'s ranges */
static const struct
{
	const char *name;
	int			min_ms;
	int			max_ms;
}			config_timings[] = {
	{"ttl", 2000, 3600 * 1000},
	{"loop_wait", 100, 3600 * 1000},
	{"retry_timeout", 100, 3600 * 1000},
};

/* seconds as a JSON number or numeric string, into ms; false if not one */
static bool
json_seconds_ms(const json_t *v, double *ms)
{
	double		sec;

	if (json_is_integer(v))
		sec = (double) json_integer_value(v);
	else if (json_is_real(v))
		sec = json_real_value(v);
	else if (json_is_string(v))
	{
		const char *s = json_string_value(v);
		char	   *end;

		if (s[0] == '\0' || json_string_length(v) > 32)
			return false;
		sec = strtod(s, &end);
		if (*end != '\0' || end == s)
			return false;
	}
	else
		return false;
	if (!(sec >= 0 && sec <= 1e9))	/* also false for NaN */
		return false;
	*ms = sec * 1000.0;
	return true;
}

bool
pgha_config_timings(const char *config, int *ttl_ms, int *loop_wait_ms,
					int *retry_timeout_ms, char *errbuf, size_t errlen)
{
	json_t	   *root;
	int			values[3];
	int		   *out[3] = {ttl_ms, loop_wait_ms, retry_timeout_ms};

	if (config == NULL || config[0] == '\0')
		return true;
	root = load_json(config, strlen(config), "config", errbuf, errlen);
	if (root == NULL)
		return false;
	if (!json_is_object(root))
	{
		json_decref(root);
		set_error(errbuf, errlen, "config is not a JSON object");
		return false;
	}
	for (int i = 0; i < 3; i++)
	{
		const json_t *v = json_object_get(root, config_timings[i].name);
		double		ms;

		values[i] = *out[i];
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_seconds_ms(v, &ms))
		{
			set_error(errbuf, errlen, "config: %s is not a number of seconds",
					  config_timings[i].name);
			json_decref(root);
			return false;
		}
		if (ms < config_timings[i].min_ms || ms > config_timings[i].max_ms)
		{
			set_error(errbuf, errlen,
					  "config: %s of %.0f ms is outside the valid range (%d .. %d ms)",
					  config_timings[i].name, ms, config_timings[i].min_ms,
					  config_timings[i].max_ms);
			json_decref(root);
			return false;
		}
		values[i] = (int) (ms + 0.5);
	}
	json_decref(root);
	for (int i = 0; i < 3; i++)
		*out[i] = values[i];
	return true;
}

bool
pgha_timing_valid(int ttl_ms, int loop_wait_ms, int retry_timeout_ms,
				  char *errbuf, size_t errlen)
{
	int64_t		need = (int64_t) loop_wait_ms + 2 * (int64_t) retry_timeout_ms;

	if (need > ttl_ms)
	{
		set_error(errbuf, errlen,
				  "loop_wait (%d ms) + 2 * retry_timeout (%d ms) = %lld ms exceeds ttl (%d ms)",
				  loop_wait_ms, retry_timeout_ms, (long long) need, ttl_ms);
		return false;
	}
	return true;
}

int
pgha_config_with_timing(const char *config, const char *name, int ms,
						char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	json_t	   *root;
	bool		known = false;

	for (int i = 0; i < 3; i++)
		known |= strcmp(name, config_timings[i].name) == 0;
	if (!known)
	{
		set_error(errbuf, errlen, "%s is not a timing of the config key", name);
		return -1;
	}
	root = config_for_edit(config && config[0] ? config : NULL,
						   config ? strlen(config) : 0, errbuf, errlen);
	if (root == NULL)
		return -1;
	if (ms < 0)
		json_object_del(root, name);
	else if (ms % 1000 == 0)
		json_object_set_new(root, name, json_integer((json_int_t) (ms / 1000)));
	else
		json_object_set_new(root, name, json_real(ms / 1000.0));
	return config_edited(root, buf, buflen, errbuf, errlen);
}

/* ----- hot standby parameters and the order of restarts */

typedef struct RestartSim
{
	const PgHaCluster *c;
	int			leader;			/* member index, -1: none */
	bool		configured[PGHA_HS_NPARAMS];
	int64_t		conf_value[PGHA_HS_NPARAMS];
	int64_t		running[PGHA_MAX_MEMBERS][PGHA_HS_NPARAMS];	/* as simulated */
} RestartSim;

/* the hot standby values the config key sets */
static void
configured_hs_values(const PgHaCluster *c, bool configured[PGHA_HS_NPARAMS],
					 int64_t values[PGHA_HS_NPARAMS])
{
	PgHaParam  *params = calloc(PGHA_MAX_PARAMS, sizeof(PgHaParam));
	int			nparams;

	memset(configured, 0, sizeof(bool) * PGHA_HS_NPARAMS);
	if (params == NULL)
		return;
	/* a config we cannot read sets nothing: PostgreSQL's check came first */
	nparams = c->config_valid ?
		pgha_config_parameters(c->config_json, params, PGHA_MAX_PARAMS, NULL, 0) : 0;
	for (int i = 0; i < nparams; i++)
		for (int k = 0; k < PGHA_HS_NPARAMS; k++)
		{
			long long	v;

			if (strcmp(params[i].name, pgha_hs_param_names[k]) == 0 &&
				pgha_value_is_integer(params[i].value, &v) && v >= 0)
			{
				configured[k] = true;
				values[k] = (int64_t) v;
			}
		}
	free(params);
}

void
pgha_hs_targets(const PgHaCluster *c, const int64_t running[PGHA_HS_NPARAMS],
				int64_t targets[PGHA_HS_NPARAMS])
{
	bool		configured[PGHA_HS_NPARAMS];
	int64_t		values[PGHA_HS_NPARAMS];

	configured_hs_values(c, configured, values);
	for (int k = 0; k < PGHA_HS_NPARAMS; k++)
		targets[k] = configured[k] ? values[k] : running[k];
}

static int64_t
sim_target(const RestartSim *s, int m, int k)
{
	return s->configured[k] ? s->conf_value[k] : s->running[m][k];
}

/* Is restarting member m safe now?  If not, why in msg and hint. */
static bool
sim_safe(const RestartSim *s, int m, char *msg, size_t msglen,
		 char *hint, size_t hintlen)
{
	const PgHaCluster *c = s->c;
	const char *name = c->members[m].name;

	if (!c->members[m].has_hs_values || s->leader < 0)
		return true;
	if (m == s->leader)
	{
		char		lower[PGHA_NAME_LEN * 4] = "";
		bool		ok = true;

		for (int r = 0; r < c->nmembers && r < PGHA_MAX_MEMBERS; r++)
		{
			bool		blocked = false;

			if (r == m || !c->members[r].has_hs_values)
				continue;
			for (int k = 0; k < PGHA_HS_NPARAMS; k++)
			{
				if (sim_target(s, m, k) <= s->running[r][k])
					continue;
				if (ok)
					set_error(msg, msglen,
							  "restarting leader \"%s\" now would stop replica \"%s\": the leader's %s would become %lld, and \"%s\" runs with %lld",
							  name, c->members[r].name, pgha_hs_param_names[k],
							  (long long) sim_target(s, m, k), c->members[r].name,
							  (long long) s->running[r][k]);
				ok = false;
				blocked = true;
				break;
			}
			if (blocked && strlen(lower) + strlen(c->members[r].name) + 3 < sizeof(lower))
			{
				if (lower[0])
					strcat(lower, ", ");
				strcat(lower, c->members[r].name);
			}
		}
		if (!ok)
			set_error(hint, hintlen,
					  "A hot standby needs these parameters at least as high as its primary's: restart the replicas first (%s), then the leader \"%s\"; or restart the whole cluster, which orders the restarts itself.",
					  lower, name);
		return ok;
	}
	for (int k = 0; k < PGHA_HS_NPARAMS; k++)
	{
		if (!c->members[s->leader].has_hs_values ||
			sim_target(s, m, k) >= s->running[s->leader][k])
			continue;
		set_error(msg, msglen,
				  "restarting replica \"%s\" now would stop it: its %s would become %lld, below the %lld that leader \"%s\" runs with",
				  name, pgha_hs_param_names[k], (long long) sim_target(s, m, k),
				  (long long) s->running[s->leader][k], c->members[s->leader].name);
		set_error(hint, hintlen,
				  "A hot standby needs these parameters at least as high as its primary's: restart the leader \"%s\" first, then the replicas; or restart the whole cluster, which orders the restarts itself.",
				  c->members[s->leader].name);
		return false;
	}
	return true;
}

static int
member_index(const PgHaCluster *c, const char *name)
{
	for (int i = 0; i < c->nmembers && i < PGHA_MAX_MEMBERS; i++)
		if (strncmp(c->members[i].name, name, PGHA_NAME_LEN) == 0)
			return i;
	return -1;
}

bool
pgha_restart_order(const PgHaCluster *c, const char *const *names, int n,
				   char (*order)[PGHA_NAME_LEN], char *msg, size_t msglen,
				   char *hint, size_t hintlen)
{
	RestartSim *s;
	int			todo[PGHA_MAX_MEMBERS];
	int			ntodo = 0;
	int			done = 0;
	bool		ok = true;

	if (c == NULL || (names == NULL && n > 0) || n < 0 || n > PGHA_MAX_MEMBERS)
	{
		set_error(msg, msglen, "invalid arguments to pgha_restart_order");
		return false;
	}
	s = calloc(1, sizeof(RestartSim));
	if (s == NULL)
	{
		set_error(msg, msglen, "out of memory");
		return false;
	}
	s->c = c;
	s->leader = (c->has_leader && c->leader_session[0] != '\0') ?
		member_index(c, c->leader) : -1;
	for (int i = 0; i < c->nmembers && i < PGHA_MAX_MEMBERS; i++)
		memcpy(s->running[i], c->members[i].hs_values, sizeof(s->running[i]));

	configured_hs_values(c, s->configured, s->conf_value);

	/* the members to restart: replicas by name, then the leader */
	for (int i = 0; i < n; i++)
	{
		int			m = member_index(c, names[i]);
		bool		dup = false;

		if (m < 0)
		{
			set_error(msg, msglen, "cluster has no member \"%s\"", names[i]);
			set_error(hint, hintlen, "Name a member of the cluster.");
			ok = false;
			goto done;
		}
		for (int j = 0; j < ntodo; j++)
			dup |= todo[j] == m;
		if (!dup)
			todo[ntodo++] = m;
	}
	for (int i = 1; i < ntodo; i++)
		for (int j = i; j > 0; j--)
		{
			int			a = todo[j - 1];
			int			b = todo[j];
			bool		swap = (a == s->leader) ||
				(b != s->leader && strcmp(c->members[a].name, c->members[b].name) > 0);

			if (!swap)
				break;
			todo[j - 1] = b;
			todo[j] = a;
		}

	/* greedily: the first member whose restart is safe now, again and again */
	while (done < ntodo)
	{
		int			pick = -1;
		char		first_msg[PGHA_ERR_LEN * 2] = "";
		char		first_hint[PGHA_ERR_LEN * 2] = "";

		for (int i = done; i < ntodo && pick < 0; i++)
		{
			char		m_msg[PGHA_ERR_LEN * 2];
			char		m_hint[PGHA_ERR_LEN * 2];

			if (sim_safe(s, todo[i], m_msg, sizeof(m_msg), m_hint, sizeof(m_hint)))
				pick = i;
			else if (first_msg[0] == '\0')
			{
				strcpy(first_msg, m_msg);
				strcpy(first_hint, m_hint);
			}
		}
		if (pick < 0)
		{
			if (ntodo - done == 1)
			{
				set_error(msg, msglen, "%s", first_msg);
				set_error(hint, hintlen, "%s", first_hint);
			}
			else
			{
				set_error(msg, msglen,
						  "no order of these restarts is safe for hot standby: the new values raise some of %s, %s, %s, %s, %s and lower others (%s)",
						  pgha_hs_param_names[0], pgha_hs_param_names[1],
						  pgha_hs_param_names[2], pgha_hs_param_names[3],
						  pgha_hs_param_names[4], first_msg);
				set_error(hint, hintlen,
						  "Change the raised and the lowered parameters in two steps, with a restart of the cluster after each.");
			}
			ok = false;
			goto done;
		}
		/* the picked member runs with its new values from now on */
		{
			int			m = todo[pick];

			for (int k = 0; k < PGHA_HS_NPARAMS; k++)
				s->running[m][k] = sim_target(s, m, k);
			memmove(&todo[done + 1], &todo[done], sizeof(int) * (pick - done));
			todo[done] = m;
			if (order != NULL)
				snprintf(order[done], PGHA_NAME_LEN, "%s", c->members[m].name);
			done++;
		}
	}
done:
	free(s);
	return ok;
}
