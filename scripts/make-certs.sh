#!/usr/bin/env bash
# Makes the certificates of a collector feed with the openssl command: a CA, certificates it
# signs for collectors (the names and addresses agents dial) and for agents (one each: the
# collector records its subject and fingerprint with every batch). Keys are EC P-256, PEM,
# without passphrase; keep them readable by the daemon only.
#
#   scripts/make-certs.sh ca DIR NAME                 DIR/NAME.pem DIR/NAME.key: a new CA
#   scripts/make-certs.sh collector DIR CA NAME SAN   a collector's cert signed by DIR/CA, e.g.
#                                                     SAN=IP:10.1.2.3,DNS:collector.example
#   scripts/make-certs.sh agent DIR CA NAME           an agent's cert, subject CN=NAME
#
# Certificates are valid for DAYS days (default 825); the tests use 2.
set -euo pipefail

usage() {
	sed -n '2,13p' "$0" | sed 's/^# \{0,1\}//' >&2
	exit 2
}

days=${DAYS:-825}
kind=${1:-}
[[ $# -ge 3 ]] || usage
dir=$2
umask 077
mkdir -p "$dir"

# key_and_csr NAME SUBJECT: DIR/NAME.key and DIR/NAME.csr
key_and_csr() {
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "$2" \
		-keyout "$dir/$1.key" -out "$dir/$1.csr" 2>/dev/null
}

# sign CA NAME EXTENSIONS: DIR/NAME.pem from DIR/NAME.csr
sign() {
	printf '%s\n' "$3" >"$dir/$2.ext"
	openssl x509 -req -in "$dir/$2.csr" -CA "$dir/$1.pem" -CAkey "$dir/$1.key" \
		-CAcreateserial -days "$days" -extfile "$dir/$2.ext" -out "$dir/$2.pem" 2>/dev/null
	rm -f "$dir/$2.csr" "$dir/$2.ext"
}

case $kind in
ca)
	openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days "$days" \
		-subj "/CN=$3" -keyout "$dir/$3.key" -out "$dir/$3.pem" 2>/dev/null
	;;
collector)
	[[ $# -eq 5 ]] || usage
	key_and_csr "$4" "/CN=$4"
	sign "$3" "$4" "subjectAltName=$5
extendedKeyUsage=serverAuth"
	;;
agent)
	[[ $# -eq 4 ]] || usage
	key_and_csr "$4" "/CN=$4"
	sign "$3" "$4" "subjectAltName=DNS:$4
extendedKeyUsage=clientAuth"
	;;
*)
	usage
	;;
esac
