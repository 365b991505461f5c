// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Socket ownership: cgroup socket hooks run in the calling process's context, so they can say
 * which process owns a socket cookie. The wire programs look the cookie up per packet.
 * Every program returns 1: the agent never denies or rewrites anything. */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include "owner.bpf.h"

#define AF_INET 2
#define AF_INET6 10
#define SOCK_STREAM 1
#define SOCK_DGRAM 2

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("cgroup/sock_create")
int sock_create(struct bpf_sock *sk)
{
	/* Port unknown yet: record every inet UDP/TCP socket, created at a far lower rate than
	 * packets. */
	if ((sk->family == AF_INET || sk->family == AF_INET6) &&
	    (sk->type == SOCK_DGRAM || sk->type == SOCK_STREAM))
		record_owner(bpf_get_socket_cookie(sk), DV_OWNER_SOCK_CREATE, false);
	return 1;
}

/* user_port is the remote port (network order) for connect/sendmsg and the peer's for
 * recvmsg; a server's own port is in sk->src_port (host order). */
static __always_inline int on_sock_addr(struct bpf_sock_addr *ctx, __u32 source)
{
	struct bpf_sock *sk = ctx->sk;

	if (is_dns_port(bpf_ntohs(ctx->user_port)) || (sk && is_dns_port(sk->src_port)))
		record_owner(bpf_get_socket_cookie(ctx), source, true);
	return 1;
}

SEC("cgroup/connect4")
int connect4(struct bpf_sock_addr *ctx)
{
	return on_sock_addr(ctx, DV_OWNER_CONNECT);
}

SEC("cgroup/connect6")
int connect6(struct bpf_sock_addr *ctx)
{
	return on_sock_addr(ctx, DV_OWNER_CONNECT);
}

SEC("cgroup/sendmsg4")
int sendmsg4(struct bpf_sock_addr *ctx)
{
	return on_sock_addr(ctx, DV_OWNER_SENDMSG);
}

SEC("cgroup/sendmsg6")
int sendmsg6(struct bpf_sock_addr *ctx)
{
	return on_sock_addr(ctx, DV_OWNER_SENDMSG);
}

SEC("cgroup/recvmsg4")
int recvmsg4(struct bpf_sock_addr *ctx)
{
	return on_sock_addr(ctx, DV_OWNER_RECVMSG);
}

SEC("cgroup/recvmsg6")
int recvmsg6(struct bpf_sock_addr *ctx)
{
	return on_sock_addr(ctx, DV_OWNER_RECVMSG);
}
