/* The traffic-only correlation rules (agent/correlate.c) on crafted lookups: each rule fires
 * on what it is about, with its ATT&CK id and severity, once per dedup window, and stays
 * quiet on what it is not about. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "correlate.h"
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

static struct correlate *new_correlate(void)
{
	struct correlate_opts o = CORRELATE_DEFAULTS;
	struct correlate *c = correlate_new(&o, regdom);

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
	/* more of the burst: one finding per window, not one per domain */
	ev = lookup(&m, "www.qx20zv.com", 1, true, 3);
	assert_int_equal(judge(c, &ev, 31 * SEC, &f), 0);
	assert_int_equal(correlate_stats(c)->suppressed, 1);
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

static int setup(void **state)
{
	(void)state;
	return regdom_open(NULL, &regdom);
}

static int teardown(void **state)
{
	(void)state;
	regdom_free(regdom);
	return 0;
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
		cmocka_unit_test(a_stubs_upstream_lookup_is_judged_for_its_client),
		cmocka_unit_test(window_counts_over_the_bound_are_refused),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
