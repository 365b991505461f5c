#include "mountinfo.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "array.h"

/* Layers of one overlay mount we look through: docker and containerd stay far below. */
#define MAX_LAYERS 512

/* \ooo -> the byte, in place. */
static void unescape_octal(char *s)
{
	char *d = s;

	for (; *s; s++, d++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d = *s;
		}
	}
	*d = '\0';
}

/* The next space-separated field, NUL-terminated in place; NULL at the end of the line. */
static char *next_field(char **s)
{
	char *start = *s + strspn(*s, " ");
	char *end;

	if (!*start || *start == '\n')
		return NULL;
	end = start + strcspn(start, " \n");
	*s = *end ? end + 1 : end;
	*end = '\0';
	return start;
}

int mountinfo_parse(char *line, struct mountinfo_entry *e)
{
	char *s = line, *f[5], *field;

	/* id, parent, major:minor, root, mount point */
	for (int i = 0; i < 5; i++)
		if (!(f[i] = next_field(&s)))
			return -EINVAL;
	/* mount options, then optional fields up to the "-" separator */
	do {
		field = next_field(&s);
	} while (field && strcmp(field, "-") != 0);
	if (!field)
		return -EINVAL;
	e->fstype = next_field(&s);
	e->source = next_field(&s);
	e->super_opts = next_field(&s);
	if (!e->fstype || !e->source)
		return -EINVAL;
	if (!e->super_opts)
		e->super_opts = "";
	unescape_octal(f[3]);
	unescape_octal(f[4]);
	unescape_octal((char *)e->source);
	e->root = f[3];
	e->mount_point = f[4];
	return 0;
}

int mountinfo_for_each(int dirfd, const char *name,
		       int (*fn)(void *ctx, const struct mountinfo_entry *e), void *ctx)
{
	struct mountinfo_entry e;
	char *line = NULL;
	size_t size = 0;
	int fd, err = 0;
	FILE *f;

	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	f = fdopen(fd, "r");
	if (!f) {
		err = -errno;
		close(fd);
		return err;
	}
	while (!err && getline(&line, &size, f) > 0)
		if (mountinfo_parse(line, &e) == 0)
			err = fn(ctx, &e);
	free(line);
	fclose(f);
	return err;
}

struct wanted {
	const char *fstype;
	char *mount_point;
	size_t size;
};

static int copy_if_wanted(void *ctx, const struct mountinfo_entry *e)
{
	const struct wanted *w = ctx;

	if (strcmp(e->fstype, w->fstype) || strcmp(e->root, "/"))
		return 0;
	return snprintf(w->mount_point, w->size, "%s", e->mount_point) < (int)w->size ?
		       1 :
		       -ENAMETOOLONG;
}

int mountinfo_find(int dirfd, const char *name, const char *fstype, char *mount_point,
		   size_t size)
{
	struct wanted w = { .fstype = fstype, .mount_point = mount_point, .size = size };
	int err = mountinfo_for_each(dirfd, name, copy_if_wanted, &w);

	return err == 1 ? 0 : err ? err : -ENOENT;
}

/* The mount a path is on: the longest mount point that is a prefix of it, the last one
 * listed when several are mounted at the same place (the one on top). */
struct holder {
	const char *path;
	size_t best_len;
	bool found, overlay;
	char root[4096];
	char opts[8192];
};

static size_t mount_prefix_len(const char *mount_point, const char *path)
{
	size_t n = strlen(mount_point);

	if (strcmp(mount_point, "/") == 0)
		return 1;
	if (strncmp(mount_point, path, n) != 0 || (path[n] != '/' && path[n] != '\0'))
		return 0;
	return n;
}

static int find_holder(void *ctx, const struct mountinfo_entry *e)
{
	struct holder *h = ctx;
	size_t n = mount_prefix_len(e->mount_point, h->path);

	if (!n || n < h->best_len || strlen(e->root) >= sizeof(h->root) ||
	    strlen(e->super_opts) >= sizeof(h->opts))
		return 0;
	h->best_len = n;
	h->found = true;
	h->overlay = strcmp(e->fstype, "overlay") == 0;
	strcpy(h->root, e->root);
	strcpy(h->opts, e->super_opts);
	return 0;
}

/* Splits an escaped option list on its commas into unescaped "key=value" strings. */
static int split_options(char *opts, char **out, int max)
{
	int n = 0;

	for (char *save, *o = strtok_r(opts, ",", &save); o && n < max;
	     o = strtok_r(NULL, ",", &save)) {
		unescape_octal(o);
		out[n++] = o;
	}
	return n;
}

/* lowerdir= is the colon-separated list the mounter gave, "\:" being a colon in a name;
 * "::" starts the data-only layers, which hold no visible files. */
static int split_lowerdirs(char *list, char **out, int max)
{
	int n = 0;
	char *d = list, *start = list;

	for (char *s = list;; s++) {
		bool end = !*s || (s[0] == ':' && s[1] == ':');

		if (s[0] == '\\' && s[1]) {
			*d++ = *++s;
			continue;
		}
		if (*s != ':' && !end) {
			*d++ = *s;
			continue;
		}
		/* d never runs ahead of s: ending the name here overwrites nothing unread */
		*d++ = '\0';
		if (*start && n < max)
			out[n++] = start;
		if (end)
			return n;
		start = d;
	}
}

/* dir + root + rel when it names a regular file there (not a whiteout, a character device:
 * none can be above a file the merged directory shows). */
static int layer_file(const char *dir, const char *root, const char *rel, char *real,
		      size_t size)
{
	struct stat sb;

	if (root[0] == '/' && root[1] == '\0')
		root = "";
	if (snprintf(real, size, "%s%s%s", dir, root, rel) >= (int)size)
		return -ENAMETOOLONG;
	if (lstat(real, &sb))
		return -errno;
	return S_ISREG(sb.st_mode) ? 0 : -ENOENT;
}

int mountinfo_overlay_file(int dirfd, const char *name, const char *path, char *real,
			   size_t size)
{
	struct holder *h = calloc(1, sizeof(*h));
	char *opts[64], *layers[MAX_LAYERS], *upper = NULL;
	int n_opts, n_layers = 0, err;
	const char *rel;

	if (!h)
		return -ENOMEM;
	h->path = path;
	err = mountinfo_for_each(dirfd, name, find_holder, h);
	if (!err && (!h->found || !h->overlay))
		err = -ENOENT;
	if (err)
		goto cleanup;
	rel = path + (h->best_len == 1 ? 0 : h->best_len);
	n_opts = split_options(h->opts, opts, ARRAY_LEN(opts));
	for (int i = 0; i < n_opts; i++) {
		if (strncmp(opts[i], "upperdir=", 9) == 0)
			upper = opts[i] + 9;
		else if (strncmp(opts[i], "lowerdir=", 9) == 0)
			n_layers += split_lowerdirs(opts[i] + 9, layers + n_layers,
						    MAX_LAYERS - n_layers);
		else if (strncmp(opts[i], "lowerdir+=", 10) == 0 && n_layers < MAX_LAYERS)
			layers[n_layers++] = opts[i] + 10;
	}
	err = -ENOENT;
	/* The upper layer, then the lower ones from the top: the first that has the name is
	 * what the merged directory shows. */
	if (upper)
		err = layer_file(upper, h->root, rel, real, size);
	for (int i = 0; err && err != -ENAMETOOLONG && i < n_layers; i++)
		err = layer_file(layers[i], h->root, rel, real, size);
	if (err && err != -ENAMETOOLONG)
		err = -ENOENT;
cleanup:
	free(h);
	return err;
}
