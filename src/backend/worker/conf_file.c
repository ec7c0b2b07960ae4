/*-------------------------------------------------------------------------
 *
 * conf_file.c
 *	  pg_ha.conf and what it says (see conf_file.h).
 *
 * The server reads pg_ha.conf through an include line in postgresql.conf.
 * A standby follows the leader through it (primary_conninfo and
 * primary_slot_name are reloadable since PostgreSQL 13, so following a new
 * leader needs no restart); the cluster-wide parameters of the config key
 * and, in synchronous mode, synchronous_standby_names go there too.  Every
 * change goes through pgha_write_managed_conf(), which writes the whole
 * file from what it is given and what this file keeps, and reloads.
 *
 * What this file is not for: choosing the synchronous standbys or the
 * order of the changes (sync_plan.c, sync.c), or acting on the server
 * otherwise (node_ctl.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "lib/stringinfo.h"
#include "miscadmin.h"
#include "replication/syncrep.h"
#include "storage/fd.h"
#include "utils/guc.h"
#include "utils/guc_tables.h"
#include "utils/memutils.h"

#include "conf_file.h"
#include "config_key.h"
#include "names.h"
#include "pg_ha_files.h"
#include "quote.h"
#include "settings.h"

/* synchronous_standby_names in pg_ha.conf: the sync plan's state */
static PgHaSyncSetting sync_setting;

/* malloc'd by quote.c: into palloc'd memory, or out of memory */
static void
append_literal(StringInfo buf, char *literal)
{
	if (literal == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory")));
	appendStringInfoString(buf, literal);
	free(literal);
}

/* name = 'value' as postgresql.conf reads it */
static void
append_conf_string(StringInfo buf, const char *name, const char *value)
{
	appendStringInfo(buf, "%s = ", name);
	append_literal(buf, pgha_conf_literal(value));
	appendStringInfoChar(buf, '\n');
}

/* key='value' of a connection string */
static void
append_conninfo_value(StringInfo buf, const char *key, const char *value)
{
	appendStringInfo(buf, "%s=", key);
	append_literal(buf, pgha_conninfo_literal(value));
	appendStringInfoChar(buf, ' ');
}

char *
pgha_leader_conninfo(const PgHaMember *leader, const char *dbname)
{
	StringInfoData buf;
	char		host[PGHA_URL_LEN];
	char		port[16];
	int			portnum;

	if (!pgha_split_conn_url(leader->conn_url, host, sizeof(host), &portnum))
		return NULL;
	initStringInfo(&buf);
	snprintf(port, sizeof(port), "%d", portnum);
	append_conninfo_value(&buf, "host", host);
	append_conninfo_value(&buf, "port", port);
	append_conninfo_value(&buf, "user", pg_ha_replication_user);
	if (pg_ha_passfile[0] != '\0')
		append_conninfo_value(&buf, "passfile", pg_ha_passfile);
	if (dbname)
		append_conninfo_value(&buf, "dbname", dbname);
	else
		append_conninfo_value(&buf, "application_name", pg_ha_node_name);
	/* no trailing blank */
	buf.data[--buf.len] = '\0';
	return buf.data;
}

static char *
read_whole_file(const char *path)
{
	FILE	   *f = AllocateFile(path, "r");
	StringInfoData buf;
	char		chunk[1024];
	size_t		n;

	if (f == NULL)
		return NULL;
	initStringInfo(&buf);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		appendBinaryStringInfo(&buf, chunk, (int) n);
	FreeFile(f);
	return buf.data;
}

static void
write_file_atomically(const char *path, const char *content)
{
	char		tmp[MAXPGPATH];
	FILE	   *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	f = AllocateFile(tmp, "w");
	if (f == NULL)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write \"%s\": %m", tmp)));
	if (fputs(content, f) == EOF || FreeFile(f) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not write \"%s\": %m", tmp)));
	if (rename(tmp, path) != 0)
		ereport(ERROR,
				(errcode_for_file_access(),
				 errmsg("pg_ha: could not rename \"%s\" to \"%s\": %m", tmp, path)));
}

bool
pgha_pending_restart(void)
{
	struct config_generic **vars = get_guc_variables();
	int			n = GetNumConfigOptions();

	for (int i = 0; i < n; i++)
		if (vars[i] != NULL && (vars[i]->status & GUC_PENDING_RESTART))
			return true;
	return false;
}

/* the last good config, as in PGHA_LAST_CONFIG_FILE; NULL: none yet */
static char *last_good_config = NULL;
static bool last_good_loaded = false;

const char *
pgha_last_good_config(void)
{
	if (!last_good_loaded)
	{
		char	   *file = read_whole_file(PGHA_LAST_CONFIG_FILE);

		if (file != NULL && file[0] == '{')
			last_good_config = MemoryContextStrdup(TopMemoryContext, file);
		last_good_loaded = true;
	}
	return last_good_config;
}

/*
 * The config key's JSON when it can be used, and kept as the last good one;
 * else that last good one (Patroni keeps patroni.dynamic.json for the same
 * reason): a key turned to garbage, grown past what we read, or gone with
 * a store that lost its data leaves the settings in force.
 */
static const char *
usable_config(const PgHaCluster *cluster, bool *from_key)
{
	const char *last = pgha_last_good_config();

	*from_key = false;
	if (cluster == NULL)
		return last;
	if (!cluster->config_valid || cluster->config_json[0] == '\0')
		return last;
	*from_key = true;
	if (last == NULL || strcmp(last, cluster->config_json) != 0)
	{
		write_file_atomically(PGHA_LAST_CONFIG_FILE, cluster->config_json);
		if (last_good_config != NULL)
			pfree(last_good_config);
		last_good_config = MemoryContextStrdup(TopMemoryContext, cluster->config_json);
	}
	return last_good_config;
}

/*
 * Would the server take this setting from a configuration file?  A name it
 * does not know or a value it refuses is only logged at a reload, but it
 * makes the next start fail ("configuration file contains errors"): the
 * node would not come back from a restart, a rejoin or a crash.  Checked
 * as the postmaster checks its files at start, without applying anything.
 */
static bool
server_accepts(const char *name, const char *value)
{
	return set_config_option(name, value, PGC_POSTMASTER, PGC_S_FILE,
							 GUC_ACTION_SET, false, DEBUG2, false) != 0;
}

/*
 * The cluster-wide parameters, those pg_ha owns and those the server would
 * refuse left out (and said once).
 */
static void
append_parameters(StringInfo buf, const PgHaCluster *cluster)
{
	static PgHaParam params[PGHA_MAX_PARAMS];
	static char last_complaint[PGHA_ERR_LEN];
	char		err[PGHA_ERR_LEN];
	char		complaint[PGHA_ERR_LEN] = "";
	bool		from_key;
	const char *config = usable_config(cluster, &from_key);
	int			n;

	if (config == NULL)
		return;
	if (cluster != NULL && !from_key &&
		(cluster->has_config || cluster->has_initialize))
		snprintf(complaint, sizeof(complaint),
				 "the config key cannot be used (%s): the parameters of the last good one stay in force",
				 !cluster->has_config ? "it is gone" :
				 !cluster->config_valid ? "it is not a JSON object" : "it is too large");
	n = pgha_config_parameters(config, params, lengthof(params),
							   err, sizeof(err));
	if (n < 0 || err[0] != '\0')
		snprintf(complaint, sizeof(complaint), "%s", err);
	for (int i = 0; i < n; i++)
	{
		const char *why = pgha_owned_parameter(params[i].name);

		/* in synchronous mode the leader sets it (sync.c) */
		if (cluster != NULL && cluster->sync_mode &&
			strcmp(params[i].name, "synchronous_standby_names") == 0)
			why = "synchronous_mode is on: pg_ha sets it on the leader";
		/* the value is not said: it may be a secret */
		if (why == NULL && !server_accepts(params[i].name, params[i].value))
			why = "the server refuses its value (or does not know the name), so the node's own setting stays in force";
		if (why != NULL)
		{
			snprintf(complaint, sizeof(complaint),
					 "cluster-wide parameter \"%s\" ignored: %s", params[i].name, why);
			continue;
		}
		append_conf_string(buf, params[i].name, params[i].value);
	}
	if (strcmp(complaint, last_complaint) != 0 && complaint[0] != '\0')
		ereport(WARNING, (errmsg("pg_ha: %s", complaint)));
	strlcpy(last_complaint, complaint, sizeof(last_complaint));
}

/* ----- synchronous_standby_names */

const PgHaSyncSetting *
pgha_conf_sync_setting(void)
{
	if (!sync_setting.known)
	{
		memset(&sync_setting, 0, sizeof(sync_setting));
		pgha_sync_names_parse(SyncRepStandbyNames, &sync_setting.names);
		sync_setting.known = true;
	}
	return &sync_setting;
}

void
pgha_conf_set_sync_names(const PgHaSyncNames *names, const PgHaCluster *cluster)
{
	sync_setting.known = true;
	sync_setting.names = *names;
	sync_setting.effective_lsn = 0;
	(void) pgha_write_managed_conf(NULL, cluster);
}

void
pgha_conf_sync_in_force(int64_t lsn)
{
	sync_setting.effective_lsn = lsn;
}

void
pgha_conf_forget_sync_names(void)
{
	sync_setting.known = false;
}

/*
 * The value pg_ha.conf gives synchronous_standby_names, or NULL when it
 * sets none (synchronous mode off: postgresql.conf's value applies).
 */
static const char *
sync_standby_names(const PgHaCluster *cluster)
{
	/* a config key we cannot read changes nothing */
	if (cluster->has_config && !cluster->config_valid)
		return sync_setting.known ? sync_setting.names.text : NULL;
	if (!cluster->sync_mode)
	{
		pgha_conf_forget_sync_names();
		return NULL;
	}
	return pgha_conf_sync_setting()->names.text;
}

/* ----- the file */

bool
pgha_write_managed_conf(const PgHaMember *leader, const PgHaCluster *cluster)
{
	StringInfoData buf;
	char	   *current;
	const char *sync_names;

	initStringInfo(&buf);
	appendStringInfoString(&buf,
						   "# Written by pg_ha's HA worker; do not edit: changes are overwritten.\n");
	append_parameters(&buf, cluster);
	/* synchronous mode: the leader's choice (sync.c) */
	if (cluster != NULL && (sync_names = sync_standby_names(cluster)) != NULL)
		append_conf_string(&buf, "synchronous_standby_names", sync_names);
	if (leader != NULL)
	{
		char	   *conninfo = pgha_leader_conninfo(leader, NULL);
		char		slot[NAMEDATALEN];

		if (conninfo == NULL)
		{
			ereport(WARNING,
					(errmsg("pg_ha: cannot follow leader \"%s\": bad conn_url \"%s\"",
							leader->name, leader->conn_url)));
			return false;
		}
		append_conf_string(&buf, "primary_conninfo", conninfo);
		pgha_slot_name(pg_ha_node_name, slot, sizeof(slot));
		append_conf_string(&buf, "primary_slot_name", slot);
	}
	/* on the leader too: dropping it would leave a restart pending */
	appendStringInfoString(&buf, "recovery_target_timeline = 'latest'\n");

	current = read_whole_file(PGHA_MANAGED_CONF);
	if (current != NULL && strcmp(current, buf.data) == 0)
		return false;

	write_file_atomically(PGHA_MANAGED_CONF, buf.data);
	if (leader != NULL)
		ereport(LOG,
				(errmsg("pg_ha: following leader \"%s\" at %s", leader->name,
						leader->conn_url)));
	/* primary_conninfo is reloadable: a SIGHUP to the postmaster is enough */
	if (kill(PostmasterPid, SIGHUP) != 0)
		ereport(WARNING,
				(errmsg("pg_ha: could not ask the postmaster to reload: %m")));
	return true;
}
