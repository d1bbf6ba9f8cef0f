/* What the milter runs with: one configuration and one snapshot, each reference-counted so
   that a SIGHUP or a new snapshot never pulls anything from under a transaction in progress
   (a transaction pins the pair it started with, and the last one out frees it). A reload
   builds a complete new configuration and swaps it only when it is valid. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "audit.h"
#include "config.h"
#include "log.h"
#include "milter.h"
#include "snapshot.h"

struct mm_audit_slot {
	pthread_mutex_t lock;
	struct mss_audit *audit;
	time_t last_try;
	char why[512];
};

static pthread_mutex_t state_lock = PTHREAD_MUTEX_INITIALIZER;
static struct mm_conf *cur_conf;
static struct mm_snap *cur_snap;
static time_t snap_checked;
static int txns;
static bool stopping;

/* ---- socket syntax ---- */

int mm_socket_check(const char *spec, char *err, size_t errlen)
{
	const char *at, *p;
	long port = 0;

	if (spec == NULL || spec[0] == '\0') {
		snprintf(err, errlen, "no socket");
		return -1;
	}
	if (strncmp(spec, "unix:", 5) == 0 || strncmp(spec, "local:", 6) == 0) {
		p = strchr(spec, ':') + 1;
		if (p[0] != '/' || strlen(p) >= 108) {
			snprintf(err, errlen, "'%s': a UNIX socket needs an absolute path shorter than 108 bytes", spec);
			return -1;
		}
		return 0;
	}
	if (strncmp(spec, "inet:", 5) == 0 || strncmp(spec, "inet6:", 6) == 0) {
		p = strchr(spec, ':') + 1;
		at = strchr(p, '@');
		for (const char *d = p; d < (at != NULL ? at : p + strlen(p)); d++) {
			if (*d < '0' || *d > '9' || port > 65535) {
				port = -1;
				break;
			}
			port = port * 10 + (*d - '0');
		}
		if (port < 1 || port > 65535 || at == NULL || at[1] == '\0') {
			snprintf(err, errlen, "'%s': expected inet:PORT@ADDRESS (such as inet:8891@127.0.0.1)", spec);
			return -1;
		}
		return 0;
	}
	snprintf(err, errlen, "'%s': expected unix:PATH or inet:PORT@ADDRESS", spec);
	return -1;
}

/* ---- configurations ---- */

static void conf_free(struct mm_conf *c)
{
	if (c == NULL)
		return;
	if (c->audit != NULL) {
		mss_audit_close(c->audit->audit);
		pthread_mutex_destroy(&c->audit->lock);
		free(c->audit);
	}
	mss_config_free(c->cfg);
	free(c);
}

static struct mm_conf *conf_load(const char *path, char *err, size_t errlen)
{
	struct mm_conf *c = calloc(1, sizeof(*c));
	char why[512];

	if (c == NULL || (c->audit = calloc(1, sizeof(*c->audit))) == NULL) {
		free(c);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	pthread_mutex_init(&c->audit->lock, NULL);
	if (mss_config_load(path, &c->cfg, err, errlen) < 0)
		goto fail;
	if (mss_policy_init(&c->policy, c->cfg, err, errlen) < 0)
		goto fail;
	if (mm_socket_check(mss_config_str(c->cfg, MSS_OPT_MILTER_SOCKET), why, sizeof(why)) < 0) {
		snprintf(err, errlen, "%s:%d: key 'socket': %s", path, c->cfg->values[MSS_OPT_MILTER_SOCKET].line, why);
		goto fail;
	}
	c->on_internal_error = (enum mm_on_error)mss_config_num(c->cfg, MSS_OPT_MILTER_ON_INTERNAL_ERROR);
	c->on_stale_snapshot = (enum mm_on_error)mss_config_num(c->cfg, MSS_OPT_MILTER_ON_STALE_SNAPSHOT);
	c->refs = 1;
	return c;
fail:
	conf_free(c);
	return NULL;
}

struct mss_audit *mm_conf_audit(struct mm_conf *c, char *err, size_t errlen)
{
	struct mm_audit_slot *a = c->audit;
	struct mss_audit *r;
	time_t now = time(NULL);

	pthread_mutex_lock(&a->lock);
	if (a->audit == NULL && a->last_try != now) {
		/* A trail that cannot be opened is retried at most once a second, so that fixing
		   the directory needs no restart and a broken one costs no open() per message. */
		a->last_try = now;
		a->audit = mss_audit_open(c->cfg, "milter", a->why, sizeof(a->why));
		if (a->audit == NULL)
			mss_error("audit trail: %s", a->why);
	}
	r = a->audit;
	if (r == NULL)
		snprintf(err, errlen, "audit trail unavailable: %s", a->why[0] != '\0' ? a->why : "not opened");
	pthread_mutex_unlock(&a->lock);
	return r;
}

/* ---- snapshots ---- */

static struct mm_snap *snap_open(const struct mss_config *cfg)
{
	struct mm_snap *s = calloc(1, sizeof(*s));
	unsigned flags = mss_config_bool(cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? 0 : MSS_SNAPSHOT_ANY_OWNER;
	const char *path = mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT);

	if (s == NULL)
		return NULL;
	s->refs = 1;
	if (path == NULL)
		snprintf(s->why, sizeof(s->why), "no [directory] snapshot configured");
	else if (mss_snapshot_open(path, flags, &s->snap, s->why, sizeof(s->why)) < 0)
		s->snap = NULL;
	return s;
}

static void snap_unref_locked(struct mm_snap *s)
{
	if (s != NULL && --s->refs == 0) {
		if (s->snap != NULL)
			mss_snapshot_close(s->snap);
		free(s);
	}
}

static void conf_unref_locked(struct mm_conf *c)
{
	if (c != NULL && --c->refs == 0)
		conf_free(c);
}

/* ---- the state ---- */

int mm_state_load(const char *conf_path, char *err, size_t errlen)
{
	struct mm_conf *c = conf_load(conf_path, err, errlen);

	if (c == NULL)
		return -1;
	pthread_mutex_lock(&state_lock);
	conf_unref_locked(cur_conf);
	cur_conf = c;
	pthread_mutex_unlock(&state_lock);
	return 0;
}

void mm_state_open(void)
{
	struct mm_snap *s;
	char err[512];

	pthread_mutex_lock(&state_lock);
	s = snap_open(cur_conf->cfg);
	if (s != NULL && s->snap == NULL)
		mss_error("snapshot: %s (every message is answered with the on_internal_error verdict until it "
			  "can be read)",
			  s->why);
	snap_unref_locked(cur_snap);
	cur_snap = s;
	snap_checked = time(NULL);
	pthread_mutex_unlock(&state_lock);
	(void)mm_conf_audit(cur_conf, err, sizeof(err));
}

int mm_state_reload(char *err, size_t errlen)
{
	struct mm_conf *c;
	struct mm_snap *s;
	char why[512];
	const char *path;

	pthread_mutex_lock(&state_lock);
	path = cur_conf->cfg->path;
	c = conf_load(path, err, errlen);
	pthread_mutex_unlock(&state_lock);
	if (c == NULL)
		return -1;
	if (mm_conf_audit(c, why, sizeof(why)) == NULL) {
		snprintf(err, errlen, "%s", why);
		conf_free(c);
		return -1;
	}
	s = snap_open(c->cfg);
	if (s == NULL) {
		snprintf(err, errlen, "out of memory");
		conf_free(c);
		return -1;
	}
	pthread_mutex_lock(&state_lock);
	if (s->snap == NULL && cur_snap != NULL && cur_snap->snap != NULL) {
		/* Better the snapshot in force than none: keep both old ones. */
		snprintf(err, errlen, "snapshot: %s", s->why);
		snap_unref_locked(s);
		pthread_mutex_unlock(&state_lock);
		conf_free(c);
		return -1;
	}
	if (strcmp(mss_config_str(c->cfg, MSS_OPT_MILTER_SOCKET), mss_config_str(cur_conf->cfg, MSS_OPT_MILTER_SOCKET)) !=
	    0)
		mss_warning("reload: [milter] socket changed; the new socket is used after a restart");
	conf_unref_locked(cur_conf);
	cur_conf = c;
	snap_unref_locked(cur_snap);
	cur_snap = s;
	snap_checked = time(NULL);
	pthread_mutex_unlock(&state_lock);
	if (s->snap == NULL)
		mss_error("snapshot: %s", s->why);
	return 0;
}

struct mm_conf *mm_state_conf(void)
{
	struct mm_conf *c;

	pthread_mutex_lock(&state_lock);
	c = cur_conf;
	if (c != NULL)
		c->refs++;
	pthread_mutex_unlock(&state_lock);
	return c;
}

/* Opens the snapshot at PATH again and puts it in force when it is readable, or when none
   readable is in force. state_lock held. */
static void snap_reopen_locked(const char *path)
{
	struct mm_snap *fresh = snap_open(cur_conf->cfg);

	if (fresh != NULL && (fresh->snap != NULL || cur_snap == NULL || cur_snap->snap == NULL)) {
		if (fresh->snap != NULL && cur_snap != NULL && cur_snap->snap == NULL)
			mss_info("snapshot %s opened", path);
		snap_unref_locked(cur_snap);
		cur_snap = fresh;
	} else if (fresh != NULL) {
		/* Replaced by something unreadable, or removed: the one in force stays (its age
		   still bounds how long it is trusted). */
		mss_warning("snapshot %s changed but cannot be read, keeping the one in force: %s", path, fresh->why);
		snap_unref_locked(fresh);
	}
}

struct mm_snap *mm_state_snap(void)
{
	struct mm_snap *s;
	const char *path;
	time_t now = time(NULL);

	pthread_mutex_lock(&state_lock);
	path = mss_config_str(cur_conf->cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	/* `mssctl sync` renames a new file over the old one; a missing or unreadable snapshot is
	   retried. Checked at most once a second (a stat per message would be one syscall more on
	   every MAIL FROM). */
	if (now != snap_checked && path != NULL) {
		snap_checked = now;
		if (cur_snap == NULL || cur_snap->snap == NULL || mss_snapshot_replaced(cur_snap->snap, path))
			snap_reopen_locked(path);
	}
	s = cur_snap;
	if (s == NULL) {
		s = calloc(1, sizeof(*s));
		if (s == NULL) {
			pthread_mutex_unlock(&state_lock);
			return NULL;
		}
		snprintf(s->why, sizeof(s->why), "snapshot not opened");
		s->refs = 1;
		cur_snap = s;
	}
	s->refs++;
	pthread_mutex_unlock(&state_lock);
	return s;
}

void mm_state_release_conf(struct mm_conf *c)
{
	pthread_mutex_lock(&state_lock);
	conf_unref_locked(c);
	pthread_mutex_unlock(&state_lock);
}

void mm_state_release_snap(struct mm_snap *s)
{
	pthread_mutex_lock(&state_lock);
	snap_unref_locked(s);
	pthread_mutex_unlock(&state_lock);
}

void mm_state_stop(void)
{
	pthread_mutex_lock(&state_lock);
	stopping = true;
	pthread_mutex_unlock(&state_lock);
}

bool mm_state_stopping(void)
{
	bool s;

	pthread_mutex_lock(&state_lock);
	s = stopping;
	pthread_mutex_unlock(&state_lock);
	return s;
}

void mm_state_txn_begin(void)
{
	pthread_mutex_lock(&state_lock);
	txns++;
	pthread_mutex_unlock(&state_lock);
}

void mm_state_txn_end(void)
{
	pthread_mutex_lock(&state_lock);
	txns--;
	pthread_mutex_unlock(&state_lock);
}

int mm_state_txns(void)
{
	int n;

	pthread_mutex_lock(&state_lock);
	n = txns;
	pthread_mutex_unlock(&state_lock);
	return n;
}

const char *mm_state_socket(void)
{
	return cur_conf != NULL ? mss_config_str(cur_conf->cfg, MSS_OPT_MILTER_SOCKET) : NULL;
}

void mm_state_free(void)
{
	pthread_mutex_lock(&state_lock);
	snap_unref_locked(cur_snap);
	cur_snap = NULL;
	conf_unref_locked(cur_conf);
	cur_conf = NULL;
	snap_checked = 0;
	stopping = false;
	pthread_mutex_unlock(&state_lock);
}
