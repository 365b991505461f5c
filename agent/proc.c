#include "proc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "array.h"
#include "table.h"

#define PROC_RECHECK_NS 1000000000ULL /* age after which an entry is checked against stat */
#define PROC_GONE_TTL_NS 250000000ULL /* how long "no such process" is believed */

/* In the table, least recently used first. */
struct proc_entry {
	int32_t pid; /* the key */
	bool known; /* the process was seen alive: the fields below describe it */
	int err;    /* why it is not known */
	uint64_t checked_ns;
	uint64_t cgroup_id; /* the kernel's, for spotting a move to another cgroup */
	struct proc_stat st;
	/* A main-thread comm that stat disagreed with: an owner record older than an exec or a
	 * rename keeps reporting it, and must not cost a stat read per event. */
	char other_comm[PROC_COMM_LEN];
	int64_t uid, gid;
	char *strs; /* one allocation holding exe, cmdline and cgroup */
	const char *exe, *cmdline, *cgroup;
	char container_id[PROC_CONTAINER_ID_LEN + 1];
};

struct proc_cache {
	int proc_fd;
	struct table *entries;
};

int proc_open_pid(int proc_fd, pid_t pid)
{
	char name[16];
	int fd;

	snprintf(name, sizeof(name), "%d", (int)pid);
	fd = openat(proc_fd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	return fd < 0 ? -errno : fd;
}

int proc_for_each_pid(int proc_fd, int (*fn)(void *ctx, pid_t pid), void *ctx)
{
	struct dirent *de;
	int fd, err = 0;
	DIR *dir;

	fd = openat(proc_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	dir = fdopendir(fd);
	if (!dir) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && (de = readdir(dir))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (!*end && pid > 0)
			err = fn(ctx, pid);
	}
	closedir(dir);
	return err;
}

ssize_t proc_read_file(int dirfd, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	ssize_t n;
	int fd;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	while (len < size - 1) {
		n = read(fd, buf + len, size - 1 - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			n = -errno;
			close(fd);
			return n;
		}
		if (!n)
			break;
		len += n;
	}
	close(fd);
	buf[len] = '\0';
	return len;
}

int proc_read_stat(int dirfd, struct proc_stat *st)
{
	/* 50 numbers of at most 20 digits, a state letter and a 15-byte comm */
	char buf[1200];
	const char *open, *close, *f;
	ssize_t len;
	size_t comm_len;
	int field;

	len = proc_read_file(dirfd, "stat", buf, sizeof(buf));
	if (len < 0)
		return len;
	if (!len)
		return -ESRCH; /* the process exited between open and read */
	open = strchr(buf, '(');
	close = strrchr(buf, ')');
	if (!open || !close || close < open || close[1] != ' ')
		return -EINVAL;
	comm_len = close - open - 1;
	if (comm_len > PROC_COMM_LEN - 1)
		comm_len = PROC_COMM_LEN - 1;
	memcpy(st->comm, open + 1, comm_len);
	st->comm[comm_len] = '\0';
	st->start_time = 0;
	st->arg_start = 0; /* absent when we may not ptrace the process */

	/* fields after comm start with state (3) */
	f = close + 2;
	for (field = 3; field <= 48; field++) {
		if (field == 4)
			st->ppid = strtol(f, NULL, 10);
		else if (field == 22)
			st->start_time = strtoull(f, NULL, 10);
		else if (field == 48)
			st->arg_start = strtoull(f, NULL, 10);
		f = strchr(f, ' ');
		if (!f)
			break;
		f++;
	}
	return field >= 22 ? 0 : -EINVAL;
}

static int status_id(const char *status, const char *key, int64_t *id)
{
	const char *s = strstr(status, key);
	unsigned long v;
	char *end;

	if (!s)
		return -EINVAL;
	s += strlen(key);
	errno = 0;
	v = strtoul(s, &end, 10);
	if (end == s || errno || v > UINT32_MAX)
		return -EINVAL;
	*id = v;
	return 0;
}

int proc_read_ids(int dirfd, int64_t *uid, int64_t *gid)
{
	/* Uid and Gid are lines 9 and 10; the rest of status is long and not needed */
	char buf[1024];
	ssize_t len;
	int err;

	len = proc_read_file(dirfd, "status", buf, sizeof(buf));
	if (len < 0)
		return len;
	err = status_id(buf, "\nUid:", uid);
	return err ? err : status_id(buf, "\nGid:", gid);
}

/* Whether the comma-separated list [list, end) names controller; "" names the empty list. */
static bool controller_listed(const char *list, const char *end, const char *controller)
{
	size_t len = strlen(controller);
	const char *item_end;

	if (!len)
		return list == end;
	for (; list < end; list = item_end + 1) {
		item_end = memchr(list, ',', end - list);
		if (!item_end)
			item_end = end;
		if ((size_t)(item_end - list) == len && !memcmp(list, controller, len))
			return true;
	}
	return false;
}

const char *proc_cgroup_path(const char *text, const char *controller, size_t *len)
{
	const char *line, *eol, *list, *path;

	/* "hierarchy-id:controller-list:path", the path may itself contain ':' */
	for (line = text; *line; line = *eol ? eol + 1 : eol) {
		eol = strchrnul(line, '\n');
		list = memchr(line, ':', eol - line);
		if (!list)
			continue;
		list++;
		path = memchr(list, ':', eol - list);
		if (path && controller_listed(list, path, controller)) {
			*len = eol - path - 1;
			return path + 1;
		}
	}
	return NULL;
}

static bool is_container_id(const char *s, size_t len)
{
	size_t i;

	if (len != PROC_CONTAINER_ID_LEN)
		return false;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	return true;
}

const char *proc_container_id(const char *cgroup_path, char out[PROC_CONTAINER_ID_LEN + 1])
{
	/* "" is the bare id of cgroupfs drivers: /docker/<id>, /kubepods/burstable/pod<uid>/<id> */
	static const char *const prefixes[] = { "docker-", "cri-containerd-", "crio-", "libpod-", "" };
	const char *end = cgroup_path + strlen(cgroup_path);
	const char *start;
	size_t len, plen, i;

	/* innermost component first: nested containers name the one the process runs in */
	for (; end > cgroup_path; end = start - 1) {
		start = end;
		while (start > cgroup_path && start[-1] != '/')
			start--;
		len = end - start;
		if (len > 6 && !memcmp(end - 6, ".scope", 6))
			len -= 6;
		for (i = 0; i < ARRAY_LEN(prefixes); i++) {
			plen = strlen(prefixes[i]);
			if (len > plen && !memcmp(start, prefixes[i], plen) &&
			    is_container_id(start + plen, len - plen)) {
				memcpy(out, start + plen, PROC_CONTAINER_ID_LEN);
				out[PROC_CONTAINER_ID_LEN] = '\0';
				return out;
			}
		}
		if (start == cgroup_path)
			break;
	}
	return NULL;
}

/* Any hierarchy may name the container: on hybrid hosts docker may only use the v1 ones. */
static bool cgroup_file_container_id(char *text, char out[PROC_CONTAINER_ID_LEN + 1])
{
	char *line, *path, *save;

	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		path = strchr(line, ':');
		path = path ? strchr(path + 1, ':') : NULL;
		if (path && proc_container_id(path + 1, out))
			return true;
	}
	return false;
}

/* Joins the NUL-separated arguments in buf (len bytes read into size) with spaces, bounded by
 * PROC_CMDLINE_MAX and ending in "..." when cut. Returns the string length. */
static size_t cmdline_join(char *buf, size_t len, size_t size)
{
	bool cut = len == size - 1; /* the buffer filled up: there may be more */
	size_t i;

	while (len && !buf[len - 1])
		len--;
	for (i = 0; i < len; i++)
		if (!buf[i])
			buf[i] = ' ';
	if (cut || len > PROC_CMDLINE_MAX - 1) {
		if (len > PROC_CMDLINE_MAX - 4)
			len = PROC_CMDLINE_MAX - 4;
		/* do not split a UTF-8 sequence: back up to its lead byte */
		while (len && ((unsigned char)buf[len] & 0xc0) == 0x80)
			len--;
		memcpy(buf + len, "...", 3);
		len += 3;
	}
	buf[len] = '\0';
	return len;
}

/* Copies a string of len bytes to *dst and advances it; "" (unknown) becomes NULL. */
static const char *stash(char **dst, const char *src, size_t len)
{
	char *s = *dst;

	if (!len)
		return NULL;
	memcpy(s, src, len);
	s[len] = '\0';
	*dst += len + 1;
	return s;
}

static void entry_clear(struct proc_entry *e)
{
	free(e->strs);
	e->strs = NULL;
	e->exe = e->cmdline = e->cgroup = NULL;
	e->container_id[0] = '\0';
	e->known = false;
}

/* Reads everything else about the process whose stat is st. Fields that cannot be read stay
 * unknown: kernel threads have no exe or cmdline, the process may exit half-way. */
static int entry_load(struct proc_entry *e, int dirfd, const struct proc_stat *st)
{
	/* cmdline: one byte beyond what fits tells a cut, one more for proc_read_file's NUL */
	char exe[PATH_MAX], cmdline[PROC_CMDLINE_MAX + 2], cgroups[PROC_CGROUP_FILE_LEN];
	size_t cmdline_len = 0, cgroup_len = 0;
	const char *cgroup = NULL;
	ssize_t exe_len, n;
	char *strs, *dst;

	exe_len = readlinkat(dirfd, "exe", exe, sizeof(exe));
	if (exe_len < 0 || exe_len == sizeof(exe))
		exe_len = 0;
	n = proc_read_file(dirfd, "cmdline", cmdline, sizeof(cmdline));
	if (n > 0)
		cmdline_len = cmdline_join(cmdline, n, sizeof(cmdline));
	n = proc_read_file(dirfd, "cgroup", cgroups, sizeof(cgroups));
	if (n > 0)
		cgroup = proc_cgroup_path(cgroups, "", &cgroup_len);

	strs = malloc(exe_len + cmdline_len + cgroup_len + 3);
	if (!strs)
		return -ENOMEM;
	entry_clear(e);
	e->strs = dst = strs;
	e->exe = stash(&dst, exe, exe_len);
	e->cmdline = stash(&dst, cmdline, cmdline_len);
	e->cgroup = stash(&dst, cgroup, cgroup_len);
	if (n > 0)
		cgroup_file_container_id(cgroups, e->container_id);
	if (proc_read_ids(dirfd, &e->uid, &e->gid))
		e->uid = e->gid = -1;
	e->st = *st;
	e->other_comm[0] = '\0';
	e->known = true;
	return 0;
}

static bool same_exec(const struct proc_stat *a, const struct proc_stat *b)
{
	return a->start_time == b->start_time && a->arg_start == b->arg_start &&
	       !strcmp(a->comm, b->comm);
}

/* Reads /proc/PID/stat and, when reload is set or stat shows another process or exec than
 * cached, everything else. A known process that exited keeps its last fields. */
static void entry_refresh(struct proc_cache *c, struct proc_entry *e, bool reload,
			  uint64_t now_ns)
{
	struct proc_stat st;
	int dirfd, err;

	e->checked_ns = now_ns;
	dirfd = proc_open_pid(c->proc_fd, e->pid);
	if (dirfd < 0) {
		err = dirfd;
		goto out;
	}
	err = proc_read_stat(dirfd, &st);
	if (!err && (reload || !same_exec(&e->st, &st)))
		err = entry_load(e, dirfd, &st);
	else if (!err)
		e->st.ppid = st.ppid; /* reparenting changes it */
	close(dirfd);
out:
	if (err && !e->known)
		e->err = err == -ESRCH ? -ENOENT : err;
}

enum staleness {
	FRESH,
	CHECK,  /* stat tells whether the pid was reused or the process exec'd */
	RELOAD,
};

static enum staleness entry_staleness(const struct proc_entry *e, const struct proc_info *p,
				      uint64_t now_ns)
{
	/* threads may have names of their own: only the main thread's comm is the process's */
	bool main_thread = p->tid <= 0 || p->tid == p->pid;
	uint64_t age = now_ns > e->checked_ns ? now_ns - e->checked_ns : 0;

	if (!e->known)
		return age < PROC_GONE_TTL_NS ? FRESH : RELOAD;
	if (main_thread && p->comm[0] && strncmp(p->comm, e->st.comm, PROC_COMM_LEN) &&
	    strncmp(p->comm, e->other_comm, PROC_COMM_LEN))
		return CHECK;
	if (age < PROC_RECHECK_NS)
		return FRESH;
	/* stat does not show a move to another cgroup, the kernel's id does; owner records
	 * made before a move carry the old id, hence no reload before the age check */
	if (p->cgroup_id && e->cgroup_id && p->cgroup_id != e->cgroup_id)
		return RELOAD;
	return CHECK;
}

/* The cache is full: the least recently used process makes room. */
static void evict(void *ctx, void *e)
{
	(void)ctx;
	entry_clear(e);
}

int proc_cache_fill(struct proc_cache *c, struct proc_info *p, uint64_t now_ns)
{
	enum staleness staleness = RELOAD;
	struct proc_entry *e;
	uint64_t hash;

	p->ppid = -1;
	p->exe = p->cmdline = p->cgroup = p->container_id = NULL;
	if (p->pid <= 0)
		return -EINVAL;

	hash = table_hash(c->entries, &p->pid, sizeof(p->pid));
	e = table_find(c->entries, hash, &p->pid);
	if (e) {
		table_touch(c->entries, e, now_ns);
		staleness = entry_staleness(e, p, now_ns);
	} else {
		e = table_insert(c->entries, hash, &p->pid, now_ns);
		e->cgroup_id = 0;
	}
	if (staleness != FRESH)
		entry_refresh(c, e, staleness == RELOAD, now_ns);
	if (!e->known)
		return e->err;
	if (staleness == CHECK && p->comm[0] && strncmp(p->comm, e->st.comm, PROC_COMM_LEN))
		memcpy(e->other_comm, p->comm, PROC_COMM_LEN);
	if (staleness == RELOAD || !e->cgroup_id)
		e->cgroup_id = p->cgroup_id;

	p->ppid = e->st.ppid;
	p->exe = e->exe;
	p->cmdline = e->cmdline;
	p->cgroup = e->cgroup;
	p->container_id = e->container_id[0] ? e->container_id : NULL;
	if (!p->comm[0])
		memcpy(p->comm, e->st.comm, PROC_COMM_LEN);
	if (p->uid < 0)
		p->uid = e->uid;
	if (p->gid < 0)
		p->gid = e->gid;
	return 0;
}

struct proc_cache *proc_cache_new(const char *proc_root, size_t max_entries)
{
	struct table_opts opts = {
		.max_entries = max_entries,
		.entry_size = sizeof(struct proc_entry),
		.key_size = sizeof(int32_t),
		.when_full = TABLE_EVICT,
		.on_evict = evict,
	};
	struct proc_cache *c;
	int err;

	c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->proc_fd = -1;
	c->entries = table_new(&opts);
	if (c->entries)
		c->proc_fd = open(proc_root, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->proc_fd < 0) {
		err = errno;
		proc_cache_free(c);
		errno = err;
		return NULL;
	}
	return c;
}

void proc_cache_free(struct proc_cache *c)
{
	struct proc_entry *e;

	if (!c)
		return;
	for (e = c->entries ? table_oldest(c->entries) : NULL; e; e = table_newer(c->entries, e))
		free(e->strs);
	if (c->proc_fd >= 0)
		close(c->proc_fd);
	table_free(c->entries);
	free(c);
}
