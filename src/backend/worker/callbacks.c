/*-------------------------------------------------------------------------
 *
 * callbacks.c
 *	  Running the operator's commands on events (see callbacks.h).
 *
 * Patroni 3.0.2 runs a callback as `<command split like a shell> <action>
 * <role> <cluster>` without waiting for it, one at a time: a callback still
 * running when the next one starts is killed with its children, except
 * that on_reload only ever kills the previous on_reload.  pg_ha does the
 * same from the HA worker, with two things a worker inside the postmaster
 * needs: the command runs detached (its own session, outside the
 * postmaster's process tree, so that the shutdown it reports does not end
 * it; node_ctl.c), and what the callbacks were told survives the worker
 * and the postmaster in a small file of the data directory, so that a
 * restarted worker does not announce the start again, and a server back
 * from pg_ha's own restart gets on_restart rather than on_start.
 *
 * Not for anything the HA loop depends on: a callback that cannot start is
 * a WARNING, and the loop goes on as if it had run.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <ctype.h>
#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "access/xlog.h"
#include "miscadmin.h"
#include "storage/fd.h"
#include "utils/pidfile.h"

#include "callbacks.h"
#include "cluster.h"
#include "node_ctl.h"
#include "settings.h"
#include "state.h"

/* what the callbacks were told, in the data directory */
#define CALLBACKS_FILE		"pg_ha.callbacks"
/* clock ticks of slack when matching a process's start time */
#define START_TICK_SLACK	2

/*
 * A callback started: its session (also its process group), and the clock
 * ticks since boot between which its first process was forked, which tell
 * its processes from later ones that were given the same number once it
 * had ended (every postgres backend leads a session of its own too).
 */
typedef struct CbRun
{
	int			callback;		/* PgHaCallback; PGHA_CB_NONE: none */
	pid_t		session;		/* 0: none */
	unsigned long long tick_lo;
	unsigned long long tick_hi;
} CbRun;

typedef struct CbState
{
	/* the postmaster whose start was announced last */
	char		node[PGHA_NAME_LEN];	/* this node's name then */
	long long	pm_pid;
	long long	pm_start;		/* its PgStartTime */
	PgHaCbRole	role;			/* the role last announced */

	/*
	 * How pg_ha saw that postmaster end: one of the STOP events, or
	 * PGHA_CB_ROUND while it runs (or when it ended unseen: a crash).
	 */
	PgHaCbEvent ending;
	CbRun		run;			/* the last callback but on_reload */
	CbRun		reload_run;		/* the last on_reload */
	char		boot[40];		/* the kernel's boot_id of the runs */
} CbState;

static CbState state;
static bool state_loaded = false;
static bool announced = false;	/* this postmaster's start was announced */

static void
reset_state(void)
{
	memset(&state, 0, sizeof(state));
	state.role = PGHA_CB_ROLE_NONE;
	state.ending = PGHA_CB_ROUND;
	state.run.callback = PGHA_CB_NONE;
	state.reload_run.callback = PGHA_CB_NONE;
}

/*
 * The machine's boot: after a reboot, the numbers and clock ticks of the
 * runs name other processes (boots are alike enough to give the same
 * ones), so runs of another boot are forgotten.  "-": unknown.
 */
static const char *
boot_id(void)
{
	static char id[40] = "";

	if (id[0] == '\0')
	{
		FILE	   *f = AllocateFile("/proc/sys/kernel/random/boot_id", "r");

		if (f == NULL || fscanf(f, "%39s", id) != 1)
			strlcpy(id, "-", sizeof(id));
		if (f != NULL)
			FreeFile(f);
	}
	return id;
}

static bool
valid_run(const CbRun *r)
{
	return r->callback >= PGHA_CB_NONE && r->callback < PGHA_CB_NCALLBACKS &&
		r->session >= 0 && r->tick_lo <= r->tick_hi;
}

/*
 * The file holds one line:
 *	<node> <boot> <pm pid> <pm start> <role> <ending> <run> <reload run>
 * each run as <callback> <session> <tick lo> <tick hi>.  A copy of the data
 * directory given another node name (a clone) ignores it.
 */
static void
load_state(void)
{
	FILE	   *f;
	CbState		s;
	int			role;
	int			ending;
	long long	sid;
	long long	rsid;
	int			n;

	if (state_loaded)
		return;
	state_loaded = true;
	reset_state();
	f = AllocateFile(CALLBACKS_FILE, "r");
	if (f == NULL)
		return;
	memset(&s, 0, sizeof(s));
	n = fscanf(f, "%63s %39s %lld %lld %d %d %d %lld %llu %llu %d %lld %llu %llu",
			   s.node, s.boot, &s.pm_pid, &s.pm_start, &role, &ending,
			   &s.run.callback, &sid, &s.run.tick_lo, &s.run.tick_hi,
			   &s.reload_run.callback, &rsid, &s.reload_run.tick_lo,
			   &s.reload_run.tick_hi);
	FreeFile(f);
	s.run.session = (pid_t) sid;
	s.reload_run.session = (pid_t) rsid;
	if (n != 14 || strcmp(s.node, pg_ha_node_name) != 0 ||
		role < PGHA_CB_ROLE_NONE || role > PGHA_CB_ROLE_REPLICA ||
		(ending != PGHA_CB_ROUND && ending != PGHA_CB_STOP &&
		 ending != PGHA_CB_STOP_FOR_RESTART && ending != PGHA_CB_STOP_FOR_DEMOTION) ||
		sid != (long long) s.run.session || rsid != (long long) s.reload_run.session ||
		!valid_run(&s.run) || !valid_run(&s.reload_run))
		return;
	s.role = (PgHaCbRole) role;
	s.ending = (PgHaCbEvent) ending;
	if (strcmp(s.boot, boot_id()) != 0 || strcmp(s.boot, "-") == 0)
	{
		s.run.session = s.reload_run.session = 0;
		s.run.callback = s.reload_run.callback = PGHA_CB_NONE;
	}
	state = s;
	/* a worker started again under the same postmaster: said already */
	announced = state.pm_pid == (long long) PostmasterPid &&
		state.pm_start == (long long) PgStartTime;
}

static void
save_state(void)
{
	FILE	   *f = AllocateFile(CALLBACKS_FILE ".tmp", "w");

	strlcpy(state.node, pg_ha_node_name, sizeof(state.node));
	strlcpy(state.boot, boot_id(), sizeof(state.boot));
	if (f == NULL)
	{
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write \"%s\": %m", CALLBACKS_FILE ".tmp")));
		return;
	}
	fprintf(f, "%s %s %lld %lld %d %d %d %lld %llu %llu %d %lld %llu %llu\n",
			state.node, state.boot, state.pm_pid, state.pm_start, (int) state.role,
			(int) state.ending,
			state.run.callback, (long long) state.run.session,
			state.run.tick_lo, state.run.tick_hi,
			state.reload_run.callback, (long long) state.reload_run.session,
			state.reload_run.tick_lo, state.reload_run.tick_hi);
	if (FreeFile(f) != 0 || rename(CALLBACKS_FILE ".tmp", CALLBACKS_FILE) != 0)
		ereport(WARNING,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write \"%s\": %m", CALLBACKS_FILE)));
}

/* ----- the node */

/*
 * The role the callbacks are told: master only for the leader that takes
 * writes, so that a VIP never points at a fenced or promoting node.
 */
static PgHaCbRole
current_role(void)
{
	if (pg_atomic_read_u32(&pgha_shared->leader_confirmed) != 0 &&
		!RecoveryInProgress())
		return PGHA_CB_ROLE_MASTER;
	return PGHA_CB_ROLE_REPLICA;
}

/*
 * Is the server up?  The postmaster says so in postmaster.pid, as
 * pg_isready would see it (Patroni's test): ready, or a hot standby.  A
 * standby without hot standby never says so: it is up once it runs.
 */
static bool
server_up(void)
{
	FILE	   *f;
	char		line[MAXPGPATH];
	int			n = 0;
	bool		up = false;
	struct stat st;

	if (!EnableHotStandby && stat(STANDBY_SIGNAL_FILE, &st) == 0)
		return true;
	f = AllocateFile("postmaster.pid", "r");
	if (f == NULL)
		return false;
	while (fgets(line, sizeof(line), f) != NULL)
	{
		if (++n == LOCK_FILE_LINE_PM_STATUS)
		{
			up = strncmp(line, PM_STATUS_READY, strlen(PM_STATUS_READY)) == 0 ||
				strncmp(line, PM_STATUS_STANDBY, strlen(PM_STATUS_STANDBY)) == 0;
			break;
		}
	}
	FreeFile(f);
	return up;
}

/* ----- the processes of a callback */

/* the clock of /proc/<pid>/stat's start times: ticks since boot */
static unsigned long long
boot_ticks(void)
{
	struct timespec ts;
	long		hz = sysconf(_SC_CLK_TCK);

	if (hz <= 0 || clock_gettime(CLOCK_BOOTTIME, &ts) != 0)
		return 0;
	return (unsigned long long) ts.tv_sec * hz +
		(unsigned long long) ts.tv_nsec * hz / 1000000000;
}

/*
 * Session and start time of process pid, from /proc/<pid>/stat; false when
 * it is gone, or has ended and waits to be reaped (a zombie runs nothing).
 */
static bool
proc_session(const char *pid, pid_t *session, unsigned long long *start)
{
	char		path[64];
	char		buf[1024];
	FILE	   *f;
	char	   *p = NULL;
	char		pstate;
	int			sid;

	snprintf(path, sizeof(path), "/proc/%s/stat", pid);
	f = AllocateFile(path, "r");
	if (f == NULL)
		return false;			/* gone meanwhile */
	if (fgets(buf, sizeof(buf), f) != NULL)
		p = strrchr(buf, ')');	/* the name may hold blanks and ')' */
	FreeFile(f);
	/* state ppid pgrp session ... starttime is the 20th field after ')' */
	if (p == NULL ||
		sscanf(p + 1, " %c %*d %*d %d %*d %*d %*u %*u %*u %*u %*u %*u %*u %*d %*d %*d %*d %*d %*d %llu",
			   &pstate, &sid, start) != 3 ||
		pstate == 'Z' || pstate == 'X')
		return false;
	*session = (pid_t) sid;
	return true;
}

/*
 * Patroni's one callback at a time: the previous one of this kind, if it
 * still runs, is killed with every process of its session.
 */
static void
kill_previous(CbRun *run, PgHaCallback next)
{
	DIR		   *dir;
	struct dirent *de;
	pid_t		members[256];
	int			nmembers = 0;
	bool		ours = false;

	if (run->session <= 0)
		return;
	dir = AllocateDir("/proc");
	while ((de = ReadDirExtended(dir, "/proc", LOG)) != NULL)
	{
		pid_t		session;
		unsigned long long start;

		if (!isdigit((unsigned char) de->d_name[0]) ||
			!proc_session(de->d_name, &session, &start) ||
			session != run->session)
			continue;
		/* its first process, forked while it was started */
		if (start + START_TICK_SLACK >= run->tick_lo &&
			start <= run->tick_hi + START_TICK_SLACK)
			ours = true;
		if (nmembers < lengthof(members))
			members[nmembers++] = (pid_t) atoi(de->d_name);
	}
	FreeDir(dir);

	/*
	 * While any of its processes lives, no other session can have its
	 * number: the others found are its children.
	 */
	if (ours)
	{
		(void) kill(-run->session, SIGKILL);
		for (int i = 0; i < nmembers; i++)
			(void) kill(members[i], SIGKILL);
		ereport(LOG,
				(errmsg("pg_ha: killed callback pg_ha.%s (session %d): it was still running when pg_ha.%s started",
						pgha_callback_name((PgHaCallback) run->callback),
						(int) run->session, pgha_callback_name(next))));
	}
	run->session = 0;
	run->callback = PGHA_CB_NONE;
}

/*
 * The program of a command: a path as given (relative: to the data
 * directory), else looked up in PATH as a shell would.
 */
static bool
find_program(const char *word, char *path, size_t len, char *err, size_t errlen)
{
	const char *dirs;

	if (strchr(word, '/') != NULL)
	{
		strlcpy(path, word, len);
		if (access(path, X_OK) == 0)
			return true;
		snprintf(err, errlen, "\"%s\" cannot be executed: %m", word);
		return false;
	}
	dirs = getenv("PATH");
	if (dirs == NULL)
		dirs = "/usr/bin:/bin";
	for (const char *d = dirs;; d++)
	{
		size_t		n = strcspn(d, ":");
		struct stat st;

		/* an empty entry is the current directory */
		snprintf(path, len, "%.*s/%s", n > 0 ? (int) n : 1, n > 0 ? d : ".", word);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
			access(path, X_OK) == 0)
			return true;
		d += n;
		if (*d == '\0')
			break;
	}
	snprintf(err, errlen, "\"%s\" was not found in PATH", word);
	return false;
}

/*
 * Start callback cb with Patroni's arguments: the command's words, then
 * the action, the role and the cluster.  No shell: the arguments are
 * never parsed as part of a command line.
 */
static void
run_callback(PgHaCallback cb, PgHaCbRole role)
{
	const char *command = pg_ha_callback_command[cb];
	CbRun	   *run = cb == PGHA_CB_ON_RELOAD ? &state.reload_run : &state.run;
	char	   *words;
	char	  **argv;
	int			argc = 0;
	char		program[MAXPGPATH];
	char		err[PGHA_ERR_LEN];
	pid_t		session = 0;
	unsigned long long lo;
	unsigned long long hi;
	bool		ok;

	if (command == NULL || command[0] == '\0')
		return;
	words = pstrdup(command);
	argv = palloc0(sizeof(char *) * (strlen(words) / 2 + 6));
	for (char *w = strtok(words, " \t\r\n"); w != NULL; w = strtok(NULL, " \t\r\n"))
		argv[argc++] = w;
	if (argc == 0 ||
		!find_program(argv[0], program, sizeof(program), err, sizeof(err)))
	{
		if (argc > 0)
			ereport(WARNING,
					(errmsg("pg_ha: could not run callback pg_ha.%s: %s",
							pgha_callback_name(cb), err)));
		pfree(argv);
		pfree(words);
		return;
	}
	argv[0] = program;
	argv[argc++] = (char *) pgha_callback_name(cb);
	argv[argc++] = (char *) pgha_cb_role_name(role);
	argv[argc++] = pg_ha_cluster;
	argv[argc] = NULL;

	kill_previous(run, cb);
	lo = boot_ticks();
	ok = pgha_spawn_operator_command(argv, &session, err, sizeof(err));
	hi = boot_ticks();
	/* also called outside the round's memory context: free what we took */
	pfree(argv);
	pfree(words);
	if (!ok)
	{
		ereport(WARNING,
				(errmsg("pg_ha: could not run callback pg_ha.%s: %s",
						pgha_callback_name(cb), err)));
		return;
	}
	run->callback = cb;
	run->session = session;
	run->tick_lo = lo;
	run->tick_hi = hi;
	/* the arguments, not the command: it is the operator's, maybe secret */
	ereport(LOG,
			(errmsg("pg_ha: started callback pg_ha.%s with arguments %s %s %s (session %d)",
					pgha_callback_name(cb), pgha_callback_name(cb),
					pgha_cb_role_name(role), pg_ha_cluster, (int) session)));
}

/* ----- the HA worker's calls */

void
pgha_callbacks_round(bool settling)
{
	PgHaCbRole	now;
	PgHaCallback cb;

	load_state();
	if (settling)
		return;
	now = current_role();
	if (!announced)
	{
		PgHaCbEvent ev = PGHA_CB_START;

		if (!server_up())
			return;
		if (state.ending == PGHA_CB_STOP_FOR_RESTART)
			ev = PGHA_CB_START_AFTER_RESTART;
		else if (state.ending == PGHA_CB_STOP_FOR_DEMOTION)
			ev = PGHA_CB_START_AFTER_DEMOTION;
		cb = pgha_callback_for(state.role, now, ev);
		announced = true;
		state.pm_pid = (long long) PostmasterPid;
		state.pm_start = (long long) PgStartTime;
		state.ending = PGHA_CB_ROUND;
	}
	else
	{
		cb = pgha_callback_for(state.role, now, PGHA_CB_ROUND);
		if (cb == PGHA_CB_NONE)
			return;
	}
	state.role = now;
	if (cb != PGHA_CB_NONE)
		run_callback(cb, now);
	save_state();
}

void
pgha_callbacks_reload(void)
{
	PgHaCallback cb;

	load_state();
	cb = pgha_callback_for(announced ? state.role : PGHA_CB_ROLE_NONE,
						   current_role(), PGHA_CB_RELOAD);
	if (cb == PGHA_CB_NONE)
		return;
	run_callback(cb, current_role());
	save_state();
}

void
pgha_callbacks_stop(PgHaCbEvent event)
{
	PgHaCallback cb;

	load_state();
	cb = pgha_callback_for(announced ? state.role : PGHA_CB_ROLE_NONE,
						   current_role(), event);
	if (cb != PGHA_CB_NONE)
		run_callback(cb, current_role());
	/* for the next postmaster: on_restart, or nothing after a demotion */
	state.ending = event;
	save_state();
}
