/* SPDX-License-Identifier: MIT */
/*
 * A device's register window as one vCPU of the simulated guest reaches
 * it: each access an ioreq through the simulated hypervisor, timed and
 * counted, the first failure kept (an access not answered within the hang
 * bound, tests/lib/hang.h, fails).
 */
#ifndef XVB_SIM_SIMBUS_H
#define XVB_SIM_SIMBUS_H

#include <stdint.h>

#include "gdrv.h"
#include "sim/sim.h"

struct simbus {
	struct xsim *sim;
	uint32_t domid;
	unsigned int vcpu;
	uint64_t base;	     /* the window */
	int err;	     /* first failed access (-errno), 0 if none */
	uint64_t nr;	     /* accesses (ioreqs) */
	uint64_t ns;	     /* wall time blocked in them */
	uint64_t max_ns;     /* the slowest one */
	struct gdrv_bus bus; /* for gdrv_init_bus(); opaque is this */
};

void simbus_init(struct simbus *sb, struct xsim *sim, uint32_t domid,
		 unsigned int vcpu, uint64_t base);

#endif
