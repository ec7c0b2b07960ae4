/*-------------------------------------------------------------------------
 *
 * init_server.c
 *	  pg_ha_ctl init: start the node's server and connect to it.
 *
 * pg_ctl start -w with the node's log, or pg_ctlcluster for a Debian
 * cluster (with its own options and log); the last lines of the log when
 * it fails.  Local connections go through the server's Unix socket (from
 * postmaster.pid) as the bootstrap superuser; a new primary accepts none
 * until its HA worker holds the leader key, hence the wait.
 *
 * Not for stopping a server or connecting to another node (init_clone.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "init.h"
#include "libpq-fe.h"
#include "pg_ha_ctl.h"

#define CONNECT_DEADLINE_S	60

static void
print_log_tail(const char *log_file, int lines)
{
	size_t		len;
	char	   *content = ctl_read_file(log_file, &len);
	const char *start;
	int			seen = 0;

	if (content == NULL || len == 0)
	{
		pg_free(content);
		return;
	}
	start = content + len;
	if (start > content && start[-1] == '\n')
		start--;
	while (start > content && seen < lines)
	{
		start--;
		if (*start == '\n')
			seen++;
	}
	if (*start == '\n')
		start++;
	fprintf(stderr, "Last lines of the server log %s:\n%s%s", log_file, start,
			content[len - 1] == '\n' ? "" : "\n");
	pg_free(content);
}

/* A Debian cluster starts as pg_ctlcluster starts it, with its options. */
bool
init_start_server(const InitNode *n)
{
	const char *argv[] = {ctl_tool("pg_ctl"), "start", "-D", n->pgdata, "-w",
	"-l", n->log_file, NULL};
	const char *deb_argv[] = {"pg_ctlcluster", n->deb_version, n->deb_name,
	"start", NULL};
	int			rc;

	printf("Starting the server (log: %s)\n", n->log_file);
	if (n->debian)
		ctl_print_command(stdout, "Running: ", deb_argv);
	rc = ctl_run(n->debian ? deb_argv : argv, NULL);
	if (rc != 0)
	{
		pg_log_error("could not start the server in \"%s\": %s %s",
					 n->pgdata, n->debian ? "pg_ctlcluster" : "pg_ctl",
					 ctl_exit_text(rc));
		print_log_tail(n->log_file, 10);
		pg_log_error_hint("See the server log \"%s\".", n->log_file);
		return false;
	}
	return true;
}

/* The server's first Unix socket directory, from postmaster.pid. */
static char *
socket_directory(const InitNode *n)
{
	char	   *path = psprintf("%s/postmaster.pid", n->pgdata);
	char	   *content = ctl_read_file(path, NULL);
	char	   *line;
	char	   *result = NULL;
	int			lineno = 1;

	pg_free(path);
	if (content == NULL)
		return NULL;
	for (line = content; line != NULL && lineno <= 5; lineno++)
	{
		char	   *next = strchr(line, '\n');

		if (next != NULL)
			*next++ = '\0';
		if (lineno == 5 && line[0] != '\0')	/* LOCK_FILE_LINE_SOCKET_DIR */
			result = pg_strdup(line);
		line = next;
	}
	pg_free(content);
	return result;
}

/* A connection to the local server as the bootstrap superuser. */
PGconn *
init_connect_local(const InitNode *n)
{
	char	   *sockdir = socket_directory(n);
	char		port[16];
	const char *keywords[] = {"host", "port", "dbname", "connect_timeout",
	"fallback_application_name", NULL};
	const char *values[6];
	PGconn	   *conn;

	snprintf(port, sizeof(port), "%d", n->port);
	values[0] = sockdir ? sockdir : n->connect_host;
	values[1] = port;
	values[2] = "postgres";
	values[3] = "5";
	values[4] = "pg_ha_ctl";
	values[5] = NULL;
	conn = PQconnectdbParams(keywords, values, 0);
	pg_free(sockdir);
	return conn;
}

/*
 * Wait until the server accepts a connection: a new primary refuses them
 * until its HA worker holds the leader key.
 */
PGconn *
init_wait_for_connection(const InitNode *n, const char *why)
{
	double		deadline = ctl_now_s() + CONNECT_DEADLINE_S;
	char	   *last_error = NULL;
	bool		said = false;

	for (;;)
	{
		PGconn	   *conn = init_connect_local(n);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			pg_free(last_error);
			return conn;
		}
		pg_free(last_error);
		last_error = pg_strdup(PQerrorMessage(conn));
		PQfinish(conn);
		if (!said)
		{
			printf("Waiting for %s (up to %d s)\n", why, CONNECT_DEADLINE_S);
			fflush(stdout);
			said = true;
		}
		if (ctl_now_s() >= deadline)
			break;
		pg_usleep(200 * 1000L);
	}
	pg_log_error("the server in \"%s\" accepted no connection within %d s", n->pgdata,
				 CONNECT_DEADLINE_S);
	pg_log_error_detail("Last error: %s", last_error);
	if (n->debian)
		pg_log_error_hint("The server is running (log: \"%s\"); stop it with \"pg_ctlcluster %s %s stop\" and fix the cause.",
						  n->log_file, n->deb_version, n->deb_name);
	else
		pg_log_error_hint("The server is running (log: \"%s\"); stop it with \"pg_ctl stop -D %s\", fix the cause, then remove the directory and run init again.",
						  n->log_file, n->pgdata);
	pg_free(last_error);
	return NULL;
}
