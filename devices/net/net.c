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

/*
 * Without a MAC (all zeroes) the driver picks one itself; MQ with more
 * than one pair.
 */
static uint64_t vnet_features(const struct vnet_conf *conf)
{
	static const uint8_t none[6];
	uint64_t f = VNET_FEATURES;

	if (!memcmp(conf->mac, none, sizeof(none)))
		f &= ~F(VIRTIO_NET_F_MAC);
	if (conf->nr_pairs > 1)
		f |= F(VIRTIO_NET_F_MQ);
	return f;
}

/* The control queue's index for the features the driver took. */
static unsigned int vnet_ctrl_index(const struct vnet *net)
{
	return VNET_CTRLQ(
		vdev_has(&net->vdev, VIRTIO_NET_F_MQ) ? net->nr_pairs : 1);
}

/* ---- pairs on their threads ---- */

/* Runs @fn(@m) on @p's thread: now if that is this one, else posted. */
static void pair_exec(struct vnet_pair *p, struct evl_msg *m, evl_msg_fn *fn)
{
	if (evl_is_mine(p->loop))
		fn(m);
	else
		evl_post(p->loop, m, fn);
}

static void pair_rx_msg(struct evl_msg *m)
{
	vnet_rx_kick(&container_of(m, struct vnet_pair, rx_msg)->rx);
}

static void pair_tx_msg(struct evl_msg *m)
{
	vnet_tx_run(&container_of(m, struct vnet_pair, tx_msg)->tx);
}

/* The link went down: frames waiting to be retried are dropped. */
static void pair_link_msg(struct evl_msg *m)
{
	vnet_tx_link_down(&container_of(m, struct vnet_pair, link_msg)->tx);
}

static void pair_start(void *arg)
{
	struct vnet_pair *p = arg;

	vnet_rx_setup(&p->rx);
	vnet_rx_run(&p->rx);
	vnet_tx_run(&p->tx);
}

/* Both queues of the pair stop; chains go back, nothing stays in flight. */
static void pair_stop(void *arg)
{
	struct vnet_pair *p = arg;

	p->rx.stopping = p->tx.run.stopping = true;
	vnet_rx_stop(&p->rx);
	vnet_tx_stop(&p->tx);
	p->rx.stopping = p->tx.run.stopping = false;
}

static void pair_off(void *arg)
{
	struct vnet_pair *p = arg;

	p->tx.disabled = true;
	vnet_rx_disable(&p->rx);
}

static void pair_on(void *arg)
{
	struct vnet_pair *p = arg;

	p->tx.disabled = p->rx.disabled = false;
	vnet_rx_setup(&p->rx);
	vnet_rx_run(&p->rx);
	vnet_tx_run(&p->tx);
}

/*
 * Turns pair @i on or off: off, its reads stop first and its TAP queue is
 * detached after, so the kernel steers no flow to it; on, the queue is
 * attached first. Returns 0 or -errno (the TAP refused).
 */
static int vnet_pair_enable(struct vnet *net, unsigned int i, bool on)
{
	struct vnet_pair *p = &net->pairs[i];
	int rc = 0;

	if (p->enabled == on)
		return 0;
	if (on) {
		if (!net->tap_lost)
			rc = vnet_tap_queue(&net->tap, i, true);
		if (rc)
			return rc;
		evl_call(p->loop, pair_on, p);
	} else {
		evl_call(p->loop, pair_off, p);
		if (!net->tap_lost)
			rc = vnet_tap_queue(&net->tap, i, false);
	}
	p->enabled = on;
	return rc;
}

int vnet_set_pairs(struct vnet *net, unsigned int n)
{
	unsigned int i;
	int rc = 0;

	if (!n || n > net->nr_pairs)
		return -EINVAL;
	for (i = 0; i < net->nr_pairs && !rc; i++)
		rc = vnet_pair_enable(net, i, i < n);
	if (rc) {
		log_err(&net->vdev.log, "%u queue pairs: TAP queue %u: %s", n,
			i - 1, strerror(-rc));
		return rc;
	}
	if (n != net->cur_pairs)
		log_info(&net->vdev.log, "%u of %u queue pairs in use", n,
			 net->nr_pairs);
	net->cur_pairs = n;
	return 0;
}

/* ---- config space ---- */

static void vnet_cfg_read(struct vdev *vdev, unsigned int off, void *buf,
			  unsigned int len)
{
	struct vnet *net = vnet_from_vdev(vdev);
	struct virtio_net_config c;

	memset(&c, 0, sizeof(c));
	memcpy(c.mac, net->mac, sizeof(c.mac));
	c.status = htole16(vnet_link_up(net) ? VIRTIO_NET_S_LINK_UP : 0);
	c.max_virtqueue_pairs = htole16(net->nr_pairs);
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
	else if ((f & F(VIRTIO_NET_F_MQ)) && !(f & F(VIRTIO_NET_F_CTRL_VQ)))
		why = "MQ without CTRL_VQ";
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
	/* Where the control queue is depends on MQ, now negotiated. */
	vnet_ctrl_start(&net->ctrl, &vdev->vqs[vnet_ctrl_index(net)]);
	/* The first pair only, until VQ_PAIRS_SET says more. */
	evl_call(net->pairs[0].loop, pair_start, &net->pairs[0]);
	return 0;
}

static void vnet_kick(struct vdev *vdev, struct vq *vq)
{
	struct vnet *net = vnet_from_vdev(vdev);

	unsigned int ctrlq = vnet_ctrl_index(net);
	struct vnet_pair *p;

	/* Kicks while a reset runs the loop are dropped: the rings go. */
	if (net->resetting)
		return;
	if (vq->index == ctrlq) {
		vnet_ctrl_run(&net->ctrl);
		return;
	}
	/* Without MQ only the first pair exists for the driver. */
	if (vq->index > ctrlq)
		return;
	p = &net->pairs[vq->index / 2];
	if (vq->index % 2 == VNET_RXQ)
		pair_exec(p, &p->rx_msg, pair_rx_msg);
	else
		pair_exec(p, &p->tx_msg, pair_tx_msg);
}

static void vnet_reset(struct vdev *vdev)
{
	struct vnet *net = vnet_from_vdev(vdev);

	/* Re-entered from a callback while this reset runs the loop: no-op. */
	if (net->resetting)
		return;
	unsigned int i;

	net->resetting = true;
	/*
	 * Every queue of this loop stops before any runs it: a completion of
	 * one reaped while another drains must not push to the old rings.
	 * Pairs on other threads stop there, with their own loops.
	 */
	net->ctrl.run.stopping = true;
	for (i = 0; i < net->nr_pairs; i++)
		if (!net->pairs[i].remote)
			net->pairs[i].rx.stopping =
				net->pairs[i].tx.run.stopping = true;
	for (i = 0; i < net->nr_pairs; i++)
		evl_call(net->pairs[i].loop, pair_stop, &net->pairs[i]);
	vnet_ctrl_stop(&net->ctrl);
	net->ctrl.run.stopping = false;
	/* One pair again, the others off, their TAP queues detached. */
	if (net->nr_pairs > 1)
		vnet_set_pairs(net, 1);
	/* No offloads for frames queued before the next driver says so. */
	if (net->offloads && !net->tap_lost && !vnet_tap_offload(&net->tap, 0))
		net->offloads = 0;
	pthread_mutex_lock(&net->filter_lock);
	memcpy(net->mac, net->mac_default, sizeof(net->mac));
	vnet_filter_reset(&net->filter);
	pthread_mutex_unlock(&net->filter_lock);
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
	if (vdev_status(&net->vdev) & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev_config_changed(&net->vdev);
}

/* Link down: every pair drops what waits, on its own thread. */
static void vnet_link_down(struct vnet *net)
{
	for (unsigned int i = 0; i < net->nr_pairs; i++)
		pair_exec(&net->pairs[i], &net->pairs[i].link_msg,
			  pair_link_msg);
}

void vnet_set_link(struct vnet *net, bool up)
{
	if (__atomic_load_n(&net->tap_lost, __ATOMIC_ACQUIRE))
		up = false;
	if (__atomic_exchange_n(&net->link_up, up, __ATOMIC_ACQ_REL) == up)
		return;
	if (!up)
		vnet_link_down(net);
	vnet_link_changed(net);
	for (unsigned int i = 0; up && i < net->nr_pairs; i++) {
		struct vnet_pair *p = &net->pairs[i];

		pair_exec(p, &p->rx_msg, pair_rx_msg);
		pair_exec(p, &p->tx_msg, pair_tx_msg);
	}
}

/* From any pair's thread: the first to see the TAP gone tells everyone. */
void vnet_tap_lost(struct vnet *net, int err)
{
	if (__atomic_exchange_n(&net->tap_lost, true, __ATOMIC_ACQ_REL))
		return;
	log_err(&net->vdev.log, "TAP %s lost (%d): link down", net->tap.ifname,
		err);
	if (__atomic_exchange_n(&net->link_up, false, __ATOMIC_ACQ_REL)) {
		vnet_link_down(net);
		vnet_link_changed(net);
	}
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
	/* More pairs than we serve, or several on an adopted descriptor. */
	if (conf->nr_pairs > VNET_MAX_PAIRS ||
	    conf->poll_us > VNET_MAX_POLL_US ||
	    conf->coalesce_us > VNET_MAX_COALESCE_US ||
	    (conf->nr_pairs > 1 && conf->tap_fd >= 0))
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

static int vnet_queues_init(struct vnet *net, uint16_t qsize,
			    struct evl *const *loops)
{
	struct vq *vqs = net->vdev.vqs;
	unsigned int cap = qsize < VNET_RX_MAX_CHAINS ? qsize :
							VNET_RX_MAX_CHAINS;
	struct vnet_pair *p;
	int rc;

	for (unsigned int i = 0; i < net->nr_pairs; i++) {
		p = &net->pairs[i];
		p->loop = loops && loops[i] ? loops[i] : net->loop;
		p->remote = p->loop != net->loop;
		rc = vnet_rx_init(&p->rx, net, &vqs[2 * i + VNET_RXQ], p->loop,
				  cap);
		if (rc)
			return rc;
		rc = vnet_tx_init(&p->tx, net, &vqs[2 * i + VNET_TXQ], p->loop,
				  qsize);
		if (rc)
			return rc;
		p->rx.fd = p->tx.fd = net->tap.qfd[i];
		p->rx.stats = p->tx.stats = &p->stats;
		/* Pairs past the first start off, their TAP queues detached. */
		p->enabled = i == 0;
		p->rx.disabled = p->tx.disabled = i > 0;
		if (i > 0) {
			rc = vnet_tap_queue(&net->tap, i, false);
			if (rc)
				return rc;
		}
	}
	vnet_ctrl_init(&net->ctrl, net, &vqs[VNET_CTRLQ(net->nr_pairs)]);
	return 0;
}

static void vnet_pairs_fini(struct vnet *net)
{
	for (unsigned int i = 0; net->pairs && i < net->nr_pairs; i++) {
		vnet_tx_fini(&net->pairs[i].tx);
		vnet_rx_fini(&net->pairs[i].rx);
	}
	free(net->pairs);
	net->pairs = NULL;
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
	net->nr_pairs = net->cur_pairs = 1;
	net->poll_ns = conf->poll_us * 1000;
	net->coalesce_ns = conf->coalesce_us * 1000;
	if (conf->nr_pairs > 1)
		net->nr_pairs = conf->nr_pairs;
	pthread_mutex_init(&net->filter_lock, NULL);
	log_ctx_init(&log, conf->domid, name);
	rc = vnet_tap_open(&net->tap, conf, &log);
	if (rc)
		goto err_free;
	memcpy(net->mac_default, conf->mac, sizeof(net->mac_default));
	memcpy(net->mac, conf->mac, sizeof(net->mac));
	net->mtu = vnet_mtu(&net->tap);
	net->link_up = true;
	vnet_filter_reset(&net->filter);

	net->pairs = calloc(net->nr_pairs, sizeof(*net->pairs));
	if (!net->pairs) {
		rc = -ENOMEM;
		goto err_tap;
	}
	rc = vdev_init(&net->vdev, &vnet_ops, gm, 2 * net->nr_pairs + 1, qsize,
		       VNET_CFG_SIZE, vnet_features(conf));
	if (rc)
		goto err_tap;
	net->vdev.log = log;
	rc = vnet_queues_init(net, qsize, conf->loops);
	if (rc)
		goto err_vdev;
	net->tap.own_fd = true; /* an adopted descriptor is ours from here */
	*out = net;
	return 0;

err_vdev:
	vdev_destroy(&net->vdev);
err_tap:
	vnet_pairs_fini(net);
	vnet_tap_close(&net->tap, &log); /* an adopted fd stays the caller's */
err_free:
	pthread_mutex_destroy(&net->filter_lock);
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
#define VNET_ADD(f) st->f += __atomic_load_n(&p->f, __ATOMIC_RELAXED)
	*st = net->stats;
	for (unsigned int i = 0; i < net->nr_pairs; i++) {
		const struct vnet_stats *p = &net->pairs[i].stats;

		VNET_ADD(tx_packets);
		VNET_ADD(tx_bytes);
		VNET_ADD(tx_dropped);
		VNET_ADD(tx_errors);
		VNET_ADD(rx_packets);
		VNET_ADD(rx_bytes);
		VNET_ADD(rx_dropped);
		VNET_ADD(rx_filtered);
		VNET_ADD(rx_errors);
		VNET_ADD(rx_bad_bufs);
		VNET_ADD(rx_polls);
		VNET_ADD(rx_starved);
	}
#undef VNET_ADD
}

/* One line of counters when the device goes, for logs and tests. */
static void vnet_log_stats(const struct vnet *net)
{
	struct vnet_stats st;
	const struct vnet_stats *s = &st;

	vnet_get_stats(net, &st);
	log_info(
		&net->vdev.log,
		"%s: TX %llu frames %llu bytes (%llu dropped, %llu errors), RX %llu frames %llu bytes (%llu dropped, %llu filtered, %llu errors; %llu waits for a frame, %llu for buffers), %llu control commands (%llu refused)%s",
		net->tap.ifname, (unsigned long long)s->tx_packets,
		(unsigned long long)s->tx_bytes,
		(unsigned long long)s->tx_dropped,
		(unsigned long long)s->tx_errors,
		(unsigned long long)s->rx_packets,
		(unsigned long long)s->rx_bytes,
		(unsigned long long)s->rx_dropped,
		(unsigned long long)s->rx_filtered,
		(unsigned long long)s->rx_errors,
		(unsigned long long)s->rx_polls,
		(unsigned long long)s->rx_starved,
		(unsigned long long)s->ctrl_cmds,
		(unsigned long long)s->ctrl_errs,
		net->tap_lost ? ", TAP lost" : "");
}

/* One pair's queues and their I/O, on the pair's thread. */
static void pair_log_state(void *arg)
{
	struct vnet_pair *p = arg;
	const struct vnet_rx *rx = &p->rx;
	const struct vnet_tx *tx = &p->tx;
	const struct log_ctx *log = &rx->net->vdev.log;

	vq_log_state(rx->vq);
	log_info(
		log,
		"vq%u receive: %u chains held (%llu bytes of room), %u ops in flight%s%s%s%s",
		rx->vq->index, rx->count, (unsigned long long)rx->room,
		rx->nr_ops, rx->reading ? ", reading the TAP" : "",
		rx->polling ? ", waiting for a frame" : "",
		rx->paused ? ", paused" : "", rx->disabled ? ", off" : "");
	vq_log_state(tx->vq);
	log_info(log,
		 "vq%u transmit: %u frames popped, %u ops in flight%s%s%s%s",
		 tx->vq->index, tx->count, tx->nr_ops + tx->run.nr_ops,
		 tx->wait ? ", frames waiting for room" : "",
		 tx->polling ? ", waiting for TAP room" : "",
		 tx->run.look_busy ? ", a look-again timer armed" : "",
		 tx->disabled ? ", off" : "");
}

void vnet_log_state(struct vnet *net)
{
	unsigned int on = 0;

	for (unsigned int i = 0; i < net->nr_pairs; i++)
		on += net->pairs[i].enabled;
	vdev_log_state(&net->vdev);
	vnet_log_stats(net);
	log_info(&net->vdev.log, "link %s, %u of %u pair(s) in use",
		 vnet_link_up(net) ? "up" : "down", on, net->nr_pairs);
	for (unsigned int i = 0; i < net->nr_pairs; i++)
		if (net->pairs[i].enabled)
			evl_call(net->pairs[i].loop, pair_log_state,
				 &net->pairs[i]);
	if (net->ctrl.vq)
		vq_log_state(net->ctrl.vq);
}

void vnet_destroy(struct vnet *net)
{
	bool held = false;

	if (!net)
		return;
	/* Resets the device: reads, writes and polls cancelled and reaped. */
	vdev_destroy(&net->vdev);
	vnet_log_stats(net);
	for (unsigned int i = 0; i < net->nr_pairs; i++)
		held |= net->pairs[i].rx.nr_ops || net->pairs[i].tx.nr_ops ||
			net->pairs[i].tx.run.nr_ops;
	if (held || net->ctrl.run.nr_ops) {
		/* The ring failed with I/O in flight: freeing would be UAF. */
		log_err(&net->vdev.log, "I/O still in flight; device leaked");
		return;
	}
	vnet_pairs_fini(net);
	vnet_tap_close(&net->tap, &net->vdev.log);
	pthread_mutex_destroy(&net->filter_lock);
	free(net);
}
