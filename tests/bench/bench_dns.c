/* Parser benchmark: parses each given message repeatedly for about half a second and prints
 * "parse <file> <bytes> <ns/msg>"; the last line repeats the first file, which should be a
 * typical A response (e.g. tests/unit/data/a-response.bin).
 *
 *   bench_dns tests/unit/data/a-response.bin tests/unit/data/mx-response.bin
 */
#include "dns.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BATCH 1000
#define ROUNDS 20
#define ROUND_NS 25000000ull

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static int read_file(const char *path, uint8_t *buf, size_t cap, size_t *len)
{
	FILE *f = fopen(path, "rb");

	if (!f)
		return -errno;
	*len = fread(buf, 1, cap, f);
	fclose(f);
	return 0;
}

/* ns per parse of msg[0..len): the best of a few rounds, the one least disturbed by other
 * work on the machine */
static double bench(struct dns_parser *p, const uint8_t *msg, size_t len)
{
	double best = 0;

	for (int r = 0; r < ROUNDS; r++) {
		uint64_t start = now_ns(), elapsed, n = 0;
		struct dns_msg out;
		double ns;

		do {
			for (int i = 0; i < BATCH; i++) {
				dns_parse(p, msg, len, &out);
				/* keep the compiler from dropping the parse */
				__asm__ volatile("" : : "r"(&out) : "memory");
			}
			n += BATCH;
			elapsed = now_ns() - start;
		} while (elapsed < ROUND_NS);
		ns = (double)elapsed / (double)n;
		if (!r || ns < best)
			best = ns;
	}
	return best;
}

int main(int argc, char **argv)
{
	static uint8_t msg[65536];
	struct dns_parser *p;
	double first = 0;
	size_t len = 0;
	int err;

	if (argc < 2) {
		fprintf(stderr, "usage: %s A-RESPONSE.bin [MSG.bin...]\n", argv[0]);
		return 2;
	}
	p = dns_parser_new();
	if (!p) {
		fprintf(stderr, "bench_dns: out of memory\n");
		return 1;
	}
	for (int i = 1; i < argc; i++) {
		double ns;

		err = read_file(argv[i], msg, sizeof(msg), &len);
		if (err) {
			fprintf(stderr, "bench_dns: %s: %s\n", argv[i], strerror(-err));
			dns_parser_free(p);
			return 1;
		}
		ns = bench(p, msg, len);
		if (i == 1)
			first = ns;
		printf("parse %s %zu %.1f\n", argv[i], len, ns);
	}
	printf("typical A response %s: %.1f ns/msg\n", argv[1], first);
	dns_parser_free(p);
	return 0;
}
