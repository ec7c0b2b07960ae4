/*-------------------------------------------------------------------------
 *
 * api_tls.c
 *	  TLS for the REST API: pg_ha.api_certfile, api_keyfile, api_cafile.
 *
 * libmicrohttpd speaks TLS through GnuTLS and takes the certificate and
 * the key as PEM text in memory.  This file reads the files, and at server
 * start validates them with GnuTLS itself (the key opens and matches the
 * certificate, the CA file holds certificates), so that a bad file stops
 * the server at once with a message naming it, instead of a REST API
 * that starts, fails and retries while HAProxy sees the node as down.
 *
 * With pg_ha.api_cafile, a write request must also come with a client
 * certificate that this CA signed (Patroni's verify_client: optional):
 * health checks stay open to HAProxy without one.
 *
 * What this file is not for: the daemon and the requests (api.c).  Key
 * material never reaches a log message; errors quote GnuTLS's reason only.
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <sys/stat.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <microhttpd.h>

#include "api_tls.h"
#include "settings.h"

/* PEM files are a few KB; a CA bundle some hundred */
#define TLS_MAX_FILE	(4 * 1024 * 1024)

static bool
is_set(const char *s)
{
	return s != NULL && s[0] != '\0';
}

bool
pgha_api_tls_enabled(void)
{
	return is_set(pg_ha_api_certfile);
}

bool
pgha_api_tls_verify_client(void)
{
	return pgha_api_tls_enabled() && is_set(pg_ha_api_cafile);
}

/*
 * The whole file as a NUL-terminated malloc'ed string (MHD keeps pointers
 * to it while the daemon runs, outside any memory context), or NULL with
 * err set.  The key file is checked like PostgreSQL's ssl_key_file: no
 * access for others, and for the group only when root owns it.
 */
static char *
read_pem(const char *setting, const char *path, bool secret,
		 char *err, size_t errlen)
{
	struct stat st;
	FILE	   *f;
	char	   *buf;
	size_t		n;

	f = fopen(path, "r");
	if (f == NULL)
	{
		snprintf(err, errlen, "could not open %s \"%s\": %s", setting, path,
				 strerror(errno));
		return NULL;
	}
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode))
	{
		snprintf(err, errlen, "%s \"%s\" is not a regular file", setting, path);
		fclose(f);
		return NULL;
	}
	if (secret && st.st_uid != geteuid() && st.st_uid != 0)
	{
		snprintf(err, errlen, "%s \"%s\" must be owned by the database server's user or by root",
				 setting, path);
		fclose(f);
		return NULL;
	}
	if (secret &&
		((st.st_uid == geteuid() && (st.st_mode & (S_IRWXG | S_IRWXO)) != 0) ||
		 (st.st_uid == 0 && (st.st_mode & (S_IWGRP | S_IXGRP | S_IRWXO)) != 0)))
	{
		snprintf(err, errlen, "%s \"%s\" has group or world access; it must be u=rw (0600) or less, or owned by root with u=rw,g=r (0640) or less",
				 setting, path);
		fclose(f);
		return NULL;
	}
	if (st.st_size <= 0 || st.st_size > TLS_MAX_FILE)
	{
		snprintf(err, errlen, "%s \"%s\" is %s", setting, path,
				 st.st_size <= 0 ? "empty" : "too large for a PEM file");
		fclose(f);
		return NULL;
	}
	buf = malloc((size_t) st.st_size + 1);
	if (buf == NULL)
	{
		snprintf(err, errlen, "out of memory reading %s", setting);
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, (size_t) st.st_size, f);
	fclose(f);
	if (n == 0)
	{
		snprintf(err, errlen, "could not read %s \"%s\"", setting, path);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	return buf;
}

void
pgha_api_tls_free(PgHaApiTls *tls)
{
	if (tls->key != NULL)
	{
		explicit_bzero(tls->key, strlen(tls->key));
		free(tls->key);
	}
	free(tls->cert);
	free(tls->ca);
	memset(tls, 0, sizeof(*tls));
}

static bool
same_text(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

bool
pgha_api_tls_equal(const PgHaApiTls *a, const PgHaApiTls *b)
{
	return same_text(a->cert, b->cert) && same_text(a->key, b->key) &&
		same_text(a->ca, b->ca);
}

bool
pgha_api_tls_load(PgHaApiTls *tls, char *err, size_t errlen)
{
	memset(tls, 0, sizeof(*tls));
	if (!pgha_api_tls_enabled())
		return true;
	tls->cert = read_pem("pg_ha.api_certfile", pg_ha_api_certfile, false, err, errlen);
	if (tls->cert != NULL)
		tls->key = read_pem("pg_ha.api_keyfile", pg_ha_api_keyfile, true, err, errlen);
	if (tls->key != NULL && is_set(pg_ha_api_cafile))
	{
		tls->ca = read_pem("pg_ha.api_cafile", pg_ha_api_cafile, false, err, errlen);
		if (tls->ca == NULL)
		{
			pgha_api_tls_free(tls);
			return false;
		}
	}
	if (tls->key == NULL)
	{
		pgha_api_tls_free(tls);
		return false;
	}
	return true;
}

/* Do the PEM texts work with GnuTLS?  false with err set otherwise. */
static bool
tls_validate(const PgHaApiTls *tls, char *err, size_t errlen)
{
	gnutls_certificate_credentials_t cred;
	gnutls_datum_t cert;
	gnutls_datum_t key;
	int			rc;
	bool		ok = true;

	if (gnutls_certificate_allocate_credentials(&cred) != GNUTLS_E_SUCCESS)
	{
		snprintf(err, errlen, "GnuTLS could not allocate credentials");
		return false;
	}
	cert.data = (unsigned char *) tls->cert;
	cert.size = strlen(tls->cert);
	key.data = (unsigned char *) tls->key;
	key.size = strlen(tls->key);
	rc = gnutls_certificate_set_x509_key_mem2(cred, &cert, &key,
											  GNUTLS_X509_FMT_PEM, NULL, 0);
	if (rc < 0)
	{
		snprintf(err, errlen, "pg_ha.api_certfile \"%s\" and pg_ha.api_keyfile \"%s\" are not a usable PEM certificate and its unencrypted private key: %s",
				 pg_ha_api_certfile, pg_ha_api_keyfile, gnutls_strerror(rc));
		ok = false;
	}
	if (ok && tls->ca != NULL)
	{
		gnutls_datum_t ca;

		ca.data = (unsigned char *) tls->ca;
		ca.size = strlen(tls->ca);
		rc = gnutls_certificate_set_x509_trust_mem(cred, &ca, GNUTLS_X509_FMT_PEM);
		if (rc <= 0)
		{
			snprintf(err, errlen, "pg_ha.api_cafile \"%s\" holds no PEM certificate%s%s",
					 pg_ha_api_cafile, rc < 0 ? ": " : "",
					 rc < 0 ? gnutls_strerror(rc) : "");
			ok = false;
		}
	}
	gnutls_certificate_free_credentials(cred);
	return ok;
}

void
pgha_api_tls_check_startup(void)
{
	PgHaApiTls	tls;
	char		err[1024];

	if (!is_set(pg_ha_api_certfile) && !is_set(pg_ha_api_keyfile))
	{
		if (is_set(pg_ha_api_cafile))
			ereport(FATAL,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("pg_ha.api_cafile is set but the REST API does not use TLS"),
					 errhint("Set pg_ha.api_certfile and pg_ha.api_keyfile too, or clear pg_ha.api_cafile.")));
		return;
	}
	if (!is_set(pg_ha_api_certfile) || !is_set(pg_ha_api_keyfile))
		ereport(FATAL,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("pg_ha.api_certfile and pg_ha.api_keyfile must be set together"),
				 errdetail("Only %s is set.", is_set(pg_ha_api_certfile) ?
						   "pg_ha.api_certfile" : "pg_ha.api_keyfile"),
				 errhint("Give both the certificate and its private key for TLS on the REST API, or neither for plain HTTP.")));
	if (MHD_is_feature_supported(MHD_FEATURE_TLS) != MHD_YES)
		ereport(FATAL,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("pg_ha.api_certfile is set, but this libmicrohttpd has no TLS support"),
				 errhint("Install a libmicrohttpd built with GnuTLS, or clear pg_ha.api_certfile and pg_ha.api_keyfile.")));
	if (!pgha_api_tls_load(&tls, err, sizeof(err)))
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("REST API TLS: %s", err),
				 errhint("Fix pg_ha.api_certfile, pg_ha.api_keyfile and pg_ha.api_cafile; relative paths are relative to the data directory.")));
	if (!tls_validate(&tls, err, sizeof(err)))
	{
		pgha_api_tls_free(&tls);
		ereport(FATAL,
				(errcode(ERRCODE_CONFIG_FILE_ERROR),
				 errmsg("REST API TLS: %s", err),
				 errhint("openssl x509 -in CERTFILE -noout -text and openssl pkey -in KEYFILE -noout show what the files hold.")));
	}
	pgha_api_tls_free(&tls);
}

/*
 * Did the client of this TLS session present a certificate that the CA of
 * pg_ha.api_cafile signed and that is valid now?  MHD asked for one
 * (HTTPS_MEM_TRUST) but lets the handshake go on without.
 */
bool
pgha_api_tls_client_verified(void *session)
{
	unsigned int status = 0;
	unsigned int ncerts = 0;

	if (session == NULL)
		return false;
	if (gnutls_certificate_get_peers((gnutls_session_t) session, &ncerts) == NULL ||
		ncerts == 0)
		return false;
	if (gnutls_certificate_verify_peers2((gnutls_session_t) session, &status) < 0)
		return false;
	return status == 0;
}
