#include "kernel_features.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "uprobe_multi.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Why not libbpf_probe_bpf_helper(): libbpf 1.1 takes a helper as missing only when the
 * verifier says "unknown func" or "invalid func", and this kernel (6.18) says "program of this
 * type cannot use helper" instead, so it answers yes for every helper in every program type
 * (bpf_override_return in cgroup_skb, bpf_bind in sendmsg4 included); it also probes sock_addr
 * programs as connect4 only. A wrong yes would now stop the agent, so each probe here loads the
 * very calls its feature needs, in each hook that makes them, and the feature is there only
 * when every load succeeds: no verifier message to interpret. */

/* linux/filter.h's instruction macros are the kernel's own. */
#define INSN(c, d, s, o, i)                                                                    \
	((struct bpf_insn){ .code = (c), .dst_reg = (d), .src_reg = (s), .off = (o), .imm = (i) })
#define MOV_IMM(d, i) INSN(BPF_ALU64 | BPF_MOV | BPF_K, d, 0, 0, i)
#define MOV_REG(d, s) INSN(BPF_ALU64 | BPF_MOV | BPF_X, d, s, 0, 0)
#define ADD_IMM(d, i) INSN(BPF_ALU64 | BPF_ADD | BPF_K, d, 0, 0, i)
#define LOAD(size, d, s, o) INSN(BPF_LDX | BPF_MEM | (size), d, s, o, 0)
#define JEQ_IMM(d, i, skip) INSN(BPF_JMP | BPF_JEQ | BPF_K, d, 0, skip, i)
#define CALL(fn) INSN(BPF_JMP | BPF_CALL, 0, 0, 0, fn)
#define RETURN_1 MOV_IMM(BPF_REG_0, 1), INSN(BPF_JMP | BPF_EXIT, 0, 0, 0, 0)

/* What record_owner() (bpf/owner.bpf.h) calls with have_task_helpers: the current pid and
 * cgroup, the task, and reads through it as BPF_CORE_READ_STR_INTO(comm, task, group_leader,
 * comm) does, into 16 bytes of stack. r6 keeps the context for what follows. */
#define TASK_CALLS                                   \
	MOV_REG(BPF_REG_6, BPF_REG_1),               \
	CALL(BPF_FUNC_get_current_pid_tgid),         \
	CALL(BPF_FUNC_get_current_cgroup_id),        \
	CALL(BPF_FUNC_get_current_task),             \
	MOV_REG(BPF_REG_7, BPF_REG_0),               \
	MOV_REG(BPF_REG_1, BPF_REG_10),              \
	ADD_IMM(BPF_REG_1, -16),                     \
	MOV_IMM(BPF_REG_2, 8),                       \
	MOV_REG(BPF_REG_3, BPF_REG_7),               \
	CALL(BPF_FUNC_probe_read_kernel),            \
	MOV_REG(BPF_REG_1, BPF_REG_10),              \
	ADD_IMM(BPF_REG_1, -16),                     \
	MOV_IMM(BPF_REG_2, 16),                      \
	MOV_REG(BPF_REG_3, BPF_REG_7),               \
	CALL(BPF_FUNC_probe_read_kernel_str)

/* And what tcp_sender_is_current() (bpf/wire.bpf.c) does: skb->sk as a tcp_sock, read through its
 * BTF pointer (sk_lock.owned there). */
#define TCP_SOCK_READ                                                     \
	LOAD(BPF_DW, BPF_REG_1, BPF_REG_6, offsetof(struct __sk_buff, sk)), \
	JEQ_IMM(BPF_REG_1, 0, 3),                                         \
	CALL(BPF_FUNC_skc_to_tcp_sock),                                   \
	JEQ_IMM(BPF_REG_0, 0, 1),                                         \
	LOAD(BPF_B, BPF_REG_0, BPF_REG_0, 0)

/* The hooks of bpf/sockowner.bpf.c and bpf/wire.bpf.c by section name: what a sock_addr
 * program may call can differ with its attach type. */
static const char *const sock_hooks[] = {
	"cgroup/sock_create", "cgroup/connect4", "cgroup/connect6", "cgroup/sendmsg4",
	"cgroup/sendmsg6",    "cgroup/recvmsg4", "cgroup/recvmsg6",
};
static const char *const skb_hooks[] = { "cgroup_skb/ingress", "cgroup_skb/egress" };

/* Loads insns as a program of this type and attach type: its fd, or -errno with the
 * verifier's reasons at debug level. */
static int load(enum bpf_prog_type type, enum bpf_attach_type attach,
		const struct bpf_insn *insns, size_t n, const char *where)
{
	static char log[16384];
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = attach, .log_buf = log,
		    .log_size = sizeof(log), .log_level = 1);
	int fd, err;

	log[0] = '\0';
	fd = bpf_prog_load(type, NULL, "GPL", insns, n, &opts);
	if (fd >= 0)
		return fd;
	err = -errno;
	log_debug("features: the probe in %s was refused: %s; verifier log:\n%s", where,
		  strerror(-err), log[0] ? log : "(empty)");
	return err;
}

/* A probe's answer from a load or link that failed: the kernel refused (0, the feature is
 * missing), or it could not be asked at all (-errno). */
static int refused(int err)
{
	return err == -EPERM || err == -ENOMEM ? err : 0;
}

/* 1 when insns load in every hook (a section name as SEC() gives it), else refused(). */
static int probe_hooks(const char *const *hooks, size_t n_hooks, const struct bpf_insn *insns,
		       size_t n_insns)
{
	for (size_t i = 0; i < n_hooks; i++) {
		enum bpf_prog_type type;
		enum bpf_attach_type attach;
		int fd, err = libbpf_prog_type_by_name(hooks[i], &type, &attach);

		if (err)
			return err;
		fd = load(type, attach, insns, n_insns, hooks[i]);
		if (fd < 0)
			return refused(fd);
		close(fd);
	}
	return 1;
}

static int probe_sock_task_helpers(void)
{
	static const struct bpf_insn insns[] = { TASK_CALLS, RETURN_1 };

	return probe_hooks(sock_hooks, ARRAY_LEN(sock_hooks), insns, ARRAY_LEN(insns));
}

static int probe_skb_task_helpers(void)
{
	static const struct bpf_insn insns[] = { TASK_CALLS, TCP_SOCK_READ, RETURN_1 };

	return probe_hooks(skb_hooks, ARRAY_LEN(skb_hooks), insns, ARRAY_LEN(insns));
}

/* As libbpf does (probe_uprobe_multi_link): a kprobe program for uprobe_multi links, linked
 * to "/", which kernels with the links refuse as not a file (EBADF) and older ones refuse for
 * the attach type. libbpf's second probe, whether a pid filter filters processes rather than
 * threads, does not apply: our links are for every process. */
static int probe_uprobe_multi(void)
{
	static const struct bpf_insn insns[] = { RETURN_1 };
	const uint64_t offset = 0;
	int prog, link;

	prog = load(BPF_PROG_TYPE_KPROBE, UPROBE_MULTI_ATTACH_TYPE, insns, ARRAY_LEN(insns),
		    "uprobe_multi");
	if (prog < 0)
		return refused(prog);
	link = uprobe_multi_link(prog, "/", &offset, NULL, 1, 0);
	close(prog);
	if (link >= 0)
		close(link);
	else if (link != -EBADF)
		log_debug("features: a uprobe_multi link on / was refused: %s", strerror(-link));
	return link == -EBADF;
}

static const struct {
	const char *name;
	const char *shown; /* in the startup log */
	int (*probe)(void); /* 1: there, 0: missing, or -errno */
} table[FEATURE_NR] = {
	[FEATURE_SOCK_TASK_HELPERS] = { "sock-task-helpers", "task helpers in socket hooks",
					probe_sock_task_helpers },
	[FEATURE_SKB_TASK_HELPERS] = { "skb-task-helpers", "task helpers in cgroup_skb",
				       probe_skb_task_helpers },
	[FEATURE_UPROBE_MULTI] = { "uprobe-multi", "uprobe_multi links", probe_uprobe_multi },
};

const char *features_name(enum feature f)
{
	return f < FEATURE_NR ? table[f].name : "?";
}

int features_parse(const char *name, enum feature *f)
{
	for (unsigned int i = 0; i < FEATURE_NR; i++) {
		if (strcmp(name, table[i].name) == 0) {
			*f = i;
			return 0;
		}
	}
	return -EINVAL;
}

int features_probe(unsigned int disabled, struct features *out)
{
	char line[256];
	size_t len = 0;

	for (unsigned int f = 0; f < FEATURE_NR; f++) {
		bool off = disabled & 1u << f;
		int ret = off ? 0 : table[f].probe();

		if (ret < 0) {
			log_warnx("probing the kernel for %s: %s", table[f].shown, strerror(-ret));
			return ret;
		}
		out->has[f] = ret;
		len += snprintf(line + len, sizeof(line) - len, "%s%s %s", f ? ", " : "",
				table[f].shown, off ? "no (disabled)" : ret ? "yes" : "no");
	}
	log_info("kernel features: %s", line);
	return 0;
}
