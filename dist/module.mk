# SPDX-License-Identifier: MIT
# dist/: the systemd unit verified (systemd-analyze; skipped where missing).
ifneq ($(XVBD),)
CHECK_JOBS += systemd_unit:dist/verify-unit@$(XVBD)
endif
