/* mssctl: the administrator's tool. Exit codes: 0 ok, 1 finding / not found, 2 usage,
   configuration or operational error. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "log.h"
#include "mssctl.h"
#include "sync.h"

static void usage(FILE *out)
{
	fprintf(out,
		"usage: mssctl [-c CONF] COMMAND [ARGS]\n"
		"commands:\n"
		"  sync [--trust-list FILE] [--extraction FILE] [--no-ldap] [--output FILE] [--force] [--json]\n"
		"                     build the directory snapshot and publish it atomically\n"
		"  lookup [--snapshot FILE] [--json] (domain DOMAIN | bal ADDRESS | person IDNAT | uid N)\n"
		"                     look something up in the snapshot\n"
		"  check [--config-only] [--postfix DIR] [--dovecot FILE] [--nsswitch FILE] [--pam-dir DIR]\n"
		"                     validate the configuration and the wiring of Postfix, Dovecot, NSS, PAM\n"
		"  audit verify [--json] FILE...\n"
		"                     check the hash chain of audit files (oldest first)\n"
		"  audit report --month YYYY-MM [--json] FILE...\n"
		"                     the month's usage figures\n"
		"  audit inactive --days N [--json] [--snapshot FILE] FILE...\n"
		"                     BALs with no successful authentication for N days\n"
		"  dump-options (--conf | --man)\n"
		"                     print the option table as a commented mssante.conf or as man page text\n"
		"Exit status: 0 ok, 1 not found or finding, 2 usage, configuration or operational error.\n"
		"Configuration: -c FILE, else $MSSANTE_CONF, else /etc/mssante/mssante.conf (defaults when absent).\n");
}

/* -c FILE must exist; the default path may be absent, then the built-in defaults apply. */
int mssctl_load_config(const char *path, struct mss_config **cfg_r)
{
	char err[1024];
	const char *p = path != NULL ? path : mss_config_default_path();

	if (path == NULL && access(p, F_OK) != 0 && errno == ENOENT) {
		*cfg_r = mss_config_defaults();
		if (*cfg_r == NULL) {
			mss_error("out of memory");
			return -1;
		}
		return 0;
	}
	if (mss_config_load(p, cfg_r, err, sizeof(err)) < 0) {
		mss_error("%s", err);
		return -1;
	}
	return 0;
}

static int cmd_sync(const char *conf, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"trust-list", required_argument, NULL, 't'}, {"extraction", required_argument, NULL, 'x'},
		{"no-ldap", no_argument, NULL, 'n'},	      {"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},	      {"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},	      {NULL, 0, NULL, 0},
	};
	struct mss_sync_options opt = {0};
	struct mss_sync_report rep;
	struct mss_config *cfg;
	char err[2048] = "";
	bool json = false;
	int c, ret;

	optind = 1;
	while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (c) {
		case 't': opt.trust_list = optarg; break;
		case 'x': opt.extraction = optarg; break;
		case 'n': opt.no_ldap = true; break;
		case 'o': opt.output = optarg; break;
		case 'f': opt.force = true; break;
		case 'j': json = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return MSSCTL_ERROR;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return MSSCTL_ERROR;
	}
	if (mssctl_load_config(conf, &cfg) < 0)
		return MSSCTL_ERROR;
	if (mssctl_refresh_auth_files(cfg) < 0) {
		mss_error("sync failed, published snapshot unchanged");
		mss_config_free(cfg);
		return MSSCTL_ERROR;
	}
	ret = mss_sync_run(cfg, &opt, &rep, err, sizeof(err));
	if (ret < 0) {
		mss_error("sync failed, published snapshot unchanged: %s", err);
		mss_config_free(cfg);
		return MSSCTL_ERROR;
	}
	mssctl_print_sync_report(&rep, opt.output != NULL ? opt.output : mss_config_str(cfg, MSS_OPT_DIRECTORY_SNAPSHOT),
				 json);
	mss_config_free(cfg);
	return MSSCTL_OK;
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	int c;

	mss_log_init("mssctl", MSS_LOG_STDERR);
	/* Global options stop at the command name. */
	while ((c = getopt(argc, argv, "+c:hv")) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 'v': mss_log_set_debug(1); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return MSSCTL_ERROR;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return MSSCTL_ERROR;
	}
	argc -= optind;
	argv += optind;
	if (strcmp(argv[0], "sync") == 0)
		return cmd_sync(conf, argc, argv);
	if (strcmp(argv[0], "lookup") == 0)
		return mssctl_lookup(conf, argc, argv);
	if (strcmp(argv[0], "check") == 0)
		return mssctl_check(conf, argc, argv);
	if (strcmp(argv[0], "audit") == 0)
		return mssctl_audit(conf, argc, argv);
	if (strcmp(argv[0], "dump-options") == 0)
		return mssctl_dump_options(argc, argv);
	fprintf(stderr, "mssctl: unknown command '%s'\n", argv[0]);
	usage(stderr);
	return MSSCTL_ERROR;
}
