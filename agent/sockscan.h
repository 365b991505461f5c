/* Owners of sockets older than the agent. The kernel's socket hooks only see sockets created
 * or used after they attached; this seeds the sock_owner map with the others, and names
 * sockets the hooks missed later on (accepted TCP sockets), without touching any process:
 * a sock_diag dump per network namespace gives each TCP and UDP socket's inode and cookie,
 * and the "socket:[INODE]" links in /proc/PID/fd name the processes holding it. */
#ifndef DNSVIGIL_SOCKSCAN_H
#define DNSVIGIL_SOCKSCAN_H

#include <linux/types.h>
#include <stdint.h>

#include "dnsvigil.h"

/* One scan. */
struct sockscan_stats {
	uint32_t namespaces; /* network namespaces whose sockets were dumped */
	uint32_t sockets;    /* TCP and UDP sockets the dumps listed with an inode */
	uint32_t processes;  /* processes whose fd table was read */
	uint32_t reported;   /* sockets passed to the callback */
	/* Units lost to errors other than exiting: a namespace that could not be entered or
	 * dumped, a protocol the kernel has no sock_diag module for (in one namespace), a
	 * process whose fds or /proc files could not be read, a socket or namespace beyond
	 * what one scan holds (2^20 and 2^16). Each is logged with -v, the sockets beyond
	 * the bound once a scan. */
	uint32_t errors;
};

/* Called once per socket; a non-zero return stops the scan and sockscan_run() returns it. */
typedef int (*sockscan_fn)(void *ctx, uint64_t cookie, const struct dv_owner *owner);

/* Calls fn for every IPv4/IPv6 TCP or UDP socket with a local port that a process under
 * proc_root holds. proc_root must be a procfs mount of the caller's own pid namespace.
 *
 * Namespaces: every distinct one in proc_root/PID/ns/net, and those bind-mounted in
 * /run/netns (ip netns add), which may hold sockets of processes living elsewhere. The
 * calling thread enters each but its own with setns() just long enough to open a netlink
 * socket there, and goes back: call this from a thread of its own (sockscan_start() does).
 * Others need CAP_SYS_ADMIN over the namespace; one that cannot be entered is counted in
 * errors. A socket whose namespace has no process in it and is not in /run/netns is not
 * found.
 *
 * cookie is the kernel's socket cookie (SO_COOKIE, bpf_get_socket_cookie()). owner: tgid
 * and pid are the holder's tgid (the thread is unknown), uid/gid the real ids as
 * bpf_get_current_uid_gid() gives them, comm the main thread's, cgroup_id the inode number
 * of the process's cgroup v2 directory, which is what bpf_get_current_cgroup_id() returns
 * (0 without a cgroup2 mount), source DV_OWNER_PROCFS.
 *
 * A socket held by several processes (inherited across fork, passed over SCM_RIGHTS) is
 * reported once, for the lowest tgid: /proc lists tgids in ascending order and a parent
 * usually has the lower pid, so that is most often the creator the kernel hook would name.
 *
 * No process is touched: fd links are read, never opened, and nothing is duplicated.
 * A holder's stat, status and cgroup are read through the /proc/PID directory its fds were
 * read from, so a pid reused meanwhile fails the read instead of naming another process.
 * Sockets with no local port (never bound, connected or sent from) are not in the kernel's
 * tables and are not reported: the socket hooks see them when they first connect or send.
 * Sockets opened between a namespace's dump and the reading of /proc, and fds a thread
 * unshared from its process, are not seen. Processes exiting during the scan are passed over
 * silently.
 *
 * Returns 0, fn's non-zero return, or -errno when proc_root cannot be read, memory runs out,
 * or the thread could not return to its own namespace (it then stays in another; the next
 * scan starts from wherever it is). st may be NULL. */
int sockscan_run(const char *proc_root, sockscan_fn fn, void *ctx, struct sockscan_stats *st);

/* A worker thread running sockscan_run() at start and again on request. */
struct sockscan;

/* Cumulative since sockscan_start(). */
struct sockscan_counters {
	uint64_t scans;      /* scans run, the first one included */
	uint64_t namespaces; /* sum of sockscan_stats.namespaces */
	uint64_t reported;   /* sum of sockscan_stats.reported */
	uint64_t errors;     /* sum of sockscan_stats.errors, plus scans that failed as a whole */
};

/* Starts the worker and waits for its first scan, so that the sockets existing now are
 * reported when this returns. fn is called on the worker's thread only, one call at a time;
 * it must not block for long. proc_root is copied. Returns 0 and sets *out, or the first
 * scan's error (see sockscan_run()) or another -errno, with no thread left running. */
int sockscan_start(const char *proc_root, sockscan_fn fn, void *ctx, struct sockscan **out);

/* Asks for a rescan: a socket without a known owner showed up. Never blocks; requests made
 * before the next scan begins are served by that one scan, which begins at least
 * SOCKSCAN_INTERVAL_NS, and SOCKSCAN_BUSY_FACTOR times as long as the previous scan took,
 * after the previous one began. Safe from any thread. */
void sockscan_request(struct sockscan *s);

/* Copies the counters; safe from any thread while s runs. */
void sockscan_counters(struct sockscan *s, struct sockscan_counters *out);

/* Stops the worker (a scan under way is finished first, a requested one is dropped), joins
 * it and frees s: no other call on s may run meanwhile or come after. fn is not called after
 * this returns. s may be NULL. */
void sockscan_stop(struct sockscan *s);

/* Unknown sockets keep asking for as long as their traffic lasts, and some are never found
 * (their process exited, their namespace has no process in it): rescans must cost the host
 * little however long that goes on, while a socket the hooks missed is still named within
 * about a second. A scan takes some 10 us per process plus about 3 ms per network namespace
 * on a 24 GiB machine (each namespace's TCP dumps walk the kernel's whole connection hash
 * table, which is sized by memory): a few ms on most hosts, but a good part of a second
 * with hundreds of containers, hence the second bound, which keeps rescans under 5 % of a
 * CPU. */
#define SOCKSCAN_INTERVAL_NS (1000ull * 1000000)
#define SOCKSCAN_BUSY_FACTOR 20

#endif
