/* Unit tests of the Dovecot plugin's version-independent part (dovecot-plugin/dc-*.c):
   rights, settings and overrides, who is acting for each login form, the decision (through
   common/access.h), and the audit records it writes. No Dovecot needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../dovecot-plugin/mss-dovecot.h"
#include "audit.h"

static char dir[64];
static char snap_path[128], conf_path[128], audit_dir[128];

static void put(struct mss_snapshot_writer *w, char kind, const char *key, const char *value)
{
	char err[256];

	assert_int_equal(mss_snapshot_put(w, kind, key, strlen(key), value, strlen(value), err, sizeof(err)), 0);
}

static void put_bal(struct mss_snapshot_writer *w, const char *addr, const char *type, const char *status,
		    const char *owner, const char *delegates, const char *app)
{
	const char *f[] = {type, status, "", "L", owner, "x", delegates, app, ""};
	char err[256];

	assert_int_equal(mss_snapshot_put_fields(w, 'B', addr, f, 9, err, sizeof(err)), 0);
}

static int setup(void **state)
{
	struct mss_snapshot_writer *w;
	char err[256], built[32];
	FILE *f;

	(void)state;
	strcpy(dir, "/tmp/mss-test-dc-XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(snap_path, sizeof(snap_path), "%s/s.cdb", dir);
	snprintf(conf_path, sizeof(conf_path), "%s/mssante.conf", dir);
	snprintf(audit_dir, sizeof(audit_dir), "%s/audit", dir);
	assert_int_equal(mkdir(audit_dir, 0700), 0);

	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	snprintf(built, sizeof(built), "%lld", (long long)time(NULL));
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	put(w, 'M', "built", built);
	put_bal(w, "jean@h.fr", "PER", "A", "810003461033", "", "");
	put_bal(w, "alice@h.fr", "PER", "A", "810100000033", "", "");
	put_bal(w, "card@h.fr", "ORG", "A", "", "810003461033,810100000041", "");
	put_bal(w, "cab@h.fr", "CAB", "A", "", "810003461033", "");
	put_bal(w, "old@h.fr", "ORG", "S", "", "810003461033", "");
	put_bal(w, "dpi@h.fr", "APP", "A", "", "", "CN=dpi.h.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR");
	put(w, 'P', "810003461033", "A\tJean\tuid=j\tjean@h.fr");
	put(w, 'P', "810100000041", "A\tThomas\tuid=t\t");
	put(w, 'P', "810100000033", "S\tAlice\tuid=a\talice@h.fr");
	assert_int_equal(mss_snapshot_writer_commit(w, err, sizeof(err)), 0);

	f = fopen(conf_path, "w");
	assert_non_null(f);
	fprintf(f, "[directory]\nsnapshot = %s\nsnapshot_owner_check = no\n[audit]\ndirectory = %s\nsync = none\n"
		   "[dovecot]\norg_delegate_rights = read,flag\n",
		snap_path, audit_dir);
	fclose(f);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	mss_dc_process_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Plugin settings for the lookup callback: NULL-terminated name/value pairs. */
static const char *lookup(void *ctx, const char *name)
{
	const char *const *kv = ctx;

	for (; kv[0] != NULL; kv += 2)
		if (strcmp(kv[0], name) == 0)
			return kv[1];
	return NULL;
}

static struct mss_config *load(const char *const *extra)
{
	const char *kv[16] = {"mssante_config", conf_path};
	struct mss_config *cfg;
	char err[512];
	size_t n = 2;

	for (; extra != NULL && *extra != NULL; extra++)
		kv[n++] = *extra;
	kv[n] = NULL;
	if (mss_dc_settings_load(lookup, (void *)kv, &cfg, err, sizeof(err)) < 0)
		fail_msg("settings: %s", err);
	return cfg;
}

static void test_rights_parse(void **state)
{
	unsigned r;
	char err[128];

	(void)state;
	assert_int_equal(mss_dc_rights_parse("read, flag,EXPUNGE", &r, err, sizeof(err)), 0);
	assert_int_equal(r, MSS_DC_RIGHT_READ | MSS_DC_RIGHT_FLAG | MSS_DC_RIGHT_EXPUNGE);
	assert_int_equal(mss_dc_rights_parse("", &r, err, sizeof(err)), 0);
	assert_int_equal(r, 0);
	assert_int_equal(mss_dc_rights_parse("read,delete", &r, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown right 'delete'"));
	assert_string_equal(mss_dc_right_name(MSS_DC_RIGHT_MAILBOX), "mailbox");
}

static void test_settings_overrides(void **state)
{
	const char *bad[] = {"mssante_org_delegate_rights", "read,erase", NULL};
	const char *kv[] = {"mssante_config", conf_path, "mssante_org_delegate_rights", "read,erase", NULL};
	const char *missing[] = {"mssante_config", "/nonexistent/mssante.conf", NULL};
	const char *good[] = {"mssante_org_delegate_rights", "append", "mssante_services", "imap", NULL};
	struct mss_config *cfg;
	char err[512];

	(void)state;
	(void)bad;
	assert_int_equal(mss_dc_settings_load(lookup, (void *)kv, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "unknown right 'erase'"));
	assert_int_equal(mss_dc_settings_load(lookup, (void *)missing, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mssante_config"));
	cfg = load(good);
	assert_string_equal(mss_config_str(cfg, MSS_OPT_DOVECOT_ORG_DELEGATE_RIGHTS), "append");
	assert_true(mss_config_list_has(cfg, MSS_OPT_DOVECOT_SERVICES, "imap"));
	assert_false(mss_config_list_has(cfg, MSS_OPT_DOVECOT_SERVICES, "pop3"));
	/* The trace of actions is synced every second unless told otherwise, whatever [audit]
	   sync says of the logins. */
	assert_int_equal(mss_config_num(cfg, MSS_OPT_DOVECOT_AUDIT_SYNC), 1);
	mss_config_free(cfg);
}

static void test_audit_sync_override(void **state)
{
	const char *always[] = {"mssante_audit_sync", "always", NULL};
	const char *kv[] = {"mssante_config", conf_path, "mssante_audit_sync", "sometimes", NULL};
	struct mss_config *cfg;
	char err[512];

	(void)state;
	cfg = load(always);
	assert_int_equal(mss_config_num(cfg, MSS_OPT_DOVECOT_AUDIT_SYNC), 0);
	mss_config_free(cfg);
	assert_int_equal(mss_dc_settings_load(lookup, (void *)kv, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "mssante_audit_sync"));
}

struct expect {
	const char *user, *mech, *master, *field;
	enum mss_access decision;
	enum mss_dc_method method;
	const char *actor;
};

static void test_decide(void **state)
{
	static const struct expect cases[] = {
		/* PER: the holder with the BAL's password */
		{"Jean@H.fr", "PLAIN", NULL, NULL, MSS_ACCESS_ALLOW, MSS_DC_METHOD_PASSWORD, "810003461033"},
		/* another person through a master-user login, by address and by idNat */
		{"jean@h.fr", "PLAIN", "alice@h.fr", NULL, MSS_ACCESS_SUSPENDED_PERSON, MSS_DC_METHOD_MASTER,
		 "810100000033"},
		{"jean@h.fr", "PLAIN", "card@h.fr", NULL, MSS_ACCESS_UNKNOWN_PERSON, MSS_DC_METHOD_MASTER, ""},
		{"jean@h.fr", "PLAIN", "810100000041", NULL, MSS_ACCESS_NOT_OWNER, MSS_DC_METHOD_MASTER, "810100000041"},
		/* ORG: delegates by address or idNat; others refused; no delegate: refused */
		{"card@h.fr", "PLAIN", "jean@h.fr", NULL, MSS_ACCESS_ALLOW, MSS_DC_METHOD_MASTER, "810003461033"},
		{"card@h.fr", "LOGIN", "810100000041", NULL, MSS_ACCESS_ALLOW, MSS_DC_METHOD_MASTER, "810100000041"},
		{"card@h.fr", "PLAIN", "810100000033", NULL, MSS_ACCESS_SUSPENDED_PERSON, MSS_DC_METHOD_MASTER,
		 "810100000033"},
		{"card@h.fr", "PLAIN", NULL, NULL, MSS_ACCESS_NOT_DELEGATE, MSS_DC_METHOD_PASSWORD, ""},
		{"cab@h.fr", "PLAIN", "jean@h.fr", NULL, MSS_ACCESS_ALLOW, MSS_DC_METHOD_MASTER, "810003461033"},
		{"old@h.fr", "PLAIN", "jean@h.fr", NULL, MSS_ACCESS_SUSPENDED_BAL, MSS_DC_METHOD_MASTER, "810003461033"},
		/* the passdb names the person; with a token it is a PSC login */
		{"card@h.fr", "PLAIN", NULL, "810100000041", MSS_ACCESS_ALLOW, MSS_DC_METHOD_PASSDB, "810100000041"},
		{"card@h.fr", "XOAUTH2", NULL, "810003461033", MSS_ACCESS_ALLOW, MSS_DC_METHOD_PSC, "810003461033"},
		{"card@h.fr", "OAUTHBEARER", "810100000041", NULL, MSS_ACCESS_ALLOW, MSS_DC_METHOD_PSC, "810100000041"},
		{"card@h.fr", "PLAIN", NULL, "not-an-idnat", MSS_ACCESS_UNKNOWN_PERSON, MSS_DC_METHOD_PASSDB, ""},
		{"jean@h.fr", "PLAIN", NULL, "810003461033,1", MSS_ACCESS_UNKNOWN_PERSON, MSS_DC_METHOD_PASSDB, ""},
		/* APP: its certificate (case-insensitive CN), never a password, never another CN */
		{"dpi@h.fr", "EXTERNAL", "DPI.h.fr", NULL, MSS_ACCESS_ALLOW, MSS_DC_METHOD_CERTIFICATE, ""},
		{"dpi@h.fr", "EXTERNAL", "other.h.fr", NULL, MSS_ACCESS_WRONG_APP, MSS_DC_METHOD_CERTIFICATE, ""},
		{"dpi@h.fr", "EXTERNAL", "dpi.h.fr,O=CH TEST", NULL, MSS_ACCESS_WRONG_APP, MSS_DC_METHOD_CERTIFICATE,
		 ""},
		{"card@h.fr", "EXTERNAL", "dpi.h.fr", NULL, MSS_ACCESS_NOT_AN_APP, MSS_DC_METHOD_CERTIFICATE, ""},
		{"dpi.h.fr", "EXTERNAL", NULL, NULL, MSS_ACCESS_UNKNOWN_BAL, MSS_DC_METHOD_CERTIFICATE, ""},
		{"dpi@h.fr", "PLAIN", NULL, NULL, MSS_ACCESS_APP_NOT_A_PERSON, MSS_DC_METHOD_PASSWORD, ""},
		{"dpi@h.fr", "PLAIN", "jean@h.fr", NULL, MSS_ACCESS_APP_NOT_A_PERSON, MSS_DC_METHOD_MASTER,
		 "810003461033"},
		/* unknown or malformed BAL */
		{"nobody@h.fr", "PLAIN", NULL, NULL, MSS_ACCESS_UNKNOWN_BAL, MSS_DC_METHOD_PASSWORD, ""},
		{"not an address", "PLAIN", NULL, NULL, MSS_ACCESS_UNKNOWN_BAL, MSS_DC_METHOD_PASSWORD, ""},
	};
	struct mss_config *cfg = load(NULL);
	const struct mss_snapshot *snap;
	char err[512];

	(void)state;
	assert_int_equal(mss_dc_snapshot(cfg, &snap, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const struct expect *c = &cases[i];
		struct mss_dc_login login = {.user = c->user, .service = "imap", .auth_mech = c->mech,
					     .master_user = c->master, .actor_field = c->field};
		struct mss_dc_session s;
		enum mss_access a;

		memset(&s, 0, sizeof(s));
		s.cfg = cfg;
		a = mss_dc_decide(&s, snap, &login);
		if (a != c->decision || s.method != c->method || strcmp(s.actor, c->actor) != 0)
			fail_msg("case %zu (%s, %s, %s, %s): got %s/%s/'%s', want %s/%s/'%s'", i, c->user, c->mech,
				 c->master ? c->master : "-", c->field ? c->field : "-", mss_access_code(a),
				 mss_dc_method_name(s.method), s.actor, mss_access_code(c->decision),
				 mss_dc_method_name(c->method), c->actor);
	}
	mss_config_free(cfg);
}

/* Reads the audit file written so far. */
static char *read_audit(void)
{
	char path[256];
	static char buf[65536];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/dovecot.log", audit_dir);
	f = fopen(path, "r");
	if (f == NULL)
		return strcpy(buf, "");
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void test_session_rights_and_records(void **state)
{
	struct mss_dc_login delegate = {.user = "card@h.fr", .service = "imap", .auth_mech = "PLAIN",
					.master_user = "jean@h.fr", .remote_ip = "192.0.2.7"};
	struct mss_dc_login owner = {.user = "jean@h.fr", .service = "imap", .auth_mech = "PLAIN"};
	struct mss_dc_login refused = {.user = "jean@h.fr", .service = "pop3", .master_user = "810100000041"};
	struct mss_dc_login lmtp = {.user = "card@h.fr", .service = "lmtp"};
	struct mss_dc_action act = {.event = "read", .mailbox = "INBOX", .uid = 7,
				    .message_id = " <abc@h.fr>\r\n\t(x)"};
	struct mss_dc_session s;
	char err[512], text[512];
	const char *log;

	(void)state;
	assert_int_equal(mss_dc_session_open(&s, load(NULL), &delegate), 0);
	assert_true(s.enforced);
	assert_true(mss_dc_may(&s, MSS_DC_RIGHT_READ));
	assert_true(mss_dc_may(&s, MSS_DC_RIGHT_FLAG));
	assert_false(mss_dc_may(&s, MSS_DC_RIGHT_EXPUNGE));
	mss_dc_denied_text(&s, MSS_DC_RIGHT_EXPUNGE, text, sizeof(text));
	assert_non_null(strstr(text, "'expunge' is not among the rights of a delegate on ORG BAL card@h.fr"));
	assert_int_equal(mss_dc_trace(&s, &act, err, sizeof(err)), 0);
	mss_dc_session_close(&s);

	assert_int_equal(mss_dc_session_open(&s, load(NULL), &owner), 0);
	assert_int_equal(s.rights, MSS_DC_RIGHTS_ALL);
	mss_dc_session_close(&s);

	assert_int_equal(mss_dc_session_open(&s, load(NULL), &refused), -1);
	assert_non_null(strstr(s.reason, "access to BAL jean@h.fr refused for idNat_PS 810100000041 (master login): "
					 "a personal BAL is open to its holder only"));
	mss_dc_session_close(&s);

	/* A system service: never refused, no login record, traced without actor. */
	assert_int_equal(mss_dc_session_open(&s, load(NULL), &lmtp), 0);
	assert_false(s.enforced);
	assert_true(s.traced);
	act.event = "append";
	assert_int_equal(mss_dc_trace(&s, &act, err, sizeof(err)), 0);
	mss_dc_session_close(&s);

	/* [dovecot] audit_sync = batch: the last action waits in the queue until written. */
	assert_int_equal(mss_dc_trace_pending(), 1);
	log = read_audit();
	assert_null(strstr(log, "\"service\":\"lmtp\""));
	assert_int_equal(mss_dc_trace_flush(err, sizeof(err)), 0);
	assert_int_equal(mss_dc_trace_pending(), 0);

	log = read_audit();
	assert_non_null(strstr(log, "\"event\":\"login\",\"client\":\"192.0.2.7\",\"service\":\"imap\","
				    "\"method\":\"master\",\"auth_user\":\"jean@h.fr\",\"actor\":\"810003461033\","
				    "\"bal\":\"card@h.fr\",\"bal_type\":\"ORG\",\"decision\":\"allow\""));
	assert_non_null(strstr(log, "\"event\":\"read\""));
	assert_non_null(strstr(log, "\"mailbox\":\"INBOX\",\"uid\":7,\"message_id\":\"<abc@h.fr> (x)\""));
	assert_non_null(strstr(log, "\"service\":\"pop3\",\"method\":\"master\",\"auth_user\":\"810100000041\","
				    "\"actor\":\"810100000041\",\"bal\":\"jean@h.fr\",\"bal_type\":\"PER\","
				    "\"decision\":\"deny\",\"reason\":\"not_owner\""));
	assert_non_null(strstr(log, "\"event\":\"append\",\"service\":\"lmtp\",\"method\":\"system\","
				    "\"auth_user\":\"card@h.fr\",\"bal\":\"card@h.fr\""));
	/* one login per enforced session (3), none for lmtp */
	{
		int logins = 0;

		for (const char *p = log; (p = strstr(p, "\"event\":\"login\"")) != NULL; p++)
			logins++;
		assert_int_equal(logins, 3);
	}
}

static void test_stale_or_missing_snapshot_refuses(void **state)
{
	const char *missing[] = {"mssante_snapshot", "/nonexistent/s.cdb", NULL};
	struct mss_dc_login owner = {.user = "jean@h.fr", .service = "imap", .auth_mech = "PLAIN"};
	struct mss_dc_session s;

	(void)state;
	assert_int_equal(mss_dc_session_open(&s, load(missing), &owner), -1);
	assert_non_null(strstr(s.reason, "access to jean@h.fr refused: directory snapshot"));
	mss_dc_session_close(&s);
}

static void test_audit_unavailable_refuses(void **state)
{
	const char *bad[] = {"mssante_audit_directory", "/nonexistent/audit", NULL};
	struct mss_dc_login owner = {.user = "jean@h.fr", .service = "imap", .auth_mech = "PLAIN"};
	struct mss_dc_login lmtp = {.user = "jean@h.fr", .service = "lmtp"};
	struct mss_dc_session s;

	(void)state;
	assert_int_equal(mss_dc_session_open(&s, load(bad), &owner), -1);
	assert_non_null(strstr(s.reason, "audit trail unavailable"));
	mss_dc_session_close(&s);
	assert_int_equal(mss_dc_session_open(&s, load(bad), &lmtp), -1);
	mss_dc_session_close(&s);
}

static void test_clean_message_id(void **state)
{
	static const struct {
		const char *in;
		size_t outlen;
		const char *want;
	} cases[] = {
	    {"  <a@b>  ", 16, "<a@b>"},
	    {"<a\r\n b>\x01", 16, "<a b>"},
	    /* cut at a character boundary: "é" is two bytes */
	    {"<aaaaaaaaaaaaa\xc3\xa9>", 16, "<aaaaaaaaaaaaa"},
	    {NULL, 16, ""},
	    /* copied whole when it fits with its NUL, cut when not */
	    {"<0123456789@x>", 16, "<0123456789@x>"},
	    {"<0123456789@xy>", 16, "<0123456789@xy>"},
	    {"<0123456789@xyz>", 16, "<0123456789@xyz"},
	    {"<0123456789@xyzw>", 16, "<0123456789@xyz"},
	    {"<a@b>", 1, ""},
	    /* as a header gives it: blanks around, the line's CR */
	    {" \t<0123456789@xy>\r\n", 16, "<0123456789@xy>"},
	    {" <0123456789@xyz>\r", 16, "<0123456789@xyz"},
	};
	char out[16];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		mss_dc_clean_message_id(cases[i].in, out, cases[i].outlen);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_record_build_has_no_content_field(void **state)
{
	struct mss_dc_session s;
	struct mss_dc_action act = {.event = "flag", .mailbox = "INBOX", .uid = 0, .reason = "(\\Seen) -> ()"};
	struct mss_audit_record rec;
	char scratch[64];

	(void)state;
	memset(&s, 0, sizeof(s));
	strcpy(s.bal, "card@h.fr");
	strcpy(s.actor, "810003461033");
	s.method = MSS_DC_METHOD_PSC;
	mss_dc_record_build(&s, &act, &rec, scratch, sizeof(scratch));
	assert_string_equal(rec.event, "flag");
	assert_string_equal(rec.method, "psc");
	assert_int_equal(rec.uid, -1);
	assert_null(rec.message_id);
	assert_null(rec.bal_type);
	assert_string_equal(rec.decision, "ok");
	assert_int_equal(rec.size, -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rights_parse),
		cmocka_unit_test(test_settings_overrides),
		cmocka_unit_test(test_audit_sync_override),
		cmocka_unit_test(test_decide),
		cmocka_unit_test(test_session_rights_and_records),
		cmocka_unit_test(test_stale_or_missing_snapshot_refuses),
		cmocka_unit_test(test_audit_unavailable_refuses),
		cmocka_unit_test(test_clean_message_id),
		cmocka_unit_test(test_record_build_has_no_content_field),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
