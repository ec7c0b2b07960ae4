/*-------------------------------------------------------------------------
 *
 * lease.h
 *	  The node's Consul session and health check, the lease on the leader
 *	  key, and fencing (lease.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_LEASE_H
#define PG_HA_LEASE_H

#include "ha_worker.h"

/* Fence this node (terminate: end its client connections too). */
extern void pgha_set_fenced(HaWorker *w, const char *reason, bool terminate);

/* The node leads: its lease in shared memory, unfenced. */
extern void pgha_set_leader(HaWorker *w);

/*
 * The check registered and passed, and a session: the one of the session
 * file when it is still this node's, else a new one.  False with err set.
 */
extern bool pgha_ensure_session(HaWorker *w, char *err, size_t errlen);

/* Pass the check and renew the session, each when its TTL needs it. */
extern bool pgha_renew_member(HaWorker *w, char *err, size_t errlen);

/* The TTL the session counts with, in ms. */
extern int	pgha_session_ttl_ms(const HaWorker *w);

/* Does the last read show our session on the leader key? */
extern bool pgha_key_is_ours(const HaWorker *w);

/* A new version of the leader key was written by us at sent (monotonic). */
extern void pgha_key_written(HaWorker *w, int64 sent, uint64 index);

/* The lease: a new version of the leader key when one is due. */
extern void pgha_renew_leader_key(HaWorker *w, char *err, size_t errlen);

/* Time each state of the leader key from its first sight. */
extern void pgha_watch_leader_key(HaWorker *w);

/* Give the leader key up, with the release marker, if it is ours. */
extern bool pgha_release_leader_key(HaWorker *w);

/* A clean shutdown: hand the key over, end the session (or keep it). */
extern void pgha_release_on_shutdown(HaWorker *w);

/* The postmaster died: free the key at once when safe, and exit. */
extern void pgha_exit_on_postmaster_death(HaWorker *w) pg_attribute_noreturn();

#endif							/* PG_HA_LEASE_H */
