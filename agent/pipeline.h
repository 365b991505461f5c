/* The agent's one-way flow after capture: events -> stages, in order -> sinks, and the
 * periodic stats event. Capture (agent/capture.c) feeds it; it knows nothing of the kernel. */
#ifndef DNSVIGIL_PIPELINE_H
#define DNSVIGIL_PIPELINE_H

#include <stdint.h>

#include "event.h"
#include "sink.h"
#include "stage.h"
#include "stats.h"

#define PIPELINE_MAX_STAGES 16

struct pipeline_opts {
	const char *host;           /* stamped on every event that has none */
	uint64_t stats_interval_ns; /* 0: no stats events */
	struct stage *const *stages; /* run in this order; the pipeline frees them */
	int n_stages;
	struct sink **sinks;        /* the caller frees them, after the pipeline */
	int n_sinks;
	/* Where every module declares its counters; outlives the pipeline. The pipeline
	 * declares uptime_ns first, then the stages', then its own. */
	struct stats_registry *stats;
};

struct pipeline;

/* 0 or a negative errno; on failure the stages are freed all the same. */
int pipeline_new(const struct pipeline_opts *opts, uint64_t now_ns, struct pipeline **out);
void pipeline_free(struct pipeline *p);

/* One captured event (borrowed for the call) through every stage, then the sinks. */
void pipeline_event(struct pipeline *p, struct event *ev);
/* Periodic work after each poll (now_ns CLOCK_MONOTONIC): the stages' ticks, the stats
 * event when due, flushing the sinks. */
void pipeline_tick(struct pipeline *p, uint64_t now_ns);
/* SIGHUP: each stage that reads files reads them again. */
void pipeline_reload(struct pipeline *p);
/* At exit: the stages pass on what they hold, a final stats event, flush. */
void pipeline_finish(struct pipeline *p, uint64_t now_ns);

#endif
