/* A one-pass protobuf decoder into protobuf-c's generated structs, for the collector's hot
 * path. protobuf_c_message_unpack scans every message twice and keeps a record per field
 * between the passes; this walks the bytes once, into the same structs, with a table per
 * message type compiled from its descriptor on first use: 4.5 k instructions for a typical
 * 285-byte Event of 138 fields against protobuf-c's 11.2 k (callgrind).
 *
 * It reads what protobuf-c reads and refuses what it refuses: a truncated varint or field, a
 * known field with a wire type its type cannot have, a group; repeated scalars packed or not;
 * a repeated field appended to, the last of a oneof wins and starts afresh. Unknown fields
 * are skipped, not kept (the tree is read, never packed again). Where protobuf-c departs from
 * the protobuf spec this follows the spec: a singular message given twice is one message with
 * the fields of both (protobuf-c 1.4 resets the first one's scalars to the second's
 * defaults), and a packed bool is a varint like any other. Proto3 only:
 * a field labelled optional or required (proto2) fails the decode. tests/unit/test_pb_unpack.c
 * holds it to protobuf-c on a schema of every field type, random and malformed.
 *
 * Every message, string and array comes from alloc and nothing is freed on error: hand it an
 * arena that is reset after use (event_pb's). */
#ifndef DNSVIGIL_PB_UNPACK_H
#define DNSVIGIL_PB_UNPACK_H

#include <stddef.h>
#include <stdint.h>

#include <protobuf-c/protobuf-c.h>

/* The message of type d in buf[0..len), or NULL when the bytes are no such message or alloc
 * failed. */
ProtobufCMessage *pb_unpack(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *alloc,
			    const uint8_t *buf, size_t len);

#endif
