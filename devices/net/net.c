// SPDX-License-Identifier: MIT
/*
 * The virtio-net device: features, config space (MAC, link status, MTU),
 * offloads handed to the TAP at DRIVER_OK, and the ops the transport calls.
 */
#define LOG_MOD "vnet"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/if_tun.h>
#include <linux/virtio_ids.h>

#include "vnet.h"

/* Config space up to mtu: speed and duplex need SPEED_DUPLEX, not offered. */
#define VNET_CFG_SIZE offsetof(struct virtio_net_config, speed)

#define F(bit) (1ULL << (bit))

#define VNET_FEATURES                                              \
	(F(VIRTIO_NET_F_CSUM) | F(VIRTIO_NET_F_GUEST_CSUM) |       \
	 F(VIRTIO_NET_F_MTU) | F(VIRTIO_NET_F_MAC) |               \
	 F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6) | \
	 F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6) |   \
	 F(VIRTIO_NET_F_MRG_RXBUF) | F(VIRTIO_NET_F_STATUS) |      \
	 F(VIRTIO_NET_F_CTRL_VQ) | F(VIRTIO_NET_F_CTRL_RX) |       \
	 F(VIRTIO_NET_F_CTRL_MAC_ADDR))

/* Without a MAC (all zeroes) the driver picks one itself. */
static uint64_t vnet_features(const struct vnet_conf *conf)
{
	static const uint8_t none[6];

	if (!memcmp(conf->mac, none, sizeof(none)))
		return VNET_FEATURES & ~F(VIRTIO_NET_F_MAC);
	return VNET_FEATURES;
}

int vnet_defer(struct evl *loop, struct vnet_defer *d, evl_cb *cb)
{
	struct io_uring_sqe *sqe;

	if (d->busy)
		return 0;
	sqe = evl_get_sqe(loop);
	if (!sqe)
		return -EAGAIN;
	io_uring_prep_nop(sqe);
	evl_set_op(loop, sqe, &d->op, cb);
	d->busy = true;
	return 1;
}

/* ---- config space ---- */

static void vnet_cfg_read(struct vdev *vdev, unsigned int off, void *buf,
			  unsigned int len)
{
	struct vnet *net = vnet_from_vdev(vdev);
	struct virtio_net_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, net->mac, sizeof(c.mac));
	c.status = htole16(net->link_up ? VIRTIO_NET_S_LINK_UP : 0);
	c.max_virtqueue_pairs = htole16(1);
	c.mtu = htole16(net->mtu);
	/* The transport checked against VNET_CFG_SIZE; belt and braces. */
	if (off > sizeof(c) || len > sizeof(c) - off) {
		memset(buf, 0, len);
		return;
	}
	memcpy(buf, (const uint8_t *)&c + off, len);
}

/* A modern device's config space is read-only (the MAC goes by CTRL_MAC). */
static int vnet_cfg_write(struct vdev *vdev, unsigned int off, const void *buf,
			  unsigned int len)
{
	return -EPERM;
}

/*
 * Refuses feature sets the spec forbids (virtio 1.2, 5.1.3.1): offloads
 * without the checksum offload they rest on, control features without the
 * control queue.
 */
static int vnet_features_ok(struct vdev *vdev, uint64_t f)
{
	struct vnet *net = vnet_from_vdev(vdev);
	const char *why = NULL;

	if ((f & (F(VIRTIO_NET_F_GUEST_TSO4) | F(VIRTIO_NET_F_GUEST_TSO6))) &&
	    !(f & F(VIRTIO_NET_F_GUEST_CSUM)))
		why = "GUEST_TSO without GUEST_CSUM";
	else if ((f &
		  (F(VIRTIO_NET_F_HOST_TSO4) | F(VIRTIO_NET_F_HOST_TSO6))) &&
		 !(f & F(VIRTIO_NET_F_CSUM)))
		why = "HOST_TSO without CSUM";
	else if ((f &
		  (F(VIRTIO_NET_F_CTRL_RX) | F(VIRTIO_NET_F_CTRL_MAC_ADDR))) &&
		 !(f & F(VIRTIO_NET_F_CTRL_VQ)))
		why = "control features without CTRL_VQ";
	if (!why)
		return 0;
	log_guest(&net->vdev.log, "features 0x%llx refused: %s",
		  (unsigned long long)f, why);
	return -EINVAL;
}

/* The TAP's offloads: what the guest accepts on receive. */
static unsigned int vnet_tun_offloads(const struct vdev *vdev)
{
	unsigned int fl = 0;

	if (!vdev_has(vdev, VIRTIO_NET_F_GUEST_CSUM))
		return 0;
	fl |= TUN_F_CSUM;
	if (vdev_has(vdev, VIRTIO_NET_F_GUEST_TSO4))
		fl |= TUN_F_TSO4;
	if (vdev_has(vdev, VIRTIO_NET_F_GUEST_TSO6))
		fl |= TUN_F_TSO6;
	return fl;
}

static int vnet_start(struct vdev *vdev)
{
	struct vnet *net = vnet_from_vdev(vdev);
	unsigned int fl = vnet_tun_offloads(vdev);
	int rc;

	if (!net->tap_lost) {
		rc = vnet_tap_offload(&net->tap, fl);
		if (rc) {
			log_err(&vdev->log, "TUNSETOFFLOAD 0x%x: %d", fl, rc);
			return rc;
		}
		net->offloads = fl;
	}
	vnet_rx_setup(&net->rx);
	vnet_rx_run(&net->rx);
	vnet_tx_run(&net->tx);
	return 0;
}

static void vnet_kick(struct vdev *vdev, struct vq *vq)
{
	struct vnet *net = vnet_from_vdev(vdev);

	/* Kicks while a reset runs the loop are dropped: the rings go. */
	if (net->resetting)
		return;
	if (vq->index == VNET_RXQ)
		vnet_rx_kick(&net->rx);
	else if (vq->index == VNET_TXQ)
		vnet_tx_run(&net->tx);
	else if (vq->index == VNET_CTRLQ)
		vnet_ctrl_run(&net->ctrl);
}

static void vnet_reset(struct vdev *vdev)
{
	struct vnet *net = vnet_from_vdev(vdev);

	/* Re-entered from a callback while this reset runs the loop: no-op. */
	if (net->resetting)
		return;
	net->resetting = true;
	/*
	 * Every queue stops before any runs the loop: a completion of one
	 * queue reaped while another drains must not push to the old rings.
	 */
	net->rx.stopping = net->tx.stopping = net->ctrl.stopping = true;
	vnet_rx_stop(&net->rx);
	vnet_tx_stop(&net->tx);
	vnet_ctrl_stop(&net->ctrl);
	net->rx.stopping = net->tx.stopping = net->ctrl.stopping = false;
	/* No offloads for frames queued before the next driver says so. */
	if (net->offloads && !net->tap_lost && !vnet_tap_offload(&net->tap, 0))
		net->offloads = 0;
	memcpy(net->mac, net->mac_default, sizeof(net->mac));
	vnet_filter_reset(&net->filter);
	net->resetting = false;
}

static const struct vdev_ops vnet_ops = {
	.name = "vnet",
	.device_id = VIRTIO_ID_NET,
	.cfg_read = vnet_cfg_read,
	.cfg_write = vnet_cfg_write,
	.features_ok = vnet_features_ok,
	.start = vnet_start,
	.kick = vnet_kick,
	.reset = vnet_reset,
};

/* ---- link ---- */

static void vnet_link_changed(struct vnet *net)
{
	/* The driver reads status once it has features: tell it only then. */
	if (net->vdev.status & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev_config_changed(&net->vdev);
}

void vnet_set_link(struct vnet *net, bool up)
{
	if (net->tap_lost)
		up = false;
	if (net->link_up == up)
		return;
	net->link_up = up;
	if (!up)
		vnet_tx_link_down(&net->tx);
	vnet_link_changed(net);
	if (up) {
		vnet_rx_run(&net->rx);
		vnet_tx_run(&net->tx);
	}
}

void vnet_tap_lost(struct vnet *net, int err)
{
	if (net->tap_lost)
		return;
	log_err(&net->vdev.log, "TAP %s lost (%d): link down", net->tap.ifname,
		err);
	vnet_set_link(net, false);
	net->tap_lost = true;
}

/* ---- life cycle ---- */

static int vnet_conf_check(const struct vnet_conf *conf, const struct gmem *gm,
			   const struct evl *loop, uint16_t qsize)
{
	if (!conf || !gm || !gm->ops || !loop)
		return -EINVAL;
	if (!qsize || qsize > VNET_QUEUE_MAX || (qsize & (qsize - 1)))
		return -EINVAL;
	if (conf->mtu && conf->mtu < VNET_MIN_MTU)
		return -EINVAL;
	/* Rejects interface names without their NUL. */
	if (!memchr(conf->ifname, 0, sizeof(conf->ifname)) ||
	    !memchr(conf->bridge, 0, sizeof(conf->bridge)))
		return -EINVAL;
	/* Rejects a multicast MAC: a NIC's own address is unicast. */
	if (conf->mac[0] & 1)
		return -EINVAL;
	return 0;
}

static int vnet_queues_init(struct vnet *net, uint16_t qsize)
{
	struct vq *vqs = net->vdev.vqs;
	unsigned int cap = qsize < VNET_RX_MAX_CHAINS ? qsize :
							VNET_RX_MAX_CHAINS;
	int rc;

	rc = vnet_rx_init(&net->rx, net, &vqs[VNET_RXQ], net->loop, cap);
	if (rc)
		return rc;
	rc = vnet_tx_init(&net->tx, net, &vqs[VNET_TXQ], net->loop, qsize);
	if (rc)
		return rc;
	vnet_ctrl_init(&net->ctrl, net, &vqs[VNET_CTRLQ]);
	return 0;
}

static uint16_t vnet_mtu(const struct vnet_tap *tap)
{
	if (tap->mtu < VNET_MIN_MTU)
		return VNET_MIN_MTU;
	return tap->mtu > VNET_MAX_MTU ? VNET_MAX_MTU : tap->mtu;
}

int vnet_create(struct vnet **out, const struct vnet_conf *conf,
		const struct gmem *gm, struct evl *loop)
{
	uint16_t qsize = conf && conf->queue_size ? conf->queue_size :
						    VNET_DEFAULT_QUEUE;
	const char *name = conf && conf->name ? conf->name : "vnet";
	struct log_ctx log;
	struct vnet *net;
	int rc;

	*out = NULL;
	rc = vnet_conf_check(conf, gm, loop, qsize);
	if (rc)
		return rc;
	net = calloc(1, sizeof(*net));
	if (!net)
		return -ENOMEM;
	net->loop = loop;
	log_ctx_init(&log, conf->domid, name);
	rc = vnet_tap_open(&net->tap, conf, &log);
	if (rc)
		goto err_free;
	memcpy(net->mac_default, conf->mac, sizeof(net->mac_default));
	memcpy(net->mac, conf->mac, sizeof(net->mac));
	net->mtu = vnet_mtu(&net->tap);
	net->link_up = true;
	vnet_filter_reset(&net->filter);

	rc = vdev_init(&net->vdev, &vnet_ops, gm, VNET_NR_VQS, qsize,
		       VNET_CFG_SIZE, vnet_features(conf));
	if (rc)
		goto err_tap;
	net->vdev.log = log;
	rc = vnet_queues_init(net, qsize);
	if (rc)
		goto err_vdev;
	net->tap.own_fd = true; /* an adopted descriptor is ours from here */
	*out = net;
	return 0;

err_vdev:
	vdev_destroy(&net->vdev);
	vnet_tx_fini(&net->tx);
	vnet_rx_fini(&net->rx);
err_tap:
	vnet_tap_close(&net->tap, &log); /* an adopted fd stays the caller's */
err_free:
	free(net);
	return rc;
}

struct vdev *vnet_vdev(struct vnet *net)
{
	return &net->vdev;
}

int vnet_tap_fd(struct vnet *net)
{
	return net->tap.fd;
}

const char *vnet_ifname(const struct vnet *net)
{
	return net->tap.ifname;
}

void vnet_get_stats(const struct vnet *net, struct vnet_stats *st)
{
	*st = net->stats;
}

/* One line of counters when the device goes, for logs and tests. */
static void vnet_log_stats(const struct vnet *net)
{
	const struct vnet_stats *s = &net->stats;

	log_info(&net->vdev.log,
		 "%s: TX %llu frames %llu bytes (%llu dropped, %llu errors), "
		 "RX %llu frames %llu bytes (%llu dropped, %llu filtered, "
		 "%llu errors), %llu control commands (%llu refused)%s",
		 net->tap.ifname, (unsigned long long)s->tx_packets,
		 (unsigned long long)s->tx_bytes,
		 (unsigned long long)s->tx_dropped,
		 (unsigned long long)s->tx_errors,
		 (unsigned long long)s->rx_packets,
		 (unsigned long long)s->rx_bytes,
		 (unsigned long long)s->rx_dropped,
		 (unsigned long long)s->rx_filtered,
		 (unsigned long long)s->rx_errors,
		 (unsigned long long)s->ctrl_cmds,
		 (unsigned long long)s->ctrl_errs,
		 net->tap_lost ? ", TAP lost" : "");
}

void vnet_destroy(struct vnet *net)
{
	if (!net)
		return;
	vnet_log_stats(net);
	/* Resets the device: reads, writes and polls cancelled and reaped. */
	vdev_destroy(&net->vdev);
	if (net->rx.nr_ops || net->tx.nr_ops || net->ctrl.tick.busy) {
		/* The ring failed with I/O in flight: freeing would be UAF. */
		log_err(&net->vdev.log, "I/O still in flight; device leaked");
		return;
	}
	vnet_tx_fini(&net->tx);
	vnet_rx_fini(&net->rx);
	vnet_tap_close(&net->tap, &net->vdev.log);
	free(net);
}
