/* Socket owners: what the kernel hooks recorded in the capture's owner map, and the socket
 * scan (sockscan.h) for sockets no hook has seen, whose finds go into the same map. */
#ifndef DNSVIGIL_OWNERS_H
#define DNSVIGIL_OWNERS_H

#include <stdbool.h>
#include <stdint.h>

#include "event.h"
#include "stats.h"

struct wire;
struct owners;

/* Starts the socket scan worker, which seeds the owner map with the sockets that exist now
 * before this returns. A scan that cannot start is logged and the agent goes on with the
 * hooks alone: *out is set either way; -ENOMEM only leaves it NULL. */
int owners_new(struct wire *w, const char *proc_root, struct owners **out);
/* Stops the worker: before the wire closes, as it writes to the wire's owner map. */
void owners_free(struct owners *o);

/* owner_lookup_fn: the owner recorded for the socket, else false and a scan is asked for
 * (what it finds shows in the map later). */
bool owners_lookup(void *ctx, uint64_t socket_cookie, struct proc_info *who);

/* owner_scans, owner_scan_sockets, owner_scan_errors */
void owners_stats(struct owners *o, struct stats_registry *reg);

#endif
