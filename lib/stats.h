/* The stats registry: every module declares its counters once, where they live, and the
 * periodic {"type":"stats"} event renders whatever the registry holds, in declaration order.
 * Adding a counter is one declaration in its module (and a line in the README). Counters are
 * cumulative since start: a consumer takes differences between two events. */
#ifndef DNSVIGIL_STATS_H
#define DNSVIGIL_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum stats_kind {
	STATS_U64,       /* const uint64_t * */
	STATS_BOOL,      /* const bool * */
	STATS_STRING,    /* const char *const *; a NULL string renders null */
	STATS_U64_NAMED, /* const uint64_t[n], an object {names[i]: value[i]} */
	STATS_U64_LIST,  /* const uint64_t[], an array of *count values (at most n) */
};

struct stats_entry {
	const char *name;
	enum stats_kind kind;
	const void *value;
	const char *const *names; /* STATS_U64_NAMED */
	const int *count;         /* STATS_U64_LIST */
	size_t n;
};

/* Brings counters that live elsewhere (a BPF map, another thread) up to date. */
typedef void (*stats_refresh_fn)(void *ctx);

#define STATS_MAX_ENTRIES 128
#define STATS_MAX_REFRESH 8

struct stats_registry {
	struct stats_entry entries[STATS_MAX_ENTRIES];
	size_t n;
	struct {
		stats_refresh_fn fn;
		void *ctx;
	} refresh[STATS_MAX_REFRESH];
	size_t n_refresh;
};

/* Each returns 0, or -E2BIG (logged) when the registry is full: raise STATS_MAX_*. The
 * values must outlive the registry's use. */
int stats_u64(struct stats_registry *r, const char *name, const uint64_t *value);
int stats_bool(struct stats_registry *r, const char *name, const bool *value);
int stats_string(struct stats_registry *r, const char *name, const char *const *value);
int stats_u64_named(struct stats_registry *r, const char *name, const uint64_t *values,
		    const char *const *names, size_t n);
int stats_u64_list(struct stats_registry *r, const char *name, const uint64_t *values,
		   const int *count, size_t max);
int stats_on_refresh(struct stats_registry *r, stats_refresh_fn fn, void *ctx);

/* Runs every refresh function, in declaration order. */
void stats_refresh(struct stats_registry *r);

/* The entry named name, or NULL. */
const struct stats_entry *stats_find(const struct stats_registry *r, const char *name);

#endif
