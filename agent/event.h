/* The one in-memory event model. Capture and correlation stages fill it; every sink (JSON
 * today, protobuf and dnstap later) renders it. Events are built on the stack and only
 * borrowed by sinks: a sink copies what it keeps. */
#ifndef DNSVIGIL_EVENT_H
#define DNSVIGIL_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dns.h"

#define PROC_COMM_LEN 16

/* Who made a packet or a call. Numbers are -1 and strings NULL (or "" for comm) when unknown:
 * sinks print null, never a made-up value. */
struct proc_info {
	int32_t pid; /* tgid */
	int32_t tid;
	int32_t ppid;
	int64_t uid;
	int64_t gid;
	char comm[PROC_COMM_LEN];
	const char *exe;
	const char *cmdline; /* arguments joined by spaces, bounded */
	const char *cgroup;  /* cgroup v2 path, e.g. "/system.slice/unbound.service" */
	const char *container_id;
	uint64_t cgroup_id;  /* 0 when unknown */
};

enum net_role {
	ROLE_UNKNOWN = 0,
	ROLE_CLIENT, /* this socket sent the query / receives the response */
	ROLE_SERVER,
};

struct net_info {
	uint8_t transport; /* IPPROTO_UDP or IPPROTO_TCP */
	uint8_t family;    /* 4 or 6 */
	uint8_t direction; /* DV_EGRESS or DV_INGRESS */
	uint8_t role;      /* enum net_role */
	uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint16_t src_port;
	uint16_t dst_port;
	uint64_t socket_cookie;
};

enum event_type {
	EVENT_DNS,
	EVENT_TIMEOUT,
	EVENT_STATS,
	EVENT_RESOLVER_CALL,
};

/* A query that got no response within the match timeout. */
struct timeout_info {
	uint16_t id;
	const char *qname;
	uint16_t qtype;
	uint16_t qclass;
	uint64_t waited_ns;
};

#define CALL_MAX_ADDRS 16

struct call_addr {
	uint8_t family; /* 4 or 6 */
	uint8_t addr[16];
};

/* A resolver library call (getaddrinfo() and co.): what a process asked for and what it got.
 * Strings are NULL when unknown or not part of the function. */
struct call_info {
	const char *function; /* "getaddrinfo", "res_query", ... */
	const char *name;     /* the name asked for; the address for reverse lookups */
	const char *service;  /* getaddrinfo's service, getnameinfo's port */
	uint8_t family;       /* 4 or 6 as asked; 0: unspecified */
	const char *const *flags; /* "AI_CANONNAME", "NI_NAMEREQD", ...; NULL: none given */
	size_t n_flags;
	uint16_t qtype; /* res_*; 0: none */
	const char *result; /* "OK", "EAI_NONAME", "HOST_NOT_FOUND", "ERANGE", ... */
	bool has_code;      /* false for functions that return a pointer */
	int64_t result_code; /* the int the function returned (res_*: the answer length or -1) */
	const char *hostname; /* the name returned: canonical name, h_name, getnameinfo's host */
	size_t n_addrs;
	const struct call_addr *addrs; /* deduplicated */
	uint64_t latency_ns;
	uint64_t call_id;
};

struct stats;

struct event {
	enum event_type type;
	uint64_t ts_ns; /* CLOCK_REALTIME nanoseconds */
	const struct proc_info *process; /* NULL: every field null */
	struct net_info net;
	const struct dns_msg *dns;         /* EVENT_DNS */
	int64_t latency_ns;                /* EVENT_DNS response matched to a query; else -1 */
	const uint8_t *raw;                /* EVENT_DNS: the message bytes (printed when malformed) */
	size_t raw_len;
	const struct timeout_info *timeout; /* EVENT_TIMEOUT */
	const struct stats *stats;          /* EVENT_STATS */
	const struct call_info *call;       /* EVENT_RESOLVER_CALL */
	/* EVENT_DNS: the resolver call the socket's thread was in when it sent; 0: none */
	uint64_t call_id;
	/* EVENT_DNS: the local client a stub resolver forwards this query for; NULL: none */
	const struct proc_info *origin;
};

#endif
