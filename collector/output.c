/* The file outputs' shared ops, and the JSON lines and protobuf outputs (output.h). */
#include "output.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "event_json.h"
#include "log.h"

#define FILE_OF(o) ((struct output_file *)(o))

int output_file_open(struct output *o, const struct ofile_pos *committed,
		     const char *committed_path)
{
	struct output_file *f = FILE_OF(o);

	return ofile_open(&f->file, f->opts.path, &f->opts.rotate, committed, committed_path);
}

int output_file_flush(struct output *o, struct ofile_pos *pos)
{
	return ofile_flush(&FILE_OF(o)->file, pos);
}

int output_file_sync(struct output *o)
{
	return ofile_datasync(&FILE_OF(o)->file);
}

void output_file_commit(struct output *o, const struct ofile_pos *pos)
{
	ofile_commit_at(&FILE_OF(o)->file, pos->off);
}

int output_file_rollback(struct output *o)
{
	return ofile_rollback(&FILE_OF(o)->file);
}

int output_file_maintain(struct output *o, bool reopen, uint64_t now_ns)
{
	struct ofile *f = &FILE_OF(o)->file;
	int err;

	if (reopen)
		err = ofile_reopen(f);
	else if (ofile_rotate_due(f, now_ns))
		err = ofile_rotate(f);
	else
		return 0;
	return err ? err : 1;
}

void output_file_begin(struct output *o, const struct batch_origin *b)
{
	FILE_OF(o)->batch = b;
	FILE_OF(o)->mark = FILE_OF(o)->file.size;
}

int output_file_abort(struct output *o)
{
	return ofile_rewind(&FILE_OF(o)->file, FILE_OF(o)->mark);
}

void output_file_init(struct output_file *f, const struct output_ops *ops, const char *name,
		      const struct output_opts *opts)
{
	f->base.ops = ops;
	f->base.name = name;
	f->base.path = opts->path;
	f->opts = *opts;
	f->file.fd = -1;
}

/* JSON lines */

struct output_jsonl {
	struct output_file f;
	struct event_json *render;
};

static void jsonl_begin(struct output *o, const struct batch_origin *b)
{
	struct output_jsonl *j = (struct output_jsonl *)o;

	output_file_begin(o, b);
	event_json_set_origin(j->render, b->agent_id, b->cert);
}

static int jsonl_write(struct output *o, const struct event *ev, const uint8_t *pb, size_t len)
{
	struct output_jsonl *j = (struct output_jsonl *)o;
	struct jbuf *b = &j->f.file.buf;
	size_t start = b->len;

	(void)pb;
	(void)len;
	if (!event_type_name(ev->type)) {
		o->skipped++;
		return 1;
	}
	event_json_render(j->render, b, ev);
	jbuf_lit(b, "\n");
	o->events++;
	return ofile_appended(&j->f.file, start);
}

static void jsonl_free(struct output *o)
{
	struct output_jsonl *j = (struct output_jsonl *)o;

	ofile_close(&j->f.file);
	event_json_free(j->render);
	free(j);
}

static const struct output_ops jsonl_ops = {
	.renders = true,
	.open = output_file_open,
	.begin = jsonl_begin,
	.abort = output_file_abort,
	.write = jsonl_write,
	.flush = output_file_flush,
	.sync = output_file_sync,
	.commit = output_file_commit,
	.rollback = output_file_rollback,
	.maintain = output_file_maintain,
	.free = jsonl_free,
};

int output_jsonl_new(const struct output_opts *opts, struct output **out)
{
	struct output_jsonl *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	output_file_init(&j->f, &jsonl_ops, "jsonl", opts);
	j->render = event_json_new();
	if (!j->render) {
		free(j);
		return -ENOMEM;
	}
	*out = &j->f.base;
	return 0;
}

/* Length-delimited protobuf */

/* Appends v as a protobuf varint. */
static void put_varint(struct jbuf *b, uint64_t v)
{
	uint8_t tmp[10];
	size_t n = 0;

	do {
		tmp[n++] = (v & 0x7f) | (v > 0x7f ? 0x80 : 0);
		v >>= 7;
	} while (v);
	jbuf_raw(b, (const char *)tmp, n);
}

static size_t varint_len(uint64_t v)
{
	size_t n = 1;

	while (v > 0x7f) {
		v >>= 7;
		n++;
	}
	return n;
}

/* Event.agent_id: field 3, length-delimited. */
#define EVENT_AGENT_ID_TAG 0x1a

static int pb_write(struct output *o, const struct event *ev, const uint8_t *pb, size_t len)
{
	struct output_file *f = FILE_OF(o);
	struct jbuf *b = &f->file.buf;
	const char *id = f->batch->agent_id;
	size_t id_len = strlen(id), start = b->len;
	const char tag = EVENT_AGENT_ID_TAG;

	(void)ev; /* NULL: pb_ops does not render */
	/* The batch names its agent once; each stored Event names it itself. Appending the field
	 * works on the serialized bytes as they came: of a field that appears twice, protobuf
	 * keeps the last value. */
	put_varint(b, len + 1 + varint_len(id_len) + id_len);
	jbuf_raw(b, (const char *)pb, len);
	jbuf_raw(b, &tag, 1);
	put_varint(b, id_len);
	jbuf_raw(b, id, id_len);
	o->events++;
	return ofile_appended(&f->file, start);
}

static void pb_free(struct output *o)
{
	ofile_close(&FILE_OF(o)->file);
	free(o);
}

static const struct output_ops pb_ops = {
	.open = output_file_open,
	.begin = output_file_begin,
	.abort = output_file_abort,
	.write = pb_write,
	.flush = output_file_flush,
	.sync = output_file_sync,
	.commit = output_file_commit,
	.rollback = output_file_rollback,
	.maintain = output_file_maintain,
	.free = pb_free,
};

int output_pb_new(const struct output_opts *opts, struct output **out)
{
	struct output_file *f = calloc(1, sizeof(*f));

	if (!f)
		return -ENOMEM;
	output_file_init(f, &pb_ops, "pb", opts);
	*out = &f->base;
	return 0;
}
