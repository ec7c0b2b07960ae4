/*-------------------------------------------------------------------------
 *
 * history.c
 *	  Read and write the history and promotion keys (history.h).
 *
 * What this file is not for: choosing the reason or the position of a
 * promotion (the HA worker's timeline.c and promotion.c), or reading the
 * keys from the listing (cluster.c).
 *
 * src/common/history.c
 *
 *-------------------------------------------------------------------------
 */
#include "history.h"
#include "json_util.h"
#include "names.h"

#include <stdio.h>
#include <string.h>

int
pgha_parse_history(const char *history, PgHaHistoryEntry *entries, int max,
				   char *errbuf, size_t errlen)
{
	json_t	   *root;
	size_t		total;
	size_t		first;
	int			n = 0;

	if (history == NULL || history[0] == '\0')
		return 0;
	root = pgha_json_load_as(history, strlen(history), "history", JSON_ARRAY,
							 errbuf, errlen);
	if (root == NULL)
		return -1;
	total = json_array_size(root);
	first = total > (size_t) max ? total - (size_t) max : 0;
	for (size_t i = first; i < total; i++)
	{
		json_t	   *e = json_array_get(root, i);
		PgHaHistoryEntry *h = &entries[n];
		json_t	   *v;

		memset(h, 0, sizeof(*h));
		if (!json_is_array(e) || json_array_size(e) < 3 ||
			!json_is_integer(json_array_get(e, 0)) ||
			!json_is_integer(json_array_get(e, 1)) ||
			json_integer_value(json_array_get(e, 0)) < 0 ||
			json_integer_value(json_array_get(e, 0)) > UINT32_MAX ||
			json_integer_value(json_array_get(e, 1)) < 0)
		{
			json_decref(root);
			pgha_set_error(errbuf, errlen, "history entry %zu is not [timeline, lsn, reason, ...]", i);
			return -1;
		}
		h->timeline = (uint32_t) json_integer_value(json_array_get(e, 0));
		h->lsn = (int64_t) json_integer_value(json_array_get(e, 1));
		if (json_is_string(v = json_array_get(e, 2)))
			snprintf(h->reason, sizeof(h->reason), "%s", json_string_value(v));
		if (json_is_string(v = json_array_get(e, 3)))
			snprintf(h->when, sizeof(h->when), "%s", json_string_value(v));
		if (json_is_string(v = json_array_get(e, 4)))
			snprintf(h->leader, sizeof(h->leader), "%s", json_string_value(v));
		n++;
	}
	json_decref(root);
	return n;
}
int
pgha_history_append(const char *history, uint32_t timeline, int64_t lsn,
					const char *reason, const char *when, const char *leader,
					char *buf, size_t buflen, char *errbuf, size_t errlen)
{
	json_t	   *root;
	json_t	   *entry;
	int			n;

	root = (history && history[0]) ?
		pgha_json_load_as(history, strlen(history), "history", JSON_ARRAY,
						  errbuf, errlen) : json_array();
	if (root == NULL)
		return -1;
	entry = json_pack("[I, I, s, s, s]", (json_int_t) timeline, (json_int_t) lsn,
					  reason, when, leader);
	if (entry == NULL || json_array_append_new(root, entry) != 0)
	{
		json_decref(root);
		pgha_set_error(errbuf, errlen, "out of memory");
		return -1;
	}
	n = pgha_json_dump(root, buf, buflen);
	json_decref(root);
	if (n < 0)
		pgha_set_error(errbuf, errlen, "history is too large");
	return n;
}
int
pgha_promotion_json(uint32_t timeline, const char *member, char *buf,
					size_t buflen)
{
	int			n;

	if (member == NULL || !pgha_valid_name(member))
		return -1;
	/* a valid name needs no JSON escaping */
	n = snprintf(buf, buflen, "{\"timeline\":%u,\"member\":\"%s\"}",
				 (unsigned) timeline, member);
	return n < 0 || (size_t) n >= buflen ? -1 : n;
}
