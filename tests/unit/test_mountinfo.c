/* mountinfo.c: parsing lines as the kernel writes them, and finding the layer file behind a
 * path on an overlay mount in layer directories a test builds. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mountinfo.h"

static void parses_fields_and_unescapes_paths(void **state)
{
	char line[] = "36 35 98:0 /mnt\\040x /a\\134b rw,noatime master:1 shared:2 - ext3 "
		      "/dev/root rw,errors=continue\n";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo_parse(line, &e), 0);
	assert_string_equal(e.root, "/mnt x");
	assert_string_equal(e.mount_point, "/a\\b");
	assert_string_equal(e.fstype, "ext3");
	assert_string_equal(e.source, "/dev/root");
	assert_string_equal(e.super_opts, "rw,errors=continue");
}

static void line_without_separator_is_rejected(void **state)
{
	char no_dash[] = "36 35 98:0 / / rw ext3 /dev/root rw\n";
	char short_line[] = "36 35 98:0 /\n";
	char no_source[] = "36 35 98:0 / / rw - ext3\n";
	struct mountinfo_entry e;

	(void)state;
	assert_int_equal(mountinfo_parse(no_dash, &e), -EINVAL);
	assert_int_equal(mountinfo_parse(short_line, &e), -EINVAL);
	assert_int_equal(mountinfo_parse(no_source, &e), -EINVAL);
}

static int count_mounts(void *ctx, const struct mountinfo_entry *e)
{
	(void)e;
	return ++*(int *)ctx >= 1000 ? 1 : 0;
}

static void own_mountinfo_has_a_root_mount(void **state)
{
	int n = 0;

	(void)state;
	assert_int_equal(mountinfo_for_each(AT_FDCWD, "/proc/self/mountinfo", count_mounts, &n),
			 0);
	assert_true(n >= 1);
	assert_int_equal(mountinfo_for_each(AT_FDCWD, "/nonexistent/mountinfo", count_mounts, &n),
			 -ENOENT);
}

/* A fake process view: layers under dir, a mountinfo file naming them. */
struct lab {
	char dir[64];
	char mountinfo[PATH_MAX];
};

static void put_file(const char *dir, const char *rel)
{
	char path[PATH_MAX], cmd[PATH_MAX + 32];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	snprintf(cmd, sizeof(cmd), "mkdir -p \"$(dirname '%s')\"", path);
	assert_int_equal(system(cmd), 0);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs(rel, f);
	fclose(f);
}

static void write_mountinfo(struct lab *lab, const char *fmt, ...)
{
	va_list ap;
	FILE *f;

	snprintf(lab->mountinfo, sizeof(lab->mountinfo), "%s/mountinfo", lab->dir);
	f = fopen(lab->mountinfo, "w");
	assert_non_null(f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
{
	struct lab *lab = calloc(1, sizeof(*lab));

	snprintf(lab->dir, sizeof(lab->dir), "/tmp/dv-mountinfo-XXXXXX");
	assert_non_null(mkdtemp(lab->dir));
	*state = lab;
	return 0;
}

static int teardown(void **state)
{
	struct lab *lab = *state;

	nftw(lab->dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(lab);
	return 0;
}

/* path, as the lab's process sees it, is the layer file lab->dir/rel. */
static void assert_layer_file(const struct lab *lab, const char *path, const char *rel)
{
	char real[PATH_MAX], want[PATH_MAX];

	assert_int_equal(mountinfo_overlay_file(AT_FDCWD, lab->mountinfo, path, real,
						sizeof(real)),
			 0);
	snprintf(want, sizeof(want), "%s/%s", lab->dir, rel);
	assert_string_equal(real, want);
}

/* path is on no overlay, or no layer has it. */
static void assert_no_layer_file(const struct lab *lab, const char *path)
{
	char real[PATH_MAX];

	assert_int_equal(mountinfo_overlay_file(AT_FDCWD, lab->mountinfo, path, real,
						sizeof(real)),
			 -ENOENT);
}

static void upper_layer_wins_then_the_top_lower_one(void **state)
{
	struct lab *lab = *state;

	put_file(lab->dir, "l1/lib/libc.so.6");
	put_file(lab->dir, "l2/lib/libc.so.6");
	put_file(lab->dir, "l2/lib/ld.so");
	put_file(lab->dir, "up/etc/hosts");
	write_mountinfo(lab,
			"1 0 0:1 / / rw - overlay overlay rw,lowerdir=%s/l1:%s/l2,upperdir=%s/up,"
			"workdir=%s/work\n"
			"2 1 0:2 / /proc rw - proc proc rw\n",
			lab->dir, lab->dir, lab->dir, lab->dir);
	assert_layer_file(lab, "/lib/libc.so.6", "l1/lib/libc.so.6");
	assert_layer_file(lab, "/lib/ld.so", "l2/lib/ld.so");
	assert_layer_file(lab, "/etc/hosts", "up/etc/hosts");
	assert_no_layer_file(lab, "/lib/none");
}

/* lowerdir+= (Linux 6.8), "\:" in a name, commas escaped as \054, data-only layers after "::" */
static void layer_lists_in_every_notation(void **state)
{
	struct lab *lab = *state;

	put_file(lab->dir, "a:b/lib/libc.so.6");
	put_file(lab->dir, "c,d/lib/libm.so.6");
	put_file(lab->dir, "data/lib/libz.so");
	write_mountinfo(lab,
			"1 0 0:1 / / rw - overlay overlay rw,lowerdir=%s/a\\134:b:%s/c\\054d::%s/data\n",
			lab->dir, lab->dir, lab->dir);
	assert_layer_file(lab, "/lib/libc.so.6", "a:b/lib/libc.so.6");
	assert_layer_file(lab, "/lib/libm.so.6", "c,d/lib/libm.so.6");
	assert_no_layer_file(lab, "/lib/libz.so");

	write_mountinfo(lab, "1 0 0:1 / / rw - overlay overlay rw,lowerdir+=%s/c\\054d,"
			     "lowerdir+=%s/a:b\n",
			lab->dir, lab->dir);
	assert_layer_file(lab, "/lib/libc.so.6", "a:b/lib/libc.so.6");
}

/* The path's own mount counts: the longest mount point that holds it, the last one listed
 * when two are stacked, and a bind-mounted subdirectory (root field) of an overlay. */
static void the_mount_holding_the_path_is_used(void **state)
{
	struct lab *lab = *state;

	put_file(lab->dir, "low/usr/lib/libc.so.6");
	put_file(lab->dir, "low/opt/app/lib/libc.so.6");
	write_mountinfo(lab,
			"1 0 0:1 / / rw - overlay overlay rw,lowerdir=%s/low\n"
			"2 1 254:0 / /usr rw - ext4 /dev/vda rw\n"
			"3 1 0:1 /opt/app /srv rw - overlay overlay rw,lowerdir=%s/low\n",
			lab->dir, lab->dir);
	/* /usr is ext4 here, not the overlay */
	assert_no_layer_file(lab, "/usr/lib/libc.so.6");
	assert_layer_file(lab, "/srv/lib/libc.so.6", "low/opt/app/lib/libc.so.6");
	/* "/usrx" is not under "/usr" */
	put_file(lab->dir, "low/usrx/libc.so.6");
	assert_layer_file(lab, "/usrx/libc.so.6", "low/usrx/libc.so.6");

	write_mountinfo(lab,
			"1 0 0:1 / / rw - overlay overlay rw,lowerdir=%s/low\n"
			"2 1 0:9 / / rw - tmpfs tmpfs rw\n",
			lab->dir);
	assert_no_layer_file(lab, "/usr/lib/libc.so.6");
}

static void result_that_does_not_fit_is_an_error(void **state)
{
	struct lab *lab = *state;
	char real[16];

	put_file(lab->dir, "low/lib/libc.so.6");
	write_mountinfo(lab, "1 0 0:1 / / rw - overlay overlay rw,lowerdir=%s/low\n", lab->dir);
	assert_int_equal(mountinfo_overlay_file(AT_FDCWD, lab->mountinfo, "/lib/libc.so.6", real,
						sizeof(real)),
			 -ENAMETOOLONG);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_fields_and_unescapes_paths),
		cmocka_unit_test(line_without_separator_is_rejected),
		cmocka_unit_test(own_mountinfo_has_a_root_mount),
		cmocka_unit_test_setup_teardown(upper_layer_wins_then_the_top_lower_one, setup,
						teardown),
		cmocka_unit_test_setup_teardown(layer_lists_in_every_notation, setup, teardown),
		cmocka_unit_test_setup_teardown(the_mount_holding_the_path_is_used, setup,
						teardown),
		cmocka_unit_test_setup_teardown(result_that_does_not_fit_is_an_error, setup,
						teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
