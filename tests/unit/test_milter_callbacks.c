/* Unit tests of the milter callbacks (milter/callbacks.c, state.c, verdict.c) against a fake
   libmilter context: this file provides the mm_* functions milter/smfi.c gives the real
   binary. The configuration, the snapshot (milter_world.h) and the audit trail are real
   files in a temporary directory. Every error path asserts the verdict it answers.
   Allocation failures are injected through -Wl,--wrap=calloc,--wrap=realloc (milter.mk). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <json-c/json.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "log.h"
#include "milter.h"
#include "milter_world.h"

/* ---- allocation failures on demand ---- */
void *__real_calloc(size_t n, size_t size);
void *__real_realloc(void *p, size_t size);
void *__wrap_calloc(size_t n, size_t size);
void *__wrap_realloc(void *p, size_t size);
static int fail_allocs; /* the next N wrapped allocations fail */

void *__wrap_calloc(size_t n, size_t size)
{
	if (fail_allocs > 0) {
		fail_allocs--;
		return NULL;
	}
	return __real_calloc(n, size);
}

void *__wrap_realloc(void *p, size_t size)
{
	if (fail_allocs > 0) {
		fail_allocs--;
		return NULL;
	}
	return __real_realloc(p, size);
}

/* ---- the fake libmilter context ---- */
#define MAX_MACROS 16
struct smfi_str {
	const char *names[MAX_MACROS], *values[MAX_MACROS];
	size_t n_macros;
	void *priv;
	char rcode[8], xcode[16], text[800];
	int replies;
	char symlist[4][256];
	bool setpriv_fails;
};

void *mm_getpriv(SMFICTX *ctx)
{
	return ctx->priv;
}

int mm_setpriv(SMFICTX *ctx, void *priv)
{
	if (ctx->setpriv_fails && priv != NULL)
		return -1;
	ctx->priv = priv;
	return 0;
}

const char *mm_getsymval(SMFICTX *ctx, const char *name)
{
	for (size_t i = 0; i < ctx->n_macros; i++) {
		if (strcmp(ctx->names[i], name) == 0)
			return ctx->values[i][0] != '\0' ? ctx->values[i] : NULL;
	}
	return NULL;
}

int mm_setreply(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text)
{
	snprintf(ctx->rcode, sizeof(ctx->rcode), "%s", rcode);
	snprintf(ctx->xcode, sizeof(ctx->xcode), "%s", xcode);
	snprintf(ctx->text, sizeof(ctx->text), "%s", text);
	ctx->replies++;
	return 0;
}

int mm_setsymlist(SMFICTX *ctx, int stage, const char *macros)
{
	if (stage < SMFIM_CONNECT || stage > SMFIM_EOH)
		return -1;
	snprintf(ctx->symlist[stage == SMFIM_ENVFROM ? 0 : stage == SMFIM_EOM ? 1 : 2], 256, "%s", macros);
	return 0;
}

static void macro(SMFICTX *ctx, const char *name, const char *value)
{
	for (size_t i = 0; i < ctx->n_macros; i++) {
		if (strcmp(ctx->names[i], name) == 0) {
			ctx->values[i] = value;
			return;
		}
	}
	assert_true(ctx->n_macros < MAX_MACROS);
	ctx->names[ctx->n_macros] = name;
	ctx->values[ctx->n_macros++] = value;
}

static void clear_reply(SMFICTX *ctx)
{
	ctx->rcode[0] = ctx->xcode[0] = ctx->text[0] = '\0';
	ctx->replies = 0;
}

/* ---- the world on disk ---- */
static char dir[] = "/tmp/mss-test-milter-XXXXXX";
static char conf_path[160], snap_path[160], audit_dir[160], audit_log[200];

static void write_conf(const char *extra)
{
	FILE *f = fopen(conf_path, "w");

	assert_non_null(f);
	fprintf(f, "[directory]\nsnapshot = %s\nsnapshot_owner_check = no\n[audit]\ndirectory = %s\nsync = none\n%s\n",
		snap_path, audit_dir, extra != NULL ? extra : "");
	fclose(f);
}

/* Loads CONF_EXTRA as the milter's configuration and opens the snapshot and the trail. */
static void start(const char *extra)
{
	char err[512];

	write_conf(extra);
	if (mm_state_load(conf_path, err, sizeof(err)) < 0)
		fail_msg("%s", err);
	mm_state_open();
}

static int setup(void **state)
{
	(void)state;
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(conf_path, sizeof(conf_path), "%s/mssante.conf", dir);
	snprintf(snap_path, sizeof(snap_path), "%s/snapshot.cdb", dir);
	snprintf(audit_dir, sizeof(audit_dir), "%s/audit", dir);
	snprintf(audit_log, sizeof(audit_log), "%s/milter.log", audit_dir);
	mss_log_init("test_milter", 0);
	return mkdir(audit_dir, 0700);
}

static int teardown(void **state)
{
	char cmd[256];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each test starts from a fresh world, empty trail, default configuration. */
static int before(void **state)
{
	(void)state;
	world_write(snap_path, time(NULL) - 60);
	unlink(audit_log);
	start(NULL);
	return 0;
}

static int after(void **state)
{
	(void)state;
	mm_state_free();
	return 0;
}

/* ---- audit records ---- */

static int count_records(void)
{
	FILE *f = fopen(audit_log, "r");
	char line[8192];
	int n = 0;

	if (f == NULL)
		return 0;
	while (fgets(line, sizeof(line), f) != NULL)
		n++;
	fclose(f);
	return n;
}

/* The Nth record (1-based; 0: the last one), parsed. */
static json_object *record(int nth)
{
	FILE *f = fopen(audit_log, "r");
	char line[8192], want[8192] = "";
	int n = 0;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) != NULL) {
		n++;
		if (nth == 0 || n == nth)
			memcpy(want, line, sizeof(line));
	}
	fclose(f);
	assert_true(want[0] != '\0');
	return json_tokener_parse(want);
}

static const char *field(json_object *o, const char *path)
{
	char buf[128], *p, *save = NULL;
	json_object *cur = o;

	snprintf(buf, sizeof(buf), "%s", path);
	for (p = strtok_r(buf, ".", &save); p != NULL; p = strtok_r(NULL, ".", &save)) {
		if (json_object_is_type(cur, json_type_array))
			cur = json_object_array_get_idx(cur, (size_t)atoi(p));
		else if (!json_object_object_get_ex(cur, p, &cur))
			return NULL;
		if (cur == NULL)
			return NULL;
	}
	return json_object_get_string(cur);
}

#define assert_field(o, path, want)                                                \
	do {                                                                       \
		const char *got_ = field((o), (path));                             \
		if (got_ == NULL || strcmp(got_, (want)) != 0)                     \
			fail_msg("%s: got '%s', want '%s'", (path), got_ ? got_ : "(none)", (want)); \
	} while (0)

/* ---- protocol helpers ---- */

static const unsigned long ALL_ACTS = SMFIF_ADDHDRS | SMFIF_CHGHDRS | SMFIF_SETSYMLIST | SMFIF_QUARANTINE;
static const unsigned long ALL_STEPS = 0x1fffff;

/* Most cases check what each verdict answers, so their MTA waits for the reply to MAIL FROM
   and gets it there. Postfix through libmilter does not (SMFIP_NR_MAIL): the same verdicts
   then answer each recipient, which test_sender_refused_at_rcpt checks. */
static void negotiate_steps(SMFICTX *ctx, unsigned long steps)
{
	unsigned long p0, p1, p2, p3;

	assert_int_equal(mm_filter.xxfi_negotiate(ctx, ALL_ACTS, steps, 0, 0, &p0, &p1, &p2, &p3), SMFIS_CONTINUE);
	assert_int_equal((p1 & SMFIP_NR_MAIL) != 0, (steps & SMFIP_NR_MAIL) != 0);
}

static void negotiate(SMFICTX *ctx)
{
	negotiate_steps(ctx, ALL_STEPS & ~SMFIP_NR_MAIL);
}

/* An inbound connection from a listed operator, negotiated with STEPS. */
static void inbound_steps(SMFICTX *ctx, unsigned long steps)
{
	memset(ctx, 0, sizeof(*ctx));
	negotiate_steps(ctx, steps);
	macro(ctx, "{daemon_name}", "mss-inbound");
	macro(ctx, "{client_addr}", "192.0.2.7");
	macro(ctx, "{client_name}", "mss.ch-valmont.fr");
	macro(ctx, "{tls_version}", "TLSv1.3");
	macro(ctx, "{cipher}", "TLS_AES_256_GCM_SHA384");
	macro(ctx, "{cert_subject}", "mss.ch-valmont.fr");
	macro(ctx, "{cert_issuer}", "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS");
}

static void inbound(SMFICTX *ctx)
{
	inbound_steps(ctx, ALL_STEPS & ~SMFIP_NR_MAIL);
}

static void submission(SMFICTX *ctx, const char *login)
{
	memset(ctx, 0, sizeof(*ctx));
	negotiate(ctx);
	macro(ctx, "{daemon_name}", "mss-submission");
	macro(ctx, "{client_addr}", "10.0.0.5");
	if (login != NULL)
		macro(ctx, "{auth_authen}", login);
}

static sfsistat mail(SMFICTX *ctx, const char *from)
{
	char *argv[] = {(char *)from, NULL};

	clear_reply(ctx);
	return mm_filter.xxfi_envfrom(ctx, argv);
}

static sfsistat mail_args(SMFICTX *ctx, const char *from, const char *arg)
{
	char *argv[] = {(char *)from, (char *)arg, NULL};

	clear_reply(ctx);
	return mm_filter.xxfi_envfrom(ctx, argv);
}

static sfsistat rcpt(SMFICTX *ctx, const char *to)
{
	char *argv[] = {(char *)to, NULL};

	clear_reply(ctx);
	return mm_filter.xxfi_envrcpt(ctx, argv);
}

static sfsistat header(SMFICTX *ctx, const char *name, const char *value)
{
	return mm_filter.xxfi_header(ctx, (char *)name, (char *)value);
}

static sfsistat eom(SMFICTX *ctx, const char *queue_id)
{
	macro(ctx, "i", queue_id);
	clear_reply(ctx);
	return mm_filter.xxfi_eom(ctx);
}

static void close_conn(SMFICTX *ctx)
{
	assert_int_equal(mm_filter.xxfi_close(ctx), SMFIS_CONTINUE);
	assert_null(ctx->priv);
}

#define assert_reply(ctx, code, x)                      \
	do {                                            \
		assert_string_equal((ctx)->rcode, code); \
		assert_string_equal((ctx)->xcode, x);    \
	} while (0)

/* ---- negotiation ---- */

static void test_negotiation(void **state)
{
	SMFICTX ctx;
	unsigned long p0, p1, p2, p3;

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(mm_filter.xxfi_negotiate(&ctx, ALL_ACTS, ALL_STEPS, 0, 0, &p0, &p1, &p2, &p3), SMFIS_CONTINUE);
	assert_int_equal(p0, SMFIF_SETSYMLIST); /* no right to change messages */
	assert_true(p1 & SMFIP_NOCONNECT);
	assert_true(p1 & SMFIP_NOHELO);
	assert_true(p1 & SMFIP_NOBODY);
	assert_true(p1 & SMFIP_NOEOH);
	assert_true(p1 & SMFIP_NODATA);
	assert_true(p1 & SMFIP_NOUNKNOWN);
	assert_true(p1 & SMFIP_NR_HDR);
	assert_true(p1 & SMFIP_NR_MAIL);
	assert_false(p1 & SMFIP_NR_RCPT); /* each recipient is answered */
	assert_false(p1 & SMFIP_NORCPT);
	assert_false(p1 & SMFIP_NOMAIL);
	assert_false(p1 & SMFIP_NOHDRS);
	assert_int_equal(p2, 0);
	assert_int_equal(p3, 0);
	assert_string_equal(ctx.symlist[0], mm_macros_envfrom);
	assert_non_null(strstr(ctx.symlist[0], "{daemon_name}"));
	assert_non_null(strstr(ctx.symlist[0], "{cert_issuer}"));
	assert_non_null(strstr(ctx.symlist[0], "{auth_authen}"));
	assert_string_equal(ctx.symlist[1], "i");
	/* Headers get no reply once NR_HDR is agreed. */
	assert_int_equal(header(&ctx, "Subject", "x"), SMFIS_NOREPLY);
	close_conn(&ctx);

	/* An MTA without setsymlist: connect and HELO stay, so their default macros arrive. */
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(mm_filter.xxfi_negotiate(&ctx, SMFIF_ADDHDRS, SMFIP_NOBODY | SMFIP_NOCONNECT, 0, 0, &p0, &p1,
						  &p2, &p3),
			 SMFIS_CONTINUE);
	assert_int_equal(p0, 0);
	assert_int_equal(p1, SMFIP_NOBODY); /* only what was offered, and not NOCONNECT */
	assert_string_equal(ctx.symlist[0], "");
	assert_int_equal(header(&ctx, "Subject", "x"), SMFIS_CONTINUE);
	close_conn(&ctx);
}

/* ---- inbound ---- */

static void test_inbound_accepted_with_record(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	inbound(&ctx);
	assert_int_equal(mail_args(&ctx, "<dr.x@ch-valmont.mssante.fr>", "SIZE=1234"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<nobody@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.1.1");
	assert_string_equal(ctx.text, "<nobody@hopital-test.mssante.fr>: no such BAL here");
	assert_int_equal(rcpt(&ctx, "<ancien-service@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.2.1");
	assert_int_equal(header(&ctx, "X-MSS-NIL", "DEV935997"), SMFIS_NOREPLY);
	assert_int_equal(header(&ctx, "X-MSS-INS", "O"), SMFIS_NOREPLY);
	assert_int_equal(header(&ctx, "X-MSS-CODECDA", "34112-3"), SMFIS_NOREPLY);
	assert_int_equal(header(&ctx, "Message-ID", "<m1@ch-valmont.mssante.fr>"), SMFIS_NOREPLY);
	assert_int_equal(header(&ctx, "Subject", "secret medical subject"), SMFIS_NOREPLY);
	assert_int_equal(count_records(), 0); /* nothing before the end of the transaction */
	assert_int_equal(eom(&ctx, "4ABCDEF"), SMFIS_CONTINUE);
	assert_int_equal(ctx.replies, 0);
	assert_int_equal(count_records(), 1);
	r = record(1);
	assert_field(r, "component", "milter");
	assert_field(r, "event", "message");
	assert_field(r, "decision", "accept");
	assert_field(r, "queue_id", "4ABCDEF");
	assert_field(r, "service", "inbound");
	assert_field(r, "client", "mss.ch-valmont.fr[192.0.2.7]");
	assert_field(r, "tls.version", "TLSv1.3");
	assert_field(r, "tls.peer_cn", "mss.ch-valmont.fr");
	assert_field(r, "tls.issuer_cn", "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS");
	assert_field(r, "from", "dr.x@ch-valmont.mssante.fr");
	assert_field(r, "bal", "jean.martin@hopital-test.mssante.fr");
	assert_field(r, "rcpt.0.addr", "jean.martin@hopital-test.mssante.fr");
	assert_field(r, "rcpt.0.decision", "accept");
	assert_field(r, "rcpt.1.decision", "reject");
	assert_field(r, "rcpt.1.reason", "unknown_bal");
	assert_field(r, "rcpt.2.reason", "suspended_bal");
	assert_field(r, "mss.nil", "DEV935997");
	assert_field(r, "mss.ins", "O");
	assert_field(r, "mss.codecda", "34112-3");
	assert_field(r, "message_id", "<m1@ch-valmont.mssante.fr>");
	assert_field(r, "size", "1234");
	assert_null(strstr(json_object_to_json_string(r), "secret"));
	json_object_put(r);

	/* The next transaction on the same connection starts clean. */
	assert_int_equal(mail(&ctx, "<dr.y@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<cardiologie@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(eom(&ctx, "4ABCDF0"), SMFIS_CONTINUE);
	r = record(2);
	assert_field(r, "from", "dr.y@ch-valmont.mssante.fr");
	assert_field(r, "reason", "nil_missing"); /* require_nil = warn */
	assert_field(r, "decision", "accept");
	assert_null(field(r, "rcpt.1"));
	assert_null(field(r, "mss"));
	assert_null(field(r, "size"));
	json_object_put(r);
	close_conn(&ctx);
	assert_int_equal(count_records(), 2);
}

static void test_inbound_sender_refusals(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	inbound(&ctx);
	macro(&ctx, "{tls_version}", "");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.10");
	r = record(0);
	assert_field(r, "decision", "reject");
	assert_field(r, "reason", "no_tls");
	assert_null(field(r, "queue_id"));
	json_object_put(r);
	close_conn(&ctx);

	inbound(&ctx);
	macro(&ctx, "{cert_subject}", "");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	close_conn(&ctx);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<x@gmail.com>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	assert_string_equal(ctx.text, "<x@gmail.com>: domain not in the MSSante trust space");
	close_conn(&ctx);
	inbound(&ctx);
	macro(&ctx, "{cert_subject}", "mail.hopital-test.fr");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_REJECT);
	r = record(0);
	assert_field(r, "reason", "cn_not_listed");
	json_object_put(r);
	close_conn(&ctx);
	assert_int_equal(count_records(), 4);
}

static void test_header_refusals_at_eom(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	submission(&ctx, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	header(&ctx, "X-MSS-NIL", "x");
	header(&ctx, "X-MSS-MES", "FIN");
	assert_int_equal(eom(&ctx, "4Q1"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	assert_non_null(strstr(ctx.text, "X-MSS-MES"));
	r = record(0);
	assert_field(r, "decision", "reject");
	assert_field(r, "reason", "mes_not_patient");
	assert_field(r, "queue_id", "4Q1");
	json_object_put(r);

	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	header(&ctx, "X-MSS-NIL", "x");
	header(&ctx, "X-MSS-INS", "maybe");
	assert_int_equal(eom(&ctx, "4Q2"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.6.0");
	close_conn(&ctx);

	/* require_nil = reject */
	mm_state_free();
	start("[milter]\nrequire_nil = reject");
	submission(&ctx, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(eom(&ctx, "4Q3"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	close_conn(&ctx);
}

/* ---- submission ---- */

static void test_submission(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	submission(&ctx, NULL);
	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "530", "5.7.0");
	close_conn(&ctx);

	submission(&ctx, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&ctx, "<urgences@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	r = record(0);
	assert_field(r, "reason", "not_delegate");
	assert_field(r, "auth_user", "jean.martin@hopital-test.mssante.fr");
	assert_field(r, "actor", W_JMARTIN);
	json_object_put(r);

	/* Mixed recipients: the off-list one refused alone. */
	assert_int_equal(mail(&ctx, "<cardiologie@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<friend@gmail.com>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	assert_string_equal(ctx.text, "<friend@gmail.com>: domain not in the MSSante trust space");
	assert_int_equal(rcpt(&ctx, "<sophie.durand@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	header(&ctx, "X-MSS-NIL", "LOGICIEL 1.0");
	assert_int_equal(eom(&ctx, "5A"), SMFIS_CONTINUE);
	r = record(0);
	assert_field(r, "service", "submission");
	assert_field(r, "decision", "accept");
	assert_field(r, "bal", "cardiologie@hopital-test.mssante.fr");
	assert_field(r, "bal_type", "ORG");
	assert_field(r, "actor", W_JMARTIN);
	assert_field(r, "rcpt.1.addr", "friend@gmail.com");
	assert_field(r, "rcpt.1.reason", "domain_not_trusted");
	assert_field(r, "rcpt.2.decision", "accept");
	json_object_put(r);
	close_conn(&ctx);
	assert_int_equal(count_records(), 3);
}

/* ---- Postfix's way: no reply to MAIL FROM, its verdict answers each recipient ---- */

/* Postfix's way: MAIL FROM gets no reply. */
static void inbound_nr_mail(SMFICTX *ctx)
{
	inbound_steps(ctx, ALL_STEPS);
}

static void test_sender_refused_at_rcpt(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	/* Accepted: no reply at MAIL FROM, the recipients and the message as usual. */
	inbound_nr_mail(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_NOREPLY);
	assert_int_equal(ctx.replies, 0);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<nobody@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.1.1");
	assert_int_equal(eom(&ctx, "4NR0001"), SMFIS_CONTINUE);
	assert_int_equal(count_records(), 1);
	r = record(0);
	assert_field(r, "decision", "accept");
	json_object_put(r);

	/* Sender refused: nothing at MAIL FROM, the same refusal at each recipient, one record
	   (written with the first, the same as an answer at MAIL FROM would have written). */
	macro(&ctx, "{cert_subject}", "mail.hopital-test.fr");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_NOREPLY);
	assert_int_equal(ctx.replies, 0);
	assert_int_equal(count_records(), 1);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	assert_int_equal(count_records(), 2);
	assert_int_equal(rcpt(&ctx, "<cardiologie@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	r = record(0);
	assert_field(r, "decision", "reject");
	assert_field(r, "reason", "cn_not_listed");
	assert_field(r, "from", "dr.x@ch-valmont.mssante.fr");
	assert_null(field(r, "rcpt"));
	json_object_put(r);
	/* Postfix never sends the message after that, but if it came it is refused, unrecorded twice. */
	assert_int_equal(eom(&ctx, "4NR0002"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	assert_int_equal(mm_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
	assert_int_equal(count_records(), 2);

	/* Refused, then the client gives up before any recipient: recorded when it ends. */
	assert_int_equal(mail(&ctx, "<x@gmail.com>"), SMFIS_NOREPLY);
	assert_int_equal(count_records(), 2);
	assert_int_equal(mm_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
	assert_int_equal(count_records(), 3);
	r = record(0);
	assert_field(r, "reason", "domain_not_trusted");
	json_object_put(r);
	/* ... and the same when the next MAIL FROM or the end of the connection ends it. */
	assert_int_equal(mail(&ctx, "<x@gmail.com>"), SMFIS_NOREPLY);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_NOREPLY);
	assert_int_equal(count_records(), 4);
	macro(&ctx, "{tls_version}", "");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_NOREPLY);
	assert_int_equal(count_records(), 5); /* the accepted MAIL FROM before it, aborted */
	close_conn(&ctx);
	assert_int_equal(count_records(), 6);
	r = record(0);
	assert_field(r, "reason", "no_tls");
	json_object_put(r);
	assert_int_equal(mm_state_txns(), 0);

	/* An internal error is held the same way: 451 at each recipient, and a record saying why. */
	mm_state_free();
	unlink(snap_path);
	start(NULL);
	inbound_nr_mail(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_NOREPLY);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	assert_int_equal(rcpt(&ctx, "<cardiologie@hopital-test.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	r = record(0);
	assert_field(r, "decision", "tempfail");
	assert_non_null(strstr(field(r, "reason"), "no_snapshot"));
	json_object_put(r);
	close_conn(&ctx);
	assert_int_equal(count_records(), 7);
}

/* ---- transactions that end without our verdict ---- */

static void test_abort_and_close(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(mm_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
	assert_int_equal(count_records(), 1);
	r = record(0);
	assert_field(r, "decision", "abort");
	json_object_put(r);
	/* A second abort writes nothing more. */
	assert_int_equal(mm_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
	assert_int_equal(count_records(), 1);

	/* Every recipient refused, then RSET: a refusal. */
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<nobody@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_int_equal(mm_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
	r = record(0);
	assert_field(r, "decision", "reject");
	assert_field(r, "rcpt.0.reason", "unknown_bal");
	json_object_put(r);

	/* A new MAIL FROM without RSET ends the previous transaction first. */
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(mail(&ctx, "<dr.y@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(count_records(), 3);
	r = record(0);
	assert_field(r, "from", "dr.x@ch-valmont.mssante.fr");
	assert_field(r, "decision", "abort");
	json_object_put(r);

	/* The connection closes in the middle: one record, everything freed. */
	close_conn(&ctx);
	assert_int_equal(count_records(), 4);
	r = record(0);
	assert_field(r, "from", "dr.y@ch-valmont.mssante.fr");
	json_object_put(r);
	assert_int_equal(mm_state_txns(), 0);
	/* Close without anything. */
	memset(&ctx, 0, sizeof(ctx));
	assert_int_equal(mm_filter.xxfi_close(&ctx), SMFIS_CONTINUE);
}

/* ---- error paths: each one answers the table's verdict, never accept ---- */

static void test_no_snapshot(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	mm_state_free();
	unlink(snap_path);
	start(NULL);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	r = record(0);
	assert_field(r, "decision", "tempfail");
	assert_non_null(strstr(field(r, "reason"), "no_snapshot"));
	assert_non_null(strstr(field(r, "reason"), "snapshot.cdb"));
	json_object_put(r);
	close_conn(&ctx);

	mm_state_free();
	start("[milter]\non_internal_error = reject");
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.3.0");
	r = record(0);
	assert_field(r, "decision", "reject");
	json_object_put(r);
	close_conn(&ctx);

	/* The snapshot appears (first sync): picked up without a restart, within a second. */
	world_write(snap_path, time(NULL) - 60);
	sleep(1);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);
}

static void test_stale_snapshot(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	mm_state_free();
	world_write(snap_path, time(NULL) - 3 * 86400);
	start(NULL);
	submission(&ctx, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	r = record(0);
	assert_field(r, "decision", "tempfail");
	assert_non_null(strstr(field(r, "reason"), "stale_snapshot"));
	json_object_put(r);
	close_conn(&ctx);

	mm_state_free();
	start("[milter]\non_stale_snapshot = reject");
	submission(&ctx, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.3.0");
	close_conn(&ctx);
	/* The two settings are independent. */
	mm_state_free();
	start("[milter]\non_internal_error = reject");
	submission(&ctx, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_TEMPFAIL);
	close_conn(&ctx);
}

static void test_unknown_listener(void **state)
{
	SMFICTX ctx;
	json_object *r;

	(void)state;
	inbound(&ctx);
	macro(&ctx, "{daemon_name}", "smtpd");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	r = record(0);
	assert_non_null(strstr(field(r, "reason"), "unknown_listener"));
	json_object_put(r);
	/* No {daemon_name} at all (an MTA without setsymlist support, misconfigured). */
	macro(&ctx, "{daemon_name}", "");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	close_conn(&ctx);
}

static void test_audit_unavailable(void **state)
{
	SMFICTX ctx;
	char moved[220];

	(void)state;
	/* The trail cannot be opened: 451 before anything is accepted. */
	mm_state_free();
	snprintf(moved, sizeof(moved), "%s.away", audit_dir);
	assert_int_equal(rename(audit_dir, moved), 0);
	start(NULL);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	/* A refusal that cannot be recorded is not given either: 451 too. */
	macro(&ctx, "{tls_version}", "");
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	close_conn(&ctx);
	assert_int_equal(rename(moved, audit_dir), 0);
	/* Repaired: the trail is reopened (at most once a second) without a restart. */
	sleep(1);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);
}

static void test_audit_write_fails_at_eom(void **state)
{
	SMFICTX ctx;
	struct rlimit old, lim;
	struct stat st;

	(void)state;
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	header(&ctx, "X-MSS-NIL", "x");
	/* Writes past the current size fail with EFBIG (SIGXFSZ ignored). */
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	if (stat(audit_log, &st) < 0)
		st.st_size = 0;
	lim = old;
	lim.rlim_cur = (rlim_t)st.st_size;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	assert_int_equal(eom(&ctx, "4FULL"), SMFIS_TEMPFAIL);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	assert_reply(&ctx, "451", "4.3.0");
	assert_int_equal(count_records(), 0);
	close_conn(&ctx);
}

static void test_protocol_surprises(void **state)
{
	SMFICTX ctx;

	(void)state;
	inbound(&ctx);
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	assert_int_equal(eom(&ctx, "X"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	/* Every recipient refused yet end of message arrives: never accepted. */
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(rcpt(&ctx, "<nobody@hopital-test.mssante.fr>"), SMFIS_REJECT);
	assert_int_equal(eom(&ctx, "Y"), SMFIS_TEMPFAIL);
	close_conn(&ctx);
	/* No context at all (libmilter never called negotiate). */
	memset(&ctx, 0, sizeof(ctx));
	clear_reply(&ctx);
	assert_int_equal(mm_filter.xxfi_envrcpt(&ctx, (char *[]){(char *)"<a@b.fr>", NULL}), SMFIS_TEMPFAIL);
	assert_int_equal(mm_filter.xxfi_eom(&ctx), SMFIS_TEMPFAIL);
	assert_int_equal(mm_filter.xxfi_abort(&ctx), SMFIS_CONTINUE);
	assert_int_equal(header(&ctx, "X-MSS-NIL", "x"), SMFIS_CONTINUE);
	close_conn(&ctx);
}

static void test_out_of_memory(void **state)
{
	SMFICTX ctx;

	(void)state;
	/* No per-connection state can be made: 451. */
	memset(&ctx, 0, sizeof(ctx));
	fail_allocs = 1;
	{
		unsigned long p0, p1, p2, p3;

		assert_int_equal(mm_filter.xxfi_negotiate(&ctx, ALL_ACTS, ALL_STEPS, 0, 0, &p0, &p1, &p2, &p3),
				 SMFIS_CONTINUE);
	}
	assert_null(ctx.priv);
	macro(&ctx, "{daemon_name}", "mss-inbound");
	fail_allocs = 1;
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	fail_allocs = 0;
	/* setpriv refused by libmilter: same. */
	ctx.setpriv_fails = true;
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	ctx.setpriv_fails = false;
	close_conn(&ctx);

	/* No room for one more recipient: that recipient gets 451, the others go on. */
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	fail_allocs = 1;
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	assert_int_equal(rcpt(&ctx, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);
}

static void test_stopping(void **state)
{
	SMFICTX open_txn, ctx;
	json_object *r;

	(void)state;
	submission(&open_txn, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&open_txn, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	assert_int_equal(mm_state_txns(), 1);
	mm_state_stop();
	/* New transactions: 451, recorded. */
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	r = record(0);
	assert_non_null(strstr(field(r, "reason"), "shutting_down"));
	json_object_put(r);
	close_conn(&ctx);
	/* The one in progress finishes normally. */
	assert_int_equal(rcpt(&open_txn, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	header(&open_txn, "X-MSS-NIL", "x");
	assert_int_equal(eom(&open_txn, "S1"), SMFIS_CONTINUE);
	assert_int_equal(mm_state_txns(), 0);
	close_conn(&open_txn);
}

static void test_verdict_table(void **state)
{
	SMFICTX ctx;
	struct mss_verdict v;
	struct mm_conf c = {.on_internal_error = MM_ON_TEMPFAIL, .on_stale_snapshot = MM_ON_TEMPFAIL};

	(void)state;
	memset(&ctx, 0, sizeof(ctx));
	mss_verdict_accept(&v, NULL);
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_CONTINUE);
	assert_int_equal(ctx.replies, 0);
	assert_string_equal(mm_decision(&c, &v), "accept");
	mss_verdict_accept(&v, "nil_missing");
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_CONTINUE);

	mss_verdict_reject(&v, "550", "5.7.1", "x", "no %s", "way");
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.7.1");
	assert_string_equal(ctx.text, "no way");
	assert_string_equal(mm_decision(&c, &v), "reject");
	mss_verdict_reject(&v, "450", "4.7.1", "x", "later");
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_TEMPFAIL);

	mss_verdict_internal(&v, "x", "broken");
	clear_reply(&ctx);
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");
	assert_null(strstr(ctx.text, "broken")); /* the detail goes to the log and the trail only */
	assert_string_equal(mm_decision(&c, &v), "tempfail");
	c.on_internal_error = MM_ON_REJECT;
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.3.0");
	assert_string_equal(mm_decision(&c, &v), "reject");
	/* No configuration at all: the safe default. */
	assert_int_equal(mm_verdict(&ctx, NULL, &v), SMFIS_TEMPFAIL);
	assert_reply(&ctx, "451", "4.3.0");

	v.outcome = MSS_OUTCOME_STALE;
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_TEMPFAIL); /* on_stale_snapshot still tempfail */
	assert_reply(&ctx, "451", "4.3.0");
	c.on_stale_snapshot = MM_ON_REJECT;
	assert_int_equal(mm_verdict(&ctx, &c, &v), SMFIS_REJECT);
	assert_reply(&ctx, "550", "5.3.0");
	/* An outcome nobody knows: never accepted. */
	v.outcome = (enum mss_outcome)42;
	assert_int_equal(mm_verdict(&ctx, NULL, &v), SMFIS_TEMPFAIL);
}

/* ---- reload ---- */

static void test_reload(void **state)
{
	SMFICTX ctx, pinned;
	char err[512];

	(void)state;
	/* A transaction in progress keeps what it started with across the reload. */
	submission(&pinned, "jean.martin@hopital-test.mssante.fr");
	assert_int_equal(mail(&pinned, "<jean.martin@hopital-test.mssante.fr>"), SMFIS_CONTINUE);

	write_conf("[milter]\nrequire_nil = sometimes");
	assert_int_equal(mm_state_reload(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "require_nil"));
	assert_non_null(strstr(err, ":8:")); /* FILE:LINE */
	/* The old configuration is still in force. */
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);

	/* A valid one: mss-inbound is no longer a listener -> unknown_listener. */
	write_conf("[milter]\ninbound_daemons = other");
	assert_int_equal(mm_state_reload(err, sizeof(err)), 0);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	close_conn(&ctx);

	/* The pinned transaction finishes on its own configuration and snapshot. */
	assert_int_equal(rcpt(&pinned, "<sophie.durand@hopital-test.mssante.fr>"), SMFIS_CONTINUE);
	header(&pinned, "X-MSS-NIL", "x");
	assert_int_equal(eom(&pinned, "R1"), SMFIS_CONTINUE);
	close_conn(&pinned);

	/* A new snapshot replacing the old one is used without a reload. */
	write_conf(NULL);
	assert_int_equal(mm_state_reload(err, sizeof(err)), 0);
	world_write(snap_path, time(NULL) - 3 * 86400); /* stale this time */
	sleep(1);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_TEMPFAIL);
	close_conn(&ctx);

	/* A snapshot removed while running: the one in force stays. */
	world_write(snap_path, time(NULL) - 60);
	sleep(1);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);
	unlink(snap_path);
	sleep(1);
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);
	/* ... and a reload without a readable snapshot is refused, keeping it. */
	assert_int_equal(mm_state_reload(err, sizeof(err)), -1);
	assert_non_null(strstr(err, "snapshot"));
	inbound(&ctx);
	assert_int_equal(mail(&ctx, "<dr.x@ch-valmont.mssante.fr>"), SMFIS_CONTINUE);
	close_conn(&ctx);
	assert_int_equal(mm_state_txns(), 0);
}

static void test_socket_syntax(void **state)
{
	char err[256];

	(void)state;
	assert_int_equal(mm_socket_check("unix:/run/mssante/milter.sock", err, sizeof(err)), 0);
	assert_int_equal(mm_socket_check("local:/tmp/x.sock", err, sizeof(err)), 0);
	assert_int_equal(mm_socket_check("inet:8891@127.0.0.1", err, sizeof(err)), 0);
	assert_int_equal(mm_socket_check("inet6:8891@::1", err, sizeof(err)), 0);
	assert_int_equal(mm_socket_check("unix:relative.sock", err, sizeof(err)), -1);
	assert_int_equal(mm_socket_check("inet:99999@127.0.0.1", err, sizeof(err)), -1);
	assert_int_equal(mm_socket_check("inet:8891", err, sizeof(err)), -1);
	assert_int_equal(mm_socket_check("inet:@127.0.0.1", err, sizeof(err)), -1);
	assert_int_equal(mm_socket_check("tcp:1@x", err, sizeof(err)), -1);
	assert_int_equal(mm_socket_check("", err, sizeof(err)), -1);
	/* At load: FILE:LINE and the key. */
	mm_state_free();
	write_conf("[milter]\nsocket = inet:http@localhost");
	assert_int_equal(mm_state_load(conf_path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "key 'socket'"));
	assert_non_null(strstr(err, ":8:"));
	start(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_negotiation, before, after),
		cmocka_unit_test_setup_teardown(test_inbound_accepted_with_record, before, after),
		cmocka_unit_test_setup_teardown(test_inbound_sender_refusals, before, after),
		cmocka_unit_test_setup_teardown(test_header_refusals_at_eom, before, after),
		cmocka_unit_test_setup_teardown(test_submission, before, after),
		cmocka_unit_test_setup_teardown(test_sender_refused_at_rcpt, before, after),
		cmocka_unit_test_setup_teardown(test_abort_and_close, before, after),
		cmocka_unit_test_setup_teardown(test_no_snapshot, before, after),
		cmocka_unit_test_setup_teardown(test_stale_snapshot, before, after),
		cmocka_unit_test_setup_teardown(test_unknown_listener, before, after),
		cmocka_unit_test_setup_teardown(test_audit_unavailable, before, after),
		cmocka_unit_test_setup_teardown(test_audit_write_fails_at_eom, before, after),
		cmocka_unit_test_setup_teardown(test_protocol_surprises, before, after),
		cmocka_unit_test_setup_teardown(test_out_of_memory, before, after),
		cmocka_unit_test_setup_teardown(test_stopping, before, after),
		cmocka_unit_test_setup_teardown(test_verdict_table, before, after),
		cmocka_unit_test_setup_teardown(test_reload, before, after),
		cmocka_unit_test_setup_teardown(test_socket_syntax, before, after),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
