/* Sinks render events from the one event model (lib/event.h) to an output: the agent's and
 * the collector's outputs alike. A sink gets only the event types it can render
 * (event_type_name() not NULL). */
#ifndef DNSVIGIL_SINK_H
#define DNSVIGIL_SINK_H

#include "event.h"

struct sink;

struct sink_ops {
	/* Renders and buffers one event. 0 or a negative errno; a lost event is also counted
	 * in events_lost. */
	int (*write)(struct sink *s, const struct event *ev);
	/* Pushes buffered output to its destination. On failure the buffered events are
	 * dropped and counted in events_lost. */
	int (*flush)(struct sink *s);
	void (*free)(struct sink *s);
};

struct sink {
	const struct sink_ops *ops;
	uint64_t events_lost; /* events the sink accepted but could not deliver */
};

/* JSON lines to path ("-" = stdout), one object per event (the README's schema). */
int sink_jsonl_new(const char *path, struct sink **out);
/* One short human-readable line per DNS/timeout event on stdout, for a person at a terminal. */
int sink_pretty_new(struct sink **out);

static inline int sink_write(struct sink *s, const struct event *ev)
{
	return s->ops->write(s, ev);
}

static inline int sink_flush(struct sink *s)
{
	return s->ops->flush(s);
}

static inline void sink_free(struct sink *s)
{
	if (s)
		s->ops->free(s);
}

#endif
