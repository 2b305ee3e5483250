// SPDX-License-Identifier: MIT
/*
 * Ioreq servers and the vCPU side of the ioreq protocol, after Xen's
 * common/ioreq.c: one slot per vCPU in a shared page, one outstanding
 * request per vCPU, state changes checked the way Xen checks them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"

#include <xen/hvm/dm_op.h>
#include <xen/memory.h>
#include "lib/compiler.h"

/* ---- range sets (inclusive ranges, kept sorted and merged) ------------- */

static bool rs_overlaps(const struct xsim_rangeset *rs, uint64_t s, uint64_t e)
{
	for (unsigned int i = 0; i < rs->n; i++)
		if (rs->r[i].s <= e && s <= rs->r[i].e)
			return true;
	return false;
}

static bool rs_contains(const struct xsim_rangeset *rs, uint64_t s, uint64_t e)
{
	for (unsigned int i = 0; i < rs->n; i++)
		if (rs->r[i].s <= s && e <= rs->r[i].e)
			return true;
	return false;
}

static int rs_insert(struct xsim_rangeset *rs, unsigned int at, uint64_t s,
		     uint64_t e)
{
	if (rs->n == rs->cap) {
		unsigned int cap = rs->cap ? rs->cap * 2 : 8;
		struct xsim_range *r = realloc(rs->r, cap * sizeof(*r));

		if (!r)
			return -ENOMEM;
		rs->r = r;
		rs->cap = cap;
	}
	memmove(&rs->r[at + 1], &rs->r[at], (rs->n - at) * sizeof(*rs->r));
	rs->r[at] = (struct xsim_range){ s, e };
	rs->n++;
	return 0;
}

static void rs_delete(struct xsim_rangeset *rs, unsigned int at)
{
	memmove(&rs->r[at], &rs->r[at + 1], (rs->n - at - 1) * sizeof(*rs->r));
	rs->n--;
}

/* Add a range that overlaps nothing; merge with adjacent neighbours. */
static int rs_add(struct xsim_rangeset *rs, uint64_t s, uint64_t e)
{
	unsigned int i = 0;
	int rc;

	while (i < rs->n && rs->r[i].e < s)
		i++;
	rc = rs_insert(rs, i, s, e);
	if (rc)
		return rc;
	if (i + 1 < rs->n && e != UINT64_MAX && rs->r[i + 1].s == e + 1) {
		rs->r[i].e = rs->r[i + 1].e;
		rs_delete(rs, i + 1);
	}
	if (i > 0 && rs->r[i - 1].e + 1 == rs->r[i].s) {
		rs->r[i - 1].e = rs->r[i].e;
		rs_delete(rs, i);
	}
	return 0;
}

/* Remove [s, e], known to lie inside one range; may split it. */
static int rs_remove(struct xsim_rangeset *rs, uint64_t s, uint64_t e)
{
	for (unsigned int i = 0; i < rs->n; i++) {
		struct xsim_range r = rs->r[i];

		if (!(r.s <= s && e <= r.e))
			continue;
		if (r.s == s && r.e == e) {
			rs_delete(rs, i);
		} else if (r.s == s) {
			rs->r[i].s = e + 1;
		} else if (r.e == e) {
			rs->r[i].e = s - 1;
		} else {
			rs->r[i].e = s - 1;
			return rs_insert(rs, i + 1, e + 1, r.e);
		}
		return 0;
	}
	return -ENOENT;
}

/* ---- servers ------------------------------------------------------------ */

static void srv_free(struct xsim *sim, struct xsim_ioserv *s)
{
	struct xsim_dom *d;

	if (!s)
		return;
	d = s->d;
	for (unsigned int v = 0; v < d->nr_vcpus; v++) {
		struct xsim_vcpu *vc = &d->vcpu[v];

		if (s->port[v])
			evtchn_close(sim, d, s->port[v]);
		/* a vCPU still waiting on this server would wait for ever */
		if (vc->pending && vc->srv == s) {
			sim_report(
				sim,
				"d%u v%u: ioreq server %u destroyed with an ioreq pending",
				d->domid, v, s->id);
			vc->pending = false;
			vc->result = -EIO;
		}
	}
	pthread_cond_broadcast(&sim->cond);
	if (s->page)
		munmap(s->page, PAGE_SIZE);
	if (s->fd >= 0)
		close(s->fd);
	for (unsigned int i = 0; i < NR_RANGE_TYPES; i++)
		free(s->range[i].r);
	free(s);
}

int ioreq_server_create(struct xsim *sim, struct xsim_dom *d, uint16_t emulator,
			int bufioreq, unsigned int *id)
{
	struct xsim_ioserv *s;
	unsigned int i;
	int rc;

	/* Arm: no buffered ioreqs (!IS_ENABLED(CONFIG_X86) && bufioreq) */
	if (bufioreq)
		return -EINVAL;
	for (i = 0; i < XSIM_MAX_SERVERS; i++)
		if (!d->srv[i])
			break;
	if (i == XSIM_MAX_SERVERS)
		return -ENOSPC;
	s = calloc(1, sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->d = d;
	s->id = i;
	s->emulator = emulator;
	s->fd = memfd_create("xsim-ioreq", MFD_CLOEXEC);
	rc = -errno;
	if (s->fd < 0 || ftruncate(s->fd, PAGE_SIZE))
		goto err;
	s->page = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED,
		       s->fd, 0);
	if (s->page == MAP_FAILED) {
		s->page = NULL;
		goto err;
	}
	/* one Xen-consumed port per vCPU, bindable by the emulator */
	for (unsigned int v = 0; v < d->nr_vcpus; v++) {
		rc = evtchn_alloc_unbound(d, emulator);
		if (rc < 0)
			goto err;
		s->port[v] = rc;
		d->port[rc].user = USER_XEN;
		d->port[rc].srv = s;
		d->port[rc].vcpu = v;
	}
	d->srv[i] = s;
	sim->stats.servers++;
	*id = i;
	return 0;

err:
	srv_free(sim, s);
	return rc;
}

static struct xsim_ioserv *srv_get(struct xsim_dom *d, uint16_t caller,
				   unsigned int id, int *rc)
{
	struct xsim_ioserv *s = id < XSIM_MAX_SERVERS ? d->srv[id] : NULL;

	*rc = -ENOENT;
	if (!s)
		return NULL;
	*rc = -EPERM;
	if (s->emulator != caller)
		return NULL;
	*rc = 0;
	return s;
}

int ioreq_server_destroy(struct xsim *sim, struct xsim_dom *d, uint16_t caller,
			 unsigned int id)
{
	struct xsim_ioserv *s;
	int rc;

	s = srv_get(d, caller, id, &rc);
	if (!s)
		return rc;
	d->srv[id] = NULL;
	sim->stats.servers--;
	srv_free(sim, s);
	return 0;
}

int ioreq_server_info(struct xsim_dom *d, uint16_t caller, unsigned int id,
		      bool gfns)
{
	int rc;

	if (!srv_get(d, caller, id, &rc))
		return rc;
	/* Arm has no legacy gfn pages: arch_ioreq_server_map_pages() */
	return gfns ? -EOPNOTSUPP : 0;
}

int ioreq_server_range(struct xsim_dom *d, uint16_t caller, unsigned int id,
		       unsigned int type, uint64_t s, uint64_t e, bool map)
{
	struct xsim_ioserv *srv;
	struct xsim_rangeset *rs;
	int rc;

	if (s > e)
		return -EINVAL;
	srv = srv_get(d, caller, id, &rc);
	if (!srv)
		return rc;
	if (type >= NR_RANGE_TYPES)
		return -EINVAL;
	rs = &srv->range[type];
	if (map)
		return rs_overlaps(rs, s, e) ? -EEXIST : rs_add(rs, s, e);
	return rs_contains(rs, s, e) ? rs_remove(rs, s, e) : -ENOENT;
}

int ioreq_server_set_state(struct xsim *sim, struct xsim_dom *d,
			   uint16_t caller, unsigned int id, bool enabled)
{
	struct xsim_ioserv *s;
	int rc;

	s = srv_get(d, caller, id, &rc);
	if (!s)
		return rc;
	if (enabled && !s->enabled && s->page_alloc) {
		/* ioreq_server_update_evtchn(): vp_eport appears on enable */
		for (unsigned int v = 0; v < d->nr_vcpus; v++)
			WRITE_ONCE(s->page->vcpu_ioreq[v].vp_eport, s->port[v]);
	}
	s->enabled = enabled;
	pthread_cond_broadcast(&sim->cond);
	return 0;
}

/* XENMEM_acquire_resource of frames [frame, frame + nr) of server id. */
int ioreq_server_frame(struct xsim_dom *d, uint16_t caller, unsigned int id,
		       uint64_t frame, uint64_t nr, int *fd)
{
	struct xsim_ioserv *s;
	int rc;

	s = srv_get(d, caller, id, &rc);
	if (!s)
		return rc;
	if (!s->page_alloc) {
		memset(s->page, 0, PAGE_SIZE); /* clear_page() at allocation */
		s->page_alloc = true;
	}
	for (uint64_t i = frame; i < frame + nr; i++) {
		if (i == XENMEM_resource_ioreq_server_frame_bufioreq)
			return -ENOENT; /* no buffered ring on Arm */
		if (i != (uint64_t)XENMEM_resource_ioreq_server_frame_ioreq(0))
			return -EINVAL;
	}
	*fd = s->fd;
	return 0;
}

void ioreq_dom_teardown(struct xsim *sim, struct xsim_dom *d)
{
	for (unsigned int i = 0; i < XSIM_MAX_SERVERS; i++) {
		if (!d->srv[i])
			continue;
		srv_free(sim, d->srv[i]);
		d->srv[i] = NULL;
		sim->stats.servers--;
	}
}

/* ---- the vCPU side ------------------------------------------------------ */

/* state is a bit-field: one volatile access to it, as Xen does */
static uint8_t slot_state(ioreq_t *p)
{
	return ((volatile ioreq_t *)p)->state;
}

static void slot_set_state(ioreq_t *p, uint8_t state)
{
	((volatile ioreq_t *)p)->state = state;
}

static void vcpu_done(struct xsim *sim, struct xsim_vcpu *vc, int result,
		      uint64_t data)
{
	vc->pending = false;
	vc->result = result;
	vc->data = data;
	pthread_cond_broadcast(&sim->cond);
}

/*
 * The server notified vCPU v's port: Xen's wait_for_io() step. Only a
 * notification makes the vCPU look at its slot again, as in Xen.
 */
void ioreq_port_notified(struct xsim *sim, struct xsim_ioserv *s,
			 unsigned int v)
{
	struct xsim_dom *d = s->d;
	struct xsim_vcpu *vc = &d->vcpu[v];
	ioreq_t *p = &s->page->vcpu_ioreq[v];
	uint8_t state;

	if (!vc->pending || vc->srv != s)
		return; /* spurious: Xen ignores it too */
	state = slot_state(p);
	smp_rmb(); /* state, then data: pairs with the server's wmb */
	if (state == vc->prev_state)
		return;
	if (state == STATE_IOREQ_NONE) {
		/* Xen takes this as an emulator dying: completes with ~0 */
		sim_report(sim,
			   "d%u v%u: server wrote STATE_IOREQ_NONE over %u",
			   d->domid, v, vc->prev_state);
		vcpu_done(sim, vc, 0, ~0ull);
		return;
	}
	if (state < vc->prev_state) {
		dom_crash(sim, d,
			  "Weird HVM ioreq state transition %u -> %u (v%u)",
			  vc->prev_state, state, v);
		vcpu_done(sim, vc, -EIO, 0);
		return;
	}
	switch (state) {
	case STATE_IORESP_READY:
		slot_set_state(p, STATE_IOREQ_NONE);
		vcpu_done(sim, vc, 0, READ_ONCE(p->data));
		break;
	case STATE_IOREQ_INPROCESS:
		vc->prev_state = state;
		break;
	default:
		dom_crash(sim, d, "Weird HVM iorequest state %u (v%u)", state,
			  v);
		vcpu_done(sim, vc, -EIO, 0);
		break;
	}
}

/* ioreq_send(): fill the slot, publish READY, notify. -EFAULT if unhandled. */
static int ioreq_send(struct xsim *sim, struct xsim_ioserv *s, unsigned int v,
		      const ioreq_t *req)
{
	struct xsim_dom *d = s->d;
	ioreq_t *p;

	if (!s->page_alloc) {
		sim_report(sim, "d%u: ioreq server %u has no ioreq page mapped",
			   d->domid, s->id);
		return -EFAULT;
	}
	p = &s->page->vcpu_ioreq[v];
	if (slot_state(p) != STATE_IOREQ_NONE) {
		sim_report(sim, "d%u v%u: device model set bad IO state %u",
			   d->domid, v, slot_state(p));
		return -EFAULT;
	}
	if (READ_ONCE(p->vp_eport) != s->port[v]) {
		sim_report(sim,
			   "d%u v%u: device model set bad event channel %u",
			   d->domid, v, READ_ONCE(p->vp_eport));
		return -EFAULT;
	}
	*p = *req;
	p->state = STATE_IOREQ_NONE;
	p->vp_eport = s->port[v];
	smp_wmb(); /* request, then state: pairs with the server's rmb */
	slot_set_state(p, STATE_IOREQ_READY);
	d->vcpu[v].pending = true;
	d->vcpu[v].srv = s;
	d->vcpu[v].prev_state = STATE_IOREQ_READY;
	evtchn_send(sim, d, s->port[v]); /* notify_via_xen_event_channel() */
	return 0;
}

static int ioreq_wait(struct xsim *sim, struct xsim_dom *d,
		      struct xsim_vcpu *vc, const struct timespec *dl,
		      int timeout_ms)
{
	while (vc->pending) {
		if (d->dying)
			return -ESRCH;
		if (d->crashed)
			return -EIO;
		if (!sim_wait(sim, dl, timeout_ms))
			return -ETIMEDOUT;
	}
	return vc->result;
}

static struct xsim_ioserv *srv_select(struct xsim_dom *d, uint64_t s,
				      uint64_t e)
{
	/* newest first, like FOR_EACH_IOREQ_SERVER */
	for (unsigned int id = XSIM_MAX_SERVERS; id--;) {
		struct xsim_ioserv *srv = d->srv[id];

		if (srv && srv->enabled &&
		    rs_contains(&srv->range[XEN_DMOP_IO_RANGE_MEMORY], s, e))
			return srv;
	}
	return NULL;
}

/* ioreq_signal_mapcache_invalidate(): to every enabled server, in turn. */
static int send_invalidate(struct xsim *sim, struct xsim_dom *d, unsigned int v,
			   const struct timespec *dl, int timeout_ms)
{
	const ioreq_t req = {
		.type = IOREQ_TYPE_INVALIDATE,
		.size = 4,
		.dir = IOREQ_WRITE,
		.data = ~0ull, /* flush all; count stays 0 as in Xen */
	};
	int rc;

	for (unsigned int id = XSIM_MAX_SERVERS; id--;) {
		struct xsim_ioserv *s = d->srv[id];

		if (!s || !s->enabled)
			continue;
		if (ioreq_send(sim, s, v, &req)) {
			sim_report(sim,
				   "d%u: Unsuccessful map-cache invalidate",
				   d->domid);
			continue;
		}
		rc = ioreq_wait(sim, d, &d->vcpu[v], dl, timeout_ms);
		if (rc)
			return rc;
	}
	return 0;
}

static bool any_enabled(const struct xsim_dom *d)
{
	for (unsigned int id = 0; id < XSIM_MAX_SERVERS; id++)
		if (d->srv[id] && d->srv[id]->enabled)
			return true;
	return false;
}

/* One access on a vCPU that is ours (busy); lock held. */
static int mmio_access(struct xsim *sim, struct xsim_dom *d, unsigned int v,
		       ioreq_t *req, const struct timespec *dl, int timeout_ms)
{
	struct xsim_vcpu *vc = &d->vcpu[v];
	struct xsim_ioserv *s;
	int rc;

	if (vc->invalidate && any_enabled(d)) {
		vc->invalidate = false;
		rc = send_invalidate(sim, d, v, dl, timeout_ms);
		if (rc)
			return rc;
	}
	s = srv_select(d, req->addr, req->addr + req->size - 1);
	if (!s)
		return -EFAULT; /* no one emulates it: data abort */
	rc = ioreq_send(sim, s, v, req);
	if (rc)
		return rc;
	rc = ioreq_wait(sim, d, vc, dl, timeout_ms);
	if (!rc)
		req->data = vc->data;
	return rc;
}

static int mmio(struct xsim *sim, uint32_t domid, unsigned int v, uint64_t addr,
		unsigned int size, int dir, uint64_t *data, int timeout_ms)
{
	ioreq_t req = {
		.addr = addr,
		.size = size,
		.count = 1,
		.dir = dir,
		.type = IOREQ_TYPE_COPY,
		.data = dir == IOREQ_WRITE ? *data : 0,
	};
	struct xsim_dom *d;
	struct xsim_vcpu *vc;
	struct timespec dl;
	int rc;

	if ((size != 1 && size != 2 && size != 4 && size != 8) ||
	    (addr & (size - 1)))
		return -EINVAL;
	deadline_set(&dl, timeout_ms);
	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	rc = -ESRCH;
	if (!d)
		goto out_unlock;
	rc = -EINVAL;
	if (v >= d->nr_vcpus)
		goto out_unlock;
	vc = &d->vcpu[v];
	d->users++;
	/* a paused guest does not run; a vCPU does one access at a time */
	while (!d->dying && !d->crashed && (d->paused || vc->busy)) {
		if (!sim_wait(sim, &dl, timeout_ms)) {
			rc = -ETIMEDOUT;
			goto out_user;
		}
	}
	rc = d->dying ? -ESRCH : d->crashed ? -EIO : vc->pending ? -EBUSY : 0;
	if (rc)
		goto out_user;
	vc->busy = true;
	rc = mmio_access(sim, d, v, &req, &dl, timeout_ms);
	vc->busy = false;
	if (!rc && dir == IOREQ_READ)
		*data = size == 8 ? req.data :
				    req.data & ((1ull << (size * 8)) - 1);
out_user:
	d->users--;
	pthread_cond_broadcast(&sim->cond);
out_unlock:
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_mmio_read(struct xsim *sim, uint32_t domid, unsigned int vcpu,
		   uint64_t addr, unsigned int size, uint64_t *val,
		   int timeout_ms)
{
	return mmio(sim, domid, vcpu, addr, size, IOREQ_READ, val, timeout_ms);
}

int xsim_mmio_write(struct xsim *sim, uint32_t domid, unsigned int vcpu,
		    uint64_t addr, unsigned int size, uint64_t val,
		    int timeout_ms)
{
	return mmio(sim, domid, vcpu, addr, size, IOREQ_WRITE, &val,
		    timeout_ms);
}

int xsim_request_invalidate(struct xsim *sim, uint32_t domid)
{
	struct xsim_dom *d;
	int rc = -ESRCH;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d) {
		for (unsigned int v = 0; v < d->nr_vcpus; v++)
			d->vcpu[v].invalidate = true;
		rc = 0;
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_ioreq_pending(struct xsim *sim, uint32_t domid, unsigned int vcpu)
{
	struct xsim_dom *d;
	int rc = -ESRCH;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d)
		rc = vcpu < d->nr_vcpus ? d->vcpu[vcpu].pending : -EINVAL;
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

/* ---- interrupts ---------------------------------------------------------- */

/* XEN_DMOP_set_irq_level on Arm: SPIs only, level 0 or 1, edge-triggered. */
int irq_set_level(struct xsim *sim, struct xsim_dom *d, unsigned int irq,
		  unsigned int level)
{
	struct xsim_irq *q;

	if (irq < 32 || irq >= 32 + d->nr_spis || level > 1)
		return -EINVAL;
	q = &d->irq[irq - 32];
	if (level) {
		q->count++;
		q->pending = true;
		pthread_cond_broadcast(&sim->cond);
	}
	q->level = level;
	return 0;
}

int xsim_irq_wait(struct xsim *sim, uint32_t domid, unsigned int spi,
		  int timeout_ms)
{
	struct timespec dl;
	struct xsim_dom *d;
	int rc;

	deadline_set(&dl, timeout_ms);
	pthread_mutex_lock(&sim->lock);
	for (;;) {
		rc = -ESRCH;
		d = dom_find(sim, domid);
		if (!d)
			break;
		rc = -EINVAL;
		if (spi < 32 || spi >= 32 + d->nr_spis)
			break;
		if (d->irq[spi - 32].pending) {
			/* the guest acks it */
			d->irq[spi - 32].pending = false;
			rc = 0;
			break;
		}
		rc = -ETIMEDOUT;
		if (!sim_wait(sim, &dl, timeout_ms))
			break;
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

uint64_t xsim_irq_count(struct xsim *sim, uint32_t domid, unsigned int spi)
{
	struct xsim_dom *d;
	uint64_t n = 0;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d && spi >= 32 && spi < 32 + d->nr_spis)
		n = d->irq[spi - 32].count;
	pthread_mutex_unlock(&sim->lock);
	return n;
}
