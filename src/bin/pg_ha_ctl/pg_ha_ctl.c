/*-------------------------------------------------------------------------
 *
 * pg_ha_ctl.c
 *	  Command-line tool of pg_ha: what an operator runs from any host that
 *	  reaches Consul.
 *
 * This first version reads the cluster from Consul and prints the
 * patronictl-style table ("list").  Node lifecycle (init, clone, rewind)
 * and the operator actions come with later work; the option names are
 * those of the GUCs so that scripts need not change.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <curl/curl.h>

#include "common/logging.h"
#include "getopt_long.h"
#include "cluster.h"

#define PG_HA_CTL_VERSION "0.1.0"

static const char *progname;

typedef struct CtlOptions
{
	const char *cluster;
	const char *namespace;
	const char *consul_url;
	const char *consul_token;
	const char *format;
} CtlOptions;

typedef struct Buffer
{
	char	   *data;
	size_t		len;
} Buffer;

static void
usage(void)
{
	printf("pg_ha_ctl controls a pg_ha cluster.\n\n"
		   "Usage:\n"
		   "  pg_ha_ctl [OPTION]... COMMAND\n\n"
		   "Commands:\n"
		   "  list         show the members of the cluster\n"
		   "  version      show the version of pg_ha_ctl\n\n"
		   "Options (or environment variables):\n"
		   "  --cluster=NAME        cluster name (PG_HA_CLUSTER)\n"
		   "  --namespace=NAME      Consul key namespace, default \"service\" (PG_HA_NAMESPACE)\n"
		   "  --consul-url=URL      Consul HTTP API, default http://127.0.0.1:8500 (PG_HA_CONSUL_URL)\n"
		   "                        the ACL token is read from PG_HA_CONSUL_TOKEN only\n"
		   "  --format=table|json   output format of list, default table\n"
		   "  -?, --help            show this help, then exit\n");
}

static const char *
env_or(const char *name, const char *fallback)
{
	const char *v = getenv(name);

	return (v != NULL && v[0] != '\0') ? v : fallback;
}

static size_t
collect(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	Buffer	   *b = (Buffer *) userdata;
	size_t		n = size * nmemb;

	if (b->len + n > 4 * 1024 * 1024)
		return 0;
	b->data = pg_realloc(b->data, b->len + n + 1);
	memcpy(b->data + b->len, ptr, n);
	b->len += n;
	b->data[b->len] = '\0';
	return n;
}

/* GET url; returns the HTTP status, or -1 with a message printed */
static long
http_get(const CtlOptions *opt, const char *path, Buffer *body)
{
	CURL	   *curl = curl_easy_init();
	char		url[2048];
	char		errbuf[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	long		status = -1;
	CURLcode	rc;

	if (curl == NULL)
		pg_fatal("could not initialize libcurl");
	snprintf(url, sizeof(url), "%s%s", opt->consul_url, path);
	if (opt->consul_token != NULL)
	{
		char		h[600];

		snprintf(h, sizeof(h), "X-Consul-Token: %s", opt->consul_token);
		headers = curl_slist_append(headers, h);
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 10000L);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, collect);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
	rc = curl_easy_perform(curl);
	if (rc != CURLE_OK)
		pg_log_error("cannot reach Consul at %s: %s", opt->consul_url,
					 errbuf[0] ? errbuf : curl_easy_strerror(rc));
	else
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(headers);
	curl_easy_cleanup(curl);
	return status;
}

static bool
read_cluster(const CtlOptions *opt, PgHaCluster *c)
{
	char		path[512];
	char		prefix[256];
	char		err[PGHA_ERR_LEN];
	Buffer		body = {NULL, 0};
	long		status;

	snprintf(prefix, sizeof(prefix), "%s/%s/", opt->namespace, opt->cluster);
	snprintf(path, sizeof(path), "/v1/kv/%s?recurse", prefix);
	status = http_get(opt, path, &body);
	if (status < 0)
		return false;
	if (status == 404)
	{
		pg_log_error("cluster \"%s\" is not known to Consul at %s",
					 opt->cluster, opt->consul_url);
		pg_log_error_hint("Check --cluster and --namespace, or start the first node of the cluster.");
		return false;
	}
	if (status != 200)
	{
		pg_log_error("Consul at %s answered HTTP %ld", opt->consul_url, status);
		return false;
	}
	if (!pgha_parse_kv_listing(body.data, body.len, prefix, c, err, sizeof(err)))
	{
		pg_log_error("unexpected answer from Consul: %s", err);
		return false;
	}
	pg_free(body.data);
	return true;
}

static bool
is_leader(const PgHaCluster *c, const PgHaMember *m)
{
	return c->has_leader && c->leader_session[0] != '\0' &&
		strcmp(c->leader, m->name) == 0;
}

static int
cmd_list(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	int64_t		leader_pos = -1;

	if (!read_cluster(opt, c))
		return 1;
	for (int i = 0; i < c->nmembers; i++)
		if (is_leader(c, &c->members[i]) && c->members[i].has_xlog)
			leader_pos = c->members[i].xlog_location;

	if (strcmp(opt->format, "json") == 0)
	{
		printf("[");
		for (int i = 0; i < c->nmembers; i++)
		{
			const PgHaMember *m = &c->members[i];

			printf("%s{\"Cluster\": \"%s\", \"Member\": \"%s\", \"Host\": \"%s\", \"Role\": \"%s\", \"State\": \"%s\", \"TL\": %u",
				   i ? ", " : "", opt->cluster, m->name, m->conn_url,
				   is_leader(c, m) ? "Leader" : "Replica", m->state, m->timeline);
			if (!is_leader(c, m) && m->has_xlog && leader_pos >= 0)
				printf(", \"Lag in MB\": %lld",
					   (long long) ((leader_pos > m->xlog_location ? leader_pos - m->xlog_location : 0) / (1024 * 1024)));
			printf("}");
		}
		printf("]\n");
		return 0;
	}

	printf("+ Cluster: %s (%s) +\n", opt->cluster,
		   c->has_initialize ? c->initialize : "uninitialized");
	printf("| %-10s | %-21s | %-7s | %-8s | %3s | %9s |\n",
		   "Member", "Host", "Role", "State", "TL", "Lag in MB");
	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];
		const char *host = strstr(m->conn_url, "://");
		char		hostbuf[64];
		char		lag[32] = "";

		snprintf(hostbuf, sizeof(hostbuf), "%s", host ? host + 3 : m->conn_url);
		hostbuf[strcspn(hostbuf, "/")] = '\0';
		if (!is_leader(c, m))
		{
			if (m->has_xlog && leader_pos >= 0)
				snprintf(lag, sizeof(lag), "%lld",
						 (long long) ((leader_pos > m->xlog_location ? leader_pos - m->xlog_location : 0) / (1024 * 1024)));
			else
				snprintf(lag, sizeof(lag), "unknown");
		}
		printf("| %-10s | %-21s | %-7s | %-8s | %3u | %9s |\n",
			   m->name, hostbuf, is_leader(c, m) ? "Leader" : "Replica",
			   m->state, m->timeline, lag);
	}
	if (c->paused)
		printf(" Maintenance mode: on\n");
	return 0;
}

int
main(int argc, char **argv)
{
	static struct option long_options[] = {
		{"cluster", required_argument, NULL, 'c'},
		{"namespace", required_argument, NULL, 'n'},
		{"consul-url", required_argument, NULL, 'u'},
		{"format", required_argument, NULL, 'f'},
		{"help", no_argument, NULL, '?'},
		{NULL, 0, NULL, 0}
	};
	CtlOptions	opt;
	int			c;
	const char *command;

	pg_logging_init(argv[0]);
	progname = get_progname(argv[0]);
	opt.cluster = env_or("PG_HA_CLUSTER", NULL);
	opt.namespace = env_or("PG_HA_NAMESPACE", "service");
	opt.consul_url = env_or("PG_HA_CONSUL_URL", "http://127.0.0.1:8500");
	opt.consul_token = env_or("PG_HA_CONSUL_TOKEN", NULL);
	opt.format = "table";

	while ((c = getopt_long(argc, argv, "?", long_options, NULL)) != -1)
	{
		switch (c)
		{
			case 'c':
				opt.cluster = optarg;
				break;
			case 'n':
				opt.namespace = optarg;
				break;
			case 'u':
				opt.consul_url = optarg;
				break;
			case 'f':
				opt.format = optarg;
				break;
			case '?':
				if (optopt == 0 || optopt == '?')
				{
					usage();
					exit(0);
				}
				/* FALLTHROUGH */
			default:
				pg_log_error_hint("Try \"%s --help\" for more information.", progname);
				exit(1);
		}
	}
	if (optind >= argc)
	{
		pg_log_error("no command given");
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(1);
	}
	command = argv[optind];
	if (strcmp(command, "version") == 0)
	{
		printf("pg_ha_ctl %s\n", PG_HA_CTL_VERSION);
		return 0;
	}
	if (strcmp(command, "list") != 0)
	{
		pg_log_error("unknown command \"%s\"", command);
		pg_log_error_hint("Try \"%s --help\" for more information.", progname);
		exit(1);
	}
	if (opt.cluster == NULL || !pgha_valid_name(opt.cluster))
	{
		pg_log_error(opt.cluster ? "invalid cluster name \"%s\"" : "no cluster name given%s",
					 opt.cluster ? opt.cluster : "");
		pg_log_error_hint("Give --cluster or set PG_HA_CLUSTER.");
		exit(1);
	}
	if (!pgha_valid_name(opt.namespace))
		pg_fatal("invalid namespace \"%s\"", opt.namespace);
	if (strcmp(opt.format, "table") != 0 && strcmp(opt.format, "json") != 0)
		pg_fatal("unknown format \"%s\": use table or json", opt.format);

	curl_global_init(CURL_GLOBAL_ALL);
	return cmd_list(&opt);
}
