// SPDX-License-Identifier: MIT
/*
 * The simulated guest's virtio-blk driver, on top of the test ring driver
 * (guest/gdrv) with its registers reached through simulated MMIO.
 */
#include <endian.h>
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <linux/virtio_blk.h>
#include <linux/virtio_config.h>
#include <linux/virtio_mmio.h>

#include "blkdrv.h"
#include "hang.h"

#define QUEUE_SIZE 256
#define MAX_DATA_SEGS 128 /* data descriptors one request may carry */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + ts.tv_nsec;
}

static uint32_t cfg32(struct blkdrv *b, unsigned int off)
{
	return (uint32_t)gdrv_read(&b->drv, VIRTIO_MMIO_CONFIG + off, 4);
}

/* Everything a Linux guest would accept of what the device offers. */
#define WANT                                                                   \
	((1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_ACCESS_PLATFORM) |   \
	 (1ULL << VIRTIO_RING_F_INDIRECT_DESC) |                               \
	 (1ULL << VIRTIO_RING_F_EVENT_IDX) | (1ULL << VIRTIO_BLK_F_SIZE_MAX) | \
	 (1ULL << VIRTIO_BLK_F_SEG_MAX) | (1ULL << VIRTIO_BLK_F_RO) |          \
	 (1ULL << VIRTIO_BLK_F_BLK_SIZE) | (1ULL << VIRTIO_BLK_F_FLUSH) |      \
	 (1ULL << VIRTIO_BLK_F_TOPOLOGY) | (1ULL << VIRTIO_BLK_F_CONFIG_WCE) | \
	 (1ULL << VIRTIO_BLK_F_DISCARD) | (1ULL << VIRTIO_BLK_F_WRITE_ZEROES))

/*
 * Data descriptors as Linux cuts them: at most size_max bytes each (when
 * offered) and at most seg_max of them; @max_len must fit.
 */
static int blkdrv_segments(struct blkdrv *b, uint32_t max_len)
{
	uint32_t size_max = 0, n;

	b->seg_max = MAX_DATA_SEGS;
	if (b->features & (1ULL << VIRTIO_BLK_F_SIZE_MAX))
		size_max =
			cfg32(b, offsetof(struct virtio_blk_config, size_max));
	if (b->features & (1ULL << VIRTIO_BLK_F_SEG_MAX)) {
		n = cfg32(b, offsetof(struct virtio_blk_config, seg_max));
		if (n && n < b->seg_max)
			b->seg_max = n;
	}
	b->seg_len = size_max && size_max < max_len ? size_max : max_len;
	if (!b->seg_len || (max_len + b->seg_len - 1) / b->seg_len > b->seg_max)
		return -EINVAL;
	return 0;
}

/* Request slots in guest RAM: @qd of them, at most what the ring holds. */
static int blkdrv_slots(struct blkdrv *b, unsigned int qd, uint32_t max_len)
{
	struct fakeguest *fg = b->fg;
	unsigned int i, chain;

	/* Direct chains take header, segments and status: fewer slots then. */
	chain = b->indirect ? 1 : 2 + (max_len + b->seg_len - 1) / b->seg_len;
	if (!qd || qd > QUEUE_SIZE / chain)
		qd = QUEUE_SIZE / chain;
	b->qd = qd;
	b->max_len = max_len;
	b->slots = calloc(qd, sizeof(*b->slots));
	b->slot_of = calloc(QUEUE_SIZE, sizeof(*b->slot_of));
	b->free_slots = calloc(qd, sizeof(*b->free_slots));
	if (!b->slots || !b->slot_of || !b->free_slots)
		return -ENOMEM;
	for (i = 0; i < qd; i++)
		b->free_slots[i] = qd - 1 - i; /* slot 0 first */
	b->nr_free = qd;
	for (i = 0; i < qd; i++) {
		struct blkreq *r = &b->slots[i];

		r->hdr_gpa = fg_alloc(fg, 16, 16);
		r->status_gpa = fg_alloc(fg, 1, 1);
		r->data_gpa = fg_alloc(fg, max_len, 4096);
		if (!r->hdr_gpa || !r->status_gpa || !r->data_gpa)
			return -ENOMEM;
	}
	return 0;
}

/* Queues the device offers: num_queues with MQ, else one. */
static unsigned int blkdrv_dev_queues(struct blkdrv *b)
{
	uint16_t n;

	if (!(gdrv_device_features(&b->drv) & (1ULL << VIRTIO_BLK_F_MQ)))
		return 1;
	n = (uint16_t)gdrv_read(&b->drv,
				VIRTIO_MMIO_CONFIG +
					offsetof(struct virtio_blk_config,
						 num_queues),
				2);
	return n ? n : 1;
}

int blkdrv_up_mq(struct blkdrv *b, struct xsim *sim, uint32_t domid,
		 unsigned int vcpu, uint64_t base, unsigned int spi,
		 struct fakeguest *fg, unsigned int qd, uint32_t max_len,
		 unsigned int nq)
{
	uint64_t want = WANT;
	unsigned int offered;
	int rc;

	memset(b, 0, sizeof(*b));
	b->sim = sim;
	b->domid = domid;
	b->vcpu = vcpu;
	b->base = base;
	b->spi = spi;
	b->fg = fg;
	simbus_init(&b->sb, sim, domid, vcpu, base);
	gdrv_init_bus(&b->drv, &b->sb.bus, fg);
	offered = blkdrv_dev_queues(b);
	if (nq > offered)
		nq = offered;
	if (nq > GDRV_MAX_VQS)
		nq = GDRV_MAX_VQS;
	if (nq > 1)
		want |= 1ULL << VIRTIO_BLK_F_MQ;
	else
		nq = 1;
	rc = gdrv_up(&b->drv, want, nq, QUEUE_SIZE);
	if (rc)
		return b->sb.err ? b->sb.err : rc;
	b->nr_queues = nq;
	if (nq > 1) {
		b->irq = calloc(1, sizeof(*b->irq));
		if (!b->irq)
			return -ENOMEM;
		pthread_mutex_init(&b->irq->lock, NULL);
		pthread_cond_init(&b->irq->cond, NULL);
	}
	b->features = b->drv.features;
	b->indirect = b->features & (1ULL << VIRTIO_RING_F_INDIRECT_DESC);
	b->capacity = cfg32(b, 0) | (uint64_t)cfg32(b, 4) << 32;
	rc = blkdrv_segments(b, max_len);
	if (rc)
		return rc;
	rc = blkdrv_slots(b, qd, max_len);
	return rc ? rc : b->sb.err;
}

int blkdrv_up(struct blkdrv *b, struct xsim *sim, uint32_t domid,
	      unsigned int vcpu, uint64_t base, unsigned int spi,
	      struct fakeguest *fg, unsigned int qd, uint32_t max_len)
{
	return blkdrv_up_mq(b, sim, domid, vcpu, base, spi, fg, qd, max_len, 1);
}

int blkdrv_attach(struct blkdrv *b, struct blkdrv *owner, unsigned int q,
		  unsigned int vcpu, unsigned int qd)
{
	if (q == 0 || q >= owner->nr_queues)
		return -EINVAL;
	memset(b, 0, sizeof(*b));
	b->sim = owner->sim;
	b->domid = owner->domid;
	b->vcpu = vcpu;
	b->base = owner->base;
	b->spi = owner->spi;
	b->fg = owner->fg;
	simbus_init(&b->sb, b->sim, b->domid, vcpu, b->base);
	/* The ring state of queue q is this driver's alone from now on. */
	b->drv = owner->drv;
	b->drv.bus = &b->sb.bus;
	b->drv.nr_notifies = b->drv.nr_irqs = 0;
	b->q = q;
	b->nr_queues = owner->nr_queues;
	b->attached = true;
	b->irq = owner->irq;
	b->features = owner->features;
	b->indirect = owner->indirect;
	b->capacity = owner->capacity;
	b->seg_len = owner->seg_len;
	b->seg_max = owner->seg_max;
	memcpy(b->serial, owner->serial, sizeof(b->serial));
	return blkdrv_slots(b, qd, owner->max_len);
}

void blkdrv_cleanup(struct blkdrv *b)
{
	if (!b->sb.err)
		b->sb.err = -ECANCELED; /* no reset: nothing on the bus */
	blkdrv_down(b);
}

void blkdrv_down(struct blkdrv *b)
{
	if (b->attached) {
		memset(&b->drv, 0, sizeof(b->drv)); /* the owner's to free */
	} else {
		if (!b->sb.err)
			gdrv_reset(&b->drv);
		gdrv_fini(&b->drv);
		if (b->irq) {
			pthread_mutex_destroy(&b->irq->lock);
			pthread_cond_destroy(&b->irq->cond);
			free(b->irq);
		}
	}
	b->irq = NULL;
	free(b->slots);
	free(b->slot_of);
	free(b->free_slots);
	free(b->lat_ns);
	b->slots = NULL;
	b->slot_of = NULL;
	b->free_slots = NULL;
	b->lat_ns = NULL;
}

struct blkreq *blkdrv_queue(struct blkdrv *b, uint32_t type, uint64_t sector,
			    uint32_t len, uint32_t seed)
{
	struct virtio_blk_outhdr hdr = {
		.type = htole32(type),
		.sector = htole64(sector),
	};
	struct gdrv_buf bufs[2 + MAX_DATA_SEGS];
	struct blkreq *r;
	unsigned int n = 0;
	uint8_t unset = 0xff;
	uint32_t done, part;
	int head;

	if (!b->nr_free || len > b->max_len)
		return NULL;
	r = &b->slots[b->free_slots[b->nr_free - 1]];
	fg_write(b->fg, r->hdr_gpa, &hdr, sizeof(hdr));
	fg_write(b->fg, r->status_gpa, &unset, 1);
	bufs[n++] = (struct gdrv_buf){ r->hdr_gpa, sizeof(hdr), false };
	if (type == VIRTIO_BLK_T_DISCARD || type == VIRTIO_BLK_T_WRITE_ZEROES) {
		struct virtio_blk_discard_write_zeroes seg = {
			.sector = htole64(sector),
			.num_sectors = htole32(len),
		};

		fg_write(b->fg, r->data_gpa, &seg, sizeof(seg));
		bufs[n++] =
			(struct gdrv_buf){ r->data_gpa, sizeof(seg), false };
	} else if (len) {
		bool in = type == VIRTIO_BLK_T_IN ||
			  type == VIRTIO_BLK_T_GET_ID;

		if (type == VIRTIO_BLK_T_OUT && !b->no_fill)
			fg_fill(b->fg, r->data_gpa, len, seed);
		for (done = 0; done < len; done += part) {
			part = len - done < b->seg_len ? len - done :
							 b->seg_len;
			bufs[n++] = (struct gdrv_buf){ r->data_gpa + done, part,
						       in };
		}
	}
	bufs[n++] = (struct gdrv_buf){ r->status_gpa, 1, true };
	head = gdrv_add(&b->drv, b->q, bufs, n,
			b->indirect ? GDRV_INDIRECT : 0);
	if (head < 0)
		return NULL;
	r->type = type;
	r->sector = sector;
	r->len = len;
	r->seed = seed;
	r->busy = true;
	r->t_submit_ns = now_ns();
	b->slot_of[head] = r - b->slots;
	b->nr_free--;
	b->inflight++;
	return r;
}

void blkdrv_kick(struct blkdrv *b)
{
	gdrv_kick(&b->drv, b->q);
}

/*
 * Several queues, one line: the first thread to need it waits for the
 * interrupt and acknowledges it, then wakes every other to look at its ring
 * (a timed-out wait wakes them too). @gen is irq->gen from before the
 * caller last looked at its ring: an interrupt handled since may have been
 * for it. Returns 0, -ETIMEDOUT or -errno.
 */
static int blkdrv_irq_shared(struct blkdrv *b, int timeout_ms, uint64_t gen)
{
	struct blkirq *irq = b->irq;
	struct timespec dl;
	uint64_t t0;
	int rc = 0;

	pthread_mutex_lock(&irq->lock);
	/* Handled since the caller looked at its ring: look again. */
	if (irq->gen != gen) {
		pthread_mutex_unlock(&irq->lock);
		return 0;
	}
	if (irq->waiting) {
		clock_gettime(CLOCK_REALTIME, &dl);
		dl.tv_sec += timeout_ms / 1000;
		dl.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
		if (dl.tv_nsec >= 1000000000) {
			dl.tv_sec++;
			dl.tv_nsec -= 1000000000;
		}
		while (irq->gen == gen && !rc)
			rc = pthread_cond_timedwait(&irq->cond, &irq->lock,
						    &dl);
		pthread_mutex_unlock(&irq->lock);
		return rc == ETIMEDOUT ? -ETIMEDOUT : 0;
	}
	irq->waiting = true;
	pthread_mutex_unlock(&irq->lock);
	t0 = now_ns();
	rc = xsim_irq_wait(b->sim, b->domid, b->spi, timeout_ms);
	b->irq_wait_ns += now_ns() - t0;
	if (!rc) {
		b->nr_irqs++;
		gdrv_ack_irq(&b->drv);
	}
	pthread_mutex_lock(&irq->lock);
	irq->waiting = false;
	__atomic_store_n(&irq->gen, irq->gen + 1, __ATOMIC_RELEASE);
	pthread_cond_broadcast(&irq->cond);
	pthread_mutex_unlock(&irq->lock);
	return rc;
}

/* Latency of a data request (IN/OUT), from queueing to collection. */
static void record(struct blkdrv *b, struct blkreq *r)
{
	uint64_t lat = now_ns() - r->t_submit_ns;

	if (r->type != VIRTIO_BLK_T_IN && r->type != VIRTIO_BLK_T_OUT)
		return;
	b->lat_sum_ns += lat;
	if (b->nr_lat == b->lat_cap) {
		uint64_t cap = b->lat_cap ? 2 * b->lat_cap : 4096;
		uint64_t *p = realloc(b->lat_ns, cap * sizeof(*p));

		if (!p)
			return;
		b->lat_ns = p;
		b->lat_cap = cap;
	}
	b->lat_ns[b->nr_lat++] = lat;
}

int blkdrv_reap(struct blkdrv *b, int timeout_ms,
		void (*done)(struct blkdrv *b, struct blkreq *r, void *arg),
		void *arg)
{
	uint64_t t0, gen = 0;
	uint16_t head;
	uint32_t len;
	int n = 0, rc;

	for (;;) {
		if (b->irq)
			gen = __atomic_load_n(&b->irq->gen, __ATOMIC_ACQUIRE);
		while ((rc = gdrv_get_used(&b->drv, b->q, &head, &len)) == 1) {
			struct blkreq *r = &b->slots[b->slot_of[head]];

			fg_read(b->fg, r->status_gpa, &r->status, 1);
			r->busy = false;
			b->free_slots[b->nr_free++] = r - b->slots;
			b->inflight--;
			b->nr_reqs++;
			if (r->type == VIRTIO_BLK_T_IN ||
			    r->type == VIRTIO_BLK_T_OUT)
				b->nr_bytes += r->len;
			if (r->status != VIRTIO_BLK_S_OK)
				b->nr_errors++;
			record(b, r);
			if (done)
				done(b, r, arg);
			n++;
		}
		if (rc < 0)
			return rc;
		if (n)
			return n;
		if (b->sb.err)
			return b->sb.err;
		if (b->irq) {
			rc = blkdrv_irq_shared(b, timeout_ms, gen);
			if (rc == -ETIMEDOUT)
				return 0;
			if (rc)
				return rc;
			continue;
		}
		t0 = now_ns();
		rc = xsim_irq_wait(b->sim, b->domid, b->spi, timeout_ms);
		b->irq_wait_ns += now_ns() - t0;
		if (rc == -ETIMEDOUT)
			return 0;
		if (rc)
			return rc;
		b->nr_irqs++;
		gdrv_ack_irq(&b->drv); /* read InterruptStatus, ACK it */
	}
}

int blkdrv_sync(struct blkdrv *b, uint32_t type, uint64_t sector, uint32_t len,
		uint32_t seed, struct blkreq **out)
{
	struct blkreq *r = blkdrv_queue(b, type, sector, len, seed);
	int rc;

	if (!r)
		return -ENOSPC;
	blkdrv_kick(b);
	while (r->busy) {
		rc = blkdrv_reap(b, (int)t_hang_ms(), NULL, NULL);
		if (rc <= 0)
			return rc ? rc : -ETIMEDOUT;
	}
	if (out)
		*out = r;
	return r->status;
}

bool blkdrv_data_is(struct blkdrv *b, const struct blkreq *r, uint32_t seed)
{
	return fg_check(b->fg, r->data_gpa, r->len, seed);
}

bool blkdrv_needs_reset(struct blkdrv *b)
{
	return gdrv_r32(&b->drv, VIRTIO_MMIO_STATUS) &
	       VIRTIO_CONFIG_S_NEEDS_RESET;
}
