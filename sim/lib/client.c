// SPDX-License-Identifier: MIT
/* Client transport of the drop-in libraries: connect, request, reply. */
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"

#define CLOSE_WAIT_MS 5000

/* The domain this process pretends to run in. */
static uint32_t my_domid(void)
{
	const char *s = getenv(XSIM_ENV_DOMID);

	return s ? strtoul(s, NULL, 0) : 0;
}

int xsc_open(struct xsc *c, unsigned int kind, xtc_restrict_fn *restrict_cb)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	const char *path = getenv(XSIM_ENV_SOCKET);
	int saved;

	c->fd = -1;
	pthread_mutex_init(&c->lock, NULL);
	c->tc.restrict_cb = restrict_cb;
	c->tc.pprev = NULL;
	xentoolcore__register_active_handle(&c->tc);
	if (!path || strlen(path) >= sizeof(sa.sun_path)) {
		errno = ENOENT; /* as if /dev/xen/... were missing */
		goto err;
	}
	strcpy(sa.sun_path, path);
	c->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (c->fd < 0 || connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)))
		goto err;
	if (xsc_simple(c, XSIM_OP_HELLO, my_domid(), XSIM_MAGIC, XSIM_VERSION,
		       kind, 0, NULL))
		goto err;
	return 0;

err:
	saved = errno;
	xsc_close(c);
	errno = saved;
	return -1;
}

void xsc_close(struct xsc *c)
{
	char b;

	xentoolcore__deregister_active_handle(&c->tc);
	if (c->fd < 0)
		return;
	/* the simulator answers EOF by dropping us: wait for that, bounded */
	if (!shutdown(c->fd, SHUT_WR)) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };

		while (poll(&p, 1, CLOSE_WAIT_MS) == 1 &&
		       recv(c->fd, &b, 1, 0) > 0)
			;
	}
	close(c->fd);
	c->fd = -1;
	pthread_mutex_destroy(&c->lock);
}

/* One reply datagram; fds are taken (or closed) whatever happens. */
static int recv_reply(int fd, struct xsim_msg *rsp, void *rpl, size_t rmax,
		      size_t *rlen, int *fds, unsigned int *nfds)
{
	static __thread char buf[XSIM_PAYLOAD_MAX];
	char cbuf[CMSG_SPACE(sizeof(int) * XSIM_MAX_FDS)];
	struct iovec iov[2] = { { rsp, sizeof(*rsp) }, { buf, sizeof(buf) } };
	struct msghdr mh = { .msg_iov = iov,
			     .msg_iovlen = 2,
			     .msg_control = cbuf,
			     .msg_controllen = sizeof(cbuf) };
	unsigned int n = 0;
	ssize_t got;

	do
		got = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	while (got < 0 && errno == EINTR);
	for (struct cmsghdr *cm = CMSG_FIRSTHDR(&mh); cm;
	     cm = CMSG_NXTHDR(&mh, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0;
		     i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int),
			       sizeof(int));
			if (fds && n < XSIM_MAX_FDS)
				fds[n++] = f;
			else
				close(f);
		}
	}
	if (nfds)
		*nfds = n;
	if (got < (ssize_t)sizeof(*rsp) || rsp->len != got - sizeof(*rsp)) {
		while (n)
			close(fds[--n]);
		if (nfds)
			*nfds = 0;
		errno = got < 0 ? errno : ECONNRESET;
		return -1;
	}
	if (rpl)
		memcpy(rpl, buf, rsp->len < rmax ? rsp->len : rmax);
	if (rlen)
		*rlen = rsp->len;
	return 0;
}

int xsc_call(struct xsc *c, struct xsim_msg *req, const void *pl, size_t plen,
	     struct xsim_msg *rsp, void *rpl, size_t rmax, size_t *rlen,
	     int *fds, unsigned int *nfds)
{
	struct iovec iov[2] = { { req, sizeof(*req) }, { (void *)pl, plen } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	int rc = -1;

	if (nfds)
		*nfds = 0;
	if (plen > XSIM_PAYLOAD_MAX) {
		errno = E2BIG;
		return -1;
	}
	req->len = plen;
	pthread_mutex_lock(&c->lock);
	if (sendmsg(c->fd, &mh, MSG_NOSIGNAL) < 0)
		goto out;
	if (recv_reply(c->fd, rsp, rpl, rmax, rlen, fds, nfds))
		goto out;
	if (rsp->err) {
		while (fds && nfds && *nfds)
			close(fds[--*nfds]);
		errno = rsp->err;
		goto out;
	}
	rc = 0;
out:
	pthread_mutex_unlock(&c->lock);
	return rc;
}

int xsc_simple(struct xsc *c, uint32_t op, uint32_t domid, uint64_t a0,
	       uint64_t a1, uint64_t a2, uint64_t a3, uint64_t *out)
{
	struct xsim_msg req = { .op = op,
				.domid = domid,
				.arg = { a0, a1, a2, a3 } };
	struct xsim_msg rsp;

	if (xsc_call(c, &req, NULL, 0, &rsp, NULL, 0, NULL, NULL, NULL))
		return -1;
	if (out)
		*out = rsp.arg[0];
	return 0;
}

int xsc_restrict(struct xsc *c, uint32_t domid)
{
	return xsc_simple(c, XSIM_OP_RESTRICT, domid, 0, 0, 0, 0, NULL);
}
