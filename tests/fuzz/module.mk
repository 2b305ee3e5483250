# SPDX-License-Identifier: MIT
# tests/fuzz: the fuzz targets beyond the virtio ones, and their coverage.
#
#   make fuzz [FUZZ_TIME=s]          every target, one after the other
#   make fuzz-one FUZZ_TARGET=blk [FUZZ_TIME=s]
#   make fuzz-cov                    llvm-cov line coverage of the parsers,
#                                    from the checked-in corpora
#
# The virtio targets (vq, vmmio) link virtio/ and the fake guest only and
# use the Makefile's generic rules; the others need more of the tree, listed
# here per target. Backend code is reached without any libxen: the targets
# stub the few libxen calls their code makes.

# Sources each target links, besides its own file.
FZ_SRCS_vq = $(FUZZ_LINK_SRCS)
FZ_SRCS_vmmio = $(FUZZ_LINK_SRCS)
FZ_SRCS_ioreq = backend/ioreq.c $(LIB_SRCS)
FZ_SRCS_gnt = backend/gnt.c $(VIRTIO_SRCS) $(LIB_SRCS)
FZ_SRCS_config = backend/xsdev.c backend/conffile.c backend/devspec.c \
	devices/registry.c $(DEVICE_SRCS) $(VIRTIO_SRCS) $(LIB_SRCS)
FZ_SRCS_blk = $(BLK_SRCS) $(FUZZ_LINK_SRCS)
FZ_SRCS_net = $(NET_SRCS) $(FUZZ_LINK_SRCS)

# The replay drivers of `make check`: the same, built with $(CC).
FZ_OBJS = $(call objs,$(filter-out $(FUZZ_LINK_SRCS) $(LIB_SRCS) $(VIRTIO_SRCS),$(FZ_SRCS_$(1))))
FZ_LIBS_vq = $(FAKE_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A)
FZ_LIBS_vmmio = $(FAKE_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A)
FZ_LIBS_ioreq = $(LIB_A)
FZ_LIBS_gnt = $(VIRTIO_A) $(LIB_A)
FZ_LIBS_config = $(VIRTIO_A) $(LIB_A)
FZ_LIBS_blk = $(FAKE_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A)
FZ_LIBS_net = $(FAKE_A) $(GUEST_A) $(VIRTIO_A) $(LIB_A)
FZ_EXTRA_NAMES := ioreq gnt config blk net

# Backend headers include Xen's; fuzz_config.c stubs libxenstore.
EXTRA_CFLAGS_tests/fuzz = -I. -Itests/lib -Iguest -D__XEN_TOOLS__ $(XEN_CFLAGS)

define fz_replay_rule
$(O)/tests/fuzz/replay_$(1): $(O)/tests/fuzz/fuzz_$(1).o $(O)/tests/fuzz/replay.o \
		$(call FZ_OBJS,$(1)) $(FZ_LIBS_$(1))
	$$(call say,LD,$$@)
	$$(Q)$$(CC) $$(LDFLAGS_BASE) -o $$@ $$^ $$(URING_LIBS) -lpthread
endef
$(foreach t,$(FZ_EXTRA_NAMES),$(eval $(call fz_replay_rule,$(t))))

# libFuzzer builds (clang), for the targets the generic rule cannot link.
FZ_CFLAGS = $(FUZZ_FLAGS) -D__XEN_TOOLS__ $(XEN_CFLAGS)
define fz_fuzz_rule
$(O)/fuzz/fuzz_$(1): tests/fuzz/fuzz_$(1).c $(FZ_SRCS_$(1)) | $(DEPS_STAMP)
	$$(call say,CLANG,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CLANG) $$(FZ_CFLAGS) -o $$@ $$^ $$(URING_LIBS) -lpthread
endef
$(foreach t,$(FZ_EXTRA_NAMES),$(eval $(call fz_fuzz_rule,$(t))))

.PHONY: fuzz-one fuzz-cov
FUZZ_TARGET ?= vq
fuzz-one: $(O)/fuzz/fuzz_$(FUZZ_TARGET)
	$(Q)mkdir -p $(O)/fuzz/corpus-$(FUZZ_TARGET) $(O)/fuzz/crashes-$(FUZZ_TARGET)
	$(Q)$(O)/fuzz/fuzz_$(FUZZ_TARGET) -max_total_time=$(FUZZ_TIME) \
		-print_final_stats=1 -artifact_prefix=$(O)/fuzz/crashes-$(FUZZ_TARGET)/ \
		$(O)/fuzz/corpus-$(FUZZ_TARGET) tests/fuzz/corpus/$(FUZZ_TARGET)

# ---- coverage ---------------------------------------------------------------
# Each target built with clang's source-based coverage and the replay driver,
# run over its checked-in corpus; one merged profile; a line-coverage report
# of the code a guest or xenstore reaches.
LLVM_PROFDATA ?= llvm-profdata-14
LLVM_COV ?= llvm-cov-14
COV_O := $(O)/fuzz-cov
COV_FLAGS = -std=gnu11 -g -O0 -D_GNU_SOURCE -Iinclude -Itests/lib -Iguest \
	-D__XEN_TOOLS__ $(XEN_CFLAGS) -fprofile-instr-generate -fcoverage-mapping
COV_FILES := virtio/vq.c virtio/vmmio.c virtio/vdev.c virtio/gmem.c \
	backend/ioreq.c backend/gnt.c backend/conffile.c backend/devspec.c \
	backend/xsdev.c devices/blk/req.c devices/blk/blk.c \
	devices/net/tx.c devices/net/rx.c devices/net/ctrl.c devices/net/net.c

define fz_cov_rule
$(COV_O)/cov_$(1): tests/fuzz/fuzz_$(1).c tests/fuzz/replay.c $(FZ_SRCS_$(1)) | $(DEPS_STAMP)
	$$(call say,CLANG,$$@)
	$$(Q)mkdir -p $$(@D)
	$$(Q)$$(CLANG) $$(COV_FLAGS) -o $$@ $$^ $$(URING_LIBS) -lpthread
endef
$(foreach t,$(FUZZ_NAMES),$(eval $(call fz_cov_rule,$(t))))

fuzz-cov: $(patsubst %,$(COV_O)/cov_%,$(FUZZ_NAMES))
	$(Q)scripts/install-deps --cov
	$(Q)rm -f $(COV_O)/*.profraw
	$(Q)for t in $(FUZZ_NAMES); do \
		LLVM_PROFILE_FILE=$(COV_O)/$$t.profraw \
			$(COV_O)/cov_$$t tests/fuzz/corpus/$$t >/dev/null || exit 1; \
	done
	$(Q)$(LLVM_PROFDATA) merge -o $(COV_O)/all.profdata $(COV_O)/*.profraw
	$(Q)$(LLVM_COV) report -instr-profile $(COV_O)/all.profdata \
		$(COV_O)/cov_$(firstword $(FUZZ_NAMES)) \
		$(patsubst %,-object $(COV_O)/cov_%,$(wordlist 2,99,$(FUZZ_NAMES))) \
		$(COV_FILES) | tee $(COV_O)/report.txt
	$(Q)$(LLVM_COV) show -format=html -output-dir=$(COV_O)/html \
		-instr-profile $(COV_O)/all.profdata \
		$(COV_O)/cov_$(firstword $(FUZZ_NAMES)) \
		$(patsubst %,-object $(COV_O)/cov_%,$(wordlist 2,99,$(FUZZ_NAMES))) \
		$(COV_FILES) >/dev/null
	@echo "fuzz-cov: $(COV_O)/report.txt, $(COV_O)/html/index.html"
