/* Intel files: reading them, directories of them, telling their formats apart, and
 * reporting what is wrong in them. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "intel_int.h"
#include "io.h"
#include "log.h"

/* The largest file read: a bound on what one bad path can make us allocate. */
#define INTEL_FILE_MAX (1ull << 30)

/* ---- errors ---- */

static void keep_error(struct intel_build *b, const char *msg)
{
	struct intel_errors *errs = b->errs;
	char *copy;

	if (b->n_errors++ >= INTEL_ERRORS_KEPT)
		return; /* counted; intel_load logs how many were not shown */
	log_warnx("intel: %s", msg);
	if (!errs)
		return;
	if (!errs->msgs && !(errs->msgs = calloc(INTEL_ERRORS_KEPT, sizeof(*errs->msgs))))
		return;
	copy = strdup(msg);
	if (copy)
		errs->msgs[errs->n_msgs++] = copy;
}

static void vkeep(struct intel_build *b, unsigned int line, const char *fmt, va_list ap)
{
	char reason[512], msg[1024];

	vsnprintf(reason, sizeof(reason), fmt, ap);
	if (line)
		snprintf(msg, sizeof(msg), "%s:%u: %s", b->path, line, reason);
	else
		snprintf(msg, sizeof(msg), "%s: %s", b->path, reason);
	keep_error(b, msg);
}

int intel__fail(struct intel_build *b, unsigned int line, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vkeep(b, line, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

int intel__bad(struct intel_build *b, unsigned int line, enum intel_skip reason,
	       const char *fmt, ...)
{
	va_list ap;

	b->stats->skipped[reason]++;
	b->stats->bad_lines++;
	va_start(ap, fmt);
	vkeep(b, line, fmt, ap);
	va_end(ap);
	if (b->opts->max_bad_lines >= 0 && ++b->file_bad > b->opts->max_bad_lines)
		return intel__fail(b, 0, "more than %ld bad lines: file refused",
				   b->opts->max_bad_lines);
	return 0;
}

void intel__skip(struct intel_build *b, enum intel_skip reason)
{
	b->stats->skipped[reason]++;
}

/* A regular file's bytes, NUL-terminated. O_NONBLOCK: a FIFO named by mistake must not
 * block the load (it is refused as not regular). */
static int read_file(const char *path, char **data, size_t *size)
{
	struct jbuf buf = { 0 };
	struct stat st;
	int fd, err = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 || fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	if (!S_ISREG(st.st_mode)) {
		err = S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL;
		goto cleanup;
	}
	if ((uint64_t)st.st_size > INTEL_FILE_MAX) {
		err = -EFBIG;
		goto cleanup;
	}
	if (!jbuf_reserve(&buf, (size_t)st.st_size + 1)) {
		err = -ENOMEM;
		goto cleanup;
	}
	err = io_read_all(fd, &buf, INTEL_FILE_MAX); /* -EFBIG: it grew while read */
	jbuf_raw(&buf, "", 1);
	if (!err && buf.failed)
		err = -ENOMEM;
	if (err)
		goto cleanup;
	*data = buf.p;
	*size = buf.len - 1;
	buf.p = NULL;
cleanup:
	if (fd >= 0)
		close(fd);
	free(buf.p);
	return err;
}

bool intel__next_line(const char **pos, const char *end, const char **line, size_t *len)
{
	const char *p = *pos, *nl;

	if (p >= end)
		return false;
	nl = memchr(p, '\n', (size_t)(end - p));
	*line = p;
	*len = (size_t)((nl ?: end) - p);
	*pos = nl ? nl + 1 : end;
	if (*len && p[*len - 1] == '\r')
		(*len)--;
	return true;
}

bool intel__take_line(struct intel_build *b, const char **pos, const char *end,
		      unsigned int *lineno, const char **line, size_t *len, int *err)
{
	if (!intel__next_line(pos, end, line, len))
		return false;
	(*lineno)++;
	b->stats->lines++;
	if (*len > INTEL_LINE_MAX) {
		*len = 0;
		*err = intel__bad(b, *lineno, INTEL_SKIP_BAD_LINE, "longer than %d bytes",
				  INTEL_LINE_MAX);
	}
	return !*err;
}

static bool word_is(const char *p, size_t n, const char *word)
{
	return n == strlen(word) && !strncasecmp(p, word, n);
}

/* RPZ when, within the first 200 lines, a line starts with $TTL, $ORIGIN or $INCLUDE, or has
 * SOA or CNAME as its second to fifth field; ThreatFox when a '#' line names the columns
 * ioc_value and ioc_type before that; else a plain list. */
static enum intel_format detect(const char *data, size_t size)
{
	const char *pos = data, *line, *end = data + size;
	size_t len;

	for (int n = 0; n < 200 && intel__next_line(&pos, end, &line, &len); n++) {
		const char *p = line, *e = line + len;

		if (len && *p == '#') {
			if (intel__is_threatfox_header(line, len))
				return INTEL_FORMAT_THREATFOX;
			continue;
		}
		if (len && *p == '$' &&
		    (!strncasecmp(p, "$TTL", 4) || !strncasecmp(p, "$ORIGIN", 7) ||
		     !strncasecmp(p, "$INCLUDE", 8)))
			return INTEL_FORMAT_RPZ;
		for (int field = 1; field <= 5 && p < e; field++) {
			const char *w;

			while (p < e && (*p == ' ' || *p == '\t'))
				p++;
			for (w = p; p < e && *p != ' ' && *p != '\t' && *p != ';';)
				p++;
			if (field > 1 && (word_is(w, (size_t)(p - w), "SOA") ||
					  word_is(w, (size_t)(p - w), "CNAME")))
				return INTEL_FORMAT_RPZ;
			if (p < e && *p == ';')
				break;
		}
	}
	return INTEL_FORMAT_LIST;
}

static int load_file(struct intel_build *b, const char *path)
{
	char *data = NULL;
	size_t size = 0;
	int err;

	err = read_file(path, &data, &size);
	if (err) {
		b->path = path;
		intel__fail(b, 0, "cannot read: %s",
			    err == -EINVAL ? "not a regular file" : strerror(-err));
		return err;
	}
	err = intel__add_file(b, path);
	if (err)
		goto cleanup;
	b->format = detect(data, size);
	b->stats->files++;
	b->stats->files_by_format[b->format]++;
	switch (b->format) {
	case INTEL_FORMAT_RPZ:
		err = intel__parse_rpz(b, data, size);
		break;
	case INTEL_FORMAT_THREATFOX:
		err = intel__parse_threatfox(b, data, size);
		break;
	default:
		err = intel__parse_list(b, data, size);
	}
	log_debug("intel: %s: %s", path, intel_format_name(b->format));
cleanup:
	free(data);
	return err;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int load_dir(struct intel_build *b, const char *path, DIR *dir)
{
	char **names = NULL, full[4096];
	size_t n = 0, cap = 0;
	struct dirent *de;
	struct stat st;
	int err = 0;

	while ((de = readdir(dir))) {
		if (de->d_name[0] == '.') {
			if (strcmp(de->d_name, ".") && strcmp(de->d_name, ".."))
				b->stats->dir_entries_ignored++;
			continue;
		}
		if (intel__grow((void **)&names, &cap, n + 1, sizeof(*names)) ||
		    !(names[n] = strdup(de->d_name))) {
			err = -ENOMEM;
			goto cleanup;
		}
		n++;
	}
	qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && !err; i++) {
		snprintf(full, sizeof(full), "%s/%s", path, names[i]);
		if (stat(full, &st) == 0 && !S_ISREG(st.st_mode)) {
			b->stats->dir_entries_ignored++;
			continue;
		}
		err = load_file(b, full); /* a stat failure shows as the read's */
	}
cleanup:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return err;
}

int intel__load_path(struct intel_build *b, const char *path)
{
	DIR *dir;
	int err;

	dir = opendir(path);
	if (!dir)
		return load_file(b, path); /* which says why it cannot be read, if it cannot */
	err = load_dir(b, path, dir);
	closedir(dir);
	return err;
}

