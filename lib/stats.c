#include "stats.h"

#include <errno.h>
#include <string.h>

#include "log.h"

static int add(struct stats_registry *r, const struct stats_entry *e)
{
	if (r->n == STATS_MAX_ENTRIES) {
		log_warnx("stats registry full: \"%s\" is not reported", e->name);
		return -E2BIG;
	}
	r->entries[r->n++] = *e;
	return 0;
}

int stats_u64(struct stats_registry *r, const char *name, const uint64_t *value)
{
	return add(r, &(struct stats_entry){ .name = name, .kind = STATS_U64, .value = value });
}

int stats_bool(struct stats_registry *r, const char *name, const bool *value)
{
	return add(r, &(struct stats_entry){ .name = name, .kind = STATS_BOOL, .value = value });
}

int stats_string(struct stats_registry *r, const char *name, const char *const *value)
{
	return add(r, &(struct stats_entry){ .name = name, .kind = STATS_STRING, .value = value });
}

int stats_u64_named(struct stats_registry *r, const char *name, const uint64_t *values,
		    const char *const *names, size_t n)
{
	return add(r, &(struct stats_entry){ .name = name, .kind = STATS_U64_NAMED,
					     .value = values, .names = names, .n = n });
}

int stats_u64_list(struct stats_registry *r, const char *name, const uint64_t *values,
		   const int *count, size_t max)
{
	return add(r, &(struct stats_entry){ .name = name, .kind = STATS_U64_LIST,
					     .value = values, .count = count, .n = max });
}

int stats_on_refresh(struct stats_registry *r, stats_refresh_fn fn, void *ctx)
{
	if (r->n_refresh == STATS_MAX_REFRESH) {
		log_warnx("stats registry full: a module's counters are not refreshed");
		return -E2BIG;
	}
	r->refresh[r->n_refresh].fn = fn;
	r->refresh[r->n_refresh++].ctx = ctx;
	return 0;
}

void stats_refresh(struct stats_registry *r)
{
	for (size_t i = 0; i < r->n_refresh; i++)
		r->refresh[i].fn(r->refresh[i].ctx);
}

const struct stats_entry *stats_find(const struct stats_registry *r, const char *name)
{
	for (size_t i = 0; i < r->n; i++)
		if (!strcmp(r->entries[i].name, name))
			return &r->entries[i];
	return NULL;
}
