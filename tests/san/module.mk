# SPDX-License-Identifier: MIT
# tests/san: make check runs the suites once more under sanitizers, each a
# job of its own: san_asan builds the tree with ASan+UBSan in $(O)/asan and
# runs every make check job there but the format check and real Xen;
# san_tsan builds the event loop's tests with TSan in $(O)/tsan and runs
# lib_evl. A report from any process fails the job (tests/san/run).
# SAN_CHECK=0 leaves them out; a sanitizer build never nests another.

SAN_CHECK ?= 1

# Inside a sanitizer build: the jobs of make check, or only SAN_ONLY's
# (for one job, only its program is built).
# SAN_ONLY may name several jobs; then everything is built.
SAN_JOBS = $(if $(SAN_ONLY),$(filter $(addsuffix :%,$(SAN_ONLY)),$(CHECK_JOBS)),\
	$(filter-out format-check:% xen_%,$(CHECK_JOBS)))
SAN_NEEDS = $(if $(filter 1,$(words $(SAN_ONLY))),$(firstword $(subst @, ,$(patsubst \
	$(SAN_ONLY):%,%,$(SAN_JOBS)))),all)
# (Recipes, not prerequisites: the unit jobs join CHECK_JOBS after this
# fragment is read.)
.PHONY: san-build san-suite
san-build:
	$(Q)$(MAKE) $(SAN_NEEDS)
san-suite: san-build
	$(Q)TEST_TIMEOUT=$(TEST_TIMEOUT) TEST_LOGDIR=$(O)/test-logs \
		tests/run-tests $(SAN_JOBS)

ifeq ($(SANITIZE),)
ifneq ($(SAN_CHECK),0)
CHECK_JOBS += san_asan:tests/san/run@$(O)/asan@address,undefined
CHECK_JOBS += san_tsan:tests/san/run@$(O)/tsan@thread@lib_evl
export TEST_TIMEOUT_san_asan ?= 4200
export TEST_TIMEOUT_san_tsan ?= 1200
endif
endif
