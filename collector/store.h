/* The store: batches in, durably written to every output, deduplicated by (agent id, seq).
 *
 * Group commit: the server hands over every batch that a round of its event loop completed
 * (store_batch writes them to the outputs' buffers), then starts a commit: each output writes
 * out and is fsynced, the journal appends one record naming every batch of the commit with
 * the outputs' new positions and fdatasyncs, and only then are the batches acked. The syncs
 * run in a thread while the next rounds are read and written; those rounds' batches go into
 * the commit after. One commit costs one fsync per output plus one of the journal, however
 * many batches it holds.
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

/* A commit runs in two halves, so that the fdatasyncs of one round overlap the reading and
 * writing of the next: store_commit_start flushes the outputs, records where they end and
 * hands their syncs and the journal record to the store's commit thread (nothing when a
 * commit is in flight or nothing is pending); store_commit_done, once the thread is done
 * (store_event_fd is readable; with wait, it waits), journals the commit and returns 0: the
 * batches pending at its start are durable, ack them. 1: still syncing. A negative errno:
 * the commit failed (logged), and every batch not committed, in flight or pending, is
 * dropped from the outputs again: none of them may be acked, their agents send them again. */
int store_commit_start(struct store *s);
int store_commit_done(struct store *s, bool wait);
bool store_busy(const struct store *s);
int store_event_fd(const struct store *s);

/* Both halves at once, after the commit in flight: every batch written is durable. */
int store_commit(struct store *s);

/* Between rounds: rotates due outputs, and reopens every output when reopen (SIGHUP). Commits
 * first when batches wait. */
int store_maintain(struct store *s, bool reopen, uint64_t now_ns);

/* store_batches, store_duplicates, store_events, store_commits, store_commit_errors,
 * output_<name>_events, output_<name>_skipped. */
int store_declare_stats(struct store *s, struct stats_registry *r);

#endif
