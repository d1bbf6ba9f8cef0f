/* The ANS trust list (liste blanche) reader.
 *
 * libxml2's streaming xmlTextReader keeps memory flat (each Domaine's nodes are freed
 * as the reader moves on) and shows us a DOCTYPE before anything declared in it could
 * be used. The parser is run with XML_PARSE_NONET and without XML_PARSE_NOENT,
 * XML_PARSE_DTDLOAD or XML_PARSE_DTDVALID: no external entity is ever fetched or read,
 * and any DOCTYPE or entity reference is refused since the trust list has none.
 *
 * The whole file is read into memory first (3.7 MB in 2025, capped): that is what lets
 * us tell the published file's quirk, a missing </ListeBlancheMSSante> at the very end,
 * from a file truncated in transfer, which libxml2 reports with the same error. */
#include "trustlist.h"

#include "addr.h"
#include "dn.h"
#include "readfile.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libxml/xmlreader.h>

#define ROOT_NAME "ListeBlancheMSSante"
#define LIST_NAME "ListeDomaines"
#define ENTRY_NAME "Domaine"
#define GENERATED_NAME "DateDeGeneration"

/* Depths as xmlTextReaderDepth counts them. */
enum { DEPTH_ROOT = 0, DEPTH_LIST = 1, DEPTH_ENTRY = 2, DEPTH_FIELD = 3, DEPTH_FIELD_TEXT = 4 };

enum field {
	FIELD_NOM,
	FIELD_DESCRIPTION,
	FIELD_DN,
	FIELD_RESPONSABLE,
	FIELD_SUPPORT,
	FIELD_DATE_MAJ,
	FIELD_COUNT,
	FIELD_NONE = -1,
};
static const char *const field_names[FIELD_COUNT] = {
    [FIELD_NOM] = "Nom",
    [FIELD_DESCRIPTION] = "Description",
    [FIELD_DN] = "DNCertificatOperateur",
    [FIELD_RESPONSABLE] = "ResponsableContact",
    [FIELD_SUPPORT] = "SupportContact",
    [FIELD_DATE_MAJ] = "DateMAJ",
};

/* Warnings are rationed per kind so that many duplicates cannot hide a skipped entry,
   and one slot is kept for the missing closing tag. */
enum warning_kind { WARN_DUPLICATE, WARN_SKIPPED, WARN_IGNORED, WARN_EOF, WARN_KIND_COUNT };
static const size_t warning_quota[WARN_KIND_COUNT] = {
    [WARN_DUPLICATE] = 4,
    [WARN_SKIPPED] = 7,
    [WARN_IGNORED] = 3,
    [WARN_EOF] = 1,
};
_Static_assert(4 + 7 + 3 + 1 < MSS_TRUST_LIST_MAX_WARNINGS, "warnings[] must keep its NULL");

struct text {
	char s[MSS_TRUST_LIST_FIELD_MAX + 1];
	size_t len;
	bool too_long;
};

/* Open-addressing set of strings (owned copies). */
struct strset {
	char **slots;
	size_t cap; /* power of two, or 0 */
	size_t n;
};

struct parse {
	xmlTextReaderPtr reader;
	const char *name;
	const char *data;
	size_t len;
	char *err;
	size_t errlen;
	bool failed; /* err is set */

	struct mss_trust_list *list;
	size_t entries_cap;
	struct strset pairs;	 /* "domain normalised-DN": a domain has no space */
	struct strset domains;	 /* distinct domains */
	struct strset operators; /* distinct normalised DNs */
	struct strset names;	 /* distinct <Nom> values as published, lower-cased */
	size_t warnings_of_kind[WARN_KIND_COUNT];

	/* The first error libxml2 reported. */
	bool xml_failed;
	int xml_code;
	unsigned long xml_line;
	char xml_msg[160];

	/* Where we are: only known elements are entered, unknown ones are skipped whole. */
	bool in_root, in_list, in_entry, in_generated;
	enum field field;
	bool after_list_end; /* the last node other than white space was </ListeDomaines> */

	/* The Domaine being read. */
	struct text fields[FIELD_COUNT];
	bool have_field[FIELD_COUNT];
	unsigned long entry_line, nom_line;
	bool entry_bad;
	char entry_problem[160];

	struct text generated;
};

static bool is_xml_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void trim(const char **s, size_t *len)
{
	while (*len > 0 && is_xml_space(**s)) {
		(*s)++;
		(*len)--;
	}
	while (*len > 0 && is_xml_space((*s)[*len - 1]))
		(*len)--;
}

/* Copies a value into out for a message: at most 64 bytes (cut on a UTF-8 boundary),
   control characters, quotes and backslashes shown as '?'. */
static void quote_value(char *out, size_t outlen, const char *s, size_t len)
{
	const size_t max = 64;
	bool cut = len > max;
	size_t n = cut ? max : len, o = 0;

	if (cut)
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	for (size_t i = 0; i < n && o + 4 < outlen; i++) {
		unsigned char c = (unsigned char)s[i];
		out[o++] = (c < 0x20 || c == 0x7F || c == '"' || c == '\\') ? '?' : (char)c;
	}
	if (cut && o + 4 < outlen) {
		memcpy(out + o, "...", 3);
		o += 3;
	}
	if (outlen > 0)
		out[o < outlen ? o : outlen - 1] = '\0';
}

static void fail(struct parse *p, unsigned long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct parse *p, unsigned long line, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (p->failed)
		return;
	p->failed = true;
	if (p->errlen == 0)
		return;
	if (line > 0)
		n = snprintf(p->err, p->errlen, "%s:%lu: ", p->name, line);
	else
		n = snprintf(p->err, p->errlen, "%s: ", p->name);
	if (n < 0 || (size_t)n >= p->errlen)
		return;
	va_start(ap, fmt);
	vsnprintf(p->err + n, p->errlen - (size_t)n, fmt, ap);
	va_end(ap);
}

static int add_warning(struct parse *p, enum warning_kind kind, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static int add_warning(struct parse *p, enum warning_kind kind, unsigned long line, const char *fmt, ...)
{
	struct mss_trust_list *list = p->list;
	char buf[512];
	va_list ap;
	int n;

	if (p->warnings_of_kind[kind] >= warning_quota[kind] || list->n_warnings + 1 >= MSS_TRUST_LIST_MAX_WARNINGS)
		return 0;
	n = snprintf(buf, sizeof(buf), "%lu: ", line);
	va_start(ap, fmt);
	vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
	va_end(ap);
	list->warnings[list->n_warnings] = strdup(buf);
	if (list->warnings[list->n_warnings] == NULL) {
		fail(p, 0, "out of memory");
		return -1;
	}
	list->n_warnings++;
	p->warnings_of_kind[kind]++;
	return 0;
}

/* ---- string set ---- */

static uint64_t hash_string(const char *s)
{
	uint64_t h = 14695981039346656037ULL; /* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 1099511628211ULL;
	}
	return h;
}

static char **strset_slot(char **slots, size_t cap, const char *key)
{
	size_t mask = cap - 1;

	for (size_t i = (size_t)hash_string(key) & mask;; i = (i + 1) & mask)
		if (slots[i] == NULL || strcmp(slots[i], key) == 0)
			return &slots[i];
}

static int strset_grow(struct strset *set)
{
	size_t cap = set->cap != 0 ? set->cap * 2 : 1024;
	char **slots = calloc(cap, sizeof(*slots));

	if (slots == NULL)
		return -1;
	for (size_t i = 0; i < set->cap; i++)
		if (set->slots[i] != NULL)
			*strset_slot(slots, cap, set->slots[i]) = set->slots[i];
	free(set->slots);
	set->slots = slots;
	set->cap = cap;
	return 0;
}

/* Returns 1 when key was added, 0 when it was there already, -1 when out of memory. */
static int strset_add(struct strset *set, const char *key)
{
	char **slot;

	/* keep the load under one half: probes stay short */
	if ((set->n + 1) * 2 > set->cap && strset_grow(set) < 0)
		return -1;
	slot = strset_slot(set->slots, set->cap, key);
	if (*slot != NULL)
		return 0;
	*slot = strdup(key);
	if (*slot == NULL)
		return -1;
	set->n++;
	return 1;
}

static void strset_free(struct strset *set)
{
	for (size_t i = 0; i < set->cap; i++)
		free(set->slots[i]);
	free(set->slots);
	set->slots = NULL;
	set->cap = set->n = 0;
}

/* ---- entries ---- */

static void entry_free(struct mss_trust_entry *e)
{
	free(e->domain);
	free(e->dn);
	free(e->dn_raw);
	free(e->cn);
	free(e->ou);
	free(e->o);
	free(e->description);
	free(e->date_maj);
}

static char *dup_text(const struct text *t)
{
	const char *s = t->s;
	size_t len = t->len;

	trim(&s, &len);
	return strndup(s, len);
}

static int append_entry(struct parse *p, const char *domain, const char *dn, const char *dn_raw, size_t dn_raw_len,
			const struct mss_dn *parsed, unsigned long line)
{
	struct mss_trust_list *list = p->list;
	struct mss_trust_entry e = {.line = line};
	const char *ou = mss_dn_get(parsed, "OU"), *o = mss_dn_get(parsed, "O");

	if (list->n_entries == p->entries_cap) {
		size_t cap = p->entries_cap != 0 ? p->entries_cap * 2 : 256;
		struct mss_trust_entry *entries = reallocarray(list->entries, cap, sizeof(*entries));

		if (entries == NULL)
			goto oom;
		list->entries = entries;
		p->entries_cap = cap;
	}
	e.domain = strdup(domain);
	e.dn = strdup(dn);
	e.dn_raw = strndup(dn_raw, dn_raw_len);
	e.cn = strdup(mss_dn_get(parsed, "CN"));
	e.ou = strdup(ou != NULL ? ou : "");
	e.o = strdup(o != NULL ? o : "");
	e.description = dup_text(&p->fields[FIELD_DESCRIPTION]);
	e.date_maj = dup_text(&p->fields[FIELD_DATE_MAJ]);
	if (e.domain == NULL || e.dn == NULL || e.dn_raw == NULL || e.cn == NULL || e.ou == NULL || e.o == NULL ||
	    e.description == NULL || e.date_maj == NULL)
		goto oom;
	list->entries[list->n_entries++] = e;
	return 0;
oom:
	entry_free(&e);
	fail(p, 0, "out of memory");
	return -1;
}

static int skip_entry(struct parse *p, unsigned long line, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int skip_entry(struct parse *p, unsigned long line, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	p->list->n_skipped++;
	return add_warning(p, WARN_SKIPPED, line, "%s, entry skipped", why);
}

static void entry_begin(struct parse *p, unsigned long line)
{
	p->in_entry = true;
	p->field = FIELD_NONE;
	p->entry_line = line;
	p->nom_line = 0;
	p->entry_bad = false;
	for (int f = 0; f < FIELD_COUNT; f++) {
		p->have_field[f] = false;
		p->fields[f].len = 0;
		p->fields[f].too_long = false;
	}
}

static void entry_set_bad(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void entry_set_bad(struct parse *p, const char *fmt, ...)
{
	va_list ap;

	if (p->entry_bad)
		return; /* the first problem is the one worth telling */
	p->entry_bad = true;
	va_start(ap, fmt);
	vsnprintf(p->entry_problem, sizeof(p->entry_problem), fmt, ap);
	va_end(ap);
}

/* Checks the Domaine just closed and keeps it unless it is unusable or a duplicate. */
static int entry_end(struct parse *p)
{
	const char *nom = p->fields[FIELD_NOM].s, *dn_raw = p->fields[FIELD_DN].s, *why = NULL;
	size_t nom_len = p->fields[FIELD_NOM].len, dn_raw_len = p->fields[FIELD_DN].len;
	unsigned long line = p->nom_line != 0 ? p->nom_line : p->entry_line;
	char domain[MSS_ADDR_DOMAIN_MAX + 1], shown[80], *key = NULL;
	char dn[3 * MSS_DN_MAX + 1]; /* normalising may escape characters */
	struct mss_dn parsed;
	bool parsed_ok = false;
	const char *cn;
	int ret = -1, added;

	p->in_entry = false;
	p->field = FIELD_NONE;
	if (p->entry_bad)
		return skip_entry(p, line, "%s", p->entry_problem);
	for (int f = 0; f < FIELD_COUNT; f++)
		if (p->fields[f].too_long)
			return skip_entry(p, line, "<%s> longer than %d bytes", field_names[f],
					  MSS_TRUST_LIST_FIELD_MAX);
	if (!p->have_field[FIELD_NOM])
		return skip_entry(p, line, "<" ENTRY_NAME "> without <Nom>");
	if (!p->have_field[FIELD_DN])
		return skip_entry(p, line, "<" ENTRY_NAME "> without <DNCertificatOperateur>");

	trim(&nom, &nom_len);
	{
		char lower[MSS_TRUST_LIST_FIELD_MAX + 1];
		size_t n = nom_len < MSS_TRUST_LIST_FIELD_MAX ? nom_len : MSS_TRUST_LIST_FIELD_MAX;

		for (size_t i = 0; i < n; i++)
			lower[i] = (char)tolower((unsigned char)nom[i]);
		lower[n] = '\0';
		if ((added = strset_add(&p->names, lower)) < 0)
			goto oom;
		p->list->n_names += (size_t)added;
	}
	if (mss_domain_normalize(nom, nom_len, domain, sizeof(domain), &why) < 0) {
		quote_value(shown, sizeof(shown), nom, nom_len);
		return skip_entry(p, line, "invalid domain \"%s\" (%s)", shown, why != NULL ? why : "?");
	}
	trim(&dn_raw, &dn_raw_len);
	if (mss_dn_parse(dn_raw, dn_raw_len, &parsed, &why) < 0) {
		quote_value(shown, sizeof(shown), dn_raw, dn_raw_len);
		ret =
		    skip_entry(p, line, "%s: invalid operator DN \"%s\" (%s)", domain, shown, why != NULL ? why : "?");
		goto out;
	}
	parsed_ok = true;
	if (mss_dn_normalize(&parsed, dn, sizeof(dn)) < 0) {
		ret = skip_entry(p, line, "%s: operator DN too long", domain);
		goto out;
	}
	cn = mss_dn_get(&parsed, "CN");
	if (cn == NULL || cn[0] == '\0') {
		quote_value(shown, sizeof(shown), dn_raw, dn_raw_len);
		ret = skip_entry(p, line, "%s: operator DN \"%s\" has no CN", domain, shown);
		goto out;
	}

	if (asprintf(&key, "%s %s", domain, dn) < 0) {
		key = NULL;
		goto oom;
	}
	added = strset_add(&p->pairs, key);
	if (added < 0)
		goto oom;
	if (added == 0) {
		p->list->n_duplicates++;
		ret = add_warning(p, WARN_DUPLICATE, line,
				  "%s listed twice with the same operator DN, duplicate ignored", domain);
		goto out;
	}
	if ((added = strset_add(&p->domains, domain)) < 0)
		goto oom;
	p->list->n_domains += (size_t)added;
	if ((added = strset_add(&p->operators, dn)) < 0)
		goto oom;
	p->list->n_operators += (size_t)added;
	ret = append_entry(p, domain, dn, dn_raw, dn_raw_len, &parsed, line);
	goto out;
oom:
	fail(p, 0, "out of memory");
	ret = -1;
out:
	free(key);
	if (parsed_ok)
		mss_dn_free(&parsed);
	return ret;
}

/* ---- the document walk ---- */

static void text_append(struct text *t, const char *s, size_t n)
{
	if (t->too_long)
		return;
	if (n > MSS_TRUST_LIST_FIELD_MAX - t->len) {
		t->too_long = true;
		return;
	}
	memcpy(t->s + t->len, s, n);
	t->len += n;
	t->s[t->len] = '\0';
}

/* Line of the current node. Element nodes store at most 65535; beyond that only text
   nodes carry the exact line (XML_PARSE_BIG_LINES) and we fall back to the parser's
   position, which may be a few lines ahead. */
static unsigned long node_line(const struct parse *p)
{
	xmlNodePtr node = xmlTextReaderCurrentNode(p->reader);
	long line = -1;

	if (node != NULL && !(node->type == XML_ELEMENT_NODE && node->line == 65535))
		line = xmlGetLineNo(node);
	if (line <= 0)
		line = xmlTextReaderGetParserLineNumber(p->reader);
	return line > 0 ? (unsigned long)line : 0;
}

/* Line of a position in the document text. */
static unsigned long line_at(const struct parse *p, const char *at)
{
	unsigned long line = 1;

	for (const char *c = p->data; c < at; c++)
		line += *c == '\n';
	return line;
}

/* A DTD node carries no line: find the declaration in the text (the parser is ahead). */
static unsigned long doctype_line(const struct parse *p)
{
	static const char decl[] = "<!DOCTYPE";
	const char *at = memmem(p->data, p->len, decl, sizeof(decl) - 1);

	return at != NULL ? line_at(p, at) : node_line(p);
}

static int ignore_node(struct parse *p, const char *what, const char *local)
{
	p->list->n_ignored++;
	return add_warning(p, WARN_IGNORED, node_line(p), "unexpected %s%s%s%s ignored", what, local ? " <" : "",
			   local ? local : "", local ? ">" : "");
}

static int field_index(const char *local)
{
	for (int f = 0; f < FIELD_COUNT; f++)
		if (strcmp(local, field_names[f]) == 0)
			return f;
	return FIELD_NONE;
}

static int on_element(struct parse *p, int depth, bool *skip_r)
{
	const char *local = (const char *)xmlTextReaderConstLocalName(p->reader);
	const char *ns = (const char *)xmlTextReaderConstNamespaceUri(p->reader);
	bool ours = ns != NULL && strcmp(ns, MSS_TRUST_LIST_NS) == 0;
	bool empty = xmlTextReaderIsEmptyElement(p->reader) == 1;
	char shown[80];

	if (local == NULL) {
		fail(p, 0, "out of memory");
		return -1;
	}
	if (depth == DEPTH_ROOT) {
		if (strcmp(local, ROOT_NAME) != 0) {
			quote_value(shown, sizeof(shown), local, strlen(local));
			fail(p, node_line(p), "root element is <%s>, expected <" ROOT_NAME ">", shown);
			return -1;
		}
		if (!ours) {
			quote_value(shown, sizeof(shown), ns != NULL ? ns : "", ns != NULL ? strlen(ns) : 0);
			fail(p, node_line(p), "root element in namespace \"%s\", expected \"" MSS_TRUST_LIST_NS "\"",
			     shown);
			return -1;
		}
		p->in_root = !empty;
		return 0;
	}
	if (p->field != FIELD_NONE) {
		/* field values are plain text */
		entry_set_bad(p, "unexpected element in <%s>", field_names[p->field]);
		*skip_r = !empty;
		return 0;
	}
	if (ours && p->in_entry && depth == DEPTH_FIELD) {
		int f = field_index(local);

		if (f != FIELD_NONE) {
			if (p->have_field[f])
				entry_set_bad(p, "<%s> given twice", local);
			p->have_field[f] = true;
			if (f == FIELD_NOM)
				p->nom_line = node_line(p);
			if (!empty)
				p->field = (enum field)f;
			return 0;
		}
	} else if (ours && p->in_list && depth == DEPTH_ENTRY && strcmp(local, ENTRY_NAME) == 0) {
		entry_begin(p, node_line(p));
		return empty ? entry_end(p) : 0;
	} else if (ours && p->in_root && depth == DEPTH_LIST && strcmp(local, LIST_NAME) == 0) {
		p->in_list = !empty;
		p->after_list_end = empty;
		return 0;
	} else if (ours && p->in_root && depth == DEPTH_LIST && strcmp(local, GENERATED_NAME) == 0) {
		p->generated.len = 0;
		p->generated.too_long = false;
		p->in_generated = !empty;
		return 0;
	}
	/* Unknown elements (a future field, a foreign extension) are skipped whole, so that
	   nothing inside them is taken for a Domaine. */
	*skip_r = !empty;
	return ignore_node(p, "element", local);
}

static int on_end_element(struct parse *p, int depth)
{
	if (p->field != FIELD_NONE && depth == DEPTH_FIELD) {
		p->field = FIELD_NONE;
		return 0;
	}
	if (p->in_entry && depth == DEPTH_ENTRY)
		return entry_end(p);
	if (p->in_generated && depth == DEPTH_LIST) {
		p->in_generated = false;
		return 0;
	}
	if (p->in_list && depth == DEPTH_LIST) {
		p->in_list = false;
		p->after_list_end = true;
		return 0;
	}
	if (depth == DEPTH_ROOT)
		p->in_root = false;
	return 0;
}

static int on_text(struct parse *p, int depth, bool whitespace)
{
	const char *value = (const char *)xmlTextReaderConstValue(p->reader);

	if (value == NULL)
		return 0;
	if (p->field != FIELD_NONE && depth == DEPTH_FIELD_TEXT) {
		/* a text node's line is exact even past 65535 */
		if (p->field == FIELD_NOM && !whitespace)
			p->nom_line = node_line(p);
		text_append(&p->fields[p->field], value, strlen(value));
	} else if (p->in_generated && depth == DEPTH_LIST + 1) {
		text_append(&p->generated, value, strlen(value));
	} else if (!whitespace) {
		return ignore_node(p, "text", NULL);
	}
	return 0;
}

static int on_node(struct parse *p, bool *skip_r)
{
	int type = xmlTextReaderNodeType(p->reader);
	int depth = xmlTextReaderDepth(p->reader);
	bool whitespace = type == XML_READER_TYPE_WHITESPACE || type == XML_READER_TYPE_SIGNIFICANT_WHITESPACE;

	*skip_r = false;
	if (!whitespace)
		p->after_list_end = false;
	switch (type) {
	case XML_READER_TYPE_DOCUMENT_TYPE:
		fail(p, doctype_line(p), "document type declarations are not allowed in the trust list");
		return -1;
	case XML_READER_TYPE_ENTITY_REFERENCE:
	case XML_READER_TYPE_ENTITY:
		fail(p, node_line(p), "entity references are not allowed in the trust list");
		return -1;
	case XML_READER_TYPE_ELEMENT:
		return on_element(p, depth, skip_r);
	case XML_READER_TYPE_END_ELEMENT:
		return on_end_element(p, depth);
	case XML_READER_TYPE_TEXT:
	case XML_READER_TYPE_CDATA:
	case XML_READER_TYPE_WHITESPACE:
	case XML_READER_TYPE_SIGNIFICANT_WHITESPACE:
		return on_text(p, depth, whitespace);
	default: /* comments, processing instructions, XML declaration */
		return 0;
	}
}

#if LIBXML_VERSION >= 21200
static void on_xml_error(void *arg, const xmlError *error)
#else
static void on_xml_error(void *arg, xmlErrorPtr error)
#endif
{
	struct parse *p = arg;
	size_t len;

	if (error == NULL || error->level < XML_ERR_ERROR || p->xml_failed)
		return;
	p->xml_failed = true;
	p->xml_code = error->code;
	p->xml_line = error->line > 0 ? (unsigned long)error->line : 0;
	len = error->message != NULL ? strlen(error->message) : 0;
	while (len > 0 && is_xml_space(error->message[len - 1]))
		len--;
	quote_value(p->xml_msg, sizeof(p->xml_msg), error->message != NULL ? error->message : "", len);
}

/* Does the document end with </ListeDomaines> (prefixed or not) and white space? */
static bool ends_with_list_end_tag(const char *data, size_t len)
{
	static const char name[] = LIST_NAME;
	const size_t name_len = sizeof(name) - 1;
	size_t end = len;

	while (end > 0 && is_xml_space(data[end - 1]))
		end--;
	if (end == 0 || data[end - 1] != '>')
		return false;
	end--;
	while (end > 0 && is_xml_space(data[end - 1]))
		end--;
	if (end < name_len || memcmp(data + end - name_len, name, name_len) != 0)
		return false;
	end -= name_len;
	if (end > 0 && data[end - 1] == ':') {
		end--;
		while (end > 0 && data[end - 1] != '/' && data[end - 1] != '<' && !is_xml_space(data[end - 1]))
			end--;
	}
	return end >= 2 && data[end - 2] == '<' && data[end - 1] == '/';
}

/* libxml2 reports a document cut anywhere with the same "end of data" error. Tolerated
   only when the cut is right after </ListeDomaines>: every Domaine was closed, only the
   root is open and nothing but white space follows. */
static bool only_root_end_missing(const struct parse *p)
{
	return p->xml_failed && (p->xml_code == XML_ERR_DOCUMENT_END || p->xml_code == XML_ERR_TAG_NOT_FINISHED) &&
	       p->in_root && p->after_list_end && !p->in_list && !p->in_entry &&
	       ends_with_list_end_tag(p->data, p->len);
}

static void fail_not_well_formed(struct parse *p)
{
	unsigned long line = p->xml_line != 0 ? p->xml_line : node_line(p);
	const char *msg = p->xml_failed ? p->xml_msg : "XML reader failed";
	const char *inside = p->field != FIELD_NONE ? field_names[p->field]
			     : p->in_entry	    ? ENTRY_NAME
			     : p->in_list	    ? LIST_NAME
			     : p->in_generated	    ? GENERATED_NAME
						    : ROOT_NAME;
	bool at_eof = p->xml_code == XML_ERR_DOCUMENT_END || p->xml_code == XML_ERR_TAG_NOT_FINISHED;

	if (p->in_root && at_eof && p->after_list_end)
		fail(p, line, "unexpected content after </" LIST_NAME "> (%s)", msg);
	else if (p->in_root && at_eof)
		fail(p, line, "document truncated inside <%s> (%s)", inside, msg);
	else
		fail(p, line, "not well-formed XML: %s", msg);
}

static struct mss_trust_list *list_new(void)
{
	return calloc(1, sizeof(struct mss_trust_list));
}

void mss_trust_list_free(struct mss_trust_list *list)
{
	if (list == NULL)
		return;
	for (size_t i = 0; i < list->n_entries; i++)
		entry_free(&list->entries[i]);
	free(list->entries);
	free(list->generated);
	for (size_t i = 0; i < list->n_warnings; i++)
		free(list->warnings[i]);
	free(list);
}

/* The list is UTF-8. libxml2 guesses UCS-4, UTF-16 or EBCDIC from the first four bytes
   before our encoding and error handler apply (and then writes to stderr): a UTF-8 XML
   document has no NUL byte and starts, after an optional byte order mark, with '<' or
   white space, which rules all those guesses out. */
static int check_utf8_start(struct parse *p)
{
	const char *nul = memchr(p->data, '\0', p->len), *start = p->data;

	if (p->len >= 3 && memcmp(start, "\xEF\xBB\xBF", 3) == 0)
		start += 3;
	if (start < p->data + p->len && *start != '<' && !is_xml_space(*start)) {
		fail(p, 1, "not well-formed XML: not a UTF-8 XML document");
		return -1;
	}
	if (nul != NULL) {
		fail(p, line_at(p, nul), "not well-formed XML: NUL byte");
		return -1;
	}
	return 0;
}

static int parse_document(struct parse *p)
{
	/* NONET: no network; no NOENT/DTDLOAD/DTDVALID: no entity expanded, no DTD read.
	   NOERROR/NOWARNING: errors come to on_xml_error only, never to stderr. */
	const int options =
	    XML_PARSE_NONET | XML_PARSE_NOERROR | XML_PARSE_NOWARNING | XML_PARSE_BIG_LINES | XML_PARSE_IGNORE_ENC;
	bool skip = false;
	int rc;

	if (p->len == 0) {
		fail(p, 1, "empty file");
		return -1;
	}
	if (p->len > MSS_TRUST_LIST_MAX_BYTES) {
		fail(p, 0, "larger than %u bytes", MSS_TRUST_LIST_MAX_BYTES);
		return -1;
	}
	/* The list is published in UTF-8. Forcing it (IGNORE_ENC: whatever the XML
	   declaration says) keeps libxml2's converters out (their errors bypass the
	   reader's handler and go to stderr) and makes any other encoding fail as invalid
	   UTF-8 instead of being silently converted. */
	if (check_utf8_start(p) < 0)
		return -1;
	p->reader = xmlReaderForMemory(p->data, (int)p->len, NULL, "UTF-8", options);
	if (p->reader == NULL) {
		fail(p, 0, "cannot create the XML reader");
		return -1;
	}
	xmlTextReaderSetStructuredErrorHandler(p->reader, on_xml_error, p);

	rc = xmlTextReaderRead(p->reader);
	while (rc == 1) {
		if (on_node(p, &skip) < 0)
			return -1;
		rc = skip ? xmlTextReaderNext(p->reader) : xmlTextReaderRead(p->reader);
	}
	if (p->failed)
		return -1;
	if (rc < 0) {
		if (!only_root_end_missing(p)) {
			fail_not_well_formed(p);
			return -1;
		}
		p->list->missing_root_end = 1;
		if (add_warning(p, WARN_EOF, p->xml_line != 0 ? p->xml_line : node_line(p),
				"document ends without </" ROOT_NAME ">, tolerated") < 0)
			return -1;
	}
	if (p->list->n_entries == 0) {
		fail(p, node_line(p), "no usable <" ENTRY_NAME "> entry (%zu skipped)", p->list->n_skipped);
		return -1;
	}
	p->list->generated = p->generated.too_long ? strdup("") : dup_text(&p->generated);
	if (p->list->generated == NULL) {
		fail(p, 0, "out of memory");
		return -1;
	}
	return 0;
}

int mss_trust_list_read_memory(const char *data, size_t len, const char *name, struct mss_trust_list **list_r,
			       char *err, size_t errlen)
{
	struct parse *p = calloc(1, sizeof(*p));
	int ret = -1;

	*list_r = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (p == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		return -1;
	}
	p->name = name;
	p->data = data;
	p->len = len;
	p->err = err;
	p->errlen = errlen;
	p->field = FIELD_NONE;
	p->list = list_new();
	if (p->list == NULL) {
		fail(p, 0, "out of memory");
		goto out;
	}
	if (parse_document(p) < 0)
		goto out;
	*list_r = p->list;
	p->list = NULL;
	ret = 0;
out:
	if (p->reader != NULL)
		xmlFreeTextReader(p->reader);
	mss_trust_list_free(p->list);
	strset_free(&p->pairs);
	strset_free(&p->domains);
	strset_free(&p->operators);
	strset_free(&p->names);
	free(p);
	return ret;
}

/* Reads the whole regular file (at most MSS_TRUST_LIST_MAX_BYTES) into *data_r. */
static int read_file(const char *path, char **data_r, size_t *len_r, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY), ret;

	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	ret = mss_read_fd(fd, path, MSS_TRUST_LIST_MAX_BYTES, data_r, len_r, err, errlen);
	close(fd);
	return ret;
}

int mss_trust_list_read(const char *path, struct mss_trust_list **list_r, char *err, size_t errlen)
{
	char *data = NULL;
	size_t len = 0;
	int ret;

	*list_r = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if (read_file(path, &data, &len, err, errlen) < 0)
		return -1;
	ret = mss_trust_list_read_memory(data, len, path, list_r, err, errlen);
	free(data);
	return ret;
}
