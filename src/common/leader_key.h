/*-------------------------------------------------------------------------
 *
 * leader_key.h
 *	  The leader key's protocol in Consul: renew, take, steal, release.
 *
 * The leader key stays where Patroni has it (value: the leader's name,
 * locked by its session), but the leader's lease no longer rests on the
 * session: every renewal rewrites the key (a new Flags stamp, so a new
 * ModifyIndex), and the other nodes time each version on their own clock.
 * A version no newer after ttl is stale: its holder's lease, counted from
 * before that write, has ended, and the key may be stolen with a
 * check-and-set on that version.  A key that vanished without the holder's
 * release marker (a session ended early by Consul, a key deleted by hand)
 * is taken only ttl after the vanishing was seen; one released on purpose
 * (a clean stop, a switchover, a dead postmaster seen by its own worker)
 * is taken at once.  docs/architecture.md, "The lease", has the proof.
 *
 * Pure: request bodies and the parser of Consul's answer; no I/O, shared
 * by the HA worker and pg_ha_ctl, unit-tested and fuzzed alone.
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_LEADER_KEY_H
#define PG_HA_LEADER_KEY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* the marker a holder leaves when it gives the key up on purpose */
#define PGHA_RELEASED_KEY	"released"

typedef enum PgHaLeaderOp
{
	PGHA_LEADER_RENEW,			/* still ours: write a new version */
	PGHA_LEADER_TAKE,			/* absent: lock it */
	PGHA_LEADER_STEAL,			/* stale version index: replace it */
	PGHA_LEADER_RELEASE			/* ours: delete it, leave the marker */
} PgHaLeaderOp;

/*
 * The key's Flags: the holder's ttl in ms in the low 32 bits, so that the
 * others wait at least that long even when they run with a lower ttl (the
 * config key lowered it and the holder froze before it saw the change);
 * a counter in the high bits makes each renewal a new version.
 */
#define PGHA_LEADER_FLAGS(counter, ttl_ms) \
	((((uint64_t) (counter) & 0x7fffffffU) << 32) | (uint32_t) (ttl_ms))
#define PGHA_LEADER_FLAGS_TTL(flags)	((int) ((flags) & 0x7fffffffU))

/*
 * The body of PUT /v1/txn for op on "<prefix>leader" (prefix ends with
 * '/').  name: our member name; session: ours; index: the stale version
 * (STEAL only); flags: PGHA_LEADER_FLAGS, the counter differing from the
 * last renewal's (RENEW, TAKE, STEAL).  malloc'd; NULL when out of memory
 * or an argument is bad.
 */
extern char *pgha_leader_txn(PgHaLeaderOp op, const char *prefix,
							 const char *name, const char *session,
							 uint64_t index, uint64_t flags);

/*
 * Consul's answer to that transaction.  HTTP 200: *done true and, for an
 * op that writes the key, *index its new ModifyIndex (0 when the answer
 * has none).  HTTP 409 (rolled back: the key is not as expected): *done
 * false, the first error Consul gave in err.  Anything else: false, with
 * a message in err.
 */
extern bool pgha_parse_leader_txn(long status, const char *body, size_t len,
								  const char *prefix, bool *done,
								  uint64_t *index, char *err, size_t errlen);

/*
 * How long, from now, before a leader key not held by us may be taken:
 * 0 at once.  present: the key exists and is locked; released: the
 * holder's marker is there (the key absent); unchanged_ms: how long this
 * node has seen the key in this very state (same version, or absent), -1
 * when it has not seen it yet; ttl_ms: the cluster's ttl.
 */
extern int64_t pgha_leader_free_in_ms(bool present, bool released,
									  int64_t unchanged_ms, int ttl_ms);

#endif							/* PG_HA_LEADER_KEY_H */
