/* dnsvigil: every DNS message on the host, attributed to its process, as events. */
#include <arpa/inet.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <unistd.h>

#include "activens.h"
#include "array.h"
#include "capture.h"
#include "clock.h"
#include "correlate.h"
#include "exechook.h"
#include "feed.h"
#include "intel.h"
#include "kernel_features.h"
#include "libwatch.h"
#include "log.h"
#include "opt.h"
#include "match.h"
#include "owners.h"
#include "pdns.h"
#include "pipeline.h"
#include "resolver.h"
#include "ship.h"
#include "sink.h"
#include "stage.h"
#include "wire.h"

#define MAX_SINKS 4
#define MACHINE_ID_PATH "/etc/machine-id"
#define BOOT_ID_PATH "/proc/sys/kernel/random/boot_id"
#define MAX_LIB_ROOTS 16
#define MAX_INTEL_PATHS 32
#define MAX_WATCH 64
/* long options without a short one */
enum { OPT_ACTIVE_NS = 256, OPT_ACTIVE_NS_RATE, OPT_OVERLOAD };
/* The niceness of each --overload choice: yield to the workload, or outweigh a busy one. */
#define NICE_SHED 10
#define NICE_KEEP (-5)
#define NICE_UNSET INT_MIN
/* How long one poll waits: bounds event delay to well under the 1 s flush promise. */
#define POLL_MS 100

static volatile sig_atomic_t stop_requested, reload_requested;

static const char usage_head[] =
	"Usage: dnsvigil [OPTIONS]\n"
	"       dnsvigil pdns [--state-dir DIR]\n"
	"Capture every DNS message on this host (UDP and TCP, IPv4 and IPv6, all network\n"
	"namespaces), attribute it to its process, parse it and write one event per message.\n"
	"\n"
	"Output (default: --jsonl -):\n"
	"  -j, --jsonl PATH          append JSON lines to PATH (\"-\" = stdout)\n"
	"  -p, --pretty              one readable line per message on stdout\n"
	"Shipping to collectors (see the README's Deployment section):\n"
	"      --collector HOST:PORT an IPv4 address, [IPv6] address or a name in /etc/hosts\n"
	"                            (never looked up in DNS); repeatable, at most 8: tried in\n"
	"                            order, the next when one fails\n"
	"      --tls-ca FILE         CA bundle the collector's certificate must chain to\n"
	"      --tls-cert FILE       this agent's certificate (chain), PEM\n"
	"      --tls-key FILE        its private key, PEM\n"
	"      --insecure-plaintext  no TLS (a test setup): events travel readable and forgeable\n"
	"      --spool DIR           batches wait here until acked (default " SHIP_DEFAULT_SPOOL_DIR ")\n"
	"      --spool-max BYTES     spool cap, the oldest batches go first (default 268435456)\n"
	"      --agent-id ID         this agent's identity (default: " MACHINE_ID_PATH ")\n"
	"      --ship-raw            ship every DNS message's bytes too (a collector's --dnstap\n"
	"                            output needs them), not only malformed ones'\n"
	"Capture:\n"
	"  -P, --ports LIST          DNS ports, comma-separated, at most 4 (default 53)\n"
	"      --cgroup PATH         cgroup v2 directory to attach to (default: the root)\n"
	"      --ringbuf-mb N        ring buffer size in MiB, a power of two (default 16)\n"
	"      --no-resolver         do not trace resolver library calls (getaddrinfo() & co.)\n"
	"      --lib-root PATTERN    also find and watch C libraries under this root file system;\n"
	"                            a '*' component stands for each layer of an image store,\n"
	"                            e.g. '/data/docker/overlay2/*/diff' (repeatable, at most 16)\n"
	"      --exec-hook KIND      how new programs are noticed: auto (default: tp_btf, else\n"
	"                            raw_tp, else tracepoint), tp_btf, raw_tp, tracepoint, none\n"
	"      --disable-feature NAME  load the programs as on a kernel without NAME even if\n"
	"                            this one has it: sock-task-helpers (pid, comm in socket\n"
	"                            hooks), skb-task-helpers (the same in packet hooks),\n"
	"                            uprobe-multi (one link per C library); repeatable. The\n"
	"                            features are probed once at start and logged\n"
	"Correlation (see the README's Correlation section):\n"
	"  -i, --intel PATH          threat intel: an RPZ zone, a list of domains, hosts lines\n"
	"                            or CIDRs, or a ThreatFox CSV; a directory: each file in it.\n"
	"                            Repeatable, at most 32. A bad file stops the start (file:line:\n"
	"                            reason); loaded again on SIGHUP and when a file changes,\n"
	"                            where a bad file keeps the intel loaded before\n"
	"      --state-dir DIR       keep the passive DNS store and the nameservers of every\n"
	"                            registered domain seen in DIR/" PDNS_FILE " (created), across\n"
	"                            restarts (without it in memory: ns.change starts afresh).\n"
	"                            Default: none\n"
	"      --ns-change-min-age SEC  a domain's nameserver provider must have held this long\n"
	"                            before a move to another one is an ns.change (default\n"
	"                            604800, 7 days)\n"
	"      --allow-resolver IP   a DNS server any process may ask (resolver.bypass judges\n"
	"                            queries to servers outside a process's resolv.conf);\n"
	"                            repeatable, at most 64\n"
	"      --active-ns           look up the NS set, and its names' A and AAAA, of each new\n"
	"                            registered domain a process's lookup names, at the server it\n"
	"                            asked, from its network namespace; marked agent_probe in\n"
	"                            events, never judged. Off by default\n"
	"      --active-ns-rate N    at most N domains looked up per second (default 5)\n"
	"      --watch DOMAIN        a registered domain whose delegation matters most (your own,\n"
	"                            a critical supplier's): its ns.change is high or critical\n"
	"                            (repeatable, at most 64)\n"
	"      --threshold KEY=VALUE  a rule's threshold, repeatable; KEY (times in s):\n";

/* After the threshold keys (correlate_threshold_usage). */
static const char usage_tail[] =
	"Processing:\n"
	"  -t, --query-timeout MS    a query unanswered this long becomes a timeout event\n"
	"                            (default 5000)\n"
	"  -s, --stats-interval SEC  seconds between stats events, 0 = never (default 10)\n"
	"      --proc PATH           procfs mount (default /proc)\n"
	"      --overload shed|keep  when the host's CPUs are saturated (default shed):\n"
	"                            shed: the agent yields to the workloads it watches\n"
	"                            (niceness 10); events it cannot keep up with are lost and\n"
	"                            counted as ring-buffer drops. keep: the agent outweighs\n"
	"                            them (niceness -5) and keeps every event, at a cost to\n"
	"                            their throughput\n"
	"      --nice N              scheduling niceness, -20..19, instead of --overload's\n"
	"Other:\n"
	"  -n, --check               validate the options and exit\n"
	"  -v, --verbose             debug logging, libbpf's included\n"
	"  -h, --help                this text\n"
	"\n"
	"Passive DNS export (dnsvigil pdns):\n"
	"      --state-dir DIR       print the store DIR/" PDNS_FILE " (default\n"
	"                            " PDNS_DEFAULT_STATE_DIR ") as CIRCL passive DNS COF JSON\n"
	"                            lines on stdout, one per record; safe while an agent\n"
	"                            writes it (shows what it has committed)\n"
	"\n"
	"The agent logs a line containing \"ready\" to stderr once every hook is attached.\n"
	"SIGINT and SIGTERM drain the ring buffer, write final stats and exit 0. SIGHUP loads\n"
	"the threat intel again.\n"
	"\n"
	"EXAMPLES:\n"
	"  dnsvigil --pretty                      watch lookups on the terminal\n"
	"  dnsvigil --jsonl /var/log/dnsvigil.jsonl\n"
	"  dnsvigil -P 53,5353,5355 --jsonl -     mDNS and LLMNR too, JSON on stdout\n"
	"  dnsvigil pdns | jq -c 'select(.rrtype == \"NS\")'   nameservers seen\n"
	"  dnsvigil --collector 10.0.0.5:7878 --collector 10.0.0.6:7878 --tls-ca ca.pem \\\n"
	"           --tls-cert agent.pem --tls-key agent.key --jsonl /dev/null\n";

static void print_usage(FILE *out)
{
	fputs(usage_head, out);
	correlate_threshold_usage(out);
	fputs(usage_tail, out);
}

static const struct option long_opts[] = {
	{ "jsonl", required_argument, NULL, 'j' },
	{ "pretty", no_argument, NULL, 'p' },
	{ "ports", required_argument, NULL, 'P' },
	{ "cgroup", required_argument, NULL, 'C' },
	{ "ringbuf-mb", required_argument, NULL, 'R' },
	{ "no-resolver", no_argument, NULL, 'L' },
	{ "lib-root", required_argument, NULL, 'B' },
	{ "intel", required_argument, NULL, 'i' },
	{ "state-dir", required_argument, NULL, 'D' },
	{ "ns-change-min-age", required_argument, NULL, 'G' },
	{ "watch", required_argument, NULL, 'W' },
	{ "threshold", required_argument, NULL, 'H' },
	{ "allow-resolver", required_argument, NULL, 'Y' },
	{ "active-ns", no_argument, NULL, OPT_ACTIVE_NS },
	{ "active-ns-rate", required_argument, NULL, OPT_ACTIVE_NS_RATE },
	{ "exec-hook", required_argument, NULL, 'E' },
	{ "disable-feature", required_argument, NULL, 'F' },
	{ "query-timeout", required_argument, NULL, 't' },
	{ "stats-interval", required_argument, NULL, 's' },
	{ "proc", required_argument, NULL, 'X' },
	{ "nice", required_argument, NULL, 'N' },
	{ "overload", required_argument, NULL, OPT_OVERLOAD },
	{ "collector", required_argument, NULL, 'c' },
	{ "tls-ca", required_argument, NULL, 'A' },
	{ "tls-cert", required_argument, NULL, 'T' },
	{ "tls-key", required_argument, NULL, 'K' },
	{ "insecure-plaintext", no_argument, NULL, 'I' },
	{ "spool", required_argument, NULL, 'S' },
	{ "spool-max", required_argument, NULL, 'M' },
	{ "agent-id", required_argument, NULL, 'a' },
	{ "ship-raw", no_argument, NULL, 'r' },
	{ "check", no_argument, NULL, 'n' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct config {
	const char *jsonl_path;
	bool pretty;
	bool check_only;
	bool no_resolver;
	int nice;          /* NICE_UNSET: from keep_events */
	bool keep_events;  /* --overload keep */
	unsigned int disabled_features; /* 1 << enum feature */
	const char *lib_roots[MAX_LIB_ROOTS];
	const char *intel_paths[MAX_INTEL_PATHS];
	size_t n_intel;
	const char *state_dir;    /* NULL: no passive DNS, nameservers in memory */
	long ns_change_min_age;   /* seconds; -1: the default */
	const char *watch[MAX_WATCH];
	size_t n_watch;
	struct correlate_opts rules; /* --threshold's; the rest set when the stage is made */
	struct call_addr allowed_resolvers[MAX_WATCH];
	size_t n_allowed_resolvers;
	bool active_ns;
	long active_ns_rate; /* 0: the default */
	struct resolver_opts resolver;
	struct wire_opts wire;
	uint64_t query_timeout_ns;
	uint64_t stats_interval_ns;
	const char *proc_root;
	struct ship_collector collectors[SHIP_MAX_COLLECTORS];
	struct ship_opts ship; /* n_collectors 0: no shipping */
	bool ship_flags;       /* a shipping option was given */
	char agent_id[FEED_ID_MAX];
	char boot_id[FEED_ID_MAX];
};

static int parse_ports(char *arg, uint16_t ports[DV_MAX_PORTS])
{
	int n = 0;

	memset(ports, 0, DV_MAX_PORTS * sizeof(ports[0]));
	for (char *save, *tok = strtok_r(arg, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
		long port;

		if (n == DV_MAX_PORTS || opt_parse_int(tok, &port, 1, 65535))
			return -EINVAL;
		ports[n++] = port;
	}
	return n ? 0 : -EINVAL;
}

/* The shipping options together: TLS or an explicit --insecure-plaintext, an agent id. */
static void check_ship_args(struct config *cfg)
{
	struct ship_opts *o = &cfg->ship;
	int err;

	if (!o->n_collectors) {
		if (cfg->ship_flags)
			fatalx("--tls-*, --spool*, --agent-id, --insecure-plaintext and --ship-raw "
			       "are for shipping: give --collector HOST:PORT");
		return;
	}
	if (o->insecure_plaintext && (o->tls.ca || o->tls.cert || o->tls.key))
		fatalx("--insecure-plaintext and --tls-*: choose one");
	if (!o->insecure_plaintext && !(o->tls.ca && o->tls.cert && o->tls.key))
		fatalx("--collector needs --tls-ca, --tls-cert and --tls-key (TLS 1.3, both sides "
		       "authenticated), or --insecure-plaintext to send events unencrypted");
	if (!o->agent_id) {
		err = ship_read_id(MACHINE_ID_PATH, cfg->agent_id, sizeof(cfg->agent_id));
		if (err)
			fatalx("--agent-id not given and %s unreadable (%s): give --agent-id ID",
			       MACHINE_ID_PATH, strerror(-err));
		o->agent_id = cfg->agent_id;
	}
	if (!*o->agent_id || strlen(o->agent_id) >= FEED_ID_MAX)
		fatalx("--agent-id: expected 1 to %d bytes", FEED_ID_MAX - 1);
	err = ship_read_id(BOOT_ID_PATH, cfg->boot_id, sizeof(cfg->boot_id));
	if (err)
		fatalx("reading %s: %s", BOOT_ID_PATH, strerror(-err));
	o->boot_id = cfg->boot_id;
	o->collectors = cfg->collectors;
}

/* dnsvigil pdns [--state-dir DIR]: the passive DNS store as COF lines, read-only. */
static int pdns_command(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "state-dir", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *dir = PDNS_DEFAULT_STATE_DIR;
	struct pdns *p = NULL;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (opt == 'd') {
			dir = optarg;
		} else {
			print_usage(opt == 'h' ? stdout : stderr);
			return opt == 'h' ? 0 : 2;
		}
	}
	if (optind < argc)
		fatalx("pdns: unexpected argument '%s' (see --help)", argv[optind]);
	err = pdns_open_readonly(dir, &p);
	if (!err)
		err = pdns_export_cof(p, stdout);
	if (err == -EIO)
		log_warnx("pdns: writing to stdout failed");
	pdns_close(p);
	return err ? 1 : 0;
}

static void parse_args(int argc, char **argv, struct config *cfg)
{
	const char *why;
	enum feature feature;
	long v;
	int opt;

	while ((opt = getopt_long(argc, argv, "j:pP:t:s:nvhi:", long_opts, NULL)) != -1) {
		/* The shipping options other than --collector: they need one (check_ship_args). */
		/* strchr finds the NUL of a code over 255 */
		cfg->ship_flags |= opt < 256 && strchr("ATKISMar", opt) != NULL;
		switch (opt) {
		case 'j':
			cfg->jsonl_path = optarg;
			break;
		case 'p':
			cfg->pretty = true;
			break;
		case 'P':
			if (parse_ports(optarg, cfg->wire.ports))
				fatalx("--ports: expected 1 to %d ports in 1..65535, comma-separated",
				       DV_MAX_PORTS);
			break;
		case 'C':
			cfg->wire.cgroup_path = optarg;
			break;
		case 'R':
			if (opt_parse_int(optarg, &v, 1, 1024) || (v & (v - 1)))
				fatalx("--ringbuf-mb: expected a power of two from 1 to 1024");
			cfg->wire.ringbuf_bytes = (size_t)v << 20;
			break;
		case 't':
			if (opt_parse_int(optarg, &v, 1, 3600 * 1000))
				fatalx("--query-timeout: expected milliseconds from 1 to 3600000");
			cfg->query_timeout_ns = v * 1000000ull;
			break;
		case 's':
			if (opt_parse_int(optarg, &v, 0, 86400))
				fatalx("--stats-interval: expected seconds from 0 to 86400");
			cfg->stats_interval_ns = v * 1000000000ull;
			break;
		case 'X':
			cfg->proc_root = optarg;
			break;
		case 'L':
			cfg->no_resolver = true;
			break;
		case 'B':
			if (cfg->resolver.n_lib_roots == MAX_LIB_ROOTS)
				fatalx("--lib-root: at most %d roots", MAX_LIB_ROOTS);
			if (libwatch_check_pattern(optarg))
				fatalx("--lib-root '%s': expected an absolute path whose components "
				       "are names or a lone '*'", optarg);
			cfg->lib_roots[cfg->resolver.n_lib_roots++] = optarg;
			break;
		case 'D':
			cfg->state_dir = optarg;
			break;
		case 'H': {
			char why[160];

			if (correlate_threshold_set(&cfg->rules, optarg, why, sizeof(why)))
				fatalx("--threshold %s", why);
			break;
		}
		case 'G':
			if (opt_parse_int(optarg, &v, 0, 100L * 365 * 86400))
				fatalx("--ns-change-min-age: expected seconds, 0 or more");
			cfg->ns_change_min_age = v;
			break;
		case 'Y': {
			struct call_addr *a = &cfg->allowed_resolvers[cfg->n_allowed_resolvers];

			if (cfg->n_allowed_resolvers == MAX_WATCH)
				fatalx("--allow-resolver: at most %d addresses", MAX_WATCH);
			if (inet_pton(AF_INET, optarg, a->addr) == 1)
				a->family = 4;
			else if (inet_pton(AF_INET6, optarg, a->addr) == 1)
				a->family = 6;
			else
				fatalx("--allow-resolver '%s': expected an IPv4 or IPv6 address", optarg);
			cfg->n_allowed_resolvers++;
			break;
		}
		case OPT_ACTIVE_NS:
			cfg->active_ns = true;
			break;
		case OPT_ACTIVE_NS_RATE:
			if (opt_parse_int(optarg, &cfg->active_ns_rate, 1, 1000))
				fatalx("--active-ns-rate: expected domains per second, 1 to 1000");
			break;
		case 'W':
			if (cfg->n_watch == MAX_WATCH)
				fatalx("--watch: at most %d domains", MAX_WATCH);
			cfg->watch[cfg->n_watch++] = optarg;
			break;
		case 'i':
			if (cfg->n_intel == MAX_INTEL_PATHS)
				fatalx("--intel: at most %d paths", MAX_INTEL_PATHS);
			cfg->intel_paths[cfg->n_intel++] = optarg;
			break;
		case 'E':
			if (exechook_parse_kind(optarg, &cfg->resolver.exec_hook))
				fatalx("--exec-hook: expected auto, tp_btf, raw_tp, tracepoint or none");
			break;
		case 'F':
			if (features_parse(optarg, &feature))
				fatalx("--disable-feature: expected sock-task-helpers, "
				       "skb-task-helpers or uprobe-multi");
			cfg->disabled_features |= 1u << feature;
			break;
		case 'N':
			if (opt_parse_int(optarg, &v, -20, 19))
				fatalx("--nice: expected a niceness from -20 to 19");
			cfg->nice = v;
			break;
		case OPT_OVERLOAD:
			if (strcmp(optarg, "shed") && strcmp(optarg, "keep"))
				fatalx("--overload: expected shed or keep");
			cfg->keep_events = !strcmp(optarg, "keep");
			break;
		case 'c':
			if (cfg->ship.n_collectors == SHIP_MAX_COLLECTORS)
				fatalx("--collector: at most %d", SHIP_MAX_COLLECTORS);
			if (ship_parse_collector(optarg, &cfg->collectors[cfg->ship.n_collectors],
						 &why))
				fatalx("--collector '%s': %s", optarg, why);
			cfg->ship.n_collectors++;
			break;
		case 'A':
			cfg->ship.tls.ca = optarg;
			break;
		case 'T':
			cfg->ship.tls.cert = optarg;
			break;
		case 'K':
			cfg->ship.tls.key = optarg;
			break;
		case 'I':
			cfg->ship.insecure_plaintext = true;
			break;
		case 'S':
			cfg->ship.spool_dir = optarg;
			break;
		case 'M':
			if (opt_parse_int(optarg, &v, 1 << 20, LONG_MAX))
				fatalx("--spool-max: expected bytes, at least 1048576");
			cfg->ship.spool_max = v;
			break;
		case 'a':
			cfg->ship.agent_id = optarg;
			break;
		case 'r':
			cfg->ship.raw = true;
			break;
		case 'n':
			cfg->check_only = true;
			break;
		case 'v':
			log_verbose = true;
			break;
		case 'h':
			print_usage(stdout);
			exit(0);
		default:
			print_usage(stderr);
			exit(2);
		}
	}
	if (optind < argc)
		fatalx("unexpected argument '%s' (see --help)", argv[optind]);
	if (cfg->nice == NICE_UNSET)
		cfg->nice = cfg->keep_events ? NICE_KEEP : NICE_SHED;
	check_ship_args(cfg);
	if (!cfg->jsonl_path && !cfg->pretty)
		cfg->jsonl_path = "-";
	if (cfg->pretty && cfg->jsonl_path && strcmp(cfg->jsonl_path, "-") == 0)
		fatalx("--pretty and --jsonl - both want stdout: give --jsonl a file");
}

/* Without uprobe_multi (before Linux 6.6) every traced function of every C library file
 * holds a perf event fd: a host with many container images needs more than the usual 1024. */
static void raise_fd_limit(void)
{
	struct rlimit lim;

	if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < lim.rlim_max) {
		lim.rlim_cur = lim.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &lim))
			log_warn("raising the open file limit to %llu",
				 (unsigned long long)lim.rlim_max);
	}
}

/* libbpf's messages, a refused program's verifier log among them (at LIBBPF_WARN); its
 * debug output with -v only. */
static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	if (level == LIBBPF_DEBUG && !log_verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

/* --check loads the certificates and key as the shipper will. */
static int check_tls(const struct ship_opts *o)
{
	SSL_CTX *ctx;
	int err = tls_ctx_new(TLS_CLIENT, &o->tls, &ctx);

	if (!err)
		SSL_CTX_free(ctx);
	return err;
}

/* --check: the intel loads with no bad line (each logged as file:line: reason). Stricter
 * than the agent, which skips bad lines: a check is where an operator wants to hear of them. */
static int check_intel(const struct config *cfg)
{
	struct intel *intel;
	size_t bad;
	int err = intel_load(cfg->intel_paths, cfg->n_intel, NULL, &intel, NULL);

	if (err) {
		log_warnx("threat intel does not load: %s", strerror(-err));
		return err;
	}
	bad = intel_stats(intel)->bad_lines;
	printf("threat intel: %zu indicators from %zu files\n", intel_stats(intel)->indicators,
	       intel_stats(intel)->files);
	intel_free(intel);
	if (bad) {
		log_warnx("threat intel: %zu bad lines (above); the agent would skip them", bad);
		return -EINVAL;
	}
	return 0;
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static int open_sinks(struct config *cfg, const char *host, struct sink **sinks, int *n,
		      struct ship **ship)
{
	int err;

	*n = 0;
	if (cfg->jsonl_path) {
		err = sink_jsonl_new(cfg->jsonl_path, &sinks[*n]);
		if (err)
			return err;
		(*n)++;
	}
	if (cfg->pretty) {
		err = sink_pretty_new(&sinks[*n]);
		if (err)
			return err;
		(*n)++;
	}
	if (cfg->ship.n_collectors) {
		cfg->ship.host = host;
		err = ship_new(&cfg->ship, ship);
		if (err)
			return err;
		sinks[(*n)++] = ship_sink(*ship);
	}
	return 0;
}

/* What the event loop waits on: the ring buffer, and the library directories watched. */
enum loop_source { LOOP_WIRE, LOOP_LIBRARIES };

static int open_loop(const struct wire *w, const struct resolver *r, int *out)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = LOOP_WIRE };
	int fd = epoll_create1(EPOLL_CLOEXEC), err = 0;

	if (fd < 0)
		return -errno;
	if (epoll_ctl(fd, EPOLL_CTL_ADD, wire_fd(w), &ev))
		err = -errno;
	ev.data.u32 = LOOP_LIBRARIES;
	if (!err && r && resolver_fd(r) >= 0 && epoll_ctl(fd, EPOLL_CTL_ADD, resolver_fd(r), &ev))
		err = -errno;
	if (err) {
		close(fd);
		return err;
	}
	*out = fd;
	return 0;
}

/* What runs the agent, in the order it is set up. */
struct agent {
	char host[HOST_NAME_MAX + 1];
	struct stats_registry stats;
	struct sink *sinks[MAX_SINKS];
	int n_sinks;
	struct ship *ship; /* one of the sinks, or NULL */
	struct wire *wire;
	struct owners *owners;
	struct pipeline *pipeline;
	struct capture *capture;
	struct resolver *resolver;
	int loop_fd;
};

/* The correlation stage as configured; NULL with errno set (its intel or state did not load,
 * logged). */
static struct stage *new_correlate_stage(const struct config *cfg)
{
	struct correlate_stage_opts opts = {
		.rules = cfg->rules,
		.intel_paths = cfg->intel_paths,
		.n_intel = cfg->n_intel,
		.state_dir = cfg->state_dir,
		.pdns_max_rows = PDNS_DEFAULT_MAX_ROWS,
		.ns = NSINFRA_DEFAULTS,
	};
	struct activens_opts active = ACTIVENS_DEFAULTS;

	opts.rules.watch = cfg->watch;
	opts.rules.n_watch = cfg->n_watch;
	opts.rules.proc_root = cfg->proc_root;
	opts.rules.allowed_resolvers = cfg->allowed_resolvers;
	opts.rules.n_allowed_resolvers = cfg->n_allowed_resolvers;
	if (cfg->ns_change_min_age >= 0)
		opts.ns.ns_change_min_age = cfg->ns_change_min_age;
	active.proc_root = cfg->proc_root;
	if (cfg->active_ns_rate)
		active.rate = cfg->active_ns_rate;
	if (cfg->active_ns)
		opts.active_ns = &active;
	return stage_correlate_new(&opts);
}

/* The stages every event goes through, in order (stage.h). */
static int open_pipeline(const struct config *cfg, struct agent *a)
{
	/* first: that its intel or state did not load is worth saying as it is */
	struct stage *correlate = new_correlate_stage(cfg);
	int err = correlate ? -ENOMEM : -errno;
	struct stage *stages[] = {
		stage_owner_new(owners_lookup, a->owners),
		stage_match_new(cfg->query_timeout_ns, MATCH_DEFAULT_MAX_PENDING),
		stage_origin_new(),
		stage_proc_new(cfg->proc_root),
		correlate,
	};
	struct pipeline_opts opts = {
		.host = a->host,
		.stats_interval_ns = cfg->stats_interval_ns,
		.stages = stages,
		.n_stages = ARRAY_LEN(stages),
		.sinks = a->sinks,
		.n_sinks = a->n_sinks,
		.stats = &a->stats,
	};

	for (int i = 0; i < opts.n_stages; i++) {
		if (!stages[i]) {
			for (int k = 0; k < opts.n_stages; k++)
				stage_free(stages[k]);
			return err;
		}
	}
	return pipeline_new(&opts, clock_ns(CLOCK_MONOTONIC), &a->pipeline);
}

/* Until SIGINT or SIGTERM: records, library directory changes, and the periodic work. */
static int run_loop(struct agent *a)
{
	bool libraries_pending = false;
	int timeout_ms = POLL_MS;

	while (!stop_requested) {
		struct epoll_event evs[2];
		int n = epoll_wait(a->loop_fd, evs, 2, timeout_ms);
		uint64_t now;

		if (n < 0 && errno != EINTR)
			return -errno;
		for (int i = 0; i < n; i++)
			libraries_pending |= evs[i].data.u32 == LOOP_LIBRARIES;
		if (libraries_pending)
			libraries_pending = resolver_watch(a->resolver);
		/* Producers skip wakeups for small batches: consume on a timeout too. */
		n = wire_consume(a->wire);
		if (n < 0) {
			log_warnx("reading the ring buffer: %s", strerror(-n));
			return n;
		}
		/* A full batch means more is waiting: no sleep before the next one. */
		timeout_ms = n == WIRE_BATCH || libraries_pending ? 0 : POLL_MS;
		if (reload_requested) {
			reload_requested = 0;
			pipeline_reload(a->pipeline);
		}
		now = clock_ns(CLOCK_MONOTONIC);
		capture_tick(a->capture, now);
		if (a->resolver)
			resolver_tick(a->resolver, now);
		pipeline_tick(a->pipeline, now);
	}
	return 0;
}

static void log_ready(const struct config *cfg, const struct wire *w)
{
	const struct wire_features *f = wire_features(w);
	char ports[64] = "";
	size_t len = 0;

	for (int i = 0; i < DV_MAX_PORTS && cfg->wire.ports[i]; i++)
		len += snprintf(ports + len, sizeof(ports) - len, "%s%u", i ? "," : "",
				cfg->wire.ports[i]);
	log_info("ready: capturing DNS on ports %s at cgroup %s", ports, f->cgroup_path);
	if (!f->task_helpers_in_sock_hooks)
		log_warnx("socket hooks record no pid/comm (no sock-task-helpers): owners come "
			  "from /proc scans, and short-lived sockets may stay unattributed");
}

/* Sinks, capture, stages and resolver tracing, wired together; logs what fails. */
static int open_agent(struct config *cfg, struct agent *a)
{
	int err;

	gethostname(a->host, sizeof(a->host) - 1);
	err = open_sinks(cfg, a->host, a->sinks, &a->n_sinks, &a->ship);
	if (err)
		return err;
	err = wire_open(&cfg->wire, &a->wire);
	if (err)
		return err;
	err = owners_new(a->wire, cfg->proc_root, &a->owners);
	if (!err)
		err = open_pipeline(cfg, a);
	if (!err)
		err = capture_new(a->pipeline, &a->stats, &a->capture);
	if (err) {
		log_warnx("setting up the pipeline: %s", strerror(-err));
		return err;
	}
	owners_stats(a->owners, &a->stats);
	wire_stats(a->wire, &a->stats);
	wire_on(a->wire, DV_REC_PKT, capture_packet, a->capture);
	wire_on(a->wire, DV_REC_CALL, capture_call, a->capture);
	wire_on(a->wire, DV_REC_OWNER, capture_owner, a->capture);
	/* Packets are worth capturing without the calls: go on without them. */
	if (!cfg->no_resolver && resolver_open(a->wire, &cfg->resolver, &a->resolver))
		log_warnx("resolver library calls are not traced");
	resolver_stats(a->resolver, &a->stats);
	ship_declare_stats(a->ship, &a->stats);
	err = open_loop(a->wire, a->resolver, &a->loop_fd);
	if (err)
		log_warnx("setting up the event loop: %s", strerror(-err));
	return err;
}

static void close_agent(struct agent *a)
{
	if (a->loop_fd >= 0)
		close(a->loop_fd);
	resolver_close(a->resolver);
	/* The socket scan worker writes to the wire's owner map: it goes first. */
	owners_free(a->owners);
	pipeline_free(a->pipeline);
	capture_free(a->capture);
	wire_close(a->wire);
	/* The shipper spools the last batch and waits a moment for its ack (ship_free). */
	for (int i = 0; i < a->n_sinks; i++)
		sink_free(a->sinks[i]);
}

int main(int argc, char **argv)
{
	static struct config cfg = {
		.nice = NICE_UNSET,
		.ns_change_min_age = -1,
		.rules = CORRELATE_DEFAULTS,
		.wire = { .ports = { 53 }, .ringbuf_bytes = 16 << 20 },
		.resolver = { .exec_hook = EXECHOOK_AUTO },
		.query_timeout_ns = MATCH_DEFAULT_TIMEOUT_NS,
		.stats_interval_ns = 10ull * 1000000000,
		.proc_root = "/proc",
		.ship = { .spool_dir = SHIP_DEFAULT_SPOOL_DIR, .spool_max = SHIP_DEFAULT_SPOOL_MAX },
	};
	static struct agent agent = { .loop_fd = -1 };
	struct features features;
	struct sigaction sa = { .sa_handler = on_signal };
	int err;

	if (argc > 1 && !strcmp(argv[1], "pdns"))
		return pdns_command(argc - 1, argv + 1);
	parse_args(argc, argv, &cfg);
	cfg.resolver.lib_roots = cfg.lib_roots;
	cfg.resolver.proc_root = cfg.proc_root;
	cfg.resolver.features = cfg.wire.features = &features;
	libbpf_set_print(libbpf_print);
	if (cfg.check_only) {
		if (cfg.ship.n_collectors && !cfg.ship.insecure_plaintext && check_tls(&cfg.ship))
			return 1;
		if (cfg.n_intel && check_intel(&cfg))
			return 1;
		printf("configuration OK\n");
		return 0;
	}
	/* By default the agent must not slow down what it watches: a busy host gets the CPU
	 * first. */
	if (setpriority(PRIO_PROCESS, 0, cfg.nice))
		log_warn("setting niceness %d", cfg.nice);
	raise_fd_limit();
	/* A reader that goes away must not kill the agent: writes then fail and are counted. */
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	/* Once, before any program is loaded: each is loaded in the variant chosen here. */
	err = features_probe(cfg.disabled_features, &features);
	if (!err)
		err = open_agent(&cfg, &agent);
	if (err)
		goto cleanup;
	log_ready(&cfg, agent.wire);
	err = run_loop(&agent);
	if (err)
		goto cleanup;
	/* Drain: what the kernel already produced is still delivered. */
	while (wire_consume(agent.wire) > 0)
		;
	capture_tick(agent.capture, clock_ns(CLOCK_MONOTONIC));
	pipeline_finish(agent.pipeline, clock_ns(CLOCK_MONOTONIC));
	log_info("stopped");

cleanup:
	close_agent(&agent);
	return err ? 1 : 0;
}
