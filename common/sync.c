/* `mssctl sync`: reads the sources, merges them into one model, gives every BAL a stable uid,
   writes the snapshot and publishes it only when it passes the sanity checks. */
#include "error.h"
#include "sync.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "addr.h"
#include "config.h"
#include "dn.h"
#include "extraction.h"
#include "ldapdir.h"
#include "log.h"
#include "snapshot.h"
#include "tlspolicy.h"
#include "trustlist.h"

const char *const mss_bal_type_names[MSS_BAL_TYPES] = {"PER", "ORG", "APP", "CAB"};

int mss_bal_type_index(const char *type, size_t len)
{
	for (int i = 0; i < MSS_BAL_TYPES; i++) {
		if (len == 3 && strncasecmp(type, mss_bal_type_names[i], 3) == 0)
			return i;
	}
	return -1;
}

/* ---- a bump allocator: a million BALs must not cost a million mallocs ---- */

struct arena_block {
	struct arena_block *next;
	size_t used, size;
	char data[];
};

struct arena {
	struct arena_block *head;
};

static char *arena_alloc(struct arena *a, size_t len)
{
	struct arena_block *b = a->head;

	if (b == NULL || b->size - b->used < len) {
		size_t size = len > (1 << 20) ? len : (1 << 20);

		b = malloc(sizeof(*b) + size);
		if (b == NULL)
			return NULL;
		b->next = a->head;
		b->used = 0;
		b->size = size;
		a->head = b;
	}
	b->used += len;
	return b->data + b->used - len;
}

static char *arena_strndup(struct arena *a, const char *s, size_t len)
{
	char *p = arena_alloc(a, len + 1);

	if (p != NULL) {
		memcpy(p, s, len);
		p[len] = '\0';
	}
	return p;
}

static void arena_free(struct arena *a)
{
	while (a->head != NULL) {
		struct arena_block *next = a->head->next;

		free(a->head);
		a->head = next;
	}
}

/* ---- the model ---- */

struct bal {
	const char *address;
	const char *owner;	/* idNat_PS, "" when none */
	const char *name;
	const char *delegates;	/* comma-separated idNat_PS, "" when none */
	const char *app_subject; /* normalised DN, "" when none */
	const char *structure;
	long long mapped_uid;	/* from LDAP, -1 when none */
	uint32_t uid;
	char type[4];
	char status; /* 'A' or 'S' */
	char source; /* 'L' or 'X' */
};

struct model {
	struct arena arena;
	struct bal *bals;
	size_t n_bals, cap_bals;
	/* open addressing: index + 1 into bals, 0 free */
	uint32_t *index;
	size_t index_size; /* power of two */
};

static uint64_t hash_str(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	while (*s != '\0') {
		h ^= (unsigned char)*s++;
		h *= 1099511628211ULL;
	}
	return h;
}

static int model_grow_index(struct model *m)
{
	size_t size = m->index_size != 0 ? m->index_size * 2 : 1024;
	uint32_t *idx = calloc(size, sizeof(*idx));

	if (idx == NULL)
		return -1;
	for (size_t i = 0; i < m->n_bals; i++) {
		size_t slot = hash_str(m->bals[i].address) & (size - 1);

		while (idx[slot] != 0)
			slot = (slot + 1) & (size - 1);
		idx[slot] = (uint32_t)(i + 1);
	}
	free(m->index);
	m->index = idx;
	m->index_size = size;
	return 0;
}

static struct bal *model_find(const struct model *m, const char *address)
{
	size_t slot;

	if (m->index_size == 0)
		return NULL;
	slot = hash_str(address) & (m->index_size - 1);
	while (m->index[slot] != 0) {
		struct bal *b = &m->bals[m->index[slot] - 1];

		if (strcmp(b->address, address) == 0)
			return b;
		slot = (slot + 1) & (m->index_size - 1);
	}
	return NULL;
}

/* Returns the BAL for ADDRESS, adding an empty one when new; NULL on allocation failure. */
static struct bal *model_get(struct model *m, const char *address, size_t len, bool *is_new)
{
	struct bal *b;
	size_t slot;

	*is_new = false;
	b = model_find(m, address);
	if (b != NULL)
		return b;
	if ((m->n_bals + 1) * 2 > m->index_size && model_grow_index(m) < 0)
		return NULL;
	if (m->n_bals == m->cap_bals) {
		size_t cap = m->cap_bals != 0 ? m->cap_bals * 2 : 1024;
		struct bal *nb = realloc(m->bals, cap * sizeof(*nb));

		if (nb == NULL)
			return NULL;
		m->bals = nb;
		m->cap_bals = cap;
	}
	b = &m->bals[m->n_bals];
	memset(b, 0, sizeof(*b));
	b->address = arena_strndup(&m->arena, address, len);
	if (b->address == NULL)
		return NULL;
	b->owner = b->name = b->delegates = b->app_subject = b->structure = "";
	b->mapped_uid = -1;
	b->status = 'A';
	slot = hash_str(b->address) & (m->index_size - 1);
	while (m->index[slot] != 0)
		slot = (slot + 1) & (m->index_size - 1);
	m->index[slot] = (uint32_t)(m->n_bals + 1);
	m->n_bals++;
	*is_new = true;
	return b;
}

static void model_free(struct model *m)
{
	free(m->bals);
	free(m->index);
	arena_free(&m->arena);
}

/* ---- extraction rows -> BALs ---- */

struct extraction_ctx {
	struct model *m;
	unsigned long duplicates;
};

/* Copies a field, replacing nothing: the reader already refused control characters. */
static const char *field_dup(struct arena *a, const struct mss_extraction_row *row, int col)
{
	return arena_strndup(a, row->field[col], row->len[col]);
}

static int extraction_row(const struct mss_extraction_row *row, void *context)
{
	struct extraction_ctx *ctx = context;
	struct model *m = ctx->m;
	struct bal *b;
	bool is_new;
	char name[512];
	int n;

	b = model_get(m, row->address, strlen(row->address), &is_new);
	if (b == NULL)
		return -1;
	if (!is_new) {
		/* Listed twice: the first row wins, like a directory would keep one entry. */
		ctx->duplicates++;
		return 0;
	}
	memcpy(b->type, row->type, sizeof(b->type));
	b->source = 'X';
	if (strcmp(row->type, "PER") == 0) {
		b->owner = field_dup(&m->arena, row, MSS_X_IDENTIFICATION_NATIONALE_PP);
		n = snprintf(name, sizeof(name), "%.*s %.*s", (int)row->len[MSS_X_PRENOM_EXERCICE],
			     row->field[MSS_X_PRENOM_EXERCICE], (int)row->len[MSS_X_NOM_EXERCICE],
			     row->field[MSS_X_NOM_EXERCICE]);
	} else {
		int col = row->len[MSS_X_SERVICE_RATTACHEMENT] > 0 ? MSS_X_SERVICE_RATTACHEMENT
								   : MSS_X_RAISON_SOCIALE_STRUCTURE_BAL;

		n = snprintf(name, sizeof(name), "%.*s", (int)row->len[col], row->field[col]);
	}
	if (n < 0)
		n = 0;
	if ((size_t)n >= sizeof(name))
		n = sizeof(name) - 1;
	b->name = (n == 1 && name[0] == ' ') ? "" : arena_strndup(&m->arena, name, (size_t)n);
	b->structure = field_dup(&m->arena, row, MSS_X_IDENTIFICATION_STRUCTURE);
	if (b->owner == NULL || b->name == NULL || b->structure == NULL)
		return -1;
	return 0;
}

/* ---- LDAP persons and BALs ---- */

/* LDAP DNs compare case-insensitively for the attribute types and values of the usual
   schema; a normalised, lower-cased form is the key. */
static int dn_key(const char *dn, char *out, size_t outlen)
{
	const char *error;

	if (mss_dn_normalize_str(dn, strlen(dn), out, outlen, &error) < 0)
		return -1;
	for (char *p = out; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	}
	return 0;
}

static const struct mss_dir_person *person_by_dn(const struct mss_directory *dir, char **keys, const char *dn)
{
	char key[MSS_DN_MAX];

	if (dn == NULL || dn_key(dn, key, sizeof(key)) < 0)
		return NULL;
	for (size_t i = 0; i < dir->n_persons; i++) {
		if (keys[i] != NULL && strcmp(keys[i], key) == 0)
			return &dir->persons[i];
	}
	return NULL;
}

static int merge_ldap(struct model *m, const struct mss_directory *dir, struct mss_sync_report *rep, char *err,
		      size_t errlen)
{
	char **keys = calloc(dir->n_persons + 1, sizeof(*keys));
	char key[MSS_DN_MAX];
	int ret = -1;

	if (keys == NULL)
		goto oom;
	for (size_t i = 0; i < dir->n_persons; i++) {
		if (dn_key(dir->persons[i].dn, key, sizeof(key)) < 0) {
			mss_warning("LDAP person %s: DN cannot be parsed, ignored", dir->persons[i].dn);
			continue;
		}
		keys[i] = arena_strndup(&m->arena, key, strlen(key));
		if (keys[i] == NULL)
			goto oom;
	}
	for (size_t i = 0; i < dir->n_bals; i++) {
		const struct mss_dir_bal *d = &dir->bals[i];
		struct bal *b;
		bool is_new;
		char *delegates;
		size_t dlen = 0;

		b = model_get(m, d->address, strlen(d->address), &is_new);
		if (b == NULL)
			goto oom;
		if (!is_new && b->source == 'L') {
			mss_warning("LDAP: BAL %s listed twice (%s), the first entry is kept", d->address, d->dn);
			continue;
		}
		/* The hospital's own directory is authoritative for its BALs. */
		memcpy(b->type, d->type, sizeof(b->type));
		b->source = 'L';
		b->status = d->suspended ? 'S' : 'A';
		b->name = arena_strndup(&m->arena, d->name != NULL ? d->name : "", d->name != NULL ? strlen(d->name) : 0);
		b->mapped_uid = d->uid;
		b->structure = "";
		b->owner = "";
		b->app_subject = "";
		if (b->name == NULL)
			goto oom;
		if (d->owner_dn != NULL) {
			const struct mss_dir_person *p = person_by_dn(dir, keys, d->owner_dn);

			if (p == NULL)
				mss_warning("LDAP: BAL %s: owner %s is not a known person", d->address, d->owner_dn);
			else
				b->owner = p->idnat;
		}
		/* Only an organisational BAL has delegates; a PER BAL is its holder's alone (the
		   `member` a groupOfNames must carry is its owner), an APP BAL is software. */
		delegates = arena_alloc(&m->arena, (strcmp(d->type, "ORG") == 0 ? d->n_delegates : 0) * 24 + 1);
		if (delegates == NULL)
			goto oom;
		delegates[0] = '\0';
		for (size_t j = 0; strcmp(d->type, "ORG") == 0 && j < d->n_delegates; j++) {
			const struct mss_dir_person *p = person_by_dn(dir, keys, d->delegate_dns[j]);

			if (p == NULL) {
				mss_warning("LDAP: BAL %s: delegate %s is not a known person", d->address,
					    d->delegate_dns[j]);
				continue;
			}
			if (strlen(p->idnat) > 20)
				continue;
			dlen += (size_t)sprintf(delegates + dlen, "%s%s", dlen > 0 ? "," : "", p->idnat);
		}
		b->delegates = delegates;
		if (d->app_subject != NULL) {
			const char *error;
			char norm[MSS_DN_MAX];

			if (mss_dn_normalize_str(d->app_subject, strlen(d->app_subject), norm, sizeof(norm), &error) < 0)
				mss_warning("LDAP: BAL %s: application subject '%s': %s", d->address, d->app_subject,
					    error);
			else if ((b->app_subject = arena_strndup(&m->arena, norm, strlen(norm))) == NULL)
				goto oom;
		}
		rep->bals_ldap++;
	}
	ret = 0;
	goto out;
oom:
	mss_set_error(err, errlen, "out of memory while merging the LDAP directory");
out:
	free(keys);
	return ret;
}

/* ---- stable uids ---- */

struct uid_space {
	uint8_t *bits;
	uint32_t min, max;
};

static bool uid_taken(const struct uid_space *s, uint32_t uid)
{
	uint32_t i = uid - s->min;

	return (s->bits[i >> 3] >> (i & 7)) & 1;
}

static void uid_take(struct uid_space *s, uint32_t uid)
{
	uint32_t i = uid - s->min;

	s->bits[i >> 3] |= (uint8_t)(1 << (i & 7));
}

static bool uid_in_range(const struct uid_space *s, long long uid)
{
	return uid >= s->min && uid <= s->max;
}

/* Mapped uids first (the administrator's word), then the uid each BAL had in the previous
   snapshot, then a slot derived from the address, probing upwards: the same input gives the
   same uids, and a BAL keeps its uid for as long as it exists. */
static int assign_uids(struct model *m, const struct mss_config *cfg, const struct mss_snapshot *prev,
		       struct mss_sync_report *rep, char *err, size_t errlen)
{
	struct uid_space s;
	size_t range;
	bool *done;

	s.min = (uint32_t)mss_config_num(cfg, MSS_OPT_NSS_UID_MIN);
	s.max = (uint32_t)mss_config_num(cfg, MSS_OPT_NSS_UID_MAX);
	range = (size_t)s.max - s.min + 1;
	if (range < m->n_bals) {
		mss_set_error(err, errlen, "[nss] uid_min..uid_max holds %zu uids, fewer than the %zu BALs", range,
		       m->n_bals);
		return -1;
	}
	s.bits = calloc(range / 8 + 1, 1);
	done = calloc(m->n_bals + 1, sizeof(*done));
	if (s.bits == NULL || done == NULL) {
		free(s.bits);
		free(done);
		mss_set_error(err, errlen, "out of memory for the uid map");
		return -1;
	}
	for (size_t i = 0; i < m->n_bals; i++) {
		struct bal *b = &m->bals[i];

		if (b->mapped_uid < 0)
			continue;
		if (!uid_in_range(&s, b->mapped_uid)) {
			mss_warning("BAL %s: uid %lld is outside [nss] uid_min..uid_max, another is given", b->address,
				    b->mapped_uid);
			continue;
		}
		if (uid_taken(&s, (uint32_t)b->mapped_uid)) {
			mss_warning("BAL %s: uid %lld is already mapped to another BAL, another is given", b->address,
				    b->mapped_uid);
			continue;
		}
		b->uid = (uint32_t)b->mapped_uid;
		uid_take(&s, b->uid);
		done[i] = true;
		rep->uids_mapped++;
	}
	if (prev != NULL) {
		for (size_t i = 0; i < m->n_bals; i++) {
			struct mss_bal old;
			struct bal *b = &m->bals[i];

			if (done[i] || mss_snapshot_bal(prev, b->address, strlen(b->address), &old) != 1)
				continue;
			if (!uid_in_range(&s, old.uid) || uid_taken(&s, old.uid)) {
				rep->uids_moved++;
				continue;
			}
			b->uid = old.uid;
			uid_take(&s, b->uid);
			done[i] = true;
			rep->uids_kept++;
		}
	}
	for (size_t i = 0; i < m->n_bals; i++) {
		struct bal *b = &m->bals[i];
		uint32_t uid;

		if (done[i])
			continue;
		uid = s.min + (uint32_t)(hash_str(b->address) % range);
		while (uid_taken(&s, uid))
			uid = uid == s.max ? s.min : uid + 1;
		b->uid = uid;
		uid_take(&s, uid);
		rep->uids_new++;
	}
	free(s.bits);
	free(done);
	return 0;
}

/* ---- writing ---- */

static int put_meta(struct mss_snapshot_writer *w, const char *name, const char *value, char *err, size_t errlen)
{
	return mss_snapshot_put(w, 'M', name, strlen(name), value, strlen(value), err, errlen);
}

static int put_meta_num(struct mss_snapshot_writer *w, const char *name, unsigned long long n, char *err,
			size_t errlen)
{
	char buf[32];

	snprintf(buf, sizeof(buf), "%llu", n);
	return put_meta(w, name, buf, err, errlen);
}

static const char *domain_of(const char *address)
{
	const char *at = strrchr(address, '@');

	return at != NULL ? at + 1 : "";
}

/* Appends S to a growing comma-separated list. */
struct strbuf {
	char *p;
	size_t len, cap;
};

static int strbuf_add(struct strbuf *sb, const char *s)
{
	size_t slen = strlen(s);

	if (sb->len + slen + 2 > sb->cap) {
		size_t cap = (sb->len + slen + 2) * 2;
		char *np = realloc(sb->p, cap);

		if (np == NULL)
			return -1;
		sb->p = np;
		sb->cap = cap;
	}
	if (sb->len > 0)
		sb->p[sb->len++] = ',';
	memcpy(sb->p + sb->len, s, slen + 1);
	sb->len += slen;
	return 0;
}

static bool list_contains(const char *list, const char *item)
{
	size_t ilen = strlen(item);

	for (const char *p = list; *p != '\0';) {
		const char *comma = strchr(p, ',');
		size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);

		if (len == ilen && memcmp(p, item, len) == 0)
			return true;
		if (comma == NULL)
			break;
		p = comma + 1;
	}
	return false;
}

/* Person, group and membership records: only for the hospital's own BALs (source LDAP). */
static int write_people_and_groups(struct mss_snapshot_writer *w, const struct model *m,
				   const struct mss_directory *dir, struct mss_sync_report *rep, char *err,
				   size_t errlen)
{
	struct strbuf sb = {0};
	const struct bal **local;
	size_t n_local = 0;
	int ret = -1;

	/* The national BALs of the extraction may number a million: only the hospital's own
	   are walked below. */
	local = malloc((m->n_bals + 1) * sizeof(*local));
	if (local == NULL)
		goto oom;
	for (size_t i = 0; i < m->n_bals; i++) {
		if (m->bals[i].source == 'L')
			local[n_local++] = &m->bals[i];
	}

	for (size_t i = 0; dir != NULL && i < dir->n_persons; i++) {
		const struct mss_dir_person *p = &dir->persons[i];
		const char *fields[4];

		sb.len = 0;
		if (sb.p != NULL)
			sb.p[0] = '\0';
		for (size_t j = 0; j < n_local; j++) {
			const struct bal *b = local[j];

			if ((strcmp(b->owner, p->idnat) == 0 || list_contains(b->delegates, p->idnat)) &&
			    strbuf_add(&sb, b->address) < 0)
				goto oom;
		}
		fields[0] = p->suspended ? "S" : "A";
		fields[1] = p->name != NULL ? p->name : "";
		fields[2] = p->dn;
		fields[3] = sb.p != NULL ? sb.p : "";
		if (mss_snapshot_put_fields(w, 'P', p->idnat, fields, 4, err, errlen) < 0)
			goto out;
		rep->persons++;
	}
	/* ORG BAL -> members (the PER BALs of its delegates), and each member -> its groups. */
	for (size_t i = 0; i < n_local; i++) {
		const struct bal *g = local[i];

		if (strcmp(g->type, "ORG") != 0 || g->status != 'A')
			continue;
		sb.len = 0;
		if (sb.p != NULL)
			sb.p[0] = '\0';
		for (size_t j = 0; j < n_local; j++) {
			const struct bal *u = local[j];

			if (strcmp(u->type, "PER") == 0 && u->status == 'A' && u->owner[0] != '\0' &&
			    list_contains(g->delegates, u->owner) && strbuf_add(&sb, u->address) < 0)
				goto oom;
		}
		if (mss_snapshot_put(w, 'G', g->address, strlen(g->address), sb.p != NULL ? sb.p : "", sb.len, err,
				     errlen) < 0)
			goto out;
		rep->groups++;
	}
	for (size_t j = 0; j < n_local; j++) {
		const struct bal *u = local[j];
		char num[16];

		if (strcmp(u->type, "PER") != 0 || u->owner[0] == '\0')
			continue;
		sb.len = 0;
		if (sb.p != NULL)
			sb.p[0] = '\0';
		for (size_t i = 0; i < n_local; i++) {
			const struct bal *g = local[i];

			if (strcmp(g->type, "ORG") != 0 || g->status != 'A' ||
			    !list_contains(g->delegates, u->owner))
				continue;
			snprintf(num, sizeof(num), "%u", g->uid);
			if (strbuf_add(&sb, num) < 0)
				goto oom;
		}
		if (sb.len > 0 && mss_snapshot_put(w, 'I', u->address, strlen(u->address), sb.p, sb.len, err, errlen) < 0)
			goto out;
	}
	ret = 0;
	goto out;
oom:
	mss_set_error(err, errlen, "out of memory while writing people and groups");
out:
	free(local);
	free(sb.p);
	return ret;
}

/* Copies free text for a one-line snapshot field: TAB, CR and LF become spaces, runs of
   spaces collapse, and text too long for OUT is cut at a UTF-8 character boundary. */
static void flatten_text(const char *in, char *out, size_t outlen)
{
	size_t o = 0;

	for (const char *p = in; *p != '\0' && o + 1 < outlen; p++) {
		char c = (*p == '\t' || *p == '\r' || *p == '\n') ? ' ' : *p;

		if (c == ' ' && (o == 0 || out[o - 1] == ' '))
			continue;
		out[o++] = c;
	}
	while (o > 0 && (out[o - 1] == ' ' || ((unsigned char)out[o - 1] & 0xc0) == 0xc0))
		o--;
	out[o] = '\0';
}

static int write_snapshot(struct mss_snapshot_writer *w, const struct model *m, const struct mss_trust_list *tl,
			  const struct mss_directory *dir, const struct mss_config *cfg, struct mss_sync_report *rep,
			  const char *sources, char *err, size_t errlen)
{
	char uid[16];

	for (size_t i = 0; i < m->n_bals; i++) {
		const struct bal *b = &m->bals[i];
		char status[2] = {b->status, '\0'};
		char source[2] = {b->source, '\0'};
		const char *fields[9];
		int t;

		snprintf(uid, sizeof(uid), "%u", b->uid);
		fields[0] = b->type;
		fields[1] = status;
		fields[2] = uid;
		fields[3] = source;
		fields[4] = b->owner;
		fields[5] = b->name;
		fields[6] = b->delegates;
		fields[7] = b->app_subject;
		fields[8] = b->structure;
		if (mss_snapshot_put_fields(w, 'B', b->address, fields, 9, err, errlen) < 0)
			return -1;
		if (mss_snapshot_put(w, 'U', uid, strlen(uid), b->address, strlen(b->address), err, errlen) < 0)
			return -1;
		if (b->app_subject[0] != '\0') {
			if (mss_snapshot_put(w, 'A', b->app_subject, strlen(b->app_subject), b->address,
					     strlen(b->address), err, errlen) < 0)
				return -1;
			rep->apps++;
		}
		t = mss_bal_type_index(b->type, strlen(b->type));
		if (t >= 0)
			rep->bals_by_type[t]++;
		if (b->status == 'S')
			rep->bals_suspended++;
	}
	rep->bals = m->n_bals;
	rep->bals_extraction = m->n_bals - rep->bals_ldap;
	if (write_people_and_groups(w, m, dir, rep, err, errlen) < 0)
		return -1;

	for (size_t i = 0; i < tl->n_entries; i++) {
		const struct mss_trust_entry *e = &tl->entries[i];
		char description[1024];
		const char *fields[7] = {e->dn, e->cn, e->ou, e->o, description, e->date_maj, e->dn_raw};

		/* Descriptions are free text, published with line breaks at times. */
		flatten_text(e->description, description, sizeof(description));
		if (mss_snapshot_put_fields(w, 'D', e->domain, fields, 7, err, errlen) < 0)
			return -1;
	}

	/* Local domains: configured, else those of the hospital's own BALs. */
	if (mss_config_str(cfg, MSS_OPT_DIRECTORY_LOCAL_DOMAINS) != NULL) {
		const char *p = mss_config_str(cfg, MSS_OPT_DIRECTORY_LOCAL_DOMAINS);

		while (*p != '\0') {
			const char *comma = strchr(p, ',');
			size_t len = comma != NULL ? (size_t)(comma - p) : strlen(p);
			char dom[MSS_ADDR_DOMAIN_MAX + 1];
			const char *error;

			if (mss_domain_normalize(p, len, dom, sizeof(dom), &error) < 0) {
				/* Items are trimmed by the list syntax only; spaces are tolerated here. */
				while (len > 0 && (*p == ' ' || *p == '\t')) {
					p++;
					len--;
				}
				while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
					len--;
				if (mss_domain_normalize(p, len, dom, sizeof(dom), &error) < 0) {
					mss_set_error(err, errlen, "[directory] local_domains: '%.*s': %s", (int)len, p, error);
					return -1;
				}
			}
			if (mss_snapshot_put(w, 'L', dom, strlen(dom), "", 0, err, errlen) < 0)
				return -1;
			rep->local_domains++;
			if (comma == NULL)
				break;
			p = comma + 1;
		}
	} else {
		const char **seen = NULL;
		size_t n_seen = 0;

		for (size_t i = 0; i < m->n_bals; i++) {
			const char *dom = domain_of(m->bals[i].address);
			bool dup = false;

			if (m->bals[i].source != 'L')
				continue;
			/* a hospital hosts a handful of domains: a linear scan is enough */
			for (size_t j = 0; j < n_seen && !dup; j++)
				dup = strcmp(seen[j], dom) == 0;
			if (dup)
				continue;
			const char **ns = realloc(seen, (n_seen + 1) * sizeof(*seen));
			if (ns == NULL) {
				free(seen);
				mss_set_error(err, errlen, "out of memory");
				return -1;
			}
			seen = ns;
			seen[n_seen++] = dom;
			if (mss_snapshot_put(w, 'L', dom, strlen(dom), "", 0, err, errlen) < 0) {
				free(seen);
				return -1;
			}
			rep->local_domains++;
		}
		free(seen);
	}

	if (put_meta(w, "format", MSS_SNAPSHOT_FORMAT, err, errlen) < 0 ||
	    put_meta_num(w, "built", (unsigned long long)time(NULL), err, errlen) < 0 ||
	    put_meta(w, "trust_generated", tl->generated != NULL ? tl->generated : "", err, errlen) < 0 ||
	    put_meta_num(w, "trust_domains", tl->n_domains, err, errlen) < 0 ||
	    put_meta_num(w, "trust_entries", tl->n_entries, err, errlen) < 0 ||
	    put_meta_num(w, "bals", m->n_bals, err, errlen) < 0 ||
	    put_meta_num(w, "persons", rep->persons, err, errlen) < 0 ||
	    put_meta_num(w, "apps", rep->apps, err, errlen) < 0 || put_meta(w, "sources", sources, err, errlen) < 0)
		return -1;
	return 0;
}

/* Number of BALs in a snapshot, from its metadata. */
static size_t snapshot_bal_count(const struct mss_snapshot *snap)
{
	struct mss_slice v;
	size_t n = 0;

	if (mss_snapshot_meta(snap, "bals", &v) != 1)
		return 0;
	for (size_t i = 0; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++)
		n = n * 10 + (size_t)(v.p[i] - '0');
	return n;
}

int mss_sync_run(const struct mss_config *cfg, const struct mss_sync_options *opt, struct mss_sync_report *rep,
		 char *err, size_t errlen)
{
	const char *output = opt->output != NULL ? opt->output : mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT);
	const char *trust_path = opt->trust_list != NULL ? opt->trust_list : mss_config_str(cfg, MSS_OPT_TRUST_LIST);
	const char *extraction = opt->extraction != NULL ? opt->extraction
							  : mss_config_str(cfg, MSS_OPT_DIRECTORY_EXTRACTION);
	unsigned open_flags = mss_config_bool(cfg, MSS_OPT_DIRECTORY_SNAPSHOT_OWNER_CHECK) ? 0 : MSS_SNAPSHOT_ANY_OWNER;
	struct mss_trust_list *tl = NULL;
	struct mss_directory *dir = NULL;
	struct mss_snapshot *prev = NULL;
	struct mss_snapshot_writer *w = NULL;
	struct model m = {0};
	struct timespec t0, t1;
	struct stat st;
	char sources[64] = "trust";
	int ret = -1;

	memset(rep, 0, sizeof(*rep));
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (output == NULL || trust_path == NULL) {
		mss_set_error(err, errlen, "no %s configured", output == NULL ? "[directory] snapshot" : "[trust] list");
		return -1;
	}

	/* The published snapshot, for stable uids and the shrink check. */
	if (mss_snapshot_open(output, open_flags, &prev, err, errlen) < 0) {
		if (errno != ENOENT) {
			size_t l = strlen(err);

			snprintf(err + l, errlen - l, " (the published snapshot cannot be read; uids could not be "
						      "kept: move it away to rebuild from scratch)");
			return -1;
		}
		prev = NULL;
	} else {
		rep->had_previous = true;
		rep->previous_bals = snapshot_bal_count(prev);
	}

	if (mss_trust_list_read(trust_path, &tl, err, errlen) < 0)
		goto out;
	rep->trust_names = tl->n_names;
	rep->trust_domains = tl->n_domains;
	rep->trust_entries = tl->n_entries;
	rep->trust_skipped = tl->n_skipped;
	rep->trust_duplicates = tl->n_duplicates;
	rep->trust_missing_end_tag = tl->missing_root_end != 0;
	snprintf(rep->trust_generated, sizeof(rep->trust_generated), "%s", tl->generated != NULL ? tl->generated : "");
	for (size_t i = 0; i < tl->n_warnings && tl->warnings[i] != NULL; i++)
		mss_warning("%s:%s", trust_path, tl->warnings[i]);

	if (extraction != NULL) {
		struct extraction_ctx ctx = {&m, 0};
		struct mss_extraction_stats stats;

		if (mss_extraction_read(extraction,
					(unsigned)mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_BAD_ROWS_PERCENT),
					extraction_row, &ctx, &stats, err, errlen) != 0) {
			if (err[0] == '\0' || strcmp(err, "no error") == 0)
				mss_set_error(err, errlen, "%s: out of memory", extraction);
			goto out;
		}
		rep->extraction_rows = stats.rows;
		rep->extraction_bad = stats.bad;
		for (size_t i = 0; i < stats.n_bad_reported; i++)
			mss_warning("%s:%lu: row skipped: %s", extraction, stats.bad_lines[i], stats.bad_reasons[i]);
		if (stats.bad > stats.n_bad_reported)
			mss_warning("%s: %lu more bad rows skipped", extraction, stats.bad - stats.n_bad_reported);
		if (ctx.duplicates > 0)
			mss_warning("%s: %lu addresses listed more than once, first row kept", extraction,
				    ctx.duplicates);
		strcat(sources, ",extraction");
	}

	if (!opt->no_ldap) {
		if (mss_config_str(cfg, MSS_OPT_DIRECTORY_URI) == NULL) {
			mss_set_error(err, errlen, "no [directory] uri configured (use --no-ldap to build without the directory)");
			goto out;
		}
		if (mss_ldap_read_directory(cfg, &dir, err, errlen) < 0)
			goto out;
		rep->ldap_skipped = dir->n_skipped;
		for (size_t i = 0; i < dir->n_skipped; i++)
			mss_warning("LDAP entry %s skipped: %s", dir->skipped[i].dn, dir->skipped[i].reason);
		if (merge_ldap(&m, dir, rep, err, errlen) < 0)
			goto out;
		strcat(sources, ",ldap");
	}

	if (m.n_bals == 0 && tl->n_entries == 0) {
		mss_set_error(err, errlen, "refusing to publish an empty snapshot");
		goto out;
	}
	if (prev != NULL && !opt->force) {
		size_t floor = rep->previous_bals -
			       rep->previous_bals * (size_t)mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_SHRINK_PERCENT) / 100;

		if (m.n_bals < floor) {
			mss_set_error(err, errlen,
			       "refusing to publish: %zu BALs against %zu in the published snapshot, a drop of more "
			       "than [directory] max_shrink_percent = %lld%% (check the sources, or use --force)",
			       m.n_bals, rep->previous_bals, mss_config_num(cfg, MSS_OPT_DIRECTORY_MAX_SHRINK_PERCENT));
			goto out;
		}
	}
	if (assign_uids(&m, cfg, prev, rep, err, errlen) < 0)
		goto out;

	if (mss_snapshot_writer_open(output, &w, err, errlen) < 0)
		goto out;
	if (write_snapshot(w, &m, tl, dir, cfg, rep, sources, err, errlen) < 0)
		goto out;
	/* The outbound TLS table comes from the same trust list; it is written before the
	   snapshot is published, so that a failure here leaves the snapshot as it was. */
	if (mss_config_str(cfg, MSS_OPT_TRUST_POSTFIX_TLS_POLICY) != NULL) {
		if (mss_tlspolicy_write(tl, mss_config_str(cfg, MSS_OPT_TRUST_POSTFIX_TLS_POLICY), err, errlen) < 0)
			goto out;
		rep->tls_policy_written = true;
	}
	if (mss_snapshot_writer_commit(w, err, errlen) < 0)
		goto out;
	w = NULL;
	if (stat(output, &st) == 0)
		rep->bytes = (unsigned long long)st.st_size;
	ret = 0;
out:
	if (w != NULL)
		mss_snapshot_writer_abort(w);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	rep->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	if (prev != NULL)
		mss_snapshot_close(prev);
	mss_trust_list_free(tl);
	if (dir != NULL)
		mss_directory_free(dir);
	model_free(&m);
	return ret;
}
