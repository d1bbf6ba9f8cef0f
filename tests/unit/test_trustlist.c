/* Unit tests of common/trustlist.c: the ANS trust list reader.
   Fixtures are in tests/fixtures/trust/ (found through $SRC, else the current directory).
   The real published list is used when present: $MSS_TRUST_LIST_REAL, else
   /work/shared/data/liste-blanche-2025-03-13.xml or ../shared/data/ beside the tree. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "trustlist.h"

#define HEADER_NO_DECL                                                                                                 \
	"<ListeBlancheMSSante xmlns=\"https://listeblanche.mssante.fr/schema\">\n"                                     \
	"<DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration>\n<ListeDomaines>\n"
#define HEADER                                                                                                         \
	"<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListeBlancheMSSante "                                              \
	"xmlns=\"https://listeblanche.mssante.fr/schema\">\n"                                                          \
	"<DateDeGeneration>2025-03-13T14:54:10Z</DateDeGeneration>\n<ListeDomaines>\n"
#define LIST_END "</ListeDomaines>\n"
#define ROOT_END "</ListeBlancheMSSante>\n"
#define DN_A "CN=mss.ch-valmont.fr,OU=1990000001,O=CH DE VALMONT,ST=Exemple (99),C=FR"
#define DN_A_SPACED_L "CN=mss.ch-valmont.fr, OU=1990000001, O=CH DE VALMONT, L=Exemple (99), C=FR"
#define DN_B "CN=smtp.operateur-exemple.fr,OU=300000000012345,O=OPERATEUR EXEMPLE,ST=Paris (75),C=FR"
#define ENTRY(nom, dn) "<Domaine><Nom>" nom "</Nom><DNCertificatOperateur>" dn "</DNCertificatOperateur></Domaine>\n"

static char errbuf[512];

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *src = getenv("SRC");

	snprintf(path, sizeof(path), "%s/tests/fixtures/trust/%s", src != NULL ? src : ".", name);
	return path;
}

static struct mss_trust_list *read_ok(const char *xml)
{
	struct mss_trust_list *list = NULL;
	int ret = mss_trust_list_read_memory(xml, strlen(xml), "mem", &list, errbuf, sizeof(errbuf));

	if (ret != 0)
		fail_msg("unexpected error: %s", errbuf);
	assert_non_null(list);
	return list;
}

/* Expects a failure whose message starts with prefix. */
static void read_fails(const char *xml, size_t len, const char *prefix)
{
	struct mss_trust_list *list = (void *)1;

	assert_int_equal(mss_trust_list_read_memory(xml, len, "mem", &list, errbuf, sizeof(errbuf)), -1);
	assert_null(list);
	if (strncmp(errbuf, prefix, strlen(prefix)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", errbuf, prefix);
}

static void file_fails(const char *name, const char *expected_after_path)
{
	struct mss_trust_list *list = (void *)1;
	const char *path = fixture(name);
	char expected[4200];

	snprintf(expected, sizeof(expected), "%s%s", path, expected_after_path);
	assert_int_equal(mss_trust_list_read(path, &list, errbuf, sizeof(errbuf)), -1);
	assert_null(list);
	if (strncmp(errbuf, expected, strlen(expected)) != 0)
		fail_msg("error \"%s\" does not start with \"%s\"", errbuf, expected);
}

static char *slurp(const char *path, size_t *len_r)
{
	FILE *f = fopen(path, "rb");
	char *data;
	long n;

	if (f == NULL)
		fail_msg("cannot open %s (set SRC to the source tree)", path);
	assert_int_equal(fseek(f, 0, SEEK_END), 0);
	n = ftell(f);
	assert_true(n >= 0);
	rewind(f);
	data = malloc((size_t)n + 1);
	assert_non_null(data);
	assert_int_equal(fread(data, 1, (size_t)n, f), (size_t)n);
	data[n] = '\0';
	fclose(f);
	*len_r = (size_t)n;
	return data;
}

static bool starts_with(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool has_warning(const struct mss_trust_list *list, const char *text)
{
	for (size_t i = 0; i < list->n_warnings; i++)
		if (strcmp(list->warnings[i], text) == 0)
			return true;
	return false;
}

/* The five entries kept from valid.xml and missing-root-end.xml. */
static void check_valid_fixture(const struct mss_trust_list *list)
{
	const struct mss_trust_entry *e = list->entries;

	assert_string_equal(list->generated, "2025-03-13T14:54:10Z");
	assert_int_equal(list->n_entries, 5);
	assert_int_equal(list->n_domains, 4);
	assert_int_equal(list->n_names, 5); /* the skipped address-like name counts as listed */
	assert_int_equal(list->n_operators, 4);
	assert_int_equal(list->n_duplicates, 1);
	assert_int_equal(list->n_skipped, 1);
	assert_int_equal(list->n_ignored, 0);

	assert_string_equal(e[0].domain, "ch-valmont.mssante.fr");
	assert_string_equal(e[0].dn, DN_A);
	assert_string_equal(e[0].dn_raw, DN_A);
	assert_string_equal(e[0].cn, "mss.ch-valmont.fr");
	assert_string_equal(e[0].ou, "1990000001");
	assert_string_equal(e[0].o, "CH DE VALMONT");
	assert_string_equal(e[0].description, "CENTRE HOSPITALIER DE VALMONT (fictif)");
	assert_string_equal(e[0].date_maj, "2025-01-02T03:04:05Z");
	assert_int_equal(e[0].line, 5);

	assert_string_equal(e[1].domain, "ch-valmont.mssante.fr");
	assert_string_equal(e[1].cn, "mss2.ch-valmont.fr");
	assert_int_equal(e[1].line, 13);

	/* GHT-EXEMPLE.mssante.fr in the file */
	assert_string_equal(e[2].domain, "ght-exemple.mssante.fr");
	assert_string_equal(e[2].dn, DN_B);
	assert_int_equal(e[2].line, 29);

	/* published with spaces after commas and L= instead of ST= */
	assert_string_equal(e[3].domain, "clinique-exemple.mssante.fr");
	assert_string_equal(e[3].dn, DN_B);
	assert_string_equal(
	    e[3].dn_raw, "CN=smtp.operateur-exemple.fr, OU=300000000012345, O=OPERATEUR EXEMPLE, L=Paris (75), C=FR");
	assert_string_equal(e[3].description, "CLINIQUE EXEMPLE & ASSOCIÉS (fictif)");

	/* outside mssante.fr, quoted O with two spaces */
	assert_string_equal(e[4].domain, "passerelle.exemple.org");
	assert_string_equal(e[4].cn, "mailin.exemple.org");
	assert_string_equal(e[4].o, "PASSERELLE  EXEMPLE");
	assert_string_equal(e[4].dn,
			    "CN=mailin.exemple.org,OU=300000000067890,O=PASSERELLE  EXEMPLE,ST=Nord (59),C=FR");

	assert_true(
	    has_warning(list, "21: ch-valmont.mssante.fr listed twice with the same operator DN, duplicate ignored"));
	assert_true(has_warning(list, "45: invalid domain \"sessad@exemple.mssante.fr\" (invalid character in domain), "
				      "entry skipped"));
}

static void test_valid_fixture(void **state)
{
	(void)state;
	struct mss_trust_list *list = NULL;

	assert_int_equal(mss_trust_list_read(fixture("valid.xml"), &list, errbuf, sizeof(errbuf)), 0);
	check_valid_fixture(list);
	assert_int_equal(list->missing_root_end, 0);
	assert_int_equal(list->n_warnings, 2);
	assert_null(list->warnings[2]);
	mss_trust_list_free(list);
}

static void test_missing_root_end_tolerated(void **state)
{
	(void)state;
	struct mss_trust_list *list = NULL;

	assert_int_equal(mss_trust_list_read(fixture("missing-root-end.xml"), &list, errbuf, sizeof(errbuf)), 0);
	check_valid_fixture(list);
	assert_int_equal(list->missing_root_end, 1);
	assert_int_equal(list->n_warnings, 3);
	assert_string_equal(list->warnings[2], "60: document ends without </ListeBlancheMSSante>, tolerated");
	assert_null(list->warnings[3]);
	mss_trust_list_free(list);
}

/* libxml2 feeds its parser in chunks: the tolerance must not depend on where the end
   of the document falls. */
static void test_missing_root_end_any_size(void **state)
{
	(void)state;
	static const char *const tails[] = {"", "\n", " \r\n\t \n", "\n\n\n\n\n\n\n\n\n\n\n\n"};
	size_t cap = 200000;
	char *doc = malloc(cap);

	assert_non_null(doc);
	for (int n = 1; n <= 70; n++) {
		for (size_t t = 0; t < sizeof(tails) / sizeof(tails[0]); t++) {
			struct mss_trust_list *list;
			size_t len = (size_t)snprintf(doc, cap, HEADER);

			for (int i = 0; i < n; i++)
				len += (size_t)snprintf(doc + len, cap - len, ENTRY("d%d.mssante.fr", DN_A), i);
			len +=
			    (size_t)snprintf(doc + len, cap - len, "</ListeDomaines%s>%s", t == 2 ? " " : "", tails[t]);
			list = read_ok(doc);
			assert_int_equal(list->n_entries, (size_t)n);
			assert_int_equal(list->missing_root_end, 1);
			mss_trust_list_free(list);
		}
	}
	free(doc);
}

/* Cut valid.xml at every byte: only a cut after </ListeDomaines> may succeed. */
static void test_truncated_at_every_byte(void **state)
{
	(void)state;
	size_t len;
	char *data = slurp(fixture("valid.xml"), &len);
	const char *list_end = strstr(data, "</ListeDomaines>");
	const char *root_end = strstr(data, "</ListeBlancheMSSante>");
	size_t ok_from, complete_from;

	assert_non_null(list_end);
	assert_non_null(root_end);
	ok_from = (size_t)(list_end - data) + strlen("</ListeDomaines>");
	complete_from = (size_t)(root_end - data) + strlen("</ListeBlancheMSSante>");
	for (size_t cut = 1; cut < len; cut++) {
		struct mss_trust_list *list = NULL;
		bool only_space_after = true;
		int ret;

		for (size_t i = ok_from; i < cut; i++)
			if (strchr(" \t\r\n", data[i]) == NULL)
				only_space_after = false;
		ret = mss_trust_list_read_memory(data, cut, "cut", &list, errbuf, sizeof(errbuf));
		if (cut >= complete_from) {
			if (ret != 0)
				fail_msg("cut at %zu refused: %s", cut, errbuf);
			assert_int_equal(list->n_entries, 5);
			assert_int_equal(list->missing_root_end, 0);
		} else if (cut >= ok_from && only_space_after) {
			if (ret != 0)
				fail_msg("cut at %zu refused: %s", cut, errbuf);
			assert_int_equal(list->n_entries, 5);
			assert_int_equal(list->missing_root_end, 1);
		} else if (ret != -1) {
			fail_msg("cut at %zu accepted", cut);
		} else {
			assert_null(list);
			assert_true(strncmp(errbuf, "cut:", 4) == 0);
		}
		mss_trust_list_free(list);
	}
	free(data);
}

static void test_truncated_fixtures(void **state)
{
	(void)state;
	file_fails("truncated.xml", ":39: document truncated inside <DNCertificatOperateur>");
	file_fails("truncated-after-entry.xml", ":59: document truncated inside <ListeDomaines>");
	file_fails("trailing-junk.xml", ":62: unexpected content after </ListeDomaines>");
}

static void test_garbage(void **state)
{
	(void)state;
	file_fails("garbage.xml", ":1: not well-formed XML: ");
	read_fails("", 0, "mem:1: empty file");
	read_fails("   \n\n", 5, "mem:");
	read_fails("hello", 5, "mem:1: not well-formed XML: ");
	read_fails("<", 1, "mem:1: not well-formed XML: ");
}

static void test_wrong_root_and_namespace(void **state)
{
	(void)state;
	file_fails("wrong-root.xml", ":1: root element is <ListeBlancheAutre>, expected <ListeBlancheMSSante>");
	file_fails("wrong-namespace.xml", ":1: root element in namespace \"https://listeblanche.example.org/schema\", "
					  "expected \"https://listeblanche.mssante.fr/schema\"");
	file_fails("no-namespace.xml",
		   ":1: root element in namespace \"\", expected \"https://listeblanche.mssante.fr/schema\"");
	/* right name and namespace through a prefix is the same document */
	struct mss_trust_list *list =
	    read_ok("<lb:ListeBlancheMSSante xmlns:lb=\"https://listeblanche.mssante.fr/schema\"><lb:ListeDomaines>"
		    "<lb:Domaine><lb:Nom>a.mssante.fr</lb:Nom><lb:DNCertificatOperateur>" DN_A
		    "</lb:DNCertificatOperateur></lb:Domaine></lb:ListeDomaines>\n");
	assert_int_equal(list->n_entries, 1);
	assert_int_equal(list->missing_root_end, 1);
	mss_trust_list_free(list);
	/* Domaine elements of another namespace are not trust list entries */
	static const char foreign[] =
	    HEADER "<Domaine xmlns=\"urn:other\"><Nom>a.mssante.fr</Nom><DNCertificatOperateur>" DN_A
		   "</DNCertificatOperateur></Domaine>" LIST_END ROOT_END;
	read_fails(foreign, sizeof(foreign) - 1, "mem:6: no usable <Domaine> entry (0 skipped)");
}

static void test_empty_list_is_an_error(void **state)
{
	(void)state;
	const char *root_only = "<ListeBlancheMSSante xmlns=\"https://listeblanche.mssante.fr/schema\"/>";

	file_fails("empty-list.xml", ":6: no usable <Domaine> entry (0 skipped)");
	file_fails("all-bad.xml", ":23: no usable <Domaine> entry (5 skipped)");
	read_fails(root_only, strlen(root_only), "mem:1: no usable <Domaine> entry (0 skipped)");
	read_fails(HEADER LIST_END ROOT_END, strlen(HEADER LIST_END ROOT_END), "mem:");
}

static void test_skipped_entries_reported_with_lines(void **state)
{
	(void)state;
	size_t len;
	char *data = slurp(fixture("all-bad.xml"), &len);
	char *end = strstr(data, "    </ListeDomaines>");
	char doc[8192];
	struct mss_trust_list *list;

	assert_non_null(end);
	snprintf(doc, sizeof(doc), "%.*s" ENTRY("good.mssante.fr", DN_A) "%s", (int)(end - data), data, end);
	list = read_ok(doc);
	assert_int_equal(list->n_entries, 1);
	assert_string_equal(list->entries[0].domain, "good.mssante.fr");
	assert_int_equal(list->entries[0].line, 21);
	assert_int_equal(list->n_skipped, 5);
	assert_int_equal(list->n_warnings, 5);
	assert_string_equal(list->warnings[0],
			    "4: invalid domain \"bad domain.mssante.fr\" (invalid character in domain), "
			    "entry skipped");
	assert_string_equal(list->warnings[1], "8: ch-valmont.mssante.fr: operator DN \"OU=1990000001,O=CH DE VALMONT,"
					       "C=FR\" has no CN, entry skipped");
	assert_string_equal(list->warnings[2], "12: <Domaine> without <DNCertificatOperateur>, entry skipped");
	assert_string_equal(list->warnings[3], "14: <Domaine> without <Nom>, entry skipped");
	assert_true(
	    starts_with(list->warnings[4], "18: ch-valmont.mssante.fr: invalid operator DN \"CN=?unbalanced,O=X\" ("));
	assert_true(strstr(list->warnings[4], "), entry skipped") != NULL);
	mss_trust_list_free(list);
	free(data);
}

static void test_dedup_and_case(void **state)
{
	(void)state;
	struct mss_trust_list *list = read_ok(
	    HEADER ENTRY("ch-valmont.mssante.fr", DN_A) ENTRY("CH-VALMONT.MSSANTE.FR", DN_A)
		ENTRY("Ch-Valmont.Mssante.Fr.", DN_A_SPACED_L) ENTRY("ch-valmont.mssante.fr", DN_B) LIST_END ROOT_END);

	assert_int_equal(list->n_entries, 2);
	assert_int_equal(list->n_domains, 1);
	assert_int_equal(list->n_operators, 2);
	assert_int_equal(list->n_duplicates, 2);
	assert_string_equal(list->entries[0].dn, DN_A);
	assert_string_equal(list->entries[1].dn, DN_B);
	assert_string_equal(list->warnings[0], "5: ch-valmont.mssante.fr listed twice with the same operator DN, "
					       "duplicate ignored");
	assert_string_equal(list->warnings[1], "6: ch-valmont.mssante.fr listed twice with the same operator DN, "
					       "duplicate ignored");
	mss_trust_list_free(list);
}

static void test_dn_spaces_and_l_equal_st(void **state)
{
	(void)state;
	struct mss_trust_list *list =
	    read_ok(HEADER ENTRY("a.mssante.fr", DN_A) ENTRY("b.mssante.fr", DN_A_SPACED_L) LIST_END ROOT_END);

	assert_int_equal(list->n_entries, 2);
	assert_int_equal(list->n_operators, 1);
	assert_string_equal(list->entries[0].dn, list->entries[1].dn);
	assert_string_equal(list->entries[1].dn, DN_A);
	assert_string_equal(list->entries[1].dn_raw, DN_A_SPACED_L);
	assert_string_equal(list->entries[1].cn, "mss.ch-valmont.fr");
	mss_trust_list_free(list);
}

/* Many problems: each kind keeps a few warnings, the missing end tag is always told. */
static void test_warning_quota(void **state)
{
	(void)state;
	size_t cap = 100000, len;
	char *doc = malloc(cap);
	struct mss_trust_list *list;

	assert_non_null(doc);
	len = (size_t)snprintf(doc, cap, HEADER);
	for (int i = 0; i < 20; i++)
		len += (size_t)snprintf(doc + len, cap - len, ENTRY("dup.mssante.fr", DN_A));
	for (int i = 0; i < 20; i++)
		len += (size_t)snprintf(doc + len, cap - len, ENTRY("bad_%d.mssante.fr", DN_A), i);
	for (int i = 0; i < 20; i++)
		len += (size_t)snprintf(doc + len, cap - len, "<Futur>%d</Futur>", i);
	snprintf(doc + len, cap - len, LIST_END);
	list = read_ok(doc);
	assert_int_equal(list->n_entries, 1);
	assert_int_equal(list->n_duplicates, 19);
	assert_int_equal(list->n_skipped, 20);
	assert_int_equal(list->n_ignored, 20);
	assert_true(list->n_warnings < MSS_TRUST_LIST_MAX_WARNINGS);
	assert_null(list->warnings[list->n_warnings]);
	assert_int_equal(list->n_warnings, 4 + 7 + 3 + 1);
	assert_true(strstr(list->warnings[list->n_warnings - 1], "document ends without </ListeBlancheMSSante>") !=
		    NULL);
	assert_string_equal(list->warnings[4], "24: invalid domain \"bad_0.mssante.fr\" (invalid character in domain), "
					       "entry skipped");
	assert_string_equal(list->warnings[11], "44: unexpected element <Futur> ignored");
	mss_trust_list_free(list);
	free(doc);
}

/* Element nodes of libxml2 store line numbers up to 65535: past that the reported line
   must still be exact. */
static void test_line_numbers_past_65535(void **state)
{
	(void)state;
	size_t cap = 4000000, len;
	char *doc = malloc(cap);
	struct mss_trust_list *list;

	assert_non_null(doc);
	len = (size_t)snprintf(doc, cap, HEADER); /* 3 lines */
	for (int i = 0; i < 20000; i++)		  /* 4 lines each */
		len += (size_t)snprintf(doc + len, cap - len,
					"<Domaine>\n<Nom>d%d.mssante.fr</Nom>\n<DNCertificatOperateur>" DN_A
					"</DNCertificatOperateur>\n</Domaine>\n",
					i);
	/* this Nom is on line 3 + 80000 + 2 */
	len += (size_t)snprintf(
	    doc + len, cap - len,
	    "<Domaine>\n<Nom>bad!.mssante.fr</Nom>\n<DNCertificatOperateur>" DN_A
	    "</DNCertificatOperateur>\n</Domaine>\n<Domaine>\n\n\n\n\n\n\n\n\n\n<Nom>d1.mssante.fr</Nom>"
	    "<DNCertificatOperateur>" DN_A "</DNCertificatOperateur></Domaine>" LIST_END ROOT_END);
	list = read_ok(doc);
	assert_int_equal(list->n_entries, 20000);
	assert_int_equal(list->entries[19999].line, 3 + 79996 + 2);
	assert_string_equal(list->warnings[0],
			    "80005: invalid domain \"bad!.mssante.fr\" (invalid character in domain), "
			    "entry skipped");
	assert_string_equal(list->warnings[1], "80018: d1.mssante.fr listed twice with the same operator DN, "
					       "duplicate ignored");
	mss_trust_list_free(list);
	free(doc);
}

static void test_xxe_and_billion_laughs_refused(void **state)
{
	(void)state;
	const char *data;
	clock_t start = clock();

	file_fails("xxe.xml", ":");
	assert_non_null(strstr(errbuf, "document type declarations are not allowed"));
	assert_null(strstr(errbuf, "root:"));
	file_fails("billion-laughs.xml", ":");
	/* an internal DTD without entities is refused just the same */
	data = "<!DOCTYPE ListeBlancheMSSante>" HEADER_NO_DECL ENTRY("a.mssante.fr", DN_A) LIST_END ROOT_END;
	read_fails(data, strlen(data), "mem:1: document type declarations are not allowed");
	/* an undeclared entity is not well-formed */
	data = HEADER "<Domaine><Nom>&foo;</Nom></Domaine>" LIST_END ROOT_END;
	read_fails(data, strlen(data), "mem:4: not well-formed XML: Entity 'foo' not defined");
	/* external DTD never fetched: refused before any network or file access */
	data =
	    "<?xml version=\"1.0\"?>\n<!DOCTYPE ListeBlancheMSSante SYSTEM \"http://127.0.0.1:9/x.dtd\">" HEADER_NO_DECL
		LIST_END ROOT_END;
	read_fails(data, strlen(data), "mem:2: document type declarations are not allowed");
	assert_true((double)(clock() - start) / CLOCKS_PER_SEC < 5.0);
}

static void test_hostile_content(void **state)
{
	(void)state;
	struct mss_trust_list *list;
	char big[MSS_TRUST_LIST_FIELD_MAX + 200], doc[MSS_TRUST_LIST_FIELD_MAX + 2000];
	static const char nul_doc[] = HEADER "<Domaine><Nom>a.mssante.fr\0x</Nom></Domaine>" LIST_END ROOT_END;
	static const char bad_utf8[] =
	    HEADER "<Domaine><Description>\xC3\x28</Description></Domaine>" LIST_END ROOT_END;

	read_fails(nul_doc, sizeof(nul_doc) - 1, "mem:4: not well-formed XML: ");
	read_fails(bad_utf8, sizeof(bad_utf8) - 1, "mem:4: not well-formed XML: ");

	/* over-long field: entry skipped, the rest kept */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	snprintf(doc, sizeof(doc),
		 HEADER "<Domaine><Nom>a.mssante.fr</Nom><Description>%s</Description><DNCertificatOperateur>" DN_A
			"</DNCertificatOperateur></Domaine>" ENTRY("b.mssante.fr", DN_A) LIST_END ROOT_END,
		 big);
	list = read_ok(doc);
	assert_int_equal(list->n_entries, 1);
	assert_string_equal(list->entries[0].domain, "b.mssante.fr");
	assert_string_equal(list->warnings[0], "4: <Description> longer than 4096 bytes, entry skipped");
	mss_trust_list_free(list);

	/* markup inside a field, a field twice, an empty Domaine: skipped; unknown children
	   ignored; whitespace, CDATA, comments and character references accepted */
	list = read_ok(HEADER "<Domaine><Nom>a<b>c</b>.mssante.fr</Nom><DNCertificatOperateur>" DN_A
			      "</DNCertificatOperateur></Domaine>\n"
			      "<Domaine><Nom>a.mssante.fr</Nom><Nom>b.mssante.fr</Nom><DNCertificatOperateur>" DN_A
			      "</DNCertificatOperateur></Domaine>\n"
			      "<Domaine/>\n"
			      "<Domaine><Futur><Domaine><Nom>evil.mssante.fr</Nom></Domaine></Futur>"
			      "<Nom>\n  c.mssante.fr \n</Nom><!-- c --><DNCertificatOperateur><![CDATA[" DN_A
			      "]]></DNCertificatOperateur><Description>caf&#233; &lt;ok&gt;</Description></Domaine>\n"
			      "<Nom>stray.mssante.fr</Nom>\n" LIST_END
			      "<Domaine><Nom>outside.mssante.fr</Nom><DNCertificatOperateur>" DN_A
			      "</DNCertificatOperateur></Domaine>\n" ROOT_END);
	assert_int_equal(list->n_entries, 1);
	assert_string_equal(list->entries[0].domain, "c.mssante.fr");
	assert_string_equal(list->entries[0].description, "café <ok>");
	assert_int_equal(list->n_skipped, 3);
	assert_int_equal(list->n_ignored, 3);
	assert_string_equal(list->warnings[0], "4: unexpected element in <Nom>, entry skipped");
	assert_string_equal(list->warnings[1], "5: <Nom> given twice, entry skipped");
	assert_string_equal(list->warnings[2], "6: <Domaine> without <Nom>, entry skipped");
	assert_string_equal(list->warnings[3], "7: unexpected element <Futur> ignored");
	assert_string_equal(list->warnings[4], "10: unexpected element <Nom> ignored");
	assert_string_equal(list->warnings[5], "12: unexpected element <Domaine> ignored");
	mss_trust_list_free(list);

	/* content after the closing root tag */
	read_fails(HEADER ENTRY("a.mssante.fr", DN_A) LIST_END ROOT_END "<x/>",
		   strlen(HEADER ENTRY("a.mssante.fr", DN_A) LIST_END ROOT_END "<x/>"),
		   "mem:7: not well-formed XML: Extra content at the end of the document");
	/* the list is UTF-8: another encoding is not converted, its non-ASCII bytes are refused */
	static const char latin1[] =
	    "<?xml version=\"1.0\" encoding=\"ISO-8859-1\"?>"
	    "<ListeBlancheMSSante xmlns=\"https://listeblanche.mssante.fr/schema\"><ListeDomaines>"
	    "<Domaine><Nom>a.mssante.fr</Nom><Description>H\xF4pital</Description>"
	    "<DNCertificatOperateur>CN=a.example.fr,C=FR</DNCertificatOperateur></Domaine>" LIST_END ROOT_END;
	read_fails(latin1, sizeof(latin1) - 1, "mem:1: not well-formed XML: ");
	static const char utf16[] = "\xFF\xFE<\0x\0/\0>\0";
	read_fails(utf16, sizeof(utf16) - 1, "mem:1: not well-formed XML: ");
	/* UTF-8 declared or not, with or without a byte order mark */
	list =
	    read_ok("\xEF\xBB\xBF<ListeBlancheMSSante xmlns=\"https://listeblanche.mssante.fr/schema\"><ListeDomaines>"
		    "<Domaine><Nom>a.mssante.fr</Nom><Description>H\xC3\xB4pital</Description><DNCertificatOperateur>"
		    "CN=a.example.fr,O=H\xC3\xB4pital,C=FR</DNCertificatOperateur></Domaine>" LIST_END ROOT_END);
	assert_string_equal(list->entries[0].description, "H\xC3\xB4pital");
	assert_string_equal(list->entries[0].o, "H\xC3\xB4pital");
	assert_string_equal(list->generated, "");
	mss_trust_list_free(list);
}

static void test_io_errors_and_small_buffers(void **state)
{
	(void)state;
	struct mss_trust_list *list = (void *)1;
	char small[12];

	assert_int_equal(mss_trust_list_read("/nonexistent/liste.xml", &list, errbuf, sizeof(errbuf)), -1);
	assert_null(list);
	assert_string_equal(errbuf, "/nonexistent/liste.xml: cannot open: No such file or directory");
	assert_int_equal(mss_trust_list_read("/", &list, errbuf, sizeof(errbuf)), -1);
	assert_string_equal(errbuf, "/: not a regular file");

	assert_int_equal(mss_trust_list_read_memory("<x/>", 4, "mem", &list, small, sizeof(small)), -1);
	assert_string_equal(small, "mem:1: root");
	assert_int_equal(mss_trust_list_read_memory("<x/>", 4, "mem", &list, NULL, 0), -1);
	assert_null(list);
	mss_trust_list_free(NULL);
}

/* Errors come back in err, never on stderr (libxml2 prints by default). */
static void test_nothing_written_to_stderr(void **state)
{
	(void)state;
	static const char *const inputs[] = {
	    "\0\0\0<\0\0\0x\0\0\0/\0\0\0>", /* UCS-4 guess */
	    "<\0\0\0x\0\0\0/\0\0\0>\0\0\0",
	    "\0\0<\0\0\0x\0",
	    "<\0?\0x\0m\0l\0", /* UTF-16LE guess */
	    "\xFE\xFF\0<\0x\0/\0>",
	    "\x4C\x6F\xA7\x94\x93", /* EBCDIC guess */
	    "<?xml version=\"1.0\" encoding=\"EBCDIC-US\"?><x/>",
	    "<?xml version=\"1.0\" encoding=\"no-such-encoding\"?><x/>",
	    "<a><b></a>",
	    "<ListeBlancheMSSante xmlns=\"https://listeblanche.mssante.fr/schema\"><ListeDomaines>\xC3",
	};
	static const size_t lens[] = {16, 16, 8, 10, 8, 5, 0, 0, 0, 0};
	char path[] = "/tmp/mss-test-trustlist-XXXXXX";
	int fd = mkstemp(path), saved = dup(2);
	struct stat st;

	assert_true(fd >= 0 && saved >= 0);
	fflush(stderr);
	assert_int_equal(dup2(fd, 2), 2);
	for (size_t i = 0; i < sizeof(inputs) / sizeof(inputs[0]); i++) {
		struct mss_trust_list *list = NULL;
		size_t len = lens[i] != 0 ? lens[i] : strlen(inputs[i]);

		assert_int_equal(mss_trust_list_read_memory(inputs[i], len, "mem", &list, errbuf, sizeof(errbuf)), -1);
	}
	assert_int_equal(mss_trust_list_read(fixture("billion-laughs.xml"), &(struct mss_trust_list *){NULL}, errbuf,
					     sizeof(errbuf)),
			 -1);
	fflush(stderr);
	assert_int_equal(dup2(saved, 2), 2);
	close(saved);
	assert_int_equal(fstat(fd, &st), 0);
	close(fd);
	unlink(path);
	assert_int_equal(st.st_size, 0);
}

static const char *real_list_path(void)
{
	static const char *const candidates[] = {
	    "/work/shared/data/liste-blanche-2025-03-13.xml",
	    "../shared/data/liste-blanche-2025-03-13.xml",
	};
	const char *env = getenv("MSS_TRUST_LIST_REAL");

	if (env != NULL && env[0] != '\0')
		return env;
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++)
		if (access(candidates[i], R_OK) == 0)
			return candidates[i];
	return NULL;
}

static void test_real_list(void **state)
{
	(void)state;
	const char *path = real_list_path();
	struct mss_trust_list *list = NULL;
	bool uc_cmp = false, apicrypt = false, l_equal = false;

	if (path == NULL)
		skip();
	if (mss_trust_list_read(path, &list, errbuf, sizeof(errbuf)) != 0)
		fail_msg("%s", errbuf);
	assert_string_equal(list->generated, "2025-03-13T14:54:10Z");
	/* 6,554 Domaine elements and 5,002 distinct Nom values as published; one of them,
	   "sessad@ase.ditepbeziers.mssante.fr", is not a domain: skipped. 21 entries repeat
	   the same domain and DN, 7 more once quoted O values are unquoted. */
	assert_int_equal(list->n_domains, 5001);
	/* 5,002 distinct <Nom> values, one of them an address rather than a domain */
	assert_int_equal(list->n_names, 5002);
	assert_int_equal(list->n_skipped, 1);
	assert_int_equal(list->n_duplicates, 28);
	assert_int_equal(list->n_entries, 6554 - 1 - 28);
	assert_int_equal(list->n_operators, 384);
	assert_int_equal(list->missing_root_end, 1);
	assert_true(has_warning(list, "48459: invalid domain \"sessad@ase.ditepbeziers.mssante.fr\" (invalid character "
				      "in domain), entry skipped"));
	assert_true(has_warning(list, "52458: document ends without </ListeBlancheMSSante>, tolerated"));
	for (size_t i = 0; i < list->n_entries; i++) {
		const struct mss_trust_entry *e = &list->entries[i];

		assert_true(e->cn[0] != '\0');
		assert_null(strchr(e->dn, '\n'));
		if (strcmp(e->domain, "uc-cmp.mssante.fr") == 0)
			uc_cmp = true;
		if (strcmp(e->domain, "mssante.apicrypt.org") == 0)
			apicrypt = true;
		if (strcmp(e->dn, "CN=cert-expire-audit.espacedeconfiance.mssante.fr,OU=300000000099622,"
				  "O=GIP - TEST9962,ST=Paris (75),C=FR") == 0)
			l_equal = true;
	}
	assert_true(uc_cmp);
	assert_true(apicrypt);
	assert_true(l_equal);
	mss_trust_list_free(list);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_fixture),
	    cmocka_unit_test(test_missing_root_end_tolerated),
	    cmocka_unit_test(test_missing_root_end_any_size),
	    cmocka_unit_test(test_truncated_at_every_byte),
	    cmocka_unit_test(test_truncated_fixtures),
	    cmocka_unit_test(test_garbage),
	    cmocka_unit_test(test_wrong_root_and_namespace),
	    cmocka_unit_test(test_empty_list_is_an_error),
	    cmocka_unit_test(test_skipped_entries_reported_with_lines),
	    cmocka_unit_test(test_dedup_and_case),
	    cmocka_unit_test(test_dn_spaces_and_l_equal_st),
	    cmocka_unit_test(test_warning_quota),
	    cmocka_unit_test(test_line_numbers_past_65535),
	    cmocka_unit_test(test_xxe_and_billion_laughs_refused),
	    cmocka_unit_test(test_hostile_content),
	    cmocka_unit_test(test_io_errors_and_small_buffers),
	    cmocka_unit_test(test_nothing_written_to_stderr),
	    cmocka_unit_test(test_real_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
