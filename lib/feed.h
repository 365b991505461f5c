/* The collector feed's conversation and its small messages, shared by the agent (agent/ship.c)
 * and the collector (collector/). Frames are lib/frame.h's; messages proto/dnsvigil.proto's.
 *
 * One connection, TLS unless both sides were started with --insecure-plaintext:
 *   1. agent -> FRAME_HELLO (Hello, not compressed): protocol version, agent id, host, boot id.
 *   2. collector -> FRAME_ACK {seq}: the highest seq of this agent id it holds durably (0: none).
 *      The agent removes every spooled batch up to it: they were stored before a lost ack.
 *      A collector that refuses the hello (version, empty agent id) closes the connection.
 *   3. agent -> FRAME_BATCH (Batch, zlib) in seq order, at most FEED_WINDOW unacked at a time.
 *   4. collector -> FRAME_ACK {seq} once batch seq is durably written (or was stored already:
 *      dedup by (agent_id, seq)). An ack covers every batch up to its seq.
 * Any error (bad frame, bad message, seq going backwards in one connection) closes the
 * connection, with the reason logged on the side that saw it. */
#ifndef DNSVIGIL_FEED_H
#define DNSVIGIL_FEED_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* Hello.protocol_version: bumped on an incompatible change of the conversation or schema. */
#define FEED_PROTOCOL_VERSION 1
/* Batches in flight unacked on one connection. */
#define FEED_WINDOW 8
/* Bounds of the identity strings, NUL included: longer ones are refused. */
#define FEED_ID_MAX 256

struct feed_hello {
	uint32_t protocol_version;
	char agent_id[FEED_ID_MAX];
	char host[FEED_ID_MAX];
	char boot_id[FEED_ID_MAX];
	char agent_version[FEED_ID_MAX];
};

/* Appends a FRAME_HELLO frame to out. 0, -ENAMETOOLONG or -ENOMEM. */
int feed_hello_frame(struct jbuf *out, const struct feed_hello *h);
/* Decodes a Hello payload. 0, or -EBADMSG (not a Hello, or a string too long). */
int feed_hello_decode(const uint8_t *p, size_t len, struct feed_hello *h);

/* Appends a FRAME_ACK frame to out. 0 or -ENOMEM. */
int feed_ack_frame(struct jbuf *out, uint64_t seq);
/* 0 or -EBADMSG. */
int feed_ack_decode(const uint8_t *p, size_t len, uint64_t *seq);

/* A Batch built in place, without a protobuf-c tree: the header fields, then each event's
 * serialized Event bytes (lib/event_pb.h) as they come. Framing and compressing it is
 * frame_encode(out, FRAME_BATCH, FRAME_F_ZLIB, b.p, b.len). */
struct feed_batch_header {
	const char *agent_id;
	const char *host;
	const char *boot_id;
	uint64_t seq;
};

/* Resets b and writes the header. */
void feed_batch_begin(struct jbuf *b, const struct feed_batch_header *h);
/* Appends one serialized Event. Check b->failed once at the end. */
void feed_batch_add(struct jbuf *b, const uint8_t *event, size_t len);

/* Reading a Batch payload (untrusted): the header, then its events one by one. The strings
 * are copied, the event slices point into the payload. Unknown fields are skipped. */
struct feed_batch {
	char agent_id[FEED_ID_MAX];
	char host[FEED_ID_MAX];
	char boot_id[FEED_ID_MAX];
	uint64_t seq;
	uint32_t n_events;       /* counted by feed_batch_parse */
	const uint8_t *pos, *end; /* iteration state */
};

/* Checks the whole payload's field structure and reads the header. 0, or -EBADMSG with the
 * reason in *why (a static string). */
int feed_batch_parse(const uint8_t *p, size_t len, struct feed_batch *b, const char **why);
/* The next event's bytes: 1, or 0 after the last. */
int feed_batch_next(struct feed_batch *b, const uint8_t **event, size_t *len);

#endif
