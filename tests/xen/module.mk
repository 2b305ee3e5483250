# SPDX-License-Identifier: MIT
# tests/xen: xvbd on real Xen 4.17 (Arm64, under qemu-system-aarch64 TCG),
# with Debian's arm64 dom0 and guest kernels; see docs/xen-e2e.md.
#
#   make check        runs the three jobs below last (XEN_CHECK_JOBS): host
#                     packages and arm64 payload (cached in XVB_XEN_CACHE,
#                     default /var/tmp/xvb-xen), xvbd cross-compiled into
#                     $(O)/xen, one QEMU boot running every scenario.
#                     XVB_XEN=0 skips them (so do SANITIZE= and cross builds)
#   make check-xen    the same jobs alone; ends "N passed, N failed, N skipped"
#   make bench-xen    xvb beside PV blkback and netback on the same guest,
#                     interleaved rounds; medians and ratios in
#                     $(O)/bench/xen.json (XVB_XEN_ROUNDS, XVB_XEN_SECS)
#
# Each step skips (exit 77, with the reason) where it cannot run: not root
# on an x86_64 Debian, no Debian registry and no cache, no memory for QEMU.

XEN_O := $(O)/xen
XVB_XEN ?= 1
# Per job, in seconds: a cold setup downloads ~100 MB (and host packages)
# and builds the hypervisor; a run may boot twice (a hung boot is retried)
# after waiting for another run on the machine.
XEN_SETUP_TIMEOUT ?= 1200
XEN_BUILD_TIMEOUT ?= 600
XEN_RUN_TIMEOUT ?= 2400
XEN_BENCH_TIMEOUT ?= 7200
XEN_ENV = TEST_TIMEOUT_xen_setup=$(XEN_SETUP_TIMEOUT) \
	TEST_TIMEOUT_xen_build=$(XEN_BUILD_TIMEOUT) TEST_TIMEOUT_xen_e2e=$(XEN_RUN_TIMEOUT) \
	TEST_TIMEOUT_xen_bench=$(XEN_BENCH_TIMEOUT)
XEN_PREP_JOBS := xen_setup:tests/xen/setup xen_build:tests/xen/build@$(XEN_O)@$(MAKE)

# What `make check` runs after CHECK_JOBS, and why it might not.
ifneq ($(filter 0 no,$(XVB_XEN)),)
XEN_OFF := XVB_XEN=$(XVB_XEN) turns the real-Xen run off
else ifneq ($(SANITIZE),)
XEN_OFF := a SANITIZE= build; the real-Xen run is part of the plain make check
else ifneq ($(CROSS_COMPILE),)
XEN_OFF := a cross build ($(CROSS_COMPILE)): nothing to run here
endif
ifeq ($(XEN_OFF),)
XEN_CHECK_JOBS := $(XEN_PREP_JOBS) xen_e2e:tests/xen/run@$(XEN_O)@check
XEN_CHECK_ENV = $(XEN_ENV)
else
XEN_CHECK_JOBS := xen_e2e:tests/xen/run@$(XEN_O)@check
XEN_CHECK_ENV = XVB_XEN_SKIP='$(XEN_OFF)'
endif

.PHONY: check-xen bench-xen
check-xen:
	$(Q)$(XEN_ENV) TEST_LOGDIR=$(O)/test-logs tests/run-tests \
		$(XEN_PREP_JOBS) xen_e2e:tests/xen/run@$(XEN_O)@check

bench-xen:
	$(Q)XVB_BENCH_JSON=$(abspath $(O))/bench/xen.json $(XEN_ENV) \
		TEST_LOGDIR=$(O)/test-logs tests/run-tests \
		$(XEN_PREP_JOBS) xen_bench:tests/xen/run@$(XEN_O)@bench
	$(Q)sed -n 's/^xen: //p' $(O)/test-logs/xen_bench.log | \
		grep -E '^(side by side|xvbd round|xvbd NIC|NIC counts|profile|one trap|round |polled round|results|plot)' || true
