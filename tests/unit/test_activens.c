/* Active nameserver lookups (agent/activens.c): which requests go to the worker, when a
 * domain is asked for again, the rate, and a process that is gone. The requests are this
 * test's own process's (its /proc/PID/ns/net opens without privileges). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "activens.h"

#define S 1000000000ull
#define T0 (1000 * S)

static struct activens_request req(const char *domain)
{
	struct activens_request r = { .pid = getpid(), .ns_fd = -1, .family = 4, .server = { 127, 0, 0, 53 },
				      .port = 53 };

	snprintf(r.domain, sizeof(r.domain), "%s", domain);
	return r;
}

static struct activens *make(unsigned rate, size_t queue_max, size_t cache_max)
{
	struct activens_opts o = ACTIVENS_DEFAULTS;
	struct activens *a;

	o.rate = rate;
	o.queue_max = queue_max;
	o.cache_max = cache_max;
	assert_non_null(a = activens_new(&o));
	return a;
}

/* Takes the next request at now, which must be for domain. */
static void take(struct activens *a, uint64_t now, const char *domain)
{
	struct activens_request r;
	uint64_t wait = 0;

	assert_int_equal(activens_next(a, now, &r, &wait), 0);
	assert_string_equal(r.domain, domain);
	assert_true(r.ns_fd >= 0);
	close(r.ns_fd);
}

static void a_domain_waiting_or_answered_is_not_asked_again_before_its_ttl(void **state)
{
	struct activens *a = make(5, 8, 16);
	struct activens_request r = req("example.com"), out;
	uint64_t wait;

	(void)state;
	assert_int_equal(activens_request(a, &r, T0), 0);
	/* another lookup of the same domain while the first waits */
	assert_int_equal(activens_request(a, &r, T0 + S), -EALREADY);
	take(a, T0 + S, "example.com");
	assert_int_equal(activens_next(a, T0 + S, &out, &wait), -ENOENT);
	/* answered with a TTL of 2 h: held 2 h, then asked again */
	activens_done(a, "example.com", 0, 7200, T0 + 2 * S);
	assert_int_equal(activens_request(a, &r, T0 + 7201 * S), -EALREADY);
	assert_int_equal(activens_request(a, &r, T0 + 7203 * S), 0);
	/* a TTL under an hour holds an hour, one over a day a day */
	take(a, T0 + 7203 * S, "example.com");
	activens_done(a, "example.com", 0, 60, T0 + 8000 * S);
	assert_int_equal(activens_request(a, &r, T0 + (8000 + 3599) * S), -EALREADY);
	assert_int_equal(activens_request(a, &r, T0 + (8000 + 3600) * S), 0);
	take(a, T0 + 12000 * S, "example.com");
	activens_done(a, "example.com", 0, 30 * 86400, T0 + 12000 * S);
	assert_int_equal(activens_request(a, &r, T0 + (12000 + 86399) * S), -EALREADY);
	assert_int_equal(activens_request(a, &r, T0 + (12000 + 86400) * S), 0);
	assert_int_equal(activens_stats(a)->requests, 4);
	assert_int_equal(activens_stats(a)->failures, 0);
	activens_free(a);
}

static void a_failure_backs_off_and_a_process_gone_leaves_nothing_behind(void **state)
{
	char root[] = "/tmp/test_activens.XXXXXX";
	struct activens *a = make(5, 8, 16), *g;
	struct activens_opts o = ACTIVENS_DEFAULTS;
	struct activens_request r = req("example.com"), out;
	uint64_t wait;

	(void)state;
	assert_int_equal(activens_request(a, &r, T0), 0);
	take(a, T0, "example.com");
	activens_done(a, "example.com", -ETIMEDOUT, 0, T0 + 4 * S);
	assert_int_equal(activens_request(a, &r, T0 + (4 + ACTIVENS_BACKOFF_S - 1) * S), -EALREADY);
	assert_int_equal(activens_request(a, &r, T0 + (4 + ACTIVENS_BACKOFF_S) * S), 0);
	assert_int_equal(activens_stats(a)->failures, 1);
	activens_free(a); /* with a request waiting: its fd closed */
	/* a procfs without the process: counted, not queued, not remembered */
	assert_non_null(mkdtemp(root));
	o.proc_root = root;
	assert_non_null(g = activens_new(&o));
	assert_int_equal(activens_request(g, &r, T0), -ESRCH);
	assert_int_equal(activens_request(g, &r, T0), -ESRCH);
	assert_int_equal(activens_stats(g)->gone, 2);
	assert_int_equal(activens_stats(g)->requests, 0);
	assert_int_equal(activens_next(g, T0, &out, &wait), -ENOENT);
	activens_free(g);
	rmdir(root);
}

static void the_rate_allows_a_burst_then_one_per_interval(void **state)
{
	struct activens *a = make(2, 8, 16);
	struct activens_request out;
	const char *names[] = { "a.com", "b.com", "c.com", "d.com" };
	uint64_t wait = 0;

	(void)state;
	for (size_t i = 0; i < 4; i++) {
		struct activens_request r = req(names[i]);

		assert_int_equal(activens_request(a, &r, T0), 0);
	}
	take(a, T0, "a.com");
	take(a, T0, "b.com");
	assert_int_equal(activens_next(a, T0, &out, &wait), -EAGAIN);
	assert_int_equal(wait, S / 2);
	assert_int_equal(activens_next(a, T0 + S / 2 - 1, &out, &wait), -EAGAIN);
	assert_int_equal(wait, 1);
	take(a, T0 + S / 2, "c.com");
	assert_int_equal(activens_next(a, T0 + S / 2, &out, &wait), -EAGAIN);
	take(a, T0 + S, "d.com");
	/* after a quiet while the burst is back, no more */
	for (size_t i = 0; i < 3; i++) {
		struct activens_request r = req(names[i]);

		activens_done(a, names[i], -ETIMEDOUT, 0, T0);
		assert_int_equal(activens_request(a, &r, T0 + ACTIVENS_BACKOFF_S * S), 0);
	}
	take(a, T0 + ACTIVENS_BACKOFF_S * S, "a.com");
	take(a, T0 + ACTIVENS_BACKOFF_S * S, "b.com");
	assert_int_equal(activens_next(a, T0 + ACTIVENS_BACKOFF_S * S, &out, &wait), -EAGAIN);
	activens_free(a);
}

static void a_full_queue_drops_and_a_full_cache_forgets_the_oldest(void **state)
{
	struct activens *a = make(5, 2, 2);
	struct activens_request r1 = req("a.com"), r2 = req("b.com"), r3 = req("c.com");

	(void)state;
	assert_int_equal(activens_request(a, &r1, T0), 0);
	assert_int_equal(activens_request(a, &r2, T0), 0);
	assert_int_equal(activens_request(a, &r3, T0), -ENOBUFS);
	assert_int_equal(activens_stats(a)->dropped, 1);
	take(a, T0, "a.com");
	take(a, T0, "b.com");
	activens_done(a, "a.com", 0, 7200, T0);
	activens_done(a, "b.com", 0, 7200, T0);
	/* c.com was dropped: nothing held it; its entry evicts a.com, the oldest */
	assert_int_equal(activens_request(a, &r3, T0 + S), 0);
	assert_int_equal(activens_stats(a)->evicted, 1);
	assert_int_equal(activens_request(a, &r2, T0 + S), -EALREADY);
	assert_int_equal(activens_request(a, &r1, T0 + S), 0);
	assert_int_equal(activens_stats(a)->requests, 4);
	activens_free(a);
}

static void options_out_of_range_are_refused(void **state)
{
	struct activens_opts o = ACTIVENS_DEFAULTS;

	(void)state;
	o.rate = 0;
	assert_null(activens_new(&o));
	assert_int_equal(errno, EINVAL);
	o.rate = 1001;
	assert_null(activens_new(&o));
	o.rate = 5;
	o.queue_max = 0;
	assert_null(activens_new(&o));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_domain_waiting_or_answered_is_not_asked_again_before_its_ttl),
		cmocka_unit_test(a_failure_backs_off_and_a_process_gone_leaves_nothing_behind),
		cmocka_unit_test(the_rate_allows_a_burst_then_one_per_interval),
		cmocka_unit_test(a_full_queue_drops_and_a_full_cache_forgets_the_oldest),
		cmocka_unit_test(options_out_of_range_are_refused),
	};

	return cmocka_run_group_tests_name("activens", tests, NULL, NULL);
}
