/* Correlation: rules that judge this host's lookups and say what they found (struct finding,
 * event.h), each mapped to MITRE ATT&CK. The rules here need nothing but the traffic:
 *
 *   zone.transfer  an AXFR or IXFR query                                  T1590.002, medium
 *   doh.endpoint   a lookup of a DNS-over-HTTPS endpoint (a list built in), or of
 *                  Firefox's canary use-application-dns.net                T1572, info
 *   dns.tunnel     a query whose subdomain part (the name less its registered domain) is
 *                  long, or many distinct names under one registered domain from one
 *                  process in a short window, or txt_names distinct TXT or NULL names
 *                  there (distinct: an MTA's SPF and DKIM lookups repeat) T1071.004 T1048.003,
 *                  medium
 *   dga.nxdomain   NXDOMAIN answers for many distinct registered domains to one process in
 *                  a short window                                          T1568.002, medium;
 *                  high when half of them or more have a label that looks generated
 *                  (dgascore.h)
 *   fastflux       a registered domain whose NOERROR answers, to any process within
 *                  flux_window_ns of its first such answer, gave A/AAAA records with a TTL
 *                  of at most flux_ttl_max whose score 1.32 n_addr + 18.54 n_net (Holz et
 *                  al., NDSS 2008, /24 and /48 networks in place of ASNs; addresses counted
 *                  up to 64, so that three networks stay under the default 142.38) reaches
 *                  flux_score; once a window, to the process that tipped it  T1568.001, medium
 *   domain.new     the first NOERROR response with answers for a registered domain this
 *                  host never resolved, after new_learning_ns of silent learning; once per
 *                  domain per host (max_known remembered; with correlate_set_store in the
 *                  store, across restarts)                                  T1583.001, info
 *   resolver.bypass  a query to port 53 of a server that is not one of the process's own
 *                  resolvers: the nameservers of /proc/PID/root/etc/resolv.conf (its mount
 *                  namespace's, looked at once a minute per process) and of systemd-
 *                  resolved's upstream list there, or an allowed one. A process that
 *                  serves DNS on this host (its socket answered a query) makes its own
 *                  upstream queries: not judged.                           T1071.004, medium
 *
 * and, with threat intel loaded (lib/intel.h), the rules that match it:
 *
 *   intel.qname    the name asked for is an indicator                      T1071.004
 *   intel.ip       an address in the answer is                             T1071.004
 *   intel.nsdname  a nameserver of the domain is: one the response names (NS records in
 *                  its answer or authority section), or one the nsinfra learned for the
 *                  registered domain (a recursive resolver's referrals, seen on its
 *                  upstream sockets: its clients' answers carry none)       T1584.002
 *   intel.nsip     an address of such a nameserver (the response's glue, or the nsinfra's
 *                  addresses of the name) is                               T1584.002
 *
 * A process serving DNS here (its socket answered a query) is not judged by the intel
 * rules on its own upstream lookups: they repeat its client's, which is judged once.
 *
 * and, with nameserver infrastructure learned over time (nsinfra.h; stage_correlate keeps
 * one always, in the passive DNS store with --state-dir, else in memory):
 *
 *   ns.change      a registered domain, stable for ns_change_min_age, is delegated to the
 *                  nameservers of another provider                          T1584.002, medium;
 *                  high when the domain is watched, the new provider was itself first seen
 *                  recently, or a new nameserver is in NSDNAME intel; critical when watched
 *                  and one of the others
 *
 * The intel rules' severity follows the indicator's confidence: 80 and up high, 50 and up medium, else
 * low. An allowlist (RPZ passthru) entry for the name silences every intel rule on that
 * lookup, as a resolver applying the zone would.
 *
 * A lookup is judged where its process makes it: a query leaving a client socket, a response
 * arriving at one (the same exchange seen on a local server's sockets is not judged again).
 * The process is the message's, or the client a local stub forwards it for (origin); the
 * agent's own messages (agent_probe) are not judged, nsinfra learns from their responses. Names
 * under .arpa (reverse lookups: long, many, and benign) are left to the rules that are not
 * about names' shapes.
 *
 * A finding is reported once per (rule, process, registered domain) within dedup_window_ns
 * (dga.nxdomain: per (rule, process), its domains differ by nature); the rest are counted as
 * suppressed. Bounded memory: processes and (process, domain) pairs are tracked in tables of
 * fixed size, the oldest evicted (counted). */
#ifndef DNSVIGIL_CORRELATE_H
#define DNSVIGIL_CORRELATE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "activens.h"
#include "event.h"
#include "intel.h"
#include "nsinfra.h"
#include "regdom.h"

/* The largest count a window rule can be set to. */
#define CORRELATE_WINDOW_MAX 32
/* Findings one event can fire. */
#define CORRELATE_MAX_FINDINGS 8

struct correlate_opts {
	size_t tunnel_subdomain_min; /* dns.tunnel: a subdomain part this long or longer */
	unsigned tunnel_names;       /* dns.tunnel: this many distinct names ... */
	uint64_t tunnel_window_ns;   /* ... under one registered domain, from one process */
	unsigned nxdomain_domains;   /* dga.nxdomain: NXDOMAIN for this many registered domains */
	uint64_t nxdomain_window_ns; /* ... to one process within this */
	unsigned txt_names;          /* dns.tunnel: this many distinct TXT or NULL names under
				      * one registered domain, from one process, in
				      * tunnel_window_ns */
	uint64_t dedup_window_ns;
	uint32_t flux_ttl_max;       /* fastflux: answers with a TTL this low (seconds) count */
	unsigned flux_score;         /* fastflux: fires at this score, in hundredths */
	uint64_t flux_window_ns;     /* fastflux: addresses gathered over this */
	size_t max_flux_domains;     /* fastflux: registered domains tracked */
	uint64_t new_learning_ns;    /* domain.new: silent until the knowledge is this old */
	size_t max_known;            /* domain.new: registered domains remembered */
	size_t max_processes;  /* tracked for dga.nxdomain */
	size_t max_pairs;      /* (process, registered domain) pairs tracked for dns.tunnel */
	const char *const *watch; /* ns.change: registered domains that matter most (borrowed) */
	size_t n_watch;
	const char *proc_root;    /* resolver.bypass: where each process's resolv.conf is read */
	/* resolver.bypass: servers any process may ask (family 4 or 6, borrowed) */
	const struct call_addr *allowed_resolvers;
	size_t n_allowed_resolvers;
};

#define CORRELATE_DEFAULTS                                                                    \
	{                                                                                     \
		.tunnel_subdomain_min = 50, .tunnel_names = 15,                               \
		.tunnel_window_ns = 300000000000ull, .nxdomain_domains = 20,                  \
		.nxdomain_window_ns = 60000000000ull, .txt_names = 10,                        \
		.dedup_window_ns = 600000000000ull, .flux_ttl_max = 300, .flux_score = 14238, \
		.flux_window_ns = 1800000000000ull, .max_flux_domains = 4096,                 \
		.new_learning_ns = 86400000000000ull, .max_known = 65536,                     \
		.max_processes = 4096, .max_pairs = 8192, .proc_root = "/proc",               \
	}

/* --threshold KEY=VALUE: sets the threshold KEY of o (keys and ranges: the usage below).
 * 0; -ENOENT for an unknown key, -EINVAL for a value out of its range, with a sentence
 * naming the key and what it accepts in why. */
int correlate_threshold_set(struct correlate_opts *o, const char *arg, char *why, size_t size);
/* Every key, what it sets, its default and range, for --help. */
void correlate_threshold_usage(FILE *out);

/* What stage_correlate (stage.h) is given: the rules' options, the intel it loads, and the
 * state directory its passive DNS store and nameserver infrastructure live in. */
struct correlate_stage_opts {
	struct correlate_opts rules;
	const char *const *intel_paths; /* files or directories; borrowed */
	size_t n_intel;
	const char *state_dir; /* NULL: no passive DNS; nameservers kept in memory only */
	size_t pdns_max_rows;
	struct nsinfra_opts ns;
	const struct activens_opts *active_ns; /* NULL: no active NS lookups (activens.h) */
};

struct correlate_stats {
	uint64_t judged;     /* lookups the rules looked at */
	uint64_t findings;   /* reported */
	uint64_t suppressed; /* fired again within the dedup window */
	uint64_t evicted;    /* window state forgotten: a table was full */
};

struct correlate;

/* NULL with errno set (EINVAL: a window count over CORRELATE_WINDOW_MAX or zero). r
 * outlives the correlation. */
struct correlate *correlate_new(const struct correlate_opts *opts, const struct regdom *r);
void correlate_free(struct correlate *c);

/* The intel the rules match from now on (NULL: none); borrowed: the caller keeps it alive
 * until it sets another. */
void correlate_set_intel(struct correlate *c, const struct intel *intel);

/* The nameserver infrastructure the responses teach and ns.change judges (NULL: none);
 * borrowed, as the intel. */
void correlate_set_nsinfra(struct correlate *c, struct nsinfra *n);

/* Judges ev (now_ns: its CLOCK_MONOTONIC time). The findings it fires go to *out, valid
 * until the next call and pointing into ev (names) for as long as ev lives; returns their
 * number, at most CORRELATE_MAX_FINDINGS. *who is the process they concern. */
size_t correlate_event(struct correlate *c, const struct event *ev, uint64_t now_ns,
		       const struct finding **out, const struct proc_info **who);

/* Keeps domain.new's knowledge in the store p (pdns_known_open) from now on: the domains
 * known there and when the learning began survive restarts. now_s: CLOCK_REALTIME seconds,
 * now_ns: CLOCK_MONOTONIC. 0 or a negative errno (logged). */
struct pdns;
int correlate_set_store(struct correlate *c, struct pdns *p, uint64_t now_s, uint64_t now_ns);

/* The registered domain of the lookup correlate_event last judged (lower case, from its cache
 * of libpsl's answers), "" when it judged none or the name has none. */
const char *correlate_registered_domain(const struct correlate *c);

/* The nameservers nsinfra has learned for domain (a registered domain) judged against NSDNAME
 * and NSIP intel for who's lookup of qname, which passed before they were known: what
 * --active-ns learned after it (evidence seen_in "active lookup"). Findings as
 * correlate_event's, deduplicated with them. */
size_t correlate_infrastructure(struct correlate *c, const char *domain, const char *qname,
				const struct proc_info *who, uint64_t now_ns,
				const struct finding **out);

const struct correlate_stats *correlate_stats(const struct correlate *c);

#endif
