/* The audit trail: one JSON object per line, SHA-256 hash-chained, one file per component
   (`[audit] directory`/COMPONENT.log). Metadata only: never a body, a subject, a password,
   a token or a PIN — the record has no field that could carry them.
 *
 * Line format (keys in this order, absent fields omitted):
 *   {"ts":"2026-11-23T21:30:00.123Z","component":"milter","event":"message","queue_id":...,
 *    "client":...,"tls":{"version":..,"cipher":..,"peer_cn":..,"issuer_cn":..},"service":..,
 *    "method":..,"auth_user":..,"actor":..,"bal":..,"bal_type":..,"mailbox":..,"uid":N,
 *    "from":..,"rcpt":[{"addr":..,"decision":..,"reason":..}],"message_id":..,"size":N,
 *    "mss":{"nil":..,"ins":..,"codecda":..},"decision":..,"reason":..,
 *    "prev":"<64 hex>","hash":"<64 hex>"}
 * hash = SHA-256 of the line's bytes with `,"hash":"<64 hex>"` removed (that is: everything
 * up to and including the prev value's closing quote, then "}"). prev = hash of the previous
 * record of the chain; the first record ever has 64 zeros. A new file (rotation) continues the
 * chain: its first record's prev is the last hash of the previous file, so `mssctl audit verify`
 * checks a whole rotated series given in order.
 */
#ifndef MSS_AUDIT_H
#define MSS_AUDIT_H

#include <stdbool.h>
#include <stddef.h>

struct mss_config;

struct mss_audit_rcpt {
	const char *addr;
	const char *decision; /* "accept", "reject", "tempfail" */
	const char *reason;   /* may be NULL */
};

/* NULL strings and negative numbers are omitted from the line. */
struct mss_audit_record {
	const char *event; /* milter: "message"; pam: "auth"; dovecot: "login", "read", "flag",
			      "copy", "move", "expunge", "append", "mailbox_create", "mailbox_delete",
			      "mailbox_rename", "denied" */
	const char *queue_id;
	const char *client; /* peer address or host[addr] */
	const char *tls_version, *tls_cipher, *tls_peer_cn, *tls_issuer_cn;
	const char *service; /* PAM service, IMAP/LMTP... */
	const char *method;  /* password, psc, cps, master, certificate... */
	const char *auth_user;
	const char *actor; /* the person's idNat_PS */
	const char *bal;
	const char *bal_type;
	const char *mailbox;
	long long uid; /* IMAP message uid, -1 none */
	const char *from;
	const struct mss_audit_rcpt *rcpt;
	size_t n_rcpt;
	const char *message_id;
	long long size; /* -1 none */
	const char *mss_nil, *mss_ins, *mss_codecda;
	const char *decision; /* "accept", "reject", "tempfail", "allow", "deny", "ok", "fail" */
	const char *reason;
};
#define MSS_AUDIT_RECORD_INIT {.uid = -1, .size = -1}

struct mss_audit;

/* Opens (creating when needed, mode 0640) `[audit] directory`/COMPONENT.log for appending;
   COMPONENT is "milter", "pam" or "dovecot". Returns NULL with err set. */
struct mss_audit *mss_audit_open(const struct mss_config *cfg, const char *component, char *err, size_t errlen);
/* Same with another sync mode than `[audit] sync` (a component's own setting). */
struct mss_audit *mss_audit_open_sync(const struct mss_config *cfg, const char *component, int sync, char *err,
				      size_t errlen);
/* Same with an explicit file (tests, tools). sync: 0 always, 1 batch, 2 none ([audit] sync). */
struct mss_audit *mss_audit_open_file(const char *path, const char *component, int sync, char *err, size_t errlen);
/* Appends one record under an exclusive lock (threads of this process and other processes
   appending to the same file), continuing the chain; with sync=always the record is on disk
   when this returns (concurrent writers share one fsync: group commit). Thread-safe.
   Returns 0, or -1 with err set: the caller must then fail its operation (tempfail). */
int mss_audit_write(struct mss_audit *a, const struct mss_audit_record *rec, char *err, size_t errlen);
/* Makes every record this handle has written so far durable, whatever its sync mode (one
   record that matters more than the others, on a batch handle). 0, or -1 with err set. */
int mss_audit_flush(struct mss_audit *a, char *err, size_t errlen);
/* Deferred writing, for a caller that answers first and writes a moment later (the Dovecot
   plugin with `[dovecot] audit_sync = batch`): the record is formatted now and kept in the
   handle; the next mss_audit_write_queued, mss_audit_write or mss_audit_close chains, stamps
   and appends every queued record, in order, under one lock with one write(2). Past
   MSS_AUDIT_QUEUE_RECORDS records or MSS_AUDIT_QUEUE_BYTES bytes the queue is written at once.
   A forked child does not inherit its parent's queue. 0, or -1 with err set (out of memory,
   or writing the full queue failed): then this record is not queued. Thread-safe. */
#define MSS_AUDIT_QUEUE_RECORDS 256
#define MSS_AUDIT_QUEUE_BYTES (256 * 1024)
int mss_audit_queue(struct mss_audit *a, const struct mss_audit_record *rec, char *err, size_t errlen);
/* Writes the queued records, synced as the handle's mode says. 0 (also when none is queued),
   or -1 with err set: they stay queued, and the next write tries them again. */
int mss_audit_write_queued(struct mss_audit *a, char *err, size_t errlen);
size_t mss_audit_queued(struct mss_audit *a);
/* The last resort for records that cannot be written (the trail stays unwritable and the
   process ends): each queued record, in order, goes to FN as its JSON fields without the
   timestamp's value, prev and hash (LEN bytes, no trailing brace), then the queue is empty. */
void mss_audit_discard_queued(struct mss_audit *a, void (*fn)(void *ctx, const char *record, size_t len), void *ctx);
/* Writes what is queued (see above), makes the last second durable, and frees A. */
void mss_audit_close(struct mss_audit *a);

/* Verification of a series of files, in order: 0 intact; 1 with err naming FILE:LINE and what
   is wrong (modified, deleted, inserted, reordered record, or a line that is not a record);
   -1 when a file cannot be read. */
int mss_audit_verify(const char *const *paths, size_t n_paths, unsigned long *records_r, char *err,
		     size_t errlen);

#endif
