/* Unit tests of the audit trail (common/audit.c, common/audit_verify.c): the chain as audit.h
 * defines it (recomputed here independently), JSON escaping of hostile values, many threads
 * and several processes on one file, rotation, the three sync modes, and what verify says
 * about every kind of tampering. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <json-c/json.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "audit.h"
#include "config.h"
#include "audit_check.h"
#include "tmpdir.h"


static char dir[256];
static char logp[300];

/* ---- helpers ---- */

static int make_dir(void **state)
{
	(void)state;
	if (test_tmpdir_make(dir, sizeof(dir), "test_audit") < 0)
		return -1;
	snprintf(logp, sizeof(logp), "%s/milter.log", dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

static char *path_in(const char *name)
{
	static char p[4][400];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

static void write_n(const char *path, int sync, int n, const char *prefix)
{
	struct mss_audit *a = open_or_die(path, sync);
	char q[64];

	for (int i = 0; i < n; i++) {
		snprintf(q, sizeof(q), "%s%d", prefix, i);
		write_one(a, q);
	}
	mss_audit_close(a);
}

/* ---- format ---- */

static void test_chain_by_the_contract(void **state)
{
	char **lines;
	size_t n;

	(void)state;
	write_n(logp, 2, 5, "Q");
	n = lines_of(logp, &lines);
	assert_int_equal(n, 5);
	check_chain_independently(lines, n, ZEROS);
	free_lines(lines, n);
	assert_verifies(logp, 5);
}

static void test_fields_in_order(void **state)
{
	struct mss_audit *a;
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	struct mss_audit_rcpt rc[2] = {{"x@h.fr", "accept", NULL}, {"y@gmail.com", "reject", "not_trusted"}};
	static const char *const order[] = {"ts",      "component", "event",	 "queue_id", "client",	   "tls",
					    "service", "method",    "auth_user", "actor",    "bal",	   "bal_type",
					    "mailbox", "uid",	    "from",	 "rcpt",     "message_id", "size",
					    "mss",     "decision",  "reason",	 "prev",     "hash"};
	char err[256], **lines;
	json_object *o, *v;
	size_t n, i = 0;

	(void)state;
	a = open_or_die(logp, 2);
	r.event = "message";
	r.queue_id = "4XyZ";
	r.client = "mx.ope.fr[192.0.2.1]";
	r.tls_version = "TLSv1.3";
	r.tls_peer_cn = "mx.ope.fr";
	r.service = "inbound";
	r.method = "certificate";
	r.auth_user = "u";
	r.actor = "810003461033";
	r.bal = "jean.martin@h.fr";
	r.bal_type = "PER";
	r.mailbox = "INBOX";
	r.uid = 0;
	r.from = "a@ope.fr";
	r.rcpt = rc;
	r.n_rcpt = 2;
	r.message_id = "<1@ope.fr>";
	r.size = 1234;
	r.mss_ins = "O";
	r.decision = "accept";
	r.reason = "ok";
	assert_int_equal(mss_audit_write(a, &r, err, sizeof(err)), 0);
	/* Only the mandatory-ish ones: NULL, uid -1 and size -1 are left out. */
	r = (struct mss_audit_record)MSS_AUDIT_RECORD_INIT;
	r.event = "auth";
	assert_int_equal(mss_audit_write(a, &r, err, sizeof(err)), 0);
	mss_audit_close(a);

	n = lines_of(logp, &lines);
	assert_int_equal(n, 2);
	o = json_tokener_parse(lines[0]);
	assert_non_null(o);
	json_object_object_foreach(o, key, val)
	{
		(void)val;
		assert_string_equal(key, order[i]);
		i++;
	}
	assert_int_equal(i, sizeof(order) / sizeof(order[0]));
	assert_true(json_object_object_get_ex(o, "tls", &v));
	assert_int_equal(json_object_object_length(v), 2); /* cipher and issuer_cn were NULL */
	assert_true(json_object_object_get_ex(o, "mss", &v));
	assert_int_equal(json_object_object_length(v), 1);
	assert_true(json_object_object_get_ex(o, "rcpt", &v));
	assert_int_equal(json_object_array_length(v), 2);
	assert_int_equal(json_object_object_length(json_object_array_get_idx(v, 0)), 2); /* no reason */
	assert_true(json_object_object_get_ex(o, "uid", &v));
	assert_int_equal(json_object_get_int64(v), 0);
	assert_true(json_object_object_get_ex(o, "ts", &v));
	/* 2026-11-23T21:30:00.123Z */
	assert_int_equal(json_object_get_string_len(v), 24);
	assert_int_equal(json_object_get_string(v)[23], 'Z');
	assert_int_equal(json_object_get_string(v)[19], '.');
	json_object_put(o);

	o = json_tokener_parse(lines[1]);
	assert_non_null(o);
	assert_int_equal(json_object_object_length(o), 5); /* ts component event prev hash */
	assert_false(json_object_object_get_ex(o, "uid", NULL));
	assert_false(json_object_object_get_ex(o, "size", NULL));
	json_object_put(o);
	free_lines(lines, n);
}

static const char *get_str(json_object *o, const char *key)
{
	json_object *v;

	if (!json_object_object_get_ex(o, key, &v))
		fail_msg("no %s", key);
	return json_object_get_string(v);
}

static void test_hostile_values_stay_one_line(void **state)
{
	struct mss_audit *a;
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	char err[256], *text, big[10000];
	json_object *o;
	size_t len, nl = 0;

	(void)state;
	memset(big, 'A', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	a = open_or_die(logp, 2);
	r.event = "message";
	r.message_id = "<a\r\n\"},\"decision\":\"accept\"}\n{\"x\":\"@evil>";
	r.mss_nil = "back\\slash \"quoted\" tab\t bell\a del\x7f";
	r.from = "\xff\xfe bad \xc0\xaf overlong \xed\xa0\x80 surrogate \xf4\x90\x80\x80 big \xe2\x82";
	r.client = "caf\xc3\xa9 \xf0\x9f\x98\x80 c1:\xc2\x85.";
	r.reason = big;
	assert_int_equal(mss_audit_write(a, &r, err, sizeof(err)), 0);
	mss_audit_close(a);

	text = slurp(logp, &len);
	for (size_t i = 0; i < len; i++) {
		nl += text[i] == '\n';
		assert_true(text[i] != '\r');
		assert_true((unsigned char)text[i] >= 0x20 || text[i] == '\n');
	}
	assert_int_equal(nl, 1);
	assert_int_equal(text[len - 1], '\n');
	text[len - 1] = '\0';
	o = json_tokener_parse(text);
	assert_non_null(o);
	assert_string_equal(get_str(o, "message_id"), "<a\r\n\"},\"decision\":\"accept\"}\n{\"x\":\"@evil>");
	{
		json_object *m;

		assert_true(json_object_object_get_ex(o, "mss", &m));
		assert_string_equal(get_str(m, "nil"), "back\\slash \"quoted\" tab\t bell\a del\x7f");
	}
	assert_false(json_object_object_get_ex(o, "decision", NULL));
	/* each invalid byte is one U+FFFD; valid UTF-8 passes through; C1 controls escaped */
	assert_string_equal(get_str(o, "from"),
			    "\xef\xbf\xbd\xef\xbf\xbd bad \xef\xbf\xbd\xef\xbf\xbd overlong \xef\xbf\xbd\xef\xbf\xbd"
			    "\xef\xbf\xbd surrogate \xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd\xef\xbf\xbd big "
			    "\xef\xbf\xbd\xef\xbf\xbd");
	assert_string_equal(get_str(o, "client"), "caf\xc3\xa9 \xf0\x9f\x98\x80 c1:\xc2\x85.");
	assert_non_null(strstr(text, "c1:\\u0085."));
	assert_non_null(strstr(text, "bell\\u0007 del\\u007f"));
	assert_non_null(strstr(text, "<a\\u000d\\u000a\\\"},"));
	assert_int_equal(strlen(get_str(o, "reason")), 4096); /* a hostile field is bounded */
	json_object_put(o);
	free(text);
	assert_verifies(logp, 1);
}

/* UTF-8 encoding of code point CP into OUT; returns the length. */
static size_t utf8_put(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
	out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* Random values (fixed seed): any bytes always give one line of JSON that json-c reads; any
   valid UTF-8 comes back unchanged. */
static void test_random_values(void **state)
{
	enum { N = 400 };
	static char values[N][800];
	struct mss_audit *a;
	char err[256], **lines;
	size_t n;
	unsigned seed = 12345;

	(void)state;
	for (int i = 0; i < N; i++) {
		size_t len = 0, want = 1 + (size_t)(rand_r(&seed) % 150);

		if (i % 2 == 0) { /* any bytes but NUL */
			while (len < want)
				values[i][len++] = (char)(1 + rand_r(&seed) % 255);
		} else { /* valid UTF-8: controls, ASCII, 2-, 3- and 4-byte characters, no surrogates */
			while (len < want) {
				static const unsigned top[] = {0x20, 0x80, 0x800, 0x10000, 0x110000};
				unsigned cls = (unsigned)rand_r(&seed) % 5, lo = cls == 0 ? 1 : top[cls - 1];
				unsigned cp = lo + (unsigned)rand_r(&seed) % (top[cls] - lo);

				if (cp >= 0xd800 && cp <= 0xdfff)
					continue;
				len += utf8_put(cp, values[i] + len);
			}
		}
		values[i][len] = '\0';
	}
	a = open_or_die(logp, 2);
	for (int i = 0; i < N; i++) {
		struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;

		r.event = "message";
		r.message_id = values[i];
		assert_int_equal(mss_audit_write(a, &r, err, sizeof(err)), 0);
	}
	mss_audit_close(a);
	n = lines_of(logp, &lines);
	assert_int_equal(n, N);
	for (int i = 0; i < N; i++) {
		json_object *o = json_tokener_parse(lines[i]);

		if (o == NULL)
			fail_msg("line %d is not JSON: %s", i + 1, lines[i]);
		for (const char *c = lines[i]; *c != '\0'; c++)
			assert_true((unsigned char)*c >= 0x20 && *c != 0x7f);
		if (i % 2 == 1)
			assert_string_equal(get_str(o, "message_id"), values[i]);
		json_object_put(o);
	}
	free_lines(lines, n);
	assert_verifies(logp, N);
}

/* ---- concurrency ---- */

struct thread_arg {
	struct mss_audit *a;
	int id, n;
};

static void *writer_thread(void *p)
{
	struct thread_arg *t = p;
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	char err[256], q[32];

	r.event = "message";
	r.queue_id = q;
	for (int i = 0; i < t->n; i++) {
		snprintf(q, sizeof(q), "T%d-%d", t->id, i);
		if (mss_audit_write(t->a, &r, err, sizeof(err)) != 0)
			return strdup(err);
	}
	return NULL;
}

/* Every queue id "T<thread>-<i>" exactly once. */
static void assert_each_once(const char *path, int threads, int per_thread)
{
	char **lines;
	size_t n = lines_of(path, &lines);
	int *seen = calloc((size_t)(threads * per_thread), sizeof(int));

	assert_int_equal(n, (size_t)(threads * per_thread));
	for (size_t i = 0; i < n; i++) {
		int t, k;
		const char *q = strstr(lines[i], "\"queue_id\":\"T");

		assert_non_null(q);
		assert_int_equal(sscanf(q, "\"queue_id\":\"T%d-%d\"", &t, &k), 2);
		seen[t * per_thread + k]++;
	}
	for (int i = 0; i < threads * per_thread; i++)
		assert_int_equal(seen[i], 1);
	free(seen);
	free_lines(lines, n);
}

static void run_threads(int sync)
{
	enum { THREADS = 8, PER = 500 };
	pthread_t th[THREADS];
	struct thread_arg args[THREADS];
	struct mss_audit *a = open_or_die(logp, sync);

	for (int i = 0; i < THREADS; i++) {
		args[i] = (struct thread_arg){a, i, PER};
		assert_int_equal(pthread_create(&th[i], NULL, writer_thread, &args[i]), 0);
	}
	for (int i = 0; i < THREADS; i++) {
		void *ret;

		pthread_join(th[i], &ret);
		if (ret != NULL)
			fail_msg("thread %d: %s", i, (char *)ret);
	}
	mss_audit_close(a);
	assert_verifies(logp, THREADS * PER);
	assert_each_once(logp, THREADS, PER);
}

static void test_eight_threads_group_commit(void **state)
{
	(void)state;
	run_threads(0);
}

static void test_eight_threads_no_sync(void **state)
{
	(void)state;
	run_threads(2);
}

/* Three processes appending at the same time, released together; two of them use the handle
   opened before fork (each must get descriptions of its own, or flock would not exclude them). */
static void test_processes(void **state)
{
	enum { PROCS = 3, PER = 3000 };
	struct mss_audit *inherited;
	pid_t pids[PROCS];
	int gate[2];

	(void)state;
	inherited = open_or_die(logp, 1);
	assert_int_equal(pipe(gate), 0);
	for (int c = 0; c < PROCS; c++) {
		pids[c] = fork();
		assert_true(pids[c] >= 0);
		if (pids[c] == 0) {
			struct thread_arg t = {c < 2 ? inherited : NULL, c, PER};
			char err[256], b;
			void *ret;

			close(gate[1]);
			if (t.a == NULL)
				t.a = mss_audit_open_file(logp, "milter", 2, err, sizeof(err));
			if (t.a == NULL)
				_exit(3);
			if (read(gate[0], &b, 1) != 0) /* EOF: everybody is ready */
				_exit(5);
			ret = writer_thread(&t);
			_exit(ret == NULL ? 0 : 4);
		}
	}
	close(gate[0]);
	close(gate[1]);
	for (int c = 0; c < PROCS; c++) {
		int st;

		assert_int_equal(waitpid(pids[c], &st, 0), pids[c]);
		assert_true(WIFEXITED(st));
		assert_int_equal(WEXITSTATUS(st), 0);
	}
	/* The parent's handle continues after the children's records. */
	{
		struct thread_arg t = {inherited, PROCS, 1};

		assert_null(writer_thread(&t));
	}
	mss_audit_close(inherited);
	assert_verifies(logp, PROCS * PER + 1);
}

/* Two handles on one file in one process take turns: each sees the other's records. */
static void test_two_handles_interleaved(void **state)
{
	struct mss_audit *a, *b;

	(void)state;
	a = open_or_die(logp, 2);
	b = open_or_die(logp, 2);
	for (int i = 0; i < 10; i++) {
		write_one(i % 3 == 0 ? a : b, "x");
	}
	mss_audit_close(a);
	mss_audit_close(b);
	assert_verifies(logp, 10);
}

/* ---- rotation ---- */

static void test_rotation_continues_the_chain(void **state)
{
	struct mss_audit *a;
	const char *old = path_in("milter.log.1"), *older = path_in("milter.log.2");
	char **lines, **old_lines, head[400];
	size_t n, n_old;

	(void)state;
	a = open_or_die(logp, 0);
	for (int i = 0; i < 5; i++)
		write_one(a, "before");
	assert_int_equal(rename(logp, old), 0);
	for (int i = 0; i < 3; i++)
		write_one(a, "after"); /* same handle: notices, creates the new file */
	mss_audit_close(a);

	n_old = lines_of(old, &old_lines);
	n = lines_of(logp, &lines);
	assert_int_equal(n_old, 5);
	assert_int_equal(n, 3);
	check_chain_independently(lines, n, strstr(old_lines[4], "\"hash\":\"") + 8);
	{
		const char *series[] = {old, logp};
		const char *alone[] = {logp};
		const char *reversed[] = {logp, old};
		unsigned long records = 0;
		char err[512];

		assert_int_equal(verify(series, 2, &records, err, sizeof(err)), 0);
		assert_int_equal(records, 8);
		/* Alone, the newer file does not start the trail: its first record is named. */
		snprintf(head, sizeof(head), "%s:1:", logp);
		assert_finding(alone, 1, head, "does not start here");
		assert_finding(reversed, 2, head, "");
	}

	/* Rotation while no process runs: a new process continues from the head file. */
	assert_int_equal(rename(old, older), 0);
	assert_int_equal(rename(logp, old), 0);
	{
		const char *series[] = {older, old, logp};
		unsigned long records = 0;
		char err[512];

		write_n(logp, 0, 2, "restart");
		assert_int_equal(verify(series, 3, &records, err, sizeof(err)), 0);
		assert_int_equal(records, 10);
	}
	/* logrotate's copytruncate: the same inode, emptied. */
	{
		char *text = slurp(logp, NULL);
		const char *copy = path_in("milter.log.copy");
		const char *series[] = {older, old, copy, logp};
		unsigned long records = 0;
		char err[512];

		spit(copy, text);
		free(text);
		a = open_or_die(logp, 2);
		write_one(a, "before-truncate");
		text = slurp(logp, NULL);
		spit(copy, text);
		free(text);
		assert_int_equal(truncate(logp, 0), 0);
		write_one(a, "after-truncate");
		mss_audit_close(a);
		assert_int_equal(verify(series, 4, &records, err, sizeof(err)), 0);
		assert_int_equal(records, 12);
	}
	free_lines(lines, n);
	free_lines(old_lines, n_old);
}

/* The head file holds the last hash; removing it costs nothing while the log has records. */
static void test_head_file(void **state)
{
	char *head, **lines;
	size_t n;

	(void)state;
	write_n(logp, 2, 3, "h");
	head = slurp(path_in(".milter.head"), NULL);
	n = lines_of(logp, &lines);
	assert_int_equal(strlen(head), 65);
	assert_memory_equal(head, strstr(lines[2], "\"hash\":\"") + 8, 64);
	free(head);
	free_lines(lines, n);
	unlink(path_in(".milter.head"));
	write_n(logp, 2, 2, "h");
	assert_verifies(logp, 5);
}

/* ---- sync modes ---- */

/* Replaces the values of ts, prev and hash by X: what is left must not depend on the mode. */
static void mask(char *l)
{
	static const char *const keys[] = {"\"ts\":\"", "\"prev\":\"", "\"hash\":\""};

	for (size_t k = 0; k < 3; k++) {
		char *p = strstr(l, keys[k]);

		assert_non_null(p);
		for (p += strlen(keys[k]); *p != '"'; p++)
			*p = 'X';
	}
}

static void test_sync_modes_same_output(void **state)
{
	char **ref = NULL;
	size_t n_ref = 0;

	(void)state;
	for (int mode = 0; mode < 3; mode++) {
		char name[32], **lines;
		const char *p;
		size_t n;

		snprintf(name, sizeof(name), "mode%d.log", mode);
		p = path_in(name);
		write_n(p, mode, 20, "m");
		assert_verifies(p, 20);
		n = lines_of(p, &lines);
		for (size_t i = 0; i < n; i++)
			mask(lines[i]);
		if (ref == NULL) {
			ref = lines;
			n_ref = n;
			continue;
		}
		assert_int_equal(n, n_ref);
		for (size_t i = 0; i < n; i++)
			assert_string_equal(lines[i], ref[i]);
		free_lines(lines, n);
	}
	free_lines(ref, n_ref);
}

/* ---- failures ---- */

static void test_open_errors(void **state)
{
	struct mss_config *cfg;
	struct mss_audit *a;
	char err[512];

	(void)state;
	a = mss_audit_open_file(path_in("no/such/dir.log"), "milter", 0, err, sizeof(err));
	assert_null(a);
	assert_non_null(strstr(err, "no/such/dir.log"));
	assert_null(mss_audit_open_file(logp, "milter", 7, err, sizeof(err)));
	/* A symbolic link is refused: the trail is never appended to another file. */
	assert_int_equal(symlink("/etc/passwd", path_in("link.log")), 0);
	assert_null(mss_audit_open_file(path_in("link.log"), "milter", 0, err, sizeof(err)));

	cfg = mss_config_defaults();
	assert_non_null(cfg);
	assert_int_equal(mss_config_set(cfg, "audit", "directory", dir, err, sizeof(err)), 0);
	assert_int_equal(mss_config_set(cfg, "audit", "sync", "none", err, sizeof(err)), 0);
	a = mss_audit_open(cfg, "pam", err, sizeof(err));
	assert_non_null(a);
	write_one(a, "cfg");
	mss_audit_close(a);
	assert_null(mss_audit_open(cfg, "../x", err, sizeof(err)));
	mss_config_free(cfg);
	assert_verifies(path_in("pam.log"), 1);
	assert_int_equal(access(path_in(".pam.head"), F_OK), 0);
}

/* A write that fails half-way leaves no half record: the file is as it was. */
static void test_failed_write_leaves_no_trace(void **state)
{
	pid_t pid;
	int st;

	(void)state;
	write_n(logp, 2, 2, "ok");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mss_audit *a = mss_audit_open_file(logp, "milter", 2, NULL, 0);
		struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
		struct stat sb;
		struct rlimit rl;
		char big[3000], err[256];

		memset(big, 'b', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		r.event = "message";
		r.reason = big;
		signal(SIGXFSZ, SIG_IGN);
		if (a == NULL || stat(logp, &sb) < 0)
			_exit(3);
		rl.rlim_cur = rl.rlim_max = (rlim_t)sb.st_size + 100;
		if (setrlimit(RLIMIT_FSIZE, &rl) < 0)
			_exit(4);
		if (mss_audit_write(a, &r, err, sizeof(err)) != -1 || strstr(err, "cannot write") == NULL)
			_exit(5);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_verifies(logp, 2);
	write_n(logp, 2, 1, "after");
	assert_verifies(logp, 3);
}

/* A torn last line (crash during a write) stays and is named by verify; the writer continues
   the chain from the last complete record, on a line of its own. */
static void test_torn_tail(void **state)
{
	FILE *f;
	char **lines;
	size_t n;
	char where[400];
	const char *paths[] = {logp};

	(void)state;
	write_n(logp, 2, 2, "ok");
	f = fopen(logp, "ab");
	fputs("{\"ts\":\"2026-11-23T21:30", f);
	fclose(f);
	write_n(logp, 2, 1, "after");
	n = lines_of(logp, &lines);
	assert_int_equal(n, 4);
	assert_memory_equal(strstr(lines[3], "\"prev\":\"") + 8, strstr(lines[1], "\"hash\":\"") + 8, 64);
	free_lines(lines, n);
	snprintf(where, sizeof(where), "%s:3:", logp);
	assert_finding(paths, 1, where, "not an audit record");
}

/* ---- verify ---- */

static void test_verify_findings(void **state)
{
	const char *t = path_in("t.log");
	const char *paths[] = {t};
	char **lines, where[400], *saved, *text;
	size_t n;

	(void)state;
	write_n(logp, 2, 6, "v");
	n = lines_of(logp, &lines);

	/* one byte changed in the middle of line 3 */
	lines[2][30] ^= 1;
	write_lines(t, lines, n);
	snprintf(where, sizeof(where), "%s:3:", t);
	assert_finding(paths, 1, where, "record modified");
	lines[2][30] ^= 1;
	/* one byte of a hash */
	lines[1][strlen(lines[1]) - 5] = lines[1][strlen(lines[1]) - 5] == 'a' ? 'b' : 'a';
	write_lines(t, lines, n);
	snprintf(where, sizeof(where), "%s:2:", t);
	assert_finding(paths, 1, where, "record modified");
	free_lines(lines, n);
	n = lines_of(logp, &lines);

	/* line 4 deleted: line 4 (the old 5th) names the gap */
	saved = lines[3];
	memmove(lines + 3, lines + 4, (n - 4) * sizeof(*lines));
	write_lines(t, lines, n - 1);
	snprintf(where, sizeof(where), "%s:4:", t);
	assert_finding(paths, 1, where, "deleted");
	memmove(lines + 4, lines + 3, (n - 4) * sizeof(*lines));
	lines[3] = saved;

	/* the first line deleted */
	write_lines(t, lines + 1, n - 1);
	snprintf(where, sizeof(where), "%s:1:", t);
	assert_finding(paths, 1, where, "does not start here");

	/* lines 3 and 4 swapped */
	saved = lines[2];
	lines[2] = lines[3];
	lines[3] = saved;
	write_lines(t, lines, n);
	snprintf(where, sizeof(where), "%s:3:", t);
	assert_finding(paths, 1, where, "reordered");
	lines[3] = lines[2];
	lines[2] = saved;

	/* line 2 duplicated */
	{
		char **dup = malloc((n + 1) * sizeof(*dup));

		dup[0] = lines[0];
		dup[1] = lines[1];
		dup[2] = lines[1];
		memcpy(dup + 3, lines + 2, (n - 2) * sizeof(*dup));
		write_lines(t, dup, n + 1);
		free(dup);
		snprintf(where, sizeof(where), "%s:3:", t);
		assert_finding(paths, 1, where, "duplicated");
	}
	free_lines(lines, n);

	/* a forged record with a valid hash of its own inserted after line 2: a record of another
	   trail that continues from line 2 */
	{
		const char *other = path_in("other.log");
		char **o, **mixed;
		size_t no;

		n = lines_of(logp, &lines);
		write_lines(other, lines, 2);
		write_n(other, 2, 1, "forged");
		no = lines_of(other, &o);
		mixed = malloc((n + 1) * sizeof(*mixed));
		memcpy(mixed, lines, 2 * sizeof(*mixed));
		mixed[2] = o[2];
		memcpy(mixed + 3, lines + 2, (n - 2) * sizeof(*mixed));
		write_lines(t, mixed, n + 1);
		snprintf(where, sizeof(where), "%s:3:", t);
		assert_finding(paths, 1, where, "record inserted");
		/* a record of a new trail inserted at the very top */
		{
			const char *fresh = path_in("fresh.log");
			char *rest = slurp(logp, NULL), *both;

			write_n(fresh, 2, 1, "fresh");
			text = slurp(fresh, NULL);
			both = malloc(strlen(text) + strlen(rest) + 1);
			sprintf(both, "%s%s", text, rest);
			spit(t, both);
			free(both);
			free(rest);
			free(text);
		}
		snprintf(where, sizeof(where), "%s:1:", t);
		assert_finding(paths, 1, where, "record inserted");
		free(mixed);
		free_lines(o, no);
		free_lines(lines, n);
	}

	/* a last line without its newline; an empty line; a line that is not a record */
	text = slurp(logp, NULL);
	text[strlen(text) - 1] = '\0';
	spit(t, text);
	snprintf(where, sizeof(where), "%s:6:", t);
	assert_finding(paths, 1, where, "truncated");
	free(text);
	spit(t, "\n");
	snprintf(where, sizeof(where), "%s:1:", t);
	assert_finding(paths, 1, where, "not an audit record");
	spit(t, "{\"ts\":\"x\"}\n");
	assert_finding(paths, 1, where, "not an audit record");

	/* an empty file is an intact empty trail; an absent file cannot be read */
	spit(t, "");
	assert_verifies(t, 0);
	{
		const char *absent[] = {path_in("absent.log")};
		char err[512];

		assert_int_equal(verify(absent, 1, NULL, err, sizeof(err)), -1);
		assert_non_null(strstr(err, "absent.log"));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_chain_by_the_contract, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_fields_in_order, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_hostile_values_stay_one_line, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_random_values, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_eight_threads_group_commit, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_eight_threads_no_sync, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_processes, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_two_handles_interleaved, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_rotation_continues_the_chain, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_head_file, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_sync_modes_same_output, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_open_errors, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_failed_write_leaves_no_trace, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_torn_tail, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_verify_findings, make_dir, remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
