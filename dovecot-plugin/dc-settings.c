/* Settings of the Dovecot plugin: mssante.conf plus a few Dovecot-style per-key overrides,
   and the rights vocabulary of `[dovecot] org_delegate_rights`. No Dovecot header here. */
#include "mss-dovecot.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

static const struct {
	enum mss_dc_right right;
	const char *name;
} right_names[] = {
	{MSS_DC_RIGHT_READ, "read"},	   {MSS_DC_RIGHT_FLAG, "flag"},	      {MSS_DC_RIGHT_MOVE, "move"},
	{MSS_DC_RIGHT_EXPUNGE, "expunge"}, {MSS_DC_RIGHT_APPEND, "append"}, {MSS_DC_RIGHT_MAILBOX, "mailbox"},
};
#define N_RIGHTS (sizeof(right_names) / sizeof(right_names[0]))

const char *mss_dc_right_name(enum mss_dc_right r)
{
	for (size_t i = 0; i < N_RIGHTS; i++)
		if (right_names[i].right == r)
			return right_names[i].name;
	return "unknown";
}

int mss_dc_rights_parse(const char *list, unsigned *rights_r, char *err, size_t errlen)
{
	unsigned rights = 0;
	const char *p = list != NULL ? list : "";

	while (*p != '\0') {
		const char *end = strchr(p, ',');
		size_t len;
		bool known = false;

		if (end == NULL)
			end = p + strlen(p);
		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		len = (size_t)(end - p);
		while (len > 0 && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (len > 0) {
			for (size_t i = 0; i < N_RIGHTS; i++) {
				if (strlen(right_names[i].name) == len && strncasecmp(p, right_names[i].name, len) == 0) {
					rights |= (unsigned)right_names[i].right;
					known = true;
				}
			}
			if (!known) {
				snprintf(err, errlen,
					 "unknown right '%.*s' (known: read, flag, move, expunge, append, mailbox)",
					 (int)(len > 64 ? 64 : len), p);
				return -1;
			}
		}
		p = *end == ',' ? end + 1 : end;
	}
	*rights_r = rights;
	return 0;
}

const char *mss_dc_method_name(enum mss_dc_method m)
{
	switch (m) {
	case MSS_DC_METHOD_SYSTEM:
		return "system";
	case MSS_DC_METHOD_PASSWORD:
		return "password";
	case MSS_DC_METHOD_MASTER:
		return "master";
	case MSS_DC_METHOD_PASSDB:
		return "passdb";
	case MSS_DC_METHOD_PSC:
		return "psc";
	case MSS_DC_METHOD_CERTIFICATE:
		return "certificate";
	}
	return "unknown";
}

/* Dovecot setting name -> mssante.conf key it overrides. */
static const struct {
	const char *setting, *section, *key;
} overrides[] = {
	{"mssante_snapshot", "directory", "snapshot"},
	{"mssante_audit_directory", "audit", "directory"},
	{"mssante_org_delegate_rights", "dovecot", "org_delegate_rights"},
	{"mssante_cab_delegate_rights", "dovecot", "cab_delegate_rights"},
	{"mssante_services", "dovecot", "services"},
	{"mssante_audit_sync", "dovecot", "audit_sync"},
};

int mss_dc_settings_load(mss_dc_lookup_fn *lookup, void *ctx, struct mss_config **cfg_r, char *err, size_t errlen)
{
	struct mss_config *cfg = NULL;
	const char *path = lookup(ctx, "mssante_config");
	char why[512];
	unsigned rights;

	*cfg_r = NULL;
	if (path == NULL || path[0] == '\0')
		path = mss_config_default_path();
	if (mss_config_load(path, &cfg, why, sizeof(why)) < 0) {
		snprintf(err, errlen, "mssante_config: %s", why);
		return -1;
	}
	for (size_t i = 0; i < sizeof(overrides) / sizeof(overrides[0]); i++) {
		const char *value = lookup(ctx, overrides[i].setting);

		if (value == NULL)
			continue;
		if (mss_config_set(cfg, overrides[i].section, overrides[i].key, value, why, sizeof(why)) < 0) {
			snprintf(err, errlen, "%s: %s", overrides[i].setting, why);
			mss_config_free(cfg);
			return -1;
		}
	}
	/* Bad rights are a configuration error found at login, not a silent "no rights". */
	if (mss_dc_rights_parse(mss_config_str(cfg, MSS_OPT_DOVECOT_ORG_DELEGATE_RIGHTS), &rights, why,
				sizeof(why)) < 0 ||
	    mss_dc_rights_parse(mss_config_str(cfg, MSS_OPT_DOVECOT_CAB_DELEGATE_RIGHTS), &rights, why,
				sizeof(why)) < 0) {
		snprintf(err, errlen, "%s: [dovecot] delegate rights: %s", cfg->path != NULL ? cfg->path : path, why);
		mss_config_free(cfg);
		return -1;
	}
	*cfg_r = cfg;
	return 0;
}
