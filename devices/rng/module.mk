# SPDX-License-Identifier: MIT
# devices/rng: virtio-rng, the host's getrandom(2) with a per-guest rate
# limit. Its archive (with its registry entry, type.c) and its unit tests,
# tests/unit/rng_*.c, which link no Xen library.
RNG_SRCS := $(wildcard devices/rng/*.c)
RNG_A := $(O)/libxvb-rng.a
$(eval $(call archive_rule,$(RNG_A),$(RNG_SRCS)))
ALL_OBJS += $(call objs,$(RNG_SRCS))
DEVICE_AS += $(RNG_A)
DEVICE_SRCS += $(RNG_SRCS)
DEVICE_TEST_SRCS += $(wildcard tests/unit/rng_*.c)

$(O)/tests/unit/rng_%: $(O)/tests/unit/rng_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(RNG_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
