#include <arpa/inet.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "origin.h"

#define MS 1000000ULL
#define TYPE_A 1
#define TYPE_AAAA 28

static struct origin *o;

static int setup(void **state)
{
	(void)state;
	o = origin_new();
	return o ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	origin_free(o);
	return 0;
}

struct msg {
	struct proc_info proc;
	struct dns_msg dns;
	struct event ev;
};

/* One DNS message of process pid (-1: unknown) from src to dst ("ip:port"). */
static struct event *msg(struct msg *m, int pid, const char *comm, uint8_t direction, bool qr,
			 const char *src, uint16_t sport, const char *dst, uint16_t dport,
			 uint16_t id, const char *qname, uint16_t qtype, uint64_t cookie)
{
	memset(m, 0, sizeof(*m));
	m->proc = (struct proc_info){ .pid = pid, .tid = pid, .ppid = 1, .uid = 0, .gid = 0,
				      .exe = "/usr/bin/x", .cgroup_id = 9 };
	snprintf(m->proc.comm, sizeof(m->proc.comm), "%s", comm);
	m->dns = (struct dns_msg){ .id = id, .qr = qr, .has_question = true, .qname = qname,
				   .qtype = qtype, .qclass = 1 };
	m->ev = (struct event){ .type = EVENT_DNS, .process = m->proc, .dns = &m->dns };
	m->ev.net = (struct net_info){ .transport = 17, .family = 4, .direction = direction,
				       .src_port = sport, .dst_port = dport,
				       .socket_cookie = cookie };
	assert_int_equal(inet_pton(AF_INET, src, m->ev.net.src_ip), 1);
	assert_int_equal(inet_pton(AF_INET, dst, m->ev.net.dst_ip), 1);
	return &m->ev;
}

/* A client's query to the stub at 127.0.0.2 as both sockets see it: client egress, stub
 * ingress. Neither gets an origin. */
static void client_asks_stub(int client, const char *comm, uint16_t port, uint16_t id,
			     const char *qname, uint16_t qtype, int stub, uint64_t t)
{
	struct proc_info got;
	struct msg m;

	assert_false(origin_message(o, msg(&m, client, comm, NET_EGRESS, false, "127.0.0.1", port,
					    "127.0.0.2", 53, id, qname, qtype, 1000 + port),
				    t, &got));
	assert_false(origin_message(o, msg(&m, stub, "dnsmasq", NET_INGRESS, false, "127.0.0.1",
					    port, "127.0.0.2", 53, id, qname, qtype, 5),
				    t + 1000, &got));
}

/* The stub's query upstream; true when it got an origin. */
static bool stub_forwards(int stub, uint16_t id, const char *qname, uint16_t qtype, uint64_t t,
			  struct proc_info *got)
{
	struct msg m;

	return origin_message(o, msg(&m, stub, "dnsmasq", NET_EGRESS, false, "127.0.0.1", 50000,
				     "127.53.0.1", 53, id, qname, qtype, 77),
			      t, got);
}

static void stub_upstream_query_and_response_carry_client(void **state)
{
	struct proc_info got;
	struct msg m;

	(void)state;
	client_asks_stub(100, "curl", 40000, 0x1111, "Stub.Example.Test", TYPE_A, 200, MS);
	/* unbound's 0x20 randomisation or not, the question is the same */
	assert_true(stub_forwards(200, 0x2222, "sTuB.example.TEST", TYPE_A, 2 * MS, &got));
	assert_int_equal(got.pid, 100);
	assert_string_equal(got.comm, "curl");
	assert_int_equal(got.cgroup_id, 9);
	/* identity only: the pipeline fills the rest from /proc */
	assert_int_equal(got.ppid, -1);
	assert_null(got.exe);

	memset(&got, 0, sizeof(got));
	assert_true(origin_message(o, msg(&m, 200, "dnsmasq", NET_INGRESS, true, "127.53.0.1", 53,
					  "127.0.0.1", 50000, 0x2222, "stub.example.test", TYPE_A,
					  77),
				   3 * MS, &got));
	assert_int_equal(got.pid, 100);
}

static void other_question_or_process_gets_no_origin(void **state)
{
	struct proc_info got;
	struct msg m;

	(void)state;
	client_asks_stub(100, "curl", 40000, 1, "stub.example.test", TYPE_A, 200, MS);
	assert_false(stub_forwards(200, 2, "stub.example.test", TYPE_AAAA, 2 * MS, &got));
	assert_false(stub_forwards(200, 3, "other.example.test", TYPE_A, 2 * MS, &got));
	assert_false(stub_forwards(201, 4, "stub.example.test", TYPE_A, 2 * MS, &got));
	/* A response on a socket that forwarded nothing. */
	assert_false(origin_message(o, msg(&m, 200, "dnsmasq", NET_INGRESS, true, "127.53.0.1", 53,
					   "127.0.0.1", 50000, 3, "other.example.test", TYPE_A, 78),
				    3 * MS, &got));
}

static void question_older_than_window_gets_no_origin(void **state)
{
	struct proc_info got;

	(void)state;
	client_asks_stub(100, "curl", 40000, 1, "stub.example.test", TYPE_A, 200, MS);
	assert_false(stub_forwards(200, 2, "stub.example.test", TYPE_A, MS + ORIGIN_WINDOW_NS + MS,
				   &got));
}

static void first_client_asking_is_the_origin(void **state)
{
	struct proc_info got;

	(void)state;
	client_asks_stub(100, "curl", 40000, 1, "stub.example.test", TYPE_A, 200, MS);
	client_asks_stub(101, "wget", 40001, 2, "stub.example.test", TYPE_A, 200, 2 * MS);
	assert_true(stub_forwards(200, 3, "stub.example.test", TYPE_A, 3 * MS, &got));
	assert_int_equal(got.pid, 100);
}

/* client -> stub 200 -> stub 300 -> upstream: the last leg names the first client. */
static void chain_of_stubs_passes_the_first_client_on(void **state)
{
	struct proc_info got;
	struct msg m;

	(void)state;
	client_asks_stub(100, "curl", 40000, 1, "stub.example.test", TYPE_A, 200, MS);
	assert_true(origin_message(o, msg(&m, 200, "dnsmasq", NET_EGRESS, false, "127.0.0.1", 41000,
					  "127.0.0.3", 53, 9, "stub.example.test", TYPE_A, 80),
				   2 * MS, &got));
	assert_false(origin_message(o, msg(&m, 300, "unbound", NET_INGRESS, false, "127.0.0.1",
					   41000, "127.0.0.3", 53, 9, "stub.example.test", TYPE_A,
					   81),
				    2 * MS + 1000, &got));
	assert_true(origin_message(o, msg(&m, 300, "unbound", NET_EGRESS, false, "127.0.0.3", 42000,
					  "127.53.0.1", 53, 10, "stub.example.test", TYPE_A, 82),
				   3 * MS, &got));
	assert_int_equal(got.pid, 100);
}

static void query_from_unseen_sender_gives_no_origin(void **state)
{
	struct proc_info got;
	struct msg m;

	(void)state;
	/* A remote client: the stub's ingress comes without an egress event before it. */
	assert_false(origin_message(o, msg(&m, 200, "dnsmasq", NET_INGRESS, false, "192.0.2.7",
					   40000, "192.0.2.1", 53, 1, "stub.example.test", TYPE_A,
					   5),
				    MS, &got));
	assert_false(stub_forwards(200, 2, "stub.example.test", TYPE_A, 2 * MS, &got));
	/* An unattributed client (pid unknown) is no origin either. */
	client_asks_stub(-1, "", 40001, 3, "stub.example.test", TYPE_A, 200, 3 * MS);
	assert_false(stub_forwards(200, 4, "stub.example.test", TYPE_A, 4 * MS, &got));
}

static void tables_stay_bounded_and_keep_recent_entries(void **state)
{
	struct proc_info got;
	char name[64];

	(void)state;
	for (int i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "n%d.example.test", i);
		client_asks_stub(1000 + i, "c", 10000 + i % 50000, i, name, TYPE_A, 200, MS + i);
	}
	assert_true(stub_forwards(200, 1, "n9999.example.test", TYPE_A, 2 * MS, &got));
	assert_int_equal(got.pid, 10999);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(stub_upstream_query_and_response_carry_client,
						setup, teardown),
		cmocka_unit_test_setup_teardown(other_question_or_process_gets_no_origin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(question_older_than_window_gets_no_origin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(first_client_asking_is_the_origin, setup, teardown),
		cmocka_unit_test_setup_teardown(chain_of_stubs_passes_the_first_client_on, setup,
						teardown),
		cmocka_unit_test_setup_teardown(query_from_unseen_sender_gives_no_origin, setup,
						teardown),
		cmocka_unit_test_setup_teardown(tables_stay_bounded_and_keep_recent_entries, setup,
						teardown),
	};

	return cmocka_run_group_tests_name("origin", tests, NULL, NULL);
}
