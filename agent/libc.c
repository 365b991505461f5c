#include "libc.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "proc.h"

#define DELETED_SUFFIX " (deleted)"
/* gnu.version entries: bit 15 marks a non-default ("hidden", name@VERSION) version. */
#define VERSYM_HIDDEN 0x8000

static bool prefix_then_digit(const char *name, const char *prefix)
{
	size_t n = strlen(prefix);

	return strncmp(name, prefix, n) == 0 && isdigit((unsigned char)name[n]);
}

enum libc_kind libc_kind_of(const char *path)
{
	const char *name = strrchr(path, '/');

	name = name ? name + 1 : path;
	/* musl before glibc: Debian names musl's libc plain "libc.so". */
	if (strncmp(name, "ld-musl-", 8) == 0 || strncmp(name, "libc.musl-", 10) == 0 ||
	    strcmp(name, "libc.so") == 0)
		return LIBC_MUSL;
	/* "libc-" must be followed by a version: libc-client.so is not a C library. */
	if (strncmp(name, "libc.so.", 8) == 0 || prefix_then_digit(name, "libc-"))
		return LIBC_GLIBC;
	if (strncmp(name, "libresolv.so", 12) == 0 || prefix_then_digit(name, "libresolv-"))
		return LIBC_RESOLV;
	return LIBC_NONE;
}

const char *libc_kind_name(enum libc_kind kind)
{
	switch (kind) {
	case LIBC_GLIBC:
		return "glibc";
	case LIBC_RESOLV:
		return "glibc libresolv";
	case LIBC_MUSL:
		return "musl";
	default:
		return "none";
	}
}

/* The ELF identity of the C libraries the agent can trace: its own. */
#if defined(__x86_64__)
#define ELF_MACHINE EM_X86_64
#elif defined(__aarch64__)
#define ELF_MACHINE EM_AARCH64
#else
#error "libc_check_elf: no ELF machine known for this architecture"
#endif
#define ELF_CLASS (__SIZEOF_POINTER__ == 8 ? ELFCLASS64 : ELFCLASS32)
#define ELF_DATA (__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__ ? ELFDATA2LSB : ELFDATA2MSB)

int libc_check_elf(int fd)
{
	ElfW(Ehdr) eh;
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st))
		return -errno;
	n = pread(fd, &eh, sizeof(eh), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n < sizeof(eh))
		return memcmp(&eh, ELFMAG, n < SELFMAG ? n : SELFMAG) ? -ENOEXEC : -EAGAIN;
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) || eh.e_ident[EI_CLASS] != ELF_CLASS ||
	    eh.e_ident[EI_DATA] != ELF_DATA || eh.e_type != ET_DYN || eh.e_machine != ELF_MACHINE ||
	    !eh.e_shoff)
		return -ENOEXEC;
	/* Compared without a sum that a corrupt e_shoff could wrap around. */
	if (eh.e_shoff > (uint64_t)st.st_size ||
	    (uint64_t)eh.e_shnum * eh.e_shentsize > (uint64_t)st.st_size - eh.e_shoff)
		return -EAGAIN;
	return 0;
}

int libc_parse_maps_line(const char *line, struct libc_mapping *m)
{
	unsigned int major, minor;
	unsigned long long start, end, ino;
	size_t len;
	int path_at = -1;

	/* "START-END PERMS OFFSET MAJ:MIN INODE    PATH" */
	if (sscanf(line, "%llx-%llx %*s %*x %x:%x %llu %n", &start, &end, &major, &minor, &ino,
		   &path_at) != 5 || path_at < 0)
		return -EINVAL;
	line += path_at;
	if (ino == 0 || line[0] != '/')
		return -ENOENT;
	len = strcspn(line, "\n");
	m->deleted = len >= strlen(DELETED_SUFFIX) &&
		     strncmp(line + len - strlen(DELETED_SUFFIX), DELETED_SUFFIX,
			     strlen(DELETED_SUFFIX)) == 0;
	if (m->deleted)
		len -= strlen(DELETED_SUFFIX);
	if (len >= sizeof(m->path))
		return -ENOENT;
	memcpy(m->path, line, len);
	m->path[len] = '\0';
	m->kind = libc_kind_of(m->path);
	if (m->kind == LIBC_NONE)
		return -ENOENT;
	m->start = start;
	m->end = end;
	m->dev = makedev(major, minor);
	m->ino = ino;
	return 0;
}

int libc_scan_maps(int proc_fd, pid_t pid, libc_mapping_fn fn, void *ctx)
{
	uint64_t last_dev = 0, last_ino = 0;
	struct libc_mapping m;
	char line[1024];
	int dirfd, fd, found = 0, err = 0;
	FILE *f;

	dirfd = proc_open_pid(proc_fd, pid);
	if (dirfd < 0)
		return dirfd;
	fd = openat(dirfd, "maps", O_RDONLY | O_CLOEXEC);
	err = fd < 0 ? -errno : 0;
	close(dirfd);
	if (err)
		return err;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && fgets(line, sizeof(line), f)) {
		/* A longer line (a long path) is read in pieces: only a line start parses. */
		if (libc_parse_maps_line(line, &m))
			continue;
		/* A file's mappings are adjacent: report it once per run of lines. */
		if (m.dev == last_dev && m.ino == last_ino)
			continue;
		last_dev = m.dev;
		last_ino = m.ino;
		found++;
		err = fn(ctx, pid, &m);
	}
	fclose(f);
	return err ? err : found;
}

/* The file offset of a virtual address: through the PT_LOAD segment that maps it. */
static uint64_t vaddr_to_offset(Elf *e, size_t phnum, uint64_t vaddr)
{
	for (size_t i = 0; i < phnum; i++) {
		GElf_Phdr ph;

		if (!gelf_getphdr(e, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr >= ph.p_vaddr && vaddr < ph.p_vaddr + ph.p_filesz)
			return vaddr - ph.p_vaddr + ph.p_offset;
	}
	return 0;
}

static int find_offsets(Elf *e, const char *const *names, size_t n, uint64_t *offsets)
{
	Elf_Data *syms = NULL, *versyms = NULL;
	Elf_Scn *scn = NULL;
	size_t phnum, nsyms = 0, strndx = 0;
	bool hidden[n];
	int found = 0;

	if (elf_getphdrnum(e, &phnum))
		return -EINVAL;
	while ((scn = elf_nextscn(e, scn))) {
		GElf_Shdr sh;

		if (!gelf_getshdr(scn, &sh))
			return -EINVAL;
		if (sh.sh_type == SHT_DYNSYM && sh.sh_entsize) {
			syms = elf_getdata(scn, NULL);
			nsyms = sh.sh_size / sh.sh_entsize;
			strndx = sh.sh_link;
		} else if (sh.sh_type == SHT_GNU_versym) {
			versyms = elf_getdata(scn, NULL);
		}
	}
	if (!syms)
		return -ENOENT;
	memset(hidden, 0, sizeof(hidden));
	for (size_t i = 0; i < n; i++)
		offsets[i] = 0;
	for (size_t i = 0; i < nsyms; i++) {
		GElf_Versym ver = 0;
		const char *name;
		GElf_Sym sym;

		if (!gelf_getsym(syms, i, &sym) || GELF_ST_TYPE(sym.st_info) != STT_FUNC ||
		    sym.st_shndx == SHN_UNDEF || !sym.st_value)
			continue;
		name = elf_strptr(e, strndx, sym.st_name);
		if (!name)
			continue;
		if (versyms)
			gelf_getversym(versyms, i, &ver);
		for (size_t j = 0; j < n; j++) {
			bool h = ver & VERSYM_HIDDEN;
			uint64_t off;

			/* Taken when new, or when the default version replaces a hidden one. */
			if (strcmp(name, names[j]) != 0 || (offsets[j] && (h || !hidden[j])))
				continue;
			off = vaddr_to_offset(e, phnum, sym.st_value);
			if (!off)
				continue;
			found += !offsets[j];
			offsets[j] = off;
			hidden[j] = h;
		}
	}
	return found;
}

int libc_func_offsets(const char *path, const char *const *names, size_t n, uint64_t *offsets)
{
	Elf *e;
	int fd, ret;

	if (elf_version(EV_CURRENT) == EV_NONE)
		return -EINVAL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	ret = libc_check_elf(fd);
	if (ret) {
		close(fd);
		return ret;
	}
	e = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!e) {
		close(fd);
		return -EINVAL;
	}
	ret = elf_kind(e) == ELF_K_ELF ? find_offsets(e, names, n, offsets) : -ENOEXEC;
	elf_end(e);
	close(fd);
	return ret;
}
