/* lib/pb_unpack.c against protobuf-c's own unpack, on a schema of every field type
 * (tests/unit/pb_unpack_test.proto): random messages decode to trees that pack to the same
 * bytes, malformed bytes are refused by both, and the merge and oneof rules hold. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "pb_unpack.h"
#include "pb_unpack_test.pb-c.h"

/* A bump arena, as event_pb hands pb_unpack one: reset after each decode. */
static uint8_t arena[1 << 20];
static size_t arena_used;

static void *arena_alloc(void *data, size_t size)
{
	void *p = arena + arena_used;

	(void)data;
	size = (size + 15) & ~(size_t)15;
	if (arena_used + size > sizeof(arena))
		return NULL;
	arena_used += size;
	return p;
}

static void arena_free(void *data, void *p)
{
	(void)data, (void)p;
}

static ProtobufCAllocator bump = { arena_alloc, arena_free, NULL };

static Pbtest__All *unpack(const uint8_t *p, size_t len)
{
	arena_used = 0;
	return (Pbtest__All *)pb_unpack(&pbtest__all__descriptor, &bump, p, len);
}

/* The bytes a tree packs to, malloc'd. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	uint8_t *out = malloc(protobuf_c_message_get_packed_size(m) + 1);

	assert_non_null(out);
	*len = protobuf_c_message_pack(m, out);
	return out;
}

/* Decodes p both ways: both refuse, or both take it and their trees pack to the same bytes
 * (but for the unknown fields protobuf-c keeps and pb_unpack skips). */
static void assert_same_as_protobuf_c(const uint8_t *p, size_t len)
{
	Pbtest__All *theirs = pbtest__all__unpack(NULL, len, p);
	Pbtest__All *ours = unpack(p, len);
	uint8_t *a, *b;
	size_t na, nb, unknown;

	if (!theirs) {
		assert_null(ours);
		return;
	}
	assert_non_null(ours);
	unknown = theirs->base.n_unknown_fields;
	theirs->base.n_unknown_fields = 0;
	a = pack(&theirs->base, &na);
	theirs->base.n_unknown_fields = unknown;
	b = pack(&ours->base, &nb);
	assert_int_equal(na, nb);
	assert_memory_equal(a, b, na);
	free(a);
	free(b);
	pbtest__all__free_unpacked(theirs, NULL);
}

static uint64_t rnd(void)
{
	return (uint64_t)random() << 33 ^ (uint64_t)random() << 11 ^ (uint64_t)random();
}

static char *rnd_str(void)
{
	size_t n = random() % 40;
	char *s = malloc(n + 1);

	for (size_t i = 0; i < n; i++)
		s[i] = 'a' + random() % 26;
	s[n] = '\0';
	return s;
}

static Pbtest__Inner *rnd_inner(void)
{
	Pbtest__Inner *in = malloc(sizeof(*in));

	pbtest__inner__init(in);
	in->a = rnd();
	in->s = rnd_str();
	in->n_list = random() % 5;
	in->list = malloc(8 * (in->n_list + 1));
	for (size_t i = 0; i < in->n_list; i++)
		in->list[i] = rnd() >> (random() % 64);
	return in;
}

/* Filled at random, every field or (by chance) left at its default. */
static Pbtest__All *rnd_all(void)
{
	Pbtest__All *m = calloc(1, sizeof(*m));
	uint64_t x;

	pbtest__all__init(m);
#define MAYBE if (random() % 4)
	MAYBE m->i32 = (int32_t)rnd();
	MAYBE m->s32 = (int32_t)rnd();
	MAYBE m->sf32 = (int32_t)rnd();
	MAYBE m->u32 = (uint32_t)rnd();
	MAYBE m->f32 = (uint32_t)rnd();
	MAYBE m->i64 = (int64_t)rnd();
	MAYBE m->s64 = (int64_t)rnd();
	MAYBE m->sf64 = (int64_t)rnd();
	MAYBE m->u64 = rnd() >> (random() % 64);
	MAYBE m->f64 = rnd();
	MAYBE m->fl = (float)(rnd() % 100000) / 7;
	MAYBE m->db = (double)rnd() / 3;
	MAYBE m->b = 1;
	MAYBE m->color = random() % 3;
	MAYBE m->str = rnd_str();
	MAYBE {
		m->by.len = random() % 20;
		m->by.data = malloc(m->by.len + 1);
		memset(m->by.data, random(), m->by.len);
	}
	MAYBE m->inner = rnd_inner();
	m->n_r_i32 = random() % 4;
	m->r_i32 = malloc(4 * (m->n_r_i32 + 1));
	for (size_t i = 0; i < m->n_r_i32; i++)
		m->r_i32[i] = (int32_t)rnd();
	m->n_r_s64 = random() % 4;
	m->r_s64 = malloc(8 * (m->n_r_s64 + 1));
	for (size_t i = 0; i < m->n_r_s64; i++)
		m->r_s64[i] = (int64_t)rnd();
	m->n_r_f32 = random() % 4;
	m->r_f32 = malloc(4 * (m->n_r_f32 + 1));
	for (size_t i = 0; i < m->n_r_f32; i++)
		m->r_f32[i] = rnd();
	m->n_r_db = random() % 4;
	m->r_db = malloc(8 * (m->n_r_db + 1));
	for (size_t i = 0; i < m->n_r_db; i++)
		m->r_db[i] = (double)rnd();
	m->n_r_b = random() % 4;
	m->r_b = malloc(sizeof(*m->r_b) * (m->n_r_b + 1));
	for (size_t i = 0; i < m->n_r_b; i++)
		m->r_b[i] = random() % 2;
	m->n_r_str = random() % 4;
	m->r_str = malloc(sizeof(char *) * (m->n_r_str + 1));
	for (size_t i = 0; i < m->n_r_str; i++)
		m->r_str[i] = rnd_str();
	m->n_r_by = random() % 3;
	m->r_by = malloc(sizeof(*m->r_by) * (m->n_r_by + 1));
	for (size_t i = 0; i < m->n_r_by; i++) {
		m->r_by[i].len = random() % 9;
		m->r_by[i].data = malloc(m->r_by[i].len + 1);
		memset(m->r_by[i].data, 0xab, m->r_by[i].len);
	}
	m->n_r_inner = random() % 4;
	m->r_inner = malloc(sizeof(*m->r_inner) * (m->n_r_inner + 1));
	for (size_t i = 0; i < m->n_r_inner; i++)
		m->r_inner[i] = rnd_inner();
	x = random() % 4;
	if (x == 1) {
		m->choice_case = PBTEST__ALL__CHOICE_C_U32;
		m->c_u32 = rnd();
	} else if (x == 2) {
		m->choice_case = PBTEST__ALL__CHOICE_C_STR;
		m->c_str = rnd_str();
	} else if (x == 3) {
		m->choice_case = PBTEST__ALL__CHOICE_C_INNER;
		m->c_inner = rnd_inner();
	}
	MAYBE m->far = rnd();
#undef MAYBE
	return m;
}

/* rnd_all's tree: protobuf-c frees it as if it had unpacked it (all malloc'd). */
static void free_all(Pbtest__All *m)
{
	pbtest__all__free_unpacked(m, NULL);
}

static void random_messages_decode_as_protobuf_c_decodes_them(void **state)
{
	(void)state;
	srandom(7);
	for (int i = 0; i < 2000; i++) {
		Pbtest__All *m = rnd_all();
		size_t len;
		uint8_t *p = pack(&m->base, &len);
		Pbtest__All *ours = unpack(p, len);
		size_t back_len;
		uint8_t *back;

		assert_non_null(ours);
		back = pack(&ours->base, &back_len);
		assert_int_equal(back_len, len);
		assert_memory_equal(back, p, len);
		assert_same_as_protobuf_c(p, len);
		/* every cut short: refused by both, or a shorter message both read alike */
		for (size_t cut = 0; cut < len; cut += 1 + len / 16)
			assert_same_as_protobuf_c(p, cut);
		free(back);
		free(p);
		free_all(m);
	}
}

struct bad {
	const char *what;
	const uint8_t *bytes;
	size_t len;
};

#define BAD(what, ...) { what, (const uint8_t[]){ __VA_ARGS__ }, sizeof((uint8_t[]){ __VA_ARGS__ }) }

static void malformed_bytes_are_refused_as_protobuf_c_refuses_them(void **state)
{
	const struct bad bad[] = {
		BAD("varint cut short", 0x20, 0x80),
		BAD("varint of 11 bytes", 0x48, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80, 0x80,
		    0x80, 0x01),
		BAD("key cut short", 0x80),
		BAD("key of 6 bytes", 0x80, 0x80, 0x80, 0x80, 0x80, 0x01, 0x00),
		BAD("length past the end", 0x7a, 0x05, 'a', 'b'),
		BAD("length of 6 bytes", 0x7a, 0x80, 0x80, 0x80, 0x80, 0x80, 0x00),
		BAD("fixed32 cut short", 0x2d, 1, 2, 3),
		BAD("fixed64 cut short", 0x51, 1, 2, 3, 4, 5, 6, 7),
		BAD("start group", 0x0b, 0x0c),
		BAD("wire type 6", 0x0e),
		BAD("wire type 7 on an unknown field", 0xbf, 0x3e, 0x00),
		BAD("uint32 sent as LEN", 0x22, 0x01, 0x05),
		BAD("string sent as varint", 0x78, 0x05),
		BAD("fixed32 sent as varint", 0x28, 0x05),
		BAD("double sent as fixed32", 0x65, 1, 2, 3, 4),
		BAD("message sent as varint", 0x88, 0x01, 0x05),
		BAD("inner message cut short", 0x8a, 0x01, 0x02, 0x08),
		BAD("packed varint cut short", 0x92, 0x01, 0x02, 0x01, 0x80),
		BAD("packed fixed32 of 5 bytes", 0xa2, 0x01, 0x05, 1, 2, 3, 4, 5),
		BAD("packed double of 7 bytes", 0xaa, 0x01, 0x07, 1, 2, 3, 4, 5, 6, 7),
		BAD("repeated message as varint", 0xca, 0x01, 0x00, 0xc8, 0x01, 0x01),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i].what);
		assert_null(pbtest__all__unpack(NULL, bad[i].len, bad[i].bytes));
		assert_null(unpack(bad[i].bytes, bad[i].len));
	}
}

static void odd_but_valid_encodings_read_as_protobuf_c_reads_them(void **state)
{
	const struct bad odd[] = {
		BAD("unknown fields of every wire type skipped", 0xf8, 0x07, 0x01, 0xf9, 0x07, 1, 2, 3,
		    4, 5, 6, 7, 8, 0xfa, 0x07, 0x01, 0x00, 0xfd, 0x07, 1, 2, 3, 4, 0x20, 0x09),
		BAD("a scalar given twice: the last wins", 0x20, 0x01, 0x20, 0x02),
		BAD("uint32 from a 10-byte varint keeps the low 32 bits", 0x20, 0xff, 0xff, 0xff,
		    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01),
		BAD("bool as a 2-byte varint", 0x68, 0x80, 0x01),
		BAD("bool in a fixed32", 0x6d, 0, 0, 0, 0),
		BAD("repeated scalar packed and not, interleaved", 0x90, 0x01, 0x05, 0x92, 0x01, 0x02,
		    0x06, 0x07, 0x90, 0x01, 0x08),
		BAD("repeated elements apart", 0xba, 0x01, 0x01, 'x', 0x20, 0x01, 0xba, 0x01, 0x01, 'y'),
		BAD("oneof: the last member wins", 0xd0, 0x01, 0x05, 0xda, 0x01, 0x02, 'h', 'i'),
		BAD("oneof: a message, then a scalar", 0xe2, 0x01, 0x02, 0x08, 0x03, 0xd0, 0x01, 0x04),
		BAD("oneof: a message given twice starts afresh", 0xe2, 0x01, 0x02, 0x08, 0x03, 0xe2,
		    0x01, 0x03, 0x12, 0x01, 'z'),
		BAD("packed bools, any value true", 0xb2, 0x01, 0x03, 0x00, 0x01, 0x02),
		BAD("empty bytes and strings", 0x82, 0x01, 0x00, 0x7a, 0x00),
		BAD("field 1000", 0xc0, 0x3e, 0x2a),
		BAD("empty message", 0),
	};

	(void)state;
	for (size_t i = 0; i < sizeof(odd) / sizeof(odd[0]); i++) {
		size_t len = odd[i].len == 1 && !odd[i].bytes[0] ? 0 : odd[i].len;

		print_message("%s\n", odd[i].what);
		assert_non_null(unpack(odd[i].bytes, len));
		assert_same_as_protobuf_c(odd[i].bytes, len);
	}
}

static void a_singular_message_given_twice_is_merged(void **state)
{
	/* inner {a: 3, list: [1]} then inner {s: "z", list: [2]}: the protobuf spec's merge, one
	 * message with every field of both, lists concatenated */
	static const uint8_t p[] = { 0x8a, 0x01, 0x05, 0x08, 0x03, 0x1a, 0x01, 0x01,
				     0x8a, 0x01, 0x06, 0x12, 0x01, 'z',  0x1a, 0x01, 0x02 };
	Pbtest__All *m = unpack(p, sizeof(p));

	(void)state;
	assert_non_null(m);
	assert_non_null(m->inner);
	assert_int_equal(m->inner->a, 3);
	assert_string_equal(m->inner->s, "z");
	assert_int_equal(m->inner->n_list, 2);
	assert_int_equal(m->inner->list[0], 1);
	assert_int_equal(m->inner->list[1], 2);
}

static void a_long_repeated_field_keeps_every_element_in_order(void **state)
{
	uint8_t p[3 * 1000];
	size_t len = 0;
	Pbtest__All *m;

	(void)state;
	for (int i = 0; i < 1000; i++) { /* r_i32 one element at a time, values 0..99 */
		p[len++] = 0x90;
		p[len++] = 0x01;
		p[len++] = i % 100;
	}
	m = unpack(p, len);
	assert_non_null(m);
	assert_int_equal(m->n_r_i32, 1000);
	for (int i = 0; i < 1000; i++)
		assert_int_equal(m->r_i32[i], i % 100);
	assert_same_as_protobuf_c(p, len);
}

static void running_out_of_memory_refuses_the_message(void **state)
{
	static const uint8_t p[] = { 0x7a, 0x03, 'a', 'b', 'c' }; /* str = "abc" */

	(void)state;
	/* room for the message, none for its string */
	arena_used = sizeof(arena) - ((sizeof(Pbtest__All) + 15) & ~(size_t)15);
	assert_null(pb_unpack(&pbtest__all__descriptor, &bump, p, sizeof(p)));
	assert_non_null(unpack(p, sizeof(p)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(random_messages_decode_as_protobuf_c_decodes_them),
		cmocka_unit_test(malformed_bytes_are_refused_as_protobuf_c_refuses_them),
		cmocka_unit_test(odd_but_valid_encodings_read_as_protobuf_c_reads_them),
		cmocka_unit_test(a_singular_message_given_twice_is_merged),
		cmocka_unit_test(a_long_repeated_field_keeps_every_element_in_order),
		cmocka_unit_test(running_out_of_memory_refuses_the_message),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
