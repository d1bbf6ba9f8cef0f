/* Connecting to the hospital LDAP directory with one set of TLS and timeout rules, shared by
   `mssctl sync` (ldapdir.c) and the PAM password bind. libldap + OpenSSL: libmss only. */
#ifndef MSS_LDAPCONN_H
#define MSS_LDAPCONN_H

#include <stdbool.h>
#include <stddef.h>

struct mss_config;
struct ldap; /* LDAP of <ldap.h> */

/* Opens [directory] uri (one URI or several of the same scheme): LDAPv3, referrals off,
   network and operation timeouts of timeout_secs; for ldaps:// and for ldap:// with
   [directory] starttls, TLS 1.2+ with the server certificate checked (DEMAND) against
   [directory] ca_file (else the system bundle) in a TLS context of this handle only.
   A failed StartTLS is an error, never a plaintext fallback; a refused certificate is
   described (subject, issuer). ldapi:// never uses TLS. No bind is made.
   Returns 0, or -1 with a message in err (always NUL-terminated). */
int mss_ldap_connect(const struct mss_config *cfg, long long timeout_secs, struct ldap **ld_r, char *err,
		     size_t errlen);
/* Closes a handle from mss_ldap_connect (NULL is fine). */
void mss_ldap_close(struct ldap *ld);

/* The bind `mssctl sync` makes: simple bind as [directory] bind_dn with the password of
   bind_password_file; without bind_dn, SASL EXTERNAL over ldapi:// (the server maps our
   uid/gid) or no bind at all (anonymous). Returns 0 or -1 with err. */
int mss_ldap_bind_configured(struct ldap *ld, const struct mss_config *cfg, char *err, size_t errlen);

/* Simple bind as dn. An empty password is refused here (RFC 4513 5.1.2: it would be an
   unauthenticated bind that "succeeds"). Returns 0 bound, 1 invalid credentials, -1 other
   error (server down, timeout...), with err set for 1 and -1; err never holds the password. */
int mss_ldap_bind_password(struct ldap *ld, const char *dn, const char *password, size_t password_len, char *err,
			   size_t errlen);

/* Reads the first line of a bind password file that must be a regular file, not a symlink,
   owned by root or by us, and not accessible by group or others. Returns a malloc'd string
   (wipe and free with mss_ldap_password_free), or NULL with a message in err that never
   holds the password. */
char *mss_ldap_read_password_file(const char *path, char *err, size_t errlen);
void mss_ldap_password_free(char *password);

/* RFC 4515 escaping of a value placed into a filter: '*' '(' ')' '\' NUL, the other control
   characters and every non-ASCII byte become \XX (lower-case hex). Returns a malloc'd string
   (NULL on allocation failure, or when value is NULL with len > 0). */
char *mss_ldap_filter_escape(const char *value, size_t len);

/* Writes "WHAT: <LDAP error string> (<diagnostic message of the handle>)" into err, the
   diagnostic made printable. */
void mss_ldap_describe_error(struct ldap *ld, int rc, const char *what, char *err, size_t errlen);

/* Shared with ldapdir.c. Is the value non-empty, at most max bytes, valid UTF-8, free of
   NUL and control characters? (*why says which rule failed.) */
bool mss_ldap_text_valid(const char *s, size_t len, size_t max, const char **why);
/* A malloc'd copy safe for a log line: control characters, '\' and invalid UTF-8 bytes
   become \xHH. */
char *mss_ldap_printable(const char *s, size_t len);

#endif
