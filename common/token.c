/* Pro Santé Connect JWT validation; see token.h. The order matters: the header is checked
   and the signature verified before the payload is even decoded, so an unsigned payload
   never reaches the claim checks. */
#include "error.h"
#include "token.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/param_build.h>

#include "dn.h"
#include "token_json.h"

#define HEADER_MAX 1024	 /* decoded JOSE header */
#define PAYLOAD_MAX 6144 /* decoded claims */
#define SIG_MAX 1024	 /* RSA 8192 bits */

enum jws_alg { ALG_RS256 = 1, ALG_ES256 };

struct jwk {
	char kid[128];
	enum jws_alg alg;
	EVP_PKEY *pkey;
	size_t sig_len; /* RS256: modulus bytes; ES256: 64 */
};

struct mss_jwks {
	struct jwk keys[MSS_TOKEN_MAX_KEYS];
	size_t n;
};

/* ---- base64url ---- */

static int b64url_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

int mss_base64url_decode(const char *in, size_t len, unsigned char *out, size_t outlen, size_t *outlen_r)
{
	uint32_t acc = 0;
	size_t o = 0;
	int bits = 0;

	if (len % 4 == 1 || len / 4 * 3 + (len % 4 == 0 ? 0 : len % 4 - 1) > outlen)
		return -1;
	for (size_t i = 0; i < len; i++) {
		int v = b64url_value((unsigned char)in[i]);

		if (v < 0)
			return -1;
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			if (o >= outlen)
				return -1;
			out[o++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Canonical form only: the unused low bits of the last character must be zero, so one
	   token has one spelling. */
	if (acc != 0)
		return -1;
	*outlen_r = o;
	return 0;
}

/* Decodes a JSON string member holding base64url into a malloc'd buffer. */
static unsigned char *b64_member(const struct mss_json *doc, const struct mss_json_node *obj, const char *key,
				 size_t max, size_t *len_r)
{
	const struct mss_json_node *n = mss_json_member(doc, obj, key);
	unsigned char *buf;

	if (n == NULL || n->type != MSS_JSON_STRING || n->str_len == 0 || n->str_len > max * 4 / 3 + 4)
		return NULL;
	buf = malloc(n->str_len);
	if (buf == NULL)
		return NULL;
	if (mss_base64url_decode(n->str, n->str_len, buf, n->str_len, len_r) < 0 || *len_r == 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- JWKS ---- */

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY_CTX *check = NULL;
	EVP_PKEY *pkey = NULL;

	if (params == NULL || ctx == NULL || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		goto out;
	/* EC: the point is on the curve; RSA: a sane public exponent and modulus. */
	check = EVP_PKEY_CTX_new_from_pkey(NULL, pkey, NULL);
	if (check == NULL || EVP_PKEY_public_check(check) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
out:
	EVP_PKEY_CTX_free(check);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *rsa_key(const struct mss_json *doc, const struct mss_json_node *k, const char **why)
{
	size_t nlen = 0, elen = 0;
	unsigned char *n = b64_member(doc, k, "n", SIG_MAX, &nlen);
	unsigned char *e = b64_member(doc, k, "e", 16, &elen);
	BIGNUM *bn_n = NULL, *bn_e = NULL;
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	*why = "invalid RSA key (n, e)";
	if (n == NULL || e == NULL)
		goto out;
	bn_n = BN_bin2bn(n, (int)nlen, NULL);
	bn_e = BN_bin2bn(e, (int)elen, NULL);
	bld = OSSL_PARAM_BLD_new();
	if (bn_n == NULL || bn_e == NULL || bld == NULL || !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		goto out;
	if (BN_num_bits(bn_n) < 2048) {
		*why = "RSA key shorter than 2048 bits";
		goto out;
	}
	pkey = pkey_from_params("RSA", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	free(n);
	free(e);
	return pkey;
}

static EVP_PKEY *ec_key(const struct mss_json *doc, const struct mss_json_node *k, const char **why)
{
	size_t xlen = 0, ylen = 0;
	unsigned char *x = b64_member(doc, k, "x", 32, &xlen);
	unsigned char *y = b64_member(doc, k, "y", 32, &ylen);
	unsigned char point[65];
	OSSL_PARAM_BLD *bld = NULL;
	EVP_PKEY *pkey = NULL;

	*why = "invalid P-256 key (x, y)";
	if (x == NULL || y == NULL || xlen != 32 || ylen != 32)
		goto out;
	point[0] = 0x04; /* uncompressed */
	memcpy(point + 1, x, 32);
	memcpy(point + 33, y, 32);
	bld = OSSL_PARAM_BLD_new();
	if (bld == NULL || !OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, "prime256v1", 0) ||
	    !OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point)))
		goto out;
	pkey = pkey_from_params("EC", bld);
out:
	OSSL_PARAM_BLD_free(bld);
	free(x);
	free(y);
	return pkey;
}

/* Is this JWK meant for verifying signatures with an algorithm we accept? Sets *alg_r. */
static bool jwk_usable(const struct mss_json *doc, const struct mss_json_node *k, enum jws_alg *alg_r)
{
	const char *kty = mss_json_string(doc, k, "kty");
	const char *use = mss_json_string(doc, k, "use");
	const char *alg = mss_json_string(doc, k, "alg");
	const char *crv = mss_json_string(doc, k, "crv");
	const struct mss_json_node *ops = mss_json_member(doc, k, "key_ops");

	if (kty == NULL || (use != NULL && strcmp(use, "sig") != 0) ||
	    (mss_json_member(doc, k, "use") != NULL && use == NULL))
		return false;
	if (ops != NULL) {
		bool verify = false;

		for (const struct mss_json_node *o = mss_json_first(doc, ops); o != NULL; o = mss_json_next(doc, o))
			verify |= o->type == MSS_JSON_STRING && strcmp(o->str, "verify") == 0;
		if (!verify)
			return false;
	}
	if (strcmp(kty, "RSA") == 0 && (alg == NULL || strcmp(alg, "RS256") == 0)) {
		*alg_r = ALG_RS256;
		return true;
	}
	if (strcmp(kty, "EC") == 0 && crv != NULL && strcmp(crv, "P-256") == 0 &&
	    (alg == NULL || strcmp(alg, "ES256") == 0)) {
		*alg_r = ALG_ES256;
		return true;
	}
	return false;
}

int mss_jwks_parse(const char *json, size_t len, struct mss_jwks **jwks_r, char *err, size_t errlen)
{
	struct mss_jwks *jwks = NULL;
	struct mss_json doc;
	const struct mss_json_node *keys;
	const char *why;
	size_t index = 0;

	*jwks_r = NULL;
	if (mss_json_parse(json, len, &doc, &why) < 0) {
		mss_set_error(err, errlen, "JWKS: %s", why);
		return -1;
	}
	keys = mss_json_member(&doc, &doc.nodes[0], "keys");
	if (keys == NULL || keys->type != MSS_JSON_ARRAY) {
		mss_set_error(err, errlen, "JWKS: no \"keys\" array");
		goto fail;
	}
	jwks = calloc(1, sizeof(*jwks));
	if (jwks == NULL) {
		mss_set_error(err, errlen, "out of memory");
		goto fail;
	}
	for (const struct mss_json_node *k = mss_json_first(&doc, keys); k != NULL; k = mss_json_next(&doc, k), index++) {
		const struct mss_json_node *kid = mss_json_member(&doc, k, "kid");
		struct jwk *key;
		enum jws_alg alg;

		if (k->type != MSS_JSON_OBJECT) {
			mss_set_error(err, errlen, "JWKS: key %zu is not an object", index);
			goto fail;
		}
		if (!jwk_usable(&doc, k, &alg))
			continue; /* encryption keys, other curves or algorithms */
		if (kid != NULL && (kid->type != MSS_JSON_STRING || kid->str_len >= sizeof(jwks->keys[0].kid))) {
			mss_set_error(err, errlen, "JWKS: key %zu: \"kid\" is not a string of at most 127 bytes", index);
			goto fail;
		}
		if (jwks->n == MSS_TOKEN_MAX_KEYS) {
			mss_set_error(err, errlen, "JWKS: more than %d signature keys", MSS_TOKEN_MAX_KEYS);
			goto fail;
		}
		key = &jwks->keys[jwks->n];
		key->alg = alg;
		if (kid != NULL)
			memcpy(key->kid, kid->str, kid->str_len + 1);
		key->pkey = alg == ALG_RS256 ? rsa_key(&doc, k, &why) : ec_key(&doc, k, &why);
		if (key->pkey == NULL) {
			mss_set_error(err, errlen, "JWKS: key %zu%s%s%s: %s", index, kid != NULL ? " (kid \"" : "",
				kid != NULL ? key->kid : "", kid != NULL ? "\")" : "", why);
			goto fail;
		}
		key->sig_len = alg == ALG_RS256 ? (size_t)EVP_PKEY_get_size(key->pkey) : 64;
		jwks->n++;
	}
	if (jwks->n == 0) {
		mss_set_error(err, errlen, "JWKS: no RS256 or ES256 signature key");
		goto fail;
	}
	mss_json_free(&doc);
	*jwks_r = jwks;
	return 0;
fail:
	mss_json_free(&doc);
	mss_jwks_free(jwks);
	return -1;
}

void mss_jwks_free(struct mss_jwks *jwks)
{
	if (jwks == NULL)
		return;
	for (size_t i = 0; i < jwks->n; i++)
		EVP_PKEY_free(jwks->keys[i].pkey);
	free(jwks);
}

size_t mss_jwks_count(const struct mss_jwks *jwks)
{
	return jwks != NULL ? jwks->n : 0;
}

/* ---- signature ---- */

/* JOSE ES256 signatures are r||s (32 bytes each); OpenSSL wants DER. */
static int es256_to_der(const unsigned char *sig, unsigned char *der, size_t derlen, size_t *len_r)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, 32, NULL), *s = BN_bin2bn(sig + 32, 32, NULL);
	unsigned char *p = der;
	int len = -1;

	if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
		BN_free(r);
		BN_free(s);
		ECDSA_SIG_free(es);
		return -1;
	}
	if (i2d_ECDSA_SIG(es, NULL) <= (int)derlen)
		len = i2d_ECDSA_SIG(es, &p);
	ECDSA_SIG_free(es);
	if (len <= 0)
		return -1;
	*len_r = (size_t)len;
	return 0;
}

/* 1 valid, 0 invalid, -1 library failure. */
static int verify(const struct jwk *key, const char *signed_part, size_t signed_len, const unsigned char *sig,
		  size_t sig_len)
{
	EVP_MD_CTX *ctx;
	unsigned char der[80];
	size_t der_len;
	int r;

	if (sig_len != key->sig_len)
		return 0;
	if (key->alg == ALG_ES256) {
		if (es256_to_der(sig, der, sizeof(der), &der_len) < 0)
			return 0;
		sig = der;
		sig_len = der_len;
	}
	ctx = EVP_MD_CTX_new();
	if (ctx == NULL)
		return -1;
	if (EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, key->pkey, NULL) != 1) {
		EVP_MD_CTX_free(ctx);
		return -1;
	}
	r = EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)signed_part, signed_len);
	EVP_MD_CTX_free(ctx);
	return r == 1 ? 1 : 0;
}

/* ---- claims ---- */

static bool string_in(const char *s, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (list[i] != NULL && strcmp(s, list[i]) == 0)
			return true;
	}
	return false;
}

/* An optional NumericDate claim: 1 present (value in *v_r), 0 absent, -1 not an integer. */
static int time_claim(const struct mss_json *doc, const struct mss_json_node *claims, const char *name,
		      long long *v_r)
{
	const struct mss_json_node *n = mss_json_member(doc, claims, name);

	if (n == NULL)
		return 0;
	if (n->type != MSS_JSON_NUMBER || !n->is_int)
		return -1;
	*v_r = n->ival;
	return 1;
}

static enum mss_token_result check_claims(const struct mss_json *doc, const struct mss_token_policy *policy,
					  struct mss_token_claims *claims_r, const char **detail_r)
{
	const struct mss_json_node *c = &doc->nodes[0];
	const struct mss_json_node *aud;
	const char *iss, *acr, *sub, *azp;
	long long exp = 0, nbf = 0, iat = 0, now = (long long)policy->now, skew = policy->clock_skew;
	int r;

	if (c->type != MSS_JSON_OBJECT) {
		*detail_r = "the payload is not a JSON object";
		return MSS_TOKEN_MALFORMED;
	}
	iss = mss_json_string(doc, c, "iss");
	if (policy->issuer == NULL || iss == NULL || strcmp(iss, policy->issuer) != 0) {
		*detail_r = "the issuer (iss) is not the configured Pro Santé Connect issuer";
		return MSS_TOKEN_WRONG_ISSUER;
	}
	r = time_claim(doc, c, "exp", &exp);
	if (r <= 0) {
		*detail_r = "no integer expiry time (exp)";
		return MSS_TOKEN_MALFORMED;
	}
	if (exp < now - skew) {
		*detail_r = "the token has expired (exp)";
		return MSS_TOKEN_EXPIRED;
	}
	r = time_claim(doc, c, "nbf", &nbf);
	if (r < 0 || (r > 0 && nbf > now + skew)) {
		*detail_r = r < 0 ? "nbf is not an integer" : "the token is not valid yet (nbf)";
		return r < 0 ? MSS_TOKEN_MALFORMED : MSS_TOKEN_NOT_YET_VALID;
	}
	r = time_claim(doc, c, "iat", &iat);
	if (r < 0 || (r > 0 && iat > now + skew)) {
		*detail_r = r < 0 ? "iat is not an integer" : "the token was issued in the future (iat)";
		return r < 0 ? MSS_TOKEN_MALFORMED : MSS_TOKEN_NOT_YET_VALID;
	}
	if (policy->n_audiences > 0) {
		bool found = false;

		aud = mss_json_member(doc, c, "aud");
		if (aud != NULL && aud->type == MSS_JSON_STRING) {
			found = string_in(aud->str, policy->audiences, policy->n_audiences);
		} else if (aud != NULL && aud->type == MSS_JSON_ARRAY) {
			for (const struct mss_json_node *a = mss_json_first(doc, aud); a != NULL; a = mss_json_next(doc, a))
				found |= a->type == MSS_JSON_STRING &&
					 string_in(a->str, policy->audiences, policy->n_audiences);
		}
		if (!found) {
			*detail_r = "the audience (aud) is not one of the configured audiences";
			return MSS_TOKEN_WRONG_AUDIENCE;
		}
	}
	if (policy->n_client_ids > 0) {
		azp = mss_json_string(doc, c, "azp");
		if (azp == NULL || !string_in(azp, policy->client_ids, policy->n_client_ids)) {
			*detail_r = "the client (azp) is not one of the configured client ids";
			return MSS_TOKEN_WRONG_CLIENT;
		}
	}
	acr = mss_json_string(doc, c, "acr");
	if (acr == NULL || strcmp(acr, MSS_TOKEN_ACR) != 0) {
		*detail_r = "the level of assurance (acr) is not eidas1";
		return MSS_TOKEN_WRONG_ACR;
	}
	sub = mss_json_string(doc, c, "SubjectNameID");
	if (sub == NULL || strlen(sub) >= sizeof(claims_r->idnat) || !mss_idnat_valid(sub, false)) {
		*detail_r = "SubjectNameID is missing or not an idNat_PS";
		return MSS_TOKEN_NO_SUBJECT;
	}
	memcpy(claims_r->idnat, sub, strlen(sub) + 1);
	claims_r->exp = exp;
	return MSS_TOKEN_OK;
}

/* ---- the token ---- */

static bool is_b64url(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (b64url_value((unsigned char)s[i]) < 0)
			return false;
	}
	return true;
}

bool mss_token_looks_like_jwt(const char *s, size_t len)
{
	size_t dots = 0;

	if (s == NULL || len < 8 || len > MSS_TOKEN_MAX || memcmp(s, "eyJ", 3) != 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.')
			dots++;
		else if (b64url_value((unsigned char)s[i]) < 0)
			return false;
	}
	return dots == 2;
}

static void printable_copy(char *out, size_t outlen, const char *in)
{
	size_t i;

	for (i = 0; in[i] != '\0' && i + 1 < outlen; i++)
		out[i] = in[i] > 0x20 && in[i] < 0x7f && in[i] != '"' && in[i] != '\\' ? in[i] : '?';
	out[i] = '\0';
}

/* Checks the JOSE header: alg RS256/ES256, no crit. Sets *alg_r and kid_r ("" when absent). */
static enum mss_token_result check_header(const char *b64, size_t len, enum jws_alg *alg_r, char *kid_r,
					  size_t kidlen, bool *has_kid_r, const char **detail_r)
{
	unsigned char buf[HEADER_MAX];
	struct mss_json doc;
	const struct mss_json_node *kid;
	const char *alg, *why;
	enum mss_token_result res = MSS_TOKEN_MALFORMED;
	size_t n;

	if (len > HEADER_MAX * 4 / 3 || mss_base64url_decode(b64, len, buf, sizeof(buf), &n) < 0) {
		*detail_r = "the header is not base64url";
		return MSS_TOKEN_MALFORMED;
	}
	if (mss_json_parse((const char *)buf, n, &doc, &why) < 0) {
		*detail_r = "the header is not valid JSON";
		return MSS_TOKEN_MALFORMED;
	}
	if (doc.nodes[0].type != MSS_JSON_OBJECT) {
		*detail_r = "the header is not a JSON object";
		goto out;
	}
	alg = mss_json_string(&doc, &doc.nodes[0], "alg");
	res = MSS_TOKEN_BAD_ALG;
	if (alg != NULL && strcmp(alg, "RS256") == 0) {
		*alg_r = ALG_RS256;
	} else if (alg != NULL && strcmp(alg, "ES256") == 0) {
		*alg_r = ALG_ES256;
	} else {
		*detail_r = "the signature algorithm is not RS256 or ES256";
		goto out;
	}
	if (mss_json_member(&doc, &doc.nodes[0], "crit") != NULL) {
		*detail_r = "the header has critical extensions (crit)";
		goto out;
	}
	kid = mss_json_member(&doc, &doc.nodes[0], "kid");
	res = MSS_TOKEN_MALFORMED;
	if (kid != NULL && (kid->type != MSS_JSON_STRING || kid->str_len >= kidlen)) {
		*detail_r = "the key id (kid) is not a short string";
		goto out;
	}
	*has_kid_r = kid != NULL;
	if (kid != NULL)
		memcpy(kid_r, kid->str, kid->str_len + 1);
	res = MSS_TOKEN_OK;
out:
	mss_json_free(&doc);
	return res;
}

enum mss_token_result mss_token_validate(const struct mss_jwks *jwks, const char *token, size_t len,
					 const struct mss_token_policy *policy, struct mss_token_claims *claims_r,
					 const char **detail_r)
{
	const char *detail_dummy, *dot1, *dot2, *why;
	unsigned char sig[SIG_MAX], payload[PAYLOAD_MAX];
	char kid[128] = "";
	struct mss_json doc;
	enum mss_token_result res;
	enum jws_alg alg = 0;
	size_t sig_len, payload_len, tried = 0;
	bool has_kid = false, verified = false;

	if (detail_r == NULL)
		detail_r = &detail_dummy;
	*detail_r = "";
	memset(claims_r, 0, sizeof(*claims_r));
	if (jwks == NULL || policy == NULL || token == NULL) {
		*detail_r = "no key set or policy";
		return MSS_TOKEN_ERROR;
	}
	if (len == 0 || len > MSS_TOKEN_MAX) {
		*detail_r = len == 0 ? "empty token" : "token too long";
		return MSS_TOKEN_MALFORMED;
	}
	dot1 = memchr(token, '.', len);
	dot2 = dot1 != NULL ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (dot2 == NULL || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)) != NULL ||
	    !is_b64url(dot1 + 1, (size_t)(dot2 - dot1 - 1))) {
		*detail_r = "not a compact JWS (header.payload.signature)";
		return MSS_TOKEN_MALFORMED;
	}
	res = check_header(token, (size_t)(dot1 - token), &alg, kid, sizeof(claims_r->kid), &has_kid, detail_r);
	if (res != MSS_TOKEN_OK)
		return res;
	if (mss_base64url_decode(dot2 + 1, len - (size_t)(dot2 + 1 - token), sig, sizeof(sig), &sig_len) < 0 ||
	    sig_len == 0) {
		*detail_r = "the signature is not base64url";
		return MSS_TOKEN_MALFORMED;
	}
	for (size_t i = 0; i < jwks->n && !verified; i++) {
		const struct jwk *key = &jwks->keys[i];
		int r;

		if (key->alg != alg || (has_kid && strcmp(key->kid, kid) != 0))
			continue;
		tried++;
		r = verify(key, token, (size_t)(dot2 - token), sig, sig_len);
		if (r < 0) {
			*detail_r = "signature verification failed in the crypto library";
			return MSS_TOKEN_ERROR;
		}
		verified = r == 1;
	}
	if (tried == 0) {
		*detail_r = "no key of the JWKS matches the token's kid and alg";
		return MSS_TOKEN_UNKNOWN_KEY;
	}
	if (!verified) {
		*detail_r = "the signature does not verify";
		return MSS_TOKEN_BAD_SIGNATURE;
	}
	/* Signed by PSC: now the claims. */
	if (mss_base64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof(payload), &payload_len) < 0) {
		*detail_r = "the payload is not base64url or too long";
		return MSS_TOKEN_MALFORMED;
	}
	if (mss_json_parse((const char *)payload, payload_len, &doc, &why) < 0) {
		*detail_r = "the payload is not valid JSON";
		return MSS_TOKEN_MALFORMED;
	}
	res = check_claims(&doc, policy, claims_r, detail_r);
	mss_json_free(&doc);
	if (res != MSS_TOKEN_OK) {
		memset(claims_r, 0, sizeof(*claims_r));
		return res;
	}
	printable_copy(claims_r->kid, sizeof(claims_r->kid), kid);
	snprintf(claims_r->alg, sizeof(claims_r->alg), "%s", alg == ALG_RS256 ? "RS256" : "ES256");
	return MSS_TOKEN_OK;
}

static const char *const token_codes[] = {
	[MSS_TOKEN_OK] = "ok",
	[MSS_TOKEN_MALFORMED] = "malformed_token",
	[MSS_TOKEN_BAD_ALG] = "unsupported_alg",
	[MSS_TOKEN_UNKNOWN_KEY] = "unknown_key",
	[MSS_TOKEN_BAD_SIGNATURE] = "bad_signature",
	[MSS_TOKEN_EXPIRED] = "expired",
	[MSS_TOKEN_NOT_YET_VALID] = "not_yet_valid",
	[MSS_TOKEN_WRONG_ISSUER] = "wrong_issuer",
	[MSS_TOKEN_WRONG_AUDIENCE] = "wrong_audience",
	[MSS_TOKEN_WRONG_CLIENT] = "wrong_client",
	[MSS_TOKEN_WRONG_ACR] = "wrong_acr",
	[MSS_TOKEN_NO_SUBJECT] = "no_subject",
	[MSS_TOKEN_ERROR] = "internal_error",
};

const char *mss_token_code(enum mss_token_result r)
{
	return (unsigned)r < sizeof(token_codes) / sizeof(token_codes[0]) ? token_codes[r]
									    : token_codes[MSS_TOKEN_ERROR];
}
