/*-------------------------------------------------------------------------
 *
 * query.c
 *	  pg_ha_ctl query and dsn, as patronictl has them.
 *
 *	dsn
 *		"host=... port=..." of a member: the one named with -m, else the
 *		first (by name) running member with the role of -r, the leader by
 *		default; from its conn_url in Consul.
 *	query
 *		run SQL (-c, or -f FILE) on that member with libpq, and print the
 *		rows in patronictl's forms: tsv (its default), table, json, yaml.
 *		With -r replica (standby) or primary (master), the server must be
 *		in recovery or out of it, checked with pg_is_in_recovery().  No
 *		member, a refused connection or a failed statement prints
 *		patronictl's line ("<time>\tERROR, SQLSTATE: ...") and, unlike
 *		patronictl, the error on stderr with exit status 1.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <math.h>
#include <time.h>
#include <unistd.h>

#include "catalog/pg_type_d.h"
#include "common/logging.h"
#include "common/string.h"
#include "cluster.h"
#include "libpq-fe.h"
#include "names.h"
#include "pg_ha_ctl.h"

static const char *const roles[] = {
	"leader", "primary", "standby-leader", "replica", "standby", "any", "master", NULL
};

/*
 * The role of -r (or of -m: any, else leader), checked; exits on a bad
 * one or when both are given, with patronictl's words.
 */
static const char *
chosen_role(const CtlOptions *opt)
{
	if (opt->member != NULL && opt->role != NULL)
	{
		pg_log_error("--role and --member are mutually exclusive options");
		exit(1);
	}
	if (opt->member != NULL)
	{
		if (!pgha_valid_name(opt->member))
			pg_fatal("invalid member name \"%s\"", opt->member);
		return "any";
	}
	if (opt->role == NULL)
		return "leader";
	for (int i = 0; roles[i] != NULL; i++)
		if (strcmp(opt->role, roles[i]) == 0)
			return roles[i];
	pg_log_error("invalid role \"%s\"", opt->role);
	pg_log_error_hint("Use leader, primary, master, replica, standby, standby-leader or any.");
	exit(1);
}

static bool
is_leader_role(const char *role)
{
	return strcmp(role, "leader") == 0 || strcmp(role, "primary") == 0 ||
		strcmp(role, "master") == 0;
}

/*
 * patronictl's get_any_member(): the named member (a stopped one too), or
 * the leader for leader, primary and master, or the first running member
 * by name that is not the leader (replica, standby) or any (any).  A
 * standby leader there is none: pg_ha has no standby clusters.  NULL when
 * none fits.
 */
static const PgHaMember *
pick_member(const CtlOptions *opt, const PgHaCluster *c, const char *role)
{
	const PgHaMember *best = NULL;

	if (opt->member != NULL)
	{
		const PgHaMember *m = pgha_find_member(c, opt->member);

		return m ? m : pgha_find_stopped_member(c, opt->member);
	}
	if (is_leader_role(role))
		return ctl_leader_member(c);
	if (strcmp(role, "standby-leader") == 0)
		return NULL;
	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];

		if (strcmp(role, "any") != 0 && ctl_is_leader(c, m))
			continue;
		if (best == NULL || strcmp(m->name, best->name) < 0)
			best = m;
	}
	return best;
}

int
cmd_dsn(const CtlOptions *opt)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	const char *role = chosen_role(opt);
	const PgHaMember *m;
	char		host[PGHA_URL_LEN];
	int			port;

	if (!ctl_read_known_cluster(opt, c))
		return 1;
	m = pick_member(opt, c, role);
	if (m == NULL || !pgha_split_conn_url(m->conn_url, host, sizeof(host), &port))
	{
		/* patronictl's words */
		pg_log_error("Can not find a suitable member");
		if (m != NULL)
			pg_log_error_detail("Member \"%s\" has no usable conn_url (\"%s\").", m->name, m->conn_url);
		else if (opt->member != NULL)
			pg_log_error_detail("Cluster \"%s\" has no member \"%s\".", opt->cluster, opt->member);
		else
			pg_log_error_detail("Cluster \"%s\" has no running member with role %s.", opt->cluster, role);
		return 1;
	}
	printf("host=%s port=%d\n", host, port);
	return 0;
}

/* ----- query */

/* patronictl's line for what went wrong: "<time>\t<message>", one line */
static void
print_failure(const CtlOptions *opt, const char *message)
{
	char	   *ts = ctl_timestamp(0);
	char	   *line = pg_strdup(message);

	for (char *p = line; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	/* trailing blanks of libpq's message */
	for (size_t n = strlen(line); n > 0 && line[n - 1] == ' '; n--)
		line[n - 1] = '\0';
	printf("%s%s%s\n", ts, opt->delimiter ? opt->delimiter : "\t", line);
	fflush(stdout);
	pg_free(line);
	pg_free(ts);
}

/* the text of -c, or of -f FILE (- for standard input); exits on failure */
static char *
query_text(const CtlOptions *opt)
{
	PQExpBufferData buf;
	char		chunk[8192];
	size_t		n;
	FILE	   *f;

	if (opt->command != NULL && opt->file != NULL)
	{
		pg_log_error("--file and --command are mutually exclusive options");
		exit(1);
	}
	if (opt->command == NULL && opt->file == NULL)
	{
		pg_log_error("You need to specify either --command or --file");
		exit(1);
	}
	if (opt->command != NULL)
		return pg_strdup(opt->command);
	f = strcmp(opt->file, "-") == 0 ? stdin : fopen(opt->file, "r");
	if (f == NULL)
		pg_fatal("could not open file \"%s\": %m", opt->file);
	initPQExpBuffer(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryPQExpBuffer(&buf, chunk, n);
	if (ferror(f))
		pg_fatal("could not read file \"%s\": %m", opt->file);
	if (f != stdin)
		fclose(f);
	return buf.data;
}

/* a value as JSON when it is a finite number as libpq prints it */
static bool
json_number(const char *s)
{
	char	   *end;
	double		v;

	if (s[0] == '\0' || strspn(s, "+-0123456789.eE") != strlen(s))
		return false;
	v = strtod(s, &end);
	return *end == '\0' && isfinite(v) && s[0] != '+' && s[0] != '.';
}

/* one result as patronictl prints it: rows of the last statement */
static void
print_result(const CtlOptions *opt, PGresult *res)
{
	int			ncols = PQnfields(res);
	const char **names = pg_malloc0(sizeof(char *) * (ncols + 1));
	CtlTable   *t;

	for (int c = 0; c < ncols; c++)
		names[c] = PQfname(res, c);
	t = ctl_table_new(ncols, names, NULL);
	for (int r = 0; r < PQntuples(res); r++)
	{
		int			row = ctl_table_add_row(t);

		for (int c = 0; c < ncols; c++)
		{
			const char *v = PQgetvalue(res, r, c);
			Oid			type = PQftype(res, c);

			/* psycopg's Python values, as str() and json.dumps() write them */
			if (PQgetisnull(res, r, c))
				ctl_table_set_json(t, row, c, "None", "null", false);
			else if (type == BOOLOID)
				ctl_table_set_json(t, row, c, strcmp(v, "t") == 0 ? "True" : "False",
								   strcmp(v, "t") == 0 ? "true" : "false", false);
			else if (type == INT2OID || type == INT4OID || type == INT8OID || type == OIDOID)
				ctl_table_set(t, row, c, v, true);
			else if ((type == FLOAT4OID || type == FLOAT8OID || type == NUMERICOID) &&
					 json_number(v))
				ctl_table_set_json(t, row, c, v, v, false);
			else
				ctl_table_set(t, row, c, v, false);
		}
	}
	if (opt->fmt == CTL_FORMAT_TSV)
		ctl_table_print_tsv(t, opt->delimiter ? opt->delimiter : "\t", stdout);
	else
		ctl_table_print(t, opt->fmt, NULL, false, stdout);
	fflush(stdout);
	ctl_table_free(t);
	pg_free(names);
}

/* one run of the query; false when it did not run (said on both streams) */
static bool
query_once(const CtlOptions *opt, const char *sql, const char *role,
		   const char *password)
{
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	const PgHaMember *m;
	char		host[PGHA_URL_LEN];
	char		port[16];
	int			portnum;
	const char *keywords[8];
	const char *values[8];
	int			n = 0;
	PGconn	   *conn;
	PGresult   *res;
	bool		ok = false;

	if (!ctl_read_known_cluster(opt, c))
	{
		pg_free(c);
		return false;
	}
	m = pick_member(opt, c, role);
	if (m == NULL || !pgha_split_conn_url(m->conn_url, host, sizeof(host), &portnum))
	{
		char	   *msg = opt->member ?
			psprintf("No connection to member %s is available", opt->member) :
			psprintf("No connection to role=%s is available", role);

		print_failure(opt, msg);
		if (m != NULL)
			pg_log_error("member \"%s\" has no usable conn_url (\"%s\")", m->name, m->conn_url);
		else if (opt->member != NULL)
			pg_log_error("member \"%s\" does not exist in cluster \"%s\"", opt->member, opt->cluster);
		else
			pg_log_error("cluster \"%s\" has no running member with role %s", opt->cluster, role);
		pg_free(c);
		return false;
	}
	snprintf(port, sizeof(port), "%d", portnum);
	keywords[n] = "host";
	values[n++] = host;
	keywords[n] = "port";
	values[n++] = port;
	keywords[n] = "connect_timeout";
	values[n++] = "5";
	keywords[n] = "fallback_application_name";
	values[n++] = "pg_ha_ctl query";
	if (opt->dbname != NULL)
	{
		keywords[n] = "dbname";
		values[n++] = opt->dbname;
	}
	if (opt->username != NULL)
	{
		keywords[n] = "user";
		values[n++] = opt->username;
	}
	if (password != NULL)
	{
		keywords[n] = "password";
		values[n++] = password;
	}
	keywords[n] = NULL;
	values[n] = NULL;

	conn = PQconnectdbParams(keywords, values, 0);
	if (PQstatus(conn) != CONNECTION_OK)
	{
		char	   *msg = psprintf("ERROR, SQLSTATE: %s", PQerrorMessage(conn));

		print_failure(opt, msg);
		pg_log_error("could not connect to member %s at %s:%s: %s", m->name, host, port,
					 PQerrorMessage(conn));
		PQfinish(conn);
		pg_free(c);
		return false;
	}

	/* patronictl checks the role of replica and primary on the server */
	if (strcmp(role, "any") != 0 && strcmp(role, "leader") != 0)
	{
		bool		want_recovery = !is_leader_role(role);

		res = PQexec(conn, "SELECT pg_catalog.pg_is_in_recovery()");
		if (PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
			(strcmp(PQgetvalue(res, 0, 0), "t") == 0) != want_recovery)
		{
			print_failure(opt, psprintf("No connection to role=%s is available", role));
			pg_log_error("member %s is %s recovery: not a %s", m->name,
						 want_recovery ? "out of" : "in", role);
			PQclear(res);
			PQfinish(conn);
			pg_free(c);
			return false;
		}
		PQclear(res);
	}

	res = PQexec(conn, sql);
	switch (PQresultStatus(res))
	{
		case PGRES_TUPLES_OK:
			print_result(opt, res);
			ok = true;
			break;
		case PGRES_COMMAND_OK:
		case PGRES_EMPTY_QUERY:
			/* no rows to print (patronictl fails with "no results to fetch") */
			ok = true;
			break;
		default:
			{
				const char *sqlstate = PQresultErrorField(res, PG_DIAG_SQLSTATE);

				print_failure(opt, psprintf("ERROR, SQLSTATE: %s",
											sqlstate ? sqlstate : PQresultErrorMessage(res)));
				pg_log_error("query on member %s failed: %s", m->name,
							 PQresultErrorMessage(res));
			}
			break;
	}
	PQclear(res);
	PQfinish(conn);
	pg_free(c);
	return ok;
}

int
cmd_query(const CtlOptions *opt)
{
	const char *role = chosen_role(opt);
	char	   *sql = query_text(opt);
	char	   *password = NULL;
	if (opt->password)
		password = simple_prompt("Password: ", false);
	if (opt->watch <= 0)
		return query_once(opt, sql, role, password) ? 0 : 1;

	/* patronictl: again every interval, no screen cleared, until interrupted */
	for (;;)
	{
		double		start = ctl_now_s();
		double		left;

		(void) query_once(opt, sql, role, password);
		fflush(stderr);
		left = opt->watch - (ctl_now_s() - start);
		if (left > 0)
			pg_usleep((long) (left * 1000000));
	}
	return 0;
}
