/* Who may act on which BAL: the one authorisation rule shared by PAM (login), the Dovecot
   plugin (opening a mailbox) and the milter (sending as a BAL on submission).
 *   PER  only its holder (the owner's idNat_PS);
 *   ORG  (and CAB) only its delegates;
 *   APP  only the application whose certificate subject DN is registered on the BAL —
 *        never a person;
 *   a BAL that is unknown, suspended, or not hosted here (read from the national extraction
 *   rather than the hospital's directory) is refused; so is a person who is suspended or
 *   unknown to the hospital's directory. */
#ifndef MSS_ACCESS_H
#define MSS_ACCESS_H

#include "snapshot.h"

enum mss_access {
	MSS_ACCESS_ALLOW = 0,
	MSS_ACCESS_UNKNOWN_BAL,
	MSS_ACCESS_SUSPENDED_BAL,
	MSS_ACCESS_NOT_LOCAL_BAL,
	MSS_ACCESS_UNKNOWN_PERSON,
	MSS_ACCESS_SUSPENDED_PERSON,
	MSS_ACCESS_NOT_OWNER,
	MSS_ACCESS_NOT_DELEGATE,
	MSS_ACCESS_APP_NOT_A_PERSON, /* a person tried an APP BAL */
	MSS_ACCESS_NOT_AN_APP,	     /* a certificate identity tried a PER/ORG BAL */
	MSS_ACCESS_WRONG_APP,	     /* the certificate is not the BAL's registered application */
	MSS_ACCESS_ERROR,	     /* corrupt snapshot or invalid argument: fail closed */
};

/* May the person IDNAT act on BAL_ADDRESS (normalised, lower case)? When bal_r is not NULL it
   receives the BAL record (valid while the snapshot is open) whenever the BAL exists. */
enum mss_access mss_access_person(const struct mss_snapshot *snap, const char *bal_address, const char *idnat,
				  struct mss_bal *bal_r);
/* May the application whose certificate subject DN is CERT_DN (any RFC 4514 form; it is
   normalised here) act on BAL_ADDRESS? */
enum mss_access mss_access_application(const struct mss_snapshot *snap, const char *bal_address,
				       const char *cert_dn, struct mss_bal *bal_r);

/* A sentence for logs and client replies ("idNat_PS 810... is not a delegate of this
   organisational BAL"). Static string. */
const char *mss_access_reason(enum mss_access a);
/* A short token for audit records ("not_delegate"). */
const char *mss_access_code(enum mss_access a);

#endif
