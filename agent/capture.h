/* Kernel records into events: packet chunks reassembled (chunks.h), TCP streams reassembled
 * (tcpre.h), DNS parsed, resolver call records decoded (call.h), owner notices; each event
 * goes to the pipeline. No libbpf here: tests feed canned records. */
#ifndef DNSVIGIL_CAPTURE_H
#define DNSVIGIL_CAPTURE_H

#include <stdint.h>

#include "dnsvigil.h"
#include "pipeline.h"
#include "stats.h"

struct capture;

/* Declares its counters in reg. 0 or -ENOMEM. */
int capture_new(struct pipeline *p, struct stats_registry *reg, struct capture **out);
void capture_free(struct capture *c);

/* wire_record_fn handlers, one per record kind: struct dv_pkt, dv_call_rec, dv_owner_rec. */
void capture_packet(void *ctx, const void *rec);
void capture_call(void *ctx, const void *rec);
void capture_owner(void *ctx, const void *rec);

/* The event model's identity of a kernel owner record (pid, tid, uid, gid, comm, cgroup id;
 * the rest unknown until stage_proc). */
void owner_identity(const struct dv_owner *owner, struct proc_info *who);

/* Periodic work (now_ns CLOCK_MONOTONIC): TCP holes and idle streams, packets missing a
 * chunk. */
void capture_tick(struct capture *c, uint64_t now_ns);

#endif
