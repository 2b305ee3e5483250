// SPDX-License-Identifier: MIT
/*
 * xvbcount.so: an LD_PRELOAD shim for xvbd in dom0 that counts the libxen
 * calls on its data path, and prints the counts when the process exits:
 * ioreqs answered (xenevtchn_notify), event-channel wakeups
 * (xenevtchn_pending), interrupts injected (set_irq_level) and foreign
 * mappings made and dropped (map2 / unmap). It also reads each answered
 * ioreq from the shared ioreq page (found through map_resource and
 * bind_interdomain) to count them by virtio-mmio register, and times how
 * long xvbd took from the wakeup to the answer. The side-by-side runs use it
 * to say what each guest I/O costs in Xen round trips; xvbd is not changed.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <xen/xen.h>
#include <xen/memory.h>
#include <xen/hvm/ioreq.h>

typedef struct xenevtchn_handle xenevtchn_handle;
typedef struct xendevicemodel_handle xendevicemodel_handle;
typedef struct xenforeignmemory_handle xenforeignmemory_handle;
typedef struct xenforeignmemory_resource_handle xenforeignmemory_resource_handle;

static atomic_ulong n_notify, n_pending, n_irq, n_map, n_unmap;

/* Answered ioreqs by kind; see classify(). */
enum { R_NOTIFY, R_ISR, R_ACK, R_STATUS, R_CONFIG, R_OTHER, R_INVAL, R_N };
static const char *const r_name[R_N] = { "notify", "isr",   "ack",  "status",
					 "config", "other", "inval" };
static atomic_ulong n_reg[R_N];

/* The ioreq page, and local port -> the vCPU slot's remote port. */
#define MAX_PORTS 256
#define MAX_SLOTS (4096 / sizeof(struct ioreq))
static volatile struct ioreq *iopage;
static uint32_t remote_of[MAX_PORTS];
static uint64_t woke_ns[MAX_PORTS];
static uint64_t serve_ns, serve_n, serve_max_ns;

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

xenforeignmemory_resource_handle *
xenforeignmemory_map_resource(xenforeignmemory_handle *fmem, domid_t domid,
			      unsigned int type, unsigned int id,
			      unsigned long frame, unsigned long nr_frames,
			      void **paddr, int prot, int flags)
{
	static __typeof__(&xenforeignmemory_map_resource) real;
	xenforeignmemory_resource_handle *h;

	if (!real)
		real = REAL(xenforeignmemory_map_resource);
	h = real(fmem, domid, type, id, frame, nr_frames, paddr, prot, flags);
	if (h && type == XENMEM_resource_ioreq_server &&
	    frame == XENMEM_resource_ioreq_server_frame_ioreq(0))
		iopage = *paddr;
	return h;
}

int xenevtchn_bind_interdomain(xenevtchn_handle *xce, uint32_t domid,
			       uint32_t remote_port)
{
	static __typeof__(&xenevtchn_bind_interdomain) real;
	int port;

	if (!real)
		real = REAL(xenevtchn_bind_interdomain);
	port = real(xce, domid, remote_port);
	if (port >= 0 && port < MAX_PORTS)
		remote_of[port] = remote_port;
	return port;
}

/* The kind of the ioreq just answered on local @port's vCPU slot. */
static int classify(unsigned int port)
{
	uint32_t remote = port < MAX_PORTS ? remote_of[port] : 0;
	unsigned int off;

	if (!iopage || !remote)
		return -1;
	for (unsigned int v = 0; v < MAX_SLOTS; v++) {
		if (iopage[v].vp_eport != remote)
			continue;
		if (iopage[v].type == IOREQ_TYPE_INVALIDATE)
			return R_INVAL;
		off = iopage[v].addr & 0x1ff;
		if (off >= 0x100)
			return R_CONFIG;
		switch (off) {
		case 0x050:
			return R_NOTIFY;
		case 0x060:
			return R_ISR;
		case 0x064:
			return R_ACK;
		case 0x070:
			return R_STATUS;
		default:
			return R_OTHER;
		}
	}
	return -1;
}

int xenevtchn_notify(xenevtchn_handle *xce, unsigned int port)
{
	static __typeof__(&xenevtchn_notify) real;
	int r = classify(port);

	if (!real)
		real = REAL(xenevtchn_notify);
	atomic_fetch_add(&n_notify, 1);
	if (r >= 0)
		atomic_fetch_add(&n_reg[r], 1);
	if (port < MAX_PORTS && woke_ns[port]) {
		uint64_t d = now_ns() - woke_ns[port];

		serve_ns += d;
		serve_n++;
		if (d > serve_max_ns)
			serve_max_ns = d;
		woke_ns[port] = 0;
	}
	return real(xce, port);
}

int xenevtchn_pending(xenevtchn_handle *xce)
{
	static __typeof__(&xenevtchn_pending) real;
	int port;

	if (!real)
		real = REAL(xenevtchn_pending);
	port = real(xce);
	if (port >= 0) {
		atomic_fetch_add(&n_pending, 1);
		if (port < MAX_PORTS)
			woke_ns[port] = now_ns();
	}
	return port;
}

int xendevicemodel_set_irq_level(xendevicemodel_handle *dmod, uint16_t domid,
				 unsigned int irq, unsigned int level)
{
	static __typeof__(&xendevicemodel_set_irq_level) real;

	if (!real)
		real = REAL(xendevicemodel_set_irq_level);
	atomic_fetch_add(&n_irq, 1);
	return real(dmod, domid, irq, level);
}

void *xenforeignmemory_map2(xenforeignmemory_handle *fmem, uint32_t dom,
			    void *addr, int prot, int flags, size_t num,
			    const xen_pfn_t arr[], int err[])
{
	static __typeof__(&xenforeignmemory_map2) real;

	if (!real)
		real = REAL(xenforeignmemory_map2);
	atomic_fetch_add(&n_map, 1);
	return real(fmem, dom, addr, prot, flags, num, arr, err);
}

int xenforeignmemory_unmap(xenforeignmemory_handle *fmem, void *addr,
			   size_t num)
{
	static __typeof__(&xenforeignmemory_unmap) real;

	if (!real)
		real = REAL(xenforeignmemory_unmap);
	atomic_fetch_add(&n_unmap, 1);
	return real(fmem, addr, num);
}

__attribute__((destructor)) static void report(void)
{
	char regs[256];
	int len = 0;

	if (!n_notify && !n_irq && !n_map)
		return;
	for (int r = 0; r < R_N; r++)
		len += snprintf(regs + len, sizeof(regs) - len, " %s %lu",
				r_name[r], (unsigned long)n_reg[r]);
	fprintf(stderr,
		"xvbcount[%d]: ioreqs answered %lu, evtchn wakeups %lu, irqs %lu, maps %lu, unmaps %lu; by register%s; wakeup to answer %.1f us mean %.1f us max\n",
		(int)getpid(), (unsigned long)n_notify,
		(unsigned long)n_pending, (unsigned long)n_irq,
		(unsigned long)n_map, (unsigned long)n_unmap, regs,
		serve_n ? serve_ns / 1e3 / serve_n : 0.0, serve_max_ns / 1e3);
}
