#include "json.h"

#include <arpa/inet.h>
#include <stdlib.h>
#include <time.h>

static const char hex_digits[] = "0123456789abcdef";

bool jbuf_grow(struct jbuf *b, size_t n)
{
	size_t cap;
	char *p;

	if (b->failed)
		return false;
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

/* "00" to "99": two digits per division, half the divisions of one digit at a time. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

/* Decimal digits of v at the end of tmp[20]; returns where they start. */
static char *format_u64(char tmp[20], uint64_t v)
{
	char *p = tmp + 20;

	while (v >= 100) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * (v % 100), 2);
		v /= 100;
	}
	if (v >= 10) {
		p -= 2;
		memcpy(p, digit_pairs + 2 * v, 2);
	} else {
		*--p = '0' + v;
	}
	return p;
}

void jbuf_u64(struct jbuf *b, uint64_t v)
{
	char tmp[20];
	char *start = format_u64(tmp, v);

	jbuf_raw(b, start, tmp + 20 - start);
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

/* Whether none of 8 bytes needs an escape (< 0x20, '"', '\\', 0x7f and up), a word at a
 * time: each test sets a byte's top bit when the byte is one of its kind (the classic
 * has-zero and has-less tricks, exact for whether any byte is). */
static inline bool plain8(const unsigned char *p)
{
	const uint64_t ones = 0x0101010101010101ull, tops = 0x8080808080808080ull;
	uint64_t w, quote, backslash;

	memcpy(&w, p, 8);
	quote = w ^ (ones * '"');
	backslash = w ^ (ones * '\\');
	return !((((w - ones * 0x20) & ~w) | ((quote - ones) & ~quote) |
		  ((backslash - ones) & ~backslash) | w | ((w & ~tops) + ones)) &
		 tops);
}

void jbuf_str(struct jbuf *b, const char *s)
{
	size_t n;

	if (!s) {
		jbuf_raw(b, "null", 4);
		return;
	}
	n = strlen(s);
	/* Worst case every byte becomes \u00XX. */
	if (!jbuf_reserve(b, n * 6 + 2))
		return;
	b->p[b->len++] = '"';
	for (const unsigned char *c = (const unsigned char *)s, *end = c + n; c < end; c++) {
		const unsigned char *run = c;

		/* Copy runs of plain bytes at once: names and paths rarely need escapes. */
		while (end - c >= 8 && plain8(c))
			c += 8;
		while (c < end && *c >= 0x20 && *c < 0x7f && *c != '"' && *c != '\\')
			c++;
		memcpy(b->p + b->len, run, c - run);
		b->len += c - run;
		if (c == end)
			break;
		if (*c == '"' || *c == '\\') {
			b->p[b->len++] = '\\';
			b->p[b->len++] = *c;
		} else {
			/* Bytes from the wire are not trusted to be UTF-8. */
			memcpy(b->p + b->len, "\\u00", 4);
			b->len += 4;
			b->p[b->len++] = hex_digits[*c >> 4];
			b->p[b->len++] = hex_digits[*c & 15];
		}
	}
	b->p[b->len++] = '"';
}

void jbuf_plain_str(struct jbuf *b, const char *s)
{
	size_t n = 0;

	if (!s) {
		jbuf_raw(b, "null", 4);
		return;
	}
	/* A few bytes: loops beat calls to strlen and memcpy. */
	while (n < JBUF_PLAIN_MAX && s[n])
		n++;
	if (s[n]) {
		jbuf_str(b, s);
		return;
	}
	if (!jbuf_reserve(b, n + 2))
		return;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++)
		b->p[b->len++] = s[i];
	b->p[b->len++] = '"';
}

void jbuf_hex(struct jbuf *b, const uint8_t *data, size_t n)
{
	if (!jbuf_reserve(b, n * 2 + 2))
		return;
	b->p[b->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		b->p[b->len++] = hex_digits[data[i] >> 4];
		b->p[b->len++] = hex_digits[data[i] & 15];
	}
	b->p[b->len++] = '"';
}

void jbuf_time(struct jbuf *b, uint64_t realtime_ns)
{
	/* Events come in bursts within one second: format its date and time once. */
	static __thread time_t cached_secs = -1;
	static __thread char cached[32];
	static __thread size_t cached_len;
	time_t secs = realtime_ns / 1000000000ull;
	uint32_t frac = realtime_ns % 1000000000ull;
	char digits[9];

	if (secs != cached_secs) {
		struct tm tm;

		gmtime_r(&secs, &tm);
		cached_len = strftime(cached, sizeof(cached), "\"%Y-%m-%dT%H:%M:%S.", &tm);
		cached_secs = secs;
	}
	for (int i = 7; i >= 1; i -= 2, frac /= 100)
		memcpy(digits + i, digit_pairs + 2 * (frac % 100), 2);
	digits[0] = '0' + frac;
	jbuf_raw(b, cached, cached_len);
	jbuf_raw(b, digits, sizeof(digits));
	jbuf_raw(b, "Z\"", 2);
}

void jbuf_ip(struct jbuf *b, int family, const uint8_t addr[16])
{
	char tmp[INET6_ADDRSTRLEN + 2];
	size_t n = 1;

	tmp[0] = '"';
	if (family == 4) {
		/* inet_ntop formats IPv4 through printf: by hand is several times faster. */
		for (int i = 0; i < 4; i++) {
			unsigned int v = addr[i];

			if (v >= 100) {
				tmp[n++] = '0' + v / 100;
				v %= 100;
				memcpy(tmp + n, digit_pairs + 2 * v, 2);
				n += 2;
			} else if (v >= 10) {
				memcpy(tmp + n, digit_pairs + 2 * v, 2);
				n += 2;
			} else {
				tmp[n++] = '0' + v;
			}
			tmp[n++] = i < 3 ? '.' : '"';
		}
	} else {
		if (!inet_ntop(AF_INET6, addr, tmp + 1, INET6_ADDRSTRLEN)) {
			jbuf_raw(b, "null", 4);
			return;
		}
		n = strlen(tmp);
		tmp[n++] = '"';
	}
	jbuf_raw(b, tmp, n);
}
