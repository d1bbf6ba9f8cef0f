/* Bench helper of group "pam" (bench/group-pam.sh). Each subcommand prints one number.
 *
 *   pam-bench psc rs256|es256 N       token validations per second (mss_token_validate),
 *                                      key made here, JWKS parsed once
 *   pam-bench verify rs256|es256 N    baseline: the bare signature check of the same token
 *                                      with a ready EVP_PKEY, per second
 *   pam-bench pam SERVICE USER PASSWORD N
 *                                      pam_authenticate calls per second (run it under
 *                                      pam_wrapper with the pam_mss service)
 *   pam-bench ldapbind URI CA_FILE DN PASSWORD N
 *                                      baseline: what one password login costs the directory,
 *                                      done with bare libldap — connect, StartTLS (CA checked),
 *                                      simple bind, unbind — per second
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldap.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <security/pam_appl.h>

#include "token.h"

#include "../tests/integration/b64url.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void die(const char *what)
{
	fprintf(stderr, "pam-bench: %s\n", what);
	exit(2);
}

static char *b64url(const unsigned char *d, size_t n)
{
	char *out = b64url_encode(d, n);

	if (out == NULL)
		die("out of memory");
	return out;
}

struct fixture {
	EVP_PKEY *key;
	char jwks[4096];
	char *token;
	char *signed_part; /* header.payload */
	unsigned char sig[512];
	size_t sig_len; /* DER for ES256 (what OpenSSL checks) */
};

/* A PSC-like token: same header and claims as Pro Santé Connect access tokens. */
static void make_fixture(struct fixture *f, int es256)
{
	char payload[1024], header[128], *h, *p, *s;
	unsigned char rs[64];
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	long long t = (long long)time(NULL);

	f->key = es256 ? EVP_EC_gen("P-256") : EVP_RSA_gen(2048);
	if (f->key == NULL || ctx == NULL)
		die("key generation");
	{
		char jwk[2048];

		if (jwk_format(f->key, "k", jwk, sizeof(jwk)) < 0)
			die("JWK");
		snprintf(f->jwks, sizeof(f->jwks), "{\"keys\":[%s]}", jwk);
	}
	snprintf(header, sizeof(header), "{\"alg\":\"%s\",\"typ\":\"JWT\",\"kid\":\"k\"}", es256 ? "ES256" : "RS256");
	snprintf(payload, sizeof(payload),
		 "{\"exp\":%lld,\"iat\":%lld,\"auth_time\":%lld,\"jti\":\"0b6c1c3e-8f5e-4b1a-9c55-3d2f0c2d9a11\","
		 "\"iss\":\"https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet\",\"aud\":\"mss-imap\","
		 "\"sub\":\"f:550dc1c8-d97b-4b1e-ac8c-8eb4471cf9dd:ANS20231234\",\"typ\":\"Bearer\",\"azp\":\"mss-client\","
		 "\"session_state\":\"2a6c1c3e-8f5e-4b1a-9c55-3d2f0c2d9a11\",\"acr\":\"eidas1\","
		 "\"scope\":\"openid scope_all\",\"SubjectNameID\":\"810003461033\",\"preferred_username\":\"810003461033\","
		 "\"given_name\":\"JEAN\",\"family_name\":\"MARTIN\"}",
		 t + 3600, t, t);
	h = b64url((const unsigned char *)header, strlen(header));
	p = b64url((const unsigned char *)payload, strlen(payload));
	f->signed_part = malloc(strlen(h) + strlen(p) + 2);
	sprintf(f->signed_part, "%s.%s", h, p);
	f->sig_len = sizeof(f->sig);
	if (EVP_DigestSignInit_ex(ctx, NULL, "SHA256", NULL, NULL, f->key, NULL) != 1 ||
	    EVP_DigestSign(ctx, f->sig, &f->sig_len, (unsigned char *)f->signed_part, strlen(f->signed_part)) != 1)
		die("signing");
	EVP_MD_CTX_free(ctx);
	if (es256) {
		const unsigned char *q = f->sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &q, (long)f->sig_len);

		BN_bn2binpad(ECDSA_SIG_get0_r(es), rs, 32);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), rs + 32, 32);
		ECDSA_SIG_free(es);
		s = b64url(rs, 64);
	} else {
		s = b64url(f->sig, f->sig_len);
	}
	f->token = malloc(strlen(f->signed_part) + strlen(s) + 2);
	sprintf(f->token, "%s.%s", f->signed_part, s);
	free(h);
	free(p);
	free(s);
}

static void bench_psc(int es256, long n, int baseline)
{
	struct mss_token_policy policy = {.issuer = "https://auth.esw.esante.gouv.fr/auth/realms/esante-wallet",
					  .clock_skew = 60};
	const char *auds[] = {"mss-imap"};
	struct mss_token_claims claims;
	struct mss_jwks *jwks;
	struct fixture f;
	char err[256];
	double t0;

	make_fixture(&f, es256);
	if (mss_jwks_parse(f.jwks, strlen(f.jwks), &jwks, err, sizeof(err)) < 0)
		die(err);
	policy.audiences = auds;
	policy.n_audiences = 1;
	policy.now = time(NULL);
	t0 = now();
	for (long i = 0; i < n; i++) {
		if (baseline) {
			EVP_MD_CTX *ctx = EVP_MD_CTX_new();

			if (EVP_DigestVerifyInit_ex(ctx, NULL, "SHA256", NULL, NULL, f.key, NULL) != 1 ||
			    EVP_DigestVerify(ctx, f.sig, f.sig_len, (unsigned char *)f.signed_part,
					     strlen(f.signed_part)) != 1)
				die("baseline verify");
			EVP_MD_CTX_free(ctx);
		} else if (mss_token_validate(jwks, f.token, strlen(f.token), &policy, &claims, NULL) != MSS_TOKEN_OK) {
			die("token refused");
		}
	}
	printf("%.0f\n", (double)n / (now() - t0));
	mss_jwks_free(jwks);
}

static int conv(int n, const struct pam_message **msg, struct pam_response **resp, void *data)
{
	struct pam_response *r = calloc((size_t)n, sizeof(*r));

	if (r == NULL)
		return PAM_BUF_ERR;
	for (int i = 0; i < n; i++) {
		if (msg[i]->msg_style == PAM_PROMPT_ECHO_OFF || msg[i]->msg_style == PAM_PROMPT_ECHO_ON)
			r[i].resp = strdup(data);
	}
	*resp = r;
	return PAM_SUCCESS;
}

static void bench_pam(const char *service, const char *user, const char *password, long n)
{
	struct pam_conv c = {conv, (void *)password};
	double t0 = now();

	for (long i = 0; i < n; i++) {
		pam_handle_t *h = NULL;
		int rc;

		if (pam_start(service, user, &c, &h) != PAM_SUCCESS)
			die("pam_start");
		rc = pam_authenticate(h, 0);
		pam_end(h, rc);
		if (rc != PAM_SUCCESS)
			die("pam_authenticate failed");
	}
	printf("%.1f\n", (double)n / (now() - t0));
}

static void bench_ldap(const char *uri, const char *ca, const char *dn, const char *password, long n)
{
	struct timeval tv = {5, 0};
	int version = LDAP_VERSION3, demand = LDAP_OPT_X_TLS_DEMAND, newctx = 0;
	struct berval cred = {strlen(password), (char *)password};
	double t0 = now();

	for (long i = 0; i < n; i++) {
		LDAP *ld = NULL;

		if (ldap_initialize(&ld, uri) != LDAP_SUCCESS)
			die("ldap_initialize");
		ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version);
		ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv);
		ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv);
		ldap_set_option(ld, LDAP_OPT_X_TLS_CACERTFILE, ca);
		ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand);
		ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &newctx);
		if (ldap_start_tls_s(ld, NULL, NULL) != LDAP_SUCCESS ||
		    ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL) != LDAP_SUCCESS)
			die("StartTLS or bind failed");
		ldap_unbind_ext_s(ld, NULL, NULL);
	}
	printf("%.1f\n", (double)n / (now() - t0));
}

int main(int argc, char **argv)
{
	if (argc == 4 && (strcmp(argv[1], "psc") == 0 || strcmp(argv[1], "verify") == 0))
		bench_psc(strcmp(argv[2], "es256") == 0, atol(argv[3]), strcmp(argv[1], "verify") == 0);
	else if (argc == 6 && strcmp(argv[1], "pam") == 0)
		bench_pam(argv[2], argv[3], argv[4], atol(argv[5]));
	else if (argc == 7 && strcmp(argv[1], "ldapbind") == 0)
		bench_ldap(argv[2], argv[3], argv[4], argv[5], atol(argv[6]));
	else
		die("usage: psc|verify rs256|es256 N | pam SERVICE USER PASSWORD N | ldapbind URI CA DN PASSWORD N");
	return 0;
}
