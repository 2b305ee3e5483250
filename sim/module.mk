# SPDX-License-Identifier: MIT
# sim/: the simulated Xen. Drop-in libxen*.so with Debian 12's sonames and
# version nodes ($(O)/sim/lib), the simulator core archive, xvb-simd, tests.

SIM_O := $(O)/sim
SIM_LIBDIR := $(SIM_O)/lib
# __XEN_TOOLS__: the toolstack view of the public headers (XENMEM_resource_*).
SIM_CFLAGS := -Isim/include -D__XEN_TOOLS__
EXTRA_CFLAGS_sim := $(SIM_CFLAGS)
EXTRA_CFLAGS_sim/core := $(SIM_CFLAGS)
EXTRA_CFLAGS_sim/tests := $(SIM_CFLAGS) -Itests/lib -Iguest

# Shared-library objects need -fPIC: their own tree and rule.
$(SIM_O)/pic/%.o: sim/%.c | $(DEPS_STAMP)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_BASE) $(CFLAGS_BASE) $(SIM_CFLAGS) -fPIC -c -o $@ $<

SIM_CLIENT_O := $(SIM_O)/pic/lib/client.o
SIM_TOOLCORE := $(SIM_LIBDIR)/libxentoolcore.so.1

# $(1) library name, $(2) soname version, $(3) objects, $(4) libraries it needs
define sim_lib
$(SIM_LIBDIR)/lib$(1).so.$(2): $(3) $(4) sim/lib/lib$(1).map
	$$(call say,LD,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CC) $$(LDFLAGS_BASE) -shared -Wl,-soname,lib$(1).so.$(2) \
		-Wl,--version-script=sim/lib/lib$(1).map -Wl,-z,defs \
		-o $$@ $(3) $(4) -lpthread
SIM_LIBS += $(SIM_LIBDIR)/lib$(1).so.$(2)
SIM_PIC_OBJS += $(3)
endef
SIM_LIBS :=
SIM_PIC_OBJS :=
$(eval $(call sim_lib,xentoolcore,1,$(SIM_O)/pic/lib/toolcore.o,))
$(eval $(call sim_lib,xenevtchn,1,$(SIM_O)/pic/lib/evtchn.o $(SIM_CLIENT_O),$(SIM_TOOLCORE)))
$(eval $(call sim_lib,xendevicemodel,1,$(SIM_O)/pic/lib/devicemodel.o $(SIM_CLIENT_O),$(SIM_TOOLCORE)))
$(eval $(call sim_lib,xenforeignmemory,1,$(SIM_O)/pic/lib/foreignmemory.o $(SIM_CLIENT_O),$(SIM_TOOLCORE)))
$(eval $(call sim_lib,xengnttab,1,$(SIM_O)/pic/lib/gnttab.o $(SIM_CLIENT_O),$(SIM_TOOLCORE)))
$(eval $(call sim_lib,xenstore,4,$(SIM_O)/pic/lib/xenstore.o $(SIM_CLIENT_O),$(SIM_TOOLCORE)))

# The simulator core, linked by xvb-simd and by guest programs.
SIM_CORE_SRCS := $(wildcard sim/core/*.c)
SIM_A := $(SIM_O)/libxvb-sim.a
$(eval $(call archive_rule,$(SIM_A),$(SIM_CORE_SRCS)))

$(SIM_O)/xvb-simd: $(O)/sim/simd.o $(SIM_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ -lpthread

# Tests. sim_core: the core API alone. sim_dm: a device model on the real
# libxen API served by our libraries in the same process. sim_dropin: a
# child linked against Debian's libraries, run on ours (LD_LIBRARY_PATH).
SIM_TEST_T := $(SIM_O)/tests
$(SIM_TEST_T)/sim_core: $(SIM_TEST_T)/sim_core.o $(SIM_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ -lpthread

$(SIM_TEST_T)/sim_dm: $(SIM_TEST_T)/sim_dm.o $(SIM_TEST_T)/tdm.o $(SIM_A) $(T_A) $(SIM_LIBS)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $(SIM_TEST_T)/sim_dm.o $(SIM_TEST_T)/tdm.o $(SIM_A) $(T_A) \
		$(filter-out $(SIM_TOOLCORE),$(SIM_LIBS)) $(SIM_TOOLCORE) \
		-Wl,-rpath,'$$ORIGIN/../lib' -lpthread

$(SIM_TEST_T)/sim_dropin: $(SIM_TEST_T)/sim_dropin.o $(SIM_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ -lpthread

# Linked against the system's (Debian's) libraries, every symbol bound at load.
$(SIM_TEST_T)/dropin_dm: $(SIM_TEST_T)/dropin_dm.o $(SIM_TEST_T)/tdm.o
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -Wl,-z,now -o $@ $^ $(XEN_LIBS) -ldl -lpthread

SIM_TESTS := $(SIM_TEST_T)/sim_core $(SIM_TEST_T)/sim_dm $(SIM_TEST_T)/sim_dropin \
	$(SIM_TEST_T)/dropin_dm
SIM_ALL := $(SIM_LIBS) $(SIM_A) $(SIM_O)/xvb-simd $(SIM_TESTS)
.PHONY: sim sim-check
sim: $(SIM_ALL)
sim-check: sim
	$(Q)TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_LOGDIR=$(O)/test-logs tests/run-tests $(SIM_CHECK_JOBS)

SIM_CHECK_JOBS := sim_core:$(SIM_TEST_T)/sim_core sim_dm:$(SIM_TEST_T)/sim_dm \
	sim_dropin:sim/tests/with-sim-libs@$(SIM_LIBDIR)@$(SIM_TEST_T)/sim_dropin

ALL_TARGETS += $(SIM_ALL)
CHECK_JOBS += $(SIM_CHECK_JOBS)
ALL_OBJS += $(call objs,$(SIM_CORE_SRCS) sim/simd.c $(wildcard sim/tests/*.c))
-include $(SIM_PIC_OBJS:.o=.d)

# xvb-sim: the simulated guest driving the real xvbd through the xenstore
# route. It finds ../xvbd and lib/ beside itself.
# xvb-sim is also an end-to-end test: the hang bound and procfs helpers of
# tests/lib (headers only) besides the guest side (guest/).
EXTRA_CFLAGS_sim/guest := -Isim/include -Itests/lib -Iguest
XVB_SIM := $(SIM_O)/xvb-sim
$(XVB_SIM): $(O)/sim/guest/xvb-sim.o $(O)/sim/guest/blkdrv.o \
		$(O)/sim/guest/script.o $(O)/sim/guest/netdrv.o \
		$(O)/sim/guest/simbus.o $(O)/sim/guest/netstack.o $(SIM_A) \
		$(GUEST_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

ifneq ($(XVBD),)
ALL_TARGETS += $(XVB_SIM)
# The end-to-end runs: libxl's nodes, state 1 -> 2, guest I/O verified,
# teardown 5 -> 6, and nothing left mapped, bound or open.
CHECK_JOBS += sim_e2e_1vcpu:$(XVB_SIM)@-q@--vcpus@1
CHECK_JOBS += sim_e2e_4vcpu:$(XVB_SIM)@-q@--vcpus@4@--disks@2
# Four request queues on xvda, each driven from its own vCPU at once.
CHECK_JOBS += sim_e2e_mq:$(XVB_SIM)@-q@--vcpus@4@--queues@4@--no-nic
# Four NIC queue pairs (VQ_PAIRS_SET): frames from each, flows spread over them.
CHECK_JOBS += sim_e2e_nic_mq:$(XVB_SIM)@-q@--vcpus@2@--nic-pairs@4
# xvbd's lifecycle: many devices, malformed nodes, kill -9, domid reuse.
XVBD_LIFE := $(SIM_TEST_T)/xvbd_life
$(XVBD_LIFE): $(SIM_TEST_T)/xvbd_life.o $(SIM_TEST_T)/xvbd_rig.o \
		$(O)/sim/guest/blkdrv.o \
		$(O)/sim/guest/simbus.o $(SIM_A) \
		$(GUEST_A) $(VIRTIO_A) $(LIB_A) $(T_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
ALL_TARGETS += $(XVBD_LIFE)
CHECK_JOBS += xvbd_life:$(XVBD_LIFE)
# Hostile-guest scripts, one job each (tests/sim/*.xvbs).
CHECK_JOBS += $(foreach f,$(wildcard tests/sim/*.xvbs),\
	sim_$(basename $(notdir $(f))):$(XVB_SIM)@-q@--script@$(f))
endif
ALL_OBJS += $(call objs,$(wildcard sim/guest/*.c))
