/* libwatch.c on fake host roots and layer stores in a temporary directory, with copies of this
 * machine's own C libraries; no root needed. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dlfcn.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <unistd.h>

#include "libwatch.h"

#define MUSL_PATH "/usr/lib/x86_64-linux-musl/libc.so"
#define GNU "usr/lib/x86_64-linux-gnu"
#define MAX_SEEN 16

struct found_rec {
	char path[PATH_MAX], root[PATH_MAX];
	uint64_t dev, ino;
	enum libc_kind kind;
};

struct gone_rec {
	char path[PATH_MAX];
	uint64_t dev, ino;
};

struct fx {
	char dir[64];
	struct libwatch *w;
	size_t n_found, n_gone;
	struct found_rec found[MAX_SEEN];
	struct gone_rec gone[MAX_SEEN];
};

static char glibc_path[PATH_MAX];

static void on_found(void *ctx, const struct libwatch_file *f)
{
	struct fx *fx = ctx;
	struct found_rec *r;

	assert_true(fx->n_found < MAX_SEEN);
	r = &fx->found[fx->n_found++];
	snprintf(r->path, sizeof(r->path), "%s", f->path);
	snprintf(r->root, sizeof(r->root), "%s", f->root);
	r->dev = f->dev;
	r->ino = f->ino;
	r->kind = f->kind;
}

static void on_gone(void *ctx, uint64_t dev, uint64_t ino, const char *path)
{
	struct fx *fx = ctx;
	struct gone_rec *r;

	assert_true(fx->n_gone < MAX_SEEN);
	r = &fx->gone[fx->n_gone++];
	snprintf(r->path, sizeof(r->path), "%s", path);
	r->dev = dev;
	r->ino = ino;
}

/* fx->dir/rel, in one of a few buffers that are reused in turn. */
static const char *at(const struct fx *fx, const char *rel)
{
	static char bufs[4][PATH_MAX];
	static unsigned int next;
	char *buf = bufs[next++ % 4];

	snprintf(buf, PATH_MAX, "%s/%s", fx->dir, rel);
	return buf;
}

static void mkdirs(const struct fx *fx, const char *rel)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", at(fx, rel));
	for (char *c = path + strlen(fx->dir) + 1; *c; c++) {
		if (*c != '/')
			continue;
		*c = '\0';
		assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
		*c = '/';
	}
	assert_true(mkdir(path, 0755) == 0 || errno == EEXIST);
}

/* Writes the first len bytes of src (all of it: len < 0) to rel. */
static void put(const struct fx *fx, const char *src, const char *rel, off_t len)
{
	int in = open(src, O_RDONLY), out = open(at(fx, rel), O_WRONLY | O_CREAT | O_TRUNC, 0755);
	struct stat st;
	ssize_t n;

	assert_true(in >= 0 && out >= 0);
	assert_int_equal(fstat(in, &st), 0);
	if (len < 0)
		len = st.st_size;
	while (len > 0 && (n = sendfile(out, in, NULL, len)) > 0)
		len -= n;
	assert_int_equal(len, 0);
	close(in);
	close(out);
}

static void put_text(const struct fx *fx, const char *rel, const char *text)
{
	FILE *f = fopen(at(fx, rel), "w");

	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static void link_to(const struct fx *fx, const char *target, const char *rel)
{
	assert_int_equal(symlink(target, at(fx, rel)), 0);
}

static const char *musl_or_glibc(void)
{
	return access(MUSL_PATH, R_OK) == 0 ? MUSL_PATH : glibc_path;
}

static struct stat stat_of(const struct fx *fx, const char *rel)
{
	struct stat st;

	assert_int_equal(stat(at(fx, rel), &st), 0);
	return st;
}

static int start_limited(struct fx *fx, const char *rel_pattern, uint64_t max_entries)
{
	const char *patterns[] = { at(fx, rel_pattern) };
	struct libwatch_opts opts = {
		.patterns = patterns,
		.n_patterns = 1,
		.max_entries = max_entries,
	};

	return libwatch_new(&opts, on_found, on_gone, fx, &fx->w);
}

static void start(struct fx *fx, const char *rel_pattern)
{
	assert_int_equal(start_limited(fx, rel_pattern, 0), 0);
	assert_false(libwatch_stats(fx->w)->start_truncated);
}

/* Waits (a bounded time) for the fd to say there is something, then handles all of it. */
static void pump(struct fx *fx)
{
	struct pollfd pfd = { .fd = libwatch_fd(fx->w), .events = POLLIN };
	int n;

	assert_int_equal(poll(&pfd, 1, 2000), 1);
	while ((n = libwatch_read(fx->w)) == LIBWATCH_BATCH)
		;
	assert_true(n >= 0);
}

/* The last report of fx->dir/rel. */
static const struct found_rec *found_at(const struct fx *fx, const char *rel)
{
	const char *path = at(fx, rel);

	for (size_t i = fx->n_found; i-- > 0;)
		if (strcmp(fx->found[i].path, path) == 0)
			return &fx->found[i];
	return NULL;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb, (void)flag, (void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct fx *fx = calloc(1, sizeof(*fx));

	assert_non_null(fx);
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/dvt-libwatch-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	*state = fx;
	return 0;
}

static int teardown(void **state)
{
	struct fx *fx = *state;
	int err;

	libwatch_free(fx->w);
	err = nftw(fx->dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(fx);
	return err;
}

/* /lib -> usr/lib: one directory, reached twice, read once; a link to a library is no file. */
static void host_root_with_merged_usr_finds_each_file_once(void **state)
{
	struct fx *fx = *state;
	const struct found_rec *r;

	mkdirs(fx, "host/" GNU);
	mkdirs(fx, "host/usr/lib/x86_64-linux-musl");
	mkdirs(fx, "host/usr/lib64");
	put(fx, glibc_path, "host/" GNU "/libc.so.6", -1);
	put(fx, glibc_path, "host/" GNU "/libresolv.so.2", -1);
	put(fx, musl_or_glibc(), "host/usr/lib/x86_64-linux-musl/libc.so", -1);
	link_to(fx, "x86_64-linux-musl/libc.so", "host/usr/lib/ld-musl-x86_64.so.1");
	link_to(fx, "usr/lib", "host/lib");
	link_to(fx, "usr/lib64", "host/lib64");
	start(fx, "host");

	assert_int_equal(fx->n_found, 3);
	r = found_at(fx, "host/" GNU "/libc.so.6");
	assert_non_null(r);
	assert_int_equal(r->kind, LIBC_GLIBC);
	assert_string_equal(r->root, at(fx, "host"));
	assert_int_equal(r->dev, stat_of(fx, "host/" GNU "/libc.so.6").st_dev);
	assert_int_equal(r->ino, stat_of(fx, "host/" GNU "/libc.so.6").st_ino);
	r = found_at(fx, "host/" GNU "/libresolv.so.2");
	assert_non_null(r);
	assert_int_equal(r->kind, LIBC_RESOLV);
	r = found_at(fx, "host/usr/lib/x86_64-linux-musl/libc.so");
	assert_non_null(r);
	assert_int_equal(r->kind, LIBC_MUSL);
	/* "/", /tmp, the test dir on the way; host, usr, usr/lib (= lib), the two multiarch
	 * directories, usr/lib64 (= lib64). */
	assert_int_equal(libwatch_stats(fx->w)->dirs_watched, 9);
	assert_int_equal(libwatch_stats(fx->w)->files_found, 3);
	assert_int_equal(fx->n_gone, 0);
}

/* Each layer is a root of its own: its absolute and "../" links resolve inside it, never to the
 * host's libc; docker's l/ short links lead nowhere new. */
static void docker_store_finds_libc_in_each_layer_and_links_stay_inside(void **state)
{
	struct fx *fx = *state;
	const struct found_rec *r;

	mkdirs(fx, "overlay2/A/diff/" GNU);
	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", -1);
	link_to(fx, "/usr/lib", "overlay2/A/diff/lib");
	mkdirs(fx, "overlay2/B/diff/lib");
	put(fx, musl_or_glibc(), "overlay2/B/diff/lib/ld-musl-x86_64.so.1", -1);
	link_to(fx, "ld-musl-x86_64.so.1", "overlay2/B/diff/lib/libc.musl-x86_64.so.1");
	mkdirs(fx, "overlay2/C/diff/usr");
	link_to(fx, "/usr/lib/x86_64-linux-gnu", "overlay2/C/diff/usr/lib64");
	link_to(fx, "../../../../../../../../../../" GNU, "overlay2/C/diff/lib32");
	mkdirs(fx, "overlay2/l");
	link_to(fx, "../A/diff", "overlay2/l/SHORTID");
	start(fx, "overlay2/*/diff");

	assert_int_equal(fx->n_found, 2);
	r = found_at(fx, "overlay2/A/diff/" GNU "/libc.so.6");
	assert_non_null(r);
	assert_string_equal(r->root, at(fx, "overlay2/A/diff"));
	r = found_at(fx, "overlay2/B/diff/lib/ld-musl-x86_64.so.1");
	assert_non_null(r);
	assert_int_equal(r->kind, LIBC_MUSL);
	assert_string_equal(r->root, at(fx, "overlay2/B/diff"));
}

/* Debian's libc.so linker script is text; a libc.so.6 half copied is still being written, and
 * reported once its writer closes it. */
static void text_and_truncated_libc_reported_only_when_complete(void **state)
{
	struct fx *fx = *state;
	struct stat st;

	assert_int_equal(stat(glibc_path, &st), 0);
	mkdirs(fx, "overlay2/A/diff/" GNU);
	put_text(fx, "overlay2/A/diff/" GNU "/libc.so",
		 "/* GNU ld script */\nGROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n");
	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", st.st_size / 2);
	start(fx, "overlay2/*/diff");
	assert_int_equal(fx->n_found, 0);

	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", -1);
	pump(fx);
	assert_int_equal(fx->n_found, 1);
	assert_non_null(found_at(fx, "overlay2/A/diff/" GNU "/libc.so.6"));
}

/* An ELF shared object of another machine, as the i386 libc in lib32 and i386-linux-gnu. */
static void other_machine_libc_not_reported(void **state)
{
	struct fx *fx = *state;
	const uint16_t machine = EM_386;
	int fd;

	mkdirs(fx, "overlay2/A/diff/usr/lib32");
	put(fx, glibc_path, "overlay2/A/diff/usr/lib32/libc.so.6", -1);
	fd = open(at(fx, "overlay2/A/diff/usr/lib32/libc.so.6"), O_WRONLY);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, &machine, sizeof(machine), offsetof(Elf64_Ehdr, e_machine)),
			 sizeof(machine));
	close(fd);
	start(fx, "overlay2/*/diff");
	assert_int_equal(fx->n_found, 0);
}

/* A new image layer: its directories appear faster than events are read, then libc is copied
 * in. */
static void layer_created_after_start_found_after_read(void **state)
{
	struct fx *fx = *state;
	const struct found_rec *r;

	mkdirs(fx, "overlay2");
	start(fx, "overlay2/*/diff");
	assert_int_equal(libwatch_stats(fx->w)->dirs_watched, 4);

	mkdirs(fx, "overlay2/N/diff/" GNU);
	put(fx, glibc_path, "overlay2/N/diff/" GNU "/libc.so.6", -1);
	pump(fx);
	assert_int_equal(fx->n_found, 1);
	r = found_at(fx, "overlay2/N/diff/" GNU "/libc.so.6");
	assert_non_null(r);
	assert_string_equal(r->root, at(fx, "overlay2/N/diff"));
	assert_int_equal(r->ino, stat_of(fx, "overlay2/N/diff/" GNU "/libc.so.6").st_ino);
}

/* containerd prepares a snapshot as new-NNN and renames it before unpacking into it. */
static void layer_renamed_before_unpack_found_at_its_new_path(void **state)
{
	struct fx *fx = *state;
	const struct found_rec *r;

	mkdirs(fx, "snapshots/new-1/fs");
	start(fx, "snapshots/*/fs");
	assert_int_equal(rename(at(fx, "snapshots/new-1"), at(fx, "snapshots/7")), 0);
	pump(fx);
	mkdirs(fx, "snapshots/7/fs/lib");
	put(fx, musl_or_glibc(), "snapshots/7/fs/lib/ld-musl-x86_64.so.1", -1);
	pump(fx);
	assert_int_equal(fx->n_found, 1);
	r = found_at(fx, "snapshots/7/fs/lib/ld-musl-x86_64.so.1");
	assert_non_null(r);
	assert_string_equal(r->root, at(fx, "snapshots/7/fs"));
}

/* docker installed after the agent started: /var/lib/docker does not exist yet. */
static void store_whose_parent_is_missing_followed_once_created(void **state)
{
	struct fx *fx = *state;

	start(fx, "var/lib/docker/overlay2/*/diff");
	assert_int_equal(libwatch_stats(fx->w)->dirs_watched, 3);
	mkdirs(fx, "var/lib/docker/overlay2/L/diff/lib/x86_64-linux-gnu");
	put(fx, glibc_path, "var/lib/docker/overlay2/L/diff/lib/x86_64-linux-gnu/libc.so.6", -1);
	pump(fx);
	assert_int_equal(fx->n_found, 1);
	assert_non_null(
		found_at(fx, "var/lib/docker/overlay2/L/diff/lib/x86_64-linux-gnu/libc.so.6"));
}

/* dpkg writes libc.so.6.dpkg-new and renames it over libc.so.6: the new file is found (under
 * both names), the old one is gone, the new one never is. */
static void rename_over_reports_new_found_and_old_gone(void **state)
{
	struct fx *fx = *state;
	const struct found_rec *r;
	uint64_t old_ino, new_ino;

	mkdirs(fx, "root/" GNU);
	put(fx, glibc_path, "root/" GNU "/libc.so.6", -1);
	start(fx, "root");
	old_ino = stat_of(fx, "root/" GNU "/libc.so.6").st_ino;
	put(fx, glibc_path, "root/" GNU "/libc.so.6.dpkg-new", -1);
	pump(fx);
	assert_non_null(found_at(fx, "root/" GNU "/libc.so.6.dpkg-new"));
	assert_int_equal(rename(at(fx, "root/" GNU "/libc.so.6.dpkg-new"),
				at(fx, "root/" GNU "/libc.so.6")),
			 0);
	new_ino = stat_of(fx, "root/" GNU "/libc.so.6").st_ino;
	pump(fx);

	r = found_at(fx, "root/" GNU "/libc.so.6");
	assert_non_null(r);
	assert_int_equal(r->ino, new_ino);
	assert_true(r > &fx->found[0]);
	assert_int_equal(fx->n_gone, 1);
	assert_int_equal(fx->gone[0].ino, old_ino);
	assert_string_equal(fx->gone[0].path, at(fx, "root/" GNU "/libc.so.6"));
}

/* docker rmi: the layer goes with rm -rf; the other layer's libc stays. */
static void deleting_a_layer_reports_its_libc_gone(void **state)
{
	struct fx *fx = *state;
	struct stat gone;
	uint64_t dirs;

	mkdirs(fx, "overlay2/A/diff/" GNU);
	mkdirs(fx, "overlay2/B/diff/" GNU);
	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", -1);
	put(fx, glibc_path, "overlay2/B/diff/" GNU "/libc.so.6", -1);
	start(fx, "overlay2/*/diff");
	assert_int_equal(fx->n_found, 2);
	gone = stat_of(fx, "overlay2/A/diff/" GNU "/libc.so.6");
	dirs = libwatch_stats(fx->w)->dirs_watched;

	assert_int_equal(nftw(at(fx, "overlay2/A"), rm_entry, 16, FTW_DEPTH | FTW_PHYS), 0);
	pump(fx);
	assert_int_equal(fx->n_gone, 1);
	assert_int_equal(fx->gone[0].dev, gone.st_dev);
	assert_int_equal(fx->gone[0].ino, gone.st_ino);
	assert_string_equal(fx->gone[0].path, at(fx, "overlay2/A/diff/" GNU "/libc.so.6"));
	/* A, diff, usr, usr/lib, x86_64-linux-gnu */
	assert_int_equal(libwatch_stats(fx->w)->dirs_watched, dirs - 5);
	assert_int_equal(libwatch_stats(fx->w)->files_gone, 1);
}

/* A hard link is created with no write; the file is gone with its last path only. */
static void hard_link_found_and_gone_with_its_last_path(void **state)
{
	struct fx *fx = *state;
	const struct found_rec *r;

	mkdirs(fx, "overlay2/A/diff/" GNU);
	mkdirs(fx, "overlay2/B/diff/" GNU);
	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", -1);
	start(fx, "overlay2/*/diff");
	assert_int_equal(link(at(fx, "overlay2/A/diff/" GNU "/libc.so.6"),
			      at(fx, "overlay2/B/diff/" GNU "/libc.so.6")),
			 0);
	pump(fx);
	assert_int_equal(fx->n_found, 2);
	r = found_at(fx, "overlay2/B/diff/" GNU "/libc.so.6");
	assert_non_null(r);
	assert_int_equal(r->ino, fx->found[0].ino);

	assert_int_equal(unlink(at(fx, "overlay2/A/diff/" GNU "/libc.so.6")), 0);
	pump(fx);
	assert_int_equal(fx->n_gone, 0);
	assert_int_equal(unlink(at(fx, "overlay2/B/diff/" GNU "/libc.so.6")), 0);
	pump(fx);
	assert_int_equal(fx->n_gone, 1);
	assert_int_equal(fx->gone[0].ino, fx->found[0].ino);
	assert_string_equal(fx->gone[0].path, at(fx, "overlay2/B/diff/" GNU "/libc.so.6"));
}

/* More events than the queue holds: what happened meanwhile is found by looking again. */
static void queue_overflow_rescans_and_keeps_what_is_there(void **state)
{
	struct fx *fx = *state;
	unsigned long max_queued = 0;
	uint64_t gone_ino, dirs;
	FILE *f = fopen("/proc/sys/fs/inotify/max_queued_events", "r");

	assert_non_null(f);
	assert_int_equal(fscanf(f, "%lu", &max_queued), 1);
	fclose(f);
	if (max_queued > 100000)
		skip();
	mkdirs(fx, "overlay2/A/diff/" GNU);
	mkdirs(fx, "overlay2/B/diff/" GNU);
	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", -1);
	put(fx, glibc_path, "overlay2/B/diff/" GNU "/libc.so.6", -1);
	start(fx, "overlay2/*/diff");
	gone_ino = stat_of(fx, "overlay2/B/diff/" GNU "/libc.so.6").st_ino;
	dirs = libwatch_stats(fx->w)->dirs_watched;

	/* Two events each (IN_CREATE, IN_CLOSE_WRITE). */
	for (unsigned long i = 0; i < max_queued / 2 + 64; i++) {
		char name[64];

		snprintf(name, sizeof(name), "overlay2/A/diff/" GNU "/f%lu", i);
		put_text(fx, name, "");
	}
	assert_int_equal(unlink(at(fx, "overlay2/B/diff/" GNU "/libc.so.6")), 0);
	mkdirs(fx, "overlay2/C/diff/" GNU);
	put(fx, glibc_path, "overlay2/C/diff/" GNU "/libc.so.6", -1);
	pump(fx);

	assert_int_equal(libwatch_stats(fx->w)->overflows, 1);
	assert_int_equal(fx->n_found, 3);
	assert_non_null(found_at(fx, "overlay2/C/diff/" GNU "/libc.so.6"));
	assert_int_equal(fx->n_gone, 1);
	assert_int_equal(fx->gone[0].ino, gone_ino);
	/* and C, C/diff, usr, usr/lib, x86_64-linux-gnu */
	assert_int_equal(libwatch_stats(fx->w)->dirs_watched, dirs + 5);
}

static void bad_patterns_rejected(void **state)
{
	const char *bad[] = { "",	"relative/lib", "/var//lib", "/var/lib/",  "/var/./lib",
			      "/var/../lib", "/var/lib*", "/a/*b/c",   "/a/**/c" };
	struct fx *fx = *state;
	struct libwatch_opts opts = { .patterns = bad, .n_patterns = 1 };

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(libwatch_check_pattern(bad[i]), -EINVAL);
	for (size_t i = 0; i < libwatch_n_default_roots; i++)
		assert_int_equal(libwatch_check_pattern(libwatch_default_roots[i]), 0);
	assert_int_equal(libwatch_check_pattern("/srv/images/*/rootfs"), 0);
	assert_int_equal(libwatch_new(&opts, on_found, on_gone, fx, &fx->w), -EINVAL);
	assert_null(fx->w);
}

/* The start scan's entry bound: it stops there, says so, and keeps what it watched. */
static void start_scan_entry_bound_truncates(void **state)
{
	struct fx *fx = *state;
	const struct libwatch_stats *st;

	mkdirs(fx, "overlay2/A/diff/" GNU);
	put(fx, glibc_path, "overlay2/A/diff/" GNU "/libc.so.6", -1);
	assert_int_equal(start_limited(fx, "overlay2/*/diff", 3), 0);
	st = libwatch_stats(fx->w);
	assert_true(st->start_truncated);
	assert_int_equal(st->entries, 3);
	assert_true(st->dirs_watched >= 1);
	assert_int_equal(fx->n_found, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(name) cmocka_unit_test_setup_teardown(name, setup, teardown)
		T(host_root_with_merged_usr_finds_each_file_once),
		T(docker_store_finds_libc_in_each_layer_and_links_stay_inside),
		T(text_and_truncated_libc_reported_only_when_complete),
		T(other_machine_libc_not_reported),
		T(layer_created_after_start_found_after_read),
		T(layer_renamed_before_unpack_found_at_its_new_path),
		T(store_whose_parent_is_missing_followed_once_created),
		T(rename_over_reports_new_found_and_old_gone),
		T(deleting_a_layer_reports_its_libc_gone),
		T(hard_link_found_and_gone_with_its_last_path),
		T(queue_overflow_rescans_and_keeps_what_is_there),
		T(bad_patterns_rejected),
		T(start_scan_entry_bound_truncates),
#undef T
	};
	Dl_info info;

	if (!dladdr(dlsym(RTLD_DEFAULT, "getaddrinfo"), &info))
		return 1;
	snprintf(glibc_path, sizeof(glibc_path), "%s", info.dli_fname);
	return cmocka_run_group_tests_name("libwatch", tests, NULL, NULL);
}
