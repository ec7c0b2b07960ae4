/*
 * metrics_text.h
 *	  A check of the Prometheus text that GET /metrics answers, shared by
 *	  the unit tests (regress/unit/test_api_route.c) and the fuzz target of
 *	  REST requests (fuzz/fuzz_api_request.c).
 */
#ifndef PGHA_METRICS_TEXT_H
#define PGHA_METRICS_TEXT_H

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Every non-comment line is "name{labels} value"; HELP/TYPE precede it. */
static inline bool
metrics_text_well_formed(const char *text, size_t len)
{
	const char *line = text;
	const char *end = text + len;
	char		last_type[128] = "";

	if (memchr(text, '\0', len) != NULL)
		return false;
	while (line < end)
	{
		const char *nl = memchr(line, '\n', (size_t) (end - line));
		size_t		n;
		char		buf[512];

		if (nl == NULL)
			return false;		/* every line ends with a newline */
		n = (size_t) (nl - line);
		if (n >= sizeof(buf))
			return false;
		memcpy(buf, line, n);
		buf[n] = '\0';
		if (strncmp(buf, "# HELP ", 7) == 0)
			;
		else if (strncmp(buf, "# TYPE ", 7) == 0)
		{
			char		name[128];
			char		type[32];

			if (sscanf(buf + 7, "%127s %31s", name, type) != 2 ||
				(strcmp(type, "gauge") != 0 && strcmp(type, "counter") != 0))
				return false;
			strcpy(last_type, name);
		}
		else
		{
			char	   *brace = strchr(buf, '{');
			char	   *close = strrchr(buf, '}');
			char	   *vend;

			if (brace == NULL || close == NULL || close < brace || close[1] != ' ')
				return false;
			*brace = '\0';
			if (strcmp(buf, last_type) != 0)
				return false;
			(void) strtod(close + 2, &vend);
			if (vend == close + 2 || *vend != '\0')
				return false;
		}
		line = nl + 1;
	}
	return true;
}

#endif							/* PGHA_METRICS_TEXT_H */
