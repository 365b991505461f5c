/* RDATA presentation tests: canned wire RDATA of each decoded type against the text dig (BIND
 * 9.18) prints for it, names compressed where RFC 3597 4 lets a server compress them, and
 * RDATA that breaks its type's layout, which must come out in RFC 3597 form and mark the
 * message malformed while the records after it are still listed.
 * Each record sits in the answer of a response to "a.example. A"; a pointer C0 0C in RDATA
 * names "a.example.". tests/e2e/rrtypes.sh checks the same types against dig itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dns.h"

static struct dns_parser *parser;
static struct dns_msg msg;
/* DNS_RDATA_SEEDS names a directory that gets every message these tests parse: the fuzz
 * target's seeds for the RDATA decoders (make's fuzz-corpus-rdata). */
static const char *seed_dir;
static unsigned int n_seeds;

struct wire {
	uint8_t b[1024];
	size_t n;
};

/* RDATA from a string literal, its length from the literal: embedded NULs count */
#define RD(s) (const uint8_t *)(s), sizeof(s) - 1

struct rdata_case {
	uint16_t type;
	const uint8_t *rdata;
	size_t len;
	const char *text; /* dig's presentation, or for broken RDATA why it is malformed */
};

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

static void put(struct wire *w, const void *b, size_t n)
{
	assert_true(w->n + n <= sizeof(w->b));
	memcpy(w->b + w->n, b, n);
	w->n += n;
}

static void write_seed(const uint8_t *b, size_t n)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/rdata-%03u.bin", seed_dir, n_seeds++);
	f = fopen(path, "wb");
	if (!f || fwrite(b, 1, n, f) != n || fclose(f))
		fail_msg("%s: cannot write", path);
}

/* The response: question a.example. A at offset 12, then one answer per RDATA, each
 * followed by an A record that shows whether parsing went on */
static int parse_answer(uint16_t type, const uint8_t *rdata, size_t len)
{
	static const uint8_t head[] = {
		0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
	};
	const uint8_t rr[] = { 0xc0, 0x0c, type >> 8, type & 0xff, 0, 1, 0, 0, 0, 60, len >> 8,
			       len & 0xff };
	static const uint8_t a[] = { 0xc0, 0x0c, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4, 192, 0, 2, 9 };
	struct wire w = { .n = 0 };

	put(&w, head, sizeof(head));
	put(&w, rr, sizeof(rr));
	put(&w, rdata, len);
	put(&w, a, sizeof(a));
	if (seed_dir)
		write_seed(w.b, w.n);
	return dns_parse(parser, w.b, w.n, &msg);
}

/* false, with what differs printed, when the RDATA does not decode to c->text */
static bool decodes_as_dig(const struct rdata_case *c)
{
	char buf[DNS_MNEMONIC_LEN];
	int err = parse_answer(c->type, c->rdata, c->len);

	if (!err && !msg.malformed && msg.an.n == 2 && !strcmp(msg.an.rrs[0].data, c->text))
		return true;
	print_error("%s: want \"%s\", got %d %s \"%s\"\n", dns_type_str(c->type, buf), c->text,
		    err, msg.malformed ? msg.malformed : "", msg.an.n ? msg.an.rrs[0].data : "");
	return false;
}

/* The record is there, in RFC 3597 form over its exact bytes, without typed fields; the
 * message is malformed for the expected reason; the next record was read. */
static void check_broken(const struct rdata_case *c)
{
	char buf[DNS_MNEMONIC_LEN], generic[600];
	int n = snprintf(generic, sizeof(generic), "\\# %zu", c->len);

	for (size_t i = 0; i < c->len; i++)
		n += snprintf(generic + n, sizeof(generic) - (size_t)n, "%s%02X", i ? "" : " ",
			      c->rdata[i]);
	assert_int_equal(parse_answer(c->type, c->rdata, c->len), -EBADMSG);
	if (!msg.malformed || strcmp(msg.malformed, c->text))
		fail_msg("%s: want malformed \"%s\", got \"%s\"", dns_type_str(c->type, buf),
			 c->text, msg.malformed ? msg.malformed : "(none)");
	assert_int_equal(msg.an.n, 2);
	assert_string_equal(msg.an.rrs[0].data, generic);
	assert_null(msg.an.rrs[0].target);
	assert_null(msg.an.rrs[0].rname);
	assert_string_equal(msg.an.rrs[1].data, "192.0.2.9");
}

static const struct rdata_case decoded[] = {
	/* RFC 1035 names, and the obsolete mailbox types that share their compression */
	{ 3, RD("\xc0\x0c"), "a.example." },			/* MD */
	{ 4, RD("\2mf\xc0\x0c"), "mf.a.example." },		/* MF */
	{ 7, RD("\2mb\xc0\x0c"), "mb.a.example." },		/* MB */
	{ 8, RD("\2mg\xc0\x0c"), "mg.a.example." },		/* MG */
	{ 9, RD("\2mr\xc0\x0c"), "mr.a.example." },		/* MR */
	{ 14, RD("\3box\xc0\x0c\xc0\x0c"), "box.a.example. a.example." }, /* MINFO */
	{ 23, RD("\xc0\x0c"), "a.example." },			/* NSAP-PTR */
	/* RFC 1035 and 1183 strings and the types RFC 3597 4 lets a server compress */
	{ 11, RD("\xc0\0\2\1\6\0\0\0\x40\0\0\0\0\0\0\x80"), "192.0.2.1 6 25 80" }, /* WKS */
	{ 13, RD("\5INTEL\4UNIX"), "\"INTEL\" \"UNIX\"" },	/* HINFO */
	{ 13, RD("\2a\"\3b\\\xff"), "\"a\\\"\" \"b\\\\\\255\"" },
	{ 17, RD("\2rp\xc0\x0c\xc0\x0c"), "rp.a.example. a.example." }, /* RP */
	{ 18, RD("\0\1\xc0\x0c"), "1 a.example." },		/* AFSDB */
	{ 19, RD("\x0c" "311061700956"), "\"311061700956\"" },	/* X25 */
	{ 20, RD("\x0f" "150862028003217\3" "004"), "\"150862028003217\" \"004\"" }, /* ISDN */
	{ 20, RD("\x0f" "150862028003217"), "\"150862028003217\"" },
	{ 21, RD("\0\x0a\xc0\x0c"), "10 a.example." },		/* RT */
	{ 26, RD("\0\x0a\xc0\x0c\2px\0"), "10 a.example. px." }, /* PX */
	{ 27, RD("\5-32.6\4" "19.0\3" "0.0"), "\"-32.6\" \"19.0\" \"0.0\"" }, /* GPOS */
	{ 30, RD("\1b\xc0\x0c\x40\x01"), "b.a.example. A MX" },	/* NXT */
	{ 35, RD("\0\x64\0\x0a\1S\7SIP+D2U\0\xc0\x0c"),		/* NAPTR */
	  "100 10 \"S\" \"SIP+D2U\" \"\" a.example." },
	{ 35, RD("\0\1\0\2\1u\7E2U+sip\x18!^.*$!sip:info@example!\\\0"),
	  "1 2 \"u\" \"E2U+sip\" \"!^.*$!sip:info@example!\\\\\" ." },
	{ 36, RD("\0\x0a\xc0\x0c"), "10 a.example." },		/* KX */
	{ 24, RD("\0\1\5\2\0\0\x0e\x10\x65\x5c\x4a\0\x65\x34\xbd\0\x30\x39\xc0\x0c\1\2\3"),
	  "A 5 2 3600 20231121061112 20231022061112 12345 a.example. AQID" }, /* SIG */
	{ 25, RD("\1\0\3\5\1\2\3"), "256 3 5 AQID" },		/* KEY */
	/* RFC 1876, 1706, 2874, 3123 and the rest of the 1990s */
	{ 29, RD("\0\x33\x16\x13\x89\x17\x2d\xd0\x70\xbe\x15\xf0\0\x98\x8d\x20"), /* LOC */
	  "42 21 54.000 N 71 6 18.000 W -24.00m 30m 10000m 10m" },
	{ 29, RD("\0\x12\x16\x13\x78\xbc\x0b\x91\xa0\x72\x63\x51\0\x98\x96\x80"),
	  "33 51 33.999 S 151 12 47.441 E 0.00m 1m 10000m 10m" },
	{ 29, RD("\0\x10\x51\0\x80\0\0\0\x80\0\0\0\x01\0\0\0"),
	  "0 0 0.000 N 0 0 0.000 E 67772.16m 0.01m 0.50m 0.00m" },
	{ 22, RD("\x47\0\5\x80\0\x5a\0\0\0\0\1\xe1\x33\xff\xff\xff\0\1\x61\0"), /* NSAP */
	  "0x47000580005a0000000001e133ffffff00016100" },
	{ 31, RD("\x12\x34\xab"), "1234AB" },			/* EID */
	{ 32, RD("\x12\x34\xab"), "1234AB" },			/* NIMLOC */
	{ 34, RD("\1" "14085551234"), "+14085551234" },		/* ATMA */
	{ 34, RD("\0\x39\x24\x6f"), "39246f" },
	{ 37, RD("\0\1\x30\x39\x08\1\2\3"), "PKIX 12345 RSASHA256 AQID" }, /* CERT */
	{ 37, RD("\0\x09\x30\x39\x63\1\2\3"), "9 12345 99 AQID" },
	{ 38, RD("\x40\0\0\0\0\0\0\0\1\3pfx\xc0\x0c"), "64 ::1 pfx.a.example." }, /* A6 */
	{ 38, RD("\0\x20\1\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"), "0 2001:db8::1" },
	{ 38, RD("\x80\3pfx\0"), "128  pfx." },
	{ 40, RD("\1\2\3\x0a\x0b"), "1 2 3 Cgs=" },		/* SINK */
	{ 42, RD("\0\1\x18\3\xc0\0\2\0\2\x20\x82\x20\1"), "1:192.0.2.0/24 !2:2001::/32" }, /* APL */
	{ 42, RD(""), "" },
	/* DNSSEC and keys */
	{ 43, RD("\x30\x39\x08\2\xab\xcd"), "12345 8 2 ABCD" },	/* DS */
	{ 59, RD("\0\0\0\0\0"), "0 0 0 00" },			/* CDS */
	{ 32768, RD("\x30\x39\x08\2\xab\xcd"), "12345 8 2 ABCD" }, /* TA */
	{ 32769, RD("\x30\x39\x08\2\xab\xcd"), "12345 8 2 ABCD" }, /* DLV */
	{ 44, RD("\1\1\x12\x34"), "1 1 1234" },			/* SSHFP */
	{ 45, RD("\x0a\1\2\xc0\0\2\1\1\2\3"), "10 1 2 192.0.2.1 AQID" }, /* IPSECKEY */
	{ 45, RD("\x0a\0\2\1\2\3"), "10 0 2 . AQID" },
	{ 45, RD("\x0a\2\2\x20\1\x0d\xb8\0\0\0\0\0\0\0\0\0\0\0\1"), "10 2 2 2001:db8::1" },
	{ 45, RD("\x0a\3\2\2gw\0\1\2\3"), "10 3 2 gw. AQID" },
	{ 49, RD("\0\1\2"), "AAEC" },				/* DHCID */
	{ 52, RD("\3\1\1\xab\xcd\xef"), "3 1 1 ABCDEF" },		/* TLSA */
	{ 53, RD("\3\1\1\xab\xcd\xef"), "3 1 1 ABCDEF" },		/* SMIMEA */
	{ 55, RD("\2\2\0\3\x12\x34\1\2\3\3rvs\0\4rvs2\0"), "2 1234 AQID rvs. rvs2." }, /* HIP */
	{ 55, RD("\2\2\0\3\x12\x34\1\2\3"), "2 1234 AQID" },
	{ 56, RD("\2hi\3you"), "\"hi\" \"you\"" },		/* NINFO */
	{ 57, RD("\1\0\3\5\1\2\3"), "256 3 5 AQID" },		/* RKEY */
	{ 58, RD("\4prev\0\4next\0"), "prev. next." },		/* TALINK */
	{ 61, RD("\1\2\3"), "AQID" },				/* OPENPGPKEY */
	{ 62, RD("\0\0\0\x42\0\3\0\1\x40"), "66 3 A" },		/* CSYNC */
	{ 63, RD("\0\0\0\1\1\1\0\1\2\3\4\5\6\7\x08\x09\x0a\x0b"), /* ZONEMD */
	  "1 1 1 000102030405060708090A0B" },
	/* ILNP, EUI, and the 2010s */
	{ 104, RD("\0\x0a\0\x14\x4f\xff\xfe\x20\x85\x27"), "10 14:4fff:fe20:8527" }, /* NID */
	{ 105, RD("\0\x0a\x0a\1\2\3"), "10 10.1.2.3" },		/* L32 */
	{ 106, RD("\0\x0a\x20\1\x0d\xb8\x11\x40\x10\0"), "10 2001:db8:1140:1000" }, /* L64 */
	{ 107, RD("\0\x0a\2lp\xc0\x0c"), "10 lp.a.example." },	/* LP */
	{ 108, RD("\0\0\x5e\0\x53\x2a"), "00-00-5e-00-53-2a" },	/* EUI48 */
	{ 109, RD("\0\0\x5e\xef\x10\0\0\x2a"), "00-00-5e-ef-10-00-00-2a" }, /* EUI64 */
	{ 256, RD("\0\x0a\0\1ftp://ftp1.example.com/public"),	/* URI */
	  "10 1 \"ftp://ftp1.example.com/public\"" },
	{ 258, RD("\x11" "app-name:WOLFGANG"), "\"app-name:WOLFGANG\"" }, /* AVC */
	{ 259, RD("\0\0\0\0\0\0\0\1\2\x09image/gif\1\2\3"), "0 1 2 \"image/gif\" AQID" }, /* DOA */
	{ 259, RD("\0\0\0\0\0\0\0\1\2\0"), "0 1 2 \"\" -" },
	{ 260, RD("\x0a\x81\xc0\0\2\1"), "10 1 1 192.0.2.1" },	/* AMTRELAY */
	{ 260, RD("\x0a\0"), "10 0 0 ." },
	{ 260, RD("\x0a\3\3amt\0"), "10 0 3 amt." },
	{ 261, RD("\x08qnamemin\x09" "exterr=15"), "\"qnamemin\" \"exterr=15\"" }, /* RESINFO */
	{ 66, RD("\0\x3b\1\x14\xef\7ds-boot\7example\0"), "CDS NOTIFY 5359 ds-boot.example." },
	{ 66, RD("\xff\0\2\0\x35\0"), "TYPE65280 2 53 ." },	/* DSYNC */
	{ 67, RD("\1\2\3"), "AQID" },				/* HHIT */
	{ 68, RD("\1\2\3"), "AQID" },				/* BRID */
	{ 262, RD("\3BTC\4bc1q"), "\"BTC\" \"bc1q\"" },		/* WALLET */
	{ 64, RD("\0\1\0\0\1\0\x08\4h2,x\2h3"), "1 . alpn=\"h2\\\\,x,h3\"" }, /* SVCB */
	{ 64, RD("\0\1\0\0\1\0\x05\4f\\oo"), "1 . alpn=\"f\\\\\\\\oo\"" },
	{ 65, RD("\0\1\0\0\7\0\2/q\0\x08\0\0"), "1 . key7=\"/q\" key8" }, /* HTTPS */
	/* not decoded by dig 9.18 either: RFC 3597 form, as it prints them */
	{ 100, RD("\4info"), "\\# 5 04696E666F" },		/* UINFO */
	{ 101, RD("\0\0\3\xe8"), "\\# 4 000003E8" },		/* UID */
	{ 103, RD("\0\xff\x41"), "\\# 3 00FF41" },		/* UNSPEC */
	{ 10, RD("\1\2\3"), "\\# 3 010203" },			/* NULL */
	{ 65280, RD("\1\2"), "\\# 2 0102" },
	{ 65280, RD(""), "\\# 0" },
};

static const struct rdata_case broken[] = {
	{ 43, RD("\x30\x39\x08\2"), "rdata length mismatch" },	/* DS without a digest */
	{ 52, RD("\3\1"), "rdata length mismatch" },		/* TLSA cut short */
	{ 13, RD("\5INTEL"), "rdata length mismatch" },		/* HINFO with one string */
	{ 13, RD("\1a\1b\0"), "rdata length mismatch" },		/* and a byte over */
	{ 16, RD(""), "rdata length mismatch" },			/* TXT with no string */
	{ 42, RD("\0\1\x21\1\xc0"), "bad APL item" },		/* IPv4 prefix of 33 */
	{ 42, RD("\0\1\x18\4\xc0\0\2\0"), "bad APL item" },	/* trailing zero sent */
	{ 42, RD("\0\3\x08\1\xc0"), "bad APL item" },		/* no such family */
	{ 29, RD("\1\x33\x16\x13\x89\x17\x2d\xd0\x70\xbe\x15\xf0\0\x98\x8d\x20"),
	  "bad LOC version" },
	{ 29, RD("\0\xa3\x16\x13\x89\x17\x2d\xd0\x70\xbe\x15\xf0\0\x98\x8d\x20"),
	  "bad LOC precision" },
	{ 29, RD("\0\x33\x16\x13\xff\xff\xff\xff\x70\xbe\x15\xf0\0\x98\x8d\x20"),
	  "bad LOC coordinate" },
	{ 29, RD("\0\x33\x16\x13"), "rdata length mismatch" },
	{ 38, RD("\x81"), "rdata length mismatch" },		/* A6 prefix of 129 */
	{ 45, RD("\x0a\4\2\1\2\3"), "bad gateway type" },	/* IPSECKEY */
	{ 260, RD("\x0a\4\1\2\3\4"), "bad gateway type" },	/* AMTRELAY */
	{ 55, RD("\2\2\0\0\x12\x34"), "rdata length mismatch" },	/* HIP without a key */
	{ 108, RD("\0\0\x5e\0\x53\x2a\1"), "rdata length mismatch" }, /* EUI48 of 7 */
	{ 257, RD("\0\0value"), "rdata length mismatch" },	/* CAA without a tag */
	{ 34, RD("\1" "1408x"), "bad ATMA address" },
	{ 30, RD("\1b\xc0\x0c\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\1"), "bad type bitmap" }, /* NXT */
	{ 17, RD("\2rp\xc0\x30\xc0\x0c"), "forward compression pointer" }, /* RP */
	{ 18, RD("\0\1\xc0\x29"), "name compression loop" },	/* AFSDB into its own rdata */
};

static void every_decoded_type_reads_as_dig_prints_it(void **state)
{
	size_t wrong = 0;

	(void)state;
	for (size_t i = 0; i < sizeof(decoded) / sizeof(decoded[0]); i++)
		wrong += !decodes_as_dig(&decoded[i]);
	assert_int_equal(wrong, 0);
}

static void broken_rdata_is_listed_in_generic_form_and_marks_the_message(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(broken) / sizeof(broken[0]); i++)
		check_broken(&broken[i]);
}

/* After a broken record the name cache holds nothing of the text it wrote over: a later
 * pointer to a name inside that RDATA decodes it again. */
static void names_of_broken_rdata_are_not_reused(void **state)
{
	/* MINFO "x.a.example." then a byte over; then an NS pointing at that x label */
	static const uint8_t m[] = {
		0xbe, 0xef, 0x81, 0x80, 0, 1, 0, 2, 0, 0, 0, 0,
		1, 'a', 7, 'e', 'x', 'a', 'm', 'p', 'l', 'e', 0, 0, 1, 0, 1,
		0xc0, 0x0c, 0, 14, 0, 1, 0, 0, 0, 60, 0, 8, 1, 'x', 0xc0, 0x0c, 0xc0, 0x0c, 0, 0,
		0xc0, 0x0c, 0, 2, 0, 1, 0, 0, 0, 60, 0, 2, 0xc0, 39,
	};

	(void)state;
	assert_int_equal(dns_parse(parser, m, sizeof(m), &msg), -EBADMSG);
	assert_string_equal(msg.malformed, "rdata length mismatch");
	assert_int_equal(msg.an.n, 2);
	assert_string_equal(msg.an.rrs[0].data, "\\# 8 0178C00CC00C0000");
	assert_string_equal(msg.an.rrs[1].data, "x.a.example.");
	assert_string_equal(msg.an.rrs[1].target, "x.a.example");
}

/* Only the types dns.h lists get typed names: RP's mailbox is no SOA RNAME. */
static void typed_names_only_for_the_listed_types(void **state)
{
	(void)state;
	assert_int_equal(parse_answer(17, RD("\2rp\xc0\x0c\xc0\x0c")), 0);
	assert_null(msg.an.rrs[0].target);
	assert_null(msg.an.rrs[0].rname);
	assert_int_equal(parse_answer(6, RD("\xc0\x0c\2rp\xc0\x0c\0\0\0\1\0\0\0\2\0\0\0\3\0\0\0"
					    "\4\0\0\0\5")), 0);
	assert_string_equal(msg.an.rrs[0].target, "a.example");
	assert_string_equal(msg.an.rrs[0].rname, "rp.a.example");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(every_decoded_type_reads_as_dig_prints_it),
		cmocka_unit_test(broken_rdata_is_listed_in_generic_form_and_marks_the_message),
		cmocka_unit_test(names_of_broken_rdata_are_not_reused),
		cmocka_unit_test(typed_names_only_for_the_listed_types),
	};

	seed_dir = getenv("DNS_RDATA_SEEDS");
	return cmocka_run_group_tests(tests, setup, teardown);
}
