/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Synchronous mode on the leader (see sync.h).
 *
 * The promise: a standby named in the sync key has every commit the leader
 * acknowledged, so promoting only such a standby (ha_decide.c) loses none.
 * Two things must agree for that: synchronous_standby_names, which makes
 * PostgreSQL wait for a standby before it acknowledges a commit, and the
 * sync key, which says who may be promoted.  They change in this order:
 *
 *	1. remove from the key every standby that is about to stop being waited
 *	   for (or no longer is): while it is named, PostgreSQL still waits;
 *	2. change synchronous_standby_names in pg_ha.conf and reload;
 *	3. once every walsender and the checkpointer run with the new setting
 *	   (their sync_standby_priority and the "defined" flag in shared memory
 *	   say so) and the new standby has flushed the leader's WAL up to where
 *	   it was at that moment, add it to the key.
 *
 * So the key only ever names standbys that PostgreSQL waits for and that
 * have everything acknowledged before, and it is shrunk before the setting.
 * Every key write is a check-and-set on the sync key's ModifyIndex.
 *
 * What this file is not for: deciding who may take over (ha_decide.c) or
 * parsing the key (cluster.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xlog.h"
#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "replication/syncrep.h"
#include "replication/walsender.h"
#include "replication/walsender_private.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "storage/spin.h"
#include "utils/backend_status.h"

#include "api.h"
#include "cluster.h"
#include "dcs.h"
#include "ha_decide.h"
#include "node_ctl.h"
#include "pg_ha.h"
#include "state.h"
#include "sync.h"

#define SSN_LEN		(PGHA_MAX_SYNC * (PGHA_NAME_LEN + 3) + 16)
#define MAX_SENDERS	64

/* What pg_ha.conf sets synchronous_standby_names to, and since when. */
typedef struct SyncNames
{
	bool		known;			/* initialized (from the GUC at first) */
	bool		star;			/* '*': any standby */
	int			n;
	char		names[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	char		text[SSN_LEN];	/* the value as written */
	XLogRecPtr	effective_lsn;	/* WAL flushed when it was seen in force */
} SyncNames;

static SyncNames cur;

/* One walsender, from shared memory. */
typedef struct Sender
{
	char		name[PGHA_NAME_LEN];	/* application_name */
	WalSndState state;
	int			priority;
	XLogRecPtr	flush;
} Sender;

static char last_complaint[PGHA_ERR_LEN];

static void
complain(const char *fmt,...)
pg_attribute_printf(1, 2);

static void
complain(const char *fmt,...)
{
	char		msg[PGHA_ERR_LEN];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	/* each round would repeat it: say it when it changes */
	if (strcmp(msg, last_complaint) != 0)
		ereport(WARNING, (errmsg("pg_ha: synchronous mode: %s", msg)));
	strlcpy(last_complaint, msg, sizeof(last_complaint));
}

/* ----- synchronous_standby_names */

static void
format_names(SyncNames *s)
{
	size_t		off = 0;

	if (s->star)
	{
		strlcpy(s->text, "*", sizeof(s->text));
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

/*
 * Read back a value this file wrote ("", "*", "\"a\"", "2 (\"a\",\"b\")").
 * Another value (set by hand in postgresql.conf) gives no names: it is
 * replaced at the leader's next round.
 */
static void
parse_names(const char *text, SyncNames *s)
{
	char		buf[SSN_LEN];
	char	   *p = buf;
	char	   *end;

	memset(s, 0, sizeof(*s));
	s->known = true;
	strlcpy(s->text, text ? text : "", sizeof(s->text));
	strlcpy(buf, s->text, sizeof(buf));
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
		strlcpy(s->names[s->n++], name, PGHA_NAME_LEN);
		if (!comma)
			break;
		p = comma + 1;
	}
}

static void
init_current(void)
{
	if (!cur.known)
		parse_names(SyncRepStandbyNames, &cur);
}

static bool
names_contain(const char (*names)[PGHA_NAME_LEN], int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (pg_strcasecmp(names[i], name) == 0)
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

const char *
pgha_sync_standby_names(const PgHaCluster *cluster)
{
	/* a config key we cannot read changes nothing */
	if (cluster->has_config && !cluster->config_valid)
		return cur.known ? cur.text : NULL;
	if (!cluster->sync_mode)
	{
		cur.known = false;
		return NULL;
	}
	init_current();
	return cur.text;
}

/* ----- the walsenders */

static int
read_senders(Sender *out, int max)
{
	int			n = 0;
	int			nbackends;

	if (WalSndCtl == NULL || max_wal_senders <= 0)
		return 0;
	pgstat_clear_backend_activity_snapshot();
	nbackends = pgstat_fetch_stat_numbackends();
	for (int i = 0; i < max_wal_senders && n < max; i++)
	{
		WalSnd	   *walsnd = &WalSndCtl->walsnds[i];
		pid_t		pid;
		Sender	   *s = &out[n];

		SpinLockAcquire(&walsnd->mutex);
		pid = walsnd->pid;
		s->state = walsnd->state;
		s->priority = walsnd->sync_standby_priority;
		s->flush = walsnd->flush;
		SpinLockRelease(&walsnd->mutex);
		if (pid == 0)
			continue;
		s->name[0] = '\0';
		for (int b = 1; b <= nbackends; b++)
		{
			LocalPgBackendStatus *local = pgstat_fetch_stat_local_beentry(b);

			if (local != NULL && local->backendStatus.st_procpid == pid)
			{
				if (local->backendStatus.st_appname != NULL)
					strlcpy(s->name, local->backendStatus.st_appname,
							sizeof(s->name));
				break;
			}
		}
		n++;
	}
	pgstat_clear_backend_activity_snapshot();
	return n;
}

int
pgha_read_standbys(HaSyncCandidate *out, int max)
{
	Sender	   *senders = palloc(sizeof(Sender) * MAX_SENDERS);
	int			nsenders = read_senders(senders, MAX_SENDERS);
	int			n = 0;

	for (int i = 0; i < nsenders && n < max; i++)
	{
		if (senders[i].name[0] == '\0')
			continue;
		strlcpy(out[n].name, senders[i].name, sizeof(out[n].name));
		out[n].streaming = senders[i].state == WALSNDSTATE_STREAMING;
		out[n].flush = (int64_t) senders[i].flush;
		n++;
	}
	pfree(senders);
	return n;
}

void
pgha_apply_live_positions(PgHaCluster *cluster)
{
	HaSyncCandidate *standbys;
	int			n;

	if (RecoveryInProgress())
		return;
	standbys = palloc(sizeof(HaSyncCandidate) * PGHA_MAX_MEMBERS);
	n = pgha_read_standbys(standbys, PGHA_MAX_MEMBERS);
	ha_apply_live_positions(cluster, pg_ha_node_name,
							(int64_t) GetXLogInsertRecPtr(), standbys, n);
	pfree(standbys);
}

static bool
standbys_defined(void)
{
#ifdef SYNC_STANDBY_DEFINED
	return (((volatile WalSndCtlData *) WalSndCtl)->sync_standbys_status &
			SYNC_STANDBY_DEFINED) != 0;
#else
	return ((volatile WalSndCtlData *) WalSndCtl)->sync_standbys_defined;
#endif
}

/*
 * Is the current setting in force: the checkpointer has seen whether it
 * names anyone, and every walsender has the priority it gives it?
 */
static bool
in_force(const Sender *senders, int n)
{
	if (WalSndCtl == NULL)
		return false;
	if (standbys_defined() != (cur.star || cur.n > 0))
		return false;
	for (int i = 0; i < n; i++)
	{
		int			want = 0;

		if (senders[i].state != WALSNDSTATE_STREAMING &&
			senders[i].state != WALSNDSTATE_CATCHUP)
			continue;
		if (cur.star)
			want = 1;
		else
			for (int j = 0; j < cur.n; j++)
				if (pg_strcasecmp(cur.names[j], senders[i].name) == 0)
				{
					want = j + 1;
					break;
				}
		if (senders[i].priority != want)
			return false;
	}
	return true;
}

/* The streaming walsender of name that PostgreSQL waits for, or NULL. */
static const Sender *
waited_for(const Sender *senders, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (senders[i].state == WALSNDSTATE_STREAMING &&
			senders[i].priority > 0 &&
			pg_strcasecmp(senders[i].name, name) == 0)
			return &senders[i];
	return NULL;
}

/* ----- the sync key */

typedef struct SyncKey
{
	char	   *key;
	bool		exists;
	uint64		index;
	int			n;
	char		names[PGHA_MAX_SYNC][PGHA_NAME_LEN];
} SyncKey;

/* Write {leader: us, sync_standby: names} with check-and-set. */
static bool
write_key(SyncKey *k, const char (*names)[PGHA_NAME_LEN], int n)
{
	char		json[PGHA_MAX_SYNC * PGHA_NAME_LEN + 64];
	char		query[64];
	char		err[PGHA_ERR_LEN];
	bool		done = false;
	char	   *value;
	bool		found;

	if (pgha_sync_json(pg_ha_node_name, names, n, json, sizeof(json)) < 0)
		return false;
	snprintf(query, sizeof(query), "cas=" UINT64_FORMAT, k->exists ? k->index : 0);
	if (!dcs_kv_put(k->key, json, query, &done, err, sizeof(err)))
	{
		complain("could not write the sync key: %s", err);
		return false;
	}
	if (!done)
	{
		ereport(LOG,
				(errmsg("pg_ha: the sync key changed meanwhile; looking again at the next round")));
		return false;
	}
	/* the next check-and-set needs the new index */
	if (!dcs_kv_get_raw(k->key, &value, &k->index, &found, err, sizeof(err)) || !found)
		k->exists = false;
	else
		k->exists = true;
	k->n = n;
	if (n > 0)
		memcpy(k->names, names, sizeof(k->names[0]) * n);
	last_complaint[0] = '\0';
	return k->exists;
}

static const char *
names_text(const char (*names)[PGHA_NAME_LEN], int n)
{
	StringInfoData buf;

	if (n == 0)
		return "none";
	initStringInfo(&buf);
	for (int i = 0; i < n; i++)
		appendStringInfo(&buf, "%s\"%s\"", i > 0 ? ", " : "", names[i]);
	return buf.data;
}

/* Synchronous mode off: no setting of ours, no sync key. */
static void
sync_off(const PgHaCluster *c)
{
	char		query[64];
	char		err[PGHA_ERR_LEN];
	bool		done;

	cur.known = false;
	if (!c->sync_key_exists)
		return;
	snprintf(query, sizeof(query), "cas=" UINT64_FORMAT, (uint64) c->sync_modify_index);
	if (!dcs_kv_delete(dcs_cluster_key("sync"), query, &done, err, sizeof(err)))
		complain("could not remove the sync key: %s", err);
	else if (done)
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode is off: removed the sync key; replication is asynchronous")));
}

/*
 * A short pause of the round.  Postmaster death ends it: the main loop then
 * frees the leader key at once (it must not exit from here).
 */
static bool
pause_ms(long ms)
{
	int			rc = pgha_api_wait(WL_TIMEOUT | WL_POSTMASTER_DEATH, ms,
								   PG_WAIT_EXTENSION);

	return (rc & WL_POSTMASTER_DEATH) == 0;
}

/* Wait (bounded) until the setting is in force and the standbys caught up. */
static bool
wait_in_force(Sender *senders, int *nsenders, const char (*want)[PGHA_NAME_LEN],
			  int nwant)
{
	int			loop_wait = pgha_shared->loop_wait_ms > 0 ? pgha_shared->loop_wait_ms : 1000;
	int64		deadline = pgha_monotonic_ms() + Max(Min(1000, loop_wait / 2), 100);

	for (;;)
	{
		bool		all = true;

		*nsenders = read_senders(senders, MAX_SENDERS);
		if (in_force(senders, *nsenders))
		{
			if (cur.effective_lsn == InvalidXLogRecPtr)
				cur.effective_lsn = GetFlushRecPtr(NULL);
			for (int i = 0; i < nwant; i++)
			{
				const Sender *s = waited_for(senders, *nsenders, want[i]);

				if (s == NULL || s->flush < cur.effective_lsn)
					all = false;
			}
			if (all)
				return true;
		}
		if (pgha_monotonic_ms() >= deadline || !pause_ms(20))
			return in_force(senders, *nsenders);
	}
}

void
pgha_sync_leader_round(const PgHaCluster *c)
{
	SyncKey		k;
	Sender	   *senders = palloc(sizeof(Sender) * MAX_SENDERS);
	HaSyncCandidate *cands = palloc(sizeof(HaSyncCandidate) * MAX_SENDERS);
	int			nsenders;
	char		pick[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	int			npick;
	char		keep[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	int			nkeep = 0;
	bool		star;
	SyncNames	want;

	if (c->has_config && !c->config_valid)
		return;					/* cannot tell: change nothing */
	if (!c->sync_mode)
	{
		sync_off(c);
		return;
	}
	init_current();

	k.key = dcs_cluster_key("sync");
	k.exists = c->sync_key_exists;
	k.index = c->sync_modify_index;
	k.n = 0;
	if (c->has_sync && strcmp(c->sync_leader, pg_ha_node_name) == 0)
	{
		k.n = Min(c->nsync, PGHA_MAX_SYNC);
		if (k.n > 0)
			memcpy(k.names, c->sync_standby, sizeof(k.names[0]) * k.n);
	}
	else
	{
		/* the key must name us: we take writes */
		if (!write_key(&k, NULL, 0))
			return;
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: the sync key names leader \"%s\" and no synchronous standby yet",
						pg_ha_node_name)));
	}

	/* whom do we want? */
	nsenders = read_senders(senders, MAX_SENDERS);
	for (int i = 0; i < nsenders; i++)
	{
		strlcpy(cands[i].name, senders[i].name, sizeof(cands[i].name));
		cands[i].streaming = senders[i].state == WALSNDSTATE_STREAMING;
		cands[i].flush = (int64_t) senders[i].flush;
	}
	npick = ha_pick_sync_standbys(cands, nsenders, c, pg_ha_node_name, pick);

	/*
	 * Walsenders end when the postmaster dies: a standby gone because our
	 * own server died must not leave the key, or it could not take over.
	 * Checked after the walsenders were read, so a death before the read
	 * is seen here; on the death pipe itself, since the death signal's flag
	 * that PostmasterIsAlive() trusts first may not be set yet.
	 */
	if (!PostmasterIsAliveInternal())
		return;

	/* 1. the key first loses whoever will not (or does not) stay waited for */
	for (int i = 0; i < k.n; i++)
		if (names_contain(pick, npick, k.names[i]) &&
			names_contain(cur.names, cur.n, k.names[i]) &&
			in_force(senders, nsenders) &&
			waited_for(senders, nsenders, k.names[i]) != NULL)
			strlcpy(keep[nkeep++], k.names[i], PGHA_NAME_LEN);
	if (nkeep != k.n)
	{
		if (!write_key(&k, keep, nkeep))
			return;
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: synchronous standby now %s (was %s)",
						names_text(keep, nkeep), names_text(c->sync_standby, c->nsync))));
	}

	/* 2. then the setting: the picked standbys, or '*' (strict), or none */
	star = npick == 0 && c->sync_mode_strict;
	memset(&want, 0, sizeof(want));
	want.known = true;
	want.star = star;
	want.n = star ? 0 : npick;
	if (want.n > 0)
		memcpy(want.names, pick, sizeof(want.names[0]) * want.n);
	format_names(&want);
	/* the same set in another order is the same for FIRST n of n */
	if (strcmp(want.text, cur.text) != 0 &&
		!(!star && !cur.star && cur.n > 0 && same_names(pick, npick, cur.names, cur.n)))
	{
		cur = want;
		cur.effective_lsn = InvalidXLogRecPtr;
		(void) pgha_write_managed_conf(NULL, c);
		if (star)
			ereport(WARNING,
					(errmsg("pg_ha: synchronous mode: no standby may be synchronous; synchronous_standby_names = '*' (strict mode): commits wait for a standby")));
		else if (npick == 0)
			ereport(LOG,
					(errmsg("pg_ha: synchronous mode: no standby may be synchronous; commits do not wait (synchronous_mode_strict is off)")));
		else
			ereport(LOG,
					(errmsg("pg_ha: synchronous mode: synchronous_standby_names = '%s'", cur.text)));
	}

	/* 3. once in force and caught up, the key names the new standbys */
	if (!wait_in_force(senders, &nsenders, pick, npick) || star)
		return;
	{
		char		grow[PGHA_MAX_SYNC][PGHA_NAME_LEN];
		int			ngrow = k.n;

		if (k.n > 0)
			memcpy(grow, k.names, sizeof(grow[0]) * k.n);
		for (int i = 0; i < npick; i++)
		{
			const Sender *s = waited_for(senders, nsenders, pick[i]);

			if (!names_contain(grow, ngrow, pick[i]) &&
				names_contain(cur.names, cur.n, pick[i]) &&
				s != NULL && s->flush >= cur.effective_lsn)
				strlcpy(grow[ngrow++], pick[i], PGHA_NAME_LEN);
		}
		if (ngrow != k.n)
		{
			char		was[PGHA_MAX_SYNC][PGHA_NAME_LEN];
			int			nwas = k.n;

			if (k.n > 0)
				memcpy(was, k.names, sizeof(was[0]) * k.n);
			if (write_key(&k, grow, ngrow))
				ereport(LOG,
						(errmsg("pg_ha: synchronous mode: synchronous standby now %s (was %s)",
								names_text(grow, ngrow), names_text(was, nwas))));
		}
	}
}

bool
pgha_sync_before_promote(const PgHaCluster *c)
{
	SyncKey		k;
	int64		deadline;

	if ((c->has_config && !c->config_valid) || !c->sync_mode)
		return true;

	/*
	 * From now on we take writes that no standby has: the key must say so
	 * before we do, or a standby of the old leader could be promoted after
	 * us and lose them.  Somebody else changing the key meanwhile (we may
	 * have lost the lock) postpones the promotion.
	 */
	if (!(c->has_sync && strcmp(c->sync_leader, pg_ha_node_name) == 0 && c->nsync == 0))
	{
		k.key = dcs_cluster_key("sync");
		k.exists = c->sync_key_exists;
		k.index = c->sync_modify_index;
		k.n = 0;
		if (!write_key(&k, NULL, 0))
			return false;
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: the sync key names leader \"%s\" and no synchronous standby before the promotion",
						pg_ha_node_name)));
	}

	/* strict: no commit without a standby, from the first one on */
	memset(&cur, 0, sizeof(cur));
	cur.known = true;
	cur.star = c->sync_mode_strict;
	format_names(&cur);
	(void) pgha_write_managed_conf(NULL, c);
	deadline = pgha_monotonic_ms() + 1000;
	while (WalSndCtl != NULL && standbys_defined() != cur.star)
	{
		/* the checkpointer has not reloaded yet: next round */
		if (pgha_monotonic_ms() >= deadline || !pause_ms(20))
			return false;
	}
	return true;
}
