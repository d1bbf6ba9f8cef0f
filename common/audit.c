/* The audit trail writer (contract in audit.h).
 *
 * One write, in order:
 *  1. outside every lock: the record is formatted into a buffer, with a placeholder for the
 *     timestamp, and room reserved for prev and hash (no allocation under the lock);
 *  2. under the handle's mutex (threads) and an flock on the head file `.NAME.head` (processes;
 *     the head file is never rotated, so every writer of the chain locks the same inode even
 *     when the log itself was just renamed away): find the chain's prev, stamp the time, hash,
 *     append with one write(2) on an O_APPEND descriptor, store the new hash in the head file;
 *  3. after the locks: make it durable according to `[audit] sync`.
 *
 * Finding prev cheaply: the handle remembers (dev, inode, size, last hash) of the file as it left
 * it. Per record, under the lock: an fstat(2) of the head descriptor (was the head file removed or
 * replaced?) and one stat(2) of the log's path tell whether anything changed: same file, same size -> the cached
 * hash; same file, other size -> another process appended, read the hash at the file's tail;
 * another inode or no file -> rotation: reopen, and continue from the new file's tail or, when
 * it is empty, from the head file, which every writer updates under the lock — so a process
 * started after the rotation continues the chain too.
 *
 * Group commit (sync = always): records are numbered under the mutex. A writer waiting for its
 * record to be durable becomes the leader when nobody is syncing: it notes the highest number
 * written so far, fdatasyncs without holding any lock, then wakes everyone whose record is now
 * covered; the others wait on a condition variable. N concurrent writers share one fdatasync.
 *
 * Queued records (mss_audit_queue): the caller's record is copied with the time it came; the
 * next mss_audit_write_queued formats them all, then under the locks finds prev once, seals each
 * in turn and appends them with one write(2): the six system calls of a write are shared by the
 * whole queue (the Dovecot plugin writes 16 at a time: ~2 us per record here, formatting and
 * SHA-256 included). A record whose session members (client, tls, method, actor, BAL...) are
 * those of the record before it gets a copy of their text rather than a second formatting.
 *
 * Cost of a direct write: six system calls per record (flock, fstat, stat, write, pwrite, then
 * the unlock), no allocation, one SHA-256 of ~400 bytes.
 * A fork is noticed through a pthread_atfork generation counter rather than a getpid(2) per
 * record.
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"

enum { SYNC_ALWAYS = 0, SYNC_BATCH = 1, SYNC_NONE = 2 };

#define HASH_HEX 64
/* `{"ts":"` then the 24 characters of 2026-11-23T21:30:00.123Z */
#define TS_OFFSET 7
#define TS_LEN 24
/* `"prev":"<64>"}` is hashed; the `}` then becomes `,"hash":"<64>"}` plus the newline. */
#define PREV_PART (8 + HASH_HEX + 2)
#define HASH_SUFFIX (9 + HASH_HEX + 2)
#define TAIL_RESERVE (1 + PREV_PART + HASH_SUFFIX + 1)
/* A field longer than this is cut (at a character boundary): a hostile header cannot make a
   record unbounded. Message-IDs and addresses are far shorter. */
#define FIELD_MAX 4096
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* A growing buffer: a stack array first, the heap past it. */
struct buf {
	char *p;
	size_t len, cap;
	bool heap, oom;
};

struct mss_audit {
	pthread_mutex_t mu; /* writers of this handle; held together with the file lock */
	char *path, *head_path;
	char component[32];
	int sync;
	int fd, head_fd;
	dev_t head_dev;
	ino_t head_ino;
	pid_t pid;
	unsigned fork_gen; /* fork_generation when the descriptors were opened by this process */
	EVP_MD *md; /* fetched once: implicit fetches on every call are slow in OpenSSL 3 */
	EVP_MD_CTX *ctx;
	/* The log file as this handle left it. size -1: unknown, read the tail. */
	dev_t dev;
	ino_t ino;
	off_t size;
	bool have_hash;
	char last_hash[HASH_HEX + 1];
	/* Formatted "YYYY-MM-DDTHH:MM:SS" of ts_sec: gmtime once a second. */
	time_t ts_sec;
	char ts_text[24];
	unsigned long long seq; /* records written by this handle (under mu) */
	/* Queued records (mss_audit_queue; under mu), each a copy of the caller's record with
	   the time it came; q_bytes their size. Formatted when written, into q: q.p[0] is a
	   newline (see append_locked), then each body followed by the room seal() fills. */
	struct queued **q_recs;
	size_t q_n, q_cap, q_bytes;
	unsigned q_gen; /* fork_generation when the queue's first record came */
	struct buf q;

	/* Durability; lock order: mu, then sync_mu. The leader holds neither while syncing;
	   fd is only swapped (rotation) under both with nobody syncing. */
	pthread_mutex_t sync_mu;
	pthread_cond_t sync_cv;
	atomic_ullong written;		     /* highest record number whose write(2) returned */
	unsigned long long synced;	     /* records up to this one are durable (or failed, see below) */
	unsigned long long fail_lo, fail_hi; /* records whose fdatasync failed */
	int fail_errno;
	bool syncing;
	struct timespec last_sync;	/* batch mode */
	struct timespec last_head_sync; /* the head file is synced at most once a second */
};

/* ---- the record as a JSON line ---- */

static bool buf_reserve(struct buf *b, size_t more)
{
	size_t cap;
	char *p;

	if (b->oom)
		return false;
	if (b->cap - b->len >= more)
		return true;
	cap = b->cap * 2;
	while (cap - b->len < more)
		cap *= 2;
	p = b->heap ? realloc(b->p, cap) : malloc(cap);
	if (p == NULL) {
		b->oom = true;
		return false;
	}
	if (!b->heap)
		memcpy(p, b->p, b->len);
	b->p = p;
	b->cap = cap;
	b->heap = true;
	return true;
}

static void buf_put(struct buf *b, const void *s, size_t n)
{
	if (!buf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_put(b, s, strlen(s));
}

/* Length of the well-formed UTF-8 sequence at P (Unicode table 3-7: no overlong forms, no
   surrogates, nothing above U+10FFFF), or 0 when P does not start one. */
static size_t utf8_seq_len(const unsigned char *p, size_t avail)
{
	unsigned char lo = 0x80, hi = 0xbf;
	size_t len;

	if (p[0] >= 0xc2 && p[0] <= 0xdf) {
		len = 2;
	} else if (p[0] >= 0xe0 && p[0] <= 0xef) {
		len = 3;
		if (p[0] == 0xe0)
			lo = 0xa0;
		else if (p[0] == 0xed)
			hi = 0x9f;
	} else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
		len = 4;
		if (p[0] == 0xf0)
			lo = 0x90;
		else if (p[0] == 0xf4)
			hi = 0x8f;
	} else {
		return 0;
	}
	if (len > avail || p[1] < lo || p[1] > hi)
		return 0;
	for (size_t k = 2; k < len; k++)
		if ((p[k] & 0xc0) != 0x80)
			return 0;
	return len;
}

/* Bytes copied as they are into a JSON string: printable ASCII but `"` and `\`. A table, as
   every byte of every record goes through this test. */
static const unsigned char plain_ascii[256] = {
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x00 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x10 */
    1, 1, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x20 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x30 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x40 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 1, 1, 1, /* 0x50 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, /* 0x60 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 0, /* 0x70 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xa0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xb0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xc0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xd0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xe0 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xf0 */
};

/* The characters of a JSON string, without its quotes: `"` and `\` escaped, control
   characters (C0, DEL, C1) as \u00XX, valid UTF-8 copied, every byte that is not part of valid
   UTF-8 replaced by U+FFFD. Whatever the N bytes at P hold, the result is valid inside one line
   of JSON. The caller has reserved 6 * N bytes (the worst case: a \u00XX for each byte). */
static void put_json_chars(struct buf *b, const unsigned char *p, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n;) {
		unsigned c = p[i];
		size_t len;

		if (plain_ascii[c]) { /* the common case: a run of plain ASCII */
			size_t j = i + 1;

			while (j < n && plain_ascii[p[j]])
				j++;
			memcpy(b->p + b->len, p + i, j - i);
			b->len += j - i;
			i = j;
			continue;
		}
		if (c == '"' || c == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = (char)c;
			i++;
			continue;
		}
		if (c < 0x80) { /* C0 or DEL */
			memcpy(b->p + b->len, "\\u00", 4);
			b->p[b->len + 4] = hex[c >> 4];
			b->p[b->len + 5] = hex[c & 15];
			b->len += 6;
			i++;
			continue;
		}
		len = utf8_seq_len(p + i, n - i);
		if (len == 0) {
			memcpy(b->p + b->len, "\xef\xbf\xbd", 3);
			b->len += 3;
			i++;
		} else if (len == 2 && c == 0xc2 && p[i + 1] < 0xa0) { /* C1: U+0080..U+009F */
			memcpy(b->p + b->len, "\\u00", 4);
			b->p[b->len + 4] = hex[p[i + 1] >> 4];
			b->p[b->len + 5] = hex[p[i + 1] & 15];
			b->len += 6;
			i += 2;
		} else {
			memcpy(b->p + b->len, p + i, len);
			b->len += len;
			i += len;
		}
	}
}

/* How many bytes of S a record holds: all of them up to FIELD_MAX, cut at a character
   boundary past it. */
static size_t field_len(const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strnlen(s, FIELD_MAX + 1);

	if (n > FIELD_MAX) {
		n = FIELD_MAX;
		for (int k = 0; k < 3 && (p[n] & 0xc0) == 0x80; k++) /* do not cut a character in two */
			n--;
	}
	return n;
}

/* What goes before a member's value: `"key":"` for a string, `"key":` for a number, written
   by one memcpy of a constant whose length the compiler knows (every field of every record
   goes through here, on the path of every IMAP FETCH). */
struct lead {
	const char *text;
	size_t len;
};
#define STR_LEAD(key) {"\"" key "\":\"", sizeof(key) + 3}
#define NUM_LEAD(key) {"\"" key "\":", sizeof(key) + 2}

/* `"key":"value",` when value is not NULL: one reservation for the whole member. */
static void put_str_member(struct buf *b, const struct lead *lead, const char *value)
{
	size_t n;

	if (value == NULL)
		return;
	n = field_len(value);
	if (!buf_reserve(b, lead->len + n * 6 + 2))
		return;
	memcpy(b->p + b->len, lead->text, lead->len);
	b->len += lead->len;
	put_json_chars(b, (const unsigned char *)value, n);
	b->p[b->len++] = '"';
	b->p[b->len++] = ',';
}
#define put_str_field(b, key, value) put_str_member(b, &(const struct lead)STR_LEAD(key), value)

/* `"key":N,` when N >= 0 (digits written by hand: printf would be the slowest part of a
   record). */
static void put_num_member(struct buf *b, const struct lead *lead, long long value)
{
	char digits[24];
	size_t n = sizeof(digits);
	unsigned long long v = (unsigned long long)value;

	if (value < 0)
		return;
	do {
		digits[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	if (!buf_reserve(b, lead->len + sizeof(digits) - n + 1))
		return;
	memcpy(b->p + b->len, lead->text, lead->len);
	memcpy(b->p + b->len + lead->len, digits + n, sizeof(digits) - n);
	b->len += lead->len + sizeof(digits) - n;
	b->p[b->len++] = ',';
}
#define put_num_field(b, key, value) put_num_member(b, &(const struct lead)NUM_LEAD(key), value)

/* `"name":{...},` with the non-NULL members; nothing when all are NULL. */
static void put_object_field(struct buf *b, const char *name, const struct lead *keys, const char *const *values,
			     size_t n)
{
	size_t mark;
	bool any = false;

	for (size_t i = 0; i < n; i++)
		any = any || values[i] != NULL;
	if (!any)
		return;
	buf_puts(b, "\"");
	buf_puts(b, name);
	buf_puts(b, "\":{");
	mark = b->len;
	for (size_t i = 0; i < n; i++)
		put_str_member(b, &keys[i], values[i]);
	if (!b->oom && b->len > mark)
		b->len--; /* the last member's comma */
	buf_puts(b, "},");
}

/* `{"ts":"<placeholder>","component":..,"event":..,"queue_id":..,` */
static void format_head(struct buf *b, const char *component, const struct mss_audit_record *r)
{
	buf_puts(b, "{\"ts\":\"YYYY-MM-DDTHH:MM:SS.mmmZ\",");
	put_str_field(b, "component", component);
	put_str_field(b, "event", r->event);
	put_str_field(b, "queue_id", r->queue_id);
}

/* The members of the session: who acts, from where, how. The same for every record of one
   Dovecot session, which format_queue takes advantage of. */
#define SESSION_STRINGS(X)                                                                                             \
	X(client) X(tls_version) X(tls_cipher) X(tls_peer_cn) X(tls_issuer_cn) X(service) X(method) X(auth_user)      \
	X(actor) X(bal) X(bal_type)

static void format_session(struct buf *b, const struct mss_audit_record *r)
{
	static const struct lead tls_keys[] = {STR_LEAD("version"), STR_LEAD("cipher"), STR_LEAD("peer_cn"),
					       STR_LEAD("issuer_cn")};
	const char *tls_values[] = {r->tls_version, r->tls_cipher, r->tls_peer_cn, r->tls_issuer_cn};

	put_str_field(b, "client", r->client);
	put_object_field(b, "tls", tls_keys, tls_values, 4);
	put_str_field(b, "service", r->service);
	put_str_field(b, "method", r->method);
	put_str_field(b, "auth_user", r->auth_user);
	put_str_field(b, "actor", r->actor);
	put_str_field(b, "bal", r->bal);
	put_str_field(b, "bal_type", r->bal_type);
}

static bool same_str(const char *x, const char *y)
{
	return x == y || (x != NULL && y != NULL && strcmp(x, y) == 0);
}

/* Whether format_session gives the same text for X and Y. */
static bool same_session(const struct mss_audit_record *x, const struct mss_audit_record *y)
{
#define X(f) same_str(x->f, y->f) &&
	return SESSION_STRINGS(X) true;
#undef X
}

/* What the action was. */
static void format_action(struct buf *b, const struct mss_audit_record *r)
{
	static const struct lead mss_keys[] = {STR_LEAD("nil"), STR_LEAD("ins"), STR_LEAD("codecda")};
	const char *mss_values[] = {r->mss_nil, r->mss_ins, r->mss_codecda};

	put_str_field(b, "mailbox", r->mailbox);
	put_num_field(b, "uid", r->uid);
	put_str_field(b, "from", r->from);
	if (r->rcpt != NULL && r->n_rcpt > 0) {
		static const struct lead rcpt_keys[] = {STR_LEAD("addr"), STR_LEAD("decision"), STR_LEAD("reason")};

		buf_puts(b, "\"rcpt\":[");
		for (size_t i = 0; i < r->n_rcpt; i++) {
			const char *v[] = {r->rcpt[i].addr, r->rcpt[i].decision, r->rcpt[i].reason};
			size_t mark;

			buf_puts(b, i > 0 ? ",{" : "{");
			mark = b->len;
			for (size_t k = 0; k < 3; k++)
				put_str_member(b, &rcpt_keys[k], v[k]);
			if (!b->oom && b->len > mark)
				b->len--;
			buf_puts(b, "}");
		}
		buf_puts(b, "],");
	}
	put_str_field(b, "message_id", r->message_id);
	put_num_field(b, "size", r->size);
	put_object_field(b, "mss", mss_keys, mss_values, 3);
	put_str_field(b, "decision", r->decision);
	put_str_field(b, "reason", r->reason);
}

/* Everything up to, not including, `"prev":`; the timestamp is a placeholder. */
static void format_body(struct buf *b, const char *component, const struct mss_audit_record *r)
{
	format_head(b, component, r);
	format_session(b, r);
	format_action(b, r);
}

/* ---- hashing ---- */

static void to_hex(const unsigned char *md, size_t n, char *out)
{
	static const char hex[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

static bool is_hash_hex(const char *s)
{
	for (size_t i = 0; i < HASH_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

static int sha256_hex(EVP_MD_CTX *ctx, const EVP_MD *md, const void *a, size_t alen, const void *b, size_t blen,
		      char out[HASH_HEX + 1])
{
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;

	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, a, alen) != 1 ||
	    (blen > 0 && EVP_DigestUpdate(ctx, b, blen) != 1) || EVP_DigestFinal_ex(ctx, d, &dlen) != 1 ||
	    dlen != HASH_HEX / 2)
		return -1;
	to_hex(d, dlen, out);
	return 0;
}

static EVP_MD *fetch_sha256(void)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	return EVP_MD_fetch(NULL, "SHA256", NULL);
#else
	return (EVP_MD *)EVP_sha256();
#endif
}

static void free_sha256(EVP_MD *md)
{
#if OPENSSL_VERSION_NUMBER >= 0x30000000L
	EVP_MD_free(md);
#else
	(void)md;
#endif
}

/* ---- forks ---- */

/* Bumped in every child of a fork. A child shares its parent's open file descriptions, and
   flock would not exclude it from its parent: a handle used across a fork reopens its files.
   (glibc drops the handler when a dlopen'ed module holding this code is unloaded.) */
static atomic_uint fork_generation;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void on_fork_child(void)
{
	atomic_fetch_add(&fork_generation, 1);
}

static void register_fork_handler(void)
{
	(void)pthread_atfork(NULL, NULL, on_fork_child);
}

/* ---- opening ---- */

/* "audit: WHAT" and, when E is not 0, ": strerror(E)". */
static void set_err(char *err, size_t errlen, int e, const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void set_err(char *err, size_t errlen, int e, const char *fmt, ...)
{
	char ebuf[128];
	va_list ap;
	int n;

	if (err == NULL || errlen == 0)
		return;
	n = snprintf(err, errlen, "audit: ");
	va_start(ap, fmt);
	if (n >= 0 && (size_t)n < errlen)
		n += vsnprintf(err + n, errlen - (size_t)n, fmt, ap);
	va_end(ap);
	if (e != 0 && n >= 0 && (size_t)n < errlen)
		snprintf(err + n, errlen - (size_t)n, ": %s", strerror_r(e, ebuf, sizeof(ebuf)));
}

/* `DIR/.NAME.head` beside `DIR/NAME.log` (or `DIR/NAME`). */
static char *head_path_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	const char *base = slash != NULL ? slash + 1 : path;
	size_t dirlen = (size_t)(base - path), baselen = strlen(base);
	char *out;

	if (baselen > 4 && strcmp(base + baselen - 4, ".log") == 0)
		baselen -= 4;
	out = malloc(dirlen + baselen + 7);
	if (out != NULL)
		snprintf(out, dirlen + baselen + 7, "%.*s.%.*s.head", (int)dirlen, path, (int)baselen, base);
	return out;
}

static int open_log(const char *path, struct stat *st)
{
	int fd = open(path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);

	if (fd < 0)
		return -1;
	if (fstat(fd, st) < 0 || !S_ISREG(st->st_mode)) {
		int e = fstat(fd, st) < 0 ? errno : EINVAL;

		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int open_head(struct mss_audit *a)
{
	struct stat st;
	int fd = open(a->head_path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY, 0640);

	if (fd < 0)
		return -1;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		errno = EINVAL;
		return -1;
	}
	/* The leader may be syncing the old one (lead_sync): swap when it is done. */
	pthread_mutex_lock(&a->sync_mu);
	while (a->syncing)
		pthread_cond_wait(&a->sync_cv, &a->sync_mu);
	if (a->head_fd >= 0)
		close(a->head_fd);
	a->head_fd = fd;
	pthread_mutex_unlock(&a->sync_mu);
	a->head_dev = st.st_dev;
	a->head_ino = st.st_ino;
	return 0;
}

struct mss_audit *mss_audit_open_file(const char *path, const char *component, int sync, char *err, size_t errlen)
{
	struct mss_audit *a;
	struct stat st;
	size_t clen = component != NULL ? strlen(component) : 0;

	if (path == NULL || path[0] == '\0' || clen == 0 || clen >= sizeof(a->component) || sync < 0 || sync > 2) {
		set_err(err, errlen, 0, "invalid arguments");
		return NULL;
	}
	a = calloc(1, sizeof(*a));
	if (a == NULL) {
		set_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	a->fd = a->head_fd = -1;
	a->size = -1;
	a->sync = sync;
	a->pid = getpid();
	pthread_once(&fork_once, register_fork_handler);
	a->fork_gen = atomic_load(&fork_generation);
	memcpy(a->component, component, clen + 1);
	pthread_mutex_init(&a->mu, NULL);
	pthread_mutex_init(&a->sync_mu, NULL);
	pthread_cond_init(&a->sync_cv, NULL);
	atomic_init(&a->written, 0);
	a->path = strdup(path);
	a->head_path = head_path_of(path);
	a->md = fetch_sha256();
	a->ctx = EVP_MD_CTX_new();
	if (a->path == NULL || a->head_path == NULL || a->md == NULL || a->ctx == NULL) {
		set_err(err, errlen, 0, "out of memory or no SHA-256 in OpenSSL");
		goto fail;
	}
	a->fd = open_log(path, &st);
	if (a->fd < 0) {
		set_err(err, errlen, errno, "cannot open %s", path);
		goto fail;
	}
	a->dev = st.st_dev;
	a->ino = st.st_ino;
	if (open_head(a) < 0) {
		set_err(err, errlen, errno, "cannot open %s", a->head_path);
		goto fail;
	}
	return a;
fail:
	mss_audit_close(a);
	return NULL;
}

struct mss_audit *mss_audit_open(const struct mss_config *cfg, const char *component, char *err, size_t errlen)
{
	return mss_audit_open_sync(cfg, component, (int)mss_config_num(cfg, MSS_OPT_AUDIT_SYNC), err, errlen);
}

struct mss_audit *mss_audit_open_sync(const struct mss_config *cfg, const char *component, int sync, char *err,
				      size_t errlen)
{
	const char *dir = mss_config_str(cfg, MSS_OPT_AUDIT_DIRECTORY);
	struct mss_audit *a;
	char *path;
	size_t n;

	if (dir == NULL || component == NULL || component[0] == '\0' || strchr(component, '/') != NULL) {
		set_err(err, errlen, 0, "no [audit] directory or invalid component");
		return NULL;
	}
	n = strlen(dir) + strlen(component) + 6;
	path = malloc(n);
	if (path == NULL) {
		set_err(err, errlen, 0, "out of memory");
		return NULL;
	}
	snprintf(path, n, "%s/%s.log", dir, component);
	a = mss_audit_open_file(path, component, sync, err, errlen);
	free(path);
	return a;
}

void mss_audit_close(struct mss_audit *a)
{
	if (a == NULL)
		return;
	if (mss_audit_queued(a) > 0) /* callers that must know call mss_audit_write_queued first */
		(void)mss_audit_write_queued(a, NULL, 0);
	pthread_mutex_lock(&a->sync_mu);
	while (a->syncing)
		pthread_cond_wait(&a->sync_cv, &a->sync_mu);
	pthread_mutex_unlock(&a->sync_mu);
	if (a->fd >= 0) {
		if (a->sync != SYNC_NONE) /* batch: what the last second wrote */
			(void)fdatasync(a->fd);
		close(a->fd);
	}
	if (a->head_fd >= 0) {
		if (a->sync != SYNC_NONE)
			(void)fdatasync(a->head_fd);
		close(a->head_fd);
	}
	EVP_MD_CTX_free(a->ctx);
	free_sha256(a->md);
	pthread_cond_destroy(&a->sync_cv);
	pthread_mutex_destroy(&a->sync_mu);
	pthread_mutex_destroy(&a->mu);
	for (size_t i = 0; i < a->q_n; i++)
		free(a->q_recs[i]);
	free(a->q_recs);
	if (a->q.heap)
		free(a->q.p);
	free(a->path);
	free(a->head_path);
	free(a);
}

/* ---- under the lock: where the chain stands ---- */

/* Locks the head file; reopens it first when it was replaced or removed, so that every writer
   locks the same inode. */
static int lock_head(struct mss_audit *a)
{
	if (a->fork_gen != atomic_load(&fork_generation) && a->pid != getpid()) {
		/* A forked child shares our open file descriptions, and flock would not exclude it
		   from its parent: it gets its own (the log too, through the inode check). */
		a->pid = getpid();
		a->fork_gen = atomic_load(&fork_generation);
		if (open_head(a) < 0)
			return -1;
		a->dev = 0;
		a->ino = 0;
	}
	for (int tries = 0; tries < 8; tries++) {
		struct stat st;

		while (flock(a->head_fd, LOCK_EX) < 0)
			if (errno != EINTR)
				return -1;
		/* Removed or replaced (renamed over), the inode we locked has no link left: a path
		   lookup is needed only then. */
		if (fstat(a->head_fd, &st) == 0 && st.st_nlink > 0)
			return 0;
		if (stat(a->head_path, &st) == 0 && st.st_dev == a->head_dev && st.st_ino == a->head_ino)
			return 0;
		flock(a->head_fd, LOCK_UN);
		if (open_head(a) < 0)
			return -1;
	}
	errno = EAGAIN;
	return -1;
}

/* The hash in the head file, when it holds one. */
static bool read_head(struct mss_audit *a, char out[HASH_HEX + 1])
{
	char b[HASH_HEX + 1];

	if (pread(a->head_fd, b, sizeof(b), 0) != (ssize_t)sizeof(b) || b[HASH_HEX] != '\n' || !is_hash_hex(b))
		return false;
	memcpy(out, b, HASH_HEX);
	out[HASH_HEX] = '\0';
	return true;
}

/* The hash of the file's last record: the file ends with `"hash":"<64>"}\n`.
   Returns 1 found, 0 the tail is not a complete record (torn by a crash: *nl_r says whether it
   ends with a newline), -1 read error. */
static int read_tail_hash(int fd, off_t size, char out[HASH_HEX + 1], bool *nl_r)
{
	char t[HASH_SUFFIX + 1];
	ssize_t n;
	off_t off = size > (off_t)sizeof(t) ? size - (off_t)sizeof(t) : 0;

	n = pread(fd, t, (size_t)(size - off), off);
	if (n < 0)
		return -1;
	*nl_r = n > 0 && t[n - 1] == '\n';
	if (n != (ssize_t)sizeof(t) || memcmp(t, ",\"hash\":\"", 9) != 0 || !is_hash_hex(t + 9) ||
	    memcmp(t + 9 + HASH_HEX, "\"}\n", 3) != 0)
		return 0;
	memcpy(out, t + 9, HASH_HEX);
	out[HASH_HEX] = '\0';
	return 1;
}

/* Replaces the log descriptor; called with mu held. Whatever was written to the old descriptor
   is made durable first (unless sync = none), with nobody else syncing it. */
static void swap_fd(struct mss_audit *a, int fd)
{
	pthread_mutex_lock(&a->sync_mu);
	while (a->syncing)
		pthread_cond_wait(&a->sync_cv, &a->sync_mu);
	if (a->fd >= 0) {
		unsigned long long w = atomic_load(&a->written);

		if (a->sync != SYNC_NONE && a->synced < w && fdatasync(a->fd) < 0) {
			a->fail_lo = a->fail_hi == 0 ? a->synced + 1 : a->fail_lo;
			a->fail_hi = w;
			a->fail_errno = errno;
		}
		a->synced = w;
		close(a->fd);
	}
	a->fd = fd;
	pthread_cond_broadcast(&a->sync_cv);
	pthread_mutex_unlock(&a->sync_mu);
}

/* Sets prev to the hash the next record must carry; *nl_r when the file ends with a torn line
   that our record must not be glued to. *size_r: the file's size now. */
static int find_prev(struct mss_audit *a, char prev[HASH_HEX + 1], bool *nl_r, off_t *size_r, char *err, size_t errlen)
{
	struct stat st;
	bool ends_nl = true;
	int r;

	*nl_r = false;
	if (stat(a->path, &st) < 0) {
		if (errno != ENOENT) {
			set_err(err, errlen, errno, "%s", a->path);
			return -1;
		}
		st.st_ino = 0; /* renamed away, no new file yet: create it below */
	}
	if (st.st_ino == 0 || st.st_dev != a->dev || st.st_ino != a->ino) {
		int fd = open_log(a->path, &st);

		if (fd < 0) {
			set_err(err, errlen, errno, "cannot open %s", a->path);
			return -1;
		}
		swap_fd(a, fd);
		a->dev = st.st_dev;
		a->ino = st.st_ino;
		a->size = -1;
	}
	*size_r = st.st_size;
	if (a->have_hash && st.st_size == a->size && st.st_size > 0) {
		memcpy(prev, a->last_hash, HASH_HEX + 1);
		return 0;
	}
	if (st.st_size > 0) {
		/* Another process appended, or a file we have not written yet: its tail. */
		r = read_tail_hash(a->fd, st.st_size, prev, &ends_nl);
		if (r < 0) {
			set_err(err, errlen, errno, "cannot read %s", a->path);
			return -1;
		}
		if (r == 1)
			return 0;
		/* A torn last line (crash in the middle of a write): it stays, verify will name it;
		   the chain continues from the last complete record, which the head file holds. */
		*nl_r = !ends_nl;
	}
	/* An empty file (just rotated), or a torn tail: the head file, else what we remember,
	   else this is the very first record. */
	if (!read_head(a, prev)) {
		if (a->have_hash)
			memcpy(prev, a->last_hash, HASH_HEX + 1);
		else
			memcpy(prev, GENESIS, HASH_HEX + 1);
	}
	return 0;
}

/* "2026-11-23T21:30:00.123Z" of AT, or of now when AT is NULL. */
static void stamp(struct mss_audit *a, char *out, const struct timespec *at)
{
	struct timespec ts;
	struct tm tm;
	int ms;

	if (at != NULL)
		ts = *at;
	else
		clock_gettime(CLOCK_REALTIME, &ts);
	if (ts.tv_sec != a->ts_sec || a->ts_text[0] == '\0') {
		gmtime_r(&ts.tv_sec, &tm);
		strftime(a->ts_text, sizeof(a->ts_text), "%Y-%m-%dT%H:%M:%S", &tm);
		a->ts_sec = ts.tv_sec;
	}
	ms = (int)(ts.tv_nsec / 1000000);
	memcpy(out, a->ts_text, 19);
	out[19] = '.';
	out[20] = (char)('0' + ms / 100);
	out[21] = (char)('0' + ms / 10 % 10);
	out[22] = (char)('0' + ms % 10);
	out[23] = 'Z';
}

/* ---- durability ---- */

static bool second_passed(const struct timespec *since, const struct timespec *now)
{
	return now->tv_sec - since->tv_sec > 1 || (now->tv_sec - since->tv_sec == 1 && now->tv_nsec >= since->tv_nsec);
}

/* One fdatasync covering every record written so far; called and returns with sync_mu held.
   The head file matters only to a process started after a rotation, before the new file has
   a record: syncing it once a second bounds what a crash at that moment can cost (a chain
   break that verify reports at the new file's first line, no record lost) without a second
   fdatasync per commit. */
static void lead_sync(struct mss_audit *a)
{
	unsigned long long target = atomic_load(&a->written), from = a->synced + 1;
	int fd = a->fd, head_fd = -1, r, e;
	struct timespec now;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (second_passed(&a->last_head_sync, &now)) {
		head_fd = a->head_fd;
		a->last_head_sync = now;
	}
	a->syncing = true;
	pthread_mutex_unlock(&a->sync_mu);
	r = fdatasync(fd);
	e = errno;
	if (head_fd >= 0)
		(void)fdatasync(head_fd);
	pthread_mutex_lock(&a->sync_mu);
	a->syncing = false;
	if (r < 0) {
		/* Merging failed ranges may fail a few records that were synced: the safe side. */
		a->fail_lo = a->fail_hi == 0 || from < a->fail_lo ? from : a->fail_lo;
		a->fail_hi = target > a->fail_hi ? target : a->fail_hi;
		a->fail_errno = e;
	}
	if (target > a->synced)
		a->synced = target;
	clock_gettime(CLOCK_MONOTONIC, &a->last_sync);
	pthread_cond_broadcast(&a->sync_cv);
}

static bool seq_failed(const struct mss_audit *a, unsigned long long s)
{
	return a->fail_hi != 0 && s >= a->fail_lo && s <= a->fail_hi;
}

/* sync = always: returns when record S is on disk (group commit). */
static int wait_durable(struct mss_audit *a, unsigned long long s, char *err, size_t errlen)
{
	int ret = 0;

	pthread_mutex_lock(&a->sync_mu);
	while (a->synced < s) {
		if (!a->syncing)
			lead_sync(a);
		else
			pthread_cond_wait(&a->sync_cv, &a->sync_mu);
	}
	if (seq_failed(a, s)) {
		set_err(err, errlen, a->fail_errno, "fdatasync of %s failed", a->path);
		ret = -1;
	}
	pthread_mutex_unlock(&a->sync_mu);
	return ret;
}

/* sync = batch: at most one fdatasync a second, done by whichever writer comes when it is due. */
static int batch_sync(struct mss_audit *a, unsigned long long s, char *err, size_t errlen)
{
	struct timespec now;
	int ret = 0;

	clock_gettime(CLOCK_MONOTONIC, &now);
	pthread_mutex_lock(&a->sync_mu);
	if (!a->syncing && second_passed(&a->last_sync, &now)) {
		lead_sync(a);
		if (seq_failed(a, s)) {
			set_err(err, errlen, a->fail_errno, "fdatasync of %s failed", a->path);
			ret = -1;
		}
	}
	pthread_mutex_unlock(&a->sync_mu);
	return ret;
}

/* ---- writing ---- */

/* Under the lock: seals the record at P (BODY bytes formatted, TAIL_RESERVE - 1 more reserved
   after them) in place: timestamp (AT, or now), prev, hash. PREV becomes the record's hash.
   Returns the record's length with its newline, 0 with err set when hashing failed. */
static size_t seal(struct mss_audit *a, char *p, size_t body, char prev[HASH_HEX + 1], const struct timespec *at,
		   char *err, size_t errlen)
{
	size_t n;

	stamp(a, p + TS_OFFSET, at);
	memcpy(p + body, "\"prev\":\"", 8);
	memcpy(p + body + 8, prev, HASH_HEX);
	memcpy(p + body + 8 + HASH_HEX, "\"}", 2);
	if (sha256_hex(a->ctx, a->md, p, body + PREV_PART, NULL, 0, prev) < 0) {
		set_err(err, errlen, 0, "SHA-256 failed");
		return 0;
	}
	n = body + PREV_PART - 1; /* the closing brace becomes `,"hash":"<64>"}\n` */
	memcpy(p + n, ",\"hash\":\"", 9);
	memcpy(p + n + 9, prev, HASH_HEX);
	memcpy(p + n + 9 + HASH_HEX, "\"}\n", 3);
	return n + HASH_SUFFIX + 1;
}

/* Under the lock: appends P[1..LEN) (P[0] is a newline, written too when the file ends with a
   torn line: NL) with write(2) on the O_APPEND descriptor, and moves the chain to HASH.
   N records. Nothing half-written stays in the file on failure. */
static int append_locked(struct mss_audit *a, char *p, size_t len, bool nl, off_t size, char hash[HASH_HEX + 1],
			 size_t n_records, char *err, size_t errlen)
{
	size_t start = nl ? 0 : 1;

	for (size_t n = start; n < len;) {
		ssize_t w = write(a->fd, p + n, len - n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			int e = w < 0 ? errno : ENOSPC;

			/* We hold the lock: nobody appended since. */
			if (n > start && ftruncate(a->fd, size) < 0)
				a->size = -1;
			set_err(err, errlen, e, "cannot write %s", a->path);
			return -1;
		}
		n += (size_t)w;
	}
	a->size = size + (off_t)(len - start);
	memcpy(a->last_hash, hash, HASH_HEX + 1);
	a->have_hash = true;
	/* The head is a hint for the next file; a failure here loses nothing of these records
	   and the next write rewrites it. */
	hash[HASH_HEX] = '\n';
	(void)!pwrite(a->head_fd, hash, HASH_HEX + 1, 0);
	hash[HASH_HEX] = '\0';
	a->seq += n_records;
	atomic_store(&a->written, a->seq);
	return 0;
}

/* After the locks: durable as the handle's mode says, up to record S. */
static int make_durable(struct mss_audit *a, unsigned long long s, char *err, size_t errlen)
{
	if (a->sync == SYNC_ALWAYS)
		return wait_durable(a, s, err, errlen);
	if (a->sync == SYNC_BATCH)
		return batch_sync(a, s, err, errlen);
	return 0;
}

/* The file lock, mu held. */
static int lock_file(struct mss_audit *a, char *err, size_t errlen)
{
	if (lock_head(a) < 0) {
		set_err(err, errlen, errno, "cannot lock %s", a->head_path);
		return -1;
	}
	return 0;
}

/* ---- the queue ---- */

/* A queued record: the caller's record with its strings copied behind it, in one block. */
struct queued {
	struct timespec at;
	size_t body; /* its formatted body's length, set by format_queue */
	struct mss_audit_record rec;
};

static void drop_queue(struct mss_audit *a)
{
	for (size_t i = 0; i < a->q_n; i++)
		free(a->q_recs[i]);
	a->q_n = 0;
	a->q_bytes = 0;
}

/* A forked child inherits the queue of its parent, who writes it: the child forgets it.
   Called with mu held. */
static void forget_parent_queue(struct mss_audit *a)
{
	if (a->q_n > 0 && a->q_gen != atomic_load(&fork_generation))
		drop_queue(a);
}

/* The length S is copied with (cut like field_len would); NO_STR for NULL. */
#define NO_STR ((size_t)-1)
static size_t str_len(const char *s)
{
	return s != NULL ? strnlen(s, FIELD_MAX + 3) : NO_STR;
}

/* Copies the N bytes of S and a NUL to *AT; returns the copy, NULL for NO_STR. */
static const char *str_copy(const char *s, size_t n, char **at)
{
	char *out = *at;

	if (n == NO_STR)
		return NULL;
	memcpy(out, s, n);
	out[n] = '\0';
	*at += n + 1;
	return out;
}

#define REC_STRINGS(r)                                                                                                 \
	X(event) X(queue_id) X(client) X(tls_version) X(tls_cipher) X(tls_peer_cn) X(tls_issuer_cn) X(service)        \
	X(method) X(auth_user) X(actor) X(bal) X(bal_type) X(mailbox) X(from) X(message_id) X(mss_nil) X(mss_ins)      \
	X(mss_codecda) X(decision) X(reason)

/* On the path of every traced IMAP FETCH: each of the record's own strings is measured once
   (recipients, which only the milter's records have, twice). */
static struct queued *queued_copy(const struct mss_audit_record *r, size_t *size_r)
{
	enum {
#define X(f) LEN_##f,
		REC_STRINGS(r)
#undef X
		N_LEN
	};
	size_t len[N_LEN];
	size_t size = sizeof(struct queued) + r->n_rcpt * sizeof(struct mss_audit_rcpt);
	struct queued *q;
	char *at;

#define X(f)                                                                                                           \
	len[LEN_##f] = str_len(r->f);                                                                                  \
	size += len[LEN_##f] != NO_STR ? len[LEN_##f] + 1 : 0;
	REC_STRINGS(r)
#undef X
	for (size_t i = 0; r->rcpt != NULL && i < r->n_rcpt; i++) {
		const char *s[] = {r->rcpt[i].addr, r->rcpt[i].decision, r->rcpt[i].reason};

		for (size_t k = 0; k < 3; k++)
			size += s[k] != NULL ? str_len(s[k]) + 1 : 0;
	}
	q = malloc(size);
	if (q == NULL)
		return NULL;
	q->rec = *r;
	at = (char *)(q + 1) + r->n_rcpt * sizeof(struct mss_audit_rcpt);
#define X(f) q->rec.f = str_copy(r->f, len[LEN_##f], &at);
	REC_STRINGS(r)
#undef X
	if (r->rcpt != NULL && r->n_rcpt > 0) {
		struct mss_audit_rcpt *rc = (struct mss_audit_rcpt *)(q + 1);

		for (size_t i = 0; i < r->n_rcpt; i++) {
			rc[i].addr = str_copy(r->rcpt[i].addr, str_len(r->rcpt[i].addr), &at);
			rc[i].decision = str_copy(r->rcpt[i].decision, str_len(r->rcpt[i].decision), &at);
			rc[i].reason = str_copy(r->rcpt[i].reason, str_len(r->rcpt[i].reason), &at);
		}
		q->rec.rcpt = rc;
	} else {
		q->rec.rcpt = NULL;
		q->rec.n_rcpt = 0;
	}
	*size_r = size;
	return q;
}

/* Formats the queued records into q, each followed by the room seal() needs. mu held.
   A record whose session members are those of the record before it gets a copy of their
   text: in a Dovecot session they are the same in every record, about half of each. */
static int format_queue(struct mss_audit *a, char *err, size_t errlen)
{
	size_t session_at = 0, session_len = 0;

	if (a->q.cap == 0) {
		a->q = (struct buf){.p = malloc(4096), .cap = 4096, .heap = true};
		if (a->q.p == NULL) {
			a->q.cap = 0;
			goto oom;
		}
	}
	a->q.len = 0;
	a->q.oom = false;
	buf_puts(&a->q, "\n");
	for (size_t i = 0; i < a->q_n; i++) {
		const struct mss_audit_record *r = &a->q_recs[i]->rec;
		size_t start = a->q.len;

		format_head(&a->q, a->component, r);
		if (i > 0 && same_session(r, &a->q_recs[i - 1]->rec)) {
			/* An offset, not a pointer: the reservation may move the buffer. */
			if (buf_reserve(&a->q, session_len)) {
				memcpy(a->q.p + a->q.len, a->q.p + session_at, session_len);
				a->q.len += session_len;
			}
		} else {
			session_at = a->q.len;
			format_session(&a->q, r);
			session_len = a->q.len - session_at;
		}
		format_action(&a->q, r);
		if (!buf_reserve(&a->q, TAIL_RESERVE))
			goto oom;
		a->q_recs[i]->body = a->q.len - start;
		a->q.len += TAIL_RESERVE - 2; /* room for prev, hash and the newline (see seal) */
	}
	return 0;
oom:
	set_err(err, errlen, 0, "out of memory");
	return -1;
}

/* Writes the queue; mu held, not the file lock. *S_R: the last record's number. */
static int write_queue_locked(struct mss_audit *a, unsigned long long *s_r, char *err, size_t errlen)
{
	char prev[HASH_HEX + 1];
	off_t size = 0;
	bool nl = false;
	size_t off = 1;
	int ret = -1;

	forget_parent_queue(a);
	*s_r = a->seq;
	if (a->q_n == 0)
		return 0;
	/* Formatted before the file lock: other processes wait only for the append. */
	if (format_queue(a, err, errlen) < 0)
		return -1;
	if (lock_file(a, err, errlen) < 0)
		return -1;
	if (find_prev(a, prev, &nl, &size, err, errlen) < 0)
		goto unlock;
	for (size_t i = 0; i < a->q_n; i++) {
		size_t n = seal(a, a->q.p + off, a->q_recs[i]->body, prev, &a->q_recs[i]->at, err, errlen);

		if (n == 0)
			goto unlock;
		off += n;
	}
	if (append_locked(a, a->q.p, off, nl, size, prev, a->q_n, err, errlen) < 0)
		goto unlock;
	drop_queue(a);
	*s_r = a->seq;
	ret = 0;
unlock:
	flock(a->head_fd, LOCK_UN);
	return ret;
}

int mss_audit_write(struct mss_audit *a, const struct mss_audit_record *rec, char *err, size_t errlen)
{
	char stack[2048];
	struct buf b = {.p = stack, .cap = sizeof(stack)};
	char prev[HASH_HEX + 1];
	unsigned long long s = 0;
	size_t body, n;
	off_t size = 0;
	bool nl = false, queued;
	int ret = -1;

	if (a == NULL || rec == NULL) {
		set_err(err, errlen, 0, "no audit handle");
		return -1;
	}
	/* A leading byte for the newline a torn tail may need; the record starts at 1. */
	buf_puts(&b, "\n");
	format_body(&b, a->component, rec);
	if (!buf_reserve(&b, TAIL_RESERVE)) {
		set_err(err, errlen, 0, "out of memory");
		goto out;
	}
	body = b.len - 1;

	pthread_mutex_lock(&a->mu);
	forget_parent_queue(a);
	queued = a->q_n > 0;
	if (queued || lock_file(a, err, errlen) < 0) {
		pthread_mutex_unlock(&a->mu);
		/* Records queued before this one go first: in the queue, then all at once. */
		if (queued)
			ret = mss_audit_queue(a, rec, err, errlen) < 0 ? -1 : mss_audit_write_queued(a, err, errlen);
		goto out;
	}
	if (find_prev(a, prev, &nl, &size, err, errlen) < 0)
		goto unlock;
	n = seal(a, b.p + 1, body, prev, NULL, err, errlen);
	if (n == 0)
		goto unlock;
	if (append_locked(a, b.p, 1 + n, nl, size, prev, 1, err, errlen) < 0)
		goto unlock;
	s = a->seq;
	ret = 0;
unlock:
	flock(a->head_fd, LOCK_UN);
	pthread_mutex_unlock(&a->mu);
	if (ret == 0)
		ret = make_durable(a, s, err, errlen);
out:
	if (b.heap)
		free(b.p);
	return ret;
}

int mss_audit_queue(struct mss_audit *a, const struct mss_audit_record *rec, char *err, size_t errlen)
{
	struct queued *q;
	unsigned long long s = 0;
	size_t size;
	int ret = -1;
	bool full = false;

	if (a == NULL || rec == NULL) {
		set_err(err, errlen, 0, "no audit handle");
		return -1;
	}
	/* A copy now, with the time of the action; formatted, chained and written later. */
	q = queued_copy(rec, &size);
	if (q == NULL) {
		set_err(err, errlen, 0, "out of memory");
		return -1;
	}
	clock_gettime(CLOCK_REALTIME, &q->at);
	pthread_mutex_lock(&a->mu);
	forget_parent_queue(a);
	if (a->q_n == a->q_cap) {
		size_t cap = a->q_cap != 0 ? a->q_cap * 2 : 16;
		struct queued **recs = realloc(a->q_recs, cap * sizeof(*recs));

		if (recs == NULL) {
			set_err(err, errlen, 0, "out of memory");
			free(q);
			goto unlock;
		}
		a->q_recs = recs;
		a->q_cap = cap;
	}
	if (a->q_n == 0)
		a->q_gen = atomic_load(&fork_generation);
	a->q_recs[a->q_n++] = q;
	a->q_bytes += size;
	full = a->q_n >= MSS_AUDIT_QUEUE_RECORDS || a->q_bytes >= MSS_AUDIT_QUEUE_BYTES;
	ret = 0;
	if (full) {
		ret = write_queue_locked(a, &s, err, errlen);
		if (ret < 0) { /* not queued after all: the caller fails its operation */
			a->q_n--;
			a->q_bytes -= size;
			free(q);
		}
	}
unlock:
	pthread_mutex_unlock(&a->mu);
	if (ret == 0 && full)
		ret = make_durable(a, s, err, errlen);
	return ret;
}

int mss_audit_write_queued(struct mss_audit *a, char *err, size_t errlen)
{
	unsigned long long s;
	int ret;

	if (a == NULL) {
		set_err(err, errlen, 0, "no audit handle");
		return -1;
	}
	pthread_mutex_lock(&a->mu);
	ret = write_queue_locked(a, &s, err, errlen);
	pthread_mutex_unlock(&a->mu);
	return ret == 0 ? make_durable(a, s, err, errlen) : -1;
}

size_t mss_audit_queued(struct mss_audit *a)
{
	size_t n;

	if (a == NULL)
		return 0;
	pthread_mutex_lock(&a->mu);
	forget_parent_queue(a);
	n = a->q_n;
	pthread_mutex_unlock(&a->mu);
	return n;
}

void mss_audit_discard_queued(struct mss_audit *a, void (*fn)(void *ctx, const char *record, size_t len), void *ctx)
{
	if (a == NULL)
		return;
	pthread_mutex_lock(&a->mu);
	forget_parent_queue(a);
	for (size_t i = 0; fn != NULL && i < a->q_n; i++) {
		char stack[2048];
		struct buf b = {.p = stack, .cap = sizeof(stack)};

		format_body(&b, a->component, &a->q_recs[i]->rec);
		stamp(a, b.p + TS_OFFSET, &a->q_recs[i]->at);
		if (!b.oom && b.len > 0)
			fn(ctx, b.p, b.len - 1); /* the body ends with its last field's comma */
		if (b.heap)
			free(b.p);
	}
	drop_queue(a);
	pthread_mutex_unlock(&a->mu);
}

int mss_audit_flush(struct mss_audit *a, char *err, size_t errlen)
{
	if (a == NULL) {
		set_err(err, errlen, 0, "no audit handle");
		return -1;
	}
	return wait_durable(a, atomic_load(&a->written), err, errlen);
}
