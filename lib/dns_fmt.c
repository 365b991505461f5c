/* The DNS parser's text: the escaping and number, address, time and base-N writers, the string
 * arena they write into, and the mnemonics of types, classes, rcodes and opcodes.
 *
 * Output strings are written into an arena of chunks owned by the parser: when a chunk is full
 * only the string in progress moves to a new, twice as large chunk, so strings already handed
 * out never move. Retired chunks are freed at the start of the next parse, which leaves one
 * chunk big enough for what was seen so far: steady state parsing allocates nothing.
 */
#include <arpa/inet.h> /* INET6_ADDRSTRLEN */
#include <stdlib.h>

#include "array.h"
#include "dns_int.h"

const uint8_t dns_esc[256] = {
	[0x00 ... 0x1f] = DDD_BARE | DDD_QUOTED,
	[' '] = DDD_BARE,
	['"'] = BS_LABEL | BS_QUOTED,
	['\\'] = BS_LABEL | BS_QUOTED,
	['$'] = BS_LABEL,
	['('] = BS_LABEL,
	[')'] = BS_LABEL,
	[';'] = BS_LABEL,
	['@'] = BS_LABEL,
	['.'] = BS_LABEL,
	[0x7f ... 0xff] = DDD_BARE | DDD_QUOTED,
};

const char dns_hex_lower[] = "0123456789abcdef";
const char dns_hex_upper[] = "0123456789ABCDEF";

/* ---- raw writers ---- */

char *dns_fmt_ipv4(char *w, const uint8_t *a)
{
	for (int i = 0; i < 4; i++) {
		if (i)
			*w++ = '.';
		if (a[i] >= 100)
			*w++ = (char)('0' + a[i] / 100);
		if (a[i] >= 10)
			*w++ = (char)('0' + a[i] / 10 % 10);
		*w++ = (char)('0' + a[i] % 10);
	}
	return w;
}

/* RFC 5952 text, with inet_ntop's dotted tail for IPv4-mapped and -compatible addresses */
char *dns_fmt_ipv6(char *w, const uint8_t *a)
{
	int best = -1, best_len = 0, run = -1;

	/* the longest run of two or more zero groups, the first one on a tie, becomes "::" */
	for (int i = 0; i < 8; i++) {
		if (a[2 * i] | a[2 * i + 1]) {
			run = -1;
			continue;
		}
		if (run < 0)
			run = i;
		if (i + 1 - run > best_len) {
			best = run;
			best_len = i + 1 - run;
		}
	}
	if (best_len < 2)
		best = -1;
	for (int i = 0; i < 8; i++) {
		unsigned int g = (unsigned int)a[2 * i] << 8 | a[2 * i + 1];

		if (best >= 0 && i >= best && i < best + best_len) {
			if (i == best)
				*w++ = ':';
			continue;
		}
		if (i)
			*w++ = ':';
		if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && a[10] == 0xff &&
							       a[11] == 0xff)))
			return dns_fmt_ipv4(w, a + 12);
		w = fmt_hex16(w, g);
	}
	if (best >= 0 && best + best_len == 8)
		*w++ = ':';
	return w;
}

/* RRSIG times (RFC 4034 3.2) read as seconds since 1970, without the serial arithmetic
 * around "now" that would make the output depend on when it was parsed. */
char *dns_fmt_time(char *w, uint32_t t)
{
	/* days to civil date: H. Hinnant, "chrono-Compatible Low-Level Date Algorithms" */
	uint32_t z = t / 86400 + 719468, secs = t % 86400;
	uint32_t era = z / 146097, doe = z - era * 146097;
	uint32_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	uint32_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	uint32_t mp = (5 * doy + 2) / 153;
	uint32_t d = doy - (153 * mp + 2) / 5 + 1;
	uint32_t m = mp < 10 ? mp + 3 : mp - 9;
	uint32_t y = yoe + era * 400 + (m <= 2);

	w = fmt_2digits(w, y / 100);
	w = fmt_2digits(w, y % 100);
	w = fmt_2digits(w, m);
	w = fmt_2digits(w, d);
	w = fmt_2digits(w, secs / 3600);
	w = fmt_2digits(w, secs / 60 % 60);
	return fmt_2digits(w, secs % 60);
}

char *dns_fmt_base64(char *w, const uint8_t *b, size_t n)
{
	static const char a[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t i = 0;

	for (; n - i >= 3; i += 3) {
		uint32_t v = (uint32_t)b[i] << 16 | b[i + 1] << 8 | b[i + 2];

		*w++ = a[v >> 18];
		*w++ = a[v >> 12 & 63];
		*w++ = a[v >> 6 & 63];
		*w++ = a[v & 63];
	}
	if (i < n) {
		uint32_t v = (uint32_t)b[i] << 16 | (n - i > 1 ? b[i + 1] << 8 : 0);

		*w++ = a[v >> 18];
		*w++ = a[v >> 12 & 63];
		*w++ = n - i > 1 ? a[v >> 6 & 63] : '=';
		*w++ = '=';
	}
	return w;
}

/* RFC 4648 "Extended Hex" alphabet without padding, as NSEC3 presents hashes (RFC 5155 3.3) */
char *dns_fmt_base32hex(char *w, const uint8_t *b, size_t n)
{
	static const char a[] = "0123456789ABCDEFGHIJKLMNOPQRSTUV";
	uint32_t acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		acc = acc << 8 | b[i];
		bits += 8;
		while (bits >= 5) {
			bits -= 5;
			*w++ = a[acc >> bits & 31];
		}
	}
	if (bits)
		*w++ = a[acc << (5 - bits) & 31];
	return w;
}

/* ---- arena ---- */

struct chunk *dns_chunk_new(size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap);

	if (c) {
		c->next = NULL;
		c->cap = cap;
	}
	return c;
}

void dns_arena_reset(struct dns_parser *p)
{
	struct chunk *c = p->chunk->next;

	while (c) {
		struct chunk *next = c->next;

		free(c);
		c = next;
	}
	p->chunk->next = NULL;
	p->str = p->cur = p->chunk->data;
	p->lim = p->chunk->data + p->chunk->cap;
}

int dns_grow(struct dns_parser *p, size_t n)
{
	size_t partial = (size_t)(p->cur - p->str);
	size_t cap = p->chunk->cap * 2;
	struct chunk *c;

	if (cap < partial + n)
		cap = partial + n;
	c = dns_chunk_new(cap);
	if (!c)
		return -ENOMEM;
	memcpy(c->data, p->str, partial);
	c->next = p->chunk;
	p->chunk = c;
	p->str = c->data;
	p->cur = c->data + partial;
	p->lim = c->data + cap;
	return 0;
}

int dns_str_end(struct dns_parser *p, const char **s)
{
	int err = reserve(p, 1);

	if (err)
		return err;
	*p->cur++ = '\0';
	*s = p->str;
	return 0;
}

int dns_put_bytes(struct dns_parser *p, const char *s, size_t n)
{
	int err = reserve(p, n);

	if (!err) {
		memcpy(p->cur, s, n);
		p->cur += n;
	}
	return err;
}

int dns_put_str(struct dns_parser *p, const char *s)
{
	return dns_put_bytes(p, s, strlen(s));
}

/* " %u": most RDATA fields are space-separated numbers */
int dns_put_sp_u32(struct dns_parser *p, uint32_t v)
{
	int err = reserve(p, 11);

	if (!err) {
		*p->cur++ = ' ';
		p->cur = fmt_u32(p->cur, v);
	}
	return err;
}

int dns_put_hex(struct dns_parser *p, const uint8_t *b, size_t n, const char *digits)
{
	int err = reserve(p, 2 * n);

	if (!err)
		p->cur = fmt_hex(p->cur, b, n, digits);
	return err;
}

int dns_put_base64(struct dns_parser *p, const uint8_t *b, size_t n)
{
	int err = reserve(p, (n + 2) / 3 * 4);

	if (!err)
		p->cur = dns_fmt_base64(p->cur, b, n);
	return err;
}

int dns_put_ipv4(struct dns_parser *p, const uint8_t *a)
{
	int err = reserve(p, 15);

	if (!err)
		p->cur = dns_fmt_ipv4(p->cur, a);
	return err;
}

int dns_put_ipv6(struct dns_parser *p, const uint8_t *a)
{
	int err = reserve(p, INET6_ADDRSTRLEN);

	if (!err)
		p->cur = dns_fmt_ipv6(p->cur, a);
	return err;
}

int dns_put_quoted(struct dns_parser *p, const uint8_t *b, size_t n)
{
	int err = reserve(p, 4 * n + 2);

	if (!err) {
		*p->cur++ = '"';
		p->cur = fmt_escaped(p->cur, b, n, DDD_QUOTED, BS_QUOTED);
		*p->cur++ = '"';
	}
	return err;
}

int dns_put_type(struct dns_parser *p, uint16_t type)
{
	char buf[DNS_MNEMONIC_LEN];

	return dns_put_str(p, dns_type_str(type, buf));
}

/* ---- mnemonics ---- */

static const char *const type_names_low[] = {
	[1] = "A", [2] = "NS", [3] = "MD", [4] = "MF", [5] = "CNAME", [6] = "SOA", [7] = "MB",
	[8] = "MG", [9] = "MR", [10] = "NULL", [11] = "WKS", [12] = "PTR", [13] = "HINFO",
	[14] = "MINFO", [15] = "MX", [16] = "TXT", [17] = "RP", [18] = "AFSDB", [19] = "X25",
	[20] = "ISDN", [21] = "RT", [22] = "NSAP", [23] = "NSAP-PTR", [24] = "SIG", [25] = "KEY",
	[26] = "PX", [27] = "GPOS", [28] = "AAAA", [29] = "LOC", [30] = "NXT", [31] = "EID",
	[32] = "NIMLOC", [33] = "SRV", [34] = "ATMA", [35] = "NAPTR", [36] = "KX", [37] = "CERT",
	[38] = "A6", [39] = "DNAME", [40] = "SINK", [41] = "OPT", [42] = "APL", [43] = "DS",
	[44] = "SSHFP", [45] = "IPSECKEY", [46] = "RRSIG", [47] = "NSEC", [48] = "DNSKEY",
	[49] = "DHCID", [50] = "NSEC3", [51] = "NSEC3PARAM", [52] = "TLSA", [53] = "SMIMEA",
	[55] = "HIP", [56] = "NINFO", [57] = "RKEY", [58] = "TALINK", [59] = "CDS",
	[60] = "CDNSKEY", [61] = "OPENPGPKEY", [62] = "CSYNC", [63] = "ZONEMD", [64] = "SVCB",
	[65] = "HTTPS", [66] = "DSYNC", [67] = "HHIT", [68] = "BRID",
	[99] = "SPF", [100] = "UINFO", [101] = "UID", [102] = "GID", [103] = "UNSPEC",
	[104] = "NID", [105] = "L32", [106] = "L64", [107] = "LP", [108] = "EUI48",
	[109] = "EUI64", [128] = "NXNAME",
};

static const char *const type_names_249[] = {
	"TKEY", "TSIG", "IXFR", "AXFR", "MAILB", "MAILA", "ANY", "URI", "CAA", "AVC", "DOA",
	"AMTRELAY", "RESINFO", "WALLET", "CLA", "IPN",
};

/* prefix followed by the decimal value, in buf */
static const char *unknown_str(const char *prefix, uint32_t v, char *buf)
{
	size_t n = strlen(prefix);

	memcpy(buf, prefix, n);
	*fmt_u32(buf + n, v) = '\0';
	return buf;
}

const char *dns_type_str(uint16_t type, char *buf)
{
	const char *s = NULL;

	if (type < ARRAY_LEN(type_names_low))
		s = type_names_low[type];
	else if (type >= 249 && type - 249 < (int)ARRAY_LEN(type_names_249))
		s = type_names_249[type - 249];
	else if (type == 32768)
		s = "TA";
	else if (type == 32769)
		s = "DLV";
	return s ? s : unknown_str("TYPE", type, buf);
}

const char *dns_class_str(uint16_t rclass, char *buf)
{
	switch (rclass) {
	case 1:
		return "IN";
	case 3:
		return "CH";
	case 4:
		return "HS";
	case 254:
		return "NONE";
	case 255:
		return "ANY";
	default:
		return unknown_str("CLASS", rclass, buf);
	}
}

const char *dns_rcode_str(uint16_t rcode, char *buf)
{
	static const char *const names[] = {
		"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN", "NOTIMP", "REFUSED", "YXDOMAIN",
		"YXRRSET", "NXRRSET", "NOTAUTH", "NOTZONE", "DSOTYPENI", NULL, NULL, NULL, NULL,
		/* 16 is BADVERS in OPT and BADSIG in TSIG (RFC 6895 2.3); the OPT one is the
		 * one a parser without TSIG support sees */
		"BADVERS", "BADKEY", "BADTIME", "BADMODE", "BADNAME", "BADALG", "BADTRUNC",
		"BADCOOKIE",
	};

	if (rcode < ARRAY_LEN(names) && names[rcode])
		return names[rcode];
	return unknown_str("RCODE", rcode, buf);
}

const char *dns_opcode_str(uint8_t opcode, char *buf)
{
	static const char *const names[] = {
		"QUERY", "IQUERY", "STATUS", NULL, "NOTIFY", "UPDATE", "DSO",
	};

	if (opcode < ARRAY_LEN(names) && names[opcode])
		return names[opcode];
	return unknown_str("OPCODE", opcode, buf);
}
