#include "readfile.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"

int mss_read_fd(int fd, const char *name, size_t max, char **buf_r, size_t *len_r, char *err, size_t errlen)
{
	struct stat st;
	char *buf;
	size_t len = 0;

	*buf_r = NULL;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		mss_set_error(err, errlen, "%s: not a regular file", name);
		return -1;
	}
	if (st.st_size < 0 || (unsigned long long)st.st_size > max) {
		mss_set_error(err, errlen, "%s: larger than %zu bytes", name, max);
		return -1;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		mss_set_error(err, errlen, "%s: out of memory", name);
		return -1;
	}
	while (len < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + len, (size_t)st.st_size - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			mss_set_error(err, errlen, "%s: read error: %s", name, strerror(errno));
			free(buf);
			return -1;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	buf[len] = '\0';
	*buf_r = buf;
	*len_r = len;
	return 0;
}
