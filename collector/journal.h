/* The commit journal: the collector's record of what it holds durably, so that a kill -9 at
 * any moment neither loses an acked batch nor stores a replayed one twice.
 *
 * A commit is one record appended to DIR/journal and fdatasync'd, after the outputs' own
 * fsyncs: the positions where each output's committed bytes end, and the (agent id, seq) of
 * every batch those bytes complete. Only then are the batches acked. On open the journal is
 * read back: each agent's highest committed seq (what a Hello is answered with, and below
 * which a batch is a duplicate) and each output's last position, which recovery truncates
 * the output back to (ofile.h); then it is compacted into one record.
 *
 * Record layout, integers little endian:
 *   u32 body length, u32 CRC-32 of the body, body:
 *     u8 outputs; per output: u8 name length, name, u16 path length, path,
 *                             u64 dev, u64 ino, u64 offset
 *     u32 batches; per batch: u8 agent id length, agent id, u64 seq
 * A record cut short or failing its CRC ends the journal: it was being written at the crash,
 * and the outputs were not acked for it. */
#ifndef DNSVIGIL_JOURNAL_H
#define DNSVIGIL_JOURNAL_H

#include <stddef.h>
#include <stdint.h>

#include "feed.h"
#include "ofile.h"

#define JOURNAL_MAX_OUTPUTS 4
/* Agents remembered; a Hello from one more is refused (logged). */
#define JOURNAL_MAX_AGENTS (1u << 18)
/* The journal is compacted again once it grows past this. */
#define JOURNAL_COMPACT_AT (64u << 20)

struct journal_output {
	char name[16];
	char path[4096];
	struct ofile_pos pos;
};

struct journal_agent {
	char id[FEED_ID_MAX]; /* the key, NUL-padded */
	uint64_t acked;       /* highest committed seq; 0: none */
	uint64_t pending;     /* the store's: highest seq written and not committed yet */
};

struct journal_batch {
	const char *agent_id;
	uint64_t seq;
};

struct journal;

/* Opens DIR/journal (creating it), reads it back and compacts it. A bad tail is logged and
 * dropped. 0 and *out, or a negative errno (logged). */
int journal_open(const char *dir, struct journal **out);
void journal_free(struct journal *j);

/* The output named name as last committed, or NULL when the journal knows none. */
const struct journal_output *journal_output(const struct journal *j, const char *name);

/* The agent's entry; created (acked 0) when create is set. NULL: unknown, or the table is
 * full. */
struct journal_agent *journal_agent(struct journal *j, const char *id, bool create);

/* Appends and fdatasyncs one commit: the outputs' positions and the batches they complete;
 * then each batch's agent has acked = max(acked, seq). 0 or a negative errno (logged); on
 * error nothing is committed. */
int journal_commit(struct journal *j, const struct journal_output *outs, size_t n_outs,
		   const struct journal_batch *batches, size_t n_batches);

/* journal_commit in three steps, so that the write and its fdatasync run in a thread of
 * their own: prepare builds the record (0, -EINVAL, -ENOMEM); write appends and fdatasyncs
 * it, touching only the file (0 or a negative errno, logged; a partial record is cut off);
 * apply, after a write that succeeded, makes it the journal's. One at a time: no other
 * journal call between prepare and apply but journal_agent and journal_output. */
int journal_prepare(struct journal *j, const struct journal_output *outs, size_t n_outs,
		    const struct journal_batch *batches, size_t n_batches);
int journal_write(struct journal *j);
void journal_apply(struct journal *j, const struct journal_output *outs, size_t n_outs,
		   const struct journal_batch *batches, size_t n_batches);

/* Records appended and bytes in the journal file, for stats. */
uint64_t journal_commits(const struct journal *j);

#endif
