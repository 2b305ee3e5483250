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
static const struct vqrun_ops tx_run_ops;

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
	/*
	 * Kicks stay off only for the idle looks after a burst (frames in
	 * flight complete quickly and do not look at the ring); interrupts are
	 * held with nothing in flight too, a receive interrupt paying them.
	 */
	vqrun_init(&tx->run, vq, loop, &tx_run_ops,
		   &(struct vqrun_conf){ .budget = VNET_TX_BUDGET,
					 .looks = VNET_IDLE_LOOKS,
					 .poll_ns = net->poll_ns,
					 .coalesce_ns = net->coalesce_ns,
					 .hold_idle = true });
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
		tx->run.pushed = true;
	}
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
	if (!tx->run.running)
		vqrun_tick(&tx->run);
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

/* vqrun: pops a chain into the next request of the ring and starts it. */
static int tx_run_pop(struct vqrun *r)
{
	struct vnet_tx *tx = container_of(r, struct vnet_tx, run);
	struct vnet_txreq *req;
	int rc;

	if (tx->count == tx->nr)
		return -ENOSPC; /* every request in flight */
	req = tx_req(tx, tx->count);
	rc = vq_pop(tx->vq, &req->chain);
	if (rc <= 0)
		return rc;
	tx->count++;
	tx_start(tx, req);
	return 1;
}

/* vqrun: frames that found no SQE or room go first, unless polling. */
static bool tx_run_retry(struct vqrun *r)
{
	struct vnet_tx *tx = container_of(r, struct vnet_tx, run);

	if (!tx->polling)
		tx_wait_run(tx);
	return !tx->wait;
}

/* vqrun: at a run's end, what finished is pushed in pop order. */
static void tx_run_end(struct vqrun *r)
{
	tx_complete(container_of(r, struct vnet_tx, run));
}

void vnet_tx_run(struct vnet_tx *tx)
{
	vqrun_run(&tx->run);
}

/* ---- completions ---- */

static void tx_write_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_txreq *req = container_of(op, struct vnet_txreq, op);
	struct vnet_tx *tx = req->tx;

	req->busy = false;
	tx->nr_ops--;
	if (tx->run.stopping)
		return;
	if ((res == -EAGAIN || res == -EINTR || res == -ENOBUFS) &&
	    req->retries++ < VNET_TX_MAX_RETRY && vnet_link_up(tx->net)) {
		tx_wait_add(tx, req);
		tx_poll(tx);
		return;
	}
	tx_finish(req, res);
	tx_complete(tx);
	if (!tx->run.running)
		vqrun_tick(&tx->run);
}

static void tx_poll_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_tx *tx = container_of(op, struct vnet_tx, poll_op);

	tx->polling = false;
	tx->nr_ops--;
	if (tx->run.stopping)
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

/* ---- reset ---- */

/* Asks the kernel to cancel every write and the poll still in flight. */
static void tx_run_cancel(struct vqrun *r)
{
	struct vnet_tx *tx = container_of(r, struct vnet_tx, run);
	unsigned int i;

	for (i = 0; i < tx->nr; i++) {
		struct vnet_txreq *req = &tx->reqs[i];

		if (req->busy && !req->cancelled)
			req->cancelled = !evl_cancel(tx->loop, &req->op);
	}
	if (tx->polling && !tx->poll_cancelled)
		tx->poll_cancelled = !evl_cancel(tx->loop, &tx->poll_op);
}

static const struct vqrun_ops tx_run_ops = {
	.pop = tx_run_pop,
	.retry = tx_run_retry,
	.end = tx_run_end,
	.cancel = tx_run_cancel,
};

int vnet_tx_stop(struct vnet_tx *tx)
{
	unsigned int i;
	int rc;

	if (!tx->reqs)
		return 0;
	tx->run.stopping = true;
	tx->wait = tx->wait_tail = NULL;
	rc = vqrun_stop(&tx->run, &tx->nr_ops);
	if (rc)
		return rc; /* the kernel may still read the chains */
	for (i = 0; i < tx->count; i++) {
		struct vnet_txreq *req = tx_req(tx, i);

		vq_chain_release(tx->vq, &req->chain);
		req->done = false;
	}
	tx->head = tx->count = 0;
	vqrun_reset(&tx->run);
	return 0;
}
