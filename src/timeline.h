/*-------------------------------------------------------------------------
 *
 * timeline.h
 *	  Timeline IDs at promotion: which one PostgreSQL takes, and the
 *	  placeholder history files that make it step over IDs other nodes used.
 *
 * The marker is shared with pg_ha_ctl (frontend code), which removes
 * placeholders when it rejoins a node; the functions are backend only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_TIMELINE_H
#define PG_HA_TIMELINE_H

#include <stdint.h>

/* the first line of a placeholder history file, and nothing else */
#define PGHA_TIMELINE_PLACEHOLDER \
	"# pg_ha: a placeholder for a timeline ID that another node took; this node never ran on it\n"

#ifndef FRONTEND
/* The timeline ID a promotion of this standby would take now. */
extern uint32_t pgha_next_timeline(void);

/* Placeholders for the IDs from..to-1 that have no history file. */
extern void pgha_reserve_timelines(uint32_t from, uint32_t to);
#endif

#endif							/* PG_HA_TIMELINE_H */
