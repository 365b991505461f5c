#include "match.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"
#include "table.h"

/* Names this long or longer (the NUL included) are allocated; shorter ones, which include
 * every ip6.arpa name (73 bytes), live in the entry. */
#define INLINE_NAME 96

/* A pending query; the table keeps its hash, age and first transmission time. */
struct entry {
	struct net_info net;
	struct proc_info process; /* strings NULL: they may not outlive the process */
	uint16_t id, qtype, qclass;
	uint16_t qname_len;
	union {
		char inline_name[INLINE_NAME];
		char *long_name;
	};
};

/* What a response must share with its query. */
struct key {
	uint64_t hash;
	uint64_t cookie;
	uint8_t family;
	const uint8_t *ip; /* remote end */
	uint16_t port;
	uint16_t id, qtype, qclass;
	uint16_t qname_len;
	char qname[DNS_MAX_PRESENTATION]; /* lowercased */
};

struct match {
	struct match_stats stats;
	struct table *pending; /* entries, expiring after the timeout */
};

static void remote_of(const struct net_info *net, const uint8_t **ip, uint16_t *port)
{
	bool egress = net->direction == NET_EGRESS;

	*ip = egress ? net->dst_ip : net->src_ip;
	*port = egress ? net->dst_port : net->src_port;
}

static const char *entry_qname(const struct entry *e)
{
	return e->qname_len < INLINE_NAME ? e->inline_name : e->long_name;
}

static int key_of(const struct match *m, struct key *k, const struct net_info *net,
		  const struct dns_msg *msg)
{
	uint16_t nums[4];
	size_t i, len;

	if (!msg->has_question || !msg->qname)
		return -EINVAL;
	len = strnlen(msg->qname, sizeof(k->qname));
	if (len == sizeof(k->qname))
		return -EINVAL;
	for (i = 0; i <= len; i++)
		k->qname[i] = dns_ascii_lower(msg->qname[i]);
	k->qname_len = len;
	k->cookie = net->socket_cookie;
	k->family = net->family;
	remote_of(net, &k->ip, &k->port);
	k->id = msg->id;
	k->qtype = msg->qtype;
	k->qclass = msg->qclass;

	nums[0] = k->port;
	nums[1] = k->id;
	nums[2] = k->qtype;
	nums[3] = k->qclass;
	k->hash = hash_bytes(table_seed(m->pending), &k->cookie, sizeof(k->cookie));
	k->hash = hash_bytes(k->hash, nums, sizeof(nums));
	k->hash = hash_bytes(k->hash, k->ip, net_addr_len(k->family));
	k->hash = hash_finish(hash_bytes(k->hash, k->qname, len));
	return 0;
}

static bool entry_is(const void *entry, const void *key)
{
	const struct entry *e = entry;
	const struct key *k = key;
	const uint8_t *ip;
	uint16_t port;

	if (e->net.socket_cookie != k->cookie || e->net.family != k->family || e->id != k->id ||
	    e->qtype != k->qtype || e->qclass != k->qclass || e->qname_len != k->qname_len)
		return false;
	remote_of(&e->net, &ip, &port);
	return port == k->port && !memcmp(ip, k->ip, net_addr_len(k->family)) &&
	       !memcmp(entry_qname(e), k->qname, k->qname_len);
}

static struct entry *find(const struct match *m, const struct key *k)
{
	return table_find_eq(m->pending, k->hash, entry_is, k);
}

/* Frees what the entry owns: it leaves the table. */
static void entry_release(struct match *m, struct entry *e)
{
	if (e->qname_len >= INLINE_NAME)
		free(e->long_name);
	m->stats.pending--;
}

static void forget(struct match *m, struct entry *e)
{
	entry_release(m, e);
	table_remove(m->pending, e);
}

/* The table is full: the oldest pending query makes room. */
static void evict(void *ctx, void *entry)
{
	struct match *m = ctx;

	entry_release(m, entry);
	m->stats.evicted++;
}

int match_query(struct match *m, const struct net_info *net, const struct proc_info *process,
		const struct dns_msg *msg, uint64_t ts_ns)
{
	static const struct proc_info unknown = {
		.pid = -1, .tid = -1, .ppid = -1, .uid = -1, .gid = -1,
	};
	char *long_name = NULL;
	struct entry *e;
	struct key k;
	int err;

	err = key_of(m, &k, net, msg);
	if (err)
		return err;
	if (find(m, &k)) {
		m->stats.retransmits++;
		return 0;
	}
	if (k.qname_len >= INLINE_NAME) {
		long_name = malloc(k.qname_len + 1);
		if (!long_name)
			return -ENOMEM;
	}

	e = table_insert(m->pending, k.hash, NULL, ts_ns);
	e->net = *net;
	e->process = process ? *process : unknown;
	e->process.exe = NULL;
	e->process.cmdline = NULL;
	e->process.cgroup = NULL;
	e->process.container_id = NULL;
	e->id = k.id;
	e->qtype = k.qtype;
	e->qclass = k.qclass;
	e->qname_len = k.qname_len;
	if (long_name)
		e->long_name = long_name;
	memcpy(long_name ?: e->inline_name, k.qname, k.qname_len + 1);
	m->stats.queries++;
	m->stats.pending++;
	return 0;
}

int64_t match_response(struct match *m, const struct net_info *net, const struct dns_msg *msg,
		       uint64_t ts_ns)
{
	struct entry *e;
	struct key k;
	uint64_t query_ts_ns;

	if (key_of(m, &k, net, msg) || !(e = find(m, &k))) {
		m->stats.unmatched++;
		return -1;
	}
	query_ts_ns = table_stamp(m->pending, e);
	forget(m, e);
	m->stats.matched++;
	return ts_ns > query_ts_ns ? (int64_t)(ts_ns - query_ts_ns) : 0;
}

struct expiry {
	struct match *m;
	uint64_t now_ns;
	match_timeout_fn fn;
	void *ctx;
};

static void report_timeout(void *ctx, void *entry)
{
	struct expiry *x = ctx;
	struct entry *e = entry;
	uint64_t ts_ns = table_stamp(x->m->pending, e);
	struct match_timeout to = {
		.net = e->net,
		.process = e->process,
		.info = {
			.id = e->id,
			.qname = entry_qname(e),
			.qtype = e->qtype,
			.qclass = e->qclass,
			.waited_ns = x->now_ns - ts_ns,
		},
		.query_ts_ns = ts_ns,
	};

	x->m->stats.timeouts++;
	x->fn(x->ctx, &to);
	entry_release(x->m, e);
}

void match_expire(struct match *m, uint64_t now_ns, match_timeout_fn fn, void *ctx)
{
	struct expiry x = { .m = m, .now_ns = now_ns, .fn = fn, .ctx = ctx };

	/* In arrival order: one query stamped later than those behind it holds them back,
	 * by no more than the difference. */
	table_expire(m->pending, now_ns, report_timeout, &x);
}

const struct match_stats *match_stats(const struct match *m)
{
	return &m->stats;
}

struct match *match_new(uint64_t timeout_ns, size_t max_pending)
{
	struct match *m = calloc(1, sizeof(*m));
	struct table_opts opts = {
		.max_entries = max_pending ?: MATCH_DEFAULT_MAX_PENDING,
		.entry_size = sizeof(struct entry),
		.when_full = TABLE_EVICT,
		.on_evict = evict,
		.ctx = m,
		.ttl_ns = timeout_ns ?: MATCH_DEFAULT_TIMEOUT_NS,
		/* One chain per 8 entries: a full table has short chains, and the chain heads
		 * of a table in normal use (far from full) stay in cache, which a lookup's
		 * first read otherwise misses. */
		.chain_load = 8,
	};
	int err;

	if (!m)
		return NULL;
	m->pending = table_new(&opts);
	if (!m->pending) {
		err = errno;
		free(m);
		errno = err;
		return NULL;
	}
	return m;
}

void match_free(struct match *m)
{
	struct entry *e;

	if (!m)
		return;
	while ((e = table_oldest(m->pending)))
		forget(m, e);
	table_free(m->pending);
	free(m);
}
