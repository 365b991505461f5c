#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "call.h"

#define AF_INET_LIBC 2
#define AF_INET6_LIBC 10
#define TYPE_A 1
#define RCODE_NXDOMAIN 3
#define RCODE_SERVFAIL 2

static struct dns_parser *parser;
static struct dv_call_rec rec;
static struct call_info ci;
static struct call_buf buf;

static int setup(void **state)
{
	(void)state;
	memset(&rec, 0, sizeof(rec));
	rec.kind = DV_REC_CALL;
	rec.call_id = 4097;
	rec.start_ns = 1000;
	rec.end_ns = 251000;
	return 0;
}

static int group_setup(void **state)
{
	(void)state;
	parser = dns_parser_new();
	return parser ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	dns_parser_free(parser);
	return 0;
}

static void add_v4(const char *text)
{
	struct dv_call_addr *a = &rec.addrs[rec.n_addrs++];

	a->family = 4;
	assert_int_equal(inet_pton(AF_INET, text, a->addr), 1);
}

static void add_v6(const char *text)
{
	struct dv_call_addr *a = &rec.addrs[rec.n_addrs++];

	a->family = 6;
	assert_int_equal(inet_pton(AF_INET6, text, a->addr), 1);
}

/* An int return value as the uretprobe sees it: the low half of the register. */
static int64_t int_ret(int v)
{
	return (int64_t)(uint32_t)v;
}

/* A response (or query) for qname/A with the given rcode and A answers, into rec.msg. */
static void put_msg(bool response, const char *qname, int rcode, const char *const *answers,
		    int n)
{
	uint8_t *p = rec.msg;
	const char *label = qname;

	memset(p, 0, DNS_HEADER_LEN);
	p[0] = 0x12;
	p[1] = 0x34;
	p[2] = response ? 0x81 : 0x01;
	p[3] = response ? 0x80 | rcode : 0;
	p[5] = 1;
	p[7] = n;
	p += DNS_HEADER_LEN;
	while (*label) {
		const char *dot = strchr(label, '.');
		size_t len = dot ? (size_t)(dot - label) : strlen(label);

		*p++ = len;
		memcpy(p, label, len);
		p += len;
		label += len + (dot ? 1 : 0);
	}
	*p++ = 0;
	*p++ = 0;
	*p++ = TYPE_A;
	*p++ = 0;
	*p++ = 1;
	for (int i = 0; i < n; i++) {
		const uint8_t rr[] = { 0xc0, 12, 0, TYPE_A, 0, 1, 0, 0, 1, 0x2c, 0, 4 };

		memcpy(p, rr, sizeof(rr));
		p += sizeof(rr);
		assert_int_equal(inet_pton(AF_INET, answers[i], p), 1);
		p += 4;
	}
	rec.msg_len = p - rec.msg;
}

static void decode(void)
{
	call_decode(&rec, parser, &ci, &buf);
}

static void getaddrinfo_ok_with_hints_flags_and_addresses(void **state)
{
	char text[INET6_ADDRSTRLEN];

	(void)state;
	rec.fn = DV_FN_GETADDRINFO;
	rec.flags = DV_CALL_HINTS | DV_CALL_GOT_RESULT;
	rec.family = AF_INET6_LIBC;
	rec.ai_flags = 0x2 | 0x20 | 0x1000; /* AI_CANONNAME | AI_ADDRCONFIG | unknown */
	strcpy(rec.name, "www.example.test");
	strcpy(rec.service, "https");
	strcpy(rec.hostname, "cdn.example.test");
	add_v6("2001:db8::1");
	add_v4("192.0.2.1");
	add_v6("2001:db8::1"); /* the kernel drops consecutive repeats only */
	decode();

	assert_string_equal(ci.function, "getaddrinfo");
	assert_string_equal(ci.name, "www.example.test");
	assert_string_equal(ci.service, "https");
	assert_string_equal(ci.hostname, "cdn.example.test");
	assert_int_equal(ci.family, 6);
	assert_int_equal(ci.n_flags, 3);
	assert_string_equal(ci.flags[0], "AI_CANONNAME");
	assert_string_equal(ci.flags[1], "AI_ADDRCONFIG");
	assert_string_equal(ci.flags[2], "0x1000");
	assert_string_equal(ci.result, "OK");
	assert_true(ci.has_code);
	assert_int_equal(ci.result_code, 0);
	assert_int_equal(ci.n_addrs, 2);
	assert_string_equal(inet_ntop(AF_INET6, ci.addrs[0].addr, text, sizeof(text)),
			    "2001:db8::1");
	assert_string_equal(inet_ntop(AF_INET, ci.addrs[1].addr, text, sizeof(text)), "192.0.2.1");
	assert_int_equal(ci.latency_ns, 250000);
	assert_int_equal(ci.call_id, 4097);
	assert_int_equal(ci.qtype, 0);
}

static void getaddrinfo_without_hints_has_no_flags_or_family(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETADDRINFO;
	strcpy(rec.name, "a.example.test");
	rec.ret = int_ret(-2);
	decode();
	assert_null(ci.flags);
	assert_int_equal(ci.family, 0);
	assert_null(ci.service);
	assert_null(ci.hostname);
	assert_int_equal(ci.n_addrs, 0);
	assert_string_equal(ci.result, "EAI_NONAME");
	assert_int_equal(ci.result_code, -2);
}

static void eai_codes_named_unknown_ones_numbered(void **state)
{
	static const struct {
		int rc;
		const char *name;
	} cases[] = {
		{ -3, "EAI_AGAIN" },   { -4, "EAI_FAIL" },      { -5, "EAI_NODATA" },
		{ -11, "EAI_SYSTEM" }, { -104, "EAI_INTR" },    { -200, "EAI-200" },
	};

	(void)state;
	rec.fn = DV_FN_GETNAMEINFO;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rec.ret = int_ret(cases[i].rc);
		decode();
		assert_string_equal(ci.result, cases[i].name);
		assert_int_equal(ci.result_code, cases[i].rc);
	}
}

static void gethostbyname_failure_named_by_h_errno(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETHOSTBYNAME;
	rec.family = AF_INET_LIBC;
	strcpy(rec.name, "nx.example.test");
	rec.flags = DV_CALL_HERRNO;
	rec.herrno = 1;
	decode();
	assert_string_equal(ci.result, "HOST_NOT_FOUND");
	assert_false(ci.has_code);
	assert_int_equal(ci.family, 4);

	rec.herrno = 2;
	decode();
	assert_string_equal(ci.result, "TRY_AGAIN");
}

static void gethostbyname_failure_without_h_errno_is_error(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETHOSTBYADDR;
	decode();
	assert_string_equal(ci.result, "ERROR");
}

static void gethostbyname_result_pointer_is_ok(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETHOSTBYNAME2;
	rec.ret = 0x7f0000001000; /* the hostent pointer */
	rec.flags = DV_CALL_GOT_RESULT | DV_CALL_HERRNO;
	rec.herrno = 1; /* stale: success does not reset h_errno */
	decode();
	assert_string_equal(ci.result, "OK");
}

static void reentrant_erange_named_by_errno(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETHOSTBYNAME_R;
	rec.ret = int_ret(ERANGE);
	rec.flags = DV_CALL_HERRNO;
	rec.herrno = -1; /* NETDB_INTERNAL */
	decode();
	assert_string_equal(ci.result, "ERANGE");
	assert_int_equal(ci.result_code, ERANGE);
}

static void reentrant_not_found_prefers_h_errno(void **state)
{
	(void)state;
	/* musl returns ENOENT with HOST_NOT_FOUND, glibc 0 with HOST_NOT_FOUND */
	rec.fn = DV_FN_GETHOSTBYNAME2_R;
	rec.ret = int_ret(ENOENT);
	rec.flags = DV_CALL_HERRNO;
	rec.herrno = 1;
	decode();
	assert_string_equal(ci.result, "HOST_NOT_FOUND");
	rec.ret = 0;
	decode();
	assert_string_equal(ci.result, "HOST_NOT_FOUND");
	rec.flags = 0;
	decode();
	assert_string_equal(ci.result, "ERROR");
}

static void reverse_lookup_name_is_the_address(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETHOSTBYADDR_R;
	rec.flags = DV_CALL_NAME_IS_ADDR;
	rec.family = AF_INET_LIBC;
	assert_int_equal(inet_pton(AF_INET, "192.0.2.50", rec.name), 1);
	decode();
	assert_string_equal(ci.name, "192.0.2.50");

	rec.fn = DV_FN_GETNAMEINFO;
	rec.family = AF_INET6_LIBC;
	rec.port = 53;
	rec.ai_flags = 0x8 | 0x2; /* NI_NAMEREQD | NI_NUMERICSERV */
	assert_int_equal(inet_pton(AF_INET6, "2001:db8::50", rec.name), 1);
	decode();
	assert_string_equal(ci.name, "2001:db8::50");
	assert_string_equal(ci.service, "53");
	assert_int_equal(ci.n_flags, 2);
	assert_string_equal(ci.flags[0], "NI_NUMERICSERV");
	assert_string_equal(ci.flags[1], "NI_NAMEREQD");
}

static void res_query_answer_gives_addresses(void **state)
{
	const char *answers[] = { "192.0.2.50", "192.0.2.51" };
	char text[INET_ADDRSTRLEN];

	(void)state;
	rec.fn = DV_FN_RES_QUERY;
	rec.qtype = TYPE_A;
	strcpy(rec.name, "res.example.test.");
	put_msg(true, "res.example.test", 0, answers, 2);
	rec.ret = int_ret(rec.msg_len);
	decode();
	assert_string_equal(ci.result, "OK");
	assert_int_equal(ci.result_code, rec.msg_len);
	assert_string_equal(ci.name, "res.example.test.");
	assert_int_equal(ci.qtype, TYPE_A);
	assert_int_equal(ci.n_addrs, 2);
	assert_string_equal(inet_ntop(AF_INET, ci.addrs[1].addr, text, sizeof(text)),
			    "192.0.2.51");
}

static void res_query_failure_explained_by_its_response(void **state)
{
	(void)state;
	rec.fn = DV_FN_RES_QUERY;
	strcpy(rec.name, "nx.example.test");
	rec.ret = int_ret(-1);
	put_msg(true, "NX.Example.Test", RCODE_NXDOMAIN, NULL, 0);
	decode();
	assert_string_equal(ci.result, "HOST_NOT_FOUND");
	assert_int_equal(ci.result_code, -1);

	put_msg(true, "nx.example.test", 0, NULL, 0);
	decode();
	assert_string_equal(ci.result, "NO_DATA");

	put_msg(true, "nx.example.test", RCODE_SERVFAIL, NULL, 0);
	decode();
	assert_string_equal(ci.result, "TRY_AGAIN");
}

static void res_query_failure_with_unrelated_buffer_is_error(void **state)
{
	(void)state;
	rec.fn = DV_FN_RES_QUERY;
	strcpy(rec.name, "nx.example.test");
	rec.ret = int_ret(-1);
	/* An earlier answer left in the caller's buffer: another name. */
	put_msg(true, "other.example.test", RCODE_NXDOMAIN, NULL, 0);
	decode();
	assert_string_equal(ci.result, "ERROR");
	/* Nothing at all. */
	rec.msg_len = 0;
	decode();
	assert_string_equal(ci.result, "ERROR");
}

static void res_search_matches_name_with_search_domain(void **state)
{
	(void)state;
	rec.fn = DV_FN_RES_NSEARCH;
	strcpy(rec.name, "host");
	rec.ret = int_ret(-1);
	put_msg(true, "host.corp.example", RCODE_NXDOMAIN, NULL, 0);
	decode();
	assert_string_equal(ci.result, "HOST_NOT_FOUND");
	/* res_query does not append domains: "hostname" is not "host". */
	rec.fn = DV_FN_RES_QUERY;
	put_msg(true, "hostname", RCODE_NXDOMAIN, NULL, 0);
	decode();
	assert_string_equal(ci.result, "ERROR");
}

static void res_send_name_comes_from_the_message(void **state)
{
	(void)state;
	rec.fn = DV_FN_RES_SEND;
	rec.ret = int_ret(-1);
	put_msg(false, "sent.example.test", 0, NULL, 0);
	decode();
	assert_string_equal(ci.name, "sent.example.test");
	assert_int_equal(ci.qtype, TYPE_A);
	assert_string_equal(ci.result, "ERROR");
}

static void unknown_function_and_clock_skew(void **state)
{
	(void)state;
	rec.fn = DV_FN_NR;
	rec.end_ns = rec.start_ns - 1;
	decode();
	assert_null(ci.function);
	assert_int_equal(ci.latency_ns, 0);
	assert_null(call_function_name(DV_FN_NR + 7));
	assert_string_equal(call_function_name(DV_FN_GETADDRINFO_A), "getaddrinfo_a");
}

static void unterminated_name_is_bounded(void **state)
{
	(void)state;
	rec.fn = DV_FN_GETADDRINFO;
	memset(rec.name, 'a', sizeof(rec.name));
	memset(rec.service, 's', sizeof(rec.service));
	decode();
	assert_int_equal(strlen(ci.name), DV_CALL_NAME_LEN);
	assert_int_equal(strlen(ci.service), DV_CALL_SERVICE_LEN - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(getaddrinfo_ok_with_hints_flags_and_addresses, setup),
		cmocka_unit_test_setup(getaddrinfo_without_hints_has_no_flags_or_family, setup),
		cmocka_unit_test_setup(eai_codes_named_unknown_ones_numbered, setup),
		cmocka_unit_test_setup(gethostbyname_failure_named_by_h_errno, setup),
		cmocka_unit_test_setup(gethostbyname_failure_without_h_errno_is_error, setup),
		cmocka_unit_test_setup(gethostbyname_result_pointer_is_ok, setup),
		cmocka_unit_test_setup(reentrant_erange_named_by_errno, setup),
		cmocka_unit_test_setup(reentrant_not_found_prefers_h_errno, setup),
		cmocka_unit_test_setup(reverse_lookup_name_is_the_address, setup),
		cmocka_unit_test_setup(res_query_answer_gives_addresses, setup),
		cmocka_unit_test_setup(res_query_failure_explained_by_its_response, setup),
		cmocka_unit_test_setup(res_query_failure_with_unrelated_buffer_is_error, setup),
		cmocka_unit_test_setup(res_search_matches_name_with_search_domain, setup),
		cmocka_unit_test_setup(res_send_name_comes_from_the_message, setup),
		cmocka_unit_test_setup(unknown_function_and_clock_skew, setup),
		cmocka_unit_test_setup(unterminated_name_is_bounded, setup),
	};

	return cmocka_run_group_tests_name("call", tests, group_setup, group_teardown);
}
