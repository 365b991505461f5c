/* libFuzzer target for the DNS parser. One parser is reused across inputs, as the agent does,
 * so state left behind by a bad message is exercised too. Every output string is walked so
 * that ASan checks it lies in valid memory and is terminated. */
#include "dns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t walk(const char *s)
{
	return s ? strlen(s) : 0;
}

static size_t walk_section(const struct dns_section *sec)
{
	size_t n = 0;

	for (size_t i = 0; i < sec->n; i++)
		n += walk(sec->rrs[i].name) + walk(sec->rrs[i].data);
	return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct dns_parser *p;
	char buf[DNS_MNEMONIC_LEN];
	struct dns_msg msg;
	volatile size_t sink;
	size_t n;
	int err;

	if (!p && !(p = dns_parser_new()))
		abort();
	err = dns_parse(p, data, size, &msg);
	if (err && err != -EBADMSG && err != -ENOMEM)
		abort();
	/* a failed parse says why; a successful one does not */
	if ((err == -EBADMSG) != (msg.malformed != NULL))
		abort();
	n = walk(msg.qname) + walk(msg.malformed);
	n += walk_section(&msg.an) + walk_section(&msg.ns) + walk_section(&msg.ar);
	for (size_t i = 0; i < msg.edns.n_opts; i++)
		n += walk(msg.edns.opts[i].name) + walk(msg.edns.opts[i].data);
	n += walk(dns_rcode_str(msg.rcode, buf)) + walk(dns_opcode_str(msg.opcode, buf));
	n += walk(dns_type_str(msg.qtype, buf)) + walk(dns_class_str(msg.qclass, buf));
	sink = n;
	(void)sink;
	return 0;
}
