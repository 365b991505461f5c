#include "libwatch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "array.h"
#include "clock.h"
#include "log.h"

const char *const libwatch_default_roots[] = {
	"/",
	"/var/lib/docker/overlay2/*/diff",
	"/var/lib/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs",
	"/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs",
	"/var/lib/containers/storage/overlay/*/diff",
	"/var/lib/rancher/k3s/agent/containerd/io.containerd.snapshotter.v1.overlayfs/snapshots/*/fs",
};
const size_t libwatch_n_default_roots = ARRAY_LEN(libwatch_default_roots);

/* What a watched directory is to a pattern: which of its entries matter. */
enum node {
	NODE_WAY,     /* on a pattern's way to its layer roots: entries matching its next part */
	NODE_ROOT,    /* a layer root */
	NODE_USR,     /* its usr */
	NODE_LOCAL,   /* usr/local */
	NODE_LIBDIRS, /* lib, usr/lib: C libraries, and the multiarch directories in it */
	NODE_LIB,     /* another library directory: C libraries */
};

/* The directories under a layer root that lead to library directories, by their parents. */
static const struct {
	enum node parent;
	const char *name;
	enum node node;
} layer_dirs[] = {
	{ NODE_ROOT, "lib", NODE_LIBDIRS }, { NODE_ROOT, "lib32", NODE_LIB },
	{ NODE_ROOT, "lib64", NODE_LIB },   { NODE_ROOT, "usr", NODE_USR },
	{ NODE_USR, "lib", NODE_LIBDIRS },  { NODE_USR, "lib32", NODE_LIB },
	{ NODE_USR, "lib64", NODE_LIB },    { NODE_USR, "local", NODE_LOCAL },
	{ NODE_LOCAL, "lib", NODE_LIB },
};

/* On the way, subdirectories come and go (IN_MOVED_FROM: a moved directory's paths are wrong
 * from then on). Library directories also see files written, moved in and deleted; IN_CREATE
 * there also catches hard links, which no write announces. A directory's removal needs no
 * event of its parent: its own watch ends with IN_IGNORED. */
#define WATCH_WAY (IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM)
#define WATCH_LIB (WATCH_WAY | IN_CLOSE_WRITE | IN_DELETE)

/* What an entry may be, from its d_type or event: worth opening as a directory, as a file. */
#define MAY_DIR 1u
#define MAY_FILE 2u

struct pattern {
	char *buf;          /* the pattern, its slashes made NULs */
	const char **comps; /* into buf */
	size_t n;           /* 0: "/" */
};

/* A directory's role for one pattern; a directory can have several (the host's "/" is a
 * layer root and on the way to /var/lib/docker). */
struct role {
	enum node node;
	size_t pat, depth; /* NODE_WAY: the pattern, how many of its components are matched */
	size_t root_len;   /* the layer root is the first root_len bytes of paths; "/" on the way */
};

struct dir {
	int wd;
	uint64_t dev, ino;
	char *path; /* as the kernel names it from the agent's root: no symbolic link on it */
	struct role *roles;
	size_t n_roles;
};

struct file {
	char *path;
	uint64_t dev, ino;
	int wd;       /* of its directory: unlike an inode number, never reused meanwhile */
	bool removed; /* deleted or moved away: gone once no other path has dev+ino */
};

struct libwatch {
	int fd;
	struct pattern *pats;
	size_t n_pats;
	libwatch_found_fn found;
	libwatch_gone_fn gone;
	void *ctx;
	/* By watch descriptor, ascending: the kernel hands them out in increasing order, so a new
	 * one goes last. */
	struct dir **dirs;
	size_t n_dirs, cap_dirs;
	/* A host has a few C library files per image: a list will do. */
	struct file *files;
	size_t n_files, cap_files, n_removed;
	uint64_t max_entries, max_ns;
	/* A scan of every pattern (start, overflow) stops at these; stopped says it did. */
	bool limited, stopped;
	uint64_t stop_entries, stop_ns;
	bool watch_warned;
	/* Events read but not handled yet: libwatch_read stops after LIBWATCH_BATCH. */
	size_t buf_pos, buf_len;
	struct libwatch_stats stats;
	char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
};

int libwatch_check_pattern(const char *pattern)
{
	const char *c = pattern;

	if (c[0] != '/' || strnlen(c, PATH_MAX) == PATH_MAX)
		return -EINVAL;
	if (strcmp(c, "/") == 0)
		return 0;
	while (*c == '/') {
		size_t len = strcspn(++c, "/");

		if (len == 0 || (len == 1 && c[0] == '.') ||
		    (len == 2 && strncmp(c, "..", 2) == 0) || (len > 1 && memchr(c, '*', len)))
			return -EINVAL;
		c += len;
	}
	return 0;
}

/* text is a checked pattern. */
static int pattern_init(struct pattern *p, const char *text)
{
	char *c;

	p->buf = strdup(text);
	if (!p->buf)
		return -ENOMEM;
	if (strcmp(text, "/") == 0)
		return 0;
	for (const char *t = text; *t; t++)
		p->n += *t == '/';
	p->comps = calloc(p->n, sizeof(*p->comps));
	if (!p->comps)
		return -ENOMEM;
	c = p->buf;
	for (size_t i = 0; i < p->n; i++) {
		*c++ = '\0';
		p->comps[i] = c;
		c += strcspn(c, "/");
	}
	return 0;
}

/* dir/name, without doubling the slash of "/". */
static int join(char *buf, size_t size, const char *dir, const char *name)
{
	size_t len = strlen(dir);
	int n = snprintf(buf, size, "%s%s%s", dir, len && dir[len - 1] == '/' ? "" : "/", name);

	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

/* Debian 12's glibc has no openat2() wrapper. */
static int open_dir2(int at, const char *path, uint64_t resolve)
{
	struct open_how how = {
		.flags = O_RDONLY | O_DIRECTORY | O_CLOEXEC,
		.resolve = resolve,
	};
	int fd = syscall(SYS_openat2, at, path, &how, sizeof(how));

	return fd < 0 ? -errno : fd;
}

/* Opens the directory name in the directory path as a program whose root is the layer root
 * (the first root_len bytes of path) would: symbolic links, absolute ones and "..", stay in
 * the layer. Returns the fd or -errno. */
static int open_in_root(const char *path, size_t root_len, const char *name)
{
	char root[PATH_MAX], rel[PATH_MAX];
	int root_fd, fd, err;

	snprintf(root, sizeof(root), "%.*s", (int)root_len, path);
	err = join(rel, sizeof(rel), path + root_len, name);
	if (err)
		return err;
	root_fd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root_fd < 0)
		return -errno;
	fd = open_dir2(root_fd, rel, RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS);
	close(root_fd);
	return fd;
}

/* Opens d again for an event; -ESTALE when its path names another directory by now (d moved,
 * and its move is among the events not handled yet). */
static int open_dir_again(const struct dir *d)
{
	struct stat st;
	int fd = open_dir2(AT_FDCWD, d->path, RESOLVE_NO_SYMLINKS);

	if (fd < 0)
		return fd;
	if (fstat(fd, &st) == 0 && st.st_dev == d->dev && st.st_ino == d->ino)
		return fd;
	close(fd);
	return -ESTALE;
}

/* items (n of them, room for *cap) with room for one more: doubled when full. NULL when out of
 * memory; items is still valid then. */
static void *reserve(void *items, size_t *cap, size_t n, size_t size)
{
	size_t more = *cap ? 2 * *cap : 16;

	if (n < *cap)
		return items;
	items = realloc(items, more * size);
	if (items)
		*cap = more;
	return items;
}

/* Where wd is in w->dirs, or would go. */
static size_t dir_pos(const struct libwatch *w, int wd)
{
	size_t lo = 0, hi = w->n_dirs;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (w->dirs[mid]->wd < wd)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static struct dir *find_dir(const struct libwatch *w, int wd)
{
	size_t i = dir_pos(w, wd);

	return i < w->n_dirs && w->dirs[i]->wd == wd ? w->dirs[i] : NULL;
}

static int add_dir(struct libwatch *w, int wd, const struct stat *st, const char *path,
		   struct dir **out)
{
	void *dirs = reserve(w->dirs, &w->cap_dirs, w->n_dirs, sizeof(*w->dirs));
	struct dir *d;
	size_t i;

	if (!dirs)
		return -ENOMEM;
	w->dirs = dirs;
	i = dir_pos(w, wd);
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->path = strdup(path);
	if (!d->path) {
		free(d);
		return -ENOMEM;
	}
	d->wd = wd;
	d->dev = st->st_dev;
	d->ino = st->st_ino;
	memmove(&w->dirs[i + 1], &w->dirs[i], (w->n_dirs - i) * sizeof(*w->dirs));
	w->dirs[i] = d;
	w->stats.dirs_watched = ++w->n_dirs;
	*out = d;
	return 0;
}

static void free_dir(struct dir *d)
{
	free(d->path);
	free(d->roles);
	free(d);
}

static bool has_role(const struct dir *d, const struct role *r)
{
	for (size_t i = 0; i < d->n_roles; i++) {
		const struct role *o = &d->roles[i];

		if (o->node == r->node && o->pat == r->pat && o->depth == r->depth &&
		    o->root_len == r->root_len)
			return true;
	}
	return false;
}

static int add_role(struct dir *d, const struct role *r)
{
	void *roles = realloc(d->roles, (d->n_roles + 1) * sizeof(*d->roles));

	if (!roles)
		return -ENOMEM;
	d->roles = roles;
	d->roles[d->n_roles++] = *r;
	return 0;
}

/* The role of the directory name in a directory of role r, if it has one. */
static bool child_role(const struct libwatch *w, const struct role *r, const char *name,
		       struct role *child)
{
	*child = (struct role){ .root_len = r->root_len };
	if (r->node == NODE_WAY) {
		const struct pattern *p = &w->pats[r->pat];
		const char *comp = p->comps[r->depth];

		if (strcmp(comp, "*") != 0 && strcmp(comp, name) != 0)
			return false;
		/* Layer roles are the same whichever pattern led there. */
		if (r->depth + 1 == p->n) {
			child->node = NODE_ROOT;
		} else {
			child->node = NODE_WAY;
			child->pat = r->pat;
			child->depth = r->depth + 1;
		}
		return true;
	}
	/* x86_64-linux-gnu, aarch64-linux-musl, i386-linux-gnu */
	if (r->node == NODE_LIBDIRS && strstr(name, "-linux-")) {
		child->node = NODE_LIB;
		return true;
	}
	for (size_t i = 0; i < ARRAY_LEN(layer_dirs); i++) {
		if (layer_dirs[i].parent == r->node && strcmp(layer_dirs[i].name, name) == 0) {
			child->node = layer_dirs[i].node;
			return true;
		}
	}
	return false;
}

static bool is_lib_dir(enum node node)
{
	return node == NODE_LIBDIRS || node == NODE_LIB;
}

/* The entry for path: with st, the one for that very file, removed or not; without, the one
 * not removed. */
static struct file *find_file(const struct libwatch *w, const char *path, const struct stat *st)
{
	for (size_t i = 0; i < w->n_files; i++) {
		struct file *f = &w->files[i];

		if (strcmp(f->path, path) != 0)
			continue;
		if (st ? f->dev == st->st_dev && f->ino == st->st_ino : !f->removed)
			return f;
	}
	return NULL;
}

static void remove_file(struct libwatch *w, struct file *f)
{
	f->removed = true;
	w->n_removed++;
}

/* Calls gone() for the files removed that no other path has, once per device and inode, and
 * forgets every removed entry. */
static void sweep(struct libwatch *w)
{
	size_t kept = 0;

	if (!w->n_removed)
		return;
	for (size_t i = 0; i < w->n_files; i++) {
		const struct file *f = &w->files[i];
		bool other = false;

		if (!f->removed)
			continue;
		/* An earlier removed entry of the same file was reported, or had a live one too. */
		for (size_t j = 0; j < w->n_files && !other; j++) {
			const struct file *o = &w->files[j];

			other = j != i && o->dev == f->dev && o->ino == f->ino &&
				(j < i || !o->removed);
		}
		if (other)
			continue;
		w->stats.files_gone++;
		log_debug("libwatch: %s is gone (device %u:%u inode %llu)", f->path, major(f->dev),
			  minor(f->dev), (unsigned long long)f->ino);
		w->gone(w->ctx, f->dev, f->ino, f->path);
	}
	for (size_t i = 0; i < w->n_files; i++) {
		if (w->files[i].removed)
			free(w->files[i].path);
		else
			w->files[kept++] = w->files[i];
	}
	w->n_files = kept;
	w->n_removed = 0;
}

/* Stops following d: its watch ends (unwatch: it may still be there, moved away or no longer
 * reached by a rescan), and the files found in it are removed unless found again. */
static void forget_dir(struct libwatch *w, struct dir *d, bool unwatch)
{
	size_t i = dir_pos(w, d->wd);

	for (size_t j = 0; j < w->n_files; j++) {
		struct file *f = &w->files[j];

		if (!f->removed && f->wd == d->wd)
			remove_file(w, f);
	}
	/* Its IN_IGNORED, still to come, finds no directory. */
	if (unwatch)
		inotify_rm_watch(w->fd, d->wd);
	log_debug("libwatch: no longer watching %s", d->path);
	memmove(&w->dirs[i], &w->dirs[i + 1], (w->n_dirs - i - 1) * sizeof(*w->dirs));
	w->stats.dirs_watched = --w->n_dirs;
	free_dir(d);
}

/* The directory name in d moved: everything followed in it, under its old path, is forgotten,
 * and found again where it went if that is watched. */
static void forget_tree(struct libwatch *w, const struct dir *d, const char *name)
{
	char prefix[PATH_MAX];
	size_t len;

	if (join(prefix, sizeof(prefix), d->path, name))
		return;
	len = strlen(prefix);
	/* Downwards: a removal moves only the entries after it. */
	for (size_t i = w->n_dirs; i-- > 0;) {
		struct dir *sub = w->dirs[i];

		if (strncmp(sub->path, prefix, len) == 0 &&
		    (sub->path[len] == '\0' || sub->path[len] == '/'))
			forget_dir(w, sub, true);
	}
}

/* A C library file, complete, in d. A path known with this very file is not reported again;
 * a path known with another file is that file's removal. */
static int report_file(struct libwatch *w, const struct dir *d, size_t root_len, const char *name,
		       const struct stat *st)
{
	char path[PATH_MAX], root[PATH_MAX];
	struct libwatch_file lf;
	struct file *f;
	void *files;

	if (join(path, sizeof(path), d->path, name))
		return 0;
	f = find_file(w, path, st);
	if (f) {
		/* Found again after an overflow, or moved away and back within one read. */
		if (f->removed) {
			f->removed = false;
			w->n_removed--;
		}
		return 0;
	}
	f = find_file(w, path, NULL);
	if (f)
		remove_file(w, f);
	files = reserve(w->files, &w->cap_files, w->n_files, sizeof(*w->files));
	if (!files)
		return -ENOMEM;
	w->files = files;
	f = &w->files[w->n_files];
	*f = (struct file){
		.path = strdup(path),
		.dev = st->st_dev,
		.ino = st->st_ino,
		.wd = d->wd,
	};
	if (!f->path)
		return -ENOMEM;
	w->n_files++;
	snprintf(root, sizeof(root), "%.*s", (int)root_len, path);
	lf = (struct libwatch_file){
		.path = path,
		.root = root,
		.dev = st->st_dev,
		.ino = st->st_ino,
		.kind = libc_kind_of(name),
	};
	w->stats.files_found++;
	log_debug("libwatch: found %s %s (device %u:%u inode %llu)", libc_kind_name(lf.kind), path,
		  major(lf.dev), minor(lf.dev), (unsigned long long)lf.ino);
	w->found(w->ctx, &lf);
	return 0;
}

/* The entry name of d, a C library's name: reported if it is one. dir_fd is d open, or -1. */
static int check_file(struct libwatch *w, const struct dir *d, size_t root_len, int dir_fd,
		      const char *name)
{
	int own_fd = -1, fd, err = 0;
	struct stat st;

	if (dir_fd < 0) {
		dir_fd = own_fd = open_dir_again(d);
		if (own_fd < 0)
			return 0;
	}
	/* Not through a symbolic link: the file behind it is found under its own name. Opened
	 * only when regular: a layer can hold a device node or a FIFO of any name. */
	if (fstatat(dir_fd, name, &st, AT_SYMLINK_NOFOLLOW) || !S_ISREG(st.st_mode))
		goto cleanup;
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		goto cleanup;
	err = fstat(fd, &st) || !S_ISREG(st.st_mode) ? -ENOENT : libc_check_elf(fd);
	close(fd);
	if (err == 0)
		err = report_file(w, d, root_len, name, &st);
	else if (err == -EAGAIN)
		log_debug("libwatch: %s/%s is being written", d->path, name);
	else
		log_debug("libwatch: %s/%s: %s", d->path, name, strerror(-err));
	/* Only running out of memory stops the caller. */
	if (err != -ENOMEM)
		err = 0;
cleanup:
	if (own_fd >= 0)
		close(own_fd);
	return err;
}

static int enter_dir(struct libwatch *w, int fd, struct role role);

/* The entry name of d seen in role: a directory of a role of its own, a C library. dir_fd is
 * d open, or -1. */
static int visit(struct libwatch *w, const struct dir *d, const struct role *role, int dir_fd,
		 const char *name, unsigned int may)
{
	struct role child;
	int err = 0;

	if ((may & MAY_DIR) && child_role(w, role, name, &child)) {
		int fd = open_in_root(d->path, role->root_len, name);

		if (fd >= 0)
			err = enter_dir(w, fd, child);
		/* Dangling links, files of such a name: nothing to follow. */
		else if (fd != -ENOENT && fd != -ENOTDIR)
			log_debug("libwatch: %s/%s: %s", d->path, name, strerror(-fd));
	}
	if (!err && (may & MAY_FILE) && is_lib_dir(role->node) && libc_kind_of(name) != LIBC_NONE)
		err = check_file(w, d, role->root_len, dir_fd, name);
	return err;
}

static unsigned int may_of_type(unsigned char type)
{
	switch (type) {
	case DT_DIR:
	case DT_LNK:
		return MAY_DIR;
	case DT_REG:
		return MAY_FILE;
	case DT_UNKNOWN:
		return MAY_DIR | MAY_FILE;
	default:
		return 0;
	}
}

/* Looks at every entry of d, open at fd (closed here), in role. */
static int scan_dir(struct libwatch *w, const struct dir *d, struct role role, int fd)
{
	DIR *dp = fdopendir(fd);
	struct dirent *de;
	int err = 0;

	if (!dp) {
		err = -errno;
		close(fd);
		return err == -ENOMEM ? err : 0;
	}
	while (!err && (de = readdir(dp))) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (w->limited && (w->stats.entries >= w->stop_entries || clock_ns(CLOCK_MONOTONIC) >= w->stop_ns))
			w->stopped = true;
		if (w->stopped)
			break;
		w->stats.entries++;
		err = visit(w, d, &role, dirfd(dp), de->d_name, may_of_type(de->d_type));
	}
	closedir(dp);
	return err;
}

static void watch_failed(struct libwatch *w, const char *path, int errnum)
{
	w->stats.watch_failures++;
	if (w->watch_warned) {
		log_debug("libwatch: not watching %s: %s", path, strerror(errnum));
		return;
	}
	w->watch_warned = true;
	if (errnum == ENOSPC)
		log_warnx("libwatch: not watching %s, and maybe more: the inotify watch limit is "
			  "reached (sysctl fs.inotify.max_user_watches); C libraries appearing "
			  "there are found only once programs use them", path);
	else
		log_warnx("libwatch: not watching %s, and maybe more: %s", path, strerror(errnum));
}

/* Follows the directory open at fd (closed here) in role: watches it first, then reads it, so
 * that nothing created meanwhile is missed. A directory reached again (merged /usr: /lib is
 * /usr/lib) is the same watch, and read again only for a role it did not have. Only running
 * out of memory is an error. */
static int enter_dir(struct libwatch *w, int fd, struct role role)
{
	char proc[32], path[PATH_MAX];
	struct stat st;
	struct dir *d;
	ssize_t len;
	int wd, err = 0;

	/* The kernel's name for it, rather than the way here: that way may be a link. */
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	len = readlink(proc, path, sizeof(path) - 1);
	if (len < 0) {
		watch_failed(w, proc, errno);
		goto cleanup;
	}
	/* No links left: removed while we got here; its watch would end at once. */
	if (fstat(fd, &st) || st.st_nlink == 0)
		goto cleanup;
	path[len] = '\0';
	/* Through the fd: the very directory resolved, whatever its path names by now. */
	wd = inotify_add_watch(w->fd, proc,
			       (is_lib_dir(role.node) ? WATCH_LIB : WATCH_WAY) | IN_ONLYDIR |
				       IN_MASK_ADD);
	if (wd < 0) {
		watch_failed(w, path, errno);
		goto cleanup;
	}
	d = find_dir(w, wd);
	if (!d) {
		err = add_dir(w, wd, &st, path, &d);
		if (err) {
			inotify_rm_watch(w->fd, wd);
			goto cleanup;
		}
		log_debug("libwatch: watching %s", d->path);
	} else if (!d->n_roles && strcmp(d->path, path) != 0) {
		/* A rescan finds it moved while its events were lost; its files are found again
		 * under the new path. */
		char *moved = strdup(path);

		if (!moved) {
			err = -ENOMEM;
			goto cleanup;
		}
		free(d->path);
		d->path = moved;
	}
	if (role.node == NODE_ROOT)
		role.root_len = strlen(d->path);
	if (has_role(d, &role))
		goto cleanup;
	err = add_role(d, &role);
	if (err)
		goto cleanup;
	err = scan_dir(w, d, role, fd);
	fd = -1;
cleanup:
	if (fd >= 0)
		close(fd);
	return err;
}

/* Follows every pattern from "/", within the limits. */
static int scan_all(struct libwatch *w, const char *what)
{
	uint64_t start = clock_ns(CLOCK_MONOTONIC), entries = w->stats.entries;
	int err = 0;

	w->limited = true;
	w->stopped = false;
	w->stop_entries = entries + w->max_entries;
	w->stop_ns = start + w->max_ns;
	for (size_t i = 0; !err && !w->stopped && i < w->n_pats; i++) {
		const struct pattern *p = &w->pats[i];
		struct role role = { .node = NODE_WAY, .pat = i, .root_len = 1 };
		/* With openat2 too: a kernel without it (before 5.6) fails here. */
		int fd = open_dir2(AT_FDCWD, "/", 0);

		if (!p->n)
			role = (struct role){ .node = NODE_ROOT };
		err = fd < 0 ? fd : enter_dir(w, fd, role);
	}
	w->limited = false;
	if (w->stopped)
		log_warnx("libwatch: the %s stopped after %llu directory entries in %llu ms "
			  "(limits: %llu entries, %llu ms), with %zu directories watched and %zu C "
			  "library files found: those not reached are found only once programs use "
			  "them",
			  what, (unsigned long long)(w->stats.entries - entries),
			  (unsigned long long)((clock_ns(CLOCK_MONOTONIC) - start) / 1000000),
			  (unsigned long long)w->max_entries,
			  (unsigned long long)(w->max_ns / 1000000), w->n_dirs, w->n_files);
	return err;
}

/* Events were lost: every pattern is followed again from scratch. The watches stay (removing
 * them all would queue an IN_IGNORED each, enough to overflow again); the roles are found
 * again, and a directory no longer reached is forgotten. A file found again is no news; one
 * not found is gone, unless the scan stopped before it got there. */
static int rescan(struct libwatch *w)
{
	int err;

	w->stats.overflows++;
	log_warnx("libwatch: inotify events were lost (sysctl fs.inotify.max_queued_events): "
		  "looking at every layer root again");
	for (size_t i = 0; i < w->n_dirs; i++)
		w->dirs[i]->n_roles = 0;
	for (size_t i = 0; i < w->n_files; i++)
		if (!w->files[i].removed)
			remove_file(w, &w->files[i]);
	err = scan_all(w, "rescan");
	for (size_t i = w->n_dirs; i-- > 0;)
		if (!w->dirs[i]->n_roles)
			forget_dir(w, w->dirs[i], true);
	if (w->stopped) {
		for (size_t i = 0; i < w->n_files; i++)
			w->files[i].removed = false;
		w->n_removed = 0;
	}
	sweep(w);
	return err;
}

static int handle_event(struct libwatch *w, const struct inotify_event *ev)
{
	unsigned int may;
	struct dir *d;
	size_t n;
	int err = 0;

	if (ev->mask & IN_Q_OVERFLOW)
		return rescan(w);
	/* None: forgotten while its events were queued. */
	d = find_dir(w, ev->wd);
	if (!d)
		return 0;
	/* Removed, or its file system unmounted. */
	if (ev->mask & IN_IGNORED) {
		forget_dir(w, d, false);
		return 0;
	}
	if (!ev->len)
		return 0;
	if (ev->mask & (IN_MOVED_FROM | IN_DELETE)) {
		char path[PATH_MAX];
		struct file *f;

		if (ev->mask & IN_ISDIR) {
			if (ev->mask & IN_MOVED_FROM)
				forget_tree(w, d, ev->name);
		} else if (libc_kind_of(ev->name) != LIBC_NONE &&
			   !join(path, sizeof(path), d->path, ev->name) &&
			   (f = find_file(w, path, NULL))) {
			remove_file(w, f);
		}
		return 0;
	}
	/* What IN_CREATE and IN_MOVED_TO bring without IN_ISDIR can be a link to a directory. */
	may = ev->mask & IN_ISDIR	  ? MAY_DIR :
	      ev->mask & IN_CLOSE_WRITE ? MAY_FILE :
					  MAY_DIR | MAY_FILE;
	/* Roles added meanwhile (a link back to d) have been looked at when added. */
	n = d->n_roles;
	for (size_t i = 0; !err && i < n; i++) {
		struct role role = d->roles[i];

		err = visit(w, d, &role, -1, ev->name, may);
	}
	return err;
}

int libwatch_read(struct libwatch *w)
{
	int n = 0, err = 0;

	while (!err && n < LIBWATCH_BATCH) {
		const struct inotify_event *ev;

		if (w->buf_pos == w->buf_len) {
			ssize_t len = read(w->fd, w->buf, sizeof(w->buf));

			if (len < 0 && errno == EAGAIN) {
				/* All handled: both halves of a rename, so what was removed and not
				 * put back is gone. */
				sweep(w);
				break;
			}
			if (len <= 0) {
				err = len < 0 ? -errno : -EIO;
				break;
			}
			w->buf_pos = 0;
			w->buf_len = len;
		}
		ev = (const void *)(w->buf + w->buf_pos);
		w->buf_pos += sizeof(*ev) + ev->len;
		n++;
		err = handle_event(w, ev);
	}
	return err ? err : n;
}

int libwatch_new(const struct libwatch_opts *opts, libwatch_found_fn found, libwatch_gone_fn gone,
		 void *ctx, struct libwatch **out)
{
	struct libwatch *w;
	uint64_t start;
	int err;

	for (size_t i = 0; i < opts->n_patterns; i++) {
		if (libwatch_check_pattern(opts->patterns[i])) {
			log_warnx("libwatch: \"%s\" is not a layer root pattern: an absolute path "
				  "of names and \"*\" (any one entry)", opts->patterns[i]);
			return -EINVAL;
		}
	}
	w = calloc(1, sizeof(*w));
	if (!w)
		return -ENOMEM;
	w->fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
	w->pats = calloc(opts->n_patterns, sizeof(*w->pats));
	w->found = found;
	w->gone = gone;
	w->ctx = ctx;
	w->max_entries = opts->max_entries ? opts->max_entries : LIBWATCH_START_MAX_ENTRIES;
	w->max_ns = opts->max_ns ? opts->max_ns : LIBWATCH_START_MAX_NS;
	if (w->fd < 0) {
		err = -errno;
		log_warn("libwatch: inotify_init1");
		goto cleanup;
	}
	if (opts->n_patterns && !w->pats) {
		err = -ENOMEM;
		goto cleanup;
	}
	for (size_t i = 0; i < opts->n_patterns; i++) {
		size_t j = 0;

		while (j < i && strcmp(opts->patterns[j], opts->patterns[i]) != 0)
			j++;
		if (j < i)
			continue;
		err = pattern_init(&w->pats[w->n_pats++], opts->patterns[i]);
		if (err)
			goto cleanup;
	}
	start = clock_ns(CLOCK_MONOTONIC);
	err = scan_all(w, "start scan");
	w->stats.start_scan_ns = clock_ns(CLOCK_MONOTONIC) - start;
	w->stats.start_truncated = w->stopped;
	if (err == -ENOSYS)
		log_warnx("libwatch: no openat2 (Linux 5.6): C library files are not looked for");
	else if (err)
		log_warnx("libwatch: looking for C library files: %s", strerror(-err));
	if (err)
		goto cleanup;
	log_debug("libwatch: %llu C library files in %zu directories watched, %llu entries looked "
		  "at in %llu ms", (unsigned long long)w->stats.files_found, w->n_dirs,
		  (unsigned long long)w->stats.entries,
		  (unsigned long long)(w->stats.start_scan_ns / 1000000));
	*out = w;
	return 0;

cleanup:
	libwatch_free(w);
	return err;
}

void libwatch_free(struct libwatch *w)
{
	if (!w)
		return;
	for (size_t i = 0; i < w->n_dirs; i++)
		free_dir(w->dirs[i]);
	for (size_t i = 0; i < w->n_files; i++)
		free(w->files[i].path);
	for (size_t i = 0; w->pats && i < w->n_pats; i++) {
		free(w->pats[i].buf);
		free(w->pats[i].comps);
	}
	if (w->fd >= 0)
		close(w->fd);
	free(w->dirs);
	free(w->files);
	free(w->pats);
	free(w);
}

int libwatch_fd(const struct libwatch *w)
{
	return w->fd;
}

const struct libwatch_stats *libwatch_stats(const struct libwatch *w)
{
	return &w->stats;
}
