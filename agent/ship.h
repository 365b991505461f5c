/* Shipping events to the collectors (issue 8): a sink that batches events as protobuf on the
 * pipeline thread, and a shipper thread that spools every batch (agent/spool.h) and sends it
 * over the feed (lib/feed.h), TLS 1.3 with mutual authentication (lib/tls.h).
 *
 * Pipeline thread (the ring-buffer consumer): each event is encoded (lib/event_pb.h) and
 * appended to the open batch; a batch closes at batch_events events, batch_bytes bytes, or
 * batch_ns after its first event (checked at every flush, i.e. every pipeline tick), and is
 * handed to the shipper through a bounded queue. It never waits for disk or network: with the
 * queue full the batch is dropped and counted.
 *
 * Shipper thread: zlib and framing, spool_append (fsync'd) for each batch, then over one
 * connection at a time:
 * HELLO -> ACK{seq} (the spool forgets what the collector already holds), the spooled batches
 * in seq order with at most FEED_WINDOW unacked, ACKs -> spool_ack. Non-blocking sockets and
 * poll(), with deadlines on connect, handshake, hello and acks; a collector that fails or
 * hangs is left for the next one in the list, a full round of failures waits an exponential
 * backoff with jitter (backoff_min_ms doubling up to backoff_max_ms).
 *
 * Seqs are taken when a batch opens: a batch dropped at the queue or by the spool's cap leaves
 * a gap, which the collector sees and tolerates (dedup is by (agent_id, seq)). */
#ifndef DNSVIGIL_SHIP_H
#define DNSVIGIL_SHIP_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "sink.h"
#include "stats.h"
#include "tls.h"

#define SHIP_MAX_COLLECTORS 8
#define SHIP_SPEC_MAX 272 /* "[" 253-byte name "]:" port */
#define SHIP_DEFAULT_SPOOL_DIR "/var/lib/dnsvigil/spool"
#define SHIP_DEFAULT_SPOOL_MAX (256ull << 20)
#define SHIP_DEFAULT_BATCH_EVENTS 1000
#define SHIP_DEFAULT_BATCH_BYTES (256u << 10)
#define SHIP_DEFAULT_BATCH_MS 200
/* Closed batches waiting for the shipper: 64 x up to 256 KiB (not compressed yet) holds
 * several seconds of a busy host while a disk stalls. */
#define SHIP_QUEUE_LEN 64

/* One --collector HOST:PORT, resolved without DNS: an IPv4 or [IPv6] literal, or a name from
 * /etc/hosts (the agent must not send DNS queries of its own: it captures them, and the feed
 * must not depend on a resolver). name is what the collector's certificate must name. */
struct ship_collector {
	char spec[SHIP_SPEC_MAX];          /* as given, for logs and the ship_collector stat */
	char name[SHIP_SPEC_MAX];          /* host part without brackets */
	struct sockaddr_storage addr;
	socklen_t addr_len;
};

/* Parses and resolves arg. 0, or -EINVAL with the reason in *why (a static string). */
int ship_parse_collector(const char *arg, struct ship_collector *out, const char **why);

/* Reads an identity file's first line (/etc/machine-id, boot_id) into buf. 0 or a negative
 * errno; -EINVAL for an empty one. */
int ship_read_id(const char *path, char *buf, size_t size);

struct ship_opts {
	const struct ship_collector *collectors; /* tried in this order */
	int n_collectors;
	const char *spool_dir;
	uint64_t spool_max;
	const char *agent_id;
	const char *host;
	const char *boot_id;
	struct tls_files tls;   /* all three, unless insecure_plaintext */
	bool insecure_plaintext;
	bool raw;               /* EVENT_PB_RAW: every dns event carries its message bytes */
	/* 0: the defaults above / in ship.c; tests shorten them. */
	uint32_t batch_events;
	uint32_t batch_bytes;
	uint32_t batch_ms;
	uint32_t backoff_min_ms, backoff_max_ms; /* default 100 ms .. 30 s */
	uint32_t connect_timeout_ms;             /* TCP connect, TLS handshake, hello ack: 5 s */
	uint32_t ack_timeout_ms;                 /* an unacked batch, a stalled write: 10 s */
	uint32_t drain_ms;                       /* at exit, for the last acks: 2 s */
};

struct ship;

/* Opens the spool (what an earlier run left is replayed), the TLS context, and starts the
 * shipper thread. Returns 0 and *out, or a negative errno with the reason logged. */
int ship_new(const struct ship_opts *opts, struct ship **out);
/* The pipeline's sink. Freeing it (sink_free) is ship_free. */
struct sink *ship_sink(struct ship *s);
/* At exit: closes the open batch, gives the shipper drain_ms to spool it and get acks, stops
 * it and frees everything; what is unacked stays in the spool for the next start. */
void ship_free(struct ship *s);

/* Declares ship_* and spool_* (every agent has them: zero and null without --collector).
 * s may be NULL. */
int ship_declare_stats(struct ship *s, struct stats_registry *r);

#endif
