/*-------------------------------------------------------------------------
 *
 * iso_time.c
 *	  ISO 8601 times to and from epoch milliseconds (iso_time.h).
 *
 * The calendar arithmetic is Howard Hinnant's days_from_civil and its
 * inverse, proleptic Gregorian, in 64-bit integers: no libc time zone, no
 * locale, no libm.
 *
 * What this file is not for: reading or writing the keys that hold these
 * times (cluster.c, member.c), or the REST API's own time format
 * (api_snapshot.c).
 *
 * src/common/iso_time.c
 *
 *-------------------------------------------------------------------------
 */
#include "iso_time.h"

#include <stdio.h>
#include <string.h>

/* days from 1970-01-01 to y-m-d (proleptic Gregorian) */
static int64_t
days_from_civil(int64_t y, int m, int d)
{
	int64_t		era;
	int64_t		yoe;
	int64_t		doy;
	int64_t		doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

/*
 * The value of the n decimal digits at s, or -1 when they are not all
 * digits.  sscanf()'s %2d would take "-1", "+1" and " 1" too.
 */
static int
fixed_digits(const char *s, int n)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

bool
pgha_parse_iso_time(const char *s, int64_t *epoch_ms)
{
	int			y, mo, d, h, mi, sec;
	int64_t		ms = 0;
	int			offset_min = 0;
	const char *p;

	/* YYYY-MM-DD[T ]HH:MM:SS, then an optional fraction and the zone */
	if (s == NULL || strlen(s) > 64 || strlen(s) < 19 ||
		s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != ' ') ||
		s[13] != ':' || s[16] != ':')
		return false;
	y = fixed_digits(s, 4);
	mo = fixed_digits(s + 5, 2);
	d = fixed_digits(s + 8, 2);
	h = fixed_digits(s + 11, 2);
	mi = fixed_digits(s + 14, 2);
	sec = fixed_digits(s + 17, 2);
	if (y < 1970 || y > 9999 || mo < 1 || mo > 12 || d < 1 || d > 31 ||
		h < 0 || h > 23 || mi < 0 || mi > 59 || sec < 0 || sec > 60)
		return false;
	p = s + 19;
	if (*p == '.')
	{
		int			digits = 0;
		int64_t		frac = 0;

		for (p++; *p >= '0' && *p <= '9'; p++, digits++)
			if (digits < 3)
				frac = frac * 10 + (*p - '0');
		if (digits == 0)
			return false;
		while (digits++ < 3)
			frac *= 10;
		ms = frac;
	}
	if (*p == 'Z')
		p++;
	else if (*p == '+' || *p == '-')
	{
		int			oh = fixed_digits(p + 1, 2);
		int			om = oh < 0 || p[3] != ':' ? -1 : fixed_digits(p + 4, 2);

		if (oh < 0 || om < 0 || oh > 23 || om > 59)
			return false;
		offset_min = (oh * 60 + om) * (*p == '-' ? -1 : 1);
		p += 6;
	}
	else
		return false;			/* a time without zone is ambiguous */
	if (*p != '\0')
		return false;
	*epoch_ms = ((days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec)
				 - (int64_t) offset_min * 60) * 1000 + ms;
	return true;
}


/* y-m-d of a count of days since 1970-01-01 (inverse of days_from_civil) */
static void
civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
	int64_t		era;
	int64_t		doe;
	int64_t		yoe;
	int64_t		doy;
	int64_t		mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = z - era * 146097;
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	*d = (int) (doy - (153 * mp + 2) / 5 + 1);
	*m = (int) (mp < 10 ? mp + 3 : mp - 9);
	*y = yoe + era * 400 + (*m <= 2);
}

bool
pgha_format_iso_time(int64_t epoch_ms, char *buf, size_t len)
{
	int64_t		days;
	int64_t		rest;
	int64_t		y;
	int			mo;
	int			d;
	int			n;

	if (buf == NULL || len == 0)
		return false;
	buf[0] = '\0';
	if (epoch_ms < 0)
		return false;
	days = epoch_ms / 86400000;
	rest = epoch_ms % 86400000;
	civil_from_days(days, &y, &mo, &d);
	if (y > 9999)
		return false;
	n = snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d.%03d+00:00",
				 (int) y, mo, d, (int) (rest / 3600000),
				 (int) (rest / 60000 % 60), (int) (rest / 1000 % 60),
				 (int) (rest % 1000));
	if (n < 0 || (size_t) n >= len)
	{
		buf[0] = '\0';
		return false;
	}
	return true;
}
