/*-------------------------------------------------------------------------
 *
 * timeline.h
 *	  Timeline IDs at promotion: which one PostgreSQL takes, and the
 *	  placeholder history files (pg_ha_files.h) that make it step over IDs
 *	  other nodes used.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_TIMELINE_H
#define PG_HA_TIMELINE_H

#include <stdint.h>

/* The timeline ID a promotion of this standby would take now. */
extern uint32_t pgha_next_timeline(void);

/* Placeholders for the IDs from..to-1 that have no history file. */
extern void pgha_reserve_timelines(uint32_t from, uint32_t to);

#endif							/* PG_HA_TIMELINE_H */
