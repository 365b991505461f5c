/* The collector's outputs: where the events of a stored batch go. Each output gets every event
 * twice over, as the decoded struct event (to render: JSON, dnstap) and as the Event bytes the
 * agent sent (to pass on: the protobuf file, later Kafka), with the batch's origin.
 *
 * Durability is the interface's other half: the store (store.h) writes a round of batches to
 * every output, then flushes each and records where they end, syncs them and the commit
 * journal in a thread of its own (while the next round is written), and only then acks. An
 * output that cannot say where its bytes end (a Kafka producer) makes sync wait for its
 * delivery reports and flush return a zero position; a file output says where its flushed
 * bytes end, which recovery truncates back to. */
#ifndef DNSVIGIL_OUTPUT_H
#define DNSVIGIL_OUTPUT_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "ofile.h"

/* Who sent a batch: recorded with each of its events. */
struct batch_origin {
	const char *agent_id; /* Hello and Batch */
	const char *cert;     /* the client certificate's identity (tls_peer_identity); NULL in
			       * plaintext */
	uint64_t seq;
};

struct output;

struct output_ops {
	/* Whether write needs the decoded struct event; when no output does, the store only
	 * checks each Event and hands write a NULL ev. */
	bool renders;
	/* Opens the output, first dropping what follows committed (the position the journal
	 * last recorded for it, at committed_path; NULL: none). */
	int (*open)(struct output *o, const struct ofile_pos *committed, const char *committed_path);
	/* The events written next belong to batch b (which stays valid until the next begin). */
	void (*begin)(struct output *o, const struct batch_origin *b);
	/* Drops what was written since begin: the batch turned out bad half way. */
	int (*abort)(struct output *o);
	/* Renders (ev) or passes on (pb, pb_len) one event. 0, 1 when the output skipped it (counted in skipped:
	 * an event it has no rendering for), or a negative errno. */
	int (*write)(struct output *o, const struct event *ev, const uint8_t *pb, size_t pb_len);
	/* A commit in two halves, so that the next round's events are rendered while this
	 * one's are made durable: flush pushes out what is written and says where it ends
	 * (*pos); sync, called from the store's commit thread while writes go on, makes what
	 * flush pushed out durable, touching nothing the writes touch. 0 or a negative errno. */
	int (*flush)(struct output *o, struct ofile_pos *pos);
	int (*sync)(struct output *o);
	/* The journal recorded pos, the flush before the last sync. */
	void (*commit)(struct output *o, const struct ofile_pos *pos);
	/* Drops everything written since the last commit. */
	int (*rollback)(struct output *o);
	/* Between batches, everything committed: rotates when due, or reopens (SIGHUP). Returns
	 * 1 when the output moved to a new file (the store journals its position), 0, or a
	 * negative errno. */
	int (*maintain)(struct output *o, bool reopen, uint64_t now_ns);
	void (*free)(struct output *o);
};

struct output {
	const struct output_ops *ops;
	const char *name; /* "jsonl", "pb", "dnstap": its key in the journal */
	const char *path;
	uint64_t events;  /* written */
	uint64_t skipped; /* not renderable by this output */
};

struct output_opts {
	const char *path;
	struct ofile_rotate rotate;
};

/* The file outputs: an output over one ofile, with the ops they share (output.c). */
struct output_file {
	struct output base;
	struct ofile file;
	struct output_opts opts;
	const struct batch_origin *batch;
	uint64_t mark; /* the file's size at begin */
};

void output_file_init(struct output_file *f, const struct output_ops *ops, const char *name,
		      const struct output_opts *opts);
int output_file_open(struct output *o, const struct ofile_pos *committed,
		     const char *committed_path);
int output_file_flush(struct output *o, struct ofile_pos *pos);
int output_file_sync(struct output *o);
void output_file_commit(struct output *o, const struct ofile_pos *pos);
int output_file_rollback(struct output *o);
int output_file_maintain(struct output *o, bool reopen, uint64_t now_ns);
void output_file_begin(struct output *o, const struct batch_origin *b);
int output_file_abort(struct output *o);

/* JSON lines: the agent's JSON of each event (lib/event_json.c) with "agent_id" and
 * "agent_cert". */
int output_jsonl_new(const struct output_opts *opts, struct output **out);
/* Length-delimited protobuf: varint length, then the Event with its agent_id set. */
int output_pb_new(const struct output_opts *opts, struct output **out);
/* dnstap over Frame Streams (libfstrm), "protobuf:dnstap.Dnstap": dns events that carry
 * their raw bytes; the others are skipped. */
int output_dnstap_new(const struct output_opts *opts, struct output **out);

#endif
