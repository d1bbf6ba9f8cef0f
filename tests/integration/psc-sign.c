/* Test helper playing Pro Santé Connect: JWKS files and signed tokens from keys the test
   makes with `openssl genpkey`. The header and payload are given as JSON texts, so a test
   can forge anything (alg none, HS256, wrong claims).
 *
 *   psc-sign jwks KID=KEY.pem...             JWKS of the public keys, on stdout
 *   psc-sign token KEY.pem HEADER PAYLOAD    RS256 (RSA key) or ES256 (EC key) token;
 *                                            KEY "-" leaves the signature empty (alg none)
 *   psc-sign hs256 SECRET_FILE HEADER PAYLOAD  HMAC-SHA256 keyed with the file's bytes
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>

#include "b64url.h"

static void die(const char *what)
{
	fprintf(stderr, "psc-sign: %s\n", what);
	exit(2);
}

static char *b64url(const unsigned char *d, size_t n)
{
	char *out = b64url_encode(d, n);

	if (out == NULL)
		die("out of memory");
	return out;
}

static EVP_PKEY *load_key(const char *path)
{
	FILE *f = fopen(path, "r");
	EVP_PKEY *k;

	if (f == NULL)
		die("cannot open the key");
	k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	if (k == NULL)
		die("not a PEM private key");
	return k;
}

static void print_jwk(const char *kid, EVP_PKEY *k)
{
	char jwk[2048];

	if (jwk_format(k, kid, jwk, sizeof(jwk)) < 0)
		die("only RSA and P-256 EC keys");
	fputs(jwk, stdout);
}

static char *signing_input(const char *header, const char *payload)
{
	char *h = b64url((const unsigned char *)header, strlen(header));
	char *p = b64url((const unsigned char *)payload, strlen(payload));
	char *out = malloc(strlen(h) + strlen(p) + 2);

	if (out == NULL)
		die("out of memory");
	sprintf(out, "%s.%s", h, p);
	free(h);
	free(p);
	return out;
}

static char *sign(EVP_PKEY *k, const char *data)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig, rs[64];
	size_t len = 0;
	char *out;

	if (ctx == NULL || EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, k, NULL) != 1 ||
	    EVP_DigestSign(ctx, NULL, &len, (const unsigned char *)data, strlen(data)) != 1)
		die("cannot sign");
	sig = malloc(len);
	if (sig == NULL || EVP_DigestSign(ctx, sig, &len, (const unsigned char *)data, strlen(data)) != 1)
		die("cannot sign");
	EVP_MD_CTX_free(ctx);
	if (EVP_PKEY_is_a(k, "EC")) { /* DER -> JOSE r||s */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);

		if (es == NULL)
			die("bad ECDSA signature");
		BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
		ECDSA_SIG_free(es);
		out = b64url(rs, 64);
	} else {
		out = b64url(sig, len);
	}
	free(sig);
	return out;
}

int main(int argc, char **argv)
{
	if (argc >= 3 && strcmp(argv[1], "jwks") == 0) {
		printf("{\"keys\":[");
		for (int i = 2; i < argc; i++) {
			char *eq = strchr(argv[i], '=');

			if (eq == NULL)
				die("jwks wants KID=KEY.pem");
			*eq = '\0';
			if (i > 2)
				printf(",");
			print_jwk(argv[i], load_key(eq + 1));
		}
		printf("]}\n");
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "token") == 0) {
		char *data = signing_input(argv[3], argv[4]);
		char *sig = strcmp(argv[2], "-") == 0 ? strdup("") : sign(load_key(argv[2]), data);

		printf("%s.%s\n", data, sig);
		return 0;
	}
	if (argc == 5 && strcmp(argv[1], "hs256") == 0) {
		char *data = signing_input(argv[3], argv[4]), secret[16384];
		unsigned char mac[32];
		unsigned int mac_len = 0;
		FILE *f = fopen(argv[2], "r");
		size_t n;

		if (f == NULL)
			die("cannot open the secret");
		n = fread(secret, 1, sizeof(secret), f);
		fclose(f);
		HMAC(EVP_sha256(), secret, (int)n, (unsigned char *)data, strlen(data), mac, &mac_len);
		printf("%s.%s\n", data, b64url(mac, mac_len));
		return 0;
	}
	fprintf(stderr, "usage: psc-sign jwks KID=KEY.pem... | token KEY.pem|- HEADER PAYLOAD | "
			"hs256 SECRET_FILE HEADER PAYLOAD\n");
	return 2;
}
