#include "sockscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hash.h"
#include "proc.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif

_Static_assert(DV_COMM_LEN == PROC_COMM_LEN, "comm is copied between the two");

/* Open-addressing set of socket inode numbers (never 0). */
struct inode_set {
	uint64_t *slots;
	size_t cap, len;
};

struct scan {
	sockscan_fn fn;
	void *ctx;
	struct sockscan_stats *st;
	int proc_fd;
	int stop; /* fn's non-zero return */
	struct inode_set seen;
	char cgroup2[PATH_MAX]; /* cgroup v2 mount point, "" when none */
	char self_cgroups[PROC_CGROUP_FILE_LEN];
	char cgroups[PROC_CGROUP_FILE_LEN]; /* of the process being scanned */
};

/* The process being scanned; its /proc files are read on its first new socket only. */
struct holder {
	pid_t pid;
	int pidfd;
	int dirfd;
	bool cgroups_read, may_dup, owner_read;
	struct dv_owner owner;
};

static size_t inode_slot(const struct inode_set *set, uint64_t ino)
{
	size_t i = (ino * HASH_MULTIPLIER) >> 32;

	for (i &= set->cap - 1; set->slots[i] && set->slots[i] != ino; i = (i + 1) & (set->cap - 1))
		;
	return i;
}

/* Returns 1 when ino was added, 0 when it was already there, or -ENOMEM. */
static int inode_set_add(struct inode_set *set, uint64_t ino)
{
	struct inode_set bigger;
	size_t i;

	if (2 * (set->len + 1) > set->cap) {
		bigger.cap = set->cap ? 2 * set->cap : 1024;
		bigger.len = set->len;
		bigger.slots = calloc(bigger.cap, sizeof(*bigger.slots));
		if (!bigger.slots)
			return -ENOMEM;
		for (i = 0; i < set->cap; i++)
			if (set->slots[i])
				bigger.slots[inode_slot(&bigger, set->slots[i])] = set->slots[i];
		free(set->slots);
		*set = bigger;
	}
	i = inode_slot(set, ino);
	if (set->slots[i])
		return 0;
	set->slots[i] = ino;
	set->len++;
	return 1;
}

/* mountinfo escapes space, tab, newline and backslash as \ooo. */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/* The mount of the whole cgroup v2 hierarchy: /sys/fs/cgroup on pure v2 hosts,
 * /sys/fs/cgroup/unified on hybrid ones. */
static void find_cgroup2(struct scan *s)
{
	char root[PATH_MAX], mnt[PATH_MAX], *line = NULL;
	const char *sep;
	size_t size = 0;
	FILE *f;
	int fd;

	fd = openat(s->proc_fd, "self/mountinfo", O_RDONLY | O_CLOEXEC);
	f = fd < 0 ? NULL : fdopen(fd, "r");
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	while (getline(&line, &size, f) > 0) {
		/* "id parent major:minor root mount-point options [tags] - fstype source ..." */
		sep = strstr(line, " - ");
		if (!sep || strncmp(sep + 3, "cgroup2 ", 8))
			continue;
		if (sscanf(line, "%*s %*s %*s %4095s %4095s", root, mnt) != 2 || strcmp(root, "/"))
			continue;
		unescape_octal(mnt);
		snprintf(s->cgroup2, sizeof(s->cgroup2), "%s", mnt);
		break;
	}
	free(line);
	fclose(f);
}

/* bpf_get_current_cgroup_id() is the kernfs id of the cgroup v2 directory, which stat()
 * shows as its inode number. */
static uint64_t cgroup_id(const struct scan *s)
{
	char path[PATH_MAX];
	const char *cg;
	struct stat sb;
	size_t len;

	if (!s->cgroup2[0])
		return 0;
	cg = proc_cgroup_path(s->cgroups, "", &len);
	/* a cgroup outside our cgroup namespace shows as "/../..": not under our mount */
	if (!cg || memmem(cg, len, "/..", 3))
		return 0;
	if (snprintf(path, sizeof(path), "%s%.*s", s->cgroup2, (int)len, cg) >= (int)sizeof(path))
		return 0;
	return stat(path, &sb) ? 0 : sb.st_ino;
}

static bool same_cgroup(const char *a, const char *b, const char *controller)
{
	size_t alen, blen;
	const char *pa = proc_cgroup_path(a, controller, &alen);
	const char *pb = proc_cgroup_path(b, controller, &blen);

	if (!pa || !pb)
		return pa == pb;
	return alen == blen && !memcmp(pa, pb, alen);
}

/* Reads what the owner record needs from the holder's /proc directory. */
static int holder_read_owner(struct scan *s, struct holder *h)
{
	struct proc_stat pst;
	int64_t uid, gid;
	int err;

	err = proc_read_stat(h->dirfd, &pst);
	if (!err)
		err = proc_read_ids(h->dirfd, &uid, &gid);
	if (err)
		return err;
	h->owner = (struct dv_owner){
		.tgid = h->pid,
		.pid = h->pid,
		.uid = uid,
		.gid = gid,
		.cgroup_id = cgroup_id(s),
		.source = DV_OWNER_PROCFS,
	};
	memcpy(h->owner.comm, pst.comm, sizeof(h->owner.comm));
	h->owner_read = true;
	return 0;
}

/* The cookie of an IPv4/IPv6 TCP or UDP socket; an error for any other file. ino guards
 * against the fd number having been closed and reused since readlink. */
static int inet_cookie(int fd, uint64_t ino, uint64_t *cookie)
{
	socklen_t len = sizeof(int);
	int domain, protocol;
	struct stat sb;

	if (fstat(fd, &sb) || !S_ISSOCK(sb.st_mode) || sb.st_ino != ino)
		return -ESTALE;
	if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len))
		return -errno;
	if (domain != AF_INET && domain != AF_INET6)
		return -EAFNOSUPPORT;
	len = sizeof(protocol);
	if (getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len))
		return -errno;
	if (protocol != IPPROTO_TCP && protocol != IPPROTO_UDP)
		return -EPROTONOSUPPORT;
	len = sizeof(*cookie);
	return getsockopt(fd, SOL_SOCKET, SO_COOKIE, cookie, &len) ? -errno : 0;
}

/* Returns 0 to go on with the next fd, or -errno to leave this process (it exited, we may
 * not take its fds, or the scan stops). */
static int scan_fd(struct scan *s, struct holder *h, int fd_dir, const char *name)
{
	char link[64];
	uint64_t ino, cookie;
	ssize_t n;
	int fd, err;

	n = readlinkat(fd_dir, name, link, sizeof(link) - 1);
	if (n < 0)
		return 0; /* "." and "..", or an fd closed since readdir */
	link[n] = '\0';
	if (sscanf(link, "socket:[%" SCNu64 "]", &ino) != 1)
		return 0;
	err = inode_set_add(&s->seen, ino);
	if (err <= 0)
		return err;
	s->st->sockets++;

	if (!h->cgroups_read) {
		err = proc_read_file(h->dirfd, "cgroup", s->cgroups, sizeof(s->cgroups));
		if (err < 0)
			return err;
		/* pidfd_getfd() would give the socket our class: touch only those sharing ours */
		h->may_dup = same_cgroup(s->self_cgroups, s->cgroups, "net_cls") &&
			     same_cgroup(s->self_cgroups, s->cgroups, "net_prio");
		h->cgroups_read = true;
	}
	if (!h->may_dup) {
		s->st->skipped++;
		return 0;
	}

	fd = syscall(SYS_pidfd_getfd, h->pidfd, atoi(name), 0);
	if (fd < 0)
		return errno == EBADF ? 0 : -errno; /* EBADF: closed since readlink */
	err = inet_cookie(fd, ino, &cookie);
	close(fd);
	if (err)
		return 0;
	/* the pidfd_getfd() succeeded: the pid still names the process whose /proc we read */
	if (!h->owner_read) {
		err = holder_read_owner(s, h);
		if (err)
			return err;
	}
	s->st->reported++;
	s->stop = s->fn(s->ctx, cookie, &h->owner);
	return s->stop ? -ECANCELED : 0;
}

static bool process_gone(int err)
{
	return err == -ESRCH || err == -ENOENT;
}

/* Returns 0, or what stops the whole scan: fn's return, -ENOMEM, or -ENOSYS (no pidfds). */
static int scan_process(struct scan *s, pid_t pid)
{
	struct holder h = { .pid = pid, .dirfd = -1 };
	struct dirent *de;
	DIR *fds = NULL;
	int fd_dir, err;

	/* The pidfd comes before the /proc directory: while pidfd_getfd() works the process is
	 * alive, so the pid was not reused and the directory is this process's. */
	h.pidfd = syscall(SYS_pidfd_open, pid, 0);
	if (h.pidfd < 0) {
		err = -errno;
		goto cleanup;
	}
	h.dirfd = proc_open_pid(s->proc_fd, pid);
	if (h.dirfd < 0) {
		err = h.dirfd;
		goto cleanup;
	}
	fd_dir = openat(h.dirfd, "fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	fds = fd_dir < 0 ? NULL : fdopendir(fd_dir);
	if (!fds) {
		err = -errno;
		if (fd_dir >= 0)
			close(fd_dir);
		goto cleanup;
	}
	s->st->processes++;
	err = 0;
	while (!err && (de = readdir(fds)))
		err = scan_fd(s, &h, dirfd(fds), de->d_name);
cleanup:
	if (fds)
		closedir(fds);
	if (h.dirfd >= 0)
		close(h.dirfd);
	if (h.pidfd >= 0)
		close(h.pidfd);
	if (s->stop)
		return s->stop;
	if (err == -ENOMEM || err == -ENOSYS)
		return err;
	if (err && !process_gone(err))
		s->st->errors++;
	return 0;
}

int sockscan_run(const char *proc_root, sockscan_fn fn, void *ctx, struct sockscan_stats *st)
{
	struct sockscan_stats unused;
	struct dirent *de;
	struct scan *s;
	DIR *dir = NULL;
	char *end;
	long pid;
	int err = 0;

	if (!st)
		st = &unused;
	memset(st, 0, sizeof(*st));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	s->st = st;
	dir = opendir(proc_root);
	if (!dir) {
		err = -errno;
		goto cleanup;
	}
	s->proc_fd = dirfd(dir);
	if (proc_read_file(s->proc_fd, "self/cgroup", s->self_cgroups, sizeof(s->self_cgroups)) < 0)
		s->self_cgroups[0] = '\0';
	find_cgroup2(s);

	while (!err && (de = readdir(dir))) {
		pid = strtol(de->d_name, &end, 10);
		if (*end || pid <= 0)
			continue;
		err = scan_process(s, pid);
	}
cleanup:
	if (dir)
		closedir(dir);
	free(s->seen.slots);
	free(s);
	return err;
}
