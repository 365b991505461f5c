#include "sockscan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "log.h"
#include "mountinfo.h"
#include "proc.h"
#include "table.h"

_Static_assert(DV_COMM_LEN == PROC_COMM_LEN, "comm is copied between the two");

#define NETNS_DIR "/run/netns" /* where ip netns add bind-mounts the namespaces it names */
/* The kernel sizes a dump's datagrams to the reader's largest recv(), up to 32 KiB: offering
 * that much from the start keeps a dump of thousands of sockets to a few system calls. */
#define NL_BUF_MIN 32768
/* Bounds of one scan's tables, far above what hosts hold: a socket or namespace beyond them
 * is counted in errors. Pages the entries never reach cost nothing. */
#define MAX_SOCKETS (1u << 20)
#define MAX_NAMESPACES (1u << 16)

/* An inode number and what goes with it. */
struct ino_entry {
	uint64_t ino;
	uint64_t value;
};

struct scan {
	sockscan_fn fn;
	void *ctx;
	struct sockscan_stats *st;
	int proc_fd;
	/* What stops the scan: fn's non-zero return, or the -errno of the thread failing to go
	 * back to its network namespace. */
	int stop;
	int self_ns_fd; /* the calling thread's network namespace */
	dev_t nsfs_dev;
	ino_t self_ns_ino;
	/* Sockets the dumps listed: inode -> cookie. Cookies start at 1: 0 marks a socket
	 * reported already, for a lower tgid. */
	struct table *socks;
	bool socks_full; /* the bound was reached, and logged */
	struct table *netns; /* namespaces visited: inode -> unused */
	uint8_t *buf;           /* netlink receive buffer */
	size_t buf_size;
	char cgroup2[PATH_MAX]; /* cgroup v2 mount point, "" when none */
	char cgroups[PROC_CGROUP_FILE_LEN]; /* of the holder being read */
};

/* The process whose fds are being read; its other /proc files are read on its first socket
 * that the dumps know only: most fds are not TCP or UDP sockets. */
struct holder {
	pid_t pid;
	int dirfd;
	bool owner_read;
	struct dv_owner owner;
};

static struct table *ino_table_new(size_t max_entries)
{
	struct table_opts opts = {
		.max_entries = max_entries,
		.entry_size = sizeof(struct ino_entry),
		.key_size = sizeof(uint64_t),
		.when_full = TABLE_REFUSE,
		/* sized for 2^20 sockets, most scans see hundreds: one chain head per 8
		 * entries keeps the pages of heads they touch few */
		.chain_load = 8,
	};

	return table_new(&opts);
}

static struct ino_entry *ino_find(const struct table *t, uint64_t ino)
{
	return table_find(t, table_hash(t, &ino, sizeof(ino)), &ino);
}

/* Returns 1 when ino was added with value, 0 when it was there already, or -ENOSPC when the
 * table is full. */
static int ino_add(struct table *t, uint64_t ino, uint64_t value)
{
	uint64_t h = table_hash(t, &ino, sizeof(ino));
	struct ino_entry *e;

	if (table_find(t, h, &ino))
		return 0;
	e = table_insert(t, h, &ino, 0);
	if (!e)
		return -ENOSPC;
	e->value = value;
	return 1;
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

/* Reads what the owner record needs from the holder's /proc directory. */
static int holder_read_owner(struct scan *s, struct holder *h)
{
	struct proc_stat pst;
	int64_t uid, gid;
	ssize_t n;
	int err;

	err = proc_read_stat(h->dirfd, &pst);
	if (!err)
		err = proc_read_ids(h->dirfd, &uid, &gid);
	if (err)
		return err;
	n = proc_read_file(h->dirfd, "cgroup", s->cgroups, sizeof(s->cgroups));
	if (n < 0)
		return n;
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

/* Receives one datagram into s->buf, grown to fit first: recv() would cut a datagram longer
 * than the buffer and drop the rest of it. Returns its length or -errno. */
static ssize_t nl_recv(struct scan *s, int nl)
{
	size_t size;
	ssize_t n;
	uint8_t *buf;

	for (;;) {
		n = recv(nl, s->buf, s->buf_size, MSG_PEEK | MSG_TRUNC);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n <= s->buf_size)
			break;
		size = (size_t)n > NL_BUF_MIN ? (size_t)n : NL_BUF_MIN;
		buf = realloc(s->buf, size);
		if (!buf)
			return -ENOMEM;
		s->buf = buf;
		s->buf_size = size;
	}
	do
		n = recv(nl, s->buf, s->buf_size, 0);
	while (n < 0 && errno == EINTR);
	return n < 0 ? -errno : n;
}

static int add_socket(struct scan *s, const struct inet_diag_msg *d)
{
	uint64_t cookie = d->id.idiag_cookie[0] | (uint64_t)d->id.idiag_cookie[1] << 32;
	int added;

	/* time-wait and request sockets have no file, hence no holder */
	if (!d->idiag_inode)
		return 0;
	added = ino_add(s->socks, d->idiag_inode, cookie);
	if (added < 0) {
		s->st->errors++;
		if (!s->socks_full)
			log_debug("sockscan: more than %u sockets: the others are not looked for",
				  MAX_SOCKETS);
		s->socks_full = true;
		return 0;
	}
	s->st->sockets += added;
	return 0;
}

/* Dumps every socket of family and protocol in nl's namespace into s->socks. Returns 0 or
 * -errno. -ENOENT: the kernel has no sock_diag module for them, and nl is ready for the next
 * dump; after other errors the rest of this one may still be queued on nl. */
static int dump_protocol(struct scan *s, int nl, uint8_t family, uint8_t protocol)
{
	struct {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
	} msg = {
		.nlh = {
			.nlmsg_len = sizeof(msg),
			.nlmsg_type = SOCK_DIAG_BY_FAMILY,
			.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP,
		},
		.req = {
			.sdiag_family = family,
			.sdiag_protocol = protocol,
			.idiag_states = ~0u, /* listening, connected, bound: all */
		},
	};
	struct sockaddr_nl kernel = { .nl_family = AF_NETLINK };
	const struct nlmsgerr *nlerr;
	struct nlmsghdr *nlh;
	ssize_t n;
	int err;

	do
		n = sendto(nl, &msg, sizeof(msg), 0, (struct sockaddr *)&kernel, sizeof(kernel));
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	/* A dump comes in as many datagrams as it needs; NLMSG_DONE or NLMSG_ERROR ends it. */
	for (;;) {
		n = nl_recv(s, nl);
		if (n <= 0)
			return n ? n : -EPROTO;
		for (nlh = (struct nlmsghdr *)s->buf; NLMSG_OK(nlh, n); nlh = NLMSG_NEXT(nlh, n)) {
			switch (nlh->nlmsg_type) {
			case NLMSG_DONE:
				/* carries the dump's own return value */
				if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(int)) &&
				    *(const int *)NLMSG_DATA(nlh) < 0)
					return *(const int *)NLMSG_DATA(nlh);
				return 0;
			case NLMSG_ERROR:
				nlerr = NLMSG_DATA(nlh);
				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*nlerr)) || nlerr->error >= 0)
					return -EPROTO; /* no acknowledgement was asked for */
				return nlerr->error;
			case SOCK_DIAG_BY_FAMILY:
				if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(struct inet_diag_msg)))
					return -EPROTO;
				err = add_socket(s, NLMSG_DATA(nlh));
				if (err)
					return err;
				break;
			}
		}
	}
}

/* A sock_diag socket in the namespace ns_fd (own: the thread's). The thread goes back to
 * its own namespace at once: a netlink socket keeps the one it was created in. Returns the
 * fd or -errno; sets s->stop when the thread cannot go back. */
static int diag_socket_in(struct scan *s, int ns_fd, bool own)
{
	int nl, err;

	if (!own && setns(ns_fd, CLONE_NEWNET))
		return -errno;
	nl = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
	err = nl < 0 ? -errno : nl;
	if (!own && setns(s->self_ns_fd, CLONE_NEWNET)) {
		s->stop = -errno;
		log_warn("sockscan: going back to the scanning thread's network namespace");
		if (nl >= 0)
			close(nl);
		return s->stop;
	}
	return err;
}

/* Dumps the TCP and UDP sockets of the namespace ns_fd, whose inode is ino. Failures are
 * counted and logged; returns only what stops the scan: -ENOMEM or s->stop. */
static int dump_netns(struct scan *s, int ns_fd, ino_t ino)
{
	static const struct {
		uint8_t family, protocol;
		const char *name;
	} dumps[] = {
		{ AF_INET, IPPROTO_TCP, "tcp" },
		{ AF_INET, IPPROTO_UDP, "udp" },
		{ AF_INET6, IPPROTO_TCP, "tcp6" },
		{ AF_INET6, IPPROTO_UDP, "udp6" },
	};
	int nl, err = 0;

	/* Visited even when it fails: its other processes must not count it again. */
	if (ino_add(s->netns, ino, 0) < 0) {
		s->st->errors++;
		log_debug("sockscan: net:[%ju]: more than %u namespaces", (uintmax_t)ino,
			  MAX_NAMESPACES);
		return 0;
	}
	nl = diag_socket_in(s, ns_fd, ino == s->self_ns_ino);
	if (s->stop)
		return s->stop;
	if (nl < 0) {
		s->st->errors++;
		log_debug("sockscan: net:[%ju]: %s", (uintmax_t)ino, strerror(-nl));
		return 0;
	}
	for (size_t i = 0; i < ARRAY_LEN(dumps); i++) {
		err = dump_protocol(s, nl, dumps[i].family, dumps[i].protocol);
		if (err == -ENOMEM)
			break;
		if (err == -ENOENT) {
			/* this kernel has no diag module for it: the other protocols still tell */
			s->st->errors++;
			log_debug("sockscan: net:[%ju]: no sock_diag for %s", (uintmax_t)ino,
				  dumps[i].name);
			err = 0;
		} else if (err) {
			/* the rest of the broken dump may still be queued: leave the namespace */
			s->st->errors++;
			log_debug("sockscan: net:[%ju]: dumping %s: %s", (uintmax_t)ino,
				  dumps[i].name, strerror(-err));
			break;
		}
	}
	close(nl);
	if (err == -ENOMEM)
		return err;
	if (!err)
		s->st->namespaces++;
	return 0;
}

static bool new_netns(const struct scan *s, const struct stat *sb)
{
	/* a file in /run/netns that is not a mount of one is on another file system */
	return sb->st_dev == s->nsfs_dev && !ino_find(s->netns, sb->st_ino);
}

/* Dumps the namespace at path under dirfd (a process's ns/net link, or a bind mount of a
 * namespace) unless visited already. Returns what stops the scan. */
static int visit_netns(struct scan *s, int dirfd, const char *path)
{
	struct stat sb;
	int fd, err = 0;

	/* A stat first: most processes share a namespace dumped already. Failures are left to
	 * the fd table, which needs the same access: an exited process, or one we may not read. */
	if (fstatat(dirfd, path, &sb, 0) || !new_netns(s, &sb))
		return 0;
	fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	/* the pid may have been reused between stat and open */
	if (!fstat(fd, &sb) && new_netns(s, &sb))
		err = dump_netns(s, fd, sb.st_ino);
	close(fd);
	return err;
}

static int visit_process_netns(void *ctx, pid_t pid)
{
	struct scan *s = ctx;
	char path[32];

	snprintf(path, sizeof(path), "%d/ns/net", (int)pid);
	return visit_netns(s, s->proc_fd, path);
}

static int visit_named_netns(struct scan *s)
{
	struct dirent *de;
	DIR *dir;
	int err = 0;

	dir = opendir(NETNS_DIR);
	if (!dir)
		return 0; /* no namespace was ever named on this host */
	while (!err && (de = readdir(dir)))
		if (de->d_name[0] != '.')
			err = visit_netns(s, dirfd(dir), de->d_name);
	closedir(dir);
	return err;
}

/* Returns 0 to go on with the next fd, or -errno to leave this process (it exited, its
 * /proc files cannot be read, or the scan stops). */
static int scan_fd(struct scan *s, struct holder *h, int fd_dir, const char *name)
{
	static const char prefix[] = "socket:[";
	struct ino_entry *sock;
	uint64_t ino, cookie;
	char link[64], *end;
	ssize_t n;
	int err;

	n = readlinkat(fd_dir, name, link, sizeof(link) - 1);
	if (n < (ssize_t)sizeof(prefix))
		return 0; /* "." and "..", an fd closed since readdir, or not a socket */
	link[n] = '\0';
	if (memcmp(link, prefix, sizeof(prefix) - 1))
		return 0;
	ino = strtoull(link + sizeof(prefix) - 1, &end, 10);
	sock = *end == ']' ? ino_find(s->socks, ino) : NULL;
	if (!sock || !sock->value)
		return 0; /* not TCP or UDP, or reported for a lower tgid */
	if (!h->owner_read) {
		err = holder_read_owner(s, h);
		if (err)
			return err;
	}
	cookie = sock->value;
	sock->value = 0;
	s->st->reported++;
	s->stop = s->fn(s->ctx, cookie, &h->owner);
	return s->stop ? -ECANCELED : 0;
}

static bool process_gone(int err)
{
	return err == -ESRCH || err == -ENOENT;
}

/* Returns 0, or what stops the whole scan: fn's return or -ENOMEM. */
static int scan_process(void *ctx, pid_t pid)
{
	struct scan *s = ctx;
	struct holder h = { .pid = pid };
	struct dirent *de;
	DIR *fds = NULL;
	int fd_dir, err;

	/* Everything read through this directory is this process's, even if it exits and its
	 * pid is reused meanwhile: reads then fail with ESRCH. */
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
	if (s->stop)
		return s->stop;
	if (err == -ENOMEM)
		return err;
	if (err && !process_gone(err)) {
		s->st->errors++;
		log_debug("sockscan: process %d: %s", (int)pid, strerror(-err));
	}
	return 0;
}

int sockscan_run(const char *proc_root, sockscan_fn fn, void *ctx, struct sockscan_stats *st)
{
	struct sockscan_stats unused;
	struct stat sb;
	struct scan *s;
	int err;

	if (!st)
		st = &unused;
	memset(st, 0, sizeof(*st));
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->fn = fn;
	s->ctx = ctx;
	s->st = st;
	s->self_ns_fd = -1;
	s->proc_fd = -1;
	s->socks = ino_table_new(MAX_SOCKETS);
	s->netns = ino_table_new(MAX_NAMESPACES);
	if (!s->socks || !s->netns) {
		err = -ENOMEM;
		goto cleanup;
	}
	s->proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->proc_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	s->self_ns_fd = openat(s->proc_fd, "thread-self/ns/net", O_RDONLY | O_CLOEXEC);
	if (s->self_ns_fd < 0 || fstat(s->self_ns_fd, &sb)) {
		err = -errno;
		goto cleanup;
	}
	s->nsfs_dev = sb.st_dev;
	s->self_ns_ino = sb.st_ino;
	/* The whole cgroup v2 hierarchy: /sys/fs/cgroup on pure v2 hosts, /sys/fs/cgroup/unified
	 * on hybrid ones; "" when none. */
	if (mountinfo_find(s->proc_fd, "self/mountinfo", "cgroup2", s->cgroup2, sizeof(s->cgroup2)))
		s->cgroup2[0] = '\0';

	/* Sockets first, then their holders: a holder's /proc files are read only for the
	 * sockets the dumps know. */
	err = proc_for_each_pid(s->proc_fd, visit_process_netns, s);
	if (!err)
		err = visit_named_netns(s);
	if (!err)
		err = proc_for_each_pid(s->proc_fd, scan_process, s);
cleanup:
	if (s->self_ns_fd >= 0)
		close(s->self_ns_fd);
	if (s->proc_fd >= 0)
		close(s->proc_fd);
	table_free(s->socks);
	table_free(s->netns);
	free(s->buf);
	free(s);
	return err;
}

struct sockscan {
	char *proc_root;
	sockscan_fn fn;
	void *ctx;
	pthread_t thread;
	int wake_fd; /* eventfd: a request or sockscan_stop() */
	atomic_bool requested, stopping;
	pthread_mutex_t lock; /* guards counters and first_err */
	pthread_cond_t first_done;
	struct sockscan_counters counters;
	int first_err;
};

/* Sleeps until woken (a request or stop) or timeout_ns (-1: no timeout) passes. */
static void worker_sleep(struct sockscan *s, int64_t timeout_ns)
{
	struct pollfd pfd = { .fd = s->wake_fd, .events = POLLIN };
	eventfd_t wakes;
	int ms = timeout_ns < 0 ? -1 : (int)((timeout_ns + 999999) / 1000000);

	if (poll(&pfd, 1, ms) > 0)
		eventfd_read(s->wake_fd, &wakes); /* what woke us is in the flags */
}

static void worker_scan(struct sockscan *s)
{
	struct sockscan_stats st;
	int err = sockscan_run(s->proc_root, s->fn, s->ctx, &st);

	if (err)
		log_debug("sockscan: scanning %s: %s", s->proc_root, strerror(-err));
	pthread_mutex_lock(&s->lock);
	if (!s->counters.scans) {
		s->first_err = err;
		pthread_cond_signal(&s->first_done);
	}
	s->counters.scans++;
	s->counters.namespaces += st.namespaces;
	s->counters.reported += st.reported;
	s->counters.errors += st.errors + (err != 0);
	pthread_mutex_unlock(&s->lock);
}

static void *worker(void *arg)
{
	struct sockscan *s = arg;
	uint64_t started, pause;
	int64_t left;

	for (;;) {
		started = clock_ns(CLOCK_MONOTONIC);
		worker_scan(s);
		if (s->first_err)
			return NULL; /* sockscan_start() fails */
		pause = (clock_ns(CLOCK_MONOTONIC) - started) * SOCKSCAN_BUSY_FACTOR;
		if (pause < SOCKSCAN_INTERVAL_NS)
			pause = SOCKSCAN_INTERVAL_NS;
		while (!atomic_load(&s->requested) && !atomic_load(&s->stopping))
			worker_sleep(s, -1);
		while (!atomic_load(&s->stopping) &&
		       (left = (int64_t)(started + pause - clock_ns(CLOCK_MONOTONIC))) > 0)
			worker_sleep(s, left);
		if (atomic_load(&s->stopping))
			return NULL;
		/* cleared before the scan: a request made during it gets a scan of its own */
		atomic_store(&s->requested, false);
	}
}

static void sockscan_free(struct sockscan *s)
{
	if (s->wake_fd >= 0)
		close(s->wake_fd);
	pthread_mutex_destroy(&s->lock);
	pthread_cond_destroy(&s->first_done);
	free(s->proc_root);
	free(s);
}

int sockscan_start(const char *proc_root, sockscan_fn fn, void *ctx, struct sockscan **out)
{
	sigset_t all, saved;
	struct sockscan *s;
	bool running = false;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->first_done, NULL);
	s->fn = fn;
	s->ctx = ctx;
	s->wake_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (s->wake_fd < 0) {
		err = -errno;
		goto cleanup;
	}
	s->proc_root = strdup(proc_root);
	if (!s->proc_root) {
		err = -ENOMEM;
		goto cleanup;
	}
	/* The worker takes no signals: SIGINT and SIGTERM must interrupt the event thread's
	 * poll, which acts on them. It inherits this mask. */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &saved);
	err = -pthread_create(&s->thread, NULL, worker, s);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (err)
		goto cleanup;
	running = true;
	pthread_mutex_lock(&s->lock);
	while (!s->counters.scans)
		pthread_cond_wait(&s->first_done, &s->lock);
	err = s->first_err;
	pthread_mutex_unlock(&s->lock);
	if (!err) {
		*out = s;
		return 0;
	}
cleanup:
	if (running)
		pthread_join(s->thread, NULL); /* it returned after its failed scan */
	sockscan_free(s);
	return err;
}

void sockscan_request(struct sockscan *s)
{
	/* Only the first request since the last scan began costs a system call. */
	if (!atomic_exchange(&s->requested, true))
		eventfd_write(s->wake_fd, 1);
}

void sockscan_counters(struct sockscan *s, struct sockscan_counters *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->counters;
	pthread_mutex_unlock(&s->lock);
}

void sockscan_stop(struct sockscan *s)
{
	if (!s)
		return;
	atomic_store(&s->stopping, true);
	eventfd_write(s->wake_fd, 1);
	pthread_join(s->thread, NULL);
	sockscan_free(s);
}
