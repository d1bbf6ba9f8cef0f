/* Unit tests of the snapshot writer and reader (common/snapshot_*.c).
 *
 * Runs as root (CI) or as an ordinary user: files are created with the current uid and
 * opened with MSS_SNAPSHOT_ANY_OWNER, except in the owner test.
 *
 * `test_snapshot --gen-corpus DIR` writes the fuzz seed snapshots (tests/fuzz/corpus/snapshot). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <cdb.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "snapshot.h"
#include "tmpdir.h"

#define BUILT 1700000000

static char test_dir[256];
static char snap_path[300];

/* ---- helpers ---- */

static int make_dir(void **state)
{
	(void)state;
	if (test_tmpdir_make(test_dir, sizeof(test_dir), "test_snapshot") < 0)
		return -1;
	snprintf(snap_path, sizeof(snap_path), "%s/snapshot.cdb", test_dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	return test_tmpdir_remove(test_dir);
}

static size_t count_dir_entries(void)
{
	DIR *d = opendir(test_dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static bool slice_is(struct mss_slice s, const char *want)
{
	return s.len == strlen(want) && memcmp(s.p, want, s.len) == 0;
}

#define assert_slice(s, want)                                                                                          \
	do {                                                                                                           \
		struct mss_slice s_ = (s);                                                                             \
		if (!slice_is(s_, want))                                                                               \
			fail_msg("%s is \"%.*s\", want \"%s\"", #s, (int)s_.len, s_.p, want);                          \
	} while (0)

static void put(struct mss_snapshot_writer *w, char kind, const char *key, const char *value)
{
	char err[256] = "";

	if (mss_snapshot_put(w, kind, key, strlen(key), value, strlen(value), err, sizeof(err)) < 0)
		fail_msg("put %c %s: %s", kind, key, err);
}

static void put_fields(struct mss_snapshot_writer *w, char kind, const char *key, const char *const *f, size_t n)
{
	char err[256] = "";

	if (mss_snapshot_put_fields(w, kind, key, f, n, err, sizeof(err)) < 0)
		fail_msg("put_fields %c %s: %s", kind, key, err);
}

/* The reference snapshot. VERSION shows in the name of the PER BAL (thread test). */
static int write_sample_to(const char *path, int version)
{
	struct mss_snapshot_writer *w;
	char err[256] = "", name[64], built[32];

	if (mss_snapshot_writer_open(path, &w, err, sizeof(err)) < 0) {
		fprintf(stderr, "writer_open: %s\n", err);
		return -1;
	}
	snprintf(name, sizeof(name), "version %d", version);
	snprintf(built, sizeof(built), "%d", BUILT + version);
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	put(w, 'M', "built", built);
	put(w, 'M', "bals", "4");
	{
		const char *per[] = {"PER", "A", "1001", "L", "810003461033", name, "", "", ""};
		const char *sid = "1750000001", *delegates = "810003461033,810000000002";
		const char *app_dn = "CN=dpi.example.fr,O=CH Test,C=FR";
		const char *org[] = {"ORG", "A", "1002", "L", "", "Service de cardiologie", delegates, "", sid};
		const char *app[] = {"APP", "S", "1003", "L", "", "DPI", "", app_dn, sid};
		const char *ext[] = {"PER", "A", "", "X", "810000000009", "Marie Curie", "", "", ""};

		put_fields(w, 'B', "per@example.fr", per, 9);
		put_fields(w, 'B', "org@example.fr", org, 9);
		put_fields(w, 'B', "app@example.fr", app, 9);
		put_fields(w, 'B', "ext@other.fr", ext, 9);
	}
	put(w, 'U', "1001", "per@example.fr");
	put(w, 'U', "1002", "org@example.fr");
	put(w, 'U', "1003", "app@example.fr");
	put(w, 'P', "810003461033",
	    "A\tJean Dupont\tuid=jdupont,ou=people,dc=example,dc=fr\tper@example.fr,org@example.fr");
	for (int i = 1; i <= 3; i++) {
		char dn[128], cn[64], raw[128];

		snprintf(cn, sizeof(cn), "mta%d.medimail.fr", i);
		snprintf(dn, sizeof(dn), "CN=%s,OU=318310021300028,O=GIP MIPIH,ST=Haute-Garonne (31),C=FR", cn);
		snprintf(raw, sizeof(raw), "CN=%s, OU=318310021300028, O=GIP MIPIH, L=Haute-Garonne (31), C=FR", cn);

		const char *f[] = {dn, cn, "318310021300028", "GIP MIPIH", "Medimail", "2024-01-01", raw};
		put_fields(w, 'D', "medimail.fr", f, 7);
	}
	{
		const char *f[] = {"CN=mx.other.fr,O=Other,C=FR", "mx.other.fr", "", "Other", "", "", ""};

		put_fields(w, 'D', "other.fr", f, 7);
	}
	put(w, 'A', "CN=dpi.example.fr,O=CH Test,C=FR", "app@example.fr");
	put(w, 'G', "org@example.fr", "per@example.fr");
	put(w, 'I', "per@example.fr", "1002");
	put(w, 'L', "example.fr", "");
	if (mss_snapshot_writer_commit(w, err, sizeof(err)) < 0) {
		fprintf(stderr, "commit: %s\n", err);
		mss_snapshot_writer_abort(w);
		return -1;
	}
	return 0;
}
#define SAMPLE_RECORDS 19

static void write_sample(int version)
{
	assert_int_equal(write_sample_to(snap_path, version), 0);
}

static struct mss_snapshot *open_ok(const char *path)
{
	struct mss_snapshot *snap = NULL;
	char err[256] = "";

	if (mss_snapshot_open(path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)) < 0)
		fail_msg("open %s: %s", path, err);
	return snap;
}

static size_t read_file(const char *path, unsigned char **data_r)
{
	FILE *f = fopen(path, "rb");
	long n;

	assert_non_null(f);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	*data_r = malloc((size_t)n + 1);
	assert_non_null(*data_r);
	assert_int_equal(fread(*data_r, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	return (size_t)n;
}

static void write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd;

	unlink(path);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

/* Every lookup the API offers; returns how many answered -1 (all with errno EPROTO). */
static int exercise_all(const struct mss_snapshot *snap)
{
	struct mss_bal bal;
	struct mss_person person;
	struct mss_trust_record rec;
	struct mss_snapshot_iter it;
	struct mss_slice key, value;
	size_t pos = 0;
	char kind;
	int r, corrupt = 0, n;

#define CHECK(expr)                                                                                                    \
	do {                                                                                                           \
		errno = 0;                                                                                             \
		r = (expr);                                                                                            \
		assert_true(r >= -1 && r <= 1);                                                                        \
		if (r < 0) {                                                                                           \
			assert_int_equal(errno, EPROTO);                                                               \
			corrupt++;                                                                                     \
		}                                                                                                      \
	} while (0)
	CHECK(mss_snapshot_meta(snap, "format", &value));
	CHECK(mss_snapshot_bal(snap, "per@example.fr", 14, &bal));
	CHECK(mss_snapshot_bal(snap, "ext@other.fr", 12, &bal));
	CHECK(mss_snapshot_bal(snap, "nobody@example.fr", 17, &bal));
	CHECK(mss_snapshot_bal_by_uid(snap, 1001, &bal));
	CHECK(mss_snapshot_bal_by_uid(snap, 1003, &bal));
	CHECK(mss_snapshot_person(snap, "810003461033", 12, &person));
	CHECK(mss_snapshot_get(snap, 'L', "example.fr", 10, &value));
	CHECK(mss_snapshot_domain_first(snap, "medimail.fr", &it, &rec));
	for (n = 0; r == 1 && n < 100; n++)
		CHECK(mss_snapshot_domain_next(&it, &rec));
	CHECK(mss_snapshot_walk(snap, &pos, &kind, &key, &value));
	for (n = 0; r == 1 && n < 1000; n++)
		CHECK(mss_snapshot_walk(snap, &pos, &kind, &key, &value));
#undef CHECK
	return corrupt;
}

/* ---- round trip ---- */

static void test_roundtrip_all_kinds(void **state)
{
	struct mss_snapshot *snap;
	struct mss_bal bal;
	struct mss_person person;
	struct mss_slice v;

	(void)state;
	write_sample(0);
	snap = open_ok(snap_path);
	assert_int_equal(mss_snapshot_built(snap), BUILT);

	assert_int_equal(mss_snapshot_meta(snap, "format", &v), 1);
	assert_slice(v, "1");
	assert_int_equal(mss_snapshot_meta(snap, "bals", &v), 1);
	assert_slice(v, "4");
	assert_int_equal(mss_snapshot_meta(snap, "persons", &v), 0);

	assert_int_equal(mss_snapshot_bal(snap, "per@example.fr", 14, &bal), 1);
	assert_slice(bal.address, "per@example.fr");
	assert_slice(bal.type, "PER");
	assert_int_equal(bal.status, 'A');
	assert_int_equal(bal.source, 'L');
	assert_int_equal(bal.uid, 1001);
	assert_slice(bal.owner, "810003461033");
	assert_slice(bal.name, "version 0");
	assert_slice(bal.delegates, "");
	assert_slice(bal.app_subject, "");
	assert_slice(bal.structure, "");

	assert_int_equal(mss_snapshot_bal(snap, "org@example.fr", 14, &bal), 1);
	assert_slice(bal.type, "ORG");
	assert_slice(bal.name, "Service de cardiologie");
	assert_slice(bal.delegates, "810003461033,810000000002");
	assert_slice(bal.structure, "1750000001");

	assert_int_equal(mss_snapshot_bal(snap, "app@example.fr", 14, &bal), 1);
	assert_slice(bal.type, "APP");
	assert_int_equal(bal.status, 'S');
	assert_slice(bal.app_subject, "CN=dpi.example.fr,O=CH Test,C=FR");

	assert_int_equal(mss_snapshot_bal(snap, "ext@other.fr", 12, &bal), 1);
	assert_int_equal(bal.source, 'X');
	assert_int_equal(bal.uid, MSS_SNAPSHOT_NO_UID);

	/* the address is lower-cased before the lookup; the slice is the stored key */
	assert_int_equal(mss_snapshot_bal(snap, "PER@Example.FR", 14, &bal), 1);
	assert_slice(bal.address, "per@example.fr");
	assert_int_equal(mss_snapshot_bal(snap, "per@example.f", 13, &bal), 0);
	assert_int_equal(mss_snapshot_bal(snap, "per@example.frx", 15, &bal), 0);
	assert_int_equal(mss_snapshot_bal(snap, "", 0, &bal), 0);
	/* what no valid record can hold is not looked up at all */
	assert_int_equal(mss_snapshot_bal(snap, "per@example.fr\n", 15, &bal), 0);
	assert_int_equal(mss_snapshot_bal(snap, "per@example.fr\0", 15, &bal), 0);
	assert_int_equal(mss_snapshot_bal(snap, "per\x7f@example.fr", 15, &bal), 0);
	assert_int_equal(mss_snapshot_bal(snap, "perexample.fr", 13, &bal), 0);
	{
		char big[1000];

		memset(big, 'a', sizeof(big));
		assert_int_equal(mss_snapshot_bal(snap, big, sizeof(big), &bal), 0);
	}

	assert_int_equal(mss_snapshot_person(snap, "810003461033", 12, &person), 1);
	assert_slice(person.idnat, "810003461033");
	assert_int_equal(person.status, 'A');
	assert_slice(person.name, "Jean Dupont");
	assert_slice(person.ldap_dn, "uid=jdupont,ou=people,dc=example,dc=fr");
	assert_slice(person.bals, "per@example.fr,org@example.fr");
	assert_int_equal(mss_snapshot_person(snap, "810003461034", 12, &person), 0);

	assert_int_equal(mss_snapshot_get(snap, 'A', "CN=dpi.example.fr,O=CH Test,C=FR", 32, &v), 1);
	assert_slice(v, "app@example.fr");
	assert_int_equal(mss_snapshot_get(snap, 'G', "org@example.fr", 14, &v), 1);
	assert_slice(v, "per@example.fr");
	assert_int_equal(mss_snapshot_get(snap, 'I', "per@example.fr", 14, &v), 1);
	assert_slice(v, "1002");
	assert_int_equal(mss_snapshot_get(snap, 'L', "example.fr", 10, &v), 1);
	assert_int_equal(v.len, 0);
	assert_int_equal(mss_snapshot_get(snap, 'L', "other.fr", 8, &v), 0);
	/* same key text, other kind */
	assert_int_equal(mss_snapshot_get(snap, 'G', "per@example.fr", 14, &v), 0);
	mss_snapshot_close(snap);
	/* nothing but the published file is left in the directory */
	assert_int_equal(count_dir_entries(), 1);
}

static void test_domain_iteration(void **state)
{
	struct mss_snapshot *snap;
	struct mss_trust_record rec, rec2;
	struct mss_snapshot_iter it, it2;
	bool seen[4] = {false};
	int r, n = 0;

	(void)state;
	write_sample(0);
	snap = open_ok(snap_path);
	for (r = mss_snapshot_domain_first(snap, "MediMail.FR.", &it, &rec); r == 1;
	     r = mss_snapshot_domain_next(&it, &rec)) {
		int i;

		assert_slice(rec.domain, "medimail.fr");
		assert_int_equal(rec.cn.len, 16);
		assert_memory_equal(rec.cn.p, "mta", 3);
		i = rec.cn.p[3] - '0';
		assert_in_range(i, 1, 3);
		assert_false(seen[i]);
		seen[i] = true;
		assert_slice(rec.ou, "318310021300028");
		assert_slice(rec.o, "GIP MIPIH");
		assert_slice(rec.description, "Medimail");
		assert_slice(rec.date_maj, "2024-01-01");
		assert_true(rec.dn.len > rec.cn.len + 3 && memcmp(rec.dn.p + 3, rec.cn.p, rec.cn.len) == 0);
		assert_true(rec.dn_raw.len > 0);
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(n, 3);
	/* the end is sticky */
	assert_int_equal(mss_snapshot_domain_next(&it, &rec), 0);

	assert_int_equal(mss_snapshot_domain_first(snap, "other.fr", &it, &rec), 1);
	assert_slice(rec.cn, "mx.other.fr");
	assert_slice(rec.ou, "");
	assert_int_equal(mss_snapshot_domain_next(&it, &rec), 0);

	assert_int_equal(mss_snapshot_domain_first(snap, "unknown.fr", &it, &rec), 0);
	assert_int_equal(mss_snapshot_domain_first(snap, "", &it, &rec), 0);
	assert_int_equal(mss_snapshot_domain_first(snap, ".", &it, &rec), 0);
	{
		char big[400];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		assert_int_equal(mss_snapshot_domain_first(snap, big, &it, &rec), 0);
	}

	/* two iterators interleaved do not disturb each other */
	n = 0;
	assert_int_equal(mss_snapshot_domain_first(snap, "medimail.fr", &it, &rec), 1);
	assert_int_equal(mss_snapshot_domain_first(snap, "medimail.fr", &it2, &rec2), 1);
	assert_true(slice_is(rec.cn, "") == false && rec.cn.p == rec2.cn.p);
	while (mss_snapshot_domain_next(&it2, &rec2) == 1)
		n++;
	assert_int_equal(n, 2);
	assert_int_equal(mss_snapshot_domain_next(&it, &rec), 1);
	assert_int_equal(mss_snapshot_domain_next(&it, &rec), 1);
	assert_int_equal(mss_snapshot_domain_next(&it, &rec), 0);
	mss_snapshot_close(snap);
}

static void test_uid_lookup(void **state)
{
	struct mss_snapshot_writer *w;
	struct mss_snapshot *snap;
	struct mss_bal bal;
	char err[256];
	const char *ok[] = {"PER", "A", "2001", "L", "", "", "", "", ""};

	(void)state;
	write_sample(0);
	snap = open_ok(snap_path);
	assert_int_equal(mss_snapshot_bal_by_uid(snap, 1002, &bal), 1);
	assert_slice(bal.address, "org@example.fr");
	assert_int_equal(bal.uid, 1002);
	assert_int_equal(mss_snapshot_bal_by_uid(snap, 1004, &bal), 0);
	assert_int_equal(mss_snapshot_bal_by_uid(snap, 0, &bal), 0);
	assert_int_equal(mss_snapshot_bal_by_uid(snap, UINT32_MAX, &bal), 0);
	mss_snapshot_close(snap);

	/* an index that disagrees with the record, or points nowhere, is corruption */
	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	put_fields(w, 'B', "a@example.fr", ok, 9);
	put(w, 'U', "2001", "a@example.fr");
	put(w, 'U', "2002", "a@example.fr");
	put(w, 'U', "2003", "gone@example.fr");
	assert_int_equal(mss_snapshot_writer_commit(w, err, sizeof(err)), 0);
	snap = open_ok(snap_path);
	assert_int_equal(mss_snapshot_built(snap), 0); /* no "built": infinitely old */
	assert_int_equal(mss_snapshot_bal_by_uid(snap, 2001, &bal), 1);
	errno = 0;
	assert_int_equal(mss_snapshot_bal_by_uid(snap, 2002, &bal), -1);
	assert_int_equal(errno, EPROTO);
	errno = 0;
	assert_int_equal(mss_snapshot_bal_by_uid(snap, 2003, &bal), -1);
	assert_int_equal(errno, EPROTO);
	mss_snapshot_close(snap);
}

static void test_walk(void **state)
{
	struct mss_snapshot *snap;
	struct mss_slice key, value, key2, value2;
	size_t pos = 0, pos2 = 0;
	char kind, kind2;
	int counts[256] = {0}, n = 0, r;

	(void)state;
	write_sample(0);
	snap = open_ok(snap_path);
	while ((r = mss_snapshot_walk(snap, &pos, &kind, &key, &value)) == 1) {
		/* a second walker one step behind sees the same records */
		assert_int_equal(mss_snapshot_walk(snap, &pos2, &kind2, &key2, &value2), 1);
		assert_int_equal(kind, kind2);
		assert_ptr_equal(key.p, key2.p);
		assert_int_equal(value.len, value2.len);
		if (n == 0) {
			assert_int_equal(kind, 'M');
			assert_slice(key, "format");
			assert_slice(value, "1");
		}
		counts[(unsigned char)kind]++;
		n++;
	}
	assert_int_equal(r, 0);
	assert_int_equal(mss_snapshot_walk(snap, &pos, &kind, &key, &value), 0);
	assert_int_equal(n, SAMPLE_RECORDS);
	assert_int_equal(counts['M'], 3);
	assert_int_equal(counts['B'], 4);
	assert_int_equal(counts['U'], 3);
	assert_int_equal(counts['P'], 1);
	assert_int_equal(counts['D'], 4);
	assert_int_equal(counts['A'] + counts['G'] + counts['I'] + counts['L'], 4);
	/* a position that is not in the record section */
	pos = 1;
	errno = 0;
	assert_int_equal(mss_snapshot_walk(snap, &pos, &kind, &key, &value), -1);
	assert_int_equal(errno, EPROTO);
	pos = (size_t)1 << 40;
	assert_int_equal(mss_snapshot_walk(snap, &pos, &kind, &key, &value), -1);
	mss_snapshot_close(snap);
}

/* tinycdb's own reader finds every key we wrote, and ours finds them too: the hash and
   probing agree, also with many collisions in the 256 tables. */
static void test_many_records_match_tinycdb(void **state)
{
	struct mss_snapshot_writer *w;
	struct mss_snapshot *snap;
	struct mss_bal bal;
	struct cdb cdb;
	char err[256], addr[64], uid[16];
	int fd;
	const int n = 20000;

	(void)state;
	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	for (int i = 0; i < n; i++) {
		const char *f[] = {"PER", "A", uid, "L", "", addr, "", "", ""};

		snprintf(addr, sizeof(addr), "user%d@example.fr", i);
		snprintf(uid, sizeof(uid), "%d", 10000 + i);
		put_fields(w, 'B', addr, f, 9);
		put(w, 'U', uid, addr);
	}
	assert_int_equal(mss_snapshot_writer_commit(w, err, sizeof(err)), 0);
	snap = open_ok(snap_path);
	fd = open(snap_path, O_RDONLY | O_CLOEXEC);
	assert_true(fd >= 0);
	assert_int_equal(cdb_init(&cdb, fd), 0);
	for (int i = 0; i < n; i++) {
		char key[80];
		int len = snprintf(addr, sizeof(addr), "user%d@example.fr", i);

		key[0] = 'B';
		memcpy(key + 1, addr, (size_t)len);
		assert_int_equal(cdb_find(&cdb, key, (unsigned)len + 1), 1);
		assert_int_equal(mss_snapshot_bal(snap, addr, (size_t)len, &bal), 1);
		assert_int_equal(bal.uid, 10000 + i);
		assert_true(slice_is(bal.name, addr));
		assert_int_equal(mss_snapshot_bal_by_uid(snap, (uint32_t)(10000 + i), &bal), 1);
		assert_true(slice_is(bal.address, addr));
		len = snprintf(addr, sizeof(addr), "user%d@example.fr", n + i);
		assert_int_equal(mss_snapshot_bal(snap, addr, (size_t)len, &bal), 0);
	}
	cdb_free(&cdb);
	close(fd);
	mss_snapshot_close(snap);
}

/* ---- open refusals ---- */

static void test_missing_file(void **state)
{
	struct mss_snapshot *snap = (void *)1;
	char err[256] = "";

	(void)state;
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, ENOENT);
	assert_null(snap);
	assert_non_null(strstr(err, snap_path));
	/* no error buffer at all is fine too */
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, NULL, 0), -1);
	assert_int_equal(errno, ENOENT);
}

static void test_symlink_refused(void **state)
{
	struct mss_snapshot *snap;
	char err[256] = "", target[320];

	(void)state;
	snprintf(target, sizeof(target), "%s/real.cdb", test_dir);
	assert_int_equal(write_sample_to(target, 0), 0);
	assert_int_equal(symlink(target, snap_path), 0);
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, ELOOP);
	assert_non_null(strstr(err, "symbolic link"));
	/* the target itself opens */
	snap = open_ok(target);
	mss_snapshot_close(snap);
}

static void test_writable_refused(void **state)
{
	struct mss_snapshot *snap;
	char err[256] = "";
	const mode_t bad[] = {0664, 0646, 0666, 0620, 0602};

	(void)state;
	write_sample(0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(chmod(snap_path, bad[i]), 0);
		errno = 0;
		err[0] = '\0';
		assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(err, "writable"));
	}
	assert_int_equal(chmod(snap_path, 0644), 0);
	snap = open_ok(snap_path);
	mss_snapshot_close(snap);
	assert_int_equal(chmod(snap_path, 0400), 0);
	snap = open_ok(snap_path);
	mss_snapshot_close(snap);
}

static void test_owner_refused(void **state)
{
	struct mss_snapshot *snap = NULL;
	char err[256] = "";

	(void)state;
	write_sample(0);
	if (geteuid() == 0) {
		/* root: give the file away, then take it back */
		assert_int_equal(chown(snap_path, 1, 1), 0);
		errno = 0;
		assert_int_equal(mss_snapshot_open(snap_path, 0, &snap, err, sizeof(err)), -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(err, "not root"));
		snap = open_ok(snap_path); /* ANY_OWNER accepts it */
		mss_snapshot_close(snap);
		assert_int_equal(chown(snap_path, 0, 0), 0);
		assert_int_equal(mss_snapshot_open(snap_path, 0, &snap, err, sizeof(err)), 0);
		mss_snapshot_close(snap);
	} else {
		errno = 0;
		assert_int_equal(mss_snapshot_open(snap_path, 0, &snap, err, sizeof(err)), -1);
		assert_int_equal(errno, EPERM);
		assert_non_null(strstr(err, "not root"));
		assert_null(snap);
	}
}

static void test_not_regular_refused(void **state)
{
	struct mss_snapshot *snap;
	char err[256] = "";

	(void)state;
	assert_int_equal(mkdir(snap_path, 0755), 0);
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(rmdir(snap_path), 0);
	/* a FIFO must neither block nor be accepted */
	assert_int_equal(mkfifo(snap_path, 0644), 0);
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, EINVAL);
	assert_non_null(strstr(err, "regular"));
}

static void write_meta_only(const char *format, const char *built)
{
	struct mss_snapshot_writer *w;
	char err[256];

	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	if (format != NULL)
		put(w, 'M', "format", format);
	if (built != NULL)
		put(w, 'M', "built", built);
	put(w, 'L', "example.fr", "");
	assert_int_equal(mss_snapshot_writer_commit(w, err, sizeof(err)), 0);
}

static void test_format_checked(void **state)
{
	struct mss_snapshot *snap;
	char err[256] = "";

	(void)state;
	write_meta_only("2", "1700000000");
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "format version \"2\" is not supported"));

	write_meta_only("1.0", NULL);
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	write_meta_only("", NULL);
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);

	write_meta_only(NULL, "1700000000");
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, EPROTO);
	assert_non_null(strstr(err, "no format version"));

	const char *bad_built[] = {"", "-5", "17e8", "1700000000 ", "9999999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_built) / sizeof(bad_built[0]); i++) {
		write_meta_only("1", bad_built[i]);
		errno = 0;
		assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
		assert_int_equal(errno, EPROTO);
		assert_non_null(strstr(err, "built"));
	}

	write_meta_only("1", "1700000000");
	snap = open_ok(snap_path);
	assert_int_equal(mss_snapshot_built(snap), 1700000000);
	assert_int_equal(mss_snapshot_age(snap, 1700000100), 100);
	assert_int_equal(mss_snapshot_age(snap, 1600000000), 0);
	mss_snapshot_close(snap);

	/* not a cdb at all */
	write_file(snap_path, "hello\n", 6, 0644);
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
	assert_int_equal(errno, EPROTO);
	write_file(snap_path, "", 0, 0644);
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)), -1);
}

/* ---- corrupt files ---- */

static void test_truncated(void **state)
{
	unsigned char *data;
	size_t len;
	char trunc_path[320];
	int opened = 0;

	(void)state;
	write_sample(0);
	len = read_file(snap_path, &data);
	snprintf(trunc_path, sizeof(trunc_path), "%s/trunc.cdb", test_dir);
	for (size_t cut = 0; cut < len; cut++) {
		struct mss_snapshot *snap;
		char err[256];

		write_file(trunc_path, data, cut, 0644);
		if (mss_snapshot_open(trunc_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)) == 0) {
			opened++;
			exercise_all(snap);
			mss_snapshot_close(snap);
		} else {
			assert_int_equal(errno, EPROTO);
		}
	}
	/* a cdb always ends with its hash tables: any cut loses some and is refused */
	assert_int_equal(opened, 0);
	free(data);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint32_t rng(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state >> 11);
}

static void test_garbage(void **state)
{
	unsigned char *data, *copy;
	size_t len;
	char bad_path[320];
	int opened = 0, corrupt = 0;

	(void)state;
	write_sample(0);
	len = read_file(snap_path, &data);
	copy = malloc(len);
	assert_non_null(copy);
	snprintf(bad_path, sizeof(bad_path), "%s/bad.cdb", test_dir);
	for (int round = 0; round < 3000; round++) {
		struct mss_snapshot *snap;
		char err[256];
		int flips = 1 + (int)(rng() % 8);

		memcpy(copy, data, len);
		for (int i = 0; i < flips; i++) {
			size_t at = rng() % len;

			/* half the flips hit a length or position field: near the start of a record
			   or in the tables, where they hurt most */
			copy[at] = (rng() & 1) ? (unsigned char)rng() : 0xff;
		}
		write_file(bad_path, copy, len, 0644);
		if (mss_snapshot_open(bad_path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)) == 0) {
			opened++;
			corrupt += exercise_all(snap);
			mss_snapshot_close(snap);
		}
	}
	/* most flips land in record text: the file still opens and lookups still work */
	assert_true(opened > 0);
	(void)corrupt;
	free(copy);
	free(data);
}

/* A slot pointing outside the record section gives -1/EPROTO, not a read out of bounds. */
static void test_bad_record_position(void **state)
{
	unsigned char *data;
	size_t len;
	struct mss_snapshot *snap;
	struct mss_bal bal;
	const char key[] = "Bper@example.fr";
	unsigned hash = cdb_hash(key, sizeof(key) - 1);
	unsigned table, slots, data_end;
	bool patched = false;

	(void)state;
	write_sample(0);
	len = read_file(snap_path, &data);
	data_end = cdb_unpack(data);
	table = cdb_unpack(data + (hash & 255) * 8);
	slots = cdb_unpack(data + (hash & 255) * 8 + 4);
	for (unsigned i = 0; i < slots; i++) {
		unsigned char *slot = data + table + i * 8;

		if (cdb_unpack(slot) == hash) {
			cdb_pack(data_end - 4, slot + 4);
			patched = true;
		}
	}
	assert_true(patched);
	write_file(snap_path, data, len, 0644);
	snap = open_ok(snap_path);
	errno = 0;
	assert_int_equal(mss_snapshot_bal(snap, "per@example.fr", 14, &bal), -1);
	assert_int_equal(errno, EPROTO);
	/* other records are still readable */
	assert_int_equal(mss_snapshot_bal(snap, "org@example.fr", 14, &bal), 1);
	mss_snapshot_close(snap);

	/* a table descriptor past the end of the file is refused at open */
	cdb_pack((unsigned)len, data + 8 * 7 + 4);
	write_file(snap_path, data, len, 0644);
	errno = 0;
	assert_int_equal(mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &snap, NULL, 0), -1);
	assert_int_equal(errno, EPROTO);
	free(data);
}

/* ---- decoders ---- */

static void expect_bal(const char *key, const char *v, int want)
{
	struct mss_bal bal;
	int r;

	errno = 0;
	r = mss_snapshot_decode_bal(key, strlen(key), v, strlen(v), &bal);
	if (r != want)
		fail_msg("decode_bal(%s, \"%s\") = %d, want %d", key, v, r, want);
	if (r < 0)
		assert_int_equal(errno, EPROTO);
}

static int decode_person(const char *idnat, const char *v, struct mss_person *p)
{
	return mss_snapshot_decode_person(idnat, strlen(idnat), v, strlen(v), p);
}

static int decode_trust(const char *v, struct mss_trust_record *rec)
{
	return mss_snapshot_decode_trust("d.fr", 4, v, strlen(v), rec);
}

static void test_decoders(void **state)
{
	struct mss_bal bal;
	struct mss_person person;
	struct mss_trust_record rec;
	const char *a = "a@b.fr";

	(void)state;
	expect_bal(a, "PER\tA\t1\tL\t\t\t\t\t", 0);
	expect_bal(a, "CAB\tS\t4294967294\tX\to\tn\td\ts\tst", 0);
	expect_bal(a, "PER\tA\t\tX\t\t\t\t\t", 0);
	/* field counts */
	expect_bal(a, "PER\tA\t1\tL\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t1\tL\t\t\t\t\t\t", -1);
	expect_bal(a, "", -1);
	/* single-letter fields */
	expect_bal(a, "PER\tX\t1\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tAA\t1\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\t\t1\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t1\tLDAP\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t1\tl\t\t\t\t\t", -1);
	/* type */
	expect_bal(a, "per\tA\t1\tL\t\t\t\t\t", -1);
	expect_bal(a, "\tA\t1\tL\t\t\t\t\t", -1);
	expect_bal(a, "PERSONNEL\tA\t1\tL\t\t\t\t\t", -1);
	/* uid */
	expect_bal(a, "PER\tA\t0\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t01\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t-1\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t+1\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t1x\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t4294967295\tL\t\t\t\t\t", -1);
	expect_bal(a, "PER\tA\t99999999999\tL\t\t\t\t\t", -1);
	/* control characters in a field */
	expect_bal(a, "PER\tA\t1\tL\t\tna\nme\t\t\t", -1);
	expect_bal(a, "PER\tA\t1\tL\t\tna\rme\t\t\t", -1);
	expect_bal(a, "PER\tA\t1\tL\t\tna\x7fme\t\t\t", -1);
	{
		const char v[] = "PER\tA\t1\tL\t\tna\0me\t\t\t";

		errno = 0;
		assert_int_equal(mss_snapshot_decode_bal(a, strlen(a), v, sizeof(v) - 1, &bal), -1);
		assert_int_equal(errno, EPROTO);
	}
	/* key */
	expect_bal("nobody", "PER\tA\t1\tL\t\t\t\t\t", -1);
	expect_bal("", "PER\tA\t1\tL\t\t\t\t\t", -1);
	expect_bal("a@b\n", "PER\tA\t1\tL\t\t\t\t\t", -1);
	{
		char big[300];

		memset(big, 'a', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		big[10] = '@';
		expect_bal(big, "PER\tA\t1\tL\t\t\t\t\t", -1);
	}
	{
		const char *v = "ORG\tS\t42\tX\to\tn\td\ts\tst";

		assert_int_equal(mss_snapshot_decode_bal(a, 6, v, strlen(v), &bal), 0);
	}
	assert_int_equal(bal.uid, 42);
	assert_slice(bal.owner, "o");
	assert_slice(bal.name, "n");
	assert_slice(bal.delegates, "d");
	assert_slice(bal.app_subject, "s");
	assert_slice(bal.structure, "st");

	assert_int_equal(decode_person("8100", "S\tn\tdn\tb", &person), 0);
	assert_int_equal(person.status, 'S');
	assert_slice(person.bals, "b");
	assert_int_equal(decode_person("8100", "S\tn\tdn", &person), -1);
	assert_int_equal(decode_person("8100", "S\tn\tdn\tb\t", &person), -1);
	assert_int_equal(decode_person("8100", "Z\tn\tdn\tb", &person), -1);
	assert_int_equal(decode_person("", "S\tn\tdn\tb", &person), -1);

	assert_int_equal(decode_trust("dn\tcn\tou\to\tdesc\tdate\traw", &rec), 0);
	assert_slice(rec.domain, "d.fr");
	assert_slice(rec.dn_raw, "raw");
	assert_int_equal(decode_trust("dn\tcn\tou\to\tdesc\tdate", &rec), -1);
	assert_int_equal(decode_trust("\tcn\tou\to\tdesc\tdate\traw", &rec), -1);
	assert_int_equal(decode_trust("dn\t\tou\to\tdesc\tdate\traw", &rec), -1);
}

/* ---- writer ---- */

static void test_abort_keeps_published_file(void **state)
{
	struct mss_snapshot_writer *w;
	unsigned char *before, *after;
	size_t len_before, len_after;
	char err[256];

	(void)state;
	write_sample(7);
	len_before = read_file(snap_path, &before);
	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	for (int i = 0; i < 3000; i++) /* enough to have flushed cdb_make's buffer */
		put(w, 'L', "example.fr", "some value that takes space");
	assert_int_equal(count_dir_entries(), 2);
	mss_snapshot_writer_abort(w);
	len_after = read_file(snap_path, &after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	assert_int_equal(count_dir_entries(), 1);
	free(after);

	/* an aborted empty writer, and abort(NULL) */
	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	mss_snapshot_writer_abort(w);
	mss_snapshot_writer_abort(NULL);
	len_after = read_file(snap_path, &after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	assert_int_equal(count_dir_entries(), 1);
	free(after);
	free(before);
}

static void test_writer_refusals(void **state)
{
	struct mss_snapshot_writer *w;
	struct mss_snapshot *snap;
	struct mss_slice v;
	char err[256], big[MSS_SNAPSHOT_KEY_MAX + 2];
	struct stat st;

	(void)state;
	assert_int_equal(mss_snapshot_writer_open(snap_path, &w, err, sizeof(err)), 0);
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	{
		const char *tab[] = {"PER", "A", "1", "L", "", "Jean\tDupont", "", "", ""};
		const char *cr[] = {"PER", "A", "1", "L", "", "Jean\rDupont", "", "", ""};
		const char *lf[] = {"PER", "A", "1", "L", "", "Jean\nDupont", "", "", ""};

		err[0] = '\0';
		assert_int_equal(mss_snapshot_put_fields(w, 'B', "x@example.fr", tab, 9, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "field 6"));
		assert_int_equal(mss_snapshot_put_fields(w, 'B', "x@example.fr", cr, 9, err, sizeof(err)), -1);
		assert_int_equal(mss_snapshot_put_fields(w, 'B', "x@example.fr", lf, 9, err, sizeof(err)), -1);
	}
	/* joined values: TAB is the separator, CR/LF/NUL refused */
	assert_int_equal(mss_snapshot_put(w, 'L', "a.fr", 4, "x\ny", 3, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, 'L', "a.fr", 4, "x\ry", 3, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, 'L', "a.fr", 4, "x\0y", 3, err, sizeof(err)), -1);
	/* keys */
	assert_int_equal(mss_snapshot_put(w, 'L', "a\0.fr", 5, "", 0, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, 'L', "a\t.fr", 5, "", 0, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, 'L', "a\n.fr", 5, "", 0, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, 'L', "", 0, "", 0, err, sizeof(err)), -1);
	memset(big, 'a', sizeof(big));
	assert_int_equal(mss_snapshot_put(w, 'L', big, MSS_SNAPSHOT_KEY_MAX + 1, "", 0, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, 'L', big, MSS_SNAPSHOT_KEY_MAX, "", 0, err, sizeof(err)), 0);
	/* kinds */
	assert_int_equal(mss_snapshot_put(w, 'l', "b.fr", 4, "", 0, err, sizeof(err)), -1);
	assert_int_equal(mss_snapshot_put(w, '\0', "b.fr", 4, "", 0, err, sizeof(err)), -1);
	/* the writer is still usable after refusals */
	put(w, 'L', "ok.fr", "x\ty");
	{
		const char *f[] = {"a", NULL, "c"};

		put_fields(w, 'G', "g@example.fr", f, 3);
	}
	assert_int_equal(mss_snapshot_writer_commit(w, err, sizeof(err)), 0);
	assert_int_equal(stat(snap_path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644);
	assert_int_equal(st.st_uid, geteuid());
	snap = open_ok(snap_path);
	assert_int_equal(mss_snapshot_get(snap, 'L', "ok.fr", 5, &v), 1);
	assert_slice(v, "x\ty");
	assert_int_equal(mss_snapshot_get(snap, 'G', "g@example.fr", 12, &v), 1);
	assert_slice(v, "a\t\tc");
	assert_int_equal(mss_snapshot_get(snap, 'L', big, MSS_SNAPSHOT_KEY_MAX, &v), 1);
	assert_int_equal(mss_snapshot_get(snap, 'L', "a.fr", 4, &v), 0);
	assert_int_equal(mss_snapshot_get(snap, 'B', "x@example.fr", 12, &v), 0);
	mss_snapshot_close(snap);

	/* a directory that does not exist */
	err[0] = '\0';
	assert_int_equal(mss_snapshot_writer_open("/nonexistent-mssante-dir/s.cdb", &w, err, sizeof(err)), -1);
	assert_null(w);
	assert_true(err[0] != '\0');
	assert_int_equal(mss_snapshot_writer_open("/tmp/", &w, err, sizeof(err)), -1);
}

static void test_commit_failure_keeps_published_file(void **state)
{
	struct mss_snapshot_writer *w;
	unsigned char *before, *after;
	size_t len_before, len_after;
	char err[256], dir_path[320];

	(void)state;
	write_sample(1);
	len_before = read_file(snap_path, &before);
	/* the final path becomes a non-empty directory: rename(2) fails at commit */
	snprintf(dir_path, sizeof(dir_path), "%s/snapdir", test_dir);
	assert_int_equal(mkdir(dir_path, 0755), 0);
	{
		char inner[400], final[400];

		snprintf(inner, sizeof(inner), "%s/keep", dir_path);
		write_file(inner, "x", 1, 0644);
		assert_int_equal(mss_snapshot_writer_open(dir_path, &w, err, sizeof(err)), 0);
		put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
		err[0] = '\0';
		assert_int_equal(mss_snapshot_writer_commit(w, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "rename"));
		mss_snapshot_writer_abort(w);
		unlink(inner);
		assert_int_equal(rmdir(dir_path), 0);
		(void) final;
	}
	len_after = read_file(snap_path, &after);
	assert_int_equal(len_after, len_before);
	assert_memory_equal(after, before, len_before);
	assert_int_equal(count_dir_entries(), 1);
	free(after);
	free(before);
}

static void test_replaced(void **state)
{
	struct mss_snapshot *snap, *snap2;
	struct mss_bal bal;
	struct stat st;

	(void)state;
	write_sample(0);
	snap = open_ok(snap_path);
	assert_int_equal(stat(snap_path, &st), 0);
	assert_int_equal(mss_snapshot_ino(snap), st.st_ino);
	assert_int_equal(mss_snapshot_dev(snap), st.st_dev);
	assert_false(mss_snapshot_replaced(snap, snap_path));
	write_sample(1);
	assert_true(mss_snapshot_replaced(snap, snap_path));
	/* the old mapping still answers with the old data */
	assert_int_equal(mss_snapshot_bal(snap, "per@example.fr", 14, &bal), 1);
	assert_slice(bal.name, "version 0");
	snap2 = open_ok(snap_path);
	assert_false(mss_snapshot_replaced(snap2, snap_path));
	assert_int_equal(mss_snapshot_bal(snap2, "per@example.fr", 14, &bal), 1);
	assert_slice(bal.name, "version 1");
	assert_int_equal(mss_snapshot_built(snap2), BUILT + 1);
	assert_int_equal(unlink(snap_path), 0);
	assert_true(mss_snapshot_replaced(snap2, snap_path));
	/* still readable after the file is gone */
	assert_int_equal(mss_snapshot_bal(snap2, "per@example.fr", 14, &bal), 1);
	mss_snapshot_close(snap);
	mss_snapshot_close(snap2);
}

/* ---- threads ---- */

#define THREADS 4
#define VERSIONS 25

static struct mss_snapshot *shared_snap;
static atomic_int stop_threads;
static atomic_int thread_errors;
static atomic_int last_seen[THREADS];
static atomic_long lookups_done;

static int parse_version(struct mss_slice name)
{
	int v = 0;

	if (name.len < 9 || memcmp(name.p, "version ", 8) != 0)
		return -1;
	for (size_t i = 8; i < name.len; i++)
		v = v * 10 + (name.p[i] - '0');
	return v;
}

static void *lookup_thread(void *arg)
{
	int id = (int)(intptr_t)arg;
	struct mss_snapshot *mine = NULL;
	char err[256];

	if (mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &mine, err, sizeof(err)) < 0) {
		atomic_fetch_add(&thread_errors, 1);
		return NULL;
	}
	while (!atomic_load(&stop_threads)) {
		const struct mss_snapshot *snaps[2] = {mine, shared_snap};
		struct mss_bal bal;
		struct mss_trust_record rec;
		struct mss_snapshot_iter it;
		struct mss_slice key, value;
		size_t pos = 0;
		char kind;
		int n, r, v;

		for (int s = 0; s < 2; s++) {
			const struct mss_snapshot *snap = snaps[s];

			if (mss_snapshot_bal(snap, "per@example.fr", 14, &bal) != 1 || bal.uid != 1001)
				atomic_fetch_add(&thread_errors, 1);
			v = parse_version(bal.name);
			if (v < 0 || v > VERSIONS)
				atomic_fetch_add(&thread_errors, 1);
			if (s == 0 && v > atomic_load(&last_seen[id]))
				atomic_store(&last_seen[id], v);
			if (mss_snapshot_bal_by_uid(snap, 1003, &bal) != 1 || !slice_is(bal.address, "app@example.fr"))
				atomic_fetch_add(&thread_errors, 1);
			n = 0;
			for (r = mss_snapshot_domain_first(snap, "medimail.fr", &it, &rec); r == 1;
			     r = mss_snapshot_domain_next(&it, &rec))
				n++;
			if (r != 0 || n != 3)
				atomic_fetch_add(&thread_errors, 1);
			n = 0;
			while ((r = mss_snapshot_walk(snap, &pos, &kind, &key, &value)) == 1)
				n++;
			if (r != 0 || n != SAMPLE_RECORDS)
				atomic_fetch_add(&thread_errors, 1);
			pos = 0;
			atomic_fetch_add(&lookups_done, 1);
		}
		if (mss_snapshot_replaced(mine, snap_path)) {
			struct mss_snapshot *fresh;

			if (mss_snapshot_open(snap_path, MSS_SNAPSHOT_ANY_OWNER, &fresh, err, sizeof(err)) < 0) {
				atomic_fetch_add(&thread_errors, 1);
				continue;
			}
			mss_snapshot_close(mine);
			mine = fresh;
		}
	}
	mss_snapshot_close(mine);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t threads[THREADS];
	struct timespec pause = {0, 2 * 1000 * 1000};

	(void)state;
	write_sample(0);
	shared_snap = open_ok(snap_path);
	atomic_store(&stop_threads, 0);
	atomic_store(&thread_errors, 0);
	for (int i = 0; i < THREADS; i++) {
		atomic_store(&last_seen[i], 0);
		assert_int_equal(pthread_create(&threads[i], NULL, lookup_thread, (void *)(intptr_t)i), 0);
	}
	for (int v = 1; v <= VERSIONS; v++) {
		write_sample(v);
		/* the main thread reopens its own copy too */
		if (mss_snapshot_replaced(shared_snap, snap_path) && v % 5 == 0) {
			struct mss_snapshot *check = open_ok(snap_path);

			mss_snapshot_close(check);
		}
		nanosleep(&pause, NULL);
	}
	/* every thread ends up on the last snapshot */
	for (int tries = 0; tries < 5000; tries++) {
		int done = 0;

		for (int i = 0; i < THREADS; i++)
			done += atomic_load(&last_seen[i]) == VERSIONS;
		if (done == THREADS)
			break;
		nanosleep(&pause, NULL);
	}
	atomic_store(&stop_threads, 1);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(threads[i], NULL), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(atomic_load(&last_seen[i]), VERSIONS);
	assert_int_equal(atomic_load(&thread_errors), 0);
	assert_true(atomic_load(&lookups_done) > THREADS);
	mss_snapshot_close(shared_snap);
	shared_snap = NULL;
	assert_int_equal(count_dir_entries(), 1);
}

/* ---- fuzz corpus generator ---- */

static int gen_corpus(const char *dir)
{
	char path[512];
	struct mss_snapshot_writer *w;
	char err[256];

	snprintf(path, sizeof(path), "%s/sample.cdb", dir);
	if (write_sample_to(path, 3) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/minimal.cdb", dir);
	if (mss_snapshot_writer_open(path, &w, err, sizeof(err)) < 0)
		return 1;
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	if (mss_snapshot_writer_commit(w, err, sizeof(err)) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/uids.cdb", dir);
	if (mss_snapshot_writer_open(path, &w, err, sizeof(err)) < 0)
		return 1;
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	put(w, 'M', "built", "1700000000");
	for (int i = 0; i < 40; i++) {
		char addr[64], uid[16];
		const char *f[] = {
		    i % 3 ? "PER" : "ORG", i % 5 ? "A" : "S", uid, "L", "810000000001", addr, "", "", ""};

		snprintf(addr, sizeof(addr), "u%d@example.fr", i);
		snprintf(uid, sizeof(uid), "%d", 5000 + i);
		put_fields(w, 'B', addr, f, 9);
		put(w, 'U', uid, addr);
	}
	put(w, 'U', "4999", "u0@example.fr"); /* disagrees with the record */
	if (mss_snapshot_writer_commit(w, err, sizeof(err)) < 0)
		return 1;
	snprintf(path, sizeof(path), "%s/format2.cdb", dir);
	if (mss_snapshot_writer_open(path, &w, err, sizeof(err)) < 0)
		return 1;
	put(w, 'M', "format", "2");
	put(w, 'B', "per@example.fr", "PER\tA\t1\tL\t\t\t\t\t");
	if (mss_snapshot_writer_commit(w, err, sizeof(err)) < 0)
		return 1;
	return 0;
}

int main(int argc, char **argv)
{
#define T(f) cmocka_unit_test_setup_teardown(f, make_dir, remove_dir)
	const struct CMUnitTest tests[] = {
	    T(test_roundtrip_all_kinds),
	    T(test_domain_iteration),
	    T(test_uid_lookup),
	    T(test_walk),
	    T(test_many_records_match_tinycdb),
	    T(test_missing_file),
	    T(test_symlink_refused),
	    T(test_writable_refused),
	    T(test_owner_refused),
	    T(test_not_regular_refused),
	    T(test_format_checked),
	    T(test_truncated),
	    T(test_garbage),
	    T(test_bad_record_position),
	    T(test_decoders),
	    T(test_abort_keeps_published_file),
	    T(test_writer_refusals),
	    T(test_commit_failure_keeps_published_file),
	    T(test_replaced),
	    T(test_threads),
	};
#undef T

	if (argc == 3 && strcmp(argv[1], "--gen-corpus") == 0)
		return gen_corpus(argv[2]);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
