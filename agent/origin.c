#include "origin.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "hash.h"

/* Table sizes (entries) and how long entries live. A packet's egress and ingress events are
 * microseconds apart; an upstream response may take a resolver's whole retry schedule. */
#define PACKET_SLOTS 1024
#define QUESTION_SLOTS 2048
#define UPSTREAM_SLOTS 2048
#define UPSTREAM_TTL_NS (10000ull * 1000000)
#define PROBES 8 /* slots looked at per key: beyond them the oldest entry is replaced */

/* A query packet: the sender's egress event and the receiver's ingress event share it. */
struct packet_key {
	uint8_t transport;
	uint8_t family;
	uint16_t id;
	uint16_t src_port;
	uint16_t dst_port;
	uint8_t src_ip[16];
	uint8_t dst_ip[16];
};

/* A question a local server received: the process, qtype and the lowercased qname as a
 * seeded 64-bit hash (names differing only in a hash collision, 1 in 2^64, would match). */
struct question_key {
	int32_t server_pid;
	uint16_t qtype;
	uint16_t qname_len;
	uint64_t qname_hash;
};

/* A stub's upstream query, waiting for its response on the same socket. */
struct upstream_key {
	uint64_t cookie;
	uint16_t id;
	uint8_t pad[6];
};

/* Open addressing with a bounded probe: every entry is a header, the key, then the client. */
struct table {
	size_t slots; /* power of two */
	size_t key_size;
	size_t entry_size;
	uint64_t ttl_ns;
	uint8_t *mem;
};

struct entry_hdr {
	uint64_t hash;
	uint64_t ts_ns; /* 0: empty */
};

struct origin {
	struct table packets;   /* packet_key -> the sender (or the client it forwards for) */
	struct table questions; /* question_key -> the client that asked the server */
	struct table upstream;  /* upstream_key -> the client the stub forwarded for */
	uint64_t seed;
};

static int table_init(struct table *t, size_t slots, size_t key_size, uint64_t ttl_ns)
{
	t->slots = slots;
	t->key_size = key_size;
	/* Keys are multiples of 8 bytes: the client stays aligned. */
	t->entry_size = sizeof(struct entry_hdr) + key_size + sizeof(struct proc_info);
	t->ttl_ns = ttl_ns;
	t->mem = calloc(slots, t->entry_size);
	return t->mem ? 0 : -1;
}

static uint64_t hash_key(const struct origin *o, const void *key, size_t len)
{
	return hash_finish(hash_bytes(o->seed, key, len));
}

static struct entry_hdr *slot(const struct table *t, uint64_t i)
{
	return (struct entry_hdr *)(t->mem + (i & (t->slots - 1)) * t->entry_size);
}

static bool live(const struct table *t, const struct entry_hdr *e, uint64_t now)
{
	/* Signed: events are only roughly in time order across CPUs. */
	return e->ts_ns && (int64_t)(now - e->ts_ns) <= (int64_t)t->ttl_ns;
}

static bool same_key(const struct table *t, const struct entry_hdr *e, uint64_t h,
		     const void *key)
{
	return e->hash == h && memcmp(e + 1, key, t->key_size) == 0;
}

static struct proc_info *value_of(const struct table *t, struct entry_hdr *e)
{
	return (struct proc_info *)((uint8_t *)(e + 1) + t->key_size);
}

/* h: hash_key() of the key. */
static const struct proc_info *table_get(const struct table *t, const void *key, uint64_t h,
					 uint64_t now)
{
	for (unsigned int i = 0; i < PROBES; i++) {
		struct entry_hdr *e = slot(t, h + i);

		if (live(t, e, now) && same_key(t, e, h, key))
			return value_of(t, e);
	}
	return NULL;
}

/* keep: a live entry for key stays as it is. */
static void table_put(struct table *t, const void *key, uint64_t h,
		      const struct proc_info *client, uint64_t now, bool keep)
{
	struct entry_hdr *victim = NULL;

	for (unsigned int i = 0; i < PROBES; i++) {
		struct entry_hdr *e = slot(t, h + i);

		if (live(t, e, now) && same_key(t, e, h, key)) {
			if (keep)
				return;
			victim = e;
			break;
		}
		/* Empty and expired slots have the oldest times. */
		if (!victim || e->ts_ns < victim->ts_ns)
			victim = e;
	}
	victim->hash = h;
	victim->ts_ns = now ? now : 1;
	memcpy(victim + 1, key, t->key_size);
	*value_of(t, victim) = *client;
}

static uint64_t packet_key(const struct origin *o, struct packet_key *k, const struct net_info *n,
			   uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->transport = n->transport;
	k->family = n->family;
	k->id = id;
	k->src_port = n->src_port;
	k->dst_port = n->dst_port;
	memcpy(k->src_ip, n->src_ip, sizeof(k->src_ip));
	memcpy(k->dst_ip, n->dst_ip, sizeof(k->dst_ip));
	return hash_key(o, k, sizeof(*k));
}

static uint64_t question_key(const struct origin *o, struct question_key *k, int32_t pid,
			     const struct dns_msg *m)
{
	char lower[DNS_MAX_PRESENTATION];
	size_t i;

	for (i = 0; i < sizeof(lower) && m->qname[i]; i++)
		lower[i] = dns_ascii_lower(m->qname[i]);
	*k = (struct question_key){
		.server_pid = pid,
		.qtype = m->qtype,
		.qname_len = i,
		.qname_hash = hash_bytes(o->seed, lower, i),
	};
	return hash_key(o, k, sizeof(*k));
}

static uint64_t upstream_key(const struct origin *o, struct upstream_key *k, uint64_t cookie,
			     uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->cookie = cookie;
	k->id = id;
	return hash_key(o, k, sizeof(*k));
}

/* Who a process is, without the strings that point into the process cache. */
static void identity(const struct proc_info *p, struct proc_info *out)
{
	*out = (struct proc_info){
		.pid = p->pid,
		.tid = p->tid,
		.ppid = -1,
		.uid = p->uid,
		.gid = p->gid,
		.cgroup_id = p->cgroup_id,
	};
	memcpy(out->comm, p->comm, sizeof(out->comm));
}

bool origin_message(struct origin *o, const struct event *ev, uint64_t ts_ns,
		    struct proc_info *client)
{
	const struct dns_msg *m = ev->dns;
	const struct proc_info *p = &ev->process;
	const struct proc_info *found;
	struct question_key qk;
	struct upstream_key uk;
	struct packet_key pk;
	struct proc_info sender;
	uint64_t h;

	if (!m || !m->has_question)
		return false;
	if (!m->qr && ev->net.direction == NET_EGRESS) {
		/* A query leaving its sender: upstream, if the sender received it from a client. */
		found = NULL;
		if (p->pid >= 0)
			found = table_get(&o->questions, &qk, question_key(o, &qk, p->pid, m), ts_ns);
		if (found) {
			*client = *found;
			h = upstream_key(o, &uk, ev->net.socket_cookie, m->id);
			table_put(&o->upstream, &uk, h, client, ts_ns, false);
		}
		identity(p, &sender);
		if (found || sender.pid >= 0)
			table_put(&o->packets, &pk, packet_key(o, &pk, &ev->net, m->id),
				  found ? client : &sender, ts_ns, false);
		return found;
	}
	if (!m->qr && p->pid >= 0) {
		/* A query arriving at a local server: who sent this very packet? The first client
		 * asking caused the forward: later ones do not replace it. */
		found = table_get(&o->packets, &pk, packet_key(o, &pk, &ev->net, m->id), ts_ns);
		if (found)
			table_put(&o->questions, &qk, question_key(o, &qk, p->pid, m), found, ts_ns,
				  true);
		return false;
	}
	if (m->qr && ev->net.direction == NET_INGRESS) {
		h = upstream_key(o, &uk, ev->net.socket_cookie, m->id);
		found = table_get(&o->upstream, &uk, h, ts_ns);
		if (found)
			*client = *found;
		return found;
	}
	return false;
}

struct origin *origin_new(void)
{
	struct origin *o = calloc(1, sizeof(*o));

	if (!o)
		return NULL;
	o->seed = hash_seed();
	if (table_init(&o->packets, PACKET_SLOTS, sizeof(struct packet_key), ORIGIN_WINDOW_NS) ||
	    table_init(&o->questions, QUESTION_SLOTS, sizeof(struct question_key),
		       ORIGIN_WINDOW_NS) ||
	    table_init(&o->upstream, UPSTREAM_SLOTS, sizeof(struct upstream_key),
		       UPSTREAM_TTL_NS)) {
		origin_free(o);
		return NULL;
	}
	return o;
}

void origin_free(struct origin *o)
{
	if (!o)
		return;
	free(o->packets.mem);
	free(o->questions.mem);
	free(o->upstream.mem);
	free(o);
}
