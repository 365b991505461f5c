/* Exec notices: loads bpf/exec.bpf.c into the capture's maps and attaches it to the
 * sched_process_exec tracepoint, so that a DV_REC_EXEC record reaches the ring buffer for
 * every execve() on the host. Nothing here depends on tracefs or debugfs being mounted: the
 * BTF and raw tracepoint hooks need neither, and the classic tracepoint, tried last, mounts
 * tracefs privately for the moment it takes to read the event id. */
#ifndef DNSVIGIL_EXECHOOK_H
#define DNSVIGIL_EXECHOOK_H

struct wire;
struct exechook;

enum exechook_kind {
	EXECHOOK_NONE = 0,
	EXECHOOK_TP_BTF,     /* tp_btf/sched_process_exec: Linux 5.5 with BTF */
	EXECHOOK_RAW_TP,     /* raw_tp/sched_process_exec: Linux 4.17 */
	EXECHOOK_TRACEPOINT, /* tracepoint/sched/sched_process_exec via a perf event */
	EXECHOOK_AUTO,       /* as an option: each of the above in this order */
};

/* "tp_btf", "raw_tp", "tracepoint", "none", "auto". */
const char *exechook_kind_name(enum exechook_kind kind);
/* The kind a name above stands for: 0, or -EINVAL. */
int exechook_parse_kind(const char *name, enum exechook_kind *kind);

/* Loads and attaches the hook of the given kind, or with EXECHOOK_AUTO the first that this
 * kernel supports and allows. Each kind this kernel lacks is skipped after a probe (logged at
 * debug level); a load or attach that fails anyway is logged with libbpf's reason and the
 * next kind is tried. Returns 0 with *out set, -ENOENT after logging why when no kind could
 * be attached (EXECHOOK_NONE: at once), or another negative errno. */
int exechook_open(struct wire *w, enum exechook_kind kind, struct exechook **out);
/* Detaches and frees; NULL is fine. */
void exechook_close(struct exechook *h);

enum exechook_kind exechook_attached_kind(const struct exechook *h);

#endif
