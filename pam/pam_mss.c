/* pam_mss: authentication on the hospital directory for MSSanté mailboxes (BALs).
 *
 *   auth     required pam_mss.so [config=FILE] [method=password,psc,cps] [debug]
 *   account  required pam_mss.so [config=FILE] [debug]
 *
 * The username is a BAL address (or, for a card at a console, an idNat_PS). Methods are
 * tried in the order of method=; each one either handles the credential or passes
 * (MSS_PAM_NEXT: a JWT is not a password, an empty reader is not a card). The rules live in
 * common/ (access.h decides who may use which BAL); this file is the adapter.
 *
 * Fail closed by construction: every result starts as a failure and becomes PAM_SUCCESS
 * only where a method proved the person and the access rule allowed them; PAM_IGNORE is
 * never returned. One audit record per call (component "pam"); a failed audit write turns
 * a success into PAM_AUTHINFO_UNAVAIL. No password, token or PIN is ever logged.
 */
#include "pam_mss_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <security/pam_ext.h>
#include <security/pam_modules.h>

#include "access.h"
#include "audit.h"
#include "dn.h"
#include "token.h"

#define PAM_EXPORT __attribute__((visibility("default")))
#define ACTOR_DATA "mss_pam_actor"

void mss_pam_printable(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (outlen == 0)
		return;
	for (const unsigned char *p = (const unsigned char *)(in != NULL ? in : "(none)"); *p != '\0'; p++) {
		if (*p >= 0x20 && *p < 0x7f && *p != '\\') {
			if (o + 1 >= outlen)
				break;
			out[o++] = (char)*p;
		} else {
			if (o + 4 >= outlen)
				break;
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 15];
		}
	}
	out[o] = '\0';
}

void mss_pam_log(const struct mss_pam *ctx, int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority == LOG_DEBUG && !ctx->debug)
		return;
	va_start(ap, fmt);
	pam_vsyslog(ctx->pamh, priority, fmt, ap);
	va_end(ap);
}

/* ---- arguments and setup ---- */

static int parse_methods(struct mss_pam *ctx, const char *list)
{
	char buf[64];
	char *save = NULL;

	if (strlen(list) >= sizeof(buf))
		return -1;
	memcpy(buf, list, strlen(list) + 1);
	ctx->n_methods = 0;
	for (char *m = strtok_r(buf, ",", &save); m != NULL; m = strtok_r(NULL, ",", &save)) {
		unsigned bit;

		if (strcmp(m, "password") == 0)
			bit = MSS_M_PASSWORD;
		else if (strcmp(m, "psc") == 0)
			bit = MSS_M_PSC;
		else if (strcmp(m, "cps") == 0)
			bit = MSS_M_CPS;
		else
			return -1;
		for (size_t i = 0; i < ctx->n_methods; i++) {
			if (ctx->methods[i] == bit)
				return -1;
		}
		ctx->methods[ctx->n_methods++] = bit;
	}
	return ctx->n_methods > 0 ? 0 : -1;
}

static int parse_args(struct mss_pam *ctx, int argc, const char **argv)
{
	char safe[128];

	ctx->methods[0] = MSS_M_PASSWORD;
	ctx->methods[1] = MSS_M_PSC;
	ctx->n_methods = 2;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "debug") == 0) {
			ctx->debug = true;
		} else if (strncmp(argv[i], "config=", 7) == 0 && argv[i][7] == '/') {
			ctx->config_path = argv[i] + 7;
		} else if (strncmp(argv[i], "method=", 7) == 0 && parse_methods(ctx, argv[i] + 7) == 0) {
			continue;
		} else {
			mss_pam_printable(argv[i], safe, sizeof(safe));
			mss_pam_log(ctx, LOG_ERR, "invalid module argument '%s' (config=/ABSOLUTE/PATH, "
						  "method=password,psc,cps, debug)", safe);
			return -1;
		}
	}
	return 0;
}

static int get_item_str(pam_handle_t *pamh, int item, const char **value_r)
{
	const void *v = NULL;

	*value_r = NULL;
	if (pam_get_item(pamh, item, &v) != PAM_SUCCESS)
		return -1;
	*value_r = v;
	return 0;
}

/* Config, username, snapshot. Returns PAM_SUCCESS or the failure to return (reason set). */
static int setup(struct mss_pam *ctx, pam_handle_t *pamh, int argc, const char **argv)
{
	char err[512], safe[300];
	const char *path, *why;
	unsigned flags = 0;
	size_t len;

	memset(ctx, 0, sizeof(*ctx));
	ctx->pamh = pamh;
	ctx->reason = "internal_error";
	if (parse_args(ctx, argc, argv) < 0) {
		ctx->reason = "bad_module_argument";
		return PAM_SERVICE_ERR;
	}
	get_item_str(pamh, PAM_SERVICE, &ctx->service);
	get_item_str(pamh, PAM_RHOST, &ctx->rhost);

	/* The configuration decides who logs in: it must be as safe as the files it names. A
	   process that is not root may read one of its own user (tests). */
	path = ctx->config_path != NULL ? ctx->config_path : mss_config_default_path();
	{
		/* The descriptor checked is the one read: no window to swap the file between. */
		int fd = mss_pam_open_safely(path, geteuid() != 0, err, sizeof(err));
		int loaded = fd >= 0 && mss_config_load_fd(fd, path, &ctx->cfg, err, sizeof(err)) == 0;

		if (fd >= 0)
			close(fd);
		if (!loaded) {
			mss_pam_log(ctx, LOG_ERR, "configuration: %s", err);
			ctx->reason = "config_error";
			return PAM_SERVICE_ERR;
		}
	}
	ctx->relax_owner = geteuid() != 0 && !mss_config_bool(ctx->cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK);

	if (pam_get_user(pamh, &ctx->user, NULL) != PAM_SUCCESS || ctx->user == NULL) {
		ctx->reason = "no_user";
		return PAM_USER_UNKNOWN;
	}
	len = strlen(ctx->user);
	if (len > 0 && len <= 20 && mss_idnat_valid(ctx->user, false)) {
		memcpy(ctx->user_key, ctx->user, len + 1);
		ctx->user_is_idnat = true;
	} else if (len == 0 || len > MSS_ADDR_MAX ||
		   mss_addr_normalize(ctx->user, len, ctx->user_key, sizeof(ctx->user_key), &why) < 0) {
		mss_pam_printable(ctx->user, safe, sizeof(safe));
		mss_pam_log(ctx, LOG_NOTICE, "user '%s' is neither a BAL address nor an idNat_PS", safe);
		ctx->user_key[0] = '\0';
		ctx->reason = "invalid_user";
		return PAM_USER_UNKNOWN;
	}

	if (ctx->relax_owner)
		flags |= MSS_SNAPSHOT_ANY_OWNER;
	path = mss_config_str(ctx->cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	if (path == NULL || mss_snapshot_open(path, flags, &ctx->snap, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "directory snapshot: %s", path != NULL ? err : "[directory] snapshot unset");
		ctx->reason = "snapshot_unavailable";
		return PAM_AUTHINFO_UNAVAIL;
	}
	/* A stale snapshot may still hold people who left or were suspended: refuse, as a
	   temporary failure the client may retry once `mssctl sync` has run. */
	if (mss_snapshot_age(ctx->snap, time(NULL)) > mss_config_num(ctx->cfg, MSS_OPT_DIRECTORY_MAX_AGE)) {
		mss_pam_log(ctx, LOG_ERR, "directory snapshot %s is older than [directory] max_age", path);
		ctx->reason = "stale_snapshot";
		return PAM_AUTHINFO_UNAVAIL;
	}
	return PAM_SUCCESS;
}

static void cleanup(struct mss_pam *ctx)
{
	mss_snapshot_close(ctx->snap);
	mss_config_free(ctx->cfg);
	ctx->snap = NULL;
	ctx->cfg = NULL;
}

/* One record per call. Returns rc, or PAM_AUTHINFO_UNAVAIL when the trail cannot be
   written (an unrecorded login must not happen). */
static int audit(struct mss_pam *ctx, const char *event, int rc)
{
	struct mss_audit_record rec = MSS_AUDIT_RECORD_INIT;
	struct mss_audit *a;
	char err[512];

	if (ctx->cfg == NULL)
		return rc == PAM_SUCCESS ? PAM_AUTHINFO_UNAVAIL : rc;
	rec.event = event;
	rec.service = ctx->service;
	rec.client = ctx->rhost;
	rec.method = ctx->method;
	rec.auth_user = ctx->user_key[0] != '\0' ? ctx->user_key : ctx->user;
	rec.actor = ctx->actor[0] != '\0' ? ctx->actor : NULL;
	rec.bal = !ctx->user_is_idnat && ctx->user_key[0] != '\0' ? ctx->user_key : NULL;
	rec.bal_type = ctx->bal_type[0] != '\0' ? ctx->bal_type : NULL;
	rec.decision = rc == PAM_SUCCESS ? "ok" : "fail";
	rec.reason = rc == PAM_SUCCESS ? "ok" : ctx->reason;
	a = mss_audit_open(ctx->cfg, "pam", err, sizeof(err));
	if (a == NULL || mss_audit_write(a, &rec, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "audit trail: %s", err);
		mss_audit_close(a);
		return rc == PAM_SUCCESS ? PAM_AUTHINFO_UNAVAIL : rc;
	}
	mss_audit_close(a);
	return rc;
}

/* ---- authorisation shared by the methods ---- */

static void set_bal_type(struct mss_pam *ctx, const struct mss_bal *bal)
{
	if (bal->type.len > 0 && bal->type.len < sizeof(ctx->bal_type)) {
		memcpy(ctx->bal_type, bal->type.p, bal->type.len);
		ctx->bal_type[bal->type.len] = '\0';
	}
}

int mss_pam_user_bal(struct mss_pam *ctx, struct mss_bal *bal_r)
{
	int r = mss_snapshot_bal(ctx->snap, ctx->user_key, strlen(ctx->user_key), bal_r);

	if (r <= 0) {
		ctx->reason = r < 0 ? "internal_error" : mss_access_code(MSS_ACCESS_UNKNOWN_BAL);
		return r < 0 ? PAM_AUTHINFO_UNAVAIL : PAM_USER_UNKNOWN;
	}
	set_bal_type(ctx, bal_r);
	return PAM_SUCCESS;
}

int mss_pam_authorize_person(struct mss_pam *ctx, const char *idnat)
{
	struct mss_person person;
	struct mss_bal bal;
	enum mss_access a;
	int r;

	if (ctx->user_is_idnat) {
		/* A console login as the person: the card (or token) must be theirs. */
		if (strcmp(idnat, ctx->user_key) != 0) {
			ctx->reason = "not_this_person";
			return PAM_AUTH_ERR;
		}
		r = mss_snapshot_person(ctx->snap, idnat, strlen(idnat), &person);
		if (r < 0) {
			ctx->reason = "internal_error";
			return PAM_AUTHINFO_UNAVAIL;
		}
		if (r == 0 || person.status != 'A') {
			ctx->reason = r == 0 ? mss_access_code(MSS_ACCESS_UNKNOWN_PERSON)
					     : mss_access_code(MSS_ACCESS_SUSPENDED_PERSON);
			return PAM_AUTH_ERR;
		}
		snprintf(ctx->actor, sizeof(ctx->actor), "%s", idnat);
		return PAM_SUCCESS;
	}
	memset(&bal, 0, sizeof(bal));
	a = mss_access_person(ctx->snap, ctx->user_key, idnat, &bal);
	set_bal_type(ctx, &bal);
	ctx->reason = mss_access_code(a);
	switch (a) {
	case MSS_ACCESS_ALLOW:
		snprintf(ctx->actor, sizeof(ctx->actor), "%s", idnat);
		return PAM_SUCCESS;
	case MSS_ACCESS_UNKNOWN_BAL:
		return PAM_USER_UNKNOWN;
	case MSS_ACCESS_ERROR:
		return PAM_AUTHINFO_UNAVAIL;
	default:
		/* Who tried is still worth recording, though not allowed. */
		snprintf(ctx->actor, sizeof(ctx->actor), "%s", idnat);
		mss_pam_log(ctx, LOG_NOTICE, "idNat_PS %s refused on %s: %s", idnat, ctx->user_key,
			    mss_access_reason(a));
		return PAM_AUTH_ERR;
	}
}

/* ---- authentication ---- */

static const char *method_name(unsigned m)
{
	return m == MSS_M_PASSWORD ? "password" : m == MSS_M_PSC ? "psc" : "cps";
}

static int run_methods(struct mss_pam *ctx)
{
	const char *authtok = NULL;
	bool asked = false;
	int rc = PAM_AUTH_ERR;

	ctx->reason = "no_method_applies";
	for (size_t i = 0; i < ctx->n_methods; i++) {
		unsigned m = ctx->methods[i];

		if (m == MSS_M_CPS) {
			ctx->method = "cps";
			rc = mss_pam_cps(ctx);
		} else {
			bool is_jwt;

			/* One prompt serves password and psc: Dovecot hands the PSC token over as
			   the password (AUTH XOAUTH2 / OAUTHBEARER). */
			if (!asked) {
				asked = true;
				if (pam_get_authtok(ctx->pamh, PAM_AUTHTOK, &authtok, NULL) != PAM_SUCCESS)
					authtok = NULL;
			}
			if (authtok == NULL) {
				ctx->reason = "no_credential";
				rc = PAM_AUTH_ERR;
				break;
			}
			is_jwt = mss_token_looks_like_jwt(authtok, strlen(authtok));
			/* A JWT never goes to the LDAP server as a password, and a password is never
			   parsed as a token. */
			if ((m == MSS_M_PSC) != is_jwt) {
				rc = MSS_PAM_NEXT;
				if (ctx->reason == NULL || strcmp(ctx->reason, "no_method_applies") == 0)
					ctx->reason = is_jwt ? "token_method_not_enabled" : "password_method_not_enabled";
				continue;
			}
			ctx->method = method_name(m);
			rc = m == MSS_M_PSC ? mss_pam_psc(ctx, authtok) : mss_pam_password(ctx, authtok);
		}
		if (rc != MSS_PAM_NEXT)
			break;
	}
	if (rc == MSS_PAM_NEXT || rc == PAM_IGNORE)
		rc = PAM_AUTH_ERR; /* nothing proved anything */
	if (rc == PAM_SUCCESS)
		ctx->reason = "ok";
	return rc;
}

static void free_data(pam_handle_t *pamh, void *data, int error_status)
{
	(void)pamh;
	(void)error_status;
	free(data);
}

PAM_EXPORT int pam_sm_authenticate(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mss_pam ctx;
	char env[64], safe[300];
	int rc;

	(void)flags;
	rc = setup(&ctx, pamh, argc, argv);
	if (rc == PAM_SUCCESS)
		rc = run_methods(&ctx);
	if (rc == PAM_SUCCESS) {
		char *actor = strdup(ctx.actor);

		/* The person, for account management and for session modules (sshd exports
		   the PAM environment); Dovecot reads neither, see conf-examples/dovecot/README-pam.md. */
		snprintf(env, sizeof(env), "MSS_ACTOR=%s", ctx.actor);
		if (actor == NULL) {
			rc = PAM_BUF_ERR;
		} else if (pam_set_data(pamh, ACTOR_DATA, actor, free_data) != PAM_SUCCESS) {
			free(actor);
			rc = PAM_BUF_ERR;
		} else if (pam_putenv(pamh, env) != PAM_SUCCESS) {
			rc = PAM_BUF_ERR;
		}
		if (rc != PAM_SUCCESS)
			ctx.reason = "internal_error";
	}
	rc = audit(&ctx, "auth", rc);
	if (rc != PAM_SUCCESS)
		pam_set_data(pamh, ACTOR_DATA, NULL, NULL); /* no actor from this or an earlier attempt */
	mss_pam_printable(ctx.user, safe, sizeof(safe));
	if (rc == PAM_SUCCESS)
		mss_pam_log(&ctx, LOG_INFO, "auth ok: user %s, method %s, actor %s", safe, ctx.method, ctx.actor);
	else
		mss_pam_log(&ctx, LOG_NOTICE, "auth failed: user %s, method %s, reason %s", safe,
			    ctx.method != NULL ? ctx.method : "-", ctx.reason);
	cleanup(&ctx);
	return rc == PAM_SUCCESS ? PAM_SUCCESS : (rc == PAM_IGNORE ? PAM_AUTH_ERR : rc);
}

PAM_EXPORT int pam_sm_setcred(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	(void)pamh;
	(void)flags;
	(void)argc;
	(void)argv;
	return PAM_SUCCESS; /* no credentials to establish: the session is the host's business */
}

/* ---- account management ---- */

/* [pam] allowed_types: SERVICE:TYPE items, '*' for every service. Unset: all allowed. */
static bool type_allowed(const struct mss_pam *ctx, const char *type)
{
	char item[96];

	if (mss_config_str(ctx->cfg, MSS_OPT_PAM_ALLOWED_TYPES) == NULL)
		return true;
	snprintf(item, sizeof(item), "*:%s", type);
	if (mss_config_list_has(ctx->cfg, MSS_OPT_PAM_ALLOWED_TYPES, item))
		return true;
	if (ctx->service == NULL || strlen(ctx->service) > 64)
		return false;
	snprintf(item, sizeof(item), "%s:%s", ctx->service, type);
	return mss_config_list_has(ctx->cfg, MSS_OPT_PAM_ALLOWED_TYPES, item);
}

static int account(struct mss_pam *ctx)
{
	const void *data = NULL;
	const char *actor = NULL;
	struct mss_bal bal;
	enum mss_access a;
	char owner[24];
	int r;

	if (pam_get_data(ctx->pamh, ACTOR_DATA, &data) == PAM_SUCCESS && data != NULL)
		actor = data;
	if (ctx->user_is_idnat)
		return mss_pam_authorize_person(ctx, actor != NULL ? actor : ctx->user_key);
	r = mss_pam_user_bal(ctx, &bal);
	if (r != PAM_SUCCESS)
		return r;
	if (!type_allowed(ctx, ctx->bal_type)) {
		ctx->reason = "type_not_allowed";
		return PAM_PERM_DENIED;
	}
	/* The person who authenticated here, else the holder of a personal BAL: the access
	   rule then checks BAL and person (active, hosted here, not suspended). */
	if (actor == NULL && strcmp(ctx->bal_type, "PER") == 0 && bal.owner.len > 0 && bal.owner.len < sizeof(owner)) {
		memcpy(owner, bal.owner.p, bal.owner.len);
		owner[bal.owner.len] = '\0';
		actor = owner;
	}
	if (actor != NULL) {
		r = mss_pam_authorize_person(ctx, actor);
		return r == PAM_AUTH_ERR ? PAM_PERM_DENIED : r;
	}
	/* Authenticated by another module on an ORG or APP BAL: the BAL itself must be usable. */
	if (bal.status != 'A' || bal.source != 'L') {
		a = bal.status != 'A' ? MSS_ACCESS_SUSPENDED_BAL : MSS_ACCESS_NOT_LOCAL_BAL;
		ctx->reason = mss_access_code(a);
		return PAM_PERM_DENIED;
	}
	ctx->reason = "ok";
	return PAM_SUCCESS;
}

PAM_EXPORT int pam_sm_acct_mgmt(pam_handle_t *pamh, int flags, int argc, const char **argv)
{
	struct mss_pam ctx;
	char safe[300];
	int rc;

	(void)flags;
	rc = setup(&ctx, pamh, argc, argv);
	if (rc == PAM_SUCCESS)
		rc = account(&ctx);
	if (rc == PAM_IGNORE)
		rc = PAM_PERM_DENIED;
	ctx.method = NULL;
	rc = audit(&ctx, "account", rc);
	if (rc != PAM_SUCCESS) {
		mss_pam_printable(ctx.user, safe, sizeof(safe));
		mss_pam_log(&ctx, LOG_NOTICE, "account refused: user %s, reason %s", safe, ctx.reason);
	}
	cleanup(&ctx);
	return rc;
}
