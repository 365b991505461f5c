/* Agent benchmark without a kernel: ns of CPU per DNS message from ring-buffer record to a
 * JSON line, through capture, the agent's stages and the JSON lines sink (to /dev/null).
 * Each exchange is the four records a loopback query and response make (client egress query,
 * server ingress query, server egress response, client ingress response), owners known, as
 * in scripts/bench.sh. Prints "pipeline <ns/message>", the best of a few rounds. An argument
 * names threat intel for the correlation stage (make bench: bench_intel's 1 M indicators):
 * what matching every lookup against it costs. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "capture.h"
#include "clock.h"
#include "correlate.h"
#include "match.h"
#include "pipeline.h"
#include "stage.h"

#define EXCHANGES 200000
#define ROUNDS 5

static size_t message(uint8_t *buf, uint16_t id, bool qr)
{
	static const uint8_t question[] = { 3, 'w', 'w', 'w', 7, 'e', 'x', 'a', 'm', 'p', 'l',
					    'e', 4, 't', 'e', 's', 't', 0, 0, 1, 0, 1 };
	static const uint8_t answer[] = { 0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 1 };
	size_t n = 12;

	memset(buf, 0, 12);
	buf[0] = id >> 8;
	buf[1] = id;
	buf[2] = qr ? 0x81 : 0x01;
	buf[3] = qr ? 0x80 : 0;
	buf[5] = 1;
	buf[7] = qr;
	memcpy(buf + n, question, sizeof(question));
	n += sizeof(question);
	if (qr) {
		memcpy(buf + n, answer, sizeof(answer));
		n += sizeof(answer);
	}
	return n;
}

static void record(struct dv_pkt *rec, uint64_t ts, uint64_t cookie, uint8_t direction,
		   uint16_t client_port, bool from_client, uint16_t id, bool qr,
		   const struct dv_owner *owner)
{
	*rec = (struct dv_pkt){ .hdr = {
		.kind = DV_REC_PKT, .direction = direction, .family = 4,
		.l4proto = 17, .ts_ns = ts, .cookie = cookie,
		.flags = DV_PKT_OWNER_KNOWN, .owner = *owner,
		.sport = from_client ? client_port : 53,
		.dport = from_client ? 53 : client_port,
		.saddr = { htonl(from_client ? 0x7f000001 : 0x7f350001) },
		.daddr = { htonl(from_client ? 0x7f350001 : 0x7f000001) },
	} };
	rec->hdr.payload_len = rec->hdr.chunk_len = message(rec->data, id, qr);
}

static double cpu_ns(void)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID);
}

int main(int argc, char **argv)
{
	struct dv_owner client = { .tgid = getpid(), .pid = getpid(), .comm = "dnsperf" };
	struct dv_owner server = { .tgid = getppid(), .pid = getppid(), .comm = "unbound" };
	double best = 0;

	for (int round = 0; round < ROUNDS; round++) {
		static struct stats_registry reg;
		struct correlate_stage_opts correlate = {
			.rules = CORRELATE_DEFAULTS,
			.intel_paths = (const char *const *)argv + 1,
			.n_intel = argc > 1,
			.ns = NSINFRA_DEFAULTS,
		};
		struct stage *stages[] = {
			stage_owner_new(NULL, NULL),
			stage_match_new(MATCH_DEFAULT_TIMEOUT_NS, MATCH_DEFAULT_MAX_PENDING),
			stage_origin_new(),
			stage_proc_new("/proc"),
			stage_correlate_new(&correlate),
		};
		struct sink *sink;
		struct pipeline_opts opts = { .host = "bench", .stages = stages,
					      .n_stages = ARRAY_LEN(stages),
					      .sinks = &sink, .n_sinks = 1, .stats = &reg };
		struct pipeline *p;
		struct capture *c;
		uint64_t t = clock_ns(CLOCK_MONOTONIC) - 10000000000ull; /* all in the past */
		struct dv_pkt rec;
		double start, ns;

		memset(&reg, 0, sizeof(reg));
		if (sink_jsonl_new("/dev/null", &sink) || pipeline_new(&opts, t, &p) ||
		    capture_new(p, &reg, &c))
			return 1;
		start = cpu_ns();
		for (uint32_t i = 0; i < EXCHANGES; i++) {
			uint16_t port = 1024 + i % 60000, id = i * 7919;
			uint64_t cookie = 1000 + i % 4096;

			record(&rec, t += 10000, cookie, DV_EGRESS, port, true, id, false, &client);
			capture_packet(c, &rec);
			record(&rec, t += 1000, 7, DV_INGRESS, port, true, id, false, &server);
			capture_packet(c, &rec);
			record(&rec, t += 20000, 7, DV_EGRESS, port, false, id, true, &server);
			capture_packet(c, &rec);
			record(&rec, t += 1000, cookie, DV_INGRESS, port, false, id, true, &client);
			capture_packet(c, &rec);
			if (i % 2048 == 0)
				pipeline_tick(p, t);
		}
		pipeline_finish(p, t);
		ns = (cpu_ns() - start) / (4.0 * EXCHANGES);
		if (!best || ns < best)
			best = ns;
		capture_free(c);
		pipeline_free(p);
		sink_free(sink);
	}
	printf("pipeline %.0f%s\n", best, argc > 1 ? " (with the intel of bench_intel)" : "");
	return 0;
}
