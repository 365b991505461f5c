/* Calls each resolver library function dnsvigil traces, once per name, and prints what it got,
 * one JSON object per line, so that tests/e2e/resolver.sh can hold the agent's events against
 * it. Built twice: with glibc (build/resolver/calls) and with musl-gcc (calls-musl), where the
 * functions musl lacks (res_n*, getaddrinfo_a) are left out.
 *
 *   calls [--wait FILE] [--only FUNCTION] [-4] NAME... [-x ADDRESS...]
 *
 * The first line is {"pid": N}. Forward functions run for each NAME, reverse ones (gethostbyaddr*,
 * getnameinfo) for each IPv4 ADDRESS after -x. --wait waits up to 20 s for FILE to exist before
 * the first call (the test makes sure the agent has attached to this process's C library);
 * --only runs one function; -4 asks getaddrinfo for IPv4 only. Exits 0 once everything ran:
 * the calls' results are data, not errors. */
#include <arpa/inet.h>
#include <arpa/nameser.h>
#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <resolv.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define MAX_ADDRS 16
#define ANSWER_LEN 4096

static int gai_family = AF_UNSPEC;

/* One line: the function, its argument, what it returned and the addresses it gave. */
struct result {
	const char *function;
	const char *name;
	long rc;
	int herrno;
	bool has_herrno;
	const char *hostname;
	int n_addrs;
	char addrs[MAX_ADDRS][INET6_ADDRSTRLEN];
};

static void add_addr(struct result *r, int family, const void *addr)
{
	if (r->n_addrs < MAX_ADDRS)
		inet_ntop(family, addr, r->addrs[r->n_addrs++], INET6_ADDRSTRLEN);
}

static void print_result(const struct result *r)
{
	printf("{\"function\":\"%s\",\"name\":\"%s\",\"rc\":%ld", r->function, r->name, r->rc);
	if (r->has_herrno)
		printf(",\"h_errno\":%d", r->herrno);
	if (r->hostname)
		printf(",\"hostname\":\"%s\"", r->hostname);
	printf(",\"addresses\":[");
	for (int i = 0; i < r->n_addrs; i++)
		printf("%s\"%s\"", i ? "," : "", r->addrs[i]);
	printf("]}\n");
	fflush(stdout);
}

static void from_hostent(struct result *r, const struct hostent *h)
{
	if (!h)
		return;
	r->hostname = h->h_name;
	for (int i = 0; h->h_addr_list[i]; i++)
		add_addr(r, h->h_addrtype, h->h_addr_list[i]);
}

static void from_addrinfo(struct result *r, const struct addrinfo *ai)
{
	if (ai)
		r->hostname = ai->ai_canonname;
	for (; ai; ai = ai->ai_next) {
		const struct sockaddr_in6 *sin6 = (const void *)ai->ai_addr;
		const struct sockaddr_in *sin = (const void *)ai->ai_addr;
		const void *a = ai->ai_family == AF_INET6 ? (const void *)&sin6->sin6_addr :
							    (const void *)&sin->sin_addr;
		char text[INET6_ADDRSTRLEN];
		bool seen = false;

		inet_ntop(ai->ai_family, a, text, sizeof(text));
		for (int i = 0; i < r->n_addrs; i++)
			seen |= strcmp(r->addrs[i], text) == 0;
		if (!seen)
			add_addr(r, ai->ai_family, a);
	}
}

/* The A and AAAA records of an answer. */
static void from_answer(struct result *r, const unsigned char *answer, int len)
{
	ns_msg msg;

	if (len <= 0 || ns_initparse(answer, len, &msg) < 0)
		return;
	for (int i = 0; i < ns_msg_count(msg, ns_s_an); i++) {
		ns_rr rr;

		if (ns_parserr(&msg, ns_s_an, i, &rr) < 0)
			break;
		if (ns_rr_type(rr) == ns_t_a && ns_rr_rdlen(rr) == 4)
			add_addr(r, AF_INET, ns_rr_rdata(rr));
		else if (ns_rr_type(rr) == ns_t_aaaa && ns_rr_rdlen(rr) == 16)
			add_addr(r, AF_INET6, ns_rr_rdata(rr));
	}
}

static void call_getaddrinfo(const char *name)
{
	struct addrinfo hints = { .ai_family = gai_family, .ai_socktype = SOCK_STREAM };
	struct result r = { .function = "getaddrinfo", .name = name };
	struct addrinfo *res = NULL;

	r.rc = getaddrinfo(name, "domain", &hints, &res);
	from_addrinfo(&r, res);
	print_result(&r);
	if (res)
		freeaddrinfo(res);
}

static void call_gethostbyname(const char *name)
{
	struct result r = { .function = "gethostbyname", .name = name, .has_herrno = true };
	struct hostent *h = gethostbyname(name);

	r.rc = h != NULL;
	r.herrno = h_errno;
	from_hostent(&r, h);
	print_result(&r);
}

static void call_gethostbyname2(const char *name)
{
	struct result r = { .function = "gethostbyname2", .name = name, .has_herrno = true };
	struct hostent *h = gethostbyname2(name, AF_INET6);

	r.rc = h != NULL;
	r.herrno = h_errno;
	from_hostent(&r, h);
	print_result(&r);
}

static void call_gethostbyname_r(const char *name)
{
	struct result r = { .function = "gethostbyname_r", .name = name, .has_herrno = true };
	struct hostent h, *res = NULL;
	char buf[2048];

	r.rc = gethostbyname_r(name, &h, buf, sizeof(buf), &res, &r.herrno);
	from_hostent(&r, res);
	print_result(&r);
}

static void call_gethostbyname2_r(const char *name)
{
	struct result r = { .function = "gethostbyname2_r", .name = name, .has_herrno = true };
	struct hostent h, *res = NULL;
	char buf[2048];

	r.rc = gethostbyname2_r(name, AF_INET, &h, buf, sizeof(buf), &res, &r.herrno);
	from_hostent(&r, res);
	print_result(&r);
}

static void call_gethostbyaddr(const char *addr)
{
	struct result r = { .function = "gethostbyaddr", .name = addr, .has_herrno = true };
	struct in_addr in;
	struct hostent *h;

	inet_pton(AF_INET, addr, &in);
	h = gethostbyaddr(&in, sizeof(in), AF_INET);
	r.rc = h != NULL;
	r.herrno = h_errno;
	from_hostent(&r, h);
	print_result(&r);
}

static void call_gethostbyaddr_r(const char *addr)
{
	struct result r = { .function = "gethostbyaddr_r", .name = addr, .has_herrno = true };
	struct hostent h, *res = NULL;
	struct in_addr in;
	char buf[2048];

	inet_pton(AF_INET, addr, &in);
	r.rc = gethostbyaddr_r(&in, sizeof(in), AF_INET, &h, buf, sizeof(buf), &res, &r.herrno);
	from_hostent(&r, res);
	print_result(&r);
}

static void call_getnameinfo(const char *addr)
{
	struct result r = { .function = "getnameinfo", .name = addr };
	struct sockaddr_in sin = { .sin_family = AF_INET, .sin_port = htons(53) };
	char host[NI_MAXHOST], serv[NI_MAXSERV];

	inet_pton(AF_INET, addr, &sin.sin_addr);
	r.rc = getnameinfo((struct sockaddr *)&sin, sizeof(sin), host, sizeof(host), serv,
			   sizeof(serv), NI_NAMEREQD | NI_NUMERICSERV);
	if (r.rc == 0)
		r.hostname = host;
	print_result(&r);
}

/* res_query and res_search: the same arguments. */
static void res_lookup(const char *function,
		       int (*lookup)(const char *, int, int, unsigned char *, int),
		       const char *name)
{
	struct result r = { .function = function, .name = name, .has_herrno = true };
	unsigned char answer[ANSWER_LEN];

	h_errno = 0;
	r.rc = lookup(name, ns_c_in, ns_t_a, answer, sizeof(answer));
	r.herrno = h_errno;
	from_answer(&r, answer, r.rc);
	print_result(&r);
}

static void call_res_query(const char *name)
{
	res_lookup("res_query", res_query, name);
}

static void call_res_search(const char *name)
{
	res_lookup("res_search", res_search, name);
}

static void call_res_send(const char *name)
{
	struct result r = { .function = "res_send", .name = name, .has_herrno = true };
	unsigned char query[512], answer[ANSWER_LEN];
	int qlen = res_mkquery(ns_o_query, name, ns_c_in, ns_t_a, NULL, 0, NULL, query,
			       sizeof(query));

	h_errno = 0;
	r.rc = qlen < 0 ? qlen : res_send(query, qlen, answer, sizeof(answer));
	r.herrno = h_errno;
	from_answer(&r, answer, r.rc);
	print_result(&r);
}

#ifdef __GLIBC__
/* res_nquery and res_nsearch, on a resolver state of their own. */
static void res_nlookup(const char *function,
			int (*lookup)(res_state, const char *, int, int, unsigned char *, int),
			const char *name)
{
	struct result r = { .function = function, .name = name, .has_herrno = true };
	unsigned char answer[ANSWER_LEN];
	struct __res_state st = { 0 };

	res_ninit(&st);
	h_errno = 0;
	r.rc = lookup(&st, name, ns_c_in, ns_t_a, answer, sizeof(answer));
	r.herrno = h_errno;
	from_answer(&r, answer, r.rc);
	res_nclose(&st);
	print_result(&r);
}

static void call_res_nquery(const char *name)
{
	res_nlookup("res_nquery", res_nquery, name);
}

static void call_res_nsearch(const char *name)
{
	res_nlookup("res_nsearch", res_nsearch, name);
}

static void call_res_nsend(const char *name)
{
	struct result r = { .function = "res_nsend", .name = name, .has_herrno = true };
	unsigned char query[512], answer[ANSWER_LEN];
	struct __res_state st = { 0 };
	int qlen;

	res_ninit(&st);
	qlen = res_nmkquery(&st, ns_o_query, name, ns_c_in, ns_t_a, NULL, 0, NULL, query,
			    sizeof(query));
	h_errno = 0;
	r.rc = qlen < 0 ? qlen : res_nsend(&st, query, qlen, answer, sizeof(answer));
	r.herrno = h_errno;
	from_answer(&r, answer, r.rc);
	res_nclose(&st);
	print_result(&r);
}

static void call_getaddrinfo_a(const char *name)
{
	struct addrinfo hints = { .ai_family = gai_family, .ai_socktype = SOCK_STREAM };
	struct gaicb cb = { .ar_name = name, .ar_service = "domain", .ar_request = &hints };
	struct gaicb *list[] = { &cb };
	struct result r = { .function = "getaddrinfo_a", .name = name };

	r.rc = getaddrinfo_a(GAI_WAIT, list, 1, NULL);
	from_addrinfo(&r, cb.ar_result);
	print_result(&r);
	if (cb.ar_result)
		freeaddrinfo(cb.ar_result);
}
#endif

struct fn {
	const char *name;
	void (*call)(const char *arg);
	bool reverse; /* takes an address */
};

static const struct fn fns[] = {
	{ "getaddrinfo", call_getaddrinfo, false },
	{ "gethostbyname", call_gethostbyname, false },
	{ "gethostbyname2", call_gethostbyname2, false },
	{ "gethostbyname_r", call_gethostbyname_r, false },
	{ "gethostbyname2_r", call_gethostbyname2_r, false },
	{ "gethostbyaddr", call_gethostbyaddr, true },
	{ "gethostbyaddr_r", call_gethostbyaddr_r, true },
	{ "getnameinfo", call_getnameinfo, true },
	{ "res_query", call_res_query, false },
	{ "res_search", call_res_search, false },
	{ "res_send", call_res_send, false },
#ifdef __GLIBC__
	{ "res_nquery", call_res_nquery, false },
	{ "res_nsearch", call_res_nsearch, false },
	{ "res_nsend", call_res_nsend, false },
	{ "getaddrinfo_a", call_getaddrinfo_a, false },
#endif
};

static int wait_for(const char *path)
{
	for (int i = 0; i < 2000; i++) {
		if (access(path, F_OK) == 0)
			return 0;
		usleep(10000);
	}
	fprintf(stderr, "calls: %s did not appear within 20 s\n", path);
	return -1;
}

int main(int argc, char **argv)
{
	const char *wait = NULL, *only = NULL;
	int i = 1, names, addrs;

	for (; i < argc && argv[i][0] == '-' && strcmp(argv[i], "-x") != 0; i++) {
		if (strcmp(argv[i], "--wait") == 0 && i + 1 < argc) {
			wait = argv[++i];
		} else if (strcmp(argv[i], "--only") == 0 && i + 1 < argc) {
			only = argv[++i];
		} else if (strcmp(argv[i], "-4") == 0) {
			gai_family = AF_INET;
		} else {
			fprintf(stderr, "usage: calls [--wait FILE] [--only FUNCTION] [-4] NAME... "
					"[-x ADDRESS...]\n");
			return 2;
		}
	}
	names = i;
	while (i < argc && strcmp(argv[i], "-x") != 0)
		i++;
	addrs = i;
	printf("{\"pid\":%d}\n", (int)getpid());
	fflush(stdout);
	if (wait && wait_for(wait))
		return 1;
	for (size_t f = 0; f < sizeof(fns) / sizeof(fns[0]); f++) {
		if (only && strcmp(only, fns[f].name) != 0)
			continue;
		if (fns[f].reverse)
			for (int a = addrs + 1; a < argc; a++)
				fns[f].call(argv[a]);
		else
			for (int n = names; n < addrs; n++)
				fns[f].call(argv[n]);
	}
	return 0;
}
