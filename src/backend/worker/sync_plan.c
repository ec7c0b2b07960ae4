/*-------------------------------------------------------------------------
 *
 * sync_plan.c
 *	  The sync plan as a pure function (see sync_plan.h).
 *
 * The promise: a standby named in the sync key has every commit the leader
 * acknowledged, so promoting only such a standby (ha_decide.c) loses none.
 * Two things must agree for that: synchronous_standby_names, which makes
 * PostgreSQL wait for a standby before it acknowledges a commit, and the
 * sync key, which says who may be promoted.  The key only ever names
 * standbys that PostgreSQL waits for and that have everything acknowledged
 * before, and it is shrunk before the setting changes.
 *
 * This file decides; it does not act.  sync.c reads the walsenders, writes
 * the key and pg_ha.conf.  Keep it free of I/O, globals and PostgreSQL
 * calls: the unit tests link it alone.
 *
 *-------------------------------------------------------------------------
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>

#include "sync_plan.h"
#include "names.h"

/* as pg_strcasecmp for the names pg_ha accepts (ASCII) */
static bool
same_name(const char *a, const char *b)
{
	for (;; a++, b++)
	{
		unsigned char ca = (unsigned char) *a;
		unsigned char cb = (unsigned char) *b;

		if (ca >= 'A' && ca <= 'Z')
			ca += 'a' - 'A';
		if (cb >= 'A' && cb <= 'Z')
			cb += 'a' - 'A';
		if (ca != cb)
			return false;
		if (ca == '\0')
			return true;
	}
}

static bool
names_contain(const char (*names)[PGHA_NAME_LEN], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (same_name(names[i], name))
			return true;
	return false;
}

static bool
same_names(const char (*a)[PGHA_NAME_LEN], int na,
		   const char (*b)[PGHA_NAME_LEN], int nb)
{
	if (na != nb)
		return false;
	for (int i = 0; i < na; i++)
		if (!names_contain(b, nb, a[i]))
			return false;
	return true;
}

static void
copy_name(char *dst, const char *src)
{
	snprintf(dst, PGHA_NAME_LEN, "%s", src);
}

/* ----- synchronous_standby_names */

void
pgha_sync_names_format(PgHaSyncNames *s)
{
	size_t		off = 0;

	if (s->star)
	{
		snprintf(s->text, sizeof(s->text), "*");
		return;
	}
	s->text[0] = '\0';
	if (s->n > 1)
		off = snprintf(s->text, sizeof(s->text), "%d (", s->n);
	for (int i = 0; i < s->n; i++)
		off += snprintf(s->text + off, sizeof(s->text) - off, "%s\"%s\"",
						i > 0 ? "," : "", s->names[i]);
	if (s->n > 1)
		snprintf(s->text + off, sizeof(s->text) - off, ")");
}

void
pgha_sync_names_parse(const char *text, PgHaSyncNames *s)
{
	char		buf[PGHA_SYNC_NAMES_LEN];
	char	   *p = buf;
	char	   *end;

	memset(s, 0, sizeof(*s));
	snprintf(s->text, sizeof(s->text), "%s", text ? text : "");
	snprintf(buf, sizeof(buf), "%s", s->text);
	while (*p == ' ')
		p++;
	if (*p == '\0')
		return;
	if (strcmp(p, "*") == 0)
	{
		s->star = true;
		return;
	}
	if (isdigit((unsigned char) *p))
	{
		while (isdigit((unsigned char) *p))
			p++;
		while (*p == ' ')
			p++;
		if (*p != '(' || (end = strrchr(p, ')')) == NULL)
			return;
		p++;
		*end = '\0';
	}
	while (*p != '\0' && s->n < PGHA_MAX_SYNC)
	{
		char	   *comma = strchr(p, ',');
		char	   *name;
		size_t		len;

		if (comma)
			*comma = '\0';
		while (*p == ' ')
			p++;
		name = p;
		len = strlen(name);
		while (len > 0 && name[len - 1] == ' ')
			name[--len] = '\0';
		if (len >= 2 && name[0] == '"' && name[len - 1] == '"')
		{
			name[len - 1] = '\0';
			name++;
		}
		if (!pgha_valid_name(name))
		{
			s->n = 0;			/* not ours */
			return;
		}
		copy_name(s->names[s->n++], name);
		if (!comma)
			break;
		p = comma + 1;
	}
}

/* ----- the walsenders against the setting */

/*
 * Is the setting in force: the checkpointer has seen whether it names
 * anyone, and every walsender has the priority it gives it?
 */
static bool
in_force(const PgHaSyncInput *in)
{
	const PgHaSyncNames *cur = &in->setting->names;

	if (!in->have_walsenders)
		return false;
	if (in->defined != (cur->star || cur->n > 0))
		return false;
	for (int i = 0; i < in->nsenders; i++)
	{
		const PgHaSyncSender *s = &in->senders[i];
		int			want = 0;

		if (s->state == PGHA_SYNC_SENDER_OTHER)
			continue;
		if (cur->star)
			want = 1;
		else
			for (int j = 0; j < cur->n; j++)
				if (same_name(cur->names[j], s->name))
				{
					want = j + 1;
					break;
				}
		if (s->priority != want)
			return false;
	}
	return true;
}

/* The streaming walsender of name that PostgreSQL waits for, or NULL. */
static const PgHaSyncSender *
waited_for(const PgHaSyncInput *in, const char *name)
{
	for (int i = 0; i < in->nsenders; i++)
	{
		const PgHaSyncSender *s = &in->senders[i];

		if (s->state == PGHA_SYNC_SENDER_STREAMING && s->priority > 0 &&
			same_name(s->name, name))
			return s;
	}
	return NULL;
}

/* Has every standby picked flushed what the leader had when in force? */
static bool
picked_caught_up(const PgHaSyncInput *in)
{
	for (int i = 0; i < in->npick; i++)
	{
		const PgHaSyncSender *s = waited_for(in, in->pick[i]);

		if (s == NULL || s->flush < in->setting->effective_lsn)
			return false;
	}
	return true;
}

/* No standby may be synchronous, and strict mode: '*' */
static bool
want_star(const PgHaSyncInput *in)
{
	return in->npick == 0 && in->strict;
}

/* ----- the steps */

static void
write_key(PgHaSyncStep *step, PgHaSyncPhase why,
		  const char (*names)[PGHA_NAME_LEN], int n)
{
	step->kind = PGHA_SYNC_STEP_WRITE_KEY;
	step->phase = why;
	step->n = n;
	for (int i = 0; i < n; i++)
		copy_name(step->names[i], names[i]);
}

/* 1. the names of the key that stay waited for: picked, set, in force */
static bool
shrink(const PgHaSyncInput *in, PgHaSyncStep *step)
{
	const PgHaSyncNames *cur = &in->setting->names;
	char		keep[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	int			nkeep = 0;

	for (int i = 0; i < in->nkey; i++)
		if (names_contain(in->pick, in->npick, in->key[i]) &&
			names_contain(cur->names, cur->n, in->key[i]) &&
			in_force(in) &&
			waited_for(in, in->key[i]) != NULL)
			copy_name(keep[nkeep++], in->key[i]);
	if (nkeep == in->nkey)
		return false;
	write_key(step, PGHA_SYNC_SHRINK, keep, nkeep);
	return true;
}

/* 2. the setting: the standbys picked, or '*' (strict), or none */
static bool
set_names(const PgHaSyncInput *in, PgHaSyncStep *step)
{
	const PgHaSyncNames *cur = &in->setting->names;
	PgHaSyncNames want;
	bool		star = want_star(in);

	memset(&want, 0, sizeof(want));
	want.star = star;
	want.n = star ? 0 : in->npick;
	for (int i = 0; i < want.n; i++)
		copy_name(want.names[i], in->pick[i]);
	pgha_sync_names_format(&want);
	if (strcmp(want.text, cur->text) == 0)
		return false;
	/* the same set in another order is the same for FIRST n of n */
	if (!star && !cur->star && cur->n > 0 &&
		same_names(in->pick, in->npick, cur->names, cur->n))
		return false;
	step->kind = PGHA_SYNC_STEP_SET_NAMES;
	step->setting = want;
	step->phase = PGHA_SYNC_SET;
	return true;
}

/*
 * 3. the wait: true with a step to take, false once it is over (the phase
 * then says what follows).
 */
static bool
wait_step(PgHaSyncRound *round, const PgHaSyncInput *in, PgHaSyncStep *step)
{
	bool		forced;

	step->phase = PGHA_SYNC_WAIT;
	if (!round->looked)
	{
		round->looked = true;
		step->kind = PGHA_SYNC_STEP_LOOK;
		step->first = true;
		return true;
	}
	forced = in_force(in);
	if (forced && in->setting->effective_lsn == 0)
	{
		step->kind = PGHA_SYNC_STEP_MARK_IN_FORCE;
		return true;
	}
	if (forced && picked_caught_up(in))
	{
		round->phase = want_star(in) ? PGHA_SYNC_DONE : PGHA_SYNC_GROW;
		return false;
	}
	if (in->wait_over)
	{
		round->phase = forced && !want_star(in) ? PGHA_SYNC_GROW : PGHA_SYNC_DONE;
		return false;
	}
	step->kind = PGHA_SYNC_STEP_LOOK;
	return true;
}

/* 4. the key names the new standbys, waited for and caught up */
static bool
grow(const PgHaSyncInput *in, PgHaSyncStep *step)
{
	const PgHaSyncNames *cur = &in->setting->names;
	char		names[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	int			n = in->nkey;

	for (int i = 0; i < n; i++)
		copy_name(names[i], in->key[i]);
	for (int i = 0; i < in->npick; i++)
	{
		const PgHaSyncSender *s = waited_for(in, in->pick[i]);

		if (!names_contain(names, n, in->pick[i]) &&
			names_contain(cur->names, cur->n, in->pick[i]) &&
			s != NULL && s->flush >= in->setting->effective_lsn)
			copy_name(names[n++], in->pick[i]);
	}
	if (n == in->nkey)
		return false;
	write_key(step, PGHA_SYNC_GROW, names, n);
	return true;
}

void
pgha_sync_plan_next(PgHaSyncRound *round, const PgHaSyncInput *in,
					PgHaSyncStep *step)
{
	memset(step, 0, sizeof(*step));
	for (;;)
	{
		switch (round->phase)
		{
			case PGHA_SYNC_CLAIM:
				round->phase = PGHA_SYNC_READ;
				if (!in->key_ours)
				{
					/* we take writes: the key must name us first */
					write_key(step, PGHA_SYNC_CLAIM, NULL, 0);
					return;
				}
				break;
			case PGHA_SYNC_READ:
				round->phase = PGHA_SYNC_SHRINK;
				step->kind = PGHA_SYNC_STEP_READ;
				step->phase = PGHA_SYNC_READ;
				return;
			case PGHA_SYNC_SHRINK:
				round->phase = PGHA_SYNC_SET;
				if (shrink(in, step))
					return;
				break;
			case PGHA_SYNC_SET:
				round->phase = PGHA_SYNC_WAIT;
				round->looked = false;
				if (set_names(in, step))
					return;
				break;
			case PGHA_SYNC_WAIT:
				if (wait_step(round, in, step))
					return;
				break;
			case PGHA_SYNC_GROW:
				round->phase = PGHA_SYNC_DONE;
				if (grow(in, step))
					return;
				break;
			case PGHA_SYNC_DONE:
				step->kind = PGHA_SYNC_STEP_DONE;
				step->phase = PGHA_SYNC_DONE;
				return;
		}
	}
}
