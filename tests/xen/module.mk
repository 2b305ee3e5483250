# SPDX-License-Identifier: MIT
# tests/xen: xvbd on real Xen 4.17 (Arm64, under qemu-system-aarch64 TCG),
# with Debian's arm64 dom0 and guest kernels; see docs/xen-e2e.md.
#
#   make check-xen    host packages and arm64 payload (cached in
#                     XVB_XEN_CACHE, default /var/tmp/xvb-xen), xvbd
#                     cross-compiled into $(O)/xen, one QEMU boot running
#                     every block scenario; ends "N passed, N failed, N skipped"
#   make bench-xen    xvb beside PV blkback on the same guest and file,
#                     interleaved rounds; medians and ratios in
#                     $(O)/bench/xen.json (XVB_XEN_ROUNDS, XVB_XEN_SECS)
#
# Not part of `make check`: it needs root and the Debian registry once, and
# takes minutes. Each step skips (exit 77, with the reason) where it cannot
# run.

XEN_O := $(O)/xen
# Per step: a cold setup downloads ~100 MB and builds the hypervisor.
XEN_TEST_TIMEOUT ?= 1500
XEN_PREP_JOBS := xen_setup:tests/xen/setup xen_build:tests/xen/build@$(XEN_O)@$(MAKE)

.PHONY: check-xen bench-xen
check-xen:
	$(Q)TEST_TIMEOUT=$(XEN_TEST_TIMEOUT) TEST_LOGDIR=$(O)/test-logs tests/run-tests \
		$(XEN_PREP_JOBS) xen_e2e:tests/xen/run@$(XEN_O)@check

bench-xen:
	$(Q)XVB_BENCH_JSON=$(abspath $(O))/bench/xen.json TEST_TIMEOUT=$(XEN_TEST_TIMEOUT) \
		TEST_LOGDIR=$(O)/test-logs tests/run-tests \
		$(XEN_PREP_JOBS) xen_bench:tests/xen/run@$(XEN_O)@bench
	$(Q)sed -n 's/^xen: //p' $(O)/test-logs/xen_bench.log | grep -E '^(side by side|xvbd round|results)' || true
