/* Threat intel: indicators loaded from RPZ zone files, plain lists and abuse.ch ThreatFox CSV
 * into one immutable snapshot, and matched against names and addresses.
 *
 * intel_load() builds a new snapshot and never touches an existing one: a caller reloading
 * (SIGHUP, a changed file) loads, and only on success swaps its pointer and frees the old
 * snapshot; on failure it keeps serving the one it had. A snapshot is read-only once loaded,
 * so any number of threads may match against it at once. Everything a hit points at
 * (source, tags, trigger) lives as long as the snapshot. */
#ifndef DNSVIGIL_INTEL_H
#define DNSVIGIL_INTEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What an indicator is matched against. */
enum intel_kind {
	INTEL_QNAME,     /* the queried name */
	INTEL_IP,        /* an address in an answer (rpz-ip, address lists, ThreatFox ip:port) */
	INTEL_NSDNAME,   /* the name of a nameserver of the queried domain (rpz-nsdname) */
	INTEL_NSIP,      /* an address of such a nameserver (rpz-nsip) */
	INTEL_CLIENT_IP, /* the address of the client that asked (rpz-client-ip) */
	INTEL_KIND_COUNT
};

/* What the source says to do on a match. Plain lists and ThreatFox only say "bad": LISTED. */
enum intel_action {
	INTEL_LISTED,     /* on a list that gives no policy */
	INTEL_NXDOMAIN,   /* RPZ CNAME . */
	INTEL_NODATA,     /* RPZ CNAME *. */
	INTEL_DROP,       /* RPZ CNAME rpz-drop. */
	INTEL_TCP_ONLY,   /* RPZ CNAME rpz-tcp-only. */
	INTEL_PASSTHRU,   /* RPZ CNAME rpz-passthru.: an allowlist entry, wins over every other */
	INTEL_LOCAL_DATA, /* RPZ local data: A, AAAA, TXT ... or a CNAME to another name */
	INTEL_ACTION_COUNT
};

/* Which names a name indicator covers. */
enum intel_scope {
	INTEL_SUFFIX,   /* the name and every name under it (plain lists, ThreatFox domains) */
	INTEL_EXACT,    /* the name alone (RPZ bad.example; ThreatFox url hosts) */
	INTEL_WILDCARD, /* the names strictly under it (RPZ *.bad.example) */
	INTEL_PREFIX,   /* addresses: a CIDR */
};

enum intel_format {
	INTEL_FORMAT_LIST,
	INTEL_FORMAT_RPZ,
	INTEL_FORMAT_THREATFOX,
	INTEL_FORMAT_COUNT
};

/* Why a line gave no indicator. The first group are errors: logged as file:line: reason,
 * kept in intel_errors and counted against intel_opts.max_bad_lines. The others are lines
 * that are fine but hold nothing to match. */
enum intel_skip {
	INTEL_SKIP_BAD_NAME,    /* not a valid domain name */
	INTEL_SKIP_BAD_ADDRESS, /* not a valid address, CIDR or rpz-ip encoding */
	INTEL_SKIP_BAD_RECORD,  /* a zone file line that does not parse */
	INTEL_SKIP_BAD_CSV,     /* a ThreatFox line that does not parse */
	INTEL_SKIP_BAD_LINE,    /* a list line that is none of the forms; a line over 8 KiB */
	INTEL_SKIP_ERRORS,      /* the number of error reasons above */
	INTEL_SKIP_UNSUPPORTED = INTEL_SKIP_ERRORS, /* RPZ record kinds with no trigger
						     * (DNAME, NS below the apex ...); ThreatFox
						     * ioc_types other than domain, ip:port, url */
	INTEL_SKIP_ZONE_APEX,   /* the RPZ zone's own SOA, NS ... */
	INTEL_SKIP_HOSTS_LOCAL, /* hosts-file lines for localhost and the like */
	INTEL_SKIP_DUPLICATE,   /* a trigger seen before with the same scope and allow/block
				 * sense: the first one loaded is kept */
	INTEL_SKIP_COUNT
};

struct intel_stats {
	size_t files;
	size_t files_by_format[INTEL_FORMAT_COUNT];
	size_t dir_entries_ignored; /* dotfiles, subdirectories and other non-regular files */
	size_t lines;
	size_t indicators; /* distinct indicators matched against */
	size_t by_kind[INTEL_KIND_COUNT];
	size_t passthru; /* of those, allowlist entries */
	size_t skipped[INTEL_SKIP_COUNT];
	size_t bad_lines; /* the error reasons' sum */
};

struct intel_opts {
	/* A file with more bad lines than this fails the load (default 100; -1: no limit). */
	long max_bad_lines;
	/* Confidence (0..100) of indicators whose source states none: RPZ and plain lists
	 * (default INTEL_DEFAULT_CONFIDENCE). ThreatFox's confidence_level is kept as it is. */
	int default_confidence;
	/* More indicators than this, over all files, fail the load (default 16 M). */
	size_t max_indicators;
};

#define INTEL_DEFAULT_CONFIDENCE 50
#define INTEL_DEFAULT_MAX_BAD_LINES 100
#define INTEL_DEFAULT_MAX_INDICATORS (16u << 20)
/* The longest domain name in text, without the trailing dot: 255 bytes in wire form. */
#define INTEL_NAME_MAX 253

/* What a load found wrong: each message "file:line: reason" (or "path: reason"), the first
 * INTEL_ERRORS_KEPT of them; count has them all. */
#define INTEL_ERRORS_KEPT 100
struct intel_errors {
	char **msgs;
	size_t n_msgs;
	size_t count;
};

struct intel_hit {
	enum intel_kind kind;
	enum intel_action action;
	enum intel_scope scope;
	enum intel_format format;
	const char *source;  /* the file, as its path was given or found in a directory */
	unsigned int line;
	const char *trigger; /* what matched, normalised: "bad.example", "*.bad.example",
			      * "192.0.2.0/24" */
	const char *tags;    /* ThreatFox tags as listed ("" when none) */
	const char *malware; /* ThreatFox malware_printable ("" when none) */
	unsigned int confidence; /* 0..100 */
};

struct intel;

/* The defaults of every option. */
void intel_opts_default(struct intel_opts *opts);

/* Loads every path (a file, or a directory: its regular files sorted by name, dotfiles left
 * out) into a new snapshot *out. opts NULL: the defaults. errs (may be NULL) gets every
 * error message; free it with intel_errors_free, on success too (bad lines under the
 * threshold). Returns 0, or a negative errno with *out NULL: -ENOENT/-EACCES/-EISDIR ... for
 * a path that cannot be read, -EINVAL for a file past max_bad_lines or with $INCLUDE,
 * -E2BIG past max_indicators, -ENOMEM. */
int intel_load(const char *const *paths, size_t n, const struct intel_opts *opts,
	       struct intel **out, struct intel_errors *errs);
void intel_free(struct intel *intel);
void intel_errors_free(struct intel_errors *errs);

const struct intel_stats *intel_stats(const struct intel *intel);

/* Matches a name (case-insensitive, trailing dot optional) against the indicators of kind
 * (INTEL_QNAME or INTEL_NSDNAME). An allowlist (passthru) entry that covers the name wins;
 * else the most specific covering indicator. 0 with *hit filled, -ENOENT when nothing
 * matches, -EINVAL for a name that is empty, has an empty label or is longer than
 * INTEL_NAME_MAX. */
int intel_match_name(const struct intel *intel, enum intel_kind kind, const char *name,
		     struct intel_hit *hit);

/* Matches an address of family 4 (4 bytes) or 6 (16 bytes) against the CIDRs of kind
 * (INTEL_IP, INTEL_NSIP or INTEL_CLIENT_IP): a covering passthru CIDR wins, else the longest
 * covering prefix. 0 with *hit, -ENOENT, or -EINVAL for another family or kind. */
int intel_match_addr(const struct intel *intel, enum intel_kind kind, int family,
		     const void *addr, struct intel_hit *hit);

const char *intel_kind_name(enum intel_kind kind);
const char *intel_action_name(enum intel_action action);
const char *intel_format_name(enum intel_format format);
const char *intel_skip_name(enum intel_skip skip);

#endif
