/* The ANS trust list (liste blanche) XML, read with libxml2's streaming reader. */
#ifndef MSS_TRUSTLIST_H
#define MSS_TRUSTLIST_H

#include <stddef.h>

#define MSS_TRUST_LIST_NS "https://listeblanche.mssante.fr/schema"
#define MSS_TRUST_LIST_MAX_BYTES (64u * 1024 * 1024) /* larger files are refused (real: 3.7 MB) */
#define MSS_TRUST_LIST_FIELD_MAX 4096		     /* longest text of one field */
#define MSS_TRUST_LIST_MAX_WARNINGS 16		     /* size of warnings[], NULL included */

struct mss_trust_entry {
	char *domain;	    /* lower-cased, validated with mss_domain_normalize */
	char *dn;	    /* DNCertificatOperateur as normalised by mss_dn_normalize */
	char *dn_raw;	    /* as published (surrounding white space removed) */
	char *cn;	    /* CN of that DN (the operator MTA host name) */
	char *ou;	    /* may be "" */
	char *o;	    /* may be "" */
	char *description;  /* may be "" */
	char *date_maj;	    /* DateMAJ as published, may be "" */
	unsigned long line; /* line of the entry's Nom in the file */
};

struct mss_trust_list {
	char *generated;		 /* DateDeGeneration as published, "" when absent or too long */
	struct mss_trust_entry *entries; /* in file order, duplicates (same domain+DN) removed */
	size_t n_entries;
	size_t n_domains;   /* distinct domains */
	size_t n_operators; /* distinct normalised operator DNs */
	/* distinct <Nom> values as published (trimmed, lower-cased), usable or not: what the
	   list announces, against which n_domains says what could be used */
	size_t n_names;
	/* What was tolerated, each counted; the first few described in warnings[]. */
	size_t n_duplicates;  /* same domain and same normalised DN listed twice */
	size_t n_skipped;     /* Domaine element unusable (bad domain, bad or missing DN) */
	size_t n_ignored;     /* unknown elements or stray text ignored */
	int missing_root_end; /* the file ends without </ListeBlancheMSSante> */
	/* "LINE: what was tolerated", NULL-terminated; a few per kind, and a slot is kept
	   for the missing closing tag so that it is always described. */
	char *warnings[MSS_TRUST_LIST_MAX_WARNINGS];
	size_t n_warnings; /* strings in warnings[] */
};

/* Reads the trust list. A document that is not the trust list (wrong root element or
   namespace), not well-formed before the end (garbage, element truncated in the middle),
   with a DOCTYPE or an entity reference (no DTD is ever loaded, no entity expanded, no
   network access), or without any usable entry fails: -1 and err says
   "FILE:LINE: what is wrong" ("FILE: ..." for I/O errors).
   A missing closing root tag at end of file is tolerated and reported (the published
   file of 2025-03-13 lacks it): only when everything else is closed and nothing but
   white space follows the last </ListeDomaines>. Entries of the form the Domaine element
   allows but with an invalid domain or DN are skipped, counted and reported with their
   line number. Reentrant (all state is per call); as libxml2 asks, a threaded program
   calls xmlInitParser() once before its first use. Errors never go to stderr. */
int mss_trust_list_read(const char *path, struct mss_trust_list **list_r, char *err, size_t errlen);
/* Same from memory (fuzzing, tests); name is used in messages. */
int mss_trust_list_read_memory(const char *data, size_t len, const char *name, struct mss_trust_list **list_r,
			       char *err, size_t errlen);
void mss_trust_list_free(struct mss_trust_list *list);

#endif
