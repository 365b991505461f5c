#!/usr/bin/env bash
# The lab DNS hierarchy e2e: a root, a TLD (lab.) and an authoritative server (nsd, three
# instances) and a recursive unbound whose root hints name the lab root, all on the loopback
# of a network namespace this script creates (127.53.0.0/16, fd53::66), the real agent in
# the host namespace, dig as the client. The cases, and the starting of servers and agent,
# live in tests/e2e/hier_check.py; this script owns the namespace, the temp dir and the
# teardown on every exit path.
#
#   tests/e2e/hier.sh BUILD_DIR          (make test-e2e runs it as: tests/e2e/hier.sh build)
#
# Prints "hier-e2e: N passed, M failed" last; the last run's logs and events stay in
# BUILD_DIR/hier-last/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/e2e/hier.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
py=/usr/bin/python3

# shellcheck source=scripts/lab.sh
. "$root/scripts/lab.sh"

ns=dvh-$$
tmp=
check_pid=

setup_fail() {
	echo "FAIL lab_setup: $*" >&2
	echo "hier-e2e: 0 passed, 1 failed"
	exit 1
}

# shellcheck disable=SC2317 # invoked by the EXIT trap
cleanup() {
	local rc=$?
	trap - EXIT INT TERM
	lab_check_teardown "$ns" "$tmp" "$check_pid" "$build/hier-last" '*.log' '*.zone' \
		unbound.conf events.jsonl
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

why=$(lab_preflight ip nsd unbound dig "$py") || setup_fail "$why"
[[ -x $build/dnsvigil ]] || setup_fail "$build/dnsvigil is missing: run make"
tmp=$(mktemp -d "/tmp/dvh-$$.XXXXXX") || setup_fail "mktemp"

# unbound at .0.53 (the namespace's resolver), the root at .0.1, the TLD at .0.2, and the
# authoritative server at one address per nameserver name (hier_check.py's NS_ADDR).
lab_ns_create "$ns" 127.53.0.53 || setup_fail "creating namespace $ns"
for a in 127.53.0.1 127.53.0.2 127.53.0.53 127.53.1.1 127.53.1.2 127.53.1.3 127.53.2.1 \
	127.53.3.1 127.53.9.9; do
	ip -n "$ns" addr add "$a/32" dev lo || setup_fail "adding $a"
done
ip -n "$ns" addr add fd53::66/128 dev lo nodad || setup_fail "adding fd53::66"

"$py" "$here/hier_check.py" --netns "$ns" --tmp "$tmp" --agent "$build/dnsvigil" </dev/null &
check_pid=$!
wait "$check_pid"
rc=$?
check_pid=
exit "$rc"
