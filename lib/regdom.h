/* Registered domains (eTLD+1) from the Public Suffix List, through libpsl: what the
 * correlation groups names by (one owner's zone: the nameserver infrastructure of
 * example.co.uk, not of co.uk) and what a finding names.
 *
 * The list is Debian's (package publicsuffix, /usr/share/publicsuffix), or libpsl's built-in
 * copy when that is newer; the private section counts (x.github.io is its own registered
 * domain). A name under a suffix the list does not know falls under the list's default rule:
 * its last label is the suffix. Read-only once open: lookups are thread-safe. */
#ifndef DNSVIGIL_REGDOM_H
#define DNSVIGIL_REGDOM_H

#include <stddef.h>

/* A registered domain: a DNS name in presentation form without trailing dot. */
#define REGDOM_NAME_MAX 254

struct regdom;

/* Opens the list in file (a .dafsa or .dat), or with file NULL the newest of Debian's and
 * libpsl's own. 0 and *out, or -ENOENT (logged) when no list loads. */
int regdom_open(const char *file, struct regdom **out);
void regdom_free(struct regdom *r);

/* The registered domain of name (any case, trailing dot or not) in buf, lower case, without
 * the dot. 0; -ENOENT when name has none (it is a public suffix itself, or empty);
 * -EINVAL for a name with an empty label; -ENAMETOOLONG when it does not fit. */
int regdom_of(const struct regdom *r, const char *name, char *buf, size_t size);

#endif
