/*-------------------------------------------------------------------------
 *
 * reinit.c
 *	  pg_ha_ctl reinit and remove, as patronictl has them.
 *
 *	reinit
 *		clone replicas again from the leader: POST /reinitialize to each
 *		member's REST API, as patronictl does.  The member's HA worker
 *		checks it against the cluster (a leader, and not itself), then runs
 *		`pg_ha_ctl rejoin --reinit` detached: the server stops, is cloned
 *		beside its data directory with pg_basebackup, keeps its own files,
 *		and starts as a standby.  With --wait, each member is waited for
 *		until it runs again as a replica of a newer server start.
 *	remove
 *		delete every key of the cluster (<namespace>/<cluster>/, recursively)
 *		after patronictl's three confirmations: the cluster's name, "Yes I
 *		am aware", and the leader's name while the leader key names one.
 *
 * The texts, prompts and their order are patronictl 3.0.2's.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/logging.h"
#include "cluster.h"
#include "names.h"
#include "pg_ha_ctl.h"

#define POLL_US		500000L

/* ----- reinit */

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(const char *const *) a, *(const char *const *) b);
}

/* the running members but the leader, by name: reinit's candidates */
static int
replica_names(const PgHaCluster *c, const char **names)
{
	int			n = 0;

	for (int i = 0; i < c->nmembers; i++)
		if (!ctl_is_leader(c, &c->members[i]))
			names[n++] = c->members[i].name;
	qsort(names, n, sizeof(char *), name_cmp);
	return n;
}

/*
 * Is a member running as a replica of a server started anew?  Its record
 * says running, and its REST API a running replica whose
 * postmaster_start_time differs from before.
 */
static bool
reinitialized(const CtlOptions *opt, const char *name, const char *start_before)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	const PgHaMember *m;
	bool		found;
	bool		ok = false;

	if (ctl_read_cluster(opt, c, &found) && found &&
		(m = pgha_find_member(c, name)) != NULL &&
		strcmp(m->state, "running") == 0 && !ctl_is_leader(c, m))
	{
		char	   *url = ctl_api_endpoint(m, "patroni");
		CtlBody		body = {NULL, 0};
		char		err[256];

		if (url != NULL &&
			ctl_api_request(url, "GET", NULL, &body, err, sizeof(err)) == 200 && body.data)
		{
			json_t	   *root = json_loadb(body.data, body.len, 0, NULL);
			const char *state = json_string_value(json_object_get(root, "state"));
			const char *role = json_string_value(json_object_get(root, "role"));
			const char *start = json_string_value(json_object_get(root, "postmaster_start_time"));

			ok = state && strcmp(state, "running") == 0 &&
				role && strcmp(role, "replica") == 0 &&
				start && (start_before == NULL || strcmp(start, start_before) != 0);
			json_decref(root);
		}
		pg_free(body.data);
		pg_free(url);
	}
	pg_free(c);
	return ok;
}

/* printable start of a member's answer */
static char *
excerpt(const CtlBody *body)
{
	size_t		n = body->data ? Min(body->len, 200) : 0;
	char	   *s = pg_malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = (body->data[i] >= 0x20 && body->data[i] < 0x7f) ? body->data[i] : ' ';
	s[n] = '\0';
	return s;
}

int
cmd_reinit(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	const char **candidates = pg_malloc0(sizeof(char *) * (PGHA_MAX_MEMBERS + 1));
	const char **names = pg_malloc0(sizeof(char *) * (opt->nmembers + 2));
	char	  **start_before;
	bool	   *waiting;
	int			ncand;
	int			n = 0;
	int			failed = 0;
	int			nwait = 0;

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	ncand = replica_names(c, candidates);

	/* the named members, each a running replica; bad names refused first */
	for (int i = 0; i < opt->nmembers; i++)
	{
		const char *name = opt->members[i];
		bool		dup = false;

		if (!pgha_valid_name(name))
		{
			pg_log_error("invalid member name \"%s\"", name);
			return 1;
		}
		if (pgha_find_member(c, name) == NULL)
		{
			if (pgha_find_stopped_member(c, name) != NULL)
			{
				pg_log_error("member \"%s\" of cluster \"%s\" is stopped: its REST API cannot reinitialize it",
							 name, opt->cluster);
				pg_log_error_hint("Start its server first, or clone it again on its host with pg_ha_ctl rejoin --reinit.");
			}
			else
				pg_log_error("member \"%s\" does not exist in cluster \"%s\"", name, opt->cluster);
			return 1;
		}
		if (ctl_is_leader(c, pgha_find_member(c, name)))
		{
			pg_log_error("member \"%s\" is the leader of cluster \"%s\": only a replica can be reinitialized",
						 name, opt->cluster);
			pg_log_error_hint("Switch over to another member first (pg_ha_ctl switchover %s), then reinitialize \"%s\".",
							  opt->cluster, name);
			return 1;
		}
		for (int j = 0; j < n; j++)
			dup |= strcmp(names[j], name) == 0;
		if (!dup)
			names[n++] = name;
	}
	if (n == 0 && ncand == 0)
	{
		/* patronictl's words */
		pg_log_error("%s cluster doesn't have any members", opt->cluster);
		pg_log_error_hint("Only a running replica can be reinitialized; pg_ha_ctl list %s shows the members.",
						  opt->cluster);
		return 1;
	}

	/* patronictl shows the cluster, then asks which and whether */
	ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
	if (n == 0)
	{
		char	   *joined;
		char	   *answer;
		PQExpBufferData list;

		if (opt->force)
		{
			pg_log_error("reinit needs the name of a replica");
			pg_log_error_hint("Run: pg_ha_ctl reinit [CLUSTER] MEMBER... --force");
			return 1;
		}
		initPQExpBuffer(&list);
		for (int i = 0; i < ncand; i++)
			appendPQExpBuffer(&list, "%s%s", i ? ", " : "", candidates[i]);
		joined = pg_strdup(list.data);
		termPQExpBuffer(&list);
		answer = ctl_prompt(psprintf("Which member do you want to reinitialize [%s]?", joined), "");
		if (answer[0] == '\0')
		{
			pg_log_error("aborting reinitialize: no member given");
			return 1;
		}
		for (int i = 0; i < ncand && n == 0; i++)
			if (strcmp(candidates[i], answer) == 0)
				names[n++] = candidates[i];
		if (n == 0)
		{
			/* patronictl: "<name> is not a member of cluster" */
			pg_log_error("%s is not a member of cluster", answer);
			pg_log_error_hint("Give one of the replicas: %s.", joined);
			return 1;
		}
	}
	if (!opt->force)
	{
		PQExpBufferData list;
		bool		yes;

		initPQExpBuffer(&list);
		for (int i = 0; i < n; i++)
			appendPQExpBuffer(&list, "%s%s", i ? ", " : "", names[i]);
		yes = ctl_confirm(psprintf("Are you sure you want to reinitialize members %s?", list.data));
		termPQExpBuffer(&list);
		if (!yes)
		{
			pg_log_error("aborting reinitialize");
			return 1;
		}
	}

	start_before = pg_malloc0(sizeof(char *) * n);
	waiting = pg_malloc0(sizeof(bool) * n);
	for (int i = 0; i < n; i++)
	{
		const PgHaMember *m = pgha_find_member(c, names[i]);
		char	   *url = ctl_api_endpoint(m, "reinitialize");
		CtlBody		body = {NULL, 0};
		char		err[256] = "";
		long		status;
		char	   *text;

		if (url == NULL)
		{
			printf("Failed: reinitialize for member %s: no usable api_url (\"%s\")\n",
				   names[i], m->api_url);
			failed++;
			continue;
		}
		if (opt->wait)
			start_before[i] = ctl_api_start_time(m);
		status = ctl_api_request(url, "POST", opt->force ? "{\"force\": true}" : "{\"force\": false}",
								 &body, err, sizeof(err));
		text = excerpt(&body);
		if (status < 0)
		{
			printf("Failed: reinitialize for member %s: %s (POST %s)\n", names[i], err, url);
			failed++;
		}
		else if (status >= 400)
		{
			/* patronictl's check_response(); pg_ha cannot cancel a running one */
			printf("Failed: reinitialize for member %s, status code=%ld, (%s)%s\n",
				   names[i], status, text,
				   status == 401 ? "; set PG_HA_API_AUTH=user:password" : "");
			failed++;
		}
		else
		{
			printf("Success: reinitialize for member %s\n", names[i]);
			if (opt->wait)
			{
				waiting[i] = true;
				nwait++;
			}
		}
		fflush(stdout);
		pg_free(text);
		pg_free(body.data);
		pg_free(url);
	}

	if (nwait > 0)
	{
		double		deadline = ctl_now_s() + opt->wait_timeout;
		PQExpBufferData list;

		initPQExpBuffer(&list);
		for (int i = 0; i < n; i++)
			if (waiting[i])
				appendPQExpBuffer(&list, "%s%s", list.len ? ", " : "", names[i]);
		printf("Waiting for reinitialize to complete on: %s\n", list.data);
		fflush(stdout);
		termPQExpBuffer(&list);
		while (nwait > 0 && ctl_now_s() < deadline)
		{
			pg_usleep(POLL_US);
			for (int i = 0; i < n; i++)
			{
				if (!waiting[i] || !reinitialized(opt, names[i], start_before[i]))
					continue;
				printf("Reinitialize is completed on: %s\n", names[i]);
				fflush(stdout);
				waiting[i] = false;
				nwait--;
			}
		}
		for (int i = 0; i < n; i++)
			if (waiting[i])
			{
				pg_log_error("member %s does not run as a replica again within %d s", names[i],
							 opt->wait_timeout);
				pg_log_error_hint("Its clone may still be under way: see the server log of %s (\"pg_ha_ctl rejoin:\" lines); pg_ha_ctl list %s shows the members.",
								  names[i], opt->cluster);
				failed++;
			}
	}
	return failed ? 1 : 0;
}

/* ----- remove */

/*
 * click.prompt() without a default: "text: ", asked again on an empty
 * answer; NULL at the end of input (click aborts then).
 */
static char *
ask(const char *text)
{
	char		line[1024];

	for (;;)
	{
		size_t		n;

		printf("%s: ", text);
		fflush(stdout);
		if (fgets(line, sizeof(line), stdin) == NULL)
		{
			printf("\n");
			return NULL;
		}
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (n > 0)
			return pg_strdup(line);
	}
}

int
cmd_remove(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	const char *aware = "Yes I am aware";
	char	   *answer;
	char	   *question;
	bool		done = false;

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	ctl_print_members(opt, c, opt->fmt, false);
	if (c->nmembers > 0)
		pg_log_warning("%d member(s) of cluster \"%s\" run: their servers write their keys again; stop them first",
					   c->nmembers, opt->cluster);

	answer = ask("Please confirm the cluster name to remove");
	if (answer == NULL || strcmp(answer, opt->cluster) != 0)
	{
		pg_log_error("Cluster names specified do not match");
		return 1;
	}
	question = psprintf("You are about to remove all information in DCS for %s, please type: \"%s\"",
						opt->cluster, aware);
	answer = ask(question);
	if (answer == NULL || strcmp(answer, aware) != 0)
	{
		pg_log_error("You did not exactly type \"%s\"", aware);
		return 1;
	}

	/* patronictl: while the leader key names a leader, held or not */
	if (c->has_leader && c->leader[0] != '\0')
	{
		answer = ask("This cluster currently is healthy. Please specify the leader name to continue");
		if (answer == NULL || strcmp(answer, c->leader) != 0)
		{
			pg_log_error("You did not specify the current leader of the cluster");
			return 1;
		}
	}

	if (!ctl_kv_delete_tree(opt, &done))
		return 1;
	if (!done)
	{
		pg_log_error("Consul did not remove the keys of cluster \"%s\"", opt->cluster);
		return 1;
	}
	printf("Removed every key of cluster %s under \"%s/%s/\" from Consul\n",
		   opt->cluster, opt->namespace, opt->cluster);
	return 0;
}
