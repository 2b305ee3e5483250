# SPDX-License-Identifier: MIT
# devices/blk: virtio-blk on a file or a block device. Its archive (with
# its registry entry, type.c) and its unit tests, tests/unit/blk_*.c, which
# link no Xen library.
BLK_SRCS := $(wildcard devices/blk/*.c)
BLK_A := $(O)/libxvb-blk.a
$(eval $(call archive_rule,$(BLK_A),$(BLK_SRCS)))
ALL_OBJS += $(call objs,$(BLK_SRCS))
DEVICE_AS += $(BLK_A)
DEVICE_SRCS += $(BLK_SRCS)
DEVICE_TEST_SRCS += $(wildcard tests/unit/blk_*.c)

$(O)/tests/unit/blk_%: $(O)/tests/unit/blk_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(BLK_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
