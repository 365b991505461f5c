/* libFuzzer target for the DNS parser. One parser is reused across inputs, as the agent does,
 * so state left behind by a bad message is exercised too. Every output string is walked so
 * that ASan checks it lies in valid memory and is terminated; the typed rdata is checked
 * against the message and against data. */
#include "dns.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static size_t walk(const char *s)
{
	return s ? strlen(s) : 0;
}

/* A typed name: a terminated string no longer than presentation allows, and the text of one
 * of the names in data */
static size_t walk_name(const char *s, const char *data)
{
	if (!s)
		return 0;
	if (strnlen(s, DNS_MAX_PRESENTATION) == DNS_MAX_PRESENTATION || !strstr(data, s))
		abort();
	return strlen(s);
}

/* The typed part of rr agrees with the message: RDATA within it, an address only as the
 * whole RDATA of A (4 bytes) or AAAA (16), a second name only after a first. */
static size_t walk_typed(const struct dns_rr *rr, const uint8_t *msg, size_t size)
{
	if (rr->rdata < msg || rr->rdlength > size - (size_t)(rr->rdata - msg))
		abort();
	if (rr->addr && (rr->addr != rr->rdata || rr->addr_len != rr->rdlength ||
			 rr->addr_len != (rr->type == 1 ? 4 : rr->type == 28 ? 16 : 0)))
		abort();
	if (!rr->addr && rr->addr_len)
		abort();
	if (rr->rname && !rr->target)
		abort();
	return walk_name(rr->target, rr->data) + walk_name(rr->rname, rr->data);
}

static size_t walk_section(const struct dns_section *sec, const uint8_t *msg, size_t size)
{
	size_t n = 0;

	for (size_t i = 0; i < sec->n; i++) {
		const struct dns_rr *rr = &sec->rrs[i];

		n += walk(rr->name) + walk(rr->data) + walk_typed(rr, msg, size);
	}
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
	n += walk_section(&msg.an, data, size) + walk_section(&msg.ns, data, size) +
	     walk_section(&msg.ar, data, size);
	for (size_t i = 0; i < msg.edns.n_opts; i++)
		n += walk(msg.edns.opts[i].name) + walk(msg.edns.opts[i].data);
	n += walk(dns_rcode_str(msg.rcode, buf)) + walk(dns_opcode_str(msg.opcode, buf));
	n += walk(dns_type_str(msg.qtype, buf)) + walk(dns_class_str(msg.qclass, buf));
	sink = n;
	(void)sink;
	return 0;
}
