/*-------------------------------------------------------------------------
 *
 * init_clone.c
 *	  pg_ha_ctl init into an empty directory of a cluster with a leader:
 *	  a new replica, cloned with pg_basebackup.
 *
 * The source is the leader, through this node's physical slot (-C -S), or
 * a streaming replica tagged clonefrom (Patroni's get_clone_member), with
 * the slot reserved on the leader first.  Every connection names host,
 * port, the replication role and passfile=: the password comes from the
 * password file only, whatever PGPASSWORD said (init.c dropped it), and a
 * file without it is refused before anything is changed.  After the
 * backup: the source's own files removed, the node's settings
 * (init_conf.c), standby.signal and pg_ha.conf with primary_conninfo and
 * primary_slot_name as the HA worker writes them; then the server is
 * started and init waits a while for it to stream.
 *
 * Not for cloning a node that exists (rejoin --reinit, reinit): that is
 * reclone.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/logging.h"
#include "cluster.h"
#include "init.h"
#include "libpq-fe.h"
#include "names.h"
#include "pg_ha_ctl.h"

#define STREAM_DEADLINE_S	30

/*
 * Run pg_basebackup; *slot_exists tells whether it failed on an existing
 * slot, *bad_password whether the leader refused the password, and
 * *no_password whether libpq found no line of the password file that
 * matches.  use_slot false: no slot on the source (a replica), -X stream
 * takes a temporary one.
 */
static int
run_basebackup(const InitNode *n, const char *conninfo, bool use_slot,
			   bool create_slot,
			   bool *slot_exists, bool *bad_password, bool *no_password)
{
	const char *argv[16];
	int			i = 0;
	PQExpBufferData out;
	int			rc;

	argv[i++] = ctl_tool("pg_basebackup");
	argv[i++] = "-D";
	argv[i++] = n->pgdata;
	argv[i++] = "-d";
	argv[i++] = conninfo;
	argv[i++] = "-X";
	argv[i++] = "stream";
	argv[i++] = "-c";
	argv[i++] = "fast";
	argv[i++] = "-w";
	if (use_slot && create_slot)
		argv[i++] = "-C";
	if (use_slot)
	{
		argv[i++] = "-S";
		argv[i++] = n->slot;
	}
	argv[i] = NULL;

	ctl_print_command(stdout, "Running: ", argv);
	initPQExpBuffer(&out);
	rc = ctl_run(argv, &out);
	if (out.len > 0)
		fputs(out.data, stderr);
	*slot_exists = rc != 0 && strstr(out.data, "already exists") != NULL &&
		strstr(out.data, "replication slot") != NULL;
	*bad_password = rc != 0 &&
		strstr(out.data, "password authentication failed") != NULL;
	*no_password = rc != 0 && strstr(out.data, "no password supplied") != NULL;
	termPQExpBuffer(&out);
	return rc;
}

static int
wait_for_streaming(const InitNode *n, const char *leader)
{
	double		deadline = ctl_now_s() + STREAM_DEADLINE_S;

	while (ctl_now_s() < deadline)
	{
		PGconn	   *conn = init_connect_local(n);

		if (PQstatus(conn) == CONNECTION_OK)
		{
			PGresult   *res = PQexec(conn,
									 "SELECT status FROM pg_catalog.pg_stat_wal_receiver");
			bool		streaming = PQresultStatus(res) == PGRES_TUPLES_OK &&
				PQntuples(res) == 1 && strcmp(PQgetvalue(res, 0, 0), "streaming") == 0;

			PQclear(res);
			PQfinish(conn);
			if (streaming)
			{
				printf("Node \"%s\" streams from the leader \"%s\"\n", n->opt->node_name, leader);
				return 0;
			}
		}
		else
			PQfinish(conn);
		pg_usleep(200 * 1000L);
	}
	pg_log_warning("node \"%s\" does not stream from \"%s\" yet after %d s",
				   n->opt->node_name, leader, STREAM_DEADLINE_S);
	pg_log_warning_hint("See the server log \"%s\".", n->log_file);
	return 1;
}

/*
 * A physical replication connection to host:port as the replication role,
 * with the password file only; NULL (the error in *err, pg_strdup'ed) when
 * it fails.
 */
static PGconn *
connect_replication(const InitNode *n, const char *host, int port, char **err)
{
	const char *keywords[] = {"host", "port", "user", "passfile", "replication",
	"connect_timeout", "fallback_application_name", NULL};
	const char *values[8];
	char		portstr[16];
	PGconn	   *conn;

	snprintf(portstr, sizeof(portstr), "%d", port);
	values[0] = host;
	values[1] = portstr;
	values[2] = n->user;
	values[3] = n->passfile;
	values[4] = "true";
	values[5] = "5";
	values[6] = "pg_ha_ctl";
	values[7] = NULL;
	conn = PQconnectdbParams(keywords, values, 0);
	if (PQstatus(conn) == CONNECTION_OK)
		return conn;
	*err = pg_strdup(PQerrorMessage(conn));
	PQfinish(conn);
	return NULL;
}

/*
 * Does the server at host:port take our replication connection as a
 * server of this cluster (IDENTIFY_SYSTEM: the initialize key's system
 * identifier)?  False with the reason printed.
 */
static bool
clone_source_answers(const InitNode *n, const PgHaCluster *c,
					 const PgHaMember *m, const char *host, int port)
{
	char	   *err = NULL;
	PGconn	   *conn = connect_replication(n, host, port, &err);
	PGresult   *res;
	bool		ok;

	if (conn == NULL)
	{
		printf("Replica \"%s\" (tagged clonefrom) does not take a replication connection: %s",
			   m->name, err);
		pg_free(err);
		return false;
	}
	res = PQexec(conn, "IDENTIFY_SYSTEM");
	ok = PQresultStatus(res) == PGRES_TUPLES_OK && PQntuples(res) == 1 &&
		PQnfields(res) >= 2 && strcmp(PQgetvalue(res, 0, 0), c->initialize) == 0;
	if (!ok)
		printf("Replica \"%s\" (tagged clonefrom) is no server of cluster \"%s\" (system identifier %s)\n",
			   m->name, n->opt->cluster, c->initialize);
	PQclear(res);
	PQfinish(conn);
	return ok;
}

/*
 * Patroni's clonefrom (get_clone_member): a running replica tagged
 * clonefrom is the source of a new node's base backup, so that the leader
 * does not carry it; the leader otherwise.  A replica qualifies only when
 * it looks streaming: on the leader's timeline, within
 * maximum_lag_on_failover of the leader's position, and answering a
 * replication connection as a server of this cluster.  The first one by
 * name (Patroni picks one at random).  NULL: clone from the leader.
 */
static const PgHaMember *
clone_source(const InitNode *n, const PgHaCluster *c, const PgHaMember *leader,
			 char *host, size_t hostlen, int *port)
{
	int64		leader_pos = 0;
	bool		has_pos = ctl_leader_position(c, &leader_pos);

	for (int i = 0; i < c->nmembers; i++)
	{
		const PgHaMember *m = &c->members[i];

		if (!m->clonefrom || m == leader ||
			strcmp(m->name, n->opt->node_name) == 0)
			continue;
		if (strcmp(m->state, "running") != 0 || strcmp(m->role, "replica") != 0)
		{
			printf("Replica \"%s\" is tagged clonefrom but is not a running replica (%s, %s)\n",
				   m->name, m->state, m->role);
			continue;
		}
		if (!pgha_split_conn_url(m->conn_url, host, hostlen, port))
		{
			printf("Replica \"%s\" is tagged clonefrom but publishes an unusable conn_url\n",
				   m->name);
			continue;
		}
		if (!m->has_xlog ||
			(leader->timeline != 0 && m->timeline != leader->timeline) ||
			(has_pos && leader_pos - m->xlog_location > c->max_lag_on_failover))
		{
			printf("Replica \"%s\" is tagged clonefrom but does not stream from the leader, or lags behind it\n",
				   m->name);
			continue;
		}
		if (!clone_source_answers(n, c, m, host, *port))
			continue;
		return m;
	}
	return NULL;
}

/*
 * Before a clone from a replica: this node's slot on the leader, holding
 * the leader's WAL from now on, so that the new node finds there what it
 * needs once the backup is done (the slot a clone from the leader gets
 * with pg_basebackup -C).  A slot that exists already is used; a failure
 * is only a warning: the leader creates the slot when the node joins.
 */
static void
reserve_slot_on_leader(const InitNode *n, const char *host, int port)
{
	char	   *err = NULL;
	PGconn	   *conn = connect_replication(n, host, port, &err);
	PGresult   *res;
	char	   *sql;

	if (conn == NULL)
	{
		pg_log_warning("could not reserve slot \"%s\" on the leader: %s", n->slot, err);
		pg_free(err);
		return;
	}
	sql = psprintf("CREATE_REPLICATION_SLOT \"%s\" PHYSICAL RESERVE_WAL", n->slot);
	res = PQexec(conn, sql);
	if (PQresultStatus(res) == PGRES_TUPLES_OK)
		printf("Created slot \"%s\" on the leader at %s:%d\n", n->slot, host, port);
	else if (strstr(PQerrorMessage(conn), "already exists") != NULL)
		printf("Slot \"%s\" exists on the leader already: using it\n", n->slot);
	else
		pg_log_warning("could not reserve slot \"%s\" on the leader: %s",
					   n->slot, PQerrorMessage(conn));
	PQclear(res);
	pg_free(sql);
	PQfinish(conn);
}

int
init_clone_from_leader(const InitNode *n, const PgHaCluster *c)
{
	const CtlOptions *opt = n->opt;
	const PgHaMember *leader = pgha_find_member(c, c->leader);
	char		host[256];
	int			port;
	char		portstr[16];
	char	   *password = NULL;
	int			rc;
	bool		slot_exists;
	bool		bad_password;
	bool		no_password;
	PQExpBufferData conninfo;
	PQExpBufferData text;
	const PgHaMember *source;
	char		src_host[256];
	int			src_port;
	static const char *const copied[] = {PGHA_SESSION_FILE, PGHA_MANAGED_CONF,
	"postmaster.opts", "recovery.signal", NULL};

	if (leader == NULL)
	{
		pg_log_error("the leader \"%s\" of cluster \"%s\" has published no member record",
					 c->leader, opt->cluster);
		pg_log_error_hint("Retry in a few seconds, once the leader's HA worker has published it.");
		return 1;
	}
	if (!pgha_split_conn_url(leader->conn_url, host, sizeof(host), &port))
	{
		pg_log_error("the leader \"%s\" of cluster \"%s\" publishes an unusable conn_url \"%s\"",
					 leader->name, opt->cluster, leader->conn_url);
		return 1;
	}
	snprintf(portstr, sizeof(portstr), "%d", port);

	rc = ctl_passfile_lookup(n->passfile, n->user, &password);
	if (rc < 0)
		return 1;
	if (rc == 0)
	{
		if (ctl_file_exists(n->passfile))
			pg_log_error("the password file \"%s\" holds no password for role \"%s\"",
						 n->passfile, n->user);
		else
			pg_log_error("the password file \"%s\" does not exist: it must hold the password of role \"%s\"",
						 n->passfile, n->user);
		pg_log_error_detail("A clone connects to the leader with the password of this file only; PGPASSWORD is not used.");
		pg_log_error_hint("Copy the password file of the cluster's first node here (mode 0600), or give it with --passfile.");
		return 1;
	}
	explicit_bzero(password, strlen(password));
	pg_free(password);

	/* pg_basebackup needs it empty: the directory itself stays, as it is */
	if (n->debian && pg_check_dir(n->pgdata) >= 2)
	{
		printf("Removing the contents of %s, made by pg_createcluster, to clone into it\n",
			   n->pgdata);
		if (!rmtree(n->pgdata, false))
		{
			pg_log_error("could not remove the contents of \"%s\"", n->pgdata);
			return 1;
		}
	}

	initPQExpBuffer(&conninfo);
	ctl_append_conninfo_value(&conninfo, "host", host);
	ctl_append_conninfo_value(&conninfo, "port", portstr);
	ctl_append_conninfo_value(&conninfo, "user", n->user);
	ctl_append_conninfo_value(&conninfo, "passfile", n->passfile);

	rc = 1;
	source = clone_source(n, c, leader, src_host, sizeof(src_host), &src_port);
	if (source != NULL)
	{
		PQExpBufferData src;

		printf("Cloning node \"%s\" from replica \"%s\" (tagged clonefrom) of cluster \"%s\" at %s:%d\n",
			   opt->node_name, source->name, opt->cluster, src_host, src_port);
		reserve_slot_on_leader(n, host, port);
		snprintf(portstr, sizeof(portstr), "%d", src_port);
		initPQExpBuffer(&src);
		ctl_append_conninfo_value(&src, "host", src_host);
		ctl_append_conninfo_value(&src, "port", portstr);
		ctl_append_conninfo_value(&src, "user", n->user);
		ctl_append_conninfo_value(&src, "passfile", n->passfile);
		rc = run_basebackup(n, src.data, false, false, &slot_exists,
							&bad_password, &no_password);
		termPQExpBuffer(&src);
		snprintf(portstr, sizeof(portstr), "%d", port);
		if (rc != 0)
		{
			int			dir = pg_check_dir(n->pgdata);

			/* pg_basebackup cleans up after itself: the leader is left */
			if (dir != 0 && dir != 1)
			{
				pg_log_error("pg_basebackup from replica \"%s\" %s and left files in \"%s\"",
							 source->name, ctl_exit_text(rc), n->pgdata);
				return 1;
			}
			printf("pg_basebackup from replica \"%s\" %s: cloning from the leader instead\n",
				   source->name, ctl_exit_text(rc));
			source = NULL;
		}
	}
	if (source == NULL)
	{
		printf("Cloning node \"%s\" from the leader \"%s\" of cluster \"%s\" at %s:%d\n",
			   opt->node_name, leader->name, opt->cluster, host, port);
		rc = run_basebackup(n, conninfo.data, true, true, &slot_exists,
							&bad_password, &no_password);
	}
	if (rc != 0 && slot_exists)
	{
		int			dir = pg_check_dir(n->pgdata);

		if (dir != 0 && dir != 1)
		{
			pg_log_error("pg_basebackup left files in \"%s\"", n->pgdata);
			return 1;
		}
		printf("Slot \"%s\" exists on the leader already: using it\n", n->slot);
		rc = run_basebackup(n, conninfo.data, true, false, &slot_exists,
							&bad_password, &no_password);
	}
	if (rc != 0)
	{
		pg_log_error("pg_basebackup %s", ctl_exit_text(rc));
		if (bad_password)
			pg_log_error_hint("The leader at %s:%d refused the password of role \"%s\" in \"%s\": copy the password file of the cluster's first node here (mode 0600).",
							  host, port, n->user, n->passfile);
		else if (no_password)
			pg_log_error_hint("No line of \"%s\" for role \"%s\" matches host %s port %d; a line \"*:*:*:%s:PASSWORD\" matches every host.",
							  n->passfile, n->user, host, port, n->user);
		else
			pg_log_error_hint("Check that the leader at %s:%d accepts replication connections of role \"%s\" (pg_hba.conf) with the password in \"%s\".",
							  host, port, n->user, n->passfile);
		return 1;
	}

	/* what belongs to the source, not to this node */
	for (int i = 0; copied[i] != NULL; i++)
	{
		char	   *path = psprintf("%s/%s", n->pgdata, copied[i]);

		if (unlink(path) == 0)
			printf("Removed %s copied from %s\n", copied[i],
				   source != NULL ? "the replica" : "the leader");
		pg_free(path);
	}

	initPQExpBuffer(&text);
	if (n->debian)
	{
		if (!init_configure_debian(n, false))
			return 1;
	}
	else
	{
		init_append_node_block(&text, n);
		if (!init_append_to_datadir_file(n, "postgresql.conf", text.data))
			return 1;
		printf("Appended the settings of node \"%s\" to %s/postgresql.conf\n",
			   opt->node_name, n->pgdata);
	}

	if (!init_append_to_datadir_file(n, "standby.signal", ""))
		return 1;

	/* as the HA worker will write it (it rewrites the file when it runs) */
	resetPQExpBuffer(&text);
	appendPQExpBufferStr(&text,
						 "# Written by pg_ha_ctl init; the HA worker rewrites this file: do not edit.\n");
	ctl_append_conninfo_value(&conninfo, "application_name", opt->node_name);
	ctl_append_conf_value(&text, "primary_conninfo", conninfo.data);
	ctl_append_conf_value(&text, "primary_slot_name", n->slot);
	appendPQExpBufferStr(&text, "recovery_target_timeline = 'latest'\n");
	{
		char	   *path = psprintf("%s/%s", n->pgdata, PGHA_MANAGED_CONF);

		if (!ctl_write_file(path, text.data, S_IRUSR | S_IWUSR, false))
			return 1;
		pg_free(path);
	}
	printf("Wrote standby.signal and %s (primary_conninfo to %s:%d, slot \"%s\")\n",
		   PGHA_MANAGED_CONF, host, port, n->slot);
	termPQExpBuffer(&text);
	termPQExpBuffer(&conninfo);

	if (!init_start_server(n))
		return 1;
	(void) wait_for_streaming(n, leader->name);

	printf("\nNode \"%s\" joined cluster \"%s\" as a replica of \"%s\".\n",
		   opt->node_name, opt->cluster, leader->name);
	init_print_node(n);
	printf("  replication slot: %s (on the leader)\n", n->slot);
	return 0;
}
