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

static enum nss_status fill_passwd(const struct nss_view *v, const struct mss_bal *bal, void *pw, char *buf,
				   size_t buflen, int *err)
{
	return nss_fill_passwd(v, bal, pw, buf, buflen, err);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop)
{
	return nss_cursor_next(&pw_cursor, nss_bal_is_user, fill_passwd, pw, buf, buflen, errnop);
}
