/* How unlike a human-chosen name a registered label is: a character-statistics score for the
 * dga.nxdomain rule (MITRE ATT&CK T1568.002, domain generation algorithms).
 *
 * The label is the first label of the registered domain (eTLD+1, regdom.h): "google" of
 * www.google.co.uk; the caller cuts it out. The score is a trigram character model's surprisal
 * (scripts/gen-dga-model.c, trained at build time on names from Debian's archive:
 * data/dga/benign-train.txt, scripts/gen-dga-data.py), compared with what benign names cost:
 *
 *   score = (bits / n - mean) * sqrt(n)
 *
 * with bits the label's -log2 probability under the model, n its transitions (its length + 1)
 * and mean the training names' bits per transition. The mean tells how much stranger than an
 * average benign name each character is; sqrt(n) makes that a weight of evidence, as for a
 * mean of n draws: a 6-letter name of odd letters ("cybozu") scores lower than 14 random
 * letters at the same mean. Random letters (Conficker-like) and hash hex (Bamital-like: a
 * digit costs log2(10) bits more, and letter-digit mixes are rare) score high; concatenated
 * dictionary words (Suppobox-like) look benign and are not caught, by design.
 *
 * Neutral (0): labels shorter than DGASCORE_MIN_LEN (too few transitions for an estimate:
 * the benign "xkcd", "gnu", "kde" would look random, and most short names are taken anyway),
 * IDN labels (xn--: the Punycode of a name in another script, whose statistics an ASCII model
 * does not know), and labels that are not hostname labels (a byte other than letters, digits
 * and '-', or longer than 63: no registrar sells those). Upper case counts as lower case.
 *
 * Measured (build/bench_dga, README "DGA score"): false positives on the benign test names
 * and detection per family at DGASCORE_THRESHOLD. Thread-safe, no allocation, a few tens of
 * ns per label. */
#ifndef DNSVIGIL_DGASCORE_H
#define DNSVIGIL_DGASCORE_H

#include <stdbool.h>
#include <stddef.h>

/* Labels shorter than this score 0. */
#define DGASCORE_MIN_LEN 6
/* Above this a label looks generated: 5 "standard errors" above the benign mean. Chosen on
 * the benign validation names only (data/dga/benign-validation.txt: not trained on, not in
 * the test list), by a rule fixed before they were scored: the smallest multiple
 * of 0.25 at which at most 0.5 % of the validation names score above it (tests/unit/dgaeval.h;
 * build/bench_dga prints the rule's value, test_dgascore fails when this differs from it).
 * The test list is measured at it, never used to choose it. */
#define DGASCORE_THRESHOLD 5.0

/* The score of the len bytes at label (no dot, any case); 0 when neutral (above). */
double dgascore_label(const char *label, size_t len);

/* Whether a score is above DGASCORE_THRESHOLD. */
static inline bool dgascore_generated(double score)
{
	return score > DGASCORE_THRESHOLD;
}

#endif
