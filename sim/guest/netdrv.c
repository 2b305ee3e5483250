// SPDX-License-Identifier: MIT
/*
 * The simulated guest's virtio-net driver (no offloads, no mergeable
 * buffers): enough to move frames both ways through xvbd and its TAP.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>

#include "netdrv.h"

#define RXQ(p) (2 * (p))
#define TXQ(p) (2 * (p) + 1)
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)
#define CFG_PAIRS offsetof(struct virtio_net_config, max_virtqueue_pairs)

/* Posts RX slot @slot of pair @p: one device-writable buffer. */
static int post_rx(struct netdrv *n, unsigned int p, unsigned int slot)
{
	struct gdrv_buf b = { n->rx_buf[p][slot], NETDRV_BUF, true };
	int head = gdrv_add(&n->drv, RXQ(p), &b, 1, 0);

	if (head < 0)
		return head;
	n->rx_head_slot[p][head] = slot;
	return 0;
}

/* Waits for the next interrupt and acknowledges it. 0, or -errno. */
static int wait_irq(struct netdrv *n, int timeout_ms)
{
	int rc = xsim_irq_wait(n->sim, n->domid, n->spi, timeout_ms);

	if (rc)
		return rc;
	n->nr_irqs++;
	gdrv_ack_irq(&n->drv);
	return 0;
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET @pairs: 0 when acknowledged OK. */
static int pairs_set(struct netdrv *n, unsigned int pairs)
{
	uint8_t cmd[4] = { VIRTIO_NET_CTRL_MQ, VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET,
			   pairs & 0xff, pairs >> 8 };
	uint8_t ack = 0xee;
	struct gdrv_buf b[2] = {
		{ n->ctl, sizeof(cmd), false },
		{ n->ctl + 64, 1, true },
	};
	uint16_t head;
	uint32_t len;
	int rc;

	fg_write(n->fg, n->ctl, cmd, sizeof(cmd));
	fg_write(n->fg, n->ctl + 64, &ack, 1);
	if (gdrv_add(&n->drv, n->ctrlq, b, 2, 0) < 0)
		return -ENOSPC;
	gdrv_kick(&n->drv, n->ctrlq);
	while ((rc = gdrv_get_used(&n->drv, n->ctrlq, &head, &len)) == 0) {
		rc = wait_irq(n, 2000);
		if (rc)
			return rc;
	}
	if (rc < 0)
		return rc;
	fg_read(n->fg, n->ctl + 64, &ack, 1);
	return ack == VIRTIO_NET_OK ? 0 : -EPROTO;
}

int netdrv_up_mq(struct netdrv *n, struct xsim *sim, uint32_t domid,
		 unsigned int vcpu, uint64_t base, unsigned int spi,
		 struct fakeguest *fg, unsigned int pairs)
{
	uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
			(1ULL << VIRTIO_F_ACCESS_PLATFORM) |
			(1ULL << VIRTIO_RING_F_EVENT_IDX) |
			(1ULL << VIRTIO_NET_F_MAC) |
			(1ULL << VIRTIO_NET_F_STATUS);
	unsigned int i, p, max = 1;
	int rc;

	memset(n, 0, sizeof(*n));
	n->sim = sim;
	n->domid = domid;
	n->vcpu = vcpu;
	n->base = base;
	n->spi = spi;
	n->fg = fg;
	n->pairs = 1;
	simbus_init(&n->sb, sim, domid, vcpu, base);
	gdrv_init_bus(&n->drv, &n->sb.bus, fg);
	rc = gdrv_probe(&n->drv);
	if (!rc && pairs > 1 &&
	    (gdrv_device_features(&n->drv) & (1ULL << VIRTIO_NET_F_MQ))) {
		max = gdrv_read(&n->drv, VIRTIO_MMIO_CONFIG + CFG_PAIRS, 2);
		if (max > NETDRV_MAX_PAIRS)
			max = NETDRV_MAX_PAIRS; /* the rest stay unused */
		if (max > 1)
			want |= (1ULL << VIRTIO_NET_F_MQ) |
				(1ULL << VIRTIO_NET_F_CTRL_VQ);
		else
			max = 1;
	}
	if (!rc)
		rc = gdrv_negotiate(&n->drv, want);
	/* Pairs, then the control queue after the last the device has. */
	for (i = 0; !rc && i < 2 * max; i++)
		rc = gdrv_setup_vq(&n->drv, i, 256);
	n->ctrlq = 2 * max;
	if (!rc && max > 1)
		rc = gdrv_setup_vq(&n->drv, n->ctrlq, 64);
	if (!rc)
		rc = gdrv_driver_ok(&n->drv);
	if (rc)
		return n->sb.err ? n->sb.err : rc;
	for (i = 0; i < 6; i++)
		n->mac[i] = gdrv_read(&n->drv, VIRTIO_MMIO_CONFIG + i, 1);
	n->ctl = fg_alloc(fg, 4096, 4096);
	if (!n->ctl)
		return -ENOMEM;
	if (max > 1) {
		n->pairs = pairs < max ? pairs : max;
		rc = pairs_set(n, n->pairs);
		if (rc)
			return rc;
	}
	for (p = 0; p < n->pairs; p++) {
		for (i = 0; i < NETDRV_SLOTS; i++) {
			n->rx_buf[p][i] = fg_alloc(fg, NETDRV_BUF, 64);
			n->tx_buf[p][i] = fg_alloc(fg, NETDRV_BUF, 64);
			if (!n->rx_buf[p][i] || !n->tx_buf[p][i])
				return -ENOMEM;
			n->tx_slot_free[p][i] = i;
			rc = post_rx(n, p, i);
			if (rc)
				return rc;
		}
		n->tx_free[p] = NETDRV_SLOTS;
		gdrv_kick(&n->drv, RXQ(p));
	}
	return n->sb.err;
}

int netdrv_up(struct netdrv *n, struct xsim *sim, uint32_t domid,
	      unsigned int vcpu, uint64_t base, unsigned int spi,
	      struct fakeguest *fg)
{
	return netdrv_up_mq(n, sim, domid, vcpu, base, spi, fg, 1);
}

void netdrv_down(struct netdrv *n)
{
	if (!n->sb.err)
		gdrv_reset(&n->drv);
	gdrv_fini(&n->drv);
}

static void reap_tx(struct netdrv *n)
{
	uint16_t head;
	uint32_t len;

	for (unsigned int p = 0; p < n->pairs; p++)
		while (gdrv_get_used(&n->drv, TXQ(p), &head, &len) == 1)
			n->tx_slot_free[p][n->tx_free[p]++] =
				n->tx_head_slot[p][head];
}

int netdrv_send_on(struct netdrv *n, unsigned int p, const void *frame,
		   unsigned int len)
{
	struct virtio_net_hdr_v1 hdr = { 0 };
	struct gdrv_buf b;
	unsigned int slot;
	int head;

	reap_tx(n);
	if (p >= n->pairs || !n->tx_free[p] || len > NETDRV_BUF - HDR_LEN)
		return -ENOSPC;
	slot = n->tx_slot_free[p][--n->tx_free[p]];
	fg_write(n->fg, n->tx_buf[p][slot], &hdr, HDR_LEN);
	fg_write(n->fg, n->tx_buf[p][slot] + HDR_LEN, frame, len);
	b = (struct gdrv_buf){ n->tx_buf[p][slot], HDR_LEN + len, false };
	head = gdrv_add(&n->drv, TXQ(p), &b, 1, 0);
	if (head < 0) {
		n->tx_slot_free[p][n->tx_free[p]++] = slot;
		return -ENOSPC;
	}
	n->tx_head_slot[p][head] = slot;
	gdrv_kick(&n->drv, TXQ(p));
	return n->sb.err;
}

int netdrv_send(struct netdrv *n, const void *frame, unsigned int len)
{
	return netdrv_send_on(n, 0, frame, len);
}

int netdrv_recv(struct netdrv *n, void *buf, unsigned int size, int timeout_ms)
{
	uint16_t head;
	uint32_t len;
	int rc;

	for (;;) {
		reap_tx(n);
		for (unsigned int p = 0; p < n->pairs; p++) {
			rc = gdrv_get_used(&n->drv, RXQ(p), &head, &len);
			if (rc < 0)
				return rc;
			if (rc == 1) {
				unsigned int slot = n->rx_head_slot[p][head];
				unsigned int flen =
					len > HDR_LEN ? len - HDR_LEN : 0;

				if (flen > size)
					flen = size;
				fg_read(n->fg, n->rx_buf[p][slot] + HDR_LEN,
					buf, flen);
				rc = post_rx(n, p, slot);
				if (rc)
					return rc;
				gdrv_kick(&n->drv, RXQ(p));
				n->last_rx = p;
				n->rx_frames[p]++;
				return flen ? (int)flen : -EPROTO;
			}
		}
		if (n->sb.err)
			return n->sb.err;
		rc = wait_irq(n, timeout_ms);
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc)
			return rc;
	}
}
