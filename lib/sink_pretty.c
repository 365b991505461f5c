/* One line per DNS, timeout or resolver call event, for a person watching a terminal. Stats
 * are left to the JSON sink. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "sink.h"

/* Answers shown per line before "..." */
#define PRETTY_MAX_ANSWERS 4

static void print_clock(uint64_t realtime_ns)
{
	time_t secs = realtime_ns / 1000000000ull;
	struct tm tm;

	localtime_r(&secs, &tm);
	printf("%02d:%02d:%02d.%06llu ", tm.tm_hour, tm.tm_min, tm.tm_sec,
	       (unsigned long long)(realtime_ns % 1000000000ull) / 1000);
}

static void print_who(const struct proc_info *p)
{
	if (p->pid >= 0)
		printf("%s[%d] ", p->comm[0] ? p->comm : "?", p->pid);
	else
		printf("?[?] ");
}

static void print_endpoints(const struct net_info *n)
{
	char src[INET6_ADDRSTRLEN], dst[INET6_ADDRSTRLEN];
	int af = n->family == 6 ? AF_INET6 : AF_INET;

	inet_ntop(af, n->src_ip, src, sizeof(src));
	inet_ntop(af, n->dst_ip, dst, sizeof(dst));
	printf("%s%d %-6s %s%s%s:%u > %s%s%s:%u ", n->transport == IPPROTO_TCP ? "tcp" : "udp",
	       n->family, n->role == ROLE_CLIENT ? "client" : n->role == ROLE_SERVER ? "server" : "?",
	       af == AF_INET6 ? "[" : "", src, af == AF_INET6 ? "]" : "", n->src_port,
	       af == AF_INET6 ? "[" : "", dst, af == AF_INET6 ? "]" : "", n->dst_port);
}

/* Names from library calls are the caller's bytes: nothing that could steer a terminal. */
static void print_safe(const char *s)
{
	for (; s && *s; s++)
		putchar(*s >= 0x20 && *s < 0x7f ? *s : '?');
}

static void print_call(const struct call_info *c)
{
	char ip[INET6_ADDRSTRLEN];

	printf("CALL %s ", c->function);
	print_safe(c->name ? c->name : "-");
	if (c->service) {
		putchar(':');
		print_safe(c->service);
	}
	printf(" %s %.3fms", c->result, c->latency_ns / 1e6);
	for (size_t i = 0; i < c->n_addrs && i < PRETTY_MAX_ANSWERS; i++) {
		inet_ntop(c->addrs[i].family == 6 ? AF_INET6 : AF_INET, c->addrs[i].addr, ip,
			  sizeof(ip));
		printf("%s%s", i ? ", " : ": ", ip);
	}
	if (c->n_addrs > PRETTY_MAX_ANSWERS)
		printf(", ... (%zu addresses)", c->n_addrs);
	if (c->hostname) {
		printf(" name=");
		print_safe(c->hostname);
	}
	printf(" call=%llu\n", (unsigned long long)c->call_id);
}

static int pretty_write(struct sink *s, const struct event *ev)
{
	char tbuf[DNS_MNEMONIC_LEN], rbuf[DNS_MNEMONIC_LEN];
	const struct dns_msg *m = ev->dns;

	(void)s;
	if (ev->type == EVENT_STATS)
		return 0;
	print_clock(ev->ts_ns);
	print_who(&ev->process);
	if (ev->type == EVENT_RESOLVER_CALL) {
		print_call(ev->call);
		return ferror(stdout) ? -EIO : 0;
	}
	if (ev->type == EVENT_FINDING) {
		const struct finding *f = ev->finding;

		printf("FINDING %s %s %s: %s\n", finding_severity_name(f->severity), f->rule,
		       f->qname ? f->qname : "-", f->summary);
		return ferror(stdout) ? -EIO : 0;
	}
	print_endpoints(&ev->net);
	if (ev->type == EVENT_TIMEOUT) {
		printf("TIMEOUT id=%u %s %s after %.1fms\n", ev->timeout->id,
		       dns_type_str(ev->timeout->qtype, tbuf), ev->timeout->qname,
		       ev->timeout->waited_ns / 1e6);
		return 0;
	}
	printf("%s id=%u %s %s", m->qr ? "R" : "Q", m->id,
	       m->has_question ? dns_type_str(m->qtype, tbuf) : "-",
	       m->has_question ? m->qname : "-");
	if (m->qr) {
		printf(" %s", dns_rcode_str(m->rcode, rbuf));
		if (ev->latency_ns >= 0)
			printf(" %.3fms", ev->latency_ns / 1e6);
		for (size_t i = 0; i < m->an.n && i < PRETTY_MAX_ANSWERS; i++)
			printf("%s%s %s", i ? ", " : ": ", dns_type_str(m->an.rrs[i].type, tbuf),
			       m->an.rrs[i].data);
		if (m->an.n > PRETTY_MAX_ANSWERS)
			printf(", ... (%zu answers)", m->an.n);
	}
	if (m->malformed)
		printf(" MALFORMED: %s", m->malformed);
	if (ev->call_id)
		printf(" call=%llu", (unsigned long long)ev->call_id);
	if (ev->has_origin) {
		printf(" for ");
		print_who(&ev->origin);
	}
	printf("\n");
	return ferror(stdout) ? -EIO : 0;
}

static int pretty_flush(struct sink *s)
{
	(void)s;
	return fflush(stdout) ? -errno : 0;
}

static void pretty_free(struct sink *s)
{
	fflush(stdout);
	free(s);
}

static const struct sink_ops pretty_ops = {
	.write = pretty_write,
	.flush = pretty_flush,
	.free = pretty_free,
};

int sink_pretty_new(struct sink **out)
{
	/* Nothing of its own to keep: stdout holds the state. */
	struct sink *s = calloc(1, sizeof(*s));

	if (!s)
		return -ENOMEM;
	s->ops = &pretty_ops;
	*out = s;
	return 0;
}
