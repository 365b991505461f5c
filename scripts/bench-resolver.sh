#!/usr/bin/env bash
# Benchmark: what tracing resolver library calls costs a process, per getaddrinfo() call
# (issue 3, "Benchmark"). A script, not a test: it prints numbers and whether the target is met;
# it fails only when it cannot measure.
#
#   scripts/bench-resolver.sh BUILD_DIR
#
# Needs root, BUILD_DIR/dnsvigil, BUILD_DIR/resolver/gai-loop (make), unbound, bpftrace,
# taskset. In a network namespace with only loopback and an answer-only unbound on 127.53.0.1,
# gai-loop calls getaddrinfo() BENCH_CALLS times per sample for two names: "localhost"
# (answered from /etc/hosts: the call alone) and bench.example.test (A and AAAA queries to
# unbound per call). Each round measures, interleaved, with nothing attached (baseline); with a bare
# bpftrace uprobe+uretprobe pair on getaddrinfo (the floor: the kernel's own trap cost); with
# the agent capturing packets only (--no-resolver: the lab name's packets cost that much
# anyway); with the whole agent. The loop and unbound share one CPU (no cross-CPU wakeups in a
# lookup's path), agent and bpftrace run on another.
#
# A round starts each configuration once and takes BENCH_REPEATS samples per name while it runs.
# The best sample of all rounds (this machine's neighbours only ever add time) goes into one
# markdown table on stdout, per call in µs:
#   floor cost   = bpftrace - baseline
#   calls cost   = dnsvigil - dnsvigil wire only
#   over floor   = calls cost - floor cost       (target: <= 1 µs)
# and, from one more run per name with kernel.bpf_stats_enabled=1 (restored after), the run time
# of the agent's entry and return programs per call: dnsvigil's own code, the part of "over
# floor" that does not depend on the kernel's trap, and far steadier than timings on a busy VM.
# Progress goes to stderr. Everything it starts is stopped and removed on exit, Ctrl-C included.
#
# Tunables (environment, defaults in brackets): BENCH_CALLS [10000], BENCH_ROUNDS [4],
# BENCH_REPEATS [5],
# BENCH_OTHERS_WAIT_S [120]: how long to wait for another running dnsvigil (its probes would be
# in every number) to exit before giving up.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=${1:?usage: scripts/bench-resolver.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
agent_bin=$build/dnsvigil
loop_bin=$build/resolver/gai-loop

# shellcheck source=scripts/lab.sh
. "$here/lab.sh"

calls=${BENCH_CALLS:-10000}
rounds=${BENCH_ROUNDS:-4}
repeats=${BENCH_REPEATS:-5}
others_wait=${BENCH_OTHERS_WAIT_S:-120}
ns=dvrbench-$$
server=127.53.0.1
names=(localhost bench.example.test)
configs=(baseline floor wire dnsvigil)
tmp=
helper_pid=
stats_prev=
LAB_UNBOUND_PID=

die() {
	echo "bench-resolver: $*" >&2
	exit 1
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -z $helper_pid ]] || lab_kill "$helper_pid"
	[[ -z $stats_prev ]] || sysctl -qw kernel.bpf_stats_enabled="$stats_prev"
	lab_ns_delete "$ns"
	[[ -z $LAB_UNBOUND_PID ]] || wait "$LAB_UNBOUND_PID" 2>/dev/null
	[[ -z $tmp ]] || rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(lab_preflight ip unbound unbound-checkconf dig bpftrace bpftool python3 taskset) ||
	die "$why"
[[ -x $agent_bin && -x $loop_bin ]] ||
	die "$agent_bin or $loop_bin is missing: run make $agent_bin $loop_bin"
[[ $(nproc) -ge 2 ]] || die "needs 2 CPUs: the loop on one, agent and bpftrace on the other"
loop_cpu=$(($(nproc) - 1))

tmp=$(mktemp -d "/tmp/dvrbench-$$.XXXXXX") || die "mktemp"
libc=$(ldd "$loop_bin" | awk '$1 == "libc.so.6" { print $3 }')
libc=$(readlink -f "$libc")
[[ -r $libc ]] || die "cannot find the libc.so.6 of $loop_bin"

# Another agent's probes would be in every number.
for ((i = 0; i < others_wait * 10; i++)); do
	pgrep -x dnsvigil >/dev/null || break
	((i % 100 == 0)) && echo "bench-resolver: waiting for other dnsvigil processes to exit" \
		"($(pgrep -x dnsvigil | paste -sd,))" >&2
	sleep 0.1
done
pgrep -x dnsvigil >/dev/null && die "another dnsvigil kept running for ${others_wait}s"

{
	echo 'local-data: "bench.example.test. 300 IN A 192.0.2.80"'
	echo 'local-data: "bench.example.test. 300 IN AAAA 2001:db8::80"'
} >"$tmp/zone.conf"
lab_ns_create "$ns" "$server" || die "creating namespace $ns"
lab_unbound_config "$tmp/unbound.conf" "$tmp/zone.conf" "$server" || die "writing unbound.conf"
lab_unbound_start "$ns" "$tmp/unbound.conf" "$tmp/unbound.log" || die "starting unbound"
lab_wait_dns "$ns" "$server" bench.example.test 10 || die "unbound did not come up"
taskset -a -p -c "$loop_cpu" "$LAB_UNBOUND_PID" >/dev/null || die "pinning unbound"

# start_helper CONFIG: what the configuration runs beside the loop, on CPU 0; sets helper_pid.
start_helper() {
	local log=$tmp/helper.log i
	: >"$log"
	case $1 in
	baseline) return 0 ;;
	floor)
		taskset -c 0 bpftrace \
			-e "uprobe:$libc:getaddrinfo {} uretprobe:$libc:getaddrinfo {}" \
			</dev/null >"$log" 2>&1 &
		;;
	wire)
		taskset -c 0 "$agent_bin" --no-resolver --jsonl /dev/null -s 0 </dev/null \
			2>"$log" &
		;;
	dnsvigil)
		taskset -c 0 "$agent_bin" --jsonl /dev/null -s 0 </dev/null 2>"$log" &
		;;
	esac
	helper_pid=$!
	# bpftrace says "Attaching 2 probes..." before it attaches: wait a moment more.
	for ((i = 0; i < 300; i++)); do
		if grep -q -e ready -e 'Attaching' "$log"; then
			sleep 0.5
			return 0
		fi
		kill -0 "$helper_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$log" >&2
	die "$1: the helper did not start"
}

stop_helper() {
	[[ -z $helper_pid ]] || lab_kill "$helper_pid"
	helper_pid=
}

# measure NAME: mean ns per call, the loop pinned to loop_cpu.
measure() {
	ip netns exec "$ns" taskset -c "$loop_cpu" "$loop_bin" "$1" "$calls" ||
		die "gai-loop $1 failed"
}

for ((r = 1; r <= rounds; r++)); do
	for config in "${configs[@]}"; do
		echo "bench-resolver: round $r/$rounds: $config" >&2
		start_helper "$config"
		for ((k = 0; k < repeats; k++)); do
			for name in "${names[@]}"; do
				echo "$name $config $(measure "$name")" >>"$tmp/results"
			done
		done
		stop_helper
	done
done

# bpf_ns NAME: "entry ns + return ns" per call of NAME, from the kernel's BPF statistics.
bpf_ns() {
	local ids
	start_helper dnsvigil
	ids=$(grep -h '^prog_id:' /proc/"$helper_pid"/fdinfo/* 2>/dev/null | awk '{ print $2 }' |
		paste -sd,)
	stats_prev=$(sysctl -n kernel.bpf_stats_enabled)
	sysctl -qw kernel.bpf_stats_enabled=1
	measure "$1" >/dev/null
	bpftool -j prog show | python3 -c '
import json, sys
ids = {int(i) for i in sys.argv[1].split(",") if i}
ns = {"enter": 0, "leave": 0}
calls = 0
for p in json.load(sys.stdin):
    kind = p.get("name", "").split("_")[0]
    if p["id"] in ids and kind in ns:
        ns[kind] += p.get("run_time_ns", 0)
        if kind == "enter":
            calls += p.get("run_cnt", 0)
print("%.0f + %.0f" % (ns["enter"] / calls, ns["leave"] / calls) if calls else "n/a")
' "$ids"
	sysctl -qw kernel.bpf_stats_enabled="$stats_prev"
	stats_prev=
	stop_helper
}

for name in "${names[@]}"; do
	echo "bench-resolver: BPF run time: $name" >&2
	echo "$name $(bpf_ns "$name")" >>"$tmp/bpf"
done

echo "## Resolver call tracing: cost per getaddrinfo() call"
echo
echo "$(uname -r), $(nproc) CPUs; best of $((rounds * repeats)) samples of $calls calls" \
	"($rounds starts of each configuration); per call in µs."
echo
awk -v names="${names[*]}" '
!(($1, $2) in ns) || $3 < ns[$1, $2] { ns[$1, $2] = $3 }
END {
	printf "| name | baseline | bpftrace floor | dnsvigil wire only | dnsvigil "
	print "| floor cost | calls cost | over floor | target <= 1 |"
	print "|---|---|---|---|---|---|---|---|---|"
	split(names, list, " ")
	for (k = 1; k in list; k++) {
		n = list[k]
		b = ns[n, "baseline"] / 1000; f = ns[n, "floor"] / 1000
		w = ns[n, "wire"] / 1000; d = ns[n, "dnsvigil"] / 1000
		over = (d - w) - (f - b)
		printf "| %s | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %.2f | %s |\n", n, b, f,
			w, d, f - b, d - w, over, over <= 1 ? "met" : "missed"
	}
}' "$tmp/results"
echo
echo "BPF run time of the agent's resolver programs per call, entry + return, in ns:"
echo
sed 's/^/    /' "$tmp/bpf"
echo
echo "Samples, ns per call:"
echo
awk '{ s[$1 " " $2] = s[$1 " " $2] " " $3 } END { for (k in s) print "    " k ":" s[k] }' \
	"$tmp/results" | sort
