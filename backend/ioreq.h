/* SPDX-License-Identifier: MIT */
/*
 * The ioreq server of one guest: created with BUFIOREQ_OFF, its shared page
 * mapped as a resource, one event channel per vCPU, MMIO windows mapped to
 * it. Serving a request: snapshot it once, validate, dispatch, answer.
 */
#ifndef XVB_BACKEND_IOREQ_H
#define XVB_BACKEND_IOREQ_H

#include <stdbool.h>
#include <stdint.h>
#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/hvm_op.h>
#include <xen/hvm/ioreq.h>
#include <xen/memory.h>

#include "lib/log.h"

/* A private, validated copy of one request. */
struct xb_req {
	uint64_t addr;
	uint64_t data;
	unsigned int size;
	bool write;
};

/*
 * Handles one MMIO access at @req->addr, inside a window the owner mapped;
 * fills req->data for reads. Returns a queue kick to deliver after the
 * answer (>= 0) or -1. @cookie identifies the window.
 */
typedef int xb_mmio_fn(void *cookie, struct xb_req *req);
/* Delivers a kick returned by xb_mmio_fn, after the vCPU was answered. */
typedef void xb_kick_fn(void *cookie, int kick);
/* An IOREQ_TYPE_INVALIDATE arrived: drop cached guest mappings. */
typedef void xb_invalidate_fn(void *opaque);

#define XB_MAX_WINDOWS 16

struct xb_window {
	uint64_t base, size;
	void *cookie;
};

struct xb_ioreq {
	uint32_t domid;
	struct log_ctx *log;
	xendevicemodel_handle *xdm;
	xenforeignmemory_handle *xfm;
	xenevtchn_handle *xce;
	xenforeignmemory_resource_handle *res;
	ioservid_t id;
	bool created, enabled;
	/*
	 * A dead predecessor's server, adopted (xb_ioreq_adopt): it has no
	 * windows of ours, and every access it holds is answered the way Xen
	 * completes one whose emulator died: reads all-ones, writes dropped.
	 */
	bool dead;
	shared_iopage_t *page;
	unsigned int nr_vcpus;
	evtchn_port_t *ports; /* local port of each vCPU, or ~0 */
	unsigned int nr_windows;
	struct xb_window windows[XB_MAX_WINDOWS];
	xb_mmio_fn *mmio;
	xb_kick_fn *kick;
	xb_invalidate_fn *invalidate;
	void *invalidate_opaque;
	/* Statistics. */
	uint64_t nr_reqs, nr_bad, nr_invalidate;
};

/*
 * Creates the server for @domid with the given handles (owned by the
 * caller) and maps its page. Returns 0 or -errno.
 */
int xb_ioreq_open(struct xb_ioreq *io, uint32_t domid, struct log_ctx *log,
		  xendevicemodel_handle *xdm, xenforeignmemory_handle *xfm,
		  xenevtchn_handle *xce);

/* Routes [base, base + size) to this server. Returns 0 or -errno. */
int xb_ioreq_map_window(struct xb_ioreq *io, uint64_t base, uint64_t size,
			void *cookie);

/* Stops routing the window of @cookie to us. Returns 0 or -ENOENT. */
int xb_ioreq_unmap_window(struct xb_ioreq *io, void *cookie);

/*
 * Turns the server on, then binds one port per vCPU (Xen fills in the
 * ports at enable) and serves any request already waiting.
 */
int xb_ioreq_enable(struct xb_ioreq *io);

/*
 * Serves pending ports (call when xenevtchn_fd is readable), at most
 * @budget of them. Returns 0 when drained, 1 when the budget ran out (call
 * again after the device I/O had its turn), or -errno if the event channel
 * device failed.
 */
int xb_ioreq_serve(struct xb_ioreq *io, unsigned int budget);

/* What a private copy of one slot asks for (xb_ioreq_check). */
enum xb_ioreq_verdict {
	XB_IOREQ_INVALIDATE, /* drop cached guest mappings; answer 0 */
	XB_IOREQ_BAD,	     /* not a single direct MMIO access; answer ~0 */
	XB_IOREQ_OUTSIDE,    /* outside every window: reads ~0, writes 0 */
	XB_IOREQ_MMIO,	     /* an access to window *win, in *req */
};

/*
 * Validates @copy, a private copy of a slot, against @io's windows. Pure:
 * reads nothing else, calls nothing, logs nothing (the fuzz target calls
 * it directly). For XB_IOREQ_MMIO fills @req and *win (the index into
 * io->windows); otherwise *win is -1 and *answer is what the slot must be
 * answered with.
 */
enum xb_ioreq_verdict xb_ioreq_check(const struct xb_ioreq *io,
				     const ioreq_t *copy, struct xb_req *req,
				     int *win, uint64_t *answer);

/*
 * The answer to access @copy once the window's owner handled it as @req:
 * a write echoes the guest's data, a read is masked to its size.
 */
uint64_t xb_ioreq_answer(const ioreq_t *copy, const struct xb_req *req);

/* Serves vCPU @v's slot if it holds a request. */
void xb_ioreq_serve_vcpu(struct xb_ioreq *io, unsigned int v);

/*
 * Takes over server @id of @domid that a dead worker left behind (Xen does
 * not know it died: the server stays enabled with its windows, and a vCPU
 * whose access was in its slot waits for an answer for ever). Maps its
 * page, binds its vCPUs' ports on @xce (which must be a handle of its own,
 * served with xb_ioreq_serve), and answers everything pending as dead.
 * Returns 0 or -errno; on error @io is closed (the server destroyed if it
 * exists).
 */
int xb_ioreq_adopt(struct xb_ioreq *io, uint32_t domid, unsigned int id,
		   struct log_ctx *log, xendevicemodel_handle *xdm,
		   xenforeignmemory_handle *xfm, xenevtchn_handle *xce);

/*
 * Retires an adopted server once its windows are served again elsewhere:
 * disables it (no new access selects it), answers what its slots hold,
 * waits up to @timeout_ms for every vCPU to take its answer, then destroys
 * it. Returns the number of vCPUs still waiting at destruction (0).
 */
unsigned int xb_ioreq_retire(struct xb_ioreq *io, unsigned int timeout_ms);

/* Disables, unmaps windows, unbinds ports, destroys. Accepts half-built. */
void xb_ioreq_close(struct xb_ioreq *io);

#endif
