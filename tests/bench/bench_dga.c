/* DGA score benchmark: the false-positive rate on the benign test names, the detection rate
 * of each DGA family at DGASCORE_THRESHOLD (tests/unit/dgaeval.h, on DIR: data/dga), and the
 * ns per label of dgascore_label over all those labels, best of ROUNDS, one thread.
 * `make bench` builds and runs it; alone: make build/bench_dga && build/bench_dga data/dga. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dgaeval.h"

#define ROUNDS 5
#define PASSES 200 /* over the labels per round: some 1 M calls */

static struct dgaeval ev; /* 512 KiB of labels: not on the stack */
static size_t lens[DGAEVAL_LABELS_MAX];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "data/dga";
	double best = 0, ns, sink = 0, chars = 0;
	uint64_t t0;
	int err;

	err = dgaeval_run(dir, &ev);
	if (err) {
		fprintf(stderr, "bench_dga: %s: %s\n", dir, strerror(-err));
		return 1;
	}
	printf("dga threshold %.2f\n", DGASCORE_THRESHOLD);
	printf("dga benign-test fp %u/%u %.2f %%, %.2f %% of the %u scored (the rest neutral); "
	       "worst %s %.2f\n", ev.benign_flagged, ev.benign, 100.0 * ev.benign_flagged / ev.benign,
	       100.0 * ev.benign_flagged / ev.benign_scored, ev.benign_scored, ev.worst_label,
	       ev.worst_benign);
	for (size_t k = 0; k < DGAEVAL_FAMILIES; k++)
		printf("dga family %-13s detected %u/%u %.1f %%\n", dgaeval_families[k],
		       ev.dga_flagged[k], ev.dga[k], 100.0 * ev.dga_flagged[k] / ev.dga[k]);
	for (size_t i = 0; i < ev.n_labels; i++) {
		lens[i] = strlen(ev.labels[i]);
		chars += (double)lens[i];
	}
	for (int r = 0; r < ROUNDS; r++) {
		t0 = now_ns();
		for (int p = 0; p < PASSES; p++)
			for (size_t i = 0; i < ev.n_labels; i++)
				sink += dgascore_label(ev.labels[i], lens[i]);
		ns = (double)(now_ns() - t0) / ((double)PASSES * (double)ev.n_labels);
		if (!r || ns < best)
			best = ns;
	}
	printf("dga ns per label %.1f (%zu labels, mean length %.1f; checksum %.0f)\n", best,
	       ev.n_labels, chars / (double)ev.n_labels, sink);
	return 0;
}
