/* A scratch directory for a unit test: made under $TMPDIR (or /tmp), emptied and removed at the
   end. The tests only put plain files in it. */
#ifndef MSS_TEST_TMPDIR_H
#define MSS_TEST_TMPDIR_H

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* DIR receives "$TMPDIR/NAME.XXXXXX", created. Returns 0 or -1. */
static inline int test_tmpdir_make(char *dir, size_t len, const char *name)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, len, "%s/%s.XXXXXX", tmp && *tmp ? tmp : "/tmp", name);
	return mkdtemp(dir) != NULL ? 0 : -1;
}

static inline int test_tmpdir_remove(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (d == NULL)
		return -1;
	while ((e = readdir(d)) != NULL) {
		char p[600];

		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		snprintf(p, sizeof(p), "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	return rmdir(dir);
}

#endif
