/* Postfix smtp_tls_policy_maps from the trust list; see tlspolicy.h. */
#include "tlspolicy.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "log.h"
#include "trustlist.h"

extern char **environ;

/* A growing string. */
struct buf {
	char *p;
	size_t len, size;
	bool failed;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->size) {
		size_t size = b->size > 0 ? b->size : 4096;
		char *p;

		while (b->len + n + 1 > size)
			size *= 2;
		p = realloc(b->p, size);
		if (p == NULL) {
			b->failed = true;
			return;
		}
		b->p = p;
		b->size = size;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

static void buf_str(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

/* Letters, digits, '-', '.', and a leading "*." wildcard: what a match= item may hold. */
static bool cn_is_host(const char *cn)
{
	const char *p = cn;

	if (strncmp(p, "*.", 2) == 0)
		p += 2;
	if (*p == '\0' || *p == '.' || strlen(cn) > 253)
		return false;
	for (; *p != '\0'; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') || *p == '-' ||
		      *p == '.'))
			return false;
	}
	return true;
}

static const struct mss_trust_entry *sort_base;

/* By domain, then by position in the list (so CNs keep the trust-list order). */
static int by_domain(const void *a, const void *b)
{
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = strcmp(sort_base[ia].domain, sort_base[ib].domain);

	return c != 0 ? c : (ia > ib) - (ia < ib);
}

char *mss_tlspolicy_format(const struct mss_trust_list *tl)
{
	struct buf b = {0};
	size_t *order;

	order = malloc((tl->n_entries > 0 ? tl->n_entries : 1) * sizeof(*order));
	if (order == NULL)
		return NULL;
	for (size_t i = 0; i < tl->n_entries; i++)
		order[i] = i;
	/* qsort has no context argument; sort_base is only read during this call. The function is
	   not meant for concurrent use (mssctl sync is single-threaded). */
	sort_base = tl->entries;
	qsort(order, tl->n_entries, sizeof(*order), by_domain);
	buf_str(&b, "# Postfix smtp_tls_policy_maps written by `mssctl sync` from the MSSante trust list");
	if (tl->generated != NULL && tl->generated[0] != '\0') {
		buf_str(&b, " of ");
		buf_str(&b, tl->generated);
	}
	buf_str(&b, ".\n# Do not edit: the next sync rewrites it.\n");
	for (size_t k = 0; k < tl->n_entries;) {
		const char *domain = tl->entries[order[k]].domain;
		size_t end = k, n_cn = 0;

		while (end < tl->n_entries && strcmp(tl->entries[order[end]].domain, domain) == 0)
			end++;
		buf_str(&b, domain);
		buf_str(&b, "\tsecure");
		for (size_t j = k; j < end; j++) {
			const char *cn = tl->entries[order[j]].cn;
			bool seen = false;

			if (cn == NULL || !cn_is_host(cn)) {
				mss_warning("trust list: domain %s: operator CN '%s' is not a host name, left out of the "
					    "TLS policy",
					    domain, cn != NULL ? cn : "");
				continue;
			}
			for (size_t i = k; i < j && !seen; i++)
				seen = tl->entries[order[i]].cn != NULL && strcasecmp(tl->entries[order[i]].cn, cn) == 0;
			if (seen)
				continue;
			buf_str(&b, n_cn++ == 0 ? " match=" : ":");
			buf_str(&b, cn);
		}
		if (n_cn == 0)
			mss_warning("trust list: domain %s has no usable operator CN: delivery to it will fail the "
				    "certificate check",
				    domain);
		buf_str(&b, "\n");
		k = end;
	}
	free(order);
	if (b.failed || b.p == NULL) {
		free(b.p);
		return NULL;
	}
	return b.p;
}

static int write_all(int fd, const char *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* postmap from /usr/sbin, else from $PATH; NULL when not installed. */
static const char *find_postmap(char *buf, size_t buflen)
{
	const char *path = getenv("PATH");

	if (access("/usr/sbin/postmap", X_OK) == 0)
		return "/usr/sbin/postmap";
	while (path != NULL && *path != '\0') {
		const char *colon = strchr(path, ':');
		size_t len = colon != NULL ? (size_t)(colon - path) : strlen(path);

		if (len > 0 && (size_t)snprintf(buf, buflen, "%.*s/postmap", (int)len, path) < buflen &&
		    access(buf, X_OK) == 0)
			return buf;
		path = colon != NULL ? colon + 1 : NULL;
	}
	return NULL;
}

static int run_postmap(const char *path, char *err, size_t errlen)
{
	char buf[4096];
	const char *postmap = find_postmap(buf, sizeof(buf));
	char *argv[] = {(char *)"postmap", (char *)path, NULL};
	pid_t pid;
	int status, r;

	if (postmap == NULL) {
		mss_info("%s: postmap not installed, index not built", path);
		return 0;
	}
	r = posix_spawn(&pid, postmap, NULL, NULL, argv, environ);
	if (r != 0) {
		snprintf(err, errlen, "%s: written, but postmap could not be started: %s", path, strerror(r));
		return -1;
	}
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR) {
			snprintf(err, errlen, "%s: written, but waiting for postmap failed: %s", path, strerror(errno));
			return -1;
		}
	}
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		snprintf(err, errlen, "%s: written, but `postmap %s` failed (its index is not updated)", path, path);
		return -1;
	}
	return 0;
}

int mss_tlspolicy_write(const struct mss_trust_list *tl, const char *path, char *err, size_t errlen)
{
	char tmp[4096], dir[4096];
	char *text;
	int fd = -1, dfd;

	if (path == NULL || path[0] != '/') {
		snprintf(err, errlen, "TLS policy table: '%s' is not an absolute path", path != NULL ? path : "");
		return -1;
	}
	if ((size_t)snprintf(tmp, sizeof(tmp), "%s.tmpXXXXXX", path) >= sizeof(tmp) ||
	    (size_t)snprintf(dir, sizeof(dir), "%s", path) >= sizeof(dir)) {
		snprintf(err, errlen, "%s: path too long", path);
		return -1;
	}
	text = mss_tlspolicy_format(tl);
	if (text == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	fd = mkostemp(tmp, O_CLOEXEC);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create a temporary file: %s", path, strerror(errno));
		free(text);
		return -1;
	}
	if (fchmod(fd, 0644) < 0 || write_all(fd, text, strlen(text)) < 0 || fsync(fd) < 0) {
		snprintf(err, errlen, "%s: write error: %s", tmp, strerror(errno));
		goto fail;
	}
	if (close(fd) < 0) {
		fd = -1;
		snprintf(err, errlen, "%s: write error: %s", tmp, strerror(errno));
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot rename %s into place: %s", path, tmp, strerror(errno));
		goto fail;
	}
	free(text);
	dfd = open(dirname(dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		(void)fsync(dfd);
		close(dfd);
	}
	return run_postmap(path, err, errlen);
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(text);
	return -1;
}
