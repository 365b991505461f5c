#!/usr/bin/env bash
# End-to-end tests: the real agent against a real unbound, a real dnsmasq stub forwarding to it
# and real clients (dig, python3) in a network namespace this script creates and always removes,
# as it does the net_cls v1 cgroup (and mount) that one client runs in.
#
#   tests/e2e/run.sh BUILD_DIR          (make test-e2e runs it as: tests/e2e/run.sh build)
#
# Needs root. Traffic goes only to loopback addresses inside the namespace. The assertions live
# in tests/e2e/check.py (one function per behaviour); this script sets up the lab, starts the
# agent, runs check.py and tears everything down. It prints "e2e: N passed, M failed" last and
# exits non-zero when anything failed. The last run's events, agent, unbound and dnsmasq logs are
# kept in BUILD_DIR/e2e-last/ for a person to read.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/e2e/run.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
agent_bin=$build/dnsvigil
py=/usr/bin/python3 # the distribution's python, whatever python3 comes first on PATH

# shellcheck source=scripts/lab.sh
. "$root/scripts/lab.sh"

ns=dvt-$$
server4=127.53.0.1
server6=::1
held4=127.53.0.2 # the socket client.py udp-hold holds
stub4=127.53.0.3 # dnsmasq, forwarding to unbound
tmp=
agent_pid=
agent_wrapper_pid=
check_pid=
preopened_pid=
held_pid=
cls_root=    # the net_cls v1 hierarchy's mount the held process's cgroup is in
cls_mounted= # that mount when this script made it
cls_cg=      # the cgroup this script created there
LAB_UNBOUND_PID=
LAB_DNSMASQ_PID=

setup_fail() {
	echo "FAIL lab_setup: $*" >&2
	echo "e2e: 0 passed, 1 failed"
	exit 1
}

# wait_file FILE PID: waits up to 5 s for FILE to appear while PID lives.
wait_file() {
	local i
	for ((i = 0; i < 100; i++)); do
		[[ -e $1 ]] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	[[ -e $1 ]]
}

# A net_cls v1 cgroup with a class of its own, for socket_in_net_cls_cgroup_... (check.py):
# a process the agent scanned used to be skipped when its net_cls cgroup differed from the
# agent's. The hierarchy is mounted under $tmp even when it is mounted elsewhere already (a
# second mount of the same hierarchy, which a run beside this one may be using too: each run
# removes only its own mount). Where net_cls shares a hierarchy with other controllers
# (net_cls,net_prio) it cannot be mounted alone, and the existing mount is used.
net_cls_setup() {
	mkdir "$tmp/net_cls" || return 1
	if mount -t cgroup -o net_cls dnsvigil-e2e "$tmp/net_cls" 2>/dev/null; then
		cls_mounted=$tmp/net_cls
		cls_root=$cls_mounted
	else
		rmdir "$tmp/net_cls"
		cls_root=$(awk '$3 == "cgroup" && $4 ~ /(^|,)net_cls(,|$)/ { print $2; exit }' \
			/proc/self/mounts)
		[[ -n $cls_root ]] || return 1
	fi
	mkdir "$cls_root/dvt-$$" || return 1
	cls_cg=$cls_root/dvt-$$
	echo 0x100001 >"$cls_cg/net_cls.classid" # class 10:1
}

# How many cgroups the net_cls hierarchy has, its root included.
# shellcheck disable=SC2317 # invoked by the EXIT trap
net_cls_cgroups() {
	awk '$1 == "net_cls" { print $3 }' /proc/cgroups
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
net_cls_cleanup() {
	local pid i cgroups
	if [[ -n $cls_cg ]]; then
		# Whatever still runs in it goes back to the root: a cgroup with tasks stays.
		while read -r pid; do
			echo "$pid" >"$cls_root/cgroup.procs"
		done <"$cls_cg/cgroup.procs"
		cgroups=$(net_cls_cgroups)
		for ((i = 0; i < 20; i++)); do
			rmdir "$cls_cg" 2>/dev/null && break
			sleep 0.1 # tasks moved out or killed a moment ago may still be leaving
		done
		[[ ! -d $cls_cg ]] || echo "e2e: could not remove the cgroup $cls_cg" >&2
		# The kernel frees a removed cgroup a moment later; a hierarchy unmounted before that
		# outlives its last mount (unmounted, but still listed in /proc/cgroups).
		for ((i = 0; i < 20 && $(net_cls_cgroups) >= cgroups; i++)); do
			sleep 0.1
		done
	fi
	if [[ -n $cls_mounted ]]; then
		umount "$cls_mounted" && rmdir "$cls_mounted"
	fi
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	[[ -z $check_pid ]] || lab_kill "$check_pid"
	if [[ -n $agent_pid ]]; then
		lab_kill "$agent_pid"
	fi
	[[ -z $agent_wrapper_pid ]] || wait "$agent_wrapper_pid" 2>/dev/null
	# By pid, in case it had not yet entered the namespace.
	[[ -z $held_pid ]] || lab_kill "$held_pid"
	# Kills unbound, dnsmasq and every helper still running in the namespace, then removes it.
	lab_ns_delete "$ns"
	[[ -z $LAB_UNBOUND_PID ]] || wait "$LAB_UNBOUND_PID" 2>/dev/null
	[[ -z $LAB_DNSMASQ_PID ]] || wait "$LAB_DNSMASQ_PID" 2>/dev/null
	[[ -z $preopened_pid ]] || wait "$preopened_pid" 2>/dev/null
	net_cls_cleanup
	if [[ -n $tmp && -d $tmp ]]; then
		mkdir -p "$build/e2e-last"
		cp -f "$tmp"/*.log "$tmp"/unbound.conf "$tmp"/zone.conf "$build/e2e-last/" 2>/dev/null
		# Other DNS traffic on the host (a benchmark, say) can make the file huge: keep the
		# lines about this run then.
		if [[ $(stat -c %s "$tmp/events.jsonl" 2>/dev/null || echo 0) -gt 20000000 ]]; then
			grep -E 'example\.test|"type":"stats"|"malformed"' "$tmp/events.jsonl" \
				>"$build/e2e-last/events.jsonl"
		else
			cp -f "$tmp/events.jsonl" "$build/e2e-last/" 2>/dev/null
		fi
		# --one-file-system: a mount left below $tmp (net_cls) is not emptied
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(lab_preflight ip unbound unbound-checkconf dig dnsmasq bpftool "$py") || setup_fail "$why"
[[ -x $agent_bin ]] || setup_fail "$agent_bin is missing: run make $build/dnsvigil"

tmp=$(mktemp -d "/tmp/dvt-$$.XXXXXX") || setup_fail "mktemp"
rm -rf "$build/e2e-last"
echo "e2e: lab namespace $ns; events and logs of this run will be kept in $build/e2e-last/"

# The zone: names each case queries. big.example.test has 20 TXT strings of 61 characters so
# that its response (~1.6 kB) needs EDNS over UDP and is truncated without it; trunc.example.test
# is the same set, for the truncation case. TXT data goes in single quotes: inside double quotes
# unbound keeps \" as a literal quote character in the string. Every name below
# via-stub.example.test has the address of via-stub.example.test itself (a redirect zone): the
# stub cases ask dnsmasq names new to its cache.
{
	echo 'local-zone: "example.test." static'
	echo 'local-data: "example.test. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 900 86400 300"'
	echo 'local-data: "a.example.test. 300 IN A 192.0.2.1"'
	echo 'local-data: "a.example.test. 300 IN A 192.0.2.2"'
	echo 'local-data: "tcp.example.test. 300 IN A 192.0.2.3"'
	echo 'local-data: "q1.example.test. 300 IN A 192.0.2.11"'
	echo 'local-data: "q2.example.test. 300 IN A 192.0.2.12"'
	echo 'local-data: "q3.example.test. 300 IN A 192.0.2.13"'
	echo 'local-data: "v6.example.test. 300 IN AAAA 2001:db8::6"'
	echo 'local-data: "py.example.test. 300 IN A 192.0.2.8"'
	echo 'local-data: "py.example.test. 300 IN AAAA 2001:db8::8"'
	echo 'local-data: "pre.example.test. 300 IN A 192.0.2.9"'
	echo 'local-data: "after-malformed.example.test. 300 IN A 192.0.2.12"'
	# dgalab.: a made-up TLD, every name under it NXDOMAIN, for the correlation cases
	echo 'local-zone: "dgalab." static'
	# active_ns_...: a domain with NS records that answers for its names without them
	echo 'local-zone: "probed.test." static'
	echo 'local-data: "probed.test. 3600 IN SOA ns1.probed.test. hostmaster.probed.test. 1 3600 900 86400 300"'
	echo 'local-data: "probed.test. 7200 IN NS ns1.probed.test."'
	echo 'local-data: "probed.test. 7200 IN NS ns2.nsprovider.test."'
	echo 'local-data: "ns1.probed.test. 300 IN A 192.0.2.101"'
	echo 'local-data: "www.probed.test. 300 IN A 192.0.2.100"'
	echo 'local-zone: "nsprovider.test." static'
	echo 'local-data: "nsprovider.test. 3600 IN SOA ns2.nsprovider.test. hostmaster.nsprovider.test. 1 3600 900 86400 300"'
	echo 'local-data: "ns2.nsprovider.test. 300 IN A 192.0.2.102"'
	echo 'local-data: "ns2.nsprovider.test. 300 IN AAAA 2001:db8::102"'
	# fluxlab., cdnlab.: the fastflux cases. flux.fluxlab's two names answer from 8 /24s at
	# TTL 60, 4 each: the second tips the score (158.88); img.cdn.cdnlab has 70 addresses
	# in 3 /24s at TTL 20, a CDN that must not.
	echo 'local-zone: "fluxlab." static'
	for i in 1 2 3 4; do echo "local-data: \"a.flux.fluxlab. 60 IN A 10.$i.0.1\""; done
	for i in 5 6 7 8; do echo "local-data: \"b.flux.fluxlab. 60 IN A 10.$i.0.1\""; done
	echo 'local-zone: "cdnlab." static'
	for i in $(seq 0 69); do
		echo "local-data: \"img.cdn.cdnlab. 20 IN A 10.200.$((i % 3)).$((i + 1))\""
	done
	echo 'local-zone: "via-stub.example.test." redirect'
	echo 'local-data: "via-stub.example.test. 300 IN A 192.0.2.53"'
	for i in $(seq -w 1 20); do
		for name in big trunc; do
			printf "local-data: '%s.example.test. 300 IN TXT \"txt%s-%055d\"'\n" "$name" "$i" 0
		done
	done
} >"$tmp/zone.conf"

lab_ns_create "$ns" "$server4" || setup_fail "creating namespace $ns"
lab_unbound_config "$tmp/unbound.conf" "$tmp/zone.conf" "$server4" "$server6" ||
	setup_fail "writing unbound.conf"
lab_unbound_start "$ns" "$tmp/unbound.conf" "$tmp/unbound.log" || setup_fail "starting unbound"
lab_wait_dns "$ns" "$server4" a.example.test 10 ||
	setup_fail "unbound did not come up: $(cat "$tmp/unbound.log")"
lab_wait_dns "$ns" "$server6" a.example.test 5 ||
	setup_fail "unbound did not answer on ::1: $(cat "$tmp/unbound.log")"
# dnsmasq opens its upstream TCP connections with TCP Fast Open. Without a cookie its query then
# rides on the segment that completes the handshake, which unbound's listening socket receives,
# not the accepted one; the agent reassembles such segments of every connection in one stream,
# the listener's, and loses or delays them. Plain handshakes keep the stub cases about origin.
ip netns exec "$ns" sysctl -qw net.ipv4.tcp_fastopen=0 || setup_fail "turning off TCP Fast Open"
lab_dnsmasq_start "$ns" "$stub4" "$server4" "$tmp/dnsmasq.log"
lab_wait_dns "$ns" "$stub4" a.example.test 10 ||
	setup_fail "dnsmasq did not come up: $(cat "$tmp/dnsmasq.log")"

# socket_opened_before_agent_is_attributed: this client connects before the agent exists and
# sends its query only when check.py tells it to (a file appears).
ip netns exec "$ns" "$py" "$here/client.py" tcp-preopened --server "$server4" \
	--qname pre.example.test --dir "$tmp" </dev/null >"$tmp/preopened.log" 2>&1 &
preopened_pid=$!
wait_file "$tmp/preopened.connected" "$preopened_pid" ||
	setup_fail "the pre-opened TCP client did not connect: $(cat "$tmp/preopened.log")"

# socket_in_net_cls_cgroup_opened_before_agent_is_attributed: this process joins the net_cls
# cgroup before it binds its UDP socket, which it then holds unread.
net_cls_setup ||
	setup_fail "setting up a net_cls v1 cgroup; cgroup mounts: $(grep cgroup /proc/mounts)"
(echo "$BASHPID" >"$cls_cg/cgroup.procs" &&
	exec ip netns exec "$ns" "$py" "$here/client.py" udp-hold --bind "$held4" --dir "$tmp") \
	</dev/null >"$tmp/held.log" 2>&1 &
held_pid=$!
wait_file "$tmp/held.bound" "$held_pid" ||
	setup_fail "the net_cls-classified UDP holder did not bind: $(cat "$tmp/held.log")"

# The threat intel the correlation cases match (check.py adds and breaks files in it).
mkdir -p "$tmp/intel"
{
	echo '$ORIGIN rpz.lab.'
	echo '@ SOA a. b. 1 3600 600 86400 300'
	echo 'listed.example.test CNAME .'
	echo '*.listed.example.test CNAME .'
	echo 'ok.listed.example.test CNAME rpz-passthru.'
	echo 'ns2.nsprovider.test.rpz-nsdname CNAME .' # active_ns_...: only --active-ns learns it
} >"$tmp/intel/lab.rpz"

# The agent, in the host namespace. A wrapper records its exit status for the SIGTERM case.
{
	# domain.new learns for 3 s (check.py's LEARNING_S), not a day
	"$agent_bin" --jsonl "$tmp/events.jsonl" -s 1 --intel "$tmp/intel" --active-ns \
		--state-dir "$tmp/state" --threshold new_domain_learning=3 </dev/null \
		>"$tmp/agent.stdout.log" 2>"$tmp/agent.log" &
	echo $! >"$tmp/agent.pid"
	wait $!
	echo $? >"$tmp/agent.rc"
} &
agent_wrapper_pid=$!
for ((i = 0; i < 50; i++)); do
	[[ -s $tmp/agent.pid ]] && break
	sleep 0.02
done
agent_pid=$(cat "$tmp/agent.pid" 2>/dev/null)
[[ -n $agent_pid ]] || setup_fail "could not start $agent_bin"

ready=0
for ((i = 0; i < 200; i++)); do # 20 s
	if grep -q ready "$tmp/agent.log" 2>/dev/null; then
		ready=1
		break
	fi
	[[ -e $tmp/agent.rc ]] && break
	sleep 0.1
done
if [[ $ready -ne 1 ]]; then
	echo "agent stderr:" >&2
	sed 's/^/  | /' "$tmp/agent.log" >&2
	if [[ -e $tmp/agent.rc ]]; then
		setup_fail "the agent exited with status $(cat "$tmp/agent.rc") before logging ready"
	fi
	setup_fail "the agent did not log ready within 20 s"
fi

"$py" "$here/check.py" \
	--events "$tmp/events.jsonl" --netns "$ns" --tmp "$tmp" \
	--server4 "$server4" --server6 "$server6" --stub4 "$stub4" --stub-log "$tmp/dnsmasq.log" \
	--unbound-pid "$LAB_UNBOUND_PID" --agent-pid "$agent_pid" \
	--agent-rc-file "$tmp/agent.rc" --agent-log "$tmp/agent.log" \
	--preopened-pid "$preopened_pid" --held-pid "$held_pid" --held-addr "$held4" \
	--client "$here/client.py" --agent-bin "$agent_bin" --state-dir "$tmp/state" \
	--cgroup-root "$(awk '$3 == "cgroup2" { print $2; exit }' /proc/mounts)" </dev/null &
check_pid=$!
# In the background so that a SIGTERM/SIGINT to this script interrupts wait and cleans up.
wait "$check_pid"
rc=$?
check_pid=
exit "$rc"
