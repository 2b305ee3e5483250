// SPDX-License-Identifier: MIT
/*
 * The simulator seen through the real libxen API: a test device model in
 * this process, served by the drop-in libraries over the socket, answers
 * MMIO from simulated vCPUs; foreign memory, grants, event channels,
 * xenstore and the libxl protocol; errnos; and nothing left behind.
 */
#include <errno.h>
#include <stdint.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <xen/memory.h>
#include <xengnttab.h>
#include <xenstore.h>
#include <xentoolcore.h>

#include "sim/libxl.h"
#include "sim/sim.h"
#include "hang.h"
#include "t.h"
#include "tdm.h"

#define DOM 7
#define BASE XSIM_VIRTIO_MMIO_BASE
#define TMO ((int)t_hang_ms())

static struct xsim *sim;
static char sock[64];

static void teardown(void)
{
	xsim_destroy(sim);
	sim = NULL;
}

/*
 * A fresh simulator per case, with one guest of nr_vcpus. A case that
 * failed halfway did not reach its teardown(): its simulator goes first,
 * as xvbd_rig's rig_start() does for the xvbd_* tests.
 */
static int setup(unsigned int nr_vcpus, uint64_t ram)
{
	struct xsim_config cfg = { .socket_path = sock,
				   .libxl_timeout_ms = 300,
				   .quiet = true };
	struct xsim_domain_config dc = { .domid = DOM,
					 .nr_vcpus = nr_vcpus,
					 .ram_bytes = ram ? ram : 16 << 20 };

	teardown();
	snprintf(sock, sizeof(sock), "/tmp/xsim-dm-%d.sock", getpid());
	setenv("XVB_SIM_SOCKET", sock, 1);
	T_CHECK(xsim_create(&cfg, &sim) == 0);
	T_CHECK(xsim_domain_create(sim, &dc) == 0);
	return 0;
}

/* Everything the libraries took has been given back. */
static int no_leaks(void)
{
	struct xsim_stats st;

	xsim_get_stats(sim, &st);
	T_CHECK(st.conns == 0);
	T_CHECK(st.ports == 0);
	T_CHECK(st.servers == 0);
	T_CHECK(st.fmem_pages == 0);
	T_CHECK(st.resources == 0);
	T_CHECK(st.grant_maps == 0);
	T_CHECK(st.watches == 0);
	T_CHECK(st.transactions == 0);
	return 0;
}

static void ioreq_one_vcpu(void)
{
	static const unsigned int sizes[] = { 1, 2, 4, 8 };
	struct tdm t;
	uint64_t v;

	if (setup(1, 0))
		return;
	T_ASSERT(tdm_open(&t, DOM, BASE) == 0);
	T_ASSERT(tdm_start(&t) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		unsigned int s = sizes[i];
		uint64_t want = 0x1122334455667788ull &
				(s == 8 ? ~0ull : (1ull << (8 * s)) - 1);

		T_EQ(xsim_mmio_write(sim, DOM, 0, BASE + 8 * i, s,
				     0x1122334455667788ull, TMO),
		     0);
		T_EQ(xsim_mmio_read(sim, DOM, 0, BASE + 8 * i, s, &v, TMO), 0);
		T_EQ_U64(v, want);
	}
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE + 0x100, 4, &v, TMO), 0);
	T_EQ_U64(v, tdm_pattern(BASE + 0x100, 4));
	T_EQ(t.nr_copy, 9);
	T_EQ(t.err, 0);
	tdm_close(&t);
	T_ASSERT(no_leaks() == 0);
	T_EQ(xsim_last_error(sim, NULL, 0), 0);
	teardown();
}

struct worker {
	unsigned int vcpu;
	int rc;
};

static void *vcpu_worker(void *arg)
{
	struct worker *w = arg;
	uint64_t addr = BASE + 8 * w->vcpu, v;

	for (unsigned int i = 0; i < 300 && !w->rc; i++) {
		uint64_t val = ((uint64_t)w->vcpu << 32) | i;

		w->rc = xsim_mmio_write(sim, DOM, w->vcpu, addr, 8, val, TMO);
		if (!w->rc)
			w->rc = xsim_mmio_read(sim, DOM, w->vcpu, addr, 8, &v,
					       TMO);
		if (!w->rc && v != val)
			w->rc = -EBADMSG;
	}
	return NULL;
}

static void ioreq_four_vcpus_concurrent(void)
{
	struct worker w[4];
	pthread_t th[4];
	struct tdm t;

	if (setup(4, 0))
		return;
	T_ASSERT(tdm_open(&t, DOM, BASE) == 0);
	T_EQ(t.nr_vcpus, 4);
	T_ASSERT(tdm_start(&t) == 0);
	for (unsigned int i = 0; i < 4; i++) {
		w[i] = (struct worker){ .vcpu = i };
		T_ASSERT(pthread_create(&th[i], NULL, vcpu_worker, &w[i]) == 0);
	}
	for (unsigned int i = 0; i < 4; i++)
		pthread_join(th[i], NULL);
	for (unsigned int i = 0; i < 4; i++)
		T_EQ(w[i].rc, 0);
	T_EQ(t.nr_copy, 4 * 600);
	T_EQ(t.nr_invalidate, 1);
	tdm_close(&t);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static void invalidate_first_on_vcpu0(void)
{
	struct tdm t;
	uint64_t v;

	if (setup(2, 0))
		return;
	T_ASSERT(tdm_open(&t, DOM, BASE) == 0);
	T_ASSERT(tdm_start(&t) == 0);
	/* vCPU 1 goes first: Xen's boot-time invalidate is vCPU 0's */
	T_EQ(xsim_mmio_read(sim, DOM, 1, BASE, 4, &v, TMO), 0);
	T_EQ(t.nr_invalidate, 0);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), 0);
	T_EQ(t.nr_invalidate, 1);
	T_EQ(t.last_invalidate.size, 4);
	T_EQ(t.last_invalidate.dir, IOREQ_WRITE);
	T_EQ(t.last_invalidate.count, 0);
	T_EQ_U64(t.last_invalidate.data, ~0ull);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), 0);
	T_EQ(t.nr_invalidate, 1);
	/* a guest giving memory back: every vCPU invalidates once more */
	T_EQ(xsim_request_invalidate(sim, DOM), 0);
	T_EQ(xsim_mmio_read(sim, DOM, 1, BASE, 4, &v, TMO), 0);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), 0);
	T_EQ(t.nr_invalidate, 3);
	tdm_close(&t);
	teardown();
}

static void unserved_mmio_is_data_abort(void)
{
	struct tdm t;
	uint64_t v;

	if (setup(1, 0))
		return;
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), -EFAULT);
	T_ASSERT(tdm_open(&t, DOM, BASE) == 0);
	T_ASSERT(tdm_start(&t) == 0);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE + TDM_WINDOW, 4, &v, TMO),
	     -EFAULT);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE + 2, 4, &v, TMO), -EINVAL);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 3, &v, TMO), -EINVAL);
	T_EQ(xsim_mmio_read(sim, DOM, 5, BASE, 4, &v, TMO), -EINVAL);
	T_EQ(xsim_mmio_read(sim, DOM + 1, 0, BASE, 4, &v, TMO), -ESRCH);
	T_EQ(xendevicemodel_set_ioreq_server_state(t.xdm, DOM, t.id, 0), 0);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), -EFAULT);
	T_EQ(xendevicemodel_set_ioreq_server_state(t.xdm, DOM, t.id, 1), 0);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), 0);
	/* unmapping part of the window splits it */
	T_EQ(xendevicemodel_unmap_io_range_from_ioreq_server(
		     t.xdm, DOM, t.id, 1, BASE + 0x100, BASE + 0x10f),
	     0);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE + 0x108, 4, &v, TMO), -EFAULT);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE + 0x110, 4, &v, TMO), 0);
	T_EQ(xendevicemodel_map_io_range_to_ioreq_server(
		     t.xdm, DOM, t.id, 1, BASE + 0x100, BASE + 0x10f),
	     0);
	tdm_close(&t);
	teardown();
}

#define T_ERR(call, e)                  \
	do {                            \
		errno = 0;              \
		T_ASSERT((call) == -1); \
		T_EQ(errno, e);         \
	} while (0)

static void dm_errors_like_xen(void)
{
	xendevicemodel_handle *dm;
	xenforeignmemory_handle *fm;
	xenforeignmemory_resource_handle *res;
	evtchn_port_t bport = 99;
	xen_pfn_t gfn;
	ioservid_t id;
	void *addr = NULL;
	size_t size;

	if (setup(2, 0))
		return;
	dm = xendevicemodel_open(NULL, 0);
	fm = xenforeignmemory_open(NULL, 0);
	T_ASSERT(dm && fm);
	T_ERR(xendevicemodel_create_ioreq_server(
		      dm, DOM, HVM_IOREQSRV_BUFIOREQ_ATOMIC, &id),
	      EINVAL);
	T_ERR(xendevicemodel_create_ioreq_server(dm, 99, 0, &id), ESRCH);
	T_ERR(xendevicemodel_create_ioreq_server(dm, 0, 0, &id), EPERM);
	T_EQ(xendevicemodel_create_ioreq_server(dm, DOM, 0, &id), 0);
	T_ERR(xendevicemodel_set_ioreq_server_state(dm, DOM, id + 1, 1),
	      ENOENT);
	T_ERR(xendevicemodel_map_io_range_to_ioreq_server(dm, DOM, id + 1, 1,
							  BASE, BASE + 1),
	      ENOENT);
	T_ERR(xendevicemodel_map_io_range_to_ioreq_server(dm, DOM, id, 1,
							  BASE + 1, BASE),
	      EINVAL);
	T_EQ(xendevicemodel_map_io_range_to_ioreq_server(dm, DOM, id, 1, BASE,
							 BASE + 0x1ff),
	     0);
	T_ERR(xendevicemodel_map_io_range_to_ioreq_server(
		      dm, DOM, id, 1, BASE + 0x100, BASE + 0x2ff),
	      EEXIST);
	T_ERR(xendevicemodel_unmap_io_range_from_ioreq_server(
		      dm, DOM, id, 1, BASE, BASE + 0x200),
	      ENOENT);
	T_ERR(xendevicemodel_get_ioreq_server_info(dm, DOM, id, &gfn, NULL,
						   NULL),
	      EOPNOTSUPP);
	T_EQ(xendevicemodel_get_ioreq_server_info(dm, DOM, id, NULL, NULL,
						  &bport),
	     0);
	T_EQ(bport, 0);
	T_ERR(xendevicemodel_set_irq_level(dm, DOM, 31, 1), EINVAL);
	T_ERR(xendevicemodel_set_irq_level(dm, DOM, 33, 2), EINVAL);
	T_ERR(xendevicemodel_set_irq_level(dm, 99, 33, 1), ESRCH);
	T_ERR(xendevicemodel_shutdown(dm, DOM, 0), ENOSYS);
	res = xenforeignmemory_map_resource(
		fm, DOM, XENMEM_resource_ioreq_server, id,
		XENMEM_resource_ioreq_server_frame_bufioreq, 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	T_ASSERT(!res && errno == ENOENT);
	res = xenforeignmemory_map_resource(
		fm, DOM, XENMEM_resource_ioreq_server, id,
		XENMEM_resource_ioreq_server_frame_ioreq(1), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	T_ASSERT(!res && errno == EINVAL);
	res = xenforeignmemory_map_resource(
		fm, DOM, XENMEM_resource_ioreq_server, id + 3,
		XENMEM_resource_ioreq_server_frame_ioreq(0), 1, &addr,
		PROT_READ | PROT_WRITE, 0);
	T_ASSERT(!res && errno == ENOENT);
	T_EQ(xenforeignmemory_resource_size(
		     fm, DOM, XENMEM_resource_ioreq_server, id, &size),
	     0);
	T_EQ(size, 2 * 4096);
	T_ERR(xendevicemodel_destroy_ioreq_server(dm, DOM, id + 1), ENOENT);
	/* restricted to another domain: EPERM */
	T_EQ(xendevicemodel_restrict(dm, DOM + 1), 0);
	T_ERR(xendevicemodel_set_ioreq_server_state(dm, DOM, id, 1), EPERM);
	T_ERR(xendevicemodel_restrict(dm, DOM), EINVAL);
	xendevicemodel_close(dm);
	/* a server outlives its handle, as in Xen; a new handle may destroy it */
	dm = xendevicemodel_open(NULL, 0);
	T_EQ(xendevicemodel_destroy_ioreq_server(dm, DOM, id), 0);
	xendevicemodel_close(dm);
	xenforeignmemory_close(fm);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static void irq_edges(void)
{
	xendevicemodel_handle *dm;

	if (setup(1, 0))
		return;
	dm = xendevicemodel_open(NULL, 0);
	T_ASSERT(dm);
	T_EQ(xsim_irq_wait(sim, DOM, 33, 20), -ETIMEDOUT);
	T_EQ(xendevicemodel_set_irq_level(dm, DOM, 33, 1), 0);
	T_EQ(xendevicemodel_set_irq_level(dm, DOM, 33, 0), 0);
	T_EQ(xsim_irq_wait(sim, DOM, 33, TMO), 0);
	T_EQ(xsim_irq_wait(sim, DOM, 33, 20), -ETIMEDOUT);
	T_EQ(xsim_irq_count(sim, DOM, 33), 1);
	T_EQ(xsim_irq_wait(sim, DOM, 12, 20), -EINVAL);
	xendevicemodel_close(dm);
	teardown();
}

static void foreign_memory(void)
{
	/* RAM0 full, 1 MiB of RAM1 */
	const uint64_t ram = (3ull << 30) + (1 << 20);
	xen_pfn_t gfns[4] = { 0x40010, 0x40011, 0x40012, 0x40013 };
	xen_pfn_t bad[3] = { 0x40020, 0x3ffff, 0x40021 };
	xen_pfn_t hi = XSIM_RAM1_BASE >> 12,
		  edge[2] = { (XSIM_RAM1_BASE >> 12) + 255,
			      (XSIM_RAM1_BASE >> 12) + 256 };
	xenforeignmemory_handle *fm;
	struct xsim_stats st;
	int err[4];
	char *p;

	if (setup(1, ram))
		return;
	fm = xenforeignmemory_open(NULL, 0);
	T_ASSERT(fm);
	T_EQ(xsim_ram_write(sim, DOM, 0x40011000 + 8, "guest", 6), 0);
	p = xenforeignmemory_map(fm, DOM, PROT_READ | PROT_WRITE, 4, gfns,
				 NULL);
	T_ASSERT(p);
	xsim_get_stats(sim, &st);
	T_EQ(st.fmem_pages, 4);
	T_ASSERT(!strcmp(p + 4096 + 8, "guest"));
	strcpy(p + 3 * 4096, "backend");
	T_ASSERT(!strcmp(xsim_ram_ptr(sim, DOM, 0x40013000, 8), "backend"));
	T_EQ(xenforeignmemory_unmap(fm, p, 4), 0);
	/* a frame outside RAM: err[] per frame, or the whole call fails */
	p = xenforeignmemory_map(fm, DOM, PROT_READ, 3, bad, err);
	T_ASSERT(p);
	T_EQ(err[0], 0);
	T_EQ(err[1], -EINVAL);
	T_EQ(err[2], 0);
	T_EQ(xenforeignmemory_unmap(fm, p, 3), 0);
	errno = 0;
	T_ASSERT(!xenforeignmemory_map(fm, DOM, PROT_READ, 3, bad, NULL));
	T_EQ(errno, EINVAL);
	/* RAM1 at 8 GiB, and its last page then one past it */
	T_EQ(xsim_ram_write(sim, DOM, XSIM_RAM1_BASE, "high", 5), 0);
	p = xenforeignmemory_map(fm, DOM, PROT_READ, 1, &hi, NULL);
	T_ASSERT(p && !strcmp(p, "high"));
	T_EQ(xenforeignmemory_unmap(fm, p, 1), 0);
	p = xenforeignmemory_map(fm, DOM, PROT_READ, 2, edge, err);
	T_ASSERT(p);
	T_EQ(err[0], 0);
	T_EQ(err[1], -EINVAL);
	T_EQ(xenforeignmemory_unmap(fm, p, 2), 0);
	errno = 0;
	T_ASSERT(!xenforeignmemory_map(fm, 99, PROT_READ, 1, gfns, NULL));
	T_EQ(errno, ESRCH);
	/* restricted to another domain: EPERM */
	T_EQ(xentoolcore_restrict_all(DOM + 1), 0);
	errno = 0;
	T_ASSERT(!xenforeignmemory_map(fm, DOM, PROT_READ, 1, gfns, NULL));
	T_EQ(errno, EPERM);
	xenforeignmemory_close(fm);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static void grants(void)
{
	const uint64_t gfn = 0x40005;
	uint32_t refs[2] = { 10, 11 };
	xengnttab_handle *xgt;
	struct xsim_stats st;
	char *p;

	if (setup(1, 0))
		return;
	xgt = xengnttab_open(NULL, 0);
	T_ASSERT(xgt);
	T_EQ(xsim_ram_write(sim, DOM, gfn << 12, "granted", 8), 0);
	T_EQ(xsim_grant(sim, DOM, 10, 0, gfn, false), 0);
	T_EQ(xsim_grant(sim, DOM, 11, 0, gfn + 1, true), 0);
	T_EQ(xsim_grant(sim, DOM, 12, 5, gfn + 2, false), 0);
	T_EQ(xsim_grant(sim, DOM, 13, 0, 0x1000, false), -EINVAL);
	p = xengnttab_map_grant_ref(xgt, DOM, 10, PROT_READ | PROT_WRITE);
	T_ASSERT(p && !strcmp(p, "granted"));
	strcpy(p + 100, "answer");
	T_ASSERT(!strcmp(xsim_ram_ptr(sim, DOM, (gfn << 12) + 100, 7),
			 "answer"));
	T_EQ(xsim_grant_end(sim, DOM, 10), -EBUSY);
	errno = 0;
	T_ASSERT(
		!xengnttab_map_grant_ref(xgt, DOM, 11, PROT_READ | PROT_WRITE));
	T_EQ(errno, EINVAL); /* read-only grant, writable map */
	/* not for us, then not granted */
	T_ASSERT(!xengnttab_map_grant_ref(xgt, DOM, 12, PROT_READ));
	T_ASSERT(!xengnttab_map_grant_ref(xgt, DOM, 14, PROT_READ));
	T_ASSERT(!xengnttab_map_grant_ref(xgt, DOM + 1, 10, PROT_READ));
	T_EQ(xengnttab_unmap(xgt, p, 2), -1);
	T_EQ(xengnttab_unmap(xgt, p, 1), 0);
	T_EQ(xsim_grant_end(sim, DOM, 10), 0);
	T_ASSERT(!xengnttab_map_grant_ref(xgt, DOM, 10, PROT_READ));
	T_EQ(xsim_grant(sim, DOM, 10, 0, gfn, false), 0);
	p = xengnttab_map_domain_grant_refs(xgt, 2, DOM, refs, PROT_READ);
	T_ASSERT(p && !strcmp(p, "granted"));
	xsim_get_stats(sim, &st);
	T_EQ(st.grant_maps, 2);
	T_EQ(xengnttab_unmap(xgt, p, 2), 0);
	xengnttab_close(xgt);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static void event_channels(void)
{
	xenevtchn_handle *xce;
	int port, gport, fd;

	if (setup(1, 0))
		return;
	xce = xenevtchn_open(NULL, 0);
	T_ASSERT(xce);
	fd = xenevtchn_fd(xce);
	port = xenevtchn_bind_unbound_port(xce, DOM);
	T_ASSERT(port > 0);
	gport = xsim_evtchn_bind(sim, DOM, 0, port);
	T_ASSERT(gport > 0);
	T_EQ(xsim_evtchn_bind(sim, DOM, 0, port), -EINVAL); /* bound already */
	T_EQ(xenevtchn_notify(xce, port), 0);
	T_EQ(xsim_evtchn_wait(sim, DOM, gport, TMO), 0);
	T_EQ(xsim_evtchn_wait(sim, DOM, gport, 10), -ETIMEDOUT);
	/* guest -> us: delivered once, then masked until unmasked */
	fcntl(fd, F_SETFL, O_NONBLOCK);
	T_ERR(xenevtchn_pending(xce), EAGAIN);
	T_EQ(xsim_evtchn_notify(sim, DOM, gport), 0);
	T_EQ(poll(&(struct pollfd){ .fd = fd, .events = POLLIN }, 1, TMO), 1);
	T_EQ(xenevtchn_pending(xce), port);
	T_EQ(xsim_evtchn_notify(sim, DOM, gport), 0);
	T_ERR(xenevtchn_pending(xce), EAGAIN);
	T_EQ(xenevtchn_unmask(xce, port), 0);
	T_EQ(xenevtchn_pending(xce), port);
	T_EQ(xenevtchn_unmask(xce, port), 0);
	/* the driver's errnos */
	T_ERR(xenevtchn_notify(xce, port + 1), ENOTCONN);
	T_ERR(xenevtchn_notify(xce, 5000), EINVAL);
	T_ERR(xenevtchn_unbind(xce, port + 1), ENOTCONN);
	T_ERR(xenevtchn_bind_interdomain(xce, 99, 1), ESRCH);
	T_ERR(xenevtchn_bind_interdomain(xce, DOM, gport), EINVAL);
	T_ERR(xenevtchn_bind_virq(xce, 0), ENOSYS);
	T_EQ(xenevtchn_restrict(xce, DOM), 0);
	T_ERR(xenevtchn_bind_unbound_port(xce, DOM), EACCES);
	T_EQ(xenevtchn_unbind(xce, port), 0);
	/* closed from our side: the guest's end waits unbound again */
	T_EQ(xsim_evtchn_notify(sim, DOM, gport), 0);
	xenevtchn_close(xce);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static void broken_server_is_reported(void)
{
	char why[160];
	struct tdm t;
	uint64_t v;

	if (setup(1, 0))
		return;
	T_ASSERT(tdm_open(&t, DOM, BASE) == 0);
	T_ASSERT(tdm_start(&t) == 0);
	/* invalidate + read */
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), 0);
	/* writing NONE: Xen completes with all ones; the simulator reports it */
	t.mode = TDM_WRITE_NONE;
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), 0);
	T_EQ_U64(v, 0xffffffff);
	T_EQ(xsim_last_error(sim, why, sizeof(why)), 1);
	T_ASSERT(strstr(why, "STATE_IOREQ_NONE"));
	/* a silent server: the vCPU stays blocked, the guest call times out */
	t.mode = TDM_SILENT;
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, 50), -ETIMEDOUT);
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, 50), -EBUSY);
	tdm_close(&t);
	/* the server went away with the ioreq pending: reported, vCPU freed */
	T_EQ(xsim_last_error(sim, NULL, 0), 2);
	T_ASSERT(tdm_open(&t, DOM, BASE) == 0);
	T_ASSERT(tdm_start(&t) == 0);
	t.mode = TDM_BACKWARDS;
	T_EQ(xsim_mmio_read(sim, DOM, 0, BASE, 4, &v, TMO), -EIO);
	T_EQ(xsim_domain_crashed(sim, DOM, why, sizeof(why)), 1);
	T_ASSERT(strstr(why, "transition 2 -> 1"));
	tdm_close(&t);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static bool wait_event(struct xs_handle *xs, const char *path,
		       const char *token)
{
	struct pollfd p = { .fd = xs_fileno(xs), .events = POLLIN };

	while (poll(&p, 1, TMO) == 1) {
		char **ev = xs_check_watch(xs);
		bool hit;

		if (!ev)
			return false;
		hit = !strcmp(ev[XS_WATCH_PATH], path) &&
		      !strcmp(ev[XS_WATCH_TOKEN], token);
		free(ev);
		if (hit)
			return true;
	}
	return false;
}

static void xenstore_api(void)
{
	struct xs_permissions perms[2] = { { 0, XS_PERM_NONE },
					   { DOM, XS_PERM_READ } },
			      *got;
	struct xs_handle *xs;
	xs_transaction_t t;
	unsigned int n, len;
	char **dir, *v;
	int err;

	if (setup(1, 0))
		return;
	xs = xs_open(0);
	T_ASSERT(xs);
	T_ASSERT(xs_watch(xs, "/test", "tok"));
	T_ASSERT(wait_event(xs, "/test", "tok")); /* fires on registration */
	errno = 0;
	T_ASSERT(!xs_check_watch(xs) && errno == EAGAIN);
	T_ASSERT(xs_write(xs, XBT_NULL, "/test/a/b", "42", 2));
	T_ASSERT(wait_event(xs, "/test/a/b", "tok"));
	v = xs_read(xs, XBT_NULL, "/test/a/b", &len);
	T_ASSERT(v && len == 2 && !strcmp(v, "42"));
	free(v);
	T_ASSERT(xs_mkdir(xs, XBT_NULL, "/test/a/c"));
	dir = xs_directory(xs, XBT_NULL, "/test/a", &n);
	T_ASSERT(dir && n == 2 && !strcmp(dir[0], "b") && !strcmp(dir[1], "c"));
	free(dir);
	/* permissions: the guest may read, not write; only the owner sets them */
	T_ASSERT(xs_set_permissions(xs, XBT_NULL, "/test/a", perms, 2));
	got = xs_get_permissions(xs, XBT_NULL, "/test/a", &n);
	T_ASSERT(got && n == 2 && got[1].id == DOM &&
		 got[1].perms == XS_PERM_READ);
	free(got);
	T_EQ(xsim_xs_write(sim, DOM, "/test/a/x", "1"), -EACCES);
	v = xsim_xs_read(sim, DOM, "/test/a", &err);
	T_ASSERT(v);
	free(v);
	T_EQ(xsim_xs_read(sim, DOM + 1, "/test/a", &err) == NULL, 1);
	T_EQ(err, -EACCES);
	errno = 0;
	T_ASSERT(!xs_read(xs, XBT_NULL, "/nothing", &len) && errno == ENOENT);
	T_ASSERT(!xs_write(xs, XBT_NULL, "bad//path", "", 0) &&
		 errno == EINVAL);
	/* rm fires the watch; removing what is gone is fine if the parent
	 * exists */
	T_ASSERT(xs_rm(xs, XBT_NULL, "/test/a"));
	T_ASSERT(wait_event(xs, "/test/a", "tok"));
	T_ASSERT(xs_rm(xs, XBT_NULL, "/test/a"));
	T_ASSERT(!xs_rm(xs, XBT_NULL, "/test/a/b") && errno == ENOENT);
	/* transactions: invisible until committed, abort drops, conflicts
	 * EAGAIN */
	t = xs_transaction_start(xs);
	T_ASSERT(t);
	T_ASSERT(xs_write(xs, t, "/test/t", "1", 1));
	T_ASSERT(!xs_read(xs, XBT_NULL, "/test/t", &len));
	T_ASSERT(xs_transaction_end(xs, t, false));
	v = xs_read(xs, XBT_NULL, "/test/t", &len);
	T_ASSERT(v && !strcmp(v, "1"));
	free(v);
	t = xs_transaction_start(xs);
	T_ASSERT(xs_write(xs, t, "/test/t", "2", 1));
	T_ASSERT(xs_transaction_end(xs, t, true));
	v = xs_read(xs, XBT_NULL, "/test/t", &len);
	T_ASSERT(v && !strcmp(v, "1"));
	free(v);
	t = xs_transaction_start(xs);
	v = xs_read(xs, t, "/test/t", &len);
	free(v);
	T_EQ(xsim_xs_write(sim, 0, "/test/t", "3"), 0);
	T_ASSERT(xs_write(xs, t, "/test/t", "4", 1));
	T_ASSERT(!xs_transaction_end(xs, t, false) && errno == EAGAIN);
	T_ASSERT(!xs_transaction_end(xs, 12345, false) && errno == ENOENT);
	/* @releaseDomain on destroy */
	T_ASSERT(xs_watch(xs, "@releaseDomain", "rel"));
	T_ASSERT(wait_event(xs, "@releaseDomain", "rel"));
	T_ASSERT(xs_is_domain_introduced(xs, 0));
	T_EQ(xsim_domain_destroy(sim, DOM), 0);
	T_ASSERT(wait_event(xs, "@releaseDomain", "rel"));
	T_ASSERT(xs_unwatch(xs, "/test", "tok"));
	T_ASSERT(!xs_unwatch(xs, "/test", "tok") && errno == ENOENT);
	xs_close(xs);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

/* The backend's side of the disk protocol, on a thread. */
struct backend {
	int answer; /* 0: stay silent */
	bool saw_nodes;
	int rc;
};

static void *backend_thread(void *arg)
{
	struct backend *b = arg;
	char be[128], path[160];
	struct xs_handle *xs = xs_open(0);
	char *v;

	if (!xs)
		return NULL;
	xsim_libxl_be_path(be, sizeof(be), "virtio_disk", 0, DOM, 51712);
	snprintf(path, sizeof(path), "%s/state", be);
	xs_watch(xs, path, "st");
	for (int i = 0; i < 200 && b->answer; i++) {
		unsigned int len;

		v = xs_read(xs, XBT_NULL, path, &len);
		if (v && !strcmp(v, "1")) {
			char *base, *irq;

			snprintf(path, sizeof(path), "%s/base", be);
			base = xs_read(xs, XBT_NULL, path, &len);
			snprintf(path, sizeof(path), "%s/irq", be);
			irq = xs_read(xs, XBT_NULL, path, &len);
			b->saw_nodes = base && irq &&
				       !strcmp(base, "33554432") &&
				       !strcmp(irq, "33");
			free(base);
			free(irq);
			snprintf(path, sizeof(path), "%s/state", be);
			xs_write(xs, XBT_NULL, path, "2", 1);
		} else if (v && !strcmp(v, "5")) {
			xs_write(xs, XBT_NULL, path, "6", 1);
			free(v);
			break;
		}
		free(v);
		free(xs_read_watch(xs, &len));
	}
	xs_close(xs);
	return NULL;
}

static void libxl_disk_protocol(void)
{
	struct xsim_domain_config dc = { .domid = DOM,
					 .nr_vcpus = 1,
					 .ram_bytes = 16 << 20 };
	struct xsim_libxl_disk disk = { .vdev = "xvda",
					.target = "/srv/d.img",
					.grant_usage = -1 };
	struct xsim_libxl_virtio net = { .type = "virtio,device1",
					 .grant_usage = -1 };
	struct xsim_config cfg = { .socket_path = sock,
				   .libxl_timeout_ms = 300,
				   .quiet = true };
	struct backend b = { .answer = 1 };
	pthread_t th;
	char *v;
	int err;

	teardown();
	snprintf(sock, sizeof(sock), "/tmp/xsim-dm-%d.sock", getpid());
	setenv("XVB_SIM_SOCKET", sock, 1);
	T_ASSERT(xsim_create(&cfg, &sim) == 0);
	/* nobody answers: libxl gives up after its timeout and destroys the
	 * guest */
	T_EQ(xsim_libxl_create(sim, &dc, &disk, 1, NULL, 0), -ETIMEDOUT);
	T_EQ(xsim_domain_crashed(sim, DOM, NULL, 0), -ESRCH);
	T_ASSERT(xsim_xs_read(sim, 0, "/local/domain/7", &err) == NULL);
	/* a backend that answers 2: created and unpaused (however late the
	 * scheduler runs it: libxl waits up to the hang bound here) */
	T_ASSERT(pthread_create(&th, NULL, backend_thread, &b) == 0);
	disk.base = disk.irq = 0;
	xsim_set_libxl_timeout(sim, t_hang_ms());
	T_EQ(xsim_libxl_create(sim, &dc, &disk, 1, &net, 1), 0);
	xsim_set_libxl_timeout(sim, 300);
	T_ASSERT(b.saw_nodes);
	v = xsim_xs_read(sim, 0, "/local/domain/0/backend/virtio/7/0/base",
			 &err);
	T_ASSERT(v && !strcmp(v, "0x2000200"));
	free(v);
	v = xsim_xs_read(sim, 0, "/local/domain/0/backend/virtio/7/0/type",
			 &err);
	T_ASSERT(v && !strcmp(v, "virtio,device1"));
	free(v);
	v = xsim_xs_read(sim, DOM,
			 "/local/domain/0/backend/virtio_disk/7/51712/params",
			 &err);
	T_ASSERT(v && !strcmp(v, "/srv/d.img")); /* the frontend may read */
	free(v);
	T_EQ(xsim_xs_write(sim, DOM,
			   "/local/domain/0/backend/virtio_disk/7/51712/state",
			   "4"),
	     -EACCES);
	/* destroy: the disk backend answers 5 with 6, the generic device does
	 * not */
	T_EQ(xsim_libxl_destroy(sim, DOM), -ETIMEDOUT);
	pthread_join(th, NULL);
	T_ASSERT(xsim_xs_read(sim, 0,
			      "/local/domain/0/backend/virtio_disk/7/51712",
			      &err) == NULL);
	T_EQ(err, -ENOENT);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

static void restrict_all_kills_xenstore_handle(void)
{
	xendevicemodel_handle *dm;
	struct xs_handle *xs;
	unsigned int len, n;

	if (setup(1, 0))
		return;
	dm = xendevicemodel_open(NULL, 0);
	xs = xs_open(0);
	T_ASSERT(dm && xs);
	T_EQ(xentoolcore_restrict_all(DOM), 0);
	T_EQ(xendevicemodel_nr_vcpus(dm, DOM, &n), 0);
	T_ERR(xendevicemodel_nr_vcpus(dm, 0, &n), EPERM);
	/* like Xen's libraries: the xenstore handle's fd is now /dev/null */
	T_ASSERT(!xs_read(xs, XBT_NULL, "/local/domain/0/name", &len));
	xs_close(xs);
	xendevicemodel_close(dm);
	T_ASSERT(no_leaks() == 0);
	teardown();
}

T_MAIN(T_CASE(ioreq_one_vcpu), T_CASE(ioreq_four_vcpus_concurrent),
       T_CASE(invalidate_first_on_vcpu0), T_CASE(unserved_mmio_is_data_abort),
       T_CASE(dm_errors_like_xen), T_CASE(irq_edges), T_CASE(foreign_memory),
       T_CASE(grants), T_CASE(event_channels),
       T_CASE(broken_server_is_reported), T_CASE(xenstore_api),
       T_CASE(libxl_disk_protocol), T_CASE(restrict_all_kills_xenstore_handle))
