/*-------------------------------------------------------------------------
 *
 * test_api.h
 *	  What the unit tests of the REST API (regress/unit/test_api_*.c)
 *	  share besides unit_check.h: the check of an integer.
 *
 * regress/unit/test_api.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef PGHA_TEST_API_H
#define PGHA_TEST_API_H

#include "unit_check.h"

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

#endif							/* PGHA_TEST_API_H */
