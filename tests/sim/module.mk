# SPDX-License-Identifier: MIT
# tests/sim: the hostile-guest suite beyond the scripts (which sim/module.mk
# runs, one job each): xvbd_hostile (several vCPUs, rings rewritten while
# read, other guests, worker killed mid-I/O with the data-integrity oracle,
# 100 guests destroyed mid-I/O, a xenstore watch storm, a read-only disk, a
# NIC fed hostile frames), and sim_negated, which proves the checks fail
# when they should. See docs/security.md.

ifneq ($(XVBD),)
XVBD_HOSTILE := $(SIM_TEST_T)/xvbd_hostile
$(XVBD_HOSTILE): $(SIM_TEST_T)/xvbd_hostile.o $(O)/sim/guest/blkdrv.o \
		$(O)/sim/guest/simbus.o $(SIM_A) \
		$(FAKE_A) $(VIRTIO_A) $(LIB_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
ALL_TARGETS += $(XVBD_HOSTILE)
CHECK_JOBS += xvbd_hostile:$(XVBD_HOSTILE)
CHECK_JOBS += sim_negated:tests/sim/negated@$(XVB_SIM)
endif
