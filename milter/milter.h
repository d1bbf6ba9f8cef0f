/* mss-milter internals shared by its files:
 *   main.c      command line, socket, daemon, privileges, signals (the only file that runs
 *               libmilter's loop)
 *   state.c     the loaded configuration and snapshot, swapped whole on SIGHUP and when
 *               `mssctl sync` publishes a new snapshot; transactions pin what they started with
 *   callbacks.c the xxfi_* callbacks: gather what Postfix says, ask common/policy, answer
 *   verdict.c   the one mapping from a policy verdict to a milter reply
 *   smfi.c      the only file calling smfi_*: unit tests link a fake one instead
 */
#ifndef MSS_MILTER_H
#define MSS_MILTER_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

#include <libmilter/mfapi.h>

#include "policy.h"

struct mss_audit;
struct mss_config;
struct mss_snapshot;

/* ---- smfi.c: every libmilter call the callbacks make ---- */
void *mm_getpriv(SMFICTX *ctx);
int mm_setpriv(SMFICTX *ctx, void *priv);
/* NULL when the MTA did not send the macro, or sent it empty. */
const char *mm_getsymval(SMFICTX *ctx, const char *name);
/* Sets the SMTP reply; the text is made safe for libmilter ('%' doubled, no control
   characters). 0 or -1. */
int mm_setreply(SMFICTX *ctx, const char *rcode, const char *xcode, const char *text);
int mm_setsymlist(SMFICTX *ctx, int stage, const char *macros);

/* ---- state.c ---- */
enum mm_on_error { MM_ON_TEMPFAIL = 0, MM_ON_REJECT = 1 }; /* indexes of the ENUM values */

/* One loaded configuration: immutable once published, reference-counted. */
struct mm_conf {
	struct mss_config *cfg;
	struct mss_policy policy;
	enum mm_on_error on_internal_error, on_stale_snapshot;
	int refs; /* guarded by the state lock */
	/* The audit trail is opened lazily (after the privilege drop, and again after a failure
	   to open it), under audit_lock. */
	struct mm_audit_slot *audit;
};

/* One opened snapshot, reference-counted; snap is NULL when it could not be opened (why). */
struct mm_snap {
	struct mss_snapshot *snap;
	char why[512];
	int refs;
};

/* Loads and validates CONF_PATH completely (config, policy settings, socket syntax).
   Nothing is opened yet. 0 or -1 with err set. */
int mm_state_load(const char *conf_path, char *err, size_t errlen);
/* Opens the snapshot and the audit trail as the running user (after the privilege drop).
   Failures are logged, not fatal: transactions then answer on_internal_error until they
   can be opened. */
void mm_state_open(void);
/* SIGHUP: a new configuration and snapshot, swapped in only when both are valid; otherwise
   the old ones stay and err says why. 0 or -1. */
int mm_state_reload(char *err, size_t errlen);
/* The configuration in force (pinned until mm_state_release_conf). Never NULL after a
   successful mm_state_load. */
struct mm_conf *mm_state_conf(void);
/* The snapshot in force, first reopening it when `mssctl sync` replaced it or when it was
   missing (checked at most once a second). Never NULL; ->snap may be NULL. */
struct mm_snap *mm_state_snap(void);
void mm_state_release_conf(struct mm_conf *c);
void mm_state_release_snap(struct mm_snap *s);
/* The audit trail of C, opening it when needed. NULL with err set when it cannot be opened. */
struct mss_audit *mm_conf_audit(struct mm_conf *c, char *err, size_t errlen);
/* SIGTERM: from now on new transactions are answered with a temporary failure. */
void mm_state_stop(void);
bool mm_state_stopping(void);
/* Transactions in progress (SIGTERM drains them). */
void mm_state_txn_begin(void);
void mm_state_txn_end(void);
int mm_state_txns(void);
/* Frees everything (tests, clean exit); no transaction may be running. */
void mm_state_free(void);
/* The socket specification of the configuration in force ("unix:/run/..." or "inet:..."). */
const char *mm_state_socket(void);

/* Checks the [milter] socket syntax: unix:/abs/path (or local:), inet:PORT@HOST, inet6:PORT@HOST. */
int mm_socket_check(const char *spec, char *err, size_t errlen);

/* ---- verdict.c ---- */
/* The decision word of the audit record for a verdict under configuration C. */
const char *mm_decision(const struct mm_conf *c, const struct mss_verdict *v);
/* The one mapping from a verdict to what libmilter answers: ACCEPT -> SMFIS_CONTINUE;
   REJECT -> its reply and SMFIS_REJECT; INTERNAL and STALE -> the [milter]
   on_internal_error / on_stale_snapshot table: tempfail gives 451 4.3.0 and SMFIS_TEMPFAIL,
   reject gives 550 5.3.0 and SMFIS_REJECT. C may be NULL (no configuration: tempfail). */
sfsistat mm_verdict(SMFICTX *ctx, const struct mm_conf *c, const struct mss_verdict *v);

/* ---- callbacks.c ---- */
extern struct smfiDesc mm_filter;
/* Macros asked of the MTA with smfi_setsymlist, by stage (exposed for tests). */
extern const char mm_macros_envfrom[];
extern const char mm_macros_eom[];

#endif
