# SPDX-License-Identifier: GPL-2.0-only
# pybpf-prof: build, tests and benchmarks. `make help` lists the targets.

OUTPUT ?= .output
CLANG ?= clang
CC ?= cc
BPFTOOL ?= $(shell command -v bpftool 2>/dev/null || echo /usr/sbin/bpftool)
LLVM_STRIP ?= llvm-strip
ARCH := $(shell uname -m | sed 's/x86_64/x86/' | sed 's/aarch64/arm64/')
VMLINUX_BTF ?= /sys/kernel/btf/vmlinux
PYTHON ?= /usr/bin/python3

WARN := -Wall -Wextra -Werror
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -D_GNU_SOURCE $(WARN) -Iinclude -Iuser -I$(OUTPUT)
LIBS := $(shell pkg-config --libs libbpf libelf zlib 2>/dev/null || echo -lbpf -lelf -lz)
SANITIZE := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all

# clang's own include dirs for BPF, so <asm/...> resolves (libbpf-bootstrap's trick).
CLANG_BPF_SYS_INCLUDES ?= $(shell $(CLANG) -v -E - </dev/null 2>&1 \
	| sed -n '/<...> search starts here:/,/End of search list./{ s| \(/.*\)|-idirafter \1|p }')
# libbpf's BPF_PROG/BPF_USDT macros declare a ctx parameter each program may not use.
BPF_CFLAGS := -g -O2 -target bpf -D__TARGET_ARCH_$(ARCH) $(WARN) -Wno-unused-parameter \
	-Iinclude -I$(OUTPUT) \
	$(CLANG_BPF_SYS_INCLUDES)

BPF_SRCS := $(wildcard bpf/*.bpf.c)
SKELS := $(patsubst bpf/%.bpf.c,$(OUTPUT)/%.skel.h,$(BPF_SRCS))
USER_SRCS := $(wildcard user/*.c)
LIB_SRCS := $(filter-out user/main.c,$(USER_SRCS))
LIB_OBJS := $(patsubst user/%.c,$(OUTPUT)/%.o,$(LIB_SRCS))
ASAN_OBJS := $(patsubst user/%.c,$(OUTPUT)/asan/%.o,$(LIB_SRCS))
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/%,$(UNIT_SRCS))
UNIT_ASAN_BINS := $(patsubst tests/unit/%.c,$(OUTPUT)/tests/asan/%,$(UNIT_SRCS))

ifeq ($(V),1)
Q =
msg =
else
Q = @
msg = @printf '  %-8s %s\n' "$(1)" "$(2)";
endif

.PHONY: all clean deps test check unit unit-asan integration integration-full provision \
	bench example help vmlinux fuzz fuzz-build fuzz-short soak
.DELETE_ON_ERROR:
.SECONDARY:

all: pybpf-prof

help:
	@echo 'make deps         install build, test and runtime dependencies (apt-get, idempotent)'
	@echo 'make              build ./pybpf-prof'
	@echo 'make example      deps + build + profile the bundled example workload'
	@echo 'make test         deps + build + unit tests (plain and ASan/UBSan) + short fuzzing + root integration tests'
	@echo 'make check        unit tests only (no root needed)'
	@echo 'make bench        overhead benchmarks: exact tracing, sampling with its peers, --all-python (root)'
	@echo 'make fuzz         libFuzzer on every parser of untrusted input, FUZZ_SECONDS (60) each (clang)'
	@echo 'make fuzz-short   the same for FUZZ_SHORT_SECONDS (10) each: the pass make test runs'
	@echo 'make fuzz-build   build the fuzzing harnesses into $(OUTPUT)/fuzz/ only'
	@echo 'make soak         SOAK_SECONDS (3600) of -p --duration rounds against busy targets: exact counts, flat memory, no leftovers (root; not in make test)'

deps:
	$(Q)scripts/install-deps.sh

$(OUTPUT) $(OUTPUT)/asan $(OUTPUT)/tests $(OUTPUT)/tests/asan:
	$(Q)mkdir -p $@

# vmlinux.h from the running kernel's BTF, or the committed copy.
$(OUTPUT)/vmlinux.h: | $(OUTPUT)
	$(call msg,GEN,$@)
	$(Q)if [ -r $(VMLINUX_BTF) ]; then $(BPFTOOL) btf dump file $(VMLINUX_BTF) format c > $@; \
	elif [ -r vmlinux/vmlinux.h ]; then cp vmlinux/vmlinux.h $@; \
	else echo "pybpf-prof: no kernel BTF at $(VMLINUX_BTF) and no vmlinux/vmlinux.h; set VMLINUX_BTF" >&2; exit 1; fi

vmlinux: $(OUTPUT)/vmlinux.h
	$(Q)cp $< vmlinux/vmlinux.h

$(OUTPUT)/%.bpf.o: bpf/%.bpf.c $(wildcard bpf/*.h) $(wildcard include/*.h) $(OUTPUT)/vmlinux.h | $(OUTPUT)
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $(@:.o=.tmp.o)
	$(Q)$(BPFTOOL) gen object $@ $(@:.o=.tmp.o)
	$(Q)rm -f $(@:.o=.tmp.o)

$(OUTPUT)/%.skel.h: $(OUTPUT)/%.bpf.o
	$(call msg,GEN-SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< > $@

$(OUTPUT)/%.o: user/%.c $(wildcard user/*.h) $(wildcard include/*.h) $(SKELS) | $(OUTPUT)
	$(call msg,CC,$@)
	$(Q)$(CC) $(CFLAGS) -c $< -o $@

$(OUTPUT)/asan/%.o: user/%.c $(wildcard user/*.h) $(wildcard include/*.h) $(SKELS) | $(OUTPUT)/asan
	$(call msg,CC-ASAN,$@)
	$(Q)$(CC) $(CFLAGS) $(SANITIZE) -c $< -o $@

pybpf-prof: $(OUTPUT)/main.o $(LIB_OBJS)
	$(call msg,LINK,$@)
	$(Q)$(CC) $(CFLAGS) $^ $(LIBS) -o $@

# Unit tests: one cmocka binary per tests/unit/test_*.c, linked with every
# module but main; fixtures are built by tests/unit/fixtures.mk.
include tests/unit/fixtures.mk

$(OUTPUT)/tests/%: tests/unit/%.c $(LIB_OBJS) $(FIXTURES) | $(OUTPUT)/tests
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CFLAGS) -Itests/unit -DFIXTURE_DIR='"$(abspath $(FIXTURE_DIR))"' $< $(LIB_OBJS) $(LIBS) -lcmocka -o $@

$(OUTPUT)/tests/asan/%: tests/unit/%.c $(ASAN_OBJS) $(FIXTURES) | $(OUTPUT)/tests/asan
	$(call msg,TEST-CC,$@)
	$(Q)$(CC) $(CFLAGS) $(SANITIZE) -Itests/unit -DFIXTURE_DIR='"$(abspath $(FIXTURE_DIR))"' $< $(ASAN_OBJS) $(LIBS) -lcmocka -o $@

unit: $(UNIT_BINS)
	$(Q)set -e; for t in $^; do echo "== $$t"; $$t; done

unit-asan: $(UNIT_ASAN_BINS)
	$(Q)set -e; for t in $^; do echo "== $$t (ASan/UBSan)"; $$t; done

check: unit unit-asan

# Fuzzing: one libFuzzer harness per parser of untrusted input (tests/fuzz/fuzz_<name>.c),
# linked with every module but main built for coverage and ASan/UBSan, run for FUZZ_SECONDS
# on a copy of tests/fuzz/corpus/<name>/. Any crash, leak, timeout or report fails the target.
FUZZ_SECONDS ?= 60
FUZZ_DIR := $(OUTPUT)/fuzz
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_BINS := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_NAMES))
FUZZ_OBJS := $(patsubst user/%.c,$(FUZZ_DIR)/obj/%.o,$(LIB_SRCS))
FUZZ_CFLAGS := -O1 -g -fno-omit-frame-pointer -fno-sanitize-recover=all -std=c11 -D_GNU_SOURCE \
	$(WARN) -Iinclude -Iuser -I$(OUTPUT)

$(FUZZ_DIR)/obj:
	$(Q)mkdir -p $@

$(FUZZ_DIR)/obj/%.o: user/%.c $(wildcard user/*.h) $(wildcard include/*.h) $(SKELS) | $(FUZZ_DIR)/obj
	$(call msg,CC-FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link,address,undefined -c $< -o $@

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(wildcard tests/fuzz/*.h) $(FUZZ_OBJS)
	$(call msg,FUZZ-LD,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer,address,undefined $< $(FUZZ_OBJS) $(LIBS) -o $@

fuzz-build: $(FUZZ_BINS)

# -close_fd_mask=3: the option parser prints usage; libFuzzer keeps its own stderr for reports.
fuzz: fuzz-build
	$(Q)set -e; for n in $(FUZZ_NAMES); do \
		rm -rf $(FUZZ_DIR)/corpus/$$n; mkdir -p $(FUZZ_DIR)/corpus/$$n $(FUZZ_DIR)/artifacts; \
		cp tests/fuzz/corpus/$$n/* $(FUZZ_DIR)/corpus/$$n/; \
		echo "== fuzz_$$n ($(FUZZ_SECONDS) s)"; \
		$(FUZZ_DIR)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
			-max_len=65536 -close_fd_mask=3 -print_final_stats=1 \
			-artifact_prefix=$(FUZZ_DIR)/artifacts/$$n- $(FUZZ_DIR)/corpus/$$n \
			>$(FUZZ_DIR)/$$n.log 2>&1 || { tail -n 80 $(FUZZ_DIR)/$$n.log; exit 1; }; \
		grep -E '^(Done|stat::)' $(FUZZ_DIR)/$$n.log; \
	done

# The short pass of make test (and so of CI): every harness for FUZZ_SHORT_SECONDS.
FUZZ_SHORT_SECONDS ?= 10
fuzz-short:
	$(Q)$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(FUZZ_SHORT_SECONDS)

# Test interpreters: bullseye python3.9, and a sid chroot with 3.13, 3.14 and 3.15
# (3.9 and 3.15 have working probes; pyenv's and the host's come with the machine).
provision:
	$(Q)tests/provision.sh

integration: pybpf-prof provision
	$(Q)$(PYTHON) -m pytest -q -p no:cacheprovider tests/integration

test: deps
	$(Q)$(MAKE) --no-print-directory all check fuzz-short integration

# The soak run (not part of make test): tests/soak.py's docstring lists its checks and knobs
# (SOAK_ROUND_SECONDS, SOAK_THREADS, SOAK_BATCH, SOAK_RSS_TOLERANCE_KB, ... from the environment).
SOAK_SECONDS ?= 3600
soak: pybpf-prof provision
	$(Q)SOAK_SECONDS=$(SOAK_SECONDS) $(PYTHON) tests/soak.py

# Austin (a peer of the sampling mode) is optional: without it its rows say n/a.
bench: pybpf-prof provision
	$(Q)command -v bpftrace >/dev/null || apt-get install -y -q bpftrace >/dev/null || \
		echo 'bench: no bpftrace: its rows will say n/a'
	$(Q)status=0; $(PYTHON) tests/bench.py || status=1; \
	tests/provision.sh austin || echo 'bench: no Austin in the sid chroot: its rows will say n/a'; \
	$(PYTHON) tests/bench_sample.py || status=1; \
	$(PYTHON) tests/bench_allpython.py || status=1; exit $$status

# The host's Python (Debian 3.11) has no usable entry probe: the example first
# uses Debian bullseye's python3.9, whose probes fire (tests/provision.sh
# fetches it), then the host's Python with the eval-frame backend, then samples it.
example: deps
	$(Q)$(MAKE) --no-print-directory all
	$(Q)tests/provision.sh bullseye
	$(Q)eval "$$(tests/provision.sh --print-env --no-provision)"; \
	./pybpf-prof --limit 15 -o $(OUTPUT)/example.prof -- "$$PYBPF_PY39" examples/workload.py
	@echo; echo '== The same workload on the host Python, with the eval-frame backend and --latency:'
	$(Q)./pybpf-prof --backend evalframe --latency --limit 5 -- /usr/bin/python3 examples/workload.py
	@echo; echo '== Sampling it instead (--sample: low overhead, for production), with a flame graph:'
	$(Q)./pybpf-prof --sample --hz 999 --limit 5 --flamegraph $(OUTPUT)/example.svg \
		-- /usr/bin/python3 examples/workload.py
	@echo "(flame graph: $(OUTPUT)/example.svg)"

clean:
	$(call msg,CLEAN)
	$(Q)rm -rf $(OUTPUT) pybpf-prof
