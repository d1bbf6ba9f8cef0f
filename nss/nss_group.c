/* group entry points of libnss_mss: each active ORG BAL is a group named after its address,
 * whose gid is the BAL's uid and whose members are the PER BALs of its delegates (the 'G'
 * record of the snapshot; an ORG BAL of the national extraction has none: no members).
 * initgroups_dyn reads the reverse index ('I' record: a BAL -> the uids of its groups). */
#include "nss_internal.h"

#include <errno.h>
#include <stdlib.h>

static __thread struct nss_cursor gr_cursor;

/* Fills GR from an ORG BAL already checked by nss_bal_is_group. */
static enum nss_status fill_from_bal(const struct nss_view *v, const struct mss_bal *bal, struct group *gr, char *buf,
				     size_t buflen, int *err)
{
	struct mss_slice members = {"", 0};
	int r = mss_snapshot_get(v->snap, 'G', bal->address.p, bal->address.len, &members);

	if (r < 0)
		return nss_lookup_failed(r, err);
	if (r == 0)
		members.len = 0;
	return nss_fill_group(bal, members, gr, buf, buflen, err);
}

/* R, the result of a BAL lookup, as a group answer. */
static enum nss_status group_answer(const struct nss_view *v, int r, const struct mss_bal *bal, struct group *gr,
				    char *buf, size_t buflen, int *err)
{
	if (r != 1)
		return nss_lookup_failed(r, err);
	if (!nss_bal_is_group(v, bal))
		return nss_lookup_failed(0, err);
	return fill_from_bal(v, bal, gr, buf, buflen, err);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
						   int *errnop)
{
	int saved = errno, err = ENOENT, r;
	enum nss_status status;
	struct nss_view *v;
	struct mss_bal bal;
	size_t len;

	if (!nss_may_be_address(name, &len))
		return nss_finish(NSS_STATUS_NOTFOUND, err, saved, errnop);
	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	r = mss_snapshot_bal(v->snap, name, len, &bal);
	status = group_answer(v, r, &bal, gr, buf, buflen, &err);
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
						   int *errnop)
{
	int saved = errno, err = ENOENT;
	enum nss_status status = NSS_STATUS_NOTFOUND;
	struct nss_view *v;
	struct mss_bal bal;

	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	if (gid >= v->uid_min && gid <= v->uid_max)
		status = group_answer(v, mss_snapshot_bal_by_uid(v->snap, (uint32_t)gid, &bal), &bal, gr, buf, buflen,
				      &err);
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_setgrent(int stayopen)
{
	(void)stayopen;
	return nss_cursor_start(&gr_cursor);
}

MSS_NSS_EXPORT enum nss_status _nss_mss_endgrent(void)
{
	return nss_cursor_end(&gr_cursor);
}

static enum nss_status fill_group(const struct nss_view *v, const struct mss_bal *bal, void *gr, char *buf,
				  size_t buflen, int *err)
{
	return fill_from_bal(v, bal, gr, buf, buflen, err);
}

/* Walks the BAL records (not the 'G' ones) so that ORG BALs without members are listed too. */
MSS_NSS_EXPORT enum nss_status _nss_mss_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop)
{
	return nss_cursor_next(&gr_cursor, nss_bal_is_group, fill_group, gr, buf, buflen, errnop);
}

/* Strict decimal gid as the snapshot writes it; false on anything else. */
static bool parse_gid(struct mss_slice s, uint32_t *gid_r)
{
	uint64_t g = 0;

	if (s.len == 0 || s.len > 10 || s.p[0] == '0')
		return false;
	for (size_t i = 0; i < s.len; i++) {
		if (s.p[i] < '0' || s.p[i] > '9')
			return false;
		g = g * 10 + (uint64_t)(s.p[i] - '0');
	}
	if (g >= UINT32_MAX)
		return false;
	*gid_r = (uint32_t)g;
	return true;
}

/* Appends GID to the caller's array unless it is there already; -1 when it cannot grow. */
static int add_gid(gid_t gid, long int *start, long int *size, gid_t **groupsp, long int limit)
{
	for (long int i = 0; i < *start; i++) {
		if ((*groupsp)[i] == gid)
			return 0;
	}
	if (*start == *size) {
		long int newsize;
		gid_t *grown;

		if (limit > 0 && *size >= limit)
			return 0; /* full: glibc reports the truncation itself */
		newsize = *size > 0 ? 2 * *size : 16;
		if (limit > 0 && newsize > limit)
			newsize = limit;
		grown = realloc(*groupsp, (size_t)newsize * sizeof(**groupsp));
		if (grown == NULL)
			return -1;
		*groupsp = grown;
		*size = newsize;
	}
	(*groupsp)[(*start)++] = gid;
	return 0;
}

MSS_NSS_EXPORT enum nss_status _nss_mss_initgroups_dyn(const char *user, gid_t group, long int *start,
						       long int *size, gid_t **groupsp, long int limit, int *errnop)
{
	int saved = errno, err = ENOENT, r;
	enum nss_status status = NSS_STATUS_NOTFOUND;
	struct mss_slice gids, item;
	struct nss_view *v;
	struct mss_bal bal, org;
	size_t len, off = 0;

	if (!nss_may_be_address(user, &len))
		return nss_finish(status, err, saved, errnop);
	v = nss_view_acquire();
	if (v == NULL)
		return nss_finish(NSS_STATUS_UNAVAIL, errno, saved, errnop);
	r = mss_snapshot_bal(v->snap, user, len, &bal);
	if (r != 1 || !nss_bal_is_user(v, &bal)) {
		status = nss_lookup_failed(r == 1 ? 0 : r, &err);
		goto out;
	}
	r = mss_snapshot_get(v->snap, 'I', bal.address.p, bal.address.len, &gids);
	if (r < 0) {
		status = nss_lookup_failed(r, &err);
		goto out;
	}
	status = NSS_STATUS_SUCCESS;
	while (r == 1 && nss_list_next(gids, &off, &item)) {
		uint32_t gid;

		/* Each gid must still be a group: an index entry alone never grants a membership. */
		if (!parse_gid(item, &gid) || gid == group || gid < v->uid_min || gid > v->uid_max)
			continue;
		if (mss_snapshot_bal_by_uid(v->snap, gid, &org) != 1 || !nss_bal_is_group(v, &org))
			continue;
		if (add_gid((gid_t)gid, start, size, groupsp, limit) < 0) {
			status = NSS_STATUS_TRYAGAIN;
			err = ENOMEM;
			break;
		}
	}
out:
	nss_view_release(v);
	return nss_finish(status, err, saved, errnop);
}
