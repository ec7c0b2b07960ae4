/*-------------------------------------------------------------------------
 *
 * sync.c
 *	  Synchronous mode on the leader (see sync.h).
 *
 * The order of the changes that never loses an acknowledged commit is the
 * sync plan's (sync_plan.c, a pure function): this file gathers its inputs
 * (the sync key, the walsenders, the standbys ha_pick_sync_standbys picks)
 * and carries out each step it returns: a check-and-set write of the sync
 * key on its ModifyIndex, synchronous_standby_names into pg_ha.conf
 * (conf_file.c), a short pause.  The pauses keep answering the REST API
 * (worker_wait.c).
 *
 * What this file is not for: deciding who may take over (ha_decide.c),
 * parsing the key (cluster.c) or writing pg_ha.conf (conf_file.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "storage/latch.h"
#include "storage/pmsignal.h"
#include "utils/wait_event.h"

#include "cluster.h"
#include "conf_file.h"
#include "dcs.h"
#include "ha_decide.h"
#include "local_state.h"
#include "settings.h"
#include "state.h"
#include "sync.h"
#include "sync_key.h"
#include "sync_plan.h"
#include "worker_wait.h"

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

/* ----- the walsenders, as the plan and ha_pick_sync_standbys see them */

static void
read_senders(PgHaSyncInput *in)
{
	PgHaWalSender *senders = palloc(sizeof(PgHaWalSender) * PGHA_SYNC_MAX_SENDERS);

	in->nsenders = pgha_read_walsenders(senders, PGHA_SYNC_MAX_SENDERS, false);
	for (int i = 0; i < in->nsenders; i++)
	{
		PgHaSyncSender *s = &in->senders[i];

		strlcpy(s->name, senders[i].application_name, sizeof(s->name));
		s->state = senders[i].state == WALSNDSTATE_STREAMING ? PGHA_SYNC_SENDER_STREAMING :
			senders[i].state == WALSNDSTATE_CATCHUP ? PGHA_SYNC_SENDER_CATCHUP :
			PGHA_SYNC_SENDER_OTHER;
		s->priority = senders[i].sync_priority;
		s->flush = (int64_t) senders[i].flush;
	}
	pfree(senders);
	in->have_walsenders = pgha_walsenders_exist();
	in->defined = in->have_walsenders && pgha_sync_standbys_defined();
}

static void
pick_standbys(PgHaSyncInput *in, const PgHaCluster *c)
{
	HaSyncCandidate *cands = palloc(sizeof(HaSyncCandidate) * PGHA_SYNC_MAX_SENDERS);

	for (int i = 0; i < in->nsenders; i++)
	{
		strlcpy(cands[i].name, in->senders[i].name, sizeof(cands[i].name));
		cands[i].streaming = in->senders[i].state == PGHA_SYNC_SENDER_STREAMING;
		cands[i].flush = in->senders[i].flush;
	}
	in->npick = ha_pick_sync_standbys(cands, in->nsenders, c, pg_ha_node_name,
									  in->pick);
	pfree(cands);
}

/* ----- the sync key */

typedef struct SyncKey
{
	char	   *key;
	bool		exists;
	uint64		index;
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

	pgha_conf_forget_sync_names();
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
	int			rc = pgha_worker_wait(WL_TIMEOUT | WL_POSTMASTER_DEATH, ms,
									  PG_WAIT_EXTENSION);

	return (rc & WL_POSTMASTER_DEATH) == 0;
}

/* The bound of the wait for the setting to take force (step 3). */
static int64
wait_deadline(void)
{
	int			loop_wait = pgha_shared->loop_wait_ms > 0 ? pgha_shared->loop_wait_ms : 1000;

	return pgha_monotonic_ms() + Max(Min(1000, loop_wait / 2), 100);
}

/* A key written: in says so, and the log says who is synchronous now. */
static void
key_written(PgHaSyncInput *in, const PgHaSyncStep *step)
{
	if (step->phase == PGHA_SYNC_CLAIM)
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: the sync key names leader \"%s\" and no synchronous standby yet",
						pg_ha_node_name)));
	else
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: synchronous standby now %s (was %s)",
						names_text(step->names, step->n),
						names_text(in->key, in->nkey))));
	in->key_ours = true;
	in->nkey = step->n;
	if (step->n > 0)
		memcpy(in->key, step->names, sizeof(in->key[0]) * step->n);
}

static void
names_set(const PgHaSyncNames *names, const PgHaCluster *c)
{
	pgha_conf_set_sync_names(names, c);
	if (names->star)
		ereport(WARNING,
				(errmsg("pg_ha: synchronous mode: no standby may be synchronous; synchronous_standby_names = '*' (strict mode): commits wait for a standby")));
	else if (names->n == 0)
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: no standby may be synchronous; commits do not wait (synchronous_mode_strict is off)")));
	else
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: synchronous_standby_names = '%s'", names->text)));
}

void
pgha_sync_leader_round(const PgHaCluster *c)
{
	PgHaSyncInput *in;
	PgHaSyncRound round;
	PgHaSyncStep step;
	SyncKey		k;
	int64		deadline = 0;

	if (c->has_config && !c->config_valid)
		return;					/* cannot tell: change nothing */
	if (!c->sync_mode)
	{
		sync_off(c);
		return;
	}

	in = palloc0(sizeof(PgHaSyncInput));
	in->setting = pgha_conf_sync_setting();
	in->strict = c->sync_mode_strict;
	k.key = dcs_cluster_key("sync");
	k.exists = c->sync_key_exists;
	k.index = c->sync_modify_index;
	if (c->has_sync && strcmp(c->sync_leader, pg_ha_node_name) == 0)
	{
		in->key_ours = true;
		in->nkey = Min(c->nsync, PGHA_MAX_SYNC);
		if (in->nkey > 0)
			memcpy(in->key, c->sync_standby, sizeof(in->key[0]) * in->nkey);
	}

	memset(&round, 0, sizeof(round));
	round.phase = PGHA_SYNC_CLAIM;
	for (;;)
	{
		pgha_sync_plan_next(&round, in, &step);
		switch (step.kind)
		{
			case PGHA_SYNC_STEP_WRITE_KEY:
				if (!write_key(&k, step.names, step.n))
					return;
				key_written(in, &step);
				break;
			case PGHA_SYNC_STEP_READ:
				read_senders(in);
				pick_standbys(in, c);

				/*
				 * Walsenders end when the postmaster dies: a standby gone
				 * because our own server died must not leave the key, or it
				 * could not take over.  Checked after the walsenders were
				 * read, so a death before the read is seen here; on the
				 * death pipe itself, since the death signal's flag that
				 * PostmasterIsAlive() trusts first may not be set yet.
				 */
				if (!PostmasterIsAliveInternal())
					return;
				break;
			case PGHA_SYNC_STEP_SET_NAMES:
				names_set(&step.setting, c);
				break;
			case PGHA_SYNC_STEP_LOOK:
				if (step.first)
					deadline = wait_deadline();
				else if (pgha_monotonic_ms() >= deadline || !pause_ms(20))
				{
					in->wait_over = true;
					break;
				}
				read_senders(in);
				break;
			case PGHA_SYNC_STEP_MARK_IN_FORCE:
				pgha_conf_sync_in_force((int64_t) pgha_local_flush_position());
				break;
			case PGHA_SYNC_STEP_DONE:
				return;
		}
	}
}

bool
pgha_sync_before_promote(const PgHaCluster *c)
{
	PgHaSyncNames names;
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
		SyncKey		k;

		k.key = dcs_cluster_key("sync");
		k.exists = c->sync_key_exists;
		k.index = c->sync_modify_index;
		if (!write_key(&k, NULL, 0))
			return false;
		ereport(LOG,
				(errmsg("pg_ha: synchronous mode: the sync key names leader \"%s\" and no synchronous standby before the promotion",
						pg_ha_node_name)));
	}

	/* strict: no commit without a standby, from the first one on */
	memset(&names, 0, sizeof(names));
	names.star = c->sync_mode_strict;
	pgha_sync_names_format(&names);
	pgha_conf_set_sync_names(&names, c);
	deadline = pgha_monotonic_ms() + 1000;
	while (pgha_walsenders_exist() && pgha_sync_standbys_defined() != names.star)
	{
		/* the checkpointer has not reloaded yet: next round */
		if (pgha_monotonic_ms() >= deadline || !pause_ms(20))
			return false;
	}
	return true;
}
