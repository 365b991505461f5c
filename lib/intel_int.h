/* What lib/intel.c (loading, the index, matching) shares with its parsers: intel_rpz.c (RPZ
 * zone files) and intel_list.c (plain lists, ThreatFox CSV, names and addresses). Not for
 * the module's users: they include intel.h. */
#ifndef DNSVIGIL_INTEL_INT_H
#define DNSVIGIL_INTEL_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "intel.h"

/* Longest line a parser looks at; a longer one is a bad line. */
#define INTEL_LINE_MAX 8192

/* An address or CIDR as loaded: family 4 or 6, the prefix length, the bytes with every bit
 * past the prefix zero. */
struct intel_addr {
	uint8_t family;
	uint8_t plen;
	uint8_t bytes[16];
};

/* What a ThreatFox line adds to its indicator; RPZ and plain lists pass NULL. */
struct intel_extra {
	const char *malware, *tags;
	size_t malware_len, tags_len;
	int confidence; /* 0..100 */
};

/* One file being parsed into the snapshot being built (intel.c's struct intel). */
struct intel_build {
	struct intel *in;
	struct intel_stats *stats; /* the snapshot's */
	const struct intel_opts *opts;
	struct intel_errors *errs;
	const char *path;
	uint16_t file;
	enum intel_format format;
	long file_bad;   /* bad lines of this file so far */
	size_t n_errors; /* messages of the whole load */
};

/* A bad line: counted under reason, logged and kept as "path:line: <fmt>". 0, or -EINVAL
 * once the file has more bad lines than opts->max_bad_lines (the message says so; the parser
 * stops and the load fails). */
int intel__bad(struct intel_build *b, unsigned int line, enum intel_skip reason,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* A line that fails the whole file: logged and kept as "path:line: <fmt>"; -EINVAL. */
int intel__fail(struct intel_build *b, unsigned int line, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* A line skipped for a reason that is not an error (INTEL_SKIP_UNSUPPORTED and after). */
void intel__skip(struct intel_build *b, enum intel_skip reason);

/* Adds an indicator. name: normalised by intel__name_norm, without the "*." of a wildcard
 * (scope says it). extra may be NULL. 0, -E2BIG past opts->max_indicators, -ENOMEM. */
int intel__add_name(struct intel_build *b, unsigned int line, enum intel_kind kind,
		    enum intel_scope scope, enum intel_action action, const char *name,
		    size_t len, const struct intel_extra *extra);
int intel__add_addr(struct intel_build *b, unsigned int line, enum intel_kind kind,
		    enum intel_action action, const struct intel_addr *addr,
		    const struct intel_extra *extra);

/* Grows *buf (*cap elements of size bytes) to hold need, doubling. 0 or -ENOMEM. */
int intel__grow(void **buf, size_t *cap, size_t need, size_t size);
/* Takes path as the file being parsed (its index, its name in messages). 0, -EINVAL past
 * UINT16_MAX files, -ENOMEM. */
int intel__add_file(struct intel_build *b, const char *path);
/* Loads a file or a directory of files (intel_file.c). 0 or a negative errno that fails the
 * load. */
int intel__load_path(struct intel_build *b, const char *path);

/* The next line of [*pos, end): *line and *len, without its "\n" or "\r\n". false at end. */
bool intel__next_line(const char **pos, const char *end, const char **line, size_t *len);

/* intel__next_line for the parsers: counts the line (*lineno, the stats) and hands one over
 * INTEL_LINE_MAX on as empty, reported as a bad line. false at the end, or with *err set when
 * that report fails the file. */
bool intel__take_line(struct intel_build *b, const char **pos, const char *end,
		      unsigned int *lineno, const char **line, size_t *len, int *err);

/* src (len bytes, case as written, an optional trailing dot) lowercased into dst (at least
 * INTEL_NAME_MAX + 1 bytes) without the trailing dot. A leading "*." is dropped and
 * *wildcard set when wildcard is not NULL; else it is invalid. Labels are 1..63 letters,
 * digits, '-' or '_'. The length, or -EINVAL for an invalid name (the root included). */
int intel__name_norm(const char *src, size_t len, char *dst, bool *wildcard);
/* "192.0.2.1", "192.0.2.0/24", "2001:db8::/32" (len bytes) into *a, bits past the prefix
 * cleared. 0 or -EINVAL. */
int intel__parse_cidr(const char *src, size_t len, struct intel_addr *a);
/* Clears the bits of a->bytes past a->plen. */
void intel__mask(struct intel_addr *a);

/* The parsers: each reads one file's bytes [data, data + size). 0, or a negative errno that
 * fails the load (the reason already logged and kept). */
int intel__parse_rpz(struct intel_build *b, const char *data, size_t size);
int intel__parse_list(struct intel_build *b, const char *data, size_t size);
int intel__parse_threatfox(struct intel_build *b, const char *data, size_t size);
/* Whether a comment line is a ThreatFox CSV header (names ioc_value and ioc_type). */
bool intel__is_threatfox_header(const char *line, size_t len);

#endif
