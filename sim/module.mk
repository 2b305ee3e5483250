# SPDX-License-Identifier: MIT
# sim/: the simulated Xen. Drop-in libxen*.so with Debian 12's sonames and
# version nodes ($(O)/sim/lib), the simulator core archive, xvb-simd, and
# the simulated guest xvb-sim. Their tests: tests/sim/module.mk.

SIM_O := $(O)/sim
SIM_LIBDIR := $(SIM_O)/lib
# __XEN_TOOLS__: the toolstack view of the public headers (XENMEM_resource_*).
SIM_CFLAGS := -Isim/include -D__XEN_TOOLS__
EXTRA_CFLAGS_sim := $(SIM_CFLAGS)
EXTRA_CFLAGS_sim/core := $(SIM_CFLAGS)

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

# The simulator's tests, and those of xvbd on it, are tests/sim's
# (tests/sim/module.mk adds them to `sim` and defines `sim-check`).
SIM_ALL := $(SIM_LIBS) $(SIM_A) $(SIM_O)/xvb-simd
.PHONY: sim
sim: $(SIM_ALL)

ALL_TARGETS += $(SIM_ALL)
ALL_OBJS += $(call objs,$(SIM_CORE_SRCS) sim/simd.c)
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
endif
ALL_OBJS += $(call objs,$(wildcard sim/guest/*.c))
