/* Query/response matching: latency for answered queries, timeout reports for the others.
 *
 * A query is pending under (socket cookie, remote address and port, DNS id, qtype, qclass,
 * qname compared case-insensitively), the remote end being the destination of an egress
 * message and the source of an ingress one. So a client socket (egress query, ingress
 * response) and a server socket (ingress query, egress response) match on their own, and
 * a response naming another question is no match.
 *
 * Memory: max_pending entries of 288 bytes (18 MiB at the default 65536), calloc'd so that
 * only pages used at the peak become resident; a chain head of 8 bytes per 8 entries
 * (rounded up to a power of two); and one allocation of up to 1 KiB per pending qname of 96
 * characters or more. */
#ifndef DNSVIGIL_MATCH_H
#define DNSVIGIL_MATCH_H

#include <stddef.h>
#include <stdint.h>

#include "dns.h"
#include "event.h"

#define MATCH_DEFAULT_TIMEOUT_NS 5000000000ULL
#define MATCH_DEFAULT_MAX_PENDING 65536

/* Everything an EVENT_TIMEOUT needs, all owned by the matcher for the call's duration. */
struct match_timeout {
	struct net_info net;      /* of the query */
	struct proc_info process; /* the query's owner: numbers and comm; the strings are NULL */
	struct timeout_info info; /* info.qname lowercased */
	uint64_t query_ts_ns;     /* first transmission */
};

/* Must not call back into the same matcher. */
typedef void (*match_timeout_fn)(void *ctx, const struct match_timeout *to);

/* Cumulative counters, except pending. */
struct match_stats {
	uint64_t queries;     /* remembered */
	uint64_t retransmits; /* queries already pending under the same key: first one kept */
	uint64_t matched;
	uint64_t unmatched;   /* responses with no pending query */
	uint64_t timeouts;
	uint64_t evicted;     /* pending queries forgotten to make room: not reported as timeouts,
			       * as nobody waited the timeout for them */
	uint64_t pending;
};

struct match;

/* 0 takes the default. Returns NULL with errno set on failure. */
struct match *match_new(uint64_t timeout_ns, size_t max_pending);
/* Frees pending queries without reporting them. */
void match_free(struct match *m);

/* Remembers a query (msg->qr == 0) seen at ts_ns (monotonic); process may be NULL. A query
 * already pending is a retransmission and keeps its first timestamp. When the table is full
 * the oldest pending query is forgotten. Returns 0, -EINVAL for a message without a
 * question, or -ENOMEM. */
int match_query(struct match *m, const struct net_info *net, const struct proc_info *process,
		const struct dns_msg *msg, uint64_t ts_ns);

/* Takes a response (msg->qr == 1) seen at ts_ns. Returns the latency since the query's
 * first transmission (0 if the capture order put the response first) and forgets the
 * query, or -1 when no query is pending for it. */
int64_t match_response(struct match *m, const struct net_info *net, const struct dns_msg *msg,
		       uint64_t ts_ns);

/* Reports and forgets, oldest first, the queries that have waited timeout_ns. A response
 * arriving later is unmatched. */
void match_expire(struct match *m, uint64_t now_ns, match_timeout_fn fn, void *ctx);

const struct match_stats *match_stats(const struct match *m);

#endif
