// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Resolver library calls: a uprobe on entry and a uretprobe on return of getaddrinfo() & co. in
 * every C library file the agent finds (agent/resolver.c attaches them per file). Entry saves
 * the arguments per thread in active_calls; the return of the outermost traced call reads what
 * the caller asked for and what it got, and sends one dv_call_rec. libc calls its own entry
 * points (gethostbyname -> gethostbyname_r, res_search -> res_nsearch -> res_nquery): nested
 * calls only count depth. Entry reads no user memory but stack arguments; return does the
 * reads, once, straight into the ring-buffer record. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define GAI_WAIT 0
/* addrinfo nodes walked: glibc and musl return one node per socket type and address, so 32
 * nodes cover 16 addresses of a lookup without hints. */
#define MAX_AI_NODES 32

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* The C library structures, LP64 (x86_64, aarch64): the same layout in glibc and musl. */
struct lp64_addrinfo {
	__s32 ai_flags;
	__s32 ai_family;
	__s32 ai_socktype;
	__s32 ai_protocol;
	__u32 ai_addrlen;
	__u32 pad;
	__u64 ai_addr;
	__u64 ai_canonname;
	__u64 ai_next;
};

/* sockaddr_in and sockaddr_in6 */
struct lp64_sockaddr {
	__u16 family;
	__u16 port; /* network byte order */
	union {
		__u8 addr4[4];
		struct {
			__u32 flowinfo;
			__u8 addr6[16];
		};
	};
	__u32 scope_id;
};

/* glibc and musl both allocate a node's sockaddr right behind its addrinfo: one read. */
struct ai_node {
	struct lp64_addrinfo ai;
	struct lp64_sockaddr sa;
};

struct lp64_hostent {
	__u64 h_name;
	__u64 h_aliases;
	__s32 h_addrtype;
	__s32 h_length;
	__u64 h_addr_list;
};

struct lp64_gaicb {
	__u64 ar_name;
	__u64 ar_service;
	__u64 ar_request;
	__u64 ar_result;
};

/* Per-CPU call sequence numbers, for call ids. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} call_seq SEC(".maps");

/* Arguments past the fifth (bpf_tracing.h of libbpf 1.1 names five). x86_64 SysV: the sixth
 * in r9, the seventh and eighth on the stack above the return address; aarch64: x5 to x7. */
#if defined(__TARGET_ARCH_x86)
#define ARG6(ctx) ((ctx)->r9)
static __always_inline void args78(struct pt_regs *ctx, __u64 out[2])
{
	if (bpf_probe_read_user(out, 2 * sizeof(__u64), (void *)(ctx->sp + 8)))
		out[0] = out[1] = 0;
}
#elif defined(__TARGET_ARCH_arm64)
#define ARG6(ctx) (((const struct user_pt_regs *)(ctx))->regs[5])
static __always_inline void args78(struct pt_regs *ctx, __u64 out[2])
{
	out[0] = ((const struct user_pt_regs *)(ctx))->regs[6];
	out[1] = ((const struct user_pt_regs *)(ctx))->regs[7];
}
#else
#error "resolver.bpf.c: add this architecture's calling convention"
#endif

/* Unique while the agent runs and never 0: a per-CPU sequence number with the CPU in the low
 * 12 bits. Small numbers, which JSON readers that parse numbers as doubles keep exact. */
static __always_inline __u64 next_call_id(void)
{
	__u32 zero = 0;
	__u64 *seq = bpf_map_lookup_elem(&call_seq, &zero);

	if (!seq)
		return 0;
	*seq += 1;
	return *seq << 12 | (bpf_get_smp_processor_id() & 0xfff);
}

/* The h_errno location of the functions that take one. */
static __always_inline __u64 herrnop_of(struct pt_regs *ctx, __u64 fn)
{
	__u64 stack[2];

	if (fn == DV_FN_GETHOSTBYNAME_R)
		return ARG6(ctx);
	if (fn != DV_FN_GETHOSTBYNAME2_R && fn != DV_FN_GETHOSTBYADDR_R)
		return 0;
	args78(ctx, stack);
	return fn == DV_FN_GETHOSTBYNAME2_R ? stack[0] : stack[1];
}

/* libc calling one of its own entry points: only the outer call is reported. The functions
 * returning a hostent pointer have no h_errno of their own: they borrow the location of the
 * reentrant call they make (gethostbyname passes one to gethostbyname_r). */
static __always_inline void nested(struct pt_regs *ctx, struct dv_call_state *outer, __u64 fn)
{
	outer->depth++;
	if (!outer->herrnop && (outer->fn == DV_FN_GETHOSTBYNAME ||
				outer->fn == DV_FN_GETHOSTBYNAME2 || outer->fn == DV_FN_GETHOSTBYADDR)) {
		outer->herrnop = herrnop_of(ctx, fn);
		outer->herrnop_inner = 1;
	}
}

/* The arguments the return needs, per function (see struct dv_call_state). False for an
 * unknown function. */
static __always_inline bool read_args(struct pt_regs *ctx, struct dv_call_state *st)
{
	__u64 a1 = PT_REGS_PARM1(ctx), a2 = PT_REGS_PARM2(ctx), a3 = PT_REGS_PARM3(ctx);
	__u64 a4 = PT_REGS_PARM4(ctx), a5 = PT_REGS_PARM5(ctx), stack[2];

	switch (st->fn) {
	case DV_FN_GETADDRINFO: /* (node, service, hints, res) */
		st->name = a1;
		st->service = a2;
		st->hints = a3;
		st->out = a4;
		break;
	case DV_FN_GETADDRINFO_A: /* (mode, list, nitems, sevp); out_len carries the mode */
		st->out = a2;
		st->out_len = a1;
		break;
	case DV_FN_GETHOSTBYNAME: /* (name) */
		st->name = a1;
		st->family = AF_INET;
		break;
	case DV_FN_GETHOSTBYNAME2: /* (name, af) */
		st->name = a1;
		st->family = a2;
		break;
	case DV_FN_GETHOSTBYNAME_R: /* (name, ret, buf, buflen, result, h_errnop) */
		st->name = a1;
		st->family = AF_INET;
		st->out = a5;
		st->herrnop = ARG6(ctx);
		break;
	case DV_FN_GETHOSTBYNAME2_R: /* (name, af, ret, buf, buflen, result, h_errnop) */
		args78(ctx, stack);
		st->name = a1;
		st->family = a2;
		st->out = ARG6(ctx);
		st->herrnop = stack[0];
		break;
	case DV_FN_GETHOSTBYADDR: /* (addr, len, type) */
		st->name = a1;
		st->name_len = a2;
		st->family = a3;
		break;
	case DV_FN_GETHOSTBYADDR_R: /* (addr, len, type, ret, buf, buflen, result, h_errnop) */
		args78(ctx, stack);
		st->name = a1;
		st->name_len = a2;
		st->family = a3;
		st->out = stack[0];
		st->herrnop = stack[1];
		break;
	case DV_FN_GETNAMEINFO: /* (sa, salen, host, hostlen, serv, servlen, flags) */
		args78(ctx, stack);
		st->name = a1;
		st->name_len = a2;
		st->out = a3;
		st->out_len = a4;
		st->ai_flags = stack[0];
		break;
	case DV_FN_RES_QUERY: /* (dname, class, type, answer, anslen) */
	case DV_FN_RES_SEARCH:
		st->name = a1;
		st->qtype = a3;
		st->out = a4;
		st->out_len = a5;
		break;
	case DV_FN_RES_NQUERY: /* (statp, dname, class, type, answer, anslen) */
	case DV_FN_RES_NSEARCH:
		st->name = a2;
		st->qtype = a4;
		st->out = a5;
		st->out_len = ARG6(ctx);
		break;
	case DV_FN_RES_SEND: /* (msg, msglen, answer, anslen) */
		st->name = a1;
		st->name_len = a2;
		st->out = a3;
		st->out_len = a4;
		break;
	case DV_FN_RES_NSEND: /* (statp, msg, msglen, answer, anslen) */
		st->name = a2;
		st->name_len = a3;
		st->out = a4;
		st->out_len = a5;
		break;
	default:
		return false;
	}
	return true;
}

static __always_inline int on_entry(struct pt_regs *ctx, __u64 fn)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u64 sp = PT_REGS_SP(ctx);
	struct dv_call_state *cur = bpf_map_lookup_elem(&active_calls, &id);
	struct dv_call_state st = { .fn = fn };

	/* Below the outer call's stack pointer: a nested call; at it, another function's tail
	 * call (musl's gethostbyname jumps to gethostbyname2). Above it, or the same function
	 * at it, the outer call was left without returning (longjmp): start afresh. */
	if (cur && cur->depth && (sp < cur->sp || (sp == cur->sp && fn != cur->fn))) {
		nested(ctx, cur, fn);
		return 0;
	}
	if (!read_args(ctx, &st))
		return 0;
	st.call_id = next_call_id();
	st.start_ns = bpf_ktime_get_ns();
	st.sp = sp;
	st.depth = 1;
	/* A thread's entry stays between its calls (depth 0): filled in place, no map update. */
	if (cur) {
		st.woke_agent = cur->woke_agent;
		*cur = st;
	} else {
		bpf_map_update_elem(&active_calls, &id, &st, BPF_ANY);
	}
	return 0;
}

/* Kernels before 6.6 (no uprobe_multi links): one uprobe per function, the program says which
 * function it is. */
#define ENTRY_PROGRAM(name, fn)                        \
	SEC("uprobe")                                  \
	int enter_##name(struct pt_regs *ctx)          \
	{                                              \
		return on_entry(ctx, fn);              \
	}

ENTRY_PROGRAM(getaddrinfo, DV_FN_GETADDRINFO)
ENTRY_PROGRAM(gethostbyname, DV_FN_GETHOSTBYNAME)
ENTRY_PROGRAM(gethostbyname2, DV_FN_GETHOSTBYNAME2)
ENTRY_PROGRAM(gethostbyname_r, DV_FN_GETHOSTBYNAME_R)
ENTRY_PROGRAM(gethostbyname2_r, DV_FN_GETHOSTBYNAME2_R)
ENTRY_PROGRAM(gethostbyaddr, DV_FN_GETHOSTBYADDR)
ENTRY_PROGRAM(gethostbyaddr_r, DV_FN_GETHOSTBYADDR_R)
ENTRY_PROGRAM(getnameinfo, DV_FN_GETNAMEINFO)
ENTRY_PROGRAM(res_query, DV_FN_RES_QUERY)
ENTRY_PROGRAM(res_search, DV_FN_RES_SEARCH)
ENTRY_PROGRAM(res_nquery, DV_FN_RES_NQUERY)
ENTRY_PROGRAM(res_nsearch, DV_FN_RES_NSEARCH)
ENTRY_PROGRAM(res_send, DV_FN_RES_SEND)
ENTRY_PROGRAM(res_nsend, DV_FN_RES_NSEND)
ENTRY_PROGRAM(getaddrinfo_a, DV_FN_GETADDRINFO_A)

/* Linux 6.6+: one uprobe_multi link per library for every function, the function being the
 * attach cookie. The agent loads it with expected_attach_type BPF_TRACE_UPROBE_MULTI (libbpf
 * 1.1 has no section name for that). Fewer links matter: detaching costs the kernel a grace
 * period per link. */
SEC("uprobe")
int enter_multi(struct pt_regs *ctx)
{
	return on_entry(ctx, bpf_get_attach_cookie(ctx));
}

static __always_inline void read_str(char *dst, __u32 size, __u64 src)
{
	if (!src || bpf_probe_read_user_str(dst, size, (void *)src) < 0)
		dst[0] = '\0';
}

/* Appends an address unless it repeats the previous one (one node per socket type). */
static __always_inline void add_addr(struct dv_call_rec *rec, const struct dv_call_addr *a)
{
	__u32 n = rec->n_addrs;
	const __u32 *w = (const __u32 *)a->addr;

	if (n >= DV_CALL_MAX_ADDRS)
		return;
	if (n > 0) {
		/* The masks keep the verifier sure of the bounds it was just told. */
		const struct dv_call_addr *prev = &rec->addrs[(n - 1) & (DV_CALL_MAX_ADDRS - 1)];
		const __u32 *p = (const __u32 *)prev->addr;

		if (prev->family == a->family && p[0] == w[0] && p[1] == w[1] && p[2] == w[2] &&
		    p[3] == w[3])
			return;
	}
	rec->addrs[n & (DV_CALL_MAX_ADDRS - 1)] = *a;
	rec->n_addrs = n + 1;
}

static __always_inline void add_sockaddr(struct dv_call_rec *rec, const struct lp64_sockaddr *sa)
{
	struct dv_call_addr a = {};

	if (sa->family == AF_INET) {
		a.family = 4;
		__builtin_memcpy(a.addr, sa->addr4, 4);
	} else if (sa->family == AF_INET6) {
		a.family = 6;
		__builtin_memcpy(a.addr, sa->addr6, 16);
	} else {
		return;
	}
	add_addr(rec, &a);
}

static __always_inline void walk_addrinfo(struct dv_call_rec *rec, __u64 node)
{
	struct ai_node n;

	if (node)
		rec->flags |= DV_CALL_GOT_RESULT;
	for (int i = 0; i < MAX_AI_NODES && node; i++) {
		/* Reading past a node fails only at the very end of a mapping: read it alone. */
		bool whole = !bpf_probe_read_user(&n, sizeof(n), (void *)node);

		if (!whole && bpf_probe_read_user(&n.ai, sizeof(n.ai), (void *)node))
			break;
		if ((!whole || n.ai.ai_addr != node + sizeof(n.ai)) &&
		    bpf_probe_read_user(&n.sa, sizeof(n.sa), (void *)n.ai.ai_addr))
			break;
		if (i == 0 && n.ai.ai_canonname)
			read_str(rec->hostname, sizeof(rec->hostname), n.ai.ai_canonname);
		add_sockaddr(rec, &n.sa);
		if (rec->n_addrs >= DV_CALL_MAX_ADDRS)
			break;
		node = n.ai.ai_next;
	}
}

/* getaddrinfo's arguments and results; getaddrinfo_a's first request in the same form. */
static __always_inline void read_gai(struct dv_call_rec *rec, __u64 name, __u64 service,
				     __u64 hints, __u64 first_node)
{
	struct lp64_addrinfo h;

	read_str(rec->name, sizeof(rec->name), name);
	read_str(rec->service, sizeof(rec->service), service);
	/* The first four ints of struct addrinfo: flags, family, socktype, protocol. */
	if (hints && !bpf_probe_read_user(&h, 4 * sizeof(__s32), (void *)hints)) {
		rec->family = h.ai_family;
		rec->ai_flags = h.ai_flags;
		rec->flags |= DV_CALL_HINTS;
	}
	walk_addrinfo(rec, first_node);
}

static __always_inline void walk_hostent(struct dv_call_rec *rec, __u64 ptr)
{
	struct lp64_hostent h;
	__u8 family;

	if (!ptr || bpf_probe_read_user(&h, sizeof(h), (void *)ptr))
		return;
	rec->flags |= DV_CALL_GOT_RESULT;
	read_str(rec->hostname, sizeof(rec->hostname), h.h_name);
	family = h.h_addrtype == AF_INET ? 4 : h.h_addrtype == AF_INET6 ? 6 : 0;
	for (int i = 0; family && i < DV_CALL_MAX_ADDRS; i++) {
		struct dv_call_addr a = { .family = family };
		__u64 p;

		if (bpf_probe_read_user(&p, sizeof(p), (void *)(h.h_addr_list + i * sizeof(p))) ||
		    !p)
			break;
		if (bpf_probe_read_user(a.addr, family == 4 ? 4 : 16, (void *)p))
			break;
		add_addr(rec, &a);
	}
}

static __always_inline __u64 read_ptr(__u64 where)
{
	__u64 p = 0;

	if (where)
		bpf_probe_read_user(&p, sizeof(p), (void *)where);
	return p;
}

/* The binary address of a reverse lookup goes in name. */
static __always_inline void read_addr_name(struct dv_call_rec *rec, __u64 addr, __u32 len)
{
	if (len > 16 || bpf_probe_read_user(rec->name, len & 31, (void *)addr))
		return;
	rec->flags |= DV_CALL_NAME_IS_ADDR;
}

static __always_inline void read_getnameinfo(struct dv_call_rec *rec,
					     const struct dv_call_state *st, int rc)
{
	struct lp64_sockaddr sa;

	if (bpf_probe_read_user(&sa, sizeof(sa), (void *)st->name))
		return;
	rec->family = sa.family;
	rec->port = bpf_ntohs(sa.port);
	if (sa.family == AF_INET) {
		__builtin_memcpy(rec->name, sa.addr4, 4);
		rec->flags |= DV_CALL_NAME_IS_ADDR;
	} else if (sa.family == AF_INET6) {
		__builtin_memcpy(rec->name, sa.addr6, 16);
		rec->flags |= DV_CALL_NAME_IS_ADDR;
	}
	if (rc == 0 && st->out && st->out_len)
		read_str(rec->hostname, sizeof(rec->hostname), st->out);
}

/* res_*: the answer when there is one; on failure the answer buffer, which holds the failing
 * response when one came (both libcs copy it before checking rcode); res_send's query when
 * nothing came back, so that the name is known. */
static __always_inline void read_res_msg(struct dv_call_rec *rec, const struct dv_call_state *st,
					 int rc)
{
	__u64 src = st->out;
	/* 64-bit: a u32 would be checked in one register and passed in another. */
	__u64 len = rc > 0 ? rc : st->out_len;

	if (rc <= 0 && (st->fn == DV_FN_RES_SEND || st->fn == DV_FN_RES_NSEND)) {
		src = st->name;
		len = st->name_len;
	}
	if (len > DV_CALL_MSG_LEN)
		len = DV_CALL_MSG_LEN;
	/* Keeps clang from merging the clamp into the check the verifier needs to see. */
	barrier_var(len);
	if (!src || len > DV_CALL_MSG_LEN || bpf_probe_read_user(rec->msg, len, (void *)src))
		return;
	rec->msg_len = len;
}

/* ret is the whole return register: a pointer for the functions returning one; an int in its
 * low half (the upper half is undefined) for the others. */
static __always_inline void emit(struct dv_call_state *st, long ret, __u64 id)
{
	struct dv_call_rec *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);
	__u64 uid_gid = bpf_get_current_uid_gid();
	int rc = ret;

	if (!rec) {
		count_drop(DV_DROP_RINGBUF_FULL);
		return;
	}
	rec->kind = DV_REC_CALL;
	rec->fn = st->fn;
	rec->flags = st->herrno_known ? DV_CALL_HERRNO : 0;
	rec->n_addrs = 0;
	rec->msg_len = 0;
	rec->port = 0;
	rec->family = st->family;
	rec->ai_flags = st->ai_flags;
	rec->qtype = st->qtype;
	rec->herrno = st->herrno;
	rec->ret = ret;
	rec->call_id = st->call_id;
	rec->start_ns = st->start_ns;
	rec->end_ns = bpf_ktime_get_ns();
	rec->owner = (struct dv_owner){
		.tgid = id >> 32,
		.pid = (__u32)id,
		.uid = (__u32)uid_gid,
		.gid = uid_gid >> 32,
		.cgroup_id = bpf_get_current_cgroup_id(),
		.call_id = st->call_id,
	};
	bpf_get_current_comm(rec->owner.comm, sizeof(rec->owner.comm));
	rec->name[0] = rec->service[0] = rec->hostname[0] = '\0';

	switch (st->fn) {
	case DV_FN_GETADDRINFO:
		read_gai(rec, st->name, st->service, st->hints, rc == 0 ? read_ptr(st->out) : 0);
		break;
	case DV_FN_GETADDRINFO_A: {
		struct lp64_gaicb cb;

		if (bpf_probe_read_user(&cb, sizeof(cb), (void *)read_ptr(st->out)))
			break;
		read_gai(rec, cb.ar_name, cb.ar_service, cb.ar_request,
			 rc == 0 && st->out_len == GAI_WAIT ? cb.ar_result : 0);
		break;
	}
	case DV_FN_GETHOSTBYNAME:
	case DV_FN_GETHOSTBYNAME2:
		read_str(rec->name, sizeof(rec->name), st->name);
		walk_hostent(rec, ret);
		break;
	case DV_FN_GETHOSTBYNAME_R:
	case DV_FN_GETHOSTBYNAME2_R:
		read_str(rec->name, sizeof(rec->name), st->name);
		walk_hostent(rec, read_ptr(st->out));
		break;
	case DV_FN_GETHOSTBYADDR:
		read_addr_name(rec, st->name, st->name_len);
		walk_hostent(rec, ret);
		break;
	case DV_FN_GETHOSTBYADDR_R:
		read_addr_name(rec, st->name, st->name_len);
		walk_hostent(rec, read_ptr(st->out));
		break;
	case DV_FN_GETNAMEINFO:
		read_getnameinfo(rec, st, rc);
		break;
	case DV_FN_RES_QUERY:
	case DV_FN_RES_SEARCH:
	case DV_FN_RES_NQUERY:
	case DV_FN_RES_NSEARCH:
		read_str(rec->name, sizeof(rec->name), st->name);
		read_res_msg(rec, st, rc);
		break;
	case DV_FN_RES_SEND:
	case DV_FN_RES_NSEND:
		read_res_msg(rec, st, rc);
		break;
	}
	/* The call's own h_errno location is the caller's and still there. */
	if (st->herrnop && !st->herrnop_inner &&
	    !bpf_probe_read_user(&rec->herrno, sizeof(rec->herrno), (void *)st->herrnop))
		rec->flags |= DV_CALL_HERRNO;
	/* The agent reads /proc for a process when its first call arrives, while it is surely
	 * alive (a short-lived getent or curl): a thread's first record wakes the agent, later
	 * ones wait for its next poll instead of paying for a wakeup. */
	bpf_ringbuf_submit(rec, st->woke_agent ? BPF_RB_NO_WAKEUP : BPF_RB_FORCE_WAKEUP);
	st->woke_agent = 1;
}

static __always_inline int on_return(struct pt_regs *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	struct dv_call_state *st = bpf_map_lookup_elem(&active_calls, &id);

	/* depth 0: a return whose entry was not seen (attached in between). */
	if (!st || !st->depth)
		return 0;
	if (st->depth > 1) {
		st->depth--;
		/* A nested call's h_errno location may be in a frame gone by the outer return. */
		if (st->herrnop_inner &&
		    !bpf_probe_read_user(&st->herrno, sizeof(st->herrno), (void *)st->herrnop))
			st->herrno_known = 1;
		return 0;
	}
	emit(st, PT_REGS_RC(ctx), id);
	st->depth = 0;
	return 0;
}

/* One return program for every function: the entry saved which one it is. */
SEC("uretprobe")
int leave(struct pt_regs *ctx)
{
	return on_return(ctx);
}

/* The same for uprobe_multi links (see enter_multi). */
SEC("uretprobe")
int leave_multi(struct pt_regs *ctx)
{
	return on_return(ctx);
}
