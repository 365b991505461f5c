# dnsvigil build. `make` builds lib/ and the agent (build/dnsvigil) and installs nothing: it
# names what is missing (scripts/check-deps.sh). `make run` and `make test` first set the
# machine up (`make deps`, scripts/deps.sh), then run the agent or every test suite.
# V=1 shows commands.
OUTPUT ?= build
CLANG ?= clang
CC ?= gcc
BPFTOOL ?= bpftool
ARCH := $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
# The BPF programs include $(OUTPUT)/vmlinux.h: a copy of VMLINUX_H=path when given, else
# generated from the running kernel's BTF, else (no BTF) the committed header of this
# architecture. It is made once per build folder: another VMLINUX_H wants another OUTPUT= or
# make clean.
VMLINUX_H ?=
VMLINUX_FALLBACK := bpf/vmlinux/$(ARCH)/vmlinux.h

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

CFLAGS ?= -O2 -g
CFLAGS += -std=gnu11 -Wall -Wextra -Werror -Wno-missing-field-initializers \
	  -D_GNU_SOURCE -I$(OUTPUT) -Ilib -Iagent -Ibpf
LDLIBS += -lbpf -lelf -lz -ldeflate -lpsl -lprotobuf-c -lssl -lcrypto -lsqlite3 -lpthread -lm
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) -I$(OUTPUT) -Ibpf -Wall -Werror

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
# lib/: what the agent and the collector both link, without libbpf.
LIB_SRCS := $(wildcard lib/*.c)
LIB_OBJS := $(patsubst lib/%.c,$(OUTPUT)/lib/%.o,$(LIB_SRCS))
# The protobuf schema's C code, generated at build time into $(OUTPUT)/proto and archived with lib/.
PROTO_C := $(OUTPUT)/proto/dnsvigil.pb-c.c
PROTO_H := $(OUTPUT)/proto/dnsvigil.pb-c.h
LIB_OBJS += $(OUTPUT)/proto/dnsvigil.pb-c.o
# The public dnstap schema, for the collector's dnstap output only.
DNSTAP_C := $(OUTPUT)/proto/dnstap.pb-c.c
DNSTAP_H := $(OUTPUT)/proto/dnstap.pb-c.h
LIBDV := $(OUTPUT)/libdnsvigil.a
AGENT_SRCS := $(wildcard agent/*.c)
AGENT_OBJS := $(patsubst agent/%.c,$(OUTPUT)/agent/%.o,$(AGENT_SRCS))
COLLECTOR_SRCS := $(wildcard collector/*.c)
COLLECTOR_OBJS := $(patsubst collector/%.c,$(OUTPUT)/collector/%.o,$(COLLECTOR_SRCS)) \
	$(OUTPUT)/proto/dnstap.pb-c.o
# The collector links no libbpf.
COLLECTOR_LDLIBS := -lz -ldeflate -lprotobuf-c -lssl -lcrypto -lfstrm -lpthread
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
BPFTEST_SRCS := $(wildcard tests/bpf/test_*.c)
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(OUTPUT)/tests/%,$(BPFTEST_SRCS))

.DELETE_ON_ERROR:
# Keep .bpf.o between builds: they are intermediate to the skeletons.
.SECONDARY:
PREFLIGHTS := preflight-lib preflight-agent preflight-collector preflight-tests preflight-fuzz
.PHONY: all lib agent collector deps $(PREFLIGHTS) test test-unit test-bpf test-e2e test-fuzz run bench \
	fuzz clean

# Every program.
all: lib agent collector
lib: $(LIBDV)
agent: $(OUTPUT)/dnsvigil
collector: $(OUTPUT)/dnsvigil-collector

deps:
	$(Q)scripts/deps.sh

# make run, test and bench install packages first. Every output directory waits for that, and
# every build step for its directory, so that under -j nothing compiles before they are in.
SETUP := $(if $(filter run test bench,$(MAKECMDGOALS)),deps)

$(OUTPUT) $(OUTPUT)/lib $(OUTPUT)/proto $(OUTPUT)/agent $(OUTPUT)/collector $(OUTPUT)/tests $(OUTPUT)/resolver $(OUTPUT)/fuzz-corpus \
		$(OUTPUT)/fuzz-corpus-pb $(OUTPUT)/fuzz-corpus-intel: \
		| $(SETUP)
	$(Q)mkdir -p $@

# Each build step first names the tools and libraries it lacks; this installs nothing.
$(PREFLIGHTS): | $(SETUP)
	$(Q)CC='$(CC)' AR='$(AR)' CLANG='$(CLANG)' BPFTOOL='$(BPFTOOL)' \
		scripts/check-deps.sh $(@:preflight-%=%)

$(OUTPUT)/vmlinux.h: $(VMLINUX_H) | $(OUTPUT) preflight-agent
	$(call msg,GEN,$@)
	$(Q)if [ -n '$(VMLINUX_H)' ]; then cp '$(VMLINUX_H)' $@; \
	elif [ -r $(VMLINUX_BTF) ]; then $(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@; \
	elif [ -r $(VMLINUX_FALLBACK) ]; then cp $(VMLINUX_FALLBACK) $@; \
	else printf '%s\n' "no vmlinux.h for $(ARCH): no $(VMLINUX_BTF) and no $(VMLINUX_FALLBACK)." \
		"  Name one:  make VMLINUX_H=path/to/vmlinux.h" \
		"  or make the committed one on an $(ARCH) machine whose kernel has BTF:" \
		"  bpftool btf dump file /sys/kernel/btf/vmlinux format c > $(VMLINUX_FALLBACK)" >&2; \
		exit 1; fi

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

# protoc-c writes both files in one run; the header is made with the .c.
$(PROTO_C): proto/dnsvigil.proto | $(OUTPUT)/proto preflight-lib
	$(call msg,PROTOC,$@)
	$(Q)protoc-c --c_out=$(OUTPUT)/proto --proto_path=proto $<

$(PROTO_H): $(PROTO_C)

$(DNSTAP_C): proto/dnstap.proto | $(OUTPUT)/proto preflight-collector
	$(call msg,PROTOC,$@)
	$(Q)protoc-c --c_out=$(OUTPUT)/proto --proto_path=proto $<

$(DNSTAP_H): $(DNSTAP_C)

$(OUTPUT)/proto/dnstap.pb-c.o: $(DNSTAP_C) $(DNSTAP_H)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# protoc-c's INIT macros leave the braces of oneof unions out.
$(OUTPUT)/proto/dnsvigil.pb-c.o $(OUTPUT)/lib/event_pb.o: CFLAGS += -Wno-missing-braces

$(OUTPUT)/proto/dnsvigil.pb-c.o: $(PROTO_C) $(PROTO_H)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# Every lib object depends on the generated header: the ones that include it need it first.
$(OUTPUT)/lib/%.o: lib/%.c $(wildcard lib/*.h) $(PROTO_H) | $(OUTPUT)/lib preflight-lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

# The DGA score's character model, trained at build time on the committed benign names
# (scripts/gen-dga-data.py made them from Debian's archive).
DGA_TRAIN := data/dga/benign-train.txt
$(OUTPUT)/gen-dga-model: scripts/gen-dga-model.c lib/dgamodel.h lib/dgascore.h | $(OUTPUT) preflight-lib
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lm -o $@

$(OUTPUT)/dgamodel_table.h: $(OUTPUT)/gen-dga-model $(DGA_TRAIN)
	$(call msg,GEN,$@)
	$(Q)$(OUTPUT)/gen-dga-model $(DGA_TRAIN) > $@

$(OUTPUT)/lib/dgascore.o: $(OUTPUT)/dgamodel_table.h

$(LIBDV): $(LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && $(AR) rcs $@ $^

$(OUTPUT)/agent/%.o: agent/%.c $(wildcard lib/*.h) $(wildcard agent/*.h) $(wildcard bpf/*.h) $(SKELS) \
		| $(OUTPUT)/agent preflight-agent
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/dnsvigil: $(AGENT_OBJS) $(LIBDV)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LDLIBS) -o $@

$(OUTPUT)/collector/%.o: collector/%.c $(wildcard lib/*.h) $(wildcard collector/*.h) $(PROTO_H) \
		$(DNSTAP_H) | $(OUTPUT)/collector preflight-collector
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Icollector -c $< -o $@

$(OUTPUT)/dnsvigil-collector: $(COLLECTOR_OBJS) $(LIBDV)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(COLLECTOR_LDLIBS) -o $@

# A test links lib/ (libdnsvigil.a), cmocka and what its line here names: the agent objects it
# tests, those they call into, and their libraries. Unit tests never name libbpf or an object
# that needs it: they run without a kernel. A new tests/unit/test_foo.c of agent/foo.c adds
#   test_foo_LINK := foo.o
# and a test of lib/ alone (test_dns, test_json) needs no line, or only its libraries. A test
# of collector/foo.c names collector/foo.o.
test_activens_LINK := activens.o -lpthread
test_call_LINK := call.o
test_feed_LINK := -lz -ldeflate -lprotobuf-c
test_frame_LINK := -lz -ldeflate
test_tls_LINK := -lssl -lcrypto
test_regdom_LINK := -lpsl
test_dgascore_LINK := -lm
test_correlate_LINK := correlate.o correlate_bypass.o correlate_flux.o correlate_new.o \
	correlate_opts.o nsinfra.o pdns.o -lpsl -lsqlite3 -lm
test_pdns_LINK := pdns.o -lsqlite3 -ljansson
test_nsinfra_LINK := nsinfra.o pdns.o -lsqlite3 -lpsl
test_libc_LINK := libc.o proc.o -lelf
test_libwatch_LINK := libwatch.o libc.o proc.o -lelf
test_match_LINK := match.o
test_mountinfo_LINK := mountinfo.o
test_origin_LINK := origin.o
test_proc_LINK := proc.o
test_sockscan_LINK := sockscan.o mountinfo.o proc.o
test_spool_LINK := spool.o -lz
test_ship_LINK := ship.o spool.o -lz -ldeflate -lprotobuf-c -lssl -lcrypto -lpthread
test_tcpre_LINK := tcpre.o
test_event_pb_LINK := -lprotobuf-c
test_wire_LINK := wire.o kernel_features.o uprobe_multi.o mountinfo.o
# capture, the pipeline and the stages the agent runs, without the kernel side
PIPELINE_LINK := capture.o chunks.o tcpre.o call.o pipeline.o stage_owner.o stage_match.o \
	match.o stage_origin.o origin.o stage_proc.o proc.o stage_correlate.o correlate.o \
	correlate_bypass.o correlate_flux.o correlate_new.o activens.o nsinfra.o pdns.o -lpsl \
	-lsqlite3 -lm
test_pipeline_LINK := $(PIPELINE_LINK)
test_json_contract_LINK := $(PIPELINE_LINK) -ljansson
test_journal_LINK := collector/journal.o collector/ofile.o collector/store.o collector/output.o \
	-lz -ldeflate -lprotobuf-c
test_objs = $(addprefix $(OUTPUT)/agent/,$(filter-out collector/%,$(filter %.o,$($(1)_LINK)))) \
	$(addprefix $(OUTPUT)/,$(filter collector/%.o,$($(1)_LINK)))
test_libs = $(filter -l%,$($(1)_LINK))

# From here on a prerequisite list may use $$* (the stem, here a test's name).
.SECONDEXPANSION:

$(OUTPUT)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $$(call test_objs,$$*) $(LIBDV) \
		| $(OUTPUT)/tests preflight-tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Icollector $< $(call test_objs,$*) $(LIBDV) $(call test_libs,$*) -lcmocka -o $@

# test_pb_unpack holds lib/pb_unpack.c to protobuf-c's unpack on a schema of every field type.
PB_TEST_C := $(OUTPUT)/tests/pb_unpack_test.pb-c.c
$(PB_TEST_C): tests/unit/pb_unpack_test.proto | $(OUTPUT)/tests preflight-lib
	$(call msg,PROTOC,$@)
	$(Q)protoc-c --c_out=$(OUTPUT)/tests --proto_path=tests/unit $<

$(OUTPUT)/tests/test_pb_unpack: tests/unit/test_pb_unpack.c $(PB_TEST_C) $(LIBDV) \
		| $(OUTPUT)/tests preflight-tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -I$(OUTPUT)/tests $< $(PB_TEST_C) $(LIBDV) -lprotobuf-c -lcmocka -o $@

# BPF tests load the programs through their skeletons, with libbpf.
$(OUTPUT)/tests/%: tests/bpf/%.c $(SKELS) $$(call test_objs,$$*) $(LIBDV) | $(OUTPUT)/tests preflight-tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< $(call test_objs,$*) $(LIBDV) $(call test_libs,$*) $(LDLIBS) -lcmocka -o $@

FUZZ_SECONDS ?= 60
# Seeded from the parser's unit fixtures, and with a message per canned RDATA of
# test_dns_rdata, which writes them. libFuzzer adds new inputs to the first directory only,
# so the fixtures stay as they are.
DNS_SRCS := lib/dns.c lib/dns_fmt.c lib/dns_rdata.c lib/dns_rdata_ext.c
FUZZ_CORPUS := $(OUTPUT)/fuzz-corpus tests/unit/data $(OUTPUT)/fuzz-corpus-rdata
$(OUTPUT)/fuzz-corpus-rdata: $(OUTPUT)/tests/test_dns_rdata
	$(Q)rm -rf $@ && mkdir -p $@ && DNS_RDATA_SEEDS=$@ $< >/dev/null 2>&1
$(OUTPUT)/fuzz_dns: tests/fuzz/fuzz_dns.c $(DNS_SRCS) $(wildcard lib/*.h) | $(OUTPUT) preflight-fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
		tests/fuzz/fuzz_dns.c $(DNS_SRCS) -o $@

# The collector's Event decoder, with the renderer and the encoder it round-trips through,
# seeded with an encoded event of each type (tests/fuzz/event-pb).
FUZZ_PB_SRCS := tests/fuzz/fuzz_event_pb.c lib/event_pb.c lib/pb_unpack.c lib/event.c lib/event_json.c lib/json.c \
	$(DNS_SRCS) lib/stats.c lib/log.c $(PROTO_C)
$(OUTPUT)/fuzz_event_pb: $(FUZZ_PB_SRCS) $(wildcard lib/*.h) $(PROTO_H) | $(OUTPUT) preflight-fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -I$(OUTPUT) -Ilib \
		$(FUZZ_PB_SRCS) -lprotobuf-c -o $@

FUZZ_PB_CORPUS := $(OUTPUT)/fuzz-corpus-pb tests/fuzz/event-pb

# The intel loader (RPZ, plain lists, ThreatFox CSV) and its matching, seeded with one file of
# each format (tests/fuzz/intel).
FUZZ_INTEL_SRCS := tests/fuzz/fuzz_intel.c lib/intel.c lib/intel_file.c lib/intel_list.c \
	lib/intel_rpz.c lib/table.c lib/hash.c lib/log.c lib/io.c lib/json.c
$(OUTPUT)/fuzz_intel: $(FUZZ_INTEL_SRCS) $(wildcard lib/*.h) | $(OUTPUT) preflight-fuzz
	$(call msg,FUZZ-CC,$@)
	$(Q)$(CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Ilib \
		$(FUZZ_INTEL_SRCS) -o $@

FUZZ_INTEL_CORPUS := $(OUTPUT)/fuzz-corpus-intel tests/fuzz/intel

test: deps test-unit test-bpf test-fuzz test-e2e

test-unit: $(UNIT_BINS)
	$(Q)scripts/run-tests.sh unit $(UNIT_BINS)

test-bpf: $(BPFTEST_BINS)
	$(Q)scripts/run-tests.sh bpf $(BPFTEST_BINS)

test-fuzz: $(OUTPUT)/fuzz_dns $(OUTPUT)/fuzz_event_pb $(OUTPUT)/fuzz_intel \
		$(OUTPUT)/fuzz-corpus-rdata \
		| $(OUTPUT)/fuzz-corpus $(OUTPUT)/fuzz-corpus-pb $(OUTPUT)/fuzz-corpus-intel
	$(Q)$(OUTPUT)/fuzz_dns -max_total_time=10 -max_len=4096 $(FUZZ_CORPUS) 2>$(OUTPUT)/fuzz.log \
		|| { tail -40 $(OUTPUT)/fuzz.log; exit 1; }
	$(Q)$(OUTPUT)/fuzz_event_pb -max_total_time=5 -max_len=4096 $(FUZZ_PB_CORPUS) \
		2>$(OUTPUT)/fuzz-pb.log || { tail -40 $(OUTPUT)/fuzz-pb.log; exit 1; }
	$(Q)$(OUTPUT)/fuzz_intel -max_total_time=5 -max_len=4096 -timeout=5 -close_fd_mask=2 \
		$(FUZZ_INTEL_CORPUS) 2>$(OUTPUT)/fuzz-intel.log && echo "fuzz: 3 passed, 0 failed" \
		|| { tail -40 $(OUTPUT)/fuzz-intel.log; exit 1; }

# The collector tests' and benchmark's feed generator (tests/collector/feedtool.c).
$(OUTPUT)/feedtool: tests/collector/feedtool.c tests/unit/samples.h $(LIBDV) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $< $(LIBDV) -lz -ldeflate -lprotobuf-c -lssl -lcrypto -lcmocka -o $@

# The resolver-call e2e's test program, against glibc and against musl.
RESOLVER_CALLS := $(OUTPUT)/resolver/calls $(OUTPUT)/resolver/calls-musl
$(OUTPUT)/resolver/calls: tests/resolver/calls.c | $(OUTPUT)/resolver
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -lresolv -o $@

$(OUTPUT)/resolver/calls-musl: tests/resolver/calls.c | $(OUTPUT)/resolver
	$(call msg,MUSL-CC,$@)
	$(Q)musl-gcc -O2 -g -std=gnu11 -D_GNU_SOURCE -Wall -Wextra -Werror $< -o $@

# The resolver-call benchmark's workload (scripts/bench-resolver.sh).
$(OUTPUT)/resolver/gai-loop: tests/resolver/gai_loop.c | $(OUTPUT)/resolver
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# Every suite runs even when one fails, so that one run shows every failure.
test-e2e: $(OUTPUT)/dnsvigil $(RESOLVER_CALLS) $(OUTPUT)/dnsvigil-collector $(OUTPUT)/feedtool
	$(Q)rc=0; tests/e2e/run.sh $(OUTPUT) || rc=1; tests/e2e/resolver.sh $(OUTPUT) || rc=1; \
		tests/e2e/collector.sh $(OUTPUT) || rc=1; tests/e2e/feed.sh $(OUTPUT) || rc=1; \
		tests/e2e/hier.sh $(OUTPUT) || rc=1; tests/e2e/rrtypes.sh $(OUTPUT) || rc=1; exit $$rc

fuzz: $(OUTPUT)/fuzz_dns $(OUTPUT)/fuzz-corpus-rdata | $(OUTPUT)/fuzz-corpus
	$(OUTPUT)/fuzz_dns -max_total_time=$(FUZZ_SECONDS) -max_len=65535 $(FUZZ_CORPUS)

run: deps $(OUTPUT)/dnsvigil
	$(OUTPUT)/dnsvigil --pretty --jsonl $(OUTPUT)/events.jsonl

$(OUTPUT)/bench_dns: tests/bench/bench_dns.c $(DNS_SRCS) $(wildcard lib/*.h) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) tests/bench/bench_dns.c $(DNS_SRCS) -o $@

$(OUTPUT)/bench_match: tests/bench/bench_match.c $(OUTPUT)/agent/match.o $(LIBDV) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -o $@

$(OUTPUT)/bench_pipeline: tests/bench/bench_pipeline.c $(call test_objs,PIPELINE) $(LIBDV) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(call test_libs,PIPELINE) -o $@

$(OUTPUT)/bench_ship: tests/bench/bench_ship.c $(OUTPUT)/agent/ship.o $(OUTPUT)/agent/spool.o $(LIBDV) \
		| $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lz -ldeflate -lprotobuf-c -lssl -lcrypto -lpthread -o $@

# What a system call, a context switch and a cache miss cost here (scripts/bench.sh, step 0).
$(OUTPUT)/bench_machine: tests/bench/bench_machine.c lib/clock.h | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $< -o $@

# Threat intel: 1 M generated indicators in a temporary directory, loaded and looked up.
$(OUTPUT)/bench_intel: tests/bench/bench_intel.c $(LIBDV) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lm -o $@

$(OUTPUT)/bench_pdns: tests/bench/bench_pdns.c $(OUTPUT)/agent/pdns.o $(OUTPUT)/agent/nsinfra.o \
		$(LIBDV) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) $^ -lsqlite3 -lpsl -o $@

# The DGA score on the committed lists (data/dga): the threshold rule on the validation
# names, then the benign test names and DGA samples at the threshold.
$(OUTPUT)/bench_dga: tests/bench/bench_dga.c $(LIBDV) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit $^ -lm -o $@

bench: deps $(OUTPUT)/dnsvigil $(OUTPUT)/bench_dns $(OUTPUT)/bench_machine $(OUTPUT)/bench_match \
       $(OUTPUT)/bench_pipeline $(OUTPUT)/bench_ship $(OUTPUT)/bench_intel $(OUTPUT)/bench_pdns $(OUTPUT)/bench_dga \
       $(OUTPUT)/resolver/gai-loop $(OUTPUT)/dnsvigil-collector $(OUTPUT)/feedtool
	$(Q)scripts/bench.sh $(OUTPUT)
	$(Q)scripts/bench-resolver.sh $(OUTPUT)
	$(Q)scripts/bench-collector.sh $(OUTPUT)
	$(Q)$(OUTPUT)/bench_match
	$(Q)$(OUTPUT)/bench_pipeline
	$(Q)$(OUTPUT)/bench_ship
	$(Q)$(OUTPUT)/bench_intel $(OUTPUT)/bench-intel
	$(Q)$(OUTPUT)/bench_pipeline $(OUTPUT)/bench-intel; rc=$$?; rm -rf $(OUTPUT)/bench-intel; exit $$rc
	$(Q)$(OUTPUT)/bench_pdns $(OUTPUT)
	$(Q)$(OUTPUT)/bench_dga data/dga

clean:
	rm -rf $(OUTPUT)
