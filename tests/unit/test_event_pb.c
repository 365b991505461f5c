/* struct event -> protobuf -> struct event renders the same JSON as the event it came from,
 * for every event type; decoding refuses what is no valid Event without crashing. */
#include <dirent.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "array.h"
#include "event_json.h"
#include "event_pb.h"
#include "samples.h"
#include "stats.h"

/* The JSON of ev, NUL-terminated, from a fresh renderer (no cached process). */
static char *render(const struct event *ev)
{
	struct event_json *j = event_json_new();
	struct jbuf b = { 0 };

	assert_non_null(j);
	event_json_render(j, &b, ev);
	jbuf_raw(&b, "", 1);
	assert_false(b.failed);
	event_json_free(j);
	return b.p;
}

/* Encodes and decodes ev: the JSON must be the same byte for byte. Returns the decoded event
 * and the encoded size. */
static struct event *round_trip(struct event_pb *pb, const struct event *ev, size_t *size)
{
	const uint8_t *bytes;
	struct event *back = NULL;
	char *want, *got;
	size_t len;

	assert_int_equal(event_pb_encode(pb, ev, &bytes, &len), 0);
	assert_int_equal(event_pb_decode(bytes, len, &back), 0);
	assert_non_null(back);
	want = render(ev);
	got = render(back);
	assert_string_equal(got, want);
	free(want);
	free(got);
	if (size)
		*size = len;
	return back;
}

static void assert_bytes_equal(const uint8_t *a, size_t na, const uint8_t *b, size_t nb)
{
	assert_int_equal(na, nb);
	if (na)
		assert_memory_equal(a, b, na);
}

/* What JSON does not show: the typed rdata of every record. */
static void assert_same_section(const struct dns_section *a, const struct dns_section *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		const struct dns_rr *x = &a->rrs[i], *y = &b->rrs[i];

		assert_bytes_equal(x->rdata, x->rdata ? x->rdlength : 0, y->rdata,
				   y->rdata ? y->rdlength : 0);
		assert_bytes_equal(x->addr, x->addr ? x->addr_len : 0, y->addr,
				   y->addr ? y->addr_len : 0);
		if (x->target)
			assert_string_equal(x->target, y->target);
		else
			assert_null(y->target);
		if (x->rname)
			assert_string_equal(x->rname, y->rname);
		else
			assert_null(y->rname);
		assert_int_equal(x->priority, y->priority);
		assert_int_equal(x->weight, y->weight);
		assert_int_equal(x->port, y->port);
	}
}

/* Every fixture, whole and cut in half (malformed), parsed into a dns event in three
 * variants: matched with a call and an origin, nobody known, and with its raw bytes sent. */
static void dns_events_of_every_fixture_round_trip(void **state)
{
	struct dns_parser *parser = dns_parser_new();
	struct event_pb *pb = event_pb_new(0), *pb_raw = event_pb_new(EVENT_PB_RAW);
	DIR *dir = opendir(DATA_DIR);
	struct dirent *de;
	int n = 0, malformed = 0;

	(void)state;
	assert_non_null(parser);
	assert_non_null(pb);
	assert_non_null(pb_raw);
	assert_non_null(dir);
	while ((de = readdir(dir))) {
		size_t nlen = strlen(de->d_name);
		uint8_t raw[65536];
		struct dns_msg msg;
		size_t len;

		if (nlen < 4 || strcmp(de->d_name + nlen - 4, ".bin"))
			continue;
		len = read_fixture(de->d_name, raw, sizeof(raw));
		for (int half = 0; half < 2; half++, len /= 2) {
			malformed += dns_parse(parser, raw, len, &msg) != 0;
			for (int variant = 0; variant < 3; variant++) {
				struct event ev = net_event(EVENT_DNS), *back;
	
				ev.dns = &msg;
				ev.raw = raw;
				ev.raw_len = len;
				if (variant == 0) {
					ev.latency_ns = 1500;
					ev.call_id = 42;
					ev.has_origin = true;
					ev.origin = some_process;
					ev.origin.exe = NULL;
					ev.agent_probe = true;
				} else if (variant == 1) {
					ev.process = proc_unknown;
					ev.net.family = 6;
					ev.net.transport = 6;
					ev.net.role = ROLE_UNKNOWN;
				}
				back = round_trip(variant == 2 ? pb_raw : pb, &ev, NULL);
				assert_same_section(&msg.an, &back->dns->an);
				assert_same_section(&msg.ns, &back->dns->ns);
				assert_same_section(&msg.ar, &back->dns->ar);
				assert_int_equal(back->process.cgroup_id, ev.process.cgroup_id);
				assert_int_equal(back->agent_probe, ev.agent_probe);
				if (variant == 2 || msg.malformed)
					assert_bytes_equal(back->raw, back->raw_len, raw, len);
				else
					assert_null(back->raw);
				event_free(back);
			}
		}
		n++;
	}
	closedir(dir);
	assert_true(n >= 60);
	assert_true(malformed > 0);
	/* a header cut short */
	{
		uint8_t raw[7] = { 1, 2, 3, 4, 5, 6, 7 };
		struct event ev = net_event(EVENT_DNS);
		struct dns_msg msg;

		assert_int_not_equal(dns_parse(parser, raw, sizeof(raw), &msg), 0);
		ev.dns = &msg;
		ev.raw = raw;
		ev.raw_len = sizeof(raw);
		event_free(round_trip(pb, &ev, NULL));
	}
	event_pb_free(pb_raw);
	event_pb_free(pb);
	dns_parser_free(parser);
}

/* A decoded event carries rdata without raw bytes (raw goes only with malformed messages):
 * its owned copy must hold rdata and addresses of its own, not point into the decoded one. */
static void decoded_event_clones_with_rdata_of_its_own(void **state)
{
	struct dns_parser *parser = dns_parser_new();
	struct event_pb *pb = event_pb_new(0);
	struct event ev = net_event(EVENT_DNS), *back, *copy;
	uint8_t raw[4096];
	struct dns_msg msg;
	size_t len = read_fixture("a-response.bin", raw, sizeof(raw));

	(void)state;
	assert_non_null(parser);
	assert_non_null(pb);
	assert_int_equal(dns_parse(parser, raw, len, &msg), 0);
	ev.dns = &msg;
	ev.raw = raw;
	ev.raw_len = len;
	back = round_trip(pb, &ev, NULL);
	assert_null(back->raw);
	copy = event_clone(back);
	assert_non_null(copy);
	/* what the decoded event held is gone before the copy is read */
	for (size_t i = 0; i < back->dns->an.n; i++)
		memset((void *)back->dns->an.rrs[i].rdata, 0, back->dns->an.rrs[i].rdlength);
	event_free(back);
	assert_same_section(&msg.an, &copy->dns->an);
	assert_same_section(&msg.ns, &copy->dns->ns);
	assert_same_section(&msg.ar, &copy->dns->ar);
	event_free(copy);
	event_pb_free(pb);
	dns_parser_free(parser);
}

static void timeout_events_round_trip(void **state)
{
	struct timeout_info t = { .id = 7, .qname = "slow.example", .qtype = 1, .qclass = 1,
				  .waited_ns = 5000000000ull };
	struct event_pb *pb = event_pb_new(0);
	struct event ev = net_event(EVENT_TIMEOUT);

	(void)state;
	ev.timeout = &t;
	event_free(round_trip(pb, &ev, NULL));
	/* nobody known, no name, IPv6, a type without mnemonic */
	t.qname = NULL;
	t.qtype = 65534;
	ev.process = proc_unknown;
	ev.host = NULL;
	ev.net.family = 6;
	ev.net.dst_ip[15] = 1;
	event_free(round_trip(pb, &ev, NULL));
	event_pb_free(pb);
}

static void resolver_call_events_round_trip(void **state)
{
	static const char *const flags[] = { "AI_CANONNAME", "AI_ADDRCONFIG" };
	static const struct call_addr addrs[] = { { 4, { 192, 0, 2, 1 } },
						  { 6, { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 } } };
	struct call_info res = { .function = "res_query", .name = "example.test", .qtype = 1,
				 .result = "OK", .has_code = true, .result_code = -1,
				 .latency_ns = 1000, .call_id = 3 };
	struct call_info gai = { .function = "getaddrinfo", .name = "example.test",
				 .service = "443", .family = 4, .flags = flags, .n_flags = 2,
				 .result = "OK", .has_code = true, .hostname = "cdn.example.test",
				 .n_addrs = 2, .addrs = addrs, .latency_ns = 2000, .call_id = 4 };
	struct call_info bare = { .function = "gethostbyname" }; /* every other value null */
	struct call_info no_flags = gai;
	struct event_pb *pb = event_pb_new(0);
	struct event ev = net_event(EVENT_RESOLVER_CALL);

	(void)state;
	no_flags.flags = flags; /* flags given, but none: [] rather than null */
	no_flags.n_flags = 0;
	no_flags.n_addrs = 0;
	ev.call = &res;
	event_free(round_trip(pb, &ev, NULL));
	ev.call = &gai;
	event_free(round_trip(pb, &ev, NULL));
	ev.call = &no_flags;
	event_free(round_trip(pb, &ev, NULL));
	ev.call = &bare;
	ev.process = proc_unknown;
	event_free(round_trip(pb, &ev, NULL));
	event_pb_free(pb);
}

static const char *const attack[] = { "T1584.002", "T1071.004" };
static const char *const tags[] = { "c2", "" };
static const struct evidence evidence[] = {
	{ .name = "indicator", .kind = EVIDENCE_STRING, .str = "bad.example" },
	{ .name = "action", .kind = EVIDENCE_STRING, .str = NULL },
	{ .name = "tags", .kind = EVIDENCE_LIST, .list = tags, .n_list = 2 },
	{ .name = "none", .kind = EVIDENCE_LIST, .list = NULL, .n_list = 0 },
	{ .name = "confidence", .kind = EVIDENCE_U64, .u64 = UINT64_MAX },
};
static const struct finding findings[] = {
	{ .rule = "intel.qname", .severity = SEVERITY_CRITICAL, .attack = attack, .n_attack = 2,
	  .summary = "A \"listed\" name.", .qname = "x.bad.example",
	  .registered_domain = "bad.example", .evidence = evidence,
	  .n_evidence = sizeof(evidence) / sizeof(evidence[0]) },
	{ .rule = "domain.new", .severity = SEVERITY_INFO, .summary = "" }, /* all else empty */
};

static void findings_round_trip_alone_and_on_their_events(void **state)
{
	struct event_pb *pb = event_pb_new(0);
	struct event ev = net_event(EVENT_FINDING);
	struct call_info call = { .function = "getaddrinfo", .name = "x.bad.example",
				  .result = "OK" };
	struct dns_parser *parser = dns_parser_new();
	struct dns_msg msg;
	uint8_t raw[4096];
	size_t len = read_fixture("a-response.bin", raw, sizeof(raw));
	struct event *back, *copy;

	(void)state;
	for (size_t i = 0; i < 2; i++) {
		ev.finding = &findings[i];
		back = round_trip(pb, &ev, NULL);
		assert_int_equal(back->type, EVENT_FINDING);
		assert_int_equal(back->finding->n_evidence, findings[i].n_evidence);
		/* a clone of the decoded event renders the same (round_trip compared the JSON) */
		copy = event_clone(back);
		assert_non_null(copy);
		free(render(copy));
		event_free(copy);
		event_free(back);
	}
	ev = net_event(EVENT_RESOLVER_CALL);
	ev.call = &call;
	ev.findings = findings;
	ev.n_findings = 2;
	back = round_trip(pb, &ev, NULL);
	assert_int_equal(back->n_findings, 2);
	event_free(back);
	ev = net_event(EVENT_DNS);
	assert_int_equal(dns_parse(parser, raw, len, &msg), 0);
	ev.dns = &msg;
	ev.raw = raw;
	ev.raw_len = len;
	ev.findings = findings;
	ev.n_findings = 1;
	back = round_trip(pb, &ev, NULL);
	assert_string_equal(back->findings[0].evidence[2].list[0], "c2");
	event_free(back);
	dns_parser_free(parser);
	event_pb_free(pb);
}

static void findings_that_json_could_not_carry_are_refused(void **state)
{
	/* Event{finding{rule "r", severity 5}}; Event{finding{rule "r", evidence [{name "a",
	 * u64 1}, {name "a", u64 2}]}}; Event{finding{severity 1}} (no rule); Event{finding{rule
	 * "r", evidence [{name "a"}]}} (no value) */
	static const uint8_t bad_severity[] = { 0x72, 0x05, 0x0a, 0x01, 'r', 0x10, 0x05 };
	static const uint8_t twice[] = { 0x72, 0x11, 0x0a, 0x01, 'r', 0x3a, 0x05, 0x0a, 0x01, 'a',
					 0x18, 0x01, 0x3a, 0x05, 0x0a, 0x01, 'a', 0x18, 0x02 };
	static const uint8_t no_rule[] = { 0x72, 0x02, 0x10, 0x01 };
	static const uint8_t no_value[] = { 0x72, 0x08, 0x0a, 0x01, 'r', 0x3a, 0x03, 0x0a, 0x01,
					    'a' };
	static const uint8_t good[] = { 0x72, 0x0a, 0x0a, 0x01, 'r', 0x3a, 0x05, 0x0a, 0x01, 'a',
					0x18, 0x01 };
	struct event *ev = NULL;

	(void)state;
	assert_int_equal(event_pb_decode(bad_severity, sizeof(bad_severity), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(twice, sizeof(twice), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(no_rule, sizeof(no_rule), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(no_value, sizeof(no_value), &ev), -EBADMSG);
	assert_null(ev);
	assert_int_equal(event_pb_decode(good, sizeof(good), &ev), 0);
	assert_string_equal(ev->finding->rule, "r");
	assert_int_equal(ev->finding->evidence[0].u64, 1);
	event_free(ev);
}

static void stats_events_of_every_kind_round_trip(void **state)
{
	static const char *const names[] = { "x", "y" };
	uint64_t one = 1, big = UINT64_MAX, pair[2] = { 2, 3 }, list[3] = { 4, 5, 6 };
	bool yes = true, no = false;
	const char *hook = NULL, *mode = "multi";
	int count = 2, none = 0;
	struct stats_registry reg = { 0 };
	struct event ev = { .type = EVENT_STATS, .ts_ns = 1, .host = "h", .stats = &reg };
	struct event_pb *pb = event_pb_new(0);
	struct event *back;

	(void)state;
	stats_u64(&reg, "one", &one);
	stats_u64(&reg, "big", &big);
	stats_bool(&reg, "yes", &yes);
	stats_bool(&reg, "no", &no);
	stats_string(&reg, "hook", &hook);
	stats_string(&reg, "mode", &mode);
	stats_u64_named(&reg, "pair", pair, names, 2);
	stats_u64_named(&reg, "empty", pair, names, 0);
	stats_u64_list(&reg, "list", list, &count, 3);
	stats_u64_list(&reg, "nothing", list, &none, 3);
	back = round_trip(pb, &ev, NULL);
	assert_int_equal(back->stats->n, reg.n);
	event_free(back);
	event_pb_free(pb);
}

static void decoding_refuses_what_is_no_event(void **state)
{
	/* Event{timeout{net{family 5}}}, Event{dns{net{family 4, src_ip 4 bytes ...}, id 70000}},
	 * no body at all, a body this version does not know (field 15) */
	static const uint8_t bad_family[] = { 0x5a, 0x04, 0x0a, 0x02, 0x10, 0x05 };
	static const uint8_t no_body[] = { 0x08, 0x01 };
	static const uint8_t unknown_body[] = { 0x7a, 0x00 };
	static const uint8_t bad_id[] = { 0x52, 0x13, 0x0a, 0x0e, 0x10, 0x04, 0x2a, 0x04, 1, 2,
					  3, 4, 0x3a, 0x04, 1, 2, 3, 4, 0x12, 0x03, 0x08, 0xf0,
					  0x88 };
	static const uint8_t cut_varint[] = { 0x08, 0xff };
	struct event *ev = NULL;
	uint8_t junk[4096];

	(void)state;
	assert_int_equal(event_pb_decode(bad_family, sizeof(bad_family), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(no_body, sizeof(no_body), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(no_body, 0, &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(unknown_body, sizeof(unknown_body), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(bad_id, sizeof(bad_id), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(cut_varint, sizeof(cut_varint), &ev), -EBADMSG);
	assert_int_equal(event_pb_decode(junk, EVENT_PB_MAX_LEN + 1, &ev), -EMSGSIZE);
	assert_null(ev);
	/* garbage: whatever decodes must render */
	srand(1);
	for (int i = 0; i < 20000; i++) {
		size_t len = rand() % 64;

		for (size_t k = 0; k < len; k++)
			junk[k] = rand();
		if (event_pb_decode(junk, len, &ev) == 0) {
			free(render(ev));
			event_free(ev);
		}
	}
}

/* Every prefix and every one-byte change of a real event: refused or decoded, never a crash. */
static void truncated_and_altered_events_fail_cleanly(void **state)
{
	static const char *const flags[] = { "AI_CANONNAME" };
	static const struct call_addr addrs[] = { { 4, { 192, 0, 2, 1 } } };
	struct call_info gai = { .function = "getaddrinfo", .name = "example.test", .family = 4,
				 .flags = flags, .n_flags = 1, .result = "OK", .has_code = true,
				 .n_addrs = 1, .addrs = addrs };
	struct dns_parser *parser = dns_parser_new();
	struct event_pb *pb = event_pb_new(EVENT_PB_RAW);
	struct event dns = net_event(EVENT_DNS), call = net_event(EVENT_RESOLVER_CALL);
	const struct event *samples[] = { &dns, &call };
	uint8_t raw[4096], copy[8192];
	struct dns_msg msg;

	(void)state;
	dns.raw_len = read_fixture("edns-options-response.bin", raw, sizeof(raw));
	dns.raw = raw;
	assert_int_equal(dns_parse(parser, raw, dns.raw_len, &msg), 0);
	dns.dns = &msg;
	dns.has_origin = true;
	dns.origin = some_process;
	call.call = &gai;
	for (size_t s = 0; s < ARRAY_LEN(samples); s++) {
		const uint8_t *bytes;
		struct event *ev;
		size_t len;

		assert_int_equal(event_pb_encode(pb, samples[s], &bytes, &len), 0);
		assert_true(len <= sizeof(copy));
		memcpy(copy, bytes, len);
		for (size_t cut = 0; cut < len; cut++) {
			int err = event_pb_decode(copy, cut, &ev);

			assert_true(err == 0 || err == -EBADMSG);
			if (!err) {
				free(render(ev));
				event_free(ev);
			}
		}
		for (size_t at = 0; at < len; at++) {
			for (int bit = 0; bit < 8; bit++) {
				copy[at] ^= 1 << bit;
				if (event_pb_decode(copy, len, &ev) == 0) {
					free(render(ev));
					event_free(ev);
				}
				copy[at] ^= 1 << bit;
			}
		}
	}
	event_pb_free(pb);
	dns_parser_free(parser);
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The figures for the closing note: bytes and encode time of a typical query and response. */
static void typical_events_are_small(void **state)
{
	static const char *const fixtures[] = { "a-query.bin", "a-response.bin" };
	struct dns_parser *parser = dns_parser_new();
	struct event_pb *pb = event_pb_new(0);

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(fixtures); i++) {
		struct event ev = net_event(EVENT_DNS);
		const int rounds = 200000;
		uint8_t raw[4096];
		struct dns_msg msg;
		const uint8_t *bytes;
		size_t len, json_len;
		uint64_t t0;
		char *json;

		ev.raw_len = read_fixture(fixtures[i], raw, sizeof(raw));
		ev.raw = raw;
		assert_int_equal(dns_parse(parser, raw, ev.raw_len, &msg), 0);
		ev.dns = &msg;
		if (msg.qr)
			ev.latency_ns = 250000;
		event_free(round_trip(pb, &ev, &len));
		json = render(&ev);
		json_len = strlen(json);
		free(json);
		t0 = now_ns();
		for (int k = 0; k < rounds; k++)
			assert_int_equal(event_pb_encode(pb, &ev, &bytes, &len), 0);
		print_message("event_pb: %s: %zu bytes protobuf (JSON %zu), %.0f ns per encode\n",
			      fixtures[i], len, json_len, (double)(now_ns() - t0) / rounds);
		/* the process strings are most of it; zlib over a batch takes them out */
		assert_true(len < json_len / 2);
	}
	event_pb_free(pb);
	dns_parser_free(parser);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dns_events_of_every_fixture_round_trip),
		cmocka_unit_test(decoded_event_clones_with_rdata_of_its_own),
		cmocka_unit_test(timeout_events_round_trip),
		cmocka_unit_test(resolver_call_events_round_trip),
		cmocka_unit_test(stats_events_of_every_kind_round_trip),
		cmocka_unit_test(findings_round_trip_alone_and_on_their_events),
		cmocka_unit_test(findings_that_json_could_not_carry_are_refused),
		cmocka_unit_test(decoding_refuses_what_is_no_event),
		cmocka_unit_test(truncated_and_altered_events_fail_cleanly),
		cmocka_unit_test(typical_events_are_small),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
