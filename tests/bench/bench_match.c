/* Matcher benchmark: ns per match_query + match_response pair, the best of a few rounds.
 * Each round sends PAIRS queries of varied sockets, ids and names and answers each one after
 * `window` others: window is how many queries are pending, as at a given rate and latency
 * (20k qps at 50 ms: 1000). Prints "match window <n> <ns/pair>" for a few windows, the last
 * one close to the table's bound. `make bench` builds and runs it; to compare two versions of
 * agent/match.c, build BUILD/bench_match in each tree and run them in turn. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "match.h"

#define PAIRS 1000000
#define ROUNDS 5
#define NAMES 4096

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static char names[NAMES][64];

/* Query i: a client socket of 64 asking 10.0.0.53 from its own port, name i % NAMES. */
static void query_of(uint32_t i, struct net_info *net, struct dns_msg *msg, bool response)
{
	uint16_t port = 30000 + i % 64;
	uint8_t client[4] = { 10, 0, 0, 1 }, server[4] = { 10, 0, 0, 53 };

	memset(net, 0, sizeof(*net));
	net->transport = 17;
	net->family = 4;
	net->socket_cookie = 1 + i % 64;
	net->direction = response ? NET_INGRESS : NET_EGRESS;
	memcpy(response ? net->dst_ip : net->src_ip, client, 4);
	memcpy(response ? net->src_ip : net->dst_ip, server, 4);
	net->src_port = response ? 53 : port;
	net->dst_port = response ? port : 53;
	*msg = (struct dns_msg){
		.id = (uint16_t)(i * 40503u),
		.qr = response,
		.has_question = true,
		.qname = names[i % NAMES],
		.qtype = 1,
		.qclass = 1,
	};
}

static double round_ns(struct match *m, uint32_t window)
{
	struct net_info net;
	struct dns_msg msg;
	uint64_t start, matched = match_stats(m)->matched;

	start = now_ns();
	for (uint32_t i = 0; i < PAIRS + window; i++) {
		if (i < PAIRS) {
			query_of(i, &net, &msg, false);
			match_query(m, &net, NULL, &msg, i);
		}
		if (i >= window) {
			query_of(i - window, &net, &msg, true);
			match_response(m, &net, &msg, i);
		}
	}
	if (match_stats(m)->matched - matched != PAIRS) {
		fprintf(stderr, "bench_match: %llu of %d pairs matched\n",
			(unsigned long long)(match_stats(m)->matched - matched), PAIRS);
		exit(1);
	}
	return (double)(now_ns() - start) / PAIRS;
}

int main(void)
{
	static const uint32_t windows[] = { 1, 1000, 60000 };

	for (int i = 0; i < NAMES; i++)
		snprintf(names[i], sizeof(names[i]), "host%d.Example.TEST", i);
	for (size_t w = 0; w < sizeof(windows) / sizeof(windows[0]); w++) {
		struct match *m = match_new(0, MATCH_DEFAULT_MAX_PENDING);
		double best = 1e18;

		if (!m) {
			perror("match_new");
			return 1;
		}
		for (int r = 0; r < ROUNDS; r++) {
			double ns = round_ns(m, windows[w]);

			if (ns < best)
				best = ns;
		}
		printf("match window %u %.1f\n", windows[w], best);
		match_free(m);
	}
	return 0;
}
