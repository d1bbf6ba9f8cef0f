/* `mssctl sync`: LDAP directory + ANS trust list + ANS extraction -> one snapshot,
   validated, then published atomically. */
#ifndef MSS_SYNC_H
#define MSS_SYNC_H

#include <stdbool.h>
#include <stddef.h>

struct mss_config;

struct mss_sync_options {
	const char *trust_list; /* overrides [trust] list */
	const char *extraction; /* overrides [directory] extraction */
	const char *output;	/* overrides [directory] snapshot */
	bool no_ldap;		/* do not read the LDAP directory */
	bool force;		/* publish even when the snapshot shrank more than allowed */
};

enum mss_bal_type_index { MSS_BAL_PER, MSS_BAL_ORG, MSS_BAL_APP, MSS_BAL_CAB, MSS_BAL_TYPES };

struct mss_sync_report {
	size_t bals, bals_ldap, bals_extraction, bals_suspended;
	size_t bals_by_type[MSS_BAL_TYPES];
	size_t persons, apps, groups, local_domains;
	size_t trust_names, trust_domains, trust_entries, trust_skipped, trust_duplicates;
	bool trust_missing_end_tag;
	char trust_generated[64];
	unsigned long extraction_rows, extraction_bad;
	size_t ldap_skipped;
	size_t uids_kept, uids_mapped, uids_new, uids_moved;
	size_t previous_bals; /* BALs in the snapshot that was replaced, 0 when none */
	bool had_previous;
	bool tls_policy_written; /* [trust] postfix_tls_policy rewritten */
	unsigned long long bytes;
	double seconds;
};

/* Builds and publishes the snapshot. Warnings (tolerated input) go to mss_log.
   Returns 0, or -1 with err set; on failure the published snapshot is untouched. */
int mss_sync_run(const struct mss_config *cfg, const struct mss_sync_options *opt, struct mss_sync_report *rep,
		 char *err, size_t errlen);

extern const char *const mss_bal_type_names[MSS_BAL_TYPES];
int mss_bal_type_index(const char *type, size_t len);

#endif
