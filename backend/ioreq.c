// SPDX-License-Identifier: MIT
/*
 * The ioreq server: setup in the order Xen requires, and the serving loop.
 * Each READY slot is copied once into private memory, validated, handed to
 * the window's owner, answered (data, then state), and only then is any
 * queue kick delivered: a vCPU never waits for a ring walk.
 */
#define LOG_MOD "ioreq"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "lib/compiler.h"
#include "ioreq.h"

/* The state bitfield shares byte 30 of the slot with data_is_ptr/dir/df. */
#define SLOT_FLAGS_OFF 30
_Static_assert(sizeof(ioreq_t) == 32, "ioreq_t layout");
_Static_assert(offsetof(ioreq_t, type) == 31, "ioreq_t layout");

static volatile uint8_t *slot_flags(ioreq_t *slot)
{
	return (volatile uint8_t *)slot + SLOT_FLAGS_OFF;
}

static unsigned int slot_state(ioreq_t *slot)
{
	return *slot_flags(slot) & 0xf;
}

/* Copies a slot with volatile loads, so no field is ever read twice. */
static void slot_copy(ioreq_t *slot, ioreq_t *copy)
{
	const volatile uint64_t *src = (const volatile uint64_t *)slot;
	uint64_t *dst = (uint64_t *)copy;

	for (unsigned int i = 0; i < sizeof(*copy) / 8; i++)
		dst[i] = src[i];
}

/* Only ever READY -> IORESP_READY: Xen crashes a guest on a backward move. */
static void slot_answer(ioreq_t *slot, uint64_t data)
{
	volatile uint8_t *flags = slot_flags(slot);

	WRITE_ONCE(slot->data, data);
	/* data, then state: pairs with Xen's rmb after it reads the state. */
	smp_wmb();
	*flags = (*flags & ~0xf) | STATE_IORESP_READY;
}

/* One slot (and one event channel, unbound yet) per vCPU of the guest. */
static int alloc_slots(struct xb_ioreq *io, xendevicemodel_handle *xdm,
		       uint32_t domid, struct log_ctx *log)
{
	unsigned int v;

	if (xendevicemodel_nr_vcpus(xdm, domid, &v)) {
		int e = errno;

		log_err(log, "nr_vcpus: %s", strerror(e));
		return -e;
	}
	/* One slot per vCPU must fit the page. */
	if (!v || v > 4096 / sizeof(ioreq_t)) {
		log_err(log, "%u vCPUs do not fit one ioreq page", v);
		return -ERANGE;
	}
	io->nr_vcpus = v;
	io->ports = malloc(v * sizeof(*io->ports));
	if (!io->ports)
		return -ENOMEM;
	for (v = 0; v < io->nr_vcpus; v++)
		io->ports[v] = ~0U;
	return 0;
}

static void ioreq_init(struct xb_ioreq *io, uint32_t domid, struct log_ctx *log,
		       xendevicemodel_handle *xdm, xenforeignmemory_handle *xfm,
		       xenevtchn_handle *xce)
{
	memset(io, 0, sizeof(*io));
	io->domid = domid;
	io->log = log;
	io->xdm = xdm;
	io->xfm = xfm;
	io->xce = xce;
}

/* Maps server io->id's ioreq page (@whose names it in a log line) and
 * sizes its slots. */
static int map_page(struct xb_ioreq *io, const char *whose)
{
	void *addr = NULL;

	io->res = xenforeignmemory_map_resource(
		io->xfm, io->domid, XENMEM_resource_ioreq_server, io->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	if (!io->res) {
		int e = errno;

		log_err(io->log, "mapping %s ioreq page: %s", whose,
			strerror(e));
		return -e;
	}
	io->page = addr;
	return alloc_slots(io, io->xdm, io->domid, io->log);
}

int xb_ioreq_open(struct xb_ioreq *io, uint32_t domid, struct log_ctx *log,
		  xendevicemodel_handle *xdm, xenforeignmemory_handle *xfm,
		  xenevtchn_handle *xce)
{
	int rc;

	ioreq_init(io, domid, log, xdm, xfm, xce);
	/* Arm refuses buffered ioreqs. */
	if (xendevicemodel_create_ioreq_server(
		    xdm, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &io->id)) {
		rc = -errno;
		log_err(log, "create_ioreq_server: %s%s", strerror(errno),
			errno == ENOSYS ?
				" (hypervisor built without CONFIG_IOREQ_SERVER?)" :
				"");
		goto err;
	}
	io->created = true;
	rc = map_page(io, "the");
	if (rc)
		goto err;
	return 0;

err:
	xb_ioreq_close(io);
	return rc;
}

int xb_ioreq_map_window(struct xb_ioreq *io, uint64_t base, uint64_t size,
			void *cookie)
{
	struct xb_window *w;

	if (io->nr_windows == XB_MAX_WINDOWS)
		return -ENOSPC;
	if (xendevicemodel_map_io_range_to_ioreq_server(
		    io->xdm, io->domid, io->id, 1 /* mmio */, base,
		    base + size - 1)) {
		int rc = -errno;

		log_err(io->log, "mapping window 0x%llx: %s",
			(unsigned long long)base, strerror(errno));
		return rc;
	}
	w = &io->windows[io->nr_windows++];
	w->base = base;
	w->size = size;
	w->cookie = cookie;
	return 0;
}

int xb_ioreq_unmap_window(struct xb_ioreq *io, void *cookie)
{
	for (unsigned int i = 0; i < io->nr_windows; i++) {
		struct xb_window *w = &io->windows[i];

		if (w->cookie != cookie)
			continue;
		xendevicemodel_unmap_io_range_from_ioreq_server(
			io->xdm, io->domid, io->id, 1, w->base,
			w->base + w->size - 1);
		*w = io->windows[--io->nr_windows];
		return 0;
	}
	return -ENOENT;
}

/* Xen writes each vCPU's vp_eport into the page only once enabled. */
static int bind_ports(struct xb_ioreq *io)
{
	for (unsigned int v = 0; v < io->nr_vcpus; v++) {
		uint32_t remote = READ_ONCE(io->page->vcpu_ioreq[v].vp_eport);
		xenevtchn_port_or_error_t p;

		p = xenevtchn_bind_interdomain(io->xce, io->domid, remote);
		if (p < 0) {
			int rc = -errno;

			log_err(io->log, "binding vCPU %u's port %u: %s", v,
				remote, strerror(errno));
			return rc;
		}
		io->ports[v] = p;
		log_dbg(io->log, "vCPU %u: remote port %u bound as %d", v,
			remote, p);
	}
	return 0;
}

int xb_ioreq_enable(struct xb_ioreq *io)
{
	int rc;

	if (xendevicemodel_set_ioreq_server_state(io->xdm, io->domid, io->id,
						  1)) {
		rc = -errno;
		log_err(io->log, "enabling the ioreq server: %s",
			strerror(errno));
		return rc;
	}
	io->enabled = true;
	rc = bind_ports(io);
	if (rc)
		return rc;
	/* A request made before its port was bound was never signalled. */
	for (unsigned int v = 0; v < io->nr_vcpus; v++)
		xb_ioreq_serve_vcpu(io, v);
	return 0;
}

/* The window wholly holding [addr, addr + size), or -1. */
static int find_window(const struct xb_ioreq *io, uint64_t addr,
		       unsigned int size)
{
	for (unsigned int i = 0; i < io->nr_windows; i++) {
		const struct xb_window *w = &io->windows[i];

		if (addr >= w->base && addr - w->base < w->size &&
		    size <= w->size - (addr - w->base))
			return i;
	}
	return -1;
}

enum xb_ioreq_verdict xb_ioreq_check(const struct xb_ioreq *io,
				     const ioreq_t *copy, struct xb_req *req,
				     int *win, uint64_t *answer)
{
	*win = -1;
	*answer = 0;
	if (copy->type == IOREQ_TYPE_INVALIDATE)
		return XB_IOREQ_INVALIDATE;
	/* Arm sends single, direct MMIO accesses of 1, 2, 4 or 8 bytes. */
	if (copy->type != IOREQ_TYPE_COPY || copy->count != 1 ||
	    copy->data_is_ptr ||
	    (copy->size != 1 && copy->size != 2 && copy->size != 4 &&
	     copy->size != 8)) {
		*answer = ~0ULL;
		return XB_IOREQ_BAD;
	}
	/* Rejects accesses not wholly inside one of our windows. */
	*win = find_window(io, copy->addr, copy->size);
	if (*win < 0) {
		*answer = copy->dir == IOREQ_READ ? ~0ULL : 0;
		return XB_IOREQ_OUTSIDE;
	}
	req->addr = copy->addr;
	req->size = copy->size;
	req->write = copy->dir == IOREQ_WRITE;
	req->data = req->write ? copy->data : 0;
	return XB_IOREQ_MMIO;
}

uint64_t xb_ioreq_answer(const ioreq_t *copy, const struct xb_req *req)
{
	if (req->write)
		return copy->data;
	if (copy->size >= 8)
		return req->data;
	return req->data & ((1ULL << (8 * copy->size)) - 1);
}

/*
 * Serves vCPU @v's slot if it holds a request. Returns true if it answered;
 * then *wp is the window whose kick *kick (>= 0) must be delivered, or NULL.
 */
static bool serve_slot(struct xb_ioreq *io, unsigned int v,
		       struct xb_window **wp, int *kick)
{
	ioreq_t *slot = &io->page->vcpu_ioreq[v];
	ioreq_t copy;
	struct xb_req req;
	uint64_t answer;
	int win;

	*kick = -1;
	*wp = NULL;
	if (slot_state(slot) != STATE_IOREQ_READY)
		return false;
	/* state, then contents: pairs with Xen's wmb before state = READY. */
	smp_rmb();
	slot_copy(slot, &copy); /* the one read of the request */
	io->nr_reqs++;
	log_dbg(io->log, "vCPU %u: type %u %s 0x%llx/%u", v, copy.type,
		copy.dir == IOREQ_READ ? "read" : "write",
		(unsigned long long)copy.addr, copy.size);

	switch (xb_ioreq_check(io, &copy, &req, &win, &answer)) {
	case XB_IOREQ_INVALIDATE:
		io->nr_invalidate++;
		if (io->invalidate)
			io->invalidate(io->invalidate_opaque);
		break;
	case XB_IOREQ_BAD:
		io->nr_bad++;
		log_guest(
			io->log,
			"vCPU %u: unexpected ioreq type %u count %u size %u ptr %u",
			v, copy.type, copy.count, copy.size, copy.data_is_ptr);
		break;
	case XB_IOREQ_OUTSIDE:
		if (io->dead) /* the dying emulator's answer */
			break;
		io->nr_bad++;
		log_guest(io->log,
			  "vCPU %u: access at 0x%llx outside our windows", v,
			  (unsigned long long)copy.addr);
		break;
	case XB_IOREQ_MMIO:
		*kick = io->mmio(io->windows[win].cookie, &req);
		answer = xb_ioreq_answer(&copy, &req);
		if (*kick >= 0)
			*wp = &io->windows[win];
		break;
	}
	slot_answer(slot, answer);
	return true;
}

void xb_ioreq_serve_vcpu(struct xb_ioreq *io, unsigned int v)
{
	struct xb_window *w;
	int kick;

	if (!serve_slot(io, v, &w, &kick))
		return;
	xenevtchn_notify(io->xce, io->ports[v]);
	if (w)
		io->kick(w->cookie, kick);
}

int xb_ioreq_serve(struct xb_ioreq *io, unsigned int budget)
{
	for (; budget; budget--) {
		xenevtchn_port_or_error_t port = xenevtchn_pending(io->xce);
		unsigned int v;

		if (port < 0)
			return errno == EAGAIN ? 0 : -errno;
		log_dbg(io->log, "port %d pending", port);
		if (xenevtchn_unmask(io->xce, port) < 0)
			return -errno;
		for (v = 0; v < io->nr_vcpus && io->ports[v] != (uint32_t)port;
		     v++)
			;
		if (v < io->nr_vcpus)
			xb_ioreq_serve_vcpu(io, v);
	}
	return 1; /* more may be pending */
}

int xb_ioreq_adopt(struct xb_ioreq *io, uint32_t domid, unsigned int id,
		   struct log_ctx *log, xendevicemodel_handle *xdm,
		   xenforeignmemory_handle *xfm, xenevtchn_handle *xce)
{
	unsigned int v;
	int rc;

	ioreq_init(io, domid, log, xdm, xfm, xce);
	io->id = id;
	io->dead = true;
	/* Ours to destroy from here on, whatever else fails. */
	io->created = true;
	rc = map_page(io, "the dead worker's");
	if (rc)
		goto err;
	/* Its ports fell back to unbound when the dead worker's closed. */
	rc = bind_ports(io);
	if (rc)
		goto err;
	/* Left enabled: it may still be the one serving the guest's windows.
	 * Disabled (and set back) by xb_ioreq_retire(). */
	io->enabled = true;
	for (v = 0; v < io->nr_vcpus; v++)
		xb_ioreq_serve_vcpu(io, v);
	return 0;
err:
	io->enabled = false; /* not ours to turn off on the way out */
	xb_ioreq_close(io);
	return rc;
}

/*
 * Answers vCPU @v's slot as dead if it holds a request, and signals an
 * answer not yet taken (the dead worker may have written it but died before
 * the notification). Returns true while the vCPU has not taken it.
 */
static bool retire_slot(struct xb_ioreq *io, unsigned int v)
{
	ioreq_t *slot = &io->page->vcpu_ioreq[v];

	xb_ioreq_serve_vcpu(io, v);
	if (slot_state(slot) != STATE_IORESP_READY)
		return false;
	xenevtchn_notify(io->xce, io->ports[v]);
	return true;
}

unsigned int xb_ioreq_retire(struct xb_ioreq *io, unsigned int timeout_ms)
{
	unsigned int waiting = 0;

	if (!io->created)
		return 0;
	/*
	 * Disabled, it is selected for no new access; a vCPU already waiting
	 * on it still takes its answer from the slot.
	 */
	if (io->enabled)
		xendevicemodel_set_ioreq_server_state(io->xdm, io->domid,
						      io->id, 0);
	io->enabled = false;
	for (unsigned int ms = 0; io->page; ms++) {
		waiting = 0;
		for (unsigned int v = 0; v < io->nr_vcpus; v++)
			waiting += retire_slot(io, v);
		if (!waiting || ms >= timeout_ms)
			break;
		usleep(1000);
	}
	if (waiting)
		log_err(io->log,
			"%u vCPU(s) did not take the dead worker's answers (guest paused?)",
			waiting);
	xb_ioreq_close(io);
	return waiting;
}

void xb_ioreq_close(struct xb_ioreq *io)
{
	unsigned int i;

	if (io->enabled)
		xendevicemodel_set_ioreq_server_state(io->xdm, io->domid,
						      io->id, 0);
	io->enabled = false;
	for (i = 0; io->created && i < io->nr_windows; i++)
		xendevicemodel_unmap_io_range_from_ioreq_server(
			io->xdm, io->domid, io->id, 1, io->windows[i].base,
			io->windows[i].base + io->windows[i].size - 1);
	io->nr_windows = 0;
	for (i = 0; io->ports && i < io->nr_vcpus; i++)
		if (io->ports[i] != ~0U)
			xenevtchn_unbind(io->xce, io->ports[i]);
	free(io->ports);
	io->ports = NULL;
	if (io->res)
		xenforeignmemory_unmap_resource(io->xfm, io->res);
	io->res = NULL;
	io->page = NULL;
	if (io->created)
		xendevicemodel_destroy_ioreq_server(io->xdm, io->domid, io->id);
	io->created = false;
}
