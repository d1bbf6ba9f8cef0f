/* Unit tests for common/cert.c: certificates made in-process with OpenSSL, with the DN
   layouts of IGC-Santé (CPS card multi-valued RDN, operator server certificates). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "cert.h"
#include "dn.h"

#define MEDECIN "M\xc3\xa9" "decin"

static EVP_PKEY *test_key;

static int setup(void **state)
{
	(void)state;
	test_key = EVP_EC_gen("P-256");
	return test_key != NULL ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(test_key);
	return 0;
}

/* One name entry; set 0 starts a new RDN, -1 adds to the last one (multi-valued RDN).
   type is MBSTRING_UTF8, or a raw V_ASN1_* type to store hostile bytes unchecked. */
static void add_entry(X509_NAME *name, const char *field, int type, const char *value, int set)
{
	int ret = X509_NAME_add_entry_by_txt(name, field, type, (const unsigned char *)value,
					     (int)strlen(value), -1, set);

	assert_int_equal(ret, 1);
}

/* A name from RFC 4514 order entries given most specific first, like the trust list. */
static X509_NAME *operator_name(const char *cn, const char *ou, const char *o, const char *st_field,
				const char *st)
{
	X509_NAME *name = X509_NAME_new();

	assert_non_null(name);
	/* ASN.1 order is the reverse of the RFC 4514 string */
	add_entry(name, "C", MBSTRING_UTF8, "FR", 0);
	add_entry(name, st_field, MBSTRING_UTF8, st, 0);
	add_entry(name, "O", MBSTRING_UTF8, o, 0);
	add_entry(name, "OU", MBSTRING_UTF8, ou, 0);
	add_entry(name, "CN", MBSTRING_UTF8, cn, 0);
	return name;
}

static X509_NAME *cps_name(void)
{
	X509_NAME *name = X509_NAME_new();

	assert_non_null(name);
	add_entry(name, "C", MBSTRING_UTF8, "FR", 0);
	add_entry(name, "title", MBSTRING_UTF8, MEDECIN, 0);
	add_entry(name, "CN", MBSTRING_UTF8, "810003461033", 0);
	add_entry(name, "SN", MBSTRING_UTF8, "DUPONT", -1);
	add_entry(name, "GN", MBSTRING_UTF8, "JEAN", -1);
	return name;
}

static X509_NAME *fort_personnes_name(void)
{
	X509_NAME *name = X509_NAME_new();

	assert_non_null(name);
	add_entry(name, "C", MBSTRING_UTF8, "FR", 0);
	add_entry(name, "O", MBSTRING_UTF8, "ASIP-SANTE", 0);
	add_entry(name, "OU", MBSTRING_UTF8, "IGC-SANTE", 0);
	add_entry(name, "CN", MBSTRING_UTF8, "AC IGC-SANTE FORT PERSONNES", 0);
	return name;
}

/* A signed certificate with this subject and issuer (both consumed). */
static X509 *make_cert(X509_NAME *subject, X509_NAME *issuer)
{
	X509 *cert = X509_new();

	assert_non_null(cert);
	assert_int_equal(X509_set_version(cert, 2), 1);
	assert_int_equal(ASN1_INTEGER_set(X509_get_serialNumber(cert), 42), 1);
	assert_non_null(X509_gmtime_adj(X509_getm_notBefore(cert), 0));
	assert_non_null(X509_gmtime_adj(X509_getm_notAfter(cert), 3600));
	assert_int_equal(X509_set_subject_name(cert, subject), 1);
	assert_int_equal(X509_set_issuer_name(cert, issuer), 1);
	assert_int_equal(X509_set_pubkey(cert, test_key), 1);
	assert_true(X509_sign(cert, test_key, EVP_sha256()) > 0);
	X509_NAME_free(subject);
	X509_NAME_free(issuer);
	return cert;
}

static void test_cert_cps_card(void **state)
{
	X509 *cert = make_cert(cps_name(), fort_personnes_name());
	char dn_text[MSS_DN_MAX], idnat[21], cn[256];
	struct mss_dn dn;
	const char *error = NULL;

	(void)state;
	assert_int_equal(mss_cert_subject_dn(cert, dn_text, sizeof(dn_text)), 0);
	assert_string_equal(dn_text, "CN=810003461033+GN=JEAN+SN=DUPONT,TITLE=" MEDECIN ",C=FR");
	/* the same DN written as in the design (openssl req order) normalises equal */
	{
		char expected[MSS_DN_MAX];
		const char *s = "CN=810003461033+SN=DUPONT+GN=JEAN,title=" MEDECIN ",C=FR";

		assert_true(mss_dn_normalize_str(s, strlen(s), expected, sizeof(expected), &error) > 0);
		assert_string_equal(dn_text, expected);
	}
	assert_int_equal(mss_cert_issuer_dn(cert, dn_text, sizeof(dn_text)), 0);
	assert_string_equal(dn_text, "CN=AC IGC-SANTE FORT PERSONNES,OU=IGC-SANTE,O=ASIP-SANTE,C=FR");

	/* CPS identity from the certificate */
	assert_int_equal(mss_cert_subject_dn(cert, dn_text, sizeof(dn_text)), 0);
	assert_int_equal(mss_dn_parse(dn_text, strlen(dn_text), &dn, &error), 0);
	assert_int_equal(mss_dn_cps_idnat(&dn, idnat, sizeof(idnat), &error), 0);
	assert_string_equal(idnat, "810003461033");
	mss_dn_free(&dn);

	assert_int_equal(mss_x509_name_cn(X509_get_subject_name(cert), cn, sizeof(cn)), 0);
	assert_string_equal(cn, "810003461033");
	assert_int_equal(mss_x509_name_cn(X509_get_issuer_name(cert), cn, sizeof(cn)), 0);
	assert_string_equal(cn, "AC IGC-SANTE FORT PERSONNES");
	/* too small: exactly one byte short */
	assert_int_equal(mss_x509_name_cn(X509_get_issuer_name(cert), cn, 27), -1);
	assert_string_equal(cn, "");
	assert_int_equal(mss_x509_name_cn(X509_get_issuer_name(cert), cn, 28), 0);
	assert_int_equal(mss_cert_subject_dn(cert, dn_text, 10), -1);
	assert_string_equal(dn_text, "");
	X509_free(cert);
}

/* A certificate compares equal to its trust list entry, whatever the list's spelling. */
static void assert_matches_list(X509 *cert, const char *listed)
{
	char from_cert[MSS_DN_MAX], from_list[MSS_DN_MAX];
	const char *error = NULL;

	assert_int_equal(mss_cert_subject_dn(cert, from_cert, sizeof(from_cert)), 0);
	if (mss_dn_normalize_str(listed, strlen(listed), from_list, sizeof(from_list), &error) < 0)
		fail_msg("%s: %s", listed, error);
	assert_string_equal(from_cert, from_list);
}

static void test_cert_operator_vs_trust_list(void **state)
{
	X509 *cert;

	(void)state;
	cert = make_cert(operator_name("medimail-asip.mipih.fr", "318310021300028", "GIP MIPIH", "ST",
				       "Haute-Garonne (31)"),
			 fort_personnes_name());
	assert_matches_list(cert, "CN=medimail-asip.mipih.fr,OU=318310021300028,O=GIP MIPIH,ST=Haute-Garonne (31),C=FR");
	X509_free(cert);

	/* certificate says L=, list says ST= (or the reverse) */
	cert = make_cert(operator_name("mail.lifen.fr", "381234567800012", "LIFEN", "L", "Paris (75)"),
			 fort_personnes_name());
	assert_matches_list(cert, "CN=mail.lifen.fr,OU=381234567800012,O=LIFEN,ST=Paris (75),C=FR");
	assert_matches_list(cert, "CN=mail.lifen.fr,OU=381234567800012,O=LIFEN,L=Paris (75),C=FR");
	X509_free(cert);

	/* quotes in a value: OpenSSL escapes them, the list does not */
	cert = make_cert(operator_name("mss.strasbourg.unicancer.fr", "1670000033", "CRLCC \"PAUL STRAUSS\"",
				       "ST", "Bas-Rhin (67)"),
			 fort_personnes_name());
	assert_matches_list(cert, "CN=mss.strasbourg.unicancer.fr,OU=1670000033,O=CRLCC \"PAUL STRAUSS\",ST=Bas-Rhin (67),C=FR");
	X509_free(cert);

	/* double spaces, quoted in the list; UTF-8; spaces after commas */
	cert = make_cert(operator_name("mss.ch-cadillac.fr", "1330781295", "C.H. DE  CADILLAC", "ST",
				       "Gironde (33)"),
			 fort_personnes_name());
	assert_matches_list(cert, "CN=mss.ch-cadillac.fr,OU=1330781295,O=\"C.H. DE  CADILLAC\",ST=Gironde (33),C=FR");
	assert_matches_list(cert, "CN=mss.ch-cadillac.fr, OU=1330781295, O=C.H. DE  CADILLAC, ST=Gironde (33), C=FR");
	X509_free(cert);
	cert = make_cert(operator_name("esm.ahbretagne.com", "1220017974", "ASS, \"HOSP\"+ <X>; \\",
				       "ST", "C\xc3\xb4tes-d'Armor (22)"),
			 fort_personnes_name());
	assert_matches_list(cert, "CN=esm.ahbretagne.com,OU=1220017974,O=ASS\\, \"HOSP\"\\+ \\<X\\>\\; \\\\,ST=C\xc3\xb4tes-d'Armor (22),C=FR");
	X509_free(cert);
}

static void test_cert_same_cn_different_dn(void **state)
{
	char a[MSS_DN_MAX], b[MSS_DN_MAX], cn_a[256], cn_b[256];
	X509 *x, *y;

	(void)state;
	x = make_cert(operator_name("cert-valide-audit.espacedeconfiance.mssante.fr", "347976684200724",
				    "CAPGEMINI TECHNOLOGY SERVICES", "ST", "Hauts-de-Seine (92)"),
		      fort_personnes_name());
	y = make_cert(operator_name("cert-valide-audit.espacedeconfiance.mssante.fr", "318751275100020",
				    "AGENCE DU NUMERIQUE EN SANTE", "ST", "Paris (75)"),
		      fort_personnes_name());
	assert_int_equal(mss_x509_name_cn(X509_get_subject_name(x), cn_a, sizeof(cn_a)), 0);
	assert_int_equal(mss_x509_name_cn(X509_get_subject_name(y), cn_b, sizeof(cn_b)), 0);
	assert_string_equal(cn_a, cn_b);
	assert_int_equal(mss_cert_subject_dn(x, a, sizeof(a)), 0);
	assert_int_equal(mss_cert_subject_dn(y, b, sizeof(b)), 0);
	assert_string_not_equal(a, b);
	X509_free(x);
	X509_free(y);
}

static void test_cert_hostile_names(void **state)
{
	char out[MSS_DN_MAX];
	X509_NAME *name;
	X509 *cert;

	(void)state;
	/* LF in a value: OpenSSL escapes it as \0A, the parser refuses it */
	name = operator_name("evil.fr", "318751275100020", "EVIL\nINJECTED", "ST", "Paris (75)");
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), -1);
	/* the CN itself is clean, but such a name is hostile as a whole */
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), -1);
	X509_NAME_free(name);

	/* NUL inside a CN (the classic "good.fr\0.evil.fr") */
	name = X509_NAME_new();
	assert_non_null(name);
	assert_int_equal(X509_NAME_add_entry_by_txt(name, "CN", V_ASN1_UTF8STRING,
						    (const unsigned char *)"good.fr\0.evil.fr", 16, -1, 0),
			 1);
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), -1);
	assert_string_equal(out, "");
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), -1);
	X509_NAME_free(name);

	/* invalid UTF-8 stored raw in a UTF8String */
	name = X509_NAME_new();
	assert_non_null(name);
	add_entry(name, "CN", V_ASN1_UTF8STRING, "bad\xff\xfe", 0);
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), -1);
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), -1);
	X509_NAME_free(name);

	/* two CNs: ambiguous, refused; the DN itself is fine */
	name = X509_NAME_new();
	assert_non_null(name);
	add_entry(name, "CN", MBSTRING_UTF8, "a.fr", 0);
	add_entry(name, "CN", MBSTRING_UTF8, "b.fr", 0);
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), -1);
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "CN=b.fr,CN=a.fr");
	X509_NAME_free(name);

	/* no CN; empty name */
	name = X509_NAME_new();
	assert_non_null(name);
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), -1);
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), -1);
	add_entry(name, "O", MBSTRING_UTF8, "x", 0);
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), -1);
	X509_NAME_free(name);

	/* Latin-1 (T61String/BMPString) is converted to UTF-8 by OpenSSL */
	name = X509_NAME_new();
	assert_non_null(name);
	add_entry(name, "CN", MBSTRING_ASC, "M\xe9" "decin", 0);
	assert_int_equal(mss_x509_name_cn(name, out, sizeof(out)), 0);
	assert_string_equal(out, MEDECIN);
	X509_NAME_free(name);

	/* 100 RDNs: refused, not truncated */
	name = X509_NAME_new();
	assert_non_null(name);
	for (int i = 0; i < 100; i++)
		add_entry(name, "OU", MBSTRING_UTF8, "x", 0);
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), -1);
	X509_NAME_free(name);

	/* an unknown attribute is dumped as #hex and kept so */
	name = X509_NAME_new();
	assert_non_null(name);
	add_entry(name, "1.3.6.1.4.1.99999.1", MBSTRING_UTF8, "A", 0);
	add_entry(name, "CN", MBSTRING_UTF8, "a.fr", 0);
	assert_int_equal(mss_x509_name_dn(name, out, sizeof(out), NULL), 0);
	assert_string_equal(out, "CN=a.fr,1.3.6.1.4.1.99999.1=#0C0141");
	X509_NAME_free(name);

	cert = X509_new();
	assert_non_null(cert);
	assert_int_equal(mss_cert_subject_dn(cert, out, sizeof(out)), -1); /* empty subject */
	X509_free(cert);
	assert_int_equal(mss_cert_subject_dn(NULL, out, sizeof(out)), -1);
	assert_int_equal(mss_cert_issuer_dn(NULL, out, sizeof(out)), -1);
}

static void test_cert_load_pem(void **state)
{
	char path[] = "/tmp/test_cert_XXXXXX";
	char a[MSS_DN_MAX], b[MSS_DN_MAX];
	X509 *cert = make_cert(cps_name(), fort_personnes_name()), *loaded = NULL;
	int fd = mkstemp(path);
	FILE *f;

	(void)state;
	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	assert_non_null(f);
	assert_int_equal(PEM_write_X509(f, cert), 1);
	fclose(f);
	assert_int_equal(mss_cert_load_pem(path, &loaded), 0);
	assert_non_null(loaded);
	assert_int_equal(mss_cert_subject_dn(cert, a, sizeof(a)), 0);
	assert_int_equal(mss_cert_subject_dn(loaded, b, sizeof(b)), 0);
	assert_string_equal(a, b);
	X509_free(loaded);

	/* not a certificate */
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("-----BEGIN CERTIFICATE-----\nnot base64 at all\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	assert_int_equal(mss_cert_load_pem(path, &loaded), -1);
	assert_null(loaded);
	unlink(path);
	assert_int_equal(mss_cert_load_pem(path, &loaded), -1);
	assert_null(loaded);
	X509_free(cert);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_cert_cps_card),
		cmocka_unit_test(test_cert_operator_vs_trust_list),
		cmocka_unit_test(test_cert_same_cn_different_dn),
		cmocka_unit_test(test_cert_hostile_names),
		cmocka_unit_test(test_cert_load_pem),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
