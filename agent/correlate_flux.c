/* fastflux: see correlate.h. Holz et al. (NDSS 2008) score a domain by the A records and the
 * ASNs its answers showed, f = 1.32 n_A + 18.54 n_ASN, flux at 142.38. A host has no ASN
 * data; distinct /24 (IPv4) and /48 (IPv6) networks stand in for ASNs. */
#include <stdlib.h>
#include <string.h>

#include "correlate_int.h"
#include "table.h"

/* Addresses counted per domain: with 64 at most, three networks score 1.32 * 64 + 18.54 * 3
 * = 140.1, under the threshold, so a CDN answering from a few /24s never fires however many
 * addresses it rotates; four or more networks are needed. */
#define FLUX_ADDRS 64
#define FLUX_NETS 64

static const char *const attack_flux[] = { "T1568.001" };

struct flux_domain {
	uint64_t key; /* hash of the registered domain */
	uint64_t addr[FLUX_ADDRS]; /* hashes of the distinct addresses */
	uint64_t net[FLUX_NETS];   /* hashes of their /24 or /48 */
	unsigned n_addr, n_net;
	uint32_t min_ttl;
	bool fired;
};

struct flux {
	struct table *domains;
	uint32_t ttl_max;
	unsigned score; /* hundredths */
};

struct flux *flux_new(const struct correlate_opts *opts, struct correlate *c)
{
	struct flux *f = calloc(1, sizeof(*f));

	if (!f)
		return NULL;
	f->ttl_max = opts->flux_ttl_max;
	f->score = opts->flux_score;
	/* not touched: a domain's window starts at its first low-TTL answer */
	f->domains = table_new(&(struct table_opts){
		.max_entries = opts->max_flux_domains, .entry_size = sizeof(struct flux_domain),
		.key_size = sizeof(uint64_t), .when_full = TABLE_EVICT,
		.on_evict = correlate__count_eviction, .ctx = c, .ttl_ns = opts->flux_window_ns });
	if (!f->domains) {
		free(f);
		return NULL;
	}
	return f;
}

void flux_free(struct flux *f)
{
	if (!f)
		return;
	table_free(f->domains);
	free(f);
}

/* Adds h to the set (of at most max); returns whether it was new. */
static bool set_add(uint64_t *set, unsigned *n, unsigned max, uint64_t h)
{
	for (unsigned i = 0; i < *n; i++)
		if (set[i] == h)
			return false;
	if (*n == max)
		return false;
	set[(*n)++] = h;
	return true;
}

static unsigned score_of(const struct flux_domain *d)
{
	return 132 * d->n_addr + 1854 * d->n_net;
}

void flux_judge(struct flux *f, struct correlate *c, const struct event *ev, const char *domain,
		const struct proc_info *who, const struct process_key *pk, uint64_t now_ns)
{
	const struct dns_msg *m = ev->dns;
	uint64_t seed = table_seed(f->domains), key, h;
	struct flux_domain *d = NULL;
	struct slot *s;
	unsigned score;

	if (m->rcode != DNS_RCODE_NOERROR || !domain[0])
		return;
	key = hash_finish(hash_bytes(seed, domain, strlen(domain)));
	h = table_hash(f->domains, &key, sizeof(key));
	table_expire(f->domains, now_ns, NULL, NULL);
	for (size_t i = 0; i < m->an.n; i++) {
		const struct dns_rr *rr = &m->an.rrs[i];
		size_t net_len = rr->addr_len == 4 ? 3 : 6; /* /24, /48 */

		if ((rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA) || !rr->addr ||
		    rr->ttl > f->ttl_max)
			continue; /* a stable address: not flux */
		if (!d && !(d = table_find(f->domains, h, &key))) {
			if (!(d = table_insert(f->domains, h, &key, now_ns)))
				return;
			memset(d, 0, sizeof(*d));
			d->key = key;
			d->min_ttl = UINT32_MAX;
		}
		set_add(d->addr, &d->n_addr, FLUX_ADDRS, hash_bytes(seed, rr->addr, rr->addr_len));
		set_add(d->net, &d->n_net, FLUX_NETS, hash_bytes(seed ^ 1, rr->addr, net_len));
		if (rr->ttl < d->min_ttl)
			d->min_ttl = rr->ttl;
	}
	if (!d || d->fired || (score = score_of(d)) < f->score)
		return;
	d->fired = true; /* the domain's property: once a window, to the process that tipped it */
	s = correlate__fire(c, "fastflux", SEVERITY_MEDIUM, attack_flux, 1, m->qname, domain,
			    domain, pk, now_ns);
	if (!s)
		return;
	snprintf(s->text, sizeof(s->text), "%u.%02u", score / 100, score % 100);
	snprintf(s->summary, sizeof(s->summary),
		 "%s resolved %s, whose answers gave %u addresses in %u networks with TTLs down to "
		 "%u s (flux score %s): fast-flux networks hide a server behind many short-lived "
		 "compromised hosts.",
		 correlate__who_name(who), m->qname, d->n_addr, d->n_net, d->min_ttl, s->text);
	correlate__evidence_u64(s, "addresses", d->n_addr);
	correlate__evidence_u64(s, "networks", d->n_net);
	correlate__evidence_u64(s, "min_ttl", d->min_ttl);
	correlate__evidence_str(s, "score", s->text);
}
