/*
 * Unit tests of the callbacks' rule (src/backend/worker/callbacks.h): which of
 * pg_ha.on_start, on_stop, on_restart, on_reload, on_role_change fires for
 * each (role announced, role now, event), as Patroni 3.0.2 fires them.
 */
#include <stdio.h>
#include <string.h>

#include "callbacks.h"
#include "unit_check.h"

#define NONE	PGHA_CB_ROLE_NONE
#define MASTER	PGHA_CB_ROLE_MASTER
#define REPLICA	PGHA_CB_ROLE_REPLICA

/* the settings the header declares; the rule never reads them */
char	   *pg_ha_callback_command[PGHA_CB_NCALLBACKS];

static const char *
fired(PgHaCbRole old_role, PgHaCbRole new_role, PgHaCbEvent event)
{
	return pgha_callback_name(pgha_callback_for(old_role, new_role, event));
}

/* Patroni's strings: action names, and 3.0's "master" */
static void
test_names(void)
{
	CHECK_STR(pgha_callback_name(PGHA_CB_ON_START), "on_start");
	CHECK_STR(pgha_callback_name(PGHA_CB_ON_STOP), "on_stop");
	CHECK_STR(pgha_callback_name(PGHA_CB_ON_RESTART), "on_restart");
	CHECK_STR(pgha_callback_name(PGHA_CB_ON_RELOAD), "on_reload");
	CHECK_STR(pgha_callback_name(PGHA_CB_ON_ROLE_CHANGE), "on_role_change");
	CHECK_STR(pgha_callback_name(PGHA_CB_NONE), "none");
	CHECK_STR(pgha_cb_role_name(MASTER), "master");
	CHECK_STR(pgha_cb_role_name(REPLICA), "replica");
	/* the settings array is indexed by the callback */
	CHECK(PGHA_CB_ON_START == 0 && PGHA_CB_ON_ROLE_CHANGE == PGHA_CB_NCALLBACKS - 1);
}

/* a start fires on_start whatever the role before, with the role now */
static void
test_start(void)
{
	CHECK_STR(fired(NONE, MASTER, PGHA_CB_START), "on_start");
	CHECK_STR(fired(NONE, REPLICA, PGHA_CB_START), "on_start");
	/* the old leader back after a crash: its start, not a role change */
	CHECK_STR(fired(MASTER, REPLICA, PGHA_CB_START), "on_start");
	CHECK_STR(fired(REPLICA, MASTER, PGHA_CB_START), "on_start");
}

/* pg_ha's restart: on_restart instead of on_start, and no on_stop */
static void
test_restart(void)
{
	CHECK_STR(fired(MASTER, MASTER, PGHA_CB_STOP_FOR_RESTART), "none");
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_STOP_FOR_RESTART), "none");
	CHECK_STR(fired(MASTER, MASTER, PGHA_CB_START_AFTER_RESTART), "on_restart");
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_START_AFTER_RESTART), "on_restart");
	CHECK_STR(fired(NONE, REPLICA, PGHA_CB_START_AFTER_RESTART), "on_restart");
}

/* promotion and demotion: on_role_change alone */
static void
test_role_change(void)
{
	/* promotion done */
	CHECK_STR(fired(REPLICA, MASTER, PGHA_CB_ROUND), "on_role_change");
	/* fenced: demotion, switchover, lost lease */
	CHECK_STR(fired(MASTER, REPLICA, PGHA_CB_ROUND), "on_role_change");
	/* nothing changed */
	CHECK_STR(fired(MASTER, MASTER, PGHA_CB_ROUND), "none");
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_ROUND), "none");
	/* before the start was announced, the start says the role */
	CHECK_STR(fired(NONE, MASTER, PGHA_CB_ROUND), "none");
	CHECK_STR(fired(NONE, REPLICA, PGHA_CB_ROUND), "none");

	/* the demotion's restart: no on_stop, and no on_start after it */
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_STOP_FOR_DEMOTION), "none");
	CHECK_STR(fired(MASTER, REPLICA, PGHA_CB_STOP_FOR_DEMOTION), "none");
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_START_AFTER_DEMOTION), "none");
	/* stopped before the fencing was announced: announced now */
	CHECK_STR(fired(MASTER, REPLICA, PGHA_CB_START_AFTER_DEMOTION), "on_role_change");
	/* nothing known of the node: a start */
	CHECK_STR(fired(NONE, REPLICA, PGHA_CB_START_AFTER_DEMOTION), "on_start");
}

/* reloads and clean stops, once the start was announced */
static void
test_reload_stop(void)
{
	CHECK_STR(fired(MASTER, MASTER, PGHA_CB_RELOAD), "on_reload");
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_RELOAD), "on_reload");
	CHECK_STR(fired(REPLICA, MASTER, PGHA_CB_RELOAD), "on_reload");
	CHECK_STR(fired(NONE, REPLICA, PGHA_CB_RELOAD), "none");
	CHECK_STR(fired(MASTER, MASTER, PGHA_CB_STOP), "on_stop");
	CHECK_STR(fired(REPLICA, REPLICA, PGHA_CB_STOP), "on_stop");
	CHECK_STR(fired(NONE, REPLICA, PGHA_CB_STOP), "none");
}

/* every (old, new, event): one callback at most, never a stray value */
static void
test_total(void)
{
	PgHaCbRole	roles[] = {NONE, MASTER, REPLICA};
	PgHaCbEvent events[] = {PGHA_CB_ROUND, PGHA_CB_START, PGHA_CB_START_AFTER_RESTART,
		PGHA_CB_START_AFTER_DEMOTION, PGHA_CB_RELOAD, PGHA_CB_STOP,
	PGHA_CB_STOP_FOR_RESTART, PGHA_CB_STOP_FOR_DEMOTION};

	for (int o = 0; o < 3; o++)
		for (int n = 1; n < 3; n++)
			for (int e = 0; e < (int) (sizeof(events) / sizeof(events[0])); e++)
			{
				PgHaCallback cb = pgha_callback_for(roles[o], roles[n], events[e]);

				CHECK(cb >= PGHA_CB_NONE && cb < PGHA_CB_NCALLBACKS);
				/* a role change only ever between two known roles */
				if (cb == PGHA_CB_ON_ROLE_CHANGE)
					CHECK(roles[o] != NONE && roles[o] != roles[n]);
			}
}

int
main(void)
{
	test_names();
	test_start();
	test_restart();
	test_role_change();
	test_reload_stop();
	test_total();

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
