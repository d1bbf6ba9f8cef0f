/* The ANS `Extraction_Correspondance_MSSante` file: UTF-8, '|'-separated, one header line,
   31 columns, ~535,000 rows. External data: whole-file faults fail, single bad rows are
   skipped, counted and reported by line number. */
#ifndef MSS_EXTRACTION_H
#define MSS_EXTRACTION_H

#include <stddef.h>
#include <stdint.h>

#define MSS_EXTRACTION_COLUMNS 31
/* How many bad rows stats describes by line and reason (all are counted). */
#define MSS_EXTRACTION_BAD_REPORTED 16

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
	unsigned long bad_lines[MSS_EXTRACTION_BAD_REPORTED]; /* first bad line numbers */
	char bad_reasons[MSS_EXTRACTION_BAD_REPORTED][96];    /* and why */
	size_t n_bad_reported;
};

/* Called for each valid row; a non-zero return stops the read and is returned (err then
   names the line). */
typedef int mss_extraction_row_cb(const struct mss_extraction_row *row, void *ctx);

/* Reads the file (memory-mapped). A row is bad when its column count is not 31, its address
   is invalid, its type_bal unknown (not exactly PER, ORG, APP or CAB), or a field holds CR,
   NUL or another control character (C0, DEL, C1); bad rows are skipped and reported in
   stats. Whole-file faults return -1 with "FILE:LINE: what is wrong" in err (line 0 when
   the file cannot be opened): unreadable, empty, header missing or not the expected 31
   column names (ASCII case-insensitive), not UTF-8 (checked over the whole file before any
   row is delivered), or more than max_bad_percent percent of the rows bad (known only at
   the end: on -1 the caller must drop the rows it was given). Accepts LF or CRLF line ends,
   a UTF-8 BOM, a last line without newline, and a '|' ending every line when the header
   ends with one. Blank lines are ignored (not rows). Line numbers count the header as 1.
   A header-only file is not an error (0 rows). stats may be NULL. Thread-safe; the rows
   point into the mapping and are valid only during the callback. */
int mss_extraction_read(const char *path, unsigned max_bad_percent, mss_extraction_row_cb *cb, void *ctx,
			struct mss_extraction_stats *stats, char *err, size_t errlen);
int mss_extraction_read_memory(const char *data, size_t len, const char *name, unsigned max_bad_percent,
			       mss_extraction_row_cb *cb, void *ctx, struct mss_extraction_stats *stats, char *err,
			       size_t errlen);

#endif
