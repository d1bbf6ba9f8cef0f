/* Method "password": an LDAP simple bind as the person's own DN, over TLS only.
 *
 * The DN comes from the snapshot (person record, field ldap_dn): no search, so nothing the
 * user typed ever reaches a filter. The access rule runs before the bind, so a suspended
 * person or a BAL they may not use costs no bind and tells nothing about the password.
 * A password login names a personal BAL (or the idNat_PS at a console): an organisational
 * BAL is opened by a delegate through Dovecot's master-user login with their own BAL
 * (conf-examples/dovecot/README-pam.md), so the person is always known.
 */
#include "pam_mss_int.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <security/pam_modules.h>

#include "access.h"
#include "ldapconn.h"

#define PASSWORD_MAX 1024

/* A password crosses the network only inside TLS (or over the local ldapi socket). */
static bool transport_protected(const struct mss_config *cfg)
{
	const char *uri = mss_config_str(cfg, MSS_OPT_DIRECTORY_URI);

	if (uri == NULL)
		return false;
	if (strncasecmp(uri, "ldaps://", 8) == 0 || strncasecmp(uri, "ldapi://", 8) == 0)
		return true;
	return strncasecmp(uri, "ldap://", 7) == 0 && mss_config_bool(cfg, MSS_OPT_DIRECTORY_STARTTLS);
}

/* The person whose password is checked: the holder of a personal BAL, or the idNat_PS given. */
static int find_person(struct mss_pam *ctx, char *idnat, size_t idnat_len)
{
	struct mss_bal bal;
	int r;

	if (ctx->user_is_idnat) {
		snprintf(idnat, idnat_len, "%.20s", ctx->user_key); /* a valid idNat_PS: at most 20 */
		return PAM_SUCCESS;
	}
	r = mss_pam_user_bal(ctx, &bal);
	if (r != PAM_SUCCESS)
		return r;
	if (strcmp(ctx->bal_type, "APP") == 0) {
		ctx->reason = mss_access_code(MSS_ACCESS_APP_NOT_A_PERSON);
		return PAM_AUTH_ERR;
	}
	if (strcmp(ctx->bal_type, "PER") != 0) {
		ctx->reason = "delegate_login_required";
		mss_pam_log(ctx, LOG_NOTICE, "%s is an organisational BAL: a delegate logs in with their own BAL "
					     "as master user", ctx->user_key);
		return PAM_AUTH_ERR;
	}
	if (bal.owner.len == 0 || bal.owner.len >= idnat_len) {
		ctx->reason = "no_owner";
		return PAM_AUTH_ERR;
	}
	memcpy(idnat, bal.owner.p, bal.owner.len);
	idnat[bal.owner.len] = '\0';
	return PAM_SUCCESS;
}

int mss_pam_password(struct mss_pam *ctx, const char *password)
{
	struct mss_person person;
	char idnat[MSS_SNAPSHOT_IDNAT_MAX + 1], dn[1024], err[1024];
	struct ldap *ld = NULL;
	size_t plen = strlen(password);
	int rc, r;

	if (plen == 0) {
		ctx->reason = "empty_password"; /* an RFC 4513 unauthenticated bind would "succeed" */
		return PAM_AUTH_ERR;
	}
	if (plen > PASSWORD_MAX) {
		ctx->reason = "password_too_long";
		return PAM_AUTH_ERR;
	}
	rc = find_person(ctx, idnat, sizeof(idnat));
	if (rc != PAM_SUCCESS)
		return rc;
	rc = mss_pam_authorize_person(ctx, idnat);
	if (rc != PAM_SUCCESS)
		return rc;
	/* Proven only by the bind below: until then the actor is a claim. */
	rc = PAM_AUTH_ERR;
	r = mss_snapshot_person(ctx->snap, idnat, strlen(idnat), &person);
	if (r <= 0 || person.ldap_dn.len == 0 || person.ldap_dn.len >= sizeof(dn)) {
		ctx->reason = r < 0 ? "internal_error" : "no_ldap_dn";
		return r < 0 ? PAM_AUTHINFO_UNAVAIL : PAM_AUTH_ERR;
	}
	memcpy(dn, person.ldap_dn.p, person.ldap_dn.len);
	dn[person.ldap_dn.len] = '\0';

	if (!transport_protected(ctx->cfg)) {
		mss_pam_log(ctx, LOG_ERR, "[directory] uri must be ldaps://, ldapi://, or ldap:// with starttls = yes: "
					  "a password is never sent in clear");
		ctx->reason = "ldap_without_tls";
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (mss_config_str(ctx->cfg, MSS_OPT_DIRECTORY_CA_FILE) != NULL &&
	    mss_pam_check_file(mss_config_str(ctx->cfg, MSS_OPT_DIRECTORY_CA_FILE), ctx->relax_owner, err,
			       sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "[directory] ca_file: %s", err);
		ctx->reason = "config_error";
		return PAM_AUTHINFO_UNAVAIL;
	}
	if (mss_ldap_connect(ctx->cfg, mss_config_num(ctx->cfg, MSS_OPT_PAM_LDAP_TIMEOUT), &ld, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "directory unavailable: %s", err);
		ctx->reason = "directory_unavailable";
		return PAM_AUTHINFO_UNAVAIL;
	}
	r = mss_ldap_bind_password(ld, dn, password, plen, err, sizeof(err));
	mss_ldap_close(ld);
	if (r == 0) {
		ctx->reason = "ok";
		return PAM_SUCCESS;
	}
	if (r == 1) {
		ctx->reason = "wrong_password";
		mss_pam_log(ctx, LOG_DEBUG, "%s", err);
		return PAM_AUTH_ERR;
	}
	mss_pam_log(ctx, LOG_ERR, "directory unavailable: %s", err);
	ctx->reason = "directory_unavailable";
	return PAM_AUTHINFO_UNAVAIL;
}
