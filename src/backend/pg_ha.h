/*-------------------------------------------------------------------------
 *
 * pg_ha.h
 *	  What pg_ha.c, the extension's entry point, offers the other files:
 *	  this node's tags as its settings make them, and the registration of
 *	  pg_ha's background workers.
 *
 * The pg_ha.* settings themselves are settings.h's: a file that only reads
 * them includes that header, not this one.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_H
#define PG_HA_H

/* Register a background worker of pg_ha's (started with the postmaster). */
extern void pgha_register_worker(const char *function, const char *name);

/* Tagged nofailover: pg_ha.nofailover, or pg_ha.failover_priority 0. */
extern bool pgha_local_nofailover(void);

/* This node's tags into its member record (member.h's PgHaMember). */
struct PgHaMember;
extern void pgha_local_tags(struct PgHaMember *m);

/*
 * This node's tags object as its member record carries it, into buf (for
 * the REST API: PgHaApiSnapshot.tags_json).  Length, or -1.
 */
extern int	pgha_local_tags_json(char *buf, size_t len);

#endif							/* PG_HA_H */
