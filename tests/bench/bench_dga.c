/* DGA score benchmark (tests/unit/dgaeval.h, on DIR: data/dga): what the threshold rule of
 * lib/dgascore.h gives on the benign validation names, with their false-positive rate at the
 * multiples around it; then, at DGASCORE_THRESHOLD, the false-positive rate on the benign test
 * names and the detection rate of each DGA family; and the ns per label of dgascore_label over
 * all those labels, best of ROUNDS, one thread.
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

static void print_benign(const char *list, const struct dgaeval_benign *b)
{
	printf("dga benign-%s fp %u/%u %.2f %%, %.2f %% of the %u scored (the rest neutral); "
	       "worst %s %.2f\n", list, b->flagged, b->n, 100.0 * b->flagged / b->n,
	       100.0 * b->flagged / b->scored, b->scored, b->worst_label, b->worst);
}

int main(int argc, char **argv)
{
	const char *dir = argc > 1 ? argv[1] : "data/dga";
	double best = 0, ns, sink = 0, chars = 0, rule;
	uint64_t t0;
	int err;

	err = dgaeval_run(dir, &ev);
	if (err) {
		fprintf(stderr, "bench_dga: %s: %s\n", dir, strerror(-err));
		return 1;
	}
	rule = dgaeval_rule_threshold(&ev);
	for (double t = rule - 4 * DGAEVAL_RULE_STEP; t <= rule + 4 * DGAEVAL_RULE_STEP;
	     t += DGAEVAL_RULE_STEP) {
		unsigned above = dgaeval_above(&ev, &ev.validation, t);

		if (t >= 0)
			printf("dga benign-validation fp at %.2f: %u/%u %.2f %%\n", t, above,
			       ev.validation.n, 100.0 * above / ev.validation.n);
	}
	printf("dga rule: the smallest multiple of %.2f with validation fp <= %.1f %% is %.2f\n",
	       DGAEVAL_RULE_STEP, DGAEVAL_RULE_FP_PERMILLE / 10.0, rule);
	printf("dga threshold %.2f (DGASCORE_THRESHOLD)%s\n", DGASCORE_THRESHOLD,
	       rule == DGASCORE_THRESHOLD ? "" : ", NOT what the rule gives: set it from the rule");
	print_benign("validation", &ev.validation);
	print_benign("test", &ev.test);
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
