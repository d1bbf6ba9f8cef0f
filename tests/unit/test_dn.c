/* Unit tests for common/dn.c: RFC 4514 DNs, normalisation, CN and CPS identity. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dn.h"

#define TRUST_LIST_NAME "liste-blanche-2025-03-13.xml"

/* Normalises s and checks the result, or checks that it is refused. */
static void assert_norm(const char *s, const char *expected)
{
	char out[MSS_DN_MAX * 3];
	const char *error = NULL;
	int ret = mss_dn_normalize_str(s, strlen(s), out, sizeof(out), &error);

	if (expected == NULL) {
		if (ret >= 0)
			fail_msg("accepted \"%s\" as \"%s\"", s, out);
		assert_non_null(error);
	} else {
		if (ret < 0)
			fail_msg("refused \"%s\": %s", s, error);
		assert_string_equal(out, expected);
		assert_int_equal(ret, strlen(expected));
	}
}

static void test_dn_trust_list_examples(void **state)
{
	(void)state;
	assert_norm("CN=medimail-asip.mipih.fr,OU=318310021300028,O=GIP MIPIH,ST=Haute-Garonne (31),C=FR",
		    "CN=medimail-asip.mipih.fr,OU=318310021300028,O=GIP MIPIH,ST=Haute-Garonne (31),C=FR");
	/* L= and ST= are the same field in the trust list */
	assert_norm("CN=mail.lifen.fr,OU=381234567800012,O=LIFEN,L=Paris (75),C=FR",
		    "CN=mail.lifen.fr,OU=381234567800012,O=LIFEN,ST=Paris (75),C=FR");
	/* spaces after commas (the Apicrypt entry) */
	assert_norm("CN=mailin.interop-mssante.apicrypt.org, OU=343975235300037, O=APICEM, ST=Nord (59), C=FR",
		    "CN=mailin.interop-mssante.apicrypt.org,OU=343975235300037,O=APICEM,ST=Nord (59),C=FR");
	/* quoted values keep their inner spaces, and equal the unquoted spelling */
	assert_norm("CN=mss.ch-cadillac.fr,OU=1330781295,O=\"C.H. DE  CADILLAC\",ST=Gironde (33),C=FR",
		    "CN=mss.ch-cadillac.fr,OU=1330781295,O=C.H. DE  CADILLAC,ST=Gironde (33),C=FR");
	/* a bare '"' inside a value, as published; written escaped as OpenSSL prints it */
	assert_norm("CN=mss.strasbourg.unicancer.fr,OU=1670000033,O=CRLCC \"PAUL STRAUSS\",ST=Bas-Rhin (67),C=FR",
		    "CN=mss.strasbourg.unicancer.fr,OU=1670000033,O=CRLCC \\\"PAUL STRAUSS\\\",ST=Bas-Rhin (67),C=FR");
	assert_norm("CN=mss.strasbourg.unicancer.fr,OU=1670000033,O=CRLCC \\\"PAUL STRAUSS\\\",ST=Bas-Rhin (67),C=FR",
		    "CN=mss.strasbourg.unicancer.fr,OU=1670000033,O=CRLCC \\\"PAUL STRAUSS\\\",ST=Bas-Rhin (67),C=FR");
	/* UTF-8 and apostrophes as published */
	assert_norm("CN=esm.ahbretagne.com,OU=1220017974,O=ASS HOSPITALIERE DE PLOUGUERNEVEL,ST=C\xc3\xb4tes-d'Armor (22),C=FR",
		    "CN=esm.ahbretagne.com,OU=1220017974,O=ASS HOSPITALIERE DE PLOUGUERNEVEL,ST=C\xc3\xb4tes-d'Armor (22),C=FR");
	assert_norm("CN=MSSANTE.PROGINOV.FR,OU=340350374100031,O=PROGINOV,ST=LOIRE-ATLANTIQUE(44),C=FR",
		    "CN=MSSANTE.PROGINOV.FR,OU=340350374100031,O=PROGINOV,ST=LOIRE-ATLANTIQUE(44),C=FR");
}

static void test_dn_multivalued_cps(void **state)
{
	const char *s = "CN=810003461033+SN=DUPONT+GN=JEAN,title=M\xc3\xa9" "decin,C=FR";
	struct mss_dn dn;
	const char *error = NULL;
	char idnat[21];

	(void)state;
	assert_int_equal(mss_dn_parse(s, strlen(s), &dn, &error), 0);
	assert_int_equal(dn.n_rdns, 3);
	assert_int_equal(dn.n_avas, 5);
	assert_int_equal(dn.rdns[0].n_avas, 3);
	assert_int_equal(dn.rdns[1].first_ava, 3);
	assert_string_equal(dn.avas[0].type, "CN");
	assert_string_equal(dn.avas[0].value, "810003461033");
	assert_string_equal(dn.avas[1].type, "SN");
	assert_string_equal(dn.avas[2].type, "GN");
	assert_string_equal(dn.avas[3].type, "TITLE");
	assert_string_equal(dn.avas[3].value, "M\xc3\xa9" "decin");
	assert_string_equal(mss_dn_get(&dn, "cn"), "810003461033");
	assert_string_equal(mss_dn_get(&dn, "surname"), "DUPONT");
	assert_string_equal(mss_dn_get(&dn, "2.5.4.42"), "JEAN");
	assert_string_equal(mss_dn_get(&dn, "Title"), "M\xc3\xa9" "decin");
	assert_null(mss_dn_get(&dn, "O"));
	assert_null(mss_dn_get(&dn, ""));
	assert_int_equal(mss_dn_cps_idnat(&dn, idnat, sizeof(idnat), &error), 0);
	assert_string_equal(idnat, "810003461033");
	assert_int_equal(mss_dn_cps_idnat(&dn, idnat, 12, &error), -1); /* no room for NUL */
	mss_dn_free(&dn);
	mss_dn_free(&dn); /* idempotent */

	/* AVAs of a multi-valued RDN sorted: OpenSSL prints them in reverse */
	assert_norm(s, "CN=810003461033+GN=JEAN+SN=DUPONT,TITLE=M\xc3\xa9" "decin,C=FR");
	assert_norm("GN=JEAN+SN=DUPONT+CN=810003461033,title=M\xc3\xa9" "decin,C=FR",
		    "CN=810003461033+GN=JEAN+SN=DUPONT,TITLE=M\xc3\xa9" "decin,C=FR");
	assert_norm("cn = 810003461033 + sn = DUPONT + givenName = JEAN ; TITLE=M\\C3\\A9decin ; c=fr",
		    "CN=810003461033+GN=JEAN+SN=DUPONT,TITLE=M\xc3\xa9" "decin,C=FR");
}

static void assert_cps(const char *s, const char *expected)
{
	struct mss_dn dn;
	const char *error = NULL;
	char idnat[21];

	assert_int_equal(mss_dn_parse(s, strlen(s), &dn, &error), 0);
	if (expected == NULL) {
		assert_int_equal(mss_dn_cps_idnat(&dn, idnat, sizeof(idnat), &error), -1);
		assert_non_null(error);
	} else {
		if (mss_dn_cps_idnat(&dn, idnat, sizeof(idnat), &error) < 0)
			fail_msg("%s: %s", s, error);
		assert_string_equal(idnat, expected);
	}
	mss_dn_free(&dn);
}

static void test_dn_cps_identity(void **state)
{
	(void)state;
	assert_cps("CN=810003461033+SN=DUPONT+GN=JEAN,title=Médecin,C=FR", "810003461033");
	assert_cps("SN=DUPONT+GN=JEAN+CN=0123456789,title=Infirmier,C=FR", "0123456789");
	assert_cps("CN=810003461033,C=FR", "810003461033");
	/* the CN must be in the first RDN */
	assert_cps("SN=DUPONT+GN=JEAN,CN=810003461033,C=FR", NULL);
	/* structure ids, legacy and malformed ids are not a person */
	assert_cps("CN=318751275100020+SN=X,C=FR", NULL);
	assert_cps("CN=1750160012+SN=X,C=FR", NULL);
	assert_cps("CN=2100034610+SN=X,C=FR", NULL);
	assert_cps("CN=81000346103+SN=X,C=FR", NULL);
	assert_cps("CN=8100034610333+SN=X,C=FR", NULL);
	assert_cps("CN=81000346103a+SN=X,C=FR", NULL);
	assert_cps("CN= 810003461033 +SN=X,C=FR", "810003461033"); /* separator spaces */
	assert_cps("CN=\\ 810003461033+SN=X,C=FR", NULL);	   /* escaped space is data */
	assert_cps("CN=#0C0C383130303033343631303333+SN=X,C=FR", NULL);
	assert_cps("CN=,C=FR", NULL);
}

static void test_idnat_valid(void **state)
{
	(void)state;
	assert_true(mss_idnat_valid("810003461033", false));
	assert_true(mss_idnat_valid("0123456789", false));
	assert_false(mss_idnat_valid("318751275100020", false));
	assert_true(mss_idnat_valid("318751275100020", true));
	assert_true(mss_idnat_valid("1750160012", true));
	assert_true(mss_idnat_valid("12A0000012", true));
	assert_true(mss_idnat_valid("12B0000012", true));
	assert_true(mss_idnat_valid("10B0078671", true)); /* as in the real trust list */
	assert_false(mss_idnat_valid("12a0000012", true));
	assert_false(mss_idnat_valid("12-0000012", true));
	assert_false(mss_idnat_valid("12A000001B", true));
	assert_false(mss_idnat_valid("1750160012", false));
	assert_false(mss_idnat_valid("", true));
	assert_false(mss_idnat_valid("8", true));
	assert_false(mss_idnat_valid("2100034610", true));
	assert_false(mss_idnat_valid("81000346103\n", true));
	assert_false(mss_idnat_valid("31875127510002", true));
}

static void test_dn_escapes(void **state)
{
	(void)state;
	assert_norm("CN=a\\,b", "CN=a\\,b");
	assert_norm("CN=a\\+b", "CN=a\\+b");
	assert_norm("CN=a\\\"b", "CN=a\\\"b");
	assert_norm("CN=a\\\\b", "CN=a\\\\b");
	assert_norm("CN=a\\;b\\<c\\>", "CN=a\\;b\\<c\\>");
	assert_norm("CN=\\#a\\=b", "CN=\\#a=b");
	assert_norm("CN=\\2C\\2b", "CN=\\,\\+");
	assert_norm("CN=\\41\\62c", "CN=Abc");
	assert_norm("CN=M\\c3\\a9decin", "CN=M\xc3\xa9" "decin");
	assert_norm("CN=\"a,b+c;d\\\"e\"", "CN=a\\,b\\+c\\;d\\\"e");
	assert_norm("CN=\" lead and trail \"", "CN=\\ lead and trail\\ ");
	assert_norm("CN=\\ x\\ ", "CN=\\ x\\ ");
	assert_norm("CN=x \\ ", "CN=x \\ ");
	assert_norm("CN=  x  y  ", "CN=x  y");
	assert_norm("CN=a#b=c", "CN=a#b=c");
	assert_norm("CN=", "CN=");
	assert_norm("CN=\"\"", "CN=");
	/* #hex BER values: kept as hex, upper-cased, distinct from an escaped '#' */
	assert_norm("1.2.3.4=#0403abcd", "1.2.3.4=#0403ABCD");
	assert_norm("OID.2.5.4.3=#0c0141", "CN=#0C0141");
	/* types: case, aliases, OIDs */
	assert_norm("commonName=x,organizationalUnitName=y,organizationName=z,localityName=l,countryName=fr",
		    "CN=x,OU=y,O=z,ST=l,C=FR");
	assert_norm("2.5.4.3=x,2.5.4.10=z,S=Nord,E=a@b.fr", "CN=x,O=z,ST=Nord,EMAILADDRESS=a@b.fr");
	assert_norm("businessCategory=x", "BUSINESSCATEGORY=x");
	assert_norm("1.3.6.1.4.1.99999.1=#0101FF", "1.3.6.1.4.1.99999.1=#0101FF");
	/* multi-valued: ST and L sort as the same type */
	assert_norm("L=b+ST=a", "ST=a+ST=b");
	/* C values sort as written (upper-cased): found by fuzz_dn, normal form not stable */
	assert_norm("C=Fr+C=es", "C=ES+C=FR");
	assert_norm("C=ES+C=FR", "C=ES+C=FR");
}

static void test_dn_hostile(void **state)
{
	char big[MSS_DN_MAX + 100], out[MSS_DN_MAX * 3];
	const char *error = NULL;
	struct mss_dn dn;
	size_t n;

	(void)state;
	assert_norm("", NULL);
	assert_norm("   ", NULL);
	assert_norm("CN", NULL);
	assert_norm("=x", NULL);
	assert_norm("CN=a,", NULL);
	assert_norm("CN=a+", NULL);
	assert_norm(",CN=a", NULL);
	assert_norm("CN=a,,O=b", NULL);
	assert_norm("C N=a", NULL);
	assert_norm("-CN=a", NULL);
	assert_norm("CN_x=a", NULL);
	assert_norm("1..2=a", NULL);
	assert_norm("1.2.=a", NULL);
	assert_norm("OID.=a", NULL);
	assert_norm("OID.x=a", NULL);
	assert_norm("CN=abc\\", NULL);	  /* trailing backslash */
	assert_norm("CN=\"abc\\", NULL);	  /* trailing backslash in quotes */
	assert_norm("CN=\"abc", NULL);	  /* unbalanced quote */
	assert_norm("CN=\"abc\\\",O=x", NULL);
	assert_norm("CN=\"abc\"def", NULL);
	assert_norm("CN=\\x", NULL);	  /* not an RFC 4514 escape */
	assert_norm("CN=\\4", NULL);
	assert_norm("CN=\\4g", NULL);
	assert_norm("CN=#", NULL);
	assert_norm("CN=#abc", NULL);
	assert_norm("CN=#zz", NULL);
	assert_norm("CN=#00 x", NULL);
	/* control characters, literal or escaped */
	assert_norm("CN=a\r\nO=b", NULL);
	assert_norm("CN=a\nb", NULL);
	assert_norm("CN=a\\0Ab", NULL);
	assert_norm("CN=a\\00b", NULL);
	assert_norm("CN=a\tb", NULL);
	assert_norm("CN=a\x7f", NULL);
	assert_norm("CN=a\\7F", NULL);
	assert_norm("CN=\xc2\x85", NULL); /* C1 NEL */
	/* invalid UTF-8 */
	assert_norm("CN=\xff", NULL);
	assert_norm("CN=M\xe9" "decin", NULL); /* Latin-1 */
	assert_norm("CN=\xc3", NULL);
	assert_norm("CN=\xc3(", NULL);
	assert_norm("CN=\xc0\xaf", NULL);	       /* overlong '/' */
	assert_norm("CN=\xe0\x80\xaf", NULL);       /* overlong */
	assert_norm("CN=\xed\xa0\x80", NULL);       /* surrogate */
	assert_norm("CN=\xf4\x90\x80\x80", NULL);   /* > U+10FFFF */
	assert_norm("CN=\\C3", NULL);	       /* escaped truncated sequence */
	assert_norm("CN=\xf0\x9f\x98\x80", "CN=\xf0\x9f\x98\x80");
	/* embedded NUL */
	assert_int_equal(mss_dn_parse("CN=a\0,O=b", 9, &dn, &error), -1);
	assert_string_equal(error, "NUL in DN");
	assert_null(dn.buf);
	mss_dn_free(&dn); /* safe after a failure */

	/* over-long input */
	memset(big, 'a', sizeof(big));
	memcpy(big, "CN=", 3);
	assert_int_equal(mss_dn_parse(big, MSS_DN_MAX + 1, &dn, &error), -1);
	assert_string_equal(error, "DN too long");
	assert_int_equal(mss_dn_parse(big, MSS_DN_MAX, &dn, &error), 0);
	assert_int_equal(strlen(dn.avas[0].value), MSS_DN_MAX - 3);
	mss_dn_free(&dn);
	/* long type */
	memset(big, 'a', 70);
	memcpy(big + 70, "=x", 3);
	assert_norm(big, NULL);

	/* 100 RDNs, 100 AVAs in one RDN */
	n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sO=%d", i ? "," : "", i);
	assert_int_equal(mss_dn_parse(big, n, &dn, &error), -1);
	assert_string_equal(error, "too many RDNs in DN");
	n = 0;
	for (int i = 0; i < 100; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sO=%d", i ? "+" : "", i);
	assert_int_equal(mss_dn_parse(big, n, &dn, &error), -1);
	assert_string_equal(error, "too many attributes in DN");
	/* exactly at the limits */
	n = 0;
	for (int i = 0; i < MSS_DN_MAX_RDNS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sO=%d+OU=%d", i ? "," : "", i, i);
	assert_int_equal(mss_dn_parse(big, n, &dn, &error), 0);
	assert_int_equal(dn.n_rdns, MSS_DN_MAX_RDNS);
	assert_int_equal(dn.n_avas, MSS_DN_MAX_AVAS);
	mss_dn_free(&dn);
	/* most alias growth: 64 x "E=" -> "EMAILADDRESS=" (the storage bound) */
	n = 0;
	for (int i = 0; i < MSS_DN_MAX_AVAS; i++)
		n += (size_t)snprintf(big + n, sizeof(big) - n, "%sE=", i ? "+" : "");
	assert_int_equal(mss_dn_normalize_str(big, n, out, sizeof(out), &error), 64 * 13 + 63);

	/* normalize into a buffer too small, by exactly one */
	assert_int_equal(mss_dn_normalize_str("CN=a,O=b", 8, out, 8, &error), -1);
	assert_string_equal(out, "");
	assert_int_equal(mss_dn_normalize_str("CN=a,O=b", 8, out, 9, &error), 8);
	assert_int_equal(mss_dn_parse(NULL, 0, &dn, &error), -1);
}

/* Normalised DNs compare as strings: the comparisons the trust check relies on. */
static void test_dn_equality(void **state)
{
	char a[MSS_DN_MAX], b[MSS_DN_MAX];
	const char *error = NULL;
	const char *x = "CN=cert-valide-audit.espacedeconfiance.mssante.fr,OU=347976684200724,"
			"O=CAPGEMINI TECHNOLOGY SERVICES,ST=Hauts-de-Seine (92),C=FR";
	/* same CN, different DN: must differ (ANS audit "cert-cn-diff-dn") */
	const char *y = "CN=cert-valide-audit.espacedeconfiance.mssante.fr,OU=318751275100020,"
			"O=AGENCE DU NUMERIQUE EN SANTE,ST=Paris (75),C=FR";

	(void)state;
	assert_true(mss_dn_normalize_str(x, strlen(x), a, sizeof(a), &error) > 0);
	assert_true(mss_dn_normalize_str(y, strlen(y), b, sizeof(b), &error) > 0);
	assert_string_not_equal(a, b);
	/* values are case-sensitive, C aside */
	assert_norm("CN=Mail.Lifen.FR,C=fr", "CN=Mail.Lifen.FR,C=FR");
	/* RDN order matters */
	assert_norm("O=b,CN=a", "O=b,CN=a");
}

/* Every DNCertificatOperateur of the real trust list parses, its CN is found, its OU is a
   structure id, and normalising is idempotent. Skipped when the file is not there. */
static void test_dn_real_trust_list(void **state)
{
	const char *src = getenv("SRC");
	char path[4096];
	FILE *f = NULL;
	char *data = NULL;
	size_t size = 0, count = 0;
	static const char open_tag[] = "<DNCertificatOperateur>";

	(void)state;
	if (src != NULL) {
		snprintf(path, sizeof(path), "%s/../shared/data/" TRUST_LIST_NAME, src);
		f = fopen(path, "r");
	}
	if (f == NULL)
		f = fopen("../shared/data/" TRUST_LIST_NAME, "r");
	if (f == NULL) {
		skip();
		return;
	}
	data = malloc(8 << 20);
	assert_non_null(data);
	size = fread(data, 1, (8 << 20) - 1, f);
	fclose(f);
	data[size] = '\0';

	for (char *p = strstr(data, open_tag); p != NULL; p = strstr(p, open_tag)) {
		char *value = p + sizeof(open_tag) - 1;
		char *end = strchr(value, '<');
		char norm[MSS_DN_MAX * 3], again[MSS_DN_MAX * 3], idnat[32];
		const char *error = NULL, *cn, *ou;
		struct mss_dn dn;
		size_t len;

		assert_non_null(end);
		len = (size_t)(end - value);
		p = end;
		if (memchr(value, '&', len) != NULL)
			fail_msg("XML entity in a DN, decode it in this test: %.*s", (int)len, value);
		if (mss_dn_parse(value, len, &dn, &error) < 0)
			fail_msg("refused %.*s: %s", (int)len, value, error);
		cn = mss_dn_get(&dn, "CN");
		ou = mss_dn_get(&dn, "OU");
		assert_non_null(cn);
		assert_true(strlen(cn) > 0); /* not always a host name: CN=rassconsult */
		assert_non_null(ou);
		if (!mss_idnat_valid(ou, true))
			fail_msg("OU is not a structure id in %.*s", (int)len, value);
		assert_int_equal(mss_dn_cps_idnat(&dn, idnat, sizeof(idnat), &error), -1);
		assert_true(mss_dn_normalize(&dn, norm, sizeof(norm)) > 0);
		mss_dn_free(&dn);
		if (mss_dn_normalize_str(norm, strlen(norm), again, sizeof(again), &error) < 0)
			fail_msg("normal form refused: %s: %s", norm, error);
		assert_string_equal(norm, again);
		count++;
	}
	free(data);
	assert_int_equal(count, 6554);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_dn_trust_list_examples),
		cmocka_unit_test(test_dn_multivalued_cps),
		cmocka_unit_test(test_dn_cps_identity),
		cmocka_unit_test(test_idnat_valid),
		cmocka_unit_test(test_dn_escapes),
		cmocka_unit_test(test_dn_hostile),
		cmocka_unit_test(test_dn_equality),
		cmocka_unit_test(test_dn_real_trust_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
