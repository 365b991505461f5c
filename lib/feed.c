/* The collector feed's small messages (lib/feed.h). Hello and Ack go through protobuf-c; a Batch
 * is written and walked by hand, so that neither side builds a protobuf-c tree of a thousand
 * events only to serialize or split it again. */
#include "feed.h"

#include <errno.h>
#include <string.h>

#include "frame.h"
#include "proto/dnsvigil.pb-c.h"

/* Batch field numbers (proto/dnsvigil.proto) */
enum { BATCH_AGENT_ID = 1, BATCH_HOST = 2, BATCH_BOOT_ID = 3, BATCH_SEQ = 4, BATCH_EVENTS = 5 };

enum wire_type { WT_VARINT = 0, WT_I64 = 1, WT_LEN = 2, WT_I32 = 5 };

/* Frames a packed protobuf-c message, uncompressed: they are a few dozen bytes. */
static int frame_message(struct jbuf *out, enum frame_type type, const ProtobufCMessage *m)
{
	uint8_t buf[4 * FEED_ID_MAX + 32];
	size_t len = protobuf_c_message_get_packed_size(m);

	if (len > sizeof(buf))
		return -ENAMETOOLONG;
	protobuf_c_message_pack(m, buf);
	return frame_encode(out, type, 0, buf, len);
}

int feed_hello_frame(struct jbuf *out, const struct feed_hello *h)
{
	Dnsvigil__V1__Hello m = DNSVIGIL__V1__HELLO__INIT;

	m.protocol_version = h->protocol_version;
	m.agent_id = (char *)h->agent_id;
	m.host = (char *)h->host;
	m.boot_id = (char *)h->boot_id;
	m.agent_version = (char *)h->agent_version;
	return frame_message(out, FRAME_HELLO, &m.base);
}

/* Copies s into a FEED_ID_MAX buffer; false when it does not fit. */
static bool copy_id(char *dst, const char *s, size_t len)
{
	if (len >= FEED_ID_MAX || memchr(s, '\0', len))
		return false;
	memcpy(dst, s, len);
	dst[len] = '\0';
	return true;
}

int feed_hello_decode(const uint8_t *p, size_t len, struct feed_hello *h)
{
	Dnsvigil__V1__Hello *m = dnsvigil__v1__hello__unpack(NULL, len, p);
	bool ok;

	if (!m)
		return -EBADMSG;
	h->protocol_version = m->protocol_version;
	ok = copy_id(h->agent_id, m->agent_id, strlen(m->agent_id)) &&
	     copy_id(h->host, m->host, strlen(m->host)) &&
	     copy_id(h->boot_id, m->boot_id, strlen(m->boot_id)) &&
	     copy_id(h->agent_version, m->agent_version, strlen(m->agent_version));
	dnsvigil__v1__hello__free_unpacked(m, NULL);
	return ok ? 0 : -EBADMSG;
}

int feed_ack_frame(struct jbuf *out, uint64_t seq)
{
	Dnsvigil__V1__Ack m = DNSVIGIL__V1__ACK__INIT;

	m.seq = seq;
	return frame_message(out, FRAME_ACK, &m.base);
}

int feed_ack_decode(const uint8_t *p, size_t len, uint64_t *seq)
{
	Dnsvigil__V1__Ack *m = dnsvigil__v1__ack__unpack(NULL, len, p);

	if (!m)
		return -EBADMSG;
	*seq = m->seq;
	dnsvigil__v1__ack__free_unpacked(m, NULL);
	return 0;
}

static void put_varint(struct jbuf *b, uint64_t v)
{
	if (!jbuf_reserve(b, 10))
		return;
	while (v >= 0x80) {
		b->p[b->len++] = (char)(v | 0x80);
		v >>= 7;
	}
	b->p[b->len++] = (char)v;
}

static void put_bytes(struct jbuf *b, unsigned int field, const void *p, size_t len)
{
	put_varint(b, field << 3 | WT_LEN);
	put_varint(b, len);
	jbuf_raw(b, p, len);
}

void feed_batch_begin(struct jbuf *b, const struct feed_batch_header *h)
{
	jbuf_reset(b);
	put_bytes(b, BATCH_AGENT_ID, h->agent_id, strlen(h->agent_id));
	put_bytes(b, BATCH_HOST, h->host, strlen(h->host));
	put_bytes(b, BATCH_BOOT_ID, h->boot_id, strlen(h->boot_id));
	put_varint(b, BATCH_SEQ << 3 | WT_VARINT);
	put_varint(b, h->seq);
}

void feed_batch_add(struct jbuf *b, const uint8_t *event, size_t len)
{
	put_bytes(b, BATCH_EVENTS, event, len);
}

/* Reads a varint at *p (< end); false when truncated or longer than 10 bytes. */
static bool get_varint(const uint8_t **p, const uint8_t *end, uint64_t *v)
{
	uint64_t r = 0;

	for (unsigned int shift = 0; shift < 64 && *p < end; shift += 7) {
		uint8_t c = *(*p)++;

		r |= (uint64_t)(c & 0x7f) << shift;
		if (!(c & 0x80)) {
			*v = r;
			return true;
		}
	}
	return false;
}

/* One field: its number, wire type and, for WT_LEN, the slice. Skips the value of the others. */
struct field {
	uint64_t number;
	enum wire_type type;
	uint64_t varint;
	const uint8_t *data;
	size_t len;
};

static int next_field(const uint8_t **p, const uint8_t *end, struct field *f, const char **why)
{
	uint64_t tag, len;

	if (!get_varint(p, end, &tag)) {
		*why = "truncated field tag";
		return -EBADMSG;
	}
	f->number = tag >> 3;
	f->type = tag & 7;
	if (f->number == 0) {
		*why = "field number 0";
		return -EBADMSG;
	}
	switch (f->type) {
	case WT_VARINT:
		if (!get_varint(p, end, &f->varint)) {
			*why = "truncated varint";
			return -EBADMSG;
		}
		return 0;
	case WT_I64:
	case WT_I32:
		len = f->type == WT_I64 ? 8 : 4;
		break;
	case WT_LEN:
		if (!get_varint(p, end, &len)) {
			*why = "truncated length";
			return -EBADMSG;
		}
		break;
	default:
		*why = "unsupported wire type";
		return -EBADMSG;
	}
	if (len > (size_t)(end - *p)) {
		*why = "field runs past the end of the batch";
		return -EBADMSG;
	}
	f->data = *p;
	f->len = len;
	*p += len;
	return 0;
}

int feed_batch_parse(const uint8_t *p, size_t len, struct feed_batch *b, const char **why)
{
	const uint8_t *pos = p, *end = p + len;
	char *ids[] = { [BATCH_AGENT_ID] = b->agent_id, [BATCH_HOST] = b->host,
			[BATCH_BOOT_ID] = b->boot_id };
	struct field f;
	int err;

	memset(b, 0, sizeof(*b));
	while (pos < end) {
		err = next_field(&pos, end, &f, why);
		if (err)
			return err;
		switch (f.number) {
		case BATCH_AGENT_ID:
		case BATCH_HOST:
		case BATCH_BOOT_ID:
			if (f.type != WT_LEN || !copy_id(ids[f.number], (const char *)f.data, f.len)) {
				*why = "bad agent_id, host or boot_id";
				return -EBADMSG;
			}
			break;
		case BATCH_SEQ:
			if (f.type != WT_VARINT) {
				*why = "seq is not a varint";
				return -EBADMSG;
			}
			b->seq = f.varint;
			break;
		case BATCH_EVENTS:
			if (f.type != WT_LEN) {
				*why = "event is not length-delimited";
				return -EBADMSG;
			}
			b->n_events++;
			break;
		default: /* a newer agent's field: ignored */
			break;
		}
	}
	b->pos = p;
	b->end = end;
	*why = "";
	return 0;
}

int feed_batch_next(struct feed_batch *b, const uint8_t **event, size_t *len)
{
	const char *why;
	struct field f;

	/* feed_batch_parse checked the structure: next_field cannot fail here. */
	while (b->pos < b->end && next_field(&b->pos, b->end, &f, &why) == 0) {
		if (f.number == BATCH_EVENTS) {
			*event = f.data;
			*len = f.len;
			return 1;
		}
	}
	return 0;
}
