#!/usr/bin/env bash
# End-to-end tests of the collector feed: the real agent ships lab DNS traffic over mutual TLS
# on loopback to the real collector (build/dnsvigil-collector), which is killed, refused and
# restarted by tests/e2e/feed_check.py (one function per behaviour). This script makes the lab
# (a namespace with an answer-only unbound), the certificates (scripts/make-certs.sh) and always
# removes both, and every process the checks started.
#
#   tests/e2e/feed.sh BUILD_DIR
#
# Needs root. Queries go only to the namespace's loopback; the agent and the collector talk
# over the host's 127.0.0.1. It prints "feed-e2e: N passed, M failed" last. The last run's
# outputs and logs are kept in BUILD_DIR/feed-e2e-last/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/e2e/feed.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
py=/usr/bin/python3

# shellcheck source=scripts/lab.sh
. "$root/scripts/lab.sh"

ns=dvf-$$
server4=127.54.0.1
tmp=
check_pid=
LAB_UNBOUND_PID=

setup_fail() {
	echo "FAIL lab_setup: $*" >&2
	echo "feed-e2e: 0 passed, 1 failed"
	exit 1
}

cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	# feed_check.py stops what it started; a check killed half-way leaves its pids here.
	[[ -z $check_pid ]] || lab_kill "$check_pid"
	if [[ -n $tmp && -f $tmp/pids ]]; then
		# shellcheck disable=SC2046
		lab_kill $(cat "$tmp/pids")
	fi
	lab_ns_delete "$ns"
	[[ -z $LAB_UNBOUND_PID ]] || wait "$LAB_UNBOUND_PID" 2>/dev/null
	if [[ -n $tmp && -d $tmp ]]; then
		rm -rf "$build/feed-e2e-last"
		mkdir -p "$build/feed-e2e-last"
		cp -rf "$tmp"/*.log "$tmp"/out-* "$build/feed-e2e-last/" 2>/dev/null
		rm -rf --one-file-system "$tmp"
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(lab_preflight ip unbound unbound-checkconf dig openssl dnstap-read "$py") ||
	setup_fail "$why"
for bin in dnsvigil dnsvigil-collector; do
	[[ -x $build/$bin ]] || setup_fail "$build/$bin is missing: run make"
done

tmp=$(mktemp -d "/tmp/dvf-$$.XXXXXX") || setup_fail "mktemp"
echo "feed-e2e: lab namespace $ns; outputs and logs kept in $build/feed-e2e-last/"

{
	echo 'local-zone: "feed.test." static'
	echo 'local-data: "feed.test. 3600 IN SOA ns.feed.test. hostmaster.feed.test. 1 3600 900 86400 300"'
	echo 'local-zone: "burst.feed.test." redirect'
	echo 'local-data: "burst.feed.test. 300 IN A 192.0.2.80"'
	echo 'local-data: "burst.feed.test. 300 IN AAAA 2001:db8::80"'
} >"$tmp/zone.conf"

certs=$tmp/certs
{
	"$root/scripts/make-certs.sh" ca "$certs" feed-ca &&
		"$root/scripts/make-certs.sh" collector "$certs" feed-ca collector IP:127.0.0.1 &&
		"$root/scripts/make-certs.sh" agent "$certs" feed-ca agent-1 &&
		"$root/scripts/make-certs.sh" ca "$certs" other-ca &&
		"$root/scripts/make-certs.sh" agent "$certs" other-ca stranger
} || setup_fail "making certificates"

lab_ns_create "$ns" "$server4" || setup_fail "creating namespace $ns"
lab_unbound_config "$tmp/unbound.conf" "$tmp/zone.conf" "$server4" ::1 ||
	setup_fail "writing unbound.conf"
lab_unbound_start "$ns" "$tmp/unbound.conf" "$tmp/unbound.log" || setup_fail "starting unbound"
lab_wait_dns "$ns" "$server4" x.burst.feed.test 10 ||
	setup_fail "unbound did not come up: $(cat "$tmp/unbound.log")"

"$py" "$here/feed_check.py" --build "$build" --tmp "$tmp" --certs "$certs" --netns "$ns" \
	--server4 "$server4" </dev/null &
check_pid=$!
wait "$check_pid"
rc=$?
check_pid=
exit "$rc"
