/* Real feed bytes for the collector's tests and benchmark, without the agent: the sample
 * events of tests/unit/samples.h encoded with lib/event_pb, batched with lib/feed and framed
 * with lib/frame, exactly as the agent's shipper does.
 *
 *   feedtool hello AGENT_ID                    a Hello frame on stdout
 *   feedtool batch AGENT_ID SEQ N [raw]        a Batch frame of N events (zlib) on stdout;
 *                                              event i of batch SEQ has ts 1700000000 s +
 *                                              SEQ ms + i us, so tests can count each event
 *   feedtool json AGENT_ID SEQ N [raw]         the same events as the agent's JSON lines
 *   feedtool load ADDR PORT CA CERT KEY AGENTS BATCHES EVENTS
 *                                              AGENTS processes, each one agent over TLS,
 *                                              sending BATCHES batches of EVENTS events with
 *                                              FEED_WINDOW in flight; prints the events/s
 *                                              from the first Hello to the last ack */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "clock.h"
#include "dns.h"
#include "event_json.h"
#include "event_pb.h"
#include "feed.h"
#include "frame.h"
#include "samples.h"
#include "tls.h"

static void die(const char *what)
{
	fprintf(stderr, "feedtool: %s\n", what);
	exit(1);
}

static void hello_frame(struct jbuf *out, const char *agent_id)
{
	struct feed_hello h = { .protocol_version = FEED_PROTOCOL_VERSION };

	snprintf(h.agent_id, sizeof(h.agent_id), "%s", agent_id);
	snprintf(h.host, sizeof(h.host), "host-%s", agent_id);
	snprintf(h.boot_id, sizeof(h.boot_id), "boot-1");
	snprintf(h.agent_version, sizeof(h.agent_version), "feedtool");
	if (feed_hello_frame(out, &h))
		die("hello frame");
}

/* A Batch frame of n events: queries and responses in turn, from the fixtures. With json,
 * the agent's JSON line of each event goes there instead. */
static void batch_frame(struct jbuf *out, const char *agent_id, uint64_t seq, size_t n, bool raw,
			struct event_json *json)
{
	static uint8_t q[4096], r[4096];
	static size_t qlen, rlen;
	struct dns_parser *parser = dns_parser_new();
	struct event_pb *pb = event_pb_new(raw ? EVENT_PB_RAW : 0);
	struct feed_batch_header h = { agent_id, "host-a", "boot-1", seq };
	struct jbuf b = { 0 };
	struct dns_msg qm, rm;
	char host[FEED_ID_MAX];

	if (!qlen) {
		qlen = read_fixture("a-query.bin", q, sizeof(q));
		rlen = read_fixture("a-response.bin", r, sizeof(r));
	}
	if (!parser || !pb || dns_parse(parser, q, qlen, &qm))
		die("parsing a-query.bin");
	snprintf(host, sizeof(host), "host-%s", agent_id);
	feed_batch_begin(&b, &h);
	for (size_t i = 0; i < n; i++) {
		struct event ev = net_event(EVENT_DNS);
		const uint8_t *bytes;
		size_t len;

		ev.host = host;
		ev.ts_ns = 1700000000ull * 1000000000 + seq * 1000000 + i * 1000;
		if (i % 2 == 0) {
			ev.dns = &qm;
			ev.raw = q;
			ev.raw_len = qlen;
		} else {
			/* the response parses into the same parser: parse it afresh */
			if (dns_parse(parser, r, rlen, &rm))
				die("parsing a-response.bin");
			ev.dns = &rm;
			ev.raw = r;
			ev.raw_len = rlen;
			ev.net.direction = NET_INGRESS;
			ev.net.src_port = 53;
			ev.net.dst_port = 40000;
			memcpy(ev.net.src_ip, (uint8_t[]){ 127, 0, 0, 53 }, 4);
			memcpy(ev.net.dst_ip, (uint8_t[]){ 127, 0, 0, 1 }, 4);
			ev.latency_ns = 12345;
		}
		if (json) {
			event_json_render(json, out, &ev);
			jbuf_lit(out, "\n");
		} else {
			if (event_pb_encode(pb, &ev, &bytes, &len))
				die("encoding an event");
			feed_batch_add(&b, bytes, len);
		}
		if (i % 2 == 1 && i + 1 < n && dns_parse(parser, q, qlen, &qm))
			die("parsing a-query.bin");
	}
	if (!json && (b.failed || frame_encode(out, FRAME_BATCH, FRAME_F_ZLIB, b.p, b.len)))
		die("batch frame");
	jbuf_free(&b);
	event_pb_free(pb);
	dns_parser_free(parser);
}

static void write_out(const struct jbuf *b)
{
	if (fwrite(b->p, 1, b->len, stdout) != b->len)
		die("writing stdout");
}

/* One agent of the load: connect, Hello, batches 1..n_batches, wait for the last ack. */
static int load_agent(const char *addr, int port, SSL_CTX *ctx, const char *id,
		      struct jbuf *frames, size_t *offsets, size_t n_batches)
{
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(port) };
	struct frame_decoder *dec = frame_decoder_new(NULL);
	struct jbuf hello = { 0 };
	uint64_t acked = 0, sent = 0;
	uint8_t buf[4096];
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;
	SSL *ssl = SSL_new(ctx);
	bool first = true;

	inet_pton(AF_INET, addr, &sin.sin_addr);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) || tls_expect_peer(ssl, addr))
		die("connect");
	SSL_set_fd(ssl, fd);
	if (SSL_connect(ssl) != 1)
		die("TLS handshake");
	hello_frame(&hello, id);
	if (SSL_write(ssl, hello.p, hello.len) != (int)hello.len)
		die("sending the Hello");
	while (acked < n_batches) {
		const uint8_t *p = buf;
		struct frame f;
		size_t len;
		int n;

		while (!first && sent < n_batches && sent < acked + FEED_WINDOW) {
			size_t off = offsets[sent], end = offsets[sent + 1];

			if (SSL_write(ssl, frames->p + off, end - off) != (int)(end - off))
				die("sending a batch");
			sent++;
		}
		n = SSL_read(ssl, buf, sizeof(buf));
		if (n <= 0)
			die("reading acks");
		len = n;
		while (frame_decode(dec, &p, &len, &f) == 1) {
			uint64_t seq;

			if (f.type != FRAME_ACK || feed_ack_decode(f.payload, f.len, &seq))
				die("not an ack");
			if (first) {
				first = false; /* the Hello's answer: what is held already */
				sent = seq;
			}
			acked = seq > acked ? seq : acked;
		}
	}
	SSL_shutdown(ssl);
	SSL_free(ssl);
	close(fd);
	frame_decoder_free(dec);
	jbuf_free(&hello);
	return 0;
}

static int load(char **argv)
{
	struct tls_files files = { argv[2], argv[3], argv[4] };
	long agents = atol(argv[5]), batches = atol(argv[6]), events = atol(argv[7]);
	uint64_t start, elapsed;
	int ready[2], go[2];
	char id[64], c;
	SSL_CTX *ctx;
	int status, failed = 0;

	if (tls_ctx_new(TLS_CLIENT, &files, &ctx) || pipe(ready) || pipe(go))
		die("TLS context");
	for (long a = 0; a < agents; a++) {
		pid_t pid = fork();

		if (pid == 0) {
			struct jbuf frames = { 0 };
			size_t *offsets = calloc(batches + 1, sizeof(*offsets));

			snprintf(id, sizeof(id), "load-%ld-%d", a, getppid());
			/* Every frame is made before the clock matters: the collector is measured,
			 * not the agent's encoder. */
			for (long s = 0; s < batches; s++) {
				offsets[s] = frames.len;
				batch_frame(&frames, id, s + 1, events, false, NULL);
			}
			offsets[batches] = frames.len;
			close(go[1]);
			if (write(ready[1], "r", 1) != 1 || read(go[0], &c, 1) != 0)
				die("waiting for the start");
			exit(load_agent(argv[0], atoi(argv[1]), ctx, id, &frames, offsets, batches));
		}
	}
	close(ready[1]);
	for (long a = 0; a < agents; a++)
		if (read(ready[0], &c, 1) != 1)
			die("an agent died making its frames");
	start = clock_ns(CLOCK_MONOTONIC);
	close(go[1]); /* every agent starts now */
	while (wait(&status) > 0)
		failed += !WIFEXITED(status) || WEXITSTATUS(status);
	elapsed = clock_ns(CLOCK_MONOTONIC) - start;
	printf("%ld %.0f\n", agents * batches * events,
	       agents * batches * events / (elapsed / 1e9));
	SSL_CTX_free(ctx);
	return failed ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct jbuf out = { 0 };

	if (argc == 3 && !strcmp(argv[1], "hello")) {
		hello_frame(&out, argv[2]);
	} else if ((argc == 5 || argc == 6) &&
		   (!strcmp(argv[1], "batch") || !strcmp(argv[1], "json"))) {
		struct event_json *json = strcmp(argv[1], "json") ? NULL : event_json_new();

		batch_frame(&out, argv[2], strtoull(argv[3], NULL, 10), strtoul(argv[4], NULL, 10),
			    argc == 6 && !strcmp(argv[5], "raw"), json);
		event_json_free(json);
	} else if (argc == 10 && !strcmp(argv[1], "load")) {
		return load(argv + 2);
	} else {
		fprintf(stderr, "usage: see the comment at the top of tests/collector/feedtool.c\n");
		return 2;
	}
	write_out(&out);
	jbuf_free(&out);
	return 0;
}
