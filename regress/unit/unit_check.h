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
#include <string.h>

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

/* an integer equal to the one wanted; prints both when not */
#define CHECK_INT(got, want) \
	do { \
		long long got_ = (long long) (got); \
		long long want_ = (long long) (want); \
		if (got_ == want_) \
			npassed++; \
		else \
		{ \
			nfailed++; \
			printf("%s:%d: check failed: %s is %lld, expected %lld\n", \
				   __FILE__, __LINE__, #got, got_, want_); \
		} \
	} while (0)

/* a string equal to the one wanted; prints both when not */
#define CHECK_STR(got, want) \
	do { \
		const char *got_ = (got); \
		const char *want_ = (want); \
		if (got_ != NULL && strcmp(got_, want_) == 0) \
			npassed++; \
		else \
		{ \
			nfailed++; \
			printf("%s:%d: check failed: %s is \"%s\", expected \"%s\"\n", \
				   __FILE__, __LINE__, #got, got_ ? got_ : "(null)", want_); \
		} \
	} while (0)

#endif							/* PGHA_UNIT_CHECK_H */
