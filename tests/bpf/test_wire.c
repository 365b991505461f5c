/* The wire programs on canned frames through bpf_prog_test_run_opts: which packets produce
 * records, and what the records hold. Needs root (BPF). The kernel feature probes, and the
 * program variants wire_open() loads for them: attached to an empty cgroup of the test's own,
 * run on frames and by a child process moved into it. */
#include <arpa/inet.h>
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/if_ether.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <netinet/in.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "dnsvigil.h"
#include "kernel_features.h"
#include "mountinfo.h"
#include "wire.h"
#include "wire.skel.h"

#define MAX_RECORDS 256
#define FRAME_MAX 70000

struct captured {
	int n;
	struct dv_pkt recs[MAX_RECORDS];
};

struct fixture {
	struct wire_bpf *skel;
	struct ring_buffer *rb;
	struct captured cap;
};

static int on_record(void *ctx, void *data, size_t size)
{
	struct captured *cap = ctx;

	const struct dv_pkt_hdr *h = data;

	/* Records end after the data capacity their payload needed. */
	assert_true(size == sizeof(*h) + DV_TINY_CHUNK_LEN || size == sizeof(*h) + DV_SHORT_CHUNK_LEN ||
		    size == sizeof(struct dv_pkt));
	assert_true(size >= sizeof(*h) + h->chunk_len);
	if (cap->n < MAX_RECORDS)
		memcpy(&cap->recs[cap->n++], data, size);
	return 0;
}

static int setup_ports(void **state, uint16_t extra_port)
{
	static struct fixture f;

	memset(&f.cap, 0, sizeof(f.cap));
	f.skel = wire_bpf__open();
	assert_non_null(f.skel);
	f.skel->rodata->dns_ports[0] = 53;
	f.skel->rodata->dns_ports[1] = extra_port;
	assert_int_equal(wire_bpf__load(f.skel), 0);
	f.rb = ring_buffer__new(bpf_map__fd(f.skel->maps.events), on_record, &f.cap, NULL);
	assert_non_null(f.rb);
	*state = &f;
	return 0;
}

static int setup(void **state)
{
	return setup_ports(state, 0);
}

static int setup_mdns(void **state)
{
	return setup_ports(state, 5353);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	ring_buffer__free(f->rb);
	wire_bpf__destroy(f->skel);
	return 0;
}

/* Frame builder: Ethernet + IPv4/IPv6 (+ optional extension bytes) + UDP/TCP + payload. */
struct frame {
	uint8_t b[FRAME_MAX];
	size_t len;
};

static uint8_t *l3_start(struct frame *f, uint16_t ethertype)
{
	struct ethhdr *eth = (struct ethhdr *)f->b;

	memset(f->b, 0, sizeof(f->b));
	eth->h_proto = htons(ethertype);
	return f->b + sizeof(*eth);
}

static size_t l4_build(uint8_t *l4, int proto, uint16_t sport, uint16_t dport, uint32_t seq,
		       uint8_t tcp_flags, const uint8_t *payload, size_t plen)
{
	if (proto == IPPROTO_UDP) {
		struct udphdr *u = (struct udphdr *)l4;

		u->source = htons(sport);
		u->dest = htons(dport);
		u->len = htons(sizeof(*u) + plen);
		memcpy(l4 + sizeof(*u), payload, plen);
		return sizeof(*u) + plen;
	}
	struct tcphdr *t = (struct tcphdr *)l4;

	t->source = htons(sport);
	t->dest = htons(dport);
	t->seq = htonl(seq);
	t->doff = 5;
	l4[13] = tcp_flags;
	memcpy(l4 + sizeof(*t), payload, plen);
	return sizeof(*t) + plen;
}

static void build_v4(struct frame *f, int proto, uint16_t sport, uint16_t dport, uint32_t seq,
		     uint8_t tcp_flags, const uint8_t *payload, size_t plen, uint16_t frag_off)
{
	struct iphdr *ip = (struct iphdr *)l3_start(f, ETH_P_IP);
	size_t l4len;

	ip->version = 4;
	ip->ihl = 5;
	ip->ttl = 64;
	ip->protocol = proto;
	ip->saddr = htonl(0x7f000001);
	ip->daddr = htonl(0x7f350001);
	ip->frag_off = htons(frag_off);
	l4len = l4_build((uint8_t *)(ip + 1), proto, sport, dport, seq, tcp_flags, payload, plen);
	ip->tot_len = htons(sizeof(*ip) + l4len);
	f->len = ETH_HLEN + sizeof(*ip) + l4len;
}

/* ext: raw extension header bytes placed between the IPv6 header and L4; first_next is the
 * IPv6 header's next header value (the last extension header must name proto). */
static void build_v6(struct frame *f, int proto, uint16_t sport, uint16_t dport,
		     const uint8_t *payload, size_t plen, const uint8_t *ext, size_t ext_len,
		     uint8_t first_next)
{
	struct ipv6hdr *ip6 = (struct ipv6hdr *)l3_start(f, ETH_P_IPV6);
	size_t l4len;

	ip6->version = 6;
	ip6->hop_limit = 64;
	ip6->nexthdr = ext_len ? first_next : proto;
	ip6->saddr.s6_addr[15] = 1; /* ::1 */
	ip6->daddr.s6_addr[0] = 0xfd;
	ip6->daddr.s6_addr[15] = 0x53;
	memcpy(ip6 + 1, ext, ext_len);
	l4len = l4_build((uint8_t *)(ip6 + 1) + ext_len, proto, sport, dport, 0, 0, payload, plen);
	ip6->payload_len = htons(ext_len + l4len);
	f->len = ETH_HLEN + sizeof(*ip6) + ext_len + l4len;
}

static void run_fd(int prog_fd, struct frame *f)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = f->b, .data_size_in = f->len,
		    .repeat = 1);

	assert_int_equal(bpf_prog_test_run_opts(prog_fd, &opts), 0);
	/* cgroup_skb: 1 = pass. The agent never drops a packet. */
	assert_int_equal(opts.retval, 1);
}

static void run(struct fixture *fx, struct bpf_program *prog, struct frame *f)
{
	run_fd(bpf_program__fd(prog), f);
	ring_buffer__consume(fx->rb);
}

static const uint8_t dns_query[] = {
	0x12, 0x34, 0x01, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x07, 'e',
	'x',  'a',  'm',  'p',  'l',  'e',  0x04, 't',  'e',  's',  't',  0x00, 0x00, 0x01,
	0x00, 0x01,
};

static void udp4_query_egress_is_copied_whole(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	const struct dv_pkt_hdr *h;

	build_v4(&f, IPPROTO_UDP, 40000, 53, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	h = &fx->cap.recs[0].hdr;
	assert_int_equal(h->kind, DV_REC_PKT);
	assert_int_equal(h->direction, DV_EGRESS);
	assert_int_equal(h->family, 4);
	assert_int_equal(h->l4proto, IPPROTO_UDP);
	assert_int_equal(h->sport, 40000);
	assert_int_equal(h->dport, 53);
	assert_int_equal(h->saddr[0], htonl(0x7f000001));
	assert_int_equal(h->daddr[0], htonl(0x7f350001));
	assert_int_equal(h->payload_len, sizeof(dns_query));
	assert_int_equal(h->chunk_off, 0);
	assert_int_equal(h->chunk_len, sizeof(dns_query));
	assert_int_equal(h->flags & DV_PKT_TRUNCATED, 0);
	assert_true(h->ts_ns > 0);
	assert_memory_equal(fx->cap.recs[0].data, dns_query, sizeof(dns_query));
}

static void udp4_response_ingress_from_port_53(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_UDP, 53, 40000, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.direction, DV_INGRESS);
	assert_int_equal(fx->cap.recs[0].hdr.sport, 53);
}

static void udp4_other_port_is_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_UDP, 40000, 443, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void configured_port_5353_is_captured(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_UDP, 5353, 5353, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.dport, 5353);
}

static void port_5353_not_captured_by_default(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_UDP, 5353, 5353, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void ipv4_non_first_fragment_is_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	/* fragment offset 185 (x8 = 1480 bytes): bytes there are not a UDP header */
	build_v4(&f, IPPROTO_UDP, 40000, 53, 0, 0, dns_query, sizeof(dns_query), 185);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void udp_payload_of_1400_bytes_comes_in_3_chunks(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	static uint8_t big[1400]; /* test runs take at most a page */
	static uint8_t joined[1400];

	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = i * 7;
	build_v4(&f, IPPROTO_UDP, 53, 40000, 0, 0, big, sizeof(big), 0);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, (sizeof(big) + DV_CHUNK_LEN - 1) / DV_CHUNK_LEN);
	for (int i = 0; i < fx->cap.n; i++) {
		const struct dv_pkt *r = &fx->cap.recs[i];

		assert_int_equal(r->hdr.payload_len, sizeof(big));
		assert_int_equal(r->hdr.chunk_off, i * DV_CHUNK_LEN);
		assert_int_equal(r->hdr.ts_ns, fx->cap.recs[0].hdr.ts_ns);
		memcpy(joined + r->hdr.chunk_off, r->data, r->hdr.chunk_len);
	}
	assert_int_equal(fx->cap.recs[fx->cap.n - 1].hdr.chunk_len,
			 sizeof(big) - (fx->cap.n - 1) * DV_CHUNK_LEN);
	assert_memory_equal(joined, big, sizeof(big));
}

static void tcp4_segment_carries_seq_and_flags(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	uint8_t framed[2 + sizeof(dns_query)] = { 0, sizeof(dns_query) };
	const struct dv_pkt_hdr *h;

	memcpy(framed + 2, dns_query, sizeof(dns_query));
	build_v4(&f, IPPROTO_TCP, 40001, 53, 0xfffffff0, 0x18 /* PSH|ACK */, framed,
		 sizeof(framed), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	h = &fx->cap.recs[0].hdr;
	assert_int_equal(h->l4proto, IPPROTO_TCP);
	assert_int_equal(h->tcp_seq, 0xfffffff0);
	assert_int_equal(h->tcp_flags, 0x18);
	assert_int_equal(h->payload_len, sizeof(framed));
	assert_memory_equal(fx->cap.recs[0].data, framed, sizeof(framed));
}

static void tcp4_syn_without_payload_is_reported(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_TCP, 40001, 53, 1000, 0x02, NULL, 0, 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.tcp_flags, 0x02);
	assert_int_equal(fx->cap.recs[0].hdr.payload_len, 0);
	assert_int_equal(fx->cap.recs[0].hdr.chunk_len, 0);
}

static void tcp4_pure_ack_is_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_TCP, 53, 40001, 1000, 0x10, NULL, 0, 0);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void tcp4_other_port_is_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_TCP, 40001, 443, 1, 0x18, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void udp6_query_is_copied_with_addresses(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	const struct dv_pkt_hdr *h;

	build_v6(&f, IPPROTO_UDP, 40000, 53, dns_query, sizeof(dns_query), NULL, 0, 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	h = &fx->cap.recs[0].hdr;
	assert_int_equal(h->family, 6);
	assert_int_equal(((uint8_t *)h->saddr)[15], 1);
	assert_int_equal(((uint8_t *)h->daddr)[0], 0xfd);
	assert_int_equal(((uint8_t *)h->daddr)[15], 0x53);
	assert_memory_equal(fx->cap.recs[0].data, dns_query, sizeof(dns_query));
}

static void tcp6_query_is_copied(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v6(&f, IPPROTO_TCP, 40002, 53, dns_query, sizeof(dns_query), NULL, 0, 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.l4proto, IPPROTO_TCP);
	assert_int_equal(fx->cap.recs[0].hdr.family, 6);
}

static void udp6_behind_hop_by_hop_and_dest_options_is_found(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	/* hop-by-hop (next: dest opts, len 0 = 8 bytes, PadN), dest opts (next: UDP, 8 bytes) */
	const uint8_t ext[16] = { 60, 0, 1, 4, 0, 0, 0, 0, IPPROTO_UDP, 0, 1, 4, 0, 0, 0, 0 };

	build_v6(&f, IPPROTO_UDP, 40000, 53, dns_query, sizeof(dns_query), ext, sizeof(ext), 0);
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.dport, 53);
	assert_memory_equal(fx->cap.recs[0].data, dns_query, sizeof(dns_query));
}

static void udp6_first_fragment_is_found(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	/* fragment header: next UDP, offset 0, M=1 */
	const uint8_t ext[8] = { IPPROTO_UDP, 0, 0, 1, 0, 0, 0, 42 };

	build_v6(&f, IPPROTO_UDP, 53, 40000, dns_query, sizeof(dns_query), ext, sizeof(ext), 44);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.sport, 53);
}

static void udp6_later_fragment_is_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;
	/* fragment header: next UDP, offset 1480/8 = 185 */
	const uint8_t ext[8] = { IPPROTO_UDP, 0, (185 << 3) >> 8, (185 << 3) & 0xff, 0, 0, 0, 42 };

	build_v6(&f, IPPROTO_UDP, 53, 40000, dns_query, sizeof(dns_query), ext, sizeof(ext), 44);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void non_ip_frame_is_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	l3_start(&f, 0x0806); /* ARP */
	f.len = 60;
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 0);
}

static void truncated_udp_header_is_passed_and_ignored(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	build_v4(&f, IPPROTO_UDP, 40000, 53, 0, 0, dns_query, sizeof(dns_query), 0);
	f.len = ETH_HLEN + sizeof(struct iphdr) + 4; /* half a UDP header */
	run(fx, fx->skel->progs.wire_egress, &f);
	assert_int_equal(fx->cap.n, 0);
}

/* Where a member of the programs' struct capture_scratch is, from the object's BTF: the
 * test sets the scratch as a capture in progress would leave it. */
static size_t scratch_member(struct fixture *fx, const char *name)
{
	const struct btf *btf = bpf_object__btf(fx->skel->obj);
	int id = btf__find_by_name_kind(btf, "capture_scratch", BTF_KIND_STRUCT);
	const struct btf_type *t;
	const struct btf_member *m;

	assert_true(id > 0);
	t = btf__type_by_id(btf, id);
	m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++)
		if (strcmp(btf__name_by_offset(btf, m->name_off), name) == 0)
			return m->offset / 8;
	fail_msg("capture_scratch has no member %s", name);
	return 0;
}

/* Every CPU's scratch of this level as a capture of the marker packet (source port 1111)
 * that is busy, or reads it back; values holds one per possible CPU. */
static void *scratch_values(struct fixture *fx, size_t *stride)
{
	int ncpus = libbpf_num_possible_cpus();

	assert_true(ncpus > 0);
	*stride = (bpf_map__value_size(fx->skel->maps.scratch) + 7) & ~7u;
	return calloc(ncpus, *stride);
}

static void mark_busy(struct fixture *fx, __u32 level)
{
	size_t stride, busy = scratch_member(fx, "busy"), hdr = scratch_member(fx, "hdr");
	uint8_t *values = scratch_values(fx, &stride);

	assert_non_null(values);
	for (int cpu = 0; cpu < libbpf_num_possible_cpus(); cpu++) {
		struct dv_pkt_hdr marker = { .kind = DV_REC_PKT, .sport = 1111 };

		memcpy(values + cpu * stride + hdr, &marker, sizeof(marker));
		*(__u32 *)(values + cpu * stride + busy) = 1;
	}
	assert_int_equal(bpf_map_update_elem(bpf_map__fd(fx->skel->maps.scratch), &level, values,
					     BPF_ANY), 0);
	free(values);
}

/* What an interrupted capture of the marker packet still holds on every CPU. */
static void assert_marker_kept(struct fixture *fx, __u32 level)
{
	size_t stride, hdr = scratch_member(fx, "hdr");
	uint8_t *values = scratch_values(fx, &stride);

	assert_non_null(values);
	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.scratch), &level, values),
			 0);
	for (int cpu = 0; cpu < libbpf_num_possible_cpus(); cpu++)
		assert_int_equal(((struct dv_pkt_hdr *)(values + cpu * stride + hdr))->sport, 1111);
	free(values);
}

/* An ingress capture in softirq can interrupt an egress capture on the same CPU: it must
 * capture its own packet and leave the header of the interrupted one as it was. */
static void capture_interrupting_another_keeps_both_headers(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	mark_busy(fx, 0);
	build_v4(&f, IPPROTO_UDP, 53, 40000, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 1);
	assert_int_equal(fx->cap.recs[0].hdr.sport, 53);
	assert_memory_equal(fx->cap.recs[0].data, dns_query, sizeof(dns_query));
	assert_marker_kept(fx, 0);
}

static uint64_t drops_of(struct fixture *fx, __u32 reason)
{
	int ncpus = libbpf_num_possible_cpus();
	uint64_t values[ncpus], sum = 0;

	assert_int_equal(bpf_map_lookup_elem(bpf_map__fd(fx->skel->maps.drops), &reason, values),
			 0);
	for (int cpu = 0; cpu < ncpus; cpu++)
		sum += values[cpu];
	return sum;
}

/* A third capture at once on a CPU has no scratch left: the packet passes, uncaptured and
 * counted, and neither capture in progress is disturbed. */
static void third_nested_capture_is_counted(void **state)
{
	struct fixture *fx = *state;
	static struct frame f;

	mark_busy(fx, 0);
	mark_busy(fx, 1);
	build_v4(&f, IPPROTO_UDP, 53, 40000, 0, 0, dns_query, sizeof(dns_query), 0);
	run(fx, fx->skel->progs.wire_ingress, &f);
	assert_int_equal(fx->cap.n, 0);
	assert_int_equal(drops_of(fx, DV_DROP_NESTED), 1);
	assert_marker_kept(fx, 0);
	assert_marker_kept(fx, 1);
}

/* The agent's programs as wire_open() loads them for the features left on, attached to a
 * cgroup of our own that no other process is in. */
struct agent {
	struct features features;
	struct wire *w;
	struct captured cap;
	char cgroup[512];
	int cgroup_fd;
};

static void on_wire_record(void *ctx, const void *rec)
{
	struct captured *cap = ctx;
	const struct dv_pkt_hdr *h = rec;

	if (h->kind == DV_REC_PKT && cap->n < MAX_RECORDS)
		memcpy(&cap->recs[cap->n++], h, sizeof(*h) + h->chunk_len);
}

static int setup_agent(void **state, unsigned int disabled)
{
	static struct agent a;
	struct wire_opts opts = { .ports = { 53 }, .ringbuf_bytes = 1 << 20 };
	char root[256];
	int err;

	memset(&a, 0, sizeof(a));
	assert_int_equal(features_probe(disabled, &a.features), 0);
	assert_int_equal(mountinfo_find(AT_FDCWD, "/proc/self/mountinfo", "cgroup2", root,
					sizeof(root)),
			 0);
	snprintf(a.cgroup, sizeof(a.cgroup), "%s/dnsvigil-test-%d", root, (int)getpid());
	assert_int_equal(mkdir(a.cgroup, 0755), 0);
	a.cgroup_fd = open(a.cgroup, O_RDONLY | O_DIRECTORY);
	assert_true(a.cgroup_fd >= 0);
	opts.cgroup_path = a.cgroup;
	opts.features = &a.features;
	err = wire_open(&opts, &a.w);
	if (!err)
		wire_on(a.w, DV_REC_PKT, on_wire_record, &a.cap);
	if (err) {
		close(a.cgroup_fd);
		rmdir(a.cgroup);
	}
	assert_int_equal(err, 0);
	*state = &a;
	return 0;
}

static int setup_agent_full(void **state)
{
	return setup_agent(state, 0);
}

static int setup_agent_reduced(void **state)
{
	return setup_agent(state, 1u << FEATURE_SOCK_TASK_HELPERS |
					  1u << FEATURE_SKB_TASK_HELPERS);
}

static int teardown_agent(void **state)
{
	struct agent *a = *state;

	wire_close(a->w);
	close(a->cgroup_fd);
	return rmdir(a->cgroup);
}

/* Our egress program: the only one attached to our cgroup. */
static int egress_fd(const struct agent *a)
{
	__u32 ids[4], n = 4;

	assert_int_equal(bpf_prog_query(a->cgroup_fd, BPF_CGROUP_INET_EGRESS, 0, NULL, ids, &n),
			 0);
	assert_int_equal(n, 1);
	return bpf_prog_get_fd_by_id(ids[0]);
}

static void udp4_query_through_the_agents_egress(struct agent *a)
{
	static struct frame f;
	int fd = egress_fd(a);

	assert_true(fd >= 0);
	build_v4(&f, IPPROTO_UDP, 40000, 53, 0, 0, dns_query, sizeof(dns_query), 0);
	run_fd(fd, &f);
	close(fd);
	assert_true(wire_consume(a->w) >= 1);
	assert_int_equal(a->cap.n, 1);
	assert_int_equal(a->cap.recs[0].hdr.dport, 53);
	assert_memory_equal(a->cap.recs[0].data, dns_query, sizeof(dns_query));
}

/* What the socket hooks recorded for a UDP socket that a child process in our cgroup connected
 * to 127.0.0.1:53 (a connect sends nothing): an owner from the connect, with the uid and gid
 * that every variant records. Returns the child's pid. */
static pid_t connect_from_our_cgroup(struct agent *a, struct dv_owner *owner)
{
	int cookie_pipe[2], hold_pipe[2], status, err = -EPIPE;
	uint64_t cookie;
	char procs[600];
	pid_t child;

	snprintf(procs, sizeof(procs), "%s/cgroup.procs", a->cgroup);
	assert_int_equal(pipe(cookie_pipe), 0);
	assert_int_equal(pipe(hold_pipe), 0);
	child = fork();
	assert_true(child >= 0);
	if (child == 0) {
		struct sockaddr_in dns = { .sin_family = AF_INET, .sin_port = htons(53),
					   .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
		socklen_t len = sizeof(cookie);
		int procs_fd = open(procs, O_WRONLY), sock;

		/* "0": the writing process */
		if (procs_fd < 0 || write(procs_fd, "0", 1) != 1)
			_exit(1);
		sock = socket(AF_INET, SOCK_DGRAM, 0);
		if (sock < 0 || connect(sock, (struct sockaddr *)&dns, sizeof(dns)) ||
		    getsockopt(sock, SOL_SOCKET, SO_COOKIE, &cookie, &len) ||
		    write(cookie_pipe[1], &cookie, sizeof(cookie)) != sizeof(cookie))
			_exit(2);
		/* The socket lives until the parent has looked. */
		close(hold_pipe[1]);
		_exit(read(hold_pipe[0], &cookie, 1) == 0 ? 0 : 3);
	}
	close(cookie_pipe[1]);
	close(hold_pipe[0]);
	if (read(cookie_pipe[0], &cookie, sizeof(cookie)) == sizeof(cookie))
		err = wire_owner_lookup(a->w, cookie, owner);
	/* Lets the child go before anything can fail here. */
	close(hold_pipe[1]);
	close(cookie_pipe[0]);
	assert_int_equal(waitpid(child, &status, 0), child);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	assert_int_equal(err, 0);
	assert_int_equal(owner->source, DV_OWNER_CONNECT);
	assert_int_equal(owner->uid, getuid());
	assert_int_equal(owner->gid, getgid());
	return child;
}

static void probes_find_every_feature_on_this_kernel(void **state)
{
	struct features f;

	(void)state;
	assert_int_equal(features_probe(0, &f), 0);
	for (int i = 0; i < FEATURE_NR; i++) {
		print_message("%s: %s\n", features_name(i), f.has[i] ? "yes" : "no");
		assert_true(f.has[i]);
	}
}

static void disabled_features_are_missing_without_a_probe(void **state)
{
	struct features f;

	(void)state;
	assert_int_equal(features_probe(1u << FEATURE_UPROBE_MULTI, &f), 0);
	assert_false(f.has[FEATURE_UPROBE_MULTI]);
	assert_true(f.has[FEATURE_SOCK_TASK_HELPERS]);
	assert_true(f.has[FEATURE_SKB_TASK_HELPERS]);
}

static void egress_with_task_helpers_records_the_sender(void **state)
{
	struct agent *a = *state;
	const struct dv_pkt_hdr *h = &a->cap.recs[0].hdr;

	assert_true(wire_features(a->w)->task_helpers_in_egress);
	udp4_query_through_the_agents_egress(a);
	assert_true(h->flags & DV_PKT_OWNER_KNOWN);
	assert_int_equal(h->owner.source, DV_OWNER_EGRESS);
	assert_int_equal(h->owner.tgid, getpid());
	assert_string_equal(h->owner.comm, "test_wire");
}

/* Programs of this attach type on our cgroup. */
static __u32 attached(const struct agent *a, enum bpf_attach_type type)
{
	__u32 ids[4], n = 4;

	assert_int_equal(bpf_prog_query(a->cgroup_fd, type, 0, NULL, ids, &n), 0);
	return n;
}

/* The egress program records a UDP sender itself where it can: the sendmsg hooks would only
 * run a second program per datagram. Without the task helpers in cgroup_skb they record it. */
static void sendmsg_hooks_only_without_egress_task_helpers(void **state)
{
	struct agent *a = *state;
	__u32 want = !wire_features(a->w)->task_helpers_in_egress;

	assert_int_equal(attached(a, BPF_CGROUP_UDP4_SENDMSG), want);
	assert_int_equal(attached(a, BPF_CGROUP_UDP6_SENDMSG), want);
	assert_int_equal(attached(a, BPF_CGROUP_UDP4_RECVMSG), 1);
	assert_int_equal(attached(a, BPF_CGROUP_INET4_CONNECT), 1);
}

static void egress_without_task_helpers_passes_and_records_no_owner(void **state)
{
	struct agent *a = *state;
	const struct dv_pkt_hdr *h = &a->cap.recs[0].hdr;

	assert_false(wire_features(a->w)->task_helpers_in_egress);
	udp4_query_through_the_agents_egress(a);
	assert_int_equal(h->flags & DV_PKT_OWNER_KNOWN, 0);
	assert_true(h->cookie != 0);
	/* The uid of the socket a test run makes: root's. */
	assert_int_equal(h->sock_uid, 0);
}

static void socket_hooks_with_task_helpers_record_the_process(void **state)
{
	struct agent *a = *state;
	struct dv_owner owner;
	pid_t child = connect_from_our_cgroup(a, &owner);

	assert_true(wire_features(a->w)->task_helpers_in_sock_hooks);
	assert_int_equal(owner.tgid, child);
	assert_string_equal(owner.comm, "test_wire");
}

static void socket_hooks_without_task_helpers_record_uid_and_gid_only(void **state)
{
	struct agent *a = *state;
	struct dv_owner owner;

	connect_from_our_cgroup(a, &owner);
	assert_false(wire_features(a->w)->task_helpers_in_sock_hooks);
	assert_int_equal(owner.tgid, 0);
	assert_string_equal(owner.comm, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(udp4_query_egress_is_copied_whole, setup, teardown),
		cmocka_unit_test_setup_teardown(udp4_response_ingress_from_port_53, setup, teardown),
		cmocka_unit_test_setup_teardown(udp4_other_port_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(configured_port_5353_is_captured, setup_mdns,
						teardown),
		cmocka_unit_test_setup_teardown(port_5353_not_captured_by_default, setup, teardown),
		cmocka_unit_test_setup_teardown(ipv4_non_first_fragment_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(udp_payload_of_1400_bytes_comes_in_3_chunks, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tcp4_segment_carries_seq_and_flags, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp4_syn_without_payload_is_reported, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp4_pure_ack_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp4_other_port_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(udp6_query_is_copied_with_addresses, setup, teardown),
		cmocka_unit_test_setup_teardown(tcp6_query_is_copied, setup, teardown),
		cmocka_unit_test_setup_teardown(udp6_behind_hop_by_hop_and_dest_options_is_found,
						setup, teardown),
		cmocka_unit_test_setup_teardown(udp6_first_fragment_is_found, setup, teardown),
		cmocka_unit_test_setup_teardown(udp6_later_fragment_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(non_ip_frame_is_ignored, setup, teardown),
		cmocka_unit_test_setup_teardown(truncated_udp_header_is_passed_and_ignored, setup,
						teardown),
		cmocka_unit_test_setup_teardown(capture_interrupting_another_keeps_both_headers,
						setup, teardown),
		cmocka_unit_test_setup_teardown(third_nested_capture_is_counted, setup, teardown),
	};

	const struct CMUnitTest agent_tests[] = {
		cmocka_unit_test(probes_find_every_feature_on_this_kernel),
		cmocka_unit_test(disabled_features_are_missing_without_a_probe),
		cmocka_unit_test_setup_teardown(egress_with_task_helpers_records_the_sender,
						setup_agent_full, teardown_agent),
		cmocka_unit_test_setup_teardown(sendmsg_hooks_only_without_egress_task_helpers,
						setup_agent_full, teardown_agent),
		cmocka_unit_test_setup_teardown(sendmsg_hooks_only_without_egress_task_helpers,
						setup_agent_reduced, teardown_agent),
		cmocka_unit_test_setup_teardown(
			egress_without_task_helpers_passes_and_records_no_owner, setup_agent_reduced,
			teardown_agent),
		cmocka_unit_test_setup_teardown(socket_hooks_with_task_helpers_record_the_process,
						setup_agent_full, teardown_agent),
		cmocka_unit_test_setup_teardown(
			socket_hooks_without_task_helpers_record_uid_and_gid_only,
			setup_agent_reduced, teardown_agent),
	};

	return cmocka_run_group_tests_name("bpf_wire", tests, NULL, NULL) |
	       cmocka_run_group_tests_name("bpf_features", agent_tests, NULL, NULL);
}
