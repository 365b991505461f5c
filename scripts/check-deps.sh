#!/usr/bin/env bash
# Names what one build step lacks, and installs nothing: the Makefile runs it before the step
# compiles, so that a missing package is named instead of surfacing as a compiler error.
# scripts/deps.sh (make deps) installs everything.
#
#   scripts/check-deps.sh lib|agent|collector|tests|fuzz
#
# CC, AR, CLANG and BPFTOOL are taken from the environment, as make passes them.
set -u
CC=${CC:-cc} AR=${AR:-ar} CLANG=${CLANG:-clang} BPFTOOL=${BPFTOOL:-bpftool}
missing=()

# tool COMMAND: its first word (CC may be "ccache gcc") is on PATH.
tool() {
	command -v "${1%% *}" >/dev/null || missing+=("${1%% *} (tool)")
}

# library NAME HEADER LIB [HEADERS IT NEEDS FIRST...]: the header compiles and -lLIB links.
library() {
	local name=$1 header=$2 lib=$3 pre
	shift 3
	command -v "${CC%% *}" >/dev/null || return 0 # the caller reports the compiler missing
	{
		for pre in "$@"; do printf '#include <%s>\n' "$pre"; done
		printf '#include <%s>\nint main(void) { return 0; }\n' "$header"
	} | $CC -x c - "-l$lib" -o /dev/null 2>/dev/null ||
		missing+=("$name (header <$header>, library -l$lib)")
}

case ${1:-} in
lib)
	tool "$CC"
	tool "$AR"
	tool protoc-c
	library protobuf-c protobuf-c/protobuf-c.h protobuf-c
	library OpenSSL openssl/ssl.h ssl
	library libdeflate libdeflate.h deflate
	library libpsl libpsl.h psl
	;;
agent)
	tool "$CC"
	tool "$CLANG"
	tool "$BPFTOOL"
	library libbpf bpf/libbpf.h bpf
	library libelf gelf.h elf
	library zlib zlib.h z
	library protobuf-c protobuf-c/protobuf-c.h protobuf-c
	library SQLite sqlite3.h sqlite3
	;;
collector)
	tool "$CC"
	tool protoc-c
	library zlib zlib.h z
	library protobuf-c protobuf-c/protobuf-c.h protobuf-c
	library OpenSSL openssl/ssl.h ssl
	library libfstrm fstrm.h fstrm
	;;
tests)
	tool "$CC"
	library cmocka cmocka.h cmocka stdarg.h stddef.h stdint.h setjmp.h
	library jansson jansson.h jansson
	library protobuf-c protobuf-c/protobuf-c.h protobuf-c
	;;
fuzz)
	tool "$CLANG"
	if command -v "${CLANG%% *}" >/dev/null; then
		echo 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }' |
			$CLANG -x c - -fsanitize=fuzzer,address,undefined -o /dev/null 2>/dev/null ||
			missing+=("clang's libFuzzer and sanitizer runtimes (library)")
	fi
	;;
*)
	echo "usage: $0 lib|agent|collector|tests|fuzz" >&2
	exit 2
	;;
esac

[[ ${#missing[@]} -eq 0 ]] && exit 0
printf -v list '%s, ' "${missing[@]}"
echo "missing for the $1 build: ${list%, }" >&2
echo "  run scripts/deps.sh or make deps (as root) to install them" >&2
exit 1
