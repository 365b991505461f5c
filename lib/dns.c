/* DNS message parser: RFC 1035 wire format and EDNS0 (RFC 6891) into presentation strings.
 * This file walks the message: header, names, records, EDNS; dns_rdata.c presents each RDATA
 * and dns_fmt.c holds the text writers and the string arena.
 *
 * Every read is checked against the message end. A record whose RDATA breaks its type's layout
 * is listed in RFC 3597 form over its exact bytes and marks the message malformed, but the
 * records after it are still read: its rdlength frames it, whatever its contents.
 *
 * Typed names (dns_rr.target, .rname) are copies, in the same arena, of the names that RDATA
 * decoding wrote into data: decompressing once serves both.
 */
#include <stdlib.h>

#include "array.h"
#include "dns_int.h"

/* Typical messages fit in these, so parsing them allocates nothing. */
#define ARENA_MIN 4096
#define RRS_MIN 16
#define OPTS_MIN 8
/* A legal name has at most 127 labels, so a compressor never needs more pointers than that;
 * the bound also caps the work a pointer chain can cause. */
#define MAX_HOPS 127
/* Smallest RR: root owner (1) + type, class, TTL, rdlength (10). */
#define MIN_RR_LEN 11

/* ---- names ---- */

static const struct name_ref *name_lookup(const struct dns_parser *p, size_t off)
{
	unsigned int n = p->n_names < NAME_CACHE ? p->n_names : NAME_CACHE;

	for (unsigned int i = 0; i < n; i++) {
		if (p->names[i].off == off)
			return &p->names[i];
	}
	return NULL;
}

static void name_remember(struct dns_parser *p, size_t off, const char *text, size_t len,
			  unsigned int wire, unsigned int hops)
{
	struct name_ref *ref = &p->names[p->n_names++ % NAME_CACHE];

	*ref = (struct name_ref){ off, text, (uint16_t)len, (uint16_t)wire, (uint16_t)hops };
}

/* Appends the name at *pos and moves *pos past it. Pointers must point strictly before the
 * label run being read (RFC 9267 4), which rules out loops; hops are bounded anyway. */
int dns_put_name(struct dns_parser *p, size_t *pos, bool trailing_dot)
{
	const uint8_t *m = p->msg;
	size_t begin = *pos, at = begin, run = at, after = 0;
	size_t start = (size_t)(p->cur - p->str); /* the string in progress may move */
	unsigned int wire = 1, hops = 0; /* wire length counts the root label */
	bool jumped = false;
	int err;

	for (;;) {
		const struct name_ref *ref;
		uint8_t c;

		if (at >= p->len)
			return bad(p, "name not terminated");
		c = m[at];
		if (c == 0)
			break;
		if ((c & 0xc0) == 0xc0) {
			size_t target;

			if (p->len - at < 2)
				return bad(p, "truncated compression pointer");
			target = (size_t)(c & 0x3f) << 8 | m[at + 1];
			if (target >= p->len)
				return bad(p, "compression pointer beyond message");
			if (target > at)
				return bad(p, "forward compression pointer");
			if (target >= run)
				return bad(p, "name compression loop");
			if (!jumped)
				after = at + 2;
			jumped = true;
			ref = name_lookup(p, target);
			if (ref) {
				/* the same checks as decoding it again would make */
				wire += ref->wire - 1u;
				hops += 1u + ref->hops;
			} else {
				hops++;
			}
			if (hops > MAX_HOPS)
				return bad(p, "too many compression pointers");
			if (wire > DNS_MAX_NAME)
				return bad(p, "name too long");
			if (!ref) {
				at = run = target;
				continue;
			}
			err = reserve(p, ref->len + 1u);
			if (err)
				return err;
			memcpy(p->cur, ref->text, ref->len);
			p->cur += ref->len;
			*p->cur++ = '.';
			break;
		}
		if (c & 0xc0)
			return bad(p, c & 0x40 ? "label type 0x40" : "label type 0x80");
		if (c >= p->len - at)
			return bad(p, "label beyond message");
		wire += 1 + c;
		if (wire > DNS_MAX_NAME)
			return bad(p, "name too long");
		err = reserve(p, 4 * (size_t)c + 1);
		if (err)
			return err;
		p->cur = fmt_escaped(p->cur, m + at + 1, c, DDD_BARE, BS_LABEL);
		*p->cur++ = '.';
		at += 1 + c;
	}
	*pos = jumped ? after : at + 1;
	if (p->cur == p->str + start)
		return put_char(p, '.');
	if (!(m[begin] & 0xc0))
		name_remember(p, begin, p->str + start, (size_t)(p->cur - p->str) - start - 1, wire,
			      hops);
	if (!trailing_dot)
		p->cur--;
	return 0;
}

/* An owner name as its own string. The root and a pointer to a name already decoded as an
 * owner take no copy. */
static int get_owner(struct dns_parser *p, size_t *pos, const char **name)
{
	const uint8_t *b = p->msg + *pos;
	int err;

	if (*pos < p->len && b[0] == 0) {
		*name = "."; /* OPT's owner */
		*pos += 1;
		return 0;
	}
	if (p->len - *pos >= 2 && (b[0] & 0xc0) == 0xc0) {
		const struct name_ref *ref = name_lookup(p, (size_t)(b[0] & 0x3f) << 8 | b[1]);

		/* text[len] is the NUL of an owner string, a dot in RDATA */
		if (ref && ref->text[ref->len] == '\0' && ref->hops < MAX_HOPS) {
			*name = ref->text;
			*pos += 2;
			return 0;
		}
	}
	str_begin(p);
	err = dns_put_name(p, pos, false);
	return err ? err : dns_str_end(p, name);
}

/* The names put_rdata wrote into rr->data, again as strings of their own in owner form */
static int rr_names(struct dns_parser *p, struct dns_rr *rr)
{
	const char **names[ARRAY_LEN(p->rd_names)] = { &rr->target, &rr->rname };
	int err = 0;

	for (unsigned int i = 0; !err && i < p->n_rd_names; i++) {
		const struct span *s = &p->rd_names[i];

		if (!s->len) {
			*names[i] = "."; /* only its dot was written */
			continue;
		}
		str_begin(p);
		err = dns_put_bytes(p, rr->data + s->off, s->len);
		if (!err)
			err = dns_str_end(p, names[i]);
	}
	return err;
}

/* ---- EDNS ---- */

enum {
	EDNS_NSID = 3,
	EDNS_ECS = 8,
	EDNS_COOKIE = 10,
	EDNS_PADDING = 12,
};

static const char *edns_opt_name(uint16_t code)
{
	switch (code) {
	case EDNS_NSID:
		return "NSID";
	case EDNS_ECS:
		return "ECS";
	case EDNS_COOKIE:
		return "COOKIE";
	case EDNS_PADDING:
		return "PADDING";
	default:
		return NULL;
	}
}

/* RFC 7871 6 as "address/source/scope"; -EINVAL (nothing written) when malformed */
static int put_ecs(struct dns_parser *p, const uint8_t *b, size_t n)
{
	uint8_t addr[16] = { 0 };
	size_t alen;
	int err;

	if (n < 4)
		return -EINVAL;
	alen = get16(b) == 1 ? 4 : get16(b) == 2 ? 16 : 0;
	if (!alen || b[2] > alen * 8 || b[3] > alen * 8 || n - 4 != (b[2] + 7u) / 8)
		return -EINVAL;
	memcpy(addr, b + 4, n - 4);
	err = alen == 4 ? dns_put_ipv4(p, addr) : dns_put_ipv6(p, addr);
	if (!err)
		err = reserve(p, 8);
	if (!err) {
		*p->cur++ = '/';
		p->cur = fmt_u32(p->cur, b[2]);
		*p->cur++ = '/';
		p->cur = fmt_u32(p->cur, b[3]);
	}
	return err;
}

/* RFC 7873 4: client cookie (8 bytes), then the server cookie when present */
static int put_cookie(struct dns_parser *p, const uint8_t *b, size_t n)
{
	int err;

	if (n <= 8)
		return dns_put_hex(p, b, n, dns_hex_lower);
	err = dns_put_hex(p, b, 8, dns_hex_lower);
	if (!err)
		err = put_char(p, ' ');
	return err ? err : dns_put_hex(p, b + 8, n - 8, dns_hex_lower);
}

static int put_edns_opt(struct dns_parser *p, uint16_t code, const uint8_t *b, size_t n)
{
	int err;

	switch (code) {
	case EDNS_ECS:
		err = put_ecs(p, b, n);
		return err == -EINVAL ? dns_put_hex(p, b, n, dns_hex_lower) : err;
	case EDNS_COOKIE:
		return put_cookie(p, b, n);
	case EDNS_PADDING:
		err = dns_put_str(p, "len");
		return err ? err : dns_put_sp_u32(p, (uint32_t)n);
	default:
		return dns_put_hex(p, b, n, dns_hex_lower);
	}
}

static int parse_opt(struct dns_parser *p, uint16_t rclass, uint32_t ttl, size_t pos, size_t end)
{
	struct dns_edns *e = &p->out->edns;
	size_t cap = (end - pos) / 4; /* an option takes at least 4 bytes */

	if (cap > p->opt_cap) {
		struct dns_edns_opt *o = realloc(p->opts, cap * sizeof(*o));

		if (!o)
			return -ENOMEM;
		p->opts = o;
		p->opt_cap = cap;
	}
	e->present = true;
	e->udp_size = rclass;
	e->ext_rcode_hi = (uint8_t)(ttl >> 24);
	e->version = (uint8_t)(ttl >> 16);
	e->do_bit = ttl & 0x8000;
	e->opts = p->opts;
	p->out->rcode |= (uint16_t)(e->ext_rcode_hi << 4);

	while (pos < end) {
		const uint8_t *b = p->msg + pos;
		struct dns_edns_opt *o;
		int err;

		if (!avail(pos, end, 4) || !avail(pos + 4, end, get16(b + 2)))
			return bad(p, "truncated EDNS option");
		o = &p->opts[e->n_opts];
		o->code = get16(b);
		o->name = edns_opt_name(o->code);
		str_begin(p);
		err = put_edns_opt(p, o->code, b + 4, get16(b + 2));
		if (!err)
			err = dns_str_end(p, &o->data);
		if (err)
			return err;
		e->n_opts++;
		pos += 4 + (size_t)get16(b + 2);
	}
	return 0;
}

/* ---- message ---- */

static int parse_question(struct dns_parser *p, size_t *pos, bool first)
{
	struct dns_msg *out = p->out;
	const char *name;
	int err;

	if (*pos == p->len)
		return bad(p, "count beyond message");
	err = get_owner(p, pos, &name);
	if (err)
		return err;
	if (p->len - *pos < 4)
		return bad(p, "truncated question");
	if (first) {
		out->has_question = true;
		out->qname = name;
		out->qtype = get16(p->msg + *pos);
		out->qclass = get16(p->msg + *pos + 2);
	}
	*pos += 4;
	return 0;
}

/* Drops the names remembered since the cache held `since`: their text was in a string that
 * is being written over. */
static void forget_names_since(struct dns_parser *p, unsigned int since)
{
	for (unsigned int i = since; i != p->n_names && i - since < NAME_CACHE; i++)
		p->names[i % NAME_CACHE].off = SIZE_MAX;
}

/* rr's data from the RDATA at [pos, end). RDATA that breaks its type's layout comes out in
 * RFC 3597 form over its exact bytes, with no typed fields, and the message is marked
 * malformed: nothing that was not decoded is shown as if it were. */
static int parse_rdata(struct dns_parser *p, struct dns_rr *rr, size_t pos, size_t end)
{
	unsigned int names_before = p->n_names;
	int err;

	p->n_rd_names = 0;
	str_begin(p);
	err = dns_put_rdata(p, rr->type, &pos, end);
	if (!err && pos != end)
		err = mismatch(p);
	if (err == -EBADMSG) {
		forget_names_since(p, names_before);
		p->n_rd_names = 0;
		p->cur = p->str;
		err = dns_put_generic(p, rr->rdata, rr->rdlength);
	} else if (!err) {
		dns_rr_fixed(rr);
	}
	return err ? err : dns_str_end(p, &rr->data);
}

static int parse_rr(struct dns_parser *p, size_t *pos, struct dns_section *sec, bool additional)
{
	struct dns_rr rr = { 0 };
	size_t end;
	uint16_t rdlen;
	int err;

	if (*pos == p->len)
		return bad(p, "count beyond message");
	err = get_owner(p, pos, &rr.name);
	if (err)
		return err;
	if (p->len - *pos < 10)
		return bad(p, "truncated record");
	rr.type = get16(p->msg + *pos);
	rr.rclass = get16(p->msg + *pos + 2);
	rr.ttl = get32(p->msg + *pos + 4);
	rdlen = get16(p->msg + *pos + 8);
	*pos += 10;
	if (rdlen > p->len - *pos)
		return bad(p, "rdlength beyond message");
	end = *pos + rdlen;
	rr.rdata = p->msg + *pos;
	rr.rdlength = rdlen;

	if (rr.type == DNS_TYPE_OPT) {
		if (!additional)
			return bad(p, "OPT outside additional section");
		if (strcmp(rr.name, "."))
			return bad(p, "OPT owner not root");
		if (p->out->edns.present)
			return bad(p, "multiple OPT records");
		err = parse_opt(p, rr.rclass, rr.ttl, *pos, end);
	} else {
		err = parse_rdata(p, &rr, *pos, end);
		if (!err)
			err = rr_names(p, &rr);
		/* rr_cap holds every RR the message has room for; the check only guards the
		 * array should that reasoning ever break */
		if (!err && p->n_rrs == p->rr_cap)
			err = bad(p, "count beyond message");
		if (!err) {
			p->rrs[p->n_rrs++] = rr;
			sec->n++;
		}
	}
	*pos = end;
	return err;
}

static int parse_section(struct dns_parser *p, size_t *pos, struct dns_section *sec,
			 uint16_t count, bool additional)
{
	sec->rrs = p->rrs + p->n_rrs;
	for (unsigned int i = 0; i < count; i++) {
		int err = parse_rr(p, pos, sec, additional);

		if (err)
			return err;
	}
	return 0;
}

/* Sizes the RR array once per message, before any pointer into it is handed out. */
static int rrs_reserve(struct dns_parser *p)
{
	const struct dns_msg *out = p->out;
	size_t n = (size_t)out->ancount + out->nscount + out->arcount;
	size_t fit = (p->len - DNS_HEADER_LEN) / MIN_RR_LEN;
	struct dns_rr *rrs;

	if (n > fit)
		n = fit;
	if (n <= p->rr_cap)
		return 0;
	rrs = realloc(p->rrs, n * sizeof(*rrs));
	if (!rrs)
		return -ENOMEM;
	p->rrs = rrs;
	p->rr_cap = n;
	return 0;
}

int dns_parse(struct dns_parser *p, const uint8_t *msg, size_t len, struct dns_msg *out)
{
	uint16_t flags;
	size_t pos = DNS_HEADER_LEN;
	int err;

	memset(out, 0, sizeof(*out));
	out->size = len;
	p->msg = msg;
	p->len = len;
	p->out = out;
	p->n_rrs = 0;
	p->n_names = 0;
	dns_arena_reset(p);
	if (len < DNS_HEADER_LEN)
		return bad(p, "truncated header");

	out->id = get16(msg);
	flags = get16(msg + 2);
	out->qr = flags >> 15;
	out->opcode = flags >> 11 & 15;
	out->rcode = flags & 15;
	out->flags = (flags & 0x0400 ? DNS_FLAG_AA : 0) | (flags & 0x0200 ? DNS_FLAG_TC : 0) |
		     (flags & 0x0100 ? DNS_FLAG_RD : 0) | (flags & 0x0080 ? DNS_FLAG_RA : 0) |
		     (flags & 0x0020 ? DNS_FLAG_AD : 0) | (flags & 0x0010 ? DNS_FLAG_CD : 0);
	out->qdcount = get16(msg + 4);
	out->ancount = get16(msg + 6);
	out->nscount = get16(msg + 8);
	out->arcount = get16(msg + 10);

	err = rrs_reserve(p);
	for (unsigned int i = 0; !err && i < out->qdcount; i++)
		err = parse_question(p, &pos, i == 0);
	if (!err)
		err = parse_section(p, &pos, &out->an, out->ancount, false);
	if (!err)
		err = parse_section(p, &pos, &out->ns, out->nscount, false);
	if (!err)
		err = parse_section(p, &pos, &out->ar, out->arcount, true);
	if (!err && pos != len)
		err = bad(p, "trailing data");
	/* a record with broken RDATA was listed and parsing went on */
	return !err && out->malformed ? -EBADMSG : err;
}

void dns_parser_free(struct dns_parser *p)
{
	if (!p)
		return;
	if (p->chunk)
		dns_arena_reset(p);
	free(p->chunk);
	free(p->rrs);
	free(p->opts);
	free(p);
}

struct dns_parser *dns_parser_new(void)
{
	struct dns_parser *p = calloc(1, sizeof(*p));

	if (!p)
		return NULL;
	p->chunk = dns_chunk_new(ARENA_MIN);
	p->rr_cap = RRS_MIN;
	p->rrs = calloc(p->rr_cap, sizeof(*p->rrs));
	p->opt_cap = OPTS_MIN;
	p->opts = calloc(p->opt_cap, sizeof(*p->opts));
	if (!p->chunk || !p->rrs || !p->opts) {
		dns_parser_free(p);
		return NULL;
	}
	return p;
}
