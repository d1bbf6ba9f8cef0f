/* Unit tests of common/header.c: one header field found in the raw first block of a message,
 * as the Dovecot plugin takes the Message-ID of a message being read. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "header.h"

/* mss_header_find on TEXT; the value (when found) in OUT. */
static int find(const char *text, const char *name, char *out, size_t outlen)
{
	const unsigned char *value = NULL;
	size_t len = 0;
	int r = mss_header_find((const unsigned char *)text, strlen(text), name, &value, &len);

	out[0] = '\0';
	if (r == 1) {
		assert_true(value >= (const unsigned char *)text && value + len <= (const unsigned char *)text + strlen(text));
		assert_true(len < outlen);
		memcpy(out, value, len);
		out[len] = '\0';
	}
	return r;
}

static void test_found(void **state)
{
	char v[256];

	(void)state;
	assert_int_equal(find("From: a@b\r\nMessage-ID: <x@y>\r\nTo: c@d\r\n\r\nbody", "Message-ID", v, sizeof(v)), 1);
	assert_string_equal(v, " <x@y>\r");
	/* LF only, any case, blanks before the colon (obsolete syntax) */
	assert_int_equal(find("message-id : <x@y>\nSubject: s\n\n", "Message-ID", v, sizeof(v)), 1);
	assert_string_equal(v, " <x@y>");
	/* the first of two */
	assert_int_equal(find("Message-ID: <1@y>\nMessage-ID: <2@y>\n\n", "Message-ID", v, sizeof(v)), 1);
	assert_string_equal(v, " <1@y>");
}

static void test_folded(void **state)
{
	char v[256];

	(void)state;
	assert_int_equal(find("Message-ID:\r\n <x@y>\r\nTo: a@b\r\n\r\n", "Message-ID", v, sizeof(v)), 1);
	assert_string_equal(v, "\r\n <x@y>\r");
	assert_int_equal(find("Message-ID: <x\n\t@y>\n\n", "Message-ID", v, sizeof(v)), 1);
	assert_string_equal(v, " <x\n\t@y>");
}

static void test_absent(void **state)
{
	char v[256];

	(void)state;
	assert_int_equal(find("From: a@b\r\nTo: c@d\r\n\r\nMessage-ID: <in the body>\r\n", "Message-ID", v, sizeof(v)), 0);
	assert_int_equal(find("\r\nMessage-ID: <x@y>\r\n", "Message-ID", v, sizeof(v)), 0);
	assert_int_equal(find("\n", "Message-ID", v, sizeof(v)), 0);
	/* look-alikes are other fields */
	assert_int_equal(find("X-Message-ID: <x@y>\nMessage-IDs: <z>\nMessage-ID-x: 1\n\n", "Message-ID", v, sizeof(v)), 0);
	/* a continuation line is not a field of its own */
	assert_int_equal(find("Subject: a\n Message-ID: <x@y>\n\n", "Message-ID", v, sizeof(v)), 0);
}

/* The block ends before the answer is known: -1, never a guess. */
static void test_block_too_short(void **state)
{
	char v[256];

	(void)state;
	assert_int_equal(find("", "Message-ID", v, sizeof(v)), -1);
	assert_int_equal(find("From: a@b\r\nTo: c", "Message-ID", v, sizeof(v)), -1);
	assert_int_equal(find("Message-ID: <x@y>", "Message-ID", v, sizeof(v)), -1);
	/* found, but the next line (which might continue it) is not in the block */
	assert_int_equal(find("Message-ID: <x@y>\n", "Message-ID", v, sizeof(v)), -1);
	assert_int_equal(find("Message-ID: <x\n @y>\n", "Message-ID", v, sizeof(v)), -1);
	assert_int_equal(find("From: a\r", "Message-ID", v, sizeof(v)), -1);
}

static void test_nul_and_binary(void **state)
{
	static const unsigned char text[] = "From: a\0b\nMessage-ID: <\xff\x01@y>\n\n";
	const unsigned char *value;
	size_t len;

	(void)state;
	assert_int_equal(mss_header_find(text, sizeof(text) - 1, "Message-ID", &value, &len), 1);
	assert_int_equal(len, 7);
	assert_memory_equal(value, " <\xff\x01@y>", 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_found),	     cmocka_unit_test(test_folded),
	    cmocka_unit_test(test_absent),	     cmocka_unit_test(test_block_too_short),
	    cmocka_unit_test(test_nul_and_binary),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
