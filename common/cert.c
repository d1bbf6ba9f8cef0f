/* Certificate identity with OpenSSL 3. Names are printed by OpenSSL in RFC 2253 form and
   then go through the same parser as the trust list's DNs (dn.c): one set of checks (control
   characters, UTF-8, limits) and one normal form for both sides of every comparison. */
#include "cert.h"

#include "dn.h"

#include <stdio.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/pem.h>

/* RFC 2253 printing, but UTF-8 kept as is rather than escaped as \C3\A9: the trust list
   writes `Médecin`, and dn.c validates the UTF-8 itself. Control characters stay escaped
   (\0A), so the parser sees and refuses them. */
#define PRINT_FLAGS (XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB)

/* Prints the name with OpenSSL and parses the result into dn_r. */
static int name_parse(const X509_NAME *name, struct mss_dn *dn_r, const char **error_r)
{
	BIO *bio = NULL;
	char *text;
	long len;
	int ret = -1;

	memset(dn_r, 0, sizeof(*dn_r));
	if (name == NULL) {
		*error_r = "no name";
		goto out;
	}
	bio = BIO_new(BIO_s_mem());
	if (bio == NULL) {
		*error_r = "out of memory";
		goto out;
	}
	if (X509_NAME_print_ex(bio, name, 0, PRINT_FLAGS) < 0) {
		*error_r = "cannot print the certificate name";
		goto out;
	}
	len = BIO_get_mem_data(bio, &text);
	if (len <= 0) {
		*error_r = "empty certificate name";
		goto out;
	}
	ret = mss_dn_parse(text, (size_t)len, dn_r, error_r);
out:
	BIO_free(bio);
	return ret;
}

int mss_x509_name_dn(const X509_NAME *name, char *out, size_t outlen, const char **error_r)
{
	struct mss_dn dn;
	const char *error;
	int ret = -1;

	if (outlen > 0)
		out[0] = '\0';
	if (name_parse(name, &dn, &error) < 0)
		goto out;
	if (mss_dn_normalize(&dn, out, outlen) < 0) {
		error = "certificate name does not fit the output buffer";
		goto out;
	}
	ret = 0;
out:
	mss_dn_free(&dn);
	if (ret < 0 && error_r != NULL)
		*error_r = error;
	return ret;
}

int mss_cert_subject_dn(X509 *cert, char *out, size_t outlen)
{
	if (cert == NULL) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return mss_x509_name_dn(X509_get_subject_name(cert), out, outlen, NULL);
}

int mss_cert_issuer_dn(X509 *cert, char *out, size_t outlen)
{
	if (cert == NULL) {
		if (outlen > 0)
			out[0] = '\0';
		return -1;
	}
	return mss_x509_name_dn(X509_get_issuer_name(cert), out, outlen, NULL);
}

int mss_x509_name_cn(const X509_NAME *name, char *out, size_t outlen)
{
	struct mss_dn dn;
	const char *error, *cn = NULL;
	size_t len;
	int ret = -1;

	if (outlen > 0)
		out[0] = '\0';
	if (name_parse(name, &dn, &error) < 0)
		goto out;
	for (size_t i = 0; i < dn.n_avas; i++) {
		if (strcmp(dn.avas[i].type, "CN") != 0)
			continue;
		if (cn != NULL || dn.avas[i].is_hex)
			goto out; /* ambiguous, or not a string */
		cn = dn.avas[i].value;
	}
	if (cn == NULL || (len = strlen(cn)) >= outlen)
		goto out;
	memcpy(out, cn, len + 1);
	ret = 0;
out:
	mss_dn_free(&dn);
	return ret;
}

int mss_cert_load_pem(const char *path, X509 **cert_r)
{
	FILE *f;

	*cert_r = NULL;
	f = fopen(path, "re");
	if (f == NULL)
		return -1;
	*cert_r = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	return *cert_r != NULL ? 0 : -1;
}
