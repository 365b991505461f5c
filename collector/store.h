/* The store: batches in, durably written to every output, deduplicated by (agent id, seq).
 *
 * Group commit: the server hands over every batch that a round of its event loop completed
 * (store_batch writes them to the outputs' buffers), then calls store_commit once: each output
 * writes and fsyncs, the journal appends one record naming every batch of the round with the
 * outputs' new positions and fdatasyncs, and only then are the round's batches acked. One
 * round costs one fsync per output plus one of the journal, however many batches it holds.
 *
 * A batch whose seq is at or below its agent's highest stored (or pending) seq is a
 * duplicate: not written again, acked after the commit all the same. Seqs may skip (an agent's
 * spool drops its oldest batches when full). */
#ifndef DNSVIGIL_STORE_H
#define DNSVIGIL_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "feed.h"
#include "output.h"
#include "stats.h"

#define STORE_MAX_OUTPUTS 4

struct store;

/* Opens the journal in state_dir, recovers each output from it and opens the outputs (owned
 * by the store from here, freed with it, also on error). 0 and *out, or a negative errno. */
int store_open(const char *state_dir, struct output **outputs, size_t n, struct store **out);
void store_free(struct store *s);

/* The highest seq of agent_id held durably (0: none): a Hello's answer. -ENOSPC when the
 * store knows too many agents to take another. */
int store_acked(struct store *s, const char *agent_id, uint64_t *seq);

/* Decodes every event of batch b and writes it to the outputs; a batch is stored whole or
 * not at all (a bad event takes what was written of its batch back out). Returns 0 (written, durable after the next store_commit),
 * 1 (a duplicate: nothing written), or a negative errno: -EBADMSG with *why for an event that
 * is no valid Event, else an output failing (then the round is rolled back by the commit). */
int store_batch(struct store *s, const struct batch_origin *o, struct feed_batch *b,
		const char **why);

/* Whether batches wait for a commit. */
bool store_pending(const struct store *s);

/* Makes every batch written since the last commit durable. On error (logged) all of them are
 * dropped from the outputs again and nothing is acked: their agents send them again. */
int store_commit(struct store *s);

/* Between rounds: rotates due outputs, and reopens every output when reopen (SIGHUP). Commits
 * first when batches wait. */
int store_maintain(struct store *s, bool reopen, uint64_t now_ns);

/* store_batches, store_duplicates, store_events, store_commits, store_commit_errors,
 * output_<name>_events, output_<name>_skipped. */
int store_declare_stats(struct store *s, struct stats_registry *r);

#endif
