/* The agent's flow without a kernel: canned ring-buffer records into capture, through the
 * stages the agent runs (owner wait, match, origin, /proc), into a sink that keeps what it
 * gets. The owner map is a table of the test's; /proc is the real one, and the processes
 * named in records are this test's own, so /proc has something to say about them. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "capture.h"
#include "clock.h"
#include "dnsvigil.h"

#include "pipeline.h"
#include "stage.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define TYPE_A 1
#define MAX_EVENTS 32
#define MAX_OWNERS 8
#define TIMEOUT_NS (5 * SEC)

/* A sink that keeps owned copies of what it is given. */
struct kept_sink {
	struct sink base;
	struct event *events[MAX_EVENTS];
	int n;
};

static int keep_write(struct sink *s, const struct event *ev)
{
	struct kept_sink *k = (struct kept_sink *)s;

	assert_true(k->n < MAX_EVENTS);
	k->events[k->n] = event_clone(ev);
	assert_non_null(k->events[k->n]);
	k->n++;
	return 0;
}

static int keep_flush(struct sink *s)
{
	(void)s;
	return 0;
}

static void keep_free(struct sink *s)
{
	(void)s;
}

static const struct sink_ops keep_ops = { .write = keep_write, .flush = keep_flush,
					  .free = keep_free };

/* The owner map as the kernel hooks and socket scans would have filled it. */
struct owner_map {
	uint64_t cookie[MAX_OWNERS];
	struct dv_owner owner[MAX_OWNERS];
	int n;
	int lookups;
};

static bool map_lookup(void *ctx, uint64_t cookie, struct proc_info *who)
{
	struct owner_map *m = ctx;

	m->lookups++;
	for (int i = 0; i < m->n; i++) {
		if (m->cookie[i] == cookie) {
			owner_identity(&m->owner[i], who);
			return true;
		}
	}
	return false;
}

struct fixture {
	struct stats_registry stats;
	struct kept_sink sink;
	struct sink *sinks[1];
	struct owner_map map;
	struct pipeline *pipeline;
	struct capture *capture;
	uint64_t t0; /* CLOCK_MONOTONIC at the start: the records' times count from it */
};

static int setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	struct stage *stages[4];
	struct pipeline_opts opts = {
		.host = "test-host",
		.stages = stages,
		.n_stages = 4,
		.n_sinks = 1,
	};

	assert_non_null(fx);
	fx->sink.base.ops = &keep_ops;
	fx->sinks[0] = &fx->sink.base;
	opts.sinks = fx->sinks;
	opts.stats = &fx->stats;
	stages[0] = stage_owner_new(map_lookup, &fx->map);
	stages[1] = stage_match_new(TIMEOUT_NS, 1024);
	stages[2] = stage_origin_new();
	stages[3] = stage_proc_new("/proc");
	fx->t0 = clock_ns(CLOCK_MONOTONIC);
	assert_int_equal(pipeline_new(&opts, fx->t0, &fx->pipeline), 0);
	assert_int_equal(capture_new(fx->pipeline, &fx->stats, &fx->capture), 0);
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	pipeline_free(fx->pipeline);
	capture_free(fx->capture);
	for (int i = 0; i < fx->sink.n; i++)
		event_free(fx->sink.events[i]);
	free(fx);
	return 0;
}

static struct dv_owner owner_of(pid_t pid, const char *comm)
{
	struct dv_owner o = { .tgid = pid, .pid = pid, .uid = getuid(), .gid = getgid(),
			      .cgroup_id = 1, .source = DV_OWNER_CONNECT };

	snprintf(o.comm, sizeof(o.comm), "%s", comm);
	return o;
}

/* A DNS message with one question and, for a response, one A record 192.0.2.1. */
static size_t dns_message(uint8_t *buf, uint16_t id, bool qr, const char *qname)
{
	size_t n = 12;

	memset(buf, 0, 12);
	buf[0] = id >> 8;
	buf[1] = id & 0xff;
	buf[2] = qr ? 0x81 : 0x01; /* QR, RD */
	buf[3] = qr ? 0x80 : 0x00; /* RA */
	buf[5] = 1;                /* QDCOUNT */
	buf[7] = qr;               /* ANCOUNT */
	for (const char *label = qname; *label;) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		buf[n++] = len;
		memcpy(buf + n, label, len);
		n += len;
		label += len + (dot != NULL);
	}
	buf[n++] = 0;
	memcpy(buf + n, "\0\1\0\1", 4); /* A IN */
	n += 4;
	if (qr) {
		static const uint8_t answer[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4,
						  192, 0, 2, 1 };

		memcpy(buf + n, answer, sizeof(answer));
		n += sizeof(answer);
	}
	return n;
}

/* One UDP packet between 127.0.0.a:a_port and 127.0.0.b:b_port as a dv_pkt record. owner
 * NULL: the kernel knew nobody (an accepted TCP socket's first query, say). */
static void packet(struct fixture *fx, uint64_t at_ns, uint64_t cookie, uint8_t direction,
		   int a, uint16_t a_port, int b, uint16_t b_port, uint16_t id, bool qr,
		   const char *qname, const struct dv_owner *owner)
{
	struct dv_pkt rec = { .hdr = {
		.kind = DV_REC_PKT,
		.direction = direction,
		.family = 4,
		.l4proto = IPPROTO_UDP,
		.sport = a_port,
		.dport = b_port,
		.ts_ns = fx->t0 + at_ns,
		.cookie = cookie,
		.sock_uid = 4242,
	} };
	uint8_t *src = (uint8_t *)rec.hdr.saddr, *dst = (uint8_t *)rec.hdr.daddr;

	rec.hdr.payload_len = rec.hdr.chunk_len = dns_message(rec.data, id, qr, qname);
	src[0] = dst[0] = 127;
	src[3] = a;
	dst[3] = b;
	if (owner) {
		rec.hdr.owner = *owner;
		rec.hdr.flags |= DV_PKT_OWNER_KNOWN;
	}
	capture_packet(fx->capture, &rec);
}

static void owner_notice(struct fixture *fx, uint64_t cookie, const struct dv_owner *owner)
{
	struct dv_owner_rec rec = { .kind = DV_REC_OWNER, .cookie = cookie, .owner = *owner };

	capture_owner(fx->capture, &rec);
}

static const struct event *event_at(struct fixture *fx, int i)
{
	assert_true(i < fx->sink.n);
	return fx->sink.events[i];
}

static uint64_t counter(struct fixture *fx, const char *name)
{
	const struct stats_entry *e = stats_find(&fx->stats, name);

	assert_non_null(e);
	assert_int_equal(e->kind, STATS_U64);
	return *(const uint64_t *)e->value;
}

static void answered_query_gets_latency_and_process(void **state)
{
	struct fixture *fx = *state;
	struct dv_owner me = owner_of(getpid(), "client");
	const struct event *q, *r;
	char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);

	assert_true(n > 0);
	exe[n] = '\0';
	packet(fx, 1 * MS, 7, DV_EGRESS, 1, 40000, 53, 53, 0x1234, false, "a.example.test", &me);
	packet(fx, 3 * MS, 7, DV_INGRESS, 53, 53, 1, 40000, 0x1234, true, "a.example.test", &me);
	assert_int_equal(fx->sink.n, 2);
	q = event_at(fx, 0);
	r = event_at(fx, 1);
	assert_int_equal(q->type, EVENT_DNS);
	assert_string_equal(q->host, "test-host");
	assert_int_equal(q->process.pid, getpid());
	assert_string_equal(q->process.comm, "client");
	/* stage_proc: from /proc, this very test program */
	assert_non_null(q->process.exe);
	assert_string_equal(q->process.exe, exe);
	assert_int_equal(q->net.role, ROLE_CLIENT);
	assert_int_equal(q->latency_ns, -1);
	assert_int_equal(r->latency_ns, 2 * MS);
	assert_string_equal(r->dns->an.rrs[0].data, "192.0.2.1");
	assert_int_equal(counter(fx, "responses_matched"), 1);
	assert_int_equal(counter(fx, "messages"), 2);
}

/* The query of a socket nobody is known to own waits; when an owner notice names the
 * socket it goes on with that owner, and its timeout later says who asked. */
static void waiting_query_that_times_out_names_its_process(void **state)
{
	struct fixture *fx = *state;
	struct dv_owner me = owner_of(getpid(), "asker");
	const struct event *q, *t;

	packet(fx, 1 * MS, 9, DV_EGRESS, 1, 40001, 53, 53, 0x0101, false, "slow.example.test",
	       NULL);
	assert_int_equal(fx->sink.n, 0);
	owner_notice(fx, 9, &me);
	assert_int_equal(fx->sink.n, 1);
	q = event_at(fx, 0);
	assert_int_equal(q->process.pid, getpid());
	assert_string_equal(q->process.comm, "asker");

	pipeline_tick(fx->pipeline, fx->t0 + 1 * MS + TIMEOUT_NS + 1);
	assert_int_equal(fx->sink.n, 2);
	t = event_at(fx, 1);
	assert_int_equal(t->type, EVENT_TIMEOUT);
	assert_string_equal(t->timeout->qname, "slow.example.test");
	assert_int_equal(t->process.pid, getpid());
	assert_string_equal(t->process.comm, "asker");
	assert_non_null(t->process.exe);
	assert_int_equal(counter(fx, "timeouts"), 1);
	assert_int_equal(counter(fx, "unattributed_packets"), 0);
}

/* A TCP client asks the local stub; the stub's accepted socket has no owner yet, so its
 * received query waits. The stub's upstream query for the same question waits behind it
 * and, once the stub is named (here when it answers on that socket), gets the client as
 * origin, as does the upstream response. */
static void waiting_stub_query_gives_its_upstream_query_an_origin(void **state)
{
	struct fixture *fx = *state;
	struct dv_owner client = owner_of(getpid(), "dig");
	struct dv_owner stub = owner_of(getppid(), "dnsmasq");
	const char *name = "fwd.example.test";
	const struct event *ev;

	/* client 127.0.0.1:41000 -> stub 127.0.0.53:53; stub 127.0.0.53:42000 -> 127.0.0.9:53 */
	packet(fx, 1 * MS, 100, DV_EGRESS, 1, 41000, 53, 53, 0x0a0a, false, name, &client);
	packet(fx, 1 * MS + 10, 200, DV_INGRESS, 1, 41000, 53, 53, 0x0a0a, false, name, NULL);
	packet(fx, 2 * MS, 300, DV_EGRESS, 53, 42000, 9, 53, 0x0b0b, false, name, &stub);
	packet(fx, 3 * MS, 300, DV_INGRESS, 9, 53, 53, 42000, 0x0b0b, true, name, &stub);
	assert_int_equal(fx->sink.n, 1); /* the client's query; the rest waits */
	packet(fx, 4 * MS, 200, DV_EGRESS, 53, 53, 1, 41000, 0x0a0a, true, name, &stub);
	packet(fx, 4 * MS + 10, 100, DV_INGRESS, 53, 53, 1, 41000, 0x0a0a, true, name, &client);
	assert_int_equal(fx->sink.n, 6);

	/* capture order kept */
	ev = event_at(fx, 1);
	assert_int_equal(ev->net.socket_cookie, 200);
	assert_int_equal(ev->process.pid, getppid());
	assert_false(ev->has_origin);
	for (int i = 2; i <= 3; i++) {
		ev = event_at(fx, i);
		assert_int_equal(ev->net.socket_cookie, 300);
		assert_int_equal(ev->process.pid, getppid());
		assert_true(ev->has_origin);
		assert_int_equal(ev->origin.pid, getpid());
		assert_string_equal(ev->origin.comm, "dig");
		assert_non_null(ev->origin.exe); /* stage_proc fills origin too */
	}
	assert_int_equal(event_at(fx, 3)->latency_ns, 1 * MS);
	/* the stub's answer to its client matched the waiting query */
	assert_int_equal(event_at(fx, 4)->latency_ns, 3 * MS - 10);
	assert_int_equal(event_at(fx, 5)->latency_ns, 3 * MS + 10);
	assert_int_equal(counter(fx, "unattributed_packets"), 0);
}

/* The owner map (a socket hook or scan after the packet) names the owner on a later tick. */
static void waiting_message_learns_its_owner_from_the_map(void **state)
{
	struct fixture *fx = *state;

	packet(fx, 1 * MS, 11, DV_INGRESS, 2, 40002, 53, 53, 0x0202, false, "late.example.test",
	       NULL);
	assert_int_equal(fx->sink.n, 0);
	assert_int_equal(fx->map.lookups, 1);
	fx->map.cookie[0] = 11;
	fx->map.owner[0] = owner_of(getpid(), "server");
	fx->map.n = 1;
	pipeline_tick(fx->pipeline, fx->t0 + 2 * MS);
	assert_int_equal(fx->sink.n, 1);
	assert_int_equal(event_at(fx, 0)->process.pid, getpid());
	assert_int_equal(event_at(fx, 0)->net.role, ROLE_SERVER);
}

/* Nobody names it within the wait: it goes on with what the kernel knew (the socket's uid),
 * counted; unrelated messages never waited behind it. */
static void message_nobody_owns_goes_on_unattributed_and_counted(void **state)
{
	struct fixture *fx = *state;
	struct dv_owner me = owner_of(getpid(), "other");

	packet(fx, 1 * MS, 12, DV_EGRESS, 3, 40003, 53, 53, 0x0303, false, "lost.example.test",
	       NULL);
	packet(fx, 2 * MS, 13, DV_EGRESS, 4, 40004, 53, 53, 0x0404, false, "free.example.test",
	       &me);
	assert_int_equal(fx->sink.n, 1);
	assert_string_equal(event_at(fx, 0)->dns->qname, "free.example.test");
	pipeline_tick(fx->pipeline, fx->t0 + 100 * MS);
	assert_int_equal(fx->sink.n, 1);
	pipeline_tick(fx->pipeline, fx->t0 + 1 * MS + 300 * MS);
	assert_int_equal(fx->sink.n, 2);
	assert_int_equal(event_at(fx, 1)->process.pid, -1);
	assert_int_equal(event_at(fx, 1)->process.uid, 4242);
	assert_int_equal(counter(fx, "unattributed_packets"), 1);
}

/* At exit nothing stays behind: what still waits goes on, unattributed. */
static void finish_passes_on_what_still_waits(void **state)
{
	struct fixture *fx = *state;

	packet(fx, 1 * MS, 14, DV_EGRESS, 5, 40005, 53, 53, 0x0505, false, "exit.example.test",
	       NULL);
	assert_int_equal(fx->sink.n, 0);
	pipeline_finish(fx->pipeline, fx->t0 + 2 * MS);
	assert_int_equal(fx->sink.n, 1);
	assert_int_equal(event_at(fx, 0)->process.pid, -1);
	assert_int_equal(counter(fx, "unattributed_packets"), 1);
}

/* Owner notices teach the stages; the sinks never see them. */
static void owner_notice_is_not_an_output_event(void **state)
{
	struct fixture *fx = *state;
	struct dv_owner me = owner_of(getpid(), "x");

	owner_notice(fx, 15, &me);
	assert_int_equal(fx->sink.n, 0);
	assert_int_equal(counter(fx, "events_written"), 0);
}

/* A packet in two chunks comes out as one message. */
static void packet_in_two_chunks_is_one_message(void **state)
{
	struct fixture *fx = *state;
	struct dv_owner me = owner_of(getpid(), "big");
	struct dv_pkt first = { .hdr = { .kind = DV_REC_PKT, .direction = DV_INGRESS, .family = 4,
					  .l4proto = IPPROTO_UDP, .sport = 53, .dport = 40006,
					  .ts_ns = fx->t0 + MS, .cookie = 16,
					  .flags = DV_PKT_OWNER_KNOWN, .owner = me } };
	struct dv_pkt second = first;
	uint8_t msg[2 * DV_CHUNK_LEN];
	size_t len = dns_message(msg, 0x0606, true, "big.example.test");

	/* padded with a second copy of the answer's bytes: trailing garbage is still parsed */
	memset(msg + len, 0, sizeof(msg) - len);
	len = DV_CHUNK_LEN + 40;
	first.hdr.payload_len = second.hdr.payload_len = len;
	first.hdr.chunk_len = DV_CHUNK_LEN;
	memcpy(first.data, msg, DV_CHUNK_LEN);
	second.hdr.chunk_off = DV_CHUNK_LEN;
	second.hdr.chunk_len = 40;
	memcpy(second.data, msg + DV_CHUNK_LEN, 40);
	capture_packet(fx->capture, &first);
	assert_int_equal(fx->sink.n, 0);
	capture_packet(fx->capture, &second);
	assert_int_equal(fx->sink.n, 1);
	assert_int_equal(event_at(fx, 0)->raw_len, len);
	assert_string_equal(event_at(fx, 0)->dns->qname, "big.example.test");
	assert_int_equal(counter(fx, "packets"), 1);
	assert_int_equal(counter(fx, "incomplete_packets"), 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
	const struct CMUnitTest tests[] = {
		T(answered_query_gets_latency_and_process),
		T(waiting_query_that_times_out_names_its_process),
		T(waiting_stub_query_gives_its_upstream_query_an_origin),
		T(waiting_message_learns_its_owner_from_the_map),
		T(message_nobody_owns_goes_on_unattributed_and_counted),
		T(finish_passes_on_what_still_waits),
		T(owner_notice_is_not_an_output_event),
		T(packet_in_two_chunks_is_one_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
