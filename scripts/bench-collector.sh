#!/usr/bin/env bash
# Collector ingest benchmark (make bench): the real collector pinned to one core (taskset -c 0),
# several synthetic agents (build/feedtool load, pinned to the other core) sending pre-built
# batches of 1000 sample events over loopback TLS 1.3 with FEED_WINDOW batches in flight, with
# the JSONL output and with the protobuf output. Every batch is stored, fsync'd, journaled and
# acked as in production; the figure runs from the agents' start to their last ack. Bounded:
# AGENTS x BATCHES x 1000 events per run (default 4 x 50), 3 runs per output, the best shown.
#
#   scripts/bench-collector.sh BUILD_DIR
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:?usage: scripts/bench-collector.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
agents=${AGENTS:-4} batches=${BATCHES:-50} events=1000 runs=3
tmp=$(mktemp -d /tmp/dv-collector-bench.XXXXXX)
pid=

cleanup() {
	[[ -n $pid ]] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

certs="$root/scripts/make-certs.sh"
{ DAYS=2 "$certs" ca "$tmp" ca && DAYS=2 "$certs" collector "$tmp" ca server IP:127.0.0.1 &&
	DAYS=2 "$certs" agent "$tmp" ca agent-1; } || { echo "bench-collector: openssl failed" >&2; exit 1; }
cores=$(nproc)
collector_cpu=0 agent_cpu=$((cores > 1 ? 1 : 0))

# run OUTPUT-FLAGS...: one collector, one load; prints events/s.
run() {
	local out=$tmp/out port rate
	rm -rf "$out" && mkdir -p "$out"
	port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
	taskset -c $collector_cpu "$build/dnsvigil-collector" --listen "127.0.0.1:$port" \
		--state "$out" "$@" --tls-ca "$tmp/ca.pem" --tls-cert "$tmp/server.pem" \
		--tls-key "$tmp/server.key" --stats-interval 0 2>"$tmp/collector.log" &
	pid=$!
	for _ in $(seq 100); do grep -q ready "$tmp/collector.log" && break; sleep 0.05; done
	rate=$(cd "$root" && taskset -c $agent_cpu "$build/feedtool" load 127.0.0.1 "$port" \
		"$tmp/ca.pem" "$tmp/agent-1.pem" "$tmp/agent-1.key" "$agents" "$batches" "$events" |
		awk '{ print $2 }')
	kill "$pid" && wait "$pid"
	pid=
	# group commit: batches per journal commit, from the collector's last stats line
	per=$(/usr/bin/python3 -c 'import json,sys; s=json.loads(open(sys.argv[1]).read().splitlines()[-1])["stats"]; print("%.1f" % (s["store_batches"] / max(1, s["store_commits"])))' "$out/stats.jsonl")
	echo "${rate:-0} $per"
}

# best OUTPUT-FLAGS...: the best of the runs, "events/s batches-per-commit".
best() {
	local b=0 bp=0 r p
	for _ in $(seq $runs); do
		read -r r p < <(run "$@")
		if ((${r%.*} > b)); then b=${r%.*} bp=$p; fi
	done
	echo "$b $bp"
}

read -r jsonl jsonl_per < <(best --out "$tmp/out")
read -r pb pb_per < <(best --pb "$tmp/out/events.pb")
printf '\ncollector ingest, 1 core (cpu %d), %d agents over TLS, %d events each run:\n' \
	$collector_cpu "$agents" $((agents * batches * events))
printf '  %-28s %12s %18s\n' output "events/s" "batches/commit"
printf '  %-28s %12s %18s\n' "JSONL (--out)" "$jsonl" "$jsonl_per"
printf '  %-28s %12s %18s\n' "length-delimited pb (--pb)" "$pb" "$pb_per"
