/* SPDX-License-Identifier: MIT */
/*
 * The private interface of libxentoolcore the other libraries use. Layout
 * compatible with Xen's Xentoolcore__Active_Handle (callback, then a BSD
 * list entry), so Xen's own libraries could register with ours too.
 */
#ifndef XVB_SIM_TOOLCORE_H
#define XVB_SIM_TOOLCORE_H

#include <xentoolcore.h>

struct xtc_handle;
typedef int xtc_restrict_fn(struct xtc_handle *ah, domid_t domid);

struct xtc_handle {
	xtc_restrict_fn *restrict_cb;
	struct xtc_handle *next;
	struct xtc_handle **pprev;
};

void xentoolcore__register_active_handle(struct xtc_handle *ah);
void xentoolcore__deregister_active_handle(struct xtc_handle *ah);
/* Make fd useless (dup2 of /dev/null over it): 0, or -1 with errno. */
int xentoolcore__restrict_by_dup2_null(int fd);

#endif
