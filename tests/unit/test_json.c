/* The JSON writers the sinks build events with. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <arpa/inet.h>
#include <cmocka.h>

#include "json.h"

static struct jbuf b;

static const char *text(void)
{
	jbuf_raw(&b, "", 1); /* NUL-terminate for the comparison */
	assert_false(b.failed);
	return b.p;
}

static int reset(void **state)
{
	(void)state;
	jbuf_reset(&b);
	return 0;
}

static void strings_escape_quotes_backslashes_and_control_bytes(void **state)
{
	(void)state;
	jbuf_str(&b, "a\"b\\c\n\x01\x7f\xc3");
	assert_string_equal(text(), "\"a\\\"b\\\\c\\u000a\\u0001\\u007f\\u00c3\"");
}

/* The escaping of one byte, as JSON needs it. */
static size_t escape_byte(unsigned char c, char *out)
{
	if (c == '"' || c == '\\')
		return (size_t)sprintf(out, "\\%c", c);
	if (c < 0x20 || c >= 0x7f)
		return (size_t)sprintf(out, "\\u00%02x", c);
	out[0] = (char)c;
	return 1;
}

static void every_byte_at_every_offset_escapes_as_alone(void **state)
{
	char in[40], want[40 * 6 + 3];

	(void)state;
	/* byte v at offset k of a plain run: the word-at-a-time scan must stop at it */
	for (int v = 1; v < 256; v++) {
		for (size_t k = 0; k < 24; k++) {
			size_t n = 0;

			memset(in, 'a', sizeof(in) - 1);
			in[sizeof(in) - 1] = '\0';
			in[k] = (char)v;
			want[n++] = '"';
			for (size_t i = 0; i < sizeof(in) - 1; i++)
				n += escape_byte((unsigned char)in[i], want + n);
			want[n++] = '"';
			want[n] = '\0';
			jbuf_reset(&b);
			jbuf_str(&b, in);
			assert_string_equal(text(), want);
		}
	}
}

static void null_string_is_json_null(void **state)
{
	(void)state;
	jbuf_str(&b, NULL);
	assert_string_equal(text(), "null");
}

static void keys_have_commas_except_the_first(void **state)
{
	(void)state;
	jbuf_lit(&b, "{");
	jbuf_key(&b, "a", true);
	jbuf_u64(&b, 0);
	jbuf_key(&b, "b", false);
	jbuf_i64(&b, -42);
	jbuf_key(&b, "c", false);
	jbuf_u64(&b, UINT64_MAX);
	jbuf_lit(&b, "}");
	assert_string_equal(text(), "{\"a\":0,\"b\":-42,\"c\":18446744073709551615}");
}

static void time_is_rfc3339_utc_with_nanoseconds(void **state)
{
	(void)state;
	jbuf_time(&b, 1795785859000000007ull); /* 2026-11-27T13:24:19.000000007Z */
	jbuf_raw(&b, " ", 1);
	jbuf_time(&b, 1795785859123456789ull); /* same second: the cached prefix */
	jbuf_raw(&b, " ", 1);
	jbuf_time(&b, 1795785860000000000ull); /* next second */
	assert_string_equal(text(), "\"2026-11-27T13:24:19.000000007Z\" "
				    "\"2026-11-27T13:24:19.123456789Z\" "
				    "\"2026-11-27T13:24:20.000000000Z\"");
}

static void ipv4_and_ipv6_addresses(void **state)
{
	const uint8_t v4[16] = { 127, 0, 10, 255 };
	const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };

	(void)state;
	jbuf_ip(&b, 4, v4);
	jbuf_ip(&b, 6, v6);
	assert_string_equal(text(), "\"127.0.10.255\"\"2001:db8::1\"");
}

/* The formatters take digits two at a time: every length and boundary as printf writes it. */
static void numbers_are_written_as_printf_writes_them(void **state)
{
	char want[32];

	(void)state;
	for (uint64_t p = 1; p && p <= UINT64_MAX / 10; p *= 10) {
		const uint64_t values[] = { p - 1, p, p + 1, p * 9 + p - 1, p * 5 + 7 };

		for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
			jbuf_reset(&b);
			jbuf_u64(&b, values[i]);
			snprintf(want, sizeof(want), "%llu", (unsigned long long)values[i]);
			assert_string_equal(text(), want);
		}
	}
}

static void every_ipv4_octet_in_every_position_as_inet_ntop(void **state)
{
	char want[INET_ADDRSTRLEN + 2] = "\"";

	(void)state;
	for (int pos = 0; pos < 4; pos++) {
		for (int v = 0; v < 256; v++) {
			uint8_t addr[16] = { 1, 2, 3, 4 };

			addr[pos] = v;
			jbuf_reset(&b);
			jbuf_ip(&b, 4, addr);
			inet_ntop(AF_INET, addr, want + 1, INET_ADDRSTRLEN);
			strcat(want, "\"");
			assert_string_equal(text(), want);
		}
	}
}

static void hex_is_lowercase(void **state)
{
	const uint8_t data[] = { 0x00, 0xab, 0xff };

	(void)state;
	jbuf_hex(&b, data, sizeof(data));
	assert_string_equal(text(), "\"00abff\"");
}

static void buffer_grows_past_its_first_size(void **state)
{
	(void)state;
	for (int i = 0; i < 10000; i++)
		jbuf_lit(&b, "0123456789");
	assert_int_equal(b.len, 100000);
	assert_false(b.failed);
	assert_memory_equal(b.p + 99990, "0123456789", 10);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(strings_escape_quotes_backslashes_and_control_bytes, reset),
		cmocka_unit_test_setup(every_byte_at_every_offset_escapes_as_alone, reset),
		cmocka_unit_test_setup(null_string_is_json_null, reset),
		cmocka_unit_test_setup(keys_have_commas_except_the_first, reset),
		cmocka_unit_test_setup(time_is_rfc3339_utc_with_nanoseconds, reset),
		cmocka_unit_test_setup(ipv4_and_ipv6_addresses, reset),
		cmocka_unit_test_setup(numbers_are_written_as_printf_writes_them, reset),
		cmocka_unit_test_setup(every_ipv4_octet_in_every_position_as_inet_ntop, reset),
		cmocka_unit_test_setup(hex_is_lowercase, reset),
		cmocka_unit_test_setup(buffer_grows_past_its_first_size, reset),
	};
	int failed = cmocka_run_group_tests_name("json", tests, NULL, NULL);

	jbuf_free(&b);
	return failed;
}
