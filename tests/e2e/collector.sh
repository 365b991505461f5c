#!/usr/bin/env bash
# End-to-end tests of the collector (issue 8): the real build/dnsvigil-collector on 127.0.0.1
# over real TLS 1.3 with certificates made here by openssl, fed by python3's ssl module with
# frames from build/feedtool (the agent's own encoders), faults included. No network namespace:
# everything stays on loopback, and no DNS lookup is made.
#
#   tests/e2e/collector.sh BUILD_DIR     (make test-e2e runs it as: tests/e2e/collector.sh build)
#
# Needs BUILD_DIR/dnsvigil-collector and BUILD_DIR/feedtool, openssl, dnstap-read. The cases live
# in tests/e2e/collector_check.py, which starts, kills and restarts the collector itself. It
# prints "collector-e2e: N passed, M failed" last. The last run's files stay in
# BUILD_DIR/collector-e2e-last/.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
build=${1:?usage: tests/e2e/collector.sh BUILD_DIR}
build=$(cd "$build" && pwd) || exit 1
py=/usr/bin/python3
tmp=$(mktemp -d /tmp/dv-collector-e2e.XXXXXX)
check_pid=

cleanup() {
	[[ -n $check_pid ]] && kill "$check_pid" 2>/dev/null && wait "$check_pid" 2>/dev/null
	# the collector the check left running, if it was interrupted
	if [[ -s $tmp/collector.pid ]]; then
		kill -9 "$(cat "$tmp/collector.pid")" 2>/dev/null
	fi
	rm -rf "$build/collector-e2e-last"
	mv "$tmp" "$build/collector-e2e-last" 2>/dev/null || rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

certs="$root/scripts/make-certs.sh"
if ! { DAYS=2 "$certs" ca "$tmp" ca && DAYS=2 "$certs" collector "$tmp" ca server IP:127.0.0.1 &&
	DAYS=2 "$certs" agent "$tmp" ca agent-1 && DAYS=2 "$certs" ca "$tmp" otherca &&
	DAYS=2 "$certs" agent "$tmp" otherca stranger; }; then
	echo "FAIL cert_setup: openssl could not make the test certificates" >&2
	echo "collector-e2e: 0 passed, 1 failed"
	exit 1
fi

"$py" "$here/collector_check.py" --collector "$build/dnsvigil-collector" \
	--feedtool "$build/feedtool" --tmp "$tmp" --root "$root" </dev/null &
check_pid=$!
wait "$check_pid"
rc=$?
check_pid=
exit "$rc"
