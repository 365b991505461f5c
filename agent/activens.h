/* Active nameserver lookups (--active-ns): where the host only sees stub answers (a client
 * asks a resolver and gets A records, no NS anywhere), the agent asks that very resolver for
 * the registered domain's NS set and its nameservers' A and AAAA records, from inside the
 * asking process's network namespace, so that nsinfra learns what the host never shows.
 *
 * The pipeline thread asks (activens_request) for a domain nsinfra has no NS set of; a
 * bounded queue (full: the request is dropped, counted) feeds one worker thread. The worker
 * takes requests at a rate of at most rate per second (a burst of rate), enters the
 * process's network namespace (/proc/PID/ns/net, opened when the request is queued: clients
 * like dig exit a moment after their answer; one gone by then is counted, skipped) with
 * setns in the worker thread only, creates a UDP socket there (a socket stays in the namespace it was
 * made in), goes back, and connects it to the server the process asked (the kernel then
 * passes only that server's datagrams). It sends "DOMAIN NS" (RD set, a random id), waits
 * 2 s, retries once, then "NAME A" and "NAME AAAA" for up to ACTIVENS_MAX_NS of the names.
 * A response counts when its id, QR and question match.
 *
 * The worker learns nothing itself: its queries and their responses are captured like any
 * process's, marked agent_probe (the socket's owner is the agent), and nsinfra and the
 * passive DNS store learn from them in the pipeline; correlation judges none of them. It
 * reads the NS answer only for the names to ask next and the RRset's TTL.
 *
 * Cache: a domain asked for is not asked again before its NS RRset's TTL (clamped to
 * ACTIVENS_TTL_MIN_S .. ACTIVENS_TTL_MAX_S) after an answer, ACTIVENS_BACKOFF_S after a
 * failure (no answer, an error rcode, no NS records). A request dropped or whose process was
 * gone leaves nothing behind: the next lookup asks again. At most cache_max domains, the
 * oldest forgotten (counted). */
#ifndef DNSVIGIL_ACTIVENS_H
#define DNSVIGIL_ACTIVENS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "regdom.h"

#define ACTIVENS_MAX_NS 4 /* NS names whose addresses are asked for */
#define ACTIVENS_TTL_MIN_S 3600
#define ACTIVENS_TTL_MAX_S 86400
#define ACTIVENS_BACKOFF_S 600
#define ACTIVENS_TIMEOUT_MS 2000

struct activens_opts {
	unsigned rate;      /* domains per second, 1 .. 1000 */
	size_t queue_max;   /* requests waiting */
	size_t cache_max;   /* domains remembered */
	const char *proc_root; /* where /PID/ns/net is opened; borrowed */
};

#define ACTIVENS_DEFAULTS                                                                     \
	{                                                                                     \
		.rate = 5, .queue_max = 64, .cache_max = 4096, .proc_root = "/proc",          \
	}

/* What a process asked: its pid, the server (family 4 or 6, address, port) its query went
 * to, and the registered domain of the name. */
struct activens_request {
	int32_t pid;
	uint8_t family;
	uint8_t server[16];
	uint16_t port;
	char domain[REGDOM_NAME_MAX + 1];
	int ns_fd; /* activens_request opens it; the worker closes it */
};

/* Written by the worker, read by the stats registry without a lock: 64-bit counters, a value
 * a tick old at worst. */
struct activens_stats {
	uint64_t requests; /* domains queued */
	uint64_t queries;  /* queries sent (retries included) */
	uint64_t answers;  /* responses that matched their query */
	uint64_t failures; /* domains that got no NS set: no answer, an error rcode, no NS */
	uint64_t dropped;  /* requests the full queue refused */
	uint64_t gone;     /* requests whose process had exited */
	uint64_t evicted;  /* domains the full cache forgot */
};

struct activens;

/* NULL with errno set (EINVAL: options out of range). The worker does not run yet. */
struct activens *activens_new(const struct activens_opts *opts);
/* Starts the worker. 0 or a negative errno. */
int activens_start(struct activens *a);
/* Stops the worker (a probe under way is abandoned) and frees. NULL is fine. */
void activens_free(struct activens *a);

/* Queues r (its ns_fd is set here) at now_ns (CLOCK_MONOTONIC). 0: queued; -EALREADY: the
 * domain was asked for recently or is waiting; -ENOBUFS: the queue is full (counted in
 * dropped); -ESRCH: the process is gone (counted); another negative errno when its namespace
 * did not open. */
int activens_request(struct activens *a, const struct activens_request *r, uint64_t now_ns);

/* The worker's steps, apart so that they can be tested without it. */

/* The next request the rate allows at now_ns into *out (the caller closes out->ns_fd). 0;
 * -ENOENT: none waits; -EAGAIN: the rate allows the next in *wait_ns. */
int activens_next(struct activens *a, uint64_t now_ns, struct activens_request *out,
		  uint64_t *wait_ns);
/* What a probe of domain came to: 0 and the NS RRset's ttl_s, or a negative errno (a
 * failure). */
void activens_done(struct activens *a, const char *domain, int result, uint32_t ttl_s,
		   uint64_t now_ns);

const struct activens_stats *activens_stats(const struct activens *a);

#endif
