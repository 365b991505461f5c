/* Stub attribution. A local DNS server (dnsmasq, unbound, systemd-resolved, nscd) answers a
 * client and, on a cache miss, asks upstream itself: on the wire the upstream query is the
 * stub's. When a process that received a query from a local client sends a query with the same
 * qname (case-insensitive) and qtype within ORIGIN_WINDOW_NS, that query and its response get
 * the client as origin. The client of the stub's received query is the sender of the very same
 * packet (5-tuple and DNS id), whose egress event comes first. Chains pass the first client on.
 * All tables are bounded; entries expire. */
#ifndef DNSVIGIL_ORIGIN_H
#define DNSVIGIL_ORIGIN_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"

#define ORIGIN_WINDOW_NS (2000ull * 1000000)

struct origin;

struct origin *origin_new(void);
void origin_free(struct origin *o);

/* Feeds one DNS message event (ev->net, ev->dns and ev->process filled) in ring order; ts_ns
 * is the packet's CLOCK_MONOTONIC time. Returns true and sets *client when ev is a stub's
 * upstream query or the response to one. *client has the identity fields only (pid, tid, uid,
 * gid, comm, cgroup_id; ppid -1, strings NULL): the caller adds what /proc knows. */
bool origin_message(struct origin *o, const struct event *ev, uint64_t ts_ns,
		    struct proc_info *client);

#endif
