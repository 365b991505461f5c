/* Shipping to the collectors: see ship.h for the threads, the queue and the conversation. */
#include "ship.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <limits.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "clock.h"
#include "event_pb.h"
#include "feed.h"
#include "frame.h"
#include "log.h"
#include "spool.h"

#ifndef DNSVIGIL_VERSION
#define DNSVIGIL_VERSION "dev"
#endif

#define HOSTS_FILE "/etc/hosts"
#define SHIP_SPARE_BODIES 4
#define MS 1000000ull

/* The spool's counters, shown through the stats refresh: the shipper thread changes them. */
static const char *const spool_stat_names[] = {
	"spool_bytes", "spool_batches", "spool_dropped_batches", "spool_dropped_bytes",
	"spool_bad_files",
};
#define N_SPOOL_STATS (sizeof(spool_stat_names) / sizeof(spool_stat_names[0]))

struct ship_batch {
	struct jbuf body; /* the Batch message, not compressed yet */
	uint64_t seq;
	uint32_t events;
};

/* One connection to a collector; the shipper thread's alone. */
struct conn {
	int fd;
	SSL *ssl;
	int idx; /* into collectors */
	struct frame_decoder *dec;
	uint64_t sent_upto; /* highest seq sent (or held by the collector at hello) */
	uint64_t acked;
	uint64_t inflight[FEED_WINDOW]; /* seqs sent and not acked, ascending */
	int n_inflight;
	uint64_t progress_ns; /* last ack, or the send that opened the window */
};

/* What the shipper thread counts; the stats refresh reads it on the pipeline thread. */
struct ship_counters {
	_Atomic uint64_t batches_sent, batches_acked, bytes_sent, connects, connect_failures,
		seq_conflicts, spool_errors;
	_Atomic uint64_t spool[N_SPOOL_STATS];
	_Atomic int collector; /* index of the collector connected, -1: none */
};

/* What a stats event shows: copies made by the refresh. */
struct ship_shown {
	uint64_t batches_sent, batches_acked, bytes_sent, connects, connect_failures,
		seq_conflicts, spool_errors;
	uint64_t spool[N_SPOOL_STATS];
	const char *collector;
};

struct ship {
	struct sink base;
	struct ship_opts opts;
	struct ship_collector collectors[SHIP_MAX_COLLECTORS];
	char agent_id[FEED_ID_MAX], host[FEED_ID_MAX], boot_id[FEED_ID_MAX];
	uint64_t batch_ns;

	/* pipeline thread */
	struct event_pb *pb;
	struct jbuf body; /* the open batch: Batch header and events */
	bool open;
	uint64_t open_seq;
	uint64_t open_ns;
	uint32_t n_events;
	uint64_t events, queue_dropped_batches, queue_dropped_events;
	bool dropping; /* the queue was full at the last close: logged once */

	/* between the two */
	pthread_mutex_t lock;
	struct ship_batch queue[SHIP_QUEUE_LEN];
	size_t q_head, q_len;
	/* Batch buffers back from the shipper: a batch's 256 KiB are not allocated (and paged
	 * in) anew each time. */
	struct jbuf spare[SHIP_SPARE_BODIES];
	size_t n_spare;
	bool stopping;
	int wake_fd; /* eventfd: a batch is queued, or stop */
	_Atomic uint64_t next_seq;

	/* shipper thread */
	pthread_t thread;
	bool started;
	struct spool *spool;
	struct stats_registry spool_stats; /* spool_declare_stats' pointers into the spool */
	SSL_CTX *ctx;
	struct conn conn;
	struct jbuf frame; /* a batch compressed and framed, to spool */
	struct jbuf out;   /* a batch read back from the spool, a hello */
	unsigned int seed;

	struct ship_counters c;
	struct ship_shown shown;
};

/* --- addresses --- */

static int parse_port(const char *s, uint16_t *port)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < 1 || v > 65535)
		return -EINVAL;
	*port = v;
	return 0;
}

/* An address literal into addr; -EINVAL when host is none. No lookup is made. */
static int numeric_addr(const char *host, uint16_t port, int family, struct ship_collector *c)
{
	struct addrinfo hints = { .ai_family = family, .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *res;
	char service[8];

	snprintf(service, sizeof(service), "%u", port);
	if (getaddrinfo(host, service, &hints, &res))
		return -EINVAL;
	memcpy(&c->addr, res->ai_addr, res->ai_addrlen);
	c->addr_len = res->ai_addrlen;
	freeaddrinfo(res);
	return 0;
}

/* The first address /etc/hosts gives name, read by hand: getaddrinfo of a name would fall
 * through to DNS when the file lacks it. */
static int hosts_lookup(const char *name, uint16_t port, struct ship_collector *c)
{
	FILE *f = fopen(HOSTS_FILE, "re");
	char line[1024];
	int err = -ENOENT;

	if (!f)
		return -errno;
	while (err && fgets(line, sizeof(line), f)) {
		char *save, *addr, *tok;

		*strchrnul(line, '#') = '\0';
		addr = strtok_r(line, " \t\r\n", &save);
		while (addr && (tok = strtok_r(NULL, " \t\r\n", &save))) {
			if (!strcasecmp(tok, name) && !numeric_addr(addr, port, AF_UNSPEC, c)) {
				err = 0;
				break;
			}
		}
	}
	fclose(f);
	return err;
}

int ship_parse_collector(const char *arg, struct ship_collector *out, const char **why)
{
	const char *colon, *host = arg;
	size_t host_len;
	uint16_t port;
	int family = AF_INET;

	memset(out, 0, sizeof(*out));
	if (strlen(arg) >= sizeof(out->spec)) {
		*why = "too long";
		return -EINVAL;
	}
	snprintf(out->spec, sizeof(out->spec), "%s", arg);
	if (arg[0] == '[') {
		const char *close = strchr(arg, ']');

		if (!close || close[1] != ':') {
			*why = "expected [IPv6]:PORT";
			return -EINVAL;
		}
		host = arg + 1;
		host_len = close - host;
		colon = close + 1;
		family = AF_INET6;
	} else {
		colon = strchr(arg, ':');
		if (colon && strchr(colon + 1, ':')) {
			*why = "an IPv6 address goes in brackets: [ADDR]:PORT";
			return -EINVAL;
		}
		if (!colon) {
			*why = "expected HOST:PORT";
			return -EINVAL;
		}
		host_len = colon - arg;
	}
	if (!host_len || parse_port(colon + 1, &port)) {
		*why = "expected HOST:PORT with a port from 1 to 65535";
		return -EINVAL;
	}
	memcpy(out->name, host, host_len);
	out->name[host_len] = '\0';
	if (!numeric_addr(out->name, port, family, out))
		return 0;
	if (family == AF_INET6) {
		*why = "not an IPv6 address";
		return -EINVAL;
	}
	if (hosts_lookup(out->name, port, out)) {
		*why = "neither an address nor a name in " HOSTS_FILE " (the agent sends no DNS "
		       "queries of its own)";
		return -EINVAL;
	}
	return 0;
}

int ship_read_id(const char *path, char *buf, size_t size)
{
	FILE *f = fopen(path, "re");
	int err = 0;

	if (!f)
		return -errno;
	if (!fgets(buf, size, f))
		buf[0] = '\0';
	buf[strcspn(buf, "\r\n")] = '\0';
	if (!buf[0])
		err = -EINVAL;
	fclose(f);
	return err;
}

/* --- pipeline thread: batches --- */

static void wake(struct ship *s)
{
	uint64_t one = 1;

	/* Non-blocking: a counter already raised wakes the shipper as well. */
	if (write(s->wake_fd, &one, sizeof(one)) < 0 && errno != EAGAIN)
		log_warn("ship: waking the shipper");
}

static void open_batch(struct ship *s)
{
	struct feed_batch_header h = {
		.agent_id = s->agent_id, .host = s->host, .boot_id = s->boot_id,
		.seq = atomic_fetch_add(&s->next_seq, 1),
	};

	feed_batch_begin(&s->body, &h);
	s->open = true;
	s->open_seq = h.seq;
	s->open_ns = clock_ns(CLOCK_MONOTONIC);
	s->n_events = 0;
}

/* Queues the open batch for the shipper, or drops it (counted). */
static void close_batch(struct ship *s)
{
	struct ship_batch b = { .seq = s->open_seq, .events = s->n_events };
	bool queued = false;

	if (!s->open)
		return;
	s->open = false;
	if (!s->body.failed) {
		pthread_mutex_lock(&s->lock);
		if (s->q_len < SHIP_QUEUE_LEN) {
			b.body = s->body;
			s->queue[(s->q_head + s->q_len++) % SHIP_QUEUE_LEN] = b;
			queued = true;
			s->body = s->n_spare ? s->spare[--s->n_spare] : (struct jbuf){ 0 };
		}
		pthread_mutex_unlock(&s->lock);
	}
	if (queued) {
		s->dropping = false;
		wake(s);
		return;
	}
	if (s->body.failed) {
		log_warnx("ship: out of memory for a batch of %u events, lost", b.events);
	} else {
		if (!s->dropping)
			log_warnx("ship: %d batches wait for the spool (a slow disk?): dropping new "
				  "ones, counted in ship_queue_dropped_batches", SHIP_QUEUE_LEN);
		s->dropping = true;
		s->queue_dropped_batches++;
		s->queue_dropped_events += b.events;
	}
	/* The body is written over by the next batch. */
	s->base.events_lost += b.events;
}

static int ship_write(struct sink *sink, const struct event *ev)
{
	struct ship *s = (struct ship *)sink;
	const uint8_t *bytes;
	size_t len;
	int err;

	err = event_pb_encode(s->pb, ev, &bytes, &len);
	if (err) {
		sink->events_lost++;
		return err;
	}
	if (!s->open)
		open_batch(s);
	feed_batch_add(&s->body, bytes, len);
	s->n_events++;
	s->events++;
	if (s->n_events >= s->opts.batch_events || s->body.len >= s->opts.batch_bytes)
		close_batch(s);
	return 0;
}

/* Every pipeline tick: a batch open batch_ms closes, so a quiet agent ships too. */
static int ship_flush(struct sink *sink)
{
	struct ship *s = (struct ship *)sink;

	if (s->open && clock_ns(CLOCK_MONOTONIC) - s->open_ns >= s->batch_ns)
		close_batch(s);
	return 0;
}

/* --- shipper thread: I/O with deadlines --- */

static uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static int ms_until(uint64_t deadline)
{
	uint64_t now = now_ns();

	return deadline > now ? (int)((deadline - now + MS - 1) / MS) : 0;
}

/* Waits until fd is ready for events or deadline: 0 or -ETIMEDOUT. */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = events };
	int n;

	do {
		n = poll(&p, 1, ms_until(deadline));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return n ? 0 : -ETIMEDOUT;
}

/* What an SSL call that returned r wants: the poll events to wait for, or 0 after a real
 * error (logged with OpenSSL's reason). SSL_get_error reads this thread's error queue, so
 * every SSL call here starts with ERR_clear_error(): a failed connection's leftovers must
 * not turn the next one's WANT_READ into an error (as in collector/server.c). */
static short ssl_wants(struct ship *s, int r, const char *what)
{
	char why[256];
	int e = SSL_get_error(s->conn.ssl, r);

	if (e == SSL_ERROR_WANT_READ)
		return POLLIN;
	if (e == SSL_ERROR_WANT_WRITE)
		return POLLOUT;
	if (e == SSL_ERROR_ZERO_RETURN || (e == SSL_ERROR_SYSCALL && !ERR_peek_error()))
		log_warnx("ship: %s: %s: connection closed by the collector",
			  s->collectors[s->conn.idx].spec, what);
	else
		log_warnx("ship: %s: %s: %s", s->collectors[s->conn.idx].spec, what,
			  tls_error_string(why, sizeof(why)));
	return 0;
}

static int conn_write_all(struct ship *s, const void *buf, size_t len, uint64_t deadline)
{
	struct conn *c = &s->conn;
	const char *p = buf;
	int err;

	while (len) {
		short want = POLLOUT;
		ssize_t n;

		if (c->ssl) {
			ERR_clear_error();
			n = SSL_write(c->ssl, p, len > INT32_MAX ? INT32_MAX : (int)len);
			if (n <= 0 && !(want = ssl_wants(s, n, "sending")))
				return -EIO;
		} else {
			n = send(c->fd, p, len, MSG_NOSIGNAL);
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				err = -errno;
				log_warn("ship: %s: sending", s->collectors[c->idx].spec);
				return err;
			}
		}
		if (n > 0) {
			p += n;
			len -= n;
			atomic_fetch_add(&s->c.bytes_sent, n);
			continue;
		}
		err = wait_fd(c->fd, want, deadline);
		if (err) {
			log_warnx("ship: %s: sending: %s", s->collectors[c->idx].spec,
				  err == -ETIMEDOUT ? "timed out" : strerror(-err));
			return err;
		}
	}
	return 0;
}

/* Reads what is there: >0 bytes, -EAGAIN when nothing is, -EPIPE at the end of the stream, or
 * another negative errno (logged). The caller polls for input: TLS 1.3 reads want to write
 * only for a key update, whose few bytes a socket buffer takes. */
static ssize_t conn_read(struct ship *s, void *buf, size_t size)
{
	struct conn *c = &s->conn;
	ssize_t n;

	if (c->ssl) {
		ERR_clear_error();
		n = SSL_read(c->ssl, buf, (int)size);
		if (n > 0)
			return n;
		return ssl_wants(s, n, "reading") ? -EAGAIN : -EPIPE;
	}
	n = recv(c->fd, buf, size, 0);
	if (n > 0)
		return n;
	if (n == 0) {
		log_warnx("ship: %s: connection closed by the collector",
			  s->collectors[c->idx].spec);
		return -EPIPE;
	}
	if (errno == EAGAIN || errno == EINTR)
		return -EAGAIN;
	n = -errno;
	log_warn("ship: %s: reading", s->collectors[c->idx].spec);
	return n;
}

/* --- shipper thread: the conversation --- */

static void conn_close(struct ship *s)
{
	struct conn *c = &s->conn;

	SSL_free(c->ssl);
	if (c->fd >= 0)
		close(c->fd);
	frame_decoder_free(c->dec);
	*c = (struct conn){ .fd = -1, .idx = -1 };
	atomic_store(&s->c.collector, -1);
}

/* An ack: every batch up to seq is stored. */
static int on_ack(struct ship *s, uint64_t seq)
{
	struct conn *c = &s->conn;
	int k = 0, err;

	if (seq > c->sent_upto) {
		log_warnx("ship: %s: acks seq %" PRIu64 ", above the %" PRIu64 " sent: closing",
			  s->collectors[c->idx].spec, seq, c->sent_upto);
		return -EPROTO;
	}
	if (seq <= c->acked)
		return 0;
	while (k < c->n_inflight && c->inflight[k] <= seq)
		k++;
	memmove(c->inflight, c->inflight + k, (c->n_inflight - k) * sizeof(c->inflight[0]));
	c->n_inflight -= k;
	c->acked = seq;
	c->progress_ns = now_ns();
	atomic_fetch_add(&s->c.batches_acked, k);
	err = spool_ack(s->spool, seq);
	if (err)
		log_warnx("ship: spool: forgetting batches up to %" PRIu64 ": %s", seq,
			  strerror(-err));
	return 0;
}

/* Reads and handles every frame the collector sent. With hello_seq (the hello's wait) stops
 * at the first frame, which must be an ack, and returns its seq there. 0, -EAGAIN when no
 * complete frame came yet, or an error that ends the connection. */
static int read_frames(struct ship *s, uint64_t *hello_seq)
{
	struct conn *c = &s->conn;
	uint8_t buf[4096];

	for (;;) {
		ssize_t n = conn_read(s, buf, sizeof(buf));
		const uint8_t *p = buf;
		size_t left;

		if (n == -EAGAIN)
			return -EAGAIN;
		if (n < 0)
			return (int)n;
		left = n;
		while (left) {
			struct frame f;
			uint64_t seq;
			int r = frame_decode(c->dec, &p, &left, &f);

			if (r < 0) {
				log_warnx("ship: %s: not a dnsvigil collector's reply (%s)",
					  s->collectors[c->idx].spec, frame_decoder_error(c->dec));
				return r;
			}
			if (!r)
				break;
			if (f.type != FRAME_ACK || feed_ack_decode(f.payload, f.len, &seq)) {
				log_warnx("ship: %s: expected an ack, got frame type %d",
					  s->collectors[c->idx].spec, f.type);
				return -EPROTO;
			}
			if (hello_seq) {
				/* An ack in the same read as the hello's is impossible: none
				 * was asked for yet. */
				*hello_seq = seq;
				return 0;
			}
			r = on_ack(s, seq);
			if (r)
				return r;
		}
	}
}

static void raise_next_seq(struct ship *s, uint64_t above)
{
	uint64_t cur = atomic_load(&s->next_seq);

	while (cur <= above && !atomic_compare_exchange_weak(&s->next_seq, &cur, above + 1))
		;
}

/* The hello's ack: the collector holds every batch up to seq. */
static void on_hello_ack(struct ship *s, uint64_t seq)
{
	struct conn *c = &s->conn;
	uint64_t made = atomic_load(&s->next_seq) - 1, spooled = spool_next_seq(s->spool) - 1;
	int err = 0;

	if (seq > made) {
		/* Its batches up to seq would be taken for duplicates of ours: new ones go on
		 * above it; what the spool holds is what the collector dedups. */
		log_warnx("ship: %s HOLDS SEQ %" PRIu64 " OF AGENT ID %s, BUT THIS AGENT HAS MADE "
			  "ONLY UP TO %" PRIu64 ": the spool (%s) was reset or another agent uses "
			  "the same --agent-id; batches continue at %" PRIu64 ", those below are "
			  "taken for duplicates",
			  s->collectors[c->idx].spec, seq, s->agent_id, made, s->opts.spool_dir,
			  seq + 1);
		atomic_fetch_add(&s->c.seq_conflicts, 1);
		raise_next_seq(s, seq);
	}
	if (seq && spooled)
		err = spool_ack(s->spool, seq < spooled ? seq : spooled);
	if (err)
		log_warnx("ship: spool: forgetting batches up to %" PRIu64 ": %s", seq,
			  strerror(-err));
	c->sent_upto = c->acked = seq;
}

static int tcp_connect(struct ship *s, const struct ship_collector *col, uint64_t deadline)
{
	struct conn *c = &s->conn;
	int one = 1, err = 0;
	socklen_t len = sizeof(err);

	c->fd = socket(col->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -errno;
	/* Hellos and the last batch of a burst go out at once. */
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!connect(c->fd, (const struct sockaddr *)&col->addr, col->addr_len))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	err = wait_fd(c->fd, POLLOUT, deadline);
	if (err)
		return err;
	if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &err, &len))
		return -errno;
	return -err;
}

static int tls_handshake(struct ship *s, const struct ship_collector *col, uint64_t deadline)
{
	struct conn *c = &s->conn;
	char why[256];
	int r, err;

	c->ssl = SSL_new(s->ctx);
	if (!c->ssl || !SSL_set_fd(c->ssl, c->fd) || tls_expect_peer(c->ssl, col->name)) {
		log_warnx("ship: %s: setting up TLS: %s", col->spec,
			  tls_error_string(why, sizeof(why)));
		return -ENOMEM;
	}
	for (;;) {
		short want;
		long v;

		ERR_clear_error();
		r = SSL_connect(c->ssl);
		if (r == 1)
			return 0;
		v = SSL_get_verify_result(c->ssl);

		if (v != X509_V_OK) {
			log_warnx("ship: %s: the collector's certificate is refused: %s", col->spec,
				  X509_verify_cert_error_string(v));
			ERR_clear_error();
			return -EACCES;
		}
		want = ssl_wants(s, r, "TLS handshake");
		if (!want)
			return -EPROTO;
		err = wait_fd(c->fd, want, deadline);
		if (err) {
			log_warnx("ship: %s: TLS handshake: timed out", col->spec);
			return err;
		}
	}
}

/* Connect, TLS, hello and its ack, all before deadline. 0: the session is up. */
static int session_open(struct ship *s, int idx, uint64_t deadline)
{
	const struct ship_collector *col = &s->collectors[idx];
	struct conn *c = &s->conn;
	struct feed_hello hello = { .protocol_version = FEED_PROTOCOL_VERSION };
	uint64_t seq;
	int err;

	*c = (struct conn){ .fd = -1, .idx = idx };
	snprintf(hello.agent_id, sizeof(hello.agent_id), "%s", s->agent_id);
	snprintf(hello.host, sizeof(hello.host), "%s", s->host);
	snprintf(hello.boot_id, sizeof(hello.boot_id), "%s", s->boot_id);
	snprintf(hello.agent_version, sizeof(hello.agent_version), "%s", DNSVIGIL_VERSION);
	c->dec = frame_decoder_new(NULL);
	if (!c->dec)
		return -ENOMEM;
	err = tcp_connect(s, col, deadline);
	if (err) {
		log_warnx("ship: %s: connecting: %s", col->spec,
			  err == -ETIMEDOUT ? "timed out" : strerror(-err));
		goto cleanup;
	}
	if (!s->opts.insecure_plaintext) {
		err = tls_handshake(s, col, deadline);
		if (err)
			goto cleanup;
	}
	jbuf_reset(&s->out);
	err = feed_hello_frame(&s->out, &hello);
	if (!err)
		err = conn_write_all(s, s->out.p, s->out.len, deadline);
	while (!err && (err = read_frames(s, &seq)) == -EAGAIN) {
		err = wait_fd(c->fd, POLLIN, deadline);
		if (err)
			log_warnx("ship: %s: no reply to the hello", col->spec);
	}
	if (err && s->opts.insecure_plaintext)
		/* A TLS collector resets or answers with an alert. */
		log_warnx("ship: %s: the hello got no ack: does the collector expect TLS? this "
			  "agent runs --insecure-plaintext", col->spec);
	if (err)
		goto cleanup;
	on_hello_ack(s, seq);
	atomic_fetch_add(&s->c.connects, 1);
	atomic_store(&s->c.collector, idx);
	log_info("ship: connected to %s%s, it holds up to seq %" PRIu64 ", %zu batches to send",
		 col->spec, s->opts.insecure_plaintext ? " (plaintext)" : "", seq,
		 spool_count(s->spool));
	return 0;
cleanup:
	conn_close(s);
	atomic_fetch_add(&s->c.connect_failures, 1);
	return err;
}

/* Sends spooled batches while the window has room. */
static int send_batches(struct ship *s)
{
	struct conn *c = &s->conn;

	while (c->n_inflight < FEED_WINDOW) {
		uint64_t seq;
		int r = spool_next_unacked(s->spool, c->sent_upto, &seq, &s->out);

		if (r <= 0) {
			if (r < 0)
				log_warnx("ship: spool: reading a batch: %s", strerror(-r));
			return 0;
		}
		r = conn_write_all(s, s->out.p, s->out.len,
				   now_ns() + s->opts.ack_timeout_ms * MS);
		if (r)
			return r;
		if (!c->n_inflight)
			c->progress_ns = now_ns();
		c->inflight[c->n_inflight++] = seq;
		c->sent_upto = seq;
		atomic_fetch_add(&s->c.batches_sent, 1);
	}
	return 0;
}

/* Spools every queued batch. Returns whether the agent is stopping (then the queue stays
 * empty: the last batch was queued before). */
static bool spool_queued(struct ship *s)
{
	struct ship_batch got[SHIP_QUEUE_LEN];
	size_t n = 0;
	bool stopping;

	pthread_mutex_lock(&s->lock);
	while (s->q_len) {
		got[n++] = s->queue[s->q_head];
		s->q_head = (s->q_head + 1) % SHIP_QUEUE_LEN;
		s->q_len--;
	}
	stopping = s->stopping;
	pthread_mutex_unlock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		const struct jbuf *b = &got[i].body;
		int err;

		/* Compressing here, not on the pipeline thread: zlib costs 2-3 times the
		 * encoding (bench_ship). */
		jbuf_reset(&s->frame);
		err = frame_encode(&s->frame, FRAME_BATCH, FRAME_F_ZLIB, b->p, b->len) ?:
		      spool_append(s->spool, got[i].seq, s->frame.p, s->frame.len);
		if (err) {
			log_warnx("ship: spool: storing batch %" PRIu64 " (%u events): %s, lost",
				  got[i].seq, got[i].events, strerror(-err));
			atomic_fetch_add(&s->c.spool_errors, 1);
		}
	}
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < n; i++) {
		if (s->n_spare < SHIP_SPARE_BODIES)
			s->spare[s->n_spare++] = got[i].body;
		else
			jbuf_free(&got[i].body);
	}
	pthread_mutex_unlock(&s->lock);
	return stopping;
}

static void publish_spool_stats(struct ship *s)
{
	for (size_t i = 0; i < N_SPOOL_STATS; i++) {
		const struct stats_entry *e = stats_find(&s->spool_stats, spool_stat_names[i]);

		atomic_store_explicit(&s->c.spool[i], *(const uint64_t *)e->value,
				      memory_order_relaxed);
	}
}

/* A delay of about d: uniformly in [d/2, d], so that agents cut off together do not all
 * come back at the same moment. */
static uint64_t jitter(struct ship *s, uint64_t d)
{
	return d / 2 + (uint64_t)rand_r(&s->seed) % (d / 2 + 1);
}

static void drain_wakeups(struct ship *s)
{
	uint64_t v;

	if (read(s->wake_fd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		log_warn("ship: reading the wakeup counter");
}

static void *shipper(void *arg)
{
	struct ship *s = arg;
	uint64_t backoff = s->opts.backoff_min_ms * MS, retry_at = 0, stop_at = 0;
	int next = 0;

	for (;;) {
		struct pollfd p[2] = { { .fd = s->wake_fd, .events = POLLIN },
				       { .fd = s->conn.fd, .events = POLLIN } };
		uint64_t now, wait_until;
		int err = 0;

		if (spool_queued(s) && !stop_at) {
			stop_at = now_ns() + s->opts.drain_ms * MS;
			retry_at = 0; /* one more try, whatever the backoff */
		}
		publish_spool_stats(s);
		now = now_ns();
		/* Done, out of time, or no connection to be tried in the time left. */
		if (stop_at && (!spool_count(s->spool) || now >= stop_at ||
				(s->conn.fd < 0 && retry_at >= stop_at)))
			break;
		if (s->conn.fd < 0 && now >= retry_at) {
			uint64_t deadline = now + s->opts.connect_timeout_ms * MS;

			if (stop_at && stop_at < deadline)
				deadline = stop_at;
			if (!session_open(s, next, deadline)) {
				backoff = s->opts.backoff_min_ms * MS;
				next = 0;
			} else if (++next < s->opts.n_collectors) {
				continue; /* the next one right away */
			} else {
				next = 0;
				retry_at = now_ns() + jitter(s, backoff);
				backoff = backoff * 2 > s->opts.backoff_max_ms * MS
						  ? s->opts.backoff_max_ms * MS : backoff * 2;
			}
		}
		if (s->conn.fd >= 0)
			err = send_batches(s);
		wait_until = s->conn.fd >= 0 ? now_ns() + 1000 * MS : retry_at;
		if (s->conn.n_inflight)
			wait_until = s->conn.progress_ns + s->opts.ack_timeout_ms * MS;
		if (stop_at && stop_at < wait_until)
			wait_until = stop_at;
		p[1].fd = err ? -1 : s->conn.fd;
		if (poll(p, 2, ms_until(wait_until)) < 0 && errno != EINTR)
			log_warn("ship: poll");
		if (p[0].revents)
			drain_wakeups(s);
		if (!err && p[1].revents) {
			err = read_frames(s, NULL);
			if (err == -EAGAIN)
				err = 0;
		}
		if (!err && s->conn.n_inflight &&
		    now_ns() - s->conn.progress_ns >= s->opts.ack_timeout_ms * MS) {
			log_warnx("ship: %s: no ack for %u ms: leaving it",
				  s->collectors[s->conn.idx].spec, s->opts.ack_timeout_ms);
			err = -ETIMEDOUT;
		}
		if (err && s->conn.fd >= 0) {
			conn_close(s);
			/* Back soon, to the first collector: it may be back too. */
			retry_at = now_ns() + jitter(s, backoff);
		}
	}
	if (spool_count(s->spool))
		log_info("ship: stopping with %zu batches unacked in %s, sent at the next start",
			 spool_count(s->spool), s->opts.spool_dir);
	conn_close(s);
	return NULL;
}

/* --- life cycle --- */

static void ship_free_sink(struct sink *sink)
{
	ship_free((struct ship *)sink);
}

static const struct sink_ops ship_ops = {
	.write = ship_write,
	.flush = ship_flush,
	.free = ship_free_sink,
};

static uint32_t or_default(uint32_t v, uint32_t def)
{
	return v ? v : def;
}

static int copy_id(char *dst, const char *src, const char *what)
{
	if (!src || !*src || strlen(src) >= FEED_ID_MAX) {
		log_warnx("ship: %s: expected 1 to %d bytes", what, FEED_ID_MAX - 1);
		return -EINVAL;
	}
	strcpy(dst, src);
	return 0;
}

/* The spool's parent directories (/var/lib/dnsvigil on a fresh host); spool_open makes the
 * last one. */
static int make_parents(const char *dir)
{
	char path[PATH_MAX];

	if (snprintf(path, sizeof(path), "%s", dir) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (char *p = strchr(path + 1, '/'); p; p = strchr(p + 1, '/')) {
		*p = '\0';
		if (mkdir(path, 0755) && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return 0;
}

int ship_new(const struct ship_opts *opts, struct ship **out)
{
	struct ship *s;
	int err;

	if (opts->n_collectors < 1 || opts->n_collectors > SHIP_MAX_COLLECTORS)
		return -EINVAL;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->base.ops = &ship_ops;
	s->opts = *opts;
	s->opts.batch_events = or_default(opts->batch_events, SHIP_DEFAULT_BATCH_EVENTS);
	s->opts.batch_bytes = or_default(opts->batch_bytes, SHIP_DEFAULT_BATCH_BYTES);
	s->opts.batch_ms = or_default(opts->batch_ms, SHIP_DEFAULT_BATCH_MS);
	s->opts.backoff_min_ms = or_default(opts->backoff_min_ms, 100);
	s->opts.backoff_max_ms = or_default(opts->backoff_max_ms, 30000);
	s->opts.connect_timeout_ms = or_default(opts->connect_timeout_ms, 5000);
	s->opts.ack_timeout_ms = or_default(opts->ack_timeout_ms, 10000);
	s->opts.drain_ms = or_default(opts->drain_ms, 2000);
	s->batch_ns = s->opts.batch_ms * MS;
	memcpy(s->collectors, opts->collectors, opts->n_collectors * sizeof(s->collectors[0]));
	s->opts.collectors = s->collectors;
	s->conn = (struct conn){ .fd = -1, .idx = -1 };
	atomic_init(&s->c.collector, -1);
	s->seed = (unsigned int)(now_ns() ^ getpid());
	s->wake_fd = -1;
	pthread_mutex_init(&s->lock, NULL);
	err = copy_id(s->agent_id, opts->agent_id, "agent id");
	if (!err)
		err = copy_id(s->host, opts->host, "host name");
	if (!err)
		err = copy_id(s->boot_id, opts->boot_id, "boot id");
	if (err)
		goto cleanup;
	s->pb = event_pb_new(opts->raw ? EVENT_PB_RAW : 0);
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (!s->pb || s->wake_fd < 0) {
		err = s->pb ? -errno : -ENOMEM;
		goto cleanup;
	}
	if (!opts->insecure_plaintext) {
		err = tls_ctx_new(TLS_CLIENT, &opts->tls, &s->ctx);
		if (err)
			goto cleanup;
	}
	err = make_parents(opts->spool_dir);
	if (!err)
		err = spool_open(opts->spool_dir, opts->spool_max, &s->spool);
	if (err) {
		log_warnx("ship: spool %s: %s", opts->spool_dir, strerror(-err));
		goto cleanup;
	}
	err = spool_declare_stats(s->spool, &s->spool_stats);
	for (size_t i = 0; !err && i < N_SPOOL_STATS; i++)
		if (!stats_find(&s->spool_stats, spool_stat_names[i]))
			err = -ENOENT; /* spool.c renamed a counter: update spool_stat_names */
	if (err)
		goto cleanup;
	publish_spool_stats(s);
	atomic_init(&s->next_seq, spool_next_seq(s->spool));
	err = -pthread_create(&s->thread, NULL, shipper, s);
	if (err)
		goto cleanup;
	s->started = true;
	*out = s;
	return 0;
cleanup:
	ship_free(s);
	return err;
}

struct sink *ship_sink(struct ship *s)
{
	return &s->base;
}

void ship_free(struct ship *s)
{
	if (!s)
		return;
	if (s->started) {
		close_batch(s);
		pthread_mutex_lock(&s->lock);
		s->stopping = true;
		pthread_mutex_unlock(&s->lock);
		wake(s);
		pthread_join(s->thread, NULL);
	}
	/* Only a batch the thread never started for can be left. */
	for (size_t i = 0; i < s->q_len; i++)
		jbuf_free(&s->queue[(s->q_head + i) % SHIP_QUEUE_LEN].body);
	for (size_t i = 0; i < s->n_spare; i++)
		jbuf_free(&s->spare[i]);
	spool_close(s->spool);
	SSL_CTX_free(s->ctx);
	event_pb_free(s->pb);
	jbuf_free(&s->body);
	jbuf_free(&s->frame);
	jbuf_free(&s->out);
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

/* --- stats --- */

static void refresh(void *ctx)
{
	struct ship *s = ctx;
	int idx = atomic_load(&s->c.collector);

	s->shown.batches_sent = atomic_load(&s->c.batches_sent);
	s->shown.batches_acked = atomic_load(&s->c.batches_acked);
	s->shown.bytes_sent = atomic_load(&s->c.bytes_sent);
	s->shown.connects = atomic_load(&s->c.connects);
	s->shown.connect_failures = atomic_load(&s->c.connect_failures);
	s->shown.seq_conflicts = atomic_load(&s->c.seq_conflicts);
	s->shown.spool_errors = atomic_load(&s->c.spool_errors);
	for (size_t i = 0; i < N_SPOOL_STATS; i++)
		s->shown.spool[i] = atomic_load_explicit(&s->c.spool[i], memory_order_relaxed);
	s->shown.collector = idx >= 0 ? s->collectors[idx].spec : NULL;
}

int ship_declare_stats(struct ship *s, struct stats_registry *r)
{
	/* Without --collector every counter is there, zero (and ship_collector null). */
	static const struct ship_shown idle;
	static const uint64_t zero;
	const struct ship_shown *v = s ? &s->shown : &idle;
	const uint64_t *events = s ? &s->events : &zero;
	const uint64_t *qb = s ? &s->queue_dropped_batches : &zero;
	const uint64_t *qe = s ? &s->queue_dropped_events : &zero;
	int err;

	err = stats_string(r, "ship_collector", &v->collector) ?:
	      stats_u64(r, "ship_connects", &v->connects) ?:
	      stats_u64(r, "ship_connect_failures", &v->connect_failures) ?:
	      stats_u64(r, "ship_events", events) ?:
	      stats_u64(r, "ship_batches_sent", &v->batches_sent) ?:
	      stats_u64(r, "ship_batches_acked", &v->batches_acked) ?:
	      stats_u64(r, "ship_bytes_sent", &v->bytes_sent) ?:
	      stats_u64(r, "ship_queue_dropped_batches", qb) ?:
	      stats_u64(r, "ship_queue_dropped_events", qe) ?:
	      stats_u64(r, "ship_spool_errors", &v->spool_errors) ?:
	      stats_u64(r, "ship_seq_conflicts", &v->seq_conflicts);
	for (size_t i = 0; !err && i < N_SPOOL_STATS; i++)
		err = stats_u64(r, spool_stat_names[i], &v->spool[i]);
	if (!err && s)
		err = stats_on_refresh(r, refresh, s);
	return err;
}
