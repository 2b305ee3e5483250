# SPDX-License-Identifier: MIT
# bench/: benchmarks. They print and save results ($(O)/bench/); they are
# not tests and `make check` does not run them.
#
#   make [O=dir] bench-blk [BENCH_ROUNDS=5] [BENCH_SECONDS=2] [BENCH_RAMP=0.5]
#        [BENCH_DIR=/dev/shm] [BENCH_SIZE_MIB=512] [BENCH_ONLY='4k randread QD32']
#        [BENCH_PERF=0]
#   make [O=dir] bench-dev (the same knobs; DEV_BENCH_DIR=/var/tmp, not BENCH_DIR)

BENCH_ROUNDS ?= 5
BENCH_SECONDS ?= 2
BENCH_RAMP ?= 0.5
BENCH_DIR ?= /dev/shm
BENCH_SIZE_MIB ?= 512
BENCH_ONLY ?=
BENCH_PERF ?= 1

.PHONY: bench-blk bench-net bench-dev

# bench/devbench: the disk device model driven in-process by a fake guest,
# no transport (bench/README.md). Built by `all`; its smoke run (verified
# reads, under 2 s) is a check job.
DEVBENCH := $(O)/bench/devbench
EXTRA_CFLAGS_bench := -Itests/lib -Iguest
$(DEVBENCH): $(O)/bench/devbench.o $(REGISTRY_OBJ) $(DEVICE_AS) $(FAKE_A) \
		$(GUEST_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
# bench/devnet: the NIC's transmit path the same way, against a TAP written
# directly (root: a network namespace of its own).
DEVNET := $(O)/bench/devnet
$(DEVNET): $(O)/bench/devnet.o $(REGISTRY_OBJ) $(DEVICE_AS) $(FAKE_A) \
		$(GUEST_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
ALL_TARGETS += $(DEVBENCH) $(DEVNET)
ALL_OBJS += $(O)/bench/devbench.o $(O)/bench/devnet.o
# Every datagram checked, about 0.6 s; skips (77) without root.
CHECK_JOBS += devnet_smoke:$(DEVNET)@--verify@--seconds@0.2@--ramp@0.05
CHECK_JOBS += devbench_smoke:$(DEVBENCH)@--smoke

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

# The simulated guest's kernel TCP/IP through virtio-net, xvbd and its TAP
# against a veth pair between two namespaces (bench/net-bench). Needs root.
# NET_BENCH_SECONDS/NET_BENCH_RAMP: iperf3 -t/-O; BENCH_ONLY names workloads;
# NET_BENCH_SIM_ARGS goes to xvb-sim (e.g. --net-off mrg).
NET_BENCH_SECONDS ?= 3
NET_BENCH_RAMP ?= 1
NET_BENCH_SIM_ARGS ?=
bench-net: all
	$(Q)scripts/install-deps --bench
	$(Q)dpkg-query -W -f='$${Status}' iperf3 2>/dev/null | grep -q "ok installed" || \
		{ echo "bench-net: installing iperf3"; \
		  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends iperf3 || \
		  { apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq --no-install-recommends iperf3; }; }
	$(Q)python3 bench/net-bench --sim $(O)/sim/xvb-sim \
		--nettool $(O)/tests/net/nettool --out $(O)/bench \
		--rounds $(BENCH_ROUNDS) --seconds $(NET_BENCH_SECONDS) \
		--ramp $(NET_BENCH_RAMP) \
		$(if $(BENCH_ONLY),--only '$(BENCH_ONLY)') \
		$(if $(NET_BENCH_SIM_ARGS),--sim-args '$(NET_BENCH_SIM_ARGS)') \
		$(if $(filter 0,$(BENCH_PERF)),--no-perf)

# The device models alone (bench/devbench, bench/devnet: no transport)
# against fio on the same file and a TAP written directly. Not part of
# `make bench`'s default pair: run it on its own. Its file is in the page
# cache of a disk's file system by default: reads from it complete inline,
# where tmpfs (DEV_BENCH_DIR=/dev/shm) sends every read to io_uring's
# worker threads on both sides (bench/README.md).
DEV_BENCH_DIR ?= /var/tmp
bench-dev: all
	$(Q)scripts/install-deps --bench
	$(Q)python3 bench/dev-bench --devbench $(DEVBENCH) --devnet $(DEVNET) \
		--out $(O)/bench \
		--rounds $(BENCH_ROUNDS) --seconds $(BENCH_SECONDS) \
		--ramp $(BENCH_RAMP) --dir $(DEV_BENCH_DIR) \
		--size-mib $(BENCH_SIZE_MIB) \
		$(if $(BENCH_ONLY),--only '$(BENCH_ONLY)') \
		$(if $(filter 0,$(BENCH_PERF)),--no-perf)

bench: bench-blk bench-net
