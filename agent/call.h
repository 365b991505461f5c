/* Resolver call records (struct dv_call_rec, bpf/resolver.bpf.c) into the event model: function
 * names, results as mnemonics, addresses. No kernel, no /proc: the pipeline adds the process. */
#ifndef DNSVIGIL_CALL_H
#define DNSVIGIL_CALL_H

#include "dns.h"
#include "dnsvigil.h"
#include "event.h"

#define CALL_MAX_FLAGS 12
#define CALL_TEXT_LEN 32 /* a result mnemonic, a port, unknown flag bits */

/* What a decoded call_info points into. Reused from call to call: nothing is allocated. */
struct call_buf {
	char name[DNS_MAX_PRESENTATION];
	char service[DV_CALL_SERVICE_LEN];
	char hostname[DV_CALL_NAME_LEN];
	char result[CALL_TEXT_LEN];
	char other_flags[CALL_TEXT_LEN];
	const char *flags[CALL_MAX_FLAGS];
	struct call_addr addrs[CALL_MAX_ADDRS];
};

/* The function's name ("getaddrinfo" for DV_FN_GETADDRINFO), which is also its symbol; NULL
 * for an id outside enum dv_call_fn. */
const char *call_function_name(unsigned int fn);

/* Fills *ci from rec. Strings point into buf and the parser, which decodes the DNS messages
 * of res_* calls: valid until the next call_decode or dns_parse. */
void call_decode(const struct dv_call_rec *rec, struct dns_parser *parser, struct call_info *ci,
		 struct call_buf *buf);

#endif
