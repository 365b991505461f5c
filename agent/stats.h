/* Counters the agent reports in its periodic {"type":"stats"} event. Cumulative since start:
 * a consumer takes differences between two events. */
#ifndef DNSVIGIL_STATS_H
#define DNSVIGIL_STATS_H

#include <stdbool.h>
#include <stdint.h>

#include "dnsvigil.h"

#define STATS_MAX_CPUS 256

struct stats {
	uint64_t uptime_ns;
	uint64_t records;      /* ring-buffer records consumed (chunks and owner notices) */
	uint64_t packets;      /* packets reassembled from their chunks */
	uint64_t bytes;        /* DNS payload bytes in those packets */
	uint64_t messages;     /* DNS messages delivered to the parser */
	uint64_t parse_errors; /* malformed messages (still emitted, with "malformed") */
	uint64_t incomplete_packets; /* packets missing a chunk (lost in the kernel) */
	uint64_t truncated_packets;  /* payload beyond what the kernel copies */
	uint64_t tcp_gaps;
	uint64_t tcp_incomplete_at_close;
	uint64_t tcp_evicted_streams;
	uint64_t unattributed_packets; /* no owning process found */
	uint64_t owner_scans;          /* socket scans: at start, then for unknown owners */
	uint64_t owner_scan_sockets;   /* sockets those scans attributed */
	uint64_t owner_scan_errors;    /* namespaces, protocols or processes a scan could not read */
	uint64_t responses_matched;
	uint64_t responses_unmatched;
	uint64_t timeouts;
	uint64_t pending_evicted; /* queries forgotten unanswered because the table was full */
	uint64_t events_written;   /* events rendered by the sinks (each sink counts) */
	uint64_t sink_events_lost; /* rendered but not delivered: output errors, memory */
	uint64_t resolver_calls;           /* resolver library calls reported */
	uint64_t resolver_libc_files;      /* C library files with uprobes attached */
	uint64_t resolver_attach_failures; /* uprobes or library files that failed (logged) */
	uint64_t resolver_exec_checks_dropped; /* new programs not rechecked: queue full */
	uint64_t resolver_libc_detached;   /* removed from disk and mapped by no process */
	const char *resolver_exec_hook;    /* "tp_btf", "raw_tp", "tracepoint", "none"; NULL
					    * when resolver calls are not traced */
	uint64_t resolver_libdir_entries;  /* library directory entries looked at */
	uint64_t resolver_libdir_watches;  /* directories watched now */
	uint64_t resolver_libdir_watch_failures; /* not watched: fs.inotify.max_user_watches */
	uint64_t resolver_libdir_overflows;      /* inotify queue overflows (full rescans) */
	uint64_t resolver_libdir_start_scan_ms;
	bool resolver_libdir_start_scan_truncated; /* the start scan stopped at its limits */
	uint64_t kernel_drops[DV_DROP_NR];
	int ncpus;
	uint64_t ringbuf_drops_per_cpu[STATS_MAX_CPUS];
};

#endif
