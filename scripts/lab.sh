# shellcheck shell=bash
# Lab helpers for end-to-end tests and benchmarks: a network namespace with only loopback, an
# answer-only unbound and a forwarding dnsmasq inside it, and teardown that leaves nothing
# behind. Source this file:
#
#   . scripts/lab.sh
#   lab_ns_create dvt-$$ 127.53.0.1          # namespace, lo up, resolv.conf -> 127.53.0.1
#   lab_unbound_config "$dir/unbound.conf" "$dir/zone.conf" 127.53.0.1 ::1
#   lab_unbound_start dvt-$$ "$dir/unbound.conf" "$dir/unbound.log"   # sets LAB_UNBOUND_PID
#   lab_wait_dns dvt-$$ 127.53.0.1 a.example.test 10 || exit 1
#   lab_dnsmasq_start dvt-$$ 127.53.0.3 127.53.0.1 "$dir/dnsmasq.log"  # sets LAB_DNSMASQ_PID
#   ...
#   lab_ns_delete dvt-$$                     # kills whatever still runs in it, removes it
#
# Traffic stays on the namespace's loopback: nothing here touches the host's interfaces.
# Functions return non-zero and print to stderr on failure; none of them exits the caller.

# Kills the given pids with SIGTERM, waits up to 3 s for them, then SIGKILLs what is left.
# Works for non-children too (polls with kill -0).
lab_kill() {
	local pid alive i
	[[ $# -gt 0 ]] || return 0
	kill -TERM "$@" 2>/dev/null
	for ((i = 0; i < 30; i++)); do
		alive=0
		for pid in "$@"; do
			kill -0 "$pid" 2>/dev/null && alive=1
		done
		[[ $alive -eq 0 ]] && break
		sleep 0.1
	done
	kill -KILL "$@" 2>/dev/null
	for pid in "$@"; do
		wait "$pid" 2>/dev/null
	done
	return 0
}

# lab_preflight TOOL...: prints why the lab cannot run here (not root, a tool missing) and
# returns non-zero; silent and 0 when all is there.
lab_preflight() {
	local tool
	if [[ $(id -u) -ne 0 ]]; then
		echo "must run as root (network namespaces, BPF)"
		return 1
	fi
	for tool in "$@"; do
		if ! command -v "$tool" >/dev/null; then
			echo "$tool is not installed (make deps)"
			return 1
		fi
	done
}

# lab_ns_create NAME [RESOLVER_IP]: a namespace with lo up; with RESOLVER_IP, getaddrinfo() in
# `ip netns exec NAME ...` uses it (ip netns exec bind-mounts /etc/netns/NAME/resolv.conf).
lab_ns_create() {
	local ns=$1 resolver=${2:-}
	ip netns add "$ns" || return 1
	ip -n "$ns" link set lo up || return 1
	if [[ -n $resolver ]]; then
		mkdir -p "/etc/netns/$ns" || return 1
		printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$resolver" \
			>"/etc/netns/$ns/resolv.conf" || return 1
	fi
}

# lab_ns_delete NAME: kills every process still in the namespace, deletes it and its /etc/netns.
lab_ns_delete() {
	local ns=$1 pids
	if ip netns list 2>/dev/null | awk '{ print $1 }' | grep -qx -- "$ns"; then
		# Every process in the namespace was started by the lab: kill them by pid.
		mapfile -t pids < <(ip netns pids "$ns" 2>/dev/null)
		lab_kill "${pids[@]}"
		ip netns del "$ns" 2>/dev/null
	fi
	rm -rf "/etc/netns/$ns"
}

# lab_check_teardown NS TMP CHECK_PID KEEP_DIR PATTERN...: the end of an e2e whose python check
# starts the daemons. Kills the check (CHECK_PID, may be empty) and every pid it wrote to
# TMP/pids (the agent in the host namespace too), deletes namespace NS, keeps the files of TMP
# that match a PATTERN in KEEP_DIR (the last run's logs) and removes TMP. TMP may be empty.
lab_check_teardown() {
	local ns=$1 tmp=$2 check_pid=$3 keep=$4 pattern pids=()
	shift 4
	[[ -z $check_pid ]] || lab_kill "$check_pid"
	[[ -z $tmp || ! -e $tmp/pids ]] || mapfile -t pids <"$tmp/pids"
	lab_kill "${pids[@]}"
	lab_ns_delete "$ns"
	[[ -n $tmp && -d $tmp ]] || return 0
	rm -rf "$keep" && mkdir -p "$keep"
	for pattern in "$@"; do
		# shellcheck disable=SC2086 # the pattern is a glob
		cp -f "$tmp"/$pattern "$keep/" 2>/dev/null
	done
	rm -rf "$tmp"
}

# lab_unbound_config CONF ZONE_FILE ADDR...: an answer-only unbound listening on ADDR port 53
# (UDP and TCP). ZONE_FILE holds local-zone/local-data lines (server: clause) and is included.
# LAB_UNBOUND_EXTRA, if set, is appended to the server: clause verbatim (e.g. num-threads: 2).
lab_unbound_config() {
	local conf=$1 zone=$2 dir addr
	shift 2
	dir=$(dirname "$conf")
	{
		echo 'server:'
		echo '	do-daemonize: no'
		echo '	username: ""'
		echo '	chroot: ""'
		echo "	directory: \"$dir\""
		echo '	pidfile: ""'
		echo '	logfile: ""'
		echo '	use-syslog: no'
		echo '	verbosity: 0'
		echo '	auto-trust-anchor-file: ""'
		echo '	module-config: "iterator"'
		echo '	do-ip4: yes'
		echo '	do-ip6: yes'
		echo '	do-udp: yes'
		echo '	do-tcp: yes'
		echo '	port: 53'
		for addr in "$@"; do
			echo "	interface: $addr"
		done
		echo '	access-control: 127.0.0.0/8 allow'
		echo '	access-control: ::1 allow'
		# Responses up to 4096 bytes over UDP when the client's EDNS allows it.
		echo '	edns-buffer-size: 4096'
		echo '	max-udp-size: 4096'
		# A test may hold a TCP connection open across the agent's start-up.
		echo '	tcp-idle-timeout: 60000'
		echo '	local-zone: "." refuse'
		# unbound answers NXDOMAIN for RFC 6761 names like test. unless told otherwise.
		echo '	local-zone: "test." nodefault'
		echo "	include: \"$zone\""
		[[ -z ${LAB_UNBOUND_EXTRA:-} ]] || printf '%s\n' "$LAB_UNBOUND_EXTRA"
		echo 'remote-control:'
		echo '	control-enable: no'
	} >"$conf"
}

# lab_unbound_start NS CONF LOG: runs unbound in the foreground inside NS (in the background of
# the caller) and sets LAB_UNBOUND_PID to unbound's own pid.
lab_unbound_start() {
	local ns=$1 conf=$2 log=$3
	unbound-checkconf "$conf" >"$log" 2>&1 || { cat "$log" >&2; return 1; }
	ip netns exec "$ns" unbound -d -c "$conf" </dev/null >>"$log" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	LAB_UNBOUND_PID=$!
}

# lab_dnsmasq_start NS LISTEN UPSTREAM LOG: a caching dnsmasq inside NS on LISTEN port 53 (UDP
# and TCP) forwarding to UPSTREAM, with no DHCP, /etc/hosts or resolv.conf. It runs as it does as
# a host's service (--keep-in-foreground, not the debug mode of --no-daemon): each TCP connection
# is served by a child it forks. In the background of the caller, queries logged to LOG; sets
# LAB_DNSMASQ_PID to dnsmasq's own pid.
lab_dnsmasq_start() {
	local ns=$1 listen=$2 upstream=$3 log=$4
	ip netns exec "$ns" dnsmasq --keep-in-foreground --conf-file=/dev/null --no-resolv \
		--no-hosts --listen-address="$listen" --bind-interfaces --server="$upstream" \
		--user=root --pid-file= --log-queries --log-facility="$log" </dev/null >>"$log" 2>&1 &
	# shellcheck disable=SC2034 # for the caller
	LAB_DNSMASQ_PID=$!
}

# lab_wait_ready PID LOG: waits until the agent PID logs "ready" to LOG, 20 s at most; fails
# when it exits or the time is up.
lab_wait_ready() {
	local pid=$1 log=$2 i
	for ((i = 0; i < 200; i++)); do
		grep -q ready "$log" 2>/dev/null && return 0
		kill -0 "$pid" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

# lab_kernel_entries PID: its system calls (syscr, syscw of /proc/PID/io) and context
# switches, voluntary and not (/proc/PID/status), one "name: value" per line.
lab_kernel_entries() {
	grep -E '^sysc[rw]:' "/proc/$1/io"
	grep -E '^(non)?voluntary_ctxt_switches:' "/proc/$1/status"
}

# lab_wait_dns NS SERVER NAME TIMEOUT_S: waits until SERVER answers NAME A from inside NS.
lab_wait_dns() {
	local ns=$1 server=$2 name=$3 timeout=$4 i
	for ((i = 0; i < timeout * 10; i++)); do
		if ip netns exec "$ns" dig +short +time=1 +tries=1 "@$server" "$name" A 2>/dev/null |
			grep -q .; then
			return 0
		fi
		sleep 0.1
	done
	echo "lab: $server in $ns did not answer $name within ${timeout}s" >&2
	return 1
}
