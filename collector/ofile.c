/* Output files with durable positions: see ofile.h. */
#include "ofile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "io.h"
#include "log.h"

/* Appended bytes are written out once this many wait (and on every sync). */
#define OFILE_WRITE_AT (1u << 20)

/* path's directory, into buf. */
static const char *dir_of(const char *path, char *buf, size_t len)
{
	snprintf(buf, len, "%s", path);
	return dirname(buf);
}

int ofile_sync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	int err = 0;

	if (fd < 0 || fsync(fd))
		err = -errno;
	if (fd >= 0)
		close(fd);
	return err;
}

/* Truncates the file at path to off when it is longer. */
static int truncate_to(const char *path, uint64_t size, uint64_t off)
{
	if (size <= off)
		return 0;
	log_info("recovery: %s: dropping %llu uncommitted bytes after offset %llu", path,
		 (unsigned long long)(size - off), (unsigned long long)off);
	if (truncate(path, off)) {
		int err = -errno;

		log_warn("recovery: truncating %s", path);
		return err;
	}
	return 0;
}

/* Finds the file with pos's inode in dir (a rotated or logrotate-renamed name) and truncates
 * it. Not found: it was removed, nothing to do. */
static int recover_in_dir(const char *dir, const struct ofile_pos *pos)
{
	char path[4096 + 256];
	struct dirent *de;
	struct stat st;
	DIR *d = opendir(dir);
	int err = 0;

	if (!d)
		return 0;
	while ((de = readdir(d))) {
		if (de->d_ino != pos->ino)
			continue;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 && st.st_dev == pos->dev && st.st_ino == pos->ino &&
		    S_ISREG(st.st_mode)) {
			err = truncate_to(path, st.st_size, pos->off);
			break;
		}
	}
	closedir(d);
	return err;
}

static int recover(const char *path, const struct ofile_pos *pos, const char *committed_path)
{
	struct stat st;
	char buf[4096];
	int err;

	if (stat(committed_path, &st) == 0 && st.st_dev == pos->dev && st.st_ino == pos->ino)
		err = truncate_to(committed_path, st.st_size, pos->off);
	else
		err = recover_in_dir(dir_of(committed_path, buf, sizeof(buf)), pos);
	if (err)
		return err;
	/* The live path holds another file: it was opened after the last commit (a rotation or
	 * reopen the journal never heard of), so none of it is committed. */
	if (strcmp(path, committed_path) == 0 && stat(path, &st) == 0 &&
	    (st.st_dev != pos->dev || st.st_ino != pos->ino))
		err = truncate_to(path, st.st_size, 0);
	return err;
}

static int open_live(struct ofile *f)
{
	char dir[sizeof(f->path)];
	struct stat st;
	bool existed = access(f->path, F_OK) == 0;
	int err;

	f->fd = open(f->path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (f->fd < 0) {
		err = -errno;
		log_warn("opening %s", f->path);
		return err;
	}
	if (fstat(f->fd, &st)) {
		err = -errno;
		log_warn("stat %s", f->path);
		close(f->fd);
		f->fd = -1;
		return err;
	}
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	f->size = f->committed = st.st_size;
	f->opened_ns = clock_ns(CLOCK_REALTIME);
	/* A new name must survive a crash too, or the journal names a file that is gone. */
	if (!existed && (err = ofile_sync_dir(dir_of(f->path, dir, sizeof(dir))))) {
		log_warnx("syncing the directory of %s: %s", f->path, strerror(-err));
		close(f->fd);
		f->fd = -1;
		return err;
	}
	return 0;
}

int ofile_open(struct ofile *f, const char *path, const struct ofile_rotate *rot,
	       const struct ofile_pos *committed, const char *committed_path)
{
	int err;

	memset(f, 0, sizeof(*f));
	f->fd = -1;
	if (snprintf(f->path, sizeof(f->path), "%s", path) >= (int)sizeof(f->path))
		return -ENAMETOOLONG;
	if (rot)
		f->rotate = *rot;
	if (committed && committed->ino) {
		err = recover(path, committed, committed_path ? committed_path : path);
		if (err)
			return err;
	}
	return open_live(f);
}

void ofile_close(struct ofile *f)
{
	if (f->fd >= 0)
		close(f->fd);
	f->fd = -1;
	jbuf_free(&f->buf);
}

static int write_out(struct ofile *f)
{
	int err = io_write_all(f->fd, f->buf.p, f->buf.len);

	if (err)
		log_warnx("writing %s: %s", f->path, strerror(-err));
	jbuf_reset(&f->buf);
	return err;
}

int ofile_appended(struct ofile *f, size_t start)
{
	if (f->buf.failed) {
		f->buf.failed = false;
		f->buf.len = start;
		return -ENOMEM;
	}
	f->size += f->buf.len - start;
	return f->buf.len >= OFILE_WRITE_AT ? write_out(f) : 0;
}

int ofile_append(struct ofile *f, const void *p, size_t n)
{
	size_t start = f->buf.len;

	jbuf_raw(&f->buf, p, n);
	return ofile_appended(f, start);
}

int ofile_sync(struct ofile *f, struct ofile_pos *pos)
{
	int err = f->buf.len ? write_out(f) : 0;

	if (!err && f->size != f->committed && fdatasync(f->fd)) {
		err = -errno;
		log_warn("fdatasync %s", f->path);
	}
	ofile_position(f, pos);
	return err;
}

int ofile_flush(struct ofile *f, struct ofile_pos *pos)
{
	int err = f->buf.len ? write_out(f) : 0;

	ofile_position(f, pos);
	return err;
}

int ofile_datasync(const struct ofile *f)
{
	if (fdatasync(f->fd)) {
		int err = -errno;

		log_warn("fdatasync %s", f->path);
		return err;
	}
	return 0;
}

void ofile_commit(struct ofile *f)
{
	f->committed = f->size;
}

void ofile_commit_at(struct ofile *f, uint64_t offset)
{
	f->committed = offset;
}

int ofile_rewind(struct ofile *f, uint64_t off)
{
	uint64_t written = f->size - f->buf.len;

	if (off >= written) { /* all in the buffer still */
		f->buf.len = off - written;
		f->size = off;
		return 0;
	}
	jbuf_reset(&f->buf);
	f->size = off;
	if (ftruncate(f->fd, off)) {
		int err = -errno;

		log_warn("rolling %s back to offset %llu", f->path, (unsigned long long)off);
		return err;
	}
	return 0;
}

int ofile_rollback(struct ofile *f)
{
	return ofile_rewind(f, f->committed);
}

bool ofile_rotate_due(const struct ofile *f, uint64_t now_ns)
{
	if (f->size == 0)
		return false;
	return (f->rotate.max_bytes && f->size >= f->rotate.max_bytes) ||
	       (f->rotate.max_age_ns && now_ns - f->opened_ns >= f->rotate.max_age_ns);
}

/* path with the UTC time inserted before its extension; -N added while the name exists. */
static int rotated_name(const char *path, char *out, size_t len)
{
	const char *slash = strrchr(path, '/');
	const char *dot = strrchr(slash ? slash + 1 : path, '.');
	size_t stem = dot && dot != (slash ? slash + 1 : path) ? (size_t)(dot - path) : strlen(path);
	const char *ext = path + stem;
	time_t now = time(NULL);
	char stamp[32];
	struct tm tm;

	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm);
	for (int n = 0; n < 1000; n++) {
		int w = n ? snprintf(out, len, "%.*s-%s-%d%s", (int)stem, path, stamp, n, ext)
			  : snprintf(out, len, "%.*s-%s%s", (int)stem, path, stamp, ext);

		if (w >= (int)len)
			return -ENAMETOOLONG;
		if (access(out, F_OK))
			return 0;
	}
	return -EEXIST;
}

int ofile_rotate(struct ofile *f)
{
	char to[4096 + 64];
	int err = rotated_name(f->path, to, sizeof(to));

	if (err) {
		log_warnx("rotating %s: %s", f->path, strerror(-err));
		return err;
	}
	if (rename(f->path, to)) {
		err = -errno;
		log_warn("rotating %s to %s", f->path, to);
		return err;
	}
	log_info("rotated %s to %s", f->path, to);
	close(f->fd);
	f->fd = -1;
	return open_live(f);
}

int ofile_reopen(struct ofile *f)
{
	close(f->fd);
	f->fd = -1;
	return open_live(f);
}

void ofile_position(const struct ofile *f, struct ofile_pos *pos)
{
	pos->dev = f->dev;
	pos->ino = f->ino;
	pos->off = f->size;
}
