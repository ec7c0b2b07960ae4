/*-------------------------------------------------------------------------
 *
 * release.c
 *	  pg_ha_ctl release: hand the leader key over once the server is down.
 *
 * The HA worker must exit before the shutdown checkpoint is written, yet
 * the key must not be released before the replicas have received that
 * checkpoint: a replica promoted earlier misses the last WAL of the old
 * leader, which then needs pg_rewind to come back, and a write it
 * acknowledged could be lost.  So at shutdown the leader's worker starts
 * this command, detached, and exits.  It keeps the node's Consul check
 * passing and renews the leader key (leader_key.h: a key not renewed for
 * ttl may be taken) while the postmaster finishes its shutdown, then
 * publishes the final position, releases the leader key if the session
 * still holds it, leaving the marker that lets the candidate take it at
 * once, and destroys the session.  The server takes no writes meanwhile:
 * it is shutting down and its lease was given up.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <signal.h>
#include <time.h>
#include <unistd.h>

#include "common/controldata_utils.h"
#include "common/logging.h"
#include "cluster.h"
#include "lease_clock.h"
#include "leader_key.h"
#include "pg_ha_ctl.h"

/* longest shutdown we wait for before letting the session expire */
#define RELEASE_MAX_WAIT_S	300

/*
 * Alive, and not a zombie: once pg_ctl has exited, the postmaster's parent
 * is whatever reaps orphans, which may take its time (or never come, in a
 * container whose first process does not reap).
 */
static bool
postmaster_alive(long pid)
{
	char		path[64];
	char		buf[512];
	FILE	   *f;
	char	   *paren;

	if (kill((pid_t) pid, 0) != 0 && errno == ESRCH)
		return false;
	snprintf(path, sizeof(path), "/proc/%ld/stat", pid);
	f = fopen(path, "r");
	if (f == NULL)
		return true;			/* no /proc: trust kill() */
	if (fgets(buf, sizeof(buf), f) == NULL)
		buf[0] = '\0';
	fclose(f);
	/* "pid (comm) S ...": the state follows the last parenthesis */
	paren = strrchr(buf, ')');
	return !(paren != NULL && paren[1] == ' ' && paren[2] == 'Z');
}

static bool
consul_ok(const CtlOptions *opt, const char *method, const char *path,
		  const char *request, CtlBody *body)
{
	long		status = ctl_http(opt, method, path, request, body);

	return status >= 200 && status < 300;
}

/*
 * One leader_key.h transaction; true when Consul applied it.  name: the
 * member name the key holds.
 */
static bool
leader_txn(const CtlOptions *opt, PgHaLeaderOp op, const char *name)
{
	char	   *prefix = psprintf("%s/%s/", opt->namespace, opt->cluster);
	char	   *request = pgha_leader_txn(op, prefix, name, opt->session, 0,
										  PGHA_LEADER_FLAGS(pgha_monotonic_ms(), opt->ttl_ms));
	CtlBody		body = {NULL, 0};
	bool		done = false;
	uint64_t	index;
	char		err[256];

	if (request != NULL)
	{
		long		status = ctl_http(opt, "PUT", "/v1/txn", request, &body);

		if (!pgha_parse_leader_txn(status, body.data, body.len, prefix,
								   &done, &index, err, sizeof(err)))
			done = false;
		free(request);
	}
	pg_free(body.data);
	pg_free(prefix);
	return done;
}

/* keep the check passing, the session alive and the leader key ours */
static void
keep_alive(const CtlOptions *opt, const char *leader)
{
	char	   *path;
	CtlBody		body = {NULL, 0};

	path = psprintf("/v1/agent/check/pass/%s", opt->check_id);
	(void) consul_ok(opt, "PUT", path, NULL, &body);
	pg_free(path);
	pg_free(body.data);
	body.data = NULL;
	body.len = 0;
	path = psprintf("/v1/session/renew/%s", opt->session);
	(void) consul_ok(opt, "PUT", path, NULL, &body);
	pg_free(path);
	pg_free(body.data);
	if (leader != NULL)
		(void) leader_txn(opt, PGHA_LEADER_RENEW, leader);
}

/* the final position: the shutdown checkpoint every replica has received */
static void
publish_final_position(const CtlOptions *opt)
{
	ControlFileData *control;
	bool		crc_ok;
	char	   *path;
	char	   *json;
	CtlBody		body = {NULL, 0};

	control = get_controlfile(opt->pgdata, &crc_ok);
	if (!crc_ok || control->state != DB_SHUTDOWNED)
	{
		pg_free(control);
		return;
	}
	json = psprintf("{\"optime\":" UINT64_FORMAT "}", (uint64) control->checkPoint);
	path = psprintf("/v1/kv/%s/%s/status", opt->namespace, opt->cluster);
	(void) consul_ok(opt, "PUT", path, json, &body);
	pg_free(body.data);
	pg_free(path);
	pg_free(json);
	pg_free(control);
}

int
cmd_release(CtlOptions *opt)
{
	int64		start = pgha_monotonic_ms();
	int64		last_pass = 0;
	int			interval = opt->ttl_ms > 0 ? Max(opt->ttl_ms / 4, 100) : 1000;
	PgHaCluster *c = pg_malloc0(sizeof(PgHaCluster));
	bool		found;
	char	   *leader = NULL;

	if (opt->pgdata == NULL || opt->postmaster_pid <= 0 || opt->session == NULL ||
		opt->check_id == NULL)
		pg_fatal("release needs -D, --postmaster-pid, --session and --check-id; it is run by the HA worker");

	/* the key is renewed only if this session holds it */
	if (ctl_read_cluster(opt, c, &found) && found && c->has_leader &&
		strcmp(c->leader_session, opt->session) == 0)
		leader = pg_strdup(c->leader);

	while (postmaster_alive(opt->postmaster_pid))
	{
		if (pgha_monotonic_ms() - start > RELEASE_MAX_WAIT_S * 1000)
		{
			pg_log_error("the server (PID %ld) is still running after %d s; the leader key is left to expire",
						 opt->postmaster_pid, RELEASE_MAX_WAIT_S);
			return 1;
		}
		if (pgha_monotonic_ms() - last_pass >= interval)
		{
			keep_alive(opt, leader);
			last_pass = pgha_monotonic_ms();
		}
		pg_usleep(20 * 1000);
	}

	publish_final_position(opt);

	/* only if this session still holds it (the transaction checks) */
	if (leader != NULL && leader_txn(opt, PGHA_LEADER_RELEASE, leader))
		fprintf(stderr, "pg_ha_ctl release: released the leader key of cluster \"%s\" after the server stopped\n",
				opt->cluster);
	{
		char	   *path = psprintf("/v1/session/destroy/%s", opt->session);
		CtlBody		body = {NULL, 0};

		if (consul_ok(opt, "PUT", path, NULL, &body))
		{
			char	   *file = psprintf("%s/%s", opt->pgdata, PGHA_SESSION_FILE);

			(void) unlink(file);
			pg_free(file);
		}
		pg_free(body.data);
		pg_free(path);
	}
	return 0;
}
