/* Unit tests of the mapping rules of libnss_mss (nss/nss_fill.c): which names may be users,
 * the home directory template, and the packing of entries into small buffers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "../../nss/nss_fill.c"

static struct mss_slice sl(const char *s)
{
	struct mss_slice x = {s, strlen(s)};

	return x;
}

static bool name_ok(const char *s)
{
	return nss_name_ok(s, strlen(s));
}

static void test_names(void **state)
{
	char long_local[80], long_name[300];

	(void)state;
	assert_true(name_ok("jean.martin@hopital-test.mssante.fr"));
	assert_true(name_ok("a+b=c_d-e9@x.fr"));
	assert_true(name_ok("a@b"));
	assert_false(name_ok(""));
	assert_false(name_ok("root"));
	assert_false(name_ok("a@"));
	assert_false(name_ok("@b.fr"));
	assert_false(name_ok("Jean@b.fr"));	 /* the snapshot holds lower case only */
	assert_false(name_ok(".a@b.fr"));
	assert_false(name_ok("a.@b.fr"));
	assert_false(name_ok("a..b@c.fr"));
	assert_false(name_ok("-rf@b.fr"));	 /* an option to whatever gets the name */
	assert_false(name_ok("a/b@c.fr"));	 /* a path separator in the home directory */
	assert_false(name_ok("o'neil@c.fr"));
	assert_false(name_ok("a:b@c.fr"));	 /* a passwd field separator */
	assert_false(name_ok("a b@c.fr"));
	assert_false(name_ok("a@b@c.fr"));
	assert_false(name_ok("a@-b.fr"));
	assert_false(name_ok("a@.b.fr"));
	assert_false(name_ok("a@b..fr"));
	assert_false(name_ok("a@b.fr."));
	assert_false(name_ok("a@b_c.fr"));
	assert_false(name_ok("a@b+c.fr"));
	assert_false(name_ok("\xc3\xa9@b.fr"));
	assert_false(nss_name_ok("a@b\0c", 5));
	memset(long_local, 'a', 65);
	strcpy(long_local + 65, "@b.fr");
	assert_false(name_ok(long_local));
	long_local[64] = '@';
	long_local[65] = 'b';
	long_local[66] = '\0';
	assert_true(name_ok(long_local + 1)); /* 63 + '@' + 1 */
	memset(long_name, 'b', sizeof(long_name));
	memcpy(long_name, "a@", 2);
	long_name[MSS_ADDR_MAX + 1] = '\0';
	assert_false(name_ok(long_name));
	long_name[MSS_ADDR_MAX] = '\0';
	assert_true(name_ok(long_name));
}

static void test_may_be_address(void **state)
{
	size_t len;

	(void)state;
	assert_true(nss_may_be_address("x@y", &len));
	assert_int_equal(len, 3);
	assert_false(nss_may_be_address("root", &len));
	assert_false(nss_may_be_address("", &len));
}

static void test_home_template(void **state)
{
	(void)state;
	assert_true(nss_home_template_ok("/var/vmail/%d/%n"));
	assert_true(nss_home_template_ok("/home/%u"));
	assert_true(nss_home_template_ok("/h/100%%/%n"));
	assert_true(nss_home_template_ok("/h/.dir/%n"));
	assert_false(nss_home_template_ok(NULL));
	assert_false(nss_home_template_ok(""));
	assert_false(nss_home_template_ok("var/vmail/%n"));
	assert_false(nss_home_template_ok("/var/../%n"));
	assert_false(nss_home_template_ok("/var/./%n"));
	assert_false(nss_home_template_ok("/var/.."));
	assert_false(nss_home_template_ok("/var//%n"));
	assert_false(nss_home_template_ok("/var/%x"));
	assert_false(nss_home_template_ok("/var/%"));
}

static void test_home_expansion(void **state)
{
	const char *addr = "jean.martin@hopital.fr";
	const char *want = "/v/hopital.fr/jean.martin/jean.martin@hopital.fr/%";
	char buf[128];

	(void)state;
	for (size_t len = 0; len < sizeof(buf) - 8; len++) {
		struct nss_buf b = {buf, len};
		char *home;

		memset(buf, 'Z', sizeof(buf));
		home = nss_buf_home(&b, "/v/%d/%n/%u/%%", addr, strlen(addr));
		if (len < strlen(want) + 1) {
			assert_null(home);
			assert_int_equal(buf[len], 'Z'); /* nothing past the buffer */
			continue;
		}
		assert_non_null(home);
		assert_string_equal(home, want);
		assert_int_equal(b.left, len - strlen(want) - 1);
	}
}

static void test_gecos(void **state)
{
	char buf[64];
	struct nss_buf b = {buf, sizeof(buf)};

	(void)state;
	assert_string_equal(nss_buf_gecos(&b, "Dupont: Jean, Dr", 16), "Dupont  Jean  Dr");
	b.p = buf;
	b.left = 3;
	assert_null(nss_buf_gecos(&b, "abc", 3));
}

static void test_list(void **state)
{
	struct mss_slice item;
	size_t off = 0;
	struct mss_slice l = sl("a,,bc,");

	(void)state;
	assert_true(nss_list_next(l, &off, &item));
	assert_int_equal(item.len, 1);
	assert_true(nss_list_next(l, &off, &item));
	assert_int_equal(item.len, 0);
	assert_true(nss_list_next(l, &off, &item));
	assert_int_equal(item.len, 2);
	assert_memory_equal(item.p, "bc", 2);
	assert_false(nss_list_next(l, &off, &item));
	off = 0;
	assert_false(nss_list_next(sl(""), &off, &item));
}

static void test_finish(void **state)
{
	(void)state;
	/* glibc passes &errno: a failure must leave *errnop set, a success the caller's errno. */
	errno = 0;
	assert_int_equal(nss_finish(NSS_STATUS_TRYAGAIN, ERANGE, 7, &errno), NSS_STATUS_TRYAGAIN);
	assert_int_equal(errno, ERANGE);
	errno = 0;
	assert_int_equal(nss_finish(NSS_STATUS_SUCCESS, ERANGE, 7, &errno), NSS_STATUS_SUCCESS);
	assert_int_equal(errno, 7);
}

/* ---- entries ---- */

struct fixture {
	struct nss_view view;
	struct mss_bal bal;
};

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (f == NULL || (f->view.cfg = mss_config_defaults()) == NULL)
		return -1;
	f->view.uid_min = 200000;
	f->view.uid_max = 299999999;
	f->view.gid = 8;
	f->view.home_template = "/var/vmail/%d/%n";
	f->view.shell = "/usr/sbin/nologin";
	f->bal.address = sl("cardiologie@hopital.fr");
	f->bal.type = sl("ORG");
	f->bal.name = sl("Cardiologie: Service");
	f->bal.status = 'A';
	f->bal.source = 'L';
	f->bal.uid = 200123;
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	mss_config_free(f->view.cfg);
	free(f);
	return 0;
}

static void test_passwd(void **state)
{
	struct fixture *f = *state;
	struct passwd pw;
	char buf[256];
	int err = 0;

	assert_int_equal(nss_fill_passwd(&f->view, &f->bal, &pw, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_string_equal(pw.pw_name, "cardiologie@hopital.fr");
	assert_string_equal(pw.pw_passwd, "*");
	assert_int_equal(pw.pw_uid, 200123);
	assert_int_equal(pw.pw_gid, 8);
	assert_string_equal(pw.pw_gecos, "Cardiologie  Service");
	assert_string_equal(pw.pw_dir, "/var/vmail/hopital.fr/cardiologie");
	assert_string_equal(pw.pw_shell, "/usr/sbin/nologin");
}

static void test_passwd_small_buffers(void **state)
{
	struct fixture *f = *state;
	size_t need = 0;

	for (size_t len = 0; len < 256; len++) {
		char *buf = malloc(len + 16);
		struct passwd pw;
		int err = 0;
		enum nss_status s;

		memset(buf, 'Z', len + 16);
		s = nss_fill_passwd(&f->view, &f->bal, &pw, buf, len, &err);
		for (size_t i = len; i < len + 16; i++)
			assert_int_equal(buf[i], 'Z');
		free(buf);
		if (s == NSS_STATUS_SUCCESS) {
			need = len;
			break;
		}
		assert_int_equal(s, NSS_STATUS_TRYAGAIN);
		assert_int_equal(err, ERANGE);
	}
	assert_true(need > 0);
}

static void test_passwd_rules(void **state)
{
	struct fixture *f = *state;
	struct mss_bal b;
	struct passwd pw;
	char buf[256];
	int err = 0;

	b = f->bal;
	b.status = 'S';
	assert_int_equal(nss_fill_passwd(&f->view, &b, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_int_equal(err, ENOENT);
	b = f->bal;
	b.uid = MSS_SNAPSHOT_NO_UID;
	assert_int_equal(nss_fill_passwd(&f->view, &b, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	b.uid = 199999;
	assert_int_equal(nss_fill_passwd(&f->view, &b, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	b.uid = 300000000;
	assert_int_equal(nss_fill_passwd(&f->view, &b, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	b = f->bal;
	b.type = sl("CAB");
	assert_int_equal(nss_fill_passwd(&f->view, &b, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	b = f->bal;
	b.address = sl("a/b@hopital.fr");
	assert_int_equal(nss_fill_passwd(&f->view, &b, &pw, buf, sizeof(buf), &err), NSS_STATUS_NOTFOUND);
	assert_true(nss_bal_is_group(&f->view, &f->bal));
	b = f->bal;
	b.type = sl("PER");
	assert_false(nss_bal_is_group(&f->view, &b));
	assert_true(nss_bal_is_user(&f->view, &b));
}

static void test_group(void **state)
{
	struct fixture *f = *state;
	struct group gr;
	char buf[512];
	int err = 0;

	assert_int_equal(nss_fill_group(&f->bal, sl("a@h.fr,b/x@h.fr,,c@h.fr"), &gr, buf, sizeof(buf), &err),
			 NSS_STATUS_SUCCESS);
	assert_string_equal(gr.gr_name, "cardiologie@hopital.fr");
	assert_string_equal(gr.gr_passwd, "*");
	assert_int_equal(gr.gr_gid, 200123);
	assert_string_equal(gr.gr_mem[0], "a@h.fr");
	assert_string_equal(gr.gr_mem[1], "c@h.fr");
	assert_null(gr.gr_mem[2]);
	assert_int_equal((uintptr_t)gr.gr_mem % alignof(char *), 0);
	assert_int_equal(nss_fill_group(&f->bal, sl(""), &gr, buf, sizeof(buf), &err), NSS_STATUS_SUCCESS);
	assert_null(gr.gr_mem[0]);
}

static void test_group_small_buffers(void **state)
{
	struct fixture *f = *state;
	bool done = false;

	for (size_t len = 0; len < 512 && !done; len++) {
		char *buf = malloc(len + 16);
		struct group gr;
		int err = 0;
		enum nss_status s;

		memset(buf, 'Z', len + 16);
		s = nss_fill_group(&f->bal, sl("a@h.fr,bb@h.fr"), &gr, buf, len, &err);
		for (size_t i = len; i < len + 16; i++)
			assert_int_equal(buf[i], 'Z');
		if (s == NSS_STATUS_SUCCESS) {
			assert_string_equal(gr.gr_mem[1], "bb@h.fr");
			done = true;
		} else {
			assert_int_equal(s, NSS_STATUS_TRYAGAIN);
			assert_int_equal(err, ERANGE);
		}
		free(buf);
	}
	assert_true(done);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test(test_may_be_address),
		cmocka_unit_test(test_home_template),
		cmocka_unit_test(test_home_expansion),
		cmocka_unit_test(test_gecos),
		cmocka_unit_test(test_list),
		cmocka_unit_test(test_finish),
		cmocka_unit_test_setup_teardown(test_passwd, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passwd_small_buffers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_passwd_rules, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group, setup, teardown),
		cmocka_unit_test_setup_teardown(test_group_small_buffers, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
