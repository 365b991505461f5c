/* DNS parser tests: real unbound answers from tests/unit/data (scripts/gen-dns-corpus.py
 * makes them) and hand-made hostile messages, one per RFC 9267 mistake. All tests share one
 * parser, as the agent does, so each also checks that what came before left nothing behind.
 * Runs from the repo root; DNS_TESTDATA names another data directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static struct dns_parser *parser;
static struct dns_msg msg;
static uint8_t file_buf[65536];

static int setup(void **state)
{
	(void)state;
	parser = dns_parser_new();
	return parser ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	dns_parser_free(parser);
	return 0;
}

/* Parses tests/unit/data/<name>.bin and expects it to be well-formed. */
static void parse_file(const char *name)
{
	const char *dir = getenv("DNS_TESTDATA");
	char path[512];
	size_t len;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.bin", dir ? dir : "tests/unit/data", name);
	f = fopen(path, "rb");
	if (!f)
		fail_msg("%s: %s", path, strerror(errno));
	len = fread(file_buf, 1, sizeof(file_buf), f);
	fclose(f);
	assert_int_equal(dns_parse(parser, file_buf, len, &msg), 0);
	assert_null(msg.malformed);
	assert_int_equal(msg.size, len);
}

static int parse(const uint8_t *b, size_t len)
{
	return dns_parse(parser, b, len, &msg);
}

static void assert_malformed(const uint8_t *b, size_t len, const char *why)
{
	assert_int_equal(parse(b, len), -EBADMSG);
	assert_non_null(msg.malformed);
	assert_string_equal(msg.malformed, why);
}

static void assert_rr(const struct dns_rr *rr, const char *name, uint16_t type, uint32_t ttl,
		      const char *data)
{
	assert_string_equal(rr->name, name);
	assert_int_equal(rr->type, type);
	assert_int_equal(rr->rclass, 1);
	assert_int_equal(rr->ttl, ttl);
	assert_string_equal(rr->data, data);
}

/* The one answer of a NOERROR response to qname, with a plain EDNS OPT (udp 1232) */
static const struct dns_rr *single_answer(const char *file, const char *qname, uint16_t qtype)
{
	parse_file(file);
	assert_true(msg.qr);
	assert_int_equal(msg.rcode, 0);
	assert_string_equal(msg.qname, qname);
	assert_int_equal(msg.qtype, qtype);
	assert_int_equal(msg.an.n, 1);
	assert_int_equal(msg.ns.n, 0);
	assert_int_equal(msg.ar.n, 0);
	assert_true(msg.edns.present);
	assert_int_equal(msg.edns.udp_size, 1232);
	return &msg.an.rrs[0];
}

/* ---- a message builder for hand-made input ---- */

struct wire {
	uint8_t b[8192];
	size_t n;
};

static void put8(struct wire *w, unsigned int v)
{
	assert_true(w->n < sizeof(w->b));
	w->b[w->n++] = (uint8_t)v;
}

static void put16(struct wire *w, unsigned int v)
{
	put8(w, v >> 8);
	put8(w, v & 0xff);
}

static void put32(struct wire *w, uint32_t v)
{
	put16(w, v >> 16);
	put16(w, v & 0xffff);
}

static void put_bytes(struct wire *w, const void *b, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, b, n);
	w->n += n;
}

/* a label of n copies of c */
static void put_label(struct wire *w, size_t n, char c)
{
	put8(w, (unsigned int)n);
	for (size_t i = 0; i < n; i++)
		put8(w, (unsigned char)c);
}

static void put_header(struct wire *w, unsigned int qd, unsigned int an, unsigned int ns,
		       unsigned int ar)
{
	w->n = 0;
	put16(w, 0xbeef);
	put16(w, 0x8180); /* response, RD, RA */
	put16(w, qd);
	put16(w, an);
	put16(w, ns);
	put16(w, ar);
}

/* header, then the question "a.example." A IN at offset 12 */
static void put_query_a(struct wire *w, unsigned int an, unsigned int ns, unsigned int ar)
{
	put_header(w, 1, an, ns, ar);
	put_bytes(w, "\1a\7example\0", 11);
	put16(w, 1);
	put16(w, 1);
}

/* RR header with the owner as a pointer to the question name */
static void put_rr(struct wire *w, unsigned int type, uint32_t ttl, unsigned int rdlen)
{
	put16(w, 0xc00c);
	put16(w, type);
	put16(w, 1);
	put32(w, ttl);
	put16(w, rdlen);
}

static void put_opt(struct wire *w, unsigned int rdlen)
{
	put8(w, 0);
	put16(w, 41);
	put16(w, 1232);
	put32(w, 0);
	put16(w, rdlen);
}

/* ---- real answers ---- */

static void a_response_decodes_header_question_answers_and_edns(void **state)
{
	(void)state;
	parse_file("a-response");
	assert_int_equal(msg.id, 0x1000);
	assert_true(msg.qr);
	assert_int_equal(msg.opcode, 0);
	assert_int_equal(msg.rcode, 0);
	assert_int_equal(msg.flags, DNS_FLAG_AA | DNS_FLAG_RD | DNS_FLAG_RA);
	assert_int_equal(msg.qdcount, 1);
	assert_int_equal(msg.ancount, 2);
	assert_int_equal(msg.nscount, 0);
	assert_int_equal(msg.arcount, 1);
	assert_true(msg.has_question);
	assert_string_equal(msg.qname, "www.example.test");
	assert_int_equal(msg.qtype, 1);
	assert_int_equal(msg.qclass, 1);
	assert_int_equal(msg.an.n, 2);
	assert_rr(&msg.an.rrs[0], "www.example.test", 1, 300, "192.0.2.1");
	assert_rr(&msg.an.rrs[1], "www.example.test", 1, 300, "192.0.2.2");
	assert_int_equal(msg.ns.n, 0);
	assert_int_equal(msg.ar.n, 0); /* the OPT is in edns, not here */
	assert_true(msg.edns.present);
	assert_int_equal(msg.edns.udp_size, 1232);
	assert_int_equal(msg.edns.version, 0);
	assert_false(msg.edns.do_bit);
	assert_int_equal(msg.edns.ext_rcode_hi, 0);
	assert_int_equal(msg.edns.n_opts, 0);
}

static void a_query_has_question_and_only_rd_flag(void **state)
{
	(void)state;
	parse_file("a-query");
	assert_int_equal(msg.id, 0x1000);
	assert_false(msg.qr);
	assert_int_equal(msg.flags, DNS_FLAG_RD);
	assert_string_equal(msg.qname, "www.example.test");
	assert_int_equal(msg.qtype, 1);
	assert_int_equal(msg.an.n + msg.ns.n + msg.ar.n, 0);
	assert_true(msg.edns.present);
}

static void response_without_opt_has_no_edns(void **state)
{
	(void)state;
	parse_file("a-noedns-response");
	assert_int_equal(msg.an.n, 2);
	assert_int_equal(msg.arcount, 0);
	assert_false(msg.edns.present);
	assert_int_equal(msg.edns.n_opts, 0);
}

static void do_bit_is_reported_in_query_and_response(void **state)
{
	(void)state;
	parse_file("a-do-query");
	assert_true(msg.edns.do_bit);
	parse_file("a-do-response");
	assert_true(msg.edns.do_bit);
	assert_int_equal(msg.an.n, 2);
}

static void aaaa_answer_is_rfc5952_text(void **state)
{
	(void)state;
	assert_rr(single_answer("aaaa-response", "www.example.test", 28), "www.example.test", 28,
		  300, "2001:db8::1");
}

static void cname_target_has_trailing_dot(void **state)
{
	(void)state;
	assert_rr(single_answer("cname-response", "alias.example.test", 1), "alias.example.test",
		  5, 300, "www.example.test.");
}

static void ns_answer_names_the_server(void **state)
{
	(void)state;
	assert_rr(single_answer("ns-response", "example.test", 2), "example.test", 2, 3600,
		  "ns1.example.test.");
}

static void soa_answer_lists_names_and_timers(void **state)
{
	(void)state;
	assert_rr(single_answer("soa-response", "example.test", 6), "example.test", 6, 3600,
		  "ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 300");
}

static void mx_answer_has_preference_and_exchange(void **state)
{
	(void)state;
	assert_rr(single_answer("mx-response", "example.test", 15), "example.test", 15, 3600,
		  "10 mail.example.test.");
}

static void txt_strings_are_quoted_and_escaped(void **state)
{
	(void)state;
	assert_rr(single_answer("txt-response", "txt.example.test", 16), "txt.example.test", 16,
		  300, "\"hello world\" \"quote\\\" back\\\\ semi; \\200\"");
}

static void ptr_answer_for_reverse_name(void **state)
{
	(void)state;
	assert_rr(single_answer("ptr-response", "1.2.0.192.in-addr.arpa", 12),
		  "1.2.0.192.in-addr.arpa", 12, 300, "www.example.test.");
}

static void srv_answer_has_priority_weight_port_target(void **state)
{
	(void)state;
	assert_rr(single_answer("srv-response", "_sip._tcp.example.test", 33),
		  "_sip._tcp.example.test", 33, 300, "10 60 5060 sip.example.test.");
}

static void caa_answer_has_flags_tag_and_quoted_value(void **state)
{
	(void)state;
	assert_rr(single_answer("caa-response", "example.test", 257), "example.test", 257, 3600,
		  "0 issue \"ca.example.net\"");
}

static void svcb_answer_has_mandatory_alpn_port_and_unknown_key(void **state)
{
	(void)state;
	assert_rr(single_answer("svcb-response", "svc.example.test", 64), "svc.example.test", 64,
		  300,
		  "2 svc1.example.test. mandatory=alpn,port alpn=\"h2\" port=8443 key667=\"hello\"");
}

static void https_answer_has_hints_and_ech(void **state)
{
	(void)state;
	assert_rr(single_answer("https-response", "example.test", 65), "example.test", 65, 3600,
		  "1 . alpn=\"h3,h2\" ipv4hint=192.0.2.1 ech=AEX+DQBB ipv6hint=2001:db8::1");
}

static void ds_digest_is_hex(void **state)
{
	(void)state;
	assert_rr(single_answer("ds-response", "child.example.test", 43), "child.example.test",
		  43, 3600,
		  "60485 13 2 2BB183AF5F22588179A53B0A98631FAD1A292118F2A1E3C6F6D4C4B1E1E2D3C4");
}

static void dnskey_key_is_base64(void **state)
{
	(void)state;
	assert_rr(single_answer("dnskey-response", "example.test", 48), "example.test", 48, 3600,
		  "257 3 13 mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxI"
		  "LfDLUT0rAK9iUzy1L53eKGQ==");
	assert_true(msg.edns.do_bit);
}

static void rrsig_times_are_yyyymmddhhmmss(void **state)
{
	(void)state;
	assert_rr(single_answer("rrsig-response", "sig.example.test", 46), "sig.example.test", 46,
		  300, "A 13 3 300 20240201000000 20240101000000 12345 example.test. "
		       "MTIzNDU2Nzg5MGFiY2RlZg==");
}

static void nsec_lists_types_from_bitmap(void **state)
{
	(void)state;
	assert_rr(single_answer("nsec-response", "nsec.example.test", 47), "nsec.example.test",
		  47, 300, "www.example.test. A MX RRSIG NSEC TYPE1234");
}

static void nsec3_hash_is_base32hex_and_salt_is_hex(void **state)
{
	(void)state;
	assert_rr(single_answer("nsec3-response", "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.test",
				50),
		  "2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.test", 50, 300,
		  "1 1 10 AABBCCDD 2T7B4G4VSA5SMI47K61MV5BV1A22BOJS A RRSIG");
}

static void nsec3param_with_salt(void **state)
{
	(void)state;
	assert_rr(single_answer("nsec3param-response", "example.test", 51), "example.test", 51,
		  3600, "1 0 10 AABBCCDD");
}

static void nsec3param_without_salt_shows_dash(void **state)
{
	(void)state;
	assert_rr(single_answer("nsec3param-nosalt-response", "salt.example.test", 51),
		  "salt.example.test", 51, 300, "1 0 0 -");
}

static void unknown_type_uses_rfc3597_generic_form(void **state)
{
	(void)state;
	assert_rr(single_answer("unknown-response", "unknown.example.test", 65534),
		  "unknown.example.test", 65534, 300, "\\# 3 ABCDEF");
}

static void dot_inside_label_is_escaped(void **state)
{
	(void)state;
	assert_rr(single_answer("escaped-response", "esc\\.dot.example.test", 1),
		  "esc\\.dot.example.test", 1, 300, "192.0.2.7");
}

static void nxdomain_carries_soa_in_authority(void **state)
{
	(void)state;
	parse_file("nxdomain-response");
	assert_int_equal(msg.rcode, 3);
	assert_string_equal(msg.qname, "missing.example.test");
	assert_int_equal(msg.an.n, 0);
	assert_int_equal(msg.ns.n, 1);
	assert_rr(&msg.ns.rrs[0], "example.test", 6, 300,
		  "ns1.example.test. hostmaster.example.test. 2024010101 3600 900 604800 300");
}

static void refused_outside_the_served_zone(void **state)
{
	(void)state;
	parse_file("refused-response");
	assert_int_equal(msg.rcode, 5);
	assert_string_equal(msg.qname, "example.com");
	assert_int_equal(msg.an.n + msg.ns.n + msg.ar.n, 0);
}

static void truncated_response_sets_tc_and_has_no_answer(void **state)
{
	(void)state;
	parse_file("truncated-response");
	assert_int_equal(msg.flags, DNS_FLAG_AA | DNS_FLAG_TC | DNS_FLAG_RD | DNS_FLAG_RA);
	assert_string_equal(msg.qname, "big.example.test");
	assert_int_equal(msg.qtype, 16);
	assert_int_equal(msg.an.n, 0);
}

static void badvers_makes_rcode_12_bits(void **state)
{
	char buf[DNS_MNEMONIC_LEN];

	(void)state;
	parse_file("badvers-query");
	assert_int_equal(msg.edns.version, 1);
	parse_file("badvers-response");
	assert_int_equal(msg.edns.ext_rcode_hi, 1);
	assert_int_equal(msg.rcode, 16);
	assert_string_equal(dns_rcode_str(msg.rcode, buf), "BADVERS");
}

static void nsid_option_is_hex(void **state)
{
	(void)state;
	parse_file("nsid-query");
	assert_int_equal(msg.edns.n_opts, 1);
	assert_string_equal(msg.edns.opts[0].name, "NSID");
	assert_string_equal(msg.edns.opts[0].data, "");
	parse_file("nsid-response");
	assert_int_equal(msg.an.n, 2);
	assert_int_equal(msg.edns.n_opts, 1);
	assert_int_equal(msg.edns.opts[0].code, 3);
	assert_string_equal(msg.edns.opts[0].name, "NSID");
	assert_string_equal(msg.edns.opts[0].data, "6476636f72707573"); /* "dvcorpus" */
}

static void ecs_option_is_address_source_scope(void **state)
{
	(void)state;
	parse_file("ecs-query");
	assert_int_equal(msg.edns.n_opts, 1);
	assert_int_equal(msg.edns.opts[0].code, 8);
	assert_string_equal(msg.edns.opts[0].name, "ECS");
	assert_string_equal(msg.edns.opts[0].data, "192.0.2.0/24/0");
	parse_file("ecs6-query");
	assert_int_equal(msg.edns.udp_size, 4096);
	assert_string_equal(msg.edns.opts[0].data, "2001:db8:1::/48/0");
}

static void cookie_option_is_client_hex(void **state)
{
	(void)state;
	parse_file("cookie-query");
	assert_int_equal(msg.edns.n_opts, 1);
	assert_string_equal(msg.edns.opts[0].name, "COOKIE");
	assert_string_equal(msg.edns.opts[0].data, "0102030405060708");
}

static void padding_option_reports_its_length(void **state)
{
	(void)state;
	parse_file("padding-query");
	assert_int_equal(msg.edns.n_opts, 1);
	assert_string_equal(msg.edns.opts[0].name, "PADDING");
	assert_string_equal(msg.edns.opts[0].data, "len 16");
}

static void response_options_ecs_cookie_padding_and_unknown(void **state)
{
	const struct dns_edns_opt *o;

	(void)state;
	parse_file("edns-options-response");
	assert_int_equal(msg.edns.n_opts, 4);
	o = msg.edns.opts;
	assert_string_equal(o[0].data, "192.0.2.0/24/24");
	assert_int_equal(o[1].code, 10);
	assert_string_equal(o[1].data, "0102030405060708 1000000065a1b2c3d4e5f60718293a4b");
	assert_string_equal(o[2].data, "len 7");
	assert_int_equal(o[3].code, 15);
	assert_null(o[3].name);
	assert_string_equal(o[3].data, "0011626c6f636b6564");
}

/* ---- hostile input: RFC 9267 and friends ---- */

static void empty_input_is_truncated_header(void **state)
{
	(void)state;
	assert_malformed(NULL, 0, "truncated header");
	assert_int_equal(msg.size, 0);
	assert_false(msg.has_question);
	assert_null(msg.qname);
}

static void zero_length_buffer_is_truncated_header(void **state)
{
	uint8_t b[DNS_HEADER_LEN] = { 0x12, 0x34 };

	(void)state;
	assert_malformed(b, 0, "truncated header");
	assert_int_equal(msg.id, 0);
}

static void eleven_bytes_are_truncated_header(void **state)
{
	uint8_t b[DNS_HEADER_LEN] = { 0x12, 0x34 };

	(void)state;
	assert_malformed(b, sizeof(b) - 1, "truncated header");
	assert_int_equal(msg.size, 11);
}

static void header_only_message_is_well_formed(void **state)
{
	uint8_t b[DNS_HEADER_LEN] = { 0x12, 0x34, 0x28, 0x05 }; /* UPDATE, REFUSED */
	char buf[DNS_MNEMONIC_LEN];

	(void)state;
	assert_int_equal(parse(b, sizeof(b)), 0);
	assert_int_equal(msg.id, 0x1234);
	assert_string_equal(dns_opcode_str(msg.opcode, buf), "UPDATE");
	assert_int_equal(msg.rcode, 5);
	assert_false(msg.has_question);
	assert_null(msg.qname);
}

static void compression_pointer_to_itself_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put16(&w, 0xc00c);
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "name compression loop");
	assert_int_equal(msg.id, 0xbeef); /* the header stays valid */
}

static void compression_pointer_into_own_labels_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_bytes(&w, "\3abc", 4);
	put16(&w, 0xc00c); /* back to its own first label */
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "name compression loop");
}

/* Two names pointing at each other: one of the two pointers must point forward. */
static void compression_loop_between_two_names_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 1, 0, 0);
	put_bytes(&w, "\1a", 2);
	put16(&w, 0xc000 | 20); /* to the answer's owner */
	put32(&w, 0x00010001);
	assert_int_equal(w.n, 20);
	put_bytes(&w, "\1b", 2);
	put16(&w, 0xc00c); /* back to the question */
	put16(&w, 1);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 4);
	put32(&w, 0xc0000201);
	assert_malformed(w.b, w.n, "forward compression pointer");
	assert_false(msg.has_question);
}

static void forward_compression_pointer_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put16(&w, 0xc000 | 18);
	put32(&w, 0x00010001);
	put_bytes(&w, "\1a\0", 3);
	assert_malformed(w.b, w.n, "forward compression pointer");
}

static void compression_pointer_beyond_end_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put16(&w, 0xc0ff);
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "compression pointer beyond message");
}

static void compression_pointer_cut_in_half_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put8(&w, 0xc0);
	assert_malformed(w.b, w.n, "truncated compression pointer");
}

static void label_length_beyond_end_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_bytes(&w, "\5ab", 3);
	assert_malformed(w.b, w.n, "label beyond message");
}

static void name_without_terminator_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_bytes(&w, "\1a\1b", 4);
	assert_malformed(w.b, w.n, "name not terminated");
}

/* labels of 63, 63, 63 and last bytes, plus the root label: 64 * 3 + 1 + last + 1 */
static void put_long_name(struct wire *w, size_t last)
{
	put_label(w, 63, 'a');
	put_label(w, 63, 'b');
	put_label(w, 63, 'c');
	put_label(w, last, 'd');
	put8(w, 0);
}

static void name_of_255_wire_bytes_is_accepted(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_long_name(&w, 61);
	assert_int_equal(w.n - DNS_HEADER_LEN, 255);
	put32(&w, 0x00010001);
	assert_int_equal(parse(w.b, w.n), 0);
	assert_int_equal(strlen(msg.qname), 63 * 3 + 61 + 3);
	assert_int_equal(msg.qname[63 * 3 + 3], 'd');
}

static void name_of_256_wire_bytes_is_rejected(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_long_name(&w, 62);
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "name too long");
}

static void name_too_long_through_compression_is_rejected(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 1, 0, 0);
	put_long_name(&w, 61);
	put32(&w, 0x00010001);
	put_bytes(&w, "\1x", 2); /* "x" + the 255-byte question name */
	put16(&w, 0xc00c);
	put16(&w, 1);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 4);
	put32(&w, 0xc0000201);
	assert_malformed(w.b, w.n, "name too long");
	assert_int_equal(strlen(msg.qname), 63 * 3 + 61 + 3);
}

static void label_of_63_bytes_is_accepted(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_label(&w, 63, 'x');
	put8(&w, 0);
	put32(&w, 0x00010001);
	assert_int_equal(parse(w.b, w.n), 0);
	assert_int_equal(strlen(msg.qname), 63);
}

/* a 64-byte "label" has length byte 0x40: the reserved extended label type */
static void label_type_0x40_is_rejected(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_label(&w, 64, 'x');
	put8(&w, 0);
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "label type 0x40");
}

static void label_type_0x80_is_rejected(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_bytes(&w, "\x81x\0", 3);
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "label type 0x80");
}

/* An RDATA full of pointers, each to the one before: a chain longer than any name needs. */
static void compression_pointer_chain_is_bounded(void **state)
{
	struct wire w;
	size_t first;

	(void)state;
	put_query_a(&w, 2, 0, 0);
	put_rr(&w, 65534, 60, 1 + 2 * 130);
	first = w.n;
	put8(&w, 0);
	for (size_t i = 0; i < 130; i++)
		put16(&w, 0xc000 | (unsigned int)(i ? first + 1 + 2 * (i - 1) : first));
	put16(&w, 0xc000 | (unsigned int)(w.n - 2)); /* owner: the last pointer */
	put16(&w, 1);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 4);
	put32(&w, 0xc0000201);
	assert_malformed(w.b, w.n, "too many compression pointers");
	assert_int_equal(msg.an.n, 1);
}

static void answer_count_beyond_records_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 5, 0, 0);
	put_rr(&w, 1, 60, 4);
	put32(&w, 0xc0000201);
	assert_malformed(w.b, w.n, "count beyond message");
	/* what came before stays */
	assert_string_equal(msg.qname, "a.example");
	assert_int_equal(msg.ancount, 5);
	assert_int_equal(msg.an.n, 1);
	assert_rr(&msg.an.rrs[0], "a.example", 1, 60, "192.0.2.1");
}

static void question_count_beyond_message_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 2, 0, 0, 0);
	put_bytes(&w, "\1a\0", 3);
	put32(&w, 0x00010001);
	assert_malformed(w.b, w.n, "count beyond message");
	assert_string_equal(msg.qname, "a");
}

static void truncated_question_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_bytes(&w, "\1a\0", 3);
	put16(&w, 1);
	assert_malformed(w.b, w.n, "truncated question");
	assert_false(msg.has_question);
}

static void truncated_record_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 1, 60, 4);
	w.n -= 3; /* cut inside the TTL */
	assert_malformed(w.b, w.n, "truncated record");
}

static void rdlength_beyond_message_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 1, 60, 0xffff);
	put32(&w, 0xc0000201);
	assert_malformed(w.b, w.n, "rdlength beyond message");
	assert_int_equal(msg.an.n, 0);
}

static void a_record_with_rdlength_3_is_rdata_length_mismatch(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 1, 60, 3);
	put_bytes(&w, "\xc0\0\2", 3);
	assert_malformed(w.b, w.n, "rdata length mismatch");
}

static void a_record_with_rdlength_5_is_rdata_length_mismatch(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 1, 60, 5);
	put_bytes(&w, "\xc0\0\2\1\0", 5);
	assert_malformed(w.b, w.n, "rdata length mismatch");
}

static void soa_too_short_is_rdata_length_mismatch(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 0, 1, 0);
	put_rr(&w, 6, 60, 2 + 2 + 16); /* two names, four of the five numbers */
	put16(&w, 0xc00c);
	put16(&w, 0xc00c);
	for (int i = 0; i < 4; i++)
		put32(&w, 1);
	assert_malformed(w.b, w.n, "rdata length mismatch");
	assert_int_equal(msg.ns.n, 1);
	assert_string_equal(msg.ns.rrs[0].data, "\\# 20 C00CC00C00000001000000010000000100000001");
	assert_null(msg.ns.rrs[0].target);
	assert_null(msg.ns.rrs[0].rname);
}

static void name_in_rdata_crossing_rdlength_is_mismatch(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 5, 60, 2); /* CNAME whose name is 3 bytes */
	put_bytes(&w, "\1b\0", 3);
	assert_malformed(w.b, w.n, "rdata length mismatch");
}

static void txt_string_longer_than_rdata_is_mismatch(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 16, 60, 3);
	put_bytes(&w, "\5ab", 3);
	assert_malformed(w.b, w.n, "rdata length mismatch");
}

static void nsec_bitmap_window_of_33_bytes_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 47, 60, 1 + 2 + 33);
	put8(&w, 0);
	put8(&w, 0);
	put8(&w, 33);
	for (int i = 0; i < 33; i++)
		put8(&w, 0xff);
	assert_malformed(w.b, w.n, "bad type bitmap");
}

static void svcb_port_of_three_bytes_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_rr(&w, 64, 60, 2 + 1 + 4 + 3);
	put16(&w, 1);
	put8(&w, 0);
	put16(&w, 3); /* port */
	put16(&w, 3);
	put_bytes(&w, "\1\2\3", 3);
	assert_malformed(w.b, w.n, "bad SVCB parameter");
}

static void opt_outside_additional_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 1, 0, 0);
	put_opt(&w, 0);
	assert_malformed(w.b, w.n, "OPT outside additional section");
	assert_false(msg.edns.present);
}

static void opt_not_at_root_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 0, 0, 1);
	put16(&w, 0xc00c);
	put16(&w, 41);
	put16(&w, 1232);
	put32(&w, 0);
	put16(&w, 0);
	assert_malformed(w.b, w.n, "OPT owner not root");
}

static void second_opt_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 0, 0, 2);
	put_opt(&w, 0);
	put_opt(&w, 0);
	assert_malformed(w.b, w.n, "multiple OPT records");
	assert_true(msg.edns.present); /* the first one stays */
}

static void edns_option_longer_than_opt_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 0, 0, 1);
	put_opt(&w, 4 + 2);
	put16(&w, 12);
	put16(&w, 3);
	put16(&w, 0);
	assert_malformed(w.b, w.n, "truncated EDNS option");
}

static void malformed_ecs_option_falls_back_to_hex(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 0, 0, 1);
	put_opt(&w, 4 + 6);
	put16(&w, 8);
	put16(&w, 6);
	put_bytes(&w, "\0\1\x08\0\x0a\x0b", 6); /* a /8 with two address bytes */
	assert_int_equal(parse(w.b, w.n), 0);
	assert_string_equal(msg.edns.opts[0].name, "ECS");
	assert_string_equal(msg.edns.opts[0].data, "000108000a0b");
}

static void trailing_data_is_malformed(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 0, 0, 0);
	put8(&w, 0);
	assert_malformed(w.b, w.n, "trailing data");
	assert_string_equal(msg.qname, "a.example");
}

static void counts_far_beyond_message_do_not_overflow(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 0xffff, 0xffff, 0xffff, 0xffff);
	put_bytes(&w, "\0\0\1\0\1", 5);
	assert_malformed(w.b, w.n, "count beyond message");
	assert_string_equal(msg.qname, ".");
}

static void parser_is_reusable_after_errors(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put8(&w, 0xc0);
	assert_malformed(w.b, w.n, "truncated compression pointer");
	parse_file("a-response");
	assert_string_equal(msg.qname, "www.example.test");
	assert_rr(&msg.an.rrs[1], "www.example.test", 1, 300, "192.0.2.2");
	assert_malformed(w.b, 5, "truncated header");
	parse_file("soa-response");
	assert_string_equal(msg.an.rrs[0].data, "ns1.example.test. hostmaster.example.test. "
						"2024010101 3600 900 604800 300");
}

/* ---- typed rdata ---- */

/* A record whose type has no address, name or numbers to give */
static void assert_untyped(const struct dns_rr *rr)
{
	assert_null(rr->addr);
	assert_int_equal(rr->addr_len, 0);
	assert_null(rr->target);
	assert_null(rr->rname);
	assert_int_equal(rr->priority, 0);
	assert_int_equal(rr->weight, 0);
	assert_int_equal(rr->port, 0);
}

static void a_and_aaaa_addresses_are_the_rdata_bytes(void **state)
{
	static const uint8_t v4[2][4] = { { 192, 0, 2, 1 }, { 192, 0, 2, 2 } };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 };
	const struct dns_rr *rr;

	(void)state;
	parse_file("a-response");
	for (int i = 0; i < 2; i++) {
		rr = &msg.an.rrs[i];
		assert_ptr_equal(rr->rdata, file_buf + 0x2e + 16 * i); /* after the RR header */
		assert_int_equal(rr->rdlength, 4);
		assert_ptr_equal(rr->addr, rr->rdata);
		assert_int_equal(rr->addr_len, 4);
		assert_memory_equal(rr->addr, v4[i], 4);
		assert_null(rr->target);
	}
	rr = single_answer("aaaa-response", "www.example.test", 28);
	assert_int_equal(rr->addr_len, 16);
	assert_memory_equal(rr->addr, v6, 16);
	assert_null(rr->target);
}

static void cname_ns_ptr_targets_are_owner_form_names(void **state)
{
	const struct dns_rr *rr;

	(void)state;
	rr = single_answer("cname-response", "alias.example.test", 1);
	assert_int_equal(rr->rdlength, 6); /* "www" and a pointer */
	assert_string_equal(rr->target, "www.example.test");
	assert_null(rr->rname);
	assert_null(rr->addr);
	rr = single_answer("ns-response", "example.test", 2);
	assert_string_equal(rr->target, "ns1.example.test");
	rr = single_answer("ptr-response", "1.2.0.192.in-addr.arpa", 12);
	assert_string_equal(rr->target, "www.example.test");
}

static void soa_gives_mname_as_target_and_rname(void **state)
{
	const struct dns_rr *rr;

	(void)state;
	rr = single_answer("soa-response", "example.test", 6);
	assert_string_equal(rr->target, "ns1.example.test");
	assert_string_equal(rr->rname, "hostmaster.example.test");
	assert_int_equal(rr->priority, 0);
	parse_file("nxdomain-response");
	assert_string_equal(msg.ns.rrs[0].target, "ns1.example.test");
	assert_string_equal(msg.ns.rrs[0].rname, "hostmaster.example.test");
}

static void mx_srv_svcb_give_priority_and_target(void **state)
{
	const struct dns_rr *rr;

	(void)state;
	rr = single_answer("mx-response", "example.test", 15);
	assert_int_equal(rr->priority, 10);
	assert_string_equal(rr->target, "mail.example.test");
	rr = single_answer("srv-response", "_sip._tcp.example.test", 33);
	assert_int_equal(rr->priority, 10);
	assert_int_equal(rr->weight, 60);
	assert_int_equal(rr->port, 5060);
	assert_string_equal(rr->target, "sip.example.test");
	rr = single_answer("svcb-response", "svc.example.test", 64);
	assert_int_equal(rr->priority, 2);
	assert_string_equal(rr->target, "svc1.example.test");
	assert_int_equal(rr->port, 0); /* the port SvcParam is not a typed field */
	rr = single_answer("https-response", "example.test", 65);
	assert_int_equal(rr->priority, 1);
	assert_string_equal(rr->target, "."); /* ServiceMode "." is the owner itself */
	assert_null(rr->addr); /* nor are the hints */
}

static void rrsig_signer_and_nsec_next_name_are_targets(void **state)
{
	(void)state;
	assert_string_equal(single_answer("rrsig-response", "sig.example.test", 46)->target,
			    "example.test");
	assert_string_equal(single_answer("nsec-response", "nsec.example.test", 47)->target,
			    "www.example.test");
}

static void unknown_type_has_wire_rdata_and_no_typed_fields(void **state)
{
	const struct dns_rr *rr;

	(void)state;
	rr = single_answer("unknown-response", "unknown.example.test", 65534);
	assert_ptr_equal(rr->rdata, file_buf + 0x32);
	assert_int_equal(rr->rdlength, 3);
	assert_memory_equal(rr->rdata, "\xab\xcd\xef", 3);
	assert_untyped(rr);
	rr = single_answer("txt-response", "txt.example.test", 16);
	assert_int_equal(rr->rdata[0], 11); /* "hello world" */
	assert_untyped(rr);
	assert_untyped(single_answer("caa-response", "example.test", 257));
}

/* One record of each name-bearing type, every name compressed, some through two pointers */
static void targets_are_decompressed_for_every_name_bearing_type(void **state)
{
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 0x53 };
	const struct dns_rr *an;
	struct wire w;
	size_t ns1, dname;

	(void)state;
	put_query_a(&w, 9, 1, 0);
	put_rr(&w, 2, 60, 6);
	ns1 = w.n;
	put_bytes(&w, "\3ns1", 4);
	put16(&w, 0xc00c);
	put_rr(&w, 5, 60, 6);
	put_bytes(&w, "\3www", 4);
	put16(&w, 0xc000 | (unsigned int)ns1); /* to a name that ends in a pointer itself */
	put_rr(&w, 39, 60, 2);
	dname = w.n;
	put16(&w, 0xc00c);
	put_rr(&w, 12, 60, 6);
	put_bytes(&w, "\3b.c", 4);
	put16(&w, 0xc00c);
	put_rr(&w, 15, 60, 2 + 7);
	put16(&w, 10);
	put_bytes(&w, "\4mail", 5);
	put16(&w, 0xc00c);
	put_rr(&w, 15, 60, 3); /* RFC 7505 null MX */
	put16(&w, 0);
	put8(&w, 0);
	put_rr(&w, 33, 60, 6 + 2);
	put16(&w, 1);
	put16(&w, 2);
	put16(&w, 443);
	put16(&w, 0xc000 | (unsigned int)ns1);
	put_rr(&w, 1, 60, 4);
	put32(&w, 0xc0000235);
	put_rr(&w, 28, 60, 16);
	put_bytes(&w, v6, 16);
	put_rr(&w, 6, 60, 2 + 7 + 20);
	put16(&w, 0xc000 | (unsigned int)ns1);
	put_bytes(&w, "\4host", 5);
	put16(&w, 0xc00c);
	for (uint32_t i = 1; i <= 5; i++)
		put32(&w, i);
	assert_int_equal(parse(w.b, w.n), 0);

	assert_int_equal(msg.an.n, 9);
	an = msg.an.rrs;
	assert_rr(&an[0], "a.example", 2, 60, "ns1.a.example.");
	assert_string_equal(an[0].target, "ns1.a.example");
	assert_rr(&an[1], "a.example", 5, 60, "www.ns1.a.example.");
	assert_string_equal(an[1].target, "www.ns1.a.example");
	assert_rr(&an[2], "a.example", 39, 60, "a.example.");
	assert_string_equal(an[2].target, "a.example");
	assert_ptr_equal(an[2].rdata, w.b + dname); /* the pointer, as on the wire */
	assert_memory_equal(an[2].rdata, "\xc0\x0c", 2);
	assert_rr(&an[3], "a.example", 12, 60, "b\\.c.a.example.");
	assert_string_equal(an[3].target, "b\\.c.a.example");
	assert_rr(&an[4], "a.example", 15, 60, "10 mail.a.example.");
	assert_int_equal(an[4].priority, 10);
	assert_string_equal(an[4].target, "mail.a.example");
	assert_rr(&an[5], "a.example", 15, 60, "0 .");
	assert_int_equal(an[5].priority, 0);
	assert_string_equal(an[5].target, ".");
	assert_rr(&an[6], "a.example", 33, 60, "1 2 443 ns1.a.example.");
	assert_int_equal(an[6].priority, 1);
	assert_int_equal(an[6].weight, 2);
	assert_int_equal(an[6].port, 443);
	assert_string_equal(an[6].target, "ns1.a.example");
	assert_rr(&an[7], "a.example", 1, 60, "192.0.2.53");
	assert_int_equal(an[7].addr_len, 4);
	assert_memory_equal(an[7].addr, "\xc0\x00\x02\x35", 4);
	assert_rr(&an[8], "a.example", 28, 60, "2001:db8::53");
	assert_int_equal(an[8].addr_len, 16);
	assert_memory_equal(an[8].addr, v6, 16);
	assert_int_equal(msg.ns.n, 1);
	assert_rr(&msg.ns.rrs[0], "a.example", 6, 60, "ns1.a.example. host.a.example. 1 2 3 4 5");
	assert_string_equal(msg.ns.rrs[0].target, "ns1.a.example");
	assert_string_equal(msg.ns.rrs[0].rname, "host.a.example");
}

/* A CNAME chain as servers compress it: the next owner points at the target before it. */
static void cname_target_equals_the_owner_it_leads_to(void **state)
{
	struct wire w;
	size_t target;

	(void)state;
	put_query_a(&w, 2, 0, 0);
	put_rr(&w, 5, 60, 9);
	target = w.n;
	put_bytes(&w, "\3cdn\3net\0", 9);
	put16(&w, 0xc000 | (unsigned int)target);
	put16(&w, 1);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 4);
	put32(&w, 0xc0000201);
	assert_int_equal(parse(w.b, w.n), 0);
	assert_int_equal(msg.an.n, 2);
	assert_string_equal(msg.an.rrs[0].target, "cdn.net");
	assert_string_equal(msg.an.rrs[1].name, msg.an.rrs[0].target);
}

/* A record that fails to decode is listed in RFC 3597 form only, whatever of it had decoded
 * (here the SOA MNAME), and the records before it carry nothing of what the last message had
 * there. */
static void malformed_record_leaves_no_typed_fields(void **state)
{
	struct wire w;

	(void)state;
	put_query_a(&w, 2, 0, 0);
	put_rr(&w, 5, 60, 2);
	put16(&w, 0xc00c);
	put_rr(&w, 6, 60, 2 + 2 + 20);
	put16(&w, 0xc00c);
	put16(&w, 0xc00c);
	for (uint32_t i = 1; i <= 5; i++)
		put32(&w, i);
	assert_int_equal(parse(w.b, w.n), 0);
	assert_string_equal(msg.an.rrs[0].target, "a.example");
	assert_string_equal(msg.an.rrs[1].rname, "a.example");

	put_query_a(&w, 2, 0, 0);
	put_rr(&w, 1, 60, 4);
	put32(&w, 0xc0000201);
	put_rr(&w, 6, 60, 2 + 4 + 20);
	put16(&w, 0xc00c);
	put_bytes(&w, "\1b", 2);
	put16(&w, 0xc000 | (unsigned int)(w.n + 2)); /* RNAME goes on forward */
	for (uint32_t i = 1; i <= 5; i++)
		put32(&w, i);
	assert_malformed(w.b, w.n, "forward compression pointer");
	assert_int_equal(msg.an.n, 2);
	assert_rr(&msg.an.rrs[0], "a.example", 1, 60, "192.0.2.1");
	assert_int_equal(msg.an.rrs[0].addr_len, 4);
	assert_null(msg.an.rrs[0].target);
	assert_null(msg.an.rrs[0].rname);
	assert_rr(&msg.an.rrs[1], "a.example", 6, 60,
		  "\\# 26 C00C0162C03D0000000100000002000000030000000400000005");
	assert_null(msg.an.rrs[1].target);
	assert_null(msg.an.rrs[1].rname);
}

/* Typed names are arena strings too: those handed out before it grew stay. */
static void targets_stay_valid_when_output_outgrows_the_buffer(void **state)
{
	const size_t len = 63 * 3 + 61 + 3; /* put_long_name(61) without the trailing dot */
	struct wire w;

	(void)state;
	put_query_a(&w, 25, 0, 0);
	for (int i = 0; i < 25; i++) {
		put_rr(&w, 5, (uint32_t)i, 255);
		put_long_name(&w, 61);
	}
	assert_int_equal(parse(w.b, w.n), 0);
	assert_int_equal(msg.an.n, 25);
	for (int i = 0; i < 25; i++) {
		const struct dns_rr *rr = &msg.an.rrs[i];

		assert_int_equal(strlen(rr->target), len);
		assert_memory_equal(rr->target, rr->data, len);
		assert_string_equal(rr->data + len, ".");
	}
}

/* Output larger than the parser's first buffer: strings handed out before it grew stay. */
static void strings_stay_valid_when_output_outgrows_the_buffer(void **state)
{
	char expect[4 * 255 + 3];
	struct wire w;

	(void)state;
	put_query_a(&w, 20, 0, 0);
	for (int i = 0; i < 20; i++) {
		put_rr(&w, 16, (uint32_t)i, 256);
		put8(&w, 255);
		for (int j = 0; j < 255; j++)
			put8(&w, 1);
	}
	assert_int_equal(parse(w.b, w.n), 0);
	expect[0] = '"';
	for (int j = 0; j < 255; j++)
		memcpy(expect + 1 + 4 * j, "\\001", 4);
	strcpy(expect + 1 + 4 * 255, "\"");
	assert_int_equal(msg.an.n, 20);
	for (int i = 0; i < 20; i++) {
		assert_rr(&msg.an.rrs[i], "a.example", 16, (uint32_t)i, expect);
	}
}

static void special_characters_in_names_are_escaped(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 0, 0, 0);
	put_bytes(&w, "\x0c" "a.b\\c\"d e(;)", 13);
	put_bytes(&w, "\x05@$\x7f\xff\x00" "\0", 7);
	put32(&w, 0x00010001);
	assert_int_equal(parse(w.b, w.n), 0);
	assert_string_equal(msg.qname, "a\\.b\\\\c\\\"d\\032e\\(\\;\\).\\@\\$\\127\\255\\000");
}

static void root_name_is_a_dot_also_through_a_pointer(void **state)
{
	struct wire w;

	(void)state;
	put_header(&w, 1, 2, 0, 0);
	put8(&w, 0);
	put32(&w, 0x00020001);
	put8(&w, 0);
	put16(&w, 2);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 1);
	put8(&w, 0);
	put16(&w, 0xc00c); /* owner and NS both point at the question's root name */
	put16(&w, 2);
	put16(&w, 1);
	put32(&w, 60);
	put16(&w, 2);
	put16(&w, 0xc00c);
	assert_int_equal(parse(w.b, w.n), 0);
	assert_string_equal(msg.qname, ".");
	assert_int_equal(msg.an.n, 2);
	assert_rr(&msg.an.rrs[0], ".", 2, 60, ".");
	assert_rr(&msg.an.rrs[1], ".", 2, 60, ".");
}

/* Own IPv6 formatting against the C library's, on addresses rich in zero runs */
static void aaaa_text_matches_inet_ntop(void **state)
{
	char expect[INET6_ADDRSTRLEN];
	uint8_t a[16];
	struct wire w;

	(void)state;
	srand(9267);
	for (int n = 0; n < 20000; n++) {
		for (int i = 0; i < 16; i++)
			a[i] = rand() % 3 ? 0 : (uint8_t)rand();
		if (n % 5 == 0)
			memcpy(a, "\0\0\0\0\0\0\0\0\0\0\xff\xff", 12);
		put_query_a(&w, 1, 0, 0);
		put_rr(&w, 28, 60, 16);
		put_bytes(&w, a, 16);
		assert_int_equal(parse(w.b, w.n), 0);
		inet_ntop(AF_INET6, a, expect, sizeof(expect));
		assert_string_equal(msg.an.rrs[0].data, expect);
	}
}

/* ---- mnemonics ---- */

static void type_mnemonics_cover_common_and_unknown_types(void **state)
{
	char buf[DNS_MNEMONIC_LEN];

	(void)state;
	assert_string_equal(dns_type_str(1, buf), "A");
	assert_string_equal(dns_type_str(28, buf), "AAAA");
	assert_string_equal(dns_type_str(41, buf), "OPT");
	assert_string_equal(dns_type_str(51, buf), "NSEC3PARAM");
	assert_string_equal(dns_type_str(64, buf), "SVCB");
	assert_string_equal(dns_type_str(65, buf), "HTTPS");
	assert_string_equal(dns_type_str(99, buf), "SPF");
	assert_string_equal(dns_type_str(252, buf), "AXFR");
	assert_string_equal(dns_type_str(255, buf), "ANY");
	assert_string_equal(dns_type_str(257, buf), "CAA");
	assert_string_equal(dns_type_str(32769, buf), "DLV");
	assert_string_equal(dns_type_str(0, buf), "TYPE0");
	assert_string_equal(dns_type_str(54, buf), "TYPE54");
	assert_string_equal(dns_type_str(65534, buf), "TYPE65534");
}

static void class_mnemonics(void **state)
{
	char buf[DNS_MNEMONIC_LEN];

	(void)state;
	assert_string_equal(dns_class_str(1, buf), "IN");
	assert_string_equal(dns_class_str(3, buf), "CH");
	assert_string_equal(dns_class_str(255, buf), "ANY");
	assert_string_equal(dns_class_str(7, buf), "CLASS7");
	assert_string_equal(dns_class_str(65535, buf), "CLASS65535");
}

static void rcode_mnemonics_include_extended_ones(void **state)
{
	char buf[DNS_MNEMONIC_LEN];

	(void)state;
	assert_string_equal(dns_rcode_str(0, buf), "NOERROR");
	assert_string_equal(dns_rcode_str(3, buf), "NXDOMAIN");
	assert_string_equal(dns_rcode_str(9, buf), "NOTAUTH");
	assert_string_equal(dns_rcode_str(16, buf), "BADVERS");
	assert_string_equal(dns_rcode_str(17, buf), "BADKEY");
	assert_string_equal(dns_rcode_str(23, buf), "BADCOOKIE");
	assert_string_equal(dns_rcode_str(12, buf), "RCODE12");
	assert_string_equal(dns_rcode_str(24, buf), "RCODE24");
	assert_string_equal(dns_rcode_str(4095, buf), "RCODE4095");
}

static void opcode_mnemonics(void **state)
{
	char buf[DNS_MNEMONIC_LEN];

	(void)state;
	assert_string_equal(dns_opcode_str(0, buf), "QUERY");
	assert_string_equal(dns_opcode_str(4, buf), "NOTIFY");
	assert_string_equal(dns_opcode_str(6, buf), "DSO");
	assert_string_equal(dns_opcode_str(3, buf), "OPCODE3");
	assert_string_equal(dns_opcode_str(15, buf), "OPCODE15");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_response_decodes_header_question_answers_and_edns),
		cmocka_unit_test(a_query_has_question_and_only_rd_flag),
		cmocka_unit_test(response_without_opt_has_no_edns),
		cmocka_unit_test(do_bit_is_reported_in_query_and_response),
		cmocka_unit_test(aaaa_answer_is_rfc5952_text),
		cmocka_unit_test(cname_target_has_trailing_dot),
		cmocka_unit_test(ns_answer_names_the_server),
		cmocka_unit_test(soa_answer_lists_names_and_timers),
		cmocka_unit_test(mx_answer_has_preference_and_exchange),
		cmocka_unit_test(txt_strings_are_quoted_and_escaped),
		cmocka_unit_test(ptr_answer_for_reverse_name),
		cmocka_unit_test(srv_answer_has_priority_weight_port_target),
		cmocka_unit_test(caa_answer_has_flags_tag_and_quoted_value),
		cmocka_unit_test(svcb_answer_has_mandatory_alpn_port_and_unknown_key),
		cmocka_unit_test(https_answer_has_hints_and_ech),
		cmocka_unit_test(ds_digest_is_hex),
		cmocka_unit_test(dnskey_key_is_base64),
		cmocka_unit_test(rrsig_times_are_yyyymmddhhmmss),
		cmocka_unit_test(nsec_lists_types_from_bitmap),
		cmocka_unit_test(nsec3_hash_is_base32hex_and_salt_is_hex),
		cmocka_unit_test(nsec3param_with_salt),
		cmocka_unit_test(nsec3param_without_salt_shows_dash),
		cmocka_unit_test(unknown_type_uses_rfc3597_generic_form),
		cmocka_unit_test(dot_inside_label_is_escaped),
		cmocka_unit_test(nxdomain_carries_soa_in_authority),
		cmocka_unit_test(refused_outside_the_served_zone),
		cmocka_unit_test(truncated_response_sets_tc_and_has_no_answer),
		cmocka_unit_test(badvers_makes_rcode_12_bits),
		cmocka_unit_test(nsid_option_is_hex),
		cmocka_unit_test(ecs_option_is_address_source_scope),
		cmocka_unit_test(cookie_option_is_client_hex),
		cmocka_unit_test(padding_option_reports_its_length),
		cmocka_unit_test(response_options_ecs_cookie_padding_and_unknown),
		cmocka_unit_test(empty_input_is_truncated_header),
		cmocka_unit_test(zero_length_buffer_is_truncated_header),
		cmocka_unit_test(eleven_bytes_are_truncated_header),
		cmocka_unit_test(header_only_message_is_well_formed),
		cmocka_unit_test(compression_pointer_to_itself_is_malformed),
		cmocka_unit_test(compression_pointer_into_own_labels_is_malformed),
		cmocka_unit_test(compression_loop_between_two_names_is_malformed),
		cmocka_unit_test(forward_compression_pointer_is_malformed),
		cmocka_unit_test(compression_pointer_beyond_end_is_malformed),
		cmocka_unit_test(compression_pointer_cut_in_half_is_malformed),
		cmocka_unit_test(label_length_beyond_end_is_malformed),
		cmocka_unit_test(name_without_terminator_is_malformed),
		cmocka_unit_test(name_of_255_wire_bytes_is_accepted),
		cmocka_unit_test(name_of_256_wire_bytes_is_rejected),
		cmocka_unit_test(name_too_long_through_compression_is_rejected),
		cmocka_unit_test(label_of_63_bytes_is_accepted),
		cmocka_unit_test(label_type_0x40_is_rejected),
		cmocka_unit_test(label_type_0x80_is_rejected),
		cmocka_unit_test(compression_pointer_chain_is_bounded),
		cmocka_unit_test(answer_count_beyond_records_is_malformed),
		cmocka_unit_test(question_count_beyond_message_is_malformed),
		cmocka_unit_test(truncated_question_is_malformed),
		cmocka_unit_test(truncated_record_is_malformed),
		cmocka_unit_test(rdlength_beyond_message_is_malformed),
		cmocka_unit_test(a_record_with_rdlength_3_is_rdata_length_mismatch),
		cmocka_unit_test(a_record_with_rdlength_5_is_rdata_length_mismatch),
		cmocka_unit_test(soa_too_short_is_rdata_length_mismatch),
		cmocka_unit_test(name_in_rdata_crossing_rdlength_is_mismatch),
		cmocka_unit_test(txt_string_longer_than_rdata_is_mismatch),
		cmocka_unit_test(nsec_bitmap_window_of_33_bytes_is_malformed),
		cmocka_unit_test(svcb_port_of_three_bytes_is_malformed),
		cmocka_unit_test(opt_outside_additional_is_malformed),
		cmocka_unit_test(opt_not_at_root_is_malformed),
		cmocka_unit_test(second_opt_is_malformed),
		cmocka_unit_test(edns_option_longer_than_opt_is_malformed),
		cmocka_unit_test(malformed_ecs_option_falls_back_to_hex),
		cmocka_unit_test(trailing_data_is_malformed),
		cmocka_unit_test(counts_far_beyond_message_do_not_overflow),
		cmocka_unit_test(parser_is_reusable_after_errors),
		cmocka_unit_test(a_and_aaaa_addresses_are_the_rdata_bytes),
		cmocka_unit_test(cname_ns_ptr_targets_are_owner_form_names),
		cmocka_unit_test(soa_gives_mname_as_target_and_rname),
		cmocka_unit_test(mx_srv_svcb_give_priority_and_target),
		cmocka_unit_test(rrsig_signer_and_nsec_next_name_are_targets),
		cmocka_unit_test(unknown_type_has_wire_rdata_and_no_typed_fields),
		cmocka_unit_test(targets_are_decompressed_for_every_name_bearing_type),
		cmocka_unit_test(cname_target_equals_the_owner_it_leads_to),
		cmocka_unit_test(malformed_record_leaves_no_typed_fields),
		cmocka_unit_test(targets_stay_valid_when_output_outgrows_the_buffer),
		cmocka_unit_test(strings_stay_valid_when_output_outgrows_the_buffer),
		cmocka_unit_test(special_characters_in_names_are_escaped),
		cmocka_unit_test(root_name_is_a_dot_also_through_a_pointer),
		cmocka_unit_test(aaaa_text_matches_inet_ntop),
		cmocka_unit_test(type_mnemonics_cover_common_and_unknown_types),
		cmocka_unit_test(class_mnemonics),
		cmocka_unit_test(rcode_mnemonics_include_extended_ones),
		cmocka_unit_test(opcode_mnemonics),
	};

	return cmocka_run_group_tests_name("dns", tests, setup, teardown);
}
