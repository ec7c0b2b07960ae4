/*-------------------------------------------------------------------------
 *
 * quote.c
 *	  Values quoted the way PostgreSQL reads them back: a string literal of
 *	  postgresql.conf (pg_ha.conf, the settings pg_ha_ctl init writes) and
 *	  a value of a libpq connection string (primary_conninfo, pg_rewind's
 *	  and pg_basebackup's sources).  The worker and pg_ha_ctl both write
 *	  them: one rule each, here.
 *
 * Pure C, libc only.
 *
 * src/common/quote.c
 *
 *-------------------------------------------------------------------------
 */
#include "quote.h"

#include <stdlib.h>
#include <string.h>

/*
 * value between single quotes, each character of escapes preceded by
 * escape_with (itself when escape_with is 0); malloc'd.
 */
static char *
quoted(const char *value, const char *escapes, char escape_with)
{
	size_t		len = 2;
	char	   *out;
	char	   *p;

	for (const char *c = value; *c; c++)
		len += strchr(escapes, *c) != NULL ? 2 : 1;
	out = malloc(len + 1);
	if (out == NULL)
		return NULL;
	p = out;
	*p++ = '\'';
	for (const char *c = value; *c; c++)
	{
		if (strchr(escapes, *c) != NULL)
			*p++ = escape_with != '\0' ? escape_with : *c;
		*p++ = *c;
	}
	*p++ = '\'';
	*p = '\0';
	return out;
}

char *
pgha_conf_literal(const char *value)
{
	/* the configuration file reads '' as ' and \\ as \ */
	return quoted(value, "'\\", '\0');
}

char *
pgha_conninfo_literal(const char *value)
{
	/* libpq reads \' as ' and \\ as \ inside a quoted value */
	return quoted(value, "'\\", '\\');
}
