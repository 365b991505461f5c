/* The on-disk spool: see spool.h for the layout and the fsync policy. */
#include <dirent.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io.h"
#include "log.h"
#include "spool.h"

#define SPOOL_MAGIC "DVSB"
#define SPOOL_VERSION 1
#define SPOOL_HDR_LEN 24
#define SPOOL_SUFFIX ".batch"
#define SPOOL_SEQ_DIGITS 20 /* UINT64_MAX has 20 */
#define SPOOL_NAME_LEN (SPOOL_SEQ_DIGITS + sizeof(SPOOL_SUFFIX) - 1)
#define SPOOL_TMP_PREFIX ".tmp-"
#define SPOOL_FLOOR "floor"

struct spool_entry {
	uint64_t seq;
	uint64_t size; /* of the file, header included: what counts against the cap */
};

struct spool {
	char *dir;
	int dirfd;
	uint64_t cap;
	uint64_t next_seq;
	uint64_t floor; /* every batch up to here is acked or dropped */
	struct spool_entry *v; /* ascending seq */
	size_t n, n_cap;
	/* counters */
	uint64_t bytes, batches, dropped_batches, dropped_bytes, bad_files;
};

static void put_be32(uint8_t *p, uint32_t v)
{
	v = htobe32(v);
	memcpy(p, &v, sizeof(v));
}

static uint32_t get_be32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return be32toh(v);
}

/* The CRC of a record: its header's first 20 bytes and its payload. */
static uint32_t record_crc(const uint8_t *hdr, const void *payload, size_t len)
{
	uLong crc = crc32(0, hdr, 20);

	/* zlib reads a NULL buffer as a request for the initial value. */
	return len ? crc32(crc, payload, len) : crc;
}

static void make_header(uint8_t *h, uint64_t seq, const void *data, size_t len)
{
	uint64_t be = htobe64(seq);

	memcpy(h, SPOOL_MAGIC, 4);
	put_be32(h + 4, SPOOL_VERSION);
	memcpy(h + 8, &be, sizeof(be));
	put_be32(h + 16, len);
	put_be32(h + 20, record_crc(h, data, len));
}

/* Checks a whole file's bytes: NULL and *seq when it is a good record, else why not. */
static const char *check_record(const uint8_t *p, size_t size, uint64_t *seq)
{
	uint64_t be;
	size_t len;

	if (size < SPOOL_HDR_LEN)
		return "truncated header";
	if (memcmp(p, SPOOL_MAGIC, 4) || get_be32(p + 4) != SPOOL_VERSION)
		return "not a spool record";
	memcpy(&be, p + 8, sizeof(be));
	*seq = be64toh(be);
	len = get_be32(p + 16);
	if (size != SPOOL_HDR_LEN + len)
		return "truncated payload";
	if (get_be32(p + 20) != record_crc(p, p + SPOOL_HDR_LEN, len))
		return "checksum mismatch";
	return NULL;
}

/* Reads the record in the file name into out, header included, and its seq. Returns 0,
 * -EBADMSG with *why set, or another negative errno. */
static int read_record(struct spool *s, const char *name, struct jbuf *out, uint64_t *seq,
		       const char **why)
{
	struct stat st;
	int fd, err = 0;
	ssize_t n;

	fd = openat(s->dirfd, name, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st)) {
		err = -errno;
		goto cleanup;
	}
	/* A file the cap could never have let in is not ours to read into memory. */
	if ((uint64_t)st.st_size > s->cap) {
		*why = "larger than the spool";
		err = -EBADMSG;
		goto cleanup;
	}
	jbuf_reset(out);
	if (!jbuf_reserve(out, st.st_size ? st.st_size : 1)) {
		err = -ENOMEM;
		goto cleanup;
	}
	n = pread(fd, out->p, st.st_size, 0);
	if (n < 0) {
		err = -errno;
		goto cleanup;
	}
	*why = check_record((const uint8_t *)out->p, n, seq);
	if (*why) {
		err = -EBADMSG;
		goto cleanup;
	}
	out->len = n;
cleanup:
	close(fd);
	return err;
}

static void batch_name(char *buf, size_t size, uint64_t seq)
{
	snprintf(buf, size, "%0*" PRIu64 SPOOL_SUFFIX, SPOOL_SEQ_DIGITS, seq);
}

/* The seq a batch file name carries, or false when the name is not one. */
static bool parse_batch_name(const char *name, uint64_t *seq)
{
	uint64_t v = 0;

	if (strlen(name) != SPOOL_NAME_LEN || strcmp(name + SPOOL_SEQ_DIGITS, SPOOL_SUFFIX))
		return false;
	for (int i = 0; i < SPOOL_SEQ_DIGITS; i++) {
		unsigned int d = name[i] - '0';

		if (d > 9 || v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
	}
	*seq = v;
	return true;
}

/* Writes a record durably under name: temp file, fsync, rename, fsync of the directory. */
static int write_record(struct spool *s, const char *name, uint64_t seq, const void *data,
			size_t len)
{
	char tmp[sizeof(SPOOL_TMP_PREFIX) + SPOOL_NAME_LEN];
	uint8_t hdr[SPOOL_HDR_LEN];
	int fd, err;

	make_header(hdr, seq, data, len);
	snprintf(tmp, sizeof(tmp), SPOOL_TMP_PREFIX "%s", name);
	fd = openat(s->dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	err = io_write_all(fd, hdr, sizeof(hdr)) ?: io_write_all(fd, data, len);
	if (err)
		goto cleanup;
	if (fsync(fd)) {
		err = -errno;
		goto cleanup;
	}
	if (renameat(s->dirfd, tmp, s->dirfd, name) || fsync(s->dirfd))
		err = -errno;
cleanup:
	close(fd);
	if (err)
		unlinkat(s->dirfd, tmp, 0);
	return err;
}

/* Drops a bad batch file: it can never be delivered. */
static void discard_bad(struct spool *s, const char *name, const char *why)
{
	log_warnx("spool: %s/%s: %s, removed", s->dir, name, why);
	s->bad_files++;
	unlinkat(s->dirfd, name, 0);
}

/* Removes k entries from i on (their files are gone). */
static void remove_entries(struct spool *s, size_t i, size_t k)
{
	for (size_t j = i; j < i + k; j++) {
		s->bytes -= s->v[j].size;
		s->batches--;
	}
	memmove(s->v + i, s->v + i + k, (s->n - i - k) * sizeof(*s->v));
	s->n -= k;
}

/* Reads a batch file, checking that it holds the seq its name says. */
static int read_batch(struct spool *s, const char *name, uint64_t want, struct jbuf *out,
		      const char **why)
{
	uint64_t seq;
	int err = read_record(s, name, out, &seq, why);

	if (!err && seq != want) {
		*why = "seq differs from the file name";
		err = -EBADMSG;
	}
	return err;
}

/* Forgets every batch up to seq: the floor first, so that a crash before the unlinks replays
 * batches (the collector dedups) and never lowers the next seq. *gone: how many went. */
static int forget_upto(struct spool *s, uint64_t seq, size_t *gone)
{
	char name[SPOOL_NAME_LEN + 1];
	size_t k = 0;
	int err;

	if (seq > s->floor) {
		err = write_record(s, SPOOL_FLOOR, seq, NULL, 0);
		if (err)
			return err;
		s->floor = seq;
	}
	while (k < s->n && s->v[k].seq <= seq) {
		batch_name(name, sizeof(name), s->v[k].seq);
		if (unlinkat(s->dirfd, name, 0) && errno != ENOENT)
			log_warn("spool: unlink %s/%s", s->dir, name);
		k++;
	}
	*gone = k;
	remove_entries(s, 0, k);
	return 0;
}

static int push(struct spool *s, uint64_t seq, uint64_t size)
{
	if (s->n == s->n_cap) {
		size_t cap = s->n_cap ? s->n_cap * 2 : 64;
		struct spool_entry *v = realloc(s->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		s->v = v;
		s->n_cap = cap;
	}
	s->v[s->n++] = (struct spool_entry){ seq, size };
	s->bytes += size;
	s->batches++;
	return 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const struct spool_entry *x = a, *y = b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static void load_floor(struct spool *s, struct jbuf *scratch)
{
	const char *why = NULL;
	uint64_t seq;
	int err;

	err = read_record(s, SPOOL_FLOOR, scratch, &seq, &why);
	if (!err)
		s->floor = seq;
	else if (err != -ENOENT)
		/* Batches above a lost floor still give the next seq; only an empty spool with a bad
		 * floor restarts low, and that is logged. */
		log_warnx("spool: %s/%s: %s, ignored", s->dir, SPOOL_FLOOR,
			  err == -EBADMSG ? why : strerror(-err));
}

/* Loads what an earlier run left: every good batch above the floor, in seq order. */
static int scan(struct spool *s)
{
	struct jbuf scratch = { 0 };
	struct dirent *de;
	DIR *d;
	int fd, err = 0;

	fd = dup(s->dirfd);
	if (fd < 0)
		return -errno;
	d = fdopendir(fd);
	if (!d) {
		close(fd);
		return -errno;
	}
	load_floor(s, &scratch);
	while ((de = readdir(d))) {
		const char *why = NULL;
		uint64_t seq;

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    !strcmp(de->d_name, SPOOL_FLOOR))
			continue;
		if (!strncmp(de->d_name, SPOOL_TMP_PREFIX, strlen(SPOOL_TMP_PREFIX))) {
			/* Half-written when the agent died: never acknowledged as stored. */
			log_info("spool: %s/%s: unfinished write, removed", s->dir, de->d_name);
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		if (!parse_batch_name(de->d_name, &seq)) {
			log_warnx("spool: %s/%s: not a spool file, skipped", s->dir, de->d_name);
			continue;
		}
		if (seq <= s->floor) {
			/* Acked or dropped before a crash cut the unlink short. */
			unlinkat(s->dirfd, de->d_name, 0);
			continue;
		}
		err = read_batch(s, de->d_name, seq, &scratch, &why);
		if (err == -EBADMSG) {
			discard_bad(s, de->d_name, why);
			err = 0;
			continue;
		}
		if (err) {
			log_warnx("spool: %s/%s: %s, skipped", s->dir, de->d_name, strerror(-err));
			err = 0;
			continue;
		}
		err = push(s, seq, scratch.len);
		if (err)
			goto cleanup;
	}
	qsort(s->v, s->n, sizeof(*s->v), cmp_entry);
	s->next_seq = s->floor + 1;
	if (s->n && s->v[s->n - 1].seq >= s->next_seq)
		s->next_seq = s->v[s->n - 1].seq + 1;
cleanup:
	closedir(d);
	jbuf_free(&scratch);
	return err;
}

int spool_open(const char *dir, uint64_t cap_bytes, struct spool **out)
{
	struct spool *s;
	int err;

	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->dirfd = -1;
	s->cap = cap_bytes;
	s->dir = strdup(dir);
	if (!s->dir) {
		err = -ENOMEM;
		goto cleanup;
	}
	if (mkdir(dir, 0700) && errno != EEXIST) {
		err = -errno;
		log_warn("spool: mkdir %s", dir);
		goto cleanup;
	}
	s->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->dirfd < 0) {
		err = -errno;
		log_warn("spool: open %s", dir);
		goto cleanup;
	}
	err = scan(s);
	if (err)
		goto cleanup;
	if (s->n)
		log_info("spool: %s: %zu batches to replay, seq %" PRIu64 "..%" PRIu64, dir, s->n,
			 s->v[0].seq, s->v[s->n - 1].seq);
	*out = s;
	return 0;
cleanup:
	spool_close(s);
	return err;
}

void spool_close(struct spool *s)
{
	if (!s)
		return;
	if (s->dirfd >= 0)
		close(s->dirfd);
	free(s->v);
	free(s->dir);
	free(s);
}

uint64_t spool_next_seq(const struct spool *s)
{
	return s->next_seq;
}

size_t spool_count(const struct spool *s)
{
	return s->n;
}

int spool_append(struct spool *s, uint64_t seq, const void *data, size_t len)
{
	char name[SPOOL_NAME_LEN + 1];
	uint64_t size = SPOOL_HDR_LEN + (uint64_t)len;
	int err;

	if (seq < s->next_seq || seq == UINT64_MAX)
		return -EINVAL;
	if (size > s->cap || len > UINT32_MAX)
		return -EFBIG;
	/* Oldest first out: the newest data says the most about the host now. */
	if (s->bytes + size > s->cap) {
		uint64_t need = s->bytes + size - s->cap, freed = 0;
		size_t k = 0, gone;

		while (freed < need)
			freed += s->v[k++].size;
		err = forget_upto(s, s->v[k - 1].seq, &gone);
		if (err)
			return err;
		s->dropped_batches += gone;
		s->dropped_bytes += freed;
		log_warnx("spool: %s full, dropped %zu oldest batches", s->dir, gone);
	}
	batch_name(name, sizeof(name), seq);
	err = write_record(s, name, seq, data, len);
	if (err)
		return err;
	s->next_seq = seq + 1;
	return push(s, seq, size);
}

int spool_next_unacked(struct spool *s, uint64_t after, uint64_t *seq, struct jbuf *out)
{
	char name[SPOOL_NAME_LEN + 1];
	size_t i = 0;

	while (i < s->n && s->v[i].seq <= after)
		i++;
	while (i < s->n) {
		const char *why = NULL;
		int err;

		batch_name(name, sizeof(name), s->v[i].seq);
		err = read_batch(s, name, s->v[i].seq, out, &why);
		if (!err) {
			/* The caller wants the payload: move it over the header. */
			out->len -= SPOOL_HDR_LEN;
			memmove(out->p, out->p + SPOOL_HDR_LEN, out->len);
			*seq = s->v[i].seq;
			return 1;
		}
		if (err != -EBADMSG && err != -ENOENT)
			return err;
		discard_bad(s, name, err == -ENOENT ? "missing" : why);
		remove_entries(s, i, 1);
	}
	return 0;
}

int spool_ack(struct spool *s, uint64_t seq)
{
	size_t gone;

	/* An ack of a batch never made is the collector's mistake, and would lift the floor
	 * over seqs still to come. */
	if (seq >= s->next_seq)
		return -EINVAL;
	return forget_upto(s, seq, &gone);
}

int spool_declare_stats(struct spool *s, struct stats_registry *r)
{
	int err;

	err = stats_u64(r, "spool_bytes", &s->bytes);
	if (!err)
		err = stats_u64(r, "spool_batches", &s->batches);
	if (!err)
		err = stats_u64(r, "spool_dropped_batches", &s->dropped_batches);
	if (!err)
		err = stats_u64(r, "spool_dropped_bytes", &s->dropped_bytes);
	if (!err)
		err = stats_u64(r, "spool_bad_files", &s->bad_files);
	return err;
}
