/* The feed's small messages: Hello and Ack round trips, and a Batch built in place read back
 * event by event, with every way a peer can send a bad one. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "feed.h"
#include "frame.h"

/* The one frame in b, decoded: its payload is copied to out. */
static size_t only_frame(struct jbuf *b, enum frame_type want, uint8_t *out, size_t cap)
{
	struct frame_decoder *d = frame_decoder_new(NULL);
	const uint8_t *p = (const uint8_t *)b->p;
	size_t len = b->len;
	struct frame f;

	assert_non_null(d);
	assert_int_equal(frame_decode(d, &p, &len, &f), 1);
	assert_int_equal(len, 0);
	assert_int_equal(f.type, want);
	assert_true(f.len <= cap);
	memcpy(out, f.payload, f.len);
	len = f.len;
	frame_decoder_free(d);
	return len;
}

static void hello_round_trip(void **state)
{
	struct feed_hello h = { .protocol_version = FEED_PROTOCOL_VERSION }, got;
	struct jbuf b = { 0 };
	uint8_t payload[2048];
	size_t len;

	(void)state;
	strcpy(h.agent_id, "0f3c6b2a9d8e4f1a");
	strcpy(h.host, "web-7");
	strcpy(h.boot_id, "6c1e1b3e-1111-2222-3333-444455556666");
	strcpy(h.agent_version, "0.1");
	assert_int_equal(feed_hello_frame(&b, &h), 0);
	len = only_frame(&b, FRAME_HELLO, payload, sizeof(payload));
	assert_int_equal(feed_hello_decode(payload, len, &got), 0);
	assert_int_equal(got.protocol_version, FEED_PROTOCOL_VERSION);
	assert_string_equal(got.agent_id, h.agent_id);
	assert_string_equal(got.host, h.host);
	assert_string_equal(got.boot_id, h.boot_id);
	assert_string_equal(got.agent_version, h.agent_version);
	jbuf_free(&b);
}

/* An agent id as long as the field allows on the wire but not in the struct is refused. */
static void hello_with_overlong_id_is_refused(void **state)
{
	/* Hello: field 2 (agent_id), length FEED_ID_MAX, then that many 'a' */
	uint8_t msg[3 + FEED_ID_MAX] = { 2 << 3 | 2, (FEED_ID_MAX & 0x7f) | 0x80, FEED_ID_MAX >> 7 };
	struct feed_hello got;

	(void)state;
	memset(msg + 3, 'a', FEED_ID_MAX);
	assert_int_equal(feed_hello_decode(msg, sizeof(msg), &got), -EBADMSG);
	assert_int_equal(feed_hello_decode((const uint8_t *)"\xff\xff", 2, &got), -EBADMSG);
}

static void ack_round_trip(void **state)
{
	struct jbuf b = { 0 };
	uint8_t payload[64];
	uint64_t seq = 0;
	size_t len;

	(void)state;
	assert_int_equal(feed_ack_frame(&b, 1ull << 40), 0);
	len = only_frame(&b, FRAME_ACK, payload, sizeof(payload));
	assert_int_equal(feed_ack_decode(payload, len, &seq), 0);
	assert_true(seq == 1ull << 40);
	assert_int_equal(feed_ack_decode((const uint8_t *)"\x08", 1, &seq), -EBADMSG);
	jbuf_free(&b);
}

static void batch_round_trip_keeps_events_in_order(void **state)
{
	struct feed_batch_header h = { "agent-1", "web-7", "boot-1", 42 };
	uint8_t events[300][200];
	const uint8_t *ev;
	struct feed_batch got;
	struct jbuf b = { 0 };
	const char *why;
	size_t len, sizes[300];
	unsigned int i;

	(void)state;
	feed_batch_begin(&b, &h);
	for (i = 0; i < 300; i++) {
		/* lengths from 0 to 199 cover one- and two-byte length varints */
		sizes[i] = i % 200;
		memset(events[i], (int)i, sizes[i]);
		feed_batch_add(&b, events[i], sizes[i]);
	}
	assert_false(b.failed);
	assert_int_equal(feed_batch_parse((const uint8_t *)b.p, b.len, &got, &why), 0);
	assert_string_equal(got.agent_id, "agent-1");
	assert_string_equal(got.host, "web-7");
	assert_string_equal(got.boot_id, "boot-1");
	assert_int_equal(got.seq, 42);
	assert_int_equal(got.n_events, 300);
	for (i = 0; feed_batch_next(&got, &ev, &len) == 1; i++) {
		assert_int_equal(len, sizes[i]);
		assert_memory_equal(ev, events[i], len);
	}
	assert_int_equal(i, 300);
	jbuf_free(&b);
}

/* A newer agent's fields are skipped, whatever their wire type. */
static void batch_unknown_fields_are_skipped(void **state)
{
	static const uint8_t msg[] = {
		0x20, 0x07,                   /* seq = 7 */
		0x30, 0x96, 0x01,             /* field 6, varint 150 */
		0x39, 1, 2, 3, 4, 5, 6, 7, 8, /* field 7, 64-bit */
		0x45, 1, 2, 3, 4,             /* field 8, 32-bit */
		0x2a, 0x02, 0xaa, 0xbb,       /* one event of two bytes */
		0x4a, 0x01, 0x00,             /* field 9, bytes */
	};
	struct feed_batch got;
	const uint8_t *ev;
	const char *why;
	size_t len;

	(void)state;
	assert_int_equal(feed_batch_parse(msg, sizeof(msg), &got, &why), 0);
	assert_int_equal(got.seq, 7);
	assert_int_equal(got.n_events, 1);
	assert_string_equal(got.agent_id, "");
	assert_int_equal(feed_batch_next(&got, &ev, &len), 1);
	assert_int_equal(len, 2);
	assert_int_equal(ev[1], 0xbb);
	assert_int_equal(feed_batch_next(&got, &ev, &len), 0);
}

static void bad_batches_are_refused_with_a_reason(void **state)
{
	static const struct {
		const char *what;
		uint8_t msg[12];
		size_t len;
		const char *why;
	} bad[] = {
		{ "event longer than the batch", { 0x2a, 0x05, 1, 2 }, 4,
		  "field runs past the end of the batch" },
		{ "seq sent as bytes", { 0x22, 0x01, 0x00 }, 3, "seq is not a varint" },
		{ "event sent as a varint", { 0x28, 0x01 }, 2, "event is not length-delimited" },
		{ "truncated varint", { 0x20, 0xff }, 2, "truncated varint" },
		{ "group wire type", { 0x0b }, 1, "unsupported wire type" },
		{ "field number 0", { 0x02, 0x00 }, 2, "field number 0" },
		{ "agent id with NUL", { 0x0a, 0x02, 'a', 0 }, 4, "bad agent_id, host or boot_id" },
		{ "varint over 10 bytes",
		  { 0x20, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01 }, 12,
		  "truncated varint" },
	};
	struct feed_batch got;
	const char *why;

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		print_message("%s\n", bad[i].what);
		assert_int_equal(feed_batch_parse(bad[i].msg, bad[i].len, &got, &why), -EBADMSG);
		assert_string_equal(why, bad[i].why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(hello_round_trip),
		cmocka_unit_test(hello_with_overlong_id_is_refused),
		cmocka_unit_test(ack_round_trip),
		cmocka_unit_test(batch_round_trip_keeps_events_in_order),
		cmocka_unit_test(batch_unknown_fields_are_skipped),
		cmocka_unit_test(bad_batches_are_refused_with_a_reason),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
