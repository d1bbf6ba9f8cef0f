/* Logging to syslog and/or stderr. Kept tiny: it is linked into modules loaded by
   foreign processes, which call mss_log only when they chose syslog. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>

static const char *log_ident = "mssante";
static unsigned log_targets = MSS_LOG_STDERR;
static int log_debug;
static int log_syslog_opened;

void mss_log_init(const char *ident, unsigned targets)
{
	log_ident = ident;
	log_targets = targets;
	if ((targets & MSS_LOG_SYSLOG) && !log_syslog_opened) {
		openlog(ident, LOG_PID | LOG_NDELAY, LOG_MAIL);
		log_syslog_opened = 1;
	}
}

void mss_log_set_debug(int on)
{
	log_debug = on;
}

void mss_log(int priority, const char *fmt, ...)
{
	va_list ap;

	if (priority == LOG_DEBUG && !log_debug)
		return;
	if (log_targets & MSS_LOG_SYSLOG) {
		va_start(ap, fmt);
		vsyslog(priority, fmt, ap);
		va_end(ap);
	}
	if (log_targets & MSS_LOG_STDERR) {
		static const char *const names[] = {"emerg", "alert", "crit", "error",
						    "warning", "notice", "info", "debug"};
		flockfile(stderr);
		fprintf(stderr, "%s: %s: ", log_ident, names[priority & 7]);
		va_start(ap, fmt);
		vfprintf(stderr, fmt, ap);
		va_end(ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
}
