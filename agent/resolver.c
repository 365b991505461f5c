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
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "call.h"
#include "libc.h"
#include "hash.h"
#include "log.h"
#include "proc.h"
#include "resolver.skel.h"
#include "wire.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* New C libraries are found through the sched_process_exec tracepoint, not a periodic /proc
 * rescan: the agent hears of a program within milliseconds, and its cost follows the exec
 * rate instead of the number and size of processes. At exec a dynamically linked program has
 * its interpreter mapped: musl's is its libc, attached at once; glibc's ld.so maps libc.so.6
 * a little later, hence rechecks after these delays while no C library is mapped. */
static const uint64_t recheck_delay_ns[] = { 20000000, 100000000, 500000000 };
#define RECHECK_SLOTS 256
/* A program (executable inode) already looked at in the same mount namespace brings the same
 * libraries: not looked at again for a while. */
#define EXEC_SEEN_SLOTS 4096 /* power of two */
#define EXEC_SEEN_PROBES 8
#define EXEC_SEEN_TTL_NS (60ull * 1000000000)

/* uprobe_multi links (Linux 6.6) postdate libbpf 1.1 and the uapi headers of Debian 12: the
 * kernel's numbers, and BPF_LINK_CREATE's attributes for them (union bpf_attr). */
#define UPROBE_MULTI_ATTACH_TYPE 48 /* BPF_TRACE_UPROBE_MULTI */
#define UPROBE_MULTI_RETURN 1       /* BPF_F_UPROBE_MULTI_RETURN */

struct uprobe_multi_attr {
	uint32_t prog_fd;
	uint32_t target_fd;
	uint32_t attach_type;
	uint32_t flags;
	uint64_t path;
	uint64_t offsets;
	uint64_t ref_ctr_offsets;
	uint64_t cookies;
	uint32_t cnt;
	uint32_t multi_flags;
	uint32_t pid;
};

/* One attachment: a libbpf uprobe link, or a uprobe_multi link's fd. */
struct probe {
	struct bpf_link *link;
	int fd;
};

struct recheck {
	pid_t pid;
	unsigned int tries;
	uint64_t due_ns;
};

struct exec_seen {
	uint64_t exe_dev, exe_ino, mnt_ns;
	uint64_t ts_ns; /* 0: empty */
};

struct resolver {
	struct resolver_bpf *skel;
	bool multi; /* uprobe_multi links; else one uprobe per function with enter[fn] */
	struct bpf_program *enter[DV_FN_NR];
	struct bpf_link *exec_link;
	struct probe *probes;
	size_t n_probes, cap_probes;
	struct libc_set *files; /* every C library file tried, attached or not */
	const char *proc_root;
	int proc_fd;
	struct recheck rechecks[RECHECK_SLOTS];
	size_t n_rechecks;
	struct exec_seen *seen;
	struct resolver_stats stats;
};

static int reserve_probes(struct resolver *r, size_t n)
{
	if (r->n_probes + n > r->cap_probes) {
		size_t cap = r->cap_probes ? 2 * r->cap_probes : 64;
		void *probes = realloc(r->probes, cap * sizeof(*r->probes));

		if (!probes)
			return -ENOMEM;
		r->probes = probes;
		r->cap_probes = cap;
	}
	return 0;
}

/* Return probes go first: a call entered before its return probe was there would leave a
 * state behind that no return clears. */
static int attach_pair(struct resolver *r, const char *path, unsigned int fn, uint64_t off)
{
	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = true);
	struct bpf_link *ret, *entry;
	int err = reserve_probes(r, 2);

	if (err)
		return err;
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
	r->probes[r->n_probes++] = (struct probe){ .link = ret, .fd = -1 };
	r->probes[r->n_probes++] = (struct probe){ .link = entry, .fd = -1 };
	return 0;
}

static int link_uprobe_multi(const struct bpf_program *prog, const char *path,
			     const uint64_t *offsets, const uint64_t *cookies, uint32_t cnt,
			     uint32_t flags)
{
	struct uprobe_multi_attr attr = {
		.prog_fd = bpf_program__fd(prog),
		.attach_type = UPROBE_MULTI_ATTACH_TYPE,
		.path = (uintptr_t)path,
		.offsets = (uintptr_t)offsets,
		.cookies = (uintptr_t)cookies,
		.cnt = cnt,
		.multi_flags = flags,
	};
	int fd = syscall(__NR_bpf, BPF_LINK_CREATE, &attr, sizeof(attr));

	return fd < 0 ? -errno : fd;
}

/* Every function of one file in two links; fns[i] (the cookie) is at offsets[i]. */
static int attach_multi(struct resolver *r, const char *path, const uint64_t *offsets,
			const uint64_t *fns, uint32_t n)
{
	int ret, entry, err = reserve_probes(r, 2);

	if (err)
		return err;
	ret = link_uprobe_multi(r->skel->progs.leave_multi, path, offsets, NULL, n,
				UPROBE_MULTI_RETURN);
	if (ret < 0)
		return ret;
	entry = link_uprobe_multi(r->skel->progs.enter_multi, path, offsets, fns, n, 0);
	if (entry < 0) {
		close(ret);
		return entry;
	}
	r->probes[r->n_probes++] = (struct probe){ .fd = ret };
	r->probes[r->n_probes++] = (struct probe){ .fd = entry };
	return 0;
}

/* Where the kernel can open the file the process mapped: map_files names the very file even
 * when deleted or replaced, in another mount namespace or a chroot. It needs CAP_SYS_ADMIN;
 * without, the maps path inside the process's root. */
static int mapped_file_path(const struct resolver *r, pid_t pid, const struct libc_mapping *m,
			    char *path, size_t size)
{
	snprintf(path, size, "%s/%d/map_files/%llx-%llx", r->proc_root, pid,
		 (unsigned long long)m->start, (unsigned long long)m->end);
	if (access(path, R_OK) == 0)
		return 0;
	if (m->deleted)
		return -ENOENT;
	snprintf(path, size, "%s/%d/root%s", r->proc_root, pid, m->path);
	return access(path, R_OK) ? -errno : 0;
}

/* Attaches the traced functions the file at path defines. */
static void attach_file(struct resolver *r, pid_t pid, const struct libc_mapping *m,
			const char *path)
{
	/* Each function by its name, and by its "__" name as older glibc's libresolv has them. */
	const char *names[2 * (DV_FN_NR - 1)];
	char under[DV_FN_NR - 1][32];
	uint64_t offs[2 * (DV_FN_NR - 1)], at[DV_FN_NR], fns[DV_FN_NR];
	uint32_t n = 0;
	int err, traced = 0;

	for (unsigned int i = 0; i < DV_FN_NR - 1; i++) {
		names[2 * i] = call_function_name(i + 1);
		snprintf(under[i], sizeof(under[i]), "__%s", names[2 * i]);
		names[2 * i + 1] = under[i];
	}
	err = libc_func_offsets(path, names, ARRAY_LEN(names), offs);
	if (err < 0) {
		r->stats.attach_failures++;
		log_warnx("resolver: reading the symbols of %s (pid %d): %s", m->path, pid,
			  strerror(-err));
		return;
	}
	/* One probe per address: musl's res_search is res_query. */
	for (unsigned int i = 0; i < DV_FN_NR - 1; i++) {
		uint64_t off = offs[2 * i] ?: offs[2 * i + 1];
		unsigned int j = 0;

		while (j < n && at[j] != off)
			j++;
		if (!off)
			log_debug("resolver: %s has no %s", m->path, names[2 * i]);
		else if (j < n)
			log_debug("resolver: %s: %s is %s", m->path, names[2 * i],
				  call_function_name(fns[j]));
		else {
			at[n] = off;
			fns[n++] = i + 1;
		}
	}
	if (r->multi && n && (err = attach_multi(r, path, at, fns, n))) {
		r->stats.attach_failures++;
		log_warnx("resolver: attaching to %u functions in %s (pid %d): %s", n, m->path, pid,
			  strerror(-err));
	} else if (r->multi) {
		traced = n;
	}
	for (uint32_t i = 0; !r->multi && i < n; i++) {
		if ((err = attach_pair(r, path, fns[i], at[i]))) {
			r->stats.attach_failures++;
			log_warnx("resolver: attaching to %s in %s (pid %d): %s",
				  call_function_name(fns[i]), m->path, pid, strerror(-err));
		} else {
			traced++;
		}
	}
	if (traced)
		r->stats.libc_files++;
	log_info("resolver: %s %s: %d functions traced (device %u:%u inode %llu, seen in pid %d)",
		 libc_kind_name(m->kind), m->path, traced, major(m->dev), minor(m->dev),
		 (unsigned long long)m->ino, pid);
}

static int on_mapping(void *ctx, pid_t pid, const struct libc_mapping *m)
{
	struct resolver *r = ctx;
	char path[PATH_MAX];
	int err;

	if (libc_set_has(r->files, m->dev, m->ino))
		return 0;
	/* The process exited before we could open its file: another will show the file again. */
	if (mapped_file_path(r, pid, m, path, sizeof(path)))
		return 0;
	err = libc_set_add(r->files, m->dev, m->ino);
	if (err)
		return err;
	attach_file(r, pid, m, path);
	return 0;
}

static int scan_process(void *ctx, pid_t pid)
{
	struct resolver *r = ctx;
	int err = libc_scan_maps(r->proc_fd, pid, on_mapping, r);

	/* Processes exit while we look, and kernel threads have nothing mapped. */
	return err == -ENOMEM ? err : 0;
}

static uint64_t hash3(uint64_t a, uint64_t b, uint64_t c)
{
	const uint64_t v[3] = { a, b, c };

	/* Unseeded: devices, inodes and namespaces are not the network's to choose. */
	return hash_finish(hash_bytes(0, v, sizeof(v)));
}

/* Whether pid's executable was looked at in its mount namespace within EXEC_SEEN_TTL_NS;
 * remembers it when not. The TTL lets a library upgraded under the same program be found. */
static bool exec_seen(struct resolver *r, pid_t pid, uint64_t now)
{
	struct exec_seen key = { .ts_ns = now }, *victim = NULL;
	struct stat exe, mnt;
	char path[64];
	uint64_t h;

	snprintf(path, sizeof(path), "%d/exe", (int)pid);
	if (fstatat(r->proc_fd, path, &exe, 0))
		return false;
	snprintf(path, sizeof(path), "%d/ns/mnt", (int)pid);
	if (fstatat(r->proc_fd, path, &mnt, 0))
		return false;
	key.exe_dev = exe.st_dev;
	key.exe_ino = exe.st_ino;
	key.mnt_ns = mnt.st_ino;
	h = hash3(key.exe_dev, key.exe_ino, key.mnt_ns);
	for (unsigned int i = 0; i < EXEC_SEEN_PROBES; i++) {
		struct exec_seen *e = &r->seen[(h + i) & (EXEC_SEEN_SLOTS - 1)];

		if (e->ts_ns && now - e->ts_ns < EXEC_SEEN_TTL_NS && e->exe_dev == key.exe_dev &&
		    e->exe_ino == key.exe_ino && e->mnt_ns == key.mnt_ns)
			return true;
		/* Empty and expired slots have the oldest times. */
		if (!victim || e->ts_ns < victim->ts_ns)
			victim = e;
	}
	*victim = key;
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

void resolver_exec(struct resolver *r, const struct dv_exec_rec *rec, uint64_t now_ns)
{
	if (exec_seen(r, rec->tgid, now_ns))
		return;
	r->stats.exec_checks++;
	if (libc_scan_maps(r->proc_fd, rec->tgid, on_mapping, r) == 0)
		queue_recheck(r, rec->tgid, 0, now_ns);
}

void resolver_tick(struct resolver *r, uint64_t now_ns)
{
	size_t i = 0;

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

/* Loads the uprobe_multi programs, or on kernels that refuse them (before 6.6) the
 * per-function ones. */
static int load(struct resolver *r, struct wire *w)
{
	for (int multi = 1; multi >= 0; multi--) {
		struct bpf_program *prog;
		libbpf_print_fn_t print;
		int err;

		r->skel = resolver_bpf__open();
		if (!r->skel)
			return -errno;
		bpf_object__for_each_program(prog, r->skel->obj) {
			if (prog == r->skel->progs.on_exec)
				continue;
			bpf_program__set_autoload(prog, is_multi_program(r->skel, prog) == multi);
			if (!is_multi_program(r->skel, prog))
				continue;
			bpf_program__set_expected_attach_type(prog, UPROBE_MULTI_ATTACH_TYPE);
		}
		err = wire_share_maps(w, r->skel->obj);
		/* Older kernels refuse: keep that verifier noise out of the log. */
		print = libbpf_set_print(NULL);
		if (!multi || log_verbose)
			libbpf_set_print(print);
		err = err ?: resolver_bpf__load(r->skel);
		libbpf_set_print(print);
		if (!err) {
			r->multi = multi;
			return 0;
		}
		resolver_bpf__destroy(r->skel);
		r->skel = NULL;
		if (!multi)
			return err;
		log_debug("resolver: no uprobe_multi links here, one uprobe per function instead");
	}
	return -EINVAL;
}

static int start(struct resolver *r, struct wire *w)
{
	int err = load(r, w);

	if (err)
		return err;
	for (unsigned int fn = 1; !r->multi && fn < DV_FN_NR; fn++) {
		char name[64];

		snprintf(name, sizeof(name), "enter_%s", call_function_name(fn));
		r->enter[fn] = bpf_object__find_program_by_name(r->skel->obj, name);
		if (!r->enter[fn])
			return -ENOENT;
	}
	r->exec_link = bpf_program__attach(r->skel->progs.on_exec);
	return r->exec_link ? 0 : -errno;
}

int resolver_open(struct wire *w, const char *proc_root, struct resolver **out)
{
	struct resolver *r;
	int err;

	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->proc_root = proc_root;
	r->proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r->files = libc_set_new();
	r->seen = calloc(EXEC_SEEN_SLOTS, sizeof(*r->seen));
	if (r->proc_fd < 0) {
		err = -errno;
		log_warn("resolver: opening %s", proc_root);
		goto cleanup;
	}
	if (!r->files || !r->seen) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = start(r, w);
	if (err) {
		log_warnx("resolver: loading the resolver call programs: %s", strerror(-err));
		goto cleanup;
	}
	/* The exec tracepoint is attached first: no program slips between scan and hook. */
	err = proc_for_each_pid(r->proc_fd, scan_process, r);
	if (err) {
		log_warnx("resolver: scanning %s for C libraries: %s", proc_root, strerror(-err));
		goto cleanup;
	}
	log_info("resolver: calls traced in %llu C library files (%s); new programs followed at "
		 "exec", (unsigned long long)r->stats.libc_files,
		 r->multi ? "uprobe_multi links" : "one uprobe per function");
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
	for (size_t i = 0; i < r->n_probes; i++) {
		if (r->probes[i].link)
			bpf_link__destroy(r->probes[i].link);
		else
			close(r->probes[i].fd);
	}
	bpf_link__destroy(r->exec_link);
	resolver_bpf__destroy(r->skel);
	if (r->proc_fd >= 0)
		close(r->proc_fd);
	libc_set_free(r->files);
	free(r->probes);
	free(r->seen);
	free(r);
}

const struct resolver_stats *resolver_stats(const struct resolver *r)
{
	return &r->stats;
}
