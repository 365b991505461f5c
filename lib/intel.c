/* Threat intel snapshots: storing indicators, the index, matching. Files and directories are
 * read (and their errors reported) in intel_file.c, parsed in intel_rpz.c and intel_list.c.
 *
 * A load parses every file into one array of indicators (their strings in one pool), then
 * indexes them in two lib/table.h tables: names by (kind, name) and CIDRs by (kind, family,
 * prefix length, masked address). Indicators under one key are chained, in load order, one
 * per (scope, allow/block) pair: a later one of the same pair is a duplicate, counted and
 * left out. In front of both tables stands a blocked Bloom filter (16 bits per key, 2 of them
 * set in one 64-byte block: under 2 % false positives): most names and addresses in real
 * traffic are in no intel, and the filter answers those from one cache line instead of a
 * chain head and a node in tables of a hundred MiB.
 *
 * A name is looked up once per suffix, longest first, with the hashes of all its suffixes
 * computed in one pass from the right; an address once per prefix length present for its
 * kind and family, longest first. Measured with tests/bench/bench_intel.c; what each trick
 * is for is said where it is done. */
#include "intel.h"

#include <arpa/inet.h>
#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "hash.h"
#include "intel_int.h"
#include "log.h"
#include "table.h"

#define IND_NONE UINT32_MAX
#define HUGE_PAGE ((size_t)2 << 20)
/* Labels in a name of INTEL_NAME_MAX bytes: "a.a. ... a". */
#define LABELS_MAX ((INTEL_NAME_MAX + 1) / 2)

struct intel_ind {
	uint32_t next;    /* the next indicator under the same key, IND_NONE at the end */
	uint32_t trigger; /* pool offset: the trigger text */
	uint32_t key;     /* pool offset: the name (trigger without "*."), or a struct addr_key */
	uint32_t extra;   /* pool offset: "malware\0tags\0"; 0 for none */
	uint32_t line;
	uint16_t file;
	uint8_t kind, action, scope, format, confidence, key_len;
};

/* A CIDR as the address table keys it: the address as two big-endian words with the bits
 * past the prefix cleared, and kind | family << 8 | prefix length << 16. Built and hashed as
 * whole words. */
struct addr_key {
	uint64_t hi, lo, meta;
};

struct name_entry {
	uint32_t key; /* pool offset */
	uint32_t first;
	uint8_t len, kind;
};

struct addr_entry {
	struct addr_key key;
	uint32_t first;
};

/* What table_find_eq compares a name entry with. */
struct name_probe {
	const char *pool, *name;
	uint8_t len, kind;
};

/* One cache line of the filter. */
struct filter_block {
	uint64_t w[8];
} __attribute__((aligned(64)));

struct intel {
	struct intel_stats stats;
	char *pool; /* offset 0 holds "" */
	size_t pool_len, pool_cap;
	struct intel_ind *inds;
	size_t n_inds, inds_cap;
	char **files;
	size_t n_files;
	struct table *names, *addrs;
	struct filter_block *filter;
	uint64_t filter_mask; /* blocks - 1 */
	uint64_t plens[INTEL_KIND_COUNT][2][3]; /* bit p: some CIDR of /p (0..128) */
	bool has_passthru[INTEL_KIND_COUNT];
	bool has_tld[INTEL_KIND_COUNT]; /* some name of one label: else lookups skip that suffix */
};

static const char *const kind_names[INTEL_KIND_COUNT] = {
	"qname", "ip", "nsdname", "nsip", "client_ip",
};
static const char *const action_names[INTEL_ACTION_COUNT] = {
	"listed", "nxdomain", "nodata", "drop", "tcp_only", "passthru", "local_data",
};
static const char *const format_names[INTEL_FORMAT_COUNT] = { "list", "rpz", "threatfox" };
static const char *const skip_names[INTEL_SKIP_COUNT] = {
	"bad_name", "bad_address", "bad_record", "bad_csv", "bad_line",
	"unsupported", "zone_apex", "hosts_local", "duplicate",
};

const char *intel_kind_name(enum intel_kind kind)
{
	return (unsigned int)kind < INTEL_KIND_COUNT ? kind_names[kind] : "?";
}

const char *intel_action_name(enum intel_action action)
{
	return (unsigned int)action < INTEL_ACTION_COUNT ? action_names[action] : "?";
}

const char *intel_format_name(enum intel_format format)
{
	return (unsigned int)format < INTEL_FORMAT_COUNT ? format_names[format] : "?";
}

const char *intel_skip_name(enum intel_skip skip)
{
	return (unsigned int)skip < INTEL_SKIP_COUNT ? skip_names[skip] : "?";
}

static bool is_name_kind(enum intel_kind kind)
{
	return kind == INTEL_QNAME || kind == INTEL_NSDNAME;
}

void intel_opts_default(struct intel_opts *opts)
{
	*opts = (struct intel_opts){
		.max_bad_lines = INTEL_DEFAULT_MAX_BAD_LINES,
		.default_confidence = INTEL_DEFAULT_CONFIDENCE,
		.max_indicators = INTEL_DEFAULT_MAX_INDICATORS,
	};
}

/* ---- storage ---- */

int intel__grow(void **buf, size_t *cap, size_t need, size_t size)
{
	size_t n = *cap ?: 4096;
	void *p;

	if (need <= *cap)
		return 0;
	while (n < need)
		n *= 2;
	p = realloc(*buf, n * size);
	if (!p)
		return -ENOMEM;
	*buf = p;
	*cap = n;
	return 0;
}

/* Appends n bytes (8-byte aligned when align) to the pool; the offset, or 0 on error
 * (offset 0 is the pool's "" and is never handed out). */
static uint32_t pool_add(struct intel *in, const void *src, size_t n, bool align)
{
	size_t off = align ? (in->pool_len + 7) & ~(size_t)7 : in->pool_len;

	if (off + n >= UINT32_MAX || intel__grow((void **)&in->pool, &in->pool_cap, off + n, 1))
		return 0;
	memcpy(in->pool + off, src, n);
	in->pool_len = off + n;
	return (uint32_t)off;
}

/* a (a_len bytes) as a string in the pool, then b's (NULL: "") when two. */
static uint32_t pool_str(struct intel *in, const char *a, size_t a_len, const char *b,
			 size_t b_len, bool two)
{
	char buf[INTEL_LINE_MAX * 2 + 2];
	size_t n = 0;

	if (a_len)
		memcpy(buf + n, a, a_len);
	n += a_len;
	buf[n++] = '\0';
	if (two) {
		if (b_len)
			memcpy(buf + n, b, b_len);
		n += b_len;
		buf[n++] = '\0';
	}
	return pool_add(in, buf, n, false);
}

static struct intel_ind *ind_new(struct intel_build *b, unsigned int line, enum intel_kind kind,
				 enum intel_action action, const struct intel_extra *extra)
{
	struct intel *in = b->in;
	struct intel_ind *ind;

	if (in->n_inds >= b->opts->max_indicators) {
		errno = E2BIG;
		return NULL;
	}
	if (intel__grow((void **)&in->inds, &in->inds_cap, in->n_inds + 1, sizeof(*in->inds))) {
		errno = ENOMEM;
		return NULL;
	}
	ind = &in->inds[in->n_inds];
	*ind = (struct intel_ind){
		.next = IND_NONE,
		.line = line,
		.file = b->file,
		.kind = kind,
		.action = action,
		.format = b->format,
		.confidence = extra ? extra->confidence : b->opts->default_confidence,
	};
	if (extra && (extra->malware_len || extra->tags_len)) {
		ind->extra = pool_str(in, extra->malware, extra->malware_len, extra->tags,
				      extra->tags_len, true);
		if (!ind->extra) {
			errno = ENOMEM;
			return NULL;
		}
	}
	return ind;
}

static int too_many(struct intel_build *b, unsigned int line)
{
	if (errno == E2BIG) {
		intel__fail(b, line, "more than %zu indicators: load refused",
			    b->opts->max_indicators);
		return -E2BIG;
	}
	return -ENOMEM;
}

int intel__add_name(struct intel_build *b, unsigned int line, enum intel_kind kind,
		    enum intel_scope scope, enum intel_action action, const char *name,
		    size_t len, const struct intel_extra *extra)
{
	struct intel_ind *ind = ind_new(b, line, kind, action, extra);
	bool wild = scope == INTEL_WILDCARD;

	if (!ind)
		return too_many(b, line);
	ind->scope = scope;
	ind->key_len = (uint8_t)len;
	/* The trigger text is the key with "*." in front for a wildcard: stored once. */
	ind->trigger = wild ? pool_str(b->in, "*.", 2, NULL, 0, false) : 0;
	if (wild && ind->trigger)
		b->in->pool_len--; /* the name goes on where the NUL was */
	ind->key = pool_str(b->in, name, len, NULL, 0, false);
	if ((wild && !ind->trigger) || !ind->key)
		return -ENOMEM;
	if (!wild)
		ind->trigger = ind->key;
	b->in->n_inds++;
	return 0;
}

static void addr_words(int family, const uint8_t *bytes, uint64_t *hi, uint64_t *lo)
{
	uint64_t w[2];
	uint32_t v4;

	if (family == 4) {
		memcpy(&v4, bytes, 4);
		*hi = (uint64_t)be32toh(v4) << 32;
		*lo = 0;
	} else {
		memcpy(w, bytes, 16);
		*hi = be64toh(w[0]);
		*lo = be64toh(w[1]);
	}
}

static struct addr_key addr_key(unsigned int kind, unsigned int family, uint64_t hi, uint64_t lo,
				unsigned int plen)
{
	if (plen < 64) {
		hi &= plen ? ~(~0ull >> plen) : 0;
		lo = 0;
	} else if (plen < 128) {
		lo &= ~(~0ull >> (plen - 64));
	}
	return (struct addr_key){ hi, lo, kind | family << 8 | plen << 16 };
}

int intel__add_addr(struct intel_build *b, unsigned int line, enum intel_kind kind,
		    enum intel_action action, const struct intel_addr *addr,
		    const struct intel_extra *extra)
{
	struct intel_ind *ind = ind_new(b, line, kind, action, extra);
	struct addr_key key;
	char text[INET6_ADDRSTRLEN + 4];
	uint64_t hi, lo;
	size_t n;

	if (!ind)
		return too_many(b, line);
	addr_words(addr->family, addr->bytes, &hi, &lo);
	key = addr_key(kind, addr->family, hi, lo, addr->plen);
	inet_ntop(addr->family == 4 ? AF_INET : AF_INET6, addr->bytes, text, INET6_ADDRSTRLEN);
	n = strlen(text);
	n += (size_t)snprintf(text + n, sizeof(text) - n, "/%u", addr->plen);
	ind->scope = INTEL_PREFIX;
	ind->key = pool_add(b->in, &key, sizeof(key), true);
	ind->trigger = pool_str(b->in, text, n, NULL, 0, false);
	if (!ind->key || !ind->trigger)
		return -ENOMEM;
	b->in->n_inds++;
	return 0;
}

/* ---- hashing and the index ---- */

/* The hash of every suffix of name (len bytes, readable 7 bytes past them): hs[i] is the
 * suffix from label i on (starts[i]), built label by label from the right so that one pass
 * gives them all. The dots are found a word at a time (each '.' byte, exactly: x = w ^ "....."
 * is zero there, and the high bit of (x & 0x7f) + 0x7f, of x or of 0x7f is clear only for a
 * zero byte). The number of labels, 0 for a name with an empty label. */
static size_t name_hashes(uint64_t seed, uint8_t kind, const char *name, size_t len,
			  uint16_t starts[LABELS_MAX], uint64_t hs[LABELS_MAX])
{
	uint64_t h = seed ^ (kind + 1) * HASH_MULTIPLIER;
	size_t n = 0, end = len;

	starts[n++] = 0;
	for (size_t k = 0; k < len; k += 8) {
		const uint64_t low7 = 0x7f7f7f7f7f7f7f7full;
		uint64_t w, x, dots;

		memcpy(&w, name + k, 8);
		x = w ^ 0x2e2e2e2e2e2e2e2eull;
		dots = ~(((x & low7) + low7) | x | low7);
		if (len - k < 8)
			dots &= ~0ull >> (64 - 8 * (len - k)); /* not the padding */
		for (; dots; dots &= dots - 1) {
			size_t i = k + (size_t)__builtin_ctzll(dots) / 8;

			if (i == starts[n - 1] || i + 1 == len)
				return 0;
			starts[n++] = (uint16_t)(i + 1);
		}
	}
	for (size_t i = n; i-- > 0;) {
		h = hash_bytes_padded(h, name + starts[i], end - starts[i]);
		hs[i] = hash_finish(h);
		end = starts[i] - 1; /* the dot before label i */
	}
	return n;
}

/* ASCII letters of w lowercased: a byte gets 0x20 when it is at least 'A' and below 'Z' + 1,
 * found without carries from byte to byte since each is below 0x80 when tested. */
static uint64_t lower_word(uint64_t w)
{
	const uint64_t ones = 0x0101010101010101ull, high = 0x8080808080808080ull;
	uint64_t low7 = w & ~high;

	uint64_t at_least_a = low7 + (0x80 - 'A') * ones, past_z = low7 + (0x80 - 'Z' - 1) * ones;
	uint64_t upper = at_least_a & ~past_z & ~w & high;

	return w | upper >> 2;
}

/* src's len bytes lowercased into dst, then zeros to the next multiple of 8, a word at a
 * time: name_hashes then loads words that were stored as words (a byte-wise copy, or libc's
 * memcpy of a few bytes, would cost more than the rest of a lookup). Reads no byte of src
 * past len. */
static void copy_lower(char *dst, const char *src, size_t len)
{
	uint64_t w = 0;
	size_t i;

	for (i = 0; i + 8 <= len; i += 8) {
		memcpy(&w, src + i, 8);
		w = lower_word(w);
		memcpy(dst + i, &w, 8);
	}
	w = 0;
	for (size_t j = 0; i + j < len; j++)
		w |= (uint64_t)(uint8_t)src[i + j] << (8 * j);
	w = lower_word(w);
	memcpy(dst + i, &w, 8);
}

static bool name_eq(const void *entry, const void *key)
{
	const struct name_entry *e = entry;
	const struct name_probe *p = key;

	return e->len == p->len && e->kind == p->kind && !memcmp(p->pool + e->key, p->name, p->len);
}

/* The filter's bits: a key sets two of the 512 bits of the block its block hash picks. */
static void filter_set(struct intel *in, uint64_t block, uint64_t h)
{
	uint64_t *w = in->filter[block & in->filter_mask].w;
	unsigned int b1 = (h >> 40) & 511, b2 = (h >> 49) & 511;

	w[b1 >> 6] |= 1ull << (b1 & 63);
	w[b2 >> 6] |= 1ull << (b2 & 63);
}

static bool filter_has(const struct intel *in, uint64_t block, uint64_t h)
{
	const uint64_t *w = in->filter[block & in->filter_mask].w;
	unsigned int b1 = (h >> 40) & 511, b2 = (h >> 49) & 511;

	return (w[b1 >> 6] >> (b1 & 63) & 1) && (w[b2 >> 6] >> (b2 & 63) & 1);
}

/* The block of a name's suffix from label i on, of n labels: the block of its last two
 * labels, or of its only one. Every suffix of two labels or more of a name shares it: a
 * lookup reads one cache line (and the hot one of its top-level domain). */
static uint64_t name_block(const uint64_t *hs, size_t i, size_t n)
{
	return i + 1 == n ? hs[i] : hs[n - 2];
}

/* Likewise the block of a CIDR: that of its first ADDR_BLOCK_BITS bits (its own when shorter):
 * a v4 lookup reads one line for /24 to /32, v6 one for /64 to /128. */
#define ADDR_BLOCK_BITS(family) ((family) == 4 ? 24u : 64u)
static uint64_t addr_block(const struct intel *in, const struct addr_key *key)
{
	unsigned int family = (key->meta >> 8) & 0xff, plen = (unsigned int)(key->meta >> 16);
	struct addr_key b;

	if (plen > ADDR_BLOCK_BITS(family))
		plen = ADDR_BLOCK_BITS(family);
	b = addr_key(key->meta & 0xff, family, key->hi, key->lo, plen);
	return table_hash(in->addrs, &b, sizeof(b));
}

/* Links ind behind the indicators of its key (first), unless one of the same scope and
 * allow/block sense is there: then it is a duplicate. */
static void chain_add(struct intel *in, uint32_t *first, uint32_t i)
{
	struct intel_ind *ind = &in->inds[i];
	bool pass = ind->action == INTEL_PASSTHRU;
	uint32_t *link = first;

	for (; *link != IND_NONE; link = &in->inds[*link].next) {
		const struct intel_ind *o = &in->inds[*link];

		if (o->scope == ind->scope && (o->action == INTEL_PASSTHRU) == pass) {
			in->stats.skipped[INTEL_SKIP_DUPLICATE]++;
			return;
		}
	}
	*link = i;
	in->stats.indicators++;
	in->stats.by_kind[ind->kind]++;
	if (pass) {
		in->stats.passthru++;
		in->has_passthru[ind->kind] = true;
	}
}

static int index_name(struct intel *in, uint32_t i)
{
	const struct intel_ind *ind = &in->inds[i];
	uint16_t starts[LABELS_MAX];
	uint64_t hs[LABELS_MAX];
	struct name_probe probe = { in->pool, in->pool + ind->key, ind->key_len, ind->kind };
	struct name_entry *e;
	char buf[INTEL_NAME_MAX + 8] = { 0 }; /* padded for name_hashes */
	size_t n;

	memcpy(buf, probe.name, probe.len);
	n = name_hashes(table_seed(in->names), ind->kind, buf, probe.len, starts, hs);
	in->has_tld[ind->kind] |= n == 1;

	e = table_find_eq(in->names, hs[0], name_eq, &probe);
	if (!e) {
		e = table_insert(in->names, hs[0], NULL, 0);
		if (!e)
			return -ENOMEM; /* sized for every indicator: cannot happen */
		*e = (struct name_entry){ ind->key, IND_NONE, ind->key_len, ind->kind };
		filter_set(in, name_block(hs, 0, n), hs[0]);
	}
	chain_add(in, &e->first, i);
	return 0;
}

static int index_addr(struct intel *in, uint32_t i)
{
	const struct intel_ind *ind = &in->inds[i];
	const struct addr_key *key = (const void *)(in->pool + ind->key);
	uint64_t h = table_hash(in->addrs, key, sizeof(*key));
	struct addr_entry *e = table_find(in->addrs, h, key);

	if (!e) {
		e = table_insert(in->addrs, h, key, 0);
		if (!e)
			return -ENOMEM;
		e->first = IND_NONE;
		filter_set(in, addr_block(in, key), h);
		unsigned int plen = (unsigned int)(key->meta >> 16);

		bool v6 = (key->meta >> 8 & 0xff) == 6;

		in->plens[ind->kind][v6][plen / 64] |= 1ull << (plen % 64);
	}
	chain_add(in, &e->first, i);
	return 0;
}

static int build_index(struct intel *in)
{
	size_t n_names = 0, blocks = 16, size;
	int err;

	for (size_t i = 0; i < in->n_inds; i++)
		n_names += is_name_kind(in->inds[i].kind);
	in->names = table_new(&(struct table_opts){
		.max_entries = n_names ?: 1,
		.entry_size = sizeof(struct name_entry),
		.when_full = TABLE_REFUSE,
	});
	in->addrs = table_new(&(struct table_opts){
		.max_entries = in->n_inds - n_names ?: 1,
		.entry_size = sizeof(struct addr_entry),
		.key_size = sizeof(struct addr_key),
		.when_full = TABLE_REFUSE,
	});
	/* 16 bits per key: 2 set in one of 512, under 2 % false positives */
	while (blocks * 512 < in->n_inds * 16)
		blocks *= 2;
	size = blocks * sizeof(*in->filter);
	/* Every lookup reads the filter at random: in 2 MiB pages it takes no TLB miss, which in
	 * a VM (a nested page walk) costs about what the read itself does: names 10-20 % and
	 * addresses 25 % faster in bench_intel. madvise is a hint; without THP it fails, fine. */
	if (size >= HUGE_PAGE) {
		size = (size + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
		in->filter = aligned_alloc(HUGE_PAGE, size);
		if (in->filter)
			madvise(in->filter, size, MADV_HUGEPAGE);
	} else {
		in->filter = aligned_alloc(sizeof(*in->filter), size);
	}
	if (!in->names || !in->addrs || !in->filter)
		return -ENOMEM;
	memset(in->filter, 0, size);
	in->filter_mask = blocks - 1;
	for (uint32_t i = 0; i < in->n_inds; i++) {
		err = is_name_kind(in->inds[i].kind) ? index_name(in, i) : index_addr(in, i);
		if (err)
			return err;
	}
	return 0;
}

/* ---- matching ---- */

static void hit_fill(const struct intel *in, const struct intel_ind *ind, struct intel_hit *hit)
{
	const char *extra = in->pool + ind->extra;

	*hit = (struct intel_hit){
		.kind = ind->kind,
		.action = ind->action,
		.scope = ind->scope,
		.format = ind->format,
		.source = in->files[ind->file],
		.line = ind->line,
		.trigger = in->pool + ind->trigger,
		.malware = extra,
		.tags = ind->extra ? extra + strlen(extra) + 1 : extra,
		.confidence = ind->confidence,
	};
}

/* Looks at the indicators chained from first, of a key that covers the name or address
 * (sub: strictly above it): fills the best passthru and the best block not yet found. true
 * when the search can stop: a passthru found, or a block and no passthru of the kind. */
static bool consider(const struct intel *in, uint32_t first, bool sub,
		     const struct intel_ind **pass, const struct intel_ind **block)
{
	for (uint32_t i = first; i != IND_NONE; i = in->inds[i].next) {
		const struct intel_ind *ind = &in->inds[i];

		if ((ind->scope == INTEL_EXACT && sub) || (ind->scope == INTEL_WILDCARD && !sub))
			continue;
		if (ind->action == INTEL_PASSTHRU) {
			*pass = ind;
			return true;
		}
		if (!*block)
			*block = ind;
	}
	return *block && !in->has_passthru[in->inds[first].kind];
}

static int found(const struct intel *in, const struct intel_ind *pass,
		 const struct intel_ind *block, struct intel_hit *hit)
{
	if (!pass && !block)
		return -ENOENT;
	hit_fill(in, pass ?: block, hit);
	return 0;
}

int intel_match_name(const struct intel *in, enum intel_kind kind, const char *name,
		     struct intel_hit *hit)
{
	/* the name and its trailing dot, then padding for copy_lower and name_hashes */
	char buf[INTEL_NAME_MAX + 1 + 8] __attribute__((aligned(8)));
	uint16_t starts[LABELS_MAX];
	uint64_t hs[LABELS_MAX];
	const struct intel_ind *pass = NULL, *block = NULL;
	struct name_probe probe = { in->pool, buf, 0, kind };
	size_t len = strnlen(name, INTEL_NAME_MAX + 2), n;

	if (!is_name_kind(kind) || len > INTEL_NAME_MAX + 1)
		return -EINVAL;
	copy_lower(buf, name, len);
	if (len && buf[len - 1] == '.')
		len--;
	if (!len || len > INTEL_NAME_MAX)
		return -EINVAL;
	n = name_hashes(table_seed(in->names), kind, buf, len, starts, hs);
	if (!n)
		return -EINVAL; /* an empty label */
	for (size_t i = 0; i < n - !in->has_tld[kind]; i++) {
		const struct name_entry *e;

		if (!filter_has(in, name_block(hs, i, n), hs[i]))
			continue;
		probe.name = buf + starts[i];
		probe.len = (uint8_t)(len - starts[i]);
		e = table_find_eq(in->names, hs[i], name_eq, &probe);
		if (e && consider(in, e->first, i > 0, &pass, &block))
			break;
	}
	return found(in, pass, block, hit);
}

int intel_match_addr(const struct intel *in, enum intel_kind kind, int family,
		     const void *addr, struct intel_hit *hit)
{
	const struct intel_ind *pass = NULL, *block = NULL;
	uint64_t hi, lo, fblock = 0;

	if (is_name_kind(kind) || (unsigned int)kind >= INTEL_KIND_COUNT ||
	    (family != 4 && family != 6))
		return -EINVAL;
	addr_words(family, addr, &hi, &lo);
	for (int w = 2; w >= 0; w--) {
		uint64_t lens = in->plens[kind][family == 6][w];

		while (lens) {
			int bit = 63 - __builtin_clzll(lens);
			unsigned int plen = (unsigned int)(w * 64 + bit);
			struct addr_key key = addr_key(kind, (unsigned int)family, hi, lo, plen);
			uint64_t h = table_hash(in->addrs, &key, sizeof(key));
			const struct addr_entry *e;

			lens &= ~(1ull << bit);
			/* one block for the lengths at or past ADDR_BLOCK_BITS, one each below */
			if (!fblock || plen < ADDR_BLOCK_BITS(family))
				fblock = addr_block(in, &key);
			if (!filter_has(in, fblock, h))
				continue;
			e = table_find(in->addrs, h, &key);
			if (e && consider(in, e->first, false, &pass, &block))
				return found(in, pass, block, hit);
		}
	}
	return found(in, pass, block, hit);
}

/* ---- loading ---- */

int intel__add_file(struct intel_build *b, const char *path)
{
	struct intel *in = b->in;
	char *copy;

	if (in->n_files >= UINT16_MAX)
		return intel__fail(b, 0, "more than %u files: load refused", UINT16_MAX);
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	in->files[in->n_files] = copy;
	b->file = (uint16_t)in->n_files++;
	b->path = copy;
	b->file_bad = 0;
	return 0;
}

int intel_load(const char *const *paths, size_t n, const struct intel_opts *opts,
	       struct intel **out, struct intel_errors *errs)
{
	struct intel_opts defaults;
	struct intel_build b = { 0 };
	struct intel *in;
	int err = 0;

	*out = NULL;
	if (errs)
		*errs = (struct intel_errors){ 0 };
	if (!opts) {
		intel_opts_default(&defaults);
		opts = &defaults;
	}
	if (opts->default_confidence < 0 || opts->default_confidence > 100)
		return -EINVAL;
	in = calloc(1, sizeof(*in));
	if (!in)
		return -ENOMEM;
	in->files = calloc(UINT16_MAX, sizeof(*in->files));
	pool_add(in, "", 1, false); /* offset 0: "" */
	if (!in->files || in->pool_len != 1) {
		err = -ENOMEM;
		goto cleanup;
	}
	b = (struct intel_build){ .in = in, .stats = &in->stats, .opts = opts, .errs = errs };
	for (size_t i = 0; i < n && !err; i++) {
		b.path = paths[i];
		err = intel__load_path(&b, paths[i]);
	}
	if (!err)
		err = build_index(in);
	if (b.n_errors > INTEL_ERRORS_KEPT)
		log_warnx("intel: %zu more errors not shown", b.n_errors - INTEL_ERRORS_KEPT);
	if (errs)
		errs->count = b.n_errors;
cleanup:
	if (err) {
		if (err == -ENOMEM)
			log_warnx("intel: out of memory");
		intel_free(in);
		return err;
	}
	*out = in;
	return 0;
}

void intel_free(struct intel *in)
{
	if (!in)
		return;
	for (size_t i = 0; i < in->n_files; i++)
		free(in->files[i]);
	free(in->files);
	free(in->pool);
	free(in->inds);
	free(in->filter);
	table_free(in->names);
	table_free(in->addrs);
	free(in);
}

void intel_errors_free(struct intel_errors *errs)
{
	if (!errs)
		return;
	for (size_t i = 0; i < errs->n_msgs; i++)
		free(errs->msgs[i]);
	free(errs->msgs);
	*errs = (struct intel_errors){ 0 };
}

const struct intel_stats *intel_stats(const struct intel *in)
{
	return &in->stats;
}
