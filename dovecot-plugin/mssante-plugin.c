/* lib90_mssante_plugin.so: the Dovecot 2.3 glue of the MSSanté BAL policy and access trace.
 * With imap-mssante-plugin.c (the IMAP companion), the only file that includes Dovecot
 * headers; the logic (settings, actor, rights, records) is in mss-dovecot.h and works for any
 * Dovecot version.
 *
 * The Dovecot way, after the core plugins:
 *  - mail_user_created: settings read once (mail_user_plugin_getenv), the login decided;
 *    a refusal sets user->error, which ends the session before any mailbox is touched
 *    (as quota and acl do for their own failures);
 *  - mailbox_allocated: vfunc overrides (as acl does), the mails' own installed by the
 *    mailbox's mail_alloc, that check the delegate's rights and always chain to super; a
 *    refused change marks the transaction, whose commit then fails with MAIL_ERROR_PERM,
 *    so the IMAP client gets NO [NOPERM];
 *  - the notify plugin's vfuncs (as mail_log does) for the trace of what was committed:
 *    flags, copy/move, expunge, append, mailbox create/delete/rename; message reads are
 *    traced where the content stream is opened for the client.
 * No network I/O: the snapshot is a local file, the audit trail a local file. */
#include "lib.h"
#include "array.h"
#include "str.h"
#include "net.h"
#include "ioloop.h"
#include "module-context.h"
#include "seq-range-array.h"
#include "mail-user.h"
#include "mail-storage-private.h"
#include "mailbox-list-private.h"
#include "mail-storage-hooks.h"
#include "imap-util.h"
/* istream.h declares a callback without a prototype (`void (*callback)()`). */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wstrict-prototypes"
#include "istream.h"
#pragma GCC diagnostic pop
#include "notify-plugin.h"

#include "header.h"
#include "mss-dovecot.h"

#define MSS_EXPORT __attribute__((visibility("default")))

MSS_EXPORT extern const char *mssante_plugin_dependencies[];
MSS_EXPORT extern const char *mssante_plugin_version;
MSS_EXPORT void mssante_plugin_init(struct module *module);
MSS_EXPORT void mssante_plugin_deinit(void);
/* For the IMAP companion (imap-mssante-plugin.c, lib95_imap_mssante_plugin.so). */
MSS_EXPORT void mssante_plugin_defer_imap_refusal(void);
MSS_EXPORT const char *mssante_plugin_user_refusal(struct mail_user *user);

#define MSSANTE_USER_CONTEXT(obj) MODULE_CONTEXT(obj, mssante_user_module)
#define MSSANTE_BOX_CONTEXT(obj) MODULE_CONTEXT_REQUIRE(obj, mssante_storage_module)
#define MSSANTE_MAIL_CONTEXT(obj) MODULE_CONTEXT_REQUIRE(obj, mssante_mail_module)

struct mssante_user {
	union mail_user_module_context module_ctx;
	struct event *event;
	struct mss_dc_session session;
	bool session_open;
	/* The source mail of a MOVE in progress: its expunge is part of the move. */
	struct mail *moving_mail;
	/* Whether the last copy was a MOVE. The notify plugin wraps us (it was loaded first),
	   so its copy callback runs after mssante_copy returned: the flag outlives the call and
	   every copy sets it afresh. */
	bool copy_is_move;
	/* > 0 while the plugin itself reads a header (no trace, no check). */
	unsigned int internal;
	/* The sentence of the last refused change, given again at commit, and its error kind. */
	char denied[512];
	enum mail_error denied_error;
	/* A refused IMAP login left for the IMAP companion to end with the reason (see
	   mssante_plugin_defer_imap_refusal): every mailbox stays closed meanwhile. */
	const char *refusal;
	/* A transaction context kept for the next transaction: a session opens one or two per
	   command (every FETCH), and most record nothing. */
	struct mssante_txn *spare_txn;
};

struct mssante_mailbox {
	union mailbox_module_context module_ctx;
};

struct mssante_mail {
	union mail_module_context module_ctx;
	uint32_t read_traced_uid; /* last uid whose read was traced by this mail object */
};

/* What the plugin keeps about one mailbox transaction: whether a change was refused in it,
   and the changes to trace once it commits (the notify plugin's callbacks). Created by the
   notify transaction_begin callback and set as the transaction's module context, so that the
   mail vfuncs find it; freed at commit or rollback. */
struct mssante_pending {
	struct mssante_pending *next;
	const char *event, *mailbox, *message_id, *reason;
	uint32_t uid;
	int saved_index;  /* >= 0: the uid is the saved_index-th uid given at commit */
	bool seen_only;	  /* a flag change that only added \Seen */
	bool part_of_read; /* ... set by the read of the same message: in its read record */
};

struct mssante_txn {
	union mailbox_transaction_module_context module_ctx;
	struct mssante_user *muser;
	pool_t pool; /* for the pending records; created with the first one */
	struct mssante_pending *head, **tail, *last;
	unsigned int saves; /* saves and copies so far, as Dovecot numbers saved uids */
	/* A \Seen-only change waits for its Message-ID until its mail moves on (resolve_message_id):
	   when it was set by FETCH BODY[], the read record that follows has it and the change needs
	   none, so Dovecot's header lookup, a few percent of such a FETCH, is not made. */
	struct mssante_pending *unresolved;
	struct mail *unresolved_mail;
	bool traced;
	bool denied; /* a change was refused: the commit fails */
};
/* Marks a refusal in a transaction that has no mssante_txn; never freed. */
static struct mssante_txn mssante_denied_txn = {.denied = TRUE};

static MODULE_CONTEXT_DEFINE_INIT(mssante_user_module, &mail_user_module_register);
static MODULE_CONTEXT_DEFINE_INIT(mssante_storage_module, &mail_storage_module_register);
static MODULE_CONTEXT_DEFINE_INIT(mssante_mail_module, &mail_module_register);
static MODULE_CONTEXT_DEFINE_INIT(mssante_list_module, &mailbox_list_module_register);

static struct notify_context *mssante_notify_ctx;
/* Set when lib95_imap_mssante_plugin.so is loaded in this (imap) process. */
static bool mssante_imap_companion;

/* The session of the user owning BOX, or NULL when the plugin does not look at it. */
static struct mssante_user *box_user(struct mailbox *box)
{
	struct mssante_user *muser = MSSANTE_USER_CONTEXT(box->storage->user);

	return muser != NULL && muser->session_open ? muser : NULL;
}

static const char *box_name(struct mailbox *box)
{
	return mailbox_get_vname(box);
}

/* The Message-ID of MAIL for a record (NULL when it has none or it cannot be read): read
   with `internal` set, so that this lookup is neither checked nor traced as a read. */
static const char *mail_message_id(struct mssante_user *muser, struct mail *mail)
{
	const char *value = NULL;
	int ret;

	muser->internal++;
	ret = mail_get_first_header(mail, "Message-ID", &value);
	muser->internal--;
	return ret > 0 ? value : NULL;
}

/* ---- the trace: records queued, written together a moment later ---- */

/* With `[dovecot] audit_sync = batch` (or none) a record is queued, and the queue goes to the
   trail once MSSANTE_FLUSH_RECORDS records wait or MSSANTE_FLUSH_MS after the first of them,
   whichever comes first: one lock and one write(2) for many records rather than six system
   calls for each, which an IMAP client would feel (make bench: imap_ratio), while a crash can
   cost only a few milliseconds of records. Also written at the end of the session.
   Once MSSANTE_FLUSH_RECORDS wait, the write is not done in the middle of the command that
   queued the last of them (a read record is queued before its body goes out): it is due at
   once, and the ioloop runs it when the command has returned and its answer is on its way,
   while the client reads that answer. Only a command that queues MSSANTE_FLUSH_NOW_RECORDS
   without going back to the ioloop writes them itself. */
#define MSSANTE_FLUSH_RECORDS 16
#define MSSANTE_FLUSH_NOW_RECORDS 64
#define MSSANTE_FLUSH_MS 10
static struct timeout *mssante_flush_to;
static bool mssante_flush_due; /* mssante_flush_to is the zero timeout */

static void flush_timer_remove(void)
{
	timeout_remove(&mssante_flush_to);
	mssante_flush_due = FALSE;
}

static void flush_trace(void *context ATTR_UNUSED)
{
	char err[512];

	flush_timer_remove();
	if (mss_dc_trace_flush(err, sizeof(err)) < 0)
		i_error("mssante: audit records wait in memory, the trail refuses them: %s "
			"(further reads and changes fail until it takes them)", err);
}

static void trace_queued(void)
{
	size_t waiting = mss_dc_trace_pending();

	if (waiting == 0)
		return;
	if (waiting >= MSSANTE_FLUSH_NOW_RECORDS || current_ioloop == NULL) {
		flush_trace(NULL);
	} else if (waiting >= MSSANTE_FLUSH_RECORDS) {
		if (!mssante_flush_due) {
			flush_timer_remove();
			mssante_flush_to = timeout_add_short(0, flush_trace, NULL);
			mssante_flush_due = TRUE;
		}
	} else if (mssante_flush_to == NULL) {
		mssante_flush_to = timeout_add_short(MSSANTE_FLUSH_MS, flush_trace, NULL);
	}
}

static void log_unwritten(void *context, const char *record, size_t len)
{
	struct mssante_user *muser = context;

	e_error(muser->event, "audit record lost from the trail, kept here: %.*s}", (int)len, record);
}

/* At the end of a session: nothing stays queued. What the trail still refuses goes to
   Dovecot's error log, the last place left for it. */
static void flush_trace_now(struct mssante_user *muser)
{
	char err[512];

	flush_timer_remove();
	if (mss_dc_trace_flush(err, sizeof(err)) < 0) {
		e_error(muser->event, "audit trail unwritable at the end of the session: %s", err);
		mss_dc_trace_discard(log_unwritten, muser);
	}
}

static void trace(struct mssante_user *muser, const struct mss_dc_action *act)
{
	char err[512];

	if (mss_dc_trace(&muser->session, act, err, sizeof(err)) < 0)
		e_error(muser->event, "audit record '%s' on %s failed: %s", act->event, muser->session.bal, err);
	trace_queued();
}

/* A refused action: traced, logged, and the sentence kept for the client. */
static void deny(struct mssante_user *muser, struct mailbox *box, enum mss_dc_right right, uint32_t uid)
{
	char reason[64];
	struct mss_dc_action act = {
		.event = "denied", .mailbox = box_name(box), .uid = uid, .decision = "deny", .reason = reason};

	mss_dc_denied_text(&muser->session, right, muser->denied, sizeof(muser->denied));
	/* Dovecot answers a refused EXPUNGE with "OK Expunge ignored" when the error is a
	   permission one (RFC 4314 habit); the delegate must see it fail: NO [CANNOT]. */
	muser->denied_error = right == MSS_DC_RIGHT_EXPUNGE ? MAIL_ERROR_NOTPOSSIBLE : MAIL_ERROR_PERM;
	i_snprintf(reason, sizeof(reason), "no_%s_right", mss_dc_right_name(right));
	trace(muser, &act);
	e_info(muser->event, "%s refused to idNat_PS %s: %s", mss_dc_right_name(right), muser->session.actor,
	       muser->denied);
	mail_storage_set_error(box->storage, muser->denied_error, muser->denied);
}

static struct mssante_txn *txn_of(struct mailbox_transaction_context *t)
{
	return MODULE_CONTEXT(t, mssante_storage_module);
}

/* Looks up the Message-ID of the change waiting for one, unless the read of the same message
   made it part of its own record. Called while that change's mail still shows its message:
   before the mail moves or goes, before the next change, at commit. */
static void resolve_message_id(struct mssante_txn *txn)
{
	struct mssante_pending *p = txn->unresolved;

	if (p == NULL)
		return;
	txn->unresolved = NULL;
	if (!p->part_of_read)
		p->message_id = p_strdup(txn->pool, mail_message_id(txn->muser, txn->unresolved_mail));
	txn->unresolved_mail = NULL;
}

static void deny_in_transaction(struct mssante_user *muser, struct mail *mail, enum mss_dc_right right)
{
	struct mssante_txn *txn = txn_of(mail->transaction);

	deny(muser, mail->box, right, mail->uid);
	if (txn != NULL)
		txn->denied = TRUE;
	else /* a NO_NOTIFY transaction, which the notify plugin does not tell us about */
		MODULE_CONTEXT_SET(mail->transaction, mssante_storage_module, &mssante_denied_txn);
}

/* ---- mail vfuncs: reads and per-message changes ---- */

/* Reasons under which Dovecot opens a message's content to hand it to the client (IMAP FETCH
   BODY[]/BODY[TEXT]/MIME parts, POP3 RETR/TOP, plain mail_get_stream). Internal opens
   (sizes, snippets, search, indexing, copying) are not reads by the actor. */
static bool reason_delivers_content(const char *reason)
{
#define REASON(s) {s, sizeof(s) - 1}
	static const struct {
		const char *text;
		size_t len;
	} reasons[] = {REASON("full mail"), REASON("mail body"), REASON("MIME part"),
		       REASON("mail stream"), REASON("RETR"), REASON("TOP")};
#undef REASON

	if (reason == NULL)
		return false;
	/* Called for each of the three or so streams a FETCH opens: the first byte decides most. */
	for (unsigned int i = 0; i < N_ELEMENTS(reasons); i++) {
		size_t n = reasons[i].len;

		if (reason[0] == reasons[i].text[0] && strncmp(reason, reasons[i].text, n) == 0 &&
		    (reason[n] == '\0' || reason[n] == ' '))
			return true;
	}
	return false;
}

/* May the actor read MAIL's content? -1 (refusal traced, error set on the storage) if not. */
static int read_allowed(struct mssante_user *muser, struct mail *mail)
{
	if (mss_dc_may(&muser->session, MSS_DC_RIGHT_READ))
		return 0;
	deny(muser, mail->box, MSS_DC_RIGHT_READ, mail->uid);
	return -1;
}

/* The Message-ID as the first block of the message's stream shows it: the header is there,
   about to be sent, and a lookup through Dovecot's cache would cost the FETCH more than the
   rest of the trace. "" when the header has none, NULL when the block does not tell. The
   stream is not moved (peeked, not read). */
static const char *stream_message_id(struct istream *input)
{
	const unsigned char *data, *value;
	size_t size, len;
	int r;

	if (input->v_offset != 0 || i_stream_read_more(input, &data, &size) <= 0)
		return NULL;
	r = mss_header_find(data, size, "Message-ID", &value, &len);
	return r > 0 ? t_strndup(value, len) : r == 0 ? "" : NULL;
}

/* Traces one read whose content stream is open; -1 (error set on the storage) when the record
   cannot be queued: then the content must not go out. */
static int read_trace(struct mssante_user *muser, struct mssante_mail *mmail, struct mail *mail,
		      const char *message_id)
{
	struct mss_dc_action act = {.event = "read", .mailbox = box_name(mail->box), .uid = mail->uid};
	char err[512];

	/* The \Seen a FETCH BODY[] sets (just before the body, see imap-fetch.c) is part of this
	   read: no flag record of its own. */
	{
		struct mssante_txn *txn = txn_of(mail->transaction);
		struct mssante_pending *last = txn != NULL ? txn->last : NULL;

		if (last != NULL && last->seen_only && last->uid == mail->uid && strcmp(last->mailbox, act.mailbox) == 0)
			last->part_of_read = TRUE;
	}
	act.message_id = message_id;
	if (mss_dc_trace(&muser->session, &act, err, sizeof(err)) < 0) {
		/* Fail closed: no read that the trail does not hold. */
		e_error(muser->event, "audit record 'read' on %s failed: %s", muser->session.bal, err);
		mail_storage_set_error(mail->box->storage, MAIL_ERROR_TEMP,
				       "mssante: the access trace cannot be written; try again later");
		return -1;
	}
	trace_queued();
	mmail->read_traced_uid = mail->uid;
	return 0;
}

/* Whether this read is one the trace has not seen yet. */
static bool read_untraced(struct mssante_user *muser, struct mssante_mail *mmail, struct mail *mail)
{
	return muser->session.traced && mmail->read_traced_uid != mail->uid;
}

static int mssante_mail_get_stream(struct mail *_mail, bool get_body, struct message_size *hdr_size,
				   struct message_size *body_size, struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT(mail);
	struct mssante_user *muser;
	const char *message_id;

	if (!get_body || !reason_delivers_content(mail->get_stream_reason) || (muser = box_user(_mail->box)) == NULL ||
	    muser->internal != 0)
		return mmail->module_ctx.super.get_stream(_mail, get_body, hdr_size, body_size, stream_r);
	if (read_allowed(muser, _mail) < 0)
		return -1;
	if (mmail->module_ctx.super.get_stream(_mail, get_body, hdr_size, body_size, stream_r) < 0)
		return -1;
	if (!read_untraced(muser, mmail, _mail))
		return 0;
	message_id = stream_message_id(*stream_r);
	if (message_id == NULL) {
		/* A header longer than the first block: Dovecot's lookup, which may move or replace
		   the mail's stream; the stream is asked for again after it. */
		message_id = mail_message_id(muser, _mail);
		if (mmail->module_ctx.super.get_stream(_mail, get_body, hdr_size, body_size, stream_r) < 0)
			return -1;
	}
	return read_trace(muser, mmail, _mail, message_id != NULL && message_id[0] != '\0' ? message_id : NULL);
}

static int mssante_mail_get_binary_stream(struct mail *_mail, const struct message_part *part, bool include_hdr,
					  uoff_t *size_r, unsigned int *lines_r, bool *binary_r,
					  struct istream **stream_r)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT(mail);
	struct mssante_user *muser = box_user(_mail->box);

	/* stream_r NULL: only the size is wanted (FETCH BINARY.SIZE). Checked and traced before
	   super: the Message-ID lookup must not move the stream super returns. */
	if (muser != NULL && stream_r != NULL && muser->internal == 0 &&
	    (read_allowed(muser, _mail) < 0 ||
	     (read_untraced(muser, mmail, _mail) && read_trace(muser, mmail, _mail, mail_message_id(muser, _mail)) < 0)))
		return -1;
	return mmail->module_ctx.super.get_binary_stream(_mail, part, include_hdr, size_r, lines_r, binary_r,
							 stream_r);
}

static void mssante_mail_update_flags(struct mail *_mail, enum modify_type modify_type, enum mail_flags flags)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT(mail);
	struct mssante_user *muser = box_user(_mail->box);

	if (muser != NULL && !mss_dc_may(&muser->session, MSS_DC_RIGHT_FLAG)) {
		/* \Seen set by a FETCH BODY[] comes with reading, not a flag change of the actor's:
		   dropped without failing the FETCH. Anything else is refused. */
		if (modify_type != MODIFY_REPLACE && (flags & ENUM_NEGATE(MAIL_SEEN)) == 0)
			return;
		deny_in_transaction(muser, _mail, MSS_DC_RIGHT_FLAG);
		return;
	}
	mmail->module_ctx.super.update_flags(_mail, modify_type, flags);
}

static void mssante_mail_update_keywords(struct mail *_mail, enum modify_type modify_type,
					 struct mail_keywords *keywords)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT(mail);
	struct mssante_user *muser = box_user(_mail->box);

	if (muser != NULL && !mss_dc_may(&muser->session, MSS_DC_RIGHT_FLAG)) {
		deny_in_transaction(muser, _mail, MSS_DC_RIGHT_FLAG);
		return;
	}
	mmail->module_ctx.super.update_keywords(_mail, modify_type, keywords);
}

static void mssante_mail_expunge(struct mail *_mail)
{
	struct mail_private *mail = (struct mail_private *)_mail;
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT(mail);
	struct mssante_user *muser = box_user(_mail->box);
	bool moving;

	if (muser == NULL) {
		mmail->module_ctx.super.expunge(_mail);
		return;
	}
	/* The expunge that ends a MOVE was allowed with the move itself. */
	moving = muser->moving_mail == _mail;
	muser->moving_mail = NULL;
	if (!moving && !mss_dc_may(&muser->session, MSS_DC_RIGHT_EXPUNGE)) {
		deny_in_transaction(muser, _mail, MSS_DC_RIGHT_EXPUNGE);
		return;
	}
	mmail->module_ctx.super.expunge(_mail);
}

/* The mail is about to show another message, or to go: a change of its message still
   waiting for its Message-ID gets it now. */
static void mail_moving_on(struct mail *mail)
{
	struct mssante_txn *txn = txn_of(mail->transaction);

	if (txn != NULL && txn->unresolved_mail == mail)
		resolve_message_id(txn);
}

static void mssante_mail_set_seq(struct mail *_mail, uint32_t seq, bool saving)
{
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT((struct mail_private *)_mail);

	mail_moving_on(_mail);
	mmail->module_ctx.super.set_seq(_mail, seq, saving);
}

static bool mssante_mail_set_uid(struct mail *_mail, uint32_t uid)
{
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT((struct mail_private *)_mail);

	mail_moving_on(_mail);
	return mmail->module_ctx.super.set_uid(_mail, uid);
}

static void mssante_mail_free(struct mail *_mail)
{
	struct mssante_mail *mmail = MSSANTE_MAIL_CONTEXT((struct mail_private *)_mail);

	mail_moving_on(_mail);
	mmail->module_ctx.super.free(_mail);
}

/* Installs the mail vfuncs on each mail of a mailbox the plugin looks at. Done here, in the
   mailbox's mail_alloc, rather than in a mail_allocated hook: Dovecot's hook machinery walks
   the whole vfunc table for each plugin's layer of each mail allocated (for this layer about
   800 instructions, and a FETCH allocates two mails): a fifth of what the plugin added to a
   FETCH before the answer (callgrind). mail_alloc() runs the hooks after this returns, so
   these vfuncs sit below those of every plugin that uses them: the notify plugin wraps them as
   it did (it is loaded first), and so does a plugin loaded after this one, which a hook would
   have put below. Either way a refused change is refused before the storage makes it, and the
   transaction it marks fails as a whole. */
static struct mail *mssante_mail_alloc(struct mailbox_transaction_context *t, enum mail_fetch_field wanted_fields,
				       struct mailbox_header_lookup_ctx *wanted_headers)
{
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(t->box);
	struct mail *_mail = mbox->module_ctx.super.mail_alloc(t, wanted_fields, wanted_headers);
	struct mail_private *mail = (struct mail_private *)_mail;
	/* The vfuncs as the storage set them; vlast is not set yet (the hooks set it). */
	struct mail_vfuncs *v = &mail->v;
	struct mssante_mail *mmail = p_new(mail->pool, struct mssante_mail, 1);

	mmail->module_ctx.super = *v;

	v->get_stream = mssante_mail_get_stream;
	v->get_binary_stream = mssante_mail_get_binary_stream;
	v->update_flags = mssante_mail_update_flags;
	v->update_keywords = mssante_mail_update_keywords;
	v->expunge = mssante_mail_expunge;
	v->set_seq = mssante_mail_set_seq;
	v->set_uid = mssante_mail_set_uid;
	v->free = mssante_mail_free;
	MODULE_CONTEXT_SET(mail, mssante_mail_module, mmail);
	return _mail;
}

/* ---- a refused IMAP login waiting for the companion's BYE ---- */

/* The user of BOX when its login was refused (NULL otherwise). */
static struct mssante_user *refused_user(struct mail_user *user)
{
	struct mssante_user *muser = MSSANTE_USER_CONTEXT(user);

	return muser != NULL && muser->refusal != NULL ? muser : NULL;
}

static int refused_fail(struct mailbox *box)
{
	mail_storage_set_error(box->storage, MAIL_ERROR_PERM, refused_user(box->storage->user)->refusal);
	return -1;
}

static int refused_open(struct mailbox *box)
{
	return refused_fail(box);
}

static int refused_create_box(struct mailbox *box, const struct mailbox_update *update ATTR_UNUSED,
			      bool directory ATTR_UNUSED)
{
	return refused_fail(box);
}

static int refused_delete_box(struct mailbox *box)
{
	return refused_fail(box);
}

static int refused_rename_box(struct mailbox *src, struct mailbox *dest ATTR_UNUSED)
{
	return refused_fail(src);
}

/* Commands the client pipelined after LOGIN run before the companion's BYE: none of them may
   open, change or even list a folder of the BAL. */
static void refused_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct mssante_mailbox *mbox = p_new(box->pool, struct mssante_mailbox, 1);

	mbox->module_ctx.super = *v;
	box->vlast = &mbox->module_ctx.super;
	v->open = refused_open;
	v->create_box = refused_create_box;
	v->delete_box = refused_delete_box;
	v->rename_box = refused_rename_box;
	MODULE_CONTEXT_SET(box, mssante_storage_module, mbox);
}

static const struct mailbox_info *refused_iter_next(struct mailbox_list_iterate_context *ctx ATTR_UNUSED)
{
	return NULL;
}

static void mssante_mailbox_list_created(struct mailbox_list *list)
{
	struct mailbox_list_vfuncs *v = list->vlast;
	union mailbox_list_module_context *lctx;

	if (refused_user(list->ns->user) == NULL)
		return;
	lctx = p_new(list->pool, union mailbox_list_module_context, 1);
	lctx->super = *v;
	list->vlast = &lctx->super;
	v->iter_next = refused_iter_next;
	MODULE_CONTEXT_SET_SELF(list, mssante_list_module, lctx);
}

void mssante_plugin_defer_imap_refusal(void)
{
	mssante_imap_companion = TRUE;
}

const char *mssante_plugin_user_refusal(struct mail_user *user)
{
	struct mssante_user *muser = refused_user(user);

	return muser != NULL ? muser->refusal : NULL;
}

/* ---- mailbox vfuncs: saves, copies, folders, commits ---- */

static int mssante_save_begin(struct mail_save_context *ctx, struct istream *input)
{
	struct mailbox *box = ctx->transaction->box;
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(box);
	struct mssante_user *muser = box_user(box);

	/* A copy done by saving was checked by mssante_copy. */
	if (muser != NULL && !ctx->copying_or_moving && !mss_dc_may(&muser->session, MSS_DC_RIGHT_APPEND)) {
		deny(muser, box, MSS_DC_RIGHT_APPEND, 0);
		return -1;
	}
	return mbox->module_ctx.super.save_begin(ctx, input);
}

static int mssante_copy(struct mail_save_context *ctx, struct mail *mail)
{
	struct mailbox *box = ctx->transaction->box;
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(box);
	struct mssante_user *muser = box_user(box);
	enum mss_dc_right right;
	int ret;

	if (muser == NULL)
		return mbox->module_ctx.super.copy(ctx, mail);
	right = ctx->moving ? MSS_DC_RIGHT_MOVE : MSS_DC_RIGHT_APPEND;
	if (!mss_dc_may(&muser->session, right)) {
		deny(muser, box, right, mail->uid);
		mailbox_save_cancel(&ctx);
		return -1;
	}
	muser->copy_is_move = ctx->moving;
	muser->moving_mail = ctx->moving ? (ctx->copy_src_mail != NULL ? ctx->copy_src_mail : mail) : NULL;
	ret = mbox->module_ctx.super.copy(ctx, mail);
	if (ret < 0)
		muser->moving_mail = NULL;
	return ret;
}

static int mssante_create_box(struct mailbox *box, const struct mailbox_update *update, bool directory)
{
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(box);
	struct mssante_user *muser = box_user(box);

	/* INBOX appears by itself on a first login: not the actor's doing. */
	if (muser != NULL && !box->inbox_user && !mss_dc_may(&muser->session, MSS_DC_RIGHT_MAILBOX)) {
		deny(muser, box, MSS_DC_RIGHT_MAILBOX, 0);
		return -1;
	}
	return mbox->module_ctx.super.create_box(box, update, directory);
}

static int mssante_delete_box(struct mailbox *box)
{
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(box);
	struct mssante_user *muser = box_user(box);

	if (muser != NULL && !mss_dc_may(&muser->session, MSS_DC_RIGHT_MAILBOX)) {
		deny(muser, box, MSS_DC_RIGHT_MAILBOX, 0);
		return -1;
	}
	return mbox->module_ctx.super.delete_box(box);
}

static int mssante_rename_box(struct mailbox *src, struct mailbox *dest)
{
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(src);
	struct mssante_user *muser = box_user(src);

	if (muser != NULL && !mss_dc_may(&muser->session, MSS_DC_RIGHT_MAILBOX)) {
		deny(muser, src, MSS_DC_RIGHT_MAILBOX, 0);
		return -1;
	}
	return mbox->module_ctx.super.rename_box(src, dest);
}

static int mssante_transaction_commit(struct mailbox_transaction_context *t,
				      struct mail_transaction_commit_changes *changes_r)
{
	struct mailbox *box = t->box;
	struct mssante_mailbox *mbox = MSSANTE_BOX_CONTEXT(box);
	struct mssante_user *muser = box_user(box);

	if (muser != NULL && txn_of(t) != NULL && txn_of(t)->denied) {
		/* A change was refused: nothing of this transaction happens, and the command
		   fails with the reason (NO [NOPERM] ...). */
		mbox->module_ctx.super.transaction_rollback(t);
		mail_storage_set_error(box->storage, muser->denied_error, muser->denied);
		return -1;
	}
	return mbox->module_ctx.super.transaction_commit(t, changes_r);
}

static void mssante_mailbox_allocated(struct mailbox *box)
{
	struct mailbox_vfuncs *v = box->vlast;
	struct mssante_mailbox *mbox;

	if (refused_user(box->storage->user) != NULL) {
		refused_mailbox_allocated(box);
		return;
	}
	if (box_user(box) == NULL)
		return;
	mbox = p_new(box->pool, struct mssante_mailbox, 1);
	mbox->module_ctx.super = *v;
	box->vlast = &mbox->module_ctx.super;

	v->save_begin = mssante_save_begin;
	v->copy = mssante_copy;
	v->create_box = mssante_create_box;
	v->delete_box = mssante_delete_box;
	v->rename_box = mssante_rename_box;
	v->transaction_commit = mssante_transaction_commit;
	v->mail_alloc = mssante_mail_alloc;
	MODULE_CONTEXT_SET(box, mssante_storage_module, mbox);
}

/* ---- notify vfuncs: the trace of committed changes ---- */

/* Returns the context for every transaction of a session the plugin looks at (a refused
   change must be able to fail it); only a traced one collects records. Most transactions
   (one per FETCH) record nothing: the pool comes with the first record. */
static void *mssante_txn_begin(struct mailbox_transaction_context *t)
{
	struct mssante_user *muser = box_user(t->box);
	struct mssante_txn *txn;

	if (muser == NULL)
		return NULL;
	txn = muser->spare_txn;
	if (txn != NULL)
		muser->spare_txn = NULL;
	else
		txn = i_new(struct mssante_txn, 1);
	txn->muser = muser;
	txn->traced = muser->session.traced;
	txn->tail = &txn->head;
	MODULE_CONTEXT_SET(t, mssante_storage_module, txn);
	return txn;
}

static void txn_free(struct mssante_txn *txn)
{
	struct mssante_user *muser = txn->muser;

	pool_unref(&txn->pool);
	if (muser->spare_txn == NULL) {
		i_zero(txn);
		muser->spare_txn = txn;
	} else {
		i_free(txn);
	}
}

/* A change to trace at commit. LATER: its Message-ID is looked up only if needed. */
static struct mssante_pending *pending_add(struct mssante_txn *txn, const char *event, struct mail *mail, bool later)
{
	struct mssante_pending *p;

	resolve_message_id(txn);
	if (txn->pool == NULL)
		txn->pool = pool_alloconly_create("mssante txn", 1024);
	p = p_new(txn->pool, struct mssante_pending, 1);

	p->event = event;
	p->mailbox = p_strdup(txn->pool, box_name(mail->box));
	if (later) {
		txn->unresolved = p;
		txn->unresolved_mail = mail;
	} else {
		p->message_id = p_strdup(txn->pool, mail_message_id(txn->muser, mail));
	}
	p->uid = mail->uid;
	p->saved_index = -1;
	*txn->tail = p;
	txn->tail = &p->next;
	txn->last = p;
	return p;
}

static void mssante_mail_save(void *_txn, struct mail *mail)
{
	struct mssante_txn *txn = _txn;
	struct mssante_pending *p;

	if (txn == NULL || !txn->traced)
		return;
	p = pending_add(txn, "append", mail, false);
	p->saved_index = (int)txn->saves++;
	/* Dovecot gives the saved uids at commit only when asked to. */
	mail->transaction->flags |= MAILBOX_TRANSACTION_FLAG_ASSIGN_UIDS;
}

static void mssante_mail_copy(void *_txn, struct mail *src, struct mail *dst)
{
	struct mssante_txn *txn = _txn;
	struct mssante_pending *p;

	if (txn == NULL || !txn->traced)
		return;
	/* The source uid identifies the message; the record names both folders. */
	p = pending_add(txn, txn->muser->copy_is_move ? "move" : "copy", src, false);
	txn->muser->copy_is_move = false;
	p->mailbox = p_strdup_printf(txn->pool, "%s -> %s", box_name(src->box), box_name(dst->box));
	txn->saves++;
}

static void mssante_mail_expunge_notify(void *_txn, struct mail *mail)
{
	struct mssante_txn *txn = _txn;

	/* The expunge ending a MOVE is in the "move" record of the destination (notify calls
	   this before mssante_mail_expunge, which clears moving_mail). */
	if (txn != NULL && txn->traced && txn->muser->moving_mail != mail)
		(void)pending_add(txn, "expunge", mail, false);
}

static void mssante_mail_update_flags_notify(void *_txn, struct mail *mail, enum mail_flags old_flags)
{
	struct mssante_txn *txn = _txn;
	struct mssante_pending *p;
	enum mail_flags new_flags;
	string_t *str;
	bool seen_only;

	if (txn == NULL || !txn->traced)
		return;
	/* The flags before and after: who set \Deleted is what a trace is asked about. */
	old_flags &= ENUM_NEGATE(MAIL_RECENT);
	new_flags = mail_get_flags(mail) & ENUM_NEGATE(MAIL_RECENT);
	seen_only = (old_flags | MAIL_SEEN) == new_flags && (old_flags & MAIL_SEEN) == 0;
	p = pending_add(txn, "flag", mail, seen_only);
	p->seen_only = seen_only;
	str = t_str_new(64);
	str_append_c(str, '(');
	imap_write_flags(str, old_flags, NULL);
	str_append(str, ") -> (");
	imap_write_flags(str, new_flags, NULL);
	str_append_c(str, ')');
	p->reason = p_strdup(txn->pool, str_c(str));
}

static void mssante_mail_update_keywords_notify(void *_txn, struct mail *mail,
						const char *const *old_keywords ATTR_UNUSED)
{
	struct mssante_txn *txn = _txn;

	if (txn != NULL && txn->traced)
		pending_add(txn, "flag", mail, false)->reason = "keywords";
}

static void mssante_txn_commit(void *_txn, struct mail_transaction_commit_changes *changes)
{
	struct mssante_txn *txn = _txn;
	struct seq_range_iter iter;

	if (txn == NULL)
		return;
	resolve_message_id(txn);
	seq_range_array_iter_init(&iter, &changes->saved_uids);
	for (struct mssante_pending *p = txn->head; p != NULL; p = p->next) {
		struct mss_dc_action act = {.event = p->event,
					    .mailbox = p->mailbox,
					    .uid = p->uid,
					    .message_id = p->message_id,
					    .reason = p->reason};
		uint32_t uid;

		if (p->part_of_read)
			continue;
		if (p->saved_index >= 0)
			act.uid = seq_range_array_iter_nth(&iter, (unsigned int)p->saved_index, &uid) ? uid : 0;
		trace(txn->muser, &act);
	}
	txn_free(txn);
}

static void mssante_txn_rollback(void *_txn)
{
	struct mssante_txn *txn = _txn;

	if (txn != NULL)
		txn_free(txn);
}

static void mailbox_event(struct mailbox *box, const char *event, const char *name)
{
	struct mssante_user *muser = box_user(box);
	struct mss_dc_action act = {.event = event, .mailbox = name};

	if (muser != NULL)
		trace(muser, &act);
}

static void mssante_mailbox_create(struct mailbox *box)
{
	mailbox_event(box, "mailbox_create", box_name(box));
}

static void mssante_mailbox_delete_commit(void *txn ATTR_UNUSED, struct mailbox *box)
{
	mailbox_event(box, "mailbox_delete", box_name(box));
}

static void mssante_mailbox_rename(struct mailbox *src, struct mailbox *dest)
{
	mailbox_event(src, "mailbox_rename", t_strdup_printf("%s -> %s", box_name(src), box_name(dest)));
}

static const struct notify_vfuncs mssante_notify_vfuncs = {
	.mail_transaction_begin = mssante_txn_begin,
	.mail_save = mssante_mail_save,
	.mail_copy = mssante_mail_copy,
	.mail_expunge = mssante_mail_expunge_notify,
	.mail_update_flags = mssante_mail_update_flags_notify,
	.mail_update_keywords = mssante_mail_update_keywords_notify,
	.mail_transaction_commit = mssante_txn_commit,
	.mail_transaction_rollback = mssante_txn_rollback,
	.mailbox_create = mssante_mailbox_create,
	.mailbox_delete_commit = mssante_mailbox_delete_commit,
	.mailbox_rename = mssante_mailbox_rename,
};

/* ---- the user: settings and the login decision ---- */

static const char *plugin_lookup(void *ctx, const char *name)
{
	return mail_user_plugin_getenv(ctx, name);
}

/* A field of the auth reply for this login (master_user, auth_mech, mssante_actor). Read
   from the reply itself rather than from plugin settings, so that a value in dovecot.conf
   can never stand for a per-login fact. */
static const char *userdb_field(struct mail_user *user, const char *key)
{
	size_t n = strlen(key);

	if (user->userdb_fields == NULL)
		return NULL;
	for (const char *const *f = user->userdb_fields; *f != NULL; f++) {
		if (strncmp(*f, key, n) == 0 && (*f)[n] == '=')
			return *f + n + 1;
	}
	return NULL;
}

static void mssante_user_deinit(struct mail_user *user)
{
	struct mssante_user *muser = MSSANTE_USER_CONTEXT(user);

	i_assert(muser != NULL);
	flush_trace_now(muser);
	i_free(muser->spare_txn);
	if (muser->session_open)
		mss_dc_session_close(&muser->session);
	muser->session_open = FALSE;
	event_unref(&muser->event);
	muser->module_ctx.super.deinit(user);
}

static void mssante_mail_user_created(struct mail_user *user)
{
	struct mail_user_vfuncs *v = user->vlast;
	struct mssante_user *muser, *creator;
	struct mss_config *cfg;
	struct mss_dc_login login;
	char err[1024];

	if (user->autocreated) {
		/* Users Dovecot makes on its own (shared namespaces, raw mail of deliveries) are no
		   login. Another BAL reached through a shared namespace would bypass the policy. */
		creator = user->creator == NULL ? NULL : MSSANTE_USER_CONTEXT(user->creator);
		if (creator != NULL && creator->session_open && creator->session.enforced)
			user->error = p_strdup(user->pool, "mssante: shared namespaces are not supported: "
							   "open the other BAL by logging in to it");
		return;
	}
	muser = p_new(user->pool, struct mssante_user, 1);
	muser->event = event_create(user->event);
	event_set_append_log_prefix(muser->event, "mssante: ");
	muser->module_ctx.super = *v;
	user->vlast = &muser->module_ctx.super;
	v->deinit = mssante_user_deinit;
	MODULE_CONTEXT_SET(user, mssante_user_module, muser);

	if (mss_dc_settings_load(plugin_lookup, user, &cfg, err, sizeof(err)) < 0) {
		e_error(muser->event, "%s", err);
		user->error = p_strdup_printf(user->pool, "mssante: %s", err);
		return;
	}
	i_zero(&login);
	login.user = user->username;
	login.service = user->service != NULL ? user->service : "";
	login.auth_mech = user->auth_mech != NULL ? user->auth_mech : userdb_field(user, "auth_mech");
	login.master_user = userdb_field(user, "master_user");
	login.actor_field = userdb_field(user, "mssante_actor");
	if (user->conn.remote_ip != NULL && user->conn.remote_ip->family != 0)
		login.remote_ip = net_ip2addr(user->conn.remote_ip);

	muser->session_open = TRUE;
	if (mss_dc_session_open(&muser->session, cfg, &login) < 0) {
		e_info(muser->event, "refused: %s", muser->session.reason);
		if (mssante_imap_companion && strcmp(login.service, "imap") == 0) {
			/* The IMAP companion ends the session with the reason in its BYE; until
			   then no folder can be opened or listed. */
			muser->refusal = p_strdup_printf(user->pool, "mssante: %s", muser->session.reason);
		} else {
			/* Ends the session: Dovecot's own BYE (Internal error) for the client, the
			   reason in the log and the trail. Nothing below runs for this user. */
			user->error = p_strdup_printf(user->pool, "mssante: %s", muser->session.reason);
		}
		mss_dc_session_close(&muser->session);
		muser->session_open = FALSE;
		return;
	}
	if (muser->session.enforced)
		e_debug(muser->event, "BAL %s (%s) opened by %s, method %s", muser->session.bal,
			muser->session.bal_type,
			muser->session.actor[0] != '\0' ? muser->session.actor : muser->session.auth_user,
			mss_dc_method_name(muser->session.method));
}

static struct mail_storage_hooks mssante_mail_storage_hooks = {
	.mail_user_created = mssante_mail_user_created,
	.mailbox_list_created = mssante_mailbox_list_created,
	.mailbox_allocated = mssante_mailbox_allocated,
};

void mssante_plugin_init(struct module *module)
{
	mssante_notify_ctx = notify_register(&mssante_notify_vfuncs);
	mail_storage_hooks_add(module, &mssante_mail_storage_hooks);
}

void mssante_plugin_deinit(void)
{
	mail_storage_hooks_remove(&mssante_mail_storage_hooks);
	notify_unregister(mssante_notify_ctx);
	mss_dc_process_deinit();
}

/* The trace comes from the notify plugin, which must be loaded first. */
const char *mssante_plugin_dependencies[] = {"notify", NULL};
/* Dovecot refuses to load a plugin built for another version (ABI). */
const char *mssante_plugin_version = DOVECOT_ABI_VERSION;
