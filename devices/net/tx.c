// SPDX-License-Identifier: MIT
/*
 * The transmit queue: pop a chain, copy its virtio-net header out of guest
 * memory once, check it against the frame and the negotiated offloads, and
 * write private header plus guest frame to the TAP with one writev. Bad
 * frames are dropped and counted; every chain completes in pop order.
 */
#define LOG_MOD "vnet"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/iov.h"
#include "vnet.h"

static void tx_write_done(struct evl_op *op, int res, unsigned int flags);
static void tx_poll_done(struct evl_op *op, int res, unsigned int flags);
static void tx_tick_done(struct evl_op *op, int res, unsigned int flags);
static void tx_look_done(struct evl_op *op, int res, unsigned int flags);
static void tx_irq_done(struct evl_op *op, int res, unsigned int flags);

int vnet_tx_init(struct vnet_tx *tx, struct vnet *net, struct vq *vq,
		 struct evl *loop, unsigned int nr)
{
	unsigned int i;

	memset(tx, 0, sizeof(*tx));
	tx->reqs = calloc(nr, sizeof(*tx->reqs));
	if (!tx->reqs)
		return -ENOMEM;
	tx->net = net;
	tx->vq = vq;
	tx->loop = loop;
	tx->nr = nr;
	for (i = 0; i < nr; i++)
		tx->reqs[i].tx = tx;
	return 0;
}

void vnet_tx_fini(struct vnet_tx *tx)
{
	free(tx->reqs);
	tx->reqs = NULL;
	tx->nr = tx->count = 0;
}

/* The @i-th request in flight, oldest first. */
static struct vnet_txreq *tx_req(struct vnet_tx *tx, unsigned int i)
{
	return &tx->reqs[(tx->head + i) % tx->nr];
}

/* ---- completion, in pop order ---- */

static void tx_complete(struct vnet_tx *tx)
{
	struct vnet_txreq *req;

	while (tx->count && (req = tx_req(tx, 0))->done) {
		req->done = false;
		vq_push(tx->vq, &req->chain, 0);
		tx->head = (tx->head + 1) % tx->nr;
		tx->count--;
		tx->pushed = true;
	}
}

/* Arms the timer that pays a held interrupt. False without an SQE. */
static bool tx_irq_arm(struct vnet_tx *tx)
{
	struct io_uring_sqe *sqe;

	if (tx->irq_busy)
		return true;
	sqe = evl_get_sqe(tx->loop);
	if (!sqe)
		return false;
	tx->irq_ts.tv_sec = 0;
	tx->irq_ts.tv_nsec = tx->net->coalesce_ns;
	io_uring_prep_timeout(sqe, &tx->irq_ts, 0, 0);
	evl_set_op(tx->loop, sqe, &tx->irq_op, tx_irq_done);
	tx->irq_busy = true;
	tx->nr_ops++;
	return true;
}

/*
 * Publishes used elements. With coalesce_ns the interrupt the driver asked
 * for is held: a receive interrupt raised after the publish covers it (one
 * line serves both queues, and Linux's receive poll reaps the transmit
 * ring too), else the timer armed at the first hold pays it after
 * coalesce_ns. The frames went out already: only the driver's news of it
 * waits. TCP's answer to what it sent (an ACK, a reply) comes back on the
 * receive queue, usually well within the bound.
 */
static void tx_publish(struct vnet_tx *tx)
{
	if (!tx->pushed && !tx->vq->irq_held)
		return;
	tx->pushed = false;
	if (tx->net->coalesce_ns && !tx->stopping) {
		if (vq_flush_hold(tx->vq) && !tx_irq_arm(tx))
			vq_irq_release(tx->vq); /* no SQE for the timer */
		return;
	}
	vq_flush(tx->vq);
}

static void tx_irq_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_tx *tx = container_of(op, struct vnet_tx, irq_op);

	tx->irq_busy = false;
	tx->nr_ops--;
	if (tx->stopping)
		return;
	/* The bound: what is pushed goes out, an owed interrupt too. */
	tx->pushed = false;
	vq_flush(tx->vq);
}

/*
 * Completions of one loop round are published together: the first one
 * queues a NOP, whose completion comes after the round's other CQEs.
 */
static void tx_tick(struct vnet_tx *tx)
{
	int rc = vnet_defer(tx->loop, &tx->tick, tx_tick_done);

	if (rc > 0)
		tx->nr_ops++;
	else if (rc < 0)
		tx_publish(tx); /* no SQE for the NOP: publish now */
}

/* A frame the guest got wrong: logged (rate-limited), counted, dropped. */
static void __printf(2, 3) tx_bad(struct vnet_txreq *req, const char *fmt, ...)
{
	struct vnet *net = req->tx->net;
	char msg[96];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_guest(&net->vdev.log, "vq%u: frame dropped: %s", req->tx->vq->index,
		  msg);
	vnet_count(&req->tx->stats->tx_dropped, 1);
	req->done = true;
}

/* The end of a write: counted as sent, refused, or the TAP gone. */
static void tx_finish(struct vnet_txreq *req, int res)
{
	struct vnet *net = req->tx->net;

	req->done = true;
	if (res >= 0) {
		vnet_count(&req->tx->stats->tx_packets, 1);
		vnet_count(&req->tx->stats->tx_bytes, req->len);
		return;
	}
	vnet_count(&req->tx->stats->tx_errors, 1);
	/* A queue detached under a write is its pair going off, not a loss. */
	if ((res == -EBADFD || res == -ENODEV || res == -ENXIO) &&
	    !req->tx->disabled)
		vnet_tap_lost(net, res);
	else
		log_guest(&net->vdev.log, "TAP write of %u bytes failed: %d",
			  req->len, res);
}

/* ---- issuing ---- */

static bool tx_try_issue(struct vnet_tx *tx, struct vnet_txreq *req)
{
	struct io_uring_sqe *sqe = evl_get_sqe(tx->loop);

	if (!sqe)
		return false;
	io_uring_prep_writev(sqe, tx->fd, req->iov, req->nr_iov, 0);
	evl_set_op(tx->loop, sqe, &req->op, tx_write_done);
	req->busy = true;
	req->cancelled = false;
	tx->nr_ops++;
	return true;
}

static void tx_wait_add(struct vnet_tx *tx, struct vnet_txreq *req)
{
	req->next = NULL;
	if (tx->wait)
		tx->wait_tail->next = req;
	else
		tx->wait = req;
	tx->wait_tail = req;
}

/* Writes waiting frames again, oldest first, while SQEs last. */
static void tx_wait_run(struct vnet_tx *tx)
{
	while (tx->wait && tx_try_issue(tx, tx->wait)) {
		tx->wait = tx->wait->next;
		if (!tx->wait)
			tx->wait_tail = NULL;
	}
}

/* Once frames wait, later ones queue behind them. */
static void tx_issue(struct vnet_tx *tx, struct vnet_txreq *req)
{
	if (tx->wait || !tx_try_issue(tx, req))
		tx_wait_add(tx, req);
}

/* The TAP said -EAGAIN: wait until it is writable. */
static void tx_poll(struct vnet_tx *tx)
{
	struct io_uring_sqe *sqe;

	if (tx->polling)
		return;
	sqe = evl_get_sqe(tx->loop);
	if (!sqe)
		return; /* the next kick or completion retries */
	io_uring_prep_poll_add(sqe, tx->fd, POLLOUT);
	evl_set_op(tx->loop, sqe, &tx->poll_op, tx_poll_done);
	tx->polling = true;
	tx->poll_cancelled = false;
	tx->nr_ops++;
}

void vnet_tx_link_down(struct vnet_tx *tx)
{
	struct vnet_txreq *req;

	while ((req = tx->wait)) {
		tx->wait = req->next;
		vnet_count(&tx->stats->tx_dropped, 1);
		req->done = true;
	}
	tx->wait_tail = NULL;
	tx_complete(tx);
	if (!tx->running)
		tx_tick(tx);
}

/* ---- the frame ---- */

/*
 * Checks the private header copy against the frame length @len and the
 * negotiated features. Returns NULL, or what is wrong.
 */
static const char *tx_hdr_check(const struct vdev *vdev,
				const struct virtio_net_hdr_v1 *h, uint32_t len)
{
	uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

	/* Rejects flags other than NEEDS_CSUM and DATA_VALID. */
	if (h->flags &
	    ~(VIRTIO_NET_HDR_F_NEEDS_CSUM | VIRTIO_NET_HDR_F_DATA_VALID))
		return "unknown header flags";
	if (h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		if (!vdev_has(vdev, VIRTIO_NET_F_CSUM))
			return "NEEDS_CSUM without VIRTIO_NET_F_CSUM";
		/* Rejects a checksum field that ends past the frame. */
		if (start + off + 2 > len)
			return "checksum field beyond the frame";
	}
	/* Rejects a header length past the frame (the TAP would, too). */
	if (le16toh(h->hdr_len) > len)
		return "hdr_len beyond the frame";
	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		return NULL;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!vdev_has(vdev, VIRTIO_NET_F_HOST_TSO4))
			return "TSO4 not negotiated";
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!vdev_has(vdev, VIRTIO_NET_F_HOST_TSO6))
			return "TSO6 not negotiated";
		break;
	default: /* UFO and ECN are not offered */
		return "GSO type not negotiated";
	}
	/* GSO needs a segment size and the checksum offload (5.1.6.2.1). */
	if (!h->gso_size)
		return "GSO with gso_size 0";
	if (!(h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM))
		return "GSO without NEEDS_CSUM";
	return NULL;
}

static void tx_start(struct vnet_tx *tx, struct vnet_txreq *req)
{
	struct vq_chain *c = &req->chain;
	const char *why;
	unsigned int n;
	size_t got;

	req->busy = req->done = false;
	req->retries = 0;
	req->len = 0;
	/* Link down, or a pair VQ_PAIRS_SET turned off: nowhere to send. */
	if (!vnet_link_up(tx->net) || tx->disabled) {
		vnet_count(&tx->stats->tx_dropped, 1);
		req->done = true;
		return;
	}
	/* Rejects writable buffers: a transmit chain is read-only. */
	if (c->nr_in) {
		tx_bad(req, "%u writable bytes", c->in_len);
		return;
	}
	/* Rejects a header alone, runts and frames above the largest one. */
	if (c->out_len < VNET_HDR_LEN + VNET_ETH_HLEN ||
	    c->out_len - VNET_HDR_LEN > VNET_MAX_FRAME) {
		tx_bad(req, "%u bytes with the header", c->out_len);
		return;
	}
	req->len = c->out_len - VNET_HDR_LEN;
	/* The one read of the header: checked and sent from here. */
	iov_to_buf(c->iov, c->nr_out, 0, &req->hdr, VNET_HDR_LEN);
	why = tx_hdr_check(&tx->net->vdev, &req->hdr, req->len);
	if (why) {
		tx_bad(req, "%s", why);
		return;
	}
	req->hdr.num_buffers = 0;
	req->iov[0] = (struct iovec){ &req->hdr, VNET_HDR_LEN };
	n = iov_slice(req->iov + 1, VQ_MAX_IOV, c->iov, c->nr_out, VNET_HDR_LEN,
		      req->len, &got);
	req->nr_iov = n + 1;
	tx_issue(tx, req);
}

/*
 * Pops and writes what the ring holds until it is empty, the budget is
 * spent or every request is in flight; in the last two cases the queue
 * resumes from the loop (tick or completions) with kicks still off.
 */
/* Arms the look-again timer. False without an SQE (kicks go back on). */
static bool tx_look_arm(struct vnet_tx *tx)
{
	struct io_uring_sqe *sqe;

	if (tx->look_busy)
		return true;
	sqe = evl_get_sqe(tx->loop);
	if (!sqe)
		return false;
	tx->look_ts.tv_sec = 0;
	tx->look_ts.tv_nsec = tx->net->poll_ns;
	io_uring_prep_timeout(sqe, &tx->look_ts, 0, 0);
	evl_set_op(tx->loop, sqe, &tx->look_op, tx_look_done);
	tx->look_busy = true;
	tx->nr_ops++;
	return true;
}

static void tx_look_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_tx *tx = container_of(op, struct vnet_tx, look_op);

	tx->look_busy = false;
	tx->nr_ops--;
	if (tx->stopping)
		return;
	vnet_tx_run(tx);
}

void vnet_tx_run(struct vnet_tx *tx)
{
	unsigned int budget = VNET_TX_BUDGET;
	struct vq *vq = tx->vq;
	int rc;

	if (tx->running || tx->stopping || !vq->ready ||
	    !(vdev_status(&tx->net->vdev) & VIRTIO_CONFIG_S_DRIVER_OK))
		return;
	tx->running = true;
	if (!tx->polling)
		tx_wait_run(tx);
	for (;;) {
		vq_kick_disable(vq);
		while (budget && tx->count < tx->nr) {
			struct vnet_txreq *req = tx_req(tx, tx->count);

			rc = vq_pop(vq, &req->chain);
			if (rc < 0)
				goto out; /* broken: no more popping */
			if (!rc)
				break;
			tx->count++;
			budget--;
			tx->idle_looks = 0;
			tx_start(tx, req);
		}
		if (!budget || tx->count == tx->nr) {
			tx->resume = true;
			break;
		}
		/* Just drained: a timer looks again, the guest need not kick.
		 */
		if (tx->net->poll_ns && tx->idle_looks < VNET_IDLE_LOOKS &&
		    tx_look_arm(tx)) {
			tx->idle_looks++;
			break;
		}
		if (!vq_kick_enable(vq))
			break;
	}
out:
	tx->running = false;
	tx_complete(tx);
	if (tx->resume && !budget)
		tx_tick(tx);
	tx_publish(tx);
	evl_submit(tx->loop);
}

/* ---- completions ---- */

static void tx_write_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_txreq *req = container_of(op, struct vnet_txreq, op);
	struct vnet_tx *tx = req->tx;

	req->busy = false;
	tx->nr_ops--;
	if (tx->stopping)
		return;
	if ((res == -EAGAIN || res == -EINTR || res == -ENOBUFS) &&
	    req->retries++ < VNET_TX_MAX_RETRY && vnet_link_up(tx->net)) {
		tx_wait_add(tx, req);
		tx_poll(tx);
		return;
	}
	tx_finish(req, res);
	tx_complete(tx);
	if (!tx->running)
		tx_tick(tx);
}

static void tx_poll_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_tx *tx = container_of(op, struct vnet_tx, poll_op);

	tx->polling = false;
	tx->nr_ops--;
	if (tx->stopping)
		return;
	/* POLLERR: the TAP was deleted under us. */
	if (res < 0 || (res & (POLLERR | POLLHUP | POLLNVAL))) {
		vnet_count(&tx->stats->tx_errors, 1);
		vnet_tap_lost(tx->net, res < 0 ? res : -EBADFD);
		return;
	}
	tx_wait_run(tx);
	evl_submit(tx->loop);
}

static void tx_tick_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_tx *tx = container_of(op, struct vnet_tx, tick.op);

	tx->tick.busy = false;
	tx->nr_ops--;
	if (tx->stopping)
		return;
	if (!tx->polling)
		tx_wait_run(tx); /* frames that found no SQE */
	if (tx->resume && !tx->wait) {
		tx->resume = false;
		vnet_tx_run(tx);
	}
	tx_publish(tx);
}

/* ---- reset ---- */

/* Asks the kernel to cancel every write and the poll still in flight. */
static void tx_cancel(struct vnet_tx *tx)
{
	unsigned int i;

	for (i = 0; i < tx->nr; i++) {
		struct vnet_txreq *req = &tx->reqs[i];

		if (req->busy && !req->cancelled)
			req->cancelled = !evl_cancel(tx->loop, &req->op);
	}
	if (tx->polling && !tx->poll_cancelled)
		tx->poll_cancelled = !evl_cancel(tx->loop, &tx->poll_op);
	if (tx->look_busy)
		evl_cancel(tx->loop, &tx->look_op);
	if (tx->irq_busy)
		evl_cancel(tx->loop, &tx->irq_op);
}

int vnet_tx_stop(struct vnet_tx *tx)
{
	unsigned int i;
	int rc;

	if (!tx->reqs)
		return 0;
	tx->stopping = true;
	tx->wait = tx->wait_tail = NULL;
	while (tx->nr_ops) {
		tx_cancel(tx);
		rc = evl_run_once(tx->loop, true);
		if (rc < 0) {
			log_err(&tx->net->vdev.log,
				"tx: event loop failed (%d) with %u ops", rc,
				tx->nr_ops);
			return rc; /* the kernel may still read the chains */
		}
	}
	for (i = 0; i < tx->count; i++) {
		struct vnet_txreq *req = tx_req(tx, i);

		vq_chain_release(tx->vq, &req->chain);
		req->done = false;
	}
	tx->head = tx->count = 0;
	tx->resume = tx->pushed = false;
	tx->idle_looks = 0;
	return 0;
}
