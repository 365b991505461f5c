/* Registered domains from Debian's Public Suffix List (lib/regdom.c, libpsl). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "regdom.h"

static struct regdom *r;

static void expect(const char *name, int want_err, const char *want)
{
	char buf[REGDOM_NAME_MAX + 1];
	int err = regdom_of(r, name, buf, sizeof(buf));

	print_message("%s\n", name);
	assert_int_equal(err, want_err);
	if (!err)
		assert_string_equal(buf, want);
}

static void names_fall_under_their_registered_domain(void **state)
{
	(void)state;
	expect("www.example.com", 0, "example.com");
	expect("example.com", 0, "example.com");
	expect("a.b.example.co.uk", 0, "example.co.uk");
	expect("WWW.Example.COM.", 0, "example.com");
	expect("ns1.provider.net.", 0, "provider.net");
	/* the private section: a user's site on a platform is their own registered domain */
	expect("x.y.github.io", 0, "y.github.io");
	/* a suffix the list does not know: the default rule, its last label */
	expect("host.corp.internal-lab", 0, "corp.internal-lab");
}

static void public_suffixes_and_bad_names_have_none(void **state)
{
	char small[8];

	(void)state;
	expect("com", -ENOENT, NULL);
	expect("co.uk.", -ENOENT, NULL);
	expect("github.io", -ENOENT, NULL);
	expect("", -ENOENT, NULL);
	expect(".", -ENOENT, NULL);
	expect("a..example.com", -EINVAL, NULL);
	expect(".example.com", -EINVAL, NULL);
	assert_int_equal(regdom_of(r, "www.example.com", small, sizeof(small)), -ENAMETOOLONG);
}

static void names_at_the_length_bound_are_handled(void **state)
{
	char name[300], buf[REGDOM_NAME_MAX + 1];

	(void)state;
	/* 63-byte labels: 4 of them and "com" is 259 bytes, over 254 */
	memset(name, 'a', sizeof(name));
	for (int i = 63; i < 4 * 64; i += 64)
		name[i] = '.';
	strcpy(name + 4 * 64, "com");
	assert_int_equal(regdom_of(r, name, buf, sizeof(buf)), -ENAMETOOLONG);
	strcpy(name + 3 * 64, "com");
	assert_int_equal(regdom_of(r, name, buf, sizeof(buf)), 0);
	assert_int_equal(strlen(buf), 63 + 1 + 3);
}

static void a_missing_list_is_an_error(void **state)
{
	struct regdom *none = NULL;

	(void)state;
	assert_int_equal(regdom_open("/nonexistent/list.dafsa", &none), -ENOENT);
	assert_null(none);
}

static int setup(void **state)
{
	(void)state;
	return regdom_open(NULL, &r);
}

static int teardown(void **state)
{
	(void)state;
	regdom_free(r);
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(names_fall_under_their_registered_domain),
		cmocka_unit_test(public_suffixes_and_bad_names_have_none),
		cmocka_unit_test(names_at_the_length_bound_are_handled),
		cmocka_unit_test(a_missing_list_is_an_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
