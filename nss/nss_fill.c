/* From snapshot records to struct passwd / struct group: the mapping rules of libnss_mss, and
 * the packing of strings into the caller's buffer (glibc retries with a bigger buffer when
 * we answer ERANGE, so nothing here allocates). */
#include "nss_internal.h"

#include <errno.h>
#include <stdalign.h>
#include <stdint.h>
#include <string.h>

#include "addr.h"

/* ---- entry point helpers ---- */

bool nss_may_be_address(const char *name, size_t *len_r)
{
	size_t len = strnlen(name, MSS_ADDR_MAX + 1);

	*len_r = len;
	return len > 0 && len <= MSS_ADDR_MAX && memchr(name, '@', len) != NULL;
}

enum nss_status nss_finish(enum nss_status status, int err, int saved_errno, int *errnop)
{
	errno = saved_errno;
	if (status != NSS_STATUS_SUCCESS)
		*errnop = err;
	return status;
}

enum nss_status nss_lookup_failed(int r, int *err)
{
	if (r < 0) {
		*err = EPROTO;
		return NSS_STATUS_UNAVAIL;
	}
	*err = ENOENT;
	return NSS_STATUS_NOTFOUND;
}

/* ---- names ---- */

/* Characters allowed in the local part (bit 1) and in the domain (bit 2) of a user name.
   A table, because this check runs on every lookup (an indirect call per character cost
   a sixth of a getpwnam). */
#define LOCAL_OK 1u
#define DOMAIN_OK 2u
#define BOTH_OK (LOCAL_OK | DOMAIN_OK)
static const unsigned char name_chars[256] = {
	['a' ... 'z'] = BOTH_OK, ['0' ... '9'] = BOTH_OK, ['.'] = BOTH_OK, ['-'] = BOTH_OK,
	['_'] = LOCAL_OK, ['+'] = LOCAL_OK, ['='] = LOCAL_OK,
};

/* A dot-separated part: not starting with '.' or '-', no empty label, not ending with '.'. */
static bool part_ok(const unsigned char *s, size_t len, size_t max, unsigned class)
{
	if (len == 0 || len > max || s[0] == '.' || s[0] == '-' || s[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!(name_chars[s[i]] & class))
			return false;
		if (s[i] == '.' && s[i + 1] == '.') /* s[len - 1] is not '.': i + 1 < len */
			return false;
	}
	return true;
}

bool nss_name_ok(const char *name, size_t len)
{
	const unsigned char *s = (const unsigned char *)name;
	const unsigned char *at;

	if (len == 0 || len > MSS_ADDR_MAX)
		return false;
	at = memchr(s, '@', len);
	if (at == NULL)
		return false;
	return part_ok(s, (size_t)(at - s), MSS_ADDR_LOCAL_MAX, LOCAL_OK) &&
	       part_ok(at + 1, len - (size_t)(at - s) - 1, MSS_ADDR_DOMAIN_MAX, DOMAIN_OK);
}

bool nss_home_template_ok(const char *tmpl)
{
	if (tmpl == NULL || tmpl[0] != '/')
		return false;
	for (const char *p = tmpl; *p != '\0'; p++) {
		if (*p == '%') {
			p++;
			if (*p != 'd' && *p != 'n' && *p != 'u' && *p != '%')
				return false;
		} else if (*p == '/') {
			/* A component "", "." or "..": the home must stay below the fixed prefix. */
			const char *c = p + 1;
			size_t n = strcspn(c, "/");

			if (n == 0 && *c == '/')
				return false;
			if ((n == 1 && c[0] == '.') || (n == 2 && c[0] == '.' && c[1] == '.'))
				return false;
		}
	}
	return true;
}

bool nss_type_enabled(const struct mss_config *cfg, struct mss_slice type)
{
	char t[16];

	if (type.len == 0 || type.len >= sizeof(t))
		return false;
	memcpy(t, type.p, type.len);
	t[type.len] = '\0';
	return mss_config_list_has(cfg, MSS_OPT_NSS_TYPES, t);
}

/* ---- buffer ---- */

char *nss_buf_str(struct nss_buf *b, const char *s, size_t len)
{
	char *out;

	if (b->left < len + 1)
		return NULL;
	out = b->p;
	if (len > 0)
		memcpy(out, s, len);
	out[len] = '\0';
	b->p += len + 1;
	b->left -= len + 1;
	return out;
}

char *nss_buf_gecos(struct nss_buf *b, const char *s, size_t len)
{
	char *out = nss_buf_str(b, s, len);

	for (size_t i = 0; out != NULL && i < len; i++) {
		if (out[i] == ':' || out[i] == ',')
			out[i] = ' ';
	}
	return out;
}

char **nss_buf_ptrs(struct nss_buf *b, size_t n)
{
	size_t pad = (alignof(char *) - (uintptr_t)b->p % alignof(char *)) % alignof(char *);
	char **out;

	if (n > (SIZE_MAX - pad) / sizeof(char *) || b->left < pad + n * sizeof(char *))
		return NULL;
	out = (char **)(void *)(b->p + pad);
	b->p += pad + n * sizeof(char *);
	b->left -= pad + n * sizeof(char *);
	return out;
}

char *nss_buf_home(struct nss_buf *b, const char *tmpl, const char *address, size_t len)
{
	const char *at = memchr(address, '@', len);
	size_t local_len = at != NULL ? (size_t)(at - address) : len;
	char *out = b->p;
	size_t o = 0;

	for (const char *p = tmpl; *p != '\0'; p++) {
		const char *piece = p;
		size_t n = 1;

		if (*p == '%') {
			p++;
			switch (*p) {
			case 'd':
				piece = at != NULL ? at + 1 : "";
				n = at != NULL ? len - local_len - 1 : 0;
				break;
			case 'n':
				piece = address;
				n = local_len;
				break;
			case 'u':
				piece = address;
				n = len;
				break;
			default: /* "%%" (the template was validated) */
				piece = p;
				n = 1;
				break;
			}
		}
		if (b->left - o < n + 1)
			return NULL;
		memcpy(out + o, piece, n);
		o += n;
	}
	if (b->left - o < 1)
		return NULL;
	out[o++] = '\0';
	b->p += o;
	b->left -= o;
	return out;
}

/* ---- passwd and group ---- */

static bool bal_is_account(const struct nss_view *v, const struct mss_bal *bal)
{
	return bal->status == 'A' && bal->uid != MSS_SNAPSHOT_NO_UID && bal->uid >= v->uid_min &&
	       bal->uid <= v->uid_max && nss_name_ok(bal->address.p, bal->address.len);
}

bool nss_bal_is_user(const struct nss_view *v, const struct mss_bal *bal)
{
	return bal_is_account(v, bal) && nss_type_enabled(v->cfg, bal->type);
}

static enum nss_status erange(int *errnop)
{
	*errnop = ERANGE;
	return NSS_STATUS_TRYAGAIN;
}

enum nss_status nss_fill_passwd(const struct nss_view *v, const struct mss_bal *bal, struct passwd *pw, char *buf,
				size_t buflen, int *errnop)
{
	struct nss_buf b = {buf, buflen};

	if (!nss_bal_is_user(v, bal)) {
		*errnop = ENOENT;
		return NSS_STATUS_NOTFOUND;
	}
	pw->pw_name = nss_buf_str(&b, bal->address.p, bal->address.len);
	pw->pw_passwd = nss_buf_str(&b, "*", 1);
	pw->pw_gecos = nss_buf_gecos(&b, bal->name.p, bal->name.len);
	pw->pw_dir = nss_buf_home(&b, v->home_template, bal->address.p, bal->address.len);
	pw->pw_shell = nss_buf_str(&b, v->shell, strlen(v->shell));
	if (pw->pw_name == NULL || pw->pw_passwd == NULL || pw->pw_gecos == NULL || pw->pw_dir == NULL ||
	    pw->pw_shell == NULL)
		return erange(errnop);
	pw->pw_uid = (uid_t)bal->uid;
	pw->pw_gid = v->gid;
	return NSS_STATUS_SUCCESS;
}

bool nss_bal_is_group(const struct nss_view *v, const struct mss_bal *bal)
{
	return bal->type.len == 3 && memcmp(bal->type.p, "ORG", 3) == 0 && bal_is_account(v, bal);
}

bool nss_list_next(struct mss_slice list, size_t *off, struct mss_slice *item)
{
	const char *comma;

	if (*off >= list.len)
		return false;
	item->p = list.p + *off;
	comma = memchr(item->p, ',', list.len - *off);
	item->len = comma != NULL ? (size_t)(comma - item->p) : list.len - *off;
	*off += item->len + 1;
	return true;
}

enum nss_status nss_fill_group(const struct mss_bal *bal, struct mss_slice members, struct group *gr, char *buf,
			       size_t buflen, int *errnop)
{
	struct nss_buf b = {buf, buflen};
	struct mss_slice m;
	size_t n = 0, i = 0, off = 0;

	/* Count the members first: the pointer array goes before their strings. */
	while (nss_list_next(members, &off, &m))
		n += nss_name_ok(m.p, m.len);
	gr->gr_mem = nss_buf_ptrs(&b, n + 1);
	if (gr->gr_mem == NULL)
		return erange(errnop);
	gr->gr_name = nss_buf_str(&b, bal->address.p, bal->address.len);
	gr->gr_passwd = nss_buf_str(&b, "*", 1);
	if (gr->gr_name == NULL || gr->gr_passwd == NULL)
		return erange(errnop);
	off = 0;
	while (i < n && nss_list_next(members, &off, &m)) {
		if (!nss_name_ok(m.p, m.len))
			continue;
		gr->gr_mem[i] = nss_buf_str(&b, m.p, m.len);
		if (gr->gr_mem[i] == NULL)
			return erange(errnop);
		i++;
	}
	gr->gr_mem[i] = NULL;
	gr->gr_gid = (gid_t)bal->uid;
	return NSS_STATUS_SUCCESS;
}
