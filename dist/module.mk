# SPDX-License-Identifier: MIT
# dist/: xvb's version, its Debian package, the arm64 cross build, the
# IOREQ-enabled Xen hypervisor package (docs/deploy.md), and the systemd unit
# verified (dist/verify-unit: systemd-analyze; skipped where missing).
#
#   make deb                  $(O)/deb/xvb_VERSION_ARCH.deb for this machine,
#                             built with Debian's hardening flags, lintian run
#   make deb ARCH=arm64       the same, cross-compiled for arm64 (= make deb-arm64)
#   make arm64                xvbd alone for arm64: $(O)/arm64/xvbd
#   make xen-ioreq-deb        Xen's hypervisor package with CONFIG_IOREQ_SERVER=y,
#                             from Debian's Xen source (scripts/xen-ioreq-deb;
#                             XEN_IOREQ_ARGS= passes it options)
#
# Cross builds compile against a sysroot of Debian's arm64 -dev packages,
# downloaded and extracted, never installed (scripts/arm64-sysroot, into
# $(O)/sysroot-arm64, or SYSROOT=DIR): libxen-dev is not Multi-Arch: same,
# so libxen-dev:arm64 cannot be installed beside the machine's own.
# DEB_LINTIAN=0 leaves lintian out.

# The one version: dist/changelog's first entry, which the package carries
# and `xvbd --version` prints.
XVB_VERSION := $(shell head -1 dist/changelog | cut -d' ' -f2 | tr -d '()')
EXTRA_CFLAGS_backend += -DXVB_VERSION='"$(XVB_VERSION)"'
$(O)/backend/main.o: dist/changelog

HOST_ARCH := $(shell dpkg --print-architecture 2>/dev/null)
# ARCH only from the command line: kernel builders export ARCH=arm64.
DEB_ARCH := $(if $(filter command line,$(origin ARCH)),$(ARCH),$(HOST_ARCH))
DEB_LINTIAN ?= 1
# A SYSROOT given (the real-Xen harness gives its payload) is used as it is.
SYSROOT_GIVEN := $(filter command line environment,$(origin SYSROOT))
SYSROOT ?= $(O)/sysroot-arm64
ARM64_TRIPLET := aarch64-linux-gnu

# $(call cross_vars,ARCH): the sub-make's variables for ARCH.
cross_vars = $(if $(filter $(HOST_ARCH),$(1)),,CROSS_COMPILE=$(ARM64_TRIPLET)- \
	CC=$(ARM64_TRIPLET)-gcc AR=$(ARM64_TRIPLET)-ar \
	PKG_CONFIG="PKG_CONFIG_SYSROOT_DIR=$(abspath $(SYSROOT)) PKG_CONFIG_LIBDIR=$(abspath $(SYSROOT))/usr/lib/$(ARM64_TRIPLET)/pkgconfig:$(abspath $(SYSROOT))/usr/share/pkgconfig pkg-config")
cross_ldflags = $(if $(filter $(HOST_ARCH),$(1)),,-Wl,-rpath-link,$(abspath $(SYSROOT))/usr/lib/$(ARM64_TRIPLET))
# Debian's build flags (hardening) for ARCH, read when the recipe runs
# (dpkg-dev may be installed by it).
buildflag = $$(DEB_HOST_ARCH=$(2) DEB_BUILD_MAINT_OPTIONS=hardening=+all dpkg-buildflags --get $(1))

.PHONY: deb deb-arm64 arm64 arm64-sysroot xen-ioreq-deb

arm64-sysroot:
	$(Q)scripts/arm64-sysroot $(SYSROOT)

# A sub-make per build: its own O=, flags and no sanitizer.
arm64: $(if $(or $(filter arm64,$(HOST_ARCH)),$(SYSROOT_GIVEN)),,arm64-sysroot)
	$(Q)scripts/install-deps $(if $(filter arm64,$(HOST_ARCH)),,--cross)
	$(Q)$(MAKE) --no-print-directory O=$(O)/arm64 SANITIZE= WERROR=1 CFLAGS= \
		$(call cross_vars,arm64) LDFLAGS="$(call cross_ldflags,arm64)" $(O)/arm64/xvbd

DEB_O := $(O)/deb/build-$(DEB_ARCH)
DEB_FILE := $(O)/deb/xvb_$(XVB_VERSION)_$(DEB_ARCH).deb
deb: $(if $(or $(filter $(HOST_ARCH),$(DEB_ARCH)),$(SYSROOT_GIVEN)),,arm64-sysroot)
	$(Q)scripts/install-deps $(if $(filter 0,$(DEB_LINTIAN)),,--deb) $(if $(filter $(HOST_ARCH),$(DEB_ARCH)),,--cross)
	$(Q)$(MAKE) --no-print-directory O=$(DEB_O) SANITIZE= WERROR=1 $(call cross_vars,$(DEB_ARCH)) \
		CFLAGS="$(call buildflag,CFLAGS,$(DEB_ARCH)) $(call buildflag,CPPFLAGS,$(DEB_ARCH))" \
		LDFLAGS="$(call buildflag,LDFLAGS,$(DEB_ARCH)) $(call cross_ldflags,$(DEB_ARCH))" \
		$(DEB_O)/xvbd
	$(call say,DEB,$(DEB_FILE))
	$(Q)dist/mkdeb $(DEB_O)/xvbd $(DEB_ARCH) $(O)/deb \
		$(if $(filter $(HOST_ARCH),$(DEB_ARCH)),strip,$(ARM64_TRIPLET)-strip) >/dev/null
ifneq ($(DEB_LINTIAN),0)
	$(call say,LINTIAN,$(DEB_FILE))
	$(Q)lintian --fail-on error $(DEB_FILE)
endif

deb-arm64:
	$(Q)$(MAKE) --no-print-directory deb ARCH=arm64

xen-ioreq-deb:
	$(Q)scripts/xen-ioreq-deb --work $(O)/xen-ioreq/work --out $(O)/xen-ioreq $(XEN_IOREQ_ARGS)

ifneq ($(XVBD),)
# The package of this build's xvbd, looked at: files, conffile, version.
CHECK_JOBS += deb_package:tests/deb-check@$(XVBD)@$(O)/deb-check
# The systemd unit verified (systemd-analyze; skipped where missing).
CHECK_JOBS += systemd_unit:dist/verify-unit@$(XVBD)
endif
