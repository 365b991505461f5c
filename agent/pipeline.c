#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

#include "clock.h"

struct pipeline {
	struct pipeline_opts opts; /* opts.stages points at stages */
	struct stage *stages[PIPELINE_MAX_STAGES];
	uint64_t start_ns;
	uint64_t last_stats_ns;
	uint64_t uptime_ns;
	uint64_t events_written;   /* events rendered by the sinks (each sink counts) */
	uint64_t sink_events_lost; /* rendered but not delivered: output errors, memory */
};

static void to_sinks(struct pipeline *p, struct event *ev)
{
	uint64_t written = 0;

	if (!event_type_name(ev->type))
		return;
	if (!ev->host)
		ev->host = p->opts.host;
	for (int i = 0; i < p->opts.n_sinks; i++)
		if (!sink_write(p->opts.sinks[i], ev))
			written++;
	/* Counted after the last sink: every sink renders a stats event with the same values. */
	p->events_written += written;
}

/* stage_out.pass: the stages from out->next on, then the sinks. */
static void pass_on(const struct stage_out *out, struct event *ev)
{
	struct pipeline *p = out->pipeline;
	struct stage_out next = { .pass = pass_on, .pipeline = p, .next = out->next + 1 };

	if (out->next < (size_t)p->opts.n_stages) {
		struct stage *s = p->opts.stages[out->next];

		s->ops->on_event(s, ev, &next);
	} else {
		to_sinks(p, ev);
	}
}

void pipeline_event(struct pipeline *p, struct event *ev)
{
	struct stage_out first = { .pass = pass_on, .pipeline = p, .next = 0 };

	pass_on(&first, ev);
}

static void tick_stages(struct pipeline *p, uint64_t now_ns, bool at_exit)
{
	for (int i = 0; i < p->opts.n_stages; i++) {
		struct stage *s = p->opts.stages[i];
		struct stage_out next = { .pass = pass_on, .pipeline = p, .next = i + 1 };

		if (s->ops->tick)
			s->ops->tick(s, now_ns, at_exit, &next);
	}
}

static void count_sinks(void *ctx)
{
	struct pipeline *p = ctx;

	p->sink_events_lost = 0;
	for (int i = 0; i < p->opts.n_sinks; i++)
		p->sink_events_lost += p->opts.sinks[i]->events_lost;
}

static void emit_stats(struct pipeline *p, uint64_t now_ns)
{
	struct event ev = {
		.type = EVENT_STATS,
		.ts_ns = clock_ns(CLOCK_REALTIME),
		.mono_ns = now_ns,
		.process = proc_unknown,
		.stats = p->opts.stats,
	};

	p->uptime_ns = now_ns - p->start_ns;
	stats_refresh(p->opts.stats);
	to_sinks(p, &ev);
	p->last_stats_ns = now_ns;
}

static void flush_sinks(struct pipeline *p)
{
	for (int i = 0; i < p->opts.n_sinks; i++)
		sink_flush(p->opts.sinks[i]);
}

void pipeline_tick(struct pipeline *p, uint64_t now_ns)
{
	tick_stages(p, now_ns, false);
	if (p->opts.stats_interval_ns && now_ns - p->last_stats_ns >= p->opts.stats_interval_ns)
		emit_stats(p, now_ns);
	flush_sinks(p);
}

void pipeline_reload(struct pipeline *p)
{
	for (int i = 0; i < p->opts.n_stages; i++)
		if (p->opts.stages[i]->ops->reload)
			p->opts.stages[i]->ops->reload(p->opts.stages[i]);
}

void pipeline_finish(struct pipeline *p, uint64_t now_ns)
{
	tick_stages(p, now_ns, true);
	if (p->opts.stats_interval_ns)
		emit_stats(p, now_ns);
	flush_sinks(p);
}

static void free_stages(struct stage *const *stages, int n)
{
	for (int i = 0; i < n; i++)
		stage_free(stages[i]);
}

int pipeline_new(const struct pipeline_opts *opts, uint64_t now_ns, struct pipeline **out)
{
	struct pipeline *p = opts->n_stages <= PIPELINE_MAX_STAGES ? calloc(1, sizeof(*p)) : NULL;

	if (!p) {
		free_stages(opts->stages, opts->n_stages);
		return opts->n_stages <= PIPELINE_MAX_STAGES ? -ENOMEM : -E2BIG;
	}
	p->opts = *opts;
	for (int i = 0; i < opts->n_stages; i++)
		p->stages[i] = opts->stages[i];
	p->opts.stages = p->stages;
	p->start_ns = p->last_stats_ns = now_ns;
	stats_u64(opts->stats, "uptime_ns", &p->uptime_ns);
	for (int i = 0; i < opts->n_stages; i++)
		if (opts->stages[i]->ops->stats)
			opts->stages[i]->ops->stats(opts->stages[i], opts->stats);
	stats_u64(opts->stats, "events_written", &p->events_written);
	stats_u64(opts->stats, "sink_events_lost", &p->sink_events_lost);
	stats_on_refresh(opts->stats, count_sinks, p);
	*out = p;
	return 0;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	free_stages(p->opts.stages, p->opts.n_stages);
	free(p);
}
