/* libFuzzer target for the audit trail writer (common/audit.c), whose strings come from the
   outside: Message-IDs and addresses from mail, certificate names, login names. The input, cut
   at each NUL, gives hostile values to the members of five records of two sessions, queued
   (as the Dovecot plugin does) and written directly (as the milter does).
   Beyond "no crash":
   - the file verifies as one chain of five records (mss_audit_verify);
   - each line is one JSON object under json-c's strict parser, without a raw control
     character;
   - each string member gives back its value byte for byte when the value was valid UTF-8
     (controls escaped, nothing lost), and is valid UTF-8 otherwise;
   - a record whose session members were copied from the record queued before it carries the
     same text for them as the records that formatted their own. */
#include <json-c/json.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { N_FIELDS = 10, N_RECORDS = 5 };
/* Longer values are cut by the writer (at 4,096 bytes): not compared. */
#define COMPARED_MAX 4000

/* Well-formed UTF-8 (Unicode table 3-7), written apart from audit.c's to check it. */
static int valid_utf8(const unsigned char *s, size_t n)
{
	for (size_t i = 0; i < n;) {
		unsigned c = s[i];
		size_t len;
		unsigned cp;

		if (c < 0x80) {
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			len = 2, cp = c & 0x1f;
		else if (c >= 0xe0 && c <= 0xef)
			len = 3, cp = c & 0x0f;
		else if (c >= 0xf0 && c <= 0xf4)
			len = 4, cp = c & 0x07;
		else
			return 0;
		if (i + len > n)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += len;
	}
	return 1;
}

/* Checks one string member of a parsed record against the value it was written from. */
static void check_member(json_object *rec, const char *key, const char *value)
{
	json_object *v;
	const char *got;
	size_t n;

	if (value == NULL) {
		if (json_object_object_get_ex(rec, key, NULL))
			abort(); /* an absent value makes no member */
		return;
	}
	if (!json_object_object_get_ex(rec, key, &v) || !json_object_is_type(v, json_type_string))
		abort();
	got = json_object_get_string(v);
	n = (size_t)json_object_get_string_len(v);
	if (!valid_utf8((const unsigned char *)got, n))
		abort();
	if (strlen(value) <= COMPARED_MAX && valid_utf8((const unsigned char *)value, strlen(value)) &&
	    (n != strlen(value) || memcmp(got, value, n) != 0))
		abort();
}

/* The text of member KEY (an object for "tls") as the line holds it, for comparing lines. */
static const char *member_text(json_object *rec, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(rec, key, &v))
		return "";
	return json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char dir[64];
	static const char *const session_keys[] = {"client", "tls", "auth_user", "actor", "bal"};
	char path[128], head[128], err[512];
	const char *f[N_FIELDS] = {0};
	char *copy = malloc(size + 1);
	struct mss_audit_record r[N_RECORDS];
	struct mss_audit_rcpt rcpt;
	struct mss_audit *a;
	json_object *parsed[N_RECORDS] = {0};
	unsigned long records = 0;
	const char *paths[1] = {path};
	FILE *fp;
	char *line = NULL;
	size_t cap = 0, n_lines = 0, at = 0;

	if (copy == NULL)
		return 0;
	/* In the scratch directory the fuzzer runs in (tests/run-fuzz.sh). */
	if (dir[0] == '\0' && (strcpy(dir, "fuzz_audit.XXXXXX"), mkdtemp(dir) == NULL))
		abort();
	snprintf(path, sizeof(path), "%s/t.log", dir);
	snprintf(head, sizeof(head), "%s/.t.head", dir);
	unlink(path);
	unlink(head);

	memcpy(copy, data, size);
	copy[size] = '\0';
	for (size_t k = 0; k < N_FIELDS && at <= size; k++) {
		f[k] = copy + at;
		at += strlen(copy + at) + 1;
	}

	for (size_t i = 0; i < N_RECORDS; i++) {
		r[i] = (struct mss_audit_record)MSS_AUDIT_RECORD_INIT;
		r[i].event = "read";
		r[i].service = "imap";
		r[i].client = f[0];
		r[i].tls_peer_cn = f[1];
		r[i].auth_user = f[4];
		r[i].bal = f[3];
		r[i].bal_type = "ORG";
		r[i].mailbox = f[6];
		r[i].uid = (long long)(size * i);
		r[i].message_id = f[7];
		r[i].decision = "ok";
		r[i].reason = f[8];
	}
	/* Session A: records 0, 1 and 4; session B (another actor): records 2 and 3. */
	r[0].actor = r[1].actor = r[4].actor = f[2];
	r[2].actor = r[3].actor = f[5];
	r[1].message_id = NULL;
	rcpt = (struct mss_audit_rcpt){.addr = f[9], .decision = "reject", .reason = f[8]};
	r[3].rcpt = &rcpt;
	r[3].n_rcpt = 1;

	a = mss_audit_open_file(path, "dovecot", 2, err, sizeof(err));
	if (a == NULL)
		abort();
	if (mss_audit_queue(a, &r[0], err, sizeof(err)) != 0 || mss_audit_queue(a, &r[1], err, sizeof(err)) != 0 ||
	    mss_audit_queue(a, &r[2], err, sizeof(err)) != 0 ||
	    mss_audit_write(a, &r[3], err, sizeof(err)) != 0 || /* writes the queue first */
	    mss_audit_queue(a, &r[4], err, sizeof(err)) != 0 || mss_audit_write_queued(a, err, sizeof(err)) != 0)
		abort();
	mss_audit_close(a);

	if (mss_audit_verify(paths, 1, &records, err, sizeof(err)) != 0 || records != N_RECORDS)
		abort();

	fp = fopen(path, "r");
	if (fp == NULL)
		abort();
	for (ssize_t len; (len = getline(&line, &cap, fp)) > 0;) {
		struct json_tokener *tok = json_tokener_new();

		if (n_lines >= N_RECORDS || tok == NULL || line[len - 1] != '\n')
			abort();
		/* JSON has no raw control character (RFC 8259 section 7), which json-c lets pass. */
		for (ssize_t i = 0; i < len - 1; i++)
			if ((unsigned char)line[i] < 0x20)
				abort();
		json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
		parsed[n_lines] = json_tokener_parse_ex(tok, line, (int)len - 1);
		if (parsed[n_lines] == NULL || json_tokener_get_error(tok) != json_tokener_success ||
		    !json_object_is_type(parsed[n_lines], json_type_object))
			abort();
		json_tokener_free(tok);
		n_lines++;
	}
	fclose(fp);
	free(line);
	if (n_lines != N_RECORDS)
		abort();

	for (size_t i = 0; i < N_RECORDS; i++) {
		json_object *rec = parsed[i], *tls;

		check_member(rec, "client", r[i].client);
		check_member(rec, "auth_user", r[i].auth_user);
		check_member(rec, "actor", r[i].actor);
		check_member(rec, "bal", r[i].bal);
		check_member(rec, "mailbox", r[i].mailbox);
		check_member(rec, "message_id", r[i].message_id);
		check_member(rec, "reason", r[i].reason);
		if (json_object_object_get_ex(rec, "tls", &tls))
			check_member(tls, "peer_cn", r[i].tls_peer_cn);
		else if (r[i].tls_peer_cn != NULL)
			abort();
	}
	/* Records 1 and 4 copied session A's members; record 2 formatted B's, as the direct
	   write of record 3 did. */
	for (size_t k = 0; k < sizeof(session_keys) / sizeof(session_keys[0]); k++) {
		const char *key = session_keys[k];

		if (strcmp(key, "actor") != 0 && strcmp(member_text(parsed[0], key), member_text(parsed[2], key)) != 0)
			abort();
		if (strcmp(member_text(parsed[0], key), member_text(parsed[1], key)) != 0 ||
		    strcmp(member_text(parsed[0], key), member_text(parsed[4], key)) != 0 ||
		    strcmp(member_text(parsed[2], key), member_text(parsed[3], key)) != 0)
			abort();
	}
	for (size_t i = 0; i < N_RECORDS; i++)
		json_object_put(parsed[i]);
	free(copy);
	return 0;
}
