/* struct event <-> dnsvigil.v1.Event. Encoding builds the message on the stack and in the
 * encoder's reused arrays, pointing at the event's own strings, and packs it into the
 * encoder's buffer. Decoding unpacks with protobuf-c, checks every value against what the
 * model can hold, and copies the result into one block that event_free releases. */
#include "event_pb.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "arena.h"
#include "log.h"
#include "pb_unpack.h"
#include "proto/dnsvigil.pb-c.h"
#include "stats.h"

typedef Dnsvigil__V1__Event PbEvent;
typedef Dnsvigil__V1__Process PbProcess;
typedef Dnsvigil__V1__Net PbNet;
typedef Dnsvigil__V1__DnsEvent PbDnsEvent;
typedef Dnsvigil__V1__DnsMessage PbDns;
typedef Dnsvigil__V1__Question PbQuestion;
typedef Dnsvigil__V1__ResourceRecord PbRr;
typedef Dnsvigil__V1__Edns PbEdns;
typedef Dnsvigil__V1__EdnsOption PbOpt;
typedef Dnsvigil__V1__TimeoutEvent PbTimeout;
typedef Dnsvigil__V1__ResolverCallEvent PbCall;
typedef Dnsvigil__V1__Flags PbFlags;
typedef Dnsvigil__V1__StatsEvent PbStats;
typedef Dnsvigil__V1__Stat PbStat;
typedef Dnsvigil__V1__NullableString PbNullable;
typedef Dnsvigil__V1__NamedU64 PbNamed;
typedef Dnsvigil__V1__U64List PbList;
typedef Dnsvigil__V1__Finding PbFinding;
typedef Dnsvigil__V1__Evidence PbEvidence;

/* Decoding bounds beyond what the model's types already give. */
#define MAX_CALL_FLAGS 64
#define MAX_STAT_VALUES 4096
#define MAX_FINDINGS 32 /* on one event */
#define MAX_ATTACK 16
#define MAX_EVIDENCE 64
#define MAX_EVIDENCE_LIST 256

/* An array that keeps its memory from one event to the next. */
struct scratch {
	void *p;
	size_t cap; /* bytes */
};

struct event_pb {
	unsigned int flags;
	struct scratch rrs, rr_ptrs, opts, opt_ptrs, addrs, stats, stat_ptrs, nullables, named,
		lists, findings, finding_ptrs, evidence, evidence_ptrs, evidence_strs, evidence_lists;
	struct scratch out;
};

/* n elements of size bytes, or NULL when memory runs out. */
static void *scratch_get(struct scratch *s, size_t n, size_t size)
{
	size_t need = n * size, cap;
	void *p;

	if (need <= s->cap)
		return s->p ? s->p : s; /* n == 0 without memory yet: any non-NULL pointer */
	cap = need > 2 * s->cap ? need : 2 * s->cap;
	p = realloc(s->p, cap);
	if (!p)
		return NULL;
	s->p = p;
	s->cap = cap;
	return p;
}

struct event_pb *event_pb_new(unsigned int flags)
{
	struct event_pb *pb = calloc(1, sizeof(*pb));

	if (pb)
		pb->flags = flags;
	return pb;
}

void event_pb_free(struct event_pb *pb)
{
	struct scratch *all[] = {
		&pb->rrs,	   &pb->rr_ptrs,	&pb->opts,	     &pb->opt_ptrs,
		&pb->addrs,	   &pb->stats,		&pb->stat_ptrs,	     &pb->nullables,
		&pb->named,	   &pb->lists,		&pb->findings,	     &pb->finding_ptrs,
		&pb->evidence,	   &pb->evidence_ptrs,	&pb->evidence_strs,  &pb->evidence_lists,
		&pb->out,
	};

	if (!pb)
		return;
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		free(all[i]->p);
	free(pb);
}

/* protobuf-c's fields are not const; packing only reads them. */
#define STR(s) ((char *)(s))
/* Copies a protobuf-c string array (char **) into the arena. */
#define STRS(b, src, n) arena_strs(b, (const char *const *)(src), n)

/* A process goes out when anything of it is known: an owner learned without its pid (a
 * kernel without task helpers in socket hooks) still has its cgroup. */
static bool proc_known(const struct proc_info *p)
{
	return p->pid >= 0 || p->tid >= 0 || p->ppid >= 0 || p->uid >= 0 || p->gid >= 0 ||
	       p->comm[0] || p->exe || p->cmdline || p->cgroup || p->container_id || p->cgroup_id;
}

static void put_process(PbProcess *m, const struct proc_info *p)
{
	dnsvigil__v1__process__init(m);
	if (p->pid >= 0) {
		m->has_pid_case = DNSVIGIL__V1__PROCESS__HAS_PID_PID;
		m->pid = p->pid;
	}
	if (p->tid >= 0) {
		m->has_tid_case = DNSVIGIL__V1__PROCESS__HAS_TID_TID;
		m->tid = p->tid;
	}
	if (p->ppid >= 0) {
		m->has_ppid_case = DNSVIGIL__V1__PROCESS__HAS_PPID_PPID;
		m->ppid = p->ppid;
	}
	if (p->uid >= 0) {
		m->has_uid_case = DNSVIGIL__V1__PROCESS__HAS_UID_UID;
		m->uid = p->uid;
	}
	if (p->gid >= 0) {
		m->has_gid_case = DNSVIGIL__V1__PROCESS__HAS_GID_GID;
		m->gid = p->gid;
	}
	m->comm = STR(p->comm);
	if (p->exe) {
		m->has_exe_case = DNSVIGIL__V1__PROCESS__HAS_EXE_EXE;
		m->exe = STR(p->exe);
	}
	if (p->cmdline) {
		m->has_cmdline_case = DNSVIGIL__V1__PROCESS__HAS_CMDLINE_CMDLINE;
		m->cmdline = STR(p->cmdline);
	}
	if (p->cgroup) {
		m->has_cgroup_case = DNSVIGIL__V1__PROCESS__HAS_CGROUP_CGROUP;
		m->cgroup = STR(p->cgroup);
	}
	if (p->container_id) {
		m->has_container_id_case = DNSVIGIL__V1__PROCESS__HAS_CONTAINER_ID_CONTAINER_ID;
		m->container_id = STR(p->container_id);
	}
	m->cgroup_id = p->cgroup_id;
}

static void put_net(PbNet *m, const struct net_info *n)
{
	dnsvigil__v1__net__init(m);
	m->transport = n->transport;
	m->family = n->family;
	m->direction = n->direction;
	m->role = n->role;
	m->src_ip = (ProtobufCBinaryData){ net_addr_len(n->family), (uint8_t *)n->src_ip };
	m->src_port = n->src_port;
	m->dst_ip = (ProtobufCBinaryData){ net_addr_len(n->family), (uint8_t *)n->dst_ip };
	m->dst_port = n->dst_port;
	m->socket_cookie = n->socket_cookie;
}

static void put_rr(PbRr *m, const struct dns_rr *rr)
{
	dnsvigil__v1__resource_record__init(m);
	if (rr->name) {
		m->has_name_case = DNSVIGIL__V1__RESOURCE_RECORD__HAS_NAME_NAME;
		m->name = STR(rr->name);
	}
	m->type = rr->type;
	m->class_ = rr->rclass;
	m->ttl = rr->ttl;
	if (rr->data) {
		m->has_data_case = DNSVIGIL__V1__RESOURCE_RECORD__HAS_DATA_DATA;
		m->data = STR(rr->data);
	}
	m->rdata = (ProtobufCBinaryData){ rr->rdata ? rr->rdlength : 0, (uint8_t *)rr->rdata };
	m->addr = (ProtobufCBinaryData){ rr->addr ? rr->addr_len : 0, (uint8_t *)rr->addr };
	if (rr->target) {
		m->has_target_case = DNSVIGIL__V1__RESOURCE_RECORD__HAS_TARGET_TARGET;
		m->target = STR(rr->target);
	}
	if (rr->rname) {
		m->has_rname_case = DNSVIGIL__V1__RESOURCE_RECORD__HAS_RNAME_RNAME;
		m->rname = STR(rr->rname);
	}
	m->priority = rr->priority;
	m->weight = rr->weight;
	m->port = rr->port;
}

/* Points out[] at the next sec->n records of the pool and fills them. */
static void put_section(PbRr **out, PbRr *pool, const struct dns_section *sec)
{
	for (size_t i = 0; i < sec->n; i++) {
		put_rr(&pool[i], &sec->rrs[i]);
		out[i] = &pool[i];
	}
}

static int put_dns(struct event_pb *pb, PbDns *m, PbQuestion *q, PbEdns *e,
		   const struct dns_msg *d)
{
	size_t n = d->an.n + d->ns.n + d->ar.n;
	PbRr *pool = scratch_get(&pb->rrs, n, sizeof(*pool));
	PbRr **ptrs = scratch_get(&pb->rr_ptrs, n, sizeof(*ptrs));
	PbOpt *opts = scratch_get(&pb->opts, d->edns.n_opts, sizeof(*opts));
	PbOpt **opt_ptrs = scratch_get(&pb->opt_ptrs, d->edns.n_opts, sizeof(*opt_ptrs));

	if (!pool || !ptrs || !opts || !opt_ptrs)
		return -ENOMEM;
	dnsvigil__v1__dns_message__init(m);
	m->id = d->id;
	m->qr = d->qr;
	m->opcode = d->opcode;
	m->rcode = d->rcode;
	m->flags = d->flags;
	m->qdcount = d->qdcount;
	m->ancount = d->ancount;
	m->nscount = d->nscount;
	m->arcount = d->arcount;
	if (d->has_question) {
		dnsvigil__v1__question__init(q);
		if (d->qname) {
			q->has_name_case = DNSVIGIL__V1__QUESTION__HAS_NAME_NAME;
			q->name = STR(d->qname);
		}
		q->type = d->qtype;
		q->class_ = d->qclass;
		m->question = q;
	}
	put_section(ptrs, pool, &d->an);
	m->n_answers = d->an.n;
	m->answers = ptrs;
	put_section(ptrs + d->an.n, pool + d->an.n, &d->ns);
	m->n_authority = d->ns.n;
	m->authority = ptrs + d->an.n;
	put_section(ptrs + d->an.n + d->ns.n, pool + d->an.n + d->ns.n, &d->ar);
	m->n_additional = d->ar.n;
	m->additional = ptrs + d->an.n + d->ns.n;
	if (d->edns.present) {
		dnsvigil__v1__edns__init(e);
		e->udp_size = d->edns.udp_size;
		e->version = d->edns.version;
		e->do_ = d->edns.do_bit;
		e->ext_rcode_hi = d->edns.ext_rcode_hi;
		for (size_t i = 0; i < d->edns.n_opts; i++) {
			const struct dns_edns_opt *o = &d->edns.opts[i];

			dnsvigil__v1__edns_option__init(&opts[i]);
			opts[i].code = o->code;
			if (o->name) {
				opts[i].has_name_case = DNSVIGIL__V1__EDNS_OPTION__HAS_NAME_NAME;
				opts[i].name = STR(o->name);
			}
			if (o->data) {
				opts[i].has_data_case = DNSVIGIL__V1__EDNS_OPTION__HAS_DATA_DATA;
				opts[i].data = STR(o->data);
			}
			opt_ptrs[i] = &opts[i];
		}
		e->n_options = d->edns.n_opts;
		e->options = opt_ptrs;
		m->edns = e;
	}
	m->size = d->size;
	if (d->malformed) {
		m->has_malformed_case = DNSVIGIL__V1__DNS_MESSAGE__HAS_MALFORMED_MALFORMED;
		m->malformed = STR(d->malformed);
	}
	return 0;
}

static void put_timeout(PbTimeout *m, const struct timeout_info *t)
{
	if (t->qname) {
		m->has_qname_case = DNSVIGIL__V1__TIMEOUT_EVENT__HAS_QNAME_QNAME;
		m->qname = STR(t->qname);
	}
	m->id = t->id;
	m->qtype = t->qtype;
	m->qclass = t->qclass;
	m->waited_ns = t->waited_ns;
}

static int put_call(struct event_pb *pb, PbCall *m, PbFlags *flags, const struct call_info *c)
{
	ProtobufCBinaryData *addrs = scratch_get(&pb->addrs, c->n_addrs, sizeof(*addrs));

	if (!addrs)
		return -ENOMEM;
	dnsvigil__v1__resolver_call_event__init(m);
	if (c->function) {
		m->has_function_case = DNSVIGIL__V1__RESOLVER_CALL_EVENT__HAS_FUNCTION_FUNCTION;
		m->function = STR(c->function);
	}
	if (c->name) {
		m->has_name_case = DNSVIGIL__V1__RESOLVER_CALL_EVENT__HAS_NAME_NAME;
		m->name = STR(c->name);
	}
	if (c->service) {
		m->has_service_case = DNSVIGIL__V1__RESOLVER_CALL_EVENT__HAS_SERVICE_SERVICE;
		m->service = STR(c->service);
	}
	m->family = c->family;
	if (c->flags) {
		dnsvigil__v1__flags__init(flags);
		flags->n_names = c->n_flags;
		flags->names = (char **)c->flags;
		m->flags = flags;
	}
	m->qtype = c->qtype;
	if (c->result) {
		m->has_result_case = DNSVIGIL__V1__RESOLVER_CALL_EVENT__HAS_RESULT_RESULT;
		m->result = STR(c->result);
	}
	if (c->has_code) {
		m->has_result_code_case =
			DNSVIGIL__V1__RESOLVER_CALL_EVENT__HAS_RESULT_CODE_RESULT_CODE;
		m->result_code = c->result_code;
	}
	if (c->hostname) {
		m->has_hostname_case = DNSVIGIL__V1__RESOLVER_CALL_EVENT__HAS_HOSTNAME_HOSTNAME;
		m->hostname = STR(c->hostname);
	}
	for (size_t i = 0; i < c->n_addrs; i++)
		addrs[i] = (ProtobufCBinaryData){ net_addr_len(c->addrs[i].family),
						  (uint8_t *)c->addrs[i].addr };
	m->n_addresses = c->n_addrs;
	m->addresses = addrs;
	m->latency_ns = c->latency_ns;
	m->call_id = c->call_id;
	return 0;
}

static int put_stats(struct event_pb *pb, PbStats *m, const struct stats_registry *r)
{
	PbStat *stats = scratch_get(&pb->stats, r->n, sizeof(*stats));
	PbStat **ptrs = scratch_get(&pb->stat_ptrs, r->n, sizeof(*ptrs));
	PbNullable *nullables = scratch_get(&pb->nullables, r->n, sizeof(*nullables));
	PbNamed *named = scratch_get(&pb->named, r->n, sizeof(*named));
	PbList *lists = scratch_get(&pb->lists, r->n, sizeof(*lists));

	if (!stats || !ptrs || !nullables || !named || !lists)
		return -ENOMEM;
	dnsvigil__v1__stats_event__init(m);
	for (size_t i = 0; i < r->n; i++) {
		const struct stats_entry *e = &r->entries[i];
		PbStat *s = &stats[i];

		dnsvigil__v1__stat__init(s);
		s->name = STR(e->name);
		switch (e->kind) {
		case STATS_U64:
			s->value_case = DNSVIGIL__V1__STAT__VALUE_U64;
			s->u64 = *(const uint64_t *)e->value;
			break;
		case STATS_BOOL:
			s->value_case = DNSVIGIL__V1__STAT__VALUE_FLAG;
			s->flag = *(const bool *)e->value;
			break;
		case STATS_STRING:
			dnsvigil__v1__nullable_string__init(&nullables[i]);
			if (*(const char *const *)e->value) {
				nullables[i].has_value_case =
					DNSVIGIL__V1__NULLABLE_STRING__HAS_VALUE_VALUE;
				nullables[i].value = STR(*(const char *const *)e->value);
			}
			s->value_case = DNSVIGIL__V1__STAT__VALUE_STRING;
			s->string = &nullables[i];
			break;
		case STATS_U64_NAMED:
			dnsvigil__v1__named_u64__init(&named[i]);
			named[i].n_names = named[i].n_values = e->n;
			named[i].names = (char **)e->names;
			named[i].values = (uint64_t *)e->value;
			s->value_case = DNSVIGIL__V1__STAT__VALUE_NAMED;
			s->named = &named[i];
			break;
		case STATS_U64_LIST:
			dnsvigil__v1__u64_list__init(&lists[i]);
			/* as rendered: *count values, at most n */
			lists[i].n_values = *e->count < 0 ? 0 :
					    (size_t)*e->count < e->n ? (size_t)*e->count : e->n;
			lists[i].values = (uint64_t *)e->value;
			s->value_case = DNSVIGIL__V1__STAT__VALUE_LIST;
			s->list = &lists[i];
			break;
		}
		ptrs[i] = s;
	}
	m->n_values = r->n;
	m->values = ptrs;
	return 0;
}

static void put_evidence(PbEvidence *m, PbNullable *str, PbFlags *list, const struct evidence *e)
{
	dnsvigil__v1__evidence__init(m);
	m->name = STR(e->name);
	switch (e->kind) {
	case EVIDENCE_U64:
		m->value_case = DNSVIGIL__V1__EVIDENCE__VALUE_U64;
		m->u64 = e->u64;
		break;
	case EVIDENCE_LIST:
		dnsvigil__v1__flags__init(list);
		list->n_names = e->n_list;
		list->names = (char **)e->list;
		m->value_case = DNSVIGIL__V1__EVIDENCE__VALUE_LIST;
		m->list = list;
		break;
	default:
		dnsvigil__v1__nullable_string__init(str);
		if (e->str) {
			str->has_value_case = DNSVIGIL__V1__NULLABLE_STRING__HAS_VALUE_VALUE;
			str->value = STR(e->str);
		}
		m->value_case = DNSVIGIL__V1__EVIDENCE__VALUE_STRING;
		m->string = str;
		break;
	}
}

/* The n findings at f, in the encoder's pools; *out points at each. */
static int put_findings(struct event_pb *pb, const struct finding *f, size_t n, PbFinding ***out)
{
	size_t n_ev = 0, k = 0;
	PbFinding *pool, **ptrs;
	PbEvidence *evs, **ev_ptrs;
	PbNullable *strs;
	PbFlags *lists;

	for (size_t i = 0; i < n; i++)
		n_ev += f[i].n_evidence;
	pool = scratch_get(&pb->findings, n, sizeof(*pool));
	ptrs = scratch_get(&pb->finding_ptrs, n, sizeof(*ptrs));
	evs = scratch_get(&pb->evidence, n_ev, sizeof(*evs));
	ev_ptrs = scratch_get(&pb->evidence_ptrs, n_ev, sizeof(*ev_ptrs));
	strs = scratch_get(&pb->evidence_strs, n_ev, sizeof(*strs));
	lists = scratch_get(&pb->evidence_lists, n_ev, sizeof(*lists));
	if (!pool || !ptrs || !evs || !ev_ptrs || !strs || !lists)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		PbFinding *m = &pool[i];

		dnsvigil__v1__finding__init(m);
		m->rule = STR(f[i].rule);
		m->severity = f[i].severity;
		m->n_attack = f[i].n_attack;
		m->attack = (char **)f[i].attack;
		m->summary = STR(f[i].summary);
		if (f[i].qname) {
			m->has_qname_case = DNSVIGIL__V1__FINDING__HAS_QNAME_QNAME;
			m->qname = STR(f[i].qname);
		}
		if (f[i].registered_domain) {
			m->has_registered_domain_case =
				DNSVIGIL__V1__FINDING__HAS_REGISTERED_DOMAIN_REGISTERED_DOMAIN;
			m->registered_domain = STR(f[i].registered_domain);
		}
		m->n_evidence = f[i].n_evidence;
		m->evidence = ev_ptrs + k;
		for (size_t e = 0; e < f[i].n_evidence; e++, k++) {
			put_evidence(&evs[k], &strs[k], &lists[k], &f[i].evidence[e]);
			ev_ptrs[k] = &evs[k];
		}
		ptrs[i] = m;
	}
	*out = ptrs;
	return 0;
}

int event_pb_encode(struct event_pb *pb, const struct event *ev, const uint8_t **out,
		    size_t *len)
{
	PbEvent m = DNSVIGIL__V1__EVENT__INIT;
	PbProcess process, origin;
	PbNet net;
	PbDnsEvent dns = DNSVIGIL__V1__DNS_EVENT__INIT;
	PbDns msg;
	PbQuestion question;
	PbEdns edns;
	PbTimeout timeout = DNSVIGIL__V1__TIMEOUT_EVENT__INIT;
	PbCall call;
	PbFlags flags;
	PbStats stats;
	PbFinding **findings = NULL;
	uint8_t *buf;
	int err = 0;

	m.ts_ns = ev->ts_ns;
	if (ev->host) {
		m.has_host_case = DNSVIGIL__V1__EVENT__HAS_HOST_HOST;
		m.host = STR(ev->host);
	}
	if (ev->type != EVENT_STATS && proc_known(&ev->process)) {
		put_process(&process, &ev->process);
		m.process = &process;
	}
	switch (ev->type) {
	case EVENT_DNS:
		put_net(&net, &ev->net);
		dns.net = &net;
		err = put_dns(pb, &msg, &question, &edns, ev->dns);
		dns.message = &msg;
		if (ev->latency_ns >= 0) {
			dns.has_latency_ns_case = DNSVIGIL__V1__DNS_EVENT__HAS_LATENCY_NS_LATENCY_NS;
			dns.latency_ns = ev->latency_ns;
		}
		dns.call_id = ev->call_id;
		dns.agent_probe = ev->agent_probe;
		if (ev->has_origin) {
			put_process(&origin, &ev->origin);
			dns.origin = &origin;
		}
		if (ev->raw && (ev->dns->malformed || (pb->flags & EVENT_PB_RAW))) {
			dns.has_raw_case = DNSVIGIL__V1__DNS_EVENT__HAS_RAW_RAW;
			dns.raw = (ProtobufCBinaryData){ ev->raw_len, (uint8_t *)ev->raw };
		}
		if (ev->n_findings && !err) {
			err = put_findings(pb, ev->findings, ev->n_findings, &findings);
			dns.n_findings = ev->n_findings;
			dns.findings = findings;
		}
		m.body_case = DNSVIGIL__V1__EVENT__BODY_DNS;
		m.dns = &dns;
		break;
	case EVENT_TIMEOUT:
		put_net(&net, &ev->net);
		timeout.net = &net;
		put_timeout(&timeout, ev->timeout);
		m.body_case = DNSVIGIL__V1__EVENT__BODY_TIMEOUT;
		m.timeout = &timeout;
		break;
	case EVENT_RESOLVER_CALL:
		err = put_call(pb, &call, &flags, ev->call);
		if (ev->n_findings && !err) {
			err = put_findings(pb, ev->findings, ev->n_findings, &findings);
			call.n_findings = ev->n_findings;
			call.findings = findings;
		}
		m.body_case = DNSVIGIL__V1__EVENT__BODY_RESOLVER_CALL;
		m.resolver_call = &call;
		break;
	case EVENT_FINDING:
		err = put_findings(pb, ev->finding, 1, &findings);
		m.body_case = DNSVIGIL__V1__EVENT__BODY_FINDING;
		m.finding = findings ? findings[0] : NULL;
		break;
	case EVENT_STATS:
		err = put_stats(pb, &stats, ev->stats);
		m.body_case = DNSVIGIL__V1__EVENT__BODY_STATS;
		m.stats = &stats;
		break;
	case EVENT_OWNER_NOTICE:
		return -EINVAL;
	}
	if (err)
		return err;
	*len = dnsvigil__v1__event__get_packed_size(&m);
	buf = scratch_get(&pb->out, *len, 1);
	if (!buf)
		return -ENOMEM;
	dnsvigil__v1__event__pack(&m, buf);
	*out = buf;
	return 0;
}

/* Why a message is refused: the first reason found, for the debug log. */
#define BAD(why)                        \
	do {                            \
		*reason = (why);        \
		return false;           \
	} while (0)

static bool valid_process(const PbProcess *p, const char **reason)
{
	if ((p->has_pid_case && p->pid > INT32_MAX) || (p->has_tid_case && p->tid > INT32_MAX) ||
	    (p->has_ppid_case && p->ppid > INT32_MAX))
		BAD("process id out of range");
	if (strlen(p->comm) >= PROC_COMM_LEN)
		BAD("comm too long");
	return true;
}

static bool valid_net(const PbNet *n, const char **reason)
{
	if (!n)
		BAD("no net");
	if (n->transport > UINT8_MAX || (n->family != 4 && n->family != 6) || n->direction > 1 ||
	    n->role > ROLE_SERVER)
		BAD("net value out of range");
	if (n->src_ip.len != net_addr_len(n->family) || n->dst_ip.len != net_addr_len(n->family))
		BAD("address length does not match family");
	if (n->src_port > UINT16_MAX || n->dst_port > UINT16_MAX)
		BAD("port out of range");
	return true;
}

static bool valid_rrs(PbRr *const *rrs, size_t n, const char **reason)
{
	if (n > UINT16_MAX)
		BAD("too many records");
	for (size_t i = 0; i < n; i++) {
		const PbRr *rr = rrs[i];

		if (rr->type > UINT16_MAX || rr->class_ > UINT16_MAX || rr->rdata.len > UINT16_MAX ||
		    rr->priority > UINT16_MAX || rr->weight > UINT16_MAX || rr->port > UINT16_MAX)
			BAD("record value out of range");
		if (rr->addr.len != 0 && rr->addr.len != 4 && rr->addr.len != 16)
			BAD("record address length");
	}
	return true;
}

static bool valid_dns(const PbDnsEvent *d, const char **reason)
{
	const PbDns *m = d->message;

	if (!valid_net(d->net, reason))
		return false;
	if (!m)
		BAD("dns event without message");
	if (m->id > UINT16_MAX || m->opcode > 15 || m->rcode > 0xfff || m->flags > 0x3f ||
	    m->qdcount > UINT16_MAX || m->ancount > UINT16_MAX || m->nscount > UINT16_MAX ||
	    m->arcount > UINT16_MAX)
		BAD("dns header value out of range");
	if (m->question && (m->question->type > UINT16_MAX || m->question->class_ > UINT16_MAX))
		BAD("question value out of range");
	if (!valid_rrs(m->answers, m->n_answers, reason) ||
	    !valid_rrs(m->authority, m->n_authority, reason) ||
	    !valid_rrs(m->additional, m->n_additional, reason))
		return false;
	if (m->edns) {
		if (m->edns->udp_size > UINT16_MAX || m->edns->version > UINT8_MAX ||
		    m->edns->ext_rcode_hi > UINT8_MAX || m->edns->n_options > UINT16_MAX)
			BAD("edns value out of range");
		for (size_t i = 0; i < m->edns->n_options; i++)
			if (m->edns->options[i]->code > UINT16_MAX)
				BAD("edns option code out of range");
	}
	if (d->has_latency_ns_case && d->latency_ns > INT64_MAX)
		BAD("latency out of range");
	if (d->origin && !valid_process(d->origin, reason))
		return false;
	return true;
}

static bool valid_timeout(const PbTimeout *t, const char **reason)
{
	if (!valid_net(t->net, reason))
		return false;
	if (t->id > UINT16_MAX || t->qtype > UINT16_MAX || t->qclass > UINT16_MAX)
		BAD("timeout value out of range");
	return true;
}

static bool valid_call(const PbCall *c, const char **reason)
{
	if (c->family != 0 && c->family != 4 && c->family != 6)
		BAD("call family out of range");
	if (c->qtype > UINT16_MAX)
		BAD("call qtype out of range");
	if (c->flags && c->flags->n_names > MAX_CALL_FLAGS)
		BAD("too many call flags");
	if (c->n_addresses > CALL_MAX_ADDRS)
		BAD("too many call addresses");
	for (size_t i = 0; i < c->n_addresses; i++)
		if (c->addresses[i].len != 4 && c->addresses[i].len != 16)
			BAD("call address length");
	return true;
}

static bool valid_stats(const PbStats *s, const char **reason)
{
	if (s->n_values > STATS_MAX_ENTRIES)
		BAD("too many stats");
	for (size_t i = 0; i < s->n_values; i++) {
		const PbStat *v = s->values[i];

		switch (v->value_case) {
		case DNSVIGIL__V1__STAT__VALUE_U64:
		case DNSVIGIL__V1__STAT__VALUE_FLAG:
		case DNSVIGIL__V1__STAT__VALUE_STRING:
			break;
		case DNSVIGIL__V1__STAT__VALUE_NAMED:
			if (v->named->n_names != v->named->n_values)
				BAD("stat names and values differ in number");
			if (v->named->n_values > MAX_STAT_VALUES)
				BAD("too many stat values");
			break;
		case DNSVIGIL__V1__STAT__VALUE_LIST:
			if (v->list->n_values > MAX_STAT_VALUES)
				BAD("too many stat values");
			break;
		default:
			BAD("stat without value");
		}
	}
	return true;
}

static bool valid_finding(const PbFinding *f, const char **reason)
{
	if (!f->rule[0])
		BAD("finding without rule");
	if (f->severity > SEVERITY_CRITICAL)
		BAD("finding severity out of range");
	if (f->n_attack > MAX_ATTACK || f->n_evidence > MAX_EVIDENCE)
		BAD("finding too large");
	for (size_t i = 0; i < f->n_evidence; i++) {
		const PbEvidence *e = f->evidence[i];

		if (!e->name[0])
			BAD("evidence without name");
		/* one JSON key per name */
		for (size_t k = 0; k < i; k++)
			if (!strcmp(f->evidence[k]->name, e->name))
				BAD("evidence name given twice");
		switch (e->value_case) {
		case DNSVIGIL__V1__EVIDENCE__VALUE_STRING:
		case DNSVIGIL__V1__EVIDENCE__VALUE_U64:
			break;
		case DNSVIGIL__V1__EVIDENCE__VALUE_LIST:
			if (e->list->n_names > MAX_EVIDENCE_LIST)
				BAD("evidence list too long");
			break;
		default:
			BAD("evidence without value");
		}
	}
	return true;
}

static bool valid_findings(PbFinding *const *f, size_t n, const char **reason)
{
	if (n > MAX_FINDINGS)
		BAD("too many findings");
	for (size_t i = 0; i < n; i++)
		if (!valid_finding(f[i], reason))
			return false;
	return true;
}

static bool valid_event(const PbEvent *m, const char **reason)
{
	if (m->process && !valid_process(m->process, reason))
		return false;
	switch (m->body_case) {
	case DNSVIGIL__V1__EVENT__BODY_DNS:
		return valid_dns(m->dns, reason) &&
		       valid_findings(m->dns->findings, m->dns->n_findings, reason);
	case DNSVIGIL__V1__EVENT__BODY_TIMEOUT:
		return valid_timeout(m->timeout, reason);
	case DNSVIGIL__V1__EVENT__BODY_RESOLVER_CALL:
		return valid_call(m->resolver_call, reason) &&
		       valid_findings(m->resolver_call->findings, m->resolver_call->n_findings,
				      reason);
	case DNSVIGIL__V1__EVENT__BODY_STATS:
		return valid_stats(m->stats, reason);
	case DNSVIGIL__V1__EVENT__BODY_FINDING:
		return valid_finding(m->finding, reason);
	default:
		BAD("no event body this version knows");
	}
}

#undef BAD

/* Decoding below reads only what valid_event() checked. */

static void get_process(struct arena *b, const PbProcess *m, struct proc_info *p)
{
	struct proc_info q = proc_unknown;

	q.exe = m->has_exe_case ? arena_str(b, m->exe) : NULL;
	q.cmdline = m->has_cmdline_case ? arena_str(b, m->cmdline) : NULL;
	q.cgroup = m->has_cgroup_case ? arena_str(b, m->cgroup) : NULL;
	q.container_id = m->has_container_id_case ? arena_str(b, m->container_id) : NULL;
	if (m->has_pid_case)
		q.pid = m->pid;
	if (m->has_tid_case)
		q.tid = m->tid;
	if (m->has_ppid_case)
		q.ppid = m->ppid;
	if (m->has_uid_case)
		q.uid = m->uid;
	if (m->has_gid_case)
		q.gid = m->gid;
	memcpy(q.comm, m->comm, strlen(m->comm) + 1);
	q.cgroup_id = m->cgroup_id;
	*p = q;
}

static void get_net(const PbNet *m, struct net_info *n)
{
	n->transport = m->transport;
	n->family = m->family;
	n->direction = m->direction;
	n->role = m->role;
	memcpy(n->src_ip, m->src_ip.data, m->src_ip.len);
	memcpy(n->dst_ip, m->dst_ip.data, m->dst_ip.len);
	n->src_port = m->src_port;
	n->dst_port = m->dst_port;
	n->socket_cookie = m->socket_cookie;
}

static void get_section(struct arena *b, PbRr *const *src, size_t n, struct dns_section *sec)
{
	struct dns_rr *rrs = arena_take(b, NULL, n * sizeof(*rrs));

	for (size_t i = 0; i < n; i++) {
		const PbRr *m = src[i];
		struct dns_rr rr = {
			.name = m->has_name_case ? arena_str(b, m->name) : NULL,
			.type = m->type,
			.rclass = m->class_,
			.ttl = m->ttl,
			.data = m->has_data_case ? arena_str(b, m->data) : NULL,
			.rdata = m->rdata.len ? arena_take(b, m->rdata.data, m->rdata.len) : NULL,
			.rdlength = m->rdata.len,
			.addr_len = m->addr.len,
			.addr = m->addr.len ? arena_take(b, m->addr.data, m->addr.len) : NULL,
			.target = m->has_target_case ? arena_str(b, m->target) : NULL,
			.rname = m->has_rname_case ? arena_str(b, m->rname) : NULL,
			.priority = m->priority,
			.weight = m->weight,
			.port = m->port,
		};

		if (rrs)
			rrs[i] = rr;
	}
	sec->n = n;
	sec->rrs = rrs;
}

static const struct dns_msg *get_dns(struct arena *b, const PbDns *m)
{
	struct dns_msg *d = arena_take(b, NULL, sizeof(*d));
	struct dns_msg msg = {
		.size = m->size,
		.id = m->id,
		.qr = m->qr,
		.opcode = m->opcode,
		.rcode = m->rcode,
		.flags = m->flags,
		.qdcount = m->qdcount,
		.ancount = m->ancount,
		.nscount = m->nscount,
		.arcount = m->arcount,
		.malformed = m->has_malformed_case ? arena_str(b, m->malformed) : NULL,
	};

	if (m->question) {
		msg.has_question = true;
		msg.qname = m->question->has_name_case ? arena_str(b, m->question->name) : NULL;
		msg.qtype = m->question->type;
		msg.qclass = m->question->class_;
	}
	get_section(b, m->answers, m->n_answers, &msg.an);
	get_section(b, m->authority, m->n_authority, &msg.ns);
	get_section(b, m->additional, m->n_additional, &msg.ar);
	if (m->edns) {
		struct dns_edns_opt *opts = arena_take(b, NULL, m->edns->n_options * sizeof(*opts));

		msg.edns = (struct dns_edns){
			.present = true,
			.udp_size = m->edns->udp_size,
			.version = m->edns->version,
			.do_bit = m->edns->do_,
			.ext_rcode_hi = m->edns->ext_rcode_hi,
			.n_opts = m->edns->n_options,
			.opts = opts,
		};
		for (size_t i = 0; i < m->edns->n_options; i++) {
			const PbOpt *o = m->edns->options[i];
			struct dns_edns_opt opt = {
				.code = o->code,
				.name = o->has_name_case ? arena_str(b, o->name) : NULL,
				.data = o->has_data_case ? arena_str(b, o->data) : NULL,
			};

			if (opts)
				opts[i] = opt;
		}
	}
	if (d)
		*d = msg;
	return d;
}

static const struct timeout_info *get_timeout(struct arena *b, const PbTimeout *m)
{
	struct timeout_info *t = arena_take(b, NULL, sizeof(*t));
	struct timeout_info tmo = {
		.id = m->id,
		.qname = m->has_qname_case ? arena_str(b, m->qname) : NULL,
		.qtype = m->qtype,
		.qclass = m->qclass,
		.waited_ns = m->waited_ns,
	};

	if (t)
		*t = tmo;
	return t;
}

static const struct call_info *get_call(struct arena *b, const PbCall *m)
{
	struct call_info *c = arena_take(b, NULL, sizeof(*c));
	struct call_addr *addrs = arena_take(b, NULL, m->n_addresses * sizeof(*addrs));
	struct call_info call = {
		.function = m->has_function_case ? arena_str(b, m->function) : NULL,
		.name = m->has_name_case ? arena_str(b, m->name) : NULL,
		.service = m->has_service_case ? arena_str(b, m->service) : NULL,
		.family = m->family,
		.qtype = m->qtype,
		.result = m->has_result_case ? arena_str(b, m->result) : NULL,
		.has_code = m->has_result_code_case != 0,
		.result_code = m->result_code,
		.hostname = m->has_hostname_case ? arena_str(b, m->hostname) : NULL,
		.n_addrs = m->n_addresses,
		.addrs = addrs,
		.latency_ns = m->latency_ns,
		.call_id = m->call_id,
	};

	if (m->flags) {
		/* never NULL when filling, even for none: flags were given */
		call.flags = STRS(b, m->flags->names, m->flags->n_names);
		call.n_flags = m->flags->n_names;
	}
	for (size_t i = 0; addrs && i < m->n_addresses; i++) {
		addrs[i].family = m->addresses[i].len == 4 ? 4 : 6;
		memset(addrs[i].addr, 0, sizeof(addrs[i].addr));
		memcpy(addrs[i].addr, m->addresses[i].data, m->addresses[i].len);
	}
	if (c)
		*c = call;
	return c;
}

/* The registry and the values its entries point to. */
static const struct stats_registry *get_stats(struct arena *b, const PbStats *m)
{
	struct stats_registry *r = arena_take(b, NULL, sizeof(*r));

	for (size_t i = 0; i < m->n_values; i++) {
		const PbStat *s = m->values[i];
		struct stats_entry e = { .name = arena_str(b, s->name) };

		switch (s->value_case) {
		case DNSVIGIL__V1__STAT__VALUE_U64:
			e.kind = STATS_U64;
			e.value = arena_take(b, &s->u64, sizeof(s->u64));
			break;
		case DNSVIGIL__V1__STAT__VALUE_FLAG: {
			bool flag = s->flag;

			e.kind = STATS_BOOL;
			e.value = arena_take(b, &flag, sizeof(flag));
			break;
		}
		case DNSVIGIL__V1__STAT__VALUE_STRING: {
			const char *str = s->string->has_value_case ?
						  arena_str(b, s->string->value) : NULL;

			e.kind = STATS_STRING;
			e.value = arena_take(b, &str, sizeof(str));
			break;
		}
		case DNSVIGIL__V1__STAT__VALUE_NAMED: {
			e.kind = STATS_U64_NAMED;
			e.value = arena_take(b, s->named->values, s->named->n_values * sizeof(uint64_t));
			e.names = STRS(b, s->named->names, s->named->n_names);
			e.n = s->named->n_values;
			break;
		}
		case DNSVIGIL__V1__STAT__VALUE_LIST: {
			int count = s->list->n_values;

			e.kind = STATS_U64_LIST;
			e.value = arena_take(b, s->list->values, s->list->n_values * sizeof(uint64_t));
			e.count = arena_take(b, &count, sizeof(count));
			e.n = s->list->n_values;
			break;
		}
		default:
			break; /* valid_stats() let none through */
		}
		if (r)
			r->entries[i] = e;
	}
	if (r)
		r->n = m->n_values;
	return r;
}

static const struct finding *get_findings(struct arena *b, PbFinding *const *src, size_t n)
{
	struct finding *out = arena_take(b, NULL, n * sizeof(*out));

	for (size_t i = 0; i < n; i++) {
		const PbFinding *m = src[i];
		struct evidence *evs = arena_take(b, NULL, m->n_evidence * sizeof(*evs));
		struct finding f = {
			.rule = arena_str(b, m->rule),
			.severity = m->severity,
			.attack = STRS(b, m->attack, m->n_attack),
			.n_attack = m->n_attack,
			.summary = arena_str(b, m->summary),
			.qname = m->has_qname_case ? arena_str(b, m->qname) : NULL,
			.registered_domain = m->has_registered_domain_case ?
						     arena_str(b, m->registered_domain) :
						     NULL,
			.evidence = evs,
			.n_evidence = m->n_evidence,
		};

		for (size_t k = 0; k < m->n_evidence; k++) {
			const PbEvidence *e = m->evidence[k];
			struct evidence ev = { .name = arena_str(b, e->name) };

			switch (e->value_case) {
			case DNSVIGIL__V1__EVIDENCE__VALUE_U64:
				ev.kind = EVIDENCE_U64;
				ev.u64 = e->u64;
				break;
			case DNSVIGIL__V1__EVIDENCE__VALUE_LIST:
				ev.kind = EVIDENCE_LIST;
				ev.list = STRS(b, e->list->names, e->list->n_names);
				ev.n_list = e->list->n_names;
				break;
			default: /* valid_finding() let only strings through */
				ev.kind = EVIDENCE_STRING;
				ev.str = e->string->has_value_case ? arena_str(b, e->string->value) :
								     NULL;
				break;
			}
			if (evs)
				evs[k] = ev;
		}
		if (out)
			out[i] = f;
	}
	return out;
}

static struct event *get_event(struct arena *b, const PbEvent *m)
{
	struct event *ev = arena_take(b, NULL, sizeof(*ev));
	struct event e = {
		.ts_ns = m->ts_ns,
		.host = m->has_host_case ? arena_str(b, m->host) : NULL,
		.process = proc_unknown,
		.latency_ns = -1,
	};

	if (m->process)
		get_process(b, m->process, &e.process);
	switch (m->body_case) {
	case DNSVIGIL__V1__EVENT__BODY_DNS: {
		const PbDnsEvent *d = m->dns;

		e.type = EVENT_DNS;
		get_net(d->net, &e.net);
		e.dns = get_dns(b, d->message);
		if (d->has_latency_ns_case)
			e.latency_ns = d->latency_ns;
		e.call_id = d->call_id;
		e.agent_probe = d->agent_probe;
		if (d->origin) {
			e.has_origin = true;
			get_process(b, d->origin, &e.origin);
		}
		if (d->has_raw_case) {
			e.raw = arena_take(b, d->raw.data, d->raw.len);
			e.raw_len = d->raw.len;
		}
		if (d->n_findings) {
			e.findings = get_findings(b, d->findings, d->n_findings);
			e.n_findings = d->n_findings;
		}
		break;
	}
	case DNSVIGIL__V1__EVENT__BODY_TIMEOUT:
		e.type = EVENT_TIMEOUT;
		get_net(m->timeout->net, &e.net);
		e.timeout = get_timeout(b, m->timeout);
		break;
	case DNSVIGIL__V1__EVENT__BODY_RESOLVER_CALL:
		e.type = EVENT_RESOLVER_CALL;
		e.call = get_call(b, m->resolver_call);
		if (m->resolver_call->n_findings) {
			e.findings = get_findings(b, m->resolver_call->findings,
						  m->resolver_call->n_findings);
			e.n_findings = m->resolver_call->n_findings;
		}
		break;
	case DNSVIGIL__V1__EVENT__BODY_FINDING:
		e.type = EVENT_FINDING;
		e.finding = get_findings(b, &m->finding, 1);
		break;
	default: /* valid_event() let only stats through */
		e.type = EVENT_STATS;
		e.stats = get_stats(b, m->stats);
		break;
	}
	if (!ev)
		return NULL;
	e.owned = ev;
	*ev = e;
	return ev;
}

/* protobuf-c's tree of one Event is thrown away as soon as it is copied into the event: it is
 * bump-allocated from a block each thread keeps, instead of a malloc and a free per field
 * (they were a third of the collector's ingest time). What does not fit goes to malloc, and
 * the block grows to the largest Event seen. */
struct unpack_arena {
	uint8_t *block;
	size_t cap, used;
	void *spill; /* overflow allocations, chained through their first word */
};

static __thread struct unpack_arena unpack_arena;

/* Keeps at most this much per thread between decodes. */
#define UNPACK_ARENA_MAX (4u << 20)

static void *unpack_alloc(void *data, size_t size)
{
	struct unpack_arena *a = data;
	size_t need = (size + 15) & ~(size_t)15;
	void **spill;

	if (a->used + need <= a->cap) {
		void *p = a->block + a->used;

		a->used += need;
		return p;
	}
	a->used += need; /* what the block should hold next time */
	spill = malloc(sizeof(void *) * 2 + size);
	if (!spill)
		return NULL;
	spill[0] = a->spill;
	a->spill = spill;
	return spill + 2;
}

static void unpack_free(void *data, void *p)
{
	(void)data, (void)p; /* all of it goes at unpack_reset */
}

static void unpack_reset(struct unpack_arena *a)
{
	size_t want = a->used;

	while (a->spill) {
		void *next = *(void **)a->spill;

		free(a->spill);
		a->spill = next;
	}
	if (want > a->cap && want <= UNPACK_ARENA_MAX) {
		uint8_t *block = malloc(want * 2);

		if (block) {
			free(a->block);
			a->block = block;
			a->cap = want * 2;
		}
	}
	a->used = 0;
}

/* The Event in buf, unpacked into the thread's arena and checked; NULL with *err set when
 * it is none. The caller unpack_reset()s after use. */
static PbEvent *unpack_valid(const uint8_t *buf, size_t len, int *err)
{
	ProtobufCAllocator alloc = { unpack_alloc, unpack_free, &unpack_arena };
	const char *reason = NULL;
	PbEvent *m;

	*err = -EMSGSIZE;
	if (len > EVENT_PB_MAX_LEN)
		return NULL;
	*err = -EBADMSG;
	m = (PbEvent *)pb_unpack(&dnsvigil__v1__event__descriptor, &alloc, buf, len);
	if (!m) {
		/* pb_unpack does not say why; running out of memory looks the same */
		log_debug("event_pb: %zu bytes are no Event", len);
		return NULL;
	}
	if (!valid_event(m, &reason)) {
		log_debug("event_pb: Event refused: %s", reason);
		return NULL;
	}
	*err = 0;
	return m;
}

int event_pb_check(const uint8_t *buf, size_t len)
{
	int err;

	unpack_valid(buf, len, &err);
	unpack_reset(&unpack_arena);
	return err;
}

int event_pb_decode(const uint8_t *buf, size_t len, struct event **out)
{
	struct arena b = { 0 };
	int err;
	PbEvent *m = unpack_valid(buf, len, &err);

	if (!m)
		goto cleanup;
	get_event(&b, m);
	b.base = malloc(b.used);
	if (!b.base) {
		err = -ENOMEM;
		goto cleanup;
	}
	b.used = 0;
	*out = get_event(&b, m);
cleanup:
	unpack_reset(&unpack_arena);
	return err;
}
