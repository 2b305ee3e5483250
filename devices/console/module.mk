# SPDX-License-Identifier: MIT
# devices/console: virtio-console with named ports, each a UNIX socket in
# dom0. Its archive (with its registry entry, type.c) and its unit tests,
# tests/unit/console_*.c, which link no Xen library.
CON_SRCS := $(wildcard devices/console/*.c)
CON_A := $(O)/libxvb-console.a
$(eval $(call archive_rule,$(CON_A),$(CON_SRCS)))
ALL_OBJS += $(call objs,$(CON_SRCS))
DEVICE_AS += $(CON_A)
DEVICE_SRCS += $(CON_SRCS)
DEVICE_TEST_SRCS += $(wildcard tests/unit/console_*.c)

$(O)/tests/unit/console_%: $(O)/tests/unit/console_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(CON_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
