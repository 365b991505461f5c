/* resolver.bypass (correlate.h): a query to port 53 of a server that is not one of the
 * sending process's resolvers, and the processes that serve DNS on this host, whose queries
 * are their own upstream ones. */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "correlate_int.h"
#include "table.h"

/* The resolvers a process is configured to use, read from its view of etc/resolv.conf and
 * of systemd-resolved's upstream list, again after RESOLVERS_TTL_NS. Kept per process (pid
 * and comm): a mount namespace's inode number is reused once it is gone, so it cannot
 * name one namespace for a minute. */
#define RESOLVERS_MAX 8
#define RESOLVERS_TTL_NS 60000000000ull
struct resolvers {
	struct process_key key;
	unsigned n;
	struct call_addr addrs[RESOLVERS_MAX];
	char text[RESOLVERS_MAX][64];
	const char *names[RESOLVERS_MAX];
};

/* Processes that served DNS on this host: their queries are their own upstream ones. */
#define SERVERS_MAX 256
#define SERVERS_TTL_NS 3600000000000ull
struct dns_server {
	int32_t pid;
};

struct bypass {
	const struct correlate_opts *opts; /* the correlation's */
	struct table *resolvers, *servers;
};

struct bypass *bypass_new(const struct correlate_opts *opts)
{
	struct bypass *b = calloc(1, sizeof(*b));

	if (!b)
		return NULL;
	b->opts = opts;
	b->resolvers = table_new(&(struct table_opts){
		.max_entries = opts->max_processes, .entry_size = sizeof(struct resolvers),
		.key_size = sizeof(struct process_key), .when_full = TABLE_EVICT,
		.ttl_ns = RESOLVERS_TTL_NS });
	b->servers = table_new(&(struct table_opts){
		.max_entries = SERVERS_MAX, .entry_size = sizeof(struct dns_server),
		.key_size = sizeof(int32_t), .when_full = TABLE_EVICT, .ttl_ns = SERVERS_TTL_NS });
	if (!b->resolvers || !b->servers) {
		bypass_free(b);
		return NULL;
	}
	return b;
}

void bypass_free(struct bypass *b)
{
	if (!b)
		return;
	table_free(b->resolvers);
	table_free(b->servers);
	free(b);
}

/* The nameserver lines of path into r (up to RESOLVERS_MAX in all). */
static void read_nameservers(struct resolvers *r, const char *path)
{
	FILE *f = fopen(path, "re");
	char line[512];

	while (f && fgets(line, sizeof(line), f) && r->n < RESOLVERS_MAX) {
		char addr[INET6_ADDRSTRLEN + 8], *pct;
		struct call_addr *a = &r->addrs[r->n];

		if (sscanf(line, " nameserver %53s", addr) != 1)
			continue;
		if ((pct = strchr(addr, '%'))) /* fe80::1%eth0 */
			*pct = '\0';
		if (inet_pton(AF_INET, addr, a->addr) == 1)
			a->family = 4;
		else if (inet_pton(AF_INET6, addr, a->addr) == 1)
			a->family = 6;
		else
			continue;
		snprintf(r->text[r->n], sizeof(r->text[r->n]), "%s", addr);
		r->names[r->n] = r->text[r->n];
		r->n++;
	}
	if (f)
		fclose(f);
}

/* The resolvers of process p, read at most once a TTL (none when its /proc entry is gone:
 * then nothing is judged). */
static const struct resolvers *resolvers_of(struct bypass *b, const struct proc_info *p,
					    uint64_t now_ns)
{
	struct process_key key = correlate__key_of(p);
	uint64_t h = table_hash(b->resolvers, &key, sizeof(key));
	struct resolvers *r;
	char path[256];

	table_expire(b->resolvers, now_ns, NULL, NULL);
	if ((r = table_find(b->resolvers, h, &key)))
		return r;
	if (!(r = table_insert(b->resolvers, h, &key, now_ns)))
		return NULL;
	r->n = 0;
	snprintf(path, sizeof(path), "%s/%d/root/etc/resolv.conf", b->opts->proc_root, p->pid);
	read_nameservers(r, path);
	/* 127.0.0.53 is systemd-resolved's stub: its upstreams are configured too */
	snprintf(path, sizeof(path), "%s/%d/root/run/systemd/resolve/resolv.conf",
		 b->opts->proc_root, p->pid);
	read_nameservers(r, path);
	return r;
}

static bool same_addr(const struct call_addr *a, uint8_t family, const uint8_t *addr)
{
	return a->family == family && !memcmp(a->addr, addr, net_addr_len(family));
}

static bool is_multicast(uint8_t family, const uint8_t *addr)
{
	return family == 4 ? (addr[0] & 0xf0) == 0xe0 : addr[0] == 0xff;
}

/* A process whose socket answers DNS queries serves DNS here. */
void bypass_note_server(struct bypass *b, const struct event *ev, uint64_t now_ns)
{
	int32_t pid = ev->process.pid;
	uint64_t h;
	struct dns_server *d;

	if (pid < 0)
		return;
	h = table_hash(b->servers, &pid, sizeof(pid));
	if ((d = table_find(b->servers, h, &pid)))
		table_touch(b->servers, d, now_ns);
	else if ((d = table_insert(b->servers, h, &pid, now_ns)))
		d->pid = pid;
}

bool bypass_serves_dns(struct bypass *b, int32_t pid, uint64_t now_ns)
{
	table_expire(b->servers, now_ns, NULL, NULL);
	return table_find(b->servers, table_hash(b->servers, &pid, sizeof(pid)), &pid);
}

/* A query to a server the sending process is not configured to use. */
void bypass_judge(struct bypass *b, struct correlate *c, const struct event *ev,
		  const char *domain, const struct process_key *pk, uint64_t now_ns)
{
	const struct net_info *n = &ev->net;
	const struct proc_info *p = &ev->process; /* who sent it: a stub, for its client */
	const struct resolvers *r;
	struct slot *s;

	if (n->dst_port != 53 || p->pid < 0 || is_multicast(n->family, n->dst_ip) ||
	    bypass_serves_dns(b, p->pid, now_ns))
		return;
	for (size_t i = 0; i < b->opts->n_allowed_resolvers; i++)
		if (same_addr(&b->opts->allowed_resolvers[i], n->family, n->dst_ip))
			return;
	if (!(r = resolvers_of(b, p, now_ns)) || !r->n)
		return; /* no resolv.conf: nothing says what is configured */
	for (unsigned i = 0; i < r->n; i++)
		if (same_addr(&r->addrs[i], n->family, n->dst_ip))
			return;
	{
		char server[INET6_ADDRSTRLEN];

		inet_ntop(n->family == 4 ? AF_INET : AF_INET6, n->dst_ip, server, sizeof(server));
		s = correlate__fire(c, "resolver.bypass", SEVERITY_MEDIUM, correlate__attack_c2, 1,
				    ev->dns->qname, domain, server, pk, now_ns);
		if (!s)
			return;
		memcpy(s->text, server, sizeof(server));
	}
	snprintf(s->summary, sizeof(s->summary),
		 "%s sent a DNS query for %s to %s, which is not one of its configured "
		 "resolvers: DNS that goes around the resolver escapes its filtering and logs.",
		 correlate__who_name(p), ev->dns->qname, s->text);
	correlate__evidence_str(s, "server", s->text);
	correlate__evidence_list(s, "configured", r->names, r->n);
}
