#include "chunks.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* Packets split over several records are reassembled in a few slots; a slot still
 * incomplete after this long lost a chunk in the kernel (counted there). */
#define SLOTS 16
#define STALE_NS (1000ull * 1000000)
#define MAX_CAPTURED (DV_MAX_CHUNKS * DV_CHUNK_LEN)

struct slot {
	bool used;
	uint64_t started_ns; /* monotonic, when the first chunk arrived */
	uint32_t expected;
	uint32_t received;
	struct dv_pkt_hdr hdr;
	uint8_t *buf; /* MAX_CAPTURED bytes, kept across uses */
};

struct chunks {
	struct slot slots[SLOTS];
	uint64_t incomplete;
};

static void free_slot(struct chunks *c, struct slot *s, bool incomplete)
{
	if (incomplete)
		c->incomplete++;
	s->used = false;
}

static struct slot *find_slot(struct chunks *c, const struct dv_pkt_hdr *h)
{
	struct slot *free = NULL, *oldest = NULL;

	for (int i = 0; i < SLOTS; i++) {
		struct slot *s = &c->slots[i];

		if (!s->used) {
			free = free ?: s;
			continue;
		}
		if (s->hdr.cookie == h->cookie && s->hdr.ts_ns == h->ts_ns &&
		    s->hdr.direction == h->direction)
			return s;
		if (!oldest || s->started_ns < oldest->started_ns)
			oldest = s;
	}
	if (!free) {
		free_slot(c, oldest, true);
		free = oldest;
	}
	if (!free->buf && !(free->buf = malloc(MAX_CAPTURED)))
		return NULL;
	free->used = true;
	free->started_ns = clock_ns(CLOCK_MONOTONIC);
	free->hdr = *h;
	free->received = 0;
	free->expected = h->payload_len < MAX_CAPTURED ? h->payload_len : MAX_CAPTURED;
	return free;
}

void chunks_add(struct chunks *c, const struct dv_pkt *rec, chunks_packet_fn fn, void *ctx)
{
	const struct dv_pkt_hdr *h = &rec->hdr;
	struct slot *s;

	if (h->chunk_len > DV_CHUNK_LEN || h->chunk_off >= MAX_CAPTURED)
		return;
	/* Most DNS packets fit in one record. */
	if (h->chunk_off == 0 && h->chunk_len >= h->payload_len) {
		fn(ctx, h, rec->data, h->chunk_len);
		return;
	}
	s = find_slot(c, h);
	if (!s) {
		c->incomplete++;
		return;
	}
	if (h->chunk_off + h->chunk_len > s->expected) {
		free_slot(c, s, true);
		return;
	}
	memcpy(s->buf + h->chunk_off, rec->data, h->chunk_len);
	s->received += h->chunk_len;
	if (s->received >= s->expected) {
		fn(ctx, &s->hdr, s->buf, s->expected);
		free_slot(c, s, false);
	}
}

void chunks_expire(struct chunks *c, uint64_t now_ns)
{
	for (int i = 0; i < SLOTS; i++)
		if (c->slots[i].used && now_ns - c->slots[i].started_ns > STALE_NS)
			free_slot(c, &c->slots[i], true);
}

const uint64_t *chunks_incomplete(const struct chunks *c)
{
	return &c->incomplete;
}

struct chunks *chunks_new(void)
{
	return calloc(1, sizeof(struct chunks));
}

void chunks_free(struct chunks *c)
{
	if (!c)
		return;
	for (int i = 0; i < SLOTS; i++)
		free(c->slots[i].buf);
	free(c);
}
