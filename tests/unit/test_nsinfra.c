/* Nameserver infrastructure and delegation changes (agent/nsinfra.c), learned from DNS
 * responses built as wire bytes and parsed by lib/dns.c, kept in a real SQLite file. */
#include <arpa/inet.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "nsinfra.h"
#include "samples.h"

#define TYPE_A 1
#define TYPE_NS 2
#define TYPE_AAAA 28
#define DAY 86400

enum section { AN, NS, AR };

/* A DNS response as wire bytes, its records appended section by section. */
struct wire {
	uint8_t b[2048];
	size_t n;
	struct dns_msg msg;
};

static struct regdom *regdom;
static struct dns_parser *parser;
static char dir[64];

static void put16(struct wire *w, uint16_t v)
{
	w->b[w->n++] = v >> 8;
	w->b[w->n++] = v & 0xff;
}

static void put_name(struct wire *w, const char *name)
{
	while (*name) {
		const char *dot = strchr(name, '.');
		size_t len = dot ? (size_t)(dot - name) : strlen(name);

		w->b[w->n++] = (uint8_t)len;
		memcpy(w->b + w->n, name, len);
		w->n += len;
		name += len + (dot != NULL);
	}
	w->b[w->n++] = 0;
}

static void begin(struct wire *w, const char *qname, uint16_t qtype, uint16_t rcode)
{
	w->n = 0;
	put16(w, 0x1234);
	put16(w, 0x8000 | rcode); /* QR */
	put16(w, 1);
	put16(w, 0);
	put16(w, 0);
	put16(w, 0);
	put_name(w, qname);
	put16(w, qtype);
	put16(w, 1);
}

static void rr(struct wire *w, enum section s, const char *owner, uint16_t type,
	       const char *data)
{
	size_t len_at;

	w->b[7 + 2 * s]++; /* ancount, nscount, arcount: fewer than 256 here */
	put_name(w, owner);
	put16(w, type);
	put16(w, 1);
	put16(w, 0);
	put16(w, 3600);
	len_at = w->n;
	w->n += 2;
	if (type == TYPE_NS)
		put_name(w, data);
	else if (type == TYPE_A)
		assert_int_equal(inet_pton(AF_INET, data, w->b + w->n), 1), w->n += 4;
	else
		assert_int_equal(inet_pton(AF_INET6, data, w->b + w->n), 1), w->n += 16;
	w->b[len_at] = (uint8_t)((w->n - len_at - 2) >> 8);
	w->b[len_at + 1] = (uint8_t)(w->n - len_at - 2);
}

/* The response as capture delivers it: parsed, arriving at a client socket. */
static struct event response(struct wire *w)
{
	struct event ev = net_event(EVENT_DNS);

	dns_parse(parser, w->b, w->n, &w->msg);
	ev.dns = &w->msg;
	ev.raw = w->b;
	ev.raw_len = w->n;
	ev.net.direction = NET_INGRESS;
	return ev;
}

/* A response to "domain NS" with an answer of the given names (NULL-terminated). */
static struct event ns_answer(struct wire *w, const char *domain, const char *const *names)
{
	begin(w, domain, TYPE_NS, 0);
	for (; *names; names++)
		rr(w, AN, domain, TYPE_NS, *names);
	return response(w);
}

static size_t observe(struct nsinfra *n, const struct event *ev, uint64_t now,
		      struct nsinfra_change *c)
{
	size_t k = 99;

	assert_int_equal(nsinfra_observe(n, ev, now, c, NSINFRA_MAX_CHANGES, &k), 0);
	return k;
}

/* Sees domain's NS set of names at now; returns the changes reported. */
static size_t see(struct nsinfra *n, const char *domain, const char *const *names, uint64_t now,
		  struct nsinfra_change *c)
{
	struct wire w;
	struct event ev = ns_answer(&w, domain, names);

	return observe(n, &ev, now, c);
}

static struct nsinfra *open_nsinfra(struct pdns *store, uint64_t min_age)
{
	struct nsinfra_opts o = NSINFRA_DEFAULTS;
	struct nsinfra *n = NULL;

	o.ns_change_min_age = min_age;
	assert_int_equal(nsinfra_open(store, regdom, &o, &n), 0);
	return n;
}

static struct pdns *open_store(void)
{
	struct pdns *p = NULL;

	assert_int_equal(pdns_open(dir, 10000, &p), 0);
	return p;
}

/* The current set of domain, joined by spaces. */
static const char *ns_of(struct nsinfra *n, const char *domain)
{
	static char buf[1024];
	struct nsinfra_ns ns[NSINFRA_MAX_NS];
	size_t k;

	buf[0] = '\0';
	if (nsinfra_ns_of(n, domain, ns, NSINFRA_MAX_NS, &k))
		return "(unknown)";
	for (size_t i = 0; i < k; i++)
		snprintf(buf + strlen(buf), sizeof(buf) - strlen(buf), "%s%s", i ? " " : "",
			 ns[i].name);
	return buf;
}

static const char *joined(const char *const *list, size_t n)
{
	static char buf[2][1024];
	static int which;
	char *b = buf[which ^= 1];

	b[0] = '\0';
	for (size_t i = 0; i < n; i++)
		snprintf(b + strlen(b), 1024 - strlen(b), "%s%s", i ? " " : "", list[i]);
	return b;
}

static int count_rows(void *ctx, const struct pdns_row *row)
{
	(void)row;
	++*(int *)ctx;
	return 0;
}

static void an_ns_answer_and_its_addresses_are_learned(void **state)
{
	struct pdns *p = open_store();
	struct nsinfra *n = open_nsinfra(p, DAY);
	struct nsinfra_ns ns[NSINFRA_MAX_NS];
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct wire w;
	struct event ev;
	char text[INET6_ADDRSTRLEN];
	size_t k;
	int rows = 0;

	(void)state;
	begin(&w, "example.com", TYPE_NS, 0);
	rr(&w, AN, "example.com", TYPE_NS, "ns2.provider.net");
	rr(&w, AN, "example.com", TYPE_NS, "ns1.provider.net");
	rr(&w, AR, "ns1.provider.net", TYPE_A, "192.0.2.53");
	rr(&w, AR, "ns1.provider.net", TYPE_AAAA, "2001:db8::53");
	rr(&w, AR, "unrelated.example", TYPE_A, "192.0.2.99");
	ev = response(&w);
	assert_null(w.msg.malformed);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	assert_string_equal(ns_of(n, "example.com"), "ns1.provider.net ns2.provider.net");
	assert_int_equal(nsinfra_ns_of(n, "example.com", ns, NSINFRA_MAX_NS, &k), 0);
	assert_int_equal(k, 2);
	assert_int_equal(ns[0].n_addrs, 2);
	assert_int_equal(ns[0].addrs[0].family, 4);
	inet_ntop(AF_INET, ns[0].addrs[0].addr, text, sizeof(text));
	assert_string_equal(text, "192.0.2.53");
	assert_int_equal(ns[0].addrs[1].family, 6);
	assert_int_equal(ns[1].n_addrs, 0);
	/* the NS and glue rows are in the passive DNS store; the unrelated address is not */
	assert_int_equal(pdns_lookup(p, "example.com", TYPE_NS, count_rows, &rows), 0);
	assert_int_equal(rows, 2);
	rows = 0;
	assert_int_equal(pdns_lookup(p, "ns1.provider.net", TYPE_AAAA, count_rows, &rows), 0);
	assert_int_equal(rows, 1);
	rows = 0;
	assert_int_equal(pdns_lookup(p, "unrelated.example", TYPE_A, count_rows, &rows), 0);
	assert_int_equal(rows, 0);
	assert_int_equal(nsinfra_stats(n)->ns_sets, 1);
	assert_int_equal(nsinfra_stats(n)->domains, 1);
	assert_int_equal(nsinfra_ns_of(n, "example.org", ns, NSINFRA_MAX_NS, &k), -ENOENT);
	nsinfra_close(n);
	pdns_close(p);
}

static void addresses_asked_apart_are_learned_for_known_ns_names_only(void **state)
{
	static const char *const names[] = { "ns1.provider.net", "ns2.provider.net", NULL };
	struct pdns *p = open_store();
	struct nsinfra *n = open_nsinfra(p, DAY);
	struct nsinfra_ns ns[NSINFRA_MAX_NS];
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct wire w;
	struct event ev;
	char text[INET6_ADDRSTRLEN];
	size_t k;
	int rows = 0;

	(void)state;
	assert_int_equal(see(n, "example.com", names, 1000, c), 0);
	/* a stub's answers to "ns2.provider.net AAAA" and "NS1.Provider.net. A", asked apart */
	begin(&w, "ns2.provider.net", TYPE_AAAA, 0);
	rr(&w, AN, "ns2.provider.net", TYPE_AAAA, "2001:db8::2");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1001, c), 0);
	begin(&w, "NS1.Provider.net.", TYPE_A, 0);
	rr(&w, AN, "NS1.Provider.net.", TYPE_A, "192.0.2.1");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1002, c), 0);
	/* an address of a name no set names, and one in an additional section, are not */
	begin(&w, "www.example.com", TYPE_A, 0);
	rr(&w, AN, "www.example.com", TYPE_A, "192.0.2.80");
	rr(&w, AR, "ns2.provider.net", TYPE_A, "192.0.2.66");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1003, c), 0);
	assert_int_equal(nsinfra_ns_of(n, "example.com", ns, NSINFRA_MAX_NS, &k), 0);
	assert_int_equal(k, 2);
	assert_int_equal(ns[0].n_addrs, 1);
	inet_ntop(AF_INET, ns[0].addrs[0].addr, text, sizeof(text));
	assert_string_equal(text, "192.0.2.1");
	assert_int_equal(ns[1].n_addrs, 1);
	assert_int_equal(ns[1].addrs[0].family, 6);
	inet_ntop(AF_INET6, ns[1].addrs[0].addr, text, sizeof(text));
	assert_string_equal(text, "2001:db8::2");
	assert_int_equal(pdns_lookup(p, "ns1.provider.net", TYPE_A, count_rows, &rows), 0);
	assert_int_equal(rows, 1);
	rows = 0;
	assert_int_equal(pdns_lookup(p, "www.example.com", TYPE_A, count_rows, &rows), 0);
	assert_int_equal(rows, 0);
	/* and they come back after a restart, the names without addresses known too */
	nsinfra_close(n);
	n = open_nsinfra(p, DAY);
	begin(&w, "ns2.provider.net", TYPE_A, 0);
	rr(&w, AN, "ns2.provider.net", TYPE_A, "192.0.2.2");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 2000, c), 0);
	assert_int_equal(nsinfra_ns_of(n, "example.com", ns, NSINFRA_MAX_NS, &k), 0);
	assert_int_equal(ns[0].n_addrs, 1);
	assert_int_equal(ns[1].n_addrs, 2);
	nsinfra_close(n);
	pdns_close(p);
}

static void a_referral_with_glue_is_learned_and_sub_and_tld_delegations_are_not(void **state)
{
	struct nsinfra *n = open_nsinfra(NULL, DAY);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct nsinfra_ns ns[NSINFRA_MAX_NS];
	struct wire w;
	struct event ev;
	size_t k;

	(void)state;
	/* what a .org server answers a resolver asking for www.example.org */
	begin(&w, "www.example.org", TYPE_A, 0);
	rr(&w, NS, "example.org", TYPE_NS, "a.iana-servers.net");
	rr(&w, NS, "example.org", TYPE_NS, "b.iana-servers.net");
	rr(&w, AR, "a.iana-servers.net", TYPE_A, "199.43.135.53");
	rr(&w, AR, "b.iana-servers.net", TYPE_AAAA, "2001:500:8d::53");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	assert_string_equal(ns_of(n, "example.org"), "a.iana-servers.net b.iana-servers.net");
	assert_int_equal(nsinfra_ns_of(n, "example.org", ns, NSINFRA_MAX_NS, &k), 0);
	assert_int_equal(ns[1].n_addrs, 1);
	assert_int_equal(ns[1].addrs[0].family, 6);

	/* a sub-delegation has NS sets of its own: not example.org's */
	begin(&w, "x.dev.example.org", TYPE_A, 0);
	rr(&w, NS, "dev.example.org", TYPE_NS, "ns.elsewhere.com");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1000 + 30 * DAY, c), 0);
	assert_string_equal(ns_of(n, "example.org"), "a.iana-servers.net b.iana-servers.net");
	assert_string_equal(ns_of(n, "dev.example.org"), "(unknown)");
	/* a root server's referral to .com is no domain's */
	begin(&w, "www.example.com", TYPE_A, 0);
	rr(&w, NS, "com", TYPE_NS, "a.gtld-servers.net");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	assert_string_equal(ns_of(n, "com"), "(unknown)");
	assert_int_equal(nsinfra_stats(n)->ns_sets, 1);
	nsinfra_close(n);
}

static void a_rename_within_one_provider_is_no_change(void **state)
{
	static const char *const before[] = { "ns1.provider.net", "ns2.provider.net", NULL };
	static const char *const after[] = { "ns3.provider.net", "dns4.provider.net", NULL };
	struct nsinfra *n = open_nsinfra(NULL, 7 * DAY);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];

	(void)state;
	assert_int_equal(see(n, "example.com", before, 1000, c), 0);
	assert_int_equal(see(n, "example.com", after, 1000 + 30 * DAY, c), 0);
	assert_string_equal(ns_of(n, "example.com"), "dns4.provider.net ns3.provider.net");
	/* dropping one of two providers is no change either */
	{
		static const char *const two[] = { "ns3.provider.net", "a.other.org", NULL };
		static const char *const one[] = { "ns3.provider.net", NULL };

		assert_int_equal(see(n, "example.net", two, 1000, c), 0);
		assert_int_equal(see(n, "example.net", one, 1000 + 30 * DAY, c), 0);
	}
	assert_int_equal(nsinfra_stats(n)->changes, 0);
	assert_int_equal(nsinfra_stats(n)->held, 0);
	nsinfra_close(n);
}

static void a_provider_change_after_min_age_is_reported_once(void **state)
{
	static const char *const old_set[] = { "ns2.old-dns.net", "NS1.old-dns.net", NULL };
	static const char *const new_set[] = { "ns1.evil-dns.com", "ns2.evil-dns.com", NULL };
	struct nsinfra *n = open_nsinfra(NULL, 60);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];

	(void)state;
	assert_int_equal(see(n, "victim.co.uk", old_set, 1000, c), 0);
	assert_int_equal(see(n, "victim.co.uk", old_set, 1050, c), 0);
	assert_int_equal(see(n, "victim.co.uk", new_set, 1100, c), 1);
	assert_string_equal(c[0].domain, "victim.co.uk");
	assert_string_equal(joined(c[0].old_ns, c[0].n_old_ns), "ns1.old-dns.net ns2.old-dns.net");
	assert_string_equal(joined(c[0].new_ns, c[0].n_new_ns),
			    "ns1.evil-dns.com ns2.evil-dns.com");
	assert_string_equal(joined(c[0].old_providers, c[0].n_old_providers), "old-dns.net");
	assert_string_equal(joined(c[0].new_providers, c[0].n_new_providers), "evil-dns.com");
	assert_int_equal(c[0].stable_s, 100);
	assert_true(c[0].new_provider_recent); /* evil-dns.com was first seen just now */
	assert_int_equal(c[0].new_provider_first_seen, 1100);
	/* the new set is the domain's now: seeing it again is nothing */
	assert_int_equal(see(n, "victim.co.uk", new_set, 1101, c), 0);
	assert_string_equal(ns_of(n, "victim.co.uk"), "ns1.evil-dns.com ns2.evil-dns.com");
	assert_int_equal(nsinfra_stats(n)->changes, 1);
	nsinfra_close(n);
}

static void a_move_to_a_long_known_provider_is_not_recent(void **state)
{
	static const char *const big[] = { "a.big-dns.net", "b.big-dns.net", NULL };
	static const char *const own[] = { "ns.shop.example", NULL };
	struct nsinfra *n = open_nsinfra(NULL, 60);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];

	(void)state;
	assert_int_equal(see(n, "other.com", big, 10, c), 0); /* big-dns.net seen since 10 */
	assert_int_equal(see(n, "shop.example", own, 500, c), 0);
	assert_int_equal(see(n, "shop.example", big, 1000, c), 1);
	assert_false(c[0].new_provider_recent);
	assert_int_equal(c[0].new_provider_first_seen, 10);
	assert_string_equal(joined(c[0].old_providers, c[0].n_old_providers), "shop.example");
	/* adding a provider beside the old one is a change too */
	{
		static const char *const mixed[] = { "a.big-dns.net", "x.cheap-dns.org", NULL };

		assert_int_equal(see(n, "other.com", mixed, 2000, c), 1);
		assert_string_equal(joined(c[0].new_providers, c[0].n_new_providers),
				    "big-dns.net cheap-dns.org");
	}
	nsinfra_close(n);
}

static void a_provider_change_before_min_age_is_held_and_the_set_updated(void **state)
{
	static const char *const a[] = { "ns1.first.net", NULL };
	static const char *const b[] = { "ns1.second.net", NULL };
	struct nsinfra *n = open_nsinfra(NULL, 60);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];

	(void)state;
	assert_int_equal(see(n, "example.com", a, 1000, c), 0);
	/* 30 s after the domain was first seen: too early to judge */
	assert_int_equal(see(n, "example.com", b, 1030, c), 0);
	assert_int_equal(nsinfra_stats(n)->held, 1);
	assert_string_equal(ns_of(n, "example.com"), "ns1.second.net");
	/* the held set has its own age: back to first.net 40 s later is held again ... */
	assert_int_equal(see(n, "example.com", a, 1070, c), 0);
	assert_int_equal(nsinfra_stats(n)->held, 2);
	/* ... and once a set has stood for min_age, a move is reported */
	assert_int_equal(see(n, "example.com", b, 1130, c), 1);
	assert_int_equal(c[0].stable_s, 60);
	assert_false(c[0].new_provider_recent); /* second.net was first seen at 1030 */
	assert_int_equal(c[0].new_provider_first_seen, 1030);
	nsinfra_close(n);
}

static void the_judgement_survives_a_restart(void **state)
{
	static const char *const a[] = { "ns1.first.net", "ns2.first.net", NULL };
	static const char *const b[] = { "ns1.second.net", NULL };
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct nsinfra_ns ns[NSINFRA_MAX_NS];
	struct pdns *p = open_store();
	struct nsinfra *n = open_nsinfra(p, 60);
	struct wire w;
	struct event ev;
	size_t k;

	(void)state;
	begin(&w, "stable.com", TYPE_NS, 0);
	rr(&w, AN, "stable.com", TYPE_NS, "ns1.first.net");
	rr(&w, AN, "stable.com", TYPE_NS, "ns2.first.net");
	rr(&w, AR, "ns1.first.net", TYPE_A, "192.0.2.1");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	assert_int_equal(see(n, "young.com", a, 1040, c), 0);
	assert_int_equal(see(n, "young.com", b, 1090, c), 0); /* held: 50 s after 1040 */
	assert_int_equal(nsinfra_stats(n)->held, 1);
	nsinfra_close(n);
	pdns_close(p);

	p = open_store();
	n = open_nsinfra(p, 60);
	assert_int_equal(nsinfra_stats(n)->domains, 2);
	assert_string_equal(ns_of(n, "stable.com"), "ns1.first.net ns2.first.net");
	assert_int_equal(nsinfra_ns_of(n, "stable.com", ns, NSINFRA_MAX_NS, &k), 0);
	assert_int_equal(ns[0].n_addrs, 1); /* from the store's glue row */
	/* stable.com's set has stood since 1000: a move 100 s on is reported */
	assert_int_equal(see(n, "stable.com", b, 1100, c), 1);
	assert_int_equal(c[0].stable_s, 100);
	/* second.net's first sighting (young.com's held move) came back from the file */
	assert_true(c[0].new_provider_recent);
	assert_int_equal(c[0].new_provider_first_seen, 1090);
	/* young.com's set changed at 1090: back to first.net at 1120 is held */
	assert_int_equal(see(n, "young.com", a, 1120, c), 0);
	assert_int_equal(nsinfra_stats(n)->held, 1);
	nsinfra_close(n);
	pdns_close(p);
}

static void case_and_trailing_dots_are_normalised(void **state)
{
	struct nsinfra *n = open_nsinfra(NULL, 60);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct dns_rr rrs[2] = {
		{ .name = "Example.NET.", .type = TYPE_NS, .rclass = 1,
		  .data = "NS1.Provider.COM.", .target = "NS1.Provider.COM." },
		{ .name = "EXAMPLE.net", .type = TYPE_NS, .rclass = 1,
		  .data = "ns1.provider.com.", .target = "ns1.provider.com" },
	};
	struct dns_msg m = { .qr = true, .has_question = true, .qname = "example.net",
			     .qtype = TYPE_NS, .qclass = 1, .an = { 2, rrs } };
	struct event ev = net_event(EVENT_DNS);
	static const char *const lower[] = { "ns1.provider.com", NULL };

	(void)state;
	ev.dns = &m;
	ev.net.direction = NET_INGRESS;
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	assert_string_equal(ns_of(n, "example.net."), "ns1.provider.com");
	assert_string_equal(ns_of(n, "EXAMPLE.NET"), "ns1.provider.com");
	/* the same set in other spelling, much later: no change, no hold */
	assert_int_equal(see(n, "EXAMPLE.net", lower, 5000, c), 0);
	assert_int_equal(nsinfra_stats(n)->held, 0);
	assert_int_equal(nsinfra_stats(n)->domains, 1);
	nsinfra_close(n);
}

static void queries_errors_and_malformed_responses_teach_nothing(void **state)
{
	struct nsinfra *n = open_nsinfra(NULL, 60);
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct wire w;
	struct event ev;

	(void)state;
	/* NXDOMAIN */
	begin(&w, "example.com", TYPE_NS, 3);
	rr(&w, AN, "example.com", TYPE_NS, "ns1.provider.net");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	/* a query carrying records */
	begin(&w, "example.com", TYPE_NS, 0);
	w.b[2] &= 0x7f;
	rr(&w, AN, "example.com", TYPE_NS, "ns1.provider.net");
	ev = response(&w);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	/* a response cut short */
	begin(&w, "example.com", TYPE_NS, 0);
	rr(&w, AN, "example.com", TYPE_NS, "ns1.provider.net");
	w.n -= 5;
	ev = response(&w);
	assert_non_null(w.msg.malformed);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	/* a response leaving this host (a local server's): seen where it arrives */
	begin(&w, "example.com", TYPE_NS, 0);
	rr(&w, AN, "example.com", TYPE_NS, "ns1.provider.net");
	ev = response(&w);
	ev.net.direction = NET_EGRESS;
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	/* not a DNS event */
	ev = net_event(EVENT_TIMEOUT);
	assert_int_equal(observe(n, &ev, 1000, c), 0);
	assert_string_equal(ns_of(n, "example.com"), "(unknown)");
	assert_int_equal(nsinfra_stats(n)->responses, 0);
	nsinfra_close(n);
}

static void domains_beyond_the_bound_are_forgotten_in_memory_and_file(void **state)
{
	static const char *const set[] = { "ns1.provider.net", NULL };
	struct nsinfra_opts o = NSINFRA_DEFAULTS;
	struct nsinfra_change c[NSINFRA_MAX_CHANGES];
	struct pdns *p = open_store();
	struct nsinfra *n = NULL;

	(void)state;
	o.max_domains = 2;
	assert_int_equal(nsinfra_open(p, regdom, &o, &n), 0);
	assert_int_equal(see(n, "one.com", set, 1, c), 0);
	assert_int_equal(see(n, "two.com", set, 2, c), 0);
	assert_int_equal(see(n, "one.com", set, 3, c), 0); /* two.com is now the oldest */
	assert_int_equal(see(n, "three.com", set, 4, c), 0);
	assert_int_equal(nsinfra_stats(n)->evicted, 1);
	assert_int_equal(nsinfra_stats(n)->domains, 2);
	assert_string_equal(ns_of(n, "two.com"), "(unknown)");
	nsinfra_close(n);
	pdns_close(p);
	p = open_store();
	o.max_domains = 100;
	assert_int_equal(nsinfra_open(p, regdom, &o, &n), 0);
	assert_int_equal(nsinfra_stats(n)->domains, 2);
	assert_string_equal(ns_of(n, "two.com"), "(unknown)");
	assert_string_equal(ns_of(n, "three.com"), "ns1.provider.net");
	nsinfra_close(n);
	pdns_close(p);
}

static int make_dir(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/test_nsinfra.XXXXXX");
	assert_non_null(mkdtemp(dir));
	return 0;
}

static int remove_dir(void **state)
{
	static const char *const files[] = { "", "-wal", "-shm" };
	char path[128];

	(void)state;
	for (size_t i = 0; i < 3; i++) {
		snprintf(path, sizeof(path), "%s/%s%s", dir, PDNS_FILE, files[i]);
		unlink(path);
	}
	rmdir(dir);
	return 0;
}

static int setup(void **state)
{
	(void)state;
	parser = dns_parser_new();
	return regdom_open(NULL, &regdom) || !parser;
}

static int teardown(void **state)
{
	(void)state;
	regdom_free(regdom);
	dns_parser_free(parser);
	return 0;
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, make_dir, remove_dir)

int main(void)
{
	const struct CMUnitTest tests[] = {
		TEST(an_ns_answer_and_its_addresses_are_learned),
		TEST(addresses_asked_apart_are_learned_for_known_ns_names_only),
		TEST(a_referral_with_glue_is_learned_and_sub_and_tld_delegations_are_not),
		TEST(a_rename_within_one_provider_is_no_change),
		TEST(a_provider_change_after_min_age_is_reported_once),
		TEST(a_move_to_a_long_known_provider_is_not_recent),
		TEST(a_provider_change_before_min_age_is_held_and_the_set_updated),
		TEST(the_judgement_survives_a_restart),
		TEST(case_and_trailing_dots_are_normalised),
		TEST(queries_errors_and_malformed_responses_teach_nothing),
		TEST(domains_beyond_the_bound_are_forgotten_in_memory_and_file),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
