/* The ANS `Extraction_Correspondance_MSSante` file: UTF-8, '|'-separated, one header line,
   31 columns, ~535,000 rows. External data: whole-file faults fail, single bad rows are
   skipped, counted and reported by line number. */
#ifndef MSS_EXTRACTION_H
#define MSS_EXTRACTION_H

#include <stddef.h>
#include <stdint.h>

#define MSS_EXTRACTION_COLUMNS 31

/* Column indexes, in the published order. */
enum mss_extraction_column {
	MSS_X_TYPE_BAL,
	MSS_X_ADRESSE_BAL,
	MSS_X_TYPE_IDENTIFIANT_PP,
	MSS_X_IDENTIFIANT_PP,
	MSS_X_IDENTIFICATION_NATIONALE_PP,
	MSS_X_TYPE_IDENTIFIANT_STRUCTURE,
	MSS_X_IDENTIFICATION_STRUCTURE,
	MSS_X_SERVICE_RATTACHEMENT,
	MSS_X_CIVILITE_EXERCICE,
	MSS_X_NOM_EXERCICE,
	MSS_X_PRENOM_EXERCICE,
	MSS_X_CAT_PROFESSION,
	MSS_X_LIBELLE_CAT_PROFESSION,
	MSS_X_CODE_PROFESSION,
	MSS_X_LIBELLE_PROFESSION,
	MSS_X_CODE_SAVOIR_FAIRE,
	MSS_X_LIBELLE_SAVOIR_FAIRE,
	MSS_X_DEMATERIALISATION,
	MSS_X_RAISON_SOCIALE_STRUCTURE_BAL,
	MSS_X_ENSEIGNE_COMMERCIALE_STRUCTURE_BAL,
	MSS_X_COMPLEMENT_LOCALISATION,
	MSS_X_COMPLEMENT_DISTRIBUTION,
	MSS_X_NUMERO_VOIE,
	MSS_X_COMPLEMENT_NUMERO_VOIE,
	MSS_X_TYPE_VOIE,
	MSS_X_LIBELLE_VOIE,
	MSS_X_LIEUDIT_MENTION,
	MSS_X_LIGNE_ACHEMINEMENT,
	MSS_X_CODE_POSTAL,
	MSS_X_DEPARTEMENT,
	MSS_X_PAYS,
};

extern const char *const mss_extraction_column_names[MSS_EXTRACTION_COLUMNS];

/* One valid row, pointing into the mapped file (not NUL-terminated). */
struct mss_extraction_row {
	const char *field[MSS_EXTRACTION_COLUMNS];
	size_t len[MSS_EXTRACTION_COLUMNS];
	/* Filled by the reader: the BAL address normalised (mss_addr_normalize) and its type. */
	char address[256];
	char type[4]; /* "PER", "ORG", "APP", "CAB" */
	unsigned long line;
};

struct mss_extraction_stats {
	unsigned long rows;	/* data rows seen */
	unsigned long good;	/* passed to the callback */
	unsigned long bad;	/* skipped */
	unsigned long bad_lines[16]; /* first bad line numbers */
	char bad_reasons[16][96];    /* and why */
	size_t n_bad_reported;
};

/* Called for each valid row; a non-zero return stops the read and is returned. */
typedef int mss_extraction_row_cb(const struct mss_extraction_row *row, void *ctx);

/* Reads the file (memory-mapped). A row is bad when its column count is not 31, its address
   is invalid, its type_bal unknown, or a field holds CR, NUL or a control character; bad
   rows are skipped and reported in stats. Whole-file faults return -1 with
   "FILE:LINE: what is wrong" in err: unreadable, empty, header missing or not the expected
   31 column names, not UTF-8 (checked over the whole file), or more than
   max_bad_percent percent of the rows bad. Accepts LF or CRLF line ends and a UTF-8 BOM. */
int mss_extraction_read(const char *path, unsigned max_bad_percent, mss_extraction_row_cb *cb, void *ctx,
			struct mss_extraction_stats *stats, char *err, size_t errlen);
int mss_extraction_read_memory(const char *data, size_t len, const char *name, unsigned max_bad_percent,
			       mss_extraction_row_cb *cb, void *ctx, struct mss_extraction_stats *stats, char *err,
			       size_t errlen);

#endif
