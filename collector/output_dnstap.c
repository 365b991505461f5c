/* dnstap output: dns events as dnstap.Dnstap messages (proto/dnstap.proto) in a Frame Streams
 * file written by libfstrm's writer, whose bytes go through an ofile (the rdwr below) so that
 * the journal knows where they end.
 *
 * Mapping, from the socket the agent watched:
 *   role client (or unknown) sending a query / receiving a response: STUB_QUERY/STUB_RESPONSE,
 *     or RESOLVER_QUERY/RESOLVER_RESPONSE when the socket forwards for a local client
 *     (the event names an origin: a resolver's upstream traffic);
 *   role server receiving a query / sending a response: CLIENT_QUERY/CLIENT_RESPONSE.
 * The querier's address and port are the message's source for a query and its destination
 * for a response. The message bytes are the event's raw bytes: an agent sends them for every
 * message only with its raw option; events without them are skipped and counted. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <fstrm.h>

#include "log.h"
#include "output.h"
#include "proto/dnstap.pb-c.h"

#define CONTENT_TYPE "protobuf:dnstap.Dnstap"
#define VERSION "dnsvigil-collector"
#define EXTRA_MAX 512

struct output_dnstap {
	struct output_file f;
	struct fstrm_writer *writer;
	bool failed; /* a write through the rdwr failed */
	uint8_t *buf;
	size_t cap;
};

static fstrm_res rdwr_open(void *obj)
{
	(void)obj;
	return fstrm_res_success;
}

static fstrm_res rdwr_write(void *obj, const struct iovec *iov, int iovcnt)
{
	struct output_dnstap *d = obj;

	for (int i = 0; i < iovcnt; i++) {
		if (ofile_append(&d->f.file, iov[i].iov_base, iov[i].iov_len)) {
			d->failed = true;
			return fstrm_res_failure;
		}
	}
	return fstrm_res_success;
}

/* A writer over the ofile; opening it writes the START frame. */
static int writer_open(struct output_dnstap *d)
{
	struct fstrm_writer_options *wopt = fstrm_writer_options_init();
	struct fstrm_rdwr *rdwr = fstrm_rdwr_init(d);

	if (!wopt || !rdwr) {
		fstrm_writer_options_destroy(&wopt);
		fstrm_rdwr_destroy(&rdwr);
		return -ENOMEM;
	}
	fstrm_rdwr_set_open(rdwr, rdwr_open);
	fstrm_rdwr_set_close(rdwr, rdwr_open);
	fstrm_rdwr_set_write(rdwr, rdwr_write);
	fstrm_writer_options_add_content_type(wopt, CONTENT_TYPE, strlen(CONTENT_TYPE));
	d->writer = fstrm_writer_init(wopt, &rdwr);
	fstrm_writer_options_destroy(&wopt);
	if (!d->writer)
		return -ENOMEM;
	return fstrm_writer_open(d->writer) == fstrm_res_success && !d->failed ? 0 : -EIO;
}

/* Closing the writer writes the STOP frame. */
static void writer_close(struct output_dnstap *d)
{
	if (d->writer)
		fstrm_writer_destroy(&d->writer);
}

/* Whether the file ends with a STOP frame (a clean close). */
static bool ends_stopped(const char *path, uint64_t size)
{
	uint8_t want[32], tail[32];
	struct fstrm_control *c = fstrm_control_init();
	size_t len = sizeof(want);
	bool stopped = false;
	int fd;

	if (!c)
		return false;
	fstrm_control_set_type(c, FSTRM_CONTROL_STOP);
	if (fstrm_control_encode(c, want, &len, FSTRM_CONTROL_FLAG_WITH_HEADER) ==
		    fstrm_res_success &&
	    size >= len && (fd = open(path, O_RDONLY | O_CLOEXEC)) >= 0) {
		stopped = pread(fd, tail, len, size - len) == (ssize_t)len && !memcmp(tail, want, len);
		close(fd);
	}
	fstrm_control_destroy(&c);
	return stopped;
}

/* Appends a STOP frame to a file an earlier run left without one. */
static int append_stop(struct ofile *f)
{
	struct fstrm_control *c = fstrm_control_init();
	uint8_t stop[32];
	size_t len = sizeof(stop);
	int err = -ENOMEM;

	if (!c)
		return err;
	fstrm_control_set_type(c, FSTRM_CONTROL_STOP);
	if (fstrm_control_encode(c, stop, &len, FSTRM_CONTROL_FLAG_WITH_HEADER) ==
	    fstrm_res_success)
		err = ofile_append(f, stop, len);
	fstrm_control_destroy(&c);
	return err;
}

/* Ends the file at hand with STOP, syncs it, sets it aside and starts a new one with START. */
static int finish_and_rotate(struct output_dnstap *d, bool reopen)
{
	struct ofile *f = &d->f.file;
	struct ofile_pos pos;
	int err = 0;

	if (d->writer)
		writer_close(d);
	else if (f->size && !ends_stopped(f->path, f->size))
		err = append_stop(f);
	err = err ?: ofile_sync(f, &pos);
	if (err)
		return err;
	ofile_commit(f);
	if (f->size)
		err = reopen ? ofile_reopen(f) : ofile_rotate(f);
	/* Reopened the same file (nobody renamed it): it is finished, so it goes aside too. */
	if (!err && f->size)
		err = ofile_rotate(f);
	return err ?: writer_open(d);
}

static int dnstap_open(struct output *o, const struct ofile_pos *committed, const char *path)
{
	struct output_dnstap *d = (struct output_dnstap *)o;
	int err = output_file_open(o, committed, path);

	if (err)
		return err;
	/* A Frame Streams file has one START: what an earlier run left is finished and set
	 * aside, and this run writes a file of its own. */
	return finish_and_rotate(d, false);
}

static int dnstap_maintain(struct output *o, bool reopen, uint64_t now_ns)
{
	struct output_dnstap *d = (struct output_dnstap *)o;
	int err;

	if (!reopen && !ofile_rotate_due(&d->f.file, now_ns))
		return 0;
	err = finish_and_rotate(d, reopen);
	return err ? err : 1;
}

/* "pid=.. comm=.. exe=.. agent=..": the process context, short. */
static size_t render_extra(char *buf, size_t len, const struct event *ev, const char *agent)
{
	const struct proc_info *p = &ev->process;
	int n = snprintf(buf, len, "pid=%d comm=%s exe=%s container=%.12s agent=%s", p->pid,
			 p->comm[0] ? p->comm : "-", p->exe ? p->exe : "-",
			 p->container_id ? p->container_id : "-", agent);

	return n < 0 ? 0 : (size_t)n < len ? (size_t)n : len - 1;
}

static int dnstap_write(struct output *o, const struct event *ev, const uint8_t *pb, size_t len)
{
	struct output_dnstap *d = (struct output_dnstap *)o;
	Dnstap__Dnstap dt = DNSTAP__DNSTAP__INIT;
	Dnstap__Message m = DNSTAP__MESSAGE__INIT;
	const struct net_info *n = &ev->net;
	size_t alen = net_addr_len(n->family), size;
	char extra[EXTRA_MAX];
	bool response;
	int type;

	(void)pb;
	(void)len;
	if (ev->type != EVENT_DNS || !ev->dns || !ev->raw || !ev->raw_len) {
		o->skipped++;
		return 1;
	}
	response = ev->dns->qr;
	if (n->role == ROLE_SERVER)
		type = response ? DNSTAP__MESSAGE__TYPE__CLIENT_RESPONSE
				: DNSTAP__MESSAGE__TYPE__CLIENT_QUERY;
	else if (ev->has_origin)
		type = response ? DNSTAP__MESSAGE__TYPE__RESOLVER_RESPONSE
				: DNSTAP__MESSAGE__TYPE__RESOLVER_QUERY;
	else
		type = response ? DNSTAP__MESSAGE__TYPE__STUB_RESPONSE
				: DNSTAP__MESSAGE__TYPE__STUB_QUERY;
	m.type = type;
	m.has_socket_family = true;
	m.socket_family = n->family == 6 ? DNSTAP__SOCKET_FAMILY__INET6 : DNSTAP__SOCKET_FAMILY__INET;
	m.has_socket_protocol = true;
	m.socket_protocol = n->transport == 6 ? DNSTAP__SOCKET_PROTOCOL__TCP
					      : DNSTAP__SOCKET_PROTOCOL__UDP;
	/* The querier sent a query from its address and receives the response at it. */
	m.has_query_address = m.has_response_address = true;
	m.query_address = (ProtobufCBinaryData){ alen, (uint8_t *)(response ? n->dst_ip : n->src_ip) };
	m.response_address =
		(ProtobufCBinaryData){ alen, (uint8_t *)(response ? n->src_ip : n->dst_ip) };
	m.has_query_port = m.has_response_port = true;
	m.query_port = response ? n->dst_port : n->src_port;
	m.response_port = response ? n->src_port : n->dst_port;
	if (response) {
		m.has_response_time_sec = m.has_response_time_nsec = m.has_response_message = true;
		m.response_time_sec = ev->ts_ns / 1000000000;
		m.response_time_nsec = ev->ts_ns % 1000000000;
		m.response_message = (ProtobufCBinaryData){ ev->raw_len, (uint8_t *)ev->raw };
	} else {
		m.has_query_time_sec = m.has_query_time_nsec = m.has_query_message = true;
		m.query_time_sec = ev->ts_ns / 1000000000;
		m.query_time_nsec = ev->ts_ns % 1000000000;
		m.query_message = (ProtobufCBinaryData){ ev->raw_len, (uint8_t *)ev->raw };
	}
	dt.type = DNSTAP__DNSTAP__TYPE__MESSAGE;
	dt.message = &m;
	if (ev->host) {
		dt.has_identity = true;
		dt.identity = (ProtobufCBinaryData){ strlen(ev->host), (uint8_t *)ev->host };
	}
	dt.has_version = true;
	dt.version = (ProtobufCBinaryData){ strlen(VERSION), (uint8_t *)VERSION };
	dt.has_extra = true;
	dt.extra = (ProtobufCBinaryData){ render_extra(extra, sizeof(extra), ev,
						       d->f.batch->agent_id),
					  (uint8_t *)extra };
	size = dnstap__dnstap__get_packed_size(&dt);
	if (size > d->cap) {
		uint8_t *p = realloc(d->buf, size);

		if (!p)
			return -ENOMEM;
		d->buf = p;
		d->cap = size;
	}
	dnstap__dnstap__pack(&dt, d->buf);
	if (fstrm_writer_write(d->writer, d->buf, size) != fstrm_res_success || d->failed) {
		d->failed = false;
		return -EIO;
	}
	o->events++;
	return 0;
}

static void dnstap_free(struct output *o)
{
	struct output_dnstap *d = (struct output_dnstap *)o;
	struct ofile_pos pos;

	/* The STOP frame, so that the file reads as complete; the next start would add it. */
	if (d->writer && d->f.file.fd >= 0) {
		writer_close(d);
		ofile_sync(&d->f.file, &pos);
	}
	writer_close(d);
	ofile_close(&d->f.file);
	free(d->buf);
	free(d);
}

static const struct output_ops dnstap_ops = {
	.renders = true,
	.open = dnstap_open,
	.begin = output_file_begin,
	.abort = output_file_abort,
	.write = dnstap_write,
	.flush = output_file_flush,
	.sync = output_file_sync,
	.commit = output_file_commit,
	.rollback = output_file_rollback,
	.maintain = dnstap_maintain,
	.free = dnstap_free,
};

int output_dnstap_new(const struct output_opts *opts, struct output **out)
{
	struct output_dnstap *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	output_file_init(&d->f, &dnstap_ops, "dnstap", opts);
	*out = &d->f.base;
	return 0;
}
