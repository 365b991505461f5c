/* The matcher (match.h) as a stage: latency on responses, timeout events for the queries
 * nobody answered. */
#include <stdlib.h>
#include <time.h>

#include "clock.h"
#include "match.h"
#include "stage.h"

struct stage_match {
	struct stage base;
	struct match *match;
	const struct stage_out *out; /* during a tick: where timeouts go */
	uint64_t realtime_offset_ns; /* during a tick: CLOCK_REALTIME - CLOCK_MONOTONIC */
};

static void match_on_event(struct stage *base, struct event *ev, const struct stage_out *out)
{
	struct stage_match *s = (struct stage_match *)base;
	const struct dns_msg *msg = ev->dns;

	if (ev->type == EVENT_DNS && ev->raw_len >= DNS_HEADER_LEN && msg->has_question) {
		if (!msg->qr)
			match_query(s->match, &ev->net, &ev->process, msg, ev->mono_ns);
		else
			ev->latency_ns = match_response(s->match, &ev->net, msg, ev->mono_ns);
	}
	stage_pass(out, ev);
}

static void on_timeout(void *ctx, const struct match_timeout *t)
{
	struct stage_match *s = ctx;
	uint64_t mono_ns = t->query_ts_ns + t->info.waited_ns;
	struct event ev = {
		.type = EVENT_TIMEOUT,
		.ts_ns = mono_ns + s->realtime_offset_ns,
		.mono_ns = mono_ns,
		.process = t->process,
		.net = t->net,
		.latency_ns = -1,
		.timeout = &t->info,
	};

	stage_pass(s->out, &ev);
}

static void match_tick(struct stage *base, uint64_t now_ns, bool at_exit,
		       const struct stage_out *out)
{
	struct stage_match *s = (struct stage_match *)base;

	(void)at_exit; /* queries still pending at exit have not timed out */
	s->out = out;
	s->realtime_offset_ns = clock_realtime_offset_ns();
	match_expire(s->match, now_ns, on_timeout, s);
}

static void match_stats_declare(struct stage *base, struct stats_registry *reg)
{
	const struct match_stats *ms = match_stats(((struct stage_match *)base)->match);

	stats_u64(reg, "responses_matched", &ms->matched);
	stats_u64(reg, "responses_unmatched", &ms->unmatched);
	stats_u64(reg, "timeouts", &ms->timeouts);
	stats_u64(reg, "pending_evicted", &ms->evicted);
}

static void match_stage_free(struct stage *base)
{
	struct stage_match *s = (struct stage_match *)base;

	match_free(s->match);
	free(s);
}

static const struct stage_ops match_ops = {
	.on_event = match_on_event,
	.tick = match_tick,
	.stats = match_stats_declare,
	.free = match_stage_free,
};

struct stage *stage_match_new(uint64_t timeout_ns, size_t max_pending)
{
	struct stage_match *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &match_ops;
	s->match = match_new(timeout_ns, max_pending);
	if (!s->match) {
		free(s);
		return NULL;
	}
	return &s->base;
}
