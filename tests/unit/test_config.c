/* Unit tests of common/config.c and the option table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <unistd.h>

#include "config.h"

static char tmpl[] = "/tmp/mss-test-config-XXXXXX";

static const char *write_conf(const char *text, size_t len)
{
	static char path[64];
	int fd;

	strcpy(path, tmpl);
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, text, len), (ssize_t)len);
	close(fd);
	return path;
}

static int load_text(const char *text, struct mss_config **cfg_r, char *err, size_t errlen)
{
	const char *path = write_conf(text, strlen(text));
	int ret = mss_config_load(path, cfg_r, err, errlen);

	unlink(path);
	return ret;
}

static void test_defaults_are_valid(void **state)
{
	(void)state;
	struct mss_config *cfg = mss_config_defaults();

	assert_non_null(cfg);
	assert_string_equal(mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT), "/var/lib/mssante/snapshot.cdb");
	assert_int_equal(mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_AGE), 2 * 86400);
	assert_int_equal(mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_SHRINK_PERCENT), 10);
	assert_true(mss_config_bool(cfg, MSS_OPT_DIRECTORY_STARTTLS));
	assert_false(mss_config_bool(cfg, MSS_OPT_NSS_ENUMERATE));
	assert_null(mss_config_str(cfg, MSS_OPT_DIRECTORY_URI));
	assert_true(mss_config_list_has(cfg, MSS_OPT_NSS_TYPES, "org"));
	assert_false(mss_config_list_has(cfg, MSS_OPT_NSS_TYPES, "CAB"));
	mss_config_free(cfg);
}

static void test_every_option_documented(void **state)
{
	(void)state;
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		assert_non_null(mss_options[i].help);
		assert_true(strlen(mss_options[i].help) > 10);
		assert_true(mss_options[i].components != 0);
		for (int j = 0; j < i; j++)
			assert_false(strcmp(mss_options[i].section, mss_options[j].section) == 0 &&
				     strcmp(mss_options[i].key, mss_options[j].key) == 0);
	}
}

static void test_load_values(void **state)
{
	(void)state;
	struct mss_config *cfg;
	char err[512];

	assert_int_equal(load_text("# comment\n\n[directory]\n  uri = ldap://127.0.0.1:3890  \r\n"
				   "max_age = 3h\nstarttls = no\n; other comment\n[nss]\ntypes = PER , ORG\n"
				   "[audit]\nsync = batch\n",
				   &cfg, err, sizeof(err)),
			 0);
	assert_string_equal(mss_config_str(cfg, MSS_OPT_DIRECTORY_URI), "ldap://127.0.0.1:3890");
	assert_int_equal(mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_AGE), 3 * 3600);
	assert_false(mss_config_bool(cfg, MSS_OPT_DIRECTORY_STARTTLS));
	assert_true(mss_config_list_has(cfg, MSS_OPT_NSS_TYPES, "ORG"));
	assert_false(mss_config_list_has(cfg, MSS_OPT_NSS_TYPES, "APP"));
	assert_int_equal(mss_config_num(cfg, MSS_OPT_AUDIT_SYNC), 1);
	mss_config_free(cfg);
}

static void expect_error(const char *text, const char *expected)
{
	struct mss_config *cfg = (struct mss_config *)1;
	char err[512];

	assert_int_equal(load_text(text, &cfg, err, sizeof(err)), -1);
	assert_null(cfg);
	if (strstr(err, expected) == NULL)
		fail_msg("error '%s' does not contain '%s'", err, expected);
}

static void test_errors_name_line_and_key(void **state)
{
	(void)state;
	expect_error("[directory]\nurl = ldap://x\n", ":2: key 'url': unknown in section [directory]");
	expect_error("[nope]\n", ":1: unknown section [nope]");
	expect_error("uri = x\n", ":1: key 'uri': outside of any [section]");
	expect_error("[directory]\nmax_age = soon\n", ":2: key 'max_age': 'soon' is not a duration");
	expect_error("[directory]\nmax_age = 1s\n", ":2: key 'max_age': 1 seconds is out of range");
	expect_error("[directory]\nmax_shrink_percent = 101\n", ":2: key 'max_shrink_percent': 101 is out of range");
	expect_error("[directory]\nmax_shrink_percent = -1\n", "not a non-negative integer");
	expect_error("[directory]\nmax_shrink_percent = 99999999999999999999\n", "not a non-negative integer");
	expect_error("[directory]\nstarttls = maybe\n", ":2: key 'starttls': 'maybe' is not yes or no");
	expect_error("[directory]\nsnapshot = relative/path\n", "not an absolute path");
	expect_error("[audit]\nsync = sometimes\n", "'sometimes' is not one of always|batch|none");
	expect_error("[nss]\ntypes = PER,,ORG\n", "empty item in list");
	expect_error("[directory]\nuri = a\nuri = b\n", ":3: key 'uri': already set at line 2");
	expect_error("[directory]\njust words\n", ":2: expected 'key = value'");
	expect_error("[directory]\n= value\n", ":2: missing key");
	expect_error("[directory\n", ":1: malformed section header");
	expect_error("[nss]\nuid_min = 5000\nuid_max = 4000\n", "key 'uid_min': greater than uid_max");
	expect_error("[directory]\nuri = a\x01\n", ":2: key 'uri': control character");
}

static void test_nul_and_long_lines(void **state)
{
	(void)state;
	struct mss_config *cfg;
	char err[512];
	const char nul[] = "[directory]\nuri = a\0b\n";
	const char *path = write_conf(nul, sizeof(nul) - 1);
	char *big;

	assert_int_equal(mss_config_load(path, &cfg, err, sizeof(err)), -1);
	unlink(path);
	assert_non_null(strstr(err, ":2: NUL byte"));

	big = malloc(10000);
	memset(big, 'a', 9999);
	big[9999] = '\0';
	memcpy(big, "[directory]\nuri = ", 18);
	assert_int_equal(load_text(big, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, ":2: line longer than"));
	free(big);
}

static void test_missing_file(void **state)
{
	(void)state;
	struct mss_config *cfg;
	char err[512];

	assert_int_equal(mss_config_load("/nonexistent/mssante.conf", &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "/nonexistent/mssante.conf: cannot open"));
}

static void test_empty_value_clears_default(void **state)
{
	(void)state;
	struct mss_config *cfg;
	char err[512];

	assert_int_equal(load_text("[trust]\npostfix_tls_policy =\nissuer_cns =\n", &cfg, err, sizeof(err)), 0);
	assert_null(mss_config_str(cfg, MSS_OPT_TRUST_ISSUER_CNS));
	assert_false(mss_config_list_has(cfg, MSS_OPT_TRUST_ISSUER_CNS, "AC IGC-SANTE ELEMENTAIRE ORGANISATIONS"));
	mss_config_free(cfg);
}

static void test_set_and_durations(void **state)
{
	(void)state;
	struct mss_config *cfg = mss_config_defaults();
	char err[256];
	long long s;

	assert_int_equal(mss_config_set(cfg, "nss", "uid_min", "300000", err, sizeof(err)), 0);
	assert_int_equal(mss_config_num(cfg, MSS_OPT_NSS_UID_MIN), 300000);
	assert_int_equal(mss_config_set(cfg, "nss", "nope", "1", err, sizeof(err)), -1);
	assert_int_equal(mss_config_set(cfg, "nss", "uid_min", "12", err, sizeof(err)), -1);
	mss_config_free(cfg);

	assert_int_equal(mss_parse_duration("90", &s), 0);
	assert_int_equal(s, 90);
	assert_int_equal(mss_parse_duration("2d", &s), 0);
	assert_int_equal(s, 172800);
	assert_int_equal(mss_parse_duration("d", &s), -1);
	assert_int_equal(mss_parse_duration("", &s), -1);
	assert_int_equal(mss_parse_duration("1w", &s), -1);
	assert_int_equal(mss_parse_duration(" 1", &s), -1);
}

static void test_symlink_refused_and_fd(void **state)
{
	(void)state;
	struct mss_config *cfg;
	char err[512], link[80];
	const char *path = write_conf("[directory]\nuri = ldap://x\n", 27);
	int fd;

	snprintf(link, sizeof(link), "%s.link", path);
	assert_int_equal(symlink(path, link), 0);
	assert_int_equal(mss_config_load(link, &cfg, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "is a symbolic link"));
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(mss_config_load_fd(fd, "checked.conf", &cfg, err, sizeof(err)), 0);
	assert_string_equal(mss_config_str(cfg, MSS_OPT_DIRECTORY_URI), "ldap://x");
	mss_config_free(cfg);
	close(fd);
	unlink(link);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_are_valid),
		cmocka_unit_test(test_every_option_documented),
		cmocka_unit_test(test_load_values),
		cmocka_unit_test(test_errors_name_line_and_key),
		cmocka_unit_test(test_nul_and_long_lines),
		cmocka_unit_test(test_missing_file),
		cmocka_unit_test(test_empty_value_clears_default),
		cmocka_unit_test(test_set_and_durations),
		cmocka_unit_test(test_symlink_refused_and_fd),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
