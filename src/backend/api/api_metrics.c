/*-------------------------------------------------------------------------
 *
 * api_metrics.c
 *	  GET /metrics: Patroni's Prometheus text, and pg_ha's own gauges.
 *
 * The metrics Patroni 3.0.2 exports, under its names, with their HELP and
 * TYPE lines, from a snapshot of the node; then pg_ha's (fencing, the
 * lease).  Labels are escaped as the text format wants (a cluster name is
 * anything the operator chose).
 *
 * Pure: libc only, no PostgreSQL, no I/O.  What this file is not for:
 * judging the node's state (api_health.c, whose judgments it reports).
 *
 *-------------------------------------------------------------------------
 */
#include "api_metrics.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

#include "api_health.h"

#define CT_METRICS		"text/plain; version=0.0.4; charset=utf-8"
#define MAX_BODY_LEN	(1024 * 1024)

/* ----- a growing text buffer */

typedef struct TextBuf
{
	char	   *data;
	size_t		len;
	size_t		cap;
	bool		failed;
} TextBuf;

#if defined(__GNUC__) || defined(__clang__)
static void text_printf(TextBuf *b, const char *fmt,...)
			__attribute__((format(printf, 2, 3)));
#endif

static void
text_printf(TextBuf *b, const char *fmt,...)
{
	va_list		ap;
	int			n;

	if (b->failed)
		return;
	for (;;)
	{
		size_t		room = b->cap - b->len;

		va_start(ap, fmt);
		n = vsnprintf(b->data ? b->data + b->len : NULL, room, fmt, ap);
		va_end(ap);
		if (n < 0)
		{
			b->failed = true;
			return;
		}
		if ((size_t) n < room)
		{
			b->len += (size_t) n;
			return;
		}
		/* grow and retry */
		{
			size_t		need = b->len + (size_t) n + 1;
			size_t		cap = b->cap ? b->cap : 4096;
			char	   *p;

			while (cap < need)
				cap *= 2;
			if (cap > MAX_BODY_LEN)
			{
				b->failed = true;
				return;
			}
			p = realloc(b->data, cap);
			if (p == NULL)
			{
				b->failed = true;
				return;
			}
			b->data = p;
			b->cap = cap;
		}
	}
}

/* ----- the metrics */

/*
 * Prometheus label value: backslash, quote and newline escaped, other
 * control and non-ASCII bytes as '?' (the format wants valid UTF-8).
 */
static void
label_value(char *dst, size_t dstlen, const char *src, size_t srclen)
{
	size_t		n = pgha_api_strnlen(src, srclen);
	size_t		out = 0;

	for (size_t i = 0; i < n && out + 3 < dstlen; i++)
	{
		unsigned char c = (unsigned char) src[i];

		if (c == '\\' || c == '"')
		{
			dst[out++] = '\\';
			dst[out++] = (char) c;
		}
		else if (c == '\n')
		{
			dst[out++] = '\\';
			dst[out++] = 'n';
		}
		else if (c < 0x20 || c >= 0x7f)
			dst[out++] = '?';
		else
			dst[out++] = (char) c;
	}
	dst[out] = '\0';
}

/* "3.0.2" -> 30002 (Patroni prints 030002: the same number). */
static long
padded_semver(const char *v, size_t vlen)
{
	long		result = 0;
	int			parts = 0;
	size_t		n = pgha_api_strnlen(v, vlen);
	size_t		i = 0;

	while (parts < 3)
	{
		long		part = 0;

		while (i < n && v[i] >= '0' && v[i] <= '9' && part < 100)
			part = part * 10 + (v[i++] - '0');
		if (part > 99)
			part = 99;
		result = result * 100 + part;
		parts++;
		while (i < n && v[i] != '.')
			i++;
		if (i < n)
			i++;
	}
	return result;
}

static void
metric(TextBuf *b, const char *name, const char *type, const char *help,
	   const char *labels, const char *value)
{
	text_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s%s %s\n",
				name, help, name, type, name, labels, value);
}

static void
metric_int(TextBuf *b, const char *name, const char *type, const char *help,
		   const char *labels, long long value)
{
	char		v[32];

	snprintf(v, sizeof(v), "%lld", value);
	metric(b, name, type, help, labels, v);
}

static void
metric_secs(TextBuf *b, const char *name, const char *type, const char *help,
			const char *labels, int64_t ms)
{
	char		v[48];

	if (ms <= 0)
		snprintf(v, sizeof(v), "0");
	else
		snprintf(v, sizeof(v), "%lld.%03d", (long long) (ms / 1000),
				 (int) (ms % 1000));
	metric(b, name, type, help, labels, v);
}

void
pgha_api_metrics_body(const PgHaApiSnapshot *s, PgHaApiResponse *resp)
{
	TextBuf		b = {NULL, 0, 0, false};
	char		scope[2 * PGHA_NAME_LEN + 1];
	char		labels[2 * PGHA_NAME_LEN + 16];
	bool		primary = pgha_api_primary_ok(s);
	bool		replica = s->in_recovery && s->pg_running;
	bool		unlocked = !s->cluster_valid || !s->cluster.has_leader;

	label_value(scope, sizeof(scope), s->scope, sizeof(s->scope));
	snprintf(labels, sizeof(labels), "{scope=\"%s\"}", scope);

	metric_int(&b, "patroni_version", "gauge",
			   "Patroni semver without periods (here: pg_ha's version).",
			   labels, padded_semver(s->version, sizeof(s->version)));
	metric_int(&b, "patroni_postgres_running", "gauge",
			   "Value is 1 if Postgres is running, 0 otherwise.",
			   labels, s->pg_running);
	metric_secs(&b, "patroni_postmaster_start_time", "gauge",
				"Epoch seconds since Postgres started.",
				labels, s->postmaster_start_ms);
	metric_int(&b, "patroni_master", "gauge",
			   "Value is 1 if this node is the leader, 0 otherwise.",
			   labels, primary);
	metric_int(&b, "patroni_primary", "gauge",
			   "Value is 1 if this node is the leader, 0 otherwise.",
			   labels, primary);
	metric_int(&b, "patroni_xlog_location", "counter",
			   "Current location of the Postgres transaction log, 0 if this node is not the leader.",
			   labels, (!s->in_recovery && s->pg_running) ? (long long) s->location : 0);
	metric_int(&b, "patroni_standby_leader", "gauge",
			   "Value is 1 if this node is the standby_leader, 0 otherwise.",
			   labels, 0);
	metric_int(&b, "patroni_replica", "gauge",
			   "Value is 1 if this node is a replica, 0 otherwise.",
			   labels, replica);
	metric_int(&b, "patroni_sync_standby", "gauge",
			   "Value is 1 if this node is a sync standby replica, 0 otherwise.",
			   labels, pgha_api_sync_standby(s));
	metric_int(&b, "patroni_xlog_received_location", "counter",
			   "Current location of the received Postgres transaction log, 0 if this node is not a replica.",
			   labels, replica ? (long long) (s->received_location > 0 ?
											  s->received_location : s->replayed_location) : 0);
	metric_int(&b, "patroni_xlog_replayed_location", "counter",
			   "Current location of the replayed Postgres transaction log, 0 if this node is not a replica.",
			   labels, replica ? (long long) s->replayed_location : 0);
	metric_secs(&b, "patroni_xlog_replayed_timestamp", "gauge",
				"Current timestamp of the replayed Postgres transaction log, 0 if null.",
				labels, (replica && s->has_replayed_timestamp) ? s->replayed_timestamp_ms : 0);
	metric_int(&b, "patroni_xlog_paused", "gauge",
			   "Value is 1 if the Postgres xlog is paused, 0 otherwise.",
			   labels, replica && s->replay_paused);
	metric_int(&b, "patroni_postgres_streaming", "gauge",
			   "Value is 1 if Postgres is streaming, 0 otherwise.",
			   labels, replica && s->streaming);
	metric_int(&b, "patroni_postgres_server_version", "gauge",
			   "Version of Postgres (if running), 0 otherwise.",
			   labels, s->pg_running ? s->server_version : 0);
	metric_int(&b, "patroni_cluster_unlocked", "gauge",
			   "Value is 1 if the cluster is unlocked, 0 if locked.",
			   labels, unlocked);
	metric_int(&b, "patroni_failsafe_mode_is_active", "gauge",
			   "Value is 1 if failsafe mode is active, 0 if inactive.",
			   labels, 0);
	metric_int(&b, "patroni_postgres_timeline", "counter",
			   "Postgres timeline of this node (if running), 0 otherwise.",
			   labels, s->pg_running ? (long long) s->timeline : 0);
	metric_int(&b, "patroni_timeline", "counter",
			   "Postgres timeline of this node (if running), 0 otherwise (same as patroni_postgres_timeline).",
			   labels, s->pg_running ? (long long) s->timeline : 0);
	metric_int(&b, "patroni_dcs_last_seen", "gauge",
			   "Epoch timestamp when DCS was last contacted successfully by Patroni.",
			   labels, (long long) s->dcs_last_seen);
	metric_int(&b, "patroni_pending_restart", "gauge",
			   "Value is 1 if the node needs a restart, 0 otherwise.",
			   labels, s->pending_restart);
	metric_int(&b, "patroni_is_paused", "gauge",
			   "Value is 1 if auto failover is disabled, 0 otherwise.",
			   labels, pgha_api_is_paused(s));
	metric_int(&b, "pg_ha_fenced", "gauge",
			   "Value is 1 if this node is a primary that refuses writes (no leader lease), 0 otherwise.",
			   labels, s->fenced);
	metric_secs(&b, "pg_ha_lease_remaining_seconds", "gauge",
				"Seconds left on this node's leader lease, 0 without a lease.",
				labels, s->lease_remaining_ms > 0 ? s->lease_remaining_ms : 0);

	if (b.failed || b.data == NULL)
	{
		free(b.data);
		pgha_api_error_response(resp, 500, "out of memory");
		return;
	}
	resp->body = b.data;
	resp->body_len = b.len;
	resp->content_type = CT_METRICS;
}
