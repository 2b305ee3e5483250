// SPDX-License-Identifier: MIT
/*
 * The control queue: RX mode (promiscuous, all-multicast), the MAC filter
 * tables and the MAC address, and the receive filter they make (applied in
 * rx.c to every frame read from the TAP).
 */
#define LOG_MOD "vnet"

#include <endian.h>
#include <errno.h>
#include <string.h>

#include "lib/iov.h"
#include "vnet.h"

/* Command data starts after the class and command bytes. */
#define CTRL_HDR_LEN sizeof(struct virtio_net_ctrl_hdr)

static const struct vqrun_ops ctrl_run_ops;

void vnet_ctrl_init(struct vnet_ctrl *ctrl, struct vnet *net, struct vq *vq)
{
	memset(ctrl, 0, sizeof(*ctrl));
	ctrl->net = net;
	ctrl->vq = vq;
	vqrun_init(&ctrl->run, vq, net->loop, &ctrl_run_ops,
		   &(struct vqrun_conf){ .budget = VNET_CTRL_BUDGET });
}

void vnet_ctrl_start(struct vnet_ctrl *ctrl, struct vq *vq)
{
	ctrl->vq = ctrl->run.vq = vq;
}

/* VIRTIO_NET_CTRL_RX: one byte, on or off. */
static uint8_t ctrl_rx_mode(struct vnet_ctrl *ctrl, uint8_t cmd,
			    const struct vq_chain *c, uint32_t dlen)
{
	struct vnet *net = ctrl->net;
	uint8_t on;

	/* Rejects modes of CTRL_RX_EXTRA (not offered) and odd lengths. */
	if (!vdev_has(&net->vdev, VIRTIO_NET_F_CTRL_RX) || dlen != 1 ||
	    (cmd != VIRTIO_NET_CTRL_RX_PROMISC &&
	     cmd != VIRTIO_NET_CTRL_RX_ALLMULTI))
		return VIRTIO_NET_ERR;
	iov_to_buf(c->iov, c->nr_out, CTRL_HDR_LEN, &on, 1);
	pthread_mutex_lock(&net->filter_lock);
	if (cmd == VIRTIO_NET_CTRL_RX_PROMISC)
		net->filter.promisc = on;
	else
		net->filter.allmulti = on;
	pthread_mutex_unlock(&net->filter_lock);
	return VIRTIO_NET_OK;
}

void vnet_filter_reset(struct vnet_filter *f)
{
	memset(f, 0, sizeof(*f));
	f->promisc = true;
}

static bool filter_has(const struct vnet_filter *f, unsigned int from,
		       unsigned int n, const uint8_t dst[6])
{
	for (unsigned int i = from; i < from + n; i++)
		if (!memcmp(f->mac[i], dst, 6))
			return true;
	return false;
}

static bool filter_pass(const struct vnet *net, const uint8_t dst[6])
{
	static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	const struct vnet_filter *f = &net->filter;

	if (f->promisc || !memcmp(dst, bcast, 6))
		return true;
	if (dst[0] & 1)
		return f->allmulti || f->multi_all ||
		       filter_has(f, f->nr_uni, f->nr_multi, dst);
	return f->uni_all || !memcmp(dst, net->mac, 6) ||
	       filter_has(f, 0, f->nr_uni, dst);
}

/* Every pair's receive path asks; the control queue changes it. */
bool vnet_filter_pass(struct vnet *net, const uint8_t dst[6])
{
	bool pass;

	pthread_mutex_lock(&net->filter_lock);
	pass = filter_pass(net, dst);
	pthread_mutex_unlock(&net->filter_lock);
	return pass;
}

/*
 * Copies one table's @n addresses at @off into @f from slot @at; a table
 * longer than what is left sets @all instead (that class passes).
 */
static void ctrl_table_copy(struct vnet_filter *f, const struct vq_chain *c,
			    uint64_t off, uint32_t n, unsigned int at,
			    unsigned int *nr, bool *all)
{
	*nr = 0;
	*all = n > VNET_MAC_TABLE - at;
	if (*all)
		return;
	iov_to_buf(c->iov, c->nr_out, CTRL_HDR_LEN + off, f->mac[at], 6 * n);
	*nr = n;
}

/*
 * MAC_TABLE_SET: a unicast then a multicast table, each a le32 count and
 * that many addresses, filling the data exactly (virtio 1.2, 5.1.6.5.2).
 * Each count is read once; the filter changes only if both tables are good.
 */
static uint8_t ctrl_mac_table(struct vnet *net, const struct vq_chain *c,
			      uint32_t dlen)
{
	struct vnet_filter f = net->filter;
	uint64_t off = 0, at[2];
	uint32_t n[2];
	int t;

	for (t = 0; t < 2; t++) {
		/* Rejects a count or addresses past the data. */
		if (off + sizeof(n[t]) > dlen)
			return VIRTIO_NET_ERR;
		iov_to_buf(c->iov, c->nr_out, CTRL_HDR_LEN + off, &n[t],
			   sizeof(n[t]));
		n[t] = le32toh(n[t]);
		at[t] = off + sizeof(n[t]);
		off = at[t] + 6ULL * n[t];
		if (off > dlen)
			return VIRTIO_NET_ERR;
	}
	/* Rejects trailing bytes. */
	if (off != dlen)
		return VIRTIO_NET_ERR;
	ctrl_table_copy(&f, c, at[0], n[0], 0, &f.nr_uni, &f.uni_all);
	ctrl_table_copy(&f, c, at[1], n[1], f.nr_uni, &f.nr_multi,
			&f.multi_all);
	pthread_mutex_lock(&net->filter_lock);
	net->filter = f;
	pthread_mutex_unlock(&net->filter_lock);
	return VIRTIO_NET_OK;
}

static uint8_t ctrl_mac(struct vnet_ctrl *ctrl, uint8_t cmd,
			const struct vq_chain *c, uint32_t dlen)
{
	struct vnet *net = ctrl->net;
	uint8_t mac[6];

	if (cmd == VIRTIO_NET_CTRL_MAC_TABLE_SET) {
		if (!vdev_has(&net->vdev, VIRTIO_NET_F_CTRL_RX))
			return VIRTIO_NET_ERR;
		return ctrl_mac_table(net, c, dlen);
	}
	if (cmd != VIRTIO_NET_CTRL_MAC_ADDR_SET ||
	    !vdev_has(&net->vdev, VIRTIO_NET_F_CTRL_MAC_ADDR) ||
	    dlen != sizeof(mac))
		return VIRTIO_NET_ERR;
	iov_to_buf(c->iov, c->nr_out, CTRL_HDR_LEN, mac, sizeof(mac));
	/* Rejects a multicast address as the NIC's own. */
	if (mac[0] & 1)
		return VIRTIO_NET_ERR;
	pthread_mutex_lock(&net->filter_lock);
	memcpy(net->mac, mac, sizeof(mac));
	pthread_mutex_unlock(&net->filter_lock);
	return VIRTIO_NET_OK;
}

/* VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET: how many pairs the driver uses. */
static uint8_t ctrl_mq(struct vnet_ctrl *ctrl, uint8_t cmd,
		       const struct vq_chain *c, uint32_t dlen)
{
	struct vnet *net = ctrl->net;
	struct virtio_net_ctrl_mq mq;
	uint16_t n;

	if (!vdev_has(&net->vdev, VIRTIO_NET_F_MQ) ||
	    cmd != VIRTIO_NET_CTRL_MQ_VQ_PAIRS_SET || dlen != sizeof(mq))
		return VIRTIO_NET_ERR;
	iov_to_buf(c->iov, c->nr_out, CTRL_HDR_LEN, &mq, sizeof(mq));
	n = le16toh(mq.virtqueue_pairs);
	/* Rejects 0 and more pairs than max_virtqueue_pairs. */
	if (n < VIRTIO_NET_CTRL_MQ_VQ_PAIRS_MIN || n > net->nr_pairs)
		return VIRTIO_NET_ERR;
	return vnet_set_pairs(net, n) ? VIRTIO_NET_ERR : VIRTIO_NET_OK;
}

static void ctrl_handle(struct vnet_ctrl *ctrl, struct vq_chain *c)
{
	struct vnet *net = ctrl->net;
	struct virtio_net_ctrl_hdr h;
	uint8_t ack = VIRTIO_NET_ERR;
	uint32_t dlen;

	/* Rejects a command without its header or a byte for the ack. */
	if (!c->in_len || c->out_len < CTRL_HDR_LEN) {
		vdev_fail(&net->vdev, "vq%u: control command of %u/%u bytes",
			  ctrl->vq->index, c->out_len, c->in_len);
		vq_push(ctrl->vq, c, 0);
		return;
	}
	iov_to_buf(c->iov, c->nr_out, 0, &h, sizeof(h));
	dlen = c->out_len - CTRL_HDR_LEN;
	if (h.class == VIRTIO_NET_CTRL_RX)
		ack = ctrl_rx_mode(ctrl, h.cmd, c, dlen);
	else if (h.class == VIRTIO_NET_CTRL_MAC)
		ack = ctrl_mac(ctrl, h.cmd, c, dlen);
	else if (h.class == VIRTIO_NET_CTRL_MQ)
		ack = ctrl_mq(ctrl, h.cmd, c, dlen);
	net->stats.ctrl_cmds++;
	if (ack != VIRTIO_NET_OK) {
		net->stats.ctrl_errs++;
		log_guest(&net->vdev.log, "control command %u.%u refused",
			  h.class, h.cmd);
	}
	/* The ack is the last writable byte; anything before it is zeroed. */
	iov_memset(vq_chain_in(c), c->nr_in, 0, 0, c->in_len - 1);
	iov_from_buf(vq_chain_in(c), c->nr_in, c->in_len - 1, &ack, 1);
	vq_push(ctrl->vq, c, c->in_len);
}

/* vqrun: pops one command and answers it at once. */
static int ctrl_run_pop(struct vqrun *r)
{
	struct vnet_ctrl *ctrl = container_of(r, struct vnet_ctrl, run);
	int rc = vq_pop(ctrl->vq, &ctrl->chain);

	if (rc <= 0)
		return rc;
	ctrl_handle(ctrl, &ctrl->chain);
	r->pushed = true;
	return 1;
}

static const struct vqrun_ops ctrl_run_ops = {
	.pop = ctrl_run_pop,
};

void vnet_ctrl_run(struct vnet_ctrl *ctrl)
{
	vqrun_run(&ctrl->run);
}

int vnet_ctrl_stop(struct vnet_ctrl *ctrl)
{
	static const unsigned int none; /* no operation of its own */
	int rc = vqrun_stop(&ctrl->run, &none);

	if (!rc)
		vqrun_reset(&ctrl->run);
	return rc;
}
