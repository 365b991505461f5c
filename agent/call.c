#include "call.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "array.h"

/* Numbers of the Linux C library ABI, the same in glibc and musl. */
#define LIBC_AF_INET 2
#define LIBC_AF_INET6 10
#define DNS_TYPE_A 1
#define DNS_TYPE_AAAA 28
#define DNS_RCODE_NOERROR 0
#define DNS_RCODE_SERVFAIL 2
#define DNS_RCODE_NXDOMAIN 3

struct named {
	int value;
	const char *name;
};

static const char *const fn_names[DV_FN_NR] = {
	[DV_FN_GETADDRINFO] = "getaddrinfo",
	[DV_FN_GETHOSTBYNAME] = "gethostbyname",
	[DV_FN_GETHOSTBYNAME2] = "gethostbyname2",
	[DV_FN_GETHOSTBYNAME_R] = "gethostbyname_r",
	[DV_FN_GETHOSTBYNAME2_R] = "gethostbyname2_r",
	[DV_FN_GETHOSTBYADDR] = "gethostbyaddr",
	[DV_FN_GETHOSTBYADDR_R] = "gethostbyaddr_r",
	[DV_FN_GETNAMEINFO] = "getnameinfo",
	[DV_FN_RES_QUERY] = "res_query",
	[DV_FN_RES_SEARCH] = "res_search",
	[DV_FN_RES_NQUERY] = "res_nquery",
	[DV_FN_RES_NSEARCH] = "res_nsearch",
	[DV_FN_RES_SEND] = "res_send",
	[DV_FN_RES_NSEND] = "res_nsend",
	[DV_FN_GETADDRINFO_A] = "getaddrinfo_a",
};

static const struct named eai_names[] = {
	{ -1, "EAI_BADFLAGS" },     { -2, "EAI_NONAME" },        { -3, "EAI_AGAIN" },
	{ -4, "EAI_FAIL" },         { -5, "EAI_NODATA" },        { -6, "EAI_FAMILY" },
	{ -7, "EAI_SOCKTYPE" },     { -8, "EAI_SERVICE" },       { -9, "EAI_ADDRFAMILY" },
	{ -10, "EAI_MEMORY" },      { -11, "EAI_SYSTEM" },       { -12, "EAI_OVERFLOW" },
	{ -100, "EAI_INPROGRESS" }, { -101, "EAI_CANCELED" },    { -102, "EAI_NOTCANCELED" },
	{ -103, "EAI_ALLDONE" },    { -104, "EAI_INTR" },        { -105, "EAI_IDN_ENCODE" },
};

static const struct named herrno_names[] = {
	{ -1, "NETDB_INTERNAL" }, { 0, "NETDB_SUCCESS" }, { 1, "HOST_NOT_FOUND" },
	{ 2, "TRY_AGAIN" },       { 3, "NO_RECOVERY" },   { 4, "NO_DATA" },
};

static const struct named ai_flag_names[] = {
	{ 0x1, "AI_PASSIVE" },  { 0x2, "AI_CANONNAME" },  { 0x4, "AI_NUMERICHOST" },
	{ 0x8, "AI_V4MAPPED" }, { 0x10, "AI_ALL" },       { 0x20, "AI_ADDRCONFIG" },
	{ 0x40, "AI_IDN" },     { 0x80, "AI_CANONIDN" },  { 0x400, "AI_NUMERICSERV" },
};

static const struct named ni_flag_names[] = {
	{ 0x1, "NI_NUMERICHOST" }, { 0x2, "NI_NUMERICSERV" }, { 0x4, "NI_NOFQDN" },
	{ 0x8, "NI_NAMEREQD" },    { 0x10, "NI_DGRAM" },      { 0x20, "NI_IDN" },
};

const char *call_function_name(unsigned int fn)
{
	return fn < DV_FN_NR ? fn_names[fn] : NULL;
}

static const char *name_of(const struct named *t, size_t n, int value)
{
	for (size_t i = 0; i < n; i++)
		if (t[i].value == value)
			return t[i].name;
	return NULL;
}

static uint8_t family_of(int af)
{
	return af == LIBC_AF_INET ? 4 : af == LIBC_AF_INET6 ? 6 : 0;
}

/* Copies a string the kernel NUL-terminated, defensively bounded; NULL when empty. */
static const char *copy_str(char *dst, size_t size, const char *src, size_t src_size)
{
	size_t len = strnlen(src, src_size);

	if (len >= size)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return len ? dst : NULL;
}

static void decode_flags(const struct dv_call_rec *rec, struct call_info *ci, struct call_buf *buf)
{
	const struct named *t;
	size_t n;
	int rest;

	if (rec->fn == DV_FN_GETNAMEINFO) {
		t = ni_flag_names;
		n = ARRAY_LEN(ni_flag_names);
	} else if (rec->flags & DV_CALL_HINTS) {
		t = ai_flag_names;
		n = ARRAY_LEN(ai_flag_names);
	} else {
		return;
	}
	rest = rec->ai_flags;
	ci->flags = buf->flags;
	for (size_t i = 0; i < n && ci->n_flags < CALL_MAX_FLAGS - 1; i++) {
		if (!(rest & t[i].value))
			continue;
		buf->flags[ci->n_flags++] = t[i].name;
		rest &= ~t[i].value;
	}
	if (rest) {
		snprintf(buf->other_flags, sizeof(buf->other_flags), "0x%x", (unsigned int)rest);
		buf->flags[ci->n_flags++] = buf->other_flags;
	}
}

static void add_addr(struct call_info *ci, struct call_buf *buf, uint8_t family,
		     const uint8_t *addr)
{
	struct call_addr a = { .family = family };

	memcpy(a.addr, addr, family == 4 ? 4 : 16);
	/* The kernel drops consecutive repeats only. */
	for (size_t i = 0; i < ci->n_addrs; i++)
		if (memcmp(&buf->addrs[i], &a, sizeof(a)) == 0)
			return;
	if (ci->n_addrs < CALL_MAX_ADDRS)
		buf->addrs[ci->n_addrs++] = a;
}

/* Whether a response's question is about the name the call asked for: the same name, or for
 * res_search the name with a search domain appended. */
static bool same_question(const struct dv_call_rec *rec, const char *name, const char *qname)
{
	size_t len = strlen(name);

	if (len && name[len - 1] == '.')
		len--;
	if (strncasecmp(name, qname, len) != 0)
		return false;
	if (qname[len] == '\0')
		return true;
	return qname[len] == '.' && (rec->fn == DV_FN_RES_SEARCH || rec->fn == DV_FN_RES_NSEARCH);
}

/* The failure a response explains, in h_errno terms as both libcs set it. */
static const char *herrno_of_response(const struct dns_msg *m)
{
	switch (m->rcode) {
	case DNS_RCODE_NXDOMAIN:
		return "HOST_NOT_FOUND";
	case DNS_RCODE_SERVFAIL:
		return "TRY_AGAIN";
	case DNS_RCODE_NOERROR:
		return m->ancount ? NULL : "NO_DATA";
	default:
		return "NO_RECOVERY";
	}
}

/* res_*: the query or answer message the kernel copied. Returns the response that belongs to
 * the call's question, or NULL. */
static const struct dns_msg *decode_msg(const struct dv_call_rec *rec, struct dns_parser *parser,
					struct call_info *ci, struct call_buf *buf,
					struct dns_msg *m)
{
	if (rec->msg_len < DNS_HEADER_LEN || rec->msg_len > DV_CALL_MSG_LEN)
		return NULL;
	/* A message cut at DV_CALL_MSG_LEN still gives its question and first answers. */
	dns_parse(parser, rec->msg, rec->msg_len, m);
	if (!m->has_question)
		return NULL;
	if (!ci->name)
		ci->name = copy_str(buf->name, sizeof(buf->name), m->qname, DNS_MAX_PRESENTATION);
	if (!ci->qtype)
		ci->qtype = m->qtype;
	if (!m->qr || !ci->name || !same_question(rec, ci->name, m->qname))
		return NULL;
	for (size_t i = 0; i < m->an.n; i++) {
		const struct dns_rr *rr = &m->an.rrs[i];
		uint8_t addr[16];

		if (rr->type == DNS_TYPE_A && inet_pton(AF_INET, rr->data, addr) == 1)
			add_addr(ci, buf, 4, addr);
		else if (rr->type == DNS_TYPE_AAAA && inet_pton(AF_INET6, rr->data, addr) == 1)
			add_addr(ci, buf, 6, addr);
	}
	return m;
}

static const char *errno_name(int err, char *buf)
{
	const char *name = strerrorname_np(err);

	if (name)
		return name;
	snprintf(buf, CALL_TEXT_LEN, "ERRNO%d", err);
	return buf;
}

static const char *result_of(const struct dv_call_rec *rec, const struct dns_msg *response,
			     char *buf)
{
	int rc = (int)rec->ret; /* the int functions return it in the low half */
	bool got = rec->flags & DV_CALL_GOT_RESULT;
	bool herrno = rec->flags & DV_CALL_HERRNO;
	const char *name;

	switch (rec->fn) {
	case DV_FN_GETADDRINFO:
	case DV_FN_GETADDRINFO_A:
	case DV_FN_GETNAMEINFO:
		if (rc == 0)
			return "OK";
		if ((name = name_of(eai_names, ARRAY_LEN(eai_names), rc)))
			return name;
		snprintf(buf, CALL_TEXT_LEN, "EAI%d", rc);
		return buf;
	case DV_FN_GETHOSTBYNAME_R:
	case DV_FN_GETHOSTBYNAME2_R:
	case DV_FN_GETHOSTBYADDR_R:
		if (got)
			return "OK";
		/* ERANGE (buffer too small) comes with h_errno NETDB_INTERNAL: the errno says
		 * more. */
		if (rc != 0 && (!herrno || rec->herrno <= 0))
			return errno_name(rc, buf);
		break;
	case DV_FN_GETHOSTBYNAME:
	case DV_FN_GETHOSTBYNAME2:
	case DV_FN_GETHOSTBYADDR:
		if (got)
			return "OK";
		break;
	default: /* res_*: the answer's length or -1 */
		if (rc >= 0)
			return "OK";
		if (response && (name = herrno_of_response(response)))
			return name;
		return "ERROR";
	}
	if (herrno && (name = name_of(herrno_names, ARRAY_LEN(herrno_names), rec->herrno)))
		return name;
	return "ERROR";
}

void call_decode(const struct dv_call_rec *rec, struct dns_parser *parser, struct call_info *ci,
		 struct call_buf *buf)
{
	uint8_t family = family_of(rec->family);
	const struct dns_msg *response = NULL;
	struct dns_msg m;

	*ci = (struct call_info){
		.function = call_function_name(rec->fn),
		.family = family,
		.qtype = rec->qtype,
		.has_code = rec->fn != DV_FN_GETHOSTBYNAME && rec->fn != DV_FN_GETHOSTBYNAME2 &&
			    rec->fn != DV_FN_GETHOSTBYADDR,
		.result_code = (int)rec->ret,
		.addrs = buf->addrs,
		.latency_ns = rec->end_ns > rec->start_ns ? rec->end_ns - rec->start_ns : 0,
		.call_id = rec->call_id,
	};
	if (rec->flags & DV_CALL_NAME_IS_ADDR) {
		if (family)
			ci->name = inet_ntop(family == 4 ? AF_INET : AF_INET6, rec->name, buf->name,
					     sizeof(buf->name));
	} else {
		ci->name = copy_str(buf->name, sizeof(buf->name), rec->name, sizeof(rec->name));
	}
	ci->service = copy_str(buf->service, sizeof(buf->service), rec->service,
			       sizeof(rec->service));
	if (rec->fn == DV_FN_GETNAMEINFO && rec->port) {
		snprintf(buf->service, sizeof(buf->service), "%u", rec->port);
		ci->service = buf->service;
	}
	ci->hostname = copy_str(buf->hostname, sizeof(buf->hostname), rec->hostname,
				sizeof(rec->hostname));
	decode_flags(rec, ci, buf);
	for (size_t i = 0; i < rec->n_addrs && i < DV_CALL_MAX_ADDRS; i++)
		if (rec->addrs[i].family == 4 || rec->addrs[i].family == 6)
			add_addr(ci, buf, rec->addrs[i].family, rec->addrs[i].addr);
	if (rec->msg_len)
		response = decode_msg(rec, parser, ci, buf, &m);
	ci->result = result_of(rec, response, buf->result);
}
