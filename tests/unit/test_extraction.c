/* Unit tests of common/extraction.c, the ANS Extraction_Correspondance_MSSante reader. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "extraction.h"

#define HEADER                                                                                                 \
	"type_bal|adresse_bal|type_identifiant_pp|identifiant_pp|identification_nationale_pp|"                 \
	"type_identifiant_structure|identification_structure|service_rattachement|civilite_exercice|"          \
	"nom_exercice|prenom_exercice|cat_profession|libelle_cat_profession|code_profession|"                  \
	"libelle_profession|code_savoir_faire|libelle_savoir_faire|dematerialisation|"                         \
	"raison_sociale_structure_bal|enseigne_commerciale_structure_bal|complement_localisation|"             \
	"complement_distribution|numero_voie|complement_numero_voie|type_voie|libelle_voie|lieudit_mention|" \
	"ligne_acheminement|code_postal|departement|pays"

/* The 29 columns after type_bal and adresse_bal of a realistic PER row. */
#define TAIL_BEFORE_NOM "|8|10001234567|810001234567|1|990000017||DR|"
#define TAIL_AFTER_NOM                                                                                         \
	"|Jean|C|Civil|10|Médecin|SM54|Médecine générale (SM)|O|HÔPITAL TEST||||12||R|DE LA SANTÉ||75013 PARIS|" \
	"75013|75|FRANCE"
#define ROW(type, addr) type "|" addr TAIL_BEFORE_NOM "DUPONT" TAIL_AFTER_NOM
#define GOOD_ROW(n) ROW("PER", "jean.dupont" #n "@hopital-test.mssante.fr")

#define MAX_SEEN 64

struct seen {
	unsigned long count;
	unsigned long stop_after; /* 0: never stop */
	char address[MAX_SEEN][256];
	char type[MAX_SEEN][4];
	char nom[MAX_SEEN][64];
	char pays[MAX_SEEN][16];
	unsigned long line[MAX_SEEN];
};

static void copy_field(char *out, size_t outlen, const struct mss_extraction_row *row, int col)
{
	size_t n = row->len[col] < outlen - 1 ? row->len[col] : outlen - 1;

	memcpy(out, row->field[col], n);
	out[n] = '\0';
}

static int collect(const struct mss_extraction_row *row, void *ctx)
{
	struct seen *seen = ctx;

	if (seen->count < MAX_SEEN) {
		size_t i = seen->count;
		strcpy(seen->address[i], row->address);
		strcpy(seen->type[i], row->type);
		copy_field(seen->nom[i], sizeof(seen->nom[i]), row, MSS_X_NOM_EXERCICE);
		copy_field(seen->pays[i], sizeof(seen->pays[i]), row, MSS_X_PAYS);
		seen->line[i] = row->line;
	}
	seen->count++;
	if (seen->stop_after != 0 && seen->count == seen->stop_after)
		return 7;
	return 0;
}

static struct seen seen;
static struct mss_extraction_stats stats;
static char err[512];

static int read_len(const char *data, size_t len, unsigned max_bad)
{
	memset(&seen, 0, sizeof(seen));
	memset(err, 'X', sizeof(err) - 1);
	err[sizeof(err) - 1] = '\0';
	return mss_extraction_read_memory(data, len, "t.txt", max_bad, collect, &seen, &stats, err, sizeof(err));
}

static int read_text(const char *text, unsigned max_bad)
{
	return read_len(text, strlen(text), max_bad);
}

static const char *fixture(const char *name)
{
	static char path[4096];
	const char *src = getenv("SRC");

	snprintf(path, sizeof(path), "%s/tests/fixtures/extraction/%s", src != NULL ? src : ".", name);
	return path;
}

static void test_row_macro_has_31_columns(void **state)
{
	(void)state;
	const char *row = GOOD_ROW(1);
	int seps = 0;

	for (const char *p = row; *p != '\0'; p++)
		seps += *p == '|';
	assert_int_equal(seps, 30);
	assert_string_equal(mss_extraction_column_names[0], "type_bal");
	assert_string_equal(mss_extraction_column_names[MSS_X_ADRESSE_BAL], "adresse_bal");
	assert_string_equal(mss_extraction_column_names[MSS_X_PAYS], "pays");
}

static void test_good_fixture(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(mss_extraction_read(fixture("good.txt"), 0, collect, &seen, &stats, err, sizeof(err)), 0);
	assert_int_equal(stats.rows, 12);
	assert_int_equal(stats.good, 12);
	assert_int_equal(stats.bad, 0);
	assert_int_equal(stats.n_bad_reported, 0);
	assert_int_equal(seen.count, 12);
	assert_string_equal(seen.address[0], "claire.vasseur@hopital-test.mssante.fr");
	assert_string_equal(seen.type[0], "PER");
	assert_string_equal(seen.nom[0], "VASSEUR");
	assert_int_equal(seen.line[0], 2);
	/* mixed case in the file: the key is lower-cased; the accented name is intact */
	assert_string_equal(seen.address[1], "jean-noel.leveque@hopital-test.mssante.fr");
	assert_string_equal(seen.nom[1], "LÉVÊQUE");
	assert_string_equal(seen.address[5], "secretariat.cardiologie@hopital-test.mssante.fr");
	assert_string_equal(seen.type[5], "ORG");
	assert_string_equal(seen.nom[5], "");
	assert_string_equal(seen.address[11], "loic.demo@chirurgien-dentiste.mssante.fr");
	assert_string_equal(seen.pays[11], "FRANCE");
	assert_int_equal(seen.line[11], 13);
}

static void test_row_fields_point_into_data(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\n" GOOD_ROW(1) "\n", 0), 0);
	assert_int_equal(seen.count, 1);
	assert_string_equal(seen.address[0], "jean.dupont1@hopital-test.mssante.fr");
	assert_string_equal(seen.nom[0], "DUPONT");
	assert_string_equal(seen.pays[0], "FRANCE");
	assert_int_equal(seen.line[0], 2);
}

static void test_header_wrong_name(void **state)
{
	(void)state;
	char text[4096];

	snprintf(text, sizeof(text), "%s\n%s\n", HEADER, GOOD_ROW(1));
	memcpy(strstr(text, "|identifiant_pp|") + 1, "identifiant_XX", 14);
	assert_int_equal(read_text(text, 100), -1);
	assert_string_equal(err, "t.txt:1: header missing or wrong: column 4 is \"identifiant_XX\", "
				 "expected \"identifiant_pp\"");
	assert_int_equal(seen.count, 0);
}

static void test_header_missing(void **state)
{
	(void)state;
	assert_int_equal(read_text(GOOD_ROW(1) "\n" GOOD_ROW(2) "\n", 100), -1);
	assert_string_equal(err, "t.txt:1: header missing or wrong: column 1 is \"PER\", expected \"type_bal\"");
	assert_int_equal(seen.count, 0);
}

static void test_long_values_quoted_short(void **state)
{
	(void)state;
	char text[4096];

	snprintf(text, sizeof(text), "%s\n", "type_bal|adresse_bal_with_a_very_long_name_that_goes_on_and_on|x");
	assert_int_equal(read_text(text, 100), -1);
	assert_string_equal(err, "t.txt:1: header missing or wrong: column 2 is "
				 "\"adresse_bal_with_a_very_long_name_tha...\", expected \"adresse_bal\"");
	assert_int_equal(read_text(HEADER "\n" ROW("PERSONNELLE_\xC3\xA9_TRES_LONGUE_VALEUR_DE_TYPE_BAL_ICI", "a@b.fr") "\n",
			     100),
			 0);
	assert_string_equal(stats.bad_reasons[0], "unknown type_bal \"PERSONNELLE_??_TRES_LONGUE_VALEUR_DE_...\"");
}

static void test_header_column_count(void **state)
{
	(void)state;
	/* 30 columns: pays dropped */
	char text[4096];

	snprintf(text, sizeof(text), "%s", HEADER "\n");
	*strstr(text, "|pays") = '\n';
	assert_int_equal(read_text(text, 100), -1);
	assert_string_equal(err, "t.txt:1: header has 30 columns, expected 31");

	assert_int_equal(read_text(HEADER "|extra\n", 100), -1);
	assert_string_equal(err, "t.txt:1: header has more than 31 columns");

	assert_int_equal(read_text("\n" GOOD_ROW(1) "\n", 100), -1);
	assert_string_equal(err, "t.txt:1: header line missing (empty first line)");
}

static void test_header_case_insensitive(void **state)
{
	(void)state;
	char text[4096];

	snprintf(text, sizeof(text), "%s\n%s\n", HEADER, GOOD_ROW(1));
	for (char *p = text; *p != '\n'; p++)
		if (*p >= 'a' && *p <= 'z')
			*p = (char)(*p - 'a' + 'A');
	assert_int_equal(read_text(text, 0), 0);
	assert_int_equal(seen.count, 1);
}

static void test_bom_accepted(void **state)
{
	(void)state;
	assert_int_equal(read_text("\xEF\xBB\xBF" HEADER "\n" GOOD_ROW(1) "\n", 0), 0);
	assert_int_equal(seen.count, 1);
	assert_string_equal(seen.address[0], "jean.dupont1@hopital-test.mssante.fr");

	/* a BOM alone is an empty file, a BOM at a row start is not (it is inside type_bal) */
	assert_int_equal(read_text("\xEF\xBB\xBF", 0), -1);
	assert_string_equal(err, "t.txt:1: empty file (only a byte order mark)");
	assert_int_equal(read_text(HEADER "\n\xEF\xBB\xBF" GOOD_ROW(1) "\n", 100), 0);
	assert_int_equal(stats.bad, 1);
	assert_string_equal(stats.bad_reasons[0], "unknown type_bal \"???PER\"");
}

static void test_crlf(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\r\n" GOOD_ROW(1) "\r\n" GOOD_ROW(2) "\r\n", 0), 0);
	assert_int_equal(seen.count, 2);
	assert_string_equal(seen.pays[0], "FRANCE"); /* no CR left in the last field */
	assert_string_equal(seen.pays[1], "FRANCE");
	assert_int_equal(seen.line[1], 3);
	/* CRLF without a final newline, and a lone CR at the very end */
	assert_int_equal(read_text(HEADER "\r\n" GOOD_ROW(1) "\r", 0), 0);
	assert_int_equal(seen.count, 1);
	assert_string_equal(seen.pays[0], "FRANCE");
}

static void test_bad_utf8_names_line(void **state)
{
	(void)state;
	/* Latin-1 é (0xE9) in line 4: the whole file is refused before any row is delivered */
	assert_int_equal(read_text(HEADER "\n" GOOD_ROW(1) "\n" GOOD_ROW(2) "\n"
					  "PER|x@hopital-test.mssante.fr|8|1|81||||DR|M\xE9RIC" TAIL_AFTER_NOM "\n" GOOD_ROW(3) "\n",
			     100),
			 -1);
	assert_string_equal(err, "t.txt:4: not valid UTF-8 (byte 0xE9 at column 45)");
	assert_int_equal(seen.count, 0);
}

static void test_bad_utf8_forms(void **state)
{
	(void)state;
	static const char *const bad[] = {
		"\xC0\xAF",	    /* overlong '/' */
		"\xC1\xBF",	    /* overlong */
		"\xE0\x80\xAF",	    /* overlong 3-byte */
		"\xED\xA0\x80",	    /* surrogate U+D800 */
		"\xF0\x80\x80\xAF", /* overlong 4-byte */
		"\xF4\x90\x80\x80", /* above U+10FFFF */
		"\xF5\x80\x80\x80", /* never valid */
		"\xFF",
		"\x80",		/* stray continuation */
		"\xC3",		/* truncated at end of file */
		"\xE2\x82",	/* truncated */
		"\xC3\x28",	/* bad continuation */
	};
	static const char *const good[] = { "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80", "\xEF\xBF\xBD",
					    "\xF4\x8F\xBF\xBF", "\xED\x9F\xBF" };
	char text[4096];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int n = snprintf(text, sizeof(text), "%s\n%s\nPER|a@b.fr" TAIL_BEFORE_NOM "%s", HEADER, GOOD_ROW(1),
				 bad[i]);
		assert_int_equal(read_len(text, (size_t)n, 100), -1);
		assert_non_null(strstr(err, "t.txt:3: not valid UTF-8"));
		assert_int_equal(seen.count, 0);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		int n = snprintf(text, sizeof(text), "%s\nPER|a@b.fr" TAIL_BEFORE_NOM "X%sY" TAIL_AFTER_NOM "\n", HEADER,
				 good[i]);
		assert_int_equal(read_len(text, (size_t)n, 0), 0);
		assert_int_equal(seen.count, 1);
	}
}

static void test_wrong_column_count_reported_by_line(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\n" GOOD_ROW(1) "\n"
					  "PER|a@hopital-test.mssante.fr|8\n" GOOD_ROW(2) "\n" GOOD_ROW(3) "|extra\n" GOOD_ROW(4) "\n"
					  GOOD_ROW(5) "||\n",
			     100),
			 0);
	assert_int_equal(stats.rows, 6);
	assert_int_equal(stats.good, 3);
	assert_int_equal(stats.bad, 3);
	assert_int_equal(stats.n_bad_reported, 3);
	assert_int_equal(stats.bad_lines[0], 3);
	assert_string_equal(stats.bad_reasons[0], "3 columns, expected 31");
	assert_int_equal(stats.bad_lines[1], 5);
	assert_string_equal(stats.bad_reasons[1], "32 columns, expected 31");
	assert_int_equal(stats.bad_lines[2], 7);
	assert_string_equal(stats.bad_reasons[2], "33 columns, expected 31");
	assert_int_equal(seen.count, 3);
	assert_int_equal(seen.line[0], 2);
	assert_int_equal(seen.line[1], 4);
	assert_int_equal(seen.line[2], 6);
	assert_string_equal(seen.address[2], "jean.dupont4@hopital-test.mssante.fr");
}

static void test_bad_type_and_address(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\n" ROW("XYZ", "a@hopital-test.mssante.fr") "\n"
					  ROW("per", "b@hopital-test.mssante.fr") "\n" ROW("", "c@hopital-test.mssante.fr") "\n"
					  ROW("PER", "no-at-sign.hopital-test.mssante.fr") "\n" ROW("ORG", "") "\n"
					  ROW("ORG", "x@@hopital-test.mssante.fr") "\n" ROW("CAB", "cab@medecin.mssante.fr") "\n"
					  ROW("APP", "dpi@hopital-test.mssante.fr") "\n",
			     100),
			 0);
	assert_int_equal(stats.rows, 8);
	assert_int_equal(stats.bad, 6);
	assert_string_equal(stats.bad_reasons[0], "unknown type_bal \"XYZ\"");
	assert_string_equal(stats.bad_reasons[1], "unknown type_bal \"per\"");
	assert_string_equal(stats.bad_reasons[2], "unknown type_bal \"\"");
	for (int i = 3; i < 6; i++) {
		assert_int_equal(stats.bad_lines[i], (unsigned long)i + 2);
		assert_non_null(strstr(stats.bad_reasons[i], "invalid adresse_bal: "));
	}
	assert_int_equal(seen.count, 2);
	assert_string_equal(seen.type[0], "CAB");
	assert_string_equal(seen.type[1], "APP");
	assert_string_equal(seen.address[1], "dpi@hopital-test.mssante.fr");
}

static void test_too_many_bad_rows(void **state)
{
	(void)state;
	/* 1 bad row of 10: 10% */
	const char *text = HEADER "\n" GOOD_ROW(1) "\n" GOOD_ROW(2) "\n" GOOD_ROW(3) "\n" GOOD_ROW(4) "\n"
		ROW("XYZ", "a@b.fr") "\n" GOOD_ROW(5) "\n" GOOD_ROW(6) "\n" GOOD_ROW(7) "\n" GOOD_ROW(8) "\n"
		GOOD_ROW(9) "\n";

	assert_int_equal(read_text(text, 9), -1);
	assert_string_equal(err, "t.txt:6: 1 of 10 rows bad (10.0%), more than 9%; this one: unknown type_bal \"XYZ\"");
	assert_int_equal(read_text(text, 10), 0); /* exactly the limit is accepted */
	assert_int_equal(stats.bad, 1);
	assert_int_equal(seen.count, 9);
	assert_int_equal(read_text(text, 0), -1);
	assert_int_equal(read_text(HEADER "\n" GOOD_ROW(1) "\n", 0), 0); /* 0%: no bad row allowed, none there */
}

static void test_empty_file(void **state)
{
	(void)state;
	char path[] = "/tmp/mss-test-extraction-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(read_len("", 0, 100), -1);
	assert_string_equal(err, "t.txt:1: empty file");
	assert_int_equal(mss_extraction_read(path, 100, collect, &seen, &stats, err, sizeof(err)), -1);
	assert_string_equal(err + strlen(path), ":1: empty file");
	unlink(path);
}

static void test_header_only(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\n", 0), 0);
	assert_int_equal(stats.rows, 0);
	assert_int_equal(seen.count, 0);
	assert_int_equal(read_text(HEADER, 0), 0); /* without its newline */
	assert_int_equal(stats.rows, 0);
	assert_int_equal(read_text(HEADER "\r\n\r\n\n", 0), 0); /* blank lines are not rows */
	assert_int_equal(stats.rows, 0);
}

static void test_embedded_nul(void **state)
{
	(void)state;
	static const char text[] = HEADER "\n" GOOD_ROW(1) "\n"
		"PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\0PONT" TAIL_AFTER_NOM "\n" GOOD_ROW(2) "\n";

	assert_int_equal(read_len(text, sizeof(text) - 1, 100), 0);
	assert_int_equal(stats.rows, 3);
	assert_int_equal(stats.bad, 1);
	assert_int_equal(stats.bad_lines[0], 3);
	assert_string_equal(stats.bad_reasons[0], "control character 0x00 in column 10 (nom_exercice)");
	assert_int_equal(seen.count, 2);

	/* a NUL in the address itself */
	static const char text2[] = HEADER "\n" "PER|x@hopital\0-test.mssante.fr" TAIL_BEFORE_NOM "A" TAIL_AFTER_NOM "\n";
	assert_int_equal(read_len(text2, sizeof(text2) - 1, 100), 0);
	assert_int_equal(stats.bad, 1);
	assert_string_equal(stats.bad_reasons[0], "control character 0x00 in column 2 (adresse_bal)");
}

static void test_control_characters(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\n"
					  "PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\rPONT" TAIL_AFTER_NOM "\n"
					  "PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\tPONT" TAIL_AFTER_NOM "\n"
					  "PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\x7FPONT" TAIL_AFTER_NOM "\n"
					  "PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\xC2\x85PONT" TAIL_AFTER_NOM "\n"
					  "PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\x1BPONT" TAIL_AFTER_NOM "\n"
					  GOOD_ROW(1) "\r\r\n"
					  /* U+00A0..U+00FF (0xC2 0xA0..) are text, not C1 controls */
					  "PER|x@hopital-test.mssante.fr" TAIL_BEFORE_NOM "DU\xC2\xA0PONT" TAIL_AFTER_NOM "\n",
			     100),
			 0);
	assert_int_equal(stats.rows, 7);
	assert_int_equal(stats.bad, 6);
	assert_string_equal(stats.bad_reasons[0], "control character 0x0D in column 10 (nom_exercice)");
	assert_string_equal(stats.bad_reasons[1], "control character 0x09 in column 10 (nom_exercice)");
	assert_string_equal(stats.bad_reasons[2], "control character 0x7F in column 10 (nom_exercice)");
	assert_string_equal(stats.bad_reasons[3], "C1 control character U+0085 in column 10 (nom_exercice)");
	assert_string_equal(stats.bad_reasons[4], "control character 0x1B in column 10 (nom_exercice)");
	assert_string_equal(stats.bad_reasons[5], "control character 0x0D in column 31 (pays)");
	assert_int_equal(stats.bad_lines[5], 7);
	assert_int_equal(seen.count, 1);
	assert_string_equal(seen.nom[0], "DU\xC2\xA0PONT");
}

static void test_last_line_without_newline(void **state)
{
	(void)state;
	assert_int_equal(read_text(HEADER "\n" GOOD_ROW(1) "\n" GOOD_ROW(2), 0), 0);
	assert_int_equal(seen.count, 2);
	assert_string_equal(seen.pays[1], "FRANCE");
	assert_string_equal(seen.address[1], "jean.dupont2@hopital-test.mssante.fr");
	assert_int_equal(seen.line[1], 3);
}

static void test_trailing_separator_layout(void **state)
{
	(void)state;
	/* every line ends with '|': accepted when the header does so */
	assert_int_equal(read_text(HEADER "|\n" GOOD_ROW(1) "|\n" GOOD_ROW(2) "\n" GOOD_ROW(3) "|x\n", 100), 0);
	assert_int_equal(stats.rows, 3);
	assert_int_equal(stats.good, 1);
	assert_string_equal(seen.pays[0], "FRANCE");
	assert_string_equal(stats.bad_reasons[0], "30 columns, expected 31");
	assert_int_equal(stats.bad_lines[1], 4);
	/* ...but not when the header does not */
	assert_int_equal(read_text(HEADER "\n" GOOD_ROW(1) "|\n", 100), 0);
	assert_int_equal(stats.bad, 1);
}

static void test_bad_rows_reported_up_to_limit(void **state)
{
	(void)state;
	char *text = malloc(64 * 1024);
	size_t len = 0;

	assert_non_null(text);
	len += (size_t)sprintf(text + len, "%s\n", HEADER);
	for (int i = 0; i < 40; i++)
		len += (size_t)sprintf(text + len, "%s\n", i % 2 ? GOOD_ROW(1) : ROW("BAD", "a@b.fr"));
	assert_int_equal(read_len(text, len, 50), 0);
	assert_int_equal(stats.rows, 40);
	assert_int_equal(stats.bad, 20);
	assert_int_equal(stats.n_bad_reported, MSS_EXTRACTION_BAD_REPORTED);
	assert_int_equal(stats.bad_lines[0], 2);
	assert_int_equal(stats.bad_lines[MSS_EXTRACTION_BAD_REPORTED - 1], 2 + 2 * (MSS_EXTRACTION_BAD_REPORTED - 1));
	assert_int_equal(read_len(text, len, 49), -1);
	assert_string_equal(err, "t.txt:2: 20 of 40 rows bad (50.0%), more than 49%; this one: unknown type_bal \"BAD\"");
	free(text);
}

static void test_callback_stops(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	seen.stop_after = 2;
	static const char text[] = HEADER "\n" GOOD_ROW(1) "\n" GOOD_ROW(2) "\n" GOOD_ROW(3) "\n";
	assert_int_equal(mss_extraction_read_memory(text, sizeof(text) - 1, "t.txt", 0, collect, &seen, &stats, err,
						    sizeof(err)),
			 7);
	assert_int_equal(seen.count, 2);
	assert_string_equal(err, "t.txt:3: reading stopped by the row handler");
}

static void test_two_bad_rows_fixture(void **state)
{
	(void)state;
	memset(&seen, 0, sizeof(seen));
	assert_int_equal(mss_extraction_read(fixture("two-bad-rows.txt"), 1, collect, &seen, &stats, err, sizeof(err)),
			 0);
	assert_int_equal(stats.rows, 300);
	assert_int_equal(stats.good, 298);
	assert_int_equal(stats.bad, 2);
	assert_int_equal(stats.bad_lines[0], 57);
	assert_string_equal(stats.bad_reasons[0], "30 columns, expected 31");
	assert_int_equal(stats.bad_lines[1], 211);
	assert_non_null(strstr(stats.bad_reasons[1], "invalid adresse_bal"));
	assert_int_equal(seen.count, 298);
	/* 2 of 300 is 0.67%: refused at 0% (shown rounded down) */
	assert_int_equal(mss_extraction_read(fixture("two-bad-rows.txt"), 0, NULL, NULL, NULL, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "two-bad-rows.txt:57: 2 of 300 rows bad (0.6%), more than 0%"));
}

static void test_many_bad_rows_fixture(void **state)
{
	(void)state;
	assert_int_equal(mss_extraction_read(fixture("many-bad-rows.txt"), 1, NULL, NULL, &stats, err, sizeof(err)), -1);
	assert_int_equal(stats.rows, 60);
	assert_int_equal(stats.bad, 12);
	assert_non_null(strstr(err, "many-bad-rows.txt:4: 12 of 60 rows bad (20.0%), more than 1%"));
	assert_int_equal(stats.bad_lines[0], 4);
	assert_int_equal(stats.bad_lines[11], 59);
}

static void test_unreadable_file(void **state)
{
	(void)state;
	assert_int_equal(mss_extraction_read("/nonexistent/extraction.txt", 1, collect, &seen, &stats, err, sizeof(err)),
			 -1);
	assert_string_equal(err, "/nonexistent/extraction.txt:0: cannot open: No such file or directory");
	assert_int_equal(mss_extraction_read("/tmp", 1, collect, &seen, &stats, err, sizeof(err)), -1);
	assert_string_equal(err, "/tmp:0: not a regular file");
}

static void test_small_error_buffer(void **state)
{
	(void)state;
	char small[8];

	memset(small, 'X', sizeof(small));
	assert_int_equal(mss_extraction_read_memory(GOOD_ROW(1), strlen(GOOD_ROW(1)), "t.txt", 0, NULL, NULL, NULL,
						    small, sizeof(small)),
			 -1);
	assert_string_equal(small, "t.txt:1");
	/* no error buffer at all */
	assert_int_equal(mss_extraction_read_memory("", 0, NULL, 0, NULL, NULL, NULL, NULL, 0), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_row_macro_has_31_columns),
		cmocka_unit_test(test_good_fixture),
		cmocka_unit_test(test_row_fields_point_into_data),
		cmocka_unit_test(test_header_wrong_name),
		cmocka_unit_test(test_header_missing),
		cmocka_unit_test(test_long_values_quoted_short),
		cmocka_unit_test(test_header_column_count),
		cmocka_unit_test(test_header_case_insensitive),
		cmocka_unit_test(test_bom_accepted),
		cmocka_unit_test(test_crlf),
		cmocka_unit_test(test_bad_utf8_names_line),
		cmocka_unit_test(test_bad_utf8_forms),
		cmocka_unit_test(test_wrong_column_count_reported_by_line),
		cmocka_unit_test(test_bad_type_and_address),
		cmocka_unit_test(test_too_many_bad_rows),
		cmocka_unit_test(test_empty_file),
		cmocka_unit_test(test_header_only),
		cmocka_unit_test(test_embedded_nul),
		cmocka_unit_test(test_control_characters),
		cmocka_unit_test(test_last_line_without_newline),
		cmocka_unit_test(test_trailing_separator_layout),
		cmocka_unit_test(test_bad_rows_reported_up_to_limit),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_two_bad_rows_fixture),
		cmocka_unit_test(test_many_bad_rows_fixture),
		cmocka_unit_test(test_unreadable_file),
		cmocka_unit_test(test_small_error_buffer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
