// SPDX-License-Identifier: MIT
/*
 * libxenforeignmemory on the simulator: guest frames are mmap()s of the
 * simulator's RAM-bank memfds, ioreq pages of its ioreq-page memfd. The
 * simulator counts mapped pages; unmaps report back so leaks show.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xenforeignmemory.h>

#include "client.h"

#define RUNS_PER_CALL (XSIM_PAYLOAD_MAX / sizeof(struct xsim_run_map))

struct fmap {
	struct fmap *next;
	void *addr;
	size_t pages;
	size_t mapped; /* pages the simulator counted */
};

struct xenforeignmemory_handle {
	struct xsc c;
	pthread_mutex_t lock;
	struct fmap *maps;
};

struct xenforeignmemory_resource_handle {
	void *addr;
	unsigned long nr;
};

static int restrict_cb(struct xtc_handle *ah, domid_t domid)
{
	return xsc_restrict(xsc_of(ah), domid);
}

xenforeignmemory_handle *xenforeignmemory_open(struct xentoollog_logger *logger,
					       unsigned int open_flags)
{
	xenforeignmemory_handle *fm = calloc(1, sizeof(*fm));
	int saved;

	if (!fm)
		return NULL;
	pthread_mutex_init(&fm->lock, NULL);
	if (xsc_open(&fm->c, XSIM_KIND_FMEM, restrict_cb)) {
		saved = errno;
		free(fm);
		errno = saved;
		return NULL;
	}
	return fm;
}

/* Mappings outlive the handle, as privcmd mappings do. */
int xenforeignmemory_close(xenforeignmemory_handle *fm)
{
	if (!fm)
		return 0;
	xsc_close(&fm->c);
	while (fm->maps) {
		struct fmap *m = fm->maps;

		fm->maps = m->next;
		free(m);
	}
	free(fm);
	return 0;
}

static void tell_unmapped(xenforeignmemory_handle *fm, size_t pages)
{
	if (pages)
		xsc_simple(&fm->c, XSIM_OP_FMEM_UNMAP, 0, pages, 0, 0, 0, NULL);
}

/*
 * Map runs[0..n) at base + first[i] pages; err[] per page. Returns pages
 * mapped, or -1 with errno if the simulator refused the whole call.
 */
static long map_runs(xenforeignmemory_handle *fm, uint32_t dom, int prot,
		     char *base, const struct xsim_run *runs,
		     const size_t *first, size_t n, int *err)
{
	static __thread struct xsim_run_map out[RUNS_PER_CALL];
	struct xsim_msg req = { .op = XSIM_OP_FMEM_MAP,
				.domid = dom,
				.arg = { prot } };
	struct xsim_msg rsp;
	int fds[XSIM_MAX_FDS];
	unsigned int nfds;
	size_t rlen;
	long mapped = 0;

	if (xsc_call(&fm->c, &req, runs, n * sizeof(*runs), &rsp, out,
		     sizeof(out), &rlen, fds, &nfds))
		return -1;
	for (size_t i = 0; i < n && i * sizeof(*out) < rlen; i++) {
		char *at = base + (first[i] << XSIM_PAGE_SHIFT);
		int e = out[i].err;

		if (!e && out[i].fd_index >= nfds)
			e = EPROTO;
		if (!e && mmap(at, runs[i].count << XSIM_PAGE_SHIFT, prot,
			       MAP_SHARED | MAP_FIXED, fds[out[i].fd_index],
			       out[i].offset) == MAP_FAILED) {
			e = errno;
			tell_unmapped(fm, runs[i].count);
		}
		for (size_t p = 0; p < runs[i].count; p++)
			err[first[i] + p] = -e;
		if (!e)
			mapped += runs[i].count;
	}
	while (nfds)
		close(fds[--nfds]);
	return mapped;
}

/* Coalesce arr[] into runs of consecutive frames, RUNS_PER_CALL at a time. */
static long map_all(xenforeignmemory_handle *fm, uint32_t dom, int prot,
		    char *base, size_t pages, const xen_pfn_t arr[], int err[],
		    bool split)
{
	static __thread struct xsim_run runs[RUNS_PER_CALL];
	static __thread size_t first[RUNS_PER_CALL];
	size_t i = 0, n;
	long total = 0, got;

	while (i < pages) {
		for (n = 0; n < RUNS_PER_CALL && i < pages; n++) {
			runs[n] = (struct xsim_run){ arr[i], 1 };
			first[n] = i++;
			while (!split && i < pages &&
			       arr[i] == arr[i - 1] + 1) {
				runs[n].count++;
				i++;
			}
		}
		got = map_runs(fm, dom, prot, base, runs, first, n, err);
		if (got < 0)
			return -1;
		total += got;
	}
	return total;
}

static size_t count_mapped(const int *errs, size_t pages)
{
	size_t n = 0;

	for (size_t i = 0; i < pages; i++)
		n += !errs[i];
	return n;
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fm, uint32_t dom,
			    void *addr, int prot, int flags, size_t pages,
			    const xen_pfn_t arr[], int err[])
{
	int *errs = err ? err : calloc(pages ? pages : 1, sizeof(int));
	struct fmap *m = calloc(1, sizeof(*m));
	char *base = MAP_FAILED;
	int saved;

	if (!errs || !m)
		goto fail;
	for (size_t i = 0; i < pages; i++)
		errs[i] = -EFAULT; /* until the simulator says otherwise */
	/* a reserved window; frames are mapped over it, failures stay PROT_NONE */
	base = mmap(addr, pages << XSIM_PAGE_SHIFT, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS | (flags & MAP_FIXED), -1, 0);
	if (base == MAP_FAILED)
		goto fail;
	if (map_all(fm, dom, prot, base, pages, arr, errs, false) < 0)
		goto fail;
	/* a run with a bad frame in it failed whole: retry it frame by frame */
	for (size_t i = 0, j; i < pages; i = j) {
		j = i + 1;
		if (!errs[i])
			continue;
		while (j < pages && errs[j] && arr[j] == arr[j - 1] + 1)
			j++;
		if (j - i > 1 &&
		    map_all(fm, dom, prot, base + (i << XSIM_PAGE_SHIFT), j - i,
			    arr + i, errs + i, true) < 0)
			goto fail;
	}
	/* without err[], one bad frame fails the call (xenforeignmemory_map2) */
	if (!err) {
		for (size_t i = 0; i < pages; i++) {
			if (errs[i]) {
				errno = -errs[i];
				goto fail;
			}
		}
	}
	m->addr = base;
	m->pages = pages;
	m->mapped = count_mapped(errs, pages);
	pthread_mutex_lock(&fm->lock);
	m->next = fm->maps;
	fm->maps = m;
	pthread_mutex_unlock(&fm->lock);
	if (!err)
		free(errs);
	return base;

fail:
	saved = errno;
	if (base != MAP_FAILED) {
		munmap(base, pages << XSIM_PAGE_SHIFT);
		tell_unmapped(fm, count_mapped(errs, pages));
	}
	if (!err)
		free(errs);
	free(m);
	errno = saved;
	return NULL;
}

void *xenforeignmemory_map(xenforeignmemory_handle *fm, uint32_t dom, int prot,
			   size_t pages, const xen_pfn_t arr[], int err[])
{
	return xenforeignmemory_map2(fm, dom, NULL, prot, 0, pages, arr, err);
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fm, void *addr,
			   size_t pages)
{
	struct fmap **pp, *m = NULL;
	size_t counted = 0;

	pthread_mutex_lock(&fm->lock);
	for (pp = &fm->maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->addr == addr) {
			m = *pp;
			if (pages >= m->pages) {
				*pp = m->next;
				counted = m->mapped;
			} else {
				/* partial unmap from the start: count it off */
				counted = pages < m->mapped ? pages : m->mapped;
				m->mapped -= counted;
				m->pages -= pages;
				m->addr = (char *)m->addr +
					  (pages << XSIM_PAGE_SHIFT);
				m = NULL;
			}
			break;
		}
	}
	pthread_mutex_unlock(&fm->lock);
	free(m);
	tell_unmapped(fm, counted);
	return munmap(addr, pages << XSIM_PAGE_SHIFT);
}

int xenforeignmemory_restrict(xenforeignmemory_handle *fm, domid_t domid)
{
	return xsc_restrict(&fm->c, domid);
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fm, domid_t domid,
			      unsigned int type, unsigned int id,
			      unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	struct xsim_msg req = { .op = XSIM_OP_FMEM_MAP_RESOURCE,
				.domid = domid,
				.arg = { type, id, frame, nr_frames } };
	xenforeignmemory_resource_handle *fres;
	struct xsim_msg rsp;
	unsigned int nfds;
	int fd, saved;

	if (flags & ~(MAP_SHARED | MAP_PRIVATE)) {
		errno = EINVAL;
		return NULL;
	}
	fres = calloc(1, sizeof(*fres));
	if (!fres)
		return NULL;
	if (xsc_call(&fm->c, &req, NULL, 0, &rsp, NULL, 0, NULL, &fd, &nfds))
		goto err;
	if (nfds != 1) {
		errno = EPROTO;
		goto err_unmap;
	}
	fres->nr = nr_frames;
	fres->addr = mmap(*paddr, nr_frames << XSIM_PAGE_SHIFT, prot,
			  flags | MAP_SHARED, fd, rsp.arg[0]);
	saved = errno;
	close(fd);
	if (fres->addr == MAP_FAILED) {
		errno = saved;
		goto err_unmap;
	}
	*paddr = fres->addr;
	return fres;

err_unmap:
	saved = errno;
	xsc_simple(&fm->c, XSIM_OP_FMEM_UNMAP_RESOURCE, domid, type, id,
		   nr_frames, 0, NULL);
	errno = saved;
err:
	saved = errno;
	free(fres);
	errno = saved;
	return NULL;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fm,
				    xenforeignmemory_resource_handle *fres)
{
	int rc;

	if (!fres)
		return 0;
	rc = munmap(fres->addr, fres->nr << XSIM_PAGE_SHIFT);
	xsc_simple(&fm->c, XSIM_OP_FMEM_UNMAP_RESOURCE, 0, 0, 0, fres->nr, 0,
		   NULL);
	free(fres);
	return rc;
}

int xenforeignmemory_resource_size(xenforeignmemory_handle *fm, domid_t domid,
				   unsigned int type, unsigned int id,
				   size_t *size)
{
	uint64_t frames;

	if (xsc_simple(&fm->c, XSIM_OP_FMEM_RESOURCE_SIZE, domid, type, id, 0,
		       0, &frames))
		return -1;
	*size = frames << XSIM_PAGE_SHIFT;
	return 0;
}
