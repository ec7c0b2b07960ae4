/*-------------------------------------------------------------------------
 *
 * init_conf.c
 *	  pg_ha_ctl init: the settings of a new node.
 *
 * The blocks of settings init writes: the cluster's (replication,
 * pg_rewind, pg_ha in shared_preload_libraries), the node's own (port,
 * listen_addresses, the pg_ha.* of this node, --set, then the include of
 * pg_ha.conf last) and the lines of pg_hba.conf for the other nodes'
 * replication and pg_rewind connections.  A plain node gets them appended
 * to postgresql.conf and pg_hba.conf of its data directory; a Debian
 * cluster in conf.d/99-pg_ha.conf and the pg_hba.conf of its
 * configuration directory (init_configure_debian).
 *
 * Not for pg_ha.conf, which the HA worker writes (a clone's first one is
 * init_clone.c's), nor for finding a Debian cluster's files
 * (init_debian.c).
 *
 *-------------------------------------------------------------------------
 */
#include "postgres_fe.h"

#include <sys/stat.h>
#include <unistd.h>

#include "common/logging.h"
#include "init.h"
#include "pg_ha_ctl.h"

static void
append_setting_line(PQExpBuffer buf, const char *setting)
{
	char		name[NAMEDATALEN];
	const char *value;
	size_t		len;

	(void) ctl_valid_setting(setting, name, sizeof(name), &value);
	len = strlen(value);
	if (len >= 2 && value[0] == '\'' && value[len - 1] == '\'')
		appendPQExpBuffer(buf, "%s = %s\n", name, value);
	else
		ctl_append_conf_value(buf, name, value);
}

/* The settings that differ from node to node, then --set, then include. */
void
init_append_node_block(PQExpBuffer buf, const InitNode *n)
{
	const CtlOptions *opt = n->opt;

	appendPQExpBuffer(buf, "\n# pg_ha_ctl init: settings of node %s\n",
					  opt->node_name);
	if (n->write_port)
		appendPQExpBuffer(buf, "port = %d\n", n->port);
	ctl_append_conf_value(buf, "listen_addresses", n->listen_addresses);
	ctl_append_conf_value(buf, "pg_ha.cluster", opt->cluster);
	ctl_append_conf_value(buf, "pg_ha.namespace", opt->namespace);
	ctl_append_conf_value(buf, "pg_ha.consul_url", opt->consul_url);
	ctl_append_conf_value(buf, "pg_ha.node_name", opt->node_name);
	ctl_append_conf_value(buf, "pg_ha.connect_address", opt->connect_address);
	ctl_append_conf_value(buf, "pg_ha.api_listen", n->api_listen);
	ctl_append_conf_value(buf, "pg_ha.replication_user", n->user);
	ctl_append_conf_value(buf, "pg_ha.passfile", n->passfile);
	/* tags are a node's own: a clone keeps none of its source's */
	appendPQExpBufferStr(buf,
						 "pg_ha.nofailover = off\n"
						 "pg_ha.nosync = off\n"
						 "pg_ha.noloadbalance = off\n"
						 "pg_ha.clonefrom = off\n"
						 "pg_ha.failover_priority = 1\n"
						 "pg_ha.tags = ''\n");
	for (int i = 0; i < opt->nsettings; i++)
		append_setting_line(buf, opt->settings[i]);
	appendPQExpBufferStr(buf, "# last, so that pg_ha's managed settings win\n");
	if (n->debian)
	{
		char	   *path = psprintf("%s/%s", n->pgdata, PGHA_MANAGED_CONF);

		/* a relative include is read from conf.d, not the data directory */
		appendPQExpBufferStr(buf, "# (the full path: a relative one would be taken from conf.d)\n");
		ctl_append_conf_value(buf, "include_if_exists", path);
		pg_free(path);
	}
	else
		appendPQExpBufferStr(buf, PGHA_INCLUDE_LINE "\n");
}

/* Does the comma-separated list hold pg_ha? */
static bool
preloads_pg_ha(const char *list)
{
	const char *p = list;

	while (*p != '\0')
	{
		size_t		len;

		p += strspn(p, " \t,\"");
		len = strcspn(p, " \t,\"");
		if (len == 5 && strncmp(p, "pg_ha", 5) == 0)
			return true;
		p += len;
	}
	return false;
}

/*
 * The settings of the whole cluster: replication, pg_rewind and pg_ha
 * loaded.  A Debian cluster keeps the libraries it loads already.
 */
void
init_append_cluster_block(PQExpBuffer buf, const InitNode *n,
						  bool bootstrap)
{
	const CtlOptions *opt = n->opt;
	const char *preload = n->deb_preload;

	if (bootstrap)
		appendPQExpBuffer(buf,
						  "\n# pg_ha_ctl init: settings of cluster %s, bootstrapped by node %s\n",
						  opt->cluster, opt->node_name);
	else
		appendPQExpBuffer(buf, "\n# pg_ha_ctl init: settings of cluster %s\n",
						  opt->cluster);
	appendPQExpBufferStr(buf,
						 "wal_level = replica\n"
						 "hot_standby = on\n"
						 "# pg_rewind needs it\n"
						 "wal_log_hints = on\n"
						 "max_wal_senders = 10\n"
						 "max_replication_slots = 10\n"
						 "wal_keep_size = '128MB'\n");
	if (preload == NULL || preload[strspn(preload, " \t,\"")] == '\0')
		ctl_append_conf_value(buf, "shared_preload_libraries", "pg_ha");
	else if (preloads_pg_ha(preload))
		ctl_append_conf_value(buf, "shared_preload_libraries", preload);
	else
	{
		char	   *both = psprintf("%s, pg_ha", preload);

		ctl_append_conf_value(buf, "shared_preload_libraries", both);
		pg_free(both);
	}
}

/* The lines of pg_hba.conf for the other nodes' replication and pg_rewind. */
#define HBA_MARKER "# pg_ha_ctl init: replication and pg_rewind connections of the other nodes"

void
init_append_hba_lines(PQExpBuffer buf, const InitNode *n)
{
	appendPQExpBuffer(buf,
					  "\n" HBA_MARKER "\n"
					  "host    replication     %-15s all    scram-sha-256\n"
					  "host    postgres        %-15s all    scram-sha-256\n",
					  n->user, n->user);
}

/* Does a --set carry a secret (the Consul token, the API's credentials)? */
static bool
sets_secret(const CtlOptions *opt)
{
	for (int i = 0; i < opt->nsettings; i++)
	{
		char		name[NAMEDATALEN];
		const char *value;

		if (ctl_valid_setting(opt->settings[i], name, sizeof(name), &value) &&
			(pg_strcasecmp(name, "pg_ha.consul_token") == 0 ||
			 pg_strcasecmp(name, "pg_ha.api_auth") == 0))
			return true;
	}
	return false;
}

bool
init_append_to_datadir_file(const InitNode *n, const char *file,
							const char *text)
{
	char	   *path = psprintf("%s/%s", n->pgdata, file);
	bool		ok = ctl_write_file(path, text, S_IRUSR | S_IWUSR, true);

	pg_free(path);
	return ok;
}

/*
 * A Debian cluster's configuration: pg_ha's settings in
 * conf.d/99-pg_ha.conf, replaced (postgresql.conf reads conf.d last, so
 * they win over its own), and the lines of the other nodes in its
 * pg_hba.conf unless it has them: a clone brings neither file, as Debian
 * keeps them out of the data directory.  The file is readable by all, as
 * postgresql.conf is, unless --set puts a secret in it.
 */
bool
init_configure_debian(const InitNode *n, bool bootstrap)
{
	PQExpBufferData text;
	char	   *hba;
	bool		ok;

	initPQExpBuffer(&text);
	appendPQExpBuffer(&text,
					  "# pg_ha's settings of Debian cluster %s/%s, written by pg_ha_ctl init.\n"
					  "# postgresql.conf reads conf.d last, in name order (include_dir): they win.\n",
					  n->deb_version, n->deb_name);
	init_append_cluster_block(&text, n, bootstrap);
	init_append_node_block(&text, n);
	if (unlink(n->deb_conf_file) != 0 && errno != ENOENT)
	{
		pg_log_error("could not remove file \"%s\": %m", n->deb_conf_file);
		return false;
	}
	ok = ctl_write_file(n->deb_conf_file, text.data,
						sets_secret(n->opt) ? S_IRUSR | S_IWUSR :
						S_IRUSR | S_IWUSR | S_IRGRP | S_IROTH, false);
	termPQExpBuffer(&text);
	if (!ok)
		return false;

	hba = ctl_read_file(n->deb_hba_file, NULL);
	if (hba == NULL)
	{
		pg_log_error("could not read file \"%s\": %m", n->deb_hba_file);
		return false;
	}
	initPQExpBuffer(&text);
	init_append_hba_lines(&text, n);
	/* without its leading blank line: as an earlier init appended it */
	if (strstr(hba, text.data + 1) != NULL)
		printf("Wrote %s (pg_ha, replication); %s has the lines of role \"%s\" already\n",
			   n->deb_conf_file, n->deb_hba_file, n->user);
	else
	{
		ok = ctl_write_file(n->deb_hba_file, text.data, S_IRUSR | S_IWUSR, true);
		if (ok)
			printf("Wrote %s (pg_ha, replication) and added role \"%s\" to %s\n",
				   n->deb_conf_file, n->user, n->deb_hba_file);
	}
	termPQExpBuffer(&text);
	pg_free(hba);
	return ok;
}
