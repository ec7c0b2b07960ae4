/*-------------------------------------------------------------------------
 *
 * config_patch.c
 *	  An edit of the config key: Patroni's patch_config, a JSON merge patch.
 *
 * The config key holds the cluster-wide configuration (Patroni's dynamic
 * configuration).  A patch is applied as Patroni 3.0.2's patch_config()
 * applies it: null removes a key, objects merge, anything else replaces.
 * What the nodes must be able to read is checked first (the parameters'
 * values as text, the synchronous mode switches), and a parameter named
 * in another case replaces the config's spelling of it.  PATCH /config of
 * the REST API is the caller today (hence the function's name); the value
 * of each parameter is left to the caller to check with PostgreSQL.
 *
 * Pure and frontend-safe: libc and jansson, no PostgreSQL, no I/O.  What
 * this file is not for: reading or writing the key (api_action.c does it with
 * check-and-set), the timing rule (pgha_config_timings()).
 *
 *-------------------------------------------------------------------------
 */
#include "config_patch.h"
#include "config_key.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

/*
 * The patch: a JSON object with at least one key, of at most
 * PGHA_CONFIG_PATCH_MAX bytes.  NULL with msg when it is not.
 */
static json_t *
load_patch(const char *patch, size_t len, char *msg, size_t msglen)
{
	json_t	   *p = NULL;

	if (patch != NULL && len > PGHA_CONFIG_PATCH_MAX)
	{
		snprintf(msg, msglen, "the request body is too large");
		return NULL;
	}
	if (patch != NULL && len > 0)
		p = json_loadb(patch, len, JSON_REJECT_DUPLICATES, NULL);
	if (json_is_object(p) && json_object_size(p) > 0)
		return p;
	if (p != NULL)
		json_decref(p);
	snprintf(msg, msglen, "a JSON object is expected as the request body");
	return NULL;
}

/* Patroni's patch_config(): true when config changed. */
static bool
merge_patch(json_t *config, json_t *patch, bool *oom)
{
	const char *key;
	json_t	   *value;
	bool		changed = false;

	json_object_foreach(patch, key, value)
	{
		json_t	   *cur = json_object_get(config, key);

		if (json_is_null(value))
		{
			if (cur != NULL)
			{
				bool		was_null = json_is_null(cur);

				json_object_del(config, key);
				if (!was_null)
					changed = true;
			}
		}
		else if (cur != NULL && json_is_object(value) && json_is_object(cur))
		{
			if (merge_patch(cur, value, oom))
				changed = true;
		}
		else if (cur == NULL || !json_equal(cur, value))
		{
			json_t	   *copy = json_deep_copy(value);

			if (copy == NULL || json_object_set_new(config, key, copy) != 0)
				*oom = true;
			changed = true;
		}
	}
	return changed;
}

/*
 * A parameter the patch names replaces the config's spellings of it in
 * another case too ("max_connections" for "MAX_Connections"): the nodes
 * read names case-insensitively, and two spellings would leave it to
 * chance which value they apply.
 */
static void
drop_case_variants(json_t *root, json_t *patch_params, bool *changed)
{
	json_t	   *pg = json_object_get(root, "postgresql");
	json_t	   *params = json_is_object(pg) ? json_object_get(pg, "parameters") : NULL;
	const char *name;
	json_t	   *v;

	if (!json_is_object(params) || !json_is_object(patch_params))
		return;
	json_object_foreach(patch_params, name, v)
	{
		const char *have;
		json_t	   *hv;
		void	   *tmp;

		json_object_foreach_safe(params, tmp, have, hv)
		{
			if (strcmp(have, name) != 0 && strcasecmp(have, name) == 0)
			{
				json_object_del(params, have);
				*changed = true;
			}
		}
	}
}

/* A parameter's value as text; false when it is not a scalar. */
static bool
param_text(json_t *v, char *buf, size_t len)
{
	int			n;

	if (json_is_string(v))
		n = snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_integer(v))
		n = snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else if (json_is_real(v))
		n = snprintf(buf, len, "%.17g", json_real_value(v));
	else if (json_is_true(v))
		n = snprintf(buf, len, "on");
	else if (json_is_false(v))
		n = snprintf(buf, len, "off");
	else
		return false;
	return n >= 0 && (size_t) n < len;
}

int
pgha_api_patch_config(const char *config, const char *patch, size_t patchlen,
					  char **result, bool *changed, PgHaParam *params,
					  int maxparams, int *nparams, char *msg, size_t msglen)
{
	json_t	   *root = NULL;
	json_t	   *p;
	json_t	   *pg;
	json_t	   *pp;
	bool		oom = false;
	int			status = 0;

	*result = NULL;
	*changed = false;
	*nparams = 0;
	p = load_patch(patch, patchlen, msg, msglen);
	if (p == NULL)
		return 400;

	/* the parameters the patch sets, for PostgreSQL's own check */
	pg = json_object_get(p, "postgresql");
	pp = json_is_object(pg) ? json_object_get(pg, "parameters") : NULL;
	if (pg != NULL && !json_is_object(pg) && !json_is_null(pg))
	{
		snprintf(msg, msglen, "\"postgresql\" must be an object");
		status = 400;
	}
	else if (pp != NULL && !json_is_object(pp) && !json_is_null(pp))
	{
		snprintf(msg, msglen, "\"postgresql.parameters\" must be an object");
		status = 400;
	}
	else if (json_is_object(pp))
	{
		const char *name;
		json_t	   *v;

		json_object_foreach(pp, name, v)
		{
			if (json_is_null(v))
				continue;
			if (strlen(name) == 0 || strlen(name) >= PGHA_NAME_LEN)
			{
				snprintf(msg, msglen, "bad parameter name \"%.64s\"", name);
				status = 400;
				break;
			}
			if (*nparams >= maxparams)
			{
				snprintf(msg, msglen, "too many parameters in one request");
				status = 400;
				break;
			}
			/* PostgreSQL's names ignore case: one setting, one value */
			for (int i = 0; i < *nparams && status == 0; i++)
				if (strcasecmp(params[i].name, name) == 0)
				{
					snprintf(msg, msglen, "parameter \"%s\" is given twice (as \"%s\"): names are case-insensitive",
							 name, params[i].name);
					status = 400;
				}
			if (status != 0)
				break;
			strcpy(params[*nparams].name, name);
			if (!param_text(v, params[*nparams].value, sizeof(params[*nparams].value)))
			{
				snprintf(msg, msglen, "parameter \"%s\": the value must be a string, a number or a boolean, of fewer than %d bytes",
						 name, PGHA_URL_LEN);
				status = 400;
				break;
			}
			(*nparams)++;
		}
	}
	/* the synchronous mode switches: what the nodes can read, or 400 */
	for (int i = 0; i < 3 && status == 0; i++)
	{
		static const char *const names[] = {
			"synchronous_mode", "synchronous_mode_strict", "synchronous_node_count"
		};
		json_t	   *v = json_object_get(p, names[i]);
		long long	n;
		char		err[PGHA_ERR_LEN];
		bool		good;

		if (v == NULL || json_is_null(v))
			continue;
		if (i == 2)
			good = json_is_integer(v) && json_integer_value(v) >= 1 &&
				json_integer_value(v) <= PGHA_MAX_SYNC;
		else
			good = json_is_boolean(v) ||
				(json_is_string(v) &&
				 pgha_sync_setting_value(names[i], json_string_value(v), &n, err, sizeof(err)));
		if (!good)
		{
			(void) pgha_sync_setting_value(names[i], "?", &n, err, sizeof(err));
			snprintf(msg, msglen, "%s", err);
			status = 400;
		}
	}
	if (status != 0)
	{
		json_decref(p);
		return status;
	}

	if (config != NULL)
	{
		root = json_loads(config, 0, NULL);
		if (root == NULL || !json_is_object(root))
		{
			if (root != NULL)
				json_decref(root);
			json_decref(p);
			snprintf(msg, msglen, "the config key in Consul is not a JSON object");
			return 500;
		}
	}
	else
		root = json_pack("{}");
	if (root == NULL)
	{
		json_decref(p);
		snprintf(msg, msglen, "out of memory");
		return 500;
	}
	drop_case_variants(root, pp, changed);
	*changed = merge_patch(root, p, &oom) || *changed;
	json_decref(p);
	if (!oom)
		*result = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(root);
	if (*result == NULL)
	{
		snprintf(msg, msglen, "out of memory");
		return 500;
	}
	if (strlen(*result) >= PGHA_CONFIG_LEN)
	{
		free(*result);
		*result = NULL;
		snprintf(msg, msglen, "the configuration would be larger than %d bytes", PGHA_CONFIG_LEN - 1);
		return 400;
	}
	return 0;
}
