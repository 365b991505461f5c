// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Wire capture: cgroup_skb ingress and egress on the cgroup v2 root see every socket's
 * packets, loopback and other network namespaces included. For DNS ports the L4 payload is
 * copied into the ring buffer in chunks, with the socket cookie and its owner. The programs
 * only read: they always return 1, so no packet is ever dropped or changed. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "owner.bpf.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD
#define IP_OFFSET_MASK 0x1fff
#define NEXTHDR_HOP 0
#define NEXTHDR_ROUTING 43
#define NEXTHDR_FRAGMENT 44
#define NEXTHDR_AUTH 51
#define NEXTHDR_DEST 60
#define MAX_IPV6_EXT_HDRS 6
#define SKB_PASS 1

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Set by the agent once the kernel accepted cgroup_skb programs calling the task helpers and
 * bpf_skc_to_tcp_sock (5.9+); older kernels get programs without (see owner.bpf.h). */
const volatile bool egress_task_owner = false;
/* Records are submitted without waking the consumer (it polls on a short timeout) until a
 * CPU has submitted this many bytes since it last woke it: one wakeup per batch instead of one
 * per packet. The agent sets it to its backlog target divided among the CPUs. */
const volatile __u32 wakeup_bytes_per_cpu = 128 << 10;

struct l4 {
	__u32 payload_off;
	__u8 proto;
};

/* IPv6 extension headers up to the transport header. Returns -1 for non-first fragments and
 * anything unparsable. */
static __always_inline int skip_ipv6_ext(void *data, void *end, struct l4 *l4)
{
	__u32 off = l4->payload_off;
	__u8 next = l4->proto;

#pragma unroll
	for (int i = 0; i < MAX_IPV6_EXT_HDRS; i++) {
		struct ipv6_opt_hdr *h;
		__u32 len;

		if (next != NEXTHDR_HOP && next != NEXTHDR_ROUTING && next != NEXTHDR_FRAGMENT &&
		    next != NEXTHDR_AUTH && next != NEXTHDR_DEST)
			break;
		/* Bound the offset so the verifier accepts data + off. */
		if (off > 512)
			return -1;
		h = data + off;
		if ((void *)(h + 1) > end)
			return -1;
		if (next == NEXTHDR_FRAGMENT) {
			struct frag_hdr *fh = (void *)h;

			if ((void *)(fh + 1) > end)
				return -1;
			if (fh->frag_off & bpf_htons(0xfff8))
				return -1;
			len = sizeof(*fh);
		} else if (next == NEXTHDR_AUTH) {
			len = (h->hdrlen + 2) * 4;
		} else {
			len = (h->hdrlen + 1) * 8;
		}
		next = h->nexthdr;
		off += len;
	}
	l4->payload_off = off;
	l4->proto = next;
	return 0;
}

static __always_inline int parse_l3(struct __sk_buff *skb, void *data, void *end,
				    struct dv_pkt_hdr *h, struct l4 *l4)
{
	if (skb->protocol == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = data;

		if ((void *)(ip + 1) > end)
			return -1;
		/* Only a first fragment carries the transport header (and cgroup ingress sees
		 * reassembled datagrams anyway). */
		if (ip->frag_off & bpf_htons(IP_OFFSET_MASK))
			return -1;
		h->family = 4;
		h->saddr[0] = ip->saddr;
		h->daddr[0] = ip->daddr;
		l4->payload_off = ip->ihl * 4;
		l4->proto = ip->protocol;
		return 0;
	}
	if (skb->protocol == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = data;

		if ((void *)(ip6 + 1) > end)
			return -1;
		h->family = 6;
		__builtin_memcpy(h->saddr, &ip6->saddr, sizeof(h->saddr));
		__builtin_memcpy(h->daddr, &ip6->daddr, sizeof(h->daddr));
		l4->payload_off = sizeof(*ip6);
		l4->proto = ip6->nexthdr;
		return skip_ipv6_ext(data, end, l4);
	}
	return -1;
}

/* Fills ports, TCP state and the payload offset. Returns -1 when not UDP/TCP. */
static __always_inline int parse_l4(void *data, void *end, struct dv_pkt_hdr *h, struct l4 *l4)
{
	__u32 off = l4->payload_off;

	/* Bound the offset so the verifier accepts data + off. */
	if (off > 1024)
		return -1;
	if (l4->proto == IPPROTO_UDP) {
		struct udphdr *udp = data + off;

		if ((void *)(udp + 1) > end)
			return -1;
		h->sport = bpf_ntohs(udp->source);
		h->dport = bpf_ntohs(udp->dest);
		l4->payload_off = off + sizeof(*udp);
	} else if (l4->proto == IPPROTO_TCP) {
		struct tcphdr *tcp = data + off;

		if ((void *)(tcp + 1) > end)
			return -1;
		h->sport = bpf_ntohs(tcp->source);
		h->dport = bpf_ntohs(tcp->dest);
		h->tcp_seq = bpf_ntohl(tcp->seq);
		/* Flags byte 13 of the header: bitfields in vmlinux.h differ by endianness. */
		h->tcp_flags = ((__u8 *)tcp)[13];
		l4->payload_off = off + tcp->doff * 4;
	} else {
		return -1;
	}
	h->l4proto = l4->proto;
	return 0;
}

/* Whether the current task is the one sending this egress TCP segment. (A UDP send always
 * runs in the sender's context.) TCP also transmits from softirq (retransmits, window
 * updates), but then never while a process holds the socket lock: with the lock owned, the
 * current task is the one using the socket (tcp_sendmsg, or backlog work in release_sock).
 * This covers accepted sockets, for which no socket hook runs. */
static __always_inline bool tcp_sender_is_current(struct __sk_buff *skb)
{
	struct bpf_sock *sk;
	struct tcp_sock *tp;

	sk = skb->sk;
	if (!sk)
		return false;
	tp = bpf_skc_to_tcp_sock(sk);
	return tp && tp->inet_conn.icsk_inet.sk.sk_lock.owned;
}

static __always_inline void attribute(struct __sk_buff *skb, struct dv_pkt_hdr *h)
{
	struct dv_owner *owner;

	if (egress_task_owner && h->direction == DV_EGRESS && h->l4proto == IPPROTO_UDP) {
		/* A UDP send runs in the sender's context: the owner is checked (and stamped
		 * with the call in progress) here, which makes the sendmsg hooks redundant. The
		 * agent does not attach them on such kernels: one program run per send less. */
		owner = record_owner(h->cookie, DV_OWNER_EGRESS, true);
	} else {
		owner = bpf_map_lookup_elem(&sock_owner, &h->cookie);
		if (!owner && egress_task_owner && h->direction == DV_EGRESS &&
		    tcp_sender_is_current(skb)) {
			owner = record_owner(h->cookie, DV_OWNER_EGRESS, true);
		} else if (owner && owner->call_id && h->direction == DV_EGRESS &&
			   h->l4proto == IPPROTO_UDP) {
			/* Without the task helpers here the sendmsg hooks stamp the call. A
			 * connected UDP socket sends without passing them: once the call that
			 * stamped it has returned (a socket kept open across calls), later
			 * datagrams must not carry its id. Only stamped sockets pay this lookup. */
			owner->call_id = active_call_id((__u64)owner->tgid << 32 | owner->pid);
		}
	}
	if (owner) {
		h->owner = *owner;
		h->flags |= DV_PKT_OWNER_KNOWN;
	} else {
		h->sock_uid = bpf_get_socket_uid(skb);
	}
}

/* The packet being captured, and what this CPU submitted since it last woke the consumer.
 * Per-CPU scratch rather than stack: the chunk loop below reads it from a global function,
 * which the verifier checks once instead of once per parse path. Two per CPU: a capture in
 * process context (egress) can be interrupted by one in softirq (ingress, when an interrupt
 * ends), which must not write over the header of the packet the first is copying. Each
 * capture takes the first that is not busy. */
struct capture_scratch {
	struct dv_pkt_hdr hdr;
	__u64 unannounced_bytes;
	__u32 busy;
	__u32 pad;
};

#define CAPTURE_LEVELS 2

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, CAPTURE_LEVELS);
	__type(key, __u32);
	__type(value, struct capture_scratch);
} scratch SEC(".maps");

/* Wakes the consumer once per wakeup_bytes_per_cpu of this CPU's records. Counting per CPU
 * rather than asking the ring for its backlog (bpf_ringbuf_query) keeps the hot path off the
 * consumer position, a cache line the agent writes from another CPU. Waking for every record
 * once a backlog is there would cost each packet a wakeup (~700 ns) exactly when the agent is
 * already behind. A sleeping consumer also wakes on its poll timeout. */
static __always_inline __u64 wakeup_flag(struct capture_scratch *s, __u64 rec_size)
{
	s->unannounced_bytes += rec_size;
	if (s->unannounced_bytes < wakeup_bytes_per_cpu)
		return BPF_RB_NO_WAKEUP;
	s->unannounced_bytes = 0;
	return BPF_RB_FORCE_WAKEUP;
}

/* One record: the payload bytes from off on, at most cap of them (cap is a constant after
 * inlining: the ring takes constant sizes). Most DNS messages fit a short record whole, which
 * keeps the ring's footprint per packet small; longer ones are cut in DV_CHUNK_LEN chunks. */
static __always_inline void emit_record(struct __sk_buff *skb, struct capture_scratch *s,
					__u32 payload_off, __u32 off, const __u32 cap)
{
	const struct dv_pkt_hdr *h = &s->hdr;
	struct dv_pkt *rec = bpf_ringbuf_reserve(&events, sizeof(struct dv_pkt_hdr) + cap, 0);
	__u64 len; /* 64-bit: a u32 would be checked in one register and passed in another */

	if (!rec) {
		count_drop(DV_DROP_RINGBUF_FULL);
		return;
	}
	rec->hdr = *h;
	len = h->payload_len - off;
	if (len > cap)
		len = cap;
	/* Keeps clang from merging the clamp with the checks below. */
	barrier_var(len);
	rec->hdr.chunk_off = off;
	rec->hdr.chunk_len = len;
	if (len > 0 && len <= cap &&
	    bpf_skb_load_bytes(skb, payload_off + off, rec->data, len) < 0) {
		count_drop(DV_DROP_LOAD_BYTES);
		bpf_ringbuf_discard(rec, BPF_RB_NO_WAKEUP);
		return;
	}
	bpf_ringbuf_submit(rec, wakeup_flag(s, sizeof(struct dv_pkt_hdr) + cap));
}

/* Copies the payload into ring-buffer records of DV_CHUNK_LEN bytes each. Global (not
 * inlined): verified once with unknown arguments, which keeps the 128-iteration loop within
 * the verifier's budget whatever path led here. */
__noinline int emit_chunks(struct __sk_buff *skb, __u32 payload_off, __u32 level)
{
	struct capture_scratch *s = bpf_map_lookup_elem(&scratch, &level);

	if (!s)
		return 0;
	for (__u32 off = 0; off < s->hdr.payload_len && off < DV_MAX_CHUNKS * DV_CHUNK_LEN;
	     off += DV_CHUNK_LEN)
		emit_record(skb, s, payload_off, off, DV_CHUNK_LEN);
	return 0;
}

/* The capture proper, into s (the scratch of this nesting level). */
static __always_inline void capture_into(struct __sk_buff *skb, struct capture_scratch *s,
					 __u32 level, __u8 direction)
{
	void *data = (void *)(long)skb->data;
	void *end = (void *)(long)skb->data_end;
	struct dv_pkt_hdr *h = &s->hdr;
	struct l4 l4;

	__builtin_memset(h, 0, sizeof(*h));
	if (parse_l3(skb, data, end, h, &l4) < 0)
		return;
	if (l4.proto != IPPROTO_UDP && l4.proto != IPPROTO_TCP)
		return;
	if (parse_l4(data, end, h, &l4) < 0) {
		/* Headers of a UDP/TCP packet should be linear at cgroup hooks; count if not. */
		count_drop(DV_DROP_HDR_NOT_LINEAR);
		return;
	}
	if (!is_dns_port(h->sport) && !is_dns_port(h->dport))
		return;
	if (skb->len < l4.payload_off)
		return;
	h->payload_len = skb->len - l4.payload_off;
	if (h->payload_len == 0 &&
	    !(h->l4proto == IPPROTO_TCP &&
	      (h->tcp_flags & (DV_TCP_SYN | DV_TCP_FIN | DV_TCP_RST))))
		return;
	if (h->payload_len > DV_MAX_CHUNKS * DV_CHUNK_LEN) {
		h->flags |= DV_PKT_TRUNCATED;
		count_drop(DV_DROP_TOO_LONG);
	}

	h->kind = DV_REC_PKT;
	h->direction = direction;
	h->ts_ns = bpf_ktime_get_ns();
	h->cookie = bpf_get_socket_cookie(skb);
	attribute(skb, h);
	/* A typical query fits the tiny record and a typical answer the short one. */
	if (h->payload_len <= DV_TINY_CHUNK_LEN)
		emit_record(skb, s, l4.payload_off, 0, DV_TINY_CHUNK_LEN);
	else if (h->payload_len <= DV_SHORT_CHUNK_LEN)
		emit_record(skb, s, l4.payload_off, 0, DV_SHORT_CHUNK_LEN);
	else if (h->payload_len <= DV_CHUNK_LEN)
		emit_record(skb, s, l4.payload_off, 0, DV_CHUNK_LEN);
	else
		emit_chunks(skb, l4.payload_off, level);
}

static __always_inline int capture(struct __sk_buff *skb, __u8 direction)
{
	__u32 level = 0;
	struct capture_scratch *s = bpf_map_lookup_elem(&scratch, &level);

	if (s && s->busy) {
		level = 1;
		s = bpf_map_lookup_elem(&scratch, &level);
		if (s && s->busy) {
			/* A third at once on this CPU (a preempted capture, another task's,
			 * and an interrupt's): rare, and counted. */
			count_drop(DV_DROP_NESTED);
			return SKB_PASS;
		}
	}
	if (!s)
		return SKB_PASS;
	s->busy = 1;
	/* The compiler must not move the capture's stores above the flag or below its
	 * release. */
	barrier();
	capture_into(skb, s, level, direction);
	barrier();
	s->busy = 0;
	return SKB_PASS;
}

SEC("cgroup_skb/egress")
int wire_egress(struct __sk_buff *skb)
{
	return capture(skb, DV_EGRESS);
}

SEC("cgroup_skb/ingress")
int wire_ingress(struct __sk_buff *skb)
{
	return capture(skb, DV_INGRESS);
}
