/* The trust-space rules; see policy.h. Every path that does not reach an explicit accept
   ends in a refusal or an internal error, never in an unchecked accept. */
#include "policy.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "config.h"
#include "access.h"
#include "dn.h"

/* ---- verdicts ---- */

void mss_verdict_accept(struct mss_verdict *v, const char *reason)
{
	memset(v, 0, sizeof(*v));
	v->outcome = MSS_OUTCOME_ACCEPT;
	v->reason = reason;
}

static void vtext(struct mss_verdict *v, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void vtext(struct mss_verdict *v, const char *fmt, va_list ap)
{
	vsnprintf(v->text, sizeof(v->text), fmt, ap);
	/* The text becomes an SMTP reply line: no CR, LF or other control character. */
	for (char *c = v->text; *c != '\0'; c++) {
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	}
}

void mss_verdict_reject(struct mss_verdict *v, const char *rcode, const char *xcode, const char *reason,
			const char *fmt, ...)
{
	va_list ap;

	memset(v, 0, sizeof(*v));
	v->outcome = MSS_OUTCOME_REJECT;
	snprintf(v->rcode, sizeof(v->rcode), "%s", rcode);
	snprintf(v->xcode, sizeof(v->xcode), "%s", xcode);
	v->reason = reason;
	va_start(ap, fmt);
	vtext(v, fmt, ap);
	va_end(ap);
}

void mss_verdict_internal(struct mss_verdict *v, const char *reason, const char *fmt, ...)
{
	va_list ap;

	memset(v, 0, sizeof(*v));
	v->outcome = MSS_OUTCOME_INTERNAL;
	v->reason = reason;
	va_start(ap, fmt);
	vtext(v, fmt, ap);
	va_end(ap);
}

/* ---- settings ---- */

static bool empty(const char *s)
{
	return s == NULL || s[0] == '\0';
}

/* Calls FN on each trimmed item of a comma-separated list; stops when FN returns non-zero. */
static int list_each(const char *list, int (*fn)(const char *item, size_t len, void *arg), void *arg)
{
	const char *p = list;

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);
		const char *q = p;
		int r;

		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		while (end > q && (end[-1] == ' ' || end[-1] == '\t'))
			end--;
		if (end > q && (r = fn(q, (size_t)(end - q), arg)) != 0)
			return r;
		p = comma != NULL ? comma + 1 : NULL;
	}
	return 0;
}

struct overlap {
	const struct mss_config *cfg;
	char item[128];
};

static int item_in_inbound(const char *item, size_t len, void *arg)
{
	struct overlap *o = arg;
	char name[128];

	if (len >= sizeof(name))
		len = sizeof(name) - 1;
	memcpy(name, item, len);
	name[len] = '\0';
	if (mss_config_list_has(o->cfg, MSS_OPT_MILTER_INBOUND_DAEMONS, name)) {
		memcpy(o->item, name, len + 1);
		return 1;
	}
	return 0;
}

int mss_policy_init(struct mss_policy *p, const struct mss_config *cfg, char *err, size_t errlen)
{
	const char *path = cfg->path != NULL ? cfg->path : "(defaults)";
	const char *error;
	struct overlap o = {.cfg = cfg};

	memset(p, 0, sizeof(*p));
	p->cfg = cfg;
	p->max_age = mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_AGE);
	p->nil_reject = empty(mss_config_str(cfg, MSS_OPT_MILTER_REQUIRE_NIL))
				? false
				: strcmp(mss_config_str(cfg, MSS_OPT_MILTER_REQUIRE_NIL), "reject") == 0;
	if (empty(mss_config_str(cfg, MSS_OPT_TRUST_ISSUER_CNS))) {
		snprintf(err, errlen, "%s:%d: key 'issuer_cns': must name at least one IGC-Santé CA", path,
			 cfg->values[MSS_OPT_TRUST_ISSUER_CNS].line);
		return -1;
	}
	if (empty(mss_config_str(cfg, MSS_OPT_MILTER_INBOUND_DAEMONS)) &&
	    empty(mss_config_str(cfg, MSS_OPT_MILTER_SUBMISSION_DAEMONS))) {
		snprintf(err, errlen, "%s: [milter] inbound_daemons and submission_daemons are both empty", path);
		return -1;
	}
	if (list_each(mss_config_str(cfg, MSS_OPT_MILTER_SUBMISSION_DAEMONS), item_in_inbound, &o) != 0) {
		snprintf(err, errlen, "%s:%d: key 'submission_daemons': '%s' is also in inbound_daemons", path,
			 cfg->values[MSS_OPT_MILTER_SUBMISSION_DAEMONS].line, o.item);
		return -1;
	}
	if (empty(mss_config_str(cfg, MSS_OPT_MILTER_PATIENT_DOMAIN)) ||
	    mss_domain_normalize(mss_config_str(cfg, MSS_OPT_MILTER_PATIENT_DOMAIN),
				 strlen(mss_config_str(cfg, MSS_OPT_MILTER_PATIENT_DOMAIN)), p->patient_domain,
				 sizeof(p->patient_domain), &error) < 0) {
		snprintf(err, errlen, "%s:%d: key 'patient_domain': not a domain name", path,
			 cfg->values[MSS_OPT_MILTER_PATIENT_DOMAIN].line);
		return -1;
	}
	return 0;
}

enum mss_role mss_policy_role(const struct mss_policy *p, const char *daemon_name)
{
	if (empty(daemon_name))
		return MSS_ROLE_UNKNOWN;
	if (mss_config_list_has(p->cfg, MSS_OPT_MILTER_INBOUND_DAEMONS, daemon_name))
		return MSS_ROLE_INBOUND;
	if (mss_config_list_has(p->cfg, MSS_OPT_MILTER_SUBMISSION_DAEMONS, daemon_name))
		return MSS_ROLE_SUBMISSION;
	return MSS_ROLE_UNKNOWN;
}

const char *mss_role_name(enum mss_role r)
{
	switch (r) {
	case MSS_ROLE_INBOUND: return "inbound";
	case MSS_ROLE_SUBMISSION: return "submission";
	case MSS_ROLE_UNKNOWN: break;
	}
	return "unknown";
}

/* ---- sender ---- */

static bool slice_caseeq(struct mss_slice s, const char *str)
{
	return s.len == strlen(str) && strncasecmp(s.p, str, s.len) == 0;
}

static bool slice_eq(struct mss_slice s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static void slice_copy(struct mss_slice s, char *out, size_t outlen)
{
	size_t n = s.len < outlen - 1 ? s.len : outlen - 1;

	memcpy(out, s.p, n);
	out[n] = '\0';
}

/* Is the null reverse-path "<>" (or nothing at all)? */
static bool is_null_path(const char *s)
{
	while (*s == ' ')
		s++;
	return s[0] == '\0' || (s[0] == '<' && s[1] == '>' && s[2] == '\0');
}

static void check_inbound(const struct mss_policy *p, const struct mss_snapshot *snap, const struct mss_session *s,
			  struct mss_sender *snd, struct mss_verdict *v)
{
	struct mss_snapshot_iter it;
	struct mss_trust_record rec;
	int r;

	if (empty(s->tls_version)) {
		mss_verdict_reject(v, "550", "5.7.10", "no_tls",
				   "TLS is required in the MSSante trust space");
		return;
	}
	if (empty(s->cert_subject)) {
		mss_verdict_reject(v, "550", "5.7.1", "no_client_cert",
				   "a client certificate from an IGC-Sante operator CA is required");
		return;
	}
	if (empty(s->cert_issuer) || !mss_config_list_has(p->cfg, MSS_OPT_TRUST_ISSUER_CNS, s->cert_issuer)) {
		mss_verdict_reject(v, "550", "5.7.1", "issuer_not_trusted",
				   "certificate issuer '%s' is not an IGC-Sante operator CA",
				   empty(s->cert_issuer) ? "" : s->cert_issuer);
		return;
	}
	if (snd->null_sender) {
		/* Bounces have no domain to match the CN against: the verified IGC-Santé chain
		   is all there is to check (documented in mss-milter(8)). */
		mss_verdict_accept(v, NULL);
		return;
	}
	r = mss_snapshot_domain_first(snap, snd->domain, &it, &rec);
	if (r < 0) {
		mss_verdict_internal(v, "snapshot_corrupt", "corrupt trust record for %s in the snapshot", snd->domain);
		return;
	}
	if (r == 0) {
		mss_verdict_reject(v, "550", "5.7.1", "domain_not_trusted",
				   "<%s>: domain not in the MSSante trust space", snd->from);
		return;
	}
	while (r > 0) {
		if (slice_caseeq(rec.cn, s->cert_subject)) {
			mss_verdict_accept(v, NULL);
			return;
		}
		r = mss_snapshot_domain_next(&it, &rec);
	}
	if (r < 0) {
		mss_verdict_internal(v, "snapshot_corrupt", "corrupt trust record for %s in the snapshot", snd->domain);
		return;
	}
	mss_verdict_reject(v, "550", "5.7.1", "cn_not_listed",
			   "certificate CN '%s' is not an operator listed for %s on the MSSante trust list",
			   s->cert_subject, snd->domain);
}

/* The SASL login -> the person (IDNAT) who acts, or the APP BAL that acts as itself. */
static void check_submission(const struct mss_snapshot *snap, const struct mss_session *s, struct mss_sender *snd,
			     struct mss_verdict *v)
{
	char login[MSS_ADDR_MAX + 1];
	const char *error;
	struct mss_bal bal;
	enum mss_access a;
	int r;

	if (empty(s->auth_authen)) {
		mss_verdict_reject(v, "530", "5.7.0", "no_auth", "authentication required (SMTP AUTH)");
		return;
	}
	if (mss_idnat_valid(s->auth_authen, false)) {
		snprintf(snd->actor, sizeof(snd->actor), "%s", s->auth_authen);
	} else if (mss_addr_normalize(s->auth_authen, strlen(s->auth_authen), login, sizeof(login), &error) == 0) {
		r = mss_snapshot_bal(snap, login, strlen(login), &bal);
		if (r < 0) {
			mss_verdict_internal(v, "snapshot_corrupt", "corrupt BAL record for %s in the snapshot", login);
			return;
		}
		if (r == 0) {
			mss_verdict_reject(v, "550", "5.7.1", "unknown_login",
					   "login %s is not a BAL of this directory", login);
			return;
		}
		if (slice_eq(bal.type, "APP")) {
			/* The application authenticated by its certificate: it sends as itself. */
			slice_copy(bal.type, snd->bal_type, sizeof(snd->bal_type));
			if (snd->null_sender || strcmp(login, snd->from) != 0) {
				mss_verdict_reject(v, "550", "5.7.1", "app_not_itself",
						   "<%s>: the application %s may send only as its own BAL", snd->from,
						   login);
				return;
			}
			if (bal.status != 'A' || bal.source != 'L') {
				a = bal.status != 'A' ? MSS_ACCESS_SUSPENDED_BAL : MSS_ACCESS_NOT_LOCAL_BAL;
				mss_verdict_reject(v, "550", "5.7.1", mss_access_code(a), "<%s>: %s", snd->from,
						   mss_access_reason(a));
				return;
			}
			mss_verdict_accept(v, NULL);
			return;
		}
		if (!slice_eq(bal.type, "PER") || bal.owner.len == 0 || bal.owner.len >= sizeof(snd->actor)) {
			mss_verdict_reject(v, "550", "5.7.1", "org_login",
					   "login %s: an organisational BAL is used through its delegates' own logins",
					   login);
			return;
		}
		slice_copy(bal.owner, snd->actor, sizeof(snd->actor));
	} else {
		mss_verdict_reject(v, "550", "5.7.1", "unknown_login", "login maps to no person or BAL of this directory");
		return;
	}
	if (snd->null_sender) {
		/* MDNs and other notifications (RFC 8098) may use the null sender: the person is
		   known and recorded; the recipients are still checked. */
		mss_verdict_accept(v, NULL);
		return;
	}
	a = mss_access_person(snap, snd->from, snd->actor, &bal);
	if (a == MSS_ACCESS_ALLOW) {
		slice_copy(bal.type, snd->bal_type, sizeof(snd->bal_type));
		mss_verdict_accept(v, NULL);
		return;
	}
	if (a == MSS_ACCESS_ERROR) {
		mss_verdict_internal(v, "snapshot_corrupt", "cannot check whether %s may send as %s", snd->actor,
				     snd->from);
		return;
	}
	mss_verdict_reject(v, "550", "5.7.1", mss_access_code(a), "<%s>: %s may not send as this BAL: %s", snd->from,
			   s->auth_authen, mss_access_reason(a));
}

void mss_policy_check_sender(const struct mss_policy *p, const struct mss_snapshot *snap, time_t now,
			     const struct mss_session *s, const char *mail_from, struct mss_sender *snd,
			     struct mss_verdict *v)
{
	struct mss_addr addr;
	const char *error;

	memset(snd, 0, sizeof(*snd));
	snd->role = mss_policy_role(p, s->daemon_name);
	snd->null_sender = mail_from == NULL || is_null_path(mail_from);
	if (!snd->null_sender) {
		if (mss_addr_parse(mail_from, strlen(mail_from), &addr, &error) == 0) {
			mss_addr_key(&addr, snd->from, sizeof(snd->from));
			snprintf(snd->domain, sizeof(snd->domain), "%s", addr.domain);
		} else {
			mss_header_clean(mail_from, snd->from, sizeof(snd->from));
			mss_verdict_reject(v, "550", "5.1.7", "bad_sender", "bad sender address: %s", error);
			return;
		}
	}
	if (snap == NULL) {
		mss_verdict_internal(v, "no_snapshot", "no directory snapshot");
		return;
	}
	if (mss_snapshot_age(snap, now) > p->max_age) {
		memset(v, 0, sizeof(*v));
		v->outcome = MSS_OUTCOME_STALE;
		v->reason = "stale_snapshot";
		snprintf(v->text, sizeof(v->text), "the directory snapshot is %lld s old ([directory] max_age = %lld s)",
			 mss_snapshot_age(snap, now), p->max_age);
		return;
	}
	switch (snd->role) {
	case MSS_ROLE_INBOUND:
		check_inbound(p, snap, s, snd, v);
		return;
	case MSS_ROLE_SUBMISSION:
		check_submission(snap, s, snd, v);
		return;
	case MSS_ROLE_UNKNOWN:
		break;
	}
	mss_verdict_internal(v, "unknown_listener",
			     "listener '%s' is not in [milter] inbound_daemons or submission_daemons",
			     empty(s->daemon_name) ? "(no {daemon_name})" : s->daemon_name);
}

/* ---- recipients ---- */

void mss_policy_check_recipient(const struct mss_policy *p, const struct mss_snapshot *snap,
				const struct mss_sender *snd, const char *rcpt, char *addr_r, size_t addrlen,
				struct mss_verdict *v)
{
	struct mss_snapshot_iter it;
	struct mss_trust_record rec;
	struct mss_slice local;
	struct mss_addr addr;
	struct mss_bal bal;
	const char *error;
	int r;

	(void)p;
	if (rcpt == NULL || mss_addr_parse(rcpt, strlen(rcpt), &addr, &error) < 0) {
		mss_header_clean(rcpt != NULL ? rcpt : "", addr_r, addrlen);
		mss_verdict_reject(v, "550", "5.1.3", "bad_recipient", "bad recipient address");
		return;
	}
	mss_addr_key(&addr, addr_r, addrlen);
	if (snap == NULL) {
		mss_verdict_internal(v, "no_snapshot", "no directory snapshot");
		return;
	}
	if (snd->role == MSS_ROLE_INBOUND) {
		r = mss_snapshot_bal(snap, addr_r, strlen(addr_r), &bal);
		if (r < 0) {
			mss_verdict_internal(v, "snapshot_corrupt", "corrupt BAL record for %s in the snapshot", addr_r);
		} else if (r == 0 || bal.source != 'L') {
			mss_verdict_reject(v, "550", "5.1.1", r == 0 ? "unknown_bal" : "not_local_bal",
					   "<%s>: no such BAL here", addr_r);
		} else if (bal.status != 'A') {
			mss_verdict_reject(v, "550", "5.2.1", "suspended_bal", "<%s>: this BAL is suspended", addr_r);
		} else {
			mss_verdict_accept(v, NULL);
		}
		return;
	}
	if (snd->role != MSS_ROLE_SUBMISSION) {
		mss_verdict_internal(v, "unknown_listener", "recipient checked without a listener role");
		return;
	}
	r = mss_snapshot_get(snap, 'L', addr.domain, strlen(addr.domain), &local);
	if (r == 0)
		r = mss_snapshot_domain_first(snap, addr.domain, &it, &rec);
	if (r < 0) {
		mss_verdict_internal(v, "snapshot_corrupt", "corrupt domain record for %s in the snapshot", addr.domain);
		return;
	}
	if (r == 0) {
		mss_verdict_reject(v, "550", "5.7.1", "domain_not_trusted", "<%s>: domain not in the MSSante trust space",
				   addr_r);
		return;
	}
	mss_verdict_accept(v, NULL);
}

/* ---- headers ---- */

size_t mss_header_clean(const char *in, char *out, size_t outlen)
{
	size_t n = 0;
	bool space = false;

	if (outlen == 0)
		return 0;
	for (const unsigned char *c = (const unsigned char *)in; *c != '\0'; c++) {
		unsigned char ch = *c;

		if (ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n') {
			space = n > 0;
			continue;
		}
		if (ch < 0x20 || ch == 0x7f)
			ch = '?';
		if (n + (space ? 2 : 1) >= outlen)
			break;
		if (space)
			out[n++] = ' ';
		space = false;
		out[n++] = (char)ch;
	}
	/* Do not leave half a UTF-8 character at the cut. */
	if (n > 0 && ((unsigned char)out[n - 1] & 0x80)) {
		size_t start = n - 1;
		size_t need;
		unsigned char lead;

		while (start > 0 && ((unsigned char)out[start] & 0xc0) == 0x80)
			start--;
		lead = (unsigned char)out[start];
		need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
		if (n - start < need)
			n = start;
	}
	out[n] = '\0';
	return n;
}

bool mss_codecda_valid(const char *s)
{
	size_t codes = 0, len = 0;

	for (const char *c = s;; c++) {
		if (*c == '\0' || *c == ',' || *c == ';' || *c == ' ') {
			if (len > 0)
				codes++;
			else if (*c == ',' || *c == ';')
				return false; /* empty item */
			len = 0;
			if (*c == '\0')
				break;
			continue;
		}
		if (len == 0 ? !((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z'))
			     : !((*c >= '0' && *c <= '9') || (*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
				 *c == '.' || *c == '_' || *c == '-'))
			return false;
		if (++len > 64)
			return false;
	}
	return codes > 0;
}

void mss_headers_reset(struct mss_headers *h)
{
	memset(h, 0, sizeof(*h));
}

void mss_headers_add(struct mss_headers *h, const char *name, const char *value)
{
	char clean[MSS_HEADER_VALUE_MAX];
	size_t have, add;

	if (name == NULL || value == NULL)
		return;
	if (strcasecmp(name, "X-MSS-NIL") == 0) {
		if (!h->has_nil)
			mss_header_clean(value, h->nil, sizeof(h->nil));
		h->has_nil = true;
	} else if (strcasecmp(name, "X-MSS-INS") == 0) {
		if (!h->has_ins)
			mss_header_clean(value, h->ins, sizeof(h->ins));
		h->has_ins = true;
		h->n_ins++;
	} else if (strcasecmp(name, "X-MSS-CODECDA") == 0) {
		/* Several CDA documents: one header each, or one multi-valued header. */
		mss_header_clean(value, clean, sizeof(clean));
		have = strlen(h->codecda);
		add = strlen(clean);
		if (have + (have > 0) + add + 1 > sizeof(h->codecda) || strlen(value) >= sizeof(clean)) {
			h->codecda_too_long = true;
		} else {
			if (have > 0)
				h->codecda[have++] = ',';
			memcpy(h->codecda + have, clean, add + 1);
		}
		h->has_codecda = true;
	} else if (strcasecmp(name, "X-MSS-MES") == 0) {
		h->has_mes = true;
	} else if (strcasecmp(name, "Message-ID") == 0 && h->message_id[0] == '\0') {
		mss_header_clean(value, h->message_id, sizeof(h->message_id));
	}
}

void mss_policy_check_headers(const struct mss_policy *p, const struct mss_headers *h, const char *const *rcpts,
			      size_t n_rcpts, struct mss_verdict *v)
{
	const char *at;

	if (h->has_ins && (h->n_ins > 1 || !(strcmp(h->ins, "O") == 0 || strcmp(h->ins, "N") == 0))) {
		mss_verdict_reject(v, "550", "5.6.0", "bad_ins",
				   h->n_ins > 1 ? "X-MSS-INS appears more than once"
						: "X-MSS-INS must be O or N");
		return;
	}
	if (h->has_codecda && (h->codecda_too_long || !mss_codecda_valid(h->codecda))) {
		mss_verdict_reject(v, "550", "5.6.0", "bad_codecda",
				   "X-MSS-CODECDA must list CDA document codes (such as 34112-3)");
		return;
	}
	if (h->has_mes) {
		for (size_t i = 0; i < n_rcpts; i++) {
			at = strrchr(rcpts[i], '@');
			if (at == NULL || !mss_domain_equal(at + 1, p->patient_domain)) {
				mss_verdict_reject(v, "550", "5.7.1", "mes_not_patient",
						   "<%s>: X-MSS-MES is only for messages to patients (%s)", rcpts[i],
						   p->patient_domain);
				return;
			}
		}
	}
	if (!h->has_nil || h->nil[0] == '\0') {
		if (p->nil_reject) {
			mss_verdict_reject(v, "550", "5.7.1", "nil_missing",
					   "X-MSS-NIL (sending software reference) is required");
			return;
		}
		mss_verdict_accept(v, "nil_missing");
		return;
	}
	mss_verdict_accept(v, NULL);
}
