/* Reading the hospital directory over LDAP for `mssctl sync`.
 *
 * One connection, one bind, two paged searches (people, then BALs), every operation
 * bounded by [directory] timeout. Entries are checked one by one: an entry with a missing
 * or invalid mandatory attribute is skipped and described, never half-imported, so that
 * one bad entry cannot stop the sync of the whole hospital, and the caller can log why.
 */
#define LDAP_DEPRECATED 0
#include "error.h"
#include "ldapdir.h"

#include "addr.h"
#include "config.h"
#include "dn.h"
#include "ldapconn.h"

#include <lber.h>
#include <ldap.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/time.h>

#define NAME_MAX_LEN 1024     /* display names */
#define DN_MAX_LEN 4096	      /* entry, owner and member DNs */
#define SUBJECT_MAX_LEN 2048  /* certificate subject (MSS_DN_MAX) */
#define MAX_ENTRIES 50000000  /* per search: a runaway server must not eat all memory */
#define MAX_EMPTY_PAGES 1000  /* a server returning cookies with no entries forever */

struct reader {
	LDAP *ld;
	const struct mss_config *cfg;
	struct mss_directory *dir;
	size_t cap_persons, cap_bals, cap_skipped;
	long long uid_min, uid_max;
};

static char *dup_bv(const struct berval *bv)
{
	char *s = malloc(bv->bv_len + 1);

	if (s == NULL)
		return NULL;
	memcpy(s, bv->bv_val, bv->bv_len);
	s[bv->bv_len] = '\0';
	return s;
}

/* ---- uid ---- */

int mss_ldap_parse_uid(const char *s, size_t len, long long min, long long max, long long *uid_r,
		       const char **error_r)
{
	long long v = 0;

	if (len == 0) {
		*error_r = "empty uid";
		return -1;
	}
	if (len > 1 && s[0] == '0') {
		*error_r = "uid has a leading zero";
		return -1;
	}
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9') {
			*error_r = "uid is not a decimal number";
			return -1;
		}
		if (v > (max - (s[i] - '0')) / 10) {
			*error_r = "uid is out of the [nss] uid_min..uid_max range";
			return -1;
		}
		v = v * 10 + (s[i] - '0');
	}
	if (v < min || v > max) {
		*error_r = "uid is out of the [nss] uid_min..uid_max range";
		return -1;
	}
	*uid_r = v;
	return 0;
}

/* ---- result building ---- */

static int grow(void **array, size_t *cap, size_t count, size_t elem)
{
	size_t new_cap;
	void *p;

	if (count < *cap)
		return 0;
	new_cap = *cap == 0 ? 64 : *cap * 2;
	if (new_cap > SIZE_MAX / elem)
		return -1;
	p = realloc(*array, new_cap * elem);
	if (p == NULL)
		return -1;
	*array = p;
	*cap = new_cap;
	return 0;
}

/* Records a skipped entry. Returns -1 only when out of memory. */
static int add_skipped(struct reader *r, const char *dn, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int add_skipped(struct reader *r, const char *dn, const char *fmt, ...)
{
	struct mss_directory *dir = r->dir;
	struct mss_dir_skipped *s;
	char reason[512];
	va_list ap;

	if (grow((void **)&dir->skipped, &r->cap_skipped, dir->n_skipped, sizeof *dir->skipped) < 0)
		return -1;
	va_start(ap, fmt);
	vsnprintf(reason, sizeof reason, fmt, ap);
	va_end(ap);
	s = &dir->skipped[dir->n_skipped];
	s->dn = mss_ldap_printable(dn, strlen(dn));
	s->reason = mss_ldap_printable(reason, strlen(reason));
	if (s->dn == NULL || s->reason == NULL) {
		free(s->dn);
		free(s->reason);
		return -1;
	}
	dir->n_skipped++;
	return 0;
}

/* Normalises a DN with libldap; the result is malloc'd (plain free()). NULL with *why
   when the value is not a valid DN. */
static char *normalize_dn(const struct berval *bv, const char **why)
{
	char *tmp = NULL;
	char *in;
	char *out;

	if (!mss_ldap_text_valid(bv->bv_val, bv->bv_len, DN_MAX_LEN, why))
		return NULL;
	in = dup_bv(bv);
	if (in == NULL) {
		*why = NULL; /* out of memory */
		return NULL;
	}
	if (ldap_dn_normalize(in, LDAP_DN_FORMAT_LDAP, &tmp, LDAP_DN_FORMAT_LDAPV3) != LDAP_SUCCESS ||
	    tmp == NULL || *tmp == '\0') {
		free(in);
		if (tmp != NULL)
			ldap_memfree(tmp);
		*why = "is not a valid DN";
		return NULL;
	}
	free(in);
	out = strdup(tmp);
	ldap_memfree(tmp);
	if (out == NULL)
		*why = NULL;
	return out;
}

/* Outcome of reading one attribute of an entry. */
enum attr_result { ATTR_OK, ATTR_SKIP, ATTR_NOMEM };

/* A single-valued text attribute: *out is NULL when absent. Several values or an
   invalid value make the entry skipped (*why set). */
static enum attr_result get_single(LDAP *ld, LDAPMessage *e, const char *attr, size_t max, char **out,
				   const char **why)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	enum attr_result res = ATTR_OK;

	*out = NULL;
	if (vals == NULL || vals[0] == NULL)
		goto done;
	if (vals[1] != NULL) {
		*why = "has several values";
		res = ATTR_SKIP;
		goto done;
	}
	if (!mss_ldap_text_valid(vals[0]->bv_val, vals[0]->bv_len, max, why)) {
		res = ATTR_SKIP;
		goto done;
	}
	*out = dup_bv(vals[0]);
	if (*out == NULL)
		res = ATTR_NOMEM;
done:
	if (vals != NULL)
		ldap_value_free_len(vals);
	return res;
}

/* The display name: first value of the mapped attribute, else of cn, else "". A
   multi-valued name is not ambiguous enough to lose the entry: the first is taken. */
static enum attr_result get_name(LDAP *ld, LDAPMessage *e, const char *attr, char **out, const char **why)
{
	const char *attrs[] = {attr, "cn"};
	enum attr_result res = ATTR_OK;

	*out = NULL;
	for (size_t i = 0; i < 2 && *out == NULL && res == ATTR_OK; i++) {
		struct berval **vals = ldap_get_values_len(ld, e, attrs[i]);

		if (vals == NULL)
			continue;
		if (vals[0] != NULL) {
			if (!mss_ldap_text_valid(vals[0]->bv_val, vals[0]->bv_len, NAME_MAX_LEN, why))
				res = ATTR_SKIP;
			else if ((*out = dup_bv(vals[0])) == NULL)
				res = ATTR_NOMEM;
		}
		ldap_value_free_len(vals);
	}
	if (res == ATTR_OK && *out == NULL && (*out = strdup("")) == NULL)
		res = ATTR_NOMEM;
	return res;
}

/* Does any value of the status attribute say "suspended"? */
static bool is_suspended(LDAP *ld, LDAPMessage *e, const char *attr)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	bool suspended = false;

	if (vals == NULL)
		return false;
	for (size_t i = 0; vals[i] != NULL; i++) {
		if (vals[i]->bv_len == 9 && strncasecmp(vals[i]->bv_val, "suspended", 9) == 0)
			suspended = true;
	}
	ldap_value_free_len(vals);
	return suspended;
}

/* The entry's own DN, normalised. Returns NULL on a DN we cannot use (*skip set,
   *dn_raw holds what to print) or out of memory (*skip false). */
static char *entry_dn(LDAP *ld, LDAPMessage *e, char **dn_raw, bool *skip)
{
	char *raw = ldap_get_dn(ld, e);
	struct berval bv;
	const char *why = NULL;
	char *dn;

	*skip = false;
	*dn_raw = NULL;
	if (raw == NULL) {
		*skip = true;
		*dn_raw = strdup("(no DN)");
		return NULL;
	}
	bv.bv_val = raw;
	bv.bv_len = strlen(raw);
	dn = normalize_dn(&bv, &why);
	if (dn == NULL && why != NULL) {
		*skip = true;
		*dn_raw = strdup(raw);
	}
	ldap_memfree(raw);
	return dn;
}

static void person_free(struct mss_dir_person *p)
{
	free(p->dn);
	free(p->idnat);
	free(p->name);
}

static void bal_free(struct mss_dir_bal *b)
{
	free(b->dn);
	free(b->address);
	free(b->name);
	free(b->owner_dn);
	for (size_t i = 0; i < b->n_delegates; i++)
		free(b->delegate_dns[i]);
	free(b->delegate_dns);
	free(b->app_subject);
}

/* Skips the current entry with a reason naming the attribute. */
#define SKIP_ATTR(attr, why)                                                                   \
	do {                                                                                   \
		ret = add_skipped(r, dn, "attribute %s: %s", (attr), (why)) < 0 ? -1 : 0;      \
		goto out;                                                                      \
	} while (0)

/* Each reader returns 0 (entry taken or skipped) or -1 (out of memory). */
static int read_person(struct reader *r, LDAPMessage *e)
{
	const struct mss_config *cfg = r->cfg;
	const char *map_idnat = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_IDNAT);
	const char *map_name = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_NAME);
	const char *map_status = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_STATUS);
	struct mss_dir_person p = {0};
	const char *why = NULL;
	char *dn_raw = NULL;
	char *dn;
	bool skip;
	int ret = -1;
	enum attr_result res;

	p.dn = entry_dn(r->ld, e, &dn_raw, &skip);
	dn = p.dn != NULL ? p.dn : dn_raw;
	if (p.dn == NULL) {
		if (skip && dn_raw != NULL)
			ret = add_skipped(r, dn_raw, "the entry DN is not valid");
		goto out;
	}
	res = get_single(r->ld, e, map_idnat, 32, &p.idnat, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_idnat, why);
	if (p.idnat == NULL)
		SKIP_ATTR(map_idnat, "missing");
	if (!mss_idnat_valid(p.idnat, false))
		SKIP_ATTR(map_idnat, "not an idNat_PS ('8' + 11-digit RPPS or '0' + 9-digit ADELI)");
	res = get_name(r->ld, e, map_name, &p.name, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_name, why);
	p.suspended = is_suspended(r->ld, e, map_status);
	if (grow((void **)&r->dir->persons, &r->cap_persons, r->dir->n_persons, sizeof p) < 0)
		goto out;
	r->dir->persons[r->dir->n_persons++] = p;
	memset(&p, 0, sizeof p);
	ret = 0;
out:
	person_free(&p);
	free(dn_raw);
	return ret;
}

static enum attr_result get_delegates(LDAP *ld, LDAPMessage *e, const char *attr, struct mss_dir_bal *b,
				      const char **why)
{
	struct berval **vals = ldap_get_values_len(ld, e, attr);
	enum attr_result res = ATTR_OK;
	size_t n = 0;

	if (vals == NULL)
		return ATTR_OK;
	while (vals[n] != NULL)
		n++;
	if (n > 0) {
		b->delegate_dns = calloc(n, sizeof *b->delegate_dns);
		if (b->delegate_dns == NULL) {
			res = ATTR_NOMEM;
			goto out;
		}
	}
	for (size_t i = 0; i < n; i++) {
		char *dn = normalize_dn(vals[i], why);

		if (dn == NULL) {
			res = *why != NULL ? ATTR_SKIP : ATTR_NOMEM;
			goto out;
		}
		b->delegate_dns[b->n_delegates++] = dn;
	}
out:
	ldap_value_free_len(vals);
	return res;
}

static int read_bal(struct reader *r, LDAPMessage *e)
{
	const struct mss_config *cfg = r->cfg;
	const char *map_address = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_ADDRESS);
	const char *map_type = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_TYPE);
	const char *map_name = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_NAME);
	const char *map_owner = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_OWNER);
	const char *map_delegate = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_DELEGATE);
	const char *map_status = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_STATUS);
	const char *map_uid = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_UID);
	const char *map_subject = mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_APP_SUBJECT);
	struct mss_dir_bal b = {.uid = -1};
	char address[MSS_ADDR_MAX + 1];
	const char *why = NULL;
	char *dn_raw = NULL;
	char *value = NULL;
	char *dn;
	bool skip;
	int ret = -1;
	enum attr_result res;
	struct berval **vals = NULL;

	b.dn = entry_dn(r->ld, e, &dn_raw, &skip);
	dn = b.dn != NULL ? b.dn : dn_raw;
	if (b.dn == NULL) {
		if (skip && dn_raw != NULL)
			ret = add_skipped(r, dn_raw, "the entry DN is not valid");
		goto out;
	}

	/* Address: mandatory, single-valued, a valid RFC 5321 mailbox. */
	res = get_single(r->ld, e, map_address, 512, &value, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_address, why);
	if (value == NULL)
		SKIP_ATTR(map_address, "missing");
	if (mss_addr_normalize(value, strlen(value), address, sizeof address, &why) < 0)
		SKIP_ATTR(map_address, why != NULL ? why : "invalid address");
	b.address = strdup(address);
	if (b.address == NULL)
		goto out;
	free(value);
	value = NULL;

	/* Type: mandatory, one of the known BAL types, any case. */
	res = get_single(r->ld, e, map_type, 16, &value, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_type, why);
	if (value == NULL)
		SKIP_ATTR(map_type, "missing");
	for (char *c = value; *c != '\0'; c++) {
		if (*c >= 'a' && *c <= 'z')
			*c = (char)(*c - 'a' + 'A');
	}
	if (strcmp(value, "PER") != 0 && strcmp(value, "ORG") != 0 && strcmp(value, "APP") != 0 &&
	    strcmp(value, "CAB") != 0)
		SKIP_ATTR(map_type, "unknown BAL type (PER, ORG, APP, CAB)");
	memcpy(b.type, value, 4);
	free(value);
	value = NULL;

	res = get_name(r->ld, e, map_name, &b.name, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_name, why);

	/* Owner: the holder of a PER BAL must be unambiguous; on other types the attribute
	   often lists managers, and is kept only when it names exactly one. */
	vals = ldap_get_values_len(r->ld, e, map_owner);
	if (vals != NULL && vals[0] != NULL) {
		if (vals[1] != NULL) {
			if (strcmp(b.type, "PER") == 0)
				SKIP_ATTR(map_owner, "has several values on a PER BAL");
		} else {
			b.owner_dn = normalize_dn(vals[0], &why);
			if (b.owner_dn == NULL && why == NULL)
				goto out;
			if (b.owner_dn == NULL)
				SKIP_ATTR(map_owner, why);
		}
	}
	if (vals != NULL)
		ldap_value_free_len(vals);
	vals = NULL;

	res = get_delegates(r->ld, e, map_delegate, &b, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_delegate, why);

	b.suspended = is_suspended(r->ld, e, map_status);

	/* uid: optional, strict, and inside the range NSS hands out (a uidNumber of 0 in
	   the directory must never become a root BAL). */
	res = get_single(r->ld, e, map_uid, 32, &value, &why);
	if (res == ATTR_NOMEM)
		goto out;
	if (res == ATTR_SKIP)
		SKIP_ATTR(map_uid, why);
	if (value != NULL && mss_ldap_parse_uid(value, strlen(value), r->uid_min, r->uid_max, &b.uid, &why) < 0)
		SKIP_ATTR(map_uid, why);
	free(value);
	value = NULL;

	/* The application's certificate subject matters for APP BALs only; elsewhere the
	   attribute (seeAlso by default) may mean something else and is ignored. */
	if (strcmp(b.type, "APP") == 0) {
		res = get_single(r->ld, e, map_subject, SUBJECT_MAX_LEN, &b.app_subject, &why);
		if (res == ATTR_NOMEM)
			goto out;
		if (res == ATTR_SKIP)
			SKIP_ATTR(map_subject, why);
	}

	if (grow((void **)&r->dir->bals, &r->cap_bals, r->dir->n_bals, sizeof b) < 0)
		goto out;
	r->dir->bals[r->dir->n_bals++] = b;
	memset(&b, 0, sizeof b);
	ret = 0;
out:
	if (vals != NULL)
		ldap_value_free_len(vals);
	free(value);
	bal_free(&b);
	free(dn_raw);
	return ret;
}

/* ---- paged search ---- */

typedef int (*entry_reader)(struct reader *r, LDAPMessage *e);

static int search_paged(struct reader *r, const char *filter, char **attrs, const char *what, entry_reader read,
			char *err, size_t errlen)
{
	const char *base = mss_config_str(r->cfg, MSS_OPT_DIRECTORY_BASE);
	long long page_size = mss_config_num(r->cfg, MSS_OPT_DIRECTORY_PAGE_SIZE);
	long long timeout = mss_config_num(r->cfg, MSS_OPT_DIRECTORY_TIMEOUT);
	struct berval cookie = {0, NULL};
	size_t entries = 0;
	unsigned empty_pages = 0;
	char label[128];
	int ret = -1;

	if (page_size <= 0 || page_size > 1000000)
		page_size = 500;
	if (timeout <= 0)
		timeout = 10;
	snprintf(label, sizeof label, "LDAP search for %s", what);
	do {
		struct timeval tv = {.tv_sec = (time_t)timeout, .tv_usec = 0};
		LDAPControl *page_ctrl = NULL;
		LDAPControl *sctrls[2] = {NULL, NULL};
		LDAPControl **rctrls = NULL;
		LDAPControl *resp;
		LDAPMessage *res = NULL;
		struct berval next = {0, NULL};
		ber_int_t estimate;
		int code = LDAP_SUCCESS;
		int rc;
		size_t page_entries = 0;

		/* Critical: a server that cannot page must say so rather than send the
		   whole directory at once or stop at its size limit. */
		rc = ldap_create_page_control(r->ld, (ber_int_t)page_size, &cookie, 1, &page_ctrl);
		if (rc != LDAP_SUCCESS) {
			mss_ldap_describe_error(r->ld, rc, label, err, errlen);
			goto out;
		}
		sctrls[0] = page_ctrl;
		rc = ldap_search_ext_s(r->ld, base, LDAP_SCOPE_SUBTREE, filter, attrs, 0, sctrls, NULL, &tv,
				       LDAP_NO_LIMIT, &res);
		ldap_control_free(page_ctrl);
		if (rc == LDAP_SUCCESS && res != NULL)
			rc = ldap_parse_result(r->ld, res, &code, NULL, NULL, NULL, &rctrls, 0);
		if (rc == LDAP_SUCCESS)
			rc = code;
		if (rc != LDAP_SUCCESS) {
			if (rc == LDAP_TIMEOUT)
				mss_set_error(err, errlen, "%s: no answer within %llds", label, timeout);
			else
				mss_ldap_describe_error(r->ld, rc, label, err, errlen);
			ldap_controls_free(rctrls);
			ldap_msgfree(res);
			goto out;
		}
		for (LDAPMessage *e = ldap_first_entry(r->ld, res); e != NULL; e = ldap_next_entry(r->ld, e)) {
			if (++entries > MAX_ENTRIES) {
				mss_set_error(err, errlen, "%s: more than %d entries", label, MAX_ENTRIES);
				rc = -1;
				break;
			}
			page_entries++;
			if (read(r, e) < 0) {
				mss_set_error(err, errlen, "%s: out of memory", label);
				rc = -1;
				break;
			}
		}
		resp = rc == LDAP_SUCCESS ? ldap_control_find(LDAP_CONTROL_PAGEDRESULTS, rctrls, NULL) : NULL;
		if (resp != NULL) {
			rc = ldap_parse_pageresponse_control(r->ld, resp, &estimate, &next);
			if (rc != LDAP_SUCCESS)
				mss_ldap_describe_error(r->ld, rc, label, err, errlen);
		}
		ldap_controls_free(rctrls);
		ldap_msgfree(res);
		if (rc != LDAP_SUCCESS) {
			ber_memfree(next.bv_val);
			goto out;
		}
		ber_memfree(cookie.bv_val);
		/* No page response control means the server sent everything. */
		cookie = next;
		empty_pages = page_entries == 0 ? empty_pages + 1 : 0;
		if (empty_pages > MAX_EMPTY_PAGES) {
			mss_set_error(err, errlen, "%s: the server keeps sending empty pages", label);
			goto out;
		}
	} while (cookie.bv_val != NULL && cookie.bv_len > 0);
	ret = 0;
out:
	ber_memfree(cookie.bv_val);
	return ret;
}

/* ---- entry point ---- */

void mss_directory_free(struct mss_directory *dir)
{
	if (dir == NULL)
		return;
	for (size_t i = 0; i < dir->n_persons; i++)
		person_free(&dir->persons[i]);
	for (size_t i = 0; i < dir->n_bals; i++)
		bal_free(&dir->bals[i]);
	for (size_t i = 0; i < dir->n_skipped; i++) {
		free(dir->skipped[i].dn);
		free(dir->skipped[i].reason);
	}
	free(dir->persons);
	free(dir->bals);
	free(dir->skipped);
	free(dir);
}

int mss_ldap_read_directory(const struct mss_config *cfg, struct mss_directory **dir_r, char *err, size_t errlen)
{
	char *person_attrs[] = {
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_IDNAT),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_NAME),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_PERSON_STATUS),
		(char *)"cn",
		NULL,
	};
	char *bal_attrs[] = {
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_ADDRESS),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_TYPE),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_NAME),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_OWNER),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_DELEGATE),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_STATUS),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_UID),
		(char *)mss_config_str(cfg, MSS_OPT_DIRECTORY_MAP_BAL_APP_SUBJECT),
		(char *)"cn",
		NULL,
	};
	const char *person_filter = mss_config_str(cfg, MSS_OPT_DIRECTORY_PERSON_FILTER);
	const char *bal_filter = mss_config_str(cfg, MSS_OPT_DIRECTORY_BAL_FILTER);
	struct reader r = {0};
	int ret = -1;

	if (err != NULL && errlen > 0)
		err[0] = '\0';
	*dir_r = NULL;
	/* The maps have defaults, but one set to "" must not cut the attribute list short. */
	for (size_t i = 0; i < sizeof person_attrs / sizeof person_attrs[0] - 1; i++) {
		if (person_attrs[i] == NULL || *person_attrs[i] == '\0') {
			mss_set_error(err, errlen, "[directory] an attribute map of people (map_person_*) is empty");
			return -1;
		}
	}
	for (size_t i = 0; i < sizeof bal_attrs / sizeof bal_attrs[0] - 1; i++) {
		if (bal_attrs[i] == NULL || *bal_attrs[i] == '\0') {
			mss_set_error(err, errlen, "[directory] an attribute map of BALs (map_bal_*) is empty");
			return -1;
		}
	}
	if (person_filter == NULL || bal_filter == NULL) {
		mss_set_error(err, errlen, "[directory] person_filter and bal_filter must be set");
		return -1;
	}
	r.cfg = cfg;
	r.uid_min = mss_config_num(cfg, MSS_OPT_NSS_UID_MIN);
	r.uid_max = mss_config_num(cfg, MSS_OPT_NSS_UID_MAX);
	r.dir = calloc(1, sizeof *r.dir);
	if (r.dir == NULL) {
		mss_set_error(err, errlen, "out of memory");
		return -1;
	}
	if (mss_config_str(cfg, MSS_OPT_DIRECTORY_BASE) == NULL) {
		mss_set_error(err, errlen, "[directory] base is not set");
		goto out;
	}
	if (mss_ldap_connect(cfg, mss_config_num(cfg, MSS_OPT_DIRECTORY_TIMEOUT), &r.ld, err, errlen) < 0 ||
	    mss_ldap_bind_configured(r.ld, cfg, err, errlen) < 0)
		goto out;
	if (search_paged(&r, person_filter, person_attrs, "people", read_person, err, errlen) < 0 ||
	    search_paged(&r, bal_filter, bal_attrs, "BALs", read_bal, err, errlen) < 0)
		goto out;
	*dir_r = r.dir;
	r.dir = NULL;
	ret = 0;
out:
	mss_ldap_close(r.ld);
	mss_directory_free(r.dir);
	return ret;
}
