/* What /proc knows (proc.h) added to process and origin: exe, cmdline, ppid, cgroup,
 * container id. Owner notices warm the cache while their process is surely alive: a
 * short-lived client is often gone by the time its packets come through. */
#include <stdlib.h>

#include "proc.h"
#include "stage.h"

#define PROC_CACHE_ENTRIES 4096

struct stage_proc {
	struct stage base;
	struct proc_cache *procs;
};

static void proc_on_event(struct stage *base, struct event *ev, const struct stage_out *out)
{
	struct stage_proc *s = (struct stage_proc *)base;

	if (ev->process.pid >= 0)
		proc_cache_fill(s->procs, &ev->process, ev->mono_ns);
	if (ev->has_origin)
		proc_cache_fill(s->procs, &ev->origin, ev->mono_ns);
	stage_pass(out, ev);
}

static void proc_stage_free(struct stage *base)
{
	struct stage_proc *s = (struct stage_proc *)base;

	proc_cache_free(s->procs);
	free(s);
}

static const struct stage_ops proc_ops = {
	.on_event = proc_on_event,
	.free = proc_stage_free,
};

struct stage *stage_proc_new(const char *proc_root)
{
	struct stage_proc *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &proc_ops;
	s->procs = proc_cache_new(proc_root, PROC_CACHE_ENTRIES);
	if (!s->procs) {
		free(s);
		return NULL;
	}
	return &s->base;
}
