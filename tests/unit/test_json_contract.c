/* The JSON contract: the README's tables under "JSON events" against what the renderer
 * (lib/event_json.c) writes. Every path a table lists must be rendered, with its type, and
 * every value rendered must be listed. Events are real renderings of parsed fixture messages
 * (tests/unit/data), of timeouts and resolver calls, and of the stats the kernel-free
 * modules declare; the stats of a whole agent are checked by the e2e suite. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "array.h"
#include "capture.h"
#include "correlate.h"
#include "event_json.h"
#include "pipeline.h"
#include "samples.h"
#include "stage.h"

#ifndef README_PATH
#define README_PATH "README.md"
#endif
#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data"
#endif

#define MAX_ROWS 512
#define MAX_PATH 128

/* One path of a README table: which events it is for ("*": every event), its JSON type. */
struct row {
	char event[16];
	char path[MAX_PATH]; /* "dns.answers[].ttl" */
	char type[32];       /* "integer", "string", "boolean", "array", "object" */
	bool nullable;
	bool optional; /* "only ...": present in some events of the type */
	bool seen;     /* rendered non-null at least once */
};

static struct row rows[MAX_ROWS];
static int n_rows;

static void add_row(const char *event, const char *path, const char *type, bool optional)
{
	struct row *r;
	char t[32];

	/* under an optional path ("findings"), a path is optional too ("findings[].rule") */
	for (int i = 0; i < n_rows; i++) {
		size_t n = strlen(rows[i].path);

		if (rows[i].optional && !strcmp(rows[i].event, event) &&
		    !strncmp(rows[i].path, path, n) && (path[n] == '.' || path[n] == '['))
			optional = true;
	}
	assert_true(n_rows < MAX_ROWS);
	r = &rows[n_rows++];
	snprintf(r->event, sizeof(r->event), "%s", event);
	snprintf(r->path, sizeof(r->path), "%s", path);
	snprintf(t, sizeof(t), "%s", type);
	r->nullable = strstr(t, " or null") != NULL;
	*strchrnul(t, ' ') = '\0';
	snprintf(r->type, sizeof(r->type), "%s", t);
	r->optional = optional;
	assert_true(!strcmp(r->type, "integer") || !strcmp(r->type, "string") ||
		    !strcmp(r->type, "boolean") || !strcmp(r->type, "array") ||
		    !strcmp(r->type, "object"));
}

/* "| `a.b`, `.c` | type | meaning |": `.c` is a sibling of the path before it. */
static void parse_row(const char *event, char *line)
{
	char *cells[4] = { 0 }, *save, *paths, *type, *meaning;
	char prev[MAX_PATH] = "";
	int n = 0;

	for (char *c = strtok_r(line, "|", &save); c && n < 4; c = strtok_r(NULL, "|", &save))
		cells[n++] = c;
	assert_true(n >= 3);
	paths = cells[0];
	type = cells[1] + strspn(cells[1], " ");
	type[strcspn(type, "|\n")] = '\0';
	while (*type && type[strlen(type) - 1] == ' ')
		type[strlen(type) - 1] = '\0';
	meaning = cells[2] + strspn(cells[2], " ");
	for (char *p = strchr(paths, '`'); p; p = strchr(p, '`')) {
		char *end = strchr(p + 1, '`'), path[MAX_PATH];

		assert_non_null(end);
		*end = '\0';
		if (p[1] == '.') {
			char *dot = strrchr(prev, '.');

			assert_non_null(dot);
			snprintf(path, sizeof(path), "%.*s%s", (int)(dot - prev), prev, p + 1);
		} else {
			snprintf(path, sizeof(path), "%s", p + 1);
		}
		add_row(event, path, type, !strncmp(meaning, "only ", 5));
		snprintf(prev, sizeof(prev), "%s", path);
		p = end + 1;
	}
}

static void read_readme(void)
{
	FILE *f = fopen(README_PATH, "r");
	char line[4096], event[16] = "";
	bool in_section = false;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "## ", 3)) {
			in_section = !strcmp(line, "## JSON events\n");
			continue;
		}
		if (!in_section)
			continue;
		if (!strncmp(line, "Every event:", 12))
			snprintf(event, sizeof(event), "*");
		else if (line[0] == '`' && sscanf(line, "`%15[a-z_]` events", event) == 1)
			;
		else if (!strncmp(line, "| `", 3))
			parse_row(event, line + 1);
	}
	fclose(f);
	assert_true(n_rows > 50);
}

static bool has_type(const json_t *v, const char *type)
{
	return !strcmp(type, "integer") ? json_is_integer(v) :
	       !strcmp(type, "string")	? json_is_string(v) :
	       !strcmp(type, "boolean") ? json_is_boolean(v) :
	       !strcmp(type, "array")	? json_is_array(v) :
					  json_is_object(v);
}

/* Checks every value at path under v ("[]" walks each element); a null parent (edns,
 * origin) has no children. Returns the number of values missing or of the wrong type. */
static int check_path(const json_t *v, const char *path, struct row *r)
{
	char key[MAX_PATH];
	size_t n = strcspn(path, ".[");
	const json_t *child;
	int bad = 0;

	if (!*path) {
		if (json_is_null(v))
			return !r->nullable;
		r->seen = true;
		return !has_type(v, r->type);
	}
	if (path[0] == '[') { /* "[]" */
		size_t i;
		const json_t *el;

		if (!json_is_array(v))
			return 0;
		json_array_foreach(v, i, el)
			bad += check_path(el, path + 2 + (path[2] == '.'), r);
		return bad;
	}
	if (!json_is_object(v))
		return 0;
	snprintf(key, sizeof(key), "%.*s", (int)n, path);
	child = json_object_get(v, key);
	if (!child)
		return !r->optional;
	return check_path(child, path + n + (path[n] == '.'), r);
}

static bool listed(const char *event, const char *path)
{
	for (int i = 0; i < n_rows; i++)
		if ((!strcmp(rows[i].event, event) || !strcmp(rows[i].event, "*")) &&
		    !strcmp(rows[i].path, path))
			return true;
	return false;
}

/* Every leaf (or array of scalars, or null) rendered must be a listed path. */
static void check_listed(const char *event, const json_t *v, const char *path)
{
	char sub[MAX_PATH];
	const char *key;
	const json_t *child;
	size_t i;

	if (json_is_object(v) && (!*path || !listed(event, path) ||
				  json_object_size(v) > 0)) {
		json_object_foreach((json_t *)v, key, child) {
			snprintf(sub, sizeof(sub), "%s%s%s", path, *path ? "." : "", key);
			check_listed(event, child, sub);
		}
		if (json_object_size(v))
			return;
	} else if (json_is_array(v) && json_array_size(v) && json_is_object(json_array_get(v, 0))) {
		snprintf(sub, sizeof(sub), "%s[]", path);
		json_array_foreach(v, i, child)
			check_listed(event, child, sub);
		return;
	}
	if (!listed(event, path))
		fail_msg("%s events: \"%s\" is rendered but the README does not list it", event,
			 path);
}

/* Renders ev and checks it against the rows of its type. */
static void check_event(const char *event, const struct event *ev)
{
	struct event_json *render = event_json_new();
	struct jbuf b = { 0 };
	json_error_t err;
	json_t *root;

	assert_non_null(render);
	event_json_render(render, &b, ev);
	assert_false(b.failed);
	root = json_loadb(b.p, b.len, 0, &err);
	if (!root)
		fail_msg("rendered JSON does not parse: %s: %.*s", err.text, (int)b.len, b.p);
	assert_string_equal(json_string_value(json_object_get(root, "type")), event);
	for (int i = 0; i < n_rows; i++) {
		struct row *r = &rows[i];

		if (strcmp(r->event, event) && strcmp(r->event, "*"))
			continue;
		if (check_path(root, r->path, r))
			fail_msg("%s events: \"%s\" is missing or not %s%s: %.*s", event, r->path,
				 r->type, r->nullable ? " or null" : "", (int)b.len, b.p);
	}
	check_listed(event, root, "");
	json_decref(root);
	jbuf_free(&b);
	event_json_free(render);
}

/* After every sample of a type: each path of the type was rendered with a value. */
static void check_all_seen(const char *event)
{
	for (int i = 0; i < n_rows; i++)
		if (!strcmp(rows[i].event, event) && !rows[i].seen)
			fail_msg("%s events: \"%s\" was never rendered with a value", event,
				 rows[i].path);
}

/* A finding as the intel rules make it, and one without registered domain or action. */
static const char *const sample_attack[] = { "T1584.002" };
static const char *const sample_tags[] = { "cobalt_strike", "c2" };
static const struct evidence sample_evidence[] = {
	{ .name = "indicator", .kind = EVIDENCE_STRING, .str = "bad.example" },
	{ .name = "kind", .kind = EVIDENCE_STRING, .str = "qname" },
	{ .name = "source", .kind = EVIDENCE_STRING, .str = "/etc/dnsvigil/intel/rpz.zone:12" },
	{ .name = "action", .kind = EVIDENCE_STRING, .str = "nxdomain" },
	{ .name = "tags", .kind = EVIDENCE_LIST, .list = sample_tags, .n_list = 2 },
	{ .name = "confidence", .kind = EVIDENCE_U64, .u64 = 90 },
};
static const struct evidence sample_list_evidence[] = {
	{ .name = "indicator", .kind = EVIDENCE_STRING, .str = "192.0.2.0/24" },
	{ .name = "kind", .kind = EVIDENCE_STRING, .str = "ip" },
	{ .name = "source", .kind = EVIDENCE_STRING, .str = "ips.txt:3" },
	{ .name = "action", .kind = EVIDENCE_STRING, .str = NULL },
	{ .name = "tags", .kind = EVIDENCE_LIST, .list = NULL, .n_list = 0 },
	{ .name = "confidence", .kind = EVIDENCE_U64, .u64 = 50 },
};
static const struct evidence sample_ns_evidence[] = {
	{ .name = "indicator", .kind = EVIDENCE_STRING, .str = "203.0.113.0/24" },
	{ .name = "kind", .kind = EVIDENCE_STRING, .str = "nsip" },
	{ .name = "source", .kind = EVIDENCE_STRING, .str = "rpz.zone:14" },
	{ .name = "action", .kind = EVIDENCE_STRING, .str = "nxdomain" },
	{ .name = "tags", .kind = EVIDENCE_LIST, .list = NULL, .n_list = 0 },
	{ .name = "confidence", .kind = EVIDENCE_U64, .u64 = 50 },
	{ .name = "nameserver", .kind = EVIDENCE_STRING, .str = "ns1.evil-dns.net" },
	{ .name = "address", .kind = EVIDENCE_STRING, .str = "203.0.113.9" },
};
static const struct evidence sample_axfr_evidence[] = {
	{ .name = "qtype", .kind = EVIDENCE_STRING, .str = "AXFR" },
	{ .name = "server", .kind = EVIDENCE_STRING, .str = "127.0.0.53" },
};
static const char *const sample_configured[] = { "127.0.0.53" };
static const struct evidence sample_bypass_evidence[] = {
	{ .name = "server", .kind = EVIDENCE_STRING, .str = "8.8.8.8" },
	{ .name = "configured", .kind = EVIDENCE_LIST, .list = sample_configured, .n_list = 1 },
};
static const struct evidence sample_doh_evidence[] = {
	{ .name = "endpoint", .kind = EVIDENCE_STRING, .str = "dns.google" },
};
static const struct evidence sample_tunnel_evidence[] = {
	{ .name = "reason", .kind = EVIDENCE_STRING, .str = "long subdomain" },
	{ .name = "subdomain_length", .kind = EVIDENCE_U64, .u64 = 52 },
};
static const struct evidence sample_names_evidence[] = {
	{ .name = "reason", .kind = EVIDENCE_STRING, .str = "many names" },
	{ .name = "distinct_names", .kind = EVIDENCE_U64, .u64 = 15 },
};
static const char *const sample_old_ns[] = { "ns1.provider-a.net", "ns2.provider-a.net" };
static const char *const sample_new_ns[] = { "ns1.evil-dns.net" };
static const char *const sample_old_providers[] = { "provider-a.net" };
static const char *const sample_new_providers[] = { "evil-dns.net" };
static const char *const sample_reasons[] = { "watched domain" };
static const struct evidence sample_ns_change_evidence[] = {
	{ .name = "old_ns", .kind = EVIDENCE_LIST, .list = sample_old_ns, .n_list = 2 },
	{ .name = "new_ns", .kind = EVIDENCE_LIST, .list = sample_new_ns, .n_list = 1 },
	{ .name = "old_providers", .kind = EVIDENCE_LIST, .list = sample_old_providers, .n_list = 1 },
	{ .name = "new_providers", .kind = EVIDENCE_LIST, .list = sample_new_providers, .n_list = 1 },
	{ .name = "stable_s", .kind = EVIDENCE_U64, .u64 = 864000 },
	{ .name = "reasons", .kind = EVIDENCE_LIST, .list = sample_reasons, .n_list = 1 },
};
static const struct evidence sample_dga_evidence[] = {
	{ .name = "distinct_domains", .kind = EVIDENCE_U64, .u64 = 20 },
	{ .name = "generated_domains", .kind = EVIDENCE_U64, .u64 = 12 },
};
static const struct evidence sample_txt_evidence[] = {
	{ .name = "reason", .kind = EVIDENCE_STRING, .str = "txt volume" },
	{ .name = "qtype", .kind = EVIDENCE_STRING, .str = "TXT" },
	{ .name = "queries", .kind = EVIDENCE_U64, .u64 = 10 },
};
static const struct evidence sample_flux_evidence[] = {
	{ .name = "addresses", .kind = EVIDENCE_U64, .u64 = 8 },
	{ .name = "networks", .kind = EVIDENCE_U64, .u64 = 8 },
	{ .name = "min_ttl", .kind = EVIDENCE_U64, .u64 = 60 },
	{ .name = "score", .kind = EVIDENCE_STRING, .str = "158.88" },
};
static const struct evidence sample_new_evidence[] = {
	{ .name = "first_seen", .kind = EVIDENCE_U64, .u64 = 1700000000 },
};
#define SAMPLE(r, sev, ev) { .rule = r, .severity = sev, .attack = sample_attack, .n_attack = 1, \
			     .summary = "s", .qname = "x.example.com",                          \
			     .registered_domain = "example.com", .evidence = ev,                \
			     .n_evidence = ARRAY_LEN(ev) }
static const struct finding sample_findings[] = {
	SAMPLE("intel.nsip", SEVERITY_MEDIUM, sample_ns_evidence),
	SAMPLE("zone.transfer", SEVERITY_MEDIUM, sample_axfr_evidence),
	SAMPLE("doh.endpoint", SEVERITY_INFO, sample_doh_evidence),
	SAMPLE("resolver.bypass", SEVERITY_MEDIUM, sample_bypass_evidence),
	SAMPLE("dns.tunnel", SEVERITY_MEDIUM, sample_tunnel_evidence),
	SAMPLE("dns.tunnel", SEVERITY_MEDIUM, sample_names_evidence),
	SAMPLE("dga.nxdomain", SEVERITY_LOW, sample_dga_evidence),
	SAMPLE("dns.tunnel", SEVERITY_MEDIUM, sample_txt_evidence),
	SAMPLE("fastflux", SEVERITY_MEDIUM, sample_flux_evidence),
	SAMPLE("domain.new", SEVERITY_INFO, sample_new_evidence),
	SAMPLE("ns.change", SEVERITY_HIGH, sample_ns_change_evidence),
	{ .rule = "intel.qname", .severity = SEVERITY_HIGH, .attack = sample_attack, .n_attack = 1,
	  .summary = "A name in threat intel was looked up.", .qname = "x.bad.example",
	  .registered_domain = "bad.example", .evidence = sample_evidence,
	  .n_evidence = ARRAY_LEN(sample_evidence) },
	{ .rule = "intel.ip", .severity = SEVERITY_MEDIUM, .attack = sample_attack, .n_attack = 1,
	  .summary = "An answer pointed into a listed network.", .qname = "x.bad.example",
	  .evidence = sample_list_evidence, .n_evidence = ARRAY_LEN(sample_list_evidence) },
};

static void dns_events_render_every_listed_field(void **state)
{
	static const char *const fixtures[] = { "a-response.bin", "edns-options-response.bin",
						"a-noedns-query.bin", "ns-response.bin",
						"cookie-query.bin" };
	struct dns_parser *parser = dns_parser_new();
	uint8_t raw[4096];

	(void)state;
	assert_non_null(parser);
	for (size_t i = 0; i < ARRAY_LEN(fixtures); i++) {
		size_t len = read_fixture(fixtures[i], raw, sizeof(raw));
		struct event ev = net_event(EVENT_DNS);
		struct dns_msg msg;

		assert_int_equal(dns_parse(parser, raw, len, &msg), 0);
		ev.dns = &msg;
		ev.raw = raw;
		ev.raw_len = len;
		if (i == 0) { /* a stub's upstream answer, matched, from a call, correlated */
			ev.latency_ns = 1500;
			ev.call_id = 42;
			ev.has_origin = true;
			ev.origin = some_process;
			ev.findings = sample_findings;
			ev.n_findings = ARRAY_LEN(sample_findings);
		} else if (i == 3) { /* the agent's own NS probe's answer */
			ev.agent_probe = true;
		} else if (i == 2) { /* nobody known */
			ev.process = proc_unknown;
		}
		check_event("dns", &ev);
	}
	/* malformed: a header cut short */
	{
		struct event ev = net_event(EVENT_DNS);
		struct dns_msg msg;

		assert_int_not_equal(dns_parse(parser, raw, 7, &msg), 0);
		ev.dns = &msg;
		ev.raw = raw;
		ev.raw_len = 7;
		check_event("dns", &ev);
	}
	check_all_seen("dns");
	dns_parser_free(parser);
}

static void timeout_events_render_every_listed_field(void **state)
{
	struct timeout_info t = { .id = 7, .qname = "slow.example", .qtype = 1, .qclass = 1,
				  .waited_ns = 5000000000ull };
	struct event ev = net_event(EVENT_TIMEOUT);

	(void)state;
	ev.timeout = &t;
	check_event("timeout", &ev);
	check_all_seen("timeout");
}

static void resolver_call_events_render_every_listed_field(void **state)
{
	static const char *const flags[] = { "AI_CANONNAME", "AI_ADDRCONFIG" };
	static const struct call_addr addrs[] = { { 4, { 192, 0, 2, 1 } },
						  { 6, { 0x20, 0x01, 0x0d, 0xb8 } } };
	struct call_info res = { .function = "res_query", .name = "example.test", .qtype = 1,
				 .result = "OK", .has_code = true, .result_code = 45,
				 .latency_ns = 1000, .call_id = 3 };
	struct call_info gai = { .function = "getaddrinfo", .name = "example.test",
				 .service = "443", .family = 4, .flags = flags, .n_flags = 2,
				 .result = "OK", .has_code = true, .hostname = "cdn.example.test",
				 .n_addrs = 2, .addrs = addrs, .latency_ns = 2000, .call_id = 4 };
	struct event ev = net_event(EVENT_RESOLVER_CALL);

	(void)state;
	ev.call = &res;
	check_event("resolver_call", &ev);
	ev.call = &gai;
	ev.findings = sample_findings;
	ev.n_findings = ARRAY_LEN(sample_findings);
	check_event("resolver_call", &ev);
	check_all_seen("resolver_call");
}

static void finding_events_render_every_listed_field(void **state)
{
	struct event ev = net_event(EVENT_FINDING);

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(sample_findings); i++) {
		ev.finding = &sample_findings[i];
		check_event("finding", &ev);
	}
	ev.process = proc_unknown;
	check_event("finding", &ev);
	check_all_seen("finding");
}

/* The counters of capture and the stages, as the agent declares them. */
static void stats_counters_are_listed_with_their_type(void **state)
{
	static struct stats_registry reg;
	struct correlate_stage_opts correlate = { .rules = CORRELATE_DEFAULTS, .ns = NSINFRA_DEFAULTS };
	struct stage *stages[] = { stage_owner_new(NULL, NULL), stage_match_new(0, 0),
				   stage_origin_new(), stage_proc_new("/proc"),
				   stage_correlate_new(&correlate) };
	struct pipeline_opts opts = { .host = "h", .stages = stages, .n_stages = ARRAY_LEN(stages),
				      .stats = &reg };
	struct pipeline *p;
	struct capture *c;
	struct event ev = net_event(EVENT_STATS);

	(void)state;
	/* The wire's, the socket scan's and the resolver's counters need a kernel: here only
	 * what is rendered is checked; the e2e suite checks a whole agent's stats. */
	for (int i = 0; i < n_rows; i++)
		rows[i].optional |= !strcmp(rows[i].event, "stats");
	assert_int_equal(pipeline_new(&opts, 0, &p), 0);
	assert_int_equal(capture_new(p, &reg, &c), 0);
	ev.stats = &reg;
	check_event("stats", &ev);
	capture_free(c);
	pipeline_free(p);
}

/* Every kind of registry entry renders as the JSON type the README gives it. */
static void stats_registry_renders_each_kind(void **state)
{
	static const char *const names[] = { "x", "y" };
	uint64_t one = 1, pair[2] = { 2, 3 }, list[3] = { 4, 5, 6 };
	bool yes = true;
	const char *hook = NULL;
	int count = 2;
	struct stats_registry reg = { 0 };
	struct event ev = { .type = EVENT_STATS, .host = "h", .stats = &reg };
	struct event_json *render = event_json_new();
	struct jbuf b = { 0 };

	(void)state;
	stats_u64(&reg, "one", &one);
	stats_bool(&reg, "yes", &yes);
	stats_string(&reg, "hook", &hook);
	stats_u64_named(&reg, "pair", pair, names, 2);
	stats_u64_list(&reg, "list", list, &count, 3);
	event_json_render(render, &b, &ev);
	jbuf_raw(&b, "", 1);
	assert_non_null(strstr(b.p, "\"stats\":{\"one\":1,\"yes\":true,\"hook\":null,"
				    "\"pair\":{\"x\":2,\"y\":3},\"list\":[4,5]}"));
	jbuf_free(&b);
	event_json_free(render);
}

/* A dns event of a parsed fixture: the event points into the parser and raw. */
struct parsed {
	struct dns_parser *parser;
	uint8_t raw[4096];
	struct dns_msg msg;
	struct event ev;
};

static void parse_fixture(struct parsed *p, const char *name)
{
	size_t len = read_fixture(name, p->raw, sizeof(p->raw));

	p->parser = dns_parser_new();
	assert_non_null(p->parser);
	assert_int_equal(dns_parse(p->parser, p->raw, len, &p->msg), 0);
	p->ev = net_event(EVENT_DNS);
	p->ev.dns = &p->msg;
	p->ev.raw = p->raw;
	p->ev.raw_len = len;
}

/* An owned copy of p's event; then what the event pointed to is destroyed. */
static struct event *clone_and_destroy(struct parsed *p)
{
	struct event *copy = event_clone(&p->ev);

	assert_non_null(copy);
	dns_parser_free(p->parser);
	memset(p->raw, 0, sizeof(p->raw));
	return copy;
}

/* An owned copy renders exactly as the event it was made from. */
static void cloned_event_renders_the_same(void **state)
{
	struct event_json *render = event_json_new();
	struct jbuf a = { 0 }, b = { 0 };
	struct parsed p;
	struct event *copy;

	(void)state;
	parse_fixture(&p, "edns-options-response.bin");
	p.ev.has_origin = true;
	p.ev.origin = some_process;
	event_json_render(render, &a, &p.ev);
	copy = clone_and_destroy(&p);
	event_json_render(render, &b, copy);
	assert_int_equal(a.len, b.len);
	assert_memory_equal(a.p, b.p, a.len);
	event_free(copy);
	jbuf_free(&a);
	jbuf_free(&b);
	event_json_free(render);
}

/* The typed rdata of a copy points into the copy's own bytes and strings. */
static void cloned_event_keeps_typed_rdata(void **state)
{
	const struct dns_rr *rr;
	struct event *copy;
	struct parsed p;
	char target[DNS_MAX_PRESENTATION];

	(void)state;
	parse_fixture(&p, "a-response.bin");
	copy = clone_and_destroy(&p);
	rr = &copy->dns->an.rrs[0];
	assert_int_equal(rr->addr_len, 4);
	assert_true(rr->addr >= copy->raw && rr->addr + 4 <= copy->raw + copy->raw_len);
	assert_memory_equal(rr->addr, ((const uint8_t[]){ 192, 0, 2, 1 }), 4);
	assert_true(rr->rdata >= copy->raw && rr->rdata + rr->rdlength <= copy->raw + copy->raw_len);
	event_free(copy);

	parse_fixture(&p, "ns-response.bin");
	assert_non_null(p.msg.an.rrs[0].target);
	snprintf(target, sizeof(target), "%s", p.msg.an.rrs[0].target);
	copy = clone_and_destroy(&p);
	assert_string_equal(copy->dns->an.rrs[0].target, target);
	event_free(copy);
}

static int setup(void **state)
{
	(void)state;
	read_readme();
	return 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dns_events_render_every_listed_field),
		cmocka_unit_test(timeout_events_render_every_listed_field),
		cmocka_unit_test(resolver_call_events_render_every_listed_field),
		cmocka_unit_test(finding_events_render_every_listed_field),
		cmocka_unit_test(stats_counters_are_listed_with_their_type),
		cmocka_unit_test(stats_registry_renders_each_kind),
		cmocka_unit_test(cloned_event_renders_the_same),
		cmocka_unit_test(cloned_event_keeps_typed_rdata),
	};

	return cmocka_run_group_tests(tests, setup, NULL);
}
