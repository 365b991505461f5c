#include "wire.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "array.h"
#include "kernel_features.h"
#include "log.h"
#include "mountinfo.h"
#include "sockowner.skel.h"
#include "wire.skel.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

/* CPUs whose ring-buffer drops are reported one by one. */
#define WIRE_MAX_CPUS 256

/* on_record's way to end a batch; no libbpf error has this value. */
#define BATCH_FULL (-ECANCELED)
/* The ring's backlog at which the consumer is woken: see wakeup_bytes_per_cpu(). */
#define WAKEUP_BACKLOG (256u << 10)
#define WAKEUP_MIN_PER_CPU (64u << 10)

/* Where we mount cgroup2 on hosts that have none mounted. */
#define OWN_CGROUP2_MOUNT "/run/dnsvigil/cgroup2"
#define CGROUP_PATH_LEN 512

struct wire {
	struct wire_bpf *wire_skel;
	struct sockowner_bpf *owner_skel;
	struct ring_buffer *rb;
	struct bpf_link *links[16];
	int n_links;
	int cgroup_fd;
	int ncpus;
	struct {
		wire_record_fn fn;
		void *ctx;
	} handlers[DV_REC_NR];
	int consumed;
	uint64_t records; /* consumed, every kind */
	uint64_t drops[DV_DROP_NR];
	uint64_t ringbuf_drops_per_cpu[WIRE_MAX_CPUS];
	int reported_cpus;
	struct wire_features features;
	char cgroup_path[CGROUP_PATH_LEN];
};

static bool is_cgroup2(const char *path)
{
	struct statfs sfs;

	return statfs(path, &sfs) == 0 && sfs.f_type == CGROUP2_SUPER_MAGIC;
}

/* The cgroup v2 root: /sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified on hybrid ones,
 * any other cgroup2 mount from mountinfo, else one we mount. out has room for a cgroup_path. */
static int find_cgroup2_root(char *out)
{
	static const char *const usual[] = { "/sys/fs/cgroup", "/sys/fs/cgroup/unified" };

	for (size_t i = 0; i < ARRAY_LEN(usual); i++) {
		if (is_cgroup2(usual[i])) {
			snprintf(out, CGROUP_PATH_LEN, "%s", usual[i]);
			return 0;
		}
	}
	/* A whole hierarchy: a container may see its own cgroup mounted as the root. */
	if (mountinfo_find(AT_FDCWD, "/proc/self/mountinfo", "cgroup2", out, CGROUP_PATH_LEN) == 0)
		return 0;
	if (mkdir("/run/dnsvigil", 0700) && errno != EEXIST)
		return -errno;
	if (mkdir(OWN_CGROUP2_MOUNT, 0700) && errno != EEXIST)
		return -errno;
	if (mount("cgroup2", OWN_CGROUP2_MOUNT, "cgroup2", 0, NULL) && errno != EBUSY)
		return -errno;
	log_info("mounted cgroup2 at %s", OWN_CGROUP2_MOUNT);
	snprintf(out, CGROUP_PATH_LEN, "%s", OWN_CGROUP2_MOUNT);
	return 0;
}

static void set_ports(volatile __u16 *dst, const uint16_t *ports)
{
	for (int i = 0; i < DV_MAX_PORTS; i++)
		dst[i] = ports[i];
}

/* Each CPU wakes the consumer once per this many bytes of its records (bpf/wire.bpf.c): all
 * together by WAKEUP_BACKLOG, each by at least WAKEUP_MIN_PER_CPU lest a many-CPU host wake the
 * agent every few records, and all together by a quarter of the ring at most, which the
 * consumer then drains before it can fill. */
static uint32_t wakeup_bytes_per_cpu(size_t ringbuf_bytes, int ncpus)
{
	size_t n = WAKEUP_BACKLOG / ncpus;

	if (n < WAKEUP_MIN_PER_CPU)
		n = WAKEUP_MIN_PER_CPU;
	if (n > ringbuf_bytes / 4 / ncpus)
		n = ringbuf_bytes / 4 / ncpus;
	return n;
}

/* The capture programs in the variant of the kernel's features; with the task helpers in
 * cgroup_skb the egress program attributes packets of sockets no socket hook saw. */
static int load_wire(struct wire *w, const struct wire_opts *opts)
{
	bool task = opts->features->has[FEATURE_SKB_TASK_HELPERS];
	int err;

	w->wire_skel = wire_bpf__open();
	if (!w->wire_skel)
		return -errno;
	set_ports(w->wire_skel->rodata->dns_ports, opts->ports);
	w->wire_skel->rodata->have_task_helpers = task;
	w->wire_skel->rodata->egress_task_owner = task;
	w->wire_skel->rodata->wakeup_bytes_per_cpu = wakeup_bytes_per_cpu(opts->ringbuf_bytes, w->ncpus);
	err = bpf_map__set_max_entries(w->wire_skel->maps.events, opts->ringbuf_bytes);
	if (err)
		return err;
	w->features.task_helpers_in_egress = task;
	return wire_bpf__load(w->wire_skel);
}

int wire_share_maps(const struct wire *w, struct bpf_object *obj)
{
	struct bpf_map *map;

	bpf_object__for_each_map(map, obj) {
		const struct bpf_map *ours;
		int err;

		if (bpf_map__is_internal(map))
			continue;
		ours = bpf_object__find_map_by_name(w->wire_skel->obj, bpf_map__name(map));
		if (!ours)
			continue;
		err = bpf_map__reuse_fd(map, bpf_map__fd(ours));
		if (err)
			return err;
	}
	return 0;
}

/* The socket owner programs in the variant of the kernel's features, into the capture's maps. */
static int load_owner(struct wire *w, const struct wire_opts *opts)
{
	bool task = opts->features->has[FEATURE_SOCK_TASK_HELPERS];
	int err;

	w->owner_skel = sockowner_bpf__open();
	if (!w->owner_skel)
		return -errno;
	set_ports(w->owner_skel->rodata->dns_ports, opts->ports);
	w->owner_skel->rodata->have_task_helpers = task;
	/* With the task helpers in cgroup_skb the egress program records a UDP sender itself. */
	if (opts->features->has[FEATURE_SKB_TASK_HELPERS]) {
		bpf_program__set_autoload(w->owner_skel->progs.sendmsg4, false);
		bpf_program__set_autoload(w->owner_skel->progs.sendmsg6, false);
	}
	err = wire_share_maps(w, w->owner_skel->obj);
	if (err)
		return err;
	w->features.task_helpers_in_sock_hooks = task;
	return sockowner_bpf__load(w->owner_skel);
}

static int attach(struct wire *w, struct bpf_program *prog)
{
	struct bpf_link *link;

	if (w->n_links >= (int)(sizeof(w->links) / sizeof(w->links[0])))
		return -E2BIG;
	link = bpf_program__attach_cgroup(prog, w->cgroup_fd);
	if (!link) {
		int err = -errno;

		log_warnx("attaching %s to %s: %s", bpf_program__name(prog), w->cgroup_path,
			  strerror(-err));
		return err;
	}
	w->links[w->n_links++] = link;
	return 0;
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct wire *w = ctx;

	static const size_t record_size[] = {
		[DV_REC_PKT] = sizeof(struct dv_pkt_hdr), /* + chunk capacity, checked below */
		[DV_REC_OWNER] = sizeof(struct dv_owner_rec),
		[DV_REC_CALL] = sizeof(struct dv_call_rec),
		[DV_REC_EXEC] = sizeof(struct dv_exec_rec),
	};
	const uint8_t kind = *(const uint8_t *)data;

	if (kind >= ARRAY_LEN(record_size) || !record_size[kind] ||
	    size < record_size[kind])
		return 0;
	if (kind == DV_REC_PKT &&
	    size < sizeof(struct dv_pkt_hdr) + ((const struct dv_pkt_hdr *)data)->chunk_len)
		return 0;
	w->records++;
	if (w->handlers[kind].fn)
		w->handlers[kind].fn(w->handlers[kind].ctx, data);
	/* A negative return stops libbpf's consumer after this record, which counts as read. */
	return ++w->consumed >= WIRE_BATCH ? BATCH_FULL : 0;
}

int wire_open(const struct wire_opts *opts, struct wire **out)
{
	struct bpf_program *prog;
	struct wire *w;
	int err;

	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->cgroup_fd = -1;

	if (opts->cgroup_path)
		snprintf(w->cgroup_path, sizeof(w->cgroup_path), "%s", opts->cgroup_path);
	else if ((err = find_cgroup2_root(w->cgroup_path))) {
		log_warnx("no cgroup v2 hierarchy and mounting one failed: %s", strerror(-err));
		goto cleanup;
	}
	w->features.cgroup_path = w->cgroup_path;
	w->cgroup_fd = open(w->cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->cgroup_fd < 0) {
		err = -errno;
		log_warn("opening cgroup %s", w->cgroup_path);
		goto cleanup;
	}

	w->ncpus = libbpf_num_possible_cpus();
	if (w->ncpus < 0) {
		err = w->ncpus;
		log_warnx("counting the possible CPUs: %s", strerror(-err));
		goto cleanup;
	}
	err = load_wire(w, opts);
	if (err) {
		log_warnx("loading the wire programs: %s", strerror(-err));
		goto cleanup;
	}
	err = load_owner(w, opts);
	if (err) {
		log_warnx("loading the socket owner programs: %s", strerror(-err));
		goto cleanup;
	}

	/* Owner hooks first, so that sockets are attributed by the time packets flow. */
	bpf_object__for_each_program(prog, w->owner_skel->obj)
		if (bpf_program__autoload(prog) && (err = attach(w, prog)))
			goto cleanup;
	bpf_object__for_each_program(prog, w->wire_skel->obj)
		if ((err = attach(w, prog)))
			goto cleanup;

	w->rb = ring_buffer__new(bpf_map__fd(w->wire_skel->maps.events), on_record, w, NULL);
	if (!w->rb) {
		err = -errno;
		log_warn("creating the ring buffer consumer");
		goto cleanup;
	}
	*out = w;
	return 0;

cleanup:
	wire_close(w);
	return err;
}

void wire_close(struct wire *w)
{
	if (!w)
		return;
	ring_buffer__free(w->rb);
	for (int i = 0; i < w->n_links; i++)
		bpf_link__destroy(w->links[i]);
	sockowner_bpf__destroy(w->owner_skel);
	wire_bpf__destroy(w->wire_skel);
	if (w->cgroup_fd >= 0)
		close(w->cgroup_fd);
	free(w);
}

int wire_fd(const struct wire *w)
{
	return ring_buffer__epoll_fd(w->rb);
}

int wire_consume(struct wire *w)
{
	int err;

	w->consumed = 0;
	err = ring_buffer__consume(w->rb);
	if (err < 0 && err != BATCH_FULL)
		return err;
	return w->consumed;
}

void wire_on(struct wire *w, enum dv_record_kind kind, wire_record_fn fn, void *ctx)
{
	w->handlers[kind].fn = fn;
	w->handlers[kind].ctx = ctx;
}

/* stats_refresh_fn: the per-CPU drop counters summed per reason. */
static void read_drops(void *ctx)
{
	struct wire *w = ctx;
	int fd = bpf_map__fd(w->wire_skel->maps.drops);
	uint64_t values[w->ncpus];

	w->reported_cpus = w->ncpus < WIRE_MAX_CPUS ? w->ncpus : WIRE_MAX_CPUS;
	for (__u32 reason = 0; reason < DV_DROP_NR; reason++) {
		/* A failed read keeps the last counts: they only grow. */
		if (bpf_map_lookup_elem(fd, &reason, values))
			continue;
		w->drops[reason] = 0;
		for (int cpu = 0; cpu < w->ncpus; cpu++) {
			w->drops[reason] += values[cpu];
			if (reason == DV_DROP_RINGBUF_FULL && cpu < WIRE_MAX_CPUS)
				w->ringbuf_drops_per_cpu[cpu] = values[cpu];
		}
	}
}

void wire_stats(struct wire *w, struct stats_registry *reg)
{
	static const char *const drop_names[DV_DROP_NR] = {
		[DV_DROP_RINGBUF_FULL] = "ringbuf_full",
		[DV_DROP_LOAD_BYTES] = "load_bytes_failed",
		[DV_DROP_TOO_LONG] = "payload_too_long",
		[DV_DROP_HDR_NOT_LINEAR] = "headers_not_linear",
		[DV_DROP_NESTED] = "capture_nested",
	};

	stats_u64(reg, "records", &w->records);
	stats_u64_named(reg, "kernel_drops", w->drops, drop_names, DV_DROP_NR);
	stats_u64_list(reg, "ringbuf_drops_per_cpu", w->ringbuf_drops_per_cpu, &w->reported_cpus,
		       WIRE_MAX_CPUS);
	stats_on_refresh(reg, read_drops, w);
}

int wire_owner_lookup(struct wire *w, uint64_t cookie, struct dv_owner *owner)
{
	if (bpf_map_lookup_elem(bpf_map__fd(w->wire_skel->maps.sock_owner), &cookie, owner))
		return -errno;
	return 0;
}

int wire_owner_add(struct wire *w, uint64_t cookie, const struct dv_owner *owner)
{
	if (bpf_map_update_elem(bpf_map__fd(w->wire_skel->maps.sock_owner), &cookie, owner,
				BPF_NOEXIST))
		return -errno;
	return 0;
}

const struct wire_features *wire_features(const struct wire *w)
{
	return &w->features;
}
