/* pam_mss internals shared by the method files. Nothing here is exported: the version
   script (pam_mss.map) keeps only pam_sm_*. */
#ifndef PAM_MSS_INT_H
#define PAM_MSS_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <security/pam_modules.h>

#include "addr.h"
#include "config.h"
#include "snapshot.h"

/* A method's answer when the credential is not for it (a JWT for `password`, no card in
   the reader for `cps`): the next method of method= is tried. Never returned to PAM. */
#define MSS_PAM_NEXT (-1)

enum mss_pam_method {
	MSS_M_PASSWORD = 1 << 0,
	MSS_M_PSC = 1 << 1,
	MSS_M_CPS = 1 << 2,
};

struct mss_pam {
	pam_handle_t *pamh;
	bool debug;
	const char *config_path;
	unsigned methods[3]; /* in the order of method=, 0 terminated when fewer */
	size_t n_methods;

	struct mss_config *cfg;
	struct mss_snapshot *snap;
	bool relax_owner; /* not root and [directory] snapshot_owner_check = no */

	const char *service; /* PAM_SERVICE */
	const char *user;    /* PAM_USER as given */
	const char *rhost;   /* PAM_RHOST, may be NULL */
	char user_key[MSS_ADDR_MAX + 1]; /* BAL address (lower case) or idNat_PS */
	bool user_is_idnat;

	/* outcome, for the audit record and the logs */
	const char *method; /* "password", "psc", "cps" or NULL */
	char actor[24];	    /* the person's idNat_PS once known */
	char bal_type[4];
	const char *reason; /* short code: "ok", "wrong_password", "expired", access codes... */
};

/* ---- pam_mss.c ---- */
/* pam_syslog with the printable form of every %s argument already made by the caller. */
void mss_pam_log(const struct mss_pam *ctx, int priority, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* The common authorisation step once a person (IDNAT) is proven: the username is their
   idNat_PS (console) or a BAL they may act on (common/access.h). Sets ctx->actor,
   bal_type and reason. Returns PAM_SUCCESS or a failure code. */
int mss_pam_authorize_person(struct mss_pam *ctx, const char *idnat);
/* The BAL the username names, into BAL_R, with ctx->bal_type set. Returns PAM_SUCCESS,
   PAM_USER_UNKNOWN (reason unknown_bal) or PAM_AUTHINFO_UNAVAIL (corrupt snapshot). */
int mss_pam_user_bal(struct mss_pam *ctx, struct mss_bal *bal_r);
/* Copies a string into a log-safe form (control characters, '\' and non-ASCII as \xHH). */
void mss_pam_printable(const char *in, char *out, size_t outlen);

/* ---- pam_file.c: files read as root ---- */
/* Opens PATH as a file pam_mss may trust: absolute path, O_NOFOLLOW|O_CLOEXEC, a regular
   file, owned by root (or by our euid when relax_owner and we are not root), not group- or
   world-writable. Returns the fd or -1 with err. */
int mss_pam_open_safely(const char *path, bool relax_owner, char *err, size_t errlen);
/* The same check on a file another library will open by path (LDAP CA file, PKCS#11 module). */
int mss_pam_check_file(const char *path, bool relax_owner, char *err, size_t errlen);
/* Reads a whole safe file (at most max bytes) into a NUL-terminated malloc'd buffer. */
int mss_pam_read_file(const char *path, bool relax_owner, size_t max, char **buf_r, size_t *len_r, char *err,
		      size_t errlen);

/* ---- the methods: PAM code, or MSS_PAM_NEXT ---- */
int mss_pam_password(struct mss_pam *ctx, const char *password);
int mss_pam_psc(struct mss_pam *ctx, const char *token);
int mss_pam_cps(struct mss_pam *ctx);

#endif
