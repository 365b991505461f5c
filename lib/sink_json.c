/* JSON lines to a file or stdout: events rendered by lib/event_json.c, written in large
 * batches. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_json.h"
#include "io.h"
#include "log.h"
#include "sink.h"

/* Rendered events are written out once this many bytes wait, and on every flush. */
#define JSONL_WRITE_AT (256 << 10)

struct sink_jsonl {
	struct sink base;
	int fd;
	bool owns_fd;
	struct event_json *render;
	struct jbuf buf;  /* events not written yet */
	uint64_t buffered_events;
	bool failing;     /* the last write failed: logged once until one succeeds */
	const char *path;
};

static int jsonl_write(struct sink *s, const struct event *ev)
{
	struct sink_jsonl *j = (struct sink_jsonl *)s;
	struct jbuf *b = &j->buf;
	size_t start = b->len;

	event_json_render(j->render, b, ev);
	jbuf_lit(b, "\n");
	if (b->failed) {
		/* Drop this event only: what is rendered before it stays. */
		b->len = start;
		b->failed = false;
		s->events_lost++;
		return -ENOMEM;
	}
	j->buffered_events++;
	return b->len >= JSONL_WRITE_AT ? s->ops->flush(s) : 0;
}

/* Writes out what is buffered. On an error the buffered events are dropped (the caller
 * counts it) rather than kept to grow without bound. */
static int jsonl_flush(struct sink *s)
{
	struct sink_jsonl *j = (struct sink_jsonl *)s;
	int err = io_write_all(j->fd, j->buf.p, j->buf.len);

	if (err) {
		s->events_lost += j->buffered_events;
		if (!j->failing)
			log_warnx("writing events to %s: %s (events are lost until it works again)",
				  j->path, strerror(-err));
	} else if (j->failing) {
		log_info("writing events to %s works again", j->path);
	}
	j->failing = err;
	j->buffered_events = 0;
	jbuf_reset(&j->buf);
	return err;
}

static void jsonl_free(struct sink *s)
{
	struct sink_jsonl *j = (struct sink_jsonl *)s;

	jsonl_flush(s);
	if (j->owns_fd)
		close(j->fd);
	jbuf_free(&j->buf);
	event_json_free(j->render);
	free(j);
}

static const struct sink_ops jsonl_ops = {
	.write = jsonl_write,
	.flush = jsonl_flush,
	.free = jsonl_free,
};

int sink_jsonl_new(const char *path, struct sink **out)
{
	struct sink_jsonl *j = calloc(1, sizeof(*j));

	if (!j)
		return -ENOMEM;
	j->base.ops = &jsonl_ops;
	j->path = strcmp(path, "-") ? path : "stdout";
	if (strcmp(path, "-") == 0) {
		j->fd = STDOUT_FILENO;
	} else {
		j->fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
		j->owns_fd = true;
	}
	if (j->fd < 0) {
		int err = -errno;

		log_warn("opening %s", path);
		free(j);
		return err;
	}
	j->render = event_json_new();
	if (!j->render) {
		jsonl_free(&j->base);
		return -ENOMEM;
	}
	/* The agent's sink: its events carry the bytes their messages were parsed from. */
	event_json_reuse_dns(j->render);
	*out = &j->base;
	return 0;
}
