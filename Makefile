# SPDX-License-Identifier: MIT
# xvb: one non-recursive build. Each layer is its own archive; tests of
# lib/ and virtio/ link no Xen library, so a Xen call in the wrong layer
# fails the link. Directory fragments (*/module.mk) add their own targets.
#
#   make [O=dir] [V=1] [WERROR=0] [SANITIZE=address,undefined|thread]
#        [CROSS_COMPILE=aarch64-linux-gnu-] [all|check|fuzz|run|format-check]

O ?= build
V ?= 0
WERROR ?= 1
SANITIZE ?=
CROSS_COMPILE ?=
FUZZ_TIME ?= 60
TEST_TIMEOUT ?= 600

ifeq ($(origin CC),default)
CC := $(CROSS_COMPILE)gcc
endif
ifeq ($(origin AR),default)
AR := $(CROSS_COMPILE)ar
endif
CLANG ?= clang
ifneq ($(CROSS_COMPILE),)
PKG_CONFIG ?= PKG_CONFIG_LIBDIR=/usr/lib/$(patsubst %-,%,$(CROSS_COMPILE))/pkgconfig:/usr/share/pkgconfig pkg-config
else
PKG_CONFIG ?= pkg-config
endif

ifeq ($(V),1)
Q :=
say :=
else
Q := @
say = @printf '  %-7s %s\n' $(1) $(2);
endif

WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	-Wpointer-arith -Wformat=2 -Wundef -Wvla -Wwrite-strings \
	-Wno-unused-parameter -Wno-missing-field-initializers
ifeq ($(WERROR),1)
WARN += -Werror
endif

SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all)
# TSan does not model fences; the guest-shared memory they order is outside
# what it can check anyway.
SAN_FLAGS += $(if $(findstring thread,$(SANITIZE)),-Wno-tsan)

CPPFLAGS_BASE := -D_GNU_SOURCE -Iinclude -MMD -MP
# Only test code sees the test library's headers; it and the simulated
# guest see the guest side's (guest/).
EXTRA_CFLAGS_tests/unit := -I. -Itests/lib -Iguest
EXTRA_CFLAGS_tests/fuzz := -I. -Itests/lib -Iguest
EXTRA_CFLAGS_tests/lib := -Iguest
CFLAGS_BASE := -std=gnu11 -O2 -g -fno-strict-aliasing $(WARN) $(SAN_FLAGS) $(CFLAGS)
LDFLAGS_BASE := $(SAN_FLAGS) $(LDFLAGS)

# Lazily expanded: pkg-config runs only once deps are installed.
URING_LIBS = $(shell $(PKG_CONFIG) --libs liburing)
XEN_PKGS := xendevicemodel xenforeignmemory xenevtchn xenstore xengnttab xentoolcore
XEN_CFLAGS = $(shell $(PKG_CONFIG) --cflags $(XEN_PKGS))
XEN_LIBS = $(shell $(PKG_CONFIG) --libs $(XEN_PKGS))

.DEFAULT_GOAL := all
# Keep objects make considers intermediate (test objects), for -MMD.
.SECONDARY:
.PHONY: all check fuzz run bench clean format format-check deps unit-tests install

# ---- dependencies --------------------------------------------------------
# Checked once per make run (fast when nothing is missing); installs the
# Debian packages of scripts/install-deps on a fresh machine.
DEPS_STAMP := deps
deps:
	$(Q)scripts/install-deps

# ---- helpers -------------------------------------------------------------
# $(call objs,srcs) -> object paths under $(O)
objs = $(patsubst %.c,$(O)/%.o,$(1))

$(O)/%.o: %.c | $(DEPS_STAMP)
	$(call say,CC,$<)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(CPPFLAGS_BASE) $(CFLAGS_BASE) $(EXTRA_CFLAGS_$(<D)) -c -o $@ $<

# ---- layers ----------------------------------------------------------------
LIB_SRCS := lib/log.c lib/logsys.c lib/iov.c lib/evl.c
VIRTIO_SRCS := virtio/gmem.c virtio/vdev.c virtio/vmmio.c virtio/vq.c virtio/vqrun.c
# guest/: the guest side of virtio-mmio (guest RAM, a Linux-like ring
# driver), for the simulated guest and the tests; virtio/ headers only.
GUEST_SRCS := $(wildcard guest/*.c)
# tests/lib: t.c is the harness; the rest (test devices, the virtio rig)
# needs virtio/ headers and guest/ only.
T_SRCS := tests/lib/t.c
FAKE_SRCS := $(filter-out $(T_SRCS),$(wildcard tests/lib/*.c))

LIB_A := $(O)/libxvb-lib.a
VIRTIO_A := $(O)/libxvb-virtio.a
T_A := $(O)/libxvb-t.a
GUEST_A := $(O)/libxvb-guest.a
FAKE_A := $(O)/libxvb-fake.a

define archive_rule
$(1): $(call objs,$(2))
	$$(call say,AR,$$@)
	$$(Q)rm -f $$@
	$$(Q)$$(AR) rcs $$@ $$^
endef
$(eval $(call archive_rule,$(LIB_A),$(LIB_SRCS)))
$(eval $(call archive_rule,$(VIRTIO_A),$(VIRTIO_SRCS)))
$(eval $(call archive_rule,$(T_A),$(T_SRCS)))
$(eval $(call archive_rule,$(GUEST_A),$(GUEST_SRCS)))
$(eval $(call archive_rule,$(FAKE_A),$(FAKE_SRCS)))

ALL_OBJS := $(call objs,$(LIB_SRCS) $(VIRTIO_SRCS) $(T_SRCS) $(GUEST_SRCS) \
	$(FAKE_SRCS))

# ---- devices ----------------------------------------------------------------
# Each devices/<name>/module.mk builds its device's archive, adds it to
# DEVICE_AS, its sources to DEVICE_SRCS and its unit tests to
# DEVICE_TEST_SRCS; devices/registry.c is the table of them all. A new
# device needs no edit here.
DEVICE_AS :=
DEVICE_SRCS :=
DEVICE_TEST_SRCS :=
-include $(wildcard devices/*/module.mk)
REGISTRY_OBJ := $(O)/devices/registry.o
ALL_OBJS += $(REGISTRY_OBJ)

# ---- xvbd -----------------------------------------------------------------
# The only objects that include Xen headers and link Xen libraries.
BACKEND_SRCS := $(wildcard backend/*.c)
# xvbd needs a device model; until one exists only the objects build.
XVBD := $(if $(and $(wildcard backend/main.c),$(DEVICE_AS)),$(O)/xvbd)
EXTRA_CFLAGS_backend = -D__XEN_TOOLS__ $(XEN_CFLAGS)
ALL_OBJS += $(call objs,$(BACKEND_SRCS))

ifneq ($(XVBD),)
$(XVBD): $(call objs,$(BACKEND_SRCS)) $(REGISTRY_OBJ) $(DEVICE_AS) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(XEN_LIBS) $(URING_LIBS) -lpthread
endif

# ---- unit tests -----------------------------------------------------------
# tests/unit/lib_*.c link lib/ only; tests/unit/virtio_*.c link virtio/ and
# lib/; a device's (its module.mk) add its archive. None links a Xen library.
LIB_TEST_SRCS := $(wildcard tests/unit/lib_*.c)
VIRTIO_TEST_SRCS := $(wildcard tests/unit/virtio_*.c)
BACKEND_TEST_SRCS := $(wildcard tests/unit/backend_*.c)
# tests/unit/devices_*.c run against every type of the registry: they link
# it with every device's archive.
REGISTRY_TEST_SRCS := $(wildcard tests/unit/devices_*.c)
UNIT_SRCS := $(LIB_TEST_SRCS) $(VIRTIO_TEST_SRCS) $(DEVICE_TEST_SRCS) \
	$(BACKEND_TEST_SRCS) $(REGISTRY_TEST_SRCS)
UNIT_BINS := $(patsubst %.c,$(O)/%,$(UNIT_SRCS))
ALL_OBJS += $(call objs,$(UNIT_SRCS))

$(O)/tests/unit/lib_%: $(O)/tests/unit/lib_%.o $(T_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

$(O)/tests/unit/virtio_%: $(O)/tests/unit/virtio_%.o $(T_A) $(FAKE_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

$(O)/tests/unit/devices_%: $(O)/tests/unit/devices_%.o $(T_A) $(FAKE_A) $(GUEST_A) \
		$(REGISTRY_OBJ) $(DEVICE_AS) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

# backend/devspec.c and backend/conffile.c are plain C over the registry:
# their tests need no Xen library either.
BACKEND_PLAIN := $(O)/backend/devspec.o $(O)/backend/conffile.o $(REGISTRY_OBJ) \
	$(DEVICE_AS) $(VIRTIO_A) $(LIB_A)
$(O)/tests/unit/backend_devspec $(O)/tests/unit/backend_conffile \
$(O)/tests/unit/backend_registry: $(O)/tests/unit/%: $(O)/tests/unit/%.o $(T_A) $(BACKEND_PLAIN)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

# The supervisor's xenstore reading, over the test's own xs_read.
$(O)/tests/unit/backend_xsdev.o: EXTRA_CFLAGS_tests/unit = -I. -Itests/lib -D__XEN_TOOLS__ $(XEN_CFLAGS)
$(O)/tests/unit/backend_xsdev: $(O)/tests/unit/backend_xsdev.o $(O)/backend/xsdev.o \
		$(T_A) $(BACKEND_PLAIN)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

# xvbd's command line (backend/main.c, included), checked against --help and
# dist/xvbd.8; the supervisor and the worker are stubs.
$(O)/tests/unit/backend_main.o: EXTRA_CFLAGS_tests/unit = -I. -Itests/lib -D__XEN_TOOLS__ $(XEN_CFLAGS)
$(O)/tests/unit/backend_main: $(O)/tests/unit/backend_main.o $(T_A) $(BACKEND_PLAIN)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS) -lpthread

# ---- fuzz targets ----------------------------------------------------------
# tests/fuzz/fuzz_<name>.c define LLVMFuzzerTestOneInput. `make check`
# replays the checked-in corpus through a plain driver built with $(CC);
# `make fuzz` builds them with clang's libFuzzer and runs each FUZZ_TIME s.
FUZZ_SRCS := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(patsubst tests/fuzz/fuzz_%.c,%,$(FUZZ_SRCS))
REPLAY_BINS := $(patsubst %,$(O)/tests/fuzz/replay_%,$(FUZZ_NAMES))
ALL_OBJS += $(call objs,$(FUZZ_SRCS) tests/fuzz/replay.c)

$(O)/tests/fuzz/replay_%: $(O)/tests/fuzz/fuzz_%.o $(O)/tests/fuzz/replay.o \
		$(FAKE_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A)
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^ $(URING_LIBS)

FUZZ_FLAGS := -std=gnu11 -g -O1 -D_GNU_SOURCE -Iinclude -I. -Itests/lib -Iguest -DXVB_FUZZING \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_LINK_SRCS := $(LIB_SRCS) $(VIRTIO_SRCS) $(FAKE_SRCS) $(GUEST_SRCS)
$(O)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LINK_SRCS) | $(DEPS_STAMP)
	$(call say,CLANG,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_FLAGS) -o $@ $^ $(URING_LIBS)

fuzz: $(patsubst %,$(O)/fuzz/fuzz_%,$(FUZZ_NAMES))
	$(Q)for t in $(FUZZ_NAMES); do \
		mkdir -p $(O)/fuzz/corpus-$$t $(O)/fuzz/crashes-$$t tests/fuzz/corpus/$$t; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		$(O)/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -print_final_stats=1 \
			-artifact_prefix=$(O)/fuzz/crashes-$$t/ \
			$(O)/fuzz/corpus-$$t tests/fuzz/corpus/$$t || exit 1; \
	done

# ---- directory fragments ---------------------------------------------------
-include $(wildcard */module.mk tests/*/module.mk)

# ---- top-level targets ------------------------------------------------------
all: $(LIB_A) $(VIRTIO_A) $(XVBD) $(UNIT_BINS) $(REPLAY_BINS) $(ALL_TARGETS)

# Each entry of CHECK_JOBS is one runner job: "name:command".
CHECK_JOBS += format-check:scripts/format-check
# No comment left with a dangling "*/" and no message split into pieces
# grep cannot find (scripts/split-check says where).
CHECK_JOBS += split-check:scripts/split-check
CHECK_JOBS += runner_selftest:tests/run-tests-selftest
CHECK_JOBS += $(foreach b,$(UNIT_BINS),$(notdir $(b)):$(b))
CHECK_JOBS += $(foreach t,$(FUZZ_NAMES),corpus_$(t):$(O)/tests/fuzz/replay_$(t)@tests/fuzz/corpus/$(t))

# The real-Xen jobs (tests/xen/module.mk) run last: they take minutes.
check: all
	$(Q)$(XEN_CHECK_ENV) TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_LOGDIR=$(O)/test-logs \
		tests/run-tests $(CHECK_JOBS) $(XEN_CHECK_JOBS)

# make check-loaded: the same suite while stress-ng keeps every core busy
# (tests/check-loaded); the real-Xen run is left out unless XVB_XEN=1 is
# given (minutes of emulation that prove nothing more about load).
.PHONY: check-loaded
check-loaded:
	$(Q)scripts/install-deps --loaded
	$(Q)tests/check-loaded $(MAKE) O=$(O) XVB_XEN=$(if $(filter command line,$(origin XVB_XEN)),$(XVB_XEN),0)

# The demo: xvbd serving a simulated Xen guest's virtio disk.
run: all
	$(Q)$(XVB_SIM) --bench

SRC_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null || find . -name '*.[ch]' -not -path './$(O)/*')
format:
	$(Q)clang-format -i $(SRC_FILES)
format-check: | $(DEPS_STAMP)
	$(Q)scripts/format-check

# sudo make install [DESTDIR=...] [PREFIX=/usr]
PREFIX ?= /usr
install: $(XVBD)
	install -D -m 0755 $(XVBD) $(DESTDIR)$(PREFIX)/sbin/xvbd
	install -D -m 0755 dist/xvb-create $(DESTDIR)$(PREFIX)/sbin/xvb-create
	install -D -m 0644 dist/xvbd.8 $(DESTDIR)$(PREFIX)/share/man/man8/xvbd.8
	install -D -m 0644 dist/xvb-create.8 $(DESTDIR)$(PREFIX)/share/man/man8/xvb-create.8
	install -D -m 0644 dist/xvbd.service $(DESTDIR)/usr/lib/systemd/system/xvbd.service
	install -d $(DESTDIR)$(PREFIX)/share/doc/xvb/xl-snippets
	install -m 0644 xl-snippets/* $(DESTDIR)$(PREFIX)/share/doc/xvb/xl-snippets/

clean:
	rm -rf $(O)

-include $(ALL_OBJS:.o=.d)
