/* Packets split over several ring-buffer records (struct dv_pkt chunks) put back together.
 * Most DNS packets fit in one record and pass straight through. */
#ifndef DNSVIGIL_CHUNKS_H
#define DNSVIGIL_CHUNKS_H

#include <stddef.h>
#include <stdint.h>

#include "dnsvigil.h"

/* A whole packet's payload (or the captured part of it); data is valid during the call. */
typedef void (*chunks_packet_fn)(void *ctx, const struct dv_pkt_hdr *h, const uint8_t *data,
				 size_t len);

struct chunks;

struct chunks *chunks_new(void); /* NULL when memory runs out */
void chunks_free(struct chunks *c);

/* Feeds one record; calls fn when it completes a packet. */
void chunks_add(struct chunks *c, const struct dv_pkt *rec, chunks_packet_fn fn, void *ctx);
/* Gives up packets still missing a chunk after a while (lost in the kernel, counted there). */
void chunks_expire(struct chunks *c, uint64_t now_ns);

/* Packets given up because a chunk never came (or no slot was left): counted once each. */
const uint64_t *chunks_incomplete(const struct chunks *c);

#endif
