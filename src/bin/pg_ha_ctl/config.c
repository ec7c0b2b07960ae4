/*-------------------------------------------------------------------------
 *
 * config.c
 *	  pg_ha_ctl show-config, edit-config, restart and reload.
 *
 *	show-config
 *		the config key as YAML, as patronictl show-config prints it (PyYAML's
 *		safe_dump: block style, keys sorted).
 *	edit-config
 *		change the config key: --set NAME=VALUE (a top-level or dotted key),
 *		-p NAME=VALUE (postgresql.parameters.NAME), or the YAML in $EDITOR.
 *		The unified diff of the old and new rendering is shown (diff -u),
 *		confirmed, and written with check-and-set on the key's ModifyIndex:
 *		a change made meanwhile by someone else is never overwritten.
 *	restart
 *		write restart/<member> (as pg_ha_restart() in SQL; the member's HA
 *		worker restarts its server, keeping its Consul session), replicas
 *		first and the leader last, each waited for before the next.
 *	reload
 *		POST /reload to each member's REST API.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "common/logging.h"
#include "cluster.h"
#include "config_key.h"
#include "names.h"
#include "pg_ha_ctl.h"
#include "restart_order.h"

#define POLL_US				500000L

/* ----- the config key */

/* the config key's JSON as an object ({} when absent); NULL on error */
static json_t *
read_config(const CtlOptions *opt, CtlKv *kv)
{
	json_t	   *root;
	json_error_t jerr;

	if (!ctl_kv_get(opt, "config", kv))
		return NULL;
	if (!kv->exists || kv->value[strspn(kv->value, " \t\r\n")] == '\0')
		return json_pack("{}");
	root = json_loadb(kv->value, kv->len, 0, &jerr);
	if (!json_is_object(root))
	{
		pg_log_error("the config key of cluster \"%s\" is not a JSON object%s%s",
					 opt->cluster, root ? "" : ": ", root ? "" : jerr.text);
		pg_log_error_hint("Fix key \"%s/%s/config\" in Consul first.",
						  opt->namespace, opt->cluster);
		json_decref(root);
		return NULL;
	}
	return root;
}

/* a cluster with no key at all is not known */
static bool
check_known(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	bool		ok = ctl_read_known_cluster(opt, c);

	pg_free(c);
	return ok;
}

int
cmd_show_config(const CtlOptions *opt)
{
	CtlKv		kv;
	json_t	   *root;
	char	   *yaml;

	if (!check_known(opt) || (root = read_config(opt, &kv)) == NULL)
		return 1;
	yaml = ctl_render_yaml(root);
	fputs(yaml, stdout);
	json_decref(root);
	ctl_kv_free(&kv);
	return 0;
}

/* NAME=VALUE; false with the error logged */
static bool
split_setting(const char *arg, const char *option, char **name, const char **value)
{
	const char *eq = strchr(arg, '=');

	if (eq == NULL || eq == arg)
	{
		pg_log_error("invalid %s \"%s\": give NAME=VALUE", option, arg);
		return false;
	}
	*name = pnstrdup(arg, eq - arg);
	*value = eq + 1;
	return true;
}

/* --set path.to.key=VALUE (VALUE as YAML; null removes) */
static bool
apply_set(json_t *root, const char *arg)
{
	char	   *name;
	const char *value;
	json_t	   *node = root;
	char	   *part;
	char	   *dot;
	json_t	   *v;
	char		err[256];

	if (!split_setting(arg, "--set", &name, &value))
		return false;
	v = ctl_parse_yaml_value(value, err, sizeof(err));
	if (v == NULL)
	{
		pg_log_error("invalid value in --set \"%s\": %s", arg, err);
		return false;
	}
	part = name;
	while ((dot = strchr(part, '.')) != NULL)
	{
		json_t	   *child;

		*dot = '\0';
		if (part[0] == '\0')
			break;
		child = json_object_get(node, part);
		if (child == NULL)
		{
			if (json_is_null(v))
				return true;	/* nothing to remove */
			child = json_pack("{}");
			json_object_set_new(node, part, child);
		}
		else if (!json_is_object(child))
		{
			pg_log_error("cannot set \"%s\": \"%s\" is not a mapping", arg, part);
			return false;
		}
		node = child;
		part = dot + 1;
	}
	if (part[0] == '\0')
	{
		pg_log_error("invalid key in --set \"%s\"", arg);
		return false;
	}
	if (json_is_null(v))
		json_object_del(node, part);
	else
		json_object_set_new(node, part, v);
	return true;
}

/* postgresql.parameters of root, created when create */
static json_t *
parameters_of(json_t *root, bool create)
{
	json_t	   *pg = json_object_get(root, "postgresql");
	json_t	   *params;

	if (pg == NULL && create)
	{
		pg = json_pack("{}");
		json_object_set_new(root, "postgresql", pg);
	}
	if (!json_is_object(pg))
		return NULL;
	params = json_object_get(pg, "parameters");
	if (params == NULL && create)
	{
		params = json_pack("{}");
		json_object_set_new(pg, "parameters", params);
	}
	return json_is_object(params) ? params : NULL;
}

/* -p name=value: as pg_ha_set_config() stores it (an integer as a number) */
static bool
apply_pg(json_t *root, const char *arg)
{
	char	   *name;
	const char *value;
	json_t	   *params;

	if (!split_setting(arg, "-p", &name, &value))
		return false;
	if (strspn(name, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.") != strlen(name) ||
		isdigit((unsigned char) name[0]) || name[0] == '.')
	{
		pg_log_error("invalid parameter name \"%s\"", name);
		return false;
	}
	params = parameters_of(root, strcmp(value, "null") != 0);
	if (params == NULL)
	{
		if (strcmp(value, "null") == 0)
			return true;
		pg_log_error("postgresql.parameters of the config key is not a mapping");
		return false;
	}
	if (strcmp(value, "null") == 0)
		json_object_del(params, name);
	else
	{
		long long	v;

		if (pgha_value_is_integer(value, &v))
			json_object_set_new(params, name, json_integer((json_int_t) v));
		else
			json_object_set_new(params, name, json_string(value));
	}
	return true;
}

/* the new config must be one pg_ha (and Patroni) can use */
static bool
check_config(json_t *old, json_t *new)
{
	json_t	   *pg;
	json_t	   *params;
	json_t	   *oldparams;
	const char *name;
	json_t	   *v;
	char	   *text;
	char		why[PGHA_ERR_LEN];

	/*
	 * pg_ha's defaults stand in for timings the key does not set (the nodes'
	 * pg_ha.* settings, which this program cannot read)
	 */
	int			ttl = 10000;
	int			loop_wait = 2000;
	int			retry = 3000;

	if (!json_is_object(new))
	{
		pg_log_error("the configuration must be a mapping");
		return false;
	}
	v = json_object_get(new, "maximum_lag_on_failover");
	if (v != NULL && (!json_is_integer(v) || json_integer_value(v) < 0))
	{
		pg_log_error("maximum_lag_on_failover must be a non-negative integer");
		return false;
	}
	/* the same checks as every node's HA worker makes */
	text = json_dumps(new, JSON_COMPACT);
	if (text == NULL)
	{
		pg_log_error("out of memory");
		return false;
	}
	if (!pgha_config_timings(text, &ttl, &loop_wait, &retry, why, sizeof(why)))
	{
		free(text);
		pg_log_error("%s", why);
		pg_log_error_hint("ttl, loop_wait and retry_timeout are seconds: ttl 2 to 3600, loop_wait and retry_timeout 0.1 to 3600.");
		return false;
	}
	free(text);
	if (!pgha_timing_valid(ttl, loop_wait, retry, why, sizeof(why)))
	{
		pg_log_error("invalid timings: %s", why);
		pg_log_error_hint("Keep loop_wait + 2 * retry_timeout <= ttl (a timing the key does not set counts with pg_ha's default: ttl 10, loop_wait 2, retry_timeout 3).");
		return false;
	}
	v = json_object_get(new, "pause");
	if (v != NULL && !json_is_boolean(v))
	{
		pg_log_error("pause must be true or false");
		return false;
	}
	pg = json_object_get(new, "postgresql");
	if (pg != NULL && !json_is_object(pg))
	{
		pg_log_error("postgresql must be a mapping");
		return false;
	}
	params = pg ? json_object_get(pg, "parameters") : NULL;
	if (params == NULL)
		return true;
	if (!json_is_object(params))
	{
		pg_log_error("postgresql.parameters must be a mapping");
		return false;
	}
	oldparams = parameters_of(old, false);
	json_object_foreach(params, name, v)
	{
		const char *why = pgha_owned_parameter(name);
		json_t	   *was = oldparams ? json_object_get(oldparams, name) : NULL;

		if (!json_is_string(v) && !json_is_number(v) && !json_is_boolean(v))
		{
			pg_log_error("parameter \"%s\" must be a string, a number or a boolean", name);
			return false;
		}
		if (why != NULL && (was == NULL || !json_equal(was, v)))
		{
			pg_log_error("parameter \"%s\" cannot be set cluster-wide", name);
			pg_log_error_detail("%s.", why);
			return false;
		}
	}
	return true;
}

static char *
temp_file(const char *what, const char *content)
{
	const char *dir = getenv("TMPDIR");
	char	   *path = psprintf("%s/pg_ha_ctl-%s-XXXXXX.yaml",
								dir && dir[0] ? dir : "/tmp", what);
	int			fd = mkstemps(path, 5);
	size_t		len = strlen(content);

	if (fd < 0)
		pg_fatal("could not create a temporary file \"%s\": %m", path);
	if (write(fd, content, len) != (ssize_t) len || close(fd) != 0)
		pg_fatal("could not write \"%s\": %m", path);
	return path;
}

/* print the unified diff of before and after (diff -u); false on failure */
static bool
show_diff(const char *before, const char *after)
{
	char	   *a = temp_file("old", before);
	char	   *b = temp_file("new", after);
	const char *argv[] = {"diff", "-u", "--label", "", "--label", "", a, b, NULL};
	PQExpBufferData out;
	int			rc;

	initPQExpBuffer(&out);
	rc = ctl_run(argv, &out);
	unlink(a);
	unlink(b);
	if (rc != 0 && rc != 1)
	{
		pg_log_error("could not compare the configurations with diff -u (%s)%s%s",
					 ctl_exit_text(rc), out.len ? ": " : "", out.data);
		termPQExpBuffer(&out);
		return false;
	}
	fputs(out.data, stdout);
	termPQExpBuffer(&out);
	return true;
}

/* run $EDITOR on the YAML; the edited config, or NULL */
static json_t *
edit_in_editor(const char *yaml)
{
	const char *editor = getenv("EDITOR");
	char	   *path;
	char	   *cmd;
	char	   *text;
	size_t		len;
	int			rc;
	json_t	   *root;
	char		err[256];

	if (editor == NULL || editor[0] == '\0')
		editor = getenv("VISUAL");
	if (editor == NULL || editor[0] == '\0')
		editor = "vi";
	path = temp_file("config", yaml);
	cmd = psprintf("%s '%s'", editor, path);
	fflush(stdout);
	fflush(stderr);
	rc = system(cmd);
	if (rc != 0)
	{
		pg_log_error("the editor (%s) failed: %s; nothing was written", editor,
					 rc == -1 ? "could not run it" :
					 WIFEXITED(rc) ? psprintf("exit code %d", WEXITSTATUS(rc)) :
					 "killed by a signal");
		unlink(path);
		return NULL;
	}
	text = ctl_read_file(path, &len);
	unlink(path);
	if (text == NULL)
		return NULL;
	root = ctl_parse_yaml(text, err, sizeof(err));
	if (root == NULL)
	{
		pg_log_error("the edited configuration is not usable YAML: %s; nothing was written", err);
		return NULL;
	}
	if (json_is_null(root))
	{
		json_decref(root);
		root = json_pack("{}");
	}
	return root;
}

int
cmd_edit_config(const CtlOptions *opt)
{
	CtlKv		kv;
	json_t	   *old;
	json_t	   *new;
	char	   *before;
	char	   *after;
	char	   *value;
	bool		done;

	if (!check_known(opt) || (old = read_config(opt, &kv)) == NULL)
		return 1;
	before = ctl_render_yaml(old);
	if (opt->nsettings == 0 && opt->npg_settings == 0)
	{
		if ((new = edit_in_editor(before)) == NULL)
			return 1;
	}
	else
	{
		new = json_deep_copy(old);
		for (int i = 0; i < opt->nsettings; i++)
			if (!apply_set(new, opt->settings[i]))
				return 1;
		for (int i = 0; i < opt->npg_settings; i++)
			if (!apply_pg(new, opt->pg_settings[i]))
				return 1;
	}
	if (!check_config(old, new))
	{
		pg_log_error_hint("Nothing was written.");
		return 1;
	}
	after = ctl_render_yaml(new);
	if (strcmp(before, after) == 0 && json_equal(old, new))
	{
		printf("Not changed\n");
		return 0;
	}
	if (!opt->quiet && !show_diff(before, after))
		return 1;
	if (!opt->force && !ctl_confirm("Apply these changes?"))
	{
		pg_log_error("aborted: nothing was written");
		return 1;
	}
	value = ctl_dump_config(new);
	if (value == NULL)
		pg_fatal("out of memory");
	if (!ctl_kv_put(opt, "config", value, kv.exists ? (int64) kv.modify_index : 0, &done))
		return 1;
	if (!done)
	{
		pg_log_error("the configuration changed meanwhile; nothing was written");
		pg_log_error_hint("Run the command again: pg_ha_ctl show-config %s shows the new configuration.",
						  opt->cluster);
		return 1;
	}
	printf("Configuration changed\n");
	return 0;
}

/* ----- the members' REST API */

/*
 * A request to a member's REST API, with basic auth from PG_HA_API_AUTH
 * (user:password).  For https:// members (pg_ha.api_certfile) the server
 * certificate is checked against PG_HA_API_CAFILE (else the system's CAs),
 * and PG_HA_API_CERTFILE/PG_HA_API_KEYFILE are the client certificate that
 * pg_ha.api_cafile asks of write requests.  The HTTP status, or -1 with
 * err set.
 */
long
ctl_api_request(const char *url, const char *method, const char *post_body,
				CtlBody *body, char *err, size_t errlen)
{
	CURL	   *curl;
	const char *auth = getenv("PG_HA_API_AUTH");
	const char *cafile = getenv("PG_HA_API_CAFILE");
	const char *certfile = getenv("PG_HA_API_CERTFILE");
	const char *keyfile = getenv("PG_HA_API_KEYFILE");
	char		errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	long		status = -1;
	CURLcode	rc;

	curl = curl_easy_init();
	if (curl == NULL)
		pg_fatal("could not initialize libcurl");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (strcmp(method, "POST") == 0)
	{
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, post_body ? post_body : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
						 (long) (post_body ? strlen(post_body) : 0));
		if (post_body != NULL)
			headers = curl_slist_append(headers, "Content-Type: application/json");
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	if (auth != NULL && auth[0] != '\0')
	{
		curl_easy_setopt(curl, CURLOPT_HTTPAUTH, (long) CURLAUTH_BASIC);
		curl_easy_setopt(curl, CURLOPT_USERPWD, auth);
	}
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	if (cafile != NULL && cafile[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_CAINFO, cafile);
	if (certfile != NULL && certfile[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_SSLCERT, certfile);
	if (keyfile != NULL && keyfile[0] != '\0')
		curl_easy_setopt(curl, CURLOPT_SSLKEY, keyfile);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 3000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ctl_collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	return status;
}

/* http://host:port/patroni -> http://host:port/<path>; NULL when malformed */
char *
ctl_api_endpoint(const PgHaMember *m, const char *path)
{
	const char *s = strstr(m->api_url, "://");
	const char *slash;

	if (s == NULL || (strncmp(m->api_url, "http://", 7) != 0 &&
					  strncmp(m->api_url, "https://", 8) != 0))
		return NULL;
	slash = strchr(s + 3, '/');
	return psprintf("%.*s/%s", (int) (slash ? slash - m->api_url : strlen(m->api_url)),
					m->api_url, path);
}

/* the member's postmaster_start_time from GET /patroni when running, or NULL */
char *
ctl_api_start_time(const PgHaMember *m)
{
	char	   *url = ctl_api_endpoint(m, "patroni");
	CtlBody		body = {NULL, 0};
	char		err[256];
	char	   *ret = NULL;

	if (url != NULL && ctl_api_request(url, "GET", NULL, &body, err, sizeof(err)) == 200 && body.data)
	{
		json_t	   *root = json_loadb(body.data, body.len, 0, NULL);
		const char *state = json_string_value(json_object_get(root, "state"));
		const char *start = json_string_value(json_object_get(root, "postmaster_start_time"));

		if (state && strcmp(state, "running") == 0 && start && start[0])
			ret = pg_strdup(start);
		json_decref(root);
	}
	pg_free(body.data);
	pg_free(url);
	return ret;
}

/* ----- restart and reload: which members */

static bool
is_leader_name(const PgHaCluster *c, const char *name)
{
	return c->has_leader && c->leader_session[0] != '\0' && strcmp(c->leader, name) == 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/*
 * The members named on the command line (all when none), sorted by name.
 * Flags: CTL_TARGET_LEADER_LAST puts the leader last; CTL_TARGET_STOPPED
 * takes stopped members too (flush: a request can outlive its server).
 * NULL with the error logged.  Shared with flush (operator.c).
 */
char	  **
ctl_target_members(const CtlOptions *opt, const PgHaCluster *c, int *n, int flags)
{
	char	  **names = pg_malloc0(sizeof(char *) * (2 * PGHA_MAX_MEMBERS + opt->nmembers + 1));
	int			k = 0;
	bool		stopped = (flags & CTL_TARGET_STOPPED) != 0;

	if (opt->nmembers == 0)
	{
		for (int i = 0; i < c->nmembers; i++)
			names[k++] = pg_strdup(c->members[i].name);
		for (int i = 0; stopped && i < c->nstopped; i++)
			names[k++] = pg_strdup(c->stopped[i].name);
	}
	for (int i = 0; i < opt->nmembers; i++)
	{
		bool		dup = false;

		if (!pgha_valid_name(opt->members[i]))
		{
			pg_log_error("invalid member name \"%s\"", opt->members[i]);
			return NULL;
		}
		if (pgha_find_member(c, opt->members[i]) == NULL &&
			!(stopped && pgha_find_stopped_member(c, opt->members[i]) != NULL))
		{
			pg_log_error("member \"%s\" does not exist in cluster \"%s\"",
						 opt->members[i], opt->cluster);
			return NULL;
		}
		for (int j = 0; j < k; j++)
			dup |= strcmp(names[j], opt->members[i]) == 0;
		if (!dup)
			names[k++] = pg_strdup(opt->members[i]);
	}
	qsort(names, k, sizeof(char *), name_cmp);
	if (flags & CTL_TARGET_LEADER_LAST)
	{
		for (int i = 0; i < k - 1; i++)
			if (is_leader_name(c, names[i]))
			{
				char	   *leader = names[i];

				memmove(&names[i], &names[i + 1], sizeof(char *) * (k - i - 1));
				names[k - 1] = leader;
				break;
			}
	}
	*n = k;
	return names;
}

char *
ctl_join_names(char **names, int n)
{
	PQExpBufferData b;
	char	   *s;

	initPQExpBuffer(&b);
	for (int i = 0; i < n; i++)
		appendPQExpBuffer(&b, "%s%s", i ? ", " : "", names[i]);
	s = pg_strdup(b.data);
	termPQExpBuffer(&b);
	return s;
}

static bool
restart_pending_in(const PgHaCluster *c, const char *name)
{
	for (int i = 0; i < c->nrestarts; i++)
		if (strcmp(c->restarts[i].member, name) == 0)
			return true;
	return false;
}

/*
 * Wait until member name has restarted: its restart key gone, its record
 * back with state running, and its server started anew (the REST API's
 * postmaster_start_time differs from before; without it, for a pending-only
 * restart, the record no longer pending).
 */
static bool
wait_restarted(const CtlOptions *opt, const char *name, const char *start_before,
			   bool pending_only, double deadline)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	bool		ok = false;

	while (!ok)
	{
		bool		found;
		const PgHaMember *m;

		if (ctl_now_s() > deadline)
			break;
		pg_usleep(POLL_US);
		if (!ctl_read_cluster(opt, c, &found) || !found)
			continue;
		if (restart_pending_in(c, name))
			continue;
		m = pgha_find_member(c, name);
		if (m == NULL || strcmp(m->state, "running") != 0)
			continue;
		if (pending_only && !m->pending_restart)
			ok = true;
		else if (start_before != NULL)
		{
			char	   *now = ctl_api_start_time(m);

			ok = now != NULL && strcmp(now, start_before) != 0;
			pg_free(now);
		}
		else if (!pending_only)
			ok = true;			/* no REST API to tell: the key is gone */
	}
	pg_free(c);
	return ok;
}

int
cmd_restart(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	char	  **names;
	int			n;
	int			k = 0;
	char	   *scheduled = opt->scheduled ? pg_strdup(opt->scheduled) : NULL;
	bool		has_when = false;
	char		when_iso[64] = "";

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	if ((names = ctl_target_members(opt, c, &n, CTL_TARGET_LEADER_LAST)) == NULL)
		return 1;
	if (opt->pending)
	{
		for (int i = 0; i < n; i++)
			if (pgha_find_member(c, names[i])->pending_restart)
				names[k++] = names[i];
		n = k;
	}
	if (n == 0)
	{
		printf(opt->pending ? "No member of cluster %s is pending a restart: nothing to do\n" :
			   "Cluster %s has no member: nothing to restart\n", opt->cluster);
		return 0;
	}
	if (!opt->any_order)
	{
		/* the order hot standby needs: raised values replicas first, lowered leader first */
		char		(*order)[PGHA_NAME_LEN] = pg_malloc(sizeof(*order) * n);
		char		msg[PGHA_ERR_LEN * 2];
		char		hint[PGHA_ERR_LEN * 2];

		if (!pgha_restart_order(c, (const char *const *) names, n, order,
								msg, sizeof(msg), hint, sizeof(hint)))
		{
			pg_log_error("%s", msg);
			pg_log_error_hint("%s Or give --any-order to restart anyway.", hint);
			return 1;
		}
		for (int i = 0; i < n; i++)
			names[i] = pg_strdup(order[i]);
		pg_free(order);
	}
	ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);

	if (!opt->force)
	{
		char	   *sorted;
		char	  **copy = pg_malloc(sizeof(char *) * n);

		if (scheduled == NULL)
		{
			time_t		t = time(NULL) + 3600;
			struct tm	tm;
			char		example[32];

			localtime_r(&t, &tm);
			strftime(example, sizeof(example), "%Y-%m-%dT%H:%M", &tm);
			scheduled = ctl_prompt(psprintf("When should the restart take place (e.g. %s) ",
											example), "now");
		}
		memcpy(copy, names, sizeof(char *) * n);
		qsort(copy, n, sizeof(char *), name_cmp);
		sorted = ctl_join_names(copy, n);
		if (!ctl_confirm(psprintf("Are you sure you want to restart members %s?", sorted)))
		{
			pg_log_error("aborting restart");
			return 1;
		}
	}
	if (scheduled != NULL && scheduled[0] != '\0' && pg_strcasecmp(scheduled, "now") != 0)
	{
		time_t		when;

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

	for (int i = 0; i < n; i++)
	{
		const PgHaMember *m = pgha_find_member(c, names[i]);
		char	   *start_before = has_when ? NULL : ctl_api_start_time(m);
		char	   *key = psprintf("restart/%s", names[i]);
		char	   *value;
		bool		done;
		double		started = ctl_now_s();

		value = psprintf("{\"pending_only\":%s%s%s%s%s}", opt->pending ? "true" : "false",
						 has_when ? ",\"scheduled_at\":\"" : "", when_iso,
						 has_when ? "\"" : "",
						 opt->any_order ? ",\"any_order\":true" : "");
		if (!ctl_kv_put(opt, key, value, 0, &done))
			return 1;
		if (!done)
		{
			pg_log_error("a restart of member %s is already pending", names[i]);
			pg_log_error_hint("Wait for it, or delete key \"%s/%s/%s\".",
							  opt->namespace, opt->cluster, key);
			if (i + 1 < n)
				pg_log_error_detail("Not restarted: %s.", ctl_join_names(names + i + 1, n - i - 1));
			return 1;
		}
		if (has_when)
		{
			printf("Success: restart scheduled on member %s at %s\n", names[i], when_iso);
			continue;
		}
		printf("Restarting member %s%s ...\n", names[i],
			   is_leader_name(c, names[i]) ? " (the leader)" : "");
		fflush(stdout);
		if (!wait_restarted(opt, names[i], start_before, opt->pending,
							started + opt->wait_timeout))
		{
			pg_log_error("member %s did not come back from its restart within %d s",
						 names[i], opt->wait_timeout);
			if (i + 1 < n)
				pg_log_error_detail("Not restarted: %s.", ctl_join_names(names + i + 1, n - i - 1));
			pg_log_error_hint("See the server log of %s; pg_ha_ctl list %s shows the members.",
							  names[i], opt->cluster);
			return 1;
		}
		printf("Success: restart on member %s\n", names[i]);
		fflush(stdout);
	}
	if (!has_when && ctl_read_known_cluster(opt, c))
		ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
	return 0;
}

int
cmd_reload(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	char	  **names;
	int			n;
	int			failed = 0;
	int			loop_wait = 2;	/* pg_ha.loop_wait's default */
	CtlKv		kv;
	json_t	   *config;

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	if ((names = ctl_target_members(opt, c, &n, 0)) == NULL)
		return 1;
	if (n == 0)
	{
		printf("Cluster %s has no member: nothing to reload\n", opt->cluster);
		return 0;
	}
	if ((config = read_config(opt, &kv)) != NULL)
	{
		json_t	   *lw = json_object_get(config, "loop_wait");

		if (json_is_integer(lw) && json_integer_value(lw) > 0)
			loop_wait = (int) json_integer_value(lw);
		json_decref(config);
		ctl_kv_free(&kv);
	}
	ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
	if (!opt->force &&
		!ctl_confirm(psprintf("Are you sure you want to reload members %s?", ctl_join_names(names, n))))
	{
		pg_log_error("aborting reload");
		return 1;
	}
	for (int i = 0; i < n; i++)
	{
		const PgHaMember *m = pgha_find_member(c, names[i]);
		char	   *url = ctl_api_endpoint(m, "reload");
		CtlBody		body = {NULL, 0};
		char		err[256] = "";
		long		status;

		if (url == NULL)
		{
			printf("Failed: reload for member %s: no usable api_url (\"%s\")\n",
				   names[i], m->api_url);
			failed++;
			continue;
		}
		status = ctl_api_request(url, "POST", NULL, &body, err, sizeof(err));
		if (status == 202)
			printf("Reload request received for member %s and will be processed within %d seconds\n",
				   names[i], loop_wait);
		else if (status == 200)
			printf("No changes to apply on member %s\n", names[i]);
		else if (status < 0)
		{
			printf("Failed: reload for member %s: %s (POST %s)\n", names[i], err, url);
			failed++;
		}
		else
		{
			char		excerpt[201];
			size_t		len = body.data ? Min(body.len, sizeof(excerpt) - 1) : 0;

			for (size_t j = 0; j < len; j++)
				excerpt[j] = (body.data[j] >= 0x20 && body.data[j] < 0x7f) ? body.data[j] : ' ';
			excerpt[len] = '\0';
			printf("Failed: reload for member %s, status code=%ld, (%s)%s\n", names[i], status,
				   excerpt, status == 401 ? "; set PG_HA_API_AUTH=user:password" : "");
			failed++;
		}
		pg_free(body.data);
		pg_free(url);
	}
	return failed ? 1 : 0;
}
