/* Reading the hospital directory over LDAP for `mssctl sync`.
 *
 * One connection, one bind, two paged searches (people, then BALs), every operation
 * bounded by [directory] timeout. Entries are checked one by one: an entry with a missing
 * or invalid mandatory attribute is skipped and described, never half-imported, so that
 * one bad entry cannot stop the sync of the whole hospital, and the caller can log why.
 */
#define LDAP_DEPRECATED 0
#include "ldapdir.h"

#include "addr.h"
#include "config.h"
#include "dn.h"

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

#define NAME_MAX_LEN 1024     /* display names */
#define DN_MAX_LEN 4096	      /* entry, owner and member DNs */
#define SUBJECT_MAX_LEN 2048  /* certificate subject (MSS_DN_MAX) */
#define MAX_ENTRIES 50000000  /* per search: a runaway server must not eat all memory */
#define MAX_EMPTY_PAGES 1000  /* a server returning cookies with no entries forever */
#define PASSWORD_MAX_LEN 4096 /* first line of bind_password_file */

enum uri_scheme { SCHEME_LDAP, SCHEME_LDAPS, SCHEME_LDAPI };

struct reader {
	LDAP *ld;
	const struct mss_config *cfg;
	struct mss_directory *dir;
	size_t cap_persons, cap_bals, cap_skipped;
	long long uid_min, uid_max;
};

static void set_err(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

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

/* Is the value non-empty, at most max bytes, valid UTF-8, free of NUL and control
   characters? On failure *why says which rule failed. */
static bool value_is_text(const struct berval *bv, size_t max, const char **why)
{
	const unsigned char *s = (const unsigned char *)bv->bv_val;
	size_t len = bv->bv_len;

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

/* A copy safe to print in a log line: control characters, backslashes and invalid UTF-8
   bytes become \xHH. Used for DNs in skip descriptions, which can hold anything. */
static char *printable_copy(const char *s, size_t len)
{
	char *out = malloc(len * 4 + 1);
	size_t o = 0;

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

static char *dup_bv(const struct berval *bv)
{
	char *s = malloc(bv->bv_len + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, bv->bv_val, bv->bv_len);
	s[bv->bv_len] = '\0';
	return s;
}

/* ---- public helpers ---- */

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

int mss_ldap_parse_uid(const char *s, size_t len, long long min, long long max, long long *uid_r,
		       const char **error_r)
{
	long long v = 0;

	if (len == 0) {
		*error_r = "empty uid";
		return -1;
	}
	if (len > 1 && s[0] == '0') {
		*error_r = "uid has a leading zero";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*error_r = "uid is not a decimal number";
			return -1;
		}
		if (v > (max - (s[i] - '0')) / 10) {
			*error_r = "uid is out of the [nss] uid_min..uid_max range";
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max) {
		*error_r = "uid is out of the [nss] uid_min..uid_max range";
		return -1;
	}
	*uid_r = v;
	return 0;
}

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
		set_err(err, errlen, "bind_password_file %s: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0) {
		set_err(err, errlen, "bind_password_file %s: %s", path, strerror(errno));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		set_err(err, errlen, "bind_password_file %s: not a regular file", path);
		goto out;
	}
	if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		set_err(err, errlen, "bind_password_file %s: accessible by group or others (mode %04o); chmod 600 it",
			path, (unsigned)(st.st_mode & 07777));
		goto out;
	}
	if (st.st_uid != 0 && st.st_uid != geteuid()) {
		set_err(err, errlen, "bind_password_file %s: owned by uid %u, neither root nor us", path,
			(unsigned)st.st_uid);
		goto out;
	}
	while (got < sizeof buf - 1) {
		ssize_t n = read(fd, buf + got, sizeof buf - 1 - got);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			set_err(err, errlen, "bind_password_file %s: %s", path, strerror(errno));
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
		set_err(err, errlen, "bind_password_file %s: first line longer than %d bytes", path,
			PASSWORD_MAX_LEN);
		goto out;
	}
	if (memchr(buf, '\0', line_len) != NULL) {
		set_err(err, errlen, "bind_password_file %s: the password contains a NUL byte", path);
		goto out;
	}
	/* An empty password makes a simple bind "unauthenticated" (RFC 4513 5.1.2): it
	   succeeds without proving anything, so it is refused here. */
	if (line_len == 0) {
		set_err(err, errlen, "bind_password_file %s: the first line is empty", path);
		goto out;
	}
	password = malloc(line_len + 1);
	if (password == NULL) {
		set_err(err, errlen, "bind_password_file %s: out of memory", path);
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
		safe = printable_copy(diag, strlen(diag));
	if (safe != NULL)
		set_err(err, errlen, "%s: %s (%s)", what, ldap_err2string(rc), safe);
	else
		set_err(err, errlen, "%s: %s", what, ldap_err2string(rc));
	free(safe);
	if (diag != NULL)
		ldap_memfree(diag);
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
			set_err(err, errlen, "[directory] uri: %.*s: not an ldap://, ldaps:// or ldapi:// URI",
				(int)(len > 200 ? 200 : len), p);
			return -1;
		}
		if (found >= 0 && found != this) {
			set_err(err, errlen, "[directory] uri: all URIs must use the same scheme");
			return -1;
		}
		found = this;
		p += len;
	}
	if (found < 0) {
		set_err(err, errlen, "[directory] uri is empty");
		return -1;
	}
	*scheme_r = (enum uri_scheme)found;
	return 0;
}

static int set_opt(LDAP *ld, int option, const void *value, const char *name, char *err, size_t errlen)
{
	if (ldap_set_option(ld, option, value) != LDAP_OPT_SUCCESS) {
		set_err(err, errlen, "LDAP: cannot set %s", name);
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
		set_err(err, errlen, "LDAP TLS setup failed%s%s: cannot load the CA certificates",
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
			text = printable_copy(data, (size_t)len);
	}
	BIO_free(bio);
	return text;
}

/* libldap (GnuTLS build on Debian) reports a refused server certificate as
   "Connect error ((unknown error code))". To say what is wrong, a second handshake is made
   without verification, only to read the certificate the server presents: nothing is
   sent over it (no bind, no search) and it is closed at once. Writes "" when the probe
   does not help. */
static void tls_failure_hint(const struct mss_config *cfg, const char *uri, enum uri_scheme scheme, char *hint,
			     size_t hintlen)
{
	const char *ca_file = mss_config_str(cfg, MSS_OPT_DIRECTORY_CA_FILE);
	long long timeout = mss_config_num(cfg, MSS_OPT_DIRECTORY_TIMEOUT);
	struct timeval tv = {.tv_sec = (time_t)(timeout > 0 ? timeout : 10), .tv_usec = 0};
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

static int directory_bind(LDAP *ld, const struct mss_config *cfg, enum uri_scheme scheme, char *err,
			  size_t errlen)
{
	const char *bind_dn = mss_config_str(cfg, MSS_OPT_DIRECTORY_BIND_DN);
	const char *pw_file = mss_config_str(cfg, MSS_OPT_DIRECTORY_BIND_PASSWORD_FILE);
	char what[256];
	char *password;
	struct berval cred;
	int rc;

	if (bind_dn == NULL) {
		if (scheme != SCHEME_LDAPI)
			return 0; /* anonymous: LDAPv3 needs no bind request */
		/* The server maps our uid/gid (peer credentials) to an identity. EXTERNAL
		   needs no credentials, hence no Cyrus SASL round trip. */
		struct berval empty = {0, (char *)""};

		/* An empty initial response (no authzid) completes EXTERNAL in one round
		   trip; without it slapd answers saslBindInProgress and waits for it. */
		rc = ldap_sasl_bind_s(ld, NULL, "EXTERNAL", &empty, NULL, NULL, NULL);
		if (rc != LDAP_SUCCESS) {
			ldap_err(ld, rc, err, errlen, "LDAP SASL EXTERNAL bind failed", NULL);
			return -1;
		}
		return 0;
	}
	if (pw_file == NULL) {
		set_err(err, errlen, "[directory] bind_dn is set but bind_password_file is not");
		return -1;
	}
	password = mss_ldap_read_password_file(pw_file, err, errlen);
	if (password == NULL)
		return -1;
	cred.bv_val = password;
	cred.bv_len = strlen(password);
	rc = ldap_sasl_bind_s(ld, bind_dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
	if (rc != LDAP_SUCCESS) {
		snprintf(what, sizeof what, "LDAP bind as %.200s failed", bind_dn);
		ldap_err(ld, rc, err, errlen, what, password);
	}
	mss_ldap_password_free(password);
	return rc == LDAP_SUCCESS ? 0 : -1;
}

static int directory_connect(const struct mss_config *cfg, LDAP **ld_r, char *err, size_t errlen)
{
	const char *uri = mss_config_str(cfg, MSS_OPT_DIRECTORY_URI);
	long long timeout = mss_config_num(cfg, MSS_OPT_DIRECTORY_TIMEOUT);
	struct timeval tv = {.tv_sec = (time_t)timeout, .tv_usec = 0};
	int version = LDAP_VERSION3;
	enum uri_scheme scheme;
	LDAP *ld = NULL;
	char what[300];
	int rc;

	if (uri == NULL) {
		set_err(err, errlen, "[directory] uri is not set");
		return -1;
	}
	if (mss_config_str(cfg, MSS_OPT_DIRECTORY_BASE) == NULL) {
		set_err(err, errlen, "[directory] base is not set");
		return -1;
	}
	if (timeout <= 0)
		tv.tv_sec = 10;
	if (uri_scheme(uri, &scheme, err, errlen) < 0)
		return -1;
	rc = ldap_initialize(&ld, uri);
	if (rc != LDAP_SUCCESS) {
		set_err(err, errlen, "[directory] uri: %s", ldap_err2string(rc));
		return -1;
	}
	/* Network timeout bounds connect() and the TLS handshake; LDAP_OPT_TIMEOUT bounds
	   every synchronous call (bind, StartTLS) waiting for its answer. Referrals are not
	   chased: they would lead to servers and transports we did not configure. */
	if (set_opt(ld, LDAP_OPT_PROTOCOL_VERSION, &version, "the protocol version", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_NETWORK_TIMEOUT, &tv, "the network timeout", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_TIMEOUT, &tv, "the timeout", err, errlen) < 0 ||
	    set_opt(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF, "referrals off", err, errlen) < 0)
		goto fail;
	if (scheme == SCHEME_LDAPS || (scheme == SCHEME_LDAP && mss_config_bool(cfg, MSS_OPT_DIRECTORY_STARTTLS))) {
		if (setup_tls(ld, cfg, err, errlen) < 0)
			goto fail;
	}
	if (scheme == SCHEME_LDAP && mss_config_bool(cfg, MSS_OPT_DIRECTORY_STARTTLS)) {
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
	if (directory_bind(ld, cfg, scheme, err, errlen) < 0)
		goto fail;
	*ld_r = ld;
	return 0;
tls_fail:
	ldap_err(ld, rc, err, errlen, what, NULL);
	/* A refused certificate is a "connect error" after StartTLS, "server down" on ldaps://. */
	if (rc == LDAP_CONNECT_ERROR || (scheme == SCHEME_LDAPS && rc == LDAP_SERVER_DOWN)) {
		char hint[1024];
		size_t used = strlen(err);

		tls_failure_hint(cfg, uri, scheme, hint, sizeof hint);
		if (used < errlen)
			snprintf(err + used, errlen - used, "%s", hint);
	}
fail:
	ldap_unbind_ext_s(ld, NULL, NULL);
	return -1;
}

/* ---- result building ---- */

static int grow(void **array, size_t *cap, size_t count, size_t elem)
{
	size_t new_cap;
	void *p;

	if (count < *cap)
		return 0;
	new_cap = *cap == 0 ? 64 : *cap * 2;
	if (new_cap > SIZE_MAX / elem)
		return -1;
	p = realloc(*array, new_cap * elem);
	if (p == NULL)
		return -1;
	*array = p;
	*cap = new_cap;
	return 0;
}

/* Records a skipped entry. Returns -1 only when out of memory. */
static int add_skipped(struct reader *r, const char *dn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_skipped(struct reader *r, const char *dn, const char *fmt, ...)
{
	struct mss_directory *dir = r->dir;
	struct mss_dir_skipped *s;
	char reason[512];
	va_list ap;

	if (grow((void **)&dir->skipped, &r->cap_skipped, dir->n_skipped, sizeof *dir->skipped) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	s = &dir->skipped[dir->n_skipped];
	s->dn = printable_copy(dn, strlen(dn));
	s->reason = printable_copy(reason, strlen(reason));
	if (s->dn == NULL || s->reason == NULL) {
		free(s->dn);
		free(s->reason);
		return -1;
	}
	dir->n_skipped++;
	return 0;
}

/* Normalises a DN with libldap; the result is malloc'd (plain free()). NULL with *why
   when the value is not a valid DN. */
static char *normalize_dn(const struct berval *bv, const char **why)
{
	char *tmp = NULL;
	char *in;
	char *out;

	if (!value_is_text(bv, DN_MAX_LEN, why))
		return NULL;
	in = dup_bv(bv);
	if (in == NULL) {
		*why = NULL; /* out of memory */
		return NULL;
	}
	if (ldap_dn_normalize(in, LDAP_DN_FORMAT_LDAP, &tmp, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    tmp == NULL || *tmp == '\0') {
		free(in);
		if (tmp != NULL)
			ldap_memfree(tmp);
		*why = "is not a valid DN";
		return NULL;
	}
	free(in);
	out = strdup(tmp);
	ldap_memfree(tmp);
	if (out == NULL)
		*why = NULL;
	return out;
}

/* Outcome of reading one attribute of an entry. */
enum attr_result { ATTR_OK, ATTR_SKIP, ATTR_NOMEM };

/* A single-valued text attribute: *out is NULL when absent. Several values or an
   invalid value make the entry skipped (*why set). */
static enum attr_result get_single(LDAP *ld, LDAPMessage *e, const char *attr, size_t max, char **out,
				   const char **why)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	enum attr_result res = ATTR_OK;

	*out = NULL;
	if (vals == NULL || vals[0] == NULL)
		goto done;
	if (vals[1] != NULL) {
		*why = "has several values";
		res = ATTR_SKIP;
		goto done;
	}
	if (!value_is_text(vals[0], max, why)) {
		res = ATTR_SKIP;
		goto done;
	}
	*out = dup_bv(vals[0]);
	if (*out == NULL)
		res = ATTR_NOMEM;
done:
	if (vals != NULL)
		ldap_value_free_len(vals);
	return res;
}

/* The display name: first value of the mapped attribute, else of cn, else "". A
   multi-valued name is not ambiguous enough to lose the entry: the first is taken. */
static enum attr_result get_name(LDAP *ld, LDAPMessage *e, const char *attr, char **out, const char **why)
{
	const char *attrs[] = {attr, "cn"};
	enum attr_result res = ATTR_OK;

	*out = NULL;
	for (size_t i = 0; i < 2 && *out == NULL && res == ATTR_OK; i++) {
		struct berval **vals = ldap_get_values_len(ld, e, attrs[i]);

		if (vals == NULL)
			continue;
		if (vals[0] != NULL) {
			if (!value_is_text(vals[0], NAME_MAX_LEN, why))
				res = ATTR_SKIP;
			else if ((*out = dup_bv(vals[0])) == NULL)
				res = ATTR_NOMEM;
		}
		ldap_value_free_len(vals);
	}
	if (res == ATTR_OK && *out == NULL && (*out = strdup("")) == NULL)
		res = ATTR_NOMEM;
	return res;
}

/* Does any value of the status attribute say "suspended"? */
static bool is_suspended(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	bool suspended = false;

	if (vals == NULL)
		return false;
	for (size_t i = 0; vals[i] != NULL; i++) {
		if (vals[i]->bv_len == 9 && strncasecmp(vals[i]->bv_val, "suspended", 9) == 0)
			suspended = true;
	}
	ldap_value_free_len(vals);
	return suspended;
}

/* The entry's own DN, normalised. Returns NULL on a DN we cannot use (*skip set,
   *dn_raw holds what to print) or out of memory (*skip false). */
static char *entry_dn(LDAP *ld, LDAPMessage *e, char **dn_raw, bool *skip)
{
	char *raw = ldap_get_dn(ld, e);
	struct berval bv;
	const char *why = NULL;
	char *dn;

	*skip = false;
	*dn_raw = NULL;
	if (raw == NULL) {
		*skip = true;
		*dn_raw = strdup("(no DN)");
		return NULL;
	}
	bv.bv_val = raw;
	bv.bv_len = strlen(raw);
	dn = normalize_dn(&bv, &why);
	if (dn == NULL && why != NULL) {
		*skip = true;
		*dn_raw = strdup(raw);
	}
	ldap_memfree(raw);
	return dn;
}

static void person_free(struct mss_dir_person *p)
{
	free(p->dn);
	free(p->idnat);
	free(p->name);
}

static void bal_free(struct mss_dir_bal *b)
{
	free(b->dn);
	free(b->address);
	free(b->name);
	free(b->owner_dn);
	for (size_t i = 0; i < b->n_delegates; i++)
		free(b->delegate_dns[i]);
	free(b->delegate_dns);
	free(b->app_subject);
}

/* Skips the current entry with a reason naming the attribute. */
#define SKIP_ATTR(attr, why)                                                                   \
	do {                                                                                   \
		ret = add_skipped(r, dn, "attribute %s: %s", (attr), (why)) < 0 ? -1 : 0;      \
		goto out;                                                                      \
	} while (0)

/* Each reader returns 0 (entry taken or skipped) or -1 (out of memory). */
static int read_person(struct reader *r, LDAPMessage *e)
{
	const struct mss_config *cfg = r->cfg;
	const char *map_idnat = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_IDNAT);
	const char *map_name = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_NAME);
	const char *map_status = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_STATUS);
	struct mss_dir_person p = {0};
	const char *why = NULL;
	char *dn_raw = NULL;
	char *dn;
	bool skip;
	int ret = -1;
	enum attr_result res;

	p.dn = entry_dn(r->ld, e, &dn_raw, &skip);
	dn = p.dn != NULL ? p.dn : dn_raw;
	if (p.dn == NULL) {
		if (skip && dn_raw != NULL)
			ret = add_skipped(r, dn_raw, "the entry DN is not valid");
		goto out;
	}
	res = get_single(r->ld, e, map_idnat, 32, &p.idnat, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_idnat, why);
	if (p.idnat == NULL)
		SKIP_ATTR(map_idnat, "missing");
	if (!mss_idnat_valid(p.idnat, false))
		SKIP_ATTR(map_idnat, "not an idNat_PS ('8' + 11-digit RPPS or '0' + 9-digit ADELI)");
	res = get_name(r->ld, e, map_name, &p.name, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_name, why);
	p.suspended = is_suspended(r->ld, e, map_status);
	if (grow((void **)&r->dir->persons, &r->cap_persons, r->dir->n_persons, sizeof p) < 0)
		goto out;
	r->dir->persons[r->dir->n_persons++] = p;
	memset(&p, 0, sizeof p);
	ret = 0;
out:
	person_free(&p);
	free(dn_raw);
	return ret;
}

static enum attr_result get_delegates(LDAP *ld, LDAPMessage *e, const char *attr, struct mss_dir_bal *b,
				      const char **why)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	enum attr_result res = ATTR_OK;
	size_t n = 0;

	if (vals == NULL)
		return ATTR_OK;
	while (vals[n] != NULL)
		n++;
	if (n > 0) {
		b->delegate_dns = calloc(n, sizeof *b->delegate_dns);
		if (b->delegate_dns == NULL) {
			res = ATTR_NOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char *dn = normalize_dn(vals[i], why);

		if (dn == NULL) {
			res = *why != NULL ? ATTR_SKIP : ATTR_NOMEM;
			goto out;
		}
		b->delegate_dns[b->n_delegates++] = dn;
	}
out:
	ldap_value_free_len(vals);
	return res;
}

static int read_bal(struct reader *r, LDAPMessage *e)
{
	const struct mss_config *cfg = r->cfg;
	const char *map_address = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_ADDRESS);
	const char *map_type = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_TYPE);
	const char *map_name = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_NAME);
	const char *map_owner = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_OWNER);
	const char *map_delegate = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_DELEGATE);
	const char *map_status = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_STATUS);
	const char *map_uid = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_UID);
	const char *map_subject = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_APP_SUBJECT);
	struct mss_dir_bal b = {.uid = -1};
	char address[MSS_ADDR_MAX + 1];
	const char *why = NULL;
	char *dn_raw = NULL;
	char *value = NULL;
	char *dn;
	bool skip;
	int ret = -1;
	enum attr_result res;
	struct berval **vals = NULL;

	b.dn = entry_dn(r->ld, e, &dn_raw, &skip);
	dn = b.dn != NULL ? b.dn : dn_raw;
	if (b.dn == NULL) {
		if (skip && dn_raw != NULL)
			ret = add_skipped(r, dn_raw, "the entry DN is not valid");
		goto out;
	}

	/* Address: mandatory, single-valued, a valid RFC 5321 mailbox. */
	res = get_single(r->ld, e, map_address, 512, &value, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_address, why);
	if (value == NULL)
		SKIP_ATTR(map_address, "missing");
	if (mss_addr_normalize(value, strlen(value), address, sizeof address, &why) < 0)
		SKIP_ATTR(map_address, why != NULL ? why : "invalid address");
	b.address = strdup(address);
	if (b.address == NULL)
		goto out;
	free(value);
	value = NULL;

	/* Type: mandatory, one of the known BAL types, any case. */
	res = get_single(r->ld, e, map_type, 16, &value, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_type, why);
	if (value == NULL)
		SKIP_ATTR(map_type, "missing");
	for (char *c = value; *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
	if (strcmp(value, "PER") != 0 && strcmp(value, "ORG") != 0 && strcmp(value, "APP") != 0 &&
	    strcmp(value, "CAB") != 0)
		SKIP_ATTR(map_type, "unknown BAL type (PER, ORG, APP, CAB)");
	memcpy(b.type, value, 4);
	free(value);
	value = NULL;

	res = get_name(r->ld, e, map_name, &b.name, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_name, why);

	/* Owner: the holder of a PER BAL must be unambiguous; on other types the attribute
	   often lists managers, and is kept only when it names exactly one. */
	vals = ldap_get_values_len(r->ld, e, map_owner);
	if (vals != NULL && vals[0] != NULL) {
		if (vals[1] != NULL) {
			if (strcmp(b.type, "PER") == 0)
				SKIP_ATTR(map_owner, "has several values on a PER BAL");
		} else {
			b.owner_dn = normalize_dn(vals[0], &why);
			if (b.owner_dn == NULL && why == NULL)
				goto out;
			if (b.owner_dn == NULL)
				SKIP_ATTR(map_owner, why);
		}
	}
	if (vals != NULL)
		ldap_value_free_len(vals);
	vals = NULL;

	res = get_delegates(r->ld, e, map_delegate, &b, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_delegate, why);

	b.suspended = is_suspended(r->ld, e, map_status);

	/* uid: optional, strict, and inside the range NSS hands out (a uidNumber of 0 in
	   the directory must never become a root BAL). */
	res = get_single(r->ld, e, map_uid, 32, &value, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_uid, why);
	if (value != NULL && mss_ldap_parse_uid(value, strlen(value), r->uid_min, r->uid_max, &b.uid, &why) < 0)
		SKIP_ATTR(map_uid, why);
	free(value);
	value = NULL;

	/* The application's certificate subject matters for APP BALs only; elsewhere the
	   attribute (seeAlso by default) may mean something else and is ignored. */
	if (strcmp(b.type, "APP") == 0) {
		res = get_single(r->ld, e, map_subject, SUBJECT_MAX_LEN, &b.app_subject, &why);
		if (res == ATTR_NOMEM)
			goto out;
		if (res == ATTR_SKIP)
			SKIP_ATTR(map_subject, why);
	}

	if (grow((void **)&r->dir->bals, &r->cap_bals, r->dir->n_bals, sizeof b) < 0)
		goto out;
	r->dir->bals[r->dir->n_bals++] = b;
	memset(&b, 0, sizeof b);
	ret = 0;
out:
	if (vals != NULL)
		ldap_value_free_len(vals);
	free(value);
	bal_free(&b);
	free(dn_raw);
	return ret;
}

/* ---- paged search ---- */

typedef int (*entry_reader)(struct reader *r, LDAPMessage *e);

static int search_paged(struct reader *r, const char *filter, char **attrs, const char *what, entry_reader read,
			char *err, size_t errlen)
{
	const char *base = mss_config_str(r->cfg, MSS_OPT_DIRECTORY_BASE);
	long long page_size = mss_config_num(r->cfg, MSS_OPT_DIRECTORY_PAGE_SIZE);
	long long timeout = mss_config_num(r->cfg, MSS_OPT_DIRECTORY_TIMEOUT);
	struct berval cookie = {0, NULL};
	size_t entries = 0;
	unsigned empty_pages = 0;
	char label[128];
	int ret = -1;

	if (page_size <= 0 || page_size > 1000000)
		page_size = 500;
	if (timeout <= 0)
		timeout = 10;
	snprintf(label, sizeof label, "LDAP search for %s", what);
	do {
		struct timeval tv = {.tv_sec = (time_t)timeout, .tv_usec = 0};
		LDAPControl *page_ctrl = NULL;
		LDAPControl *sctrls[2] = {NULL, NULL};
		LDAPControl **rctrls = NULL;
		LDAPControl *resp;
		LDAPMessage *res = NULL;
		struct berval next = {0, NULL};
		ber_int_t estimate;
		int code = LDAP_SUCCESS;
		int rc;
		size_t page_entries = 0;

		/* Critical: a server that cannot page must say so rather than send the
		   whole directory at once or stop at its size limit. */
		rc = ldap_create_page_control(r->ld, (ber_int_t)page_size, &cookie, 1, &page_ctrl);
		if (rc != LDAP_SUCCESS) {
			ldap_err(r->ld, rc, err, errlen, label, NULL);
			goto out;
		}
		sctrls[0] = page_ctrl;
		rc = ldap_search_ext_s(r->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, sctrls, NULL, &tv,
				       LDAP_NO_LIMIT, &res);
		ldap_control_free(page_ctrl);
		if (rc == LDAP_SUCCESS && res != NULL)
			rc = ldap_parse_result(r->ld, res, &code, NULL, NULL, NULL, &rctrls, 0);
		if (rc == LDAP_SUCCESS)
			rc = code;
		if (rc != LDAP_SUCCESS) {
			if (rc == LDAP_TIMEOUT)
				set_err(err, errlen, "%s: no answer within %llds", label, timeout);
			else
				ldap_err(r->ld, rc, err, errlen, label, NULL);
			ldap_controls_free(rctrls);
			ldap_msgfree(res);
			goto out;
		}
		for (LDAPMessage *e = ldap_first_entry(r->ld, res); e != NULL; e = ldap_next_entry(r->ld, e)) {
			if (++entries > MAX_ENTRIES) {
				set_err(err, errlen, "%s: more than %d entries", label, MAX_ENTRIES);
				rc = -1;
				break;
			}
			page_entries++;
			if (read(r, e) < 0) {
				set_err(err, errlen, "%s: out of memory", label);
				rc = -1;
				break;
			}
		}
		resp = rc == LDAP_SUCCESS ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL) : NULL;
		if (resp != NULL) {
			rc = ldap_parse_pageresponse_control(r->ld, resp, &estimate, &next);
			if (rc != LDAP_SUCCESS)
				ldap_err(r->ld, rc, err, errlen, label, NULL);
		}
		ldap_controls_free(rctrls);
		ldap_msgfree(res);
		if (rc != LDAP_SUCCESS) {
			ber_memfree(next.bv_val);
			goto out;
		}
		ber_memfree(cookie.bv_val);
		/* No page response control means the server sent everything. */
		cookie = next;
		empty_pages = page_entries == 0 ? empty_pages + 1 : 0;
		if (empty_pages > MAX_EMPTY_PAGES) {
			set_err(err, errlen, "%s: the server keeps sending empty pages", label);
			goto out;
		}
	} while (cookie.bv_val != NULL && cookie.bv_len > 0);
	ret = 0;
out:
	ber_memfree(cookie.bv_val);
	return ret;
}

/* ---- entry point ---- */

void mss_directory_free(struct mss_directory *dir)
{
	if (dir == NULL)
		return;
	for (size_t i = 0; i < dir->n_persons; i++)
		person_free(&dir->persons[i]);
	for (size_t i = 0; i < dir->n_bals; i++)
		bal_free(&dir->bals[i]);
	for (size_t i = 0; i < dir->n_skipped; i++) {
		free(dir->skipped[i].dn);
		free(dir->skipped[i].reason);
	}
	free(dir->persons);
	free(dir->bals);
	free(dir->skipped);
	free(dir);
}

int mss_ldap_read_directory(const struct mss_config *cfg, struct mss_directory **dir_r, char *err, size_t errlen)
{
	char *person_attrs[] = {
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_IDNAT),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_NAME),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_STATUS),
		(char *)"cn",
		NULL,
	};
	char *bal_attrs[] = {
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_ADDRESS),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_TYPE),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_NAME),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_OWNER),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_DELEGATE),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_STATUS),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_UID),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_APP_SUBJECT),
		(char *)"cn",
		NULL,
	};
	const char *person_filter = mss_config_str(cfg, MSS_OPT_DIRECTORY_PERSON_FILTER);
	const char *bal_filter = mss_config_str(cfg, MSS_OPT_DIRECTORY_BAL_FILTER);
	struct reader r = {0};
	int ret = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*dir_r = NULL;
	/* The maps have defaults, but one set to "" must not cut the attribute list short. */
	for (size_t i = 0; i < sizeof person_attrs / sizeof person_attrs[0] - 1; i++) {
		if (person_attrs[i] == NULL || *person_attrs[i] == '\0') {
			set_err(err, errlen, "[directory] an attribute map of people (map_person_*) is empty");
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof bal_attrs / sizeof bal_attrs[0] - 1; i++) {
		if (bal_attrs[i] == NULL || *bal_attrs[i] == '\0') {
			set_err(err, errlen, "[directory] an attribute map of BALs (map_bal_*) is empty");
			return -1;
		}
	}
	if (person_filter == NULL || bal_filter == NULL) {
		set_err(err, errlen, "[directory] person_filter and bal_filter must be set");
		return -1;
	}
	r.cfg = cfg;
	r.uid_min = mss_config_num(cfg, MSS_OPT_NSS_UID_MIN);
	r.uid_max = mss_config_num(cfg, MSS_OPT_NSS_UID_MAX);
	r.dir = calloc(1, sizeof *r.dir);
	if (r.dir == NULL) {
		set_err(err, errlen, "out of memory");
		return -1;
	}
	if (directory_connect(cfg, &r.ld, err, errlen) < 0)
		goto out;
	if (search_paged(&r, person_filter, person_attrs, "people", read_person, err, errlen) < 0 ||
	    search_paged(&r, bal_filter, bal_attrs, "BALs", read_bal, err, errlen) < 0)
		goto out;
	*dir_r = r.dir;
	r.dir = NULL;
	ret = 0;
out:
	if (r.ld != NULL)
		ldap_unbind_ext_s(r.ld, NULL, NULL);
	mss_directory_free(r.dir);
	return ret;
}
