/* Passive DNS store and nameserver infrastructure benchmark, on a real SQLite file in a
 * temporary directory under DIR (argument; default build): microseconds per pdns_observe for
 * new rows, for updates, at the row bound (each new row evicts one) and with a commit per
 * observation (what the batching avoids); the file's size per 100k rows; COF export rows/s;
 * microseconds per nsinfra_observe of a parsed referral with glue. Prints one line per
 * figure. `make bench` runs it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "nsinfra.h"

#define ROWS 100000
#define SYNC_OBS 2000
#define RESPONSES 100000
#define DOMAINS 5000

static char dir[256];

static void clean(void)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[300];

	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, PDNS_FILE, files[i]);
		unlink(path);
	}
}

static struct pdns *open_store(size_t max_rows)
{
	struct pdns *p;

	if (pdns_open(dir, max_rows, &p)) {
		fprintf(stderr, "bench_pdns: cannot open a store in %s\n", dir);
		exit(1);
	}
	return p;
}

/* n observations, the i-th of row i * mult % rows, per_second of them in each simulated
 * second (5000: batches close by count, 1024 distinct records). */
static double observe_us(struct pdns *p, uint32_t n, uint32_t rows, uint32_t mult,
			 uint32_t per_second, bool sync)
{
	char name[64], addr[32];
	uint64_t start = clock_ns(CLOCK_MONOTONIC);

	for (uint32_t i = 0; i < n; i++) {
		uint32_t r = (uint32_t)((uint64_t)i * mult % rows);

		snprintf(name, sizeof(name), "host%u.zone%u.bench.example", r, r % 97);
		snprintf(addr, sizeof(addr), "10.%u.%u.%u", r >> 16 & 255, r >> 8 & 255, r & 255);
		if (pdns_observe(p, name, 1, addr, 1700000000 + i / per_second))
			exit(1);
		if (sync && pdns_flush(p))
			exit(1);
	}
	pdns_flush(p);
	return (double)(clock_ns(CLOCK_MONOTONIC) - start) / 1000.0 / n;
}

static void put_name(uint8_t *b, size_t *n, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		b[(*n)++] = (uint8_t)len;
		memcpy(b + *n, name, len);
		*n += len;
		name += len + (dot != NULL);
	}
	b[(*n)++] = 0;
}

static void put16(uint8_t *b, size_t *n, uint16_t v)
{
	b[(*n)++] = v >> 8;
	b[(*n)++] = v & 0xff;
}

/* A .com server's referral for www.d<i>.com: two NS of a provider and their A glue. */
static size_t referral(uint8_t *b, unsigned i)
{
	static const uint8_t header[] = { 0x12, 0x34, 0x80, 0, 0, 1, 0, 0, 0, 2, 0, 2 };
	char name[64], ns[64];
	size_t n = sizeof(header);

	memcpy(b, header, n);
	snprintf(name, sizeof(name), "www.d%u.com", i);
	put_name(b, &n, name);
	put16(b, &n, 1);
	put16(b, &n, 1);
	for (int k = 0; k < 2; k++) {
		size_t len_at;

		put_name(b, &n, name + 4);
		put16(b, &n, 2);
		put16(b, &n, 1);
		put16(b, &n, 0);
		put16(b, &n, 3600);
		len_at = n;
		n += 2;
		snprintf(ns, sizeof(ns), "ns%d.provider%u.net", k + 1, i % 50);
		put_name(b, &n, ns);
		b[len_at] = 0;
		b[len_at + 1] = (uint8_t)(n - len_at - 2);
	}
	for (int k = 0; k < 2; k++) {
		snprintf(ns, sizeof(ns), "ns%d.provider%u.net", k + 1, i % 50);
		put_name(b, &n, ns);
		put16(b, &n, 1);
		put16(b, &n, 1);
		put16(b, &n, 0);
		put16(b, &n, 3600);
		put16(b, &n, 4);
		b[n++] = 192, b[n++] = 0, b[n++] = 2, b[n++] = (uint8_t)(k + 1);
	}
	return n;
}

static void bench_nsinfra(void)
{
	struct nsinfra_opts o = NSINFRA_DEFAULTS;
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	static uint8_t wire[DOMAINS][512];
	static struct dns_msg msgs[DOMAINS];
	static struct dns_parser *parsers[DOMAINS];
	struct regdom *r;
	struct pdns *p = open_store(PDNS_DEFAULT_MAX_ROWS);
	struct nsinfra *n;
	uint64_t start;
	size_t k;

	if (regdom_open(NULL, &r) || nsinfra_open(p, r, &o, &n))
		exit(1);
	/* parsed once, outside the timing: a parser per message keeps each one's strings */
	for (unsigned i = 0; i < DOMAINS; i++) {
		size_t len = referral(wire[i], i);

		parsers[i] = dns_parser_new();
		if (!parsers[i] || dns_parse(parsers[i], wire[i], len, &msgs[i]))
			exit(1);
	}
	start = clock_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < RESPONSES; i++) {
		struct event ev = { .type = EVENT_DNS, .dns = &msgs[i % DOMAINS],
				    .net = { .direction = NET_INGRESS } };

		if (nsinfra_observe(n, &ev, 1700000000 + i / 5000, c, NSINFRA_MAX_CHANGES, &k))
			exit(1);
	}
	pdns_flush(p);
	printf("nsinfra_observe referral+glue (2 NS, 2 A; 4 pdns rows each) us %.2f\n",
	       (double)(clock_ns(CLOCK_MONOTONIC) - start) / 1000.0 / RESPONSES);
	/* most responses carry no NS record: what they cost the stage */
	msgs[0].ns.n = 0;
	start = clock_ns(CLOCK_MONOTONIC);
	for (unsigned i = 0; i < RESPONSES; i++) {
		struct event ev = { .type = EVENT_DNS, .dns = &msgs[0],
				    .net = { .direction = NET_INGRESS } };

		if (nsinfra_observe(n, &ev, 1700000000, c, NSINFRA_MAX_CHANGES, &k))
			exit(1);
	}
	printf("nsinfra_observe of a response without NS records ns %.0f\n",
	       (double)(clock_ns(CLOCK_MONOTONIC) - start) / RESPONSES);
	nsinfra_close(n);
	pdns_close(p);
	regdom_free(r);
	for (unsigned i = 0; i < DOMAINS; i++)
		dns_parser_free(parsers[i]);
}

int main(int argc, char **argv)
{
	struct pdns *p;
	struct stat st;
	char path[300];
	uint64_t start;
	FILE *null;
	double us;

	snprintf(dir, sizeof(dir), "%s/bench_pdns.XXXXXX", argc > 1 ? argv[1] : "build");
	if (!mkdtemp(dir)) {
		perror("bench_pdns: mkdtemp");
		return 1;
	}
	p = open_store(PDNS_DEFAULT_MAX_ROWS);
	us = observe_us(p, ROWS, ROWS, 1, 5000, false);
	printf("pdns_observe new row us %.2f (%.0f rows/s)\n", us, 1e6 / us);
	/* 7919 is prime to ROWS: every row once, in scattered order */
	us = observe_us(p, ROWS, ROWS, 7919, 5000, false);
	printf("pdns_observe update of a row us %.2f (%.0f/s)\n", us, 1e6 / us);
	/* the common case: names looked up again and again, here 500 records */
	us = observe_us(p, ROWS, 500, 1, 5000, false);
	printf("pdns_observe of one of 500 records, 5000/s (each written once a second) us "
	       "%.2f\n", us);
	us = observe_us(p, ROWS, 500, 1, ROWS, false);
	printf("pdns_observe of one of 500 records within one second (coalesced) us %.2f\n", us);
	null = fopen("/dev/null", "w");
	start = clock_ns(CLOCK_MONOTONIC);
	if (!null || pdns_export_cof(p, null))
		return 1;
	fclose(null);
	printf("pdns_export_cof rows/s %.0f\n",
	       ROWS / ((double)(clock_ns(CLOCK_MONOTONIC) - start) / 1e9));
	pdns_close(p); /* the last connection's close checkpoints the WAL into the file */
	snprintf(path, sizeof(path), "%s/%s", dir, PDNS_FILE);
	if (stat(path, &st))
		return 1;
	printf("pdns file bytes per 100k rows %lld (%.0f per row)\n",
	       (long long)st.st_size * 100000 / ROWS, (double)st.st_size / ROWS);
	clean();

	p = open_store(ROWS / 2);
	us = observe_us(p, ROWS, ROWS, 1, 5000, false);
	printf("pdns_observe new row at the bound (evicting one) us %.2f (evicted %llu)\n", us,
	       (unsigned long long)pdns_stats(p)->evicted);
	pdns_close(p);
	clean();

	p = open_store(PDNS_DEFAULT_MAX_ROWS);
	us = observe_us(p, SYNC_OBS, SYNC_OBS, 1, 5000, true);
	printf("pdns_observe with a commit each (not done: batching) us %.2f\n", us);
	pdns_close(p);
	clean();

	bench_nsinfra();
	clean();
	rmdir(dir);
	return 0;
}
