/* One-pass protobuf decoding into protobuf-c's structs: see pb_unpack.h. */
#include "pb_unpack.h"

#include <stdbool.h>
#include <string.h>

enum wire { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* Hostile input nests no deeper than the schema does, unless a message type contains itself:
 * then this bounds the recursion. */
#define PB_MAX_DEPTH 64

struct unpacker {
	ProtobufCAllocator *alloc;
	unsigned depth;
};

/* One field's value as it came: the varint, or where its bytes are (after a LEN's length). */
struct value {
	enum wire wire;
	uint64_t varint;
	const uint8_t *data;
	size_t len;
	const uint8_t *raw, *raw_end; /* all of the value's bytes, a LEN's length included */
};

static void *take(struct unpacker *u, size_t n)
{
	return u->alloc->alloc(u->alloc->allocator_data, n ? n : 1);
}

/* A varint of at most max bytes: 10 for values; 5 for keys and lengths, which protobuf-c
 * reads as 32 bits. */
static inline bool get_varint(const uint8_t **p, const uint8_t *end, unsigned max, uint64_t *v)
{
	const uint8_t *q = *p;
	uint64_t x = 0;

	if (q < end && *q < 0x80) { /* most are one byte */
		*v = *q;
		*p = q + 1;
		return true;
	}
	if ((size_t)(end - q) < max)
		max = end - q;
	for (unsigned i = 0; i < max; i++) {
		x |= (uint64_t)(q[i] & 0x7f) << (7 * i);
		if (!(q[i] & 0x80)) {
			*v = x;
			*p = q + i + 1;
			return true;
		}
	}
	return false;
}

static uint64_t get_le(const uint8_t *p, unsigned n)
{
	uint64_t v = 0;

	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

static size_t elt_size(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_SINT64:
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_UINT64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return 8;
	case PROTOBUF_C_TYPE_BOOL:
		return sizeof(protobuf_c_boolean);
	case PROTOBUF_C_TYPE_STRING:
		return sizeof(char *);
	case PROTOBUF_C_TYPE_BYTES:
		return sizeof(ProtobufCBinaryData);
	case PROTOBUF_C_TYPE_MESSAGE:
		return sizeof(ProtobufCMessage *);
	default:
		return 4;
	}
}

static enum wire wire_of(ProtobufCType t)
{
	switch (t) {
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		return WIRE_I32;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		return WIRE_I64;
	case PROTOBUF_C_TYPE_STRING:
	case PROTOBUF_C_TYPE_BYTES:
	case PROTOBUF_C_TYPE_MESSAGE:
		return WIRE_LEN;
	default:
		return WIRE_VARINT;
	}
}

/* The field numbered id: fields are sorted by number and mostly arrive in order, so the one
 * after the last found is tried first, then the last found again (a repeated field). */
static const ProtobufCFieldDescriptor *field_of(const ProtobufCMessageDescriptor *d, uint32_t id,
						unsigned *next)
{
	unsigned lo = 0, hi = d->n_fields;

	if (*next < d->n_fields && d->fields[*next].id == id)
		return &d->fields[(*next)++];
	if (*next && d->fields[*next - 1].id == id)
		return &d->fields[*next - 1];
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (d->fields[mid].id < id)
			lo = mid + 1;
		else if (d->fields[mid].id > id)
			hi = mid;
		else {
			*next = mid + 1;
			return &d->fields[mid];
		}
	}
	return NULL;
}

/* Room for n + extra elements of size sz in *array, which holds n: arrays are kept at a
 * power of two from 4 up, so the capacity follows from the count. The first new slot, or
 * NULL. */
static void *grow(struct unpacker *u, void **array, size_t n, size_t sz, size_t extra)
{
	size_t cap = 4, want = n + extra;
	void *a;

	while (cap < n)
		cap *= 2;
	if (n && want <= cap)
		return (char *)*array + n * sz;
	while (cap < want)
		cap *= 2;
	if (want < n || cap > SIZE_MAX / sz || !(a = take(u, cap * sz)))
		return NULL;
	if (n)
		memcpy(a, *array, n * sz);
	*array = a;
	return (char *)a + n * sz;
}

static bool decode_into(struct unpacker *u, const ProtobufCMessageDescriptor *d,
			ProtobufCMessage *m, const uint8_t *p, const uint8_t *end);

static ProtobufCMessage *new_message(struct unpacker *u, const ProtobufCMessageDescriptor *d,
				     const uint8_t *p, size_t len)
{
	ProtobufCMessage *m;
	bool ok;

	if (u->depth == PB_MAX_DEPTH || !(m = take(u, d->sizeof_message)))
		return NULL;
	protobuf_c_message_init(d, m);
	u->depth++;
	ok = decode_into(u, d, m, p, p + len);
	u->depth--;
	return ok ? m : NULL;
}

/* A scalar, string or bytes value of type t into dst; false when its wire type cannot carry
 * t (or out of memory). */
static bool get_scalar(struct unpacker *u, ProtobufCType t, const struct value *v,
			      void *dst)
{
	uint64_t x = v->varint;

	switch (t) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM: /* the low 32 bits, as protobuf-c keeps them */
		*(uint32_t *)dst = (uint32_t)x;
		return v->wire == WIRE_VARINT;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		*(uint64_t *)dst = x;
		return v->wire == WIRE_VARINT;
	case PROTOBUF_C_TYPE_SINT32: {
		uint32_t z = (uint32_t)x;

		*(int32_t *)dst = (int32_t)((z >> 1) ^ -(z & 1));
		return v->wire == WIRE_VARINT;
	}
	case PROTOBUF_C_TYPE_SINT64:
		*(int64_t *)dst = (int64_t)((x >> 1) ^ -(x & 1));
		return v->wire == WIRE_VARINT;
	case PROTOBUF_C_TYPE_BOOL: {
		/* protobuf-c takes a bool in any wire type: set when any bit of it is */
		protobuf_c_boolean b = 0;

		for (const uint8_t *q = v->raw; q < v->raw_end; q++)
			b |= (*q & 0x7f) != 0;
		*(protobuf_c_boolean *)dst = b;
		return true;
	}
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		if (v->wire != WIRE_I32)
			return false;
		*(uint32_t *)dst = (uint32_t)get_le(v->data, 4);
		return true;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		if (v->wire != WIRE_I64)
			return false;
		*(uint64_t *)dst = get_le(v->data, 8);
		return true;
	case PROTOBUF_C_TYPE_STRING: {
		char *str;

		if (v->wire != WIRE_LEN || !(str = take(u, v->len + 1)))
			return false;
		memcpy(str, v->data, v->len);
		str[v->len] = '\0';
		*(char **)dst = str;
		return true;
	}
	case PROTOBUF_C_TYPE_BYTES: {
		ProtobufCBinaryData *bd = dst;

		if (v->wire != WIRE_LEN)
			return false;
		bd->len = v->len;
		bd->data = NULL;
		if (v->len) {
			if (!(bd->data = take(u, v->len)))
				return false;
			memcpy(bd->data, v->data, v->len);
		}
		return true;
	}
	default: /* messages are decode_field's */
		return false;
	}
}

/* A packed run of a repeated scalar, appended. */
static bool get_packed(struct unpacker *u, const ProtobufCFieldDescriptor *f, const struct value *v,
		       size_t *n, void **array)
{
	const uint8_t *q = v->data, *end = v->data + v->len;
	size_t sz = elt_size(f->type), count = 0;
	enum wire w = wire_of(f->type);
	uint8_t *slot;

	if (w == WIRE_I32 || w == WIRE_I64) {
		unsigned width = w == WIRE_I32 ? 4 : 8;

		if (v->len % width)
			return false;
		count = v->len / width;
	} else {
		for (size_t i = 0; i < v->len; i++)
			count += !(q[i] & 0x80);
	}
	if (!count) /* empty, or a varint left unterminated */
		return !v->len;
	if (!(slot = grow(u, array, *n, sz, count)))
		return false;
	for (size_t i = 0; i < count; i++, slot += sz) {
		struct value e = { .wire = w, .data = q, .raw = q };

		if (w == WIRE_VARINT) {
			if (!get_varint(&q, end, 10, &e.varint))
				return false;
		} else {
			q += w == WIRE_I32 ? 4 : 8;
		}
		e.raw_end = q;
		get_scalar(u, f->type, &e, slot);
	}
	if (q != end) /* a varint left unterminated */
		return false;
	*n += count;
	return true;
}

static bool decode_field(struct unpacker *u, ProtobufCMessage *m,
			 const ProtobufCFieldDescriptor *f, const struct value *v)
{
	char *member = (char *)m + f->offset;

	if (f->label == PROTOBUF_C_LABEL_REPEATED) {
		size_t *n = (size_t *)((char *)m + f->quantifier_offset);
		void *slot;

		if (v->wire == WIRE_LEN && wire_of(f->type) != WIRE_LEN)
			return get_packed(u, f, v, n, (void **)member);
		if (!(slot = grow(u, (void **)member, *n, elt_size(f->type), 1)))
			return false;
		if (f->type == PROTOBUF_C_TYPE_MESSAGE) {
			if (v->wire != WIRE_LEN ||
			    !(*(ProtobufCMessage **)slot = new_message(u, f->descriptor, v->data, v->len)))
				return false;
		} else if (!get_scalar(u, f->type, v, slot)) {
			return false;
		}
		(*n)++;
		return true;
	}
	if (f->label != PROTOBUF_C_LABEL_NONE)
		return false; /* proto2's optional and required: pb_unpack.h */
	if (f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) {
		/* the last member of a oneof given wins, and starts afresh */
		uint32_t *which = (uint32_t *)((char *)m + f->quantifier_offset);

		if (*which)
			memset(member, 0, elt_size(f->type));
		*which = f->id;
	}
	if (f->type != PROTOBUF_C_TYPE_MESSAGE)
		return get_scalar(u, f->type, v, member);
	if (v->wire != WIRE_LEN)
		return false;
	if (*(ProtobufCMessage **)member) {
		/* a singular message given again: its fields are decoded over the first's */
		bool ok;

		if (u->depth == PB_MAX_DEPTH)
			return false;
		u->depth++;
		ok = decode_into(u, f->descriptor, *(ProtobufCMessage **)member, v->data,
				 v->data + v->len);
		u->depth--;
		return ok;
	}
	return (*(ProtobufCMessage **)member = new_message(u, f->descriptor, v->data, v->len));
}

static bool decode_into(struct unpacker *u, const ProtobufCMessageDescriptor *d,
			ProtobufCMessage *m, const uint8_t *p, const uint8_t *end)
{
	unsigned next = 0;

	while (p < end) {
		const ProtobufCFieldDescriptor *f;
		struct value v;
		uint64_t key, len;

		if (!get_varint(&p, end, 5, &key))
			return false;
		v.wire = key & 7;
		v.raw = p;
		switch (v.wire) {
		case WIRE_VARINT:
			if (!get_varint(&p, end, 10, &v.varint))
				return false;
			v.data = NULL;
			v.len = 0;
			break;
		case WIRE_I64:
		case WIRE_I32:
			v.len = v.wire == WIRE_I64 ? 8 : 4;
			if ((size_t)(end - p) < v.len)
				return false;
			v.data = p;
			v.varint = 0;
			p += v.len;
			break;
		case WIRE_LEN:
			if (!get_varint(&p, end, 5, &len) || (uint32_t)len > (size_t)(end - p))
				return false;
			v.data = p;
			v.len = (uint32_t)len;
			v.varint = 0;
			p += v.len;
			break;
		default: /* groups (3, 4) and the unassigned 6, 7 */
			return false;
		}
		v.raw_end = p;
		f = field_of(d, (uint32_t)(key >> 3), &next);
		if (f && !decode_field(u, m, f, &v))
			return false;
	}
	return true;
}

ProtobufCMessage *pb_unpack(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *alloc,
			    const uint8_t *buf, size_t len)
{
	struct unpacker u = { .alloc = alloc };

	return new_message(&u, d, buf, len);
}
