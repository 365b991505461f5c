#!/usr/bin/env bash
# Runs test binaries of one suite, prints a summary line per suite and fails if any failed.
set -u
suite=$1
shift
passed=0 failed=0 failed_names=()
for t in "$@"; do
	if "$t"; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		failed_names+=("$(basename "$t")")
	fi
done
echo "$suite: $passed passed, $failed failed"
[[ $failed -eq 0 ]] || { echo "$suite: failing: ${failed_names[*]}" >&2; exit 1; }
