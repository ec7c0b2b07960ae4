/*-------------------------------------------------------------------------
 *
 * history.h
 *	  The keys that record the cluster's timelines: history, Patroni's list
 *	  of past promotions, and promotion, the timeline a promotion in
 *	  progress was started on.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers).  The listing
 * keeps both keys in the cluster model (cluster.h); these read and write
 * their values.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_HISTORY_H
#define PG_HA_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "cluster_limits.h"

#define PGHA_MAX_HISTORY	256		/* history key entries read */
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
 * The promotion key's value: {"timeline":tli,"member":"name"}.  Length, or
 * -1 when buf is too small or the name is not a valid member name.
 */
extern int	pgha_promotion_json(uint32_t timeline, const char *member,
								char *buf, size_t buflen);

#endif							/* PG_HA_HISTORY_H */
