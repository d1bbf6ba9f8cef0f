/* For the test tools that build JWTs and JWKS (psc-sign, pam-bench): base64url without
   padding (RFC 4648 §5) and the public JWK of a key (RFC 7517/7518). */
#ifndef MSS_TEST_B64URL_H
#define MSS_TEST_B64URL_H

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* A malloc'ed string, NULL when out of memory. */
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

/* The big-number parameter NAME of K (an RSA modulus or exponent), base64url; NULL on failure. */
static inline char *b64url_bn_param(EVP_PKEY *k, const char *name)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;

	if (EVP_PKEY_get_bn_param(k, name, &bn) != 1)
		return NULL;
	n = BN_num_bytes(bn) <= (int)sizeof(buf) ? BN_bn2bin(bn, buf) : -1;
	BN_free(bn);
	return n < 0 ? NULL : b64url_encode(buf, (size_t)n);
}

/* The public JWK of K, an RSA (RS256) or EC P-256 (ES256) key, with KID, into OUT:
   {"kid":..,"kty":..,"alg":..,"use":"sig",...}. 0, or -1 for another key, out of memory or an
   OUT too small. */
static inline int jwk_format(EVP_PKEY *k, const char *kid, char *out, size_t outlen)
{
	char *a = NULL, *b = NULL;
	int n = -1;

	if (EVP_PKEY_is_a(k, "RSA")) {
		a = b64url_bn_param(k, OSSL_PKEY_PARAM_RSA_N);
		b = b64url_bn_param(k, OSSL_PKEY_PARAM_RSA_E);
		if (a != NULL && b != NULL)
			n = snprintf(out, outlen, "{\"kid\":\"%s\",\"kty\":\"RSA\",\"alg\":\"RS256\",\"use\":\"sig\",\"n\":\"%s\",\"e\":\"%s\"}",
				     kid, a, b);
	} else {
		unsigned char pt[65];
		size_t len = 0;

		if (EVP_PKEY_get_octet_string_param(k, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len) == 1 && len == 65) {
			a = b64url_encode(pt + 1, 32);
			b = b64url_encode(pt + 33, 32);
		}
		if (a != NULL && b != NULL)
			n = snprintf(out, outlen,
				     "{\"kid\":\"%s\",\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\",\"use\":\"sig\",\"x\":\"%s\","
				     "\"y\":\"%s\"}",
				     kid, a, b);
	}
	free(a);
	free(b);
	return n >= 0 && (size_t)n < outlen ? 0 : -1;
}

#endif
