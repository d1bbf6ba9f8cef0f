/* Reading the hospital directory over LDAP (`mssctl sync`), with nslcd-style attribute maps
   over standard schema. */
#ifndef MSS_LDAPDIR_H
#define MSS_LDAPDIR_H

#include <stdbool.h>
#include <stddef.h>

#include "ldapconn.h" /* connection, password file, mss_ldap_filter_escape */

struct mss_config;

/* DNs below (dn, owner_dn, delegate_dns) are LDAPv3 strings normalised by libldap
   (ldap_dn_normalize: no spaces around separators, escapes canonical), so the same entry
   written two ways compares equal; attribute values keep their case, so compare DNs
   case-insensitively (cn, uid, ou, dc are all case-ignore). */
struct mss_dir_person {
	char *dn;
	char *idnat;  /* idNat_PS, checked with mss_idnat_valid ('8'+RPPS or '0'+ADELI) */
	char *name;   /* display name (or cn), "" when neither is set */
	bool suspended;
};

struct mss_dir_bal {
	char *dn;
	char *address;	   /* normalised with mss_addr_normalize */
	char type[4];	   /* PER ORG APP CAB, upper case */
	char *name;	   /* may be "" */
	char *owner_dn;	   /* may be NULL; single-valued for PER, else NULL when several */
	char **delegate_dns;
	size_t n_delegates;
	bool suspended;
	long long uid;	   /* -1 when the entry has no uid attribute; else within [nss] uid_min..uid_max */
	char *app_subject; /* APP only: certificate subject DN as published, may be NULL */
};

/* An entry that was not returned because a mandatory attribute is missing or an attribute
   is invalid. Both strings are printable (control characters and invalid UTF-8 escaped as
   \xHH) and never hold attribute values, so the caller can log them as they are. */
struct mss_dir_skipped {
	char *dn;
	char *reason; /* e.g. "attribute businessCategory: unknown BAL type (PER, ORG, APP, CAB)" */
};

struct mss_directory {
	struct mss_dir_person *persons;
	size_t n_persons;
	struct mss_dir_bal *bals;
	size_t n_bals;
	size_t n_skipped; /* entries ignored (missing or invalid attribute), described in skipped */
	struct mss_dir_skipped *skipped;
};

/* Connects ([directory] uri, StartTLS/CA, timeouts), binds (bind_dn + bind_password_file, or
   anonymous / SASL EXTERNAL on ldapi://), and reads people and BALs with paged results.
   Every network operation is bounded by [directory] timeout. A failed StartTLS is an
   error (never a plaintext fallback). Returns 0, or -1 with a message in err (always
   NUL-terminated, never containing the password). */
int mss_ldap_read_directory(const struct mss_config *cfg, struct mss_directory **dir_r, char *err, size_t errlen);
void mss_directory_free(struct mss_directory *dir);

/* Exposed for tests. Strict decimal uid: digits only, no sign, no spaces, no leading zero,
   within [min, max]. Returns 0 or -1 with a static reason in *error_r. */
int mss_ldap_parse_uid(const char *s, size_t len, long long min, long long max, long long *uid_r,
		       const char **error_r);
#endif
