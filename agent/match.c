#include "match.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include "hash.h"

/* Names this long or longer (the NUL included) are allocated; shorter ones, which include
 * every ip6.arpa name (73 bytes), live in the entry. */
#define INLINE_NAME 96


struct entry {
	LIST_ENTRY(entry) chain; /* hash chain, or the free list */
	TAILQ_ENTRY(entry) age;  /* m->pending, oldest first */
	uint64_t hash;
	uint64_t ts_ns;
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
	uint64_t timeout_ns;
	size_t max_pending;
	struct match_stats stats;
	uint64_t seed;
	struct entry *entries; /* max_pending of them, calloc'd: untouched pages cost nothing */
	size_t n_used;         /* entries[] touched so far */
	LIST_HEAD(chain_head, entry) *chains;
	unsigned int hash_shift;
	LIST_HEAD(, entry) free;
	TAILQ_HEAD(, entry) pending;
};

static size_t ip_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

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
	k->hash = hash_bytes(m->seed, &k->cookie, sizeof(k->cookie));
	k->hash = hash_bytes(k->hash, nums, sizeof(nums));
	k->hash = hash_bytes(k->hash, k->ip, ip_len(k->family));
	k->hash = hash_finish(hash_bytes(k->hash, k->qname, len));
	return 0;
}

static bool entry_is(const struct entry *e, const struct key *k)
{
	const uint8_t *ip;
	uint16_t port;

	if (e->hash != k->hash || e->net.socket_cookie != k->cookie || e->net.family != k->family ||
	    e->id != k->id || e->qtype != k->qtype || e->qclass != k->qclass ||
	    e->qname_len != k->qname_len)
		return false;
	remote_of(&e->net, &ip, &port);
	return port == k->port && !memcmp(ip, k->ip, ip_len(k->family)) &&
	       !memcmp(entry_qname(e), k->qname, k->qname_len);
}

static struct chain_head *chain_of(const struct match *m, uint64_t hash)
{
	return &m->chains[hash >> m->hash_shift];
}

static struct entry *find(const struct match *m, const struct key *k)
{
	struct entry *e;

	LIST_FOREACH(e, chain_of(m, k->hash), chain) {
		if (entry_is(e, k))
			return e;
	}
	return NULL;
}

static void forget(struct match *m, struct entry *e)
{
	if (e->qname_len >= INLINE_NAME)
		free(e->long_name);
	LIST_REMOVE(e, chain);
	TAILQ_REMOVE(&m->pending, e, age);
	LIST_INSERT_HEAD(&m->free, e, chain);
	m->stats.pending--;
}

/* A free entry; when all are pending, the oldest is forgotten for it. */
static struct entry *entry_new(struct match *m)
{
	struct entry *e;

	if (!LIST_FIRST(&m->free) && m->n_used == m->max_pending) {
		forget(m, TAILQ_FIRST(&m->pending));
		m->stats.evicted++;
	}
	e = LIST_FIRST(&m->free);
	if (!e)
		return &m->entries[m->n_used++];
	LIST_REMOVE(e, chain);
	return e;
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

	e = entry_new(m);
	e->hash = k.hash;
	e->ts_ns = ts_ns;
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
	LIST_INSERT_HEAD(chain_of(m, k.hash), e, chain);
	TAILQ_INSERT_TAIL(&m->pending, e, age);
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
	query_ts_ns = e->ts_ns;
	forget(m, e);
	m->stats.matched++;
	return ts_ns > query_ts_ns ? (int64_t)(ts_ns - query_ts_ns) : 0;
}

void match_expire(struct match *m, uint64_t now_ns, match_timeout_fn fn, void *ctx)
{
	struct entry *e;

	/* In arrival order: one query stamped later than those behind it holds them back,
	 * by no more than the difference. */
	while ((e = TAILQ_FIRST(&m->pending)) && now_ns >= e->ts_ns &&
	       now_ns - e->ts_ns >= m->timeout_ns) {
		struct match_timeout to = {
			.net = e->net,
			.process = e->process,
			.info = {
				.id = e->id,
				.qname = entry_qname(e),
				.qtype = e->qtype,
				.qclass = e->qclass,
				.waited_ns = now_ns - e->ts_ns,
			},
			.query_ts_ns = e->ts_ns,
		};

		m->stats.timeouts++;
		fn(ctx, &to);
		forget(m, e);
	}
}

const struct match_stats *match_stats(const struct match *m)
{
	return &m->stats;
}

struct match *match_new(uint64_t timeout_ns, size_t max_pending)
{
	struct match *m;
	size_t n_chains = 2;

	if (max_pending > UINT32_MAX) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m));
	if (!m)
		return NULL;
	m->timeout_ns = timeout_ns ?: MATCH_DEFAULT_TIMEOUT_NS;
	m->max_pending = max_pending ?: MATCH_DEFAULT_MAX_PENDING;
	m->seed = hash_seed();
	m->hash_shift = 63;
	/* One chain per 8 entries: a full table has short chains, and the chain heads of a
	 * table in normal use (far from full) stay in cache, which a lookup's first read
	 * otherwise misses. */
	while (n_chains < m->max_pending / 8) {
		n_chains *= 2;
		m->hash_shift--;
	}
	m->chains = calloc(n_chains, sizeof(*m->chains));
	m->entries = calloc(m->max_pending, sizeof(*m->entries));
	if (!m->chains || !m->entries) {
		match_free(m);
		errno = ENOMEM;
		return NULL;
	}
	LIST_INIT(&m->free);
	TAILQ_INIT(&m->pending);
	return m;
}

void match_free(struct match *m)
{
	struct entry *e;

	if (!m)
		return;
	while ((e = TAILQ_FIRST(&m->pending)))
		forget(m, e);
	free(m->entries);
	free(m->chains);
	free(m);
}
