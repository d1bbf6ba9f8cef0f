/* Unit tests of common/policy.c: the trust-space rules over a real snapshot of the test
   world (milter_world.h), and common/tlspolicy.c (the outbound TLS table). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "milter_world.h"
#include "policy.h"
#include "snapshot.h"
#include "tlspolicy.h"
#include "trustlist.h"

static char dir[] = "/tmp/mss-test-policy-XXXXXX";
static char snap_path[128];
static struct mss_snapshot *snap;
static struct mss_config *cfg;
static struct mss_policy pol;
static time_t now;

static int setup(void **state)
{
	char err[256];

	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(snap_path, sizeof(snap_path), "%s/snapshot.cdb", dir);
	now = time(NULL);
	world_write(snap_path, now - 60);
	if (mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	cfg = mss_config_defaults();
	if (cfg == NULL || mss_policy_init(&pol, cfg, err, sizeof(err)) < 0) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	mss_snapshot_close(snap);
	mss_config_free(cfg);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* ---- helpers ---- */

static const struct mss_session inbound_ok = {
	.daemon_name = "mss-inbound",
	.tls_version = "TLSv1.3",
	.cert_subject = "mss.ch-valmont.fr",
	.cert_issuer = "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS",
};

static struct mss_verdict sender(const struct mss_session *s, const char *from, struct mss_sender *snd)
{
	struct mss_verdict v;

	mss_policy_check_sender(&pol, snap, now, s, from, snd, &v);
	return v;
}

static struct mss_verdict submit(const char *login, const char *from, struct mss_sender *snd)
{
	struct mss_session s = {.daemon_name = "mss-submission", .auth_authen = login};

	return sender(&s, from, snd);
}

static struct mss_verdict rcpt(const struct mss_sender *snd, const char *to, char *addr)
{
	struct mss_verdict v;

	mss_policy_check_recipient(&pol, snap, snd, to, addr, MSS_ADDR_MAX + 1, &v);
	return v;
}

#define assert_reject(v, code, x, why)                          \
	do {                                                    \
		assert_int_equal((v).outcome, MSS_OUTCOME_REJECT); \
		assert_string_equal((v).rcode, code);           \
		assert_string_equal((v).xcode, x);              \
		assert_string_equal((v).reason, why);           \
	} while (0)

/* ---- settings ---- */

static void test_roles(void **state)
{
	(void)state;
	assert_int_equal(mss_policy_role(&pol, "mss-inbound"), MSS_ROLE_INBOUND);
	assert_int_equal(mss_policy_role(&pol, "MSS-INBOUND"), MSS_ROLE_INBOUND);
	assert_int_equal(mss_policy_role(&pol, "mss-submission"), MSS_ROLE_SUBMISSION);
	assert_int_equal(mss_policy_role(&pol, "ORIGINATING"), MSS_ROLE_SUBMISSION);
	assert_int_equal(mss_policy_role(&pol, "mail.example.fr"), MSS_ROLE_UNKNOWN);
	assert_int_equal(mss_policy_role(&pol, ""), MSS_ROLE_UNKNOWN);
	assert_int_equal(mss_policy_role(&pol, NULL), MSS_ROLE_UNKNOWN);
	assert_string_equal(mss_role_name(MSS_ROLE_INBOUND), "inbound");
	assert_string_equal(mss_role_name(MSS_ROLE_SUBMISSION), "submission");
	assert_string_equal(mss_role_name(MSS_ROLE_UNKNOWN), "unknown");
}

static void test_init_errors(void **state)
{
	struct mss_config *c = mss_config_defaults();
	struct mss_policy p;
	char err[256];

	(void)state;
	assert_int_equal(mss_config_set(c, "milter", "submission_daemons", "smtpd-sub, mss-inbound", err, sizeof(err)),
			 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'mss-inbound' is also in inbound_daemons"));
	assert_int_equal(mss_config_set(c, "milter", "submission_daemons", "smtpd-sub", err, sizeof(err)), 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), 0);
	assert_int_equal(mss_config_set(c, "milter", "patient_domain", "not a domain", err, sizeof(err)), 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "patient_domain"));
	assert_int_equal(mss_config_set(c, "milter", "patient_domain", "Patient.MSSante.fr.", err, sizeof(err)), 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), 0);
	assert_string_equal(p.patient_domain, "patient.mssante.fr");
	assert_int_equal(mss_config_set(c, "trust", "issuer_cns", "", err, sizeof(err)), 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "issuer_cns"));
	assert_int_equal(mss_config_set(c, "trust", "issuer_cns", "X", err, sizeof(err)), 0);
	assert_int_equal(mss_config_set(c, "milter", "inbound_daemons", "", err, sizeof(err)), 0);
	assert_int_equal(mss_config_set(c, "milter", "submission_daemons", "", err, sizeof(err)), 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), -1);
	assert_false(p.nil_reject);
	assert_int_equal(mss_config_set(c, "milter", "require_nil", "reject", err, sizeof(err)), 0);
	assert_int_equal(mss_config_set(c, "milter", "inbound_daemons", "in", err, sizeof(err)), 0);
	assert_int_equal(mss_policy_init(&p, c, err, sizeof(err)), 0);
	assert_true(p.nil_reject);
	mss_config_free(c);
}

/* ---- inbound ---- */

static void test_inbound_accepts_listed_operator(void **state)
{
	struct mss_session s = inbound_ok;
	struct mss_sender snd;
	struct mss_verdict v;

	(void)state;
	v = sender(&s, "<dr.x@ch-valmont.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_null(v.reason);
	assert_int_equal(snd.role, MSS_ROLE_INBOUND);
	assert_string_equal(snd.from, "dr.x@ch-valmont.mssante.fr");
	assert_string_equal(snd.domain, "ch-valmont.mssante.fr");
	/* The second MTA of the domain; CNs and domains compare case-insensitively. */
	s.cert_subject = "MSS2.ch-valmont.FR";
	v = sender(&s, "Dr.X@CH-Valmont.MSSante.fr", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	s.cert_issuer = "AC IGC-SANTE FORT ORGANISATIONS";
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
}

static void test_inbound_refusals(void **state)
{
	struct mss_session s = inbound_ok;
	struct mss_sender snd;
	struct mss_verdict v;

	(void)state;
	s.tls_version = NULL;
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.10", "no_tls");
	s.tls_version = "";
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.10", "no_tls");

	/* Foreign CA: Postfix does not verify the chain, so it gives no {cert_subject}. */
	s = inbound_ok;
	s.cert_subject = NULL;
	s.cert_issuer = NULL;
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "no_client_cert");

	s = inbound_ok;
	s.cert_issuer = "Foreign Test CA";
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "issuer_not_trusted");
	assert_non_null(strstr(v.text, "Foreign Test CA"));

	s = inbound_ok;
	v = sender(&s, "<someone@gmail.com>", &snd);
	assert_reject(v, "550", "5.7.1", "domain_not_trusted");
	assert_string_equal(v.text, "<someone@gmail.com>: domain not in the MSSante trust space");

	/* A listed operator, but not for this domain. */
	s.cert_subject = "mail.hopital-test.fr";
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "cn_not_listed");
	assert_non_null(strstr(v.text, "mail.hopital-test.fr"));
	assert_non_null(strstr(v.text, "ch-valmont.mssante.fr"));

	s = inbound_ok;
	v = sender(&s, "<not an address>", &snd);
	assert_reject(v, "550", "5.1.7", "bad_sender");
}

static void test_inbound_null_sender(void **state)
{
	struct mss_session s = inbound_ok;
	struct mss_sender snd;
	struct mss_verdict v;

	(void)state;
	v = sender(&s, "<>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_true(snd.null_sender);
	assert_string_equal(snd.from, "");
	/* Still needs TLS and the verified IGC-Santé chain. */
	s.cert_subject = NULL;
	v = sender(&s, "<>", &snd);
	assert_reject(v, "550", "5.7.1", "no_client_cert");
}

static void test_inbound_recipients(void **state)
{
	struct mss_sender snd;
	struct mss_verdict v;
	char addr[MSS_ADDR_MAX + 1];

	(void)state;
	v = sender(&inbound_ok, "<a@ch-valmont.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	v = rcpt(&snd, "<Jean.Martin@Hopital-Test.MSSante.fr>", addr);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(addr, "jean.martin@hopital-test.mssante.fr");
	v = rcpt(&snd, "<cardiologie@hopital-test.mssante.fr>", addr);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	v = rcpt(&snd, "<nobody@hopital-test.mssante.fr>", addr);
	assert_reject(v, "550", "5.1.1", "unknown_bal");
	assert_string_equal(v.text, "<nobody@hopital-test.mssante.fr>: no such BAL here");
	v = rcpt(&snd, "<ancien-service@hopital-test.mssante.fr>", addr);
	assert_reject(v, "550", "5.2.1", "suspended_bal");
	v = rcpt(&snd, "<claire.vasseur@hopital-test.mssante.fr>", addr);
	assert_reject(v, "550", "5.1.1", "not_local_bal");
	v = rcpt(&snd, "<x@ch-valmont.mssante.fr>", addr);
	assert_reject(v, "550", "5.1.1", "unknown_bal");
	v = rcpt(&snd, "<bad address>", addr);
	assert_reject(v, "550", "5.1.3", "bad_recipient");
	v = rcpt(&snd, NULL, addr);
	assert_reject(v, "550", "5.1.3", "bad_recipient");
}

/* ---- errors and staleness ---- */

static void test_internal_and_stale(void **state)
{
	struct mss_session s = inbound_ok;
	struct mss_sender snd;
	struct mss_verdict v;
	struct mss_snapshot *old;
	char path[160], err[256], addr[MSS_ADDR_MAX + 1];

	(void)state;
	mss_policy_check_sender(&pol, NULL, now, &s, "<a@ch-valmont.mssante.fr>", &snd, &v);
	assert_int_equal(v.outcome, MSS_OUTCOME_INTERNAL);
	assert_string_equal(v.reason, "no_snapshot");
	mss_policy_check_recipient(&pol, NULL, &snd, "<jean.martin@hopital-test.mssante.fr>", addr, sizeof(addr), &v);
	assert_int_equal(v.outcome, MSS_OUTCOME_INTERNAL);

	s.daemon_name = "smtpd";
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_INTERNAL);
	assert_string_equal(v.reason, "unknown_listener");
	assert_non_null(strstr(v.text, "'smtpd'"));
	s.daemon_name = NULL;
	v = sender(&s, "<a@ch-valmont.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_INTERNAL);
	/* A recipient of an unknown role is never accepted. */
	mss_policy_check_recipient(&pol, snap, &snd, "<jean.martin@hopital-test.mssante.fr>", addr, sizeof(addr), &v);
	assert_int_equal(v.outcome, MSS_OUTCOME_INTERNAL);

	/* Older than [directory] max_age (2 days by default). */
	snprintf(path, sizeof(path), "%s/old.cdb", dir);
	world_write(path, now - 3 * 86400);
	assert_int_equal(mss_snapshot_open(path, MSS_SNAPSHOT_ANY_OWNER, &old, err, sizeof(err)), 0);
	mss_policy_check_sender(&pol, old, now, &inbound_ok, "<a@ch-valmont.mssante.fr>", &snd, &v);
	assert_int_equal(v.outcome, MSS_OUTCOME_STALE);
	assert_string_equal(v.reason, "stale_snapshot");
	/* Staleness comes before any rule: a submission without AUTH is stale too. */
	{
		struct mss_session sub = {.daemon_name = "ORIGINATING"};

		mss_policy_check_sender(&pol, old, now, &sub, "<a@b.fr>", &snd, &v);
		assert_int_equal(v.outcome, MSS_OUTCOME_STALE);
	}
	mss_snapshot_close(old);
}

/* ---- submission ---- */

static void test_submission_identity(void **state)
{
	struct mss_sender snd;
	struct mss_verdict v;

	(void)state;
	v = submit(NULL, "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "530", "5.7.0", "no_auth");

	/* PER: its holder, logged in with the BAL address. */
	v = submit("jean.martin@hopital-test.mssante.fr", "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(snd.actor, W_JMARTIN);
	assert_string_equal(snd.bal_type, "PER");
	assert_int_equal(snd.role, MSS_ROLE_SUBMISSION);
	/* ORG: a delegate. */
	v = submit("Jean.Martin@hopital-test.mssante.fr", "<cardiologie@hopital-test.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(snd.actor, W_JMARTIN);
	assert_string_equal(snd.bal_type, "ORG");
	/* ORG: not a delegate. */
	v = submit("jean.martin@hopital-test.mssante.fr", "<urgences@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "not_delegate");
	assert_non_null(strstr(v.text, "<urgences@hopital-test.mssante.fr>"));
	/* Someone else's PER. */
	v = submit("jean.martin@hopital-test.mssante.fr", "<sophie.durand@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "not_owner");
	/* A login that is an idNat_PS (a person without a PER BAL). */
	v = submit(W_TMOREAU, "<cardiologie@hopital-test.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(snd.actor, W_TMOREAU);
	v = submit(W_TMOREAU, "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "not_owner");
	/* Suspended person, suspended BAL, BAL not hosted here, unknown BAL. */
	v = submit("alice.leroy@hopital-test.mssante.fr", "<alice.leroy@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "suspended_person");
	v = submit(W_PBERNARD, "<ancien-service@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "suspended_bal");
	v = submit(W_PBERNARD, "<claire.vasseur@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "not_local_bal");
	v = submit(W_PBERNARD, "<nobody@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "unknown_bal");
	/* An idNat_PS unknown to the directory. */
	v = submit("810999999999", "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "unknown_person");
	/* APP: sends only as itself. */
	v = submit("dpi@hopital-test.mssante.fr", "<dpi@hopital-test.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(snd.bal_type, "APP");
	assert_string_equal(snd.actor, "");
	v = submit("dpi@hopital-test.mssante.fr", "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "app_not_itself");
	v = submit("dpi@hopital-test.mssante.fr", "<>", &snd);
	assert_reject(v, "550", "5.7.1", "app_not_itself");
	/* A person may not use an APP BAL. */
	v = submit("jean.martin@hopital-test.mssante.fr", "<dpi@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "app_not_a_person");
	/* ORG logins and unknown logins. */
	v = submit("cardiologie@hopital-test.mssante.fr", "<cardiologie@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "org_login");
	v = submit("ghost@hopital-test.mssante.fr", "<cardiologie@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "unknown_login");
	v = submit("jmartin", "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_reject(v, "550", "5.7.1", "unknown_login");
	/* The null sender (MDN): the person is known and recorded. */
	v = submit("jean.martin@hopital-test.mssante.fr", "<>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_true(snd.null_sender);
	assert_string_equal(snd.actor, W_JMARTIN);
}

static void test_submission_recipients(void **state)
{
	struct mss_sender snd;
	struct mss_verdict v;
	char addr[MSS_ADDR_MAX + 1];

	(void)state;
	v = submit("jean.martin@hopital-test.mssante.fr", "<jean.martin@hopital-test.mssante.fr>", &snd);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	v = rcpt(&snd, "<sophie.durand@hopital-test.mssante.fr>", addr);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	v = rcpt(&snd, "<dr.x@CH-VALMONT.mssante.fr>", addr);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(addr, "dr.x@ch-valmont.mssante.fr");
	v = rcpt(&snd, "<123456789012345@patient.mssante.fr>", addr);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	v = rcpt(&snd, "<friend@gmail.com>", addr);
	assert_reject(v, "550", "5.7.1", "domain_not_trusted");
	assert_string_equal(v.text, "<friend@gmail.com>: domain not in the MSSante trust space");
	/* A subdomain of a listed domain is another domain. */
	v = rcpt(&snd, "<a@sub.ch-valmont.mssante.fr>", addr);
	assert_reject(v, "550", "5.7.1", "domain_not_trusted");
}

/* ---- headers ---- */

static struct mss_verdict headers(const struct mss_headers *h, const char *const *rcpts, size_t n)
{
	struct mss_verdict v;

	mss_policy_check_headers(&pol, h, rcpts, n, &v);
	return v;
}

static void test_headers(void **state)
{
	const char *pro[] = {"jean.martin@hopital-test.mssante.fr"};
	const char *patient[] = {"123@patient.mssante.fr", "456@Patient.MSSante.fr"};
	const char *mixed[] = {"123@patient.mssante.fr", "jean.martin@hopital-test.mssante.fr"};
	struct mss_headers h;
	struct mss_verdict v;

	(void)state;
	mss_headers_reset(&h);
	v = headers(&h, pro, 1);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(v.reason, "nil_missing");
	pol.nil_reject = true;
	v = headers(&h, pro, 1);
	assert_reject(v, "550", "5.7.1", "nil_missing");
	pol.nil_reject = false;

	mss_headers_add(&h, "x-mss-nil", " DEV935997\r\n\tv2 ");
	mss_headers_add(&h, "Message-ID", "<abc@host>");
	mss_headers_add(&h, "Subject", "never recorded");
	v = headers(&h, pro, 1);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_null(v.reason);
	assert_string_equal(h.nil, "DEV935997 v2");
	assert_string_equal(h.message_id, "<abc@host>");

	mss_headers_add(&h, "X-MSS-INS", "O");
	mss_headers_add(&h, "X-MSS-CODECDA", "34112-3");
	mss_headers_add(&h, "X-MSS-CODECDA", "11488-4");
	v = headers(&h, pro, 1);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	assert_string_equal(h.ins, "O");
	assert_string_equal(h.codecda, "34112-3,11488-4");
	mss_headers_add(&h, "X-MSS-INS", "N");
	v = headers(&h, pro, 1);
	assert_reject(v, "550", "5.6.0", "bad_ins");

	mss_headers_reset(&h);
	mss_headers_add(&h, "X-MSS-NIL", "x");
	mss_headers_add(&h, "X-MSS-INS", "oui");
	v = headers(&h, pro, 1);
	assert_reject(v, "550", "5.6.0", "bad_ins");

	mss_headers_reset(&h);
	mss_headers_add(&h, "X-MSS-NIL", "x");
	mss_headers_add(&h, "X-MSS-CODECDA", "34112-3 <script>");
	v = headers(&h, pro, 1);
	assert_reject(v, "550", "5.6.0", "bad_codecda");
	mss_headers_reset(&h);
	mss_headers_add(&h, "X-MSS-NIL", "x");
	mss_headers_add(&h, "X-MSS-CODECDA", "");
	v = headers(&h, pro, 1);
	assert_reject(v, "550", "5.6.0", "bad_codecda");
	/* Values too long to record are refused, not cut. */
	{
		char big[400];

		memset(big, 'A', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		mss_headers_reset(&h);
		mss_headers_add(&h, "X-MSS-NIL", "x");
		mss_headers_add(&h, "X-MSS-CODECDA", big);
		v = headers(&h, pro, 1);
		assert_reject(v, "550", "5.6.0", "bad_codecda");
	}

	mss_headers_reset(&h);
	mss_headers_add(&h, "X-MSS-NIL", "x");
	mss_headers_add(&h, "X-MSS-MES", "FIN");
	v = headers(&h, patient, 2);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
	v = headers(&h, mixed, 2);
	assert_reject(v, "550", "5.7.1", "mes_not_patient");
	assert_non_null(strstr(v.text, "jean.martin@hopital-test.mssante.fr"));
	v = headers(&h, pro, 1);
	assert_reject(v, "550", "5.7.1", "mes_not_patient");
}

static void test_header_clean(void **state)
{
	char out[16];

	(void)state;
	assert_int_equal(mss_header_clean("  a\r\n\t b  ", out, sizeof(out)), 3);
	assert_string_equal(out, "a b");
	mss_header_clean("x\001y\177z", out, sizeof(out));
	assert_string_equal(out, "x?y?z");
	/* Cut at a character boundary: "é" is two bytes. */
	mss_header_clean("abcdefghijklmn\xc3\xa9", out, sizeof(out));
	assert_string_equal(out, "abcdefghijklmn");
	mss_header_clean("", out, sizeof(out));
	assert_string_equal(out, "");
	assert_int_equal(mss_header_clean("abc", out, 0), 0);
}

static void test_codecda_syntax(void **state)
{
	(void)state;
	assert_true(mss_codecda_valid("34112-3"));
	assert_true(mss_codecda_valid("34112-3,11488-4"));
	assert_true(mss_codecda_valid("34112-3; 11488-4 CERT_DC"));
	assert_true(mss_codecda_valid("1.2.250.1.213"));
	assert_false(mss_codecda_valid(""));
	assert_false(mss_codecda_valid(" "));
	assert_false(mss_codecda_valid("34112-3,,11488-4"));
	assert_false(mss_codecda_valid("-34112"));
	assert_false(mss_codecda_valid("a/b"));
	assert_false(mss_codecda_valid("é"));
	assert_false(mss_codecda_valid("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")); /* 65 */
}

static void test_verdict_helpers(void **state)
{
	struct mss_verdict v;

	(void)state;
	mss_verdict_reject(&v, "550", "5.7.1", "why", "line\r\nbreak %d", 5);
	assert_int_equal(v.outcome, MSS_OUTCOME_REJECT);
	assert_string_equal(v.text, "line??break 5");
	mss_verdict_internal(&v, "x", "because");
	assert_int_equal(v.outcome, MSS_OUTCOME_INTERNAL);
	assert_string_equal(v.rcode, "");
	mss_verdict_accept(&v, NULL);
	assert_int_equal(v.outcome, MSS_OUTCOME_ACCEPT);
}

/* ---- outbound TLS policy table ---- */

static void test_tlspolicy(void **state)
{
	struct mss_trust_list *tl;
	char err[512], path[160], cmd[300];
	char *text;
	FILE *f;
	char line[512];
	int lines = 0;

	(void)state;
	const char *src = getenv("SRC");

	snprintf(path, sizeof(path), "%s/tests/fixtures/trust/hopital-test.xml", src != NULL ? src : ".");
	if (mss_trust_list_read(path, &tl, err, sizeof(err)) < 0)
		fail_msg("%s (set SRC to the source tree)", err);
	text = mss_tlspolicy_format(tl);
	assert_non_null(text);
	assert_non_null(strstr(text, "\nch-valmont.mssante.fr\tsecure match=mss.ch-valmont.fr:mss2.ch-valmont.fr\n"));
	assert_non_null(strstr(text, "\nght-exemple.mssante.fr\tsecure match=smtp.operateur-exemple.fr\n"));
	assert_non_null(strstr(text, "\nhopital-test.mssante.fr\tsecure match=mail.hopital-test.fr\n"));
	/* Sorted by domain. */
	assert_true(strstr(text, "ch-valmont") < strstr(text, "hopital-test.mssante.fr\t"));
	free(text);

	snprintf(path, sizeof(path), "%s/tls_policy", dir);
	/* Not an absolute path. */
	assert_int_equal(mss_tlspolicy_write(tl, "relative", err, sizeof(err)), -1);
	/* postmap may be installed; keep it away from the machine's configuration. */
	if (access("/usr/sbin/postmap", X_OK) == 0) {
		snprintf(cmd, sizeof(cmd), "%s/postfix", dir);
		mkdir(cmd, 0755);
		snprintf(line, sizeof(line), "%s/main.cf", cmd);
		f = fopen(line, "w");
		assert_non_null(f);
		fprintf(f, "compatibility_level = 3.6\n");
		fclose(f);
		setenv("MAIL_CONFIG", cmd, 1);
	}
	assert_int_equal(mss_tlspolicy_write(tl, path, err, sizeof(err)), 0);
	f = fopen(path, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (line[0] != '#')
			lines++;
	}
	fclose(f);
	assert_int_equal(lines, 4); /* four domains, ch-valmont listed twice */
	if (access("/usr/sbin/postmap", X_OK) == 0) {
		struct stat st;

		snprintf(line, sizeof(line), "%s.db", path);
		assert_int_equal(stat(line, &st), 0); /* the index postmap built */
	}
	/* In a directory that does not exist: an error, nothing written. */
	snprintf(path, sizeof(path), "%s/missing/tls_policy", dir);
	assert_int_equal(mss_tlspolicy_write(tl, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "missing"));
	mss_trust_list_free(tl);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles),
		cmocka_unit_test(test_init_errors),
		cmocka_unit_test(test_inbound_accepts_listed_operator),
		cmocka_unit_test(test_inbound_refusals),
		cmocka_unit_test(test_inbound_null_sender),
		cmocka_unit_test(test_inbound_recipients),
		cmocka_unit_test(test_internal_and_stale),
		cmocka_unit_test(test_submission_identity),
		cmocka_unit_test(test_submission_recipients),
		cmocka_unit_test(test_headers),
		cmocka_unit_test(test_header_clean),
		cmocka_unit_test(test_codecda_syntax),
		cmocka_unit_test(test_verdict_helpers),
		cmocka_unit_test(test_tlspolicy),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
