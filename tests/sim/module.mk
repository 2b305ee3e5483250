# SPDX-License-Identifier: MIT
# tests/sim: every test of the simulator and of xvbd on it; sim/module.mk
# builds the simulator itself (libraries, core, xvb-simd, xvb-sim).
#
#   sim_core, sim_dm, sim_dropin: the simulator through its own API, a
#     device model on the real libxen API served by our libraries in the
#     same process, and a child linked against Debian's libraries run on
#     ours (with-sim-libs sets LD_LIBRARY_PATH);
#   sim_e2e_*: xvb-sim, the simulated guest, driving the real xvbd;
#   xvbd_life: xvbd's lifecycle (many devices, malformed nodes, kill -9,
#     domid reuse); xvbd_ops: xvbd as an operator meets it (startup
#     failures, xvbd.conf, SIGHUP, a second supervisor, image locks);
#   sim_<script>: the hostile-guest scripts (*.xvbs), one job each, and
#     xvbd_hostile for what a script cannot express (several vCPUs, rings
#     rewritten while read, other guests, worker killed mid-I/O with the
#     data-integrity oracle, 100 guests destroyed mid-I/O, a xenstore watch
#     storm, a read-only disk, a NIC fed hostile frames); sim_negated proves
#     the checks fail when they should. See docs/security.md.

SIM_TEST_T := $(O)/tests/sim
# The simulator's headers, the test library's, and for xvbd_* the guest's
# drivers (sim/guest, guest/).
EXTRA_CFLAGS_tests/sim := $(SIM_CFLAGS) -I. -Itests/lib -Iguest -Isim/guest
ALL_OBJS += $(call objs,$(wildcard tests/sim/*.c))

$(SIM_TEST_T)/sim_core: $(SIM_TEST_T)/sim_core.o $(SIM_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ -lpthread

$(SIM_TEST_T)/sim_dm: $(SIM_TEST_T)/sim_dm.o $(SIM_TEST_T)/tdm.o $(SIM_A) $(T_A) $(SIM_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $(SIM_TEST_T)/sim_dm.o $(SIM_TEST_T)/tdm.o $(SIM_A) $(T_A) \
		$(filter-out $(SIM_TOOLCORE),$(SIM_LIBS)) $(SIM_TOOLCORE) \
		-Wl,-rpath,'$$ORIGIN/../../sim/lib' -lpthread

$(SIM_TEST_T)/sim_dropin: $(SIM_TEST_T)/sim_dropin.o $(SIM_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ -lpthread

# Linked against the system's (Debian's) libraries, every symbol bound at load.
$(SIM_TEST_T)/dropin_dm: $(SIM_TEST_T)/dropin_dm.o $(SIM_TEST_T)/tdm.o
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -Wl,-z,now -o $@ $^ $(XEN_LIBS) -ldl -lpthread

SIM_TESTS := $(SIM_TEST_T)/sim_core $(SIM_TEST_T)/sim_dm $(SIM_TEST_T)/sim_dropin \
	$(SIM_TEST_T)/dropin_dm
SIM_CHECK_JOBS := sim_core:$(SIM_TEST_T)/sim_core sim_dm:$(SIM_TEST_T)/sim_dm \
	sim_dropin:tests/sim/with-sim-libs@$(SIM_LIBDIR)@$(SIM_TEST_T)/sim_dropin
.PHONY: sim-check
sim: $(SIM_TESTS)
sim-check: sim
	$(Q)TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_LOGDIR=$(O)/test-logs tests/run-tests $(SIM_CHECK_JOBS)

ALL_TARGETS += $(SIM_TESTS)
CHECK_JOBS += $(SIM_CHECK_JOBS)

ifneq ($(XVBD),)
# The end-to-end runs: libxl's nodes, state 1 -> 2, guest I/O verified,
# teardown 5 -> 6, and nothing left mapped, bound or open.
CHECK_JOBS += sim_e2e_1vcpu:$(XVB_SIM)@-q@--vcpus@1
CHECK_JOBS += sim_e2e_4vcpu:$(XVB_SIM)@-q@--vcpus@4@--disks@2
# Four request queues on xvda, each driven from its own vCPU at once.
CHECK_JOBS += sim_e2e_mq:$(XVB_SIM)@-q@--vcpus@4@--queues@4@--no-nic
# Four NIC queue pairs (VQ_PAIRS_SET): frames from each, flows spread over them.
CHECK_JOBS += sim_e2e_nic_mq:$(XVB_SIM)@-q@--vcpus@2@--nic-pairs@4

# The real xvbd supervisor under the simulator, through the xenstore route
# (xvbd_rig.c: the simulator, xvbd and a guest with its driver).
XVBD_RIG_LIBS := $(SIM_TEST_T)/xvbd_rig.o $(O)/sim/guest/blkdrv.o \
	$(O)/sim/guest/simbus.o $(SIM_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A) $(T_A)
XVBD_LIFE := $(SIM_TEST_T)/xvbd_life
XVBD_HOSTILE := $(SIM_TEST_T)/xvbd_hostile
XVBD_OPS := $(SIM_TEST_T)/xvbd_ops
XVBD_POLL := $(SIM_TEST_T)/xvbd_poll
XVBD_RNG := $(SIM_TEST_T)/xvbd_rng
XVBD_RIG_TESTS := $(XVBD_LIFE) $(XVBD_HOSTILE) $(XVBD_OPS) $(XVBD_POLL) $(XVBD_RNG)
$(XVBD_RIG_TESTS): %: %.o $(XVBD_RIG_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
ALL_TARGETS += $(XVBD_RIG_TESTS)
# virtio-console ports through xvbd (static mode), with the guest side of
# tests/unit/console_rig.h.
XVBD_CONSOLE := $(SIM_TEST_T)/xvbd_console
$(XVBD_CONSOLE): %: %.o $(CON_A) $(XVBD_RIG_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
ALL_TARGETS += $(XVBD_CONSOLE)
CHECK_JOBS += xvbd_console:$(XVBD_CONSOLE)
CHECK_JOBS += xvbd_life:$(XVBD_LIFE)
# A queue the guest polls (virtio_blk.poll_queues): no interrupt but the
# spec's, the other queue's interrupts intact.
CHECK_JOBS += xvbd_poll:$(XVBD_POLL)
# virtio-rng through every route, and its rate limit, under xvbd.
CHECK_JOBS += xvbd_rng:$(XVBD_RNG)
# xvbd as an operator meets it: startup failures, xvbd.conf, SIGHUP, locks.
CHECK_JOBS += xvbd_ops:$(XVBD_OPS)
# Hostile-guest scripts, one job each.
CHECK_JOBS += $(foreach f,$(wildcard tests/sim/*.xvbs),\
	sim_$(basename $(notdir $(f))):$(XVB_SIM)@-q@--script@$(f))
CHECK_JOBS += xvbd_hostile:$(XVBD_HOSTILE)
CHECK_JOBS += sim_negated:tests/sim/negated@$(XVB_SIM)
endif

# make check-hostile: the hostile-guest and fault suite alone (every
# tests/sim script, xvbd_hostile, sim_negated, xvbd_life, the fault unit
# tests, devices_hostile and the net-stack fault scenarios); HOSTILE_RUNS=N runs it N times
# in a row and stops at the first failing round; HOSTILE_SAN=1 runs it
# under ASan+UBSan in $(O)/asan instead (tests/san/run: any report fails).
HOSTILE_NAMES = $(patsubst %.xvbs,sim_%,$(notdir $(wildcard tests/sim/*.xvbs))) \
	xvbd_hostile sim_negated xvbd_life blk_fault blk_uring_fault net_fault \
	net_uring_fault devices_hostile net_stack_norx net_stack_taploss
HOSTILE_RUNS ?= 1
.PHONY: check-hostile
ifeq ($(HOSTILE_SAN),1)
check-hostile:
	$(Q)for i in $$(seq $(HOSTILE_RUNS)); do echo "hostile round $$i of $(HOSTILE_RUNS)"; \
		TEST_LOGDIR=$(O)/test-logs tests/san/run $(O)/asan address,undefined \
		"$(HOSTILE_NAMES)" || exit 1; done
else
check-hostile: all
	$(Q)for i in $$(seq $(HOSTILE_RUNS)); do echo "hostile round $$i of $(HOSTILE_RUNS)"; \
		TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_LOGDIR=$(O)/test-logs-hostile-$$i \
		tests/run-tests $(filter $(addsuffix :%,$(HOSTILE_NAMES)),$(CHECK_JOBS)) \
		|| exit 1; done
endif
