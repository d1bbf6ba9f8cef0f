/* Reading the hospital directory over LDAP (`mssctl sync`), with nslcd-style attribute maps
   over standard schema. */
#ifndef MSS_LDAPDIR_H
#define MSS_LDAPDIR_H

#include <stdbool.h>
#include <stddef.h>

struct mss_config;

struct mss_dir_person {
	char *dn;     /* as returned by the server */
	char *idnat;  /* idNat_PS */
	char *name;   /* display name (or cn) */
	bool suspended;
};

struct mss_dir_bal {
	char *dn;
	char *address;	   /* normalised with mss_addr_normalize */
	char type[4];	   /* PER ORG APP CAB */
	char *name;	   /* may be "" */
	char *owner_dn;	   /* may be NULL */
	char **delegate_dns;
	size_t n_delegates;
	bool suspended;
	long long uid;	   /* -1 when the entry has no uid attribute */
	char *app_subject; /* certificate subject DN as published, may be NULL */
};

struct mss_directory {
	struct mss_dir_person *persons;
	size_t n_persons;
	struct mss_dir_bal *bals;
	size_t n_bals;
	size_t n_skipped; /* entries ignored (missing or invalid attribute), each logged */
};

/* Connects ([directory] uri, StartTLS/CA, timeouts), binds (bind_dn + bind_password_file, or
   anonymous / SASL EXTERNAL on ldapi://), and reads people and BALs with paged results.
   Returns 0, or -1 with a message in err (never containing the password). */
int mss_ldap_read_directory(const struct mss_config *cfg, struct mss_directory **dir_r, char *err, size_t errlen);
void mss_directory_free(struct mss_directory *dir);

/* RFC 4515 escaping of a value placed into a filter: '*' '(' ')' '\' NUL and non-ASCII bytes
   become \XX. Returns a malloc'd string (NULL on allocation failure). */
char *mss_ldap_filter_escape(const char *value, size_t len);

#endif
