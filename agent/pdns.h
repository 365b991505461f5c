/* Passive DNS: the resource records this host has seen in DNS responses, each with when it
 * was first and last seen and how often, kept in an SQLite file (DIR/pdns.sqlite) so that
 * they outlive the agent, and exported in CIRCL's passive DNS Common Output Format
 * (draft-dulaunoy-dnsop-passive-dns-cof).
 *
 * A row is keyed by (rrname, rrtype, rdata). Names are stored in lower case without the
 * trailing dot ("." stays for the root): rrname always, and rdata of the types whose data is
 * one name (NS, CNAME, DNAME, PTR). Times are seconds since the epoch.
 *
 * The hot path must not wait for the disk. Observations are coalesced in memory (the same
 * record seen again costs a hash lookup: its count grows, its times widen) and written, one
 * upsert per distinct record, in one transaction, committed when PDNS_BATCH distinct records
 * are pending, when an observation's time is a second or more past the batch's first, and by
 * pdns_flush (the agent calls it once a second, so that a quiet host's last rows reach the
 * file too). The file is in WAL mode with synchronous=NORMAL: a commit appends to the log
 * without fsync; checkpoints sync. A crash loses at most the last second; the file stays
 * consistent. A lookup or export through the same handle sees what is pending.
 *
 * Bounded: at most max_rows rows; each batch written evicts the least recently seen rows
 * beyond that (counted), so memory holds PDNS_BATCH records and the disk the file, its log
 * (cut back to 32 MiB) and nothing else. Other modules may keep tables of their own in the
 * same file (nsinfra does): pdns_db() and pdns_begin() below. Not thread-safe; other
 * processes may read the file while the agent writes it (dnsvigil pdns). */
#ifndef DNSVIGIL_PDNS_H
#define DNSVIGIL_PDNS_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define PDNS_FILE "pdns.sqlite"
#define PDNS_DEFAULT_STATE_DIR "/var/lib/dnsvigil"
#define PDNS_DEFAULT_MAX_ROWS 1000000
/* PRAGMA user_version of the files this code reads and writes. Version 1: table rr, and
 * nsinfra's ns_domain and ns_provider (made by nsinfra when first opened), known_domain and
 * known_meta (made by pdns_known_open). */
#define PDNS_SCHEMA_VERSION 1
/* Distinct records pending at most: a batch is written when it has this many. */
#define PDNS_BATCH 1024

struct pdns;
struct sqlite3;

struct pdns_stats {
	uint64_t observed; /* pdns_observe calls that reached the table */
	uint64_t rows;     /* rows in the file, as of the last write */
	uint64_t evicted;  /* rows removed to stay within max_rows (when a batch is written) */
	uint64_t errors;   /* SQLite failures (each logged): those observations are lost */
	uint64_t known;         /* rows of known_domain (pdns_known_open) */
	uint64_t known_evicted; /* removed from it to stay within its bound */
};

/* One row, for pdns_lookup's callback and the export. Strings valid during the call. */
struct pdns_row {
	const char *rrname;
	uint16_t rrtype;
	const char *rdata;
	uint64_t first_seen, last_seen, count;
};

typedef int (*pdns_row_fn)(void *ctx, const struct pdns_row *row);

/* Opens DIR/pdns.sqlite, making DIR (mode 0700) and the file when missing. 0 and *out, or a
 * negative errno, logged with the file's name: -EINVAL for a file that is not an SQLite
 * database, is damaged, holds another program's tables or a schema version other than
 * PDNS_SCHEMA_VERSION (never changed: move it away); others from the file system. max_rows
 * is at least 1; a file with more rows (opened with a smaller bound) is trimmed now. */
int pdns_open(const char *dir, size_t max_rows, struct pdns **out);
/* Opens an existing store to read it (an export, while an agent writes it): -ENOENT when
 * there is none. pdns_observe on it fails. */
int pdns_open_readonly(const char *dir, struct pdns **out);
/* Commits and closes; NULL is ignored. */
void pdns_close(struct pdns *p);

/* Records that rrname has a record of rrtype with rdata (presentation form), seen at ts.
 * Upserts: count + 1, first_seen and last_seen widened to ts. 0 or a negative errno (the
 * observation is lost, counted in errors); -EINVAL for an empty or overlong name or rdata. */
int pdns_observe(struct pdns *p, const char *rrname, uint16_t rrtype, const char *rdata,
		 uint64_t ts);
/* Commits what is pending. 0 or a negative errno (those observations are lost, counted). */
int pdns_flush(struct pdns *p);

/* Calls fn on every row of rrname (any case, trailing dot or not) and rrtype, most recently
 * seen first. Stops early when fn returns non-zero and returns that; else 0 or a negative
 * errno. */
int pdns_lookup(struct pdns *p, const char *rrname, uint16_t rrtype, pdns_row_fn fn, void *ctx);

/* Writes every row to out as one COF JSON object per line, fields rrname, rrtype (the
 * mnemonic), rdata, time_first, time_last, count, in key order. 0, or a negative errno (-EIO
 * when out fails). */
int pdns_export_cof(struct pdns *p, FILE *out);

const struct pdns_stats *pdns_stats(const struct pdns *p);

/* For modules keeping tables of their own in the file: the connection, and a call that
 * makes sure the batch transaction is open, so that their writes commit with it. */
struct sqlite3 *pdns_db(struct pdns *p);
int pdns_begin(struct pdns *p);
/* domain.new's memory in the file: table known_domain (domain, first_seen, last_seen), at
 * most max rows, the least recently seen evicted (counted in known_evicted), and the time
 * the host's learning began (known_meta), now when the file has none yet: into
 * *learning_start. 0 or a negative errno (logged). */
int pdns_known_open(struct pdns *p, size_t max, uint64_t now, uint64_t *learning_start);
/* Whether domain (a registered domain) is known: 1 with its *first_seen (its last_seen
 * raised to ts), or 0 when it is not, and is from now on, first seen at ts. Written with
 * the batch's transaction. A negative errno on failure (logged). */
int pdns_known_seen(struct pdns *p, const char *domain, uint64_t ts, uint64_t *first_seen);

/* A negative errno for an SQLite result code. */
int pdns_errno(int sqlite_rc);

/* s (a DNS name in presentation form) in lower case without trailing dot into buf; -EINVAL
 * when empty, -ENAMETOOLONG when it does not fit. */
int pdns_name_norm(const char *s, char *buf, size_t size);

#endif
