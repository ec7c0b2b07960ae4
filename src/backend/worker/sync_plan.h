/*-------------------------------------------------------------------------
 *
 * sync_plan.h
 *	  The sync plan: in synchronous mode, the leader's next step among
 *	  writing the sync key and setting synchronous_standby_names, in the
 *	  order that never loses an acknowledged commit.  A pure function of
 *	  its inputs and an explicit state (no I/O, no PostgreSQL calls), so
 *	  that each step is unit-tested (regress/unit/test_sync_plan.c); sync.c
 *	  gathers the inputs and carries the steps out.
 *
 * The order, in each round of the leader:
 *
 *	0. the sync key names this node as the leader (claimed with no
 *	   standby if it does not yet);
 *	1. the key loses every standby that is about to stop being waited for
 *	   (or no longer is): while it is named, PostgreSQL still waits;
 *	2. synchronous_standby_names takes the standbys picked (or '*' in
 *	   strict mode without any, or none);
 *	3. a short wait until every walsender and the checkpointer run with
 *	   the new setting, and the new standbys flushed the leader's WAL up to
 *	   where it was when the setting was first seen in force;
 *	4. the key names the new standbys that did.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_SYNC_PLAN_H
#define PG_HA_SYNC_PLAN_H

#include "cluster.h"

/* the longest synchronous_standby_names pg_ha writes, with its NUL */
#define PGHA_SYNC_NAMES_LEN	(PGHA_MAX_SYNC * (PGHA_NAME_LEN + 3) + 16)

/* A value of synchronous_standby_names as pg_ha writes it. */
typedef struct PgHaSyncNames
{
	bool		star;			/* '*': any standby */
	int			n;
	char		names[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	char		text[PGHA_SYNC_NAMES_LEN];	/* the value as written */
} PgHaSyncNames;

/* names->text from names->star, n and names: "", "*", "\"a\"", "2 (\"a\",\"b\")". */
extern void pgha_sync_names_format(PgHaSyncNames *names);

/*
 * Read back a value pg_ha wrote.  Another value (set by hand in
 * postgresql.conf) gives no names: the leader replaces it.
 */
extern void pgha_sync_names_parse(const char *text, PgHaSyncNames *names);

/*
 * The plan's state across rounds: synchronous_standby_names as pg_ha.conf
 * sets it, and the WAL position from which it is known in force.  Kept by
 * conf_file.c with the file it describes.
 */
typedef struct PgHaSyncSetting
{
	bool		known;			/* read from the setting in force at first */
	PgHaSyncNames names;
	int64_t		effective_lsn;	/* WAL flushed when it was first seen in
								 * force; 0: not yet */
} PgHaSyncSetting;

/* A walsender as the plan sees it. */
typedef enum PgHaSyncSenderState
{
	PGHA_SYNC_SENDER_OTHER,		/* starting, backup, stopping */
	PGHA_SYNC_SENDER_CATCHUP,
	PGHA_SYNC_SENDER_STREAMING
} PgHaSyncSenderState;

typedef struct PgHaSyncSender
{
	char		name[PGHA_NAME_LEN];	/* its application_name */
	PgHaSyncSenderState state;
	int			priority;		/* its sync_standby_priority */
	int64_t		flush;			/* flushed by the standby */
} PgHaSyncSender;

#define PGHA_SYNC_MAX_SENDERS	64

/* Where a round of the plan is; each round starts at PGHA_SYNC_CLAIM. */
typedef enum PgHaSyncPhase
{
	PGHA_SYNC_CLAIM,			/* 0. the key must name this node */
	PGHA_SYNC_READ,				/* the walsenders, the standbys picked */
	PGHA_SYNC_SHRINK,			/* 1. */
	PGHA_SYNC_SET,				/* 2. */
	PGHA_SYNC_WAIT,				/* 3. */
	PGHA_SYNC_GROW,				/* 4. */
	PGHA_SYNC_DONE
} PgHaSyncPhase;

typedef struct PgHaSyncRound
{
	PgHaSyncPhase phase;
	bool		looked;			/* PGHA_SYNC_WAIT: the first look is done */
} PgHaSyncRound;

/* What the leader sees; the caller keeps it up to date with each step. */
typedef struct PgHaSyncInput
{
	/* the sync key as read, then as written */
	bool		key_ours;		/* it names this node as the leader */
	int			nkey;
	char		key[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	bool		strict;			/* synchronous_mode_strict */
	const PgHaSyncSetting *setting;
	/* the standbys picked (ha_pick_sync_standbys), from the first read */
	int			npick;
	char		pick[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	/* the walsenders as last read */
	bool		have_walsenders;	/* walsender shared memory exists */
	bool		defined;		/* the checkpointer sees a standby named */
	int			nsenders;
	PgHaSyncSender senders[PGHA_SYNC_MAX_SENDERS];
	bool		wait_over;		/* the wait of phase 3 ran out */
} PgHaSyncInput;

typedef enum PgHaSyncStepKind
{
	PGHA_SYNC_STEP_WRITE_KEY,	/* the key names names (phase: why) */
	PGHA_SYNC_STEP_READ,		/* read the walsenders, pick the standbys */
	PGHA_SYNC_STEP_SET_NAMES,	/* setting into pg_ha.conf, not in force yet */
	PGHA_SYNC_STEP_LOOK,		/* read the walsenders again; after a short
								 * pause unless first, wait_over if none is
								 * left */
	PGHA_SYNC_STEP_MARK_IN_FORCE,	/* note the WAL flushed now */
	PGHA_SYNC_STEP_DONE			/* the round is over */
} PgHaSyncStepKind;

typedef struct PgHaSyncStep
{
	PgHaSyncStepKind kind;
	PgHaSyncPhase phase;		/* the phase that asks for it */
	bool		first;			/* LOOK: the wait's first, without a pause */
	int			n;				/* WRITE_KEY */
	char		names[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	PgHaSyncNames setting;		/* SET_NAMES */
} PgHaSyncStep;

/*
 * The next step of round given in.  A step that fails ends the round (the
 * next round starts over); one that succeeds is reflected in in, and in
 * in->setting, before the next call.
 */
extern void pgha_sync_plan_next(PgHaSyncRound *round, const PgHaSyncInput *in,
								PgHaSyncStep *step);

#endif							/* PG_HA_SYNC_PLAN_H */
