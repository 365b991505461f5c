/* Correlation (correlate.h) as a stage: a lookup goes on with the findings it fired in its
 * findings, then each finding goes on as a finding event of its own.
 *
 * The stage always keeps the nameserver infrastructure (nsinfra.h); with a state directory
 * in the passive DNS store there (pdns.h: every answer record of the responses this host's
 * processes get; NS and glue come through nsinfra), flushed once a second, else in memory.
 *
 * The stage owns the threat intel: loaded at start (a load that fails stops the agent from
 * starting), loaded again on SIGHUP (the reload op) and when a file under the --intel paths
 * changes (looked at every INTEL_CHECK_NS). A load that fails keeps the intel it had.
 *
 * A DNS message whose socket the agent itself owns is its own --active-ns probe: it is marked
 * agent_probe and not judged. With --active-ns, a client's answer naming a registered domain
 * nsinfra has no NS set of asks the worker (activens.h) to look it up at the server that
 * answered, after nsinfra has seen the answer itself. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "correlate.h"
#include "hash.h"
#include "intel.h"
#include "log.h"
#include "nsinfra.h"
#include "pdns.h"
#include "stage.h"

#define INTEL_CHECK_NS 2000000000ull
#define PDNS_FLUSH_NS 1000000000ull

/* A lookup --active-ns asked about passed before its domain's nameservers were known: it is
 * judged again (correlate_infrastructure) once the probe has had time to teach nsinfra: the
 * NS query's two tries and its names' addresses. */
#define RECHECK_AFTER_NS 5000000000ull
#define RECHECK_MAX 96 /* the worker's queue and more: a full array is counted */
struct recheck {
	uint64_t due_ns; /* 0: free */
	char domain[REGDOM_NAME_MAX + 1];
	char qname[1024];
	struct proc_info who; /* identity only: the strings it pointed to are not ours to keep */
};

struct stage_correlate {
	struct stage base;
	struct correlate *correlate;
	struct regdom *regdom;
	const char *const *intel_paths;
	size_t n_intel;
	struct intel *intel;
	uint64_t intel_seen; /* what the paths looked like at the last load */
	uint64_t next_check_ns;
	uint64_t intel_loads, intel_load_failures, intel_indicators;
	struct pdns *pdns;
	struct nsinfra *nsinfra;
	uint64_t next_flush_ns;
	struct activens *active; /* NULL: no --active-ns */
	struct recheck rechecks[RECHECK_MAX];
	uint64_t rechecks_dropped;
	int32_t self_pid;
};

static uint64_t fold_stat(uint64_t h, const char *path)
{
	struct stat st;

	if (stat(path, &st)) /* gone: a change too */
		return hash_bytes(h, path, strlen(path));
	h = hash_bytes(h, &st.st_ino, sizeof(st.st_ino));
	h = hash_bytes(h, &st.st_size, sizeof(st.st_size));
	return hash_bytes(h, &st.st_mtim, sizeof(st.st_mtim));
}

/* What the intel paths look like: each file's inode, size and modification time, and the
 * files a directory holds. */
static uint64_t intel_look(const struct stage_correlate *s)
{
	uint64_t h = 0;

	for (size_t i = 0; i < s->n_intel; i++) {
		DIR *d = opendir(s->intel_paths[i]);
		struct dirent *e;

		h = fold_stat(h, s->intel_paths[i]);
		while (d && (e = readdir(d))) {
			char path[4096];

			if (e->d_name[0] == '.')
				continue;
			snprintf(path, sizeof(path), "%s/%s", s->intel_paths[i], e->d_name);
			h ^= hash_finish(fold_stat(0, path)); /* readdir's order is no order */
		}
		if (d)
			closedir(d);
	}
	return hash_finish(h);
}

/* Loads the intel paths; on success the rules match the new intel. 0 or a negative errno. */
static int load_intel(struct stage_correlate *s, const char *why)
{
	struct intel_errors errs = { 0 };
	struct intel *intel = NULL;
	uint64_t seen = intel_look(s);
	int err = intel_load(s->intel_paths, s->n_intel, NULL, &intel, &errs);

	intel_errors_free(&errs);
	s->intel_seen = seen;
	if (err) {
		s->intel_load_failures++;
		log_warnx("threat intel %s failed (%s)%s", why, strerror(-err),
			  s->intel ? ": the intel loaded before stays in use" : "");
		return err;
	}
	correlate_set_intel(s->correlate, intel);
	intel_free(s->intel);
	s->intel = intel;
	s->intel_loads++;
	s->intel_indicators = intel_stats(intel)->indicators;
	log_info("threat intel %s: %zu indicators from %zu files, %zu bad lines skipped", why,
		 intel_stats(intel)->indicators, intel_stats(intel)->files,
		 intel_stats(intel)->bad_lines);
	return 0;
}

/* A client's response: its answer records into the passive DNS store (NS records are
 * nsinfra's, with their glue). */
static void observe_answers(struct stage_correlate *s, const struct event *ev)
{
	const struct dns_msg *m = ev->dns;

	if (!s->pdns || ev->type != EVENT_DNS || !m || !m->qr || m->malformed ||
	    ev->net.role != ROLE_CLIENT || ev->net.direction != NET_INGRESS)
		return;
	for (size_t i = 0; i < m->an.n; i++) {
		const struct dns_rr *rr = &m->an.rrs[i];

		if (rr->type != DNS_TYPE_NS && rr->name && rr->data)
			pdns_observe(s->pdns, rr->name, rr->type, rr->data,
				     ev->ts_ns / 1000000000ull); /* failures: counted by pdns */
	}
}

static void recheck_later(struct stage_correlate *s, const struct activens_request *r,
			  const struct event *ev)
{
	const struct proc_info *who = ev->has_origin ? &ev->origin : &ev->process;

	for (size_t i = 0; i < RECHECK_MAX; i++) {
		struct recheck *c = &s->rechecks[i];

		if (c->due_ns)
			continue;
		c->due_ns = ev->mono_ns + RECHECK_AFTER_NS;
		memcpy(c->domain, r->domain, sizeof(c->domain));
		snprintf(c->qname, sizeof(c->qname), "%s", ev->dns->qname);
		c->who = (struct proc_info){ .pid = who->pid, .tid = who->tid, .ppid = who->ppid,
					     .uid = who->uid, .gid = who->gid,
					     .cgroup_id = who->cgroup_id };
		memcpy(c->who.comm, who->comm, sizeof(c->who.comm));
		return;
	}
	s->rechecks_dropped++;
}

/* The findings of the lookups --active-ns has learned about since (all of them at exit). */
static void recheck_due(struct stage_correlate *s, uint64_t now_ns, bool at_exit,
			const struct stage_out *out)
{
	for (size_t i = 0; i < RECHECK_MAX; i++) {
		struct recheck *c = &s->rechecks[i];
		const struct finding *found;
		size_t n;

		if (!c->due_ns || (now_ns < c->due_ns && !at_exit))
			continue;
		c->due_ns = 0;
		n = correlate_infrastructure(s->correlate, c->domain, c->qname, &c->who, now_ns,
					     &found);
		for (size_t k = 0; k < n; k++) {
			struct event finding = {
				.type = EVENT_FINDING,
				.ts_ns = clock_ns(CLOCK_REALTIME),
				.mono_ns = now_ns,
				.process = c->who,
				.latency_ns = -1,
				.finding = &found[k],
			};

			stage_pass(out, &finding);
		}
	}
}

/* A client's NOERROR answer for a registered domain without a known NS set: the worker asks
 * the server that answered, from the client's network namespace. */
static void ask_active(struct stage_correlate *s, const struct event *ev)
{
	const struct dns_msg *m = ev->dns;
	struct activens_request r = {
		.pid = ev->process.pid,
		.family = ev->net.family,
		.port = ev->net.src_port,
	};
	const char *domain = correlate_registered_domain(s->correlate); /* ev's, just judged */
	size_t len, k;

	if (!s->active || ev->type != EVENT_DNS || ev->agent_probe || !m ||
	    !m->qr || m->malformed || m->rcode || !m->qname || ev->net.role != ROLE_CLIENT ||
	    ev->net.direction != NET_INGRESS || r.pid <= 0 || !domain[0])
		return;
	memcpy(r.domain, domain, strlen(domain) + 1); /* both REGDOM_NAME_MAX + 1 */
	len = strlen(r.domain);
	if ((len >= 5 && !strcmp(r.domain + len - 5, ".arpa")) || /* reverse zones: no */
	    nsinfra_ns_of(s->nsinfra, r.domain, NULL, 0, &k) != -ENOENT)
		return;
	memcpy(r.server, ev->net.src_ip, sizeof(r.server));
	if (!activens_request(s->active, &r, ev->mono_ns) && s->intel) /* else: counted there */
		recheck_later(s, &r, ev);
}

static void correlate_on_event(struct stage *base, struct event *ev, const struct stage_out *out)
{
	struct stage_correlate *s = (struct stage_correlate *)base;
	const struct finding *found;
	const struct proc_info *who;
	size_t n;
	struct proc_info asker;

	if (ev->type == EVENT_DNS && ev->process.pid == s->self_pid)
		ev->agent_probe = true;
	n = correlate_event(s->correlate, ev, ev->mono_ns, &found, &who);
	observe_answers(s, ev);
	ask_active(s, ev);
	if (!n) {
		stage_pass(out, ev);
		return;
	}
	asker = *who; /* ev may be changed downstream */
	ev->findings = found;
	ev->n_findings = n;
	stage_pass(out, ev);
	ev->findings = NULL;
	ev->n_findings = 0;
	for (size_t i = 0; i < n; i++) {
		struct event finding = {
			.type = EVENT_FINDING,
			.ts_ns = ev->ts_ns,
			.mono_ns = ev->mono_ns,
			.host = ev->host,
			.process = asker,
			.latency_ns = -1,
			.finding = &found[i],
		};

		stage_pass(out, &finding);
	}
}

static void correlate_tick(struct stage *base, uint64_t now_ns, bool at_exit,
			   const struct stage_out *out)
{
	struct stage_correlate *s = (struct stage_correlate *)base;

	if (s->active)
		recheck_due(s, now_ns, at_exit, out);
	if (s->pdns && (at_exit || now_ns >= s->next_flush_ns)) {
		s->next_flush_ns = now_ns + PDNS_FLUSH_NS;
		pdns_flush(s->pdns); /* failures: counted by pdns, logged */
	}
	if (at_exit || !s->n_intel || now_ns < s->next_check_ns)
		return;
	s->next_check_ns = now_ns + INTEL_CHECK_NS;
	if (intel_look(s) != s->intel_seen)
		load_intel(s, "reload (a file changed)");
}

static void correlate_reload(struct stage *base)
{
	struct stage_correlate *s = (struct stage_correlate *)base;

	if (s->n_intel)
		load_intel(s, "reload (SIGHUP)");
}

static void correlate_stats_declare(struct stage *base, struct stats_registry *reg)
{
	/* without a state directory: zeros, so that every agent has the same counters */
	static const struct pdns_stats no_pdns;
	static const struct activens_stats no_active;
	struct stage_correlate *s = (struct stage_correlate *)base;
	const struct correlate_stats *cs = correlate_stats(s->correlate);
	const struct pdns_stats *ps = s->pdns ? pdns_stats(s->pdns) : &no_pdns;
	const struct nsinfra_stats *ns = nsinfra_stats(s->nsinfra);
	const struct activens_stats *as = s->active ? activens_stats(s->active) : &no_active;

	stats_u64(reg, "lookups_judged", &cs->judged);
	stats_u64(reg, "findings", &cs->findings);
	stats_u64(reg, "findings_suppressed", &cs->suppressed);
	stats_u64(reg, "correlation_evicted", &cs->evicted);
	stats_u64(reg, "intel_indicators", &s->intel_indicators);
	stats_u64(reg, "intel_loads", &s->intel_loads);
	stats_u64(reg, "intel_load_failures", &s->intel_load_failures);
	stats_u64(reg, "pdns_observed", &ps->observed);
	stats_u64(reg, "pdns_rows", &ps->rows);
	stats_u64(reg, "pdns_evicted", &ps->evicted);
	stats_u64(reg, "pdns_errors", &ps->errors);
	stats_u64(reg, "known_domains", &ps->known);
	stats_u64(reg, "known_evicted", &ps->known_evicted);
	stats_u64(reg, "ns_domains", &ns->domains);
	stats_u64(reg, "ns_changes", &ns->changes);
	stats_u64(reg, "ns_changes_held", &ns->held);
	stats_u64(reg, "ns_evicted", &ns->evicted);
	stats_u64(reg, "active_ns_requests", &as->requests);
	stats_u64(reg, "active_ns_queries", &as->queries);
	stats_u64(reg, "active_ns_answers", &as->answers);
	stats_u64(reg, "active_ns_failures", &as->failures);
	stats_u64(reg, "active_ns_dropped", &as->dropped);
	stats_u64(reg, "active_ns_gone", &as->gone);
	stats_u64(reg, "active_ns_evicted", &as->evicted);
	stats_u64(reg, "active_ns_rechecks_dropped", &s->rechecks_dropped);
}

static void correlate_stage_free(struct stage *base)
{
	struct stage_correlate *s = (struct stage_correlate *)base;

	activens_free(s->active); /* its worker first: it stops at once */
	correlate_free(s->correlate);
	intel_free(s->intel);
	nsinfra_close(s->nsinfra); /* before its store */
	pdns_close(s->pdns);
	regdom_free(s->regdom);
	free(s);
}

static const struct stage_ops correlate_ops = {
	.on_event = correlate_on_event,
	.tick = correlate_tick,
	.reload = correlate_reload,
	.stats = correlate_stats_declare,
	.free = correlate_stage_free,
};

struct stage *stage_correlate_new(const struct correlate_stage_opts *opts)
{
	struct stage_correlate *s = calloc(1, sizeof(*s));
	int err;

	if (!s)
		return NULL;
	s->base.ops = &correlate_ops;
	s->intel_paths = opts->intel_paths;
	s->n_intel = opts->n_intel;
	s->self_pid = getpid();
	err = regdom_open(NULL, &s->regdom);
	if (!err && !(s->correlate = correlate_new(&opts->rules, s->regdom)))
		err = -errno;
	if (!err && s->n_intel)
		err = load_intel(s, "load");
	if (!err && opts->state_dir &&
	    (err = pdns_open(opts->state_dir, opts->pdns_max_rows, &s->pdns)))
		log_warnx("state in %s: %s", opts->state_dir, strerror(-err));
	/* Without a state directory the infrastructure lives in memory only: intel.nsdname and
	 * intel.nsip need the NS sets a resolver's referrals showed, ns.change starts afresh;
	 * domain.new learns from the start. */
	if (!err && (err = nsinfra_open(s->pdns, s->regdom, &opts->ns, &s->nsinfra)))
		log_warnx("nameserver infrastructure: %s", strerror(-err));
	if (!err && s->pdns &&
	    (err = correlate_set_store(s->correlate, s->pdns, clock_ns(CLOCK_REALTIME) / 1000000000ull,
				       clock_ns(CLOCK_MONOTONIC))))
		log_warnx("state in %s: %s", opts->state_dir, strerror(-err));
	if (!err)
		correlate_set_nsinfra(s->correlate, s->nsinfra);
	if (!err && opts->active_ns) {
		if (!(s->active = activens_new(opts->active_ns)))
			err = -errno;
		else if ((err = activens_start(s->active)))
			log_warnx("--active-ns: starting its worker: %s", strerror(-err));
	}
	if (err) {
		correlate_stage_free(&s->base);
		errno = -err;
		return NULL;
	}
	return &s->base;
}
