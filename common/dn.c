/* RFC 4514 distinguished names: parse, normalise, CN and CPS identity.

   The parser is strict where it matters for security (NUL, control characters, invalid
   UTF-8, bad escapes, unbalanced quotes, size limits) and lenient where the real ANS trust
   list needs it: spaces around separators, RFC 1779 ';' separators and quoted values
   (`O="C.H. DE  CADILLAC"`), and a '"' inside an unquoted value (`O=CRLCC "PAUL STRAUSS"`),
   which RFC 4514 would have escaped. The normalised form is what OpenSSL prints with
   XN_FLAG_RFC2253 once run through the same normaliser, so the trust list and a peer
   certificate compare as strings. */
#include "dn.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define TYPE_MAX 64 /* longest attribute type accepted */

/* Attribute type spellings seen in the wild (OpenSSL, Java, Windows, RFC 1779), mapped to
   one upper-case short name so that `commonName=x`, `2.5.4.3=x` and `cn=x` compare equal. */
static const struct type_alias {
	const char *name; /* upper-case keystring or dotted OID */
	const char *canon;
} type_aliases[] = {
	{"CN", "CN"},
	{"COMMONNAME", "CN"},
	{"2.5.4.3", "CN"},
	{"SN", "SN"},
	{"SURNAME", "SN"},
	{"2.5.4.4", "SN"},
	{"SERIALNUMBER", "SERIALNUMBER"},
	{"2.5.4.5", "SERIALNUMBER"},
	{"C", "C"},
	{"COUNTRYNAME", "C"},
	{"2.5.4.6", "C"},
	{"L", "L"},
	{"LOCALITYNAME", "L"},
	{"2.5.4.7", "L"},
	{"ST", "ST"},
	{"S", "ST"},
	{"STATEORPROVINCENAME", "ST"},
	{"2.5.4.8", "ST"},
	{"STREET", "STREET"},
	{"STREETADDRESS", "STREET"},
	{"2.5.4.9", "STREET"},
	{"O", "O"},
	{"ORGANIZATIONNAME", "O"},
	{"2.5.4.10", "O"},
	{"OU", "OU"},
	{"ORGANIZATIONALUNITNAME", "OU"},
	{"2.5.4.11", "OU"},
	{"TITLE", "TITLE"},
	{"2.5.4.12", "TITLE"},
	{"GN", "GN"},
	{"G", "GN"},
	{"GIVENNAME", "GN"},
	{"2.5.4.42", "GN"},
	{"EMAILADDRESS", "EMAILADDRESS"},
	{"E", "EMAILADDRESS"},
	{"EMAIL", "EMAILADDRESS"},
	{"1.2.840.113549.1.9.1", "EMAILADDRESS"},
	{"DC", "DC"},
	{"DOMAINCOMPONENT", "DC"},
	{"0.9.2342.19200300.100.1.25", "DC"},
	{"UID", "UID"},
	{"USERID", "UID"},
	{"0.9.2342.19200300.100.1.1", "UID"},
	{"ORGANIZATIONIDENTIFIER", "ORGANIZATIONIDENTIFIER"},
	{"2.5.4.97", "ORGANIZATIONIDENTIFIER"},
};
#define ALIAS_GROWTH_MAX 16 /* longest canon minus shortest alias, rounded up ("E") */

struct dn_parser {
	const char *s;
	size_t len;
	size_t pos;
	struct mss_dn *dn;
	size_t buf_used;
	size_t buf_size;
	const char *error;
};

static void set_error(const char **error_r, const char *reason)
{
	if (error_r != NULL)
		*error_r = reason;
}

static bool is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static char ascii_upper(char c)
{
	return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c;
}

/* Canonical name of a type, or NULL when unknown. */
static const char *type_canon(const char *upper)
{
	for (size_t i = 0; i < sizeof(type_aliases) / sizeof(type_aliases[0]); i++) {
		if (strcmp(type_aliases[i].name, upper) == 0)
			return type_aliases[i].canon;
	}
	return NULL;
}

/* Strict UTF-8 (no overlong forms, no surrogates, <= U+10FFFF) without control
   characters (C0, DEL, C1): a DN ends up in logs and audit records. */
static bool utf8_text_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = s[i];
		uint32_t cp;
		size_t n;

		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf) {
			n = 1;
			cp = c & 0x1f;
		} else if (c >= 0xe0 && c <= 0xef) {
			n = 2;
			cp = c & 0x0f;
		} else if (c >= 0xf0 && c <= 0xf4) {
			n = 3;
			cp = c & 0x07;
		} else {
			return false;
		}
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((s[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) || (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n + 1;
	}
	return true;
}

static int fail(struct dn_parser *p, const char *reason)
{
	p->error = reason;
	return -1;
}

static bool at_end(const struct dn_parser *p)
{
	return p->pos >= p->len;
}

static void skip_spaces(struct dn_parser *p)
{
	while (!at_end(p) && p->s[p->pos] == ' ')
		p->pos++;
}

/* Appends one byte to the string being built in dn->buf (sized so this cannot fail on
   valid input; checked all the same). */
static int buf_put(struct dn_parser *p, char c)
{
	if (p->buf_used + 1 >= p->buf_size)
		return fail(p, "DN too long");
	p->dn->buf[p->buf_used++] = c;
	return 0;
}

/* Finishes the string started at offset start and returns it. */
static char *buf_end_string(struct dn_parser *p, size_t start)
{
	p->dn->buf[p->buf_used++] = '\0'; /* buf_put always leaves room for it */
	return p->dn->buf + start;
}

/* attributeType = keystring / numericoid, with RFC 1779's "OID." prefix accepted. */
static int parse_type(struct dn_parser *p, struct mss_dn_ava *ava)
{
	char upper[TYPE_MAX + 1];
	size_t start = p->pos, n;
	const char *canon;

	if (!at_end(p) && is_alpha(p->s[p->pos])) {
		while (!at_end(p) && (is_alpha(p->s[p->pos]) || is_digit(p->s[p->pos]) ||
				      p->s[p->pos] == '-'))
			p->pos++;
		if (p->pos - start == 3 && !at_end(p) && p->s[p->pos] == '.' &&
		    ascii_upper(p->s[start]) == 'O' && ascii_upper(p->s[start + 1]) == 'I' &&
		    ascii_upper(p->s[start + 2]) == 'D') {
			start = ++p->pos;
			if (at_end(p) || !is_digit(p->s[p->pos]))
				return fail(p, "invalid OID attribute type");
		}
	}
	if (p->pos == start) {
		if (at_end(p) || !is_digit(p->s[p->pos]))
			return fail(p, "empty or invalid attribute type");
		for (;;) {
			while (!at_end(p) && is_digit(p->s[p->pos]))
				p->pos++;
			if (p->pos + 1 < p->len && p->s[p->pos] == '.' && is_digit(p->s[p->pos + 1]))
				p->pos++;
			else
				break;
		}
	}
	n = p->pos - start;
	if (n > TYPE_MAX)
		return fail(p, "attribute type too long");
	for (size_t i = 0; i < n; i++)
		upper[i] = ascii_upper(p->s[start + i]);
	upper[n] = '\0';

	canon = type_canon(upper);
	if (canon == NULL)
		canon = upper; /* unknown: upper-cased keystring, or the OID as written */
	start = p->buf_used;
	for (const char *c = canon; *c != '\0'; c++) {
		if (buf_put(p, *c) < 0)
			return -1;
	}
	ava->type = buf_end_string(p, start);
	return 0;
}

/* At a backslash: decodes `\<special>` or `\<hex><hex>` into one byte. */
static int parse_escape(struct dn_parser *p, char *byte_r)
{
	int hi, lo;

	p->pos++;
	if (at_end(p))
		return fail(p, "trailing backslash");
	if (p->pos + 1 < p->len && (hi = hex_value(p->s[p->pos])) >= 0 &&
	    (lo = hex_value(p->s[p->pos + 1])) >= 0) {
		*byte_r = (char)(hi << 4 | lo);
		p->pos += 2;
		return 0;
	}
	if (strchr("\"+,;<>\\ #=", p->s[p->pos]) == NULL)
		return fail(p, "invalid escape in DN value");
	*byte_r = p->s[p->pos++];
	return 0;
}

/* `#` followed by the hex of a BER value: kept as upper-case "#..." text. */
static int parse_hex_value(struct dn_parser *p, struct mss_dn_ava *ava, size_t start)
{
	size_t digits = 0;

	if (buf_put(p, '#') < 0)
		return -1;
	p->pos++;
	while (!at_end(p) && hex_value(p->s[p->pos]) >= 0) {
		if (buf_put(p, ascii_upper(p->s[p->pos++])) < 0)
			return -1;
		digits++;
	}
	if (digits == 0 || digits % 2 != 0)
		return fail(p, "invalid #hex value");
	ava->is_hex = true;
	ava->value = buf_end_string(p, start);
	return 0;
}

static int parse_value(struct dn_parser *p, struct mss_dn_ava *ava)
{
	size_t start = p->buf_used;
	size_t keep; /* length without unescaped trailing spaces */
	char c;

	if (!at_end(p) && p->s[p->pos] == '#')
		return parse_hex_value(p, ava, start);

	if (!at_end(p) && p->s[p->pos] == '"') {
		p->pos++;
		for (;;) {
			if (at_end(p))
				return fail(p, "unbalanced quotes in DN value");
			c = p->s[p->pos];
			if (c == '"') {
				p->pos++;
				break;
			}
			if (c == '\\') {
				if (parse_escape(p, &c) < 0)
					return -1;
			} else {
				p->pos++;
			}
			if (buf_put(p, c) < 0)
				return -1;
		}
		keep = p->buf_used;
	} else {
		keep = start;
		while (!at_end(p) && strchr(",+;", p->s[p->pos]) == NULL) {
			bool escaped = p->s[p->pos] == '\\';

			if (escaped) {
				if (parse_escape(p, &c) < 0)
					return -1;
			} else {
				c = p->s[p->pos++];
			}
			if (buf_put(p, c) < 0)
				return -1;
			if (escaped || c != ' ')
				keep = p->buf_used;
		}
	}
	p->buf_used = keep;
	if (!utf8_text_valid((const unsigned char *)p->dn->buf + start, keep - start))
		return fail(p, "invalid UTF-8 or control character in DN value");
	ava->is_hex = false;
	ava->value = buf_end_string(p, start);
	return 0;
}

static int parse_dn(struct dn_parser *p)
{
	struct mss_dn *dn = p->dn;

	skip_spaces(p);
	if (at_end(p))
		return fail(p, "empty DN");
	for (;;) {
		struct mss_dn_rdn *rdn;

		if (dn->n_rdns == MSS_DN_MAX_RDNS)
			return fail(p, "too many RDNs in DN");
		rdn = &dn->rdns[dn->n_rdns++];
		rdn->first_ava = dn->n_avas;
		rdn->n_avas = 0;
		for (;;) {
			struct mss_dn_ava *ava;
			char sep;

			if (dn->n_avas == MSS_DN_MAX_AVAS)
				return fail(p, "too many attributes in DN");
			ava = &dn->avas[dn->n_avas];
			skip_spaces(p);
			if (parse_type(p, ava) < 0)
				return -1;
			skip_spaces(p);
			if (at_end(p) || p->s[p->pos] != '=')
				return fail(p, "missing '=' after attribute type");
			p->pos++;
			skip_spaces(p);
			if (parse_value(p, ava) < 0)
				return -1;
			skip_spaces(p);
			dn->n_avas++;
			rdn->n_avas++;
			if (at_end(p))
				return 0;
			sep = p->s[p->pos++];
			if (sep == ',' || sep == ';')
				break;
			if (sep != '+')
				return fail(p, "expected ',' or '+' after DN value");
		}
	}
}

int mss_dn_parse(const char *s, size_t len, struct mss_dn *dn_r, const char **error_r)
{
	struct dn_parser p = {.s = s, .len = len, .dn = dn_r};

	memset(dn_r, 0, sizeof(*dn_r));
	if (s == NULL || len == 0) {
		set_error(error_r, "empty DN");
		return -1;
	}
	if (len > MSS_DN_MAX) {
		set_error(error_r, "DN too long");
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		set_error(error_r, "NUL in DN");
		return -1;
	}
	/* Each AVA stores its type and value, NUL-terminated: never more than the input plus
	   a terminator and the growth of an alias ("E" -> "EMAILADDRESS") per AVA. */
	p.buf_size = len + 2 + MSS_DN_MAX_AVAS * (ALIAS_GROWTH_MAX + 2);
	dn_r->buf = malloc(p.buf_size);
	if (dn_r->buf == NULL) {
		set_error(error_r, "out of memory");
		return -1;
	}
	if (parse_dn(&p) < 0) {
		mss_dn_free(dn_r);
		set_error(error_r, p.error);
		return -1;
	}
	return 0;
}

void mss_dn_free(struct mss_dn *dn)
{
	free(dn->buf);
	dn->buf = NULL;
	dn->n_rdns = 0;
	dn->n_avas = 0;
}

/* ---- normalised form ---- */

struct out {
	char *p;
	size_t len;
	size_t cap;
	bool overflow;
};

static void out_char(struct out *o, char c)
{
	if (o->len + 1 >= o->cap) {
		o->overflow = true;
		return;
	}
	o->p[o->len++] = c;
}

static void out_str(struct out *o, const char *s)
{
	for (; *s != '\0'; s++)
		out_char(o, *s);
}

/* The trust list writes the same field sometimes L=, sometimes ST=: both become ST. */
static const char *normal_type(const struct mss_dn_ava *ava)
{
	return strcmp(ava->type, "L") == 0 ? "ST" : ava->type;
}

/* Compares values as they will be written: C values upper-cased (see out_value), so that
   the order of a normal form does not change when it is normalised again. */
static int value_cmp(const char *type, const char *a, const char *b)
{
	bool country = strcmp(type, "C") == 0;
	unsigned char ca, cb;

	do {
		ca = (unsigned char)(country ? ascii_upper(*a) : *a);
		cb = (unsigned char)(country ? ascii_upper(*b) : *b);
		a++;
		b++;
	} while (ca != '\0' && ca == cb);
	return (int)ca - (int)cb;
}

static int ava_cmp(const struct mss_dn_ava *a, const struct mss_dn_ava *b)
{
	int r = strcmp(normal_type(a), normal_type(b));

	if (r == 0)
		r = value_cmp(a->type, a->value, b->value);
	if (r == 0)
		r = (int)a->is_hex - (int)b->is_hex;
	return r;
}

/* RFC 4514 2.4 minimal escaping; C values upper-cased (country codes compare so). */
static void out_value(struct out *o, const struct mss_dn_ava *ava)
{
	static const char hex[] = "0123456789ABCDEF";
	bool country = strcmp(ava->type, "C") == 0;
	size_t len = strlen(ava->value);

	if (ava->is_hex) {
		out_str(o, ava->value);
		return;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)ava->value[i];

		if (c < 0x20 || c == 0x7f) {
			/* cannot come from mss_dn_parse; kept printable should a caller build one */
			out_char(o, '\\');
			out_char(o, hex[c >> 4]);
			out_char(o, hex[c & 15]);
			continue;
		}
		if (strchr("\"+,;<>\\", c) != NULL || (i == 0 && (c == '#' || c == ' ')) ||
		    (i == len - 1 && c == ' '))
			out_char(o, '\\');
		out_char(o, country ? ascii_upper((char)c) : (char)c);
	}
}

int mss_dn_normalize(const struct mss_dn *dn, char *out, size_t outlen)
{
	struct out o = {.p = out, .cap = outlen};

	if (outlen == 0)
		return -1;
	for (size_t r = 0; r < dn->n_rdns; r++) {
		const struct mss_dn_rdn *rdn = &dn->rdns[r];
		const struct mss_dn_ava *sorted[MSS_DN_MAX_AVAS];
		size_t n = rdn->n_avas;

		if (n > MSS_DN_MAX_AVAS || rdn->first_ava > dn->n_avas ||
		    n > dn->n_avas - rdn->first_ava)
			return -1; /* not built by mss_dn_parse */
		/* multi-valued RDNs are unordered sets: OpenSSL prints CN=..+SN=..+GN=.. in
		   reverse, so sort by type (insertion sort: a handful of AVAs at most) */
		for (size_t i = 0; i < n; i++) {
			const struct mss_dn_ava *ava = &dn->avas[rdn->first_ava + i];
			size_t j = i;

			for (; j > 0 && ava_cmp(sorted[j - 1], ava) > 0; j--)
				sorted[j] = sorted[j - 1];
			sorted[j] = ava;
		}
		if (r > 0)
			out_char(&o, ',');
		for (size_t i = 0; i < n; i++) {
			if (i > 0)
				out_char(&o, '+');
			out_str(&o, normal_type(sorted[i]));
			out_char(&o, '=');
			out_value(&o, sorted[i]);
		}
	}
	out[o.len] = '\0';
	if (o.overflow) {
		out[0] = '\0';
		return -1;
	}
	return (int)o.len;
}

int mss_dn_normalize_str(const char *s, size_t len, char *out, size_t outlen, const char **error_r)
{
	struct mss_dn dn;
	int ret;

	if (mss_dn_parse(s, len, &dn, error_r) < 0)
		return -1;
	ret = mss_dn_normalize(&dn, out, outlen);
	if (ret < 0)
		set_error(error_r, "normalised DN does not fit the output buffer");
	mss_dn_free(&dn);
	return ret;
}

/* Canonical form of a type given by a caller ("cn", "commonName", "2.5.4.3" -> "CN").
   Returns false when it is too long to be any type. */
static bool canon_query_type(const char *type, char *out, size_t outlen)
{
	size_t n = strlen(type);
	const char *canon;

	if (n >= outlen)
		return false;
	for (size_t i = 0; i <= n; i++)
		out[i] = ascii_upper(type[i]);
	if (strncmp(out, "OID.", 4) == 0)
		memmove(out, out + 4, n - 3);
	canon = type_canon(out);
	if (canon != NULL)
		strcpy(out, canon); /* canon names are shorter than TYPE_MAX */
	return true;
}

static const struct mss_dn_ava *find_ava(const struct mss_dn *dn, size_t first, size_t n,
					 const char *type)
{
	char canon[TYPE_MAX + 1];

	if (!canon_query_type(type, canon, sizeof(canon)))
		return NULL;
	for (size_t i = first; i < first + n && i < dn->n_avas; i++) {
		/* types are stored upper-cased; OIDs contain no letters */
		if (strcmp(dn->avas[i].type, canon) == 0)
			return &dn->avas[i];
	}
	return NULL;
}

const char *mss_dn_get(const struct mss_dn *dn, const char *type)
{
	const struct mss_dn_ava *ava = find_ava(dn, 0, dn->n_avas, type);

	return ava != NULL ? ava->value : NULL;
}

static bool all_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(s[i]))
			return false;
	}
	return true;
}

static bool is_finess_department(const char *s)
{
	return (is_digit(s[0]) || (s[0] >= 'A' && s[0] <= 'Z')) &&
	       (is_digit(s[1]) || (s[1] >= 'A' && s[1] <= 'Z'));
}

bool mss_idnat_valid(const char *s, bool allow_structure)
{
	size_t len = strlen(s);

	switch (s[0]) {
	case '8': /* RPPS: 11 digits */
		return len == 12 && all_digits(s + 1, 11);
	case '0': /* ADELI: 9 digits */
		return len == 10 && all_digits(s + 1, 9);
	case '3': /* SIRET: 14 digits */
		return allow_structure && len == 15 && all_digits(s + 1, 14);
	case '1': /* FINESS: 2 department characters (01, 2A, 2B, 97 but also 0B in the
		     real trust list), then 7 digits */
		return allow_structure && len == 10 && is_finess_department(s + 1) &&
		       all_digits(s + 3, 7);
	default:
		return false;
	}
}

int mss_dn_cps_idnat(const struct mss_dn *dn, char *out, size_t outlen, const char **error_r)
{
	const struct mss_dn_ava *cn;
	size_t len;

	if (dn->n_rdns == 0) {
		set_error(error_r, "empty DN");
		return -1;
	}
	cn = find_ava(dn, dn->rdns[0].first_ava, dn->rdns[0].n_avas, "CN");
	if (cn == NULL || cn->is_hex) {
		set_error(error_r, "no CN in the first RDN");
		return -1;
	}
	if (!mss_idnat_valid(cn->value, false)) {
		set_error(error_r, "CN of the first RDN is not an idNat_PS");
		return -1;
	}
	len = strlen(cn->value);
	if (len >= outlen) {
		set_error(error_r, "idNat_PS does not fit the output buffer");
		return -1;
	}
	memcpy(out, cn->value, len + 1);
	return 0;
}
