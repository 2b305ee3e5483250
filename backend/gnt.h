/* SPDX-License-Identifier: MIT */
/*
 * Guest memory by grant mapping (grant_usage=1, Xen's grant DMA): a DMA
 * address with bit 63 set names grant references, consecutive for a
 * multi-page buffer. Device-readable buffers are mapped read-only.
 */
#ifndef XVB_BACKEND_GNT_H
#define XVB_BACKEND_GNT_H

#include <stdint.h>
#include <xengnttab.h>

#include "lib/log.h"
#include "virtio/gmem.h"

#define XB_GRANT_BIT (1ULL << 63)
#define XB_GRANT_MAX_PAGES 32 /* one map() covers at most 128 KiB */

struct xb_gnt {
	xengnttab_handle *xgt;
	uint32_t domid;
	struct log_ctx *log;
	unsigned long live; /* pages mapped now */
};

/* The gmem ops over a struct xb_gnt (opaque). */
extern const struct gmem_ops xb_gnt_ops;

#endif
