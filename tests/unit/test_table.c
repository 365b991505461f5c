/* The bounded hash table every agent module keeps its state in. */
#include <ctype.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "table.h"

/* A key and a value, as most modules keep them. */
struct item {
	uint64_t key;
	uint64_t value;
};

#define MAX_SEEN 16

static uint64_t seen[MAX_SEEN]; /* keys on_evict or table_expire's callback were given */
static size_t n_seen;

static int reset(void **state)
{
	(void)state;
	n_seen = 0;
	return 0;
}

static void record(void *ctx, void *entry)
{
	assert_ptr_equal(ctx, seen);
	assert_true(n_seen < MAX_SEEN);
	seen[n_seen++] = ((struct item *)entry)->key;
}

static struct table *new_table(size_t max, enum table_full when_full, uint64_t ttl_ns)
{
	struct table_opts opts = {
		.max_entries = max,
		.entry_size = sizeof(struct item),
		.key_size = sizeof(uint64_t),
		.when_full = when_full,
		.on_evict = record,
		.ctx = seen,
		.ttl_ns = ttl_ns,
	};
	struct table *t = table_new(&opts);

	assert_non_null(t);
	return t;
}

static uint64_t hash_of(const struct table *t, uint64_t key)
{
	return table_hash(t, &key, sizeof(key));
}

static struct item *put(struct table *t, uint64_t key, uint64_t value, uint64_t now_ns)
{
	struct item *it = table_insert(t, hash_of(t, key), &key, now_ns);

	if (it) {
		assert_int_equal(it->key, key); /* copied in */
		it->value = value;
	}
	return it;
}

static struct item *get(const struct table *t, uint64_t key)
{
	return table_find(t, hash_of(t, key), &key);
}

/* Keys first..last, inserted in order with value 0, all stamped now_ns. */
static void put_keys(struct table *t, uint64_t first, uint64_t last, uint64_t now_ns)
{
	for (uint64_t k = first; k <= last; k++)
		assert_non_null(put(t, k, 0, now_ns));
}

/* The keys given to the callbacks so far, in order: n of them. */
static void assert_seen(size_t n, ...)
{
	va_list ap;

	assert_int_equal(n_seen, n);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(seen[i], va_arg(ap, int));
	va_end(ap);
}

static void insert_find_remove(void **state)
{
	struct table *t = new_table(8, TABLE_EVICT, 0);

	(void)state;
	assert_null(get(t, 1));
	put(t, 1, 100, 0);
	put(t, 2, 200, 0);
	assert_int_equal(table_count(t), 2);
	assert_int_equal(get(t, 1)->value, 100);
	assert_int_equal(get(t, 2)->value, 200);
	assert_null(get(t, 3));

	table_remove(t, get(t, 1));
	assert_null(get(t, 1));
	assert_int_equal(get(t, 2)->value, 200);
	assert_int_equal(table_count(t), 1);
	assert_seen(0); /* a removal is no eviction */
	table_free(t);
}

static void entries_keep_their_address_and_storage_is_reused(void **state)
{
	struct table *t = new_table(4, TABLE_REFUSE, 0);
	struct item *first = put(t, 1, 1, 0);

	(void)state;
	/* many more inserts than max_entries, one live entry besides the first at a time */
	for (uint64_t k = 2; k < 1000; k++) {
		assert_non_null(put(t, k, k, 0));
		table_remove(t, get(t, k));
	}
	assert_ptr_equal(get(t, 1), first);
	assert_int_equal(table_count(t), 1);
	table_free(t);
}

static void full_table_evicts_oldest_inserted_first(void **state)
{
	struct table *t = new_table(3, TABLE_EVICT, 0);

	(void)state;
	put_keys(t, 1, 3, 0);
	assert_seen(0);
	put_keys(t, 4, 5, 0);
	assert_seen(2, 1, 2);
	assert_null(get(t, 1));
	assert_null(get(t, 2));
	assert_non_null(get(t, 3));
	assert_non_null(get(t, 5));
	assert_int_equal(table_count(t), 3);
	table_free(t);
}

static void touched_entry_is_evicted_last(void **state)
{
	struct table *t = new_table(3, TABLE_EVICT, 0);

	(void)state;
	put_keys(t, 1, 3, 0);
	table_touch(t, get(t, 1), 0); /* 2 is now the least recently used */
	put_keys(t, 4, 5, 0);
	assert_seen(2, 2, 3);
	assert_non_null(get(t, 1));
	table_free(t);
}

static void full_table_refuses_and_keeps_its_entries(void **state)
{
	struct table *t = new_table(2, TABLE_REFUSE, 0);

	(void)state;
	put(t, 1, 10, 0);
	put(t, 2, 20, 0);
	assert_null(put(t, 3, 30, 0));
	assert_seen(0);
	assert_int_equal(table_count(t), 2);
	assert_int_equal(get(t, 1)->value, 10);
	assert_null(get(t, 3));
	table_remove(t, get(t, 1));
	assert_non_null(put(t, 3, 30, 0)); /* room again */
	assert_int_equal(get(t, 3)->value, 30);
	table_free(t);
}

static void expire_removes_oldest_first_and_calls_back(void **state)
{
	struct table *t = new_table(8, TABLE_EVICT, 100);

	(void)state;
	put(t, 1, 0, 1000);
	put(t, 2, 0, 1010);
	put(t, 3, 0, 1050);
	assert_int_equal(table_stamp(t, get(t, 2)), 1010);

	table_expire(t, 1099, record, seen); /* 1 is 99 old */
	assert_seen(0);
	table_expire(t, 1110, record, seen); /* 1 is 110, 2 is 100: both reached the ttl */
	assert_seen(2, 1, 2);
	assert_null(get(t, 1));
	assert_null(get(t, 2));
	assert_non_null(get(t, 3));

	table_expire(t, 5000, NULL, NULL); /* no callback: removed all the same */
	assert_int_equal(table_count(t), 0);
	assert_seen(2, 1, 2);
	table_free(t);
}

static void touch_restamps_for_expiry(void **state)
{
	struct table *t = new_table(8, TABLE_EVICT, 100);

	(void)state;
	put(t, 1, 0, 1000);
	put(t, 2, 0, 1010);
	table_touch(t, get(t, 1), 1080);
	assert_int_equal(table_stamp(t, get(t, 1)), 1080);
	table_expire(t, 1150, record, seen);
	assert_seen(1, 2);
	assert_non_null(get(t, 1));
	table_free(t);
}

static void entry_stamped_in_the_future_holds_back_older_ones(void **state)
{
	struct table *t = new_table(8, TABLE_EVICT, 100);

	(void)state;
	put(t, 1, 0, 2000); /* events are only roughly in time order across CPUs */
	put(t, 2, 0, 1000);
	table_expire(t, 1500, record, seen);
	assert_seen(0);
	table_expire(t, 2100, record, seen);
	assert_seen(2, 1, 2);
	table_free(t);
}

static void table_without_ttl_keeps_no_time_and_expires_nothing(void **state)
{
	struct table *t = new_table(8, TABLE_EVICT, 0);

	(void)state;
	put(t, 1, 0, 1000);
	assert_int_equal(table_stamp(t, get(t, 1)), 0);
	table_expire(t, UINT64_MAX, record, seen);
	assert_seen(0);
	assert_non_null(get(t, 1));
	table_free(t);
}

static void seeds_differ_between_tables(void **state)
{
	struct table *a = new_table(8, TABLE_EVICT, 0), *b = new_table(8, TABLE_EVICT, 0);

	(void)state;
	assert_int_not_equal(table_seed(a), table_seed(b));
	assert_int_not_equal(hash_of(a, 42), hash_of(b, 42));
	assert_int_equal(hash_of(a, 42), hash_of(a, 42));
	table_free(a);
	table_free(b);
}

/* Keys that all hash alike (a sender who found a collision) share one chain: every one is
 * still found, and only its own. */
static void colliding_keys_in_one_chain_all_found(void **state)
{
	enum { N = 1000 };
	struct table *t = new_table(N, TABLE_REFUSE, 0);
	const uint64_t h = 12345;

	(void)state;
	for (uint64_t k = 0; k < N; k++) {
		struct item *it = table_insert(t, h, &k, 0);

		assert_non_null(it);
		it->value = k * 10;
	}
	for (uint64_t k = 0; k < N; k += 2)
		table_remove(t, table_find(t, h, &k));
	for (uint64_t k = 0; k < N; k++) {
		struct item *it = table_find(t, h, &k);

		if (k % 2) {
			assert_non_null(it);
			assert_int_equal(it->value, k * 10);
		} else {
			assert_null(it);
		}
	}
	assert_int_equal(table_count(t), N / 2);
	table_free(t);
}

/* A caller's own key and equality: a name compared case-insensitively. */
struct name_entry {
	char name[32];
};

static bool same_name(const void *entry, const void *key)
{
	return !strcasecmp(((const struct name_entry *)entry)->name, key);
}

static uint64_t name_hash(const struct table *t, const char *name)
{
	char lower[32];
	size_t i;

	for (i = 0; name[i]; i++)
		lower[i] = tolower((unsigned char)name[i]);
	return table_hash(t, lower, i);
}

static void custom_equality_finds_case_insensitive_names(void **state)
{
	struct table_opts opts = { .max_entries = 4, .entry_size = sizeof(struct name_entry) };
	struct table *t = table_new(&opts);
	struct name_entry *e;

	(void)state;
	assert_non_null(t);
	e = table_insert(t, name_hash(t, "Example.TEST"), NULL, 0);
	assert_non_null(e);
	strcpy(e->name, "Example.TEST");
	assert_ptr_equal(table_find_eq(t, name_hash(t, "eXAMPLE.test"), same_name, "eXAMPLE.test"),
			 e);
	assert_null(table_find_eq(t, name_hash(t, "other.test"), same_name, "other.test"));
	table_free(t);
}

static void age_order_iteration_survives_removal(void **state)
{
	struct table *t = new_table(8, TABLE_EVICT, 0);
	uint64_t keys[8];
	size_t n = 0;
	struct item *it, *next;

	(void)state;
	put_keys(t, 1, 5, 0);
	table_touch(t, get(t, 2), 0);
	for (it = table_oldest(t); it; it = next) {
		next = table_newer(t, it);
		keys[n++] = it->key;
		if (it->key % 2)
			table_remove(t, it);
	}
	assert_int_equal(n, 5);
	assert_int_equal(keys[0], 1);
	assert_int_equal(keys[1], 3);
	assert_int_equal(keys[2], 4);
	assert_int_equal(keys[3], 5);
	assert_int_equal(keys[4], 2);
	assert_int_equal(table_count(t), 2);
	it = table_oldest(t);
	assert_int_equal(it->key, 4);
	assert_int_equal(((struct item *)table_newer(t, it))->key, 2);
	table_free(t);
}

static void zero_sizes_rejected_or_handled(void **state)
{
	struct table_opts none = { .max_entries = 0, .entry_size = 8 };
	struct table_opts key_too_long = { .max_entries = 4, .entry_size = 4, .key_size = 8 };
	struct table_opts hashes_only = { .max_entries = 2, .when_full = TABLE_REFUSE };
	const char nothing = 0; /* the key of no bytes */
	struct table *t;

	(void)state;
	errno = 0;
	assert_null(table_new(&none));
	assert_int_equal(errno, EINVAL);
	errno = 0;
	assert_null(table_new(&key_too_long));
	assert_int_equal(errno, EINVAL);

	/* no entry bytes and no key: a set of hashes */
	t = table_new(&hashes_only);
	assert_non_null(t);
	assert_null(table_find(t, 7, &nothing));
	assert_null(table_oldest(t));
	table_expire(t, 100, NULL, NULL);
	assert_non_null(table_insert(t, 7, NULL, 0));
	assert_non_null(table_insert(t, 8, NULL, 0));
	assert_null(table_insert(t, 9, NULL, 0));
	assert_non_null(table_find(t, 7, &nothing));
	assert_null(table_find(t, 9, &nothing));
	table_free(t);
	table_free(NULL);
}

static void table_of_one_entry_evicts_at_each_insert(void **state)
{
	struct table *t = new_table(1, TABLE_EVICT, 0);

	(void)state;
	put_keys(t, 1, 3, 0);
	assert_seen(2, 1, 2);
	assert_null(get(t, 2));
	assert_non_null(get(t, 3));
	assert_int_equal(table_count(t), 1);
	table_free(t);
}

/* A padded buffer hashes as hash_bytes hashes the same bytes, whatever follows them. */
static void padded_hash_equals_hash_bytes(void **state)
{
	uint8_t buf[48 + 8];

	(void)state;
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)(i * 37 + 11);
	for (size_t n = 0; n <= 48; n++)
		assert_int_equal(hash_bytes_padded(42, buf, n), hash_bytes(42, buf, n));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(insert_find_remove, reset),
		cmocka_unit_test_setup(entries_keep_their_address_and_storage_is_reused, reset),
		cmocka_unit_test_setup(full_table_evicts_oldest_inserted_first, reset),
		cmocka_unit_test_setup(touched_entry_is_evicted_last, reset),
		cmocka_unit_test_setup(full_table_refuses_and_keeps_its_entries, reset),
		cmocka_unit_test_setup(expire_removes_oldest_first_and_calls_back, reset),
		cmocka_unit_test_setup(touch_restamps_for_expiry, reset),
		cmocka_unit_test_setup(entry_stamped_in_the_future_holds_back_older_ones, reset),
		cmocka_unit_test_setup(table_without_ttl_keeps_no_time_and_expires_nothing, reset),
		cmocka_unit_test_setup(seeds_differ_between_tables, reset),
		cmocka_unit_test_setup(colliding_keys_in_one_chain_all_found, reset),
		cmocka_unit_test_setup(custom_equality_finds_case_insensitive_names, reset),
		cmocka_unit_test_setup(age_order_iteration_survives_removal, reset),
		cmocka_unit_test_setup(zero_sizes_rejected_or_handled, reset),
		cmocka_unit_test_setup(table_of_one_entry_evicts_at_each_insert, reset),
		cmocka_unit_test(padded_hash_equals_hash_bytes),
	};

	return cmocka_run_group_tests_name("table", tests, NULL, NULL);
}
