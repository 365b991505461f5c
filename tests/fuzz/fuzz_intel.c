/* libFuzzer target for the intel loader: each input is written to a file and loaded (its
 * format detected as for any file), then a few names and addresses, and the input itself as
 * a name, are matched against what loaded. Every string of a hit is walked so that ASan
 * checks it lies in the snapshot and is terminated. Seeded with tests/fuzz/intel. */
#include "intel.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void walk(const struct intel_hit *hit)
{
	if (strlen(hit->source) + strlen(hit->trigger) + strlen(hit->tags) +
		    strlen(hit->malware) > (1u << 20) || hit->confidence > 100)
		abort();
}

static void name(const struct intel *in, enum intel_kind kind, const char *s)
{
	struct intel_hit hit;

	if (intel_match_name(in, kind, s, &hit) == 0)
		walk(&hit);
}

static void addr(const struct intel *in, enum intel_kind kind, int family, const char *bytes)
{
	struct intel_hit hit;

	if (intel_match_addr(in, kind, family, bytes, &hit) == 0)
		walk(&hit);
}

static char path[64];

static void remove_input(void)
{
	unlink(path);
}

int LLVMFuzzerTestOneInput(const unsigned char *data, size_t size)
{
	const char *paths[1] = { path };
	struct intel_errors errs;
	struct intel *in;
	char text[300];
	FILE *f;

	if (!path[0]) {
		snprintf(path, sizeof(path), "/tmp/fuzz_intel.%d", (int)getpid());
		atexit(remove_input);
	}
	f = fopen(path, "w");
	if (!f || fwrite(data, 1, size, f) != size || fclose(f))
		abort();
	if (intel_load(paths, 1, NULL, &in, &errs) == 0) {
		name(in, INTEL_QNAME, "x.bad.example");
		name(in, INTEL_NSDNAME, "NS.x.");
		addr(in, INTEL_IP, 4, "\xc0\x00\x02\x01");
		addr(in, INTEL_NSIP, 6, "\x20\x01\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1");
		if (size < sizeof(text)) {
			memcpy(text, data, size);
			text[size] = '\0';
			name(in, INTEL_QNAME, text);
		}
		intel_free(in);
	}
	intel_errors_free(&errs);
	return 0;
}
