/* libFuzzer target for common/token.c and token_json.c. The first byte picks what the rest
   is: 0 a JSON text, 1 a JWKS, 2 a whole token, 3 a token payload that the target signs
   itself with the (test-only) key below, so that arbitrary claims reach the claim checks
   behind the signature. Invariants: a token accepted names a valid idNat_PS; a JSON value
   that parses has a root node. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>

#include "dn.h"
#include "token.h"
#include "token_json.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* A key made for this file only; it protects nothing. */
static const char fuzz_key_pem[] = "-----BEGIN PRIVATE KEY-----\n"
				   "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgP0485MnzytBlJJZM\n"
				   "sYpc76ct/drw4Jg7YfYL/fLjU8yhRANCAATD0KiO32Ud3Dz4Augc6R3xvtJmVlZz\n"
				   "SkJxEqCpJ8iUcxkQD8TYjiu+Bl4tS1Ibd9OlKqcGXTkHrtUDlRNyGMjv\n"
				   "-----END PRIVATE KEY-----\n";
static const char fuzz_jwks[] = "{\"keys\":[{\"kid\":\"fuzz\",\"kty\":\"EC\",\"crv\":\"P-256\",\"alg\":\"ES256\","
				"\"use\":\"sig\",\"x\":\"w9Cojt9lHdw8-ALoHOkd8b7SZlZWc0pCcRKgqSfIlHM\","
				"\"y\":\"GRAPxNiOK74GXi1LUht306UqpwZdOQeu1QOVE3IYyO8\"}]}";

static struct mss_jwks *jwks;
static EVP_PKEY *key;

static void b64url(const unsigned char *d, size_t n, char *out)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		uint32_t v = (uint32_t)d[i] << 16 | (uint32_t)d[i + 1] << 8 | d[i + 2];
		*out++ = a[v >> 18];
		*out++ = a[(v >> 12) & 63];
		*out++ = a[(v >> 6) & 63];
		*out++ = a[v & 63];
	}
	if (n - i == 1) {
		*out++ = a[d[i] >> 2];
		*out++ = a[(d[i] & 3) << 4];
	} else if (n - i == 2) {
		*out++ = a[d[i] >> 2];
		*out++ = a[((d[i] & 3) << 4) | (d[i + 1] >> 4)];
		*out++ = a[(d[i + 1] & 15) << 2];
	}
	*out = '\0';
}

static void init(void)
{
	char err[256];
	BIO *bio;

	if (jwks != NULL)
		return;
	bio = BIO_new_mem_buf(fuzz_key_pem, -1);
	key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
	BIO_free(bio);
	if (key == NULL || mss_jwks_parse(fuzz_jwks, strlen(fuzz_jwks), &jwks, err, sizeof(err)) < 0)
		abort();
}

/* header.payload signed ES256 with the fuzz key; returns the token length or 0. */
static size_t sign_payload(const uint8_t *payload, size_t len, char *tok, size_t toklen)
{
	static const char header[] = "{\"alg\":\"ES256\",\"kid\":\"fuzz\"}";
	unsigned char der[80], rs[64];
	size_t der_len = sizeof(der), used;
	const unsigned char *p = der;
	EVP_MD_CTX *ctx;
	ECDSA_SIG *es;

	if (len > 4000 || toklen < 8000)
		return 0;
	b64url((const unsigned char *)header, strlen(header), tok);
	used = strlen(tok);
	tok[used++] = '.';
	b64url(payload, len, tok + used);
	used += strlen(tok + used);
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL) != 1 ||
	    EVP_DigestSign(ctx, der, &der_len, (const unsigned char *)tok, used) != 1)
		abort();
	EVP_MD_CTX_free(ctx);
	es = d2i_ECDSA_SIG(NULL, &p, (long)der_len);
	if (es == NULL)
		abort();
	BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
	ECDSA_SIG_free(es);
	tok[used++] = '.';
	b64url(rs, 64, tok + used);
	return used + strlen(tok + used);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char tok[8192];
	struct mss_token_policy policy = {.issuer = "https://psc.example/realms/esante-wallet",
					  .clock_skew = 60,
					  .now = 1800000000};
	const char *auds[] = {"mss-imap"};
	struct mss_token_claims claims;
	struct mss_jwks *parsed = NULL;
	struct mss_json doc;
	const char *why = NULL;
	enum mss_token_result r;
	char err[256];
	size_t len;

	init();
	if (size < 1)
		return 0;
	switch (data[0] & 3) {
	case 0:
		if (mss_json_parse((const char *)data + 1, size - 1, &doc, &why) == 0) {
			if (doc.n_nodes == 0 || doc.nodes == NULL)
				abort();
			mss_json_free(&doc);
		} else if (why == NULL) {
			abort();
		}
		return 0;
	case 1:
		if (mss_jwks_parse((const char *)data + 1, size - 1, &parsed, err, sizeof(err)) == 0 &&
		    mss_jwks_count(parsed) == 0)
			abort();
		mss_jwks_free(parsed);
		return 0;
	case 2:
		r = mss_token_validate(jwks, (const char *)data + 1, size - 1, &policy, &claims, &why);
		break;
	default:
		len = sign_payload(data + 1, size - 1, tok, sizeof(tok));
		if (len == 0)
			return 0;
		policy.audiences = auds;
		policy.n_audiences = (data[0] & 4) ? 1 : 0;
		r = mss_token_validate(jwks, tok, len, &policy, &claims, &why);
		break;
	}
	if (r == MSS_TOKEN_OK && !mss_idnat_valid(claims.idnat, false))
		abort();
	if (r != MSS_TOKEN_OK && (why == NULL || claims.idnat[0] != '\0'))
		abort();
	(void)mss_token_code(r);
	return 0;
}
