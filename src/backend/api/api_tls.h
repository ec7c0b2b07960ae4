/*-------------------------------------------------------------------------
 *
 * api_tls.h
 *	  TLS for the REST API (api_tls.c).
 *
 *-------------------------------------------------------------------------
 */
#ifndef PG_HA_API_TLS_H
#define PG_HA_API_TLS_H

/* The PEM texts for libmicrohttpd; malloc'ed, NULL when not used. */
typedef struct PgHaApiTls
{
	char	   *cert;
	char	   *key;
	char	   *ca;
} PgHaApiTls;

/* Does the REST API speak TLS (pg_ha.api_certfile set)? */
extern bool pgha_api_tls_enabled(void);

/* Must write requests show a client certificate (pg_ha.api_cafile set)? */
extern bool pgha_api_tls_verify_client(void);

/* At start, in the postmaster: FATAL when TLS is set up wrong. */
extern void pgha_api_tls_check_startup(void);

/* Read the files; false with err set (never the key's text). */
extern bool pgha_api_tls_load(PgHaApiTls *tls, char *err, size_t errlen);
extern void pgha_api_tls_free(PgHaApiTls *tls);
/* The same files' contents? */
extern bool pgha_api_tls_equal(const PgHaApiTls *a, const PgHaApiTls *b);

/* session: a gnutls_session_t from MHD_CONNECTION_INFO_GNUTLS_SESSION */
extern bool pgha_api_tls_client_verified(void *session);

#endif							/* PG_HA_API_TLS_H */
