/* The renderer's reuse of a loopback message's rendering (event_json_reuse_dns): each event
 * must render exactly as a renderer that keeps nothing renders it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dns.h"
#include "event_json.h"
#include "samples.h"

struct fixture {
	struct dns_parser *parser;
	struct event_json *reusing, *fresh;
	struct jbuf got, want;
};

static int setup(void **state)
{
	static struct fixture f;

	f.parser = dns_parser_new();
	f.reusing = event_json_new();
	f.fresh = event_json_new();
	assert_non_null(f.parser);
	assert_non_null(f.reusing);
	assert_non_null(f.fresh);
	event_json_reuse_dns(f.reusing);
	*state = &f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	dns_parser_free(f->parser);
	event_json_free(f->reusing);
	event_json_free(f->fresh);
	jbuf_free(&f->got);
	jbuf_free(&f->want);
	return 0;
}

/* Renders ev with both renderers: the reusing one, having rendered what came before, must
 * write what a fresh one writes. */
static void assert_renders_as_fresh(struct fixture *f, const struct event *ev)
{
	event_json_free(f->fresh);
	f->fresh = event_json_new();
	assert_non_null(f->fresh);
	jbuf_reset(&f->got);
	jbuf_reset(&f->want);
	event_json_render(f->reusing, &f->got, ev);
	event_json_render(f->fresh, &f->want, ev);
	assert_false(f->got.failed);
	assert_false(f->want.failed);
	jbuf_raw(&f->got, "", 1);
	jbuf_raw(&f->want, "", 1);
	assert_string_equal(f->got.p, f->want.p);
}

static struct event dns_event(struct fixture *f, const uint8_t *raw, size_t len,
			      struct dns_msg *msg)
{
	struct event ev = net_event(EVENT_DNS);

	assert_int_equal(dns_parse(f->parser, raw, len, msg), 0);
	ev.dns = msg;
	ev.raw = raw;
	ev.raw_len = len;
	return ev;
}

/* A loopback message seen leaving the client and entering the server, then the next
 * message: the second view reuses the first's rendering, the next message does not. */
static void loopback_views_render_as_fresh(void **state)
{
	struct fixture *f = *state;
	uint8_t raw[4096], other[4096];
	size_t len = read_fixture("a-response.bin", raw, sizeof(raw));
	struct dns_msg msg, other_msg;
	struct event leaving = dns_event(f, raw, len, &msg), entering = leaving, next;

	entering.net.direction = NET_INGRESS;
	entering.net.role = ROLE_SERVER;
	entering.net.socket_cookie = 100;
	entering.process.comm[0] = 'u';
	assert_renders_as_fresh(f, &leaving);
	assert_renders_as_fresh(f, &entering);

	/* The same length, another id: a message of its own. */
	memcpy(other, raw, len);
	other[1] ^= 0x5a;
	next = dns_event(f, other, len, &other_msg);
	assert_renders_as_fresh(f, &next);
	assert_renders_as_fresh(f, &leaving);
}

/* Off loopback a message is rendered every time; on IPv6 loopback it may be reused. */
static void other_addresses_render_as_fresh(void **state)
{
	struct fixture *f = *state;
	uint8_t raw[4096];
	size_t len = read_fixture("aaaa-response.bin", raw, sizeof(raw));
	struct dns_msg msg;
	struct event ev = dns_event(f, raw, len, &msg), v6 = ev;

	ev.net.dst_ip[0] = 192;
	assert_renders_as_fresh(f, &ev);
	assert_renders_as_fresh(f, &ev);
	v6.net.family = 6;
	memset(v6.net.src_ip, 0, 16);
	memset(v6.net.dst_ip, 0, 16);
	v6.net.src_ip[15] = v6.net.dst_ip[15] = 1;
	assert_renders_as_fresh(f, &v6);
	assert_renders_as_fresh(f, &v6);
	assert_renders_as_fresh(f, &ev);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(loopback_views_render_as_fresh, setup, teardown),
		cmocka_unit_test_setup_teardown(other_addresses_render_as_fresh, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
