/*-------------------------------------------------------------------------
 *
 * pg_ha.c
 *	  Entry point of the pg_ha extension (_PG_init): the settings, defined
 *	  and checked, shared memory, hooks, background workers.
 *
 * pg_ha must be in shared_preload_libraries: it runs inside the postmaster
 * from the start, fences the node before the first client connects and
 * starts the HA worker that talks to Consul.
 *
 * The variables the settings set are settings.c's, declared in settings.h
 * for the files that read them.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "utils/guc.h"

#include "api_tls.h"
#include "cluster_limits.h"
#include "dcs.h"
#include "fence.h"
#include "ha_decide.h"
#include "member.h"
#include "names.h"
#include "pg_ha.h"
#include "settings.h"
#include "state.h"

PG_MODULE_MAGIC;

/* pg_ha.tags in compact JSON, as its check hook made it ("" for none) */
static const char *pg_ha_tags_canonical = "";

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;
static emit_log_hook_type prev_emit_log_hook = NULL;

void		_PG_init(void);

static bool
check_name(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;			/* empty: not set */
	if (!pgha_valid_name(*newval))
	{
		GUC_check_errdetail("A name may hold letters, digits, \"_\", \".\" and \"-\", at most %d of them.",
							PGHA_NAME_LEN - 1);
		return false;
	}
	return true;
}

static bool
check_namespace(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !pgha_valid_name(*newval))
	{
		GUC_check_errdetail("The namespace is one Consul key component: letters, digits, \"_\", \".\" and \"-\".");
		return false;
	}
	return true;
}

static bool
check_consul_url(char **newval, void **extra, GucSource source)
{
	const char *url = *newval;
	const char *host;
	size_t		len;

	if (url == NULL)
		return false;
	if (strncmp(url, "http://", 7) == 0)
		host = url + 7;
	else if (strncmp(url, "https://", 8) == 0)
		host = url + 8;
	else
	{
		GUC_check_errdetail("The Consul URL must start with http:// or https://, as in http://127.0.0.1:8500.");
		return false;
	}
	len = strlen(url);
	if (*host == '\0' || *host == '/' || *host == ':')
	{
		GUC_check_errdetail("The Consul URL has no host.");
		return false;
	}
	if (len > 512 || strpbrk(url, " \t\r\n?#") != NULL)
	{
		GUC_check_errdetail("The Consul URL must be a plain http(s)://host:port, without spaces, query or fragment.");
		return false;
	}
	if (url[len - 1] == '/')
	{
		GUC_check_errdetail("Remove the trailing \"/\" from the Consul URL.");
		return false;
	}
	return true;
}

/* host:port, with a port in 1..65535; host may be empty only if allowed */
static bool
valid_host_port(const char *s, bool host_required)
{
	const char *colon = strrchr(s, ':');
	char	   *end;
	long		port;

	if (colon == NULL || (host_required && colon == s))
		return false;
	if (strpbrk(s, " \t\r\n/@") != NULL || strlen(s) > 255)
		return false;
	errno = 0;
	port = strtol(colon + 1, &end, 10);
	return errno == 0 && end != colon + 1 && *end == '\0' &&
		port >= 1 && port <= 65535;
}

static bool
check_connect_address(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0')
		return true;
	if (!valid_host_port(*newval, true))
	{
		GUC_check_errdetail("Expected host:port, as in 10.0.0.11:5432.");
		return false;
	}
	return true;
}

static bool
check_api_listen(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || !valid_host_port(*newval, false))
	{
		GUC_check_errdetail("Expected [host]:port, as in 0.0.0.0:8008 or :8008.");
		return false;
	}
	return true;
}

static const char *const pg_ha_guc_names[] = {
	"pg_ha.cluster", "pg_ha.node_name", "pg_ha.namespace", "pg_ha.consul_url",
	"pg_ha.consul_token", "pg_ha.connect_address", "pg_ha.api_listen",
	"pg_ha.ttl", "pg_ha.loop_wait", "pg_ha.retry_timeout", "pg_ha.lock_delay",
	"pg_ha.nofailover", "pg_ha.replication_user", "pg_ha.passfile",
	"pg_ha.member_slots_ttl", "pg_ha.api_auth", "pg_ha.restart_command",
	"pg_ha.api_certfile", "pg_ha.api_keyfile", "pg_ha.api_cafile",
	"pg_ha.nosync", "pg_ha.noloadbalance", "pg_ha.clonefrom",
	"pg_ha.failover_priority", "pg_ha.tags"
};

/*
 * PostgreSQL only warns about a bad value of a custom setting read before
 * the library defined it, and goes on with the default.  For HA settings
 * that is a silent misconfiguration: take the values as written, and after
 * the definitions validate each one again, with ERROR (fatal at start).
 */
static void
validate_startup_values(char **raw)
{
	for (int i = 0; i < lengthof(pg_ha_guc_names); i++)
	{
		if (raw[i] == NULL)
			continue;
		(void) set_config_option(pg_ha_guc_names[i], raw[i], PGC_POSTMASTER,
								 PGC_S_FILE, GUC_ACTION_SET, false, ERROR,
								 false);
	}
}

static bool
check_role_name(char **newval, void **extra, GucSource source)
{
	if (*newval == NULL || (*newval)[0] == '\0' ||
		strlen(*newval) >= NAMEDATALEN ||
		strpbrk(*newval, " \t\r\n'\\") != NULL)
	{
		GUC_check_errdetail("A role name without blanks, quotes or backslashes is expected.");
		return false;
	}
	return true;
}

static bool
check_passfile(char **newval, void **extra, GucSource source)
{
	if (*newval != NULL && (*newval)[0] != '\0' && (*newval)[0] != '/')
	{
		GUC_check_errdetail("The password file must be given as an absolute path.");
		return false;
	}
	return true;
}

/*
 * pg_ha.tags: a JSON object of the node's other tags.  Checked (and put in
 * compact form) by the pure parser of member.c, so a bad value is refused
 * with the reason, at start, at a reload or by ALTER SYSTEM, and never
 * reaches the member record.
 */
static bool
check_tags(char **newval, void **extra, GucSource source)
{
	char		canon[PGHA_TAGS_LEN];
	char		err[PGHA_ERR_LEN];
	char	   *copy;

	if (!pgha_parse_user_tags(*newval, canon, sizeof(canon), err, sizeof(err)))
	{
		GUC_check_errdetail("%s.", err);
		GUC_check_errhint("pg_ha.tags is a JSON object of names and strings, numbers or booleans, as in '{\"dc\": \"eu-1\", \"rack\": 3}'.");
		return false;
	}
	/* PostgreSQL frees a check hook's extra with free() */
	copy = malloc(strlen(canon) + 1);
	if (copy == NULL)
	{
		GUC_check_errcode(ERRCODE_OUT_OF_MEMORY);
		GUC_check_errmsg("out of memory");
		return false;
	}
	strcpy(copy, canon);
	*extra = copy;
	return true;
}

static void
assign_tags(const char *newval, void *extra)
{
	pg_ha_tags_canonical = extra != NULL ? (const char *) extra : "";
}

bool
pgha_local_nofailover(void)
{
	return pg_ha_nofailover || pg_ha_failover_priority <= 0;
}

void
pgha_local_tags(PgHaMember *m)
{
	/* priority 0 is published as nofailover too: Patroni 3.0 reads that */
	m->nofailover = pgha_local_nofailover();
	m->has_failover_priority = pg_ha_failover_priority != 1;
	m->failover_priority = pg_ha_failover_priority;
	m->nosync = pg_ha_nosync;
	m->noloadbalance = pg_ha_noloadbalance;
	m->clonefrom = pg_ha_clonefrom;
	strlcpy(m->tags_json, pg_ha_tags_canonical, sizeof(m->tags_json));
}

int
pgha_local_tags_json(char *buf, size_t len)
{
	PgHaMember *m = palloc0(sizeof(PgHaMember));
	int			n;

	pgha_local_tags(m);
	n = pgha_member_tags_json(m, buf, len);
	pfree(m);
	return n;
}

/*
 * SHOW, current_setting() and pg_settings of a secret: whether it is set,
 * never the value.  GUC_SUPERUSER_ONLY alone still lets the members of
 * pg_read_all_settings (so of pg_monitor) read it.
 */
static const char *
show_consul_token(void)
{
	return pg_ha_consul_token != NULL && pg_ha_consul_token[0] != '\0' ?
		"********" : "";
}

static const char *
show_api_auth(void)
{
	return pg_ha_api_auth != NULL && pg_ha_api_auth[0] != '\0' ?
		"********" : "";
}

static void
define_gucs(void)
{
	DefineCustomStringVariable("pg_ha.cluster",
							   "Name of the HA cluster this node belongs to (Patroni's scope).",
							   "Empty: pg_ha is loaded but inactive.",
							   &pg_ha_cluster, "",
							   PGC_POSTMASTER, 0,
							   check_name, NULL, NULL);
	DefineCustomStringVariable("pg_ha.node_name",
							   "Name of this node in the cluster.",
							   NULL,
							   &pg_ha_node_name, "",
							   PGC_POSTMASTER, 0,
							   check_name, NULL, NULL);
	DefineCustomStringVariable("pg_ha.namespace",
							   "First component of the cluster's Consul keys.",
							   NULL,
							   &pg_ha_namespace, "service",
							   PGC_POSTMASTER, 0,
							   check_namespace, NULL, NULL);
	DefineCustomStringVariable("pg_ha.consul_url",
							   "URL of the Consul agent's HTTP API.",
							   NULL,
							   &pg_ha_consul_url, "http://127.0.0.1:8500",
							   PGC_SIGHUP, 0,
							   check_consul_url, NULL, NULL);
	DefineCustomStringVariable("pg_ha.consul_token",
							   "Consul ACL token.",
							   NULL,
							   &pg_ha_consul_token, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, show_consul_token);
	DefineCustomStringVariable("pg_ha.connect_address",
							   "host:port at which the other nodes and clients reach this node.",
							   "Empty: 127.0.0.1 and the server's port.",
							   &pg_ha_connect_address, "",
							   PGC_SIGHUP, 0,
							   check_connect_address, NULL, NULL);
	DefineCustomStringVariable("pg_ha.api_listen",
							   "Address of the REST API, [host]:port.",
							   NULL,
							   &pg_ha_api_listen, ":8008",
							   PGC_POSTMASTER, 0,
							   check_api_listen, NULL, NULL);
	DefineCustomStringVariable("pg_ha.replication_user",
							   "Role the replicas connect as (streaming, pg_rewind).",
							   NULL,
							   &pg_ha_replication_user, "replicator",
							   PGC_SIGHUP, 0,
							   check_role_name, NULL, NULL);
	DefineCustomStringVariable("pg_ha.passfile",
							   "libpq password file with the replication user's password.",
							   "Empty: libpq's default (~/.pgpass). The password itself is never a setting.",
							   &pg_ha_passfile, "",
							   PGC_SIGHUP, 0,
							   check_passfile, NULL, NULL);
	DefineCustomIntVariable("pg_ha.ttl",
							"Leader lease: how long after the leader key last changed another node may take it.",
							"A dead leader is replaced about this long after its last renewal. Must be at least loop_wait + 2 * retry_timeout.",
							&pg_ha_ttl, 10000, 2000, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_ha.loop_wait",
							"Time between two rounds of the HA worker.",
							"The leader renews its key once per round.",
							&pg_ha_loop_wait, 2000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_ha.retry_timeout",
							"Timeout of one request to Consul.",
							"The default suits a LAN; raise it, and ttl, for a WAN or a busy Consul.",
							&pg_ha_retry_timeout, 3000, 100, 3600 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_ha.lock_delay",
							"Consul lock-delay of the node's session.",
							"After a session is invalidated, its locks cannot be taken for this long.",
							&pg_ha_lock_delay, 0, 0, 60 * 1000,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomIntVariable("pg_ha.member_slots_ttl",
							"How long the leader keeps the slot of a member that is gone.",
							"A replica that is back within this time finds its WAL kept.",
							&pg_ha_member_slots_ttl, 30 * 60 * 1000, 0, INT_MAX,
							PGC_SIGHUP, GUC_UNIT_MS,
							NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.restart_command",
							   "Shell command that restarts this server, for a requested restart.",
							   "Empty: pg_ctl restart -m fast. Run by /bin/sh with PGDATA set; never logged.",
							   &pg_ha_restart_command, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_ha.nofailover",
							 "Never promote this node automatically (Patroni's nofailover tag).",
							 NULL,
							 &pg_ha_nofailover, false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_ha.nosync",
							 "Never name this node the synchronous standby (Patroni's nosync tag).",
							 NULL,
							 &pg_ha_nosync, false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_ha.noloadbalance",
							 "GET /replica answers 503 on this node (Patroni's noloadbalance tag).",
							 "HAProxy then sends no read-only traffic here.",
							 &pg_ha_noloadbalance, false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("pg_ha.clonefrom",
							 "pg_ha_ctl init prefers this replica as the source of a new node (Patroni's clonefrom tag).",
							 NULL,
							 &pg_ha_clonefrom, false,
							 PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("pg_ha.failover_priority",
							"Priority of this node among equally advanced failover candidates (Patroni's failover_priority tag).",
							"The highest takes over; 0: never, as pg_ha.nofailover.",
							&pg_ha_failover_priority, 1, 0, INT_MAX,
							PGC_SIGHUP, 0,
							NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.tags",
							   "Other tags of this node, a JSON object published in its member record.",
							   "Names and strings, numbers or booleans, as in {\"dc\": \"eu-1\"}; the REST API's ?tag_<name>=<value> filters match them.",
							   &pg_ha_tags, "",
							   PGC_SIGHUP, 0,
							   check_tags, assign_tags, NULL);

	/*
	 * No check hook: PostgreSQL's message for a rejected value quotes the
	 * value, and this one is a password.  The REST API checks the form
	 * itself (refusing every write until it is user:password).
	 */
	DefineCustomStringVariable("pg_ha.api_auth",
							   "REST API credentials for write requests, user:password (HTTP basic auth).",
							   "Empty: write requests only from loopback addresses, without credentials.",
							   &pg_ha_api_auth, "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY | GUC_NO_SHOW_ALL,
							   NULL, NULL, show_api_auth);

	/* read and checked once at start (api_tls.c), as api_listen */
	DefineCustomStringVariable("pg_ha.api_certfile",
							   "PEM certificate (chain) of the REST API; set with pg_ha.api_keyfile for HTTPS.",
							   "Empty: plain HTTP.  A relative path is relative to the data directory.",
							   &pg_ha_api_certfile, "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.api_keyfile",
							   "PEM private key (unencrypted) of pg_ha.api_certfile.",
							   "The file must not be readable by group or others.",
							   &pg_ha_api_keyfile, "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.api_cafile",
							   "PEM CA certificates: REST API write requests need a client certificate they signed.",
							   "Empty: no client certificates.  Needs pg_ha.api_certfile.",
							   &pg_ha_api_cafile, "",
							   PGC_POSTMASTER, 0,
							   NULL, NULL, NULL);

	/* the operator's commands, run as the server's user: superusers only */
	DefineCustomStringVariable("pg_ha.on_start",
							   "Command run when the server is up after a start (Patroni's on_start callback).",
							   "Split on blanks and run detached with three arguments more: on_start, the role (master or replica), the cluster. Empty: none.",
							   &pg_ha_callback_command[PGHA_CB_ON_START], "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.on_stop",
							   "Command run at a clean shutdown (Patroni's on_stop callback).",
							   "Split on blanks and run detached with three arguments more: on_stop, the role, the cluster. Empty: none.",
							   &pg_ha_callback_command[PGHA_CB_ON_STOP], "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.on_restart",
							   "Command run when the server is back from a restart that pg_ha performed (Patroni's on_restart callback).",
							   "Split on blanks and run detached with three arguments more: on_restart, the role, the cluster. Empty: none.",
							   &pg_ha_callback_command[PGHA_CB_ON_RESTART], "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.on_reload",
							   "Command run after each configuration reload (Patroni's on_reload callback).",
							   "Split on blanks and run detached with three arguments more: on_reload, the role, the cluster. Empty: none.",
							   &pg_ha_callback_command[PGHA_CB_ON_RELOAD], "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);
	DefineCustomStringVariable("pg_ha.on_role_change",
							   "Command run when this node becomes the leader or stops being it (Patroni's on_role_change callback).",
							   "Split on blanks and run detached with three arguments more: on_role_change, the new role (master or replica), the cluster. Empty: none.",
							   &pg_ha_callback_command[PGHA_CB_ON_ROLE_CHANGE], "",
							   PGC_SIGHUP, GUC_SUPERUSER_ONLY,
							   NULL, NULL, NULL);

	MarkGUCPrefixReserved("pg_ha");
}

/*
 * A reload that changes a setting makes PostgreSQL log 'parameter "X"
 * changed to "VALUE"' (the postmaster at LOG, other processes at DEBUG2).
 * For the secrets that would put them in the server log: keep the name,
 * drop the value.  message_id is the untranslated format, so this holds
 * under any lc_messages.
 */
static void
pgha_emit_log_hook(ErrorData *edata)
{
	static const char *const secrets[] = {"pg_ha.consul_token", "pg_ha.api_auth"};

	if (edata->message_id != NULL && edata->message != NULL &&
		strcmp(edata->message_id, "parameter \"%s\" changed to \"%s\"") == 0)
	{
		for (int i = 0; i < lengthof(secrets); i++)
		{
			char	   *quoted = psprintf("\"%s\"", secrets[i]);

			if (strstr(edata->message, quoted) != NULL)
			{
				explicit_bzero(edata->message, strlen(edata->message));
				edata->message = psprintf("parameter %s changed (value not shown)",
										  quoted);
			}
			pfree(quoted);
		}
	}
	if (prev_emit_log_hook)
		prev_emit_log_hook(edata);
}

static void
pgha_shmem_request_hook(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	pgha_shmem_request();
}

static void
pgha_shmem_startup_hook(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	pgha_shmem_startup();
}

/*
 * pg_ha's workers need no database: they start with the postmaster and run
 * during recovery and across crash restarts (restarted after 1 s).
 */
void
pgha_register_worker(const char *function, const char *name)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "pg_ha", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, function, BGW_MAXLEN);
	strlcpy(worker.bgw_name, name, BGW_MAXLEN);
	strlcpy(worker.bgw_type, name, BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

void
_PG_init(void)
{
	char		err[PGHA_ERR_LEN];

	if (!process_shared_preload_libraries_in_progress)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("pg_ha must be loaded via shared_preload_libraries"),
				 errhint("Add pg_ha to shared_preload_libraries in postgresql.conf and restart the server.")));

	{
		char	   *raw[lengthof(pg_ha_guc_names)];

		for (int i = 0; i < lengthof(pg_ha_guc_names); i++)
		{
			const char *v = GetConfigOption(pg_ha_guc_names[i], true, false);

			raw[i] = v ? pstrdup(v) : NULL;
		}
		define_gucs();
		validate_startup_values(raw);
	}

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = pgha_shmem_request_hook;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = pgha_shmem_startup_hook;
	/* loaded or active: the secrets may be set either way */
	prev_emit_log_hook = emit_log_hook;
	emit_log_hook = pgha_emit_log_hook;

	if (!pg_ha_active())
	{
		ereport(LOG,
				(errmsg("pg_ha is loaded but inactive: pg_ha.cluster is not set")));
		return;
	}

	/* At start a bad setting stops the server: better than a silent HA. */
	if (pg_ha_node_name == NULL || pg_ha_node_name[0] == '\0')
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_ha.node_name is not set"),
				 errdetail("pg_ha.cluster is \"%s\", so this node must have a name in it.",
						   pg_ha_cluster),
				 errhint("Set pg_ha.node_name in postgresql.conf to a name unique in the cluster, e.g. pg1.")));
	if (!ha_timing_valid(pg_ha_ttl, pg_ha_loop_wait, pg_ha_retry_timeout,
						 err, sizeof(err)))
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid pg_ha timings: %s", err),
				 errhint("Keep pg_ha.loop_wait + 2 * pg_ha.retry_timeout <= pg_ha.ttl, as Patroni does.")));

	pgha_api_tls_check_startup();

	pgha_fence_init();
	dcs_global_init();
	/* one worker: it serves the REST API too (api.c) */
	pgha_register_worker("pg_ha_worker_main", "pg_ha HA worker");
}
