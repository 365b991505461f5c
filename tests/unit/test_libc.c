#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cmocka.h>

#include "libc.h"

static void kind_glibc_musl_and_libresolv_names(void **state)
{
	(void)state;
	assert_int_equal(libc_kind_of("/usr/lib/x86_64-linux-gnu/libc.so.6"), LIBC_GLIBC);
	assert_int_equal(libc_kind_of("/lib/x86_64-linux-gnu/libc-2.31.so"), LIBC_GLIBC);
	assert_int_equal(libc_kind_of("/lib/x86_64-linux-gnu/libresolv.so.2"), LIBC_RESOLV);
	assert_int_equal(libc_kind_of("/lib/x86_64-linux-gnu/libresolv-2.31.so"), LIBC_RESOLV);
	assert_int_equal(libc_kind_of("/lib/ld-musl-x86_64.so.1"), LIBC_MUSL);
	assert_int_equal(libc_kind_of("/lib/libc.musl-x86_64.so.1"), LIBC_MUSL);
	/* Debian's musl-tools: ld-musl-x86_64.so.1 -> x86_64-linux-musl/libc.so */
	assert_int_equal(libc_kind_of("/usr/lib/x86_64-linux-musl/libc.so"), LIBC_MUSL);
	assert_int_equal(libc_kind_of("libc.so.6"), LIBC_GLIBC);
}

static void kind_lookalikes_are_not_c_libraries(void **state)
{
	(void)state;
	assert_int_equal(libc_kind_of("/usr/lib/libc-client.so.2007e"), LIBC_NONE);
	assert_int_equal(libc_kind_of("/usr/lib/x86_64-linux-gnu/libcrypt.so.1"), LIBC_NONE);
	assert_int_equal(libc_kind_of("/lib64/ld-linux-x86-64.so.2"), LIBC_NONE);
	assert_int_equal(libc_kind_of("/opt/libc.so.6/lib/libfoo.so"), LIBC_NONE);
	assert_int_equal(libc_kind_of("/usr/lib/libresolver.so"), LIBC_NONE);
}

static void maps_line_of_libc_parsed(void **state)
{
	struct libc_mapping m;

	(void)state;
	assert_int_equal(libc_parse_maps_line("7f3a1c228000-7f3a1c3bd000 r-xp 00028000 fd:01 "
					      "1234567                    /usr/lib/x86_64-linux-"
					      "gnu/libc.so.6\n",
					      &m),
			 0);
	assert_int_equal(m.start, 0x7f3a1c228000ull);
	assert_int_equal(m.end, 0x7f3a1c3bd000ull);
	assert_int_equal(m.dev, makedev(0xfd, 1));
	assert_int_equal(m.ino, 1234567);
	assert_false(m.deleted);
	assert_int_equal(m.kind, LIBC_GLIBC);
	assert_string_equal(m.path, "/usr/lib/x86_64-linux-gnu/libc.so.6");
}

static void maps_line_of_deleted_libc_keeps_path(void **state)
{
	struct libc_mapping m;

	(void)state;
	assert_int_equal(libc_parse_maps_line("7f00-7f80 r--p 00000000 08:02 99 "
					      "/lib/ld-musl-x86_64.so.1 (deleted)\n",
					      &m),
			 0);
	assert_true(m.deleted);
	assert_int_equal(m.kind, LIBC_MUSL);
	assert_string_equal(m.path, "/lib/ld-musl-x86_64.so.1");
}

static void maps_lines_without_c_library_rejected(void **state)
{
	struct libc_mapping m;

	(void)state;
	/* anonymous, special, other files, inode 0 */
	assert_int_equal(libc_parse_maps_line("7f00-7f80 rw-p 00000000 00:00 0 \n", &m), -ENOENT);
	assert_int_equal(libc_parse_maps_line("55d0-55f0 rw-p 00000000 00:00 0   [heap]\n", &m),
			 -ENOENT);
	assert_int_equal(libc_parse_maps_line("7f00-7f80 r-xp 00000000 fd:01 42 /usr/bin/dig\n",
					      &m),
			 -ENOENT);
	assert_int_equal(libc_parse_maps_line("7f00-7f80 r-xp 00000000 00:00 0 /libc.so.6\n", &m),
			 -ENOENT);
	assert_int_equal(libc_parse_maps_line("not a maps line\n", &m), -EINVAL);
	assert_int_equal(libc_parse_maps_line("", &m), -EINVAL);
}

static void set_dedupes_by_device_and_inode(void **state)
{
	struct libc_set *s = libc_set_new();

	(void)state;
	assert_non_null(s);
	assert_false(libc_set_has(s, 1, 2));
	assert_int_equal(libc_set_add(s, 1, 2), 0);
	assert_true(libc_set_has(s, 1, 2));
	assert_int_equal(libc_set_add(s, 1, 2), 0);
	/* Same inode on another device is another file. */
	assert_false(libc_set_has(s, 3, 2));
	for (uint64_t i = 0; i < 100; i++)
		assert_int_equal(libc_set_add(s, 9, i), 0);
	assert_true(libc_set_has(s, 9, 99));
	assert_true(libc_set_has(s, 1, 2));
	libc_set_free(s);
}

struct seen {
	int n;
	struct libc_mapping first;
};

static int collect(void *ctx, pid_t pid, const struct libc_mapping *m)
{
	struct seen *seen = ctx;

	assert_int_equal(pid, 4242);
	if (seen->n++ == 0)
		seen->first = *m;
	return 0;
}

/* A fake procfs: the libc's four mappings count once, other files not at all. */
static void scan_reports_each_library_file_once(void **state)
{
	char dir[] = "/tmp/dvt-libc-XXXXXX", path[64];
	struct seen seen = { 0 };
	int proc_fd;
	FILE *f;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/4242", dir);
	assert_int_equal(mkdir(path, 0700), 0);
	snprintf(path, sizeof(path), "%s/4242/maps", dir);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("5600-5700 r-xp 00000000 fd:01 10 /usr/bin/curl\n"
	      "7f00-7f10 r--p 00000000 fd:01 20 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	      "7f10-7f20 r-xp 00010000 fd:01 20 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	      "7f20-7f30 r--p 00020000 fd:01 20 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	      "7f30-7f40 rw-p 00030000 fd:01 20 /usr/lib/x86_64-linux-gnu/libc.so.6\n"
	      "7f40-7f50 rw-p 00000000 00:00 0 \n"
	      "7f50-7f60 r-xp 00000000 fd:01 30 /usr/lib/x86_64-linux-gnu/libz.so.1\n"
	      "7f60-7f70 r-xp 00000000 fd:01 40 /usr/lib/x86_64-linux-gnu/libresolv.so.2\n",
	      f);
	fclose(f);
	proc_fd = open(dir, O_RDONLY | O_DIRECTORY);
	assert_true(proc_fd >= 0);

	assert_int_equal(libc_scan_maps(proc_fd, 4242, collect, &seen), 2);
	assert_int_equal(seen.n, 2);
	assert_int_equal(seen.first.ino, 20);
	assert_int_equal(seen.first.start, 0x7f00);
	assert_int_equal(libc_scan_maps(proc_fd, 4243, collect, &seen), -ENOENT);

	close(proc_fd);
	unlink(path);
	snprintf(path, sizeof(path), "%s/4242", dir);
	rmdir(path);
	rmdir(dir);
}

/* The offset the agent computes from the ELF file is where this very process's libc has
 * getaddrinfo: runtime address - mapping start + mapping file offset. */
static void func_offsets_match_the_running_libc(void **state)
{
	const char *names[] = { "getaddrinfo", "no_such_function_anywhere", "res_query" };
	uintptr_t addr = (uintptr_t)dlsym(RTLD_DEFAULT, "getaddrinfo");
	unsigned long long start, end, off;
	char line[1024], path[512] = "";
	uint64_t offsets[3];
	FILE *f = fopen("/proc/self/maps", "r");

	(void)state;
	assert_true(addr != 0);
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		int n = sscanf(line, "%llx-%llx %*s %llx %*s %*s %511s", &start, &end, &off, path);

		if (n == 4 && addr >= start && addr < end)
			break;
		path[0] = '\0';
	}
	fclose(f);
	assert_int_equal(libc_kind_of(path), LIBC_GLIBC);

	assert_int_equal(libc_func_offsets(path, names, 3, offsets), 2);
	assert_int_equal(offsets[0], addr - start + off);
	assert_int_equal(offsets[1], 0);
	/* glibc 2.34 moved res_query into libc.so.6 */
	assert_true(offsets[2] != 0);
}

static void func_offsets_of_missing_file_fail(void **state)
{
	const char *names[] = { "getaddrinfo" };
	uint64_t off;

	(void)state;
	assert_int_equal(libc_func_offsets("/nonexistent/libc.so.6", names, 1, &off), -ENOENT);
	/* Not an ELF file. */
	assert_int_equal(libc_func_offsets("/proc/self/status", names, 1, &off), -ENOEXEC);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kind_glibc_musl_and_libresolv_names),
		cmocka_unit_test(kind_lookalikes_are_not_c_libraries),
		cmocka_unit_test(maps_line_of_libc_parsed),
		cmocka_unit_test(maps_line_of_deleted_libc_keeps_path),
		cmocka_unit_test(maps_lines_without_c_library_rejected),
		cmocka_unit_test(set_dedupes_by_device_and_inode),
		cmocka_unit_test(scan_reports_each_library_file_once),
		cmocka_unit_test(func_offsets_match_the_running_libc),
		cmocka_unit_test(func_offsets_of_missing_file_fail),
	};

	return cmocka_run_group_tests_name("libc", tests, NULL, NULL);
}
