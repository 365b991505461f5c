/* domain.new: see correlate.h. The registered domains this host resolved, by a seeded hash
 * of the name, in a table of max_known (the least recently resolved evicted, counted): all
 * there is without a store; with one (pdns_known_seen) the table caches the file, which is
 * what says whether a domain is new. */
#include <stdlib.h>
#include <string.h>

#include "correlate_int.h"
#include "pdns.h"
#include "table.h"


static const char *const attack_acquired[] = { "T1583.001" };

struct known_domain {
	uint64_t key;
};

struct known {
	struct table *domains;
	struct pdns *store; /* NULL: none */
	uint64_t learning_ns;
	bool started;
	uint64_t learned_ns; /* CLOCK_MONOTONIC: the learning is over from then on */
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

int known_set_store(struct known *k, struct pdns *p, size_t max, uint64_t now_s,
		    uint64_t now_ns)
{
	uint64_t start_s, learnt_s;
	int err = pdns_known_open(p, max, now_s, &start_s);

	if (err)
		return err;
	/* the learning began in an earlier run, maybe before a reboot: seconds, not ns */
	learnt_s = now_s > start_s ? now_s - start_s : 0;
	k->store = p;
	k->started = true;
	k->learned_ns = learnt_s * 1000000000ull >= k->learning_ns ?
				0 :
				now_ns + k->learning_ns - learnt_s * 1000000000ull;
	return 0;
}

/* Whether domain is known; it is from now on. *first_seen: when it was first seen. */
static bool known_before(struct known *k, const char *domain, uint64_t ts_s, uint64_t *first_seen)
{
	uint64_t key = hash_finish(hash_bytes(table_seed(k->domains), domain, strlen(domain)));
	uint64_t h = table_hash(k->domains, &key, sizeof(key));
	struct known_domain *d;

	if ((d = table_find(k->domains, h, &key))) {
		table_touch(k->domains, d, 0);
		return true;
	}
	if ((d = table_insert(k->domains, h, &key, 0)))
		d->key = key;
	*first_seen = ts_s;
	/* a store that fails (logged, counted by pdns) says nothing is new */
	return k->store && pdns_known_seen(k->store, domain, ts_s, first_seen) != 0;
}

void known_judge(struct known *k, struct correlate *c, const struct event *ev,
		 const char *domain, const struct proc_info *who, const struct process_key *pk,
		 uint64_t now_ns)
{
	const struct dns_msg *m = ev->dns;
	uint64_t first_seen;
	struct slot *s;

	if (!k->started) {
		k->started = true;
		k->learned_ns = now_ns + k->learning_ns;
	}
	/* an NXDOMAIN or an empty answer is no domain that exists: a DGA burst stays out */
	if (m->rcode != DNS_RCODE_NOERROR || !m->an.n || !domain[0] ||
	    known_before(k, domain, ev->ts_ns / 1000000000ull, &first_seen))
		return;
	if (now_ns < k->learned_ns)
		return; /* learning: what a host resolves in its first day is its normal */
	s = correlate__fire(c, "domain.new", SEVERITY_INFO, attack_acquired, 1, m->qname, domain,
			    domain, pk, now_ns);
	if (!s)
		return;
	snprintf(s->summary, sizeof(s->summary),
		 "%s resolved %s, under %s, a registered domain this host had never resolved "
		 "before: attackers' domains are new where they are used.",
		 correlate__who_name(who), m->qname, domain);
	correlate__evidence_u64(s, "first_seen", first_seen);
}
