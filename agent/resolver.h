/* Resolver library calls: loads bpf/resolver.bpf.c and attaches its uprobes once per C library
 * file (by device and inode: uprobes attach to inodes). Files are found before any program
 * uses them, in the library directories of the host and of container image stores (watched:
 * agent/libwatch.c), and in the maps of running programs and of new ones as they exec
 * (agent/exechook.c). The records go to the capture's ring buffer; agent/call.c decodes them. */
#ifndef DNSVIGIL_RESOLVER_H
#define DNSVIGIL_RESOLVER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsvigil.h"
#include "exechook.h"
#include "libwatch.h"
#include "stats.h"

struct features;
struct wire;
struct resolver;

struct resolver_opts {
	const char *proc_root;          /* procfs of the agent's pid namespace; outlives r */
	enum exechook_kind exec_hook;   /* EXECHOOK_AUTO: the first the kernel allows */
	const char *const *lib_roots;   /* watched besides libwatch_default_roots */
	size_t n_lib_roots;
	const struct features *features; /* uprobe_multi or per-function programs */
};

/* Loads the programs into the capture's maps (one ring buffer, one socket owner table: calls
 * and packets share call ids) and attaches, in this order so that nothing slips between a
 * scan and its hook: the exec hook, the directory watches, the uprobes on every C library
 * file in those directories, then on those mapped by running programs. A missing exec hook
 * or directory watch is logged with what it costs and the rest goes on. The wire's DV_REC_EXEC
 * records come here: a new program's libraries are looked at at once and, while it has no C
 * library mapped yet (glibc's ld.so maps libc.so.6 after exec), again from resolver_tick.
 * Returns 0 with *out set, or a negative errno after logging why (the programs cannot be
 * loaded, proc_root cannot be read). */
int resolver_open(struct wire *w, const struct resolver_opts *opts, struct resolver **out);
void resolver_close(struct resolver *r);

/* Readable when a watched library directory changed (for the caller's poll set), or -1 when
 * none is watched. */
int resolver_fd(const struct resolver *r);
/* Attaches to the library files that appeared, detaches from those removed (once no process
 * maps them), a batch at a time without blocking. True when more may be pending: call again
 * without waiting for resolver_fd. */
bool resolver_watch(struct resolver *r);

/* The rechecks of new programs that are due (see resolver_open), and the removed files
 * to look at. */
void resolver_tick(struct resolver *r, uint64_t now_ns);

/* Declares the resolver_* counters; r NULL (calls not traced) reports zeros and a null
 * resolver_exec_hook. */
void resolver_stats(struct resolver *r, struct stats_registry *reg);

#endif
