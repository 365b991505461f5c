/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Maps shared by every dnsvigil kernel program. Each skeleton declares them; the agent loads
 * the wire skeleton first and makes the others reuse its map fds. */
#ifndef DNSVIGIL_MAPS_BPF_H
#define DNSVIGIL_MAPS_BPF_H

#include "dnsvigil.h"

/* Size is set by the agent before load (--ringbuf-mb). */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16 << 20);
} events SEC(".maps");

/* Socket cookie -> process that last used the socket. LRU: closed sockets age out without a
 * release hook (cgroup/sock_release needs 5.9). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, __u64);
	__type(value, struct dv_owner);
} sock_owner SEC(".maps");

/* Ring buffers have no lost counter of their own: every chunk we fail to emit is counted. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, DV_DROP_NR);
	__type(key, __u32);
	__type(value, __u64);
} drops SEC(".maps");

/* A resolver library call in progress on a thread (bpf/resolver.bpf.c). Only call_id is read
 * outside resolver.bpf.c. */
struct dv_call_state {
	__u64 call_id;
	__u64 start_ns;
	__u64 sp;      /* user stack pointer at entry: nested calls run below it */
	__u64 name;    /* user pointers saved at entry, read at return (see resolver.bpf.c) */
	__u64 service;
	__u64 hints;
	__u64 out;     /* where the function writes its result */
	__u64 herrnop; /* int *h_errnop: the call's own, or a nested call's (herrnop_inner) */
	__u32 name_len;
	__u32 out_len;
	__s32 family;
	__s32 ai_flags;
	__s32 herrno;  /* read from a nested call's herrnop when it returned */
	__u16 qtype;
	__u8 fn;       /* enum dv_call_fn */
	__u8 depth;    /* traced functions active on the thread (libc calls its own entry points);
			* 0 between calls */
	__u8 herrnop_inner;
	__u8 herrno_known;
	__u8 woke_agent; /* a record of this thread woke the agent */
	__u8 pad[5];
};

/* pid_tgid -> the call the thread is in (depth > 0) or was last in. The socket hooks and the
 * wire egress stamp its call_id on the sockets the thread uses. An entry stays between calls
 * (no map update per call); LRU: threads that are gone age out. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 16384);
	__type(key, __u64);
	__type(value, struct dv_call_state);
} active_calls SEC(".maps");

static __always_inline __u64 active_call_id(__u64 pid_tgid)
{
	struct dv_call_state *call = bpf_map_lookup_elem(&active_calls, &pid_tgid);

	return call && call->depth ? call->call_id : 0;
}

static __always_inline void count_drop(__u32 reason)
{
	__u64 *n = bpf_map_lookup_elem(&drops, &reason);

	if (n)
		*n += 1;
}

/* DNS ports, set by the agent before load; unused slots are 0. */
const volatile __u16 dns_ports[DV_MAX_PORTS] = { 53 };

static __always_inline bool is_dns_port(__u16 port)
{
	/* Unrolled: a constant-bound loop over rodata compiles to four compares. */
#pragma unroll
	for (int i = 0; i < DV_MAX_PORTS; i++)
		if (dns_ports[i] && dns_ports[i] == port)
			return true;
	return false;
}

#endif
