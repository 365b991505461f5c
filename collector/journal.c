/* The commit journal: see journal.h. */
#include "journal.h"

#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io.h"
#include "json.h"
#include "log.h"
#include "table.h"

#define RECORD_HEADER 8

struct journal {
	char path[4096], tmp_path[4096 + 8], dir[4096];
	int fd;
	uint64_t size; /* bytes in the file */
	uint64_t commits;
	struct table *agents;
	struct journal_output outputs[JOURNAL_MAX_OUTPUTS];
	size_t n_outputs;
	struct jbuf rec; /* the record being written */
};

static void put_u8(struct jbuf *b, uint8_t v)
{
	jbuf_raw(b, (const char *)&v, 1);
}

static void put_u16(struct jbuf *b, uint16_t v)
{
	v = htole16(v);
	jbuf_raw(b, (const char *)&v, sizeof(v));
}

static void put_u32(struct jbuf *b, uint32_t v)
{
	v = htole32(v);
	jbuf_raw(b, (const char *)&v, sizeof(v));
}

static void put_u64(struct jbuf *b, uint64_t v)
{
	v = htole64(v);
	jbuf_raw(b, (const char *)&v, sizeof(v));
}

/* A bounds-checked reader over one record's body. */
struct reader {
	const uint8_t *p, *end;
	bool bad;
};

static const uint8_t *take(struct reader *r, size_t n)
{
	const uint8_t *p = r->p;

	if (r->bad || (size_t)(r->end - r->p) < n) {
		r->bad = true;
		return NULL;
	}
	r->p += n;
	return p;
}

static uint64_t get_le(struct reader *r, size_t n)
{
	const uint8_t *p = take(r, n);
	uint64_t v = 0;

	for (size_t i = 0; p && i < n; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* A string of len bytes into dst[cap] (NUL-terminated); bad when it does not fit. */
static void get_str(struct reader *r, size_t len, char *dst, size_t cap)
{
	const uint8_t *p = take(r, len);

	if (!p || len >= cap) {
		r->bad = true;
		return;
	}
	memcpy(dst, p, len);
	dst[len] = 0;
}

struct journal_agent *journal_agent(struct journal *j, const char *id, bool create)
{
	char key[FEED_ID_MAX] = { 0 };
	size_t len = strlen(id);
	struct journal_agent *a;
	uint64_t h;

	if (len >= FEED_ID_MAX)
		return NULL;
	memcpy(key, id, len);
	h = table_hash(j->agents, key, sizeof(key));
	a = table_find(j->agents, h, key);
	if (a || !create)
		return a;
	a = table_insert(j->agents, h, key, 0);
	if (a) {
		a->acked = 0;
		a->pending = 0;
	}
	return a;
}

static void apply_batch(struct journal *j, const char *id, uint64_t seq)
{
	struct journal_agent *a = journal_agent(j, id, true);

	if (!a) {
		log_warnx("journal: more than %u agents: forgetting %s's seq %llu", JOURNAL_MAX_AGENTS,
			  id, (unsigned long long)seq);
		return;
	}
	if (seq > a->acked)
		a->acked = seq;
}

static void apply_output(struct journal *j, const struct journal_output *o)
{
	size_t i;

	for (i = 0; i < j->n_outputs; i++)
		if (!strcmp(j->outputs[i].name, o->name))
			break;
	if (i == j->n_outputs) {
		if (j->n_outputs == JOURNAL_MAX_OUTPUTS)
			return;
		j->n_outputs++;
	}
	j->outputs[i] = *o;
}

/* Reads one record body into the state. 0, or -EBADMSG. */
static int apply_record(struct journal *j, const uint8_t *p, size_t len)
{
	struct reader r = { p, p + len, false };
	struct journal_output o;
	char id[FEED_ID_MAX];
	size_t n;

	n = get_le(&r, 1);
	for (size_t i = 0; i < n && !r.bad; i++) {
		memset(&o, 0, sizeof(o));
		get_str(&r, get_le(&r, 1), o.name, sizeof(o.name));
		get_str(&r, get_le(&r, 2), o.path, sizeof(o.path));
		o.pos.dev = get_le(&r, 8);
		o.pos.ino = get_le(&r, 8);
		o.pos.off = get_le(&r, 8);
		if (!r.bad)
			apply_output(j, &o);
	}
	n = get_le(&r, 4);
	for (size_t i = 0; i < n && !r.bad; i++) {
		uint64_t seq;

		get_str(&r, get_le(&r, 1), id, sizeof(id));
		seq = get_le(&r, 8);
		if (!r.bad)
			apply_batch(j, id, seq);
	}
	return r.bad || r.p != r.end ? -EBADMSG : 0;
}

/* Reads the whole journal; a torn or corrupt record ends it. */
static int load(struct journal *j)
{
	struct jbuf buf = { 0 };
	uint64_t good = 0;
	int fd = open(j->path, O_RDONLY | O_CLOEXEC);
	int err = 0;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	err = io_read_all(fd, &buf, SIZE_MAX);
	if (err)
		goto cleanup;
	while (buf.len - good >= RECORD_HEADER) {
		const uint8_t *h = (const uint8_t *)buf.p + good;
		uint32_t len = le32toh(*(const uint32_t *)h), crc = le32toh(*(const uint32_t *)(h + 4));

		if (buf.len - good - RECORD_HEADER < len ||
		    crc32(0, h + RECORD_HEADER, len) != crc || apply_record(j, h + RECORD_HEADER, len))
			break;
		good += RECORD_HEADER + len;
	}
	if (good != buf.len)
		log_warnx("journal %s: dropping %zu bytes of a torn or corrupt record at offset %llu",
			  j->path, buf.len - (size_t)good, (unsigned long long)good);
cleanup:
	close(fd);
	jbuf_free(&buf);
	return err;
}

/* The record of a commit, in j->rec. */
static void build(struct journal *j, const struct journal_output *outs, size_t n_outs,
		  const struct journal_batch *batches, size_t n_batches)
{
	struct jbuf *b = &j->rec;

	jbuf_reset(b);
	put_u32(b, 0);
	put_u32(b, 0);
	put_u8(b, n_outs);
	for (size_t i = 0; i < n_outs; i++) {
		put_u8(b, strlen(outs[i].name));
		jbuf_lit(b, outs[i].name);
		put_u16(b, strlen(outs[i].path));
		jbuf_lit(b, outs[i].path);
		put_u64(b, outs[i].pos.dev);
		put_u64(b, outs[i].pos.ino);
		put_u64(b, outs[i].pos.off);
	}
	put_u32(b, n_batches);
	for (size_t i = 0; i < n_batches; i++) {
		put_u8(b, strlen(batches[i].agent_id));
		jbuf_lit(b, batches[i].agent_id);
		put_u64(b, batches[i].seq);
	}
	if (!b->failed) {
		uint32_t len = htole32(b->len - RECORD_HEADER);
		uint32_t crc = htole32(crc32(0, (const uint8_t *)b->p + RECORD_HEADER,
					     b->len - RECORD_HEADER));

		memcpy(b->p, &len, 4);
		memcpy(b->p + 4, &crc, 4);
	}
}

/* Rewrites the journal as one record of the state, atomically (temporary file, fsync,
 * rename, directory fsync), and opens it for appending. */
static int compact(struct journal *j)
{
	struct journal_batch *all = NULL;
	size_t n = 0;
	int fd = -1, err;

	all = calloc(table_count(j->agents) + 1, sizeof(*all));
	if (!all)
		return -ENOMEM;
	for (struct journal_agent *a = table_oldest(j->agents); a; a = table_newer(j->agents, a))
		if (a->acked)
			all[n++] = (struct journal_batch){ a->id, a->acked };
	build(j, j->outputs, j->n_outputs, all, n);
	free(all);
	if (j->rec.failed)
		return -ENOMEM;
	fd = open(j->tmp_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd < 0) {
		err = -errno;
		goto fail;
	}
	err = io_write_all(fd, j->rec.p, j->rec.len);
	if (!err && fdatasync(fd))
		err = -errno;
	if (!err && rename(j->tmp_path, j->path))
		err = -errno;
	if (!err)
		err = ofile_sync_dir(j->dir);
	if (err)
		goto fail;
	if (j->fd >= 0)
		close(j->fd);
	j->fd = fd;
	j->size = j->rec.len; /* later records go after it: the file offset is there */
	return 0;
fail:
	log_warnx("journal: compacting %s: %s", j->path, strerror(-err));
	if (fd >= 0)
		close(fd);
	unlink(j->tmp_path);
	return err;
}

int journal_open(const char *dir, struct journal **out)
{
	struct table_opts topts = {
		.max_entries = JOURNAL_MAX_AGENTS,
		.entry_size = sizeof(struct journal_agent),
		.key_size = FEED_ID_MAX,
		.when_full = TABLE_REFUSE,
		.chain_load = 4,
	};
	struct journal *j = calloc(1, sizeof(*j));
	int err;

	if (!j)
		return -ENOMEM;
	j->fd = -1;
	snprintf(j->dir, sizeof(j->dir), "%s", dir);
	if (snprintf(j->path, sizeof(j->path), "%s/journal", dir) >= (int)sizeof(j->path)) {
		err = -ENAMETOOLONG;
		goto fail;
	}
	snprintf(j->tmp_path, sizeof(j->tmp_path), "%s.tmp", j->path);
	j->agents = table_new(&topts);
	if (!j->agents) {
		err = -ENOMEM;
		goto fail;
	}
	err = load(j);
	if (err) {
		log_warnx("journal: reading %s: %s", j->path, strerror(-err));
		goto fail;
	}
	err = compact(j);
	if (err)
		goto fail;
	*out = j;
	return 0;
fail:
	journal_free(j);
	return err;
}

void journal_free(struct journal *j)
{
	if (!j)
		return;
	if (j->fd >= 0)
		close(j->fd);
	table_free(j->agents);
	jbuf_free(&j->rec);
	free(j);
}

const struct journal_output *journal_output(const struct journal *j, const char *name)
{
	for (size_t i = 0; i < j->n_outputs; i++)
		if (!strcmp(j->outputs[i].name, name))
			return &j->outputs[i];
	return NULL;
}

int journal_prepare(struct journal *j, const struct journal_output *outs, size_t n_outs,
		    const struct journal_batch *batches, size_t n_batches)
{
	if (n_outs > JOURNAL_MAX_OUTPUTS)
		return -EINVAL;
	build(j, outs, n_outs, batches, n_batches);
	return j->rec.failed ? -ENOMEM : 0;
}

int journal_write(struct journal *j)
{
	int err = io_write_all(j->fd, j->rec.p, j->rec.len);

	if (!err && fdatasync(j->fd))
		err = -errno;
	if (err) {
		log_warnx("journal: writing %s: %s", j->path, strerror(-err));
		/* A partial record must not stay in front of the next one. */
		if (ftruncate(j->fd, j->size) == 0)
			lseek(j->fd, j->size, SEEK_SET);
	}
	return err;
}

void journal_apply(struct journal *j, const struct journal_output *outs, size_t n_outs,
		   const struct journal_batch *batches, size_t n_batches)
{
	j->size += j->rec.len;
	j->commits++;
	for (size_t i = 0; i < n_outs; i++)
		apply_output(j, &outs[i]);
	for (size_t i = 0; i < n_batches; i++)
		apply_batch(j, batches[i].agent_id, batches[i].seq);
	/* Compaction failing leaves the long journal in place: still correct. */
	if (j->size > JOURNAL_COMPACT_AT)
		compact(j);
}

int journal_commit(struct journal *j, const struct journal_output *outs, size_t n_outs,
		   const struct journal_batch *batches, size_t n_batches)
{
	int err = journal_prepare(j, outs, n_outs, batches, n_batches);

	err = err ?: journal_write(j);
	if (!err)
		journal_apply(j, outs, n_outs, batches, n_batches);
	return err;
}

uint64_t journal_commits(const struct journal *j)
{
	return j->commits;
}
