/* SPDX-License-Identifier: MIT */
/* Assertions shared by the virtio unit tests, on top of t.h and the rig. */
#ifndef XVB_TESTS_VT_H
#define XVB_TESTS_VT_H

#include "t.h"
#include "vrig.h"

/*
 * Declares a rig torn down when it goes out of scope, so a test that fails
 * half-way (T_* returns early) does not leak into the next one.
 */
#define RIG(name) \
	struct vrig name __attribute__((cleanup(vrig_cleanup))) = { 0 }

/* @expr (an int) must be 0; on failure report the rig's reason. */
#define T_RIG(r, expr) T_WHY(r, expr)

/* Bring a rig up with @opts (a struct vrig_opts *, may be NULL). */
#define T_RIG_START(r, opts) T_RIG(r, vrig_start(r, opts))

/* End of every test: nothing leaked, no contract breach. */
#define T_RIG_FINI(r) T_RIG(r, vrig_fini(r))

#endif
