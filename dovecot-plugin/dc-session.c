/* Who is acting on which BAL, and may they: the facts of a Dovecot login turned into an actor
   (idNat_PS) or an application identity, then the one rule of common/access.h. No Dovecot
   header here (see mss-dovecot.h).
 *
 * Login forms (DESIGN §1, conf-examples/dovecot/README.md):
 *   BAL + its password            the holder of a PER BAL (actor: the BAL's owner)
 *   BAL*PERSON (master user)      a delegate on an ORG/CAB BAL; PERSON is the delegate's
 *                                 idNat_PS or the address of the delegate's own PER BAL
 *   passdb field mssante_actor    the passdb (pam_mss, LDAP, oauth2) names the person
 *   XOAUTH2/OAUTHBEARER           Pro Santé Connect token: as above, method "psc"
 *   EXTERNAL                      TLS client certificate: the certificate's name (Dovecot's
 *                                 ssl_cert_username_field, the CN) must be the CN of the APP
 *                                 BAL's registered certificate subject */
#include "mss-dovecot.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "audit.h"
#include "dn.h"

static void copy_str(char *dst, size_t dstlen, const char *src, size_t len)
{
	if (len >= dstlen)
		len = dstlen - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool slice_is(struct mss_slice s, const char *str)
{
	return s.len == strlen(str) && memcmp(s.p, str, s.len) == 0;
}

static bool mech_is(const char *mech, const char *name)
{
	return mech != NULL && strcasecmp(mech, name) == 0;
}

static bool service_listed(const struct mss_config *cfg, const char *service)
{
	return service != NULL && mss_config_list_has(cfg, MSS_OPT_DOVECOT_SERVICES, service);
}

/* Writes CN=<value> with the RFC 4514 escapes, so that a certificate name holding ',' or '+'
   stays one attribute. -1 when it does not fit. */
static int cn_dn(const char *cn, char *out, size_t outlen)
{
	size_t o = 0, n = strlen(cn);

	if (outlen < 4)
		return -1;
	memcpy(out, "CN=", 3);
	o = 3;
	for (size_t i = 0; i < n; i++) {
		char c = cn[i];
		bool esc = strchr(",+\"\\<>;=", c) != NULL || (i == 0 && (c == '#' || c == ' ')) ||
			   (i == n - 1 && c == ' ');

		if (o + 3 >= outlen)
			return -1;
		if (esc)
			out[o++] = '\\';
		out[o++] = c;
	}
	out[o] = '\0';
	return 0;
}

/* The application rule with the one certificate attribute Dovecot 2.3 passes on (its
   ssl_cert_username_field, the CN by default): when NAME is the CN of the BAL's registered
   subject, the registered subject is the identity to check; otherwise the identity is just
   CN=NAME, which access.h then refuses with the precise reason (not an APP BAL, wrong
   application, suspended...). The full-DN binding comes from Dovecot's ssl_ca, which must
   hold the IGC-Santé ORGANISATIONS chain only (conf-examples/dovecot). */
static enum mss_access app_decide(const struct mss_snapshot *snap, const char *bal_address, const char *name,
				  const struct mss_bal *bal)
{
	struct mss_bal out;
	char subject[MSS_DN_MAX], fallback[MSS_DN_MAX];
	struct mss_dn dn;
	const char *error, *cn;
	bool same = false;

	if (bal->app_subject.len > 0 && bal->app_subject.len < sizeof(subject)) {
		copy_str(subject, sizeof(subject), bal->app_subject.p, bal->app_subject.len);
		if (mss_dn_parse(subject, strlen(subject), &dn, &error) == 0) {
			cn = mss_dn_get(&dn, "CN");
			/* CNs of applications are host names: case-insensitive. */
			same = cn != NULL && strcasecmp(cn, name) == 0;
			mss_dn_free(&dn);
		}
	}
	if (same)
		return mss_access_application(snap, bal_address, subject, &out);
	if (cn_dn(name, fallback, sizeof(fallback)) < 0)
		return MSS_ACCESS_ERROR;
	return mss_access_application(snap, bal_address, fallback, &out);
}

/* A master user names the delegate: an idNat_PS, or the address of the person's PER BAL. */
static int person_of(const struct mss_snapshot *snap, const char *who, char *idnat, size_t idnatlen)
{
	char key[MSS_ADDR_MAX + 1];
	struct mss_bal bal;
	const char *why;

	if (mss_idnat_valid(who, false)) {
		copy_str(idnat, idnatlen, who, strlen(who));
		return 0;
	}
	if (mss_addr_normalize(who, strlen(who), key, sizeof(key), &why) < 0)
		return -1;
	if (mss_snapshot_bal(snap, key, strlen(key), &bal) <= 0 || !slice_is(bal.type, "PER") || bal.owner.len == 0 ||
	    bal.status != 'A')
		return -1;
	copy_str(idnat, idnatlen, bal.owner.p, bal.owner.len);
	return 0;
}

enum mss_access mss_dc_decide(struct mss_dc_session *s, const struct mss_snapshot *snap,
			      const struct mss_dc_login *login)
{
	struct mss_bal bal;
	const char *why;
	bool token = mech_is(login->auth_mech, "XOAUTH2") || mech_is(login->auth_mech, "OAUTHBEARER");
	int r;

	memset(&bal, 0, sizeof(bal));
	s->actor[0] = '\0';
	/* The method first: even a login refused at once is recorded with how it came. */
	if (mech_is(login->auth_mech, "EXTERNAL"))
		s->method = MSS_DC_METHOD_CERTIFICATE;
	else if (token)
		s->method = MSS_DC_METHOD_PSC;
	else if (login->actor_field != NULL && login->actor_field[0] != '\0')
		s->method = MSS_DC_METHOD_PASSDB;
	else if (login->master_user != NULL && login->master_user[0] != '\0')
		s->method = MSS_DC_METHOD_MASTER;
	else
		s->method = MSS_DC_METHOD_PASSWORD;
	copy_str(s->auth_user, sizeof(s->auth_user), login->user, strlen(login->user));
	if (mss_addr_normalize(login->user, strlen(login->user), s->bal, sizeof(s->bal), &why) < 0) {
		copy_str(s->bal, sizeof(s->bal), login->user, strlen(login->user));
		snprintf(s->reason, sizeof(s->reason), "the user name is not a BAL address (%s)", why);
		return MSS_ACCESS_UNKNOWN_BAL;
	}
	r = mss_snapshot_bal(snap, s->bal, strlen(s->bal), &bal);
	if (r < 0)
		return MSS_ACCESS_ERROR;
	if (r > 0)
		copy_str(s->bal_type, sizeof(s->bal_type), bal.type.p, bal.type.len);

	if (mech_is(login->auth_mech, "EXTERNAL")) {
		/* EXTERNAL with an authorisation identity arrives as a master-user login whose
		   master is the certificate's name; without one, the user is that name. */
		const char *name = login->master_user != NULL ? login->master_user : login->user;

		copy_str(s->auth_user, sizeof(s->auth_user), name, strlen(name));
		if (r == 0)
			return MSS_ACCESS_UNKNOWN_BAL;
		return app_decide(snap, s->bal, name, &bal);
	}

	if (login->actor_field != NULL && login->actor_field[0] != '\0') {
		if (login->master_user != NULL)
			copy_str(s->auth_user, sizeof(s->auth_user), login->master_user, strlen(login->master_user));
		copy_str(s->actor, sizeof(s->actor), login->actor_field, strlen(login->actor_field));
	} else if (login->master_user != NULL && login->master_user[0] != '\0') {
		copy_str(s->auth_user, sizeof(s->auth_user), login->master_user, strlen(login->master_user));
		if (person_of(snap, login->master_user, s->actor, sizeof(s->actor)) < 0) {
			snprintf(s->reason, sizeof(s->reason),
				 "the master user is neither an idNat_PS nor the address of an active personal BAL");
			return MSS_ACCESS_UNKNOWN_PERSON;
		}
	} else {
		if (r == 0)
			return MSS_ACCESS_UNKNOWN_BAL;
		if (slice_is(bal.type, "ORG") || slice_is(bal.type, "CAB")) {
			snprintf(s->reason, sizeof(s->reason),
				 "an organisational BAL is opened by its delegates, each under their own name: "
				 "log in as %s*<your address or idNat_PS> with your own password",
				 s->bal);
			return MSS_ACCESS_NOT_DELEGATE;
		}
		if (slice_is(bal.type, "APP")) {
			snprintf(s->reason, sizeof(s->reason),
				 "an applicative BAL is opened only with its application's TLS client "
				 "certificate (AUTHENTICATE EXTERNAL), never with a password");
			return MSS_ACCESS_APP_NOT_A_PERSON;
		}
		/* PER: the person acting is its holder. */
		copy_str(s->actor, sizeof(s->actor), bal.owner.p, bal.owner.len);
	}
	if (!mss_idnat_valid(s->actor, false)) {
		snprintf(s->reason, sizeof(s->reason), "no valid idNat_PS for the person acting");
		s->actor[0] = '\0';
		return MSS_ACCESS_UNKNOWN_PERSON;
	}
	return mss_access_person(snap, s->bal, s->actor, &bal);
}

/* ---- process-wide handles ---- */

static struct {
	struct mss_snapshot *snap;
	char *snap_path;
	struct mss_audit *audit;
	char *audit_key;		/* directory + sync mode the handle was opened with */
	const struct mss_config *audit_cfg; /* the configuration audit_key was last checked for */
	bool flush_failed; /* the last write of queued records failed: they wait in the queue */
} proc;

int mss_dc_snapshot(const struct mss_config *cfg, const struct mss_snapshot **snap_r, char *err, size_t errlen)
{
	const char *path = mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	unsigned flags = mss_config_bool(cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? 0 : MSS_SNAPSHOT_ANY_OWNER;
	long long age, max_age = mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_AGE);
	char why[512];

	*snap_r = NULL;
	if (path == NULL) {
		snprintf(err, errlen, "[directory] snapshot is not set");
		return -1;
	}
	/* One stat per login tells whether `mssctl sync` published a new snapshot. */
	if (proc.snap != NULL && (strcmp(proc.snap_path, path) != 0 || mss_snapshot_replaced(proc.snap, path))) {
		mss_snapshot_close(proc.snap);
		proc.snap = NULL;
		free(proc.snap_path);
		proc.snap_path = NULL;
	}
	if (proc.snap == NULL) {
		if (mss_snapshot_open(path, flags, &proc.snap, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "directory snapshot: %s", why);
			proc.snap = NULL;
			return -1;
		}
		proc.snap_path = strdup(path);
		if (proc.snap_path == NULL) {
			mss_snapshot_close(proc.snap);
			proc.snap = NULL;
			snprintf(err, errlen, "out of memory");
			return -1;
		}
	}
	age = mss_snapshot_age(proc.snap, time(NULL));
	if (age > max_age) {
		snprintf(err, errlen, "directory snapshot %s is stale (built %lld s ago, [directory] max_age %lld s)", path,
			 age, max_age);
		return -1;
	}
	*snap_r = proc.snap;
	return 0;
}

/* The handle for the actions of a session with configuration CFG: `[audit] directory`, synced
   as `[dovecot] audit_sync` says. Called once per traced action: the key is compared once per
   configuration (that is, per session), not per record. */
static struct mss_audit *audit_handle(const struct mss_config *cfg, char *err, size_t errlen)
{
	const char *dir = mss_config_str(cfg, MSS_OPT_AUDIT_DIRECTORY);
	int sync = (int)mss_config_num(cfg, MSS_OPT_DOVECOT_AUDIT_SYNC);
	char key[4096];

	if (proc.audit != NULL && proc.audit_cfg == cfg)
		return proc.audit;
	snprintf(key, sizeof(key), "%s\n%d", dir != NULL ? dir : "", sync);
	if (proc.audit != NULL && strcmp(proc.audit_key, key) == 0) {
		proc.audit_cfg = cfg;
		return proc.audit;
	}
	if (proc.audit != NULL) {
		mss_audit_close(proc.audit);
		free(proc.audit_key);
		proc.audit = NULL;
		proc.audit_key = NULL;
	}
	proc.audit_cfg = NULL;
	proc.audit = mss_audit_open_sync(cfg, "dovecot", sync, err, errlen);
	if (proc.audit == NULL)
		return NULL;
	proc.audit_key = strdup(key);
	if (proc.audit_key == NULL) {
		mss_audit_close(proc.audit);
		proc.audit = NULL;
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	proc.audit_cfg = cfg;
	return proc.audit;
}

void mss_dc_process_deinit(void)
{
	if (proc.audit != NULL)
		mss_audit_close(proc.audit);
	if (proc.snap != NULL)
		mss_snapshot_close(proc.snap);
	free(proc.audit_key);
	free(proc.snap_path);
	memset(&proc, 0, sizeof(proc));
}

/* ---- records ---- */

void mss_dc_clean_message_id(const char *in, char *out, size_t outlen)
{
	const unsigned char *p = (const unsigned char *)(in != NULL ? in : "");
	size_t o = 0;
	bool space = false;

	if (outlen == 0)
		return;
	while (*p != '\0' && o + 1 < outlen) {
		size_t run = 0;

		if (*p <= ' ' || *p == 0x7f) {
			space = o > 0; /* blanks, folding and controls: one blank between words */
			p++;
			continue;
		}
		if (space) {
			out[o++] = ' ';
			space = false;
			if (o + 1 >= outlen)
				break;
		}
		/* A word is copied as one run, as far as it fits: this runs for every traced read. */
		while (run < outlen - 1 - o && p[run] > ' ' && p[run] != 0x7f)
			run++;
		memcpy(out + o, p, run);
		o += run;
		p += run;
	}
	/* Never end inside a UTF-8 sequence. */
	while (o > 0 && ((unsigned char)out[o - 1] & 0x80) != 0) {
		size_t start = o - 1, need;
		unsigned char lead;

		while (start > 0 && ((unsigned char)out[start] & 0xc0) == 0x80)
			start--;
		lead = (unsigned char)out[start];
		need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : lead >= 0xc0 ? 2 : 1;
		if (o - start == need)
			break;
		o = start;
	}
	out[o] = '\0';
}

static void base_record(const struct mss_dc_session *s, struct mss_audit_record *rec, const char *event)
{
	*rec = (struct mss_audit_record)MSS_AUDIT_RECORD_INIT;
	rec->event = event;
	rec->service = s->service[0] != '\0' ? s->service : NULL;
	rec->client = s->client[0] != '\0' ? s->client : NULL;
	rec->method = mss_dc_method_name(s->method);
	rec->auth_user = s->auth_user[0] != '\0' ? s->auth_user : NULL;
	rec->actor = s->actor[0] != '\0' ? s->actor : NULL;
	rec->bal = s->bal[0] != '\0' ? s->bal : NULL;
	rec->bal_type = s->bal_type[0] != '\0' ? s->bal_type : NULL;
}

void mss_dc_record_build(const struct mss_dc_session *s, const struct mss_dc_action *act,
			 struct mss_audit_record *rec, char *scratch, size_t scratch_len)
{
	base_record(s, rec, act->event);
	rec->mailbox = act->mailbox;
	rec->uid = act->uid != 0 ? (long long)act->uid : -1;
	if (act->message_id != NULL && scratch_len > 0) {
		mss_dc_clean_message_id(act->message_id, scratch, scratch_len > 1000 ? 1000 : scratch_len);
		rec->message_id = scratch[0] != '\0' ? scratch : NULL;
	}
	rec->decision = act->decision != NULL ? act->decision : "ok";
	rec->reason = act->reason;
}

int mss_dc_trace(const struct mss_dc_session *s, const struct mss_dc_action *act, char *err, size_t errlen)
{
	struct mss_audit_record rec;
	struct mss_audit *a;
	char scratch[1024];

	if (!s->traced)
		return 0;
	a = audit_handle(s->cfg, err, errlen);
	if (a == NULL)
		return -1;
	mss_dc_record_build(s, act, &rec, scratch, sizeof(scratch));
	if (mss_config_num(s->cfg, MSS_OPT_DOVECOT_AUDIT_SYNC) == 0)
		return mss_audit_write(a, &rec, err, errlen);
	/* batch, none: queued, written with the others of the next moment (mss_dc_trace_flush
	   from the glue's timer). Once such a write failed, nothing more is queued before the
	   trail takes the waiting records again: the action fails (fail closed). */
	if (proc.flush_failed) {
		if (mss_audit_write_queued(a, err, errlen) < 0)
			return -1;
		proc.flush_failed = false;
	}
	return mss_audit_queue(a, &rec, err, errlen);
}

size_t mss_dc_trace_pending(void)
{
	return mss_audit_queued(proc.audit);
}

int mss_dc_trace_flush(char *err, size_t errlen)
{
	if (proc.audit == NULL)
		return 0;
	proc.flush_failed = mss_audit_write_queued(proc.audit, err, errlen) < 0;
	return proc.flush_failed ? -1 : 0;
}

void mss_dc_trace_discard(void (*fn)(void *ctx, const char *record, size_t len), void *ctx)
{
	mss_audit_discard_queued(proc.audit, fn, ctx);
	proc.flush_failed = false;
}

void mss_dc_denied_text(const struct mss_dc_session *s, enum mss_dc_right r, char *out, size_t outlen)
{
	snprintf(out, outlen, "mssante: '%s' is not among the rights of a delegate on %s BAL %s ([dovecot] %s)",
		 mss_dc_right_name(r), s->bal_type, s->bal,
		 strcmp(s->bal_type, "CAB") == 0 ? "cab_delegate_rights" : "org_delegate_rights");
}

/* ---- the session ---- */

/* The refusal sentence; cut when too long (a vsnprintf wrapper, so that the compiler does
   not take every possible cut for a mistake). */
static void set_reason(struct mss_dc_session *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_reason(struct mss_dc_session *s, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->reason, sizeof(s->reason), fmt, ap);
	va_end(ap);
}

static unsigned rights_for(const struct mss_dc_session *s)
{
	unsigned rights = 0;
	char err[256];
	enum mss_option_id id;

	if (strcmp(s->bal_type, "ORG") == 0)
		id = MSS_OPT_DOVECOT_ORG_DELEGATE_RIGHTS;
	else if (strcmp(s->bal_type, "CAB") == 0)
		id = MSS_OPT_DOVECOT_CAB_DELEGATE_RIGHTS;
	else
		return MSS_DC_RIGHTS_ALL; /* the holder of a PER BAL, the application of an APP BAL */
	/* Validated by mss_dc_settings_load; a failure here leaves no rights (fail closed). */
	if (mss_dc_rights_parse(mss_config_str(s->cfg, id), &rights, err, sizeof(err)) < 0)
		return 0;
	return rights;
}

/* The login record is as durable as `[audit] sync` asks, whatever `[dovecot] audit_sync` says
   of the actions: one per session, and the fact `mssctl audit inactive` and any inquiry start
   from. */
static int write_login(struct mss_dc_session *s, const char *decision, const char *reason, char *err,
		       size_t errlen)
{
	struct mss_audit_record rec;
	struct mss_audit *a = audit_handle(s->cfg, err, errlen);

	if (a == NULL)
		return -1;
	base_record(s, &rec, "login");
	rec.decision = decision;
	rec.reason = reason;
	if (mss_audit_write(a, &rec, err, errlen) < 0)
		return -1;
	if (mss_config_num(s->cfg, MSS_OPT_AUDIT_SYNC) == 0 && mss_config_num(s->cfg, MSS_OPT_DOVECOT_AUDIT_SYNC) != 0)
		return mss_audit_flush(a, err, errlen);
	return 0;
}

int mss_dc_session_open(struct mss_dc_session *s, struct mss_config *cfg, const struct mss_dc_login *login)
{
	const struct mss_snapshot *snap;
	char err[512];
	const char *who;

	memset(s, 0, sizeof(*s));
	s->cfg = cfg;
	s->decision = MSS_ACCESS_ERROR;
	copy_str(s->service, sizeof(s->service), login->service, strlen(login->service));
	if (login->remote_ip != NULL)
		copy_str(s->client, sizeof(s->client), login->remote_ip, strlen(login->remote_ip));

	if (!service_listed(cfg, login->service)) {
		/* The system acting (a delivery, doveadm): no person to check. */
		s->method = MSS_DC_METHOD_SYSTEM;
		s->rights = MSS_DC_RIGHTS_ALL;
		s->traced = mss_config_bool(cfg, MSS_OPT_DOVECOT_TRACE_SYSTEM);
		s->decision = MSS_ACCESS_ALLOW;
		copy_str(s->auth_user, sizeof(s->auth_user), login->user, strlen(login->user));
		if (mss_addr_normalize(login->user, strlen(login->user), s->bal, sizeof(s->bal), &who) < 0)
			copy_str(s->bal, sizeof(s->bal), login->user, strlen(login->user));
		if (s->traced && audit_handle(cfg, err, sizeof(err)) == NULL) {
			set_reason(s, "audit trail unavailable: %s", err);
			return -1;
		}
		return 0;
	}
	s->enforced = true;
	s->traced = true;
	if (mss_dc_snapshot(cfg, &snap, err, sizeof(err)) < 0) {
		/* Without the directory nobody can be checked: refuse, and say why. */
		copy_str(s->bal, sizeof(s->bal), login->user, strlen(login->user));
		set_reason(s, "access to %s refused: %s", login->user, err);
		s->decision = MSS_ACCESS_ERROR;
		(void)write_login(s, "deny", "directory_unavailable", err, sizeof(err));
		return -1;
	}
	s->decision = mss_dc_decide(s, snap, login);
	if (s->decision == MSS_ACCESS_ALLOW) {
		s->rights = rights_for(s);
		if (write_login(s, "allow", NULL, err, sizeof(err)) < 0) {
			set_reason(s, "access to %s refused: audit trail unavailable: %s", s->bal, err);
			s->decision = MSS_ACCESS_ERROR;
			return -1;
		}
		return 0;
	}
	/* Refused: one sentence for the client and the log, the short code for the record. */
	{
		char detail[sizeof(s->reason)];

		copy_str(detail, sizeof(detail), s->reason, strlen(s->reason));
		who = s->method == MSS_DC_METHOD_CERTIFICATE ? "certificate" : "idNat_PS";
		set_reason(s, "access to BAL %s refused for %s %s (%s login): %s", s->bal, who,
			 s->method == MSS_DC_METHOD_CERTIFICATE ? s->auth_user
			 : s->actor[0] != '\0'			? s->actor
								: "(none)",
			 mss_dc_method_name(s->method), detail[0] != '\0' ? detail : mss_access_reason(s->decision));
	}
	if (write_login(s, "deny", mss_access_code(s->decision), err, sizeof(err)) < 0) {
		char sentence[sizeof(s->reason)];

		copy_str(sentence, sizeof(sentence), s->reason, strlen(s->reason));
		set_reason(s, "%s (and the audit record failed: %s)", sentence, err);
	}
	return -1;
}

void mss_dc_session_close(struct mss_dc_session *s)
{
	if (s == NULL)
		return;
	if (proc.audit_cfg == s->cfg)
		proc.audit_cfg = NULL; /* another configuration may come at this address */
	mss_config_free(s->cfg);
	s->cfg = NULL;
}
