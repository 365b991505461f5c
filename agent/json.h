/* A growable text buffer with the few JSON writers the sinks need. Allocation failures are
 * sticky: check jbuf.failed once after rendering. */
#ifndef DNSVIGIL_JSON_H
#define DNSVIGIL_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct jbuf {
	char *p;
	size_t len;
	size_t cap;
	bool failed;
};

void jbuf_free(struct jbuf *b);
void jbuf_reset(struct jbuf *b);
void jbuf_raw(struct jbuf *b, const char *s, size_t n);
void jbuf_lit(struct jbuf *b, const char *s); /* unescaped literal text */
void jbuf_u64(struct jbuf *b, uint64_t v);
void jbuf_i64(struct jbuf *b, int64_t v);
/* A JSON string with escapes, or null when s is NULL. */
void jbuf_str(struct jbuf *b, const char *s);
void jbuf_hex(struct jbuf *b, const uint8_t *data, size_t n); /* "0a1b..." */
/* "key": with a leading comma unless first */
void jbuf_key(struct jbuf *b, const char *key, bool first);
/* RFC 3339 UTC with nanoseconds, quoted */
void jbuf_time(struct jbuf *b, uint64_t realtime_ns);
/* an address of family 4 or 6, quoted */
void jbuf_ip(struct jbuf *b, int family, const uint8_t addr[16]);

#endif
