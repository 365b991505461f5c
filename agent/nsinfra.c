/* Nameserver infrastructure and delegation changes: see nsinfra.h. */
#include "nsinfra.h"

#include <arpa/inet.h>
#include <errno.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "table.h"

/* A name here is at most this long in presentation form (escapes included); longer NS names
 * are left out (counted), as regdom refuses them anyway. */
#define NAME_MAX_LEN REGDOM_NAME_MAX
/* Bytes of a packed set: 16 names of 31 bytes; typical sets (2 to 6 names of about 20 bytes)
 * use a quarter of it. Names that do not fit are left out (counted: truncated). */
#define SET_BYTES 512
/* NS RRsets (distinct owners) one response is looked at for: a referral has one. */
#define MAX_OWNERS 8
/* A domain's or provider's last sighting is written back at most this often: it only orders
 * what a restart loads, and writing it per response would be a write per response. */
#define SAVE_SEEN_S 3600

/* Names, sorted, NUL-terminated one after another. */
struct ns_set {
	uint16_t n, len;
	char names[SET_BYTES];
};

struct domain {
	char name[NAME_MAX_LEN + 1];
	uint64_t first_seen, changed, providers_since, last_seen, saved_seen;
	struct ns_set ns;
};

struct host {
	char name[NAME_MAX_LEN + 1];
	uint8_t n_addrs;
	struct nsinfra_addr addrs[NSINFRA_MAX_ADDRS]; /* oldest first */
};

struct provider {
	char name[NAME_MAX_LEN + 1];
	uint64_t first_seen, last_seen, saved_seen;
};

/* One NS RRset of a response, and later the provider set of a set. */
struct owner {
	char name[NAME_MAX_LEN + 1];
	const char *targets[NSINFRA_MAX_NS];
	char text[NSINFRA_MAX_NS][NAME_MAX_LEN + 1];
	size_t n;
};

struct change_slot {
	char domain[NAME_MAX_LEN + 1];
	struct ns_set old_ns, new_ns, old_prov, new_prov;
	const char *old_ns_p[NSINFRA_MAX_NS], *new_ns_p[NSINFRA_MAX_NS];
	const char *old_prov_p[NSINFRA_MAX_NS], *new_prov_p[NSINFRA_MAX_NS];
};

enum stmt {
	ST_SAVE_DOMAIN,
	ST_DROP_DOMAIN,
	ST_SAVE_PROVIDER,
	ST_DROP_PROVIDER,
	N_STMTS,
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS ns_domain (domain TEXT PRIMARY KEY, ns TEXT NOT NULL,"
	" first_seen INTEGER NOT NULL, changed INTEGER NOT NULL,"
	" providers_since INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS ns_provider (provider TEXT PRIMARY KEY,"
	" first_seen INTEGER NOT NULL, last_seen INTEGER NOT NULL) WITHOUT ROWID;";

static const char *const stmt_sql[N_STMTS] = {
	[ST_SAVE_DOMAIN] = "INSERT OR REPLACE INTO ns_domain VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
	[ST_DROP_DOMAIN] = "DELETE FROM ns_domain WHERE domain = ?1",
	[ST_SAVE_PROVIDER] = "INSERT OR REPLACE INTO ns_provider VALUES (?1, ?2, ?3)",
	[ST_DROP_PROVIDER] = "DELETE FROM ns_provider WHERE provider = ?1",
};

struct nsinfra {
	struct nsinfra_opts opts;
	struct pdns *store;
	sqlite3 *db; /* the store's; NULL without one */
	sqlite3_stmt *stmts[N_STMTS];
	const struct regdom *regdom;
	struct table *domains, *hosts, *providers;
	struct nsinfra_stats stats;
	bool loading; /* evictions while loading touch no file */
	/* per response */
	struct owner owners[MAX_OWNERS];
	size_t n_owners;
	struct change_slot slots[NSINFRA_MAX_CHANGES];
};

static bool name_eq(const void *entry, const void *key)
{
	return !strcmp(entry, key); /* every entry starts with its name */
}

static uint64_t name_hash(const struct table *t, const char *name)
{
	return table_hash(t, name, strlen(name));
}

static void *find(struct table *t, const char *name, uint64_t *hash)
{
	*hash = name_hash(t, name);
	return table_find_eq(t, *hash, name_eq, name);
}

/* ---- sets ---- */

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* names[0 .. n) sorted, deduplicated and packed into *s; false when they do not fit (the
 * rest is left out). */
static bool set_pack(struct ns_set *s, const char **names, size_t n)
{
	bool fits = true;

	qsort(names, n, sizeof(*names), cmp_str);
	s->n = s->len = 0;
	for (size_t i = 0; i < n; i++) {
		size_t len = strlen(names[i]) + 1;

		if (i && !strcmp(names[i], names[i - 1]))
			continue;
		if (s->n == NSINFRA_MAX_NS || s->len + len > SET_BYTES) {
			fits = false;
			break;
		}
		memcpy(s->names + s->len, names[i], len);
		s->len += len;
		s->n++;
	}
	return fits;
}

static size_t set_unpack(const struct ns_set *s, const char **out)
{
	const char *p = s->names;

	for (size_t i = 0; i < s->n; i++, p += strlen(p) + 1)
		out[i] = p;
	return s->n;
}

static bool set_equal(const struct ns_set *a, const struct ns_set *b)
{
	return a->n == b->n && a->len == b->len && !memcmp(a->names, b->names, a->len);
}

static bool set_has(const struct ns_set *s, const char *name)
{
	const char *p = s->names;

	for (size_t i = 0; i < s->n; i++, p += strlen(p) + 1)
		if (!strcmp(p, name))
			return true;
	return false;
}

/* The providers (registered domains) of the names of ns into *out; tmp is scratch. A name
 * without one (a bare TLD server name) is its own provider. */
static void providers_of(struct nsinfra *n, const struct ns_set *ns, struct ns_set *out,
			 struct owner *tmp)
{
	const char *names[NSINFRA_MAX_NS];
	size_t k = set_unpack(ns, names);

	for (size_t i = 0; i < k; i++) {
		if (regdom_of(n->regdom, names[i], tmp->text[i], sizeof(tmp->text[i])))
			strcpy(tmp->text[i], names[i]);
		names[i] = tmp->text[i];
	}
	set_pack(out, names, k);
}

/* ---- the file ---- */

static int store_err(struct nsinfra *n, int rc, const char *what)
{
	n->stats.errors++;
	log_warnx("nsinfra: %s: %s", what, sqlite3_errmsg(n->db));
	return pdns_errno(rc);
}

static int run(struct nsinfra *n, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : store_err(n, rc, what);
}

static int save_domain(struct nsinfra *n, struct domain *d)
{
	sqlite3_stmt *st = n->stmts[ST_SAVE_DOMAIN];
	char text[SET_BYTES];
	int err;

	if (!n->db || n->loading)
		return 0;
	if ((err = pdns_begin(n->store)))
		return err;
	/* space-separated: presentation form escapes a space in a label (\032) */
	memcpy(text, d->ns.names, d->ns.len);
	for (size_t i = 0; i + 1 < d->ns.len; i++)
		if (!text[i])
			text[i] = ' ';
	sqlite3_bind_text(st, 1, d->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, d->ns.len ? text : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)d->first_seen);
	sqlite3_bind_int64(st, 4, (int64_t)d->changed);
	sqlite3_bind_int64(st, 5, (int64_t)d->providers_since);
	sqlite3_bind_int64(st, 6, (int64_t)d->last_seen);
	d->saved_seen = d->last_seen;
	return run(n, st, "saving a domain");
}

static int save_provider(struct nsinfra *n, struct provider *p)
{
	sqlite3_stmt *st = n->stmts[ST_SAVE_PROVIDER];
	int err;

	if (!n->db || n->loading)
		return 0;
	if ((err = pdns_begin(n->store)))
		return err;
	sqlite3_bind_text(st, 1, p->name, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)p->first_seen);
	sqlite3_bind_int64(st, 3, (int64_t)p->last_seen);
	p->saved_seen = p->last_seen;
	return run(n, st, "saving a provider");
}

static void drop_row(struct nsinfra *n, enum stmt which, const char *name)
{
	sqlite3_stmt *st = n->stmts[which];

	if (!n->db || n->loading || pdns_begin(n->store))
		return;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	run(n, st, "forgetting a domain or provider");
}

static void on_domain_evict(void *ctx, void *entry)
{
	struct nsinfra *n = ctx;

	n->stats.evicted++;
	n->stats.domains--;
	drop_row(n, ST_DROP_DOMAIN, ((struct domain *)entry)->name);
}

static void on_provider_evict(void *ctx, void *entry)
{
	struct nsinfra *n = ctx;

	n->stats.evicted++;
	drop_row(n, ST_DROP_PROVIDER, ((struct provider *)entry)->name);
}

static void on_host_evict(void *ctx, void *entry)
{
	(void)entry;
	((struct nsinfra *)ctx)->stats.evicted++;
}

/* ---- learning ---- */

static struct host *host_get(struct nsinfra *n, const char *name)
{
	uint64_t h;
	struct host *e = find(n->hosts, name, &h);

	if (e) {
		table_touch(n->hosts, e, 0);
		return e;
	}
	if (!(e = table_insert(n->hosts, h, NULL, 0)))
		return NULL;
	strcpy(e->name, name);
	e->n_addrs = 0;
	return e;
}

/* The newest NSINFRA_MAX_ADDRS addresses of a name, oldest first. */
static void host_add(struct host *e, uint8_t family, const uint8_t *addr)
{
	struct nsinfra_addr a = { .family = family };
	size_t len = family == 4 ? 4 : 16;

	memcpy(a.addr, addr, len);
	for (size_t i = 0; i < e->n_addrs; i++) {
		if (!memcmp(&e->addrs[i], &a, sizeof(a))) {
			memmove(&e->addrs[i], &e->addrs[i + 1],
				(e->n_addrs - i - 1) * sizeof(a));
			e->n_addrs--;
			break;
		}
	}
	if (e->n_addrs == NSINFRA_MAX_ADDRS)
		memmove(&e->addrs[0], &e->addrs[1], --e->n_addrs * sizeof(a));
	e->addrs[e->n_addrs++] = a;
}

/* Marks the providers of set seen at now; whether added (absent from old, NULL: all) were
 * first seen within min_age goes to *recent, the latest first sighting to *first. */
static int see_providers(struct nsinfra *n, const struct ns_set *set, const struct ns_set *old,
			 uint64_t now, bool *recent, uint64_t *first)
{
	const char *names[NSINFRA_MAX_NS];
	size_t k = set_unpack(set, names);
	int err = 0;

	for (size_t i = 0; i < k; i++) {
		uint64_t h;
		struct provider *p = find(n->providers, names[i], &h);
		bool fresh = !p;

		if (fresh) {
			if (!(p = table_insert(n->providers, h, NULL, 0)))
				continue;
			strcpy(p->name, names[i]);
			p->first_seen = now;
		} else {
			table_touch(n->providers, p, 0);
		}
		if (fresh || now > p->last_seen)
			p->last_seen = now;
		if (old && !set_has(old, names[i])) {
			if (now - p->first_seen < n->opts.ns_change_min_age || p->first_seen > now)
				*recent = true;
			if (p->first_seen > *first)
				*first = p->first_seen;
		}
		if (fresh || p->last_seen >= p->saved_seen + SAVE_SEEN_S)
			err = save_provider(n, p) ?: err;
	}
	return err;
}

static void report(const struct domain *d, const struct ns_set *new_ns,
		   const struct ns_set *old_prov, const struct ns_set *new_prov, uint64_t now,
		   struct nsinfra_change *c, struct change_slot *s)
{
	strcpy(s->domain, d->name);
	s->old_ns = d->ns;
	s->new_ns = *new_ns;
	s->old_prov = *old_prov;
	s->new_prov = *new_prov;
	*c = (struct nsinfra_change){
		.domain = s->domain,
		.old_ns = s->old_ns_p,
		.n_old_ns = set_unpack(&s->old_ns, s->old_ns_p),
		.new_ns = s->new_ns_p,
		.n_new_ns = set_unpack(&s->new_ns, s->new_ns_p),
		.old_providers = s->old_prov_p,
		.n_old_providers = set_unpack(&s->old_prov, s->old_prov_p),
		.new_providers = s->new_prov_p,
		.n_new_providers = set_unpack(&s->new_prov, s->new_prov_p),
		.stable_s = now - d->providers_since,
	};
}

/* One apex NS set of domain seen at now; a change reported goes to *c (n_changes + 1). */
static int judge(struct nsinfra *n, const char *domain, const struct ns_set *set, uint64_t now,
		 struct nsinfra_change *c, size_t *n_changes)
{
	struct ns_set old_prov, new_prov;
	struct owner tmp;
	bool recent = false, added = false;
	uint64_t first = 0, h;
	struct domain *d = find(n->domains, domain, &h);
	int err;

	n->stats.ns_sets++;
	providers_of(n, set, &new_prov, &tmp);
	if (!d) {
		if (!(d = table_insert(n->domains, h, NULL, 0)))
			return 0;
		n->stats.domains++;
		strcpy(d->name, domain);
		d->first_seen = d->changed = d->providers_since = d->last_seen = now;
		d->ns = *set;
		err = see_providers(n, &new_prov, NULL, now, &recent, &first);
		return save_domain(n, d) ?: err;
	}
	table_touch(n->domains, d, 0);
	if (now > d->last_seen)
		d->last_seen = now;
	if (set_equal(&d->ns, set)) {
		err = see_providers(n, &new_prov, NULL, now, &recent, &first);
		if (d->last_seen >= d->saved_seen + SAVE_SEEN_S)
			err = save_domain(n, d) ?: err;
		return err;
	}
	providers_of(n, &d->ns, &old_prov, &tmp);
	for (size_t i = 0, k = 0; i < new_prov.n; i++) {
		const char *p = new_prov.names + k;

		k += strlen(p) + 1;
		added |= !set_has(&old_prov, p);
	}
	err = see_providers(n, &new_prov, added ? &old_prov : NULL, now, &recent, &first);
	if (added) {
		if (now - d->providers_since >= n->opts.ns_change_min_age &&
		    now >= d->providers_since && c) {
			report(d, set, &old_prov, &new_prov, now, c,
			       &n->slots[*n_changes]);
			c->new_provider_recent = recent;
			c->new_provider_first_seen = first;
			++*n_changes;
			n->stats.changes++;
		} else {
			n->stats.held++; /* too early, or no room left in changes */
		}
		d->providers_since = now;
	}
	d->ns = *set;
	d->changed = now;
	return save_domain(n, d) ?: err;
}

/* The owner of rr's NS RRset in n->owners, added when new; NULL when there is no room or
 * the name does not normalise. */
static struct owner *owner_of(struct nsinfra *n, const char *name)
{
	char norm[NAME_MAX_LEN + 1];

	if (pdns_name_norm(name, norm, sizeof(norm))) {
		n->stats.truncated++;
		return NULL;
	}
	for (size_t i = 0; i < n->n_owners; i++)
		if (!strcmp(n->owners[i].name, norm))
			return &n->owners[i];
	if (n->n_owners == MAX_OWNERS) {
		n->stats.truncated++;
		return NULL;
	}
	strcpy(n->owners[n->n_owners].name, norm);
	n->owners[n->n_owners].n = 0;
	return &n->owners[n->n_owners++];
}

static void collect_ns(struct nsinfra *n, const struct dns_section *sec)
{
	for (size_t i = 0; i < sec->n; i++) {
		const struct dns_rr *rr = &sec->rrs[i];
		struct owner *o;

		if (rr->type != DNS_TYPE_NS || !rr->target || !(o = owner_of(n, rr->name)))
			continue;
		if (o->n == NSINFRA_MAX_NS ||
		    pdns_name_norm(rr->target, o->text[o->n], sizeof(o->text[o->n]))) {
			n->stats.truncated++;
			continue;
		}
		o->targets[o->n] = o->text[o->n];
		o->n++;
	}
}

static bool is_target(const struct nsinfra *n, const char *name)
{
	for (size_t i = 0; i < n->n_owners; i++)
		for (size_t j = 0; j < n->owners[i].n; j++)
			if (!strcmp(n->owners[i].targets[j], name))
				return true;
	return false;
}

/* A and AAAA records of sec whose owner is an NS name of this response, or (known: an
 * answer section) a name already in the host table: a stub's answer to "ns1.provider.net A",
 * asked apart from the NS query, as --active-ns does and stub resolvers' clients do. */
static int collect_addrs(struct nsinfra *n, const struct dns_section *sec, bool known,
			 uint64_t now)
{
	char name[NAME_MAX_LEN + 1], text[INET6_ADDRSTRLEN];
	int err = 0;

	for (size_t i = 0; i < sec->n; i++) {
		const struct dns_rr *rr = &sec->rrs[i];
		uint8_t family = rr->addr_len == 4 ? 4 : 6;
		struct host *h;

		if ((rr->type != DNS_TYPE_A && rr->type != DNS_TYPE_AAAA) || !rr->addr ||
		    (rr->addr_len != 4 && rr->addr_len != 16) ||
		    pdns_name_norm(rr->name, name, sizeof(name)))
			continue;
		if (!is_target(n, name) && !(known && find(n->hosts, name, &(uint64_t){ 0 })))
			continue;
		if ((h = host_get(n, name)))
			host_add(h, family, rr->addr);
		if (n->store) {
			inet_ntop(family == 4 ? AF_INET : AF_INET6, rr->addr, text, sizeof(text));
			err = pdns_observe(n->store, name, rr->type, text, now) ?: err;
		}
	}
	return err;
}

int nsinfra_observe(struct nsinfra *n, const struct event *ev, uint64_t now_s,
		    struct nsinfra_change *changes, size_t max, size_t *n_changes)
{
	const struct dns_msg *m = ev->dns;
	char domain[REGDOM_NAME_MAX + 1];
	int err = 0;

	*n_changes = 0;
	if (max > NSINFRA_MAX_CHANGES)
		max = NSINFRA_MAX_CHANGES;
	if (ev->type != EVENT_DNS || !m || !m->qr || m->malformed || m->rcode ||
	    ev->net.direction != NET_INGRESS)
		return 0;
	n->stats.responses++;
	n->n_owners = 0;
	collect_ns(n, &m->an);
	collect_ns(n, &m->ns);
	err = collect_addrs(n, &m->an, true, now_s);
	if (!n->n_owners)
		return err;
	err = collect_addrs(n, &m->ar, false, now_s) ?: err;
	for (size_t i = 0; i < n->n_owners; i++) {
		struct owner *o = &n->owners[i];
		struct ns_set set;

		for (size_t j = 0; n->store && j < o->n; j++)
			err = pdns_observe(n->store, o->name, DNS_TYPE_NS, o->targets[j], now_s) ?:
			      err;
		/* the apex of a registered domain only: a sub-delegation has NS sets of its
		 * own, and a TLD's are no domain's */
		if (regdom_of(n->regdom, o->name, domain, sizeof(domain)) ||
		    strcmp(domain, o->name))
			continue;
		if (!set_pack(&set, o->targets, o->n))
			n->stats.truncated++;
		err = judge(n, domain, &set, now_s, *n_changes < max ? &changes[*n_changes] : NULL,
			    n_changes) ?: err;
		/* known from now on, so that their addresses count when asked for apart */
		for (size_t j = 0; j < o->n; j++)
			host_get(n, o->targets[j]);
	}
	return err;
}

int nsinfra_ns_of(struct nsinfra *n, const char *regdom, struct nsinfra_ns *out, size_t max,
		  size_t *n_out)
{
	const char *names[NSINFRA_MAX_NS];
	char norm[NAME_MAX_LEN + 1];
	struct domain *d;
	uint64_t h;
	size_t k;

	*n_out = 0;
	if (pdns_name_norm(regdom, norm, sizeof(norm)) || !(d = find(n->domains, norm, &h)))
		return -ENOENT;
	k = set_unpack(&d->ns, names);
	for (size_t i = 0; i < k && i < max; i++) {
		struct host *e = find(n->hosts, names[i], &h);

		out[i] = (struct nsinfra_ns){ .name = names[i] };
		if (e) {
			out[i].addrs = e->addrs;
			out[i].n_addrs = e->n_addrs;
		}
		++*n_out;
	}
	return 0;
}

const struct nsinfra_stats *nsinfra_stats(const struct nsinfra *n)
{
	return &n->stats;
}

/* ---- open, load, close ---- */

/* Reloads name's addresses from the store's A and AAAA rows, the newest kept. */
struct addr_load {
	struct nsinfra_addr a[NSINFRA_MAX_ADDRS];
	size_t n;
};

static int load_addr(void *ctx, const struct pdns_row *row)
{
	struct addr_load *l = ctx;
	struct nsinfra_addr *a = &l->a[l->n];

	a->family = row->rrtype == DNS_TYPE_A ? 4 : 6;
	if (inet_pton(a->family == 4 ? AF_INET : AF_INET6, row->rdata, a->addr) == 1)
		l->n++;
	return l->n == NSINFRA_MAX_ADDRS; /* rows come newest first */
}

static int load_hosts(struct nsinfra *n, const struct domain *d)
{
	const char *names[NSINFRA_MAX_NS];
	size_t k = set_unpack(&d->ns, names);
	int err = 0;

	for (size_t i = 0; i < k && !err; i++) {
		struct addr_load l = { .n = 0 };
		struct host *h;

		err = pdns_lookup(n->store, names[i], DNS_TYPE_A, load_addr, &l);
		if (err < 0)
			break;
		err = l.n < NSINFRA_MAX_ADDRS ?
			      pdns_lookup(n->store, names[i], DNS_TYPE_AAAA, load_addr, &l) : 0;
		if (err < 0)
			break;
		err = 0;
		if (!(h = host_get(n, names[i])))
			continue;
		while (l.n--) /* oldest first */
			host_add(h, l.a[l.n].family, l.a[l.n].addr);
	}
	return err;
}

static int load_domains(struct nsinfra *n)
{
	static const char sql[] =
		"SELECT domain, ns, first_seen, changed, providers_since, last_seen FROM"
		" (SELECT * FROM ns_domain ORDER BY last_seen DESC LIMIT ?1) ORDER BY last_seen";
	sqlite3_stmt *st = NULL;
	int rc, err = 0;

	rc = sqlite3_prepare_v2(n->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_err(n, rc, "loading domains");
	sqlite3_bind_int64(st, 1, (int64_t)n->opts.max_domains);
	while (!err && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		const char *text = (const char *)sqlite3_column_text(st, 1);
		char buf[SET_BYTES], *save = NULL;
		const char *names[NSINFRA_MAX_NS];
		size_t k = 0;
		struct domain *d;
		uint64_t h;

		if (!name || !text || strlen(name) > NAME_MAX_LEN || strlen(text) >= sizeof(buf) ||
		    find(n->domains, name, &h) || !(d = table_insert(n->domains, h, NULL, 0)))
			continue;
		strcpy(buf, text);
		for (char *t = strtok_r(buf, " ", &save); t && k < NSINFRA_MAX_NS;
		     t = strtok_r(NULL, " ", &save))
			names[k++] = t;
		strcpy(d->name, name);
		set_pack(&d->ns, names, k);
		d->first_seen = (uint64_t)sqlite3_column_int64(st, 2);
		d->changed = (uint64_t)sqlite3_column_int64(st, 3);
		d->providers_since = (uint64_t)sqlite3_column_int64(st, 4);
		d->last_seen = d->saved_seen = (uint64_t)sqlite3_column_int64(st, 5);
		n->stats.domains++;
		err = load_hosts(n, d);
	}
	if (!err && rc != SQLITE_DONE)
		err = store_err(n, rc, "loading domains");
	sqlite3_finalize(st);
	return err;
}

static int load_providers(struct nsinfra *n)
{
	static const char sql[] =
		"SELECT provider, first_seen, last_seen FROM"
		" (SELECT * FROM ns_provider ORDER BY last_seen DESC LIMIT ?1) ORDER BY last_seen";
	sqlite3_stmt *st = NULL;
	int rc;

	rc = sqlite3_prepare_v2(n->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return store_err(n, rc, "loading providers");
	sqlite3_bind_int64(st, 1, (int64_t)n->opts.max_providers);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 0);
		struct provider *p;
		uint64_t h;

		if (!name || strlen(name) > NAME_MAX_LEN || find(n->providers, name, &h) ||
		    !(p = table_insert(n->providers, h, NULL, 0)))
			continue;
		strcpy(p->name, name);
		p->first_seen = (uint64_t)sqlite3_column_int64(st, 1);
		p->last_seen = p->saved_seen = (uint64_t)sqlite3_column_int64(st, 2);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : store_err(n, rc, "loading providers");
}

/* Makes the tables when new, drops rows beyond the bounds (a file of a larger
 * configuration: it mirrors memory), prepares the writes and loads. */
static int open_store(struct nsinfra *n)
{
	char trim[256];
	int rc, err;

	rc = sqlite3_exec(n->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_err(n, rc, "making the tables");
	snprintf(trim, sizeof(trim),
		 "DELETE FROM ns_domain WHERE domain NOT IN (SELECT domain FROM ns_domain"
		 " ORDER BY last_seen DESC LIMIT %zu);"
		 "DELETE FROM ns_provider WHERE provider NOT IN (SELECT provider FROM"
		 " ns_provider ORDER BY last_seen DESC LIMIT %zu)",
		 n->opts.max_domains, n->opts.max_providers);
	rc = sqlite3_exec(n->db, trim, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return store_err(n, rc, "trimming");
	for (int i = 0; i < N_STMTS; i++) {
		rc = sqlite3_prepare_v3(n->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT,
					&n->stmts[i], NULL);
		if (rc != SQLITE_OK)
			return store_err(n, rc, "preparing");
	}
	n->loading = true;
	err = load_providers(n);
	if (!err)
		err = load_domains(n);
	n->loading = false;
	return err;
}

void nsinfra_close(struct nsinfra *n)
{
	if (!n)
		return;
	for (int i = 0; i < N_STMTS; i++)
		sqlite3_finalize(n->stmts[i]);
	table_free(n->domains);
	table_free(n->hosts);
	table_free(n->providers);
	free(n);
}

int nsinfra_open(struct pdns *store, const struct regdom *r, const struct nsinfra_opts *opts,
		 struct nsinfra **out)
{
	struct nsinfra *n;
	int err;

	*out = NULL;
	if (!opts->max_domains || !opts->max_hosts || !opts->max_providers ||
	    opts->max_domains > INT64_MAX || opts->max_providers > INT64_MAX)
		return -EINVAL;
	if (!(n = calloc(1, sizeof(*n))))
		return -ENOMEM;
	n->opts = *opts;
	n->store = store;
	n->db = store ? pdns_db(store) : NULL;
	n->regdom = r;
	n->domains = table_new(&(struct table_opts){
		.max_entries = opts->max_domains, .entry_size = sizeof(struct domain),
		.when_full = TABLE_EVICT, .on_evict = on_domain_evict, .ctx = n });
	n->hosts = table_new(&(struct table_opts){
		.max_entries = opts->max_hosts, .entry_size = sizeof(struct host),
		.when_full = TABLE_EVICT, .on_evict = on_host_evict, .ctx = n });
	n->providers = table_new(&(struct table_opts){
		.max_entries = opts->max_providers, .entry_size = sizeof(struct provider),
		.when_full = TABLE_EVICT, .on_evict = on_provider_evict, .ctx = n });
	if (!n->domains || !n->hosts || !n->providers) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (n->db && (err = open_store(n)))
		goto cleanup;
	*out = n;
	return 0;

cleanup:
	nsinfra_close(n);
	return err;
}
