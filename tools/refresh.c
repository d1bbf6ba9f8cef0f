/* mssctl sync, before the snapshot: refreshes the files pam_mss reads offline — the Pro Santé
   Connect JWKS and the CRL of the card CA — so that nothing is ever fetched during a login.
   Each download is validated before it replaces the file (temporary file, fsync, rename):
   a garbage answer, an unsigned or expired CRL, a JWKS without a usable key fails the sync and
   the previous file stays. libcurl lives here, in mssctl, never in the modules. */
#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mssctl.h"

#define REFRESH_MAX_BYTES (16 * 1024 * 1024)

struct buffer {
	char *data;
	size_t len;
	bool too_big;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	struct buffer *b = userdata;
	size_t n = size * nmemb;
	char *p;

	if (b->len + n > REFRESH_MAX_BYTES) {
		b->too_big = true;
		return 0;
	}
	p = realloc(b->data, b->len + n + 1);
	if (p == NULL)
		return 0;
	memcpy(p + b->len, ptr, n);
	b->len += n;
	p[b->len] = '\0';
	b->data = p;
	return n;
}

static int download(const char *url, long timeout, struct buffer *b, char *err, size_t errlen)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	CURL *curl = curl_easy_init();
	CURLcode rc;
	long status = 0;

	memset(b, 0, sizeof(*b));
	if (curl == NULL) {
		snprintf(err, errlen, "%s: cannot initialise libcurl", url);
		return -1;
	}
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https,http,file");
	curl_easy_setopt(curl, CURLOPT_REDIR_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(curl, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, timeout);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, timeout * 3);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "mssctl");
	rc = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_easy_cleanup(curl);
	if (b->too_big) {
		snprintf(err, errlen, "%s: larger than %d bytes", url, REFRESH_MAX_BYTES);
		return -1;
	}
	if (rc != CURLE_OK) {
		snprintf(err, errlen, "%s: %s", url, curl_err[0] != '\0' ? curl_err : curl_easy_strerror(rc));
		return -1;
	}
	/* file:// has no status; http(s) must answer 200 */
	if (strncmp(url, "file:", 5) != 0 && status != 200) {
		snprintf(err, errlen, "%s: HTTP status %ld", url, status);
		return -1;
	}
	if (b->data == NULL || b->len == 0) {
		snprintf(err, errlen, "%s: empty answer", url);
		return -1;
	}
	return 0;
}

/* Writes DATA to PATH atomically, mode 0644 (both files are public data). */
static int publish(const char *path, const char *data, size_t len, char *err, size_t errlen)
{
	char tmp[4096];
	int fd, n;

	n = snprintf(tmp, sizeof(tmp), "%s.XXXXXX", path);
	if (n < 0 || (size_t)n >= sizeof(tmp)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
		return -1;
	}
	if (fchmod(fd, 0644) < 0 || write(fd, data, len) != (ssize_t)len || fsync(fd) < 0) {
		snprintf(err, errlen, "%.900s: write error: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		return -1;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%.900s: cannot rename into place: %s", path, strerror(errno));
		unlink(tmp);
		return -1;
	}
	return 0;
}

/* A JWKS: {"keys":[...]} with at least one RSA or EC key meant for signatures. */
static int check_jwks(const struct buffer *b, const char *url, char *err, size_t errlen)
{
	json_object *root = json_tokener_parse(b->data), *keys;
	size_t usable = 0;

	if (root == NULL || !json_object_is_type(root, json_type_object) ||
	    !json_object_object_get_ex(root, "keys", &keys) || !json_object_is_type(keys, json_type_array)) {
		snprintf(err, errlen, "%s: not a JWKS (a JSON object with a \"keys\" array)", url);
		json_object_put(root);
		return -1;
	}
	for (size_t i = 0; i < json_object_array_length(keys); i++) {
		json_object *k = json_object_array_get_idx(keys, i), *kty, *use;
		const char *t;

		if (!json_object_object_get_ex(k, "kty", &kty))
			continue;
		t = json_object_get_string(kty);
		if (json_object_object_get_ex(k, "use", &use) && strcmp(json_object_get_string(use), "sig") != 0)
			continue;
		usable += strcmp(t, "RSA") == 0 || strcmp(t, "EC") == 0;
	}
	json_object_put(root);
	if (usable == 0) {
		snprintf(err, errlen, "%s: the JWKS holds no RSA or EC signing key", url);
		return -1;
	}
	return 0;
}

/* A CRL (PEM or DER) signed by one of the CAs of CA_FILE, not past its nextUpdate; written
   back as PEM. */
static int check_crl(const struct buffer *b, const char *url, const char *ca_file, char **pem_r, size_t *pem_len_r,
		     char *err, size_t errlen)
{
	const unsigned char *der = (const unsigned char *)b->data;
	BIO *in = BIO_new_mem_buf(b->data, (int)b->len), *out = NULL;
	X509_CRL *crl = PEM_read_bio_X509_CRL(in, NULL, NULL, NULL);
	STACK_OF(X509_INFO) *cas = NULL;
	FILE *f = NULL;
	bool signed_ok = false;
	int ret = -1;
	BUF_MEM *mem;

	if (crl == NULL)
		crl = d2i_X509_CRL(NULL, &der, (long)b->len);
	if (crl == NULL) {
		snprintf(err, errlen, "%s: not a CRL (PEM or DER)", url);
		goto out;
	}
	if (X509_CRL_get0_nextUpdate(crl) != NULL && X509_cmp_current_time(X509_CRL_get0_nextUpdate(crl)) <= 0) {
		snprintf(err, errlen, "%s: the CRL is past its nextUpdate", url);
		goto out;
	}
	if (ca_file == NULL || (f = fopen(ca_file, "re")) == NULL) {
		snprintf(err, errlen, "%s: cannot read the CA file [pam] cps_ca_file to check the CRL", url);
		goto out;
	}
	cas = PEM_X509_INFO_read(f, NULL, NULL, NULL);
	for (int i = 0; cas != NULL && i < sk_X509_INFO_num(cas) && !signed_ok; i++) {
		X509 *ca = sk_X509_INFO_value(cas, i)->x509;
		EVP_PKEY *key;

		if (ca == NULL || X509_NAME_cmp(X509_get_subject_name(ca), X509_CRL_get_issuer(crl)) != 0)
			continue;
		key = X509_get0_pubkey(ca);
		signed_ok = key != NULL && X509_CRL_verify(crl, key) == 1;
	}
	if (!signed_ok) {
		snprintf(err, errlen, "%s: the CRL is not signed by a CA of %s", url, ca_file);
		goto out;
	}
	out = BIO_new(BIO_s_mem());
	if (out == NULL || PEM_write_bio_X509_CRL(out, crl) != 1) {
		snprintf(err, errlen, "%s: cannot encode the CRL", url);
		goto out;
	}
	BIO_get_mem_ptr(out, &mem);
	*pem_r = malloc(mem->length);
	if (*pem_r == NULL) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	memcpy(*pem_r, mem->data, mem->length);
	*pem_len_r = mem->length;
	ret = 0;
out:
	if (f != NULL)
		fclose(f);
	sk_X509_INFO_pop_free(cas, X509_INFO_free);
	X509_CRL_free(crl);
	BIO_free(in);
	BIO_free(out);
	return ret;
}

int mssctl_refresh_auth_files(const struct mss_config *cfg)
{
	const char *jwks_url = mss_config_str(cfg, MSS_OPT_PAM_PSC_JWKS_URL);
	const char *crl_url = mss_config_str(cfg, MSS_OPT_PAM_CRL_URL);
	long timeout = (long)mss_config_num(cfg, MSS_OPT_DIRECTORY_TIMEOUT);
	char err[1024];
	struct buffer b = {0};
	char *pem = NULL;
	size_t pem_len = 0;
	int ret = -1;

	if (jwks_url == NULL && crl_url == NULL)
		return 0;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		mss_error("cannot initialise libcurl");
		return -1;
	}
	/* Both are validated before either is written: a sync changes all or nothing. */
	if (jwks_url != NULL) {
		if (mss_config_str(cfg, MSS_OPT_PAM_PSC_JWKS) == NULL) {
			mss_error("[pam] psc_jwks_url is set but psc_jwks is not");
			goto out;
		}
		if (download(jwks_url, timeout, &b, err, sizeof(err)) < 0 || check_jwks(&b, jwks_url, err, sizeof(err)) < 0)
			goto fail;
	}
	if (crl_url != NULL) {
		struct buffer c;

		if (mss_config_str(cfg, MSS_OPT_PAM_CRL) == NULL) {
			mss_error("[pam] crl_url is set but crl is not");
			goto out;
		}
		if (download(crl_url, timeout, &c, err, sizeof(err)) < 0 ||
		    check_crl(&c, crl_url, mss_config_str(cfg, MSS_OPT_PAM_CPS_CA_FILE), &pem, &pem_len, err,
			      sizeof(err)) < 0) {
			free(c.data);
			goto fail;
		}
		free(c.data);
	}
	if (jwks_url != NULL && publish(mss_config_str(cfg, MSS_OPT_PAM_PSC_JWKS), b.data, b.len, err, sizeof(err)) < 0)
		goto fail;
	if (crl_url != NULL && publish(mss_config_str(cfg, MSS_OPT_PAM_CRL), pem, pem_len, err, sizeof(err)) < 0)
		goto fail;
	if (jwks_url != NULL)
		printf("psc jwks %s refreshed from %s\n", mss_config_str(cfg, MSS_OPT_PAM_PSC_JWKS), jwks_url);
	if (crl_url != NULL)
		printf("crl %s refreshed from %s\n", mss_config_str(cfg, MSS_OPT_PAM_CRL), crl_url);
	ret = 0;
	goto out;
fail:
	mss_error("%s", err);
out:
	free(b.data);
	free(pem);
	curl_global_cleanup();
	return ret;
}
