/* A growable text buffer with the few JSON writers the sinks need. Allocation failures are
 * sticky: check jbuf.failed once after rendering. The small writers are inline so that the
 * lengths of literal keys fold to constants: rendering is the agent's hottest path. */
#ifndef DNSVIGIL_JSON_H
#define DNSVIGIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

struct jbuf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

/* Makes room for n more bytes; false (and failed set) when memory runs out. */
bool jbuf_grow(struct jbuf *b, size_t n);

static inline bool jbuf_reserve(struct jbuf *b, size_t n)
{
	return b->len + n <= b->cap ? !b->failed : jbuf_grow(b, n);
}

static inline void jbuf_raw(struct jbuf *b, const char *s, size_t n)
{
	if (!jbuf_reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* Unescaped text, typically a literal. */
static inline void jbuf_lit(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

/* "key": with a leading comma unless first */
static inline void jbuf_key(struct jbuf *b, const char *key, bool first)
{
	size_t n = strlen(key);

	if (!jbuf_reserve(b, n + 4))
		return;
	if (!first)
		b->p[b->len++] = ',';
	b->p[b->len++] = '"';
	memcpy(b->p + b->len, key, n);
	b->len += n;
	b->p[b->len++] = '"';
	b->p[b->len++] = ':';
}

void jbuf_free(struct jbuf *b);
void jbuf_reset(struct jbuf *b);
void jbuf_u64(struct jbuf *b, uint64_t v);
void jbuf_i64(struct jbuf *b, int64_t v);
/* A JSON string with escapes, or null when s is NULL. */
void jbuf_str(struct jbuf *b, const char *s);
/* s quoted as is, or null when s is NULL: for text that never needs an escape (mnemonics,
 * fixed names), which then skips jbuf_str's scan; beyond JBUF_PLAIN_MAX bytes it is
 * written by jbuf_str. */
#define JBUF_PLAIN_MAX 32
void jbuf_plain_str(struct jbuf *b, const char *s);
void jbuf_hex(struct jbuf *b, const uint8_t *data, size_t n); /* "0a1b..." */
/* RFC 3339 UTC with nanoseconds, quoted */
void jbuf_time(struct jbuf *b, uint64_t realtime_ns);
/* an address of family 4 or 6, quoted */
void jbuf_ip(struct jbuf *b, int family, const uint8_t addr[16]);

#endif
