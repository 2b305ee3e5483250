# SPDX-License-Identifier: MIT
# devices/net: virtio-net on a TAP. Its archive (with its registry entry,
# type.c) and its unit tests, tests/unit/net_*.c, which link no Xen
# library.
NET_SRCS := $(wildcard devices/net/*.c)
NET_A := $(O)/libxvb-net.a
$(eval $(call archive_rule,$(NET_A),$(NET_SRCS)))
ALL_OBJS += $(call objs,$(NET_SRCS))
DEVICE_AS += $(NET_A)
DEVICE_SRCS += $(NET_SRCS)
DEVICE_TEST_SRCS += $(wildcard tests/unit/net_*.c)

$(O)/tests/unit/net_%: $(O)/tests/unit/net_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(NET_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
