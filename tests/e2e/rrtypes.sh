#!/usr/bin/env bash
# The RR type e2e: one nsd serving a zone (rr.lab.) with records of every type dig 9.18 decodes
# into presentation form, on the loopback of a network namespace this script creates
# (127.54.0.1), the real agent in the host namespace, dig as the client. For every owner name
# and type the agent's answer data must be dig's rdata text, byte for byte. The zone, the
# queries, the starting of nsd and the agent and the comparison live in
# tests/e2e/rrtypes_check.py; this script owns the namespace, the temp dir and the teardown on
# every exit path.
#
#   tests/e2e/rrtypes.sh BUILD_DIR       (run it as: tests/e2e/rrtypes.sh build)
#
# Prints "rrtypes-e2e: N passed, M failed" last (one case per RR type); the last run's logs,
# zone, dig output and events stay in BUILD_DIR/rrtypes-last/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/e2e/rrtypes.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
py=/usr/bin/python3

# shellcheck source=scripts/lab.sh
. "$root/scripts/lab.sh"

ns=dvr-$$
tmp=
check_pid=

setup_fail() {
	echo "FAIL lab_setup: $*" >&2
	echo "rrtypes-e2e: 0 passed, 1 failed"
	exit 1
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	lab_check_teardown "$ns" "$tmp" "$check_pid" "$build/rrtypes-last" '*.log' '*.zone' \
		nsd.conf events.jsonl
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(lab_preflight ip nsd nsd-checkzone dig "$py") || setup_fail "$why"
[[ -x $build/dnsvigil ]] || setup_fail "$build/dnsvigil is missing: run make"
tmp=$(mktemp -d "/tmp/dvr-$$.XXXXXX") || setup_fail "mktemp"

# nsd at .0.1, which is also the namespace's resolver: nothing in it asks anything else.
lab_ns_create "$ns" 127.54.0.1 || setup_fail "creating namespace $ns"
ip -n "$ns" addr add 127.54.0.1/32 dev lo || setup_fail "adding 127.54.0.1"

"$py" "$here/rrtypes_check.py" --netns "$ns" --tmp "$tmp" --agent "$build/dnsvigil" </dev/null &
check_pid=$!
wait "$check_pid"
rc=$?
check_pid=
exit "$rc"
