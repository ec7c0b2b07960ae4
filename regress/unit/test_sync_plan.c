/*
 * Unit tests of the sync plan (src/backend/worker/sync_plan.c): the order
 * in which the leader shrinks the sync key, sets synchronous_standby_names
 * and grows the key, step by step, so that the key never names a standby
 * that PostgreSQL does not wait for or that lacks an acknowledged commit.
 * The test plays sync.c's part: it carries each step out on the inputs.
 */
#include <stdio.h>
#include <string.h>

#include "sync_plan.h"
#include "unit_check.h"

/* the leader as sync.c sees it: the inputs, and the setting in pg_ha.conf */
typedef struct Leader
{
	PgHaSyncRound round;
	PgHaSyncInput in;
	PgHaSyncSetting setting;
} Leader;

static void
leader_init(Leader *l, const char *setting_text, bool strict)
{
	memset(l, 0, sizeof(*l));
	l->setting.known = true;
	pgha_sync_names_parse(setting_text, &l->setting.names);
	l->in.setting = &l->setting;
	l->in.strict = strict;
	l->in.have_walsenders = true;
	l->round.phase = PGHA_SYNC_CLAIM;
}

static void
set_key(Leader *l, bool ours, int n, const char *a, const char *b)
{
	l->in.key_ours = ours;
	l->in.nkey = n;
	if (n > 0)
		snprintf(l->in.key[0], PGHA_NAME_LEN, "%s", a);
	if (n > 1)
		snprintf(l->in.key[1], PGHA_NAME_LEN, "%s", b);
}

static void
set_pick(Leader *l, int n, const char *a, const char *b)
{
	l->in.npick = n;
	if (n > 0)
		snprintf(l->in.pick[0], PGHA_NAME_LEN, "%s", a);
	if (n > 1)
		snprintf(l->in.pick[1], PGHA_NAME_LEN, "%s", b);
}

static void
sender(Leader *l, const char *name, PgHaSyncSenderState state, int priority,
	   int64_t flush)
{
	PgHaSyncSender *s = &l->in.senders[l->in.nsenders++];

	snprintf(s->name, sizeof(s->name), "%s", name);
	s->state = state;
	s->priority = priority;
	s->flush = flush;
}

/* The next step; what a successful sync.c would make of it, done. */
static PgHaSyncStep
next(Leader *l)
{
	PgHaSyncStep step;

	pgha_sync_plan_next(&l->round, &l->in, &step);
	switch (step.kind)
	{
		case PGHA_SYNC_STEP_WRITE_KEY:
			l->in.key_ours = true;
			l->in.nkey = step.n;
			memcpy(l->in.key, step.names, sizeof(l->in.key[0]) * step.n);
			break;
		case PGHA_SYNC_STEP_SET_NAMES:
			l->setting.names = step.setting;
			l->setting.effective_lsn = 0;
			break;
		case PGHA_SYNC_STEP_MARK_IN_FORCE:
			l->setting.effective_lsn = 1000;
			break;
		case PGHA_SYNC_STEP_READ:
		case PGHA_SYNC_STEP_LOOK:
		case PGHA_SYNC_STEP_DONE:
			break;
	}
	return step;
}

static bool
is_key_write(PgHaSyncStep step, PgHaSyncPhase why, int n, const char *first)
{
	return step.kind == PGHA_SYNC_STEP_WRITE_KEY && step.phase == why &&
		step.n == n && (n == 0 || strcmp(step.names[0], first) == 0);
}

static void
test_names(void)
{
	PgHaSyncNames s;

	pgha_sync_names_parse("", &s);
	CHECK(!s.star && s.n == 0);
	CHECK_STR(s.text, "");
	pgha_sync_names_parse("*", &s);
	CHECK(s.star);
	pgha_sync_names_parse("\"pg2\"", &s);
	CHECK(s.n == 1);
	CHECK_STR(s.names[0], "pg2");
	pgha_sync_names_parse("2 (\"pg2\",\"pg3\")", &s);
	CHECK(s.n == 2);
	CHECK_STR(s.names[1], "pg3");
	/* a value set by hand is not ours: no names, replaced by the leader */
	pgha_sync_names_parse("FIRST 1 (pg2)", &s);
	CHECK(!s.star && s.n == 0);
	CHECK_STR(s.text, "FIRST 1 (pg2)");

	memset(&s, 0, sizeof(s));
	pgha_sync_names_format(&s);
	CHECK_STR(s.text, "");
	s.n = 1;
	snprintf(s.names[0], PGHA_NAME_LEN, "pg2");
	pgha_sync_names_format(&s);
	CHECK_STR(s.text, "\"pg2\"");
	s.n = 2;
	snprintf(s.names[1], PGHA_NAME_LEN, "pg3");
	pgha_sync_names_format(&s);
	CHECK_STR(s.text, "2 (\"pg2\",\"pg3\")");
	s.star = true;
	pgha_sync_names_format(&s);
	CHECK_STR(s.text, "*");
}

/* A key that names another leader is claimed first, before any read. */
static void
test_claim(void)
{
	Leader		l;
	PgHaSyncStep step;

	leader_init(&l, "", false);
	set_key(&l, false, 1, "pg2", NULL);
	step = next(&l);
	CHECK(is_key_write(step, PGHA_SYNC_CLAIM, 0, NULL));
	CHECK(next(&l).kind == PGHA_SYNC_STEP_READ);

	/* a key that names us: the read comes first */
	leader_init(&l, "", false);
	set_key(&l, true, 0, NULL, NULL);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_READ);
}

/*
 * A new synchronous standby: the setting first, then a wait until it is in
 * force and the standby caught up, then the key.
 */
static void
test_new_standby(void)
{
	Leader		l;
	PgHaSyncStep step;

	leader_init(&l, "", false);
	set_key(&l, true, 0, NULL, NULL);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_READ);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 0, 900);
	set_pick(&l, 1, "pg2", NULL);

	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_SET_NAMES);
	CHECK_STR(step.setting.text, "\"pg2\"");
	/* the wait's first look comes without a pause */
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_LOOK && step.first);
	/* the walsender has not taken the new setting yet: look again */
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_LOOK && !step.first);

	/* in force: the WAL position is noted once */
	l.in.senders[0].priority = 1;
	l.in.defined = true;
	CHECK(next(&l).kind == PGHA_SYNC_STEP_MARK_IN_FORCE);
	CHECK(l.setting.effective_lsn == 1000);
	/* not caught up to it yet */
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_LOOK && !step.first);
	l.in.senders[0].flush = 1000;
	step = next(&l);
	CHECK(is_key_write(step, PGHA_SYNC_GROW, 1, "pg2"));
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
}

/* The wait runs out before the standby caught up: the key stays as it is. */
static void
test_wait_over(void)
{
	Leader		l;
	PgHaSyncStep step;

	leader_init(&l, "", false);
	set_key(&l, true, 0, NULL, NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 0, 10);
	set_pick(&l, 1, "pg2", NULL);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_SET_NAMES);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	l.in.senders[0].priority = 1;
	l.in.defined = true;
	CHECK(next(&l).kind == PGHA_SYNC_STEP_MARK_IN_FORCE);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	l.in.wait_over = true;
	/* in force: phase 4, which finds nobody caught up */
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_DONE);
	CHECK(l.in.nkey == 0);

	/* never in force: no phase 4 at all */
	leader_init(&l, "", false);
	set_key(&l, true, 0, NULL, NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 0, 5000);
	set_pick(&l, 1, "pg2", NULL);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_SET_NAMES);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	l.in.wait_over = true;
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
	CHECK(l.setting.effective_lsn == 0);
}

/*
 * The synchronous standby changes from pg2 to pg3: the key loses pg2 before
 * the setting stops waiting for it, and names pg3 only once it is waited
 * for and caught up.
 */
static void
test_switch_standby(void)
{
	Leader		l;
	PgHaSyncStep step;

	leader_init(&l, "\"pg2\"", false);
	l.setting.effective_lsn = 500;
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 1, 2000);
	sender(&l, "pg3", PGHA_SYNC_SENDER_STREAMING, 0, 2000);
	l.in.defined = true;
	set_pick(&l, 1, "pg3", NULL);

	step = next(&l);
	CHECK(is_key_write(step, PGHA_SYNC_SHRINK, 0, NULL));
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_SET_NAMES);
	CHECK_STR(step.setting.text, "\"pg3\"");
	CHECK(l.setting.effective_lsn == 0);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	/* the walsenders take the new priorities */
	l.in.senders[0].priority = 0;
	l.in.senders[1].priority = 1;
	CHECK(next(&l).kind == PGHA_SYNC_STEP_MARK_IN_FORCE);
	step = next(&l);
	CHECK(is_key_write(step, PGHA_SYNC_GROW, 1, "pg3"));
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
}

/* Nothing to change: one read, one look, done; no key write. */
static void
test_steady(void)
{
	Leader		l;

	leader_init(&l, "\"pg2\"", false);
	l.setting.effective_lsn = 500;
	set_key(&l, true, 1, "PG2", NULL);	/* names compare without case */
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 1, 600);
	l.in.defined = true;
	set_pick(&l, 1, "pg2", NULL);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
	CHECK(l.in.nkey == 1);
}

/* The same set in another order is the same setting for FIRST n of n. */
static void
test_same_set(void)
{
	Leader		l;

	leader_init(&l, "2 (\"pg2\",\"pg3\")", false);
	l.setting.effective_lsn = 500;
	set_key(&l, true, 2, "pg2", "pg3");
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 1, 600);
	sender(&l, "pg3", PGHA_SYNC_SENDER_STREAMING, 2, 600);
	l.in.defined = true;
	set_pick(&l, 2, "pg3", "pg2");
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
}

/*
 * A standby that left: the key is shrunk first; without another, strict
 * mode sets '*' and the key names nobody; otherwise commits stop waiting.
 */
static void
test_no_standby(void)
{
	Leader		l;
	PgHaSyncStep step;

	leader_init(&l, "\"pg2\"", true);
	l.setting.effective_lsn = 500;
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	l.in.defined = true;
	set_pick(&l, 0, NULL, NULL);
	CHECK(is_key_write(next(&l), PGHA_SYNC_SHRINK, 0, NULL));
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_SET_NAMES && step.setting.star);
	CHECK_STR(step.setting.text, "*");
	CHECK(next(&l).kind == PGHA_SYNC_STEP_LOOK);
	CHECK(next(&l).kind == PGHA_SYNC_STEP_MARK_IN_FORCE);
	/* '*': in force, but the key never names anyone */
	CHECK(next(&l).kind == PGHA_SYNC_STEP_DONE);
	CHECK(l.in.nkey == 0);

	leader_init(&l, "\"pg2\"", false);
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	l.in.defined = true;
	CHECK(is_key_write(next(&l), PGHA_SYNC_SHRINK, 0, NULL));
	step = next(&l);
	CHECK(step.kind == PGHA_SYNC_STEP_SET_NAMES && !step.setting.star &&
		  step.setting.n == 0);
	CHECK_STR(step.setting.text, "");
}

/*
 * The key keeps only standbys PostgreSQL waits for now: one that does not
 * stream, or while the setting is not in force, leaves the key first.
 */
static void
test_shrink_rules(void)
{
	Leader		l;

	/* catching up: not waited for */
	leader_init(&l, "\"pg2\"", false);
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_CATCHUP, 1, 600);
	l.in.defined = true;
	set_pick(&l, 1, "pg2", NULL);
	CHECK(is_key_write(next(&l), PGHA_SYNC_SHRINK, 0, NULL));

	/* the checkpointer does not see the setting yet */
	leader_init(&l, "\"pg2\"", false);
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 1, 600);
	l.in.defined = false;
	set_pick(&l, 1, "pg2", NULL);
	CHECK(is_key_write(next(&l), PGHA_SYNC_SHRINK, 0, NULL));

	/* named in the key but not in the setting (set by hand meanwhile) */
	leader_init(&l, "\"pg3\"", false);
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 0, 600);
	sender(&l, "pg3", PGHA_SYNC_SENDER_STREAMING, 1, 600);
	l.in.defined = true;
	set_pick(&l, 2, "pg2", "pg3");
	CHECK(is_key_write(next(&l), PGHA_SYNC_SHRINK, 0, NULL));
	CHECK(next(&l).kind == PGHA_SYNC_STEP_SET_NAMES);

	/* no walsender shared memory: never in force */
	leader_init(&l, "\"pg2\"", false);
	set_key(&l, true, 1, "pg2", NULL);
	(void) next(&l);
	sender(&l, "pg2", PGHA_SYNC_SENDER_STREAMING, 1, 600);
	l.in.defined = true;
	l.in.have_walsenders = false;
	set_pick(&l, 1, "pg2", NULL);
	CHECK(is_key_write(next(&l), PGHA_SYNC_SHRINK, 0, NULL));
}

int
main(void)
{
	test_names();
	test_claim();
	test_new_standby();
	test_wait_over();
	test_switch_standby();
	test_steady();
	test_same_set();
	test_no_standby();
	test_shrink_rules();
	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0 ? 1 : 0;
}
