// SPDX-License-Identifier: MIT
/* The test device model: setup, the serving loop, teardown (see tdm.h). */
#include <errno.h>
#include <stdint.h>
#include <poll.h>
#include <string.h>
#include <sys/mman.h>

#include <xen/memory.h>

#include "tdm.h"

#define rmb() __atomic_thread_fence(__ATOMIC_ACQUIRE)
#define wmb() __atomic_thread_fence(__ATOMIC_RELEASE)

/* A per-address value no register is likely to hold by accident. */
uint64_t tdm_pattern(uint64_t addr, unsigned int size)
{
	uint64_t v = (addr * 0x9e3779b97f4a7c15ull) ^ 0xa5a5a5a5a5a5a5a5ull;

	return size == 8 ? v : v & ((1ull << (size * 8)) - 1);
}

int tdm_open(struct tdm *t, uint32_t domid, uint64_t base)
{
	void *addr = NULL;
	int rc;

	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->lock, NULL);
	t->domid = domid;
	t->base = base;
	t->xdm = xendevicemodel_open(NULL, 0);
	t->fm = xenforeignmemory_open(NULL, 0);
	t->xce = xenevtchn_open(NULL, 0);
	if (!t->xdm || !t->fm || !t->xce)
		goto err;
	if (xendevicemodel_create_ioreq_server(
		    t->xdm, domid, HVM_IOREQSRV_BUFIOREQ_OFF, &t->id))
		goto err;
	t->have_server = true;
	if (xendevicemodel_nr_vcpus(t->xdm, domid, &t->nr_vcpus) ||
	    t->nr_vcpus > 128)
		goto err;
	t->res = xenforeignmemory_map_resource(
		t->fm, domid, XENMEM_resource_ioreq_server, t->id,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	if (!t->res)
		goto err;
	t->page = addr;
	if (xendevicemodel_map_io_range_to_ioreq_server(
		    t->xdm, domid, t->id, 1, base, base + TDM_WINDOW - 1))
		goto err;
	t->mapped_range = true;
	if (xendevicemodel_set_ioreq_server_state(t->xdm, domid, t->id, 1))
		goto err;
	t->enabled = true;
	for (unsigned int v = 0; v < t->nr_vcpus; v++) {
		rc = xenevtchn_bind_interdomain(
			t->xce, domid, t->page->vcpu_ioreq[v].vp_eport);
		if (rc < 0)
			goto err;
		t->port[v] = rc;
	}
	return 0;

err:
	rc = -errno;
	tdm_close(t);
	return rc ? rc : -EIO;
}

/* Decode one request against the register file; count and record it. */
static void handle(struct tdm *t, ioreq_t *req)
{
	uint64_t off = req->addr - t->base;
	unsigned int r = off / 8;

	pthread_mutex_lock(&t->lock);
	if (!t->have_first) {
		t->first = *req;
		t->have_first = true;
	}
	if (req->type == IOREQ_TYPE_INVALIDATE) {
		t->nr_invalidate++;
		t->last_invalidate = *req;
	} else if (req->type != IOREQ_TYPE_COPY || off >= TDM_WINDOW) {
		if (!t->err)
			t->err = -EPROTO;
	} else if (req->dir == IOREQ_WRITE) {
		t->nr_copy++;
		t->regs[r] = req->data;
		t->written |= 1ull << r;
		if (off == TDM_STOP_REG && req->data == TDM_STOP_MAGIC)
			t->stop = 1;
	} else {
		t->nr_copy++;
		req->data = (t->written >> r) & 1 ?
				    t->regs[r] :
				    tdm_pattern(req->addr, req->size);
		if (req->size < 8)
			req->data &= (1ull << (req->size * 8)) - 1;
	}
	pthread_mutex_unlock(&t->lock);
}

/* One pending port: the ioreq protocol's server side (XEN-NOTES step 5). */
static void serve_port(struct tdm *t, evtchn_port_t port)
{
	unsigned int v;
	ioreq_t *p, req;

	for (v = 0; v < t->nr_vcpus && t->port[v] != port; v++)
		;
	if (v == t->nr_vcpus)
		return;
	p = &t->page->vcpu_ioreq[v];
	if (((volatile ioreq_t *)p)->state != STATE_IOREQ_READY)
		return;
	rmb(); /* state, then the request: pairs with Xen's wmb */
	req = *p;
	handle(t, &req);
	switch (t->mode) {
	case TDM_SILENT:
		return;
	case TDM_BACKWARDS:
		((volatile ioreq_t *)p)->state = STATE_IOREQ_INPROCESS;
		xenevtchn_notify(t->xce, port);
		((volatile ioreq_t *)p)->state = STATE_IOREQ_READY;
		break;
	case TDM_WRITE_NONE:
		((volatile ioreq_t *)p)->state = STATE_IOREQ_NONE;
		break;
	case TDM_GOOD:
		p->data = req.data;
		wmb(); /* data, then state: pairs with Xen's rmb */
		((volatile ioreq_t *)p)->state = STATE_IORESP_READY;
		break;
	}
	xenevtchn_notify(t->xce, port);
}

/* Poll with a short timeout so tdm_close() is noticed promptly. */
void tdm_serve(struct tdm *t)
{
	struct pollfd pfd = { .fd = xenevtchn_fd(t->xce), .events = POLLIN };

	while (!t->stop) {
		int port;

		if (poll(&pfd, 1, 50) <= 0)
			continue;
		port = xenevtchn_pending(t->xce);
		if (port < 0) {
			if (!t->err)
				t->err = -errno;
			continue;
		}
		xenevtchn_unmask(t->xce, port);
		serve_port(t, port);
	}
}

static void *serve_thread(void *arg)
{
	tdm_serve(arg);
	return NULL;
}

int tdm_start(struct tdm *t)
{
	int rc = pthread_create(&t->thread, NULL, serve_thread, t);

	t->running = !rc;
	return -rc;
}

/* Teardown in reverse, each step only if its setup step happened. */
void tdm_close(struct tdm *t)
{
	t->stop = 1;
	if (t->running)
		pthread_join(t->thread, NULL);
	t->running = false;
	for (unsigned int v = 0; v < t->nr_vcpus && t->xce; v++)
		if (t->port[v])
			xenevtchn_unbind(t->xce, t->port[v]);
	if (t->enabled)
		xendevicemodel_set_ioreq_server_state(t->xdm, t->domid, t->id,
						      0);
	if (t->mapped_range)
		xendevicemodel_unmap_io_range_from_ioreq_server(
			t->xdm, t->domid, t->id, 1, t->base,
			t->base + TDM_WINDOW - 1);
	if (t->have_server)
		xendevicemodel_destroy_ioreq_server(t->xdm, t->domid, t->id);
	if (t->res)
		xenforeignmemory_unmap_resource(t->fm, t->res);
	xenevtchn_close(t->xce);
	xenforeignmemory_close(t->fm);
	xendevicemodel_close(t->xdm);
	t->xce = NULL;
	t->fm = NULL;
	t->xdm = NULL;
	t->res = NULL;
	t->have_server = t->enabled = t->mapped_range = false;
}
