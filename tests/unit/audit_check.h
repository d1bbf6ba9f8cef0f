/* Helpers of the audit trail's unit tests (test_audit.c, test_audit_queue.c): the file read
 * back, the chain checked by the letter of audit.h (without the library's code), records
 * written through the library. Static inline: each test uses a part. */
#ifndef MSS_TEST_AUDIT_CHECK_H
#define MSS_TEST_AUDIT_CHECK_H

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit.h"

#define ZEROS "0000000000000000000000000000000000000000000000000000000000000000"

static inline struct mss_audit *open_or_die(const char *path, int sync)
{
	char err[256];
	struct mss_audit *a = mss_audit_open_file(path, "milter", sync, err, sizeof(err));

	if (a == NULL)
		fail_msg("open %s: %s", path, err);
	return a;
}

static inline void write_one(struct mss_audit *a, const char *queue_id)
{
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	char err[256];

	r.event = "message";
	r.queue_id = queue_id;
	r.service = "inbound";
	r.from = "a@example.org";
	r.decision = "accept";
	if (mss_audit_write(a, &r, err, sizeof(err)) != 0)
		fail_msg("write: %s", err);
}

/* The whole file, NUL-terminated (fails on a NUL inside). */
static inline char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	assert_int_equal(strlen(buf), (size_t)n); /* no NUL byte in the trail */
	if (len_r != NULL)
		*len_r = (size_t)n;
	return buf;
}

static inline void spit(const char *path, const char *text)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	fclose(f);
}

/* Lines of a file, each without its newline; returns the count. */
static inline size_t lines_of(const char *path, char ***lines_r)
{
	char *text = slurp(path, NULL), *save = NULL, *l;
	char **lines = NULL;
	size_t n = 0;

	for (l = strtok_r(text, "\n", &save); l != NULL; l = strtok_r(NULL, "\n", &save)) {
		lines = realloc(lines, (n + 1) * sizeof(*lines));
		lines[n++] = strdup(l);
	}
	free(text);
	*lines_r = lines;
	return n;
}

static inline void free_lines(char **lines, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
}

static inline void write_lines(const char *path, char **lines, size_t n)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%s\n", lines[i]);
	fclose(f);
}

static inline int verify(const char *const *paths, size_t n, unsigned long *records, char *err, size_t errlen)
{
	return mss_audit_verify(paths, n, records, err, errlen);
}

static inline void assert_verifies(const char *path, unsigned long expected)
{
	const char *paths[] = {path};
	unsigned long records = 0;
	char err[512] = "";
	int r = verify(paths, 1, &records, err, sizeof(err));

	if (r != 0)
		fail_msg("verify %s: %d %s", path, r, err);
	assert_int_equal(records, expected);
}

/* verify says 1 and its message starts with FILE:LINE: and contains WHAT. */
static inline void assert_finding(const char *const *paths, size_t n, const char *where, const char *what)
{
	char err[1024] = "";
	int r = verify(paths, n, NULL, err, sizeof(err));

	if (r != 1 || strncmp(err, where, strlen(where)) != 0 || strstr(err, what) == NULL)
		fail_msg("expected 1 '%s...%s', got %d '%s'", where, what, r, err);
}

static inline void sha256_hex(const char *data, size_t len, char out[65])
{
	unsigned char d[32];
	unsigned int dlen = 0;

	assert_int_equal(EVP_Digest(data, len, d, &dlen, EVP_sha256(), NULL), 1);
	for (unsigned i = 0; i < 32; i++)
		sprintf(out + 2 * i, "%02x", d[i]);
}

/* The chain by the letter of audit.h, without the library's code. */
static inline void check_chain_independently(char **lines, size_t n, const char *first_prev)
{
	char expect[65];

	snprintf(expect, sizeof(expect), "%s", first_prev);
	for (size_t i = 0; i < n; i++) {
		const char *l = lines[i];
		size_t len = strlen(l);
		const char *h = strstr(l, ",\"hash\":\"");
		const char *p = strstr(l, "\"prev\":\"");
		char *hashed;
		char got[65];

		assert_non_null(h);
		assert_non_null(p);
		assert_int_equal(len - (size_t)(h - l), 9 + 64 + 2);
		assert_memory_equal(p + 8, expect, 64);
		hashed = malloc(len);
		memcpy(hashed, l, (size_t)(h - l));
		hashed[h - l] = '}';
		sha256_hex(hashed, (size_t)(h - l) + 1, got);
		free(hashed);
		assert_memory_equal(h + 9, got, 64);
		memcpy(expect, got, 65);
	}
}

#endif
