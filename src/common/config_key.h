/*-------------------------------------------------------------------------
 *
 * config_key.h
 *	  The config key, Patroni's dynamic configuration: the PostgreSQL
 *	  parameters it owns cluster-wide, the HA timings and their rule, the
 *	  synchronous mode settings and pause, read from its JSON and edited
 *	  into a new value.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers).  Every edit takes
 * the key's current value as text and returns the new one in the caller's
 * buffer, for a check-and-set write; nothing here talks to Consul.  What
 * the listing keeps of the key (pause, synchronous mode, lag limit) is
 * read into the cluster model (cluster.h).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_CONFIG_KEY_H
#define PG_HA_CONFIG_KEY_H

#include <stdbool.h>
#include <stddef.h>

#include "cluster_limits.h"

#define PGHA_MAX_PARAMS		64
#define PGHA_PARAM_VALUE_LEN	4096

/* One PostgreSQL parameter of the cluster-wide configuration. */
typedef struct PgHaParam
{
	char		name[PGHA_NAME_LEN];	/* lower case */
	char		value[PGHA_PARAM_VALUE_LEN];	/* an archive_command may be long */
} PgHaParam;

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
 * Why name is not a parameter to set cluster-wide (pg_ha sets it itself,
 * or it is per node), or NULL.  In any case, as PostgreSQL's names.  The
 * SQL functions, the REST API and pg_ha_ctl refuse such a parameter, the
 * HA worker leaves it out of pg_ha.conf.
 */
extern const char *pgha_owned_parameter(const char *name);

/*
 * A switch's word as the config key may spell it, a boolean of
 * PostgreSQL's or Patroni's: on, true, yes, 1 or off, false, no, 0, in
 * any case.  False when word is neither; else *on.
 */
extern bool pgha_switch_word(const char *word, bool *on);

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

#endif							/* PG_HA_CONFIG_KEY_H */
