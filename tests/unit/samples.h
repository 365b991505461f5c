/* The sample events that the contract test and the protobuf round trip both render: a
 * process with every field known, a DNS socket's net on loopback, and the fixtures of
 * tests/unit/data. Include after cmocka.h. */
#ifndef DNSVIGIL_TEST_SAMPLES_H
#define DNSVIGIL_TEST_SAMPLES_H

#include <stdio.h>

#include "event.h"

#ifndef DATA_DIR
#define DATA_DIR "tests/unit/data"
#endif

static const struct proc_info some_process = {
	.pid = 100, .tid = 101, .ppid = 1, .uid = 0, .gid = 0, .comm = "dig",
	.exe = "/usr/bin/dig", .cmdline = "dig a.example", .cgroup = "/system.slice/x.service",
	.container_id = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef",
	.cgroup_id = 7,
};

static inline struct event net_event(enum event_type type)
{
	struct event ev = {
		.type = type,
		.ts_ns = 1700000000123456789ull,
		.host = "host-a",
		.process = some_process,
		.latency_ns = -1,
		.net = { .transport = 17, .family = 4, .direction = NET_EGRESS,
			 .role = ROLE_CLIENT, .src_port = 40000, .dst_port = 53,
			 .socket_cookie = 99, .src_ip = { 127, 0, 0, 1 },
			 .dst_ip = { 127, 0, 0, 53 } },
	};

	return ev;
}

static inline size_t read_fixture(const char *name, uint8_t *buf, size_t size)
{
	char path[256];
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "%s/%s", DATA_DIR, name);
	f = fopen(path, "rb");
	assert_non_null(f);
	n = fread(buf, 1, size, f);
	fclose(f);
	return n;
}

#endif
