/* mssante.conf: INI sections, `key = value`, `#` comments, driven by options.def. */
#ifndef MSS_CONFIG_H
#define MSS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

/* Which programs and modules read a key (documentation, `mssctl check`). */
enum mss_component {
	MSS_C_SYNC = 1 << 0,
	MSS_C_MILTER = 1 << 1,
	MSS_C_PAM = 1 << 2,
	MSS_C_NSS = 1 << 3,
	MSS_C_DOVECOT = 1 << 4,
	MSS_C_ALL = 0x1f,
};

enum mss_option_type {
	MSS_OPT_STRING,
	MSS_OPT_PATH,	  /* absolute path */
	MSS_OPT_INT,	  /* decimal, within "min:max" */
	MSS_OPT_BOOL,	  /* yes/no, true/false, on/off, 1/0 */
	MSS_OPT_ENUM,	  /* one of "a|b|c" */
	MSS_OPT_LIST,	  /* comma-separated, items trimmed, none empty */
	MSS_OPT_DURATION, /* seconds, or a number with s/m/h/d */
};

enum mss_option_id {
#define MSS_OPTION(id, section, key, type, def, comp, values, help) MSS_OPT_##id,
#include "options.def"
#undef MSS_OPTION
	MSS_OPT_COUNT
};

struct mss_option {
	const char *section;
	const char *key;
	enum mss_option_type type;
	const char *def; /* NULL: unset unless configured */
	unsigned components;
	const char *values; /* ENUM words "a|b", INT/DURATION range "min:max", else NULL */
	const char *help;
};

extern const struct mss_option mss_options[MSS_OPT_COUNT];

struct mss_config_value {
	char *str; /* NULL when unset */
	long long num; /* INT, BOOL (0/1), DURATION (seconds), ENUM (index) */
	int line; /* line it was set on, 0 for the default */
};

struct mss_config {
	char *path;
	struct mss_config_value values[MSS_OPT_COUNT];
};

/* Loads defaults, then FILE when not NULL. Every error names FILE:LINE and the key.
   Returns 0, or -1 with a message in err (always NUL-terminated). */
int mss_config_load(const char *path, struct mss_config **cfg_r, char *err, size_t errlen);
/* Same from a descriptor the caller opened and checked (PAM opens the file safely first, so
   that the file checked is the file read); NAME is used in messages. fd is not closed. */
int mss_config_load_fd(int fd, const char *name, struct mss_config **cfg_r, char *err, size_t errlen);
/* Only defaults: what a missing file would give. */
struct mss_config *mss_config_defaults(void);
/* Sets one value as if read from a file (command-line overrides, tests). */
int mss_config_set(struct mss_config *cfg, const char *section, const char *key, const char *value,
		   char *err, size_t errlen);
void mss_config_free(struct mss_config *cfg);

const char *mss_config_str(const struct mss_config *cfg, enum mss_option_id id); /* NULL if unset */
long long mss_config_num(const struct mss_config *cfg, enum mss_option_id id);
bool mss_config_bool(const struct mss_config *cfg, enum mss_option_id id);
/* Is ITEM one of the items of a LIST option (case-insensitive)? */
bool mss_config_list_has(const struct mss_config *cfg, enum mss_option_id id, const char *item);

/* The default configuration path, honouring MSSANTE_CONF through secure_getenv. */
const char *mss_config_default_path(void);

/* Parsers shared with the option table, exposed for tests. */
int mss_parse_duration(const char *s, long long *secs_r);
int mss_parse_bool(const char *s, bool *b_r);

#endif
