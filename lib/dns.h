/* DNS message parser: RFC 1035 wire format + EDNS0 (RFC 6891) into presentation strings, with
 * the addresses, names and numbers that correlation needs typed beside them. */
#ifndef DNSVIGIL_DNS_H
#define DNSVIGIL_DNS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DNS_MAX_NAME 255	/* wire length limit (RFC 1035 2.3.4) */
#define DNS_MAX_PRESENTATION 1024 /* "\DDD" escapes can quadruple a label */
#define DNS_HEADER_LEN 12

/* dns_msg.flags bits, in the order JSON prints them */
#define DNS_FLAG_AA (1 << 0)
#define DNS_FLAG_TC (1 << 1)
#define DNS_FLAG_RD (1 << 2)
#define DNS_FLAG_RA (1 << 3)
#define DNS_FLAG_AD (1 << 4)
#define DNS_FLAG_CD (1 << 5)

/* The RR types and rcodes the agent's modules name (RFC 1035, 3596, 6672, 1995, 6891). */
enum dns_type {
	DNS_TYPE_A = 1,
	DNS_TYPE_NS = 2,
	DNS_TYPE_CNAME = 5,
	DNS_TYPE_NULL = 10,
	DNS_TYPE_PTR = 12,
	DNS_TYPE_TXT = 16,
	DNS_TYPE_AAAA = 28,
	DNS_TYPE_DNAME = 39,
	DNS_TYPE_OPT = 41,
	DNS_TYPE_IXFR = 251,
	DNS_TYPE_AXFR = 252,
};

enum dns_rcode {
	DNS_RCODE_NOERROR = 0,
	DNS_RCODE_NXDOMAIN = 3,
};

struct dns_rr {
	const char *name; /* presentation format, no trailing dot; "." for the root */
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	const char *data; /* zone-file presentation of the RDATA, names with a trailing dot;
			   * types not decoded in RFC 3597 form: "\# 3 ABCDEF" */
	/* The RDATA as on the wire, inside the buffer given to dns_parse and valid as long as
	 * that is. Names in it may be compression pointers into the rest of the message: use
	 * target and rname rather than reading them from here. */
	const uint8_t *rdata;
	uint16_t rdlength;
	/* The typed part, NULL or 0 for types without the field. Set only from RDATA that
	 * decoded into data, so a record that is listed is consistent with its text. */
	uint8_t addr_len;     /* 4 for A, 16 for AAAA */
	const uint8_t *addr;  /* A, AAAA: the address in network byte order, inside rdata */
	/* The first name in the RDATA, decompressed: NS, CNAME, DNAME, PTR, the MX exchange,
	 * the SRV and SVCB/HTTPS target, the SOA MNAME, the RRSIG signer, the NSEC next owner.
	 * Escapes and case as in data, but without the trailing dot, like name ("." for the
	 * root), so that it compares directly with owner names and qname (case-insensitively,
	 * RFC 4343: dns_name_equal). */
	const char *target;
	const char *rname;    /* SOA RNAME, the zone contact's mailbox, spelt like target */
	uint16_t priority;    /* MX preference, SRV priority, SVCB/HTTPS SvcPriority */
	uint16_t weight;      /* SRV */
	uint16_t port;        /* SRV */
};

struct dns_edns_opt {
	uint16_t code;
	const char *name; /* "ECS", "COOKIE", "PADDING", ... or NULL when unknown */
	const char *data; /* decoded for known options, lowercase hex otherwise */
};

struct dns_edns {
	bool present;
	uint16_t udp_size;
	uint8_t version;
	bool do_bit;
	uint8_t ext_rcode_hi; /* upper 8 bits of the 12-bit rcode */
	size_t n_opts;
	struct dns_edns_opt *opts;
};

struct dns_section {
	size_t n;
	struct dns_rr *rrs;
};

struct dns_msg {
	size_t size; /* bytes on the wire */
	uint16_t id;
	bool qr;
	uint8_t opcode;
	uint16_t rcode; /* 12-bit when EDNS is present */
	uint8_t flags;  /* DNS_FLAG_* */
	uint16_t qdcount, ancount, nscount, arcount;
	bool has_question;
	const char *qname; /* first question; NULL without one */
	uint16_t qtype;
	uint16_t qclass;
	struct dns_section an, ns, ar; /* OPT is not listed in ar: see edns */
	struct dns_edns edns;
	/* NULL for a well-formed message; otherwise why parsing stopped, a short stable
	 * string such as "name compression loop" or "rdata length mismatch". Fields parsed
	 * before that point stay valid (header always, when size >= 12). */
	const char *malformed;
};

struct dns_parser;

/* DNS names compare case-insensitively in ASCII only (RFC 4343). */
static inline char dns_ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

/* Two names in presentation form, equal but for ASCII case. */
static inline bool dns_name_equal(const char *a, const char *b)
{
	for (; *a && dns_ascii_lower(*a) == dns_ascii_lower(*b); a++, b++)
		;
	return *a == *b;
}

struct dns_parser *dns_parser_new(void);
void dns_parser_free(struct dns_parser *p);

/* Parses msg[0..len). Strings and arrays in *out live in the parser and stay valid until the
 * next call; the parser keeps its buffers, so parsing typical messages allocates nothing.
 * dns_rr.rdata and .addr point into msg instead.
 * Returns 0, or -EBADMSG with out->malformed set (never crashes on any input), or -ENOMEM. */
int dns_parse(struct dns_parser *p, const uint8_t *msg, size_t len, struct dns_msg *out);

/* Mnemonics. Unknown values come out as "TYPE65534", "CLASS7", "RCODE24", "OPCODE9". The
 * returned pointer is either static or buf (at least DNS_MNEMONIC_LEN bytes). */
#define DNS_MNEMONIC_LEN 16
const char *dns_type_str(uint16_t type, char *buf);
const char *dns_class_str(uint16_t rclass, char *buf);
const char *dns_rcode_str(uint16_t rcode, char *buf);
const char *dns_opcode_str(uint8_t opcode, char *buf);


#endif
