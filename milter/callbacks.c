/* The libmilter callbacks: gather what Postfix says about the session and the message, ask
   common/policy, answer through mm_verdict, and end every transaction with exactly one audit
   record (accepted or refused at MAIL FROM, at end of message, or aborted by the client).
 *
 * Round trips are what a milter costs Postfix, so the negotiation asks for the fewest: no
 * connect, HELO, DATA, end-of-header, body or unknown-command events; no reply to each header
 * nor to MAIL FROM; the macros needed are asked for at MAIL FROM and end of message only
 * (smfi_setsymlist). Without a reply to MAIL FROM, Postfix sends MAIL FROM and the first RCPT TO
 * in one write and waits once: a sender refused is then refused at each of its recipients
 * (what Postfix's own smtpd_delay_reject does with its restrictions), with the same reply, and
 * the transaction's one record is written with the first.
 * Per-connection state is allocated at negotiation, reset at each MAIL FROM and abort, freed at
 * close. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "audit.h"
#include "log.h"
#include "milter.h"
#include "snapshot.h"

const char mm_macros_envfrom[] =
	"{daemon_name} {client_addr} {client_name} {tls_version} {cipher} {cert_subject} {cert_issuer} {auth_authen}";
const char mm_macros_eom[] = "i";

#define MM_RCPT_MAX 1000 /* Postfix's smtpd_recipient_limit default */

struct mm_rcpt {
	char addr[MSS_ADDR_MAX + 1];
	const char *decision;
	const char *reason; /* static token */
};

/* One SMTP connection as libmilter gives it; one transaction at a time. */
struct mm_ctx {
	bool nr_hdr;  /* the MTA agreed that header events get no reply */
	bool nr_mail; /* ... and MAIL FROM neither: its verdict is given at RCPT TO */
	bool in_txn;  /* MAIL FROM seen, record not yet written (or held: see below) */
	/* MAIL FROM refused without a reply: each recipient gets held_v; the record is written
	   with the first (held_recorded), or when the transaction ends without any. */
	bool held, held_recorded;
	struct mss_verdict held_v;
	struct mm_conf *conf;
	struct mm_snap *snap;
	/* Macro values are libmilter's and change with each stage: copied here. */
	char daemon_name[64], client[336], tls_version[32], cipher[128], peer_cn[256], issuer_cn[256], auth[256];
	char queue_id[64];
	struct mss_sender snd;
	struct mm_rcpt *rcpts;
	size_t n_rcpts, cap_rcpts, n_accepted;
	struct mss_headers hdr;
	long long size;
};

static void copy_macro(SMFICTX *ctx, const char *name, char *out, size_t outlen)
{
	const char *v = mm_getsymval(ctx, name);

	mss_header_clean(v != NULL ? v : "", out, outlen);
}

static const char *opt(const char *s)
{
	return s != NULL && s[0] != '\0' ? s : NULL;
}

/* Releases what the transaction pinned and clears its data (the connection stays). */
static void txn_reset(struct mm_ctx *m)
{
	if (m->conf != NULL)
		mm_state_release_conf(m->conf);
	if (m->snap != NULL)
		mm_state_release_snap(m->snap);
	if (m->in_txn)
		mm_state_txn_end();
	m->conf = NULL;
	m->snap = NULL;
	m->in_txn = false;
	m->held = m->held_recorded = false;
	m->n_rcpts = m->n_accepted = 0;
	m->queue_id[0] = '\0';
	m->size = -1;
	memset(&m->snd, 0, sizeof(m->snd));
	mss_headers_reset(&m->hdr);
}

/* The transaction's syslog line in Postfix style, with the answer given: written once the
   record is, so that it never says "accept" for a message the trail refused. */
static void log_transaction(const struct mm_ctx *m, const char *decision, const char *reason)
{
	mss_info("%s: mss: %s: %s from=<%s> rcpts=%zu/%zu client=%s%s%s", m->queue_id[0] != '\0' ? m->queue_id : "NOQUEUE",
		 decision, mss_role_name(m->snd.role), m->snd.null_sender ? "" : m->snd.from, m->n_accepted, m->n_rcpts,
		 m->client[0] != '\0' ? m->client : "unknown", reason != NULL ? " reason=" : "", reason != NULL ? reason : "");
}

/* The one record of the transaction. Returns 0, or -1 with err set when the record could not
   be written (the caller must then not accept). */
static int write_record(struct mm_ctx *m, const char *decision, const char *reason, char *err, size_t errlen)
{
	struct mss_audit_record rec = MSS_AUDIT_RECORD_INIT;
	struct mss_audit_rcpt rr[64], *rcpts = rr;
	struct mss_audit *audit;
	int r = -1;

	if (m->conf == NULL) {
		snprintf(err, errlen, "no configuration");
		return -1;
	}
	if (m->n_rcpts > sizeof(rr) / sizeof(rr[0])) {
		rcpts = calloc(m->n_rcpts, sizeof(*rcpts));
		if (rcpts == NULL) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	for (size_t i = 0; i < m->n_rcpts; i++) {
		rcpts[i].addr = m->rcpts[i].addr;
		rcpts[i].decision = m->rcpts[i].decision;
		rcpts[i].reason = m->rcpts[i].reason;
	}
	rec.event = "message";
	rec.queue_id = opt(m->queue_id);
	rec.client = opt(m->client);
	rec.tls_version = opt(m->tls_version);
	rec.tls_cipher = opt(m->cipher);
	rec.tls_peer_cn = opt(m->peer_cn);
	rec.tls_issuer_cn = opt(m->issuer_cn);
	rec.service = mss_role_name(m->snd.role);
	rec.auth_user = opt(m->auth);
	rec.actor = opt(m->snd.actor);
	rec.bal_type = opt(m->snd.bal_type);
	rec.from = m->snd.null_sender ? "" : m->snd.from;
	/* The BAL the record is about: the sending BAL on submission, the first local recipient
	   accepted inbound (each recipient is in rcpt[] with its own decision). */
	if (m->snd.role == MSS_ROLE_SUBMISSION && !m->snd.null_sender) {
		rec.bal = opt(m->snd.from);
	} else if (m->snd.role == MSS_ROLE_INBOUND) {
		for (size_t i = 0; i < m->n_rcpts && rec.bal == NULL; i++) {
			if (strcmp(m->rcpts[i].decision, "accept") == 0)
				rec.bal = m->rcpts[i].addr;
		}
	}
	rec.rcpt = rcpts;
	rec.n_rcpt = m->n_rcpts;
	rec.message_id = opt(m->hdr.message_id);
	rec.size = m->size;
	rec.mss_nil = m->hdr.has_nil ? m->hdr.nil : NULL;
	rec.mss_ins = m->hdr.has_ins ? m->hdr.ins : NULL;
	rec.mss_codecda = m->hdr.has_codecda ? m->hdr.codecda : NULL;
	rec.decision = decision;
	rec.reason = reason;
	audit = mm_conf_audit(m->conf, err, errlen);
	if (audit != NULL)
		r = mss_audit_write(audit, &rec, err, errlen);
	if (rcpts != rr)
		free(rcpts);
	return r;
}

/* An internal-error reason for the record: token and detail. */
static void internal_reason(const struct mss_verdict *v, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s: %s", v->reason != NULL ? v->reason : "internal_error", v->text);
}

/* Writes the transaction's record for verdict V; ANSWER is V, or an internal error (451) when
   the record could not be written: nothing passes unrecorded. */
static void record_verdict(struct mm_ctx *m, const struct mss_verdict *v, struct mss_verdict *answer)
{
	char reason[700], err[512];
	const char *why = v->reason;

	if (v->outcome == MSS_OUTCOME_INTERNAL || v->outcome == MSS_OUTCOME_STALE) {
		internal_reason(v, reason, sizeof(reason));
		why = reason;
		mss_error("%s: %s", m->queue_id[0] != '\0' ? m->queue_id : "NOQUEUE", reason);
	}
	if (write_record(m, mm_decision(m->conf, v), why, err, sizeof(err)) < 0) {
		mss_error("%s: %s: answering with the on_internal_error verdict",
			  m->queue_id[0] != '\0' ? m->queue_id : "NOQUEUE", err);
		mss_verdict_internal(answer, "audit_unwritable", "%s", err);
		log_transaction(m, mm_decision(m->conf, answer), answer->reason);
	} else {
		log_transaction(m, mm_decision(m->conf, v), why);
		*answer = *v;
	}
}

/* The answer to verdict V; an answer that is not the verdict's is never "continue". */
static sfsistat answer(SMFICTX *ctx, const struct mm_ctx *m, const struct mss_verdict *v, const struct mss_verdict *a)
{
	sfsistat st = mm_verdict(ctx, m->conf, a);

	if (st == SMFIS_CONTINUE && a->outcome != v->outcome) /* cannot happen: an internal verdict never continues */
		st = SMFIS_TEMPFAIL;
	return st;
}

/* Ends the transaction with verdict V: writes the record, answers. */
static sfsistat finish(SMFICTX *ctx, struct mm_ctx *m, const struct mss_verdict *v)
{
	struct mss_verdict a;
	sfsistat st;

	record_verdict(m, v, &a);
	st = answer(ctx, m, v, &a);
	txn_reset(m);
	return st;
}

/* MAIL FROM refused with no reply expected: that is the verdict. It is answered to each
   recipient (answer_held); an MTA that waits for the reply gets it now. */
static sfsistat refuse_sender(SMFICTX *ctx, struct mm_ctx *m, const struct mss_verdict *v)
{
	if (!m->nr_mail)
		return finish(ctx, m, v);
	m->held = true;
	m->held_v = *v;
	return SMFIS_NOREPLY;
}

/* A recipient (or the end of a message) after MAIL FROM was refused without a reply: the same
   refusal; the first one writes the transaction's record. The transaction stays open, so that
   the next recipients get the same answer, until the client ends it. */
static sfsistat answer_held(SMFICTX *ctx, struct mm_ctx *m)
{
	struct mss_verdict v = m->held_v;

	if (!m->held_recorded) {
		record_verdict(m, &v, &m->held_v);
		m->held_recorded = true;
	}
	return answer(ctx, m, &v, &m->held_v);
}

/* A transaction that ended without a verdict of ours (RSET, QUIT, a new MAIL FROM, or
   Postfix refusing it for its own reasons): recorded as refused when no recipient was
   accepted, else as aborted. */
static void finish_aborted(struct mm_ctx *m)
{
	char err[512];
	const char *decision = "abort", *reason = "aborted";

	if (!m->in_txn)
		return;
	if (m->held) {
		/* Refused at MAIL FROM and no recipient came to be told so: recorded now. */
		struct mss_verdict a;

		if (!m->held_recorded)
			record_verdict(m, &m->held_v, &a);
		txn_reset(m);
		return;
	}
	if (m->n_accepted == 0 && m->n_rcpts > 0) {
		decision = "reject";
		reason = "no_recipient_accepted";
	}
	if (write_record(m, decision, reason, err, sizeof(err)) < 0)
		mss_error("%s: %s", m->queue_id[0] != '\0' ? m->queue_id : "NOQUEUE", err);
	else
		log_transaction(m, decision, reason);
	txn_reset(m);
}

static struct mm_ctx *ctx_new(SMFICTX *ctx)
{
	struct mm_ctx *m = calloc(1, sizeof(*m));

	if (m == NULL)
		return NULL;
	m->size = -1;
	if (mm_setpriv(ctx, m) < 0) {
		free(m);
		return NULL;
	}
	return m;
}

static sfsistat mm_negotiate(SMFICTX *ctx, unsigned long f0, unsigned long f1, unsigned long f2, unsigned long f3,
			     unsigned long *pf0, unsigned long *pf1, unsigned long *pf2, unsigned long *pf3)
{
	unsigned long want = SMFIP_NOBODY | SMFIP_NOEOH | SMFIP_NOUNKNOWN | SMFIP_NODATA | SMFIP_NR_HDR;
	struct mm_ctx *m = mm_getpriv(ctx);

	(void)f2;
	(void)f3;
	*pf0 = 0;
	*pf2 = 0;
	*pf3 = 0;
	if (f0 & SMFIF_SETSYMLIST) {
		/* The macros come with MAIL FROM: connect and HELO events are not needed. Without
		   setsymlist the MTA's defaults apply, which send {daemon_name} at connect and the
		   TLS macros at HELO, so those events must then stay. */
		*pf0 = SMFIF_SETSYMLIST;
		want |= SMFIP_NOCONNECT | SMFIP_NOHELO;
	}
	if (m == NULL)
		m = ctx_new(ctx);
	/* A refusal held for RCPT TO needs the connection's state: without it, MAIL FROM is
	   answered (and refused) at once. */
	if (m != NULL)
		want |= SMFIP_NR_MAIL;
	*pf1 = want & f1;
	if (m != NULL) {
		m->nr_hdr = (*pf1 & SMFIP_NR_HDR) != 0;
		m->nr_mail = (*pf1 & SMFIP_NR_MAIL) != 0;
	}
	if (*pf0 & SMFIF_SETSYMLIST) {
		if (mm_setsymlist(ctx, SMFIM_ENVFROM, mm_macros_envfrom) < 0 || mm_setsymlist(ctx, SMFIM_EOM, mm_macros_eom) < 0)
			mss_warning("smfi_setsymlist failed: the MTA's default macros apply");
	}
	return SMFIS_CONTINUE;
}

static sfsistat mm_envfrom(SMFICTX *ctx, char **argv)
{
	struct mm_ctx *m = mm_getpriv(ctx);
	struct mss_session s;
	struct mss_verdict v;
	char name[256], addr[64];
	struct mm_conf *conf;

	if (m == NULL && (m = ctx_new(ctx)) == NULL) {
		/* Nothing to pin a record to: say why in the log and never accept. */
		mss_error("NOQUEUE: out of memory at MAIL FROM");
		mss_verdict_internal(&v, "out_of_memory", "out of memory");
		conf = mm_state_conf();
		{
			sfsistat st = mm_verdict(ctx, conf, &v);

			if (conf != NULL)
				mm_state_release_conf(conf);
			return st;
		}
	}
	finish_aborted(m);
	txn_reset(m);
	m->conf = mm_state_conf();
	m->snap = mm_state_snap();
	m->in_txn = true;
	mm_state_txn_begin();

	copy_macro(ctx, "{daemon_name}", m->daemon_name, sizeof(m->daemon_name));
	copy_macro(ctx, "{client_name}", name, sizeof(name));
	copy_macro(ctx, "{client_addr}", addr, sizeof(addr));
	if (addr[0] != '\0')
		snprintf(m->client, sizeof(m->client), "%s[%s]", name[0] != '\0' ? name : "unknown", addr);
	else
		m->client[0] = '\0';
	copy_macro(ctx, "{tls_version}", m->tls_version, sizeof(m->tls_version));
	copy_macro(ctx, "{cipher}", m->cipher, sizeof(m->cipher));
	copy_macro(ctx, "{cert_subject}", m->peer_cn, sizeof(m->peer_cn));
	copy_macro(ctx, "{cert_issuer}", m->issuer_cn, sizeof(m->issuer_cn));
	copy_macro(ctx, "{auth_authen}", m->auth, sizeof(m->auth));
	copy_macro(ctx, "i", m->queue_id, sizeof(m->queue_id));

	s.daemon_name = m->daemon_name;
	s.tls_version = m->tls_version;
	s.cert_subject = m->peer_cn;
	s.cert_issuer = m->issuer_cn;
	s.auth_authen = m->auth;
	if (m->conf == NULL || m->snap == NULL) {
		mss_verdict_internal(&v, "out_of_memory", "out of memory");
		return refuse_sender(ctx, m, &v);
	}
	if (mm_state_stopping()) {
		/* Draining before exit: the sender retries with the next instance. */
		mss_verdict_internal(&v, "shutting_down", "mss-milter is stopping");
		return refuse_sender(ctx, m, &v);
	}
	if (m->snap->snap == NULL) {
		mss_verdict_internal(&v, "no_snapshot", "%s", m->snap->why);
		return refuse_sender(ctx, m, &v);
	}
	mss_policy_check_sender(&m->conf->policy, m->snap->snap, time(NULL), &s, argv != NULL ? argv[0] : NULL,
				&m->snd, &v);
	if (v.outcome != MSS_OUTCOME_ACCEPT)
		return refuse_sender(ctx, m, &v);
	/* Refuse early when the trail cannot be written: the record at the end would fail. */
	{
		char err[512];

		if (mm_conf_audit(m->conf, err, sizeof(err)) == NULL) {
			mss_verdict_internal(&v, "audit_unwritable", "%s", err);
			return refuse_sender(ctx, m, &v);
		}
	}
	/* The declared size, when the client gave one: the body itself is never read. */
	for (char **a = argv != NULL ? argv + 1 : NULL; a != NULL && *a != NULL; a++) {
		if (strncasecmp(*a, "SIZE=", 5) == 0) {
			char *end;
			long long n = strtoll(*a + 5, &end, 10);

			if (*end == '\0' && n >= 0)
				m->size = n;
		}
	}
	return m->nr_mail ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat mm_envrcpt(SMFICTX *ctx, char **argv)
{
	struct mm_ctx *m = mm_getpriv(ctx);
	struct mss_verdict v;
	struct mm_rcpt *r;

	if (m == NULL || !m->in_txn) {
		/* A recipient outside a transaction we know: a protocol surprise, never accepted. */
		mss_verdict_internal(&v, "protocol", "RCPT without a checked MAIL FROM");
		return mm_verdict(ctx, m != NULL ? m->conf : NULL, &v);
	}
	if (m->held)
		return answer_held(ctx, m);
	if (m->n_rcpts == m->cap_rcpts) {
		size_t cap = m->cap_rcpts > 0 ? m->cap_rcpts * 2 : 8;
		struct mm_rcpt *p = m->n_rcpts < MM_RCPT_MAX ? realloc(m->rcpts, cap * sizeof(*p)) : NULL;

		if (p == NULL) {
			mss_verdict_internal(&v, "out_of_memory", "no room for one more recipient");
			return mm_verdict(ctx, m->conf, &v);
		}
		m->rcpts = p;
		m->cap_rcpts = cap;
	}
	r = &m->rcpts[m->n_rcpts++];
	mss_policy_check_recipient(&m->conf->policy, m->snap->snap, &m->snd, argv != NULL ? argv[0] : NULL, r->addr,
				   sizeof(r->addr), &v);
	r->decision = mm_decision(m->conf, &v);
	r->reason = v.reason;
	if (v.outcome == MSS_OUTCOME_ACCEPT)
		m->n_accepted++;
	else if (v.outcome != MSS_OUTCOME_REJECT)
		mss_error("%s: <%s>: %s: %s", m->queue_id[0] != '\0' ? m->queue_id : "NOQUEUE", r->addr,
			  v.reason != NULL ? v.reason : "internal_error", v.text);
	return mm_verdict(ctx, m->conf, &v);
}

static sfsistat mm_header(SMFICTX *ctx, char *name, char *value)
{
	struct mm_ctx *m = mm_getpriv(ctx);

	if (m != NULL && m->in_txn)
		mss_headers_add(&m->hdr, name, value);
	return m != NULL && m->nr_hdr ? SMFIS_NOREPLY : SMFIS_CONTINUE;
}

static sfsistat mm_eom(SMFICTX *ctx)
{
	struct mm_ctx *m = mm_getpriv(ctx);
	const char *accepted[MM_RCPT_MAX];
	struct mss_verdict v;
	size_t n = 0;

	if (m == NULL || !m->in_txn) {
		mss_verdict_internal(&v, "protocol", "end of message without a checked MAIL FROM");
		return mm_verdict(ctx, m != NULL ? m->conf : NULL, &v);
	}
	if (m->held) {
		/* Every recipient was refused with the sender, yet the message came: refused too. */
		sfsistat st = answer_held(ctx, m);

		txn_reset(m);
		return st;
	}
	copy_macro(ctx, "i", m->queue_id, sizeof(m->queue_id));
	for (size_t i = 0; i < m->n_rcpts; i++) {
		if (strcmp(m->rcpts[i].decision, "accept") == 0)
			accepted[n++] = m->rcpts[i].addr;
	}
	if (n == 0) {
		mss_verdict_internal(&v, "protocol", "end of message without an accepted recipient");
		return finish(ctx, m, &v);
	}
	mss_policy_check_headers(&m->conf->policy, &m->hdr, accepted, n, &v);
	if (v.outcome == MSS_OUTCOME_ACCEPT && v.reason != NULL)
		mss_warning("%s: %s", m->queue_id[0] != '\0' ? m->queue_id : "NOQUEUE", v.reason);
	return finish(ctx, m, &v);
}

static sfsistat mm_abort(SMFICTX *ctx)
{
	struct mm_ctx *m = mm_getpriv(ctx);

	if (m != NULL)
		finish_aborted(m);
	return SMFIS_CONTINUE;
}

static sfsistat mm_close(SMFICTX *ctx)
{
	struct mm_ctx *m = mm_getpriv(ctx);

	if (m == NULL)
		return SMFIS_CONTINUE;
	finish_aborted(m);
	txn_reset(m);
	free(m->rcpts);
	free(m);
	(void)mm_setpriv(ctx, NULL);
	return SMFIS_CONTINUE;
}

struct smfiDesc mm_filter = {
	.xxfi_name = (char *)"mss-milter",
	.xxfi_version = SMFI_VERSION,
	.xxfi_flags = 0, /* the milter never changes a message */
	.xxfi_envfrom = mm_envfrom,
	.xxfi_envrcpt = mm_envrcpt,
	.xxfi_header = mm_header,
	.xxfi_eom = mm_eom,
	.xxfi_abort = mm_abort,
	.xxfi_close = mm_close,
	.xxfi_negotiate = mm_negotiate,
};
