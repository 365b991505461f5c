#include "resolver.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "call.h"
#include "clock.h"
#include "exechook.h"
#include "libc.h"
#include "libwatch.h"
#include "mountinfo.h"
#include "kernel_features.h"
#include "log.h"
#include "proc.h"
#include "resolver.skel.h"
#include "table.h"
#include "uprobe_multi.h"
#include "wire.h"

/* New C libraries are found through exec notices (agent/exechook.c), not a periodic /proc
 * rescan: the agent hears of a program within milliseconds, and its cost follows the exec
 * rate instead of the number and size of processes. At exec a dynamically linked program has
 * its interpreter mapped: musl's is its libc, attached at once; glibc's ld.so maps libc.so.6
 * a little later, hence rechecks after these delays while no C library is mapped. */
static const uint64_t recheck_delay_ns[] = { 20000000, 100000000, 500000000 };
#define RECHECK_SLOTS 256
/* A program (executable inode) already looked at in the same mount namespace brings the same
 * libraries: not looked at again for a while. The oldest is forgotten to make room. */
#define EXEC_SEEN_SLOTS 4096
#define EXEC_SEEN_TTL_NS (60ull * 1000000000)
/* A library file removed from disk is detached once no process maps it: looked at shortly
 * after (a layer goes with all its files at once), then again while some process does. */
#define GONE_CHECK_DELAY_NS (1000ull * 1000000)
#define GONE_RECHECK_NS (60ull * 1000000000)

/* One attachment: a libbpf uprobe link, or a uprobe_multi link's fd. */
struct probe {
	struct bpf_link *link;
	int fd;
};

/* A C library file with uprobes on it. */
struct traced_file {
	struct probe probes[2 * (DV_FN_NR - 1)];
	unsigned int n_probes;
	bool gone;   /* its name was removed from disk: detached once no process maps it */
	bool mapped; /* scratch of check_gone(): some process maps it */
	char *path;
};

/* A device and inode looked at: a file traced, one with nothing to trace (file NULL: not a
 * C library of this machine, unreadable), or an overlay's view of a traced file (stat and
 * maps show the overlay's own device and inode; uprobes are on the layer file's). A host has
 * a few hundred at most (one C library per image layer, one view per container); files
 * beyond KNOWN_FILES are not traced, and counted in attach_failures. */
struct known_file {
	uint64_t dev, ino; /* the key */
	struct traced_file *file;
};

#define KNOWN_KEY_SIZE offsetof(struct known_file, file)
#define KNOWN_FILES 16384

struct recheck {
	pid_t pid;
	unsigned int tries;
	uint64_t due_ns;
};

struct exec_seen {
	uint64_t exe_dev, exe_ino, mnt_ns;
};

struct resolver_stats {
	uint64_t libc_files;          /* C library files with functions attached now */
	uint64_t libc_detached;       /* ... detached: removed from disk, mapped by no process */
	uint64_t attach_failures;     /* functions not attached, library files not read */
	uint64_t exec_checks_dropped; /* new programs not looked at again: recheck queue full */
	/* Copied from the exec hook and the directory watch when stats are due. */
	const char *exec_hook; /* "tp_btf", ... "none"; NULL: calls not traced */
	uint64_t libdir_entries;
	uint64_t libdir_watches;
	uint64_t libdir_watch_failures;
	uint64_t libdir_overflows;
	uint64_t libdir_start_scan_ms;
	bool libdir_start_scan_truncated;
};

struct resolver {
	struct wire *wire;
	struct resolver_bpf *skel;
	bool multi; /* uprobe_multi links; else one uprobe per function with enter[fn] */
	struct bpf_program *enter[DV_FN_NR];
	struct exechook *exec_hook; /* NULL: the kernel refused every kind, or none was asked */
	struct libwatch *libs;      /* NULL: library directories are not watched */
	struct table *known;        /* of known_file */
	bool known_full;            /* KNOWN_FILES was reached, and logged */
	size_t n_gone;              /* traced files gone from disk, still attached */
	uint64_t gone_check_ns;     /* when to look whether processes still map them */
	const char *proc_root;
	int proc_fd;
	struct recheck rechecks[RECHECK_SLOTS];
	size_t n_rechecks;
	struct table *seen;         /* of exec_seen */
	struct resolver_stats stats;
};

static uint64_t known_hash(const struct resolver *r, const struct known_file *key)
{
	return table_hash(r->known, key, KNOWN_KEY_SIZE);
}

static struct known_file *find_known(const struct resolver *r, uint64_t dev, uint64_t ino)
{
	struct known_file key = { .dev = dev, .ino = ino };

	return table_find(r->known, known_hash(r, &key), &key);
}

static int add_known(struct resolver *r, uint64_t dev, uint64_t ino, struct traced_file *file)
{
	struct known_file key = { .dev = dev, .ino = ino }, *k;

	k = table_insert(r->known, known_hash(r, &key), &key, 0);
	if (!k) {
		r->stats.attach_failures++;
		if (!r->known_full)
			log_warnx("resolver: more than %u library files known: the others are not "
				  "traced", KNOWN_FILES);
		r->known_full = true;
		return -ENOSPC;
	}
	k->file = file;
	return 0;
}

static void detach(struct traced_file *f)
{
	for (unsigned int i = 0; i < f->n_probes; i++) {
		if (f->probes[i].link)
			bpf_link__destroy(f->probes[i].link);
		else
			close(f->probes[i].fd);
	}
	free(f->path);
	free(f);
}

/* Return probes go first: a call entered before its return probe was there would leave a
 * state behind that no return clears. */
static int attach_pair(struct resolver *r, struct traced_file *f, const char *path,
		       unsigned int fn, uint64_t off)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = true);
	struct bpf_link *ret, *entry;
	int err;

	ret = bpf_program__attach_uprobe_opts(r->skel->progs.leave, -1, path, off, &opts);
	if (!ret)
		return -errno;
	opts.retprobe = false;
	entry = bpf_program__attach_uprobe_opts(r->enter[fn], -1, path, off, &opts);
	if (!entry) {
		err = -errno;
		bpf_link__destroy(ret);
		return err;
	}
	f->probes[f->n_probes++] = (struct probe){ .link = ret, .fd = -1 };
	f->probes[f->n_probes++] = (struct probe){ .link = entry, .fd = -1 };
	return 0;
}

/* Every function of one file in two links; fns[i] (the cookie) is at offsets[i]. */
static int attach_multi(struct resolver *r, struct traced_file *f, const char *path,
			const uint64_t *offsets, const uint64_t *fns, uint32_t n)
{
	int ret, entry;

	ret = uprobe_multi_link(bpf_program__fd(r->skel->progs.leave_multi), path, offsets, NULL,
				n, UPROBE_MULTI_RETURN);
	if (ret < 0)
		return ret;
	entry = uprobe_multi_link(bpf_program__fd(r->skel->progs.enter_multi), path, offsets, fns,
				  n, 0);
	if (entry < 0) {
		close(ret);
		return entry;
	}
	f->probes[f->n_probes++] = (struct probe){ .fd = ret };
	f->probes[f->n_probes++] = (struct probe){ .fd = entry };
	return 0;
}

/* Opens the file the process mapped: map_files names the very file even when deleted or
 * replaced, in another mount namespace or a chroot. It needs CAP_SYS_ADMIN; without, the maps
 * path inside the process's root. Returns the fd, or -errno (the process is gone). */
static int open_mapped_file(const struct resolver *r, pid_t pid, const struct libc_mapping *m)
{
	char path[PATH_MAX];
	int fd;

	snprintf(path, sizeof(path), "%s/%d/map_files/%llx-%llx", r->proc_root, pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0 || m->deleted)
		return fd >= 0 ? fd : -errno;
	snprintf(path, sizeof(path), "%s/%d/root%s", r->proc_root, pid, m->path);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	return fd >= 0 ? fd : -errno;
}

/* Attaches the traced functions the file at path defines; shown is its name for the log,
 * where how it was found. NULL when nothing could be attached. */
static struct traced_file *attach_file(struct resolver *r, const char *path, const char *shown,
				       enum libc_kind kind, uint64_t dev, uint64_t ino,
				       const char *where)
{
	/* Each function by its name, and by its "__" name as older glibc's libresolv has them. */
	const char *names[2 * (DV_FN_NR - 1)];
	char under[DV_FN_NR - 1][32];
	uint64_t offs[2 * (DV_FN_NR - 1)], at[DV_FN_NR], fns[DV_FN_NR];
	struct traced_file *f;
	uint32_t n = 0;
	int err;

	for (unsigned int i = 0; i < DV_FN_NR - 1; i++) {
		names[2 * i] = call_function_name(i + 1);
		snprintf(under[i], sizeof(under[i]), "__%s", names[2 * i]);
		names[2 * i + 1] = under[i];
	}
	err = libc_func_offsets(path, names, ARRAY_LEN(names), offs);
	/* Not an object the probes can read: an i386 libc in a multiarch directory, Debian's
	 * libc.so linker script, a file still being written. */
	if (err == -ENOEXEC || err == -EAGAIN) {
		log_debug("resolver: %s is not a C library of this machine: %s", shown,
			  strerror(-err));
		return NULL;
	}
	if (err < 0) {
		r->stats.attach_failures++;
		log_warnx("resolver: reading the symbols of %s (%s): %s", shown, where,
			  strerror(-err));
		return NULL;
	}
	/* One probe per address: musl's res_search is res_query. */
	for (unsigned int i = 0; i < DV_FN_NR - 1; i++) {
		uint64_t off = offs[2 * i] ?: offs[2 * i + 1];
		unsigned int j = 0;

		while (j < n && at[j] != off)
			j++;
		if (!off)
			log_debug("resolver: %s has no %s", shown, names[2 * i]);
		else if (j < n)
			log_debug("resolver: %s: %s is %s", shown, names[2 * i],
				  call_function_name(fns[j]));
		else {
			at[n] = off;
			fns[n++] = i + 1;
		}
	}
	/* glibc 2.34+ keeps libresolv.so.2 for old binaries, with the res_* functions in libc */
	if (!n) {
		log_debug("resolver: %s defines none of the traced functions", shown);
		return NULL;
	}
	f = calloc(1, sizeof(*f));
	if (!f || !(f->path = strdup(shown))) {
		free(f);
		return NULL;
	}
	if (r->multi && (err = attach_multi(r, f, path, at, fns, n))) {
		r->stats.attach_failures++;
		log_warnx("resolver: attaching to %u functions in %s (%s): %s", n, shown, where,
			  strerror(-err));
	}
	for (uint32_t i = 0; !r->multi && i < n; i++) {
		if ((err = attach_pair(r, f, path, fns[i], at[i]))) {
			r->stats.attach_failures++;
			log_warnx("resolver: attaching to %s in %s (%s): %s",
				  call_function_name(fns[i]), shown, where, strerror(-err));
		}
	}
	log_info("resolver: %s %s: %u functions traced (device %u:%u inode %llu, %s)",
		 libc_kind_name(kind), shown, r->multi ? (f->n_probes ? n : 0) : f->n_probes / 2,
		 major(dev), minor(dev), (unsigned long long)ino, where);
	if (!f->n_probes) {
		detach(f);
		return NULL;
	}
	r->stats.libc_files++;
	return f;
}

/* A mapping on an overlay (a container's root file system): the layer file's path, which
 * is where uprobes go and what the library directory watch reports. */
static int overlay_layer_file(const struct resolver *r, pid_t pid, const struct libc_mapping *m,
			      char *path, size_t size, struct stat *sb)
{
	char name[64];
	int err;

	/* overlay, like every file system without a block device, has major number 0 */
	if (major(m->dev) != 0 || m->deleted)
		return -ENOENT;
	snprintf(name, sizeof(name), "%d/mountinfo", (int)pid);
	err = mountinfo_overlay_file(r->proc_fd, name, m->path, path, size);
	if (!err && stat(path, sb))
		err = -errno;
	return err;
}

/* The file dev/ino at path, attached unless it was looked at before, in *file (NULL when it
 * has nothing to trace). Returns 0, or -ENOSPC when no more files can be known. */
static int trace_file(struct resolver *r, const char *path, const char *shown,
		      enum libc_kind kind, uint64_t dev, uint64_t ino, const char *where,
		      struct traced_file **file)
{
	struct known_file *k = find_known(r, dev, ino);
	int err;

	if (k) {
		*file = k->file;
		return 0;
	}
	*file = attach_file(r, path, shown, kind, dev, ino, where);
	err = add_known(r, dev, ino, *file);
	if (err && *file) {
		detach(*file);
		r->stats.libc_files--;
		*file = NULL;
	}
	return err;
}

static int on_mapping(void *ctx, pid_t pid, const struct libc_mapping *m)
{
	struct resolver *r = ctx;
	char path[PATH_MAX], where[64];
	struct traced_file *file;
	struct stat layer;
	int fd, err;

	if (find_known(r, m->dev, m->ino))
		return 0;
	snprintf(where, sizeof(where), "seen in pid %d", (int)pid);
	/* The layer file, and the overlay's view of it as another name of the same file. */
	if (overlay_layer_file(r, pid, m, path, sizeof(path), &layer) == 0)
		return trace_file(r, path, path, m->kind, layer.st_dev, layer.st_ino, where,
				  &file) ?:
		       add_known(r, m->dev, m->ino, file);
	/* The process exited before we could open its file: another will show the file again. */
	fd = open_mapped_file(r, pid, m);
	if (fd < 0)
		return 0;
	/* Attached through our own fd: the process's paths go when it exits, a short-lived one
	 * (mount, sh) in the middle of the attach included. */
	snprintf(path, sizeof(path), "%s/self/fd/%d", r->proc_root, fd);
	err = trace_file(r, path, m->path, m->kind, m->dev, m->ino, where, &file);
	close(fd);
	return err;
}

/* libwatch: a C library file in a library directory, before any program maps it. */
static void on_disk_file(void *ctx, const struct libwatch_file *lf)
{
	struct traced_file *file;
	char where[PATH_MAX + 16];

	snprintf(where, sizeof(where), "found under %s", lf->root);
	trace_file(ctx, lf->path, lf->path, lf->kind, lf->dev, lf->ino, where, &file);
}

/* libwatch: a file it reported lost its name. Processes may still map it (a glibc upgrade
 * renames the new file over the old one): check_gone() detaches once none does, so that
 * the probes do not keep a deleted image's library on disk for ever. */
static void on_disk_gone(void *ctx, uint64_t dev, uint64_t ino, const char *path)
{
	struct resolver *r = ctx;
	struct known_file *k = find_known(r, dev, ino);

	if (!k)
		return;
	/* Nothing holds an untraced inode: its number may come back for another file. */
	if (!k->file) {
		table_remove(r->known, k);
		return;
	}
	if (k->file->gone)
		return;
	log_debug("resolver: %s was removed from disk", path);
	k->file->gone = true;
	/* A layer removed takes its files at once: one check for all of them. */
	if (!r->n_gone++)
		r->gone_check_ns = clock_ns(CLOCK_MONOTONIC) + GONE_CHECK_DELAY_NS;
}

static int mark_mapped(void *ctx, pid_t pid, const struct libc_mapping *m)
{
	struct known_file *k = find_known(ctx, m->dev, m->ino);

	(void)pid;
	if (k && k->file)
		k->file->mapped = true;
	return 0;
}

static int mark_process(void *ctx, pid_t pid)
{
	struct resolver *r = ctx;
	int err = libc_scan_maps(r->proc_fd, pid, mark_mapped, r);

	return err == -ENOMEM ? err : 0;
}

/* Drops the traced files gone from disk that no process maps (every one at exit) with all
 * their entries: overlay views share their layer file, detached once, with its last entry. */
static void drop_files(struct resolver *r, bool at_exit)
{
	struct known_file *k, *next;

	for (k = table_oldest(r->known); k; k = next) {
		struct traced_file *f = k->file;
		bool last = true;

		next = table_newer(r->known, k);
		if (!f || !(at_exit || (f->gone && !f->mapped)))
			continue;
		/* Entries after k are not removed yet. */
		for (const struct known_file *j = next; last && j; j = table_newer(r->known, j))
			last = j->file != f;
		table_remove(r->known, k);
		if (!last)
			continue;
		if (!at_exit) {
			log_info("resolver: %s is gone from disk and mapped by no process: detached",
				 f->path);
			r->n_gone--;
			r->stats.libc_files--;
			r->stats.libc_detached++;
		}
		detach(f);
	}
}

/* Detaches the files gone from disk that no process maps any more. */
static void check_gone(struct resolver *r, uint64_t now)
{
	struct known_file *k;

	for (k = table_oldest(r->known); k; k = table_newer(r->known, k))
		if (k->file)
			k->file->mapped = false;
	if (proc_for_each_pid(r->proc_fd, mark_process, r))
		return;
	drop_files(r, false);
	r->gone_check_ns = now + GONE_RECHECK_NS;
}

static int scan_process(void *ctx, pid_t pid)
{
	struct resolver *r = ctx;
	int err = libc_scan_maps(r->proc_fd, pid, on_mapping, r);

	/* Processes exit while we look, and kernel threads have nothing mapped. */
	return err == -ENOMEM ? err : 0;
}

/* Whether pid's executable was looked at in its mount namespace within EXEC_SEEN_TTL_NS;
 * remembers it when not. The TTL lets a library upgraded under the same program be found. */
static bool exec_seen(struct resolver *r, pid_t pid, uint64_t now)
{
	struct exec_seen key;
	struct stat exe, mnt;
	char path[64];
	uint64_t h;

	snprintf(path, sizeof(path), "%d/exe", (int)pid);
	if (fstatat(r->proc_fd, path, &exe, 0))
		return false;
	snprintf(path, sizeof(path), "%d/ns/mnt", (int)pid);
	if (fstatat(r->proc_fd, path, &mnt, 0))
		return false;
	key = (struct exec_seen){
		.exe_dev = exe.st_dev,
		.exe_ino = exe.st_ino,
		.mnt_ns = mnt.st_ino,
	};
	h = table_hash(r->seen, &key, sizeof(key));
	table_expire(r->seen, now, NULL, NULL);
	if (table_find(r->seen, h, &key))
		return true;
	table_insert(r->seen, h, &key, now);
	return false;
}

static void queue_recheck(struct resolver *r, pid_t pid, unsigned int tries, uint64_t now)
{
	if (tries >= ARRAY_LEN(recheck_delay_ns))
		return;
	if (r->n_rechecks == RECHECK_SLOTS) {
		r->stats.exec_checks_dropped++;
		return;
	}
	r->rechecks[r->n_rechecks++] = (struct recheck){
		.pid = pid,
		.tries = tries,
		.due_ns = now + recheck_delay_ns[tries],
	};
}

/* wire_record_fn for DV_REC_EXEC. */
static void on_exec(void *ctx, const void *record)
{
	const struct dv_exec_rec *rec = record;
	struct resolver *r = ctx;
	uint64_t now_ns = clock_ns(CLOCK_MONOTONIC);

	if (exec_seen(r, rec->tgid, now_ns))
		return;
	if (libc_scan_maps(r->proc_fd, rec->tgid, on_mapping, r) == 0)
		queue_recheck(r, rec->tgid, 0, now_ns);
}

void resolver_tick(struct resolver *r, uint64_t now_ns)
{
	size_t i = 0;

	if (r->n_gone && now_ns >= r->gone_check_ns)
		check_gone(r, now_ns);

	while (i < r->n_rechecks) {
		struct recheck c = r->rechecks[i];

		if (c.due_ns > now_ns) {
			i++;
			continue;
		}
		r->rechecks[i] = r->rechecks[--r->n_rechecks];
		if (libc_scan_maps(r->proc_fd, c.pid, on_mapping, r) == 0)
			queue_recheck(r, c.pid, c.tries + 1, now_ns);
	}
}

static bool is_multi_program(const struct resolver_bpf *skel, const struct bpf_program *prog)
{
	return prog == skel->progs.enter_multi || prog == skel->progs.leave_multi;
}

/* The uprobe_multi programs where the kernel has the links, else the per-function ones. */
static int load(struct resolver *r, struct wire *w, bool multi)
{
	struct bpf_program *prog;
	int err;

	r->skel = resolver_bpf__open();
	if (!r->skel)
		return -errno;
	bpf_object__for_each_program(prog, r->skel->obj) {
		bpf_program__set_autoload(prog, is_multi_program(r->skel, prog) == multi);
		if (is_multi_program(r->skel, prog))
			bpf_program__set_expected_attach_type(prog, UPROBE_MULTI_ATTACH_TYPE);
	}
	err = wire_share_maps(w, r->skel->obj);
	if (err)
		return err;
	r->multi = multi;
	return resolver_bpf__load(r->skel);
}

static int start(struct resolver *r, struct wire *w, bool multi)
{
	int err = load(r, w, multi);

	if (err)
		return err;
	for (unsigned int fn = 1; !r->multi && fn < DV_FN_NR; fn++) {
		char name[64];

		snprintf(name, sizeof(name), "enter_%s", call_function_name(fn));
		r->enter[fn] = bpf_object__find_program_by_name(r->skel->obj, name);
		if (!r->enter[fn])
			return -ENOENT;
	}
	return 0;
}

/* Without an exec hook nothing tells of new programs: say what that costs. */
static void open_exec_hook(struct resolver *r, struct wire *w, enum exechook_kind kind)
{
	if (exechook_open(w, kind, &r->exec_hook) == 0)
		return;
	log_warnx("resolver: new programs are not followed (no exec hook): a C library file "
		  "outside the watched library directories (a copy under /opt or /tmp, a chroot, "
		  "an image store not watched) is traced only if a program that was running at "
		  "start maps it; the library files found on disk and in running programs are "
		  "traced");
}

/* The library directories of the host and of the container image stores, watched from now
 * on, and the C library files in them attached before any program maps them. */
static void watch_libraries(struct resolver *r, const struct resolver_opts *opts)
{
	size_t n = libwatch_n_default_roots;
	const char *roots[libwatch_n_default_roots + opts->n_lib_roots];
	struct libwatch_opts wopts = { .patterns = roots, .n_patterns = ARRAY_LEN(roots) };
	int err;

	memcpy(roots, libwatch_default_roots, n * sizeof(roots[0]));
	memcpy(roots + n, opts->lib_roots, opts->n_lib_roots * sizeof(roots[0]));
	err = libwatch_new(&wopts, on_disk_file, on_disk_gone, r, &r->libs);
	if (err)
		log_warnx("resolver: watching the library directories: %s; C libraries are found "
			  "in running and new programs only, after their first calls",
			  strerror(-err));
}

int resolver_open(struct wire *w, const struct resolver_opts *opts, struct resolver **out)
{
	struct table_opts seen_opts = {
		.max_entries = EXEC_SEEN_SLOTS,
		.entry_size = sizeof(struct exec_seen),
		.key_size = sizeof(struct exec_seen),
		.when_full = TABLE_EVICT,
		.ttl_ns = EXEC_SEEN_TTL_NS,
	};
	struct table_opts known_opts = {
		.max_entries = KNOWN_FILES,
		.entry_size = sizeof(struct known_file),
		.key_size = KNOWN_KEY_SIZE,
		.when_full = TABLE_REFUSE,
	};
	struct resolver *r;
	uint64_t on_disk;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->proc_root = opts->proc_root;
	r->proc_fd = open(opts->proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->seen = table_new(&seen_opts);
	r->known = table_new(&known_opts);
	if (r->proc_fd < 0) {
		err = -errno;
		log_warn("resolver: opening %s", opts->proc_root);
		goto cleanup;
	}
	if (!r->seen || !r->known) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = start(r, w, opts->features->has[FEATURE_UPROBE_MULTI]);
	if (err) {
		log_warnx("resolver: loading the resolver call programs (%s variant) failed: %s",
			  r->multi ? "uprobe_multi" : "per-function", strerror(-err));
		goto cleanup;
	}
	/* Hooks before scans, so that no program or file slips between scan and hook: the exec
	 * hook, then the directory watches, then the files on disk, then running programs. */
	open_exec_hook(r, w, opts->exec_hook);
	watch_libraries(r, opts);
	on_disk = r->stats.libc_files;
	err = proc_for_each_pid(r->proc_fd, scan_process, r);
	if (err) {
		log_warnx("resolver: scanning %s for C libraries: %s", opts->proc_root,
			  strerror(-err));
		goto cleanup;
	}
	log_info("resolver: calls traced in %llu C library files (%llu found on disk, %llu more "
		 "in running programs; %s); new programs followed: %s",
		 (unsigned long long)r->stats.libc_files, (unsigned long long)on_disk,
		 (unsigned long long)(r->stats.libc_files - on_disk),
		 r->multi ? "uprobe_multi links" : "one uprobe per function",
		 r->exec_hook ? exechook_kind_name(exechook_attached_kind(r->exec_hook)) : "no");
	r->wire = w;
	wire_on(w, DV_REC_EXEC, on_exec, r);
	*out = r;
	return 0;

cleanup:
	resolver_close(r);
	return err;
}

void resolver_close(struct resolver *r)
{
	if (!r)
		return;
	if (r->wire)
		wire_on(r->wire, DV_REC_EXEC, NULL, NULL);
	if (r->known)
		drop_files(r, true);
	libwatch_free(r->libs);
	exechook_close(r->exec_hook);
	resolver_bpf__destroy(r->skel);
	if (r->proc_fd >= 0)
		close(r->proc_fd);
	table_free(r->known);
	table_free(r->seen);
	free(r);
}

int resolver_fd(const struct resolver *r)
{
	return r->libs ? libwatch_fd(r->libs) : -1;
}

bool resolver_watch(struct resolver *r)
{
	int n = libwatch_read(r->libs);

	if (n < 0)
		log_warnx("resolver: reading the library directory watch: %s", strerror(-n));
	return n == LIBWATCH_BATCH;
}

static void read_stats(void *ctx)
{
	struct resolver *r = ctx;
	const struct libwatch_stats none = { 0 }, *dirs = r->libs ? libwatch_stats(r->libs) : &none;

	r->stats.exec_hook = exechook_kind_name(exechook_attached_kind(r->exec_hook));
	r->stats.libdir_entries = dirs->entries;
	r->stats.libdir_watches = dirs->dirs_watched;
	r->stats.libdir_watch_failures = dirs->watch_failures;
	r->stats.libdir_overflows = dirs->overflows;
	r->stats.libdir_start_scan_ms = dirs->start_scan_ns / 1000000;
	r->stats.libdir_start_scan_truncated = dirs->start_truncated;
}

void resolver_stats(struct resolver *r, struct stats_registry *reg)
{
	static const struct resolver untraced;
	const struct resolver_stats *st = r ? &r->stats : &untraced.stats;

	stats_u64(reg, "resolver_libc_files", &st->libc_files);
	stats_u64(reg, "resolver_attach_failures", &st->attach_failures);
	stats_u64(reg, "resolver_exec_checks_dropped", &st->exec_checks_dropped);
	stats_u64(reg, "resolver_libc_detached", &st->libc_detached);
	stats_string(reg, "resolver_exec_hook", &st->exec_hook);
	stats_u64(reg, "resolver_libdir_entries", &st->libdir_entries);
	stats_u64(reg, "resolver_libdir_watches", &st->libdir_watches);
	stats_u64(reg, "resolver_libdir_watch_failures", &st->libdir_watch_failures);
	stats_u64(reg, "resolver_libdir_overflows", &st->libdir_overflows);
	stats_u64(reg, "resolver_libdir_start_scan_ms", &st->libdir_start_scan_ms);
	stats_bool(reg, "resolver_libdir_start_scan_truncated", &st->libdir_start_scan_truncated);
	if (r)
		stats_on_refresh(reg, read_stats, r);
}
