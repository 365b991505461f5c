#!/usr/bin/env bash
# End-to-end tests of resolver library call tracing (issue 3): the real agent against real C
# libraries (glibc, musl, a copy of glibc in another mount namespace), python3, getent, and a
# dnsmasq stub in front of an unbound server, all in a network namespace this script creates and
# always removes. The agents run in a mount namespace without tracefs and debugfs, as on a
# host that just booted.
#
#   tests/e2e/resolver.sh BUILD_DIR   (make test-e2e runs it as: tests/e2e/resolver.sh build)
#
# Needs root, BUILD_DIR/dnsvigil and BUILD_DIR/resolver/calls{,-musl} (make test-e2e builds them),
# unbound, dnsmasq, dig, unshare. Traffic goes only to loopback addresses inside the namespace:
# unbound on 127.53.0.1 answers example.test and 2.0.192.in-addr.arpa, dnsmasq on 127.0.0.2
# forwards to it. This script builds the lab; tests/e2e/resolver_check.py starts the agent, runs
# the cases and stops the agent. It prints "resolver-e2e: N passed, M failed" last and exits
# non-zero when anything failed. The last run's events and logs stay in
# BUILD_DIR/resolver-e2e-last/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/e2e/resolver.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
py=/usr/bin/python3 # the distribution's python: a pyenv one on PATH may lack modules

# shellcheck source=../../scripts/lab.sh
. "$root/scripts/lab.sh"

ns=dvr-$$
server=127.53.0.1
stub=127.0.0.2
tmp=
LAB_DNSMASQ_PID=
LAB_UNBOUND_PID=

setup_fail() {
	echo "FAIL lab_setup: $*" >&2
	echo "resolver-e2e: 0 passed, 1 failed"
	exit 1
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# The checker stops its agents itself; this is for a checker that died first.
	if [[ -n $tmp ]]; then
		for pidfile in "$tmp"/agent*.pid; do
			[[ -s $pidfile ]] && lab_kill "$(cat "$pidfile")"
		done
	fi
	# Kills unbound, dnsmasq and any client still running in the namespace, then removes it.
	lab_ns_delete "$ns"
	[[ -z $LAB_UNBOUND_PID ]] || wait "$LAB_UNBOUND_PID" 2>/dev/null
	[[ -z $LAB_DNSMASQ_PID ]] || wait "$LAB_DNSMASQ_PID" 2>/dev/null
	if [[ -n $tmp && -d $tmp ]]; then
		mkdir -p "$build/resolver-e2e-last"
		cp -f "$tmp"/*.jsonl "$tmp"/*.log "$tmp"/*.conf "$build/resolver-e2e-last/" \
			2>/dev/null
		rm -rf "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(lab_preflight ip unbound unbound-checkconf dig dnsmasq unshare getent "$py") ||
	setup_fail "$why"
for bin in dnsvigil resolver/calls resolver/calls-musl; do
	[[ -x $build/$bin ]] || setup_fail "$build/$bin is missing: run make test-e2e"
done

tmp=$(mktemp -d "/tmp/dvr-$$.XXXXXX") || setup_fail "mktemp"
rm -rf "$build/resolver-e2e-last"

# res.example.test has two IPv4 addresses, one IPv6 address and the PTR of 192.0.2.50;
# nx.example.test and 192.0.2.99 do not exist (static zones answer NXDOMAIN).
{
	echo 'local-zone: "example.test." static'
	echo 'local-data: "example.test. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 900 86400 300"'
	echo 'local-data: "res.example.test. 300 IN A 192.0.2.50"'
	echo 'local-data: "res.example.test. 300 IN A 192.0.2.51"'
	echo 'local-data: "res.example.test. 300 IN AAAA 2001:db8::50"'
	echo 'local-data: "py.example.test. 300 IN A 192.0.2.52"'
	echo 'local-data: "getent.example.test. 300 IN A 192.0.2.53"'
	echo 'local-data: "stub.example.test. 300 IN A 192.0.2.60"'
	echo 'local-data: "warm.example.test. 300 IN A 192.0.2.61"'
	echo 'local-zone: "2.0.192.in-addr.arpa." static'
	echo 'local-data: "2.0.192.in-addr.arpa. 3600 IN SOA ns.example.test. hostmaster.example.test. 1 3600 900 86400 300"'
	echo 'local-data-ptr: "192.0.2.50 res.example.test"'
} >"$tmp/zone.conf"

lab_ns_create "$ns" "$server" || setup_fail "creating namespace $ns"
lab_unbound_config "$tmp/unbound.conf" "$tmp/zone.conf" "$server" ||
	setup_fail "writing unbound.conf"
lab_unbound_start "$ns" "$tmp/unbound.conf" "$tmp/unbound.log" || setup_fail "starting unbound"
lab_wait_dns "$ns" "$server" res.example.test 10 ||
	setup_fail "unbound did not come up: $(cat "$tmp/unbound.log")"

# The stub: a caching forwarder, as a host's local resolver would be.
lab_dnsmasq_start "$ns" "$stub" "$server" "$tmp/dnsmasq.log"
lab_wait_dns "$ns" "$stub" warm.example.test 10 ||
	setup_fail "dnsmasq did not come up: $(cat "$tmp/dnsmasq.log")"
# Clients that should use the stub bind-mount this over /etc/resolv.conf in a mount namespace.
printf 'nameserver %s\noptions timeout:2 attempts:1\n' "$stub" >"$tmp/stub-resolv.conf"

"$py" -B "$here/resolver_check.py" --agent "$build/dnsvigil" --tmp "$tmp" --netns "$ns" \
	--calls "$build/resolver/calls" --calls-musl "$build/resolver/calls-musl" \
	--stub-resolv "$tmp/stub-resolv.conf" --dnsmasq-pid "$LAB_DNSMASQ_PID" </dev/null
rc=$?
if [[ $rc -ne 0 ]]; then
	echo "resolver-e2e: events and logs kept in $build/resolver-e2e-last/" >&2
fi
exit "$rc"
