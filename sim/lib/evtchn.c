// SPDX-License-Identifier: MIT
/*
 * libxenevtchn on the simulator. The handle's fd is an eventfd the
 * simulator keeps readable while ports are pending for this handle.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <unistd.h>

#include <xenevtchn.h>

#include "client.h"

struct xenevtchn_handle {
	struct xsc c;
	int efd;
};

static int restrict_cb(struct xtc_handle *ah, domid_t domid)
{
	return xsc_restrict(xsc_of(ah), domid);
}

xenevtchn_handle *xenevtchn_open(struct xentoollog_logger *logger,
				 unsigned int flags)
{
	struct xsim_msg req = { .op = XSIM_OP_EVTCHN_OPEN }, rsp;
	xenevtchn_handle *xce = calloc(1, sizeof(*xce));
	unsigned int nfds = 0;
	int saved;

	if (!xce)
		return NULL;
	xce->efd = -1;
	if (xsc_open(&xce->c, XSIM_KIND_EVTCHN, restrict_cb))
		goto err;
	if (xsc_call(&xce->c, &req, NULL, 0, &rsp, NULL, 0, NULL, &xce->efd,
		     &nfds))
		goto err;
	if (nfds != 1) {
		errno = EPROTO;
		goto err;
	}
	if (flags & XENEVTCHN_NO_CLOEXEC)
		fcntl(xce->efd, F_SETFD, 0);
	return xce;

err:
	saved = errno;
	xenevtchn_close(xce);
	errno = saved;
	return NULL;
}

xenevtchn_handle *xenevtchn_fdopen(struct xentoollog_logger *logger, int fd,
				   unsigned int open_flags)
{
	errno = ENOSYS;
	return NULL;
}

int xenevtchn_close(xenevtchn_handle *xce)
{
	if (!xce)
		return 0;
	if (xce->efd >= 0)
		close(xce->efd);
	xsc_close(&xce->c); /* the simulator unbinds every port of ours */
	free(xce);
	return 0;
}

int xenevtchn_fd(xenevtchn_handle *xce)
{
	return xce->efd;
}

int xenevtchn_notify(xenevtchn_handle *xce, evtchn_port_t port)
{
	return xsc_simple(&xce->c, XSIM_OP_EVTCHN_NOTIFY, 0, port, 0, 0, 0,
			  NULL);
}

static xenevtchn_port_or_error_t port_op(xenevtchn_handle *xce, uint32_t op,
					 uint32_t domid, uint64_t arg)
{
	uint64_t port;

	if (xsc_simple(&xce->c, op, domid, arg, 0, 0, 0, &port))
		return -1;
	return port;
}

xenevtchn_port_or_error_t xenevtchn_bind_unbound_port(xenevtchn_handle *xce,
						      uint32_t domid)
{
	return port_op(xce, XSIM_OP_EVTCHN_BIND_UNBOUND, domid, 0);
}

xenevtchn_port_or_error_t xenevtchn_bind_interdomain(xenevtchn_handle *xce,
						     uint32_t domid,
						     evtchn_port_t remote_port)
{
	return port_op(xce, XSIM_OP_EVTCHN_BIND_INTERDOMAIN, domid,
		       remote_port);
}

xenevtchn_port_or_error_t xenevtchn_bind_virq(xenevtchn_handle *xce,
					      unsigned int virq)
{
	errno = ENOSYS;
	return -1;
}

int xenevtchn_unbind(xenevtchn_handle *xce, evtchn_port_t port)
{
	return xsc_simple(&xce->c, XSIM_OP_EVTCHN_UNBIND, 0, port, 0, 0, 0,
			  NULL);
}

/*
 * Like read() on /dev/xen/evtchn: blocks while nothing is pending unless
 * the caller made the fd non-blocking, then EAGAIN.
 */
xenevtchn_port_or_error_t xenevtchn_pending(xenevtchn_handle *xce)
{
	struct pollfd p = { .fd = xce->efd, .events = POLLIN };

	for (;;) {
		xenevtchn_port_or_error_t port =
			port_op(xce, XSIM_OP_EVTCHN_PENDING, 0, 0);

		if (port >= 0 || errno != EAGAIN)
			return port;
		if (fcntl(xce->efd, F_GETFL) & O_NONBLOCK)
			return -1;
		if (poll(&p, 1, -1) < 0 && errno != EINTR)
			return -1;
	}
}

int xenevtchn_unmask(xenevtchn_handle *xce, evtchn_port_t port)
{
	return xsc_simple(&xce->c, XSIM_OP_EVTCHN_UNMASK, 0, port, 0, 0, 0,
			  NULL);
}

int xenevtchn_restrict(xenevtchn_handle *xce, domid_t domid)
{
	return xsc_restrict(&xce->c, domid);
}
