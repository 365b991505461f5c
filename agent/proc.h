/* Process enrichment from /proc, cached per tgid, and the small /proc readers that
 * sockscan.c shares. Not thread-safe: one cache per thread. */
#ifndef DNSVIGIL_PROC_H
#define DNSVIGIL_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "event.h"

#define PROC_CMDLINE_MAX 1024 /* bytes of proc_info.cmdline, NUL included */
#define PROC_CONTAINER_ID_LEN 64
#define PROC_CGROUP_FILE_LEN 16384 /* /proc/PID/cgroup of a hybrid host with k8s paths */

struct proc_cache;

/* proc_root is a procfs mount of the agent's pid namespace ("/proc"), or a fake tree in tests.
 * max_entries bounds the cache; the least recently used process is evicted. NULL on error
 * with errno set. */
struct proc_cache *proc_cache_new(const char *proc_root, size_t max_entries);
void proc_cache_free(struct proc_cache *c);

/* Fills the /proc-derived fields of *p (exe, cmdline, ppid, cgroup, container_id) for the
 * tgid p->pid, and comm/uid/gid when the kernel did not know them (comm "", uid/gid -1). The
 * kernel-provided tid, uid, gid, comm and cgroup_id are kept. Strings point into the cache
 * and stay valid until the next proc_cache_* call. now_ns is CLOCK_MONOTONIC (the event's
 * bpf_ktime_get_ns).
 *
 * A hit costs no system call. An entry is re-checked against /proc/PID/stat (start time for
 * pid reuse, arg_start for exec, comm) when it is older than 1 s, and at once when the main
 * thread reports a comm not seen before (exec); other threads may carry names of their own.
 * A cgroup id other than cached reloads the entry once it is older than 1 s. A process that
 * exited after it was cached keeps its last known fields: events often outlive their
 * process (a response to "dig" arrives after dig is gone).
 *
 * exe keeps the kernel's " (deleted)" suffix: a binary deleted or replaced while running
 * (package upgrade, memfd) is worth seeing. Reading cmdline can stall while the target
 * holds its mmap lock, as for ps(1); that is why cmdline is read on a miss only.
 *
 * Returns 0, -ENOENT when the process is gone and was never seen alive (fields stay
 * NULL/-1; /proc is asked again after 250 ms), -EINVAL when p->pid is unknown, or another
 * -errno. */
int proc_cache_fill(struct proc_cache *c, struct proc_info *p, uint64_t now_ns);

/* Container id in a cgroup path: the 64-hex id of docker ("/docker/<id>",
 * "docker-<id>.scope"), containerd/CRI ("cri-containerd-<id>.scope", "/kubepods/.../<id>"),
 * podman ("libpod-<id>.scope"; not "libpod-conmon-<id>.scope", the monitor) and CRI-O
 * ("crio-<id>.scope"; not "crio-conmon-"). Nested containers give the innermost id.
 * systemd-nspawn and LXC name machines, not ids: NULL. Returns out, or NULL when none. */
const char *proc_container_id(const char *cgroup_path, char out[PROC_CONTAINER_ID_LEN + 1]);

/* Shared /proc readers. dirfd is a /proc/PID directory from proc_open_pid(): everything read
 * through it belongs to that one process even if the pid is reused meanwhile. */

/* Opens <proc_fd>/<pid> as a directory; returns the fd or -errno. */
int proc_open_pid(int proc_fd, pid_t pid);

/* Calls fn for every process (tgid) listed in the procfs directory proc_fd. Returns 0, fn's
 * non-zero return, or -errno. */
int proc_for_each_pid(int proc_fd, int (*fn)(void *ctx, pid_t pid), void *ctx);

/* Reads a whole small file (or its first size - 1 bytes) NUL-terminated; returns its length or
 * -errno. */
ssize_t proc_read_file(int dirfd, const char *name, char *buf, size_t size);

struct proc_stat {
	char comm[PROC_COMM_LEN];
	int32_t ppid;
	uint64_t start_time; /* field 22: clock ticks after boot; differs when a pid is reused */
	uint64_t arg_start;  /* field 48: argv address; differs after exec (ASLR), 0 if hidden */
};

/* Parses /proc/PID/stat; comm may contain spaces and ')', so fields count from the last ')'. */
int proc_read_stat(int dirfd, struct proc_stat *st);

/* Real uid and gid from /proc/PID/status: what bpf_get_current_uid_gid() reports. */
int proc_read_ids(int dirfd, int64_t *uid, int64_t *gid);

/* Path of the hierarchy in /proc/PID/cgroup text whose controller list names controller;
 * "" selects the cgroup v2 line ("0::/path"). Returns a pointer into text and sets *len,
 * or NULL when no line matches. */
const char *proc_cgroup_path(const char *text, const char *controller, size_t *len);

#endif
