/* libFuzzer target: the ANS extraction reader on arbitrary bytes. Besides the sanitizers,
   it checks the reader's promises on every delivered row: fields inside the input, no '|',
   CR, LF or NUL in a field, a known type, a non-empty normalised address, consistent counts. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "extraction.h"

struct bounds {
	const char *start, *end;
};

static int check_row(const struct mss_extraction_row *row, void *ctx)
{
	const struct bounds *b = ctx;

	for (int i = 0; i < MSS_EXTRACTION_COLUMNS; i++) {
		if (row->field[i] < b->start || row->field[i] + row->len[i] > b->end)
			abort();
		for (size_t k = 0; k < row->len[i]; k++) {
			unsigned char c = (unsigned char)row->field[i][k];
			if (c == '|' || c < 0x20 || c == 0x7F)
				abort();
		}
	}
	if (strcmp(row->type, "PER") != 0 && strcmp(row->type, "ORG") != 0 && strcmp(row->type, "APP") != 0 &&
	    strcmp(row->type, "CAB") != 0)
		abort();
	if (memchr(row->address, '\0', sizeof(row->address)) == NULL || row->address[0] == '\0' ||
	    strchr(row->address, '@') == NULL)
		abort();
	if (row->line < 2)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mss_extraction_stats stats;
	struct bounds b;
	char err[256];
	/* An exact-size heap copy, so ASan catches any read past the end. */
	char *copy = malloc(size > 0 ? size : 1);

	if (copy == NULL)
		return 0;
	memcpy(copy, data, size);
	b.start = copy;
	b.end = copy + size;
	for (unsigned max_bad = 0; max_bad <= 100; max_bad += 100) {
		int ret = mss_extraction_read_memory(copy, size, "fuzz", max_bad, check_row, &b, &stats, err, sizeof(err));
		if (ret != 0 && ret != -1)
			abort();
		if (memchr(err, '\0', sizeof(err)) == NULL)
			abort();
		if (ret == -1 && err[0] == '\0')
			abort();
		if (ret == 0 && stats.good + stats.bad != stats.rows)
			abort();
		if (stats.n_bad_reported > MSS_EXTRACTION_BAD_REPORTED)
			abort();
		if (max_bad == 100 && ret == -1 && stats.rows != 0)
			abort(); /* at 100% only whole-file faults fail, and they come before any row */
	}
	free(copy);
	return 0;
}
