/* SPDX-License-Identifier: MIT */
/* Hostile-guest scripts run by xvb-sim against the real xvbd. */
#ifndef XVB_SIM_SCRIPT_H
#define XVB_SIM_SCRIPT_H

#include "blkdrv.h"

/* The device a script drives: the guest's first virtio disk. */
struct script_dev {
	struct xsim *sim;
	uint32_t domid;
	unsigned int vcpu;
	uint64_t base;
	unsigned int spi;
	struct fakeguest *fg;
	unsigned int nr_vcpus; /* 0: found out by probing */
	pid_t xvbd;	       /* the supervisor: the worker is its child */
};

/*
 * Runs the script at @path, printing an ok/FAIL line per expectation.
 * Returns 0 if all passed, -EPROTO if any failed, -errno otherwise.
 */
int script_run(struct script_dev *dev, const char *path);

#endif
