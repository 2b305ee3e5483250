// SPDX-License-Identifier: MIT
/*
 * Event channels: per-domain port tables with Xen's unbound/interdomain
 * states, delivery to Xen itself (ioreq), to library handles (with the
 * Linux evtchn driver's mask-on-delivery) and to guest code.
 */
#include <errno.h>
#include <stdint.h>
#include <unistd.h>

#include "core.h"

bool evtchn_port_valid(const struct xsim_dom *d, uint32_t port)
{
	return port > 0 && port < XSIM_NR_PORTS &&
	       d->port[port].state != PORT_FREE;
}

/* Xen's get_free_port() + EVTCHNOP_alloc_unbound. */
int evtchn_alloc_unbound(struct xsim_dom *d, uint16_t remote_dom)
{
	for (uint32_t p = 1; p < XSIM_NR_PORTS; p++) {
		struct xsim_port *ch = &d->port[p];

		if (ch->state != PORT_FREE)
			continue;
		*ch = (struct xsim_port){ .state = PORT_UNBOUND,
					  .remote_dom = remote_dom };
		return p;
	}
	return -ENOSPC;
}

/* EVTCHNOP_bind_interdomain from ld to (rdom, rport): the local port or -errno. */
int evtchn_bind_interdomain(struct xsim *sim, struct xsim_dom *ld,
			    uint16_t rdom, uint32_t rport)
{
	struct xsim_dom *rd = dom_find(sim, rdom);
	struct xsim_port *rch;
	int lport;

	if (!rd)
		return -ESRCH;
	if (!evtchn_port_valid(rd, rport))
		return -EINVAL;
	rch = &rd->port[rport];
	/* only a port left unbound for us may be bound */
	if (rch->state != PORT_UNBOUND || rch->remote_dom != ld->domid)
		return -EINVAL;
	lport = evtchn_alloc_unbound(ld, rdom);
	if (lport < 0)
		return lport;
	ld->port[lport].state = PORT_INTERDOMAIN;
	ld->port[lport].peer_dom = rdom;
	ld->port[lport].peer_port = rport;
	rch->state = PORT_INTERDOMAIN;
	rch->peer_dom = ld->domid;
	rch->peer_port = lport;
	return lport;
}

static void conn_ring_remove(struct xsim_conn *c, uint32_t port)
{
	unsigned int i, j = 0, n = c->count;
	uint32_t tmp[XSIM_NR_PORTS];

	for (i = 0; i < n; i++) {
		uint32_t p = c->ring[(c->head + i) % XSIM_NR_PORTS];

		if (p != port)
			tmp[j++] = p;
	}
	for (i = 0; i < j; i++)
		c->ring[i] = tmp[i];
	c->head = 0;
	c->count = j;
	if (n && !j) {
		uint64_t v;

		/* keep "efd readable iff ports queued" */
		(void)!read(c->efd, &v, sizeof(v));
	}
}

/*
 * EVTCHNOP_close: an interdomain peer falls back to unbound, waiting for
 * this domain again, as in Xen's evtchn_close().
 */
void evtchn_close(struct xsim *sim, struct xsim_dom *d, uint32_t port)
{
	struct xsim_port *ch = &d->port[port];

	if (ch->state == PORT_INTERDOMAIN) {
		struct xsim_dom *rd = dom_find(sim, ch->peer_dom);

		if (rd && rd->port[ch->peer_port].state == PORT_INTERDOMAIN &&
		    rd->port[ch->peer_port].peer_dom == d->domid &&
		    rd->port[ch->peer_port].peer_port == port) {
			rd->port[ch->peer_port].state = PORT_UNBOUND;
			rd->port[ch->peer_port].remote_dom = d->domid;
		}
	}
	if (ch->user == USER_CONN) {
		conn_ring_remove(ch->conn, port);
		sim->stats.ports--;
	}
	*ch = (struct xsim_port){ .state = PORT_FREE };
}

static void conn_deliver(struct xsim_conn *c, struct xsim_port *ch,
			 uint32_t port)
{
	uint64_t one = 1;

	if (ch->masked) {
		ch->pending = true;
		return;
	}
	ch->masked = true; /* until xenevtchn_unmask, like the Linux driver */
	c->ring[(c->head + c->count) % XSIM_NR_PORTS] = port;
	if (!c->count++)
		(void)!write(c->efd, &one, sizeof(one));
}

static void deliver(struct xsim *sim, struct xsim_dom *d, uint32_t port)
{
	struct xsim_port *ch = &d->port[port];

	switch (ch->user) {
	case USER_CONN:
		conn_deliver(ch->conn, ch, port);
		break;
	case USER_XEN:
		ioreq_port_notified(sim, ch->srv, ch->vcpu);
		break;
	case USER_GUEST:
		ch->events++;
		pthread_cond_broadcast(&sim->cond);
		break;
	default:
		break;
	}
}

/* EVTCHNOP_send on d's port: unbound ports drop the event, like Xen. */
void evtchn_send(struct xsim *sim, struct xsim_dom *d, uint32_t port)
{
	struct xsim_port *ch = &d->port[port];
	struct xsim_dom *rd;

	if (ch->state != PORT_INTERDOMAIN)
		return;
	rd = dom_find(sim, ch->peer_dom);
	if (rd)
		deliver(sim, rd, ch->peer_port);
}

void evtchn_conn_unmask(struct xsim_conn *c, struct xsim_dom *d, uint32_t port)
{
	struct xsim_port *ch;

	/* the driver ignores ports that are not this handle's */
	if (port >= XSIM_NR_PORTS)
		return;
	ch = &d->port[port];
	if (ch->user != USER_CONN || ch->conn != c)
		return;
	ch->masked = false;
	if (ch->pending) {
		ch->pending = false;
		conn_deliver(c, ch, port);
	}
}

int evtchn_conn_pop(struct xsim_conn *c)
{
	uint32_t port;
	uint64_t v;

	if (!c->count)
		return -EAGAIN;
	port = c->ring[c->head];
	c->head = (c->head + 1) % XSIM_NR_PORTS;
	if (!--c->count)
		(void)!read(c->efd, &v, sizeof(v));
	return port;
}

/* Closing the handle unbinds every port it bound (evtchn_release()). */
void evtchn_conn_close(struct xsim *sim, struct xsim_conn *c)
{
	struct xsim_dom *d = dom_find(sim, c->domid);

	if (!d)
		return;
	for (uint32_t p = 1; p < XSIM_NR_PORTS; p++)
		if (d->port[p].user == USER_CONN && d->port[p].conn == c)
			evtchn_close(sim, d, p);
}

/* ---- guest side -------------------------------------------------------- */

int xsim_evtchn_bind(struct xsim *sim, uint32_t domid, uint32_t remote_dom,
		     uint32_t remote_port)
{
	struct xsim_dom *d;
	int rc;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	rc = -ESRCH;
	if (d) {
		rc = evtchn_bind_interdomain(sim, d, remote_dom, remote_port);
		if (rc > 0)
			d->port[rc].user = USER_GUEST;
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_evtchn_notify(struct xsim *sim, uint32_t domid, uint32_t port)
{
	struct xsim_dom *d;
	int rc = -ESRCH;

	pthread_mutex_lock(&sim->lock);
	d = dom_find(sim, domid);
	if (d) {
		rc = -EINVAL;
		if (evtchn_port_valid(d, port) &&
		    d->port[port].user == USER_GUEST) {
			evtchn_send(sim, d, port);
			rc = 0;
		}
	}
	pthread_mutex_unlock(&sim->lock);
	return rc;
}

int xsim_evtchn_wait(struct xsim *sim, uint32_t domid, uint32_t port,
		     int timeout_ms)
{
	struct timespec dl;
	struct xsim_dom *d;
	int rc = -ESRCH;

	deadline_set(&dl, timeout_ms);
	pthread_mutex_lock(&sim->lock);
	for (;;) {
		d = dom_find(sim, domid);
		if (!d)
			break;
		rc = -EINVAL;
		if (!evtchn_port_valid(d, port) ||
		    d->port[port].user != USER_GUEST)
			break;
		if (d->port[port].events != d->port[port].acked) {
			d->port[port].acked = d->port[port].events;
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
