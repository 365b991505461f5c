/* Owners of sockets older than the agent. The kernel's socket hooks only see sockets created
 * or used after they attached; this walks /proc/PID/fd and reads each socket's cookie through
 * a pidfd_getfd() duplicate, to seed the sock_owner map. */
#ifndef DNSVIGIL_SOCKSCAN_H
#define DNSVIGIL_SOCKSCAN_H

#include <linux/types.h>
#include <stdint.h>

#include "dnsvigil.h"

struct sockscan_stats {
	uint32_t processes; /* processes whose fd table was read */
	uint32_t sockets;   /* distinct sockets seen, any family */
	uint32_t reported;  /* TCP and UDP over IPv4/IPv6 sockets passed to the callback */
	uint32_t skipped;   /* sockets left alone to keep their net_cls/net_prio class */
	uint32_t errors;    /* processes or sockets lost to errors other than exiting */
};

/* Called once per socket; a non-zero return stops the scan and sockscan_run() returns it. */
typedef int (*sockscan_fn)(void *ctx, uint64_t cookie, const struct dv_owner *owner);

/* Calls fn for every IPv4/IPv6 TCP or UDP socket held by a process under proc_root, which
 * must be a procfs mount of the agent's own pid namespace (pidfd_open() takes its pids).
 *
 * owner: tgid and pid are the holder's tgid (the thread is unknown), uid/gid the real ids as
 * bpf_get_current_uid_gid() gives them, comm the main thread's, cgroup_id the inode number of
 * the process's cgroup v2 directory, which is what bpf_get_current_cgroup_id() returns (0
 * without a cgroup2 mount), source DV_OWNER_PROCFS.
 *
 * A socket held by several processes (inherited across fork, passed over SCM_RIGHTS) is
 * reported once, for the lowest tgid: /proc lists tgids in ascending order and a parent
 * usually has the lower pid, so that is most often the creator the kernel hook would name.
 *
 * pidfd_getfd() needs ptrace access to the holder (root or CAP_SYS_PTRACE, else processes of
 * our own uid) and, like receiving a socket over SCM_RIGHTS, sets the socket's net_cls classid
 * and net_prio index to the receiver's (__receive_sock()). Sockets of processes whose v1
 * net_cls or net_prio cgroup differs from ours are therefore skipped, not altered; pure
 * cgroup v2 hosts never skip.
 *
 * Never blocks on a target: fd links are only read, never opened. Processes exiting during
 * the scan are passed over silently. fds a thread unshared from its process are not seen.
 * Returns 0, fn's non-zero return, or -errno when proc_root cannot be read, memory runs out,
 * or pidfds are missing (-ENOSYS: Linux < 5.6, or valgrind < 3.20). st may be NULL. */
int sockscan_run(const char *proc_root, sockscan_fn fn, void *ctx, struct sockscan_stats *st);

#endif
