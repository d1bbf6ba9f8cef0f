/* A strict, small JSON reader for JWT headers and payloads and for JWKS files (token.c).
   Its own code rather than json-c because what it reads is attacker-supplied and must be
   read one way only: duplicate object keys, invalid UTF-8, NUL in strings (\u0000), lone
   surrogates, trailing data, deep nesting and over-long input are all refused — a claim
   that two parsers would read differently cannot pass. Numbers are kept as text plus an
   exact integer when they are one (no strtod: the host's locale must not matter). */
#ifndef MSS_TOKEN_JSON_H
#define MSS_TOKEN_JSON_H

#include <stdbool.h>
#include <stddef.h>

#define MSS_JSON_MAX_INPUT (1024 * 1024)
#define MSS_JSON_MAX_DEPTH 16
#define MSS_JSON_MAX_NODES 8192

enum mss_json_type {
	MSS_JSON_NULL,
	MSS_JSON_FALSE,
	MSS_JSON_TRUE,
	MSS_JSON_NUMBER,
	MSS_JSON_STRING,
	MSS_JSON_ARRAY,
	MSS_JSON_OBJECT,
};

struct mss_json_node {
	enum mss_json_type type;
	const char *key;  /* member name inside an object (decoded, NUL-terminated), else NULL */
	size_t key_len;
	const char *str;  /* STRING: decoded UTF-8, NUL-terminated (never holds NUL) */
	size_t str_len;
	bool is_int;	  /* NUMBER written as an integer (no fraction, no exponent) that fits */
	long long ival;
	unsigned first;	  /* ARRAY/OBJECT: index of the first child, 0 when empty */
	unsigned next;	  /* index of the next sibling, 0 at the end */
	unsigned count;	  /* ARRAY/OBJECT: number of children */
};

struct mss_json {
	struct mss_json_node *nodes; /* nodes[0] is the root */
	unsigned n_nodes;
	char *strings; /* storage of the decoded keys and strings */
};

/* Parses exactly one JSON value (surrounding white space allowed). Returns 0 (free with
   mss_json_free) or -1 with a static reason in *error_r. */
int mss_json_parse(const char *text, size_t len, struct mss_json *doc_r, const char **error_r);
void mss_json_free(struct mss_json *doc);

/* The member KEY of an object node, NULL when absent or when NODE is not an object. */
const struct mss_json_node *mss_json_member(const struct mss_json *doc, const struct mss_json_node *obj,
					    const char *key);
/* Children of an array or object: first, then next; NULL at the end. */
const struct mss_json_node *mss_json_first(const struct mss_json *doc, const struct mss_json_node *node);
const struct mss_json_node *mss_json_next(const struct mss_json *doc, const struct mss_json_node *node);
/* The member KEY when it is a string, else NULL. */
const char *mss_json_string(const struct mss_json *doc, const struct mss_json_node *obj, const char *key);

#endif
