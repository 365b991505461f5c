/* Resolver library calls: loads bpf/resolver.bpf.c, finds every C library file on the host and
 * attaches the uprobes once per file, and follows new programs as they exec. The records go to
 * the capture's ring buffer; agent/call.c decodes them. */
#ifndef DNSVIGIL_RESOLVER_H
#define DNSVIGIL_RESOLVER_H

#include <stdint.h>

#include "dnsvigil.h"

struct wire;
struct resolver;

struct resolver_stats {
	uint64_t libc_files;          /* C library files with functions attached */
	uint64_t attach_failures;     /* functions not attached, library files not read */
	uint64_t exec_checks;         /* new programs whose libraries were looked at */
	uint64_t exec_checks_dropped; /* ... not looked at again: the recheck queue was full */
};

/* Loads the programs into the capture's maps (one ring buffer, one socket owner table: calls
 * and packets share call ids), attaches the exec tracepoint, then reads <proc_root>/PID/maps
 * of every process and attaches to each C library file found. proc_root must outlive r.
 * Returns 0 with *out set, or a negative errno after logging why. */
int resolver_open(struct wire *w, const char *proc_root, struct resolver **out);
void resolver_close(struct resolver *r);

/* A DV_REC_EXEC record: looks at the program's libraries now and, while it has no C library
 * mapped yet (glibc's ld.so maps libc.so.6 after exec), again from resolver_tick. now_ns is
 * CLOCK_MONOTONIC. */
void resolver_exec(struct resolver *r, const struct dv_exec_rec *rec, uint64_t now_ns);
/* The rechecks that are due. */
void resolver_tick(struct resolver *r, uint64_t now_ns);

const struct resolver_stats *resolver_stats(const struct resolver *r);

#endif
