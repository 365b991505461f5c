/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records shared by the kernel programs and the agent. Fixed-width types only. */
#ifndef DNSVIGIL_H
#define DNSVIGIL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DV_COMM_LEN 16
/* Payload bytes carried by one ring-buffer record; bigger payloads take several records. */
#define DV_CHUNK_LEN 512
/* A GSO TCP skb can carry 64 KiB; 128 chunks of 512 cover it. Beyond that: DV_PKT_TRUNCATED. */
#define DV_MAX_CHUNKS 128
#define DV_MAX_PORTS 4

/* First byte of every ring-buffer record. */
enum dv_record_kind {
	DV_REC_PKT = 1,   /* struct dv_pkt */
	DV_REC_OWNER = 2, /* struct dv_owner_rec */
};

enum dv_direction {
	DV_EGRESS = 0,
	DV_INGRESS = 1,
};

/* dv_pkt.flags */
#define DV_PKT_OWNER_KNOWN (1 << 0) /* owner filled from sock_owner */
#define DV_PKT_TRUNCATED (1 << 1)   /* payload longer than DV_MAX_CHUNKS chunks */

/* dv_owner.source: which hook last saw the socket's process */
enum dv_owner_source {
	DV_OWNER_SOCK_CREATE = 1,
	DV_OWNER_CONNECT = 2,
	DV_OWNER_SENDMSG = 3,
	DV_OWNER_RECVMSG = 4,
	DV_OWNER_EGRESS = 5, /* a UDP send seen by the wire program, in the sender's context */
	DV_OWNER_PROCFS = 6, /* written by the agent for sockets older than the agent */
};

/* Value of the sock_owner map, keyed by socket cookie. */
struct dv_owner {
	__u32 tgid;
	__u32 pid; /* thread id */
	__u32 uid;
	__u32 gid;
	__u64 cgroup_id;
	char comm[DV_COMM_LEN];
	__u32 source;
	__u32 announced; /* a dv_owner_rec went out for this owner */
};

/* A socket hook saw a new owner for a DNS socket. Sent with a wakeup so the agent reads
 * /proc/<tgid> while the process is surely alive: short-lived clients (dig, a script's one
 * lookup) are often gone by the time their packets are processed. */
struct dv_owner_rec {
	__u8 kind; /* DV_REC_OWNER */
	__u8 pad[7];
	__u64 cookie;
	struct dv_owner owner;
};

/* drops map indexes (per-CPU counters) */
enum dv_drop_reason {
	DV_DROP_RINGBUF_FULL = 0, /* bpf_ringbuf_reserve failed: a chunk was lost */
	DV_DROP_LOAD_BYTES,       /* bpf_skb_load_bytes failed: a chunk was lost */
	DV_DROP_TOO_LONG,         /* payload beyond DV_MAX_CHUNKS chunks */
	DV_DROP_HDR_NOT_LINEAR,   /* headers outside the linear skb area: packet not parsed */
	DV_DROP_NR,
};

/* What every chunk of one packet repeats. Chunks of a packet share ts_ns, cookie and
 * direction. */
struct dv_pkt_hdr {
	__u8 kind; /* DV_REC_PKT */
	__u8 direction;
	__u8 family;  /* 4 or 6 */
	__u8 l4proto; /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 tcp_flags;
	__u8 flags; /* DV_PKT_* */
	__u16 sport; /* host byte order */
	__u16 dport;
	__u16 chunk_len;
	__u32 tcp_seq;     /* host byte order, as in the TCP header */
	__u32 payload_len; /* whole L4 payload of the packet */
	__u32 chunk_off;   /* offset of this chunk in the payload */
	__u32 sock_uid;    /* bpf_get_socket_uid: known even when the owner is not */
	__u64 ts_ns;       /* bpf_ktime_get_ns (CLOCK_MONOTONIC) */
	__u64 cookie;
	__u32 saddr[4]; /* network byte order; IPv4 in saddr[0] */
	__u32 daddr[4];
	struct dv_owner owner; /* valid when DV_PKT_OWNER_KNOWN */
};

/* One ring-buffer record: one chunk of one packet's L4 payload. */
struct dv_pkt {
	struct dv_pkt_hdr hdr;
	__u8 data[DV_CHUNK_LEN];
};

#endif
