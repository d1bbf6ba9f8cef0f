/* Unit tests of common/access.c: a small snapshot written with the real writer, then every
   outcome of the access rule (enum mss_access) for persons and applications. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "access.h"
#include "dn.h"
#include "snapshot.h"

#define HOLDER "810003461033"	/* holder of per@, delegate of org@ and cab@ */
#define OTHER "810100000017"	/* active, delegate of nothing */
#define SUSPENDED "810100000033" /* suspended person, holder of susp-person@ */
#define GHOST "810100000099"	/* owner of ghost@ but not in the hospital's directory */
#define APP_DN "CN=dpi.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR"

static char dir[256], path[300];
static struct mss_snapshot *snap;
static char app_norm[MSS_DN_MAX];

static void put(struct mss_snapshot_writer *w, char kind, const char *key, const char *value)
{
	char err[256];

	if (mss_snapshot_put(w, kind, key, strlen(key), value, strlen(value), err, sizeof(err)) < 0)
		fail_msg("put %c %s: %s", kind, key, err);
}

static void bal(struct mss_snapshot_writer *w, const char *addr, const char *type, const char *status,
		const char *source, const char *owner, const char *delegates, const char *app)
{
	const char *f[] = {type, status, "", source, owner, "name", delegates, app, ""};
	char err[256];

	if (mss_snapshot_put_fields(w, 'B', addr, f, 9, err, sizeof(err)) < 0)
		fail_msg("bal %s: %s", addr, err);
}

static int setup(void **state)
{
	const char *tmp = getenv("TMPDIR"), *why;
	struct mss_snapshot_writer *w;
	char err[256];

	(void)state;
	snprintf(dir, sizeof(dir), "%s/test_access.XXXXXX", tmp != NULL && *tmp != '\0' ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/s.cdb", dir);
	if (mss_dn_normalize_str(APP_DN, strlen(APP_DN), app_norm, sizeof(app_norm), &why) < 0)
		return -1;
	if (mss_snapshot_writer_open(path, &w, err, sizeof(err)) < 0)
		return -1;
	put(w, 'M', "format", MSS_SNAPSHOT_FORMAT);
	put(w, 'M', "built", "1700000000");
	bal(w, "per@example.fr", "PER", "A", "L", HOLDER, "", "");
	bal(w, "org@example.fr", "ORG", "A", "L", "", HOLDER "," SUSPENDED, "");
	bal(w, "cab@example.fr", "CAB", "A", "L", "", "810000000002," HOLDER, "");
	bal(w, "app@example.fr", "APP", "A", "L", "", "", app_norm);
	bal(w, "app-nosubject@example.fr", "APP", "A", "L", "", "", "");
	bal(w, "suspended@example.fr", "PER", "S", "L", HOLDER, "", "");
	bal(w, "national@other.fr", "PER", "A", "X", HOLDER, "", "");
	bal(w, "susp-person@example.fr", "PER", "A", "L", SUSPENDED, "", "");
	bal(w, "ghost@example.fr", "PER", "A", "L", GHOST, "", "");
	bal(w, "odd@example.fr", "XYZ", "A", "L", HOLDER, "", "");
	put(w, 'P', HOLDER, "A\tJean Martin\tuid=jmartin,ou=people,dc=example,dc=fr\tper@example.fr");
	put(w, 'P', OTHER, "A\tSophie Durand\tuid=sdurand,ou=people,dc=example,dc=fr\t");
	put(w, 'P', SUSPENDED, "S\tAlice Leroy\tuid=aleroy,ou=people,dc=example,dc=fr\tsusp-person@example.fr");
	/* a corrupt record: one field missing */
	put(w, 'P', "810100000041", "A\tno dn");
	bal(w, "corrupt-person@example.fr", "PER", "A", "L", "810100000041", "", "");
	put(w, 'B', "corrupt@example.fr", "PER\tA");
	if (mss_snapshot_writer_commit(w, err, sizeof(err)) < 0) {
		mss_snapshot_writer_abort(w);
		return -1;
	}
	return mss_snapshot_open(path, MSS_SNAPSHOT_ANY_OWNER, &snap, err, sizeof(err));
}

static int teardown(void **state)
{
	(void)state;
	mss_snapshot_close(snap);
	unlink(path);
	rmdir(dir);
	return 0;
}

static void expect_person(const char *addr, const char *idnat, enum mss_access want)
{
	enum mss_access got = mss_access_person(snap, addr, idnat, NULL);

	if (got != want)
		fail_msg("person %s on %s: %s, expected %s", idnat != NULL ? idnat : "(null)", addr,
			 mss_access_code(got), mss_access_code(want));
}

static void expect_app(const char *addr, const char *dn, enum mss_access want)
{
	enum mss_access got = mss_access_application(snap, addr, dn, NULL);

	if (got != want)
		fail_msg("application %s on %s: %s, expected %s", dn != NULL ? dn : "(null)", addr,
			 mss_access_code(got), mss_access_code(want));
}

static void test_person_allowed(void **state)
{
	struct mss_bal b;

	(void)state;
	expect_person("per@example.fr", HOLDER, MSS_ACCESS_ALLOW);
	expect_person("org@example.fr", HOLDER, MSS_ACCESS_ALLOW);
	expect_person("cab@example.fr", HOLDER, MSS_ACCESS_ALLOW);
	/* the BAL record comes back with the answer */
	memset(&b, 0, sizeof(b));
	assert_int_equal(mss_access_person(snap, "org@example.fr", HOLDER, &b), MSS_ACCESS_ALLOW);
	assert_int_equal(b.type.len, 3);
	assert_memory_equal(b.type.p, "ORG", 3);
	/* the lookup lower-cases the address */
	expect_person("PER@Example.FR", HOLDER, MSS_ACCESS_ALLOW);
}

static void test_person_refused(void **state)
{
	struct mss_bal b;

	(void)state;
	expect_person("nobody@example.fr", HOLDER, MSS_ACCESS_UNKNOWN_BAL);
	expect_person("suspended@example.fr", HOLDER, MSS_ACCESS_SUSPENDED_BAL);
	expect_person("national@other.fr", HOLDER, MSS_ACCESS_NOT_LOCAL_BAL);
	expect_person("ghost@example.fr", GHOST, MSS_ACCESS_UNKNOWN_PERSON);
	expect_person("org@example.fr", "810999999999", MSS_ACCESS_UNKNOWN_PERSON);
	expect_person("susp-person@example.fr", SUSPENDED, MSS_ACCESS_SUSPENDED_PERSON);
	/* a suspended delegate is refused even on a BAL that lists them */
	expect_person("org@example.fr", SUSPENDED, MSS_ACCESS_SUSPENDED_PERSON);
	expect_person("per@example.fr", OTHER, MSS_ACCESS_NOT_OWNER);
	expect_person("org@example.fr", OTHER, MSS_ACCESS_NOT_DELEGATE);
	expect_person("cab@example.fr", OTHER, MSS_ACCESS_NOT_DELEGATE);
	expect_person("app@example.fr", HOLDER, MSS_ACCESS_APP_NOT_A_PERSON);
	/* the BAL is returned even when access is refused */
	memset(&b, 0, sizeof(b));
	assert_int_equal(mss_access_person(snap, "app@example.fr", HOLDER, &b), MSS_ACCESS_APP_NOT_A_PERSON);
	assert_memory_equal(b.type.p, "APP", 3);
	/* a prefix of a delegate's id is not that delegate */
	expect_person("org@example.fr", "81000346103", MSS_ACCESS_UNKNOWN_PERSON);
}

static void test_person_errors(void **state)
{
	(void)state;
	expect_person("per@example.fr", NULL, MSS_ACCESS_ERROR);
	expect_person("per@example.fr", "", MSS_ACCESS_ERROR);
	/* a comma would let one id match two list items */
	expect_person("org@example.fr", HOLDER ",810000000002", MSS_ACCESS_ERROR);
	assert_int_equal(mss_access_person(NULL, "per@example.fr", HOLDER, NULL), MSS_ACCESS_ERROR);
	assert_int_equal(mss_access_person(snap, NULL, HOLDER, NULL), MSS_ACCESS_ERROR);
	expect_person("corrupt@example.fr", HOLDER, MSS_ACCESS_ERROR);
	expect_person("corrupt-person@example.fr", "810100000041", MSS_ACCESS_ERROR);
	/* a BAL type the rule does not know: never allowed */
	expect_person("odd@example.fr", HOLDER, MSS_ACCESS_ERROR);
}

static void test_application(void **state)
{
	(void)state;
	expect_app("app@example.fr", APP_DN, MSS_ACCESS_ALLOW);
	/* any RFC 4514 spelling of the same DN (spaces, L= for ST=) */
	expect_app("app@example.fr", "CN=dpi.hopital-test.fr, OU=31234567800019, O=CH TEST, L=Paris (75), C=FR",
		   MSS_ACCESS_ALLOW);
	expect_app("app@example.fr", "CN=evil.hopital-test.fr,OU=31234567800019,O=CH TEST,ST=Paris (75),C=FR",
		   MSS_ACCESS_WRONG_APP);
	expect_app("app-nosubject@example.fr", APP_DN, MSS_ACCESS_WRONG_APP);
	expect_app("per@example.fr", APP_DN, MSS_ACCESS_NOT_AN_APP);
	expect_app("org@example.fr", APP_DN, MSS_ACCESS_NOT_AN_APP);
	expect_app("nobody@example.fr", APP_DN, MSS_ACCESS_UNKNOWN_BAL);
	expect_app("suspended@example.fr", APP_DN, MSS_ACCESS_SUSPENDED_BAL);
	expect_app("national@other.fr", APP_DN, MSS_ACCESS_NOT_LOCAL_BAL);
	expect_app("app@example.fr", NULL, MSS_ACCESS_ERROR);
	expect_app("app@example.fr", "CN=\"unbalanced", MSS_ACCESS_ERROR);
	expect_app("corrupt@example.fr", APP_DN, MSS_ACCESS_ERROR);
	assert_int_equal(mss_access_application(NULL, "app@example.fr", APP_DN, NULL), MSS_ACCESS_ERROR);
}

static void test_texts(void **state)
{
	(void)state;
	for (int a = MSS_ACCESS_ALLOW; a <= MSS_ACCESS_ERROR; a++) {
		const char *code = mss_access_code((enum mss_access)a);
		const char *reason = mss_access_reason((enum mss_access)a);

		assert_non_null(code);
		assert_non_null(reason);
		assert_true(strlen(code) > 0 && strlen(reason) > strlen(code) / 2);
		assert_null(strchr(code, ' '));
		for (int b = MSS_ACCESS_ALLOW; b < a; b++)
			assert_string_not_equal(code, mss_access_code((enum mss_access)b));
	}
	assert_string_equal(mss_access_code(MSS_ACCESS_NOT_DELEGATE), "not_delegate");
	assert_string_equal(mss_access_code((enum mss_access)-1), "internal_error");
	assert_string_equal(mss_access_code((enum mss_access)1000), "internal_error");
	assert_string_equal(mss_access_reason((enum mss_access)1000), mss_access_reason(MSS_ACCESS_ERROR));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_person_allowed),
		cmocka_unit_test(test_person_refused),
		cmocka_unit_test(test_person_errors),
		cmocka_unit_test(test_application),
		cmocka_unit_test(test_texts),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
