// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/* Exec notices: one dv_exec_rec per execve(), so that the agent looks at a new program's
 * libraries (agent/exechook.c). The same notice from three hooks of the sched_process_exec
 * tracepoint; the agent loads one, newest first, because kernels and hosts differ in what
 * they allow:
 *   exec_btf  tp_btf: BTF-typed raw tracepoint (5.5), attached by BTF id, no tracefs;
 *   exec_raw  raw_tp: raw tracepoint (4.17), attached by name, no tracefs;
 *   exec_tp   tracepoint: classic, attached through a perf event whose id only tracefs
 *             tells (the agent mounts tracefs for that when nothing else works). */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "maps.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

static __always_inline int notify_exec(void)
{
	struct dv_exec_rec *rec = bpf_ringbuf_reserve(&events, sizeof(*rec), 0);

	if (!rec) {
		count_drop(DV_DROP_RINGBUF_FULL);
		return 0;
	}
	rec->kind = DV_REC_EXEC;
	rec->tgid = bpf_get_current_pid_tgid() >> 32;
	/* Adaptive wakeup: a burst of execs wakes the agent once. */
	bpf_ringbuf_submit(rec, 0);
	return 0;
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(exec_btf)
{
	return notify_exec();
}

SEC("raw_tp/sched_process_exec")
int exec_raw(void *ctx)
{
	return notify_exec();
}

SEC("tracepoint/sched/sched_process_exec")
int exec_tp(void *ctx)
{
	return notify_exec();
}
