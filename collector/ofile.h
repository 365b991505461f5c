/* One output file of the collector, written so that the commit journal (journal.h) can say
 * exactly which of its bytes are durable: appends are buffered, ofile_sync writes them and
 * fdatasyncs, and a position (device, inode, offset) names the end of what was synced.
 *
 * Crash recovery (ofile_open with the last committed position): the file holding that
 * position is found by its inode (at its path, else in the same directory: logrotate may have
 * renamed it) and truncated back to the offset, dropping a batch half written at the crash;
 * a file at the same path with another inode was opened after the last commit, so all of it
 * is uncommitted and it is truncated to nothing.
 *
 * Rotation renames the live file to a timestamped name beside it (events.jsonl ->
 * events-20261202T121500Z.jsonl) and opens a fresh one; it happens between batches only, after
 * a commit, so a rotated file is always complete. */
#ifndef DNSVIGIL_OFILE_H
#define DNSVIGIL_OFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "json.h"

/* Where a file output's committed bytes end. A zero ino: nothing known. */
struct ofile_pos {
	uint64_t dev, ino, off;
};

struct ofile_rotate {
	uint64_t max_bytes;  /* rotate once the file holds this much; 0: never by size */
	uint64_t max_age_ns; /* rotate a file this old; 0: never by time */
};

struct ofile {
	char path[4096];
	int fd;
	uint64_t dev, ino;
	uint64_t size;      /* bytes in the file and the buffer */
	uint64_t committed; /* the offset of the last commit: what a rollback goes back to */
	uint64_t opened_ns; /* CLOCK_REALTIME of the open, for rotation by age */
	struct ofile_rotate rotate;
	struct jbuf buf; /* appended, not written yet */
};

/* Opens (creating) path for appending, after recovering it from committed (NULL: the journal
 * knows no position of this output: nothing to recover). 0 or a negative errno (logged). */
int ofile_open(struct ofile *f, const char *path, const struct ofile_rotate *rot,
	       const struct ofile_pos *committed, const char *committed_path);
void ofile_close(struct ofile *f);

/* Buffers n bytes; large buffers are written out as they fill. 0 or a negative errno. */
int ofile_append(struct ofile *f, const void *p, size_t n);

/* For rendering in place: append to f->buf directly, then call this with the buffer's length
 * from before. 0, or -ENOMEM (what was rendered is dropped), or a write error. */
int ofile_appended(struct ofile *f, size_t start);

/* Writes what is buffered and fdatasyncs: the bytes up to *pos are durable. 0 or -errno. */
int ofile_sync(struct ofile *f, struct ofile_pos *pos);

/* ofile_sync in two halves, for a commit whose fdatasync runs in another thread while this
 * one goes on appending: ofile_flush writes what is buffered and says where it ends;
 * ofile_datasync, which touches nothing but the descriptor, makes it durable. */
int ofile_flush(struct ofile *f, struct ofile_pos *pos);
int ofile_datasync(const struct ofile *f);

/* The last sync is committed (in the journal): a later rollback keeps it. */
void ofile_commit(struct ofile *f);
/* The bytes up to offset are committed (a sync in two halves: what ofile_flush said). */
void ofile_commit_at(struct ofile *f, uint64_t offset);

/* Drops everything after offset off (at least the last commit): from the buffer, and from
 * the file what was written of it. 0 or -errno. */
int ofile_rewind(struct ofile *f, uint64_t off);

/* ofile_rewind to the last commit (a failed commit). */
int ofile_rollback(struct ofile *f);

/* Whether the rotation policy wants a new file now. */
bool ofile_rotate_due(const struct ofile *f, uint64_t now_ns);

/* Renames the live file aside and opens a fresh one at the path. Only between batches: the
 * caller has committed everything. 0 or -errno (logged); on failure the old file stays open. */
int ofile_rotate(struct ofile *f);

/* Closes the live file and opens its path anew: after logrotate renamed it (SIGHUP). Only
 * between batches. 0 or -errno (logged). */
int ofile_reopen(struct ofile *f);

/* fsyncs directory dir: a new or renamed entry in it survives a crash. 0 or -errno. */
int ofile_sync_dir(const char *dir);

/* The current position (everything appended so far; meaningful after ofile_sync). */
void ofile_position(const struct ofile *f, struct ofile_pos *pos);

#endif
