// SPDX-License-Identifier: MIT
/*
 * The foreign-mapping cache behind struct gmem_ops. Each RAM bank gets a
 * PROT_NONE reservation as large as the bank; a 2 MiB bucket of guest frames
 * is mapped on first use at its fixed place inside it, so a range that spans
 * buckets is contiguous, and an unmap finds its buckets by arithmetic.
 * Buckets are reference-counted by the maps that use them.
 */
#define LOG_MOD "fmem"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "fmem.h"
#include "layout.h"

#define BUCKET_SIZE (1ULL << XB_BUCKET_SHIFT)
#define L2_ENTRIES 512 /* buckets per 1 GiB */

struct xb_bucket {
	unsigned int refs; /* map() calls using it, not yet unmapped */
	bool stale;	   /* invalidated while in use */
	bool lost;	   /* its address range could not be re-reserved */
	uint64_t valid[XB_BUCKET_PAGES / 64]; /* frames Xen mapped */
};

static int reserve(void *addr, size_t len, bool fixed)
{
	int flags = MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE;
	void *p;

	if (fixed)
		flags |= MAP_FIXED_NOREPLACE;
	p = mmap(addr, len, PROT_NONE, flags, -1, 0);
	if (p == MAP_FAILED)
		return -errno;
	if (fixed && p != addr) { /* kernels without NOREPLACE */
		munmap(p, len);
		return -EEXIST;
	}
	return 0;
}

int xb_fmem_init(struct xb_fmem *fm, xenforeignmemory_handle *xfm,
		 uint32_t domid, struct log_ctx *log)
{
	static const uint64_t base[2] = { XB_RAM0_BASE, XB_RAM1_BASE };
	static const uint64_t size[2] = { XB_RAM0_SIZE, XB_RAM1_SIZE };
	unsigned int i;

	memset(fm, 0, sizeof(*fm));
	fm->xfm = xfm;
	fm->domid = domid;
	fm->log = log;
	pthread_mutex_init(&fm->lock, NULL);
	for (i = 0; i < 2; i++) {
		void *va = mmap(NULL, size[i], PROT_NONE,
				MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1,
				0);

		if (va == MAP_FAILED) {
			int rc = -errno;

			xb_fmem_exit(fm);
			return rc;
		}
		fm->banks[i].base = base[i];
		fm->banks[i].size = size[i];
		fm->banks[i].va = va;
	}
	return 0;
}

static struct xb_bank *bank_of_gpa(struct xb_fmem *fm, uint64_t gpa)
{
	for (unsigned int i = 0; i < 2; i++) {
		struct xb_bank *b = &fm->banks[i];

		if (b->va && gpa >= b->base && gpa - b->base < b->size)
			return b;
	}
	return NULL;
}

static struct xb_bank *bank_of_hva(struct xb_fmem *fm, const char *hva)
{
	for (unsigned int i = 0; i < 2; i++) {
		struct xb_bank *b = &fm->banks[i];

		if (b->va && hva >= b->va && (uint64_t)(hva - b->va) < b->size)
			return b;
	}
	return NULL;
}

static struct xb_bucket **slot(struct xb_bank *bank, uint64_t bidx, bool alloc)
{
	struct xb_bucket ***l2 = &bank->l1[bidx / L2_ENTRIES];

	if (!*l2 && alloc)
		*l2 = calloc(L2_ENTRIES, sizeof(**l2));
	if (!*l2)
		return NULL;
	return &(*l2)[bidx % L2_ENTRIES];
}

static char *bucket_va(const struct xb_bank *bank, uint64_t bidx)
{
	return bank->va + (bidx << XB_BUCKET_SHIFT);
}

/* Maps bucket @bidx at its fixed place. NULL if no frame of it is RAM. */
static struct xb_bucket *bucket_map(struct xb_fmem *fm, struct xb_bank *bank,
				    uint64_t bidx)
{
	xen_pfn_t pfns[XB_BUCKET_PAGES];
	int err[XB_BUCKET_PAGES];
	char *va = bucket_va(bank, bidx);
	struct xb_bucket *b;
	unsigned int i, nr_valid = 0;
	void *p;

	b = calloc(1, sizeof(*b));
	if (!b)
		return NULL;
	for (i = 0; i < XB_BUCKET_PAGES; i++)
		pfns[i] = ((bank->base >> XB_PAGE_SHIFT) +
			   (bidx << (XB_BUCKET_SHIFT - XB_PAGE_SHIFT)) + i);
	p = xenforeignmemory_map2(fm->xfm, fm->domid, va,
				  PROT_READ | PROT_WRITE, MAP_FIXED,
				  XB_BUCKET_PAGES, pfns, err);
	if (p != va) {
		if (p)
			xenforeignmemory_unmap(fm->xfm, p, XB_BUCKET_PAGES);
		/* A failed fixed map may have left a hole; fill it again. */
		reserve(va, BUCKET_SIZE, true);
		free(b);
		return NULL;
	}
	for (i = 0; i < XB_BUCKET_PAGES; i++) {
		if (!err[i]) {
			b->valid[i / 64] |= 1ULL << (i % 64);
			nr_valid++;
		}
	}
	if (!nr_valid) {
		/* Not RAM at all: do not cache (a guest could fill memory). */
		xenforeignmemory_unmap(fm->xfm, va, XB_BUCKET_PAGES);
		reserve(va, BUCKET_SIZE, true);
		free(b);
		return NULL;
	}
	fm->live_buckets++;
	fm->nr_bucket_maps++;
	return b;
}

static void bucket_unmap(struct xb_fmem *fm, struct xb_bank *bank,
			 uint64_t bidx, struct xb_bucket **s)
{
	char *va = bucket_va(bank, bidx);

	if (xenforeignmemory_unmap(fm->xfm, va, XB_BUCKET_PAGES))
		log_err(fm->log, "unmapping gpa 0x%llx: %s",
			(unsigned long long)(bank->base +
					     (bidx << XB_BUCKET_SHIFT)),
			strerror(errno));
	fm->live_buckets--;
	if (reserve(va, BUCKET_SIZE, true)) {
		/* Someone else mapped there: never map this bucket again. */
		log_err(fm->log, "lost the reservation of a bucket");
		memset((*s)->valid, 0, sizeof((*s)->valid));
		(*s)->lost = true;
		(*s)->refs = 0;
		return;
	}
	free(*s);
	*s = NULL;
}

static bool page_valid(const struct xb_bucket *b, unsigned int page)
{
	return b->valid[page / 64] & (1ULL << (page % 64));
}

static void *fmem_map(void *opaque, uint64_t gpa, size_t *len, int prot)
{
	struct xb_fmem *fm = opaque;
	struct xb_bank *bank;
	uint64_t cur, end;

	pthread_mutex_lock(&fm->lock);
	bank = bank_of_gpa(fm, gpa);
	if (!bank || !*len)
		goto refuse;
	/* Clamps at the bank's end (this also rules out wrapping). */
	end = bank->base + bank->size;
	if (*len < end - gpa)
		end = gpa + *len;

	for (cur = gpa; cur < end;) {
		uint64_t bidx = (cur - bank->base) >> XB_BUCKET_SHIFT;
		uint64_t bend = bank->base + ((bidx + 1) << XB_BUCKET_SHIFT);
		struct xb_bucket **s = slot(bank, bidx, true);
		uint64_t start = cur;

		if (!s)
			break;
		if (!*s)
			*s = bucket_map(fm, bank, bidx);
		if (!*s)
			break;
		/* Takes whole valid frames up to the first invalid one. */
		while (cur < end && cur < bend &&
		       page_valid(*s, ((cur - bank->base) >> XB_PAGE_SHIFT) %
					      XB_BUCKET_PAGES))
			cur = (cur | (XB_PAGE_SIZE - 1)) + 1;
		if (cur == start)
			break;
		(*s)->refs++;
		if (cur < bend && cur < end)
			break; /* stopped at a hole */
	}
	if (cur > end)
		cur = end;
	if (cur == gpa)
		goto refuse;
	*len = cur - gpa;
	pthread_mutex_unlock(&fm->lock);
	return bank->va + (gpa - bank->base);

refuse:
	pthread_mutex_unlock(&fm->lock);
	return NULL;
}

static void fmem_unmap(void *opaque, void *hva, size_t len)
{
	struct xb_fmem *fm = opaque;
	struct xb_bank *bank;
	uint64_t off, first, last, bidx;

	pthread_mutex_lock(&fm->lock);
	bank = bank_of_hva(fm, hva);
	if (!bank || !len) {
		log_err(fm->log, "unmap of %p+%zu: not a guest mapping", hva,
			len);
		goto out;
	}
	off = (char *)hva - bank->va;
	first = off >> XB_BUCKET_SHIFT;
	last = (off + len - 1) >> XB_BUCKET_SHIFT;
	for (bidx = first; bidx <= last; bidx++) {
		struct xb_bucket **s = slot(bank, bidx, false);

		if (!s || !*s || !(*s)->refs) {
			log_err(fm->log, "unbalanced unmap at %p", hva);
			continue;
		}
		if (!--(*s)->refs && (*s)->stale)
			bucket_unmap(fm, bank, bidx, s);
	}
out:
	pthread_mutex_unlock(&fm->lock);
}

static const char *fmem_why(void *opaque, uint64_t gpa)
{
	/* Linux's Xen grant DMA sets bit 63: a guest using grants. */
	if (gpa >> 63)
		return "is not in guest RAM: a grant address, but the device has grant_usage=0 (set grant_usage=1, or build the guest without CONFIG_XEN_VIRTIO)";
	return "is not in guest RAM";
}

const struct gmem_ops xb_fmem_ops = {
	.map = fmem_map,
	.unmap = fmem_unmap,
	.why = fmem_why,
};

/* Calls @fn on every bucket slot in use. */
static void for_each_bucket(struct xb_fmem *fm,
			    void (*fn)(struct xb_fmem *, struct xb_bank *,
				       uint64_t, struct xb_bucket **))
{
	for (unsigned int i = 0; i < 2; i++) {
		struct xb_bank *bank = &fm->banks[i];

		for (unsigned int j = 0; j < ARRAY_SIZE(bank->l1); j++) {
			if (!bank->l1[j])
				continue;
			for (unsigned int k = 0; k < L2_ENTRIES; k++)
				if (bank->l1[j][k] && !bank->l1[j][k]->lost)
					fn(fm, bank,
					   (uint64_t)j * L2_ENTRIES + k,
					   &bank->l1[j][k]);
		}
	}
}

static void invalidate_one(struct xb_fmem *fm, struct xb_bank *bank,
			   uint64_t bidx, struct xb_bucket **s)
{
	if ((*s)->refs)
		(*s)->stale = true;
	else
		bucket_unmap(fm, bank, bidx, s);
}

void xb_fmem_invalidate(struct xb_fmem *fm)
{
	pthread_mutex_lock(&fm->lock);
	for_each_bucket(fm, invalidate_one);
	pthread_mutex_unlock(&fm->lock);
}

static void drop_one(struct xb_fmem *fm, struct xb_bank *bank, uint64_t bidx,
		     struct xb_bucket **s)
{
	if ((*s)->refs)
		log_err(fm->log, "bucket %llu still has %u users at exit",
			(unsigned long long)bidx, (*s)->refs);
	xenforeignmemory_unmap(fm->xfm, bucket_va(bank, bidx), XB_BUCKET_PAGES);
	fm->live_buckets--;
	free(*s);
	*s = NULL;
}

void xb_fmem_exit(struct xb_fmem *fm)
{
	unsigned int i, j;

	if (!fm->banks[0].va && !fm->banks[1].va)
		return;
	for_each_bucket(fm, drop_one);
	for (i = 0; i < 2; i++) {
		struct xb_bank *bank = &fm->banks[i];

		for (j = 0; j < ARRAY_SIZE(bank->l1); j++) {
			if (bank->l1[j])
				for (unsigned int k = 0; k < L2_ENTRIES; k++)
					free(bank->l1[j][k]); /* lost ones */
			free(bank->l1[j]);
			bank->l1[j] = NULL;
		}
		if (bank->va)
			munmap(bank->va, bank->size);
		bank->va = NULL;
	}
	pthread_mutex_destroy(&fm->lock);
}
