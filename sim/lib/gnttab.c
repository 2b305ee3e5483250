// SPDX-License-Identifier: MIT
/*
 * libxengnttab on the simulator: a grant map is an mmap() of the frame the
 * guest granted, checked by the simulator against the guest's grant table.
 * xengntshr (sharing our own pages) is not modelled.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xengnttab.h>

#include "client.h"

#define MAX_REFS (XSIM_PAYLOAD_MAX / sizeof(struct xsim_run_map))

struct gmap {
	struct gmap *next;
	void *addr;
	uint32_t count;
	struct xsim_gref refs[];
};

struct xengntdev_handle {
	struct xsc c;
	pthread_mutex_t lock;
	struct gmap *maps;
};

/* Like the real library: restricting makes the gntdev fd /dev/null. */
static int restrict_cb(struct xtc_handle *ah, domid_t domid)
{
	return xentoolcore__restrict_by_dup2_null(xsc_of(ah)->fd);
}

xengnttab_handle *xengnttab_open(struct xentoollog_logger *logger,
				 unsigned int open_flags)
{
	xengnttab_handle *xgt = calloc(1, sizeof(*xgt));
	int saved;

	if (!xgt)
		return NULL;
	pthread_mutex_init(&xgt->lock, NULL);
	if (xsc_open(&xgt->c, XSIM_KIND_GNTTAB, restrict_cb)) {
		saved = errno;
		free(xgt);
		errno = saved;
		return NULL;
	}
	return xgt;
}

/* Mappings stay valid after close, as with gntdev. */
int xengnttab_close(xengnttab_handle *xgt)
{
	if (!xgt)
		return 0;
	xsc_close(&xgt->c);
	while (xgt->maps) {
		struct gmap *m = xgt->maps;

		xgt->maps = m->next;
		free(m);
	}
	free(xgt);
	return 0;
}

int xengnttab_fd(xengnttab_handle *xgt)
{
	return xgt->c.fd;
}

/* Give references back to the simulator's count. */
static void tell_unmapped(xengnttab_handle *xgt, const struct xsim_gref *refs,
			  uint32_t count)
{
	struct xsim_msg req = { .op = XSIM_OP_GNT_UNMAP }, rsp;

	xsc_call(&xgt->c, &req, refs, count * sizeof(*refs), &rsp, NULL, 0,
		 NULL, NULL, NULL);
}

/*
 * The gntdev map: one reservation, one mmap per reference. one_domain: all
 * references come from domids[0] (map_domain_grant_refs).
 */
static void *grant_map(xengnttab_handle *xgt, uint32_t count,
		       const uint32_t *domids, bool one_domain,
		       const uint32_t *refs, int prot)
{
	static __thread struct xsim_run_map out[MAX_REFS];
	struct xsim_msg req = { .op = XSIM_OP_GNT_MAP,
				.arg = { !!(prot & PROT_WRITE) } };
	struct xsim_msg rsp;
	struct gmap *m;
	int fds[XSIM_MAX_FDS], saved;
	unsigned int nfds = 0;
	char *base = MAP_FAILED;

	if (!count || count > MAX_REFS) {
		errno = EINVAL;
		return NULL;
	}
	m = calloc(1, sizeof(*m) + count * sizeof(m->refs[0]));
	if (!m)
		return NULL;
	m->count = count;
	for (uint32_t i = 0; i < count; i++)
		m->refs[i] =
			(struct xsim_gref){ one_domain ? domids[0] : domids[i],
					    refs[i] };
	if (xsc_call(&xgt->c, &req, m->refs, count * sizeof(m->refs[0]), &rsp,
		     out, sizeof(out), NULL, fds, &nfds))
		goto err;
	base = mmap(NULL, (size_t)count << XSIM_PAGE_SHIFT, PROT_NONE,
		    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (base == MAP_FAILED)
		goto err_unmap;
	for (uint32_t i = 0; i < count; i++) {
		if (out[i].fd_index >= nfds) {
			errno = EPROTO;
			goto err_unmap;
		}
		if (mmap(base + ((size_t)i << XSIM_PAGE_SHIFT), XSIM_PAGE_SIZE,
			 prot, MAP_SHARED | MAP_FIXED, fds[out[i].fd_index],
			 out[i].offset) == MAP_FAILED)
			goto err_unmap;
	}
	while (nfds)
		close(fds[--nfds]);
	m->addr = base;
	pthread_mutex_lock(&xgt->lock);
	m->next = xgt->maps;
	xgt->maps = m;
	pthread_mutex_unlock(&xgt->lock);
	return base;

err_unmap:
	saved = errno;
	if (base != MAP_FAILED)
		munmap(base, (size_t)count << XSIM_PAGE_SHIFT);
	tell_unmapped(xgt, m->refs, count);
	errno = saved;
err:
	saved = errno;
	while (nfds)
		close(fds[--nfds]);
	free(m);
	errno = saved;
	return NULL;
}

void *xengnttab_map_grant_ref(xengnttab_handle *xgt, uint32_t domid,
			      uint32_t ref, int prot)
{
	return grant_map(xgt, 1, &domid, true, &ref, prot);
}

void *xengnttab_map_grant_refs(xengnttab_handle *xgt, uint32_t count,
			       uint32_t *domids, uint32_t *refs, int prot)
{
	return grant_map(xgt, count, domids, false, refs, prot);
}

void *xengnttab_map_domain_grant_refs(xengnttab_handle *xgt, uint32_t count,
				      uint32_t domid, uint32_t *refs, int prot)
{
	return grant_map(xgt, count, &domid, true, refs, prot);
}

/* gntdev: the address must start a mapping of exactly count pages. */
int xengnttab_unmap(xengnttab_handle *xgt, void *start_address, uint32_t count)
{
	struct gmap **pp, *m = NULL;

	pthread_mutex_lock(&xgt->lock);
	for (pp = &xgt->maps; *pp; pp = &(*pp)->next) {
		if ((*pp)->addr == start_address && (*pp)->count == count) {
			m = *pp;
			*pp = m->next;
			break;
		}
	}
	pthread_mutex_unlock(&xgt->lock);
	if (!m) {
		errno = EINVAL;
		return -1;
	}
	munmap(m->addr, (size_t)count << XSIM_PAGE_SHIFT);
	tell_unmapped(xgt, m->refs, count);
	free(m);
	return 0;
}

int xengnttab_set_max_grants(xengnttab_handle *xgt, uint32_t nr_grants)
{
	return xsc_simple(&xgt->c, XSIM_OP_GNT_SET_MAX, 0, nr_grants, 0, 0, 0,
			  NULL);
}

/* ---- not modelled -------------------------------------------------------- */

void *xengnttab_map_grant_ref_notify(xengnttab_handle *xgt, uint32_t domid,
				     uint32_t ref, int prot,
				     uint32_t notify_offset,
				     evtchn_port_t notify_port)
{
	errno = ENOSYS;
	return NULL;
}

int xengnttab_grant_copy(xengnttab_handle *xgt, uint32_t count,
			 xengnttab_grant_copy_segment_t *segs)
{
	errno = ENOSYS;
	return -1;
}

int xengnttab_dmabuf_exp_from_refs(xengnttab_handle *xgt, uint32_t domid,
				   uint32_t flags, uint32_t count,
				   const uint32_t *refs, uint32_t *fd)
{
	errno = ENOSYS;
	return -1;
}

int xengnttab_dmabuf_exp_wait_released(xengnttab_handle *xgt, uint32_t fd,
				       uint32_t wait_to_ms)
{
	errno = ENOSYS;
	return -1;
}

int xengnttab_dmabuf_imp_to_refs(xengnttab_handle *xgt, uint32_t domid,
				 uint32_t fd, uint32_t count, uint32_t *refs)
{
	errno = ENOSYS;
	return -1;
}

int xengnttab_dmabuf_imp_release(xengnttab_handle *xgt, uint32_t fd)
{
	errno = ENOSYS;
	return -1;
}

xengntshr_handle *xengntshr_open(struct xentoollog_logger *logger,
				 unsigned int open_flags)
{
	errno = ENOSYS;
	return NULL;
}

int xengntshr_close(xengntshr_handle *xgs)
{
	return 0;
}

int xengntshr_fd(xengntshr_handle *xgs)
{
	errno = ENOSYS;
	return -1;
}

void *xengntshr_share_pages(xengntshr_handle *xgs, uint32_t domid, int count,
			    uint32_t *refs, int writable)
{
	errno = ENOSYS;
	return NULL;
}

void *xengntshr_share_page_notify(xengntshr_handle *xgs, uint32_t domid,
				  uint32_t *ref, int writable,
				  uint32_t notify_offset,
				  evtchn_port_t notify_port)
{
	errno = ENOSYS;
	return NULL;
}

int xengntshr_unshare(xengntshr_handle *xgs, void *start_address,
		      uint32_t count)
{
	errno = ENOSYS;
	return -1;
}
