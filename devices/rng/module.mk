# SPDX-License-Identifier: MIT
# devices/rng: virtio-rng, one archive (libxvb-rng.a: the device and its
# registry entry), and its unit tests, tests/unit/rng_*.c, which drive it
# through the transport with the fake guest and link no Xen library.

RNG_SRCS := $(wildcard devices/rng/*.c)
RNG_A := $(O)/libxvb-rng.a
$(eval $(call archive_rule,$(RNG_A),$(RNG_SRCS)))

RNG_TEST_SRCS := $(wildcard tests/unit/rng_*.c)
RNG_TEST_BINS := $(patsubst %.c,$(O)/%,$(RNG_TEST_SRCS))
ALL_OBJS += $(call objs,$(RNG_SRCS) $(RNG_TEST_SRCS))

$(O)/tests/unit/rng_%: $(O)/tests/unit/rng_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(RNG_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

ALL_TARGETS += $(RNG_A) $(RNG_TEST_BINS)
CHECK_JOBS += $(foreach b,$(RNG_TEST_BINS),$(notdir $(b)):$(b))
