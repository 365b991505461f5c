/* The traffic-only correlation rules (agent/correlate.c) on crafted lookups: each rule fires
 * on what it is about, with its ATT&CK id and severity, once per dedup window, and stays
 * quiet on what it is not about. */
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

#include "correlate.h"
#include "pdns.h"
#include "samples.h"

#define SEC 1000000000ull

static struct regdom *regdom;

/* A client's query for qname (type qtype), or the response with rcode, as capture makes it. */
static struct event lookup(struct dns_msg *m, const char *qname, uint16_t qtype, bool response,
			   uint16_t rcode)
{
	struct event ev = net_event(EVENT_DNS);

	*m = (struct dns_msg){ .qr = response, .rcode = rcode, .has_question = true,
			       .qname = qname, .qtype = qtype, .qclass = 1 };
	ev.dns = m;
	ev.raw_len = 64;
	if (response)
		ev.net.direction = NET_INGRESS;
	return ev;
}

static size_t judge(struct correlate *c, const struct event *ev, uint64_t now,
		    const struct finding **f)
{
	const struct proc_info *who;

	return correlate_event(c, ev, now, f, &who);
}

/* A procfs of its own (setup): pid 100 (some_process) with a resolv.conf naming
 * 127.0.0.53, as for every lookup these tests make. */
static char proc_root[128];

static struct correlate *new_correlate(void)
{
	struct correlate_opts o = CORRELATE_DEFAULTS;
	struct correlate *c;

	o.proc_root = proc_root;
	c = correlate_new(&o, regdom);

	assert_non_null(c);
	return c;
}

static const char *evidence_str(const struct finding *f, const char *name)
{
	for (size_t i = 0; i < f->n_evidence; i++)
		if (!strcmp(f->evidence[i].name, name))
			return f->evidence[i].str;
	fail_msg("no evidence %s", name);
	return NULL;
}

static uint64_t evidence_u64(const struct finding *f, const char *name)
{
	for (size_t i = 0; i < f->n_evidence; i++)
		if (!strcmp(f->evidence[i].name, name))
			return f->evidence[i].u64;
	fail_msg("no evidence %s", name);
	return 0;
}

static void an_axfr_query_is_a_zone_transfer_attempt(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct event ev = lookup(&m, "corp.example.com", 252, false, 0);

	(void)state;
	assert_int_equal(judge(c, &ev, 1 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "zone.transfer");
	assert_int_equal(f[0].severity, SEVERITY_MEDIUM);
	assert_string_equal(f[0].attack[0], "T1590.002");
	assert_string_equal(f[0].registered_domain, "example.com");
	assert_string_equal(evidence_str(&f[0], "qtype"), "AXFR");
	assert_string_equal(evidence_str(&f[0], "server"), "127.0.0.53");
	assert_non_null(strstr(f[0].summary, "dig asked 127.0.0.53 for a zone transfer (AXFR)"));
	/* the same again within the window: suppressed, counted */
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 0);
	assert_int_equal(correlate_stats(c)->suppressed, 1);
	/* after it: reported again */
	assert_int_equal(judge(c, &ev, 700 * SEC, &f), 1);
	/* an A query, or the server's side of the AXFR: nothing */
	m.qtype = 1;
	assert_int_equal(judge(c, &ev, 800 * SEC, &f), 0);
	m.qtype = 252;
	ev.net.role = ROLE_SERVER;
	ev.net.direction = NET_INGRESS;
	assert_int_equal(judge(c, &ev, 900 * SEC, &f), 0);
	correlate_free(c);
}

static void doh_endpoints_and_the_firefox_canary_are_info(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct event ev = lookup(&m, "Mozilla.Cloudflare-DNS.com", 1, false, 0);

	(void)state;
	assert_int_equal(judge(c, &ev, SEC, &f), 1);
	assert_string_equal(f[0].rule, "doh.endpoint");
	assert_int_equal(f[0].severity, SEVERITY_INFO);
	assert_string_equal(f[0].attack[0], "T1572");
	ev = lookup(&m, "use-application-dns.net", 1, false, 0);
	assert_int_equal(judge(c, &ev, SEC, &f), 1);
	assert_non_null(strstr(f[0].summary, "canary"));
	ev = lookup(&m, "cloudflare.com", 1, false, 0);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	correlate_free(c);
}

static void a_long_subdomain_is_a_tunnel_and_a_short_one_is_not(void **state)
{
	static const char *const tunnel =
		"aGVsbG8gd29ybGQgdGhpcyBpcyBleGZpbHRyYXRlZCBkYXRh.x1.exfil.example.co.uk";
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct event ev = lookup(&m, tunnel, 16, false, 0);

	(void)state;
	assert_int_equal(judge(c, &ev, SEC, &f), 1);
	assert_string_equal(f[0].rule, "dns.tunnel");
	assert_string_equal(f[0].attack[0], "T1071.004");
	assert_string_equal(f[0].attack[1], "T1048.003");
	assert_string_equal(f[0].registered_domain, "example.co.uk");
	assert_int_equal(evidence_u64(&f[0], "subdomain_length"),
			 strlen(tunnel) - strlen(".example.co.uk"));
	ev = lookup(&m, "www.example.org", 1, false, 0);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	/* a reverse lookup is long and benign */
	ev = lookup(&m, "b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa",
		    12, false, 0);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	correlate_free(c);
}

static void many_names_under_one_domain_from_one_process_is_a_tunnel(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	char name[64];
	struct event ev;

	(void)state;
	for (int i = 0; i < 14; i++) {
		snprintf(name, sizeof(name), "c%d.t.example.net", i);
		ev = lookup(&m, name, 1, false, 0);
		assert_int_equal(judge(c, &ev, (uint64_t)(i + 1) * SEC, &f), 0);
		/* the same names again count once */
		assert_int_equal(judge(c, &ev, (uint64_t)(i + 1) * SEC, &f), 0);
	}
	/* another process's names do not add up with these */
	ev = lookup(&m, "c99.t.example.net", 1, false, 0);
	ev.process.pid = 4242;
	assert_int_equal(judge(c, &ev, 20 * SEC, &f), 0);
	ev = lookup(&m, "c14.t.example.net", 1, false, 0);
	assert_int_equal(judge(c, &ev, 20 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "dns.tunnel");
	assert_int_equal(evidence_u64(&f[0], "distinct_names"), 15);
	assert_string_equal(evidence_str(&f[0], "reason"), "many names");
	correlate_free(c);
}

static void names_spread_over_more_than_the_window_are_no_tunnel(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	char name[64];

	(void)state;
	for (int i = 0; i < 40; i++) { /* one every 30 s: at most 10 in any 5 min */
		struct event ev;

		snprintf(name, sizeof(name), "host%d.example.net", i);
		ev = lookup(&m, name, 1, false, 0);
		assert_int_equal(judge(c, &ev, (uint64_t)i * 30 * SEC, &f), 0);
	}
	correlate_free(c);
}

static void an_nxdomain_burst_over_many_domains_is_dga(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	char name[64];
	struct event ev;

	(void)state;
	for (int i = 0; i < 19; i++) {
		snprintf(name, sizeof(name), "www.qx%dzv.com", i);
		ev = lookup(&m, name, 1, true, 3);
		assert_int_equal(judge(c, &ev, SEC + (uint64_t)i * SEC, &f), 0);
	}
	/* NOERROR answers and NXDOMAIN under a domain already counted add nothing */
	ev = lookup(&m, "www.good.com", 1, true, 0);
	assert_int_equal(judge(c, &ev, 30 * SEC, &f), 0);
	ev = lookup(&m, "mail.qx3zv.com", 1, true, 3);
	assert_int_equal(judge(c, &ev, 30 * SEC, &f), 0);
	ev = lookup(&m, "www.qx19zv.com", 1, true, 3);
	assert_int_equal(judge(c, &ev, 30 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "dga.nxdomain");
	assert_string_equal(f[0].attack[0], "T1568.002");
	assert_int_equal(evidence_u64(&f[0], "distinct_domains"), 20);
	/* qx0zv..qx9zv are too short to judge, qx10zv..qx19zv look generated: half */
	assert_int_equal(evidence_u64(&f[0], "generated_domains"), 10);
	assert_int_equal(f[0].severity, SEVERITY_HIGH);
	/* more of the burst: one finding per window, not one per domain */
	ev = lookup(&m, "www.qx20zv.com", 1, true, 3);
	assert_int_equal(judge(c, &ev, 31 * SEC, &f), 0);
	assert_int_equal(correlate_stats(c)->suppressed, 1);
	correlate_free(c);
}

/* A burst of names people chose (a stale list, a mistyped config) is still a burst, but not
 * what a DGA makes: medium, and the evidence says how few look generated. */
static void an_nxdomain_burst_of_human_names_is_dga_at_medium(void **state)
{
	static const char *const words[] = { "printer", "office", "backup", "mail", "storage" };
	struct correlate *c = new_correlate();
	const struct finding *f = NULL;
	struct dns_msg m;
	char name[64];
	struct event ev;
	size_t n = 0;

	(void)state;
	for (int i = 0; i < 20; i++) {
		snprintf(name, sizeof(name), "%s-%s%d.com", words[i % 5], words[(i + 1) % 5], i);
		ev = lookup(&m, name, 1, true, 3);
		n = judge(c, &ev, SEC + (uint64_t)i * SEC, &f);
	}
	assert_int_equal(n, 1);
	assert_string_equal(f[0].rule, "dga.nxdomain");
	assert_int_equal(f[0].severity, SEVERITY_MEDIUM);
	assert_int_equal(evidence_u64(&f[0], "distinct_domains"), 20);
	assert_int_equal(evidence_u64(&f[0], "generated_domains"), 0);
	correlate_free(c);
}

static void a_stubs_upstream_lookup_is_judged_for_its_client(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	const struct proc_info *who;
	struct dns_msg m;
	struct event ev = lookup(&m, "example.com", 252, false, 0);

	(void)state;
	strcpy(ev.process.comm, "dnsmasq");
	ev.has_origin = true;
	ev.origin = some_process;
	ev.origin.pid = 555;
	assert_int_equal(correlate_event(c, &ev, SEC, &f, &who), 1);
	assert_int_equal(who->pid, 555);
	assert_non_null(strstr(f[0].summary, "dig asked"));
	correlate_free(c);
}

static void window_counts_over_the_bound_are_refused(void **state)
{
	struct correlate_opts o = CORRELATE_DEFAULTS;

	(void)state;
	o.tunnel_names = CORRELATE_WINDOW_MAX + 1;
	errno = 0;
	assert_null(correlate_new(&o, regdom));
	assert_int_equal(errno, EINVAL);
	o = (struct correlate_opts)CORRELATE_DEFAULTS;
	o.nxdomain_domains = 0;
	assert_null(correlate_new(&o, regdom));
}

/* The intel of the intel rules' cases: an RPZ zone and a ThreatFox export, in files. */
static struct intel *intel;
static char intel_dir[] = "/tmp/dv-test-correlate.XXXXXX";

static const char zone[] =
	"$ORIGIN rpz.local.\n@ SOA a. b. 1 2 3 4 5\n"
	"bad.example CNAME .\n"
	"*.bad.example CNAME .\n"
	"ok.bad.example CNAME rpz-passthru.\n"
	"32.1.2.0.192.rpz-ip CNAME .\n"
	"ns1.evil-dns.net.rpz-nsdname CNAME .\n"
	"24.0.113.0.203.rpz-nsip CNAME .\n";
static const char threatfox[] =
	"# \"first_seen_utc\",\"ioc_id\",\"ioc_value\",\"ioc_type\",\"threat_type\","
	"\"fk_malware\",\"malware_alias\",\"malware_printable\",\"last_seen_utc\","
	"\"confidence_level\",\"reference\",\"tags\",\"anonymous\",\"reporter\"\n"
	"\"2026-12-01 10:00:00\",\"1\",\"c2.example.org\",\"domain\",\"botnet_cc\","
	"\"win.cobalt_strike\",\"\",\"Cobalt Strike\",\"\",\"100\",\"None\",\"c2,beacon\",\"0\","
	"\"x\"\n";

static void put_file(const char *name, const char *text)
{
	char path[128];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", intel_dir, name);
	assert_non_null(f = fopen(path, "w"));
	fputs(text, f);
	fclose(f);
}

static struct correlate *new_correlate_with_intel(void)
{
	struct correlate *c = new_correlate();

	correlate_set_intel(c, intel);
	return c;
}

static void add_rr(struct dns_section *sec, struct dns_rr *rrs, uint16_t type, const char *name,
		   const char *target, const uint8_t *addr, uint8_t addr_len)
{
	rrs[sec->n] = (struct dns_rr){ .name = name, .type = type, .rclass = 1, .ttl = 300,
				       .target = target, .addr = addr, .addr_len = addr_len };
	sec->rrs = rrs;
	sec->n++;
}

static void a_listed_name_is_an_intel_qname_finding_with_its_source(void **state)
{
	struct correlate *c = new_correlate_with_intel();
	const struct finding *f;
	struct dns_msg m;
	struct event ev = lookup(&m, "www.c2.example.org", 1, false, 0);

	(void)state;
	assert_int_equal(judge(c, &ev, SEC, &f), 1);
	assert_string_equal(f[0].rule, "intel.qname");
	assert_int_equal(f[0].severity, SEVERITY_HIGH); /* ThreatFox confidence 100 */
	assert_string_equal(f[0].attack[0], "T1071.004");
	assert_string_equal(evidence_str(&f[0], "indicator"), "c2.example.org");
	assert_string_equal(evidence_str(&f[0], "kind"), "qname");
	assert_non_null(strstr(evidence_str(&f[0], "source"), "threatfox.csv:2"));
	assert_null(evidence_str(&f[0], "action"));
	assert_int_equal(evidence_u64(&f[0], "confidence"), 100);
	for (size_t i = 0; i < f[0].n_evidence; i++)
		if (!strcmp(f[0].evidence[i].name, "tags")) {
			assert_int_equal(f[0].evidence[i].n_list, 3);
			assert_string_equal(f[0].evidence[i].list[0], "Cobalt Strike");
			assert_string_equal(f[0].evidence[i].list[2], "beacon");
		}
	/* RPZ: the exact name and its wildcard, with the zone's action and default confidence */
	ev = lookup(&m, "x.bad.example", 1, false, 0);
	assert_int_equal(judge(c, &ev, SEC, &f), 1);
	assert_string_equal(evidence_str(&f[0], "indicator"), "*.bad.example");
	assert_string_equal(evidence_str(&f[0], "action"), "nxdomain");
	assert_int_equal(f[0].severity, SEVERITY_MEDIUM);
	correlate_free(c);
}

static void a_passthru_name_silences_every_intel_rule(void **state)
{
	static const uint8_t listed_addr[4] = { 192, 0, 2, 1 };
	struct correlate *c = new_correlate_with_intel();
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr an[2];
	struct event ev = lookup(&m, "ok.bad.example", 1, false, 0);

	(void)state;
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	ev = lookup(&m, "ok.bad.example", 1, true, 0);
	add_rr(&m.an, an, 1, "ok.bad.example", NULL, listed_addr, 4);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	correlate_free(c);
}

static void a_listed_answer_address_is_an_intel_ip_finding(void **state)
{
	static const uint8_t fine[4] = { 198, 51, 100, 7 }, listed[4] = { 192, 0, 2, 1 };
	struct correlate *c = new_correlate_with_intel();
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr an[2];
	struct event ev = lookup(&m, "cdn.example.net", 1, true, 0);

	(void)state;
	add_rr(&m.an, an, 1, "cdn.example.net", NULL, fine, 4);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	add_rr(&m.an, an, 1, "cdn.example.net", NULL, listed, 4);
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "intel.ip");
	assert_string_equal(evidence_str(&f[0], "address"), "192.0.2.1");
	assert_string_equal(evidence_str(&f[0], "indicator"), "192.0.2.1/32");
	assert_string_equal(f[0].registered_domain, "example.net");
	correlate_free(c);
}

static void a_listed_nameserver_or_its_glue_is_an_intel_ns_finding(void **state)
{
	static const uint8_t glue[4] = { 203, 0, 113, 9 };
	struct correlate *c = new_correlate_with_intel();
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr ns[2], ar[2];
	struct event ev = lookup(&m, "www.victim.example", 1, true, 0);

	(void)state;
	/* a referral: the domain's nameservers in authority, their address in additional */
	add_rr(&m.ns, ns, 2, "victim.example", "ns1.evil-dns.net", NULL, 0);
	add_rr(&m.ar, ar, 1, "ns1.evil-dns.net", NULL, glue, 4);
	assert_int_equal(judge(c, &ev, SEC, &f), 2);
	assert_string_equal(f[0].rule, "intel.nsdname");
	assert_string_equal(f[0].attack[0], "T1584.002");
	assert_string_equal(evidence_str(&f[0], "nameserver"), "ns1.evil-dns.net");
	assert_string_equal(evidence_str(&f[0], "seen_in"), "this response");
	assert_string_equal(f[1].rule, "intel.nsip");
	assert_string_equal(evidence_str(&f[1], "address"), "203.0.113.9");
	assert_string_equal(f[1].registered_domain, "victim.example");
	correlate_free(c);
}

/* Behind a recursive resolver: the client's answer holds no NS records, the resolver's
 * referral from the TLD did, and nsinfra learned them there. The finding goes on the
 * client's lookup, once; the resolver's own upstream lookup fires none. */
static void a_nameserver_learned_from_a_resolvers_referral_is_judged_on_the_clients_lookup(
	void **state)
{
	static const uint8_t glue[4] = { 203, 0, 113, 9 }, answer[4] = { 198, 51, 100, 7 };
	struct nsinfra_opts no = NSINFRA_DEFAULTS;
	struct correlate *c = new_correlate_with_intel();
	const struct finding *f;
	struct nsinfra *ns;
	struct dns_msg q, m;
	struct dns_rr rrs[2], an[1];
	struct event served = lookup(&q, "www.victim.example", 1, false, 0), ev;

	(void)state;
	assert_int_equal(nsinfra_open(NULL, regdom, &no, &ns), 0);
	correlate_set_nsinfra(c, ns);
	/* unbound (pid 200) takes the client's query on its listening socket */
	served.process.pid = 200;
	strcpy(served.process.comm, "unbound");
	served.net.role = ROLE_SERVER;
	served.net.direction = NET_INGRESS;
	assert_int_equal(judge(c, &served, SEC, &f), 0);
	/* its upstream query's referral: NS and glue, judged for the resolver: nothing */
	ev = lookup(&m, "www.victim.example", 1, true, 0);
	ev.process = served.process;
	add_rr(&m.ns, rrs, 2, "victim.example", "ns1.evil-dns.net", NULL, 0);
	m.ar = (struct dns_section){ 0 };
	add_rr(&m.ar, &rrs[1], 1, "ns1.evil-dns.net", NULL, glue, 4);
	ev.ts_ns = 1700000000 * SEC;
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	/* the client's minimal answer: both from what was learned */
	ev = lookup(&m, "www.victim.example", 1, true, 0);
	add_rr(&m.an, an, 1, "www.victim.example", NULL, answer, 4);
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 2);
	assert_string_equal(f[0].rule, "intel.nsdname");
	assert_int_equal(f[0].severity, SEVERITY_MEDIUM); /* RPZ's default confidence */
	assert_string_equal(f[0].attack[0], "T1584.002");
	assert_string_equal(evidence_str(&f[0], "nameserver"), "ns1.evil-dns.net");
	assert_string_equal(evidence_str(&f[0], "seen_in"), "learned infrastructure");
	assert_non_null(strstr(f[0].summary, "dig looked up www.victim.example"));
	assert_string_equal(f[1].rule, "intel.nsip");
	assert_string_equal(evidence_str(&f[1], "address"), "203.0.113.9");
	assert_string_equal(evidence_str(&f[1], "nameserver"), "ns1.evil-dns.net");
	assert_string_equal(f[1].registered_domain, "victim.example");
	/* the next lookup of the domain: within the dedup window, suppressed */
	assert_int_equal(judge(c, &ev, 3 * SEC, &f), 0);
	assert_int_equal(correlate_stats(c)->suppressed, 2);
	correlate_free(c);
	nsinfra_close(ns);
}

/* A response naming the NS set of example.com at ts seconds. */
static struct event ns_response(struct dns_msg *m, struct dns_rr *rrs, const char *const *ns,
				size_t n, uint64_t ts)
{
	struct event ev = lookup(m, "example.com", 2, true, 0);

	for (size_t i = 0; i < n; i++)
		add_rr(&m->an, rrs, 2, "example.com", ns[i], NULL, 0);
	ev.ts_ns = ts * SEC;
	return ev;
}

static void a_move_to_another_provider_after_min_age_is_an_ns_change(void **state)
{
	static const char *const old_ns[] = { "ns1.provider-a.net", "ns2.provider-a.net" };
	static const char *const renamed[] = { "ns3.provider-a.net", "ns4.provider-a.net" };
	static const char *const new_ns[] = { "ns1.evil-dns.net" }; /* and in NSDNAME intel */
	struct nsinfra_opts no = NSINFRA_DEFAULTS;
	struct correlate_opts o = CORRELATE_DEFAULTS;
	static const char *const watch[] = { "example.com" };
	struct nsinfra *ns;
	struct correlate *c;
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr rrs[4];
	struct event ev;
	uint64_t t0 = 1700000000;

	(void)state;
	no.ns_change_min_age = 3600;
	assert_int_equal(nsinfra_open(NULL, regdom, &no, &ns), 0);
	o.watch = watch;
	o.n_watch = 1;
	assert_non_null(c = correlate_new(&o, regdom));
	correlate_set_nsinfra(c, ns);
	correlate_set_intel(c, intel);
	ev = ns_response(&m, rrs, old_ns, 2, t0);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	/* a rename within the provider, after the min age: no change */
	ev = ns_response(&m, rrs, renamed, 2, t0 + 7200);
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 0);
	/* another provider: a change, critical (watched, and the new nameserver is in intel) */
	ev = ns_response(&m, rrs, new_ns, 1, t0 + 7300);
	assert_int_equal(judge(c, &ev, 3 * SEC, &f), 2); /* intel.nsdname fires on it too */
	assert_string_equal(f[1].rule, "ns.change");
	assert_int_equal(f[1].severity, SEVERITY_CRITICAL);
	assert_string_equal(f[1].attack[0], "T1584.002");
	assert_string_equal(f[1].registered_domain, "example.com");
	for (size_t i = 0; i < f[1].n_evidence; i++) {
		const struct evidence *e = &f[1].evidence[i];

		if (!strcmp(e->name, "old_providers"))
			assert_string_equal(e->list[0], "provider-a.net");
		if (!strcmp(e->name, "new_ns"))
			assert_string_equal(e->list[0], "ns1.evil-dns.net");
		if (!strcmp(e->name, "reasons")) {
			assert_int_equal(e->n_list, 3);
			assert_string_equal(e->list[0], "watched domain");
		}
	}
	assert_int_equal(evidence_u64(&f[1], "stable_s"), 7300);
	correlate_free(c);
	nsinfra_close(ns);
}

static void the_agents_own_probes_teach_nsinfra_and_are_not_judged(void **state)
{
	static const char *const evil[] = { "ns1.evil-dns.net" }; /* in NSDNAME intel */
	struct nsinfra_opts no = NSINFRA_DEFAULTS;
	struct nsinfra_ns out[NSINFRA_MAX_NS];
	struct nsinfra *ns;
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m, q;
	struct dns_rr rrs[2];
	struct event ev, axfr = lookup(&q, "corp.example.com", 252, false, 0);
	size_t k;

	(void)state;
	assert_int_equal(nsinfra_open(NULL, regdom, &no, &ns), 0);
	correlate_set_nsinfra(c, ns);
	correlate_set_intel(c, intel);
	ev = ns_response(&m, rrs, evil, 1, 1700000000);
	ev.agent_probe = true;
	axfr.agent_probe = true;
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	assert_int_equal(judge(c, &axfr, SEC, &f), 0);
	assert_int_equal(correlate_stats(c)->judged, 0);
	assert_int_equal(nsinfra_ns_of(ns, "example.com", out, NSINFRA_MAX_NS, &k), 0);
	assert_int_equal(k, 1);
	assert_string_equal(out[0].name, "ns1.evil-dns.net");
	/* the same response to a process: judged */
	ev.agent_probe = false;
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "intel.nsdname");
	correlate_free(c);
	nsinfra_close(ns);
}

static void a_query_to_a_server_not_configured_is_a_bypass(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct event ev = lookup(&m, "www.example.org", 1, false, 0);

	(void)state;
	/* to the configured resolver: nothing */
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	ev.net.dst_ip[3] = 9; /* 127.0.0.9 */
	assert_int_equal(judge(c, &ev, SEC, &f), 1);
	assert_string_equal(f[0].rule, "resolver.bypass");
	assert_string_equal(f[0].attack[0], "T1071.004");
	assert_string_equal(evidence_str(&f[0], "server"), "127.0.0.9");
	assert_string_equal(f[0].evidence[1].list[0], "127.0.0.53");
	/* not port 53, or a multicast group (mDNS): not judged */
	ev.net.dst_ip[3] = 10;
	ev.net.dst_port = 5353;
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	ev.net.dst_port = 53;
	memcpy(ev.net.dst_ip, (uint8_t[]){ 224, 0, 0, 251 }, 4);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	/* a process that served DNS here makes its own upstream queries */
	{
		struct dns_msg q;
		struct event served = lookup(&q, "a.example.org", 1, false, 0);

		served.net.role = ROLE_SERVER;
		served.net.direction = NET_INGRESS;
		assert_int_equal(judge(c, &served, SEC, &f), 0);
	}
	memcpy(ev.net.dst_ip, (uint8_t[]){ 127, 0, 0, 11 }, 4);
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 0);
	correlate_free(c);
}

static void an_allowed_resolver_is_no_bypass(void **state)
{
	static const struct call_addr allowed[] = { { 4, { 192, 0, 2, 53 } } };
	struct correlate_opts o = CORRELATE_DEFAULTS;
	struct correlate *c;
	const struct finding *f;
	struct dns_msg m;
	struct event ev = lookup(&m, "www.example.org", 1, false, 0);

	(void)state;
	o.proc_root = proc_root;
	o.allowed_resolvers = allowed;
	o.n_allowed_resolvers = 1;
	assert_non_null(c = correlate_new(&o, regdom));
	memcpy(ev.net.dst_ip, allowed[0].addr, 4);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	ev.process.pid = 4242; /* no /proc entry: nothing says what it may use */
	ev.net.dst_ip[3] = 54;
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	correlate_free(c);
}

static void make_proc(void)
{
	char path[512];

	snprintf(proc_root, sizeof(proc_root), "%s/proc", intel_dir);
	snprintf(path, sizeof(path), "mkdir -p %s/100/root/etc", proc_root);
	assert_int_equal(system(path), 0);
	snprintf(path, sizeof(path), "%s/100/root/etc/resolv.conf", proc_root);
	{
		FILE *f = fopen(path, "w");

		fputs("# generated\nsearch lab\nnameserver 127.0.0.53\noptions edns0\n", f);
		fclose(f);
	}
}

static int setup(void **state)
{
	char path[2][128];
	const char *paths[] = { path[0], path[1] };

	(void)state;
	if (!mkdtemp(intel_dir))
		return -1;
	make_proc();
	put_file("zone.rpz", zone);
	put_file("threatfox.csv", threatfox);
	snprintf(path[0], sizeof(path[0]), "%s/zone.rpz", intel_dir);
	snprintf(path[1], sizeof(path[1]), "%s/threatfox.csv", intel_dir);
	if (intel_load(paths, 2, NULL, &intel, NULL))
		return -1;
	return regdom_open(NULL, &regdom);
}

static int teardown(void **state)
{
	char path[128];

	(void)state;
	regdom_free(regdom);
	intel_free(intel);
	snprintf(path, sizeof(path), "rm -rf %s", intel_dir);
	return system(path) ? -1 : 0;
}

/* A response for qname with n A records of the given TTL, addrs[i] being 10.(i / per_net)...:
 * per_net addresses in each /24. */
static struct event a_response(struct dns_msg *m, struct dns_rr *rrs, uint8_t (*addrs)[4],
			       const char *qname, size_t n, uint32_t ttl)
{
	struct event ev = lookup(m, qname, 1, true, 0);

	for (size_t i = 0; i < n; i++) {
		add_rr(&m->an, rrs, 1, qname, NULL, addrs[i], 4);
		rrs[i].ttl = ttl;
	}
	return ev;
}

static void low_ttl_answers_across_many_networks_are_fastflux(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr rrs[4];
	uint8_t addrs[8][4];
	struct event ev;

	(void)state;
	for (int i = 0; i < 8; i++)
		memcpy(addrs[i], (uint8_t[4]){ 10, (uint8_t)i, 7, 1 }, 4); /* 8 /24s */
	/* 4 addresses in 4 networks: 1.32 * 4 + 18.54 * 4 = 87.44, not yet */
	ev = a_response(&m, rrs, addrs, "www.flux.example.com", 4, 120);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	/* 4 more in 4 more, TTL 60: 158.88, over 142.38 */
	ev = a_response(&m, rrs, addrs + 4, "www.flux.example.com", 4, 60);
	ev.process.pid = 101; /* another process tips it: the finding is its */
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "fastflux");
	assert_int_equal(f[0].severity, SEVERITY_MEDIUM);
	assert_string_equal(f[0].attack[0], "T1568.001");
	assert_string_equal(f[0].registered_domain, "example.com");
	assert_int_equal(evidence_u64(&f[0], "addresses"), 8);
	assert_int_equal(evidence_u64(&f[0], "networks"), 8);
	assert_int_equal(evidence_u64(&f[0], "min_ttl"), 60);
	assert_string_equal(evidence_str(&f[0], "score"), "158.88");
	/* the domain's property: once a window, whoever resolves it next */
	ev.process.pid = 100;
	assert_int_equal(judge(c, &ev, 3 * SEC, &f), 0);
	correlate_free(c);
}

static void a_cdn_in_few_networks_or_with_high_ttls_is_no_fastflux(void **state)
{
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr rrs[4];
	uint8_t addrs[4][4];
	struct event ev;

	(void)state;
	/* 100 distinct addresses, TTL 20, all in 3 /24s: at most 64 count, 140.1 */
	for (int r = 0; r < 25; r++) {
		for (int i = 0; i < 4; i++)
			memcpy(addrs[i], (uint8_t[4]){ 203, 0, (uint8_t)(i % 3), (uint8_t)(r * 4 + i) },
			       4);
		ev = a_response(&m, rrs, addrs, "img.cdn.example.net", 4, 20);
		assert_int_equal(judge(c, &ev, (1 + r) * SEC, &f), 0);
	}
	/* 8 networks, but TTLs of an hour: stable addresses */
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < 4; i++)
			memcpy(addrs[i], (uint8_t[4]){ 10, (uint8_t)(r * 4 + i), 0, 1 }, 4);
		ev = a_response(&m, rrs, addrs, "www.example.org", 4, 3600);
		assert_int_equal(judge(c, &ev, (30 + r) * SEC, &f), 0);
	}
	/* 8 networks at low TTL, but 31 minutes apart: two windows of 87.44 */
	for (int r = 0; r < 2; r++) {
		for (int i = 0; i < 4; i++)
			memcpy(addrs[i], (uint8_t[4]){ 10, (uint8_t)(r * 4 + i), 0, 1 }, 4);
		ev = a_response(&m, rrs, addrs, "www.example.com", 4, 60);
		assert_int_equal(judge(c, &ev, (40 + r * 1860) * SEC, &f), 0);
	}
	correlate_free(c);
}

static void many_txt_names_under_one_domain_are_a_tunnel(void **state)
{
	static const char *const names[] = { "a0.t.example.com", "a1.t.example.com",
		"a2.t.example.com", "a3.t.example.com", "a4.t.example.com", "a5.t.example.com",
		"a6.t.example.com", "a7.t.example.com", "a8.t.example.com", "a9.t.example.com" };
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct event ev;

	(void)state;
	for (size_t i = 0; i < 9; i++) {
		ev = lookup(&m, names[i], 16, false, 0);
		assert_int_equal(judge(c, &ev, (1 + i) * SEC, &f), 0);
	}
	ev = lookup(&m, names[9], 16, false, 0);
	assert_int_equal(judge(c, &ev, 10 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "dns.tunnel");
	assert_string_equal(f[0].attack[1], "T1048.003");
	assert_string_equal(evidence_str(&f[0], "reason"), "txt volume");
	assert_string_equal(evidence_str(&f[0], "qtype"), "TXT");
	assert_int_equal(evidence_u64(&f[0], "queries"), 10);
	correlate_free(c);
}

static void a_mail_servers_spf_and_dkim_lookups_are_no_tunnel(void **state)
{
	static const char *const senders[] = { "example.org", "example.net", "example.com",
		"example.co.uk", "example.de", "example.fr", "example.nl", "example.it",
		"example.es", "example.se", "example.be", "example.at" };
	struct correlate *c = new_correlate();
	const struct finding *f;
	struct dns_msg m;
	struct event ev;
	char names[3][64];

	(void)state;
	/* 12 senders, 30 mails each: the SPF record, _spf and a DKIM key, asked again and again */
	for (size_t i = 0; i < 12 * 30; i++) {
		const char *d = senders[i % 12];

		snprintf(names[0], sizeof(names[0]), "%s", d);
		snprintf(names[1], sizeof(names[1]), "_spf.%s", d);
		snprintf(names[2], sizeof(names[2]), "sel1._domainkey.%s", d);
		for (int k = 0; k < 3; k++) {
			ev = lookup(&m, names[k], 16, false, 0);
			assert_int_equal(judge(c, &ev, SEC + i * (SEC / 2), &f), 0);
		}
	}
	correlate_free(c);
}

static struct correlate *new_correlate_learning(uint64_t learning_ns)
{
	struct correlate_opts o = CORRELATE_DEFAULTS;
	struct correlate *c;

	o.proc_root = proc_root;
	o.new_learning_ns = learning_ns;
	c = correlate_new(&o, regdom);
	assert_non_null(c);
	return c;
}

static void a_domain_first_resolved_after_learning_is_new_once(void **state)
{
	static const uint8_t addr[4] = { 198, 51, 100, 7 };
	struct correlate *c = new_correlate_learning(100 * SEC);
	const struct finding *f;
	struct dns_msg m;
	struct dns_rr rrs[1];
	struct event ev = lookup(&m, "www.example.com", 1, true, 0);

	(void)state;
	add_rr(&m.an, rrs, 1, "www.example.com", NULL, addr, 4);
	/* learning: silent */
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	/* after it, a domain known from then is not new ... */
	ev = lookup(&m, "mail.example.com", 1, true, 0);
	m.an = (struct dns_section){ 0 };
	add_rr(&m.an, rrs, 1, "mail.example.com", NULL, addr, 4);
	assert_int_equal(judge(c, &ev, 200 * SEC, &f), 0);
	/* ... an NXDOMAIN or an empty answer is no domain that exists ... */
	ev = lookup(&m, "qxzvbnrt.example.org", 1, true, 3);
	assert_int_equal(judge(c, &ev, 201 * SEC, &f), 0);
	ev = lookup(&m, "www.example.org", 1, true, 0);
	assert_int_equal(judge(c, &ev, 202 * SEC, &f), 0);
	/* ... one resolved is */
	m.an = (struct dns_section){ 0 };
	add_rr(&m.an, rrs, 1, "www.example.org", NULL, addr, 4);
	assert_int_equal(judge(c, &ev, 203 * SEC, &f), 1);
	assert_string_equal(f[0].rule, "domain.new");
	assert_int_equal(f[0].severity, SEVERITY_INFO);
	assert_string_equal(f[0].attack[0], "T1583.001");
	assert_string_equal(f[0].registered_domain, "example.org");
	assert_int_equal(evidence_u64(&f[0], "first_seen"), 1700000000);
	/* once per host: another process resolving it later is told nothing */
	ev.process.pid = 101;
	assert_int_equal(judge(c, &ev, 2000 * SEC, &f), 0);
	correlate_free(c);
}

/* With a store, a restart neither forgets the known domains nor learns again. */
static void known_domains_and_the_learning_start_survive_a_restart(void **state)
{
	static const uint8_t addr[4] = { 198, 51, 100, 7 };
	char dir[] = "/tmp/test_correlate_known.XXXXXX", cmd[64];
	const struct finding *f;
	struct correlate *c;
	struct pdns *store;
	struct dns_msg m;
	struct dns_rr rrs[1];
	struct event ev = lookup(&m, "www.example.com", 1, true, 0);

	(void)state;
	assert_non_null(mkdtemp(dir));
	add_rr(&m.an, rrs, 1, "www.example.com", NULL, addr, 4);
	/* the first run, learning from wall time 1000 for 100 s, learns example.com */
	assert_int_equal(pdns_open(dir, 100, &store), 0);
	c = new_correlate_learning(100 * SEC);
	assert_int_equal(correlate_set_store(c, store, 1000, SEC), 0);
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 0);
	correlate_free(c);
	pdns_close(store);
	/* restarted 50 s later, its monotonic clock elsewhere: 50 s of learning are left */
	assert_int_equal(pdns_open(dir, 100, &store), 0);
	c = new_correlate_learning(100 * SEC);
	assert_int_equal(correlate_set_store(c, store, 1050, 5000 * SEC), 0);
	assert_int_equal(pdns_stats(store)->known, 1);
	ev = lookup(&m, "www.example.org", 1, true, 0);
	add_rr(&m.an, rrs, 1, "www.example.org", NULL, addr, 4);
	assert_int_equal(judge(c, &ev, 5040 * SEC, &f), 0); /* still learning */
	ev = lookup(&m, "www.example.com", 1, true, 0);
	add_rr(&m.an, rrs, 1, "www.example.com", NULL, addr, 4);
	assert_int_equal(judge(c, &ev, 5060 * SEC, &f), 0); /* known from the first run */
	ev = lookup(&m, "www.example.net", 1, true, 0);
	add_rr(&m.an, rrs, 1, "www.example.net", NULL, addr, 4);
	assert_int_equal(judge(c, &ev, 5061 * SEC, &f), 1);  /* learnt: new */
	assert_string_equal(f[0].rule, "domain.new");
	assert_string_equal(f[0].registered_domain, "example.net");
	correlate_free(c);
	pdns_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void the_store_of_known_domains_is_bounded(void **state)
{
	static const uint8_t addr[4] = { 198, 51, 100, 7 };
	static const char *const names[] = { "a.example.com", "a.example.org", "a.example.net" };
	char dir[] = "/tmp/test_correlate_known.XXXXXX", cmd[64];
	struct correlate_opts o = CORRELATE_DEFAULTS;
	const struct finding *f;
	struct correlate *c;
	struct pdns *store;
	struct dns_msg m;
	struct dns_rr rrs[1];
	struct event ev;

	(void)state;
	assert_non_null(mkdtemp(dir));
	o.proc_root = proc_root;
	o.new_learning_ns = 0;
	o.max_known = 2;
	assert_int_equal(pdns_open(dir, 100, &store), 0);
	assert_non_null(c = correlate_new(&o, regdom));
	assert_int_equal(correlate_set_store(c, store, 1000, SEC), 0);
	for (size_t i = 0; i < 3; i++) {
		ev = lookup(&m, names[i], 1, true, 0);
		m.an = (struct dns_section){ 0 };
		add_rr(&m.an, rrs, 1, names[i], NULL, addr, 4);
		ev.ts_ns = (1000 + i) * SEC;
		assert_int_equal(judge(c, &ev, (2 + i) * SEC, &f), 1);
		assert_int_equal(evidence_u64(&f[0], "first_seen"), 1000 + i);
	}
	assert_int_equal(pdns_stats(store)->known, 2);
	assert_int_equal(pdns_stats(store)->known_evicted, 1);
	assert_int_equal(correlate_stats(c)->evicted, 1); /* the memory's, too */
	correlate_free(c);
	pdns_close(store);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

static void thresholds_are_set_by_key_and_refused_out_of_range(void **state)
{
	struct correlate_opts o = CORRELATE_DEFAULTS;
	char why[160];

	(void)state;
	assert_int_equal(correlate_threshold_set(&o, "tunnel_window=60", why, sizeof(why)), 0);
	assert_int_equal(o.tunnel_window_ns, 60 * SEC);
	assert_int_equal(correlate_threshold_set(&o, "fastflux_score=150.5", why, sizeof(why)), 0);
	assert_int_equal(o.flux_score, 15050);
	assert_int_equal(correlate_threshold_set(&o, "fastflux_score=99", why, sizeof(why)), 0);
	assert_int_equal(o.flux_score, 9900);
	assert_int_equal(correlate_threshold_set(&o, "txt_names=4", why, sizeof(why)), 0);
	assert_int_equal(o.txt_names, 4);
	assert_int_equal(correlate_threshold_set(&o, "new_domain_learning=0", why, sizeof(why)),
			 0);
	assert_int_equal(o.new_learning_ns, 0);
	/* a count a window cannot hold, a bad number, no value, an unknown key */
	assert_int_equal(correlate_threshold_set(&o, "tunnel_names=33", why, sizeof(why)), -EINVAL);
	assert_string_equal(why, "tunnel_names: expected tunnel_names=VALUE, VALUE in 1..32");
	assert_int_equal(o.tunnel_names, 15);
	assert_int_equal(correlate_threshold_set(&o, "fastflux_score=1.234", why, sizeof(why)),
			 -EINVAL);
	assert_non_null(strstr(why, "0.01..10000.00"));
	assert_int_equal(correlate_threshold_set(&o, "dedup_window=10m", why, sizeof(why)),
			 -EINVAL);
	assert_string_equal(why, "dedup_window: expected dedup_window=VALUE, VALUE in 1..604800 "
				 "seconds");
	assert_int_equal(correlate_threshold_set(&o, "fastflux_ttl", why, sizeof(why)), -EINVAL);
	assert_int_equal(correlate_threshold_set(&o, "tunnel=5", why, sizeof(why)), -ENOENT);
	assert_non_null(strstr(why, "unknown key 'tunnel'"));
}

static void a_lower_txt_threshold_fires_sooner(void **state)
{
	struct correlate_opts o = CORRELATE_DEFAULTS;
	const struct finding *f;
	struct correlate *c;
	struct dns_msg m;
	struct event ev;
	char why[64];

	(void)state;
	o.proc_root = proc_root;
	assert_int_equal(correlate_threshold_set(&o, "txt_names=2", why, sizeof(why)), 0);
	assert_non_null(c = correlate_new(&o, regdom));
	ev = lookup(&m, "a.t.example.com", 10, false, 0);
	assert_int_equal(judge(c, &ev, SEC, &f), 0);
	ev = lookup(&m, "b.t.example.com", 10, false, 0);
	assert_int_equal(judge(c, &ev, 2 * SEC, &f), 1);
	assert_string_equal(evidence_str(&f[0], "qtype"), "NULL");
	assert_int_equal(evidence_u64(&f[0], "queries"), 2);
	correlate_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(an_axfr_query_is_a_zone_transfer_attempt),
		cmocka_unit_test(doh_endpoints_and_the_firefox_canary_are_info),
		cmocka_unit_test(a_long_subdomain_is_a_tunnel_and_a_short_one_is_not),
		cmocka_unit_test(many_names_under_one_domain_from_one_process_is_a_tunnel),
		cmocka_unit_test(names_spread_over_more_than_the_window_are_no_tunnel),
		cmocka_unit_test(an_nxdomain_burst_over_many_domains_is_dga),
		cmocka_unit_test(an_nxdomain_burst_of_human_names_is_dga_at_medium),
		cmocka_unit_test(a_stubs_upstream_lookup_is_judged_for_its_client),
		cmocka_unit_test(window_counts_over_the_bound_are_refused),
		cmocka_unit_test(a_listed_name_is_an_intel_qname_finding_with_its_source),
		cmocka_unit_test(a_passthru_name_silences_every_intel_rule),
		cmocka_unit_test(a_listed_answer_address_is_an_intel_ip_finding),
		cmocka_unit_test(a_listed_nameserver_or_its_glue_is_an_intel_ns_finding),
		cmocka_unit_test(
			a_nameserver_learned_from_a_resolvers_referral_is_judged_on_the_clients_lookup),
		cmocka_unit_test(a_move_to_another_provider_after_min_age_is_an_ns_change),
		cmocka_unit_test(the_agents_own_probes_teach_nsinfra_and_are_not_judged),
		cmocka_unit_test(a_query_to_a_server_not_configured_is_a_bypass),
		cmocka_unit_test(an_allowed_resolver_is_no_bypass),
		cmocka_unit_test(low_ttl_answers_across_many_networks_are_fastflux),
		cmocka_unit_test(a_cdn_in_few_networks_or_with_high_ttls_is_no_fastflux),
		cmocka_unit_test(many_txt_names_under_one_domain_are_a_tunnel),
		cmocka_unit_test(a_mail_servers_spf_and_dkim_lookups_are_no_tunnel),
		cmocka_unit_test(a_domain_first_resolved_after_learning_is_new_once),
		cmocka_unit_test(known_domains_and_the_learning_start_survive_a_restart),
		cmocka_unit_test(the_store_of_known_domains_is_bounded),
		cmocka_unit_test(thresholds_are_set_by_key_and_refused_out_of_range),
		cmocka_unit_test(a_lower_txt_threshold_fires_sooner),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
