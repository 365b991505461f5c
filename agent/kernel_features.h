/* The kernel features our BPF programs choose between, probed once at start, each by loading a
 * few instructions that need it and nothing else. Every program is then loaded once, in the
 * variant the probes chose: a load that fails after that is a bug in our programs, shown with
 * the verifier's log, never hidden by falling back to a variant that does less.
 * (Prefix features_; the file is not features.h, which -Iagent would put in place of glibc's
 * <features.h>.) */
#ifndef DNSVIGIL_KERNEL_FEATURES_H
#define DNSVIGIL_KERNEL_FEATURES_H

#include <stdbool.h>

enum feature {
	/* cgroup sock and sock_addr programs may call the current-task helpers (pid, task,
	 * cgroup id, bpf_probe_read_kernel), after Linux 5.8. Without: socket owners carry uid
	 * and gid only, the pid comes from /proc. */
	FEATURE_SOCK_TASK_HELPERS,
	/* cgroup_skb programs may too, and bpf_skc_to_tcp_sock (5.9+). Without: egress packets
	 * of sockets no socket hook saw (accepted ones) are not attributed to their sender. */
	FEATURE_SKB_TASK_HELPERS,
	/* uprobe_multi links (6.6). Without: one uprobe per traced function of each file. */
	FEATURE_UPROBE_MULTI,
	FEATURE_NR,
};

struct features {
	bool has[FEATURE_NR];
};

/* "sock-task-helpers", "skb-task-helpers", "uprobe-multi": the names options use. */
const char *features_name(enum feature f);
/* The feature a name above stands for: 0, or -EINVAL. */
int features_parse(const char *name, enum feature *f);

/* Probes every feature but those in the mask disabled (bit 1 << f: taken as missing without
 * a probe, to load the reduced variants on a kernel that has it all), and logs what was found
 * in one line. Returns 0, or a negative errno after logging it when a probe could not run at
 * all (no privilege for BPF, no memory). */
int features_probe(unsigned int disabled, struct features *out);

#endif
