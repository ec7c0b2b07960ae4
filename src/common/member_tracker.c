/*-------------------------------------------------------------------------
 *
 * member_tracker.c
 *	  Which members stopped, from one read of the cluster to the next
 *	  (member_tracker.h).
 *
 * What this file is not for: writing the stopped records (the HA
 * worker's member_record.c) or their JSON (member.c).
 *
 * src/common/member_tracker.c
 *
 *-------------------------------------------------------------------------
 */
#include "member_tracker.h"
#include "cluster.h"

#include <string.h>

/* index of name in t->seen, or -1 */
static int
tracker_find(const PgHaMemberTracker *t, const char *name)
{
	for (int i = 0; i < t->n; i++)
		if (strncmp(t->seen[i].last.name, name, PGHA_NAME_LEN) == 0)
			return i;
	return -1;
}

static void
tracker_remove(PgHaMemberTracker *t, int i)
{
	t->n--;
	if (i < t->n)
		memmove(&t->seen[i], &t->seen[i + 1], sizeof(t->seen[0]) * (t->n - i));
}

void
pgha_track_forget(PgHaMemberTracker *t, const char *name)
{
	int			i;

	if (t == NULL || name == NULL)
		return;
	if ((i = tracker_find(t, name)) >= 0)
		tracker_remove(t, i);
}

int
pgha_track_members(PgHaMemberTracker *t, const PgHaCluster *c,
				   const char *self, int64_t now_ms, int64_t now_epoch_ms,
				   int64_t forget_after_ms, int *due)
{
	int			nmembers;
	int			ndue = 0;
	const int	cap = (int) (sizeof(t->seen) / sizeof(t->seen[0]));

	if (t == NULL || c == NULL || due == NULL)
		return 0;
	if (t->n < 0 || t->n > cap)
		t->n = 0;
	nmembers = c->nmembers < PGHA_MAX_MEMBERS ? c->nmembers : PGHA_MAX_MEMBERS;

	/* the live ones: remember their last record */
	for (int k = 0; k < nmembers; k++)
	{
		const PgHaMember *m = &c->members[k];
		int			i;

		if (self != NULL && strncmp(m->name, self, PGHA_NAME_LEN) == 0)
			continue;
		if ((i = tracker_find(t, m->name)) < 0)
		{
			if (t->n == cap)
			{
				/* full of gone ones (live ones are at most 32): the oldest goes */
				int			oldest = -1;

				for (int j = 0; j < t->n; j++)
					if (t->seen[j].gone &&
						(oldest < 0 || t->seen[j].gone_since_ms < t->seen[oldest].gone_since_ms))
						oldest = j;
				if (oldest < 0)
					continue;
				tracker_remove(t, oldest);
			}
			i = t->n++;
		}
		t->seen[i].last = *m;
		t->seen[i].last_seen_ms = now_epoch_ms;
		t->seen[i].gone = false;
		t->seen[i].gone_since_ms = 0;
	}

	/* the others vanished: due until a stopped record says so, or forgotten */
	for (int i = 0; i < t->n;)
	{
		PgHaSeenMember *s = &t->seen[i];

		if (pgha_find_member(c, s->last.name) != NULL)
		{
			i++;
			continue;
		}
		if (pgha_find_stopped_member(c, s->last.name) != NULL)
		{
			tracker_remove(t, i);
			continue;
		}
		if (!s->gone)
		{
			s->gone = true;
			s->gone_since_ms = now_ms;
		}
		else if (now_ms - s->gone_since_ms > forget_after_ms)
		{
			tracker_remove(t, i);
			continue;
		}
		due[ndue++] = i;
		i++;
	}
	return ndue;
}
