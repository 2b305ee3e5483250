// SPDX-License-Identifier: MIT
/*
 * xvbcount.so: an LD_PRELOAD shim for xvbd in dom0 that counts the libxen
 * calls on its data path, and prints the counts when the process exits:
 * ioreqs answered (xenevtchn_notify), event-channel wakeups
 * (xenevtchn_pending), interrupts injected (set_irq_level) and foreign
 * mappings made and dropped (map2 / unmap). The side-by-side runs use it to
 * say what each guest I/O costs in Xen round trips; xvbd is not changed.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

typedef struct xenevtchn_handle xenevtchn_handle;
typedef struct xendevicemodel_handle xendevicemodel_handle;
typedef struct xenforeignmemory_handle xenforeignmemory_handle;
typedef uint64_t xen_pfn_t;

static atomic_ulong n_notify, n_pending, n_irq, n_map, n_unmap;

#define REAL(name) ((__typeof__(&name))dlsym(RTLD_NEXT, #name))

int xenevtchn_notify(xenevtchn_handle *xce, unsigned int port)
{
	static __typeof__(&xenevtchn_notify) real;

	if (!real)
		real = REAL(xenevtchn_notify);
	atomic_fetch_add(&n_notify, 1);
	return real(xce, port);
}

int xenevtchn_pending(xenevtchn_handle *xce)
{
	static __typeof__(&xenevtchn_pending) real;
	int port;

	if (!real)
		real = REAL(xenevtchn_pending);
	port = real(xce);
	if (port >= 0)
		atomic_fetch_add(&n_pending, 1);
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
	if (!n_notify && !n_irq && !n_map)
		return;
	fprintf(stderr,
		"xvbcount[%d]: ioreqs answered %lu, evtchn wakeups %lu, "
		"irqs %lu, maps %lu, unmaps %lu\n",
		(int)getpid(), (unsigned long)n_notify,
		(unsigned long)n_pending, (unsigned long)n_irq,
		(unsigned long)n_map, (unsigned long)n_unmap);
}
