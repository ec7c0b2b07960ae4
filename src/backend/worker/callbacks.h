/*-------------------------------------------------------------------------
 *
 * callbacks.h
 *	  The operator's commands run on events (pg_ha.on_start, on_stop,
 *	  on_restart, on_reload, on_role_change), as Patroni's
 *	  postgresql.callbacks: which one fires when, and the HA worker's calls.
 *
 * The rule (pgha_callback_for) is a pure function, inline here so that the
 * unit tests use it without PostgreSQL; running the commands is
 * callbacks.c.  Not for deciding anything about the cluster: a callback
 * reports what the HA worker did, it never changes it.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CALLBACKS_H
#define PG_HA_CALLBACKS_H

#include <stdbool.h>

/* the callbacks, PgHaCallback, are settings.h's: pg_ha.on_start ... */
#include "settings.h"

/*
 * The role a callback is told: "master" for the leader that takes writes
 * (promotion done, leader key confirmed), "replica" for any other node.
 * NONE: nothing announced yet for this postmaster.
 */
typedef enum PgHaCbRole
{
	PGHA_CB_ROLE_NONE = 0,
	PGHA_CB_ROLE_MASTER,
	PGHA_CB_ROLE_REPLICA
} PgHaCbRole;

/* what the HA worker saw */
typedef enum PgHaCbEvent
{
	PGHA_CB_ROUND,				/* a settled round of the HA loop */
	PGHA_CB_START,				/* first round with this postmaster up */
	PGHA_CB_START_AFTER_RESTART,	/* ... after a restart pg_ha did */
	PGHA_CB_START_AFTER_DEMOTION,	/* ... after pg_ha's demotion restart */
	PGHA_CB_RELOAD,				/* the worker got SIGHUP */
	PGHA_CB_STOP,				/* a clean shutdown */
	PGHA_CB_STOP_FOR_RESTART,	/* the shutdown of a restart pg_ha does */
	PGHA_CB_STOP_FOR_DEMOTION	/* the shutdown of pg_ha's demotion */
} PgHaCbEvent;

static inline const char *
pgha_callback_name(PgHaCallback cb)
{
	switch (cb)
	{
		case PGHA_CB_ON_START:
			return "on_start";
		case PGHA_CB_ON_STOP:
			return "on_stop";
		case PGHA_CB_ON_RESTART:
			return "on_restart";
		case PGHA_CB_ON_RELOAD:
			return "on_reload";
		case PGHA_CB_ON_ROLE_CHANGE:
			return "on_role_change";
		case PGHA_CB_NONE:
			break;
	}
	return "none";
}

/* Patroni 3.0's strings: "master" (Patroni 4 says "primary") */
static inline const char *
pgha_cb_role_name(PgHaCbRole role)
{
	switch (role)
	{
		case PGHA_CB_ROLE_MASTER:
			return "master";
		case PGHA_CB_ROLE_REPLICA:
			return "replica";
		case PGHA_CB_ROLE_NONE:
			break;
	}
	return "unknown";
}

/*
 * Which callback fires for event, given the role last announced to the
 * callbacks (old_role; for a START event, the previous postmaster's last)
 * and the node's role now.  The callback is then passed new_role.
 *
 * As Patroni 3.0.2: on_start once the server is up, on_restart instead
 * after a restart pg_ha performed (whose shutdown fires no on_stop),
 * on_role_change alone for a promotion or a demotion (no on_start when
 * the demoted node comes back as a replica), on_reload for each reload.
 * Unlike Patroni, the demotion's shutdown fires no on_stop: the role
 * change was announced at fencing, before it, and a later on_stop would
 * kill that callback (the last one started wins) while it moves a VIP.
 * Nothing fires about a postmaster before its start was announced.
 */
static inline PgHaCallback
pgha_callback_for(PgHaCbRole old_role, PgHaCbRole new_role, PgHaCbEvent event)
{
	switch (event)
	{
		case PGHA_CB_START:
			return PGHA_CB_ON_START;
		case PGHA_CB_START_AFTER_RESTART:
			return PGHA_CB_ON_RESTART;
		case PGHA_CB_START_AFTER_DEMOTION:
			/* the role change was announced before the restart */
			if (old_role == PGHA_CB_ROLE_NONE)
				return PGHA_CB_ON_START;
			return old_role != new_role ? PGHA_CB_ON_ROLE_CHANGE : PGHA_CB_NONE;
		case PGHA_CB_ROUND:
			if (old_role == PGHA_CB_ROLE_NONE || new_role == PGHA_CB_ROLE_NONE ||
				old_role == new_role)
				return PGHA_CB_NONE;
			return PGHA_CB_ON_ROLE_CHANGE;
		case PGHA_CB_RELOAD:
			return old_role == PGHA_CB_ROLE_NONE ? PGHA_CB_NONE : PGHA_CB_ON_RELOAD;
		case PGHA_CB_STOP:
			return old_role == PGHA_CB_ROLE_NONE ? PGHA_CB_NONE : PGHA_CB_ON_STOP;
		case PGHA_CB_STOP_FOR_RESTART:
		case PGHA_CB_STOP_FOR_DEMOTION:
			return PGHA_CB_NONE;
	}
	return PGHA_CB_NONE;
}

/* ----- the HA worker's calls (callbacks.c) */

/*
 * At the end of each round.  settling: the round asked for another at
 * once (the key just taken, the cluster just initialized): its role is
 * not final, so nothing is announced from it.
 */
extern void pgha_callbacks_round(bool settling);

/* After the worker processed a SIGHUP. */
extern void pgha_callbacks_reload(void);

/* At a clean shutdown: event is one of the STOP events. */
extern void pgha_callbacks_stop(PgHaCbEvent event);

#endif							/* PG_HA_CALLBACKS_H */
