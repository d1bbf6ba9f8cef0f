/* Method "psc": a Pro Santé Connect access token (JWT) handed over as the password,
   validated offline by common/token.c against the JWKS file, then the person it names
   (SubjectNameID) goes through the common access rule: holder of a PER BAL, delegate of an
   ORG BAL, never an APP BAL. */
#include "pam_mss_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>

#include <security/pam_modules.h>

#include "token.h"

#define JWKS_MAX (1024 * 1024)
#define LIST_MAX 16

/* Splits a LIST option into trimmed items, in place in buf. */
static size_t split_list(const char *value, char *buf, size_t buflen, const char **items, size_t max)
{
	size_t n = 0;
	char *save = NULL;

	if (value == NULL || strlen(value) >= buflen)
		return 0;
	memcpy(buf, value, strlen(value) + 1);
	for (char *it = strtok_r(buf, ",", &save); it != NULL && n < max; it = strtok_r(NULL, ",", &save)) {
		char *end;

		while (*it == ' ' || *it == '\t')
			it++;
		end = it + strlen(it);
		while (end > it && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (*it != '\0')
			items[n++] = it;
	}
	return n;
}

int mss_pam_psc(struct mss_pam *ctx, const char *token)
{
	const char *auds[LIST_MAX], *clients[LIST_MAX], *detail = "";
	char audbuf[2048], clientbuf[2048], err[512];
	const char *jwks_path = mss_config_str(ctx->cfg, MSS_OPT_PAM_PSC_JWKS);
	struct mss_token_policy policy = {0};
	struct mss_token_claims claims;
	struct mss_jwks *jwks = NULL;
	enum mss_token_result r;
	char *text = NULL;
	size_t len;

	if (jwks_path == NULL || mss_pam_read_file(jwks_path, ctx->relax_owner, JWKS_MAX, &text, &len, err,
						   sizeof(err)) < 0 ||
	    mss_jwks_parse(text, len, &jwks, err, sizeof(err)) < 0) {
		mss_pam_log(ctx, LOG_ERR, "[pam] psc_jwks: %s", jwks_path != NULL ? err : "unset");
		free(text);
		ctx->reason = "jwks_unavailable";
		return PAM_AUTHINFO_UNAVAIL;
	}
	free(text);
	policy.issuer = mss_config_str(ctx->cfg, MSS_OPT_PAM_PSC_ISSUER);
	policy.audiences = auds;
	policy.n_audiences = split_list(mss_config_str(ctx->cfg, MSS_OPT_PAM_PSC_AUDIENCE), audbuf, sizeof(audbuf),
					auds, LIST_MAX);
	policy.client_ids = clients;
	policy.n_client_ids = split_list(mss_config_str(ctx->cfg, MSS_OPT_PAM_PSC_CLIENT_IDS), clientbuf,
					 sizeof(clientbuf), clients, LIST_MAX);
	policy.clock_skew = mss_config_num(ctx->cfg, MSS_OPT_PAM_PSC_CLOCK_SKEW);
	policy.now = time(NULL);
	r = mss_token_validate(jwks, token, strlen(token), &policy, &claims, &detail);
	mss_jwks_free(jwks);
	if (r != MSS_TOKEN_OK) {
		ctx->reason = mss_token_code(r);
		mss_pam_log(ctx, r == MSS_TOKEN_ERROR ? LOG_ERR : LOG_NOTICE, "Pro Santé Connect token refused: %s",
			    detail);
		return r == MSS_TOKEN_ERROR ? PAM_AUTHINFO_UNAVAIL : PAM_AUTH_ERR;
	}
	mss_pam_log(ctx, LOG_DEBUG, "Pro Santé Connect token of %s (%s, kid %s) accepted", claims.idnat, claims.alg,
		    claims.kid[0] != '\0' ? claims.kid : "-");
	return mss_pam_authorize_person(ctx, claims.idnat);
}
