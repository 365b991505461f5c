#!/usr/bin/env bash
# Installs every package dnsvigil needs to build, test and benchmark on Debian 12.
# Idempotent: when everything is present it only runs dpkg-query and exits.
set -euo pipefail

packages=(
	# build
	make gcc clang llvm pkg-config libbpf-dev bpftool libelf-dev zlib1g-dev
	protobuf-c-compiler libprotobuf-c-dev libssl-dev libfstrm-dev libdeflate-dev libpsl-dev publicsuffix
	libsqlite3-dev sqlite3
	# tests and fuzzing
	libcmocka-dev libjansson-dev openssl fstrm-bin bind9-dnsutils libclang-rt-14-dev python3 python3-dnslib iproute2 procps
	# scripts/gen-dga-data.py reads apt's lz4-compressed Packages index
	lz4
	# real DNS software for end-to-end tests and benchmarks
	unbound nsd dnsutils knot-dnsutils dnsperf dnscap tcpdump musl-tools bpftrace
	# a local stub resolver for the resolver-call e2e (the binary only, no service)
	dnsmasq-base
)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$p")
done
[[ ${#missing[@]} -eq 0 ]] && exit 0

if [[ $(id -u) -ne 0 ]]; then
	echo "deps.sh: missing packages: ${missing[*]} (run as root to install)" >&2
	exit 1
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# Daemons from these packages must not start on install: tests run their own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then
	printf '#!/bin/sh\nexit 101\n' >"$policy" && chmod +x "$policy" && created_policy=1
fi
trap '[[ $created_policy -eq 1 ]] && rm -f "$policy"' EXIT
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
