/*-------------------------------------------------------------------------
 *
 * consul.c
 *	  pg_ha_ctl's reads from Consul's HTTP API.
 *
 * One GET of the cluster's keys (?recurse), parsed by the cluster model
 * shared with the extension (src/cluster.c).  Every error names the Consul
 * URL, so that a wrong --consul-url is obvious.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <curl/curl.h>

#include "common/logging.h"
#include "pg_ha_ctl.h"

#define MAX_BODY	(4 * 1024 * 1024)

typedef CtlBody Body;

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
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
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
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
