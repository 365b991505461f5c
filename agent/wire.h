/* Wire capture: loads and attaches the cgroup programs, consumes the ring buffer. */
#ifndef DNSVIGIL_WIRE_H
#define DNSVIGIL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsvigil.h"
#include "stats.h"

struct features;

struct wire_opts {
	uint16_t ports[DV_MAX_PORTS]; /* 0 = unused slot */
	size_t ringbuf_bytes;         /* power of two, >= page size */
	const char *cgroup_path;      /* NULL: the cgroup v2 root, found or mounted */
	const struct features *features; /* which variant of each program to load */
};

/* Called for a ring-buffer record of the kind it was set for (wire_on), in ring order: a
 * struct dv_pkt, dv_owner_rec, dv_call_rec or dv_exec_rec by its first byte (enum
 * dv_record_kind), size checked against the kind. */
typedef void (*wire_record_fn)(void *ctx, const void *rec);

struct wire;

/* Loads the programs once, in the variants opts->features chose, and attaches them. Returns 0
 * with *out set, or a negative errno after logging why (a program the verifier refused: with
 * its log, through libbpf's print callback). */
int wire_open(const struct wire_opts *opts, struct wire **out);
/* Where records of one kind go, set before the first wire_consume. Only the programs of a
 * component that set its handler (capture, resolver) produce a kind: no record goes
 * unhandled. */
void wire_on(struct wire *w, enum dv_record_kind kind, wire_record_fn fn, void *ctx);
/* Detaches everything (links are not pinned) and frees. */
void wire_close(struct wire *w);

/* Records one wire_consume() hands over at most, so that the caller's periodic work
 * (timeouts, stats, flushing) keeps its pace while the kernel keeps producing. */
#define WIRE_BATCH 8192

/* Readable when the kernel woke the consumer (an epoll fd of the ring buffer), for the
 * caller's poll set. Producers skip wakeups for small batches: consume on timeouts too. */
int wire_fd(const struct wire *w);
/* Consumes up to WIRE_BATCH waiting records without blocking. Returns records consumed
 * (WIRE_BATCH: more may wait, consume again without sleeping) or a negative errno. */
int wire_consume(struct wire *w);

/* Declares records (consumed), kernel_drops (per reason, summed over CPUs) and
 * ringbuf_drops_per_cpu, read from the kernel's drop map when stats are due. */
void wire_stats(struct wire *w, struct stats_registry *reg);

/* Makes the not yet loaded obj use the capture's maps of the same names (events, sock_owner,
 * drops, active_calls): one ring buffer and one owner table for every program. */
struct bpf_object;
int wire_share_maps(const struct wire *w, struct bpf_object *obj);

int wire_owner_lookup(struct wire *w, uint64_t cookie, struct dv_owner *owner);
/* Records an owner found in /proc; never overwrites what a kernel hook recorded. */
int wire_owner_add(struct wire *w, uint64_t cookie, const struct dv_owner *owner);

/* The variants loaded, for the startup log and the stats. */
struct wire_features {
	bool task_helpers_in_sock_hooks;
	bool task_helpers_in_egress;
	const char *cgroup_path;
};
const struct wire_features *wire_features(const struct wire *w);

#endif
