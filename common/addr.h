/* RFC 5321 mailboxes and mail domains. libc only: part of libmss-core. */
#ifndef MSS_ADDR_H
#define MSS_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#define MSS_ADDR_LOCAL_MAX 64	/* RFC 5321 4.5.3.1.1 */
#define MSS_ADDR_DOMAIN_MAX 255 /* RFC 5321 4.5.3.1.2 */
#define MSS_ADDR_MAX 254	/* forward-path limit (256) less the angle brackets */

struct mss_addr {
	/* local part as written (quoted form kept verbatim, case kept: local parts are
	   case-sensitive in principle; see mss_addr_key for the lookup form) */
	char local[MSS_ADDR_LOCAL_MAX + 3];
	/* domain lower-cased, trailing dot removed */
	char domain[MSS_ADDR_DOMAIN_MAX + 1];
};

/* Parses a mailbox `local@domain`, optionally inside <...> (an SMTP path; the null path
   "<>" is refused here). Refuses CR, LF, NUL (len counts bytes: an embedded NUL is an
   error), control characters, over-long parts, empty labels, labels over 63 octets,
   domain literals, source routes, and any 8-bit byte (MSSanté does not use SMTPUTF8;
   IDN domains travel as A-labels). The 254-octet limit applies to local@domain without
   brackets and without the trailing dot. Returns 0, or -1 with a static English reason
   in *error_r (error_r may be NULL). */
int mss_addr_parse(const char *s, size_t len, struct mss_addr *addr_r, const char **error_r);

/* The canonical lookup key of an address: local part and domain lower-cased, as
   `local@domain`; a quoted local part loses its quotes when they are unnecessary
   ("Jean.Dupont"@x -> jean.dupont@x) and keeps only the escapes it needs otherwise, so
   one mailbox has one key. out must hold MSS_ADDR_MAX + 1 bytes. Returns the length, or 0
   (and out = "") when out is too small. */
size_t mss_addr_key(const struct mss_addr *addr, char *out, size_t outlen);

/* Parses and writes the key in one step; -1 on an invalid address. No allocation
   (called once per BAL in sync). */
int mss_addr_normalize(const char *s, size_t len, char *out, size_t outlen, const char **error_r);

/* Validates a domain name (LDH labels, 1..63 octets each, total <= 255, optional
   trailing dot) and writes its lower-case form without trailing dot into out. */
int mss_domain_normalize(const char *s, size_t len, char *out, size_t outlen, const char **error_r);

/* Case-insensitive domain equality, ignoring one trailing dot on either side. */
bool mss_domain_equal(const char *a, const char *b);

/* Is DOMAIN equal to PARENT or a subdomain of it (case-insensitive)? */
bool mss_domain_within(const char *domain, const char *parent);

#endif
