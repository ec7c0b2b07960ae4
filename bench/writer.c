/*
 * writer.c: the client side of pg_ha's failover benchmark.
 *
 * A libpq client that inserts one row every interval into a table of the
 * cluster's leader, through a multi-host connection string with
 * target_session_attrs=read-write, so that libpq itself finds the node that
 * takes writes.  On any error it drops the connection and reconnects at the
 * next tick.  Every attempt (a connection attempt when there is no
 * connection, then one INSERT) is recorded: completion time on the
 * monotonic clock, success or the error text.
 *
 * At the end (duration reached, or SIGINT/SIGTERM) it prints:
 *   - the number of attempts and of acknowledged writes,
 *   - the longest gap between two consecutive acknowledged writes: the
 *     write-unavailability window seen by this client,
 *   - the errors seen inside that gap,
 *   - how many acknowledged writes are missing on the final leader (read
 *     back through the same connection string): 0 is expected.
 * and writes one CSV line per attempt (flushed as it goes, so that another
 * process can follow it):
 *   t_ms,ok,seq,latency_ms,server,error
 * t_ms is CLOCK_MONOTONIC in milliseconds when the attempt completed
 * (the same clock as Perl's Time::HiRes::clock_gettime(CLOCK_MONOTONIC)),
 * ok is 1 for an acknowledged INSERT, seq is the sequence number the
 * INSERT carried (empty when the attempt failed before sending one),
 * server is the address and port of the PostgreSQL server the connection
 * ended up on, as that server reports them (inet_server_addr(),
 * inet_server_port(): the node, also through a proxy; empty when there
 * was no connection).
 *
 * Build: cc -O2 -Wall -o bench/writer bench/writer.c \
 *            -I$(pg_config --includedir) -lpq
 *
 * It measures, it asserts nothing: its exit status is 0 whenever it could
 * run and report (even with lost writes), 1 on bad usage or I/O errors.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#define MAX_GAP_ERRORS 16

static volatile sig_atomic_t stop_requested = 0;

static void
on_signal(int signo)
{
	(void) signo;
	stop_requested = 1;
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000.0 + ts.tv_nsec / 1e6;
}

static void
sleep_until_ms(double deadline)
{
	struct timespec ts;

	ts.tv_sec = (time_t) (deadline / 1000.0);
	ts.tv_nsec = (long) ((deadline - ts.tv_sec * 1000.0) * 1e6);
	if (ts.tv_nsec >= 1000000000L)
	{
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	if (ts.tv_nsec < 0)
		ts.tv_nsec = 0;
	/* EINTR (a signal) ends the sleep early, which is what we want */
	clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

static void *
xrealloc(void *p, size_t n)
{
	void	   *q = realloc(p, n);

	if (q == NULL)
	{
		fprintf(stderr, "writer: out of memory\n");
		exit(1);
	}
	return q;
}

/* One line, no newlines or carriage returns, no trailing blanks. */
static char *
flatten(const char *msg)
{
	size_t		len = strlen(msg);
	char	   *out = xrealloc(NULL, len * 3 + 1);
	size_t		o = 0;

	for (size_t i = 0; i < len; i++)
	{
		if (msg[i] == '\n' || msg[i] == '\r' || msg[i] == '\t')
		{
			/* several lines: libpq lists one failure per host */
			if (i + 1 < len && o > 0)
			{
				memcpy(out + o, " | ", 3);
				o += 3;
			}
		}
		else
			out[o++] = msg[i];
	}
	while (o > 0 && (out[o - 1] == ' ' || out[o - 1] == '|'))
		o--;
	out[o] = '\0';
	return out;
}

static void
csv_field(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++)
	{
		if (*s == '"')
			fputc('"', f);
		fputc(*s, f);
	}
	fputc('"', f);
}

/* Attempts, kept in memory for the gap analysis. */
typedef struct
{
	double		t_ms;
	int			ok;
	int64_t		seq;			/* -1: no INSERT was sent */
	char	   *error;			/* NULL when ok */
} Attempt;

/* the server of the current connection ("" without one) */
static char server_id[128] = "";

static Attempt *attempts = NULL;
static size_t n_attempts = 0,
			cap_attempts = 0;
static FILE *csv = NULL;

static void
record(double t0, int ok, int64_t seq, const char *error)
{
	double		t = now_ms();
	Attempt    *a;

	if (n_attempts == cap_attempts)
	{
		cap_attempts = cap_attempts ? cap_attempts * 2 : 4096;
		attempts = xrealloc(attempts, cap_attempts * sizeof(Attempt));
	}
	a = &attempts[n_attempts++];
	a->t_ms = t;
	a->ok = ok;
	a->seq = seq;
	a->error = error ? flatten(error) : NULL;

	fprintf(csv, "%.3f,%d,", t, ok);
	if (seq >= 0)
		fprintf(csv, "%lld", (long long) seq);
	fprintf(csv, ",%.3f,%s,", t - t0, server_id);
	csv_field(csv, a->error ? a->error : "");
	fputc('\n', csv);
	fflush(csv);
}

static void
quiet_notices(void *arg, const char *message)
{
	(void) arg;
	(void) message;
}

/*
 * Run one command on conn, waiting at most timeout_ms for its result.
 * Returns NULL on success, else a malloc'ed error text.
 */
static char *
run_command(PGconn *conn, const char *sql, int nparams, const char *const *params,
			int timeout_ms, ExecStatusType expect)
{
	double		deadline = now_ms() + timeout_ms;
	char	   *err = NULL;
	PGresult   *res;

	if (!PQsendQueryParams(conn, sql, nparams, NULL, params, NULL, NULL, 0))
		return strdup(PQerrorMessage(conn));

	for (;;)
	{
		if (!PQconsumeInput(conn))
			return strdup(PQerrorMessage(conn));
		if (!PQisBusy(conn))
			break;

		double		left = deadline - now_ms();

		if (left <= 0)
		{
			/*
			 * No cancel request: PQcancel() waits for the server without a
			 * timeout, so a frozen server (SIGSTOP) would hold the writer
			 * until it resumes.  The caller drops the connection instead.
			 */
			char		msg[128];

			snprintf(msg, sizeof(msg), "writer: no answer within %d ms", timeout_ms);
			return strdup(msg);
		}

		struct pollfd pfd = {.fd = PQsocket(conn),.events = POLLIN};

		if (poll(&pfd, 1, (int) left + 1) < 0 && errno != EINTR)
			return strdup(strerror(errno));
	}

	while ((res = PQgetResult(conn)) != NULL)
	{
		if (err == NULL && PQresultStatus(res) != expect)
			err = strdup(PQresultErrorMessage(res)[0] ? PQresultErrorMessage(res)
						 : PQresStatus(PQresultStatus(res)));
		PQclear(res);
	}
	if (err == NULL && PQstatus(conn) != CONNECTION_OK)
		err = strdup(PQerrorMessage(conn));
	return err;
}

/*
 * Learn which server the new connection reached (through a proxy too):
 * its address and port as it reports them, into server_id.  Returns NULL
 * on success, else a malloc'ed error text.
 */
static char *
server_of(PGconn *conn, int timeout_ms)
{
	double		deadline = now_ms() + timeout_ms;
	PGresult   *res;
	char	   *err = NULL;

	server_id[0] = '\0';
	if (!PQsendQuery(conn, "SELECT coalesce(host(inet_server_addr()), 'local') || ':' || "
					 "coalesce(inet_server_port()::text, current_setting('port'))"))
		return strdup(PQerrorMessage(conn));
	for (;;)
	{
		if (!PQconsumeInput(conn))
			return strdup(PQerrorMessage(conn));
		if (!PQisBusy(conn))
			break;

		double		left = deadline - now_ms();

		if (left <= 0)
			return strdup("writer: no answer to the server query");

		struct pollfd pfd = {.fd = PQsocket(conn),.events = POLLIN};

		if (poll(&pfd, 1, (int) left + 1) < 0 && errno != EINTR)
			return strdup(strerror(errno));
	}
	while ((res = PQgetResult(conn)) != NULL)
	{
		if (err == NULL && PQresultStatus(res) != PGRES_TUPLES_OK)
			err = strdup(PQresultErrorMessage(res));
		else if (err == NULL && PQntuples(res) == 1)
			snprintf(server_id, sizeof(server_id), "%s", PQgetvalue(res, 0, 0));
		PQclear(res);
	}
	return err;
}

static int
valid_identifier(const char *s)
{
	if (!*s || strlen(s) > 63)
		return 0;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || *p == '_' || (p != s && *p >= '0' && *p <= '9')))
			return 0;
	return 1;
}

static int
cmp_i64(const void *a, const void *b)
{
	int64_t		x = *(const int64_t *) a,
				y = *(const int64_t *) b;

	return (x > y) - (x < y);
}

static void
usage(FILE *f)
{
	fprintf(f,
			"usage: writer [options] CONNINFO\n"
			"  -d, --duration SECONDS   how long to write (default 60; SIGINT/SIGTERM end it earlier)\n"
			"  -i, --interval MS        one INSERT every MS milliseconds (default 20)\n"
			"  -o, --csv FILE           CSV of attempts (default writer.csv, '-' for stdout)\n"
			"  -t, --table NAME         table to write to (default pg_ha_bench; created if needed)\n"
			"  -q, --query-timeout MS   give up on an INSERT after MS ms (default 5000)\n"
			"  -v, --verify-timeout S   keep trying to reach a leader for the final check for S s (default 60)\n"
			"  -V, --verify-conninfo C  connection string of the final check (default CONNINFO)\n"
			"CONNINFO example:\n"
			"  'host=127.0.0.1,127.0.0.1,127.0.0.1 port=5432,5433,5434 dbname=postgres\n"
			"   target_session_attrs=read-write connect_timeout=1'\n");
}

int
main(int argc, char **argv)
{
	double		duration_s = 60;
	double		interval_ms = 20;
	const char *csv_path = "writer.csv";
	const char *table = "pg_ha_bench";
	int			query_timeout_ms = 5000;
	double		verify_timeout_s = 60;
	const char *verify_conninfo = NULL;
	static const struct option longopts[] = {
		{"duration", required_argument, NULL, 'd'},
		{"interval", required_argument, NULL, 'i'},
		{"csv", required_argument, NULL, 'o'},
		{"table", required_argument, NULL, 't'},
		{"query-timeout", required_argument, NULL, 'q'},
		{"verify-timeout", required_argument, NULL, 'v'},
		{"verify-conninfo", required_argument, NULL, 'V'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0}
	};
	int			c;

	while ((c = getopt_long(argc, argv, "d:i:o:t:q:v:V:h", longopts, NULL)) != -1)
	{
		switch (c)
		{
			case 'd':
				duration_s = atof(optarg);
				break;
			case 'i':
				interval_ms = atof(optarg);
				break;
			case 'o':
				csv_path = optarg;
				break;
			case 't':
				table = optarg;
				break;
			case 'q':
				query_timeout_ms = atoi(optarg);
				break;
			case 'v':
				verify_timeout_s = atof(optarg);
				break;
			case 'V':
				verify_conninfo = optarg;
				break;
			case 'h':
				usage(stdout);
				return 0;
			default:
				usage(stderr);
				return 1;
		}
	}
	if (optind != argc - 1 || duration_s <= 0 || interval_ms <= 0 ||
		query_timeout_ms <= 0 || verify_timeout_s < 0)
	{
		usage(stderr);
		return 1;
	}
	if (!valid_identifier(table))
	{
		fprintf(stderr, "writer: table name must match [a-z_][a-z0-9_]*: \"%s\"\n", table);
		return 1;
	}
	const char *conninfo = argv[optind];

	if (verify_conninfo == NULL)
		verify_conninfo = conninfo;

	csv = strcmp(csv_path, "-") == 0 ? stdout : fopen(csv_path, "w");
	if (csv == NULL)
	{
		fprintf(stderr, "writer: cannot write %s: %s\n", csv_path, strerror(errno));
		return 1;
	}
	fprintf(csv, "t_ms,ok,seq,latency_ms,server,error\n");
	fflush(csv);

	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;	/* no SA_RESTART: a signal ends a sleep */
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	char		create_sql[256],
				insert_sql[256],
				select_sql[256];

	snprintf(create_sql, sizeof(create_sql),
			 "CREATE TABLE IF NOT EXISTS %s (seq bigint PRIMARY KEY, "
			 "ts timestamptz NOT NULL DEFAULT clock_timestamp())", table);
	snprintf(insert_sql, sizeof(insert_sql),
			 "INSERT INTO %s (seq, ts) VALUES ($1, clock_timestamp())", table);
	snprintf(select_sql, sizeof(select_sql), "SELECT seq FROM %s ORDER BY seq", table);

	int64_t    *acked = NULL;
	size_t		n_acked = 0,
				cap_acked = 0;
	int64_t		next_seq = 1;
	PGconn	   *conn = NULL;
	double		start = now_ms();
	double		end = start + duration_s * 1000.0;
	double		tick = start;

	printf("writer: start_monotonic_ms=%.3f interval_ms=%.1f table=%s\n",
		   start, interval_ms, table);
	fflush(stdout);

	while (!stop_requested && now_ms() < end)
	{
		double		t0 = now_ms();
		char	   *err = NULL;

		if (conn == NULL)
		{
			conn = PQconnectdb(conninfo);
			if (PQstatus(conn) != CONNECTION_OK)
				err = strdup(PQerrorMessage(conn));
			else
			{
				PQsetNoticeProcessor(conn, quiet_notices, NULL);
				err = server_of(conn, query_timeout_ms);
				if (err == NULL)
					err = run_command(conn, create_sql, 0, NULL, query_timeout_ms,
									  PGRES_COMMAND_OK);
			}
			if (err)
			{
				record(t0, 0, -1, err);
				free(err);
				PQfinish(conn);
				conn = NULL;
				server_id[0] = '\0';
			}
		}

		if (conn != NULL)
		{
			char		seqbuf[32];
			const char *params[1] = {seqbuf};
			int64_t		seq = next_seq++;

			snprintf(seqbuf, sizeof(seqbuf), "%lld", (long long) seq);
			err = run_command(conn, insert_sql, 1, params, query_timeout_ms,
							  PGRES_COMMAND_OK);
			if (err == NULL)
			{
				record(t0, 1, seq, NULL);
				if (n_acked == cap_acked)
				{
					cap_acked = cap_acked ? cap_acked * 2 : 4096;
					acked = xrealloc(acked, cap_acked * sizeof(int64_t));
				}
				acked[n_acked++] = seq;
			}
			else
			{
				record(t0, 0, seq, err);
				free(err);
				PQfinish(conn);
				conn = NULL;
				server_id[0] = '\0';
			}
		}

		/* next tick; when late, go at once instead of bursting */
		tick += interval_ms;
		if (tick < now_ms())
			tick = now_ms();
		if (tick >= end)
			break;
		if (!stop_requested)
			sleep_until_ms(tick);
	}
	if (conn)
		PQfinish(conn);
	double		stop = now_ms();

	/* Longest gap between two consecutive acknowledged writes. */
	double		max_gap = 0,
				gap_from = 0,
				gap_to = 0,
				prev_ok = -1;

	for (size_t i = 0; i < n_attempts; i++)
	{
		if (!attempts[i].ok)
			continue;
		if (prev_ok >= 0 && attempts[i].t_ms - prev_ok > max_gap)
		{
			max_gap = attempts[i].t_ms - prev_ok;
			gap_from = prev_ok;
			gap_to = attempts[i].t_ms;
		}
		prev_ok = attempts[i].t_ms;
	}

	size_t		n_failed = 0;

	for (size_t i = 0; i < n_attempts; i++)
		if (!attempts[i].ok)
			n_failed++;

	printf("writer: duration_ms=%.0f attempts=%zu failed_attempts=%zu\n",
		   stop - start, n_attempts, n_failed);
	printf("acknowledged_writes=%zu\n", n_acked);
	printf("max_gap_ms=%.1f\n", max_gap);
	if (max_gap > 0)
	{
		printf("max_gap_from_monotonic_ms=%.3f\n", gap_from);
		printf("max_gap_to_monotonic_ms=%.3f\n", gap_to);

		/* the distinct errors inside the gap, with their counts */
		char	   *errs[MAX_GAP_ERRORS];
		int			counts[MAX_GAP_ERRORS];
		int			n_errs = 0,
					others = 0;

		for (size_t i = 0; i < n_attempts; i++)
		{
			if (attempts[i].t_ms <= gap_from || attempts[i].t_ms >= gap_to || attempts[i].ok)
				continue;
			int			j;

			for (j = 0; j < n_errs; j++)
				if (strcmp(errs[j], attempts[i].error) == 0)
					break;
			if (j < n_errs)
				counts[j]++;
			else if (n_errs < MAX_GAP_ERRORS)
			{
				errs[n_errs] = attempts[i].error;
				counts[n_errs++] = 1;
			}
			else
				others++;
		}
		for (int j = 0; j < n_errs; j++)
			printf("gap_error: %d x %s\n", counts[j], errs[j]);
		if (others)
			printf("gap_error: %d x (other errors)\n", others);
	}
	fflush(stdout);

	/* Every acknowledged write must be on the final leader. */
	double		verify_end = now_ms() + verify_timeout_s * 1000.0;
	PGconn	   *vconn = NULL;
	char	   *last_err = NULL;

	for (;;)
	{
		vconn = PQconnectdb(verify_conninfo);
		if (PQstatus(vconn) == CONNECTION_OK)
			break;
		free(last_err);
		last_err = flatten(PQerrorMessage(vconn));
		PQfinish(vconn);
		vconn = NULL;
		if (now_ms() >= verify_end)
			break;
		sleep_until_ms(now_ms() + 200);
	}
	if (vconn == NULL)
	{
		printf("final_leader=none\n");
		printf("lost_acknowledged_writes=unknown (no leader within %.0f s: %s)\n",
			   verify_timeout_s, last_err ? last_err : "");
		fclose(csv);
		return 0;
	}

	PGresult   *res = PQexec(vconn, select_sql);

	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		printf("final_leader=%s:%s\n", PQhost(vconn), PQport(vconn));
		printf("lost_acknowledged_writes=unknown (%s)\n",
			   flatten(PQresultErrorMessage(res)));
		PQclear(res);
		PQfinish(vconn);
		fclose(csv);
		return 0;
	}

	size_t		n_rows = (size_t) PQntuples(res);
	int64_t    *present = xrealloc(NULL, (n_rows + 1) * sizeof(int64_t));

	for (size_t i = 0; i < n_rows; i++)
		present[i] = strtoll(PQgetvalue(res, (int) i, 0), NULL, 10);
	qsort(present, n_rows, sizeof(int64_t), cmp_i64);

	/* acked is ascending: merge */
	size_t		lost = 0,
				p = 0;
	int64_t		first_lost = -1;

	for (size_t i = 0; i < n_acked; i++)
	{
		while (p < n_rows && present[p] < acked[i])
			p++;
		if (p == n_rows || present[p] != acked[i])
		{
			if (first_lost < 0)
				first_lost = acked[i];
			lost++;
		}
	}
	printf("final_leader=%s:%s\n", PQhost(vconn), PQport(vconn));
	printf("rows_on_final_leader=%zu (includes writes whose outcome the client never learned)\n",
		   n_rows);
	printf("lost_acknowledged_writes=%zu\n", lost);
	if (lost)
		printf("first_lost_seq=%lld\n", (long long) first_lost);

	PQclear(res);
	PQfinish(vconn);
	if (csv != stdout)
		fclose(csv);
	return 0;
}
