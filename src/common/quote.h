/*-------------------------------------------------------------------------
 *
 * quote.h
 *	  Values quoted the way PostgreSQL reads them back (quote.c).  Pure C,
 *	  libc only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_QUOTE_H
#define PG_HA_QUOTE_H

/*
 * value as a postgresql.conf string literal, quotes included, malloc'd;
 * NULL when out of memory.
 */
extern char *pgha_conf_literal(const char *value);

/*
 * value as a quoted value of a libpq connection string, quotes included,
 * malloc'd; NULL when out of memory.
 */
extern char *pgha_conninfo_literal(const char *value);

#endif							/* PG_HA_QUOTE_H */
