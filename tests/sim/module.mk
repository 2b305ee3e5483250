# SPDX-License-Identifier: MIT
# tests/sim: the hostile-guest suite beyond the scripts (which sim/module.mk
# runs, one job each): xvbd_hostile (several vCPUs, rings rewritten while
# read, other guests, worker killed mid-I/O with the data-integrity oracle,
# 100 guests destroyed mid-I/O, a xenstore watch storm, a read-only disk, a
# NIC fed hostile frames), and sim_negated, which proves the checks fail
# when they should. See docs/security.md.

ifneq ($(XVBD),)
XVBD_HOSTILE := $(SIM_TEST_T)/xvbd_hostile
$(XVBD_HOSTILE): $(SIM_TEST_T)/xvbd_hostile.o $(SIM_TEST_T)/xvbd_rig.o \
		$(O)/sim/guest/blkdrv.o \
		$(O)/sim/guest/simbus.o $(SIM_A) \
		$(GUEST_A) $(VIRTIO_A) $(LIB_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
ALL_TARGETS += $(XVBD_HOSTILE)
CHECK_JOBS += xvbd_hostile:$(XVBD_HOSTILE)
CHECK_JOBS += sim_negated:tests/sim/negated@$(XVB_SIM)
endif

# make check-hostile: the hostile-guest and fault suite alone (every
# tests/sim script, xvbd_hostile, sim_negated, xvbd_life, the fault unit
# tests and the net-stack fault scenarios); HOSTILE_RUNS=N runs it N times
# in a row and stops at the first failing round; HOSTILE_SAN=1 runs it
# under ASan+UBSan in $(O)/asan instead (tests/san/run: any report fails).
HOSTILE_NAMES = $(patsubst %.xvbs,sim_%,$(notdir $(wildcard tests/sim/*.xvbs))) \
	xvbd_hostile sim_negated xvbd_life blk_fault blk_uring_fault net_fault \
	net_uring_fault net_stack_norx net_stack_taploss
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
