/* SPDX-License-Identifier: MIT */
/*
 * Guest memory by foreign mapping: a mapping cache of 2 MiB buckets placed
 * at fixed offsets inside a reserved virtual range per RAM bank, so that
 * neighbouring buckets are contiguous and hva <-> gpa is arithmetic.
 */
#ifndef XVB_BACKEND_FMEM_H
#define XVB_BACKEND_FMEM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <xenforeignmemory.h>

#include "lib/log.h"
#include "virtio/gmem.h"

#define XB_BUCKET_SHIFT 21
#define XB_BUCKET_PAGES (1U << (XB_BUCKET_SHIFT - 12))

struct xb_bucket;

struct xb_bank {
	uint64_t base, size; /* guest-physical */
	char *va;	     /* reserved PROT_NONE range of @size bytes */
	struct xb_bucket **l1[1024]; /* 1 GiB each -> 512 buckets */
};

struct xb_fmem {
	xenforeignmemory_handle *xfm;
	uint32_t domid;
	struct log_ctx *log;
	pthread_mutex_t lock;
	struct xb_bank banks[2];
	unsigned int live_buckets;
	uint64_t nr_bucket_maps; /* statistics */
};

/* Reserves the banks' address ranges. Returns 0 or -errno. */
int xb_fmem_init(struct xb_fmem *fm, xenforeignmemory_handle *xfm,
		 uint32_t domid, struct log_ctx *log);

/* Unmaps every bucket and releases the reservations. Accepts a zeroed fm. */
void xb_fmem_exit(struct xb_fmem *fm);

/*
 * IOREQ_TYPE_INVALIDATE: drop every cached mapping. Buckets with buffers in
 * flight are dropped when their last user unmaps.
 */
void xb_fmem_invalidate(struct xb_fmem *fm);

/* The gmem ops over @fm (opaque = fm). */
extern const struct gmem_ops xb_fmem_ops;

#endif
