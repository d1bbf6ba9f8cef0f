/* Reader of the ANS `Extraction_Correspondance_MSSante` file (see extraction.h).

   The file is ~90-170 MB a day, so the reader maps it and makes two passes over the bytes
   without copying or allocating per row:
     1. UTF-8 validation of the whole file (ASCII fast path, 16 bytes at a time), before any
        row reaches the callback: a file that is not UTF-8 anywhere is refused as a whole;
     2. one scan per line that splits fields on '|' and flags control characters, then the
        row checks (column count, type_bal, address).
   Only the bad-row percentage is known after the rows were delivered: on -1 the caller
   drops what it got (sync builds into a temporary snapshot anyway). */
#include "extraction.h"

#include "addr.h"
#include "error.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

const char *const mss_extraction_column_names[MSS_EXTRACTION_COLUMNS] = {
	"type_bal",
	"adresse_bal",
	"type_identifiant_pp",
	"identifiant_pp",
	"identification_nationale_pp",
	"type_identifiant_structure",
	"identification_structure",
	"service_rattachement",
	"civilite_exercice",
	"nom_exercice",
	"prenom_exercice",
	"cat_profession",
	"libelle_cat_profession",
	"code_profession",
	"libelle_profession",
	"code_savoir_faire",
	"libelle_savoir_faire",
	"dematerialisation",
	"raison_sociale_structure_bal",
	"enseigne_commerciale_structure_bal",
	"complement_localisation",
	"complement_distribution",
	"numero_voie",
	"complement_numero_voie",
	"type_voie",
	"libelle_voie",
	"lieudit_mention",
	"ligne_acheminement",
	"code_postal",
	"departement",
	"pays",
};

/* A header (and then every row) may end with one extra '|': tolerated because other
   exports of the ANS directory (RPPS "PS_LibreAcces") end their lines with the separator. */

static const char *const bal_types[] = { "PER", "ORG", "APP", "CAB" };

/* ---- pass 1: UTF-8 ---- */

static bool all_ascii_16(const unsigned char *p)
{
	uint64_t a, b;

	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	return ((a | b) & UINT64_C(0x8080808080808080)) == 0;
}

/* Returns the offset of the first byte that does not start or continue a well-formed
   UTF-8 sequence (RFC 3629: no overlongs, no surrogates, nothing above U+10FFFF), or len. */
static size_t utf8_invalid_offset(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		if (len - i >= 16 && all_ascii_16(s + i)) {
			i += 16;
			continue;
		}
		unsigned char c = s[i];
		if (c < 0x80) {
			i++;
			continue;
		}
		size_t need;
		unsigned char lo = 0x80, hi = 0xBF; /* allowed range of the second byte */
		if (c >= 0xC2 && c <= 0xDF) {
			need = 1;
		} else if (c >= 0xE0 && c <= 0xEF) {
			need = 2;
			if (c == 0xE0)
				lo = 0xA0; /* overlong */
			else if (c == 0xED)
				hi = 0x9F; /* surrogates */
		} else if (c >= 0xF0 && c <= 0xF4) {
			need = 3;
			if (c == 0xF0)
				lo = 0x90; /* overlong */
			else if (c == 0xF4)
				hi = 0x8F; /* above U+10FFFF */
		} else {
			return i;
		}
		if (len - i <= need)
			return i;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return i;
		for (size_t k = 2; k <= need; k++)
			if ((s[i + k] & 0xC0) != 0x80)
				return i;
		i += need + 1;
	}
	return len;
}

static unsigned long line_of_offset(const char *data, size_t off)
{
	unsigned long line = 1;
	const char *p = data, *end = data + off, *nl;

	while (p < end && (nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		line++;
		p = nl + 1;
	}
	return line;
}

/* ---- pass 2: lines and fields ---- */

enum byte_class { B_TEXT, B_SEP, B_CTRL, B_C2 };

/* C0 controls and DEL are CTRL; '|' separates; 0xC2 may open a C1 control (U+0080..U+009F). */
static const unsigned char byte_class[256] = {
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x00 */
	2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, /* 0x10 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x20 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x30 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x40 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x50 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x60 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 2, /* 0x70: '|' and DEL */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x80 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0x90 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xA0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xB0 */
	0, 0, 3, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xC0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xD0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xE0 */
	0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* 0xF0 */
};

static const char *column_name(size_t col)
{
	return col < MSS_EXTRACTION_COLUMNS ? mss_extraction_column_names[col] : "extra column";
}

/* Word-at-a-time classification (SWAR): the high bit of each byte of the result is set
   exactly when that byte of x needs a look: '|', a C0 control, DEL or 0xC2 (which may open
   a C1 control). No false positives: no carry crosses a byte. Rows are ~85% plain text, so
   skipping 8 bytes at a time and visiting only the marked ones halves the reader's time. */
#define REPEAT_BYTE(b) (UINT64_C(0x0101010101010101) * (b))
#define LOW7 REPEAT_BYTE(0x7F)
#define HIGH1 REPEAT_BYTE(0x80)

static inline uint64_t bytes_equal(uint64_t x, uint64_t repeated)
{
	uint64_t y = x ^ repeated;
	return ~(((y & LOW7) + LOW7) | y | LOW7);
}

static inline uint64_t bytes_below_0x20(uint64_t x)
{
	return ~((x & LOW7) + REPEAT_BYTE(0x60)) & ~x & HIGH1;
}

static inline uint64_t special_bytes(const unsigned char *q)
{
	uint64_t x;

	memcpy(&x, q, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	x = __builtin_bswap64(x); /* byte 0 in the low bits, as the bit scan below expects */
#endif
	return bytes_equal(x, REPEAT_BYTE('|')) | bytes_equal(x, REPEAT_BYTE(0x7F)) |
	       bytes_equal(x, REPEAT_BYTE(0xC2)) | bytes_below_0x20(x);
}

struct splitter {
	struct mss_extraction_row *row;
	const unsigned char *field_start;
	size_t n_fields; /* separators seen so far */
};

/* Handles a byte that is not plain text; -1 with a reason on a control character. The input
   was validated as UTF-8: a 0xC2 byte is always followed by a continuation byte inside the
   line. */
static int special_byte(struct splitter *sp, const unsigned char *q, char *reason, size_t reasonlen)
{
	switch (byte_class[*q]) {
	case B_TEXT:
		return 0;
	case B_SEP:
		if (sp->n_fields < MSS_EXTRACTION_COLUMNS) {
			sp->row->field[sp->n_fields] = (const char *)sp->field_start;
			sp->row->len[sp->n_fields] = (size_t)(q - sp->field_start);
		}
		sp->n_fields++;
		sp->field_start = q + 1;
		return 0;
	case B_C2:
		if (q[1] >= 0xA0)
			return 0;
		snprintf(reason, reasonlen, "C1 control character U+%04X in column %zu (%s)", (unsigned)q[1],
			 sp->n_fields + 1, column_name(sp->n_fields));
		return -1;
	default:
		snprintf(reason, reasonlen, "control character 0x%02X in column %zu (%s)", (unsigned)*q,
			 sp->n_fields + 1, column_name(sp->n_fields));
		return -1;
	}
}

/* Splits [p, end) (the line without its end) on '|'. Keeps the first 31 fields in row,
   says whether the last field is empty (a trailing separator), returns the number of
   fields, or 0 with a reason if a field holds a control character. */
static size_t split_fields(const char *p, const char *end, struct mss_extraction_row *row, bool *last_empty_r,
			   char *reason, size_t reasonlen)
{
	const unsigned char *q = (const unsigned char *)p, *e = (const unsigned char *)end;
	struct splitter sp = { .row = row, .field_start = q, .n_fields = 0 };

	for (; e - q >= 8; q += 8) {
		for (uint64_t marks = special_bytes(q); marks != 0; marks &= marks - 1) {
			const unsigned char *c = q + (__builtin_ctzll(marks) >> 3);
			if (*c == '|' && sp.n_fields < MSS_EXTRACTION_COLUMNS) { /* the common case, inline */
				row->field[sp.n_fields] = (const char *)sp.field_start;
				row->len[sp.n_fields++] = (size_t)(c - sp.field_start);
				sp.field_start = c + 1;
			} else if (special_byte(&sp, c, reason, reasonlen) < 0) {
				return 0;
			}
		}
	}
	for (; q < e; q++)
		if (byte_class[*q] != B_TEXT && special_byte(&sp, q, reason, reasonlen) < 0)
			return 0;
	if (sp.n_fields < MSS_EXTRACTION_COLUMNS) {
		row->field[sp.n_fields] = (const char *)sp.field_start;
		row->len[sp.n_fields] = (size_t)(q - sp.field_start);
	}
	*last_empty_r = q == sp.field_start;
	return sp.n_fields + 1;
}

/* Copies at most 40 bytes of untrusted text for a message, printable ASCII only. */
#define QUOTE_MAX 40
static void quote_for_message(const char *s, size_t len, char *out, size_t outlen)
{
	size_t i, n = len < QUOTE_MAX ? len : QUOTE_MAX;

	if (n > outlen - 1)
		n = outlen - 1;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		out[i] = (c >= 0x20 && c < 0x7F) ? (char)c : '?';
	}
	out[i] = '\0';
	if (len > n && n >= 3)
		memcpy(out + n - 3, "...", 3);
}

/* Checks one data line; 0 and the row filled, or -1 with a reason. */
static int check_row(const char *p, const char *end, bool trailing_separator, struct mss_extraction_row *row,
		     char *reason, size_t reasonlen)
{
	const char *addr_error;
	char quoted[QUOTE_MAX + 1];
	bool last_empty;
	size_t n, i;

	n = split_fields(p, end, row, &last_empty, reason, reasonlen);
	if (n == 0)
		return -1;
	/* A header ending with '|' means every row ends with it: 32 fields, the last empty. */
	if (trailing_separator ? (n != MSS_EXTRACTION_COLUMNS + 1 || !last_empty) : n != MSS_EXTRACTION_COLUMNS) {
		snprintf(reason, reasonlen, "%zu columns, expected %d", trailing_separator ? n - 1 : n,
			 MSS_EXTRACTION_COLUMNS);
		return -1;
	}
	for (i = 0; i < sizeof(bal_types) / sizeof(bal_types[0]); i++)
		if (row->len[MSS_X_TYPE_BAL] == 3 && memcmp(row->field[MSS_X_TYPE_BAL], bal_types[i], 3) == 0)
			break;
	if (i == sizeof(bal_types) / sizeof(bal_types[0])) {
		quote_for_message(row->field[MSS_X_TYPE_BAL], row->len[MSS_X_TYPE_BAL], quoted, sizeof(quoted));
		snprintf(reason, reasonlen, "unknown type_bal \"%s\"", quoted);
		return -1;
	}
	memcpy(row->type, bal_types[i], 4);
	if (mss_addr_normalize(row->field[MSS_X_ADRESSE_BAL], row->len[MSS_X_ADRESSE_BAL], row->address,
			       sizeof(row->address), &addr_error) < 0) {
		snprintf(reason, reasonlen, "invalid adresse_bal: %s", addr_error != NULL ? addr_error : "?");
		return -1;
	}
	return 0;
}

/* Line [p, *end_r): finds the next LF (or the end of data), sets *next_r past it and
   returns the end of the line content without a CR before the LF. */
static const char *line_end(const char *p, const char *data_end, const char **next_r)
{
	const char *nl = memchr(p, '\n', (size_t)(data_end - p));
	const char *end = nl != NULL ? nl : data_end;

	*next_r = nl != NULL ? nl + 1 : data_end;
	if (end > p && end[-1] == '\r')
		end--;
	return end;
}

/* 0 if the header names the 31 columns in order (ASCII case-insensitive); -1 and err. */
static int check_header(const char *p, const char *end, const char *name, bool *trailing_separator_r, char *err,
			size_t errlen)
{
	const char *field = p, *sep;
	char quoted[QUOTE_MAX + 1];
	size_t col;

	*trailing_separator_r = false;
	if (p == end) {
		mss_set_error(err, errlen, "%s:1: header line missing (empty first line)", name);
		return -1;
	}
	for (col = 0;; col++) {
		sep = memchr(field, '|', (size_t)(end - field));
		const char *field_end = sep != NULL ? sep : end;
		size_t flen = (size_t)(field_end - field);

		if (col == MSS_EXTRACTION_COLUMNS) {
			if (flen == 0 && sep == NULL) {
				*trailing_separator_r = true;
				return 0;
			}
			break; /* too many columns */
		}
		const char *want = mss_extraction_column_names[col];
		if (flen != strlen(want) || strncasecmp(field, want, flen) != 0) {
			quote_for_message(field, flen, quoted, sizeof(quoted));
			mss_set_error(err, errlen, "%s:1: header missing or wrong: column %zu is \"%s\", expected \"%s\"",
				  name, col + 1, quoted, want);
			return -1;
		}
		if (sep == NULL) {
			if (col + 1 == MSS_EXTRACTION_COLUMNS)
				return 0;
			mss_set_error(err, errlen, "%s:1: header has %zu columns, expected %d", name, col + 1,
				  MSS_EXTRACTION_COLUMNS);
			return -1;
		}
		field = sep + 1;
	}
	mss_set_error(err, errlen, "%s:1: header has more than %d columns", name, MSS_EXTRACTION_COLUMNS);
	return -1;
}

static void count_bad(struct mss_extraction_stats *stats, unsigned long line, const char *reason)
{
	stats->bad++;
	if (stats->n_bad_reported < MSS_EXTRACTION_BAD_REPORTED) {
		stats->bad_lines[stats->n_bad_reported] = line;
		snprintf(stats->bad_reasons[stats->n_bad_reported], sizeof(stats->bad_reasons[0]), "%s", reason);
		stats->n_bad_reported++;
	}
}

int mss_extraction_read_memory(const char *data, size_t len, const char *name, unsigned max_bad_percent,
			       mss_extraction_row_cb *cb, void *ctx, struct mss_extraction_stats *stats, char *err,
			       size_t errlen)
{
	struct mss_extraction_stats local_stats;
	struct mss_extraction_row row;
	const char *p, *end, *next, *data_end = data + len;
	char reason[sizeof(stats->bad_reasons[0])];
	bool trailing_separator;
	unsigned long line;
	size_t bad_off;
	int ret;

	if (name == NULL)
		name = "<memory>";
	if (stats == NULL)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	if (err != NULL && errlen > 0)
		err[0] = '\0';

	if (len == 0) {
		mss_set_error(err, errlen, "%s:1: empty file", name);
		return -1;
	}
	bad_off = utf8_invalid_offset((const unsigned char *)data, len);
	if (bad_off != len) {
		line = line_of_offset(data, bad_off);
		const char *line_start = data + bad_off;
		while (line_start > data && line_start[-1] != '\n')
			line_start--;
		mss_set_error(err, errlen, "%s:%lu: not valid UTF-8 (byte 0x%02X at column %zu)", name, line,
			  (unsigned)(unsigned char)data[bad_off], (size_t)(data + bad_off - line_start) + 1);
		return -1;
	}

	p = data;
	if (len >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0)
		p += 3;
	if (p == data_end) {
		mss_set_error(err, errlen, "%s:1: empty file (only a byte order mark)", name);
		return -1;
	}
	end = line_end(p, data_end, &next);
	if (check_header(p, end, name, &trailing_separator, err, errlen) < 0)
		return -1;

	for (line = 2, p = next; p < data_end; line++, p = next) {
		end = line_end(p, data_end, &next);
		if (end == p)
			continue; /* blank line: not a row */
		stats->rows++;
		if (check_row(p, end, trailing_separator, &row, reason, sizeof(reason)) < 0) {
			count_bad(stats, line, reason);
			continue;
		}
		stats->good++;
		row.line = line;
		if (cb != NULL && (ret = cb(&row, ctx)) != 0) {
			mss_set_error(err, errlen, "%s:%lu: reading stopped by the row handler", name, line);
			return ret;
		}
	}

	/* Integer test of bad/rows > max_bad_percent/100; no overflow below 2^57 rows. */
	if (stats->bad > 0 && (uint64_t)stats->bad * 100 > (uint64_t)max_bad_percent * stats->rows) {
		unsigned long permille = (unsigned long)((uint64_t)stats->bad * 1000 / stats->rows);
		mss_set_error(err, errlen, "%s:%lu: %lu of %lu rows bad (%lu.%lu%%), more than %u%%; this one: %s", name,
			  stats->bad_lines[0], stats->bad, stats->rows, permille / 10, permille % 10, max_bad_percent,
			  stats->bad_reasons[0]);
		return -1;
	}
	return 0;
}

int mss_extraction_read(const char *path, unsigned max_bad_percent, mss_extraction_row_cb *cb, void *ctx,
			struct mss_extraction_stats *stats, char *err, size_t errlen)
{
	struct mss_extraction_stats local_stats;
	struct stat st;
	void *map = MAP_FAILED;
	char ebuf[128];
	int fd, ret = -1;

	if (stats == NULL)
		stats = &local_stats;
	memset(stats, 0, sizeof(*stats));
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0) {
		mss_set_error(err, errlen, "%s:0: cannot open: %s", path, strerror_r(errno, ebuf, sizeof(ebuf)));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		mss_set_error(err, errlen, "%s:0: cannot stat: %s", path, strerror_r(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		mss_set_error(err, errlen, "%s:0: not a regular file", path);
		goto out;
	}
	if (st.st_size == 0) {
		mss_set_error(err, errlen, "%s:1: empty file", path);
		goto out;
	}
	if ((uintmax_t)st.st_size > SIZE_MAX) {
		mss_set_error(err, errlen, "%s:0: file too large to map", path);
		goto out;
	}
	/* The file is only read; a concurrent truncation would SIGBUS, which is why sync
	   reads a copy it downloaded itself. */
	map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (map == MAP_FAILED) {
		mss_set_error(err, errlen, "%s:0: cannot map: %s", path, strerror_r(errno, ebuf, sizeof(ebuf)));
		goto out;
	}
	(void)madvise(map, (size_t)st.st_size, MADV_SEQUENTIAL);
	(void)madvise(map, (size_t)st.st_size, MADV_WILLNEED);
	ret = mss_extraction_read_memory(map, (size_t)st.st_size, path, max_bad_percent, cb, ctx, stats, err, errlen);
out:
	if (map != MAP_FAILED)
		munmap(map, (size_t)st.st_size);
	close(fd);
	return ret;
}
