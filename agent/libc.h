/* C library files: which mapped files are C libraries (glibc, its libresolv, musl), and where
 * the resolver functions are in them. No BPF here: agent/resolver.c attaches. */
#ifndef DNSVIGIL_LIBC_H
#define DNSVIGIL_LIBC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum libc_kind {
	LIBC_NONE = 0,
	LIBC_GLIBC,  /* libc.so.6, libc-2.31.so */
	LIBC_RESOLV, /* libresolv.so.2, libresolv-2.31.so: glibc's res_* before 2.34 */
	LIBC_MUSL,   /* ld-musl-x86_64.so.1, libc.musl-x86_64.so.1, Debian's musl libc.so */
};

/* The kind of C library a path's file name is, or LIBC_NONE. */
enum libc_kind libc_kind_of(const char *path);
const char *libc_kind_name(enum libc_kind kind);

struct libc_mapping {
	uint64_t start, end;
	uint64_t dev; /* makedev() of the maps line's major:minor */
	uint64_t ino;
	bool deleted; /* the file was unlinked or replaced since it was mapped */
	enum libc_kind kind;
	char path[512]; /* as the maps line shows it, without " (deleted)" */
};

/* Whether the file open at fd is an ELF shared object (ET_DYN) of the class, byte order and
 * machine the agent is built for, written to its end. 0 when it is; -ENOEXEC when it is not
 * ELF (Debian's libc.so linker script is text), not a shared object, of another machine (the
 * i386 libc in /usr/lib32) or has no section headers to find symbols in; -EAGAIN when it is
 * still being written: its section header table, which linkers write last, is not all there
 * (e_shoff + e_shnum * e_shentsize > st_size), or it is shorter than an ELF header and what
 * it holds (nothing, too) is the start of one; another -errno when it cannot be read. */
int libc_check_elf(int fd);

/* Parses one /proc/PID/maps line. 0 for a mapping of a C library file, -ENOENT for any other
 * mapping, -EINVAL for a line that is not a maps line. */
int libc_parse_maps_line(const char *line, struct libc_mapping *m);

/* Called once per C library file mapped by a process; a non-zero return stops the scan and is
 * returned by libc_scan_maps. */
typedef int (*libc_mapping_fn)(void *ctx, pid_t pid, const struct libc_mapping *m);

/* Reads <proc_fd>/PID/maps and calls fn for each C library file in it. Returns the number of
 * such files, fn's non-zero return, or -errno (-ENOENT: the process is gone). */
int libc_scan_maps(int proc_fd, pid_t pid, libc_mapping_fn fn, void *ctx);

/* File offsets, as uprobes want them, of the functions names[0..n) in the ELF shared object at
 * path: its dynamic symbols, the default version of a name when there are several. offsets[i]
 * is 0 when names[i] is not defined there. Returns how many were found, libc_check_elf()'s
 * -ENOEXEC or -EAGAIN for a file that is no C library of this machine (yet), or -errno. */
int libc_func_offsets(const char *path, const char *const *names, size_t n, uint64_t *offsets);

#endif
