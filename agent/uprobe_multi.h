/* uprobe_multi links (Linux 6.6): one link attaches a program to many offsets of one file.
 * They postdate libbpf 1.1 and the uapi headers of Debian 12, hence the kernel's numbers here
 * and a BPF_LINK_CREATE of our own. */
#ifndef DNSVIGIL_UPROBE_MULTI_H
#define DNSVIGIL_UPROBE_MULTI_H

#include <stdint.h>

#define UPROBE_MULTI_ATTACH_TYPE 48 /* BPF_TRACE_UPROBE_MULTI */
#define UPROBE_MULTI_RETURN 1       /* BPF_F_UPROBE_MULTI_RETURN */

/* Links prog_fd (loaded with expected_attach_type UPROBE_MULTI_ATTACH_TYPE) to the cnt
 * offsets of the file at path, in every process; cookies (NULL: none) are what
 * bpf_get_attach_cookie() returns at each. flags: 0 or UPROBE_MULTI_RETURN. Returns the link's
 * fd or a negative errno. */
int uprobe_multi_link(int prog_fd, const char *path, const uint64_t *offsets,
		      const uint64_t *cookies, uint32_t cnt, uint32_t flags);

#endif
