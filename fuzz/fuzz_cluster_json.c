/*-------------------------------------------------------------------------
 *
 * fuzz_cluster_json.c
 *	  libFuzzer target: the values of the cluster's keys in Consul.
 *
 * The input is one key's value, as any node (pg_ha, Patroni of any
 * version, an operator with consul kv put) may have written it: a member
 * record, the config, leader, failover, history, status, restart, sync or promotion
 * key.  It is read by every parser of such values directly (member
 * record, config parameters, pause and parameter updates, history,
 * ISO times, conn_url, names, sizes), and also base64-encoded under each
 * of the cluster's keys in a KV listing, the way the HA worker receives it,
 * so that the listing's handlers see the raw bytes (a fuzzer rarely finds
 * its way through base64 on its own).
 *
 * Oracles: a member record reads back the same after formatting, and so
 * does the stopped record written from it; a record no session holds is
 * never a live member; a parameter set in the config reads back with its
 * value; an appended history entry reads back; an ISO time formats and
 * reads back to the same millisecond; slot names are [a-z0-9_].
 *
 * Corpus: fuzz/corpus/cluster_json/ (the reference's values and pg_ha's).
 *
 * fuzz/fuzz_cluster_json.c
 *
 *-------------------------------------------------------------------------
 */
#include "cluster.h"
#include "config_key.h"
#include "fuzz_common.h"
#include "history.h"
#include "iso_time.h"
#include "member.h"
#include "member_tracker.h"
#include "names.h"
#include "sync_key.h"

static PgHaCluster cluster;

/* Set name = value in the config and read it back. */
static void
config_set_and_read(const char *config, const char *name, const char *value)
{
	char	   *buf = malloc(PGHA_CONFIG_LEN * 4);
	PgHaParam  *params = malloc(sizeof(PgHaParam) * PGHA_MAX_PARAMS);
	char		err[PGHA_ERR_LEN];
	int			n;

	FUZZ_CHECK(buf != NULL && params != NULL);
	n = pgha_config_with_parameter(config, name, value, buf, PGHA_CONFIG_LEN * 4,
								   err, sizeof(err));
	if (n >= 0)
	{
		int			np;
		bool		found = false;

		FUZZ_CHECK((size_t) n == strlen(buf));
		np = pgha_config_parameters(buf, params, PGHA_MAX_PARAMS, err, sizeof(err));
		/* other parameters may be unreadable; when all read, ours is there */
		for (int i = 0; i < np; i++)
		{
			if (strcasecmp(params[i].name, name) == 0)
			{
				FUZZ_CHECK(value != NULL && strcmp(params[i].value, value) == 0);
				found = true;
			}
		}
		/* an entry the reader skipped (and said so) may be ours */
		FUZZ_CHECK(np < 0 || found == (value != NULL) || err[0] != '\0');
	}
	free(buf);
	free(params);
}

static void
config_readers(const uint8_t *data, size_t size, const char *cstr)
{
	PgHaParam  *params = malloc(sizeof(PgHaParam) * PGHA_MAX_PARAMS);
	char	   *buf = malloc(PGHA_CONFIG_LEN * 4);
	char		err[PGHA_ERR_LEN];
	int			n;

	FUZZ_CHECK(params != NULL && buf != NULL);
	n = pgha_config_parameters(cstr, params, PGHA_MAX_PARAMS, err, sizeof(err));
	FUZZ_CHECK(n >= -1 && n <= PGHA_MAX_PARAMS);
	for (int i = 0; i < n; i++)
	{
		FUZZ_CHECK(FUZZ_TERMINATED(params[i].name) && params[i].name[0] != '\0');
		FUZZ_CHECK(FUZZ_TERMINATED(params[i].value));
		/* each becomes one line of pg_ha.conf */
		FUZZ_CHECK(strchr(params[i].value, '\n') == NULL);
		FUZZ_CHECK(strspn(params[i].name, "abcdefghijklmnopqrstuvwxyz0123456789_.") ==
				   strlen(params[i].name));
	}
	for (int pause = 0; pause <= 1; pause++)
	{
		n = pgha_config_with_pause((const char *) data, size, pause, buf,
								   PGHA_CONFIG_LEN * 4, err, sizeof(err));
		if (n >= 0)
		{
			json_t	   *j = json_loadb(buf, (size_t) n, 0, NULL);

			FUZZ_CHECK(json_is_object(j));
			FUZZ_CHECK(json_is_true(json_object_get(j, "pause")) == pause);
			json_decref(j);
		}
	}
	config_set_and_read(cstr, "work_mem", "8MB");
	config_set_and_read(cstr, "max_connections", "100");
	config_set_and_read(cstr, "work_mem", NULL);
	free(params);
	free(buf);
}

static void
history_readers(const char *cstr)
{
	PgHaHistoryEntry entries[4];
	PgHaHistoryEntry *after = malloc(sizeof(PgHaHistoryEntry) * 4);
	char	   *buf = malloc(PGHA_CONFIG_LEN * 4);
	char		err[PGHA_ERR_LEN];
	int			n;
	int			m;

	FUZZ_CHECK(after != NULL && buf != NULL);
	n = pgha_parse_history(cstr, entries, 4, err, sizeof(err));
	FUZZ_CHECK(n >= -1 && n <= 4);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(FUZZ_TERMINATED(entries[i].reason) &&
				   FUZZ_TERMINATED(entries[i].when) &&
				   FUZZ_TERMINATED(entries[i].leader));
	m = pgha_history_append(cstr, 7, 72516120, "no recovery target specified",
							"2026-11-25T17:23:00.242220+00:00", "pg3",
							buf, PGHA_CONFIG_LEN * 4, err, sizeof(err));
	if (m >= 0 && n >= 0)
	{
		int			k = pgha_parse_history(buf, after, 4, err, sizeof(err));

		/* the newest entries are kept, ours last */
		FUZZ_CHECK(k >= 1 && k <= 4);
		FUZZ_CHECK(after[k - 1].timeline == 7 && after[k - 1].lsn == 72516120);
		FUZZ_CHECK(strcmp(after[k - 1].leader, "pg3") == 0);
	}
	free(after);
	free(buf);
}

static void
text_readers(const char *cstr)
{
	int64_t		ms;
	int64_t		bytes;
	long long	v;
	char		host[PGHA_URL_LEN];
	char		slot[PGHA_NAME_LEN];
	int			port;

	if (pgha_parse_iso_time(cstr, &ms))
	{
		char		iso[PGHA_API_ISO_LEN];
		int64_t		back;

		/*
		 * A time that parses formats, and reads back the same; except
		 * before 1970 or after 9999, which a time zone offset can reach.
		 */
		if (ms >= 0 && pgha_api_iso_time(ms, iso, sizeof(iso)))
		{
			FUZZ_CHECK(pgha_parse_iso_time(iso, &back));
			FUZZ_CHECK(back == ms);
		}
	}
	if (pgha_split_conn_url(cstr, host, sizeof(host), &port))
		FUZZ_CHECK(FUZZ_TERMINATED(host) && host[0] != '\0' &&
				   port >= 1 && port <= 65535);
	if (pgha_valid_name(cstr))
	{
		FUZZ_CHECK(strlen(cstr) < PGHA_NAME_LEN);
		pgha_slot_name(cstr, slot, sizeof(slot));
		FUZZ_CHECK(strlen(slot) == strlen(cstr));
		FUZZ_CHECK(strspn(slot, "abcdefghijklmnopqrstuvwxyz0123456789_") == strlen(slot));
	}
	(void) pgha_value_is_integer(cstr, &v);
	if (pgha_api_parse_size(cstr, &bytes))
		FUZZ_CHECK(bytes >= 0);

	/* pg_ha.tags: what its check hook takes goes into a record and back */
	{
		char		canon[PGHA_TAGS_LEN];
		char		again[PGHA_TAGS_LEN];
		char		err[PGHA_ERR_LEN];
		PgHaMember	m;

		if (pgha_parse_user_tags(cstr, canon, sizeof(canon), err, sizeof(err)))
		{
			FUZZ_CHECK(FUZZ_TERMINATED(canon));
			FUZZ_CHECK(pgha_parse_user_tags(canon, again, sizeof(again), err, sizeof(err)));
			FUZZ_CHECK(strcmp(canon, again) == 0);
			memset(&m, 0, sizeof(m));
			strcpy(m.name, "pg1");
			strcpy(m.tags_json, canon);
			m.nosync = m.clonefrom = true;
			m.has_failover_priority = true;
			m.failover_priority = 0;
			fuzz_check_member_roundtrip(&m);
		}
		else
			FUZZ_CHECK(FUZZ_TERMINATED(err) && err[0] != '\0' && canon[0] == '\0');
	}
}

/*
 * A record's last_seen survives formatting; the stopped record written
 * from it reads back as stopped, without a position, with the same time.
 */
static void
stopped_roundtrip(const PgHaMember *m)
{
	char		buf[8192];
	char		err[PGHA_ERR_LEN];
	PgHaMember	back;
	int			n;

	n = pgha_member_to_json(m, buf, sizeof(buf));
	FUZZ_CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	FUZZ_CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	FUZZ_CHECK(back.last_seen_ms == m->last_seen_ms);

	n = pgha_stopped_member_json(m, m->last_seen_ms, buf, sizeof(buf));
	FUZZ_CHECK(n > 0);
	memset(&back, 0, sizeof(back));
	FUZZ_CHECK(pgha_parse_member(buf, (size_t) n, &back, err, sizeof(err)));
	FUZZ_CHECK(strcmp(back.state, "stopped") == 0 && !back.has_xlog &&
			   back.timeline == 0 && !back.pending_restart);
	FUZZ_CHECK(strcmp(back.conn_url, m->conn_url) == 0 &&
			   strcmp(back.api_url, m->api_url) == 0 &&
			   back.nofailover == m->nofailover);
	FUZZ_CHECK(back.nosync == m->nosync && back.clonefrom == m->clonefrom &&
			   back.noloadbalance == m->noloadbalance &&
			   pgha_member_failover_priority(&back) == pgha_member_failover_priority(m) &&
			   strcmp(back.tags_json, m->tags_json) == 0);
	FUZZ_CHECK(back.last_seen_ms == m->last_seen_ms);
}

static void
member_reader(const uint8_t *data, size_t size)
{
	PgHaMember	m;
	char		err[PGHA_ERR_LEN];

	memset(&m, 0, sizeof(m));
	strcpy(m.name, "pg1");
	if (pgha_parse_member((const char *) data, size, &m, err, sizeof(err)))
	{
		FUZZ_CHECK(strcmp(m.name, "pg1") == 0);
		fuzz_check_member_roundtrip(&m);
		stopped_roundtrip(&m);
	}
	else
		FUZZ_CHECK(FUZZ_TERMINATED(err) && err[0] != '\0');
}

/*
 * Stopped members (records no session holds) are kept apart from the live
 * ones: never in members[], names unique across both lists, and followed
 * by the tracker without ever giving it an index out of range.
 */
static void
check_stopped(const PgHaCluster *c)
{
	static PgHaMemberTracker t;
	int			due[PGHA_MAX_MEMBERS * 2];
	int			n;

	FUZZ_CHECK(c->nstopped >= 0 && c->nstopped <= PGHA_MAX_MEMBERS);
	for (int i = 0; i < c->nmembers; i++)
	{
		FUZZ_CHECK(c->members[i].session[0] != '\0');
		FUZZ_CHECK(pgha_find_stopped_member(c, c->members[i].name) == NULL);
	}
	for (int i = 0; i < c->nstopped; i++)
	{
		const PgHaMember *m = &c->stopped[i];

		FUZZ_CHECK(FUZZ_TERMINATED(m->name) && pgha_valid_name(m->name));
		FUZZ_CHECK(m->session[0] == '\0');
		FUZZ_CHECK(pgha_find_member(c, m->name) == NULL);
		FUZZ_CHECK(pgha_find_stopped_member(c, m->name) == m);
		FUZZ_CHECK(strcmp(pgha_stopped_role_label(c, m, true), "leader") != 0);
		fuzz_check_member_roundtrip(m);
		stopped_roundtrip(m);
	}
	n = pgha_track_members(&t, c, "pg2", 1000, 1795627282394, 30000, due);
	FUZZ_CHECK(n >= 0 && n <= t.n && t.n <= PGHA_MAX_MEMBERS * 2);
	for (int i = 0; i < n; i++)
		FUZZ_CHECK(due[i] >= 0 && due[i] < t.n && t.seen[due[i]].gone);
}

/* The value under every key of a cluster, as the HA worker lists them. */
static void
listing_reader(const uint8_t *data, size_t size)
{
	static const char *const keys[] = {
		"config", "failover", "history", "initialize", "leader",
		"optime/leader", "status", "sync", "restart/pg1", "members/pg1",
		"promotion",
	};
	json_t	   *l = json_array();

	FUZZ_CHECK(l != NULL);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
	{
		char		key[64];
		bool		locked = strcmp(keys[i], "leader") == 0 ||
			strcmp(keys[i], "members/pg1") == 0;

		snprintf(key, sizeof(key), FUZZ_PREFIX "%s", keys[i]);
		fuzz_listing_add(l, key, data, size,
						 locked ? "4ca8e74b-6350-7587-addf-a18084928f3c" : NULL,
						 (json_int_t) (20 + i));
	}
	/* the same value as a record no session holds: a stopped member */
	fuzz_listing_add(l, FUZZ_PREFIX "members/pg3", data, size, NULL, 30);
	/* a second member, for the decisions about candidates */
	fuzz_listing_add_str(l, FUZZ_PREFIX "members/pg2",
						 "{\"conn_url\":\"postgres://127.0.0.1:15432/postgres\",\"api_url\":\"http://127.0.0.1:18009/patroni\",\"state\":\"running\",\"role\":\"replica\",\"version\":\"3.0.2\",\"xlog_location\":72501936,\"timeline\":5}",
						 "0e3c5b63-5f0e-4f0b-9a53-8d1b0c3d3a6f", 31);
	/* the values of a listing are whatever a key holds: it must parse */
	FUZZ_CHECK(fuzz_parse_listing(l, &cluster));
	json_decref(l);
	fuzz_check_cluster(&cluster);
	check_stopped(&cluster);
	for (int i = 0; i < cluster.nmembers; i++)
		fuzz_check_member_roundtrip(&cluster.members[i]);
	fuzz_decide(&cluster);
}

int			LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char	   *cstr = fuzz_cstring(data, size);

	member_reader(data, size);
	config_readers(data, size, cstr);
	history_readers(cstr);
	text_readers(cstr);
	listing_reader(data, size);
	free(cstr);
	return 0;
}
