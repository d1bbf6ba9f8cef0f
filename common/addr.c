/* RFC 5321 mailboxes and mail domains. libc only (libmss-core, loaded into every process
   through NSS), no allocation: mss_addr_normalize runs once per BAL during sync.

   Deliberate restrictions, all in the safe direction:
   - ASCII only: MSSanté does not use SMTPUTF8 (RFC 6531); IDN domains travel as A-labels.
   - no domain literals ([1.2.3.4]), no source routes (<@a,@b:u@d>), no comments.
   - the lookup key unquotes a quoted local part whenever the quotes are unnecessary, so
     "jean.dupont"@x and jean.dupont@x are the same BAL and cannot bypass a policy. */
#include "addr.h"

#include <string.h>

#define LABEL_MAX 63

static void set_error(const char **error_r, const char *reason)
{
	if (error_r != NULL)
		*error_r = reason;
}

static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_alnum(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

/* RFC 5322 atext. A switch rather than strchr: this runs on every byte of a million
   addresses during sync. */
static bool is_atext(char c)
{
	if (is_alnum(c))
		return true;
	switch (c) {
	case '!': case '#': case '$': case '%': case '&': case '\'': case '*': case '+':
	case '-': case '/': case '=': case '?': case '^': case '_': case '`': case '{':
	case '|': case '}': case '~':
		return true;
	default:
		return false;
	}
}

/* RFC 5321 qtextSMTP (%d32-33 / %d35-91 / %d93-126): printable ASCII except '"' and '\'. */
static bool is_qtext(char c)
{
	return c >= 32 && c <= 126 && c != '"' && c != '\\';
}

/* Dot-string: atoms of atext separated by single dots. */
static bool is_dot_string(const char *s, size_t len)
{
	bool prev_dot = true; /* refuses a leading dot */

	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '.') {
			if (prev_dot)
				return false;
			prev_dot = true;
		} else if (is_atext(s[i])) {
			prev_dot = false;
		} else {
			return false;
		}
	}
	return !prev_dot;
}

/* Length of the quoted string at s[0] == '"' including both quotes, or 0 when it is not
   a valid RFC 5321 Quoted-string. */
static size_t quoted_string_len(const char *s, size_t len)
{
	for (size_t i = 1; i < len; i++) {
		if (s[i] == '"')
			return i + 1;
		if (s[i] == '\\') {
			/* quoted-pairSMTP: backslash followed by %d32-126 */
			if (++i >= len || s[i] < 32 || s[i] > 126)
				return 0;
		} else if (!is_qtext(s[i])) {
			return 0;
		}
	}
	return 0; /* no closing quote */
}

int mss_domain_normalize(const char *s, size_t len, char *out, size_t outlen, const char **error_r)
{
	size_t label_len = 0;

	if (s == NULL)
		len = 0;
	if (len > 0 && s[len - 1] == '.')
		len--; /* one trailing dot: the root, not an empty label */
	if (len == 0) {
		set_error(error_r, "empty domain");
		return -1;
	}
	if (len > MSS_ADDR_DOMAIN_MAX) {
		set_error(error_r, "domain longer than 255 octets");
		return -1;
	}
	if (len >= outlen) {
		set_error(error_r, "domain does not fit the output buffer");
		return -1;
	}
	if (s[0] == '[') {
		set_error(error_r, "domain literals are not accepted");
		return -1;
	}
	for (size_t i = 0; i <= len; i++) {
		char c = i < len ? s[i] : '.';

		if (c == '.') {
			if (label_len == 0) {
				set_error(error_r, "empty label in domain");
				return -1;
			}
			if (s[i - 1] == '-') {
				set_error(error_r, "domain label ends with a hyphen");
				return -1;
			}
			label_len = 0;
		} else if (is_alnum(c) || c == '-') {
			if (label_len == 0 && c == '-') {
				set_error(error_r, "domain label starts with a hyphen");
				return -1;
			}
			if (++label_len > LABEL_MAX) {
				set_error(error_r, "domain label longer than 63 octets");
				return -1;
			}
		} else {
			set_error(error_r, c == '\0'	       ? "NUL in domain"
					   : c == '\r' || c == '\n' ? "CR or LF in domain"
								    : "invalid character in domain");
			return -1;
		}
		if (i < len)
			out[i] = ascii_lower(c);
	}
	out[len] = '\0';
	return 0;
}

int mss_addr_parse(const char *s, size_t len, struct mss_addr *addr_r, const char **error_r)
{
	size_t local_len;

	if (s == NULL) {
		set_error(error_r, "empty address");
		return -1;
	}
	if (memchr(s, '\0', len) != NULL) {
		set_error(error_r, "NUL in address");
		return -1;
	}
	if (memchr(s, '\r', len) != NULL || memchr(s, '\n', len) != NULL) {
		set_error(error_r, "CR or LF in address");
		return -1;
	}
	if (len > 0 && s[0] == '<') {
		if (len < 2 || s[len - 1] != '>') {
			set_error(error_r, "unbalanced angle brackets");
			return -1;
		}
		s++;
		len -= 2;
		if (len == 0) {
			set_error(error_r, "null path <> is not a mailbox");
			return -1;
		}
		if (s[0] == '@') {
			set_error(error_r, "source routes are not accepted");
			return -1;
		}
	}
	if (len == 0) {
		set_error(error_r, "empty address");
		return -1;
	}
	/* +1: a trailing dot on the domain is removed below and does not count */
	if (len > MSS_ADDR_MAX + 1) {
		set_error(error_r, "address longer than 254 octets");
		return -1;
	}

	if (s[0] == '"') {
		local_len = quoted_string_len(s, len);
		if (local_len == 0) {
			set_error(error_r, "invalid quoted local part");
			return -1;
		}
	} else {
		const char *at = memchr(s, '@', len);

		local_len = at != NULL ? (size_t)(at - s) : len;
		if (!is_dot_string(s, local_len)) {
			set_error(error_r, local_len == 0 ? "empty local part" : "invalid local part");
			return -1;
		}
	}
	if (local_len >= len || s[local_len] != '@') {
		set_error(error_r, "missing @domain");
		return -1;
	}
	if (local_len > MSS_ADDR_LOCAL_MAX) {
		set_error(error_r, "local part longer than 64 octets");
		return -1;
	}
	if (mss_domain_normalize(s + local_len + 1, len - local_len - 1, addr_r->domain,
				 sizeof(addr_r->domain), error_r) < 0)
		return -1;
	if (local_len + 1 + strlen(addr_r->domain) > MSS_ADDR_MAX) {
		set_error(error_r, "address longer than 254 octets");
		return -1;
	}
	memcpy(addr_r->local, s, local_len);
	addr_r->local[local_len] = '\0';
	return 0;
}

/* Writes the canonical lower-case form of a parsed local part into out (which has room for
   MSS_ADDR_LOCAL_MAX + 1 bytes at least): unquoted when the content is a dot-string,
   otherwise quoted with only '"' and '\' escaped. Never longer than the input. */
static size_t local_key(const char *local, char *out)
{
	size_t len = strlen(local), n = 0;
	char content[MSS_ADDR_LOCAL_MAX + 1] = "";
	size_t content_len = 0;

	if (local[0] != '"') {
		for (size_t i = 0; i < len; i++)
			out[i] = ascii_lower(local[i]);
		return len;
	}
	for (size_t i = 1; i + 1 < len; i++) {
		if (local[i] == '\\')
			i++;
		content[content_len++] = ascii_lower(local[i]);
	}
	if (is_dot_string(content, content_len)) {
		memcpy(out, content, content_len);
		return content_len;
	}
	out[n++] = '"';
	for (size_t i = 0; i < content_len; i++) {
		if (content[i] == '"' || content[i] == '\\')
			out[n++] = '\\';
		out[n++] = content[i];
	}
	out[n++] = '"';
	return n;
}

size_t mss_addr_key(const struct mss_addr *addr, char *out, size_t outlen)
{
	char local[MSS_ADDR_LOCAL_MAX + 1];
	size_t local_len = local_key(addr->local, local);
	size_t domain_len = strlen(addr->domain);
	size_t total = local_len + 1 + domain_len;

	if (total >= outlen) {
		if (outlen > 0)
			out[0] = '\0';
		return 0;
	}
	memcpy(out, local, local_len);
	out[local_len] = '@';
	memcpy(out + local_len + 1, addr->domain, domain_len + 1);
	return total;
}

int mss_addr_normalize(const char *s, size_t len, char *out, size_t outlen, const char **error_r)
{
	struct mss_addr addr;

	if (mss_addr_parse(s, len, &addr, error_r) < 0)
		return -1;
	if (mss_addr_key(&addr, out, outlen) == 0) {
		set_error(error_r, "address does not fit the output buffer");
		return -1;
	}
	return 0;
}

/* Length without one trailing dot. */
static size_t domain_len_nodot(const char *s)
{
	size_t len = strlen(s);

	return len > 0 && s[len - 1] == '.' ? len - 1 : len;
}

static bool equal_nocase(const char *a, const char *b, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (ascii_lower(a[i]) != ascii_lower(b[i]))
			return false;
	}
	return true;
}

bool mss_domain_equal(const char *a, const char *b)
{
	size_t alen = domain_len_nodot(a), blen = domain_len_nodot(b);

	return alen == blen && equal_nocase(a, b, alen);
}

bool mss_domain_within(const char *domain, const char *parent)
{
	size_t dlen = domain_len_nodot(domain), plen = domain_len_nodot(parent);

	if (plen == 0 || dlen < plen)
		return false; /* nothing is "within" an empty name: safe default */
	if (!equal_nocase(domain + dlen - plen, parent, plen))
		return false;
	/* equal, or the match starts right after a label boundary (not "evilmssante.fr") */
	return dlen == plen || domain[dlen - plen - 1] == '.';
}
