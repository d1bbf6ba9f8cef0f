/* Unit tests for common/addr.c: RFC 5321 mailboxes and domains. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "addr.h"

/* Normalises s (C string) and checks the key, or checks that it is refused. */
static void assert_key(const char *s, const char *expected)
{
	char out[MSS_ADDR_MAX + 1];
	const char *error = NULL;
	int ret = mss_addr_normalize(s, strlen(s), out, sizeof(out), &error);

	if (expected == NULL) {
		if (ret == 0)
			fail_msg("accepted \"%s\" as \"%s\"", s, out);
		assert_non_null(error);
	} else {
		if (ret != 0)
			fail_msg("refused \"%s\": %s", s, error);
		assert_string_equal(out, expected);
	}
}

static void test_addr_simple(void **state)
{
	(void)state;
	assert_key("jean.dupont@hopital.mssante.fr", "jean.dupont@hopital.mssante.fr");
	assert_key("Jean.Dupont@Hopital.MSSante.FR", "jean.dupont@hopital.mssante.fr");
	assert_key("<jean.dupont@hopital.mssante.fr>", "jean.dupont@hopital.mssante.fr");
	assert_key("jean.dupont@hopital.mssante.fr.", "jean.dupont@hopital.mssante.fr");
	assert_key("810003461033@medecin.mssante.fr", "810003461033@medecin.mssante.fr");
	assert_key("a+tag!#$%&'*/=?^_`{|}~-x@x.fr", "a+tag!#$%&'*/=?^_`{|}~-x@x.fr");
	assert_key("u@localhost", "u@localhost");
	assert_key("u@a-b.c1.fr", "u@a-b.c1.fr");
}

static void test_addr_parse_fields(void **state)
{
	struct mss_addr addr;
	const char *error = NULL;
	const char *s = "<Jean.DUPONT@CHU-Exemple.MSSANTE.fr.>";

	(void)state;
	assert_int_equal(mss_addr_parse(s, strlen(s), &addr, &error), 0);
	assert_string_equal(addr.local, "Jean.DUPONT"); /* case kept */
	assert_string_equal(addr.domain, "chu-exemple.mssante.fr");
}

static void test_addr_quoted(void **state)
{
	struct mss_addr addr;
	const char *error = NULL;
	const char *s = "\"Jean Dupont\"@x.fr";

	(void)state;
	assert_int_equal(mss_addr_parse(s, strlen(s), &addr, &error), 0);
	assert_string_equal(addr.local, "\"Jean Dupont\""); /* verbatim */
	assert_key("\"Jean Dupont\"@x.fr", "\"jean dupont\"@x.fr");
	/* unnecessary quotes and escapes vanish from the key: one BAL, one key */
	assert_key("\"jean.dupont\"@x.fr", "jean.dupont@x.fr");
	assert_key("\"j\\ean\"@x.fr", "jean@x.fr");
	assert_key("\"a@b\"@x.fr", "\"a@b\"@x.fr");
	assert_key("\"a\\\"b\"@x.fr", "\"a\\\"b\"@x.fr");
	assert_key("\"a\\\\b\"@x.fr", "\"a\\\\b\"@x.fr");
	assert_key("\"a..b\"@x.fr", "\"a..b\"@x.fr");
	assert_key("\"\"@x.fr", "\"\"@x.fr");
	/* hostile quoted forms */
	assert_key("\"abc@x.fr", NULL);	  /* unbalanced */
	assert_key("\"abc\"x@x.fr", NULL); /* text after the quotes */
	assert_key("\"a\\\"@x.fr", NULL);   /* the only quote is escaped */
	assert_key("\"a\tb\"@x.fr", NULL);
	assert_key("\"a\\\x01\"@x.fr", NULL);
	assert_key("\"\xc3\xa9\"@x.fr", NULL);
}

static void test_addr_refused(void **state)
{
	(void)state;
	assert_key("", NULL);
	assert_key("<>", NULL);
	assert_key("<", NULL);
	assert_key("<a@b.fr", NULL);
	assert_key("a@b.fr>", NULL);
	assert_key("<<a@b.fr>>", NULL);
	assert_key("a", NULL);
	assert_key("a@", NULL);
	assert_key("@b.fr", NULL);
	assert_key("<@relay.fr:a@b.fr>", NULL);
	assert_key("a@@b.fr", NULL);
	assert_key("a@b@c.fr", NULL);
	assert_key(".a@b.fr", NULL);
	assert_key("a.@b.fr", NULL);
	assert_key("a..b@b.fr", NULL);
	assert_key("a b@b.fr", NULL);
	assert_key(" a@b.fr", NULL);
	assert_key("a@b.fr ", NULL);
	assert_key("a(comment)@b.fr", NULL);
	assert_key("a@[127.0.0.1]", NULL);
	assert_key("a@b..fr", NULL);
	assert_key("a@.b.fr", NULL);
	assert_key("a@b.fr..", NULL);
	assert_key("a@-b.fr", NULL);
	assert_key("a@b-.fr", NULL);
	assert_key("a@b_c.fr", NULL);
	assert_key("a@b.fr\r\nRCPT TO:<x@y.fr>", NULL);
	assert_key("a\n@b.fr", NULL);
	assert_key("a@b.fr\r", NULL);
	assert_key("\x7f@b.fr", NULL);
	assert_key("a@b\x01.fr", NULL);
	/* 8-bit: MSSanté does not use SMTPUTF8; invalid UTF-8 is refused the same way */
	assert_key("j\xc3\xa9r\xc3\xb4me@b.fr", NULL);
	assert_key("a@h\xc3\xb4pital.fr", NULL);
	assert_key("a\xff@b.fr", NULL);
	assert_key("a\xc3@b.fr", NULL);
	assert_key("a@b.fr\xc0\xaf", NULL);
}

static void test_addr_embedded_nul(void **state)
{
	static const char s[] = "a@b.fr\0@evil.fr";
	char out[MSS_ADDR_MAX + 1];
	const char *error = NULL;
	struct mss_addr addr;

	(void)state;
	assert_int_equal(mss_addr_normalize(s, sizeof(s) - 1, out, sizeof(out), &error), -1);
	assert_string_equal(error, "NUL in address");
	assert_int_equal(mss_addr_parse("\0", 1, &addr, &error), -1);
	/* the length decides, not the terminator: a prefix of a longer buffer is fine */
	assert_int_equal(mss_addr_normalize("a@b.frXXX", 6, out, sizeof(out), &error), 0);
	assert_string_equal(out, "a@b.fr");
	/* NULL error_r is allowed */
	assert_int_equal(mss_addr_normalize("a", 1, out, sizeof(out), NULL), -1);
}

static void make_string(char *buf, char c, size_t n)
{
	memset(buf, c, n);
	buf[n] = '\0';
}

static void test_addr_lengths(void **state)
{
	char local[100], label[100], addr[600], domain[400];
	char out[MSS_ADDR_MAX + 1];
	const char *error = NULL;

	(void)state;
	/* local part: 64 ok, 65 refused */
	make_string(local, 'a', 64);
	snprintf(addr, sizeof(addr), "%s@b.fr", local);
	assert_key(addr, addr);
	make_string(local, 'a', 65);
	snprintf(addr, sizeof(addr), "%s@b.fr", local);
	assert_key(addr, NULL);
	/* quoted local part: 64 octets including the quotes */
	make_string(local, 'a', 62);
	snprintf(addr, sizeof(addr), "\"%s\"@b.fr", local);
	{
		char expected[200];

		snprintf(expected, sizeof(expected), "%s@b.fr", local);
		assert_key(addr, expected); /* dot-string content: unquoted */
	}
	make_string(local, 'a', 63);
	snprintf(addr, sizeof(addr), "\"%s\"@b.fr", local);
	assert_key(addr, NULL);

	/* label: 63 ok, 64 refused */
	make_string(label, 'x', 63);
	snprintf(addr, sizeof(addr), "a@%s.fr", label);
	assert_key(addr, addr);
	make_string(label, 'x', 64);
	snprintf(addr, sizeof(addr), "a@%s.fr", label);
	assert_key(addr, NULL);

	/* whole address: 254 ok, 255 refused (domain of 63-octet labels) */
	make_string(label, 'x', 63);
	snprintf(domain, sizeof(domain), "%s.%s.%s.%s", label, label, label, "abcdefghijklmnopqrstuvwxyz");
	/* domain = 3*64 + 26 = 218 octets; local of 35 gives 35 + 1 + 218 = 254 */
	make_string(local, 'a', 35);
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	assert_int_equal(strlen(addr), 254);
	assert_key(addr, addr);
	snprintf(addr, sizeof(addr), "<%s@%s.>", local, domain); /* brackets and dot don't count */
	assert_int_equal(mss_addr_normalize(addr, strlen(addr), out, sizeof(out), &error), 0);
	assert_int_equal(strlen(out), 254);
	make_string(local, 'a', 36);
	snprintf(addr, sizeof(addr), "%s@%s", local, domain);
	assert_key(addr, NULL);

	/* overlong garbage */
	memset(addr, 'a', sizeof(addr) - 1);
	addr[sizeof(addr) - 1] = '\0';
	assert_key(addr, NULL);
	addr[300] = '@';
	assert_key(addr, NULL);
}

static void test_addr_key_buffer(void **state)
{
	struct mss_addr addr;
	char out[16];
	const char *error = NULL;

	(void)state;
	assert_int_equal(mss_addr_parse("abcd@ef.fr", 10, &addr, &error), 0);
	assert_int_equal(mss_addr_key(&addr, out, 10), 0); /* no room for the NUL */
	assert_string_equal(out, "");
	assert_int_equal(mss_addr_key(&addr, out, 0), 0);
	assert_int_equal(mss_addr_normalize("abcd@ef.fr", 10, out, 10, &error), -1);
	assert_int_equal(mss_addr_normalize("abcd@ef.fr", 10, out, 11, &error), 0);
	assert_string_equal(out, "abcd@ef.fr");
	assert_int_equal(mss_addr_parse("ab@ef.fr", 8, &addr, &error), 0);
	assert_int_equal(mss_addr_key(&addr, out, 9), 8);
	assert_string_equal(out, "ab@ef.fr");
}

static void assert_domain(const char *s, const char *expected)
{
	char out[MSS_ADDR_DOMAIN_MAX + 1];
	const char *error = NULL;
	int ret = mss_domain_normalize(s, strlen(s), out, sizeof(out), &error);

	if (expected == NULL) {
		if (ret == 0)
			fail_msg("accepted domain \"%s\"", s);
		assert_non_null(error);
	} else {
		if (ret != 0)
			fail_msg("refused domain \"%s\": %s", s, error);
		assert_string_equal(out, expected);
	}
}

static void test_domain_normalize(void **state)
{
	char domain[400], out[MSS_ADDR_DOMAIN_MAX + 1];
	const char *error = NULL;

	(void)state;
	assert_domain("MSSANTE.FR", "mssante.fr");
	assert_domain("ch-Exemple.MSSante.fr.", "ch-exemple.mssante.fr");
	assert_domain("interop-mssante.apicrypt.org", "interop-mssante.apicrypt.org");
	assert_domain("xn--hpital-rva.fr", "xn--hpital-rva.fr");
	assert_domain("a", "a");
	assert_domain("", NULL);
	assert_domain(".", NULL);
	assert_domain("..", NULL);
	assert_domain("a..b", NULL);
	assert_domain(".a", NULL);
	assert_domain("a.b..", NULL);
	assert_domain("[1.2.3.4]", NULL);
	assert_domain("a b.fr", NULL);
	assert_domain("a\r\n.fr", NULL);
	assert_domain("a@b.fr", NULL);
	assert_domain("h\xc3\xb4pital.fr", NULL);
	assert_int_equal(mss_domain_normalize("a.fr\0x", 6, out, sizeof(out), &error), -1);
	assert_string_equal(error, "NUL in domain");
	/* 255 octets ok (+ trailing dot), 256 refused */
	memset(domain, 'a', 255);
	for (size_t i = 63; i < 255; i += 64)
		domain[i] = '.';
	domain[255] = '\0';
	assert_domain(domain, domain);
	domain[255] = '.';
	domain[256] = '\0';
	assert_int_equal(mss_domain_normalize(domain, 256, out, sizeof(out), &error), 0);
	domain[255] = 'a';
	assert_domain(domain, NULL);
	/* output buffer too small */
	assert_int_equal(mss_domain_normalize("abc.fr", 6, out, 6, &error), -1);
	assert_int_equal(mss_domain_normalize("abc.fr", 6, out, 7, &error), 0);
}

static void test_domain_equal_within(void **state)
{
	(void)state;
	assert_true(mss_domain_equal("mssante.fr", "MSSANTE.FR"));
	assert_true(mss_domain_equal("mssante.fr.", "mssante.fr"));
	assert_true(mss_domain_equal("mssante.fr", "MSSante.fr."));
	assert_false(mss_domain_equal("mssante.fr..", "mssante.fr"));
	assert_false(mss_domain_equal("mssante.fr", "mssante.f"));
	assert_false(mss_domain_equal("mssante.fr", "xmssante.fr"));
	assert_true(mss_domain_equal("", ""));

	assert_true(mss_domain_within("hopital.mssante.fr", "mssante.fr"));
	assert_true(mss_domain_within("a.b.MSSANTE.fr.", "mssante.fr"));
	assert_true(mss_domain_within("mssante.fr", "MSSANTE.FR."));
	assert_true(mss_domain_within("patient.mssante.fr", "patient.mssante.fr"));
	assert_false(mss_domain_within("evilmssante.fr", "mssante.fr"));
	assert_false(mss_domain_within("mssante.fr.evil.com", "mssante.fr"));
	assert_false(mss_domain_within("mssante.fr", "hopital.mssante.fr"));
	assert_false(mss_domain_within("fr", "mssante.fr"));
	assert_false(mss_domain_within("mssante.fr", ""));
	assert_false(mss_domain_within("mssante.fr", "."));
	assert_false(mss_domain_within("", "fr"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_addr_simple),
		cmocka_unit_test(test_addr_parse_fields),
		cmocka_unit_test(test_addr_quoted),
		cmocka_unit_test(test_addr_refused),
		cmocka_unit_test(test_addr_embedded_nul),
		cmocka_unit_test(test_addr_lengths),
		cmocka_unit_test(test_addr_key_buffer),
		cmocka_unit_test(test_domain_normalize),
		cmocka_unit_test(test_domain_equal_within),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
