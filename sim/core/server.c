// SPDX-License-Identifier: MIT
/*
 * The socket server: one thread, epoll over the listening socket and one
 * SOCK_SEQPACKET connection per library handle; every request is answered
 * at once under the simulator lock (nothing here ever blocks on a guest).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "core.h"

#include <xen/memory.h>

#define MSG_MAX (sizeof(struct xsim_msg) + XSIM_PAYLOAD_MAX)
#define PRIVCMD_UNRESTRICTED -1

struct reply {
	struct xsim_msg m;
	char payload[XSIM_PAYLOAD_MAX];
	int fds[XSIM_MAX_FDS];
	unsigned int nfds;
};

/* ---- per-kind operations ------------------------------------------------- */

/* dm_op and privcmd target checks: ESRCH for no domain, EPERM if restricted. */
static struct xsim_dom *target(struct xsim *sim, struct xsim_conn *c,
			       uint32_t domid, int *rc)
{
	struct xsim_dom *d;

	*rc = -EPERM;
	if (c->restrict_dom >= 0 && (int)domid != c->restrict_dom)
		return NULL;
	d = dom_find(sim, domid);
	*rc = d ? 0 : -ESRCH;
	return d;
}

/* /dev/xen/evtchn: ports live in the library's own domain. */
static int op_evtchn(struct xsim *sim, struct xsim_conn *c,
		     const struct xsim_msg *m, struct reply *r)
{
	struct xsim_dom *ld = dom_find(sim, c->domid);
	uint32_t port = m->arg[0];
	int rc;

	if (c->kind != XSIM_KIND_EVTCHN || !ld)
		return -EBADF;
	switch (m->op) {
	case XSIM_OP_EVTCHN_OPEN:
		r->fds[r->nfds++] = c->efd;
		return 0;
	case XSIM_OP_EVTCHN_BIND_INTERDOMAIN:
		if (c->restrict_dom >= 0 && (int)m->domid != c->restrict_dom)
			return -EACCES;
		rc = evtchn_bind_interdomain(sim, ld, m->domid, port);
		break;
	case XSIM_OP_EVTCHN_BIND_UNBOUND:
		if (c->restrict_dom >= 0)
			return -EACCES;
		rc = evtchn_alloc_unbound(ld, m->domid);
		break;
	case XSIM_OP_EVTCHN_UNBIND:
	case XSIM_OP_EVTCHN_NOTIFY:
		/* the Linux driver: EINVAL past the end, ENOTCONN if not ours */
		if (port >= XSIM_NR_PORTS)
			return -EINVAL;
		if (ld->port[port].user != USER_CONN ||
		    ld->port[port].conn != c)
			return -ENOTCONN;
		if (m->op == XSIM_OP_EVTCHN_UNBIND)
			evtchn_close(sim, ld, port);
		else
			evtchn_send(sim, ld, port);
		return 0;
	case XSIM_OP_EVTCHN_PENDING:
		rc = evtchn_conn_pop(c);
		if (rc < 0)
			return rc;
		r->m.arg[0] = rc;
		return 0;
	case XSIM_OP_EVTCHN_UNMASK:
		evtchn_conn_unmask(c, ld, port);
		return 0;
	default:
		return -ENOSYS;
	}
	if (rc < 0)
		return rc;
	ld->port[rc].user = USER_CONN;
	ld->port[rc].conn = c;
	sim->stats.ports++;
	r->m.arg[0] = rc;
	return 0;
}

/* dm_op: the caller (c->domid) is the emulator. */
static int op_dm(struct xsim *sim, struct xsim_conn *c,
		 const struct xsim_msg *m, struct reply *r)
{
	unsigned int id = m->arg[0];
	struct xsim_dom *d;
	int rc;

	d = target(sim, c, m->domid, &rc);
	if (!d)
		return rc;
	if (m->domid == c->domid)
		return -EPERM; /* rcu_lock_remote_domain_by_id() */
	switch (m->op) {
	case XSIM_OP_DM_CREATE_SERVER:
		rc = ioreq_server_create(sim, d, c->domid, m->arg[0], &id);
		r->m.arg[0] = id;
		return rc;
	case XSIM_OP_DM_SERVER_INFO:
		r->m.arg[0] = 0; /* no buffered port with BUFIOREQ_OFF */
		return ioreq_server_info(d, c->domid, id, m->arg[1]);
	case XSIM_OP_DM_MAP_RANGE:
	case XSIM_OP_DM_UNMAP_RANGE:
		return ioreq_server_range(d, c->domid, id, m->arg[1], m->arg[2],
					  m->arg[3],
					  m->op == XSIM_OP_DM_MAP_RANGE);
	case XSIM_OP_DM_SET_STATE:
		return ioreq_server_set_state(sim, d, c->domid, id, m->arg[1]);
	case XSIM_OP_DM_DESTROY_SERVER:
		return ioreq_server_destroy(sim, d, c->domid, id);
	case XSIM_OP_DM_SET_IRQ_LEVEL:
		return irq_set_level(sim, d, m->arg[0], m->arg[1]);
	case XSIM_OP_DM_NR_VCPUS:
		r->m.arg[0] = d->nr_vcpus;
		return 0;
	default:
		return -ENOSYS;
	}
}

/* Runs of guest frames -> where they live in the bank memfds. */
static int fmem_map(struct xsim *sim, struct xsim_conn *c, struct xsim_dom *d,
		    const struct xsim_msg *m, const void *pl, struct reply *r)
{
	const struct xsim_run *runs = pl;
	struct xsim_run_map *out = (void *)r->payload;
	unsigned int n = m->len / sizeof(*runs);

	if (m->len % sizeof(*runs) || n * sizeof(*out) > sizeof(r->payload))
		return -EINVAL;
	for (unsigned int i = 0; i < d->nr_banks; i++)
		r->fds[r->nfds++] = d->bank[i].fd;
	for (unsigned int i = 0; i < n; i++) {
		uint64_t off = 0;
		int b = mem_find(d, runs[i].gfn, runs[i].count, &off);

		/* not RAM: Xen's add_to_physmap of a foreign gfn says EINVAL */
		out[i] = (struct xsim_run_map){ .err = b < 0 ? EINVAL : 0,
						.fd_index = b < 0 ? 0 : b,
						.offset = off };
		if (b >= 0) {
			sim->stats.fmem_pages += runs[i].count;
			c->fmem_pages += runs[i].count;
		}
	}
	r->m.len = n * sizeof(*out);
	return 0;
}

/* privcmd: foreign maps and resources; unmaps only adjust the counts. */
static int op_fmem(struct xsim *sim, struct xsim_conn *c,
		   const struct xsim_msg *m, const void *pl, struct reply *r)
{
	struct xsim_dom *d;
	int rc, fd;

	switch (m->op) {
	case XSIM_OP_FMEM_UNMAP: {
		uint64_t n = m->arg[0] < c->fmem_pages ? m->arg[0] :
							 c->fmem_pages;

		c->fmem_pages -= n;
		sim->stats.fmem_pages -= n;
		return 0;
	}
	case XSIM_OP_FMEM_UNMAP_RESOURCE:
		if (c->resources) {
			c->resources--;
			sim->stats.resources--;
		}
		return 0;
	}
	d = target(sim, c, m->domid, &rc);
	if (!d)
		return rc;
	switch (m->op) {
	case XSIM_OP_FMEM_MAP:
		return fmem_map(sim, c, d, m, pl, r);
	case XSIM_OP_FMEM_MAP_RESOURCE:
		if (m->arg[0] != XENMEM_resource_ioreq_server)
			return -EOPNOTSUPP; /* grant table frames: not modelled */
		if (!m->arg[3] || m->arg[3] > 32)
			return m->arg[3] ? -E2BIG : -EINVAL;
		rc = ioreq_server_frame(d, c->domid, m->arg[1], m->arg[2],
					m->arg[3], &fd);
		if (rc)
			return rc;
		r->fds[r->nfds++] = fd;
		r->m.arg[0] = 0;
		sim->stats.resources++;
		c->resources++;
		return 0;
	case XSIM_OP_FMEM_RESOURCE_SIZE:
		if (m->arg[0] != XENMEM_resource_ioreq_server)
			return -EOPNOTSUPP;
		/* one buffered-ioreq frame plus one per 128 vCPUs */
		r->m.arg[0] = 1 + (d->nr_vcpus * sizeof(ioreq_t) + PAGE_SIZE -
				   1) / PAGE_SIZE;
		return 0;
	default:
		return -ENOSYS;
	}
}

/* gntdev: map and unmap references, all or nothing. */
static int op_gnt(struct xsim *sim, struct xsim_conn *c,
		  const struct xsim_msg *m, const void *pl, struct reply *r)
{
	unsigned int n = m->len / sizeof(struct xsim_gref);

	if (m->len % sizeof(struct xsim_gref) ||
	    n * sizeof(struct xsim_run_map) > sizeof(r->payload))
		return -EINVAL;
	switch (m->op) {
	case XSIM_OP_GNT_MAP:
		r->m.len = n * sizeof(struct xsim_run_map);
		return grant_map(sim, c, pl, n, m->arg[0], (void *)r->payload,
				 r->fds, &r->nfds);
	case XSIM_OP_GNT_UNMAP:
		grant_unmap(sim, c, pl, n);
		return 0;
	case XSIM_OP_GNT_SET_MAX:
		c->max_grants = m->arg[0];
		return 0;
	default:
		return -ENOSYS;
	}
}

/* "a\0b\0" -> a, b; both must be there and NUL-terminated. */
static int two_strings(const char *pl, uint32_t len, const char **a,
		       const char **b)
{
	const char *e;

	e = memchr(pl, '\0', len);
	if (!e)
		return -EINVAL;
	*a = pl;
	*b = e + 1;
	if (!memchr(*b, '\0', len - (*b - pl)))
		return -EINVAL;
	return 0;
}

/* xenstored: ops as the library's domain, in a transaction if arg0. */
static int op_xs(struct xsim *sim, struct xsim_conn *c,
		 const struct xsim_msg *m, char *pl, struct reply *r)
{
	uint32_t t = m->arg[0];
	const char *a, *b;
	unsigned int len, n;
	char *val;
	int rc;

	if (c->kind != XSIM_KIND_XS)
		return -EBADF;
	switch (m->op) {
	case XSIM_OP_XS_OPEN:
		r->fds[r->nfds++] = c->efd;
		return 0;
	case XSIM_OP_XS_INTRODUCED: {
		struct xsim_dom *d = dom_find(sim, m->domid);

		r->m.arg[0] = d && d->introduced;
		return 0;
	}
	case XSIM_OP_XS_TXN_START:
		rc = xst_txn_start(sim, c, &t);
		r->m.arg[0] = t;
		return rc;
	case XSIM_OP_XS_TXN_END:
		return xst_txn_end(sim, c, t, m->arg[1]);
	case XSIM_OP_XS_READ_WATCH:
		rc = xst_pop_event(sim, c, r->payload, sizeof(r->payload),
				   &len);
		r->m.len = rc ? 0 : len;
		return rc;
	case XSIM_OP_XS_WATCH:
	case XSIM_OP_XS_UNWATCH:
		if (two_strings(pl, m->len, &a, &b))
			return -EINVAL;
		return m->op == XSIM_OP_XS_WATCH ? xst_watch(sim, c, a, b) :
						   xst_unwatch(sim, c, a, b);
	case XSIM_OP_XS_WRITE:
		if (m->arg[1] < 1 || m->arg[1] > m->len || pl[m->arg[1] - 1])
			return -EINVAL;
		return xst_write(sim, c, c->domid, t, pl, pl + m->arg[1],
				 m->len - m->arg[1]);
	case XSIM_OP_XS_SET_PERMS:
		n = m->arg[1];
		if (!n || n > 64 || n * sizeof(struct xsim_perm) >= m->len ||
		    pl[m->len - 1])
			return -EINVAL;
		return xst_set_perms(sim, c, c->domid, t,
				     pl + n * sizeof(struct xsim_perm),
				     (const void *)pl, n);
	}
	/* the rest take one path */
	if (!m->len || pl[m->len - 1])
		return -EINVAL;
	switch (m->op) {
	case XSIM_OP_XS_READ:
		rc = xst_read(sim, c, c->domid, t, pl, &val, &len);
		break;
	case XSIM_OP_XS_MKDIR:
		return xst_mkdir(sim, c, c->domid, t, pl);
	case XSIM_OP_XS_RM:
		return xst_rm(sim, c, c->domid, t, pl);
	case XSIM_OP_XS_DIRECTORY:
		rc = xst_directory(sim, c, c->domid, t, pl, &val, &len, &n);
		r->m.arg[0] = n;
		break;
	case XSIM_OP_XS_GET_PERMS: {
		struct xsim_perm *perms;

		rc = xst_get_perms(sim, c, c->domid, t, pl, &perms, &n);
		val = (char *)perms;
		len = n * sizeof(*perms);
		break;
	}
	default:
		return -ENOSYS;
	}
	if (rc)
		return rc;
	if (len > sizeof(r->payload)) {
		rc = -E2BIG;
	} else {
		memcpy(r->payload, val, len);
		r->m.len = len;
	}
	free(val);
	return rc;
}

/* The two kernel interfaces restrict differently; keep each one's errnos. */
static int op_restrict(struct xsim_conn *c, uint32_t domid)
{
	if (c->kind == XSIM_KIND_EVTCHN) {
		/* IOCTL_EVTCHN_RESTRICT_DOMID */
		if (c->restrict_dom >= 0)
			return -EACCES;
		if (domid == 0 || domid >= 0x7ff0)
			return -EINVAL;
	} else if (c->restrict_dom >= 0 && (int)domid != c->restrict_dom) {
		return -EINVAL; /* IOCTL_PRIVCMD_RESTRICT */
	}
	c->restrict_dom = domid;
	return 0;
}

/* The op's high byte names the interface it belongs to. */
static int dispatch(struct xsim *sim, struct xsim_conn *c,
		    const struct xsim_msg *m, char *pl, struct reply *r)
{
	if (m->op == XSIM_OP_RESTRICT)
		return op_restrict(c, m->domid);
	switch (m->op >> 8) {
	case XSIM_OP_EVTCHN_OPEN >> 8:
		return op_evtchn(sim, c, m, r);
	case XSIM_OP_DM_CREATE_SERVER >> 8:
		return op_dm(sim, c, m, r);
	case XSIM_OP_FMEM_MAP >> 8:
		return op_fmem(sim, c, m, pl, r);
	case XSIM_OP_GNT_MAP >> 8:
		return op_gnt(sim, c, m, pl, r);
	case XSIM_OP_XS_OPEN >> 8:
		return op_xs(sim, c, m, pl, r);
	default:
		return -ENOSYS;
	}
}

/* ---- connections --------------------------------------------------------- */

/* Header, payload and fds in one datagram. */
static int send_reply(int fd, struct reply *r)
{
	char cbuf[CMSG_SPACE(sizeof(int) * XSIM_MAX_FDS)] = { 0 };
	struct iovec iov[2] = {
		{ &r->m, sizeof(r->m) },
		{ r->payload, r->m.len },
	};
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };

	if (r->nfds) {
		struct cmsghdr *cm;

		mh.msg_control = cbuf;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * r->nfds);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int) * r->nfds);
		memcpy(CMSG_DATA(cm), r->fds, sizeof(int) * r->nfds);
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) < 0 ? -errno : 0;
}

/* Drop a connection and what it held (ports, watches, transactions). */
static void conn_free(struct xsim *sim, struct xsim_conn *c)
{
	struct xsim_conn **pp;

	evtchn_conn_close(sim, c);
	xst_conn_close(sim, c);
	/* A handle closed by its process's exit: the kernel unmaps the rest. */
	sim->stats.fmem_pages -= c->fmem_pages;
	sim->stats.resources -= c->resources;
	for (pp = &sim->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			sim->stats.conns--;
			break;
		}
	}
	if (c->efd >= 0)
		close(c->efd);
	if (c->fd >= 0) {
		epoll_ctl(sim->epfd, EPOLL_CTL_DEL, c->fd, NULL);
		close(c->fd);
	}
	free(c->ring);
	free(c);
}

/* The first message names the library and the domain it runs in. */
static int hello(struct xsim_conn *c, const struct xsim_msg *m)
{
	if (m->op != XSIM_OP_HELLO || m->arg[0] != XSIM_MAGIC ||
	    m->arg[1] != XSIM_VERSION || m->arg[2] < XSIM_KIND_EVTCHN ||
	    m->arg[2] > XSIM_KIND_XS || m->domid >= 0x7ff0)
		return -EPROTO;
	c->kind = m->arg[2];
	c->domid = m->domid;
	if (c->kind == XSIM_KIND_EVTCHN || c->kind == XSIM_KIND_XS) {
		/* blocking: the simulator only reads it when it is non-zero */
		c->efd = eventfd(0, EFD_CLOEXEC);
		if (c->efd < 0)
			return -errno;
	}
	if (c->kind == XSIM_KIND_EVTCHN) {
		c->ring = calloc(XSIM_NR_PORTS, sizeof(*c->ring));
		if (!c->ring)
			return -ENOMEM;
	}
	return 0;
}

/* One request; false when the connection is finished. */
static bool conn_serve(struct xsim *sim, struct xsim_conn *c)
{
	static char buf[MSG_MAX]; /* only the server thread uses it */
	static struct reply r;
	const struct xsim_msg *m = (const void *)buf;
	ssize_t n;
	int rc;

	n = recv(c->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN || errno == EINTR;
	if (n < (ssize_t)sizeof(*m) || m->len != n - sizeof(*m))
		return false; /* EOF, or not our protocol */
	memset(&r.m, 0, sizeof(r.m));
	r.nfds = 0;
	r.m.op = m->op;
	pthread_mutex_lock(&sim->lock);
	if (!c->kind)
		rc = hello(c, m);
	else
		rc = dispatch(sim, c, m, buf + sizeof(*m), &r);
	r.m.err = -rc;
	if (rc)
		r.m.len = 0, r.nfds = 0;
	rc = send_reply(c->fd, &r);
	pthread_mutex_unlock(&sim->lock);
	return !rc && c->kind;
}

/* A new library handle; the hello that follows says which. */
static void accept_one(struct xsim *sim)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct xsim_conn *c;
	int fd;

	fd = accept4(sim->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	c = calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->fd = fd;
	c->efd = -1;
	c->restrict_dom = PRIVCMD_UNRESTRICTED;
	c->evq_tail = &c->evq;
	ev.data.ptr = c;
	pthread_mutex_lock(&sim->lock);
	c->next = sim->conns;
	sim->conns = c;
	sim->stats.conns++;
	if (epoll_ctl(sim->epfd, EPOLL_CTL_ADD, fd, &ev))
		conn_free(sim, c);
	pthread_mutex_unlock(&sim->lock);
}

/* The server thread: until server_stop() writes wake_fd. */
static void *server_main(void *arg)
{
	struct xsim *sim = arg;
	struct epoll_event evs[16];

	for (;;) {
		int n = epoll_wait(sim->epfd, evs, 16, -1);

		for (int i = 0; i < n; i++) {
			struct xsim_conn *c = evs[i].data.ptr;

			if (c == (void *)&sim->wake_fd)
				return NULL;
			if (c == (void *)&sim->lfd) {
				accept_one(sim);
				continue;
			}
			if (!conn_serve(sim, c)) {
				pthread_mutex_lock(&sim->lock);
				conn_free(sim, c);
				pthread_mutex_unlock(&sim->lock);
			}
		}
	}
}

/* Listen on path (replacing a stale socket) and start the thread. */
int server_start(struct xsim *sim, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN };
	int rc;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	sim->sock_path = strdup(path);
	sim->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	sim->epfd = epoll_create1(EPOLL_CLOEXEC);
	sim->wake_fd = eventfd(0, EFD_CLOEXEC);
	if (!sim->sock_path || sim->lfd < 0 || sim->epfd < 0 ||
	    sim->wake_fd < 0)
		return -errno;
	unlink(path);
	if (bind(sim->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    listen(sim->lfd, 64))
		return -errno;
	ev.data.ptr = &sim->lfd;
	if (epoll_ctl(sim->epfd, EPOLL_CTL_ADD, sim->lfd, &ev))
		return -errno;
	ev.data.ptr = &sim->wake_fd;
	if (epoll_ctl(sim->epfd, EPOLL_CTL_ADD, sim->wake_fd, &ev))
		return -errno;
	rc = -pthread_create(&sim->thread, NULL, server_main, sim);
	if (!rc)
		sim->running = true;
	return rc;
}

/* Join the thread, close every connection, remove the socket. */
void server_stop(struct xsim *sim)
{
	uint64_t one = 1;

	if (sim->running) {
		(void)!write(sim->wake_fd, &one, sizeof(one));
		pthread_join(sim->thread, NULL);
		sim->running = false;
	}
	pthread_mutex_lock(&sim->lock);
	while (sim->conns)
		conn_free(sim, sim->conns);
	pthread_mutex_unlock(&sim->lock);
	if (sim->sock_path)
		unlink(sim->sock_path);
	free(sim->sock_path);
	sim->sock_path = NULL;
	if (sim->lfd >= 0)
		close(sim->lfd);
	if (sim->epfd >= 0)
		close(sim->epfd);
	if (sim->wake_fd >= 0)
		close(sim->wake_fd);
	sim->lfd = sim->epfd = sim->wake_fd = -1;
}
