/* Stub attribution (origin.h) as a stage. */
#include <stdlib.h>

#include "origin.h"
#include "stage.h"

struct stage_origin {
	struct stage base;
	struct origin *origin;
};

static void origin_on_event(struct stage *base, struct event *ev, const struct stage_out *out)
{
	struct stage_origin *s = (struct stage_origin *)base;

	if (ev->type == EVENT_DNS && ev->raw_len >= DNS_HEADER_LEN)
		ev->has_origin = origin_message(s->origin, ev, ev->mono_ns, &ev->origin);
	stage_pass(out, ev);
}

static void origin_stage_free(struct stage *base)
{
	struct stage_origin *s = (struct stage_origin *)base;

	origin_free(s->origin);
	free(s);
}

static const struct stage_ops origin_ops = {
	.on_event = origin_on_event,
	.free = origin_stage_free,
};

struct stage *stage_origin_new(void)
{
	struct stage_origin *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &origin_ops;
	s->origin = origin_new();
	if (!s->origin) {
		free(s);
		return NULL;
	}
	return &s->base;
}
