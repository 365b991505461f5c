#include "exechook.h"

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/perf_event.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "exec.skel.h"
#include "log.h"
#include "mountinfo.h"
#include "wire.h"

#define TRACEPOINT_ID_FILE "events/sched/sched_process_exec/id"
/* Where a private tracefs is mounted, in a mount namespace of its own. */
#define TRACEFS_DIR "/sys/kernel/tracing"

struct exechook {
	struct exec_bpf *skel;
	struct bpf_link *link;
	enum exechook_kind kind;
};

static const char *const kind_names[] = {
	[EXECHOOK_NONE] = "none",
	[EXECHOOK_TP_BTF] = "tp_btf",
	[EXECHOOK_RAW_TP] = "raw_tp",
	[EXECHOOK_TRACEPOINT] = "tracepoint",
	[EXECHOOK_AUTO] = "auto",
};

const char *exechook_kind_name(enum exechook_kind kind)
{
	return kind <= EXECHOOK_AUTO ? kind_names[kind] : "?";
}

int exechook_parse_kind(const char *name, enum exechook_kind *kind)
{
	for (unsigned int k = EXECHOOK_NONE; k <= EXECHOOK_AUTO; k++) {
		if (strcmp(name, kind_names[k]) == 0) {
			*kind = k;
			return 0;
		}
	}
	return -EINVAL;
}

static struct bpf_program *program_of(const struct exec_bpf *skel, enum exechook_kind kind)
{
	switch (kind) {
	case EXECHOOK_TP_BTF:
		return skel->progs.exec_btf;
	case EXECHOOK_RAW_TP:
		return skel->progs.exec_raw;
	default:
		return skel->progs.exec_tp;
	}
}

/* Whether this kernel has the kind at all: why not, in *why, when it has not. */
static bool kernel_has(enum exechook_kind kind, const char **why)
{
	struct btf *vmlinux;
	bool found;

	switch (kind) {
	case EXECHOOK_TP_BTF:
		vmlinux = btf__load_vmlinux_btf();
		if (!vmlinux) {
			*why = "no kernel BTF";
			return false;
		}
		/* The type every BTF-enabled tracepoint declares (Linux 5.5). */
		found = btf__find_by_name_kind(vmlinux, "btf_trace_sched_process_exec",
					       BTF_KIND_TYPEDEF) > 0;
		btf__free(vmlinux);
		*why = "no BTF tracepoints";
		return found;
	case EXECHOOK_RAW_TP:
		*why = "no raw tracepoint programs";
		return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_RAW_TRACEPOINT, NULL) == 1;
	default:
		*why = "no tracepoint programs";
		return libbpf_probe_bpf_prog_type(BPF_PROG_TYPE_TRACEPOINT, NULL) == 1;
	}
}

static int read_id(const char *tracefs, uint64_t *id)
{
	char path[512], buf[32];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%s/%s", tracefs, TRACEPOINT_ID_FILE);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return n < 0 ? -errno : -EINVAL;
	buf[n] = '\0';
	*id = strtoull(buf, NULL, 10);
	return *id ? 0 : -EINVAL;
}

/* A tracefs mounted already: tracefs itself, or the "tracing" directory of debugfs. */
static int id_from_mounted(uint64_t *id)
{
	char mnt[4096];

	if (mountinfo_find(AT_FDCWD, "/proc/self/mountinfo", "tracefs", mnt, sizeof(mnt)) == 0 &&
	    read_id(mnt, id) == 0)
		return 0;
	if (mountinfo_find(AT_FDCWD, "/proc/self/mountinfo", "debugfs", mnt,
			   sizeof(mnt) - sizeof("/tracing")) == 0 &&
	    read_id(strcat(mnt, "/tracing"), id) == 0)
		return 0;
	return -ENOENT;
}

/* With no tracefs mounted, a child in a mount namespace of its own mounts one, reads the id
 * and exits: the host's mounts never change. (The agent has threads by now, and unshare()
 * of the mount namespace refuses multi-threaded callers; a forked child has one thread.) */
static int id_from_private_mount(uint64_t *id)
{
	int pipefd[2], status, err;
	uint64_t got = 0;
	pid_t pid;

	if (pipe2(pipefd, O_CLOEXEC))
		return -errno;
	pid = fork();
	if (pid < 0) {
		err = -errno;
		close(pipefd[0]);
		close(pipefd[1]);
		return err;
	}
	if (pid == 0) {
		close(pipefd[0]);
		if (unshare(CLONE_NEWNS) ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
		    mount("tracefs", TRACEFS_DIR, "tracefs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
			  NULL))
			_exit(1);
		err = read_id(TRACEFS_DIR, &got);
		_exit(err || write(pipefd[1], &got, sizeof(got)) != sizeof(got) ? 2 : 0);
	}
	close(pipefd[1]);
	err = read(pipefd[0], &got, sizeof(got)) == sizeof(got) ? 0 : -ENOENT;
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!err)
		*id = got;
	return err;
}

/* libbpf would look for tracefs only where it is usually mounted: find the id ourselves. */
static int attach_tracepoint(struct exechook *h)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_TRACEPOINT,
		.size = sizeof(attr),
	};
	uint64_t id;
	int err, pfd;

	err = id_from_mounted(&id);
	if (err) {
		err = id_from_private_mount(&id);
		if (err)
			return err;
		log_debug("exec hook: tracepoint id %llu read from a private tracefs mount",
			  (unsigned long long)id);
	}
	attr.config = id;
	/* One event serves every CPU: the program hangs off the tracepoint itself. */
	pfd = syscall(__NR_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return -errno;
	h->link = bpf_program__attach_perf_event(program_of(h->skel, EXECHOOK_TRACEPOINT), pfd);
	if (!h->link) {
		err = -errno;
		close(pfd);
		return err;
	}
	return 0;
}

static int try_kind(struct exechook *h, struct wire *w, enum exechook_kind kind)
{
	struct bpf_program *prog;
	int err;

	h->skel = exec_bpf__open();
	if (!h->skel)
		return -errno;
	bpf_object__for_each_program(prog, h->skel->obj)
		bpf_program__set_autoload(prog, prog == program_of(h->skel, kind));
	err = wire_share_maps(w, h->skel->obj);
	err = err ?: exec_bpf__load(h->skel);
	if (!err && kind == EXECHOOK_TRACEPOINT) {
		err = attach_tracepoint(h);
	} else if (!err) {
		h->link = bpf_program__attach(program_of(h->skel, kind));
		err = h->link ? 0 : -errno;
	}
	if (err) {
		exec_bpf__destroy(h->skel);
		h->skel = NULL;
		return err;
	}
	h->kind = kind;
	return 0;
}

int exechook_open(struct wire *w, enum exechook_kind kind, struct exechook **out)
{
	enum exechook_kind first = kind == EXECHOOK_AUTO ? EXECHOOK_TP_BTF : kind;
	enum exechook_kind last = kind == EXECHOOK_AUTO ? EXECHOOK_TRACEPOINT : kind;
	struct exechook *h;
	int err = -ENOENT;

	if (kind == EXECHOOK_NONE) {
		log_info("exec hook: none, as asked (--exec-hook none)");
		return -ENOENT;
	}
	h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	for (enum exechook_kind k = first; k <= last; k++) {
		const char *why;

		if (!kernel_has(k, &why)) {
			log_debug("exec hook: no %s here (%s)", exechook_kind_name(k), why);
			continue;
		}
		err = try_kind(h, w, k);
		if (!err) {
			log_info("exec hook: %s/sched_process_exec", exechook_kind_name(k));
			*out = h;
			return 0;
		}
		if (err == -ENOMEM)
			break;
		log_warnx("exec hook: attaching the %s program failed: %s", exechook_kind_name(k),
			  strerror(-err));
	}
	free(h);
	return err == -ENOMEM ? err : -ENOENT;
}

void exechook_close(struct exechook *h)
{
	if (!h)
		return;
	bpf_link__destroy(h->link);
	exec_bpf__destroy(h->skel);
	free(h);
}

enum exechook_kind exechook_attached_kind(const struct exechook *h)
{
	return h ? h->kind : EXECHOOK_NONE;
}
