#include "table.h"

#include <errno.h>
#include <stdlib.h>

static struct table_node *node_of(const struct table *t, const void *entry)
{
	return (struct table_node *)((uint8_t *)entry - t->entry_off);
}

/* Right before the entry, as table_stamp() reads it; in tables with a ttl only. */
static uint64_t *stamp_of(const struct table *t, struct table_node *n)
{
	return (uint64_t *)table__entry(t, n) - 1;
}

static void age_append(struct table *t, struct table_node *n, uint64_t now_ns)
{
	n->older = t->newest;
	n->newer = NULL;
	if (t->newest)
		t->newest->newer = n;
	else
		t->oldest = n;
	t->newest = n;
	if (t->ttl_ns)
		*stamp_of(t, n) = now_ns;
}

static void age_unlink(struct table *t, struct table_node *n)
{
	if (n->older)
		n->older->newer = n->newer;
	else
		t->oldest = n->newer;
	if (n->newer)
		n->newer->older = n->older;
	else
		t->newest = n->older;
}

static void unlink_node(struct table *t, struct table_node *n)
{
	*n->pprev = n->next;
	if (n->next)
		n->next->pprev = n->pprev;
	age_unlink(t, n);
	t->count--;
}

/* Storage for one more entry: a free one, one never used, or the oldest evicted. */
static struct table_node *node_new(struct table *t)
{
	struct table_node *n = t->free;

	if (n) {
		t->free = n->next;
		return n;
	}
	if (t->n_used < t->max_entries)
		return (struct table_node *)(t->nodes + t->n_used++ * t->node_size);
	if (t->when_full == TABLE_REFUSE)
		return NULL;
	n = t->oldest;
	if (t->on_evict)
		t->on_evict(t->ctx, table__entry(t, n));
	unlink_node(t, n);
	return n;
}

void *table_insert(struct table *t, uint64_t hash, const void *key, uint64_t now_ns)
{
	struct table_node *n = node_new(t), **chain;

	if (!n)
		return NULL;
	chain = &t->chains[hash >> t->shift];
	n->hash = hash;
	n->next = *chain;
	n->pprev = chain;
	if (*chain)
		(*chain)->pprev = &n->next;
	*chain = n;
	age_append(t, n, now_ns);
	t->count++;
	if (t->key_size)
		memcpy(table__entry(t, n), key, t->key_size);
	return table__entry(t, n);
}

void table_touch(struct table *t, void *entry, uint64_t now_ns)
{
	struct table_node *n = node_of(t, entry);

	age_unlink(t, n);
	age_append(t, n, now_ns);
}

void table_remove(struct table *t, void *entry)
{
	struct table_node *n = node_of(t, entry);

	unlink_node(t, n);
	n->next = t->free;
	t->free = n;
}

void table_expire(struct table *t, uint64_t now_ns, table_entry_fn fn, void *ctx)
{
	struct table_node *n;

	if (!t->ttl_ns)
		return;
	while ((n = t->oldest) && now_ns >= *stamp_of(t, n) &&
	       now_ns - *stamp_of(t, n) >= t->ttl_ns) {
		if (fn)
			fn(ctx, table__entry(t, n));
		table_remove(t, table__entry(t, n));
	}
}

void *table_oldest(const struct table *t)
{
	return t->oldest ? table__entry(t, t->oldest) : NULL;
}

void *table_newer(const struct table *t, const void *entry)
{
	struct table_node *n = node_of(t, entry)->newer;

	return n ? table__entry(t, n) : NULL;
}

size_t table_count(const struct table *t)
{
	return t->count;
}

struct table *table_new(const struct table_opts *opts)
{
	size_t load = opts->chain_load ?: 1, n_chains = 2;
	struct table *t;

	/* node_size stays far from overflowing: calloc checks the product */
	if (!opts->max_entries || opts->max_entries > UINT32_MAX ||
	    opts->key_size > opts->entry_size || opts->entry_size > UINT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->key_size = opts->key_size;
	t->seed = hash_seed();
	t->entry_off = sizeof(struct table_node) + (opts->ttl_ns ? sizeof(uint64_t) : 0);
	t->node_size = t->entry_off + ((opts->entry_size + 7) & ~(size_t)7);
	t->max_entries = opts->max_entries;
	t->when_full = opts->when_full;
	t->on_evict = opts->on_evict;
	t->ctx = opts->ctx;
	t->ttl_ns = opts->ttl_ns;
	t->shift = 63;
	while (n_chains < opts->max_entries / load) {
		n_chains *= 2;
		t->shift--;
	}
	t->chains = calloc(n_chains, sizeof(*t->chains));
	t->nodes = calloc(t->max_entries, t->node_size);
	if (!t->chains || !t->nodes) {
		table_free(t);
		errno = ENOMEM;
		return NULL;
	}
	return t;
}

void table_free(struct table *t)
{
	if (!t)
		return;
	free(t->nodes);
	free(t->chains);
	free(t);
}
