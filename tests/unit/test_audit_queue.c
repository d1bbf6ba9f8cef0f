/* Unit tests of the audit trail's deferred writing (mss_audit_queue and friends in
 * common/audit.c): queued records reach the file only when written, in order, as one chain
 * with the records written directly; a full queue writes itself; a failed write keeps the
 * queue for the next try; a forked child does not write its parent's queue; what cannot be
 * written is handed back, never silently dropped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "audit_check.h"
#include "tmpdir.h"

static char dir[256];
static char logp[300];

static int make_dir(void **state)
{
	(void)state;
	if (test_tmpdir_make(dir, sizeof(dir), "test_audit_queue") < 0)
		return -1;
	snprintf(logp, sizeof(logp), "%s/dovecot.log", dir);
	return 0;
}

static int remove_dir(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

static void queue_one(struct mss_audit *a, const char *queue_id)
{
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	char err[256];

	r.event = "read";
	r.queue_id = queue_id;
	r.bal = "jean.martin@hopital-test.mssante.fr";
	r.mailbox = "INBOX";
	if (mss_audit_queue(a, &r, err, sizeof(err)) != 0)
		fail_msg("queue: %s", err);
}

static size_t count_lines(const char *path)
{
	struct stat sb;
	char **lines;
	size_t n;

	if (stat(path, &sb) < 0 || sb.st_size == 0)
		return 0;
	n = lines_of(path, &lines);
	free_lines(lines, n);
	return n;
}

/* The queue_id values of the file's records, in order, joined by spaces. */
static char *ids_of(const char *path)
{
	char **lines;
	size_t n = lines_of(path, &lines);
	char *out = calloc(1, n * 32 + 1);

	for (size_t i = 0; i < n; i++) {
		const char *q = strstr(lines[i], "\"queue_id\":\"");

		assert_non_null(q);
		q += 12;
		strncat(out, q, (size_t)(strchr(q, '"') - q));
		if (i + 1 < n)
			strcat(out, " ");
	}
	free_lines(lines, n);
	return out;
}

static void assert_ids(const char *path, const char *expected)
{
	char *ids = ids_of(path);

	assert_string_equal(ids, expected);
	free(ids);
}

static void test_queued_records_wait_then_keep_their_order(void **state)
{
	struct mss_audit *a;
	char err[256], **lines;
	size_t n;

	(void)state;
	a = open_or_die(logp, 1);
	write_one(a, "w1");
	queue_one(a, "q1");
	queue_one(a, "q2");
	assert_int_equal(mss_audit_queued(a), 2);
	assert_int_equal(count_lines(logp), 1); /* not in the file yet */
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), 0);
	assert_int_equal(mss_audit_queued(a), 0);
	assert_ids(logp, "w1 q1 q2");
	/* A direct write after queued ones: they go first, in one chain. */
	queue_one(a, "q3");
	write_one(a, "w2");
	assert_int_equal(mss_audit_queued(a), 0);
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), 0); /* nothing left: a no-op */
	assert_ids(logp, "w1 q1 q2 q3 w2");
	mss_audit_close(a);
	n = lines_of(logp, &lines);
	check_chain_independently(lines, n, ZEROS);
	free_lines(lines, n);
	assert_verifies(logp, 5);
}

/* Milliseconds since the epoch of a record's "ts". */
static long long ts_ms(const char *line)
{
	const char *t = strstr(line, "\"ts\":\"");
	struct tm tm = {0};
	int ms = 0;

	assert_non_null(t);
	assert_int_equal(sscanf(t + 6, "%d-%d-%dT%d:%d:%d.%dZ", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
				&tm.tm_min, &tm.tm_sec, &ms),
			 7);
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	return (long long)timegm(&tm) * 1000 + ms;
}

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A queued record carries the time it was queued (the action's), not the time it was written. */
static void test_queued_record_keeps_its_time(void **state)
{
	struct mss_audit *a;
	char err[256], **lines;
	long long before, after;
	size_t n;

	(void)state;
	a = open_or_die(logp, 1);
	before = now_ms();
	queue_one(a, "q1");
	after = now_ms();
	usleep(400 * 1000);
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), 0);
	mss_audit_close(a);
	n = lines_of(logp, &lines);
	assert_int_equal(n, 1);
	assert_true(ts_ms(lines[0]) >= before && ts_ms(lines[0]) <= after);
	free_lines(lines, n);
}

static void test_full_queue_writes_itself(void **state)
{
	struct mss_audit *a;
	char q[32];

	(void)state;
	a = open_or_die(logp, 2);
	for (int i = 0; i < MSS_AUDIT_QUEUE_RECORDS - 1; i++) {
		snprintf(q, sizeof(q), "q%d", i);
		queue_one(a, q);
	}
	assert_int_equal(count_lines(logp), 0);
	queue_one(a, "last");
	assert_int_equal(mss_audit_queued(a), 0);
	assert_int_equal(count_lines(logp), MSS_AUDIT_QUEUE_RECORDS);
	mss_audit_close(a);
	assert_verifies(logp, MSS_AUDIT_QUEUE_RECORDS);
}

static void test_close_writes_the_queue(void **state)
{
	struct mss_audit *a;

	(void)state;
	a = open_or_die(logp, 0);
	queue_one(a, "q1");
	queue_one(a, "q2");
	mss_audit_close(a);
	assert_ids(logp, "q1 q2");
	assert_verifies(logp, 2);
}

/* The log's path is taken by a directory after a rotation: the write fails, the records stay
   queued; once the path is free again they are written, and the rotated series verifies. */
static void test_failed_write_keeps_the_queue(void **state)
{
	struct mss_audit *a;
	char err[256], rotated[400];
	const char *series[2];
	unsigned long records = 0;

	(void)state;
	a = open_or_die(logp, 1);
	write_one(a, "w1");
	queue_one(a, "q1");
	queue_one(a, "q2");
	snprintf(rotated, sizeof(rotated), "%s.1", logp);
	assert_int_equal(rename(logp, rotated), 0);
	assert_int_equal(mkdir(logp, 0700), 0);
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), -1);
	assert_non_null(strstr(err, logp));
	assert_int_equal(mss_audit_queued(a), 2);
	assert_int_equal(rmdir(logp), 0);
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), 0);
	assert_int_equal(mss_audit_queued(a), 0);
	mss_audit_close(a);
	assert_ids(logp, "q1 q2");
	series[0] = rotated;
	series[1] = logp;
	if (mss_audit_verify(series, 2, &records, err, sizeof(err)) != 0)
		fail_msg("verify: %s", err);
	assert_int_equal(records, 3);
}

/* The record that fills the queue cannot be written with it: that record alone is refused
   (its action fails), the others stay queued, and the queue a failed write left goes out whole
   once the path is free, and verifies. */
static void test_full_queue_failing_refuses_only_the_last(void **state)
{
	struct mss_audit *a;
	struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
	char err[256], q[32], rotated[400];
	const char *series[2];
	unsigned long records = 0;

	(void)state;
	a = open_or_die(logp, 1);
	write_one(a, "w1");
	for (int i = 0; i < MSS_AUDIT_QUEUE_RECORDS - 1; i++) {
		snprintf(q, sizeof(q), "q%d", i);
		queue_one(a, q);
	}
	snprintf(rotated, sizeof(rotated), "%s.1", logp);
	assert_int_equal(rename(logp, rotated), 0);
	assert_int_equal(mkdir(logp, 0700), 0);
	r.event = "read";
	r.queue_id = "last";
	assert_int_equal(mss_audit_queue(a, &r, err, sizeof(err)), -1);
	assert_int_equal(mss_audit_queued(a), MSS_AUDIT_QUEUE_RECORDS - 1);
	assert_int_equal(rmdir(logp), 0);
	queue_one(a, "after");
	assert_int_equal(mss_audit_queued(a), 0);
	mss_audit_close(a);
	assert_int_equal(count_lines(logp), MSS_AUDIT_QUEUE_RECORDS);
	{
		char *ids = ids_of(logp);

		assert_null(strstr(ids, "last"));
		assert_non_null(strstr(ids, "q0 q1 "));
		assert_string_equal(ids + strlen(ids) - 5, "after");
		free(ids);
	}
	series[0] = rotated;
	series[1] = logp;
	if (mss_audit_verify(series, 2, &records, err, sizeof(err)) != 0)
		fail_msg("verify: %s", err);
	assert_int_equal(records, MSS_AUDIT_QUEUE_RECORDS + 1);
}

/* The line without what depends on when and where it was written: "ts", "prev", "hash". */
static void strip_line(const char *line, char *out, size_t outlen)
{
	const char *ts = strstr(line, "\"ts\":\""), *prev = strstr(line, ",\"prev\":\"");

	assert_non_null(ts);
	assert_non_null(prev);
	snprintf(out, outlen, "%.*s%.*s", (int)(ts - line), line, (int)(prev - (ts + 31)), ts + 31);
}

/* The queue copies the session's members (client, tls, actor, bal...) from the record before
   when they are the same: a record of another session, or with one member more or less, gets
   its own, exactly as a direct write formats them. */
static void test_queued_records_of_several_sessions(void **state)
{
	static const struct {
		const char *client, *tls_peer_cn, *actor, *bal, *method;
	} sessions[] = {
	    {"127.0.0.1", NULL, "810000000001", "jean.martin@hopital-test.mssante.fr", "password"},
	    {"127.0.0.1", NULL, "810000000001", "jean.martin@hopital-test.mssante.fr", "password"},
	    {"127.0.0.1", NULL, "810000000002", "secretariat@hopital-test.mssante.fr", "master"},
	    {"127.0.0.1", "app.hopital-test.fr", "810000000002", "secretariat@hopital-test.mssante.fr", "master"},
	    {"127.0.0.1", "app.hopital-test.fr", "810000000002", "secretariat@hopital-test.mssante.fr", "master"},
	    {NULL, "app.hopital-test.fr", "810000000002", "secretariat@hopital-test.mssante.fr", "master"},
	    {"127.0.0.1", NULL, "810000000001", "jean.martin@hopital-test.mssante.fr", "password"},
	    {"127.0.0.1", NULL, "810000000001", "jean.martin@hopital-test.mssante.fr", NULL},
	    {"127.0.0.1", NULL, "810000000001", "jean.martin@hopital-test.mssante.fr", NULL},
	};
	enum { N = sizeof(sessions) / sizeof(sessions[0]) };
	char direct_path[320], err[256], **queued_lines, **direct_lines;
	struct mss_audit *q, *d;
	size_t nq, nd;

	(void)state;
	snprintf(direct_path, sizeof(direct_path), "%s/direct.log", dir);
	q = open_or_die(logp, 1);
	d = open_or_die(direct_path, 1);
	for (size_t i = 0; i < N; i++) {
		struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;
		char msgid[64];

		snprintf(msgid, sizeof(msgid), "<m%zu@hopital-test.mssante.fr>", i);
		r.event = "read";
		r.service = "imap";
		r.client = sessions[i].client;
		r.tls_peer_cn = sessions[i].tls_peer_cn;
		r.method = sessions[i].method;
		r.actor = sessions[i].actor;
		r.bal = sessions[i].bal;
		r.bal_type = "PER";
		r.mailbox = "INBOX";
		r.uid = (long long)i + 1;
		r.message_id = msgid;
		r.decision = "ok";
		if (mss_audit_queue(q, &r, err, sizeof(err)) != 0 || mss_audit_write(d, &r, err, sizeof(err)) != 0)
			fail_msg("%s", err);
	}
	assert_int_equal(mss_audit_write_queued(q, err, sizeof(err)), 0);
	mss_audit_close(q);
	mss_audit_close(d);
	nq = lines_of(logp, &queued_lines);
	nd = lines_of(direct_path, &direct_lines);
	assert_int_equal(nq, N);
	assert_int_equal(nd, N);
	for (size_t i = 0; i < N; i++) {
		char a[1024], b[1024];

		strip_line(queued_lines[i], a, sizeof(a));
		strip_line(direct_lines[i], b, sizeof(b));
		assert_string_equal(a, b);
	}
	free_lines(queued_lines, nq);
	free_lines(direct_lines, nd);
	assert_verifies(logp, N);
}

/* A queue that cannot be written is handed back, record by record, without the chain. */
struct handed {
	int n;
	char text[2][512];
};

static void take(void *ctx, const char *record, size_t len)
{
	struct handed *h = ctx;

	if (h->n < 2)
		snprintf(h->text[h->n], sizeof(h->text[0]), "%.*s", (int)len, record);
	h->n++;
}

static void test_discard_hands_records_back(void **state)
{
	struct mss_audit *a;
	struct handed h = {0};

	(void)state;
	a = open_or_die(logp, 1);
	queue_one(a, "q1");
	queue_one(a, "q2");
	mss_audit_discard_queued(a, take, &h);
	assert_int_equal(h.n, 2);
	assert_non_null(strstr(h.text[0], "\"queue_id\":\"q1\""));
	assert_non_null(strstr(h.text[1], "\"queue_id\":\"q2\""));
	assert_null(strstr(h.text[1], "\"prev\""));
	assert_int_not_equal(h.text[1][strlen(h.text[1]) - 1], ',');
	assert_int_equal(mss_audit_queued(a), 0);
	mss_audit_close(a);
	assert_int_equal(count_lines(logp), 0);
}

/* The parent's queue is the parent's: a forked child that writes does not write it too. */
static void test_fork_child_leaves_parent_queue(void **state)
{
	struct mss_audit *a;
	char err[256];
	pid_t pid;
	int st;

	(void)state;
	a = open_or_die(logp, 1);
	queue_one(a, "p1");
	queue_one(a, "p2");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct mss_audit_record r = MSS_AUDIT_RECORD_INIT;

		r.event = "read";
		r.queue_id = "child";
		if (mss_audit_queued(a) != 0)
			_exit(2);
		queue_one(a, "c1");
		if (mss_audit_write(a, &r, NULL, 0) != 0)
			_exit(3);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), 0);
	mss_audit_close(a);
	assert_ids(logp, "c1 child p1 p2");
	assert_verifies(logp, 4);
}

#define THREADS 4
#define PER_THREAD 1000

static void *queue_many(void *arg)
{
	struct mss_audit *a = arg;
	char q[32], err[256];

	for (int i = 0; i < PER_THREAD; i++) {
		snprintf(q, sizeof(q), "t%lu-%d", (unsigned long)pthread_self() % 1000, i);
		queue_one(a, q);
		if (i % 100 == 99 && mss_audit_write_queued(a, err, sizeof(err)) != 0)
			fail_msg("write_queued: %s", err);
	}
	return NULL;
}

static void test_threads_queue_and_write(void **state)
{
	struct mss_audit *a;
	pthread_t t[THREADS];
	char err[256];

	(void)state;
	a = open_or_die(logp, 2);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, queue_many, a), 0);
	for (int i = 0; i < THREADS; i++)
		pthread_join(t[i], NULL);
	assert_int_equal(mss_audit_write_queued(a, err, sizeof(err)), 0);
	mss_audit_close(a);
	assert_verifies(logp, THREADS * PER_THREAD);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_queued_records_wait_then_keep_their_order, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_queued_record_keeps_its_time, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_full_queue_writes_itself, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_close_writes_the_queue, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_failed_write_keeps_the_queue, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_full_queue_failing_refuses_only_the_last, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_queued_records_of_several_sessions, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_discard_hands_records_back, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_fork_child_leaves_parent_queue, make_dir, remove_dir),
	    cmocka_unit_test_setup_teardown(test_threads_queue_and_write, make_dir, remove_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
