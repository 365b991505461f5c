#include "event.h"

#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "array.h"

const struct proc_info proc_unknown = {
	.pid = -1, .tid = -1, .ppid = -1, .uid = -1, .gid = -1,
};

const char *event_type_name(enum event_type type)
{
	static const char *const names[] = {
		[EVENT_DNS] = "dns",
		[EVENT_TIMEOUT] = "timeout",
		[EVENT_STATS] = "stats",
		[EVENT_RESOLVER_CALL] = "resolver_call",
		[EVENT_FINDING] = "finding",
	};

	return type < ARRAY_LEN(names) ? names[type] : NULL;
}

const char *finding_severity_name(uint8_t severity)
{
	static const char *const names[] = {
		[SEVERITY_INFO] = "info",	  [SEVERITY_LOW] = "low",
		[SEVERITY_MEDIUM] = "medium",  [SEVERITY_HIGH] = "high",
		[SEVERITY_CRITICAL] = "critical",
	};

	return severity < ARRAY_LEN(names) ? names[severity] : NULL;
}

/* n bytes at p, in the copy: at the same offset in the copy of the block they lie in (base,
 * copied to base_copy), else copied on their own. An event decoded from the feed has rdata
 * but no raw bytes; a parsed one has both. */
static const uint8_t *place_within(struct arena *a, const uint8_t *p, size_t n,
				   const uint8_t *base, size_t base_len, const uint8_t *base_copy)
{
	if (!p)
		return NULL;
	if (base && p >= base && p + n <= base + base_len)
		return base_copy ? base_copy + (p - base) : NULL;
	return arena_take(a, p, n);
}

static void place_proc(struct arena *a, const struct proc_info *src, struct proc_info *dst)
{
	const char *exe = arena_str(a, src->exe), *cmdline = arena_str(a, src->cmdline);
	const char *cgroup = arena_str(a, src->cgroup);
	const char *container_id = arena_str(a, src->container_id);

	if (!a->base)
		return;
	*dst = *src;
	dst->exe = exe;
	dst->cmdline = cmdline;
	dst->cgroup = cgroup;
	dst->container_id = container_id;
}

/* rdata points into the message bytes (raw) and addr into rdata, where they can. */
static struct dns_rr *place_rrs(struct arena *a, const struct dns_section *sec,
				const uint8_t *raw, size_t raw_len, const uint8_t *raw_copy)
{
	struct dns_rr *rrs = arena_take(a, sec->rrs, sec->n * sizeof(*sec->rrs));

	for (size_t i = 0; i < sec->n; i++) {
		const struct dns_rr *rr = &sec->rrs[i];
		const char *name = arena_str(a, rr->name), *data = arena_str(a, rr->data);
		const char *target = arena_str(a, rr->target), *rname = arena_str(a, rr->rname);
		const uint8_t *rdata = place_within(a, rr->rdata, rr->rdlength, raw, raw_len,
						    raw_copy);
		const uint8_t *addr = place_within(a, rr->addr, rr->addr_len, rr->rdata,
						   rr->rdlength, rdata);

		if (!rrs)
			continue;
		rrs[i].name = name;
		rrs[i].data = data;
		rrs[i].target = target;
		rrs[i].rname = rname;
		rrs[i].rdata = rdata;
		rrs[i].addr = addr;
	}
	return rrs;
}

static const struct dns_msg *place_dns(struct arena *a, const struct dns_msg *src,
				       const uint8_t *raw, size_t raw_len, const uint8_t *raw_copy)
{
	struct dns_msg *m = arena_take(a, src, sizeof(*src));
	const char *qname = arena_str(a, src->qname);
	struct dns_rr *an = place_rrs(a, &src->an, raw, raw_len, raw_copy);
	struct dns_rr *ns = place_rrs(a, &src->ns, raw, raw_len, raw_copy);
	struct dns_rr *ar = place_rrs(a, &src->ar, raw, raw_len, raw_copy);
	struct dns_edns_opt *opts = arena_take(a, src->edns.opts, src->edns.n_opts * sizeof(*opts));

	for (size_t i = 0; i < src->edns.n_opts; i++) {
		const char *name = arena_str(a, src->edns.opts[i].name);
		const char *data = arena_str(a, src->edns.opts[i].data);

		if (opts) {
			opts[i].name = name;
			opts[i].data = data;
		}
	}
	if (!m)
		return NULL;
	/* malformed is a static string: the pointer stays. */
	m->qname = qname;
	m->an.rrs = an;
	m->ns.rrs = ns;
	m->ar.rrs = ar;
	m->edns.opts = opts;
	return m;
}

static const struct timeout_info *place_timeout(struct arena *a, const struct timeout_info *src)
{
	struct timeout_info *t = arena_take(a, src, sizeof(*src));
	const char *qname = arena_str(a, src->qname);

	if (t)
		t->qname = qname;
	return t;
}

static const struct call_info *place_call(struct arena *a, const struct call_info *src)
{
	struct call_info *c = arena_take(a, src, sizeof(*src));
	const char **flags = arena_strs(a, src->flags, src->n_flags);
	const char *name = arena_str(a, src->name), *service = arena_str(a, src->service);
	const char *result = arena_str(a, src->result), *hostname = arena_str(a, src->hostname);
	const struct call_addr *addrs = arena_take(a, src->addrs, src->n_addrs * sizeof(*src->addrs));

	if (!c)
		return NULL;
	/* function is a static string: the pointer stays. */
	c->flags = src->flags ? flags : NULL;
	c->name = name;
	c->service = service;
	c->result = result;
	c->hostname = hostname;
	c->addrs = addrs;
	return c;
}

static const struct finding *place_findings(struct arena *a, const struct finding *src, size_t n)
{
	struct finding *dst = arena_take(a, src, n * sizeof(*src));

	for (size_t i = 0; i < n; i++) {
		const struct finding *f = &src[i];
		struct evidence *ev = arena_take(a, f->evidence, f->n_evidence * sizeof(*ev));
		const char *rule = arena_str(a, f->rule), *summary = arena_str(a, f->summary);
		const char *qname = arena_str(a, f->qname);
		const char *domain = arena_str(a, f->registered_domain);
		const char *const *attack = arena_strs(a, f->attack, f->n_attack);

		for (size_t k = 0; k < f->n_evidence; k++) {
			const struct evidence *e = &f->evidence[k];
			const char *name = arena_str(a, e->name), *str = arena_str(a, e->str);
			const char *const *list = arena_strs(a, e->list, e->n_list);

			if (!ev)
				continue;
			ev[k].name = name;
			ev[k].str = str;
			ev[k].list = list;
		}
		if (!dst)
			continue;
		dst[i].rule = rule;
		dst[i].summary = summary;
		dst[i].qname = qname;
		dst[i].registered_domain = domain;
		dst[i].attack = attack;
		dst[i].evidence = ev;
	}
	return dst;
}

/* Lays out ev in the arena; returns the copy (NULL while measuring). */
static struct event *place_event(struct arena *a, const struct event *ev)
{
	struct event *copy = arena_take(a, ev, sizeof(*ev));
	const uint8_t *raw = arena_take(a, ev->raw, ev->raw_len);
	const char *host = arena_str(a, ev->host);
	struct proc_info process, origin;
	const struct dns_msg *dns = ev->dns ? place_dns(a, ev->dns, ev->raw, ev->raw_len, raw) : NULL;
	const struct timeout_info *timeout = ev->timeout ? place_timeout(a, ev->timeout) : NULL;
	const struct call_info *call = ev->call ? place_call(a, ev->call) : NULL;
	const struct finding *finding = ev->finding ? place_findings(a, ev->finding, 1) : NULL;
	const struct finding *findings = place_findings(a, ev->findings, ev->n_findings);

	place_proc(a, &ev->process, &process);
	if (ev->has_origin)
		place_proc(a, &ev->origin, &origin);
	if (!copy)
		return NULL;
	copy->raw = ev->raw ? raw : NULL;
	copy->host = host;
	copy->dns = dns;
	copy->timeout = timeout;
	copy->call = call;
	copy->finding = finding;
	copy->findings = ev->n_findings ? findings : NULL;
	copy->stats = NULL;
	copy->process = process;
	if (ev->has_origin)
		copy->origin = origin;
	copy->owned = copy;
	return copy;
}

struct event *event_clone(const struct event *ev)
{
	struct arena a = { 0 };

	place_event(&a, ev);
	a.base = malloc(a.used);
	if (!a.base)
		return NULL;
	a.used = 0;
	return place_event(&a, ev);
}

void event_free(struct event *ev)
{
	if (ev)
		free(ev->owned);
}
