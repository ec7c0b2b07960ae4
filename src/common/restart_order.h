/*-------------------------------------------------------------------------
 *
 * restart_order.h
 *	  Hot standby and rolling restarts: the order in which members may
 *	  restart without a replica stopping on parameters lower than its
 *	  primary's, and the values a member runs with after its restart.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers), a simulation on
 * the cluster as read from Consul: it decides an order, it restarts
 * nothing (the HA worker, the REST API and pg_ha_ctl do).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_RESTART_ORDER_H
#define PG_HA_RESTART_ORDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_limits.h"
#include "member.h"

struct PgHaCluster;

/*
 * A standby stops (or pauses replay) when one of pgha_hs_param_names is
 * lower than the value its primary ran with.  pgha_restart_order() takes
 * the members to restart (names, n of them), the members' running values
 * from their records and the values the config key sets
 * (postgresql.parameters; a member keeps its running value for a
 * parameter the key does not set), and finds an order in which every
 * restart is safe: a restarted replica's new values are at least the
 * leader's running ones, and a restarted leader's new values are at most
 * every running replica's.  Replicas go first (by name) when that is
 * safe, so a raise restarts replicas then the leader, a lowering the
 * leader then the replicas.  Members without published values are not
 * judged.  Returns true with the order in order[] (n names); false with
 * msg and hint set when no order is safe.
 */
extern bool pgha_restart_order(const struct PgHaCluster *c,
							   const char *const *names, int n,
							   char (*order)[PGHA_NAME_LEN],
							   char *msg, size_t msglen,
							   char *hint, size_t hintlen);

/*
 * The values a member runs with after a restart: those the config key sets
 * (postgresql.parameters), else its running ones.
 */
extern void pgha_hs_targets(const struct PgHaCluster *c,
							const int64_t running[PGHA_HS_NPARAMS],
							int64_t targets[PGHA_HS_NPARAMS]);

#endif							/* PG_HA_RESTART_ORDER_H */
