/* Threat-intel benchmark: load time and memory of 1 M indicators, and lookups per second.
 *
 * Writes a realistic mix into a temporary directory: a plain list of 600k domains (a third of
 * them as hosts-file lines), an RPZ zone of 300k triggers (qname exact and wildcard, rpz-ip,
 * nsdname, nsip, passthru) and a list of 100k addresses and CIDRs (v4 and v6). Loads it
 * (best of LOADS; RSS growth from /proc/self/status, the peak as VmHWM), then times name
 * lookups (1 Mi distinct query names, 97 % in no intel as in real traffic, 3 % under listed
 * domains; every lookup a cache miss, the worst case), the same for a working set of N_HOT
 * names (what a host mostly asks), and address lookups (1 Mi addresses, 90 % v4, 3 % in
 * listed addresses), one thread, best of ROUNDS, in the thread's CPU time. `make bench` builds and runs it;
 * `make build/bench_intel && build/bench_intel` alone. With a directory argument the
 * indicators are written there and left, for bench_pipeline to run the agent with. */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>

#include "intel.h"

#define N_LIST 600000
#define N_RPZ 300000
#define N_ADDRS 100000
#define N_QUERIES (1u << 20)
#define N_KEPT 8192 /* listed names and addresses remembered for the hits */
#define N_HOT 4096 /* the distinct names of a busy host's hour, looked up again and again */
#define LOADS 3
#define ROUNDS 5

static uint64_t rng = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static uint64_t clock_of(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t now_ns(void)
{
	return clock_of(CLOCK_MONOTONIC);
}

/* kB of a /proc/self/status line ("VmRSS:", "VmHWM:"). */
static long status_kb(const char *key)
{
	char line[256];
	long kb = -1;
	FILE *f = fopen("/proc/self/status", "r");

	while (f && fgets(line, sizeof(line), f))
		if (!strncmp(line, key, strlen(key)))
			kb = atol(line + strlen(key));
	if (f)
		fclose(f);
	return kb;
}

/* A word of 3-5 syllables, half of them with digits: what names in feeds look like. */
static int word(char *out)
{
	static const char *const syl[] = {
		"ka", "lo", "mi", "net", "sec", "up", "dat", "cor", "ex", "flo", "gra", "hub",
		"in", "jet", "kro", "lux", "mar", "nov", "opt", "pix", "qua", "ro", "sta", "tek",
		"ul", "vi", "web", "xo", "yan", "zen", "bit", "cloud", "ser", "ver", "tra", "po",
	};
	int n = 0, k = 3 + (int)(rnd() % 3);

	for (int i = 0; i < k; i++)
		n += sprintf(out + n, "%s", syl[rnd() % (sizeof(syl) / sizeof(syl[0]))]);
	if (rnd() % 2 == 0)
		n += sprintf(out + n, "%u", (unsigned int)(rnd() % 1000));
	return n;
}

static const char *tld(void)
{
	static const char *const t[] = { "com", "net", "org", "ru", "xyz", "top", "info", "io",
					 "cn", "de", "biz", "site" };
	return t[rnd() % (sizeof(t) / sizeof(t[0]))];
}

/* A domain as blocklists have them: word.tld, word.word.tld or word-word.tld. */
static void domain(char *out)
{
	int n = word(out), r = (int)(rnd() % 10);

	if (r < 4) {
		out[n++] = '.';
		n += word(out + n);
	} else if (r < 5) {
		out[n++] = '-';
		n += word(out + n);
	}
	sprintf(out + n, ".%s", tld());
}

static char kept_names[N_KEPT][128];
static uint32_t kept_v4[N_KEPT];
static size_t n_kept_names, n_kept_v4;

static void keep_name(const char *name)
{
	if (n_kept_names < N_KEPT && rnd() % 64 == 0)
		strcpy(kept_names[n_kept_names++], name);
}

static FILE *open_in(const char *dir, const char *name)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		exit(1);
	}
	return f;
}

static void gen_list(const char *dir)
{
	FILE *f = open_in(dir, "blocklist.txt");
	char name[128];

	fprintf(f, "# a plain blocklist\n127.0.0.1 localhost\n::1 localhost\n\n");
	for (int i = 0; i < N_LIST; i++) {
		domain(name);
		keep_name(name);
		fprintf(f, i % 3 ? "%s\n" : "0.0.0.0 %s\n", name);
	}
	fclose(f);
}

static void gen_rpz(const char *dir)
{
	FILE *f = open_in(dir, "policy.rpz");
	char name[128];

	fprintf(f, "$TTL 300\n$ORIGIN rpz.bench.\n@ SOA ns.rpz.bench. admin.rpz.bench. "
		   "( 1 3600 600 86400 300 )\n  NS ns.rpz.bench.\n");
	for (int i = 0; i < N_RPZ; i++) {
		unsigned int r = i % 100;
		uint32_t a = (uint32_t)rnd();

		domain(name);
		if (r < 65) { /* 195k exact */
			keep_name(name);
			fprintf(f, "%s CNAME .\n", name);
		} else if (r < 82) { /* 51k wildcards */
			keep_name(name);
			fprintf(f, "*.%s CNAME .\n", name);
		} else if (r < 87) { /* 15k rpz-ip /32 */
			fprintf(f, "32.%u.%u.%u.%u.rpz-ip CNAME .\n", a & 255, (a >> 8) & 255,
				(a >> 16) & 255, a >> 24);
		} else if (r < 90) { /* 9k rpz-ip /24 */
			fprintf(f, "24.0.%u.%u.%u.rpz-ip CNAME rpz-drop.\n", (a >> 8) & 255,
				(a >> 16) & 255, a >> 24);
		} else if (r < 94) { /* 12k nsdname */
			fprintf(f, "ns%u.%s.rpz-nsdname CNAME .\n", (unsigned int)(rnd() % 4),
				name);
		} else if (r < 98) { /* 12k nsip */
			fprintf(f, "32.%u.%u.%u.%u.rpz-nsip CNAME .\n", a & 255, (a >> 8) & 255,
				(a >> 16) & 255, a >> 24);
		} else { /* 6k passthru */
			fprintf(f, "%s CNAME rpz-passthru.\n", name);
		}
	}
	fclose(f);
}

static void gen_addrs(const char *dir)
{
	FILE *f = open_in(dir, "addresses.txt");

	fprintf(f, "# addresses and networks\n");
	for (int i = 0; i < N_ADDRS; i++) {
		uint32_t a = (uint32_t)rnd();
		unsigned int r = i % 10;

		if (r < 8) {
			if (n_kept_v4 < N_KEPT && rnd() % 16 == 0)
				kept_v4[n_kept_v4++] = a;
			fprintf(f, "%u.%u.%u.%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				a & 255);
		} else if (r < 9) {
			fprintf(f, "%u.%u.%u.0/%u\n", a >> 24, (a >> 16) & 255, (a >> 8) & 255,
				i % 2 ? 24 : 20);
		} else {
			fprintf(f, "2001:db8:%x:%x::%s\n", a >> 16, a & 0xffff,
				i % 3 == 0 ? "/48" : i % 3 == 1 ? "/64" : "1");
		}
	}
	fclose(f);
}

struct addr_query {
	int family;
	uint8_t bytes[16];
};

static char (*qnames)[128];
static struct addr_query *qaddrs;

/* CPU ns per lookup over N_QUERIES lookups of the first `distinct` (a power of two) query
 * names (addrs: the addresses); *hits: how many matched. The thread's CPU time, not the
 * wall clock: on a shared 2-core VM the wall clock also counts the time the scheduler gives
 * other work (a build on both cores halved the wall-clock figures). */
static double time_lookups(const struct intel *in, bool addrs, uint32_t distinct, size_t *hits)
{
	uint64_t t0 = clock_of(CLOCK_THREAD_CPUTIME_ID);
	struct intel_hit hit;

	*hits = 0;
	for (uint32_t i = 0; i < N_QUERIES; i++) {
		uint32_t q = i & (distinct - 1);

		if (addrs)
			*hits += !intel_match_addr(in, INTEL_IP, qaddrs[q].family, qaddrs[q].bytes,
						   &hit);
		else
			*hits += !intel_match_name(in, INTEL_QNAME, qnames[q], &hit);
	}
	return (double)(clock_of(CLOCK_THREAD_CPUTIME_ID) - t0) / N_QUERIES;
}

static void row(const char *what, uint32_t n, const char *of, double ns, size_t hits,
		const char *target)
{
	printf("| %s, %u %s, %.1f %% hits | %.2f M/s of CPU (%.0f ns) | %s |\n", what, n, of,
	       100.0 * hits / N_QUERIES, 1e3 / ns, ns, target);
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/bench_intel.XXXXXX", cmd[4200];
	const char *dir = argc > 1 ? argv[1] : tmp;
	const char *paths[1] = { dir };
	struct intel *in = NULL;
	const struct intel_stats *st;
	double best_load = 1e18, best_name = 1e18, best_addr = 1e18, best_hot = 1e18;
	long rss0, rss1 = 0, hwm;
	size_t name_hits = 0, addr_hits = 0, hot_hits = 0;
	int err;

	if (argc > 1 ? mkdir(dir, 0700) && errno != EEXIST : !mkdtemp(tmp)) {
		perror(dir);
		return 1;
	}
	gen_list(dir);
	gen_rpz(dir);
	gen_addrs(dir);
	rss0 = status_kb("VmRSS:");
	for (int l = 0; l < LOADS; l++) {
		uint64_t t0 = now_ns();

		intel_free(in);
		err = intel_load(paths, 1, NULL, &in, NULL);
		if (err) {
			fprintf(stderr, "bench_intel: load: %s\n", strerror(-err));
			return 1;
		}
		if ((double)(now_ns() - t0) < best_load)
			best_load = (double)(now_ns() - t0);
		if (!l)
			rss1 = status_kb("VmRSS:");
	}
	hwm = status_kb("VmHWM:");
	st = intel_stats(in);

	qnames = malloc(N_QUERIES * sizeof(*qnames));
	qaddrs = malloc(N_QUERIES * sizeof(*qaddrs));
	if (!qnames || !qaddrs)
		return 1;
	rng = 0x1234567887654321ull; /* other names than the intel's */
	for (uint32_t i = 0; i < N_QUERIES; i++) {
		static const char *const pre[] = { "www", "api", "cdn", "mail", "img", "static" };
		char w[64];

		word(w);
		if (i % 100 < 3 && n_kept_names)
			snprintf(qnames[i], sizeof(qnames[i]), "x%u.%s", i,
				 kept_names[rnd() % n_kept_names]);
		else if (i % 2)
			snprintf(qnames[i], sizeof(qnames[i]), "%s.%s%u.%s", pre[rnd() % 6], w, i,
				 tld());
		else
			snprintf(qnames[i], sizeof(qnames[i]), "%s%u.%s.%s", w, i % 977,
				 i % 4 ? "cloudfront" : "akamaiedge", i % 3 ? "net" : "com");
		qaddrs[i].family = i % 10 ? 4 : 6;
		for (int k = 0; k < 16; k += 8) {
			uint64_t r = rnd();

			memcpy(qaddrs[i].bytes + k, &r, 8);
		}
		if (qaddrs[i].family == 6)
			memcpy(qaddrs[i].bytes, "\x20\x01\x0d\xb8", 4);
		if (i % 100 < 3 && n_kept_v4) {
			uint32_t a = kept_v4[rnd() % n_kept_v4];

			qaddrs[i].family = 4;
			for (int k = 0; k < 4; k++)
				qaddrs[i].bytes[k] = (uint8_t)(a >> (24 - 8 * k));
		}
	}
	for (int r = 0; r < ROUNDS; r++) {
		best_name = fmin(best_name, time_lookups(in, 0, N_QUERIES, &name_hits));
		best_addr = fmin(best_addr, time_lookups(in, 1, N_QUERIES, &addr_hits));
		best_hot = fmin(best_hot, time_lookups(in, 0, N_HOT, &hot_hits));
	}

	printf("intel indicators %zu (qname %zu, ip %zu, nsdname %zu, nsip %zu; passthru %zu; "
	       "duplicates %zu; bad lines %zu) from %zu lines in %zu files\n",
	       st->indicators, st->by_kind[INTEL_QNAME], st->by_kind[INTEL_IP],
	       st->by_kind[INTEL_NSDNAME], st->by_kind[INTEL_NSIP], st->passthru,
	       st->skipped[INTEL_SKIP_DUPLICATE], st->bad_lines, st->lines, st->files);
	printf("| figure | value | target |\n|---|---|---|\n");
	printf("| load, best of %d | %.2f s | <= 2 s |\n", LOADS, best_load / 1e9);
	printf("| RSS growth after the first load (peak during it) | %.1f MB (%.1f MB) | "
	       "<= 150 MB |\n", (rss1 - rss0) / 1024.0, (hwm - rss0) / 1024.0);
	row("name lookups", N_QUERIES, "distinct names", best_name, name_hits, ">= 5 M/s");
	row("name lookups", N_HOT, "distinct names repeated", best_hot, hot_hits, "");
	row("address lookups", N_QUERIES, "addresses", best_addr, addr_hits, ">= 5 M/s");
	intel_free(in);
	free(qnames);
	free(qaddrs);
	if (argc > 1)
		return 0;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? 1 : 0;
}
