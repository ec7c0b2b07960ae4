/*-------------------------------------------------------------------------
 *
 * etcd_json.h
 *	  etcd v3 through its JSON gateway (the grpc-gateway of etcd 3.4): the
 *	  request bodies pg_ha sends and the parsers of the answers.
 *
 * The gateway speaks protobuf's JSON mapping: keys and values travel in
 * base64, int64 fields are JSON strings ("revision": "12"), and a field
 * that is zero, false or empty is left out (a key without a lease has no
 * "lease", a failed transaction no "succeeded", a PUT event no "type", a
 * range that found nothing no "kvs").  Errors come as
 * {"error": "...", "message": "...", "code": N} (N a gRPC code), or on
 * the streaming endpoints (lease keep-alive, watch) as
 * {"error": {"grpc_code": N, "http_code": H, "message": "...", ...}}.
 *
 * Pure C (libc and jansson only, no PostgreSQL headers), as cluster.h:
 * every parser fills the caller's fixed-size struct, decodes keys and
 * values into the caller's arena (so nothing allocated outlives the
 * call), accepts any input, and on failure zeroes the struct and says why
 * in the error buffer.  Every builder writes a NUL-terminated body into
 * the caller's buffer and returns its length, or -1 when an argument is
 * bad, the buffer too small or memory short.  Base64 is base64.h's.
 *
 * What this file is not for: talking HTTP, or what the keys mean
 * (Patroni's layout under /service/<scope>/ is the DCS client's).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_ETCD_JSON_H
#define PG_HA_ETCD_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cluster_limits.h"

/* entries of one range answer, one transaction or one watch message */
#define PGHA_ETCD_MAX_KVS		128
/* results of one transaction: pg_ha's have one or two operations a branch */
#define PGHA_ETCD_MAX_TXN_OPS	8
/* a larger answer is refused before it is parsed */
#define PGHA_ETCD_MAX_BODY		(16 * 1024 * 1024)
/* the longest key a request builder takes, NUL included */
#define PGHA_ETCD_KEY_LEN		512

/* the gRPC codes pg_ha tells apart (etcd's rpctypes) */
#define PGHA_ETCD_INVALID_ARGUMENT	3
#define PGHA_ETCD_NOT_FOUND			5	/* "requested lease not found" */
#define PGHA_ETCD_OUT_OF_RANGE		11	/* "required revision has been compacted" */
#define PGHA_ETCD_UNAVAILABLE		14	/* "no leader", "request timed out" */

/* The header of every answer. */
typedef struct PgHaEtcdHeader
{
	uint64_t	cluster_id;
	uint64_t	member_id;
	int64_t		revision;		/* the store's revision when it answered */
	uint64_t	raft_term;
} PgHaEtcdHeader;

/*
 * One key-value.  key and value point into the caller's arena, each
 * NUL-terminated; etcd's keys and values are bytes and may hold NULs, so
 * the lengths count.  value is "" for an empty value and in a DELETE event.
 */
typedef struct PgHaEtcdKv
{
	const char *key;
	size_t		key_len;
	const char *value;
	size_t		value_len;
	int64_t		create_revision;
	int64_t		mod_revision;
	int64_t		version;		/* writes since its creation, 1 first */
	int64_t		lease;			/* 0: bound to no lease */
} PgHaEtcdKv;

/* The answer of /v3/kv/range. */
typedef struct PgHaEtcdRange
{
	PgHaEtcdHeader header;
	int64_t		count;			/* keys in the range, beyond a limit too */
	bool		more;			/* a limit cut the range */
	int			nkvs;
	PgHaEtcdKv	kvs[PGHA_ETCD_MAX_KVS];
} PgHaEtcdRange;

typedef enum PgHaEtcdOp
{
	PGHA_ETCD_OP_PUT,
	PGHA_ETCD_OP_RANGE,
	PGHA_ETCD_OP_DELETE
} PgHaEtcdOp;

/* One operation's result in a transaction's answer. */
typedef struct PgHaEtcdTxnResult
{
	PgHaEtcdOp	op;
	int64_t		revision;		/* its header's */
	int64_t		deleted;		/* DELETE: keys deleted */
	int64_t		count;			/* RANGE: keys in the range */
	int			first_kv;		/* RANGE: its entries are */
	int			nkvs;			/* kvs[first_kv .. first_kv + nkvs - 1] */
} PgHaEtcdTxnResult;

/* The answer of /v3/kv/txn. */
typedef struct PgHaEtcdTxn
{
	PgHaEtcdHeader header;
	bool		succeeded;		/* the compare held: the success branch ran */
	int			nresults;
	PgHaEtcdTxnResult results[PGHA_ETCD_MAX_TXN_OPS];
	int			nkvs;			/* the entries of every RANGE result */
	PgHaEtcdKv	kvs[PGHA_ETCD_MAX_KVS];
} PgHaEtcdTxn;

/* The answer of /v3/lease/grant or /v3/lease/keepalive. */
typedef struct PgHaEtcdLease
{
	PgHaEtcdHeader header;
	int64_t		id;
	int64_t		ttl;			/* seconds; keep-alive: 0 when the lease is gone */
} PgHaEtcdLease;

typedef enum PgHaEtcdEventType
{
	PGHA_ETCD_EVENT_PUT,
	PGHA_ETCD_EVENT_DELETE
} PgHaEtcdEventType;

typedef struct PgHaEtcdEvent
{
	PgHaEtcdEventType type;
	PgHaEtcdKv	kv;				/* DELETE: key and mod_revision only */
} PgHaEtcdEvent;

/* One message of the /v3/watch stream. */
typedef struct PgHaEtcdWatch
{
	PgHaEtcdHeader header;
	int64_t		watch_id;
	bool		created;		/* the first message: the watch runs */
	bool		canceled;		/* the last one: the watch ended */
	int64_t		compact_revision;	/* canceled: its start was compacted */
	char		cancel_reason[PGHA_ERR_LEN];	/* printable ASCII */
	int			nevents;
	PgHaEtcdEvent events[PGHA_ETCD_MAX_KVS];
} PgHaEtcdWatch;

/* An error answer, either form. */
typedef struct PgHaEtcdError
{
	int			code;			/* gRPC code */
	int			http_code;		/* the streaming form's, else 0 */
	char		message[PGHA_ERR_LEN];	/* printable ASCII */
} PgHaEtcdError;

/*
 * The parsers.  body is len bytes (NUL bytes included); an error answer
 * is a failure too, with "etcd error <code>: <message>" in errbuf.  The
 * range, txn and watch parsers decode keys and values into arena
 * (arenalen bytes; each takes its length + 1, and one of n base64
 * characters needs n / 4 * 3 + 1 free to be decoded): an answer that does
 * not fit fails.
 */
extern bool pgha_etcd_parse_range(const char *body, size_t len,
								  PgHaEtcdRange *out, char *arena,
								  size_t arenalen, char *errbuf,
								  size_t errlen);
extern bool pgha_etcd_parse_txn(const char *body, size_t len,
								PgHaEtcdTxn *out, char *arena,
								size_t arenalen, char *errbuf, size_t errlen);

/*
 * The answer of a put or a lease revoke: its header alone.  deleted (may
 * be NULL) receives a deleterange's count of deleted keys.
 */
extern bool pgha_etcd_parse_header(const char *body, size_t len,
								   PgHaEtcdHeader *out, int64_t *deleted,
								   char *errbuf, size_t errlen);

/* A grant: an ID and a TTL, both positive. */
extern bool pgha_etcd_parse_lease_grant(const char *body, size_t len,
										PgHaEtcdLease *out, char *errbuf,
										size_t errlen);

/*
 * A keep-alive: {"result": {...}}; a TTL left out or 0 means the lease is
 * gone (expired or revoked), which is not a failure.
 */
extern bool pgha_etcd_parse_lease_keepalive(const char *body, size_t len,
											PgHaEtcdLease *out, char *errbuf,
											size_t errlen);

/*
 * One message of a watch stream ({"result": {...}}); the gateway ends each
 * with a newline, and no message holds one, so the caller splits there.
 */
extern bool pgha_etcd_parse_watch(const char *body, size_t len,
								  PgHaEtcdWatch *out, char *arena,
								  size_t arenalen, char *errbuf,
								  size_t errlen);

/* Is body an error answer (either form)?  Then fills *out. */
extern bool pgha_etcd_parse_error(const char *body, size_t len,
								  PgHaEtcdError *out);

/*
 * The range_end that makes a range cover every key starting with prefix
 * (len bytes): the prefix with its last byte plus one, after dropping
 * trailing 0xff bytes; a single NUL byte (every key from prefix on) when
 * nothing is left.  Returns its length, or -1 when dst is too small.
 */
extern int	pgha_etcd_prefix_end(const char *prefix, size_t len, char *dst,
								 size_t dstlen);

/*
 * The request bodies.  Keys are NUL-terminated, not empty, and shorter
 * than PGHA_ETCD_KEY_LEN; values are value_len bytes.  A lease of 0 binds
 * to none.
 */

/* /v3/kv/range: key alone, or every key under it; limit 0: no limit */
extern int	pgha_etcd_range_request(char *buf, size_t buflen, const char *key,
									bool prefix, int64_t limit);

/*
 * /v3/kv/put.  A put replaces the key's lease too: without one it unbinds
 * the key from the lease it had (so a renewal must name the lease again).
 */
extern int	pgha_etcd_put_request(char *buf, size_t buflen, const char *key,
								  const char *value, size_t value_len,
								  int64_t lease);

/* /v3/kv/deleterange: key alone, or every key under it */
extern int	pgha_etcd_delete_request(char *buf, size_t buflen,
									 const char *key, bool prefix);

/* What a conditional write requires of its key. */
typedef enum PgHaEtcdCond
{
	PGHA_ETCD_IF_ABSENT,		/* create_revision == 0 */
	PGHA_ETCD_IF_MOD_REVISION,	/* mod_revision == mod_revision */
	PGHA_ETCD_IF_VALUE			/* value == expect */
} PgHaEtcdCond;

/*
 * /v3/kv/txn: if the key meets cond, put value (bound to lease), or with
 * delete_key delete the key; else read the key, so that the answer's
 * failure branch shows who holds it and at which revision.
 */
typedef struct PgHaEtcdCondWrite
{
	const char *key;
	PgHaEtcdCond cond;
	int64_t		mod_revision;	/* IF_MOD_REVISION, positive */
	const char *expect;			/* IF_VALUE */
	size_t		expect_len;
	bool		delete_key;
	const char *value;			/* the put */
	size_t		value_len;
	int64_t		lease;
} PgHaEtcdCondWrite;

extern int	pgha_etcd_txn_request(char *buf, size_t buflen,
								  const PgHaEtcdCondWrite *w);

/* /v3/lease/grant: ttl seconds, positive; the server picks the ID */
extern int	pgha_etcd_lease_grant_request(char *buf, size_t buflen,
										  int64_t ttl);

/* /v3/lease/keepalive and /v3/lease/revoke: {"ID": "<id>"}, id positive */
extern int	pgha_etcd_lease_request(char *buf, size_t buflen, int64_t id);

/*
 * /v3/watch: watch key, or every key under it, from start_revision (0:
 * from now on).
 */
extern int	pgha_etcd_watch_request(char *buf, size_t buflen, const char *key,
									bool prefix, int64_t start_revision);

#endif							/* PG_HA_ETCD_JSON_H */
