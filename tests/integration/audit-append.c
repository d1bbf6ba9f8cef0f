/* audit-append: appends audit records with the real writer (mss_audit_write), for the
 * integration tests of `mssctl audit`.
 *
 *   audit-append [-s always|batch|none] [-n COUNT] FILE COMPONENT < RECORDS
 *
 * Each input line is one record: TAB-separated key=value fields, keys named as in
 * struct mss_audit_record (event, queue_id, client, tls_version, tls_cipher, tls_peer_cn,
 * tls_issuer_cn, service, method, auth_user, actor, bal, bal_type, mailbox, uid, from,
 * message_id, size, mss_nil, mss_ins, mss_codecda, decision, reason) and rcpt=ADDR,DECISION[,REASON]
 * (repeatable). "%N" in a value is replaced by the copy number when -n COUNT repeats the input.
 * Exit 0, or 1 with the writer's error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"

#define MAX_RCPT 64
#define MAX_FIELDS 64

static void usage(void)
{
	fprintf(stderr, "usage: audit-append [-s always|batch|none] [-n COUNT] FILE COMPONENT < RECORDS\n");
	exit(2);
}

/* VALUE with "%N" replaced by N, in a buffer owned by the caller's pool. */
static char *expand(const char *value, long n, char **pool, size_t *used)
{
	const char *p = strstr(value, "%N");
	char *out;

	if (p == NULL)
		return (char *)value;
	out = malloc(strlen(value) + 24);
	if (out == NULL)
		exit(1);
	sprintf(out, "%.*s%ld%s", (int)(p - value), value, n, p + 2);
	pool[(*used)++] = out;
	return out;
}

static int write_line(struct mss_audit *a, char *line, long n)
{
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	struct mss_audit_rcpt rcpt[MAX_RCPT];
	char *pool[MAX_FIELDS * 2], *save = NULL, *f, err[512];
	size_t used = 0;
	int ret;
	struct {
		const char *key;
		const char **field;
	} keys[] = {
	    {"event", &r.event},
	    {"queue_id", &r.queue_id},
	    {"client", &r.client},
	    {"tls_version", &r.tls_version},
	    {"tls_cipher", &r.tls_cipher},
	    {"tls_peer_cn", &r.tls_peer_cn},
	    {"tls_issuer_cn", &r.tls_issuer_cn},
	    {"service", &r.service},
	    {"method", &r.method},
	    {"auth_user", &r.auth_user},
	    {"actor", &r.actor},
	    {"bal", &r.bal},
	    {"bal_type", &r.bal_type},
	    {"mailbox", &r.mailbox},
	    {"from", &r.from},
	    {"message_id", &r.message_id},
	    {"mss_nil", &r.mss_nil},
	    {"mss_ins", &r.mss_ins},
	    {"mss_codecda", &r.mss_codecda},
	    {"decision", &r.decision},
	    {"reason", &r.reason},
	};

	r.rcpt = rcpt;
	for (f = strtok_r(line, "\t\n", &save); f != NULL && used < MAX_FIELDS; f = strtok_r(NULL, "\t\n", &save)) {
		char *eq = strchr(f, '='), *v;
		size_t k;

		if (eq == NULL) {
			fprintf(stderr, "audit-append: '%s': expected key=value\n", f);
			return 2;
		}
		*eq = '\0';
		v = expand(eq + 1, n, pool, &used);
		if (strcmp(f, "uid") == 0) {
			r.uid = atoll(v);
			continue;
		}
		if (strcmp(f, "size") == 0) {
			r.size = atoll(v);
			continue;
		}
		if (strcmp(f, "rcpt") == 0 && r.n_rcpt < MAX_RCPT) {
			char *s2 = NULL;

			rcpt[r.n_rcpt].addr = strtok_r(v, ",", &s2);
			rcpt[r.n_rcpt].decision = strtok_r(NULL, ",", &s2);
			rcpt[r.n_rcpt].reason = strtok_r(NULL, ",", &s2);
			r.n_rcpt++;
			continue;
		}
		for (k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
			if (strcmp(f, keys[k].key) == 0) {
				*keys[k].field = v;
				break;
			}
		}
		if (k == sizeof(keys) / sizeof(keys[0])) {
			fprintf(stderr, "audit-append: unknown key '%s'\n", f);
			return 2;
		}
	}
	ret = mss_audit_write(a, &r, err, sizeof(err)) == 0 ? 0 : 1;
	if (ret != 0)
		fprintf(stderr, "audit-append: %s\n", err);
	while (used > 0)
		free(pool[--used]);
	return ret;
}

int main(int argc, char **argv)
{
	struct mss_audit *a;
	char err[512], **lines = NULL, *line = NULL;
	size_t cap = 0, n_lines = 0;
	long count = 1;
	int sync = 0, c, ret = 0;

	while ((c = getopt(argc, argv, "s:n:")) != -1) {
		switch (c) {
		case 's':
			sync = strcmp(optarg, "always") == 0  ? 0
			       : strcmp(optarg, "batch") == 0 ? 1
			       : strcmp(optarg, "none") == 0  ? 2
							      : -1;
			if (sync < 0)
				usage();
			break;
		case 'n':
			count = atol(optarg);
			break;
		default:
			usage();
		}
	}
	if (argc - optind != 2 || count < 1)
		usage();
	while (getline(&line, &cap, stdin) > 0) {
		lines = realloc(lines, (n_lines + 1) * sizeof(*lines));
		if (lines == NULL || (lines[n_lines++] = strdup(line)) == NULL)
			return 1;
	}
	free(line);
	a = mss_audit_open_file(argv[optind], argv[optind + 1], sync, err, sizeof(err));
	if (a == NULL) {
		fprintf(stderr, "audit-append: %s\n", err);
		return 1;
	}
	for (long i = 0; i < count && ret == 0; i++) {
		for (size_t k = 0; k < n_lines && ret == 0; k++) {
			char *copy = strdup(lines[k]);

			ret = write_line(a, copy, i);
			free(copy);
		}
	}
	mss_audit_close(a);
	for (size_t k = 0; k < n_lines; k++)
		free(lines[k]);
	free(lines);
	return ret;
}
