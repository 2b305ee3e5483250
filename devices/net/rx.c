// SPDX-License-Identifier: MIT
/*
 * The receive queue: popped chains wait in a FIFO until they can hold the
 * largest frame the TAP may hand over, then one readv lands the header in
 * private memory (checked, then copied to the guest) and the frame straight
 * in the guest's buffers. Without buffers the TAP is not even polled.
 */
#define LOG_MOD "vnet"

#include <endian.h>
#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>

#include "lib/iov.h"
#include "vnet.h"

static void rx_read_done(struct evl_op *op, int res, unsigned int flags);
static void rx_poll_done(struct evl_op *op, int res, unsigned int flags);
static void rx_tick_done(struct evl_op *op, int res, unsigned int flags);

/* The @i-th chain of the FIFO, oldest first. */
static struct vq_chain *rx_chain(struct vnet_rx *rx, unsigned int i)
{
	return &rx->chains[(rx->head + i) % rx->cap];
}

int vnet_rx_init(struct vnet_rx *rx, struct vnet *net, struct vq *vq,
		 struct evl *loop, unsigned int cap)
{
	memset(rx, 0, sizeof(*rx));
	rx->chains = calloc(cap, sizeof(*rx->chains));
	if (!rx->chains)
		return -ENOMEM;
	rx->net = net;
	rx->vq = vq;
	rx->loop = loop;
	rx->cap = cap;
	rx->limit = 1;
	rx->readable = true;
	return 0;
}

void vnet_rx_fini(struct vnet_rx *rx)
{
	free(rx->chains);
	rx->chains = NULL;
	rx->cap = rx->count = 0;
}

void vnet_rx_setup(struct vnet_rx *rx)
{
	const struct vdev *vdev = &rx->net->vdev;
	uint32_t frame = rx->net->mtu + VNET_ETH_HLEN + VNET_VLAN_HLEN;

	if (vdev_has(vdev, VIRTIO_NET_F_GUEST_TSO4) ||
	    vdev_has(vdev, VIRTIO_NET_F_GUEST_TSO6))
		frame = VNET_MAX_FRAME;
	rx->need = VNET_HDR_LEN + frame;
	/* The 1526 bytes of virtio 1.2, 5.1.6.3.1, for the MTU in force. */
	rx->need_min = VNET_HDR_LEN + VNET_ETH_HLEN + rx->net->mtu;
	/* The driver cannot post more chains than its ring holds. */
	rx->max = rx->vq->num < rx->cap ? rx->vq->num : rx->cap;
	rx->limit = vdev_has(vdev, VIRTIO_NET_F_MRG_RXBUF) ? rx->max : 1;
	rx->readable = true;
	rx->paused = false;
}

/* ---- the FIFO ---- */

/* Adds the next FIFO chain to the next read, if it fits in one readv. */
static void rx_account(struct vnet_rx *rx, const struct vq_chain *c)
{
	if (rx->full || rx->fit == rx->limit ||
	    rx->nr_iov + c->nr_in > VNET_RX_MAX_IOV - 2) {
		rx->full = true;
		return;
	}
	rx->fit++;
	rx->nr_iov += c->nr_in;
	rx->room += c->in_len;
	if (rx->fit == rx->limit)
		rx->full = true;
}

/* Recomputes what the next read covers once chains left the FIFO. */
static void rx_measure(struct vnet_rx *rx)
{
	unsigned int i;

	rx->fit = rx->nr_iov = 0;
	rx->room = 0;
	rx->full = false;
	for (i = 0; i < rx->count && !rx->full; i++)
		rx_account(rx, rx_chain(rx, i));
}

/*
 * Rejects receive chains the device cannot use: with readable buffers, or
 * too small for a header (mergeable buffers, virtio 1.2 5.1.6.3.1) or for
 * an MTU-sized frame (one chain per frame). They go back unused.
 */
static bool rx_chain_ok(const struct vnet_rx *rx, const struct vq_chain *c)
{
	if (c->nr_out)
		return false;
	if (rx->limit > 1)
		return c->in_len >= VNET_HDR_LEN;
	return c->in_len >= rx->need_min;
}

static void rx_publish(struct vnet_rx *rx)
{
	if (!rx->pushed)
		return;
	rx->pushed = false;
	vq_flush(rx->vq);
}

/* Reads stop until the guest kicks (which it is asked to do). */
static void rx_pause(struct vnet_rx *rx)
{
	rx->paused = true;
	vq_kick_enable(rx->vq);
}

static void rx_defer(struct vnet_rx *rx)
{
	int rc = vqrun_defer(rx->loop, &rx->tick, rx_tick_done);

	if (rc > 0)
		rx->nr_ops++;
	else if (rc < 0)
		rx_pause(rx);
}

/*
 * Pops chains until the next read has room for the largest frame, or all
 * the room one read can get (then frames that do not fit are dropped).
 * Returns true if a read may start; false with kicks enabled if the guest
 * must post buffers first.
 */
static bool rx_fill(struct vnet_rx *rx)
{
	struct vq *vq = rx->vq;
	struct vq_chain *c;
	bool maxed;
	int rc;

	for (;;) {
		while (rx->room < rx->need && !rx->full &&
		       rx->count < rx->max) {
			if (rx->budget++ >= VNET_RX_BUDGET) {
				rx_defer(rx); /* a guest feeding tiny chains */
				return false;
			}
			c = rx_chain(rx, rx->count);
			rc = vq_pop(vq, c);
			if (rc < 0)
				return false; /* broken: no more popping */
			if (!rc)
				break;
			if (!rx_chain_ok(rx, c)) {
				vnet_count(&rx->stats->rx_bad_bufs, 1);
				log_guest(
					&rx->net->vdev.log,
					"vq%u: receive chain of %u/%u bytes returned unused",
					vq->index, c->out_len, c->in_len);
				vq_push(vq, c, 0);
				rx->pushed = true;
				continue;
			}
			rx->count++;
			rx_account(rx, c);
		}
		maxed = rx->full || rx->count >= rx->max;
		if (rx->room >= rx->need || (maxed && rx->room >= rx->need_min))
			return true;
		if (maxed) /* all the guest gave cannot hold a frame */
			return false;
		/* The ring is empty: ask for a kick, then look once more. */
		if (!vq_kick_enable(vq)) {
			vnet_count(&rx->stats->rx_starved, 1);
			return false;
		}
	}
}

/* ---- reading ---- */

/*
 * The readv: the header into rx->hdr, the frame into the chains that fit
 * (the first one after its header bytes), then one spill byte that only a
 * frame too long for them reaches.
 */
static unsigned int rx_build_iov(struct vnet_rx *rx)
{
	struct vq_chain *c = rx_chain(rx, 0);
	unsigned int i, n = 0;
	size_t got;

	rx->iov[n++] = (struct iovec){ &rx->hdr, VNET_HDR_LEN };
	n += iov_slice(rx->iov + n, c->nr_in, vq_chain_in(c), c->nr_in,
		       VNET_HDR_LEN, c->in_len - VNET_HDR_LEN, &got);
	for (i = 1; i < rx->fit; i++) {
		c = rx_chain(rx, i);
		memcpy(rx->iov + n, vq_chain_in(c),
		       c->nr_in * sizeof(*rx->iov));
		n += c->nr_in;
	}
	rx->iov[n++] = (struct iovec){ &rx->spill, 1 };
	return n;
}

static void rx_read(struct vnet_rx *rx)
{
	unsigned int n = rx_build_iov(rx);
	struct io_uring_sqe *sqe = evl_get_sqe(rx->loop);

	if (!sqe) {
		rx_pause(rx);
		return;
	}
	io_uring_prep_readv(sqe, rx->fd, rx->iov, n, 0);
	rx->read_iov = n;
	evl_set_op(rx->loop, sqe, &rx->read_op, rx_read_done);
	rx->reading = true;
	rx->cancelled = false;
	rx->nr_ops++;
}

/* Waits for the TAP to have a frame: a one-shot poll, re-armed per -EAGAIN. */
static void rx_poll(struct vnet_rx *rx)
{
	struct io_uring_sqe *sqe = evl_get_sqe(rx->loop);

	if (!sqe) {
		rx_pause(rx);
		return;
	}
	io_uring_prep_poll_add(sqe, rx->fd, POLLIN);
	evl_set_op(rx->loop, sqe, &rx->poll_op, rx_poll_done);
	vnet_count(&rx->stats->rx_polls, 1);
	rx->polling = true;
	rx->cancelled = false;
	rx->nr_ops++;
}

void vnet_rx_run(struct vnet_rx *rx)
{
	struct vnet *net = rx->net;

	if (rx->running || rx->reading || rx->polling || rx->stopping ||
	    rx->paused || rx->disabled || rx->tick.busy)
		return;
	if (!rx->vq->ready ||
	    !(vdev_status(&net->vdev) & VIRTIO_CONFIG_S_DRIVER_OK) ||
	    !vnet_link_up(net))
		return;
	rx->running = true;
	rx->budget = 0;
	if (rx_fill(rx)) {
		/* Enough room: kicks are of no use until it runs out. */
		vq_kick_disable(rx->vq);
		if (rx->readable)
			rx_read(rx);
		else
			rx_poll(rx);
	}
	rx->running = false;
	rx_publish(rx);
	evl_submit(rx->loop);
}

void vnet_rx_kick(struct vnet_rx *rx)
{
	rx->paused = false;
	vnet_rx_run(rx);
}

/*
 * The header the TAP wrote, checked against what the driver negotiated
 * (frames queued before a reset may carry offloads of the previous driver):
 * rejects GSO types and NEEDS_CSUM it did not accept and a checksum field
 * past the frame. Without GUEST_CSUM the flags go out as 0 (5.1.6.4.1).
 */
static bool rx_hdr_ok(struct vnet_rx *rx, uint32_t frame)
{
	struct virtio_net_hdr_v1 *h = &rx->hdr;
	const struct vdev *vdev = &rx->net->vdev;
	bool csum = vdev_has(vdev, VIRTIO_NET_F_GUEST_CSUM);
	uint32_t start = le16toh(h->csum_start), off = le16toh(h->csum_offset);

	switch (h->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
		if (!vdev_has(vdev, VIRTIO_NET_F_GUEST_TSO4))
			return false;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
		if (!vdev_has(vdev, VIRTIO_NET_F_GUEST_TSO6))
			return false;
		break;
	default:
		return false;
	}
	if ((h->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) &&
	    (!csum || start + off + 2 > frame))
		return false;
	if (csum)
		h->flags &= VIRTIO_NET_HDR_F_NEEDS_CSUM |
			    VIRTIO_NET_HDR_F_DATA_VALID;
	else
		h->flags = 0;
	return true;
}

/*
 * The destination of the frame that landed, read once from the guest's
 * buffer (the guest may change it; only its own filtering is at stake).
 */
static bool rx_filter(struct vnet_rx *rx)
{
	uint8_t dst[6];

	/* The frame's iovecs follow the header's (it may span chains). */
	if (iov_to_buf(rx->iov + 1, rx->read_iov - 1, 0, dst, 6) != 6)
		return false;
	return vnet_filter_pass(rx->net, dst);
}

/*
 * A frame of @len bytes (header included) landed: complete the chains it
 * filled, oldest first, with num_buffers in the first one's header.
 */
static void rx_deliver(struct vnet_rx *rx, uint32_t len)
{
	uint32_t left = len, put;
	struct vq_chain *c;
	unsigned int i, n;

	/* Rejects frames that reached the spill byte, runts, bad headers. */
	if (len > rx->room || len < VNET_HDR_LEN + VNET_ETH_HLEN ||
	    !rx_hdr_ok(rx, len - VNET_HDR_LEN)) {
		vnet_count(&rx->stats->rx_dropped, 1);
		return;
	}
	/* Frames the guest did not ask for: its buffers stay for the next. */
	if (!rx_filter(rx)) {
		vnet_count(&rx->stats->rx_filtered, 1);
		return;
	}
	/* len <= room: the chains that fit hold it, none of them empty. */
	for (n = 0; left; n++) {
		put = rx_chain(rx, n)->in_len;
		left -= put < left ? put : left;
	}
	rx->hdr.num_buffers = htole16(n);
	c = rx_chain(rx, 0);
	iov_from_buf(vq_chain_in(c), c->nr_in, 0, &rx->hdr, VNET_HDR_LEN);
	left = len;
	for (i = 0; i < n; i++) {
		c = rx_chain(rx, i);
		put = c->in_len < left ? c->in_len : left;
		vq_push(rx->vq, c, put);
		left -= put;
	}
	rx->head = (rx->head + n) % rx->cap;
	rx->count -= n;
	rx_measure(rx);
	rx->pushed = true;
	vnet_count(&rx->stats->rx_packets, 1);
	vnet_count(&rx->stats->rx_bytes, len - VNET_HDR_LEN);
}

/* A read failed: a lost TAP takes the link down, anything else pauses. */
static void rx_error(struct vnet_rx *rx, int err)
{
	struct vnet *net = rx->net;

	vnet_count(&rx->stats->rx_errors, 1);
	if (err == -EBADFD || err == -ENODEV || err == -ENXIO) {
		vnet_tap_lost(net, err);
		return;
	}
	log_guest(&net->vdev.log, "TAP read failed (%d): receive paused", err);
	rx_pause(rx);
}

static void rx_read_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_rx *rx = container_of(op, struct vnet_rx, read_op);

	rx->reading = false;
	rx->nr_ops--;
	if (rx->stopping)
		return;
	if (res > 0)
		rx_deliver(rx, res);
	else if (res == -EAGAIN)
		rx->readable = false;
	else if (res != -EINTR && !rx->disabled)
		rx_error(rx, res ? res : -EPIPE); /* 0: end of file */
	rx_publish(rx);
	vnet_rx_run(rx);
}

static void rx_poll_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_rx *rx = container_of(op, struct vnet_rx, poll_op);

	rx->polling = false;
	rx->nr_ops--;
	if (rx->stopping || rx->disabled)
		return;
	/* POLLERR: the TAP was deleted under us. */
	if (res < 0 || (res & (POLLERR | POLLHUP | POLLNVAL))) {
		vnet_count(&rx->stats->rx_errors, 1);
		vnet_tap_lost(rx->net, res < 0 ? res : -EBADFD);
		return;
	}
	rx->readable = true;
	vnet_rx_run(rx);
}

static void rx_tick_done(struct evl_op *op, int res, unsigned int flags)
{
	struct vnet_rx *rx = container_of(op, struct vnet_rx, tick.op);

	rx->tick.busy = false;
	rx->nr_ops--;
	if (rx->stopping)
		return;
	vnet_rx_run(rx);
}

/* ---- its pair off, reset ---- */

void vnet_rx_disable(struct vnet_rx *rx)
{
	rx->disabled = true;
	while (rx->reading || rx->polling) {
		if (!rx->cancelled)
			rx->cancelled = !evl_cancel(rx->loop,
						    rx->reading ? &rx->read_op :
								  &rx->poll_op);
		if (evl_run_once(rx->loop, true) < 0)
			break;
	}
	rx->readable = true;
}

int vnet_rx_stop(struct vnet_rx *rx)
{
	unsigned int i;
	int rc = 0;

	if (!rx->chains)
		return 0;
	rx->stopping = true;
	while (rx->nr_ops) {
		if (!rx->cancelled && (rx->reading || rx->polling))
			rx->cancelled = !evl_cancel(rx->loop,
						    rx->reading ? &rx->read_op :
								  &rx->poll_op);
		rc = evl_run_once(rx->loop, true);
		if (rc < 0) {
			log_err(&rx->net->vdev.log,
				"rx: event loop failed (%d) with %u ops", rc,
				rx->nr_ops);
			return rc; /* the kernel may still write the chains */
		}
	}
	for (i = 0; i < rx->count; i++)
		vq_chain_release(rx->vq, rx_chain(rx, i));
	rx->head = rx->count = 0;
	rx_measure(rx);
	rx->readable = true;
	rx->paused = rx->pushed = false;
	return 0;
}
