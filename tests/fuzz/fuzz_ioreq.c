// SPDX-License-Identifier: MIT
/*
 * Fuzz the ioreq server (backend/ioreq.c): what a guest's vCPU leaves in
 * its slot of the shared page is checked by xb_ioreq_check() and served by
 * xb_ioreq_serve(). The libxen calls ioreq.c makes are stubbed here, over
 * a private page, so the real setup, serving and teardown code runs.
 *
 * Input: flags u8, nr_vcpus u8, nr_windows u8, per window base u64 and
 * size u32, then records of a raw 32-byte slot, vCPU u8, kick u8, read
 * value u64 (what the window's owner answers).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_common.h"
#include "../../backend/ioreq.h"

#define FI_MAX_VCPUS 8
#define FI_MAX_RECORDS 256
#define FI_PORT0 100 /* local port of vCPU 0 */

enum {
	FI_STEER = 1 << 0,	/* windows at virtio-mmio-like places */
	FI_SERVE_ALL = 1 << 1,	/* serve through pending ports, not per vCPU */
	FI_KEEP_STATE = 1 << 2, /* leave the slot's state as the input says */
	FI_FAIL_MAP = 1 << 3,	/* the hypervisor refuses the 3rd window */
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* ---- the stubbed hypervisor ---- */

static struct {
	shared_iopage_t *page;
	unsigned int nr_vcpus;
	bool created, enabled, destroyed, res_mapped;
	unsigned int ranges; /* mapped to the server now */
	unsigned int bound;  /* ports bound now */
	unsigned int map_calls;
	bool fail_map;
	/* Pending ports xenevtchn_pending hands out, then EAGAIN. */
	int pending[FI_MAX_RECORDS];
	unsigned int nr_pending, next_pending;
	unsigned int notified[FI_MAX_VCPUS];
} hv;

int xendevicemodel_create_ioreq_server(xendevicemodel_handle *dmod,
				       domid_t domid, int handle_bufioreq,
				       ioservid_t *id)
{
	FZ_CHECK(!hv.created);
	hv.created = true;
	*id = 3;
	return 0;
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid,
			      unsigned int type, unsigned int id,
			      unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	FZ_CHECK(hv.created && nr_frames == 1 && !hv.res_mapped);
	hv.res_mapped = true;
	*paddr = hv.page;
	return (xenforeignmemory_resource_handle *)hv.page;
}

int xenforeignmemory_unmap_resource(xenforeignmemory_handle *fmem,
				    xenforeignmemory_resource_handle *fres)
{
	FZ_CHECK(hv.res_mapped);
	hv.res_mapped = false;
	return 0;
}

int xendevicemodel_nr_vcpus(xendevicemodel_handle *dmod, domid_t domid,
			    unsigned int *vcpus)
{
	*vcpus = hv.nr_vcpus;
	return 0;
}

int xendevicemodel_map_io_range_to_ioreq_server(xendevicemodel_handle *dmod,
						domid_t domid, ioservid_t id,
						int is_mmio, uint64_t start,
						uint64_t end)
{
	FZ_CHECK(hv.created && is_mmio == 1);
	if (hv.fail_map && ++hv.map_calls == 3) {
		errno = EEXIST;
		return -1;
	}
	hv.ranges++;
	return 0;
}

int xendevicemodel_unmap_io_range_from_ioreq_server(xendevicemodel_handle *dmod,
						    domid_t domid,
						    ioservid_t id, int is_mmio,
						    uint64_t start,
						    uint64_t end)
{
	FZ_CHECK(hv.ranges > 0);
	hv.ranges--;
	return 0;
}

int xendevicemodel_set_ioreq_server_state(xendevicemodel_handle *dmod,
					  domid_t domid, ioservid_t id,
					  int enabled)
{
	FZ_CHECK(hv.created);
	hv.enabled = enabled;
	return 0;
}

int xendevicemodel_destroy_ioreq_server(xendevicemodel_handle *dmod,
					domid_t domid, ioservid_t id)
{
	FZ_CHECK(hv.created && !hv.enabled && !hv.ranges);
	hv.destroyed = true;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
						     uint32_t domid,
						     evtchn_port_t remote_port)
{
	FZ_CHECK(hv.enabled);
	hv.bound++;
	return FI_PORT0 + (remote_port - 1000);
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	FZ_CHECK(hv.bound > 0);
	hv.bound--;
	return 0;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	FZ_CHECK(port >= FI_PORT0 && port < FI_PORT0 + hv.nr_vcpus);
	hv.notified[port - FI_PORT0]++;
	return 0;
}

xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	if (hv.next_pending == hv.nr_pending) {
		errno = EAGAIN;
		return -1;
	}
	return hv.pending[hv.next_pending++];
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	return 0;
}

/* ---- the windows' owner ---- */

struct fi_win {
	uint64_t base, size;
	int kick;	/* what the next access returns */
	uint64_t value; /* what a read answers, before masking */
	unsigned int calls;
};

static struct fi_win wins[XB_MAX_WINDOWS];
static struct xb_ioreq *cur_io;
static unsigned int cur_vcpu, kicks, kicks_due;

static int fi_mmio(void *cookie, struct xb_req *req)
{
	struct fi_win *w = cookie;

	/* Only whole, valid accesses inside this window reach its owner. */
	FZ_CHECK(req->size == 1 || req->size == 2 || req->size == 4 ||
		 req->size == 8);
	FZ_CHECK(req->addr >= w->base && req->addr - w->base < w->size);
	FZ_CHECK(req->size <= w->size - (req->addr - w->base));
	w->calls++;
	if (!req->write)
		req->data = w->value;
	kicks_due += w->kick >= 0;
	return w->kick;
}

static void fi_kick(void *cookie, int kick)
{
	ioreq_t *slot = &cur_io->page->vcpu_ioreq[cur_vcpu];

	/* A kick is delivered only after the vCPU was answered. */
	FZ_CHECK(slot->state == STATE_IORESP_READY);
	FZ_CHECK(kick >= 0 && kick == ((struct fi_win *)cookie)->kick);
	kicks++;
}

/* ---- the model: what the slot must be answered with ---- */

static int model_window(unsigned int n, uint64_t addr, uint32_t size)
{
	for (unsigned int i = 0; i < n; i++) {
		unsigned __int128 end = (unsigned __int128)addr + size;

		if (addr >= wins[i].base &&
		    end <= (unsigned __int128)wins[i].base + wins[i].size)
			return i;
	}
	return -1;
}

static void check_verdict(struct xb_ioreq *io, const ioreq_t *copy,
			  unsigned int nr_windows)
{
	bool valid = copy->type == IOREQ_TYPE_COPY && copy->count == 1 &&
		     !copy->data_is_ptr &&
		     (copy->size == 1 || copy->size == 2 || copy->size == 4 ||
		      copy->size == 8);
	enum xb_ioreq_verdict v;
	struct xb_req req;
	uint64_t answer;
	int win, mw = valid ? model_window(nr_windows, copy->addr, copy->size) :
			      -1;

	v = xb_ioreq_check(io, copy, &req, &win, &answer);
	if (copy->type == IOREQ_TYPE_INVALIDATE) {
		FZ_CHECK(v == XB_IOREQ_INVALIDATE && !answer && win == -1);
	} else if (!valid) {
		FZ_CHECK(v == XB_IOREQ_BAD && answer == ~0ULL && win == -1);
	} else if (mw < 0) {
		FZ_CHECK(v == XB_IOREQ_OUTSIDE && win == -1);
		FZ_CHECK(answer == (copy->dir == IOREQ_READ ? ~0ULL : 0));
	} else {
		/* The first window holding it (windows may overlap). */
		FZ_CHECK(v == XB_IOREQ_MMIO && win == mw);
		FZ_CHECK(req.addr == copy->addr && req.size == copy->size);
		FZ_CHECK(req.write == (copy->dir == IOREQ_WRITE));
		FZ_CHECK(req.data == (req.write ? copy->data : 0));
	}
}

/* What serving @copy must leave in the slot's data. */
static uint64_t model_answer(const ioreq_t *copy, unsigned int nr_windows)
{
	bool valid = copy->type == IOREQ_TYPE_COPY && copy->count == 1 &&
		     !copy->data_is_ptr &&
		     (copy->size == 1 || copy->size == 2 || copy->size == 4 ||
		      copy->size == 8);
	int w;

	if (copy->type == IOREQ_TYPE_INVALIDATE)
		return 0;
	if (!valid)
		return ~0ULL;
	w = model_window(nr_windows, copy->addr, copy->size);
	if (w < 0)
		return copy->dir == IOREQ_READ ? ~0ULL : 0;
	if (copy->dir == IOREQ_WRITE)
		return copy->data;
	if (copy->size == 8)
		return wins[w].value;
	return wins[w].value & ((1ULL << (8 * copy->size)) - 1);
}

static unsigned int invalidations;

static void fi_invalidate(void *opaque)
{
	invalidations++;
}

/* ---- one input ---- */

static void setup_windows(struct fz_in *in, struct xb_ioreq *io,
			  unsigned int flags, unsigned int *nr)
{
	unsigned int n = fz_u8(in) % (XB_MAX_WINDOWS + 2);

	*nr = 0;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t base = fz_u64(in);
		uint32_t size = fz_u32(in);
		/* for a window refused as one too many */
		static struct fi_win spare;
		struct fi_win *w = *nr < XB_MAX_WINDOWS ? &wins[*nr] : &spare;
		int rc;

		if (flags & FI_STEER) {
			base = 0x2000000 + 0x200 * (base % 16);
			size = 0x200;
		}
		if (!size || base + size - 1 < base)
			continue; /* the worker never asks for these */
		*w = (struct fi_win){ .base = base, .size = size };
		rc = xb_ioreq_map_window(io, base, size, w);
		if (*nr == XB_MAX_WINDOWS) {
			FZ_CHECK(rc == -ENOSPC);
			continue;
		}
		if (rc) {
			FZ_CHECK(hv.fail_map && rc == -EEXIST);
			continue;
		}
		(*nr)++;
	}
	FZ_CHECK(io->nr_windows == *nr && hv.ranges == *nr);
}

static void serve_record(struct xb_ioreq *io, struct fz_in *in,
			 unsigned int flags, unsigned int nr_windows)
{
	ioreq_t raw, *slot;
	unsigned int v, state;
	uint8_t kick;
	uint64_t want, before;

	fz_take(in, &raw, sizeof(raw));
	v = fz_u8(in) % hv.nr_vcpus;
	kick = fz_u8(in);
	before = fz_u64(in);
	for (unsigned int i = 0; i < nr_windows; i++) {
		wins[i].kick = kick & 0x80 ? -1 : kick % 3;
		wins[i].value = before;
	}
	check_verdict(io, &raw, nr_windows);

	if (!(flags & FI_KEEP_STATE))
		raw.state = STATE_IOREQ_READY;
	raw.vp_eport = 1000 + v;
	slot = &io->page->vcpu_ioreq[v];
	*slot = raw;
	state = raw.state;
	want = model_answer(&raw, nr_windows);
	cur_io = io;
	cur_vcpu = v;
	if (flags & FI_SERVE_ALL) {
		/* Xen's pending port, a stale one, and one not ours. */
		hv.nr_pending = hv.next_pending = 0;
		hv.pending[hv.nr_pending++] = FI_PORT0 + v;
		if (kick & 0x40)
			hv.pending[hv.nr_pending++] = FI_PORT0 + 99;
		FZ_CHECK(xb_ioreq_serve(io, 1 + (kick & 1)) >= 0);
	} else {
		xb_ioreq_serve_vcpu(io, v);
	}
	if (state != STATE_IOREQ_READY) {
		/* Not a request: the slot is left alone. */
		FZ_CHECK(!memcmp(slot, &raw, sizeof(raw)));
		return;
	}
	FZ_CHECK(slot->state == STATE_IORESP_READY);
	FZ_CHECK(slot->data == want);
	FZ_CHECK(slot->addr == raw.addr && slot->type == raw.type);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fz_in in = { data, size };
	static shared_iopage_t *page;
	struct xb_ioreq io;
	struct log_ctx log;
	unsigned int flags, nr_windows, n, notified = 0;

	fz_quiet();
	if (!page)
		page = aligned_alloc(4096, 4096);
	FZ_CHECK(page);
	memset(page, 0, 4096);
	memset(&hv, 0, sizeof(hv));
	invalidations = kicks = kicks_due = 0;
	hv.page = page;
	flags = fz_u8(&in);
	hv.fail_map = flags & FI_FAIL_MAP;
	hv.nr_vcpus = 1 + fz_u8(&in) % FI_MAX_VCPUS;
	for (unsigned int v = 0; v < hv.nr_vcpus; v++)
		page->vcpu_ioreq[v].vp_eport = 1000 + v;
	log_ctx_init(&log, 9, NULL);

	FZ_CHECK(!xb_ioreq_open(&io, 9, &log, NULL, NULL, NULL));
	io.mmio = fi_mmio;
	io.kick = fi_kick;
	io.invalidate = fi_invalidate;
	setup_windows(&in, &io, flags, &nr_windows);
	FZ_CHECK(!xb_ioreq_enable(&io));
	FZ_CHECK(hv.bound == hv.nr_vcpus);

	for (n = 0; n < FI_MAX_RECORDS && in.left; n++) {
		uint64_t reqs = io.nr_reqs;

		serve_record(&io, &in, flags, nr_windows);
		/* Counted once per request served, never more. */
		FZ_CHECK(io.nr_reqs - reqs <= 1);
	}
	/* Every kick the owner asked for was delivered, once; every request
	 * answered was notified, once. */
	FZ_CHECK(kicks == kicks_due);
	for (unsigned int v = 0; v < hv.nr_vcpus; v++)
		notified += hv.notified[v];
	FZ_CHECK(notified == io.nr_reqs);
	FZ_CHECK(io.nr_invalidate == invalidations);

	/* Teardown gives everything back, in Xen's order. */
	xb_ioreq_close(&io);
	FZ_CHECK(!hv.enabled && !hv.ranges && !hv.bound && !hv.res_mapped);
	FZ_CHECK(hv.destroyed);
	FZ_CHECK(!io.ports && !io.page && !io.nr_windows);
	return 0;
}
