/* The MSSanté trust-space rules the milter applies to every message, as pure functions over
   the directory snapshot and the configuration: no I/O, no global state, no libmilter. The
   milter (milter/) only gathers what Postfix says about the session and turns a verdict into
   an SMTP reply.
 *
 * Listener role: Postfix tells the milter which listener a message came in on through the
 * {daemon_name} macro (`-o milter_macro_daemon_name=NAME` in master.cf); `[milter]
 * inbound_daemons` and `submission_daemons` map those names to a role.
 *   inbound (mail from another operator of the trust space):
 *     TLS required; a client certificate that Postfix verified (Postfix only passes
 *     {cert_subject}/{cert_issuer}, both CNs, when the chain verified against
 *     smtpd_tls_CAfile); the issuer CN among `[trust] issuer_cns`; the peer CN among the CNs
 *     of the operator certificates listed for the MAIL FROM domain; each recipient an active
 *     BAL hosted here. The milter sees CNs only: a certificate from the right CA with a
 *     listed CN but another O/OU (an "impostor" DN) passes this check; catching it needs
 *     the full DN or a pinned fingerprint (Postfix policy delegation, ccert_fingerprint).
 *   submission (own users):
 *     SMTP AUTH required; the authenticated identity must be allowed to send as the MAIL
 *     FROM BAL (common/access.h); each recipient's domain local or on the trust list.
 * SASL login -> person (the one mapping, documented in mss-milter(8)):
 *   - the address of a PER BAL: the person is that BAL's holder (owner idNat_PS), who may
 *     then send as that BAL and as the ORG BALs they are a delegate of;
 *   - an idNat_PS ('8'+RPPS or '0'+ADELI; e.g. Pro Santé Connect logins): that person;
 *   - the address of an APP BAL (the application authenticated by its certificate in
 *     Dovecot): sends as that BAL only;
 *   - the address of an ORG/CAB BAL: refused (delegates sign in as themselves, so that every
 *     message stays traceable to a person); anything else: refused.
 * Headers (référentiel #2): X-MSS-NIL recorded (missing: `[milter] require_nil`), X-MSS-MES
 * only towards `[milter] patient_domain`, X-MSS-INS `O` or `N`, X-MSS-CODECDA a list of
 * document codes.
 */
#ifndef MSS_POLICY_H
#define MSS_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "addr.h"
#include "snapshot.h"

struct mss_config;

enum mss_role { MSS_ROLE_UNKNOWN = 0, MSS_ROLE_INBOUND, MSS_ROLE_SUBMISSION };

enum mss_outcome {
	MSS_OUTCOME_ACCEPT = 0, /* go on (an accept may still carry a reason: a warning) */
	MSS_OUTCOME_REJECT,	/* a rule refuses: rcode/xcode/text are the SMTP reply */
	MSS_OUTCOME_INTERNAL,	/* could not decide (corrupt snapshot, bad wiring...): never accept */
	MSS_OUTCOME_STALE,	/* the snapshot is older than [directory] max_age */
};

struct mss_verdict {
	enum mss_outcome outcome;
	char rcode[4];	    /* "550" (REJECT only) */
	char xcode[8];	    /* "5.7.1" (REJECT only) */
	const char *reason; /* short token for the audit record and logs ("no_tls"), NULL when none */
	char text[320];	    /* one line, no CR/LF: the reply text (REJECT), or why (INTERNAL, STALE) */
};

/* Settings derived from the configuration once, at load; CFG must outlive the policy. */
struct mss_policy {
	const struct mss_config *cfg;
	long long max_age;   /* [directory] max_age, seconds */
	bool nil_reject;     /* [milter] require_nil = reject */
	char patient_domain[MSS_ADDR_DOMAIN_MAX + 1];
};

/* Validates what the milter needs beyond the option types: the two daemon lists do not
   overlap, patient_domain is a domain, issuer_cns is set. Errors name FILE:LINE and the key.
   Returns 0 or -1 with err set. */
int mss_policy_init(struct mss_policy *p, const struct mss_config *cfg, char *err, size_t errlen);

enum mss_role mss_policy_role(const struct mss_policy *p, const char *daemon_name);
const char *mss_role_name(enum mss_role r); /* "inbound", "submission", "unknown" */

/* What Postfix told about the session (any may be NULL or "": absent). */
struct mss_session {
	const char *daemon_name;
	const char *tls_version;  /* {tls_version}: absent without TLS */
	const char *cert_subject; /* {cert_subject}: the peer CN, only for a verified chain */
	const char *cert_issuer;  /* {cert_issuer}: the issuer CN */
	const char *auth_authen;  /* {auth_authen}: the SASL login */
};

/* What the sender check learnt, for the recipients, the headers and the audit record. */
struct mss_sender {
	enum mss_role role;
	bool null_sender;
	char from[MSS_ADDR_MAX + 1]; /* normalised MAIL FROM ("" for <> or when unparsable) */
	char domain[MSS_ADDR_DOMAIN_MAX + 1];
	char actor[MSS_SNAPSHOT_IDNAT_MAX + 1]; /* idNat_PS of the person sending (submission) */
	char bal_type[8];			 /* type of the sending BAL (submission) */
};

/* MAIL FROM. SNAP may be NULL (no snapshot: INTERNAL). MAIL_FROM is what the client gave,
   with or without angle brackets; "<>" or "" is the null sender. */
void mss_policy_check_sender(const struct mss_policy *p, const struct mss_snapshot *snap, time_t now,
			     const struct mss_session *s, const char *mail_from, struct mss_sender *snd,
			     struct mss_verdict *v);

/* One RCPT TO, after an accepted sender. ADDR_R (MSS_ADDR_MAX + 1 bytes) receives the
   normalised address, or the raw text cut to size when it does not parse. */
void mss_policy_check_recipient(const struct mss_policy *p, const struct mss_snapshot *snap,
				const struct mss_sender *snd, const char *rcpt, char *addr_r, size_t addrlen,
				struct mss_verdict *v);

/* The X-MSS-* headers and Message-ID of one message, values unfolded and cleaned. */
#define MSS_HEADER_VALUE_MAX 256
struct mss_headers {
	char nil[MSS_HEADER_VALUE_MAX];
	char ins[MSS_HEADER_VALUE_MAX];
	char codecda[MSS_HEADER_VALUE_MAX];
	char message_id[MSS_HEADER_VALUE_MAX];
	bool has_nil, has_ins, has_codecda, has_mes;
	unsigned n_ins;	      /* X-MSS-INS may appear once */
	bool codecda_too_long; /* the X-MSS-CODECDA values did not fit */
};
void mss_headers_reset(struct mss_headers *h);
/* Feeds one header as libmilter gives it (NAME without colon, VALUE possibly folded). */
void mss_headers_add(struct mss_headers *h, const char *name, const char *value);
/* Rules on the whole header block; RCPTS are the accepted (normalised) recipients. */
void mss_policy_check_headers(const struct mss_policy *p, const struct mss_headers *h, const char *const *rcpts,
			      size_t n_rcpts, struct mss_verdict *v);

/* One printable line from a header value: folding and other white space collapsed to one
   space, other control characters and DEL turned into '?', trimmed, cut at a UTF-8
   character boundary to fit OUT. Returns the length written. */
size_t mss_header_clean(const char *in, char *out, size_t outlen);
/* Is S a valid X-MSS-CODECDA value: one or more document codes ([A-Za-z0-9] then
   [A-Za-z0-9._-], at most 64 characters each; LOINC codes look like 34112-3) separated by
   commas, semicolons or spaces? */
bool mss_codecda_valid(const char *s);

/* A verdict set by hand (also used by the milter for its own internal errors). */
void mss_verdict_accept(struct mss_verdict *v, const char *reason);
void mss_verdict_reject(struct mss_verdict *v, const char *rcode, const char *xcode, const char *reason,
			const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void mss_verdict_internal(struct mss_verdict *v, const char *reason, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif
