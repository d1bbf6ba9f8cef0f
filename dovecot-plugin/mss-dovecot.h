/* The Dovecot plugin's own logic, free of any Dovecot header: settings, who is acting, the
   login decision, the delegate's rights and the audit records. mssante-plugin.c and
   imap-mssante-plugin.c are the only files that know Dovecot 2.3 (hooks, module contexts,
   vfuncs); a port to another Dovecot version replaces them and keeps this interface.
 *
 * The BAL authorisation rule itself is common/access.h: this file only gathers the facts
 * Dovecot gives about a login (user name, master user, mechanism, passdb fields) into an
 * actor and asks access.h. */
#ifndef MSS_DOVECOT_H
#define MSS_DOVECOT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "access.h"
#include "addr.h"
#include "config.h"
#include "snapshot.h"

/* What a delegate may do on an organisational (or cabinet) BAL: `[dovecot]
   org_delegate_rights` / `cab_delegate_rights`. Holders of a PER BAL, applications on their
   APP BAL and system services have every right. */
enum mss_dc_right {
	MSS_DC_RIGHT_READ = 1 << 0,    /* message content delivered to the client */
	MSS_DC_RIGHT_FLAG = 1 << 1,    /* flags and keywords (\Seen, \Deleted...) */
	MSS_DC_RIGHT_MOVE = 1 << 2,    /* MOVE to another folder */
	MSS_DC_RIGHT_EXPUNGE = 1 << 3, /* EXPUNGE */
	MSS_DC_RIGHT_APPEND = 1 << 4,  /* APPEND, and COPY (which adds a message) */
	MSS_DC_RIGHT_MAILBOX = 1 << 5, /* create, delete, rename folders */
	MSS_DC_RIGHTS_ALL = (1 << 6) - 1,
};

/* Parses a comma-separated rights list ("read,flag"). 0, or -1 naming the unknown word. */
int mss_dc_rights_parse(const char *list, unsigned *rights_r, char *err, size_t errlen);
/* "read", "flag"... for messages and records. */
const char *mss_dc_right_name(enum mss_dc_right r);

/* Settings: the plugin reads `mssante_config` (the path of mssante.conf; default
   /etc/mssante/mssante.conf or $MSSANTE_CONF) and a few per-key overrides in Dovecot's
   `plugin {}` section, or from userdb fields (so one BAL may get other rights):
     mssante_snapshot             [directory] snapshot
     mssante_audit_directory      [audit] directory
     mssante_org_delegate_rights  [dovecot] org_delegate_rights
     mssante_cab_delegate_rights  [dovecot] cab_delegate_rights
     mssante_services             [dovecot] services
     mssante_audit_sync           [dovecot] audit_sync
   LOOKUP returns a setting's value or NULL (Dovecot: mail_user_plugin_getenv). */
typedef const char *mss_dc_lookup_fn(void *ctx, const char *name);
int mss_dc_settings_load(mss_dc_lookup_fn *lookup, void *ctx, struct mss_config **cfg_r, char *err, size_t errlen);

/* How the actor was established. */
enum mss_dc_method {
	MSS_DC_METHOD_SYSTEM = 0,  /* a service outside `[dovecot] services` (lmtp, doveadm...) */
	MSS_DC_METHOD_PASSWORD,	   /* the BAL's own login: a PER holder */
	MSS_DC_METHOD_MASTER,	   /* master-user login BAL*person */
	MSS_DC_METHOD_PASSDB,	   /* the passdb named the actor (mssante_actor field) */
	MSS_DC_METHOD_PSC,	   /* Pro Santé Connect token (XOAUTH2/OAUTHBEARER) */
	MSS_DC_METHOD_CERTIFICATE, /* TLS client certificate (SASL EXTERNAL) */
};
const char *mss_dc_method_name(enum mss_dc_method m);

/* The facts Dovecot gives about one session. Any may be NULL except user and service. */
struct mss_dc_login {
	const char *user;	 /* the Dovecot user: the BAL address */
	const char *service;	 /* imap, pop3, lmtp, doveadm... */
	const char *auth_mech;	 /* SASL mechanism: PLAIN, LOGIN, XOAUTH2, EXTERNAL... */
	const char *master_user; /* the authenticated identity of a master-user login */
	const char *actor_field; /* the `mssante_actor` userdb field (from the passdb) */
	const char *remote_ip;
};

#define MSS_DC_NAME_MAX 256

/* One session on one BAL (one Dovecot mail_user). */
struct mss_dc_session {
	struct mss_config *cfg; /* owned */
	char bal[MSS_ADDR_MAX + 1];
	char bal_type[8];
	char service[32];
	char client[64];
	char auth_user[MSS_DC_NAME_MAX]; /* who authenticated: the master user, the certificate
					   name, or the BAL */
	char actor[MSS_SNAPSHOT_IDNAT_MAX + 1]; /* idNat_PS; empty for an application or system */
	enum mss_dc_method method;
	bool enforced; /* the access policy applies (a person or application logged in) */
	bool traced;   /* actions are written to the audit trail */
	unsigned rights;
	enum mss_access decision;
	char reason[512]; /* why it was refused, for the client and the log */
};

/* Decides one login: fills S from LOGIN, the configuration CFG (S takes it over, also on
   failure) and the snapshot, writes the "login" audit record, and returns 0 (allowed) or -1
   (refused, or an internal error: S->reason says why, in a sentence fit for the client).
   System services are allowed without a record. */
int mss_dc_session_open(struct mss_dc_session *s, struct mss_config *cfg, const struct mss_dc_login *login);
void mss_dc_session_close(struct mss_dc_session *s);

/* The decision part alone, for tests: S->cfg set, S->bal etc. filled by the caller's
   LOGIN; no record written. */
enum mss_access mss_dc_decide(struct mss_dc_session *s, const struct mss_snapshot *snap,
			      const struct mss_dc_login *login);

/* May this session do R? (Always true when the policy does not apply.) */
static inline bool mss_dc_may(const struct mss_dc_session *s, enum mss_dc_right r)
{
	return (s->rights & (unsigned)r) != 0;
}
/* The sentence a client sees when a right is missing. */
void mss_dc_denied_text(const struct mss_dc_session *s, enum mss_dc_right r, char *out, size_t outlen);

/* One action to trace. NULL strings and uid 0 are omitted. */
struct mss_dc_action {
	const char *event; /* read, flag, copy, move, expunge, append, mailbox_create,
			      mailbox_delete, mailbox_rename, denied */
	const char *mailbox;	/* folder name (for copy/move/rename "SRC -> DST") */
	uint32_t uid;
	const char *message_id; /* raw header value: cleaned here */
	const char *decision;	/* NULL: "ok" */
	const char *reason;
};

/* Fills REC from the session and the action; text buffers live in SCRATCH (>= 1 KiB). */
struct mss_audit_record;
void mss_dc_record_build(const struct mss_dc_session *s, const struct mss_dc_action *act,
			 struct mss_audit_record *rec, char *scratch, size_t scratch_len);
/* Traces one action (when S->traced). With `[dovecot] audit_sync = always` the record is
   written and on disk when this returns; with batch or none it is queued, and the glue writes
   the queue a moment later (mss_dc_trace_pending, mss_dc_trace_flush: after 16 records or
   10 ms, see mssante-plugin.c) and at the end of the session. 0, or -1 with err set: the
   caller fails the operation when it still can (fail closed: no untraced read); after a failed
   flush every trace tries the waiting records first and fails while the trail refuses them. */
int mss_dc_trace(const struct mss_dc_session *s, const struct mss_dc_action *act, char *err, size_t errlen);
/* How many records of this process wait in the queue. */
size_t mss_dc_trace_pending(void);
/* Writes the waiting records. 0, or -1 with err set: they stay queued. */
int mss_dc_trace_flush(char *err, size_t errlen);
/* The last resort when the process ends and the trail still refuses them: each waiting record
   goes to FN (the glue writes it to Dovecot's error log), and the queue is emptied. */
void mss_dc_trace_discard(void (*fn)(void *ctx, const char *record, size_t len), void *ctx);

/* A Message-ID header value made fit for a record: unfolded, control characters dropped,
   surrounding blanks trimmed, at most OUTLEN-1 bytes (cut at a UTF-8 boundary). */
void mss_dc_clean_message_id(const char *in, char *out, size_t outlen);

/* Process-wide handles shared by every session of the process (Dovecot runs one user per
   imap process, but lmtp and doveadm serve many): the snapshot (reopened when replaced) and
   the audit file. Closed by mss_dc_process_deinit (plugin deinit). */
int mss_dc_snapshot(const struct mss_config *cfg, const struct mss_snapshot **snap_r, char *err, size_t errlen);
void mss_dc_process_deinit(void);

#endif
