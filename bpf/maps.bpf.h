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
