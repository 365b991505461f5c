/* One small logging interface for the agent (after OpenBSD ntpd's log.h). Everything goes to
 * stderr; log_warn appends strerror(errno). */
#ifndef DNSVIGIL_LOG_H
#define DNSVIGIL_LOG_H

#include <stdbool.h>

extern bool log_verbose;
/* The program name every line starts with: "dnsvigil" unless main sets another. */
extern const char *log_ident;

void log_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_warnx(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void fatal(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
void fatalx(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));

#endif
