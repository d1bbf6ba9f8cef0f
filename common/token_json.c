/* Strict JSON reader (RFC 8259) for token.c; see token_json.h for what it refuses and why. */
#include "token_json.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_MEMBERS 512 /* per object: bounds the duplicate-key check */

struct parser {
	const char *p, *end;
	struct mss_json *doc;
	unsigned cap;
	char *out; /* next free byte of doc->strings */
	const char *error;
};

static void skip_ws(struct parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t' || *ps->p == '\n' || *ps->p == '\r'))
		ps->p++;
}

static int fail(struct parser *ps, const char *why)
{
	if (ps->error == NULL)
		ps->error = why;
	return -1;
}

/* Appends a node and returns its index (0 is the root, never a child). */
static int new_node(struct parser *ps, enum mss_json_type type, unsigned *idx_r)
{
	struct mss_json *doc = ps->doc;

	if (doc->n_nodes >= MSS_JSON_MAX_NODES)
		return fail(ps, "too many JSON values");
	if (doc->n_nodes == ps->cap) {
		unsigned cap = ps->cap == 0 ? 32 : ps->cap * 2;
		struct mss_json_node *n = realloc(doc->nodes, cap * sizeof(*n));

		if (n == NULL)
			return fail(ps, "out of memory");
		doc->nodes = n;
		ps->cap = cap;
	}
	memset(&doc->nodes[doc->n_nodes], 0, sizeof(doc->nodes[0]));
	doc->nodes[doc->n_nodes].type = type;
	*idx_r = doc->n_nodes++;
	return 0;
}

static void put_utf8(struct parser *ps, uint32_t cp)
{
	if (cp < 0x80) {
		*ps->out++ = (char)cp;
	} else if (cp < 0x800) {
		*ps->out++ = (char)(0xc0 | (cp >> 6));
		*ps->out++ = (char)(0x80 | (cp & 0x3f));
	} else if (cp < 0x10000) {
		*ps->out++ = (char)(0xe0 | (cp >> 12));
		*ps->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*ps->out++ = (char)(0x80 | (cp & 0x3f));
	} else {
		*ps->out++ = (char)(0xf0 | (cp >> 18));
		*ps->out++ = (char)(0x80 | ((cp >> 12) & 0x3f));
		*ps->out++ = (char)(0x80 | ((cp >> 6) & 0x3f));
		*ps->out++ = (char)(0x80 | (cp & 0x3f));
	}
}

static int hex4(struct parser *ps, uint32_t *v_r)
{
	uint32_t v = 0;

	if (ps->end - ps->p < 4)
		return fail(ps, "truncated \\u escape");
	for (int i = 0; i < 4; i++) {
		char c = *ps->p++;

		v <<= 4;
		if (c >= '0' && c <= '9')
			v |= (uint32_t)(c - '0');
		else if (c >= 'a' && c <= 'f')
			v |= (uint32_t)(c - 'a' + 10);
		else if (c >= 'A' && c <= 'F')
			v |= (uint32_t)(c - 'A' + 10);
		else
			return fail(ps, "invalid \\u escape");
	}
	*v_r = v;
	return 0;
}

/* One UTF-8 sequence at ps->p, validated (no overlong form, no surrogate, <= U+10FFFF). */
static int copy_utf8(struct parser *ps)
{
	const unsigned char *s = (const unsigned char *)ps->p;
	size_t avail = (size_t)(ps->end - ps->p), n;
	uint32_t cp;

	if (s[0] < 0x80) {
		n = 1;
		cp = s[0];
	} else if ((s[0] & 0xe0) == 0xc0) {
		n = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		n = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		n = 4;
		cp = s[0] & 0x07;
	} else {
		return fail(ps, "invalid UTF-8");
	}
	if (avail < n)
		return fail(ps, "invalid UTF-8");
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return fail(ps, "invalid UTF-8");
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return fail(ps, "invalid UTF-8");
	memcpy(ps->out, ps->p, n);
	ps->out += n;
	ps->p += n;
	return 0;
}

/* A string at ps->p (on its opening quote), decoded into the string storage. */
static int parse_string(struct parser *ps, const char **s_r, size_t *len_r)
{
	char *start = ps->out;

	ps->p++; /* opening quote */
	for (;;) {
		unsigned char c;

		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = (unsigned char)*ps->p;
		if (c == '"') {
			ps->p++;
			break;
		}
		if (c < 0x20)
			return fail(ps, "control character in a string");
		if (c != '\\') {
			if (copy_utf8(ps) < 0)
				return -1;
			continue;
		}
		ps->p++;
		if (ps->p >= ps->end)
			return fail(ps, "unterminated string");
		c = (unsigned char)*ps->p++;
		switch (c) {
		case '"': *ps->out++ = '"'; break;
		case '\\': *ps->out++ = '\\'; break;
		case '/': *ps->out++ = '/'; break;
		case 'b': *ps->out++ = '\b'; break;
		case 'f': *ps->out++ = '\f'; break;
		case 'n': *ps->out++ = '\n'; break;
		case 'r': *ps->out++ = '\r'; break;
		case 't': *ps->out++ = '\t'; break;
		case 'u': {
			uint32_t cp, lo;

			if (hex4(ps, &cp) < 0)
				return -1;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return fail(ps, "lone low surrogate");
			if (cp >= 0xd800 && cp <= 0xdbff) {
				if (ps->end - ps->p < 2 || ps->p[0] != '\\' || ps->p[1] != 'u')
					return fail(ps, "lone high surrogate");
				ps->p += 2;
				if (hex4(ps, &lo) < 0)
					return -1;
				if (lo < 0xdc00 || lo > 0xdfff)
					return fail(ps, "lone high surrogate");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			if (cp == 0)
				return fail(ps, "NUL in a string");
			put_utf8(ps, cp);
			break;
		}
		default:
			return fail(ps, "invalid escape in a string");
		}
	}
	*s_r = start;
	*len_r = (size_t)(ps->out - start);
	*ps->out++ = '\0';
	return 0;
}

/* RFC 8259 number grammar; an integer without fraction or exponent that fits in a long long
   is also kept as ival. */
static int parse_number(struct parser *ps, struct mss_json_node *n)
{
	const char *p = ps->p;
	bool neg = false, overflow = false, integral = true;
	long long v = 0;

	if (p < ps->end && *p == '-') {
		neg = true;
		p++;
	}
	if (p >= ps->end || *p < '0' || *p > '9')
		return fail(ps, "invalid number");
	if (*p == '0' && p + 1 < ps->end && p[1] >= '0' && p[1] <= '9')
		return fail(ps, "number with a leading zero");
	while (p < ps->end && *p >= '0' && *p <= '9') {
		int d = *p++ - '0';

		if (v > (INT64_MAX - d) / 10)
			overflow = true;
		else
			v = v * 10 + d;
	}
	if (p < ps->end && *p == '.') {
		integral = false;
		p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "invalid number");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	if (p < ps->end && (*p == 'e' || *p == 'E')) {
		integral = false;
		p++;
		if (p < ps->end && (*p == '+' || *p == '-'))
			p++;
		if (p >= ps->end || *p < '0' || *p > '9')
			return fail(ps, "invalid number");
		while (p < ps->end && *p >= '0' && *p <= '9')
			p++;
	}
	n->is_int = integral && !overflow;
	n->ival = neg ? -v : v;
	ps->p = p;
	return 0;
}

static int parse_value(struct parser *ps, unsigned idx, int depth);

static bool key_seen(const struct mss_json *doc, unsigned first, unsigned self)
{
	const struct mss_json_node *me = &doc->nodes[self];

	for (unsigned i = first; i != 0 && i != self; i = doc->nodes[i].next) {
		if (doc->nodes[i].key_len == me->key_len && memcmp(doc->nodes[i].key, me->key, me->key_len) == 0)
			return true;
	}
	return false;
}

/* Array or object at ps->p (on '[' or '{'): children are appended after the container. */
static int parse_container(struct parser *ps, unsigned idx, int depth, bool object)
{
	char close = object ? '}' : ']';
	unsigned prev = 0;

	if (depth >= MSS_JSON_MAX_DEPTH)
		return fail(ps, "JSON nested too deeply");
	ps->p++;
	skip_ws(ps);
	if (ps->p < ps->end && *ps->p == close) {
		ps->p++;
		return 0;
	}
	for (;;) {
		const char *key = NULL;
		size_t key_len = 0;
		unsigned child;

		skip_ws(ps);
		if (object) {
			if (ps->p >= ps->end || *ps->p != '"')
				return fail(ps, "expected a member name");
			if (parse_string(ps, &key, &key_len) < 0)
				return -1;
			skip_ws(ps);
			if (ps->p >= ps->end || *ps->p != ':')
				return fail(ps, "expected ':'");
			ps->p++;
		}
		if (new_node(ps, MSS_JSON_NULL, &child) < 0)
			return -1;
		ps->doc->nodes[child].key = key;
		ps->doc->nodes[child].key_len = key_len;
		if (prev == 0)
			ps->doc->nodes[idx].first = child;
		else
			ps->doc->nodes[prev].next = child;
		if (object && key_seen(ps->doc, ps->doc->nodes[idx].first, child))
			return fail(ps, "duplicate member name");
		if (++ps->doc->nodes[idx].count > MAX_MEMBERS)
			return fail(ps, "too many members");
		if (parse_value(ps, child, depth + 1) < 0)
			return -1;
		prev = child;
		skip_ws(ps);
		if (ps->p < ps->end && *ps->p == ',') {
			ps->p++;
			continue;
		}
		if (ps->p < ps->end && *ps->p == close) {
			ps->p++;
			return 0;
		}
		return fail(ps, object ? "expected ',' or '}'" : "expected ',' or ']'");
	}
}

static int literal(struct parser *ps, const char *word, enum mss_json_type type, unsigned idx)
{
	size_t len = strlen(word);

	if ((size_t)(ps->end - ps->p) < len || memcmp(ps->p, word, len) != 0)
		return fail(ps, "invalid JSON value");
	ps->p += len;
	ps->doc->nodes[idx].type = type;
	return 0;
}

static int parse_value(struct parser *ps, unsigned idx, int depth)
{
	skip_ws(ps);
	if (ps->p >= ps->end)
		return fail(ps, "truncated JSON");
	switch (*ps->p) {
	case '{':
		ps->doc->nodes[idx].type = MSS_JSON_OBJECT;
		return parse_container(ps, idx, depth, true);
	case '[':
		ps->doc->nodes[idx].type = MSS_JSON_ARRAY;
		return parse_container(ps, idx, depth, false);
	case '"': {
		const char *s;
		size_t len;

		if (parse_string(ps, &s, &len) < 0)
			return -1;
		ps->doc->nodes[idx].type = MSS_JSON_STRING;
		ps->doc->nodes[idx].str = s;
		ps->doc->nodes[idx].str_len = len;
		return 0;
	}
	case 't': return literal(ps, "true", MSS_JSON_TRUE, idx);
	case 'f': return literal(ps, "false", MSS_JSON_FALSE, idx);
	case 'n': return literal(ps, "null", MSS_JSON_NULL, idx);
	default:
		ps->doc->nodes[idx].type = MSS_JSON_NUMBER;
		return parse_number(ps, &ps->doc->nodes[idx]);
	}
}

int mss_json_parse(const char *text, size_t len, struct mss_json *doc_r, const char **error_r)
{
	struct parser ps = {.p = text, .end = text + len, .doc = doc_r};
	unsigned root;

	memset(doc_r, 0, sizeof(*doc_r));
	if (text == NULL || len == 0 || len > MSS_JSON_MAX_INPUT) {
		*error_r = len == 0 ? "empty JSON" : "JSON too large";
		return -1;
	}
	/* Decoded strings never outgrow their source (quotes pay for each NUL). */
	doc_r->strings = malloc(len + 1);
	if (doc_r->strings == NULL) {
		*error_r = "out of memory";
		return -1;
	}
	ps.out = doc_r->strings;
	if (new_node(&ps, MSS_JSON_NULL, &root) < 0 || parse_value(&ps, root, 0) < 0)
		goto fail;
	skip_ws(&ps);
	if (ps.p != ps.end) {
		fail(&ps, "trailing data after the JSON value");
		goto fail;
	}
	return 0;
fail:
	*error_r = ps.error != NULL ? ps.error : "invalid JSON";
	mss_json_free(doc_r);
	return -1;
}

void mss_json_free(struct mss_json *doc)
{
	if (doc == NULL)
		return;
	free(doc->nodes);
	free(doc->strings);
	memset(doc, 0, sizeof(*doc));
}

const struct mss_json_node *mss_json_first(const struct mss_json *doc, const struct mss_json_node *node)
{
	if (node == NULL || (node->type != MSS_JSON_ARRAY && node->type != MSS_JSON_OBJECT) || node->first == 0)
		return NULL;
	return &doc->nodes[node->first];
}

const struct mss_json_node *mss_json_next(const struct mss_json *doc, const struct mss_json_node *node)
{
	if (node == NULL || node->next == 0)
		return NULL;
	return &doc->nodes[node->next];
}

const struct mss_json_node *mss_json_member(const struct mss_json *doc, const struct mss_json_node *obj,
					    const char *key)
{
	size_t len = strlen(key);

	if (obj == NULL || obj->type != MSS_JSON_OBJECT)
		return NULL;
	for (const struct mss_json_node *n = mss_json_first(doc, obj); n != NULL; n = mss_json_next(doc, n)) {
		if (n->key_len == len && memcmp(n->key, key, len) == 0)
			return n;
	}
	return NULL;
}

const char *mss_json_string(const struct mss_json *doc, const struct mss_json_node *obj, const char *key)
{
	const struct mss_json_node *n = mss_json_member(doc, obj, key);

	return n != NULL && n->type == MSS_JSON_STRING ? n->str : NULL;
}
