// SPDX-License-Identifier: MIT
/*
 * The split virtqueue. Every descriptor and ring index is read from guest
 * memory once, into a local, checked, and used only from there; every walk
 * is bounded; every protocol violation marks the device NEEDS_RESET.
 */
#define LOG_MOD "vq"

#include <endian.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/compiler.h"
#include "virtio/vdev.h"
#include "virtio/vq.h"

#define vq_bad(vq, fmt, ...) \
	vdev_fail((vq)->vdev, "vq%u: " fmt, (vq)->index, ##__VA_ARGS__)

/* A descriptor in host byte order, private to the walker. */
struct vq_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

/* Split-ring sizes (virtio 1.2, 2.7), event fields included. */
static size_t desc_size(uint16_t num)
{
	return 16 * (size_t)num;
}

static size_t avail_size(uint16_t num)
{
	return 6 + 2 * (size_t)num;
}

static size_t used_size(uint16_t num)
{
	return 6 + 8 * (size_t)num;
}

/* True if [a, a + alen) and [b, b + blen) overlap; callers ruled out wraps. */
static bool ranges_overlap(uint64_t a, size_t alen, uint64_t b, size_t blen)
{
	return a < b + blen && b < a + alen;
}

static bool range_wraps(uint64_t gpa, size_t len)
{
	return gpa + (len - 1) < gpa;
}

static void vq_unmap_rings(struct vq *vq)
{
	const struct gmem *gm = &vq->vdev->gmem;

	if (vq->desc)
		gmem_unmap(gm, vq->desc, vq->desc_len);
	if (vq->avail)
		gmem_unmap(gm, vq->avail, vq->avail_len);
	if (vq->used)
		gmem_unmap(gm, vq->used, vq->used_len);
	vq->desc = NULL;
	vq->avail = NULL;
	vq->used = NULL;
	free(vq->ind_buf);
	vq->ind_buf = NULL;
}

/* Checks the registers the driver wrote; -EINVAL says why in the log. */
static int vq_check_layout(struct vq *vq, uint16_t max)
{
	struct vdev *vdev = vq->vdev;
	uint16_t num = vq->num;

	/* Rejects a size of 0, above QueueNumMax, or not a power of two. */
	if (!num || num > max || (num & (num - 1))) {
		log_guest(&vdev->log, "vq%u: bad queue size %u (max %u)",
			  vq->index, num, max);
		return -EINVAL;
	}
	/* Rejects rings not aligned as the spec requires (16, 2, 4). */
	if ((vq->desc_gpa & 15) || (vq->avail_gpa & 1) || (vq->used_gpa & 3)) {
		log_guest(&vdev->log, "vq%u: rings misaligned", vq->index);
		return -EINVAL;
	}
	/* Rejects rings that wrap the address space or overlap each other. */
	if (range_wraps(vq->desc_gpa, desc_size(num)) ||
	    range_wraps(vq->avail_gpa, avail_size(num)) ||
	    range_wraps(vq->used_gpa, used_size(num)) ||
	    ranges_overlap(vq->desc_gpa, desc_size(num), vq->avail_gpa,
			   avail_size(num)) ||
	    ranges_overlap(vq->desc_gpa, desc_size(num), vq->used_gpa,
			   used_size(num)) ||
	    ranges_overlap(vq->avail_gpa, avail_size(num), vq->used_gpa,
			   used_size(num))) {
		log_guest(&vdev->log, "vq%u: rings wrap or overlap", vq->index);
		return -EINVAL;
	}
	return 0;
}

int vq_enable(struct vq *vq, uint16_t max)
{
	const struct gmem *gm = &vq->vdev->gmem;
	uint16_t num = vq->num;

	if (vq->ready)
		return 0;
	if (vq_check_layout(vq, max))
		return -EINVAL;

	vq->desc_len = desc_size(num);
	vq->avail_len = avail_size(num);
	vq->used_len = used_size(num);
	vq->desc = gmem_map_whole(gm, vq->desc_gpa, vq->desc_len, GMEM_READ);
	vq->avail = gmem_map_whole(gm, vq->avail_gpa, vq->avail_len, GMEM_READ);
	vq->used = gmem_map_whole(gm, vq->used_gpa, vq->used_len,
				  GMEM_READ | GMEM_WRITE);
	/* An indirect table holds at most num entries (checked in the walk). */
	vq->ind_buf = malloc(desc_size(num));
	if (!vq->desc || !vq->avail || !vq->used || !vq->ind_buf) {
		/* The first ring refused, and why: the operator's fix. */
		uint64_t bad = !vq->desc  ? vq->desc_gpa :
			       !vq->avail ? vq->avail_gpa :
					    vq->used_gpa;

		if (!vq->ind_buf)
			log_err(&vq->vdev->log, "vq%u: out of memory",
				vq->index);
		else
			log_guest(&vq->vdev->log, "vq%u: ring at 0x%llx %s",
				  vq->index, (unsigned long long)bad,
				  gmem_why(gm, bad));
		vq_unmap_rings(vq);
		return -EINVAL;
	}

	vq->last_avail = vq->avail_shadow = 0;
	vq->used_idx = vq->used_pub = 0;
	vq->signalled_used = 0;
	vq->signalled_valid = false;
	vq->irq_held = false;
	vq->inflight = 0;
	vq->ready = true;
	return 0;
}

void vq_disable(struct vq *vq, bool regs)
{
	if (vq->inflight)
		log_err(&vq->vdev->log,
			"vq%u: disabled with %u chains in flight", vq->index,
			vq->inflight);
	vq_unmap_rings(vq);
	vq->ready = false;
	vq->refused = false;
	vq->irq_held = false;
	vq->inflight = 0;
	vq->gen++;
	if (regs) {
		vq->num = 0;
		vq->desc_gpa = vq->avail_gpa = vq->used_gpa = 0;
	}
}

/* The one fetch of descriptor @i, into a private copy. */
static void vq_read_desc(const struct vring_desc *table, unsigned int i,
			 struct vq_desc *d)
{
	const struct vring_desc *s = &table[i];

	d->addr = le64toh(READ_ONCE(s->addr));
	d->len = le32toh(READ_ONCE(s->len));
	d->flags = le16toh(READ_ONCE(s->flags));
	d->next = le16toh(READ_ONCE(s->next));
}

/* Unmaps the chain's buffers; the in-flight count is the caller's business. */
static void vq_chain_unmap(struct vq *vq, struct vq_chain *c)
{
	const struct gmem *gm = &vq->vdev->gmem;
	unsigned int i, n = c->nr_out + c->nr_in;

	for (i = 0; i < n; i++)
		gmem_unmap(gm, c->iov[i].iov_base, c->iov[i].iov_len);
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;
}

void vq_chain_release(struct vq *vq, struct vq_chain *c)
{
	vq_chain_unmap(vq, c);
	if (vq->inflight)
		vq->inflight--;
}

/*
 * Map one buffer into the chain, in as many iovecs as the mapper's clamping
 * needs. Rejects zero-length and wrapping buffers, buffers outside guest
 * RAM, a readable buffer after a writable one, more than VQ_MAX_IOV iovecs,
 * and a chain totalling more than 4 GiB.
 */
static int vq_add_buf(struct vq *vq, struct vq_chain *c,
		      const struct vq_desc *d)
{
	const struct gmem *gm = &vq->vdev->gmem;
	bool writable = d->flags & VRING_DESC_F_WRITE;
	uint64_t gpa = d->addr;
	size_t left = d->len;

	if (!d->len)
		return vq_bad(vq, "zero-length descriptor");
	if (range_wraps(d->addr, d->len))
		return vq_bad(vq, "buffer 0x%llx+%u wraps",
			      (unsigned long long)d->addr, d->len);
	if (!writable && c->nr_in)
		return vq_bad(vq, "readable descriptor after a writable one");
	if ((uint64_t)c->out_len + c->in_len + d->len > UINT32_MAX)
		return vq_bad(vq, "chain longer than 4 GiB");

	while (left) {
		unsigned int n = c->nr_out + c->nr_in;
		size_t got = left;
		void *hva;

		if (n >= VQ_MAX_IOV)
			return vq_bad(vq, "chain needs more than %u iovecs",
				      VQ_MAX_IOV);
		hva = gmem_map(gm, gpa, &got,
			       writable ? GMEM_WRITE : GMEM_READ);
		if (!hva)
			return vq_bad(vq, "buffer 0x%llx+%zu not in guest RAM",
				      (unsigned long long)gpa, left);
		if (!got || got > left) {
			gmem_unmap(gm, hva, got);
			return vq_bad(vq, "mapper returned %zu of %zu bytes",
				      got, left);
		}
		c->iov[n].iov_base = hva;
		c->iov[n].iov_len = got;
		if (writable)
			c->nr_in++;
		else
			c->nr_out++;
		gpa += got;
		left -= got;
	}
	if (writable)
		c->in_len += d->len;
	else
		c->out_len += d->len;
	return 0;
}

/*
 * Switch the walk to the indirect table @d points at, copied into private
 * memory so each entry is still read once. Rejects an indirect table that
 * was not negotiated, is nested, carries NEXT, has a bad length, or is not
 * in guest RAM.
 */
static int vq_enter_indirect(struct vq *vq, const struct vq_desc *d,
			     const struct vring_desc **table, unsigned int *max)
{
	struct vdev *vdev = vq->vdev;

	if (!vdev_has(vdev, VIRTIO_RING_F_INDIRECT_DESC))
		return vq_bad(vq, "indirect descriptor not negotiated");
	if (*table == vq->ind_buf)
		return vq_bad(vq,
			      "indirect descriptor inside an indirect table");
	if (d->flags & VRING_DESC_F_NEXT)
		return vq_bad(vq, "indirect descriptor with NEXT");
	if (!d->len || d->len % sizeof(struct vring_desc) ||
	    d->len > desc_size(vq->num))
		return vq_bad(vq, "indirect table of %u bytes", d->len);
	if (gmem_read(&vdev->gmem, d->addr, vq->ind_buf, d->len))
		return vq_bad(vq, "indirect table 0x%llx+%u not in guest RAM",
			      (unsigned long long)d->addr, d->len);
	*table = vq->ind_buf;
	*max = d->len / sizeof(struct vring_desc);
	return 0;
}

/* Reads avail idx once and checks it moved forward by at most num. */
static int vq_read_avail_idx(struct vq *vq)
{
	uint16_t idx = le16toh(READ_ONCE(vq->avail->idx));

	if ((uint16_t)(idx - vq->last_avail) > vq->num)
		return vq_bad(vq, "avail idx jumped %u -> %u", vq->last_avail,
			      idx);
	vq->avail_shadow = idx;
	return 0;
}

bool vq_has_avail(struct vq *vq)
{
	if (!vq->ready || vdev_broken(vq->vdev))
		return false;
	if (vq->avail_shadow != vq->last_avail)
		return true;
	if (vq_read_avail_idx(vq))
		return false;
	return vq->avail_shadow != vq->last_avail;
}

int vq_pop(struct vq *vq, struct vq_chain *c)
{
	const struct vring_desc *table = vq->desc;
	unsigned int i, seen = 0, max = vq->num;
	struct vq_desc d;
	int rc;

	if (vdev_broken(vq->vdev) || !vq->ready)
		return -EIO;
	if (vq->avail_shadow == vq->last_avail) {
		rc = vq_read_avail_idx(vq);
		if (rc)
			return rc;
		if (vq->avail_shadow == vq->last_avail)
			return 0;
	}
	/* avail idx, then ring[]: pairs with the driver's wmb before idx. */
	smp_rmb();

	if (vq->inflight >= vq->num)
		return vq_bad(vq, "more than %u chains in flight", vq->num);
	i = le16toh(READ_ONCE(vq->avail->ring[vq->last_avail & (vq->num - 1)]));
	if (i >= vq->num)
		return vq_bad(vq, "head %u >= queue size %u", i, vq->num);
	c->head = i;
	c->nr_out = c->nr_in = 0;
	c->out_len = c->in_len = 0;

	for (;;) {
		vq_read_desc(table, i, &d); /* the one fetch, into a local */
		if (d.flags & VRING_DESC_F_INDIRECT) {
			rc = vq_enter_indirect(vq, &d, &table, &max);
			if (rc)
				goto fail;
			i = 0;
			continue;
		}
		/* Indirect entries count too: a chain is at most num long. */
		if (++seen > vq->num) {
			rc = vq_bad(vq,
				    "chain longer than the queue (a loop?)");
			goto fail;
		}
		rc = vq_add_buf(vq, c, &d);
		if (rc)
			goto fail;
		if (!(d.flags & VRING_DESC_F_NEXT))
			break;
		if (d.next >= max) {
			rc = vq_bad(vq, "next %u >= %u", d.next, max);
			goto fail;
		}
		i = d.next;
	}
	vq->last_avail++;
	vq->inflight++;
	return 1;

fail:
	vq_chain_unmap(vq, c); /* exactly what vq_add_buf mapped */
	return rc;
}

void vq_push(struct vq *vq, struct vq_chain *c, uint32_t written)
{
	struct vring_used_elem *e;

	/* Never claim more than the chain could hold. */
	if (written > c->in_len)
		written = c->in_len;
	vq_chain_release(vq, c);
	if (!vq->ready)
		return; /* reset meanwhile: the chain is only released */
	e = &vq->used->ring[vq->used_idx & (vq->num - 1)];
	WRITE_ONCE(e->id, htole32(c->head));
	WRITE_ONCE(e->len, htole32(written));
	vq->used_idx++;
}

/*
 * EVENT_IDX words: used_event (the driver's) sits after the avail ring's
 * num entries, avail_event (ours) after the used ring's.
 */
static inline uint16_t *vq_used_event(const struct vq *vq)
{
	return &vq->avail->ring[vq->num];
}

static inline uint16_t *vq_avail_event(const struct vq *vq)
{
	return (uint16_t *)&vq->used->ring[vq->num];
}

/* Has the driver asked for an interrupt for the entries up to used_idx? */
static bool vq_need_irq(struct vq *vq)
{
	uint16_t old = vq->signalled_used, new = vq->used_idx, ev;
	bool valid = vq->signalled_valid;

	if (!vdev_has(vq->vdev, VIRTIO_RING_F_EVENT_IDX))
		return !(le16toh(READ_ONCE(vq->avail->flags)) &
			 VRING_AVAIL_F_NO_INTERRUPT);
	ev = le16toh(READ_ONCE(*vq_used_event(vq)));
	vq->signalled_used = new;
	vq->signalled_valid = true;
	return !valid || vring_need_event(ev, new, old);
}

/* A counter of @vq's, written by one thread, read by others. */
static void vq_count(uint64_t *c, uint64_t n)
{
	__atomic_store_n(c, *c + n, __ATOMIC_RELAXED);
}

/* Writes used idx. False if there was nothing new to publish. */
static bool vq_publish(struct vq *vq)
{
	if (!vq->ready || vq->used_pub == vq->used_idx)
		return false;
	vq_count(&vq->nr_used, (uint16_t)(vq->used_idx - vq->used_pub));
	/* used elements, then used idx: pairs with the driver's rmb after idx. */
	smp_wmb();
	WRITE_ONCE(vq->used->idx, htole16(vq->used_idx));
	vq->used_pub = vq->used_idx;
	/*
	 * used idx store, then used_event / flags load: pairs with the
	 * driver's mb between writing used_event and re-reading used idx.
	 */
	smp_mb();
	return true;
}

static void vq_raise(struct vq *vq)
{
	vq->irq_held = false;
	vq_count(&vq->nr_irqs, 1);
	vdev_raise(vq->vdev, VIRTIO_MMIO_INT_VRING);
}

/* True if another queue raised after the last held publish (see below). */
static bool vq_held_covered(struct vq *vq)
{
	return __atomic_load_n(&vq->vdev->vring_gen, __ATOMIC_SEQ_CST) !=
	       vq->held_gen;
}

bool vq_flush(struct vq *vq)
{
	bool need = vq_publish(vq) && vq_need_irq(vq);

	if (!vq->ready)
		return false;
	if (!need && vq->irq_held && vq_held_covered(vq)) {
		vq->irq_held = false;
		vq_count(&vq->nr_shared, 1);
	}
	if (!(need || vq->irq_held))
		return false;
	vq_raise(vq);
	return true;
}

bool vq_flush_hold(struct vq *vq)
{
	if (vq_publish(vq) && (vq_need_irq(vq) || vq->irq_held)) {
		vq->irq_held = true;
		/* Read after the publish (vq_publish's barrier). */
		vq->held_gen =
			__atomic_load_n(&vq->vdev->vring_gen, __ATOMIC_SEQ_CST);
	}
	return vq->irq_held;
}

bool vq_irq_release(struct vq *vq)
{
	if (!vq->irq_held || !vq->ready)
		return vq->irq_held = false;
	if (vq_held_covered(vq)) {
		vq->irq_held = false;
		vq_count(&vq->nr_shared, 1);
		return false;
	}
	vq_raise(vq);
	return true;
}

void vq_kick_disable(struct vq *vq)
{
	if (!vq->ready || vdev_has(vq->vdev, VIRTIO_RING_F_EVENT_IDX))
		return;
	WRITE_ONCE(vq->used->flags, htole16(VRING_USED_F_NO_NOTIFY));
}

bool vq_kick_enable(struct vq *vq)
{
	if (!vq->ready)
		return false;
	if (vdev_has(vq->vdev, VIRTIO_RING_F_EVENT_IDX)) {
		WRITE_ONCE(*vq_avail_event(vq), htole16(vq->last_avail));
	} else {
		WRITE_ONCE(vq->used->flags, 0);
	}
	/*
	 * avail_event / flags store, then avail idx load: pairs with the
	 * driver's mb between publishing avail idx and reading avail_event.
	 */
	smp_mb();
	return vq_has_avail(vq);
}

void vq_log_state(struct vq *vq)
{
	const struct log_ctx *log = &vq->vdev->log;
	bool ev = vdev_has(vq->vdev, VIRTIO_RING_F_EVENT_IDX);
	char kicks[40], irqs[40];
	uint16_t avail;

	if (!vq->ready) {
		log_info(log, "vq%u: not ready", vq->index);
		return;
	}
	avail = le16toh(READ_ONCE(vq->avail->idx));
	if (ev) {
		snprintf(kicks, sizeof(kicks), "asked at avail %u",
			 le16toh(READ_ONCE(*vq_avail_event(vq))));
		snprintf(irqs, sizeof(irqs), "wanted at used %u",
			 le16toh(READ_ONCE(*vq_used_event(vq))));
	} else {
		snprintf(kicks, sizeof(kicks), "%s",
			 le16toh(READ_ONCE(vq->used->flags)) &
					 VRING_USED_F_NO_NOTIFY ?
				 "off" :
				 "on");
		snprintf(irqs, sizeof(irqs), "%s",
			 le16toh(READ_ONCE(vq->avail->flags)) &
					 VRING_AVAIL_F_NO_INTERRUPT ?
				 "off" :
				 "on");
	}
	log_info(
		log,
		"vq%u: %u entries; avail %u (popped %u, %u in flight); used %u (published %u, last interrupt check at %u); kicks %s; interrupts %s",
		vq->index, vq->num, avail, vq->last_avail, vq->inflight,
		vq->used_idx, vq->used_pub, vq->signalled_used, kicks, irqs);
	vq_log_counts(vq);
}

void vq_log_counts(const struct vq *vq)
{
	uint64_t k = __atomic_load_n(&vq->nr_kicks, __ATOMIC_RELAXED);
	uint64_t u = __atomic_load_n(&vq->nr_used, __ATOMIC_RELAXED);
	uint64_t i = __atomic_load_n(&vq->nr_irqs, __ATOMIC_RELAXED);

	log_info(
		&vq->vdev->log,
		"vq%u counts: %llu kicks, %llu used, %llu interrupts (%.1f used per interrupt), %llu shared",
		vq->index, (unsigned long long)k, (unsigned long long)u,
		(unsigned long long)i, i ? (double)u / (double)i : 0.0,
		(unsigned long long)__atomic_load_n(&vq->nr_shared,
						    __ATOMIC_RELAXED));
}
