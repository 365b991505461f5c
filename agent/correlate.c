/* The traffic-only correlation rules: see correlate.h. */
#include "correlate.h"
#include "correlate_int.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "array.h"
#include "dgascore.h"
#include "hash.h"
#include "table.h"


/* Distinct hashes seen within a window: the sliding counts of the window rules. */
struct window {
	uint64_t hash[CORRELATE_WINDOW_MAX];
	uint64_t ts[CORRELATE_WINDOW_MAX];
	unsigned n;
};

struct process_state {
	struct process_key key;
	struct window nxdomains; /* registered domains answered NXDOMAIN */
	struct window generated; /* those of them whose label looks generated (dgascore.h) */
};

struct pair_state {
	uint64_t key; /* hash of the process key and the registered domain */
	struct window names;
	struct window txt; /* distinct TXT and NULL names */
};

struct reported {
	uint64_t key; /* hash of rule, process and registered domain */
};

/* libpsl takes about a microsecond per name, and names repeat: the registered domains of
 * recent names (and whether they are DoH endpoints) are kept, by a seeded 64-bit hash of the
 * name (a collision, 2^-64 for any two names, would cost one name its registered domain; a
 * sender cannot aim at one). */
struct domain_entry {
	uint64_t name;
	bool doh; /* a DoH endpoint or Firefox's canary: doh_endpoints[] looked through once */
	char domain[REGDOM_NAME_MAX + 1]; /* "": none */
};
#define DOMAIN_CACHE 4096

struct correlate {
	struct correlate_opts opts;
	const struct regdom *regdom;
	const struct intel *intel;
	struct nsinfra *nsinfra;
	struct flux *flux;
	struct known *known;
	struct table *processes, *pairs, *reported, *domains;
	struct bypass *bypass;
	struct correlate_stats stats;
	struct slot slots[CORRELATE_MAX_FINDINGS];
	struct finding out[CORRELATE_MAX_FINDINGS];
	size_t n_out;
	char domain[REGDOM_NAME_MAX + 1];
	bool doh; /* of the lookup at hand: find_domain's */
};

static const char *const attack_recon[] = { "T1590.002" };
static const char *const attack_protocol_tunnel[] = { "T1572" };
static const char *const attack_tunnel[] = { "T1071.004", "T1048.003" };
static const char *const attack_dga[] = { "T1568.002" };
const char *const correlate__attack_c2[] = { "T1071.004" };
static const char *const attack_dns_server[] = { "T1584.002" };

/* DNS-over-HTTPS endpoints of the public resolvers browsers and tools offer: a process that
 * resolves one may send its lookups there, past this host's resolver and this agent. */
static const char *const doh_endpoints[] = {
	"dns.google",	       "dns64.dns.google",	 "cloudflare-dns.com",
	"mozilla.cloudflare-dns.com", "chrome.cloudflare-dns.com", "1dot1dot1dot1.cloudflare-dns.com",
	"security.cloudflare-dns.com", "family.cloudflare-dns.com", "dns.quad9.net",
	"dns9.quad9.net",	       "dns10.quad9.net",	 "dns11.quad9.net",
	"doh.opendns.com",	       "doh.familyshield.opendns.com", "dns.adguard.com",
	"dns.adguard-dns.com",	       "doh.cleanbrowsing.org",	 "dns.nextdns.io",
	"doh.dns.sb",		       "dns.twnic.tw",		 "doh.mullvad.net",
	"dns.controld.com",	       "freedns.controld.com",	 "doh.libredns.gr",
};
#define DOH_CANARY "use-application-dns.net"

/* Forgets what fell out of the window; whether hash (0: none) is in it, renewed. */
static bool window_prune(struct window *w, uint64_t hash, uint64_t now_ns, uint64_t span_ns)
{
	unsigned kept = 0;
	bool seen = false;

	for (unsigned i = 0; i < w->n; i++) {
		if (now_ns - w->ts[i] >= span_ns)
			continue; /* out of the window */
		if (hash && w->hash[i] == hash) {
			w->ts[i] = now_ns;
			seen = true;
		}
		w->hash[kept] = w->hash[i];
		w->ts[kept++] = w->ts[i];
	}
	w->n = kept;
	return seen;
}

static unsigned window_count(struct window *w, uint64_t now_ns, uint64_t span_ns)
{
	window_prune(w, 0, now_ns, span_ns);
	return w->n;
}

static unsigned window_add(struct window *w, uint64_t hash, uint64_t now_ns, uint64_t span_ns)
{
	if (!window_prune(w, hash, now_ns, span_ns) && w->n < CORRELATE_WINDOW_MAX) {
		w->hash[w->n] = hash;
		w->ts[w->n++] = now_ns;
	}
	return w->n;
}

static uint64_t name_hash(uint64_t seed, const char *name)
{
	uint64_t h = seed;

	for (const char *c = name; *c; c++) /* names compare without case */
		h = (h ^ (uint8_t)dns_ascii_lower(*c)) * HASH_MULTIPLIER;
	return hash_finish(h);
}

void correlate__count_eviction(void *ctx, void *entry)
{
	(void)entry;
	((struct correlate *)ctx)->stats.evicted++;
}

struct correlate *correlate_new(const struct correlate_opts *opts, const struct regdom *r)
{
	struct correlate *c;

	if (!opts->tunnel_names || opts->tunnel_names > CORRELATE_WINDOW_MAX ||
	    !opts->nxdomain_domains || opts->nxdomain_domains > CORRELATE_WINDOW_MAX ||
	    !opts->txt_names || opts->txt_names > CORRELATE_WINDOW_MAX) {
		errno = EINVAL;
		return NULL;
	}
	if (!(c = calloc(1, sizeof(*c))))
		return NULL;
	c->opts = *opts;
	c->regdom = r;
	c->processes = table_new(&(struct table_opts){
		.max_entries = opts->max_processes, .entry_size = sizeof(struct process_state),
		.key_size = sizeof(struct process_key), .when_full = TABLE_EVICT,
		.on_evict = correlate__count_eviction, .ctx = c, .ttl_ns = opts->nxdomain_window_ns });
	c->pairs = table_new(&(struct table_opts){
		.max_entries = opts->max_pairs, .entry_size = sizeof(struct pair_state),
		.key_size = sizeof(uint64_t), .when_full = TABLE_EVICT,
		.on_evict = correlate__count_eviction, .ctx = c, .ttl_ns = opts->tunnel_window_ns });
	c->reported = table_new(&(struct table_opts){
		.max_entries = opts->max_pairs, .entry_size = sizeof(struct reported),
		.key_size = sizeof(uint64_t), .when_full = TABLE_EVICT,
		.ttl_ns = opts->dedup_window_ns });
	c->domains = table_new(&(struct table_opts){
		.max_entries = DOMAIN_CACHE, .entry_size = sizeof(struct domain_entry),
		.key_size = sizeof(uint64_t), .when_full = TABLE_EVICT });
	c->bypass = bypass_new(&c->opts);
	c->flux = flux_new(opts, c);
	c->known = known_new(opts, c);
	if (!c->processes || !c->pairs || !c->reported || !c->domains || !c->bypass ||
	    !c->flux || !c->known) {
		correlate_free(c);
		errno = ENOMEM;
		return NULL;
	}
	return c;
}

void correlate_free(struct correlate *c)
{
	if (!c)
		return;
	table_free(c->processes);
	table_free(c->pairs);
	table_free(c->reported);
	table_free(c->domains);
	bypass_free(c->bypass);
	flux_free(c->flux);
	known_free(c->known);
	free(c);
}

const struct correlate_stats *correlate_stats(const struct correlate *c)
{
	return &c->stats;
}

void correlate_set_intel(struct correlate *c, const struct intel *intel)
{
	c->intel = intel;
}

void correlate_set_nsinfra(struct correlate *c, struct nsinfra *n)
{
	c->nsinfra = n;
}

int correlate_set_store(struct correlate *c, struct pdns *p, uint64_t now_s, uint64_t now_ns)
{
	return known_set_store(c->known, p, c->opts.max_known, now_s, now_ns);
}

static bool is_doh_endpoint(const char *qname)
{
	if (!strcasecmp(qname, DOH_CANARY))
		return true;
	for (size_t i = 0; i < ARRAY_LEN(doh_endpoints); i++)
		if (!strcasecmp(qname, doh_endpoints[i]))
			return true;
	return false;
}

/* The registered domain of qname into c->domain ("" when it has none), and c->doh. */
static void find_domain(struct correlate *c, const char *qname)
{
	uint64_t name = name_hash(table_seed(c->domains), qname);
	uint64_t h = table_hash(c->domains, &name, sizeof(name));
	struct domain_entry *d = table_find(c->domains, h, &name);

	if (d) {
		table_touch(c->domains, d, 0);
		memcpy(c->domain, d->domain, strlen(d->domain) + 1);
		c->doh = d->doh;
		return;
	}
	if (regdom_of(c->regdom, qname, c->domain, sizeof(c->domain)))
		c->domain[0] = '\0';
	c->doh = is_doh_endpoint(qname);
	if ((d = table_insert(c->domains, h, &name, 0))) {
		memcpy(d->domain, c->domain, sizeof(d->domain));
		d->doh = c->doh;
	}
}

struct process_key correlate__key_of(const struct proc_info *p)
{
	struct process_key k = { .pid = p->pid };

	memcpy(k.comm, p->comm, sizeof(k.comm));
	return k;
}

/* Whether (rule, process, domain) was reported within the dedup window; records it if not. */
static bool reported_before(struct correlate *c, const char *rule, const struct process_key *pk,
			    const char *domain, uint64_t now_ns)
{
	uint64_t key = name_hash(hash_bytes(table_seed(c->reported), pk, sizeof(*pk)), rule);
	uint64_t h;
	struct reported *r;

	key = name_hash(key, domain);
	h = table_hash(c->reported, &key, sizeof(key));
	table_expire(c->reported, now_ns, NULL, NULL);
	if (table_find(c->reported, h, &key))
		return true;
	r = table_insert(c->reported, h, &key, now_ns);
	if (r)
		r->key = key;
	return false;
}

/* A new finding of rule, or NULL when it was reported before (counted) or no slot is left. */
struct slot *correlate__fire(struct correlate *c, const char *rule, uint8_t severity,
			     const char *const *attack, size_t n_attack, const char *qname,
			     const char *domain, const char *dedup_domain,
			     const struct process_key *pk, uint64_t now_ns)
{
	struct slot *s;

	if (c->n_out == CORRELATE_MAX_FINDINGS)
		return NULL;
	if (reported_before(c, rule, pk, dedup_domain, now_ns)) {
		c->stats.suppressed++;
		return NULL;
	}
	s = &c->slots[c->n_out++];
	s->f = (struct finding){
		.rule = rule,
		.severity = severity,
		.attack = attack,
		.n_attack = n_attack,
		.summary = s->summary,
		.qname = qname,
		.registered_domain = domain[0] ? domain : NULL,
		.evidence = s->evidence,
	};
	c->stats.findings++;
	return s;
}

void correlate__evidence_str(struct slot *s, const char *name, const char *value)
{
	s->evidence[s->f.n_evidence++] = (struct evidence){ name, EVIDENCE_STRING, value };
}

void correlate__evidence_u64(struct slot *s, const char *name, uint64_t value)
{
	s->evidence[s->f.n_evidence++] = (struct evidence){ name, EVIDENCE_U64, NULL, value };
}

void correlate__evidence_list(struct slot *s, const char *name, const char *const *list, size_t n)
{
	s->evidence[s->f.n_evidence++] = (struct evidence){ name, EVIDENCE_LIST, NULL, 0, list, n };
}

const char *correlate__who_name(const struct proc_info *p)
{
	return p->comm[0] ? p->comm : "an unknown process";
}

static bool under_arpa(const char *qname)
{
	size_t n = strlen(qname);

	return n >= 4 && !strcasecmp(qname + n - 4, "arpa") && (n == 4 || qname[n - 5] == '.');
}

static void judge_query(struct correlate *c, const struct event *ev, const struct proc_info *who,
			const struct process_key *pk, uint64_t now_ns)
{
	const struct dns_msg *m = ev->dns;
	const char *qname = m->qname, *domain = c->domain;
	size_t sub_len;
	struct slot *s;

	if (m->qtype == DNS_TYPE_AXFR || m->qtype == DNS_TYPE_IXFR) {
		s = correlate__fire(c, "zone.transfer", SEVERITY_MEDIUM, attack_recon, 1, qname,
				    domain, domain, pk, now_ns);
		if (s) {
			inet_ntop(ev->net.family == 4 ? AF_INET : AF_INET6, ev->net.dst_ip, s->text,
				  sizeof(s->text));
			snprintf(s->summary, sizeof(s->summary),
				 "%s asked %s for a zone transfer (%s) of %s: a whole zone's names "
				 "are reconnaissance.",
				 correlate__who_name(who), s->text,
				 m->qtype == DNS_TYPE_AXFR ? "AXFR" : "IXFR", qname);
			correlate__evidence_str(s, "qtype",
						m->qtype == DNS_TYPE_AXFR ? "AXFR" : "IXFR");
			correlate__evidence_str(s, "server", s->text);
		}
	}
	if (c->doh) {
		bool canary = !strcasecmp(qname, DOH_CANARY);

		s = correlate__fire(c, "doh.endpoint", SEVERITY_INFO, attack_protocol_tunnel, 1,
				    qname, domain, domain, pk, now_ns);
		if (s) {
			snprintf(s->summary, sizeof(s->summary),
				 canary ? "%s looked up %s, Firefox's canary: the browser is about to "
					  "decide whether to send its lookups over HTTPS instead." :
					  "%s looked up the DNS-over-HTTPS endpoint %s: lookups sent "
					  "there bypass this host's resolver and this agent.",
				 correlate__who_name(who), qname);
			correlate__evidence_str(s, "endpoint", qname);
		}
	}
	if (!domain[0] || under_arpa(qname))
		return;
	sub_len = strlen(qname) - strlen(domain);
	sub_len -= sub_len > 0; /* the dot before the registered domain */
	if (sub_len >= c->opts.tunnel_subdomain_min) {
		s = correlate__fire(c, "dns.tunnel", SEVERITY_MEDIUM, attack_tunnel, 2, qname,
				    domain, domain, pk, now_ns);
		if (s) {
			snprintf(s->summary, sizeof(s->summary),
				 "%s looked up a %zu-character name under %s: data can be carried "
				 "out in the labels of DNS queries.",
				 correlate__who_name(who), sub_len, domain);
			correlate__evidence_str(s, "reason", "long subdomain");
			correlate__evidence_u64(s, "subdomain_length", sub_len);
		}
	} else {
		uint64_t key = name_hash(hash_bytes(table_seed(c->pairs), pk, sizeof(*pk)), domain);
		uint64_t h = table_hash(c->pairs, &key, sizeof(key));
		struct pair_state *p;
		unsigned n;

		table_expire(c->pairs, now_ns, NULL, NULL);
		p = table_find(c->pairs, h, &key);
		if (!p && (p = table_insert(c->pairs, h, &key, now_ns))) {
			memset(p, 0, sizeof(*p));
			p->key = key;
		}
		if (!p)
			return;
		table_touch(c->pairs, p, now_ns);
		n = window_add(&p->names, name_hash(0, qname), now_ns, c->opts.tunnel_window_ns);
		if (n >= c->opts.tunnel_names &&
		    (s = correlate__fire(c, "dns.tunnel", SEVERITY_MEDIUM, attack_tunnel, 2, qname,
					 domain, domain, pk, now_ns))) {
			snprintf(s->summary, sizeof(s->summary),
				 "%s looked up %u distinct names under %s within %llu s: data can "
				 "be carried out in the labels of DNS queries.",
				 correlate__who_name(who), n, domain,
				 (unsigned long long)(c->opts.tunnel_window_ns / 1000000000ull));
			correlate__evidence_str(s, "reason", "many names");
			correlate__evidence_u64(s, "distinct_names", n);
		}
		/* distinct names: an MTA's repeated SPF and DKIM lookups of one sender are few */
		if ((m->qtype == DNS_TYPE_TXT || m->qtype == DNS_TYPE_NULL) &&
		    (n = window_add(&p->txt, name_hash(0, qname), now_ns,
				    c->opts.tunnel_window_ns)) >= c->opts.txt_names &&
		    (s = correlate__fire(c, "dns.tunnel", SEVERITY_MEDIUM, attack_tunnel, 2, qname,
					 domain, domain, pk, now_ns))) {
			snprintf(s->summary, sizeof(s->summary),
				 "%s made %u %s queries for distinct names under %s within %llu s: "
				 "TXT and NULL answers carry data into a tunnel.",
				 correlate__who_name(who), n,
				 m->qtype == DNS_TYPE_TXT ? "TXT" : "NULL", domain,
				 (unsigned long long)(c->opts.tunnel_window_ns / 1000000000ull));
			correlate__evidence_str(s, "reason", "txt volume");
			correlate__evidence_str(s, "qtype",
						m->qtype == DNS_TYPE_TXT ? "TXT" : "NULL");
			correlate__evidence_u64(s, "queries", n);
		}
	}
}

static void judge_response(struct correlate *c, const struct event *ev,
			   const struct proc_info *who, const struct process_key *pk,
			   uint64_t now_ns)
{
	const struct dns_msg *m = ev->dns;
	uint64_t h = table_hash(c->processes, pk, sizeof(*pk));
	struct process_state *p;
	unsigned n, generated;
	uint64_t domain_hash;
	struct slot *s;

	if (m->rcode != DNS_RCODE_NXDOMAIN || !c->domain[0] || under_arpa(m->qname))
		return;
	table_expire(c->processes, now_ns, NULL, NULL);
	p = table_find(c->processes, h, pk);
	if (!p && (p = table_insert(c->processes, h, pk, now_ns)))
		memset((char *)p + sizeof(p->key), 0, sizeof(*p) - sizeof(p->key));
	if (!p)
		return;
	table_touch(c->processes, p, now_ns);
	domain_hash = name_hash(0, c->domain);
	n = window_add(&p->nxdomains, domain_hash, now_ns, c->opts.nxdomain_window_ns);
	/* the registered label: "example" of example.co.uk */
	generated = dgascore_generated(dgascore_label(c->domain, strcspn(c->domain, "."))) ?
			    window_add(&p->generated, domain_hash, now_ns, c->opts.nxdomain_window_ns) :
			    window_count(&p->generated, now_ns, c->opts.nxdomain_window_ns);
	if (n < c->opts.nxdomain_domains)
		return;
	/* Half the names or more look machine-made: what a DGA's burst looks like, and what a
	 * mistyped or stale list of real names does not. */
	s = correlate__fire(c, "dga.nxdomain", 2 * generated >= n ? SEVERITY_HIGH : SEVERITY_MEDIUM,
			    attack_dga, 1, m->qname, c->domain, "", pk, now_ns);
	if (s) {
		snprintf(s->summary, sizeof(s->summary),
			 "%s got NXDOMAIN for %u distinct registered domains within %llu s, %u of "
			 "them looking generated: malware looking for its generated rendezvous "
			 "domain does that.",
			 correlate__who_name(who), n,
			 (unsigned long long)(c->opts.nxdomain_window_ns / 1000000000ull), generated);
		correlate__evidence_u64(s, "distinct_domains", n);
		correlate__evidence_u64(s, "generated_domains", generated);
	}
}

static uint8_t severity_of(const struct intel_hit *hit)
{
	return hit->confidence >= 80 ? SEVERITY_HIGH :
	       hit->confidence >= 50 ? SEVERITY_MEDIUM :
				       SEVERITY_LOW;
}

/* The ThreatFox malware and its comma-separated tags, as one list. */
static size_t split_tags(struct slot *s, const struct intel_hit *hit)
{
	size_t n = 0;
	char *save, *tag;

	if (hit->malware[0])
		s->tags[n++] = hit->malware;
	snprintf(s->tag_text, sizeof(s->tag_text), "%s", hit->tags);
	for (tag = strtok_r(s->tag_text, ", ", &save); tag && n < TAGS_MAX;
	     tag = strtok_r(NULL, ", ", &save))
		s->tags[n++] = tag;
	return n;
}

/* An intel finding of rule about hit, or NULL (reported before, no slot left). */
static struct slot *fire_intel(struct correlate *c, const char *rule, const char *const *attack,
			       const struct intel_hit *hit, const char *qname,
			       const struct process_key *pk, uint64_t now_ns)
{
	struct slot *s = correlate__fire(c, rule, severity_of(hit), attack, 1, qname, c->domain,
					 c->domain, pk, now_ns);

	if (!s)
		return NULL;
	snprintf(s->source, sizeof(s->source), "%s:%u", hit->source, hit->line);
	correlate__evidence_str(s, "indicator", hit->trigger);
	correlate__evidence_str(s, "kind", intel_kind_name(hit->kind));
	correlate__evidence_str(s, "source", s->source);
	correlate__evidence_str(s, "action",
				hit->action == INTEL_LISTED ? NULL : intel_action_name(hit->action));
	correlate__evidence_list(s, "tags", s->tags, split_tags(s, hit));
	correlate__evidence_u64(s, "confidence", hit->confidence);
	return s;
}

/* Where a nameserver of the lookup's domain was learned: the response itself, or the
 * infrastructure nsinfra learned for its registered domain (a recursive resolver's
 * referrals, an NS answer before). */
static const char seen_in_response[] = "this response";
static const char seen_in_infrastructure[] = "learned infrastructure";
static const char seen_in_active[] = "active lookup";

/* intel.nsdname on the nameserver name; false when it is not listed (or allowlisted). */
static bool judge_nsdname(struct correlate *c, const char *qname, const char *name,
			  const char *seen_in, const struct proc_info *who,
			  const struct process_key *pk, uint64_t now_ns)
{
	struct intel_hit hit;
	struct slot *s;

	if (intel_match_name(c->intel, INTEL_NSDNAME, name, &hit) ||
	    hit.action == INTEL_PASSTHRU)
		return false;
	s = fire_intel(c, "intel.nsdname", attack_dns_server, &hit, qname, pk, now_ns);
	if (!s)
		return true;
	snprintf(s->nameserver, sizeof(s->nameserver), "%s", name);
	snprintf(s->summary, sizeof(s->summary),
		 "%s looked up %s, served by the nameserver %s, which threat intel lists (%s).",
		 correlate__who_name(who), qname, name, hit.trigger);
	correlate__evidence_str(s, "nameserver", s->nameserver);
	correlate__evidence_str(s, "seen_in", seen_in);
	return true;
}

/* intel.nsip on an address (family 4 or 6) of the nameserver name; false when not listed. */
static bool judge_nsip(struct correlate *c, const char *qname, const char *name,
		       uint8_t family, const uint8_t *addr, const char *seen_in,
		       const struct proc_info *who, const struct process_key *pk, uint64_t now_ns)
{
	struct intel_hit hit;
	struct slot *s;

	if (intel_match_addr(c->intel, INTEL_NSIP, family, addr, &hit) ||
	    hit.action == INTEL_PASSTHRU)
		return false;
	s = fire_intel(c, "intel.nsip", attack_dns_server, &hit, qname, pk, now_ns);
	if (!s)
		return true;
	inet_ntop(family == 4 ? AF_INET : AF_INET6, addr, s->text, sizeof(s->text));
	snprintf(s->nameserver, sizeof(s->nameserver), "%s", name);
	snprintf(s->summary, sizeof(s->summary),
		 "%s looked up %s, whose nameserver %s has the address %s in threat intel (%s).",
		 correlate__who_name(who), qname, name, s->text, hit.trigger);
	correlate__evidence_str(s, "nameserver", s->nameserver);
	correlate__evidence_str(s, "address", s->text);
	correlate__evidence_str(s, "seen_in", seen_in);
	return true;
}

/* The nameservers nsinfra learned for c->domain matched against NSDNAME and NSIP intel, for
 * the rules not yet fired (named, addressed) on this lookup of qname. */
static void judge_learned(struct correlate *c, const char *qname, const char *seen_in,
			  bool named, bool addressed, const struct proc_info *who,
			  const struct process_key *pk, uint64_t now_ns)
{
	struct nsinfra_ns learned[NSINFRA_MAX_NS];
	size_t n_learned = 0;

	if (!c->nsinfra || !c->domain[0] ||
	    nsinfra_ns_of(c->nsinfra, c->domain, learned, ARRAY_LEN(learned), &n_learned))
		return;
	for (size_t i = 0; i < n_learned; i++) {
		named = named || judge_nsdname(c, qname, learned[i].name, seen_in, who, pk, now_ns);
		for (size_t j = 0; j < learned[i].n_addrs && !addressed; j++)
			addressed = judge_nsip(c, qname, learned[i].name, learned[i].addrs[j].family,
					       learned[i].addrs[j].addr, seen_in, who, pk, now_ns);
	}
}

/* The nameservers of the lookup's domain matched against NSDNAME and NSIP intel, one
 * finding each at most: those the response names (NS records in its answer or authority
 * section, their glue), then those nsinfra learned for the registered domain. A client of a
 * recursive resolver gets a minimal answer without NS records: the resolver's referrals,
 * which nsinfra learned from on the resolver's upstream sockets, name them. */
static void judge_nameservers(struct correlate *c, const struct dns_msg *m,
			      const struct proc_info *who, const struct process_key *pk,
			      uint64_t now_ns)
{
	const struct dns_section *sections[] = { &m->an, &m->ns };
	bool named = false, addressed = false;

	for (size_t k = 0; k < ARRAY_LEN(sections) && !named; k++)
		for (size_t i = 0; i < sections[k]->n && !named; i++) {
			const struct dns_rr *rr = &sections[k]->rrs[i];

			named = rr->type == DNS_TYPE_NS && rr->target &&
				judge_nsdname(c, m->qname, rr->target, seen_in_response, who, pk,
					      now_ns);
		}
	for (size_t i = 0; i < m->ar.n && !addressed; i++) {
		const struct dns_rr *rr = &m->ar.rrs[i];

		addressed = rr->addr && judge_nsip(c, m->qname, rr->name, rr->addr_len == 4 ? 4 : 6,
						   rr->addr, seen_in_response, who, pk, now_ns);
	}
	if (!(named && addressed))
		judge_learned(c, m->qname, seen_in_infrastructure, named, addressed, who, pk, now_ns);
}

/* The intel rules on one lookup. */
static void judge_intel(struct correlate *c, const struct event *ev, const struct proc_info *who,
			const struct process_key *pk, uint64_t now_ns)
{
	const struct dns_msg *m = ev->dns;
	struct intel_hit hit;
	bool listed = !intel_match_name(c->intel, INTEL_QNAME, m->qname, &hit);
	struct slot *s;

	if (listed && hit.action == INTEL_PASSTHRU)
		return; /* allowlisted: no intel rule applies to this lookup */
	/* A server's own upstream lookups repeat its clients' (with origin, for the same
	 * process): the client's lookup is judged, once; the referrals teach nsinfra. */
	if (bypass_serves_dns(c->bypass, ev->process.pid, now_ns))
		return;
	if (!m->qr) {
		if (listed && (s = fire_intel(c, "intel.qname", correlate__attack_c2, &hit,
					      m->qname, pk, now_ns)))
			snprintf(s->summary, sizeof(s->summary),
				 "%s looked up %s, which threat intel lists (%s).",
				 correlate__who_name(who), m->qname, hit.trigger);
		return;
	}
	for (size_t i = 0; i < m->an.n; i++) {
		const struct dns_rr *rr = &m->an.rrs[i];

		if (!rr->addr || intel_match_addr(c->intel, INTEL_IP, rr->addr_len == 4 ? 4 : 6,
						  rr->addr, &hit) ||
		    hit.action == INTEL_PASSTHRU)
			continue;
		s = fire_intel(c, "intel.ip", correlate__attack_c2, &hit, m->qname, pk, now_ns);
		if (s) {
			inet_ntop(rr->addr_len == 4 ? AF_INET : AF_INET6, rr->addr, s->text,
				  sizeof(s->text));
			snprintf(s->summary, sizeof(s->summary),
				 "%s looked up %s and got the address %s, which threat intel lists "
				 "(%s).",
				 correlate__who_name(who), m->qname, s->text, hit.trigger);
			correlate__evidence_str(s, "address", s->text);
		}
		break; /* one per response */
	}
	judge_nameservers(c, m, who, pk, now_ns);
}

static bool watched(const struct correlate *c, const char *domain)
{
	for (size_t i = 0; i < c->opts.n_watch; i++)
		if (!strcasecmp(c->opts.watch[i], domain))
			return true;
	return false;
}

/* A delegation change nsinfra reports, as a finding. */
static void judge_ns_change(struct correlate *c, const struct nsinfra_change *ch,
			    const char *qname, const struct process_key *pk, uint64_t now_ns)
{
	bool watch = watched(c, ch->domain), listed = false;
	struct intel_hit hit;
	uint8_t severity;
	struct slot *s;
	size_t n = 0;

	for (size_t i = 0; c->intel && i < ch->n_new_ns && !listed; i++)
		listed = !intel_match_name(c->intel, INTEL_NSDNAME, ch->new_ns[i], &hit) &&
			 hit.action != INTEL_PASSTHRU;
	severity = !(watch || ch->new_provider_recent || listed) ? SEVERITY_MEDIUM :
		   watch && (ch->new_provider_recent || listed)   ? SEVERITY_CRITICAL :
								    SEVERITY_HIGH;
	s = correlate__fire(c, "ns.change", severity, attack_dns_server, 1, qname, ch->domain,
			    ch->domain, pk, now_ns);
	if (!s)
		return;
	snprintf(s->summary, sizeof(s->summary),
		 "The nameservers of %s moved from %s to %s after %llu days with the old provider: "
		 "pointing a domain at other servers is how a hijacked delegation takes over its "
		 "traffic.",
		 ch->domain, ch->n_old_providers ? ch->old_providers[0] : "?",
		 ch->n_new_providers ? ch->new_providers[0] : "?",
		 (unsigned long long)(ch->stable_s / 86400));
	if (watch)
		s->tags[n++] = "watched domain";
	if (ch->new_provider_recent)
		s->tags[n++] = "new provider first seen recently";
	if (listed)
		s->tags[n++] = "new nameserver in intel";
	correlate__evidence_list(s, "old_ns", ch->old_ns, ch->n_old_ns);
	correlate__evidence_list(s, "new_ns", ch->new_ns, ch->n_new_ns);
	correlate__evidence_list(s, "old_providers", ch->old_providers, ch->n_old_providers);
	correlate__evidence_list(s, "new_providers", ch->new_providers, ch->n_new_providers);
	correlate__evidence_u64(s, "stable_s", ch->stable_s);
	correlate__evidence_list(s, "reasons", s->tags, n);
}

/* What the response teaches nsinfra, and the delegation changes it shows. */
static void judge_infrastructure(struct correlate *c, const struct event *ev,
				 const struct process_key *pk, uint64_t now_ns)
{
	struct nsinfra_change changes[NSINFRA_MAX_CHANGES];
	size_t n = 0;

	nsinfra_observe(c->nsinfra, ev, ev->ts_ns / 1000000000ull, changes, NSINFRA_MAX_CHANGES,
			&n); /* a store failure is nsinfra's to count; what it learned stands */
	for (size_t i = 0; i < n; i++)
		judge_ns_change(c, &changes[i], ev->dns->qname, pk, now_ns);
}

size_t correlate_event(struct correlate *c, const struct event *ev, uint64_t now_ns,
		       const struct finding **out, const struct proc_info **who)
{
	const struct dns_msg *m = ev->dns;
	bool query, response;
	struct process_key pk;

	c->n_out = 0;
	c->domain[0] = '\0'; /* until find_domain: correlate_registered_domain's "none" */
	if (ev->type == EVENT_DNS && m && !m->qr && ev->net.role == ROLE_SERVER &&
	    ev->net.direction == NET_INGRESS)
		bypass_note_server(c->bypass, ev, now_ns);
	if (ev->type != EVENT_DNS || !m || m->malformed || !m->has_question || !m->qname ||
	    ev->net.role != ROLE_CLIENT)
		return 0;
	query = !m->qr && ev->net.direction == NET_EGRESS;
	response = m->qr && ev->net.direction == NET_INGRESS;
	if (!query && !response)
		return 0;
	if (ev->agent_probe) { /* --active-ns: learned from, never a process's lookup */
		if (response && c->nsinfra)
			nsinfra_observe(c->nsinfra, ev, ev->ts_ns / 1000000000ull, NULL, 0,
					&(size_t){ 0 }); /* a change is held, not judged */
		return 0;
	}
	c->stats.judged++;
	*who = ev->has_origin ? &ev->origin : &ev->process;
	pk = correlate__key_of(*who);
	find_domain(c, m->qname);
	if (c->intel)
		judge_intel(c, ev, *who, &pk, now_ns);
	if (query) {
		judge_query(c, ev, *who, &pk, now_ns);
		bypass_judge(c->bypass, c, ev, c->domain, &pk, now_ns);
	} else {
		judge_response(c, ev, *who, &pk, now_ns);
		if (!under_arpa(m->qname)) {
			flux_judge(c->flux, c, ev, c->domain, *who, &pk, now_ns);
			known_judge(c->known, c, ev, c->domain, *who, &pk, now_ns);
		}
		if (c->nsinfra)
			judge_infrastructure(c, ev, &pk, now_ns);
	}
	for (size_t i = 0; i < c->n_out; i++)
		c->out[i] = c->slots[i].f;
	*out = c->out;
	return c->n_out;
}

size_t correlate_infrastructure(struct correlate *c, const char *domain, const char *qname,
				const struct proc_info *who, uint64_t now_ns,
				const struct finding **out)
{
	struct process_key pk = correlate__key_of(who);

	c->n_out = 0;
	if (!c->intel || strlen(domain) >= sizeof(c->domain))
		return 0;
	memcpy(c->domain, domain, strlen(domain) + 1);
	judge_learned(c, qname, seen_in_active, false, false, who, &pk, now_ns);
	for (size_t i = 0; i < c->n_out; i++)
		c->out[i] = c->slots[i].f;
	*out = c->out;
	return c->n_out;
}

const char *correlate_registered_domain(const struct correlate *c)
{
	return c->domain;
}
