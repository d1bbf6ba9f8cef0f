/* libnss_mss internals, shared by the files of nss/ and nothing else.
 *
 * The module is loaded into every process of the host (through glibc's NSS), including
 * setuid programs, so it is small and paranoid: libc and libmss-core only, no network, no
 * writes, no output on stdout/stderr, no logging, no static result buffers, every
 * descriptor O_CLOEXEC (the snapshot reader keeps none open), and NSS_STATUS_UNAVAIL at
 * once when the configuration or the snapshot cannot be used. */
#ifndef MSS_NSS_INTERNAL_H
#define MSS_NSS_INTERNAL_H

#include <grp.h>
#include <nss.h>
#include <pwd.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "config.h"
#include "snapshot.h"

#define MSS_NSS_EXPORT __attribute__((visibility("default")))

/* ---- the entry points glibc looks up (exported by libnss_mss.map) ---- */
MSS_NSS_EXPORT enum nss_status _nss_mss_getpwnam_r(const char *name, struct passwd *pw, char *buf, size_t buflen,
						   int *errnop);
MSS_NSS_EXPORT enum nss_status _nss_mss_getpwuid_r(uid_t uid, struct passwd *pw, char *buf, size_t buflen,
						   int *errnop);
MSS_NSS_EXPORT enum nss_status _nss_mss_setpwent(int stayopen);
MSS_NSS_EXPORT enum nss_status _nss_mss_getpwent_r(struct passwd *pw, char *buf, size_t buflen, int *errnop);
MSS_NSS_EXPORT enum nss_status _nss_mss_endpwent(void);
MSS_NSS_EXPORT enum nss_status _nss_mss_getgrnam_r(const char *name, struct group *gr, char *buf, size_t buflen,
						   int *errnop);
MSS_NSS_EXPORT enum nss_status _nss_mss_getgrgid_r(gid_t gid, struct group *gr, char *buf, size_t buflen,
						   int *errnop);
MSS_NSS_EXPORT enum nss_status _nss_mss_setgrent(int stayopen);
MSS_NSS_EXPORT enum nss_status _nss_mss_getgrent_r(struct group *gr, char *buf, size_t buflen, int *errnop);
MSS_NSS_EXPORT enum nss_status _nss_mss_endgrent(void);
MSS_NSS_EXPORT enum nss_status _nss_mss_initgroups_dyn(const char *user, gid_t group, long int *start,
						       long int *size, gid_t **groupsp, long int limit, int *errnop);

/* What one lookup works on: a parsed configuration and the snapshot it names, bundled so
 * that both are swapped together. A view is reference-counted: the process-global state
 * holds one reference on the current view, and every lookup holds one while it reads from
 * the mapping, so a thread still reading an old snapshot is safe while another swaps it
 * (the mapping is unmapped by whoever drops the last reference). */
struct nss_view {
	unsigned long refs;   /* guarded by the state lock */
	uint64_t generation;  /* distinct for every view; ends enumerations across a swap */
	struct mss_config *cfg;
	struct mss_snapshot *snap;
	/* Settings read once from cfg, checked when the view is built. */
	uint32_t uid_min, uid_max;
	gid_t gid;
	const char *home_template; /* validated by nss_home_template_ok */
	const char *shell;
	bool enumerate;
};

/* Takes a reference on the current view, reloading the configuration or reopening the
 * snapshot first when they changed (see nss_state.c for when that is checked). Returns the
 * view, or NULL with errno set when the configuration or the snapshot is missing or unusable:
 * the caller answers NSS_STATUS_UNAVAIL. */
struct nss_view *nss_view_acquire(void);
void nss_view_release(struct nss_view *view);

/* Per-thread enumeration cursor (SSSD PR #6333: a process-wide cursor mixes the walks of two
 * threads). GENERATION 0: not started; a walk ends when the snapshot is swapped under it. */
struct nss_cursor {
	uint64_t generation;
	size_t pos;
};

/* set*ent: rewinds CURSOR; UNAVAIL when there is no usable snapshot (errno kept). */
enum nss_status nss_cursor_start(struct nss_cursor *cursor);
/* end*ent: rewinds CURSOR. */
enum nss_status nss_cursor_end(struct nss_cursor *cursor);
/* get*ent: walks the snapshot's BAL records from CURSOR to the next one KEEP accepts and hands
 * it to FILL with RESULT (the caller's struct passwd or struct group) and its buffer; a
 * TRYAGAIN (buffer too small) gives the same entry at the next call. Answers as an entry point
 * does (nss_finish). */
struct mss_bal;
typedef bool nss_bal_keep_fn(const struct nss_view *v, const struct mss_bal *bal);
typedef enum nss_status nss_bal_fill_fn(const struct nss_view *v, const struct mss_bal *bal, void *result, char *buf,
					size_t buflen, int *err);
enum nss_status nss_cursor_next(struct nss_cursor *cursor, nss_bal_keep_fn *keep, nss_bal_fill_fn *fill, void *result,
				char *buf, size_t buflen, int *errnop);

/* ---- entry point helpers (nss_fill.c) ---- */

/* A name that cannot be a BAL address is not ours: it is answered NOTFOUND without touching
 * anything, so that system accounts cost nothing even when the snapshot is unavailable. */
bool nss_may_be_address(const char *name, size_t *len_r);
/* glibc passes &errno as ERRNOP: entry points restore the caller's errno first and set
 * *errnop last, and only when they do not answer SUCCESS. */
enum nss_status nss_finish(enum nss_status status, int err, int saved_errno, int *errnop);
/* Status of a snapshot lookup that found nothing usable: R 0 gives NOTFOUND (ENOENT), R -1 (a
 * corrupt record, not an answer to trust) UNAVAIL (EPROTO). */
enum nss_status nss_lookup_failed(int r, int *err);

/* ---- helpers of nss_fill.c (pure functions, unit-tested) ---- */

/* Is the BAL address a name we may hand out as a Unix user or group name? Lower-case
 * ASCII letters, digits and ". _ + = -", one '@', a local part that does not start with
 * '.' or '-' and holds no "..", a domain of letters, digits, '.' and '-' that does not
 * start with '.' or '-'. Anything else (quotes, '/', ':', spaces, upper case) is refused:
 * such a name could break passwd(5) lines, shell scripts or the home directory template. */
bool nss_name_ok(const char *name, size_t len);

/* Is TEMPLATE a usable home directory template: absolute, no "." or ".." component, no
 * "//", and no '%' other than %d (domain), %n (local part), %u (address) and %%? */
bool nss_home_template_ok(const char *tmpl);

/* Is the BAL's type one of [nss] types? */
bool nss_type_enabled(const struct mss_config *cfg, struct mss_slice type);

/* Next item of a comma-separated list (a snapshot field), from *OFF on (start at 0);
 * false at the end. Items may be empty. */
bool nss_list_next(struct mss_slice list, size_t *off, struct mss_slice *item);

/* Caller-provided result buffer, filled from the front; pointers are aligned. */
struct nss_buf {
	char *p;
	size_t left;
};

/* Copies S and a NUL into the buffer; NULL when it does not fit (the caller answers ERANGE). */
char *nss_buf_str(struct nss_buf *b, const char *s, size_t len);
/* Like nss_buf_str, with ':' and ',' turned into spaces (a GECOS field: those characters
 * separate passwd fields and GECOS subfields). */
char *nss_buf_gecos(struct nss_buf *b, const char *s, size_t len);
/* Reserves N pointers, aligned; NULL when they do not fit. */
char **nss_buf_ptrs(struct nss_buf *b, size_t n);
/* Expands TEMPLATE (already validated) for ADDRESS (already nss_name_ok). */
char *nss_buf_home(struct nss_buf *b, const char *tmpl, const char *address, size_t len);

/* Fills PW from a BAL, applying every rule: active, a uid inside [nss] uid_min..uid_max, a
 * type of [nss] types, a safe name. Returns NSS_STATUS_SUCCESS, NOTFOUND (the BAL is not a
 * user) or TRYAGAIN with *errnop = ERANGE. */
enum nss_status nss_fill_passwd(const struct nss_view *v, const struct mss_bal *bal, struct passwd *pw, char *buf,
				size_t buflen, int *errnop);

/* Is the BAL a user: active, uid inside [nss] uid_min..uid_max, a type of [nss] types, a
 * safe name? */
bool nss_bal_is_user(const struct nss_view *v, const struct mss_bal *bal);
/* Is the BAL an ORG BAL that is a group (active, uid in range, safe name)? */
bool nss_bal_is_group(const struct nss_view *v, const struct mss_bal *bal);
/* Fills GR from an ORG BAL (already nss_bal_is_group) and its members list (the value of its
 * 'G' record, comma-separated addresses; empty when it has none). Members whose name is not
 * nss_name_ok are left out. SUCCESS, or TRYAGAIN with *errnop = ERANGE. */
enum nss_status nss_fill_group(const struct mss_bal *bal, struct mss_slice members, struct group *gr, char *buf,
			       size_t buflen, int *errnop);

#endif
