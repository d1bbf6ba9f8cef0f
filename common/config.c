/* mssante.conf parser. Part of libmss-core: libc only, no stdio, no global state, because
   the NSS and PAM modules load it inside every process (including setuid ones). */
#include "error.h"
#include "readfile.h"
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#define MSS_CONFIG_MAX_BYTES (1024 * 1024)
#define MSS_CONFIG_MAX_LINE 4096

const char *mss_config_default_path(void)
{
	const char *env = secure_getenv("MSSANTE_CONF");

	return env != NULL && env[0] != '\0' ? env : "/etc/mssante/mssante.conf";
}

int mss_parse_bool(const char *s, bool *b_r)
{
	static const char *const yes[] = {"yes", "true", "on", "1"};
	static const char *const no[] = {"no", "false", "off", "0"};

	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*b_r = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*b_r = false;
			return 0;
		}
	}
	return -1;
}

/* Strict decimal: digits only, no sign, no overflow. */
static int parse_uint(const char *s, size_t len, long long *n_r)
{
	long long n = 0;

	if (len == 0 || len > 18)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		n = n * 10 + (s[i] - '0');
	}
	*n_r = n;
	return 0;
}

int mss_parse_duration(const char *s, long long *secs_r)
{
	size_t len = strlen(s);
	long long mult = 1, n;

	if (len == 0)
		return -1;
	switch (s[len - 1]) {
	case 's': mult = 1; len--; break;
	case 'm': mult = 60; len--; break;
	case 'h': mult = 3600; len--; break;
	case 'd': mult = 86400; len--; break;
	default: break;
	}
	if (parse_uint(s, len, &n) < 0 || n > (1LL << 40))
		return -1;
	*secs_r = n * mult;
	return 0;
}

static int parse_range(const char *values, long long *min_r, long long *max_r)
{
	const char *colon;

	if (values == NULL || (colon = strchr(values, ':')) == NULL)
		return -1;
	if (parse_uint(values, (size_t)(colon - values), min_r) < 0 ||
	    parse_uint(colon + 1, strlen(colon + 1), max_r) < 0)
		return -1;
	return 0;
}

/* Checks VALUE against the option's type and stores it. */
static int set_value(struct mss_config *cfg, enum mss_option_id id, const char *value, int line, char *why,
		     size_t whylen)
{
	const struct mss_option *opt = &mss_options[id];
	struct mss_config_value *v = &cfg->values[id];
	long long num = 0, min, max;
	bool b;
	char *copy;

	switch (opt->type) {
	case MSS_OPT_STRING:
		break;
	case MSS_OPT_PATH:
		if (value[0] != '/') {
			mss_set_error(why, whylen, "'%s' is not an absolute path", value);
			return -1;
		}
		break;
	case MSS_OPT_INT:
		if (parse_uint(value, strlen(value), &num) < 0) {
			mss_set_error(why, whylen, "'%s' is not a non-negative integer", value);
			return -1;
		}
		if (parse_range(opt->values, &min, &max) == 0 && (num < min || num > max)) {
			mss_set_error(why, whylen, "%lld is out of range %lld..%lld", num, min, max);
			return -1;
		}
		break;
	case MSS_OPT_DURATION:
		if (mss_parse_duration(value, &num) < 0) {
			mss_set_error(why, whylen, "'%s' is not a duration (seconds, or a number followed by s, m, h or d)",
			       value);
			return -1;
		}
		if (parse_range(opt->values, &min, &max) == 0 && (num < min || num > max)) {
			mss_set_error(why, whylen, "%lld seconds is out of range %lld..%lld", num, min, max);
			return -1;
		}
		break;
	case MSS_OPT_BOOL:
		if (mss_parse_bool(value, &b) < 0) {
			mss_set_error(why, whylen, "'%s' is not yes or no", value);
			return -1;
		}
		num = b;
		break;
	case MSS_OPT_ENUM: {
		const char *p = opt->values;
		size_t vlen = strlen(value);
		long long idx = 0;

		num = -1;
		while (p != NULL && *p != '\0') {
			const char *bar = strchr(p, '|');
			size_t wlen = bar != NULL ? (size_t)(bar - p) : strlen(p);

			if (wlen == vlen && strncmp(p, value, vlen) == 0) {
				num = idx;
				break;
			}
			idx++;
			p = bar != NULL ? bar + 1 : NULL;
		}
		if (num < 0) {
			mss_set_error(why, whylen, "'%s' is not one of %s", value, opt->values);
			return -1;
		}
		break;
	}
	case MSS_OPT_LIST: {
		/* Items are trimmed when read; an empty item is a typo worth reporting. */
		const char *p = value;

		for (;;) {
			const char *comma = strchr(p, ',');
			const char *end = comma != NULL ? comma : p + strlen(p);
			const char *q = p;

			while (q < end && isspace((unsigned char)*q))
				q++;
			if (q == end) {
				mss_set_error(why, whylen, "empty item in list '%s'", value);
				return -1;
			}
			if (comma == NULL)
				break;
			p = comma + 1;
		}
		break;
	}
	}
	copy = strdup(value);
	if (copy == NULL) {
		mss_set_error(why, whylen, "out of memory");
		return -1;
	}
	free(v->str);
	v->str = copy;
	v->num = num;
	v->line = line;
	return 0;
}

static int find_option(const char *section, size_t seclen, const char *key, size_t keylen)
{
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		if (strlen(mss_options[i].section) == seclen && memcmp(mss_options[i].section, section, seclen) == 0 &&
		    strlen(mss_options[i].key) == keylen && memcmp(mss_options[i].key, key, keylen) == 0)
			return i;
	}
	return -1;
}

static bool section_known(const char *section, size_t seclen)
{
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		if (strlen(mss_options[i].section) == seclen && memcmp(mss_options[i].section, section, seclen) == 0)
			return true;
	}
	return false;
}

struct mss_config *mss_config_defaults(void)
{
	struct mss_config *cfg = calloc(1, sizeof(*cfg));
	char why[256];

	if (cfg == NULL)
		return NULL;
	for (int i = 0; i < MSS_OPT_COUNT; i++) {
		if (mss_options[i].def == NULL)
			continue;
		if (set_value(cfg, (enum mss_option_id)i, mss_options[i].def, 0, why, sizeof(why)) < 0) {
			/* A bad default is a bug in options.def, caught by the unit tests. */
			mss_config_free(cfg);
			return NULL;
		}
	}
	return cfg;
}

int mss_config_set(struct mss_config *cfg, const char *section, const char *key, const char *value, char *err,
		   size_t errlen)
{
	char why[512];
	int id = find_option(section, strlen(section), key, strlen(key));

	if (id < 0) {
		mss_set_error(err, errlen, "unknown key '%s' in section [%s]", key, section);
		return -1;
	}
	if (value == NULL || value[0] == '\0') {
		free(cfg->values[id].str);
		cfg->values[id].str = NULL;
		cfg->values[id].num = 0;
		return 0;
	}
	if (set_value(cfg, (enum mss_option_id)id, value, 0, why, sizeof(why)) < 0) {
		mss_set_error(err, errlen, "key '%s': %s", key, why);
		return -1;
	}
	return 0;
}

static const char *trim(char *s, char **end_io)
{
	char *end = *end_io;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	while (end > s && (end[-1] == ' ' || end[-1] == '\t' || end[-1] == '\r'))
		end--;
	*end = '\0';
	*end_io = end;
	return s;
}

static int parse_text(struct mss_config *cfg, const char *path, char *text, size_t len, char *err, size_t errlen)
{
	char section[64] = "";
	char why[512];
	char *p = text, *textend = text + len;
	int lineno = 0;

	if (memchr(text, '\0', len) != NULL) {
		const char *nul = memchr(text, '\0', len);
		int nl = 1;

		for (const char *q = text; q < nul; q++)
			nl += *q == '\n';
		mss_set_error(err, errlen, "%s:%d: NUL byte in configuration", path, nl);
		return -1;
	}
	while (p < textend) {
		char *nl = memchr(p, '\n', (size_t)(textend - p));
		char *end = nl != NULL ? nl : textend;
		const char *line;
		char *eq;

		lineno++;
		if (end - p > MSS_CONFIG_MAX_LINE) {
			mss_set_error(err, errlen, "%s:%d: line longer than %d bytes", path, lineno, MSS_CONFIG_MAX_LINE);
			return -1;
		}
		line = trim(p, &end);
		p = nl != NULL ? nl + 1 : textend;
		if (line[0] == '\0' || line[0] == '#' || line[0] == ';')
			continue;
		if (line[0] == '[') {
			size_t sl = strlen(line);

			if (line[sl - 1] != ']' || sl < 3 || sl - 2 >= sizeof(section)) {
				mss_set_error(err, errlen, "%s:%d: malformed section header '%s'", path, lineno, line);
				return -1;
			}
			memcpy(section, line + 1, sl - 2);
			section[sl - 2] = '\0';
			if (!section_known(section, sl - 2)) {
				mss_set_error(err, errlen, "%s:%d: unknown section [%s]", path, lineno, section);
				return -1;
			}
			continue;
		}
		eq = strchr(line, '=');
		if (eq == NULL) {
			mss_set_error(err, errlen, "%s:%d: expected 'key = value', got '%.80s'", path, lineno, line);
			return -1;
		}
		{
			char *kend = eq;
			char *vend = end;
			const char *key = trim((char *)line, &kend);
			const char *value = trim(eq + 1, &vend);
			int id;

			if (key[0] == '\0') {
				mss_set_error(err, errlen, "%s:%d: missing key before '='", path, lineno);
				return -1;
			}
			if (section[0] == '\0') {
				mss_set_error(err, errlen, "%s:%d: key '%s': outside of any [section]", path, lineno, key);
				return -1;
			}
			id = find_option(section, strlen(section), key, strlen(key));
			if (id < 0) {
				mss_set_error(err, errlen, "%s:%d: key '%s': unknown in section [%s]", path, lineno, key,
				       section);
				return -1;
			}
			if (cfg->values[id].line > 0) {
				mss_set_error(err, errlen, "%s:%d: key '%s': already set at line %d", path, lineno, key,
				       cfg->values[id].line);
				return -1;
			}
			for (const char *c = value; *c != '\0'; c++) {
				if ((unsigned char)*c < 0x20 && *c != '\t') {
					mss_set_error(err, errlen, "%s:%d: key '%s': control character in value", path,
					       lineno, key);
					return -1;
				}
			}
			if (value[0] == '\0') {
				/* `key =` clears a default: the feature it configures is then off. */
				free(cfg->values[id].str);
				cfg->values[id].str = NULL;
				cfg->values[id].num = 0;
				cfg->values[id].line = lineno;
				continue;
			}
			if (set_value(cfg, (enum mss_option_id)id, value, lineno, why, sizeof(why)) < 0) {
				mss_set_error(err, errlen, "%s:%d: key '%s': %s", path, lineno, key, why);
				return -1;
			}
		}
	}
	return 0;
}

static int check_consistency(struct mss_config *cfg, const char *path, char *err, size_t errlen)
{
	if (mss_config_num(cfg, MSS_OPT_NSS_UID_MIN) > mss_config_num(cfg, MSS_OPT_NSS_UID_MAX)) {
		mss_set_error(err, errlen, "%s:%d: key 'uid_min': greater than uid_max", path,
		       cfg->values[MSS_OPT_NSS_UID_MIN].line);
		return -1;
	}
	return 0;
}

/* Parses TEXT (from PATH, for messages) over the defaults. */
static int load_text(const char *path, char *text, size_t len, struct mss_config **cfg_r, char *err, size_t errlen)
{
	struct mss_config *cfg = mss_config_defaults();

	if (cfg == NULL) {
		mss_set_error(err, errlen, "out of memory");
		return -1;
	}
	if (path != NULL && (cfg->path = strdup(path)) == NULL) {
		mss_set_error(err, errlen, "out of memory");
		goto fail;
	}
	if (text != NULL && parse_text(cfg, path, text, len, err, errlen) < 0)
		goto fail;
	if (check_consistency(cfg, path != NULL ? path : "(defaults)", err, errlen) < 0)
		goto fail;
	*cfg_r = cfg;
	return 0;
fail:
	mss_config_free(cfg);
	return -1;
}

int mss_config_load(const char *path, struct mss_config **cfg_r, char *err, size_t errlen)
{
	char *text = NULL;
	size_t len = 0;
	int fd, ret;

	mss_set_error(err, errlen, "no error");
	*cfg_r = NULL;
	if (path != NULL) {
		/* O_NOFOLLOW: a configuration is never a symlink an unprivileged user could swap. */
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NOFOLLOW | O_NONBLOCK);
		if (fd < 0) {
			mss_set_error(err, errlen, "%s: cannot open: %s", path,
			       errno == ELOOP ? "is a symbolic link" : strerror(errno));
			return -1;
		}
		ret = mss_read_fd(fd, path, MSS_CONFIG_MAX_BYTES, &text, &len, err, errlen);
		close(fd);
		if (ret < 0)
			return -1;
	}
	ret = load_text(path, text, len, cfg_r, err, errlen);
	free(text);
	return ret;
}

int mss_config_load_fd(int fd, const char *name, struct mss_config **cfg_r, char *err, size_t errlen)
{
	char *text;
	size_t len;
	int ret;

	mss_set_error(err, errlen, "no error");
	*cfg_r = NULL;
	if (mss_read_fd(fd, name, MSS_CONFIG_MAX_BYTES, &text, &len, err, errlen) < 0)
		return -1;
	ret = load_text(name, text, len, cfg_r, err, errlen);
	free(text);
	return ret;
}

void mss_config_free(struct mss_config *cfg)
{
	if (cfg == NULL)
		return;
	for (int i = 0; i < MSS_OPT_COUNT; i++)
		free(cfg->values[i].str);
	free(cfg->path);
	free(cfg);
}

const char *mss_config_str(const struct mss_config *cfg, enum mss_option_id id)
{
	return cfg->values[id].str;
}

long long mss_config_num(const struct mss_config *cfg, enum mss_option_id id)
{
	return cfg->values[id].num;
}

bool mss_config_bool(const struct mss_config *cfg, enum mss_option_id id)
{
	return cfg->values[id].str != NULL && cfg->values[id].num != 0;
}

bool mss_config_list_has(const struct mss_config *cfg, enum mss_option_id id, const char *item)
{
	const char *p = cfg->values[id].str;
	size_t ilen = strlen(item);

	while (p != NULL && *p != '\0') {
		const char *comma = strchr(p, ',');
		const char *end = comma != NULL ? comma : p + strlen(p);

		while (p < end && isspace((unsigned char)*p))
			p++;
		while (end > p && isspace((unsigned char)end[-1]))
			end--;
		if ((size_t)(end - p) == ilen && strncasecmp(p, item, ilen) == 0)
			return true;
		p = comma != NULL ? comma + 1 : NULL;
	}
	return false;
}
