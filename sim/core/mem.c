// SPDX-License-Identifier: MIT
/*
 * Guest RAM (one memfd per Arm RAM bank) and the guest's grant table:
 * what foreign and grant mappings resolve to, and what they refuse.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

static int bank_init(struct xsim_bank *b, uint64_t base, uint64_t size)
{
	b->base = base;
	b->size = size;
	b->fd = memfd_create("xsim-ram", MFD_CLOEXEC);
	if (b->fd < 0)
		return -errno;
	if (ftruncate(b->fd, size))
		return -errno;
	b->hva = mmap(NULL, size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_NORESERVE, b->fd, 0);
	if (b->hva == MAP_FAILED) {
		b->hva = NULL;
		return -errno;
	}
	return 0;
}

/* RAM0 at 1 GiB up to 3 GiB, the rest in RAM1 at 8 GiB (arch-arm.h). */
int mem_dom_init(struct xsim_dom *d, uint64_t ram_bytes)
{
	uint64_t r0 = ram_bytes < XSIM_RAM0_MAX ? ram_bytes : XSIM_RAM0_MAX;
	int rc;

	d->bank[0].fd = d->bank[1].fd = -1;
	if (!ram_bytes)
		return 0;
	rc = bank_init(&d->bank[0], XSIM_RAM0_BASE, r0);
	d->nr_banks = 1;
	if (rc || ram_bytes == r0)
		return rc;
	d->nr_banks = 2;
	return bank_init(&d->bank[1], XSIM_RAM1_BASE, ram_bytes - r0);
}

void mem_dom_free(struct xsim_dom *d)
{
	for (unsigned int i = 0; i < d->nr_banks; i++) {
		if (d->bank[i].hva)
			munmap(d->bank[i].hva, d->bank[i].size);
		if (d->bank[i].fd >= 0)
			close(d->bank[i].fd);
	}
	d->nr_banks = 0;
}

int mem_find(const struct xsim_dom *d, uint64_t gfn, uint64_t count,
	     uint64_t *off)
{
	if (!count || gfn > (UINT64_MAX >> PAGE_SHIFT) - count)
		return -1;
	for (unsigned int i = 0; i < d->nr_banks; i++) {
		const struct xsim_bank *b = &d->bank[i];
		uint64_t s = gfn << PAGE_SHIFT, e = (gfn + count) << PAGE_SHIFT;

		if (s >= b->base && e <= b->base + b->size) {
			*off = s - b->base;
			return i;
		}
	}
	return -1;
}

static void *ram_ptr(struct xsim_dom *d, uint64_t gpa, size_t len)
{
	for (unsigned int i = 0; i < d->nr_banks; i++) {
		struct xsim_bank *b = &d->bank[i];

		if (gpa >= b->base && len <= b->size &&
		    gpa - b->base <= b->size - len)
			return b->hva + (gpa - b->base);
	}
	return NULL;
}

void *xsim_ram_ptr(struct xsim *sim, uint32_t domid, uint64_t gpa, size_t len)
{
	struct xsim_dom *d;
	void *p = NULL;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d)
		p = ram_ptr(d, gpa, len);
	pthread_mutex_unlock(&sim->lock);
	return p;
}

int xsim_ram_read(struct xsim *sim, uint32_t domid, uint64_t gpa, void *buf,
		  size_t len)
{
	void *p = xsim_ram_ptr(sim, domid, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(buf, p, len);
	return 0;
}

int xsim_ram_write(struct xsim *sim, uint32_t domid, uint64_t gpa,
		   const void *buf, size_t len)
{
	void *p = xsim_ram_ptr(sim, domid, gpa, len);

	if (!p)
		return -EFAULT;
	memcpy(p, buf, len);
	return 0;
}

/* ---- grants ------------------------------------------------------------- */

int xsim_grant(struct xsim *sim, uint32_t domid, uint32_t gref,
	       uint32_t to_domid, uint64_t gfn, bool readonly)
{
	struct xsim_grant *g;
	struct xsim_dom *d;
	uint64_t off;
	int rc;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	rc = -ESRCH;
	if (!d)
		goto out;
	rc = -EINVAL;
	if (gref >= d->nr_grants || mem_find(d, gfn, 1, &off) < 0)
		goto out;
	g = &d->grant[gref];
	rc = -EBUSY;
	if (g->in_use && g->maps)
		goto out;
	*g = (struct xsim_grant){ .in_use = true,
				  .readonly = readonly,
				  .to_dom = to_domid,
				  .gfn = gfn };
	rc = 0;
out:
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_grant_end(struct xsim *sim, uint32_t domid, uint32_t gref)
{
	struct xsim_dom *d;
	int rc;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	rc = -ESRCH;
	if (!d)
		goto out;
	rc = -EINVAL;
	if (gref >= d->nr_grants || !d->grant[gref].in_use)
		goto out;
	rc = -EBUSY; /* gnttab_end_foreign_access_ref() fails while mapped */
	if (d->grant[gref].maps)
		goto out;
	d->grant[gref].in_use = false;
	rc = 0;
out:
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

/* Index of fd in fds[], appending it if new; -1 if full. */
static int fd_slot(int *fds, unsigned int *nfds, int fd)
{
	for (unsigned int i = 0; i < *nfds; i++)
		if (fds[i] == fd)
			return i;
	if (*nfds == XSIM_MAX_FDS)
		return -1;
	fds[*nfds] = fd;
	return (*nfds)++;
}

/*
 * GNTTABOP_map_grant_ref for every ref, all or nothing. A ref that is not
 * granted to the caller, or read-only for a writable map, fails the lot
 * with EINVAL, the errno gntdev returns for a bad status.
 */
int grant_map(struct xsim *sim, struct xsim_conn *c,
	      const struct xsim_gref *refs, unsigned int n, bool writable,
	      struct xsim_run_map *out, int *fds, unsigned int *nfds)
{
	*nfds = 0;
	if (!n || (c->max_grants && c->grants + n > c->max_grants))
		return -EINVAL;
	for (unsigned int i = 0; i < n; i++) {
		struct xsim_dom *d = dom_find(sim, refs[i].domid);
		const struct xsim_grant *g;
		uint64_t off;
		int b, slot;

		if (!d || refs[i].ref >= d->nr_grants)
			return -EINVAL;
		g = &d->grant[refs[i].ref];
		if (!g->in_use || g->to_dom != c->domid ||
		    (writable && g->readonly))
			return -EINVAL;
		b = mem_find(d, g->gfn, 1, &off);
		if (b < 0)
			return -EINVAL;
		slot = fd_slot(fds, nfds, d->bank[b].fd);
		if (slot < 0)
			return -E2BIG;
		out[i] = (struct xsim_run_map){ .fd_index = slot,
						.offset = off };
	}
	for (unsigned int i = 0; i < n; i++)
		dom_find(sim, refs[i].domid)->grant[refs[i].ref].maps++;
	c->grants += n;
	sim->stats.grant_maps += n;
	return 0;
}

void grant_unmap(struct xsim *sim, struct xsim_conn *c,
		 const struct xsim_gref *refs, unsigned int n)
{
	for (unsigned int i = 0; i < n && c->grants; i++) {
		struct xsim_dom *d = dom_find(sim, refs[i].domid);

		if (d && refs[i].ref < d->nr_grants &&
		    d->grant[refs[i].ref].maps)
			d->grant[refs[i].ref].maps--;
		c->grants--;
		sim->stats.grant_maps--;
	}
}
