/* X.509 distinguished names as RFC 4514 strings: parse, normalise, compare, CN and
   CPS identity. Plain C (no OpenSSL) so that PAM, the milter and sync share one parser;
   cert.c turns OpenSSL X509_NAMEs into these strings. */
#ifndef MSS_DN_H
#define MSS_DN_H

#include <stdbool.h>
#include <stddef.h>

#define MSS_DN_MAX_RDNS 32
#define MSS_DN_MAX_AVAS 64 /* attribute-value assertions over all RDNs */
#define MSS_DN_MAX 2048	   /* longest DN string accepted */

struct mss_dn_ava {
	char *type;  /* attribute type, upper-cased for short names (CN, OU, O, L, ST, C, SN, GN,
			TITLE...) or a dotted OID kept as written */
	char *value; /* unescaped UTF-8 value (a #hex value is kept as "#..." text) */
	bool is_hex; /* value was written #<hex BER> (not a string): distinguishes it from an
			escaped literal "\#..." */
};

struct mss_dn_rdn {
	size_t first_ava; /* index into avas */
	size_t n_avas;	  /* > 1 for multi-valued RDNs (CN=...+SN=...+GN=...) */
};

struct mss_dn {
	struct mss_dn_rdn rdns[MSS_DN_MAX_RDNS];
	size_t n_rdns; /* rdns[0] is the leftmost (most specific) RDN, as written in RFC 4514 */
	struct mss_dn_ava avas[MSS_DN_MAX_AVAS];
	size_t n_avas;
	char *buf; /* storage for the strings above */
};

/* Parses an RFC 4514 string. Tolerates spaces around ',', '+' and '=', accepts ';' as a
   separator (RFC 1779), handles `\,` `\+` `\"` `\\` `\<hex><hex>` escapes and quoted values.
   Refuses NUL, unbalanced quotes, empty types, invalid UTF-8, over-long input.
   Returns 0 (free with mss_dn_free) or -1 with a static reason in *error_r. */
int mss_dn_parse(const char *s, size_t len, struct mss_dn *dn_r, const char **error_r);
void mss_dn_free(struct mss_dn *dn);

/* Normalised string: `TYPE=value` AVAs joined by '+' within an RDN and ',' between RDNs,
   no spaces around separators, types upper-cased, `ST` and `L` both written `ST` (the trust
   list mixes them for the same field), values escaped minimally per RFC 4514, AVAs of a
   multi-valued RDN sorted by type. Two DNs are equal when their normalised strings are
   equal (value comparison is case-sensitive except for C). Returns the length, or -1 when
   out is too small. */
int mss_dn_normalize(const struct mss_dn *dn, char *out, size_t outlen);
/* Parses then normalises in one step. -1 on error (*error_r set). */
int mss_dn_normalize_str(const char *s, size_t len, char *out, size_t outlen, const char **error_r);

/* Value of the first AVA of the given type (case-insensitive type), searching RDNs from
   the leftmost; NULL when absent. */
const char *mss_dn_get(const struct mss_dn *dn, const char *type);

/* CPS card identity: the CN of the leftmost RDN (which is multi-valued on a CPS:
   CN=<idNat_PS>+SN=...+GN=...), checked to be an idNat_PS: '8' + 11 digits (RPPS) or
   '0' + 9 digits (ADELI) — other forms of national id (e.g. '3'/'1' structure ids,
   '2'-prefixed legacy ids, up to 20 characters) are refused. Writes it to out (>= 21 bytes).
   Returns 0 or -1 with *error_r. */
int mss_dn_cps_idnat(const struct mss_dn *dn, char *out, size_t outlen, const char **error_r);

/* Is s a syntactically valid idNat_PS ('8'+11 digits or '0'+9 digits, also accepting
   the other published prefixes for structures when allow_structure: '3'+SIRET (14 digits),
   '1'+FINESS (2 department characters, digits or upper-case letters as in 2A, then 7
   digits))? */
bool mss_idnat_valid(const char *s, bool allow_structure);

#endif
