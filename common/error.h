/* Error messages for the `char *err, size_t errlen` out-parameters of common/. */
#ifndef MSS_ERROR_H
#define MSS_ERROR_H

#include <stddef.h>

/* Formats into ERR (always NUL-terminated, truncated to ERRLEN); does nothing when ERR is
   NULL or ERRLEN is 0. Part of libmss-core, and apart from log.c, so that the NSS module can
   use it without pulling in any printing or logging. */
void mss_set_error(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

#endif
