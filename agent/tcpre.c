#include "tcpre.h"

#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>
#include <sys/queue.h>

#include "dnsvigil.h"
#include "table.h"

#define NSEC_PER_SEC 1000000000ULL

/* A segment past a hole, waiting for the bytes before it. */
struct held_seg {
	struct held_seg *next; /* ascending seq */
	uint32_t seq;
	uint32_t len;
	bool fin;
	uint64_t ts_ns;
	uint8_t data[];
};

/* The tables' key: a tcpre_key without the padding that callers need not zero. */
struct stream_key {
	uint64_t cookie;
	uint64_t direction;
};

/* An open stream, in t->open: the table orders streams by their last segment (the least
 * recently used first) and stamps them with its time. */
struct stream {
	struct stream_key key;
	TAILQ_ENTRY(stream) hole; /* t->holes, while in_holes */
	bool closed;   /* by FIN or RST just now: stream_retire() moves it to t->closed */
	bool in_holes;
	uint32_t next_seq; /* the next byte in sequence order */
	uint64_t hole_ns;  /* held data has waited since then for in-order progress */
	struct held_seg *held;
	size_t held_bytes;
	/* Framing of the message the byte at next_seq belongs to */
	uint8_t hdr[2];   /* its length prefix */
	uint8_t hdr_len;  /* bytes of it seen; 0 between messages */
	uint16_t have;    /* bytes gathered in body */
	uint16_t skip;    /* bytes left of a message dropped for lack of room */
	uint8_t *body;    /* a message spanning segments, gathered */
	uint8_t meta[];   /* lim.meta_size bytes */
};

struct tcpre {
	struct tcpre_limits lim;
	struct tcpre_stats stats;
	struct table *open;   /* streams, forgotten after idle_timeout_ns */
	/* Keys of streams ended by FIN or RST, remembered for hole_timeout_ns to ignore their
	 * retransmissions. A table of their own: they never take an open stream's room. */
	struct table *closed;
	TAILQ_HEAD(, stream) holes;
};

static bool seq_after(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) > 0;
}

static uint64_t elapsed(uint64_t now_ns, uint64_t since_ns)
{
	return now_ns > since_ns ? now_ns - since_ns : 0;
}

static uint16_t be16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

static bool charge(struct tcpre *t, size_t n)
{
	if (t->stats.buffered_bytes + n > t->lim.max_buffered)
		return false;
	t->stats.buffered_bytes += n;
	return true;
}

static void uncharge(struct tcpre *t, size_t n)
{
	t->stats.buffered_bytes -= n;
}

static const void *stream_meta(const struct tcpre *t, const struct stream *s)
{
	return t->lim.meta_size ? s->meta : NULL;
}

static bool in_message(const struct stream *s)
{
	return s->hdr_len || s->held;
}

static void hole_unlink(struct tcpre *t, struct stream *s)
{
	if (!s->in_holes)
		return;
	TAILQ_REMOVE(&t->holes, s, hole);
	s->in_holes = false;
}

/* (Re)starts the hole timer of a stream that holds data; t->holes stays in hole_ns order. */
static void hole_requeue(struct tcpre *t, struct stream *s, uint64_t now_ns)
{
	hole_unlink(t, s);
	if (!s->held)
		return;
	s->hole_ns = now_ns;
	TAILQ_INSERT_TAIL(&t->holes, s, hole);
	s->in_holes = true;
}

/* Forgets the message in progress: the next byte in order starts a new one. */
static void framing_reset(struct tcpre *t, struct stream *s)
{
	if (s->body) {
		uncharge(t, be16(s->hdr));
		free(s->body);
		s->body = NULL;
	}
	s->hdr_len = 0;
	s->have = 0;
	s->skip = 0;
}

/* Frees whatever the stream buffers. */
static void stream_clear(struct tcpre *t, struct stream *s)
{
	struct held_seg *h;

	while ((h = s->held)) {
		s->held = h->next;
		free(h);
	}
	uncharge(t, s->held_bytes);
	s->held_bytes = 0;
	hole_unlink(t, s);
	framing_reset(t, s);
}

/* Ends a stream on FIN or RST; stream_retire() takes it out of the open streams once the
 * segment is done with. */
static void stream_close(struct tcpre *t, struct stream *s)
{
	if (in_message(s))
		t->stats.incomplete_at_close++;
	stream_clear(t, s);
	s->closed = true;
}

/* A closed stream stays known, without its buffers, for a while, so that retransmissions of
 * its last segments are not taken for a new stream. The oldest closed one makes room. */
static void stream_retire(struct tcpre *t, struct stream *s)
{
	table_insert(t->closed, table_hash(t->closed, &s->key, sizeof(s->key)), &s->key,
		     table_stamp(t->open, s));
	table_remove(t->open, s);
	t->stats.streams--;
}

/* An open stream leaves the table (evicted or idle): its buffers go. */
static void stream_forget(struct tcpre *t, struct stream *s)
{
	stream_clear(t, s);
	t->stats.streams--;
}

static void evict_stream(void *ctx, void *s)
{
	struct tcpre *t = ctx;

	t->stats.evicted_streams++;
	stream_forget(t, s);
}

static void expire_stream(void *ctx, void *s)
{
	struct tcpre *t = ctx;

	if (in_message(s))
		t->stats.incomplete_at_close++;
	t->stats.expired_streams++;
	stream_forget(t, s);
}

/* A new open stream; when all are in use the least recently used is evicted. */
static struct stream *stream_new(struct tcpre *t, const struct stream_key *key, uint64_t hash,
				 uint32_t next_seq, uint64_t now_ns)
{
	struct stream *s = table_insert(t->open, hash, key, now_ns);

	memset((uint8_t *)s + sizeof(*key), 0, sizeof(*s) - sizeof(*key) + t->lim.meta_size);
	s->next_seq = next_seq;
	t->stats.streams++;
	return s;
}

static void deliver(struct tcpre *t, const struct stream *s, const uint8_t *data, size_t len,
		    uint64_t ts_ns, tcpre_msg_fn fn, void *ctx)
{
	struct tcpre_msg msg = {
		.key = { .cookie = s->key.cookie, .direction = s->key.direction },
		.data = data,
		.len = len,
		.ts_ns = ts_ns,
		.meta = stream_meta(t, s),
	};

	t->stats.messages++;
	fn(ctx, &msg);
}

/* The length prefix is complete: make room to gather the message, or skip it. */
static void body_begin(struct tcpre *t, struct stream *s)
{
	uint16_t want = be16(s->hdr);

	if (!want) { /* nothing to deliver */
		s->hdr_len = 0;
		return;
	}
	if (charge(t, want)) {
		s->body = malloc(want);
		if (s->body)
			return;
		uncharge(t, want);
	}
	t->stats.dropped_messages++;
	s->hdr_len = 0;
	s->skip = want;
}

/* Cuts in-order bytes into messages. */
static void feed(struct tcpre *t, struct stream *s, const uint8_t *p, size_t len, uint64_t ts_ns,
		 tcpre_msg_fn fn, void *ctx)
{
	while (len) {
		size_t n;

		if (s->skip) {
			n = MIN(len, s->skip);
			s->skip -= n;
		} else if (s->hdr_len == 0 && len >= 2 && len - 2 >= be16(p)) {
			/* whole in this piece: handed over in place */
			n = 2 + be16(p);
			if (n > 2)
				deliver(t, s, p + 2, n - 2, ts_ns, fn, ctx);
		} else if (s->hdr_len < 2) {
			n = 1;
			s->hdr[s->hdr_len++] = *p;
			if (s->hdr_len == 2)
				body_begin(t, s);
		} else {
			uint16_t want = be16(s->hdr);

			n = MIN(len, (size_t)(want - s->have));
			memcpy(s->body + s->have, p, n);
			s->have += n;
			if (s->have == want) {
				deliver(t, s, s->body, want, ts_ns, fn, ctx);
				framing_reset(t, s);
			}
		}
		p += n;
		len -= n;
	}
}

/* Takes a segment that starts at or before next_seq and feeds the bytes not seen yet.
 * Returns true when its FIN ended the stream. */
static bool consume(struct tcpre *t, struct stream *s, uint32_t seq, const uint8_t *data,
		    uint32_t len, bool fin, uint64_t ts_ns, tcpre_msg_fn fn, void *ctx)
{
	uint32_t seen = s->next_seq - seq;

	if (seen >= len) {
		t->stats.duplicate_bytes += len;
	} else {
		t->stats.duplicate_bytes += seen;
		feed(t, s, data + seen, len - seen, ts_ns, fn, ctx);
		s->next_seq = seq + len;
	}
	if (!fin || s->next_seq != seq + len)
		return false;
	stream_close(t, s);
	return true;
}

/* Consumes the held segments the sequence has reached. ts_ns NULL stamps each message with
 * the capture time of the segment that completed it. */
static void drain(struct tcpre *t, struct stream *s, const uint64_t *ts_ns, tcpre_msg_fn fn,
		  void *ctx)
{
	struct held_seg *h;
	bool closed = false;

	while (!closed && (h = s->held) && !seq_after(h->seq, s->next_seq)) {
		s->held = h->next;
		s->held_bytes -= h->len;
		uncharge(t, h->len);
		closed = consume(t, s, h->seq, h->data, h->len, h->fin,
				 ts_ns ? *ts_ns : h->ts_ns, fn, ctx);
		free(h);
	}
}

/* Gives up the bytes missing before the first held segment and resumes there, taking it
 * for a message boundary. */
static void gap(struct tcpre *t, struct stream *s, uint64_t now_ns, tcpre_msg_fn fn, void *ctx)
{
	t->stats.gaps++;
	framing_reset(t, s);
	s->next_seq = s->held->seq;
	drain(t, s, NULL, fn, ctx);
	if (!s->closed)
		hole_requeue(t, s, now_ns);
}

/* Keeps a segment that lies past a hole, in seq order. False when there is no room. */
static bool hold(struct tcpre *t, struct stream *s, uint32_t seq, const uint8_t *data,
		 uint32_t len, bool fin, uint64_t now_ns)
{
	struct held_seg **pp, *h;

	for (pp = &s->held; (h = *pp) && !seq_after(h->seq, seq); pp = &h->next) {
		if (!fin && !seq_after(seq + len, h->seq + h->len)) {
			t->stats.duplicate_bytes += len;
			return true;
		}
	}
	if (s->held_bytes + len > t->lim.max_held_per_stream || !charge(t, len))
		return false;
	h = malloc(sizeof(*h) + len);
	if (!h) {
		uncharge(t, len);
		return false;
	}
	h->seq = seq;
	h->len = len;
	h->fin = fin;
	h->ts_ns = now_ns;
	memcpy(h->data, data, len);
	h->next = *pp;
	*pp = h;
	s->held_bytes += len;
	if (!s->in_holes)
		hole_requeue(t, s, now_ns);
	return true;
}

static void place(struct tcpre *t, struct stream *s, uint32_t seq, const uint8_t *data,
		  uint32_t len, bool fin, uint64_t now_ns, tcpre_msg_fn fn, void *ctx)
{
	uint32_t before;

	while (seq_after(seq, s->next_seq)) {
		if (!len && !fin) /* a bare ACK past a hole */
			return;
		if (hold(t, s, seq, data, len, fin, now_ns))
			return;
		if (!s->held) {
			t->stats.overflow_bytes += len;
			return;
		}
		/* No room: the hole will not be waited for. */
		gap(t, s, now_ns, fn, ctx);
		if (s->closed)
			return;
	}
	before = s->next_seq;
	if (consume(t, s, seq, data, len, fin, now_ns, fn, ctx) || !s->held ||
	    s->next_seq == before)
		return;
	drain(t, s, &now_ns, fn, ctx);
	if (!s->closed)
		hole_requeue(t, s, now_ns);
}

int tcpre_segment(struct tcpre *t, const struct tcpre_key *key, uint32_t seq, uint8_t tcp_flags,
		  const uint8_t *data, size_t len, uint64_t now_ns, const void *meta,
		  tcpre_msg_fn fn, void *ctx)
{
	const struct stream_key k = { .cookie = key->cookie, .direction = key->direction };
	uint64_t hash = table_hash(t->open, &k, sizeof(k));
	bool syn = tcp_flags & DV_TCP_SYN;
	struct stream *s;
	void *closed = NULL;

	if (len > INT32_MAX)
		return -EINVAL;
	s = table_find(t->open, hash, &k);
	if (!s)
		closed = table_find(t->closed, table_hash(t->closed, &k, sizeof(k)), &k);
	if (tcp_flags & DV_TCP_RST) {
		if (s) {
			table_touch(t->open, s, now_ns); /* closed now */
			stream_close(t, s);
			stream_retire(t, s);
		}
		return 0;
	}
	if (closed && syn) { /* the socket connects again */
		table_remove(t->closed, closed);
		closed = NULL;
	}
	if (closed) {
		t->stats.duplicate_bytes += len;
		return 0;
	}
	if (!s) {
		if (!syn && !len) /* a bare ACK or FIN: nothing to start from */
			return 0;
		s = stream_new(t, &k, hash, syn ? seq + 1 : seq, now_ns);
	} else {
		table_touch(t->open, s, now_ns);
	}
	if (t->lim.meta_size && meta)
		memcpy(s->meta, meta, t->lim.meta_size);
	place(t, s, syn ? seq + 1 : seq, data, len, tcp_flags & DV_TCP_FIN, now_ns, fn, ctx);
	if (s->closed)
		stream_retire(t, s);
	return 0;
}

void tcpre_expire(struct tcpre *t, uint64_t now_ns, tcpre_msg_fn fn, void *ctx)
{
	struct stream *s;

	/* gap() requeues at now_ns or unlinks: each stream comes up at most once */
	while ((s = TAILQ_FIRST(&t->holes)) &&
	       elapsed(now_ns, s->hole_ns) >= t->lim.hole_timeout_ns) {
		gap(t, s, now_ns, fn, ctx);
		if (s->closed)
			stream_retire(t, s);
	}
	table_expire(t->open, now_ns, expire_stream, t);
	table_expire(t->closed, now_ns, NULL, NULL);
}

const struct tcpre_stats *tcpre_stats(const struct tcpre *t)
{
	return &t->stats;
}

struct tcpre *tcpre_new(const struct tcpre_limits *limits)
{
	struct tcpre *t;
	int err;

	t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	if (limits)
		t->lim = *limits;
	if (!t->lim.max_streams)
		t->lim.max_streams = 4096;
	if (!t->lim.max_held_per_stream)
		t->lim.max_held_per_stream = 256 * 1024;
	if (!t->lim.max_buffered)
		t->lim.max_buffered = 16 * 1024 * 1024;
	if (!t->lim.hole_timeout_ns)
		t->lim.hole_timeout_ns = 2 * NSEC_PER_SEC;
	if (!t->lim.idle_timeout_ns)
		t->lim.idle_timeout_ns = 60 * NSEC_PER_SEC;
	TAILQ_INIT(&t->holes);

	t->open = table_new(&(struct table_opts){
		.max_entries = t->lim.max_streams,
		.entry_size = sizeof(struct stream) + t->lim.meta_size,
		.key_size = sizeof(struct stream_key),
		.when_full = TABLE_EVICT,
		.on_evict = evict_stream,
		.ctx = t,
		.ttl_ns = t->lim.idle_timeout_ns,
	});
	if (t->open)
		t->closed = table_new(&(struct table_opts){
			.max_entries = t->lim.max_streams,
			.entry_size = sizeof(struct stream_key),
			.key_size = sizeof(struct stream_key),
			.when_full = TABLE_EVICT,
			.ttl_ns = t->lim.hole_timeout_ns,
		});
	if (!t->closed) {
		err = errno;
		tcpre_free(t);
		errno = err;
		return NULL;
	}
	return t;
}

void tcpre_free(struct tcpre *t)
{
	struct stream *s;

	if (!t)
		return;
	for (s = t->open ? table_oldest(t->open) : NULL; s; s = table_newer(t->open, s))
		stream_clear(t, s);
	table_free(t->open);
	table_free(t->closed);
	free(t);
}
