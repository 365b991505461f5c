/* Events as JSON objects: the public contract documented in the README. The agent's file
 * sink and the collector render with the same code. */
#include "event_json.h"

#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "stats.h"

/* Raw bytes of a malformed message are printed up to this many. */
#define RAW_HEX_MAX 1024

/* Most events come from a few busy processes whose process object renders the same every
 * time: the last few renderings are kept with a copy of what they were made from. */
#define RENDERED_PROCESSES 8
#define RENDERED_TEXT_MAX 4096

struct rendered_process {
	struct proc_info from; /* its strings point into text */
	char text[RENDERED_TEXT_MAX];
	struct jbuf json;
};

/* A message on loopback is captured twice, leaving one socket and entering the other, with
 * the same bytes: the second capture reuses the first's rendering of the message. Only
 * loopback messages are kept (elsewhere a message is captured once, and keeping it would
 * only cost), and only when the sink says each message was parsed from its raw bytes. */
#define RENDERED_RAW_MAX 512

struct rendered_dns {
	uint8_t raw[RENDERED_RAW_MAX];
	size_t raw_len; /* 0: nothing kept */
	struct jbuf json;
};

struct event_json {
	struct rendered_process rendered[RENDERED_PROCESSES];
	unsigned int next_rendered; /* round-robin replacement */
	bool reuse_dns;
	struct rendered_dns last_dns;
	const char *host;           /* the host rendered in host_json */
	struct jbuf host_json;      /* ,"host":"..." */
	struct jbuf origin_json;    /* ,"agent_id":"...","agent_cert":"..." or nothing */
};

static const char *const flag_names[] = { "aa", "tc", "rd", "ra", "ad", "cd" };

static void render_process(struct jbuf *b, const struct proc_info *p)
{
	jbuf_lit(b, "{");
	/* Numbers < 0 and empty strings are unknown: null, never a made-up value. */
#define NUM(key, v, first)                       \
	do {                                      \
		jbuf_key(b, key, first);          \
		if ((v) < 0)                      \
			jbuf_lit(b, "null");      \
		else                              \
			jbuf_i64(b, v);           \
	} while (0)
	NUM("pid", p->pid, true);
	NUM("tid", p->tid, false);
	NUM("ppid", p->ppid, false);
	NUM("uid", p->uid, false);
	NUM("gid", p->gid, false);
#undef NUM
	jbuf_key(b, "comm", false);
	jbuf_str(b, p->comm[0] ? p->comm : NULL);
	jbuf_key(b, "exe", false);
	jbuf_str(b, p->exe);
	jbuf_key(b, "cmdline", false);
	jbuf_str(b, p->cmdline);
	jbuf_key(b, "cgroup", false);
	jbuf_str(b, p->cgroup);
	jbuf_key(b, "container_id", false);
	jbuf_str(b, p->container_id);
	jbuf_lit(b, "}");
}

static bool same_string(const char *a, const char *b)
{
	return a == b || (a && b && !strcmp(a, b));
}

static bool same_process(const struct proc_info *a, const struct proc_info *b)
{
	return a->pid == b->pid && a->tid == b->tid && a->ppid == b->ppid && a->uid == b->uid &&
	       a->gid == b->gid && !strncmp(a->comm, b->comm, PROC_COMM_LEN) &&
	       same_string(a->exe, b->exe) && same_string(a->cmdline, b->cmdline) &&
	       same_string(a->cgroup, b->cgroup) && same_string(a->container_id, b->container_id);
}

/* Copies s into the slot's text at *used; false when it does not fit. */
static bool keep_string(struct rendered_process *r, size_t *used, const char **s)
{
	size_t n;

	if (!*s)
		return true;
	n = strlen(*s) + 1;
	if (*used + n > sizeof(r->text))
		return false;
	memcpy(r->text + *used, *s, n);
	*s = r->text + *used;
	*used += n;
	return true;
}

static void render_process_cached(struct event_json *j, struct jbuf *b, const struct proc_info *p)
{
	struct rendered_process *r;
	size_t used = 0;

	for (int i = 0; i < RENDERED_PROCESSES; i++) {
		r = &j->rendered[i];
		if (r->json.len && same_process(&r->from, p)) {
			jbuf_raw(b, r->json.p, r->json.len);
			return;
		}
	}
	r = &j->rendered[j->next_rendered++ % RENDERED_PROCESSES];
	r->from = *p;
	jbuf_reset(&r->json);
	if (keep_string(r, &used, &r->from.exe) && keep_string(r, &used, &r->from.cmdline) &&
	    keep_string(r, &used, &r->from.cgroup) &&
	    keep_string(r, &used, &r->from.container_id)) {
		render_process(&r->json, p);
		if (!r->json.failed) {
			jbuf_raw(b, r->json.p, r->json.len);
			return;
		}
	}
	jbuf_reset(&r->json); /* len 0: the slot holds nothing */
	render_process(b, p);
}

static const char *role_name(uint8_t role)
{
	return role == ROLE_CLIENT ? "client" : role == ROLE_SERVER ? "server" : NULL;
}

static void render_net(struct jbuf *b, const struct net_info *n)
{
	jbuf_lit(b, "{\"transport\":");
	jbuf_lit(b, n->transport == IPPROTO_TCP ? "\"tcp\"" : "\"udp\"");
	jbuf_key(b, "family", false);
	jbuf_u64(b, n->family);
	jbuf_key(b, "direction", false);
	jbuf_lit(b, n->direction == NET_EGRESS ? "\"egress\"" : "\"ingress\"");
	jbuf_key(b, "role", false);
	jbuf_plain_str(b, role_name(n->role));
	jbuf_key(b, "src_ip", false);
	jbuf_ip(b, n->family, n->src_ip);
	jbuf_key(b, "src_port", false);
	jbuf_u64(b, n->src_port);
	jbuf_key(b, "dst_ip", false);
	jbuf_ip(b, n->family, n->dst_ip);
	jbuf_key(b, "dst_port", false);
	jbuf_u64(b, n->dst_port);
	jbuf_key(b, "socket_cookie", false);
	jbuf_u64(b, n->socket_cookie);
	jbuf_lit(b, "}");
}

static void render_section(struct jbuf *b, const struct dns_section *sec)
{
	char tbuf[DNS_MNEMONIC_LEN], cbuf[DNS_MNEMONIC_LEN];

	jbuf_lit(b, "[");
	for (size_t i = 0; i < sec->n; i++) {
		const struct dns_rr *rr = &sec->rrs[i];

		jbuf_lit(b, i ? ",{\"name\":" : "{\"name\":");
		jbuf_str(b, rr->name);
		jbuf_key(b, "type", false);
		jbuf_plain_str(b, dns_type_str(rr->type, tbuf));
		jbuf_key(b, "class", false);
		jbuf_plain_str(b, dns_class_str(rr->rclass, cbuf));
		jbuf_key(b, "ttl", false);
		jbuf_u64(b, rr->ttl);
		jbuf_key(b, "data", false);
		jbuf_str(b, rr->data);
		jbuf_lit(b, "}");
	}
	jbuf_lit(b, "]");
}

static void render_edns(struct jbuf *b, const struct dns_edns *e)
{
	if (!e->present) {
		jbuf_lit(b, "null");
		return;
	}
	jbuf_lit(b, "{\"udp_size\":");
	jbuf_u64(b, e->udp_size);
	jbuf_key(b, "version", false);
	jbuf_u64(b, e->version);
	jbuf_key(b, "do", false);
	jbuf_lit(b, e->do_bit ? "true" : "false");
	jbuf_key(b, "options", false);
	jbuf_lit(b, "[");
	for (size_t i = 0; i < e->n_opts; i++) {
		jbuf_lit(b, i ? ",{\"code\":" : "{\"code\":");
		jbuf_u64(b, e->opts[i].code);
		jbuf_key(b, "name", false);
		jbuf_str(b, e->opts[i].name);
		jbuf_key(b, "data", false);
		jbuf_str(b, e->opts[i].data);
		jbuf_lit(b, "}");
	}
	jbuf_lit(b, "]}");
}

static void render_dns(struct jbuf *b, const struct dns_msg *m)
{
	char mbuf[DNS_MNEMONIC_LEN];
	bool first = true;

	jbuf_lit(b, "{\"id\":");
	jbuf_u64(b, m->id);
	jbuf_key(b, "qr", false);
	jbuf_lit(b, m->qr ? "true" : "false");
	jbuf_key(b, "opcode", false);
	jbuf_plain_str(b, dns_opcode_str(m->opcode, mbuf));
	jbuf_key(b, "rcode", false);
	jbuf_plain_str(b, dns_rcode_str(m->rcode, mbuf));
	jbuf_key(b, "flags", false);
	jbuf_lit(b, "[");
	for (size_t i = 0; i < ARRAY_LEN(flag_names); i++) {
		if (!(m->flags & (1u << i)))
			continue;
		if (!first)
			jbuf_lit(b, ",");
		jbuf_plain_str(b, flag_names[i]);
		first = false;
	}
	jbuf_lit(b, "]");
	jbuf_key(b, "qname", false);
	jbuf_str(b, m->has_question ? m->qname : NULL);
	jbuf_key(b, "qtype", false);
	jbuf_plain_str(b, m->has_question ? dns_type_str(m->qtype, mbuf) : NULL);
	jbuf_key(b, "qclass", false);
	jbuf_plain_str(b, m->has_question ? dns_class_str(m->qclass, mbuf) : NULL);
	jbuf_key(b, "answers", false);
	render_section(b, &m->an);
	jbuf_key(b, "authority", false);
	render_section(b, &m->ns);
	jbuf_key(b, "additional", false);
	render_section(b, &m->ar);
	jbuf_key(b, "edns", false);
	render_edns(b, &m->edns);
	jbuf_key(b, "size", false);
	jbuf_u64(b, m->size);
	jbuf_lit(b, "}");
}

static bool is_loopback(uint8_t family, const uint8_t *ip)
{
	static const uint8_t ipv6_loopback[16] = { [15] = 1 };

	return family == 4 ? ip[0] == 127 : memcmp(ip, ipv6_loopback, 16) == 0;
}

static void render_dns_cached(struct event_json *j, struct jbuf *b, const struct event *ev)
{
	struct rendered_dns *r = &j->last_dns;

	if (!j->reuse_dns || !ev->raw || ev->raw_len > RENDERED_RAW_MAX ||
	    !is_loopback(ev->net.family, ev->net.src_ip) ||
	    !is_loopback(ev->net.family, ev->net.dst_ip)) {
		render_dns(b, ev->dns);
		return;
	}
	if (r->raw_len == ev->raw_len && memcmp(r->raw, ev->raw, ev->raw_len) == 0) {
		jbuf_raw(b, r->json.p, r->json.len);
		return;
	}
	jbuf_reset(&r->json);
	render_dns(&r->json, ev->dns);
	if (r->json.failed) {
		r->raw_len = 0;
		render_dns(b, ev->dns);
		return;
	}
	memcpy(r->raw, ev->raw, ev->raw_len);
	r->raw_len = ev->raw_len;
	jbuf_raw(b, r->json.p, r->json.len);
}

static void render_timeout(struct jbuf *b, const struct timeout_info *t)
{
	char mbuf[DNS_MNEMONIC_LEN];

	jbuf_lit(b, "{\"id\":");
	jbuf_u64(b, t->id);
	jbuf_key(b, "qname", false);
	jbuf_str(b, t->qname);
	jbuf_key(b, "qtype", false);
	jbuf_plain_str(b, dns_type_str(t->qtype, mbuf));
	jbuf_key(b, "qclass", false);
	jbuf_plain_str(b, dns_class_str(t->qclass, mbuf));
	jbuf_lit(b, "},\"waited_ns\":");
	jbuf_u64(b, t->waited_ns);
}

static void render_stats(struct jbuf *b, const struct stats_registry *s)
{
	jbuf_lit(b, "\"stats\":{");
	for (size_t i = 0; i < s->n; i++) {
		const struct stats_entry *e = &s->entries[i];
		const uint64_t *v = e->value;

		jbuf_key(b, e->name, i == 0);
		switch (e->kind) {
		case STATS_U64:
			jbuf_u64(b, *v);
			break;
		case STATS_BOOL:
			jbuf_lit(b, *(const bool *)e->value ? "true" : "false");
			break;
		case STATS_STRING:
			jbuf_str(b, *(const char *const *)e->value);
			break;
		case STATS_U64_NAMED:
			for (size_t k = 0; k < e->n; k++) {
				jbuf_lit(b, k ? "," : "{");
				jbuf_key(b, e->names[k], true);
				jbuf_u64(b, v[k]);
			}
			jbuf_lit(b, e->n ? "}" : "{}");
			break;
		case STATS_U64_LIST:
			jbuf_lit(b, "[");
			for (int k = 0; k < *e->count && (size_t)k < e->n; k++) {
				if (k)
					jbuf_lit(b, ",");
				jbuf_u64(b, v[k]);
			}
			jbuf_lit(b, "]");
			break;
		}
	}
	jbuf_lit(b, "}");
}

static void render_call(struct jbuf *b, const struct call_info *c)
{
	char mbuf[DNS_MNEMONIC_LEN];

	jbuf_lit(b, "{\"function\":");
	jbuf_str(b, c->function);
	jbuf_key(b, "name", false);
	jbuf_str(b, c->name);
	jbuf_key(b, "service", false);
	jbuf_str(b, c->service);
	jbuf_key(b, "family", false);
	if (c->family)
		jbuf_u64(b, c->family);
	else
		jbuf_lit(b, "null");
	jbuf_key(b, "flags", false);
	if (c->flags) {
		jbuf_lit(b, "[");
		for (size_t i = 0; i < c->n_flags; i++) {
			if (i)
				jbuf_lit(b, ",");
			jbuf_str(b, c->flags[i]);
		}
		jbuf_lit(b, "]");
	} else {
		jbuf_lit(b, "null");
	}
	jbuf_key(b, "qtype", false);
	jbuf_plain_str(b, c->qtype ? dns_type_str(c->qtype, mbuf) : NULL);
	jbuf_key(b, "result", false);
	jbuf_str(b, c->result);
	jbuf_key(b, "result_code", false);
	if (c->has_code)
		jbuf_i64(b, c->result_code);
	else
		jbuf_lit(b, "null");
	jbuf_key(b, "hostname", false);
	jbuf_str(b, c->hostname);
	jbuf_key(b, "addresses", false);
	jbuf_lit(b, "[");
	for (size_t i = 0; i < c->n_addrs; i++) {
		if (i)
			jbuf_lit(b, ",");
		jbuf_ip(b, c->addrs[i].family, c->addrs[i].addr);
	}
	jbuf_lit(b, "]");
	jbuf_key(b, "latency_ns", false);
	jbuf_u64(b, c->latency_ns);
	jbuf_key(b, "call_id", false);
	jbuf_u64(b, c->call_id);
	jbuf_lit(b, "}");
}

static void render_strs(struct jbuf *b, const char *const *strs, size_t n)
{
	jbuf_lit(b, "[");
	for (size_t i = 0; i < n; i++) {
		if (i)
			jbuf_lit(b, ",");
		jbuf_str(b, strs[i]);
	}
	jbuf_lit(b, "]");
}

static void render_finding(struct jbuf *b, const struct finding *f)
{
	jbuf_lit(b, "{\"rule\":");
	jbuf_str(b, f->rule);
	jbuf_key(b, "severity", false);
	jbuf_plain_str(b, finding_severity_name(f->severity));
	jbuf_key(b, "attack", false);
	render_strs(b, f->attack, f->n_attack);
	jbuf_key(b, "summary", false);
	jbuf_str(b, f->summary);
	jbuf_key(b, "registered_domain", false);
	jbuf_str(b, f->registered_domain);
	jbuf_key(b, "evidence", false);
	jbuf_lit(b, "{");
	for (size_t i = 0; i < f->n_evidence; i++) {
		const struct evidence *e = &f->evidence[i];

		/* names come from the feed too: escaped like any string */
		if (i)
			jbuf_lit(b, ",");
		jbuf_str(b, e->name);
		jbuf_lit(b, ":");
		if (e->kind == EVIDENCE_U64)
			jbuf_u64(b, e->u64);
		else if (e->kind == EVIDENCE_LIST)
			render_strs(b, e->list, e->n_list);
		else
			jbuf_str(b, e->str);
	}
	jbuf_lit(b, "}}");
}

/* A dns or resolver_call event's findings: only when it has some. */
static void render_findings(struct jbuf *b, const struct event *ev)
{
	if (!ev->n_findings)
		return;
	jbuf_key(b, "findings", false);
	jbuf_lit(b, "[");
	for (size_t i = 0; i < ev->n_findings; i++) {
		if (i)
			jbuf_lit(b, ",");
		render_finding(b, &ev->findings[i]);
	}
	jbuf_lit(b, "]");
}

/* One host renders every event of an agent: the rendering is kept. */
static void render_host(struct event_json *j, struct jbuf *b, const char *host)
{
	if (host != j->host || !j->host_json.len) {
		jbuf_reset(&j->host_json);
		jbuf_key(&j->host_json, "host", false);
		jbuf_str(&j->host_json, host);
		j->host = host;
	}
	if (j->host_json.failed) {
		b->failed = true; /* the event is lost and counted; the next one tries again */
		jbuf_reset(&j->host_json);
		return;
	}
	jbuf_raw(b, j->host_json.p, j->host_json.len);
}

void event_json_set_origin(struct event_json *j, const char *agent_id, const char *cert)
{
	jbuf_reset(&j->origin_json);
	if (!agent_id)
		return;
	jbuf_key(&j->origin_json, "agent_id", false);
	jbuf_str(&j->origin_json, agent_id);
	jbuf_key(&j->origin_json, "agent_cert", false);
	jbuf_str(&j->origin_json, cert);
}

void event_json_render(struct event_json *j, struct jbuf *b, const struct event *ev)
{
	jbuf_lit(b, "{\"type\":\"");
	jbuf_lit(b, event_type_name(ev->type));
	jbuf_lit(b, "\",\"ts\":");
	jbuf_time(b, ev->ts_ns);
	render_host(j, b, ev->host);
	if (j->origin_json.failed)
		b->failed = true;
	else if (j->origin_json.len)
		jbuf_raw(b, j->origin_json.p, j->origin_json.len);
	jbuf_lit(b, ",");
	if (ev->type == EVENT_STATS) {
		render_stats(b, ev->stats);
	} else if (ev->type == EVENT_RESOLVER_CALL) {
		jbuf_key(b, "process", true);
		render_process_cached(j, b, &ev->process);
		jbuf_key(b, "call", false);
		render_call(b, ev->call);
		render_findings(b, ev);
	} else if (ev->type == EVENT_FINDING) {
		jbuf_key(b, "process", true);
		render_process_cached(j, b, &ev->process);
		jbuf_key(b, "dns", false);
		jbuf_lit(b, "{\"qname\":");
		jbuf_str(b, ev->finding->qname);
		jbuf_lit(b, "}");
		jbuf_key(b, "finding", false);
		render_finding(b, ev->finding);
	} else {
		jbuf_key(b, "process", true);
		render_process_cached(j, b, &ev->process);
		jbuf_key(b, "net", false);
		render_net(b, &ev->net);
		jbuf_key(b, "dns", false);
		if (ev->type == EVENT_TIMEOUT) {
			render_timeout(b, ev->timeout);
		} else {
			render_dns_cached(j, b, ev);
			jbuf_key(b, "latency_ns", false);
			if (ev->latency_ns < 0)
				jbuf_lit(b, "null");
			else
				jbuf_i64(b, ev->latency_ns);
			jbuf_key(b, "call_id", false);
			if (ev->call_id)
				jbuf_u64(b, ev->call_id);
			else
				jbuf_lit(b, "null");
			jbuf_key(b, "origin", false);
			if (ev->has_origin)
				render_process_cached(j, b, &ev->origin);
			else
				jbuf_lit(b, "null");
			if (ev->agent_probe) {
				jbuf_key(b, "agent_probe", false);
				jbuf_lit(b, "true");
			}
			if (ev->dns->malformed) {
				jbuf_key(b, "malformed", false);
				jbuf_str(b, ev->dns->malformed);
				jbuf_key(b, "raw", false);
				jbuf_hex(b, ev->raw, ev->raw_len < RAW_HEX_MAX ? ev->raw_len : RAW_HEX_MAX);
			}
			render_findings(b, ev);
		}
	}
	jbuf_lit(b, "}");
}

struct event_json *event_json_new(void)
{
	return calloc(1, sizeof(struct event_json));
}

void event_json_reuse_dns(struct event_json *j)
{
	j->reuse_dns = true;
}

void event_json_free(struct event_json *j)
{
	if (!j)
		return;
	for (int i = 0; i < RENDERED_PROCESSES; i++)
		jbuf_free(&j->rendered[i].json);
	jbuf_free(&j->last_dns.json);
	jbuf_free(&j->host_json);
	jbuf_free(&j->origin_json);
	free(j);
}
