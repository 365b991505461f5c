/* Events as protobuf (proto/dnsvigil.proto, dnsvigil.v1.Event): what the agent ships to the
 * collector and the collector turns back into the same struct event, so that both render the
 * same JSON (lib/event_json.c). */
#ifndef DNSVIGIL_EVENT_PB_H
#define DNSVIGIL_EVENT_PB_H

#include <stddef.h>
#include <stdint.h>

#include "event.h"

/* Decoding refuses a larger Event: a DNS message is at most 64 KiB, the rest is small. */
#define EVENT_PB_MAX_LEN (256 * 1024)

/* event_pb_new flags */
#define EVENT_PB_RAW (1u << 0) /* send the raw bytes of every dns event, not only malformed */

struct event_pb;

/* An encoder with its reused buffers; NULL when memory runs out. */
struct event_pb *event_pb_new(unsigned int flags);
void event_pb_free(struct event_pb *pb);

/* Encodes ev (a dns, timeout, resolver_call or stats event) as an Event. *out points into
 * the encoder and is valid until its next call; after the first events nothing is
 * allocated. Returns 0, -EINVAL for an event no output renders, or -ENOMEM. */
int event_pb_encode(struct event_pb *pb, const struct event *ev, const uint8_t **out,
		    size_t *len);

/* Decodes an Event from untrusted bytes into an owned event (one allocation: event_free; a
 * stats event's registry and values are in it too). Returns 0, -EMSGSIZE when len exceeds
 * EVENT_PB_MAX_LEN, -EBADMSG for bytes that are no valid Event (logged at debug level with
 * the reason), or -ENOMEM. */
int event_pb_decode(const uint8_t *buf, size_t len, struct event **out);

/* Whether event_pb_decode would take the bytes, without building the event: for a reader
 * that passes them on. 0, -EMSGSIZE, -EBADMSG or -ENOMEM as there. */
int event_pb_check(const uint8_t *buf, size_t len);

#endif
