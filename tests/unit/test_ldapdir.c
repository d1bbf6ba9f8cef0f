/* Unit tests of common/ldapdir.c that need no LDAP server: filter escaping, uid parsing,
   the bind password file, configuration errors, and the timeouts against a socket that
   never answers. The real directory reading is tested in tests/integration/test_ldapdir.sh. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ldapdir.h"

/* ---- mss_ldap_filter_escape ---- */

static void check_escape(const char *in, size_t len, const char *expected)
{
	char *out = mss_ldap_filter_escape(in, len);

	assert_non_null(out);
	assert_string_equal(out, expected);
	free(out);
}

static void test_escape_plain_values_unchanged(void **state)
{
	(void)state;
	check_escape("", 0, "");
	check_escape("jmartin", 7, "jmartin");
	check_escape("jean.martin@hopital-test.mssante.fr", 35, "jean.martin@hopital-test.mssante.fr");
	check_escape("a=b,c d+e", 9, "a=b,c d+e"); /* not special in a filter value */
}

static void test_escape_specials(void **state)
{
	(void)state;
	check_escape("*", 1, "\\2a");
	check_escape("(", 1, "\\28");
	check_escape(")", 1, "\\29");
	check_escape("\\", 1, "\\5c");
	check_escape("a*b(c)d\\e", 9, "a\\2ab\\28c\\29d\\5ce");
	/* The classic injection: closing the filter and opening a match-all. */
	check_escape("*)(uid=*))(|(uid=*", 18, "\\2a\\29\\28uid=\\2a\\29\\29\\28|\\28uid=\\2a");
	/* An already-escaped value is escaped again, never interpreted. */
	check_escape("\\2a", 3, "\\5c2a");
}

static void test_escape_nul_and_controls(void **state)
{
	(void)state;
	check_escape("a\0b", 3, "a\\00b");
	check_escape("\0", 1, "\\00");
	check_escape("x\r\ny", 4, "x\\0d\\0ay");
	check_escape("\x7f", 1, "\\7f");
	/* len is honoured: what follows is not read. */
	check_escape("ab*cd", 2, "ab");
}

static void test_escape_non_ascii(void **state)
{
	(void)state;
	check_escape("Lef\xc3\xa8vre", 8, "Lef\\c3\\a8vre");
	check_escape("\xff\xfe", 2, "\\ff\\fe"); /* invalid UTF-8: escaped byte by byte too */
	check_escape("\xe2\x80\x94", 3, "\\e2\\80\\94");
}

static void test_escape_every_byte(void **state)
{
	char in[256];
	char *out;
	size_t expected_len = 0;

	(void)state;
	for (int i = 0; i < 256; i++) {
		unsigned char c = (unsigned char)i;

		in[i] = (char)c;
		expected_len += (c == '*' || c == '(' || c == ')' || c == '\\' || c < 0x20 || c >= 0x7f) ? 3 : 1;
	}
	out = mss_ldap_filter_escape(in, sizeof in);
	assert_non_null(out);
	assert_int_equal(strlen(out), expected_len);
	/* No special survives unescaped: every '\' starts a two-hex-digit escape. */
	for (size_t i = 0; out[i] != '\0'; i++) {
		unsigned char c = (unsigned char)out[i];

		assert_true(c >= 0x20 && c < 0x7f);
		assert_true(c != '*' && c != '(' && c != ')');
		if (c == '\\') {
			assert_non_null(strchr("0123456789abcdef", out[i + 1]));
			assert_non_null(strchr("0123456789abcdef", out[i + 2]));
			i += 2;
		}
	}
	free(out);
}

static void test_escape_refuses_absurd_length(void **state)
{
	(void)state;
	assert_null(mss_ldap_filter_escape("x", SIZE_MAX));
	assert_null(mss_ldap_filter_escape(NULL, 3));
}

/* ---- mss_ldap_parse_uid ---- */

static void test_uid_valid(void **state)
{
	long long uid = -1;
	const char *why = NULL;

	(void)state;
	assert_int_equal(mss_ldap_parse_uid("200500", 6, 200000, 299999999, &uid, &why), 0);
	assert_int_equal(uid, 200500);
	assert_int_equal(mss_ldap_parse_uid("200000", 6, 200000, 299999999, &uid, &why), 0);
	assert_int_equal(uid, 200000);
	assert_int_equal(mss_ldap_parse_uid("299999999", 9, 200000, 299999999, &uid, &why), 0);
	assert_int_equal(uid, 299999999);
	assert_int_equal(mss_ldap_parse_uid("4294967294", 10, 1000, 4294967294LL, &uid, &why), 0);
	assert_int_equal(uid, 4294967294LL);
	assert_int_equal(mss_ldap_parse_uid("0", 1, 0, 10, &uid, &why), 0);
	assert_int_equal(uid, 0);
}

static void check_uid_refused(const char *s, size_t len, long long min, long long max)
{
	long long uid = 12345;
	const char *why = NULL;

	assert_int_equal(mss_ldap_parse_uid(s, len, min, max, &uid, &why), -1);
	assert_non_null(why);
	assert_int_equal(uid, 12345); /* untouched on error */
}

static void test_uid_refused(void **state)
{
	(void)state;
	check_uid_refused("", 0, 0, 100);
	check_uid_refused("-1", 2, 0, 100);
	check_uid_refused("+5", 2, 0, 100);
	check_uid_refused(" 5", 2, 0, 100);
	check_uid_refused("5 ", 2, 0, 100);
	check_uid_refused("5\n", 2, 0, 100);
	check_uid_refused("1e3", 3, 0, 10000);
	check_uid_refused("0x10", 4, 0, 100);
	check_uid_refused("007", 3, 0, 100);
	check_uid_refused("00", 2, 0, 100);
	check_uid_refused("1\0" "2", 3, 0, 1000);
	check_uid_refused("\xd9\xa3", 2, 0, 100); /* ARABIC-INDIC DIGIT THREE */
	/* Boundaries. */
	check_uid_refused("199999", 6, 200000, 299999999);
	check_uid_refused("300000000", 9, 200000, 299999999);
	check_uid_refused("0", 1, 1000, 299999999); /* root, never */
	check_uid_refused("4294967295", 10, 1000, 4294967294LL);
	/* Overflow of long long itself. */
	check_uid_refused("99999999999999999999999999", 26, 0, INT64_MAX);
	check_uid_refused("9223372036854775808", 19, 0, INT64_MAX);
}

static void test_uid_int64_max(void **state)
{
	long long uid = 0;
	const char *why = NULL;

	(void)state;
	assert_int_equal(mss_ldap_parse_uid("9223372036854775807", 19, 0, INT64_MAX, &uid, &why), 0);
	assert_true(uid == INT64_MAX);
}

/* ---- bind password file ---- */

static char tmpdir[] = "/tmp/mss-test-ldapdir-XXXXXX";

static int setup_tmpdir(void **state)
{
	(void)state;
	return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown_tmpdir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const char *write_file(const char *name, const char *data, size_t len, mode_t mode)
{
	static char path[256];
	FILE *f;

	snprintf(path, sizeof path, "%s/%s", tmpdir, name);
	unlink(path);
	f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
	return path;
}

static void check_password(const char *data, size_t len, const char *expected)
{
	char err[512] = "";
	const char *path = write_file("pw", data, len, 0600);
	char *pw = mss_ldap_read_password_file(path, err, sizeof err);

	assert_non_null(pw);
	assert_string_equal(pw, expected);
	mss_ldap_password_free(pw);
}

static void check_password_refused(const char *path, const char *secret, const char *expected_in_err)
{
	char err[512] = "";
	char *pw = mss_ldap_read_password_file(path, err, sizeof err);

	assert_null(pw);
	assert_non_null(strstr(err, expected_in_err));
	assert_non_null(strstr(err, path));
	if (secret != NULL)
		assert_null(strstr(err, secret));
}

static void test_password_first_line(void **state)
{
	(void)state;
	check_password("S3cret-sync!\n", 13, "S3cret-sync!");
	check_password("S3cret-sync!", 12, "S3cret-sync!");
	check_password("S3cret\r\nsecond line\n", 21, "S3cret");
	check_password("with spaces inside \n", 20, "with spaces inside ");
	check_password("Lef\xc3\xa8vre\n", 9, "Lef\xc3\xa8vre");
}

static void test_password_max_length(void **state)
{
	char *data = malloc(4100);

	(void)state;
	assert_non_null(data);
	memset(data, 'p', 4100);
	data[4096] = '\n';
	{
		const char *path = write_file("pw", data, 4097, 0600);
		char err[512] = "";
		char *pw = mss_ldap_read_password_file(path, err, sizeof err);

		assert_non_null(pw);
		assert_int_equal(strlen(pw), 4096);
		mss_ldap_password_free(pw);
	}
	{
		/* Exactly 4096 bytes and no newline at all. */
		const char *path = write_file("pw", data, 4096, 0600);
		char err[512] = "";
		char *pw = mss_ldap_read_password_file(path, err, sizeof err);

		assert_non_null(pw);
		assert_int_equal(strlen(pw), 4096);
		mss_ldap_password_free(pw);
	}
	free(data);
}

static void test_password_too_long(void **state)
{
	char *data = malloc(5000);

	(void)state;
	assert_non_null(data);
	memset(data, 'q', 5000);
	check_password_refused(write_file("pw", data, 4097, 0600), NULL, "longer than 4096");
	check_password_refused(write_file("pw", data, 5000, 0600), NULL, "longer than 4096");
	free(data);
}

static void test_password_refused(void **state)
{
	char path[256];

	(void)state;
	check_password_refused(write_file("pw", "TopSecret1\n", 11, 0640), "TopSecret1", "group or others");
	check_password_refused(write_file("pw", "TopSecret2\n", 11, 0604), "TopSecret2", "group or others");
	check_password_refused(write_file("pw", "TopSecret3\n", 11, 0620), "TopSecret3", "group or others");
	check_password_refused(write_file("pw", "", 0, 0600), NULL, "empty");
	check_password_refused(write_file("pw", "\nTopSecret4\n", 12, 0600), "TopSecret4", "empty");
	check_password_refused(write_file("pw", "\r\n", 2, 0600), NULL, "empty");
	check_password_refused(write_file("pw", "Top\0Secret5\n", 12, 0600), "Secret5", "NUL");

	snprintf(path, sizeof path, "%s/missing", tmpdir);
	check_password_refused(path, NULL, "No such file");

	/* A symlink to a good file is refused (O_NOFOLLOW). */
	write_file("target", "TopSecret6\n", 11, 0600);
	snprintf(path, sizeof path, "%s/link", tmpdir);
	unlink(path);
	assert_int_equal(symlink("target", path), 0);
	check_password_refused(path, "TopSecret6", "");

	/* A directory and a FIFO are not regular files; the FIFO must not block. */
	check_password_refused(tmpdir, NULL, "not a regular file");
	snprintf(path, sizeof path, "%s/fifo", tmpdir);
	assert_int_equal(mkfifo(path, 0600), 0);
	check_password_refused(path, NULL, "not a regular file");
}

/* ---- mss_ldap_read_directory without a usable server ---- */

static struct mss_config *config_with(const char *const *kv)
{
	struct mss_config *cfg = mss_config_defaults();
	char err[512];

	assert_non_null(cfg);
	for (size_t i = 0; kv[i] != NULL; i += 2) {
		if (mss_config_set(cfg, "directory", kv[i], kv[i + 1], err, sizeof err) < 0)
			fail_msg("mss_config_set %s: %s", kv[i], err);
	}
	return cfg;
}

static void check_read_fails(const char *const *kv, const char *expected_in_err)
{
	struct mss_config *cfg = config_with(kv);
	struct mss_directory *dir = (struct mss_directory *)1;
	char err[512] = "unchanged";

	assert_int_equal(mss_ldap_read_directory(cfg, &dir, err, sizeof err), -1);
	assert_null(dir);
	if (strstr(err, expected_in_err) == NULL)
		fail_msg("error \"%s\" does not contain \"%s\"", err, expected_in_err);
	mss_config_free(cfg);
}

static void test_read_config_errors(void **state)
{
	(void)state;
	check_read_fails((const char *const[]){"base", "dc=x", NULL}, "[directory] uri is not set");
	check_read_fails((const char *const[]){"uri", "ldap://127.0.0.1:1", NULL}, "[directory] base is not set");
	check_read_fails((const char *const[]){"uri", "http://example.org", "base", "dc=x", NULL},
			 "not an ldap://, ldaps:// or ldapi:// URI");
	check_read_fails((const char *const[]){"uri", "ldap://a ldaps://b", "base", "dc=x", NULL},
			 "same scheme");
	check_read_fails((const char *const[]){"uri", "  ", "base", "dc=x", NULL}, "");
	check_read_fails((const char *const[]){"uri", "ldap://127.0.0.1:1", "base", "dc=x", "map_bal_type", "",
					       NULL},
			 "map_bal_*");
	/* bind_dn without a password file: refused before anything is sent. */
	check_read_fails((const char *const[]){"uri", "ldap://127.0.0.1:1", "base", "dc=x", "starttls", "no",
					       "bind_dn", "cn=sync,dc=x", NULL},
			 "bind_password_file is not");
	/* A CA file that does not exist: TLS setup fails, no plaintext fallback. */
	check_read_fails((const char *const[]){"uri", "ldap://127.0.0.1:1", "base", "dc=x", "starttls", "yes",
					       "ca_file", "/nonexistent/ca.pem", NULL},
			 "");
}

static void test_read_connection_refused(void **state)
{
	int fd;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof sin;
	char uri[64];

	(void)state;
	/* A port nobody listens on: bind one, note it, close it. */
	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	close(fd);
	snprintf(uri, sizeof uri, "ldap://127.0.0.1:%u", ntohs(sin.sin_port));
	check_read_fails((const char *const[]){"uri", uri, "base", "dc=x", "starttls", "no", NULL},
			 "Can't contact LDAP server");
	check_read_fails((const char *const[]){"uri", uri, "base", "dc=x", "starttls", "yes", NULL}, "StartTLS");
}

/* A server that accepts TCP connections (the kernel does it, through the backlog) but never
   answers: every step must give up after [directory] timeout instead of hanging. */
static void check_times_out(const char *starttls)
{
	int fd;
	struct sockaddr_in sin = {.sin_family = AF_INET};
	socklen_t slen = sizeof sin;
	char uri[64];
	struct timespec t0, t1;
	double elapsed;

	fd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(fd >= 0);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &slen), 0);
	snprintf(uri, sizeof uri, "ldap://127.0.0.1:%u", ntohs(sin.sin_port));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	check_read_fails((const char *const[]){"uri", uri, "base", "dc=x", "starttls", starttls, "timeout", "1",
					       NULL},
			 strcmp(starttls, "yes") == 0 ? "StartTLS" : "search for people");
	clock_gettime(CLOCK_MONOTONIC, &t1);
	elapsed = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	assert_true(elapsed >= 0.9);
	assert_true(elapsed < 5.0);
	close(fd);
}

static void test_read_times_out_starttls(void **state)
{
	(void)state;
	check_times_out("yes");
}

static void test_read_times_out_search(void **state)
{
	(void)state;
	check_times_out("no");
}

/* ---- text helpers ---- */

static void test_text_valid(void **state)
{
	const char *why = NULL;

	(void)state;
	assert_true(mss_ldap_text_valid("Dr Claire Lef\xc3\xa8vre", 18, 100, &why));
	assert_true(mss_ldap_text_valid("\xf0\x9f\x98\x80", 4, 4, &why)); /* U+1F600, exactly max */
	assert_false(mss_ldap_text_valid("", 0, 100, &why));
	assert_string_equal(why, "is empty");
	assert_false(mss_ldap_text_valid("abcde", 5, 4, &why));
	assert_string_equal(why, "is too long");
	assert_false(mss_ldap_text_valid("a\0b", 3, 100, &why));
	assert_string_equal(why, "contains a NUL byte");
	assert_false(mss_ldap_text_valid("a\nb", 3, 100, &why));
	assert_string_equal(why, "contains a control character");
	assert_false(mss_ldap_text_valid("a\x7f", 2, 100, &why));
	assert_false(mss_ldap_text_valid("\xc3", 1, 100, &why)); /* truncated */
	assert_string_equal(why, "is not valid UTF-8");
	assert_false(mss_ldap_text_valid("\xc0\xaf", 2, 100, &why));	    /* overlong '/' */
	assert_false(mss_ldap_text_valid("\xed\xa0\x80", 3, 100, &why));	    /* surrogate */
	assert_false(mss_ldap_text_valid("\xf4\x90\x80\x80", 4, 100, &why)); /* above U+10FFFF */
	assert_false(mss_ldap_text_valid("\xe9t\xe9", 3, 100, &why));	    /* Latin-1 */
}

static void test_printable(void **state)
{
	char *out;

	(void)state;
	out = mss_ldap_printable("cn=a\nb\\c,\xc3\xa8\xff\0z", 14);
	assert_non_null(out);
	assert_string_equal(out, "cn=a\\x0ab\\x5cc,\xc3\xa8\\xff\\x00z");
	free(out);
}

/* ---- password bind, without a server ---- */

static void test_bind_password_refuses_empty(void **state)
{
	struct mss_config *cfg = config_with((const char *const[]){"uri", "ldap://127.0.0.1:1", "starttls", "no", NULL});
	struct ldap *ld = NULL;
	char err[512] = "";

	(void)state;
	/* Without TLS, libldap connects lazily: the handle exists, nothing is sent yet. */
	assert_int_equal(mss_ldap_connect(cfg, 2, &ld, err, sizeof err), 0);
	assert_non_null(ld);
	assert_int_equal(mss_ldap_bind_password(ld, "uid=x,dc=x", "", 0, err, sizeof err), 1);
	assert_non_null(strstr(err, "empty password refused"));
	/* The server is down: an error (-1), not "invalid credentials" (1); no password shown. */
	assert_int_equal(mss_ldap_bind_password(ld, "uid=x,dc=x", "Pw-Hidden-77", 12, err, sizeof err), -1);
	assert_non_null(strstr(err, "Can't contact LDAP server"));
	assert_null(strstr(err, "Pw-Hidden-77"));
	mss_ldap_close(ld);
	mss_ldap_close(NULL);
	mss_config_free(cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_escape_plain_values_unchanged),
		cmocka_unit_test(test_escape_specials),
		cmocka_unit_test(test_escape_nul_and_controls),
		cmocka_unit_test(test_escape_non_ascii),
		cmocka_unit_test(test_escape_every_byte),
		cmocka_unit_test(test_escape_refuses_absurd_length),
		cmocka_unit_test(test_uid_valid),
		cmocka_unit_test(test_uid_refused),
		cmocka_unit_test(test_uid_int64_max),
		cmocka_unit_test(test_password_first_line),
		cmocka_unit_test(test_password_max_length),
		cmocka_unit_test(test_password_too_long),
		cmocka_unit_test(test_password_refused),
		cmocka_unit_test(test_read_config_errors),
		cmocka_unit_test(test_read_connection_refused),
		cmocka_unit_test(test_read_times_out_starttls),
		cmocka_unit_test(test_read_times_out_search),
		cmocka_unit_test(test_text_valid),
		cmocka_unit_test(test_printable),
		cmocka_unit_test(test_bind_password_refuses_empty),
	};

	return cmocka_run_group_tests(tests, setup_tmpdir, teardown_tmpdir);
}
