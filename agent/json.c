#include "json.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool reserve(struct jbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
	if (b->len + n <= b->cap)
		return true;
	cap = b->cap ? b->cap : 4096;
	while (cap < b->len + n)
		cap *= 2;
	p = realloc(b->p, cap);
	if (!p) {
		b->failed = true;
		return false;
	}
	b->p = p;
	b->cap = cap;
	return true;
}

void jbuf_free(struct jbuf *b)
{
	free(b->p);
	*b = (struct jbuf){ 0 };
}

void jbuf_reset(struct jbuf *b)
{
	b->len = 0;
	b->failed = false;
}

void jbuf_raw(struct jbuf *b, const char *s, size_t n)
{
	if (!reserve(b, n))
		return;
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

void jbuf_lit(struct jbuf *b, const char *s)
{
	jbuf_raw(b, s, strlen(s));
}

void jbuf_u64(struct jbuf *b, uint64_t v)
{
	char tmp[20];
	int n = 0;

	do {
		tmp[n++] = '0' + v % 10;
		v /= 10;
	} while (v);
	if (!reserve(b, n))
		return;
	while (n)
		b->p[b->len++] = tmp[--n];
}

void jbuf_i64(struct jbuf *b, int64_t v)
{
	if (v < 0) {
		jbuf_raw(b, "-", 1);
		jbuf_u64(b, -(uint64_t)v);
	} else {
		jbuf_u64(b, v);
	}
}

void jbuf_str(struct jbuf *b, const char *s)
{
	static const char hex[] = "0123456789abcdef";

	if (!s) {
		jbuf_raw(b, "null", 4);
		return;
	}
	/* Worst case every byte becomes \u00XX. */
	if (!reserve(b, strlen(s) * 6 + 2))
		return;
	b->p[b->len++] = '"';
	for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
		if (*c == '"' || *c == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = *c;
		} else if (*c < 0x20 || *c >= 0x7f) {
			/* Bytes from the wire are not trusted to be UTF-8. */
			memcpy(b->p + b->len, "\\u00", 4);
			b->len += 4;
			b->p[b->len++] = hex[*c >> 4];
			b->p[b->len++] = hex[*c & 15];
		} else {
			b->p[b->len++] = *c;
		}
	}
	b->p[b->len++] = '"';
}

void jbuf_hex(struct jbuf *b, const uint8_t *data, size_t n)
{
	static const char hex[] = "0123456789abcdef";

	if (!reserve(b, n * 2 + 2))
		return;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		b->p[b->len++] = hex[data[i] >> 4];
		b->p[b->len++] = hex[data[i] & 15];
	}
	b->p[b->len++] = '"';
}

void jbuf_key(struct jbuf *b, const char *key, bool first)
{
	if (!first)
		jbuf_raw(b, ",", 1);
	jbuf_raw(b, "\"", 1);
	jbuf_lit(b, key);
	jbuf_raw(b, "\":", 2);
}

void jbuf_time(struct jbuf *b, uint64_t realtime_ns)
{
	time_t secs = realtime_ns / 1000000000ull;
	char tmp[48];
	struct tm tm;
	size_t n;

	gmtime_r(&secs, &tm);
	n = strftime(tmp, sizeof(tmp), "\"%Y-%m-%dT%H:%M:%S.", &tm);
	jbuf_raw(b, tmp, n);
	for (uint64_t div = 100000000, frac = realtime_ns % 1000000000ull; div; div /= 10) {
		char digit = '0' + (frac / div) % 10;

		jbuf_raw(b, &digit, 1);
	}
	jbuf_raw(b, "Z\"", 2);
}

void jbuf_ip(struct jbuf *b, int family, const uint8_t addr[16])
{
	char tmp[INET6_ADDRSTRLEN + 2];

	if (!inet_ntop(family == 6 ? AF_INET6 : AF_INET, addr, tmp + 1, INET6_ADDRSTRLEN)) {
		jbuf_raw(b, "null", 4);
		return;
	}
	tmp[0] = '"';
	jbuf_raw(b, tmp, strlen(tmp));
	jbuf_raw(b, "\"", 1);
}
