/* dnsvigil-collector: receives the agents' event feed over mutual TLS and stores every batch
 * durably, once, in JSON lines, length-delimited protobuf and dnstap files. */
#include <errno.h>
#include <getopt.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "event_json.h"
#include "io.h"
#include "log.h"
#include "opt.h"
#include "output.h"
#include "server.h"
#include "stats.h"
#include "store.h"
#include "tls.h"

#define ROUND_MS 200
#define MAINTAIN_NS 1000000000ull

static volatile sig_atomic_t stop_requested, reopen_requested;

static const char usage[] =
	"Usage: dnsvigil-collector --listen ADDR:PORT [OUTPUTS] [TLS] [OPTIONS]\n"
	"Receive the event feed of dnsvigil agents (--collector) and store every batch durably\n"
	"and exactly once: a batch is acked only after it is fsync'd and journaled, and a batch\n"
	"an agent sends again is recognised by (agent id, seq) and stored once.\n"
	"\n"
	"Network:\n"
	"  -l, --listen ADDR:PORT     address to listen on: 0.0.0.0:5353, [::]:5353 (required)\n"
	"      --tls-ca FILE          CA bundle agents' client certificates must chain to\n"
	"      --tls-cert FILE        this collector's certificate (chain)\n"
	"      --tls-key FILE         its private key\n"
	"      --insecure-plaintext   no TLS: anyone who can connect can inject events\n"
	"      --max-frame-mb N       largest frame as sent, MiB (default 4); inflated at most 4x\n"
	"                             that and 100x the sent size\n"
	"Outputs (at least one):\n"
	"  -o, --out DIR              JSON lines in DIR/events.jsonl: the agent's JSON with\n"
	"                             \"agent_id\" and \"agent_cert\"\n"
	"      --pb FILE              length-delimited protobuf: varint length, dnsvigil.v1.Event\n"
	"      --dnstap FILE          dnstap (Frame Streams) of dns events; needs agents that\n"
	"                             ship raw messages (dnsvigil --ship-raw)\n"
	"      --rotate-mb N          rotate an output file at N MiB (default 256, 0 = never)\n"
	"      --rotate-sec N         rotate an output file N seconds old (default 3600, 0 = never)\n"
	"Other:\n"
	"      --state DIR            where the commit journal and stats.jsonl live (default: --out)\n"
	"  -s, --stats-interval SEC   seconds between stats lines in DIR/stats.jsonl (default 10,\n"
	"                             0 = only at exit)\n"
	"  -n, --check                validate the options and exit\n"
	"  -v, --verbose              debug logging\n"
	"  -h, --help                 this text\n"
	"\n"
	"TLS is required unless --insecure-plaintext is given. SIGHUP reopens the output files\n"
	"(after logrotate renamed them); SIGINT and SIGTERM finish the batches already read,\n"
	"ack them and exit 0.\n"
	"\n"
	"EXAMPLES:\n"
	"  dnsvigil-collector --listen 0.0.0.0:5300 --out /var/lib/dnsvigil \\\n"
	"      --tls-ca ca.pem --tls-cert collector.pem --tls-key collector.key\n"
	"  dnsvigil-collector --listen [::]:5300 --out /srv/dv --pb /srv/dv/events.pb \\\n"
	"      --dnstap /srv/dv/dns.tap --tls-ca ca.pem --tls-cert c.pem --tls-key c.key\n"
	"  dnsvigil-collector --listen 127.0.0.1:5300 --out /tmp/dv --insecure-plaintext\n";

enum {
	OPT_TLS_CA = 256,
	OPT_TLS_CERT,
	OPT_TLS_KEY,
	OPT_PLAINTEXT,
	OPT_MAX_FRAME,
	OPT_PB,
	OPT_DNSTAP,
	OPT_ROTATE_MB,
	OPT_ROTATE_SEC,
	OPT_STATE,
};

static const struct option long_opts[] = {
	{ "listen", required_argument, NULL, 'l' },
	{ "tls-ca", required_argument, NULL, OPT_TLS_CA },
	{ "tls-cert", required_argument, NULL, OPT_TLS_CERT },
	{ "tls-key", required_argument, NULL, OPT_TLS_KEY },
	{ "insecure-plaintext", no_argument, NULL, OPT_PLAINTEXT },
	{ "max-frame-mb", required_argument, NULL, OPT_MAX_FRAME },
	{ "out", required_argument, NULL, 'o' },
	{ "pb", required_argument, NULL, OPT_PB },
	{ "dnstap", required_argument, NULL, OPT_DNSTAP },
	{ "rotate-mb", required_argument, NULL, OPT_ROTATE_MB },
	{ "rotate-sec", required_argument, NULL, OPT_ROTATE_SEC },
	{ "state", required_argument, NULL, OPT_STATE },
	{ "stats-interval", required_argument, NULL, 's' },
	{ "check", no_argument, NULL, 'n' },
	{ "verbose", no_argument, NULL, 'v' },
	{ "help", no_argument, NULL, 'h' },
	{ 0 },
};

struct config {
	const char *listen;
	struct tls_files tls;
	bool plaintext;
	bool check_only;
	const char *out_dir, *pb_path, *dnstap_path, *state_dir;
	char jsonl_path[4096], stats_path[4096];
	struct ofile_rotate rotate;
	struct server_opts server;
	uint64_t stats_interval_ns;
};

static void parse_args(int argc, char **argv, struct config *cfg)
{
	long v;
	int opt;

	while ((opt = getopt_long(argc, argv, "l:o:s:nvh", long_opts, NULL)) != -1) {
		switch (opt) {
		case 'l':
			cfg->listen = optarg;
			if (server_parse_addr(optarg, &cfg->server.addr, &cfg->server.addr_len))
				fatalx("--listen wants ADDR:PORT or [ADDR]:PORT, numeric: %s",
					    optarg);
			break;
		case OPT_TLS_CA:
			cfg->tls.ca = optarg;
			break;
		case OPT_TLS_CERT:
			cfg->tls.cert = optarg;
			break;
		case OPT_TLS_KEY:
			cfg->tls.key = optarg;
			break;
		case OPT_PLAINTEXT:
			cfg->plaintext = true;
			break;
		case OPT_MAX_FRAME:
			if (opt_parse_int(optarg, &v, 1, 256))
				fatalx("--max-frame-mb wants 1..256: %s", optarg);
			cfg->server.caps.max_frame = (size_t)v << 20;
			cfg->server.caps.max_inflated = (size_t)v << 22;
			break;
		case 'o':
			cfg->out_dir = optarg;
			break;
		case OPT_PB:
			cfg->pb_path = optarg;
			break;
		case OPT_DNSTAP:
			cfg->dnstap_path = optarg;
			break;
		case OPT_ROTATE_MB:
			if (opt_parse_int(optarg, &v, 0, 1 << 20))
				fatalx("--rotate-mb wants 0..1048576: %s", optarg);
			cfg->rotate.max_bytes = (uint64_t)v << 20;
			break;
		case OPT_ROTATE_SEC:
			if (opt_parse_int(optarg, &v, 0, 366 * 86400))
				fatalx("--rotate-sec wants 0..31622400: %s", optarg);
			cfg->rotate.max_age_ns = v * 1000000000ull;
			break;
		case OPT_STATE:
			cfg->state_dir = optarg;
			break;
		case 's':
			if (opt_parse_int(optarg, &v, 0, 86400))
				fatalx("--stats-interval wants 0..86400: %s", optarg);
			cfg->stats_interval_ns = v * 1000000000ull;
			break;
		case 'n':
			cfg->check_only = true;
			break;
		case 'v':
			log_verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			exit(0);
		default:
			fputs(usage, stderr);
			exit(2);
		}
	}
	if (optind < argc)
		fatalx("unexpected argument '%s' (see --help)", argv[optind]);
	if (!cfg->listen)
		fatalx("--listen ADDR:PORT is required (see --help)");
	if (!cfg->out_dir && !cfg->pb_path && !cfg->dnstap_path)
		fatalx("%s", "no output: give --out DIR, --pb FILE or --dnstap FILE");
	if (!cfg->state_dir)
		cfg->state_dir = cfg->out_dir;
	if (!cfg->state_dir)
		fatalx("%s", "--state DIR is required without --out (the commit journal)");
	if (cfg->plaintext && (cfg->tls.ca || cfg->tls.cert || cfg->tls.key))
		fatalx("%s", "--insecure-plaintext and --tls-* exclude each other");
	if (!cfg->plaintext && !(cfg->tls.ca && cfg->tls.cert && cfg->tls.key))
		fatalx("%s", "TLS is required: give --tls-ca, --tls-cert and --tls-key "
				  "(or --insecure-plaintext to run without TLS)");
	if (cfg->out_dir)
		snprintf(cfg->jsonl_path, sizeof(cfg->jsonl_path), "%s/events.jsonl", cfg->out_dir);
	snprintf(cfg->stats_path, sizeof(cfg->stats_path), "%s/stats.jsonl", cfg->state_dir);
}

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reopen_requested = 1;
	else
		stop_requested = 1;
}

static int make_dir(const char *dir)
{
	if (mkdir(dir, 0750) && errno != EEXIST) {
		int err = -errno;

		log_warn("creating %s", dir);
		return err;
	}
	return 0;
}

static int open_outputs(const struct config *cfg, struct output **outs, size_t *n)
{
	struct output_opts o = { .rotate = cfg->rotate };
	int err = 0;

	*n = 0;
	if (cfg->out_dir) {
		o.path = cfg->jsonl_path;
		err = make_dir(cfg->out_dir) ?: output_jsonl_new(&o, &outs[(*n)++]);
		if (err)
			return err;
	}
	if (cfg->pb_path) {
		o.path = cfg->pb_path;
		err = output_pb_new(&o, &outs[*n]);
		if (err)
			return err;
		(*n)++;
	}
	if (cfg->dnstap_path) {
		o.path = cfg->dnstap_path;
		err = output_dnstap_new(&o, &outs[*n]);
		if (err)
			return err;
		(*n)++;
	}
	return 0;
}

/* The collector's stats as one {"type":"stats"} line, appended to path. */
static void write_stats(struct stats_registry *reg, const char *path, const char *host)
{
	struct event ev = { .type = EVENT_STATS, .ts_ns = clock_ns(CLOCK_REALTIME), .host = host,
			    .stats = reg };
	struct event_json *j = event_json_new();
	struct jbuf b = { 0 };
	FILE *f;

	if (!j)
		return;
	stats_refresh(reg);
	event_json_render(j, &b, &ev);
	jbuf_lit(&b, "\n");
	f = fopen(path, "ae");
	if (f && !b.failed)
		fwrite(b.p, 1, b.len, f);
	if (f)
		fclose(f);
	else
		log_warn("writing stats to %s", path);
	jbuf_free(&b);
	event_json_free(j);
}

int main(int argc, char **argv)
{
	static struct config cfg = {
		.rotate = { .max_bytes = 256ull << 20, .max_age_ns = 3600ull * 1000000000 },
		.stats_interval_ns = 10ull * 1000000000,
	};
	static struct stats_registry reg;
	struct output *outs[STORE_MAX_OUTPUTS];
	struct sigaction sa = { .sa_handler = on_signal };
	struct server *srv = NULL;
	struct store *store = NULL;
	uint64_t next_stats, next_maintain, now;
	char host[256] = "";
	size_t n_outs = 0;
	int err;

	log_ident = "dnsvigil-collector";
	parse_args(argc, argv, &cfg);
	/* A batch's decoded events (up to thousands) are freed together and the next batch's
	 * allocated again: glibc would hand the memory back and fault it in anew each batch
	 * (measured: a third of the collector's time). Keep it. */
	mallopt(M_TRIM_THRESHOLD, 256 << 20);
	mallopt(M_MMAP_THRESHOLD, 64 << 20);
	if (!cfg.plaintext) {
		err = tls_ctx_new(TLS_SERVER, &cfg.tls, &cfg.server.tls);
		if (err)
			return 1;
	}
	if (cfg.check_only) {
		printf("configuration OK\n");
		SSL_CTX_free(cfg.server.tls);
		return 0;
	}
	gethostname(host, sizeof(host) - 1);
	signal(SIGPIPE, SIG_IGN);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	err = make_dir(cfg.state_dir) ?: open_outputs(&cfg, outs, &n_outs);
	if (err) {
		for (size_t i = 0; i < n_outs; i++)
			outs[i]->ops->free(outs[i]);
		goto cleanup;
	}
	err = store_open(cfg.state_dir, outs, n_outs, &store);
	if (err)
		goto cleanup;
	err = server_new(&cfg.server, store, &srv);
	if (err)
		goto cleanup;
	err = store_declare_stats(store, &reg) ?: server_declare_stats(srv, &reg);
	if (err)
		goto cleanup;
	log_info("ready: state in %s", cfg.state_dir);
	now = clock_ns(CLOCK_MONOTONIC);
	next_stats = now + cfg.stats_interval_ns;
	next_maintain = now + MAINTAIN_NS;
	while (!stop_requested) {
		err = server_round(srv, ROUND_MS);
		if (err) {
			log_warnx("event loop: %s", strerror(-err));
			goto cleanup;
		}
		now = clock_ns(CLOCK_MONOTONIC);
		if (reopen_requested || now >= next_maintain) {
			bool reopen = reopen_requested;

			reopen_requested = 0;
			if (reopen)
				log_info("SIGHUP: reopening the output files");
			store_maintain(store, reopen, clock_ns(CLOCK_REALTIME));
			server_sweep(srv, now);
			next_maintain = now + MAINTAIN_NS;
		}
		if (cfg.stats_interval_ns && now >= next_stats) {
			write_stats(&reg, cfg.stats_path, host);
			next_stats = now + cfg.stats_interval_ns;
		}
	}
	/* Drain: what the agents already sent is stored and acked, nothing new is accepted. */
	server_stop_listening(srv);
	err = server_round(srv, 0) ?: server_drain(srv);
	write_stats(&reg, cfg.stats_path, host);
	log_info("stopped");

cleanup:
	server_free(srv);
	store_free(store);
	SSL_CTX_free(cfg.server.tls);
	return err ? 1 : 0;
}
