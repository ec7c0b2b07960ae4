/*-------------------------------------------------------------------------
 *
 * init_bootstrap.c
 *	  pg_ha_ctl init into an empty directory of a cluster Consul has never
 *	  seen: a new cluster, with this node as its first leader.
 *
 * The replication role's password is taken from the password file, or a
 * random one added to it, before anything else: a failure there changes
 * nothing.  Then initdb and the node's settings (init_conf.c), or, for a
 * Debian cluster, pg_createcluster's data directory kept as it is with
 * pg_ha's settings in its conf.d; then the server is started, and once its
 * HA worker holds the leader key and the server accepts connections, the
 * replication role is created with the SCRAM secret libpq computes, never
 * the password itself.
 *
 * Not for a data directory that exists already: that is start_existing()
 * in init.c.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include "common/logging.h"
#include "init.h"
#include "libpq-fe.h"
#include "pg_ha_ctl.h"

#define PASSWORD_LEN		32

static bool
exec_ok(PGconn *conn, const char *sql, const char *what)
{
	PGresult   *res = PQexec(conn, sql);
	bool		ok = PQresultStatus(res) == PGRES_COMMAND_OK ||
		PQresultStatus(res) == PGRES_TUPLES_OK;

	if (!ok)
		pg_log_error("could not %s: %s", what, PQerrorMessage(conn));
	PQclear(res);
	return ok;
}

/*
 * Create (or, should it exist, update) the replication role with the
 * password, and grant it what pg_rewind needs.  Nothing of it is logged:
 * the statements go with log_statement off, and carry the SCRAM secret
 * rather than the password.
 */
static bool
create_replication_role(PGconn *conn, const InitNode *n, const char *password)
{
	const char *params[1] = {n->user};
	PGresult   *res;
	bool		exists;
	char	   *secret;
	char	   *literal;
	char	   *ident;
	PQExpBufferData sql;
	bool		ok;

	if (!exec_ok(conn, "SET log_statement = 'none'", "turn statement logging off") ||
		!exec_ok(conn, "SET log_min_error_statement = 'panic'", "turn statement logging off") ||
		!exec_ok(conn, "SET log_min_duration_statement = -1", "turn statement logging off"))
		return false;

	res = PQexecParams(conn, "SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = $1",
					   1, NULL, params, NULL, NULL, 0);
	if (PQresultStatus(res) != PGRES_TUPLES_OK)
	{
		pg_log_error("could not look for role \"%s\": %s", n->user, PQerrorMessage(conn));
		PQclear(res);
		return false;
	}
	exists = PQntuples(res) > 0;
	PQclear(res);

	secret = PQencryptPasswordConn(conn, password, n->user, NULL);
	if (secret == NULL)
	{
		pg_log_error("could not encrypt the password: %s", PQerrorMessage(conn));
		return false;
	}
	literal = PQescapeLiteral(conn, secret, strlen(secret));
	ident = PQescapeIdentifier(conn, n->user, strlen(n->user));
	explicit_bzero(secret, strlen(secret));
	PQfreemem(secret);
	if (literal == NULL || ident == NULL)
	{
		pg_log_error("could not quote the role: %s", PQerrorMessage(conn));
		return false;
	}

	initPQExpBuffer(&sql);
	appendPQExpBuffer(&sql, "%s ROLE %s WITH REPLICATION LOGIN PASSWORD %s",
					  exists ? "ALTER" : "CREATE", ident, literal);
	ok = exec_ok(conn, sql.data, exists ? "alter the replication role" :
				 "create the replication role");
	explicit_bzero(sql.data, sql.len);
	explicit_bzero(literal, strlen(literal));
	PQfreemem(literal);

	if (ok)
	{
		resetPQExpBuffer(&sql);
		appendPQExpBuffer(&sql,
						  "GRANT EXECUTE ON FUNCTION "
						  "pg_catalog.pg_ls_dir(text, boolean, boolean), "
						  "pg_catalog.pg_stat_file(text, boolean), "
						  "pg_catalog.pg_read_binary_file(text), "
						  "pg_catalog.pg_read_binary_file(text, bigint, bigint, boolean) "
						  "TO %s", ident);
		ok = exec_ok(conn, sql.data, "grant the functions of pg_rewind");
	}
	if (ok)
	{
		/* so that rejoin can make a new leader checkpoint before pg_rewind */
		resetPQExpBuffer(&sql);
		appendPQExpBuffer(&sql, "GRANT pg_checkpoint TO %s", ident);
		ok = exec_ok(conn, sql.data, "grant pg_checkpoint");
	}
	termPQExpBuffer(&sql);
	PQfreemem(ident);
	if (ok)
		printf("%s role \"%s\" (REPLICATION LOGIN, the functions pg_rewind needs, pg_checkpoint)\n",
			   exists ? "Updated" : "Created", n->user);
	return ok;
}

/* ----- the three ways */

int
init_bootstrap(const InitNode *n)
{
	const CtlOptions *opt = n->opt;
	char	   *password = NULL;
	bool		new_password = false;
	bool		created = false;
	bool		started = false;
	PQExpBufferData conf;
	PGconn	   *conn;
	int			rc;
	const char *initdb_argv[] = {ctl_tool("initdb"), "-D", n->pgdata,
		"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8",
	"--no-instructions", NULL};

	printf("Cluster \"%s\" is not known to Consul at %s: bootstrapping it with node \"%s\"\n",
		   opt->cluster, opt->consul_url, opt->node_name);

	/* the password first: a failure here changes nothing */
	rc = ctl_passfile_lookup(n->passfile, n->user, &password);
	if (rc < 0)
		return 1;
	if (rc == 0)
	{
		password = pg_malloc(PASSWORD_LEN + 1);
		if (!ctl_random_password(password, PASSWORD_LEN + 1) ||
			!ctl_passfile_add(n->passfile, n->user, password))
			return 1;
		new_password = true;
		printf("Added a random password for role \"%s\" to the password file %s\n",
			   n->user, n->passfile);
	}
	else
		printf("Using the password of role \"%s\" from the password file %s\n",
			   n->user, n->passfile);

	if (n->debian)
	{
		/* its initdb options (locale, checksums) are pg_createcluster's */
		printf("Keeping the data directory %s that pg_createcluster made\n", n->pgdata);
		if (!init_configure_debian(n, true))
			goto fail;
	}
	else
	{
		ctl_print_command(stdout, "Running: ", initdb_argv);
		rc = ctl_run(initdb_argv, NULL);
		if (rc != 0)
		{
			pg_log_error("initdb %s", ctl_exit_text(rc));
			goto fail;
		}
		created = true;

		initPQExpBuffer(&conf);
		init_append_cluster_block(&conf, n, true);
		init_append_node_block(&conf, n);
		if (!init_append_to_datadir_file(n, "postgresql.conf", conf.data))
			goto fail;
		resetPQExpBuffer(&conf);
		init_append_hba_lines(&conf, n);
		if (!init_append_to_datadir_file(n, "pg_hba.conf", conf.data))
			goto fail;
		termPQExpBuffer(&conf);
		printf("Configured %s/postgresql.conf (pg_ha, replication) and pg_hba.conf (role \"%s\")\n",
			   n->pgdata, n->user);
	}

	started = true;
	if (!init_start_server(n))
		goto fail;
	conn = init_wait_for_connection(n, "the HA worker to take the leader key");
	if (conn == NULL)
		goto fail;
	if (!create_replication_role(conn, n, password))
	{
		PQfinish(conn);
		goto fail;
	}
	PQfinish(conn);
	explicit_bzero(password, strlen(password));
	pg_free(password);

	printf("\nNode \"%s\" bootstrapped cluster \"%s\" and is its leader.\n",
		   opt->node_name, opt->cluster);
	init_print_node(n);
	printf("  replication role: %s (password in %s)\n"
		   "Copy the password file to the hosts of the other nodes (mode 0600), then run\n"
		   "\"pg_ha_ctl init\" there to clone them from this node.\n",
		   n->user, n->passfile);
	return 0;

fail:
	if (password != NULL)
	{
		explicit_bzero(password, strlen(password));
		pg_free(password);
	}
	if (new_password)
		pg_log_info("the password of role \"%s\" stays in %s, for the next attempt",
					n->user, n->passfile);
	if (created)
		pg_log_info("remove the data directory \"%s\" (stop its server first, if it runs) before running init again",
					n->pgdata);
	if (n->debian && started)
		pg_log_info("stop Debian cluster %s/%s (pg_ctlcluster %s %s stop) and delete the keys its HA worker may have written (pg_ha_ctl remove %s) before running init again",
					n->deb_version, n->deb_name, n->deb_version, n->deb_name,
					opt->cluster);
	return 1;
}
