/* Intel parsers for plain lists and abuse.ch ThreatFox CSV, and the name and address
 * syntax every parser shares.
 *
 * A plain list line is one of (after '#' comments, trailing white space and CR go):
 *   bad.example            a domain: matches it and every name under it ("*." in front is
 *                          dropped: the same suffix match)
 *   0.0.0.0 a.example b.example
 *                          a hosts-file line: each name as above; the address is ignored,
 *                          and so are localhost and its kin (counted as hosts_local)
 *   192.0.2.1  192.0.2.0/24  2001:db8::/32
 *                          an answer address or CIDR
 * ThreatFox CSV: the '#' line naming the columns (ioc_value and ioc_type at least) maps them
 * by name; fields are quoted with "" for a quote, with optional white space after commas. */
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "intel_int.h"

struct span {
	const char *p;
	size_t len;
};

static bool span_is(struct span s, const char *word)
{
	return s.len == strlen(word) && !strncasecmp(s.p, word, s.len);
}

int intel__name_norm(const char *src, size_t len, char *dst, bool *wildcard)
{
	size_t label = 0;

	if (wildcard)
		*wildcard = false;
	if (len && src[len - 1] == '.')
		len--;
	if (len > INTEL_NAME_MAX)
		return -EINVAL;
	if (len >= 2 && src[0] == '*' && src[1] == '.') {
		if (!wildcard)
			return -EINVAL;
		*wildcard = true;
		src += 2;
		len -= 2;
	}
	if (!len)
		return -EINVAL;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];

		if (c == '.') {
			if (!label)
				return -EINVAL;
			label = 0;
		} else if (++label > 63) {
			return -EINVAL;
		} else if (c >= 'A' && c <= 'Z') {
			c |= 0x20;
		} else if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
			     c == '_')) {
			return -EINVAL;
		}
		dst[i] = c;
	}
	if (!label)
		return -EINVAL;
	dst[len] = '\0';
	return (int)len;
}

void intel__mask(struct intel_addr *a)
{
	size_t size = a->family == 4 ? 4 : 16;

	for (size_t i = 0; i < size; i++) {
		unsigned int keep = a->plen > i * 8 ? a->plen - i * 8 : 0;

		if (keep < 8)
			a->bytes[i] &= (uint8_t)(0xff00u >> keep);
	}
}

int intel__parse_cidr(const char *src, size_t len, struct intel_addr *a)
{
	char text[INET6_ADDRSTRLEN + 8];
	const char *slash = memchr(src, '/', len);
	size_t alen = slash ? (size_t)(slash - src) : len;
	long plen;
	char *end;

	if (alen >= INET6_ADDRSTRLEN || len - alen > 4)
		return -EINVAL;
	memcpy(text, src, alen);
	text[alen] = '\0';
	*a = (struct intel_addr){ 0 };
	if (inet_pton(AF_INET, text, a->bytes) == 1)
		a->family = 4;
	else if (inet_pton(AF_INET6, text, a->bytes) == 1)
		a->family = 6;
	else
		return -EINVAL;
	plen = a->family == 4 ? 32 : 128;
	if (slash) {
		memcpy(text, slash + 1, len - alen - 1);
		text[len - alen - 1] = '\0';
		if (!isdigit((unsigned char)text[0]))
			return -EINVAL;
		/* /0 would cover every address: a mistake rather than intel */
		plen = strtol(text, &end, 10);
		if (plen < 1 || *end || plen > (a->family == 4 ? 32 : 128))
			return -EINVAL;
	}
	a->plen = (uint8_t)plen;
	intel__mask(a); /* 10.1.2.3/8 is taken as 10.0.0.0/8, as most list tools do */
	return 0;
}

/* The next white-space separated word of [*p, end). */
static bool next_word(const char **p, const char *end, struct span *w)
{
	const char *s = *p;

	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	if (s == end)
		return false;
	w->p = s;
	while (s < end && *s != ' ' && *s != '\t')
		s++;
	w->len = (size_t)(s - w->p);
	*p = s;
	return true;
}

/* What hosts files map besides the names they block. */
static bool hosts_local(struct span w)
{
	static const char *const names[] = {
		"localhost", "localhost.localdomain", "local", "broadcasthost", "ip6-localhost",
		"ip6-loopback", "ip6-localnet", "ip6-mcastprefix", "ip6-allnodes",
		"ip6-allrouters", "ip6-allhosts",
	};
	struct intel_addr a;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (span_is(w, names[i]))
			return true;
	return intel__parse_cidr(w.p, w.len, &a) == 0; /* "0.0.0.0 0.0.0.0" */
}

/* A list or hosts-file name: indexed with suffix scope. */
static int list_name(struct intel_build *b, unsigned int line, struct span w)
{
	char name[INTEL_NAME_MAX + 1];
	bool wild;
	int len = intel__name_norm(w.p, w.len, name, &wild);

	if (len < 0 && (memchr(w.p, '/', w.len) || memchr(w.p, ':', w.len)))
		return intel__bad(b, line, INTEL_SKIP_BAD_ADDRESS,
				  "not an address or CIDR: \"%.*s\"",
				  (int)(w.len > 80 ? 80 : w.len), w.p);
	if (len < 0)
		return intel__bad(b, line, INTEL_SKIP_BAD_NAME, "not a domain name: \"%.*s\"",
				  (int)(w.len > 80 ? 80 : w.len), w.p);
	return intel__add_name(b, line, INTEL_QNAME, INTEL_SUFFIX, INTEL_LISTED, name,
			       (size_t)len, NULL);
}

static int list_line(struct intel_build *b, unsigned int lineno, const char *line, size_t len)
{
	const char *hash = memchr(line, '#', len), *p = line, *end;
	struct span first, w;
	struct intel_addr a;
	int err = 0;

	end = hash ?: line + len;
	if (!next_word(&p, end, &first))
		return 0;
	if (intel__parse_cidr(first.p, first.len, &a) == 0) {
		if (!next_word(&p, end, &w))
			return intel__add_addr(b, lineno, INTEL_IP, INTEL_LISTED, &a, NULL);
		if (memchr(first.p, '/', first.len))
			return intel__bad(b, lineno, INTEL_SKIP_BAD_LINE,
					  "a CIDR followed by more fields");
		do { /* a hosts-file line */
			if (hosts_local(w))
				intel__skip(b, INTEL_SKIP_HOSTS_LOCAL);
			else
				err = list_name(b, lineno, w);
		} while (!err && next_word(&p, end, &w));
		return err;
	}
	if (next_word(&p, end, &w))
		return intel__bad(b, lineno, INTEL_SKIP_BAD_LINE,
				  "expected a name, an address or a hosts-file line");
	return list_name(b, lineno, first);
}

int intel__parse_list(struct intel_build *b, const char *data, size_t size)
{
	const char *pos = data, *line;
	unsigned int lineno = 0;
	size_t len;
	int err = 0;

	while (!err && intel__take_line(b, &pos, data + size, &lineno, &line, &len, &err))
		err = list_line(b, lineno, line, len);
	return err;
}

/* ---- ThreatFox CSV ---- */

enum tf_col { TF_VALUE, TF_TYPE, TF_MALWARE, TF_TAGS, TF_CONFIDENCE, TF_COLS };
static const char *const tf_names[TF_COLS] = {
	"ioc_value", "ioc_type", "malware_printable", "tags", "confidence_level",
};

#define CSV_FIELDS_MAX 64

/* Splits a CSV line into fields, unquoting into scratch (at least len bytes). The number of
 * fields (at most CSV_FIELDS_MAX are kept), or -1 for a quote left open or text after a
 * closing quote. */
static int csv_split(const char *p, size_t len, struct span *f, char *scratch)
{
	const char *end = p + len;
	int n = 0;

	for (;;) {
		struct span s = { scratch, 0 };

		while (p < end && (*p == ' ' || *p == '\t'))
			p++;
		if (p < end && *p == '"') {
			for (p++;; p++) {
				if (p == end)
					return -1;
				if (*p == '"' && (p + 1 == end || p[1] != '"'))
					break;
				if (*p == '"')
					p++; /* "" */
				scratch[s.len++] = *p;
			}
			for (p++; p < end && (*p == ' ' || *p == '\t');)
				p++;
			if (p < end && *p != ',')
				return -1;
		} else {
			s.p = p;
			while (p < end && *p != ',')
				p++;
			s.len = (size_t)(p - s.p);
			while (s.len && (s.p[s.len - 1] == ' ' || s.p[s.len - 1] == '\t'))
				s.len--;
		}
		scratch += s.len;
		if (n < CSV_FIELDS_MAX)
			f[n] = s;
		n++;
		if (p == end)
			return n;
		p++; /* the comma */
	}
}

/* The column of each field ThreatFox names, from its header line ("# "first_seen_utc",...");
 * -1 for a column the header lacks. Whether the required ones are there. */
static bool tf_header(const char *line, size_t len, int cols[TF_COLS])
{
	struct span f[CSV_FIELDS_MAX];
	char scratch[INTEL_LINE_MAX];
	int n;

	if (!len || line[0] != '#' || len > INTEL_LINE_MAX)
		return false;
	n = csv_split(line + 1, len - 1, f, scratch);
	for (int c = 0; c < TF_COLS; c++) {
		cols[c] = -1;
		for (int i = 0; i < n && i < CSV_FIELDS_MAX; i++)
			if (span_is(f[i], tf_names[c]))
				cols[c] = i;
	}
	return cols[TF_VALUE] >= 0 && cols[TF_TYPE] >= 0;
}

bool intel__is_threatfox_header(const char *line, size_t len)
{
	int cols[TF_COLS];

	return tf_header(line, len, cols);
}

/* The host of a URL: after "scheme://" and any "user@", up to the port, path, query or
 * fragment; an IPv6 host without its brackets. */
static struct span url_host(struct span u)
{
	const char *p = u.p, *end = u.p + u.len, *s;

	for (s = p; s + 2 < end; s++)
		if (s[0] == ':' && s[1] == '/' && s[2] == '/') {
			p = s + 3;
			break;
		}
	for (s = p; s < end && *s != '/' && *s != '?' && *s != '#'; s++)
		if (*s == '@')
			p = s + 1;
	end = s;
	if (p < end && *p == '[') {
		s = memchr(p, ']', (size_t)(end - p));
		return s ? (struct span){ p + 1, (size_t)(s - p - 1) } : (struct span){ p, 0 };
	}
	s = memchr(p, ':', (size_t)(end - p));
	return (struct span){ p, (size_t)((s ?: end) - p) };
}

/* An ip:port value's address: "192.0.2.1:443", "[2001:db8::1]:443". */
static int tf_ip_port(struct span v, struct intel_addr *a)
{
	const char *colon = v.len ? memrchr(v.p, ':', v.len) : NULL;

	if (v.len && v.p[0] == '[') {
		const char *close = memchr(v.p, ']', v.len);

		if (!close || close + 1 != colon)
			return -EINVAL;
		return intel__parse_cidr(v.p + 1, (size_t)(close - v.p - 1), a);
	}
	if (!colon || memchr(v.p, '/', v.len))
		return -EINVAL;
	return intel__parse_cidr(v.p, (size_t)(colon - v.p), a);
}

static int tf_line(struct intel_build *b, unsigned int lineno, const char *line, size_t len,
		   const int cols[TF_COLS])
{
	struct span f[CSV_FIELDS_MAX], v, host;
	char scratch[INTEL_LINE_MAX], name[INTEL_NAME_MAX + 1];
	struct intel_extra x = { 0 };
	struct intel_addr a;
	int n = csv_split(line, len, f, scratch), max = 0, nlen;
	long conf;

	for (int c = 0; c < TF_COLS; c++)
		max = cols[c] > max ? cols[c] : max;
	if (n < 0)
		return intel__bad(b, lineno, INTEL_SKIP_BAD_CSV, "a quote is not closed");
	if (n <= max)
		return intel__bad(b, lineno, INTEL_SKIP_BAD_CSV, "%d fields, the header names %d",
				  n, max + 1);
	x.confidence = b->opts->default_confidence;
	if (cols[TF_CONFIDENCE] >= 0) {
		v = f[cols[TF_CONFIDENCE]];
		conf = v.len && v.len < 4 ? 0 : -1;
		for (size_t i = 0; i < v.len && conf >= 0; i++) /* v is not NUL-terminated */
			conf = isdigit((unsigned char)v.p[i]) ? conf * 10 + v.p[i] - '0' : -1;
		if (conf < 0 || conf > 100)
			return intel__bad(b, lineno, INTEL_SKIP_BAD_CSV,
					  "confidence_level \"%.*s\" is not 0..100", (int)v.len,
					  v.p);
		x.confidence = (int)conf;
	}
	if (cols[TF_MALWARE] >= 0) {
		x.malware = f[cols[TF_MALWARE]].p;
		x.malware_len = f[cols[TF_MALWARE]].len;
	}
	if (cols[TF_TAGS] >= 0 && !span_is(f[cols[TF_TAGS]], "None")) {
		x.tags = f[cols[TF_TAGS]].p;
		x.tags_len = f[cols[TF_TAGS]].len;
	}
	v = f[cols[TF_VALUE]];
	if (span_is(f[cols[TF_TYPE]], "ip:port")) {
		if (tf_ip_port(v, &a))
			return intel__bad(b, lineno, INTEL_SKIP_BAD_ADDRESS,
					  "ip:port \"%.*s\" is not an address and port",
					  (int)(v.len > 80 ? 80 : v.len), v.p);
		return intel__add_addr(b, lineno, INTEL_IP, INTEL_LISTED, &a, &x);
	}
	if (span_is(f[cols[TF_TYPE]], "domain")) {
		host = v;
	} else if (span_is(f[cols[TF_TYPE]], "url")) {
		host = url_host(v);
		if (intel__parse_cidr(host.p, host.len, &a) == 0 && !memchr(host.p, '/', host.len))
			return intel__add_addr(b, lineno, INTEL_IP, INTEL_LISTED, &a, &x);
	} else {
		intel__skip(b, INTEL_SKIP_UNSUPPORTED); /* hashes and the like */
		return 0;
	}
	nlen = intel__name_norm(host.p, host.len, name, NULL);
	if (nlen < 0)
		return intel__bad(b, lineno, INTEL_SKIP_BAD_NAME, "not a domain name: \"%.*s\"",
				  (int)(host.len > 80 ? 80 : host.len), host.p);
	/* A url's host is often a shared or hijacked site: only that host, not what is under
	 * it, is intel. A domain ioc is the domain and its subdomains, as in plain lists. */
	return intel__add_name(b, lineno, INTEL_QNAME, host.p == v.p ? INTEL_SUFFIX : INTEL_EXACT,
			       INTEL_LISTED, name, (size_t)nlen, &x);
}

int intel__parse_threatfox(struct intel_build *b, const char *data, size_t size)
{
	const char *pos = data, *line;
	unsigned int lineno = 0;
	int cols[TF_COLS], err = 0;
	bool have_header = false;
	size_t len;

	while (!err && intel__take_line(b, &pos, data + size, &lineno, &line, &len, &err)) {
		if (len && line[0] == '#')
			have_header = have_header || tf_header(line, len, cols);
		else if (!len || strspn(line, " \t") >= len)
			continue;
		else if (!have_header)
			err = intel__bad(b, lineno, INTEL_SKIP_BAD_CSV,
					 "data before the header line");
		else
			err = tf_line(b, lineno, line, len, cols);
	}
	return err;
}
