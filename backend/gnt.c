// SPDX-License-Identifier: MIT
/*
 * Grant mappings behind struct gmem_ops. Each map() maps the grants one
 * buffer spans (clamped at XB_GRANT_MAX_PAGES) and each unmap() gives them
 * back, so nothing stays mapped once a request completes: the guest may
 * revoke a grant as soon as it has its buffer back.
 */
#define LOG_MOD "gnt"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

#include "gnt.h"

#define PAGE 4096ULL

static void *gnt_map(void *opaque, uint64_t addr, size_t *len, int prot)
{
	struct xb_gnt *g = opaque;
	uint32_t refs[XB_GRANT_MAX_PAGES];
	uint64_t first, off = addr & (PAGE - 1);
	size_t n, want = *len;
	char *p;

	/* Refuses plain guest-physical addresses: only grants are mapped. */
	if (!(addr & XB_GRANT_BIT) || !want)
		return NULL;
	first = (addr & ~XB_GRANT_BIT) >> 12;
	/* Clamps before adding: a length near SIZE_MAX must not wrap. */
	if (want > XB_GRANT_MAX_PAGES * PAGE - off)
		want = XB_GRANT_MAX_PAGES * PAGE - off;
	n = (off + want + PAGE - 1) / PAGE;
	/* Rejects references past the 32-bit grant space. */
	if (first + n - 1 > UINT32_MAX)
		return NULL;
	for (size_t i = 0; i < n; i++)
		refs[i] = first + i;
	p = xengnttab_map_domain_grant_refs(
		g->xgt, n, g->domid, refs,
		prot & GMEM_WRITE ? PROT_READ | PROT_WRITE : PROT_READ);
	if (!p) {
		log_guest(g->log, "grants %llu+%zu not mappable: %s",
			  (unsigned long long)first, n, strerror(errno));
		return NULL;
	}
	/* Queue threads map and unmap concurrently. */
	__atomic_fetch_add(&g->live, n, __ATOMIC_RELAXED);
	*len = want;
	return p + off;
}

static void gnt_unmap(void *opaque, void *hva, size_t len)
{
	struct xb_gnt *g = opaque;
	uintptr_t a = (uintptr_t)hva, off = a & (PAGE - 1);
	size_t n = (off + len + PAGE - 1) / PAGE;

	if (xengnttab_unmap(g->xgt, (void *)(a - off), n))
		log_err(g->log, "unmapping %zu grant pages: %s", n,
			strerror(errno));
	else
		__atomic_fetch_sub(&g->live, n, __ATOMIC_RELAXED);
}

static const char *gnt_why(void *opaque, uint64_t addr)
{
	if (!(addr & XB_GRANT_BIT))
		return "is not a grant address: the guest needs CONFIG_XEN_VIRTIO, or set grant_usage=0";
	return "names grant references the guest did not grant";
}

const struct gmem_ops xb_gnt_ops = {
	.map = gnt_map,
	.unmap = gnt_unmap,
	.why = gnt_why,
};
