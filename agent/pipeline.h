/* The agent's one-way flow: ring-buffer records -> packets -> DNS messages (TCP reassembled)
 * -> parse -> match -> enrich -> sinks. */
#ifndef DNSVIGIL_PIPELINE_H
#define DNSVIGIL_PIPELINE_H

#include <stdint.h>

#include "dnsvigil.h"
#include "sink.h"

struct wire;

struct pipeline_opts {
	uint64_t query_timeout_ns;
	uint64_t stats_interval_ns; /* 0: no stats events */
	const char *proc_root;
	struct sink **sinks;
	int n_sinks;
};

struct pipeline;

int pipeline_new(const struct pipeline_opts *opts, struct pipeline **out);
void pipeline_free(struct pipeline *p);
/* The capture the pipeline asks about socket owners and kernel drop counters. Seeds its
 * owner map with the sockets that exist now. */
void pipeline_attach_wire(struct pipeline *p, struct wire *w);
/* The resolver call tracing that exec records go to (NULL: none). */
struct resolver;
void pipeline_attach_resolver(struct pipeline *p, struct resolver *r);
/* wire_record_fn: one ring-buffer record. */
void pipeline_record(void *ctx, const void *rec);
/* Periodic work after each poll: timeouts, stale state, stats, flushing the sinks. */
void pipeline_tick(struct pipeline *p);
/* At exit: final stats event and flush. */
void pipeline_finish(struct pipeline *p);

#endif
