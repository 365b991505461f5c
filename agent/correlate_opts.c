/* --threshold KEY=VALUE: see correlate.h. One table of keys, so that the parser, its errors
 * and the help text cannot disagree. */
#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"
#include "correlate.h"
#include "opt.h"

enum kind {
	K_SIZE,     /* size_t */
	K_UNSIGNED, /* unsigned */
	K_U32,      /* uint32_t */
	K_SECONDS,  /* uint64_t nanoseconds, given in seconds */
	K_SCORE,    /* unsigned hundredths, given as a decimal with up to two places */
};

struct threshold {
	const char *key;
	enum kind kind;
	size_t offset;
	long min, max; /* of the value as given (a score: in hundredths) */
	const char *what;
};

#define AT(field) offsetof(struct correlate_opts, field)
static const struct threshold thresholds[] = {
	{ "tunnel_subdomain", K_SIZE, AT(tunnel_subdomain_min), 1, 253,
	  "dns.tunnel: a subdomain part this long" },
	{ "tunnel_names", K_UNSIGNED, AT(tunnel_names), 1, CORRELATE_WINDOW_MAX,
	  "dns.tunnel: distinct names, one domain, one process" },
	{ "tunnel_window", K_SECONDS, AT(tunnel_window_ns), 1, 86400,
	  "dns.tunnel: ... within this; the TXT/NULL count too" },
	{ "txt_names", K_UNSIGNED, AT(txt_names), 1, CORRELATE_WINDOW_MAX,
	  "dns.tunnel: distinct TXT/NULL names, likewise" },
	{ "nxdomain_domains", K_UNSIGNED, AT(nxdomain_domains), 1, CORRELATE_WINDOW_MAX,
	  "dga.nxdomain: NXDOMAIN for this many domains" },
	{ "nxdomain_window", K_SECONDS, AT(nxdomain_window_ns), 1, 86400,
	  "dga.nxdomain: ... to one process within this" },
	{ "dedup_window", K_SECONDS, AT(dedup_window_ns), 1, 7 * 86400,
	  "one finding per rule, process, domain in this" },
	{ "fastflux_ttl", K_U32, AT(flux_ttl_max), 0, 86400,
	  "fastflux: answers with a TTL up to this count" },
	{ "fastflux_score", K_SCORE, AT(flux_score), 1, 1000000,
	  "fastflux: fires at 1.32 addresses + 18.54 nets" },
	{ "fastflux_window", K_SECONDS, AT(flux_window_ns), 1, 86400,
	  "fastflux: a domain's addresses gathered over" },
	{ "new_domain_learning", K_SECONDS, AT(new_learning_ns), 0, 10L * 365 * 86400,
	  "domain.new: silent until knowledge is this old" },
};

/* "142.38", "142.4" or "142" in hundredths. */
static int parse_score(const char *arg, long *out, long min, long max)
{
	char whole[24];
	const char *dot = strchr(arg, '.');
	size_t n = dot ? (size_t)(dot - arg) : strlen(arg), frac = dot ? strlen(dot + 1) : 0;
	long w, f = 0;

	if (n >= sizeof(whole) || (dot && (frac < 1 || frac > 2)))
		return -EINVAL;
	memcpy(whole, arg, n);
	whole[n] = '\0';
	if (opt_parse_int(whole, &w, 0, max / 100) ||
	    (dot && (opt_parse_int(dot + 1, &f, 0, 99) || dot[1] == '-' || dot[1] == '+')))
		return -EINVAL;
	f *= frac == 1 ? 10 : 1;
	*out = w * 100 + f;
	return *out < min || *out > max ? -EINVAL : 0;
}

static void range_text(const struct threshold *t, char *buf, size_t size)
{
	if (t->kind == K_SCORE)
		snprintf(buf, size, "%ld.%02ld..%ld.%02ld", t->min / 100, t->min % 100,
			 t->max / 100, t->max % 100);
	else
		snprintf(buf, size, "%ld..%ld", t->min, t->max);
}

int correlate_threshold_set(struct correlate_opts *o, const char *arg, char *why, size_t size)
{
	const char *eq = strchr(arg, '=');
	size_t key_len = eq ? (size_t)(eq - arg) : strlen(arg);
	char range[48];
	long v;

	for (size_t i = 0; i < ARRAY_LEN(thresholds); i++) {
		const struct threshold *t = &thresholds[i];
		void *field = (char *)o + t->offset;

		if (strlen(t->key) != key_len || strncmp(t->key, arg, key_len))
			continue;
		range_text(t, range, sizeof(range));
		if (!eq || (t->kind == K_SCORE ? parse_score(eq + 1, &v, t->min, t->max) :
						 opt_parse_int(eq + 1, &v, t->min, t->max))) {
			snprintf(why, size, "%s: expected %s=VALUE, VALUE in %s%s", t->key, t->key,
				 range, t->kind == K_SECONDS ? " seconds" : "");
			return -EINVAL;
		}
		switch (t->kind) {
		case K_SIZE:
			*(size_t *)field = (size_t)v;
			break;
		case K_UNSIGNED:
		case K_SCORE:
			*(unsigned *)field = (unsigned)v;
			break;
		case K_U32:
			*(uint32_t *)field = (uint32_t)v;
			break;
		case K_SECONDS:
			*(uint64_t *)field = (uint64_t)v * 1000000000ull;
			break;
		}
		return 0;
	}
	snprintf(why, size, "unknown key '%.*s' (keys: see --help)", (int)key_len, arg);
	return -ENOENT;
}

void correlate_threshold_usage(FILE *out)
{
	static const struct correlate_opts defaults = CORRELATE_DEFAULTS;

	for (size_t i = 0; i < ARRAY_LEN(thresholds); i++) {
		const struct threshold *t = &thresholds[i];
		const void *field = (const char *)&defaults + t->offset;
		char value[32], range[48];

		switch (t->kind) {
		case K_SIZE:
			snprintf(value, sizeof(value), "%zu", *(const size_t *)field);
			break;
		case K_UNSIGNED:
			snprintf(value, sizeof(value), "%u", *(const unsigned *)field);
			break;
		case K_SCORE:
			snprintf(value, sizeof(value), "%u.%02u", *(const unsigned *)field / 100,
				 *(const unsigned *)field % 100);
			break;
		case K_U32:
			snprintf(value, sizeof(value), "%u", *(const uint32_t *)field);
			break;
		case K_SECONDS:
			snprintf(value, sizeof(value), "%llu",
				 (unsigned long long)(*(const uint64_t *)field / 1000000000ull));
			break;
		}
		range_text(t, range, sizeof(range));
		fprintf(out, "        %-20s%s\n%28s(default %s, %s)\n", t->key, t->what, "",
			value, range);
	}
}
