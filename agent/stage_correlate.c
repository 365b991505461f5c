/* Correlation (correlate.h) as a stage: a lookup goes on with the findings it fired in its
 * findings, then each finding goes on as a finding event of its own. */
#include <errno.h>
#include <stdlib.h>

#include "correlate.h"
#include "log.h"
#include "stage.h"

struct stage_correlate {
	struct stage base;
	struct correlate *correlate;
	struct regdom *regdom;
};

static void correlate_on_event(struct stage *base, struct event *ev, const struct stage_out *out)
{
	struct stage_correlate *s = (struct stage_correlate *)base;
	const struct finding *found;
	const struct proc_info *who;
	size_t n = correlate_event(s->correlate, ev, ev->mono_ns, &found, &who);
	struct proc_info asker;

	if (!n) {
		stage_pass(out, ev);
		return;
	}
	asker = *who; /* ev may be changed downstream */
	ev->findings = found;
	ev->n_findings = n;
	stage_pass(out, ev);
	ev->findings = NULL;
	ev->n_findings = 0;
	for (size_t i = 0; i < n; i++) {
		struct event finding = {
			.type = EVENT_FINDING,
			.ts_ns = ev->ts_ns,
			.mono_ns = ev->mono_ns,
			.host = ev->host,
			.process = asker,
			.latency_ns = -1,
			.finding = &found[i],
		};

		stage_pass(out, &finding);
	}
}

static void correlate_stats_declare(struct stage *base, struct stats_registry *reg)
{
	const struct correlate_stats *cs = correlate_stats(((struct stage_correlate *)base)->correlate);

	stats_u64(reg, "lookups_judged", &cs->judged);
	stats_u64(reg, "findings", &cs->findings);
	stats_u64(reg, "findings_suppressed", &cs->suppressed);
	stats_u64(reg, "correlation_evicted", &cs->evicted);
}

static void correlate_stage_free(struct stage *base)
{
	struct stage_correlate *s = (struct stage_correlate *)base;

	correlate_free(s->correlate);
	regdom_free(s->regdom);
	free(s);
}

static const struct stage_ops correlate_ops = {
	.on_event = correlate_on_event,
	.stats = correlate_stats_declare,
	.free = correlate_stage_free,
};

struct stage *stage_correlate_new(const struct correlate_opts *opts)
{
	struct stage_correlate *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->base.ops = &correlate_ops;
	err = regdom_open(NULL, &s->regdom);
	if (err || !(s->correlate = correlate_new(opts, s->regdom))) {
		err = err ? -err : errno;
		regdom_free(s->regdom);
		free(s);
		errno = err;
		return NULL;
	}
	return &s->base;
}
