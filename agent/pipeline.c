#include "pipeline.h"

#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "call.h"
#include "clock.h"
#include "log.h"
#include "match.h"
#include "origin.h"
#include "proc.h"
#include "resolver.h"
#include "sockscan.h"
#include "stats.h"
#include "tcpre.h"
#include "wire.h"

/* Packets split over several records are reassembled in a few slots; a slot still
 * incomplete after this long lost a chunk in the kernel (counted there). */
#define ASM_SLOTS 16
#define ASM_STALE_NS (1000ull * 1000000)
#define MAX_CAPTURED (DV_MAX_CHUNKS * DV_CHUNK_LEN)
#define PROC_CACHE_ENTRIES 4096
/* A message from a socket without a known owner waits this long for one: the first query on
 * an accepted TCP connection arrives before the server's reply names the socket's owner. */
#define PARK_SLOTS 256
#define PARK_NS (300ull * 1000000)
#define MATCH_MAX_PENDING 65536

struct asm_slot {
	bool used;
	uint64_t started_ns; /* monotonic, when the first chunk arrived */
	uint32_t expected;
	uint32_t received;
	struct dv_pkt_hdr hdr;
	uint8_t *buf; /* MAX_CAPTURED bytes, kept across uses */
};

/* A message waiting for its socket's owner (park()). */
struct parked {
	struct dv_pkt_hdr hdr;
	uint8_t *data; /* NULL: the slot is free */
	size_t len;
	int64_t latency_ns;
};

struct pipeline {
	struct pipeline_opts opts;
	struct wire *wire;
	struct sockscan *sockscan; /* rescans for unknown owners; NULL: none running */
	struct resolver *resolver;
	struct origin *origin;
	struct call_buf call_buf; /* what a resolver_call event points into */
	struct dns_parser *parser;
	struct tcpre *tcpre;
	struct match *match;
	struct proc_cache *procs;
	struct stats stats;
	struct asm_slot slots[ASM_SLOTS];
	struct parked parked[PARK_SLOTS];
	int n_parked;
	uint64_t start_mono_ns;
	uint64_t realtime_offset_ns; /* CLOCK_REALTIME - CLOCK_MONOTONIC */
	uint64_t last_stats_ns;
};

static void refresh_realtime_offset(struct pipeline *p)
{
	p->realtime_offset_ns = clock_ns(CLOCK_REALTIME) - clock_ns(CLOCK_MONOTONIC);
}

static void emit(struct pipeline *p, const struct event *ev)
{
	for (int i = 0; i < p->opts.n_sinks; i++)
		if (!sink_write(p->opts.sinks[i], ev))
			p->stats.events_written++;
}

static void net_from_hdr(const struct dv_pkt_hdr *h, struct net_info *n)
{
	*n = (struct net_info){
		.transport = h->l4proto,
		.family = h->family,
		.direction = h->direction,
		.src_port = h->sport,
		.dst_port = h->dport,
		.socket_cookie = h->cookie,
	};
	memcpy(n->src_ip, h->saddr, sizeof(n->src_ip));
	memcpy(n->dst_ip, h->daddr, sizeof(n->dst_ip));
}

/* sockscan_fn, on the scan worker's thread: it touches the wire's owner map only (a map
 * update is a system call, safe from any thread). */
static int add_scanned_owner(void *ctx, uint64_t cookie, const struct dv_owner *owner)
{
	/* -EEXIST: a kernel hook already knows better. */
	wire_owner_add(ctx, cookie, owner);
	return 0;
}

/* The kernel record's owner, else what a later hook or socket scan recorded. False when
 * nobody is known yet: the scan worker is asked to look (sockets older than the agent,
 * accepted TCP sockets) and what it finds shows in the map later; parked messages look
 * again on every tick. */
static bool find_owner(struct pipeline *p, const struct dv_pkt_hdr *h, struct dv_owner *o)
{
	if ((h->flags & DV_PKT_OWNER_KNOWN) && h->owner.tgid) {
		*o = h->owner;
		return true;
	}
	if (!p->wire)
		return false;
	if (wire_owner_lookup(p->wire, h->cookie, o) == 0 && o->tgid)
		return true;
	if (p->sockscan)
		sockscan_request(p->sockscan);
	return false;
}

/* The owner's identity plus what /proc adds. */
static void process_from_owner(struct pipeline *p, const struct dv_owner *o, uint64_t now,
			       struct proc_info *pi)
{
	*pi = (struct proc_info){
		.pid = o->tgid,
		.tid = o->pid ? (int32_t)o->pid : -1,
		.ppid = -1,
		.uid = o->uid,
		.gid = o->gid,
		.cgroup_id = o->cgroup_id,
	};
	memcpy(pi->comm, o->comm, sizeof(pi->comm));
	pi->comm[sizeof(pi->comm) - 1] = '\0';
	proc_cache_fill(p->procs, pi, now);
}

/* Nobody known: only the socket's uid, which the kernel gives even without an owner. */
static void unknown_process(const struct dv_pkt_hdr *h, struct proc_info *pi)
{
	*pi = (struct proc_info){ .pid = -1, .tid = -1, .ppid = -1, .uid = h->sock_uid, .gid = -1 };
}

static uint8_t role_of(const struct dv_pkt_hdr *h, bool qr)
{
	/* Sending a query or receiving a response is the client's side. */
	return (h->direction == DV_EGRESS) != qr ? ROLE_CLIENT : ROLE_SERVER;
}

/* The event of one DNS message; process, latency and origin are the caller's. */
static void dns_event(struct pipeline *p, const struct dv_pkt_hdr *h, const uint8_t *data,
		      size_t len, const struct dns_msg *msg, struct event *ev)
{
	*ev = (struct event){
		.type = EVENT_DNS,
		.ts_ns = h->ts_ns + p->realtime_offset_ns,
		.dns = msg,
		.latency_ns = -1,
		.raw = data,
		.raw_len = len,
	};
	net_from_hdr(h, &ev->net);
	if (len >= DNS_HEADER_LEN)
		ev->net.role = role_of(h, msg->qr);
	/* The call as it was when the packet left or arrived, not as the owner map says now. */
	if (h->flags & DV_PKT_OWNER_KNOWN)
		ev->call_id = h->owner.call_id;
}

/* Holds a message whose socket has no known owner yet, for pipeline_tick to emit once a hook
 * or the socket's next packet names one (see struct parked). False when no slot is free. */
static bool park(struct pipeline *p, const struct dv_pkt_hdr *h, const uint8_t *data, size_t len,
		 int64_t latency_ns)
{
	for (int i = 0; i < PARK_SLOTS; i++) {
		struct parked *k = &p->parked[i];

		if (k->data)
			continue;
		k->data = malloc(len);
		if (!k->data)
			return false;
		memcpy(k->data, data, len);
		k->len = len;
		k->hdr = *h;
		k->latency_ns = latency_ns;
		p->n_parked++;
		return true;
	}
	return false;
}

static void handle_message(struct pipeline *p, const struct dv_pkt_hdr *h, const uint8_t *data,
			   size_t len)
{
	uint64_t now = h->ts_ns; /* the capture time: same clock, and no system call per message */
	struct proc_info pi, client;
	struct dv_owner owner;
	struct dns_msg msg;
	struct event ev;
	bool known;

	p->stats.messages++;
	if (dns_parse(p->parser, data, len, &msg))
		p->stats.parse_errors++;
	known = find_owner(p, h, &owner);
	if (known)
		process_from_owner(p, &owner, now, &pi);
	else
		unknown_process(h, &pi);
	dns_event(p, h, data, len, &msg, &ev);
	ev.process = &pi;
	if (len >= DNS_HEADER_LEN) {
		if (msg.has_question && !msg.qr) {
			match_query(p->match, &ev.net, &pi, &msg, h->ts_ns);
		} else if (msg.has_question) {
			ev.latency_ns = match_response(p->match, &ev.net, &msg, h->ts_ns);
		}
		if (origin_message(p->origin, &ev, h->ts_ns, &client)) {
			proc_cache_fill(p->procs, &client, now);
			ev.origin = &client;
		}
	}
	if (!known && p->wire && park(p, h, data, len, ev.latency_ns))
		return;
	if (!known)
		p->stats.unattributed_packets++;
	emit(p, &ev);
}

/* Emits a parked message with the owner found meanwhile, or without one when owner is NULL. */
static void release(struct pipeline *p, struct parked *k, const struct dv_owner *owner,
		    uint64_t now)
{
	struct proc_info pi;
	struct dns_msg msg;
	struct event ev;

	dns_parse(p->parser, k->data, k->len, &msg); /* an error was counted when parked */
	if (owner) {
		process_from_owner(p, owner, now, &pi);
	} else {
		unknown_process(&k->hdr, &pi);
		p->stats.unattributed_packets++;
	}
	dns_event(p, &k->hdr, k->data, k->len, &msg, &ev);
	ev.process = &pi;
	ev.latency_ns = k->latency_ns;
	emit(p, &ev);
	free(k->data);
	k->data = NULL;
	p->n_parked--;
}

/* force: release everything, with or without an owner (at exit). */
static void release_parked(struct pipeline *p, uint64_t now, bool force)
{
	for (int i = 0; p->n_parked && i < PARK_SLOTS; i++) {
		struct parked *k = &p->parked[i];
		struct dv_owner owner;

		if (!k->data)
			continue;
		if (find_owner(p, &k->hdr, &owner))
			release(p, k, &owner, now);
		else if (force || now - k->hdr.ts_ns >= PARK_NS)
			release(p, k, NULL, now);
	}
}

/* tcpre keeps the header of each stream's latest segment as its meta; the message's own
 * time is when its last byte arrived. */
static void on_tcp_message(void *ctx, const struct tcpre_msg *msg)
{
	struct dv_pkt_hdr h = *(const struct dv_pkt_hdr *)msg->meta;

	h.ts_ns = msg->ts_ns;
	handle_message(ctx, &h, msg->data, msg->len);
}

/* A whole packet's payload (or the captured part of it). */
static void handle_packet(struct pipeline *p, const struct dv_pkt_hdr *h, const uint8_t *data,
			  size_t len)
{
	p->stats.packets++;
	p->stats.bytes += len;
	if (h->flags & DV_PKT_TRUNCATED)
		p->stats.truncated_packets++;
	if (h->l4proto == IPPROTO_UDP) {
		handle_message(p, h, data, len);
	} else {
		struct tcpre_key key = { .cookie = h->cookie, .direction = h->direction };

		tcpre_segment(p->tcpre, &key, h->tcp_seq, h->tcp_flags, data, len, h->ts_ns, h,
			      on_tcp_message, p);
	}
}

static void free_slot(struct pipeline *p, struct asm_slot *s, bool incomplete)
{
	if (incomplete)
		p->stats.incomplete_packets++;
	s->used = false;
}

static struct asm_slot *find_slot(struct pipeline *p, const struct dv_pkt_hdr *h)
{
	struct asm_slot *free = NULL, *oldest = NULL;

	for (int i = 0; i < ASM_SLOTS; i++) {
		struct asm_slot *s = &p->slots[i];

		if (!s->used) {
			free = free ?: s;
			continue;
		}
		if (s->hdr.cookie == h->cookie && s->hdr.ts_ns == h->ts_ns &&
		    s->hdr.direction == h->direction)
			return s;
		if (!oldest || s->started_ns < oldest->started_ns)
			oldest = s;
	}
	if (!free) {
		free_slot(p, oldest, true);
		free = oldest;
	}
	if (!free->buf && !(free->buf = malloc(MAX_CAPTURED)))
		return NULL;
	free->used = true;
	free->started_ns = clock_ns(CLOCK_MONOTONIC);
	free->hdr = *h;
	free->received = 0;
	free->expected = h->payload_len < MAX_CAPTURED ? h->payload_len : MAX_CAPTURED;
	return free;
}

/* Reads /proc for a process while it is surely alive; later events hit the cache. */
static void warm_process(struct pipeline *p, const struct dv_owner_rec *rec)
{
	struct proc_info pi;

	process_from_owner(p, &rec->owner, clock_ns(CLOCK_MONOTONIC), &pi);
}

static void handle_chunk(struct pipeline *p, const struct dv_pkt *rec)
{
	const struct dv_pkt_hdr *h = &rec->hdr;
	struct asm_slot *s;

	if (h->chunk_len > DV_CHUNK_LEN || h->chunk_off >= MAX_CAPTURED)
		return;
	/* Most DNS packets fit in one record. */
	if (h->chunk_off == 0 && h->chunk_len >= h->payload_len) {
		handle_packet(p, h, rec->data, h->chunk_len);
		return;
	}
	s = find_slot(p, h);
	if (!s) {
		p->stats.incomplete_packets++;
		return;
	}
	if (h->chunk_off + h->chunk_len > s->expected) {
		free_slot(p, s, true);
		return;
	}
	memcpy(s->buf + h->chunk_off, rec->data, h->chunk_len);
	s->received += h->chunk_len;
	if (s->received >= s->expected) {
		handle_packet(p, &s->hdr, s->buf, s->expected);
		free_slot(p, s, false);
	}
}

static void handle_call(struct pipeline *p, const struct dv_call_rec *rec)
{
	struct proc_info pi;
	struct call_info call;
	struct event ev = {
		.type = EVENT_RESOLVER_CALL,
		.ts_ns = rec->start_ns + p->realtime_offset_ns,
		.process = &pi,
		.call = &call,
	};

	p->stats.resolver_calls++;
	call_decode(rec, p->parser, &call, &p->call_buf);
	process_from_owner(p, &rec->owner, clock_ns(CLOCK_MONOTONIC), &pi);
	emit(p, &ev);
}

void pipeline_record(void *ctx, const void *rec)
{
	struct pipeline *p = ctx;

	p->stats.records++;
	switch (*(const uint8_t *)rec) {
	case DV_REC_OWNER:
		warm_process(p, rec);
		break;
	case DV_REC_CALL:
		handle_call(p, rec);
		break;
	case DV_REC_EXEC:
		if (p->resolver)
			resolver_exec(p->resolver, rec, clock_ns(CLOCK_MONOTONIC));
		break;
	default:
		handle_chunk(p, rec);
	}
}

static void on_timeout(void *ctx, const struct match_timeout *t)
{
	struct pipeline *p = ctx;
	struct proc_info pi = t->process;
	struct event ev = {
		.type = EVENT_TIMEOUT,
		.ts_ns = t->query_ts_ns + t->info.waited_ns + p->realtime_offset_ns,
		.process = &pi,
		.net = t->net,
		.latency_ns = -1,
		.timeout = &t->info,
	};

	if (pi.pid >= 0)
		proc_cache_fill(p->procs, &pi, clock_ns(CLOCK_MONOTONIC));
	emit(p, &ev);
}

/* The worker counts its scans on its own thread. */
static void read_owner_scans(struct pipeline *p)
{
	struct sockscan_counters c;

	sockscan_counters(p->sockscan, &c);
	p->stats.owner_scans = c.scans;
	p->stats.owner_scan_sockets = c.reported;
	p->stats.owner_scan_errors = c.errors;
}

/* Before the wire closes: the worker writes to its owner map. */
static void stop_owner_scans(struct pipeline *p)
{
	if (!p->sockscan)
		return;
	read_owner_scans(p);
	sockscan_stop(p->sockscan);
	p->sockscan = NULL;
}

static void emit_stats(struct pipeline *p, uint64_t now)
{
	const struct tcpre_stats *ts = tcpre_stats(p->tcpre);
	const struct match_stats *ms = match_stats(p->match);
	struct event ev = {
		.type = EVENT_STATS,
		.ts_ns = now + p->realtime_offset_ns,
		.stats = &p->stats,
	};

	p->stats.uptime_ns = now - p->start_mono_ns;
	p->stats.sink_events_lost = 0;
	for (int i = 0; i < p->opts.n_sinks; i++)
		p->stats.sink_events_lost += p->opts.sinks[i]->events_lost;
	p->stats.tcp_gaps = ts->gaps;
	p->stats.tcp_incomplete_at_close = ts->incomplete_at_close;
	p->stats.tcp_evicted_streams = ts->evicted_streams;
	p->stats.responses_matched = ms->matched;
	p->stats.responses_unmatched = ms->unmatched;
	p->stats.timeouts = ms->timeouts;
	p->stats.pending_evicted = ms->evicted;
	if (p->sockscan)
		read_owner_scans(p);
	if (p->wire) {
		int n = wire_read_drops(p->wire, p->stats.kernel_drops,
					p->stats.ringbuf_drops_per_cpu, STATS_MAX_CPUS);

		p->stats.ncpus = n > 0 ? n : 0;
	}
	if (p->resolver) {
		struct resolver_stats rs;

		resolver_read_stats(p->resolver, &rs);
		p->stats.resolver_libc_files = rs.libc_files;
		p->stats.resolver_attach_failures = rs.attach_failures;
		p->stats.resolver_exec_checks_dropped = rs.exec_checks_dropped;
		p->stats.resolver_libc_detached = rs.libc_detached;
		p->stats.resolver_exec_hook = exechook_kind_name(rs.exec_hook);
		p->stats.resolver_libdir_entries = rs.dirs.entries;
		p->stats.resolver_libdir_watches = rs.dirs.dirs_watched;
		p->stats.resolver_libdir_watch_failures = rs.dirs.watch_failures;
		p->stats.resolver_libdir_overflows = rs.dirs.overflows;
		p->stats.resolver_libdir_start_scan_ms = rs.dirs.start_scan_ns / 1000000;
		p->stats.resolver_libdir_start_scan_truncated = rs.dirs.start_truncated;
	}
	emit(p, &ev);
	p->last_stats_ns = now;
}

static void flush_sinks(struct pipeline *p)
{
	for (int i = 0; i < p->opts.n_sinks; i++)
		sink_flush(p->opts.sinks[i]);
}

void pipeline_tick(struct pipeline *p)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);

	refresh_realtime_offset(p);
	for (int i = 0; i < ASM_SLOTS; i++)
		if (p->slots[i].used && now - p->slots[i].started_ns > ASM_STALE_NS)
			free_slot(p, &p->slots[i], true);
	tcpre_expire(p->tcpre, now, on_tcp_message, p);
	release_parked(p, now, false);
	match_expire(p->match, now, on_timeout, p);
	if (p->resolver)
		resolver_tick(p->resolver, now);
	if (p->opts.stats_interval_ns && now - p->last_stats_ns >= p->opts.stats_interval_ns)
		emit_stats(p, now);
	flush_sinks(p);
}

void pipeline_finish(struct pipeline *p)
{
	pipeline_tick(p);
	release_parked(p, clock_ns(CLOCK_MONOTONIC), true);
	stop_owner_scans(p);
	if (p->opts.stats_interval_ns)
		emit_stats(p, clock_ns(CLOCK_MONOTONIC));
	flush_sinks(p);
}

void pipeline_attach_wire(struct pipeline *p, struct wire *w)
{
	struct sockscan_counters c;
	int err;

	p->wire = w;
	/* Seeds the owners of sockets older than the agent before it reports ready. */
	err = sockscan_start(p->opts.proc_root, add_scanned_owner, w, &p->sockscan);
	if (err) {
		log_warnx("scanning %s for existing sockets: %s", p->opts.proc_root, strerror(-err));
		return;
	}
	sockscan_counters(p->sockscan, &c);
	if (c.errors)
		log_warnx("scanning for existing sockets: %" PRIu64 " namespaces, protocols or "
			  "processes failed (-v logs each)", c.errors);
	log_debug("existing sockets: %" PRIu64 " attributed in %" PRIu64 " network namespaces",
		  c.reported, c.namespaces);
}

void pipeline_attach_resolver(struct pipeline *p, struct resolver *r)
{
	p->resolver = r;
}

int pipeline_new(const struct pipeline_opts *opts, struct pipeline **out)
{
	struct tcpre_limits limits = { .meta_size = sizeof(struct dv_pkt_hdr) };
	struct pipeline *p = calloc(1, sizeof(*p));

	if (!p)
		return -ENOMEM;
	p->opts = *opts;
	p->parser = dns_parser_new();
	p->tcpre = tcpre_new(&limits);
	p->match = match_new(opts->query_timeout_ns, MATCH_MAX_PENDING);
	p->procs = proc_cache_new(opts->proc_root, PROC_CACHE_ENTRIES);
	p->origin = origin_new();
	if (!p->parser || !p->tcpre || !p->match || !p->procs || !p->origin) {
		pipeline_free(p);
		return -ENOMEM;
	}
	p->start_mono_ns = p->last_stats_ns = clock_ns(CLOCK_MONOTONIC);
	refresh_realtime_offset(p);
	*out = p;
	return 0;
}

void pipeline_free(struct pipeline *p)
{
	if (!p)
		return;
	stop_owner_scans(p);
	for (int i = 0; i < ASM_SLOTS; i++)
		free(p->slots[i].buf);
	for (int i = 0; i < PARK_SLOTS; i++)
		free(p->parked[i].data);
	dns_parser_free(p->parser);
	tcpre_free(p->tcpre);
	match_free(p->match);
	proc_cache_free(p->procs);
	origin_free(p->origin);
	free(p);
}
