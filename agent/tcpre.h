/* DNS over TCP stream reassembly: TCP segments in, whole DNS messages out. Each message on the
 * stream is preceded by its length as 2 bytes, big endian (RFC 1035 4.2.2, RFC 7766 8). */
#ifndef DNSVIGIL_TCPRE_H
#define DNSVIGIL_TCPRE_H

#include <stddef.h>
#include <stdint.h>

/* One direction of one socket. Each direction is its own sequence space. */
struct tcpre_key {
	uint64_t cookie;
	uint8_t direction; /* enum net_direction */
};

/* A zero field takes the default given in its comment. */
struct tcpre_limits {
	size_t max_streams;         /* 4096 open streams; the least recently used is evicted.
				     * As many closed ones are remembered, by key only. */
	size_t max_held_per_stream; /* 256 KiB of out-of-order payload */
	size_t max_buffered;        /* 16 MiB over all streams: out-of-order payload and
				     * messages that span segments */
	uint64_t hole_timeout_ns;   /* 2 s without in-order progress while holding data: the
				     * missing bytes are given up (a gap). Closed streams are
				     * remembered this long to ignore their retransmissions. */
	uint64_t idle_timeout_ns;   /* 60 s without a segment: the stream is forgotten */
	size_t meta_size;           /* 0; bytes of caller data kept per stream, see tcpre_segment */
};

struct tcpre_msg {
	struct tcpre_key key;
	const uint8_t *data; /* the message without its length prefix; valid during the call */
	size_t len;          /* 1..65535 */
	/* When the message became whole in sequence order: now_ns of the tcpre_segment call,
	 * or after a gap the capture time of the segment that completed it. */
	uint64_t ts_ns;
	const void *meta; /* as the stream's latest segment gave it (zeros if none did); NULL
			   * when meta_size is 0 */
};

/* Must not call back into the same tcpre. */
typedef void (*tcpre_msg_fn)(void *ctx, const struct tcpre_msg *msg);

/* Cumulative counters, except the two gauges at the end. */
struct tcpre_stats {
	uint64_t messages;         /* delivered */
	uint64_t duplicate_bytes;  /* retransmitted payload ignored */
	uint64_t gaps;             /* missing bytes given up on (hole timeout or no room to hold
				    * more): the partial message is dropped, the stream resumes at
				    * the next held segment */
	uint64_t overflow_bytes;   /* out-of-order payload dropped for lack of room */
	uint64_t dropped_messages; /* no room to gather a message spanning segments: skipped */
	uint64_t incomplete_at_close; /* streams that ended (FIN, RST, idle) in a message */
	uint64_t evicted_streams;  /* open streams forgotten to make room for a new one */
	uint64_t expired_streams;  /* open streams forgotten after idle_timeout_ns */
	uint64_t streams;          /* open streams now */
	uint64_t buffered_bytes;   /* held and gathered bytes now */
};

struct tcpre;

/* limits may be NULL for all defaults. Returns NULL with errno set on failure. */
struct tcpre *tcpre_new(const struct tcpre_limits *limits);
void tcpre_free(struct tcpre *t);

/* Feeds one captured segment and calls fn for every message it completes. seq is the TCP
 * header's sequence number in host order: the first payload byte's, except on a SYN whose
 * payload (TCP Fast Open) starts at seq + 1. tcp_flags is the header's flags byte (DV_TCP_*
 * of dnsvigil.h). A stream first seen without its SYN starts at its first segment carrying
 * data, taken as a message boundary. meta (limits.meta_size bytes) replaces the stream's
 * meta unless NULL. A message that lies whole in data is handed over in place, without a
 * copy.
 * Returns 0, or -EINVAL for a segment of 2^31 bytes or more (serial arithmetic, RFC 1982). */
int tcpre_segment(struct tcpre *t, const struct tcpre_key *key, uint32_t seq, uint8_t tcp_flags,
		  const uint8_t *data, size_t len, uint64_t now_ns, const void *meta,
		  tcpre_msg_fn fn, void *ctx);

/* Gives up holes older than hole_timeout_ns, calling fn for the messages held behind them,
 * and forgets idle and closed streams. Call it about every hole_timeout_ns / 2. */
void tcpre_expire(struct tcpre *t, uint64_t now_ns, tcpre_msg_fn fn, void *ctx);

const struct tcpre_stats *tcpre_stats(const struct tcpre *t);

#endif
