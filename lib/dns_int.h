/* What the DNS parser's files share (dns.c walks the message, dns_rdata.c presents RDATA,
 * dns_fmt.c writes text): the parser state, its string arena and the text writers. Not for
 * the parser's users: they include dns.h. */
#ifndef DNSVIGIL_DNS_INT_H
#define DNSVIGIL_DNS_INT_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "dns.h"

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
	size_t off; /* where its first label is; SIZE_MAX for a slot no longer valid */
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
	/* The names in the RDATA being decoded that become dns_rr.target and .rname, in its
	 * data string (SOA has the most: two); only for the types whose table entry says so. */
	struct span rd_names[2];
	unsigned int n_rd_names;
	bool keep_rd_names;
};

/* Which bytes are escaped how; a context picks one \DDD bit and one backslash bit. */
enum {
	DDD_BARE = 1,    /* \DDD outside quotes: controls, space, non-ASCII */
	DDD_QUOTED = 2,  /* \DDD inside quotes: space stays as is */
	BS_LABEL = 4,    /* backslash in a name label (RFC 1035 5.1, RFC 4343) */
	BS_QUOTED = 8,   /* backslash inside a quoted character-string */
};

extern const uint8_t dns_esc[256];
extern const char dns_hex_lower[], dns_hex_upper[];

static inline uint16_t get16(const uint8_t *b)
{
	return (uint16_t)(b[0] << 8 | b[1]);
}

static inline uint32_t get32(const uint8_t *b)
{
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

/* n bytes from pos still inside [.., end) */
static inline bool avail(size_t pos, size_t end, size_t n)
{
	return end - pos >= n;
}

/* Records why the message is malformed; the first reason stays. */
static inline int bad(struct dns_parser *p, const char *why)
{
	if (!p->out->malformed)
		p->out->malformed = why;
	return -EBADMSG;
}

static inline int mismatch(struct dns_parser *p)
{
	return bad(p, "rdata length mismatch");
}

/* ---- raw writers: write at w, which has room, and return the new end ---- */

static inline char *fmt_u32(char *w, uint32_t v)
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

static inline char *fmt_2digits(char *w, unsigned int v)
{
	*w++ = (char)('0' + v / 10);
	*w++ = (char)('0' + v % 10);
	return w;
}

/* Inline: the name loop calls it once per label. */
static inline char *fmt_escaped(char *w, const uint8_t *b, size_t n, uint8_t ddd, uint8_t bs)
{
	for (size_t i = 0; i < n; i++) {
		uint8_t c = b[i], e = dns_esc[c];

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

static inline char *fmt_hex(char *w, const uint8_t *b, size_t n, const char *digits)
{
	for (size_t i = 0; i < n; i++) {
		*w++ = digits[b[i] >> 4];
		*w++ = digits[b[i] & 15];
	}
	return w;
}

/* A 16-bit group in lowercase hex without zeros in front, as IPv6 and ILNP locators show it */
static inline char *fmt_hex16(char *w, unsigned int v)
{
	for (int shift = v >= 0x1000 ? 12 : v >= 0x100 ? 8 : v >= 0x10 ? 4 : 0; shift >= 0;
	     shift -= 4)
		*w++ = dns_hex_lower[v >> shift & 15];
	return w;
}

char *dns_fmt_ipv4(char *w, const uint8_t *a);
char *dns_fmt_ipv6(char *w, const uint8_t *a);
char *dns_fmt_time(char *w, uint32_t t);
char *dns_fmt_base64(char *w, const uint8_t *b, size_t n);
char *dns_fmt_base32hex(char *w, const uint8_t *b, size_t n);

/* ---- the arena: strings are built at p->cur and ended with dns_str_end ---- */

struct chunk *dns_chunk_new(size_t cap);
void dns_arena_reset(struct dns_parser *p);
int dns_grow(struct dns_parser *p, size_t n);

/* Makes room for n more bytes of the string in progress. */
static inline int reserve(struct dns_parser *p, size_t n)
{
	if ((size_t)(p->lim - p->cur) >= n)
		return 0;
	return dns_grow(p, n);
}

static inline void str_begin(struct dns_parser *p)
{
	p->str = p->cur;
}

static inline int put_char(struct dns_parser *p, char c)
{
	int err = reserve(p, 1);

	if (!err)
		*p->cur++ = c;
	return err;
}

int dns_str_end(struct dns_parser *p, const char **s);
int dns_put_bytes(struct dns_parser *p, const char *s, size_t n);
int dns_put_str(struct dns_parser *p, const char *s);
int dns_put_sp_u32(struct dns_parser *p, uint32_t v); /* " %u" */
int dns_put_hex(struct dns_parser *p, const uint8_t *b, size_t n, const char *digits);
int dns_put_base64(struct dns_parser *p, const uint8_t *b, size_t n);
int dns_put_ipv4(struct dns_parser *p, const uint8_t *a);
int dns_put_ipv6(struct dns_parser *p, const uint8_t *a);
int dns_put_quoted(struct dns_parser *p, const uint8_t *b, size_t n);
int dns_put_type(struct dns_parser *p, uint16_t type);

/* Appends the name at *pos, decompressed, and moves *pos past it (dns.c). */
int dns_put_name(struct dns_parser *p, size_t *pos, bool trailing_dot);

/* Appends the presentation of the RDATA at [*pos, end) of a record of this type and moves *pos
 * to end; -EBADMSG (with out->malformed) when it breaks the type's layout (dns_rdata.c). */
int dns_put_rdata(struct dns_parser *p, uint16_t type, size_t *pos, size_t end);
/* RFC 3597 generic form of those bytes: "\# length HEX" */
int dns_put_generic(struct dns_parser *p, const uint8_t *b, size_t n);
/* The fields of a layout string (dns_rdata.c's table) at [*pos, end), space-separated */
int dns_put_layout(struct dns_parser *p, const char *layout, size_t *pos, size_t end);
/* Decoders of the types whose fields depend on each other (dns_rdata_ext.c) */
int dns_rd_loc(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_atma(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_cert(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_a6(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_apl(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_ipseckey(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_hip(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_doa(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_amtrelay(struct dns_parser *p, size_t *pos, size_t end);
int dns_rd_svcb(struct dns_parser *p, size_t *pos, size_t end);
/* Sets the fixed typed fields of a record whose RDATA dns_put_rdata decoded. */
void dns_rr_fixed(struct dns_rr *rr);

#endif
