/* Unit tests of common/token.c (PSC JWT against a JWKS) and common/token_json.c.
   Keys are generated in the test; tokens are signed here with OpenSSL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "token.h"
#include "token_json.h"

#define NOW 1800000000LL
#define ISS "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet"
#define IDNAT "810003461033"

static EVP_PKEY *rsa_key, *ec_key, *other_rsa;
static struct mss_jwks *jwks;

/* ---- signing side (what PSC does) ---- */

static char *b64url(const unsigned char *d, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	char *out = malloc(n * 4 / 3 + 4), *o = out;
	size_t i;

	assert_non_null(out);
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

static char *b64s(const char *s)
{
	return b64url((const unsigned char *)s, strlen(s));
}

static char *bn_b64(EVP_PKEY *key, const char *param)
{
	BIGNUM *bn = NULL;
	unsigned char buf[1024];
	int n;

	assert_int_equal(EVP_PKEY_get_bn_param(key, param, &bn), 1);
	n = BN_bn2bin(bn, buf);
	BN_free(bn);
	return b64url(buf, (size_t)n);
}

static char *ec_coord_b64(EVP_PKEY *key, int y)
{
	unsigned char pt[65];
	size_t len = 0;

	assert_int_equal(EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, pt, sizeof(pt), &len), 1);
	assert_int_equal(len, 65);
	return b64url(pt + 1 + (y ? 32 : 0), 32);
}

static char *jwk_json(EVP_PKEY *key, const char *kid)
{
	char *out = malloc(4096), *a, *b;

	assert_non_null(out);
	if (EVP_PKEY_is_a(key, "RSA")) {
		a = bn_b64(key, OSSL_PKEY_PARAM_RSA_N);
		b = bn_b64(key, OSSL_PKEY_PARAM_RSA_E);
		snprintf(out, 4096, "{\"kty\":\"RSA\",\"use\":\"sig\",\"alg\":\"RS256\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}",
			 kid, a, b);
	} else {
		a = ec_coord_b64(key, 0);
		b = ec_coord_b64(key, 1);
		snprintf(out, 4096, "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}", kid, a, b);
	}
	free(a);
	free(b);
	return out;
}

static char *sign_raw(EVP_PKEY *key, const char *data, size_t *len_r)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig;
	size_t len = 0;

	assert_int_equal(EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, key, NULL), 1);
	assert_int_equal(EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)data, strlen(data)), 1);
	sig = malloc(len);
	assert_int_equal(EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, strlen(data)), 1);
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_is_a(key, "EC")) {
		/* DER -> JOSE r||s */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		unsigned char *rs = calloc(1, 64);

		assert_non_null(es);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
		ECDSA_SIG_free(es);
		free(sig);
		*len_r = 64;
		return (char *)rs;
	}
	*len_r = len;
	return (char *)sig;
}

/* header and payload are JSON texts; key NULL leaves the signature empty. */
static char *make_token(EVP_PKEY *key, const char *header, const char *payload)
{
	char *h = b64s(header), *p = b64s(payload), *data, *s = NULL, *tok;
	size_t dlen = strlen(h) + strlen(p) + 2, slen = 0;

	data = malloc(dlen);
	snprintf(data, dlen, "%s.%s", h, p);
	if (key != NULL) {
		char *sig = sign_raw(key, data, &slen);

		s = b64url((unsigned char *)sig, slen);
		free(sig);
	}
	tok = malloc(dlen + (s != NULL ? strlen(s) : 0) + 2);
	sprintf(tok, "%s.%s", data, s != NULL ? s : "");
	free(h);
	free(p);
	free(data);
	free(s);
	return tok;
}

static char *claims(const char *extra_or_null, const char *iss, long long exp, const char *acr, const char *sub)
{
	char *out = malloc(2048);

	snprintf(out, 2048,
		 "{\"iss\":\"%s\",\"exp\":%lld,\"iat\":%lld,\"acr\":\"%s\",\"SubjectNameID\":\"%s\","
		 "\"aud\":[\"account\",\"mss-imap\"],\"azp\":\"mss-client\",\"preferred_username\":\"%s\"%s%s}",
		 iss, exp, NOW - 60, acr, sub, sub, extra_or_null != NULL ? "," : "",
		 extra_or_null != NULL ? extra_or_null : "");
	return out;
}

static struct mss_token_policy policy(void)
{
	struct mss_token_policy p = {.issuer = ISS, .clock_skew = 30, .now = (time_t)NOW};

	return p;
}

static enum mss_token_result check(const char *tok, const struct mss_token_policy *pol, struct mss_token_claims *c)
{
	struct mss_token_claims local;
	const char *detail = NULL;
	enum mss_token_result r = mss_token_validate(jwks, tok, strlen(tok), pol, c != NULL ? c : &local, &detail);

	assert_non_null(detail);
	return r;
}

static int setup(void **state)
{
	char *k1, *k2, *n, *e, doc[16384], err[256];

	(void)state;
	rsa_key = EVP_RSA_gen(2048);
	ec_key = EVP_EC_gen("P-256");
	other_rsa = EVP_RSA_gen(2048);
	if (rsa_key == NULL || ec_key == NULL || other_rsa == NULL)
		return -1;
	k1 = jwk_json(rsa_key, "rsa1");
	k2 = jwk_json(ec_key, "ec1");
	n = bn_b64(other_rsa, OSSL_PKEY_PARAM_RSA_N);
	e = bn_b64(other_rsa, OSSL_PKEY_PARAM_RSA_E);
	/* An encryption key and a key type we do not use are skipped, not refused. */
	snprintf(doc, sizeof(doc),
		 "{\"keys\":[%s,%s,{\"kty\":\"RSA\",\"use\":\"enc\",\"kid\":\"enc1\",\"n\":\"%s\",\"e\":\"%s\"},"
		 "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"AA\"}]}",
		 k1, k2, n, e);
	free(n);
	free(e);
	free(k1);
	free(k2);
	if (mss_jwks_parse(doc, strlen(doc), &jwks, err, sizeof(err)) < 0) {
		fprintf(stderr, "jwks: %s\n", err);
		return -1;
	}
	return mss_jwks_count(jwks) == 2 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	mss_jwks_free(jwks);
	EVP_PKEY_free(rsa_key);
	EVP_PKEY_free(ec_key);
	EVP_PKEY_free(other_rsa);
	return 0;
}

/* ---- tests ---- */

static void test_valid_rs256_es256(void **state)
{
	struct mss_token_policy pol = policy();
	struct mss_token_claims c;
	char *pl = claims(NULL, ISS, NOW + 300, "eidas1", IDNAT);
	char *t1 = make_token(rsa_key, "{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"rsa1\"}", pl);
	char *t2 = make_token(ec_key, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", pl);
	char *t3 = make_token(ec_key, "{\"alg\":\"ES256\"}", pl); /* no kid: every ES256 key tried */

	(void)state;
	assert_int_equal(check(t1, &pol, &c), MSS_TOKEN_OK);
	assert_string_equal(c.idnat, IDNAT);
	assert_string_equal(c.kid, "rsa1");
	assert_string_equal(c.alg, "RS256");
	assert_int_equal(c.exp, NOW + 300);
	assert_int_equal(check(t2, &pol, &c), MSS_TOKEN_OK);
	assert_string_equal(c.alg, "ES256");
	assert_int_equal(check(t3, &pol, &c), MSS_TOKEN_OK);
	assert_string_equal(c.kid, "");
	assert_true(mss_token_looks_like_jwt(t1, strlen(t1)));
	free(pl);
	free(t1);
	free(t2);
	free(t3);
}

static void test_times(void **state)
{
	struct mss_token_policy pol = policy();
	const char *h = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";
	char *expired = claims(NULL, ISS, NOW - 31, "eidas1", IDNAT);
	char *in_skew = claims(NULL, ISS, NOW - 29, "eidas1", IDNAT);
	char *nbf = claims("\"nbf\":1800000100", ISS, NOW + 300, "eidas1", IDNAT);
	char *noexp = malloc(256);
	char *fracexp = malloc(256);
	char *t;

	(void)state;
	snprintf(noexp, 256, "{\"iss\":\"%s\",\"acr\":\"eidas1\",\"SubjectNameID\":\"%s\"}", ISS, IDNAT);
	snprintf(fracexp, 256, "{\"iss\":\"%s\",\"exp\":1800000300.5,\"acr\":\"eidas1\",\"SubjectNameID\":\"%s\"}", ISS,
		 IDNAT);
	t = make_token(rsa_key, h, expired);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_EXPIRED);
	free(t);
	t = make_token(rsa_key, h, in_skew);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_OK);
	free(t);
	t = make_token(rsa_key, h, nbf);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_NOT_YET_VALID);
	pol.now = (time_t)(NOW + 80); /* nbf - 20 s: within the skew */
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_OK);
	pol = policy();
	free(t);
	t = make_token(rsa_key, h, noexp);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_MALFORMED);
	free(t);
	t = make_token(rsa_key, h, fracexp);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_MALFORMED);
	free(t);
	/* iat in the future */
	pol.now = (time_t)(NOW - 200);
	t = make_token(rsa_key, h, in_skew);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_NOT_YET_VALID);
	free(t);
	free(expired);
	free(in_skew);
	free(nbf);
	free(noexp);
	free(fracexp);
}

static void test_claims(void **state)
{
	struct mss_token_policy pol = policy();
	const char *h = "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}";
	const char *auds[] = {"mss-imap"}, *bad_auds[] = {"other"}, *clients[] = {"mss-client"}, *bad_clients[] = {"x"};
	char *wrong_iss = claims(NULL, "https://evil.example/realms/x", NOW + 300, "eidas1", IDNAT);
	char *wrong_acr = claims(NULL, ISS, NOW + 300, "eidas2", IDNAT);
	char *structure = claims(NULL, ISS, NOW + 300, "eidas1", "31234567800019");
	char *ok = claims(NULL, ISS, NOW + 300, "eidas1", IDNAT);
	char *dup = claims("\"iss\":\"https://evil.example\"", ISS, NOW + 300, "eidas1", IDNAT);
	char *t;

	(void)state;
	t = make_token(rsa_key, h, wrong_iss);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_WRONG_ISSUER);
	free(t);
	t = make_token(rsa_key, h, wrong_acr);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_WRONG_ACR);
	free(t);
	t = make_token(rsa_key, h, structure);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_NO_SUBJECT);
	free(t);
	/* The same claim twice: which one counts would depend on the parser. Refused. */
	t = make_token(rsa_key, h, dup);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_MALFORMED);
	free(t);
	t = make_token(rsa_key, h, ok);
	pol.audiences = auds;
	pol.n_audiences = 1;
	pol.client_ids = clients;
	pol.n_client_ids = 1;
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_OK);
	pol.audiences = bad_auds;
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_WRONG_AUDIENCE);
	pol.audiences = auds;
	pol.client_ids = bad_clients;
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_WRONG_CLIENT);
	pol.issuer = NULL;
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_WRONG_ISSUER);
	free(t);
	free(wrong_iss);
	free(wrong_acr);
	free(structure);
	free(ok);
	free(dup);
}

static void test_signature_attacks(void **state)
{
	struct mss_token_policy pol = policy();
	char *pl = claims(NULL, ISS, NOW + 300, "eidas1", IDNAT);
	char *t, *evil_pl, *evil_b64, *dot1, *dot2, *forged;
	BIO *bio;
	char *pem;
	long pem_len;

	(void)state;
	/* alg none, with and without a signature part */
	t = make_token(NULL, "{\"alg\":\"none\"}", pl);
	assert_true(mss_token_looks_like_jwt(t, strlen(t)));
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_ALG);
	free(t);
	t = make_token(rsa_key, "{\"alg\":\"none\",\"kid\":\"rsa1\"}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_ALG);
	free(t);
	/* HS256 keyed with the RSA public key (PEM), the classic key-confusion attack */
	bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, rsa_key);
	pem_len = BIO_get_mem_data(bio, &pem);
	{
		char *h = b64s("{\"alg\":\"HS256\",\"kid\":\"rsa1\"}"), *p = b64s(pl), data[4096], *s;
		unsigned char mac[32];
		unsigned int mac_len = 0;

		snprintf(data, sizeof(data), "%s.%s", h, p);
		HMAC(EVP_sha256(), pem, (int)pem_len, (unsigned char *)data, strlen(data), mac, &mac_len);
		s = b64url(mac, mac_len);
		t = malloc(strlen(data) + strlen(s) + 2);
		sprintf(t, "%s.%s", data, s);
		assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_ALG);
		free(t);
		free(h);
		free(p);
		free(s);
	}
	BIO_free(bio);
	/* critical extensions, unknown kid, other algorithms */
	t = make_token(rsa_key, "{\"alg\":\"RS256\",\"kid\":\"rsa1\",\"crit\":[\"exp\"],\"exp\":1}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_ALG);
	free(t);
	t = make_token(rsa_key, "{\"alg\":\"RS256\",\"kid\":\"nope\"}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_UNKNOWN_KEY);
	free(t);
	t = make_token(rsa_key, "{\"alg\":\"PS256\",\"kid\":\"rsa1\"}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_ALG);
	free(t);
	/* RS256 header, signed by a key that is not in the JWKS; ES256 header with an RSA kid */
	t = make_token(other_rsa, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_SIGNATURE);
	free(t);
	t = make_token(other_rsa, "{\"alg\":\"RS256\",\"kid\":\"enc1\"}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_UNKNOWN_KEY); /* encryption keys were skipped */
	free(t);
	t = make_token(rsa_key, "{\"alg\":\"ES256\",\"kid\":\"rsa1\"}", pl);
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_UNKNOWN_KEY);
	free(t);
	/* Tampered payload: the signature of the genuine token on another SubjectNameID */
	t = make_token(rsa_key, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", pl);
	evil_pl = claims(NULL, ISS, NOW + 300, "eidas1", "810100000017");
	evil_b64 = b64s(evil_pl);
	dot1 = strchr(t, '.');
	dot2 = strchr(dot1 + 1, '.');
	forged = malloc(strlen(t) + strlen(evil_b64) + 1);
	sprintf(forged, "%.*s.%s%s", (int)(dot1 - t), t, evil_b64, dot2);
	assert_int_equal(check(forged, &pol, NULL), MSS_TOKEN_BAD_SIGNATURE);
	/* one flipped bit of the signature */
	forged[strlen(forged) - 3] = forged[strlen(forged) - 3] == 'A' ? 'B' : 'A';
	assert_int_equal(check(forged, &pol, NULL), MSS_TOKEN_BAD_SIGNATURE);
	free(forged);
	free(evil_pl);
	free(evil_b64);
	free(t);
	/* ES256 with a truncated signature */
	t = make_token(ec_key, "{\"alg\":\"ES256\",\"kid\":\"ec1\"}", pl);
	t[strlen(t) - 2] = '\0'; /* 63 bytes, still canonical base64url */
	assert_int_equal(check(t, &pol, NULL), MSS_TOKEN_BAD_SIGNATURE);
	free(t);
	free(pl);
}

static void test_malformed(void **state)
{
	struct mss_token_policy pol = policy();
	char *pl = claims(NULL, ISS, NOW + 300, "eidas1", IDNAT);
	char *good = make_token(rsa_key, "{\"alg\":\"RS256\",\"kid\":\"rsa1\"}", pl);
	char buf[9000];
	const char *bad[] = {"", "abc", "a.b", "a.b.c.d", "eyJ.eyJ.", ".."};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(check(bad[i], &pol, NULL), MSS_TOKEN_MALFORMED);
	/* an empty payload with a short signature never reaches the payload */
	assert_int_equal(check("eyJhbGciOiJSUzI1NiJ9..AAAA", &pol, NULL), MSS_TOKEN_BAD_SIGNATURE);
	/* white space, padding, a fourth part */
	snprintf(buf, sizeof(buf), " %s", good);
	assert_int_equal(check(buf, &pol, NULL), MSS_TOKEN_MALFORMED);
	snprintf(buf, sizeof(buf), "%s=", good);
	assert_int_equal(check(buf, &pol, NULL), MSS_TOKEN_MALFORMED);
	snprintf(buf, sizeof(buf), "%s.e30", good);
	assert_int_equal(check(buf, &pol, NULL), MSS_TOKEN_MALFORMED);
	assert_false(mss_token_looks_like_jwt(buf, strlen(buf)));
	/* too long */
	memset(buf, 'A', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	assert_int_equal(check(buf, &pol, NULL), MSS_TOKEN_MALFORMED);
	/* an embedded NUL: the length given counts it */
	{
		struct mss_token_claims c;
		size_t len = strlen(good);
		char *copy = malloc(len + 5);

		memcpy(copy, good, len);
		memcpy(copy + len, "\0AAA", 4);
		assert_int_not_equal(mss_token_validate(jwks, copy, len + 4, &pol, &c, NULL), MSS_TOKEN_OK);
		assert_int_equal(mss_token_validate(jwks, copy, len, &pol, &c, NULL), MSS_TOKEN_OK);
		free(copy);
	}
	assert_false(mss_token_looks_like_jwt("Martin-2024!", 12));
	assert_false(mss_token_looks_like_jwt("eyJ.a b.c", 9));
	assert_int_equal(mss_token_validate(NULL, good, strlen(good), &pol, &(struct mss_token_claims){0}, NULL),
			 MSS_TOKEN_ERROR);
	free(good);
	free(pl);
}

static void test_jwks_errors(void **state)
{
	struct mss_jwks *k = NULL;
	char err[256], doc[4096];
	EVP_PKEY *small = EVP_RSA_gen(1024);
	char *n, *e;

	(void)state;
	assert_int_equal(mss_jwks_parse("{}", 2, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "keys"));
	assert_int_equal(mss_jwks_parse("{\"keys\":[]}", 11, &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "no RS256"));
	assert_int_equal(mss_jwks_parse("{\"keys\":[1]}", 12, &k, err, sizeof(err)), -1);
	assert_int_equal(mss_jwks_parse("not json", 8, &k, err, sizeof(err)), -1);
	n = bn_b64(small, OSSL_PKEY_PARAM_RSA_N);
	e = bn_b64(small, OSSL_PKEY_PARAM_RSA_E);
	snprintf(doc, sizeof(doc), "{\"keys\":[{\"kty\":\"RSA\",\"kid\":\"k\",\"n\":\"%s\",\"e\":\"%s\"}]}", n, e);
	assert_int_equal(mss_jwks_parse(doc, strlen(doc), &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "2048"));
	/* a point that is not on the curve */
	snprintf(doc, sizeof(doc),
		 "{\"keys\":[{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"%s\",\"y\":\"%s\"}]}",
		 "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", "AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	assert_int_equal(mss_jwks_parse(doc, strlen(doc), &k, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "P-256"));
	assert_null(k);
	free(n);
	free(e);
	EVP_PKEY_free(small);
}

static void test_base64url(void **state)
{
	unsigned char out[16];
	size_t len;

	(void)state;
	assert_int_equal(mss_base64url_decode("TWFu", 4, out, sizeof(out), &len), 0);
	assert_int_equal(len, 3);
	assert_memory_equal(out, "Man", 3);
	assert_int_equal(mss_base64url_decode("TWE", 3, out, sizeof(out), &len), 0);
	assert_int_equal(len, 2);
	assert_int_equal(mss_base64url_decode("TQ", 2, out, sizeof(out), &len), 0);
	assert_int_equal(len, 1);
	assert_int_equal(mss_base64url_decode("TR", 2, out, sizeof(out), &len), -1); /* non-canonical */
	assert_int_equal(mss_base64url_decode("TQ==", 4, out, sizeof(out), &len), -1);
	assert_int_equal(mss_base64url_decode("T", 1, out, sizeof(out), &len), -1);
	assert_int_equal(mss_base64url_decode("a+b/", 4, out, sizeof(out), &len), -1);
	assert_int_equal(mss_base64url_decode("-_-_", 4, out, sizeof(out), &len), 0);
	assert_int_equal(mss_base64url_decode("AAAAAAAA", 8, out, 5, &len), -1); /* does not fit */
	assert_int_equal(mss_base64url_decode("", 0, out, sizeof(out), &len), 0);
	assert_int_equal(len, 0);
}

static void json_ok(const char *text)
{
	struct mss_json doc;
	const char *why = NULL;

	if (mss_json_parse(text, strlen(text), &doc, &why) < 0)
		fail_msg("'%s' refused: %s", text, why);
	mss_json_free(&doc);
}

static void json_bad(const char *text, size_t len)
{
	struct mss_json doc;
	const char *why = NULL;

	if (mss_json_parse(text, len, &doc, &why) == 0)
		fail_msg("'%s' accepted", text);
	assert_non_null(why);
}

static void test_json(void **state)
{
	struct mss_json doc;
	const char *why;
	const char *text = "{\"a\":\"x\\u00e9\\ud83d\\ude00\",\"n\":-12,\"f\":1.5e3,\"big\":99999999999999999999,"
			   "\"arr\":[true,false,null,{}],\"e\":\"\"}";
	char deep[64];

	(void)state;
	assert_int_equal(mss_json_parse(text, strlen(text), &doc, &why), 0);
	assert_string_equal(mss_json_string(&doc, &doc.nodes[0], "a"), "x\xc3\xa9\xf0\x9f\x98\x80");
	assert_true(mss_json_member(&doc, &doc.nodes[0], "n")->is_int);
	assert_int_equal(mss_json_member(&doc, &doc.nodes[0], "n")->ival, -12);
	assert_false(mss_json_member(&doc, &doc.nodes[0], "f")->is_int);
	assert_false(mss_json_member(&doc, &doc.nodes[0], "big")->is_int);
	assert_int_equal(mss_json_member(&doc, &doc.nodes[0], "arr")->count, 4);
	assert_string_equal(mss_json_string(&doc, &doc.nodes[0], "e"), "");
	assert_null(mss_json_member(&doc, &doc.nodes[0], "zz"));
	assert_null(mss_json_string(&doc, &doc.nodes[0], "n"));
	mss_json_free(&doc);
	json_ok(" [1, 2 ,3] ");
	json_ok("\"caf\xc3\xa9\"");
	json_ok("0");
	json_bad("{\"a\":1,\"a\":2}", 13);
	json_bad("{\"a\":1,}", 8);
	json_bad("[1,]", 4);
	json_bad("01", 2);
	json_bad("1.", 2);
	json_bad("-", 1);
	json_bad("\"\\u0000\"", 8);
	json_bad("\"\\ud800\"", 8);
	json_bad("\"\\udc00\"", 8);
	json_bad("\"a\x01\"", 4);
	json_bad("\"\xc3\x28\"", 4);	    /* invalid UTF-8 */
	json_bad("\"\xc0\xaf\"", 4);	    /* overlong */
	json_bad("\"\xed\xa0\x80\"", 5);    /* UTF-8 surrogate */
	json_bad("{\"a\":1} x", 9);
	json_bad("{\"a\":1}\0", 8);
	json_bad("tru", 3);
	json_bad("\"\\x\"", 4);
	json_bad("", 0);
	memset(deep, '[', sizeof(deep));
	json_bad(deep, sizeof(deep));
}

static void test_codes(void **state)
{
	(void)state;
	for (int r = MSS_TOKEN_OK; r <= MSS_TOKEN_ERROR; r++) {
		const char *c = mss_token_code((enum mss_token_result)r);

		assert_non_null(c);
		assert_true(strlen(c) > 0);
	}
	assert_string_equal(mss_token_code(MSS_TOKEN_EXPIRED), "expired");
	assert_string_equal(mss_token_code((enum mss_token_result)999), "internal_error");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid_rs256_es256),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_claims),
		cmocka_unit_test(test_signature_attacks),
		cmocka_unit_test(test_malformed),
		cmocka_unit_test(test_jwks_errors),
		cmocka_unit_test(test_base64url),
		cmocka_unit_test(test_json),
		cmocka_unit_test(test_codes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
