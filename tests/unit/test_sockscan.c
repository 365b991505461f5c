/* sockscan.c against the real /proc: our own sockets and those of children we fork. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <linux/magic.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sockscan.h"

struct report {
	uint64_t cookie;
	struct dv_owner owner;
};

struct reports {
	size_t len, cap;
	struct report *v;
};

static int collect(void *ctx, uint64_t cookie, const struct dv_owner *owner)
{
	struct reports *r = ctx;

	if (r->len == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 64;
		r->v = realloc(r->v, r->cap * sizeof(*r->v));
		assert_non_null(r->v);
	}
	r->v[r->len++] = (struct report){ .cookie = cookie, .owner = *owner };
	return 0;
}

/* How often cookie was reported; *owner is the last report's owner. */
static int times_reported(const struct reports *r, uint64_t cookie, struct dv_owner *owner)
{
	int n = 0;

	for (size_t i = 0; i < r->len; i++) {
		if (r->v[i].cookie == cookie) {
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

/* A child that opens a socket (family 0: none), sends its cookie and waits to be released. */
struct child {
	pid_t pid;
	int release;
	uint64_t cookie;
};

static struct child child_start(const char *comm, int family, int type)
{
	struct child c = { .cookie = 0 };
	int up[2], hold[2];
	char byte;

	assert_int_equal(pipe(up), 0);
	assert_int_equal(pipe(hold), 0);
	c.pid = fork();
	assert_true(c.pid >= 0);
	if (!c.pid) {
		uint64_t cookie = 0;
		int fd;

		close(hold[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL); /* a failed assertion must not leave it behind */
		prctl(PR_SET_NAME, comm);
		if (family) {
			fd = socket(family, type, 0);
			if (fd < 0)
				_exit(1);
			cookie = cookie_of(fd);
		}
		if (write(up[1], &cookie, sizeof(cookie)) != sizeof(cookie))
			_exit(1);
		while (read(hold[0], &byte, 1) > 0)
			;
		_exit(0);
	}
	close(up[1]);
	close(hold[0]);
	assert_int_equal(read(up[0], &c.cookie, sizeof(c.cookie)), sizeof(c.cookie));
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

static char own_comm[DV_COMM_LEN];

static void scan_reports_own_udp_and_tcp_sockets_with_owner(void **state)
{
	struct reports r = { 0 };
	struct sockscan_stats st;
	struct dv_owner o;
	int udp, tcp;

	(void)state;
	udp = socket(AF_INET, SOCK_DGRAM, 0);
	tcp = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(udp >= 0 && tcp >= 0);
	assert_int_equal(sockscan_run("/proc", collect, &r, &st), 0);

	assert_int_equal(times_reported(&r, cookie_of(udp), &o), 1);
	assert_owner(&o, getpid(), own_comm);
	assert_int_equal(times_reported(&r, cookie_of(tcp), &o), 1);
	assert_owner(&o, getpid(), own_comm);
	assert_int_equal(st.reported, r.len);
	close(udp);
	close(tcp);
	free(r.v);
}

static void scan_reports_child_udp6_socket_with_child_as_owner(void **state)
{
	struct child c = child_start("dv-udp6-child", AF_INET6, SOCK_DGRAM);
	struct reports r = { 0 };
	struct dv_owner o;

	(void)state;
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	assert_int_equal(times_reported(&r, c.cookie, &o), 1);
	assert_owner(&o, c.pid, "dv-udp6-child");
	child_stop(&c);
	free(r.v);
}

static void scan_ignores_unix_sockets(void **state)
{
	struct reports r = { 0 };
	struct sockscan_stats st;
	struct dv_owner o;
	int pair[2];

	(void)state;
	assert_int_equal(socketpair(AF_UNIX, SOCK_DGRAM, 0, pair), 0);
	assert_int_equal(sockscan_run("/proc", collect, &r, &st), 0);
	assert_int_equal(times_reported(&r, cookie_of(pair[0]), &o), 0);
	assert_int_equal(times_reported(&r, cookie_of(pair[1]), &o), 0);
	assert_true(st.sockets >= st.reported + 2);
	close(pair[0]);
	close(pair[1]);
	free(r.v);
}

static void scan_reports_inherited_socket_once_for_lowest_tgid(void **state)
{
	int udp = socket(AF_INET, SOCK_DGRAM, 0);
	struct child c = child_start("dv-heir", 0, 0); /* inherits udp */
	struct reports r = { 0 };
	struct dv_owner o;
	pid_t lowest = c.pid < getpid() ? c.pid : getpid();

	(void)state;
	assert_int_equal(sockscan_run("/proc", collect, &r, NULL), 0);
	assert_int_equal(times_reported(&r, cookie_of(udp), &o), 1);
	assert_int_equal(o.tgid, lowest);
	child_stop(&c);
	close(udp);
	free(r.v);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

/* A proc root holding only the child (a link to its real /proc directory) and a "self" whose
 * cgroup file is ours, or ours in another net_cls class. */
static int scan_child_via_fake_root(struct child *c, const char *self_cgroups,
				    struct reports *r, struct sockscan_stats *st)
{
	char root[] = "/tmp/dv-test-sockscan-XXXXXX", path[PATH_MAX], target[64];
	FILE *f;
	int err;

	assert_non_null(mkdtemp(root));
	snprintf(path, sizeof(path), "%s/self", root);
	assert_int_equal(mkdir(path, 0755), 0);
	snprintf(path, sizeof(path), "%s/self/mountinfo", root);
	assert_int_equal(symlink("/proc/self/mountinfo", path), 0);
	snprintf(path, sizeof(path), "%s/self/cgroup", root);
	if (self_cgroups) {
		f = fopen(path, "w");
		assert_non_null(f);
		fputs(self_cgroups, f);
		fclose(f);
	} else {
		assert_int_equal(symlink("/proc/self/cgroup", path), 0);
	}
	snprintf(path, sizeof(path), "%s/%d", root, c->pid);
	snprintf(target, sizeof(target), "/proc/%d", c->pid);
	assert_int_equal(symlink(target, path), 0);

	err = sockscan_run(root, collect, r, st);
	nftw(root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	return err;
}

static void scan_reports_socket_when_net_cls_class_is_ours(void **state)
{
	struct child c = child_start("dv-same-class", AF_INET, SOCK_DGRAM);
	struct reports r = { 0 };
	struct sockscan_stats st;
	struct dv_owner o;

	(void)state;
	assert_int_equal(scan_child_via_fake_root(&c, NULL, &r, &st), 0);
	assert_int_equal(times_reported(&r, c.cookie, &o), 1);
	assert_int_equal(st.skipped, 0);
	child_stop(&c);
	free(r.v);
}

static void scan_skips_socket_when_net_cls_class_differs(void **state)
{
	struct child c = child_start("dv-other-class", AF_INET, SOCK_DGRAM);
	struct reports r = { 0 };
	struct sockscan_stats st;
	struct dv_owner o;

	(void)state;
	/* we would be in a net_cls cgroup the child is not in */
	assert_int_equal(scan_child_via_fake_root(&c, "7:net_cls,net_prio:/vpn-exclusions\n0::/\n",
						  &r, &st),
			 0);
	assert_int_equal(times_reported(&r, c.cookie, &o), 0);
	assert_true(st.skipped >= 1);
	assert_int_equal(st.reported, 0);
	child_stop(&c);
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
	int udp = socket(AF_INET, SOCK_DGRAM, 0), calls = 0;

	(void)state;
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
	int udp = socket(AF_INET, SOCK_DGRAM, 0), failed = 0, missed = 0;
	struct dv_owner o;
	pid_t churn;
	int status;

	(void)state;
	churn = fork();
	assert_true(churn >= 0);
	if (!churn) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		/* short-lived processes holding a socket, as fast as they come */
		for (;;) {
			pid_t p = fork();

			if (!p) {
				socket(AF_INET, SOCK_DGRAM, 0);
				_exit(0);
			}
			if (p > 0)
				waitpid(p, NULL, 0);
		}
	}
	for (int i = 0; i < ROUNDS; i++) {
		struct reports r = { 0 };

		failed += sockscan_run("/proc", collect, &r, NULL) != 0;
		missed += times_reported(&r, cookie_of(udp), &o) != 1;
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
		"sockscan_run: %.2f ms for %u processes, %u sockets, %u reported, %u skipped, "
		"%u errors\n",
		ms, st.processes, st.sockets, st.reported, st.skipped, st.errors);
	assert_true(ms < 1000);
	free(r.v);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(scan_reports_own_udp_and_tcp_sockets_with_owner),
		cmocka_unit_test(scan_reports_child_udp6_socket_with_child_as_owner),
		cmocka_unit_test(scan_ignores_unix_sockets),
		cmocka_unit_test(scan_reports_inherited_socket_once_for_lowest_tgid),
		cmocka_unit_test(scan_reports_socket_when_net_cls_class_is_ours),
		cmocka_unit_test(scan_skips_socket_when_net_cls_class_differs),
		cmocka_unit_test(scan_stops_with_callback_error),
		cmocka_unit_test(scan_of_missing_proc_root_fails),
		cmocka_unit_test(scan_survives_processes_exiting_mid_scan),
		cmocka_unit_test(scan_of_whole_host_takes_under_a_second),
	};

	int pidfd = syscall(SYS_pidfd_open, getpid(), 0);

	if (pidfd < 0 && errno == ENOSYS) {
		fprintf(stderr, "test_sockscan: skipped: no pidfd_open() (Linux < 5.3, valgrind < 3.20)\n");
		return 0;
	}
	close(pidfd);
	prctl(PR_GET_NAME, own_comm);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
