/*-------------------------------------------------------------------------
 *
 * show.c
 *	  pg_ha_ctl list, topology and history: the cluster as patronictl shows it.
 *
 * list draws the members as patronictl 3 does: a framed table titled with
 * the cluster name and system identifier; Member, Host, Role, State, TL,
 * Lag in MB, and Pending restart when some member needs a restart; then
 * the cluster's state below it (maintenance mode, a scheduled switchover).
 * Host is host:port when a member listens on another port than 5432 or
 * two members share a host, as patronictl does.  Lag is measured against
 * the leader's position: the leader's own record, else the status key.
 * Stopped members (records no session holds: the leader writes one when
 * a member's server stops) are listed too, with their state "stopped",
 * lag unknown, and a Last seen column when one has a time.
 * topology is the same table with the leader first and its replicas
 * indented below it; history the timeline history key.  Each has a JSON
 * and a YAML form for scripts (--format), where an empty cell is left out,
 * and list and topology can redraw every few seconds (-W, -w SECONDS).
 *
 * Everything here only reads Consul, but remove-member, which deletes a
 * stopped member's record.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <math.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/logging.h"
#include "cluster.h"
#include "member.h"
#include "names.h"
#include "pg_ha_ctl.h"
#include "sync_key.h"

/*
 * Local time as patronictl's timestamp(): "2026-11-25 20:01:02.33421"
 * with digits (0 to 6) fractional digits, patronictl printing 5.
 */
char *
ctl_timestamp(int digits)
{
	struct timeval tv;
	struct tm	tm;
	char		buf[64];
	char		frac[16];

	gettimeofday(&tv, NULL);
	localtime_r(&tv.tv_sec, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%d %H:%M:%S", &tm);
	if (digits > 0)
	{
		snprintf(frac, sizeof(frac), ".%06ld", (long) tv.tv_usec);
		frac[Min(digits, 6) + 1] = '\0';
		strlcat(buf, frac, sizeof(buf));
	}
	return pg_strdup(buf);
}

/* Does m hold the leader key (locked by a session)? */
bool
ctl_is_leader(const PgHaCluster *c, const PgHaMember *m)
{
	return c->has_leader && c->leader_session[0] != '\0' &&
		strcmp(c->leader, m->name) == 0;
}

/* The member holding the leader key, or NULL. */
const PgHaMember *
ctl_leader_member(const PgHaCluster *c)
{
	for (int i = 0; i < c->nmembers; i++)
		if (ctl_is_leader(c, &c->members[i]))
			return &c->members[i];
	return NULL;
}

/*
 * The leader's position, which lags are measured against: its own record's
 * xlog_location, else the last one published in the status key.
 */
bool
ctl_leader_position(const PgHaCluster *c, int64 *pos)
{
	const PgHaMember *leader = ctl_leader_member(c);

	if (leader != NULL && leader->has_xlog)
	{
		*pos = leader->xlog_location;
		return true;
	}
	if (c->has_optime)
	{
		*pos = c->optime;
		return true;
	}
	return false;
}

/* Read the cluster; false, with the error logged, when Consul has no key of it. */
bool
ctl_read_known_cluster(const CtlOptions *opt, PgHaCluster *c)
{
	bool		found;

	if (!ctl_read_cluster(opt, c, &found))
		return false;
	if (!found)
	{
		pg_log_error("cluster \"%s\" is not known to Consul at %s",
					 opt->cluster, opt->consul_url);
		/* Consul with ACLs hides the keys a token may not read: a 404 */
		if (opt->consul_token == NULL)
			pg_log_error_hint("Check the cluster name and --namespace, or start the first node of the cluster (pg_ha_ctl init). If Consul uses ACLs, set PG_HA_CONSUL_TOKEN: without a token it shows no keys.");
		else
			pg_log_error_hint("Check the cluster name and --namespace, or start the first node of the cluster (pg_ha_ctl init). If Consul uses ACLs, check that the token in PG_HA_CONSUL_TOKEN may read the cluster's keys.");
		return false;
	}
	return true;
}

/* a row of list and topology: a live member, or a stopped one */
typedef struct ListedMember
{
	const PgHaMember *m;
	bool		stopped;
} ListedMember;

static int
member_cmp(const void *a, const void *b)
{
	return strcmp(((const ListedMember *) a)->m->name,
				  ((const ListedMember *) b)->m->name);
}

/* columns of list and topology; the first is left out of the text form */
enum
{
	COL_CLUSTER,
	COL_MEMBER,
	COL_HOST,
	COL_ROLE,
	COL_STATE,
	COL_TL,
	COL_LAG,
	NBASECOLS					/* then Pending restart, Last seen: when used */
};

/*
 * The Tags cell of list -e: the member's tags object as YAML in the table
 * (one tag a line, as patronictl renders it), the object itself in JSON
 * and YAML; empty when it has none.
 */
static void
set_tags_cell(CtlTable *t, int r, int col, const PgHaMember *m)
{
	char		tags[PGHA_TAGS_LEN * 2];
	json_t	   *root;

	if (pgha_member_tags_json(m, tags, sizeof(tags)) < 0 ||
		(root = json_loads(tags, 0, NULL)) == NULL)
		return;
	if (json_is_object(root) && json_object_size(root) > 0)
	{
		char	   *yaml = ctl_render_yaml(root);
		size_t		n = strlen(yaml);

		while (n > 0 && yaml[n - 1] == '\n')
			yaml[--n] = '\0';
		ctl_table_set_json(t, r, col, yaml, tags, true);
		pg_free(yaml);
	}
	json_decref(root);
}

/* epoch ms as local time, as patronictl prints times: "2026-11-25 20:01:02" */
static void
format_local_time(int64 epoch_ms, char *buf, size_t len)
{
	time_t		t = (time_t) (epoch_ms / 1000);
	struct tm	tm;

	if (localtime_r(&t, &tm) == NULL ||
		strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		buf[0] = '\0';
}

/*
 * The lines below the table: maintenance mode, and a switchover scheduled
 * in the failover key, as patronictl prints them.
 */
static void
print_service_info(const CtlOptions *opt, const PgHaCluster *c)
{
	PQExpBufferData buf;
	CtlKv		kv;

	initPQExpBuffer(&buf);
	if (c->paused)
		appendPQExpBufferStr(&buf, " Maintenance mode: on\n");
	if (c->has_failover && ctl_kv_get(opt, "failover", &kv))
	{
		json_t	   *root = kv.exists ? json_loadb(kv.value, kv.len, 0, NULL) : NULL;
		json_t	   *at = json_object_get(root, "scheduled_at");

		if (json_is_string(at))
		{
			static const char *const names[] = {"leader", "member"};
			static const char *const labels[] = {"from", "to"};

			appendPQExpBuffer(&buf, " Switchover scheduled at: %s\n",
							  json_string_value(at));
			for (int i = 0; i < 2; i++)
			{
				json_t	   *v = json_object_get(root, names[i]);

				if (json_is_string(v) && json_string_length(v) > 0)
					appendPQExpBuffer(&buf, "%24s: %s\n", labels[i],
									  json_string_value(v));
			}
		}
		json_decref(root);
		ctl_kv_free(&kv);
	}
	fputs(buf.data, stdout);
	termPQExpBuffer(&buf);
}

/*
 * Print the members of c in the given form: the list (sorted by name) or
 * the topology (leader first, replicas indented), then in the text form
 * the cluster's state below the table.
 */
void
ctl_print_members(const CtlOptions *opt, const PgHaCluster *c,
				  CtlFormat fmt, bool topology)
{
	const char *names[NBASECOLS + 4] = {
		"Cluster", "Member", "Host", "Role", "State", "TL", "Lag in MB"
	};
	ListedMember sorted[PGHA_MAX_MEMBERS * 2];
	char		hosts[PGHA_MAX_MEMBERS * 2][PGHA_URL_LEN];
	int			ports[PGHA_MAX_MEMBERS * 2];
	int			n = 0;
	int			ncols = NBASECOLS;
	int			col_pending = -1;
	int			col_scheduled = -1;
	int			col_tags = -1;
	int			col_seen = -1;
	bool		any_pending = false;
	bool		any_seen = false;
	bool		append_port = false;
	int64		leader_pos = 0;
	bool		has_pos = ctl_leader_position(c, &leader_pos);
	CtlTable   *t;
	char	   *title;

	for (int i = 0; i < c->nmembers && i < PGHA_MAX_MEMBERS; i++)
		sorted[n++] = (ListedMember) {&c->members[i], false};
	for (int i = 0; i < c->nstopped && i < PGHA_MAX_MEMBERS; i++)
		sorted[n++] = (ListedMember) {&c->stopped[i], true};
	qsort(sorted, n, sizeof(sorted[0]), member_cmp);
	if (topology)
	{
		/* the leader first, the others in name order */
		for (int i = 0; i < n; i++)
			if (!sorted[i].stopped && ctl_is_leader(c, sorted[i].m))
			{
				ListedMember leader = sorted[i];

				memmove(&sorted[1], &sorted[0], sizeof(sorted[0]) * i);
				sorted[0] = leader;
				break;
			}
	}

	/* host:port when a port is not 5432 or two members share a host */
	for (int i = 0; i < n; i++)
	{
		if (sorted[i].m->pending_restart)
			any_pending = true;
		if (sorted[i].stopped && sorted[i].m->last_seen_ms > 0)
			any_seen = true;
		if (!pgha_split_conn_url(sorted[i].m->conn_url, hosts[i], sizeof(hosts[i]),
								&ports[i]))
		{
			hosts[i][0] = '\0';
			ports[i] = 0;
			continue;
		}
		if (ports[i] != 5432)
			append_port = true;
		for (int j = 0; j < i; j++)
			if (ports[j] != 0 && strcmp(hosts[i], hosts[j]) == 0)
				append_port = true;
	}

	/*
	 * optional columns, as patronictl adds Pending restart when needed;
	 * with -e, also Scheduled restart and Tags, always (patronictl adds them
	 * by itself too when a member has one)
	 */
	if (any_pending || opt->extended)
	{
		col_pending = ncols;
		names[ncols++] = "Pending restart";
	}
	if (opt->extended)
	{
		col_scheduled = ncols;
		names[ncols++] = "Scheduled restart";
		col_tags = ncols;
		names[ncols++] = "Tags";
	}
	if (any_seen)
	{
		col_seen = ncols;
		names[ncols++] = "Last seen";
	}
	t = ctl_table_new(ncols, names, "lllllrrll");
	ctl_table_hide_column(t, COL_CLUSTER);
	for (int i = 0; i < n; i++)
	{
		const PgHaMember *m = sorted[i].m;
		bool		stopped = sorted[i].stopped;
		bool		leader = !stopped && ctl_is_leader(c, m);
		int			r = ctl_table_add_row(t);
		char		buf[PGHA_URL_LEN + 16];

		ctl_table_set(t, r, COL_CLUSTER, opt->cluster, false);
		if (topology && !leader)
			snprintf(buf, sizeof(buf), "+ %s", m->name);
		else
			snprintf(buf, sizeof(buf), "%s", m->name);
		ctl_table_set(t, r, COL_MEMBER, buf, false);
		if (hosts[i][0] != '\0' && append_port)
			snprintf(buf, sizeof(buf), "%s:%d", hosts[i], ports[i]);
		else
			snprintf(buf, sizeof(buf), "%s", hosts[i]);
		ctl_table_set(t, r, COL_HOST, buf, false);
		ctl_table_set(t, r, COL_ROLE, leader ? "Leader" : stopped ?
					  pgha_stopped_role_label(c, m, false) :
					  pgha_member_role_label(c, m, false), false);
		ctl_table_set(t, r, COL_STATE, m->state, false);
		if (m->timeline > 0)
			ctl_table_set_int(t, r, COL_TL, m->timeline);
		if (!leader)
		{
			/* a stopped record has no position: unknown, as patronictl says */
			if (!m->has_xlog)
				ctl_table_set(t, r, COL_LAG, "unknown", false);
			else
			{
				/* patronictl: round(lag / 1024 / 1024), half to even */
				int64		lag = has_pos && leader_pos > m->xlog_location ?
					leader_pos - m->xlog_location : 0;

				ctl_table_set_int(t, r, COL_LAG,
								  (long long) rint((double) lag / (1024.0 * 1024.0)));
			}
		}
		if (col_pending >= 0)
			ctl_table_set(t, r, col_pending, m->pending_restart ? "*" : "", false);
		if (col_scheduled >= 0)
		{
			/* pg_ha keeps them in restart/<member>, Patroni in the record */
			buf[0] = '\0';
			for (int k = 0; k < c->nrestarts; k++)
				if (c->restarts[k].scheduled &&
					strcmp(c->restarts[k].member, m->name) == 0)
					ctl_format_iso_utc((time_t) (c->restarts[k].scheduled_ms / 1000),
									   buf, sizeof(buf));
			ctl_table_set(t, r, col_scheduled, buf, false);
		}
		if (col_tags >= 0)
			set_tags_cell(t, r, col_tags, m);
		if (col_seen >= 0)
		{
			buf[0] = '\0';
			if (stopped && m->last_seen_ms > 0)
				format_local_time(m->last_seen_ms, buf, sizeof(buf));
			ctl_table_set(t, r, col_seen, buf, false);
		}
	}

	title = psprintf(" Cluster: %s (%s) ", opt->cluster,
					 c->has_initialize ? c->initialize : "uninitialized");
	ctl_table_print(t, fmt, title, true, stdout);
	if (fmt == CTL_FORMAT_TABLE)
		print_service_info(opt, c);
	fflush(stdout);
	pg_free(title);
	ctl_table_free(t);
}

/* one drawing of list or topology; false when Consul could not be read */
static bool
show_once(const CtlOptions *opt, bool topology)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	bool		ok = ctl_read_known_cluster(opt, c);

	if (ok)
		ctl_print_members(opt, c, opt->fmt, topology);
	pg_free(c);
	return ok;
}

/*
 * list and topology; with a watch interval, redraw until interrupted
 * (clearing the screen on a terminal, as patronictl does), each drawing
 * after a timestamp line, and go on when Consul cannot be read for a while.
 */
int
cmd_list(const CtlOptions *opt, bool topology)
{
	if (opt->watch <= 0)
		return show_once(opt, topology) ? 0 : 1;

	for (;;)
	{
		struct timespec start;
		struct timespec now;
		double		elapsed;
		char	   *ts;

		clock_gettime(CLOCK_MONOTONIC, &start);
		if (isatty(fileno(stdout)))
			fputs("\033[H\033[2J", stdout);
		ts = ctl_timestamp(0);
		printf("%s\n", ts);
		pg_free(ts);
		fflush(stdout);
		(void) show_once(opt, topology);
		fflush(stdout);
		fflush(stderr);
		clock_gettime(CLOCK_MONOTONIC, &now);
		elapsed = (now.tv_sec - start.tv_sec) + (now.tv_nsec - start.tv_nsec) / 1e9;
		if (elapsed < opt->watch)
			pg_usleep((long) ((opt->watch - elapsed) * 1000000));
	}
	return 0;
}

/* ----- remove-member */

/*
 * Forget a stopped member: delete its record, which no session holds, with
 * check-and-set on the ModifyIndex as read, so that a member that came
 * back meanwhile (its session took the key over) is never touched.  A
 * running member is refused: its record is its server's, and it would
 * write it again at its next round anyway.
 */
int
cmd_remove_member(const CtlOptions *opt, const char *name)
{
	PgHaCluster *c;
	const PgHaMember *m;
	char	   *relkey;
	bool		done = false;
	bool		ok;

	if (name == NULL || !pgha_valid_name(name))
	{
		pg_log_error("invalid member name \"%s\"", name ? name : "");
		pg_log_error_hint("Give the name of a stopped member, as pg_ha_ctl list shows it.");
		return 1;
	}
	c = pg_malloc0(sizeof(PgHaCluster));
	if (!ctl_read_known_cluster(opt, c))
	{
		pg_free(c);
		return 1;
	}
	if (pgha_find_member(c, name) != NULL)
	{
		pg_log_error("member \"%s\" of cluster \"%s\" is running: only a stopped member can be removed",
					 name, opt->cluster);
		pg_log_error_hint("Stop its server first; it is then listed as stopped.");
		pg_free(c);
		return 1;
	}
	m = pgha_find_stopped_member(c, name);
	if (m == NULL || m->modify_index == 0)
	{
		pg_log_error("cluster \"%s\" has no stopped member \"%s\"", opt->cluster, name);
		pg_free(c);
		return 1;
	}

	if (!opt->force)
	{
		char	   *question = psprintf("Are you sure you want to remove stopped member %s from cluster %s?",
										name, opt->cluster);
		bool		yes;

		/* the table first, as patronictl shows it before it asks */
		ctl_print_members(opt, c, CTL_FORMAT_TABLE, false);
		yes = ctl_confirm(question);

		pg_free(question);
		if (!yes)
		{
			pg_log_error("aborting remove-member");
			pg_free(c);
			return 1;
		}
	}

	relkey = psprintf("members/%s", name);
	ok = ctl_kv_delete(opt, relkey, (int64) m->modify_index, &done);
	pg_free(relkey);
	if (ok && !done)
	{
		pg_log_error("member \"%s\" of cluster \"%s\" changed meanwhile: nothing was removed",
					 name, opt->cluster);
		pg_log_error_hint("It may have come back; see pg_ha_ctl list.");
		ok = false;
	}
	else if (ok)
		printf("Success: stopped member %s removed from cluster %s\n", name, opt->cluster);
	pg_free(c);
	return ok ? 0 : 1;
}

/* ----- history */

/* a history item as a cell: integers as numbers, strings as they are */
static void
set_history_cell(CtlTable *t, int r, int col, json_t *v)
{
	if (v == NULL || json_is_null(v))
		ctl_table_set(t, r, col, "", false);
	else if (json_is_integer(v))
		ctl_table_set_int(t, r, col, (long long) json_integer_value(v));
	else if (json_is_string(v))
		ctl_table_set(t, r, col, json_string_value(v), false);
	else
	{
		char	   *s = json_dumps(v, JSON_ENCODE_ANY | JSON_COMPACT);

		ctl_table_set(t, r, col, s ? s : "?", false);
		free(s);
	}
}

int
cmd_history(const CtlOptions *opt)
{
	static const char *const names[] = {
		"TL", "LSN", "Reason", "Timestamp", "New Leader"
	};
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	CtlKv		kv;
	json_t	   *root = NULL;
	CtlTable   *t;

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	pg_free(c);
	if (!ctl_kv_get(opt, "history", &kv))
		return 1;
	if (kv.exists && kv.len > 0)
	{
		json_error_t jerr;

		root = json_loadb(kv.value, kv.len, JSON_DECODE_ANY, &jerr);
		if (!json_is_array(root))
		{
			pg_log_error("the history key of cluster \"%s\" is not a JSON list%s%s",
						 opt->cluster, root ? "" : ": ", root ? "" : jerr.text);
			json_decref(root);
			ctl_kv_free(&kv);
			return 1;
		}
	}

	t = ctl_table_new(lengthof(names), names, "rrlll");
	if (root != NULL)
	{
		size_t		i;
		json_t	   *line;

		json_array_foreach(root, i, line)
		{
			int			r = ctl_table_add_row(t);

			if (!json_is_array(line))
			{
				set_history_cell(t, r, 0, NULL);
				set_history_cell(t, r, 2, line);
				continue;
			}
			for (int col = 0; col < (int) lengthof(names); col++)
				set_history_cell(t, r, col, json_array_get(line, col));
		}
	}
	ctl_table_print(t, opt->fmt, NULL, false, stdout);
	ctl_table_free(t);
	json_decref(root);
	ctl_kv_free(&kv);
	return 0;
}
