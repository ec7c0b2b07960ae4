/*-------------------------------------------------------------------------
 *
 * sql_api.c
 *	  SQL functions behind the pg_ha_node and pg_ha_status views.
 *
 * They answer from shared memory, never from Consul, so they work while
 * Consul is down and say how old their data is (as_of, last contact).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/pg_lsn.h"
#include "utils/timestamp.h"

#include "cluster.h"
#include "history.h"
#include "iso_time.h"
#include "names.h"
#include "settings.h"
#include "state.h"
#include "sync_key.h"

PG_FUNCTION_INFO_V1(pg_ha_node_info);
PG_FUNCTION_INFO_V1(pg_ha_members);
PG_FUNCTION_INFO_V1(pg_ha_history_entries);

static Datum
ms_interval(int64 ms)
{
	Interval   *iv = palloc0(sizeof(Interval));

	iv->time = ms * INT64CONST(1000);
	return IntervalPGetDatum(iv);
}

static Datum
text_or_null(const char *s, bool *isnull)
{
	*isnull = (s == NULL || s[0] == '\0');
	return *isnull ? (Datum) 0 : CStringGetTextDatum(s);
}

/* The local node, as the HA worker last saw it. */
Datum
pg_ha_node_info(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[14];
	bool		nulls[14];
	PgHaShared	snap;
	int64		now = pgha_monotonic_ms();
	uint64		expiry;
	bool		leader;
	int			i = 0;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	memset(nulls, 0, sizeof(nulls));

	/* copy the small part we need; the cluster stays in shared memory */
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	memcpy(&snap, pgha_shared, offsetof(PgHaShared, cluster));
	LWLockRelease(pgha_shared->lock);
	expiry = pg_atomic_read_u64(&pgha_shared->lease_expiry_ms);
	leader = pg_atomic_read_u32(&pgha_shared->leader_confirmed) != 0;

	values[i] = text_or_null(pg_ha_node_name, &nulls[i]);
	i++;
	values[i] = text_or_null(pg_ha_cluster, &nulls[i]);
	i++;
	values[i++] = CStringGetTextDatum(!pg_ha_active() ? "inactive" : snap.role);
	values[i++] = BoolGetDatum(pg_ha_active() && snap.fenced);
	values[i] = text_or_null(pg_ha_active() && snap.fenced ? snap.fence_reason : NULL,
							 &nulls[i]);
	i++;
	if (leader && expiry > (uint64) now)
		values[i] = ms_interval((int64) expiry - now);
	else
		nulls[i] = true;
	i++;
	if (snap.last_contact != 0)
		values[i] = TimestampTzGetDatum(snap.last_contact);
	else
		nulls[i] = true;
	i++;
	values[i] = text_or_null(snap.last_action, &nulls[i]);
	i++;
	values[i] = text_or_null(snap.last_reason, &nulls[i]);
	i++;
	values[i] = text_or_null(snap.last_error, &nulls[i]);
	i++;
	if (snap.worker_pid != 0)
		values[i] = Int32GetDatum(snap.worker_pid);
	else
		nulls[i] = true;
	i++;
	values[i++] = ms_interval(snap.ttl_ms ? snap.ttl_ms : pg_ha_ttl);
	values[i++] = ms_interval(snap.loop_wait_ms ? snap.loop_wait_ms : pg_ha_loop_wait);
	values[i++] = ms_interval(snap.retry_timeout_ms ? snap.retry_timeout_ms : pg_ha_retry_timeout);
	Assert(i == lengthof(values));

	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}

/* epoch ms as a timestamptz */
static Datum
epoch_ms_timestamptz(int64 ms)
{
	return TimestampTzGetDatum((TimestampTz) (ms * 1000 -
											  (int64) (POSTGRES_EPOCH_JDATE - UNIX_EPOCH_JDATE) * SECS_PER_DAY * USECS_PER_SEC));
}

/* One row of pg_ha_status: a live member, or a stopped one (stopped). */
static void
member_row(ReturnSetInfo *rsinfo, const PgHaCluster *c, const PgHaMember *mem,
		   bool stopped, int64_t leader_pos, TimestampTz as_of)
{
	Datum		values[10];
	bool		nulls[10];
	char		host[PGHA_URL_LEN];
	int			port;
	bool		is_leader = !stopped && c->has_leader &&
		c->leader_session[0] != '\0' && strcmp(mem->name, c->leader) == 0;

	memset(nulls, 0, sizeof(nulls));
	if (!pgha_split_conn_url(mem->conn_url, host, sizeof(host), &port))
	{
		host[0] = '\0';
		port = 0;
	}
	values[0] = CStringGetTextDatum(mem->name);
	values[1] = text_or_null(host, &nulls[1]);
	if (port > 0)
		values[2] = Int32GetDatum(port);
	else
		nulls[2] = true;
	values[3] = CStringGetTextDatum(is_leader ? "Leader" : stopped ?
									pgha_stopped_role_label(c, mem, false) :
									pgha_member_role_label(c, mem, false));
	values[4] = text_or_null(mem->state, &nulls[4]);
	if (mem->timeline > 0)
		values[5] = Int64GetDatum((int64) mem->timeline);
	else
		nulls[5] = true;
	/* a stopped record has no position: its lag is unknown, NULL */
	if (!is_leader && mem->has_xlog && leader_pos >= 0)
		values[6] = Int64GetDatum(Max(leader_pos - mem->xlog_location, 0) / (1024 * 1024));
	else
		nulls[6] = true;
	values[7] = BoolGetDatum(mem->pending_restart);
	values[8] = TimestampTzGetDatum(as_of);
	if (stopped && mem->last_seen_ms > 0)
		values[9] = epoch_ms_timestamptz(mem->last_seen_ms);
	else
		nulls[9] = true;
	tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
}

/*
 * One row per member: the patronictl list table.  Stopped members (records
 * no session holds, written by the leader when a member's record vanished)
 * are listed too, with state stopped and their last_seen.
 */
Datum
pg_ha_members(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	PgHaCluster *c = palloc(sizeof(PgHaCluster));
	TimestampTz as_of;
	bool		valid;
	int64_t		leader_pos = -1;

	InitMaterializedSRF(fcinfo, 0);

	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	valid = pgha_shared->cluster_valid;
	as_of = pgha_shared->cluster_as_of;
	memcpy(c, &pgha_shared->cluster, sizeof(PgHaCluster));
	LWLockRelease(pgha_shared->lock);

	if (!valid)
		return (Datum) 0;		/* never read Consul yet: no rows */

	for (int m = 0; m < c->nmembers; m++)
		if (c->has_leader && c->leader_session[0] != '\0' &&
			strcmp(c->members[m].name, c->leader) == 0 && c->members[m].has_xlog)
			leader_pos = c->members[m].xlog_location;
	if (leader_pos < 0 && c->has_optime)
		leader_pos = c->optime;

	for (int m = 0; m < c->nmembers && m < PGHA_MAX_MEMBERS; m++)
		member_row(rsinfo, c, &c->members[m], false, leader_pos, as_of);
	for (int m = 0; m < c->nstopped && m < PGHA_MAX_MEMBERS; m++)
		member_row(rsinfo, c, &c->stopped[m], true, leader_pos, as_of);
	return (Datum) 0;
}

/* The history key, as last read from Consul: one row per promotion. */
Datum
pg_ha_history_entries(PG_FUNCTION_ARGS)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	char	   *history = palloc(PGHA_CONFIG_LEN);
	PgHaHistoryEntry *entries = palloc(sizeof(PgHaHistoryEntry) * PGHA_MAX_HISTORY);
	char		err[PGHA_ERR_LEN];
	int			n;

	InitMaterializedSRF(fcinfo, 0);
	LWLockAcquire(pgha_shared->lock, LW_SHARED);
	strlcpy(history, pgha_shared->cluster.history_json, PGHA_CONFIG_LEN);
	LWLockRelease(pgha_shared->lock);

	n = pgha_parse_history(history, entries, PGHA_MAX_HISTORY, err, sizeof(err));
	if (n < 0)
		ereport(ERROR,
				(errcode(ERRCODE_DATA_CORRUPTED),
				 errmsg("the history key of cluster \"%s\" cannot be read", pg_ha_cluster),
				 errdetail("%s.", err)));
	for (int i = 0; i < n; i++)
	{
		Datum		values[5];
		bool		nulls[5];
		char		lsn[32];
		int64_t		ms;

		memset(nulls, 0, sizeof(nulls));
		snprintf(lsn, sizeof(lsn), "%X/%X", (uint32) (entries[i].lsn >> 32),
				 (uint32) entries[i].lsn);
		values[0] = Int64GetDatum((int64) entries[i].timeline);
		values[1] = DirectFunctionCall1(pg_lsn_in, CStringGetDatum(lsn));
		values[2] = text_or_null(entries[i].reason, &nulls[2]);
		if (pgha_parse_iso_time(entries[i].when, &ms))
			values[3] = epoch_ms_timestamptz(ms);
		else
			nulls[3] = true;
		values[4] = text_or_null(entries[i].leader, &nulls[4]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	return (Datum) 0;
}
