# Test certificates made with openssl, for the collector's tests and benchmark (sourced).
# cert DIR NAME CA SUBJ [SAN]: DIR/NAME.key and DIR/NAME.pem signed by DIR/CA (by itself when
# CA is "self").
cert() {
	local tmp=$1 name=$2 ca=$3 subj=$4 san=${5:-}
	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
		-keyout "$tmp/$name.key" -subj "$subj" -out "$tmp/$name.csr" 2>/dev/null || return 1
	if [[ $ca == self ]]; then
		openssl x509 -req -in "$tmp/$name.csr" -signkey "$tmp/$name.key" -days 2 \
			-extfile <(printf 'basicConstraints=critical,CA:true\nkeyUsage=keyCertSign,cRLSign\n') \
			-out "$tmp/$name.pem" 2>/dev/null
	else
		openssl x509 -req -in "$tmp/$name.csr" -CA "$tmp/$ca.pem" -CAkey "$tmp/$ca.key" \
			-CAcreateserial -days 2 \
			-extfile <(printf '%s\n' "basicConstraints=CA:false" ${san:+"subjectAltName=$san"}) \
			-out "$tmp/$name.pem" 2>/dev/null
	fi
}

# test_certs DIR: a CA, a collector certificate for IP 127.0.0.1 and an agent certificate.
test_certs() {
	cert "$1" ca self "/CN=dnsvigil test CA" &&
		cert "$1" server ca "/CN=collector" "IP:127.0.0.1" &&
		cert "$1" agent ca "/CN=agent-1/O=dnsvigil-test"
}
