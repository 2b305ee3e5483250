// SPDX-License-Identifier: MIT
/*
 * The simulated guest's virtio-net driver (no offloads, no mergeable
 * buffers): enough to move frames both ways through xvbd and its TAP.
 */
#include <endian.h>
#include <errno.h>
#include <string.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>
#include <linux/virtio_net.h>

#include "netdrv.h"

#define RXQ 0
#define TXQ 1
#define HDR_LEN sizeof(struct virtio_net_hdr_v1)

/* Posts RX slot @slot: one device-writable buffer. */
static int post_rx(struct netdrv *n, unsigned int slot)
{
	struct gdrv_buf b = { n->rx_buf[slot], NETDRV_BUF, true };
	int head = gdrv_add(&n->drv, RXQ, &b, 1, 0);

	if (head < 0)
		return head;
	n->rx_head_slot[head] = slot;
	return 0;
}

int netdrv_up(struct netdrv *n, struct xsim *sim, uint32_t domid,
	      unsigned int vcpu, uint64_t base, unsigned int spi,
	      struct fakeguest *fg)
{
	const uint64_t want = (1ULL << VIRTIO_F_VERSION_1) |
			      (1ULL << VIRTIO_F_ACCESS_PLATFORM) |
			      (1ULL << VIRTIO_RING_F_EVENT_IDX) |
			      (1ULL << VIRTIO_NET_F_MAC) |
			      (1ULL << VIRTIO_NET_F_STATUS);
	unsigned int i;
	int rc;

	memset(n, 0, sizeof(*n));
	n->sim = sim;
	n->domid = domid;
	n->vcpu = vcpu;
	n->base = base;
	n->spi = spi;
	n->fg = fg;
	simbus_init(&n->sb, sim, domid, vcpu, base);
	gdrv_init_bus(&n->drv, &n->sb.bus, fg);
	rc = gdrv_up(&n->drv, want, 2, 256);
	if (rc)
		return n->sb.err ? n->sb.err : rc;
	for (i = 0; i < 6; i++)
		n->mac[i] = gdrv_read(&n->drv, VIRTIO_MMIO_CONFIG + i, 1);
	for (i = 0; i < NETDRV_SLOTS; i++) {
		n->rx_buf[i] = fg_alloc(fg, NETDRV_BUF, 64);
		n->tx_buf[i] = fg_alloc(fg, NETDRV_BUF, 64);
		if (!n->rx_buf[i] || !n->tx_buf[i])
			return -ENOMEM;
		n->tx_slot_free[i] = i;
		rc = post_rx(n, i);
		if (rc)
			return rc;
	}
	n->tx_free = NETDRV_SLOTS;
	gdrv_kick(&n->drv, RXQ);
	return n->sb.err;
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

	while (gdrv_get_used(&n->drv, TXQ, &head, &len) == 1)
		n->tx_slot_free[n->tx_free++] = n->tx_head_slot[head];
}

int netdrv_send(struct netdrv *n, const void *frame, unsigned int len)
{
	struct virtio_net_hdr_v1 hdr = { 0 };
	struct gdrv_buf b;
	unsigned int slot;
	int head;

	reap_tx(n);
	if (!n->tx_free || len > NETDRV_BUF - HDR_LEN)
		return -ENOSPC;
	slot = n->tx_slot_free[--n->tx_free];
	fg_write(n->fg, n->tx_buf[slot], &hdr, HDR_LEN);
	fg_write(n->fg, n->tx_buf[slot] + HDR_LEN, frame, len);
	b = (struct gdrv_buf){ n->tx_buf[slot], HDR_LEN + len, false };
	head = gdrv_add(&n->drv, TXQ, &b, 1, 0);
	if (head < 0) {
		n->tx_slot_free[n->tx_free++] = slot;
		return -ENOSPC;
	}
	n->tx_head_slot[head] = slot;
	gdrv_kick(&n->drv, TXQ);
	return n->sb.err;
}

int netdrv_recv(struct netdrv *n, void *buf, unsigned int size, int timeout_ms)
{
	uint16_t head;
	uint32_t len;
	int rc;

	for (;;) {
		reap_tx(n);
		rc = gdrv_get_used(&n->drv, RXQ, &head, &len);
		if (rc < 0)
			return rc;
		if (rc == 1) {
			unsigned int slot = n->rx_head_slot[head];
			unsigned int flen = len > HDR_LEN ? len - HDR_LEN : 0;

			if (flen > size)
				flen = size;
			fg_read(n->fg, n->rx_buf[slot] + HDR_LEN, buf, flen);
			rc = post_rx(n, slot);
			if (rc)
				return rc;
			gdrv_kick(&n->drv, RXQ);
			return flen ? (int)flen : -EPROTO;
		}
		if (n->sb.err)
			return n->sb.err;
		rc = xsim_irq_wait(n->sim, n->domid, n->spi, timeout_ms);
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc)
			return rc;
		n->nr_irqs++;
		gdrv_ack_irq(&n->drv);
	}
}
