/* The DGA score measured on the committed lists (data/dga): the benign test names' false
 * positives and each DGA family's detection at DGASCORE_THRESHOLD. Shared by the unit test
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

struct dgaeval {
	/* every label read, benign ones first: what the benchmark times */
	char labels[DGAEVAL_LABELS_MAX][64];
	size_t n_labels;
	unsigned benign, benign_flagged, benign_scored; /* scored: not neutral (0) */
	unsigned dga[DGAEVAL_FAMILIES], dga_flagged[DGAEVAL_FAMILIES];
	double worst_benign; /* the highest benign score */
	char worst_label[64];
};

/* Keeps and counts each line of dir/file (no '#' comment, no empty line): with family lines
 * ("family<TAB>label") into the family's counts, else into the benign ones. 0, -errno when
 * the file cannot be read, -EINVAL for an unknown family or a label over 63 characters,
 * -ENOSPC past DGAEVAL_LABELS_MAX labels. */
static int dgaeval_file(const char *dir, const char *file, bool family, struct dgaeval *ev)
{
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
		memcpy(ev->labels[ev->n_labels++], label, len + 1);
		s = dgascore_label(label, len);
		if (family) {
			ev->dga[k]++;
			ev->dga_flagged[k] += dgascore_generated(s);
			continue;
		}
		ev->benign++;
		ev->benign_scored += s != 0;
		ev->benign_flagged += dgascore_generated(s);
		if (s > ev->worst_benign) {
			ev->worst_benign = s;
			memcpy(ev->worst_label, label, len + 1);
		}
	}
	if (!err && ferror(f))
		err = -EIO;
	fclose(f);
	return err;
}

/* Measures dir/benign-test.txt and dir/dga-samples.txt into ev. */
static int dgaeval_run(const char *dir, struct dgaeval *ev)
{
	int err;

	memset(ev, 0, sizeof(*ev));
	err = dgaeval_file(dir, "benign-test.txt", false, ev);
	if (!err)
		err = dgaeval_file(dir, "dga-samples.txt", true, ev);
	return err;
}

#endif
