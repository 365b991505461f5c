/* RDATA presentation, one table entry per type: the zone-file text that dig (BIND 9.18) prints
 * for the types of the IANA registry it decodes, RFC 3597 "\# length HEX" for the others.
 *
 * Most types are a row of fields, written here as a layout string with a letter per field
 * (see put_field); the text separates fields by one space. Types whose fields depend on each
 * other have a decoder of their own, here or in dns_rdata_ext.c. RDATA that does not fit its
 * type's layout, or leaves bytes over, is -EBADMSG: dns.c then shows it in RFC 3597 form.
 *
 * Names are decompressed wherever they appear. RFC 3597 4 allows compression only in the
 * RFC 1035 types and asks receivers to follow it in RP, AFSDB, RT, SIG, PX, NXT, NAPTR and SRV
 * too; following a pointer elsewhere still gives the name's right text, and every name is
 * bounded as owner names are.
 */
#include <limits.h>

#include "array.h"
#include "dns_int.h"

struct rdata_type {
	const char *layout; /* NULL when decode is set */
	int (*decode)(struct dns_parser *p, size_t *pos, size_t end);
	/* Its first names become dns_rr.target (and .rname): only the types dns.h lists. */
	bool typed_names;
};

/* A name, also remembered for the typed part of the record when the type has one */
static int rd_name(struct dns_parser *p, size_t *pos, size_t end)
{
	size_t off = (size_t)(p->cur - p->str); /* the string in progress may move */
	int err = dns_put_name(p, pos, true);

	if (!err && *pos > end)
		err = mismatch(p);
	if (!err && p->keep_rd_names && p->n_rd_names < ARRAY_LEN(p->rd_names))
		p->rd_names[p->n_rd_names++] =
			(struct span){ off, (size_t)(p->cur - p->str) - off - 1 };
	return err;
}

static int rd_a(struct dns_parser *p, size_t *pos, size_t end)
{
	if (!avail(*pos, end, 4))
		return mismatch(p);
	*pos += 4;
	return dns_put_ipv4(p, p->msg + *pos - 4);
}

static int rd_aaaa(struct dns_parser *p, size_t *pos, size_t end)
{
	if (!avail(*pos, end, 16))
		return mismatch(p);
	*pos += 16;
	return dns_put_ipv6(p, p->msg + *pos - 16);
}

/* One <character-string>: a length byte and that many bytes, quoted */
static int rd_string(struct dns_parser *p, size_t *pos, size_t end)
{
	size_t n;

	if (!avail(*pos, end, 1) || !avail(*pos + 1, end, p->msg[*pos]))
		return mismatch(p);
	n = p->msg[*pos];
	*pos += 1 + n;
	return dns_put_quoted(p, p->msg + *pos - n, n);
}

/* One to max character-strings up to the end: TXT and its kin, ISDN (address and an optional
 * subaddress, RFC 1183 3.2) */
static int rd_strings(struct dns_parser *p, size_t *pos, size_t end, unsigned int max)
{
	int err = rd_string(p, pos, end);

	for (unsigned int n = 1; !err && *pos < end && n < max; n++) {
		err = put_char(p, ' ');
		if (!err)
			err = rd_string(p, pos, end);
	}
	return err;
}

/* " n" for each bit set in b[0..n), bit 0 being the first byte's high bit, counting from
 * base: WKS ports, NXT types, the types of an NSEC window */
static int put_bit_numbers(struct dns_parser *p, const uint8_t *b, size_t n, unsigned int base,
			   bool as_types)
{
	int err = 0;

	for (size_t i = 0; !err && i < n * 8; i++) {
		if (!(b[i / 8] & 0x80 >> i % 8))
			continue;
		if (!as_types)
			err = dns_put_sp_u32(p, (uint32_t)i);
		else if (!(err = put_char(p, ' ')))
			err = dns_put_type(p, (uint16_t)(base + i));
	}
	return err;
}

/* RFC 4034 4.1.2 window blocks, each type as " MNEMONIC" */
static int rd_type_bitmap(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = 0;

	while (!err && *pos < end) {
		const uint8_t *b = p->msg + *pos;

		if (!avail(*pos, end, 2) || b[1] == 0 || b[1] > 32)
			return bad(p, "bad type bitmap");
		if (!avail(*pos + 2, end, b[1]))
			return mismatch(p);
		err = put_bit_numbers(p, b + 2, b[1], (unsigned int)b[0] << 8, true);
		*pos += 2 + b[1];
	}
	return err;
}

/* The layout letters. Fixed-size fields are checked against the RDATA end by put_field; the
 * "rest" fields take everything up to it. */
static int put_field(struct dns_parser *p, char f, size_t *pos, size_t end)
{
	static const uint8_t width[128] = { ['1'] = 1, ['2'] = 2, ['4'] = 4, ['t'] = 4,
					    ['T'] = 2, ['a'] = 4, ['e'] = 6, ['E'] = 8,
					    ['g'] = 8 };
	const uint8_t *b = p->msg + *pos;
	size_t rest = end - *pos;
	int err;

	if (!avail(*pos, end, width[(uint8_t)f]))
		return mismatch(p);
	*pos += width[(uint8_t)f];
	switch (f) {
	case '1': /* unsigned decimal of 1, 2, 4 bytes */
	case '2':
	case '4':
		err = reserve(p, 10);
		if (!err)
			p->cur = fmt_u32(p->cur, f == '1' ? *b : f == '2' ? get16(b) : get32(b));
		return err;
	case 'a': /* IPv4 address */
		return dns_put_ipv4(p, b);
	case 'A':
		return rd_aaaa(p, pos, end);
	case 'n':
		return rd_name(p, pos, end);
	case 's': /* one quoted character-string */
		return rd_string(p, pos, end);
	case 'S': /* one or more */
		return rd_strings(p, pos, end, UINT_MAX);
	case 'q': /* the rest as one quoted string (URI target) */
		*pos = end;
		return dns_put_quoted(p, b, rest);
	case 'x': /* the rest in hex, uppercase like dig; 'X' when it may not be empty */
	case 'X':
		*pos = end;
		return f == 'X' && !rest ? mismatch(p) : dns_put_hex(p, b, rest, dns_hex_upper);
	case 'b': /* the rest in base64; 'B' when it may not be empty */
	case 'B':
		*pos = end;
		return f == 'B' && !rest ? mismatch(p) : dns_put_base64(p, b, rest);
	case 't': /* RRSIG time */
		err = reserve(p, 14);
		if (!err)
			p->cur = dns_fmt_time(p->cur, get32(b));
		return err;
	case 'T': /* type mnemonic */
		return dns_put_type(p, get16(b));
	case 'm': /* NSEC type bitmap to the end; its types bring their own spaces */
		return rd_type_bitmap(p, pos, end);
	case 'h': /* NSEC3 salt: length byte, hex or "-" */
	case 'H': /* NSEC3 next hashed owner: length byte, base32hex */
		if (!rest || !avail(*pos + 1, end, *b))
			return mismatch(p);
		*pos += 1 + (size_t)*b;
		if (f == 'h')
			return *b ? dns_put_hex(p, b + 1, *b, dns_hex_upper) : put_char(p, '-');
		err = reserve(p, ((size_t)*b + 4) / 5 * 8);
		if (!err)
			p->cur = dns_fmt_base32hex(p->cur, b + 1, *b);
		return err;
	case 'e': /* EUI-48 and EUI-64 (RFC 7043): hex pairs joined by "-" */
	case 'E':
		err = reserve(p, 3 * 8);
		for (size_t i = 0; !err && i < width[(uint8_t)f]; i++) {
			if (i)
				*p->cur++ = '-';
			p->cur = fmt_hex(p->cur, b + i, 1, dns_hex_lower);
		}
		return err;
	case 'g': /* ILNP 64-bit locator (RFC 6742): four 16-bit groups, hex without zeros
		   * in front, as dig prints them */
		err = reserve(p, 4 * 5);
		for (size_t i = 0; !err && i < 8; i += 2) {
			if (i)
				*p->cur++ = ':';
			p->cur = fmt_hex16(p->cur, get16(b + i));
		}
		return err;
	default:
		return bad(p, "rdata layout"); /* a letter this switch lacks: a table bug */
	}
}

int dns_put_layout(struct dns_parser *p, const char *layout, size_t *pos, size_t end)
{
	int err = 0;

	for (const char *f = layout; !err && *f; f++) {
		/* rest-of-RDATA fields that may be empty print nothing, not even the space */
		if (*pos == end && (*f == 'x' || *f == 'b' || *f == 'm'))
			continue;
		if (f != layout && *f != 'm')
			err = put_char(p, ' ');
		if (!err)
			err = put_field(p, *f, pos, end);
	}
	return err;
}

static int rd_caa(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	size_t taglen;
	int err;

	if (!avail(*pos, end, 2) || !b[1] || !avail(*pos + 2, end, b[1]))
		return mismatch(p);
	taglen = b[1];
	err = reserve(p, 3 + 1 + 4 * taglen + 1);
	if (err)
		return err;
	p->cur = fmt_u32(p->cur, b[0]);
	*p->cur++ = ' ';
	p->cur = fmt_escaped(p->cur, b + 2, taglen, DDD_BARE, BS_LABEL);
	*p->cur++ = ' ';
	*pos += 2 + taglen;
	return put_field(p, 'q', pos, end);
}

/* RFC 1035 3.4.2: address, protocol number, then the port of each bit set */
static int rd_wks(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = dns_put_layout(p, "a1", pos, end);

	if (!err)
		err = put_bit_numbers(p, p->msg + *pos, end - *pos, 0, false);
	*pos = end;
	return err;
}

/* RFC 2535 5.2: next name, then a bitmap of the types below 128 */
static int rd_nxt(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = rd_name(p, pos, end);

	if (!err && end - *pos > 16)
		return bad(p, "bad type bitmap");
	if (!err)
		err = put_bit_numbers(p, p->msg + *pos, end - *pos, 0, true);
	*pos = end;
	return err;
}

static int rd_isdn(struct dns_parser *p, size_t *pos, size_t end)
{
	return rd_strings(p, pos, end, 2);
}

/* RFC 1706: "0x" and the NSAP in hex */
static int rd_nsap(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = end > *pos ? dns_put_str(p, "0x") : mismatch(p);

	if (!err)
		err = dns_put_hex(p, p->msg + *pos, end - *pos, dns_hex_lower);
	*pos = end;
	return err;
}

/* DSYNC (generalized NOTIFY, draft-ietf-dnsop-generalized-notify): the type it is for, the
 * notification scheme, port and target */
static int rd_dsync(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = dns_put_layout(p, "T", pos, end);

	if (!err && !avail(*pos, end, 1))
		err = mismatch(p);
	if (!err)
		err = p->msg[*pos] == 1 ? dns_put_str(p, " NOTIFY")
					: dns_put_sp_u32(p, p->msg[*pos]);
	if (!err) {
		*pos += 1;
		err = put_char(p, ' ');
	}
	return err ? err : dns_put_layout(p, "2n", pos, end);
}

#define LAYOUT(s) { .layout = s }
#define TYPED(s) { .layout = s, .typed_names = true }
#define DECODE(f) { .decode = f }

/* Types 1..127, by number */
static const struct rdata_type low_types[128] = {
	[1] = { .decode = rd_a },			/* A */
	[2] = TYPED("n"),				/* NS */
	[3] = LAYOUT("n"),				/* MD */
	[4] = LAYOUT("n"),				/* MF */
	[5] = TYPED("n"),				/* CNAME */
	[6] = TYPED("nn44444"),				/* SOA */
	[7] = LAYOUT("n"),				/* MB */
	[8] = LAYOUT("n"),				/* MG */
	[9] = LAYOUT("n"),				/* MR */
	[11] = DECODE(rd_wks),				/* WKS */
	[12] = TYPED("n"),				/* PTR */
	[13] = LAYOUT("ss"),				/* HINFO */
	[14] = LAYOUT("nn"),				/* MINFO */
	[15] = TYPED("2n"),				/* MX */
	[16] = LAYOUT("S"),				/* TXT */
	[17] = LAYOUT("nn"),				/* RP */
	[18] = LAYOUT("2n"),				/* AFSDB */
	[19] = LAYOUT("s"),				/* X25 */
	[20] = DECODE(rd_isdn),				/* ISDN */
	[21] = LAYOUT("2n"),				/* RT */
	[22] = DECODE(rd_nsap),				/* NSAP */
	[23] = LAYOUT("n"),				/* NSAP-PTR */
	[24] = LAYOUT("T114tt2nb"),			/* SIG */
	[25] = LAYOUT("211b"),				/* KEY */
	[26] = LAYOUT("2nn"),				/* PX */
	[27] = LAYOUT("sss"),				/* GPOS */
	[28] = { .decode = rd_aaaa },			/* AAAA */
	[29] = DECODE(dns_rd_loc),			/* LOC */
	[30] = DECODE(rd_nxt),				/* NXT */
	[31] = LAYOUT("X"),				/* EID */
	[32] = LAYOUT("X"),				/* NIMLOC */
	[33] = TYPED("222n"),				/* SRV */
	[34] = DECODE(dns_rd_atma),			/* ATMA */
	[35] = LAYOUT("22sssn"),			/* NAPTR */
	[36] = LAYOUT("2n"),				/* KX */
	[37] = DECODE(dns_rd_cert),			/* CERT */
	[38] = DECODE(dns_rd_a6),			/* A6 */
	[39] = TYPED("n"),				/* DNAME */
	[40] = LAYOUT("111b"),				/* SINK */
	[42] = DECODE(dns_rd_apl),			/* APL */
	[43] = LAYOUT("211X"),				/* DS */
	[44] = LAYOUT("11X"),				/* SSHFP */
	[45] = DECODE(dns_rd_ipseckey),			/* IPSECKEY */
	[46] = TYPED("T114tt2nb"),			/* RRSIG */
	[47] = TYPED("nm"),				/* NSEC */
	[48] = LAYOUT("211b"),				/* DNSKEY */
	[49] = LAYOUT("B"),				/* DHCID */
	[50] = LAYOUT("112hHm"),			/* NSEC3 */
	[51] = LAYOUT("112h"),				/* NSEC3PARAM */
	[52] = LAYOUT("111X"),				/* TLSA */
	[53] = LAYOUT("111X"),				/* SMIMEA */
	[55] = DECODE(dns_rd_hip),			/* HIP */
	[56] = LAYOUT("S"),				/* NINFO */
	[57] = LAYOUT("211b"),				/* RKEY */
	[58] = LAYOUT("nn"),				/* TALINK */
	[59] = LAYOUT("211X"),				/* CDS */
	[60] = LAYOUT("211b"),				/* CDNSKEY */
	[61] = LAYOUT("B"),				/* OPENPGPKEY */
	[62] = LAYOUT("42m"),				/* CSYNC */
	[63] = LAYOUT("411X"),				/* ZONEMD */
	[64] = { .decode = dns_rd_svcb, .typed_names = true }, /* SVCB */
	[65] = { .decode = dns_rd_svcb, .typed_names = true }, /* HTTPS */
	[66] = DECODE(rd_dsync),			/* DSYNC */
	[67] = LAYOUT("B"),				/* HHIT */
	[68] = LAYOUT("B"),				/* BRID */
	[99] = LAYOUT("S"),				/* SPF */
	[104] = LAYOUT("2g"),				/* NID */
	[105] = LAYOUT("2a"),				/* L32 */
	[106] = LAYOUT("2g"),				/* L64 */
	[107] = LAYOUT("2n"),				/* LP */
	[108] = LAYOUT("e"),				/* EUI48 */
	[109] = LAYOUT("E"),				/* EUI64 */
};

/* Types 256.. */
static const struct rdata_type high_types[] = {
	[256 - 256] = LAYOUT("22q"),			/* URI */
	[257 - 256] = DECODE(rd_caa),			/* CAA */
	[258 - 256] = LAYOUT("S"),			/* AVC */
	[259 - 256] = DECODE(dns_rd_doa),		/* DOA */
	[260 - 256] = DECODE(dns_rd_amtrelay),		/* AMTRELAY */
	[261 - 256] = LAYOUT("S"),			/* RESINFO */
	[262 - 256] = LAYOUT("S"),			/* WALLET */
};

/* TA and DLV, both shaped like DS */
static const struct rdata_type ds_like = LAYOUT("211X");

static const struct rdata_type *rdata_type(uint16_t type)
{
	const struct rdata_type *t = NULL;

	if (type < ARRAY_LEN(low_types))
		t = &low_types[type];
	else if (type >= 256 && type - 256 < (int)ARRAY_LEN(high_types))
		t = &high_types[type - 256];
	else if (type == 32768 || type == 32769)
		t = &ds_like;
	return t && (t->layout || t->decode) ? t : NULL;
}

int dns_put_generic(struct dns_parser *p, const uint8_t *b, size_t n)
{
	int err = dns_put_str(p, "\\#");

	if (!err)
		err = dns_put_sp_u32(p, (uint32_t)n);
	if (!err && n)
		err = put_char(p, ' ');
	return err ? err : dns_put_hex(p, b, n, dns_hex_upper);
}

int dns_put_rdata(struct dns_parser *p, uint16_t type, size_t *pos, size_t end)
{
	const struct rdata_type *t = rdata_type(type);
	size_t start = *pos;

	p->keep_rd_names = t && t->typed_names;
	if (!t) {
		*pos = end;
		return dns_put_generic(p, p->msg + start, end - start);
	}
	return t->decode ? t->decode(p, pos, end) : dns_put_layout(p, t->layout, pos, end);
}

void dns_rr_fixed(struct dns_rr *rr)
{
	const uint8_t *b = rr->rdata;

	switch (rr->type) {
	case 1: /* A */
	case 28: /* AAAA */
		rr->addr = b;
		rr->addr_len = (uint8_t)rr->rdlength;
		break;
	case 33: /* SRV */
		rr->weight = get16(b + 2);
		rr->port = get16(b + 4);
		/* fall through */
	case 15: /* MX */
	case 64: /* SVCB */
	case 65: /* HTTPS */
		rr->priority = get16(b);
		break;
	}
}
