#!/usr/bin/env bash
# Benchmark: what capturing DNS with dnsvigil costs on this machine, measured in one run
# (issue 2, "Benchmark"). A script, not a test: it prints numbers and whether the targets are
# met; it fails only when it cannot measure.
#
#   scripts/bench.sh BUILD_DIR          (make bench runs it as: scripts/bench.sh build)
#
# Needs root, BUILD_DIR/dnsvigil, BUILD_DIR/bench_dns, BUILD_DIR/bench_machine, unbound,
# dnsperf, dnscap, bpftool and python3 (make deps). It creates a network namespace with only
# loopback, runs an answer-only unbound on 127.53.0.1 in it and dnsperf against it, and removes
# all of it on exit, Ctrl-C included (processes, namespace, temporary files,
# kernel.bpf_stats_enabled restored).
#
#   0. The machine: what a system call, a context switch and a load missing every cache cost
#      (BUILD_DIR/bench_machine).
#   1. Fixed rate: dnsperf -Q BENCH_QPS for BENCH_FIXED_S s with the agent running and
#      kernel.bpf_stats_enabled=1. BPF ns per run per program (bpftool run_time_ns/run_cnt
#      deltas), the agent's user+sys CPU (/proc/PID/stat), messages captured and events lost
#      (the agent's stats events), all-in CPU ns per message, the agent's peak RSS (VmHWM), its
#      system calls and context switches per message (/proc/PID/io, /proc/PID/status).
#   2. Saturation: dnsperf without a rate limit, BENCH_ROUNDS rounds of (a) alone, (b) with the
#      agent, (c) with dnscap capturing, (d) with the agent in --overload keep, interleaved
#      a b c d a b c d ...; median qps, b/a, c/a and d/a, and the events lost in b and d.
#      kernel.bpf_stats_enabled is back at its previous value here: no stats overhead.
#   3. Parser: BUILD_DIR/bench_dns on the unit corpus, the typical A response first.
#
# Another dnsvigil on the host (an e2e run, say) would capture the load too: the bench waits
# for it to exit before each measurement and discards (and repeats, up to 5 times) one it
# started during. On a busy machine, `nice -n -10 make bench` gives every process of the lab the
# same head start over the rest.
#
# Progress goes to stderr. stdout gets one markdown table followed by the raw numbers, ready to
# paste into a note. The raw files (dnsperf output, agent stats and logs, bpftool snapshots) of
# the last run stay in BUILD_DIR/bench-last/.
#
# Tunables (environment, defaults in brackets): BENCH_QPS [20000], BENCH_FIXED_S [10],
# BENCH_SAT_S [5], BENCH_ROUNDS [3], BENCH_CLIENTS [4], BENCH_OUTSTANDING [200];
# BENCH_TMPDIR [/tmp]: where the agent's JSONL and dnscap's pcap go (hundreds of MB, deleted
# after each run; /dev/shm takes disk writeback out of the picture); BENCH_AGENT_ARGS []: more
# agent options, e.g. "--nice 0"; BENCH_WARM_MB [3072]: guest memory touched once before
# measuring (see below; 0: none); BENCH_OTHERS_WAIT_S [120]:
# how long to wait for another running dnsvigil to exit before giving up. With the defaults a
# run takes about 1.5 minutes.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
build=${1:?usage: scripts/bench.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
agent_bin=$build/dnsvigil
bench_bin=$build/bench_dns
py=/usr/bin/python3 # the distribution's python, as in tests/e2e

# shellcheck source=scripts/lab.sh
. "$here/lab.sh"

qps=${BENCH_QPS:-20000}
fixed_s=${BENCH_FIXED_S:-10}
sat_s=${BENCH_SAT_S:-5}
rounds=${BENCH_ROUNDS:-3}
clients=${BENCH_CLIENTS:-4}
outstanding=${BENCH_OUTSTANDING:-200}

ns=dvbench-$$
server=127.53.0.1
tmp=
res=
agent_pid=
dnscap_pid=
stats_prev=
LAB_UNBOUND_PID=

die() {
	echo "bench: $*" >&2
	exit 1
}

progress() {
	echo "bench: $*" >&2
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# SIGTERM lets the agent detach its programs cleanly.
	[[ -z $agent_pid ]] || lab_kill "$agent_pid"
	[[ -z $dnscap_pid ]] || lab_kill "$dnscap_pid"
	# unbound, dnsperf and anything else still running in the namespace, then the namespace.
	lab_ns_delete "$ns"
	[[ -z $LAB_UNBOUND_PID ]] || wait "$LAB_UNBOUND_PID" 2>/dev/null
	[[ -z $stats_prev ]] || sysctl -qw kernel.bpf_stats_enabled="$stats_prev"
	if [[ -n $tmp && -d $tmp ]]; then
		if [[ -n $res && -d $res ]]; then
			rm -rf "$build/bench-last"
			cp -r "$res" "$build/bench-last" 2>/dev/null
		fi
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# check_int NAME VALUE MIN MAX: every loop below is bounded by these.
check_int() {
	if ! [[ $2 =~ ^[0-9]+$ ]] || (($2 < $3 || $2 > $4)); then
		die "$1=$2: expected $3..$4"
	fi
}
check_int BENCH_QPS "$qps" 100 1000000
check_int BENCH_FIXED_S "$fixed_s" 1 120
check_int BENCH_SAT_S "$sat_s" 1 60
check_int BENCH_ROUNDS "$rounds" 1 9
check_int BENCH_CLIENTS "$clients" 1 64
check_int BENCH_OUTSTANDING "$outstanding" 1 10000

why=$(lab_preflight ip unbound unbound-checkconf dig dnsperf dnscap bpftool sysctl timeout \
	getconf "$py") || die "$why"
[[ -x $agent_bin ]] || die "$agent_bin is missing: run make $build/dnsvigil"
[[ -x $bench_bin ]] || die "$bench_bin is missing: run make $build/bench_dns"
[[ -x $build/bench_machine ]] ||
	die "$build/bench_machine is missing: run make $build/bench_machine"
for fn in lab_ns_create lab_ns_delete lab_unbound_config lab_unbound_start lab_wait_dns lab_kill \
	lab_wait_ready lab_kernel_entries; do
	declare -F "$fn" >/dev/null || die "scripts/lab.sh does not define $fn"
done

# other_agents: pids of dnsvigil processes other than ours, comma-separated; fails when none.
other_agents() {
	pgrep -x dnsvigil | grep -vx "${agent_pid:-0}" | paste -sd, | grep .
}

# Another dnsvigil (an e2e run, say) captures host-wide: it would record the bench traffic in
# its own output (gigabytes) and tax every round. Before each load the bench waits for it to
# exit, BENCH_OTHERS_WAIT_S seconds at most over the whole run.
others_budget=${BENCH_OTHERS_WAIT_S:-120}
check_int BENCH_OTHERS_WAIT_S "$others_budget" 0 3600
wait_for_others() {
	local others said=0
	while others=$(other_agents); do
		((said)) || progress "waiting for the running dnsvigil ($others) to exit (${others_budget} s left)"
		said=1
		((others_budget > 0)) || die "dnsvigil ($others) still runs: it would capture the bench" \
			"traffic and the numbers would be off (BENCH_OTHERS_WAIT_S)"
		sleep 1
		((others_budget--))
	done
	return 0
}
wait_for_others

tmp=$(mktemp -d "${BENCH_TMPDIR:-/tmp}/dvbench-$$.XXXXXX") || die "mktemp"
res=$tmp/results
mkdir -p "$res" "$tmp/cap" || die "mkdir $tmp"

# run_dnsperf OUT SECONDS ARGS...: dnsperf in the namespace against unbound. -l bounds the
# sending, -t 2 the wait for the last answers; timeout(1) is the backstop. Returns 2 when another
# dnsvigil started meanwhile: dnsperf is stopped at once (that agent would record the whole
# load in its output) and the caller discards the measurement.
run_dnsperf() {
	local out=$1 secs=$2 pid others
	shift 2
	timeout -k 2 $((secs + 15)) ip netns exec "$ns" \
		dnsperf -s "$server" -d "$tmp/queries.txt" -t 2 -l "$secs" "$@" </dev/null >"$out" 2>&1 &
	pid=$!
	while kill -0 "$pid" 2>/dev/null; do # ends with timeout(1) at the latest
		if others=$(other_agents); then
			kill -TERM "$pid" 2>/dev/null
			wait "$pid"
			progress "another dnsvigil ($others) started during the load: measurement discarded"
			echo "$others" >>"$res/discarded.txt"
			return 2
		fi
		sleep 0.25
	done
	wait "$pid"
	grep -q '^ *Queries per second:' "$out" || {
		sed 's/^/  | /' "$out" >&2
		die "dnsperf failed (output above)"
	}
}

# agent_start JSONL LOG [OPTION...]: the agent in the host namespace (the root cgroup's programs
# see every namespace), stats every second; waits for "ready" and sets agent_pid.
agent_start() {
	local jsonl=$1 log=$2
	shift 2
	# shellcheck disable=SC2086 # BENCH_AGENT_ARGS is a list of options
	"$agent_bin" --jsonl "$jsonl" -s 1 ${BENCH_AGENT_ARGS:-} "$@" </dev/null >/dev/null 2>"$log" &
	agent_pid=$!
	lab_wait_ready "$agent_pid" "$log" && return 0
	sed 's/^/  | /' "$log" >&2
	die "the agent did not log ready within 20 s (log above)"
}

# agent_stop: SIGINT (drain, final stats event, exit 0); SIGKILL after 20 s. Prints the exit
# status.
agent_stop() {
	local i rc
	kill -INT "$agent_pid" 2>/dev/null
	for ((i = 0; i < 200; i++)); do
		kill -0 "$agent_pid" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$agent_pid" 2>/dev/null && echo "bench: the agent ignored SIGINT for 20 s" >&2
	wait "$agent_pid"
	rc=$?
	agent_pid=
	echo "$rc"
}

# cpu_ticks PID: utime + stime of all its threads in clock ticks (/proc/PID/stat fields 14, 15;
# the fields after comm, which may contain spaces, start at field 3).
cpu_ticks() {
	local stat f
	stat=$(cat "/proc/$1/stat") || return 1
	# shellcheck disable=SC2206 # word splitting is the point
	f=(${stat##*) })
	echo $((f[11] + f[12]))
}

# agent_prog_ids: ids of the BPF programs the agent holds (fdinfo of its prog and link fds);
# exact even when another dnsvigil runs on the host at the same time.
agent_prog_ids() {
	grep -h '^prog_id:' /proc/"$agent_pid"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -un
}

stats_count() {
	grep -c '^{"type":"stats"' "$1" 2>/dev/null
}

# last_stats JSONL: the last complete stats event the agent has written.
last_stats() {
	grep '^{"type":"stats".*}}$' "$1" | tail -n 1
}

# wait_new_stats JSONL: until the agent writes its next stats event (at most 5 s).
wait_new_stats() {
	local n i
	n=$(stats_count "$1")
	for ((i = 0; i < 50; i++)); do
		(($(stats_count "$1") > n)) && return 0
		sleep 0.1
	done
	return 1
}

# wait_agent_idle: until the agent used at most one clock tick in 0.5 s, i.e. it has consumed
# what the ring buffer held (at least 1 s, at most 10 s).
wait_agent_idle() {
	local i a b
	sleep 1
	for ((i = 0; i < 20; i++)); do
		a=$(cpu_ticks "$agent_pid") || return 1
		sleep 0.5
		b=$(cpu_ticks "$agent_pid") || return 1
		((b - a <= 1)) && return 0
	done
	progress "the agent was still busy 10 s after the load stopped"
}

dnscap_start() {
	# -N: stay root (it would switch to nobody, who cannot write $tmp); -S: drop counts at exit.
	ip netns exec "$ns" dnscap -N -p -S -i lo -u 53 -w "$tmp/cap/dump" </dev/null >"$1" 2>&1 &
	dnscap_pid=$!
	sleep 1 # no readiness signal: give libpcap time to open lo
	kill -0 "$dnscap_pid" 2>/dev/null || {
		sed 's/^/  | /' "$1" >&2
		die "dnscap exited at start (output above)"
	}
}

dnscap_stop() {
	lab_kill "$dnscap_pid" # SIGTERM: dnscap closes its dump and prints its counters
	dnscap_pid=
}

# --- the lab ---------------------------------------------------------------------------------

{
	echo "date $(date -u +%Y-%m-%dT%H:%M:%SZ)"
	echo "kernel $(uname -r)"
	echo "cpus $(nproc) $(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
	echo "loadavg_at_start $(cut -d' ' -f1-3 /proc/loadavg)"
	echo "commit $(git -C "$root" rev-parse --short HEAD 2>/dev/null || echo unknown)$(
		[[ -n $(git -C "$root" status --porcelain 2>/dev/null) ]] && echo +dirty)"
	echo "clk_tck $(getconf CLK_TCK)"
	echo "qps $qps"
	echo "fixed_s $fixed_s"
	echo "sat_s $sat_s"
	echo "clients $clients"
	echo "outstanding $outstanding"
	echo "rounds $rounds"
	echo "tmpdir $(df --output=fstype "$tmp" | tail -n 1) $tmp"
	echo "other_cgroup_skb_progs $(bpftool prog show 2>/dev/null | grep -c cgroup_skb)"
} >"$res/env.txt"

# Names the load asks for: A and AAAA, one and two answers, all answered from local-data.
{
	echo 'local-zone: "bench.test." static'
	echo 'local-data: "bench.test. 3600 IN SOA ns.bench.test. hostmaster.bench.test. 1 3600 900 86400 300"'
	echo 'local-data: "www.bench.test. 300 IN A 192.0.2.1"'
	echo 'local-data: "www.bench.test. 300 IN A 192.0.2.2"'
	echo 'local-data: "www.bench.test. 300 IN AAAA 2001:db8::1"'
	echo 'local-data: "api.bench.test. 300 IN A 192.0.2.10"'
	echo 'local-data: "api.bench.test. 300 IN AAAA 2001:db8::10"'
	echo 'local-data: "mail.bench.test. 300 IN A 192.0.2.25"'
	echo 'local-data: "cdn.bench.test. 300 IN A 192.0.2.30"'
	echo 'local-data: "cdn.bench.test. 300 IN A 192.0.2.31"'
	echo 'local-data: "cdn.bench.test. 300 IN AAAA 2001:db8::30"'
} >"$tmp/zone.conf"
printf '%s\n' 'www.bench.test A' 'www.bench.test AAAA' 'api.bench.test A' \
	'api.bench.test AAAA' 'mail.bench.test A' 'cdn.bench.test A' 'cdn.bench.test AAAA' \
	>"$tmp/queries.txt"

# What a system call, a context switch and a cache miss cost here: the units of the figures.
"$build/bench_machine" >"$res/machine.txt" 2>&1 || {
	sed 's/^/  | /' "$res/machine.txt" >&2
	die "bench_machine failed (output above)"
}

progress "lab: namespace $ns, unbound on $server"
lab_ns_create "$ns" || die "creating namespace $ns"
# One thread, like the prototype measurement; big socket buffers (unbound uses SO_RCVBUFFORCE
# as root) so that bursts do not overflow the server's queue.
LAB_UNBOUND_EXTRA=$'\tnum-threads: 1\n\tso-rcvbuf: 4m\n\tso-sndbuf: 4m' \
	lab_unbound_config "$tmp/unbound.conf" "$tmp/zone.conf" "$server" ||
	die "writing unbound.conf"
lab_unbound_start "$ns" "$tmp/unbound.conf" "$res/unbound.log" || die "starting unbound"
lab_wait_dns "$ns" "$server" www.bench.test 10 || die "unbound did not come up: $(cat "$res/unbound.log")"
# A virtual machine's first write to each guest page faults to the host (here ~15x the cost of
# a later write: 1.5 GB by dd took 3.3 s once, then 0.21 s). Without this the JSONL and pcap
# writes of the first run would be charged for it, which is the VM's cost and not the agent's
# or dnscap's: a long-running host's memory is warm. Touching BENCH_WARM_MB of memory once
# (then freeing it) makes the page cache land on pages the host already backs.
warm_mb=${BENCH_WARM_MB:-3072}
check_int BENCH_WARM_MB "$warm_mb" 0 65536
avail_mb=$(awk '/^MemAvailable:/ { print int($2 / 1024) }' /proc/meminfo)
((warm_mb <= avail_mb / 2)) || warm_mb=$((avail_mb / 2))
if ((warm_mb)); then
	progress "warm-up: touching $warm_mb MB of guest memory"
	"$py" -c "b = b'\\1' * ($warm_mb << 20)" || die "warming $warm_mb MB of memory"
fi
wait_for_others
progress "warm-up: 2 s of unlimited load"
run_dnsperf "$res/warmup-dnsperf.txt" 2 -c "$clients" -q "$outstanding" # interrupted: fine

# --- 1. fixed rate -----------------------------------------------------------------------------

# fixed_rate: one attempt; returns 2 when another dnsvigil interfered.
fixed_rate() {
	local rc
	wait_for_others
	bpftool -j prog show >"$res/fixed-bpf-pre-agent.json" || die "bpftool prog show"
	agent_start "$tmp/fixed.jsonl" "$res/fixed-agent.log"
	agent_prog_ids >"$res/fixed-prog-ids.txt"
	sysctl -qw kernel.bpf_stats_enabled=1 || die "setting kernel.bpf_stats_enabled=1"
	# Start the window right after a stats event: nothing of ours happens between the two.
	wait_new_stats "$tmp/fixed.jsonl" || die "the agent wrote no stats event within 5 s"
	last_stats "$tmp/fixed.jsonl" >"$res/fixed-stats-before.json"
	bpftool -j prog show >"$res/fixed-bpf-before.json" || die "bpftool prog show"
	cpu_ticks "$agent_pid" >"$res/fixed-cpu-before.txt" || die "reading /proc/$agent_pid/stat"
	lab_kernel_entries "$agent_pid" >"$res/fixed-entries-before.txt"
	run_dnsperf "$res/fixed-dnsperf.txt" "$fixed_s" -Q "$qps"
	rc=$?
	if ((rc == 0)); then
		# End the window once the agent has caught up: its CPU then covers every message
		# it reports.
		wait_agent_idle
		bpftool -j prog show >"$res/fixed-bpf-after.json" || die "bpftool prog show"
		cpu_ticks "$agent_pid" >"$res/fixed-cpu-after.txt" || die "reading /proc/$agent_pid/stat"
		lab_kernel_entries "$agent_pid" >"$res/fixed-entries-after.txt"
		grep '^VmHWM:' "/proc/$agent_pid/status" >"$res/fixed-rss.txt"
	fi
	sysctl -qw kernel.bpf_stats_enabled="$stats_prev"
	agent_stop >"$res/fixed-agent-rc.txt"
	last_stats "$tmp/fixed.jsonl" >"$res/fixed-stats-final.json"
	stat -c %s "$tmp/fixed.jsonl" >"$res/fixed-jsonl-bytes.txt"
	rm -f "$tmp/fixed.jsonl"
	return "$rc"
}

progress "fixed rate: dnsperf -Q $qps -l $fixed_s with the agent, kernel.bpf_stats_enabled=1"
stats_prev=$(sysctl -n kernel.bpf_stats_enabled) || die "reading kernel.bpf_stats_enabled"
for ((attempt = 1; ; attempt++)); do
	fixed_rate && break
	((attempt < 5)) || die "another dnsvigil interfered with 5 fixed-rate attempts"
done

# --- 2. saturation -----------------------------------------------------------------------------

# saturation OUT CFG: one unlimited-rate measurement in configuration a (alone), b (the agent as
# it starts by default), c (dnscap) or d (the agent with --overload keep); returns 2 when another
# dnsvigil interfered.
saturation() {
	local out=$1 cfg=$2 rc
	wait_for_others
	cut -d' ' -f1 /proc/loadavg >"$out-loadavg.txt"
	case $cfg in
	a)
		run_dnsperf "$out-dnsperf.txt" "$sat_s" -c "$clients" -q "$outstanding"
		rc=$?
		;;
	b | d)
		if [[ $cfg == d ]]; then
			agent_start "$tmp/sat.jsonl" "$out-agent.log" --overload keep
		else
			agent_start "$tmp/sat.jsonl" "$out-agent.log"
		fi
		run_dnsperf "$out-dnsperf.txt" "$sat_s" -c "$clients" -q "$outstanding"
		rc=$?
		agent_stop >"$out-agent-rc.txt"
		last_stats "$tmp/sat.jsonl" >"$out-stats-final.json"
		stat -c %s "$tmp/sat.jsonl" >"$out-jsonl-bytes.txt"
		rm -f "$tmp/sat.jsonl"
		;;
	c)
		dnscap_start "$out-dnscap.log"
		run_dnsperf "$out-dnsperf.txt" "$sat_s" -c "$clients" -q "$outstanding"
		rc=$?
		dnscap_stop
		stat -c %s "$tmp"/cap/dump* 2>/dev/null | awk '{ n += $1 } END { print n + 0 }' \
			>"$out-pcap-bytes.txt"
		rm -f "$tmp"/cap/dump*
		;;
	esac
	return "$rc"
}

progress "saturation: $rounds rounds of a (alone), b (agent), c (dnscap), d (agent --overload keep), dnsperf -c $clients -q $outstanding -l $sat_s"
for ((r = 1; r <= rounds; r++)); do
	for cfg in a b c d; do
		for ((attempt = 1; ; attempt++)); do
			saturation "$res/sat-$r$cfg" "$cfg" && break
			((attempt < 5)) || die "another dnsvigil interfered with 5 attempts at round $r$cfg"
		done
		progress "  round $r$cfg: $(awk '/Queries per second:/ { printf "%.0f qps", $4 }' \
			"$res/sat-$r$cfg-dnsperf.txt") (load $(cat "$res/sat-$r$cfg-loadavg.txt"))"
	done
done

# --- 3. parser -----------------------------------------------------------------------------------

progress "parser: $bench_bin"
corpus=()
for name in a-response a-noedns-response aaaa-response cname-response mx-response \
	txt-response nxdomain-response; do
	[[ -r $root/tests/unit/data/$name.bin ]] && corpus+=("$root/tests/unit/data/$name.bin")
done
[[ ${#corpus[@]} -gt 0 && ${corpus[0]} == */a-response.bin ]] ||
	die "tests/unit/data/a-response.bin is missing"
timeout 60 "$bench_bin" "${corpus[@]}" >"$res/parse.txt" 2>&1 || {
	sed 's/^/  | /' "$res/parse.txt" >&2
	die "bench_dns failed (output above)"
}

"$py" "$here/bench/report.py" "$res" | tee "$res/report.md" || die "report.py failed"
