/*-------------------------------------------------------------------------
 *
 * base64.c
 *	  Standard base64 (RFC 4648, padded), as Consul's KV values and etcd's
 *	  keys and values travel in JSON.
 *
 * src/common/base64.c
 *
 *-------------------------------------------------------------------------
 */
#include "base64.h"

#include <limits.h>
#include <stdbool.h>
#include <stdlib.h>

static int
base64_value(unsigned char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (ch >= '0' && ch <= '9')
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

int
pgha_base64_decode(const char *src, size_t srclen, char *dst, size_t dstlen)
{
	size_t		npad = 0;
	size_t		outlen;
	size_t		out = 0;
	size_t		i;

	if (dst == NULL || dstlen == 0)
		return -1;
	dst[0] = '\0';
	if (src == NULL && srclen > 0)
		return -1;

	/* Consul always pads, so an unpadded tail is malformed */
	if (srclen % 4 != 0)
		return -1;
	if (srclen > 0 && src[srclen - 1] == '=')
	{
		npad = 1;
		if (src[srclen - 2] == '=')
			npad = 2;
	}
	outlen = srclen / 4 * 3 - npad;
	if (outlen > INT_MAX || outlen >= dstlen)
		return -1;

	for (i = 0; i < srclen; i += 4)
	{
		bool		last = (i + 4 == srclen);
		unsigned long triple = 0;
		size_t		nbytes = last ? 3 - npad : 3;
		size_t		j;

		for (j = 0; j < 4; j++)
		{
			int			v;

			/* '=' only as the padding counted above */
			if (last && src[i + j] == '=' && j >= 4 - npad)
				v = 0;
			else if ((v = base64_value((unsigned char) src[i + j])) < 0)
			{
				dst[0] = '\0';
				return -1;
			}
			triple = (triple << 6) | (unsigned long) v;
		}
		dst[out++] = (char) ((triple >> 16) & 0xff);
		if (nbytes > 1)
			dst[out++] = (char) ((triple >> 8) & 0xff);
		if (nbytes > 2)
			dst[out++] = (char) (triple & 0xff);
	}
	dst[out] = '\0';
	return (int) out;
}

char *
pgha_base64_encode(const char *src, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char	   *out = malloc((len + 2) / 3 * 4 + 1);
	char	   *p = out;

	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i += 3)
	{
		unsigned int v = (unsigned char) src[i] << 16;

		if (i + 1 < len)
			v |= (unsigned char) src[i + 1] << 8;
		if (i + 2 < len)
			v |= (unsigned char) src[i + 2];
		*p++ = tab[(v >> 18) & 63];
		*p++ = tab[(v >> 12) & 63];
		*p++ = i + 1 < len ? tab[(v >> 6) & 63] : '=';
		*p++ = i + 2 < len ? tab[v & 63] : '=';
	}
	*p = '\0';
	return out;
}
