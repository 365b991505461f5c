#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <link.h>
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

/* The first bytes of this process's libc, and its size. */
static size_t running_libc_start(void *buf, size_t len, off_t *size)
{
	Dl_info info;
	struct stat st;
	ssize_t n;
	int fd;

	assert_true(dladdr(dlsym(RTLD_DEFAULT, "getaddrinfo"), &info) != 0);
	fd = open(info.dli_fname, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	n = pread(fd, buf, len, 0);
	assert_true(n >= 0);
	close(fd);
	*size = st.st_size;
	return n;
}

/* An unnamed file holding len bytes of data, then a hole up to size: all libc_check_elf reads
 * is the ELF header and the file size. */
static int file_of(const void *data, size_t len, off_t size)
{
	char path[] = "/tmp/dvt-elf-XXXXXX";
	int fd = mkstemp(path);

	assert_true(fd >= 0);
	unlink(path);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	assert_int_equal(ftruncate(fd, size), 0);
	return fd;
}

static int check_patched(ElfW(Ehdr) eh, off_t size)
{
	int fd = file_of(&eh, sizeof(eh), size);
	int ret = libc_check_elf(fd);

	close(fd);
	return ret;
}

static void check_elf_accepts_this_machines_libc(void **state)
{
	ElfW(Ehdr) eh;
	off_t size;

	(void)state;
	assert_int_equal(running_libc_start(&eh, sizeof(eh), &size), sizeof(eh));
	assert_int_equal(check_patched(eh, size), 0);
}

/* Debian's libc.so linker script, an i386 libc (lib32), a 32-bit object, an object file, a
 * shared object stripped of its section headers. */
static void check_elf_rejects_text_other_machines_and_unreadable_objects(void **state)
{
	const char script[] = "/* GNU ld script */\nOUTPUT_FORMAT(elf64-x86-64)\n"
			      "GROUP ( /lib/x86_64-linux-gnu/libc.so.6 )\n";
	ElfW(Ehdr) eh, other;
	off_t size;
	int fd;

	(void)state;
	running_libc_start(&eh, sizeof(eh), &size);
	fd = file_of(script, sizeof(script) - 1, sizeof(script) - 1);
	assert_int_equal(libc_check_elf(fd), -ENOEXEC);
	close(fd);
	other = eh;
	other.e_machine = EM_386;
	assert_int_equal(check_patched(other, size), -ENOEXEC);
	other = eh;
	other.e_ident[EI_CLASS] = ELFCLASS32;
	assert_int_equal(check_patched(other, size), -ENOEXEC);
	other = eh;
	other.e_type = ET_REL;
	assert_int_equal(check_patched(other, size), -ENOEXEC);
	other = eh;
	other.e_shoff = 0;
	assert_int_equal(check_patched(other, size), -ENOEXEC);
}

/* A copy cut short lacks the section header table at its end; a file shorter than a header is
 * being written when it starts like one. */
static void check_elf_incomplete_is_eagain(void **state)
{
	ElfW(Ehdr) eh;
	off_t size;
	int fd;

	(void)state;
	running_libc_start(&eh, sizeof(eh), &size);
	assert_int_equal(check_patched(eh, size - 1), -EAGAIN);
	assert_int_equal(check_patched(eh, eh.e_shoff), -EAGAIN);
	/* A corrupt e_shoff near 2^64 must not wrap around into "complete". */
	eh.e_shoff = UINT64_MAX - 8;
	assert_int_equal(check_patched(eh, size), -EAGAIN);
	fd = file_of("", 0, 0);
	assert_int_equal(libc_check_elf(fd), -EAGAIN);
	close(fd);
	fd = file_of(ELFMAG "\2\1", SELFMAG + 2, SELFMAG + 2);
	assert_int_equal(libc_check_elf(fd), -EAGAIN);
	close(fd);
	fd = file_of("#!/bin", 6, 6);
	assert_int_equal(libc_check_elf(fd), -ENOEXEC);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(kind_glibc_musl_and_libresolv_names),
		cmocka_unit_test(kind_lookalikes_are_not_c_libraries),
		cmocka_unit_test(maps_line_of_libc_parsed),
		cmocka_unit_test(maps_line_of_deleted_libc_keeps_path),
		cmocka_unit_test(maps_lines_without_c_library_rejected),
		cmocka_unit_test(scan_reports_each_library_file_once),
		cmocka_unit_test(func_offsets_match_the_running_libc),
		cmocka_unit_test(func_offsets_of_missing_file_fail),
		cmocka_unit_test(check_elf_accepts_this_machines_libc),
		cmocka_unit_test(check_elf_rejects_text_other_machines_and_unreadable_objects),
		cmocka_unit_test(check_elf_incomplete_is_eagain),
	};

	return cmocka_run_group_tests_name("libc", tests, NULL, NULL);
}
