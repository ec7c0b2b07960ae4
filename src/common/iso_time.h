/*-------------------------------------------------------------------------
 *
 * iso_time.h
 *	  ISO 8601 times as Patroni writes them in Consul, to and from epoch
 *	  milliseconds.
 *
 * Pure C (libc only), in UTC, without the C library's time zone or locale:
 * the same text gives the same time in the backend, the CLI, the unit
 * tests and the fuzzers.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_ISO_TIME_H
#define PG_HA_ISO_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Parse an ISO 8601 time as Patroni writes it ("2026-11-25T20:00:00+00:00",
 * fraction and "Z" allowed, a space instead of "T" too) into epoch ms.
 */
extern bool pgha_parse_iso_time(const char *s, int64_t *epoch_ms);

/*
 * Format epoch ms as ISO 8601 in UTC, as Patroni writes times:
 * "2026-11-25T17:21:22.394+00:00".  False when out of 1970..9999 or buf
 * (PGHA_ISO_TIME_LEN bytes suffice) is too small.
 */
#define PGHA_ISO_TIME_LEN	32
extern bool pgha_format_iso_time(int64_t epoch_ms, char *buf, size_t len);

#endif							/* PG_HA_ISO_TIME_H */
