/* One-pass protobuf decoding into protobuf-c's structs: see pb_unpack.h.
 *
 * Each message type is compiled once, on first use, from its descriptor into a table of
 * field ops indexed by field number: what a field holds, where, and which wire type carries
 * it. Decoding is then a loop of key, value and one switch per field, with no descriptor
 * search and no label and type tests on the way. */
#include "pb_unpack.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum wire { WIRE_VARINT = 0, WIRE_I64 = 1, WIRE_LEN = 2, WIRE_I32 = 5 };

/* Hostile input nests no deeper than the schema does, unless a message type contains itself:
 * then this bounds the recursion. */
#define PB_MAX_DEPTH 64
/* Fields numbered below this are found by index; the rare higher ones by binary search. */
#define PB_DENSE_IDS 64

enum op_kind {
	OP_U32,    /* int32, uint32, enum: the varint's low 32 bits */
	OP_U64,    /* int64, uint64 */
	OP_S32,    /* sint32: zigzag */
	OP_S64,    /* sint64: zigzag */
	OP_BOOL,   /* any bit set, in any wire type (as protobuf-c reads it) */
	OP_FIXED32, /* fixed32, sfixed32, float */
	OP_FIXED64, /* fixed64, sfixed64, double */
	OP_STRING,
	OP_BYTES,
	OP_MESSAGE,
};

struct table;

struct op {
	uint32_t id;
	uint8_t kind;      /* enum op_kind */
	uint8_t wire;      /* the wire type of one value */
	bool repeated;
	bool oneof;
	uint32_t offset;     /* of the member, or of a repeated field's array */
	uint32_t quantifier; /* of a oneof's case, or of a repeated field's count */
	uint32_t size;       /* of one element */
	const struct table *sub; /* a message's */
};

struct table {
	const ProtobufCMessageDescriptor *desc;
	struct table *next; /* in the list of compiled tables */
	unsigned n_ops;
	struct op *ops;                       /* sorted by id */
	const struct op *dense[PB_DENSE_IDS]; /* ops by id, below PB_DENSE_IDS */
};

/* Compiled tables, never freed: a schema's types live as long as the program. Readers walk
 * the list without the lock; a table is linked in once it is complete. */
static struct table *tables;
static pthread_mutex_t tables_lock = PTHREAD_MUTEX_INITIALIZER;

static struct op compile_op(const ProtobufCFieldDescriptor *f)
{
	struct op op = {
		.id = f->id,
		.repeated = f->label == PROTOBUF_C_LABEL_REPEATED,
		.oneof = f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF,
		.offset = f->offset,
		.quantifier = f->quantifier_offset,
		.wire = WIRE_VARINT,
		.size = 4,
	};

	switch (f->type) {
	case PROTOBUF_C_TYPE_INT32:
	case PROTOBUF_C_TYPE_UINT32:
	case PROTOBUF_C_TYPE_ENUM:
		op.kind = OP_U32;
		break;
	case PROTOBUF_C_TYPE_SINT32:
		op.kind = OP_S32;
		break;
	case PROTOBUF_C_TYPE_INT64:
	case PROTOBUF_C_TYPE_UINT64:
		op.kind = OP_U64;
		op.size = 8;
		break;
	case PROTOBUF_C_TYPE_SINT64:
		op.kind = OP_S64;
		op.size = 8;
		break;
	case PROTOBUF_C_TYPE_BOOL:
		op.kind = OP_BOOL;
		op.size = sizeof(protobuf_c_boolean);
		break;
	case PROTOBUF_C_TYPE_SFIXED32:
	case PROTOBUF_C_TYPE_FIXED32:
	case PROTOBUF_C_TYPE_FLOAT:
		op.kind = OP_FIXED32;
		op.wire = WIRE_I32;
		break;
	case PROTOBUF_C_TYPE_SFIXED64:
	case PROTOBUF_C_TYPE_FIXED64:
	case PROTOBUF_C_TYPE_DOUBLE:
		op.kind = OP_FIXED64;
		op.wire = WIRE_I64;
		op.size = 8;
		break;
	case PROTOBUF_C_TYPE_STRING:
		op.kind = OP_STRING;
		op.wire = WIRE_LEN;
		op.size = sizeof(char *);
		break;
	case PROTOBUF_C_TYPE_BYTES:
		op.kind = OP_BYTES;
		op.wire = WIRE_LEN;
		op.size = sizeof(ProtobufCBinaryData);
		break;
	case PROTOBUF_C_TYPE_MESSAGE:
		op.kind = OP_MESSAGE;
		op.wire = WIRE_LEN;
		op.size = sizeof(ProtobufCMessage *);
		break;
	}
	return op;
}

static struct table *find_table(const ProtobufCMessageDescriptor *d)
{
	for (struct table *t = __atomic_load_n(&tables, __ATOMIC_ACQUIRE); t; t = t->next)
		if (t->desc == d)
			return t;
	return NULL;
}

static void free_tables(struct table *t)
{
	while (t) {
		struct table *next = t->next;

		free(t->ops);
		free(t);
		t = next;
	}
}

/* The table of d and of every message type it reaches, onto *built (linked in by the
 * caller). NULL when out of memory, or when a field is labelled optional or required:
 * proto2, which this decoder does not read. */
static struct table *compile(const ProtobufCMessageDescriptor *d, struct table **built)
{
	struct table *t = find_table(d);

	for (struct table *b = *built; !t && b; b = b->next)
		if (b->desc == d)
			t = b;
	if (t)
		return t;
	if (!(t = calloc(1, sizeof(*t))) || !(t->ops = calloc(d->n_fields + 1, sizeof(*t->ops)))) {
		free(t);
		return NULL;
	}
	t->desc = d;
	t->n_ops = d->n_fields;
	t->next = *built; /* before its fields: a type that contains itself finds itself */
	*built = t;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		struct op *op = &t->ops[i];

		if (f->label == PROTOBUF_C_LABEL_OPTIONAL || f->label == PROTOBUF_C_LABEL_REQUIRED)
			return NULL;
		*op = compile_op(f);
		if (op->kind == OP_MESSAGE && !(op->sub = compile(f->descriptor, built)))
			return NULL;
		if (op->id < PB_DENSE_IDS)
			t->dense[op->id] = op;
	}
	return t;
}

static const struct table *table_of(const ProtobufCMessageDescriptor *d)
{
	static __thread const struct table *recent; /* one type decoded again and again */
	struct table *t, *built = NULL, *last;

	if (recent && recent->desc == d)
		return recent;
	if ((t = find_table(d)))
		return recent = t;
	pthread_mutex_lock(&tables_lock);
	t = find_table(d);
	if (!t && !(t = compile(d, &built))) {
		free_tables(built);
	} else if (built) {
		for (last = built; last->next; last = last->next)
			;
		last->next = tables;
		__atomic_store_n(&tables, built, __ATOMIC_RELEASE);
	}
	pthread_mutex_unlock(&tables_lock);
	return recent = t;
}

static const struct op *op_of(const struct table *t, uint32_t id)
{
	unsigned lo = 0, hi = t->n_ops;

	if (id < PB_DENSE_IDS)
		return t->dense[id];
	while (lo < hi) {
		unsigned mid = lo + (hi - lo) / 2;

		if (t->ops[mid].id < id)
			lo = mid + 1;
		else if (t->ops[mid].id > id)
			hi = mid;
		else
			return &t->ops[mid];
	}
	return NULL;
}

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
static inline __attribute__((always_inline)) bool get_varint(const uint8_t **p, const uint8_t *end, unsigned max, uint64_t *v)
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

static bool decode_into(struct unpacker *u, const struct table *t, ProtobufCMessage *m,
			const uint8_t *p, const uint8_t *end);

static ProtobufCMessage *new_message(struct unpacker *u, const struct table *t,
				     const uint8_t *p, size_t len)
{
	ProtobufCMessage *m;
	bool ok;

	if (u->depth == PB_MAX_DEPTH || !(m = take(u, t->desc->sizeof_message)))
		return NULL;
	protobuf_c_message_init(t->desc, m);
	u->depth++;
	ok = decode_into(u, t, m, p, p + len);
	u->depth--;
	return ok ? m : NULL;
}

/* One value of a non-message op into dst; false when its wire type cannot carry it (or out
 * of memory). */
static inline __attribute__((always_inline)) bool get_value(struct unpacker *u, const struct op *op,
							   const struct value *v, void *dst)
{
	uint64_t x = v->varint;

	if (op->kind == OP_BOOL) {
		protobuf_c_boolean b = 0;

		for (const uint8_t *q = v->raw; q < v->raw_end; q++)
			b |= (*q & 0x7f) != 0;
		*(protobuf_c_boolean *)dst = b;
		return true;
	}
	if (v->wire != op->wire)
		return false;
	switch (op->kind) {
	case OP_U32:
		*(uint32_t *)dst = (uint32_t)x;
		return true;
	case OP_U64:
		*(uint64_t *)dst = x;
		return true;
	case OP_S32: {
		uint32_t z = (uint32_t)x;

		*(int32_t *)dst = (int32_t)((z >> 1) ^ -(z & 1));
		return true;
	}
	case OP_S64:
		*(int64_t *)dst = (int64_t)((x >> 1) ^ -(x & 1));
		return true;
	case OP_FIXED32:
		*(uint32_t *)dst = (uint32_t)get_le(v->data, 4);
		return true;
	case OP_FIXED64:
		*(uint64_t *)dst = get_le(v->data, 8);
		return true;
	case OP_STRING: {
		char *str = take(u, v->len + 1);

		if (!str)
			return false;
		memcpy(str, v->data, v->len);
		str[v->len] = '\0';
		*(char **)dst = str;
		return true;
	}
	case OP_BYTES: {
		ProtobufCBinaryData *bd = dst;

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
static bool get_packed(struct unpacker *u, const struct op *op, const struct value *v, size_t *n,
		       void **array)
{
	const uint8_t *q = v->data, *end = v->data + v->len;
	size_t count = 0;
	uint8_t *slot;

	if (op->wire != WIRE_VARINT) {
		unsigned width = op->wire == WIRE_I32 ? 4 : 8;

		if (v->len % width)
			return false;
		count = v->len / width;
	} else {
		for (size_t i = 0; i < v->len; i++)
			count += !(q[i] & 0x80);
	}
	if (!count) /* empty, or a varint left unterminated */
		return !v->len;
	if (!(slot = grow(u, array, *n, op->size, count)))
		return false;
	for (size_t i = 0; i < count; i++, slot += op->size) {
		struct value e = { .wire = op->wire, .data = q, .raw = q };

		if (op->wire == WIRE_VARINT) {
			if (!get_varint(&q, end, 10, &e.varint))
				return false;
		} else {
			q += op->wire == WIRE_I32 ? 4 : 8;
		}
		e.raw_end = q;
		get_value(u, op, &e, slot);
	}
	if (q != end) /* a varint left unterminated */
		return false;
	*n += count;
	return true;
}

static bool decode_field(struct unpacker *u, ProtobufCMessage *m, const struct op *op,
			 const struct value *v)
{
	char *member = (char *)m + op->offset;

	if (op->repeated) {
		size_t *n = (size_t *)((char *)m + op->quantifier);
		void *slot;

		if (v->wire == WIRE_LEN && op->wire != WIRE_LEN)
			return get_packed(u, op, v, n, (void **)member);
		if (!(slot = grow(u, (void **)member, *n, op->size, 1)))
			return false;
		if (op->kind == OP_MESSAGE) {
			if (v->wire != WIRE_LEN ||
			    !(*(ProtobufCMessage **)slot = new_message(u, op->sub, v->data, v->len)))
				return false;
		} else if (!get_value(u, op, v, slot)) {
			return false;
		}
		(*n)++;
		return true;
	}
	if (op->oneof) {
		/* the last member of a oneof given wins, and starts afresh */
		uint32_t *which = (uint32_t *)((char *)m + op->quantifier);

		if (*which)
			memset(member, 0, op->size);
		*which = op->id;
	}
	if (op->kind != OP_MESSAGE)
		return get_value(u, op, v, member);
	if (v->wire != WIRE_LEN)
		return false;
	if (*(ProtobufCMessage **)member) {
		/* a singular message given again: its fields are decoded over the first's */
		bool ok;

		if (u->depth == PB_MAX_DEPTH)
			return false;
		u->depth++;
		ok = decode_into(u, op->sub, *(ProtobufCMessage **)member, v->data, v->data + v->len);
		u->depth--;
		return ok;
	}
	return (*(ProtobufCMessage **)member = new_message(u, op->sub, v->data, v->len));
}

static bool decode_into(struct unpacker *u, const struct table *t, ProtobufCMessage *m,
			const uint8_t *p, const uint8_t *end)
{
	while (p < end) {
		const struct op *op;
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
		op = op_of(t, (uint32_t)(key >> 3));
		if (op && !decode_field(u, m, op, &v))
			return false;
	}
	return true;
}

ProtobufCMessage *pb_unpack(const ProtobufCMessageDescriptor *d, ProtobufCAllocator *alloc,
			    const uint8_t *buf, size_t len)
{
	struct unpacker u = { .alloc = alloc };
	const struct table *t = table_of(d);

	return t ? new_message(&u, t, buf, len) : NULL;
}
