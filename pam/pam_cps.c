/* Method "cps": a CPS card (or any PKCS#11 token holding an IGC-Santé FORT PERSONNES
 * certificate), as pam_p11 does it, with the MSSanté identity rules:
 *   1. the card's authentication certificate (digitalSignature, preferably without
 *      nonRepudiation: the other certificate of a CPS is the signature one) is read;
 *   2. it must chain to [pam] cps_ca_file, be issued by a CA named in cps_issuer_cns and not
 *      be revoked according to the local CRL ([pam] crl, required; never fetched here);
 *   3. the idNat_PS is the CN of its multi-valued first RDN (common/dn.h), and the common
 *      access rule must let that person use the username (BAL or idNat_PS);
 *   4. only then is the PIN asked, through the PAM conversation, and a fresh random
 *      challenge signed on the card and checked with the certificate's public key.
 * The card dialogue runs in a child process with a deadline (pam_pkcs11.h).
 */
#include "pam_mss_int.h"
#include "pam_pkcs11.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include <p11-kit/pkcs11.h>
#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "cert.h"
#include "dn.h"

#define TRUST_FILE_MAX (4 * 1024 * 1024)

/* The CA file and the CRL, read safely, in a store of our own (never the system's). */
static X509_STORE *load_trust(struct mss_pam *ctx)
{
	const char *ca = mss_config_str(ctx->cfg, MSS_OPT_PAM_CPS_CA_FILE);
	const char *crl_path = mss_config_str(ctx->cfg, MSS_OPT_PAM_CRL);
	STACK_OF(X509_INFO) *infos = NULL;
	X509_STORE *store = X509_STORE_new();
	X509_CRL *crl = NULL;
	BIO *bio = NULL;
	char *text = NULL, err[512];
	size_t len, n_ca = 0;
	bool ok = false;

	if (store == NULL)
		return NULL;
	if (ca == NULL || crl_path == NULL) {
		mss_pam_log(ctx, LOG_ERR, "[pam] cps_ca_file and [pam] crl must both be set for card logins");
		goto out;
	}
	if (mss_pam_read_file(ca, ctx->relax_owner, TRUST_FILE_MAX, &text, &len, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "[pam] cps_ca_file: %s", err);
		goto out;
	}
	bio = BIO_new_mem_buf(text, (int)len);
	infos = bio != NULL ? PEM_X509_INFO_read_bio(bio, NULL, NULL, NULL) : NULL;
	for (int i = 0; infos != NULL && i < sk_X509_INFO_num(infos); i++) {
		X509_INFO *info = sk_X509_INFO_value(infos, i);

		if (info->x509 != NULL && X509_STORE_add_cert(store, info->x509) == 1)
			n_ca++;
	}
	if (n_ca == 0) {
		mss_pam_log(ctx, LOG_ERR, "[pam] cps_ca_file %s: no PEM certificate", ca);
		goto out;
	}
	BIO_free(bio);
	free(text);
	text = NULL;
	if (mss_pam_read_file(crl_path, ctx->relax_owner, TRUST_FILE_MAX, &text, &len, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "[pam] crl: %s", err);
		bio = NULL;
		goto out;
	}
	bio = BIO_new_mem_buf(text, (int)len);
	crl = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL, NULL) : NULL;
	if (crl == NULL && bio != NULL && BIO_reset(bio) == 1)
		crl = d2i_X509_CRL_bio(bio, NULL); /* DER, as CAs publish them */
	if (crl == NULL || X509_STORE_add_crl(store, crl) != 1) {
		mss_pam_log(ctx, LOG_ERR, "[pam] crl %s: not a CRL (PEM or DER)", crl_path);
		goto out;
	}
	/* Revocation of the card certificate is mandatory: no CRL for its issuer (or an expired
	   one) fails the verification. */
	X509_STORE_set_flags(store, X509_V_FLAG_CRL_CHECK | X509_V_FLAG_X509_STRICT);
	X509_STORE_set_purpose(store, X509_PURPOSE_SSL_CLIENT);
	ok = true;
out:
	X509_CRL_free(crl);
	BIO_free(bio);
	free(text);
	sk_X509_INFO_pop_free(infos, X509_INFO_free);
	if (!ok) {
		X509_STORE_free(store);
		return NULL;
	}
	return store;
}

/* Is this the card's authentication certificate? 2 best (digitalSignature only), 1 usable,
   0 not for authentication. */
static int auth_rank(X509 *cert)
{
	uint32_t ku = X509_get_key_usage(cert);

	if (!(ku & KU_DIGITAL_SIGNATURE))
		return 0;
	return ku & KU_NON_REPUDIATION ? 1 : 2;
}

/* 0 verified; -1 with reason and detail. */
static int verify_chain(X509_STORE *store, X509 *cert, const char **reason_r, const char **detail_r)
{
	X509_STORE_CTX *vctx = X509_STORE_CTX_new();
	int r, e;

	*reason_r = "internal_error";
	*detail_r = "out of memory";
	if (vctx == NULL || X509_STORE_CTX_init(vctx, store, cert, NULL) != 1) {
		X509_STORE_CTX_free(vctx);
		return -1;
	}
	r = X509_verify_cert(vctx);
	e = X509_STORE_CTX_get_error(vctx);
	X509_STORE_CTX_free(vctx);
	if (r == 1)
		return 0;
	*detail_r = X509_verify_cert_error_string(e);
	*reason_r = e == X509_V_ERR_CERT_REVOKED ? "certificate_revoked"
		    : e == X509_V_ERR_UNABLE_TO_GET_CRL || e == X509_V_ERR_CRL_HAS_EXPIRED ||
				  e == X509_V_ERR_CRL_NOT_YET_VALID || e == X509_V_ERR_CRL_SIGNATURE_FAILURE
			? "crl_unusable"
		    : e == X509_V_ERR_CERT_HAS_EXPIRED ? "certificate_expired"
						      : "certificate_untrusted";
	return -1;
}

/* Picks the verified authentication certificate; returns its index or -1 (ctx->reason set). */
static int choose_certificate(struct mss_pam *ctx, const struct mss_p11 *p11, X509_STORE *store, X509 **certs)
{
	const char *first_reason = NULL, *first_detail = NULL;

	for (int rank = 2; rank >= 1; rank--) {
		for (size_t i = 0; i < p11->n_certs; i++) {
			const char *reason, *detail;

			if (certs[i] == NULL || auth_rank(certs[i]) != rank)
				continue;
			if (verify_chain(store, certs[i], &reason, &detail) == 0)
				return (int)i;
			if (first_reason == NULL) {
				first_reason = reason;
				first_detail = detail;
			}
		}
	}
	ctx->reason = first_reason != NULL ? first_reason : "no_authentication_certificate";
	mss_pam_log(ctx, LOG_NOTICE, "card certificate refused: %s",
		    first_detail != NULL ? first_detail : "no certificate for digital signature on the card");
	return -1;
}

/* idNat_PS of a verified certificate, and its issuer among cps_issuer_cns. */
static int card_identity(struct mss_pam *ctx, X509 *cert, char *idnat, size_t idnat_len)
{
	char dn_text[MSS_DN_MAX], issuer_cn[256];
	const char *why = "cannot read the subject";
	struct mss_dn dn;
	int ret = -1;

	if (mss_x509_name_cn(X509_get_issuer_name(cert), issuer_cn, sizeof(issuer_cn)) < 0 ||
	    !mss_config_list_has(ctx->cfg, MSS_OPT_PAM_CPS_ISSUER_CNS, issuer_cn)) {
		ctx->reason = "wrong_issuer_ca";
		mss_pam_log(ctx, LOG_NOTICE, "card certificate not issued by a CA of [pam] cps_issuer_cns");
		return -1;
	}
	memset(&dn, 0, sizeof(dn));
	if (mss_cert_subject_dn(cert, dn_text, sizeof(dn_text)) == 0 &&
	    mss_dn_parse(dn_text, strlen(dn_text), &dn, &why) == 0 && mss_dn_cps_idnat(&dn, idnat, idnat_len, &why) == 0)
		ret = 0;
	mss_dn_free(&dn);
	if (ret < 0) {
		ctx->reason = "no_idnat_in_certificate";
		mss_pam_log(ctx, LOG_NOTICE, "card certificate: %s", why);
	}
	return ret;
}

/* What the card signs for a 32-byte challenge: SHA-256 for CKM_ECDSA, a DigestInfo for
   CKM_RSA_PKCS. */
static int to_be_signed(EVP_PKEY *key, const unsigned char *challenge, unsigned char *tbs, size_t *tbs_len,
			unsigned long *mech_r, unsigned char *digest)
{
	static const unsigned char sha256_info[] = {0x30, 0x31, 0x30, 0x0d, 0x06, 0x09, 0x60, 0x86, 0x48, 0x01,
						    0x65, 0x03, 0x04, 0x02, 0x01, 0x05, 0x00, 0x04, 0x20};
	unsigned int dlen = 0;

	if (EVP_Digest(challenge, 32, digest, &dlen, EVP_sha256(), NULL) != 1 || dlen != 32)
		return -1;
	if (EVP_PKEY_is_a(key, "EC")) {
		memcpy(tbs, digest, 32);
		*tbs_len = 32;
		*mech_r = CKM_ECDSA;
		return 0;
	}
	if (EVP_PKEY_is_a(key, "RSA")) {
		memcpy(tbs, sha256_info, sizeof(sha256_info));
		memcpy(tbs + sizeof(sha256_info), digest, 32);
		*tbs_len = sizeof(sha256_info) + 32;
		*mech_r = CKM_RSA_PKCS;
		return 0;
	}
	return -1;
}

/* Checks the card's signature of DIGEST with the certificate's key: 1 valid, 0 not. */
static int check_signature(EVP_PKEY *key, const unsigned char *digest, const unsigned char *sig, size_t sig_len)
{
	unsigned char der[MSS_P11_MAX_SIG + 16], *p = der;
	EVP_PKEY_CTX *vctx = NULL;
	ECDSA_SIG *es = NULL;
	int ok = 0;

	if (EVP_PKEY_is_a(key, "EC")) {
		/* PKCS#11 gives r||s; OpenSSL wants DER. */
		size_t half = sig_len / 2;
		BIGNUM *r, *s;
		int dlen;

		if (sig_len == 0 || sig_len % 2 != 0 || half > 66)
			return 0;
		es = ECDSA_SIG_new();
		r = BN_bin2bn(sig, (int)half, NULL);
		s = BN_bin2bn(sig + half, (int)half, NULL);
		if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			goto out;
		}
		dlen = i2d_ECDSA_SIG(es, &p);
		if (dlen <= 0)
			goto out;
		sig = der;
		sig_len = (size_t)dlen;
	}
	vctx = EVP_PKEY_CTX_new_from_pkey(NULL, key, NULL);
	if (vctx == NULL || EVP_PKEY_verify_init(vctx) != 1 || EVP_PKEY_CTX_set_signature_md(vctx, EVP_sha256()) != 1)
		goto out;
	if (EVP_PKEY_is_a(key, "RSA") && EVP_PKEY_CTX_set_rsa_padding(vctx, RSA_PKCS1_PADDING) != 1)
		goto out;
	ok = EVP_PKEY_verify(vctx, sig, sig_len, digest, 32) == 1;
out:
	EVP_PKEY_CTX_free(vctx);
	ECDSA_SIG_free(es);
	return ok;
}

/* The PIN through the conversation. Returns a malloc'd string (wipe it) or NULL. */
static char *ask_pin(struct mss_pam *ctx)
{
	char *resp = NULL;

	if (pam_prompt(ctx->pamh, PAM_PROMPT_ECHO_OFF, &resp, "CPS card PIN: ") != PAM_SUCCESS)
		return NULL;
	return resp;
}

/* Proof of possession: the card signs a fresh challenge. PAM code. */
static int prove_possession(struct mss_pam *ctx, struct mss_p11 *p11, size_t index, X509 *cert)
{
	unsigned char challenge[32] = {0}, digest[32], tbs[64], sig[MSS_P11_MAX_SIG];
	size_t tbs_len = 0, sig_len = sizeof(sig);
	EVP_PKEY *key = X509_get0_pubkey(cert);
	unsigned long mech = 0;
	enum mss_p11_status st;
	char err[256], *pin;

	if (key == NULL || to_be_signed(key, challenge, tbs, &tbs_len, &mech, digest) < 0) {
		ctx->reason = "unsupported_card_key";
		return PAM_AUTH_ERR;
	}
	pin = ask_pin(ctx);
	if (pin == NULL || pin[0] == '\0' || strlen(pin) > MSS_P11_MAX_PIN) {
		ctx->reason = pin == NULL ? "no_pin" : pin[0] == '\0' ? "empty_pin" : "pin_too_long";
		if (pin != NULL) {
			explicit_bzero(pin, strlen(pin));
			free(pin);
		}
		return PAM_AUTH_ERR;
	}
	if (RAND_bytes(challenge, sizeof(challenge)) != 1 ||
	    to_be_signed(key, challenge, tbs, &tbs_len, &mech, digest) < 0) {
		explicit_bzero(pin, strlen(pin));
		free(pin);
		ctx->reason = "internal_error";
		return PAM_AUTHINFO_UNAVAIL;
	}
	st = mss_p11_sign(p11, index, mech, pin, tbs, tbs_len, sig, &sig_len, err, sizeof(err));
	explicit_bzero(pin, strlen(pin));
	free(pin);
	switch (st) {
	case MSS_P11_OK:
		break;
	case MSS_P11_PIN_INCORRECT:
		ctx->reason = "wrong_pin";
		return PAM_AUTH_ERR;
	case MSS_P11_PIN_LOCKED:
		ctx->reason = "pin_locked";
		return PAM_MAXTRIES;
	case MSS_P11_TIMEOUT:
		mss_pam_log(ctx, LOG_ERR, "card: %s", err);
		ctx->reason = "card_timeout";
		return PAM_AUTHINFO_UNAVAIL;
	default:
		mss_pam_log(ctx, LOG_ERR, "card: %s", err);
		ctx->reason = "card_error";
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (check_signature(key, digest, sig, sig_len) != 1) {
		ctx->reason = "bad_card_signature";
		mss_pam_log(ctx, LOG_WARNING, "the card's signature does not match its certificate");
		return PAM_AUTH_ERR;
	}
	return PAM_SUCCESS;
}

int mss_pam_cps(struct mss_pam *ctx)
{
	const char *module = mss_config_str(ctx->cfg, MSS_OPT_PAM_PKCS11_MODULE);
	X509 *certs[MSS_P11_MAX_CERTS] = {NULL};
	char err[512], idnat[24], module_path[PATH_MAX];
	X509_STORE *store = NULL;
	struct mss_p11 p11;
	enum mss_p11_status st;
	int rc = PAM_AUTH_ERR, index;

	memset(&p11, 0, sizeof(p11));
	p11.fd = -1;
	p11.pid = -1;
	if (module == NULL) {
		mss_pam_log(ctx, LOG_ERR, "method cps needs [pam] pkcs11_module");
		ctx->reason = "cps_not_configured";
		return PAM_AUTHINFO_UNAVAIL;
	}
	/* The module is code run on behalf of root: it must be as safe as the config. Vendors
	   install it behind version symlinks: the target is checked, and that is what loads. */
	if (realpath(module, module_path) == NULL) {
		mss_pam_log(ctx, LOG_ERR, "[pam] pkcs11_module: %s: cannot resolve: %s", module, strerror(errno));
		ctx->reason = "cps_not_configured";
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (mss_pam_check_file(module_path, ctx->relax_owner, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "[pam] pkcs11_module: %s", err);
		ctx->reason = "cps_not_configured";
		return PAM_AUTHINFO_UNAVAIL;
	}
	module = module_path;
	store = load_trust(ctx);
	if (store == NULL) {
		ctx->reason = "cps_trust_unavailable";
		return PAM_AUTHINFO_UNAVAIL;
	}
	st = mss_p11_start(&p11, module, mss_config_num(ctx->cfg, MSS_OPT_PAM_PKCS11_TIMEOUT), err, sizeof(err));
	if (st == MSS_P11_NO_TOKEN) {
		mss_pam_log(ctx, LOG_DEBUG, "cps: %s", err);
		ctx->reason = "no_card";
		rc = MSS_PAM_NEXT;
		goto out;
	}
	if (st != MSS_P11_OK) {
		mss_pam_log(ctx, LOG_ERR, "card: %s", err);
		ctx->reason = st == MSS_P11_TIMEOUT ? "card_timeout" : "card_error";
		rc = PAM_AUTHINFO_UNAVAIL;
		goto out;
	}
	for (size_t i = 0; i < p11.n_certs; i++) {
		const unsigned char *der = p11.certs[i].der;

		certs[i] = d2i_X509(NULL, &der, (long)p11.certs[i].der_len);
	}
	index = choose_certificate(ctx, &p11, store, certs);
	if (index < 0 || card_identity(ctx, certs[index], idnat, sizeof(idnat)) < 0) {
		rc = PAM_AUTH_ERR;
		goto out;
	}
	/* Allowed before the PIN is asked: a card that may not open this BAL gets no PIN try. */
	rc = mss_pam_authorize_person(ctx, idnat);
	if (rc != PAM_SUCCESS)
		goto out;
	rc = prove_possession(ctx, &p11, (size_t)index, certs[index]);
	if (rc == PAM_SUCCESS)
		ctx->reason = "ok";
out:
	mss_p11_stop(&p11);
	for (size_t i = 0; i < MSS_P11_MAX_CERTS; i++)
		X509_free(certs[i]);
	X509_STORE_free(store);
	return rc;
}
