/* The epoll loop and the agents' connections: see server.h. */
#include "server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <openssl/err.h>

#include "array.h"
#include "clock.h"
#include "feed.h"
#include "log.h"
#include "opt.h"
#include "tls.h"

#define READ_CHUNK (256u << 10)
/* epoll's mark for the store's commit-done descriptor */
static char commit_done;
/* Bytes one connection may deliver in one round: a fast agent must not hold the commit (and
 * everyone's acks) back. What it has beyond waits for the next round. */
#define ROUND_BUDGET (256u << 10)
#define MAX_EVENTS 256
/* The identity of a client certificate: subject line and fingerprint. */
#define CERT_ID_MAX 512

enum reject {
	REJ_TLS,
	REJ_FRAME,
	REJ_OVERSIZE,
	REJ_TRUNCATED,
	REJ_HELLO,
	REJ_BATCH,
	REJ_EVENT,
	REJ_SEQUENCE,
	REJ_UNEXPECTED,
	REJ_STORE,
	REJ_IO,
	REJ_SLOW,
	REJ_MAX,
};

static const char *const reject_names[REJ_MAX] = {
	"tls",	 "frame",    "oversize",	 "truncated", "hello", "batch",
	"event", "sequence", "unexpected_frame", "store",     "io",    "slow",
};

enum conn_state { CONN_HANDSHAKE, CONN_HELLO, CONN_BATCHES };

struct conn {
	int fd;
	SSL *ssl;
	enum conn_state state;
	bool dead;      /* closed; freed at the end of the round */
	bool ack_queued; /* in the round's ack list */
	bool more;       /* stopped at its round budget: read on next round */
	uint32_t epoll_mask;
	char peer[64];
	char cert[CERT_ID_MAX]; /* "" in plaintext */
	char agent_id[FEED_ID_MAX];
	uint64_t opened_ns; /* CLOCK_MONOTONIC of the accept */
	uint64_t last_seq; /* the highest seq this connection sent */
	uint64_t ack_due;  /* ack this once the round is committed */
	struct batch_origin origin;
	struct frame_decoder *dec;
	struct jbuf out;
	size_t out_off;
	struct conn *prev, *next;
};

struct server {
	int listen_fd, epoll_fd;
	SSL_CTX *tls;
	struct frame_decoder_opts caps;
	struct store *store;
	struct conn *conns; /* every live connection */
	struct conn **acks; /* connections with an ack due at the next commit */
	size_t n_acks;
	/* the acks the commit in flight makes durable: sent when it is done */
	struct inflight_ack {
		struct conn *c; /* NULL: closed since */
		uint64_t seq;
	} *inflight;
	size_t n_inflight;
	struct conn *dead;  /* closed this round */
	struct conn **more; /* connections with more to read, for the next round */
	size_t n_more;
	uint8_t *rbuf;
	uint64_t accepted, open, refused, hellos, batches_in, events_in, bytes_in, acks_sent;
	uint64_t rejected[REJ_MAX];
};

int server_parse_addr(const char *s, struct sockaddr_storage *ss, socklen_t *len)
{
	char host[64];
	const char *colon, *h = s, *port;
	size_t hlen;
	long p;

	memset(ss, 0, sizeof(*ss));
	if (*s == '[') {
		const char *close = strchr(s, ']');

		if (!close || close[1] != ':')
			return -EINVAL;
		h = s + 1;
		hlen = close - h;
		port = close + 2;
	} else {
		colon = strrchr(s, ':');
		if (!colon)
			return -EINVAL;
		hlen = colon - s;
		port = colon + 1;
	}
	if (hlen >= sizeof(host))
		return -EINVAL;
	memcpy(host, h, hlen);
	host[hlen] = 0;
	if (opt_parse_int(port, &p, 1, 65535))
		return -EINVAL;
	if (*s != '[') {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;

		in->sin_family = AF_INET;
		in->sin_port = htons(p);
		*len = sizeof(*in);
		return inet_pton(AF_INET, host, &in->sin_addr) == 1 ? 0 : -EINVAL;
	}
	struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;

	in6->sin6_family = AF_INET6;
	in6->sin6_port = htons(p);
	*len = sizeof(*in6);
	return inet_pton(AF_INET6, host, &in6->sin6_addr) == 1 ? 0 : -EINVAL;
}

static void format_peer(const struct sockaddr_storage *ss, char *buf, size_t len)
{
	char ip[INET6_ADDRSTRLEN] = "?";

	if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)ss;

		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof(ip));
		snprintf(buf, len, "[%s]:%u", ip, ntohs(in6->sin6_port));
	} else {
		const struct sockaddr_in *in = (const struct sockaddr_in *)ss;

		inet_ntop(AF_INET, &in->sin_addr, ip, sizeof(ip));
		snprintf(buf, len, "%s:%u", ip, ntohs(in->sin_port));
	}
}

static void set_interest(struct server *s, struct conn *c, uint32_t mask)
{
	struct epoll_event ev = { .events = mask, .data.ptr = c };

	if (mask == c->epoll_mask)
		return;
	if (epoll_ctl(s->epoll_fd, EPOLL_CTL_MOD, c->fd, &ev) == 0)
		c->epoll_mask = mask;
}

static void conn_close(struct server *s, struct conn *c)
{
	if (c->dead)
		return;
	c->dead = true;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, c->fd, NULL);
	if (c->ssl && c->state != CONN_HANDSHAKE) {
		ERR_clear_error();
		SSL_shutdown(c->ssl); /* one try: a close_notify if the socket takes it */
		ERR_clear_error();    /* its complaints must not reach another connection */
	}
	close(c->fd);
	if (c->prev)
		c->prev->next = c->next;
	else
		s->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->next = s->dead;
	s->dead = c;
	s->open--;
}

static void conn_reject(struct server *s, struct conn *c, enum reject why, const char *detail)
{
	s->rejected[why]++;
	log_warnx("closing %s (agent %s, cert %s): %s: %s", c->peer,
		  c->agent_id[0] ? c->agent_id : "-", c->cert[0] ? c->cert : "-", reject_names[why],
		  detail);
	conn_close(s, c);
}

static void conn_free(struct conn *c)
{
	SSL_free(c->ssl);
	frame_decoder_free(c->dec);
	jbuf_free(&c->out);
	free(c);
}

/* Writes what waits in c->out. 0, or -EPIPE after closing c. */
static int conn_flush(struct server *s, struct conn *c)
{
	while (c->out_off < c->out.len) {
		size_t n = c->out.len - c->out_off;
		ssize_t w;

		if (c->ssl) {
			int rc;

			/* The error queue is per thread: SSL_get_error reads it, so it must hold
			 * this call's errors only. The same before every SSL call below. */
			ERR_clear_error();
			rc = SSL_write(c->ssl, c->out.p + c->out_off, n);

			if (rc <= 0) {
				int e = SSL_get_error(c->ssl, rc);
				char why[256];

				if (e == SSL_ERROR_WANT_WRITE || e == SSL_ERROR_WANT_READ)
					break;
				conn_reject(s, c, REJ_IO, tls_error_string(why, sizeof(why)));
				return -EPIPE;
			}
			w = rc;
		} else {
			w = write(c->fd, c->out.p + c->out_off, n);
			if (w < 0 && (errno == EAGAIN || errno == EINTR))
				break;
			if (w < 0) {
				conn_reject(s, c, REJ_IO, strerror(errno));
				return -EPIPE;
			}
		}
		c->out_off += w;
	}
	if (c->out_off == c->out.len) {
		jbuf_reset(&c->out);
		c->out_off = 0;
	}
	set_interest(s, c, EPOLLIN | (c->out.len ? EPOLLOUT : 0));
	return 0;
}

static int send_ack(struct server *s, struct conn *c, uint64_t seq)
{
	if (feed_ack_frame(&c->out, seq)) {
		conn_reject(s, c, REJ_IO, "out of memory for an ack");
		return -EPIPE;
	}
	s->acks_sent++;
	return conn_flush(s, c);
}

static void queue_ack(struct server *s, struct conn *c, uint64_t seq)
{
	c->ack_due = seq;
	if (!c->ack_queued) {
		c->ack_queued = true;
		s->acks[s->n_acks++] = c;
	}
}

static void on_hello(struct server *s, struct conn *c, const struct frame *f)
{
	struct feed_hello h;
	uint64_t acked;
	char why[64];

	if (f->type != FRAME_HELLO) {
		conn_reject(s, c, REJ_UNEXPECTED, "the first frame is no Hello");
		return;
	}
	if (feed_hello_decode(f->payload, f->len, &h)) {
		conn_reject(s, c, REJ_HELLO, "undecodable Hello");
		return;
	}
	if (h.protocol_version != FEED_PROTOCOL_VERSION) {
		snprintf(why, sizeof(why), "protocol version %u, this collector speaks %u",
			 h.protocol_version, FEED_PROTOCOL_VERSION);
		conn_reject(s, c, REJ_HELLO, why);
		return;
	}
	if (!h.agent_id[0]) {
		conn_reject(s, c, REJ_HELLO, "empty agent id");
		return;
	}
	memcpy(c->agent_id, h.agent_id, sizeof(c->agent_id));
	if (store_acked(s->store, c->agent_id, &acked)) {
		conn_reject(s, c, REJ_STORE, "too many agents");
		return;
	}
	s->hellos++;
	c->last_seq = 0;
	c->state = CONN_BATCHES;
	c->origin = (struct batch_origin){ c->agent_id, c->ssl ? c->cert : NULL, 0 };
	log_info("agent %s (host %s, %s) connected from %s, cert %s: holding up to seq %llu",
		 c->agent_id, h.host, h.agent_version[0] ? h.agent_version : "?", c->peer,
		 c->cert[0] ? c->cert : "-", (unsigned long long)acked);
	send_ack(s, c, acked);
}

static void on_batch(struct server *s, struct conn *c, const struct frame *f)
{
	struct feed_batch b;
	const char *why;
	int rc;

	if (f->type != FRAME_BATCH) {
		conn_reject(s, c, REJ_UNEXPECTED, "a frame other than a Batch after the Hello");
		return;
	}
	if (feed_batch_parse(f->payload, f->len, &b, &why)) {
		conn_reject(s, c, REJ_BATCH, why);
		return;
	}
	if (strcmp(b.agent_id, c->agent_id)) {
		conn_reject(s, c, REJ_BATCH, "the batch names another agent than the Hello");
		return;
	}
	if (b.seq <= c->last_seq) {
		conn_reject(s, c, REJ_SEQUENCE, "seq going backwards");
		return;
	}
	c->last_seq = b.seq;
	c->origin.seq = b.seq;
	s->batches_in++;
	s->events_in += b.n_events;
	rc = store_batch(s->store, &c->origin, &b, &why);
	if (rc < 0) {
		conn_reject(s, c, rc == -EBADMSG ? REJ_EVENT : REJ_STORE, why);
		return;
	}
	queue_ack(s, c, b.seq);
}

static void feed_bytes(struct server *s, struct conn *c, const uint8_t *p, size_t n)
{
	struct frame f;
	int rc;

	s->bytes_in += n;
	while (!c->dead && (rc = frame_decode(c->dec, &p, &n, &f)) == 1) {
		if (c->state == CONN_HELLO)
			on_hello(s, c, &f);
		else
			on_batch(s, c, &f);
	}
	if (!c->dead && rc < 0)
		conn_reject(s, c, rc == -EMSGSIZE ? REJ_OVERSIZE : REJ_FRAME,
			    frame_decoder_error(c->dec));
}

static void on_eof(struct server *s, struct conn *c)
{
	if (frame_decoder_finish(c->dec)) {
		conn_reject(s, c, REJ_TRUNCATED, "the stream ended inside a frame");
		return;
	}
	log_debug("%s (agent %s) closed the connection", c->peer, c->agent_id);
	conn_close(s, c);
}

static void do_handshake(struct server *s, struct conn *c)
{
	char why[256];
	int rc, e;

	ERR_clear_error();
	rc = SSL_accept(c->ssl);

	if (rc == 1) {
		if (tls_peer_identity(c->ssl, c->cert, sizeof(c->cert)) < 0) {
			conn_reject(s, c, REJ_TLS, "no client certificate");
			return;
		}
		c->state = CONN_HELLO;
		return;
	}
	e = SSL_get_error(c->ssl, rc);
	if (e == SSL_ERROR_WANT_READ) {
		set_interest(s, c, EPOLLIN);
	} else if (e == SSL_ERROR_WANT_WRITE) {
		set_interest(s, c, EPOLLIN | EPOLLOUT);
	} else {
		tls_error_string(why, sizeof(why));
		conn_reject(s, c, REJ_TLS, why[0] ? why : "handshake failed");
	}
}

/* Reads what the socket (and TLS) has, up to the round budget. */
static void conn_read(struct server *s, struct conn *c)
{
	for (ssize_t budget = ROUND_BUDGET; !c->dead;) {
		ssize_t n;

		if (budget <= 0) {
			if (!c->more) {
				c->more = true;
				s->more[s->n_more++] = c;
			}
			return;
		}
		if (c->state == CONN_HANDSHAKE) {
			do_handshake(s, c);
			if (c->state == CONN_HANDSHAKE)
				return;
			continue;
		}
		if (c->ssl) {
			char why[256];
			int rc, e;

			ERR_clear_error();
			rc = SSL_read(c->ssl, s->rbuf, READ_CHUNK);

			if (rc > 0) {
				feed_bytes(s, c, s->rbuf, rc);
				budget -= rc;
				continue;
			}
			e = SSL_get_error(c->ssl, rc);
			if (e == SSL_ERROR_WANT_READ)
				return;
			if (e == SSL_ERROR_WANT_WRITE) {
				set_interest(s, c, EPOLLIN | EPOLLOUT);
				return;
			}
			if (e == SSL_ERROR_ZERO_RETURN) {
				on_eof(s, c);
				return;
			}
			tls_error_string(why, sizeof(why));
			/* A peer that closes without close_notify: an end of stream all the same. */
			if (e == SSL_ERROR_SYSCALL || strstr(why, "unexpected eof"))
				on_eof(s, c);
			else
				conn_reject(s, c, REJ_TLS, why);
			return;
		}
		n = read(c->fd, s->rbuf, READ_CHUNK);
		if (n > 0) {
			feed_bytes(s, c, s->rbuf, n);
			budget -= n;
		} else if (n == 0) {
			on_eof(s, c);
		} else if (errno == EAGAIN) {
			return;
		} else if (errno != EINTR) {
			conn_reject(s, c, REJ_IO, strerror(errno));
		}
	}
}

static void do_accept(struct server *s)
{
	for (;;) {
		struct sockaddr_storage ss;
		socklen_t len = sizeof(ss);
		int fd = accept4(s->listen_fd, (struct sockaddr *)&ss, &len,
				 SOCK_NONBLOCK | SOCK_CLOEXEC);
		struct epoll_event ev = { .events = EPOLLIN };
		struct conn *c;
		int one = 1;

		if (fd < 0) {
			if (errno != EAGAIN && errno != EINTR && errno != ECONNABORTED)
				log_warn("accept");
			return;
		}
		if (s->open >= SERVER_MAX_CONNS || !(c = calloc(1, sizeof(*c)))) {
			s->refused++;
			close(fd);
			continue;
		}
		c->fd = fd;
		c->opened_ns = clock_ns(CLOCK_MONOTONIC);
		format_peer(&ss, c->peer, sizeof(c->peer));
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		c->dec = frame_decoder_new(&s->caps);
		if (s->tls) {
			c->ssl = SSL_new(s->tls);
			if (c->ssl) {
				SSL_set_fd(c->ssl, fd);
				/* Acks are appended while a write waits: the buffer may move. */
				SSL_set_mode(c->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE |
							     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
			}
		}
		c->state = s->tls ? CONN_HANDSHAKE : CONN_HELLO;
		ev.data.ptr = c;
		if (!c->dec || (s->tls && !c->ssl) || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, fd, &ev)) {
			s->refused++;
			close(fd);
			conn_free(c);
			continue;
		}
		c->epoll_mask = EPOLLIN;
		c->next = s->conns;
		if (s->conns)
			s->conns->prev = c;
		s->conns = c;
		s->accepted++;
		s->open++;
		log_debug("connection from %s", c->peer);
	}
}

int server_new(const struct server_opts *opts, struct store *store, struct server **out)
{
	struct server *s = calloc(1, sizeof(*s));
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = NULL };
	char addr[64];
	int one = 1, err;

	if (!s)
		return -ENOMEM;
	s->listen_fd = s->epoll_fd = -1;
	s->tls = opts->tls;
	s->caps = opts->caps;
	s->store = store;
	format_peer(&opts->addr, addr, sizeof(addr));
	s->rbuf = malloc(READ_CHUNK);
	s->acks = calloc(SERVER_MAX_CONNS, sizeof(*s->acks));
	s->inflight = calloc(SERVER_MAX_CONNS, sizeof(*s->inflight));
	s->more = calloc(SERVER_MAX_CONNS, sizeof(*s->more));
	s->epoll_fd = epoll_create1(EPOLL_CLOEXEC);
	s->listen_fd = socket(opts->addr.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (!s->rbuf || !s->acks || !s->inflight || !s->more) {
		err = -ENOMEM;
		goto fail;
	}
	if (s->epoll_fd < 0 || s->listen_fd < 0 ||
	    setsockopt(s->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(s->listen_fd, (const struct sockaddr *)&opts->addr, opts->addr_len) ||
	    listen(s->listen_fd, 512) || epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, s->listen_fd, &ev) ||
	    epoll_ctl(s->epoll_fd, EPOLL_CTL_ADD, store_event_fd(store),
		      &(struct epoll_event){ .events = EPOLLIN, .data.ptr = &commit_done })) {
		err = -errno;
		log_warn("listening on %s", addr);
		goto fail;
	}
	log_info("listening on %s (%s)", addr, s->tls ? "TLS 1.3, client certificates" : "PLAINTEXT");
	*out = s;
	return 0;
fail:
	server_free(s);
	return err;
}

void server_stop_listening(struct server *s)
{
	if (s->listen_fd < 0)
		return;
	epoll_ctl(s->epoll_fd, EPOLL_CTL_DEL, s->listen_fd, NULL);
	close(s->listen_fd);
	s->listen_fd = -1;
}

static void free_dead(struct server *s)
{
	while (s->dead) {
		struct conn *c = s->dead;

		s->dead = c->next;
		conn_free(c);
	}
}

/* Frees the closed connections, after dropping them from the next round's list and from
 * the acks in flight. */
static void reap(struct server *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].c && s->inflight[i].c->dead)
			s->inflight[i].c = NULL;
	for (size_t i = 0; i < s->n_more; i++)
		if (!s->more[i]->dead)
			s->more[n++] = s->more[i];
	s->n_more = n;
	free_dead(s);
}

void server_free(struct server *s)
{
	if (!s)
		return;
	while (s->conns)
		conn_close(s, s->conns);
	free_dead(s);
	server_stop_listening(s);
	if (s->epoll_fd >= 0)
		close(s->epoll_fd);
	free(s->rbuf);
	free(s->acks);
	free(s->inflight);
	free(s->more);
	free(s);
}

/* The connections whose batches a failed commit dropped: they send them again. */
static void reject_unacked(struct server *s)
{
	for (size_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].c && !s->inflight[i].c->dead)
			conn_reject(s, s->inflight[i].c, REJ_STORE, "the commit failed: send again");
	s->n_inflight = 0;
	for (size_t i = 0; i < s->n_acks; i++) {
		s->acks[i]->ack_queued = false;
		if (!s->acks[i]->dead)
			conn_reject(s, s->acks[i], REJ_STORE, "the commit failed: send again");
	}
	s->n_acks = 0;
}

/* When the commit in flight is done (wait: once it is), its acks go out. */
static void finish_commit(struct server *s, bool wait)
{
	int rc = store_commit_done(s->store, wait);

	if (rc == 1)
		return;
	if (rc < 0) {
		reject_unacked(s);
		return;
	}
	for (size_t i = 0; i < s->n_inflight; i++)
		if (s->inflight[i].c && !s->inflight[i].c->dead)
			send_ack(s, s->inflight[i].c, s->inflight[i].seq);
	s->n_inflight = 0;
}

/* With no commit in flight, the batches stored since the last one start theirs, and the
 * acks due for them wait for it. */
static void start_commit(struct server *s)
{
	if (store_busy(s->store) || !s->n_acks)
		return;
	if (store_commit_start(s->store)) {
		reject_unacked(s);
		return;
	}
	for (size_t i = 0; i < s->n_acks; i++) {
		struct conn *c = s->acks[i];

		c->ack_queued = false;
		s->inflight[s->n_inflight++] = (struct inflight_ack){ c->dead ? NULL : c, c->ack_due };
	}
	s->n_acks = 0;
	/* a commit that needed no thread (nothing written, duplicates only) is done already */
	if (!store_busy(s->store))
		finish_commit(s, false);
}

int server_round(struct server *s, int timeout_ms)
{
	struct epoll_event evs[MAX_EVENTS];
	size_t n_more = s->n_more;
	int n;

	/* Connections left with more to read go first, and nobody waits for them. */
	n = epoll_wait(s->epoll_fd, evs, MAX_EVENTS, n_more ? 0 : timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	s->n_more = 0;
	for (size_t i = 0; i < n_more; i++) {
		struct conn *c = s->more[i];

		c->more = false;
		if (!c->dead)
			conn_read(s, c);
	}
	for (int i = 0; i < n; i++) {
		struct conn *c = evs[i].data.ptr;

		if (evs[i].data.ptr == &commit_done)
			continue; /* finish_commit reads it */
		if (!c) {
			do_accept(s);
			continue;
		}
		if (c->dead)
			continue;
		if (evs[i].events & EPOLLOUT && c->state != CONN_HANDSHAKE && conn_flush(s, c))
			continue;
		if (evs[i].events & (EPOLLIN | EPOLLHUP | EPOLLERR | EPOLLOUT))
			conn_read(s, c);
	}
	finish_commit(s, false);
	start_commit(s);
	reap(s);
	return 0;
}

int server_drain(struct server *s)
{
	while (store_busy(s->store) || s->n_acks) {
		finish_commit(s, true);
		start_commit(s);
	}
	reap(s);
	return 0;
}

void server_sweep(struct server *s, uint64_t now_ns)
{
	for (struct conn *c = s->conns, *next; c; c = next) {
		next = c->next;
		if (c->state != CONN_BATCHES && now_ns - c->opened_ns >= SERVER_HELLO_TIMEOUT_NS)
			conn_reject(s, c, REJ_SLOW, "no Hello within the time allowed");
	}
	reap(s);
}

int server_declare_stats(struct server *s, struct stats_registry *r)
{
	int err = stats_u64(r, "conns_accepted", &s->accepted);

	err = err ?: stats_u64(r, "conns_open", &s->open);
	err = err ?: stats_u64(r, "conns_refused", &s->refused);
	err = err ?: stats_u64(r, "hellos", &s->hellos);
	err = err ?: stats_u64(r, "batches_in", &s->batches_in);
	err = err ?: stats_u64(r, "events_in", &s->events_in);
	err = err ?: stats_u64(r, "bytes_in", &s->bytes_in);
	err = err ?: stats_u64(r, "acks_sent", &s->acks_sent);
	err = err ?: stats_u64_named(r, "rejected", s->rejected, reject_names, REJ_MAX);
	return err;
}
