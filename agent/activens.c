/* Active nameserver lookups: see activens.h. */
#include "activens.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "dns.h"
#include "log.h"
#include "table.h"

#define NS_PER_S 1000000000ull
/* a probe's whole answer is read; NS sets with glue fit in far less */
#define RESPONSE_MAX 4096

struct cached {
	char name[REGDOM_NAME_MAX + 1];
	uint64_t until_ns; /* not asked for again before */
};

struct activens {
	struct activens_opts opts;
	pthread_mutex_t lock; /* queue, cache, rate */
	pthread_cond_t wake;
	struct activens_request *queue;
	size_t head, n_queued;
	struct table *cache;
	uint64_t interval_ns, tat_ns; /* the rate as a GCRA: theoretical arrival time */
	struct activens_stats stats;
	/* the worker's */
	pthread_t thread;
	bool started, stop;
	int stop_fd; /* an eventfd: wakes a probe's poll at exit */
	int self_ns; /* the agent's own network namespace, to go back to */
	struct dns_parser *parser;
	uint8_t buf[RESPONSE_MAX];
};

static bool name_eq(const void *entry, const void *key)
{
	return !strcmp(entry, key);
}

static struct cached *cache_find(struct activens *a, const char *domain, uint64_t *hash)
{
	*hash = table_hash(a->cache, domain, strlen(domain));
	return table_find_eq(a->cache, *hash, name_eq, domain);
}

static void count_eviction(void *ctx, void *entry)
{
	(void)entry;
	((struct activens *)ctx)->stats.evicted++;
}

struct activens *activens_new(const struct activens_opts *opts)
{
	struct activens *a;

	if (!opts->rate || opts->rate > 1000 || !opts->queue_max || !opts->cache_max) {
		errno = EINVAL;
		return NULL;
	}
	if (!(a = calloc(1, sizeof(*a))))
		return NULL;
	a->opts = *opts;
	a->stop_fd = a->self_ns = -1;
	a->interval_ns = NS_PER_S / opts->rate;
	pthread_mutex_init(&a->lock, NULL);
	pthread_cond_init(&a->wake, NULL);
	a->queue = calloc(opts->queue_max, sizeof(*a->queue));
	a->cache = table_new(&(struct table_opts){
		.max_entries = opts->cache_max,
		.entry_size = sizeof(struct cached),
		.when_full = TABLE_EVICT,
		.on_evict = count_eviction,
		.ctx = a,
	});
	a->parser = dns_parser_new();
	if (!a->queue || !a->cache || !a->parser) {
		activens_free(a);
		errno = ENOMEM;
		return NULL;
	}
	return a;
}

/* The network namespace of pid: an fd, -ESRCH when the process is gone, or -errno. */
static int open_netns(const struct activens *a, int32_t pid)
{
	char path[4096];
	int fd;

	snprintf(path, sizeof(path), "%s/%d/ns/net", a->opts.proc_root, pid);
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return errno == ENOENT || errno == ESRCH ? -ESRCH : -errno;
	return fd;
}

int activens_request(struct activens *a, const struct activens_request *r, uint64_t now_ns)
{
	struct activens_request *slot;
	struct cached *c;
	uint64_t h;
	int err = 0, ns;

	pthread_mutex_lock(&a->lock);
	c = cache_find(a, r->domain, &h);
	if (c && c->until_ns > now_ns) {
		err = -EALREADY;
	} else if (a->n_queued == a->opts.queue_max) {
		a->stats.dropped++;
		err = -ENOBUFS;
	} else if ((ns = open_netns(a, r->pid)) < 0) {
		a->stats.gone += ns == -ESRCH;
		err = ns;
	} else {
		if (!c && (c = table_insert(a->cache, h, NULL, 0)))
			strcpy(c->name, r->domain);
		if (c) /* waiting: no second request; activens_done sets the real time */
			c->until_ns = UINT64_MAX;
		slot = &a->queue[(a->head + a->n_queued++) % a->opts.queue_max];
		*slot = *r;
		slot->ns_fd = ns;
		a->stats.requests++;
		pthread_cond_signal(&a->wake);
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

int activens_next(struct activens *a, uint64_t now_ns, struct activens_request *out,
		  uint64_t *wait_ns)
{
	/* a burst of rate requests, then one per interval */
	uint64_t tolerance = (a->opts.rate - 1) * a->interval_ns;
	int err = 0;

	pthread_mutex_lock(&a->lock);
	if (!a->n_queued) {
		err = -ENOENT;
	} else if (a->tat_ns > now_ns + tolerance) {
		*wait_ns = a->tat_ns - now_ns - tolerance;
		err = -EAGAIN;
	} else {
		a->tat_ns = (a->tat_ns > now_ns ? a->tat_ns : now_ns) + a->interval_ns;
		*out = a->queue[a->head];
		a->head = (a->head + 1) % a->opts.queue_max;
		a->n_queued--;
	}
	pthread_mutex_unlock(&a->lock);
	return err;
}

void activens_done(struct activens *a, const char *domain, int result, uint32_t ttl_s,
		   uint64_t now_ns)
{
	struct cached *c;
	uint64_t h, hold_s;

	pthread_mutex_lock(&a->lock);
	c = cache_find(a, domain, &h);
	if (result)
		a->stats.failures++;
	hold_s = result ? ACTIVENS_BACKOFF_S :
	       ttl_s < ACTIVENS_TTL_MIN_S ? ACTIVENS_TTL_MIN_S :
	       ttl_s > ACTIVENS_TTL_MAX_S ? ACTIVENS_TTL_MAX_S : ttl_s;
	if (c)
		c->until_ns = now_ns + hold_s * NS_PER_S;
	pthread_mutex_unlock(&a->lock);
}

const struct activens_stats *activens_stats(const struct activens *a)
{
	return &a->stats;
}

/* ---- the worker ---- */

/* "name" (a presentation name without escapes) as a query of qtype with id, RD set, into
 * q; its length, or -EINVAL for a name that is not plain labels. */
static int build_query(uint8_t *q, size_t cap, uint16_t id, const char *name, uint16_t qtype)
{
	size_t n = 12;

	memset(q, 0, 12);
	q[0] = id >> 8;
	q[1] = id & 0xff;
	q[2] = 0x01; /* RD */
	q[5] = 1;    /* QDCOUNT */
	while (*name) {
		size_t len = strcspn(name, ".");

		if (!len || len > 63 || memchr(name, '\\', len) || n + 1 + len + 5 > cap ||
		    n + 1 + len > 12 + 254)
			return -EINVAL;
		q[n++] = len;
		memcpy(q + n, name, len);
		n += len;
		name += len + (name[len] == '.');
	}
	q[n++] = 0;
	q[n++] = qtype >> 8;
	q[n++] = qtype & 0xff;
	q[n++] = 0;
	q[n++] = 1; /* IN */
	return n;
}

/* Sends "name qtype" on fd and waits for its response (ACTIVENS_TIMEOUT_MS, one retry with
 * another id), parsed into *m. 0, -ETIMEDOUT, -ECANCELED (stopping), or a send error. */
static int exchange(struct activens *a, int fd, const char *name, uint16_t qtype,
		    struct dns_msg *m)
{
	uint8_t q[300];

	for (int attempt = 0; attempt < 2; attempt++) {
		uint64_t deadline = clock_ns(CLOCK_MONOTONIC) + ACTIVENS_TIMEOUT_MS * 1000000ull;
		uint16_t id;
		int len;

		if (getrandom(&id, sizeof(id), 0) != sizeof(id))
			return -errno;
		if ((len = build_query(q, sizeof(q), id, name, qtype)) < 0)
			return len;
		a->stats.queries++;
		if (send(fd, q, len, 0) < 0)
			return -errno;
		for (;;) {
			struct pollfd p[2] = { { fd, POLLIN, 0 }, { a->stop_fd, POLLIN, 0 } };
			uint64_t now = clock_ns(CLOCK_MONOTONIC);
			ssize_t got;

			if (now >= deadline)
				break;
			if (poll(p, 2, (deadline - now) / 1000000 + 1) < 0 && errno != EINTR)
				return -errno;
			if (p[1].revents)
				return -ECANCELED;
			if (!p[0].revents)
				continue;
			if ((got = recv(fd, a->buf, sizeof(a->buf), MSG_DONTWAIT)) < 0) {
				if (errno == EAGAIN || errno == EINTR)
					continue;
				return -errno; /* ECONNREFUSED: nobody serves there */
			}
			/* a stray or late datagram from the server: keep waiting */
			if (dns_parse(a->parser, a->buf, got, m) || m->id != id || !m->qr ||
			    !m->has_question || m->qtype != qtype || !dns_name_equal(m->qname, name))
				continue;
			a->stats.answers++;
			return 0;
		}
	}
	return -ETIMEDOUT;
}

/* A UDP socket in r's network namespace, connected to r's server. The thread goes back to
 * the agent's namespace at once. The fd or a negative errno; -ENOTRECOVERABLE when the thread
 * could not go back (it must stop). */
static int probe_socket(struct activens *a, const struct activens_request *r)
{
	struct sockaddr_storage ss = { 0 };
	socklen_t sl;
	int fd, err;

	if (setns(r->ns_fd, CLONE_NEWNET))
		return -errno;
	fd = socket(r->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	err = fd < 0 ? -errno : 0;
	if (setns(a->self_ns, CLONE_NEWNET)) {
		log_warn("active-ns: going back to the agent's network namespace");
		if (fd >= 0)
			close(fd);
		return -ENOTRECOVERABLE;
	}
	if (err)
		return err;
	if (r->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;

		s4->sin_family = AF_INET;
		s4->sin_port = htons(r->port);
		memcpy(&s4->sin_addr, r->server, 4);
		sl = sizeof(*s4);
	} else {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(r->port);
		memcpy(&s6->sin6_addr, r->server, 16);
		sl = sizeof(*s6);
	}
	if (connect(fd, (struct sockaddr *)&ss, sl)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Asks r's server for r's domain's NS set, then for up to ACTIVENS_MAX_NS names' addresses.
 * 0 and *ttl_s (the NS RRset's smallest TTL), or a negative errno. */
static int probe(struct activens *a, const struct activens_request *r, uint32_t *ttl_s)
{
	char names[ACTIVENS_MAX_NS][DNS_MAX_PRESENTATION];
	size_t n = 0;
	struct dns_msg m;
	int fd = probe_socket(a, r), err;

	if (fd < 0)
		return fd;
	err = exchange(a, fd, r->domain, DNS_TYPE_NS, &m);
	*ttl_s = UINT32_MAX;
	for (size_t i = 0; !err && i < m.an.n; i++) {
		const struct dns_rr *rr = &m.an.rrs[i];

		if (rr->type != DNS_TYPE_NS || !rr->target || !dns_name_equal(rr->name, r->domain))
			continue;
		if (rr->ttl < *ttl_s)
			*ttl_s = rr->ttl;
		if (n < ACTIVENS_MAX_NS)
			snprintf(names[n++], sizeof(names[0]), "%s", rr->target);
	}
	if (!err && (m.rcode || !n))
		err = -ENODATA;
	/* the addresses are nsinfra's to learn from the capture; only stopping ends this */
	for (size_t i = 0; !err && i < n; i++)
		if (exchange(a, fd, names[i], DNS_TYPE_A, &m) == -ECANCELED ||
		    exchange(a, fd, names[i], DNS_TYPE_AAAA, &m) == -ECANCELED)
			err = -ECANCELED;
	close(fd);
	return err;
}

/* Sleeps until a request comes (or a second passes) or, limited by the rate, wait_ns.
 * Returns whether to stop. */
static bool idle(struct activens *a, int why, uint64_t wait_ns)
{
	struct timespec ts;
	bool stop;

	clock_gettime(CLOCK_REALTIME, &ts);
	wait_ns = why == -ENOENT ? NS_PER_S : wait_ns;
	ts.tv_sec += wait_ns / NS_PER_S;
	ts.tv_nsec += wait_ns % NS_PER_S;
	if (ts.tv_nsec >= (long)NS_PER_S) {
		ts.tv_sec++;
		ts.tv_nsec -= NS_PER_S;
	}
	pthread_mutex_lock(&a->lock);
	if (!a->stop && !(why == -ENOENT && a->n_queued))
		pthread_cond_timedwait(&a->wake, &a->lock, &ts);
	stop = a->stop;
	pthread_mutex_unlock(&a->lock);
	return stop;
}

static void *worker(void *arg)
{
	struct activens *a = arg;

	for (;;) {
		struct activens_request r;
		uint64_t wait = 0;
		uint32_t ttl = 0;
		int err = activens_next(a, clock_ns(CLOCK_MONOTONIC), &r, &wait);

		if (err) {
			if (idle(a, err, wait))
				break;
			continue;
		}
		err = probe(a, &r, &ttl);
		close(r.ns_fd);
		if (err == -ENOTRECOVERABLE || err == -ECANCELED)
			break;
		if (err)
			log_debug("active-ns: %s (pid %d): %s", r.domain, r.pid, strerror(-err));
		activens_done(a, r.domain, err, ttl, clock_ns(CLOCK_MONOTONIC));
	}
	return NULL;
}

int activens_start(struct activens *a)
{
	int err;

	a->self_ns = open("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	a->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (a->self_ns < 0 || a->stop_fd < 0)
		return -errno;
	if ((err = pthread_create(&a->thread, NULL, worker, a)))
		return -err;
	a->started = true;
	return 0;
}

void activens_free(struct activens *a)
{
	if (!a)
		return;
	if (a->started) {
		pthread_mutex_lock(&a->lock);
		a->stop = true;
		pthread_cond_signal(&a->wake);
		pthread_mutex_unlock(&a->lock);
		if (eventfd_write(a->stop_fd, 1))
			log_warn("active-ns: waking the worker");
		pthread_join(a->thread, NULL);
	}
	for (; a->queue && a->n_queued; a->n_queued--, a->head = (a->head + 1) % a->opts.queue_max)
		close(a->queue[a->head].ns_fd);
	if (a->stop_fd >= 0)
		close(a->stop_fd);
	if (a->self_ns >= 0)
		close(a->self_ns);
	dns_parser_free(a->parser);
	table_free(a->cache);
	free(a->queue);
	pthread_cond_destroy(&a->wake);
	pthread_mutex_destroy(&a->lock);
	free(a);
}
