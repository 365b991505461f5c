#include "owners.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "capture.h"
#include "log.h"
#include "sockscan.h"
#include "wire.h"

struct owners {
	struct wire *wire;
	struct sockscan *scan; /* NULL: not running */
	/* The worker counts on its own thread; copied here when stats are due. */
	uint64_t scans;
	uint64_t scan_sockets;
	uint64_t scan_errors;
};

/* sockscan_fn, on the scan worker's thread: it touches the wire's owner map only (a map
 * update is a system call, safe from any thread). */
static int add_scanned_owner(void *ctx, uint64_t cookie, const struct dv_owner *owner)
{
	/* -EEXIST: a kernel hook already knows better. */
	wire_owner_add(ctx, cookie, owner);
	return 0;
}

bool owners_lookup(void *ctx, uint64_t cookie, struct proc_info *who)
{
	struct owners *o = ctx;
	struct dv_owner owner;

	if (wire_owner_lookup(o->wire, cookie, &owner) == 0 && owner.tgid) {
		owner_identity(&owner, who);
		return true;
	}
	if (o->scan)
		sockscan_request(o->scan);
	return false;
}

static void read_scans(void *ctx)
{
	struct owners *o = ctx;
	struct sockscan_counters c;

	if (!o->scan)
		return;
	sockscan_counters(o->scan, &c);
	o->scans = c.scans;
	o->scan_sockets = c.reported;
	o->scan_errors = c.errors;
}

void owners_stats(struct owners *o, struct stats_registry *reg)
{
	stats_u64(reg, "owner_scans", &o->scans);
	stats_u64(reg, "owner_scan_sockets", &o->scan_sockets);
	stats_u64(reg, "owner_scan_errors", &o->scan_errors);
	stats_on_refresh(reg, read_scans, o);
}

int owners_new(struct wire *w, const char *proc_root, struct owners **out)
{
	struct owners *o = calloc(1, sizeof(*o));
	struct sockscan_counters c;
	int err;

	if (!o)
		return -ENOMEM;
	o->wire = w;
	*out = o;
	/* Seeds the owners of sockets older than the agent before it reports ready. */
	err = sockscan_start(proc_root, add_scanned_owner, w, &o->scan);
	if (err) {
		log_warnx("scanning %s for existing sockets: %s", proc_root, strerror(-err));
		return 0;
	}
	sockscan_counters(o->scan, &c);
	if (c.errors)
		log_warnx("scanning for existing sockets: %" PRIu64 " namespaces, protocols or "
			  "processes failed (-v logs each)", c.errors);
	log_debug("existing sockets: %" PRIu64 " attributed in %" PRIu64 " network namespaces",
		  c.reported, c.namespaces);
	return 0;
}

void owners_free(struct owners *o)
{
	if (!o)
		return;
	if (o->scan)
		sockscan_stop(o->scan);
	free(o);
}
