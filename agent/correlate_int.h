/* What correlate.c shares with the rules kept in files of their own (correlate_bypass.c,
 * correlate_flux.c, correlate_new.c): a fired finding's storage and the helpers that fill
 * it. Internal to the correlation; nothing outside agent/correlate*.c includes it. */
#ifndef DNSVIGIL_CORRELATE_INT_H
#define DNSVIGIL_CORRELATE_INT_H

#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>

#include "correlate.h"
#include "pdns.h"

#define SUMMARY_MAX 320
#define EVIDENCE_MAX 8
#define TAGS_MAX 8

struct process_key {
	int32_t pid;
	char comm[PROC_COMM_LEN];
};

/* One fired finding and the storage it points into. */
struct slot {
	struct finding f;
	struct evidence evidence[EVIDENCE_MAX];
	char summary[SUMMARY_MAX];
	char text[INET6_ADDRSTRLEN];
	char source[320]; /* file:line */
	char nameserver[256]; /* intel.nsdname, intel.nsip: nsinfra's names change under it */
	char tag_text[512];
	const char *tags[TAGS_MAX];
};

/* A new finding of rule, or NULL when it was reported before (counted) or no slot is left. */
struct slot *correlate__fire(struct correlate *c, const char *rule, uint8_t severity,
			     const char *const *attack, size_t n_attack, const char *qname,
			     const char *domain, const char *dedup_domain,
			     const struct process_key *pk, uint64_t now_ns);
void correlate__evidence_str(struct slot *s, const char *name, const char *value);
void correlate__evidence_u64(struct slot *s, const char *name, uint64_t value);
void correlate__evidence_list(struct slot *s, const char *name, const char *const *list, size_t n);
const char *correlate__who_name(const struct proc_info *p);
struct process_key correlate__key_of(const struct proc_info *p);
/* Command and control over DNS, the ATT&CK id intel and bypass findings share. */
extern const char *const correlate__attack_c2[1];
/* Counts an entry a full table evicted (ctx: the correlate). */
void correlate__count_eviction(void *ctx, void *entry);

/* resolver.bypass (correlate_bypass.c): each process's configured resolvers, and the
 * processes that serve DNS here. opts outlives the bypass. */
struct bypass;
struct bypass *bypass_new(const struct correlate_opts *opts);
void bypass_free(struct bypass *b);
/* ev, a query arriving at a server socket: its process serves DNS. */
void bypass_note_server(struct bypass *b, const struct event *ev, uint64_t now_ns);
bool bypass_serves_dns(struct bypass *b, int32_t pid, uint64_t now_ns);
void bypass_judge(struct bypass *b, struct correlate *c, const struct event *ev,
		  const char *domain, const struct process_key *pk, uint64_t now_ns);

/* fastflux (correlate_flux.c): the low-TTL addresses of each registered domain's answers. */
struct flux;
struct flux *flux_new(const struct correlate_opts *opts, struct correlate *c);
void flux_free(struct flux *f);
void flux_judge(struct flux *f, struct correlate *c, const struct event *ev,
		const char *domain, const struct proc_info *who, const struct process_key *pk,
		uint64_t now_ns);

/* domain.new (correlate_new.c): the registered domains this host has resolved. */
struct known;
struct known *known_new(const struct correlate_opts *opts, struct correlate *c);
void known_free(struct known *k);
int known_set_store(struct known *k, struct pdns *p, size_t max, uint64_t now_s,
		    uint64_t now_ns);
void known_judge(struct known *k, struct correlate *c, const struct event *ev,
		 const char *domain, const struct proc_info *who, const struct process_key *pk,
		 uint64_t now_ns);

#endif
