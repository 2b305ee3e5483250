#SPDX - License - Identifier : MIT
#virtio - console(devices / console) : its archive and its unit tests, which
#link the fake guest and the guest - side driver, no Xen library.
CON_SRCS := $(wildcard devices/console/*.c)
CON_A := $(O)/libxvb-console.a
$(eval $(call archive_rule,$(CON_A),$(CON_SRCS)))

CON_TEST_SRCS := $(wildcard tests/unit/console_*.c)
UNIT_BINS += $(patsubst %.c,$(O)/%,$(CON_TEST_SRCS))
ALL_OBJS += $(call objs,$(CON_SRCS) $(CON_TEST_SRCS))
ALL_TARGETS += $(CON_A)

$(O)/tests/unit/console_%: $(O)/tests/unit/console_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(CON_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread
