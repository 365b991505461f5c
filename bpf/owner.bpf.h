/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Recording which process owns a socket, from hooks that run in that process's context. */
#ifndef DNSVIGIL_OWNER_BPF_H
#define DNSVIGIL_OWNER_BPF_H

#include <bpf/bpf_core_read.h>

#include "maps.bpf.h"

/* Set by the agent once the kernel accepted these programs calling the task helpers
 * (current pid, task, cgroup id; bpf_probe_read_kernel): cgroup sock and sock_addr programs
 * gained them after 5.8. Without them only uid/gid are recorded and the agent resolves the
 * pid from /proc. */
const volatile bool have_task_helpers = false;

/* A process announced this recently is in the agent's /proc cache already. */
#define ANNOUNCE_AGAIN_NS (10ull * 1000000000)

/* tgid -> when its last owner notice went out. glibc opens a socket per lookup: without this
 * every lookup would wake the agent. LRU: exited processes age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, __u64);
} announced_procs SEC(".maps");

/* Tells the agent about a new owner (see struct dv_owner_rec), once per process in a while. */
static __always_inline void announce_owner(__u64 cookie, const struct dv_owner *owner)
{
	__u64 now = bpf_ktime_get_ns();
	__u64 *last = bpf_map_lookup_elem(&announced_procs, &owner->tgid);
	struct dv_owner_rec *rec;

	if (last && now - *last < ANNOUNCE_AGAIN_NS)
		return;
	bpf_map_update_elem(&announced_procs, &owner->tgid, &now, BPF_ANY);
	rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	if (!rec) {
		count_drop(DV_DROP_RINGBUF_FULL);
		return;
	}
	rec->kind = DV_REC_OWNER;
	rec->cookie = cookie;
	rec->owner = *owner;
	bpf_ringbuf_submit(rec, BPF_RB_FORCE_WAKEUP);
}

/* announce: the socket is known to talk DNS, so its process is worth reading at once.
 * Returns the socket's owner as now recorded (NULL only when the map refused it). */
static __always_inline struct dv_owner *record_owner(__u64 cookie, __u32 source, bool announce)
{
	__u64 pid_tgid = 0, call_id = 0;
	struct dv_owner *known, owner = {};
	__u64 uid_gid = bpf_get_current_uid_gid();

	if (have_task_helpers)
		pid_tgid = bpf_get_current_pid_tgid();
	/* A new socket has sent nothing yet: the call is stamped when it connects or sends. */
	if (have_task_helpers && source != DV_OWNER_SOCK_CREATE)
		call_id = active_call_id(pid_tgid);
	known = bpf_map_lookup_elem(&sock_owner, &cookie);
	/* The common case: the same thread again. No map write per packet. */
	if (known && known->tgid == pid_tgid >> 32 && known->pid == (__u32)pid_tgid &&
	    known->uid == (__u32)uid_gid && (known->announced || !announce)) {
		if (known->call_id != call_id)
			known->call_id = call_id;
		return known;
	}

	owner.tgid = pid_tgid >> 32;
	owner.pid = (__u32)pid_tgid;
	owner.uid = (__u32)uid_gid;
	owner.gid = uid_gid >> 32;
	owner.source = source;
	owner.call_id = call_id;
	if (have_task_helpers) {
		struct task_struct *task = (void *)bpf_get_current_task();

		owner.cgroup_id = bpf_get_current_cgroup_id();
		/* The process's name is its main thread's; the caller may be a worker thread
		 * with a name of its own (dig sends from "isc-net-0000"). */
		BPF_CORE_READ_STR_INTO(&owner.comm, task, group_leader, comm);
	}
	owner.announced = announce && have_task_helpers;
	bpf_map_update_elem(&sock_owner, &cookie, &owner, BPF_ANY);
	if (owner.announced)
		announce_owner(cookie, &owner);
	return bpf_map_lookup_elem(&sock_owner, &cookie);
}

#endif
