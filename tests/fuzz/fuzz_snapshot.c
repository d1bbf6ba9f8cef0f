/* libFuzzer target for the snapshot reader: the input is a whole snapshot file.
 * It is written to a private temporary file (open() needs a real path: O_NOFOLLOW refuses
 * /proc/self/fd links), opened with MSS_SNAPSHOT_ANY_OWNER, and every lookup, the domain
 * iterator, the walk and the decoders run over it. Lookups must answer 1, 0 or -1/EPROTO.
 * The decoders also get the raw input split at its first LF as (key, value). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "snapshot.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[256];
static int fd = -1;

static void cleanup(void)
{
	if (path[0] != '\0')
		unlink(path);
}

static void check(int r)
{
	if (r < -1 || r > 1 || (r == -1 && errno != EPROTO))
		abort();
}

static void lookup_by_kind(const struct mss_snapshot *snap, char kind, struct mss_slice key)
{
	struct mss_bal bal;
	struct mss_person person;
	struct mss_trust_record rec;
	struct mss_snapshot_iter it;
	struct mss_slice value;
	char domain[300];
	int r, n;

	errno = 0;
	check(mss_snapshot_get(snap, kind, key.p, key.len, &value));
	switch (kind) {
	case 'B':
		errno = 0;
		check(mss_snapshot_bal(snap, key.p, key.len, &bal));
		break;
	case 'P':
		errno = 0;
		check(mss_snapshot_person(snap, key.p, key.len, &person));
		break;
	case 'U': {
		uint32_t uid = 0;

		for (size_t i = 0; i < key.len && i < 10; i++)
			uid = uid * 10 + (uint32_t)(key.p[i] - '0');
		errno = 0;
		check(mss_snapshot_bal_by_uid(snap, uid, &bal));
		break;
	}
	case 'D':
		if (key.len >= sizeof(domain) || memchr(key.p, '\0', key.len) != NULL)
			break;
		memcpy(domain, key.p, key.len);
		domain[key.len] = '\0';
		errno = 0;
		r = mss_snapshot_domain_first(snap, domain, &it, &rec);
		check(r);
		for (n = 0; r == 1 && n < 64; n++) {
			errno = 0;
			r = mss_snapshot_domain_next(&it, &rec);
			check(r);
		}
		break;
	default:
		break;
	}
}

static void exercise(const struct mss_snapshot *snap)
{
	struct mss_bal bal;
	struct mss_person person;
	struct mss_trust_record rec;
	struct mss_slice key, value;
	size_t pos = 0;
	char kind;
	int r, n;

	(void)mss_snapshot_age(snap, 1700000000);
	errno = 0;
	check(mss_snapshot_meta(snap, "built", &value));
	check(mss_snapshot_bal(snap, "per@example.fr", 14, &bal));
	check(mss_snapshot_bal_by_uid(snap, 1001, &bal));
	check(mss_snapshot_person(snap, "810003461033", 12, &person));
	lookup_by_kind(snap, 'D', (struct mss_slice){"medimail.fr", 11});
	for (n = 0; n < 512; n++) {
		errno = 0;
		r = mss_snapshot_walk(snap, &pos, &kind, &key, &value);
		check(r);
		if (r != 1)
			break;
		lookup_by_kind(snap, kind, key);
		switch (kind) {
		case 'B':
			(void)mss_snapshot_decode_bal(key.p, key.len, value.p, value.len, &bal);
			break;
		case 'P':
			(void)mss_snapshot_decode_person(key.p, key.len, value.p, value.len, &person);
			break;
		case 'D':
			(void)mss_snapshot_decode_trust(key.p, key.len, value.p, value.len, &rec);
			break;
		default:
			break;
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mss_snapshot *snap;
	struct mss_bal bal;
	struct mss_person person;
	struct mss_trust_record rec;
	const uint8_t *lf;
	char err[512];

	if (fd < 0) {
		const char *tmp = getenv("TMPDIR");

		snprintf(path, sizeof(path), "%s/fuzz_snapshot.XXXXXX", tmp && *tmp ? tmp : "/tmp");
		fd = mkostemp(path, O_CLOEXEC);
		if (fd < 0)
			abort();
		atexit(cleanup);
	}
	if (ftruncate(fd, 0) < 0 || pwrite(fd, data, size, 0) != (ssize_t)size)
		abort();
	if (mss_snapshot_open(path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err)) == 0) {
		exercise(snap);
		mss_snapshot_close(snap);
	}

	/* the decoders on their own: key before the first LF, value after it */
	lf = memchr(data, '\n', size);
	if (lf != NULL) {
		size_t klen = (size_t)(lf - data);
		const char *v = (const char *)lf + 1;
		size_t vlen = size - klen - 1;

		(void)mss_snapshot_decode_bal((const char *)data, klen, v, vlen, &bal);
		(void)mss_snapshot_decode_person((const char *)data, klen, v, vlen, &person);
		(void)mss_snapshot_decode_trust((const char *)data, klen, v, vlen, &rec);
	}
	return 0;
}
