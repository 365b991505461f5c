/* The DGA score measured on the committed lists (data/dga): the threshold rule's value on the
 * benign validation names (lib/dgascore.h), and the benign test names' false positives and
 * each DGA family's detection at DGASCORE_THRESHOLD. Shared by the unit test
 * (tests/unit/test_dgascore.c), which holds the figures to their bounds, and the benchmark
 * (tests/bench/bench_dga.c), which prints them. */
#ifndef DNSVIGIL_TESTS_DGAEVAL_H
#define DNSVIGIL_TESTS_DGAEVAL_H

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "dgascore.h"

/* As scripts/gen-dga-samples.py writes them. */
static const char *const dgaeval_families[] = { "random-letter", "hash-hex", "lcg", "wordlist" };
#define DGAEVAL_FAMILIES (sizeof(dgaeval_families) / sizeof(dgaeval_families[0]))

#define DGAEVAL_LABELS_MAX 8192

/* The threshold rule of lib/dgascore.h: the smallest multiple of DGAEVAL_RULE_STEP, from 0 up,
 * at which at most DGAEVAL_RULE_FP_PERMILLE per mille of the validation names score above. */
#define DGAEVAL_RULE_STEP 0.25
#define DGAEVAL_RULE_FP_PERMILLE 5

/* One benign list at DGASCORE_THRESHOLD. */
struct dgaeval_benign {
	unsigned n, flagged, scored; /* scored: not neutral (0) */
	size_t first; /* its labels are labels[first] to labels[first + n - 1] */
	double worst; /* the highest score */
	char worst_label[64];
};

struct dgaeval {
	/* every label read and its score, benign ones first: what the benchmark times */
	char labels[DGAEVAL_LABELS_MAX][64];
	double scores[DGAEVAL_LABELS_MAX];
	size_t n_labels;
	struct dgaeval_benign validation, test;
	unsigned dga[DGAEVAL_FAMILIES], dga_flagged[DGAEVAL_FAMILIES];
};

/* Keeps, scores and counts each line of dir/file (no '#' comment, no empty line): with
 * benign NULL, family lines ("family<TAB>label") into the family's counts, else into
 * *benign. 0, -errno when the file cannot be read, -EINVAL for an unknown family or a label
 * over 63 characters, -ENOSPC past DGAEVAL_LABELS_MAX labels. */
static int dgaeval_file(const char *dir, const char *file, struct dgaeval_benign *benign,
			struct dgaeval *ev)
{
	bool family = !benign;
	char path[4096], line[256], *label;
	size_t len, k;
	double s;
	FILE *f;
	int err = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, file);
	f = fopen(path, "r");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		len = strcspn(line, "\r\n");
		if (len == sizeof(line) - 1) { /* longer than any line of the lists */
			err = -EINVAL;
			break;
		}
		line[len] = '\0';
		if (!len || line[0] == '#')
			continue;
		label = line;
		k = 0;
		if (family) {
			label = strchr(line, '\t');
			if (!label) {
				err = -EINVAL;
				break;
			}
			*label++ = '\0';
			while (k < DGAEVAL_FAMILIES && strcmp(line, dgaeval_families[k]))
				k++;
			if (k == DGAEVAL_FAMILIES) {
				err = -EINVAL;
				break;
			}
		}
		len = strlen(label);
		if (len >= sizeof(ev->labels[0]) || ev->n_labels == DGAEVAL_LABELS_MAX) {
			err = len >= sizeof(ev->labels[0]) ? -EINVAL : -ENOSPC;
			break;
		}
		s = dgascore_label(label, len);
		ev->scores[ev->n_labels] = s;
		memcpy(ev->labels[ev->n_labels++], label, len + 1);
		if (family) {
			ev->dga[k]++;
			ev->dga_flagged[k] += dgascore_generated(s);
			continue;
		}
		benign->n++;
		benign->scored += s != 0;
		benign->flagged += dgascore_generated(s);
		if (s > benign->worst) {
			benign->worst = s;
			memcpy(benign->worst_label, label, len + 1);
		}
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* Measures dir/benign-validation.txt, dir/benign-test.txt and dir/dga-samples.txt into ev. */
static int dgaeval_run(const char *dir, struct dgaeval *ev)
{
	int err;

	memset(ev, 0, sizeof(*ev));
	err = dgaeval_file(dir, "benign-validation.txt", &ev->validation, ev);
	if (!err) {
		ev->test.first = ev->n_labels;
		err = dgaeval_file(dir, "benign-test.txt", &ev->test, ev);
	}
	if (!err)
		err = dgaeval_file(dir, "dga-samples.txt", NULL, ev);
	return err;
}

/* How many names of the benign list b score above threshold. */
static unsigned dgaeval_above(const struct dgaeval *ev, const struct dgaeval_benign *b,
			      double threshold)
{
	unsigned above = 0;

	for (size_t i = b->first; i < b->first + b->n; i++)
		above += ev->scores[i] > threshold;
	return above;
}

/* The threshold the rule (above) gives on the validation names of ev. Ends: at the
 * multiple at or above the highest score, none is above. */
static double dgaeval_rule_threshold(const struct dgaeval *ev)
{
	for (unsigned k = 0;; k++) {
		double t = k * DGAEVAL_RULE_STEP;

		if (dgaeval_above(ev, &ev->validation, t) * 1000ull <=
		    (unsigned long long)ev->validation.n * DGAEVAL_RULE_FP_PERMILLE)
			return t;
	}
}

#endif
