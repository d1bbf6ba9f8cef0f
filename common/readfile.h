/* Reading a whole small file (configuration, trust list, keys, CRL) from a descriptor the caller
   opened with its own checks. Part of libmss-core: libc only. */
#ifndef MSS_READFILE_H
#define MSS_READFILE_H

#include <stddef.h>

/* Reads the regular file behind FD (at most MAX bytes) into a malloc'ed, NUL-terminated buffer.
   A file that shrinks while it is read gives what was there: the parser judges it. NAME is used
   in messages ("NAME: not a regular file", "NAME: larger than MAX bytes", "NAME: read error:
   ..."). Returns 0, or -1 with err set. FD is not closed. */
int mss_read_fd(int fd, const char *name, size_t max, char **buf_r, size_t *len_r, char *err, size_t errlen);

#endif
