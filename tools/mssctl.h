/* Shared between the mssctl command files. */
#ifndef MSSCTL_H
#define MSSCTL_H

#include <stdbool.h>

struct mss_config;
struct mss_sync_report;

enum { MSSCTL_OK = 0, MSSCTL_NOT_FOUND = 1, MSSCTL_ERROR = 2 };

int mssctl_load_config(const char *path, struct mss_config **cfg_r);
int mssctl_lookup(const char *conf, int argc, char **argv);
int mssctl_check(const char *conf, int argc, char **argv);
int mssctl_dump_options(int argc, char **argv);
/* Downloads, validates and publishes the PSC JWKS and the card CRL when configured. */
int mssctl_refresh_auth_files(const struct mss_config *cfg);
int mssctl_audit(const char *conf, int argc, char **argv);
void mssctl_print_sync_report(const struct mss_sync_report *rep, const char *output, bool json);

#endif
