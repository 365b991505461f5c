/* The shipping path against a real collector stand-in: a thread in this test that listens on
 * 127.0.0.1 with real OpenSSL TLS (certificates made by scripts/make-certs.sh into a temporary
 * directory), speaks the feed conversation (lib/feed.h), decodes every event and acks. Spools
 * are real directories. Checks: batching thresholds, order and exactly-once storage, acked
 * batches leaving the spool, replay after a lost ack and after a restart, failover, a seq
 * conflict, and the refusals (a collector certificate of another CA, plaintext to TLS). */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include <openssl/err.h>

#include "event_pb.h"
#include "feed.h"
#include "frame.h"
#include "samples.h"
#include "ship.h"
#include "spool.h"

#define TS_BASE 1700000000000000000ull
#define MAX_STORED 4096

static char certs[] = "/tmp/dv-test-ship-certs-XXXXXX";
static char spool_dir[64];

static void run(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	if (system(cmd) != 0)
		fail_msg("failed: %s", cmd);
}

static void cert_path(char *buf, size_t size, const char *name, const char *ext)
{
	snprintf(buf, size, "%s/%s.%s", certs, name, ext);
}

/* --- the collector stand-in --- */

struct server {
	int lfd;
	uint16_t port;
	SSL_CTX *ctx; /* NULL: plaintext */
	pthread_t thread;
	atomic_bool stop;
	atomic_bool ack;      /* store and ack batches; false: a collector that loses them */
	uint64_t hello_seq;   /* answer the hello with this instead of what is held */
	pthread_mutex_t lock; /* over what follows */
	uint64_t held;        /* highest seq stored */
	int connections, hellos, batches_seen, duplicates;
	uint64_t stored[MAX_STORED]; /* ts_ns - TS_BASE of every event stored, in order */
	int n_stored;
	uint32_t batch_events[256]; /* per stored batch */
	size_t batch_len[256];
	uint64_t batch_seq[256];
	int n_batches;
};

struct peer {
	int fd;
	SSL *ssl;
};

static ssize_t peer_read(struct peer *p, void *buf, size_t n)
{
	return p->ssl ? SSL_read(p->ssl, buf, (int)n) : recv(p->fd, buf, n, 0);
}

static void peer_write(struct peer *p, const void *buf, size_t n)
{
	if (p->ssl)
		SSL_write(p->ssl, buf, (int)n);
	else if (send(p->fd, buf, n, MSG_NOSIGNAL) < 0)
		return;
}

static void send_ack(struct peer *p, uint64_t seq)
{
	struct jbuf b = { 0 };

	assert_int_equal(feed_ack_frame(&b, seq), 0);
	peer_write(p, b.p, b.len);
	jbuf_free(&b);
}

/* One batch: decoded event by event; stored unless a duplicate. */
static void on_batch(struct server *sv, struct peer *p, const struct frame *f)
{
	struct feed_batch b;
	const char *why;
	const uint8_t *ev;
	size_t len;
	uint64_t seq;

	assert_int_equal(feed_batch_parse(f->payload, f->len, &b, &why), 0);
	assert_string_equal(b.agent_id, "agent-test");
	assert_string_equal(b.boot_id, "boot-test");
	pthread_mutex_lock(&sv->lock);
	sv->batches_seen++;
	if (!atomic_load(&sv->ack)) {
		pthread_mutex_unlock(&sv->lock);
		return;
	}
	if (b.seq <= sv->held) {
		sv->duplicates++;
	} else {
		sv->held = b.seq;
		sv->batch_events[sv->n_batches] = b.n_events;
		sv->batch_len[sv->n_batches] = f->len;
		sv->batch_seq[sv->n_batches++] = b.seq;
		while (feed_batch_next(&b, &ev, &len)) {
			struct event *e = NULL;

			assert_int_equal(event_pb_decode(ev, len, &e), 0);
			assert_true(sv->n_stored < MAX_STORED);
			sv->stored[sv->n_stored++] = e->ts_ns - TS_BASE;
			event_free(e);
		}
	}
	seq = sv->held;
	pthread_mutex_unlock(&sv->lock);
	send_ack(p, seq);
}

static void serve(struct server *sv, int fd)
{
	struct frame_decoder *d = frame_decoder_new(NULL);
	struct peer p = { .fd = fd };
	struct timeval tv = { .tv_usec = 20000 };
	uint8_t buf[65536];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (sv->ctx) {
		p.ssl = SSL_new(sv->ctx);
		SSL_set_fd(p.ssl, fd);
		if (SSL_accept(p.ssl) != 1)
			goto cleanup;
	}
	while (!atomic_load(&sv->stop)) {
		ssize_t n = peer_read(&p, buf, sizeof(buf));
		const uint8_t *q = buf;
		size_t left;
		struct frame f;

		if (n <= 0) {
			if (p.ssl ? SSL_get_error(p.ssl, n) == SSL_ERROR_WANT_READ
				  : n < 0 && errno == EAGAIN)
				continue;
			break;
		}
		left = n;
		while (left && frame_decode(d, &q, &left, &f) == 1) {
			if (f.type == FRAME_HELLO) {
				struct feed_hello h;

				assert_int_equal(feed_hello_decode(f.payload, f.len, &h), 0);
				assert_int_equal(h.protocol_version, FEED_PROTOCOL_VERSION);
				pthread_mutex_lock(&sv->lock);
				sv->hellos++;
				pthread_mutex_unlock(&sv->lock);
				send_ack(&p, sv->hello_seq ? sv->hello_seq : sv->held);
			} else if (f.type == FRAME_BATCH) {
				on_batch(sv, &p, &f);
			}
		}
		if (left)
			break; /* not the feed: a plaintext agent at a TLS server fails before */
	}
cleanup:
	SSL_free(p.ssl);
	ERR_clear_error();
	close(fd);
	frame_decoder_free(d);
}

static void *server_main(void *arg)
{
	struct server *sv = arg;

	while (!atomic_load(&sv->stop)) {
		struct pollfd pfd = { .fd = sv->lfd, .events = POLLIN };
		int fd;

		if (poll(&pfd, 1, 20) <= 0)
			continue;
		fd = accept(sv->lfd, NULL, NULL);
		if (fd < 0)
			continue;
		pthread_mutex_lock(&sv->lock);
		sv->connections++;
		pthread_mutex_unlock(&sv->lock);
		serve(sv, fd);
	}
	return NULL;
}

/* A listening socket on 127.0.0.1, an ephemeral port. */
static int listen_any(uint16_t *port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(listen(fd, 8), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
	*port = ntohs(a.sin_port);
	return fd;
}

/* A port nothing listens on: connections to it are refused. */
static uint16_t closed_port(void)
{
	uint16_t port;

	close(listen_any(&port));
	return port;
}

/* cert NULL: plaintext. */
static struct server *server_start(const char *cert)
{
	struct server *sv = calloc(1, sizeof(*sv));
	char ca[256], pem[256], key[256];
	struct tls_files f = { ca, pem, key };

	assert_non_null(sv);
	pthread_mutex_init(&sv->lock, NULL);
	atomic_store(&sv->ack, true);
	if (cert) {
		cert_path(ca, sizeof(ca), "feed-ca", "pem");
		cert_path(pem, sizeof(pem), cert, "pem");
		cert_path(key, sizeof(key), cert, "key");
		assert_int_equal(tls_ctx_new(TLS_SERVER, &f, &sv->ctx), 0);
	}
	sv->lfd = listen_any(&sv->port);
	assert_int_equal(pthread_create(&sv->thread, NULL, server_main, sv), 0);
	return sv;
}

static void server_stop(struct server *sv)
{
	atomic_store(&sv->stop, true);
	pthread_join(sv->thread, NULL);
	close(sv->lfd);
	SSL_CTX_free(sv->ctx);
	pthread_mutex_destroy(&sv->lock);
	free(sv);
}

static int server_get(struct server *sv, const int *field)
{
	int v;

	pthread_mutex_lock(&sv->lock);
	v = *field;
	pthread_mutex_unlock(&sv->lock);
	return v;
}

/* Waits up to 3 s for the server's counter to reach want. */
static bool server_wait(struct server *sv, const int *field, int want)
{
	for (int i = 0; i < 300; i++) {
		if (server_get(sv, field) >= want)
			return true;
		usleep(10000);
	}
	return false;
}

/* --- the agent side --- */

static struct ship_collector collectors[SHIP_MAX_COLLECTORS];
static char ca_pem[256], agent_pem[256], agent_key[256];

static struct ship_opts opts_for(uint16_t port, bool tls)
{
	char spec[32];
	const char *why;

	snprintf(spec, sizeof(spec), "127.0.0.1:%u", port);
	assert_int_equal(ship_parse_collector(spec, &collectors[0], &why), 0);
	return (struct ship_opts){
		.collectors = collectors, .n_collectors = 1,
		.spool_dir = spool_dir, .spool_max = 64 << 20,
		.agent_id = "agent-test", .host = "host-a", .boot_id = "boot-test",
		.tls = { ca_pem, agent_pem, agent_key },
		.insecure_plaintext = !tls,
		.batch_events = 10, .batch_ms = 100,
		.backoff_min_ms = 10, .backoff_max_ms = 50,
		.connect_timeout_ms = 500, .ack_timeout_ms = 1000, .drain_ms = 300,
	};
}

static struct ship *ship_open(const struct ship_opts *o)
{
	struct ship *s = NULL;

	assert_int_equal(ship_new(o, &s), 0);
	assert_non_null(s);
	return s;
}

/* n dns events with ts_ns TS_BASE + from.. : the server tells them apart by it. */
static void write_events(struct ship *s, int from, int n)
{
	static uint8_t raw[4096];
	static size_t raw_len;
	static struct dns_parser *parser;
	static struct dns_msg msg;

	if (!parser) {
		parser = dns_parser_new();
		raw_len = read_fixture("a-response.bin", raw, sizeof(raw));
		assert_int_equal(dns_parse(parser, raw, raw_len, &msg), 0);
	}
	for (int i = from; i < from + n; i++) {
		struct event ev = net_event(EVENT_DNS);

		ev.ts_ns = TS_BASE + i;
		ev.dns = &msg;
		ev.raw = raw;
		ev.raw_len = raw_len;
		assert_int_equal(sink_write(ship_sink(s), &ev), 0);
	}
}

static uint64_t stat_of(struct ship *s, const char *name)
{
	static struct stats_registry r;
	const struct stats_entry *e;

	memset(&r, 0, sizeof(r));
	assert_int_equal(ship_declare_stats(s, &r), 0);
	stats_refresh(&r);
	e = stats_find(&r, name);
	assert_non_null(e);
	return *(const uint64_t *)e->value;
}

static bool stat_wait(struct ship *s, const char *name, uint64_t want)
{
	for (int i = 0; i < 300; i++) {
		if (stat_of(s, name) >= want)
			return true;
		usleep(10000);
	}
	return false;
}

static int spool_files(void)
{
	DIR *d = opendir(spool_dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)))
		n += strstr(de->d_name, ".batch") != NULL;
	closedir(d);
	return n;
}

static bool spool_wait(int want)
{
	for (int i = 0; i < 300; i++) {
		if (spool_files() == want)
			return true;
		usleep(10000);
	}
	return false;
}

/* The server stored events 0..n-1, each once, in order. */
static void assert_stored_in_order(struct server *sv, int n)
{
	pthread_mutex_lock(&sv->lock);
	assert_int_equal(sv->n_stored, n);
	for (int i = 0; i < n; i++)
		assert_int_equal(sv->stored[i], i);
	pthread_mutex_unlock(&sv->lock);
}

/* --- tests --- */

static void batches_close_at_the_event_count_and_after_batch_ms(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(sv->port, true);
	struct ship *s = ship_open(&o);

	(void)state;
	write_events(s, 0, 25);
	sink_flush(ship_sink(s)); /* too young: the third batch stays open */
	assert_true(server_wait(sv, &sv->n_batches, 2));
	usleep(50000);
	assert_int_equal(server_get(sv, &sv->n_batches), 2);
	usleep(60000);
	sink_flush(ship_sink(s)); /* 110 ms > batch_ms */
	assert_true(server_wait(sv, &sv->n_batches, 3));
	pthread_mutex_lock(&sv->lock);
	assert_int_equal(sv->batch_events[0], 10);
	assert_int_equal(sv->batch_events[1], 10);
	assert_int_equal(sv->batch_events[2], 5);
	pthread_mutex_unlock(&sv->lock);
	assert_stored_in_order(sv, 25);
	assert_int_equal(stat_of(s, "ship_events"), 25);
	ship_free(s);
	server_stop(sv);
}

static void batches_close_at_batch_bytes(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(sv->port, true);
	struct ship *s;

	(void)state;
	o.batch_events = 1000;
	o.batch_bytes = 2000;
	s = ship_open(&o);
	write_events(s, 0, 100);
	ship_free(s); /* the last, partial batch goes out at exit */
	pthread_mutex_lock(&sv->lock);
	assert_true(sv->n_batches > 2);
	for (int i = 0; i < sv->n_batches - 1; i++) {
		/* Each full batch closed on the event that took it to 2000 bytes. */
		assert_true(sv->batch_len[i] >= 2000);
		assert_true(sv->batch_len[i] < 2000 + 2000 / sv->batch_events[i] + 16);
	}
	pthread_mutex_unlock(&sv->lock);
	assert_stored_in_order(sv, 100);
	server_stop(sv);
}

static void events_arrive_in_order_and_acked_batches_leave_the_spool(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(sv->port, true);
	struct ship *s = ship_open(&o);

	(void)state;
	write_events(s, 0, 400); /* 40 batches: five times the window */
	assert_true(server_wait(sv, &sv->n_batches, 40));
	assert_stored_in_order(sv, 400);
	assert_true(stat_wait(s, "ship_batches_acked", 40));
	assert_true(spool_wait(0));
	assert_int_equal(stat_of(s, "spool_batches"), 0);
	assert_true(stat_of(s, "ship_bytes_sent") > 0);
	assert_int_equal(stat_of(s, "ship_connects"), 1);
	assert_int_equal(stat_of(s, "ship_queue_dropped_batches"), 0);
	ship_free(s);
	server_stop(sv);
}

/* A shipper behind (each batch is fsync'd) never stalls the pipeline: what does not fit the
 * queue is dropped and counted, the rest arrives in order. */
static void batches_beyond_the_queue_are_dropped_and_counted(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(sv->port, true);
	uint64_t dropped;
	struct ship *s;

	(void)state;
	o.batch_events = 1;
	s = ship_open(&o);
	write_events(s, 0, 300);
	dropped = stat_of(s, "ship_queue_dropped_events");
	assert_true(dropped > 0);
	assert_int_equal(stat_of(s, "ship_queue_dropped_batches"), dropped);
	assert_int_equal(ship_sink(s)->events_lost, dropped);
	assert_true(server_wait(sv, &sv->n_stored, 300 - (int)dropped));
	pthread_mutex_lock(&sv->lock);
	for (int i = 1; i < sv->n_stored; i++)
		assert_true(sv->stored[i] > sv->stored[i - 1]);
	pthread_mutex_unlock(&sv->lock);
	ship_free(s);
	server_stop(sv);
}

static void unacked_batches_are_replayed_after_reconnecting(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(sv->port, true);
	struct ship *s;

	(void)state;
	atomic_store(&sv->ack, false); /* receives, stores nothing, acks nothing */
	o.ack_timeout_ms = 300;
	s = ship_open(&o);
	write_events(s, 0, 30);
	assert_true(server_wait(sv, &sv->batches_seen, 3));
	assert_int_equal(spool_files(), 3);
	atomic_store(&sv->ack, true);
	/* The agent leaves the silent collector after ack_timeout_ms and sends it all again. */
	assert_true(server_wait(sv, &sv->n_batches, 3));
	assert_true(spool_wait(0));
	assert_stored_in_order(sv, 30);
	assert_true(stat_of(s, "ship_connects") >= 2);
	assert_true(stat_of(s, "ship_batches_sent") >= 6);
	ship_free(s);
	server_stop(sv);
}

static void spooled_batches_are_sent_after_a_restart(void **state)
{
	struct ship_opts o = opts_for(closed_port(), true);
	struct server *sv;
	struct ship *s = ship_open(&o);
	uint64_t first_seq;

	(void)state;
	write_events(s, 0, 20);
	assert_true(spool_wait(2));
	assert_true(stat_wait(s, "ship_connect_failures", 1));
	assert_int_equal(stat_of(s, "ship_connects"), 0);
	write_events(s, 20, 5);
	ship_free(s); /* the partial batch is spooled; no collector: all three stay */
	assert_int_equal(spool_files(), 3);

	sv = server_start("collector");
	o = opts_for(sv->port, true);
	s = ship_open(&o);
	write_events(s, 25, 5);
	sink_flush(ship_sink(s));
	ship_free(s);
	assert_int_equal(spool_files(), 0);
	assert_stored_in_order(sv, 30);
	pthread_mutex_lock(&sv->lock);
	first_seq = sv->batch_seq[0];
	assert_int_equal(sv->n_batches, 4);
	for (int i = 1; i < 4; i++)
		assert_true(sv->batch_seq[i] > sv->batch_seq[i - 1]);
	assert_int_equal(sv->duplicates, 0);
	pthread_mutex_unlock(&sv->lock);
	assert_true(first_seq >= 1);
	server_stop(sv);
}

static void the_next_collector_is_tried_when_the_first_refuses(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(closed_port(), true);
	const char *why;
	struct stats_registry r = { 0 };
	const struct stats_entry *e;
	char spec[32];
	struct ship *s;

	(void)state;
	snprintf(spec, sizeof(spec), "localhost:%u", sv->port);
	assert_int_equal(ship_parse_collector(spec, &collectors[1], &why), 0);
	o.n_collectors = 2;
	s = ship_open(&o);
	write_events(s, 0, 10);
	assert_true(server_wait(sv, &sv->n_batches, 1));
	assert_true(stat_of(s, "ship_connect_failures") >= 1);
	assert_int_equal(ship_declare_stats(s, &r), 0);
	stats_refresh(&r);
	e = stats_find(&r, "ship_collector");
	assert_string_equal(*(const char *const *)e->value, spec);
	ship_free(s);
	assert_stored_in_order(sv, 10);
	server_stop(sv);
}

/* A collector whose kernel completes the TCP handshake but which never answers the hello
 * (stopped, overloaded) is left after connect_timeout_ms. */
static void a_silent_collector_is_left_for_the_next(void **state)
{
	struct server *sv = server_start("collector");
	uint16_t hung_port;
	int hung = listen_any(&hung_port); /* never accepts */
	struct ship_opts o = opts_for(hung_port, true);
	const char *why;
	char spec[32];
	struct ship *s;

	(void)state;
	snprintf(spec, sizeof(spec), "127.0.0.1:%u", sv->port);
	assert_int_equal(ship_parse_collector(spec, &collectors[1], &why), 0);
	o.n_collectors = 2;
	s = ship_open(&o);
	write_events(s, 0, 10);
	assert_true(server_wait(sv, &sv->n_batches, 1));
	assert_int_equal(stat_of(s, "ship_connect_failures"), 1);
	assert_int_equal(stat_of(s, "ship_connects"), 1);
	ship_free(s);
	assert_stored_in_order(sv, 10);
	close(hung);
	server_stop(sv);
}

static void a_collector_ahead_of_the_spool_is_a_counted_conflict(void **state)
{
	struct server *sv = server_start("collector");
	struct ship_opts o = opts_for(sv->port, true);
	struct ship *s;

	(void)state;
	pthread_mutex_lock(&sv->lock);
	sv->hello_seq = sv->held = 1000; /* another agent with this id got there first */
	pthread_mutex_unlock(&sv->lock);
	s = ship_open(&o);
	assert_true(stat_wait(s, "ship_seq_conflicts", 1));
	write_events(s, 0, 10);
	assert_true(server_wait(sv, &sv->n_batches, 1));
	pthread_mutex_lock(&sv->lock);
	assert_true(sv->batch_seq[0] > 1000);
	assert_int_equal(sv->duplicates, 0);
	pthread_mutex_unlock(&sv->lock);
	ship_free(s);
	server_stop(sv);
}

/* Nothing gets through to the server, the batch stays spooled, and the log says why. */
static void assert_refused(const char *server_cert, bool tls, const char *logged)
{
	struct server *sv = server_start(server_cert);
	struct ship_opts o = opts_for(sv->port, tls);
	char log_path[] = "/tmp/dv-test-ship-log-XXXXXX", text[8192] = "";
	int log_fd = mkstemp(log_path), saved = dup(STDERR_FILENO);
	struct ship *s;
	FILE *f;

	assert_true(log_fd >= 0 && saved >= 0);
	dup2(log_fd, STDERR_FILENO);
	s = ship_open(&o);
	write_events(s, 0, 10);
	assert_true(stat_wait(s, "ship_connect_failures", 2));
	assert_int_equal(stat_of(s, "ship_connects"), 0);
	assert_int_equal(server_get(sv, &sv->hellos), 0);
	ship_free(s);
	dup2(saved, STDERR_FILENO);
	close(saved);
	assert_int_equal(spool_files(), 1);
	f = fdopen(log_fd, "r");
	rewind(f);
	text[fread(text, 1, sizeof(text) - 1, f)] = '\0';
	fclose(f);
	unlink(log_path);
	if (!strstr(text, logged))
		fail_msg("expected \"%s\" in the log:\n%s", logged, text);
	server_stop(sv);
}

static void a_collector_certificate_of_another_ca_is_refused(void **state)
{
	(void)state;
	assert_refused("stranger", true,
		       "the collector's certificate is refused: unable to get local issuer");
}

static void a_plaintext_agent_fails_at_a_tls_collector(void **state)
{
	(void)state;
	assert_refused("collector", false, "does the collector expect TLS? this agent runs "
			 "--insecure-plaintext");
}

static void collector_addresses_are_literals_or_from_etc_hosts(void **state)
{
	struct ship_collector c;
	const char *why;

	(void)state;
	assert_int_equal(ship_parse_collector("127.0.0.1:7878", &c, &why), 0);
	assert_int_equal(c.addr.ss_family, AF_INET);
	assert_string_equal(c.name, "127.0.0.1");
	assert_int_equal(ship_parse_collector("[::1]:7878", &c, &why), 0);
	assert_int_equal(c.addr.ss_family, AF_INET6);
	assert_string_equal(c.name, "::1");
	assert_int_equal(ntohs(((struct sockaddr_in6 *)&c.addr)->sin6_port), 7878);
	/* Every Debian /etc/hosts names localhost. */
	assert_int_equal(ship_parse_collector("localhost:1", &c, &why), 0);
	assert_string_equal(c.name, "localhost");
	assert_int_equal(ship_parse_collector("no-such-name.invalid:1", &c, &why), -EINVAL);
	assert_non_null(strstr(why, "/etc/hosts"));
	assert_int_equal(ship_parse_collector("::1:7878", &c, &why), -EINVAL);
	assert_int_equal(ship_parse_collector("[::1]7878", &c, &why), -EINVAL);
	assert_int_equal(ship_parse_collector("[127.0.0.1]:1", &c, &why), -EINVAL);
	assert_int_equal(ship_parse_collector("127.0.0.1", &c, &why), -EINVAL);
	assert_int_equal(ship_parse_collector("127.0.0.1:0", &c, &why), -EINVAL);
	assert_int_equal(ship_parse_collector("127.0.0.1:65536", &c, &why), -EINVAL);
	assert_int_equal(ship_parse_collector(":53", &c, &why), -EINVAL);
}

static void without_a_collector_the_counters_are_zero(void **state)
{
	struct stats_registry r = { 0 };

	(void)state;
	assert_int_equal(ship_declare_stats(NULL, &r), 0);
	assert_null(*(const char *const *)stats_find(&r, "ship_collector")->value);
	assert_int_equal(*(const uint64_t *)stats_find(&r, "spool_bytes")->value, 0);
	assert_int_equal(*(const uint64_t *)stats_find(&r, "ship_events")->value, 0);
}

static int make_spool(void **state)
{
	(void)state;
	strcpy(spool_dir, "/tmp/dv-test-ship-spool-XXXXXX");
	return mkdtemp(spool_dir) ? 0 : -1;
}

static int remove_spool(void **state)
{
	(void)state;
	run("rm -rf %s", spool_dir);
	return 0;
}

static int make_certs(void **state)
{
	(void)state;
	if (!mkdtemp(certs))
		return -1;
	run("DAYS=2 scripts/make-certs.sh ca %s feed-ca && "
	    "DAYS=2 scripts/make-certs.sh ca %s other-ca && "
	    "DAYS=2 scripts/make-certs.sh collector %s feed-ca collector IP:127.0.0.1,DNS:localhost && "
	    "DAYS=2 scripts/make-certs.sh collector %s other-ca stranger IP:127.0.0.1 && "
	    "DAYS=2 scripts/make-certs.sh agent %s feed-ca agent-1",
	    certs, certs, certs, certs, certs);
	cert_path(ca_pem, sizeof(ca_pem), "feed-ca", "pem");
	cert_path(agent_pem, sizeof(agent_pem), "agent-1", "pem");
	cert_path(agent_key, sizeof(agent_key), "agent-1", "key");
	return 0;
}

static int remove_certs(void **state)
{
	(void)state;
	run("rm -rf %s", certs);
	return 0;
}

#define SPOOLED(t) cmocka_unit_test_setup_teardown(t, make_spool, remove_spool)

int main(void)
{
	const struct CMUnitTest tests[] = {
		SPOOLED(batches_close_at_the_event_count_and_after_batch_ms),
		SPOOLED(batches_close_at_batch_bytes),
		SPOOLED(events_arrive_in_order_and_acked_batches_leave_the_spool),
		SPOOLED(batches_beyond_the_queue_are_dropped_and_counted),
		SPOOLED(unacked_batches_are_replayed_after_reconnecting),
		SPOOLED(spooled_batches_are_sent_after_a_restart),
		SPOOLED(the_next_collector_is_tried_when_the_first_refuses),
		SPOOLED(a_silent_collector_is_left_for_the_next),
		SPOOLED(a_collector_ahead_of_the_spool_is_a_counted_conflict),
		SPOOLED(a_collector_certificate_of_another_ca_is_refused),
		SPOOLED(a_plaintext_agent_fails_at_a_tls_collector),
		cmocka_unit_test(collector_addresses_are_literals_or_from_etc_hosts),
		cmocka_unit_test(without_a_collector_the_counters_are_zero),
	};

	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, make_certs, remove_certs);
}
