/* Stages: what happens to an event between capture and the sinks, one small interface like
 * the sinks'. The pipeline runs them in order: stage_owner (waits for socket owners),
 * stage_match (queries and responses), stage_origin (a stub's client), stage_proc (/proc),
 * stage_correlate (findings); shipping is a sink. A stage gets every event once, in capture
 * order, may fill fields in, and passes it on at once, later (an owned copy, event_clone),
 * or not at all; it may pass on events of its own (timeouts). */
#ifndef DNSVIGIL_STAGE_H
#define DNSVIGIL_STAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "stats.h"

/* Where a stage passes events: the stages after it, then the sinks. */
struct stage_out {
	void (*pass)(const struct stage_out *out, struct event *ev);
	void *pipeline;
	size_t next; /* the index of the stage after this one */
};

static inline void stage_pass(const struct stage_out *out, struct event *ev)
{
	out->pass(out, ev);
}

struct stage;

struct stage_ops {
	/* ev is borrowed for the call. */
	void (*on_event)(struct stage *s, struct event *ev, const struct stage_out *out);
	/* Periodic work; now_ns is CLOCK_MONOTONIC. at_exit: the last call, pass on everything
	 * held. NULL: nothing periodic. */
	void (*tick)(struct stage *s, uint64_t now_ns, bool at_exit, const struct stage_out *out);
	/* SIGHUP: read configuration files again (a failure keeps what was read before).
	 * NULL: none. */
	void (*reload)(struct stage *s);
	/* Declares the stage's counters, once, before the first event. NULL: none. */
	void (*stats)(struct stage *s, struct stats_registry *reg);
	void (*free)(struct stage *s);
};

struct stage {
	const struct stage_ops *ops;
};

/* The owner of a socket, asked when a packet arrived without one: fills *who (identity
 * fields: pid, tid, uid, gid, comm, cgroup_id) and returns true, or false when nobody is
 * known yet. */
typedef bool (*owner_lookup_fn)(void *ctx, uint64_t socket_cookie, struct proc_info *who);

/* The stages, in the order the pipeline runs them. Each returns NULL with errno set. */

/* A DNS message whose socket has no known owner yet waits, as an owned event, until a hook
 * or the lookup names one (or PARK time passes: then it goes on unattributed, counted).
 * Messages that depend on a waiting one (same socket, or the same question, which a stub's
 * upstream query shares with the client query it forwards) wait behind it, so that every
 * stage sees them in capture order. lookup may be NULL. */
struct stage *stage_owner_new(owner_lookup_fn lookup, void *lookup_ctx);
/* Latency on responses, timeout events for unanswered queries (match.h). */
struct stage *stage_match_new(uint64_t timeout_ns, size_t max_pending);
/* origin on a local stub's upstream query and its response (origin.h). */
struct stage *stage_origin_new(void);
/* What /proc knows of process and origin (proc.h); proc_root outlives the stage. */
struct stage *stage_proc_new(const char *proc_root);
struct correlate_stage_opts;
/* Findings on lookups (correlate.h), with Debian's Public Suffix List, the threat intel under
 * the intel paths (reloaded on SIGHUP and when a file changes), and with a state directory
 * the passive DNS store and nameserver infrastructure (pdns.h, nsinfra.h). NULL with errno
 * set: the list, the intel or the store did not open (logged: file:line: reason). */
struct stage *stage_correlate_new(const struct correlate_stage_opts *opts);

static inline void stage_free(struct stage *s)
{
	if (s)
		s->ops->free(s);
}

#endif
