/* Snapshot writer: tinycdb's cdb_make into a temporary file beside the published one,
   then fsync, rename(2), fsync of the directory, so that readers see either the old
   snapshot or the complete new one, and a crash at any point leaves the old one intact. */
#include "error.h"
#include "snapshot.h"

#include <cdb.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

struct mss_snapshot_writer {
	struct cdb_make make;
	bool make_started; /* cdb_make_finish not yet called: it holds the record lists */
	bool write_failed; /* an I/O error happened: the temporary file is unusable */
	bool tmp_created;  /* mkostemp made the temporary file: abort removes it */
	bool renamed;	   /* the temporary file is now the published one */
	int fd;
	int dir_fd;
	char *final_path;
	char *tmp_path;
	char *join; /* buffer for the joined value of mss_snapshot_put_fields */
	size_t join_size;
	unsigned char keybuf[1 + MSS_SNAPSHOT_KEY_MAX];
};

int mss_snapshot_writer_open(const char *final_path, struct mss_snapshot_writer **w_r, char *err, size_t errlen)
{
	struct mss_snapshot_writer *w;
	const char *slash, *base;
	size_t dirlen;
	int saved;

	*w_r = NULL;
	slash = strrchr(final_path, '/');
	base = slash ? slash + 1 : final_path;
	if (*base == '\0') {
		mss_set_error(err, errlen, "snapshot %s: not a file name", final_path);
		errno = EINVAL;
		return -1;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL)
		goto nomem;
	w->fd = -1;
	w->dir_fd = -1;
	w->final_path = strdup(final_path);
	/* "<dir>/.<base>.XXXXXX": same directory, so that rename(2) is atomic. */
	dirlen = slash ? (size_t)(slash - final_path) : 0;
	if (w->final_path == NULL ||
	    asprintf(&w->tmp_path, "%.*s%s.%s.XXXXXX", (int)dirlen, final_path, slash ? "/" : "", base) < 0) {
		w->tmp_path = NULL;
		goto nomem;
	}
	{
		/* the directory, to fsync it after the rename */
		char *dir = slash ? strndup(final_path, dirlen == 0 ? 1 : dirlen) : strdup(".");

		if (dir == NULL)
			goto nomem;
		w->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		saved = errno;
		if (w->dir_fd < 0) {
			mss_set_error(err, errlen, "snapshot directory %s: %s", dir, strerror(saved));
			free(dir);
			goto fail;
		}
		free(dir);
	}
	w->fd = mkostemp(w->tmp_path, O_CLOEXEC);
	if (w->fd < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: cannot create a temporary file: %s", final_path, strerror(saved));
		goto fail;
	}
	w->tmp_created = true;
	/* Readers run as any user (NSS): world-readable, writable by the owner only. */
	if (fchmod(w->fd, 0644) < 0 || cdb_make_start(&w->make, w->fd) < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: %s", w->tmp_path, strerror(saved));
		goto fail;
	}
	w->make_started = true;
	*w_r = w;
	return 0;
nomem:
	saved = ENOMEM;
	mss_set_error(err, errlen, "snapshot %s: out of memory", final_path);
fail:
	mss_snapshot_writer_abort(w);
	errno = saved;
	return -1;
}

/* Position of the first byte of S that is in REJECT (a string of bytes, NUL included when
   WITH_NUL), or -1. */
static long find_forbidden(const char *s, size_t len, const char *reject, bool with_nul)
{
	for (size_t i = 0; i < len; i++) {
		if ((s[i] == '\0' && with_nul) || (s[i] != '\0' && strchr(reject, s[i]) != NULL))
			return (long)i;
	}
	return -1;
}

static int add_record(struct mss_snapshot_writer *w, char kind, const char *key, size_t keylen, const char *value,
		      size_t vlen, char *err, size_t errlen)
{
	if (w->write_failed || !w->make_started) {
		mss_set_error(err, errlen, "snapshot %s: writer unusable after an earlier error", w->final_path);
		errno = EIO;
		return -1;
	}
	if (vlen > UINT32_MAX - 1 - MSS_SNAPSHOT_KEY_MAX) {
		mss_set_error(err, errlen, "snapshot: value of %c key \"%.*s\" too long", kind,
			(int)(keylen > 80 ? 80 : keylen), key);
		errno = EINVAL;
		return -1;
	}
	w->keybuf[0] = (unsigned char)kind;
	memcpy(w->keybuf + 1, key, keylen);
	if (cdb_make_add(&w->make, w->keybuf, (unsigned)(keylen + 1), value, (unsigned)vlen) < 0) {
		int saved = errno;

		w->write_failed = true;
		mss_set_error(err, errlen, "snapshot %s: write: %s", w->tmp_path, strerror(saved));
		errno = saved;
		return -1;
	}
	return 0;
}

static int check_key(char kind, const char *key, size_t keylen, char *err, size_t errlen)
{
	if (kind < 'A' || kind > 'Z') {
		mss_set_error(err, errlen, "snapshot: record kind 0x%02x is not an upper-case letter", (unsigned char)kind);
		goto invalid;
	}
	if (keylen == 0 || keylen > MSS_SNAPSHOT_KEY_MAX) {
		mss_set_error(err, errlen, "snapshot: %c key of %zu bytes (1..%d allowed)", kind, keylen,
			MSS_SNAPSHOT_KEY_MAX);
		goto invalid;
	}
	if (find_forbidden(key, keylen, "\t\r\n", true) >= 0) {
		mss_set_error(err, errlen, "snapshot: %c key \"%.*s\" holds a TAB, CR, LF or NUL", kind,
			(int)(keylen > 80 ? 80 : keylen), key);
		goto invalid;
	}
	return 0;
invalid:
	errno = EINVAL;
	return -1;
}

int mss_snapshot_put(struct mss_snapshot_writer *w, char kind, const char *key, size_t keylen, const char *value,
		     size_t vlen, char *err, size_t errlen)
{
	if (check_key(kind, key, keylen, err, errlen) < 0)
		return -1;
	if (find_forbidden(value, vlen, "\r\n", true) >= 0) {
		mss_set_error(err, errlen, "snapshot: value of %c key \"%.*s\" holds a CR, LF or NUL", kind,
			(int)(keylen > 80 ? 80 : keylen), key);
		errno = EINVAL;
		return -1;
	}
	return add_record(w, kind, key, keylen, value, vlen, err, errlen);
}

int mss_snapshot_put_fields(struct mss_snapshot_writer *w, char kind, const char *key, const char *const *fields,
			    size_t n_fields, char *err, size_t errlen)
{
	size_t keylen = strlen(key), total = 0, off = 0;

	if (check_key(kind, key, keylen, err, errlen) < 0)
		return -1;
	for (size_t i = 0; i < n_fields; i++) {
		size_t len = fields[i] ? strlen(fields[i]) : 0;

		if (find_forbidden(fields[i] ? fields[i] : "", len, "\t\r\n", false) >= 0) {
			mss_set_error(err, errlen, "snapshot: field %zu of %c key \"%.*s\" holds a TAB, CR or LF", i + 1,
				kind, (int)(keylen > 80 ? 80 : keylen), key);
			errno = EINVAL;
			return -1;
		}
		total += len + 1;
	}
	if (total > w->join_size) {
		size_t size = total < 256 ? 256 : total * 2;
		char *p = realloc(w->join, size);

		if (p == NULL) {
			mss_set_error(err, errlen, "snapshot: out of memory");
			errno = ENOMEM;
			return -1;
		}
		w->join = p;
		w->join_size = size;
	}
	for (size_t i = 0; i < n_fields; i++) {
		size_t len = fields[i] ? strlen(fields[i]) : 0;

		if (i > 0)
			w->join[off++] = '\t';
		memcpy(w->join + off, fields[i] ? fields[i] : "", len);
		off += len;
	}
	return add_record(w, kind, key, keylen, w->join ? w->join : "", off, err, errlen);
}

int mss_snapshot_writer_commit(struct mss_snapshot_writer *w, char *err, size_t errlen)
{
	int r, saved;

	if (w->write_failed || !w->make_started) {
		mss_set_error(err, errlen, "snapshot %s: not published: an earlier write failed", w->final_path);
		errno = EIO;
		return -1;
	}
	w->make_started = false;
	r = cdb_make_finish(&w->make);
	if (r < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: write: %s", w->tmp_path, strerror(saved));
		goto fail;
	}
	if (fsync(w->fd) < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: fsync: %s", w->tmp_path, strerror(saved));
		goto fail;
	}
	r = close(w->fd);
	w->fd = -1;
	if (r < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: close: %s", w->tmp_path, strerror(saved));
		goto fail;
	}
	if (rename(w->tmp_path, w->final_path) < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: rename to %s: %s", w->tmp_path, w->final_path, strerror(saved));
		goto fail;
	}
	w->renamed = true;
	/* The rename is durable only once the directory is on disk. */
	if (fsync(w->dir_fd) < 0) {
		saved = errno;
		mss_set_error(err, errlen, "snapshot %s: published, but fsync of its directory failed: %s", w->final_path,
			strerror(saved));
		goto fail;
	}
	w->write_failed = true; /* nothing left to write */
	mss_snapshot_writer_abort(w);
	return 0;
fail:
	w->write_failed = true;
	errno = saved;
	return -1;
}

void mss_snapshot_writer_abort(struct mss_snapshot_writer *w)
{
	if (w == NULL)
		return;
	if (w->make_started) {
		/* tinycdb has no way to drop a cdb_make but cdb_make_finish, which frees the record
		   lists. Point it at no descriptor so that it writes nothing and fails (EBADF). */
		w->make.cdb_fd = -1;
		(void)cdb_make_finish(&w->make);
		w->make_started = false;
	}
	if (w->fd >= 0)
		close(w->fd);
	if (w->tmp_created && !w->renamed)
		(void)unlink(w->tmp_path);
	if (w->dir_fd >= 0)
		close(w->dir_fd);
	free(w->final_path);
	free(w->tmp_path);
	free(w->join);
	free(w);
}
