/*-------------------------------------------------------------------------
 *
 * sync_key.c
 *	  The sync key's value, and what it says of the members (sync_key.h).
 *
 * What this file is not for: reading the key from the listing (cluster.c),
 * deciding whom to name in it and when (the HA worker's sync.c and
 * ha_decide.c), or the settings of synchronous mode (config_key.c).
 *
 * src/common/sync_key.c
 *
 *-------------------------------------------------------------------------
 */
#include "sync_key.h"
#include "cluster.h"
#include "json_util.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>


static int
name_cmp(const void *a, const void *b)
{
	return strcmp((const char *) a, (const char *) b);
}

int
pgha_sync_json(const char *leader, const char (*standbys)[PGHA_NAME_LEN],
			   int n, char *buf, size_t buflen)
{
	char		sorted[PGHA_MAX_SYNC][PGHA_NAME_LEN];
	char		joined[PGHA_MAX_SYNC * PGHA_NAME_LEN];
	json_t	   *v = pgha_json_new_object();
	size_t		off = 0;
	int			len;

	if (v == NULL || n < 0 || n > PGHA_MAX_SYNC)
	{
		if (v)
			json_decref(v);
		return -1;
	}
	/* Patroni sorts the names, so equal sets give equal values */
	memcpy(sorted, standbys, sizeof(sorted[0]) * n);
	qsort(sorted, n, sizeof(sorted[0]), name_cmp);
	joined[0] = '\0';
	for (int i = 0; i < n; i++)
		off += snprintf(joined + off, sizeof(joined) - off, "%s%s",
						i > 0 ? "," : "", sorted[i]);
	if (json_object_set_new(v, "leader", json_string(leader)) != 0 ||
		json_object_set_new(v, "sync_standby",
							n > 0 ? json_string(joined) : json_null()) != 0)
	{
		json_decref(v);
		return -1;
	}
	len = pgha_json_dump(v, buf, buflen);
	json_decref(v);
	return len;
}

bool
pgha_sync_active(const PgHaCluster *c)
{
	return c->sync_mode && c->sync_key_exists && c->has_sync &&
		c->sync_leader[0] != '\0';
}

bool
pgha_sync_is_standby(const PgHaCluster *c, const char *member)
{
	int			n = c->nsync < PGHA_MAX_SYNC ? c->nsync : PGHA_MAX_SYNC;

	if (!c->has_sync || member == NULL)
		return false;
	for (int i = 0; i < n; i++)
		if (strncmp(c->sync_standby[i], member, PGHA_NAME_LEN) == 0)
			return true;
	return false;
}

bool
pgha_sync_matches(const PgHaCluster *c, const char *member)
{
	return pgha_sync_is_standby(c, member) ||
		(c->has_sync && member != NULL &&
		 strncmp(c->sync_leader, member, PGHA_NAME_LEN) == 0);
}

const char *
pgha_sync_candidate_refusal(const PgHaCluster *c, const char *candidate,
							bool has_leader, bool force)
{
	if (!pgha_sync_active(c))
		return NULL;
	if (candidate == NULL || candidate[0] == '\0')
		return has_leader && c->nsync == 0 ?
			"synchronous mode is on and the cluster has no synchronous standby" : NULL;
	if (pgha_sync_is_standby(c, candidate))
		return NULL;
	if (has_leader)
		return "is not the synchronous standby: in synchronous mode only the synchronous standby may take over from a running leader";
	if (strncmp(c->sync_leader, candidate, PGHA_NAME_LEN) == 0 || force)
		return NULL;
	return "is not the synchronous standby: it may lack commits the last leader acknowledged";
}

const char *
pgha_member_role_label(const PgHaCluster *c, const PgHaMember *m, bool api_style)
{
	bool		leads = c->has_leader && c->leader_session[0] != '\0';

	if (leads && strncmp(m->name, c->leader, PGHA_NAME_LEN) == 0)
		return api_style ? "leader" : "Leader";
	/* a key left by an earlier leader names nobody synchronous now */
	if (leads && c->sync_mode && c->has_sync &&
		strncmp(c->sync_leader, c->leader, PGHA_NAME_LEN) == 0 &&
		pgha_sync_is_standby(c, m->name))
		return api_style ? "sync_standby" : "Sync Standby";
	return api_style ? "replica" : "Replica";
}


const char *
pgha_stopped_role_label(const PgHaCluster *c, const PgHaMember *m,
						bool api_style)
{
	const char *label = pgha_member_role_label(c, m, api_style);

	if (strcmp(label, api_style ? "leader" : "Leader") == 0)
		return api_style ? "replica" : "Replica";
	return label;
}
