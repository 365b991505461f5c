/* Shipping benchmark without a kernel or a collector: the pipeline thread's CPU per event in
 * the ship sink (protobuf encode, batch, queue) and the bytes per event on the wire (the
 * framed, compressed batches, as spooled and sent). The traffic is what the lab's loopback
 * exchanges make: dig asking unbound, four events per exchange (client egress query, server
 * ingress query, server egress response, client ingress response), 2000 distinct random names
 * (no name repeats within a batch but for the four events of its exchange), A and AAAA
 * answers. Variants leave fields out of the events to show what the bytes are made of.
 * Prints one line per variant: "ship <variant> <ns/event> <bytes/event>", then where the time
 * goes (encoding, deflate at level 6 and 1). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#include "clock.h"
#include "dns.h"
#include "event_pb.h"
#include "feed.h"
#include "log.h"
#include "ship.h"

#define EXCHANGES 25000 /* 100 000 events */
#define NAMES 2000
#define SPOOL_HDR 24    /* agent/spool.h: per batch file, not on the wire */

enum variant { FULL, RAW, NO_DATA_TEXT, NO_ADDR, NO_PROCESS, N_VARIANTS };
static const char *const variant_names[] = { "full", "with-raw", "without-rr-data-text",
					     "without-rr-addr", "without-process" };

static const struct proc_info dig = {
	.pid = 4242, .tid = 4242, .ppid = 4200, .uid = 0, .gid = 0, .comm = "dig",
	.exe = "/usr/bin/dig", .cmdline = "dig @10.77.0.1 +time=2 +tries=1 host.lab.test A",
	.cgroup = "/user.slice/user-0.slice/session-3.scope", .cgroup_id = 9001,
};
static const struct proc_info unbound = {
	.pid = 777, .tid = 777, .ppid = 1, .uid = 101, .gid = 101, .comm = "unbound",
	.exe = "/usr/sbin/unbound", .cmdline = "/usr/sbin/unbound -d -c /tmp/lab/unbound.conf",
	.cgroup = "/system.slice/lab.service", .cgroup_id = 9002,
};

/* A query or response for name n: a pseudo-random label of 4 to 15 letters and digits under
 * one of a few zones (names in real traffic share little but their zone), type A (1) or
 * AAAA (28), the address from n too. */
static size_t build(uint8_t *m, unsigned int n, uint16_t id, uint16_t type, bool response)
{
	static const char *const zones[] = { "\3lab\4test", "\7example\3com",
					     "\3cdn\7example\3net", "\4corp\x08internal" };
	const char *zone = zones[n % 4];
	uint32_t h = n * 2654435761u;
	size_t len = 12, l = 4 + h % 12;

	memset(m, 0, 12);
	m[0] = id >> 8, m[1] = id, m[2] = response ? 0x81 : 0x01, m[3] = response ? 0x80 : 0;
	m[5] = 1, m[7] = response;
	m[len++] = l;
	for (size_t i = 0; i < l; i++, h = h * 1103515245u + 12345)
		m[len++] = "abcdefghijklmnopqrstuvwxyz0123456789"[(h >> 16) % 36];
	memcpy(m + len, zone, strlen(zone) + 1);
	len += strlen(zone) + 1;
	m[len++] = 0, m[len++] = type, m[len++] = 0, m[len++] = 1;
	if (response) {
		uint16_t rdlen = type == 1 ? 4 : 16;

		memcpy(m + len, "\xc0\x0c", 2);
		len += 2;
		m[len++] = 0, m[len++] = type, m[len++] = 0, m[len++] = 1;
		m[len++] = 0, m[len++] = 0, m[len++] = 0x0e, m[len++] = 0x10; /* ttl 3600 */
		m[len++] = 0, m[len++] = rdlen;
		/* 10.0.x.y, 2001:db8::x:y */
		memset(m + len, 0, rdlen);
		if (type == 1)
			m[len] = 10;
		else
			m[len] = 0x20, m[len + 1] = 0x01, m[len + 2] = 0x0d, m[len + 3] = 0xb8;
		m[len + rdlen - 2] = n >> 8, m[len + rdlen - 1] = n;
		len += rdlen;
	}
	return len;
}

static void strip(struct dns_msg *msg, struct dns_rr *copy, enum variant v)
{
	for (size_t i = 0; i < msg->an.n; i++) {
		copy[i] = msg->an.rrs[i];
		if (v == NO_DATA_TEXT)
			copy[i].data = NULL;
		if (v == NO_ADDR)
			copy[i].addr = NULL;
	}
	msg->an.rrs = copy;
}

/* Event k of exchange i: client egress query, server ingress query, server egress response,
 * client ingress response; owned (event_clone), since the parser reuses its buffers. */
static struct event *exchange_event(uint32_t i, int k, enum variant v, const struct dns_msg *m,
				    const uint8_t *raw, size_t raw_len)
{
	bool client = k == 0 || k == 3, resp = k >= 2;
	uint16_t port = 1024 + i % 60000;
	struct event ev = {
		.type = EVENT_DNS, .ts_ns = 1764676800000000000ull + i * 50000ull + k,
		.host = "lab-host",
		.process = v == NO_PROCESS ? proc_unknown : client ? dig : unbound,
		.latency_ns = resp && client ? (int64_t)(183000 + i % 977) : -1,
		.net = { .transport = 17, .family = 4,
			 .direction = k % 2 ? NET_INGRESS : NET_EGRESS,
			 .role = client ? ROLE_CLIENT : ROLE_SERVER,
			 .src_port = resp ? 53 : port, .dst_port = resp ? port : 53,
			 .socket_cookie = client ? 100000 + i : 7,
			 .src_ip = { 10, 77, 0, resp ? 1 : 2 },
			 .dst_ip = { 10, 77, 0, resp ? 2 : 1 } },
		.dns = m, .raw = raw, .raw_len = raw_len,
	};

	return event_clone(&ev);
}

/* The four events of an exchange for each name, made once: the timed loops only copy them. */
static int make_traffic(enum variant v, struct event *out[NAMES][4])
{
	struct dns_parser *parser = dns_parser_new();
	int err = parser ? 0 : 1;

	for (uint32_t i = 0; !err && i < NAMES; i++) {
		uint16_t type = i % 3 ? 1 : 28, id = i * 7919;
		uint8_t m[128];
		struct dns_rr rrs[4];
		struct dns_msg msg;

		for (int resp = 0; !err && resp < 2; resp++) {
			size_t len = build(m, i, id, type, resp);

			err = dns_parse(parser, m, len, &msg) != 0;
			strip(&msg, rrs, v);
			for (int k = resp * 2; !err && k < resp * 2 + 2; k++) {
				out[i][k] = exchange_event(i, k, v, &msg, m, len);
				err = !out[i][k];
			}
		}
	}
	dns_parser_free(parser);
	return err;
}

static void free_traffic(struct event *t[NAMES][4])
{
	for (int i = 0; i < NAMES; i++)
		for (int k = 0; k < 4; k++)
			event_free(t[i][k]);
}

/* Event k of exchange i: the name's event with this exchange's time. */
static struct event traffic_event(struct event *t[NAMES][4], uint32_t i, int k)
{
	struct event ev = *t[i % NAMES][k];

	ev.ts_ns = 1764676800000000000ull + i * 50000ull + k;
	return ev;
}

/* Where the time goes: encoding 1000 events into a batch (pipeline thread), and deflating it
 * (shipper thread) at the level frame_encode uses (6) and at level 1. */
static int split(void)
{
	static struct event *t[NAMES][4];
	static uint8_t out[1 << 20];
	struct event_pb *pb = event_pb_new(0);
	struct feed_batch_header h = { "agent", "lab-host", "boot", 1 };
	struct jbuf body = { 0 };
	uint64_t enc = 0, z6 = 0, z1 = 0, zb6 = 0, zb1 = 0, n = 0;

	if (!pb || make_traffic(FULL, t))
		return 1;
	for (uint32_t i = 0; i < EXCHANGES; i += 250) {
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID), t1, t2;
		uLongf len6 = sizeof(out), len1 = sizeof(out);

		feed_batch_begin(&body, &h);
		for (uint32_t j = i; j < i + 250; j++) {
			for (int k = 0; k < 4; k++) {
				struct event ev = traffic_event(t, j, k);
				const uint8_t *bytes;
				size_t blen;

				if (event_pb_encode(pb, &ev, &bytes, &blen))
					return 1;
				feed_batch_add(&body, bytes, blen);
			}
		}
		t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		enc += t1 - t0;
		n += 1000;
		compress2(out, &len6, (const Bytef *)body.p, body.len, Z_DEFAULT_COMPRESSION);
		t2 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		z6 += t2 - t1, zb6 += len6;
		compress2(out, &len1, (const Bytef *)body.p, body.len, 1);
		z1 += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t2, zb1 += len1;
	}
	printf("ship split: encode+batch %.0f ns/event (%.1f bytes/event before zlib); "
	       "zlib level 6 %.0f ns/event %.1f bytes/event; level 1 %.0f ns/event %.1f "
	       "bytes/event\n", (double)enc / n, (double)body.len / 1000, (double)z6 / n,
	       (double)zb6 / n, (double)z1 / n, (double)zb1 / n);
	jbuf_free(&body);
	event_pb_free(pb);
	free_traffic(t);
	return 0;
}

static uint64_t stat_of(struct ship *s, const char *name)
{
	static struct stats_registry r;

	memset(&r, 0, sizeof(r));
	ship_declare_stats(s, &r);
	stats_refresh(&r);
	return *(const uint64_t *)stats_find(&r, name)->value;
}

static int run(enum variant v, const char *spool_dir, bool print)
{
	struct ship_collector col;
	const char *why;
	struct ship_opts o = {
		.collectors = &col, .n_collectors = 1, .spool_dir = spool_dir,
		.spool_max = 1ull << 30, .agent_id = "3d1219c7c4c5404aaa1f6d2a48adfda4",
		.host = "lab-host", .boot_id = "8a3f1b0e-2c4d-4e5f-9a6b-7c8d9e0f1a2b",
		.insecure_plaintext = true, .raw = v == RAW,
		/* Batches of 1000 events, raw ones too (they would close at 256 KiB): the bytes
		 * are counted per 1000 spooled. */
		.batch_bytes = 1u << 30,
		/* One failed connect, then quiet: the batches stay spooled. */
		.backoff_min_ms = 600000, .backoff_max_ms = 600000, .drain_ms = 1,
	};
	static struct event *t[NAMES][4];
	struct ship *s;
	uint64_t cpu = 0, events = 0;
	int err;

	if (ship_parse_collector("127.0.0.1:9", &col, &why) || make_traffic(v, t))
		return 1;
	err = ship_new(&o, &s);
	if (err)
		return 1;
	for (uint32_t i = 0; i < EXCHANGES; i += 250) {
		uint64_t t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);

		for (uint32_t j = i; j < i + 250; j++) {
			for (int k = 0; k < 4; k++) {
				struct event ev = traffic_event(t, j, k);

				sink_write(ship_sink(s), &ev);
			}
		}
		cpu += clock_ns(CLOCK_THREAD_CPUTIME_ID) - t0;
		events += 1000;
		/* Not timed: let the shipper (fsync per batch) keep up, so nothing is dropped. */
		while (stat_of(s, "spool_batches") + SHIP_QUEUE_LEN / 2 <
		       events / SHIP_DEFAULT_BATCH_EVENTS)
			usleep(1000);
	}
	while (stat_of(s, "spool_batches") < events / SHIP_DEFAULT_BATCH_EVENTS)
		usleep(1000);
	if (print)
		printf("ship %s %.0f %.1f\n", variant_names[v], (double)cpu / events,
	       (double)(stat_of(s, "spool_bytes") - SPOOL_HDR * stat_of(s, "spool_batches")) /
		       (events - events % SHIP_DEFAULT_BATCH_EVENTS));
	if (stat_of(s, "ship_queue_dropped_batches"))
		printf("ship %s: %lu batches dropped, figures wrong\n", variant_names[v],
		       (unsigned long)stat_of(s, "ship_queue_dropped_batches"));
	ship_free(s);
	free_traffic(t);
	return 0;
}

int main(void)
{
	char dir[] = "/tmp/dv-bench-ship-XXXXXX", spool[64], cmd[128];
	int err = 0;

	if (!mkdtemp(dir))
		return 1;
	/* A round not shown first: until glibc's mmap threshold has risen past zlib's deflate
	 * state, allocated per batch (at the first free of one), each batch costs page faults. */
	for (int v = -1; v < N_VARIANTS && !err; v++) {
		snprintf(spool, sizeof(spool), "%s/%d", dir, v + 1);
		err = run(v < 0 ? FULL : v, spool, v >= 0);
	}
	if (!err)
		err = split();
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) || err;
}
