/* The collector feed's framing, shared by the agent (encoder) and the collector (decoder). The
 * payload is opaque here: a serialized protobuf message, maybe zlib-compressed.
 *
 * A frame on the wire, every integer big endian:
 *
 *   offset  size  field
 *   0       1     magic, FRAME_MAGIC (0xD7): a stream that is not ours fails on its first byte
 *   1       1     version, FRAME_VERSION (1)
 *   2       1     type, enum frame_type
 *   3       1     flags, FRAME_F_*; an unknown flag is an error (it could change the payload's
 *                 meaning)
 *   4       4     length of the payload as sent (after compression), at most the decoder's
 *                 max_frame
 *   8       ...   payload; with FRAME_F_ZLIB a zlib stream (RFC 1950) of the message
 *
 * The decoder is incremental: TCP and TLS deliver arbitrary chunks, and it holds at most one
 * frame (header + max_frame bytes) plus its inflated payload (max_inflated bytes) at a time,
 * whatever the peer sends. Errors are sticky: after one the connection is unusable, since the
 * stream has lost its frame boundaries. */
#ifndef DNSVIGIL_FRAME_H
#define DNSVIGIL_FRAME_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"

#define FRAME_MAGIC 0xD7
#define FRAME_VERSION 1
#define FRAME_HEADER_LEN 8

enum frame_type {
	FRAME_HELLO = 1, /* agent -> collector: protocol version and identity */
	FRAME_BATCH = 2, /* agent -> collector: one batch of events */
	FRAME_ACK = 3,   /* collector -> agent: batches up to seq are durable */
	FRAME_TYPE_MAX = FRAME_ACK,
};

#define FRAME_F_ZLIB 0x01u
#define FRAME_F_ALL FRAME_F_ZLIB

/* Appends one frame carrying payload to out (a growable byte buffer), compressed with zlib's
 * deflate when flags has FRAME_F_ZLIB. Returns 0, -EINVAL (bad type or flags), -EMSGSIZE (the
 * sent payload would not fit the u32 length) or -ENOMEM; out is unchanged on error. */
int frame_encode(struct jbuf *out, enum frame_type type, unsigned int flags, const void *payload,
		 size_t len);

struct frame_decoder_opts {
	size_t max_frame;    /* largest payload as sent; 0: FRAME_DEFAULT_MAX_FRAME */
	size_t max_inflated; /* largest payload after inflate; 0: FRAME_DEFAULT_MAX_INFLATED */
	unsigned int max_ratio; /* largest inflated/sent ratio; 0: FRAME_DEFAULT_MAX_RATIO */
};

#define FRAME_DEFAULT_MAX_FRAME (4u << 20)
#define FRAME_DEFAULT_MAX_INFLATED (16u << 20)
/* A batch of DNS events deflates about 5-10x; zeros deflate ~1000x. */
#define FRAME_DEFAULT_MAX_RATIO 100u

/* A decoded frame. payload (inflated when it was compressed) belongs to the decoder and stays
 * valid until the next frame_decode call. */
struct frame {
	enum frame_type type;
	unsigned int flags;
	const uint8_t *payload;
	size_t len;
};

struct frame_decoder;

struct frame_decoder *frame_decoder_new(const struct frame_decoder_opts *opts);
void frame_decoder_free(struct frame_decoder *d);

/* Consumes bytes from *data (advancing *data, shrinking *len) up to the end of the next frame.
 * Returns 1 with *out filled when a frame is complete (call again: *len may hold more), 0 when
 * all of *len was consumed without completing one, or a sticky negative errno, with
 * frame_decoder_error naming the reason:
 *   -EBADMSG   bad magic, or a corrupt or trailing-garbage deflate stream
 *   -EPROTO    unsupported version, unknown type or unknown flags
 *   -EMSGSIZE  length over max_frame, or inflated size over max_inflated or max_ratio
 *   -ENOMEM    out of memory */
int frame_decode(struct frame_decoder *d, const uint8_t **data, size_t *len, struct frame *out);

/* At the end of the stream: 0 when it ended between frames, else -EPIPE ("truncated frame"). */
int frame_decoder_finish(struct frame_decoder *d);

/* Why the last call failed, "" when none did. */
const char *frame_decoder_error(const struct frame_decoder *d);

/* The most bytes the decoder's buffers held at once: for tests of the caps. */
size_t frame_decoder_peak(const struct frame_decoder *d);

#endif
