#include "capture.h"

#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "chunks.h"
#include "clock.h"
#include "dns.h"
#include "tcpre.h"

struct capture {
	struct pipeline *pipeline;
	struct chunks *chunks;
	struct tcpre *tcpre;
	struct dns_parser *parser;
	struct call_buf call_buf;    /* what a resolver_call event points into */
	uint64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t packets;      /* packets reassembled from their chunks */
	uint64_t bytes;        /* DNS payload bytes in those packets */
	uint64_t messages;     /* DNS messages delivered to the parser */
	uint64_t parse_errors; /* malformed messages (still emitted, with "malformed") */
	uint64_t truncated_packets; /* payload beyond what the kernel copies */
	uint64_t resolver_calls;
};

void owner_identity(const struct dv_owner *o, struct proc_info *who)
{
	*who = (struct proc_info){
		.pid = o->tgid,
		.tid = o->pid ? (int32_t)o->pid : -1,
		.ppid = -1,
		.uid = o->uid,
		.gid = o->gid,
		.cgroup_id = o->cgroup_id,
	};
	memcpy(who->comm, o->comm, sizeof(who->comm));
	who->comm[sizeof(who->comm) - 1] = '\0';
}

static void net_from_hdr(const struct dv_pkt_hdr *h, struct net_info *n)
{
	*n = (struct net_info){
		.transport = h->l4proto,
		.family = h->family,
		.direction = h->direction == DV_EGRESS ? NET_EGRESS : NET_INGRESS,
		.src_port = h->sport,
		.dst_port = h->dport,
		.socket_cookie = h->cookie,
	};
	memcpy(n->src_ip, h->saddr, sizeof(n->src_ip));
	memcpy(n->dst_ip, h->daddr, sizeof(n->dst_ip));
}

static uint8_t role_of(const struct dv_pkt_hdr *h, bool qr)
{
	/* Sending a query or receiving a response is the client's side. */
	return (h->direction == DV_EGRESS) != qr ? ROLE_CLIENT : ROLE_SERVER;
}

static void on_message(struct capture *c, const struct dv_pkt_hdr *h, const uint8_t *data,
		       size_t len)
{
	struct dns_msg msg;
	struct event ev = {
		.type = EVENT_DNS,
		.ts_ns = h->ts_ns + c->realtime_offset_ns,
		.mono_ns = h->ts_ns,
		.dns = &msg,
		.latency_ns = -1,
		.raw = data,
		.raw_len = len,
	};

	c->messages++;
	if (dns_parse(c->parser, data, len, &msg))
		c->parse_errors++;
	net_from_hdr(h, &ev.net);
	if (len >= DNS_HEADER_LEN)
		ev.net.role = role_of(h, msg.qr);
	if ((h->flags & DV_PKT_OWNER_KNOWN) && h->owner.tgid) {
		owner_identity(&h->owner, &ev.process);
	} else {
		ev.process = proc_unknown;
		ev.process.uid = h->sock_uid; /* the kernel gives it even without an owner */
	}
	/* The call as it was when the packet left or arrived, not as the owner map says now. */
	if (h->flags & DV_PKT_OWNER_KNOWN)
		ev.call_id = h->owner.call_id;
	pipeline_event(c->pipeline, &ev);
}

/* tcpre keeps the header of each stream's latest segment as its meta; the message's own
 * time is when its last byte arrived. */
static void on_tcp_message(void *ctx, const struct tcpre_msg *msg)
{
	struct dv_pkt_hdr h = *(const struct dv_pkt_hdr *)msg->meta;

	h.ts_ns = msg->ts_ns;
	on_message(ctx, &h, msg->data, msg->len);
}

static void on_packet(void *ctx, const struct dv_pkt_hdr *h, const uint8_t *data, size_t len)
{
	struct capture *c = ctx;

	c->packets++;
	c->bytes += len;
	if (h->flags & DV_PKT_TRUNCATED)
		c->truncated_packets++;
	if (h->l4proto == IPPROTO_UDP) {
		on_message(c, h, data, len);
	} else {
		struct tcpre_key key = { .cookie = h->cookie, .direction = h->direction };

		tcpre_segment(c->tcpre, &key, h->tcp_seq, h->tcp_flags, data, len, h->ts_ns, h,
			      on_tcp_message, c);
	}
}

void capture_packet(void *ctx, const void *rec)
{
	struct capture *c = ctx;

	chunks_add(c->chunks, rec, on_packet, c);
}

void capture_call(void *ctx, const void *rec)
{
	const struct dv_call_rec *call_rec = rec;
	struct capture *c = ctx;
	struct call_info call;
	struct event ev = {
		.type = EVENT_RESOLVER_CALL,
		.ts_ns = call_rec->start_ns + c->realtime_offset_ns,
		.mono_ns = clock_ns(CLOCK_MONOTONIC),
		.call = &call,
	};

	c->resolver_calls++;
	call_decode(call_rec, c->parser, &call, &c->call_buf);
	owner_identity(&call_rec->owner, &ev.process);
	pipeline_event(c->pipeline, &ev);
}

void capture_owner(void *ctx, const void *rec)
{
	const struct dv_owner_rec *owner_rec = rec;
	struct capture *c = ctx;
	struct event ev = {
		.type = EVENT_OWNER_NOTICE,
		.mono_ns = clock_ns(CLOCK_MONOTONIC),
		.net.socket_cookie = owner_rec->cookie,
	};

	ev.ts_ns = ev.mono_ns + c->realtime_offset_ns;
	owner_identity(&owner_rec->owner, &ev.process);
	pipeline_event(c->pipeline, &ev);
}

void capture_tick(struct capture *c, uint64_t now_ns)
{
	c->realtime_offset_ns = clock_realtime_offset_ns();
	chunks_expire(c->chunks, now_ns);
	tcpre_expire(c->tcpre, now_ns, on_tcp_message, c);
}

static void declare_stats(struct capture *c, struct stats_registry *reg)
{
	const struct tcpre_stats *ts = tcpre_stats(c->tcpre);

	stats_u64(reg, "packets", &c->packets);
	stats_u64(reg, "bytes", &c->bytes);
	stats_u64(reg, "messages", &c->messages);
	stats_u64(reg, "parse_errors", &c->parse_errors);
	stats_u64(reg, "incomplete_packets", chunks_incomplete(c->chunks));
	stats_u64(reg, "truncated_packets", &c->truncated_packets);
	stats_u64(reg, "tcp_gaps", &ts->gaps);
	stats_u64(reg, "tcp_incomplete_at_close", &ts->incomplete_at_close);
	stats_u64(reg, "tcp_evicted_streams", &ts->evicted_streams);
	stats_u64(reg, "resolver_calls", &c->resolver_calls);
}

int capture_new(struct pipeline *p, struct stats_registry *reg, struct capture **out)
{
	struct tcpre_limits limits = { .meta_size = sizeof(struct dv_pkt_hdr) };
	struct capture *c = calloc(1, sizeof(*c));

	if (!c)
		return -ENOMEM;
	c->pipeline = p;
	c->chunks = chunks_new();
	c->tcpre = tcpre_new(&limits);
	c->parser = dns_parser_new();
	if (!c->chunks || !c->tcpre || !c->parser) {
		capture_free(c);
		return -ENOMEM;
	}
	c->realtime_offset_ns = clock_realtime_offset_ns();
	declare_stats(c, reg);
	*out = c;
	return 0;
}

void capture_free(struct capture *c)
{
	if (!c)
		return;
	chunks_free(c->chunks);
	tcpre_free(c->tcpre);
	dns_parser_free(c->parser);
	free(c);
}
