/* The one in-memory event model. Capture fills it, stages add to it, every sink (JSON today,
 * protobuf and dnstap later) renders it; nothing in it depends on the kernel's records.
 *
 * An event is borrowed or owned. A borrowed event is built on the stack and points into the
 * buffers of whoever built it (the parser's, the capture's): it is valid for the call it is
 * passed to, and a stage or sink copies what it keeps. event_clone() makes an owned event,
 * one allocation holding everything it points to, that can wait in a queue. */
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

enum net_direction {
	NET_EGRESS = 0,  /* leaving the socket */
	NET_INGRESS = 1, /* arriving at it */
};

enum net_role {
	ROLE_UNKNOWN = 0,
	ROLE_CLIENT, /* this socket sent the query / receives the response */
	ROLE_SERVER,
};

struct net_info {
	uint8_t transport; /* IPPROTO_UDP or IPPROTO_TCP */
	uint8_t family;    /* 4 or 6 */
	uint8_t direction; /* enum net_direction */
	uint8_t role;      /* enum net_role */
	uint8_t src_ip[16]; /* IPv4 in the first 4 bytes */
	uint8_t dst_ip[16];
	uint16_t src_port;
	uint16_t dst_port;
	uint64_t socket_cookie;
};

/* Bytes of an address of family 4 or 6 in net_info and call_addr. */
static inline size_t net_addr_len(uint8_t family)
{
	return family == 4 ? 4 : 16;
}

enum event_type {
	EVENT_DNS,
	EVENT_TIMEOUT,
	EVENT_STATS,
	EVENT_RESOLVER_CALL,
	EVENT_FINDING,
	/* A kernel hook named the owner (process) of the socket net.socket_cookie. Stages learn
	 * from it; sinks never see it. */
	EVENT_OWNER_NOTICE,
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

enum finding_severity {
	SEVERITY_INFO,
	SEVERITY_LOW,
	SEVERITY_MEDIUM,
	SEVERITY_HIGH,
	SEVERITY_CRITICAL,
};

enum evidence_kind {
	EVIDENCE_STRING,
	EVIDENCE_U64,
	EVIDENCE_LIST, /* of strings */
};

/* One piece of a finding's evidence, rendered as "name": value. */
struct evidence {
	const char *name;
	uint8_t kind;    /* enum evidence_kind */
	const char *str; /* EVIDENCE_STRING; NULL: null */
	uint64_t u64;    /* EVIDENCE_U64 */
	const char *const *list; /* EVIDENCE_LIST */
	size_t n_list;
};

/* A correlation rule that fired on a lookup, mapped to MITRE ATT&CK. */
struct finding {
	const char *rule;          /* "intel.qname", "ns.change", ... */
	uint8_t severity;          /* enum finding_severity */
	const char *const *attack; /* technique ids, "T1584.002" */
	size_t n_attack;
	const char *summary;           /* one sentence a person understands */
	const char *qname;             /* the name looked up; NULL: none */
	const char *registered_domain; /* its eTLD+1; NULL: unknown */
	const struct evidence *evidence;
	size_t n_evidence;
};

/* "info" ... "critical"; NULL for a value out of range. */
const char *finding_severity_name(uint8_t severity);

struct stats_registry;

struct event {
	enum event_type type;
	uint64_t ts_ns;   /* CLOCK_REALTIME nanoseconds */
	uint64_t mono_ns; /* CLOCK_MONOTONIC: the capture time that stages compare */
	const char *host; /* the host that saw it; the pipeline fills it in when NULL */
	struct proc_info process; /* pid -1: nobody known (every field null) */
	struct net_info net;
	const struct dns_msg *dns;         /* EVENT_DNS */
	int64_t latency_ns;                /* EVENT_DNS response matched to a query; else -1 */
	const uint8_t *raw; /* EVENT_DNS: the bytes dns was parsed from (its rdata points in) */
	size_t raw_len;
	const struct timeout_info *timeout; /* EVENT_TIMEOUT */
	const struct stats_registry *stats; /* EVENT_STATS */
	const struct call_info *call;       /* EVENT_RESOLVER_CALL */
	const struct finding *finding;      /* EVENT_FINDING */
	/* EVENT_DNS, EVENT_RESOLVER_CALL: what correlation found about it */
	const struct finding *findings;
	size_t n_findings;
	/* EVENT_DNS: the resolver call the socket's thread was in when it sent; 0: none */
	uint64_t call_id;
	/* EVENT_DNS: the local client a stub resolver forwards this query for */
	bool has_origin;
	struct proc_info origin;
	/* EVENT_DNS: the agent's own message (an --active-ns probe): not user traffic */
	bool agent_probe;
	void *owned; /* event_clone's allocation; NULL for a borrowed event */
};

/* "dns", "timeout", "stats", "resolver_call", "finding": the type as outputs name it; NULL
 * for events that stay inside the agent (owner notices). */
const char *event_type_name(enum event_type type);

/* Nobody known: what process and origin hold when no hook named an owner. */
extern const struct proc_info proc_unknown;

/* An owned deep copy of ev (DNS message, raw bytes, timeout, call, findings and process
 * strings; stats are not copied: a stats event is never kept). NULL when memory runs out. */
struct event *event_clone(const struct event *ev);
/* Frees an event made by event_clone. */
void event_free(struct event *ev);

#endif
