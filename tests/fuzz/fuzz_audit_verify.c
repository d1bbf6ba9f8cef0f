/* libFuzzer target for mss_audit_verify (common/audit_verify.c), which reads trail files an
   intruder may have edited. The input is a list of edits to a genuine trail of six records:
   each three bytes set one byte (two bytes of position, one of value); a last odd byte cuts the
   file at a position. Beyond "no crash", tamper evidence: the edited trail verifies only when
   it is the genuine one, or the genuine one without its last records (the limit audit.h
   states: what is cut from the end shows only against the head file). Any other change,
   whatever it is, is reported. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char dir[64], path[128], head[128];
static char *genuine;
static size_t genuine_len;

/* The genuine trail, written once: six records of two components' kinds. */
static void make_genuine(void)
{
	static const char *const events[] = {"login", "read", "flag", "read", "message", "expunge"};
	char err[256];
	struct mss_audit *a;
	FILE *fp;
	long n;

	if (mkdtemp(strcpy(dir, "fuzz_audit_verify.XXXXXX")) == NULL)
		abort();
	snprintf(path, sizeof(path), "%s/t.log", dir);
	snprintf(head, sizeof(head), "%s/.t.head", dir);
	a = mss_audit_open_file(path, "dovecot", 2, err, sizeof(err));
	if (a == NULL)
		abort();
	for (size_t i = 0; i < sizeof(events) / sizeof(events[0]); i++) {
		struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;

		r.event = events[i];
		r.bal = "secretariat@hopital-test.mssante.fr";
		r.actor = "810000000001";
		r.mailbox = "INBOX";
		r.uid = (long long)i + 1;
		r.message_id = "<m@hopital-test.mssante.fr>";
		r.decision = "ok";
		if (mss_audit_write(a, &r, err, sizeof(err)) != 0)
			abort();
	}
	mss_audit_close(a);
	fp = fopen(path, "rb");
	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) <= 0 || fseek(fp, 0, SEEK_SET) != 0)
		abort();
	genuine_len = (size_t)n;
	genuine = malloc(genuine_len);
	if (genuine == NULL || fread(genuine, 1, genuine_len, fp) != genuine_len)
		abort();
	fclose(fp);
}

/* Whether the N bytes at P are the genuine trail or its first whole lines. */
static int genuine_or_cut_at_a_line(const char *p, size_t n)
{
	if (n > genuine_len || memcmp(p, genuine, n) != 0)
		return 0;
	return n == genuine_len || n == 0 || p[n - 1] == '\n';
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *paths[1] = {path};
	unsigned long records = 0;
	char err[512], *edited;
	size_t len;
	FILE *fp;
	int r;

	if (genuine == NULL)
		make_genuine();
	edited = malloc(genuine_len);
	if (edited == NULL)
		return 0;
	memcpy(edited, genuine, genuine_len);
	len = genuine_len;
	for (size_t i = 0; i + 3 <= size; i += 3)
		edited[((size_t)data[i] << 8 | data[i + 1]) % genuine_len] = (char)data[i + 2];
	if (size % 3 != 0)
		len = ((size_t)data[size - 1] << 8 | (size % 3 == 2 ? data[size - 2] : 0)) % (genuine_len + 1);

	unlink(head);
	fp = fopen(path, "wb");
	if (fp == NULL || (len > 0 && fwrite(edited, 1, len, fp) != len) || fclose(fp) != 0)
		abort();
	r = mss_audit_verify(paths, 1, &records, err, sizeof(err));
	if (genuine_or_cut_at_a_line(edited, len)) {
		if (r != 0)
			abort();
	} else if (r == 0) {
		abort(); /* a change that verification did not see */
	}
	free(edited);
	return 0;
}
