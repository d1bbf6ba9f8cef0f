/* base64url without padding (RFC 4648 §5), for the test tools that build JWTs and JWKS
   (psc-sign, pam-bench). Returns a malloc'ed string, NULL when out of memory. */
#ifndef MSS_TEST_B64URL_H
#define MSS_TEST_B64URL_H

#include <stdint.h>
#include <stdlib.h>

static inline char *b64url_encode(const unsigned char *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n * 4 / 3 + 4), *o = out;
	size_t i;

	if (out == NULL)
		return NULL;
	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*o++ = a[v >> 18];
		*o++ = a[(v >> 12) & 63];
		*o++ = a[(v >> 6) & 63];
		*o++ = a[v & 63];
	}
	if (n - i == 1) {
		*o++ = a[d[i] >> 2];
		*o++ = a[(d[i] & 3) << 4];
	} else if (n - i == 2) {
		*o++ = a[d[i] >> 2];
		*o++ = a[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
		*o++ = a[(d[i + 1] & 15) << 2];
	}
	*o = '\0';
	return out;
}

#endif
