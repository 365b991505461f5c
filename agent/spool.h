/* The agent's bounded on-disk spool: every batch stays here from the moment it is made until
 * the collector acks it, so that a collector outage or an agent restart loses nothing (at least
 * once: the collector dedups by (agent_id, seq)).
 *
 * Layout: one file per batch, DIR/<seq, 20 decimal digits>.batch, so that an ack or a drop is one
 * unlink and never rewrites live data (batches are ~256 KiB: a 256 MiB spool is ~1000 files).
 * A file is a 24-byte header, every integer big endian:
 *   "DVSB", version u32 (1), seq u64, payload length u32, CRC-32 of the header's first 20 bytes
 *   and of the payload
 * followed by the payload (opaque: a framed, compressed batch).
 * DIR/floor holds the same header with an empty payload whose seq is the highest batch acked or
 * dropped, so the seq stays monotonic across restarts even when the spool is empty.
 *
 * Crash safety: a batch is written to DIR/.tmp-<seq>, fsync'd, renamed to its name and the
 * directory fsync'd before spool_append returns, so a batch is either whole or absent after a
 * crash or a kill -9; a .tmp-* left behind is removed on open. The CRC catches what rename
 * cannot (a truncated or bit-rotten file). fsync policy: one fsync of the file and one of the
 * directory per append (a few per second at the batch defaults), one pair per ack or drop
 * (floor first, then unlink: a crash in between replays batches the collector dedups, never
 * reuses a seq). Bad files (foreign names, truncated, corrupt) are logged and skipped; bad
 * batch files are removed and counted. */
#ifndef DNSVIGIL_SPOOL_H
#define DNSVIGIL_SPOOL_H

#include <stddef.h>
#include <stdint.h>

#include "json.h"
#include "stats.h"

struct spool;

/* Opens (creating it when missing) the spool in dir, which holds at most cap_bytes of batch
 * files, and loads what an earlier run left, checking every file. Returns 0 and *out, or a
 * negative errno. */
int spool_open(const char *dir, uint64_t cap_bytes, struct spool **out);
void spool_close(struct spool *s);

/* The seq the next batch takes: one past the highest ever appended, acked or dropped. */
uint64_t spool_next_seq(const struct spool *s);

/* Stores one batch durably. seq must be at least spool_next_seq (-EINVAL otherwise); a batch
 * larger than the cap is -EFBIG. To make room the oldest batches are dropped and counted. */
int spool_append(struct spool *s, uint64_t seq, const void *data, size_t len);

/* The oldest batch with a seq above after (0: the oldest of all), read into out (replacing its
 * contents): 1 and *seq, 0 when there is none, or a negative errno. A batch found bad on
 * reading is removed, counted and skipped. */
int spool_next_unacked(struct spool *s, uint64_t after, uint64_t *seq, struct jbuf *out);

/* Removes every batch up to seq: the collector has it durably. */
int spool_ack(struct spool *s, uint64_t seq);

/* Batches held now. */
size_t spool_count(const struct spool *s);

/* Declares the spool's counters: spool_bytes, spool_batches, spool_dropped_batches,
 * spool_dropped_bytes, spool_bad_files. */
int spool_declare_stats(struct spool *s, struct stats_registry *r);

#endif
