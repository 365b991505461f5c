#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <netinet/in.h>

#include <cmocka.h>

#include "match.h"

#define US 1000ULL
#define MS 1000000ULL
#define SEC 1000000000ULL
#define MAX_GOT 8
#define TYPE_A 1
#define TYPE_AAAA 28
#define CLASS_IN 1

struct got_timeout {
	struct match_timeout to;
	char qname[DNS_MAX_PRESENTATION];
};

static struct got_timeout got[MAX_GOT];
static size_t n_got;

static void collect(void *ctx, const struct match_timeout *to)
{
	struct got_timeout *g;

	assert_ptr_equal(ctx, got);
	assert_true(n_got < MAX_GOT);
	g = &got[n_got++];
	g->to = *to;
	strcpy(g->qname, to->info.qname);
}

static int reset(void **state)
{
	(void)state;
	n_got = 0;
	return 0;
}

static struct match *new_match(size_t max_pending)
{
	struct match *m = match_new(5 * SEC, max_pending);

	assert_non_null(m);
	return m;
}

/* A UDP packet of socket cookie from (ip4 a.b.c.d as a uint32, port) to (ip, port). */
static struct net_info net4(uint64_t cookie, uint8_t direction, uint32_t src, uint16_t sport,
			    uint32_t dst, uint16_t dport)
{
	struct net_info n = {
		.transport = IPPROTO_UDP,
		.family = 4,
		.direction = direction,
		.src_port = sport,
		.dst_port = dport,
		.socket_cookie = cookie,
	};

	n.src_ip[0] = src >> 24;
	n.src_ip[1] = src >> 16;
	n.src_ip[2] = src >> 8;
	n.src_ip[3] = src;
	n.dst_ip[0] = dst >> 24;
	n.dst_ip[1] = dst >> 16;
	n.dst_ip[2] = dst >> 8;
	n.dst_ip[3] = dst;
	return n;
}

#define CLIENT 0x0a000001 /* 10.0.0.1 */
#define SERVER 0x0a000035 /* 10.0.0.53 */

/* The client socket (cookie 1) asks the server from port 40000. */
static const struct net_info *client_query(void)
{
	static struct net_info n;

	n = net4(1, NET_EGRESS, CLIENT, 40000, SERVER, 53);
	return &n;
}

static const struct net_info *client_response(void)
{
	static struct net_info n;

	n = net4(1, NET_INGRESS, SERVER, 53, CLIENT, 40000);
	return &n;
}

static struct dns_msg msg(uint16_t id, bool qr, const char *qname, uint16_t qtype)
{
	return (struct dns_msg){
		.id = id,
		.qr = qr,
		.has_question = true,
		.qname = qname,
		.qtype = qtype,
		.qclass = CLASS_IN,
	};
}

static void query(struct match *m, const struct net_info *net, uint16_t id, const char *qname,
		  uint16_t qtype, uint64_t ts_ns)
{
	struct dns_msg q = msg(id, false, qname, qtype);

	assert_int_equal(match_query(m, net, NULL, &q, ts_ns), 0);
}

static int64_t response(struct match *m, const struct net_info *net, uint16_t id,
			const char *qname, uint16_t qtype, uint64_t ts_ns)
{
	struct dns_msg r = msg(id, true, qname, qtype);

	return match_response(m, net, &r, ts_ns);
}

static void match_response_gets_latency(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	query(m, client_query(), 0x1234, "example.com", TYPE_A, 1 * SEC);
	assert_int_equal(match_stats(m)->pending, 1);
	assert_int_equal(response(m, client_response(), 0x1234, "example.com", TYPE_A,
				  1 * SEC + 12500 * US),
			 12500 * US);
	assert_int_equal(match_stats(m)->matched, 1);
	assert_int_equal(match_stats(m)->pending, 0);
	match_free(m);
}

static void match_response_forgets_query(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	query(m, client_query(), 1, "example.com", TYPE_A, 0);
	assert_int_equal(response(m, client_response(), 1, "example.com", TYPE_A, 3 * MS), 3 * MS);
	assert_int_equal(response(m, client_response(), 1, "example.com", TYPE_A, 4 * MS), -1);
	assert_int_equal(match_stats(m)->matched, 1);
	assert_int_equal(match_stats(m)->unmatched, 1);
	match_free(m);
}

static void match_unsolicited_response_unmatched(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	assert_int_equal(response(m, client_response(), 99, "example.com", TYPE_A, 0), -1);
	assert_int_equal(match_stats(m)->unmatched, 1);
	assert_int_equal(match_stats(m)->matched, 0);
	match_free(m);
}

static void match_different_qname_same_id_not_matched(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	query(m, client_query(), 7, "a.example", TYPE_A, 0);
	assert_int_equal(response(m, client_response(), 7, "b.example", TYPE_A, 1 * MS), -1);
	assert_int_equal(match_stats(m)->unmatched, 1);
	assert_int_equal(match_stats(m)->pending, 1);
	assert_int_equal(response(m, client_response(), 7, "a.example", TYPE_A, 2 * MS), 2 * MS);
	match_free(m);
}

static void match_different_qtype_not_matched(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	query(m, client_query(), 7, "example.org", TYPE_A, 0);
	query(m, client_query(), 7, "example.org", TYPE_AAAA, 1 * MS);
	assert_int_equal(match_stats(m)->pending, 2);
	assert_int_equal(response(m, client_response(), 7, "example.org", TYPE_AAAA, 5 * MS),
			 4 * MS);
	assert_int_equal(response(m, client_response(), 7, "example.org", TYPE_A, 6 * MS), 6 * MS);
	match_free(m);
}

static void match_case_insensitive_qname(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	/* 0x20 randomisation (draft-vixie-dnsext-dns0x20): servers echo the case asked */
	query(m, client_query(), 5, "wWw.ExAmPlE.CoM", TYPE_A, 0);
	assert_int_equal(response(m, client_response(), 5, "WWW.example.com", TYPE_A, 1 * MS),
			 1 * MS);
	query(m, client_query(), 6, "MiXeD.Example", TYPE_A, 0);
	match_expire(m, 5 * SEC, collect, got);
	assert_int_equal(n_got, 1);
	assert_string_equal(got[0].qname, "mixed.example");
	match_free(m);
}

static void match_timeout_reported_once_with_waited_ns(void **state)
{
	struct match *m = new_match(0);
	struct proc_info curl = {
		.pid = 1234,
		.tid = 1235,
		.ppid = 1,
		.uid = 1000,
		.gid = 100,
		.comm = "curl",
		.exe = "/usr/bin/curl",
		.cmdline = "curl https://example.com",
		.cgroup = "/user.slice",
		.cgroup_id = 77,
	};
	struct dns_msg q = msg(0xbeef, false, "slow.example", TYPE_AAAA);
	const struct match_timeout *to = &got[0].to;

	(void)state;
	assert_int_equal(match_query(m, client_query(), &curl, &q, 1 * SEC), 0);
	match_expire(m, 6 * SEC - 1, collect, got);
	assert_int_equal(n_got, 0);
	match_expire(m, 6 * SEC + 250 * MS, collect, got);
	assert_int_equal(n_got, 1);
	assert_int_equal(to->info.id, 0xbeef);
	assert_string_equal(got[0].qname, "slow.example");
	assert_int_equal(to->info.qtype, TYPE_AAAA);
	assert_int_equal(to->info.qclass, CLASS_IN);
	assert_int_equal(to->info.waited_ns, 5 * SEC + 250 * MS);
	assert_int_equal(to->query_ts_ns, 1 * SEC);
	assert_memory_equal(&to->net, client_query(), sizeof(to->net));
	assert_int_equal(to->process.pid, 1234);
	assert_int_equal(to->process.tid, 1235);
	assert_int_equal(to->process.uid, 1000);
	assert_int_equal(to->process.gid, 100);
	assert_int_equal(to->process.cgroup_id, 77);
	assert_string_equal(to->process.comm, "curl");
	assert_null(to->process.exe);
	assert_null(to->process.cmdline);
	assert_null(to->process.cgroup);

	match_expire(m, 20 * SEC, collect, got);
	assert_int_equal(n_got, 1);
	assert_int_equal(match_stats(m)->timeouts, 1);
	assert_int_equal(match_stats(m)->pending, 0);
	/* a response after the timeout matches nothing */
	assert_int_equal(response(m, client_response(), 0xbeef, "slow.example", TYPE_AAAA, 21 * SEC),
			 -1);
	match_free(m);
}

static void match_unknown_owner_reported_as_unknown(void **state)
{
	struct match *m = new_match(0);
	const struct proc_info *p = &got[0].to.process;

	(void)state;
	query(m, client_query(), 1, "example.com", TYPE_A, 0);
	match_expire(m, 5 * SEC, collect, got);
	assert_int_equal(n_got, 1);
	assert_int_equal(p->pid, -1);
	assert_int_equal(p->tid, -1);
	assert_int_equal(p->ppid, -1);
	assert_int_equal(p->uid, -1);
	assert_int_equal(p->gid, -1);
	assert_string_equal(p->comm, "");
	assert_int_equal(p->cgroup_id, 0);
	match_free(m);
}

static void match_expire_reports_oldest_first(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	query(m, client_query(), 1, "first.example", TYPE_A, 0);
	query(m, client_query(), 2, "second.example", TYPE_A, 1 * SEC);
	query(m, client_query(), 3, "third.example", TYPE_A, 2 * SEC);
	match_expire(m, 6 * SEC, collect, got);
	assert_int_equal(n_got, 2);
	assert_string_equal(got[0].qname, "first.example");
	assert_int_equal(got[0].to.info.waited_ns, 6 * SEC);
	assert_string_equal(got[1].qname, "second.example");
	assert_int_equal(got[1].to.info.waited_ns, 5 * SEC);
	assert_int_equal(match_stats(m)->pending, 1);
	match_free(m);
}

static void match_retransmission_keeps_first_ts(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	query(m, client_query(), 42, "example.net", TYPE_A, 0);
	query(m, client_query(), 42, "example.net", TYPE_A, 1 * SEC);
	assert_int_equal(match_stats(m)->retransmits, 1);
	assert_int_equal(match_stats(m)->queries, 1);
	assert_int_equal(match_stats(m)->pending, 1);
	assert_int_equal(response(m, client_response(), 42, "example.net", TYPE_A, 1200 * MS),
			 1200 * MS);

	/* and the timeout counts from the first transmission too */
	query(m, client_query(), 43, "example.net", TYPE_A, 10 * SEC);
	query(m, client_query(), 43, "example.net", TYPE_A, 12 * SEC);
	match_expire(m, 15 * SEC, collect, got);
	assert_int_equal(n_got, 1);
	assert_int_equal(got[0].to.info.waited_ns, 5 * SEC);
	match_free(m);
}

static void match_client_and_server_sockets_independent(void **state)
{
	struct match *m = new_match(0);
	/* one exchange over loopback, seen on the client socket (1) and the server socket (2) */
	struct net_info server_query = net4(2, NET_INGRESS, CLIENT, 40000, SERVER, 53);
	struct net_info server_response = net4(2, NET_EGRESS, SERVER, 53, CLIENT, 40000);

	(void)state;
	query(m, client_query(), 9, "example.com", TYPE_A, 0);
	query(m, &server_query, 9, "example.com", TYPE_A, 10 * US);
	assert_int_equal(match_stats(m)->pending, 2);
	assert_int_equal(match_stats(m)->retransmits, 0);
	assert_int_equal(response(m, &server_response, 9, "example.com", TYPE_A, 100 * US),
			 90 * US);
	assert_int_equal(response(m, client_response(), 9, "example.com", TYPE_A, 120 * US),
			 120 * US);
	assert_int_equal(match_stats(m)->matched, 2);
	assert_int_equal(match_stats(m)->pending, 0);
	match_free(m);
}

static void match_different_remote_endpoint_not_matched(void **state)
{
	struct match *m = new_match(0);
	/* an unconnected IPv6 server socket (cookie 5), two clients asking the same */
	struct net_info q1 = { .family = 6, .direction = NET_INGRESS, .src_port = 1111,
			       .dst_port = 53, .socket_cookie = 5 };
	struct net_info q2, r1, r2;

	(void)state;
	q1.src_ip[0] = 0x20;
	q1.src_ip[15] = 1;
	q1.dst_ip[0] = 0x20;
	q1.dst_ip[15] = 0x53;
	q2 = q1;
	q2.src_ip[15] = 2;
	r1 = (struct net_info){ .family = 6, .direction = NET_EGRESS, .src_port = 53,
				.dst_port = 1111, .socket_cookie = 5 };
	memcpy(r1.src_ip, q1.dst_ip, 16);
	memcpy(r1.dst_ip, q1.src_ip, 16);
	r2 = r1;
	r2.dst_ip[15] = 2;

	query(m, &q1, 77, "example.com", TYPE_A, 0);
	query(m, &q2, 77, "example.com", TYPE_A, 1 * MS);
	assert_int_equal(match_stats(m)->pending, 2);
	assert_int_equal(response(m, &r2, 77, "example.com", TYPE_A, 3 * MS), 2 * MS);
	/* same address, another port */
	r1.dst_port = 2222;
	assert_int_equal(response(m, &r1, 77, "example.com", TYPE_A, 4 * MS), -1);
	r1.dst_port = 1111;
	assert_int_equal(response(m, &r1, 77, "example.com", TYPE_A, 5 * MS), 5 * MS);
	match_free(m);
}

static void match_table_full_evicts_oldest(void **state)
{
	struct match *m = new_match(2);

	(void)state;
	query(m, client_query(), 1, "one.example", TYPE_A, 0);
	query(m, client_query(), 2, "two.example", TYPE_A, 1 * MS);
	query(m, client_query(), 3, "three.example", TYPE_A, 2 * MS);
	assert_int_equal(match_stats(m)->evicted, 1);
	assert_int_equal(match_stats(m)->pending, 2);
	assert_int_equal(response(m, client_response(), 1, "one.example", TYPE_A, 3 * MS), -1);
	assert_int_equal(response(m, client_response(), 2, "two.example", TYPE_A, 4 * MS), 3 * MS);
	/* the evicted query is not reported as a timeout */
	match_expire(m, 60 * SEC, collect, got);
	assert_int_equal(n_got, 1);
	assert_string_equal(got[0].qname, "three.example");
	assert_int_equal(match_stats(m)->timeouts, 1);
	match_free(m);
}

static void match_long_qname_matched_and_reported(void **state)
{
	struct match *m = new_match(0);
	char upper[300], lower[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(upper) - 1; i++) {
		upper[i] = i % 10 == 9 ? '.' : 'A' + i % 10;
		lower[i] = i % 10 == 9 ? '.' : 'a' + i % 10;
	}
	upper[i] = lower[i] = '\0';
	query(m, client_query(), 1, upper, TYPE_A, 0);
	assert_int_equal(response(m, client_response(), 1, lower, TYPE_A, 1 * MS), 1 * MS);
	query(m, client_query(), 2, upper, TYPE_A, 0);
	/* differs in the last character only */
	lower[sizeof(lower) - 2] = 'x';
	assert_int_equal(response(m, client_response(), 2, lower, TYPE_A, 1 * MS), -1);
	lower[sizeof(lower) - 2] = 'i';
	match_expire(m, 5 * SEC, collect, got);
	assert_int_equal(n_got, 1);
	assert_string_equal(got[0].qname, lower);
	match_free(m);
}

static void match_message_without_question_rejected(void **state)
{
	struct match *m = new_match(0);
	struct dns_msg q = { .id = 3 };
	struct dns_msg r = { .id = 3, .qr = true };

	(void)state;
	assert_int_equal(match_query(m, client_query(), NULL, &q, 0), -EINVAL);
	assert_int_equal(match_stats(m)->pending, 0);
	assert_int_equal(match_response(m, client_response(), &r, 1 * MS), -1);
	assert_int_equal(match_stats(m)->unmatched, 1);
	match_free(m);
}

static void match_response_stamped_before_query_gets_zero(void **state)
{
	struct match *m = new_match(0);

	(void)state;
	/* loopback: two CPUs may stamp the response a little before the query */
	query(m, client_query(), 1, "example.com", TYPE_A, 100 * US);
	assert_int_equal(response(m, client_response(), 1, "example.com", TYPE_A, 90 * US), 0);
	match_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(match_response_gets_latency, reset),
		cmocka_unit_test_setup(match_response_forgets_query, reset),
		cmocka_unit_test_setup(match_unsolicited_response_unmatched, reset),
		cmocka_unit_test_setup(match_different_qname_same_id_not_matched, reset),
		cmocka_unit_test_setup(match_different_qtype_not_matched, reset),
		cmocka_unit_test_setup(match_case_insensitive_qname, reset),
		cmocka_unit_test_setup(match_timeout_reported_once_with_waited_ns, reset),
		cmocka_unit_test_setup(match_unknown_owner_reported_as_unknown, reset),
		cmocka_unit_test_setup(match_expire_reports_oldest_first, reset),
		cmocka_unit_test_setup(match_retransmission_keeps_first_ts, reset),
		cmocka_unit_test_setup(match_client_and_server_sockets_independent, reset),
		cmocka_unit_test_setup(match_different_remote_endpoint_not_matched, reset),
		cmocka_unit_test_setup(match_table_full_evicts_oldest, reset),
		cmocka_unit_test_setup(match_long_qname_matched_and_reported, reset),
		cmocka_unit_test_setup(match_message_without_question_rejected, reset),
		cmocka_unit_test_setup(match_response_stamped_before_query_gets_zero, reset),
	};

	return cmocka_run_group_tests_name("match", tests, NULL, NULL);
}
