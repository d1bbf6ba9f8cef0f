/* One header field in the raw header block of a message (RFC 5322 section 2.2), for a
 * caller that holds the first bytes of the message and wants one value without a full parser:
 * the Dovecot plugin takes the Message-ID of a message being read from the block of its stream
 * that Dovecot is about to send. */
#ifndef MSS_HEADER_H
#define MSS_HEADER_H

#include <stddef.h>

/* Header NAME (case-insensitive; blanks allowed before the colon, obsolete syntax) in the
   header at the start of DATA (SIZE bytes, not NUL-terminated, lines ending in LF or CRLF):
   the raw value of its first occurrence, folded lines included, up to but not including the
   line end of its last line (*VALUE_R points into DATA). Returns 1 found, 0 the header ends (a
   blank line) without it, -1 DATA ends first: the answer lies further on. */
int mss_header_find(const unsigned char *data, size_t size, const char *name, const unsigned char **value_r,
		    size_t *len_r);

#endif
