/*-------------------------------------------------------------------------
 *
 * member.h
 *	  A member record, Patroni's members/<name> in Consul: its JSON both
 *	  ways, the record of a stopped member, and the member's tags.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers): parsers fill
 * fixed-size structs and report bad input through an error buffer, so the
 * backend, the CLI, the unit tests and the fuzzers all link it.  What the
 * cluster makes of a member (its role label, the listing it is in) is in
 * cluster.h and sync_key.h.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_MEMBER_H
#define PG_HA_MEMBER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_limits.h"

#define PGHA_TAGS_LEN		512		/* a member's other tags, compact JSON */
/* a whole tags object: the other tags and the five pg_ha reads */
#define PGHA_TAGS_JSON_LEN	(PGHA_TAGS_LEN + 160)

/*
 * The parameters a hot standby needs at least as large as its primary's
 * (PostgreSQL's CheckRequiredParameterValues), in this order everywhere.
 * Each member publishes its running values in its record.
 */
#define PGHA_HS_NPARAMS		5
extern const char *const pgha_hs_param_names[PGHA_HS_NPARAMS];

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

#endif							/* PG_HA_MEMBER_H */
