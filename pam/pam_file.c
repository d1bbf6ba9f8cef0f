/* Files read as root (pam-u2f's open_safely): a file an unprivileged user could replace
   or write would decide who logs in. */
#include "pam_mss_int.h"
#include "readfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int check_stat(const char *path, const struct stat *st, bool relax_owner, char *err, size_t errlen)
{
	uid_t me = geteuid();

	if (!S_ISREG(st->st_mode)) {
		snprintf(err, errlen, "%s: not a regular file", path);
		return -1;
	}
	/* Relaxed only for a process that is not root (tests), and then only to files of its
	   own user: root always requires root-owned files. */
	if (st->st_uid != 0 && !(relax_owner && me != 0 && st->st_uid == me)) {
		snprintf(err, errlen, "%s: not owned by root (uid %u)", path, (unsigned)st->st_uid);
		return -1;
	}
	if (st->st_mode & (S_IWGRP | S_IWOTH)) {
		snprintf(err, errlen, "%s: writable by group or others (mode %04o)", path, (unsigned)(st->st_mode & 07777));
		return -1;
	}
	return 0;
}

int mss_pam_open_safely(const char *path, bool relax_owner, char *err, size_t errlen)
{
	struct stat st;
	int fd;

	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "%s: not an absolute path", path != NULL ? path : "(unset)");
		return -1;
	}
	fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
			 errno == ELOOP ? "is a symbolic link" : strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(errno));
		close(fd);
		return -1;
	}
	if (check_stat(path, &st, relax_owner, err, errlen) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int mss_pam_check_file(const char *path, bool relax_owner, char *err, size_t errlen)
{
	int fd;

	err[0] = '\0';
	fd = mss_pam_open_safely(path, relax_owner, err, errlen);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

int mss_pam_read_file(const char *path, bool relax_owner, size_t max, char **buf_r, size_t *len_r, char *err,
		      size_t errlen)
{
	int fd, ret;

	*buf_r = NULL;
	err[0] = '\0';
	fd = mss_pam_open_safely(path, relax_owner, err, errlen);
	if (fd < 0)
		return -1;
	ret = mss_read_fd(fd, path, max, buf_r, len_r, err, errlen);
	close(fd);
	return ret;
}
