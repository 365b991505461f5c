#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/param.h>

#include <cmocka.h>

#include "dnsvigil.h"
#include "tcpre.h"

#define MS 1000000ULL
#define SEC 1000000000ULL
#define MAX_GOT 8

struct got_msg {
	struct tcpre_key key;
	const uint8_t *ptr;
	size_t len;
	uint64_t ts_ns;
	uint32_t meta;
	uint8_t data[65535];
};

static struct got_msg got[MAX_GOT];
static size_t n_got;

static const struct tcpre_key egress = { .cookie = 42, .direction = DV_EGRESS };
static const struct tcpre_key ingress = { .cookie = 42, .direction = DV_INGRESS };

static void collect(void *ctx, const struct tcpre_msg *msg)
{
	struct got_msg *g;

	assert_ptr_equal(ctx, got);
	assert_true(n_got < MAX_GOT);
	g = &got[n_got++];
	g->key = msg->key;
	g->ptr = msg->data;
	g->len = msg->len;
	g->ts_ns = msg->ts_ns;
	g->meta = 0;
	if (msg->meta)
		memcpy(&g->meta, msg->meta, sizeof(g->meta));
	memcpy(g->data, msg->data, msg->len);
}

static int reset(void **state)
{
	(void)state;
	n_got = 0;
	return 0;
}

/* Frames the NULL-terminated messages as on a DNS TCP stream. Returns the length. */
static size_t frame(uint8_t *out, ...)
{
	const char *m;
	size_t n = 0;
	va_list ap;

	va_start(ap, out);
	while ((m = va_arg(ap, const char *))) {
		size_t len = strlen(m);

		out[n++] = len >> 8;
		out[n++] = len & 0xff;
		memcpy(out + n, m, len);
		n += len;
	}
	va_end(ap);
	return n;
}

static struct tcpre *new_tcpre(const struct tcpre_limits *limits)
{
	struct tcpre *t = tcpre_new(limits);

	assert_non_null(t);
	return t;
}

static void seg(struct tcpre *t, const struct tcpre_key *key, uint32_t seq, uint8_t flags,
		const uint8_t *data, size_t len, uint64_t now_ns)
{
	assert_int_equal(tcpre_segment(t, key, seq, flags, data, len, now_ns, NULL, collect, got),
			 0);
}

static void syn(struct tcpre *t, const struct tcpre_key *key, uint32_t isn)
{
	seg(t, key, isn, DV_TCP_SYN, NULL, 0, 0);
}

static void expire(struct tcpre *t, uint64_t now_ns)
{
	tcpre_expire(t, now_ns, collect, got);
}

static void assert_got(size_t i, const char *text)
{
	assert_true(i < n_got);
	assert_int_equal(got[i].len, strlen(text));
	assert_memory_equal(got[i].data, text, got[i].len);
}

static void tcp_two_messages_in_one_segment(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "first query", "second", NULL);

	(void)state;
	syn(t, &egress, 1000);
	seg(t, &egress, 1001, 0, buf, n, 5 * MS);
	assert_int_equal(n_got, 2);
	assert_got(0, "first query");
	assert_got(1, "second");
	/* handed over in place, not copied */
	assert_ptr_equal(got[0].ptr, buf + 2);
	assert_ptr_equal(got[1].ptr, buf + 2 + 11 + 2);
	assert_int_equal(got[1].ts_ns, 5 * MS);
	assert_int_equal(got[1].key.cookie, 42);
	assert_int_equal(tcpre_stats(t)->messages, 2);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	tcpre_free(t);
}

static void tcp_message_split_across_three_segments(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "a message of thirty bytes long", NULL);

	(void)state;
	syn(t, &egress, 7);
	seg(t, &egress, 8, 0, buf, 10, 1 * MS);
	seg(t, &egress, 18, 0, buf + 10, 10, 2 * MS);
	assert_int_equal(n_got, 0);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 30);
	seg(t, &egress, 28, 0, buf + 20, n - 20, 3 * MS);
	assert_int_equal(n_got, 1);
	assert_got(0, "a message of thirty bytes long");
	assert_int_equal(got[0].ts_ns, 3 * MS);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	tcpre_free(t);
}

static void tcp_length_prefix_split(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "one", "two!", NULL);

	(void)state;
	syn(t, &egress, 0);
	/* "one" whole, then the first byte of the next length prefix */
	seg(t, &egress, 1, 0, buf, 6, 0);
	assert_int_equal(n_got, 1);
	seg(t, &egress, 7, 0, buf + 6, n - 6, 0);
	assert_int_equal(n_got, 2);
	assert_got(0, "one");
	assert_got(1, "two!");

	/* a segment holding one byte: half a length prefix */
	n = frame(buf, "three", NULL);
	seg(t, &egress, 1 + 11, 0, buf, 1, 0);
	seg(t, &egress, 1 + 12, 0, buf + 1, n - 1, 0);
	assert_int_equal(n_got, 3);
	assert_got(2, "three");
	tcpre_free(t);
}

static void tcp_pipelined_queries(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[128];
	size_t n = frame(buf, "query A example.com", "query B example.net", "query C", NULL);

	(void)state;
	syn(t, &egress, 100);
	seg(t, &egress, 101, 0, buf, 30, 1 * MS); /* A and 9 bytes of B */
	assert_int_equal(n_got, 1);
	seg(t, &egress, 131, 0, buf + 30, n - 30, 2 * MS);
	assert_int_equal(n_got, 3);
	assert_got(0, "query A example.com");
	assert_got(1, "query B example.net");
	assert_got(2, "query C");
	assert_int_equal(got[0].ts_ns, 1 * MS);
	assert_int_equal(got[2].ts_ns, 2 * MS);
	tcpre_free(t);
}

static void tcp_out_of_order_segment_delivered_after_hole_fills(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[128];
	size_t n = frame(buf, "response one", "response two", "x", NULL);

	(void)state;
	syn(t, &ingress, 5000);
	/* 2nd segment (rest of one, two) and 3rd (x) come first */
	seg(t, &ingress, 5001 + 30, 0, buf + 30, n - 30, 1 * MS);
	seg(t, &ingress, 5001 + 8, 0, buf + 8, 22, 2 * MS);
	assert_int_equal(n_got, 0);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, n - 8);
	seg(t, &ingress, 5001, 0, buf, 8, 3 * MS);
	assert_int_equal(n_got, 3);
	assert_got(0, "response one");
	assert_got(1, "response two");
	assert_got(2, "x");
	/* whole when the hole filled */
	assert_int_equal(got[0].ts_ns, 3 * MS);
	assert_int_equal(got[2].ts_ns, 3 * MS);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	assert_int_equal(tcpre_stats(t)->gaps, 0);
	tcpre_free(t);
}

static void tcp_duplicate_retransmission_ignored(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "only once", "later", NULL);

	(void)state;
	syn(t, &egress, 1);
	seg(t, &egress, 2, 0, buf, 11, 0);
	seg(t, &egress, 2, 0, buf, 11, 0);
	assert_int_equal(n_got, 1);
	/* an out-of-order segment retransmitted while held is kept once */
	seg(t, &egress, 2 + 13, 0, buf + 13, n - 13, 0);
	seg(t, &egress, 2 + 13, 0, buf + 13, n - 13, 0);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, n - 13);
	seg(t, &egress, 2 + 11, 0, buf + 11, 2, 0);
	assert_int_equal(n_got, 2);
	assert_got(0, "only once");
	assert_got(1, "later");
	assert_int_equal(tcpre_stats(t)->duplicate_bytes, 11 + (n - 13));
	tcpre_free(t);
}

static void tcp_overlapping_retransmission_trimmed(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "first message", "second message", NULL);

	(void)state;
	syn(t, &egress, 1);
	seg(t, &egress, 2, 0, buf, 10, 0);
	/* repacketised retransmission: starts 5 bytes back */
	seg(t, &egress, 2 + 5, 0, buf + 5, n - 5, 0);
	assert_int_equal(n_got, 2);
	assert_got(0, "first message");
	assert_got(1, "second message");
	assert_int_equal(tcpre_stats(t)->duplicate_bytes, 5);
	tcpre_free(t);
}

static void tcp_lost_segment_reports_gap_and_resyncs(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[128], next[32];
	size_t n = frame(buf, "m1", "message two", "m3", NULL);
	size_t n_next = frame(next, "m4", NULL);

	(void)state;
	syn(t, &ingress, 0);
	seg(t, &ingress, 1, 0, buf, 4 + 6, 0);             /* m1 and half of message two */
	/* the other half of message two is lost */
	seg(t, &ingress, 1 + 17, 0, buf + 17, 4, 10 * MS); /* m3 */
	expire(t, 10 * MS + 2 * SEC - 1);
	assert_int_equal(n_got, 1);
	assert_int_equal(tcpre_stats(t)->gaps, 0);

	expire(t, 10 * MS + 2 * SEC);
	assert_int_equal(tcpre_stats(t)->gaps, 1);
	assert_int_equal(n_got, 2);
	assert_got(0, "m1");
	assert_got(1, "m3"); /* not the partial "message two" glued to anything */
	assert_int_equal(got[1].ts_ns, 10 * MS); /* captured then */
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);

	seg(t, &ingress, 1 + n, 0, next, n_next, 3 * SEC);
	assert_int_equal(n_got, 3);
	assert_got(2, "m4");
	assert_int_equal(tcpre_stats(t)->incomplete_at_close, 0);
	assert_int_equal(n, 21);
	tcpre_free(t);
}

static void tcp_hole_timer_restarts_on_progress(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "m1", "m2", "m3", "m4", NULL);

	(void)state;
	syn(t, &egress, 0);
	seg(t, &egress, 1 + 4, 0, buf + 4, 4, 0);     /* m2 */
	seg(t, &egress, 1 + 12, 0, buf + 12, 4, 0);   /* m4; m3 is lost */
	seg(t, &egress, 1, 0, buf, 4, 1500 * MS);     /* m1 fills the first hole */
	assert_int_equal(n_got, 2);
	expire(t, 2500 * MS);
	assert_int_equal(n_got, 2);
	assert_int_equal(tcpre_stats(t)->gaps, 0);
	expire(t, 3500 * MS);
	assert_int_equal(tcpre_stats(t)->gaps, 1);
	assert_int_equal(n_got, 3);
	assert_got(2, "m4");
	assert_int_equal(n, 16);
	tcpre_free(t);
}

static void tcp_held_overflow_reports_gap_and_resyncs(void **state)
{
	struct tcpre_limits lim = { .max_held_per_stream = 40 };
	struct tcpre *t = new_tcpre(&lim);
	uint8_t buf[256];
	size_t n = frame(buf, "m1", "lost", "twenty-two bytes m3 xx", "twenty-two bytes m4 yy", NULL);
	uint32_t m3 = 4 + 6, m4 = m3 + 24;

	(void)state;
	syn(t, &egress, 0);
	seg(t, &egress, 1, 0, buf, 4, 0);
	seg(t, &egress, 1 + m3, 0, buf + m3, 24, 0);
	assert_int_equal(n_got, 1);
	/* 24 + 24 bytes held is over 40: stop waiting for "lost" */
	seg(t, &egress, 1 + m4, 0, buf + m4, 24, 0);
	assert_int_equal(tcpre_stats(t)->gaps, 1);
	assert_int_equal(n_got, 3);
	assert_got(1, "twenty-two bytes m3 xx");
	assert_got(2, "twenty-two bytes m4 yy");
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);

	/* a segment too big to hold with nothing held: dropped */
	seg(t, &egress, 1 + n + 10, 0, buf, 50, 0);
	assert_int_equal(tcpre_stats(t)->overflow_bytes, 50);
	assert_int_equal(tcpre_stats(t)->gaps, 1);
	tcpre_free(t);
}

static void tcp_seq_wraparound(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "spans the wrap of seq", "after", NULL);
	uint32_t isn = 0xfffffff0;

	(void)state;
	syn(t, &ingress, isn);
	/* bytes 0..9 at 0xfffffff1.., 10..19 wrap through 0, the rest after 0 comes first */
	seg(t, &ingress, isn + 1 + 20, 0, buf + 20, n - 20, 0);
	assert_int_equal(n_got, 0);
	seg(t, &ingress, isn + 1, 0, buf, 10, 0);
	seg(t, &ingress, isn + 1 + 10, 0, buf + 10, 10, 0);
	assert_int_equal(n_got, 2);
	assert_got(0, "spans the wrap of seq");
	assert_got(1, "after");
	/* an old segment from before the wrap is a retransmission, not data ahead */
	seg(t, &ingress, isn + 1, 0, buf, 10, 0);
	assert_int_equal(n_got, 2);
	assert_int_equal(tcpre_stats(t)->duplicate_bytes, 10);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	tcpre_free(t);
}

static void tcp_fin_ends_stream(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "complete", "cut short", NULL);

	(void)state;
	syn(t, &ingress, 10);
	seg(t, &ingress, 11, DV_TCP_FIN, buf, n - 3, 0);
	assert_int_equal(n_got, 1);
	assert_got(0, "complete");
	assert_int_equal(tcpre_stats(t)->incomplete_at_close, 1);
	assert_int_equal(tcpre_stats(t)->streams, 0);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	/* retransmissions after the FIN do not start a stream */
	seg(t, &ingress, 11, DV_TCP_FIN, buf, n - 3, 1 * MS);
	assert_int_equal(n_got, 1);
	assert_int_equal(tcpre_stats(t)->streams, 0);
	tcpre_free(t);
}

static void tcp_fin_out_of_order_waits_for_hole(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "last answer", NULL);

	(void)state;
	syn(t, &ingress, 10);
	seg(t, &ingress, 11 + 5, DV_TCP_FIN, buf + 5, n - 5, 0);
	assert_int_equal(tcpre_stats(t)->streams, 1);
	seg(t, &ingress, 11, 0, buf, 5, 0);
	assert_int_equal(n_got, 1);
	assert_got(0, "last answer");
	assert_int_equal(tcpre_stats(t)->streams, 0);
	assert_int_equal(tcpre_stats(t)->incomplete_at_close, 0);
	tcpre_free(t);
}

static void tcp_rst_drops_partial_message(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "never finished", NULL);

	(void)state;
	syn(t, &ingress, 10);
	seg(t, &ingress, 11, 0, buf, n / 2, 0);
	seg(t, &ingress, 11 + n / 2, DV_TCP_RST, NULL, 0, 0);
	assert_int_equal(n_got, 0);
	assert_int_equal(tcpre_stats(t)->incomplete_at_close, 1);
	assert_int_equal(tcpre_stats(t)->streams, 0);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	tcpre_free(t);
}

static void tcp_streams_bounded_oldest_evicted(void **state)
{
	struct tcpre_limits lim = { .max_streams = 2 };
	struct tcpre *t = new_tcpre(&lim);
	struct tcpre_key k1 = { 1, DV_EGRESS }, k2 = { 2, DV_EGRESS }, k3 = { 3, DV_EGRESS };
	uint8_t buf[64];
	size_t n = frame(buf, "stream one", NULL);

	(void)state;
	syn(t, &k1, 0);
	syn(t, &k2, 0);
	seg(t, &k1, 1, 0, buf, 4, 1 * MS); /* k1 used after k2 */
	syn(t, &k3, 0);                    /* evicts k2, the least recently used */
	assert_int_equal(tcpre_stats(t)->evicted_streams, 1);
	assert_int_equal(tcpre_stats(t)->streams, 2);
	seg(t, &k1, 5, 0, buf + 4, n - 4, 2 * MS);
	assert_int_equal(n_got, 1);
	assert_got(0, "stream one");
	assert_int_equal(got[0].key.cookie, 1);
	tcpre_free(t);
}

static void tcp_closed_streams_make_room_before_open_ones(void **state)
{
	struct tcpre_limits lim = { .max_streams = 2 };
	struct tcpre *t = new_tcpre(&lim);
	struct tcpre_key k1 = { 1, DV_EGRESS }, k2 = { 2, DV_EGRESS }, k3 = { 3, DV_EGRESS };
	uint8_t buf[64];
	size_t n = frame(buf, "stream two", NULL);

	(void)state;
	syn(t, &k2, 0);
	seg(t, &k2, 1, 0, buf, 4, 0);
	syn(t, &k1, 0);
	seg(t, &k1, 1, DV_TCP_FIN, NULL, 0, 1 * MS);
	syn(t, &k3, 0);
	assert_int_equal(tcpre_stats(t)->evicted_streams, 0);
	seg(t, &k2, 5, 0, buf + 4, n - 4, 2 * MS);
	assert_int_equal(n_got, 1);
	assert_got(0, "stream two");
	tcpre_free(t);
}

static void tcp_directions_independent(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t q[64], r[64];
	size_t nq = frame(q, "the query", NULL);
	size_t nr = frame(r, "the response", NULL);

	(void)state;
	syn(t, &egress, 1000);
	syn(t, &ingress, 900000);
	seg(t, &egress, 1001, 0, q, 5, 0);
	seg(t, &ingress, 900001, 0, r, 5, 0);
	seg(t, &egress, 1006, 0, q + 5, nq - 5, 1 * MS);
	seg(t, &ingress, 900006, 0, r + 5, nr - 5, 2 * MS);
	assert_int_equal(n_got, 2);
	assert_got(0, "the query");
	assert_int_equal(got[0].key.direction, DV_EGRESS);
	assert_got(1, "the response");
	assert_int_equal(got[1].key.direction, DV_INGRESS);
	assert_int_equal(tcpre_stats(t)->streams, 2);
	tcpre_free(t);
}

static void tcp_midstream_start_assumes_message_boundary(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "seen without SYN", NULL);

	(void)state;
	seg(t, &egress, 4000, 0, NULL, 0, 0); /* a bare ACK starts nothing */
	assert_int_equal(tcpre_stats(t)->streams, 0);
	seg(t, &egress, 5000, 0, buf, 7, 0);
	seg(t, &egress, 5007, 0, buf + 7, n - 7, 0);
	assert_int_equal(n_got, 1);
	assert_got(0, "seen without SYN");
	tcpre_free(t);
}

static void tcp_zero_length_message_skipped(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "before", "", "after", NULL);

	(void)state;
	syn(t, &egress, 0);
	seg(t, &egress, 1, 0, buf, n, 0);
	/* and a zero length prefix split over two segments */
	seg(t, &egress, 1 + n, 0, buf + 8, 1, 0);
	seg(t, &egress, 2 + n, 0, buf + 9, 1, 0);
	seg(t, &egress, 3 + n, 0, buf, 8, 0);
	assert_int_equal(n_got, 3);
	assert_got(0, "before");
	assert_got(1, "after");
	assert_got(2, "before");
	tcpre_free(t);
}

static void tcp_largest_message_across_many_segments(void **state)
{
	static uint8_t buf[2 + 65535];
	struct tcpre *t = new_tcpre(NULL);
	size_t off, i;

	(void)state;
	buf[0] = 0xff;
	buf[1] = 0xff;
	for (i = 2; i < sizeof(buf); i++)
		buf[i] = i * 7;
	syn(t, &ingress, 0x10000000);
	for (off = 0; off < sizeof(buf); off += 1448)
		seg(t, &ingress, 0x10000001 + off, 0, buf + off, MIN(1448, sizeof(buf) - off), 0);
	assert_int_equal(n_got, 1);
	assert_int_equal(got[0].len, 65535);
	assert_memory_equal(got[0].data, buf + 2, 65535);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	tcpre_free(t);
}

static void tcp_message_without_room_skipped(void **state)
{
	struct tcpre_limits lim = { .max_buffered = 16 };
	struct tcpre *t = new_tcpre(&lim);
	uint8_t buf[128];
	size_t n = frame(buf, "a message longer than sixteen bytes", "short", NULL);

	(void)state;
	syn(t, &egress, 0);
	seg(t, &egress, 1, 0, buf, 10, 0);
	seg(t, &egress, 11, 0, buf + 10, n - 10, 0);
	assert_int_equal(tcpre_stats(t)->dropped_messages, 1);
	assert_int_equal(n_got, 1);
	assert_got(0, "short");
	tcpre_free(t);
}

static void tcp_idle_stream_expires(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "abandoned", NULL);

	(void)state;
	syn(t, &egress, 0);
	seg(t, &egress, 1, 0, buf, 4, 1 * SEC);
	expire(t, 61 * SEC - 1);
	assert_int_equal(tcpre_stats(t)->streams, 1);
	expire(t, 61 * SEC);
	assert_int_equal(tcpre_stats(t)->streams, 0);
	assert_int_equal(tcpre_stats(t)->expired_streams, 1);
	assert_int_equal(tcpre_stats(t)->incomplete_at_close, 1);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	assert_int_equal(n_got, 0);
	assert_int_equal(n, 11);
	tcpre_free(t);
}

static void tcp_syn_payload_starts_after_isn(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "fast open query", NULL);

	(void)state;
	seg(t, &egress, 777, DV_TCP_SYN, buf, n, 0);
	assert_int_equal(n_got, 1);
	assert_got(0, "fast open query");
	/* the next segment continues at isn + 1 + n */
	n = frame(buf, "next", NULL);
	seg(t, &egress, 778 + 17, 0, buf, n, 0);
	assert_int_equal(n_got, 2);
	assert_got(1, "next");
	tcpre_free(t);
}

static void tcp_meta_comes_from_latest_segment(void **state)
{
	struct tcpre_limits lim = { .meta_size = sizeof(uint32_t) };
	struct tcpre *t = new_tcpre(&lim);
	uint32_t meta1 = 111, meta2 = 222;
	uint8_t buf[64];
	size_t n = frame(buf, "m1", "m2", "m3", NULL);

	(void)state;
	tcpre_segment(t, &egress, 0, DV_TCP_SYN, NULL, 0, 0, &meta1, collect, got);
	tcpre_segment(t, &egress, 1, 0, buf, 3, 0, &meta1, collect, got);
	tcpre_segment(t, &egress, 4, 0, buf + 3, 1, 0, &meta2, collect, got);
	assert_int_equal(n_got, 1);
	assert_int_equal(got[0].meta, 222);
	/* a message delivered by tcpre_expire after a gap carries the stream's meta too */
	tcpre_segment(t, &egress, 1 + 8, 0, buf + 8, n - 8, 0, &meta1, collect, got);
	expire(t, 2 * SEC);
	assert_int_equal(n_got, 2);
	assert_got(1, "m3");
	assert_int_equal(got[1].meta, 111);
	tcpre_free(t);
}

static void tcp_syn_reopens_closed_stream(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t buf[64];
	size_t n = frame(buf, "second connection", NULL);

	(void)state;
	syn(t, &egress, 0);
	seg(t, &egress, 1, DV_TCP_RST, NULL, 0, 0);
	syn(t, &egress, 5000);
	seg(t, &egress, 5001, 0, buf, n, 0);
	assert_int_equal(n_got, 1);
	assert_got(0, "second connection");
	tcpre_free(t);
}

static void tcp_oversized_segment_rejected(void **state)
{
	struct tcpre *t = new_tcpre(NULL);
	uint8_t byte = 0;

	(void)state;
	assert_int_equal(tcpre_segment(t, &egress, 0, 0, &byte, (size_t)INT32_MAX + 1, 0, NULL,
				       collect, got),
			 -EINVAL);
	assert_int_equal(tcpre_stats(t)->streams, 0);
	tcpre_free(t);
}

struct in_order {
	const uint8_t *stream; /* framed messages */
	size_t off;            /* of the next expected message */
	size_t n;
};

static void check_in_order(void *ctx, const struct tcpre_msg *msg)
{
	struct in_order *o = ctx;

	assert_true(o->off + 2 + msg->len <= o->n);
	assert_int_equal(msg->len, o->stream[o->off] << 8 | o->stream[o->off + 1]);
	assert_memory_equal(msg->data, o->stream + o->off + 2, msg->len);
	o->off += 2 + msg->len;
}

static void tcp_reordered_duplicated_segments_deliver_every_message_once(void **state)
{
	enum { N_MSGS = 300, MAX_SEGS = 4096, WINDOW = 6 };
	static uint8_t stream[N_MSGS * (2 + 3000)];
	static struct { size_t off, len; } segs[MAX_SEGS];
	struct tcpre *t = new_tcpre(NULL);
	struct in_order o = { .stream = stream };
	uint32_t isn = 0xffff0000; /* wraps half way */
	size_t n_segs = 0, i, j;

	(void)state;
	srandom(7);
	for (i = 0; i < N_MSGS; i++) {
		size_t len = 1 + random() % 3000;

		stream[o.n++] = len >> 8;
		stream[o.n++] = len & 0xff;
		for (j = 0; j < len; j++)
			stream[o.n++] = random();
	}
	for (i = 0; i < o.n; i += segs[n_segs++].len) {
		assert_true(n_segs < MAX_SEGS);
		segs[n_segs].off = i;
		segs[n_segs].len = MIN(1 + (size_t)random() % 1500, o.n - i);
	}
	/* reorder within a window, as a network with several paths would */
	for (i = 0; i + WINDOW < n_segs; i++) {
		j = i + random() % WINDOW;
		segs[n_segs] = segs[i];
		segs[i] = segs[j];
		segs[j] = segs[n_segs];
	}
	tcpre_segment(t, &ingress, isn, DV_TCP_SYN, NULL, 0, 0, NULL, check_in_order, &o);
	for (i = 0; i < n_segs; i++) {
		size_t copies = random() % 10 ? 1 : 2;

		while (copies--)
			assert_int_equal(tcpre_segment(t, &ingress, isn + 1 + segs[i].off, 0,
						       stream + segs[i].off, segs[i].len, i, NULL,
						       check_in_order, &o),
					 0);
	}
	assert_int_equal(o.off, o.n);
	assert_int_equal(tcpre_stats(t)->messages, N_MSGS);
	assert_int_equal(tcpre_stats(t)->gaps, 0);
	assert_int_equal(tcpre_stats(t)->buffered_bytes, 0);
	tcpre_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(tcp_two_messages_in_one_segment, reset),
		cmocka_unit_test_setup(tcp_message_split_across_three_segments, reset),
		cmocka_unit_test_setup(tcp_length_prefix_split, reset),
		cmocka_unit_test_setup(tcp_pipelined_queries, reset),
		cmocka_unit_test_setup(tcp_out_of_order_segment_delivered_after_hole_fills, reset),
		cmocka_unit_test_setup(tcp_duplicate_retransmission_ignored, reset),
		cmocka_unit_test_setup(tcp_overlapping_retransmission_trimmed, reset),
		cmocka_unit_test_setup(tcp_lost_segment_reports_gap_and_resyncs, reset),
		cmocka_unit_test_setup(tcp_hole_timer_restarts_on_progress, reset),
		cmocka_unit_test_setup(tcp_held_overflow_reports_gap_and_resyncs, reset),
		cmocka_unit_test_setup(tcp_seq_wraparound, reset),
		cmocka_unit_test_setup(tcp_fin_ends_stream, reset),
		cmocka_unit_test_setup(tcp_fin_out_of_order_waits_for_hole, reset),
		cmocka_unit_test_setup(tcp_rst_drops_partial_message, reset),
		cmocka_unit_test_setup(tcp_streams_bounded_oldest_evicted, reset),
		cmocka_unit_test_setup(tcp_closed_streams_make_room_before_open_ones, reset),
		cmocka_unit_test_setup(tcp_directions_independent, reset),
		cmocka_unit_test_setup(tcp_midstream_start_assumes_message_boundary, reset),
		cmocka_unit_test_setup(tcp_zero_length_message_skipped, reset),
		cmocka_unit_test_setup(tcp_largest_message_across_many_segments, reset),
		cmocka_unit_test_setup(tcp_message_without_room_skipped, reset),
		cmocka_unit_test_setup(tcp_idle_stream_expires, reset),
		cmocka_unit_test_setup(tcp_syn_payload_starts_after_isn, reset),
		cmocka_unit_test_setup(tcp_meta_comes_from_latest_segment, reset),
		cmocka_unit_test_setup(tcp_syn_reopens_closed_stream, reset),
		cmocka_unit_test_setup(tcp_oversized_segment_rejected, reset),
		cmocka_unit_test(tcp_reordered_duplicated_segments_deliver_every_message_once),
	};

	return cmocka_run_group_tests_name("tcpre", tests, NULL, NULL);
}
