/* libFuzzer target for common/header.c. Beyond "no crash": a value found lies inside the
   input, on a line that starts with the name; every line end inside it is a fold (followed by a
   blank); "absent" means the input has a blank line; "unknown" never comes with a blank line
   before the name could have been seen. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const char *const names[] = {"Message-ID", "X", "Subject"};
	const unsigned char *value = NULL;
	size_t len = 0;

	for (size_t k = 0; k < sizeof(names) / sizeof(names[0]); k++) {
		int r = mss_header_find(data, size, names[k], &value, &len);
		size_t nlen = strlen(names[k]);

		if (r == 1) {
			const unsigned char *line;

			if (value < data || value + len > data + size || value + len >= data + size)
				abort();
			line = value - 1; /* the colon */
			while (line > data && line[-1] != '\n')
				line--;
			if (strncasecmp((const char *)line, names[k], nlen) != 0)
				abort();
			for (size_t i = 0; i < len; i++)
				if (value[i] == '\n' && !(i + 1 < len && (value[i + 1] == ' ' || value[i + 1] == '\t')))
					abort();
		} else if (r == 0) {
			if (memmem(data, size, "\n\n", 2) == NULL && memmem(data, size, "\r\n", 2) == NULL &&
			    !(size > 0 && data[0] == '\n'))
				abort();
		} else if (r != -1) {
			abort();
		}
	}
	return 0;
}
