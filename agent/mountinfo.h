/* /proc/PID/mountinfo: one parser for the mounts the agent looks for (cgroup2, tracefs) and
 * for the layer file behind a path on an overlay mount (a container's root file system). */
#ifndef DNSVIGIL_MOUNTINFO_H
#define DNSVIGIL_MOUNTINFO_H

#include <stddef.h>

/* One line. The kernel writes space, tab, newline and backslash in paths as \ooo: root,
 * mount_point and source are unescaped; super_opts is left as it is, because commas in an
 * option's value are escaped too and separate options only while escaped. Pointers into the
 * caller's line buffer. */
struct mountinfo_entry {
	const char *root;        /* the directory of the file system mounted here */
	const char *mount_point; /* relative to the reading process's root */
	const char *fstype;
	const char *source;
	const char *super_opts;
};

/* Splits one mountinfo line in place: 0, or -EINVAL when it is not a mountinfo line.
 * "ID PARENT MAJ:MIN ROOT MOUNT-POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPER-OPTIONS" */
int mountinfo_parse(char *line, struct mountinfo_entry *e);

/* Calls fn for every mount in the mountinfo file name under dirfd (AT_FDCWD and
 * "/proc/self/mountinfo", a /proc/PID directory and "mountinfo"), in file order; a non-zero
 * return of fn stops and is returned. Returns 0, fn's return, or -errno when the file cannot
 * be read. */
int mountinfo_for_each(int dirfd, const char *name,
		       int (*fn)(void *ctx, const struct mountinfo_entry *e), void *ctx);

/* The mount point of the first mount of a whole file system of type fstype (its root "/":
 * not a bind mount of a subdirectory) in the mountinfo file name under dirfd. Returns 0,
 * -ENOENT when there is none, -ENAMETOOLONG when it does not fit in size, or -errno. */
int mountinfo_find(int dirfd, const char *name, const char *fstype, char *mount_point,
		   size_t size);

/* Where the file a process sees at path (as its /proc/PID/maps shows it: relative to the
 * process's root) really is, when path is on an overlay mount: the upper layer's file if it
 * has one, else the first lower layer's, by the layer directories of the mount's options
 * (lowerdir=, lowerdir+=, upperdir=) in the agent's mount namespace. Uprobes attach to that
 * file's inode, while stat() and maps show the overlay's own device and inode.
 * dirfd and name name that process's mountinfo (see above). Writes the path to real and
 * returns 0; -ENOENT when path is not on an overlay mount or no layer has it (the layers
 * are not visible from here: the agent runs in another mount namespace), -ENAMETOOLONG, or
 * -errno of reading. */
int mountinfo_overlay_file(int dirfd, const char *name, const char *path, char *real,
			   size_t size);

#endif
