/*-------------------------------------------------------------------------
 *
 * consul.c
 *	  pg_ha_ctl's requests to Consul's HTTP API.
 *
 * One GET of the cluster's keys (?recurse), parsed by the cluster model
 * shared with the extension (src/common/cluster.c); single keys read with their
 * ModifyIndex, written and deleted with check-and-set, for the operator
 * commands.  Every error names the Consul URL, so that a wrong
 * --consul-url is obvious.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <curl/curl.h>

#include "common/logging.h"
#include "cluster.h"
#include "consul_parse.h"
#include "pg_ha_ctl.h"

#define MAX_BODY	(4 * 1024 * 1024)

typedef CtlBody Body;

size_t
ctl_collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Body	   *b = (Body *) userdata;
	size_t		n = size * nmemb;

	if (b->len + n > MAX_BODY)
		return 0;
	b->data = pg_realloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* GET path; returns the HTTP status, or -1 with the error logged */
static long
http_get(const CtlOptions *opt, const char *path, Body *body)
{
	return ctl_http(opt, "GET", path, NULL, (CtlBody *) body);
}

/*
 * One request to Consul: method, path (with query), an optional request
 * body.  Returns the HTTP status, or -1 with the error logged.
 */
long
ctl_http(const CtlOptions *opt, const char *method, const char *path,
		 const char *request, CtlBody *body)
{
	static bool initialized = false;
	CURL	   *curl;
	char	   *url;
	char		errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	long		status = -1;
	CURLcode	rc;

	if (!initialized)
	{
		curl_global_init(CURL_GLOBAL_ALL);
		initialized = true;
	}
	curl = curl_easy_init();
	if (curl == NULL)
		pg_fatal("could not initialize libcurl");
	url = psprintf("%s%s", opt->consul_url, path);
	if (opt->consul_token != NULL)
	{
		char	   *h = psprintf("X-Consul-Token: %s", opt->consul_token);

		headers = curl_slist_append(headers, h);
		pg_free(h);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);
	if (request != NULL || strcmp(method, "PUT") == 0)
	{
		curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request ? request : "");
		curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE,
						 (long) (request ? strlen(request) : 0));
	}
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, 5000L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, ctl_collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
	{
		pg_log_error("cannot reach Consul at %s: %s", opt->consul_url,
					 errbuf[0] ? errbuf : curl_easy_strerror(rc));
		pg_log_error_hint("Check --consul-url (or PG_HA_CONSUL_URL) and that the Consul agent runs.");
	}
	else
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	pg_free(url);
	return status;
}

bool
ctl_read_cluster(const CtlOptions *opt, PgHaCluster *c, bool *found)
{
	char	   *prefix;
	char	   *path;
	char		err[PGHA_ERR_LEN];
	Body		body = {NULL, 0};
	long		status;
	bool		ok = false;

	*found = false;
	prefix = psprintf("%s/%s/", opt->namespace, opt->cluster);
	path = psprintf("/v1/kv/%s?recurse", prefix);
	status = http_get(opt, path, &body);
	if (status < 0)
		goto done;
	if (status == 404)
	{
		/* no key under the prefix: a cluster Consul has never seen */
		memset(c, 0, sizeof(PgHaCluster));
		ok = true;
		goto done;
	}
	if (status == 401 || status == 403)
	{
		pg_log_error("Consul at %s refused to read the keys of cluster \"%s\" (HTTP %ld)",
					 opt->consul_url, opt->cluster, status);
		pg_log_error_hint("Set PG_HA_CONSUL_TOKEN to an ACL token that may read \"%s\".",
						  prefix);
		goto done;
	}
	if (status != 200)
	{
		pg_log_error("Consul at %s answered HTTP %ld to GET %s",
					 opt->consul_url, status, path);
		pg_log_error_hint("Is %s the HTTP API of a Consul agent?", opt->consul_url);
		goto done;
	}
	if (body.data == NULL ||
		!pgha_parse_kv_listing(body.data, body.len, prefix, c, err, sizeof(err)))
	{
		pg_log_error("unexpected answer from Consul at %s: %s", opt->consul_url,
					 body.data ? err : "empty body");
		goto done;
	}
	if (c->nwarnings > 0)
		pg_log_warning("skipped %d bad record(s) of cluster \"%s\" in Consul, the first: %s",
					   c->nwarnings, opt->cluster, c->warning);
	*found = true;
	ok = true;

done:
	pg_free(body.data);
	pg_free(path);
	pg_free(prefix);
	return ok;
}

/* ----- single keys */

static char *
kv_path(const CtlOptions *opt, const char *relkey, const char *query)
{
	return psprintf("/v1/kv/%s/%s/%s%s", opt->namespace, opt->cluster, relkey,
					query ? query : "");
}

/* log a refused or failed request; true when status is 2xx */
static bool
check_status(const CtlOptions *opt, long status, const char *method,
			 const char *path, const CtlBody *body)
{
	if (status < 0)
		return false;			/* logged by ctl_http */
	if (status >= 200 && status < 300)
		return true;
	if (status == 401 || status == 403)
	{
		pg_log_error("Consul at %s refused %s %s (HTTP %ld)",
					 opt->consul_url, method, path, status);
		pg_log_error_hint("Set PG_HA_CONSUL_TOKEN to an ACL token that may read and write \"%s/%s/\".",
						  opt->namespace, opt->cluster);
	}
	else
	{
		char		excerpt[201];
		size_t		n = body->data ? Min(body->len, sizeof(excerpt) - 1) : 0;

		for (size_t i = 0; i < n; i++)
			excerpt[i] = (body->data[i] >= 0x20 && body->data[i] < 0x7f) ? body->data[i] : ' ';
		excerpt[n] = '\0';
		pg_log_error("Consul at %s answered HTTP %ld to %s %s%s%s",
					 opt->consul_url, status, method, path,
					 n ? ": " : "", excerpt);
	}
	return false;
}

/*
 * Read one key of the cluster with its ModifyIndex.  A missing key is not
 * an error (kv->exists is false).  False, with the error logged, when
 * Consul cannot be read or answers something else than a KV entry.
 */
bool
ctl_kv_get(const CtlOptions *opt, const char *relkey, CtlKv *kv)
{
	char	   *path = kv_path(opt, relkey, NULL);
	CtlBody		body = {NULL, 0};
	long		status;
	bool		ok = false;
	char		err[PGHA_ERR_LEN];
	uint64_t	modify_index;

	memset(kv, 0, sizeof(CtlKv));
	status = ctl_http(opt, "GET", path, NULL, &body);
	if (status == 404)
	{
		kv->value = pg_strdup("");
		ok = true;
		goto done;
	}
	if (!check_status(opt, status, "GET", path, &body))
		goto done;

	/* parsed by the cluster model (src/common), fuzzed there */
	if (body.data == NULL ||
		!pgha_parse_kv_entry(body.data, body.len, &modify_index, &kv->value,
							 &kv->len, err, sizeof(err)))
	{
		pg_log_error("unexpected answer from Consul at %s to GET %s: %s",
					 opt->consul_url, path, body.data ? err : "empty body");
		goto done;
	}
	kv->modify_index = (uint64) modify_index;
	kv->exists = true;
	ok = true;

done:
	pg_free(body.data);
	pg_free(path);
	return ok;
}

void
ctl_kv_free(CtlKv *kv)
{
	pg_free(kv->value);
	kv->value = NULL;
}

/* the true/false answer of a KV PUT or DELETE */
static bool
bool_answer(const CtlOptions *opt, const char *method, const char *path,
			const CtlBody *body, bool *done)
{
	char		err[PGHA_ERR_LEN];

	if (body->data == NULL ||
		!pgha_parse_bool_body(body->data, body->len, done, err, sizeof(err)))
	{
		pg_log_error("unexpected answer from Consul at %s to %s %s: %s",
					 opt->consul_url, method, path,
					 body->data ? err : "empty body");
		return false;
	}
	return true;
}

/*
 * Write a key of the cluster; with cas >= 0 only if its ModifyIndex is
 * still cas (0: only if it does not exist).  *done tells whether Consul
 * wrote it.  False, with the error logged, when the request failed.
 */
bool
ctl_kv_put(const CtlOptions *opt, const char *relkey, const char *value,
		   int64 cas, bool *done)
{
	char	   *query = cas >= 0 ? psprintf("?cas=" INT64_FORMAT, cas) : NULL;
	char	   *path = kv_path(opt, relkey, query);
	CtlBody		body = {NULL, 0};
	long		status;
	bool		ok;

	*done = false;
	status = ctl_http(opt, "PUT", path, value, &body);
	ok = check_status(opt, status, "PUT", path, &body) &&
		bool_answer(opt, "PUT", path, &body, done);
	pg_free(body.data);
	pg_free(path);
	pg_free(query);
	return ok;
}

/* Delete a key of the cluster, with cas as for ctl_kv_put (0: none). */
bool
ctl_kv_delete(const CtlOptions *opt, const char *relkey, int64 cas, bool *done)
{
	char	   *query = cas > 0 ? psprintf("?cas=" INT64_FORMAT, cas) : NULL;
	char	   *path = kv_path(opt, relkey, query);
	CtlBody		body = {NULL, 0};
	long		status;
	bool		ok;

	*done = false;
	status = ctl_http(opt, "DELETE", path, NULL, &body);
	ok = check_status(opt, status, "DELETE", path, &body) &&
		bool_answer(opt, "DELETE", path, &body, done);
	pg_free(body.data);
	pg_free(path);
	pg_free(query);
	return ok;
}

/*
 * The raw answer (a JSON array of KV entries) of GET ?recurse under
 * <namespace>/<cluster>/<relprefix>; *found false when there is no key.
 * NULL, with the error logged, on failure.
 */
char *
ctl_kv_get_tree(const CtlOptions *opt, const char *relprefix, size_t *len,
				bool *found)
{
	char	   *path = kv_path(opt, relprefix, "?recurse");
	CtlBody		body = {NULL, 0};
	long		status;

	*found = false;
	*len = 0;
	status = ctl_http(opt, "GET", path, NULL, &body);
	if (status == 404)
	{
		pg_free(body.data);
		pg_free(path);
		return pg_strdup("[]");
	}
	if (!check_status(opt, status, "GET", path, &body) || body.data == NULL)
	{
		pg_free(body.data);
		pg_free(path);
		return NULL;
	}
	pg_free(path);
	*found = true;
	*len = body.len;
	return body.data;
}

/*
 * Delete every key under <namespace>/<cluster>/ (?recurse), as patronictl
 * remove does.  *done tells whether Consul did.  False, with the error
 * logged, when the request failed.
 */
bool
ctl_kv_delete_tree(const CtlOptions *opt, bool *done)
{
	char	   *path = kv_path(opt, "", "?recurse");
	CtlBody		body = {NULL, 0};
	long		status;
	bool		ok;

	*done = false;
	status = ctl_http(opt, "DELETE", path, NULL, &body);
	ok = check_status(opt, status, "DELETE", path, &body) &&
		bool_answer(opt, "DELETE", path, &body, done);
	pg_free(body.data);
	pg_free(path);
	return ok;
}
