/* SPDX-License-Identifier: MIT */
/*
 * A tiny test device model on the plain libxen API, the way xvbd does it:
 * one ioreq server for one 0x200-byte MMIO window of 64 8-byte registers.
 */
#ifndef XVB_TESTS_SIM_TDM_H
#define XVB_TESTS_SIM_TDM_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include <xendevicemodel.h>
#include <xenevtchn.h>
#include <xenforeignmemory.h>
#include <xen/hvm/ioreq.h>

#define TDM_WINDOW 0x200
#define TDM_STOP_REG 0x1f8 /* writing TDM_STOP_MAGIC stops serving */
#define TDM_STOP_MAGIC 0x5704

/* Ways to break the protocol on purpose. */
enum tdm_mode {
	TDM_GOOD,
	TDM_BACKWARDS,	/* INPROCESS, then READY: a backwards transition */
	TDM_WRITE_NONE, /* answers with STATE_IOREQ_NONE */
	TDM_SILENT,	/* never answers */
};

struct tdm {
	uint32_t domid;
	uint64_t base;
	unsigned int nr_vcpus;
	xendevicemodel_handle *xdm;
	xenforeignmemory_handle *fm;
	xenevtchn_handle *xce;
	xenforeignmemory_resource_handle *res;
	shared_iopage_t *page;
	ioservid_t id;
	bool have_server, enabled, mapped_range;
	evtchn_port_t port[128];
	pthread_t thread;
	bool running;
	volatile int stop;
	enum tdm_mode mode;
	pthread_mutex_t lock; /* guards what follows */
	uint64_t regs[TDM_WINDOW / 8];
	uint64_t written; /* bit per register */
	unsigned long nr_copy, nr_invalidate;
	ioreq_t first, last_invalidate;
	bool have_first;
	int err; /* first error seen by the serving thread */
};

/*
 * Open the handles, create the server, map its page, map the window, enable
 * it, then bind one port per vCPU (vp_eport appears on enable). 0 or -errno;
 * on failure tdm_close() undoes what was done.
 */
int tdm_open(struct tdm *t, uint32_t domid, uint64_t base);
/* Serve on a thread until tdm_close() or the stop register. 0 or -errno. */
int tdm_start(struct tdm *t);
/* Serve on the calling thread until stopped. */
void tdm_serve(struct tdm *t);
/* Stop, unbind, unmap, destroy, close: accepts a half-built tdm. */
void tdm_close(struct tdm *t);
/* What a register never written reads as. */
uint64_t tdm_pattern(uint64_t addr, unsigned int size);

#endif
