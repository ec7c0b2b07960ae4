/*-------------------------------------------------------------------------
 *
 * unit_check.h
 *	  The counting check of the unit-test programs in regress/unit: each
 *	  failed check is printed with its place, main() prints the totals.
 *
 * regress/unit/unit_check.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_UNIT_CHECK_H
#define PGHA_UNIT_CHECK_H

#include <stdbool.h>
#include <stdio.h>

static int	npassed = 0;
static int	nfailed = 0;

/* count a check, and report it with the caller's place when it fails */
static void
check_at(bool ok, const char *expr, const char *file, int line)
{
	if (ok)
		npassed++;
	else
	{
		nfailed++;
		printf("%s:%d: check failed: %s\n", file, line, expr);
	}
}

#define CHECK(cond) check_at((cond) ? true : false, #cond, __FILE__, __LINE__)

#endif							/* PGHA_UNIT_CHECK_H */
