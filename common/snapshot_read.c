/* Snapshot reader: libc only (tinycdb's format, read straight from the mapping).
 *
 * This file is linked into libnss_mss, i.e. into every process of the host, so it is
 * small and paranoid: one malloc at open, none per lookup; no static or shared mutable
 * state (every lookup keeps its cdb cursor on the caller's stack, which is why tinycdb's
 * own struct cdb, which stores find state inside itself, is not used); no logging;
 * and every offset read from the file is bounds-checked, because a truncated or
 * hostile file must give "corrupt" (-1, EPROTO), never a crash.
 *
 * cdb layout (D. J. Bernstein's format, as tinycdb writes it), all numbers 32-bit LE:
 *   [0, 2048)        256 table descriptors (position, number of slots)
 *   [2048, data_end) records: key length, value length, key, value
 *   [data_end, EOF)  256 hash tables of (hash, record position) slots; open addressing,
 *                    linear probing, a slot with position 0 is empty and ends a search.
 */
#include "error.h"
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "addr.h"

#define CDB_TOC_SIZE 2048u
#define CDB_HASH_INIT 5381u

struct mss_snapshot {
	const unsigned char *map;
	size_t size;	   /* file size, <= UINT32_MAX */
	uint32_t data_end; /* end of the record section: the lowest table position */
	dev_t dev;
	ino_t ino;
	time_t built;
};

/* Where a search stands. Lives on the caller's stack (or in an iterator), never in the
   shared struct mss_snapshot: that is what makes concurrent lookups safe. */
struct cursor {
	uint32_t hash;
	uint32_t table; /* offset of the hash table */
	uint32_t slots; /* slots in that table */
	uint32_t todo;	/* slots still to probe */
	uint32_t slot;	/* next slot to probe */
};

static inline uint32_t get_u32(const unsigned char *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static inline uint32_t cdb_hash_add(uint32_t h, const unsigned char *p, size_t len)
{
	while (len--)
		h = ((h << 5) + h) ^ *p++;
	return h;
}

static inline char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c + ('a' - 'A')) : c;
}

/* ---- cdb search ---- */

static void cursor_init_hashed(const struct mss_snapshot *snap, uint32_t hash, size_t keylen, struct cursor *c)
{
	const unsigned char *toc;

	c->hash = hash;
	toc = snap->map + (size_t)(c->hash & 255) * 8;
	c->table = get_u32(toc);
	c->slots = get_u32(toc + 4);
	/* A key longer than the whole record section cannot be there. */
	c->todo = keylen >= snap->data_end ? 0 : c->slots;
	c->slot = c->slots ? (c->hash >> 8) % c->slots : 0;
}

static void cursor_init(const struct mss_snapshot *snap, char kind, const char *key, size_t keylen, struct cursor *c)
{
	unsigned char kind_byte = (unsigned char)kind;

	cursor_init_hashed(snap,
			   cdb_hash_add(cdb_hash_add(CDB_HASH_INIT, &kind_byte, 1), (const unsigned char *)key, keylen),
			   keylen, c);
}

/* Next record whose key is KIND+KEY. The table bounds were checked at open; record
   positions and lengths are checked here. Returns 1, 0 (no more), -1 (EPROTO). */
static int cursor_next(const struct mss_snapshot *snap, struct cursor *c, char kind, const char *key, size_t keylen,
		       struct mss_slice *key_r, struct mss_slice *value_r)
{
	while (c->todo > 0) {
		const unsigned char *slot = snap->map + c->table + (size_t)c->slot * 8;
		uint32_t pos = get_u32(slot + 4);
		uint32_t klen, vlen;
		const unsigned char *rec;

		c->todo--;
		if (++c->slot == c->slots)
			c->slot = 0;
		if (pos == 0) {
			c->todo = 0;
			return 0;
		}
		if (get_u32(slot) != c->hash)
			continue;
		if (pos < CDB_TOC_SIZE || pos > snap->data_end - 8)
			goto corrupt;
		rec = snap->map + pos;
		klen = get_u32(rec);
		vlen = get_u32(rec + 4);
		if ((uint64_t)klen + vlen > (uint64_t)(snap->data_end - pos - 8))
			goto corrupt;
		if (klen != keylen + 1 || rec[8] != (unsigned char)kind || memcmp(rec + 9, key, keylen) != 0)
			continue;
		if (key_r != NULL) {
			key_r->p = (const char *)rec + 9;
			key_r->len = keylen;
		}
		value_r->p = (const char *)rec + 8 + klen;
		value_r->len = vlen;
		return 1;
	}
	return 0;
corrupt:
	c->todo = 0;
	errno = EPROTO;
	return -1;
}

static int find(const struct mss_snapshot *snap, char kind, const char *key, size_t keylen, struct mss_slice *key_r,
		struct mss_slice *value_r)
{
	struct cursor c;

	cursor_init(snap, kind, key, keylen, &c);
	return cursor_next(snap, &c, kind, key, keylen, key_r, value_r);
}

/* ---- open / close ---- */

/* Checks the 256 table descriptors once, so that lookups need only check records. */
static int check_tables(struct mss_snapshot *snap)
{
	uint32_t data_end = UINT32_MAX;

	for (unsigned i = 0; i < 256; i++) {
		uint32_t pos = get_u32(snap->map + i * 8);
		uint32_t slots = get_u32(snap->map + i * 8 + 4);

		if (pos < CDB_TOC_SIZE || pos > snap->size || slots > (snap->size - pos) / 8)
			return -1;
		if (pos < data_end)
			data_end = pos;
	}
	snap->data_end = data_end;
	return 0;
}

static int parse_built(struct mss_slice v, time_t *built_r)
{
	long long t = 0;

	if (v.len == 0 || v.len > 18)
		return -1;
	for (size_t i = 0; i < v.len; i++) {
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
		t = t * 10 + (v.p[i] - '0');
	}
	*built_r = (time_t)t;
	return 0;
}

static int check_metadata(struct mss_snapshot *snap, const char *path, char *err, size_t errlen)
{
	struct mss_slice v;
	int r;

	r = mss_snapshot_meta(snap, "format", &v);
	if (r < 0) {
		mss_set_error(err, errlen, "snapshot %s: corrupt cdb file", path);
		return -1;
	}
	if (r == 0) {
		mss_set_error(err, errlen, "snapshot %s: no format version: not an mssante snapshot", path);
		errno = EPROTO;
		return -1;
	}
	if (v.len != strlen(MSS_SNAPSHOT_FORMAT) || memcmp(v.p, MSS_SNAPSHOT_FORMAT, v.len) != 0) {
		mss_set_error(err, errlen,
			"snapshot %s: format version \"%.*s\" is not supported (this reader knows \"%s\"); "
			"upgrade the modules or rebuild the snapshot with this version's mssctl",
			path, (int)(v.len > 16 ? 16 : v.len), v.p, MSS_SNAPSHOT_FORMAT);
		errno = EPROTO;
		return -1;
	}
	/* Without a build time the snapshot counts as infinitely old: stale for PAM and the milter. */
	snap->built = 0;
	r = mss_snapshot_meta(snap, "built", &v);
	if (r < 0 || (r == 1 && parse_built(v, &snap->built) < 0)) {
		mss_set_error(err, errlen, "snapshot %s: invalid \"built\" metadata", path);
		errno = EPROTO;
		return -1;
	}
	return 0;
}

int mss_snapshot_open(const char *path, unsigned flags, struct mss_snapshot **snap_r, char *err, size_t errlen)
{
	struct mss_snapshot *snap = NULL;
	struct stat st;
	void *map = MAP_FAILED;
	int fd = -1, saved;

	*snap_r = NULL;
	/* O_NONBLOCK: a FIFO planted at the path must not hang the process (it is then refused
	   as not regular); it has no effect on a regular file. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		saved = errno;
		if (saved == ELOOP)
			mss_set_error(err, errlen, "snapshot %s: is a symbolic link, refused", path);
		else
			mss_set_error(err, errlen, "snapshot %s: %s", path, strerror(saved));
		errno = saved;
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: fstat: %s", path, strerror(saved));
		goto fail;
	}
	if (!S_ISREG(st.st_mode)) {
		mss_set_error(err, errlen, "snapshot %s: not a regular file", path);
		saved = EINVAL;
		goto fail;
	}
	if (st.st_uid != 0 && !(flags & MSS_SNAPSHOT_ANY_OWNER)) {
		mss_set_error(err, errlen, "snapshot %s: owned by uid %lu, not root: refused", path,
			(unsigned long)st.st_uid);
		saved = EPERM;
		goto fail;
	}
	if (st.st_mode & (S_IWGRP | S_IWOTH)) {
		mss_set_error(err, errlen, "snapshot %s: writable by group or others (mode %04o): refused", path,
			(unsigned)(st.st_mode & 07777));
		saved = EPERM;
		goto fail;
	}
	if (st.st_size < (off_t)CDB_TOC_SIZE || (uint64_t)st.st_size > UINT32_MAX) {
		mss_set_error(err, errlen, "snapshot %s: size %lld is not that of a cdb file", path, (long long)st.st_size);
		saved = EPROTO;
		goto fail;
	}
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0);
	if (map == MAP_FAILED) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: mmap: %s", path, strerror(saved));
		goto fail;
	}
	snap = malloc(sizeof(*snap));
	if (snap == NULL) {
		saved = ENOMEM;
		mss_set_error(err, errlen, "snapshot %s: out of memory", path);
		goto fail;
	}
	snap->map = map;
	snap->size = (size_t)st.st_size;
	snap->dev = st.st_dev;
	snap->ino = st.st_ino;
	snap->built = 0;
	if (check_tables(snap) < 0) {
		mss_set_error(err, errlen, "snapshot %s: corrupt cdb file (bad hash table)", path);
		saved = EPROTO;
		goto fail;
	}
	if (check_metadata(snap, path, err, errlen) < 0) {
		saved = errno;
		goto fail;
	}
	/* The mapping keeps the file; no descriptor stays open in the host process. */
	close(fd);
	*snap_r = snap;
	return 0;
fail:
	free(snap);
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	errno = saved;
	return -1;
}

void mss_snapshot_close(struct mss_snapshot *snap)
{
	if (snap == NULL)
		return;
	munmap((void *)snap->map, snap->size);
	free(snap);
}

bool mss_snapshot_replaced(const struct mss_snapshot *snap, const char *path)
{
	struct stat st;

	if (stat(path, &st) < 0)
		return true;
	return st.st_dev != snap->dev || st.st_ino != snap->ino;
}

time_t mss_snapshot_built(const struct mss_snapshot *snap)
{
	return snap->built;
}

long long mss_snapshot_age(const struct mss_snapshot *snap, time_t now)
{
	return now > snap->built ? (long long)now - (long long)snap->built : 0;
}

dev_t mss_snapshot_dev(const struct mss_snapshot *snap)
{
	return snap->dev;
}

ino_t mss_snapshot_ino(const struct mss_snapshot *snap)
{
	return snap->ino;
}

/* ---- decoders ---- */

/* Byte classes for split_fields: 0 plain text, 1 the TAB separator, 2 refused. Constant
   data, so sharing it between threads is fine. */
#define CTL8(x) x, x, x, x, x, x, x, x
static const unsigned char byte_class[256] = {
    2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, CTL8(2), CTL8(2), [0x7f] = 2,
};

/* Splits V into exactly N TAB-separated fields. Refuses any other control character, so
   that nothing read from the file can smuggle a CR, LF or NUL into a passwd line or a log. */
static int split_fields(const char *v, size_t vlen, struct mss_slice *fields, size_t n)
{
	size_t field = 0, start = 0;

	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = byte_class[(unsigned char)v[i]];

		if (c == 0)
			continue;
		if (c == 2 || field + 1 == n)
			return -1;
		fields[field].p = v + start;
		fields[field].len = i - start;
		field++;
		start = i + 1;
	}
	if (field + 1 != n)
		return -1;
	fields[field].p = v + start;
	fields[field].len = vlen - start;
	return 0;
}

/* A key: non-empty, bounded, no control character. */
static bool key_ok(const char *key, size_t keylen, size_t max)
{
	if (keylen == 0 || keylen > max)
		return false;
	for (size_t i = 0; i < keylen; i++) {
		unsigned char c = (unsigned char)key[i];

		if (c < 0x20 || c == 0x7f)
			return false;
	}
	return true;
}

static bool is_status(struct mss_slice s)
{
	return s.len == 1 && (s.p[0] == 'A' || s.p[0] == 'S');
}

/* BAL types: PER, ORG, APP, CAB today; any short upper-case word is accepted so that a new
   type does not make a whole snapshot unreadable (callers compare against the names they know). */
static bool is_bal_type(struct mss_slice s)
{
	if (s.len == 0 || s.len > 8)
		return false;
	for (size_t i = 0; i < s.len; i++)
		if (s.p[i] < 'A' || s.p[i] > 'Z')
			return false;
	return true;
}

/* Decimal uid, no sign, no leading zero. Empty means "no uid" (a BAL of the national
   directory, not a local account). 0 (root) and (uid_t)-1 are refused: a directory record
   must never produce either. */
static int parse_uid(struct mss_slice s, uint32_t *uid_r)
{
	uint64_t u = 0;

	if (s.len == 0) {
		*uid_r = MSS_SNAPSHOT_NO_UID;
		return 0;
	}
	if (s.len > 10 || s.p[0] == '0')
		return -1;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return -1;
		u = u * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (u >= UINT32_MAX)
		return -1;
	*uid_r = (uint32_t)u;
	return 0;
}

static int protocol_error(void)
{
	errno = EPROTO;
	return -1;
}

/* The value part of decode_bal; KEY must already be known valid. */
static int decode_bal_value(const char *key, size_t keylen, const char *v, size_t vlen, struct mss_bal *bal_r)
{
	struct mss_slice f[9];

	if (split_fields(v, vlen, f, 9) < 0)
		return protocol_error();
	if (!is_bal_type(f[0]) || !is_status(f[1]) || parse_uid(f[2], &bal_r->uid) < 0)
		return protocol_error();
	if (f[3].len != 1 || (f[3].p[0] != 'L' && f[3].p[0] != 'X'))
		return protocol_error();
	bal_r->address.p = key;
	bal_r->address.len = keylen;
	bal_r->type = f[0];
	bal_r->status = f[1].p[0];
	bal_r->source = f[3].p[0];
	bal_r->owner = f[4];
	bal_r->name = f[5];
	bal_r->delegates = f[6];
	bal_r->app_subject = f[7];
	bal_r->structure = f[8];
	return 0;
}

int mss_snapshot_decode_bal(const char *key, size_t keylen, const char *v, size_t vlen, struct mss_bal *bal_r)
{
	if (!key_ok(key, keylen, MSS_ADDR_MAX) || memchr(key, '@', keylen) == NULL)
		return protocol_error();
	return decode_bal_value(key, keylen, v, vlen, bal_r);
}

int mss_snapshot_decode_person(const char *key, size_t keylen, const char *v, size_t vlen, struct mss_person *p_r)
{
	struct mss_slice f[4];

	if (!key_ok(key, keylen, MSS_SNAPSHOT_IDNAT_MAX))
		return protocol_error();
	if (split_fields(v, vlen, f, 4) < 0 || !is_status(f[0]))
		return protocol_error();
	p_r->idnat.p = key;
	p_r->idnat.len = keylen;
	p_r->status = f[0].p[0];
	p_r->name = f[1];
	p_r->ldap_dn = f[2];
	p_r->bals = f[3];
	return 0;
}

int mss_snapshot_decode_trust(const char *key, size_t keylen, const char *v, size_t vlen,
			      struct mss_trust_record *rec_r)
{
	struct mss_slice f[7];

	if (!key_ok(key, keylen, MSS_ADDR_DOMAIN_MAX))
		return protocol_error();
	if (split_fields(v, vlen, f, 7) < 0 || f[0].len == 0 || f[1].len == 0)
		return protocol_error();
	rec_r->domain.p = key;
	rec_r->domain.len = keylen;
	rec_r->dn = f[0];
	rec_r->cn = f[1];
	rec_r->ou = f[2];
	rec_r->o = f[3];
	rec_r->description = f[4];
	rec_r->date_maj = f[5];
	rec_r->dn_raw = f[6];
	return 0;
}

/* ---- lookups ---- */

int mss_snapshot_get(const struct mss_snapshot *snap, char kind, const char *key, size_t keylen,
		     struct mss_slice *value_r)
{
	return find(snap, kind, key, keylen, NULL, value_r);
}

int mss_snapshot_meta(const struct mss_snapshot *snap, const char *name, struct mss_slice *value_r)
{
	return find(snap, 'M', name, strlen(name), NULL, value_r);
}

static int bal_exact(const struct mss_snapshot *snap, const char *address, size_t len, struct mss_bal *bal_r)
{
	struct mss_slice key, value;
	int r;

	r = find(snap, 'B', address, len, &key, &value);
	if (r <= 0)
		return r;
	if (mss_snapshot_decode_bal(key.p, key.len, value.p, value.len, bal_r) < 0)
		return -1;
	return 1;
}

/* The getpwnam path, so done in one pass over ADDRESS: lower-case it, hash it, and check it
   as decode_bal would check the stored key. The stored key, if found, is byte for byte the
   checked copy, so it is not scanned again. */
int mss_snapshot_bal(const struct mss_snapshot *snap, const char *address, size_t len, struct mss_bal *bal_r)
{
	char lower[MSS_ADDR_MAX];
	uint32_t hash = ((CDB_HASH_INIT << 5) + CDB_HASH_INIT) ^ 'B';
	bool at = false, bad = false;
	struct mss_slice key, value;
	struct cursor c;
	int r;

	/* Not an address any valid record can hold: it cannot be there. */
	if (len == 0 || len > sizeof(lower))
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)address[i];

		bad |= ch < 0x20 || ch == 0x7f;
		at |= ch == '@';
		ch = (unsigned char)ascii_lower((char)ch);
		lower[i] = (char)ch;
		hash = ((hash << 5) + hash) ^ ch;
	}
	if (bad || !at)
		return 0;
	cursor_init_hashed(snap, hash, len, &c);
	r = cursor_next(snap, &c, 'B', lower, len, &key, &value);
	if (r <= 0)
		return r;
	if (decode_bal_value(key.p, key.len, value.p, value.len, bal_r) < 0)
		return -1;
	return 1;
}

int mss_snapshot_bal_by_uid(const struct mss_snapshot *snap, uint32_t uid, struct mss_bal *bal_r)
{
	char digits[16];
	size_t n = sizeof(digits);
	struct mss_slice address;
	int r;

	do {
		digits[--n] = (char)('0' + uid % 10);
		uid /= 10;
	} while (uid != 0);
	r = find(snap, 'U', digits + n, sizeof(digits) - n, NULL, &address);
	if (r <= 0)
		return r;
	r = bal_exact(snap, address.p, address.len, bal_r);
	if (r == 0)
		return protocol_error(); /* a uid pointing to no BAL */
	if (r < 0)
		return r;
	/* The uid index and the BAL record must agree, or NSS would hand out a wrong identity. */
	{
		uint32_t want = 0;

		for (size_t i = n; i < sizeof(digits); i++)
			want = want * 10 + (uint32_t)(digits[i] - '0');
		if (bal_r->uid != want)
			return protocol_error();
	}
	return 1;
}

int mss_snapshot_person(const struct mss_snapshot *snap, const char *idnat, size_t len, struct mss_person *p_r)
{
	struct mss_slice key, value;
	int r;

	r = find(snap, 'P', idnat, len, &key, &value);
	if (r <= 0)
		return r;
	if (mss_snapshot_decode_person(key.p, key.len, value.p, value.len, p_r) < 0)
		return -1;
	return 1;
}

/* ---- trust records of a domain ---- */

static int domain_step(struct mss_snapshot_iter *it, struct mss_trust_record *rec_r)
{
	struct cursor c = {it->hash, it->table, it->slots, it->todo, it->slot};
	struct mss_slice key, value;
	int r;

	r = cursor_next(it->snap, &c, 'D', it->key, it->keylen, &key, &value);
	it->todo = c.todo;
	it->slot = c.slot;
	if (r <= 0)
		return r;
	if (mss_snapshot_decode_trust(key.p, key.len, value.p, value.len, rec_r) < 0) {
		it->todo = 0;
		return -1;
	}
	return 1;
}

int mss_snapshot_domain_first(const struct mss_snapshot *snap, const char *domain, struct mss_snapshot_iter *it,
			      struct mss_trust_record *rec_r)
{
	size_t len = strlen(domain);
	struct cursor c;

	it->snap = snap;
	it->todo = 0;
	if (len > 0 && domain[len - 1] == '.')
		len--;
	if (len == 0 || len > MSS_ADDR_DOMAIN_MAX)
		return 0;
	for (size_t i = 0; i < len; i++)
		it->key[i] = ascii_lower(domain[i]);
	it->key[len] = '\0';
	it->keylen = len;
	cursor_init(snap, 'D', it->key, len, &c);
	it->hash = c.hash;
	it->table = c.table;
	it->slots = c.slots;
	it->todo = c.todo;
	it->slot = c.slot;
	return domain_step(it, rec_r);
}

int mss_snapshot_domain_next(struct mss_snapshot_iter *it, struct mss_trust_record *rec_r)
{
	return domain_step(it, rec_r);
}

/* ---- sequential walk ---- */

int mss_snapshot_walk(const struct mss_snapshot *snap, size_t *pos, char *kind_r, struct mss_slice *key_r,
		      struct mss_slice *value_r)
{
	size_t p = *pos == 0 ? CDB_TOC_SIZE : *pos;
	uint32_t klen, vlen;
	const unsigned char *rec;

	if (p == snap->data_end)
		return 0;
	if (p < CDB_TOC_SIZE || p > snap->data_end || snap->data_end - p < 8)
		return protocol_error();
	rec = snap->map + p;
	klen = get_u32(rec);
	vlen = get_u32(rec + 4);
	if (klen == 0 || (uint64_t)klen + vlen > (uint64_t)(snap->data_end - p - 8))
		return protocol_error();
	*kind_r = (char)rec[8];
	key_r->p = (const char *)rec + 9;
	key_r->len = klen - 1;
	value_r->p = (const char *)rec + 8 + klen;
	value_r->len = vlen;
	*pos = p + 8 + klen + vlen;
	return 1;
}
