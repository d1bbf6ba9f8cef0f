/* Logging: syslog for daemons and modules, stderr for command-line tools. */
#ifndef MSS_LOG_H
#define MSS_LOG_H

#include <syslog.h>

enum mss_log_target {
	MSS_LOG_STDERR = 1 << 0,
	MSS_LOG_SYSLOG = 1 << 1,
};

/* ident is kept by reference (static string). Modules loaded into foreign processes
   (NSS) never call this: they never log to stderr. */
void mss_log_init(const char *ident, unsigned targets);
void mss_log_set_debug(int on);
void mss_log(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
#define mss_error(...) mss_log(LOG_ERR, __VA_ARGS__)
#define mss_warning(...) mss_log(LOG_WARNING, __VA_ARGS__)
#define mss_info(...) mss_log(LOG_INFO, __VA_ARGS__)
#define mss_debug(...) mss_log(LOG_DEBUG, __VA_ARGS__)

#endif
