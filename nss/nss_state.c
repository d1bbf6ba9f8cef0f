/* The process-global state of libnss_mss: the current view (configuration + mapped snapshot),
 * behind one mutex.
 *
 * Why this shape:
 * - The configuration and the snapshot are opened once and kept: a lookup is then a hash
 *   probe in a mapping, with no system call but the occasional check below.
 * - Replacement is noticed by stat(2): `mssctl sync` publishes with rename(2), so a new
 *   snapshot is a new inode, and a removed one fails the stat; the configuration is compared
 *   by inode, size and mtime. Two stat(2) calls per lookup would more than triple its cost
 *   (measured by `make bench BENCH=nss` on 1,000,000 BALs: 1.7 us instead of 0.5 us, the
 *   goal being 1 us), so the check runs at most every [nss] check_interval_ms (default
 *   100 ms, timed with CLOCK_MONOTONIC_COARSE, a vDSO read) and on every lookup when that is
 *   0. When there is no usable view, every lookup tries again at once: a failing lookup
 *   costs an open(2) that fails, and the module recovers as soon as the file is back.
 * - A view is reference-counted (see nss_internal.h): the swap never unmaps a snapshot a
 *   lookup of another thread is still reading.
 * - The mutex is taken around fork(2) by an atfork handler so that a child never inherits
 *   it locked by a thread that does not exist in the child.
 * Nothing here logs or prints: the module lives inside other programs. */
#include "nss_internal.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

/* What identifies the configuration file a view was built from. */
struct file_id {
	dev_t dev;
	ino_t ino;
	off_t size;
	struct timespec mtime;
};

/* The view with the fields only this file uses. */
struct view {
	struct nss_view pub; /* first: nss_view pointers are view pointers */
	char *conf_path;
	struct file_id conf_id;
	const char *snap_path; /* points into pub.cfg */
	long long interval_ms;
};

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static struct view *state_view;	    /* holds one reference; guarded by state_lock */
static struct timespec state_next_check; /* guarded by state_lock */
static uint64_t state_generation;	    /* guarded by state_lock */

static void lock_state(void)
{
	pthread_mutex_lock(&state_lock);
}

static void unlock_state(void)
{
	pthread_mutex_unlock(&state_lock);
}

__attribute__((constructor)) static void nss_state_init(void)
{
	/* Registered per DSO: glibc removes the handlers if the module is ever unloaded. */
	pthread_atfork(lock_state, unlock_state, unlock_state);
}

static void file_id_of(const struct stat *st, struct file_id *id)
{
	id->dev = st->st_dev;
	id->ino = st->st_ino;
	id->size = st->st_size;
	id->mtime = st->st_mtim;
}

static bool file_id_equal(const struct file_id *a, const struct file_id *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size && a->mtime.tv_sec == b->mtime.tv_sec &&
	       a->mtime.tv_nsec == b->mtime.tv_nsec;
}

static void view_free(struct view *v)
{
	if (v == NULL)
		return;
	mss_snapshot_close(v->pub.snap);
	mss_config_free(v->pub.cfg);
	free(v->conf_path);
	free(v);
}

/* Builds a view from the configuration at CONF_PATH and the snapshot it names.
   NULL with errno set when either is missing or unusable. */
static struct view *view_open(const char *conf_path)
{
	char err[512]; /* messages are dropped: nothing is logged from inside other programs */
	struct view *v;
	struct stat st;
	const char *tmpl, *shell;
	int saved = EINVAL;

	/* The identity is taken before the load: a change in between is seen at the next check. */
	if (stat(conf_path, &st) < 0)
		return NULL;
	v = calloc(1, sizeof(*v));
	if (v == NULL)
		return NULL;
	file_id_of(&st, &v->conf_id);
	v->conf_path = strdup(conf_path);
	if (v->conf_path == NULL) {
		saved = ENOMEM;
		goto fail;
	}
	if (mss_config_load(conf_path, &v->pub.cfg, err, sizeof(err)) < 0)
		goto fail; /* EINVAL: unreadable or invalid */
	v->pub.uid_min = (uint32_t)mss_config_num(v->pub.cfg, MSS_OPT_NSS_UID_MIN);
	v->pub.uid_max = (uint32_t)mss_config_num(v->pub.cfg, MSS_OPT_NSS_UID_MAX);
	v->pub.gid = (gid_t)mss_config_num(v->pub.cfg, MSS_OPT_NSS_GID);
	v->pub.enumerate = mss_config_bool(v->pub.cfg, MSS_OPT_NSS_ENUMERATE);
	v->interval_ms = mss_config_num(v->pub.cfg, MSS_OPT_NSS_CHECK_INTERVAL_MS);
	tmpl = mss_config_str(v->pub.cfg, MSS_OPT_NSS_HOME_TEMPLATE);
	shell = mss_config_str(v->pub.cfg, MSS_OPT_NSS_SHELL);
	v->snap_path = mss_config_str(v->pub.cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	/* `mssctl check` reports these with their line; here they only make the module unavailable. */
	if (!nss_home_template_ok(tmpl) || shell == NULL || v->snap_path == NULL || v->pub.uid_min > v->pub.uid_max ||
	    v->pub.uid_min == 0)
		goto fail;
	v->pub.home_template = tmpl;
	v->pub.shell = shell;
	if (mss_snapshot_open(v->snap_path,
			      mss_config_bool(v->pub.cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? 0
											   : MSS_SNAPSHOT_ANY_OWNER,
			      &v->pub.snap, err, sizeof(err)) < 0) {
		saved = errno;
		goto fail;
	}
	v->pub.refs = 1;
	return v;
fail:
	view_free(v);
	errno = saved;
	return NULL;
}

static bool time_reached(const struct timespec *now, const struct timespec *when)
{
	return now->tv_sec > when->tv_sec || (now->tv_sec == when->tv_sec && now->tv_nsec >= when->tv_nsec);
}

static void schedule_check(const struct timespec *now, long long interval_ms)
{
	state_next_check.tv_sec = now->tv_sec + (time_t)(interval_ms / 1000);
	state_next_check.tv_nsec = now->tv_nsec + (long)(interval_ms % 1000) * 1000000L;
	if (state_next_check.tv_nsec >= 1000000000L) {
		state_next_check.tv_sec++;
		state_next_check.tv_nsec -= 1000000000L;
	}
}

/* Is the current view still what the files say? (called with the lock held) */
static bool view_current(const struct view *v, const char *conf_path)
{
	struct stat st;
	struct file_id id;

	if (strcmp(conf_path, v->conf_path) != 0 || stat(conf_path, &st) < 0)
		return false;
	file_id_of(&st, &id);
	return file_id_equal(&id, &v->conf_id) && !mss_snapshot_replaced(v->pub.snap, v->snap_path);
}

/* Drops the state's reference on the current view (called with the lock held). */
static void drop_current(void)
{
	struct view *old = state_view;

	state_view = NULL;
	if (old != NULL && --old->pub.refs == 0)
		view_free(old);
}

struct nss_view *nss_view_acquire(void)
{
	struct timespec now;
	struct view *v;
	int saved = 0;

	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	lock_state();
	if (state_view == NULL || time_reached(&now, &state_next_check)) {
		const char *conf_path = mss_config_default_path();

		if (state_view == NULL || !view_current(state_view, conf_path)) {
			struct view *fresh = view_open(conf_path);

			saved = errno;
			if (fresh != NULL) {
				fresh->pub.generation = ++state_generation;
				drop_current();
				state_view = fresh;
			} else if (state_view == NULL ||
				   mss_snapshot_replaced(state_view->pub.snap, state_view->snap_path)) {
				drop_current(); /* the snapshot is gone or replaced by one we cannot use */
			}
			/* Otherwise the configuration changed and no longer loads: like a daemon's
			   failed reload, keep answering from the previous one (its snapshot is still
			   the published one) and try again at the next check. */
		}
		if (state_view != NULL)
			schedule_check(&now, state_view->interval_ms);
	}
	v = state_view;
	if (v != NULL)
		v->pub.refs++;
	unlock_state();
	if (v == NULL) {
		errno = saved != 0 ? saved : EINVAL;
		return NULL;
	}
	return &v->pub;
}

void nss_view_release(struct nss_view *view)
{
	struct view *v = (struct view *)(void *)view;
	bool last;

	if (v == NULL)
		return;
	lock_state();
	last = --v->pub.refs == 0;
	unlock_state();
	/* Only a view the state no longer holds can reach 0: unmap it outside the lock. */
	if (last)
		view_free(v);
}

enum nss_status nss_cursor_start(struct nss_cursor *cursor)
{
	int saved = errno;
	struct nss_view *v;

	cursor->generation = 0;
	cursor->pos = 0;
	v = nss_view_acquire();
	errno = saved;
	if (v == NULL)
		return NSS_STATUS_UNAVAIL;
	nss_view_release(v);
	return NSS_STATUS_SUCCESS;
}

enum nss_status nss_cursor_end(struct nss_cursor *cursor)
{
	cursor->generation = 0;
	cursor->pos = 0;
	return NSS_STATUS_SUCCESS;
}

enum nss_status nss_cursor_next(struct nss_cursor *cursor, nss_bal_keep_fn *keep, nss_bal_fill_fn *fill, void *result,
				char *buf, size_t buflen, int *errnop)
{
	int saved = errno, err = ENOENT;
	enum nss_status status = NSS_STATUS_NOTFOUND;
	struct nss_view *v;

	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	if (cursor->generation == 0) {
		cursor->generation = v->generation;
		cursor->pos = 0;
	}
	/* Enumeration off, or the snapshot was replaced during the walk: the walk ends (going on
	   in another file could give an entry twice or skip one). */
	while (v->enumerate && cursor->generation == v->generation) {
		size_t before = cursor->pos;
		struct mss_slice key, value;
		struct mss_bal bal;
		char kind;
		int r = mss_snapshot_walk(v->snap, &cursor->pos, &kind, &key, &value);

		if (r == 0)
			break;
		if (r < 0 || (kind == 'B' && mss_snapshot_decode_bal(key.p, key.len, value.p, value.len, &bal) < 0)) {
			status = NSS_STATUS_UNAVAIL;
			err = EPROTO;
			break;
		}
		if (kind != 'B' || !keep(v, &bal))
			continue;
		status = fill(v, &bal, result, buf, buflen, &err);
		if (status == NSS_STATUS_TRYAGAIN)
			cursor->pos = before; /* the same entry again, with a bigger buffer */
		break;
	}
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}
