/* Finding one header field in the raw header of a message (contract in header.h). */
#include "header.h"

#include <string.h>
#include <strings.h>

int mss_header_find(const unsigned char *data, size_t size, const char *name, const unsigned char **value_r,
		    size_t *len_r)
{
	size_t nlen = strlen(name), i = 0;

	while (i < size) {
		const unsigned char *eol;
		size_t line_end, j;

		/* At a line's start: a blank line ends the header. */
		if (data[i] == '\n' || (data[i] == '\r' && i + 1 < size && data[i + 1] == '\n'))
			return 0;
		eol = memchr(data + i, '\n', size - i);
		if (eol == NULL)
			return -1;
		line_end = (size_t)(eol - data);
		j = i + nlen;
		if (line_end > j && strncasecmp((const char *)data + i, name, nlen) == 0) {
			while (j < line_end && (data[j] == ' ' || data[j] == '\t'))
				j++;
			if (data[j] == ':') {
				size_t end = line_end;

				/* Folded: the lines after it that start with a blank belong to it. */
				while (end + 1 < size && (data[end + 1] == ' ' || data[end + 1] == '\t')) {
					eol = memchr(data + end + 1, '\n', size - end - 1);
					if (eol == NULL)
						return -1;
					end = (size_t)(eol - data);
				}
				if (end + 1 >= size)
					return -1; /* the next line, which might continue it, is not here */
				*value_r = data + j + 1;
				*len_r = end - j - 1;
				return 1;
			}
		}
		i = line_end + 1;
	}
	return -1;
}
