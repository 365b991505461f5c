/* DNS message parser: RFC 1035 wire format and EDNS0 (RFC 6891) into presentation strings.
 *
 * Every read is checked against the message end. Output strings are written into an arena of
 * chunks owned by the parser: when a chunk is full only the string in progress moves to a new,
 * twice as large chunk, so strings already handed out never move. Retired chunks are freed at
 * the start of the next parse, which leaves one chunk big enough for what was seen so far:
 * steady state parsing allocates nothing.
 *
 * Typed names (dns_rr.target, .rname) are copies, in the same arena, of the names that RDATA
 * decoding wrote into data: decompressing once serves both.
 */
#include "dns.h"

#include <arpa/inet.h> /* INET6_ADDRSTRLEN */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "array.h"

/* Typical messages fit in these, so parsing them allocates nothing. */
#define ARENA_MIN 4096
#define RRS_MIN 16
#define OPTS_MIN 8
/* A legal name has at most 127 labels, so a compressor never needs more pointers than that;
 * the bound also caps the work a pointer chain can cause. */
#define MAX_HOPS 127
/* Smallest RR: root owner (1) + type, class, TTL, rdlength (10). */
#define MIN_RR_LEN 11

/* Recently decoded names; responses point back at the question name again and again. */
#define NAME_CACHE 8

struct chunk {
	struct chunk *next; /* older, retired chunks */
	size_t cap;
	char data[];
};

/* Where a name sits in the string being built, its trailing dot left out */
struct span {
	size_t off;
	size_t len;
};

/* A name decoded earlier in this message, found again through a compression pointer */
struct name_ref {
	size_t off; /* where its first label is */
	const char *text; /* presentation without the trailing dot, in the arena */
	uint16_t len;
	uint16_t wire; /* wire length, root label included */
	uint16_t hops;
};

struct dns_parser {
	const uint8_t *msg;
	size_t len;
	struct dns_msg *out;
	struct chunk *chunk;
	char *str; /* start of the string being built */
	char *cur; /* write position */
	char *lim; /* end of the current chunk */
	struct dns_rr *rrs;
	size_t rr_cap;
	size_t n_rrs;
	struct dns_edns_opt *opts;
	size_t opt_cap;
	struct name_ref names[NAME_CACHE];
	unsigned int n_names; /* how many were remembered; the oldest is replaced first */
	/* The names in the RDATA being decoded, in its data string; SOA has the most of the
	 * types decoded: two. They become dns_rr.target and .rname. */
	struct span rd_names[2];
	unsigned int n_rd_names;
};

/* Which bytes are escaped how; a context picks one \DDD bit and one backslash bit. */
enum {
	DDD_BARE = 1,    /* \DDD outside quotes: controls, space, non-ASCII */
	DDD_QUOTED = 2,  /* \DDD inside quotes: space stays as is */
	BS_LABEL = 4,    /* backslash in a name label (RFC 1035 5.1, RFC 4343) */
	BS_QUOTED = 8,   /* backslash inside a quoted character-string */
	BS_LIST = 16,    /* backslash in an unquoted SVCB value list (RFC 9460 A.1) */
};

static const uint8_t esc[256] = {
	[0x00 ... 0x1f] = DDD_BARE | DDD_QUOTED,
	[' '] = DDD_BARE,
	['"'] = BS_LABEL | BS_QUOTED | BS_LIST,
	['\\'] = BS_LABEL | BS_QUOTED | BS_LIST,
	['$'] = BS_LABEL | BS_LIST,
	['('] = BS_LABEL | BS_LIST,
	[')'] = BS_LABEL | BS_LIST,
	[';'] = BS_LABEL | BS_LIST,
	['@'] = BS_LABEL | BS_LIST,
	['.'] = BS_LABEL,
	[','] = BS_LIST,
	[0x7f ... 0xff] = DDD_BARE | DDD_QUOTED,
};

static const char hex_lower[] = "0123456789abcdef";
static const char hex_upper[] = "0123456789ABCDEF";

static inline uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int bad(struct dns_parser *p, const char *why)
{
	p->out->malformed = why;
	return -EBADMSG;
}

static int mismatch(struct dns_parser *p)
{
	return bad(p, "rdata length mismatch");
}

/* ---- raw formatters: write at w, which has room, and return the new end ---- */

static char *fmt_u32(char *w, uint32_t v)
{
	char tmp[10];
	int n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n)
		*w++ = tmp[--n];
	return w;
}

static char *fmt_2digits(char *w, unsigned int v)
{
	*w++ = (char)('0' + v / 10);
	*w++ = (char)('0' + v % 10);
	return w;
}

static char *fmt_ipv4(char *w, const uint8_t *a)
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
static char *fmt_ipv6(char *w, const uint8_t *a)
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
			return fmt_ipv4(w, a + 12);
		for (int shift = g >= 0x1000 ? 12 : g >= 0x100 ? 8 : g >= 0x10 ? 4 : 0; shift >= 0;
		     shift -= 4)
			*w++ = hex_lower[g >> shift & 15];
	}
	if (best >= 0 && best + best_len == 8)
		*w++ = ':';
	return w;
}

static char *fmt_hex(char *w, const uint8_t *b, size_t n, const char *digits)
{
	for (size_t i = 0; i < n; i++) {
		*w++ = digits[b[i] >> 4];
		*w++ = digits[b[i] & 15];
	}
	return w;
}

static char *fmt_escaped(char *w, const uint8_t *b, size_t n, uint8_t ddd, uint8_t bs)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i], e = esc[c];

		if (!(e & (ddd | bs))) {
			*w++ = (char)c;
		} else if (e & ddd) {
			*w++ = '\\';
			*w++ = (char)('0' + c / 100);
			w = fmt_2digits(w, c % 100);
		} else {
			*w++ = '\\';
			*w++ = (char)c;
		}
	}
	return w;
}

/* RRSIG times (RFC 4034 3.2) read as seconds since 1970, without the serial arithmetic
 * around "now" that would make the output depend on when it was parsed. */
static char *fmt_time(char *w, uint32_t t)
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

static char *fmt_base64(char *w, const uint8_t *b, size_t n)
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
static char *fmt_base32hex(char *w, const uint8_t *b, size_t n)
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

static struct chunk *chunk_new(size_t cap)
{
	struct chunk *c = malloc(sizeof(*c) + cap);

	if (c) {
		c->next = NULL;
		c->cap = cap;
	}
	return c;
}

static void arena_reset(struct dns_parser *p)
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

static int grow(struct dns_parser *p, size_t n)
{
	size_t partial = (size_t)(p->cur - p->str);
	size_t cap = p->chunk->cap * 2;
	struct chunk *c;

	if (cap < partial + n)
		cap = partial + n;
	c = chunk_new(cap);
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

/* Makes room for n more bytes of the string in progress. */
static inline int reserve(struct dns_parser *p, size_t n)
{
	if ((size_t)(p->lim - p->cur) >= n)
		return 0;
	return grow(p, n);
}

static inline void str_begin(struct dns_parser *p)
{
	p->str = p->cur;
}

static int str_end(struct dns_parser *p, const char **s)
{
	int err = reserve(p, 1);

	if (err)
		return err;
	*p->cur++ = '\0';
	*s = p->str;
	return 0;
}

static int put_char(struct dns_parser *p, char c)
{
	int err = reserve(p, 1);

	if (!err)
		*p->cur++ = c;
	return err;
}

static int put_bytes(struct dns_parser *p, const char *s, size_t n)
{
	int err = reserve(p, n);

	if (!err) {
		memcpy(p->cur, s, n);
		p->cur += n;
	}
	return err;
}

static int put_str(struct dns_parser *p, const char *s)
{
	return put_bytes(p, s, strlen(s));
}

/* " %u": most RDATA fields are space-separated numbers */
static int put_sp_u32(struct dns_parser *p, uint32_t v)
{
	int err = reserve(p, 11);

	if (!err) {
		*p->cur++ = ' ';
		p->cur = fmt_u32(p->cur, v);
	}
	return err;
}

static int put_hex(struct dns_parser *p, const uint8_t *b, size_t n, const char *digits)
{
	int err = reserve(p, 2 * n);

	if (!err)
		p->cur = fmt_hex(p->cur, b, n, digits);
	return err;
}

static int put_ipv4(struct dns_parser *p, const uint8_t *a)
{
	int err = reserve(p, 15);

	if (!err)
		p->cur = fmt_ipv4(p->cur, a);
	return err;
}

static int put_ipv6(struct dns_parser *p, const uint8_t *a)
{
	int err = reserve(p, INET6_ADDRSTRLEN);

	if (!err)
		p->cur = fmt_ipv6(p->cur, a);
	return err;
}

static int put_quoted(struct dns_parser *p, const uint8_t *b, size_t n)
{
	int err = reserve(p, 4 * n + 2);

	if (!err) {
		*p->cur++ = '"';
		p->cur = fmt_escaped(p->cur, b, n, DDD_QUOTED, BS_QUOTED);
		*p->cur++ = '"';
	}
	return err;
}

static int put_type(struct dns_parser *p, uint16_t type)
{
	char buf[DNS_MNEMONIC_LEN];

	return put_str(p, dns_type_str(type, buf));
}

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
static int put_name(struct dns_parser *p, size_t *pos, bool trailing_dot)
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
	err = put_name(p, pos, false);
	return err ? err : str_end(p, name);
}

/* ---- RDATA ---- */

static inline bool avail(size_t pos, size_t end, size_t n)
{
	return end - pos >= n;
}

/* A name, also remembered for the typed part of the record */
static int rd_name(struct dns_parser *p, size_t *pos, size_t end)
{
	size_t off = (size_t)(p->cur - p->str); /* the string in progress may move */
	int err = put_name(p, pos, true);

	if (!err && *pos > end)
		err = mismatch(p);
	if (!err && p->n_rd_names < ARRAY_LEN(p->rd_names))
		p->rd_names[p->n_rd_names++] =
			(struct span){ off, (size_t)(p->cur - p->str) - off - 1 };
	return err;
}

/* " name." for fields that follow others */
static int rd_sp_name(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = put_char(p, ' ');

	return err ? err : rd_name(p, pos, end);
}

/* Space-separated numbers from fixed fields; widths lists each field's size (1, 2 or 4)
 * and ends with 0. */
static int rd_numbers(struct dns_parser *p, size_t *pos, size_t end, const uint8_t *widths)
{
	for (const uint8_t *w = widths; *w; w++) {
		const uint8_t *b = p->msg + *pos;
		int err;

		if (!avail(*pos, end, *w))
			return mismatch(p);
		err = reserve(p, 11);
		if (err)
			return err;
		if (w != widths)
			*p->cur++ = ' ';
		p->cur = fmt_u32(p->cur, *w == 1 ? *b : *w == 2 ? get16(b) : get32(b));
		*pos += *w;
	}
	return 0;
}

/* Numbers, then a name: MX, SRV, SVCB */
static int rd_numbers_name(struct dns_parser *p, size_t *pos, size_t end,
			   const uint8_t *widths)
{
	int err = rd_numbers(p, pos, end, widths);

	return err ? err : rd_sp_name(p, pos, end);
}

static int rd_a(struct dns_parser *p, size_t *pos, size_t end)
{
	if (!avail(*pos, end, 4))
		return mismatch(p);
	*pos += 4;
	return put_ipv4(p, p->msg + *pos - 4);
}

static int rd_aaaa(struct dns_parser *p, size_t *pos, size_t end)
{
	if (!avail(*pos, end, 16))
		return mismatch(p);
	*pos += 16;
	return put_ipv6(p, p->msg + *pos - 16);
}

static int rd_soa(struct dns_parser *p, size_t *pos, size_t end)
{
	/* serial, refresh, retry, expire, minimum */
	static const uint8_t w[] = { 4, 4, 4, 4, 4, 0 };
	int err = rd_name(p, pos, end);

	if (!err)
		err = rd_sp_name(p, pos, end);
	if (!err)
		err = put_char(p, ' ');
	return err ? err : rd_numbers(p, pos, end, w);
}

static int rd_txt(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = 0;

	while (!err && *pos < end) {
		size_t n = p->msg[*pos];

		if (!avail(*pos + 1, end, n))
			return mismatch(p);
		if (p->cur > p->str)
			err = put_char(p, ' ');
		if (!err)
			err = put_quoted(p, p->msg + *pos + 1, n);
		*pos += 1 + n;
	}
	return err;
}

static int rd_caa(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	size_t taglen;
	int err;

	if (!avail(*pos, end, 2) || !avail(*pos + 2, end, b[1]))
		return mismatch(p);
	taglen = b[1];
	err = reserve(p, 3 + 1 + 4 * taglen + 1);
	if (err)
		return err;
	p->cur = fmt_u32(p->cur, b[0]);
	*p->cur++ = ' ';
	p->cur = fmt_escaped(p->cur, b + 2, taglen, DDD_BARE, BS_LABEL);
	*p->cur++ = ' ';
	err = put_quoted(p, b + 2 + taglen, end - *pos - 2 - taglen);
	*pos = end;
	return err;
}

/* " HEX" of what is left; nothing for nothing */
static int rd_sp_hex_rest(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = 0;

	if (*pos < end) {
		err = put_char(p, ' ');
		if (!err)
			err = put_hex(p, p->msg + *pos, end - *pos, hex_upper);
		*pos = end;
	}
	return err;
}

static int rd_sp_base64_rest(struct dns_parser *p, size_t *pos, size_t end)
{
	size_t n = end - *pos;
	int err = 0;

	if (n) {
		err = reserve(p, 1 + (n + 2) / 3 * 4);
		if (!err) {
			*p->cur++ = ' ';
			p->cur = fmt_base64(p->cur, p->msg + *pos, n);
		}
		*pos = end;
	}
	return err;
}

static int rd_rrsig(struct dns_parser *p, size_t *pos, size_t end)
{
	const uint8_t *b = p->msg + *pos;
	int err;

	if (!avail(*pos, end, 18))
		return mismatch(p);
	err = put_type(p, get16(b));
	/* algorithm, labels, original TTL, two times, key tag */
	if (!err)
		err = reserve(p, 4 + 4 + 11 + 2 * 15 + 6);
	if (err)
		return err;
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, b[2]);
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, b[3]);
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, get32(b + 4));
	*p->cur++ = ' ';
	p->cur = fmt_time(p->cur, get32(b + 8));
	*p->cur++ = ' ';
	p->cur = fmt_time(p->cur, get32(b + 12));
	*p->cur++ = ' ';
	p->cur = fmt_u32(p->cur, get16(b + 16));
	*pos += 18;
	err = rd_sp_name(p, pos, end);
	return err ? err : rd_sp_base64_rest(p, pos, end);
}

/* RFC 4034 4.1.2 window blocks, each type as " MNEMONIC" */
static int rd_type_bitmap(struct dns_parser *p, size_t *pos, size_t end)
{
	while (*pos < end) {
		const uint8_t *b = p->msg + *pos;
		int err;

		if (!avail(*pos, end, 2) || b[1] == 0 || b[1] > 32)
			return bad(p, "bad type bitmap");
		if (!avail(*pos + 2, end, b[1]))
			return mismatch(p);
		for (unsigned int i = 0; i < b[1] * 8u; i++) {
			if (!(b[2 + i / 8] & 0x80 >> i % 8))
				continue;
			err = put_char(p, ' ');
			if (!err)
				err = put_type(p, (uint16_t)(b[0] << 8 | i));
			if (err)
				return err;
		}
		*pos += 2 + b[1];
	}
	return 0;
}

/* NSEC3 and NSEC3PARAM start alike: algorithm, flags, iterations, salt (hex or "-") */
static int rd_nsec3param(struct dns_parser *p, size_t *pos, size_t end)
{
	static const uint8_t w[] = { 1, 1, 2, 0 };
	size_t n;
	int err = rd_numbers(p, pos, end, w);

	if (err)
		return err;
	if (!avail(*pos, end, 1) || !avail(*pos + 1, end, p->msg[*pos]))
		return mismatch(p);
	n = p->msg[(*pos)++];
	err = put_char(p, ' ');
	if (!err)
		err = n ? put_hex(p, p->msg + *pos, n, hex_upper) : put_char(p, '-');
	*pos += n;
	return err;
}

static int rd_nsec3(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = rd_nsec3param(p, pos, end);
	size_t n;

	if (err)
		return err;
	if (!avail(*pos, end, 1) || !avail(*pos + 1, end, p->msg[*pos]))
		return mismatch(p);
	n = p->msg[(*pos)++];
	err = reserve(p, 1 + (n + 4) / 5 * 8);
	if (err)
		return err;
	*p->cur++ = ' ';
	p->cur = fmt_base32hex(p->cur, p->msg + *pos, n);
	*pos += n;
	return rd_type_bitmap(p, pos, end);
}

/* RFC 3597 generic presentation: \# length hex */
static int rd_unknown(struct dns_parser *p, size_t *pos, size_t end)
{
	int err = put_str(p, "\\#");

	if (!err)
		err = put_sp_u32(p, (uint32_t)(end - *pos));
	return err ? err : rd_sp_hex_rest(p, pos, end);
}

/* ---- SVCB / HTTPS (RFC 9460) ---- */

enum {
	SVC_MANDATORY,
	SVC_ALPN,
	SVC_NO_DEFAULT_ALPN,
	SVC_PORT,
	SVC_IPV4HINT,
	SVC_ECH,
	SVC_IPV6HINT,
	SVC_DOHPATH, /* RFC 9461 */
	SVC_OHTTP,   /* RFC 9540 */
};

static const char *const svc_key_names[] = {
	"mandatory", "alpn", "no-default-alpn", "port", "ipv4hint", "ech", "ipv6hint",
	"dohpath", "ohttp",
};

static int put_svc_key(struct dns_parser *p, uint16_t key)
{
	int err;

	if (key < ARRAY_LEN(svc_key_names))
		return put_str(p, svc_key_names[key]);
	err = reserve(p, 3 + 5);
	if (!err) {
		memcpy(p->cur, "key", 3);
		p->cur = fmt_u32(p->cur + 3, key);
	}
	return err;
}

/* Comma-separated addresses of alen bytes each */
static int put_svc_hints(struct dns_parser *p, const uint8_t *b, size_t n, size_t alen)
{
	int err = 0;

	if (!n || n % alen)
		return bad(p, "bad SVCB parameter");
	for (size_t i = 0; !err && i < n; i += alen) {
		if (i)
			err = put_char(p, ',');
		if (!err)
			err = alen == 4 ? put_ipv4(p, b + i) : put_ipv6(p, b + i);
	}
	return err;
}

/* The value of one SvcParam (b[0..n) is in bounds), after the "=" its caller wrote when n > 0 */
static int put_svc_value(struct dns_parser *p, uint16_t key, const uint8_t *b, size_t n)
{
	int err = 0;

	switch (key) {
	case SVC_MANDATORY:
		if (!n || n % 2)
			return bad(p, "bad SVCB parameter");
		for (size_t i = 0; !err && i < n; i += 2) {
			if (i)
				err = put_char(p, ',');
			if (!err)
				err = put_svc_key(p, get16(b + i));
		}
		return err;
	case SVC_ALPN:
		if (!n)
			return bad(p, "bad SVCB parameter");
		/* unquoted value list: a comma inside an id comes out as "\," */
		for (size_t i = 0; !err && i < n; i += 1 + b[i]) {
			if (!b[i] || b[i] >= n - i)
				return bad(p, "bad SVCB parameter");
			err = reserve(p, 1 + 4 * (size_t)b[i]);
			if (err)
				return err;
			if (i)
				*p->cur++ = ',';
			p->cur = fmt_escaped(p->cur, b + i + 1, b[i], DDD_BARE, BS_LIST);
		}
		return err;
	case SVC_NO_DEFAULT_ALPN:
	case SVC_OHTTP:
		return n ? bad(p, "bad SVCB parameter") : 0;
	case SVC_PORT:
		if (n != 2)
			return bad(p, "bad SVCB parameter");
		err = reserve(p, 5);
		if (!err)
			p->cur = fmt_u32(p->cur, get16(b));
		return err;
	case SVC_IPV4HINT:
		return put_svc_hints(p, b, n, 4);
	case SVC_IPV6HINT:
		return put_svc_hints(p, b, n, 16);
	case SVC_ECH:
		err = reserve(p, (n + 2) / 3 * 4);
		if (!err)
			p->cur = fmt_base64(p->cur, b, n);
		return err;
	default:
		return n ? put_quoted(p, b, n) : 0;
	}
}

static int rd_svcb(struct dns_parser *p, size_t *pos, size_t end)
{
	static const uint8_t priority[] = { 2, 0 };
	int err = rd_numbers_name(p, pos, end, priority);

	while (!err && *pos < end) {
		const uint8_t *b = p->msg + *pos;
		uint16_t key, n;

		if (!avail(*pos, end, 4) || !avail(*pos + 4, end, get16(b + 2)))
			return mismatch(p);
		key = get16(b);
		n = get16(b + 2);
		err = put_char(p, ' ');
		if (!err)
			err = put_svc_key(p, key);
		if (!err && n)
			err = put_char(p, '=');
		if (!err)
			err = put_svc_value(p, key, b + 4, n);
		*pos += 4 + (size_t)n;
	}
	return err;
}

static int put_rdata(struct dns_parser *p, uint16_t type, size_t *pos, size_t end)
{
	static const uint8_t mx[] = { 2, 0 }, srv[] = { 2, 2, 2, 0 };
	/* DS: key tag, algorithm, digest type; DNSKEY: flags, protocol, algorithm */
	static const uint8_t key[] = { 2, 1, 1, 0 };

	switch (type) {
	case 1: /* A */
		return rd_a(p, pos, end);
	case 2: /* NS */
	case 5: /* CNAME */
	case 12: /* PTR */
	case 39: /* DNAME */
		return rd_name(p, pos, end);
	case 6: /* SOA */
		return rd_soa(p, pos, end);
	case 15: /* MX */
		return rd_numbers_name(p, pos, end, mx);
	case 16: /* TXT */
	case 99: /* SPF */
		return rd_txt(p, pos, end);
	case 28: /* AAAA */
		return rd_aaaa(p, pos, end);
	case 33: /* SRV */
		return rd_numbers_name(p, pos, end, srv);
	case 43: /* DS */
	case 59: /* CDS */
		return rd_numbers(p, pos, end, key) ?: rd_sp_hex_rest(p, pos, end);
	case 46: /* RRSIG */
		return rd_rrsig(p, pos, end);
	case 47: /* NSEC */
		return rd_name(p, pos, end) ?: rd_type_bitmap(p, pos, end);
	case 48: /* DNSKEY */
	case 60: /* CDNSKEY */
		return rd_numbers(p, pos, end, key) ?: rd_sp_base64_rest(p, pos, end);
	case 50: /* NSEC3 */
		return rd_nsec3(p, pos, end);
	case 51: /* NSEC3PARAM */
		return rd_nsec3param(p, pos, end);
	case 64: /* SVCB */
	case 65: /* HTTPS */
		return rd_svcb(p, pos, end);
	case 257: /* CAA */
		return rd_caa(p, pos, end);
	default:
		return rd_unknown(p, pos, end);
	}
}

/* The fixed fields put_rdata has validated, read from rr->rdata */
static void rr_fixed(struct dns_rr *rr)
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
		err = put_bytes(p, rr->data + s->off, s->len);
		if (!err)
			err = str_end(p, names[i]);
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
	err = alen == 4 ? put_ipv4(p, addr) : put_ipv6(p, addr);
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
		return put_hex(p, b, n, hex_lower);
	err = put_hex(p, b, 8, hex_lower);
	if (!err)
		err = put_char(p, ' ');
	return err ? err : put_hex(p, b + 8, n - 8, hex_lower);
}

static int put_edns_opt(struct dns_parser *p, uint16_t code, const uint8_t *b, size_t n)
{
	int err;

	switch (code) {
	case EDNS_ECS:
		err = put_ecs(p, b, n);
		return err == -EINVAL ? put_hex(p, b, n, hex_lower) : err;
	case EDNS_COOKIE:
		return put_cookie(p, b, n);
	case EDNS_PADDING:
		err = put_str(p, "len");
		return err ? err : put_sp_u32(p, (uint32_t)n);
	default:
		return put_hex(p, b, n, hex_lower);
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
			err = str_end(p, &o->data);
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
		p->n_rd_names = 0;
		str_begin(p);
		err = put_rdata(p, rr.type, pos, end);
		if (!err && *pos != end)
			err = mismatch(p);
		if (!err)
			err = str_end(p, &rr.data);
		if (!err)
			err = rr_names(p, &rr);
		if (!err)
			rr_fixed(&rr);
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
	arena_reset(p);
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
	return err;
}

void dns_parser_free(struct dns_parser *p)
{
	if (!p)
		return;
	if (p->chunk)
		arena_reset(p);
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
	p->chunk = chunk_new(ARENA_MIN);
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
	[65] = "HTTPS", [66] = "DSYNC",
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
