/*-------------------------------------------------------------------------
 *
 * test_quote.c
 *	  Unit tests of src/common/quote.c: values quoted as postgresql.conf and
 *	  libpq read them back.
 *
 * regress/unit/test_quote.c
 *
 *-------------------------------------------------------------------------
 */
#include <stdlib.h>
#include <string.h>

#include "quote.h"
#include "unit_check.h"

static void
check_literal(char *got, const char *want, int line)
{
	check_at(got != NULL && strcmp(got, want) == 0, want, __FILE__, line);
	if (got != NULL && strcmp(got, want) != 0)
		printf("  got %s\n", got);
	free(got);
}

int
main(void)
{
	/* postgresql.conf doubles both the quote and the backslash */
	check_literal(pgha_conf_literal(""), "''", __LINE__);
	check_literal(pgha_conf_literal("plain"), "'plain'", __LINE__);
	check_literal(pgha_conf_literal("it's"), "'it''s'", __LINE__);
	check_literal(pgha_conf_literal("C:\\dir"), "'C:\\\\dir'", __LINE__);
	check_literal(pgha_conf_literal("'\\'"), "'''\\\\'''", __LINE__);
	check_literal(pgha_conf_literal("%m [%p] "), "'%m [%p] '", __LINE__);

	/* libpq escapes both with a backslash */
	check_literal(pgha_conninfo_literal(""), "''", __LINE__);
	check_literal(pgha_conninfo_literal("host one"), "'host one'", __LINE__);
	check_literal(pgha_conninfo_literal("pa'ss"), "'pa\\'ss'", __LINE__);
	check_literal(pgha_conninfo_literal("a\\b"), "'a\\\\b'", __LINE__);
	check_literal(pgha_conninfo_literal("x=y z"), "'x=y z'", __LINE__);

	printf("%d passed, %d failed\n", npassed, nfailed);
	return nfailed > 0;
}
