/*-------------------------------------------------------------------------
 *
 * node_ctl.c
 *	  The HA worker acting on its own server (see node_ctl.h).
 *
 * A standby follows the leader through pg_ha.conf (conf_file.c, which
 * writes it).  Promotion is the same request pg_promote() makes.  Demotion needs a restart, which a process inside the postmaster
 * cannot do: it is left to `pg_ha_ctl rejoin`, started detached in its own
 * session so that the postmaster's signals to its children miss it.  A
 * reinitialize (POST /reinitialize) is the same rejoin with --reinit: the
 * node cloned again from the leader instead of rewound.
 *
 * What this file is not for: the content of pg_ha.conf (conf_file.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "replication/slot.h"
#include "storage/fd.h"
#include "storage/lwlock.h"

#include "conf_file.h"
#include "names.h"
#include "node_ctl.h"
#include "settings.h"
#include "state.h"

void
pgha_request_promote(void)
{
	FILE	   *f;
	struct stat st;

	if (stat(PROMOTE_SIGNAL_FILE, &st) == 0)
		return;					/* asked already */
	/* a promote file left on a primary would promote its next standby life */
	if (!RecoveryInProgress())
		return;
	f = AllocateFile(PROMOTE_SIGNAL_FILE, "w");
	if (f == NULL || FreeFile(f) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not create \"%s\": %m", PROMOTE_SIGNAL_FILE)));
	if (kill(PostmasterPid, SIGUSR1) != 0)
		ereport(ERROR,
				(errmsg("pg_ha: could not signal the postmaster to promote: %m")));
	ereport(LOG,
			(errmsg("pg_ha: promoting node \"%s\"", pg_ha_node_name)));
}

extern char **environ;

/*
 * A command of the operator's gets no secret of pg_ha's: the token under
 * the names Consul tools read it from (a postmaster started by `pg_ha_ctl
 * rejoin` inherited PG_HA_CONSUL_TOKEN), and under any other name it was
 * given (a service manager's own variable).  Runs in the forked child.
 */
static void
strip_secret_environment(void)
{
	static const char *const names[] = {"PG_HA_CONSUL_TOKEN", "CONSUL_HTTP_TOKEN"};
	const char *token = pg_ha_consul_token;

	for (int i = 0; i < lengthof(names); i++)
		(void) unsetenv(names[i]);
	if (token == NULL || token[0] == '\0')
		return;
	for (int i = 0; environ[i] != NULL;)
	{
		const char *eq = strchr(environ[i], '=');
		char		name[256];

		if (eq == NULL || strcmp(eq + 1, token) != 0 ||
			eq - environ[i] >= (ptrdiff_t) sizeof(name))
		{
			i++;
			continue;
		}
		strlcpy(name, environ[i], eq - environ[i] + 1);
		if (unsetenv(name) != 0)
			i++;
		/* else environ[i] is the next variable now */
	}
}

/*
 * Start argv detached: double fork, setsid, no inherited descriptors but
 * stdin, stdout and stderr (the server's log stays the helper's log).
 * for_operator: a command of the operator's, without secrets (above);
 * *session gets the id of the session it runs in, also its process group's.
 */
static bool
spawn_detached_ext(char *const argv[], const char *token, bool for_operator,
				   pid_t *session, char *err, size_t errlen)
{
	pid_t		pid = fork();
	int			status;

	if (pid < 0)
	{
		snprintf(err, errlen, "could not fork: %m");
		return false;
	}
	if (pid == 0)
	{
		/* child: leave the postmaster's process group, then fork again */
		if (setsid() < 0)
			_exit(1);
		pid = fork();
		if (pid != 0)
			_exit(pid < 0 ? 1 : 0);
		closefrom(3);
		if (for_operator)
			strip_secret_environment();
		else if (token != NULL && token[0] != '\0')
			setenv("PG_HA_CONSUL_TOKEN", token, 1);
		execv(argv[0], argv);
		if (for_operator)
			fprintf(stderr, "pg_ha: could not execute \"%s\": %s\n",
					argv[0], strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
		WEXITSTATUS(status) != 0)
	{
		snprintf(err, errlen, "could not start \"%s\" detached", argv[0]);
		return false;
	}
	if (session != NULL)
		*session = pid;
	return true;
}

static bool
spawn_detached(char *const argv[], const char *token, char *err, size_t errlen)
{
	return spawn_detached_ext(argv, token, false, NULL, err, errlen);
}

bool
pgha_spawn_operator_command(char *const argv[], pid_t *session,
							char *err, size_t errlen)
{
	return spawn_detached_ext(argv, NULL, true, session, err, errlen);
}

/*
 * pg_ha_ctl sits beside the postgres binary, where `make install` and the
 * pg-ha-ctl package put it; else the one in /usr/bin (a CLI installed the
 * way Debian users look for it).  When neither is there, the path beside
 * postgres, so that the failure to start it names where it belongs.
 */
static void
pg_ha_ctl_path(char *path, size_t len)
{
	static const char usr_bin[] = "/usr/bin/pg_ha_ctl";

	strlcpy(path, my_exec_path, len);
	get_parent_directory(path);
	strlcat(path, "/pg_ha_ctl", len);
	if (access(path, X_OK) != 0 && access(usr_bin, X_OK) == 0)
		strlcpy(path, usr_bin, len);
}

bool
pgha_start_release(const char *session, const char *check_id, int ttl_ms,
				   char *err, size_t errlen)
{
	char		ctl[MAXPGPATH];
	char		pid[32];
	char		ttl[32];
	char	   *argv[20];
	int			n = 0;

	pg_ha_ctl_path(ctl, sizeof(ctl));
	snprintf(pid, sizeof(pid), "%d", (int) PostmasterPid);
	snprintf(ttl, sizeof(ttl), "%d", ttl_ms);
	argv[n++] = ctl;
	argv[n++] = "release";
	argv[n++] = "-D";
	argv[n++] = DataDir;
	argv[n++] = "--postmaster-pid";
	argv[n++] = pid;
	argv[n++] = "--session";
	argv[n++] = (char *) session;
	argv[n++] = "--check-id";
	argv[n++] = (char *) check_id;
	argv[n++] = "--ttl-ms";
	argv[n++] = ttl;
	argv[n++] = "--cluster";
	argv[n++] = pg_ha_cluster;
	argv[n++] = "--namespace";
	argv[n++] = pg_ha_namespace;
	argv[n++] = "--consul-url";
	argv[n++] = pg_ha_consul_url;
	argv[n] = NULL;
	/* the token travels in the environment, never on a command line */
	return spawn_detached(argv, pg_ha_consul_token, err, errlen);
}

bool
pgha_start_restart(char *err, size_t errlen)
{
	char		pg_ctl[MAXPGPATH];
	char	   *argv[12];

	/*
	 * pg_ha.restart_command, for a server that systemd or another service
	 * manager owns: pg_ctl would restart it behind the manager's back.  The
	 * command is never logged (it may carry credentials).
	 */
	if (pg_ha_restart_command != NULL && pg_ha_restart_command[0] != '\0')
	{
		argv[0] = "/bin/sh";
		argv[1] = "-c";
		argv[2] = pg_ha_restart_command;
		argv[3] = NULL;
		setenv("PGDATA", DataDir, 1);
		return spawn_detached(argv, NULL, err, errlen);
	}

	strlcpy(pg_ctl, my_exec_path, sizeof(pg_ctl));
	get_parent_directory(pg_ctl);
	strlcat(pg_ctl, "/pg_ctl", sizeof(pg_ctl));
	argv[0] = pg_ctl;
	argv[1] = "restart";
	argv[2] = "-D";
	argv[3] = DataDir;
	argv[4] = "-m";
	argv[5] = "fast";
	argv[6] = "-w";
	argv[7] = "-t";
	argv[8] = "120";
	argv[9] = NULL;
	return spawn_detached(argv, NULL, err, errlen);
}

/*
 * pg_ha_ctl rejoin, detached, with leader as its source; standby.signal and
 * pg_ha.conf first, so that the server comes back as a standby of leader
 * whatever the rejoin manages.  reinit: clone the node again instead of
 * rewinding it.  Without a leader, a restart as the standby it is, its
 * pg_ha.conf untouched.  ctl gets the path of pg_ha_ctl, for the caller's
 * log.
 */
static bool
start_rejoin(const PgHaMember *leader, const PgHaCluster *cluster, bool reinit,
			 char *ctl, size_t ctllen, char *err, size_t errlen)
{
	char	   *conninfo = NULL;
	char	   *argv[8];
	int			n = 0;
	FILE	   *f;

	if (leader != NULL &&
		(conninfo = pgha_leader_conninfo(leader, "postgres")) == NULL)
	{
		snprintf(err, errlen, "leader \"%s\" has a bad conn_url \"%s\"",
				 leader->name, leader->conn_url);
		return false;
	}

	/* the server comes back as a standby of the leader */
	f = AllocateFile(STANDBY_SIGNAL_FILE, "w");
	if (f == NULL || FreeFile(f) != 0)
	{
		snprintf(err, errlen, "could not create \"%s\": %m", STANDBY_SIGNAL_FILE);
		return false;
	}
	if (leader != NULL)
		(void) pgha_write_managed_conf(leader, cluster);

	pg_ha_ctl_path(ctl, ctllen);

	argv[n++] = ctl;
	argv[n++] = "rejoin";
	argv[n++] = "-D";
	argv[n++] = DataDir;
	if (leader != NULL)
	{
		argv[n++] = "--source-conninfo";
		argv[n++] = conninfo;
	}
	if (reinit)
		argv[n++] = "--reinit";
	argv[n] = NULL;
	return spawn_detached(argv, pg_ha_consul_token, err, errlen);
}

bool
pgha_start_demotion(const PgHaMember *leader, const PgHaCluster *cluster,
					char *err, size_t errlen)
{
	char		ctl[MAXPGPATH];

	if (!start_rejoin(leader, cluster, false, ctl, sizeof(ctl), err, errlen))
		return false;
	ereport(LOG,
			(errmsg("pg_ha: demoting node \"%s\": \"%s rejoin\" restarts it as a standby of \"%s\"",
					pg_ha_node_name, ctl, leader->name)));
	return true;
}

bool
pgha_start_wal_repair(char *err, size_t errlen)
{
	char		ctl[MAXPGPATH];

	if (!start_rejoin(NULL, NULL, false, ctl, sizeof(ctl), err, errlen))
		return false;
	ereport(LOG,
			(errmsg("pg_ha: restarting node \"%s\" as a standby: \"%s rejoin\" moves the unfinished segment out of pg_wal first",
					pg_ha_node_name, ctl)));
	return true;
}

/* POST /reinitialize: none, asked (api_action.c), started (actions.c) */
static enum
{
	REINIT_NONE,
	REINIT_REQUESTED,
	REINIT_STARTED
}			reinit_state = REINIT_NONE;

void
pgha_request_reinit(void)
{
	if (reinit_state == REINIT_NONE)
		reinit_state = REINIT_REQUESTED;
}

bool
pgha_reinit_requested(void)
{
	return reinit_state == REINIT_REQUESTED;
}

bool
pgha_reinit_started(void)
{
	return reinit_state == REINIT_STARTED;
}

void
pgha_forget_reinit(void)
{
	reinit_state = REINIT_NONE;
}

bool
pgha_start_reinit(const PgHaMember *leader, const PgHaCluster *cluster,
				  char *err, size_t errlen)
{
	char		ctl[MAXPGPATH];

	if (!start_rejoin(leader, cluster, true, ctl, sizeof(ctl), err, errlen))
		return false;
	reinit_state = REINIT_STARTED;
	ereport(LOG,
			(errmsg("pg_ha: reinitializing node \"%s\": \"%s rejoin --reinit\" clones it again from the leader \"%s\"",
					pg_ha_node_name, ctl, leader->name)));
	return true;
}

/* ----- replication slots */

/*
 * When a slot stopped being wanted (no such member), by name.  A member's
 * record disappears while it restarts, and a new replica's slot exists
 * before its first record: dropping at once would cost them their WAL.
 */
typedef struct UnwantedSlot
{
	char		name[NAMEDATALEN];
	int64		since_ms;
} UnwantedSlot;

static UnwantedSlot unwanted[64];
static int	nunwanted = 0;

/* How long has slot been unwanted?  Starts counting on the first call. */
static int64
unwanted_for_ms(const char *slot, int64 now)
{
	for (int i = 0; i < nunwanted; i++)
		if (strcmp(unwanted[i].name, slot) == 0)
			return now - unwanted[i].since_ms;
	if (nunwanted < lengthof(unwanted))
	{
		strlcpy(unwanted[nunwanted].name, slot, NAMEDATALEN);
		unwanted[nunwanted].since_ms = now;
		nunwanted++;
	}
	return 0;
}

static void
forget_unwanted(const char *slot)
{
	for (int i = 0; i < nunwanted; i++)
		if (strcmp(unwanted[i].name, slot) == 0)
		{
			unwanted[i] = unwanted[--nunwanted];
			return;
		}
}

static bool
slot_wanted(const char *slot, const PgHaCluster *cluster, const char *self)
{
	for (int i = 0; i < cluster->nmembers; i++)
	{
		char		name[NAMEDATALEN];

		if (strcmp(cluster->members[i].name, self) == 0)
			continue;
		pgha_slot_name(cluster->members[i].name, name, sizeof(name));
		if (strcmp(name, slot) == 0)
			return true;
	}
	return false;
}

static void
create_slot(const char *name)
{
	ReplicationSlotCreate(name, false, RS_PERSISTENT, false);
	ReplicationSlotReserveWal();
	ReplicationSlotMarkDirty();
	ReplicationSlotSave();
	ReplicationSlotRelease();
	ereport(LOG,
			(errmsg("pg_ha: created physical replication slot \"%s\"", name)));
}

void
pgha_sync_slots(const PgHaCluster *cluster, const char *self)
{
	int64		now = pgha_monotonic_ms();
	char		existing[64][NAMEDATALEN];
	bool		inactive[64];
	int			nexisting = 0;

	if (max_replication_slots <= 0)
		return;

	/* the physical slots there are, and which are in use */
	LWLockAcquire(ReplicationSlotControlLock, LW_SHARED);
	for (int i = 0; i < max_replication_slots && nexisting < lengthof(existing); i++)
	{
		ReplicationSlot *s = &ReplicationSlotCtl->replication_slots[i];

		if (!s->in_use || s->data.database != InvalidOid)
			continue;
		strlcpy(existing[nexisting], NameStr(s->data.name), NAMEDATALEN);
		SpinLockAcquire(&s->mutex);
		inactive[nexisting] = (s->active_pid == 0);
		SpinLockRelease(&s->mutex);
		nexisting++;
	}
	LWLockRelease(ReplicationSlotControlLock);

	PG_TRY();
	{
		for (int i = 0; i < cluster->nmembers; i++)
		{
			char		name[NAMEDATALEN];
			bool		found = false;

			if (strcmp(cluster->members[i].name, self) == 0)
				continue;
			pgha_slot_name(cluster->members[i].name, name, sizeof(name));
			for (int j = 0; j < nexisting; j++)
				found |= strcmp(existing[j], name) == 0;
			if (!found)
				create_slot(name);
		}

		/*
		 * Like Patroni, the leader owns the physical slots: one unused and
		 * of no member for pg_ha.member_slots_ttl goes.
		 */
		for (int j = 0; j < nexisting; j++)
		{
			if (!inactive[j] || slot_wanted(existing[j], cluster, self))
			{
				forget_unwanted(existing[j]);
				continue;
			}
			if (unwanted_for_ms(existing[j], now) < pg_ha_member_slots_ttl)
				continue;
			ReplicationSlotDrop(existing[j], true);
			forget_unwanted(existing[j]);
			ereport(LOG,
					(errmsg("pg_ha: dropped physical replication slot \"%s\": no member has used it for %d s",
							existing[j], pg_ha_member_slots_ttl / 1000)));
		}
	}
	PG_CATCH();
	{
		if (MyReplicationSlot != NULL)
			ReplicationSlotRelease();
		PG_RE_THROW();
	}
	PG_END_TRY();
}
