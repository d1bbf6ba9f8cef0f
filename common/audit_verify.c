/* mss_audit_verify: checks a series of audit files against the hash chain of audit.h.
 *
 * One streaming pass checks each line: its shape, its own hash (a changed byte anywhere,
 * prev included, shows here: "modified"), and that its prev is the hash of the record before
 * it (the first record of the series: the start of the trail, 64 zeros). When a link is
 * broken, a second pass looks for the record that prev names, to say what happened:
 *   - it is further back: the records in between were inserted;
 *   - it comes later: the records were reordered;
 *   - it is nowhere: records were deleted (or the one before was rewritten with a new hash);
 *   - prev is the start of the trail: what comes before was inserted (or the trail restarted).
 * Limits, by design of an unkeyed chain: removing records at the end of the last file, or
 * rewriting everything from some record on, is not visible here (compare with the head file
 * or the syslog copy).
 */
#include "audit.h"

#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define HASH_HEX 64
/* `,"hash":"<64>"}` ends every record; `"prev":"<64>"` comes just before. */
#define HASH_SUFFIX (9 + HASH_HEX + 2)
#define PREV_FIELD (8 + HASH_HEX + 1)
#define MIN_RECORD (7 + 1 + PREV_FIELD + HASH_SUFFIX)
#define GENESIS "0000000000000000000000000000000000000000000000000000000000000000"

/* Where a record is: file index, line number (from 1), index in the whole series. */
struct pos {
	size_t file;
	unsigned long line;
	unsigned long long index;
};

static bool is_hash_hex(const char *s)
{
	for (size_t i = 0; i < HASH_HEX; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

/* The shape of a record. LEN excludes the newline. Returns NULL, or what is wrong. */
static const char *check_shape(const char *line, size_t len, const char **prev_r, const char **hash_r)
{
	const char *suffix, *prev;

	if (len < MIN_RECORD || memcmp(line, "{\"ts\":\"", 7) != 0)
		return "not an audit record";
	suffix = line + len - HASH_SUFFIX;
	prev = suffix - PREV_FIELD;
	if (memcmp(suffix, ",\"hash\":\"", 9) != 0 || memcmp(suffix + 9 + HASH_HEX, "\"}", 2) != 0)
		return "not an audit record (no hash at its end)";
	if (memcmp(prev, "\"prev\":\"", 8) != 0 || prev[8 + HASH_HEX] != '"' || (prev[-1] != ',' && prev[-1] != '{'))
		return "not an audit record (no prev before its hash)";
	if (!is_hash_hex(suffix + 9) || !is_hash_hex(prev + 8))
		return "record modified (its prev or hash is not a SHA-256 in lower-case hex)";
	*prev_r = prev + 8;
	*hash_r = suffix + 9;
	return NULL;
}

static bool own_hash_ok(EVP_MD_CTX *ctx, const EVP_MD *md, const char *line, size_t len, const char *hash)
{
	static const char hex[] = "0123456789abcdef";
	unsigned char d[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	char h[HASH_HEX];

	if (EVP_DigestInit_ex(ctx, md, NULL) != 1 || EVP_DigestUpdate(ctx, line, len - HASH_SUFFIX) != 1 ||
	    EVP_DigestUpdate(ctx, "}", 1) != 1 || EVP_DigestFinal_ex(ctx, d, &dlen) != 1 || dlen != HASH_HEX / 2)
		return false;
	for (unsigned i = 0; i < dlen; i++) {
		h[2 * i] = hex[d[i] >> 4];
		h[2 * i + 1] = hex[d[i] & 15];
	}
	return memcmp(h, hash, HASH_HEX) == 0;
}

/* Second pass: where are the record whose hash is WANT (and the record after it), and the
   first record whose hash is OWN? found_* false when absent. Returns -1 on a read error. */
struct search {
	const char *want, *own;
	bool found_want, found_after, found_own;
	struct pos want_at, after, own_at;
};

static int search_series(const char *const *paths, size_t n_paths, struct search *s)
{
	char *line = NULL;
	size_t cap = 0;
	unsigned long long index = 0;
	bool next_is_after = false;
	int ret = 0;

	for (size_t f = 0; f < n_paths && ret == 0; f++) {
		FILE *fp = fopen(paths[f], "re");
		unsigned long lineno = 0;
		ssize_t len;

		if (fp == NULL)
			return -1;
		while ((len = getline(&line, &cap, fp)) > 0) {
			const char *prev, *hash;
			struct pos here = {f, ++lineno, index++};

			if (next_is_after) {
				s->after = here;
				s->found_after = true;
				next_is_after = false;
			}
			if (line[len - 1] != '\n' || check_shape(line, (size_t)len - 1, &prev, &hash) != NULL)
				continue;
			if (!s->found_want && memcmp(hash, s->want, HASH_HEX) == 0) {
				s->want_at = here;
				s->found_want = true;
				next_is_after = true;
			}
			if (!s->found_own && memcmp(hash, s->own, HASH_HEX) == 0) {
				s->own_at = here;
				s->found_own = true;
			}
		}
		if (ferror(fp))
			ret = -1;
		fclose(fp);
	}
	free(line);
	return ret;
}

/* The link of the record at HERE (prev PREV, own hash HASH) is broken: say why. Returns 1, or
   -1 when the series cannot be read again. */
static int explain_link(const char *const *paths, size_t n_paths, struct pos here, struct pos first, const char *prev,
			const char *hash, char *err, size_t errlen)
{
	const char *file = paths[here.file];
	struct search s = {.want = prev, .own = hash};

	if (search_series(paths, n_paths, &s) < 0) {
		snprintf(err, errlen, "%s: cannot read the series again", file);
		return -1;
	}
	if (s.found_own && s.own_at.index < here.index) {
		snprintf(err, errlen, "%s:%lu: record duplicated (same record as %s:%lu)", file, here.line,
			 paths[s.own_at.file], s.own_at.line);
	} else if (memcmp(prev, GENESIS, HASH_HEX) == 0) {
		snprintf(err, errlen,
			 "%s:%lu: record inserted: %s:%lu begins a chain (its prev is the start of the trail), so "
			 "what comes before it was inserted, or the trail was started again",
			 paths[first.file], first.line, file, here.line);
	} else if (s.found_want && s.want_at.index > here.index) {
		snprintf(err, errlen,
			 "%s:%lu: records reordered: the record this one follows is %s:%lu, later in the series", file,
			 here.line, paths[s.want_at.file], s.want_at.line);
	} else if (s.found_want && s.found_after) {
		snprintf(err, errlen, "%s:%lu: record inserted: %s:%lu continues the chain from %s:%lu",
			 paths[s.after.file], s.after.line, file, here.line, paths[s.want_at.file], s.want_at.line);
	} else if (here.index == first.index) {
		snprintf(err, errlen,
			 "%s:%lu: the chain does not start here: records before it were deleted, or an earlier file of "
			 "the rotated series is missing (give the files oldest first)",
			 file, here.line);
	} else {
		snprintf(err, errlen,
			 "%s:%lu: record deleted before this line (its prev matches no record of the series), or the "
			 "record before it was rewritten",
			 file, here.line);
	}
	return 1;
}

int mss_audit_verify(const char *const *paths, size_t n_paths, unsigned long *records_r, char *err, size_t errlen)
{
	char expect[HASH_HEX] = GENESIS, dummy_err[8];
	EVP_MD_CTX *ctx = NULL;
	EVP_MD *md = NULL;
	char *line = NULL;
	size_t cap = 0;
	unsigned long records = 0;
	unsigned long long index = 0;
	struct pos first = {0, 0, 0};
	bool have_first = false;
	int ret = -1;

	if (err == NULL || errlen == 0) {
		err = dummy_err;
		errlen = sizeof(dummy_err);
	}
	err[0] = '\0';
	/* Every file readable first: an unreadable file is not a finding about the others. */
	for (size_t f = 0; f < n_paths; f++) {
		int fd = open(paths[f], O_RDONLY | O_CLOEXEC);

		if (fd < 0) {
			snprintf(err, errlen, "%s: %s", paths[f], strerror(errno));
			goto out;
		}
		close(fd);
	}
	md = EVP_MD_fetch(NULL, "SHA256", NULL);
	ctx = EVP_MD_CTX_new();
	if (md == NULL || ctx == NULL) {
		snprintf(err, errlen, "SHA-256 unavailable");
		goto out;
	}
	ret = 0;
	for (size_t f = 0; f < n_paths && ret == 0; f++) {
		FILE *fp = fopen(paths[f], "re");
		unsigned long lineno = 0;
		ssize_t len;

		if (fp == NULL) {
			snprintf(err, errlen, "%s: %s", paths[f], strerror(errno));
			ret = -1;
			break;
		}
		while (ret == 0 && (len = getline(&line, &cap, fp)) > 0) {
			struct pos here = {f, ++lineno, index++};
			const char *prev, *hash, *what;

			if (!have_first) {
				first = here;
				have_first = true;
			}
			if (line[len - 1] != '\n') {
				snprintf(err, errlen, "%s:%lu: record truncated (no end of line)", paths[f], lineno);
				ret = 1;
			} else if ((what = check_shape(line, (size_t)len - 1, &prev, &hash)) != NULL) {
				snprintf(err, errlen, "%s:%lu: %s", paths[f], lineno, what);
				ret = 1;
			} else if (!own_hash_ok(ctx, md, line, (size_t)len - 1, hash)) {
				snprintf(err, errlen, "%s:%lu: record modified (its hash does not match its content)",
					 paths[f], lineno);
				ret = 1;
			} else if (memcmp(prev, expect, HASH_HEX) != 0) {
				ret = explain_link(paths, n_paths, here, first, prev, hash, err, errlen);
			} else {
				memcpy(expect, hash, HASH_HEX);
				records++;
			}
		}
		if (ret == 0 && ferror(fp)) {
			snprintf(err, errlen, "%s: read error", paths[f]);
			ret = -1;
		}
		fclose(fp);
	}
out:
	free(line);
	EVP_MD_CTX_free(ctx);
	EVP_MD_free(md);
	if (records_r != NULL)
		*records_r = records;
	return ret;
}
