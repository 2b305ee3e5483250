// SPDX-License-Identifier: MIT
/*
 * The virtio-blk device: features and config space derived from the backing
 * store, the guest-writable writeback byte, and the ops the transport calls.
 */
#define LOG_MOD "vblk"

#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <linux/virtio_ids.h>

#include "vblk.h"

/* Config space up to the secure-erase fields, which are not offered. */
#define VBLK_CFG_SIZE \
	offsetof(struct virtio_blk_config, max_secure_erase_sectors)
#define VBLK_WCE_OFF offsetof(struct virtio_blk_config, wce)

#define F(bit) (1ULL << (bit))

bool vblk_writethrough(const struct vblk *blk)
{
	const struct vdev *vdev = &blk->vdev;

	/* Without FLUSH the guest has no way to ask for durability later. */
	if (!vdev_has(vdev, VIRTIO_BLK_F_FLUSH))
		return true;
	return vdev_has(vdev, VIRTIO_BLK_F_CONFIG_WCE) && !READ_ONCE(blk->wce);
}

static unsigned int vblk_log2(uint32_t v)
{
	unsigned int n = 0;

	while (v > 1) {
		v >>= 1;
		n++;
	}
	return n;
}

static uint64_t vblk_features(const struct vblk_store *st)
{
	uint64_t f = F(VIRTIO_BLK_F_SIZE_MAX) | F(VIRTIO_BLK_F_SEG_MAX) |
		     F(VIRTIO_BLK_F_BLK_SIZE) | F(VIRTIO_BLK_F_TOPOLOGY) |
		     F(VIRTIO_BLK_F_FLUSH) | F(VIRTIO_BLK_F_CONFIG_WCE);

	if (st->readonly)
		f |= F(VIRTIO_BLK_F_RO);
	if (st->can_discard)
		f |= F(VIRTIO_BLK_F_DISCARD);
	if (st->can_zero)
		f |= F(VIRTIO_BLK_F_WRITE_ZEROES);
	return f;
}

/* The device's features: the store's, and MQ when there are queues. */
static uint64_t vblk_dev_features(const struct vblk *blk)
{
	uint64_t f = vblk_features(&blk->store);

	if (blk->nr_queues > 1)
		f |= F(VIRTIO_BLK_F_MQ);
	return f;
}

/* Fills the little-endian config image once; only wce changes later. */
static void vblk_build_config(struct vblk *blk)
{
	const struct vblk_store *st = &blk->store;
	struct virtio_blk_config *c = &blk->cfg;
	uint32_t io_min = st->io_min / st->lbs;

	memset(c, 0, sizeof(*c));
	c->capacity = htole64(blk->capacity);
	c->size_max = htole32(VBLK_SIZE_MAX);
	c->seg_max = htole32(VBLK_SEG_MAX);
	c->blk_size = htole32(st->lbs);
	c->physical_block_exp = vblk_log2(st->pbs / st->lbs);
	c->alignment_offset = st->align_off / st->lbs;
	c->min_io_size = htole16(io_min > 0xffff ? 0xffff : io_min);
	c->opt_io_size = htole32(st->io_opt / st->lbs);
	c->num_queues = htole16(blk->nr_queues);
	if (st->can_discard) {
		c->max_discard_sectors = htole32(VBLK_MAX_DWZ_SECTORS);
		c->max_discard_seg = htole32(VBLK_MAX_DISCARD_SEG);
		c->discard_sector_alignment = htole32(st->pbs / VBLK_SECTOR);
	}
	if (st->can_zero) {
		c->max_write_zeroes_sectors = htole32(VBLK_MAX_DWZ_SECTORS);
		c->max_write_zeroes_seg = htole32(VBLK_MAX_WZ_SEG);
		c->write_zeroes_may_unmap = 1;
	}
}

static void vblk_cfg_read(struct vdev *vdev, unsigned int off, void *buf,
			  unsigned int len)
{
	struct vblk *blk = vblk_from_vdev(vdev);
	struct virtio_blk_config c = blk->cfg;

	/* The transport checked against VBLK_CFG_SIZE; this is belt and braces. */
	if (off > sizeof(c) || len > sizeof(c) - off) {
		memset(buf, 0, len);
		return;
	}
	c.wce = READ_ONCE(blk->wce);
	memcpy(buf, (const uint8_t *)&c + off, len);
}

/* Only the writeback byte is writable, and only to a mode we can honour. */
static int vblk_cfg_write(struct vdev *vdev, unsigned int off, const void *buf,
			  unsigned int len)
{
	struct vblk *blk = vblk_from_vdev(vdev);
	uint8_t v = *(const uint8_t *)buf;

	if (off != VBLK_WCE_OFF || len != 1)
		return -EPERM;
	/* Rejects values other than write-through (0) and write-back (1). */
	if (v > 1)
		return -EINVAL;
	/* Once features are final: needs CONFIG_WCE, and FLUSH for write-back. */
	if ((vdev_status(vdev) & VIRTIO_CONFIG_S_FEATURES_OK) &&
	    (!vdev_has(vdev, VIRTIO_BLK_F_CONFIG_WCE) ||
	     (v && !vdev_has(vdev, VIRTIO_BLK_F_FLUSH))))
		return -EPERM;
	WRITE_ONCE(blk->wce, v);
	return 0;
}

static int vblk_features_ok(struct vdev *vdev, uint64_t features)
{
	struct vblk *blk = vblk_from_vdev(vdev);

	/* virtio 1.2, 5.2.5.2: CONFIG_WCE without FLUSH starts write-through. */
	if ((features & F(VIRTIO_BLK_F_CONFIG_WCE)) &&
	    !(features & F(VIRTIO_BLK_F_FLUSH)))
		WRITE_ONCE(blk->wce, 0);
	return 0;
}

/* On a remote queue's thread: the kick the device's thread posted. */
static void vblk_kick_msg(struct evl_msg *m)
{
	vblk_queue_kick(container_of(m, struct vblk_queue, kick_msg));
}

static void vblk_kick(struct vdev *vdev, struct vq *vq)
{
	struct vblk *blk = vblk_from_vdev(vdev);
	struct vblk_queue *q = vq->priv;

	/* A kick that arrives while a reset runs the loop waits for DRIVER_OK. */
	if (blk->resetting || !q)
		return;
	if (q->remote)
		evl_post(q->loop, &q->kick_msg, vblk_kick_msg);
	else
		vblk_queue_kick(q);
}

static void vblk_stop_call(void *arg)
{
	vblk_queue_stop(arg);
}

/*
 * Stops every queue on its own thread (evl_call: a plain call for the
 * queues on ours); on another thread a kick posted before runs first
 * (messages keep their order), so none is left to run after.
 */
static void vblk_reset(struct vdev *vdev)
{
	struct vblk *blk = vblk_from_vdev(vdev);
	unsigned int i;

	/* Re-entered from a callback while this reset runs the loop: no-op. */
	if (blk->resetting)
		return;
	blk->resetting = true;
	for (i = 0; blk->queues && i < blk->nr_queues; i++)
		evl_call(blk->queues[i].loop, vblk_stop_call, &blk->queues[i]);
	WRITE_ONCE(blk->wce, blk->wce_default);
	blk->resetting = false;
}

static const struct vdev_ops vblk_ops = {
	.name = "vblk",
	.device_id = VIRTIO_ID_BLOCK,
	.cfg_read = vblk_cfg_read,
	.cfg_write = vblk_cfg_write,
	.features_ok = vblk_features_ok,
	.kick = vblk_kick,
	.reset = vblk_reset,
};

static int vblk_conf_check(const struct vblk_conf *conf, const struct gmem *gm,
			   const struct evl *loop, uint16_t qsize)
{
	if (!conf || !conf->path || !gm || !gm->ops || !loop)
		return -EINVAL;
	if (conf->nr_queues > VBLK_MAX_QUEUES ||
	    conf->poll_us > VBLK_MAX_POLL_US ||
	    conf->coalesce_us > VBLK_MAX_COALESCE_US)
		return -EINVAL;
	if (!qsize || qsize > VBLK_QUEUE_MAX || (qsize & (qsize - 1)))
		return -EINVAL;
	return 0;
}

static int vblk_queues_init(struct vblk *blk, struct evl *loop,
			    struct evl *const *loops, uint16_t qsize)
{
	struct evl *ql;
	unsigned int i;
	int rc;

	blk->queues = calloc(blk->nr_queues, sizeof(*blk->queues));
	if (!blk->queues)
		return -ENOMEM;
	for (i = 0; i < blk->nr_queues; i++) {
		ql = loops && loops[i] ? loops[i] : loop;
		rc = vblk_queue_init(&blk->queues[i], blk, &blk->vdev.vqs[i],
				     ql, qsize);
		if (rc)
			return rc; /* the caller's unwind frees what was built */
		blk->queues[i].remote = ql != loop;
		blk->vdev.vqs[i].priv = &blk->queues[i];
	}
	return 0;
}

int vblk_create(struct vblk **out, const struct vblk_conf *conf,
		const struct gmem *gm, struct evl *loop)
{
	uint16_t qsize = conf && conf->queue_size ? conf->queue_size :
						    VBLK_DEFAULT_QUEUE;
	const char *name = conf && conf->name ? conf->name : "vblk";
	struct log_ctx log;
	struct vblk *blk;
	int rc;

	*out = NULL;
	rc = vblk_conf_check(conf, gm, loop, qsize);
	if (rc)
		return rc;
	blk = calloc(1, sizeof(*blk));
	if (!blk)
		return -ENOMEM;
	log_ctx_init(&log, conf->domid, name);
	rc = vblk_store_open(&blk->store, conf, &log);
	if (rc)
		goto err_free;

	blk->nr_queues = conf->nr_queues ? conf->nr_queues : 1;
	blk->capacity = blk->store.size / VBLK_SECTOR;
	blk->wce_default = conf->writethrough ? 0 : 1;
	blk->wce = blk->wce_default;
	blk->poll_ns = conf->poll_us * 1000;
	blk->coalesce_ns = conf->coalesce_us * 1000;
	if (conf->serial)
		memcpy(blk->serial, conf->serial,
		       strnlen(conf->serial, sizeof(blk->serial)));
	vblk_build_config(blk);

	rc = vdev_init(&blk->vdev, &vblk_ops, gm, blk->nr_queues, qsize,
		       VBLK_CFG_SIZE, vblk_dev_features(blk));
	if (rc)
		goto err_store;
	blk->vdev.log = log;
	rc = vblk_queues_init(blk, loop, conf->loops, qsize);
	if (rc)
		goto err_vdev;
	*out = blk;
	return 0;

err_vdev:
	vdev_destroy(&blk->vdev);
	if (blk->queues) {
		for (unsigned int i = 0; i < blk->nr_queues; i++)
			vblk_queue_fini(&blk->queues[i]);
	}
	free(blk->queues);
err_store:
	vblk_store_close(&blk->store);
err_free:
	free(blk);
	return rc;
}

int vblk_resize(struct vblk *blk)
{
	uint64_t size, cap, old = blk->capacity;
	int rc = vblk_store_size(&blk->store, &size);

	if (rc) {
		log_err(&blk->vdev.log, "size of the store: %s", strerror(-rc));
		return rc;
	}
	cap = size / VBLK_SECTOR;
	if (cap == old)
		return 0;
	blk->store.size = size;
	WRITE_ONCE(blk->capacity, cap);
	blk->cfg.capacity = htole64(cap);
	log_info(&blk->vdev.log, "capacity %llu -> %llu sectors%s",
		 (unsigned long long)old, (unsigned long long)cap,
		 cap < old ? ": requests past the new end fail" : "");
	/* The driver learns it from the config interrupt once it is up. */
	if (vdev_status(&blk->vdev) & VIRTIO_CONFIG_S_DRIVER_OK)
		vdev_config_changed(&blk->vdev);
	else
		__atomic_fetch_add(&blk->vdev.config_gen, 1, __ATOMIC_RELEASE);
	return 1;
}

/* One queue's ring and its I/O, on the queue's thread. */
static void vblk_queue_log_state(void *arg)
{
	struct vblk_queue *q = arg;

	vq_log_state(q->vq);
	log_info(&q->blk->vdev.log,
		 "vq%u: %u requests active, %u ops in flight%s%s%s%s",
		 q->vq->index, q->nr_active, q->nr_ops + q->run.nr_ops,
		 q->backlog ? ", requests waiting for an SQE" : "",
		 q->flush_wait ? ", a FLUSH waiting for writes" : "",
		 q->run.kicks_off ? ", polling (kicks off)" : "",
		 q->run.look_busy ? ", a look-again timer armed" : "");
}

void vblk_log_state(struct vblk *blk)
{
	vdev_log_state(&blk->vdev);
	log_info(&blk->vdev.log, "capacity %llu sectors%s",
		 (unsigned long long)READ_ONCE(blk->capacity),
		 blk->store.readonly ? ", read-only" : "");
	for (unsigned int i = 0; blk->queues && i < blk->nr_queues; i++)
		evl_call(blk->queues[i].loop, vblk_queue_log_state,
			 &blk->queues[i]);
}

struct vdev *vblk_vdev(struct vblk *blk)
{
	return &blk->vdev;
}

int vblk_store_fd(struct vblk *blk)
{
	return blk->store.fd;
}

void vblk_destroy(struct vblk *blk)
{
	bool held = false;
	unsigned int i;

	if (!blk)
		return;
	/* Resets the device: every request cancelled, reaped and released. */
	vdev_destroy(&blk->vdev);
	for (i = 0; i < blk->nr_queues; i++)
		held |= blk->queues[i].nr_ops + blk->queues[i].run.nr_ops != 0;
	if (held) {
		/* The ring failed with I/O in flight: freeing would be a UAF. */
		log_err(&blk->vdev.log, "I/O still in flight; device leaked");
		return;
	}
	for (i = 0; i < blk->nr_queues; i++)
		vblk_queue_fini(&blk->queues[i]);
	free(blk->queues);
	vblk_store_close(&blk->store);
	free(blk);
}
