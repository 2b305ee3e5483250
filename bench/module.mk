# SPDX-License-Identifier: MIT
# bench/: benchmarks. They print and save results ($(O)/bench/); they are
# not tests and `make check` does not run them.
#
#   make [O=dir] bench-blk [BENCH_ROUNDS=5] [BENCH_SECONDS=2] [BENCH_RAMP=0.5]
#        [BENCH_DIR=/dev/shm] [BENCH_SIZE_MIB=512] [BENCH_ONLY='4k randread QD32']
#        [BENCH_PERF=0]

BENCH_ROUNDS ?= 5
BENCH_SECONDS ?= 2
BENCH_RAMP ?= 0.5
BENCH_DIR ?= /dev/shm
BENCH_SIZE_MIB ?= 512
BENCH_ONLY ?=
BENCH_PERF ?= 1

.PHONY: bench-blk

# xvbd serving xvb-sim's load generator against fio on the same file.
# `all`, as for `run`: this fragment is read before sim/module.mk defines
# the simulator's targets.
bench-blk: all
	$(Q)scripts/install-deps --bench
	$(Q)python3 bench/blk-bench --sim $(O)/sim/xvb-sim --out $(O)/bench \
		--rounds $(BENCH_ROUNDS) --seconds $(BENCH_SECONDS) \
		--ramp $(BENCH_RAMP) --dir $(BENCH_DIR) \
		--size-mib $(BENCH_SIZE_MIB) \
		$(if $(BENCH_ONLY),--only '$(BENCH_ONLY)') \
		$(if $(filter 0,$(BENCH_PERF)),--no-perf)

bench: bench-blk
