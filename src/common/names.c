/*-------------------------------------------------------------------------
 *
 * names.c
 *	  Names for Consul keys, URLs and replication slots; the host and port
 *	  of a connection URL (names.h).
 *
 * What this file is not for: reading member records (member.c) or
 * building libpq connection strings (the worker's and pg_ha_ctl's own).
 *
 * src/common/names.c
 *
 *-------------------------------------------------------------------------
 */
#include "names.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool
pgha_valid_name(const char *s)
{
	size_t		i;

	if (s == NULL)
		return false;
	for (i = 0; s[i] != '\0'; i++)
	{
		char		ch = s[i];

		if (i >= PGHA_NAME_LEN - 1)
			return false;
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
			  (ch >= '0' && ch <= '9') || ch == '_' || ch == '.' || ch == '-'))
			return false;
	}
	/* "." and ".." would be path components in keys and URLs */
	if (i == 0 || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return false;
	return true;
}

void
pgha_slot_name(const char *member, char *slot, size_t len)
{
	size_t		i;

	for (i = 0; member[i] != '\0' && i < len - 1; i++)
	{
		char		c = member[i];

		if (c >= 'A' && c <= 'Z')
			c = c - 'A' + 'a';
		else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_'))
			c = '_';
		slot[i] = c;
	}
	slot[i] = '\0';
}

bool
pgha_split_conn_url(const char *url, char *host, size_t hostlen, int *port)
{
	const char *p = strstr(url, "://");
	const char *end;
	const char *colon;
	char	   *endptr;
	long		v;

	if (p == NULL)
		return false;
	p += 3;
	end = p + strcspn(p, "/?");
	if (*p == '[')
	{
		const char *close = memchr(p, ']', end - p);

		if (close == NULL || close[1] != ':')
			return false;
		snprintf(host, hostlen, "%.*s", (int) (close - p - 1), p + 1);
		colon = close + 1;
	}
	else
	{
		colon = memchr(p, ':', end - p);
		if (colon == NULL)
			return false;
		snprintf(host, hostlen, "%.*s", (int) (colon - p), p);
	}
	v = strtol(colon + 1, &endptr, 10);
	if (endptr != end || v < 1 || v > 65535 || host[0] == '\0')
		return false;
	*port = (int) v;
	return true;
}
