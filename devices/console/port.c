// SPDX-License-Identifier: MIT
/*
 * A console port's dom0 side: a listening UNIX socket, at most one client,
 * and the bytes between the client and the port's queues. One receive
 * chain and one recvmsg, one transmit chain and one sendmsg at a time: a
 * client that does not read stalls the guest's transmitq, a guest without
 * receive buffers leaves the socket unread; nothing is buffered here. Both
 * queues run on vqrun and hold off (kicks off) while they wait for the
 * socket, the client or the guest's PORT_OPEN, which resume them.
 */
#define LOG_MOD "vcon"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "lib/iov.h"
#include "vcon.h"

static void port_rx_done(struct evl_op *op, int res, unsigned int flags);
static void port_tx_done(struct evl_op *op, int res, unsigned int flags);
static void port_hup_done(struct evl_op *op, int res, unsigned int flags);

static struct vq *port_rxq(struct vcon_port *p)
{
	return &p->con->vdev.vqs[vcon_rxq(p->id)];
}

static struct vq *port_txq(struct vcon_port *p)
{
	return &p->con->vdev.vqs[vcon_rxq(p->id) + 1];
}

/* The device runs and the driver set this port's queues up. */
static bool port_live(struct vcon_port *p, struct vq *vq)
{
	return p->con->started && !p->con->resetting && vq->ready &&
	       !vdev_broken(&p->con->vdev);
}

static void port_cancel(struct vcon_port *p, struct evl_op *op, bool busy)
{
	if (busy)
		evl_cancel(p->con->loop, op);
}

/* Asks the kernel to cancel @q's I/O, once. */
static void port_q_cancel(struct vcon_pq *q)
{
	vqrun_cancel_op(&q->run, &q->op, q->busy, &q->cancelled);
}

/* vqrun_stop: asks the kernel to cancel the queue's read or send. */
static void port_run_cancel(struct vqrun *r)
{
	port_q_cancel(container_of(r, struct vcon_pq, run));
}

/*
 * Starts @q's I/O on the client: a sendmsg of what is left of the
 * transmit chain, or a recvmsg into the receive chain's writable buffers.
 * False without an SQE.
 */
static bool port_q_start(struct vcon_port *p, struct vcon_pq *q)
{
	struct io_uring_sqe *sqe = evl_get_sqe(p->con->loop);

	if (!sqe)
		return false;
	memset(&q->msg, 0, sizeof(q->msg));
	if (q == &p->tx) {
		q->msg.msg_iov = p->tx_iov;
		q->msg.msg_iovlen = p->tx_nr;
		/* A client that went away is -EPIPE, not SIGPIPE. */
		io_uring_prep_sendmsg(sqe, p->cfd, &q->msg, MSG_NOSIGNAL);
		evl_set_op(p->con->loop, sqe, &q->op, port_tx_done);
	} else {
		q->msg.msg_iov = vq_chain_in(&q->chain);
		q->msg.msg_iovlen = q->chain.nr_in;
		io_uring_prep_recvmsg(sqe, p->cfd, &q->msg, 0);
		evl_set_op(p->con->loop, sqe, &q->op, port_rx_done);
	}
	q->busy = 1;
	q->cancelled = false;
	return true;
}

/* A watch for the client hanging up while no read would notice. */
static void port_hup_arm(struct vcon_port *p)
{
	struct io_uring_sqe *sqe;

	if (p->hup_busy || p->cfd < 0 || p->closing)
		return;
	sqe = evl_get_sqe(p->con->loop);
	if (!sqe) {
		log_warn(&p->con->vdev.log,
			 "port %u: ring full, hang-ups of its client go unseen",
			 p->id);
		return;
	}
	io_uring_prep_poll_add(sqe, p->cfd, POLLRDHUP);
	evl_set_op(p->con->loop, sqe, &p->hup_op, port_hup_done);
	p->hup_busy = true;
}

/* Completes the transmit chain; the queue's run publishes it. */
static void port_tx_push(struct vcon_port *p)
{
	vq_push(p->tx.run.vq, &p->tx.chain, 0);
	p->tx.held = false;
	p->tx.run.pushed = true;
}

/*
 * The client is closed once none of its I/O is in flight. A transmit chain
 * it left half sent is completed (the rest dropped): the guest goes on.
 */
static void port_finish(struct vcon_port *p)
{
	if (!p->closing || p->rx.busy || p->tx.busy || p->hup_busy)
		return;
	close(p->cfd);
	p->cfd = -1;
	p->closing = p->hup = p->shut = false;
	p->gone++;
	log_info(&p->con->vdev.log, "port %u (%s): client gone", p->id,
		 p->name);
	if (p->con->resetting)
		return;
	if (p->tx.held) {
		p->tx_dropped += iov_size(p->tx_iov, p->tx_nr);
		port_tx_push(p);
	}
	vcon_host_changed(p);
	vcon_port_tx(p); /* publishes; what waits is dropped now */
}

/* The client went away (or broke): stop its I/O, then close it. */
static void port_hangup(struct vcon_port *p)
{
	if (p->cfd < 0 || p->closing)
		return;
	p->closing = true;
	port_q_cancel(&p->rx);
	port_q_cancel(&p->tx);
	port_cancel(p, &p->hup_op, p->hup_busy);
	port_finish(p);
}

/* ---- dom0 -> guest ---- */

/*
 * The receive direction: a chain just popped is checked (-EPROTO); 0: read
 * into it.
 */
static int port_rx_take(struct vcon_port *p, bool fresh)
{
	struct vq_chain *c = &p->rx.chain;

	if (fresh && !c->nr_in) {
		/* Rejects a receive buffer the device cannot write. */
		vq_chain_release(p->rx.run.vq, c);
		p->rx.held = false;
		return vdev_fail(
			&p->con->vdev,
			"port %u: receive chain with no writable buffer",
			p->id);
	}
	return 0;
}

void vcon_port_rx(struct vcon_port *p)
{
	vqrun_resume(&p->rx.run);
	/*
	 * The client left and the guest's port is closed (or the device
	 * stopped): no read will see the end of what it sent, which goes
	 * with it. (An open port reads on to the end first, whenever the
	 * guest posts buffers.)
	 */
	if (p->hup && !p->rx.busy &&
	    (!p->guest_open || !port_live(p, port_rxq(p))))
		port_hangup(p);
}

static void port_rx_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vcon_port *p = container_of(op, struct vcon_port, rx.op);

	p->rx.busy = 0;
	if (p->con->resetting) {
		/* The chain stays held: reset gives it back. */
		port_finish(p);
		return;
	}
	if (res > 0) {
		/* Published by the run vcon_port_rx resumes. */
		vq_push(p->rx.run.vq, &p->rx.chain, res);
		p->rx.held = false;
		p->rx_bytes += res;
		p->rx.run.pushed = true;
	} else if (res == 0 ||
		   (res != -ECANCELED && res != -EINTR && res != -EAGAIN)) {
		port_hangup(p); /* end of stream, or the socket failed */
	}
	if (p->closing)
		port_finish(p);
	else
		vcon_port_rx(p);
}

/*
 * The guest closed the port with a client connected: once what the guest
 * wrote before has gone out, the client is closed, which is how it sees
 * the guest's close (end of stream).
 */
static void port_shut_check(struct vcon_port *p)
{
	if (p->shut && !p->tx.held && !p->tx.busy)
		port_hangup(p);
}

void vcon_port_guest_open(struct vcon_port *p, bool open)
{
	if (p->guest_open == open)
		return;
	p->guest_open = open;
	log_dbg(&p->con->vdev.log, "port %u: guest %s it", p->id,
		open ? "opened" : "closed");
	if (open) {
		p->shut = false; /* opened again before the client was closed */
		vcon_port_rx(p);
		return;
	}
	/* No more reads: a read posted is cancelled, its chain kept. */
	port_q_cancel(&p->rx);
	if (vcon_port_host_open(p)) {
		p->shut = true;
		vcon_port_tx(p); /* chains the guest wrote before closing */
	}
}

/* ---- guest -> dom0 ---- */

/*
 * The transmit direction: a chain just popped sends its readable part; one
 * nobody takes is dropped (1: completed, no I/O); 0: send it.
 */
static int port_tx_take(struct vcon_port *p, bool fresh)
{
	if (fresh) {
		/* Only the readable part is sent; the rest ignored. */
		p->tx_nr = p->tx.chain.nr_out;
		memcpy(p->tx_iov, p->tx.chain.iov,
		       p->tx_nr * sizeof(p->tx_iov[0]));
	}
	if (!p->tx_nr || !vcon_port_host_open(p)) {
		/* Nobody to take it, as a serial line with no one
		 * listening: dropped. */
		p->tx_dropped += iov_size(p->tx_iov, p->tx_nr);
		port_tx_push(p);
		return 1;
	}
	return 0;
}

static void port_tx_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vcon_port *p = container_of(op, struct vcon_port, tx.op);

	p->tx.busy = 0;
	if (p->con->resetting) {
		port_finish(p);
		return;
	}
	if (res > 0) {
		p->tx_bytes += res;
		iov_pull(p->tx_iov, &p->tx_nr, res);
		if (!p->tx_nr)
			port_tx_push(p);
	} else if (res != -ECANCELED && res != -EINTR && res != -EAGAIN) {
		port_hangup(p); /* -EPIPE, -ECONNRESET: the client is gone */
	}
	if (p->closing)
		port_finish(p);
	else
		vcon_port_tx(p); /* the rest of the chain, or the next one */
}

/* ---- both directions' queues ---- */

/*
 * The direction can take a chain now; else its event resumes the queue:
 * the receiveq needs a client and the guest's end open (the connect and
 * PORT_OPEN resume it), the transmitq waits while the client is closed
 * (port_finish resumes it).
 */
static bool port_q_open(struct vcon_port *p, struct vcon_pq *q)
{
	if (q == &p->tx)
		return !p->closing;
	return vcon_port_host_open(p) && p->guest_open;
}

/*
 * vqrun: pops a chain into one direction of the port (or keeps the one it
 * holds) and starts its I/O on the client. Holds off while that I/O is in
 * flight (its completion resumes the queue) and while the direction
 * waits for its event (port_q_open). Without an SQE the chain stays held
 * and the tick retries from the loop's next round.
 */
static int port_run_pop(struct vqrun *r)
{
	struct vcon_pq *q = container_of(r, struct vcon_pq, run);
	struct vcon_port *p = q->port;
	bool fresh = !q->held;
	int rc;

	if (q->busy || !port_q_open(p, q))
		return -EBUSY;
	if (fresh) {
		rc = vq_pop(r->vq, &q->chain);
		if (rc <= 0)
			return rc;
		q->held = true;
	}
	rc = q == &p->tx ? port_tx_take(p, fresh) : port_rx_take(p, fresh);
	if (rc)
		return rc;
	if (port_q_start(p, q))
		return 1;
	vqrun_tick(r);
	return -ENOSPC;
}

static const struct vqrun_ops port_run_ops = {
	.pop = port_run_pop,
	.cancel = port_run_cancel,
};

void vcon_port_tx(struct vcon_port *p)
{
	vqrun_resume(&p->tx.run);
	port_shut_check(p);
}

void vcon_port_kick(struct vcon_port *p, bool tx)
{
	vqrun_kick(tx ? &p->tx.run : &p->rx.run);
}

void vcon_port_init(struct vcon_port *p)
{
	const struct vqrun_conf conf = { .budget = VCON_PORT_BUDGET };

	p->rx.port = p->tx.port = p;
	vqrun_init(&p->rx.run, port_rxq(p), p->con->loop, &port_run_ops, &conf);
	vqrun_init(&p->tx.run, port_txq(p), p->con->loop, &port_run_ops, &conf);
}

/* ---- the client ---- */

static void port_hup_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vcon_port *p = container_of(op, struct vcon_port, hup_op);

	p->hup_busy = false;
	if (p->closing) {
		port_finish(p);
		return;
	}
	if (res == -ECANCELED)
		return;
	/*
	 * The client shut its sending side or left. An open port reads what
	 * it sent to the end (the read that sees it closes the client); a
	 * closed one drops it with the client now.
	 */
	p->hup = true;
	vcon_port_rx(p);
}

static void port_accept(struct evl_watch *w, unsigned int revents)
{
	struct vcon_port *p = container_of(w, struct vcon_port, accept_w);
	int fd;

	/* Blocking (accept4 does not inherit O_NONBLOCK): io_uring waits. */
	while ((fd = accept4(p->lfd, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
		/*
		 * A client that left, whose tail an open port never reads (the
		 * guest posts no buffers), gives way: its tail is dropped and
		 * the port freed, else a silent guest would keep dom0 out for
		 * good. Once its I/O is reaped the next client gets in.
		 */
		if (p->cfd >= 0 && p->hup)
			port_hangup(p);
		if (p->cfd >= 0) {
			/* One client per port: the later one is closed. */
			close(fd);
			p->refused++;
			log_warn(&p->con->vdev.log,
				 "port %u (%s): second client refused", p->id,
				 p->name);
			continue;
		}
		p->cfd = fd;
		p->clients++;
		log_info(&p->con->vdev.log, "port %u (%s): client connected",
			 p->id, p->name);
		port_hup_arm(p);
		vcon_host_changed(p);
		vcon_port_rx(p);
		vcon_port_tx(p);
	}
}

/* ---- the socket ---- */

int vcon_port_open(struct vcon_port *p)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct log_ctx *log = &p->con->vdev.log;
	struct stat st;
	int rc;

	if (strlen(p->path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, p->path, strlen(p->path) + 1);
	/* A socket left by a worker that died is ours to replace. */
	if (!lstat(p->path, &st)) {
		if (!S_ISSOCK(st.st_mode)) {
			log_err(log, "%s exists and is not a socket", p->path);
			return -EEXIST;
		}
		unlink(p->path);
	}
	p->lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (p->lfd < 0)
		return -errno;
	/* The directory is 0700: nobody else can reach the file meanwhile. */
	if (bind(p->lfd, (struct sockaddr *)&sa, sizeof(sa)) ||
	    chmod(p->path, 0600) || lstat(p->path, &st) || listen(p->lfd, 4)) {
		rc = -errno;
		log_err(log, "socket %s: %s", p->path, strerror(-rc));
		goto err_close;
	}
	p->sock_dev = st.st_dev;
	p->sock_ino = st.st_ino;
	rc = evl_watch_start(p->con->loop, &p->accept_w, p->lfd, POLLIN,
			     port_accept);
	if (rc) {
		log_err(log, "socket %s: cannot watch it (%d)", p->path, rc);
		unlink(p->path);
		goto err_close;
	}
	return 0;

err_close:
	close(p->lfd);
	p->lfd = -1;
	return rc;
}

/* Runs the loop until none of the port's operations is in flight. */
static int port_wait(struct vcon_port *p, bool all)
{
	int rc;

	while (p->rx.busy || p->tx.busy ||
	       (all && (p->hup_busy || evl_watch_busy(&p->accept_w)))) {
		port_q_cancel(&p->rx);
		port_q_cancel(&p->tx);
		if (all)
			port_cancel(p, &p->hup_op, p->hup_busy);
		rc = evl_run_once(p->con->loop, true);
		if (rc < 0) {
			log_err(&p->con->vdev.log,
				"port %u: event loop failed (%d)", p->id, rc);
			return rc; /* the kernel may still use the chains */
		}
	}
	return 0;
}

int vcon_port_reset(struct vcon_port *p)
{
	int rc = vqrun_stop(&p->rx.run, &p->rx.busy);

	if (!rc)
		rc = vqrun_stop(&p->tx.run, &p->tx.busy);
	if (rc)
		return rc; /* the kernel may still use the chains */
	if (p->rx.held)
		vq_chain_release(port_rxq(p), &p->rx.chain);
	if (p->tx.held)
		vq_chain_release(port_txq(p), &p->tx.chain);
	p->rx.held = p->tx.held = false;
	p->added = p->ready = p->guest_open = p->open_sent = p->shut = false;
	p->pend = 0;
	vqrun_reset(&p->rx.run); /* stopping: the device clears it */
	vqrun_reset(&p->tx.run);
	if (p->hup)
		port_hangup(p); /* left while the guest was reading: no more */
	return 0;
}

void vcon_port_close(struct vcon_port *p)
{
	struct stat st;

	if (p->lfd < 0)
		return;
	evl_watch_stop(&p->accept_w);
	port_hangup(p);
	if (port_wait(p, true))
		return; /* in flight still: leaked, not freed under the kernel */
	if (p->cfd >= 0) {
		close(p->cfd);
		p->cfd = -1;
	}
	close(p->lfd);
	p->lfd = -1;
	/* Only our own socket: a later worker may have bound the name. */
	if (!lstat(p->path, &st) && st.st_dev == p->sock_dev &&
	    st.st_ino == p->sock_ino)
		unlink(p->path);
}

void vcon_port_log_state(struct vcon_port *p)
{
	log_info(
		&p->con->vdev.log,
		"port %u (%s): client %s, guest %s%s, rx %s%s, tx %s%s; %llu bytes in, %llu out, %llu dropped; %llu clients, %llu refused",
		p->id, p->name,
		p->cfd < 0 ? "none" :
		p->closing ? "closing" :
			     "connected",
		p->ready ? "ready" :
		p->added ? "added" :
			   "absent",
		p->guest_open ? " and open" : "",
		p->rx.held ? "holding a chain" : "idle",
		p->rx.busy ? ", reading" : "",
		p->tx.held ? "holding a chain" : "idle",
		p->tx.busy ? ", writing" : "", (unsigned long long)p->rx_bytes,
		(unsigned long long)p->tx_bytes,
		(unsigned long long)p->tx_dropped,
		(unsigned long long)p->clients, (unsigned long long)p->refused);
	if (p->con->started && vcon_rxq(p->id) + 1 < p->con->vdev.nr_vqs) {
		vq_log_state(port_rxq(p));
		vq_log_state(port_txq(p));
	}
}
