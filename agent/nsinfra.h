/* Nameserver infrastructure per registered domain, learned from the DNS responses this host
 * receives, and the delegation changes it undergoes.
 *
 * What counts as seen: a well-formed response (NOERROR) arriving at a socket of this host
 * (ingress: a response a local server sends is seen once, where it arrives) whose answer or
 * authority section (referrals included) holds the NS RRset of a registered domain's apex
 * (lib/regdom: example.co.uk, not co.uk and not the sub-delegation dev.example.co.uk). The
 * RRset's names, in lower case without trailing dot, sorted and deduplicated, at most
 * NSINFRA_MAX_NS, are the domain's NS set. A and AAAA records (glue in the additional section,
 * or answers) whose owner is an NS name of the same response are that name's addresses (at
 * most NSINFRA_MAX_ADDRS, the newest kept), and so are A and AAAA answers of any later
 * response whose owner is an NS name of a known set (a stub's answer to "ns1.provider.net A",
 * asked apart). Every NS and glue record also goes to the
 * passive DNS store, rrname and rdata as above.
 *
 * A provider is the registered domain of an NS name (ns1.provider.net: provider.net).
 * Delegation change: a domain whose providers have been in place for at least min_age is seen
 * with an NS set that names a provider it did not have (from ns1.a.net to ns1.b.net; adding
 * b.net beside a.net). ns1 to ns2 of the same provider, or dropping one of two providers, is
 * no change. A change seen earlier, before min_age, is not reported: it is counted (held),
 * and the new set becomes the domain's, its providers' age starting again, so that a domain
 * new to this host, or one that changed recently, is judged once it has settled. Renames
 * within a provider update the set but leave the providers' age alone.
 *
 * With a passive DNS store, the domains, their sets and times and the providers' first
 * sightings live in tables of its file (ns_domain, ns_provider) and are loaded at open: the
 * judgement survives a restart. NS names' addresses are reloaded from the store's A and AAAA
 * rows. Bounded memory: max_domains, max_hosts (NS names of the sets, with their addresses) and max_providers,
 * the least recently seen forgotten (counted in evicted; domains and providers leave the file
 * too, so that it mirrors memory). Not thread-safe. */
#ifndef DNSVIGIL_NSINFRA_H
#define DNSVIGIL_NSINFRA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "event.h"
#include "pdns.h"
#include "regdom.h"

#define NSINFRA_MAX_NS 16     /* names per NS set; more are cut (counted: truncated) */
#define NSINFRA_MAX_ADDRS 8   /* addresses per NS name */
#define NSINFRA_MAX_CHANGES 4 /* changes one response can report */

struct nsinfra_opts {
	uint64_t ns_change_min_age; /* seconds */
	size_t max_domains;
	size_t max_hosts;
	size_t max_providers;
};

#define NSINFRA_DEFAULTS                                                                      \
	{                                                                                     \
		.ns_change_min_age = 7 * 86400, .max_domains = 8192, .max_hosts = 8192,       \
		.max_providers = 4096,                                                        \
	}

/* A delegation change. Strings point into the nsinfra and stay valid until its next
 * nsinfra_observe. */
struct nsinfra_change {
	const char *domain;
	const char *const *old_ns, *const *new_ns; /* sorted */
	size_t n_old_ns, n_new_ns;
	const char *const *old_providers, *const *new_providers; /* sorted */
	size_t n_old_providers, n_new_providers;
	uint64_t stable_s;      /* how long the old providers had been in place */
	/* A provider the new set adds was first seen (in any domain's NS set) less than
	 * min_age ago, or now: infrastructure that is itself new. */
	bool new_provider_recent;
	uint64_t new_provider_first_seen; /* the latest first sighting of the added ones */
};

struct nsinfra_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

/* One NS name of a domain and the addresses known for it. */
struct nsinfra_ns {
	const char *name;
	const struct nsinfra_addr *addrs;
	size_t n_addrs;
};

struct nsinfra_stats {
	uint64_t responses; /* responses looked at */
	uint64_t ns_sets;   /* apex NS sets seen in them */
	uint64_t changes;   /* delegation changes reported */
	uint64_t held;      /* provider changes before min_age: not reported */
	uint64_t domains;   /* known now */
	uint64_t evicted;   /* domains, hosts or providers forgotten */
	uint64_t truncated; /* NS names beyond NSINFRA_MAX_NS, overlong names, NS RRsets
			     * beyond 8 owners in one response: left out */
	uint64_t errors;    /* writes to the file that failed (logged) */
};

struct nsinfra;

/* store may be NULL (nothing persists); it and r outlive the nsinfra (close it before the
 * store: it holds statements on the store's connection). Loads what store holds.
 * 0 and *out, or a negative errno (-EINVAL for options out of range). */
int nsinfra_open(struct pdns *store, const struct regdom *r, const struct nsinfra_opts *opts,
		 struct nsinfra **out);
void nsinfra_close(struct nsinfra *n);

/* Learns from ev (EVENT_DNS responses; anything else is ignored) at now_s (seconds since the
 * epoch). The delegation changes it shows go to changes[0 .. *n_changes), at most max (and
 * NSINFRA_MAX_CHANGES). 0, or a negative errno when the store failed (what was learned
 * stays learned in memory; counted in errors). */
int nsinfra_observe(struct nsinfra *n, const struct event *ev, uint64_t now_s,
		    struct nsinfra_change *changes, size_t max, size_t *n_changes);

/* The current NS set of regdom (a registered domain, any case) into out[0 .. *n_out), at most
 * max, with their addresses; valid until the next nsinfra_observe. 0, or -ENOENT for a
 * domain not known. */
int nsinfra_ns_of(struct nsinfra *n, const char *regdom, struct nsinfra_ns *out, size_t max,
		  size_t *n_out);

const struct nsinfra_stats *nsinfra_stats(const struct nsinfra *n);

#endif
