#!/usr/bin/env bash
# Where the agent's CPU goes at the bench's fixed rate (issue 10: "say where each 100 ns
# went"). The bench's lab: a namespace with only loopback, an answer-only unbound on
# 127.53.0.1 and dnsperf -Q PROFILE_QPS against it; the agent writes JSONL, and
# `perf record -e cpu-clock -g` samples it for PROFILE_S seconds. Prints the agent's system
# calls and context switches in that window, perf's self time by symbol, and the kernel paths
# that time came through (callers of the top kernel symbols). perf.data and the logs stay in
# BUILD_DIR/profile-last/.
#
#   scripts/bench/profile.sh BUILD_DIR
#
# Tunables: PROFILE_QPS [20000], PROFILE_S [8], PROFILE_AGENT_ARGS [] (more agent options).
# Needs root, perf (linux-perf), unbound, dnsperf. Removes the namespace, unbound, dnsperf and
# the agent on exit, Ctrl-C included.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
build=$(cd "${1:?usage: scripts/bench/profile.sh BUILD_DIR}" && pwd) || exit 1
# shellcheck source=scripts/lab.sh
. "$here/../lab.sh"

die() {
	echo "profile: $*" >&2
	exit 1
}

qps=${PROFILE_QPS:-20000}
secs=${PROFILE_S:-8}
if ! [[ $qps =~ ^[0-9]+$ ]] || ((qps < 100 || qps > 1000000)); then
	die "PROFILE_QPS=$qps: expected 100..1000000"
fi
if ! [[ $secs =~ ^[0-9]+$ ]] || ((secs < 1 || secs > 60)); then
	die "PROFILE_S=$secs: expected 1..60"
fi
why=$(lab_preflight ip unbound unbound-checkconf dnsperf perf timeout) || die "$why"
[[ -x $build/dnsvigil ]] || die "$build/dnsvigil is missing: run make $build/dnsvigil"

ns=dvprof-$$
server=127.53.0.1
out=$build/profile-last
tmp=
agent_pid=
dnsperf_pid=
LAB_UNBOUND_PID=
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -z $agent_pid ]] || lab_kill "$agent_pid"
	lab_ns_delete "$ns"
	[[ -z $dnsperf_pid ]] || wait "$dnsperf_pid" 2>/dev/null
	[[ -z $LAB_UNBOUND_PID ]] || wait "$LAB_UNBOUND_PID" 2>/dev/null
	[[ -z $tmp ]] || rm -rf "$tmp"
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM
tmp=$(mktemp -d /tmp/dvprof-$$.XXXXXX) || die "mktemp"
{ rm -rf "$out" && mkdir -p "$out"; } || die "mkdir $out"

{
	echo 'local-zone: "bench.test." static'
	echo 'local-data: "www.bench.test. 300 IN A 192.0.2.1"'
	echo 'local-data: "www.bench.test. 300 IN AAAA 2001:db8::1"'
} >"$tmp/zone.conf"
printf '%s\n' 'www.bench.test A' 'www.bench.test AAAA' >"$tmp/queries.txt"
lab_ns_create "$ns" || die "creating namespace $ns"
LAB_UNBOUND_EXTRA=$'\tnum-threads: 1\n\tso-rcvbuf: 4m\n\tso-sndbuf: 4m' \
	lab_unbound_config "$tmp/unbound.conf" "$tmp/zone.conf" "$server" || die "unbound.conf"
lab_unbound_start "$ns" "$tmp/unbound.conf" "$out/unbound.log" || die "starting unbound"
lab_wait_dns "$ns" "$server" www.bench.test 10 || die "unbound did not come up"

# shellcheck disable=SC2086 # a list of options
"$build/dnsvigil" --jsonl "$tmp/out.jsonl" ${PROFILE_AGENT_ARGS:-} </dev/null >/dev/null \
	2>"$out/agent.log" &
agent_pid=$!
lab_wait_ready "$agent_pid" "$out/agent.log" ||
	die "the agent did not log ready within 20 s: $(cat "$out/agent.log")"

# The load outlasts the sampling window by 2 s on each side.
timeout -k 2 $((secs + 20)) ip netns exec "$ns" dnsperf -s "$server" -d "$tmp/queries.txt" \
	-Q "$qps" -l $((secs + 4)) </dev/null >"$out/dnsperf.txt" 2>&1 &
dnsperf_pid=$!
sleep 2
lab_kernel_entries "$agent_pid" >"$out/entries-before.txt"
timeout $((secs + 20)) perf record -q -e cpu-clock -g -o "$out/perf.data" -p "$agent_pid" \
	-- sleep "$secs" 2>"$out/perf-record.log" || die "perf record: $(cat "$out/perf-record.log")"
lab_kernel_entries "$agent_pid" >"$out/entries-after.txt"
wait "$dnsperf_pid"
dnsperf_pid=

echo "## agent in $secs s at $qps qps: system calls (read, write) and context switches"
paste "$out/entries-before.txt" "$out/entries-after.txt" | awk '{ print $1, $4 - $2 }'
grep -E 'Queries per second' "$out/dnsperf.txt"
echo "## self time by symbol"
perf report -i "$out/perf.data" --no-children --sort dso,sym --stdio -g none 2>/dev/null |
	grep -E '^ +[0-9]' | head -40
for sym in $(perf report -i "$out/perf.data" --no-children --sort sym --stdio -g none 2>/dev/null |
	awk '$2 == "[k]" { print $3 }' | head -n 3); do
	echo "## how the agent got into $sym (callers, >= 1 % of all samples)"
	perf report -i "$out/perf.data" --no-children --sort sym --stdio -S "$sym" \
		-g caller,1,callee,function 2>/dev/null | grep -vE '^#|^$' | head -40
done
