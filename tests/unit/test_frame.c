/* The feed's framing: round trips through arbitrary chunkings, and every way a peer can send a
 * bad stream, with the decoder's buffers held to the caps. */
#include <endian.h>
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>
#include <cmocka.h>

#include "frame.h"

struct sample {
	enum frame_type type;
	unsigned int flags;
	size_t len;
};

/* What a connection carries: a Hello, batches compressed and not, an empty Ack. */
static const struct sample samples[] = {
	{ FRAME_HELLO, 0, 37 },
	{ FRAME_BATCH, FRAME_F_ZLIB, 200000 },
	{ FRAME_ACK, 0, 0 },
	{ FRAME_BATCH, 0, 70000 },
	{ FRAME_BATCH, FRAME_F_ZLIB, 1 },
	{ FRAME_ACK, FRAME_F_ZLIB, 0 },
};
#define N_SAMPLES (sizeof(samples) / sizeof(samples[0]))

/* Payload bytes that deflate like a batch of events (a few times, not a thousand): words in a
 * pseudo-random order. */
static void fill(uint8_t *p, size_t len, unsigned int seed)
{
	static const char *const words[] = { "example.com. ", "A ", "AAAA ", "IN ", "93.184.216.34 ",
					     "query ", "response ", "NXDOMAIN ", "curl ", "pid=",
					     "1234 ", "5678 ", "\"qname\":", "ttl=300 " };
	uint32_t x = seed * 2654435761u + 1;
	size_t i = 0;

	while (i < len) {
		const char *w;

		x = x * 1103515245u + 12345u;
		w = words[(x >> 16) % (sizeof(words) / sizeof(words[0]))];
		for (; *w && i < len; w++)
			p[i++] = *w;
	}
}

static uint8_t *sample_payload(size_t i)
{
	uint8_t *p = malloc(samples[i].len + 1);

	assert_non_null(p);
	fill(p, samples[i].len, i);
	return p;
}

static void encode_samples(struct jbuf *wire)
{
	for (size_t i = 0; i < N_SAMPLES; i++) {
		uint8_t *p = sample_payload(i);

		assert_int_equal(frame_encode(wire, samples[i].type, samples[i].flags, p,
					      samples[i].len), 0);
		free(p);
	}
}

static void check_sample(size_t i, const struct frame *f)
{
	uint8_t *p = sample_payload(i);

	assert_int_equal(f->type, samples[i].type);
	assert_int_equal(f->flags, samples[i].flags);
	assert_int_equal(f->len, samples[i].len);
	if (f->len)
		assert_memory_equal(f->payload, p, f->len);
	free(p);
}

/* Feeds wire in chunks of 1..max_chunk bytes (1: byte by byte) and checks every sample comes
 * out whole and in order. */
static void feed_in_chunks(const struct jbuf *wire, size_t max_chunk, unsigned int seed)
{
	struct frame_decoder *d = frame_decoder_new(NULL);
	const uint8_t *p = (const uint8_t *)wire->p;
	size_t left = wire->len, got = 0;
	struct frame f;

	assert_non_null(d);
	srand(seed);
	while (left) {
		size_t chunk = max_chunk == 1 ? 1 : 1 + (size_t)rand() % max_chunk;

		if (chunk > left)
			chunk = left;
		left -= chunk;
		while (chunk) {
			int rc = frame_decode(d, &p, &chunk, &f);

			assert_true(rc >= 0);
			if (rc == 1) {
				assert_true(got < N_SAMPLES);
				check_sample(got++, &f);
			}
		}
	}
	assert_int_equal(got, N_SAMPLES);
	assert_int_equal(frame_decoder_finish(d), 0);
	assert_string_equal(frame_decoder_error(d), "");
	frame_decoder_free(d);
}

static void round_trip_byte_by_byte(void **state)
{
	struct jbuf wire = { 0 };

	(void)state;
	encode_samples(&wire);
	feed_in_chunks(&wire, 1, 0);
	jbuf_free(&wire);
}

static void round_trip_random_chunkings(void **state)
{
	static const size_t max_chunks[] = { 3, 9, 100, 4096, 70000, 1 << 20 };
	struct jbuf wire = { 0 };

	(void)state;
	encode_samples(&wire);
	for (size_t i = 0; i < sizeof(max_chunks) / sizeof(max_chunks[0]); i++)
		for (unsigned int seed = 1; seed <= 5; seed++)
			feed_in_chunks(&wire, max_chunks[i], seed);
	jbuf_free(&wire);
}

static void compressed_batch_is_smaller_on_the_wire(void **state)
{
	struct jbuf wire = { 0 };
	uint8_t *p = sample_payload(1);

	(void)state;
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, FRAME_F_ZLIB, p, samples[1].len), 0);
	assert_true(wire.len < samples[1].len / 5);
	free(p);
	jbuf_free(&wire);
}

static void encode_rejects_bad_type_and_flags(void **state)
{
	struct jbuf wire = { 0 };

	(void)state;
	assert_int_equal(frame_encode(&wire, 0, 0, "x", 1), -EINVAL);
	assert_int_equal(frame_encode(&wire, FRAME_TYPE_MAX + 1, 0, "x", 1), -EINVAL);
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, 0x80, "x", 1), -EINVAL);
	assert_int_equal(wire.len, 0);
	jbuf_free(&wire);
}

/* Decodes all of bytes with opts in one call and returns the first error (or 0/1). */
static int decode_all(struct frame_decoder *d, const void *bytes, size_t len)
{
	const uint8_t *p = bytes;
	struct frame f;
	int rc = 0;

	while (len && rc >= 0)
		rc = frame_decode(d, &p, &len, &f);
	return rc;
}

static void header(uint8_t *h, uint8_t magic, uint8_t version, uint8_t type, uint8_t flags,
		   uint32_t len)
{
	uint32_t be = htobe32(len);

	h[0] = magic;
	h[1] = version;
	h[2] = type;
	h[3] = flags;
	memcpy(h + 4, &be, sizeof(be));
}

static void expect_header_error(uint8_t magic, uint8_t version, uint8_t type, uint8_t flags,
				uint32_t len, int err, const char *reason)
{
	struct frame_decoder *d = frame_decoder_new(NULL);
	uint8_t h[FRAME_HEADER_LEN + 4] = { 0 };

	assert_non_null(d);
	header(h, magic, version, type, flags, len);
	assert_int_equal(decode_all(d, h, sizeof(h)), err);
	assert_string_equal(frame_decoder_error(d), reason);
	/* Nothing of the payload was allocated: the header was refused first. */
	assert_int_equal(frame_decoder_peak(d), 0);
	/* Errors are sticky: the stream has lost its frame boundaries. */
	assert_int_equal(decode_all(d, h, sizeof(h)), err);
	assert_int_equal(frame_decoder_finish(d), err);
	frame_decoder_free(d);
}

static void bad_magic_is_rejected(void **state)
{
	(void)state;
	expect_header_error('G', FRAME_VERSION, FRAME_BATCH, 0, 4, -EBADMSG, "bad magic");
}

static void unknown_version_type_and_flags_are_rejected(void **state)
{
	(void)state;
	expect_header_error(FRAME_MAGIC, 2, FRAME_BATCH, 0, 4, -EPROTO, "unsupported version");
	expect_header_error(FRAME_MAGIC, FRAME_VERSION, 0, 0, 4, -EPROTO, "unknown frame type");
	expect_header_error(FRAME_MAGIC, FRAME_VERSION, 9, 0, 4, -EPROTO, "unknown frame type");
	expect_header_error(FRAME_MAGIC, FRAME_VERSION, FRAME_ACK, 0x02, 4, -EPROTO,
			    "unknown flags");
}

static void oversized_length_is_rejected_before_allocating(void **state)
{
	(void)state;
	expect_header_error(FRAME_MAGIC, FRAME_VERSION, FRAME_BATCH, 0, UINT32_MAX, -EMSGSIZE,
			    "frame too large");
	expect_header_error(FRAME_MAGIC, FRAME_VERSION, FRAME_BATCH, FRAME_F_ZLIB,
			    FRAME_DEFAULT_MAX_FRAME + 1, -EMSGSIZE, "frame too large");
}

static void frame_at_max_frame_is_accepted(void **state)
{
	struct frame_decoder_opts opts = { .max_frame = 1000 };
	struct frame_decoder *d = frame_decoder_new(&opts);
	struct jbuf wire = { 0 };
	uint8_t p[1001];

	(void)state;
	fill(p, sizeof(p), 3);
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, 0, p, 1000), 0);
	assert_int_equal(decode_all(d, wire.p, wire.len), 1);
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, 0, p, 1001), 0);
	assert_int_equal(decode_all(d, wire.p + FRAME_HEADER_LEN + 1000, wire.len -
				    FRAME_HEADER_LEN - 1000), -EMSGSIZE);
	assert_int_equal(frame_decoder_peak(d), 1000);
	frame_decoder_free(d);
	jbuf_free(&wire);
}

static void truncated_stream_is_reported_at_the_end(void **state)
{
	struct jbuf wire = { 0 };
	size_t cuts[3];

	(void)state;
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, FRAME_F_ZLIB, "hello hello", 11), 0);
	cuts[0] = 3;                /* inside the header */
	cuts[1] = FRAME_HEADER_LEN; /* a header and no payload */
	cuts[2] = wire.len - 1;     /* all but the last payload byte */
	for (size_t i = 0; i < 3; i++) {
		struct frame_decoder *d = frame_decoder_new(NULL);

		assert_int_equal(decode_all(d, wire.p, cuts[i]), 0);
		assert_int_equal(frame_decoder_finish(d), -EPIPE);
		assert_string_equal(frame_decoder_error(d), "truncated frame");
		frame_decoder_free(d);
	}
	jbuf_free(&wire);
}

static void expect_payload_error(unsigned int flags, const void *payload, size_t len, int err,
				 const char *reason)
{
	struct frame_decoder *d = frame_decoder_new(NULL);
	uint8_t *buf = malloc(FRAME_HEADER_LEN + len + 1);

	assert_non_null(buf);
	header(buf, FRAME_MAGIC, FRAME_VERSION, FRAME_BATCH, flags, len);
	memcpy(buf + FRAME_HEADER_LEN, payload, len);
	assert_int_equal(decode_all(d, buf, FRAME_HEADER_LEN + len), err);
	assert_string_equal(frame_decoder_error(d), reason);
	free(buf);
	frame_decoder_free(d);
}

static void corrupt_deflate_stream_is_rejected(void **state)
{
	struct jbuf wire = { 0 };
	uint8_t *p = sample_payload(1);
	uint8_t *z;
	size_t zlen;

	(void)state;
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, FRAME_F_ZLIB, p, samples[1].len), 0);
	z = (uint8_t *)wire.p + FRAME_HEADER_LEN;
	zlen = wire.len - FRAME_HEADER_LEN;

	expect_payload_error(FRAME_F_ZLIB, "not a zlib stream", 17, -EBADMSG,
			     "corrupt or truncated deflate stream");
	/* The deflate stream cut short, in a frame whose length says so. */
	expect_payload_error(FRAME_F_ZLIB, z, zlen / 2, -EBADMSG, "corrupt or truncated deflate stream");
	expect_payload_error(FRAME_F_ZLIB, "", 0, -EBADMSG, "corrupt or truncated deflate stream");
	/* A flipped byte in the middle, caught by the block structure or the Adler-32. */
	z[zlen / 2] ^= 0x55;
	expect_payload_error(FRAME_F_ZLIB, z, zlen, -EBADMSG, "corrupt or truncated deflate stream");
	z[zlen / 2] ^= 0x55;
	/* A whole stream and then garbage inside the same frame. */
	assert_true(jbuf_reserve(&wire, 3));
	memcpy(wire.p + wire.len, "xyz", 3);
	expect_payload_error(FRAME_F_ZLIB, z, zlen + 3, -EBADMSG, "bytes after the deflate stream");
	free(p);
	jbuf_free(&wire);
}

/* Deflates n zero bytes into out as one zlib stream, streamed: the zeros are never in memory. */
static void deflate_zeros(struct jbuf *out, uint64_t n)
{
	static uint8_t zeros[1 << 16];
	z_stream zs = { 0 };
	int rc;

	assert_int_equal(deflateInit(&zs, Z_BEST_COMPRESSION), Z_OK);
	do {
		size_t in = n < sizeof(zeros) ? n : sizeof(zeros);

		n -= in;
		zs.next_in = zeros;
		zs.avail_in = in;
		do {
			assert_true(jbuf_reserve(out, 1 << 16));
			zs.next_out = (uint8_t *)out->p + out->len;
			zs.avail_out = out->cap - out->len;
			rc = deflate(&zs, n ? Z_NO_FLUSH : Z_FINISH);
			assert_true(rc == Z_OK || rc == Z_STREAM_END || rc == Z_BUF_ERROR);
			out->len = out->cap - zs.avail_out;
		} while (zs.avail_out == 0);
	} while (n);
	assert_int_equal(rc, Z_STREAM_END);
	deflateEnd(&zs);
}

/* A frame whose payload deflated from n zero bytes. */
static void zeros_frame(struct jbuf *wire, uint64_t n)
{
	uint32_t be;

	assert_true(jbuf_reserve(wire, FRAME_HEADER_LEN));
	wire->len = FRAME_HEADER_LEN;
	deflate_zeros(wire, n);
	header((uint8_t *)wire->p, FRAME_MAGIC, FRAME_VERSION, FRAME_BATCH, FRAME_F_ZLIB, 0);
	be = htobe32(wire->len - FRAME_HEADER_LEN);
	memcpy(wire->p + 4, &be, sizeof(be));
}

/* Feeds wire in 64 KiB chunks, as a socket would deliver it. */
static int decode_chunked(struct frame_decoder *d, const struct jbuf *wire)
{
	int rc = 0;

	for (size_t off = 0; off < wire->len && rc >= 0; off += 1 << 16) {
		size_t n = wire->len - off < (1 << 16) ? wire->len - off : (1 << 16);

		rc = decode_all(d, wire->p + off, n);
	}
	return rc;
}

static void zlib_bomb_of_one_gib_is_rejected_within_the_caps(void **state)
{
	struct jbuf wire = { 0 };
	struct frame_decoder *d;
	size_t sent;

	(void)state;
	zeros_frame(&wire, 1ull << 30);
	sent = wire.len - FRAME_HEADER_LEN;
	assert_true(sent < FRAME_DEFAULT_MAX_FRAME); /* the frame cap alone would let it in */

	d = frame_decoder_new(NULL);
	assert_int_equal(decode_chunked(d, &wire), -EMSGSIZE);
	assert_string_equal(frame_decoder_error(d), "inflated size over cap");
	assert_true(frame_decoder_peak(d) <= sent + FRAME_DEFAULT_MAX_INFLATED);
	frame_decoder_free(d);
	jbuf_free(&wire);
}

static void inflated_size_cap_is_exact(void **state)
{
	struct frame_decoder_opts opts = { .max_inflated = 300000, .max_ratio = 1u << 20 };
	struct jbuf wire = { 0 };
	struct frame_decoder *d;

	(void)state;
	zeros_frame(&wire, opts.max_inflated);
	d = frame_decoder_new(&opts);
	assert_int_equal(decode_all(d, wire.p, wire.len), 1);
	assert_true(frame_decoder_peak(d) <= wire.len + opts.max_inflated);
	frame_decoder_free(d);

	zeros_frame(&wire, opts.max_inflated + 1);
	d = frame_decoder_new(&opts);
	assert_int_equal(decode_all(d, wire.p, wire.len), -EMSGSIZE);
	assert_string_equal(frame_decoder_error(d), "inflated size over cap");
	assert_true(frame_decoder_peak(d) <= wire.len + opts.max_inflated);
	frame_decoder_free(d);
	jbuf_free(&wire);
}

/* A small frame after a big one: the buffer the big one left must not lift the small one's
 * ratio cap. */
static void ratio_cap_holds_after_a_bigger_frame(void **state)
{
	struct frame_decoder *d = frame_decoder_new(NULL);
	struct jbuf wire = { 0 };
	uint8_t *p = sample_payload(1);

	(void)state;
	assert_int_equal(frame_encode(&wire, FRAME_BATCH, FRAME_F_ZLIB, p, samples[1].len), 0);
	assert_int_equal(decode_all(d, wire.p, wire.len), 1);
	zeros_frame(&wire, 1u << 20); /* ~1 KiB sent, 1000x */
	assert_int_equal(decode_all(d, wire.p, wire.len), -EMSGSIZE);
	assert_string_equal(frame_decoder_error(d), "compression ratio over cap");
	free(p);
	frame_decoder_free(d);
	jbuf_free(&wire);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(round_trip_byte_by_byte),
		cmocka_unit_test(round_trip_random_chunkings),
		cmocka_unit_test(compressed_batch_is_smaller_on_the_wire),
		cmocka_unit_test(encode_rejects_bad_type_and_flags),
		cmocka_unit_test(bad_magic_is_rejected),
		cmocka_unit_test(unknown_version_type_and_flags_are_rejected),
		cmocka_unit_test(oversized_length_is_rejected_before_allocating),
		cmocka_unit_test(frame_at_max_frame_is_accepted),
		cmocka_unit_test(truncated_stream_is_reported_at_the_end),
		cmocka_unit_test(corrupt_deflate_stream_is_rejected),
		cmocka_unit_test(zlib_bomb_of_one_gib_is_rejected_within_the_caps),
		cmocka_unit_test(inflated_size_cap_is_exact),
		cmocka_unit_test(ratio_cap_holds_after_a_bigger_frame),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
