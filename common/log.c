/* Logging to syslog and/or stderr. Kept tiny: it is linked into modules loaded by
   foreign processes, which call mss_log only when they chose syslog. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

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
		/* One line, one write(2): stderr is unbuffered, and lines of several threads or
		   processes sharing the file must not interleave. */
		static const char *const names[] = {"emerg", "alert", "crit", "error",
						    "warning", "notice", "info", "debug"};
		char line[4096]; /* the text, cut if longer, then '\n' */
		size_t room = sizeof(line) - 1, len;
		int n = snprintf(line, room, "%s: %s: ", log_ident, names[priority & 7]);

		if (n < 0)
			n = 0, line[0] = '\0';
		va_start(ap, fmt);
		if ((size_t)n < room)
			(void)vsnprintf(line + n, room - (size_t)n, fmt, ap);
		va_end(ap);
		len = strlen(line);
		if (len == room - 1)
			memcpy(line + len - 3, "...", 3); /* cut: say so */
		line[len++] = '\n';
		fwrite(line, 1, len, stderr);
	}
}
