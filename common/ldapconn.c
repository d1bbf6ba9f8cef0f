/* Connecting to the hospital directory: one place for the TLS, timeout and bind rules, so
 * that `mssctl sync` and the PAM password check cannot drift apart. Also the small text
 * helpers every LDAP value goes through (filter escaping, UTF-8 checks, printable copies).
 */
#define LDAP_DEPRECATED 0
#include "error.h"
#include "ldapconn.h"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <lber.h>
#include <ldap.h>
#include <openssl/bio.h>
#include <openssl/x509.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#define PASSWORD_MAX_LEN 4096 /* first line of bind_password_file */

enum uri_scheme { SCHEME_LDAP, SCHEME_LDAPS, SCHEME_LDAPI };

/* ---- text checks ---- */

/* Length of the valid UTF-8 sequence at s (RFC 3629: no overlongs, no surrogates,
   nothing above U+10FFFF), or 0 when invalid. */
static size_t utf8_seq_len(const unsigned char *s, size_t left)
{
	size_t n;
	unsigned min;
	unsigned cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2;
		cp = s[0] & 0x1f;
		min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3;
		cp = s[0] & 0x0f;
		min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4;
		cp = s[0] & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (left < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return n;
}

bool mss_ldap_text_valid(const char *value, size_t len, size_t max, const char **why)
{
	const unsigned char *s = (const unsigned char *)value;

	if (len == 0) {
		*why = "is empty";
		return false;
	}
	if (len > max) {
		*why = "is too long";
		return false;
	}
	for (size_t i = 0; i < len;) {
		size_t n;

		if (s[i] < 0x20 || s[i] == 0x7f) {
			*why = s[i] == 0 ? "contains a NUL byte" : "contains a control character";
			return false;
		}
		n = utf8_seq_len(s + i, len - i);
		if (n == 0) {
			*why = "is not valid UTF-8";
			return false;
		}
		i += n;
	}
	return true;
}

/* Used for DNs in skip descriptions and for server diagnostics, which can hold anything. */
char *mss_ldap_printable(const char *s, size_t len)
{
	char *out;
	size_t o = 0;

	if (len > (SIZE_MAX - 1) / 4)
		return NULL;
	out = malloc(len * 4 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len;) {
		const unsigned char *u = (const unsigned char *)s + i;
		size_t n = utf8_seq_len(u, len - i);

		if (n == 0 || *u < 0x20 || *u == 0x7f || *u == '\\') {
			o += (size_t)sprintf(out + o, "\\x%02x", *u);
			i++;
			continue;
		}
		memcpy(out + o, u, n);
		o += n;
		i += n;
	}
	out[o] = '\0';
	return out;
}

/* ---- filters ---- */

char *mss_ldap_filter_escape(const char *value, size_t len)
{
	static const char hex[] = "0123456789abcdef";
	char *out;
	size_t o = 0;

	if (value == NULL && len > 0)
		return NULL;
	if (len > (SIZE_MAX - 1) / 3)
		return NULL;
	out = malloc(len * 3 + 1);
	if (out == NULL)
		return NULL;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)value[i];

		/* RFC 4515 3: the specials must be escaped; escaping controls and every
		   non-ASCII byte too keeps the filter 7-bit and immune to charset games. */
		if (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f) {
			out[o++] = '\\';
			out[o++] = hex[c >> 4];
			out[o++] = hex[c & 0xf];
		} else {
			out[o++] = (char)c;
		}
	}
	out[o] = '\0';
	return out;
}

/* ---- bind password file ---- */

void mss_ldap_password_free(char *password)
{
	if (password == NULL)
		return;
	explicit_bzero(password, strlen(password));
	free(password);
}

char *mss_ldap_read_password_file(const char *path, char *err, size_t errlen)
{
	char buf[PASSWORD_MAX_LEN + 2]; /* one byte more than allowed, to see an over-long line */
	size_t got = 0;
	size_t line_len;
	char *nl;
	char *password = NULL;
	struct stat st;
	int fd;

	/* O_NONBLOCK: a FIFO planted at the path must not block the sync. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		mss_set_error(err, errlen, "bind_password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		mss_set_error(err, errlen, "bind_password_file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		mss_set_error(err, errlen, "bind_password_file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		mss_set_error(err, errlen, "bind_password_file %s: accessible by group or others (mode %04o); chmod 600 it",
			path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		mss_set_error(err, errlen, "bind_password_file %s: owned by uid %u, neither root nor us", path,
			(unsigned)st.st_uid);
		goto out;
	}
	while (got < sizeof buf - 1) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mss_set_error(err, errlen, "bind_password_file %s: %s", path, strerror(errno));
			goto out;
		}
		if (n == 0)
			break;
		got += (size_t)n;
	}
	buf[got] = '\0';
	nl = memchr(buf, '\n', got);
	line_len = nl != NULL ? (size_t)(nl - buf) : got;
	if (line_len > 0 && buf[line_len - 1] == '\r')
		line_len--;
	if (line_len > PASSWORD_MAX_LEN) {
		mss_set_error(err, errlen, "bind_password_file %s: first line longer than %d bytes", path,
			PASSWORD_MAX_LEN);
		goto out;
	}
	if (memchr(buf, '\0', line_len) != NULL) {
		mss_set_error(err, errlen, "bind_password_file %s: the password contains a NUL byte", path);
		goto out;
	}
	/* An empty password makes a simple bind "unauthenticated" (RFC 4513 5.1.2): it
	   succeeds without proving anything, so it is refused here. */
	if (line_len == 0) {
		mss_set_error(err, errlen, "bind_password_file %s: the first line is empty", path);
		goto out;
	}
	password = malloc(line_len + 1);
	if (password == NULL) {
		mss_set_error(err, errlen, "bind_password_file %s: out of memory", path);
		goto out;
	}
	memcpy(password, buf, line_len);
	password[line_len] = '\0';
out:
	explicit_bzero(buf, sizeof buf);
	close(fd);
	return password;
}

/* ---- connection ---- */

/* The LDAP error of an operation, with the server's or libldap's diagnostic message
   (which, for TLS, says why the certificate was refused). */
static void ldap_err(LDAP *ld, int rc, char *err, size_t errlen, const char *what, const char *secret)
{
	char *diag = NULL;
	char *safe = NULL;

	if (ld != NULL && ldap_get_option(ld, LDAP_OPT_DIAGNOSTIC_MESSAGE, &diag) != LDAP_OPT_SUCCESS)
		diag = NULL;
	/* Paranoia: a diagnostic echoing the password is dropped rather than printed. */
	if (diag != NULL && secret != NULL && *secret != '\0' && strstr(diag, secret) != NULL) {
		ldap_memfree(diag);
		diag = NULL;
	}
	/* GnuTLS-built libldap says "(unknown error code)" for a failed handshake: noise. */
	if (diag != NULL && *diag != '\0' && strcmp(diag, "(unknown error code)") != 0)
		safe = mss_ldap_printable(diag, strlen(diag));
	if (safe != NULL)
		mss_set_error(err, errlen, "%s: %s (%s)", what, ldap_err2string(rc), safe);
	else
		mss_set_error(err, errlen, "%s: %s", what, ldap_err2string(rc));
	free(safe);
	if (diag != NULL)
		ldap_memfree(diag);
}

void mss_ldap_describe_error(struct ldap *ld, int rc, const char *what, char *err, size_t errlen)
{
	ldap_err(ld, rc, err, errlen, what, NULL);
}

/* The scheme of the URI list ("ldap://a ldap://b"); mixing schemes is refused because
   StartTLS and SASL EXTERNAL decisions depend on it. */
static int uri_scheme(const char *uri, enum uri_scheme *scheme_r, char *err, size_t errlen)
{
	static const struct {
		const char *prefix;
		enum uri_scheme scheme;
	} schemes[] = {{"ldap://", SCHEME_LDAP}, {"ldaps://", SCHEME_LDAPS}, {"ldapi://", SCHEME_LDAPI}};
	const char *p = uri;
	int found = -1;

	while (*p != '\0') {
		size_t len;
		int this = -1;

		p += strspn(p, " \t,");
		len = strcspn(p, " \t,");
		if (len == 0)
			break;
		for (size_t i = 0; i < sizeof schemes / sizeof schemes[0]; i++) {
			size_t plen = strlen(schemes[i].prefix);

			if (len >= plen && strncasecmp(p, schemes[i].prefix, plen) == 0)
				this = (int)schemes[i].scheme;
		}
		if (this < 0) {
			mss_set_error(err, errlen, "[directory] uri: %.*s: not an ldap://, ldaps:// or ldapi:// URI",
				(int)(len > 200 ? 200 : len), p);
			return -1;
		}
		if (found >= 0 && found != this) {
			mss_set_error(err, errlen, "[directory] uri: all URIs must use the same scheme");
			return -1;
		}
		found = this;
		p += len;
	}
	if (found < 0) {
		mss_set_error(err, errlen, "[directory] uri is empty");
		return -1;
	}
	*scheme_r = (enum uri_scheme)found;
	return 0;
}

static int set_opt(LDAP *ld, int option, const void *value, const char *name, char *err, size_t errlen)
{
	if (ldap_set_option(ld, option, value) != LDAP_OPT_SUCCESS) {
		mss_set_error(err, errlen, "LDAP: cannot set %s", name);
		return -1;
	}
	return 0;
}

static int setup_tls(LDAP *ld, const struct mss_config *cfg, char *err, size_t errlen)
{
	const char *ca_file = mss_config_str(cfg, MSS_OPT_DIRECTORY_CA_FILE);
	int demand = LDAP_OPT_X_TLS_DEMAND;
	int tls12 = LDAP_OPT_X_TLS_PROTOCOL_TLS1_2;
	int client_ctx = 0;
	int rc;

	if (ca_file != NULL && set_opt(ld, LDAP_OPT_X_TLS_CACERTFILE, ca_file, "the CA file", err, errlen) < 0)
		return -1;
	/* Always DEMAND on our handle, whatever TLS_REQCERT ldap.conf or ~/.ldaprc say. */
	if (set_opt(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &demand, "TLS certificate checking", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_X_TLS_PROTOCOL_MIN, &tls12, "the TLS minimum version", err, errlen) < 0)
		return -1;
	/* A TLS context of our own, so the options above apply to this handle only. */
	rc = ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client_ctx);
	if (rc != LDAP_OPT_SUCCESS) {
		mss_set_error(err, errlen, "LDAP TLS setup failed%s%s: cannot load the CA certificates",
			ca_file != NULL ? " with ca_file " : "", ca_file != NULL ? ca_file : "");
		return -1;
	}
	return 0;
}

/* An RFC 2253 rendering of a certificate name, printable. */
static char *x509_name_text(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *data = NULL;
	char *text = NULL;
	long len;

	if (bio == NULL)
		return NULL;
	if (X509_NAME_print_ex(bio, name, 0, XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) >= 0) {
		len = BIO_get_mem_data(bio, &data);
		if (len > 0 && len < 4096)
			text = mss_ldap_printable(data, (size_t)len);
	}
	BIO_free(bio);
	return text;
}

/* libldap (GnuTLS build on Debian) reports a refused server certificate as
   "Connect error ((unknown error code))". To say what is wrong, a second handshake is made
   without verification, only to read the certificate the server presents: nothing is
   sent over it (no bind, no search) and it is closed at once. Writes "" when the probe
   does not help. */
static void tls_failure_hint(const struct mss_config *cfg, const char *uri, enum uri_scheme scheme, time_t timeout,
			     char *hint, size_t hintlen)
{
	const char *ca_file = mss_config_str(cfg, MSS_OPT_DIRECTORY_CA_FILE);
	struct timeval tv = {.tv_sec = timeout, .tv_usec = 0};
	int version = LDAP_VERSION3;
	int allow = LDAP_OPT_X_TLS_ALLOW;
	int client_ctx = 0;
	struct berval der = {0, NULL}; /* filled in place by LDAP_OPT_X_TLS_PEERCERT */
	const unsigned char *p;
	X509 *cert = NULL;
	char *subject = NULL;
	char *issuer = NULL;
	LDAP *ld = NULL;
	int rc;

	hint[0] = '\0';
	if (ldap_initialize(&ld, uri) != LDAP_SUCCESS)
		return;
	if (ldap_set_option(ld, LDAP_OPT_PROTOCOL_VERSION, &version) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_TIMEOUT, &tv) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_REQUIRE_CERT, &allow) != LDAP_OPT_SUCCESS ||
	    ldap_set_option(ld, LDAP_OPT_X_TLS_NEWCTX, &client_ctx) != LDAP_OPT_SUCCESS)
		goto out;
	rc = scheme == SCHEME_LDAP ? ldap_start_tls_s(ld, NULL, NULL) : ldap_connect(ld);
	if (rc != LDAP_SUCCESS || ldap_get_option(ld, LDAP_OPT_X_TLS_PEERCERT, &der) != LDAP_OPT_SUCCESS ||
	    der.bv_val == NULL || der.bv_len == 0 || der.bv_len > 65536)
		goto out;
	p = (const unsigned char *)der.bv_val;
	cert = d2i_X509(NULL, &p, (long)der.bv_len);
	if (cert == NULL)
		goto out;
	subject = x509_name_text(X509_get_subject_name(cert));
	issuer = x509_name_text(X509_get_issuer_name(cert));
	if (subject == NULL || issuer == NULL)
		goto out;
	snprintf(hint, hintlen,
		 "; the server certificate (subject %s, issued by %s) was refused: not issued by a CA of %s%s, "
		 "expired, or not naming the host of the URI",
		 subject, issuer, ca_file != NULL ? "ca_file " : "the system CA bundle", ca_file != NULL ? ca_file : "");
out:
	free(subject);
	free(issuer);
	X509_free(cert);
	ber_memfree(der.bv_val);
	ldap_unbind_ext_s(ld, NULL, NULL);
}

int mss_ldap_bind_password(struct ldap *ld, const char *dn, const char *password, size_t password_len, char *err,
			   size_t errlen)
{
	struct berval cred = {(ber_len_t)password_len, (char *)password};
	char what[300];
	char *secret;
	int rc;

	if (password_len == 0) {
		mss_set_error(err, errlen, "LDAP bind as %.200s: empty password refused", dn);
		return 1;
	}
	rc = ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc == LDAP_SUCCESS)
		return 0;
	snprintf(what, sizeof what, "LDAP bind as %.200s failed", dn);
	/* A NUL-terminated copy, only to keep a diagnostic echoing it out of err. */
	secret = strndup(password, password_len);
	ldap_err(ld, rc, err, errlen, what, secret != NULL ? secret : "");
	if (secret != NULL) {
		explicit_bzero(secret, password_len);
		free(secret);
	}
	return rc == LDAP_INVALID_CREDENTIALS ? 1 : -1;
}

int mss_ldap_bind_configured(struct ldap *ld, const struct mss_config *cfg, char *err, size_t errlen)
{
	const char *uri = mss_config_str(cfg, MSS_OPT_DIRECTORY_URI);
	const char *bind_dn = mss_config_str(cfg, MSS_OPT_DIRECTORY_BIND_DN);
	const char *pw_file = mss_config_str(cfg, MSS_OPT_DIRECTORY_BIND_PASSWORD_FILE);
	enum uri_scheme scheme;
	char *password;
	int rc;

	if (uri == NULL || uri_scheme(uri, &scheme, err, errlen) < 0) {
		if (uri == NULL)
			mss_set_error(err, errlen, "[directory] uri is not set");
		return -1;
	}
	if (bind_dn == NULL) {
		struct berval empty = {0, (char *)""};

		if (scheme != SCHEME_LDAPI)
			return 0; /* anonymous: LDAPv3 needs no bind request */
		/* EXTERNAL: the server maps our uid/gid (peer credentials) to an identity. An
		   empty initial response (no authzid) completes it in one round trip, without
		   Cyrus SASL; with no response at all slapd answers saslBindInProgress. */
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &empty, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			ldap_err(ld, rc, err, errlen, "LDAP SASL EXTERNAL bind failed", NULL);
			return -1;
		}
		return 0;
	}
	if (pw_file == NULL) {
		mss_set_error(err, errlen, "[directory] bind_dn is set but bind_password_file is not");
		return -1;
	}
	password = mss_ldap_read_password_file(pw_file, err, errlen);
	if (password == NULL)
		return -1;
	rc = mss_ldap_bind_password(ld, bind_dn, password, strlen(password), err, errlen);
	mss_ldap_password_free(password);
	return rc == 0 ? 0 : -1;
}

void mss_ldap_close(struct ldap *ld)
{
	if (ld != NULL)
		ldap_unbind_ext_s(ld, NULL, NULL);
}

int mss_ldap_connect(const struct mss_config *cfg, long long timeout_secs, struct ldap **ld_r, char *err,
		     size_t errlen)
{
	const char *uri = mss_config_str(cfg, MSS_OPT_DIRECTORY_URI);
	bool starttls = mss_config_bool(cfg, MSS_OPT_DIRECTORY_STARTTLS);
	struct timeval tv = {.tv_sec = (time_t)(timeout_secs > 0 ? timeout_secs : 10), .tv_usec = 0};
	int version = LDAP_VERSION3;
	enum uri_scheme scheme;
	LDAP *ld = NULL;
	char what[300];
	int rc;

	*ld_r = NULL;
	if (uri == NULL) {
		mss_set_error(err, errlen, "[directory] uri is not set");
		return -1;
	}
	if (uri_scheme(uri, &scheme, err, errlen) < 0)
		return -1;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		mss_set_error(err, errlen, "[directory] uri: %s", ldap_err2string(rc));
		return -1;
	}
	/* The network timeout bounds connect() and the TLS handshake; LDAP_OPT_TIMEOUT bounds
	   every synchronous call (bind, StartTLS) waiting for its answer. Referrals are not
	   chased: they would lead to servers and transports we did not configure. */
	if (set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &version, "the protocol version", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv, "the network timeout", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_TIMEOUT, &tv, "the timeout", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals off", err, errlen) < 0)
		goto fail;
	if (scheme == SCHEME_LDAPS || (scheme == SCHEME_LDAP && starttls)) {
		if (setup_tls(ld, cfg, err, errlen) < 0)
			goto fail;
	}
	if (scheme == SCHEME_LDAP && starttls) {
		rc = ldap_start_tls_s(ld, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			snprintf(what, sizeof what, "LDAP StartTLS on %.200s failed", uri);
			goto tls_fail;
		}
	}
	if (scheme == SCHEME_LDAPS) {
		/* Connect now, so that a TLS failure is reported as such, not by the bind. */
		rc = ldap_connect(ld);
		if (rc != LDAP_SUCCESS) {
			snprintf(what, sizeof what, "LDAP TLS connection to %.200s failed", uri);
			goto tls_fail;
		}
	}
	*ld_r = ld;
	return 0;
tls_fail:
	ldap_err(ld, rc, err, errlen, what, NULL);
	/* A refused certificate is a "connect error" after StartTLS, "server down" on ldaps://. */
	if (err != NULL && (rc == LDAP_CONNECT_ERROR || (scheme == SCHEME_LDAPS && rc == LDAP_SERVER_DOWN))) {
		char hint[1024];
		size_t used = strlen(err);

		tls_failure_hint(cfg, uri, scheme, tv.tv_sec, hint, sizeof hint);
		if (used + 1 < errlen)
			snprintf(err + used, errlen - used, "%s", hint);
	}
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return -1;
}
