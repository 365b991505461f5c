/* C library files on disk, before any program uses them: finds every glibc, libresolv and musl
 * file in the library directories of the host's root and of container image layers, and
 * follows those places with inotify, so that an image's libc is known as soon as the image is
 * unpacked, and known gone once it is removed. No BPF here: agent/resolver.c attaches to what
 * libwatch reports, once per device and inode. Not thread-safe: one thread. */
#ifndef DNSVIGIL_LIBWATCH_H
#define DNSVIGIL_LIBWATCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libc.h"

/* Layer root patterns are absolute paths whose components are names or exactly "*" (any one
 * directory entry). Every directory a pattern matches is a layer root: the root of a file
 * system tree (the host's, an image layer's). Its library directories are lib, lib32, lib64,
 * usr/lib, usr/lib32, usr/lib64, usr/local/lib and the multiarch directories (names holding
 * "-linux-") in lib and usr/lib; only those are looked at, not the whole tree. Symbolic links
 * in a layer resolve inside it, as if the layer root were "/": a layer's "lib -> /usr/lib" is
 * the layer's usr/lib, never the host's. The way to a layer root resolves from the agent's
 * root ("/var/lib/docker" may be a link to another disk).
 *
 * The defaults: the host's root, and the layers and snapshots of docker, containerd (and
 * docker's own), podman and CRI-O, and k3s, under their default roots. */
extern const char *const libwatch_default_roots[];
extern const size_t libwatch_n_default_roots;

/* 0 when pattern is a layer root pattern; -EINVAL when it is not absolute, has an empty, "."
 * or ".." component (a trailing "/" too, except for "/" itself), has "*" with other characters
 * in a component, or is PATH_MAX bytes or longer. */
int libwatch_check_pattern(const char *pattern);

/* libwatch_new's scan stops after this many directory entries, or after this long, whichever
 * comes first; what it has watched so far stays watched. */
#define LIBWATCH_START_MAX_ENTRIES 200000
#define LIBWATCH_START_MAX_NS 2000000000ull

struct libwatch_opts {
	const char *const *patterns; /* layer root patterns; a repeated one counts once */
	size_t n_patterns;
	uint64_t max_entries; /* 0: LIBWATCH_START_MAX_ENTRIES */
	uint64_t max_ns;      /* 0: LIBWATCH_START_MAX_NS */
};

/* A C library file: a regular file (never a symbolic link: the file behind a link is found
 * under its own name) whose name libc_kind_of() knows, complete ELF of this machine
 * (libc_check_elf() returned 0). */
struct libwatch_file {
	/* Where the agent can open it: absolute, from the agent's root, no symbolic link on the
	 * way (e.g. /var/lib/docker/overlay2/ID/diff/usr/lib/x86_64-linux-gnu/libc.so.6). */
	const char *path;
	const char *root; /* the layer root it was found in: "/", .../overlay2/ID/diff */
	uint64_t dev, ino; /* st_dev, st_ino: the identity uprobes attach to */
	enum libc_kind kind;
};

/* found: a C library file appeared (the start scan, written, moved or linked in), in directory
 * order during a scan, in event order after. Once per path and file, across queue overflows
 * too; the same dev+ino comes again under another path (a hard link, a directory moved within
 * the watched places): the caller dedupes by dev+ino. A file rewritten in place (same inode)
 * is not reported again. The strings are valid during the call only; by the time the caller
 * opens path it may name another file: compare dev+ino.
 * gone: no path libwatch reported dev+ino under is left (deleted, moved away, replaced by
 * rename, its directory removed or unmounted). path is the last path it was known under.
 * Reported once the pending events are all handled, so that a rename within the watched
 * places is no removal. A file still mapped by a process is gone from disk all the same.
 * Neither callback may call libwatch functions on the same struct libwatch. */
typedef void (*libwatch_found_fn)(void *ctx, const struct libwatch_file *f);
typedef void (*libwatch_gone_fn)(void *ctx, uint64_t dev, uint64_t ino, const char *path);

struct libwatch_stats {
	uint64_t entries;        /* directory entries looked at, by the start scan and since */
	uint64_t files_found;    /* found() calls */
	uint64_t files_gone;     /* gone() calls */
	uint64_t dirs_watched;   /* directories watched now */
	uint64_t watch_failures; /* directories not watched (ENOSPC: fs.inotify.max_user_watches) */
	uint64_t overflows;      /* inotify queue overflows, each followed by a full rescan */
	uint64_t start_scan_ns;  /* how long libwatch_new's scan took */
	bool start_truncated;    /* ... which stopped at a limit */
};

struct libwatch;

/* Checks the patterns, watches the layer roots there are, the directories on the way to them
 * (the deepest existing one where a part is missing yet: docker installed later) and their
 * library directories, and calls found() for every C library file there, all before it
 * returns. A directory is watched before it is read, so that nothing appearing meanwhile is
 * missed. Returns 0 with *out set; -EINVAL for a bad pattern, -ENOSYS before Linux 5.6
 * (openat2), another -errno, all after logging why. A missing root is no error. Needs the
 * agent's own /proc (/proc/self/fd names the directories it opened). */
int libwatch_new(const struct libwatch_opts *opts, libwatch_found_fn found, libwatch_gone_fn gone,
		 void *ctx, struct libwatch **out);
/* Removes every watch (by closing the inotify fd) and frees; gone() is not called. */
void libwatch_free(struct libwatch *w);

/* The inotify fd: readable (poll, epoll) when libwatch_read has something to do. */
int libwatch_fd(const struct libwatch *w);

/* Events libwatch_read handles at most, so that the caller's loop keeps its pace while an image
 * is unpacked. */
#define LIBWATCH_BATCH 1024

/* Handles pending events without waiting: new directories on the way are watched and read
 * (all of a directory moved in at once, the limits are the start scan's only), found() and
 * gone() are called. After a queue overflow, every pattern is followed again from "/" within
 * the start scan's limits (a rescan stopped there keeps the files it did not reach). Returns
 * the events handled (LIBWATCH_BATCH: more may be pending, some held here where poll does not
 * see them: call again without waiting) or a negative errno. */
int libwatch_read(struct libwatch *w);

const struct libwatch_stats *libwatch_stats(const struct libwatch *w);

#endif
