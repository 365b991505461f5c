/* Wire capture: loads and attaches the cgroup programs, consumes the ring buffer. */
#ifndef DNSVIGIL_WIRE_H
#define DNSVIGIL_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dnsvigil.h"

struct features;

struct wire_opts {
	uint16_t ports[DV_MAX_PORTS]; /* 0 = unused slot */
	size_t ringbuf_bytes;         /* power of two, >= page size */
	const char *cgroup_path;      /* NULL: the cgroup v2 root, found or mounted */
	const struct features *features; /* which variant of each program to load */
};

/* Called for every ring-buffer record, in ring order: a struct dv_pkt, dv_owner_rec,
 * dv_call_rec or dv_exec_rec by its first byte (enum dv_record_kind), size checked against the
 * kind. */
typedef void (*wire_record_fn)(void *ctx, const void *rec);

struct wire;

/* Loads the programs once, in the variants opts->features chose, and attaches them. Returns 0
 * with *out set, or a negative errno after logging why (a program the verifier refused: with
 * its log, through libbpf's print callback). */
int wire_open(const struct wire_opts *opts, wire_record_fn fn, void *ctx, struct wire **out);
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

/* Drop counters per reason summed over CPUs, and per CPU for ring-buffer reservations.
 * per_cpu gets at most max_cpus entries; returns the number of CPUs or a negative errno. */
int wire_read_drops(struct wire *w, uint64_t totals[DV_DROP_NR], uint64_t *per_cpu_ringbuf,
		    int max_cpus);

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
