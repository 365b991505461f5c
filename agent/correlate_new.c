/* domain.new: see correlate.h. The registered domains this host resolved, by a seeded hash
 * of the name, in a table of max_known (the least recently resolved evicted, counted). */
#include <stdlib.h>
#include <string.h>

#include "correlate_int.h"
#include "table.h"

#define RCODE_NOERROR 0

static const char *const attack_acquired[] = { "T1583.001" };

struct known_domain {
	uint64_t key;
};

struct known {
	struct table *domains;
	uint64_t learning_ns;
	uint64_t start_ns; /* of the knowledge: the first lookup judged; 0: none yet */
};

struct known *known_new(const struct correlate_opts *opts, struct correlate *c)
{
	struct known *k = calloc(1, sizeof(*k));

	if (!k)
		return NULL;
	k->learning_ns = opts->new_learning_ns;
	k->domains = table_new(&(struct table_opts){
		.max_entries = opts->max_known, .entry_size = sizeof(struct known_domain),
		.key_size = sizeof(uint64_t), .when_full = TABLE_EVICT,
		.on_evict = correlate__count_eviction, .ctx = c });
	if (!k->domains) {
		free(k);
		return NULL;
	}
	return k;
}

void known_free(struct known *k)
{
	if (!k)
		return;
	table_free(k->domains);
	free(k);
}

void known_judge(struct known *k, struct correlate *c, const struct event *ev,
		 const char *domain, const struct proc_info *who, const struct process_key *pk,
		 uint64_t now_ns)
{
	const struct dns_msg *m = ev->dns;
	uint64_t key, h;
	struct known_domain *d;
	struct slot *s;

	if (!k->start_ns)
		k->start_ns = now_ns ? now_ns : 1;
	/* an NXDOMAIN or an empty answer is no domain that exists: a DGA burst stays out */
	if (m->rcode != RCODE_NOERROR || !m->an.n || !domain[0])
		return;
	key = hash_finish(hash_bytes(table_seed(k->domains), domain, strlen(domain)));
	h = table_hash(k->domains, &key, sizeof(key));
	if ((d = table_find(k->domains, h, &key))) {
		table_touch(k->domains, d, 0);
		return;
	}
	if ((d = table_insert(k->domains, h, &key, 0)))
		d->key = key;
	if (now_ns - k->start_ns < k->learning_ns)
		return; /* learning: what a host resolves in its first day is its normal */
	s = fire(c, "domain.new", SEVERITY_INFO, attack_acquired, 1, m->qname, domain, domain, pk,
		 now_ns);
	if (!s)
		return;
	snprintf(s->summary, sizeof(s->summary),
		 "%s resolved %s, under %s, a registered domain this host had never resolved "
		 "before: attackers' domains are new where they are used.",
		 who_name(who), m->qname, domain);
	evidence_u64(s, "first_seen", ev->ts_ns / 1000000000ull);
}
