/*-------------------------------------------------------------------------
 *
 * cluster.h
 *	  The cluster model as pg_ha sees it in Consul, and its JSON forms.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers): every function
 * here parses or formats outside data into fixed-size structs, never
 * allocates memory that outlives the call, and reports bad input through
 * an error buffer.  That keeps it usable from the backend, from the CLI,
 * from unit tests and from fuzzers alike.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CLUSTER_H
#define PG_HA_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PGHA_NAME_LEN		64	/* member, cluster and namespace names */
#define PGHA_URL_LEN		256
#define PGHA_SESSION_LEN	40	/* Consul session UUID (36) + NUL */
#define PGHA_SHORT_LEN		32	/* state, role, version, sysid */
#define PGHA_ERR_LEN		256
#define PGHA_MAX_MEMBERS	32
#define PGHA_CONFIG_LEN		8192	/* the config key's JSON kept as text */
#define PGHA_MAX_PARAMS		64
#define PGHA_PARAM_VALUE_LEN	4096
#define PGHA_DEFAULT_MAX_LAG	1048576 /* Patroni's default, bytes */
#define PGHA_MAX_SYNC		8		/* synchronous standbys named at once */
#define PGHA_MAX_HISTORY	256		/* history key entries read */
#define PGHA_TAGS_LEN		512		/* a member's other tags, compact JSON */
/* a whole tags object: the other tags and the five pg_ha reads */
#define PGHA_TAGS_JSON_LEN	(PGHA_TAGS_LEN + 160)

/*
 * The parameters a hot standby needs at least as large as its primary's
 * (PostgreSQL's CheckRequiredParameterValues), in this order everywhere.
 */
#define PGHA_HS_NPARAMS		5
extern const char *const pgha_hs_param_names[PGHA_HS_NPARAMS];

/* One PostgreSQL parameter of the cluster-wide configuration. */
typedef struct PgHaParam
{
	char		name[PGHA_NAME_LEN];	/* lower case */
	char		value[PGHA_PARAM_VALUE_LEN];	/* an archive_command may be long */
} PgHaParam;

/* A member record: Patroni's members/<name> JSON plus Consul metadata. */
typedef struct PgHaMember
{
	char		name[PGHA_NAME_LEN];	/* last component of the key */
	char		conn_url[PGHA_URL_LEN];
	char		api_url[PGHA_URL_LEN];
	char		state[PGHA_SHORT_LEN];	/* running, stopped, starting... */
	char		role[PGHA_SHORT_LEN];	/* master, primary, replica... */
	char		version[PGHA_SHORT_LEN];
	bool		has_xlog;
	int64_t		xlog_location;	/* bytes */
	uint32_t	timeline;		/* 0 when absent */
	bool		pending_restart;
	bool		pause;			/* the member sees the cluster paused */
	/*
	 * Patroni's tags.  nofailover is the member's own word (tags.nofailover)
	 * or, without it, a failover_priority of 0 or less (Patroni 3.2's rule:
	 * an explicit nofailover wins over the priority).
	 */
	bool		nofailover;
	bool		nosync;			/* tags.nosync: never a synchronous standby */
	bool		noloadbalance;	/* tags.noloadbalance: no /replica traffic */
	bool		clonefrom;		/* tags.clonefrom: a source for new nodes */
	bool		has_failover_priority;	/* tags.failover_priority read as an
										 * integer (else it counts as 1) */
	int			failover_priority;
	/* every other tag, a compact JSON object; "" when none (or too long) */
	char		tags_json[PGHA_TAGS_LEN];
	bool		has_hs_values;	/* hot_standby_parameters was published */
	int64_t		hs_values[PGHA_HS_NPARAMS];	/* running values, in that order */
	char		session[PGHA_SESSION_LEN];	/* Consul session holding the key */
	uint64_t	modify_index;	/* the key's ModifyIndex, 0 when not given */
	int64_t		last_seen_ms;	/* a stopped record's last_seen, epoch ms;
								 * 0 when not given */

	/*
	 * When the member's server started, epoch ms (0: not given), published
	 * as pg_ha's own postmaster_start_time: a requested restart is over
	 * once a newer server publishes its record (pgha_restart_outcome).
	 */
	int64_t		start_ms;

	/*
	 * Patroni's scheduled_restart: the member's restart/<name> request while
	 * it is scheduled and not started, {"schedule": <iso>, "restart_pending":
	 * true (only when set), "postmaster_start_time": <iso>}, which
	 * patronictl list -e and flush read.
	 */
	bool		has_scheduled_restart;
	int64_t		scheduled_restart_ms;	/* its schedule, epoch ms */
	bool		scheduled_restart_pending;	/* restart_pending */
} PgHaMember;

/* A restart request: restart/<member>, written by pg_ha_restart() & co. */
typedef struct PgHaRestartRequest
{
	char		member[PGHA_NAME_LEN];
	bool		pending_only;
	bool		scheduled;
	int64_t		scheduled_ms;
	uint64_t	modify_index;
	char		wait_for[PGHA_NAME_LEN];	/* restart after this member */
	bool		any_order;	/* skip the hot standby order check */
	int64_t		restarting;	/* start time (epoch ms) of the server
							 * being restarted; 0: not started */
} PgHaRestartRequest;

/*
 * A member's HA worker gives a restart it started up after this long (a
 * restart_command that failed, pg_ctl that gave up: pg_ctl restart -t 120,
 * and more), and removes the request.
 */
#define PGHA_RESTART_GIVE_UP_MS	180000

/* Everything under <namespace>/<cluster>/ that pg_ha uses. */
typedef struct PgHaCluster
{
	uint64_t	index;			/* X-Consul-Index of the listing */

	bool		has_initialize;
	char		initialize[PGHA_SHORT_LEN];	/* system identifier, decimal */

	bool		has_leader;
	char		leader[PGHA_NAME_LEN];
	char		leader_session[PGHA_SESSION_LEN];	/* empty: key not locked */
	uint64_t	leader_modify_index;
	int			leader_ttl_ms;	/* the holder's ttl, from the key's Flags
								 * (leader_key.h); 0 when not given */
	bool		leader_released;	/* the last holder's release marker is
									 * there (leader_key.h) */

	bool		has_config;		/* the config key exists */
	bool		config_valid;	/* ... and parsed as a JSON object */
	bool		paused;			/* config.pause */
	char		config_json[PGHA_CONFIG_LEN];	/* "" when absent or too large */
	char		history_json[PGHA_CONFIG_LEN];	/* the history key, or "" */
	int64_t		max_lag_on_failover;	/* config.maximum_lag_on_failover,
										 * bytes */

	/* synchronous mode: the config key's switches (Patroni's names) */
	bool		sync_mode;		/* config.synchronous_mode */
	bool		sync_mode_unreadable;	/* ... is there, but not a boolean */
	bool		sync_mode_strict;	/* config.synchronous_mode_strict */
	int			sync_node_count;	/* config.synchronous_node_count, 1.. */

	/*
	 * The sync key, {"leader": .., "sync_standby": "a,b" or null}: the
	 * members that have every commit the leader acknowledged.  has_sync is
	 * true when it exists and could be read (sync_leader may still be "").
	 */
	bool		sync_key_exists;
	uint64_t	sync_modify_index;	/* for cas; meaningful when it exists */
	bool		has_sync;
	char		sync_leader[PGHA_NAME_LEN];
	int			nsync;
	char		sync_standby[PGHA_MAX_SYNC][PGHA_NAME_LEN];

	bool		has_optime;
	int64_t		optime;			/* status.optime or optime/leader */

	/*
	 * The promotion key, {"timeline": N, "member": ".."}: the highest
	 * timeline ID a promotion in this cluster was started on, written
	 * before the promotion (timeline.c).  promotion_index is the key's
	 * ModifyIndex whatever it holds (0: no key), for check-and-set.
	 */
	bool		has_promotion;
	uint32_t	promotion_timeline;
	char		promotion_member[PGHA_NAME_LEN];
	uint64_t	promotion_index;

	bool		has_failover;	/* failover key with a non-empty object */
	char		failover_leader[PGHA_NAME_LEN];	/* "" when not given */
	char		failover_member[PGHA_NAME_LEN];	/* "" when not given */
	bool		failover_scheduled;
	int64_t		failover_scheduled_ms;	/* epoch ms of scheduled_at */
	uint64_t	failover_modify_index;
	/*
	 * The key's ModifyIndex whatever it holds, 0 when it does not exist: a
	 * new request replaces a key that holds none ({} is what patronictl
	 * flush writes) with a check-and-set on this index.
	 */
	uint64_t	failover_key_index;

	int			nmembers;
	PgHaMember	members[PGHA_MAX_MEMBERS];	/* live: held by a session */

	/*
	 * Stopped members: members/<name> records that no session holds (the
	 * leader writes one in place of a record that vanished, see
	 * member_record.c).  For the listings only (pg_ha_status, /cluster,
	 * pg_ha_ctl list): no decision ever reads them, so a stopped member is
	 * never a candidate, a slot owner or a synchronous standby.
	 */
	int			nstopped;
	PgHaMember	stopped[PGHA_MAX_MEMBERS];

	/* restart requests: restart/<member> = {"pending_only":, "scheduled_at":} */
	int			nrestarts;
	PgHaRestartRequest restarts[PGHA_MAX_MEMBERS];

	/* bad records skipped while parsing (e.g. a member with bad JSON) */
	int			nwarnings;
	char		warning[PGHA_ERR_LEN];	/* the first one */
} PgHaCluster;

/*
 * Decode standard base64 (Consul's KV "Value").  Returns the decoded length,
 * or -1 on bad input or when dst (of dstlen bytes) is too small.  The
 * output is NUL-terminated when room allows.
 */
extern int	pgha_base64_decode(const char *src, size_t srclen,
							   char *dst, size_t dstlen);

/*
 * Parse the answer of GET /v1/kv/<prefix>?recurse (a JSON array of KV
 * entries).  prefix is "<namespace>/<cluster>/".  Keys outside the prefix
 * are ignored; a bad member record is skipped with a warning.  Returns
 * true and fills *out (zeroed first, index left to the caller) on success;
 * false with errbuf set when the body as a whole is not a KV listing, in
 * which case *out is left untouched.
 */
extern bool pgha_parse_kv_listing(const char *body, size_t len,
								  const char *prefix, PgHaCluster *out,
								  char *errbuf, size_t errlen);

/*
 * Parse one member record (value of members/<name>) into *m, name and
 * session left alone.  False with errbuf set on bad JSON or wrong types.
 */
extern bool pgha_parse_member(const char *json, size_t len, PgHaMember *m,
							  char *errbuf, size_t errlen);

/*
 * Format a member record as Patroni writes it (conn_url, api_url, state,
 * role, version, xlog_location, timeline, pending_restart, tags).  Returns
 * the length written, or -1 when buf is too small.
 */
extern int	pgha_member_to_json(const PgHaMember *m, char *buf, size_t buflen);

/*
 * Tags (Patroni's names and meanings).  The tags object of a member as its
 * record carries it: nofailover, failover_priority, clonefrom,
 * noloadbalance and nosync when set (Patroni leaves out false ones), then
 * the other tags in their order.  "{}" when it has none.  Length, or -1
 * when buf is too small or tags_json is not a JSON object.
 */
extern int	pgha_member_tags_json(const PgHaMember *m, char *buf, size_t buflen);

/*
 * A member's failover priority as Patroni 3.2 counts it: 0 when it is
 * tagged nofailover, else tags.failover_priority, 1 when not given.  Among
 * equally advanced replicas the highest takes over.
 */
extern int	pgha_member_failover_priority(const PgHaMember *m);

/* Is name one of the tags pg_ha reads itself (nofailover, nosync...)? */
extern bool pgha_is_builtin_tag(const char *name);

/*
 * Check the text of pg_ha.tags, a node's other tags: empty, or a JSON
 * object of at most PGHA_TAGS_LEN - 1 bytes in compact form whose names
 * are valid names (pgha_valid_name) other than the tags with settings of
 * their own, and whose values are strings, numbers or booleans.  True with
 * the compact form in canon ("" for none); false with errbuf set.
 */
extern bool pgha_parse_user_tags(const char *text, char *canon,
								 size_t canonlen, char *errbuf,
								 size_t errlen);

/* Parse {"ID": "<uuid>"} from PUT /v1/session/create. */
extern bool pgha_parse_session_create(const char *body, size_t len,
									  char *id, size_t idlen,
									  char *errbuf, size_t errlen);

/*
 * Parse GET /v1/session/info/<id>: true with *exists set when the body is
 * a JSON array (empty or null: the session is gone).
 */
extern bool pgha_parse_session_info(const char *body, size_t len,
									bool *exists, char *errbuf, size_t errlen);

/*
 * The TTL of the session in a GET /v1/session/info/<id> answer, in ms
 * ("15s", "1m30s" ...).  False when absent or not a duration.
 */
extern bool pgha_parse_session_ttl(const char *body, size_t len, int *ttl_ms);

/* Parse the "true"/"false" body of a KV PUT or DELETE. */
extern bool pgha_parse_bool_body(const char *body, size_t len, bool *result,
								 char *errbuf, size_t errlen);

/*
 * Parse one HTTP response header line (len bytes, CRLF included or not) for
 * Consul's X-Consul-Index.  True with *index set when it is that header
 * (name in any case) with a decimal value; false for other headers and
 * malformed values (signs, junk, overflow), *index untouched.
 */
extern bool pgha_parse_consul_index(const char *line, size_t len,
									uint64_t *index);

/*
 * The message for a non-2xx answer of Consul: "Consul refused <what>: HTTP
 * <status>: <reason>", the reason being the start of Consul's one-line
 * body with unprintable and non-ASCII bytes as '?', safe to log.
 */
extern void pgha_consul_refusal(const char *what, long status,
								const char *body, size_t len,
								char *errbuf, size_t errlen);

/*
 * Parse the answer of GET /v1/kv/<key>: a JSON array whose first element is
 * the key's entry.  True with its ModifyIndex and its decoded Value as text
 * (malloc'ed, NUL-terminated, "" when empty or null; the caller frees it).
 * False with errbuf set when the body is not a KV entry or the value is not
 * text (not a string, bad base64, a NUL byte); *value is then NULL.
 */
extern bool pgha_parse_kv_entry(const char *body, size_t len,
								uint64_t *modify_index, char **value,
								size_t *valuelen, char *errbuf,
								size_t errlen);

/*
 * The failover key's value, Patroni's format: {"leader": .., "member": ..,
 * "scheduled_at": ..}, each only when not NULL.  Length, or -1.
 */
extern int	pgha_failover_request_json(const char *leader, const char *member,
									   const char *scheduled_at,
									   char *buf, size_t buflen);

/*
 * The config key's value with "pause" set (pause) or removed; config may be
 * NULL (no key yet).  Returns the length; -1 with errbuf set when config is
 * not a JSON object; -2 when it is already in that state.
 */
extern int	pgha_config_with_pause(const char *config, size_t len, bool pause,
								   char *buf, size_t buflen,
								   char *errbuf, size_t errlen);

/*
 * The config key's value with postgresql.parameters.<name> set to value
 * (NULL: removed).  A value that reads as an integer is stored as one, as
 * Patroni does.  Length, or -1 with errbuf set.
 */
extern int	pgha_config_with_parameter(const char *config, const char *name,
									   const char *value, char *buf,
									   size_t buflen, char *errbuf,
									   size_t errlen);

/*
 * The cluster-wide synchronous mode settings, top-level keys of the config
 * key: synchronous_mode and synchronous_mode_strict (booleans, written as
 * JSON true/false; "on", "off", "true", "false", "yes", "no", "1", "0"
 * accepted) and synchronous_node_count (1 to PGHA_MAX_SYNC).
 */
extern bool pgha_is_sync_setting(const char *name);

/* Check value for setting name: true with *v (0/1 or the count). */
extern bool pgha_sync_setting_value(const char *name, const char *value,
									long long *v, char *errbuf, size_t errlen);

/*
 * The config key's value with setting name set to value (NULL: removed).
 * Length, or -1 with errbuf set (bad value, config not an object).
 */
extern int	pgha_config_with_sync_setting(const char *config, const char *name,
										  const char *value, char *buf,
										  size_t buflen, char *errbuf,
										  size_t errlen);

/*
 * Does a parameter value read as a whole integer?  Such values are stored
 * in the config key as JSON numbers, as Patroni does.
 */
extern bool pgha_value_is_integer(const char *value, long long *result);

/*
 * The postgresql.parameters of a config key's JSON, as name/value text
 * (numbers as written, booleans as on/off; names in lower case).  Returns
 * how many, or -1 with errbuf set when the config or its parameters object
 * is not usable.  A bad entry is skipped alone, the first one said in
 * errbuf.
 */
extern int	pgha_config_parameters(const char *config, PgHaParam *params,
								   int maxparams, char *errbuf, size_t errlen);

/*
 * The HA timings of the config key (Patroni's ttl, loop_wait and
 * retry_timeout, in seconds: integers, reals or numeric strings), in ms.
 * Each present one overwrites *ttl_ms, *loop_wait_ms or *retry_timeout_ms;
 * absent ones are left as the caller set them (its local settings).  False
 * with errbuf set, and nothing changed, when one is present but not a
 * number of seconds within pg_ha's range of that setting.
 */
extern bool pgha_config_timings(const char *config, int *ttl_ms,
								int *loop_wait_ms, int *retry_timeout_ms,
								char *errbuf, size_t errlen);

/*
 * Patroni's timing rule, loop_wait + 2 * retry_timeout <= ttl (all in ms):
 * a leader gets two full Consul attempts between rounds before its lease
 * runs out.  False with a message in errbuf when violated.
 */
extern bool pgha_timing_valid(int ttl_ms, int loop_wait_ms,
							  int retry_timeout_ms, char *errbuf,
							  size_t errlen);

/*
 * The config key's value with the top-level timing name (ttl, loop_wait or
 * retry_timeout) set to ms milliseconds (< 0: removed), written in seconds
 * (an integer when whole, as Patroni writes it).  Length, or -1 with
 * errbuf set.
 */
extern int	pgha_config_with_timing(const char *config, const char *name,
									int ms, char *buf, size_t buflen,
									char *errbuf, size_t errlen);

/*
 * Hot standby and rolling restarts.  A standby stops (or pauses replay)
 * when one of pgha_hs_param_names is lower than the value its primary ran
 * with.  pgha_restart_order() takes the members to restart (names, n of
 * them), the members' running values from their records and the values
 * the config key sets (postgresql.parameters; a member keeps its running
 * value for a parameter the key does not set), and finds an order in
 * which every restart is safe: a restarted replica's new values are at
 * least the leader's running ones, and a restarted leader's new values
 * are at most every running replica's.  Replicas go first (by name) when
 * that is safe, so a raise restarts replicas then the leader, a lowering
 * the leader then the replicas.  Members without published values are not
 * judged.  Returns true with the order in order[] (n names); false with
 * msg and hint set when no order is safe.
 */
extern bool pgha_restart_order(const PgHaCluster *c, const char *const *names,
							   int n, char (*order)[PGHA_NAME_LEN],
							   char *msg, size_t msglen,
							   char *hint, size_t hintlen);

/*
 * The values a member runs with after a restart: those the config key sets
 * (postgresql.parameters), else its running ones.
 */
extern void pgha_hs_targets(const PgHaCluster *c,
							const int64_t running[PGHA_HS_NPARAMS],
							int64_t targets[PGHA_HS_NPARAMS]);

/* A member's WAL position as its REST API gives it now (GET /patroni). */
typedef struct PgHaFreshPosition
{
	bool		has_xlog;
	int64_t		xlog;			/* received or replayed (replica), or
								 * written (primary), bytes */
	uint32_t	timeline;		/* 0 when not given */
	char		role[PGHA_SHORT_LEN];	/* "" when not given */
} PgHaFreshPosition;

/*
 * Parse a /patroni answer: {"role":..,"timeline":..,"xlog":{"location":..}
 * or {"received_location":..,"replayed_location":..}}.  False with errbuf
 * set when it is not such an object.
 */
extern bool pgha_parse_patroni_status(const char *body, size_t len,
									  PgHaFreshPosition *out,
									  char *errbuf, size_t errlen);

/*
 * The promotion key's value: {"timeline":tli,"member":"name"}.  Length, or
 * -1 when buf is too small or the name is not a valid member name.
 */
extern int	pgha_promotion_json(uint32_t timeline, const char *member,
								char *buf, size_t buflen);

/* One entry of the history key. */
typedef struct PgHaHistoryEntry
{
	uint32_t	timeline;
	int64_t		lsn;
	char		reason[PGHA_ERR_LEN];
	char		when[PGHA_SHORT_LEN * 2];
	char		leader[PGHA_NAME_LEN];
} PgHaHistoryEntry;

/*
 * Parse the history key (a JSON array of [timeline, lsn, reason, time,
 * leader]; the last two may be absent in old Patroni).  Returns the number
 * of entries (at most max, the newest kept), or -1 with errbuf set.
 */
extern int	pgha_parse_history(const char *history, PgHaHistoryEntry *entries,
							   int max, char *errbuf, size_t errlen);

/*
 * The history key's value (NULL: none yet) with one entry appended, as
 * Patroni writes it: [timeline, switch lsn, reason, iso time, new leader].
 * Length, or -1 with errbuf set.
 */
extern int	pgha_history_append(const char *history, uint32_t timeline,
								int64_t lsn, const char *reason,
								const char *when, const char *leader,
								char *buf, size_t buflen,
								char *errbuf, size_t errlen);

/*
 * Parse an ISO 8601 time as Patroni writes it ("2026-11-25T20:00:00+00:00",
 * fraction and "Z" allowed, a space instead of "T" too) into epoch ms.
 */
extern bool pgha_parse_iso_time(const char *s, int64_t *epoch_ms);

/*
 * The sync key's value as Patroni writes it: {"leader": leader,
 * "sync_standby": names sorted and joined by commas, or null when n is 0}.
 * Length, or -1 when buf is too small.
 */
extern int	pgha_sync_json(const char *leader,
						   const char (*standbys)[PGHA_NAME_LEN], int n,
						   char *buf, size_t buflen);

/*
 * Is synchronous mode in force with a readable sync key that names a
 * leader (Patroni's sync_mode_is_active)?  Then only the members the key
 * names may take over automatically.
 */
extern bool pgha_sync_active(const PgHaCluster *c);

/* Does the sync key name member as a synchronous standby? */
extern bool pgha_sync_is_standby(const PgHaCluster *c, const char *member);

/* ... as a synchronous standby or as the leader (Patroni's matches())? */
extern bool pgha_sync_matches(const PgHaCluster *c, const char *member);

/*
 * Synchronous mode and an operator's switchover or failover to candidate
 * (NULL: pg_ha chooses): NULL when allowed, else why not (a phrase).
 * While a leader runs only a synchronous standby may take over from it
 * (Patroni's rule; its leader would drop the request anyway).  Without a
 * leader, another member may lack acknowledged commits: refused unless
 * force.
 */
extern const char *pgha_sync_candidate_refusal(const PgHaCluster *c,
											   const char *candidate,
											   bool has_leader, bool force);

/*
 * The member's role as patronictl list shows it: "Leader", "Sync Standby"
 * (synchronous mode, named in the sync key of the current leader) or
 * "Replica".  api_style gives Patroni's /cluster spelling instead
 * ("leader", "sync_standby", "replica").
 */
extern const char *pgha_member_role_label(const PgHaCluster *c,
										  const PgHaMember *m, bool api_style);

/* Physical slot name of a member: lower case, [a-z0-9_] only. */
extern void pgha_slot_name(const char *member, char *slot, size_t len);

/* host and port out of postgres://host:port/db; false when malformed */
extern bool pgha_split_conn_url(const char *url, char *host, size_t hostlen,
								int *port);

/* Is s a valid cluster, namespace or member name (used as a key part)? */
extern bool pgha_valid_name(const char *s);

/* The member named name, or NULL. */
extern const PgHaMember *pgha_find_member(const PgHaCluster *c,
										  const char *name);

/* The stopped member named name (a record no session holds), or NULL. */
extern const PgHaMember *pgha_find_stopped_member(const PgHaCluster *c,
												  const char *name);

/*
 * The role of a stopped member as the listings show it: as
 * pgha_member_role_label(), but never the leader (a record no session
 * holds is no running server).
 */
extern const char *pgha_stopped_role_label(const PgHaCluster *c,
										   const PgHaMember *m,
										   bool api_style);

/*
 * Format epoch ms as ISO 8601 in UTC, as Patroni writes times:
 * "2026-11-25T17:21:22.394+00:00".  False when out of 1970..9999 or buf
 * (PGHA_ISO_TIME_LEN bytes suffice) is too small.
 */
#define PGHA_ISO_TIME_LEN	32
extern bool pgha_format_iso_time(int64_t epoch_ms, char *buf, size_t len);

/*
 * The record the leader writes in place of a member's record that
 * vanished (its server stopped): Patroni's member format with the last
 * conn_url, api_url, role, version and tags of the live record, state
 * "stopped", no position (so its lag is "unknown" everywhere, patronictl
 * included), and "last_seen", the ISO time of the last read that listed
 * the member running.  Length, or -1.
 */
extern int	pgha_stopped_member_json(const PgHaMember *last,
									 int64_t last_seen_ms,
									 char *buf, size_t buflen);

/*
 * Which members stopped: a node's memory of the live members it read, kept
 * from one read of the cluster to the next (member_record.c).  A member
 * whose record vanished is "gone" until a stopped record for it appears,
 * it comes back, or forget_after_ms (monotonic) have passed.
 */
typedef struct PgHaSeenMember
{
	PgHaMember	last;			/* its last live record */
	int64_t		last_seen_ms;	/* epoch ms of the last read listing it */
	bool		gone;			/* absent, and no stopped record yet */
	int64_t		gone_since_ms;	/* monotonic ms: first read without it */
} PgHaSeenMember;

typedef struct PgHaMemberTracker
{
	int			n;
	PgHaSeenMember seen[PGHA_MAX_MEMBERS * 2];
} PgHaMemberTracker;

/*
 * Take one read of the cluster: remember every live member but self (at
 * wall time now_epoch_ms), and mark those that vanished.  Returns how
 * many members are gone without a stopped record, their indexes into
 * t->seen in due[] (room for PGHA_MAX_MEMBERS * 2).
 */
extern int	pgha_track_members(PgHaMemberTracker *t, const PgHaCluster *c,
							   const char *self, int64_t now_ms,
							   int64_t now_epoch_ms, int64_t forget_after_ms,
							   int *due);

/* Forget the member name (its stopped record was written, or refused). */
extern void pgha_track_forget(PgHaMemberTracker *t, const char *name);

#endif							/* PG_HA_CLUSTER_H */
