#include "log.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

bool log_verbose;
const char *log_ident = "dnsvigil";

static void vlog(const char *level, int errnum, const char *fmt, va_list ap)
{
	char msg[1024];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	if (errnum)
		fprintf(stderr, "%s: %s%s: %s\n", log_ident, level, msg, strerror(errnum));
	else
		fprintf(stderr, "%s: %s%s\n", log_ident, level, msg);
}

#define LOG_BODY(level, errnum)            \
	do {                               \
		va_list ap;                \
		va_start(ap, fmt);         \
		vlog(level, errnum, fmt, ap); \
		va_end(ap);                \
	} while (0)

void log_warn(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY("warning: ", saved);
}

void log_warnx(const char *fmt, ...)
{
	LOG_BODY("warning: ", 0);
}

void log_info(const char *fmt, ...)
{
	LOG_BODY("", 0);
}

void log_debug(const char *fmt, ...)
{
	if (!log_verbose)
		return;
	LOG_BODY("debug: ", 0);
}

void fatal(const char *fmt, ...)
{
	int saved = errno;
	LOG_BODY("fatal: ", saved);
	exit(1);
}

void fatalx(const char *fmt, ...)
{
	LOG_BODY("fatal: ", 0);
	exit(1);
}
