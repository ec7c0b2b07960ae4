/*-------------------------------------------------------------------------
 *
 * config_key.c
 *	  Read and edit the config key's JSON (config_key.h).
 *
 * The key is outside data: an operator, patronictl or another pg_ha may
 * have written anything.  Readers skip what they cannot use and say so in
 * errbuf; editors refuse a value that is not a JSON object rather than
 * replace it, and keep every key they do not edit as it was, in its order.
 *
 * The rule of which parameters the configuration may not set (pg_ha owns
 * them, or they are per node) is here too, so that the SQL functions, the
 * REST API, pg_ha_ctl and the writer of pg_ha.conf apply one list.
 *
 * What this file is not for: writing the key to Consul (the SQL
 * functions, the REST API, pg_ha_ctl), deciding whether an operator may
 * change a setting (operator_rules.c), or putting the parameters into
 * pg_ha.conf (the HA worker).
 *
 * src/common/config_key.c
 *
 *-------------------------------------------------------------------------
 */
#include "config_key.h"
#include "json_util.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
		if ((root = pgha_json_new_object()) == NULL)
			pgha_set_error(errbuf, errlen, "out of memory");
		return root;
	}
	return pgha_json_load_as(config, len, "config", JSON_OBJECT, errbuf, errlen);
}

/* The edited config into buf (length, or -1 with errbuf set); frees root. */
static int
config_edited(json_t *root, char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	int			n = pgha_json_dump(root, buf, buflen);

	json_decref(root);
	if (n < 0)
		pgha_set_error(errbuf, errlen, "config is too large");
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
	root = pgha_json_load(config, strlen(config), "config", errbuf, errlen);
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
		pgha_set_error(errbuf, errlen, "config: postgresql.parameters is not an object");
		return -1;
	}

	/*
	 * One bad entry is skipped alone (the first said in errbuf): dropping
	 * every parameter for it would reload each node without any of them.
	 */
#define SKIP(...) \
	{ \
		if (!complained) \
			pgha_set_error(errbuf, errlen, __VA_ARGS__); \
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
				 pgha_quote_text(name, strlen(name), quoted, sizeof(quoted)));
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
		pg = pgha_json_new_object();
		json_object_set_new(root, "postgresql", pg);
	}
	parameters = json_is_object(pg) ? json_object_get(pg, "parameters") : NULL;
	if (json_is_object(pg) && parameters == NULL)
	{
		parameters = pgha_json_new_object();
		json_object_set_new(pg, "parameters", parameters);
	}
	if (!json_is_object(pg) || !json_is_object(parameters))
	{
		json_decref(root);
		pgha_set_error(errbuf, errlen, "config: postgresql.parameters is not an object");
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

const char *
pgha_owned_parameter(const char *name)
{
	static const char *const node_local[] = {
		"primary_conninfo", "primary_slot_name", "recovery_target_timeline",
		"shared_preload_libraries", "port", "listen_addresses",
		"data_directory", "hba_file", "ident_file", "config_file",
		"hot_standby", "wal_level"
	};

	/* PostgreSQL's parameter names are case-insensitive */
	if (strncasecmp(name, "pg_ha.", 6) == 0)
		return "pg_ha's own settings are per node, in postgresql.conf";
	for (size_t i = 0; i < sizeof(node_local) / sizeof(node_local[0]); i++)
		if (strcasecmp(name, node_local[i]) == 0)
			return "pg_ha sets it itself, or it is per node";
	return NULL;
}

bool
pgha_switch_word(const char *word, bool *on)
{
	static const char *const yes[] = {"on", "true", "yes", "1"};
	static const char *const no[] = {"off", "false", "no", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
	{
		if (strcasecmp(word, yes[i]) == 0)
		{
			*on = true;
			return true;
		}
		if (strcasecmp(word, no[i]) == 0)
		{
			*on = false;
			return true;
		}
	}
	return false;
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
	bool		on;

	if (!pgha_is_sync_setting(name) || value == NULL)
	{
		pgha_set_error(errbuf, errlen, "not a synchronous mode setting");
		return false;
	}
	if (strcmp(name, "synchronous_node_count") == 0)
	{
		if (!pgha_value_is_integer(value, v) || *v < 1 || *v > PGHA_MAX_SYNC)
		{
			pgha_set_error(errbuf, errlen, "synchronous_node_count must be an integer from 1 to %d",
						   PGHA_MAX_SYNC);
			return false;
		}
		return true;
	}
	if (pgha_switch_word(value, &on))
	{
		*v = on ? 1 : 0;
		return true;
	}
	pgha_set_error(errbuf, errlen, "%s must be a boolean (on or off)", name);
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
		pgha_set_error(errbuf, errlen, "not a synchronous mode setting");
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

/* ----- HA timings */

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
	root = pgha_json_load_as(config, strlen(config), "config", JSON_OBJECT,
							 errbuf, errlen);
	if (root == NULL)
		return false;
	for (int i = 0; i < 3; i++)
	{
		const json_t *v = json_object_get(root, config_timings[i].name);
		double		ms;

		values[i] = *out[i];
		if (v == NULL || json_is_null(v))
			continue;
		if (!json_seconds_ms(v, &ms))
		{
			pgha_set_error(errbuf, errlen, "config: %s is not a number of seconds",
						   config_timings[i].name);
			json_decref(root);
			return false;
		}
		if (ms < config_timings[i].min_ms || ms > config_timings[i].max_ms)
		{
			pgha_set_error(errbuf, errlen,
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
		pgha_set_error(errbuf, errlen,
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
		pgha_set_error(errbuf, errlen, "%s is not a timing of the config key", name);
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
