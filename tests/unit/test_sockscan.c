/* sockscan.c against the real /proc and sock_diag: our own sockets, those of children we
 * fork, sockets in other network namespaces, and the scan worker.
 *
 * The tests run in network and mount namespaces of their own (and, when not root, in a user
 * namespace of their own that maps our uid and gid to themselves): TCP connections stay on a
 * loopback nobody else uses, and /run/netns is a tmpfs only these tests see. Where the
 * kernel refuses such namespaces, the tests that need them are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/magic.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sched.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockscan.h"

static bool own_namespaces; /* enter_test_namespaces() succeeded */
static char own_comm[DV_COMM_LEN];

struct report {
	uint64_t cookie;
	struct dv_owner owner;
	pid_t tid; /* the thread the callback ran on */
};

struct reports {
	size_t len, cap;
	struct report *v;
};

/* sockscan_fn. On the worker's thread in the worker tests: they read the reports only after
 * the worker's counters (updated under its lock once a scan is done) showed the scan. */
static int collect(void *ctx, uint64_t cookie, const struct dv_owner *owner)
{
	struct reports *r = ctx;

	if (r->len == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	r->v[r->len++] = (struct report){ .cookie = cookie, .owner = *owner, .tid = gettid() };
	return 0;
}

/* How often cookie was reported; *owner is the last report's owner. */
static int times_reported(const struct reports *r, uint64_t cookie, struct dv_owner *owner)
{
	int n = 0;

	for (size_t i = 0; i < r->len; i++) {
		if (r->v[i].cookie == cookie) {
			if (owner)
				*owner = r->v[i].owner;
			n++;
		}
	}
	return n;
}

static uint64_t cookie_of(int fd)
{
	uint64_t cookie;
	socklen_t len = sizeof(cookie);

	assert_int_equal(getsockopt(fd, SOL_SOCKET, SO_COOKIE, &cookie, &len), 0);
	return cookie;
}

/* Independent of sockscan's mountinfo parsing: probe the two places cgroup2 is mounted. */
static uint64_t cgroup_dir_inode(pid_t pid)
{
	static const char *const mounts[] = { "/sys/fs/cgroup/unified", "/sys/fs/cgroup" };
	char path[PATH_MAX], text[4096], *cg;
	struct statfs sfs;
	struct stat sb;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/cgroup", pid);
	f = fopen(path, "r");
	assert_non_null(f);
	n = fread(text, 1, sizeof(text) - 1, f);
	fclose(f);
	text[n] = '\0';
	cg = strstr(text, "0::");
	assert_non_null(cg);
	cg += 3;
	cg[strcspn(cg, "\n")] = '\0';
	for (size_t i = 0; i < 2; i++) {
		if (statfs(mounts[i], &sfs) || sfs.f_type != CGROUP2_SUPER_MAGIC)
			continue;
		snprintf(path, sizeof(path), "%s%s", mounts[i], cg);
		assert_int_equal(stat(path, &sb), 0);
		return sb.st_ino;
	}
	fail_msg("no cgroup2 mount");
	return 0;
}

static void assert_owner(const struct dv_owner *o, pid_t pid, const char *comm)
{
	assert_int_equal(o->tgid, pid);
	assert_int_equal(o->pid, pid);
	assert_int_equal(o->uid, getuid());
	assert_int_equal(o->gid, getgid());
	assert_string_equal(o->comm, comm);
	assert_int_equal(o->cgroup_id, cgroup_dir_inode(pid));
	assert_int_not_equal(o->cgroup_id, 0);
	assert_int_equal(o->source, DV_OWNER_PROCFS);
}

static socklen_t loopback(int family, struct sockaddr_storage *ss)
{
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;

	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_addr = in6addr_loopback;
		return sizeof(*sin6);
	}
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*sin);
}

/* A UDP socket bound to a loopback port, or a TCP one listening there; -1 on error. */
static int bound_socket(int family, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, &ss);
	int fd = socket(family, type | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) ||
	    (type == SOCK_STREAM && listen(fd, 8))) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

/* A socket of type connected to the bound socket to. */
static int connected_to(int to, int type)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	int fd;

	assert_int_equal(getsockname(to, (struct sockaddr *)&ss, &len), 0);
	fd = socket(ss.ss_family, type | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&ss, len), 0);
	return fd;
}

static ino_t thread_netns(void)
{
	struct stat sb;

	assert_int_equal(stat("/proc/thread-self/ns/net", &sb), 0);
	return sb.st_ino;
}

/* A child that runs setup (NULL: nothing) to open its sockets, sends their cookies up and
 * waits to be released. */
#define CHILD_MAX_SOCKETS 4
struct opened {
	int n; /* -1: setup failed */
	uint64_t cookies[CHILD_MAX_SOCKETS];
};
typedef int (*child_setup)(uint64_t cookies[CHILD_MAX_SOCKETS], const void *arg);

struct child {
	pid_t pid;
	int release;
	struct opened opened;
};

static struct child child_start(const char *comm, child_setup setup, const void *arg)
{
	struct child c = { .pid = -1 };
	int up[2], hold[2];
	char byte;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(hold), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (!c.pid) {
		close(hold[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion must not leave it behind */
		prctl(PR_SET_NAME, comm);
		c.opened.n = setup ? setup(c.opened.cookies, arg) : 0;
		if (write(up[1], &c.opened, sizeof(c.opened)) != sizeof(c.opened))
			_exit(1);
		while (read(hold[0], &byte, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(hold[0]);
	assert_int_equal(read(up[0], &c.opened, sizeof(c.opened)), sizeof(c.opened));
	close(up[0]);
	c.release = hold[1];
	return c;
}

static void child_stop(struct child *c)
{
	int status;

	close(c->release);
	assert_int_equal(waitpid(c->pid, &status, 0), c->pid);
}

static void skip_without_own_namespaces(void)
{
	if (!own_namespaces)
		skip();
}

static void scan_reports_own_tcp_listeners_and_bound_udp_v4_v6_with_owner(void **state)
{
	int fds[] = {
		bound_socket(AF_INET, SOCK_STREAM),
		bound_socket(AF_INET6, SOCK_STREAM),
		bound_socket(AF_INET, SOCK_DGRAM),
		bound_socket(AF_INET6, SOCK_DGRAM),
	};
	struct reports r = { 0 };
	struct sockscan_stats st;
	struct dv_owner o;

	(void)state;
	assert_int_equal(sockscan_run("/proc", collect, &r, &st), 0);
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++) {
		assert_true(fds[i] >= 0);
		assert_int_equal(times_reported(&r, cookie_of(fds[i]), &o), 1);
		assert_owner(&o, getpid(), own_comm);
		close(fds[i]);
	}
	assert_int_equal(st.reported, r.len);
	assert_true(st.sockets >= st.reported);
	assert_true(st.namespaces >= 1);
	free(r.v);
}

static void scan_reports_both_ends_of_tcp_connections_and_connected_udp(void **state)
{
	struct reports r = { 0 };
	struct dv_owner o;
	int fds[9], n = 0;

	(void)state;
	skip_without_own_namespaces(); /* a TCP handshake is traffic: on our own loopback only */
	for (int family = AF_INET; family; family = family == AF_INET ? AF_INET6 : 0) {
		int listener = bound_socket(family, SOCK_STREAM);
		int udp = bound_socket(family, SOCK_DGRAM);

		assert_true(listener >= 0 && udp >= 0);
		fds[n++] = connected_to(listener, SOCK_STREAM);
		fds[n++] = accept4(listener, NULL, NULL, SOCK_CLOEXEC);
		fds[n++] = connected_to(udp, SOCK_DGRAM);
		close(listener);
		close(udp);
	}
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	for (int i = 0; i < n; i++) {
		assert_true(fds[i] >= 0);
		assert_int_equal(times_reported(&r, cookie_of(fds[i]), &o), 1);
		assert_owner(&o, getpid(), own_comm);
		close(fds[i]);
	}
	free(r.v);
}

static int open_udp6_and_tcp4_listener(uint64_t cookies[CHILD_MAX_SOCKETS], const void *arg)
{
	int udp = bound_socket(AF_INET6, SOCK_DGRAM), tcp = bound_socket(AF_INET, SOCK_STREAM);

	(void)arg;
	if (udp < 0 || tcp < 0)
		return -1;
	cookies[0] = cookie_of(udp);
	cookies[1] = cookie_of(tcp);
	return 2;
}

static void scan_reports_child_sockets_with_child_as_owner(void **state)
{
	struct child c = child_start("dv-sock-child", open_udp6_and_tcp4_listener, NULL);
	struct reports r = { 0 };
	struct dv_owner o;

	(void)state;
	assert_int_equal(c.opened.n, 2);
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	for (int i = 0; i < c.opened.n; i++) {
		assert_int_equal(times_reported(&r, c.opened.cookies[i], &o), 1);
		assert_owner(&o, c.pid, "dv-sock-child");
	}
	child_stop(&c);
	free(r.v);
}

static void scan_ignores_unix_sockets(void **state)
{
	struct reports r = { 0 };
	int pair[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, pair), 0);
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	assert_int_equal(times_reported(&r, cookie_of(pair[0]), NULL), 0);
	assert_int_equal(times_reported(&r, cookie_of(pair[1]), NULL), 0);
	close(pair[0]);
	close(pair[1]);
	free(r.v);
}

static void scan_reports_inherited_socket_once_for_lowest_tgid(void **state)
{
	int udp = bound_socket(AF_INET, SOCK_DGRAM);
	struct child c = child_start("dv-heir", NULL, NULL); /* inherits udp */
	struct reports r = { 0 };
	struct dv_owner o;
	pid_t lowest = c.pid < getpid() ? c.pid : getpid();

	(void)state;
	assert_true(udp >= 0);
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	assert_int_equal(times_reported(&r, cookie_of(udp), &o), 1);
	assert_int_equal(o.tgid, lowest);
	child_stop(&c);
	close(udp);
	free(r.v);
}

/* The child moves to a network namespace of its own and opens a UDP socket there. */
static int open_udp_in_new_netns(uint64_t cookies[CHILD_MAX_SOCKETS], const void *arg)
{
	struct sockaddr_in any = { .sin_family = AF_INET }; /* its loopback is down */
	int fd;

	(void)arg;
	if (unshare(CLONE_NEWNET))
		return -1;
	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&any, sizeof(any)))
		return -1;
	cookies[0] = cookie_of(fd);
	return 1;
}

static void scan_enters_other_network_namespaces_and_comes_back(void **state)
{
	struct child c;
	struct reports r = { 0 };
	struct sockscan_stats st;
	struct dv_owner o;
	ino_t before = thread_netns();

	(void)state;
	skip_without_own_namespaces();
	c = child_start("dv-netns-child", open_udp_in_new_netns, NULL);
	assert_int_equal(c.opened.n, 1);
	assert_int_equal(sockscan_run("/proc", collect, &r, &st), 0);
	assert_int_equal(thread_netns(), before);
	assert_int_equal(times_reported(&r, c.opened.cookies[0], &o), 1);
	assert_owner(&o, c.pid, "dv-netns-child");
	assert_true(st.namespaces >= 2);
	child_stop(&c);
	free(r.v);
}

/* The child opens a UDP socket in a new namespace, names it in /run/netns (as ip netns add
 * does) and goes back to ours: only the name leads to the socket's namespace. */
static int open_udp_in_named_netns(uint64_t cookies[CHILD_MAX_SOCKETS], const void *arg)
{
	const char *name = arg;
	int ours = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC), n, fd;

	if (ours < 0)
		return -1;
	n = open_udp_in_new_netns(cookies, NULL);
	fd = open(name, O_CREAT | O_WRONLY | O_CLOEXEC, 0444);
	if (n != 1 || fd < 0 || mount("/proc/self/ns/net", name, NULL, MS_BIND, NULL) ||
	    setns(ours, CLONE_NEWNET))
		return -1;
	close(fd);
	close(ours);
	return n;
}

static void scan_finds_namespace_named_in_run_netns_without_processes(void **state)
{
	char name[64];
	struct child c;
	struct reports r = { 0 };
	struct stat child_ns, ours;
	struct dv_owner o;
	char path[64];

	(void)state;
	skip_without_own_namespaces(); /* our /run is a tmpfs of our own */
	snprintf(name, sizeof(name), "/run/netns/dv-test-%d", getpid());
	c = child_start("dv-named-netns", open_udp_in_named_netns, name);
	assert_int_equal(c.opened.n, 1);
	snprintf(path, sizeof(path), "/proc/%d/ns/net", c.pid);
	assert_int_equal(stat(path, &child_ns), 0);
	assert_int_equal(stat("/proc/self/ns/net", &ours), 0);
	assert_int_equal(child_ns.st_ino, ours.st_ino); /* the child is back in ours */

	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	assert_int_equal(times_reported(&r, c.opened.cookies[0], &o), 1);
	assert_owner(&o, c.pid, "dv-named-netns");
	child_stop(&c);
	assert_int_equal(umount2(name, MNT_DETACH), 0);
	assert_int_equal(unlink(name), 0);
	free(r.v);
}

static void scan_reports_every_socket_of_a_dump_in_many_datagrams(void **state)
{
	/* 88 bytes a socket: the 500 of a family take 44 KiB, where the kernel sends at most
	 * 32 KiB a datagram */
	enum { N = 1000 };
	int *fds = calloc(N, sizeof(*fds));
	struct reports r = { 0 };
	struct rlimit nofile;
	int missed = 0;

	(void)state;
	assert_non_null(fds);
	assert_int_equal(getrlimit(RLIMIT_NOFILE, &nofile), 0);
	if (nofile.rlim_cur < N + 64) {
		nofile.rlim_cur = N + 64; /* a login's soft limit is often 1024 */
		assert_int_equal(setrlimit(RLIMIT_NOFILE, &nofile), 0);
	}
	for (int i = 0; i < N; i++) {
		fds[i] = bound_socket(i % 2 ? AF_INET6 : AF_INET, SOCK_DGRAM);
		assert_true(fds[i] >= 0);
	}
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	for (int i = 0; i < N; i++) {
		missed += times_reported(&r, cookie_of(fds[i]), NULL) != 1;
		close(fds[i]);
	}
	assert_int_equal(missed, 0);
	free(fds);
	free(r.v);
}

static int stop_at_first(void *ctx, uint64_t cookie, const struct dv_owner *owner)
{
	(void)cookie, (void)owner;
	++*(int *)ctx;
	return -ECANCELED;
}

static void scan_stops_with_callback_error(void **state)
{
	int udp = bound_socket(AF_INET, SOCK_DGRAM), calls = 0;

	(void)state;
	assert_true(udp >= 0);
	assert_int_equal(sockscan_run("/proc", stop_at_first, &calls, NULL), -ECANCELED);
	assert_int_equal(calls, 1);
	close(udp);
}

static void scan_of_missing_proc_root_fails(void **state)
{
	struct reports r = { 0 };

	(void)state;
	assert_int_equal(sockscan_run("/nonexistent/proc", collect, &r, NULL), -ENOENT);
	assert_int_equal(r.len, 0);
}

static void scan_survives_processes_exiting_mid_scan(void **state)
{
	enum { ROUNDS = 20 };
	int udp = bound_socket(AF_INET, SOCK_DGRAM), failed = 0, missed = 0;
	pid_t churn;
	int status;

	(void)state;
	assert_true(udp >= 0);
	churn = fork();
	assert_true(churn >= 0);
	if (!churn) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* short-lived processes holding a socket, as fast as they come */
		for (;;) {
			pid_t p = fork();

			if (!p) {
				bound_socket(AF_INET, SOCK_DGRAM);
				_exit(0);
			}
			if (p > 0)
				waitpid(p, NULL, 0);
		}
	}
	for (int i = 0; i < ROUNDS; i++) {
		struct reports r = { 0 };

		failed += sockscan_run("/proc", collect, &r, NULL) != 0;
		missed += times_reported(&r, cookie_of(udp), NULL) != 1;
		free(r.v);
	}
	kill(churn, SIGKILL);
	waitpid(churn, &status, 0);
	close(udp);
	assert_int_equal(failed, 0);
	assert_int_equal(missed, 0);
}

static double now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void scan_of_whole_host_takes_under_a_second(void **state)
{
	enum { ROUNDS = 10 };
	struct sockscan_stats st;
	struct reports r = { 0 };
	double start, ms;

	(void)state;
	start = now_ms();
	for (int i = 0; i < ROUNDS; i++) {
		r.len = 0;
		assert_int_equal(sockscan_run("/proc", collect, &r, &st), 0);
	}
	ms = (now_ms() - start) / ROUNDS;
	fprintf(stderr,
		"sockscan_run: %.2f ms for %u namespaces, %u sockets, %u processes, %u reported, "
		"%u errors\n",
		ms, st.namespaces, st.sockets, st.processes, st.reported, st.errors);
	assert_true(ms < 1000);
	free(r.v);
}

static int count_threads(void)
{
	DIR *d = opendir("/proc/self/task");
	int n = 0;

	assert_non_null(d);
	while (readdir(d))
		n++;
	closedir(d);
	return n - 2; /* "." and ".." */
}

/* The threads of this process once the count holds still for 20 ms (up to 2 s): a thread
 * just joined may still be listed in /proc for a moment, its task not yet released (the
 * join returns when the kernel clears its tid, before that). */
static int threads_of_ours(void)
{
	struct timespec tick = { .tv_nsec = 5 * 1000000 };
	int n = count_threads(), same = 0;

	for (int i = 0; i < 400 && same < 4; i++) {
		int now;

		nanosleep(&tick, NULL);
		now = count_threads();
		same = now == n ? same + 1 : 0;
		n = now;
	}
	return n;
}

static struct sockscan_counters counters_of(struct sockscan *s)
{
	struct sockscan_counters c;

	sockscan_counters(s, &c);
	return c;
}

/* Waits up to timeout_ms for the worker to have run scans scans; returns how many it ran. */
static uint64_t wait_for_scans(struct sockscan *s, uint64_t scans, double timeout_ms)
{
	double deadline = now_ms() + timeout_ms;
	struct timespec tick = { .tv_nsec = 10 * 1000000 };

	while (counters_of(s).scans < scans && now_ms() < deadline)
		nanosleep(&tick, NULL);
	return counters_of(s).scans;
}

static void worker_start_reports_existing_sockets_before_returning(void **state)
{
	int udp = bound_socket(AF_INET6, SOCK_DGRAM);
	struct reports r = { 0 };
	struct sockscan_counters c;
	struct sockscan *s;
	struct dv_owner o;
	size_t i;

	(void)state;
	assert_true(udp >= 0);
	assert_int_equal(sockscan_start("/proc", collect, &r, &s), 0);
	c = counters_of(s);
	assert_int_equal(c.scans, 1);
	assert_true(c.namespaces >= 1);
	assert_int_equal(c.reported, r.len);
	assert_int_equal(times_reported(&r, cookie_of(udp), &o), 1);
	assert_owner(&o, getpid(), own_comm);
	for (i = 0; i < r.len && r.v[i].tid != gettid(); i++)
		;
	assert_int_equal(i, r.len); /* every call came from the worker's thread */
	sockscan_stop(s);
	close(udp);
	free(r.v);
}

static void worker_request_rescans_and_finds_socket_opened_after_start(void **state)
{
	struct reports r = { 0 };
	struct sockscan *s;
	int udp;

	(void)state;
	assert_int_equal(sockscan_start("/proc", collect, &r, &s), 0);
	udp = bound_socket(AF_INET, SOCK_DGRAM);
	assert_true(udp >= 0);
	assert_int_equal(times_reported(&r, cookie_of(udp), NULL), 0);
	sockscan_request(s);
	assert_int_equal(wait_for_scans(s, 2, 3000), 2);
	assert_int_equal(times_reported(&r, cookie_of(udp), NULL), 1);
	sockscan_stop(s);
	close(udp);
	free(r.v);
}

static void worker_rescans_at_most_once_a_second_however_often_asked(void **state)
{
	const double interval_ms = SOCKSCAN_INTERVAL_NS / 1e6;
	struct reports r = { 0 };
	struct sockscan *s;
	double started, asked;

	(void)state;
	started = now_ms(); /* before the first scan began */
	assert_int_equal(sockscan_start("/proc", collect, &r, &s), 0);
	for (int round = 2; round <= 3; round++) {
		asked = now_ms();
		for (int i = 0; i < 100; i++)
			sockscan_request(s);
		/* not before the interval since the previous scan began is over */
		assert_int_equal(wait_for_scans(s, round, started + interval_ms * 0.9 - now_ms()),
				 round - 1);
		assert_int_equal(wait_for_scans(s, round, interval_ms * 3), round);
		started = asked > started + interval_ms ? asked : started + interval_ms;
	}
	/* the hundred requests of a round made one scan */
	assert_int_equal(wait_for_scans(s, 4, interval_ms * 1.5), 3);
	sockscan_stop(s);
	free(r.v);
}

static void worker_stop_joins_at_once_while_a_rescan_waits(void **state)
{
	int threads = threads_of_ours();
	struct reports r = { 0 };
	struct sockscan *s;
	double start;

	(void)state;
	assert_int_equal(sockscan_start("/proc", collect, &r, &s), 0);
	assert_int_equal(threads_of_ours(), threads + 1);
	sockscan_request(s); /* waits out the interval since the first scan */
	start = now_ms();
	sockscan_stop(s);
	assert_true(now_ms() - start < SOCKSCAN_INTERVAL_NS / 1e6 / 2);
	assert_int_equal(threads_of_ours(), threads);
	free(r.v);
}

static void worker_start_fails_for_missing_proc_root_and_leaves_no_thread(void **state)
{
	int threads = threads_of_ours();
	struct reports r = { 0 };
	struct sockscan *s = NULL;

	(void)state;
	assert_int_equal(sockscan_start("/nonexistent/proc", collect, &r, &s), -ENOENT);
	assert_null(s);
	assert_int_equal(threads_of_ours(), threads);
	assert_int_equal(r.len, 0);
}

static int write_file(const char *path, const char *text)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC), err = 0;

	if (fd < 0)
		return -1;
	if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		err = -1;
	close(fd);
	return err;
}

/* See the top of the file. Returns false when the kernel refuses the namespaces; exits when
 * it gave them but setting them up failed half-way. */
static bool enter_test_namespaces(void)
{
	int flags = CLONE_NEWNET | CLONE_NEWNS, fd;
	struct ifreq lo = { .ifr_name = "lo", .ifr_flags = IFF_UP };
	char uid_map[32], gid_map[32];

	snprintf(uid_map, sizeof(uid_map), "%u %u 1", getuid(), getuid());
	snprintf(gid_map, sizeof(gid_map), "%u %u 1", getgid(), getgid());
	if (geteuid())
		flags |= CLONE_NEWUSER;
	if (unshare(flags)) {
		fprintf(stderr, "test_sockscan: no namespaces of our own (%s): tests needing them "
				"are skipped\n", strerror(errno));
		return false;
	}
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (((flags & CLONE_NEWUSER) &&
	     (write_file("/proc/self/uid_map", uid_map) || write_file("/proc/self/setgroups", "deny") ||
	      write_file("/proc/self/gid_map", gid_map))) ||
	    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("dv-test-run", "/run", "tmpfs", 0, "mode=0755") || mkdir("/run/netns", 0755) ||
	    fd < 0 || ioctl(fd, SIOCSIFFLAGS, &lo)) {
		fprintf(stderr, "test_sockscan: setting up our namespaces: %s\n", strerror(errno));
		exit(1);
	}
	close(fd);
	return true;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scan_reports_own_tcp_listeners_and_bound_udp_v4_v6_with_owner),
		cmocka_unit_test(scan_reports_both_ends_of_tcp_connections_and_connected_udp),
		cmocka_unit_test(scan_reports_child_sockets_with_child_as_owner),
		cmocka_unit_test(scan_ignores_unix_sockets),
		cmocka_unit_test(scan_reports_inherited_socket_once_for_lowest_tgid),
		cmocka_unit_test(scan_enters_other_network_namespaces_and_comes_back),
		cmocka_unit_test(scan_finds_namespace_named_in_run_netns_without_processes),
		cmocka_unit_test(scan_reports_every_socket_of_a_dump_in_many_datagrams),
		cmocka_unit_test(scan_stops_with_callback_error),
		cmocka_unit_test(scan_of_missing_proc_root_fails),
		cmocka_unit_test(scan_survives_processes_exiting_mid_scan),
		cmocka_unit_test(scan_of_whole_host_takes_under_a_second),
		cmocka_unit_test(worker_start_reports_existing_sockets_before_returning),
		cmocka_unit_test(worker_request_rescans_and_finds_socket_opened_after_start),
		cmocka_unit_test(worker_rescans_at_most_once_a_second_however_often_asked),
		cmocka_unit_test(worker_stop_joins_at_once_while_a_rescan_waits),
		cmocka_unit_test(worker_start_fails_for_missing_proc_root_and_leaves_no_thread),
	};

	own_namespaces = enter_test_namespaces();
	prctl(PR_GET_NAME, own_comm);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
