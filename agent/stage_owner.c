/* Messages wait for their socket's owner: the first query on an accepted TCP socket arrives
 * before anything names the socket's process (no socket hook runs for accept), and sockets
 * older than the agent are named by a socket scan a few milliseconds later. */
#include <stdlib.h>

#include "dns.h"
#include "stage.h"

#define WAIT_SLOTS 256
/* How long a message waits for its owner before it goes on unattributed. */
#define WAIT_NS (300ull * 1000000)

struct waiting {
	struct event *ev;  /* owned */
	bool needs_owner;  /* false: it has one and waits behind an earlier message only */
};

struct stage_owner {
	struct stage base;
	owner_lookup_fn lookup;
	void *lookup_ctx;
	struct waiting queue[WAIT_SLOTS]; /* in capture order */
	int n;
	uint64_t unattributed_packets; /* messages passed on without an owner */
};

static bool same_question(const struct dns_msg *a, const struct dns_msg *b)
{
	return a->has_question && b->has_question && a->qtype == b->qtype &&
	       a->qclass == b->qclass && dns_name_equal(a->qname, b->qname);
}

/* Whether later must not overtake earlier: on the same socket, or on the same question (a
 * stub's upstream query and its response follow the client's query they forward). */
static bool depends(const struct event *earlier, const struct event *later)
{
	return earlier->net.socket_cookie == later->net.socket_cookie ||
	       same_question(earlier->dns, later->dns);
}

/* Whether ev must wait behind one of the first n waiting messages. */
static bool blocked(const struct stage_owner *s, int n, const struct event *ev)
{
	for (int i = 0; i < n; i++)
		if (depends(s->queue[i].ev, ev))
			return true;
	return false;
}

/* who has the identity fields only: what /proc adds comes in stage_proc. */
static void adopt(struct event *ev, const struct proc_info *who)
{
	ev->process = *who;
}

/* The waiting messages of the socket learn its owner. */
static void name_owner(struct stage_owner *s, uint64_t cookie, const struct proc_info *who)
{
	for (int i = 0; i < s->n; i++) {
		struct waiting *w = &s->queue[i];

		if (w->needs_owner && w->ev->net.socket_cookie == cookie) {
			adopt(w->ev, who);
			w->needs_owner = false;
		}
	}
}

/* Passes on, in order, every message that has its owner (or gave up) and no longer waits
 * behind an earlier one. */
static void release_ready(struct stage_owner *s, const struct stage_out *out)
{
	int kept = 0;

	for (int i = 0; i < s->n; i++) {
		struct waiting w = s->queue[i];

		if (!w.needs_owner && !blocked(s, kept, w.ev)) {
			stage_pass(out, w.ev);
			event_free(w.ev);
			continue;
		}
		s->queue[kept++] = w;
	}
	s->n = kept;
}

/* False when it cannot wait: no slot free, or no memory for the copy. */
static bool wait(struct stage_owner *s, const struct event *ev, bool needs_owner)
{
	struct event *copy;

	if (s->n == WAIT_SLOTS || !(copy = event_clone(ev)))
		return false;
	s->queue[s->n++] = (struct waiting){ .ev = copy, .needs_owner = needs_owner };
	return true;
}

static void owner_on_event(struct stage *base, struct event *ev, const struct stage_out *out)
{
	struct stage_owner *s = (struct stage_owner *)base;
	struct proc_info who;
	bool known;

	if (ev->type == EVENT_OWNER_NOTICE) {
		name_owner(s, ev->net.socket_cookie, &ev->process);
		stage_pass(out, ev);
		release_ready(s, out);
		return;
	}
	if (ev->type != EVENT_DNS) {
		stage_pass(out, ev);
		return;
	}
	if (ev->process.pid < 0 && s->lookup &&
	    s->lookup(s->lookup_ctx, ev->net.socket_cookie, &who))
		adopt(ev, &who);
	known = ev->process.pid >= 0;
	if (known && !(s->n && blocked(s, s->n, ev))) {
		stage_pass(out, ev);
		return;
	}
	if (!wait(s, ev, !known)) {
		/* Order is given up rather than the message. */
		s->unattributed_packets += !known;
		stage_pass(out, ev);
		return;
	}
	if (known) {
		name_owner(s, ev->net.socket_cookie, &ev->process);
		release_ready(s, out);
	}
}

static void owner_tick(struct stage *base, uint64_t now_ns, bool at_exit,
		       const struct stage_out *out)
{
	struct stage_owner *s = (struct stage_owner *)base;
	struct proc_info who;

	for (int i = 0; i < s->n; i++) {
		struct waiting *w = &s->queue[i];

		if (!w->needs_owner)
			continue;
		if (s->lookup && s->lookup(s->lookup_ctx, w->ev->net.socket_cookie, &who)) {
			adopt(w->ev, &who);
			w->needs_owner = false;
		} else if (at_exit || now_ns - w->ev->mono_ns >= WAIT_NS) {
			s->unattributed_packets++;
			w->needs_owner = false;
		}
	}
	release_ready(s, out);
}

static void owner_stats(struct stage *base, struct stats_registry *reg)
{
	struct stage_owner *s = (struct stage_owner *)base;

	stats_u64(reg, "unattributed_packets", &s->unattributed_packets);
}

static void owner_free(struct stage *base)
{
	struct stage_owner *s = (struct stage_owner *)base;

	for (int i = 0; i < s->n; i++)
		event_free(s->queue[i].ev);
	free(s);
}

static const struct stage_ops owner_ops = {
	.on_event = owner_on_event,
	.tick = owner_tick,
	.stats = owner_stats,
	.free = owner_free,
};

struct stage *stage_owner_new(owner_lookup_fn lookup, void *lookup_ctx)
{
	struct stage_owner *s = calloc(1, sizeof(*s));

	if (!s)
		return NULL;
	s->base.ops = &owner_ops;
	s->lookup = lookup;
	s->lookup_ctx = lookup_ctx;
	return &s->base;
}
