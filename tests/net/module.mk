# SPDX-License-Identifier: MIT
# tests/net: the simulated guest's network stack (xvb-sim --netns) driving
# xvbd with the kernel's TCP/IP on both sides, in network namespaces the
# scripts create and remove. Each scenario is one job; where TAPs or
# namespaces cannot be made here, it skips (exit 77) and says why.

NETTOOL := $(O)/tests/net/nettool
$(NETTOOL): $(O)/tests/net/nettool.o
	$(call say,LD,$@)
	$(Q)$(CC) $(LDFLAGS_BASE) -o $@ $^

ALL_TARGETS += $(NETTOOL)
ALL_OBJS += $(call objs,tests/net/nettool.c)

NET_SCENARIOS := tcp txpoll nomrg nooffload ctrl norx taploss
ifneq ($(XVBD),)
CHECK_JOBS += $(foreach s,$(NET_SCENARIOS),\
	net_stack_$(s):tests/net/net-stack@$(O)@$(s))
endif
