#include "origin.h"

#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "table.h"

/* Table sizes (entries) and how long entries live. A packet's egress and ingress events are
 * microseconds apart; an upstream response may take a resolver's whole retry schedule. When
 * a table is full the oldest entry makes room. */
#define PACKET_SLOTS 1024
#define QUESTION_SLOTS 2048
#define UPSTREAM_SLOTS 2048
#define UPSTREAM_TTL_NS (10000ull * 1000000)

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

/* Every table's entries are the key, then the client. Keys are multiples of 8 bytes: the
 * client stays aligned. */
struct origin {
	struct table *packets;   /* packet_key -> the sender (or the client it forwards for) */
	struct table *questions; /* question_key -> the client that asked the server */
	struct table *upstream;  /* upstream_key -> the client the stub forwarded for */
};

static struct table *table_of(size_t slots, size_t key_size, uint64_t ttl_ns)
{
	struct table_opts opts = {
		.max_entries = slots,
		.entry_size = key_size + sizeof(struct proc_info),
		.key_size = key_size,
		.when_full = TABLE_EVICT,
		.ttl_ns = ttl_ns,
	};

	return table_new(&opts);
}

static struct proc_info *client_of(void *entry, size_t key_size)
{
	return (struct proc_info *)((uint8_t *)entry + key_size);
}

/* The client under key, if its entry is younger than the table's ttl. Events are only roughly
 * in time order across CPUs: an entry stamped later than those before it keeps them, by no
 * more than the difference. */
static const struct proc_info *get(struct table *t, const void *key, size_t key_size,
				   uint64_t now)
{
	void *e;

	table_expire(t, now, NULL, NULL);
	e = table_find(t, table_hash(t, key, key_size), key);
	return e ? client_of(e, key_size) : NULL;
}

/* keep: an entry for key stays as it is. */
static void put(struct table *t, const void *key, size_t key_size,
		const struct proc_info *client, uint64_t now, bool keep)
{
	uint64_t h = table_hash(t, key, key_size);
	void *e;

	table_expire(t, now, NULL, NULL);
	e = table_find(t, h, key);
	if (e && keep)
		return;
	if (e)
		table_touch(t, e, now);
	else
		e = table_insert(t, h, key, now);
	*client_of(e, key_size) = *client;
}

static void packet_key(struct packet_key *k, const struct net_info *n, uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->transport = n->transport;
	k->family = n->family;
	k->id = id;
	k->src_port = n->src_port;
	k->dst_port = n->dst_port;
	memcpy(k->src_ip, n->src_ip, sizeof(k->src_ip));
	memcpy(k->dst_ip, n->dst_ip, sizeof(k->dst_ip));
}

static void question_key(const struct origin *o, struct question_key *k, int32_t pid,
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
		.qname_hash = table_hash(o->questions, lower, i),
	};
}

static void upstream_key(struct upstream_key *k, uint64_t cookie, uint16_t id)
{
	memset(k, 0, sizeof(*k));
	k->cookie = cookie;
	k->id = id;
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

	if (!m || !m->has_question)
		return false;
	if (!m->qr && ev->net.direction == NET_EGRESS) {
		/* A query leaving its sender: upstream, if the sender received it from a client. */
		found = NULL;
		if (p->pid >= 0) {
			question_key(o, &qk, p->pid, m);
			found = get(o->questions, &qk, sizeof(qk), ts_ns);
		}
		if (found) {
			*client = *found;
			upstream_key(&uk, ev->net.socket_cookie, m->id);
			put(o->upstream, &uk, sizeof(uk), client, ts_ns, false);
		}
		identity(p, &sender);
		if (found || sender.pid >= 0) {
			packet_key(&pk, &ev->net, m->id);
			put(o->packets, &pk, sizeof(pk), found ? client : &sender, ts_ns, false);
		}
		return found;
	}
	if (!m->qr && p->pid >= 0) {
		/* A query arriving at a local server: who sent this very packet? The first client
		 * asking caused the forward: later ones do not replace it. */
		packet_key(&pk, &ev->net, m->id);
		found = get(o->packets, &pk, sizeof(pk), ts_ns);
		if (found) {
			question_key(o, &qk, p->pid, m);
			put(o->questions, &qk, sizeof(qk), found, ts_ns, true);
		}
		return false;
	}
	if (m->qr && ev->net.direction == NET_INGRESS) {
		upstream_key(&uk, ev->net.socket_cookie, m->id);
		found = get(o->upstream, &uk, sizeof(uk), ts_ns);
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
	o->packets = table_of(PACKET_SLOTS, sizeof(struct packet_key), ORIGIN_WINDOW_NS);
	o->questions = table_of(QUESTION_SLOTS, sizeof(struct question_key), ORIGIN_WINDOW_NS);
	o->upstream = table_of(UPSTREAM_SLOTS, sizeof(struct upstream_key), UPSTREAM_TTL_NS);
	if (!o->packets || !o->questions || !o->upstream) {
		origin_free(o);
		return NULL;
	}
	return o;
}

void origin_free(struct origin *o)
{
	if (!o)
		return;
	table_free(o->packets);
	table_free(o->questions);
	table_free(o->upstream);
	free(o);
}
