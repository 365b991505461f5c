/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Records shared by the kernel programs and the agent. Fixed-width types only. */
#ifndef DNSVIGIL_H
#define DNSVIGIL_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#define DV_COMM_LEN 16
/* Payload bytes carried by one ring-buffer record; bigger payloads take several records.
 * Payloads of at most DV_TINY_CHUNK_LEN or DV_SHORT_CHUNK_LEN bytes go in a record cut short
 * after them: a dv_pkt record is sizeof(struct dv_pkt_hdr) + chunk capacity bytes long. */
#define DV_CHUNK_LEN 512
#define DV_SHORT_CHUNK_LEN 128
#define DV_TINY_CHUNK_LEN 64
/* A GSO TCP skb can carry 64 KiB; 128 chunks of 512 cover it. Beyond that: DV_PKT_TRUNCATED. */
#define DV_MAX_CHUNKS 128
#define DV_MAX_PORTS 4

/* First byte of every ring-buffer record. */
enum dv_record_kind {
	DV_REC_PKT = 1,   /* struct dv_pkt */
	DV_REC_OWNER = 2, /* struct dv_owner_rec */
	DV_REC_CALL = 3,  /* struct dv_call_rec */
	DV_REC_EXEC = 4,  /* struct dv_exec_rec */
	DV_REC_NR,
};

enum dv_direction {
	DV_EGRESS = 0,
	DV_INGRESS = 1,
};

/* dv_pkt.flags */
#define DV_PKT_OWNER_KNOWN (1 << 0) /* owner filled from sock_owner */
#define DV_PKT_TRUNCATED (1 << 1)   /* payload longer than DV_MAX_CHUNKS chunks */

/* dv_pkt_hdr.tcp_flags is the TCP header's flags byte; the bits dnsvigil acts on. Defined here
 * for both sides: <netinet/tcp.h> is not for BPF programs, and vmlinux.h's TCP_FLAG_* are
 * bits of the 32-bit header word, not of this byte. */
#define DV_TCP_FIN 0x01
#define DV_TCP_SYN 0x02
#define DV_TCP_RST 0x04

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
	char comm[DV_COMM_LEN]; /* the process's (main thread's) name */
	__u32 source;
	__u32 announced; /* a dv_owner_rec went out for this owner */
	/* The resolver library call (dv_call_rec.call_id) the thread was in when it last used the
	 * socket; 0: none. Stamped by the socket hooks and, for UDP, the wire egress. */
	__u64 call_id;
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
	DV_DROP_NESTED,           /* a third capture nested on one CPU: packet not captured */
	DV_DROP_NR,
};

/* What every chunk of one packet repeats. Chunks of a packet share ts_ns, cookie and
 * direction. */
struct dv_pkt_hdr {
	__u8 kind; /* DV_REC_PKT */
	__u8 direction;
	__u8 family;  /* 4 or 6 */
	__u8 l4proto; /* IPPROTO_UDP or IPPROTO_TCP */
	__u8 tcp_flags; /* DV_TCP_* */
	__u8 flags; /* DV_PKT_* */
	__u16 sport; /* host byte order */
	__u16 dport;
	__u16 chunk_len;
	__u32 tcp_seq;     /* host byte order, as in the TCP header */
	__u32 payload_len; /* whole L4 payload of the packet */
	__u32 chunk_off;   /* offset of this chunk in the payload */
	__u32 sock_uid;    /* bpf_get_socket_uid, read when the owner is not known */
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

/* Resolver library functions traced by bpf/resolver.bpf.c. */
enum dv_call_fn {
	DV_FN_GETADDRINFO = 1,
	DV_FN_GETHOSTBYNAME,
	DV_FN_GETHOSTBYNAME2,
	DV_FN_GETHOSTBYNAME_R,
	DV_FN_GETHOSTBYNAME2_R,
	DV_FN_GETHOSTBYADDR,
	DV_FN_GETHOSTBYADDR_R,
	DV_FN_GETNAMEINFO,
	DV_FN_RES_QUERY,
	DV_FN_RES_SEARCH,
	DV_FN_RES_NQUERY,
	DV_FN_RES_NSEARCH,
	DV_FN_RES_SEND,
	DV_FN_RES_NSEND,
	DV_FN_GETADDRINFO_A,
	DV_FN_NR,
};

#define DV_CALL_NAME_LEN 256
#define DV_CALL_SERVICE_LEN 32
#define DV_CALL_MAX_ADDRS 16
#define DV_CALL_MSG_LEN 512

/* dv_call_rec.flags */
#define DV_CALL_NAME_IS_ADDR (1 << 0) /* name holds a binary address of family (reverse lookups) */
#define DV_CALL_GOT_RESULT (1 << 1)   /* the hostent/addrinfo result pointer was not NULL */
#define DV_CALL_HERRNO (1 << 2)       /* herrno is known */
#define DV_CALL_HINTS (1 << 3)        /* getaddrinfo hints were given: family, ai_flags valid */

struct dv_call_addr {
	__u8 addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	__u8 family;   /* 4 or 6 */
	__u8 pad[3];
};

/* One resolver library call, sent when the outermost traced function returns. Strings are
 * NUL-terminated; arrays are valid up to their counts only. */
struct dv_call_rec {
	__u8 kind;    /* DV_REC_CALL */
	__u8 fn;      /* enum dv_call_fn */
	__u8 flags;   /* DV_CALL_* */
	__u8 n_addrs; /* addresses in addrs, consecutive duplicates dropped */
	__u16 msg_len;
	__u16 port;     /* getnameinfo: the port of the address, host byte order */
	__s32 family;   /* AF_* the caller asked for (hints, af, address type); 0 = unspecified */
	__s32 ai_flags; /* getaddrinfo hints.ai_flags, getnameinfo flags */
	__u16 qtype;    /* res_query family: the type asked for */
	__u16 pad;
	__s32 herrno;   /* with DV_CALL_HERRNO */
	__s64 ret;      /* return value; for functions returning a pointer, that pointer */
	__u64 call_id;  /* unique per call while the agent runs, never 0 */
	__u64 start_ns; /* bpf_ktime_get_ns at entry and return */
	__u64 end_ns;
	struct dv_owner owner; /* the calling thread */
	char name[DV_CALL_NAME_LEN];       /* the name asked for (res_send: none, see msg) */
	char service[DV_CALL_SERVICE_LEN]; /* getaddrinfo's service */
	char hostname[DV_CALL_NAME_LEN];   /* returned: canonical name, h_name, getnameinfo host */
	struct dv_call_addr addrs[DV_CALL_MAX_ADDRS];
	/* res_*: the answer when the call returned one (up to DV_CALL_MSG_LEN bytes); on failure
	 * what the answer buffer holds (the failing response, when there was one), and for
	 * res_send/res_nsend the query. */
	__u8 msg[DV_CALL_MSG_LEN];
};

/* A process called execve(): the agent looks for C libraries it has not attached to yet. */
struct dv_exec_rec {
	__u8 kind; /* DV_REC_EXEC */
	__u8 pad[3];
	__u32 tgid;
};

#endif
