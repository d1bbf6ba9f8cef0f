/* passwd entry points of libnss_mss: BALs as users.
 *
 * glibc passes &errno as ERRNOP, so every entry point restores the caller's errno first and
 * sets *errnop last, and only when it does not answer SUCCESS. */
#include "nss_internal.h"

#include <errno.h>

/* Per-thread enumeration cursor (see struct nss_cursor). */
static __thread struct nss_cursor pw_cursor;

MSS_NSS_EXPORT enum nss_status _nss_mss_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
						   int *errnop)
{
	int saved = errno, err = ENOENT, r;
	enum nss_status status = NSS_STATUS_NOTFOUND;
	struct nss_view *v;
	struct mss_bal bal;
	size_t len;

	if (!nss_may_be_address(name, &len))
		return nss_finish(status, err, saved, errnop);
	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	r = mss_snapshot_bal(v->snap, name, len, &bal);
	if (r == 1)
		status = nss_fill_passwd(v, &bal, pw, buf, buflen, &err);
	else
		status = nss_lookup_failed(r, &err);
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
						   int *errnop)
{
	int saved = errno, err = ENOENT, r;
	enum nss_status status = NSS_STATUS_NOTFOUND;
	struct nss_view *v;
	struct mss_bal bal;

	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	/* System accounts and anything outside the BAL range never reach the snapshot. */
	if (uid >= v->uid_min && uid <= v->uid_max) {
		r = mss_snapshot_bal_by_uid(v->snap, (uint32_t)uid, &bal);
		if (r == 1)
			status = nss_fill_passwd(v, &bal, pw, buf, buflen, &err);
		else
			status = nss_lookup_failed(r, &err);
	}
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_setpwent(int stayopen)
{
	(void)stayopen;
	return nss_cursor_start(&pw_cursor);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_endpwent(void)
{
	return nss_cursor_end(&pw_cursor);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	int saved = errno, err = ENOENT;
	enum nss_status status = NSS_STATUS_NOTFOUND;
	struct nss_view *v;

	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	if (pw_cursor.generation == 0) {
		pw_cursor.generation = v->generation;
		pw_cursor.pos = 0;
	}
	/* Enumeration off, or the snapshot was replaced during the walk: the walk ends (going on
	   in another file could give an entry twice or skip one). */
	while (v->enumerate && pw_cursor.generation == v->generation) {
		size_t before = pw_cursor.pos;
		struct mss_slice key, value;
		struct mss_bal bal;
		char kind;
		int r = mss_snapshot_walk(v->snap, &pw_cursor.pos, &kind, &key, &value);

		if (r == 0)
			break;
		if (r < 0 || (kind == 'B' && mss_snapshot_decode_bal(key.p, key.len, value.p, value.len, &bal) < 0)) {
			status = NSS_STATUS_UNAVAIL;
			err = EPROTO;
			break;
		}
		if (kind != 'B' || !nss_bal_is_user(v, &bal))
			continue;
		status = nss_fill_passwd(v, &bal, pw, buf, buflen, &err);
		if (status == NSS_STATUS_TRYAGAIN)
			pw_cursor.pos = before; /* the same entry again, with a bigger buffer */
		break;
	}
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}
