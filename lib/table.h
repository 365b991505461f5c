/* One bounded hash table for the agent's in-memory state: pending queries, TCP streams, the
 * process cache, stub attribution windows, known library files, socket scans.
 *
 * Keys come from the network: every table hashes with a seed of its own (hash_seed()).
 * Callers hash a key with table_hash(), or a key in pieces with lib/hash.h from
 * table_seed(), and pass the hash to every call: a find that misses and the insert after it
 * hash once. Lookups compare the hash, then the key_size bytes at the entry's start
 * (table_find), or call an equality of the caller's (table_find_eq: a case-insensitive name,
 * a key whose long part lives elsewhere); both are inline, so that the equality is called
 * directly or inlined, never through a pointer.
 *
 * Storage is allocated once, at creation: max_entries entries of entry_size bytes, key and
 * value inline, calloc'd so that pages no entry ever used stay non-resident. Nothing is
 * allocated per insert, and an entry keeps its address while it is in the table.
 *
 * Entries are kept in age order: insertion order, or use order for callers that table_touch()
 * an entry when they use it (least recently used first). A full table either evicts its
 * oldest entry, calling on_evict first so the caller can count it and release what it owns,
 * or refuses the insert. With a ttl, each entry carries the time of its insertion or last
 * touch, and table_expire() removes the entries that have reached the ttl, oldest first; a
 * table without ttl keeps no times and never expires anything.
 *
 * Not thread-safe. Callbacks must not call into the table that calls them. */
#ifndef DNSVIGIL_TABLE_H
#define DNSVIGIL_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "hash.h"

/* Whether entry (in the table) holds key (as given to table_find_eq). */
typedef bool (*table_eq_fn)(const void *entry, const void *key);
/* An entry leaving the table: evicted (on_evict) or expired (table_expire). */
typedef void (*table_entry_fn)(void *ctx, void *entry);

enum table_full {
	TABLE_EVICT,  /* the oldest entry makes room */
	TABLE_REFUSE, /* table_insert returns NULL */
};

struct table_opts {
	size_t max_entries; /* 1 .. UINT32_MAX */
	size_t entry_size;  /* key first; entries are 8-byte aligned */
	size_t key_size;    /* bytes of the entry that table_find compares and table_insert
			     * copies; 0 when the caller keeps and compares its own key */
	enum table_full when_full;
	table_entry_fn on_evict; /* TABLE_EVICT: called with ctx on an entry before it is
				  * evicted; may be NULL */
	void *ctx;
	uint64_t ttl_ns;    /* 0: no expiry */
	size_t chain_load;  /* entries per hash chain when full (0: 1). Fewer chains keep the
			     * chain heads of a table far from full in cache. */
};

/* Internals, here for the inline lookups below. */
struct table_node {
	struct table_node *next, **pprev; /* hash chain */
	struct table_node *older, *newer; /* age order */
	uint64_t hash;
	/* then, when the table has a ttl, the time of insertion or last touch; then the entry */
};

struct table {
	struct table_node **chains;
	unsigned int shift; /* a hash's top bits pick its chain */
	size_t entry_off;   /* from a node to its entry */
	size_t key_size;
	uint64_t seed;
	uint64_t ttl_ns;
	/* table.c's alone */
	uint8_t *nodes;
	size_t node_size, max_entries, n_used, count;
	struct table_node *free, *oldest, *newest;
	enum table_full when_full;
	table_entry_fn on_evict;
	void *ctx;
};

/* Returns NULL with errno set: EINVAL for options out of range, ENOMEM. */
struct table *table_new(const struct table_opts *opts);
void table_free(struct table *t);

static inline uint64_t table_seed(const struct table *t)
{
	return t->seed;
}

static inline uint64_t table_hash(const struct table *t, const void *key, size_t len)
{
	return hash_finish(hash_bytes(t->seed, key, len));
}

static inline void *table__entry(const struct table *t, const struct table_node *n)
{
	return (uint8_t *)n + t->entry_off;
}

/* The entry with this hash that eq says holds key (eq NULL: whose first key_size bytes are
 * key's), or NULL. */
static inline void *table_find_eq(const struct table *t, uint64_t hash, table_eq_fn eq,
				  const void *key)
{
	const struct table_node *n;

	for (n = t->chains[hash >> t->shift]; n; n = n->next) {
		void *entry = table__entry(t, n);

		if (n->hash == hash && (eq ? eq(entry, key) : !memcmp(entry, key, t->key_size)))
			return entry;
	}
	return NULL;
}

static inline void *table_find(const struct table *t, uint64_t hash, const void *key)
{
	return table_find_eq(t, hash, NULL, key);
}

/* Adds an entry under hash, the newest, stamped now_ns (tables with a ttl), with key's
 * key_size bytes copied in (key may be NULL when key_size is 0). The key must not be in the
 * table yet. The rest of the entry is left as it was: zeros if never used, else what a
 * removed or evicted entry left there; fill it in. Returns the entry, or NULL when the table
 * is full and refuses. */
void *table_insert(struct table *t, uint64_t hash, const void *key, uint64_t now_ns);
/* Makes entry the newest, stamped now_ns. */
void table_touch(struct table *t, void *entry, uint64_t now_ns);
void table_remove(struct table *t, void *entry);

/* Removes, oldest first, the entries with now_ns - stamp >= ttl_ns, calling fn (unless NULL)
 * on each before. Stops at the first younger one: an entry stamped later than those behind
 * it holds them back, by no more than the difference. One stamped after now_ns has age 0. */
void table_expire(struct table *t, uint64_t now_ns, table_entry_fn fn, void *ctx);

/* The time entry was inserted or last touched; 0 in a table without ttl. */
static inline uint64_t table_stamp(const struct table *t, const void *entry)
{
	return t->ttl_ns ? *((const uint64_t *)entry - 1) : 0;
}

/* Age order, oldest first; NULL after the newest. Removing the entry at hand is safe when
 * its successor was taken before. */
void *table_oldest(const struct table *t);
void *table_newer(const struct table *t, const void *entry);

size_t table_count(const struct table *t);

#endif
