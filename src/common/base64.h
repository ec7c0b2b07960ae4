/*-------------------------------------------------------------------------
 *
 * base64.h
 *	  Standard base64 (RFC 4648, padded): Consul's KV values, etcd's keys
 *	  and values.  Pure C, libc only.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_BASE64_H
#define PG_HA_BASE64_H

#include <stddef.h>

/*
 * Decode src[0..srclen).  Returns the decoded length, or -1 on bad input
 * (an unpadded tail included) or when dst (of dstlen bytes) is too small.
 * The output is NUL-terminated when room allows.
 */
extern int	pgha_base64_decode(const char *src, size_t srclen,
							   char *dst, size_t dstlen);

/* Encode src[0..len), padded, malloc'd; NULL when out of memory. */
extern char *pgha_base64_encode(const char *src, size_t len);

#endif							/* PG_HA_BASE64_H */
